"""Pure builders of the self-learning Monte Carlo (SLMC) figures: acceptance against attention
layers and against parameters, and the loss the acceptance implies against parameters.

Like :mod:`dashboard.performance_figures`: :func:`suite.report.slmc_records.slmc_frame`'s frame
in, a ``plotly.graph_objects.Figure`` out; no Dash, no files. The numbers are the records' (the
loss from acceptance is :func:`suite.report.slmc.loss_from_acceptance`'s, computed when the run
was recorded) and the power law is :func:`suite.report.slmc.fit_power_law`'s; the figures only
draw them. Every seed is its own point (nothing is averaged), and the hover says so.

Points are grouped by lattice and temperature (and by the number of coupling shells where the
frame holds several); within a group the linear model and the Transformer are separate traces in
the group's colour, the linear one a square at 0 attention layers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures import LAYOUT_DEFAULTS, message_figure
from suite.report.slmc import PAPER_CITATION, PAPER_LINEAR_ACCEPTANCE, fit_power_law

SLMC_HEIGHT = 460
NO_RECORDS = "No SLMC records"
LINEAR_NAME = "linear"
TRANSFORMER_NAME = "Transformer"
PAPER_NAME = "paper, 6x6 linear"
FIT_PREFIX = "power law"
GROUP_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22")
SYMBOLS = {"linear": "square", "transformer": "circle"}
SEEDS_NOTE = "<i>each seed is its own point (not averaged)</i>"
ACCEPTANCE_AXIS = "outer acceptance (fraction of proposals)"
PARAMETERS_AXIS = "parameters of the effective model (count, log scale)"
LOSS_AXIS = "loss from acceptance (t², log scale)"


def group_keys(frame: pd.DataFrame) -> list[str]:
    """The columns that split ``frame`` into groups: L and temperature, and couplings where the
    frame holds more than one value of it."""
    keys = ["L", "temperature"]
    if frame["couplings"].nunique(dropna=True) > 1:
        keys.append("couplings")
    return keys


def group_label(keys: list[str], values: tuple) -> str:
    """A group named for a legend: ``6x6, T = 0.05`` (``, 3 shells`` with couplings)."""
    named = dict(zip(keys, values, strict=True))
    label = f"{named['L']}x{named['L']}, T = {named['temperature']:g}"
    if "couplings" in named:
        label += f", {named['couplings']} shells"
    return label


def _groups(frame: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(label, colour, rows) of each group, ordered by L, then temperature (then couplings)."""
    keys = group_keys(frame)
    groups = []
    for index, (values, rows) in enumerate(frame.groupby(keys, sort=True, dropna=False)):
        values = values if isinstance(values, tuple) else (values,)
        groups.append((group_label(keys, values), GROUP_COLOURS[index % len(GROUP_COLOURS)],
                       rows))
    return groups


def _model_rows(rows: pd.DataFrame, model: str) -> pd.DataFrame:
    """The rows of one effective model, by layers, then seed (each seed its own row)."""
    picked = rows[rows["effective_model"] == model]
    return picked.sort_values(["layers", "seed"], kind="stable")


def _trace_name(model: str, label: str, several: bool) -> str:
    name = LINEAR_NAME if model == "linear" else TRANSFORMER_NAME
    return f"{name}, {label}" if several else name


