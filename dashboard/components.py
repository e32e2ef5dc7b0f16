"""Layout pieces every page uses: graphs with PNG/SVG export, notices, and the app's results.

The results directory is the serving app's own configuration (``RESULTS_CONFIG`` in its Flask
config, set by ``create_app``), read through Flask's ``current_app`` while a layout or callback
runs, so two apps in one process each show their own directory.

Graphs are sized one way only: every figure sets its own ``layout.height``, every ``dcc.Graph`` is
``responsive`` (Plotly fills its container, the width following the page) and the container's
CSS height is the figure's height, set in the same callback answer as the figure
(:func:`register_figures`). The figure never outgrows its card, whatever the page's width.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import flask
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html

from dashboard.data import DashboardData, load_data
from dashboard.figures import DEFAULT_HEIGHT

EXPORT_FORMAT_ID = "export-format"
EXPORT_FORMATS = ("png", "svg")
NAV_LOCATION_ID = "nav-location"

RESULTS_CONFIG = "NQSBENCH_RESULTS"


def results_dir() -> Path:
    """The results directory of the app serving the current request (or app context)."""
    if not flask.has_app_context() or RESULTS_CONFIG not in flask.current_app.config:
        raise RuntimeError("no dashboard app is serving: build one with create_app() and call "
                           "pages inside its server's app context")
    return Path(flask.current_app.config[RESULTS_CONFIG])


def current_data() -> DashboardData:
    """The runs and asv results of the serving app's results directory, as of now."""
    return load_data(results_dir())


def export_config(filename: str, fmt: str = "png") -> dict:
    """``dcc.Graph`` config whose camera button saves the plot as ``fmt`` (png or svg)."""
    return {"displaylogo": False, "responsive": True,
            "toImageButtonOptions": {"format": fmt if fmt in EXPORT_FORMATS else "png",
                                     "filename": filename, "scale": 2}}


def graph_style(height: int | float | None) -> dict[str, str]:
    """The CSS of a graph's container for a figure ``height`` pixels tall."""
    return {"height": f"{round(height or DEFAULT_HEIGHT)}px", "width": "100%"}


def figure_style(figure: go.Figure) -> dict[str, str]:
    """The CSS of a graph's container that holds exactly ``figure`` (its ``layout.height``)."""
    return graph_style(figure.layout.height)


def graph(graph_id: str, height: int = DEFAULT_HEIGHT) -> dcc.Graph:
    """A graph filled by a callback, saved under the name ``nqsbench-<graph_id>``.

    Args:
        graph_id: the component id.
        height: its height in pixels until the first figure arrives (then the figure's own).
    """
    return dcc.Graph(id=graph_id, config=export_config(f"nqsbench-{graph_id}"), responsive=True,
                     style=graph_style(height))


def register_figures(app: Dash, function: Callable[..., Any], outputs: Sequence[Output],
                     inputs: Sequence[Input], **options: Any) -> None:
    """Register ``function`` as a callback that also sizes the graphs whose figures it returns.

    For every ``Output(graph, "figure")`` in ``outputs`` the callback also sets that graph's
    ``style`` to :func:`figure_style` of the returned figure, in the same answer, so the container
    and the figure change height together. ``function`` itself returns just ``outputs``' values
    (and stays callable as a plain function).
    """
    graphs = [i for i, output in enumerate(outputs) if output.component_property == "figure"]

    @functools.wraps(function)
    def sized(*args: Any) -> tuple:
        result = function(*args)
        values = result if isinstance(result, tuple) else (result,)
        return (*values, *(figure_style(values[i]) for i in graphs))

    styles = [Output(outputs[i].component_id, "style") for i in graphs]
    app.callback(*outputs, *styles, *inputs, **options)(sized)


def register_export(app: Dash, *graph_ids: str) -> None:
    """Keep the graphs' save-as format in step with the format chosen in the header."""

    @app.callback(*[Output(graph_id, "config") for graph_id in graph_ids],
              Input(EXPORT_FORMAT_ID, "value"))
    def _set_format(fmt: str):
        configs = [export_config(f"nqsbench-{graph_id}", fmt) for graph_id in graph_ids]
        return configs if len(configs) > 1 else configs[0]


