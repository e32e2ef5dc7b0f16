"""Numbers derived from records without JAX: how input-dependent attention maps are."""

from __future__ import annotations

import numpy as np


def input_dependence(maps: np.ndarray) -> float:
    """How much the maps vary with the input: the largest, over layers and heads, of the mean
    absolute deviation from the configuration-averaged map, relative to that map's mean
    absolute value (0 for input-independent attention)."""
    maps = np.asarray(maps, dtype=float)
    mean = maps.mean(axis=0, keepdims=True)
    deviation = np.abs(maps - mean).mean(axis=(0, 3, 4))
    scale = np.abs(mean).mean(axis=(0, 3, 4))
    return float(np.max(deviation / np.where(scale > 0, scale, 1.0)))