def _number(value: Any, spec: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not math.isfinite(number) else format(number, spec)


def point_hover(row: Any) -> str:
    """One seed's point: its model, physics, seed, the measured numbers, and that it is one seed."""
    model = LINEAR_NAME if row.effective_model == "linear" else (
        f"{TRANSFORMER_NAME}, {row.layers} attention layer(s)")
    return "<br>".join([
        f"<b>{model}</b> · {row.L}x{row.L}, T = {row.temperature:g}, J = {_number(row.J, 'g')}, "
        f"mu = {_number(row.mu, 'g')}, {row.couplings} coupling shells",
        f"seed {row.seed} · {_number(row.n_parameters, ',.0f')} parameters",
        f"acceptance = {_number(row.acceptance, '.4f')} ± {_number(row.acceptance_error, '.4f')}"
        f" · inner {_number(row.inner_acceptance, '.3f')}",
        f"loss from acceptance = {_number(row.loss_from_acceptance, '.4g')} · test MSE = "
        f"{_number(row.test_mse, '.4g')} (linear {_number(row.linear_test_mse, '.4g')})",
        f"{row.cell_id} · {row.device if isinstance(row.device, str) else 'unknown device'}",
        SEEDS_NOTE,
    ])


def _errors(rows: pd.DataFrame) -> dict:
    values = pd.to_numeric(rows["acceptance_error"], errors="coerce")
    return {"type": "data", "array": [None if math.isnan(v) else float(v) for v in values],
            "visible": True}


def _points(rows: pd.DataFrame, x: pd.Series, model: str, name: str, colour: str,
            mode: str = "markers") -> go.Scatter:
    return go.Scatter(
        x=[float(v) for v in x], y=[float(v) for v in rows["acceptance"]], mode=mode, name=name,
        error_y=_errors(rows), meta={"model": model},
        marker={"color": colour, "size": 10 if model == "linear" else 9,
                "symbol": SYMBOLS.get(model, "circle")},
        line={"color": colour, "width": 1.5},
        hovertext=[point_hover(row) for row in rows.itertuples()], hoverinfo="text")


def _paper_line(x_range: tuple[float, float]) -> go.Scatter:
    """The paper's linear acceptance on 6x6 as a dashed horizontal line across ``x_range``."""
    text = (f"<b>{PAPER_NAME}</b>: acceptance ≈ {PAPER_LINEAR_ACCEPTANCE:.2f}, the published "
            f"value (not a record of this suite)<br>{PAPER_CITATION}")
    return go.Scatter(x=list(x_range), y=[PAPER_LINEAR_ACCEPTANCE] * 2, mode="lines",
                      name=f"{PAPER_NAME} ({PAPER_LINEAR_ACCEPTANCE:.2f}, Nagai & Tomiya)",
                      meta={"model": "paper"}, line={"color": "#555555", "dash": "dash",
                                                     "width": 1.5},
                      hovertext=[text, text], hoverinfo="text")


def _layout(figure: go.Figure, title: str, subtitle: str) -> go.Figure:
    figure.update_layout(
        **{**LAYOUT_DEFAULTS, "margin": {"l": 70, "r": 20, "t": 120, "b": 60}},
        height=SLMC_HEIGHT,
        title={"x": 0, "font": {"size": 14}, "text": f"{title}<br><sup>{subtitle}</sup>"})
    return figure


def _acceptance_traces(frame: pd.DataFrame, x: str, *, join: bool) -> go.Figure:
    """Per group and model, each seed's acceptance against column ``x``; with ``join``, the
    Transformer's points joined in order when each x holds one seed."""
    figure = go.Figure()
    groups = _groups(frame)
    several = len(groups) > 1
    for label, colour, rows in groups:
        for model in ("linear", "transformer"):
            picked = _model_rows(rows, model)
            if picked.empty:
                continue
            joined = (join and model == "transformer" and picked[x].is_unique
                      and len(picked) > 1)
            figure.add_trace(_points(picked, picked[x], model, _trace_name(model, label, several),
                                     colour, "lines+markers" if joined else "markers"))
    return figure


def acceptance_vs_layers(frame: pd.DataFrame) -> go.Figure:
    """The outer acceptance against the number of attention layers (the paper's figure 4, left).

    Args:
        frame: :func:`suite.report.slmc_records.slmc_frame`'s rows.

    Returns:
        Per group (:func:`group_keys`), a ``"linear"`` trace (squares at x = 0) and a
        ``"Transformer"`` trace (circles joined in order of layers), each seed its own point
        with its acceptance error bar; the group is named in the trace names when there are
        several. A dashed :data:`PAPER_NAME` line at the paper's 0.21. An empty frame: a
        :data:`NO_RECORDS` message.
    """
    if frame.empty:
        return message_figure(f"{NO_RECORDS} yet", SLMC_HEIGHT)
    figure = _acceptance_traces(frame, "layers", join=True)
    layers = pd.to_numeric(frame["layers"], errors="coerce")
    figure.add_trace(_paper_line((min(0.0, layers.min()) - 0.4, max(1.0, layers.max()) + 0.4)))
    figure.update_xaxes(title_text="attention layers (0: the linear model)", tickmode="linear",
                        dtick=1, zeroline=False)
    figure.update_yaxes(title_text=ACCEPTANCE_AXIS, rangemode="tozero")
    return _layout(figure, "SLMC acceptance against attention layers",
                   "each seed its own point, error bars: autocorrelation-aware · dashed: "
                   "the paper's linear model on 6x6")


def acceptance_vs_parameters(frame: pd.DataFrame) -> go.Figure:
    """The outer acceptance against the effective model's parameter count (log x).

    Args:
        frame: :func:`suite.report.slmc_records.slmc_frame`'s rows.

    Returns:
        The traces of :func:`acceptance_vs_layers` with the parameter count as x on a log axis,
        and the paper's linear 6x6 line. An empty frame: a :data:`NO_RECORDS` message.
    """
    if frame.empty:
        return message_figure(f"{NO_RECORDS} yet", SLMC_HEIGHT)
    figure = _acceptance_traces(frame, "n_parameters", join=False)
    parameters = pd.to_numeric(frame["n_parameters"], errors="coerce")
    parameters = parameters[parameters > 0]
    if not parameters.empty:
        figure.add_trace(_paper_line((parameters.min() / 1.5, parameters.max() * 1.5)))
    figure.update_xaxes(type="log", title_text=PARAMETERS_AXIS)
    figure.update_yaxes(title_text=ACCEPTANCE_AXIS, rangemode="tozero")
    return _layout(figure, "SLMC acceptance against parameters",
                   "each seed its own point · squares: linear, circles: Transformer")


def _fittable(rows: pd.DataFrame) -> pd.DataFrame:
    """The Transformer rows with a positive parameter count and loss (an acceptance of 0 has no
    finite loss)."""
    picked = rows[rows["effective_model"] == "transformer"]
    parameters = pd.to_numeric(picked["n_parameters"], errors="coerce")
    loss = pd.to_numeric(picked["loss_from_acceptance"], errors="coerce")
    return picked[(parameters > 0) & (loss > 0) & np.isfinite(loss)]


def loss_scaling(frame: pd.DataFrame) -> go.Figure:
    """The loss from acceptance against parameters on log-log axes (the paper's figure 4,
    right), with a power law fitted to each group's Transformer points.

    Args:
        frame: :func:`suite.report.slmc_records.slmc_frame`'s rows.

    Returns:
        Per group, the linear and Transformer points (each seed its own), and where the group's
        Transformer points have at least two distinct parameter counts, the line of
        :func:`fit_power_law` over them, named ``"power law ... ∝ N^exponent"`` and carrying
        ``meta = {"exponent", "prefactor", "points"}``. Groups without a fit are named in the
        title. Rows without a finite positive loss (acceptance 0) are left out, and counted in
        the title. An empty frame: a :data:`NO_RECORDS` message.
    """
    if frame.empty:
        return message_figure(f"{NO_RECORDS} yet", SLMC_HEIGHT)
    loss = pd.to_numeric(frame["loss_from_acceptance"], errors="coerce")
    parameters = pd.to_numeric(frame["n_parameters"], errors="coerce")
    usable = frame[(loss > 0) & np.isfinite(loss) & (parameters > 0)]
    if usable.empty:
        return message_figure("No SLMC record with a positive acceptance: no loss to plot",
                              SLMC_HEIGHT)
    figure = go.Figure()
    groups = _groups(usable)
    several = len(groups) > 1
    unfitted = []
    for label, colour, rows in groups:
        for model in ("linear", "transformer"):
            picked = _model_rows(rows, model)
            if picked.empty:
                continue
            trace = _points(picked, picked["n_parameters"], model,
                            _trace_name(model, label, several), colour)
            trace.update(y=[float(v) for v in picked["loss_from_acceptance"]], error_y=None)
            figure.add_trace(trace)
        fitted = _fittable(rows)
        if fitted["n_parameters"].nunique() < 2:
            unfitted.append(label)
            continue
        law = fit_power_law(fitted["n_parameters"].to_numpy(float),
                            fitted["loss_from_acceptance"].to_numpy(float))
        xs = np.geomspace(fitted["n_parameters"].min(), fitted["n_parameters"].max(), 50)
        name = f"{FIT_PREFIX}{', ' + label if several else ''}: loss ∝ N^{law.exponent:.3f}"
        text = (f"<b>{name}</b><br>prefactor {law.prefactor:.4g} · {law.points} Transformer "
                "point(s), least squares in log-log")
        figure.add_trace(go.Scatter(
            x=list(xs), y=list(law(xs)), mode="lines", name=name,
            meta={"model": "fit", "exponent": law.exponent, "prefactor": law.prefactor,
                  "points": law.points},
            line={"color": colour, "dash": "dot", "width": 2}, hovertext=[text] * len(xs),
            hoverinfo="text"))
    figure.update_xaxes(type="log", title_text=PARAMETERS_AXIS)
    figure.update_yaxes(type="log", title_text=LOSS_AXIS)
    notes = ["loss = (2 erfcinv(A) / β)²"]
    if len(unfitted) < len(groups):
        notes.append("dotted: power law fitted to the Transformer points (least squares in "
                     "log-log)")
    if unfitted:
        notes.append("no power-law fit" + ("" if not several else f" for {'; '.join(unfitted)}")
                     + ": fewer than two distinct Transformer parameter counts")
    if len(usable) < len(frame):
        notes.append(f"{len(frame) - len(usable)} record(s) without a finite loss left out")
    return _layout(figure, "Loss from acceptance against parameters", " · ".join(notes))


__all__ = ["NO_RECORDS", "PAPER_NAME", "SLMC_HEIGHT", "acceptance_vs_layers",
           "acceptance_vs_parameters", "group_keys", "loss_scaling"]
