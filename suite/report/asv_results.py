"""asv's per-commit results as a tidy DataFrame, read with asv's own ``asv.results`` API.

One row per (machine, commit, environment, benchmark, parameter combination): the commit and its
date, the machine, the benchmark and its short metric name, one column per benchmark parameter
(typed: ``'t5'`` becomes ``t5``, ``0.5`` a float), the value (NaN where the benchmark failed or was
skipped) and its unit. This is what the dashboard's regression page plots.
"""

from __future__ import annotations

import ast
import datetime as _dt
import itertools
import json
from pathlib import Path

import pandas as pd

COLUMNS: tuple[str, ...] = ("machine", "commit", "commit_date", "environment", "benchmark",
                            "metric", "params", "value", "unit")


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


def load_asv_results(results_dir: str | Path = "results/asv") -> pd.DataFrame:
    """Every asv result under ``results_dir`` as a tidy DataFrame (empty if there are none)."""
    from asv import results as asv_results

    results_dir = Path(results_dir)
    metadata = _benchmark_metadata(results_dir)
    rows = []
    if results_dir.is_dir():
        for result in asv_results.iter_results(str(results_dir)):
            machine = result.params.get("machine")
            date = (_dt.datetime.fromtimestamp(result.date / 1000, tz=_dt.timezone.utc)
                    if result.date else None)
            for key in sorted(result.get_all_result_keys()):
                params = result.get_result_params(key)
                values = result.get_result_value(key, params)
                info = metadata.get(key, {})
                names = info.get("param_names") or [f"param{i + 1}" for i in range(len(params))]
                combos = list(itertools.product(*params)) if params else [()]
                if not params:
                    values = [values] if not isinstance(values, list) else values
                for combo, value in zip(combos, values, strict=False):
                    typed = {name: _literal(v) for name, v in zip(names, combo, strict=True)}
                    rows.append({
                        "machine": machine,
                        "commit": result.commit_hash,
                        "commit_date": date,
                        "environment": result.env_name,
                        "benchmark": key,
                        "metric": key.rsplit(".", 1)[-1].removeprefix("track_"),
                        "params": typed,
                        **typed,
                        "value": float("nan") if value is None else float(value),
                        "unit": info.get("unit"),
                    })
    frame = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in frame:
            frame[column] = pd.Series(dtype=object)
    return frame.sort_values(["machine", "commit_date", "benchmark"], ignore_index=True) if rows \
        else frame
