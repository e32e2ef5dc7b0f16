"""Layout pieces every page uses: graphs with PNG/SVG export, notices, and the app's results.

The results directory is the serving app's own configuration (``RESULTS_CONFIG`` in its Flask
config, set by ``create_app``), read through Flask's ``current_app`` while a layout or callback
runs, so two apps in one process each show their own directory.
"""

from __future__ import annotations

from pathlib import Path

import flask
import pandas as pd
from dash import Dash, Input, Output, dcc, html

from dashboard.data import DashboardData, load_data

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


def graph(graph_id: str, height: str | None = None) -> dcc.Graph:
    """A graph filled by a callback, saved under the name ``nqsbench-<graph_id>``."""
    style = {"height": height} if height else {}
    return dcc.Graph(id=graph_id, config=export_config(f"nqsbench-{graph_id}"), style=style)


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
        html.Pre("nqsbench run              # the smoke matrix: about 3 minutes on a laptop CPU\n"
                 "nqsbench run --matrix quick\n"
                 "nqsbench dashboard --results DIR   # if your results live elsewhere"),
        html.P(["Per-commit benchmarks come from ", html.Code("asv run"),
                " (see docs/asv.md)."]),
    ])


def notice(text: str | list, element_id: str | None = None) -> html.Div:
    """A short explanatory box."""
    return html.Div(text, className="notice", **({"id": element_id} if element_id else {}))


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


def parse_system(value: str | None) -> tuple[int, float] | None:
    """The (L, J2) of a :func:`system_value`, or ``None``."""
    if not value or "|" not in value:
        return None
    L, J2 = value.split("|", 1)
    return int(L), float(J2)


def in_system(frame: pd.DataFrame, L: int, J2: float) -> pd.Series:
    """Which rows of ``frame`` are on the L x L lattice at J2/J1 = ``J2`` (J2 to rounding)."""
    return (frame["L"] == L) & ((frame["J2"] - J2).abs() < 1e-12)


def system_options(systems: list[tuple[int, float]]) -> list[dict[str, str]]:
    """Dropdown options for (L, J2/J1) systems."""
    return [{"label": f"L = {L}, J2/J1 = {J2:g}", "value": system_value(L, J2)}
            for L, J2 in systems]
