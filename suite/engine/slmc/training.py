"""Fitting an effective model to the exact energies of sampled spin configurations.

The loss is the mean squared difference between the effective energy H_eff(S) and the exact
Omega(S) over configurations drawn by the exact chain (the standard SLMC regression, Liu et al.,
Phys. Rev. B 95, 041101 (2017)); its spread is what the outer Metropolis test pays for
(:func:`suite.report.slmc.loss_from_acceptance`). Training is AdamW (as in Nagai & Tomiya) on
minibatches, all epochs in one ``lax.scan``. Before it, the constant and the couplings J_n are set
to their least-squares optimum for the bare spins (the linear model's exact fit), so every
Transformer starts from the linear model's best and its attention only has to improve on it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from suite.engine.slmc.geometry import shell_matrices


class FitResult(NamedTuple):
    """Trained parameters and the loss per epoch (mean squared error, energy units squared)."""

    params: dict
    loss: jax.Array


def pair_features(spins: jax.Array, L: int, couplings: int) -> jax.Array:
    """The linear model's features: per shell n = 1..couplings, the sum over unordered pairs
    (i, j) of shell n of S_i . S_j; shape (..., couplings)."""
    B = jnp.asarray(shell_matrices(L, couplings, include_self=False))
    return 0.5 * jnp.einsum("...ia,kij,...ja->...k", spins, B, spins)


def linear_least_squares(spins: jax.Array, energies: jax.Array, L: int,
                         couplings: int) -> tuple[float, np.ndarray]:
    """The constant E0 and couplings J minimising sum (E0 + J . x(S) - E)^2 exactly."""
    x = np.asarray(pair_features(spins, L, couplings))
    design = np.concatenate([np.ones((x.shape[0], 1)), x], axis=1)
    solution, *_ = np.linalg.lstsq(design, np.asarray(energies), rcond=None)
    return float(solution[0]), solution[1:]


def with_linear_fit(params: dict, spins: jax.Array, energies: jax.Array, L: int,
                    couplings: int) -> dict:
    """``params`` with ``E0`` and ``J`` replaced by :func:`linear_least_squares`."""
    E0, J = linear_least_squares(spins, energies, L, couplings)
    return {**params, "E0": jnp.asarray(E0, dtype=jnp.float64),
            "J": jnp.asarray(J, dtype=jnp.float64)}


def mean_squared_error(model, params: dict, spins: jax.Array, energies: jax.Array) -> jax.Array:
    """Mean of (H_eff(S) - Omega(S))^2."""
    return jnp.mean((model.apply({"params": params}, spins) - energies) ** 2)


def fit(model, params: dict, spins: jax.Array, energies: jax.Array, key: jax.Array, *,
        epochs: int, batch_size: int, learning_rate: float,
        weight_decay: float = 1e-4, learning_rate_final: float | None = None) -> FitResult:
    """AdamW on minibatches of (spins, energies), shuffled every epoch.

    Args:
        model: a Flax module, ``model.apply({"params": p}, spins) -> energies``.
        params: the starting parameters.
        spins: training configurations (M, N, 3); energies: their exact Omega (M,).
        key: the shuffling key.
        epochs: passes over the data; batch_size: configurations per step (the last partial
            batch of an epoch is dropped).
        learning_rate, weight_decay: AdamW's.
        learning_rate_final: with it, the learning rate decays from ``learning_rate`` to this
            value over all steps along a cosine (without it, constant). A constant rate leaves
            the last epoch's parameters wherever the minibatch noise put them.

    Returns:
        :class:`FitResult`, with the loss over the whole training set after every epoch.
    """
    n = spins.shape[0]
    batches = max(n // batch_size, 1)
    size = min(batch_size, n)
    rate = learning_rate if learning_rate_final is None else optax.cosine_decay_schedule(
        learning_rate, epochs * batches, alpha=learning_rate_final / learning_rate)
    optimizer = optax.adamw(rate, weight_decay=weight_decay)
    loss_grad = jax.value_and_grad(lambda p, s, e: mean_squared_error(model, p, s, e))

    def step(carry, index):
        p, opt = carry
        _, grads = loss_grad(p, spins[index], energies[index])
        updates, opt = optimizer.update(grads, opt, p)
        return (optax.apply_updates(p, updates), opt), None

    def epoch(carry, k):
        order = jax.random.permutation(k, n)[: batches * size].reshape(batches, size)
        carry, _ = jax.lax.scan(step, carry, order)
        return carry, mean_squared_error(model, carry[0], spins, energies)

    (params, _), loss = jax.lax.scan(epoch, (params, optimizer.init(params)),
                                     jax.random.split(key, epochs))
    return FitResult(params, loss)


__all__ = ["FitResult", "fit", "linear_least_squares", "mean_squared_error", "pair_features",
           "with_linear_fit"]
