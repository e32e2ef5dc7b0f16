"""Time-to-target race records and their table, read without JAX.

A time-to-target race (:mod:`suite.perf.time_to_target`, ``nqsbench compare netket --metric
time-to-target``) runs several engines, each in one or more settings, on the same seeds of one
cell and records, per engine and seed, when each target relative error was first confirmed.
Its record (``kind`` ``"time-to-target-race"``) lives beside the step-time races in
``<results>/compare/``, written the same way (atomically, never overwritten).

The table summarises each (cell, target, engine, setting) over the seeds: how many reached the
target, the median and the quartiles of the seconds to it, the median steps, and the ratio of
medians against the other engine. A seed that never reached the target counts as the budget: its
whole run's seconds and steps, or, when it stopped early (it diverged), its seconds per step
times the budget, so that a divergence never looks faster than a finished run. Where fewer than
half the seeds got there the median is a lower bound, marked ``>``, and a ratio against it is a
bound too (``<`` or ``>``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from suite.report.records import (
    TARGET_RACE_KIND,
    Record,
    as_record,
    register_kind,
    typed_records,
)
from suite.report.storage import create_json_record

TARGET_RACE_SCHEMA_VERSION = 1
OURS = "nqsbench"
PEER_SETTINGS: tuple[str, ...] = ("tutorial", "ours", "spring")
OUR_SETTINGS: tuple[str, ...] = ("ours", "spring", "adaptive")
"""nqsbench's settings in a race: the cell's, with SPRING, with adaptive sampling"""
DEFAULT_OUR_SETTINGS: tuple[str, ...] = ("ours", "spring")
"""NetKet's settings in a race (:mod:`suite.perf.netket_target`): its ViT tutorial's, exactly
the cell's, and the cell's with SPRING"""
DEFAULT_SEEDS = 8
"""seeds per engine and setting of ``nqsbench compare netket --metric time-to-target``"""


@dataclass(frozen=True, kw_only=True)
class TargetRaceRecord(Record):
    """One time-to-target race on one cell.

    Attributes:
        reference: ``{"id", "energy_per_site", "kind"}``, what the relative errors are against.
        targets: the relative errors raced to.
        budget: the most steps of a seed run.
        window: steps in the running mean of the detector.
        stop_at_target: whether seed runs stopped once every target was confirmed.
        seeds: the seeds, in the order run.
        n_parameters: the model's parameters.
        engines: one entry per engine and setting: ``engine``, ``version``, ``setting``,
            ``settings`` (the optimiser as that engine got it) and ``runs`` (one per seed:
            :class:`suite.perf.time_to_target.SeedRun` as JSON, without the step times).
    """

    KIND: ClassVar[str] = TARGET_RACE_KIND
    _ORDER: ClassVar[tuple[str, ...]] = (
        "schema_version", "kind", "cell_id", "label", "config", "reference", "targets", "budget",
        "window", "stop_at_target", "seeds", "n_parameters", "engines", "environment", "git",
        "finished_at")

    reference: dict[str, Any]
    targets: list[float]
    budget: int
    window: int
    stop_at_target: bool = False
    seeds: list[int] = field(default_factory=list)
    n_parameters: int | None = None
    engines: list[dict[str, Any]] = field(default_factory=list)


register_kind(TargetRaceRecord, TARGET_RACE_SCHEMA_VERSION,
              ("cell_id", "config", "reference", "targets", "budget", "engines"))


def target_race_record(*, cell_id: str, label: str, config: dict[str, Any],
                       reference: dict[str, Any], targets: Sequence[float], budget: int,
                       window: int, stop_at_target: bool, seeds: Sequence[int],
                       n_parameters: int | None, engines: list[dict[str, Any]],
                       environment: dict, git: dict, finished_at: str) -> TargetRaceRecord:
    """A complete race record (checked by a round trip through JSON); a non-finite number (the
    final energy of a seed that diverged) is written as null."""
    raw = {"schema_version": TARGET_RACE_SCHEMA_VERSION, "kind": TARGET_RACE_KIND,
           "cell_id": cell_id, "label": label, "config": config, "reference": reference,
           "targets": [float(t) for t in targets], "budget": int(budget), "window": int(window),
           "stop_at_target": bool(stop_at_target), "seeds": [int(s) for s in seeds],
           "n_parameters": n_parameters, "engines": _finite(engines), "environment": environment,
           "git": git, "finished_at": finished_at}
    return TargetRaceRecord.from_json(json.loads(json.dumps(raw, allow_nan=False)))


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity inside it replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def write_target_race(results_dir: str | Path, record: TargetRaceRecord | Mapping) -> Path:
    """Create ``results_dir/compare/<cell>-time-to-target-<time>-<random>.json``."""
    from suite.report.races import COMPARISONS_DIRECTORY

    record = as_record(record, TargetRaceRecord)
    return create_json_record(Path(results_dir) / COMPARISONS_DIRECTORY,
                              f"{record.cell_id or 'cell'}-time-to-target",
                              record.finished_at or "", record.to_json())


def load_target_races(results_dir: str | Path) -> tuple[list[TargetRaceRecord], list[str]]:
    """Every time-to-target race record under ``results_dir/compare/``, oldest first, and one
    message per file that could not be read (step-time races are skipped silently)."""
    from suite.report.races import COMPARISONS_DIRECTORY

    return typed_records(Path(results_dir) / COMPARISONS_DIRECTORY, TargetRaceRecord,
                         others_are_problems=False)


@dataclass(frozen=True)
class TargetSummary:
    """One (target, engine, setting) over the seeds."""

    target: float
    engine: str
    setting: str
    reached: int
    seeds: int
    median_seconds: float
    q1_seconds: float
    q3_seconds: float
    median_steps: float
    seconds_per_step: float
    final_energy: float
    exact_energy: float | None
    discarded_sweeps: float | None = None
    """adaptive sampling: the median over the seeds of the mean sweeps discarded per step"""

    @property
    def label(self) -> str:
        """The setting, with the sweeps adaptive sampling discarded: ``adaptive (1.2 sweeps)``."""
        if self.discarded_sweeps is None:
            return self.setting
        return f"{self.setting} ({self.discarded_sweeps:.2g} sweeps)"

    @property
    def censored(self) -> bool:
        """Fewer than half the seeds reached the target: the median is the budget's, a bound."""
        return 2 * self.reached < self.seeds


