"""Numbers derived from records without JAX: how input-dependent attention maps are, the Pareto
front of error against cost, published results against our references, and cost against lattice
size. Pure functions: arrays or DataFrames in, numbers or DataFrames out; the dashboard only
draws what they return."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from suite.report.models import ATTENTION_NAMES
from suite.report.records import STATUS_COMPLETED, RecordError, RunRecord, read_record
from suite.report.references import find_reference, load_published

ATTENTION_SUMMARY_COLUMNS: tuple[str, ...] = ("run", "L", "J2", "attention", "layers", "d",
                                              "seed", "steps", "model_name", "initial", "final")
PUBLISHED_COLUMNS: tuple[str, ...] = (
    "L", "J2", "label", "attention", "layers", "model_name", "energy", "energy_error",
    "relative_error", "relative_error_uncertainty", "n_parameters", "seconds_per_step", "device",
    "cost", "citation", "reference_id")
SCALING_BASELINE = "Factored"
NUMERICAL_ZERO = 1e-9
"""an :func:`input_dependence` below this is rounding (records keep 6 decimals): shown as 0"""


def input_dependence(maps: np.ndarray) -> float:
    """How much the maps vary with the input: the largest, over layers and heads, of the mean
    absolute deviation from the configuration-averaged map, relative to that map's mean
    absolute value (0 for input-independent attention)."""
    maps = np.asarray(maps, dtype=float)
    mean = maps.mean(axis=0, keepdims=True)
    deviation = np.abs(maps - mean).mean(axis=(0, 3, 4))
    scale = np.abs(mean).mean(axis=(0, 3, 4))
    return float(np.max(deviation / np.where(scale > 0, scale, 1.0)))


def attention_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """The input dependence of every completed run whose record has attention snapshots.

    Args:
        runs: rows of ``suite.report.rows.load_runs`` with ``run`` (the run id) added (and
            ``model_name``, which ``load_runs`` has); each row's ``path`` is read again for its
            attention maps. ``attention``, ``seed`` and ``steps`` are copied where present.

    Returns:
        :data:`ATTENTION_SUMMARY_COLUMNS`: ``initial`` and ``final`` are
        :func:`input_dependence` of the maps at initialisation and at the end. Records that
        cannot be read any more are left out.
    """
    rows = []
    for _, row in runs[runs["status"] == STATUS_COMPLETED].iterrows():
        try:
            record = read_record(Path(row["path"]))
        except RecordError:
            continue
        attention = record.attention if isinstance(record, RunRecord) else None
        if not attention:
            continue
        rows.append({
            "run": row["run"], "L": row["L"], "J2": row["J2"],
            "attention": row.get("attention"), "layers": row["layers"], "d": row["d"],
            "seed": row.get("seed"), "steps": row.get("steps"), "model_name": row["model_name"],
            "initial": input_dependence(np.asarray(attention["initial"])),
            "final": input_dependence(np.asarray(attention["final"])),
        })
    return pd.DataFrame(rows, columns=list(ATTENTION_SUMMARY_COLUMNS))


def pareto_front(frame: pd.DataFrame, x: str, y: str) -> pd.Series:
    """Which rows are on the Pareto front of minimal ``x`` (cost) and minimal ``y`` (error).

    A row is on the front when no other row is at least as good in both and better in one. Rows
    with a missing or non-finite ``x`` or ``y`` are never on it.

    Returns:
        A boolean Series aligned with ``frame``'s index.
    """
    on_front = pd.Series(False, index=frame.index)
    values = frame[[x, y]].apply(pd.to_numeric, errors="coerce").astype(float)
    finite = values[np.isfinite(values).all(axis=1)]
    best_y = math.inf
    for index, row in finite.sort_values([x, y]).iterrows():
        if row[y] < best_y:
            on_front[index] = True
            best_y = row[y]
    return on_front


def pareto_fronts(frame: pd.DataFrame, x: str, y: str, by: str | None = None) -> pd.Series:
    """:func:`pareto_front` within each group of equal ``by`` (one front over all rows when
    ``by`` is ``None``); rows with a missing ``by`` are on no front."""
    if by is None:
        return pareto_front(frame, x, y)
    on_front = pd.Series(False, index=frame.index)
    for _, group in frame.groupby(by):
        on_front |= pareto_front(group, x, y).reindex(frame.index, fill_value=False)
    return on_front


def relative_error_uncertainty(energy_error, reference_energy):
    """One standard error of the relative energy error: ``energy_error / |reference_energy|``
    (numbers or aligned Series; NaN without a reference)."""
    return energy_error / abs(reference_energy)


def published_points() -> pd.DataFrame:
    """Published variational results with their relative error against our reference.

    Returns:
        :data:`PUBLISHED_COLUMNS`. A result on a lattice without a reference has NaN relative
        error and uncertainty.
    """
    rows = []
    for result in load_published():
        reference = find_reference(result.L, result.J2)
        scale = abs(reference.energy_per_site) if reference else math.nan
        rows.append({
            "L": result.L, "J2": result.J2, "label": result.label,
            "attention": result.attention, "layers": result.layers,
            "model_name": ATTENTION_NAMES.get(result.attention or "", "other"),
            "energy": result.energy_per_site, "energy_error": result.uncertainty,
            "relative_error": (reference.relative_error(result.energy_per_site)
                               if reference else math.nan),
            "relative_error_uncertainty": relative_error_uncertainty(result.uncertainty or 0.0,
                                                                     scale),
            "n_parameters": result.parameters, "seconds_per_step": result.seconds_per_step,
            "device": result.device, "cost": result.cost, "citation": result.citation,
            "reference_id": reference.id if reference else None,
        })
    return pd.DataFrame(rows, columns=list(PUBLISHED_COLUMNS))


def scaling_summary(runs: pd.DataFrame, baseline: str = SCALING_BASELINE) -> pd.DataFrame:
    """Seconds per step against lattice size per model (the paper's figure 3, right).

    Args:
        runs: runs of one device with ``model_name``, ``L`` and ``seconds_per_step``.
        baseline: the model the others are compared with.

    Returns:
        One row per (model, L): ``model_name``, ``L``, ``seconds_per_step`` (the median over
        runs) and ``relative`` (that time divided by ``baseline``'s at the same L; NaN where
        the baseline did not run).
    """
    columns = ["model_name", "L", "seconds_per_step", "relative"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    timing = runs.groupby(["model_name", "L"], as_index=False)["seconds_per_step"].median()
    base = timing[timing["model_name"] == baseline].set_index("L")["seconds_per_step"]
    timing["relative"] = timing["seconds_per_step"] / timing["L"].map(base)
    return timing[columns]
