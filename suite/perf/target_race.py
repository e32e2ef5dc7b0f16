"""The time-to-target race against NetKet, cell by cell: ``nqsbench compare netket --metric
time-to-target``.

For each cell: nqsbench with the cell's settings (``ours``), where the cell does not already
use them with SPRING (``spring``: the cell's settings plus ``momentum``) and with adaptive
sampling (``adaptive``: plus ``decorrelation``, chosen with ``--our-settings``), then NetKet in its three
settings (:data:`suite.perf.netket_target.PEER_SETTINGS`), every one on the same seeds from the
same initial parameters, the engines' order rotating from seed to seed
(:func:`suite.perf.time_to_target.race_seeds`). The cell's ``target`` setting is the relative
error raced to (several with ``--target``); ``steps`` is the budget of a seed run. One record
per cell (:mod:`suite.report.target_races`), then the table.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from suite.bench.config import RunConfig
from suite.bench.provenance import environment, git_state, utc_now
from suite.engine.models import count_parameters
from suite.perf.netket_target import PEER_SETTINGS, SPRING_MOMENTUM, NetKetEngine
from suite.perf.time_to_target import OurEngine, SeedRun, race_seeds
from suite.report.references import find_reference
from suite.report.target_races import (
    DEFAULT_OUR_SETTINGS,
    DEFAULT_SEEDS,
    TargetRaceRecord,
    target_race_record,
    target_race_table,
    write_target_race,
)
from suite.report.targets import WINDOW


class RaceSetupError(ValueError):
    """A cell cannot be raced to a target (no reference, no target); the message says why."""


ADAPTIVE_DECORRELATION = 0.1
"""the ``adaptive`` setting's ``decorrelation`` (when the cell sets none): the next step's
samples keep at most this autocorrelation with the step's first, in log|psi|"""


def with_momentum(config: RunConfig, momentum: float) -> RunConfig:
    """``config`` with SPRING's momentum set."""
    return dataclasses.replace(config, optimizer=dataclasses.replace(config.optimizer,
                                                                     momentum=momentum))


def with_decorrelation(config: RunConfig, decorrelation: float) -> RunConfig:
    """``config`` with adaptive sampling (:mod:`suite.engine.sampler`)."""
    return dataclasses.replace(config, sampler=dataclasses.replace(config.sampler,
                                                                   decorrelation=decorrelation))


def _engines(config: RunConfig, our_settings: Sequence[str],
             peer_settings: Sequence[str]) -> list:
    """nqsbench's settings (those the cell does not already use), then NetKet's."""
    engines = [OurEngine(config, "ours")] if "ours" in our_settings else []
    if "spring" in our_settings and config.optimizer.momentum == 0:
        engines.append(OurEngine(with_momentum(config, SPRING_MOMENTUM), "spring"))
    if "adaptive" in our_settings and config.sampler.decorrelation == 0:
        engines.append(OurEngine(with_decorrelation(config, ADAPTIVE_DECORRELATION), "adaptive"))
    return engines + [NetKetEngine(config, setting) for setting in peer_settings]


def _run_json(run: SeedRun) -> dict:
    out = dataclasses.asdict(run)
    out.pop("step_seconds")
    return out


def race_cell_to_target(cell, *, seeds: Sequence[int], targets: Sequence[float],
                        stop_at_target: bool = False,
                        peer_settings: Sequence[str] = PEER_SETTINGS,
                        our_settings: Sequence[str] = DEFAULT_OUR_SETTINGS) -> TargetRaceRecord:
    """Race every engine on one cell; the record (with provenance), not yet written.

    Raises:
        RaceSetupError: the cell has no reference energy.
    """
    config = cell.config
    reference = _reference(cell)
    engines = _engines(config, our_settings, peer_settings)
    if not engines:
        raise RaceSetupError("no engine to race: choose at least one of --our-settings or "
                             "--peer-settings")

    def report(engine, run: SeedRun) -> None:
        hits = ", ".join(f"{key}: " + ("not reached" if hit["step"] is None else
                                       f"step {hit['step']}, {hit['seconds']:.1f} s")
                         for key, hit in run.targets.items())
        print(f"{cell.id} seed {run.seed} {engine.engine} {engine.setting}: {hits}; "
              f"{run.steps} steps in {run.seconds:.1f} s, final E/N {run.final_energy:.5f}",
              file=sys.stderr, flush=True)

    runs = race_seeds(engines, seeds, reference.energy_per_site, targets,
                      config.optimizer.steps, window=WINDOW, stop_at_target=stop_at_target,
                      report=report)
    entries = [{"engine": e.engine, "version": e.version, "setting": e.setting,
                "settings": e.settings,
                "runs": [_run_json(r) for r in runs[(e.engine, e.setting)]]} for e in engines]
    n_parameters = count_parameters(engines[0].state.params)
    return target_race_record(
        cell_id=cell.id, label=cell.label, config=config.to_dict(),
        reference={"id": reference.id, "energy_per_site": reference.energy_per_site,
                   "kind": reference.kind},
        targets=targets, budget=config.optimizer.steps, window=WINDOW,
        stop_at_target=stop_at_target, seeds=list(seeds), n_parameters=n_parameters,
        engines=entries, environment=environment(), git=git_state(), finished_at=utc_now())


def _reference(cell):
    """The cell's reference energy.

    Raises:
        RaceSetupError: there is none.
    """
    system = cell.config.system
    reference = find_reference(system.L, system.J2, system.J1)
    if reference is None:
        raise RaceSetupError(f"cell {cell.id} ({cell.label}): no reference energy for L={system.L}"
                             f" J2/J1={system.J2 / system.J1:g}; the race needs one (nqsbench "
                             "references lists them)")
    return reference


def race_cells_to_target(cells, results_dir: str | Path | None, *, seeds: Sequence[int],
                         targets: Sequence[float] | None = None, stop_at_target: bool = False,
                         peer_settings: Sequence[str] = PEER_SETTINGS,
                         our_settings: Sequence[str] = DEFAULT_OUR_SETTINGS) -> str:
    """Race each cell (:func:`race_cell_to_target`), write each record under
    ``results_dir/compare/`` (``None``: print only) and return the Markdown table.

    ``targets`` replaces every cell's own ``target`` setting.

    Raises:
        RaceSetupError: a cell has no target or no reference (checked for every cell first).
    """
    plans = []
    for cell in cells:
        cell_targets = list(targets) if targets else (
            [cell.config.target] if cell.config.target is not None else [])
        if not cell_targets:
            raise RaceSetupError(f"cell {cell.id} ({cell.label}) sets no target: add `target = "
                                 "...` (a relative error) to its matrix or pass --target")
        _reference(cell)
        plans.append((cell, cell_targets))
    records = []
    for cell, cell_targets in plans:
        record = race_cell_to_target(cell, seeds=seeds, targets=cell_targets,
                                     stop_at_target=stop_at_target, peer_settings=peer_settings,
                                     our_settings=our_settings)
        if results_dir is not None:
            write_target_race(results_dir, record)
        records.append(record)
    return target_race_table(records)


__all__ = ["DEFAULT_SEEDS", "RaceSetupError", "race_cell_to_target", "race_cells_to_target",
           "with_momentum"]
