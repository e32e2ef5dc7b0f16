"""Run records as a tidy table: one DataFrame row per run (:func:`load_runs`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from suite.bench.config import RunConfig
from suite.bench.matrix import config_hash, declared_purpose
from suite.report.models import display_model_name
from suite.report.records import (
    SCHEMA_VERSION,
    STATUS_FAILED,
    Failure,
    RecordError,
    RunMetrics,
    RunRecord,
    load_records,
)
from suite.report.targets import TARGETS, target_key


def run_row(path: Path, record: RunRecord) -> dict[str, Any]:
    """The row of one run: its settings, metrics (``None`` where absent) and provenance.

    Raises:
        RecordError: the record's configuration cannot be read by this version.
    """
    try:
        config = RunConfig.from_dict(record.config)
        settings = config.settings()
        seed_family = config_hash(dataclasses.replace(config, seed=0))[:12]
    except (KeyError, TypeError, AttributeError) as error:
        raise RecordError(path, f"has a configuration this version cannot read ({error})") from None
    if "purpose" not in record.config:  # written before cells declared a purpose
        settings["purpose"] = declared_purpose(record.matrix, record.cell_id) or "accuracy"
    metrics = record.metrics or RunMetrics()
    reference = metrics.reference
    failure = record.failure or Failure(None, None)  # type: ignore[arg-type]
    environment, git = record.environment or {}, record.git or {}
    return {
        "cell_id": record.cell_id,
        "status": record.status,
        "matrix": record.matrix,
        **settings,
        "model_name": display_model_name(config.model.model, config.model.model_options,
                                         config.model.attention),
        "energy": metrics.energy_per_site,
        "energy_error": metrics.energy_error,
        "sampling_bias_bound": metrics.sampling_bias_bound,
        "r_hat": metrics.r_hat,
        "energy_variance": metrics.energy_variance,
        "v_score": metrics.v_score,
        "relative_error": metrics.relative_error,
        "reference_id": None if reference is None else reference.id,
        "reference_energy": None if reference is None else reference.energy_per_site,
        "reference_kind": None if reference is None else reference.kind,
        "n_parameters": metrics.n_parameters,
        "seconds_per_step": metrics.seconds_per_step,
        "host_load_max": metrics.host_load_max,
        "cpu_count": environment.get("cpu_count"),
        "compile_seconds": metrics.compile_seconds,
        "total_seconds": metrics.total_seconds,
        "wall_seconds": metrics.wall_seconds,
        "acceptance": metrics.acceptance,
        "device_peak_bytes": metrics.device_peak_bytes,
        "forward_flops_per_sample": metrics.forward_flops_per_sample,
        "step_flops": metrics.step_flops,
        "achieved_flops_per_second": metrics.achieved_flops_per_second,
        "peak_flops_per_second": metrics.peak_flops_per_second,
        "peak_flops_source": metrics.peak_flops_source,
        "fraction_of_peak": metrics.fraction_of_peak,
        **_time_to_target_columns(metrics.time_to_target),
        **_check_columns(metrics),
        "seed_family": seed_family,
        "failure_step": failure.step,
        "failure_reason": failure.reason,
        "platform": environment.get("platform"),
        "device": environment.get("device"),
        "suite_version": record.suite_version,
        "commit": git.get("commit"),
        "dirty": git.get("dirty"),
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "config_hash": record.config_hash,
        "path": str(path),
    }


def _time_to_target_columns(found: dict[str, Any] | None) -> dict[str, Any]:
    """``steps_to_1e-02`` and ``seconds_to_1e-02`` for every target (``None``: not reached, or
    not recorded)."""
    out = {}
    for target in TARGETS:
        key = target_key(target)
        reached = (found or {}).get(key) or {}
        out[f"steps_to_{key}"] = reached.get("step")
        out[f"seconds_to_{key}"] = reached.get("seconds")
    return out


def _check_columns(metrics: RunMetrics) -> dict[str, Any]:
    """The exact check and the symmetry-projected evaluation, ``None`` where not measured."""
    exact, projected = metrics.exact or {}, metrics.projected or {}
    return {"exact_energy": exact.get("energy_per_site"),
            "exact_variance": exact.get("energy_variance"),
            "exact_error_bars_apart": exact.get("error_bars_apart"),
            "projected_energy": projected.get("energy_per_site"),
            "projected_energy_error": projected.get("energy_error"),
            "projected_relative_error": projected.get("relative_error"),
            "projection_gain": projected.get("gain_per_site")}


@dataclass
class RunTable:
    """:func:`load_runs`' answer: one row per run, and the files that could not be read."""

    frame: pd.DataFrame
    problems: list[RecordError] = field(default_factory=list)


def load_runs(results_dir: Path | str) -> RunTable:
    """A tidy DataFrame of every run under ``results_dir/runs/``, one row per record.

    Columns: the cell id and status, every matrix key (``L``, ``J2``, ``model``,
    ``model_options``, ``attention``, ``layers``, ``d``...), ``model_name`` (the model as tables
    and figures name it: :func:`suite.report.models.display_model_name`), the metrics
    (``energy``, ``energy_error``, ``relative_error``, ``v_score``,
    ``n_parameters``, ``seconds_per_step``, ``compile_seconds``, ``total_seconds``,
    ``step_flops``, ``achieved_flops_per_second``, ``fraction_of_peak``...), the
    provenance (``device``, ``commit``, ``started_at``...) and the record's ``path``. Files that
    cannot be read are listed in ``problems`` (each names the file) and left out.
    """
    loaded = load_records(Path(results_dir))
    rows, problems = [], list(loaded.problems)
    for path, record in loaded.records:
        try:
            rows.append(run_row(path, record))
        except RecordError as problem:
            problems.append(problem)
    return RunTable(pd.DataFrame(rows, columns=run_columns()), problems)


def run_columns() -> list[str]:
    """The columns of :func:`load_runs`' frame, in order."""
    example = RunRecord(schema_version=SCHEMA_VERSION, status=STATUS_FAILED, cell_id="",
                        suite_version="", config=RunConfig().to_dict(), failure=Failure(None, ""))
    return list(run_row(Path(), example))
