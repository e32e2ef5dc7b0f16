"""The exchange sampler draws from |psi|^2 in the Sz=0 sector (chi-square against exact)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import chi2

from suite.engine.exact import basis_configurations, sz0_basis
from suite.engine.models import RBM, init_parameters
from suite.engine.sampler import MetropolisExchange, propose_exchange

N_SITES = 10          # 252 states in the Sz=0 sector
N_CHAINS = 40_000     # independent chains; one sample each after thermalisation
SIGNIFICANCE = 1e-3   # a correct sampler fails this fixed-seed test with probability 0.001


def _rbm_distribution(seed: int):
    model = RBM(alpha=1)
    params = init_parameters(model, jax.random.key(seed), N_SITES)
    params = jax.tree_util.tree_map(
        lambda p: p + 0.25 * jax.random.normal(jax.random.key(seed + 100), p.shape), params)
    basis = sz0_basis(N_SITES)
    configs = basis_configurations(basis, N_SITES)
    log_amplitudes = np.asarray(model.apply({"params": params}, jnp.asarray(configs)))
    weights = np.exp(2 * (log_amplitudes.real - log_amplitudes.real.max()))
    return model, params, basis, weights / weights.sum()


def _state_indices(configs: np.ndarray, basis: np.ndarray) -> np.ndarray:
    bits = (configs > 0).astype(np.uint64)
    integers = (bits << np.arange(N_SITES, dtype=np.uint64)).sum(axis=-1)
    return np.searchsorted(basis, integers)


def _chi_square_p_value(counts: np.ndarray, probabilities: np.ndarray) -> float:
    expected = probabilities * counts.sum()
    order = np.argsort(expected)
    # pool the rarest states until every bin expects at least 5 counts
    pooled_obs, pooled_exp, acc_obs, acc_exp = [], [], 0.0, 0.0
    for i in order:
        acc_obs += counts[i]
        acc_exp += expected[i]
        if acc_exp >= 5:
            pooled_obs.append(acc_obs)
            pooled_exp.append(acc_exp)
            acc_obs = acc_exp = 0.0
    pooled_obs[-1] += acc_obs
    pooled_exp[-1] += acc_exp
    obs, exp = np.array(pooled_obs), np.array(pooled_exp)
    statistic = np.sum((obs - exp) ** 2 / exp)
    return float(chi2.sf(statistic, len(obs) - 1))


@pytest.fixture(scope="module")
def sampled():
    model, params, basis, probabilities = _rbm_distribution(seed=7)
    sampler = MetropolisExchange(N_SITES, N_CHAINS, thermalization_sweeps=40, chunk_size=None)
    log_psi = lambda c: model.apply({"params": params}, c)  # noqa: E731
    key_init, key_thermal, key_sample = jax.random.split(jax.random.key(0), 3)
    state = sampler.thermalize(log_psi, sampler.init(key_init), key_thermal)
    samples, _ = jax.jit(lambda s, k: sampler.sample(log_psi, s, k))(state, key_sample)
    configs = np.asarray(samples.configs).reshape(-1, N_SITES)
    counts = np.bincount(_state_indices(configs, basis), minlength=basis.size)
    return configs, counts, probabilities, float(samples.acceptance)


def test_histogram_matches_exact_distribution(sampled):
    configs, counts, probabilities, _ = sampled
    assert probabilities.max() / probabilities.min() > 20  # a distribution far from uniform
    assert _chi_square_p_value(counts, probabilities) > SIGNIFICANCE


def test_chi_square_rejects_the_wrong_distribution(sampled):
    # power check: the same counts are rejected against another model's |psi|^2
    _, counts, _, _ = sampled
    _, _, _, other = _rbm_distribution(seed=8)
    assert _chi_square_p_value(counts, other) < 1e-6


def test_samples_stay_in_sz0_and_acceptance_is_reported(sampled):
    configs, _, _, acceptance = sampled
    assert np.all(configs.sum(axis=-1) == 0)
    assert set(np.unique(configs)) == {-1, 1}
    assert 0.05 < acceptance <= 1.0


def test_proposal_exchanges_exactly_one_anti_aligned_pair():
    from suite.engine.sampler import random_sz0_configs

    configs = random_sz0_configs(jax.random.key(1), 500, 16)
    proposed = propose_exchange(jax.random.key(2), configs)
    changed = np.asarray(configs != proposed)
    assert np.all(changed.sum(axis=-1) == 2)
    assert np.all(np.asarray(proposed).sum(axis=-1) == 0)
    assert np.all(np.asarray(configs)[changed].reshape(-1, 2).sum(axis=-1) == 0)
