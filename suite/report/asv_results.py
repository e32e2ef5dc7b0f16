"""asv's per-commit results as a tidy DataFrame, read with asv's own ``asv.results`` API.

One row per (machine, commit, environment, benchmark, parameter combination): the commit and its
date, the machine, the benchmark and its short metric name, one column per benchmark parameter
(typed: ``'t5'`` becomes ``t5``, ``0.5`` a float), the value (NaN where the benchmark failed or was
skipped) and its unit. This is what the dashboard's regression page plots. The parameter names come
from ``benchmarks.json``, which describes the benchmarks of the profile last discovered: a result
filed under another profile (``benchmarks/records_to_asv.py`` files the ``paper`` profile's four
axes beside ``smoke`` results) has a different number of parameters and gets the names
``param1`` ... ``paramN`` instead.

One series per machine and Python version: asv names an environment after how it was made
(``virtualenv-py3.11`` for a commit range, ``installed-py3.11`` for ``-E installed:same``,
``existing-py_home_..._bin_python`` for ``--python=same``), so the same code measured on the same
machine lands under several names. ``environment`` is therefore the series (:func:`series_name`:
``py3.11``, plus the requirements and environment variables of asv's matrix where there are any);
asv's own name stays in ``asv_environment`` and the Python it recorded in ``python``. asv's
``existing`` environment records the interpreter's path instead of its version: such a result
joins its machine's series when the machine's other results have one Python version, and is a
series of its own otherwise.
"""

from __future__ import annotations

import ast
import datetime as _dt
import itertools
import json
import re
from pathlib import Path

import pandas as pd

_VERSION = re.compile(r"\d+(\.\d+)*")
COLUMNS: tuple[str, ...] = ("machine", "commit", "commit_date", "environment", "benchmark",
                            "metric", "params", "value", "unit", "asv_environment", "python")


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _benchmark_metadata(results_dir: Path) -> dict:
    path = results_dir / "benchmarks.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {name: info for name, info in data.items() if isinstance(info, dict)}


def series_name(python: str, requirements: dict[str, str] | None = None,
                env_vars: dict[str, str] | None = None) -> str:
    """The series of a result: asv's environment name without its environment type, e.g.
    ``py3.11``; results that differ only by how their environment was made share it.

    Args:
        python: the Python version asv recorded (``"3.11"``).
        requirements: the result's requirements (asv's matrix), ``{}`` for none.
        env_vars: the result's environment variables (asv's matrix), ``{}`` for none.
    """
    from asv.environment import get_env_name

    tagged = {("nobuild", key): value for key, value in (env_vars or {}).items()}
    return get_env_name("", python, requirements or {}, tagged)


def _recorded_python(result) -> str:
    """The ``python`` asv recorded: a version, or an interpreter's path (``existing``)."""
    return str(result.params.get("python") or getattr(result, "_python", "") or "")


def _series_versions(results: list) -> dict:
    """result -> the Python version of its series: the recorded version, or for a recorded path
    the machine's one version (the path itself where the machine has none or several)."""
    known: dict[str, set[str]] = {}
    for result in results:
        python = _recorded_python(result)
        if _VERSION.fullmatch(python):
            known.setdefault(result.params.get("machine"), set()).add(python)
    versions = {}
    for result in results:
        python = _recorded_python(result)
        candidates = known.get(result.params.get("machine"), set())
        versions[id(result)] = python if _VERSION.fullmatch(python) or len(candidates) != 1 \
            else next(iter(candidates))
    return versions


def load_asv_results(results_dir: str | Path = "results/asv") -> pd.DataFrame:
    """Every asv result under ``results_dir`` as a tidy DataFrame (empty if there are none), one
    series per (machine, ``environment``): see :func:`series_name`."""
    from asv import results as asv_results

    results_dir = Path(results_dir)
    metadata = _benchmark_metadata(results_dir)
    rows = []
    loaded = list(asv_results.iter_results(str(results_dir))) if results_dir.is_dir() else []
    versions = _series_versions(loaded)
    for result in loaded:
        machine = result.params.get("machine")
        python = _recorded_python(result)
        series = series_name(versions[id(result)], getattr(result, "_requirements", None) or {},
                             result.env_vars or {})
        date = (_dt.datetime.fromtimestamp(result.date / 1000, tz=_dt.timezone.utc)
                if result.date else None)
        for key in sorted(result.get_all_result_keys()):
            params = result.get_result_params(key)
            values = result.get_result_value(key, params)
            info = metadata.get(key, {})
            names = info.get("param_names") or []
            if len(names) != len(params):  # benchmarks.json describes another profile's axes
                names = [f"param{i + 1}" for i in range(len(params))]
            combos = list(itertools.product(*params)) if params else [()]
            if not params:
                values = [values] if not isinstance(values, list) else values
            for combo, value in zip(combos, values, strict=False):
                typed = {name: _literal(v) for name, v in zip(names, combo, strict=True)}
                rows.append({
                    "machine": machine,
                    "commit": result.commit_hash,
                    "commit_date": date,
                    "environment": series,
                    "benchmark": key,
                    "metric": key.rsplit(".", 1)[-1].removeprefix("track_"),
                    "params": typed,
                    **typed,
                    "value": float("nan") if value is None else float(value),
                    "unit": info.get("unit"),
                    "asv_environment": result.env_name,
                    "python": python,
                })
    frame = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in frame:
            frame[column] = pd.Series(dtype=object)
    order = ["machine", "commit_date", "commit", "asv_environment", "benchmark"]
    return frame.sort_values(order, kind="stable", ignore_index=True) if rows else frame
