"""Running the cells of an SLMC matrix (``family = "slmc"``) and recording each one.

A cell is done when ``<results>/slmc/`` holds a record of its configuration made by this suite
version (as for VMC cells, :mod:`suite.bench.runner`); ``--force`` runs it again (records are
append-only, the old one stays). A cell that raises is reported and the matrix goes on; nothing
is recorded for it. SLMC runs are minutes long, so they are not checkpointed: a stopped matrix
resumes at the first cell without a record. The exact chain of a cell is cached under
``<results>/cache/slmc/`` (:func:`suite.bench.slmc_run.exact_chain`), so the cells of one physics
and seed sample it once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from suite.bench.matrix import Cell, config_hash
from suite.bench.provenance import environment, git_state, utc_now
from suite.bench.slmc_run import run_slmc
from suite.report.slmc_records import (
    SLMCRecord,
    load_slmc_records,
    slmc_record,
    write_slmc_record,
)
from suite.version import __version__

CACHE_DIRECTORY = "cache/slmc"
"""``<results>/cache/slmc/``: exact chains shared by the cells that differ only in their
effective model (not committed)"""


@dataclass(frozen=True)
class SLMCStatus:
    """A cell and its records of this configuration and suite version."""

    cell: Cell
    records: tuple[SLMCRecord, ...]

    @property
    def done(self) -> bool:
        return bool(self.records)


def slmc_statuses(cells: list[Cell], results_dir: str | Path,
                  problems: list[str] | None = None) -> list[SLMCStatus]:
    """The status of each cell in ``results_dir`` (unreadable files go to ``problems``)."""
    records, skipped = load_slmc_records(results_dir)
    if problems is not None:
        problems.extend(skipped)
    by_key: dict[tuple[str | None, str | None], list[SLMCRecord]] = {}
    for record in records:
        by_key.setdefault((record.config_hash, record.suite_version), []).append(record)
    return [SLMCStatus(cell, tuple(by_key.get((config_hash(cell.config), __version__), [])))
            for cell in cells]


def run_slmc_cell(cell: Cell, results_dir: str | Path | None, matrix: str,
                  on_stage: Callable[[str], None] | None = None) -> SLMCRecord:
    """Run one cell and write its record (``results_dir`` ``None``: do not write)."""
    started = utc_now()
    cache = None if results_dir is None else Path(results_dir) / CACHE_DIRECTORY
    result = run_slmc(cell.config, on_stage, cache)
    record = slmc_record(
        suite_version=__version__, git=git_state(), matrix=matrix, cell_id=cell.id,
        label=cell.label, config_hash=config_hash(cell.config), config=cell.config.to_dict(),
        metrics=result.metrics, observables=result.observables, training=result.training,
        environment=environment(), started_at=started, finished_at=utc_now())
    if results_dir is not None:
        write_slmc_record(results_dir, record)
    return record


def run_slmc_cells(statuses: list[SLMCStatus], results_dir: str | Path, matrix: str, *,
                   force: bool = False) -> tuple[int, int, int]:
    """Run every cell that is not done (every one with ``force``), printing one line per cell.

    Returns:
        ``(completed, failed, skipped)``.
    """
    completed = failed = skipped = 0
    todo = [s for s in statuses if force or not s.done]
    for index, status in enumerate(todo, start=1):
        cell = status.cell
        prefix = f"[{index}/{len(todo)}] {cell.id} {cell.label}"

        def stage(name: str, prefix: str = prefix) -> None:
            print(f"{prefix}: {name}", file=sys.stderr, flush=True)

        try:
            record = run_slmc_cell(cell, results_dir, matrix, stage)
        except Exception as error:  # noqa: BLE001  (one failed cell must not stop the matrix)
            failed += 1
            print(f"{prefix}: FAILED: {type(error).__name__}: {error}", file=sys.stderr,
                  flush=True)
            continue
        completed += 1
        m = record.metrics
        print(f"{prefix}: acceptance {m['acceptance']:.3f} +- {m['acceptance_error']:.3f}, "
              f"{m['n_parameters']} params, {m['seconds_per_outer_step']:.3g} s per SLMC step, "
              f"{m['wall_seconds']:.0f} s", file=sys.stderr, flush=True)
    skipped = len(statuses) - len(todo)
    return completed, failed, skipped


__all__ = ["CACHE_DIRECTORY", "SLMCStatus", "run_slmc_cell", "run_slmc_cells", "slmc_statuses"]
