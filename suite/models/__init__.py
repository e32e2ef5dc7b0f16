"""Variational wave functions: the ViT with three attention mechanisms, and an RBM baseline."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from suite.config import ModelConfig
from suite.models.attention import RelativePositionAttention, relative_position_index
from suite.models.common import DTYPES, log_cosh
from suite.models.rbm import RBM
from suite.models.vit import ViT

__all__ = [
    "RBM",
    "RelativePositionAttention",
    "ViT",
    "build_model",
    "count_parameters",
    "init_parameters",
    "log_cosh",
    "relative_position_index",
]


def build_model(config: ModelConfig, L: int) -> nn.Module:
    """The Flax module described by a validated ``config`` for an L x L lattice."""
    config.validate(L)
    dtype = DTYPES[config.dtype]
    if config.model == "rbm":
        return RBM(alpha=config.alpha, dtype=dtype)
    return ViT(L=L, attention=config.attention, layers=config.layers, d=config.d,
               heads=config.heads, patch=config.patch, dtype=dtype)


def init_parameters(model: nn.Module, key: jax.Array, n_sites: int, dtype=jnp.float64):
    """Random initial parameters of ``model`` for configurations of ``n_sites`` spins."""
    dummy = jnp.ones((1, n_sites), dtype=dtype)
    return model.init(key, dummy)["params"]


def count_parameters(params) -> int:
    """Number of real scalar parameters in a parameter pytree."""
    return int(sum(leaf.size for leaf in jax.tree_util.tree_leaves(params)))
