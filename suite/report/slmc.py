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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from suite.report.formatting import format_with_error
from suite.report.tables import CONTENDED, contended

PAPER_LINEAR_ACCEPTANCE = 0.21
"""the linear model's outer acceptance on 6 x 6 in Nagai & Tomiya (arXiv:2310.13222, section 4:
"about 21 %"); with attention layers it rises monotonically (their figure 4, left)"""
PAPER_CITATION = ("Y. Nagai, A. Tomiya, J. Phys. Soc. Jpn. 93, 114007 (2024); A. Tomiya, Y. Nagai, "
                  "arXiv:2310.13222, section 4")
MODEL_ORDER = {"linear": 0, "transformer": 1}


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


def _combined(group: pd.DataFrame, column: str, error: str | None = None) -> str:
    """One seed: its value with its error bar; several: their mean with the standard error of
    the spread between seeds (the honest error when seeds differ more than their bars say)."""
    values = group[column].dropna().astype(float)
    if values.empty:
        return "n/a"
    if len(values) == 1:
        bar = float(group[error].iloc[0]) if error else math.nan
        return format_with_error(float(values.iloc[0]), bar) if error else f"{values.iloc[0]:.3g}"
    mean, spread = float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))
    return format_with_error(mean, spread) if error else f"{mean:.3g}"


def slmc_table(frame: pd.DataFrame) -> str:
    """The acceptance table in Markdown: one block per lattice, temperature, coupling and device;
    per effective model and layers: parameters, seeds, outer acceptance, the loss it implies, the
    fit's test MSE (and the linear fit's on the same data), seconds per SLMC step and per exact
    sweep. The paper's linear acceptance stands beside the linear rows."""
    if frame.empty:
        return "No SLMC records.\n"
    lines = []
    keys = ["L", "temperature", "J", "mu", "device"]
    for key, block in frame.groupby(keys, dropna=False, sort=True):
        L, temperature, J, mu, device = key
        lines += [f"### {L}x{L}, T = {temperature:g}, J = {J:g}, mu = {mu:g} ({device})", "",
                  "| model | layers | couplings | params | seeds | acceptance | loss from "
                  "acceptance | test MSE | linear test MSE | s/SLMC step | s/exact sweep | "
                  "paper |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        order = block.assign(_order=block["effective_model"].map(MODEL_ORDER))
        for (model, layers, couplings), group in order.sort_values(
                ["_order", "layers", "couplings"]).groupby(
                ["effective_model", "layers", "couplings"], sort=False):
            paper = (f"{PAPER_LINEAR_ACCEPTANCE:.2f} (6x6)" if model == "linear" else "rises")
            mark = CONTENDED if any(contended(row) for _, row in group.iterrows()) else ""
            lines.append(
                f"| {model} | {layers} | {couplings} | {int(group['n_parameters'].iloc[0])} | "
                f"{len(group)} | {_combined(group, 'acceptance', 'acceptance_error')} | "
                f"{_combined(group, 'loss_from_acceptance')} | {_combined(group, 'test_mse')} | "
                f"{_combined(group, 'linear_test_mse')} | "
                f"{_combined(group, 'seconds_per_outer_step')}{mark} | "
                f"{_combined(group, 'seconds_per_exact_sweep')}{mark} | {paper} |")
        lines.append("")
    lines.append("Acceptance: the outer (exact) Metropolis test of SLMC, mean over independent "
                 "chains with an autocorrelation-aware error bar (several seeds: the standard "
                 "error between seeds). Loss from acceptance: (2 erfcinv(A) / beta)^2. " + CONTENDED + ": "
                 "seconds measured while other work shared the CPU (host load above 1.25 x its "
                 "cores). Paper: "
                 + PAPER_CITATION + ".")
    return "\n".join(lines) + "\n"


def observables_table(records: Sequence) -> str:
    """Per record and observable, the exact chain's mean against SLMC's, and their difference
    in combined error bars (|z| below about 2: consistent)."""
    lines = ["| cell | model | layers | observable | exact chain | SLMC | z |",
             "|---|---|---:|---|---:|---:|---:|"]
    for record in records:
        config = record.config
        for name, entry in record.observables.items():
            exact, slmc = entry["exact"], entry["slmc"]
            z = entry.get("z")
            lines.append(
                f"| {record.cell_id} | {config.get('effective_model')} | {config.get('layers')} "
                f"| {name} | {format_with_error(exact['mean'], exact['error'])} | "
                f"{format_with_error(slmc['mean'], slmc['error'])} | "
                f"{'n/a' if z is None else f'{z:+.2f}'} |")
    return "\n".join(lines) + "\n"


__all__ = ["MODEL_ORDER", "PAPER_CITATION", "PAPER_LINEAR_ACCEPTANCE", "PowerLaw",
           "acceptance_from_loss", "fit_power_law", "loss_from_acceptance", "observables_table",
           "slmc_table"]
