"""From a validated configuration to the engine's objects: the one place config meets JAX.

The engine (:mod:`suite.engine`) takes plain values and Flax modules; this module reads a
:class:`~suite.bench.config.RunConfig` once and passes its values on.
"""

from __future__ import annotations

import flax.linen as nn

from suite.bench.config import ModelConfig, RunConfig
from suite.engine.exact import MAX_EXACT_SITES, exact_energy_per_site
from suite.engine.hamiltonian import J1J2Hamiltonian
from suite.engine.lattice import SquareLattice
from suite.engine.models import CNN, DTYPES, RBM, ViT
from suite.engine.sampler import MetropolisExchange
from suite.engine.vmc import VMC, make_schedule
from suite.report.references import Reference, find_reference


def build_model(config: ModelConfig, L: int) -> nn.Module:
    """The Flax module described by a validated ``config`` for an L x L lattice (a plugin's is
    imported, built and checked on a dummy batch: :mod:`suite.bench.plugins`)."""
    dtype = DTYPES[config.dtype]
    if config.is_plugin:
        from suite.bench.plugins import build_plugin, check_plugin

        module = build_plugin(config, L)
        check_plugin(module, config.model, L * L, dtype)
        return module
    if config.model == "rbm":
        return RBM(alpha=config.alpha, dtype=dtype)
    if config.model == "cnn":
        return CNN(L=L, dtype=dtype, **config.cnn_options())
    return ViT(L=L, attention=config.attention, layers=config.layers, d=config.d,
               heads=config.heads, patch=config.patch, dtype=dtype, qk_scale=config.qk_scale)


def check_model(config: RunConfig) -> None:
    """Build a plugin model once and check it on a dummy batch (built-in models need nothing):
    a broken plugin is a :class:`~suite.errors.ConfigError` before any cell runs."""
    if config.model.is_plugin:
        build_model(config.model, config.system.L)


def build_vmc(config: RunConfig, sr_solver: str | None = None,
              sr_chunk: int | None = None) -> VMC:
    """The VMC engine described by ``config`` (validated here, once).

    ``sr_solver`` and ``sr_chunk``, where given, replace the configuration's: a memory plan
    (:mod:`suite.bench.memory_plan`) resolves ``auto`` to the solver and Jacobian block that fit
    the device. Neither changes the update, only the memory it takes.
    """
    config.validate()
    system, sampling, optimizer = config.system, config.sampler, config.optimizer
    lattice = SquareLattice.square(system.L)
    sampler = MetropolisExchange(
        lattice.n_sites, sampling.chains, sampling.samples_per_chain,
        sweeps_per_sample=sampling.sweeps_per_sample,
        thermalization_sweeps=sampling.thermalization_sweeps,
        discard_sweeps=sampling.discard_sweeps, chunk_size=sampling.chunk_size,
        decorrelation=sampling.decorrelation)
    return VMC(
        build_model(config.model, system.L),
        J1J2Hamiltonian(lattice, system.J1, system.J2),
        sampler,
        learning_rate=make_schedule(optimizer.learning_rate_schedule, optimizer.learning_rate,
                                    optimizer.learning_rate_final, optimizer.steps),
        diag_shift=make_schedule(optimizer.diag_shift_schedule, optimizer.diag_shift,
                                 optimizer.diag_shift_final, optimizer.steps),
        sr_mode=optimizer.sr_mode,
        sr_solver=sr_solver or optimizer.sr_solver,
        sr_chunk_size=sr_chunk or optimizer.sr_chunk,
        momentum=optimizer.momentum or None,
        dtype=DTYPES[config.model.dtype],
        sampling_dtype=None if sampling.dtype is None else DTYPES[sampling.dtype],
    )


def resolve_reference(L: int, J2: float, J1: float = 1.0) -> Reference | None:
    """The cited reference, or else an exact one computed now when the lattice is small enough.

    Args:
        L: linear lattice size.
        J2: next-nearest-neighbour coupling.
        J1: nearest-neighbour coupling (cited references are for J1 = 1).

    Returns:
        A :class:`Reference`, or ``None`` when none is cited and L*L is too large for exact
        diagonalisation.
    """
    cited = find_reference(L, J2, J1)
    if cited is not None:
        return cited
    if L * L > MAX_EXACT_SITES:
        return None
    energy = exact_energy_per_site(L, J2, J1)
    return Reference(
        id=f"ed-L{L}-J1_{J1:g}-J2_{J2:g}", L=L, J2=J2, energy_per_site=energy, uncertainty=0.0,
        kind="exact", citation="Exact diagonalisation computed by nqsbench (suite.engine.exact)",
    )
