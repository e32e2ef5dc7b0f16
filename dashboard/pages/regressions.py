"""Per-commit regressions: asv's seconds per step, energy error and parameters across commits."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, dcc, html

from dashboard import components, figures
from suite.report.regressions import cell_label, detect_changes

GRAPH = "regressions-graph"
DEFAULT_THRESHOLD_PERCENT = 10


def machine_value(machine: str, environment: str) -> str:
    """The dropdown value of an asv machine and environment."""
    return f"{machine}|{environment}"


def layout(**_query: Any) -> html.Div:
    """The page: a machine selector, a threshold, the figure and the list of flagged changes."""
    data = components.current_data()
    asv = data.asv
    if asv.empty:
        return html.Div([
            html.H2("Per-commit regressions"),
            components.notice([
                html.P(["No asv results in ", html.Code(str(data.results_dir / "asv")), "."]),
                html.Pre("asv machine --yes\nasv run --python=same   # this checkout\n"
                         "asv run main~5..main    # a history of commits"),
                html.P("See docs/asv.md for the GPU and paper profiles."),
            ], element_id="empty-asv"),
        ])
    pairs = asv[["machine", "environment"]].drop_duplicates().sort_values(["machine", "environment"])
    options = [{"label": f"{m} · {e}", "value": machine_value(m, e)} for m, e in pairs.itertuples(
        index=False)]
    cells = sorted({cell_label(p) for p in asv["params"]})
    return html.Div([
        html.H2("Per-commit regressions"),
        html.P(className="lead", children=(
            "asv's tracked metrics of every benchmark cell, commit by commit (in commit-date order; "
            "hover for the hash and date). Red crosses mark where asv's step detection (as in "
            "asv publish) finds a new level that differs from the one before by more than the "
            "threshold. Seconds are compared on one machine only.")),
        html.Div(className="filters", children=[
            components.field("Machine and environment", dcc.Dropdown(
                id="regressions-machine", options=options, value=options[0]["value"],
                clearable=False)),
            components.field("Mark changes above (%)", dcc.Input(
                id="regressions-threshold", type="number", min=0, max=1000, step=1,
                value=DEFAULT_THRESHOLD_PERCENT, debounce=True)),
            components.field("Cells", dcc.Dropdown(id="regressions-cells", options=cells,
                                                   value=cells, multi=True)),
        ]),
        html.Div(components.graph(GRAPH, figures.REGRESSION_HEIGHT), className="card"),
        html.H3("Changes above the threshold"),
        html.Div(id="regressions-changes"),
    ])


def select_asv(asv: pd.DataFrame, machine: str | None, cells: list[str] | None) -> pd.DataFrame:
    """The rows of one machine and environment, restricted to the chosen cells."""
    if not isinstance(machine, str) or "|" not in machine:
        return asv.iloc[0:0]
    name, environment = machine.split("|", 1)
    rows = asv[(asv["machine"] == name) & (asv["environment"] == environment)]
    labels = rows["params"].map(cell_label)
    return rows[labels.isin(cells if isinstance(cells, list) else [])]


def threshold_fraction(percent: Any) -> float:
    """The threshold as a fraction: the percent typed, or the default for anything else."""
    try:
        value = float(percent)
    except (TypeError, ValueError):
        value = math.nan
    return (value if math.isfinite(value) and value >= 0 else DEFAULT_THRESHOLD_PERCENT) / 100


def changes_table(changes: pd.DataFrame) -> html.Div:
    """The flagged changes as a small HTML table (or a sentence when there are none)."""
    if changes.empty:
        return components.notice("No change above the threshold between consecutive commits.")
    header = html.Tr([html.Th(h) for h in ("metric", "cell", "commit", "date", "before", "after",
                                           "change", "kind")])
    rows = [html.Tr([html.Td(row.metric), html.Td(row.cell), html.Td(html.Code(row.commit[:8])),
                     html.Td(f"{pd.Timestamp(row.commit_date):%Y-%m-%d}"),
                     html.Td(f"{row.previous:.4g}"), html.Td(f"{row.value:.4g}"),
                     html.Td(f"{row.change:+.1%}"),
                     html.Td(row.kind + (" (still open)" if row.latest else ""),
                             className=f"change-{row.kind}")])
            for row in changes.itertuples()]
    return html.Div(html.Table([html.Thead(header), html.Tbody(rows)]), className="paper-table")


def update(machine: str | None, threshold_percent: float | None, cells: list[str] | None):
    """The figure and the change list for a machine, a threshold (percent) and cells."""
    threshold = threshold_fraction(threshold_percent)
    asv = components.current_data().asv
    known = {machine_value(m, e) for m, e in asv[["machine", "environment"]].itertuples(index=False)}
    if not isinstance(machine, str) or machine not in known:
        message = components.unknown_value("asv machine and environment", machine)
        return (figures.message_figure(message, figures.REGRESSION_HEIGHT),
                components.notice(message))
    rows = select_asv(asv, machine, cells)
    tracked = rows[rows["metric"].isin([m for m, _, _ in figures.REGRESSION_METRICS])]
    changes = detect_changes(tracked, threshold)
    return figures.regression_figure(tracked, changes, threshold), changes_table(changes)


def register_callbacks(app: Dash) -> None:
    """Register this page's callbacks on ``app``."""
    components.register_figures(app, update, [Output(GRAPH, "figure"),
                                              Output("regressions-changes", "children")],
                                [Input("regressions-machine", "value"),
                                 Input("regressions-threshold", "value"),
                                 Input("regressions-cells", "value")])
    components.register_export(app, GRAPH)
