"""Time to accuracy: how long an engine takes, in wall-clock seconds, until its energy is good
enough, per seed.

One *seed run* (:func:`run_seed`) starts an engine from the seed's initial parameters (compiled
beforehand, so compilation is never on the clock), runs up to the step budget and watches the
training energy of every step with one :class:`~suite.report.targets.TargetWatch` per target:
when the running mean over the last few steps comes within a target, an evaluation pass on fresh
samples confirms it (a failed confirmation waits the window out), and the target's step and
seconds are those of the confirmation. The seconds are the wall clock from the first step, so
they include the evaluation passes and the engine's own overhead between steps: what a user
waits for. After the budget (or, with ``stop_at_target``, once every target is confirmed) a
final evaluation with more samples and, up to 4 x 4, the exact energy of the final state are
measured off the clock.

An engine is anything with the :class:`RaceEngine` methods: :class:`OurEngine` here, NetKet's
in :mod:`suite.perf.netket_target`. :func:`race_seeds` runs several engines on the same seeds,
alternating their order from seed to seed so that a drift of the machine's speed does not
favour one.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import jax
import numpy as np

from suite.bench.build import build_vmc
from suite.bench.config import RunConfig
from suite.perf.netket import exact_energy_per_site
from suite.report.targets import WINDOW, TargetWatch, target_key

AfterStep = Callable[[int, float], bool]
"""called by an engine after every step with the step index and the step's training energy per
site; returns ``False`` to stop the run"""


class RaceEngine(Protocol):
    """One engine in one configuration, able to run seeds one after another."""

    engine: str
    """``nqsbench`` or ``netket``"""
    setting: str
    """which configuration: ``ours``, ``tutorial``, ``spring``, ..."""
    version: str
    """the engine's version (for the record)"""
    settings: dict[str, Any]
    """the optimiser as the engine runs it (for the record)"""

    def start(self, seed: int) -> None:
        """A fresh state from the seed's initial parameters, everything compiled (off the clock)."""

    def run(self, steps: int, after_step: AfterStep) -> None:
        """Up to ``steps`` optimisation steps, calling ``after_step`` after each."""

    def evaluate(self) -> float:
        """The energy per site of the current state on a fresh batch of training-size samples."""

    def final(self) -> tuple[float, float, float | None]:
        """Energy per site and its error from a larger evaluation, and the exact energy per
        site of the current state where the lattice is small enough (else ``None``)."""


@dataclass(frozen=True)
class SeedRun:
    """What one engine did from one seed.

    Attributes:
        seed: the seed (initial parameters and chains).
        targets: per target key (``1e-03``): ``step`` (0-based, the confirmed one), ``seconds``
            (wall clock from the first step, evaluations included), ``energy`` (the confirming
            evaluation); ``None`` each where the run never got there.
        steps: steps taken.
        seconds: wall clock of the whole run (evaluations included).
        seconds_per_step: median duration of a step (evaluations excluded).
        evaluations: confirmation passes run (successful or not).
        final_energy, final_error: the final state's energy per site from the larger evaluation.
        exact_energy: the final state's exact energy per site (``None`` above 4 x 4).
        diverged: a training energy was not finite (the run stopped there).
        discarded_sweeps: the mean sweeps discarded per step (``None`` where the engine does
            not say; nqsbench's adaptive sampling chooses them).
    """

    seed: int
    targets: dict[str, dict[str, Any]]
    steps: int
    seconds: float
    seconds_per_step: float
    evaluations: int
    final_energy: float
    final_error: float
    exact_energy: float | None = None
    diverged: bool = False
    discarded_sweeps: float | None = None
    step_seconds: list[float] = field(default_factory=list, repr=False)


def run_seed(engine: RaceEngine, seed: int, reference: float, targets: Sequence[float],
             budget: int, *, window: int = WINDOW, stop_at_target: bool = False,
             clock: Callable[[], float] = time.perf_counter) -> SeedRun:
    """Run ``engine`` from ``seed`` for at most ``budget`` steps, timing each target.

    Args:
        engine: a :class:`RaceEngine`.
        seed: the seed.
        reference: the reference energy per site.
        targets: relative errors (each gets its own watch; one evaluation confirms all the
            targets that are candidates at the same step).
        budget: the most steps.
        window: steps in the running mean of the watches.
        stop_at_target: stop once every target is confirmed (else run the whole budget).
        clock: seconds (``time.perf_counter``; a test passes a fake).

    Returns:
        :class:`SeedRun`.
    """
    engine.start(seed)
    watches = {target_key(t): TargetWatch(reference, t, window) for t in targets}
    found: dict[str, dict[str, Any]] = {key: {"step": None, "seconds": None, "energy": None}
                                        for key in watches}
    durations: list[float] = []
    counts = {"evaluations": 0, "steps": 0, "diverged": False}
    start = clock()
    last = [start]

    def after_step(step: int, energy: float) -> bool:
        durations.append(clock() - last[0])
        counts["steps"] = step + 1
        if not math.isfinite(energy):
            counts["diverged"] = True
            return False
        pending = [key for key, hit in found.items() if hit["step"] is None]
        candidates = [key for key in pending if watches[key].observe(energy)]
        if candidates:
            evaluated = engine.evaluate()
            counts["evaluations"] += 1
            for key in candidates:
                if watches[key].reached(evaluated):
                    found[key] = {"step": step, "seconds": clock() - start, "energy": evaluated}
                else:
                    watches[key].reject()
        last[0] = clock()
        return not (stop_at_target and all(hit["step"] is not None for hit in found.values()))

    engine.run(budget, after_step)
    seconds = clock() - start
    final_energy, final_error, exact = engine.final()
    return SeedRun(seed=seed, targets=found, steps=counts["steps"], seconds=seconds,
                   seconds_per_step=statistics.median(durations) if durations else math.nan,
                   evaluations=counts["evaluations"], final_energy=final_energy,
                   final_error=final_error, exact_energy=exact, diverged=counts["diverged"],
                   discarded_sweeps=getattr(engine, "discarded_sweeps", None),
                   step_seconds=durations)


