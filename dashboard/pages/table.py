"""Every run in a sortable, filterable grid with CSV export, and the paper-style table."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import pandas as pd
from dash import Dash, Input, Output, dcc, html

from dashboard import components
from dashboard.data import systems
from suite.report.models import model_details
from suite.report.tables import FORMATS, TIMING, render_table

GRID = "table-grid"
PAPER = "table-paper"


def _number(spec: str) -> dict:
    return {"function": f"params.value == null ? '' : d3.format('{spec}')(params.value)"}


# (field, header, extra column options)
COLUMNS: tuple[tuple[str, str, dict], ...] = (
    ("run_link", "Run", {"cellRenderer": "markdown", "pinned": "left", "minWidth": 150,
                         "filter": "agTextColumnFilter"}),
    ("status", "Status", {}),
    ("model_name", "Model", {}),
    ("model_text", "Model options", {"headerTooltip": "a ViT's size is in Layers, d and Heads; a "
                                                      "CNN's or plugin's in its options"}),
    ("L", "L", {"filter": "agNumberColumnFilter"}),
    ("J2", "J2/J1", {"filter": "agNumberColumnFilter"}),
    ("layers", "Layers", {"filter": "agNumberColumnFilter"}),
    ("d", "d", {"filter": "agNumberColumnFilter"}),
    ("heads", "Heads", {"filter": "agNumberColumnFilter"}),
    ("samples", "Samples", {"filter": "agNumberColumnFilter"}),
    ("steps", "Steps", {"filter": "agNumberColumnFilter"}),
    ("seed", "Seed", {"filter": "agNumberColumnFilter",
                      "headerTooltip": "the paper-style table below combines a cell's seeds: "
                                       "mean, spread, best and how many"}),
    ("energy", "E/N", {"valueFormatter": _number(".6f"), "filter": "agNumberColumnFilter"}),
    ("energy_error", "± E/N", {"valueFormatter": _number(".1e")}),
    ("sampling_precision", "Sampling", {"headerTooltip": "network precision in the Markov chain"}),
    ("sampling_bias_bound", "Bias bound E/N", {
        "valueFormatter": _number(".1e"),
        "headerTooltip": "bound on the energy bias of sampling in lower precision (0: none)"}),
    ("relative_error", "Rel. error", {"valueFormatter": _number(".2e"),
                                      "filter": "agNumberColumnFilter"}),
    ("v_score", "V-score", {"valueFormatter": _number(".2e"), "filter": "agNumberColumnFilter"}),
    ("n_parameters", "Parameters", {"valueFormatter": _number(","),
                                    "filter": "agNumberColumnFilter"}),
    ("seconds_per_step", "s/step", {"valueFormatter": _number(".3g"),
                                    "filter": "agNumberColumnFilter"}),
    ("compile_seconds", "Compile s", {"valueFormatter": _number(".3g")}),
    ("total_seconds", "Total s", {"valueFormatter": _number(".4g")}),
    ("gflops_per_second", "GFLOP/s", {"valueFormatter": _number(".3g"),
                                      "filter": "agNumberColumnFilter"}),
    ("percent_of_peak", "% of peak", {"valueFormatter": _number(".2g"),
                                      "filter": "agNumberColumnFilter",
                                      "tooltipField": "peak_flops_source"}),
    ("device", "Device", {}),
    ("commit_short", "Commit", {}),
    ("finished_at", "Finished (UTC)", {}),
    ("matrix", "Matrix", {}),
    ("purpose", "Purpose", {"headerTooltip": "timing cells measure cost only: no energy error"}),
    ("failure_reason", "Failure", {}),
)


def grid_rows(runs: pd.DataFrame) -> list[dict]:
    """The grid's rows: JSON-ready (missing values are ``None``), with a link to each run."""
    if runs.empty:
        return []
    rows = runs.assign(
        run_link=[f"[{run[:12]}…](/run?id={run})" for run in runs["run"]],
        commit_short=[(str(c)[:8] + ("-dirty" if d else "")) if isinstance(c, str) else None
                      for c, d in zip(runs["commit"], runs["dirty"], strict=True)],
        finished_at=runs["finished_at"].astype(str).str[:19].str.replace("T", " "),
        gflops_per_second=pd.to_numeric(runs["achieved_flops_per_second"]) / 1e9,
        percent_of_peak=100 * pd.to_numeric(runs["fraction_of_peak"]),
        model_text=[None if row["model"] == "vit" else model_details(row)
                    for _, row in runs.iterrows()],
        sampling_precision=runs["sampler_dtype"].where(runs["sampler_dtype"].notna(),
                                                       runs["dtype"]),
    )
    timing = rows["purpose"] == TIMING
    rows.loc[timing, ["relative_error", "v_score"]] = None  # not an accuracy: never shown as one
    other = rows["model"] != "vit"
    rows = rows[[field for field, _, _ in COLUMNS] + ["run", "peak_flops_source"]].astype(object)
    rows.loc[other, ["layers", "d", "heads"]] = None  # unused ViT defaults
    return rows.where(rows.notna(), None).to_dict("records")