def seed_outcome(run: Mapping[str, Any], key: str, budget: int) -> tuple[float, int, bool]:
    """What one seed run counts for toward the target ``key`` (``"1e-03"``): seconds, steps and
    whether it reached the target.

    A seed that reached it counts its seconds and steps to it. One that did not counts as the
    budget: its whole run if it ran the budget, else (it diverged, or a run was cut short) its
    seconds per step times the budget, at least the seconds it ran.
    """
    hit = run["targets"].get(key) or {}
    if hit.get("step") is not None:
        return float(hit["seconds"]), int(hit["step"]) + 1, True
    ran, seconds = int(run["steps"]), float(run["seconds"])
    if ran >= budget:
        return seconds, ran, False
    per_step = run.get("seconds_per_step")
    if per_step is None or not math.isfinite(per_step):
        per_step = seconds / max(ran, 1)
    return max(seconds, per_step * budget), int(budget), False


def summarise(record: TargetRaceRecord) -> list[TargetSummary]:
    """Per target (in the record's order), per engine and setting (in the record's order)."""
    out = []
    for target in record.targets:
        key = f"{target:.0e}"
        for entry in record.engines:
            runs = entry["runs"]
            outcomes = [seed_outcome(run, key, record.budget) for run in runs]
            seconds = [seconds for seconds, _, _ in outcomes]
            steps = [steps for _, steps, _ in outcomes]
            exact = [run["exact_energy"] for run in runs if run.get("exact_energy") is not None]
            adaptive = (entry.get("settings") or {}).get("decorrelation") is not None
            discarded = [run["discarded_sweeps"] for run in runs
                         if run.get("discarded_sweeps") is not None]
            out.append(TargetSummary(
                target=target, engine=entry["engine"], setting=entry["setting"],
                reached=sum(reached for _, _, reached in outcomes),
                seeds=len(runs), median_seconds=float(np.median(seconds)),
                q1_seconds=float(np.percentile(seconds, 25)),
                q3_seconds=float(np.percentile(seconds, 75)),
                median_steps=float(np.median(steps)),
                seconds_per_step=float(np.median([run["seconds_per_step"] for run in runs])),
                final_energy=float(np.median([math.nan if run["final_energy"] is None
                                              else run["final_energy"] for run in runs])),
                exact_energy=float(np.median(exact)) if exact else None,
                discarded_sweeps=float(np.median(discarded)) if adaptive and discarded else None))
    return out


def _best(rows: list[TargetSummary], engine: str, other: bool) -> TargetSummary | None:
    """The fastest setting of ``engine`` (``other``: of every other engine): by median seconds,
    among the settings whose median is not a bound if there are any."""
    pool = [r for r in rows if (r.engine != engine) == other]
    return min(pool, key=lambda r: (r.censored, r.median_seconds)) if pool else None


