"""Local energies are exact: the |psi|^2-weighted mean over the whole Sz=0 sector equals
<psi|H|psi>/<psi|psi> computed with the sparse Hamiltonian, for every model."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SMALL_MODELS, log_psi_of, random_model

from suite.engine.exact import exact_expectation


@pytest.mark.parametrize("J2", [0.0, 0.5])
@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
def test_weighted_local_energy_equals_exact_expectation(name, J2, hamiltonian_4x4):
    hamiltonian = hamiltonian_4x4[J2]
    model, params = random_model(name)
    log_psi = log_psi_of(model, params)
    exact = exact_expectation(log_psi, hamiltonian)
    configs = jnp.asarray(exact.configurations)
    e_loc = hamiltonian.local_energies(log_psi, configs, log_psi(configs), chunk_size=4096)
    weighted = np.sum(exact.probabilities * np.asarray(e_loc))
    assert abs(weighted.imag) < 1e-10
    assert weighted.real == pytest.approx(exact.energy, abs=1e-10)
    # the distribution is far from uniform, so the check is not trivial
    assert exact.probabilities.max() / exact.probabilities.min() > 10


def test_chunking_does_not_change_local_energies(hamiltonian_4x4):
    model, params = random_model("factored")
    log_psi = log_psi_of(model, params)
    configs = jnp.asarray(exact_expectation(log_psi, hamiltonian_4x4[0.5]).configurations[:37])
    reference = hamiltonian_4x4[0.5].local_energies(log_psi, configs, log_psi(configs), None)
    chunked = hamiltonian_4x4[0.5].local_energies(log_psi, configs, log_psi(configs), 64 * 5)
    np.testing.assert_allclose(np.asarray(chunked), np.asarray(reference), rtol=1e-12)


def _neel(L: int) -> np.ndarray:
    x, y = np.divmod(np.arange(L * L), L)
    pattern = np.where((x + y) % 2 == 0, 1, -1).astype(np.int8)
    return np.stack([pattern, -pattern])


@pytest.mark.parametrize(("J2", "pick", "fraction"), [
    (0.0, "neel", 1.0),      # every nearest-neighbour bond anti-aligned: the largest capacity
    (0.5, "neel", 0.5),      # next-nearest bonds all aligned: exactly half, the smallest capacity
    (0.5, "sector", None),   # the whole sector: chunks of every mixture
])
def test_each_configuration_matches_the_sparse_hamiltonian(J2, pick, fraction, hamiltonian_4x4):
    """Per configuration, E_loc(s) = (H psi)(s) / psi(s), whichever packing capacity is used."""
    from suite.engine.exact import sparse_hamiltonian, sz0_basis

    hamiltonian = hamiltonian_4x4[J2]
    model, params = random_model("t5")
    log_psi = log_psi_of(model, params)
    exact = exact_expectation(log_psi, hamiltonian)
    basis_configs = exact.configurations
    psi = np.exp(np.asarray(log_psi(jnp.asarray(basis_configs)), dtype=np.complex128))
    h_psi = sparse_hamiltonian(hamiltonian, sz0_basis(hamiltonian.n_sites)) @ psi
    rows = {tuple(c): i for i, c in enumerate(basis_configs.astype(int))}
    configs = _neel(4) if pick == "neel" else basis_configs
    if fraction is not None:
        s_i, s_j = configs[:, hamiltonian.bonds[:, 0]], configs[:, hamiltonian.bonds[:, 1]]
        assert np.mean(s_i != s_j) == fraction
    index = np.array([rows[tuple(c)] for c in configs.astype(int)])
    configs = jnp.asarray(configs)
    e_loc = hamiltonian.local_energies(log_psi, configs, log_psi(configs), chunk_size=64 * 97)
    np.testing.assert_allclose(np.asarray(e_loc), h_psi[index] / psi[index], rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("name", ["t5", "rbm"])
def test_var_h_is_the_variance_of_the_complex_local_energy(name, hamiltonian_4x4):
    """<H^2> - <H>^2 from the sparse Hamiltonian equals the |psi|^2-weighted variance of the
    complex local energy, not of its real part; the estimator computes the former."""
    from suite.engine.exact import sparse_hamiltonian, sz0_basis
    from suite.engine.stats import local_energy_statistics

    hamiltonian = hamiltonian_4x4[0.5]
    model, params = random_model(name)
    log_psi = log_psi_of(model, params)
    exact = exact_expectation(log_psi, hamiltonian)
    configs = jnp.asarray(exact.configurations)
    e_loc = np.asarray(hamiltonian.local_energies(log_psi, configs, log_psi(configs), 4096))
    psi = np.exp(np.asarray(log_psi(configs), dtype=np.complex128))
    h_psi = sparse_hamiltonian(hamiltonian, sz0_basis(16)) @ psi
    norm = np.vdot(psi, psi).real
    var_h = np.vdot(h_psi, h_psi).real / norm - (np.vdot(psi, h_psi).real / norm) ** 2
    p = exact.probabilities
    weighted = np.sum(p * np.abs(e_loc - np.sum(p * e_loc)) ** 2)
    real_part_only = np.sum(p * (e_loc.real - np.sum(p * e_loc.real)) ** 2)
    assert weighted == pytest.approx(var_h, rel=1e-9)
    assert real_part_only < 0.99 * var_h  # the imaginary parts carry a visible share
    sample = e_loc[:1024].reshape(64, 16)  # the estimator on (chains, samples per chain)
    stats = local_energy_statistics(jnp.asarray(sample))
    assert float(stats.variance) == pytest.approx(
        np.mean(np.abs(sample - sample.mean()) ** 2), rel=1e-12)
    assert float(stats.mean) == pytest.approx(sample.real.mean(), rel=1e-12)
