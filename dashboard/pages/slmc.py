"""SLMC acceptance: self-learning Monte Carlo with an equivariant Transformer (Nagai & Tomiya):
the outer acceptance against attention layers and parameters, the loss it implies against
parameters with its power law, the acceptance table and the observables, exact chain against
SLMC.

The records are ``<results>/slmc/*.json`` of the app's results directory, read when the page
opens (:func:`suite.report.slmc_records.load_slmc_records`); files that cannot be read are
counted and named on this page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dash import Dash, dcc, html

from dashboard import components, slmc_figures
from suite.report.slmc import PAPER_CITATION, PAPER_LINEAR_ACCEPTANCE, observables_table, slmc_table
from suite.report.slmc_records import SLMC_DIRECTORY, load_slmc_records, slmc_frame

LAYERS_GRAPH = "slmc-layers-graph"
PARAMETERS_GRAPH = "slmc-parameters-graph"
LOSS_GRAPH = "slmc-loss-graph"
GRAPHS = (LAYERS_GRAPH, PARAMETERS_GRAPH, LOSS_GRAPH)
TABLE = "slmc-table"
OBSERVABLES = "slmc-observables"
EMPTY = "empty-slmc"
PROBLEMS = "slmc-problems"
SMOKE_COMMAND = "nqsbench run --matrix slmc-smoke"
HEADLINE_COMMAND = "nqsbench run --matrix slmc"
FIGURES = ((LAYERS_GRAPH, slmc_figures.acceptance_vs_layers),
           (PARAMETERS_GRAPH, slmc_figures.acceptance_vs_parameters),
           (LOSS_GRAPH, slmc_figures.loss_scaling))


def lead() -> html.P:
    """What the page measures, and the paper's numbers."""
    return html.P(className="lead", children=[
        "Self-learning Monte Carlo proposes each move with a cheap effective model: an inner "
        "Markov chain samples the effective energy, and its end point is accepted or rejected by "
        "an exact Metropolis test on the true (double-exchange) energy. The acceptance shown here "
        "is that outer test's: the fraction of the inner chain's proposals the exact model "
        "accepts; 1 would be a perfect effective model. The loss from acceptance is the mean "
        "squared error of the effective energy that acceptance implies, (2 erfcinv(A) / β)². "
        f"Nagai & Tomiya found about {PAPER_LINEAR_ACCEPTANCE:.0%} for the linear model on 6x6 "
        "and an acceptance rising monotonically with the number of attention layers, the loss "
        f"falling as a power of the parameter count ({PAPER_CITATION}).",
    ])


def problems_notice(problems: list[str]) -> html.Div:
    """The SLMC record files that could not be read, counted and named (hidden when none)."""
    if not problems:
        return html.Div(id=PROBLEMS, hidden=True)
    return html.Div(id=PROBLEMS, className="warning", children=[
        html.Strong(f"{len(problems)} SLMC file(s) skipped: "),
        html.Ul([html.Li(problem) for problem in problems]),
    ])


def empty_state(results_dir: Path, problems: list[str]) -> html.Div:
    """No SLMC records: where they would be, and the commands that make them."""
    return html.Div([
        html.H2("SLMC acceptance"),
        problems_notice(problems),
        html.Div(id=EMPTY, className="notice", children=[
            html.H3("No SLMC records yet"),
            html.P(["There are no SLMC records in ", html.Code(str(results_dir / SLMC_DIRECTORY)),
                    ". Make some, then reload this page:"]),
            html.Pre(f"{SMOKE_COMMAND}   # 4x4, linear and one layer: the small CI matrix\n"
                     f"{HEADLINE_COMMAND}         # 6x6: the paper's headline comparison"),
        ]),
        lead(),
    ])


def _graph(graph_id: str, figure) -> html.Div:
    return html.Div(className="card", style={"marginTop": "12px"}, children=dcc.Graph(
        id=graph_id, figure=figure, responsive=True,
        config=components.export_config(f"nqsbench-{graph_id}"),
        style=components.figure_style(figure)))


def layout(**_query: Any) -> html.Div:
    """The page: the lead, the three figures, the acceptance table and the observables."""
    results_dir = components.results_dir()
    records, problems = load_slmc_records(results_dir)
    if not records:
        return empty_state(results_dir, problems)
    frame = slmc_frame(records)
    return html.Div([
        html.H2("SLMC acceptance"),
        problems_notice(problems),
        lead(),
        html.P(f"{len(records)} SLMC record(s) from {results_dir / SLMC_DIRECTORY}; every record "
               "is one seed and is drawn as its own point."),
        *[_graph(graph_id, build(frame)) for graph_id, build in FIGURES],
        html.H3("Acceptance table", style={"marginTop": "18px"}),
        dcc.Markdown(slmc_table(frame), id=TABLE),
        html.H3("Observables: exact chain against SLMC"),
        html.P("Each observable's mean over the exact chain and over the SLMC chain, with "
               "autocorrelation-aware error bars; z is their difference in combined error bars "
               "(|z| below about 2: consistent)."),
        dcc.Markdown(observables_table(records), id=OBSERVABLES),
    ])


def register_callbacks(app: Dash) -> None:
    """Register this page's callbacks on ``app``: the graphs save as the header's format."""
    components.register_export(app, *GRAPHS)
