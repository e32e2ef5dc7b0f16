"""Stochastic reconfiguration: the gradient is exact; both linear-algebra forms agree."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import log_psi_of
from jax.experimental import sparse as jsparse
from jax.flatten_util import ravel_pytree

from suite.bench.build import build_model
from suite.bench.config import ModelConfig
from suite.engine.exact import exact_expectation, sparse_hamiltonian, sz0_basis
from suite.engine.models import init_parameters
from suite.engine.sampler import MetropolisExchange
from suite.engine.sr import solve_positive_definite, sr_direction
from suite.engine.vmc import VMC


@pytest.mark.parametrize("model_config", [
    ModelConfig(attention="factored", layers=1, d=4, heads=2, patch=2),
    ModelConfig(model="rbm", alpha=1),
], ids=["factored", "rbm"])
def test_sr_gradient_equals_exact_energy_gradient(model_config, hamiltonian_4x4):
    hamiltonian = hamiltonian_4x4[0.5]
    model = build_model(model_config, 4)
    params = init_parameters(model, jax.random.key(4), 16)
    params = jax.tree_util.tree_map(
        lambda p: p + 0.3 * jax.random.normal(jax.random.key(5), p.shape), params)
    vmc = VMC(model, hamiltonian, MetropolisExchange(16, n_chains=16, chunk_size=16384),
              learning_rate=0.02, diag_shift=1e-3)
    exact = exact_expectation(log_psi_of(model, params), hamiltonian)
    configs = jnp.asarray(exact.configurations)
    e_loc = vmc.local_energies(params, configs, vmc.log_psi(params)(configs))
    jacobian = vmc.per_sample_jacobian(params, configs)
    solution = sr_direction(jacobian, e_loc, 1e-3, "parameter",
                            weights=jnp.asarray(exact.probabilities))

    matrix = jsparse.BCOO.from_scipy_sparse(sparse_hamiltonian(hamiltonian, sz0_basis(16)))

    def energy(flat):
        log_psi = model.apply({"params": unravel(flat)}, configs)
        psi = jnp.exp(log_psi - jax.lax.stop_gradient(jnp.max(log_psi.real)))
        return jnp.real(jnp.vdot(psi, matrix @ psi)) / jnp.real(jnp.vdot(psi, psi))

    flat, unravel = ravel_pytree(params)
    assert float(energy(flat)) == pytest.approx(exact.energy, abs=1e-10)
    exact_gradient = np.asarray(jax.grad(energy)(flat))
    np.testing.assert_allclose(np.asarray(solution.gradient), exact_gradient,
                               atol=1e-10 * np.abs(exact_gradient).max())
    assert np.abs(exact_gradient).max() > 1e-3


@pytest.mark.parametrize(("n_samples", "n_parameters"), [(20, 50), (50, 20)])
def test_sample_and_parameter_space_give_the_same_direction(n_samples, n_parameters):
    rng = np.random.default_rng(0)
    jacobian = jnp.asarray(rng.standard_normal((n_samples, 2, n_parameters)))
    e_loc = jnp.asarray(rng.standard_normal(n_samples) + 1j * rng.standard_normal(n_samples))
    in_samples = sr_direction(jacobian, e_loc, 1e-2, "sample")
    in_parameters = sr_direction(jacobian, e_loc, 1e-2, "parameter")
    np.testing.assert_allclose(np.asarray(in_samples.direction),
                               np.asarray(in_parameters.direction), rtol=1e-9, atol=1e-12)
    # and both equal the explicit (S + lambda)^-1 grad with S built by hand
    o = np.asarray(jacobian)
    o = (o[:, 0] + 1j * o[:, 1]) - (o[:, 0] + 1j * o[:, 1]).mean(axis=0)
    s = np.real(o.conj().T @ o) / n_samples
    de = np.asarray(e_loc) - np.asarray(e_loc).mean()
    gradient = 2 * np.real(o.conj().T @ de) / n_samples
    expected = np.linalg.solve(s + 1e-2 * np.eye(n_parameters), gradient)
    np.testing.assert_allclose(np.asarray(in_parameters.direction), expected, rtol=1e-9)


def test_non_positive_definite_solve_falls_back_without_nan():
    matrix = jnp.diag(jnp.array([2.0, 1.0, -1e-3]))
    rhs = jnp.array([2.0, 1.0, 5.0])
    x, used_fallback = jax.jit(solve_positive_definite)(matrix, rhs)
    assert bool(used_fallback)
    assert np.all(np.isfinite(np.asarray(x)))
    np.testing.assert_allclose(np.asarray(x), [1.0, 1.0, 0.0], atol=1e-12)
    x, used_fallback = solve_positive_definite(jnp.eye(3) * 2.0, rhs)
    assert not bool(used_fallback)
    np.testing.assert_allclose(np.asarray(x), np.asarray(rhs) / 2.0)
