"""Attention maps per layer and head (the paper's figure 4), at initialisation and at the end,
and how much they depend on the input configuration."""

from __future__ import annotations

from typing import Any

import numpy as np
from dash import Dash, Input, Output, dcc, html

from dashboard import components, figures
from dashboard.data import attention_summary, read_run, run_options
from suite.report.analysis import input_dependence

MAPS_GRAPH = "attention-maps-graph"
SUMMARY_GRAPH = "attention-summary-graph"
STAGES = {"initial": "at initialisation", "final": "after training"}


def layout(id: str | None = None, **_query: Any) -> html.Div:  # noqa: A002 (the URL's ?id=)
    """The page; ``?id=<run id>`` selects the run, else the newest run with snapshots; an id
    that names no run with snapshots says so (and selects nothing)."""
    data = components.current_data()
    summary = attention_summary(data)
    if summary.empty:
        if data.runs.empty:
            return components.empty_results(data.results_dir)
        return components.notice("No run has attention snapshots (only completed ViT runs "
                                 "record them).", element_id="empty-attention")
    runs = data.runs[data.runs["run"].isin(summary["run"])]
    options = run_options(runs)
    values = [option["value"] for option in options]
    value = components.requested_run(id, values)
    return html.Div([
        html.H2("Attention maps"),
        components.no_such_run(id, data, "attention snapshots") if value is None else None,
        html.P(className="lead", children=(
            "Attention weights (query patch × key patch) of every layer and head for fixed Sz=0 "
            "input configurations, the same for every run on a lattice. The paper's claim: after "
            "training, T5 and Decoupled maps hardly depend on the input, so input-independent "
            "Factored attention loses nothing. The input dependence is the largest, over layers "
            "and heads, of the mean absolute deviation from the input-averaged map, relative to "
            "that map (0 for Factored attention, by construction).")),
        html.Div(className="filters", children=[
            components.field("Run", dcc.Dropdown(
                id="attention-run", options=options, clearable=False, value=value,
                placeholder="Choose a run", style={"minWidth": "600px"})),
            components.field("Stage", dcc.RadioItems(
                id="attention-stage", value="final", inline=True,
                options=[{"label": text, "value": stage} for stage, text in STAGES.items()])),
            components.field("Input configuration", dcc.RadioItems(
                id="attention-configuration", value=0, inline=True, options=[])),
        ]),
        html.Div(id="attention-dependence", className="notice"),
        html.Div(components.graph(MAPS_GRAPH), className="card"),
        html.Div(components.graph(SUMMARY_GRAPH, figures.INPUT_DEPENDENCE_HEIGHT), className="card",
                 style={"marginTop": "12px"}),
    ])


def update(run_id: str | None, stage: str, configuration: int | None):
    """The heatmaps of one run, stage and input, its input-dependence numbers, and the summary
    of every run on the same lattice and coupling. Without a run, or for a run or stage that
    does not exist, both figures are a message."""
    data = components.current_data()
    record = read_run(data, run_id) if isinstance(run_id, str) else None
    attention = None if record is None else record.attention
    if not run_id:
        message = "Choose a run from the menu above."
    elif not attention and record is not None and \
            record.config.get("model", {}).get("model", "vit") != "vit":
        message = (f"Run {run_id!r} has no attention snapshots: no attention maps for this model "
                   "(only ViT runs record them).")
    elif not attention:
        message = f"Run {run_id!r} has no attention snapshots."
    elif not isinstance(stage, str) or stage not in STAGES:
        message = components.unknown_value("stage", stage)
    else:
        message = None
    if message is not None:
        return (figures.message_figure(message), message, [],
                figures.message_figure(message, figures.INPUT_DEPENDENCE_HEIGHT))
    maps = np.asarray(attention[stage])
    count = maps.shape[0]
    index = configuration if isinstance(configuration, int) and 0 <= configuration < count else 0
    spins = "".join("↑" if s > 0 else "↓" for s in attention["configurations"][index])
    title = (f"{STAGES[stage]}, input configuration {index + 1} of {count}: {spins[:40]}"
             f"{'…' if len(spins) > 40 else ''}")
    initial, final = (input_dependence(np.asarray(attention[s])) for s in ("initial", "final"))
    text = (f"Input dependence: {figures.format_dependence(initial)} at initialisation, "
            f"{figures.format_dependence(final)} after training (0: the same map for every input).")
    config = record.config
    summary = attention_summary(data)
    same_system = summary[components.in_system(summary, config["system"]["L"],
                                               config["system"]["J2"])]
    options = [{"label": f"{i + 1}", "value": i} for i in range(count)]
    return (figures.attention_figure(maps[index], title), text, options,
            figures.input_dependence_figure(same_system))


def register_callbacks(app: Dash) -> None:
    """Register this page's callbacks on ``app``."""
    components.register_figures(
        app, update,
        [Output(MAPS_GRAPH, "figure"), Output("attention-dependence", "children"),
         Output("attention-configuration", "options"), Output(SUMMARY_GRAPH, "figure")],
        [Input("attention-run", "value"), Input("attention-stage", "value"),
         Input("attention-configuration", "value")])
    components.register_export(app, MAPS_GRAPH, SUMMARY_GRAPH)
