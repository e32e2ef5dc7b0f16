"""Symmetry projection of a wave function onto the ground state's quantum numbers.

The ViT of Rende & Viteritti is invariant under translations by whole patches (its attention
depends only on relative patch positions and the output sums over patches), but not under the
point group of the square (rotations and reflections) nor under translations by less than a
patch, nor under the global spin flip. Projecting the trained state onto the symmetric sector,

    psi_P(s) = sum_{g in G} psi(g s) + parity * sum_{g in G} psi(-g s),

with G the point group C4v about a site times the translations by (tx, ty), 0 <= tx, ty < b,
restores them (what the authors did by hand in NetKet's ViT tutorial). The projection is onto
the trivial representation with zero momentum: the J1-J2 ground state on an L x L torus with
L even is there (checked by exact diagonalisation on 4 x 4 in ``tests/test_symmetry.py``; for
6 x 6 see Schulz, Ziman, Poilblanc, J. Phys. I 6, 675 (1996)), and its spin-flip parity is
(-1)^(N/2) (a singlet; +1 for every even L, since N/2 = L^2/2 is even).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from suite.engine.lattice import SquareLattice


def point_group_permutations(L: int) -> np.ndarray:
    """The 8 rotations and reflections of the L x L torus about site 0, as site permutations.

    Row ``g`` maps a configuration ``s`` to ``s[perm[g]]`` (the configuration transformed by
    the operation), shape (8, L*L).
    """
    x, y = np.divmod(np.arange(L * L), L)
    images = [(x, y), (-y, x), (-x, -y), (y, -x),  # rotations by 0, 90, 180, 270 degrees
              (x, -y), (-x, y), (y, x), (-y, -x)]  # reflections: two axes, two diagonals
    lattice = SquareLattice(L, L)
    return np.stack([lattice.site(u, v) for u, v in images]).astype(np.int32)


def translation_permutations(L: int, patch: int) -> np.ndarray:
    """The translations by (tx, ty) with 0 <= tx, ty < ``patch``, shape (patch**2, L*L)."""
    x, y = np.divmod(np.arange(L * L), L)
    lattice = SquareLattice(L, L)
    return np.stack([lattice.site(x + tx, y + ty)
                     for tx in range(patch) for ty in range(patch)]).astype(np.int32)


def projection_permutations(L: int, patch: int) -> np.ndarray:
    """Every element of G = translations within a patch x point group, shape (8 patch^2, L*L).

    Composed as ``s[translation][rotation]``; the set is the group (each element once).
    """
    translations = translation_permutations(L, patch)
    rotations = point_group_permutations(L)
    composed = translations[:, rotations].reshape(-1, L * L)  # s[t][r] = s[t[r]]
    return np.unique(composed, axis=0)


def ground_state_flip_parity(n_sites: int) -> int:
    """The spin-flip parity of a singlet of ``n_sites`` spins: (-1)^(N/2)."""
    return -1 if (n_sites // 2) % 2 else 1


def projected_log_amplitudes(log_amplitudes: jax.Array, signs: jax.Array) -> jax.Array:
    """log sum_g signs[g] exp(log_amplitudes[g]) over the first axis, stably.

    Args:
        log_amplitudes: (G, B) complex log psi of the transformed configurations.
        signs: (G,) the characters (+-1).

    Returns:
        (B,) complex; ``-inf`` real part where the projected amplitude vanishes.
    """
    shift = jnp.max(jnp.real(log_amplitudes), axis=0)
    total = jnp.sum(signs[:, None] * jnp.exp(log_amplitudes - shift), axis=0)
    return jnp.log(total) + shift


class SymmetryProjected(nn.Module):
    """``base`` projected onto the trivial representation of ``permutations`` and spin-flip
    ``parity`` (0: no spin-flip projection). Its parameters are ``{"base": base_params}``."""

    base: nn.Module
    permutations: Any
    """(G, N) integer site permutations (a tuple of tuples, so the module stays hashable)"""
    parity: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        perms = jnp.asarray(np.asarray(self.permutations, dtype=np.int32))
        transformed = x[:, perms]  # (B, G, N)
        signs = jnp.ones(perms.shape[0])
        if self.parity:
            transformed = jnp.concatenate([transformed, -transformed], axis=1)
            signs = jnp.concatenate([signs, self.parity * signs])
        batch, n_group, n_sites = transformed.shape
        flat = self.base(transformed.reshape(batch * n_group, n_sites))
        return projected_log_amplitudes(flat.reshape(batch, n_group).T, signs)


def symmetry_projected(model: nn.Module, L: int, patch: int, n_sites: int) -> SymmetryProjected:
    """``model`` projected onto the J1-J2 ground state's symmetry sector (module docstring)."""
    perms = projection_permutations(L, patch)
    return SymmetryProjected(model, tuple(map(tuple, perms.tolist())),
                             ground_state_flip_parity(n_sites))


def projected_parameters(params: Any) -> dict[str, Any]:
    """The parameters of :class:`SymmetryProjected` from those of its base model."""
    return {"base": params}


__all__ = [
    "SymmetryProjected",
    "ground_state_flip_parity",
    "point_group_permutations",
    "projected_log_amplitudes",
    "projected_parameters",
    "projection_permutations",
    "symmetry_projected",
    "translation_permutations",
]
