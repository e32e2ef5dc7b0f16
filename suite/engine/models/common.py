"""Small numerical helpers shared by the models."""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

DTYPES = {"float64": jnp.float64, "float32": jnp.float32}


def log_cosh(z: jnp.ndarray) -> jnp.ndarray:
    """log(cosh(z)) for real or complex z, stable for large |Re z|.

    Uses cosh(z) = cosh(-z) to work with s = z sign(Re z), then
    log cosh(s) = s + log(1 + exp(-2 s)) - log 2, where |exp(-2 s)| <= 1.
    """
    s = z * jnp.where(jnp.real(z) < 0, -1.0, 1.0).astype(jnp.real(z).dtype)
    return s + jnp.log1p(jnp.exp(-2.0 * s)) - math.log(2.0)


def layer_options(dtype) -> tuple[dict, dict]:
    """Keyword arguments for LayerNorm and Dense layers of one dtype (xavier-uniform kernels)."""
    norm = {"dtype": dtype, "param_dtype": dtype}
    return norm, {**norm, "kernel_init": nn.initializers.xavier_uniform()}
