"""Single-site Metropolis for classical unit spins, any energy function, many chains at once.

One update picks a site uniformly at random in every chain, proposes a new direction uniform on
the sphere (a symmetric proposal, independent of the old direction) and accepts with probability
min(1, exp(-beta (E' - E))): every update satisfies detailed balance with respect to
exp(-beta E(S)) on the product of spheres. A sweep is N updates. The chains are the leading axis;
all of them advance in one ``lax.scan``, with the energy function evaluated on the whole batch
(for the exact model: one batched ``eigvalsh`` per update).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

EnergyFn = Callable[[jax.Array], jax.Array]
"""spins (C, N, 3) -> energies (C,)."""


class ChainState(NamedTuple):
    """Chains of spin configurations and their current energies."""

    spins: jax.Array
    energy: jax.Array


def random_spins(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Independent uniform unit vectors, shape (*shape, 3) (normalised Gaussians)."""
    v = jax.random.normal(key, (*shape, 3), dtype=jnp.float64)
    return v / jnp.linalg.norm(v, axis=-1, keepdims=True)


def start(spins: jax.Array, energy_fn: EnergyFn) -> ChainState:
    """Chains at ``spins`` (C, N, 3) with their energies."""
    return ChainState(spins, energy_fn(spins))


def metropolis_update(key: jax.Array, state: ChainState, energy_fn: EnergyFn,
                      beta: float) -> tuple[ChainState, jax.Array]:
    """One single-site update in every chain; returns the new state and the accepted flags."""
    chains, n_sites, _ = state.spins.shape
    k_site, k_dir, k_acc = jax.random.split(key, 3)
    site = jax.random.randint(k_site, (chains,), 0, n_sites)
    proposal = state.spins.at[jnp.arange(chains), site].set(random_spins(k_dir, (chains,)))
    energy = energy_fn(proposal)
    log_u = jnp.log(jax.random.uniform(k_acc, (chains,), dtype=jnp.float64))
    accept = log_u < -beta * (energy - state.energy)
    spins = jnp.where(accept[:, None, None], proposal, state.spins)
    return ChainState(spins, jnp.where(accept, energy, state.energy)), accept


def metropolis_sweeps(key: jax.Array, state: ChainState, energy_fn: EnergyFn, beta: float,
                      sweeps: int) -> tuple[ChainState, jax.Array]:
    """``sweeps`` x N updates; returns the final state and each chain's acceptance rate."""
    n_sites = state.spins.shape[1]

    def body(carry, k):
        new, accepted = metropolis_update(k, carry, energy_fn, beta)
        return new, accepted

    state, accepted = jax.lax.scan(body, state, jax.random.split(key, sweeps * n_sites))
    return state, accepted.mean(axis=0)


def sample_chain(key: jax.Array, state: ChainState, energy_fn: EnergyFn, beta: float, *,
                 samples: int, sweeps_between: int,
                 observe: Callable[[jax.Array], jax.Array] | None = None):
    """``samples`` configurations per chain, ``sweeps_between`` sweeps apart.

    Returns:
        ``(state, spins, energies, acceptance)``: the final state; the recorded spins
        (samples, C, N, 3), or ``observe(spins)`` of each record when given; the energies
        (samples, C); the acceptance rate per record (samples, C).
    """
    observe = observe or (lambda spins: spins)

    def body(carry, k):
        new, rate = metropolis_sweeps(k, carry, energy_fn, beta, sweeps_between)
        return new, (observe(new.spins), new.energy, rate)

    state, (recorded, energies, rates) = jax.lax.scan(body, state, jax.random.split(key, samples))
    return state, recorded, energies, rates


__all__ = ["ChainState", "EnergyFn", "metropolis_sweeps", "metropolis_update", "random_spins",
           "sample_chain", "start"]
