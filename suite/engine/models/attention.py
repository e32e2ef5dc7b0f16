"""Multi-head attention with relative positional encoding on a periodic 2D lattice of patches.

The three mechanisms of Rende & Viteritti (2025), section 3.1:

* ``t5`` (eq. 4):        alpha_ij = softmax_j(q_i . k_j / sqrt(d_h) + p_{i-j})
* ``decoupled`` (eq. 5): alpha_ij = softmax_j(q_i . k_j / sqrt(d_h)) + p_{i-j}
* ``factored`` (eq. 6):  alpha_ij = p_{i-j}

with queries, keys and values per head of dimension d_h = d / h (the usual multi-head scaling),
and p_{i-j} depending only on the displacement between patches i and j on the (L/b) x (L/b)
torus: the positional matrix of each head is a 2D circulant with n free parameters.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from suite.engine.models.common import layer_options

ATTENTION_KINDS = ("t5", "decoupled", "factored")
QK_SCALES = ("head", "embedding")


def relative_position_index(side: int) -> np.ndarray:
    """Index of the periodic displacement between every pair of patches, shape (n, n).

    Patches are numbered row-major on a ``side`` x ``side`` torus; the displacement
    ((r_i - r_j) mod side, (c_i - c_j) mod side) is flattened row-major into 0..n-1.
    """
    rows, cols = np.divmod(np.arange(side * side), side)
    d_row = (rows[:, None] - rows[None, :]) % side
    d_col = (cols[:, None] - cols[None, :]) % side
    return (d_row * side + d_col).astype(np.int32)


class RelativePositionAttention(nn.Module):
    """One attention layer; the attention weights are sown as ``intermediates/attention_weights``.

    Attributes:
        kind: ``t5``, ``decoupled`` or ``factored``.
        d: embedding dimension.
        heads: number of heads (must divide ``d``).
        side: patches per side of the lattice of patches (n = side**2 tokens).
        dtype: parameter and computation dtype.
        qk_scale: queries times keys are divided by sqrt(d / heads) (``head``, the usual
            transformer scale) or by sqrt(d) (``embedding``, the paper's eqs. 4 and 5).
    """

    kind: str
    d: int
    heads: int
    side: int
    dtype: Any = jnp.float64
    qk_scale: str = "head"

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        """Map tokens (B, n, d) to tokens (B, n, d)."""
        if self.kind not in ATTENTION_KINDS:
            raise ValueError(f"unknown attention {self.kind!r}; choose one of {ATTENTION_KINDS}")
        if self.qk_scale not in QK_SCALES:
            raise ValueError(f"unknown qk_scale {self.qk_scale!r}; choose one of {QK_SCALES}")
        batch, n, _ = x.shape
        d_head = self.d // self.heads
        dense = layer_options(self.dtype)[1]

        def project(name: str) -> jnp.ndarray:
            return nn.Dense(self.d, name=name, **dense)(x).reshape(batch, n, self.heads, d_head)

        values = project("value")
        positional = self.param(
            "positional", nn.initializers.xavier_uniform(), (self.heads, n), self.dtype
        )
        position_matrix = positional[:, relative_position_index(self.side)]  # (h, n, n)
        if self.kind == "factored":
            weights = position_matrix[None]
        else:
            queries, keys = project("query"), project("key")
            scale = math.sqrt(self.d if self.qk_scale == "embedding" else d_head)
            logits = jnp.einsum("bihc,bjhc->bhij", queries, keys) / scale
            if self.kind == "t5":
                weights = nn.softmax(logits + position_matrix[None], axis=-1)
            else:
                weights = nn.softmax(logits, axis=-1) + position_matrix[None]
        self.sow("intermediates", "attention_weights", weights)
        mixed = jnp.einsum("bhij,bjhc->bihc", weights, values).reshape(batch, n, self.d)
        return nn.Dense(self.d, name="output", **dense)(mixed)
