"""Performance: the race against NetKet, cost against lattice size, and FLOP accounting."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import Dash, Input, Output, dcc, html

from dashboard import components, figures, performance_figures
from dashboard.data import DashboardData
from suite.report.analysis import scaling_summary
from suite.report.races import comparison_table

RACE_GRAPH = "performance-race-graph"
SCALING_GRAPH = "performance-scaling-graph"
SCALING_MATRIX = "scaling"
RACE_PLACEHOLDER_HEIGHT = 450  # until the race arrives; the figure's height follows its cells


def newest_races(races: pd.DataFrame) -> pd.DataFrame:
    """The newest race of each (cell, peer, device)."""
    if races.empty:
        return races
    return (races.sort_values("finished_at")
            .drop_duplicates(["cell_id", "peer", "device"], keep="last")
            .sort_values(["device", "L", "layers", "attention", "J2"]))


def devices(data: DashboardData) -> list[str]:
    """The devices of the races and the completed runs."""
    return sorted(set(data.comparisons["device"].dropna()) | set(data.completed["device"].dropna()))


def layout(**_query: Any) -> html.Div:
    """The page: a device selector, the race, the scaling plot."""
    data = components.current_data()
    found = devices(data)
    if not found:
        return components.empty_results(data.results_dir)
    return html.Div([
        html.H2("Performance"),
        html.P(className="lead", children=(
            "The same cells in nqsbench and NetKet, in one process, alternating (same model, "
            "Hamiltonian, sampling and SR; see suite/compare.py), and the cost per step against the "
            "lattice size for the three attention types. Times are medians over timed steps, "
            "compilation excluded, and only comparable on one device.")),
        html.Div(className="filters", children=[
            components.field("Device", dcc.Dropdown(id="performance-device", options=found,
                                                    value=found[0], clearable=False)),
        ]),
        html.Div(components.graph(RACE_GRAPH, RACE_PLACEHOLDER_HEIGHT), className="card"),
        html.Details([html.Summary("The races as a table"),
                      dcc.Markdown(id="performance-race-table")], open=False),
        html.Div(components.graph(SCALING_GRAPH, performance_figures.SCALING_HEIGHT), className="card",
                 style={"marginTop": "12px"}),
    ])


def update(device: str | None):
    """The race and scaling figures of one device (messages for a device that is not one)."""
    data = components.current_data()
    if not isinstance(device, str) or device not in devices(data):
        message = components.unknown_value("device", device)
        return (figures.message_figure(message), message,
                figures.message_figure(message, performance_figures.SCALING_HEIGHT))
    races = newest_races(data.comparisons)
    races = races[races["device"] == device]
    runs = data.completed
    scaling = runs[(runs["matrix"] == SCALING_MATRIX) & (runs["device"] == device)]
    table = comparison_table(races) if not races.empty else "No race on this device yet."
    return (performance_figures.race_figure(races), table,
            performance_figures.scaling_figure(scaling_summary(scaling)))


def register_callbacks(app: Dash) -> None:
    """Register this page's callbacks on ``app``."""
    components.register_figures(
        app, update, [Output(RACE_GRAPH, "figure"), Output("performance-race-table", "children"),
                      Output(SCALING_GRAPH, "figure")], [Input("performance-device", "value")])
    components.register_export(app, RACE_GRAPH, SCALING_GRAPH)
