"""SPRING (SR with momentum, Goldshlager, Abrahamsen & Lin 2024): the closed form in both solvers
and both modes, plain SR at momentum 0, the previous direction carried by the VMC state, and the
``momentum`` setting.

Float64 throughout; the solver comparisons are to 1e-10 relative to the largest component.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from suite.bench.build import build_vmc
from suite.bench.config import ModelConfig, OptimizerConfig, RunConfig, SamplerConfig, SystemConfig
from suite.bench.matrix import config_hash
from suite.engine.sr import sample_jacobian, sr_direction, sr_direction_chunked
from suite.engine.vmc import SpringState
from suite.errors import ConfigError

TOLERANCE = 1e-10
SHIFT = 0.05
MOMENTUM = 0.8


def _close(actual, expected, tolerance=TOLERANCE):
    expected = np.asarray(expected)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=0,
                               atol=tolerance * np.abs(expected).max())


def _random_problem(n_samples: int, n_parameters: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    jacobian = rng.normal(size=(n_samples, 2, n_parameters))
    e_loc = rng.normal(size=n_samples) + 1j * rng.normal(size=n_samples)
    previous = rng.normal(size=n_parameters)
    return jacobian, e_loc, previous


def _x_and_e(jacobian, e_loc, weights=None):
    """X (2M, P) and e (2M,) from their definitions: centred with the weighted mean, scaled by
    sqrt(w), Re rows above Im rows."""
    n_samples = jacobian.shape[0]
    w = np.full(n_samples, 1.0 / n_samples) if weights is None else np.asarray(weights)
    centred = (jacobian - np.einsum("s,sap->ap", w, jacobian)) * np.sqrt(w)[:, None, None]
    de = (e_loc - np.sum(w * e_loc)) * np.sqrt(w)
    return (np.concatenate([centred[:, 0], centred[:, 1]]),
            np.concatenate([de.real, de.imag]))


def _normal_equations(X, e, previous, shift=SHIFT, momentum=MOMENTUM):
    """(S + lambda I) phi = 2 X^T e + lambda mu phi_prev, solved by numpy."""
    metric = X.T @ X + shift * np.eye(X.shape[1])
    return np.linalg.solve(metric, 2 * X.T @ e + shift * momentum * previous)


# P < 2M and P > 2M, each solved in both spaces
@pytest.mark.parametrize(("n_samples", "n_parameters"), [(8, 5), (3, 11)])
@pytest.mark.parametrize("mode", ["sample", "parameter"])
def test_direction_solves_the_normal_equations_and_minimises_the_objective(
        n_samples, n_parameters, mode):
    jacobian, e_loc, previous = _random_problem(n_samples, n_parameters)
    X, e = _x_and_e(jacobian, e_loc)
    solution = sr_direction(jnp.asarray(jacobian), jnp.asarray(e_loc), SHIFT, mode,
                            momentum=MOMENTUM, previous=jnp.asarray(previous))
    phi = np.asarray(solution.direction)
    expected = _normal_equations(X, e, previous)
    np.testing.assert_allclose(phi, expected, rtol=TOLERANCE)
    _close(solution.gradient, 2 * X.T @ e)  # the plain gradient, unchanged by the momentum
    assert not bool(solution.used_fallback)
    # the argmin of ||X phi - 2e||^2 + lambda ||phi - mu phi_prev||^2: its gradient vanishes
    objective_gradient = 2 * X.T @ (X @ phi - 2 * e) + 2 * SHIFT * (phi - MOMENTUM * previous)
    scale = np.abs(2 * X.T @ (X @ phi)).max() + np.abs(4 * X.T @ e).max()
    assert np.abs(objective_gradient).max() < TOLERANCE * scale
    # and it is not the plain SR direction
    plain = np.asarray(sr_direction(jnp.asarray(jacobian), jnp.asarray(e_loc), SHIFT,
                                    mode).direction)
    assert np.abs(phi - plain).max() > 1e-3 * np.abs(plain).max()


def test_weighted_samples_solve_the_normal_equations():
    jacobian, e_loc, previous = _random_problem(6, 9, seed=3)
    weights = np.random.default_rng(4).uniform(0.1, 1.0, 6)
    weights /= weights.sum()
    X, e = _x_and_e(jacobian, e_loc, weights)
    for mode in ("sample", "parameter"):
        phi = sr_direction(jnp.asarray(jacobian), jnp.asarray(e_loc), SHIFT, mode,
                           jnp.asarray(weights), MOMENTUM, jnp.asarray(previous)).direction
        np.testing.assert_allclose(np.asarray(phi), _normal_equations(X, e, previous),
                                   rtol=TOLERANCE)


@pytest.mark.parametrize("mode", ["sample", "parameter"])
def test_momentum_zero_is_plain_sr(mode):
    jacobian, e_loc, previous = _random_problem(5, 7, seed=1)
    args = (jnp.asarray(jacobian), jnp.asarray(e_loc), SHIFT, mode)
    plain = sr_direction(*args)
    with_zero = sr_direction(*args, momentum=0.0, previous=jnp.asarray(previous))
    np.testing.assert_array_equal(np.asarray(with_zero.direction), np.asarray(plain.direction))
    np.testing.assert_array_equal(np.asarray(with_zero.gradient), np.asarray(plain.gradient))
    # momentum without a previous direction (or the reverse) is plain SR as well
    np.testing.assert_array_equal(np.asarray(sr_direction(*args, momentum=0.9).direction),
                                  np.asarray(plain.direction))


N_SITES = 6
HIDDEN = 2


def _log_amplitude(params, configs):
    """A tiny complex RBM from real parameters (two leaves: P = 2 K N + 2 N = 36)."""
    weights = params["w"][0] + 1j * params["w"][1]  # (K, N)
    visible = params["v"][0] + 1j * params["v"][1]  # (N,)
    sigma = configs.astype(jnp.float64)
    return jnp.sum(jnp.log(jnp.cosh(sigma @ weights.T)), axis=-1) + sigma @ visible


def _function_problem(n_samples: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = {"w": jnp.asarray(0.4 * rng.normal(size=(2, HIDDEN, N_SITES))),
              "v": jnp.asarray(0.4 * rng.normal(size=(2, N_SITES)))}
    configs = jnp.asarray(rng.choice([-1, 1], size=(n_samples, N_SITES)))
    e_loc = jnp.asarray(rng.normal(size=n_samples) + 1j * rng.normal(size=n_samples))
    flat, unravel = ravel_pytree(params)
    previous = jnp.asarray(rng.normal(size=flat.size))
    jacobian = sample_jacobian(lambda p, c: _log_amplitude(unravel(p), c), flat, configs)
    return params, configs, e_loc, previous, jacobian


# M = 10 with chunk 3: 4 blocks of 3 (2 padded samples), 2M = 20 < P = 36;
# M = 25 with chunk 7: 4 blocks of 7 (3 padded samples), 2M = 50 > P
@pytest.mark.parametrize(("n_samples", "chunk"), [(10, 3), (25, 7)])
@pytest.mark.parametrize("mode", ["sample", "parameter"])
def test_chunked_solver_with_momentum_equals_the_dense_one(n_samples, chunk, mode):
    params, configs, e_loc, previous, jacobian = _function_problem(n_samples)
    assert jacobian.shape[2] == 36

    @jax.jit
    def chunked(momentum, prev, weights):
        return sr_direction_chunked(_log_amplitude, params, configs, e_loc, SHIFT, chunk, mode,
                                    weights, momentum=momentum, previous=prev)

    for weights in (None, jnp.asarray(np.random.default_rng(5).dirichlet(np.ones(n_samples)))):
        dense = sr_direction(jacobian, e_loc, SHIFT, mode, weights, MOMENTUM, previous)
        solution = chunked(jnp.asarray(MOMENTUM), previous, weights)  # a traced momentum
        _close(solution.direction, dense.direction)
        _close(solution.gradient, dense.gradient)
        assert not bool(solution.used_fallback)
        X, e = _x_and_e(np.asarray(jacobian), np.asarray(e_loc), weights)
        _close(solution.direction, _normal_equations(X, e, np.asarray(previous)))
    # momentum 0: the chunked plain-SR direction
    plain = sr_direction_chunked(_log_amplitude, params, configs, e_loc, SHIFT, chunk, mode)
    _close(chunked(jnp.asarray(0.0), previous, None).direction, plain.direction, 1e-14)


def _rbm_config(momentum: float, sr_solver: str = "dense") -> RunConfig:
    """Two steps of a complex RBM on 4x4 with 32 samples: P = 576 > 2M, sample space."""
    return RunConfig(
        system=SystemConfig(L=4, J2=0.5),
        model=ModelConfig(model="rbm", alpha=1),
        sampler=SamplerConfig(n_samples=32, n_chains=16, thermalization_sweeps=4,
                              discard_sweeps=1),
        optimizer=OptimizerConfig(steps=2, learning_rate=0.02, diag_shift=1e-2,
                                  momentum=momentum, sr_solver=sr_solver,
                                  sr_chunk=10 if sr_solver == "chunked" else None),
    )


def _two_steps(config: RunConfig):
    vmc = build_vmc(config)
    state = vmc.init(jax.random.key(0))
    step = jax.jit(vmc.step)
    first, _ = step(state)
    second, _ = step(first)
    return vmc, state, first, second


@pytest.mark.parametrize("sr_solver", ["dense", "chunked"])
def test_spring_step_starts_as_plain_sr_and_carries_its_direction(sr_solver):
    vmc, start, first, second = _two_steps(_rbm_config(0.9, sr_solver))
    _, plain_start, plain_first, plain_second = _two_steps(_rbm_config(0.0, sr_solver))
    assert vmc.momentum is not None and isinstance(start.opt_state, SpringState)
    flat = [ravel_pytree(s.params)[0] for s in (start, first, second)]
    plain = [ravel_pytree(s.params)[0] for s in (plain_start, plain_first, plain_second)]
    np.testing.assert_array_equal(np.asarray(flat[0]), np.asarray(plain[0]))
    np.testing.assert_array_equal(np.asarray(start.opt_state.previous), np.zeros(flat[0].size))
    # step 1: phi_prev = 0, so the plain SR step
    _close(flat[1], plain[1], 1e-12)
    # the state keeps that step's direction, before the learning rate
    _close(0.02 * first.opt_state.previous, flat[0] - flat[1], 1e-9)
    # step 2 departs from plain SR
    assert np.abs(np.asarray(flat[2] - plain[2])).max() > 1e-6
    _close(0.02 * second.opt_state.previous, flat[1] - flat[2], 1e-9)
    assert int(second.step) == 2


def test_plain_sr_keeps_the_old_optimiser_state():
    """momentum = 0 (or None): the SGD state alone, so old checkpoints keep loading."""
    vmc = build_vmc(_rbm_config(0.0))
    assert vmc.momentum is None
    state = vmc.init(jax.random.key(0))
    old = optax.sgd(vmc.learning_rate).init(state.params)  # the state before SPRING
    assert jax.tree_util.tree_structure(state.opt_state) == jax.tree_util.tree_structure(old)
    assert not isinstance(state.opt_state, SpringState)


def test_momentum_is_a_validated_setting_outside_the_cell_id():
    for bad in (1.0, 1.5, -0.1):
        with pytest.raises(ConfigError, match="momentum") as raised:
            RunConfig(optimizer=OptimizerConfig(momentum=bad)).validate()
        assert raised.value.field == "momentum"
    with pytest.raises(ConfigError, match="below 1"):
        OptimizerConfig(momentum=1.0).validate()
    OptimizerConfig(momentum=0.8).validate()
    base = RunConfig(system=SystemConfig(L=4))
    assert config_hash(RunConfig(system=SystemConfig(L=4),
                                 optimizer=OptimizerConfig(momentum=0.0))) == config_hash(base)
    assert config_hash(RunConfig(system=SystemConfig(L=4),
                                 optimizer=OptimizerConfig(momentum=0.8))) != config_hash(base)
    # the setting reaches the engine
    assert build_vmc(RunConfig(optimizer=OptimizerConfig(momentum=0.8))).momentum is not None
    assert build_vmc(RunConfig()).momentum is None


def test_two_exact_spring_steps_are_netkets_vmc_sr_with_momentum():
    """Full-sum SPRING from the same parameters, two steps (the second one uses the first's
    direction): our updates equal NetKet's ``VMC_SR(momentum=...)`` to rounding."""
    nk = pytest.importorskip("netket", reason="NetKet (pip install -e '.[peers]') is not installed")
    from suite.engine.exact import basis_configurations, sparse_hamiltonian, sz0_basis
    from suite.perf.netket import netket_hamiltonian

    config = RunConfig(system=SystemConfig(L=4, J2=0.5),
                       model=ModelConfig(attention="t5", layers=1, d=8, heads=2),
                       optimizer=OptimizerConfig(learning_rate=0.05, diag_shift=1e-2))
    vmc = build_vmc(config)
    hilbert = nk.hilbert.Spin(0.5, vmc.n_sites, total_sz=0)
    lattice = vmc.hamiltonian.lattice
    operator = netket_hamiltonian(nk, config, hilbert, lattice.nearest_neighbour_bonds(),
                                  lattice.next_nearest_neighbour_bonds())
    params = vmc.init(jax.random.key(0)).params
    learning_rate, shift = 0.05, 1e-2
    state = nk.vqs.FullSumState(hilbert, vmc.model, variables={"params": params})
    driver = nk.driver.VMC_SR(operator, optax.sgd(learning_rate), diag_shift=shift,
                              variational_state=state, use_ntk=False, momentum=MOMENTUM)
    driver.run(2, show_progress=False)

    basis = sz0_basis(vmc.n_sites)
    configs = jnp.asarray(basis_configurations(basis, vmc.n_sites))
    hamiltonian = sparse_hamiltonian(vmc.hamiltonian, basis)
    flat, unravel = ravel_pytree(params)
    previous = jnp.zeros_like(flat)
    for _ in range(2):
        log_psi = np.asarray(vmc.log_psi(unravel(flat))(configs))
        psi = np.exp(log_psi - log_psi.real.max())
        weights = np.abs(psi) ** 2 / np.sum(np.abs(psi) ** 2)
        previous = sr_direction(vmc.per_sample_jacobian(unravel(flat), configs),
                                jnp.asarray((hamiltonian @ psi) / psi), shift, "parameter",
                                jnp.asarray(weights), MOMENTUM, previous).direction
        flat = flat - learning_rate * previous
    theirs = np.asarray(ravel_pytree(state.parameters)[0])
    step = np.max(np.abs(np.asarray(flat) - np.asarray(ravel_pytree(params)[0])))
    assert step > 1e-3
    np.testing.assert_allclose(np.asarray(flat), theirs, atol=1e-10 * max(1.0, step))
