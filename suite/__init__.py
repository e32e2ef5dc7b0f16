"""nqsbench: a declarative benchmark suite for transformer neural-network quantum states.

Four packages, each with one job:

- :mod:`suite.engine`: the physics and variational Monte Carlo in pure JAX (plain values in);
- :mod:`suite.bench`: the one schema, matrices, building the engine from a configuration,
  training, the runner, checkpoints and provenance;
- :mod:`suite.report`: typed records, references, tables and the asv results reader (no JAX);
- :mod:`suite.perf`: FLOP accounting, device peaks and the race against NetKet.

Importing ``suite`` itself loads no JAX; :mod:`suite.engine` turns on 64-bit types when it is
imported (float64 is the default dtype of every run).
"""

from __future__ import annotations

import importlib
from typing import Any

from suite.version import __version__

_MOVED = {
    "ModelConfig": "suite.bench.config", "OptimizerConfig": "suite.bench.config",
    "RunConfig": "suite.bench.config", "SamplerConfig": "suite.bench.config",
    "SystemConfig": "suite.bench.config", "ConfigError": "suite.errors",
    "DivergenceError": "suite.errors", "exact_energy_per_site": "suite.engine.exact",
    "exact_expectation": "suite.engine.exact", "ground_state": "suite.engine.exact",
    "J1J2Hamiltonian": "suite.engine.hamiltonian", "SquareLattice": "suite.engine.lattice",
    "RBM": "suite.engine.models", "ViT": "suite.engine.models",
    "count_parameters": "suite.engine.models", "build_model": "suite.bench.build",
    "find_reference": "suite.report.references", "load_references": "suite.report.references",
    "resolve_reference": "suite.bench.build", "MetropolisExchange": "suite.engine.sampler",
    "sr_direction": "suite.engine.sr", "TrainResult": "suite.bench.train",
    "train": "suite.bench.train", "VMC": "suite.engine.vmc", "StepInfo": "suite.engine.vmc",
    "VMCState": "suite.engine.vmc",
}
"""the names ``suite`` exported before the four packages existed, and where they live now"""


def __getattr__(name: str) -> Any:
    """``from suite import train`` (the flat layout's names) still works, imported on use."""
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'suite' has no attribute {name!r}")


__all__ = ["__version__"]
