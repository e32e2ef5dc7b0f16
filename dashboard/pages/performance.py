"""Performance: the races against NetKet (step time, time to target), cost against lattice size."""

from __future__ import annotations

import re
from typing import Any

import dash_ag_grid as dag
import pandas as pd
from dash import ALL, Dash, Input, Output, State, dcc, html

from dashboard import components, figures, performance_figures, target_race_figures
from dashboard.data import DashboardData
from suite.report.analysis import scaling_summary
from suite.report.races import comparison_table
from suite.report.target_races import TargetRaceRecord

RACE_GRAPH = "performance-race-graph"
SCALING_GRAPH = "performance-scaling-graph"
SCALING_MATRIX = "scaling"
RACE_PLACEHOLDER_HEIGHT = 450  # until the race arrives; the figure's height follows its cells
TARGET_SECTION = "performance-target-races"
TARGET_GRAPH = "performance-target-race"  # the type of each race's graph id, {type, index}
TARGET_TABLE = "performance-target-table"
NO_TARGET_RACE = "performance-no-target-race"
TARGET_COMMAND = "nqsbench compare netket --matrix race-target --metric time-to-target"


def _format(spec: str, bound: str = "") -> dict:
    """A grid value formatter: ``n/a`` for null, else d3's ``spec``; ``bound`` names a boolean
    field (``censored``: a ``>`` prefix) or a prefix field (``ratio_bound``)."""
    prefix = {"": "", "censored": "(params.data.censored ? '>' : '') + ",
              "ratio_bound": "(params.data.ratio_bound || '') + "}[bound]
    return {"function": f"params.value == null ? 'n/a' : {prefix}d3.format('{spec}')(params.value)"}


# (field, header, extra column options) of each race's table: summarise's rows
TARGET_COLUMNS: tuple[tuple[str, str, dict], ...] = (
    ("target", "Target", {"headerTooltip": "relative error to the reference"}),
    ("engine", "Engine", {}),
    ("setting", "Setting", {"headerTooltip": "NetKet: its ViT tutorial's optimiser, exactly the "
                                             "cell's, or the cell's with SPRING"}),
    ("reached", "Reached", {"headerTooltip": "seeds that reached the target / seeds"}),
    ("median_seconds", "Median (s)", {
        "valueFormatter": _format(".3~g", bound="censored"),
        "headerTooltip": "seconds to target, median over the seeds; an unreached seed counts "
                         "as the budget ('>': fewer than half reached it, the median is a bound)"}),
    ("quartiles", "q1-q3 (s)", {}),
    ("median_steps", "Steps", {"valueFormatter": _format(".0f"), "headerTooltip": "median"}),
    ("seconds_per_step", "s/step", {"valueFormatter": _format(".3~g")}),
    ("ratio", "Ratio", {"valueFormatter": _format(".2f", bound="ratio_bound"), "headerTooltip": (
        "on a NetKet row: nqsbench's fastest setting / this one; on an nqsbench row: this one / "
        "NetKet's fastest (median seconds). Below 1: nqsbench is faster. '<' or '>': a bound "
        "(one median is a bound); n/a: both are")}),
    ("final_energy", "Final E/N", {"valueFormatter": _format(".5f")}),
    ("exact_energy", "Exact E/N", {"valueFormatter": _format(".5f")}),
)


def newest_races(races: pd.DataFrame) -> pd.DataFrame:
    """The newest race of each (cell, peer, device)."""
    if races.empty:
        return races
    return (races.sort_values("finished_at")
            .drop_duplicates(["cell_id", "peer", "device"], keep="last")
            .sort_values(["device", "L", "layers", "attention", "J2"]))


def devices(data: DashboardData) -> list[str]:
    """The devices of the races and the completed runs."""
    return sorted(set(data.comparisons["device"].dropna()) | set(data.completed["device"].dropna())
                  | {race.environment.get("device") for race in data.target_races} - {None})


def raced_settings(race: TargetRaceRecord) -> tuple[str, ...]:
    """The engines and settings a race ran, e.g. ``("nqsbench-ours", "netket-ours")``."""
    return tuple(f"{entry.get('engine')}-{entry.get('setting')}" for entry in race.engines)


def newest_target_races(races: tuple[TargetRaceRecord, ...] | list) -> list[TargetRaceRecord]:
    """The newest time-to-target race of each (cell, device, engines and settings raced), by
    device, then cell label, then the oldest first: a race of other settings on a cell (e.g.
    SPRING in both engines) adds to the cell's earlier race instead of hiding it."""
    newest: dict[tuple, TargetRaceRecord] = {}
    for race in sorted(races, key=lambda r: r.finished_at or ""):
        newest[(race.cell_id, race.environment.get("device"), raced_settings(race))] = race
    return sorted(newest.values(), key=lambda r: (str(r.environment.get("device") or ""),
                                                  str(r.label or r.cell_id), r.finished_at or ""))


def target_race_key(race: TargetRaceRecord) -> str:
    """A race's index in its components' ids, and its plots' file name: cell, device and the
    settings raced."""
    name = f"{race.cell_id}-{race.environment.get('device')}-{'-'.join(raced_settings(race))}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def target_race_card(race: TargetRaceRecord) -> html.Div:
    """One race: its figure (as tall as it sets), and summarise's table with the ratios."""
    figure = target_race_figures.target_race_figure(race)
    key = target_race_key(race)
    return html.Div(className="card", style={"marginTop": "12px"}, children=[
        dcc.Graph(id={"type": TARGET_GRAPH, "index": key}, figure=figure, responsive=True,
                  config=components.export_config(f"nqsbench-time-to-target-{key}"),
                  style=components.figure_style(figure)),
        dag.AgGrid(
            id={"type": TARGET_TABLE, "index": key},
            rowData=target_race_figures.summary_rows(race),
            columnDefs=[{"field": f, "headerName": h, **extra} for f, h, extra in TARGET_COLUMNS],
            defaultColDef={"sortable": True, "resizable": True, "minWidth": 80},
            dashGridOptions={"domLayout": "autoHeight", "rowHeight": 30, "headerHeight": 34,
                             "enableCellTextSelection": True, "tooltipShowDelay": 200},
            columnSize="sizeToFit", style={"height": None}, className="ag-theme-alpine"),
    ])


def target_race_section(data: DashboardData) -> html.Div:
    """Time to target against NetKet: the newest race per cell, device and settings raced, or
    how to run one."""
    races = newest_target_races(data.target_races)
    intro = html.P(className="lead", children=(
        "Several seeds of one cell in each engine and setting, each run until it confirms a "
        "relative error (or its budget runs out); seconds are wall clock from the first step to "
        "the confirming evaluation, compilation excluded. Seeds that never got there count with "
        "their whole run. The newest race per cell, device and settings raced."))
    body = [target_race_card(race) for race in races] or [components.notice([
        "No time-to-target race yet: run ", html.Code(TARGET_COMMAND), " and reload this page."],
        NO_TARGET_RACE)]
    return html.Div(id=TARGET_SECTION, style={"marginTop": "18px"},
                    children=[html.H2("Time to target against NetKet"), intro, *body])


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
        target_race_section(data),
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
    app.callback(Output({"type": TARGET_GRAPH, "index": ALL}, "config"),
                 Input(components.EXPORT_FORMAT_ID, "value"),
                 State({"type": TARGET_GRAPH, "index": ALL}, "id"))(target_race_export)


def target_race_export(fmt: str, ids: list[dict]) -> list[dict]:
    """The time-to-target graphs' configs, saving as the format chosen in the header."""
    return [components.export_config(f"nqsbench-time-to-target-{i['index']}", fmt) for i in ids]
