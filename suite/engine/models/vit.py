"""The Vision Transformer wave function of Rende & Viteritti (2025), section 2.3.

b x b patches of the L x L spin configuration are embedded linearly in d dimensions, processed by
``layers`` pre-LayerNorm encoder blocks (attention, then a two-layer GELU MLP of width 4d, each
with a skip connection), summed over tokens, and mapped to a complex log-amplitude by an output
head: LayerNorm, then two Dense + LayerNorm branches giving the real and imaginary parts of
w.z + b, then sum_beta log cosh(.). All parameters are real.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from suite.engine.models.attention import RelativePositionAttention
from suite.engine.models.common import layer_options, log_cosh


def to_patches(x: jnp.ndarray, L: int, patch: int) -> jnp.ndarray:
    """Configurations (B, L*L) -> patches (B, n, patch*patch), patches numbered row-major."""
    side = L // patch
    x = x.reshape(x.shape[0], side, patch, side, patch)
    return x.transpose(0, 1, 3, 2, 4).reshape(x.shape[0], side * side, patch * patch)


class EncoderBlock(nn.Module):
    """Pre-LayerNorm transformer block: x + Attn(LN(x)), then x + MLP(LN(x))."""

    attention: str
    d: int
    heads: int
    side: int
    dtype: Any = jnp.float64
    qk_scale: str = "head"

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        norm, dense = layer_options(self.dtype)
        x = x + RelativePositionAttention(
            self.attention, self.d, self.heads, self.side, self.dtype, self.qk_scale,
            name="attention"
        )(nn.LayerNorm(name="norm_attention", **norm)(x))
        y = nn.LayerNorm(name="norm_mlp", **norm)(x)
        y = nn.Dense(4 * self.d, name="mlp_hidden", **dense)(y)
        y = nn.Dense(self.d, name="mlp_output", **dense)(nn.gelu(y))
        return x + y


class OutputHead(nn.Module):
    """z -> sum_beta log cosh(Re_beta + i Im_beta), with Re and Im from Dense + LayerNorm."""

    d: int
    dtype: Any = jnp.float64

    @nn.compact
    def __call__(self, z: jnp.ndarray) -> jnp.ndarray:
        norm, dense = layer_options(self.dtype)
        z = nn.LayerNorm(name="norm_output", **norm)(z)
        real = nn.LayerNorm(name="norm_real", **norm)(nn.Dense(self.d, name="real", **dense)(z))
        imag = nn.LayerNorm(name="norm_imag", **norm)(nn.Dense(self.d, name="imag", **dense)(z))
        return jnp.sum(log_cosh(real + 1j * imag), axis=-1)


class ViT(nn.Module):
    """Vision Transformer log-amplitude: configurations (B, L*L) of +-1 -> complex (B,).

    Attributes:
        L: linear lattice size.
        attention: ``t5``, ``decoupled`` or ``factored``.
        layers: number of encoder blocks n_l.
        d: embedding dimension.
        heads: number of attention heads h.
        patch: linear patch size b.
        dtype: parameter dtype (the output is complex of matching precision).
        qk_scale: ``head`` (queries x keys / sqrt(d/h)) or ``embedding`` (/ sqrt(d), the
            paper's eqs. 4-5); see :class:`~suite.engine.models.attention.RelativePositionAttention`.
    """

    L: int
    attention: str = "factored"
    layers: int = 2
    d: int = 16
    heads: int = 2
    patch: int = 2
    dtype: Any = jnp.float64
    qk_scale: str = "head"

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        x = to_patches(jnp.asarray(x, self.dtype), self.L, self.patch)
        x = nn.Dense(self.d, name="embedding", **layer_options(self.dtype)[1])(x)
        side = self.L // self.patch
        for layer in range(self.layers):
            x = EncoderBlock(self.attention, self.d, self.heads, side, self.dtype,
                             self.qk_scale, name=f"block_{layer}")(x)
        return OutputHead(self.d, self.dtype, name="head")(jnp.sum(x, axis=-2))
