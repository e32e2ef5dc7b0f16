"""Stochastic reconfiguration (eqs. 1-2 of Rende & Viteritti 2025) with a diagonal shift.

With real parameters and a complex log-amplitude, let O_k(s) = d log psi(s) / d theta_k and stack
the centred real and imaginary parts of the M samples into X (2M x P), scaled by 1/sqrt(M), and
likewise the centred local energies into e (2M). Then

    S = X^T X                      (the real part of the quantum geometric tensor, eq. 2)
    grad E = 2 X^T e               (= -F of eq. 1, the exact gradient of the energy)
    direction = (S + lambda I)^-1 grad E

and the parameters move by -learning_rate * direction. When P > 2M the same direction is computed
in sample space, X^T (X X^T + lambda I)^-1 (2 e) (Chen & Heyl 2024; Rende et al. 2024), which is
the identical vector by the push-through identity. This matches NetKet's ``VMC_SR`` convention.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

EIGEN_CUTOFF = 1e-12


class SRSolution(NamedTuple):
    """The preconditioned direction and how it was obtained."""

    direction: jax.Array
    """(P,) natural-gradient direction; parameters move by -learning_rate times it."""
    gradient: jax.Array
    """(P,) the plain energy gradient 2 X^T e."""
    used_fallback: jax.Array
    """True where the Cholesky solve failed and the eigen-decomposition solver was used."""


def solve_positive_definite(matrix: jax.Array, rhs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Solve ``matrix @ x = rhs`` for symmetric positive-definite ``matrix``.

    Cholesky first; if it breaks down (non-finite result: the shifted matrix is not numerically
    positive definite), fall back to an eigen-decomposition pseudo-inverse that discards
    eigenvalues below ``EIGEN_CUTOFF`` times the largest. No host synchronisation.

    Returns:
        ``(x, used_fallback)``.
    """
    cholesky = jnp.linalg.cholesky(matrix)
    x = jsl.cho_solve((cholesky, True), rhs)
    failed = ~jnp.all(jnp.isfinite(x))

    def eigen_solve(_):
        eigenvalues, vectors = jnp.linalg.eigh(matrix)
        keep = eigenvalues > EIGEN_CUTOFF * jnp.max(jnp.abs(eigenvalues))
        inverse = jnp.where(keep, 1.0 / jnp.where(keep, eigenvalues, 1.0), 0.0)
        return vectors @ (inverse * (vectors.T @ rhs))

    return jax.lax.cond(failed, eigen_solve, lambda _: x, None), failed


def choose_mode(mode: str, n_samples: int, n_parameters: int) -> str:
    """Resolve ``auto`` to ``sample`` when P > 2M (the kernel is the smaller matrix)."""
    if mode != "auto":
        return mode
    return "sample" if n_parameters > 2 * n_samples else "parameter"


def sr_direction(
    jacobian: jax.Array,
    local_energies: jax.Array,
    diag_shift: jax.Array,
    mode: str = "auto",
    weights: jax.Array | None = None,
) -> SRSolution:
    """Stochastic-reconfiguration direction from per-sample log-derivatives.

    Args:
        jacobian: (M, 2, P) real: d Re log psi / d theta and d Im log psi / d theta per sample.
        local_energies: (M,) complex local energies.
        diag_shift: the diagonal shift lambda (scalar, may be traced).
        mode: ``sample``, ``parameter`` or ``auto``.
        weights: (M,) probabilities of the samples, summing to 1; ``None`` for Monte Carlo
            samples (1/M each). Exact enumeration passes |psi|^2 here.

    Returns:
        :class:`SRSolution`.
    """
    n_samples, _, n_parameters = jacobian.shape
    if weights is None:
        weights = jnp.full(n_samples, 1.0 / n_samples, dtype=jacobian.dtype)
    scale = jnp.sqrt(weights)
    mean_jacobian = jnp.tensordot(weights, jacobian, axes=1)
    centred = (jacobian - mean_jacobian) * scale[:, None, None]
    X = jnp.concatenate([centred[:, 0, :], centred[:, 1, :]], axis=0)  # (2M, P)
    de = (local_energies - jnp.sum(weights * local_energies)) * scale
    e = jnp.concatenate([jnp.real(de), jnp.imag(de)]).astype(X.dtype)  # (2M,)
    gradient = 2.0 * (X.T @ e)
    if choose_mode(mode, n_samples, n_parameters) == "sample":
        kernel = X @ X.T + diag_shift * jnp.eye(2 * n_samples, dtype=X.dtype)
        y, failed = solve_positive_definite(kernel, 2.0 * e)
        direction = X.T @ y
    else:
        metric = X.T @ X + diag_shift * jnp.eye(n_parameters, dtype=X.dtype)
        direction, failed = solve_positive_definite(metric, gradient)
    return SRSolution(direction, gradient, failed)
