"""Race records: one JSON file per race against a peer engine, read without JAX.

A race (:func:`suite.perf.netket.compare_with_netket`) produces a :class:`RaceRecord`
(``kind`` ``"peer-comparison"``, made by :func:`race_result`); with its provenance
(:func:`comparison_record`) it lives in ``<results>/compare/`` beside the run records of
:mod:`suite.report.records`. It is one kind of the same record family: written the
same way (atomically, never overwritten), read by the same :func:`~suite.report.records.read_record`
with its own ``schema_version``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from suite.bench.config import RunConfig
from suite.report.formatting import format_with_error
from suite.report.models import display_model_name
from suite.report.records import (
    RACE_KIND,
    TARGET_RACE_KIND,
    Record,
    RecordError,
    as_record,
    read_record,
    register_kind,
)
from suite.report.storage import JsonObject, create_json_record, record_files

COMPARISON_SCHEMA_VERSION = 1
"""the version of race records this code writes"""


@dataclass(frozen=True)
class EngineTiming(JsonObject):
    """One engine's side of a race.

    Attributes:
        engine: ``nqsbench`` or ``netket``.
        version: the engine's version.
        seconds_per_step: median over the timed steps (compilation excluded).
        step_seconds: every timed step.
        warmup_seconds: the warm-up steps (the first includes compilation).
        energy: energy per site at the last step (mean of that step's samples).
        energy_error: its standard error.
        exact_energy: the exact energy per site of the final parameters (by enumerating the
            Sz=0 sector; ``None`` above the exact-diagonalisation size).
        sampling_seconds: median time of the sampling alone (the discarded and the kept sweeps
            of one step), measured after the race; the rest of the step is the difference.
    """

    engine: str
    version: str
    seconds_per_step: float
    step_seconds: list[float]
    warmup_seconds: list[float]
    energy: float
    energy_error: float
    exact_energy: float | None = None
    sampling_seconds: float | None = None


@dataclass(frozen=True, kw_only=True)
class RaceRecord(Record):
    """A race against a peer engine on one cell: :func:`race_result` makes one from a race,
    :func:`comparison_record` adds where and when it ran."""

    KIND: ClassVar[str] = RACE_KIND
    _NESTED: ClassVar[dict[str, type]] = {"ours": EngineTiming, "peer": EngineTiming}
    _ORDER: ClassVar[tuple[str, ...]] = (
        "schema_version", "kind", "cell_id", "label", "config", "steps", "warmup", "n_parameters",
        "ours", "peer", "peer_settings", "ratio", "environment", "git", "finished_at")

    steps: int
    warmup: int
    n_parameters: int
    ours: EngineTiming
    peer: EngineTiming
    peer_settings: dict[str, Any] = field(default_factory=dict)
    ratio: float | None = None


def race_result(*, cell_id: str, label: str, config: dict[str, Any], steps: int, warmup: int,
                n_parameters: int, ours: EngineTiming, peer: EngineTiming,
                peer_settings: dict[str, Any] | None = None) -> RaceRecord:
    """What a race found on one cell, with the ratio ours / peer of the seconds per step (below
    1: nqsbench is faster); the provenance is added by :func:`comparison_record`."""
    return RaceRecord(schema_version=COMPARISON_SCHEMA_VERSION, cell_id=cell_id, label=label,
                      config=config, steps=steps, warmup=warmup, n_parameters=n_parameters,
                      ours=ours, peer=peer, peer_settings=dict(peer_settings or {}),
                      ratio=ours.seconds_per_step / peer.seconds_per_step)


register_kind(RaceRecord, COMPARISON_SCHEMA_VERSION,
              ("cell_id", "config", "steps", "warmup", "n_parameters", "ours", "peer"))

COMPARISONS_DIRECTORY = "compare"


def comparison_record(race: RaceRecord, environment: dict, git: dict,
                      finished_at: str) -> RaceRecord:
    """The record of a race (:func:`race_result`), with the machine it ran on and when."""
    return RaceRecord.from_json(json.loads(json.dumps({
        **race.to_json(), "environment": environment, "git": git, "finished_at": finished_at})))


def write_comparison(results_dir: str | Path, record: RaceRecord | Mapping[str, Any]) -> Path:
    """Create ``results_dir/compare/<cell>-<peer>-<time>-<random>.json`` (never overwrites).

    ``record`` is a :class:`RaceRecord` (a plain dictionary is parsed into one first).
    """
    record = as_record(record, RaceRecord)
    prefix = f"{record.cell_id or 'cell'}-{record.peer.engine}"
    return create_json_record(Path(results_dir) / COMPARISONS_DIRECTORY, prefix,
                              record.finished_at or "", record.to_json())


COMPARISON_COLUMNS: tuple[str, ...] = (
    "cell_id", "label", "peer", "peer_version", "L", "J2", "model", "model_name", "model_options",
    "attention", "layers", "d", "heads", "alpha", "samples", "sampler_dtype", "n_parameters",
    "steps", "ours_seconds_per_step", "peer_seconds_per_step", "ratio",
    "ours_sampling_seconds", "peer_sampling_seconds",
    "ours_energy", "ours_energy_error", "peer_energy", "peer_energy_error", "ours_exact_energy",
    "peer_exact_energy", "device", "commit", "finished_at", "path")


def _pair(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or pd.isna(ours) or pd.isna(theirs):
        return "n/a"
    return f"{ours:.3g} / {theirs:.3g}"


def load_comparisons(results_dir: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Every race record under ``results_dir/compare/`` as one row each, and the unreadable files.

    Returns:
        ``(frame, problems)``: columns ``COMPARISON_COLUMNS``; one message per file skipped.
    """
    directory = Path(results_dir) / COMPARISONS_DIRECTORY
    rows, problems = [], []
    for path in record_files(directory):
        try:
            record = read_record(path)
            if record.kind == TARGET_RACE_KIND:  # a time-to-target race: its own table
                continue
            if not isinstance(record, RaceRecord):
                raise RecordError(path, f"is a {record.kind} record")
            rows.append(comparison_row(path, record))
        except RecordError as error:
            problems.append(f"{path}: skipped, not a readable comparison record ({error.reason})")
        except (KeyError, TypeError, AttributeError) as error:  # a configuration we cannot read
            problems.append(f"{path}: skipped, not a readable comparison record ({error})")
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS)), problems


