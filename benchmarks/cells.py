"""The benchmark cells for asv: which matrix, their parameters, and a per-commit cell cache.

asv runs every benchmark (and every parameter combination) in a fresh process, so the metrics of
one VMC cell would otherwise cost one full run each. :func:`cell_metrics` runs a cell once per
version of the engine's code (:func:`code_fingerprint`) and environment, stores its metrics in a
JSON file, and serves every later metric of that cell from the file. A lock file keeps two
processes from running the same cell at once.

This module only uses suite APIs that exist since the matrix was introduced (commit 774f6d5), so
``asv run`` can measure older commits with today's benchmark suite.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROFILE_VARIABLE = "NQSBENCH_ASV_MATRIX"
CACHE_VARIABLE = "NQSBENCH_ASV_CACHE"
ONLY_VARIABLE = "NQSBENCH_ASV_ONLY"
PROFILES: tuple[str, ...] = ("smoke", "quick", "paper")
DEFAULT_PROFILE = "smoke"


def profile() -> str:
    """The matrix the benchmarks run: ``$NQSBENCH_ASV_MATRIX``, ``smoke`` by default; a built-in
    profile or the path of a matrix file (``.toml``, e.g. one whose cells run a plugin)."""
    name = os.environ.get(PROFILE_VARIABLE, DEFAULT_PROFILE)
    if name not in PROFILES and not (name.endswith(".toml") and Path(name).is_file()):
        raise ValueError(f"{PROFILE_VARIABLE}={name!r} is not a benchmark profile; "
                         f"choose one of: {', '.join(PROFILES)}, or a matrix file (.toml)")
    return name


def load_profile_matrix():
    """The :class:`suite.bench.matrix.Matrix` of the current profile, whole.

    ``$NQSBENCH_ASV_ONLY`` never narrows it: the benchmarks' parameters (and so asv's
    ``benchmarks.json``) always describe the whole matrix; :func:`selected_cells` says which cells
    a narrowed run measures, and the others are skipped in ``setup``.
    """
    from suite.bench.matrix import load_matrix

    return load_matrix(profile())


def selected_cells(matrix) -> frozenset[str]:
    """The ids of the cells of ``matrix`` this run measures: those matching ``$NQSBENCH_ASV_ONLY``
    (``"attention=factored J2=0.0"``, the ``--only`` syntax), every cell when it is unset.

    Raises:
        ValueError: the selection matches no cell of the matrix.
    """
    from suite.bench.matrix import parse_filters

    only = os.environ.get(ONLY_VARIABLE, "").split()
    if not only:
        return frozenset(cell.id for cell in matrix.cells)
    chosen = frozenset(cell.id for cell in matrix.select(parse_filters(only, ONLY_VARIABLE)))
    if not chosen:
        raise ValueError(f"{ONLY_VARIABLE}={' '.join(only)!r} matches no cell of the "
                         f"{matrix.name} matrix")
    return chosen


def _parameter(value: Any) -> Any:
    """An axis value as an asv parameter: a table (``model_options``) with its keys sorted, so
    its ``repr`` (asv's name of the parameter) does not depend on the order they were written."""
    if isinstance(value, dict):
        return {key: _parameter(value[key]) for key in sorted(value)}
    return value


def asv_parameters(matrix) -> tuple[list[list[Any]], list[str]]:
    """asv ``params`` and ``param_names``: the values each axis takes, in matrix order.

    asv benchmarks the Cartesian product; combinations the matrix excludes are skipped in
    ``setup`` (:func:`cell_for` returns ``None``). Any axis works, ``model`` (``vit``, ``cnn``,
    ``rbm``, a plugin's ``package.module:factory``) and ``model_options`` (tables) included.
    """
    names = list(matrix.axes)
    values: list[list[Any]] = [[] for _ in names]
    for cell in matrix.cells:
        for i, name in enumerate(names):
            value = _parameter(cell.settings[name])
            if value not in values[i]:
                values[i].append(value)
    return values, names


def _same(setting: Any, value: Any) -> bool:
    """A cell's setting is an asv parameter: the value itself, or (a table) its ``repr``."""
    if setting == value:
        return True
    return isinstance(setting, dict) and isinstance(value, str) and \
        value == repr(_parameter(setting))


def cell_for(matrix, values: tuple) -> Any | None:
    """The cell whose axis values are ``values`` (asv passes them as given; a table may come as
    its ``repr``)."""
    wanted = dict(zip(matrix.axes, values, strict=True))
    for cell in matrix.cells:
        if all(_same(cell.settings[k], v) for k, v in wanted.items()):
            return cell
    return None


def code_fingerprint() -> str:
    """A hash of the installed ``suite`` package's source (.py and .toml files).

    asv does not tell a benchmark process which commit it measures, but it installs each commit's
    code before running it: the hash of that code identifies what is being measured. Commits that
    leave the engine untouched share a fingerprint, and so their measurements.
    """
    import suite

    root = Path(suite.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def plugin_fingerprint(cell) -> str:
    """A hash of the source of the cell's plugin module (``model = "package.module:factory"``),
    found on the Python path without importing it; ``""`` for a built-in model. A plugin is not
    part of the suite's code, so :func:`code_fingerprint` alone would serve an edited plugin the
    metrics of its previous version."""
    import importlib.util

    model = str(cell.settings.get("model", ""))
    if ":" not in model:
        return ""
    module = model.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    origin = getattr(spec, "origin", None)
    if origin is None or not Path(origin).is_file():
        return "unfound"  # the run fails with the plugin error; nothing to tell apart
    return hashlib.sha256(Path(origin).read_bytes()).hexdigest()[:8]


def cache_path(cell) -> Path:
    """``<cache>/<code fingerprint>-<environment>/<cell id>.json``.

    The cache lives in ``$NQSBENCH_ASV_CACHE`` (default ``~/.cache/nqsbench/asv-cells``); the
    environment part tells apart interpreters (asv environments) and ``JAX_PLATFORMS`` settings.
    A plugin cell's file name ends with its module's :func:`plugin_fingerprint`.
    """
    root = os.environ.get(CACHE_VARIABLE)
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(base) / "nqsbench" / "asv-cells"
    environment = hashlib.sha256(
        f"{sys.prefix}|{os.environ.get('JAX_PLATFORMS', '')}".encode()).hexdigest()[:8]
    plugin = plugin_fingerprint(cell)
    name = f"{cell.id}-{plugin}.json" if plugin else f"{cell.id}.json"
    return Path(root) / f"{code_fingerprint()}-{environment}" / name


def measure(cell) -> dict[str, Any]:
    """Run ``cell`` once and return its metrics; a divergence gives ``{"failed": ...}``."""
    from suite.bench.build import resolve_reference
    from suite.bench.provenance import peak_memory
    from suite.bench.train import train
    from suite.errors import DivergenceError
    from suite.report.targets import target_key, targets_with, time_to_target

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
        "time_to_target": None if reference is None else time_to_target(
            result.trace["energy"], result.trace["seconds"], reference.energy_per_site,
            targets_with(config.target)),
        "cell_target": None if config.target is None else target_key(config.target),
    }


def cell_metrics(cell, run: Callable[[Any], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The cell's metrics for this code: from the cache, or from one run (``run``, by default
    :func:`measure`) that fills it."""
    run = measure if run is None else run
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
