"""Effective models of self-learning Monte Carlo: energies H_eff(S) fitted to the exact one.

Classical unit O(3) spins, shape (..., N, 3) with N = L * L (sites row-major as in
:mod:`suite.engine.slmc.geometry`). Both models share one bilinear form,

    H_eff(S) = E0 + sum_{n=1..couplings} J_n sum_{<ij> in shell n} S_i . S_j,

with the pair sum taken as 0.5 * sum_i S_i . (B_n S)_i over the shell matrices B_n, exactly
translation invariant and right on tiny tori where one neighbour is reached by several shifts.

* :class:`LinearEffective` evaluates it on the bare spins (the linear SLMC model).
* :class:`EquivariantTransformer` evaluates it on effective spins S^eff made by the equivariant
  Transformer of Nagai & Tomiya (J. Phys. Soc. Jpn. 93, 114007 (2024), arXiv:2306.11527):
  per layer, block spins Q, K, V = sum_k w_k B_k S (shells 0..block_shells around each site,
  scalar weights, so O(3) and translation equivariant), attention A_i = sum_j ReLU(Q_i . K_j) V_j,
  and S <- normalise(S + A) site by site. With no layers it is the linear model; its E0 and J
  have the linear model's names, so a linear fit can be copied in.
"""

from __future__ import annotations

from functools import lru_cache

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from suite.engine.slmc.geometry import check_size, shell_count, shell_matrices
from suite.errors import ConfigError

EFFECTIVE_KINDS = ("linear", "transformer")
NORM_FLOOR = 1e-12


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_effective(L: int, couplings: int, layers: int = 0, block_shells: int = 1) -> None:
    """Raise :class:`ConfigError` naming the field unless the sizes make an effective model.

    ``L`` >= 2; ``couplings`` and ``block_shells`` in 1..shell_count(L) (the torus's distinct
    nonzero distances); ``layers`` >= 0.
    """
    check_size(L)
    available = shell_count(L)
    for field, value, what in (("couplings", couplings, "coupling shells J_1..J_n"),
                               ("block_shells", block_shells, "shells summed into a block spin")):
        if not _is_int(value) or not 1 <= value <= available:
            raise ConfigError(field, f"must be an integer in 1..{available} ({what}; an {L} x {L} "
                                     f"lattice has {available} distinct distances), got {value!r}")
    if not _is_int(layers) or layers < 0:
        raise ConfigError("layers", f"must be an integer >= 0 (attention layers; 0 is the linear "
                                    f"model), got {layers!r}")


@lru_cache(maxsize=32)
def _shells(L: int, shells: int, include_self: bool) -> np.ndarray:
    """Cached read-only :func:`shell_matrices`."""
    B = shell_matrices(L, shells, include_self=include_self)
    B.setflags(write=False)
    return B


def _check_spins(spins: jax.Array, L: int) -> jax.Array:
    spins = jnp.asarray(spins, jnp.float64)
    if spins.shape[-2:] != (L * L, 3):
        raise ValueError(f"spins must have shape (..., {L * L}, 3) on an {L} x {L} lattice, "
                         f"got {spins.shape}")
    return spins


def bilinear_energy(spins: jax.Array, bonds: jax.Array, E0: jax.Array, J: jax.Array) -> jax.Array:
    """E0 + sum_n J_n * 0.5 * sum_i S_i . (B_n S)_i for ``bonds`` B of shape (n, N, N);
    returns shape spins.shape[:-2]."""
    neighbours = jnp.einsum("nij,...jc->...nic", bonds, spins)
    pairs = 0.5 * jnp.einsum("...ic,...nic->...n", spins, neighbours)
    return E0 + pairs @ J


def normalise(spins: jax.Array) -> jax.Array:
    """Every site's 3-vector divided by its norm (floored at ``NORM_FLOOR``)."""
    norm = jnp.linalg.norm(spins, axis=-1, keepdims=True)
    return spins / jnp.maximum(norm, NORM_FLOOR)


class LinearEffective(nn.Module):
    """The linear SLMC model, E0 + sum_n J_n sum_{<ij>_n} S_i . S_j: (..., N, 3) -> (...).

    Attributes:
        L: side of the periodic square lattice.
        couplings: number of coupling shells (1 = nearest neighbours, 2 = + diagonal, ...).
    """

    L: int
    couplings: int

    def setup(self) -> None:
        check_effective(self.L, self.couplings)
        self.bonds = jnp.asarray(_shells(self.L, self.couplings, False))
        self.E0 = self.param("E0", nn.initializers.zeros, (), jnp.float64)
        self.J = self.param("J", nn.initializers.zeros, (self.couplings,), jnp.float64)

    def __call__(self, spins: jax.Array) -> jax.Array:
        """The effective energy, shape spins.shape[:-2]."""
        return bilinear_energy(_check_spins(spins, self.L), self.bonds, self.E0, self.J)