def comparison_row(path: Path | None, record: RaceRecord | Mapping[str, Any]) -> dict[str, Any]:
    """One row of :func:`load_comparisons`' frame from a race record (typed, or its JSON)."""
    record = as_record(record, RaceRecord)
    config = RunConfig.from_dict(record.config)
    ours, peer = record.ours, record.peer
    return {
        "cell_id": record.cell_id, "label": record.label, "peer": peer.engine,
        "peer_version": peer.version, "L": config.system.L, "J2": config.system.J2,
        "model": config.model.model, "model_options": config.model.model_options,
        "model_name": display_model_name(config.model.model, config.model.model_options,
                                         config.model.attention),
        "attention": config.model.attention, "layers": config.model.layers, "d": config.model.d,
        "heads": config.model.heads, "alpha": config.model.alpha,
        "samples": config.sampler.n_samples,
        "sampler_dtype": config.sampler.dtype or config.model.dtype,
        "n_parameters": record.n_parameters, "steps": record.steps,
        "ours_seconds_per_step": ours.seconds_per_step,
        "ours_sampling_seconds": ours.sampling_seconds,
        "peer_sampling_seconds": peer.sampling_seconds,
        "peer_seconds_per_step": peer.seconds_per_step, "ratio": record.ratio,
        "ours_energy": ours.energy, "ours_energy_error": ours.energy_error,
        "peer_energy": peer.energy, "peer_energy_error": peer.energy_error,
        "ours_exact_energy": ours.exact_energy, "peer_exact_energy": peer.exact_energy,
        "device": record.environment.get("device"), "commit": record.git.get("commit"),
        "finished_at": record.finished_at, "path": None if path is None else str(path),
    }


def _cell(row) -> str:
    """The race's cell: its label and L, after the model's name where the label does not say it
    (a matrix that fixes the model leaves it out of its labels)."""
    label = str(row.label or "")
    name, model = getattr(row, "model_name", None), getattr(row, "model", None)
    said = [name, model] + ([row.attention] if model in (None, "vit") else [])
    if not isinstance(name, str) or any(isinstance(text, str) and text
                                        and text.casefold() in label.casefold() for text in said):
        return f"{label} L={row.L}"
    return " ".join(part for part in (name, label, f"L={row.L}") if part)


def comparison_table(frame: pd.DataFrame) -> str:
    """The races as a Markdown table: seconds per step of both engines, the ratio, energies;
    a cell is named by its label, after its model's name where the label does not say it."""
    header = ("| cell | params | steps | nqsbench s/step | NetKet s/step | ratio | sampling s "
              "(ours / NetKet) | E/N nqsbench | E/N NetKet | exact E/N (ours / NetKet) | device |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in frame.itertuples():
        exact = ("n/a" if row.ours_exact_energy is None or pd.isna(row.ours_exact_energy)
                 else f"{row.ours_exact_energy:.5f} / {row.peer_exact_energy:.5f}")
        lines.append(
            f"| {_cell(row)} | {row.n_parameters:,} | {row.steps} | "
            f"{row.ours_seconds_per_step:.4g} | {row.peer_seconds_per_step:.4g} | "
            f"{row.ratio:.2f} | {_pair(row.ours_sampling_seconds, row.peer_sampling_seconds)} | "
            f"{format_with_error(row.ours_energy, row.ours_energy_error)} | "
            f"{format_with_error(row.peer_energy, row.peer_energy_error)} | {exact} | "
            f"{row.device} |")
    return "\n".join(lines) + "\n"
