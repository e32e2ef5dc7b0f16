"""The benchmark cells for asv: which matrix, their parameters, and a per-commit cell cache.

asv runs every benchmark (and every parameter combination) in a fresh process, so the metrics of
one VMC cell would otherwise cost one full run each. :func:`cell_metrics` runs a cell once per
commit and environment, stores its metrics in a JSON file, and serves every later metric of that
cell from the file. A lock file keeps two processes from running the same cell at once.

This module only uses suite APIs that exist since the matrix was introduced (commit 774f6d5), so
``asv run`` can measure older commits with today's benchmark suite.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROFILE_VARIABLE = "NQSBENCH_ASV_MATRIX"
CACHE_VARIABLE = "NQSBENCH_ASV_CACHE"
PROFILES: tuple[str, ...] = ("smoke", "quick", "paper")
DEFAULT_PROFILE = "smoke"


def profile() -> str:
    """The matrix the benchmarks run: ``$NQSBENCH_ASV_MATRIX``, ``smoke`` by default."""
    name = os.environ.get(PROFILE_VARIABLE, DEFAULT_PROFILE)
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_VARIABLE}={name!r} is not a benchmark profile; "
                         f"choose one of: {', '.join(PROFILES)}")
    return name


def load_profile_matrix():
    """The :class:`suite.matrix.Matrix` of the current profile."""
    from suite.matrix import load_matrix

    return load_matrix(profile())


def asv_parameters(matrix) -> tuple[list[list[Any]], list[str]]:
    """asv ``params`` and ``param_names``: the values each axis takes, in matrix order.

    asv benchmarks the Cartesian product; combinations the matrix excludes are skipped in
    ``setup`` (:func:`cell_for` returns ``None``).
    """
    names = list(matrix.axes)
    values: list[list[Any]] = [[] for _ in names]
    for cell in matrix.cells:
        for i, name in enumerate(names):
            if cell.settings[name] not in values[i]:
                values[i].append(cell.settings[name])
    return values, names


def cell_for(matrix, values: tuple) -> Any | None:
    """The cell whose axis values are ``values`` (asv passes them as strings or as given)."""
    wanted = dict(zip(matrix.axes, values, strict=True))
    for cell in matrix.cells:
        if all(cell.settings[k] == v for k, v in wanted.items()):
            return cell
    return None


def _commit() -> str:
    commit = os.environ.get("ASV_COMMIT")
    if commit:
        return commit
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=os.environ.get("ASV_CONF_DIR", ".")).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown-commit"


def cache_path(cell) -> Path:
    """``<cache>/<commit>/<environment>/<cell id>.json``."""
    root = os.environ.get(CACHE_VARIABLE)
    if root is None:
        root = Path(os.environ.get("ASV_CONF_DIR", ".")) / ".asv" / "nqsbench-cells"
    environment = os.environ.get("ASV_ENV_NAME", "current")
    return Path(root) / _commit() / environment / f"{cell.id}.json"


def measure(cell) -> dict[str, Any]:
    """Run ``cell`` once and return its metrics; a divergence gives ``{"failed": ...}``."""
    from suite.errors import DivergenceError
    from suite.provenance import peak_memory
    from suite.references import resolve_reference
    from suite.train import train

    config = cell.config
    try:
        result = train(config)
    except DivergenceError as error:
        return {"failed": f"diverged at step {error.step}: {error.reason}"}
    reference = resolve_reference(config.system.L, config.system.J2, config.system.J1)
    energy = result.evaluation.energy
    return {
        "seconds_per_step": result.seconds_per_step,
        "compile_seconds": result.compile_seconds,
        "n_parameters": result.n_parameters,
        "energy_per_site": energy,
        "relative_error": None if reference is None else reference.relative_error(energy),
        "reference_id": None if reference is None else reference.id,
        "device_peak_bytes": peak_memory()["device_peak_bytes"],
    }


def cell_metrics(cell, run: Callable[[Any], dict[str, Any]] = measure) -> dict[str, Any]:
    """The cell's metrics for this commit: from the cache, or from one run that fills it."""
    path = cache_path(cell)
    if path.is_file():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():  # another process ran it while we waited
            return json.loads(path.read_text())
        metrics = run(cell)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(metrics))
        os.replace(temporary, path)
    return metrics
