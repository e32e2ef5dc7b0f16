"""One run: its training curves (the paper's figure 2), its numbers and its full record."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from dash import Dash, Input, Output, dcc, html

from dashboard import components, figures
from dashboard.data import read_run, run_options
from suite.report.formatting import format_with_error
from suite.report.models import display_model_name, is_plugin, model_details

GRAPH = "run-training-graph"


def layout(id: str | None = None, **_query: Any) -> html.Div:  # noqa: A002 (the URL's ?id=)
    """The page; ``?id=<run id>`` (a record file stem) selects the run, else the newest; an id
    that names no run says so (and selects nothing)."""
    data = components.current_data()
    if data.runs.empty:
        return components.empty_results(data.results_dir)
    options = run_options(data.runs)
    values = [option["value"] for option in options]
    value = components.requested_run(id, values)
    return html.Div([
        html.H2("Run detail"),
        components.no_such_run(id, data) if value is None else None,
        html.Div(className="filters", children=[
            components.field("Run", dcc.Dropdown(
                id="run-select", options=options, clearable=False, value=value,
                placeholder="Choose a run", style={"minWidth": "640px"})),
        ]),
        html.Div(id="run-summary"),
        html.Div(components.graph(GRAPH, figures.TRAINING_HEIGHT), className="card"),
        html.Details([html.Summary("Full record (JSON)"), html.Pre(id="run-record")],
                     style={"marginTop": "10px"}),
    ])


def _item(name: str, value: str) -> html.Div:
    return html.Div([html.Span(value, className="value"), html.Span(name, className="name")])


def _flop_items(metrics: dict[str, Any]) -> list:
    """FLOPs and achieved FLOP/s, where the record has them (older records do not)."""
    items = []
    if metrics.get("forward_flops_per_sample") is not None:
        items.append(_item("forward FLOPs / sample", f"{metrics['forward_flops_per_sample']:.3g}"))
    if metrics.get("step_flops") is not None:
        items.append(_item("FLOPs / step", f"{metrics['step_flops']:.3g}"))
    if metrics.get("achieved_flops_per_second") is not None:
        items.append(_item("GFLOP/s", f"{metrics['achieved_flops_per_second'] / 1e9:.3g}"))
    if metrics.get("fraction_of_peak") is not None:
        items.append(_item("of peak", f"{100 * metrics['fraction_of_peak']:.2g} %"))
    if metrics.get("peak_flops_per_second") is not None:
        items.append(_item(f"peak: {metrics.get('peak_flops_source')}",
                           f"{metrics['peak_flops_per_second'] / 1e9:.4g} GFLOP/s"))
    return items


def summary(record: dict[str, Any], run_id: str) -> list:
    """The run's headline numbers and provenance, its model (a plugin's origin), and a link to
    its attention maps (or, for a model without attention, a line that says so)."""
    git, environment = record.get("git", {}), record.get("environment", {})
    items = [_item("status", record["status"]), _item("cell", record["cell_id"]),
             _item("device", str(environment.get("device"))),
             _item("devices × processes", f"{(record.get('metrics') or {}).get('devices', 1)} × "
                                          f"{environment.get('process_count', 1)}"),
             _item("commit", f"{str(git.get('commit'))[:8]}{'-dirty' if git.get('dirty') else ''}"),
             _item("finished (UTC)", str(record.get("finished_at"))[:19].replace("T", " "))]
    metrics = record.get("metrics")
    if metrics:
        reference = metrics.get("reference") or {}
        items += [
            _item("E / N", format_with_error(metrics["energy_per_site"], metrics["energy_error"])),
            _item("relative error", "n/a" if metrics.get("relative_error") is None
                  else f"{metrics['relative_error']:.3e}"),
            _item("reference", f"{reference.get('energy_per_site', 'none')} "
                               f"({reference.get('kind', '-')})"),
            _item("V-score", f"{metrics['v_score']:.2e}"),
            _item("parameters", f"{metrics['n_parameters']:,}"),
            _item("s / step", f"{metrics['seconds_per_step']:.3g}"),
            _item("compile", f"{metrics['compile_seconds']:.1f} s"),
            _item("total", f"{metrics['total_seconds']:.0f} s"),
            _item("acceptance", f"{metrics['acceptance']:.3f}"),
        ]
        items += _flop_items(metrics)
    failure = record.get("failure")
    parts: list = [html.Div(items, className="summary")]
    if failure:
        parts.append(html.Div(f"Failed at step {failure.get('step')}: {failure.get('reason')}",
                              className="warning"))
    parts += model_parts(record)
    if record.get("attention"):
        parts.append(dcc.Link("Attention maps of this run →", href=f"/attention?id={run_id}"))
    elif (record.get("config") or {}).get("model", {}).get("model", "vit") != "vit":
        parts.append(html.P(NO_ATTENTION, className="lead", id="run-no-attention"))
    return parts


NO_ATTENTION = "No attention maps for this model (only ViT runs record them)."


def model_parts(record: dict[str, Any]) -> list:
    """The run's model: its name and size; for a plugin, where it came from (import path,
    options, source file, git commit), from the record's ``plugin`` entry."""
    model = (record.get("config") or {}).get("model") or {}
    kind = model.get("model", "vit")
    row = {**model, "model": kind}
    items = [_item("model", display_model_name(kind, model.get("model_options"),
                                                model.get("attention"))),
             _item("size" if kind == "vit" else "options", model_details(row))]
    parts: list = [html.Div(items, className="summary", id="run-model")]
    plugin = record.get("plugin")
    if is_plugin(kind) or plugin:
        plugin = plugin or {}
        commit = plugin.get("git_commit")
        source = (f"{commit[:12]}{'-dirty' if plugin.get('git_dirty') else ''}" if commit
                  else "not in a git work tree")
        parts.append(html.Div([
            _item("plugin", str(plugin.get("model") or kind)),
            _item("plugin options", json.dumps(plugin.get("options", model.get("model_options"))
                                               or {}, sort_keys=True)),
            _item("plugin file", str(plugin.get("file") or "unknown")),
            _item("plugin commit", source),
        ], className="summary", id="run-plugin"))
    return parts


def record_text(record: dict[str, Any]) -> str:
    """The record as indented JSON, attention arrays replaced by their shapes."""
    shown = dict(record)
    if "attention" in shown:
        shown["attention"] = {key: f"<array of shape {np.shape(value)}>"
                              for key, value in shown["attention"].items()}
    return json.dumps(shown, indent=1)


def update(run_id: str | None):
    """The figure, summary and record text of the chosen run (a message figure without one)."""
    if not run_id:
        return figures.message_figure("Choose a run from the menu above."), None, ""
    record = read_run(components.current_data(), run_id) if isinstance(run_id, str) else None
    if record is None:
        message = f"No readable record for run {run_id!r}."
        return figures.message_figure(message), components.notice(message), ""
    return figures.training_figure(record), summary(record, run_id), record_text(record)


def register_callbacks(app: Dash) -> None:
    """Register this page's callbacks on ``app``."""
    components.register_figures(app, update, [Output(GRAPH, "figure"), Output("run-summary", "children"),
                                              Output("run-record", "children")],
                                [Input("run-select", "value")])
    components.register_export(app, GRAPH)
