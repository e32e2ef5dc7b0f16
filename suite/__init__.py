"""nqsbench: a declarative benchmark suite for transformer neural-network quantum states.

Importing the package turns on 64-bit types in JAX: float64 is the default dtype of every run
(``ModelConfig.dtype='float32'`` selects single precision per run).
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

from suite.config import (  # noqa: E402
    ModelConfig,
    OptimizerConfig,
    RunConfig,
    SamplerConfig,
    SystemConfig,
)
from suite.errors import ConfigError, DivergenceError  # noqa: E402
from suite.exact import exact_energy_per_site, exact_expectation, ground_state  # noqa: E402
from suite.hamiltonian import J1J2Hamiltonian  # noqa: E402
from suite.lattice import SquareLattice  # noqa: E402
from suite.models import RBM, ViT, build_model, count_parameters  # noqa: E402
from suite.references import find_reference, load_references, resolve_reference  # noqa: E402
from suite.sampler import MetropolisExchange  # noqa: E402
from suite.sr import sr_direction  # noqa: E402
from suite.train import TrainResult, train  # noqa: E402
from suite.version import __version__  # noqa: E402
from suite.vmc import VMC, StepInfo, VMCState  # noqa: E402

__all__ = [
    "__version__",
    "RBM",
    "VMC",
    "ConfigError",
    "DivergenceError",
    "J1J2Hamiltonian",
    "MetropolisExchange",
    "ModelConfig",
    "OptimizerConfig",
    "RunConfig",
    "SamplerConfig",
    "SquareLattice",
    "StepInfo",
    "SystemConfig",
    "TrainResult",
    "VMCState",
    "ViT",
    "build_model",
    "count_parameters",
    "exact_energy_per_site",
    "exact_expectation",
    "find_reference",
    "ground_state",
    "load_references",
    "resolve_reference",
    "sr_direction",
    "train",
]
