"""What the dashboard shows, read from a results directory: runs, asv history and references.

Everything here is plain pandas and the suite's own loaders; nothing imports Dash. Loading is
cached on the directory's contents (file names, sizes and modification times), so a page reload
after ``nqsbench run`` adds records shows them, and an unchanged directory is not read again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.report.analysis import input_dependence
from suite.report.asv_results import COLUMNS as ASV_COLUMNS
from suite.report.asv_results import load_asv_results
from suite.report.races import COMPARISON_COLUMNS, COMPARISONS_DIRECTORY, load_comparisons
from suite.report.records import RUNS_DIRECTORY, STATUS_COMPLETED, RecordError, load_runs, read_record
from suite.report.references import find_reference, load_published
from suite.report.tables import ATTENTION_NAMES, model_name

ASV_DIRECTORY = "asv"


@dataclass(frozen=True, eq=False)
class DashboardData:
    """One snapshot of a results directory.

    Attributes:
        results_dir: the directory read.
        runs: one row per run record (``suite.report.records.load_runs``' columns) plus ``run``, the
            record's file stem, which the dashboard's URLs use as the run id, and
            ``relative_error_uncertainty``.
        problems: one message per record file that could not be read (it names the file).
        asv: ``suite.report.asv_results.load_asv_results``' tidy frame (empty without asv results).
        asv_problem: why the asv results could not be read, or ``None``.
        signature: the file names, sizes and times this snapshot was read from.
        comparisons: ``suite.perf.netket.load_comparisons``' races against NetKet.
    """

    results_dir: Path
    runs: pd.DataFrame
    problems: tuple[str, ...]
    asv: pd.DataFrame
    asv_problem: str | None = None
    signature: tuple = ()
    comparisons: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=list(COMPARISON_COLUMNS)))

    @property
    def completed(self) -> pd.DataFrame:
        """The completed runs."""
        return self.runs[self.runs["status"] == STATUS_COMPLETED]


def _signature(results_dir: Path) -> tuple:
    entries = []
    for sub in (RUNS_DIRECTORY, ASV_DIRECTORY, COMPARISONS_DIRECTORY):
        directory = results_dir / sub
        if directory.is_dir():
            for path in sorted(directory.rglob("*.json")):
                stat = path.stat()
                entries.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


def load_data(results_dir: str | Path) -> DashboardData:
    """The runs and asv results under ``results_dir`` (re-read only when files changed)."""
    results_dir = Path(results_dir)
    return _load_cached(results_dir, _signature(results_dir))


@lru_cache(maxsize=4)
def _load_cached(results_dir: Path, signature: tuple) -> DashboardData:
    table = load_runs(results_dir)
    runs = table.frame.copy()
    runs["run"] = [Path(p).stem for p in runs["path"]]
    runs["model_name"] = runs.apply(model_name, axis=1) if not runs.empty else pd.Series(dtype=str)
    runs["relative_error_uncertainty"] = runs["energy_error"] / runs["reference_energy"].abs()
    comparisons, comparison_problems = load_comparisons(results_dir)
    problems = tuple(str(problem) for problem in table.problems) + tuple(comparison_problems)
    try:
        asv = load_asv_results(results_dir / ASV_DIRECTORY)
        asv_problem = None
    except Exception as error:  # asv's reader raises many types on a damaged file
        asv, asv_problem = pd.DataFrame(columns=list(ASV_COLUMNS)), (
            f"{results_dir / ASV_DIRECTORY}: the asv results could not be read ({error})")
    return DashboardData(results_dir, runs, problems, asv, asv_problem, signature, comparisons)


def read_run(data: DashboardData, run_id: str | None) -> dict[str, Any] | None:
    """The full record of run ``run_id`` (a record file stem), or ``None`` if there is none."""
    if not run_id:
        return None
    rows = data.runs[data.runs["run"] == run_id]
    if rows.empty:
        return None
    try:
        return read_record(Path(rows["path"].iloc[0]))
    except RecordError:
        return None


def run_label(row: pd.Series) -> str:
    """A run named for a menu: model, lattice, coupling, depth, device and when it finished."""
    finished = str(row["finished_at"] or "")[:16].replace("T", " ")
    return (f"{row['model_name']} · L={row['L']} J2/J1={row['J2']:g} · {row['layers']} layer(s) "
            f"d={row['d']} · {row['steps']} steps · {row['device']} · {finished} · {row['status']}")


def run_options(runs: pd.DataFrame) -> list[dict[str, str]]:
    """Dropdown options (label, value = run id) for ``runs``, newest first."""
    ordered = runs.sort_values("finished_at", ascending=False, na_position="last")
    return [{"label": run_label(row), "value": row["run"]} for _, row in ordered.iterrows()]


def attention_summary(data: DashboardData) -> pd.DataFrame:
    """The input dependence of every completed run with attention snapshots.

    Columns: ``run``, ``L``, ``J2``, ``layers``, ``model_name``, ``label``, ``initial`` and
    ``final`` (``suite.report.analysis.input_dependence`` of the maps at initialisation and at the end).
    """
    return _attention_summary_cached(data)


@lru_cache(maxsize=4)
def _attention_summary_cached(data: DashboardData) -> pd.DataFrame:
    rows = []
    for _, row in data.completed.iterrows():
        record = read_run(data, row["run"])
        attention = (record or {}).get("attention")
        if not attention:
            continue
        rows.append({
            "run": row["run"], "L": row["L"], "J2": row["J2"], "layers": row["layers"],
            "model_name": row["model_name"],
            "label": f"{row['model_name']} · {row['layers']}L d={row['d']} · {row['run'][:6]}",
            "initial": input_dependence(np.asarray(attention["initial"])),
            "final": input_dependence(np.asarray(attention["final"])),
        })
    columns = ["run", "L", "J2", "layers", "model_name", "label", "initial", "final"]
    return pd.DataFrame(rows, columns=columns)


def cell_label(params: dict[str, Any]) -> str:
    """``attention=t5 J2=0.5``: a benchmark cell named by its asv parameters."""
    return " ".join(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
                    for key, value in params.items())


def regression_changes(asv: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Every change beyond ``threshold`` between consecutive commits, per benchmark and cell.

    Args:
        asv: ``load_asv_results`` rows of one machine and environment.
        threshold: relative change that counts (e.g. 0.1).

    Returns:
        One row per flagged change: ``benchmark``, ``metric``, ``cell`` (:func:`cell_label`),
        ``commit``, ``commit_date``, ``previous`` and ``value``, and ``change`` (relative).
    """
    rows = []
    if not asv.empty:
        ordered = asv.sort_values("commit_date", kind="stable")
        for (benchmark, cell), group in ordered.groupby(["benchmark",
                                                         ordered["params"].map(cell_label)]):
            values = group["value"].to_numpy(dtype=float)
            finite = np.isfinite(values)
            previous = pd.Series(np.where(finite, values, np.nan)).ffill().shift().to_numpy()
            for i in np.flatnonzero(flag_changes(values, threshold)):
                rows.append({"benchmark": benchmark, "metric": group["metric"].iloc[i], "cell": cell,
                             "commit": group["commit"].iloc[i],
                             "commit_date": group["commit_date"].iloc[i],
                             "previous": previous[i], "value": values[i],
                             "change": values[i] / previous[i] - 1.0})
    columns = ["benchmark", "metric", "cell", "commit", "commit_date", "previous", "value", "change"]
    return pd.DataFrame(rows, columns=columns)


def published_points() -> pd.DataFrame:
    """Published variational results with their relative error against our reference.

    Columns: ``L``, ``J2``, ``label``, ``attention``, ``model_name``, ``layers``, ``energy``,
    ``energy_error``, ``relative_error``, ``relative_error_uncertainty``, ``n_parameters``,
    ``seconds_per_step``, ``device``, ``cost``, ``citation``, ``reference_id``. A result on a
    lattice without a reference has NaN relative error.
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
            "relative_error_uncertainty": (result.uncertainty or 0.0) / scale,
            "n_parameters": result.parameters, "seconds_per_step": result.seconds_per_step,
            "device": result.device, "cost": result.cost, "citation": result.citation,
            "reference_id": reference.id if reference else None,
        })
    return pd.DataFrame(rows)


def systems(runs: pd.DataFrame) -> list[tuple[int, float]]:
    """The (L, J2) pairs present in ``runs``, most runs first, then by L and J2."""
    if runs.empty:
        return []
    counts = runs.groupby(["L", "J2"]).size().reset_index(name="count")
    counts = counts.sort_values(["count", "L", "J2"], ascending=[False, True, True])
    return [(int(row.L), float(row.J2)) for row in counts.itertuples()]


def flag_changes(values: Sequence[float], threshold: float) -> np.ndarray:
    """Which entries changed by more than ``threshold`` (relative) from the previous finite one.

    Args:
        values: a metric in commit order (NaN where a benchmark failed or was skipped).
        threshold: a fraction, e.g. ``0.1`` for 10 %.

    Returns:
        A boolean array the length of ``values``; the first finite entry is never flagged.
    """
    values = np.asarray(values, dtype=float)
    flags = np.zeros(len(values), dtype=bool)
    previous = math.nan
    for i, value in enumerate(values):
        if not math.isfinite(value):
            continue
        if math.isfinite(previous):
            scale = abs(previous) if previous != 0 else abs(value)
            flags[i] = scale > 0 and abs(value - previous) / scale > threshold
        previous = value
    return flags
