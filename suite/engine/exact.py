"""Exact results in the Sz=0 sector: Lanczos ground states and exact expectation values.

The basis is every N-bit integer with N/2 bits set; bit i set means spin i is up (s_i = +1).
This is the same site numbering as :mod:`suite.engine.lattice`, so a configuration built here can be fed
to any model and to :meth:`suite.engine.hamiltonian.J1J2Hamiltonian.local_energies`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from suite.engine.hamiltonian import J1J2Hamiltonian
from suite.engine.lattice import SquareLattice
from suite.errors import ConfigError

MAX_EXACT_SITES = 26


def sz0_basis(n_sites: int) -> np.ndarray:
    """All basis states with zero magnetisation, as sorted integers (uint64)."""
    if n_sites % 2:
        raise ConfigError("L", f"{n_sites} sites have no Sz=0 sector; use an even number of sites")
    if n_sites > MAX_EXACT_SITES:
        raise ConfigError(
            "L", f"{n_sites} sites are too many for exact enumeration (at most {MAX_EXACT_SITES})"
        )
    states = np.arange(2**n_sites, dtype=np.uint64)
    return states[np.bitwise_count(states) == n_sites // 2]


def basis_configurations(basis: np.ndarray, n_sites: int) -> np.ndarray:
    """Spin configurations (+-1, int8) of the basis states, shape (len(basis), n_sites)."""
    bits = (basis[:, None] >> np.arange(n_sites, dtype=np.uint64)[None, :]) & np.uint64(1)
    return (2 * bits.astype(np.int8) - 1).astype(np.int8)


def sparse_hamiltonian(hamiltonian: J1J2Hamiltonian, basis: np.ndarray) -> sp.csr_matrix:
    """The Hamiltonian restricted to ``basis`` (spin-1/2 units), as a real CSR matrix."""
    n_states = basis.shape[0]
    diagonal = np.zeros(n_states)
    rows, cols, values = [], [], []
    for (i, j), coupling in zip(hamiltonian.bonds, hamiltonian.couplings, strict=True):
        bit_i = (basis >> np.uint64(i)) & np.uint64(1)
        bit_j = (basis >> np.uint64(j)) & np.uint64(1)
        aligned = bit_i == bit_j
        diagonal += np.where(aligned, 0.25, -0.25) * coupling
        source = np.nonzero(~aligned)[0]
        flipped = basis[source] ^ (np.uint64(1 << int(i)) | np.uint64(1 << int(j)))
        rows.append(np.searchsorted(basis, flipped))
        cols.append(source)
        values.append(np.full(source.shape[0], 0.5 * coupling))
    off = sp.coo_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_states, n_states),
    )
    return (off + sp.diags(diagonal)).tocsr()


@dataclass(frozen=True)
class GroundState:
    """The lowest eigenpair in the Sz=0 sector."""

    energy: float
    energy_per_site: float
    vector: np.ndarray
    basis: np.ndarray


def ground_state(hamiltonian: J1J2Hamiltonian) -> GroundState:
    """Lanczos (ARPACK) ground state of ``hamiltonian`` in the Sz=0 sector."""
    n_sites = hamiltonian.n_sites
    basis = sz0_basis(n_sites)
    matrix = sparse_hamiltonian(hamiltonian, basis)
    start = np.random.default_rng(0).standard_normal(basis.shape[0])
    values, vectors = spla.eigsh(matrix, k=1, which="SA", v0=start, tol=1e-13)
    energy = float(values[0])
    return GroundState(energy, energy / n_sites, vectors[:, 0], basis)


@lru_cache(maxsize=32)
def exact_energy_per_site(L: int, J2: float, J1: float = 1.0, Ly: int | None = None) -> float:
    """Exact ground-state energy per site of the J1-J2 model on an L x Ly torus (Ly = L)."""
    lattice = SquareLattice(L, L if Ly is None else Ly)
    return ground_state(J1J2Hamiltonian(lattice, J1, J2)).energy_per_site


@dataclass(frozen=True)
class ExactExpectation:
    """A model's exact energy and |psi|^2 distribution over the whole Sz=0 sector."""

    energy: float
    variance: float
    probabilities: np.ndarray
    configurations: np.ndarray


def exact_expectation(
    log_psi: Callable[[np.ndarray], np.ndarray], hamiltonian: J1J2Hamiltonian
) -> ExactExpectation:
    """<psi|H|psi>/<psi|psi> and <H^2> - <H>^2 of ``log_psi`` by enumerating the Sz=0 sector.

    Args:
        log_psi: maps configurations (B, N) of +-1 to complex log-amplitudes (B,).
        hamiltonian: the Hamiltonian.

    Returns:
        The exact energy (total), its variance, and the normalised probabilities |psi|^2 of every
        basis configuration (in :func:`sz0_basis` order).
    """
    basis = sz0_basis(hamiltonian.n_sites)
    configurations = basis_configurations(basis, hamiltonian.n_sites)
    log_amplitudes = np.asarray(log_psi(configurations), dtype=np.complex128)
    psi = np.exp(log_amplitudes - log_amplitudes.real.max())
    norm = np.vdot(psi, psi).real
    matrix = sparse_hamiltonian(hamiltonian, basis)
    h_psi = matrix @ psi
    energy = np.vdot(psi, h_psi).real / norm
    variance = np.vdot(h_psi, h_psi).real / norm - energy**2
    return ExactExpectation(float(energy), float(variance), np.abs(psi) ** 2 / norm, configurations)
