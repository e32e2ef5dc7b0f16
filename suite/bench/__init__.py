"""The benchmark machinery: the one schema, matrices, training, the runner, checkpoints.

The schema, the configuration and the matrices are plain Python and load without JAX (``nqsbench
table --matrix`` and :mod:`suite.report` use them); the names that run the engine (``build_vmc``,
``train``, ``run_cells``...) import JAX when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from suite.bench.config import (
    ModelConfig,
    OptimizerConfig,
    RunConfig,
    SamplerConfig,
    SystemConfig,
)
from suite.bench.matrix import Cell, Matrix, MatrixError, config_hash, load_matrix

_LAZY = {
    "build_model": "suite.bench.build",
    "build_vmc": "suite.bench.build",
    "resolve_reference": "suite.bench.build",
    "TrainResult": "suite.bench.train",
    "train": "suite.bench.train",
    "cell_statuses": "suite.bench.runner",
    "run_cell": "suite.bench.runner",
    "run_cells": "suite.bench.runner",
}


def __getattr__(name: str) -> Any:
    """The JAX-backed names, imported on first use (so the plain-Python part stays light)."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'suite.bench' has no attribute {name!r}")


__all__ = [
    "Cell",
    "Matrix",
    "MatrixError",
    "ModelConfig",
    "OptimizerConfig",
    "RunConfig",
    "SamplerConfig",
    "SystemConfig",
    "config_hash",
    "load_matrix",
    *_LAZY,
]
