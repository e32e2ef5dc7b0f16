"""One self-learning Monte Carlo run: an :class:`SLMCConfig` in, its measured result out.

1. The exact chain (:mod:`suite.engine.slmc.chain` with the double-exchange energy) thermalises
   ``chains`` independent chains from random spins, then records ``train_samples``
   configurations per chain, ``sweeps_between`` sweeps apart: the training data, the test data
   (the later half of every chain) and the reference observables.
2. The effective model: the constant and couplings get their least-squares optimum on the
   training half (for the linear model that *is* the minimum of its convex loss, which AdamW
   would only approach); a Transformer then trains with AdamW for ``epochs``.
3. SLMC (:mod:`suite.engine.slmc.nested`) continues every chain from the exact chain's last
   configuration for ``outer_steps`` steps of ``inner_sweeps`` effective sweeps each.

The exact chain depends only on the physics, its own settings and the seed, so the cells of a
matrix that differ only in their effective model share it: with a cache directory its samples
are kept in ``<cache>/<hash>.npz`` (atomic writes; the hash covers those settings and the suite
version) and a later cell reads them instead of sampling again; its record says so
(``exact_chain_cached``) and carries the seconds per exact sweep measured when they were made.

Every jitted piece is compiled ahead of time (its compile time recorded apart) and timed after
``block_until_ready``. Statistics: the outer acceptance and each observable over independent
chains, with autocorrelation-aware error bars and split-R-hat (:mod:`suite.engine.stats`).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from suite.bench.slmc_config import SLMCConfig
from suite.engine.models import count_parameters
from suite.engine.slmc import chain, nested, training
from suite.engine.slmc.double_exchange import make_spin_energy
from suite.engine.slmc.effective import build_effective
from suite.engine.slmc.observables import OBSERVABLES, make_observer
from suite.engine.stats import chain_statistics, split_r_hat
from suite.report.slmc import loss_from_acceptance
from suite.report.storage import atomic_write
from suite.version import __version__

LOSS_POINTS = 100
"""at most this many points of the training loss go into a record"""
EXACT_CHAIN_KEYS: tuple[str, ...] = ("L", "t", "J", "mu", "temperature", "chains",
                                     "thermalisation", "train_samples", "sweeps_between", "seed")
"""the settings the exact chain depends on (its cache key, with the suite version)"""


@dataclass(frozen=True)
class SLMCResult:
    """What a run measured: ``metrics`` (numbers), ``observables`` (exact and SLMC, per name)
    and ``training`` (the loss per epoch, downsampled)."""

    metrics: dict[str, Any]
    observables: dict[str, dict[str, Any]]
    training: dict[str, Any]


class _Clock:
    """Compile ahead of time and time each call after ``block_until_ready``."""

    def __init__(self) -> None:
        self.compile_seconds = 0.0

    def compile(self, fn: Callable, *args) -> Callable:
        start = time.perf_counter()
        compiled = jax.jit(fn).lower(*args).compile()
        self.compile_seconds += time.perf_counter() - start
        return compiled

    @staticmethod
    def timed(fn: Callable, *args) -> tuple[Any, float]:
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        return out, time.perf_counter() - start


def _statistics(values: np.ndarray) -> dict[str, float | None]:
    """Mean, error, tau and split-R-hat of samples shaped (chains, samples)."""
    stats = chain_statistics(jnp.asarray(values))
    r_hat = float(split_r_hat(jnp.asarray(values)))
    return {"mean": float(stats.mean), "error": float(stats.error),
            "tau": float(stats.tau_corr), "r_hat": r_hat if math.isfinite(r_hat) else None}


def _compare(exact: np.ndarray, slmc: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per observable: exact and SLMC statistics and their difference in combined error bars."""
    out = {}
    for index, name in enumerate(OBSERVABLES):
        a, b = _statistics(exact[..., index].T), _statistics(slmc[..., index].T)
        spread = math.hypot(a["error"], b["error"])
        out[name] = {"exact": a, "slmc": b,
                     "z": (b["mean"] - a["mean"]) / spread if spread > 0 else None}
    return out


def _downsample(values: np.ndarray) -> list[float]:
    if values.size <= LOSS_POINTS:
        return [float(v) for v in values]
    picks = np.unique(np.linspace(0, values.size - 1, LOSS_POINTS).round().astype(int))
    return [float(values[i]) for i in picks]