def empty_results(results_dir: Path) -> html.Div:
    """What an empty or missing results directory shows: how to produce results."""
    return html.Div(id="empty-results", className="notice", children=[
        html.H3("No results yet"),
        html.P(["There are no run records in ", html.Code(str(results_dir / "runs")), "."]),
        html.P("Produce some, then reload this page:"),
        html.Pre("nqsbench run              # the smoke matrix (measured times: the README)\n"
                 "nqsbench run --matrix quick\n"
                 "nqsbench dashboard --results DIR   # if your results live elsewhere"),
        html.P(["Per-commit benchmarks come from ", html.Code("asv run"),
                " (see docs/asv.md)."]),
    ])


def notice(text: str | list, element_id: str | None = None) -> html.Div:
    """A short explanatory box."""
    return html.Div(text, className="notice", **({"id": element_id} if element_id else {}))


NO_SUCH_RUN_ID = "no-such-run"


def no_such_run(run_id: str, data: DashboardData, lacking: str | None = None) -> html.Div:
    """The notice of a page asked (``?id=``) for a run it cannot show: it names the id and why,
    instead of silently showing another run.

    Args:
        run_id: the id asked for.
        data: the results directory's runs.
        lacking: what this page needs that the run (if it exists) has not, e.g.
            ``"attention snapshots"``.
    """
    if lacking and run_id in set(data.runs["run"]):
        why = [f" has no {lacking}. Choose a run from the menu below."]
        title = "Nothing to show: run "
    else:
        why = [" is not among the run records in ", html.Code(str(data.results_dir / "runs")),
               ". Choose a run from the menu below."]
        title = "No such run: "
    return html.Div(id=NO_SUCH_RUN_ID, className="notice missing",
                    children=[html.Strong(title), html.Code(run_id), html.Span(why)])


def requested_run(run_id: Any, values: Sequence[str]) -> str | None:
    """The dropdown value for a page's ``?id=``: that run, the newest (``values[0]``) when no id
    was given, and ``None`` (nothing chosen) for an id that is not among ``values``."""
    if not run_id:
        return values[0] if values else None
    return run_id if run_id in values else None


def problems_banner(data: DashboardData) -> html.Div:
    """A visible warning naming each record file that was skipped."""
    problems = list(data.problems) + ([data.asv_problem] if data.asv_problem else [])
    if not problems:
        return html.Div(id="problems-banner", hidden=True)
    return html.Div(id="problems-banner", className="warning", children=[
        html.Strong(f"{len(problems)} file(s) skipped: "),
        html.Ul([html.Li(problem) for problem in problems]),
    ])


def field(label: str, control) -> html.Label:
    """A labelled control for a page's filter bar."""
    return html.Label([html.Span(label, className="field-label"), control], className="field")


def system_value(L: int, J2: float) -> str:
    """The dropdown value of a (L, J2/J1) system."""
    return f"{L}|{J2:g}"


def parse_system(value: Any) -> tuple[int, float] | None:
    """The (L, J2) of a :func:`system_value`, or ``None`` for anything else (no value, or one
    that does not parse: callbacks say so instead of failing)."""
    if not isinstance(value, str) or "|" not in value:
        return None
    L, J2 = value.split("|", 1)
    try:
        return int(L), float(J2)
    except ValueError:
        return None


def unknown_value(what: str, value: Any) -> str:
    """The message of a figure asked for a value that names nothing (a malformed URL or request)."""
    return f"No {what} {value!r}: choose one from the menu above."


def in_system(frame: pd.DataFrame, L: int, J2: float) -> pd.Series:
    """Which rows of ``frame`` are on the L x L lattice at J2/J1 = ``J2`` (J2 to rounding)."""
    return (frame["L"] == L) & ((frame["J2"] - J2).abs() < 1e-12)


def system_options(systems: list[tuple[int, float]]) -> list[dict[str, str]]:
    """Dropdown options for (L, J2/J1) systems."""
    return [{"label": f"L = {L}, J2/J1 = {J2:g}", "value": system_value(L, J2)}
            for L, J2 in systems]
