"""Pure builders of the time-to-target races against NetKet: the seeds' seconds, and the table.

Like :mod:`dashboard.performance_figures`: a race record
(:class:`suite.report.target_races.TargetRaceRecord`) in, a ``plotly.graph_objects.Figure`` or
JSON-ready rows out; no Dash, no files. The medians, quartiles and ratios are
:func:`suite.report.target_races.summarise`'s and :func:`~suite.report.target_races.ratio`'s;
the figure only draws them beside the seeds they come from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.colours import engine_colour
from dashboard.figures import LAYOUT_DEFAULTS, message_figure
from suite.report.target_races import (
    TargetRaceRecord,
    bounded_ratio,
    seed_outcome,
    summarise,
)

ENGINE_NAMES = {"nqsbench": "nqsbench", "netket": "NetKet"}
POINT_COLUMNS = ("target", "label", "engine", "setting", "seed", "seconds", "reached", "steps",
                 "run_steps", "diverged")
TARGET_RACE_HEIGHT = 460
LOG_SPREAD = 10.0  # a panel's seconds spanning more than this factor get a log axis
JITTER = 0.16  # half the spread of one column's seeds, in columns
MEDIAN_HALF_WIDTH = 0.32  # half the width of the median's mark, in columns
MEDIAN_NAME = "median"
OPEN, FILLED = "circle-open", "circle"


def target_key(target: float) -> str:
    """A target as the record's ``runs[].targets`` keys it (``1e-03``)."""
    return f"{target:.0e}"


def engine_label(engine: str, setting: str) -> str:
    """An engine and its setting named for an axis: ``NetKet tutorial``."""
    return f"{ENGINE_NAMES.get(engine, engine)} {setting}"


def race_title(record: TargetRaceRecord) -> str:
    """The race named: its cell's label, the reference (id and kind) and the device."""
    reference = record.reference or {}
    return (f"{record.label or record.cell_id} · reference {reference.get('id')} "
            f"({reference.get('kind')}) · {record.environment.get('device') or 'unknown device'}")


def race_points(record: TargetRaceRecord) -> pd.DataFrame:
    """One row per target, engine, setting and seed (in the record's orders).

    Columns :data:`POINT_COLUMNS`: ``seconds`` and ``steps`` to the target where the seed
    reached it (``reached``), else the budget's (:func:`seed_outcome`, as :func:`summarise`
    counts it); ``run_steps`` the steps the seed ran; ``label`` :func:`engine_label`.
    """
    rows = []
    for target in record.targets:
        key = target_key(target)
        for entry in record.engines:
            for run in entry["runs"]:
                seconds, steps, reached = seed_outcome(run, key, record.budget)
                rows.append({
                    "target": target, "label": engine_label(entry["engine"], entry["setting"]),
                    "engine": entry["engine"], "setting": entry["setting"], "seed": run.get("seed"),
                    "seconds": seconds, "reached": reached, "steps": steps,
                    "run_steps": run.get("steps"), "diverged": bool(run.get("diverged"))})
    return pd.DataFrame(rows, columns=list(POINT_COLUMNS))


def _offsets(n: int) -> np.ndarray:
    """Where a column's ``n`` seeds sit across it: evenly spread, the same every time."""
    return np.zeros(n) if n < 2 else np.linspace(-JITTER, JITTER, n)


def _point_hover(row: Any) -> str:
    head = f"<b>{row.label}</b> · seed {row.seed} · target {target_key(row.target)}"
    if row.reached:
        body = f"reached after {row.seconds:.4g} s, {row.steps} steps"
    else:
        body = (f"not reached in {row.run_steps} steps (counts as the budget): "
                f"{row.seconds:.4g} s" + (" · diverged" if row.diverged else ""))
    return f"{head}<br>{body}"


def _median_hover(row: Any, label: str) -> str:
    bound = ">" if row.censored else ""
    return (f"<b>{label}</b> · target {target_key(row.target)}<br>"
            f"median {bound}{row.median_seconds:.4g} s (q1-q3 {row.q1_seconds:.3g}-"
            f"{row.q3_seconds:.3g}), {row.median_steps:.0f} steps<br>"
            f"reached by {row.reached}/{row.seeds} seeds · {row.seconds_per_step:.3g} s/step")


def log_axis(seconds: pd.Series) -> bool:
    """Whether seconds spread over more than :data:`LOG_SPREAD` (all positive: a log axis fits)."""
    values = seconds[np.isfinite(seconds)]
    return bool(len(values) and values.min() > 0
                and values.max() > LOG_SPREAD * values.min())