def race_seeds(engines: Sequence[RaceEngine], seeds: Sequence[int], reference: float,
               targets: Sequence[float], budget: int, *, window: int = WINDOW,
               stop_at_target: bool = False,
               report: Callable[[RaceEngine, SeedRun], None] | None = None
               ) -> dict[tuple[str, str], list[SeedRun]]:
    """Every engine on every seed, the order of the engines rotated by one from seed to seed.

    Returns:
        ``{(engine, setting): [SeedRun per seed, in seed order]}``.
    """
    runs: dict[tuple[str, str], list[SeedRun]] = {(e.engine, e.setting): [] for e in engines}
    for position, seed in enumerate(seeds):
        shift = position % len(engines)
        for engine in [*engines[shift:], *engines[:shift]]:
            run = run_seed(engine, seed, reference, targets, budget, window=window,
                           stop_at_target=stop_at_target)
            runs[(engine.engine, engine.setting)].append(run)
            if report is not None:
                report(engine, run)
    return {key: sorted(value, key=lambda r: r.seed) for key, value in runs.items()}


def optimizer_settings(config: RunConfig, momentum: float | None) -> dict[str, Any]:
    """The cell's learning-rate and diagonal-shift schedules (``[kind, initial, final]``) and
    a momentum, as a race record states what an engine got."""
    optimizer = config.optimizer
    return {"learning_rate": [optimizer.learning_rate_schedule, optimizer.learning_rate,
                              optimizer.learning_rate_final],
            "diag_shift": [optimizer.diag_shift_schedule, optimizer.diag_shift,
                           optimizer.diag_shift_final],
            "momentum": momentum}


class OurEngine:
    """nqsbench on a cell: the cell's own step (SR, with SPRING where the cell sets
    ``momentum``), compiled ahead of time once; the evaluation pass likewise."""

    engine = "nqsbench"

    def __init__(self, config: RunConfig, setting: str = "ours") -> None:
        from suite.version import __version__

        self.config = config.validate()
        self.setting = setting
        self.version = __version__
        self.vmc = build_vmc(config)
        self._step = self._evaluate = self._final = None
        self.state = None
        self.discarded_sweeps: float | None = None
        """the mean sweeps the last run discarded per step"""

    @property
    def settings(self) -> dict[str, Any]:
        """The optimiser and the sampling's discarded sweeps as this engine runs them (for the
        record)."""
        sampler = self.config.sampler
        return {**optimizer_settings(self.config, self.config.optimizer.momentum or None),
                "discard_sweeps": sampler.discard_sweeps,
                "decorrelation": sampler.decorrelation or None}

    def initial_state(self, seed: int):
        """The seed's initial parameters and thermalised chains (the NetKet engine starts from
        the same parameters)."""
        return self.vmc.init(jax.random.key(seed))

    def start(self, seed: int) -> None:
        self.state = self.initial_state(seed)
        if self._step is None:
            vmc, sampler = self.vmc, self.config.sampler
            per_chain = sampler.samples_per_chain
            final_per_chain = self.config.evaluation_samples // sampler.chains
            self._step = jax.jit(vmc.step).lower(self.state).compile()
            self._evaluate = jax.jit(lambda s: vmc.evaluate(s, per_chain)[0]).lower(
                self.state).compile()
            self._final = jax.jit(lambda s: vmc.evaluate(s, final_per_chain)[0]).lower(
                self.state).compile()

    def run(self, steps: int, after_step: AfterStep) -> None:
        discarded = []
        for step in range(steps):
            self.state, info = self._step(self.state)
            discarded.append(info.discarded_sweeps)  # read once, after the run
            if not after_step(step, float(info.energy)):
                break
        self.discarded_sweeps = float(np.mean(jax.device_get(discarded))) if discarded else None

    def evaluate(self) -> float:
        return float(self._evaluate(self.state).mean) / self.vmc.n_sites

    def final(self) -> tuple[float, float, float | None]:
        stats = self._final(self.state)
        n = self.vmc.n_sites
        return (float(stats.mean) / n, float(stats.error) / n,
                exact_energy_per_site(self.vmc, self.state.params))


__all__ = ["AfterStep", "OurEngine", "RaceEngine", "SeedRun", "optimizer_settings", "race_seeds",
           "run_seed"]