def _pair(row: TargetSummary, rows: list[TargetSummary]
          ) -> tuple[TargetSummary, TargetSummary] | None:
    """(nqsbench's row, NetKet's row) that ``row``'s ratio compares."""
    if row.engine == OURS:
        peer = _best(rows, OURS, other=True)
        return None if peer is None else (row, peer)
    ours = _best(rows, OURS, other=False)
    return None if ours is None else (ours, row)


def ratio(row: TargetSummary, rows: list[TargetSummary]) -> float | None:
    """ours / NetKet, by median seconds: on a NetKet row, nqsbench's fastest setting over this
    one; on an nqsbench row, this one over NetKet's fastest. Below 1: nqsbench is faster."""
    pair = _pair(row, rows)
    return None if pair is None else pair[0].median_seconds / pair[1].median_seconds


def bounded_ratio(row: TargetSummary, rows: list[TargetSummary]) -> tuple[float | None, str]:
    """:func:`ratio` and whether it is a bound: ``">"`` when only nqsbench's median is (a lower
    bound, fewer than half its seeds got there), ``"<"`` when only NetKet's is, ``"?"`` when
    both are (the value is then ``None``: it says nothing), else ``""``."""
    pair = _pair(row, rows)
    if pair is None:
        return None, ""
    ours, peer = pair
    bound = ("?" if ours.censored and peer.censored else ">" if ours.censored
             else "<" if peer.censored else "")
    return (None if bound == "?" else ours.median_seconds / peer.median_seconds), bound


def ratio_text(row: TargetSummary, rows: list[TargetSummary]) -> str:
    """:func:`bounded_ratio` to two decimals with its bound; ``n/a`` without a pair, or when
    both medians are bounds."""
    value, bound = bounded_ratio(row, rows)
    return "n/a" if value is None else f"{bound}{value:.2f}"


def _seconds(row: TargetSummary) -> str:
    bound = ">" if row.censored else ""
    return f"{bound}{row.median_seconds:.3g} ({row.q1_seconds:.3g}-{row.q3_seconds:.3g})"


def _energy(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.5f}"


def target_race_table(records: Sequence[TargetRaceRecord]) -> str:
    """The races as one Markdown table: per cell, target, engine and setting, the seeds that
    reached the target, the median (quartiles) of the seconds and the median steps to it,
    seconds per step, the ratio ours / NetKet, and the median final and exact energies."""
    lines = ["| cell | reference | target | engine | setting | reached | seconds to target, "
             "median (q1-q3) | steps | s/step | ratio | final E/N | exact E/N | device |",
             "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for record in records:
        rows = summarise(record)
        device = record.environment.get("device", "")
        cell = f"{record.label or record.cell_id} ({record.n_parameters:,} params)" \
            if record.n_parameters else (record.label or record.cell_id)
        reference = f"{record.reference.get('id')} ({record.reference.get('kind')})"
        for row in rows:
            value = ratio_text(row, [r for r in rows if r.target == row.target])
            lines.append(
                f"| {cell} | {reference} | {row.target:.0e} | {row.engine} | {row.label} | "
                f"{row.reached}/{row.seeds} | {_seconds(row)} | {row.median_steps:.0f} | "
                f"{row.seconds_per_step:.3g} | {value} | "
                f"{_energy(row.final_energy)} | {_energy(row.exact_energy)} | {device} |")
    lines.append("")
    lines.append("Seconds: wall clock from the first step to the confirming evaluation "
                 "(compilation excluded, evaluations included); a seed that never got there "
                 "counts as the budget (its whole run; a run that diverged, its seconds per "
                 "step times the budget) ('>': fewer than half reached it, the median is a "
                 "bound). ratio: nqsbench's fastest setting / this NetKet setting; on nqsbench "
                 "rows, this setting / NetKet's fastest. Below 1: nqsbench is faster; '<' or "
                 "'>': a bound, one median being a bound; n/a: both are.")
    return "\n".join(lines) + "\n"


__all__ = ["DEFAULT_OUR_SETTINGS", "DEFAULT_SEEDS", "OURS", "OUR_SETTINGS", "PEER_SETTINGS",
           "TARGET_RACE_KIND", "TargetRaceRecord", "TargetSummary", "bounded_ratio",
           "load_target_races", "ratio", "ratio_text", "seed_outcome", "summarise",
           "target_race_record", "target_race_table", "write_target_race"]
