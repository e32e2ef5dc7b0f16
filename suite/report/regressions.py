"""Per-commit changes in asv's results, found by asv's own step detection.

``asv publish`` fits a piecewise-constant function to each benchmark's series of values in commit
order (:func:`asv.step_detect.detect_steps`: an L1 Potts model whose penalty is chosen from the
data, so a lone noisy commit is not a step) and lists as regressions the upward steps that
still separate the best value from the latest (:func:`asv.step_detect.detect_regressions`). This
module runs the same two functions on :func:`suite.report.asv_results.load_asv_results`' frame:
every step between two fitted levels is a change, kept when its relative size exceeds a
threshold, and called a regression or an improvement from the metric's direction.

Pure pandas and asv; nothing here imports JAX or Dash.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

# metric (``load_asv_results``' short name) -> True when a lower value is better; metrics not
# listed (parameters) have no better direction: their changes are neither regressions nor
# improvements
LOWER_IS_BETTER: dict[str, bool] = {
    "seconds_per_step": True,
    "energy_error": True,
    "compile_seconds": True,
    "peak_bytes": True,
    "seconds_per_slmc_step": True,
    "seconds_per_exact_sweep": True,
    "acceptance": False,
}
REGRESSION = "regression"
IMPROVEMENT = "improvement"
CHANGE = "change"

CHANGE_COLUMNS: tuple[str, ...] = (
    "machine", "environment", "benchmark", "metric", "cell", "commit", "commit_date",
    "previous_commit", "previous", "value", "change", "kind", "latest",
)
"""Columns of :func:`detect_changes`: one row per step.

``commit`` is the first commit of the new level and ``previous_commit`` the last measured commit
before it; ``previous`` and ``value`` are asv's fitted levels before and after the step (medians
of their segments), ``change`` is ``value / previous - 1``, ``kind`` is ``"regression"``,
``"improvement"`` or ``"change"`` (a metric with no better direction), and ``latest`` says whether
``asv publish`` would list the step as a regression still present at the latest commit
(:func:`asv.step_detect.detect_regressions` with the same threshold).
"""


def cell_label(params: dict[str, Any]) -> str:
    """``attention=t5 J2=0.5``: a benchmark cell named by its asv parameters."""
    return " ".join(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
                    for key, value in params.items())


def _series_changes(values: Sequence[float], threshold: float, lower_is_better: bool | None,
                    ) -> list[dict[str, Any]]:
    """The steps of one series larger than ``threshold``, as row fragments (positions, levels)."""
    from asv.step_detect import detect_regressions, detect_steps

    clean = [float(v) if v is not None and math.isfinite(float(v)) else math.nan for v in values]
    if not any(math.isfinite(v) for v in clean):
        return []
    steps = detect_steps(clean)
    latest: set[int] = set()
    if lower_is_better is not None:
        oriented = steps if lower_is_better else [
            (left, right, -level, -low, error) for left, right, level, low, error in steps]
        _, _, jumps = detect_regressions(oriented, threshold)
        latest = {after for _, after, _, _ in jumps or []}
    rows = []
    for (_, previous_end, before, _, _), (start, _, after, _, _) in zip(steps, steps[1:],
                                                                          strict=False):
        if before == 0 or not abs(after / before - 1.0) > threshold:
            continue
        worse = after > before if lower_is_better else after < before
        kind = CHANGE if lower_is_better is None else REGRESSION if worse else IMPROVEMENT
        rows.append({"position": start, "previous_position": previous_end - 1,
                     "previous": float(before), "value": float(after),
                     "change": float(after / before - 1.0), "kind": kind,
                     "latest": start in latest})
    return rows


def detect_changes(asv: pd.DataFrame, threshold: float = 0.05) -> pd.DataFrame:
    """Every step asv detects in each benchmark cell whose relative size exceeds ``threshold``.

    Args:
        asv: rows of :func:`suite.report.asv_results.load_asv_results` (any machines and
            environments: each (machine, environment, benchmark, cell) is its own series, in
            commit-date order; the loader's ``environment`` is already the series, so a commit
            range's results and ``-E installed:same`` or ``--python=same`` results of the same
            machine and Python version form one series).
        threshold: the relative change a step must exceed to be listed (``0.1``: 10 %).

    Returns:
        One row per listed step with :data:`CHANGE_COLUMNS`, ordered by machine, environment,
        benchmark, cell and commit date.
    """
    rows: list[dict[str, Any]] = []
    if not asv.empty:
        ordered = asv.sort_values("commit_date", kind="stable")
        ordered = ordered.assign(cell=ordered["params"].map(cell_label))
        keys = ["machine", "environment", "benchmark", "cell"]
        for (machine, environment, benchmark, cell), group in ordered.groupby(
                keys, sort=True, dropna=False):
            metric = group["metric"].iloc[0]
            for change in _series_changes(group["value"].to_numpy(dtype=float), threshold,
                                          LOWER_IS_BETTER.get(metric)):
                at, before = change.pop("position"), change.pop("previous_position")
                rows.append({"machine": machine, "environment": environment,
                             "benchmark": benchmark, "metric": metric, "cell": cell,
                             "commit": group["commit"].iloc[at],
                             "commit_date": group["commit_date"].iloc[at],
                             "previous_commit": group["commit"].iloc[before], **change})
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))
