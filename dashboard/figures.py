"""Pure figure builders: DataFrame (or record) in, ``plotly.graph_objects.Figure`` out.

Nothing here imports Dash or reads files, and nothing computes a result: the numbers come from
the records and from ``suite.report`` (its loaders, ``analysis`` and ``regressions``); figures
only arrange and draw them. Each function is unit-tested on the traces it returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.colours import MODEL_COLOURS, MODEL_ORDER, model_colour  # noqa: F401 (re-exported)
from dashboard.colours import ordered_models as _ordered
from suite.report.analysis import NUMERICAL_ZERO, pareto_fronts
from suite.report.models import model_details
from suite.report.regressions import cell_label

DEVICE_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "triangle-down", "pentagon")
PUBLISHED_SYMBOL = "star"
FRONT_COLOUR = "rgba(60, 60, 60, 0.55)"
COST_AXES = {
    "n_parameters": "parameters",
    "seconds_per_step": "seconds per step",
}
REGRESSION_METRICS = (
    ("seconds_per_step", "seconds per step", True),
    ("energy_error", "relative energy error", True),
    ("parameters", "parameters", False),
)
REGRESSION_AXIS_TITLES = {  # each panel's y axis: the metric and its unit
    "seconds_per_step": "seconds per step (s)",
    "energy_error": "rel. error (ΔE / |E_ref|)",
    "parameters": "parameters (count)",
}
DEFAULT_HEIGHT = 450  # pixels; every figure sets its height, the dashboard sizes its card to it
ACCURACY_HEIGHT = 520
REGRESSION_HEIGHT = 760
TRAINING_HEIGHT = 640
INPUT_DEPENDENCE_HEIGHT = 400
LAYOUT_DEFAULTS: dict[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 90, "b": 50},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    "hoverlabel": {"align": "left"},
}


def message_figure(text: str, height: int = DEFAULT_HEIGHT) -> go.Figure:
    """An empty figure ``height`` pixels tall that shows ``text`` in its middle (no data yet,
    nothing selected, a value that names nothing...); its axes are hidden."""
    figure = go.Figure()
    figure.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                          font={"size": 15})
    figure.update_layout(**LAYOUT_DEFAULTS, xaxis={"visible": False}, yaxis={"visible": False},
                         height=height)
    return figure


def _hover_run(row: pd.Series) -> str:
    signed = row["relative_error"]
    below = " (below the reference)" if signed < 0 else ""
    lines = [
        f"<b>{row['model_name']}</b>  L={row['L']}  J2/J1={row['J2']:g}",
        (f"layers={row['layers']}  d={row['d']}  heads={row['heads']}  patch={row['patch']}"
         if row.get("model", "vit") == "vit" else model_details(row)),
        f"samples={row['samples']}  steps={row['steps']}  dtype={row['dtype']}",
        f"E/N = {row['energy']:.6f} ± {row['energy_error']:.1e}",
        f"relative error = {signed:.3e}{below}",
        f"parameters = {int(row['n_parameters']):,}   s/step = {row['seconds_per_step']:.3g}",
        f"commit {str(row['commit'])[:8]}{'-dirty' if row['dirty'] else ''} · {row['device']}",
        f"finished {str(row['finished_at'])[:16].replace('T', ' ')} UTC",
        "<i>click for the run's detail</i>",
    ]
    return "<br>".join(lines)


def _hover_published(row: pd.Series) -> str:
    lines = [f"<b>published: {row['label']}</b>  L={row['L']}  J2/J1={row['J2']:g}",
             f"E/N = {row['energy']:.6f}",
             f"relative error = {row['relative_error']:.3e} vs {row['reference_id']}"]
    if pd.notna(row.get("n_parameters")):
        lines.append(f"parameters = {int(row['n_parameters']):,}")
    if pd.notna(row.get("seconds_per_step")):
        lines.append(f"s/step = {row['seconds_per_step']:.3g} on {row['device']} ({row['cost']})")
    lines.append(str(row["citation"]))
    return "<br>".join(lines)


def accuracy_cost_figure(runs: pd.DataFrame, published: pd.DataFrame, cost: str) -> go.Figure:
    """Relative energy error (log) against a cost (log), one colour per model family (a ViT
    attention, a baseline, a plugin: ``model_name``).

    Args:
        runs: completed runs, with ``model_name``, ``relative_error``,
            ``relative_error_uncertainty``, ``run`` and the cost column.
        published: rows of :func:`suite.report.analysis.published_points` to overlay (stars).
        cost: ``"n_parameters"`` or ``"seconds_per_step"``.

    Returns:
        One scatter trace per (model, device) with ``customdata`` = run id; the absolute relative
        error is plotted (open markers where the energy is below the reference). Dashed lines join
        the Pareto front of each device (parameters do not depend on the device, so on that axis
        there is one front); published results are star markers. With no plottable point the figure
        says so.
    """
    title = f"Relative energy error against {COST_AXES[cost]}"
    runs = runs[_finite(runs["relative_error"]) & _finite(runs[cost])].copy()
    published = published[published["relative_error"].notna()
                          & published[cost].notna()].copy() if not published.empty else published
    if runs.empty and published.empty:
        return message_figure("No run with a reference energy matches these filters.",
                              ACCURACY_HEIGHT)
    figure = go.Figure()
    runs["abs_error"] = runs["relative_error"].abs()
    devices = sorted(runs["device"].dropna().unique())
    symbols = {device: DEVICE_SYMBOLS[i % len(DEVICE_SYMBOLS)] for i, device in enumerate(devices)}
    by_device = cost != "n_parameters"
    on_front = pareto_fronts(runs, cost, "abs_error", by="device" if by_device else None)
    front_groups = ([] if runs.empty else list(runs[on_front].groupby("device")) if by_device
                    else [("all", runs[on_front])])
    for name, front in front_groups:
        front = front.sort_values(cost)
        figure.add_trace(go.Scatter(
            x=front[cost], y=front["abs_error"], mode="lines+markers",
            line={"dash": "dash", "color": FRONT_COLOUR},
            marker={"symbol": "circle-open", "size": 20, "color": FRONT_COLOUR, "line": {"width": 2}},
            line_shape="hv", name="Pareto front" + ("" if name == "all" else f" ({name})"),
            hoverinfo="skip", legendgroup="front"))
    for model in _ordered(runs["model_name"].unique()):
        for device in devices:
            group = runs[(runs["model_name"] == model) & (runs["device"] == device)]
            if group.empty:
                continue
            below = group["relative_error"] < 0
            figure.add_trace(go.Scatter(
                x=group[cost], y=group["abs_error"], mode="markers",
                name=model if len(devices) == 1 else f"{model} · {device}",
                legendgroup=model,
                marker={"color": model_colour(model), "size": 11,
                        "symbol": [symbols[device] + ("-open" if b else "") for b in below],
                        "line": {"width": 1, "color": "white"}},
                error_y={"type": "data", "array": group["relative_error_uncertainty"].abs(),
                         "visible": True, "thickness": 1.2, "width": 3},
                customdata=group["run"], hovertext=group.apply(_hover_run, axis=1),
                hovertemplate="%{hovertext}<extra></extra>"))
    if not published.empty:
        published = published.assign(abs_error=published["relative_error"].abs())
        figure.add_trace(go.Scatter(
            x=published[cost], y=published["abs_error"], mode="markers", name="published",
            marker={"symbol": PUBLISHED_SYMBOL, "size": 15, "line": {"width": 1.5, "color": "black"},
                    "color": [model_colour(name) for name in published["model_name"]]},
            error_y={"type": "data", "array": published["relative_error_uncertainty"],
                     "visible": True, "thickness": 1, "width": 2, "color": "black"},
            hovertext=published.apply(_hover_published, axis=1),
            hovertemplate="%{hovertext}<extra></extra>"))
    figure.update_layout(**LAYOUT_DEFAULTS, clickmode="event", height=ACCURACY_HEIGHT,
                         title={"text": title, "x": 0, "y": 0.98, "font": {"size": 14}})
    figure.update_xaxes(type="log", title=COST_AXES[cost])
    figure.update_yaxes(type="log", title="|E − E_ref| / |E_ref|", exponentformat="power", dtick="D2")
    return figure


def _finite(column: pd.Series) -> pd.Series:
    return np.isfinite(pd.to_numeric(column, errors="coerce").astype(float))


def regression_figure(asv: pd.DataFrame, changes: pd.DataFrame, threshold: float) -> go.Figure:
    """Seconds per step, energy error and parameters of every benchmark cell across commits.

    Args:
        asv: ``load_asv_results`` rows of one machine (and environment).
        changes: ``suite.report.regressions.detect_changes`` of those rows: the steps to mark.
        threshold: the relative size the marked steps exceed (e.g. 0.1), for the legend.

    Returns:
        Three rows of subplots sharing the commit axis (commits in date order, labelled by
        their short hash), each with its metric and unit on the y axis; one line per cell; red
        crosses on the measured value at each commit where a change starts (a step asv detects,
        larger than ``threshold``). ``REGRESSION_HEIGHT`` pixels tall.
    """
    asv = asv[asv["metric"].isin([metric for metric, _, _ in REGRESSION_METRICS])]
    if asv.empty:
        return message_figure("No asv results for this machine.", REGRESSION_HEIGHT)
    commits = (asv[["commit", "commit_date"]].drop_duplicates("commit")
               .sort_values("commit_date", kind="stable"))
    position = {commit: i for i, commit in enumerate(commits["commit"])}
    figure = make_subplots(rows=len(REGRESSION_METRICS), cols=1, shared_xaxes=True,
                           vertical_spacing=0.06,
                           subplot_titles=[title for _, title, _ in REGRESSION_METRICS])
    cells = sorted({cell_label(p) for p in asv["params"]})
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
               "#17becf", "#bcbd22", "#7f7f7f"]
    colours = {cell: palette[i % len(palette)] for i, cell in enumerate(cells)}
    for row, (metric, title, log) in enumerate(REGRESSION_METRICS, start=1):
        rows = asv[asv["metric"] == metric].assign(cell=lambda f: f["params"].map(cell_label))
        for cell in cells:
            series = rows[rows["cell"] == cell].assign(x=lambda f: f["commit"].map(position))
            series = series.sort_values("x")
            if series.empty:
                continue
            hover = [f"<b>{cell}</b><br>{title} = {value:.4g} {unit or ''}<br>commit {commit[:8]}"
                     f"<br>{pd.Timestamp(date):%Y-%m-%d %H:%M} UTC"
                     for value, unit, commit, date in zip(series["value"], series["unit"],
                                                          series["commit"], series["commit_date"],
                                                          strict=True)]
            figure.add_trace(go.Scatter(
                x=series["x"], y=series["value"], mode="lines+markers", name=cell,
                legendgroup=cell, showlegend=row == 1, line={"color": colours[cell]},
                hovertext=hover, hovertemplate="%{hovertext}<extra></extra>"), row=row, col=1)
            marked = changes[(changes["metric"] == metric) & (changes["cell"] == cell)]
            flagged = series[series["commit"].isin(marked["commit"])]
            if not flagged.empty:
                figure.add_trace(go.Scatter(
                    x=flagged["x"], y=flagged["value"], mode="markers",
                    name=f"change > {threshold:.0%}", legendgroup="flag", showlegend=False,
                    marker={"symbol": "x", "size": 14, "color": "red", "line": {"width": 1}},
                    hoverinfo="skip"), row=row, col=1)
        figure.update_yaxes(type="log" if log else "linear", title_text=REGRESSION_AXIS_TITLES[metric],
                            row=row, col=1)
    figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"change > {threshold:.0%}",
                                marker={"symbol": "x", "size": 12, "color": "red"}))
    figure.update_xaxes(tickmode="array", tickvals=list(position.values()),
                        ticktext=[commit[:8] for commit in position], title_text="commit",
                        row=len(REGRESSION_METRICS), col=1)
    figure.update_layout(**{**LAYOUT_DEFAULTS, "margin": {"l": 60, "r": 20, "t": 80, "b": 50}},
                         height=REGRESSION_HEIGHT, hovermode="closest")
    return figure


def training_figure(record: dict[str, Any]) -> go.Figure:
    """A run's training: relative error (log) or energy, acceptance and seconds per step.

    The first panel is the relative error against the record's reference on a log scale, as in
    the paper's figure 2, with a band of one standard error; without a reference it is the energy
    per site. Failed runs have no trace and get a message figure.
    """
    trace = record.get("trace")
    if not trace or not trace.get("step"):
        failure = record.get("failure") or {}
        return message_figure(f"No training trace: the run failed at step {failure.get('step')} "
                              f"({failure.get('reason', 'unknown reason')}).", TRAINING_HEIGHT)
    steps = np.asarray(trace["step"])
    energy = np.asarray(trace["energy"], dtype=float)
    error = np.asarray(trace["error"], dtype=float)
    reference = (record.get("metrics") or {}).get("reference")
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                           row_heights=[0.55, 0.22, 0.23],
                           subplot_titles=["relative energy error" if reference else "energy per site",
                                           "acceptance", "seconds per step"])
    if reference:
        scale = abs(reference["energy_per_site"])
        y = (energy - reference["energy_per_site"]) / scale
        band = error / scale
        label = "|E − E_ref| / |E_ref|"
        figure.add_trace(go.Scatter(x=steps, y=np.abs(y), mode="lines", name="relative error",
                                    line={"color": "#1f77b4"},
                                    customdata=np.stack([y, band], axis=1),
                                    hovertemplate="step %{x}<br>relative error %{customdata[0]:.3e}"
                                                  " ± %{customdata[1]:.1e}<extra></extra>"),
                         row=1, col=1)
        figure.add_trace(go.Scatter(x=np.concatenate([steps, steps[::-1]]),
                                    y=np.concatenate([np.abs(y) + band, np.abs(np.abs(y) - band)[::-1]]),
                                    fill="toself", mode="none", fillcolor="rgba(31,119,180,0.18)",
                                    name="± one standard error", hoverinfo="skip"), row=1, col=1)
        figure.update_yaxes(type="log", title_text=label, exponentformat="power", row=1, col=1)
    else:
        figure.add_trace(go.Scatter(x=steps, y=energy, mode="lines", name="E/N",
                                    error_y={"type": "data", "array": error, "visible": True}),
                         row=1, col=1)
        figure.update_yaxes(title_text="E / N", row=1, col=1)
    figure.add_trace(go.Scatter(x=steps, y=trace["acceptance"], mode="lines", name="acceptance",
                                line={"color": "#2ca02c"}), row=2, col=1)
    figure.add_trace(go.Scatter(x=steps, y=trace["seconds"], mode="lines", name="seconds per step",
                                line={"color": "#ff7f0e"}), row=3, col=1)
    figure.update_yaxes(title_text="acceptance", row=2, col=1)
    figure.update_yaxes(title_text="s / step", row=3, col=1)
    figure.update_xaxes(title_text="optimisation step", row=3, col=1)
    figure.update_layout(**LAYOUT_DEFAULTS, height=TRAINING_HEIGHT, hovermode="x unified",
                         showlegend=False)
    return figure


def patch_ticks(patches: int, most: int = 6) -> dict[str, Any]:
    """Ticks of a patch axis numbered 1 to ``patches``: every patch up to 12, else at most
    ``most`` at round numbers (multiples of 2, 5, 10, ...), horizontal."""
    if patches <= 12:
        return {"tickmode": "linear", "tick0": 1, "dtick": 1, "tickangle": 0}
    step = next(step for step in (2, 5, 10, 20, 50, 100, 200, 500, 1000, 10 ** 9)
                if patches / step <= most)
    return {"tickmode": "linear", "tick0": 0, "dtick": step, "tickangle": 0}


def attention_figure(maps: np.ndarray, title: str) -> go.Figure:
    """Heatmaps of attention weights, one panel per (layer, head).

    Args:
        maps: (layers, heads, patches, patches) weights for one input configuration.
        title: the figure title.

    Returns:
        A grid of square heatmaps, rows = layers, columns = heads, on one shared colour scale;
        patches are numbered from 1, on the same ranges in every panel: the key patch across
        (titled and numbered under the bottom row), the query patch down (titled and numbered
        left of the first column); the inner panels' axes show no numbers.
    """
    maps = np.asarray(maps, dtype=float)
    layers, heads, patches = maps.shape[0], maps.shape[1], maps.shape[-1]
    panel = max(90, min(280, 1050 // max(heads, 1)))  # about the width of a panel at 1366 px
    margin, gap = {"l": 75, "r": 30, "t": 80, "b": 60}, 45  # gap: room for a panel's title
    height = margin["t"] + margin["b"] + panel * layers + gap * (layers - 1)
    figure = make_subplots(rows=layers, cols=heads, horizontal_spacing=0.03,
                           vertical_spacing=gap / (height - margin["t"] - margin["b"]),
                           subplot_titles=[f"layer {layer + 1} · head {head + 1}" if layers > 1
                                           else f"head {head + 1}"
                                           for layer in range(layers) for head in range(heads)])
    figure.update_annotations(font_size=13 if heads < 6 else 11)  # the panels' titles
    top = float(maps.max()) if maps.size else 1.0
    number = np.arange(1, patches + 1)
    for layer in range(layers):
        for head in range(heads):
            figure.add_trace(go.Heatmap(
                x=number, y=number, z=maps[layer, head], zmin=0.0, zmax=top, colorscale="Viridis",
                showscale=layer == 0 and head == heads - 1,
                colorbar={"title": {"text": "weight"}, "len": 0.8},
                hovertemplate=f"layer {layer + 1} head {head + 1}<br>query patch %{{y}}"
                              "<br>key patch %{x}<br>weight %{z:.4f}<extra></extra>"),
                row=layer + 1, col=head + 1)
            panel_index = layer * heads + head + 1
            figure.update_yaxes(scaleanchor=f"x{panel_index if panel_index > 1 else ''}",
                                row=layer + 1, col=head + 1)
    edges = [0.5, patches + 0.5]  # fixed ranges; squares by shrinking the panel, not the range
    figure.update_xaxes(**patch_ticks(patches, most=max(3, min(6, panel // 35))), showgrid=False,
                        range=edges, constrain="domain", showticklabels=False)
    figure.update_yaxes(**patch_ticks(patches), showgrid=False, range=edges[::-1], constrain="domain",
                        showticklabels=False)
    figure.update_xaxes(title_text="key patch", showticklabels=True, ticks="outside", row=layers)
    figure.update_yaxes(title_text="query patch", showticklabels=True, ticks="outside", col=1)
    figure.update_layout(**{**LAYOUT_DEFAULTS, "margin": margin},
                         title={"text": title, "x": 0, "font": {"size": 14}}, height=height)
    return figure


def format_dependence(value: float) -> str:
    """An input-dependence number for people: ``0.34``, or ``0`` below rounding level."""
    return "0" if value < NUMERICAL_ZERO else f"{value:.2g}"


def input_dependence_figure(frame: pd.DataFrame) -> go.Figure:
    """How much attention maps depend on the input, at initialisation and at the end, per run.

    Args:
        frame: one row per run with ``label``, ``model_name``, ``initial`` and ``final`` (the
            ``suite.report.analysis.input_dependence`` numbers).

    Returns:
        Grouped bars (initial, final) per run on a log axis; factored attention is exactly 0
        (input-independent by construction; below ``NUMERICAL_ZERO`` is rounding) and is drawn
        as a text label instead of a bar.
    """
    if frame.empty:
        return message_figure("No run with attention snapshots matches these filters.",
                              INPUT_DEPENDENCE_HEIGHT)
    figure = go.Figure()
    for stage, colour in (("initial", "#c7c7c7"), ("final", "#1f77b4")):
        values = frame[stage].astype(float)
        zero = values < NUMERICAL_ZERO
        figure.add_trace(go.Bar(
            x=frame["label"], y=values.where(~zero), name=f"{stage}",
            marker_color=colour,
            text=["" if z else format_dependence(v) for v, z in zip(values, zero, strict=True)],
            textposition="outside",
            hovertemplate="%{x}<br>" + stage + " input dependence %{y:.3g}<extra></extra>"))
    for label in frame.loc[(frame["initial"] < NUMERICAL_ZERO) & (frame["final"] < NUMERICAL_ZERO),
                           "label"]:
        figure.add_annotation(x=label, y=0, yref="paper", yanchor="bottom", showarrow=False,
                              text="0: input-independent")
    figure.update_layout(**LAYOUT_DEFAULTS, barmode="group", height=INPUT_DEPENDENCE_HEIGHT,
                         title={"text": "Input dependence of the attention maps", "x": 0,
                                "font": {"size": 14}})
    figure.update_xaxes(title_text="run (model · layers, width · run id)")
    figure.update_yaxes(type="log", title_text="relative spread over inputs",
                        exponentformat="power")
    return figure
