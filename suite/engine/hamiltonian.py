"""The J1-J2 Heisenberg Hamiltonian in spin-1/2 units and its vectorised local energies.

H = J1 sum_<ij> S_i.S_j + J2 sum_<<ij>> S_i.S_j with S = sigma/2. For spins s = +-1,
S_i.S_j |s> = (J/4) s_i s_j |s> + (J/2) [s_i != s_j] |s with i and j exchanged>.
This module knows nothing about models: it takes any batched log-amplitude function.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from suite.engine.chunking import map_in_chunks
from suite.engine.lattice import SquareLattice

LogPsi = Callable[[jax.Array], jax.Array]
"""A batched log-amplitude: configurations (B, N) of +-1 -> complex log psi (B,)."""

CAPACITY_FRACTIONS: tuple[float, ...] = (0.5, 0.625, 0.75, 0.875, 1.0)
"""Sizes, as fractions of all (sample, bond) pairs, among which the connected configurations of a
chunk are packed (a random Sz=0 state has about half its bonds anti-aligned, a Neel-like one up
to all of its nearest-neighbour bonds)."""


def packing_capacities(total: int) -> list[int]:
    """The capacities, in (sample, bond) pairs, among which a chunk of ``total`` pairs is packed:
    ``CAPACITY_FRACTIONS`` of it, ascending, without repeats."""
    return sorted({max(1, math.ceil(f * total)) for f in CAPACITY_FRACTIONS})


@dataclass(frozen=True)
class J1J2Hamiltonian:
    """Bonds and couplings of the J1-J2 model on a periodic square lattice."""

    lattice: SquareLattice
    J1: float = 1.0
    J2: float = 0.0

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    def _bond_groups(self) -> list[tuple[np.ndarray, float]]:
        """(bonds, coupling) for each kind of bond with a non-zero coupling."""
        groups = [(self.lattice.nearest_neighbour_bonds(), self.J1),
                  (self.lattice.next_nearest_neighbour_bonds(), self.J2)]
        return [(bonds, coupling) for bonds, coupling in groups if coupling != 0]

    @property
    def bonds(self) -> np.ndarray:
        """All bonds with a non-zero coupling, shape (n_bonds, 2)."""
        groups = self._bond_groups()
        if not groups:
            return np.zeros((0, 2), dtype=np.int32)
        return np.concatenate([bonds for bonds, _ in groups])

    @property
    def couplings(self) -> np.ndarray:
        """The coupling of each bond in :attr:`bonds`, shape (n_bonds,)."""
        return np.concatenate([np.full(len(bonds), float(coupling))
                               for bonds, coupling in self._bond_groups()] or [np.zeros(0)])

    def samples_per_chunk(self, chunk_size: int | None) -> int | None:
        """Samples per network call of :meth:`local_energies`, so that a call evaluates at most
        ``chunk_size`` connected configurations (``None``: every sample in one call)."""
        if chunk_size is None:
            return None
        return max(1, chunk_size // max(len(self.bonds), 1))

    def local_energies(
        self,
        log_psi: LogPsi,
        configs: jax.Array,
        log_psi_configs: jax.Array,
        chunk_size: int | None = None,
    ) -> jax.Array:
        """Local energies E_loc(s) = <s|H|psi> / <s|psi> (total, not per site).

        Only the bonds that connect (anti-aligned pairs: exchanging aligned spins changes
        nothing) go through ``log_psi``. Their number varies with the samples, but shapes under
        ``jit`` must not: the anti-aligned (sample, bond) pairs of a chunk are packed into the
        smallest of a few fixed capacities (``CAPACITY_FRACTIONS`` of all pairs) that holds them,
        chosen at run time by ``lax.switch``. Every capacity is compiled once; a step evaluates
        the network on at most 1/8 of all pairs more than it needs.

        Args:
            log_psi: batched log-amplitude, (B, N) -> (B,) complex.
            configs: spin configurations, shape (M, N), entries +-1.
            log_psi_configs: ``log_psi(configs)``, shape (M,), reused to avoid a recomputation.
            chunk_size: at most this many network evaluations per call (``None``: one call).

        Returns:
            complex array of shape (M,).
        """
        bonds = jnp.asarray(self.bonds)
        couplings = jnp.asarray(self.couplings)
        n_bonds = bonds.shape[0]
        if n_bonds == 0:
            return jnp.zeros(configs.shape[0], dtype=log_psi_configs.dtype)
        # exchange_signs[k] multiplies a configuration by -1 on both sites of bond k
        exchange = np.ones((n_bonds, self.n_sites), dtype=np.int8)
        exchange[np.arange(n_bonds), self.bonds[:, 0]] = -1
        exchange[np.arange(n_bonds), self.bonds[:, 1]] = -1
        exchange_signs = jnp.asarray(exchange)

        def chunk_energies(batch):
            sigma, log_psi_sigma = batch
            n_samples = sigma.shape[0]
            s_i = sigma[:, bonds[:, 0]]
            s_j = sigma[:, bonds[:, 1]]
            diagonal = 0.25 * jnp.sum(couplings * s_i * s_j, axis=-1)
            anti_aligned = (s_i != s_j).reshape(-1)
            count = jnp.sum(anti_aligned, dtype=jnp.int32)

            def off_diagonal(capacity: int):
                def evaluate(_):
                    pairs = jnp.nonzero(anti_aligned, size=capacity, fill_value=0)[0]
                    sample, bond = pairs // n_bonds, pairs % n_bonds
                    connected = sigma[sample] * exchange_signs[bond].astype(sigma.dtype)
                    ratios = jnp.exp(log_psi(connected) - log_psi_sigma[sample])
                    used = jnp.arange(capacity) < count
                    terms = jnp.where(used, 0.5 * couplings[bond] * ratios, 0.0)
                    return jax.ops.segment_sum(terms, sample, num_segments=n_samples)
                return evaluate

            capacities = packing_capacities(n_samples * n_bonds)
            branch = jnp.searchsorted(jnp.asarray(capacities), count)
            return diagonal + jax.lax.switch(branch, [off_diagonal(c) for c in capacities], None)

        return map_in_chunks(chunk_energies, (configs, log_psi_configs),
                             self.samples_per_chunk(chunk_size))
