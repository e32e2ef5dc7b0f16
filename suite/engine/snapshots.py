"""Attention-map snapshots: the attention weights of every layer and head for fixed inputs.

The inputs are a few Sz=0 configurations drawn once from a fixed seed (the same for every run on a
lattice), so snapshots of different runs, and of one run at initialisation and at the end, are
comparable (``suite.report.analysis.input_dependence`` measures how much they vary). This is
what the paper's figure 4 shows: after training, the maps of T5 and Decoupled
attention stop depending on the input.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import numpy as np

from suite.engine.sampler import random_sz0_configs

SNAPSHOT_SEED = 2025
SNAPSHOT_CONFIGURATIONS = 3


def snapshot_configurations(n_sites: int, count: int = SNAPSHOT_CONFIGURATIONS) -> np.ndarray:
    """``count`` fixed random Sz=0 configurations of ``n_sites`` spins, (count, N) int8 of +-1."""
    return np.asarray(random_sz0_configs(jax.random.key(SNAPSHOT_SEED), count, n_sites))


def attention_maps(model: nn.Module, params, configurations: np.ndarray) -> np.ndarray | None:
    """Attention weights for each configuration: (configs, layers, heads, patches, patches).

    Returns ``None`` for models without attention (the RBM). Input-independent (factored) maps
    are broadcast over the configurations.
    """
    _, variables = model.apply({"params": params}, np.asarray(configurations),
                               mutable=["intermediates"])
    found = []

    def collect(path, leaf):
        if any(getattr(part, "key", None) == "attention_weights" for part in path):
            found.append((jax.tree_util.keystr(path), leaf))

    jax.tree_util.tree_map_with_path(collect, variables.get("intermediates", {}))
    if not found:
        return None
    found.sort(key=lambda item: _layer_index(item[0]))
    count = len(configurations)
    layers = [np.broadcast_to(np.asarray(weights), (count, *np.shape(weights)[1:]))
              for _, weights in found]
    return np.stack(layers, axis=1)


def _layer_index(path: str) -> int:
    digits = path.split("block_", 1)[-1].split("'", 1)[0]
    return int(digits) if digits.isdigit() else 0
