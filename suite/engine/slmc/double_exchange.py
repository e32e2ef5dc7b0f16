"""The semi-classical double-exchange model: classical unit spins coupled to free electrons.

    H = -t sum_<ij>,s (c^dag_is c_js + h.c.) + (J / 2) sum_i S_i . (c^dag_i sigma c_i)

on the L x L periodic square lattice (Nagai & Tomiya, J. Phys. Soc. Jpn. 93, 114007 (2024),
eq. (3) of arXiv:2310.13222): S_i are classical unit O(3) vectors, sigma the Pauli matrices, so
J couples S_i to the electron spin s = sigma / 2 (J S . s). The sign of J does not matter for the
spins' distribution (S -> -S maps J to -J and keeps the uniform measure). The electrons are
traced out exactly: for each spin configuration the one-body Hamiltonian h(S) (2N x 2N, Hermitian)
is diagonalised, and in the grand-canonical ensemble at chemical potential mu and temperature T
the spin configuration has the weight

    P(S) ~ Tr_fermions exp(-beta (H - mu N_e)) = prod_n (1 + exp(-beta (eps_n(S) - mu)))
         = exp(-beta Omega(S)),  Omega(S) = -T sum_n log(1 + exp(-beta (eps_n - mu))),

so Omega, the electrons' grand potential, is the energy of the spin chain. At mu = 0 the lattice
is half filled for every S (bipartite hopping: the spectrum is symmetric about zero).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from suite.engine.slmc.geometry import hopping_matrix

PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)
"""sigma_x, sigma_y, sigma_z, shape (3, 2, 2)."""


def one_body_hamiltonian(spins: jax.Array, hopping: jax.Array, *, t: float,
                         J: float) -> jax.Array:
    """h(S) for spins of shape (..., N, 3): shape (..., 2N, 2N), complex, basis index 2 i + s.

    Args:
        spins: unit vectors per site.
        hopping: the N x N nearest-neighbour matrix K (:func:`geometry.hopping_matrix`).
        t: hopping; J: spin-electron coupling (h_i = (J / 2) S_i . sigma on site i).
    """
    n = hopping.shape[0]
    kinetic = -t * jnp.kron(jnp.asarray(hopping), jnp.eye(2))
    local = 0.5 * J * jnp.einsum("...ia,abc->...ibc", spins.astype(jnp.complex128),
                                 jnp.asarray(PAULI))
    site = jnp.eye(n)
    exchange = jnp.einsum("ij,...ibc->...ibjc", site, local).reshape(*spins.shape[:-2], 2 * n,
                                                                     2 * n)
    return kinetic + exchange


def grand_potential(eigenvalues: jax.Array, *, beta: float, mu: float) -> jax.Array:
    """Omega = -T sum_n log(1 + exp(-beta (eps_n - mu))), over the last axis, overflow-free."""
    return -jnp.sum(jnp.logaddexp(0.0, -beta * (eigenvalues - mu)), axis=-1) / beta


def spin_energy(spins: jax.Array, hopping: jax.Array, *, t: float, J: float, beta: float,
                mu: float) -> jax.Array:
    """The exact energy Omega(S) of spin configurations (..., N, 3): shape (...)."""
    h = one_body_hamiltonian(spins, hopping, t=t, J=J)
    return grand_potential(jnp.linalg.eigvalsh(h), beta=beta, mu=mu)


def make_spin_energy(L: int, *, t: float, J: float, beta: float, mu: float):
    """``spin_energy`` on the L x L lattice with its couplings bound: spins -> Omega(S)."""
    hopping = jnp.asarray(hopping_matrix(L))

    def energy(spins: jax.Array) -> jax.Array:
        return spin_energy(spins, hopping, t=t, J=J, beta=beta, mu=mu)

    return energy


__all__ = ["PAULI", "grand_potential", "make_spin_energy", "one_body_hamiltonian",
           "spin_energy"]
