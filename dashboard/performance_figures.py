"""Pure figure builders of the Performance page: the race against NetKet and the scaling with L.

Like :mod:`dashboard.figures` (whose colours, layout and helpers they share): DataFrame in,
``plotly.graph_objects.Figure`` out, no Dash, no files, no computed results.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures import LAYOUT_DEFAULTS, _ordered, message_figure, model_colour


def race_figure(races: pd.DataFrame) -> go.Figure:
    """Seconds per step of nqsbench and its peer on the same cells, with the ratio on top.

    Args:
        races: ``suite.perf.netket.load_comparisons`` rows (the newest per cell and device).

    Returns:
        Grouped bars per cell (log axis); the text over nqsbench's bar is its time divided by
        the peer's (below 1: nqsbench is faster).
    """
    if races.empty:
        return message_figure("No race yet: nqsbench compare netket --matrix smoke")
    labels = [f"{row.label} L={row.L} · {row.device}" for row in races.itertuples()]
    figure = go.Figure()
    figure.add_trace(go.Bar(
        x=labels, y=races["ours_seconds_per_step"], name="nqsbench", marker_color="#1f77b4",
        text=[f"×{ratio:.2f}" for ratio in races["ratio"]], textposition="outside",
        hovertemplate="%{x}<br>nqsbench %{y:.4g} s/step<extra></extra>"))
    figure.add_trace(go.Bar(
        x=labels, y=races["peer_seconds_per_step"], name="NetKet", marker_color="#ff7f0e",
        customdata=races["peer_version"],
        hovertemplate="%{x}<br>NetKet %{customdata}: %{y:.4g} s/step<extra></extra>"))
    figure.update_layout(**LAYOUT_DEFAULTS, barmode="group", height=440,
                         title={"text": "Seconds per step, same cell in both engines "
                                        "(text: nqsbench / NetKet)", "x": 0, "font": {"size": 14}})
    figure.update_yaxes(type="log", title_text="seconds per step")
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
        return message_figure("No scaling runs yet: nqsbench run --matrix scaling")
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
    figure.update_layout(**LAYOUT_DEFAULTS, height=560)
    return figure
