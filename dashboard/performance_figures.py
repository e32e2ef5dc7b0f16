"""Pure figure builders of the Performance page: the race against NetKet and the scaling with L.

Like :mod:`dashboard.figures` (whose colours, layout and helpers they share): DataFrame in,
``plotly.graph_objects.Figure`` out, no Dash, no files, no computed results.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.colours import ENGINE_COLOURS
from dashboard.figures import LAYOUT_DEFAULTS, _ordered, message_figure, model_colour
from suite.report.models import display_model_name, model_details

SCALING_HEIGHT = 560
RACE_BAR_PIXELS = 34  # height per cell (two bars): the ratio text stays 12 px, never shrunk
RACE_MARGIN = {"l": 20, "r": 60, "t": 90, "b": 50}


def race_label(row: Any) -> str:
    """A race's cell named short for an axis: ``Decoupled 6×6 J2=0.5 4L f32``.

    The model (``model_name``; a row without one is a ViT named by its attention), lattice,
    coupling, number of layers (a ViT's) and the precision of sampling; the device is the page's
    choice and the full cell is in the hover.
    """
    model = _model(row)
    label = f"{_name(row)} {row.L}×{row.L} J2={row.J2:g}"
    if model == "vit":
        label += f" {row.layers}L"
    sampler = getattr(row, "sampler_dtype", None)
    if isinstance(sampler, str) and sampler:
        label += f" {sampler.replace('float', 'f')}"
    return label


def _model(row: Any) -> str:
    model = getattr(row, "model", None)
    return model if isinstance(model, str) and model else "vit"


def _name(row: Any) -> str:
    name = getattr(row, "model_name", None)
    if isinstance(name, str) and name:
        return name
    return display_model_name(_model(row), getattr(row, "model_options", None),
                              str(row.attention))


def race_labels(races: pd.DataFrame) -> list[str]:
    """:func:`race_label` of every row, made unique with the cell id where two would collide."""
    labels = [race_label(row) for row in races.itertuples()]
    repeated = {label for label in labels if labels.count(label) > 1}
    return [f"{label} · {row.cell_id[:6]}" if label in repeated else label
            for label, row in zip(labels, races.itertuples(), strict=True)]


def race_hover(row: Any) -> str:
    """The whole cell of a race, for the hover."""
    sampler = getattr(row, "sampler_dtype", None)
    return "<br>".join([
        f"<b>{row.label}</b>  (cell {row.cell_id})",
        f"{_name(row)}  L={row.L}  J2/J1={row.J2:g}  "
        + (f"layers={row.layers}  d={row.d}  heads={row.heads}" if _model(row) == "vit" else
           model_details({"model": _model(row), "alpha": getattr(row, "alpha", None),
                          "model_options": getattr(row, "model_options", None)})),
        f"samples={row.samples}  steps={row.steps}"
        + (f"  sampling in {sampler}" if isinstance(sampler, str) and sampler else ""),
        f"{row.device}",
        f"nqsbench / NetKet = {row.ratio:.3f}",
    ])


def race_figure(races: pd.DataFrame) -> go.Figure:
    """Seconds per step of nqsbench and its peer on the same cells, with the ratio beside.

    Args:
        races: ``suite.perf.netket.load_comparisons`` rows (the newest per cell and device).

    Returns:
        Horizontal grouped bars, one row per cell (short labels, :func:`race_labels`; the full
        cell in the hover), seconds per step on a log axis; the text beside nqsbench's bar is its
        time divided by the peer's (below 1: nqsbench is faster). The figure grows by
        ``RACE_BAR_PIXELS`` per cell, so bars and text keep their size however many cells.
    """
    if races.empty:
        return message_figure("No race yet: nqsbench compare netket --matrix smoke")
    labels = race_labels(races)
    hover = [race_hover(row) for row in races.itertuples()]
    figure = go.Figure()
    figure.add_trace(go.Bar(
        y=labels, x=races["ours_seconds_per_step"], orientation="h", name="nqsbench",
        marker_color=ENGINE_COLOURS["nqsbench"], text=[f"×{ratio:.2f}" for ratio in races["ratio"]],
        textposition="outside", constraintext="none", cliponaxis=False, textfont={"size": 12},
        customdata=hover, hovertemplate="%{customdata}<br>nqsbench %{x:.4g} s/step<extra></extra>"))
    figure.add_trace(go.Bar(
        y=labels, x=races["peer_seconds_per_step"], orientation="h", name="NetKet",
        marker_color=ENGINE_COLOURS["netket"],
        customdata=[f"{text}<br>NetKet {version}" for text, version
                    in zip(hover, races["peer_version"], strict=True)],
        hovertemplate="%{customdata}: %{x:.4g} s/step<extra></extra>"))
    height = RACE_MARGIN["t"] + RACE_MARGIN["b"] + RACE_BAR_PIXELS * len(labels) + 20
    figure.update_layout(**{**LAYOUT_DEFAULTS, "margin": RACE_MARGIN}, barmode="group",
                         height=max(height, 300), bargap=0.25, bargroupgap=0.05,
                         title={"text": "Seconds per step, same cell in both engines "
                                        "(text: nqsbench / NetKet)", "x": 0, "font": {"size": 14}})
    figure.update_xaxes(type="log", title_text="seconds per step (s, log scale)")
    figure.update_yaxes(title_text="cell: model, lattice, J2/J1, layers, sampling precision",
                        autorange="reversed", automargin=True)
    return figure


def scaling_figure(scaling: pd.DataFrame) -> go.Figure:
    """Seconds per step against L per attention type (the paper's figure 3, right).

    Args:
        scaling: ``suite.report.analysis.scaling_summary`` of one device's runs: ``model_name``,
            ``L``, ``seconds_per_step`` and ``relative`` (to Factored).

    Returns:
        One line per model on log axes; the bottom panel is each model's time divided by
        Factored's at the same L (where Factored ran there).
    """
    if scaling.empty:
        return message_figure("No scaling runs yet: nqsbench run --matrix scaling", SCALING_HEIGHT)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           row_heights=[0.65, 0.35],
                           subplot_titles=["seconds per step", "relative to Factored"])
    for model in _ordered(scaling["model_name"].unique()):
        line = scaling[scaling["model_name"] == model].sort_values("L")
        colour = model_colour(model)
        figure.add_trace(go.Scatter(x=line["L"], y=line["seconds_per_step"], name=model,
                                    mode="lines+markers", line={"color": colour},
                                    hovertemplate=f"{model}<br>L=%{{x}}: %{{y:.4g}} s/step"
                                                  "<extra></extra>"), row=1, col=1)
        relative = line.dropna(subset=["relative"])
        figure.add_trace(go.Scatter(x=relative["L"], y=relative["relative"], name=model,
                                    mode="lines+markers", line={"color": colour, "dash": "dot"},
                                    showlegend=False,
                                    hovertemplate=f"{model}<br>L=%{{x}}: ×%{{y:.2f}} Factored"
                                                  "<extra></extra>"), row=2, col=1)
    figure.update_yaxes(type="log", title_text="s", row=1, col=1)
    figure.update_yaxes(title_text="× Factored", row=2, col=1)
    figure.update_xaxes(title_text="L (lattice L × L)", tickmode="array",
                        tickvals=sorted(scaling["L"].unique()), row=2, col=1)
    figure.update_layout(**LAYOUT_DEFAULTS, height=SCALING_HEIGHT)
    return figure
