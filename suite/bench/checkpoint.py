"""Checkpoints of an optimisation: parameters, optimiser state, chains, PRNG key, step, trace.

A checkpoint is one ``.npz`` file written atomically (:mod:`suite.report.storage`): the leaves of the
:class:`~suite.engine.vmc.VMCState` pytree (the typed PRNG key stored as its raw key data), the per-step
trace so far, and a fingerprint of the configuration. It is restored onto the tree structure of a
freshly initialised state of the same configuration, so resuming reproduces, bit for bit, the run
that was never interrupted.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from suite.engine.sharding import is_writer, to_host
from suite.engine.vmc import VMCState
from suite.report.storage import atomic_write

TRACE_FIELDS: tuple[str, ...] = ("energy", "error", "variance", "acceptance", "seconds")


@dataclass(frozen=True)
class Checkpoint:
    """The resumable progress of a run: its state and the trace of the steps taken so far."""

    state: VMCState
    trace: dict[str, np.ndarray]
    """per-step arrays (``TRACE_FIELDS``), one entry per completed step"""

    @property
    def step(self) -> int:
        return int(self.state.step)

    @classmethod
    def fresh(cls, state: VMCState) -> Checkpoint:
        """The progress of a run about to take its first step from ``state``."""
        return cls(state, {name: np.empty(0) for name in TRACE_FIELDS})


def _leaves(state: VMCState) -> list[np.ndarray]:
    state = state._replace(key=jax.random.key_data(state.key))
    return [to_host(leaf) for leaf in jax.tree_util.tree_leaves(state)]


def save_checkpoint(path: Path, checkpoint: Checkpoint, fingerprint: str) -> None:
    """Write ``checkpoint`` to ``path`` atomically, tagged with the configuration ``fingerprint``.

    In a multi-host run every process must call this (sharded arrays are gathered
    collectively); only process 0 writes the file.
    """
    arrays = {f"leaf_{i}": leaf for i, leaf in enumerate(_leaves(checkpoint.state))}
    if not is_writer():
        return
    arrays.update({f"trace_{name}": np.asarray(checkpoint.trace[name]) for name in TRACE_FIELDS})
    arrays["fingerprint"] = np.array(fingerprint)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(Path(path), buffer.getvalue())


def checkpoint_step(path: Path) -> int | None:
    """The number of steps saved in the checkpoint at ``path`` (``None`` if unreadable)."""
    try:
        with np.load(path) as data:
            return len(data["trace_energy"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def load_checkpoint(path: Path, template: VMCState, fingerprint: str) -> Checkpoint | None:
    """The checkpoint at ``path`` restored onto ``template``'s structure.

    Returns ``None`` when there is no file, or when it belongs to another configuration (a
    different fingerprint or tree), or cannot be read: the run then starts afresh.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            if str(data["fingerprint"]) != fingerprint:
                return None
            leaves_template, treedef = jax.tree_util.tree_flatten(
                template._replace(key=jax.random.key_data(template.key)))
            leaves = [data[f"leaf_{i}"] for i in range(len(leaves_template))]
            if any(a.shape != np.shape(b) or a.dtype != np.asarray(b).dtype
                   for a, b in zip(leaves, leaves_template, strict=True)):
                return None
            trace = {name: np.array(data[f"trace_{name}"]) for name in TRACE_FIELDS}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    state = jax.tree_util.tree_unflatten(treedef, [jax.numpy.asarray(x) for x in leaves])
    state = state._replace(key=jax.random.wrap_key_data(state.key,
                                                        impl=jax.random.key_impl(template.key)))
    if len(trace["energy"]) != int(state.step):
        return None
    return Checkpoint(state, trace)
