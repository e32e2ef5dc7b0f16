"""What the dashboard shows, read from a results directory: runs, asv history, races, references.

Everything here is plain pandas and ``suite.report``'s loaders and analysis; nothing imports
Dash and nothing computes a result itself. Loading is cached on the directory's contents (file
names, sizes and modification times), so a page reload after ``nqsbench run`` adds records shows
them, and an unchanged directory is not read again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from suite.report import analysis
from suite.report.asv_results import COLUMNS as ASV_COLUMNS
from suite.report.asv_results import load_asv_results
from suite.report.models import model_details
from suite.report.races import COMPARISON_COLUMNS, COMPARISONS_DIRECTORY, load_comparisons
from suite.report.records import RUNS_DIRECTORY, STATUS_COMPLETED, RecordError, read_record
from suite.report.rows import load_runs
from suite.report.tables import TIMING
from suite.report.target_races import TargetRaceRecord, load_target_races, summarise

ASV_DIRECTORY = "asv"


@dataclass(frozen=True, eq=False)
class DashboardData:
    """One snapshot of a results directory.

    Attributes:
        results_dir: the directory read.
        runs: one row per run record (``suite.report.rows.load_runs``' columns, ``model_name``
            among them) plus ``run``, the
            record's file stem, which the dashboard's URLs use as the run id, and
            ``relative_error_uncertainty``.
        problems: one message per record file that could not be read (it names the file).
        asv: ``suite.report.asv_results.load_asv_results``' tidy frame (empty without asv results).
        asv_problem: why the asv results could not be read, or ``None``.
        signature: the file names, sizes and times this snapshot was read from.
        comparisons: ``suite.report.races.load_comparisons``' races against NetKet.
        target_races: ``suite.report.target_races.load_target_races``' time-to-target races,
            oldest first (a record whose seed runs cannot be summarised is among ``problems``).
    """

    results_dir: Path
    runs: pd.DataFrame
    problems: tuple[str, ...]
    asv: pd.DataFrame
    asv_problem: str | None = None
    signature: tuple = ()
    comparisons: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=list(COMPARISON_COLUMNS)))
    target_races: tuple[TargetRaceRecord, ...] = ()

    @property
    def completed(self) -> pd.DataFrame:
        """The completed runs."""
        return self.runs[self.runs["status"] == STATUS_COMPLETED]

    @property
    def accurate(self) -> pd.DataFrame:
        """The completed runs whose energy is an accuracy (timing cells left out)."""
        completed = self.completed
        return completed[completed["purpose"] != TIMING]


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
    runs["relative_error_uncertainty"] = analysis.relative_error_uncertainty(
        runs["energy_error"], runs["reference_energy"])
    comparisons, comparison_problems = load_comparisons(results_dir)
    target_races, target_problems = _target_races(results_dir, comparison_problems)
    problems = (tuple(str(problem) for problem in table.problems) + tuple(comparison_problems)
                + tuple(target_problems))
    try:
        asv = load_asv_results(results_dir / ASV_DIRECTORY)
        asv_problem = None
    except Exception as error:  # asv's reader raises many types on a damaged file
        asv, asv_problem = pd.DataFrame(columns=list(ASV_COLUMNS)), (
            f"{results_dir / ASV_DIRECTORY}: the asv results could not be read ({error})")
    return DashboardData(results_dir, runs, problems, asv, asv_problem, signature, comparisons,
                         target_races)


def _target_races(results_dir: Path, known: list[str]) -> tuple[tuple[TargetRaceRecord, ...],
                                                                 list[str]]:
    """The time-to-target races that can be summarised, and the problems not already ``known``
    (both loaders read ``compare/``: a file neither can read is named once)."""
    records, problems = load_target_races(results_dir)
    named = {problem.split(": ", 1)[0] for problem in known}
    problems = [problem for problem in problems if problem.split(": ", 1)[0] not in named]
    readable = []
    for record in records:
        try:
            summarise(record)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            problems.append(f"{results_dir / COMPARISONS_DIRECTORY}: the time-to-target race on "
                            f"{record.label or record.cell_id} finished {record.finished_at} "
                            f"skipped, its seed runs cannot be read ({error!r})")
            continue
        readable.append(record)
    return tuple(readable), problems


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
    """A run named for a menu: model and its size (depth and width of a ViT, options of a CNN
    or plugin), lattice, coupling, steps, device and when it finished."""
    finished = str(row["finished_at"] or "")[:16].replace("T", " ")
    return (f"{row['model_name']} · L={row['L']} J2/J1={row['J2']:g} · {model_details(row)} · "
            f"{row['steps']} steps · {row['device']} · {finished} · {row['status']}")


def run_options(runs: pd.DataFrame) -> list[dict[str, str]]:
    """Dropdown options (label, value = run id) for ``runs``, newest first."""
    ordered = runs.sort_values("finished_at", ascending=False, na_position="last")
    return [{"label": run_label(row), "value": row["run"]} for _, row in ordered.iterrows()]


def attention_summary(data: DashboardData) -> pd.DataFrame:
    """The input dependence of every completed run with attention snapshots.

    ``suite.report.analysis.attention_summary``' columns plus ``label``, the run named for an
    axis (model, depth, width and the start of its id).
    """
    return _attention_summary_cached(data)


@lru_cache(maxsize=4)
def _attention_summary_cached(data: DashboardData) -> pd.DataFrame:
    summary = analysis.attention_summary(data.completed)
    labels = [f"{row.model_name} · {row.layers}L d={row.d} · {row.run[:6]}"
              for row in summary.itertuples()]
    return summary.assign(label=pd.Series(labels, index=summary.index, dtype=object))


def systems(runs: pd.DataFrame) -> list[tuple[int, float]]:
    """The (L, J2) pairs present in ``runs``, most runs first, then by L and J2."""
    if runs.empty:
        return []
    counts = runs.groupby(["L", "J2"]).size().reset_index(name="count")
    counts = counts.sort_values(["count", "L", "J2"], ascending=[False, True, True])
    return [(int(row.L), float(row.J2)) for row in counts.itertuples()]
