"""NetKet as a :class:`~suite.perf.time_to_target.RaceEngine`: the time-to-target race's peer.

The problem is the one :mod:`suite.perf.netket` races step by step: our Flax module from the
same initial parameters per seed, our Hamiltonian as NetKet's jax operator, our exchange
proposal, chains, samples, sweeps and discards, ``VMC_SR`` (sample-space kernel where ours
works in sample space). Three optimiser settings separate better defaults from a better
algorithm or engine (:data:`PEER_SETTINGS`):

- ``tutorial``: what NetKet's ViT tutorial recommends, a constant learning rate 0.0075 and
  diagonal shift 1e-4, plain SR;
- ``ours``: exactly the cell's learning-rate and diagonal-shift schedules, plain SR;
- ``spring``: the cell's schedules with SPRING, ``VMC_SR(momentum=...)`` (the cell's own
  ``momentum`` when it sets one, else :data:`SPRING_MOMENTUM`).

Compilation stays off the clock: on the first seed a throwaway driver takes one step and one
evaluation, which fills NetKet's jit caches for the drivers of every later seed (same model,
shapes and settings). NetKet's ``run`` prints a line when a callback stops it; that goes to
standard error.
"""

from __future__ import annotations

import contextlib
import sys

import jax
import numpy as np

from suite.bench.build import build_vmc
from suite.bench.config import RunConfig
from suite.engine.sr import choose_mode
from suite.perf.netket import (
    _exchange_rule,
    _netket,
    exact_energy_per_site,
    netket_problem,
    netket_state,
)
from suite.perf.time_to_target import AfterStep, optimizer_settings
from suite.report.target_races import PEER_SETTINGS

TUTORIAL_LEARNING_RATE = 0.0075
"""NetKet's ViT tutorial: ``optax.sgd(0.0075)``"""
TUTORIAL_DIAG_SHIFT = 1e-4
"""NetKet's ViT tutorial: ``VMC_SR(..., diag_shift=1e-4)``"""
SPRING_MOMENTUM = 0.9
"""the momentum of the ``spring`` setting when the cell sets none (NetKet's docs: values around
0.8 work; 0.9 won the first measurements, issue 21)"""


class NetKetEngine:
    """NetKet's ``VMC_SR`` on a cell in one of :data:`PEER_SETTINGS`."""

    engine = "netket"

    def __init__(self, config: RunConfig, setting: str) -> None:
        if setting not in PEER_SETTINGS:
            raise ValueError(f"unknown NetKet setting {setting!r}; choose one of "
                             f"{', '.join(PEER_SETTINGS)}")
        import optax

        self.nk = _netket()
        self.optax = optax
        self.config = config.validate()
        self.setting = setting
        self.version = self.nk.__version__
        self.vmc = build_vmc(config)  # the initial parameters, and the exact check
        self.hilbert, self.hamiltonian = netket_problem(self.nk, config, self.vmc)
        self.rule = _exchange_rule(self.nk)  # one instance: a new rule class misses the jit caches
        self.driver = None
        self._warm = False

    @property
    def settings(self) -> dict:
        """The optimiser as NetKet gets it (for the record)."""
        if self.setting == "tutorial":
            return {"learning_rate": TUTORIAL_LEARNING_RATE, "diag_shift": TUTORIAL_DIAG_SHIFT,
                    "momentum": None}
        momentum = self.config.optimizer.momentum or SPRING_MOMENTUM
        return optimizer_settings(self.config, momentum if self.setting == "spring" else None)

    def _driver(self, seed: int):
        nk, sampler_config = self.nk, self.config.sampler
        params = self.vmc.init(jax.random.key(seed)).params
        vstate, _ = netket_state(nk, self.config, self.vmc, self.hilbert, self.rule, params, seed)
        use_ntk = choose_mode(self.config.optimizer.sr_mode, sampler_config.n_samples,
                              vstate.n_parameters) == "sample"
        settings = self.settings
        if self.setting == "tutorial":
            learning_rate, diag_shift = settings["learning_rate"], settings["diag_shift"]
        else:  # exactly our schedules
            learning_rate, diag_shift = self.vmc.learning_rate, self.vmc.diag_shift
        return nk.driver.VMC_SR(self.hamiltonian, self.optax.sgd(learning_rate),
                                diag_shift=diag_shift, variational_state=vstate,
                                use_ntk=use_ntk, momentum=settings["momentum"])

    def start(self, seed: int) -> None:
        if not self._warm:  # compile on a throwaway driver
            warm = self._driver(seed)
            with contextlib.redirect_stdout(sys.stderr):
                warm.run(1, show_progress=False)
            self.driver = warm
            self.evaluate()
            self._warm = True
        self.driver = self._driver(seed)

    def run(self, steps: int, after_step: AfterStep) -> None:
        nk, n = self.nk, self.vmc.n_sites

        class Watch(nk.callbacks.AbstractCallback):
            def on_step_end(self, step, log_data, driver):
                energy = float(np.real(log_data[driver._loss_name].mean)) / n
                if not after_step(step, energy):
                    raise nk.callbacks.StopRun("target reached")

        with contextlib.redirect_stdout(sys.stderr):
            self.driver.run(steps, show_progress=False, callback=Watch())

    def evaluate(self) -> float:
        vstate = self.driver.state
        vstate.reset()
        return float(np.real(vstate.expect(self.hamiltonian).mean)) / self.vmc.n_sites

    def final(self) -> tuple[float, float, float | None]:
        vstate = self.driver.state
        per_step = vstate.n_samples
        vstate.n_samples = self.config.evaluation_samples
        stats = vstate.expect(self.hamiltonian)
        vstate.n_samples = per_step
        n = self.vmc.n_sites
        return (float(np.real(stats.mean)) / n, float(stats.error_of_mean) / n,
                exact_energy_per_site(self.vmc, vstate.parameters))


__all__ = ["PEER_SETTINGS", "SPRING_MOMENTUM", "TUTORIAL_DIAG_SHIFT", "TUTORIAL_LEARNING_RATE",
           "NetKetEngine"]
