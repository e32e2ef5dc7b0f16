"""Error bars account for autocorrelation along chains."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from suite.engine.stats import chain_statistics, split_r_hat


def _ar1(rho: float, n_chains: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_chains, length)) * np.sqrt(1 - rho**2)
    x = np.empty((n_chains, length))
    x[:, 0] = rng.standard_normal(n_chains)
    for t in range(1, length):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x


def test_independent_samples_give_the_naive_error():
    values = np.random.default_rng(1).standard_normal((4096, 1))
    stats = chain_statistics(jnp.asarray(values))
    assert float(stats.error) == pytest.approx(values.std() / np.sqrt(values.size), rel=1e-12)
    assert float(stats.tau_corr) == 0.0


def test_long_correlated_chains_recover_the_ar1_autocorrelation_time():
    rho = 0.8  # tau_int = (1 + rho) / (2 (1 - rho)) = 4.5, so 1 + 2 tau_corr = 9
    stats = chain_statistics(jnp.asarray(_ar1(rho, n_chains=64, length=4096)))
    assert float(stats.tau_corr) == pytest.approx(4.0, rel=0.1)


def test_short_chains_use_batch_means_over_chains():
    rho = 0.8
    values = _ar1(rho, n_chains=2000, length=16)
    stats = chain_statistics(jnp.asarray(values))
    expected = values.mean(axis=1).std(ddof=1) / np.sqrt(values.shape[0])
    assert float(stats.error) == pytest.approx(expected, rel=1e-10)
    naive = values.std() / np.sqrt(values.size)
    assert float(stats.error) > 2 * naive  # correlation inflates the error bar


def _split_r_hat_by_hand(values: np.ndarray) -> float:
    """Gelman et al., BDA3 section 11.4, on chains split in halves (written out in numpy)."""
    n = values.shape[1] // 2
    halves = np.concatenate([values[:, :n], values[:, n:2 * n]])
    within = np.mean([np.var(chain, ddof=1) for chain in halves])
    between = n * np.var([chain.mean() for chain in halves], ddof=1)
    return float(np.sqrt(((n - 1) / n * within + between / n) / within))


@pytest.mark.parametrize("shape", [(8, 4), (16, 7), (64, 100)])
def test_split_r_hat_is_the_textbook_formula(shape):
    values = _ar1(0.5, *shape, seed=3)
    assert float(split_r_hat(jnp.asarray(values))) == pytest.approx(
        _split_r_hat_by_hand(values), rel=1e-12)


def test_split_r_hat_sees_chains_that_disagree_and_is_undefined_when_too_short():
    same = _ar1(0.0, 64, 100, seed=4)  # independent samples of one distribution
    assert abs(float(split_r_hat(jnp.asarray(same))) - 1) < 0.01
    drifting = same + np.linspace(0, 4, 100)[None]  # each chain's two halves disagree
    assert float(split_r_hat(jnp.asarray(drifting))) > 1.2
    offset = same + np.arange(64)[:, None] / 16  # chains centred apart
    assert float(split_r_hat(jnp.asarray(offset))) > 1.5
    assert np.isnan(float(split_r_hat(jnp.asarray(same[:, :3]))))


@pytest.mark.parametrize(("rho", "n_chains", "length"), [
    (0.5, 2048, 1),   # one sample per chain: independent
    (0.9, 64, 8),     # a few samples per chain: batch means over the chains
    (0.0, 64, 8),     # ...of independent samples (the naive error is the floor)
    (0.9, 16, 256),   # long chains: tau_int with Sokal's window (tau = 9.5)
    (0.9, 8, 128),    # ...shorter (centring each chain on its own mean gave 0.81)
    (0.95, 8, 256),   # ...tau = 19.5 (0.81 before)
    (0.9, 32, 64),    # ...T = 7 tau (0.68 before)
    (0.8, 8, 1024),
    (0.9, 1, 2048),   # a single long chain
])
def test_error_bars_match_the_true_spread_of_the_mean_of_ar1_chains(rho, n_chains, length):
    """Over 400 repeats of AR(1) chains (known autocorrelation), the root-mean-square reported
    error equals the standard deviation of the repeats' means to within 15 %."""
    data = np.stack([_ar1(rho, n_chains, length, seed=1000 + r) for r in range(400)])
    reported = np.asarray(jax.jit(jax.vmap(chain_statistics))(jnp.asarray(data)).error)
    true_spread = data.mean(axis=(1, 2)).std(ddof=1)
    assert np.sqrt(np.mean(reported**2)) == pytest.approx(true_spread, rel=0.15)


def test_tau_corr_is_never_negative():
    """Batch means of independent samples scatter around the naive error; the estimator keeps
    the naive error as its floor, so tau_corr >= 0 (it came out negative before)."""
    data = np.stack([_ar1(0.0, 64, 8, seed=2000 + r) for r in range(200)])
    stats = jax.jit(jax.vmap(chain_statistics))(jnp.asarray(data))
    naive = data.std(axis=(1, 2)) / np.sqrt(64 * 8)
    assert float(np.min(stats.tau_corr)) == 0.0
    assert np.all(np.asarray(stats.error) >= naive * (1 - 1e-12))
    assert np.mean(np.asarray(stats.tau_corr) == 0.0) > 0.3  # the floor is often reached
