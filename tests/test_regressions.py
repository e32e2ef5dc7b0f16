"""Per-commit changes found by asv's step detection (``suite.report.regressions``), on synthetic
series whose steps are known."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from suite.report.asv_results import load_asv_results
from suite.report.regressions import CHANGE_COLUMNS, cell_label, detect_changes

BENCHMARKS = {"seconds_per_step": "bench_cells.Cell.track_seconds_per_step",
              "energy_error": "bench_cells.Accuracy.track_energy_error",
              "parameters": "bench_cells.Cell.track_parameters"}


def commit(i: int) -> str:
    return f"{i:02d}" * 20


def series(values, metric: str = "seconds_per_step", params: dict | None = None,
           machine: str = "m") -> pd.DataFrame:
    """asv rows of one cell: commit ``i`` (40 hex digits) on day ``i``, value ``values[i]``."""
    params = {"attention": "t5", "J2": 0.5} if params is None else params
    dates = pd.date_range("2026-01-01", periods=len(values), freq="D", tz="UTC")
    return pd.DataFrame([{"machine": machine, "environment": "e", "commit": commit(i),
                          "commit_date": date, "benchmark": BENCHMARKS[metric], "metric": metric,
                          "params": params, "value": value, "unit": None}
                         for i, (date, value) in enumerate(zip(dates, values, strict=True))])


def noisy(level: float, count: int, seed: int, spread: float = 0.02) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(level * (1 + spread * rng.standard_normal(count)))


def test_a_clean_step_is_found_at_its_commit():
    changes = detect_changes(series([1.0] * 5 + [1.5] * 5), threshold=0.1)
    assert list(changes.columns) == list(CHANGE_COLUMNS)
    assert len(changes) == 1
    row = changes.iloc[0]
    assert row["commit"] == commit(5) and row["previous_commit"] == commit(4)
    assert row["commit_date"] == pd.Timestamp("2026-01-06", tz="UTC")
    assert (row["previous"], row["value"]) == (1.0, 1.5)
    assert row["change"] == pytest.approx(0.5, abs=1e-15)
    assert row["kind"] == "regression" and row["latest"]
    assert (row["metric"], row["cell"], row["machine"]) == ("seconds_per_step", "attention=t5 J2=0.5",
                                                            "m")


def test_a_noisy_step_is_found_at_exactly_its_commit():
    values = noisy(1.0, 10, seed=1) + noisy(1.5, 10, seed=2)
    changes = detect_changes(series(values), threshold=0.1)
    assert changes["commit"].tolist() == [commit(10)]
    # asv's fitted levels are the medians of the two segments
    assert changes["previous"].iloc[0] == pytest.approx(np.median(values[:10]), rel=1e-12)
    assert changes["value"].iloc[0] == pytest.approx(np.median(values[10:]), rel=1e-12)
    assert changes["change"].iloc[0] == pytest.approx(
        changes["value"].iloc[0] / changes["previous"].iloc[0] - 1, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_flat_noisy_series_has_no_change(seed):
    flat = series(noisy(1.0, 20, seed=seed, spread=0.03))
    assert detect_changes(flat, threshold=0.0).empty
    assert detect_changes(flat, threshold=0.05).empty


def test_a_step_smaller_than_the_threshold_is_not_listed():
    frame = series([1.0] * 5 + [1.08] * 5)
    assert detect_changes(frame, threshold=0.1).empty
    assert detect_changes(frame, threshold=0.05)["commit"].tolist() == [commit(5)]


def test_the_direction_of_the_metric_names_the_change():
    down = [0.2] * 4 + [0.1] * 4
    error = detect_changes(series(down, "energy_error"), threshold=0.1)
    assert error[["commit", "kind", "latest"]].values.tolist() == [[commit(4), "improvement", False]]
    assert error["change"].iloc[0] == pytest.approx(-0.5)
    faster = detect_changes(series(down, "seconds_per_step"), threshold=0.1)
    assert faster["kind"].tolist() == ["improvement"]
    parameters = detect_changes(series([1000.0] * 3 + [1200.0] * 3, "parameters"), threshold=0.1)
    assert parameters[["commit", "kind", "latest"]].values.tolist() == [[commit(3), "change", False]]


def test_a_regression_then_its_fix():
    changes = detect_changes(series([1.0] * 5 + [1.5] * 5 + [1.0] * 5), threshold=0.1)
    assert changes[["commit", "kind", "latest"]].values.tolist() == [
        [commit(5), "regression", False], [commit(10), "improvement", False]]
    assert changes["change"].tolist() == pytest.approx([0.5, 1.0 / 1.5 - 1])


def test_missing_values_are_skipped():
    nan = float("nan")
    changes = detect_changes(series([1.0, 1.0, 1.0, nan, 1.5, 1.5, 1.5]), threshold=0.1)
    assert changes[["previous_commit", "commit"]].values.tolist() == [[commit(2), commit(4)]]
    assert detect_changes(series([nan] * 4), threshold=0.0).empty


def test_series_are_per_machine_and_cell_in_commit_date_order():
    step = series([1.0] * 4 + [2.0] * 4)
    flat = series([3.0] * 8, params={"attention": "factored", "J2": 0.0})
    other = series([2.0] * 4 + [1.0] * 4, machine="n")
    shuffled = pd.concat([step, flat, other]).sample(frac=1.0, random_state=0)
    changes = detect_changes(shuffled, threshold=0.1)
    assert changes[["machine", "cell", "commit", "kind"]].values.tolist() == [
        ["m", "attention=t5 J2=0.5", commit(4), "regression"],
        ["n", "attention=t5 J2=0.5", commit(4), "improvement"]]


def write_asv_series(results_dir, machine: str, env_name: str, python: str,
                     values: dict[int, float]) -> None:
    """asv result files of ``Cell.track_seconds_per_step`` (one cell): commit ``i`` on day ``i``."""
    from asv import results, util
    from asv.runner import BenchmarkResult

    util.write_json(str(results_dir / machine / "machine.json"), {"machine": machine},
                    api_version=1)
    util.write_json(str(results_dir / "benchmarks.json"), {BENCHMARKS["seconds_per_step"]: {
        "param_names": ["attention", "J2"], "unit": "seconds"}}, api_version=2)
    for i, value in values.items():
        result = results.Results({"machine": machine, "python": python}, {}, commit(i),
                                 1767225600000 + i * 86400000, python, env_name, {})
        result.add_result({"name": BENCHMARKS["seconds_per_step"], "version": "1",
                           "params": [["'t5'"], ["0.5"]]},
                          BenchmarkResult(result=[value], samples=[None], number=[None],
                                          errcode=0, stderr="", profile=None))
        result.save(str(results_dir))


def test_a_step_between_environments_of_one_machine_and_python_is_found(tmp_path):
    """The committed commit-range history (virtualenv-py3.11), then points measured in the
    installed interpreter (``--python=same``, which records the interpreter's path, then
    ``-E installed:same``): one series per machine and Python version, so the step at their
    boundary is found; other machines and Python versions stay apart."""
    write_asv_series(tmp_path, "m", "virtualenv-py3.11", "3.11", {i: 1.0 for i in range(5)})
    write_asv_series(tmp_path, "m", "existing-py_home_ana_.venv_bin_python",
                     "/home/ana/.venv/bin/python", {i: 1.5 for i in range(5, 7)})
    write_asv_series(tmp_path, "m", "installed-py3.11", "3.11", {i: 1.5 for i in range(7, 10)})
    write_asv_series(tmp_path, "n", "installed-py3.11", "3.11", {i: 3.0 for i in range(5, 10)})
    write_asv_series(tmp_path, "o", "virtualenv-py3.11", "3.11", {i: 1.0 for i in range(5)})
    write_asv_series(tmp_path, "o", "virtualenv-py3.12", "3.12", {i: 2.0 for i in range(5, 10)})
    changes = detect_changes(load_asv_results(tmp_path), threshold=0.1)
    assert changes[["machine", "environment", "cell", "previous_commit", "commit", "kind",
                    "latest"]].values.tolist() == [
        ["m", "py3.11", "attention=t5 J2=0.5", commit(4), commit(5), "regression", True]]
    assert (changes["previous"].iloc[0], changes["value"].iloc[0]) == (1.0, 1.5)


def test_no_results_no_changes():
    empty = pd.DataFrame(columns=["machine", "environment", "commit", "commit_date", "benchmark",
                                  "metric", "params", "value", "unit"])
    changes = detect_changes(empty, threshold=0.1)
    assert changes.empty and list(changes.columns) == list(CHANGE_COLUMNS)


def test_cell_label():
    assert cell_label({"attention": "t5", "J2": 0.5, "L": 4}) == "attention=t5 J2=0.5 L=4"


def test_the_module_imports_no_jax():
    code = ("import sys, suite.report.regressions, suite.report.analysis; "
            "sys.exit('jax' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
