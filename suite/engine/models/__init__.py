"""Variational wave functions: the ViT with three attention mechanisms, and RBM and CNN baselines.

The CNN is a translation-invariant periodic-convolution ResNet after Chen & Heyl (2024).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from suite.engine.models.attention import RelativePositionAttention, relative_position_index
from suite.engine.models.cnn import CNN
from suite.engine.models.common import DTYPES, log_cosh
from suite.engine.models.rbm import RBM
from suite.engine.models.vit import ViT
from suite.engine.precision import cast_parameters

__all__ = [
    "CNN",
    "RBM",
    "RelativePositionAttention",
    "ViT",
    "DTYPES",
    "count_parameters",
    "init_parameters",
    "log_cosh",
    "relative_position_index",
]


def init_parameters(model: nn.Module, key: jax.Array, n_sites: int, dtype=None):
    """Random initial parameters of ``model`` for configurations of ``n_sites`` spins; with
    ``dtype``, every floating-point parameter in it (a plugin that declares no parameter dtype
    gets Flax's float32 otherwise)."""
    dummy = jnp.ones((1, n_sites), dtype=dtype or jnp.float64)
    params = model.init(key, dummy)["params"]
    return params if dtype is None else cast_parameters(params, dtype)


def count_parameters(params) -> int:
    """Number of real scalar parameters in a parameter pytree."""
    return int(sum(leaf.size for leaf in jax.tree_util.tree_leaves(params)))
