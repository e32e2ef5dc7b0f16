"""Sampling in a lower precision than the model, and the bound on the bias it can cause.

With ``sampler_dtype = "float32"`` and a ``float64`` model, the Metropolis chain evaluates a
single-precision copy of the network, so it draws from p32 ~ |psi_32|^2 instead of p64 ~ |psi_64|^2.
Everything computed from the samples (local energies, log-derivatives, the SR solve) stays in
double precision. Write psi_32 = psi_64 exp(eps); then p32 = p64 exp(2 Re eps) / Z. If Re eps
varies by at most ``spread`` = max - min over the configurations, every ratio p32/p64 lies in
[exp(-2 spread), exp(2 spread)], and for any function f

    |E_p32[f] - E_p64[f]| <= (exp(2 spread) - 1) * E_p64 |f - E_p64[f]|

(subtract E_p64[f] inside the sum, which the ratio's normalisation allows). With f the local energy
this bounds the energy bias by a multiple of its mean absolute deviation, a quantity of the same
order as the error bar times sqrt(samples); the spread of a float32 network is ~1e-6, so the bound
is many orders of magnitude below the statistical error. Each evaluation records the bound with
the spread observed on its own samples (a sample estimate of the maximum over all configurations).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


def with_dtype(model: nn.Module, dtype: Any) -> nn.Module:
    """The same module computing in ``dtype`` (its parameters must be cast to match)."""
    return model.clone(dtype=dtype)


def cast_parameters(params: Any, dtype: Any) -> Any:
    """Every floating-point leaf of ``params`` in ``dtype``."""
    return jax.tree_util.tree_map(
        lambda leaf: leaf.astype(dtype) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf,
        params)


def log_psi_spread(log_psi_sampled: jax.Array, log_psi_exact: jax.Array) -> jax.Array:
    """max - min over the samples of Re(log psi the chain used - log psi of the model)."""
    difference = jnp.real(log_psi_sampled - log_psi_exact)
    return jnp.max(difference) - jnp.min(difference)


def energy_bias_bound(spread: jax.Array, local_energies: jax.Array,
                      probabilities: jax.Array | None = None) -> jax.Array:
    """(exp(2 spread) - 1) times the mean absolute deviation of Re E_loc (total-energy units).

    Args:
        spread: :func:`log_psi_spread`.
        local_energies: (M,) local energies in the model's precision.
        probabilities: (M,) weights summing to 1 (exact enumeration passes |psi_64|^2);
            ``None`` for Monte Carlo samples (1/M each).
    """
    real = jnp.real(local_energies)
    if probabilities is None:
        probabilities = jnp.full(real.shape, 1.0 / real.size, dtype=real.dtype)
    mean = jnp.sum(probabilities * real)
    return jnp.expm1(2.0 * spread) * jnp.sum(probabilities * jnp.abs(real - mean))
