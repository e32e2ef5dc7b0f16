"""The acceptance-loss relation and the power-law fit of suite.report.slmc."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from suite.report.slmc import (
    acceptance_from_loss,
    fit_power_law,
    loss_from_acceptance,
)


@pytest.mark.parametrize(("sigma", "beta"), [(0.05, 20.0), (0.3, 2.0), (1.0, 1.0)])
def test_acceptance_is_the_gaussian_average_of_the_outer_test(sigma, beta):
    """<min(1, e^-x)> for x ~ N(s^2 / 2, s^2), s^2 = 2 beta^2 sigma^2, by quadrature."""
    s = math.sqrt(2) * beta * sigma
    density = stats.norm(loc=s * s / 2, scale=s).pdf
    average = (integrate.quad(density, -np.inf, 0)[0]
               + integrate.quad(lambda x: math.exp(-x) * density(x), 0, np.inf)[0])
    assert acceptance_from_loss(sigma ** 2, beta) == pytest.approx(average, rel=1e-9)


def test_the_shifted_mean_follows_from_reweighting():
    """Under exp(-beta Omega) = exp(-beta H_eff) exp(-beta D), a Gaussian D of variance sigma^2
    has its mean moved by -beta sigma^2 (the step the derivation rests on), by quadrature."""
    beta, sigma = 3.0, 0.4
    base = stats.norm(scale=sigma).pdf
    edge = 30 * sigma  # the Gaussian beyond 30 sigma is below 1e-190; exp(-beta d) stays finite
    norm = integrate.quad(lambda d: base(d) * math.exp(-beta * d), -edge, edge)[0]
    mean = integrate.quad(lambda d: d * base(d) * math.exp(-beta * d), -edge, edge)[0] / norm
    assert mean == pytest.approx(-beta * sigma ** 2, rel=1e-9)


def test_loss_from_acceptance_inverts_it():
    for mse, beta in [(1e-4, 20.0), (0.02, 5.0), (0.5, 1.0)]:
        assert loss_from_acceptance(acceptance_from_loss(mse, beta), beta) == pytest.approx(
            mse, rel=1e-10)
    assert loss_from_acceptance(1.0, 2.0) == 0.0
    with pytest.raises(ValueError, match="acceptance"):
        loss_from_acceptance(0.0, 1.0)
    with pytest.raises(ValueError, match="beta"):
        loss_from_acceptance(0.5, 0.0)


def test_power_law_fit_recovers_an_exact_law():
    parameters = np.array([10.0, 40.0, 160.0, 640.0])
    law = fit_power_law(parameters, 3.0 * parameters ** -0.7)
    assert law.exponent == pytest.approx(-0.7, abs=1e-12)
    assert law.prefactor == pytest.approx(3.0, rel=1e-12)
    assert law(100.0) == pytest.approx(3.0 * 100 ** -0.7, rel=1e-12)
    with pytest.raises(ValueError, match="two"):
        fit_power_law(np.array([1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="positive"):
        fit_power_law(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