def layout(system: str | None = None, **_query: Any) -> html.Div:
    """The page; ``?system=L|J2`` preselects the paper table's lattice and coupling."""
    data = components.current_data()
    if data.runs.empty:
        return components.empty_results(data.results_dir)
    options = components.system_options(systems(data.completed))
    values = [option["value"] for option in options]
    column_defs = [{"field": field, "headerName": header, **extra} for field, header, extra in COLUMNS]
    return html.Div([
        html.H2("Results"),
        html.P(className="lead", children=(
            "Every run record, newest first: sort by a column header, filter from its menu, "
            "drag to reorder. The export saves the rows as they are filtered and sorted.")),
        html.Div(className="filters", children=[
            html.Button("Export CSV", id="table-export", n_clicks=0),
        ]),
        dag.AgGrid(
            id=GRID, rowData=grid_rows(data.runs.sort_values("finished_at", ascending=False)),
            columnDefs=column_defs,
            defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90},
            dashGridOptions={"pagination": True, "paginationPageSize": 20, "rowHeight": 30,
                             "headerHeight": 34, "animateRows": False, "enableCellTextSelection": True},
            csvExportParams={"fileName": "nqsbench-runs.csv"},
            columnSize="autoSize", style={"height": "460px"},
            getRowId="params.data.run", className="ag-theme-alpine"),
        html.H2("Paper-style table", style={"marginTop": "18px"}),
        html.P(className="lead", children=(
            "The newest completed record of each configuration, as `nqsbench table` prints it; "
            "copy the text into a paper.")),
        html.Div(className="filters", children=[
            components.field("Lattice and coupling", dcc.Dropdown(
                id="table-system", options=options, clearable=False,
                value=system if system in values else (values[0] if values else None))),
            components.field("Format", dcc.RadioItems(
                id="table-format", options=list(FORMATS), value="markdown", inline=True)),
        ]),
        html.Div(id=PAPER, className="paper-table"),
    ])


def paper_table(runs: pd.DataFrame, system: str | None, fmt: str) -> tuple[str, str]:
    """The text of the paper table for one system, and how to show it (markdown or text)."""
    chosen = components.parse_system(system)
    if chosen is None:
        return ("No completed run yet." if system is None
                else components.unknown_value("lattice and coupling", system)), "text"
    fmt = fmt if fmt in FORMATS else "markdown"
    L, J2 = chosen
    selected = runs[components.in_system(runs, L, J2)]
    return render_table(selected, fmt), ("markdown" if fmt == "markdown" else "text")


def update_paper_table(system: str | None, fmt: str):
    """The paper table rendered (Markdown) and as copyable text."""
    text, kind = paper_table(components.current_data().runs, system,
                             fmt if isinstance(fmt, str) else "markdown")
    raw = html.Div(style={"position": "relative"}, children=[
        dcc.Clipboard(target_id="table-paper-text", title="copy",
                      style={"position": "absolute", "top": 6, "right": 8, "fontSize": 18}),
        html.Pre(text, id="table-paper-text"),
    ])
    return [dcc.Markdown(text), raw] if kind == "markdown" else [raw]


def export_csv(n_clicks: int) -> bool:
    """Ask the grid to download its rows as CSV."""
    return bool(n_clicks)


def register_callbacks(app: Dash) -> None:
    """Register this page's callbacks on ``app``."""
    app.callback(Output(PAPER, "children"), Input("table-system", "value"),
                 Input("table-format", "value"))(update_paper_table)
    app.callback(Output(GRID, "exportDataAsCsv"), Input("table-export", "n_clicks"),
                 prevent_initial_call=True)(export_csv)