def target_race_figure(record: TargetRaceRecord) -> go.Figure:
    """Every seed's seconds to each target, per engine and setting, and their medians.

    Args:
        record: one time-to-target race.

    Returns:
        One panel per target (the record's order); in each, a column per engine and setting
        (x: :func:`engine_label`), one marker trace per column named by it, its seeds' seconds
        filled where the seed reached the target and open at the budget's seconds where it
        did not (:func:`seed_outcome`; the hover says so), and one ``"median"`` trace of
        horizontal marks at :func:`summarise`'s medians. The y axis of a panel is logarithmic
        where its seconds span more than :data:`LOG_SPREAD`. Colours are the engines' (:func:`engine_colour`).
    """
    points = race_points(record)
    if points.empty:
        return message_figure(f"No seed runs in the race on {race_title(record)}",
                              TARGET_RACE_HEIGHT)
    summaries = summarise(record)
    labels = list(dict.fromkeys(points["label"]))
    targets = list(record.targets)
    figure = make_subplots(rows=1, cols=len(targets), horizontal_spacing=0.07,
                           subplot_titles=[f"relative error {target_key(t)}" for t in targets])
    for col, target in enumerate(targets, start=1):
        panel = points[points["target"] == target]
        for x, label in enumerate(labels):
            seeds = panel[panel["label"] == label]
            if seeds.empty:
                continue
            colour = engine_colour(seeds["engine"].iloc[0])
            figure.add_trace(go.Scatter(
                x=x + _offsets(len(seeds)), y=seeds["seconds"], mode="markers", name=label,
                legendgroup=label, showlegend=False, meta={"target": target},
                marker={"color": colour, "size": 9, "line": {"color": colour, "width": 1.5},
                        "symbol": [FILLED if hit else OPEN for hit in seeds["reached"]]},
                hovertext=[_point_hover(row) for row in seeds.itertuples()], hoverinfo="text"),
                row=1, col=col)
        xs, ys, hover = [], [], []
        for row in (s for s in summaries if s.target == target):
            label = engine_label(row.engine, row.setting)
            if label not in labels:
                continue
            x = labels.index(label)
            text = _median_hover(row, label)
            xs += [x - MEDIAN_HALF_WIDTH, x + MEDIAN_HALF_WIDTH, None]
            ys += [row.median_seconds, row.median_seconds, None]
            hover += [text, text, None]
        figure.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", name=MEDIAN_NAME, showlegend=False, meta={"target": target},
            line={"color": "#333333", "width": 3}, hovertext=hover, hoverinfo="text"),
            row=1, col=col)
        log = log_axis(panel["seconds"])
        figure.update_yaxes(type="log" if log else "linear", row=1, col=col,
                            title_text="seconds to target (s" + (", log scale)" if log else ")"))
        figure.update_xaxes(tickmode="array", tickvals=list(range(len(labels))), ticktext=labels,
                            range=[-0.6, len(labels) - 0.4], title_text="engine and setting",
                            row=1, col=col)
    figure.update_layout(
        **{**LAYOUT_DEFAULTS, "margin": {"l": 60, "r": 20, "t": 110, "b": 60}},
        height=TARGET_RACE_HEIGHT, showlegend=False,
        title={"x": 0, "font": {"size": 14}, "text": (
            f"Seconds to target per seed: {race_title(record)}<br><sup>filled: reached · open: "
            "not reached, counted as the budget · bar: median</sup>")})
    return figure


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def summary_rows(record: TargetRaceRecord) -> list[dict[str, Any]]:
    """:func:`summarise`'s rows, JSON-ready (missing or non-finite values are ``None``), each
    with its ``ratio`` (nqsbench / NetKet by median seconds, against the same target's rows;
    ``None`` when both medians are bounds) and ``ratio_bound`` (:func:`bounded_ratio`)."""
    rows = summarise(record)
    out = []
    for row in rows:
        value, bound = bounded_ratio(row, [r for r in rows if r.target == row.target])
        out.append({
            "target": target_key(row.target), "engine": ENGINE_NAMES.get(row.engine, row.engine),
            "setting": row.setting, "reached": f"{row.reached}/{row.seeds}",
            "median_seconds": _number(row.median_seconds), "censored": row.censored,
            "quartiles": f"{row.q1_seconds:.3g}-{row.q3_seconds:.3g}",
            "median_steps": _number(row.median_steps),
            "seconds_per_step": _number(row.seconds_per_step),
            "ratio": _number(value), "ratio_bound": bound,
            "final_energy": _number(row.final_energy), "exact_energy": _number(row.exact_energy)})
    return out
