"""Observables of classical spin configurations (..., N, 3) on the L x L lattice."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from suite.engine.slmc.geometry import coordinates, staggered_signs


def magnetisation(spins: jax.Array) -> jax.Array:
    """|sum_i S_i| / N, shape (...)."""
    return jnp.linalg.norm(spins.mean(axis=-2), axis=-1)


def staggered_magnetisation(spins: jax.Array, L: int) -> jax.Array:
    """|sum_i (-1)^(x_i + y_i) S_i| / N, the Neel order parameter, shape (...)."""
    signs = jnp.asarray(staggered_signs(L))
    return jnp.linalg.norm(jnp.einsum("i,...ia->...a", signs, spins) / (L * L), axis=-1)


def structure_factor(spins: jax.Array, L: int, q: tuple[float, float]) -> jax.Array:
    """S(q) = |sum_i exp(i q . r_i) S_i|^2 / N, shape (...)."""
    phase = np.exp(1j * coordinates(L) @ np.asarray(q, dtype=float))
    amplitude = jnp.einsum("i,...ia->...a", jnp.asarray(phase), spins.astype(jnp.complex128))
    return jnp.sum(jnp.abs(amplitude) ** 2, axis=-1) / (L * L)


def make_observer(L: int):
    """spins (C, N, 3) -> (C, 3): magnetisation, staggered magnetisation, S(pi, pi)."""

    def observe(spins: jax.Array) -> jax.Array:
        return jnp.stack([magnetisation(spins), staggered_magnetisation(spins, L),
                          structure_factor(spins, L, (np.pi, np.pi))], axis=-1)

    return observe


OBSERVABLES = ("magnetisation", "staggered_magnetisation", "structure_factor_pi_pi")
"""The names of :func:`make_observer`'s columns, in order."""


__all__ = ["OBSERVABLES", "magnetisation", "make_observer", "staggered_magnetisation",
           "structure_factor"]
