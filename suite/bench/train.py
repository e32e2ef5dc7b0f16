"""One optimisation run, config in, result out: build, compile, optimise, evaluate.

Timing follows the suite's rules: the step is compiled ahead of time (``jit(...).lower().compile()``)
and that compile time is reported apart; every step is timed after ``block_until_ready``; the
reported seconds per step is the median over all optimisation steps.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import numpy as np

from suite.bench.build import build_vmc
from suite.bench.checkpoint import TRACE_FIELDS, Checkpoint
from suite.bench.checks import ExactCheck, exact_check, projected_state, projected_vmc
from suite.bench.config import RunConfig
from suite.bench.signals import StopRequested
from suite.engine.models import count_parameters
from suite.engine.sharding import (
    check_divisible,
    replicated,
    sample_mesh,
    select_devices,
    shard_state,
    state_shardings,
)
from suite.engine.stats import Stats
from suite.engine.vmc import VMC, StepInfo, VMCState
from suite.errors import DivergenceError

StepCallback = Callable[[int, StepInfo, float], None]


@dataclass(frozen=True)
class Evaluation:
    """Energy of the final state from a dedicated sampling pass (no parameter update)."""

    energy: float
    """energy per site"""
    error: float
    """its autocorrelation-aware error bar, per site"""
    variance: float
    """Var(H) of the local energy (total-energy units)"""
    tau_corr: float
    acceptance: float
    n_samples: int
    sampling_bias_bound: float = 0.0
    """bound on the energy bias from sampling in another precision, per site (``suite.engine.precision``)"""
    r_hat: float = math.nan
    """split-R-hat of the local energies over the chains (NaN with fewer than 4 samples each)"""


@dataclass(frozen=True)
class TrainResult:
    """The outcome of :func:`train`."""

    config: RunConfig
    n_parameters: int
    evaluation: Evaluation
    seconds_per_step: float
    compile_seconds: float
    total_seconds: float
    trace: dict[str, np.ndarray] = field(repr=False)
    """per-step arrays: ``energy``, ``error``, ``variance``, ``acceptance``, ``seconds``
    (the whole run, including steps taken before a resume)"""
    state: VMCState = field(repr=False)
    n_timed_steps: int = 0
    """steps timed in this process (the rest of ``trace`` comes from a checkpoint)"""
    n_devices: int = 1
    """devices the samples were split over (seconds per step are of the whole run)"""
    exact: ExactCheck | None = None
    """the trained state's exact energy and Var(H) (``exact_check``), else ``None``"""
    projected: Evaluation | None = None
    """the evaluation of the symmetry-projected state (``symmetry_projection``), else ``None``"""
    projected_exact: ExactCheck | None = None
    """the projected state's exact energy and Var(H) (both options on), else ``None``"""
    host_load_max: float | None = None
    """the highest 1-minute load average of the host seen after a step of this process
    (``None`` where the platform has none): above the core count, other work shared the CPU
    and the step times are inflated"""


def _check_finite(step: int, info: StepInfo) -> None:
    for name in ("energy", "error", "variance"):
        value = float(getattr(info, name))
        if not math.isfinite(value):
            raise DivergenceError(step, f"{name} is {value}")


def evaluate(vmc: VMC, state: VMCState, n_samples: int) -> Evaluation:
    """Energy statistics of ``state`` from ``n_samples`` fresh samples (a multiple of chains)."""
    per_chain = n_samples // vmc.sampler.n_chains
    run = jax.jit(lambda s: vmc.evaluate(s, per_chain))
    stats, acceptance, bias, r_hat = jax.device_get(run(state))
    stats = Stats(*(float(x) for x in stats))
    n = vmc.n_sites
    return Evaluation(stats.mean / n, stats.error / n, stats.variance, stats.tau_corr,
                      float(acceptance), per_chain * vmc.sampler.n_chains, float(bias) / n,
                      float(r_hat))


