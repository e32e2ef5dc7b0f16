"""Samples sharded across devices: one run on several GPUs (or hosts) with JAX's SPMD machinery.

The Markov chains, and with them every per-sample array of a step (configurations, local
energies, log-derivatives), are split along the sample axis over a one-dimensional
``jax.sharding.Mesh`` of the chosen devices; parameters, optimiser state and PRNG key are
replicated. ``jit`` then partitions the step (GSPMD) and inserts the collectives itself: the
means over samples, the 2M x 2M kernel ``X X^T`` (or the P x P metric) of the SR solve. Random
numbers do not depend on the sharding (JAX's partitionable threefry), so a sharded step is the
single-device step up to the order of floating-point sums.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from suite.errors import ConfigError

SAMPLE_AXIS = "samples"


def select_devices(devices: str | int | None = "all") -> list[jax.Device]:
    """The devices a run uses: ``"all"`` (or ``None``) or the first ``N`` of ``jax.devices()``.

    Raises:
        ConfigError: ``devices`` is not ``all`` or a positive integer, or more than are present.
    """
    available = jax.devices()
    if devices is None or devices == "all":
        return list(available)
    try:
        count = int(devices)
    except (TypeError, ValueError):
        raise ConfigError("devices", f"must be 'all' or a positive integer, got {devices!r}") \
            from None
    if count < 1 or count > len(available):
        raise ConfigError("devices", f"asked for {count} devices but {len(available)} "
                                     f"{available[0].platform} device(s) are present; choose "
                                     f"1 to {len(available)} or 'all'")
    return list(available[:count])


def sample_mesh(devices: list[jax.Device]) -> Mesh | None:
    """A one-axis mesh over ``devices`` (``None`` for a single device: nothing to shard)."""
    if len(devices) <= 1:
        return None
    return Mesh(np.array(devices), (SAMPLE_AXIS,))


def check_divisible(n_chains: int, mesh: Mesh | None) -> None:
    """Every device must hold the same number of chains.

    Raises:
        ConfigError: ``n_chains`` is not a multiple of the number of devices.
    """
    if mesh is not None and n_chains % mesh.size:
        raise ConfigError("devices", f"chains={n_chains} cannot be split evenly over "
                                     f"{mesh.size} devices; choose chains (or samples) a multiple "
                                     f"of {mesh.size}, or fewer devices")


def replicated(mesh: Mesh) -> NamedSharding:
    """The same value on every device."""
    return NamedSharding(mesh, PartitionSpec())


def along_samples(mesh: Mesh, ndim: int) -> NamedSharding:
    """Split the leading (sample) axis over the mesh, keep the others whole."""
    return NamedSharding(mesh, PartitionSpec(SAMPLE_AXIS, *([None] * (ndim - 1))))


def state_shardings(state: Any, mesh: Mesh) -> Any:
    """Shardings for a ``VMCState``: chains along samples, everything else replicated."""
    shardings = jax.tree.map(lambda _: replicated(mesh), state)
    chains = state.sampler.configs
    return shardings._replace(sampler=state.sampler._replace(
        configs=along_samples(mesh, chains.ndim)))


def shard_state(state: Any, mesh: Mesh | None) -> Any:
    """Place a ``VMCState`` on the mesh (unchanged without one)."""
    if mesh is None:
        return state
    return jax.device_put(state, state_shardings(state, mesh))


def constrain_samples(x: jax.Array, mesh: Mesh | None) -> jax.Array:
    """Inside ``jit``: keep a per-sample array split along its leading axis."""
    if mesh is None:
        return x
    return jax.lax.with_sharding_constraint(x, along_samples(mesh, x.ndim))


CLUSTER_VARIABLES = ("NQSBENCH_COORDINATOR_ADDRESS", "NQSBENCH_NUM_PROCESSES",
                     "NQSBENCH_PROCESS_ID")


def initialize_cluster(environ: dict[str, str] | None = None) -> bool:
    """Join a multi-host run when the environment describes one; call before any computation.

    Two cases start ``jax.distributed.initialize``: an explicit coordinator
    (``NQSBENCH_COORDINATOR_ADDRESS`` = ``host:port``, ``NQSBENCH_NUM_PROCESSES``,
    ``NQSBENCH_PROCESS_ID``), or a SLURM step with more than one task (``SLURM_NTASKS`` > 1),
    which JAX reads itself. One process per host sees its local devices; ``jax.devices()`` then
    lists the devices of every host, and the mesh spans them all.

    Returns:
        Whether a multi-process run was initialised.
    """
    environ = dict(os.environ if environ is None else environ)
    if all(name in environ for name in CLUSTER_VARIABLES):
        jax.distributed.initialize(coordinator_address=environ[CLUSTER_VARIABLES[0]],
                                   num_processes=int(environ[CLUSTER_VARIABLES[1]]),
                                   process_id=int(environ[CLUSTER_VARIABLES[2]]))
        return True
    if int(environ.get("SLURM_NTASKS", "1")) > 1:
        jax.distributed.initialize()
        return True
    return False


def is_writer() -> bool:
    """Only process 0 of a multi-host run writes records and checkpoints."""
    return jax.process_index() == 0


def to_host(x: Any) -> np.ndarray:
    """A (possibly sharded, possibly multi-host) array as one NumPy array on this host.

    Collective across processes when the array is not fully addressable: every process must
    call it.
    """
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)
