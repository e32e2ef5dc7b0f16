"""Self-learning Monte Carlo: the nested chain and its outer acceptance rate.

From the current configuration S, an inner Metropolis chain of ``inner_sweeps`` sweeps under the
effective model proposes S' (Liu, Qi, Meng & Fu, Phys. Rev. B 95, 041101 (2017); Nagai & Tomiya,
eq. (2) of arXiv:2310.13222). Since the inner chain satisfies detailed balance for
exp(-beta H_eff), the proposal probabilities obey T(S -> S') / T(S' -> S) = exp(-beta (H_eff(S')
- H_eff(S))), and the outer test

    A(S -> S') = min(1, exp(-beta [(Omega(S') - Omega(S)) - (H_eff(S') - H_eff(S))]))

makes the outer chain exact for exp(-beta Omega): one exact evaluation (one ``eigvalsh``) per
outer step instead of one per single-site update. Its acceptance rate measures how well H_eff
reproduces Omega: 1 for a perfect effective model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from suite.engine.slmc.chain import ChainState, EnergyFn, metropolis_sweeps


class SLMCState(NamedTuple):
    """The outer chains: spins (C, N, 3), exact energies (C,), effective energies (C,)."""

    spins: jax.Array
    exact: jax.Array
    effective: jax.Array


class SLMCTrace(NamedTuple):
    """Per outer step and chain: accepted (0/1), the observation after the step, the inner
    chain's acceptance rate."""

    accepted: jax.Array
    observed: jax.Array
    inner_acceptance: jax.Array


def slmc_start(spins: jax.Array, exact_fn: EnergyFn, effective_fn: EnergyFn) -> SLMCState:
    """Outer chains at ``spins`` with both energies."""
    return SLMCState(spins, exact_fn(spins), effective_fn(spins))


def slmc_step(key: jax.Array, state: SLMCState, exact_fn: EnergyFn, effective_fn: EnergyFn,
              beta: float, inner_sweeps: int) -> tuple[SLMCState, jax.Array, jax.Array]:
    """One outer step in every chain: returns the state, the accepted flags and the inner
    acceptance rates."""
    k_inner, k_outer = jax.random.split(key)
    inner, inner_rate = metropolis_sweeps(k_inner, ChainState(state.spins, state.effective),
                                          effective_fn, beta, inner_sweeps)
    exact = exact_fn(inner.spins)
    log_ratio = -beta * ((exact - state.exact) - (inner.energy - state.effective))
    log_u = jnp.log(jax.random.uniform(k_outer, log_ratio.shape, dtype=jnp.float64))
    accept = log_u < log_ratio
    new = SLMCState(jnp.where(accept[:, None, None], inner.spins, state.spins),
                    jnp.where(accept, exact, state.exact),
                    jnp.where(accept, inner.energy, state.effective))
    return new, accept, inner_rate


def slmc_run(key: jax.Array, state: SLMCState, exact_fn: EnergyFn, effective_fn: EnergyFn,
             beta: float, *, steps: int, inner_sweeps: int,
             observe: Callable[[jax.Array], jax.Array]) -> tuple[SLMCState, SLMCTrace]:
    """``steps`` outer steps in one ``lax.scan``; ``observe(spins (C, N, 3))`` after each."""

    def body(carry, k):
        new, accept, rate = slmc_step(k, carry, exact_fn, effective_fn, beta, inner_sweeps)
        return new, SLMCTrace(accept.astype(jnp.float64), observe(new.spins), rate)

    return jax.lax.scan(body, state, jax.random.split(key, steps))


__all__ = ["SLMCState", "SLMCTrace", "slmc_run", "slmc_start", "slmc_step"]