class SpinAttention(nn.Module):
    """One equivariant attention layer; its parameters are the block-spin weights wQ, wK, wV,
    one per shell 0..block_shells.

    Attributes:
        shells: block_shells + 1, the number of shells (the site itself included) in a block.
    """

    shells: int

    def setup(self) -> None:
        init = nn.initializers.normal(0.1)
        self.wQ = self.param("wQ", init, (self.shells,), jnp.float64)
        self.wK = self.param("wK", init, (self.shells,), jnp.float64)
        self.wV = self.param("wV", init, (self.shells,), jnp.float64)

    def __call__(self, spins: jax.Array, blocks: jax.Array) -> jax.Array:
        """normalise(S + A) from spins S (..., N, 3) and their shell sums B_k S (..., k, N, 3)."""
        Q = jnp.einsum("k,...kic->...ic", self.wQ, blocks)
        K = jnp.einsum("k,...kic->...ic", self.wK, blocks)
        V = jnp.einsum("k,...kic->...ic", self.wV, blocks)
        scores = jnp.einsum("...ic,...jc->...ij", Q, K)
        return normalise(spins + jnp.einsum("...ij,...jc->...ic", jax.nn.relu(scores), V))


class EquivariantTransformer(nn.Module):
    """The linear model's energy on the equivariant Transformer's effective spins:
    (..., N, 3) -> (...).

    Attributes:
        L: side of the periodic square lattice.
        couplings: number of coupling shells of the bilinear energy.
        layers: attention layers (0: exactly :class:`LinearEffective`).
        block_shells: shells beyond the site itself summed into the block spins Q, K, V.
    """

    L: int
    couplings: int
    layers: int
    block_shells: int = 1

    def setup(self) -> None:
        check_effective(self.L, self.couplings, self.layers, self.block_shells)
        self.bonds = jnp.asarray(_shells(self.L, self.couplings, False))
        self.blocks = jnp.asarray(_shells(self.L, self.block_shells, True))
        self.E0 = self.param("E0", nn.initializers.zeros, (), jnp.float64)
        self.J = self.param("J", nn.initializers.zeros, (self.couplings,), jnp.float64)
        self.attention = [SpinAttention(self.block_shells + 1) for _ in range(self.layers)]

    def effective_spins(self, spins: jax.Array) -> jax.Array:
        """S^eff after every attention layer, shape (..., N, 3) (unit vectors when layers > 0)."""
        spins = _check_spins(spins, self.L)
        for layer in self.attention:
            spins = layer(spins, jnp.einsum("kij,...jc->...kic", self.blocks, spins))
        return spins

    def __call__(self, spins: jax.Array) -> jax.Array:
        """The effective energy, shape spins.shape[:-2]."""
        return bilinear_energy(self.effective_spins(spins), self.bonds, self.E0, self.J)


def build_effective(kind: str, L: int, couplings: int, layers: int = 0,
                    block_shells: int = 1) -> nn.Module:
    """An effective model by name, validated now rather than at its first call.

    Args:
        kind: ``linear`` (:class:`LinearEffective`) or ``transformer``
            (:class:`EquivariantTransformer`).
        L, couplings, layers, block_shells: as in the models; ``linear`` takes no layers.

    Raises:
        ConfigError: an unknown ``kind`` (field ``effective_model``) or sizes out of range.
    """
    if kind not in EFFECTIVE_KINDS:
        raise ConfigError("effective_model", f"must be one of {', '.join(EFFECTIVE_KINDS)}, "
                                             f"got {kind!r}")
    check_effective(L, couplings, layers, block_shells)
    if kind == "linear":
        if layers != 0:
            raise ConfigError("layers", f"must be 0 for the linear effective model (the linear "
                                        f"model has no attention layers; use 'transformer'), "
                                        f"got {layers!r}")
        return LinearEffective(L, couplings)
    return EquivariantTransformer(L, couplings, layers, block_shells)


__all__ = ["EFFECTIVE_KINDS", "EquivariantTransformer", "LinearEffective", "SpinAttention",
           "bilinear_energy", "build_effective", "check_effective", "normalise"]
