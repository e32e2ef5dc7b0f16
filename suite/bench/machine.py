"""This machine for asv: a name with the accelerator in it, and asv's machine entry.

``asv machine --yes --machine NAME`` stores only the name: asv 0.6 keeps just the options that
differ from its own defaults, and fills the rest only when nothing at all was given (under the
host name). :func:`record_asv_machine` writes the whole entry into asv's machine file
(``~/.asv-machine.json``) instead: the fields ``asv machine`` asks for (``machine``, ``os``,
``arch``, ``cpu``, ``num_cpu``, ``ram``, the values ``asv machine --yes`` would take) and, on an
accelerator, its model and count (``gpu``, ``num_gpu``). ``asv run --machine NAME`` copies the
entry into ``results/asv/NAME/machine.json`` and into every result's parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ASV_FIELDS: tuple[str, ...] = ("machine", "os", "arch", "cpu", "num_cpu", "ram")
"""the fields of asv's machine file, as ``asv machine`` asks for them"""
ACCELERATOR_FIELDS: tuple[str, ...] = ("gpu", "num_gpu")
"""added on an accelerator: its model (JAX's ``device_kind``) and how many there are"""


def _environment(env: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if env is not None:
        return env
    from suite.bench.provenance import environment  # imports JAX

    return environment()


def machine_name(env: Mapping[str, Any] | None = None) -> str:
    """``host-platform-device``, lower case, e.g. ``node7-gpu-nvidia-h200``.

    Args:
        env: :func:`suite.bench.provenance.environment` (``host``, ``platform``, ``device``);
            by default this process's, which starts JAX.
    """
    env = _environment(env)
    name = f"{env['host']}-{env['platform']}-{env['device']}"
    return re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-").lower()


def asv_machine_entry(env: Mapping[str, Any] | None = None) -> dict[str, str]:
    """This machine's entry for asv's machine file, every value a string as asv stores them.

    ``os``, ``arch``, ``cpu``, ``num_cpu`` and ``ram`` (bytes) are asv's own defaults
    (:meth:`asv.machine.Machine.get_defaults`), ``machine`` is :func:`machine_name`, and on an
    accelerator (``env["platform"]`` other than ``cpu``) ``gpu`` is its model and ``num_gpu`` the
    number of devices JAX sees.
    """
    from asv.machine import Machine

    env = _environment(env)
    defaults = Machine.get_defaults()
    entry = {field: str(defaults[field]) for field in ASV_FIELDS if field != "machine"}
    entry["cpu"] = entry["cpu"] or str(env.get("cpu") or "")
    entry = {"machine": machine_name(env), **entry}
    if env["platform"] != "cpu":
        entry["gpu"] = str(env["device"])
        entry["num_gpu"] = str(env["device_count"])
    return entry


def record_asv_machine(path: str | Path | None = None,
                       env: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Write :func:`asv_machine_entry` into asv's machine file under its name and return it.

    Args:
        path: the machine file; by default asv's, ``~/.asv-machine.json``. Other machines'
            entries in it are kept; an older entry of this name is replaced whole.
        env: as for :func:`machine_name`.
    """
    from asv.machine import MachineCollection

    entry = asv_machine_entry(env)
    MachineCollection.save(entry["machine"], entry, _path=None if path is None else str(path))
    return entry
