"""The physics and the variational Monte Carlo engine, in pure JAX.

Everything here takes plain values (sizes, couplings, dtypes, schedules) and Flax modules, never
a configuration object; :mod:`suite.bench.build` turns a configuration into these objects.
Importing this package turns on 64-bit types in JAX: float64 is the default dtype of every run.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

from suite.engine.exact import exact_energy_per_site, exact_expectation, ground_state  # noqa: E402
from suite.engine.hamiltonian import J1J2Hamiltonian  # noqa: E402
from suite.engine.lattice import SquareLattice  # noqa: E402
from suite.engine.models import RBM, ViT, count_parameters, init_parameters  # noqa: E402
from suite.engine.sampler import MetropolisExchange  # noqa: E402
from suite.engine.sr import sr_direction  # noqa: E402
from suite.engine.stats import chain_statistics, local_energy_statistics  # noqa: E402
from suite.engine.vmc import VMC, StepInfo, VMCState, make_schedule  # noqa: E402

__all__ = [
    "RBM",
    "VMC",
    "J1J2Hamiltonian",
    "MetropolisExchange",
    "SquareLattice",
    "StepInfo",
    "VMCState",
    "ViT",
    "chain_statistics",
    "local_energy_statistics",
    "count_parameters",
    "exact_energy_per_site",
    "exact_expectation",
    "ground_state",
    "init_parameters",
    "make_schedule",
    "sr_direction",
]
