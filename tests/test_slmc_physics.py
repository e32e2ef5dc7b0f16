"""The double-exchange model's exact weight, the Metropolis chain and the nested SLMC chain."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import suite.engine  # noqa: F401  (float64)
from suite.engine.slmc import chain, nested
from suite.engine.slmc.double_exchange import (
    make_spin_energy,
    one_body_hamiltonian,
    spin_energy,
)
from suite.engine.slmc.geometry import (
    coordinates,
    distance_shells,
    hopping_matrix,
    shell_matrices,
    staggered_signs,
)
from suite.engine.slmc.observables import (
    magnetisation,
    staggered_magnetisation,
    structure_factor,
)
from suite.errors import ConfigError


def unit_spins(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(*shape, 3))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


# ---------------------------------------------------------------- geometry


def test_hopping_matrix_counts_the_four_shifts():
    assert np.array_equal(hopping_matrix(2), 2 * np.array([[0, 1, 1, 0], [1, 0, 0, 1],
                                                           [1, 0, 0, 1], [0, 1, 1, 0]]))
    K = hopping_matrix(4)
    assert np.array_equal(K, K.T) and set(np.unique(K)) == {0.0, 1.0}
    assert np.array_equal(K.sum(axis=1), np.full(16, 4.0))


def test_distance_shells_of_the_6x6_torus():
    shell, radii = distance_shells(6)
    assert np.allclose(radii ** 2, [0, 1, 2, 4, 5, 8, 9, 10, 13, 18])
    assert [int((shell[0] == k).sum()) for k in range(len(radii))] == [1, 4, 4, 4, 8, 4, 2, 4,
                                                                        4, 1]
    assert np.array_equal(shell, shell.T)


def test_shell_matrices_reject_a_shell_the_lattice_lacks():
    with pytest.raises(ConfigError, match="shells"):
        shell_matrices(2, 3, include_self=False)
    with pytest.raises(ConfigError, match="L"):
        coordinates(1)


# ---------------------------------------------------------------- the exact weight


def fock_grand_potential(spins: np.ndarray, L: int, t: float, J: float, beta: float,
                         mu: float) -> float:
    """-T log Tr exp(-beta (H - mu N)) in the 2^(2N)-dimensional Fock space (Jordan-Wigner)."""
    modes = 2 * L * L
    lower = np.array([[0.0, 1.0], [0.0, 0.0]])
    z = np.diag([1.0, -1.0])

    def annihilate(m: int) -> np.ndarray:
        ops = [z] * m + [lower] + [np.eye(2)] * (modes - m - 1)
        out = ops[0]
        for op in ops[1:]:
            out = np.kron(out, op)
        return out

    c = [annihilate(m) for m in range(modes)]
    h = np.asarray(one_body_hamiltonian(jnp.asarray(spins), jnp.asarray(hopping_matrix(L)),
                                        t=t, J=J))
    H = sum(h[a, b] * c[a].conj().T @ c[b] for a in range(modes) for b in range(modes))
    number = sum(op.conj().T @ op for op in c)
    energies = np.linalg.eigvalsh(H - mu * number)
    shift = energies.min()
    return float(shift - np.log(np.exp(-beta * (energies - shift)).sum()) / beta)


@pytest.mark.parametrize("mu", [0.0, 0.7])
def test_grand_potential_equals_the_fock_space_trace_on_2x2(mu):
    spins = unit_spins(1, (4,))
    ours = float(spin_energy(jnp.asarray(spins), jnp.asarray(hopping_matrix(2)), t=1.0, J=2.0,
                             beta=1.5, mu=mu))
    assert ours == pytest.approx(fock_grand_potential(spins, 2, 1.0, 2.0, 1.5, mu), rel=1e-12)


def test_one_body_spectrum_is_particle_hole_symmetric():
    h = one_body_hamiltonian(jnp.asarray(unit_spins(2, (16,))), jnp.asarray(hopping_matrix(4)),
                             t=1.0, J=3.0)
    assert np.allclose(np.asarray(h), np.asarray(h).conj().T, atol=0)
    eps = np.linalg.eigvalsh(np.asarray(h))
    assert np.allclose(eps, -eps[::-1], atol=1e-12)


def test_free_and_ferromagnetic_spectra():
    L, t, J = 4, 1.0, 3.0
    k = 2 * np.pi * coordinates(L) / L
    band = np.sort(-2 * t * (np.cos(k[:, 0]) + np.cos(k[:, 1])))
    free = one_body_hamiltonian(jnp.asarray(unit_spins(3, (16,))), jnp.asarray(hopping_matrix(L)),
                                t=t, J=0.0)
    assert np.allclose(np.linalg.eigvalsh(np.asarray(free)), np.sort(np.repeat(band, 2)),
                       atol=1e-12)
    parallel = np.tile(unit_spins(4, (1,)), (16, 1))
    ferro = one_body_hamiltonian(jnp.asarray(parallel), jnp.asarray(hopping_matrix(L)), t=t, J=J)
    assert np.allclose(np.linalg.eigvalsh(np.asarray(ferro)),
                       np.sort(np.concatenate([band - J / 2, band + J / 2])), atol=1e-12)


def test_energy_is_invariant_under_a_global_rotation():
    energy = make_spin_energy(4, t=1.0, J=2.0, beta=5.0, mu=0.0)
    spins = unit_spins(5, (3, 16))
    q, _ = np.linalg.qr(np.random.default_rng(6).normal(size=(3, 3)))
    assert np.allclose(energy(jnp.asarray(spins @ q.T)), energy(jnp.asarray(spins)), rtol=1e-12)


# ---------------------------------------------------------------- observables


def test_observables_of_ordered_states():
    L = 4
    up = np.tile([0.0, 0.0, 1.0], (16, 1))
    neel = up * staggered_signs(L)[:, None]
    assert float(magnetisation(jnp.asarray(up))) == pytest.approx(1.0, abs=1e-15)
    assert float(staggered_magnetisation(jnp.asarray(up), L)) == pytest.approx(0.0, abs=1e-15)
    assert float(staggered_magnetisation(jnp.asarray(neel), L)) == pytest.approx(1.0, abs=1e-15)
    assert float(structure_factor(jnp.asarray(neel), L, (np.pi, np.pi))) == pytest.approx(16.0)
    assert float(structure_factor(jnp.asarray(up), L, (np.pi, np.pi))) == pytest.approx(0.0,
                                                                                     abs=1e-12)


# ---------------------------------------------------------------- the chains sample exp(-beta E)

L2, T2, J2, BETA2, MU2 = 2, 1.0, 2.0, 2.0, 0.0


@pytest.fixture(scope="module")
def reference_bins():
    """Bin edges of Omega on 2x2 and the exact probability of each bin, by reweighting 400,000
    independent uniform configurations with exp(-beta Omega)."""
    energy = make_spin_energy(L2, t=T2, J=J2, beta=BETA2, mu=MU2)
    spins = chain.random_spins(jax.random.PRNGKey(11), (400_000, 4))
    omega = np.asarray(jax.jit(energy)(spins))
    weights = np.exp(-BETA2 * (omega - omega.min()))
    order = np.argsort(omega)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    edges = np.interp(np.linspace(0, 1, 11)[1:-1], cumulative, omega[order])
    probability = np.bincount(np.digitize(omega, edges), weights=weights, minlength=10)
    ess = weights.sum() ** 2 / (weights ** 2).sum()
    assert ess > 100_000  # the reference's own noise is negligible beside the chains'
    return edges, probability / probability.sum()


def chi_square_p(omega: np.ndarray, edges: np.ndarray, probability: np.ndarray) -> float:
    counts = np.bincount(np.digitize(omega, edges), minlength=len(probability))
    return float(stats.chisquare(counts, probability * len(omega)).pvalue)


def metropolis_final_energies(beta: float, seed: int) -> np.ndarray:
    energy = make_spin_energy(L2, t=T2, J=J2, beta=BETA2, mu=MU2)
    state = chain.start(chain.random_spins(jax.random.PRNGKey(seed), (4000, 4)), energy)
    run = jax.jit(lambda k, s: chain.metropolis_sweeps(k, s, energy, beta, 40))
    final, _ = run(jax.random.PRNGKey(seed + 1), state)
    return np.asarray(final.energy)


def test_metropolis_samples_the_exact_distribution(reference_bins):
    assert chi_square_p(metropolis_final_energies(BETA2, 21), *reference_bins) > 1e-3


def test_chi_square_rejects_a_chain_at_the_wrong_temperature(reference_bins):
    """The check above can fail: the same chain at twice the inverse temperature is caught."""
    assert chi_square_p(metropolis_final_energies(2 * BETA2, 21), *reference_bins) < 1e-6


def test_slmc_with_a_poor_effective_model_is_still_exact(reference_bins):
    """A deliberately wrong effective model (a ferromagnetic nearest-neighbour coupling) only
    lowers the acceptance: the outer test keeps the distribution exact. Its proposals rarely
    reach the low-energy (antiferromagnetic) states, so the chains need about 200 outer steps
    to forget their uniform start (after 40 the lowest bin is still 25 % short, p = 3e-6)."""
    exact = make_spin_energy(L2, t=T2, J=J2, beta=BETA2, mu=MU2)
    B = jnp.asarray(shell_matrices(L2, 1, include_self=False)[0])

    def poor(spins):
        return -0.5 * jnp.einsum("...ia,ij,...ja->...", spins, B, spins)

    state = nested.slmc_start(chain.random_spins(jax.random.PRNGKey(31), (4000, 4)), exact, poor)
    run = jax.jit(lambda k, s: nested.slmc_run(k, s, exact, poor, BETA2, steps=200,
                                               inner_sweeps=2, observe=lambda x: x[:, 0, 0]))
    final, trace = run(jax.random.PRNGKey(32), state)
    assert 0.2 < float(trace.accepted.mean()) < 0.95
    assert chi_square_p(np.asarray(final.exact), *reference_bins) > 1e-3


def test_slmc_with_the_exact_model_accepts_every_proposal():
    exact = make_spin_energy(L2, t=T2, J=J2, beta=BETA2, mu=MU2)
    state = nested.slmc_start(chain.random_spins(jax.random.PRNGKey(41), (8, 4)), exact, exact)
    _, trace = nested.slmc_run(jax.random.PRNGKey(42), state, exact, exact, BETA2, steps=5,
                               inner_sweeps=1, observe=lambda x: x[:, 0, 0])
    assert np.array_equal(np.asarray(trace.accepted), np.ones((5, 8)))
    assert 0.0 < float(trace.inner_acceptance.mean()) < 1.0


def test_chain_acceptance_rates_and_unit_spins():
    energy = make_spin_energy(3, t=1.0, J=2.0, beta=BETA2, mu=0.0)
    state = chain.start(chain.random_spins(jax.random.PRNGKey(51), (6, 9)), energy)
    final, rate = chain.metropolis_sweeps(jax.random.PRNGKey(52), state, energy, BETA2, 2)
    assert rate.shape == (6,) and np.all((rate >= 0) & (rate <= 1))
    assert np.allclose(np.linalg.norm(np.asarray(final.spins), axis=-1), 1.0, atol=1e-14)
    assert np.allclose(energy(final.spins), final.energy, rtol=1e-13)


def test_fock_helper_agrees_with_itself_on_free_electrons():
    """The brute-force trace at J = 0: -T sum over the band of log(1 + e^(-beta eps)), twice."""
    k = 2 * np.pi * coordinates(2) / 2
    band = -2 * (np.cos(k[:, 0]) + np.cos(k[:, 1])) * 1.0
    expected = -2 * np.sum(np.logaddexp(0, -1.5 * band)) / 1.5
    got = fock_grand_potential(unit_spins(7, (4,)), 2, 1.0, 0.0, 1.5, 0.0)
    assert got == pytest.approx(expected, rel=1e-12)