def _load() -> float:
    """The host's 1-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return 0.0


def exact_chain_key(config: SLMCConfig) -> str:
    """The cache key of ``config``'s exact chain: a hash of :data:`EXACT_CHAIN_KEYS` and the
    suite version."""
    data = {key: getattr(config, key) for key in EXACT_CHAIN_KEYS}
    text = json.dumps({**data, "suite_version": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _sample_exact(config: SLMCConfig, exact: Callable, keys: jax.Array,
                  clock: _Clock) -> dict[str, np.ndarray]:
    """Thermalise and record the exact chains (see the module docstring)."""
    beta = config.beta
    state = chain.start(chain.random_spins(keys[0], (config.chains, config.L ** 2)),
                        jax.jit(exact))
    if config.thermalisation:
        thermalise = clock.compile(
            lambda k, s: chain.metropolis_sweeps(k, s, exact, beta, config.thermalisation),
            keys[1], state)
        (state, _), _ = clock.timed(thermalise, keys[1], state)
    sample = clock.compile(
        lambda k, s: chain.sample_chain(k, s, exact, beta, samples=config.train_samples,
                                        sweeps_between=config.sweeps_between), keys[2], state)
    (state, spins, energies, rates), seconds = clock.timed(sample, keys[2], state)
    return {"spins": np.asarray(spins), "energies": np.asarray(energies),
            "rates": np.asarray(rates), "final_spins": np.asarray(state.spins),
            "seconds_per_exact_sweep": np.asarray(
                seconds / (config.train_samples * config.sweeps_between))}


def exact_chain(config: SLMCConfig, exact: Callable, keys: jax.Array, clock: _Clock,
                cache_dir: Path | None) -> tuple[dict[str, np.ndarray], bool]:
    """The exact chain's samples, from ``cache_dir`` when there, else sampled (and cached).

    Returns:
        The arrays and whether they came from the cache.
    """
    path = None if cache_dir is None else Path(cache_dir) / f"{exact_chain_key(config)}.npz"
    if path is not None and path.is_file():
        with np.load(path) as data:
            return {name: data[name] for name in data.files}, True
    samples = _sample_exact(config, exact, keys, clock)
    if path is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **samples)
        atomic_write(path, buffer.getvalue())
    return samples, False


def run_slmc(config: SLMCConfig, on_stage: Callable[[str], None] | None = None,
             cache_dir: str | Path | None = None) -> SLMCResult:
    """Run ``config`` (validated) end to end; ``on_stage`` hears each stage's name as it starts;
    ``cache_dir`` keeps and reuses exact chains (``None``: always sample)."""
    say = on_stage or (lambda _stage: None)
    L, beta = config.L, config.beta
    keys = jax.random.split(jax.random.PRNGKey(config.seed), 6)
    exact = make_spin_energy(L, t=config.t, J=config.J, beta=beta, mu=config.mu)
    observe = make_observer(L)
    clock = _Clock()
    started = time.perf_counter()

    loads = [_load()]
    say("exact chain")
    samples, cached = exact_chain(config, exact, keys, clock,
                                  None if cache_dir is None else Path(cache_dir))
    spins, energies = jnp.asarray(samples["spins"]), jnp.asarray(samples["energies"])
    exact_observed = np.asarray(observe(spins))  # (samples, chains, observables)

    loads.append(_load())
    say("training")
    half = max(config.train_samples // 2, 1)
    train_x, train_e = spins[:half].reshape(-1, L * L, 3), energies[:half].reshape(-1)
    test_x, test_e = spins[half:].reshape(-1, L * L, 3), energies[half:].reshape(-1)
    if test_x.shape[0] == 0:
        test_x, test_e = train_x, train_e
    model = build_effective(config.effective_model, L, config.couplings, config.layers,
                            config.block_shells)
    params = model.init(keys[3], train_x[:1])["params"]
    params = training.with_linear_fit(params, train_x, train_e, L, config.couplings)
    linear = build_effective("linear", L, config.couplings)
    linear_params = {"E0": params["E0"], "J": params["J"]}
    train_start = time.perf_counter()
    loss = np.zeros(0)
    if config.effective_model != "linear" and config.epochs:
        fit = training.fit(model, params, train_x, train_e, keys[4], epochs=config.epochs,
                           batch_size=config.batch_size, learning_rate=config.learning_rate,
                           weight_decay=config.weight_decay,
                           learning_rate_final=config.learning_rate_final)
        params, loss = jax.block_until_ready(fit.params), np.asarray(fit.loss)
    train_seconds = time.perf_counter() - train_start

    loads.append(_load())
    say("SLMC")

    def effective(x):
        return model.apply({"params": params}, x)

    slmc_state = nested.slmc_start(jnp.asarray(samples["final_spins"]), exact, effective)
    run = clock.compile(
        lambda k, s: nested.slmc_run(k, s, exact, effective, beta, steps=config.outer_steps,
                                     inner_sweeps=config.inner_sweeps, observe=observe),
        keys[5], slmc_state)
    (_, trace), slmc_seconds = clock.timed(run, keys[5], slmc_state)

    loads.append(_load())
    accepted = _statistics(np.asarray(trace.accepted).T)
    acceptance = accepted["mean"]
    metrics = {
        "n_parameters": count_parameters(params),
        "acceptance": acceptance, "acceptance_error": accepted["error"],
        "acceptance_tau": accepted["tau"],
        "inner_acceptance": float(jnp.mean(trace.inner_acceptance)),
        "exact_acceptance": float(np.mean(samples["rates"])),
        "loss_from_acceptance": (loss_from_acceptance(acceptance, beta) if acceptance > 0
                                 else None),
        "train_mse": float(training.mean_squared_error(model, params, train_x, train_e)),
        "test_mse": float(training.mean_squared_error(model, params, test_x, test_e)),
        "linear_test_mse": float(training.mean_squared_error(linear, linear_params, test_x,
                                                             test_e)),
        "energy_per_site": float(jnp.mean(energies)) / (L * L),
        "seconds_per_outer_step": slmc_seconds / config.outer_steps,
        "seconds_per_exact_sweep": float(samples["seconds_per_exact_sweep"]),
        "exact_chain_cached": cached,
        "train_seconds": train_seconds,
        "compile_seconds": clock.compile_seconds,
        "wall_seconds": time.perf_counter() - started,
        "host_load_max": max(loads),
        "training_configurations": int(train_x.shape[0]),
    }
    return SLMCResult(metrics, _compare(exact_observed, np.asarray(trace.observed)),
                      {"loss": _downsample(loss), "epochs": int(loss.size)})


__all__ = ["SLMCResult", "run_slmc"]
