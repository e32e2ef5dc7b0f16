"""Self-learning Monte Carlo numbers that need no JAX: the loss an acceptance rate implies, and
the power law of loss against parameters (Nagai & Tomiya, figure 4, right).

The loss from the acceptance. Let D(S) = Omega(S) - H_eff(S) be the effective model's error
(a constant offset does not matter). With a long inner chain the proposal S' is distributed as
exp(-beta H_eff), the current S as exp(-beta Omega); if D is Gaussian with variance sigma^2 under
the first, it is Gaussian with the same variance and mean shifted by -beta sigma^2 under the
second, so x = beta (D(S') - D(S)) ~ N(s^2 / 2, s^2) with s^2 = 2 beta^2 sigma^2, and the mean
outer acceptance is

    <min(1, e^-x)> = 2 Phi(-s / 2) = erfc(beta sigma / 2).

Inverted: sigma^2 = (2 erfcinv(A) / beta)^2, the mean squared error of the fit that an acceptance
A implies (the idea of Shen, Liu & Fu, Phys. Rev. B 97, 205140 (2018), which Nagai & Tomiya use
for their scaling plot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special


def acceptance_from_loss(mse: float, beta: float) -> float:
    """The mean outer acceptance erfc(beta sigma / 2) of a Gaussian error of variance ``mse``."""
    return float(special.erfc(beta * math.sqrt(mse) / 2))


def loss_from_acceptance(acceptance: float, beta: float) -> float:
    """The mean squared error (2 erfcinv(A) / beta)^2 that an acceptance A in (0, 1] implies.

    Raises:
        ValueError: A outside (0, 1] or beta not positive.
    """
    if not 0 < acceptance <= 1:
        raise ValueError(f"acceptance must be in (0, 1], got {acceptance!r}")
    if not beta > 0:
        raise ValueError(f"beta must be positive, got {beta!r}")
    return float((2 * special.erfcinv(acceptance) / beta) ** 2)


@dataclass(frozen=True)
class PowerLaw:
    """loss = prefactor * parameters ** exponent, fitted by least squares in log-log."""

    prefactor: float
    exponent: float
    points: int

    def __call__(self, parameters: np.ndarray | float) -> np.ndarray | float:
        return self.prefactor * np.asarray(parameters, dtype=float) ** self.exponent


def fit_power_law(parameters: np.ndarray, loss: np.ndarray) -> PowerLaw:
    """Least-squares line through (log parameters, log loss).

    Raises:
        ValueError: fewer than two points, or a non-positive value.
    """
    x = np.asarray(parameters, dtype=float)
    y = np.asarray(loss, dtype=float)
    if x.size < 2 or x.size != y.size:
        raise ValueError("a power law needs at least two (parameters, loss) pairs")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("parameters and loss must be positive for a log-log fit")
    exponent, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return PowerLaw(float(np.exp(intercept)), float(exponent), int(x.size))


__all__ = ["PowerLaw", "acceptance_from_loss", "fit_power_law", "loss_from_acceptance"]
