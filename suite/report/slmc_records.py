"""Self-learning Monte Carlo run records (kind ``slmc-run``) and their tidy frame, without JAX.

An SLMC run (:mod:`suite.bench.slmc_run`) is recorded like a VMC run (the same base fields:
version, kind, cell, configuration, environment, git, times) with its own measurements:
``metrics`` (the outer acceptance and its error bar, the parameter count, the fit's losses,
seconds per SLMC step and per exact sweep), ``observables`` (exact chain against SLMC, each with
its autocorrelation-aware error bar) and ``training`` (the loss per epoch, downsampled). Records
live in ``<results>/slmc/``, created atomically and never overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from suite.report.records import Record, as_record, register_kind, typed_records
from suite.report.storage import create_json_record

SLMC_KIND = "slmc-run"
SLMC_SCHEMA_VERSION = 1
SLMC_DIRECTORY = "slmc"
"""``<results>/slmc/``: where SLMC records live"""

FRAME_COLUMNS: tuple[str, ...] = (
    "cell_id", "matrix", "L", "temperature", "J", "mu", "effective_model", "layers", "couplings",
    "block_shells", "seed", "n_parameters", "acceptance", "acceptance_error", "inner_acceptance",
    "loss_from_acceptance", "train_mse", "test_mse", "linear_test_mse", "seconds_per_outer_step",
    "seconds_per_exact_sweep", "wall_seconds", "host_load_max", "cpu_count", "device",
    "suite_version", "finished_at")
"""one row per SLMC record, in this order (:func:`slmc_frame`)"""


@dataclass(frozen=True, kw_only=True)
class SLMCRecord(Record):
    """One SLMC run.

    Attributes:
        matrix: the matrix it belongs to.
        metrics: the measured numbers (:class:`suite.bench.slmc_run.SLMCResult`).
        observables: per observable, ``exact`` and ``slmc`` (``mean``, ``error``, ``tau``,
            ``r_hat``) and ``z``, their difference in combined error bars.
        training: ``loss`` (per epoch, downsampled) and ``epochs``.
    """

    KIND: ClassVar[str] = SLMC_KIND
    _ORDER: ClassVar[tuple[str, ...]] = (
        "schema_version", "kind", "suite_version", "git", "matrix", "cell_id", "label",
        "config_hash", "config", "metrics", "observables", "training", "environment",
        "started_at", "finished_at")

    matrix: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    observables: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)


register_kind(SLMCRecord, SLMC_SCHEMA_VERSION, ("cell_id", "config", "metrics", "suite_version"))


def slmc_record(**values: Any) -> SLMCRecord:
    """A complete record from its fields (checked by a round trip through JSON: no NaN)."""
    raw = {"schema_version": SLMC_SCHEMA_VERSION, "kind": SLMC_KIND, **values}
    return SLMCRecord.from_json(json.loads(json.dumps(raw, allow_nan=False)))


def write_slmc_record(results_dir: str | Path, record: SLMCRecord) -> Path:
    """Create ``results_dir/slmc/<cell>-<time>-<random>.json``."""
    record = as_record(record, SLMCRecord)
    return create_json_record(Path(results_dir) / SLMC_DIRECTORY, record.cell_id,
                              record.finished_at or "", record.to_json())


def load_slmc_records(results_dir: str | Path) -> tuple[list[SLMCRecord], list[str]]:
    """Every SLMC record under ``results_dir/slmc/``, oldest first, and one message per file that
    could not be read."""
    return typed_records(Path(results_dir) / SLMC_DIRECTORY, SLMCRecord,
                         others_are_problems=True)


def slmc_frame(records: list[SLMCRecord]) -> pd.DataFrame:
    """One row per record: its settings, metrics and device (:data:`FRAME_COLUMNS`)."""
    rows = []
    for record in records:
        row = {key: record.config.get(key) for key in FRAME_COLUMNS if key in record.config}
        row.update({key: record.metrics.get(key) for key in FRAME_COLUMNS
                    if key in record.metrics})
        row.update(cell_id=record.cell_id, matrix=record.matrix,
                   device=record.environment.get("device"),
                   cpu_count=record.environment.get("cpu_count"),
                   suite_version=record.suite_version, finished_at=record.finished_at)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


__all__ = ["FRAME_COLUMNS", "SLMCRecord", "SLMC_DIRECTORY", "SLMC_KIND", "load_slmc_records",
           "slmc_frame", "slmc_record", "write_slmc_record"]
