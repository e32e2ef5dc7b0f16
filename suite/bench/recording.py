"""From a finished (or failed) run to its typed record (:class:`suite.report.records.RunRecord`).

The record holds the cell's resolved configuration and hash, the provenance, the evaluation's
metrics with the reference they are measured against, a downsampled trace and the attention maps
at initialisation and at the end.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from suite.bench.matrix import Cell, config_hash
from suite.report.records import (
    FLOP_METRICS,
    RUN_KIND,
    SCHEMA_VERSION,
    STATUS_COMPLETED,
    STATUS_FAILED,
    RunRecord,
    v_score,
)
from suite.report.references import Reference
from suite.version import __version__

TRACE_POINTS = 250
"""the energy trace is downsampled to at most this many steps (first and last always kept)"""


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


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as JSON gives it back (tuples as lists, numpy floats as floats)."""
    return json.loads(json.dumps(data))


def _base_record(cell: Cell, matrix: str, environment: dict, git: dict, started_at: str,
                 finished_at: str, status: str) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "kind": RUN_KIND, "status": status,
            "suite_version": __version__, "git": git, "matrix": matrix, "cell_id": cell.id,
            "label": cell.label, "config_hash": config_hash(cell.config),
            "config": cell.config.to_dict(), "seeds": {"run": cell.config.seed},
            "environment": environment, "started_at": started_at, "finished_at": finished_at}


def completed_record(*, cell: Cell, matrix: str, result, reference: Reference | None,
                     environment: dict, git: dict, memory: dict, started_at: str,
                     finished_at: str, attention: dict | None,
                     flops: dict | None = None) -> RunRecord:
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
        "r_hat": _finite_or_none(evaluation.r_hat),
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
    return RunRecord.from_json(_plain(record))


def failed_record(*, cell: Cell, matrix: str, step: int | None, reason: str, environment: dict,
                  git: dict, started_at: str, finished_at: str) -> RunRecord:
    """The record of a run that diverged or crashed, with the step it failed at."""
    record = _base_record(cell, matrix, environment, git, started_at, finished_at, STATUS_FAILED)
    record["failure"] = {"step": step, "reason": reason}
    return RunRecord.from_json(_plain(record))
