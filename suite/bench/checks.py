"""What a run can measure after training, beyond the evaluation pass.

* :func:`exact_check`: the trained state's exact energy and Var(H), by enumerating the Sz=0
  sector (lattices up to 4 x 4), set beside the Monte Carlo estimates so that a user sees how
  honest the error bars are.
* :func:`projected_evaluation`: the energy of the trained state projected onto the symmetries
  the ViT lacks (:mod:`suite.engine.symmetry`), from its own Markov chains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

from suite.engine.chunking import map_in_chunks
from suite.engine.exact import exact_expectation
from suite.engine.sampler import MetropolisExchange
from suite.engine.symmetry import projected_parameters, symmetry_projected
from suite.engine.vmc import VMC, VMCState


@dataclass(frozen=True)
class ExactCheck:
    """A state's exact energy statistics next to a Monte Carlo estimate of them."""

    energy_per_site: float
    """<psi|H|psi> / (<psi|psi> N), by enumeration"""
    energy_variance: float
    """<H^2> - <H>^2 (total-energy units, like ``metrics.energy_variance``)"""
    error_bars_apart: float
    """(Monte Carlo energy - exact energy) / Monte Carlo error bar (NaN if the bar is 0)"""

    def to_json(self) -> dict[str, float | None]:
        return {"energy_per_site": self.energy_per_site,
                "energy_variance": self.energy_variance,
                "error_bars_apart": (self.error_bars_apart
                                     if math.isfinite(self.error_bars_apart) else None)}


def exact_check(model, params, hamiltonian, monte_carlo_energy: float,
                monte_carlo_error: float, chunk_size: int | None = 4096) -> ExactCheck:
    """Enumerate the Sz=0 sector: the exact energy per site and Var(H) of ``model`` at
    ``params``, and how many Monte Carlo error bars (per site) the estimate is from it."""
    apply = jax.jit(lambda configs: model.apply({"params": params}, configs))
    exact = exact_expectation(
        lambda configs: np.asarray(map_in_chunks(apply, jax.numpy.asarray(configs), chunk_size)),
        hamiltonian)
    energy = exact.energy / hamiltonian.n_sites
    apart = ((monte_carlo_energy - energy) / monte_carlo_error if monte_carlo_error > 0
             else math.nan)
    return ExactCheck(energy, exact.variance, apart)


def projected_vmc(vmc: VMC, L: int, patch: int) -> VMC:
    """An engine for ``vmc``'s model projected onto the ground state's symmetry sector.

    It samples and measures only (no optimiser). Its chunks hold |G| times fewer samples, so
    the number of network evaluations per call stays what the run configured.
    """
    model = symmetry_projected(vmc.model, L, patch, vmc.n_sites)
    n_group = 2 * len(model.permutations) if model.parity else len(model.permutations)
    base = vmc.sampler
    chunk = None if base.chunk_size is None else max(1, base.chunk_size // n_group)
    sampler = MetropolisExchange(
        base.n_sites, base.n_chains, base.samples_per_chain,
        sweeps_per_sample=base.sweeps_per_sample,
        thermalization_sweeps=base.thermalization_sweeps,
        discard_sweeps=base.discard_sweeps, chunk_size=chunk)
    return VMC(model, vmc.hamiltonian, sampler, learning_rate=0.0, diag_shift=0.0,
               sr_mode=vmc.sr_mode, dtype=vmc.dtype)


def projected_state(projected: VMC, state: VMCState) -> VMCState:
    """``state`` for the projected engine: the same parameters (nested) and chains
    re-thermalised under |psi_P|^2."""
    params = projected_parameters(state.params)
    key = jax.random.fold_in(state.key, 0x5A11)
    thermalize = jax.jit(lambda p, c, k: projected.sampler.thermalize(projected.log_psi(p), c, k))
    chains = thermalize(params, state.sampler, key)
    return state._replace(params=params, sampler=chains)


__all__ = ["ExactCheck", "exact_check", "projected_state", "projected_vmc"]
