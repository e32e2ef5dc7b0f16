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
from suite.report.targets import WINDOW, target_key, targets_with, time_to_target
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
            "environment": environment, "started_at": started_at, "finished_at": finished_at,
            "plugin": _plugin(cell.config.model)}


def _plugin(model) -> dict[str, Any] | None:
    if not model.is_plugin:
        return None
    from suite.bench.plugins import plugin_provenance

    return plugin_provenance(model)


def completed_record(*, cell: Cell, matrix: str, result, reference: Reference | None,
                     environment: dict, git: dict, memory: dict, started_at: str,
                     finished_at: str, attention: dict | None,
                     flops: dict | None = None, wall_seconds: float | None = None,
                     memory_plan: dict | None = None) -> RunRecord:
    """The record of a finished run.

    Args:
        result: the :class:`~suite.bench.train.TrainResult`.
        reference: what the relative error is measured against (``None``: no reference known).
        memory: :func:`suite.bench.provenance.peak_memory`.
        attention: ``{"configurations", "initial", "final"}`` arrays, or ``None`` (no attention).
        flops: :func:`suite.perf.flops.flop_metrics` (``None``: not measured; the metrics are
            recorded as ``None``).
        wall_seconds: from the cell's start to its record (set-up, compilation, training,
            evaluation, checks, attention maps, FLOP accounting); ``None``: not measured.
        memory_plan: :meth:`suite.bench.memory_plan.MemoryPlan.to_json`, where one was made.
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
        "wall_seconds": wall_seconds,
        "timed_steps_this_process": result.n_timed_steps,
        "host_load_max": getattr(result, "host_load_max", None),
        "devices": getattr(result, "n_devices", 1),
        "processes": environment.get("process_count", 1),
        **memory,
        **{key: (flops or {}).get(key) for key in FLOP_METRICS},
        "time_to_target": _time_to_target(result, reference, cell.config.target),
    }
    if memory_plan is not None:
        metrics["memory_plan"] = memory_plan
    if getattr(result, "exact", None) is not None:
        metrics["exact"] = result.exact.to_json()
    if getattr(result, "projected", None) is not None:
        metrics["projected"] = _projected_metrics(result, reference, n_sites)
    record = _base_record(cell, matrix, environment, git, started_at, finished_at,
                          STATUS_COMPLETED)
    record["metrics"] = metrics
    record["trace"] = downsample_trace(result.trace)
    if attention is not None:
        record["attention"] = {key: _round_nested(value) if key != "configurations"
                               else np.asarray(value).astype(int).tolist()
                               for key, value in attention.items()}
    return RunRecord.from_json(_plain(record))


def _time_to_target(result, reference: Reference | None, own: float | None = None
                    ) -> dict[str, Any] | None:
    """When the training energy first came within 1e-1 ... 1e-4 of the reference, and within
    the cell's own ``target`` where it sets one (:mod:`suite.report.targets`); ``None`` without
    a reference."""
    if reference is None:
        return None
    return {"reference_id": reference.id, "window_steps": WINDOW,
            "statistic": f"first step whose running mean over {WINDOW} steps is within the "
                         "relative error; seconds are summed step times, compile excluded",
            **({} if own is None else {"cell_target": target_key(own)}),
            **time_to_target(result.trace["energy"], result.trace["seconds"],
                             reference.energy_per_site, targets_with(own))}


def _projected_metrics(result, reference: Reference | None, n_sites: int) -> dict[str, Any]:
    """The symmetry-projected evaluation, in the units of the raw one, and what it gained."""
    projected, raw = result.projected, result.evaluation
    out = {"energy_per_site": projected.energy, "energy_error": projected.error,
           "energy_variance": projected.variance, "tau_corr": projected.tau_corr,
           "r_hat": _finite_or_none(projected.r_hat), "acceptance": projected.acceptance,
           "evaluation_samples": projected.n_samples,
           "v_score": v_score(projected.variance, projected.energy, n_sites),
           "relative_error": (reference.relative_error(projected.energy)
                              if reference is not None else None),
           "gain_per_site": raw.energy - projected.energy,
           "gain_error": math.hypot(raw.error, projected.error),
           "symmetries": ("point group C4v about a site x translations within a patch x spin "
                          "flip; trivial representation, parity (-1)^(N/2)")}
    if getattr(result, "projected_exact", None) is not None:
        out["exact"] = result.projected_exact.to_json()
    return out


def failed_record(*, cell: Cell, matrix: str, step: int | None, reason: str, environment: dict,
                  git: dict, started_at: str, finished_at: str) -> RunRecord:
    """The record of a run that diverged or crashed, with the step it failed at."""
    record = _base_record(cell, matrix, environment, git, started_at, finished_at, STATUS_FAILED)
    record["failure"] = {"step": step, "reason": reason}
    return RunRecord.from_json(_plain(record))
