"""Sampling in float32 with a float64 model (suite.engine.precision): same chain, bounded bias."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from suite.bench.build import build_vmc
from suite.bench.config import ModelConfig, RunConfig, SamplerConfig, SystemConfig
from suite.bench.matrix import config_hash
from suite.engine.exact import basis_configurations, sparse_hamiltonian, sz0_basis
from suite.engine.precision import energy_bias_bound, log_psi_spread
from suite.errors import ConfigError

CONFIG = RunConfig(
    system=SystemConfig(L=4, J2=0.5),
    model=ModelConfig(attention="factored", layers=1, d=8, heads=2, patch=2),
    sampler=SamplerConfig(n_samples=256, thermalization_sweeps=4),
    seed=3,
)


def _mixed(config: RunConfig = CONFIG) -> RunConfig:
    return dataclasses.replace(config, sampler=dataclasses.replace(config.sampler,
                                                                   dtype="float32"))


@pytest.fixture(scope="module")
def engines():
    """The mixed-precision and the plain engine, and a state with parameters moved well away
    from the near-uniform initialisation."""
    mixed, exact = build_vmc(_mixed()), build_vmc(CONFIG)
    state = exact.init(jax.random.key(0))
    leaves, tree = jax.tree_util.tree_flatten(state.params)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    leaves = [p + 0.5 * jax.random.normal(k, p.shape, p.dtype)
              for p, k in zip(leaves, keys, strict=True)]
    return mixed, exact, state._replace(params=jax.tree_util.tree_unflatten(tree, leaves))


def test_the_chain_evaluates_a_single_precision_network(engines):
    mixed, exact, state = engines
    configs = state.sampler.configs
    low = np.asarray(mixed.sampling_log_psi(state.params)(configs))
    high = np.asarray(exact.log_psi(state.params)(configs))
    assert low.dtype == np.complex128  # returned in the model's dtype for the acceptance test
    np.testing.assert_array_equal(low.real.astype(np.float32).astype(np.float64), low.real)
    assert 0 < np.max(np.abs(low - high)) < 1e-4 * np.max(np.abs(high))
    np.testing.assert_array_equal(np.asarray(exact.sampling_log_psi(state.params)(configs)), high)


def test_float32_chain_takes_the_float64_chain_decisions(engines):
    # same key, same random numbers: the chains differ only where a uniform draw falls between
    # the float32 and float64 acceptance ratios, which a correct single-precision copy makes rare
    mixed, exact, state = engines
    def sampler(vmc):
        return jax.jit(lambda params: vmc.sampler.sample(vmc.sampling_log_psi(params),
                                                         state.sampler, jax.random.key(5))[0])

    sample_low = sampler(mixed)
    low, high = sample_low(state.params), sampler(exact)(state.params)
    same = np.all(np.asarray(low.configs) == np.asarray(high.configs), axis=-1)
    assert float(high.acceptance) > 0.05
    assert same.mean() >= 0.99
    # a different network (another seed's parameters) is not mistaken for the same chain
    different = sample_low(jax.tree_util.tree_map(lambda p: -p, state.params))
    assert np.mean(np.all(np.asarray(different.configs) == np.asarray(high.configs),
                          axis=-1)) < 0.5


def test_bias_of_float32_sampling_is_within_the_bound_on_the_whole_sector(engines):
    vmc, _, state = engines
    params = state.params
    basis = sz0_basis(vmc.n_sites)
    configs = jnp.asarray(basis_configurations(basis, vmc.n_sites))
    log_low = np.asarray(vmc.sampling_log_psi(params)(configs))
    log_high = np.asarray(vmc.log_psi(params)(configs))
    shift = log_high.real.max()
    psi = np.exp(log_high - shift)
    p_high = np.abs(psi) ** 2 / np.sum(np.abs(psi) ** 2)
    p_low = np.exp(2 * (log_low.real - shift))
    p_low /= p_low.sum()
    local = (sparse_hamiltonian(vmc.hamiltonian, basis) @ psi) / psi
    e_high, e_low = np.sum(p_high * local.real), np.sum(p_low * local.real)

    spread = log_psi_spread(jnp.asarray(log_low), jnp.asarray(log_high))
    bound = float(energy_bias_bound(spread, jnp.asarray(local), jnp.asarray(p_high)))
    assert e_low != e_high  # the two distributions really differ
    assert abs(e_low - e_high) <= bound
    # negligible next to the statistical error of the 256 samples a step draws
    statistical_error = np.sqrt(np.sum(p_high * (local.real - e_high) ** 2) / 256)
    assert bound < 1e-3 * statistical_error


def test_mixed_precision_step_and_evaluation_record_the_bound(engines):
    vmc, _, state = engines
    state, info = jax.jit(vmc.step)(state)
    assert np.isfinite(float(info.energy))
    stats, _, bias, _ = jax.jit(lambda s: vmc.evaluate(s, 1))(state)
    assert 0 < float(bias) < 1e-3 * float(stats.error)


def test_sampler_dtype_is_validated_and_a_no_op_keeps_the_cell_id():
    with pytest.raises(ConfigError, match="sampler_dtype"):
        SamplerConfig(dtype="float16").validate()
    same = dataclasses.replace(CONFIG, sampler=dataclasses.replace(CONFIG.sampler,
                                                                   dtype="float64"))
    assert config_hash(same) == config_hash(CONFIG)
    assert config_hash(_mixed()) != config_hash(CONFIG)
