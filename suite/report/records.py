"""Versioned result records: one JSON file per finished (or failed) run, never overwritten.

Records live in ``<results>/runs/`` as ``<cell id>-<UTC start>-<random>.json``. They are created
atomically and exclusively (:func:`suite.report.storage.atomic_create`): a re-run adds a record, and two
processes sharing a results directory (the shards of a cluster job) cannot clobber each other.

A record is a plain dictionary (see :func:`completed_record` for its fields); ``schema_version``
says how to read it. :func:`load_runs` returns one tidy row per run and reports, without
stopping, every file it cannot read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.bench.config import RunConfig
from suite.bench.matrix import Cell, config_hash, settings_of
from suite.report.references import Reference
from suite.report.storage import TEMP_PREFIX, create_json_record
from suite.version import __version__

SCHEMA_VERSION = 1
KNOWN_SCHEMA_VERSIONS: tuple[int, ...] = (1,)
RUNS_DIRECTORY = "runs"
TRACE_POINTS = 250
"""the energy trace is downsampled to at most this many steps (first and last always kept)"""

FLOP_METRICS: tuple[str, ...] = ("forward_flops_per_sample", "step_flops",
                                 "achieved_flops_per_second", "peak_flops_per_second",
                                 "peak_flops_source", "fraction_of_peak")
"""the FLOP accounting of a run (``suite.perf.flops.flop_metrics``); ``None`` when not measured"""


def v_score(variance: float, energy_per_site: float, n_sites: int) -> float:
    """V-score N Var(H) / E^2 = Var(H) / (N e^2) (Wu et al., Science 386, 296 (2024))."""
    return variance / (n_sites * energy_per_site**2)


STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"


class RecordError(ValueError):
    """A result file that cannot be read: names the file and what is wrong with it."""

    def __init__(self, path: Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def downsample_trace(trace: dict[str, np.ndarray], points: int = TRACE_POINTS) -> dict[str, list]:
    """At most ``points`` evenly spaced steps of every per-step array, with their step numbers."""
    n = len(next(iter(trace.values()))) if trace else 0
    steps = np.unique(np.round(np.linspace(0, n - 1, min(points, n))).astype(int)) if n else []
    out: dict[str, list] = {"step": [int(s) for s in steps]}
    for name, values in trace.items():
        out[name] = [_finite_or_none(values[s]) for s in steps]
    return out


def _round_nested(array: np.ndarray, decimals: int = 6) -> list:
    return np.round(np.asarray(array, dtype=float), decimals).tolist()


def _base_record(cell: Cell, matrix: str, environment: dict, git: dict, started_at: str,
                 finished_at: str, status: str) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "status": status,
        "suite_version": __version__,
        "git": git,
        "matrix": matrix,
        "cell_id": cell.id,
        "label": cell.label,
        "config_hash": config_hash(cell.config),
        "config": cell.config.to_dict(),
        "seeds": {"run": cell.config.seed},
        "environment": environment,
        "started_at": started_at,
        "finished_at": finished_at,
    }


def completed_record(*, cell: Cell, matrix: str, result, reference: Reference | None,
                     environment: dict, git: dict, memory: dict, started_at: str,
                     finished_at: str, attention: dict | None,
                     flops: dict | None = None) -> dict[str, Any]:
    """The record of a finished run.

    Args:
        result: the :class:`~suite.bench.train.TrainResult`.
        reference: what the relative error is measured against (``None``: no reference known).
        memory: :func:`suite.bench.provenance.peak_memory`.
        attention: ``{"configurations", "initial", "final"}`` arrays, or ``None`` (no attention).
        flops: :func:`suite.perf.flops.flop_metrics` (``None``: not measured; the metrics are
            recorded as ``None``).
    """
    evaluation = result.evaluation
    n_sites = cell.config.system.n_sites
    metrics = {
        "energy_per_site": evaluation.energy,
        "energy_error": evaluation.error,
        "sampling_bias_bound": evaluation.sampling_bias_bound,
        "energy_variance": evaluation.variance,
        "tau_corr": evaluation.tau_corr,
        "acceptance": evaluation.acceptance,
        "evaluation_samples": evaluation.n_samples,
        "evaluation": (f"a separate sampling pass of {evaluation.n_samples} samples after the "
                       f"last of {cell.config.optimizer.steps} optimisation steps"),
        "v_score": v_score(evaluation.variance, evaluation.energy, n_sites),
        "relative_error": (reference.relative_error(evaluation.energy)
                           if reference is not None else None),
        "reference": (None if reference is None else {
            "id": reference.id, "energy_per_site": reference.energy_per_site,
            "uncertainty": reference.uncertainty, "kind": reference.kind}),
        "n_parameters": result.n_parameters,
        "steps": cell.config.optimizer.steps,
        "seconds_per_step": result.seconds_per_step,
        "seconds_per_step_statistic": "median over all optimisation steps, compile excluded",
        "compile_seconds": result.compile_seconds,
        "total_seconds": result.total_seconds,
        "timed_steps_this_process": result.n_timed_steps,
        "devices": getattr(result, "n_devices", 1),
        "processes": environment.get("process_count", 1),
        **memory,
        **{key: (flops or {}).get(key) for key in FLOP_METRICS},
    }
    record = _base_record(cell, matrix, environment, git, started_at, finished_at,
                          STATUS_COMPLETED)
    record["metrics"] = metrics
    record["trace"] = downsample_trace(result.trace)
    if attention is not None:
        record["attention"] = {key: _round_nested(value) if key != "configurations"
                               else np.asarray(value).astype(int).tolist()
                               for key, value in attention.items()}
    return record


def failed_record(*, cell: Cell, matrix: str, step: int | None, reason: str, environment: dict,
                  git: dict, started_at: str, finished_at: str) -> dict[str, Any]:
    """The record of a run that diverged or crashed, with the step it failed at."""
    record = _base_record(cell, matrix, environment, git, started_at, finished_at, STATUS_FAILED)
    record["failure"] = {"step": step, "reason": reason}
    return record


def write_record(results_dir: Path, record: dict[str, Any]) -> Path:
    """Create a new record file under ``results_dir/runs/`` and return its path."""
    return create_json_record(Path(results_dir) / RUNS_DIRECTORY, record["cell_id"],
                              record["started_at"], record)


def read_record(path: Path) -> dict[str, Any]:
    """One record, checked for the fields every schema version has.

    Raises:
        RecordError: unreadable, truncated, not JSON, or an unknown schema version.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RecordError(path, f"cannot be read ({error.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RecordError(path, f"is not valid JSON (truncated or corrupt: {error})") from None
    if not isinstance(record, dict):
        raise RecordError(path, "is not a JSON object")
    version = record.get("schema_version")
    if version not in KNOWN_SCHEMA_VERSIONS:
        raise RecordError(path, f"has schema_version {version!r}; this nqsbench "
                                f"{__version__} reads {list(KNOWN_SCHEMA_VERSIONS)}: upgrade it")
    required = ["status", "cell_id", "config", "suite_version"]
    required += ["metrics"] if record.get("status") == STATUS_COMPLETED else ["failure"]
    missing = [key for key in required if key not in record]
    if missing or record["status"] not in (STATUS_COMPLETED, STATUS_FAILED):
        raise RecordError(path, f"is missing {', '.join(missing) or 'a valid status'}")
    return record


def record_paths(results_dir: Path) -> list[Path]:
    """Every record file under ``results_dir/runs/`` (temporary files excluded), sorted."""
    directory = Path(results_dir) / RUNS_DIRECTORY
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.json") if not p.name.startswith(TEMP_PREFIX))


@dataclass
class LoadedRecords:
    """The readable records of a results directory, and the problems with the others."""

    records: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    problems: list[RecordError] = field(default_factory=list)


def load_records(results_dir: Path) -> LoadedRecords:
    """Read every record; a file that cannot be read is reported in ``problems``, not raised."""
    loaded = LoadedRecords()
    for path in record_paths(results_dir):
        try:
            loaded.records.append((path, read_record(path)))
        except RecordError as problem:
            loaded.problems.append(problem)
    return loaded


def _row(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    try:
        settings = settings_of(RunConfig.from_dict(record["config"]))
    except (KeyError, TypeError, AttributeError) as error:
        raise RecordError(path, f"has a configuration this version cannot read ({error})") from None
    environment = record.get("environment", {})
    git = record.get("git", {})
    metrics = record.get("metrics", {})
    reference = metrics.get("reference") or {}
    failure = record.get("failure") or {}
    return {
        "cell_id": record["cell_id"],
        "status": record["status"],
        "matrix": record.get("matrix"),
        **settings,
        "energy": metrics.get("energy_per_site"),
        "energy_error": metrics.get("energy_error"),
        "sampling_bias_bound": metrics.get("sampling_bias_bound"),
        "energy_variance": metrics.get("energy_variance"),
        "v_score": metrics.get("v_score"),
        "relative_error": metrics.get("relative_error"),
        "reference_id": reference.get("id"),
        "reference_energy": reference.get("energy_per_site"),
        "reference_kind": reference.get("kind"),
        "n_parameters": metrics.get("n_parameters"),
        "seconds_per_step": metrics.get("seconds_per_step"),
        "compile_seconds": metrics.get("compile_seconds"),
        "total_seconds": metrics.get("total_seconds"),
        "acceptance": metrics.get("acceptance"),
        "device_peak_bytes": metrics.get("device_peak_bytes"),
        "forward_flops_per_sample": metrics.get("forward_flops_per_sample"),
        "step_flops": metrics.get("step_flops"),
        "achieved_flops_per_second": metrics.get("achieved_flops_per_second"),
        "peak_flops_per_second": metrics.get("peak_flops_per_second"),
        "peak_flops_source": metrics.get("peak_flops_source"),
        "fraction_of_peak": metrics.get("fraction_of_peak"),
        "failure_step": failure.get("step"),
        "failure_reason": failure.get("reason"),
        "platform": environment.get("platform"),
        "device": environment.get("device"),
        "suite_version": record["suite_version"],
        "commit": git.get("commit"),
        "dirty": git.get("dirty"),
        "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"),
        "config_hash": record.get("config_hash"),
        "path": str(path),
    }


@dataclass
class RunTable:
    """:func:`load_runs`' answer: one row per run, and the files that could not be read."""

    frame: pd.DataFrame
    problems: list[RecordError] = field(default_factory=list)


def load_runs(results_dir: Path) -> RunTable:
    """A tidy DataFrame of every run under ``results_dir/runs/``, one row per record.

    Columns: the cell id and status, every matrix key (``L``, ``J2``, ``attention``, ``layers``,
    ``d``...), the metrics (``energy``, ``energy_error``, ``relative_error``, ``v_score``,
    ``n_parameters``, ``seconds_per_step``, ``compile_seconds``, ``total_seconds``,
    ``step_flops``, ``achieved_flops_per_second``, ``fraction_of_peak``...), the
    provenance (``device``, ``commit``, ``started_at``...) and the record's ``path``. Files that
    cannot be read are listed in ``problems`` (each names the file) and left out.
    """
    loaded = load_records(results_dir)
    rows, problems = [], list(loaded.problems)
    for path, record in loaded.records:
        try:
            rows.append(_row(path, record))
        except RecordError as problem:
            problems.append(problem)
    frame = pd.DataFrame(rows, columns=list(_row_columns()))
    return RunTable(frame, problems)


def _row_columns() -> list[str]:
    example = {"schema_version": 1, "status": STATUS_FAILED, "cell_id": "", "suite_version": "",
               "config": RunConfig().to_dict(), "failure": {}}
    return list(_row(Path(), example))
