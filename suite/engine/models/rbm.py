"""A complex Restricted Boltzmann Machine (Carleo & Troyer 2017) built from real parameters.

log psi(s) = a.s + sum_j log cosh(b_j + W_j.s), with a = a_re + i a_im, b and W likewise, so the
optimiser and SR only ever see real parameters.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from suite.engine.models.common import log_cosh


class RBM(nn.Module):
    """RBM log-amplitude with ``alpha * N`` hidden units: (B, N) -> complex (B,)."""

    alpha: int = 1
    dtype: Any = jnp.float64

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        x = jnp.asarray(x, self.dtype)
        n_hidden = self.alpha * x.shape[-1]
        init = nn.initializers.normal(0.01)
        dense = dict(dtype=self.dtype, param_dtype=self.dtype, kernel_init=init, bias_init=init)
        theta = nn.Dense(n_hidden, name="hidden_real", **dense)(x)
        theta = theta + 1j * nn.Dense(n_hidden, name="hidden_imag", **dense)(x)
        visible = nn.Dense(1, use_bias=False, name="visible_real", **dense)(x)
        visible = visible + 1j * nn.Dense(1, use_bias=False, name="visible_imag", **dense)(x)
        return jnp.sum(log_cosh(theta), axis=-1) + visible[..., 0]