def train(config: RunConfig, on_step: StepCallback | None = None,
          resume: Checkpoint | None = None,
          on_checkpoint: Callable[[Checkpoint], None] | None = None,
          checkpoint_every_steps: int | None = None,
          checkpoint_every_seconds: float | None = None,
          devices: str | int | None = "all", vmc: VMC | None = None,
          should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Optimise the configured model, then evaluate it with ``config.evaluation_samples`` samples.

    Args:
        config: the run; validated here unless ``vmc`` is given (built from it, so validated).
        on_step: called after every step with ``(step, info, seconds)`` (e.g. a progress bar).
        resume: continue from this checkpoint instead of a fresh initialisation; its trace is
            kept, so the result is that of the run that was never interrupted.
        on_checkpoint: called with the progress so far every ``checkpoint_every_steps`` steps
            and/or every ``checkpoint_every_seconds`` seconds, and once more if the run is
            interrupted (``KeyboardInterrupt``, which the runner also raises on SIGTERM), before
            the interruption propagates.
        devices: ``"all"`` or a number of devices; with more than one, the samples are split
            over them (``suite.engine.sharding``) and the step gives the single-device update.
        vmc: the engine of ``config`` when the caller has built it already
            (:func:`suite.bench.build.build_vmc`); built here otherwise.
        should_stop: asked after compilation, after every step and before the evaluation
            (e.g. :data:`suite.bench.signals.STOP`); when it answers ``True``, the progress is
            checkpointed and :class:`~suite.bench.signals.StopRequested` raised.

    Returns:
        :class:`TrainResult`.

    Raises:
        DivergenceError: the energy or its statistics became non-finite.
    """
    start = time.perf_counter()
    if vmc is None:
        vmc = build_vmc(config)  # validates the configuration
    if resume is None:
        resume = Checkpoint.fresh(vmc.init(jax.random.key(config.seed)))
    mesh = sample_mesh(select_devices(devices))
    check_divisible(config.sampler.chains, mesh)
    vmc.mesh = mesh
    state = shard_state(resume.state, mesh)
    n_parameters = count_parameters(state.params)

    compile_start = time.perf_counter()
    shardings = None if mesh is None else (state_shardings(state, mesh), replicated(mesh))
    step_fn = jax.jit(vmc.step, out_shardings=shardings).lower(state).compile()
    compile_seconds = time.perf_counter() - compile_start

    first_step = int(state.step)
    n_steps = max(config.optimizer.steps - first_step, 0)
    trace = {name: np.concatenate([resume.trace[name], np.full(n_steps, np.nan)])
             for name in TRACE_FIELDS}
    done = first_step  # steps whose results are in both ``state`` and ``trace``
    last_saved, last_saved_at = done, time.perf_counter()

    load_max = None

    def progress() -> Checkpoint:
        return Checkpoint(state, {name: values[:done].copy() for name, values in trace.items()})

    def stop_if_asked() -> None:
        if should_stop is not None and should_stop():
            raise StopRequested("a signal asked the run to stop")

    if on_checkpoint is not None and done == 0:  # a kill before the first periodic one
        on_checkpoint(progress())                # still finds the compiled cell's start
    try:
        stop_if_asked()
        while done < config.optimizer.steps:
            tick = time.perf_counter()
            new_state, info = step_fn(state)
            info = jax.device_get(jax.block_until_ready(info))
            seconds = time.perf_counter() - tick
            _check_finite(done, info)
            for name in ("energy", "error", "variance", "acceptance"):
                trace[name][done] = float(getattr(info, name))
            trace["seconds"][done] = seconds
            load_max = _max_or_none(load_max, _load_average())
            state, done = new_state, done + 1
            if on_step is not None:
                on_step(done - 1, info, seconds)
            if on_checkpoint is not None and (
                (checkpoint_every_steps and done - last_saved >= checkpoint_every_steps)
                or (checkpoint_every_seconds is not None
                    and time.perf_counter() - last_saved_at >= checkpoint_every_seconds)
            ):
                on_checkpoint(progress())
                last_saved, last_saved_at = done, time.perf_counter()
            stop_if_asked()
    except KeyboardInterrupt:
        if on_checkpoint is not None and done > last_saved:
            on_checkpoint(progress())
        raise

    try:
        stop_if_asked()
        evaluation = evaluate(vmc, state, config.evaluation_samples)
        if not math.isfinite(evaluation.energy):
            raise DivergenceError(config.optimizer.steps,
                                  f"evaluated energy is {evaluation.energy}")
        stop_if_asked()
        checks = after_training(config, vmc, state, evaluation)
        stop_if_asked()
    except KeyboardInterrupt:  # the steps are done: keep them
        if on_checkpoint is not None and done > last_saved:
            on_checkpoint(progress())
        raise
    seconds_per_step = float(np.median(trace["seconds"])) if len(trace["seconds"]) else math.nan
    return TrainResult(config, n_parameters, evaluation, seconds_per_step, compile_seconds,
                       time.perf_counter() - start, trace, state, n_timed_steps=n_steps,
                       n_devices=1 if mesh is None else mesh.size, host_load_max=load_max,
                       **checks)


def _load_average() -> float | None:
    """The host's 1-minute load average (``None`` where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


def _max_or_none(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def after_training(config: RunConfig, vmc: VMC, state: VMCState, evaluation: Evaluation
                   ) -> dict[str, ExactCheck | Evaluation | None]:
    """The optional measurements of the trained state: ``exact_check`` and
    ``symmetry_projection`` (:mod:`suite.bench.checks`), as :class:`TrainResult` fields."""
    found: dict[str, ExactCheck | Evaluation | None] = {}
    chunk = vmc.chunk_size
    if config.exact_check:
        found["exact"] = exact_check(vmc.model, state.params, vmc.hamiltonian,
                                     evaluation.energy, evaluation.error, chunk)
    if config.symmetry_projection:
        projected = projected_vmc(vmc, config.system.L, config.model.patch)
        projected_start = projected_state(projected, state)
        found["projected"] = evaluate(projected, projected_start, config.evaluation_samples)
        if config.exact_check:
            found["projected_exact"] = exact_check(
                projected.model, projected_start.params, vmc.hamiltonian,
                found["projected"].energy, found["projected"].error, projected.chunk_size)
    return found
