"""Fitting effective models: the exact least-squares fit and AdamW's schedule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import suite.engine  # noqa: F401  (float64)
from suite.engine.slmc import chain, training
from suite.engine.slmc.effective import build_effective

L, COUPLINGS = 4, 3


@pytest.fixture(scope="module")
def data():
    """Random unit spins and energies of a planted linear model plus a nonlinear term."""
    spins = chain.random_spins(jax.random.PRNGKey(0), (256, L * L))
    features = training.pair_features(spins, L, COUPLINGS)
    planted = -1.5 + features @ jnp.array([0.7, -0.2, 0.05])
    nonlinear = 0.01 * jnp.sum(features ** 2, axis=-1)
    return spins, planted, planted + nonlinear


def test_least_squares_recovers_planted_couplings_exactly(data):
    spins, planted, _ = data
    offset, J = training.linear_least_squares(spins, planted, L, COUPLINGS)
    assert offset == pytest.approx(-1.5, abs=1e-12)
    assert np.allclose(J, [0.7, -0.2, 0.05], atol=1e-12)


def test_least_squares_is_the_linear_models_minimum(data):
    """No AdamW step from the least-squares optimum lowers the linear model's training loss."""
    spins, _, energies = data
    model = build_effective("linear", L, COUPLINGS)
    params = training.with_linear_fit(model.init(jax.random.PRNGKey(1), spins[:1])["params"],
                                      spins, energies, L, COUPLINGS)
    best = float(training.mean_squared_error(model, params, spins, energies))
    fit = training.fit(model, params, spins, energies, jax.random.PRNGKey(2), epochs=5,
                       batch_size=64, learning_rate=1e-3)
    assert float(fit.loss.min()) >= best - 1e-15


def test_cosine_schedule_to_the_same_rate_is_the_constant_rate(data):
    spins, _, energies = data
    model = build_effective("transformer", L, COUPLINGS, layers=1)
    params = model.init(jax.random.PRNGKey(3), spins[:1])["params"]
    params = training.with_linear_fit(params, spins, energies, L, COUPLINGS)
    kwargs = {"epochs": 4, "batch_size": 64, "learning_rate": 1e-2}
    constant = training.fit(model, params, spins, energies, jax.random.PRNGKey(4), **kwargs)
    same = training.fit(model, params, spins, energies, jax.random.PRNGKey(4),
                        learning_rate_final=1e-2, **kwargs)
    decayed = training.fit(model, params, spins, energies, jax.random.PRNGKey(4),
                           learning_rate_final=1e-4, **kwargs)
    assert np.array_equal(np.asarray(constant.loss), np.asarray(same.loss))
    assert not np.array_equal(np.asarray(constant.loss), np.asarray(decayed.loss))
    assert constant.loss.shape == (4,)
