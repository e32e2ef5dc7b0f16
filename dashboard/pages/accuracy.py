"""Accuracy against cost: relative energy error against parameters and seconds per step.

Our runs beside the published results (the paper's Table 1), one colour per model family (ViT
attention, baseline or plugin), with the Pareto front of each axis. Clicking one of our points
opens its run detail.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import Dash, Input, Output, ctx, dcc, html, no_update

from dashboard import components, figures
from dashboard.data import DashboardData, systems
from suite.report.analysis import published_points

PARAMS_GRAPH = "accuracy-params-graph"
SECONDS_GRAPH = "accuracy-seconds-graph"


def layout(system: str | None = None, **_query: Any) -> html.Div:
    """The page; ``?system=L|J2`` preselects a lattice and coupling."""
    data = components.current_data()
    completed = data.accurate
    if completed.empty:
        return components.empty_results(data.results_dir)
    found = systems(completed)
    options = components.system_options(found)
    values = [option["value"] for option in options]
    layers = sorted(int(n) for n in completed.loc[completed["model"] == "vit", "layers"].unique())
    devices = sorted(completed["device"].dropna().unique())
    return html.Div([
        html.H2("Accuracy versus cost"),
        html.P(className="lead", children=(
            "Relative energy error against the cited reference (log scale, one standard error "
            "bars) for one lattice and coupling. Open markers lie below the reference (statistical "
            "noise, or a variational reference). Stars are published results; dashed lines the "
            "Pareto front. Seconds are only comparable on one device. Click a point for its run.")),
        html.Div(className="filters", children=[
            components.field("Lattice and coupling", dcc.Dropdown(
                id="accuracy-system", options=options, clearable=False,
                value=system if system in values else values[0])),
            components.field("ViT layers", dcc.Checklist(
                id="accuracy-layers", options=layers, value=layers, inline=True)),
            components.field("Devices", dcc.Dropdown(
                id="accuracy-devices", options=devices, value=devices, multi=True)),
            components.field("Overlay", dcc.Checklist(
                id="accuracy-published", options=[{"label": "published results",
                                                   "value": "published"}],
                value=["published"])),
        ]),
        html.Div(id="accuracy-summary", className="notice"),
        html.Div(className="grid-2", children=[
            html.Div(components.graph(PARAMS_GRAPH, figures.ACCURACY_HEIGHT), className="card"),
            html.Div(components.graph(SECONDS_GRAPH, figures.ACCURACY_HEIGHT), className="card"),
        ]),
    ])


def select_runs(data: DashboardData, system: str | None, layers: list[int] | None,
                devices: list[str] | None) -> pd.DataFrame:
    """The completed runs of a system, depth and devices (the depth filters ViT runs only: the
    baselines' and plugins' sizes are their own options)."""
    runs = data.accurate
    chosen = components.parse_system(system)
    if chosen is None:
        return runs.iloc[0:0]
    L, J2 = chosen
    keep = components.in_system(runs, L, J2)
    keep &= (runs["layers"].isin(layers or []) | (runs["model"] != "vit"))
    keep &= runs["device"].isin(devices or [])
    return runs[keep]


def select_published(system: str | None, layers: list[int] | None) -> pd.DataFrame:
    """The published results for a system (those with a depth only at a selected depth)."""
    published = published_points()
    chosen = components.parse_system(system)
    if chosen is None:
        return published.iloc[0:0]
    L, J2 = chosen
    keep = components.in_system(published, L, J2)
    keep &= published["layers"].isna() | published["layers"].isin(layers or [])
    return published[keep]


def summary(runs: pd.DataFrame, published: pd.DataFrame) -> str:
    """One line on what the figures show."""
    plotted = runs["relative_error"].notna().sum()
    missing = len(runs) - plotted
    text = f"{plotted} run(s) plotted"
    if missing:
        text += f"; {missing} without a reference energy left out"
    if not published.empty:
        text += f"; {len(published)} published result(s) for this system"
    reference = runs.dropna(subset=["reference_id"])
    if not reference.empty:
        first = reference.iloc[0]
        text += (f". Reference: {first['reference_energy']:.10g} "
                 f"({first['reference_kind']}, {first['reference_id']})")
    return text + "."


def update_figures(system: str | None, layers: list[int] | None, devices: list[str] | None,
                   overlay: list[str] | None):
    """Both figures and the summary line for the chosen filters (a message in both figures for
    a lattice and coupling that does not parse)."""
    if components.parse_system(system) is None:
        message = components.unknown_value("lattice and coupling", system)
        return (figures.message_figure(message, figures.ACCURACY_HEIGHT),
                figures.message_figure(message, figures.ACCURACY_HEIGHT), message)
    layers = layers if isinstance(layers, list) else []
    devices = devices if isinstance(devices, list) else []
    runs = select_runs(components.current_data(), system, layers, devices)
    published = select_published(system, layers)
    shown = published if isinstance(overlay, list) and "published" in overlay else published.iloc[0:0]
    return (figures.accuracy_cost_figure(runs, shown, "n_parameters"),
            figures.accuracy_cost_figure(runs, shown, "seconds_per_step"),
            summary(runs, shown))


def run_href(click_data: dict | None) -> str | None:
    """The run-detail URL of a clicked point, or ``None`` for a point that is not one of ours."""
    points = (click_data or {}).get("points") or []
    run_id = points[0].get("customdata") if points else None
    return f"/run?id={run_id}" if isinstance(run_id, str) and run_id else None


def open_run(params_click: dict | None, seconds_click: dict | None):
    """Go to the run detail of the point just clicked."""
    clicked = seconds_click if ctx.triggered_id == SECONDS_GRAPH else params_click
    return run_href(clicked) or no_update


def register_callbacks(app: Dash) -> None:
    """Register this page's callbacks on ``app``."""
    components.register_figures(
        app, update_figures,
        [Output(PARAMS_GRAPH, "figure"), Output(SECONDS_GRAPH, "figure"),
         Output("accuracy-summary", "children")],
        [Input("accuracy-system", "value"), Input("accuracy-layers", "value"),
         Input("accuracy-devices", "value"), Input("accuracy-published", "value")])
    app.callback(Output(components.NAV_LOCATION_ID, "href", allow_duplicate=True),
                 Input(PARAMS_GRAPH, "clickData"), Input(SECONDS_GRAPH, "clickData"),
                 prevent_initial_call=True)(open_run)
    components.register_export(app, PARAMS_GRAPH, SECONDS_GRAPH)
