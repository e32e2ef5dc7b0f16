"""The GPU check's records filed as asv results (``benchmarks/records_to_asv.py``), read back
with the dashboard's loader; no VMC runs (the records are made with the suite's own writers)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import records_to_asv  # noqa: E402
from suite.bench.machine import asv_machine_entry, machine_name  # noqa: E402
from suite.bench.matrix import load_matrix, with_setting  # noqa: E402
from suite.bench.recording import completed_record, failed_record  # noqa: E402
from suite.report.asv_results import load_asv_results  # noqa: E402
from suite.report.records import write_record  # noqa: E402

GPU = {"platform": "gpu", "device": "NVIDIA H200", "device_count": 1, "process_count": 1,
       "cpu": "Intel Xeon", "cpu_count": 16, "host": "node7", "os": "Linux 6.1",
       "python": "3.11.7", "versions": {"jax": "0.10.2"}}
AXES = ("attention", "L", "layers", "J2")
COMMIT, DATE_MS = records_to_asv.resolve_commit("HEAD")
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _cell(steps: int = 20, sampler_dtype: str | None = None, **axes):
    [cell] = load_matrix("paper").select(axes)
    cell = with_setting(cell, "steps", steps)
    return cell if sampler_dtype is None else with_setting(cell, "sampler_dtype", sampler_dtype)


def _record(results: Path, cell, seconds: float, *, finished: str = "10:01:00",
            commit: str = COMMIT, environment: dict = GPU, peak: int | None = 3 * 2**30,
            matrix: str = "gpu-check") -> Path:
    """A completed record, written as ``run_cell`` writes one."""
    evaluation = SimpleNamespace(energy=-0.5, error=2e-3, variance=0.4, tau_corr=1.5,
                                 acceptance=0.25, n_samples=1024, sampling_bias_bound=0.0,
                                 r_hat=1.0)
    trace = {"energy": np.full(20, -0.5), "seconds": np.full(20, seconds)}
    result = SimpleNamespace(evaluation=evaluation, n_parameters=184900, seconds_per_step=seconds,
                             compile_seconds=30.0 + seconds, total_seconds=100.0, trace=trace,
                             n_timed_steps=20)
    record = completed_record(
        cell=cell, matrix=matrix, result=result, reference=None, environment=environment,
        git={"commit": commit, "dirty": False},
        memory={"device_peak_bytes": peak, "host_peak_rss_bytes": 2**30},
        started_at=f"2026-12-03T{finished[:2]}:00:00+00:00",
        finished_at=f"2026-12-03T{finished}+00:00", attention=None)
    return write_record(results, record)


def _values(frame, metric: str) -> dict[tuple, float]:
    """(attention, L, layers, J2) -> value of one metric; no benchmarks.json here, so asv's
    parameters come back as param1 ... param4."""
    rows = frame[frame["metric"] == metric]
    return {tuple(row[f"param{i + 1}"] for i in range(4)): row["value"]
            for _, row in rows.iterrows()}


def test_the_records_land_at_their_cells_and_everything_else_is_na(tmp_path, capsys):
    results, asv_dir = tmp_path / "results", tmp_path / "asv"
    t5 = _record(results, _cell(attention="t5", L=10, layers=4, J2=0.5), 0.75)
    _record(results, _cell(attention="factored", L=6, layers=1, J2=0.0), 0.125,
            finished="09:00:00", peak=None)  # superseded by the later record of the same cell
    factored = _record(results, _cell(attention="factored", L=6, layers=1, J2=0.0), 0.25)
    float32 = _record(results, _cell(attention="factored", L=10, layers=4, J2=0.5,
                                     sampler_dtype="float32"), 0.5)
    _record(results, _cell(attention="decoupled", L=10, layers=4, J2=0.5), 9.0, commit="0" * 40)
    elsewhere = _record(results, _cell(attention="decoupled", L=6, layers=4, J2=0.5), 9.0,
                        environment={**GPU, "host": "node8"})
    _record(results, _cell(attention="decoupled", L=8, layers=4, J2=0.5), 9.0, matrix="paper")
    assert records_to_asv.main(["--results", str(results), "--asv-results", str(asv_dir)],
                               env=GPU) == 0
    out = capsys.readouterr().out

    machine = machine_name(GPU)
    assert json.loads((asv_dir / machine / "machine.json").read_text()) == {
        **asv_machine_entry(GPU), "version": 1}
    path = asv_dir / machine / f"{COMMIT[:8]}-installed-py{PYTHON}.json"
    filed = json.loads(path.read_text())
    assert (filed["commit_hash"], filed["date"], filed["env_name"]) == (
        COMMIT, DATE_MS, f"installed-py{PYTHON}")
    assert filed["params"] == {**asv_machine_entry(GPU), "python": PYTHON}
    assert sorted(filed["results"]) == [
        "bench_cells.Cell.track_compile_seconds", "bench_cells.Cell.track_parameters",
        "bench_cells.Cell.track_seconds_per_step", "bench_cells.DeviceMemory.track_peak_bytes"]

    frame = load_asv_results(asv_dir)
    assert set(frame["machine"]) == {machine} and set(frame["commit"]) == {COMMIT}
    t5_cell, factored_cell = ("t5", 10, 4, 0.5), ("factored", 6, 1, 0.0)
    expected = {"seconds_per_step": {t5_cell: 0.75, factored_cell: 0.25},
                "compile_seconds": {t5_cell: 30.75, factored_cell: 30.25},
                "parameters": {t5_cell: 184900, factored_cell: 184900},
                "peak_bytes": {t5_cell: 3 * 2**30, factored_cell: 3 * 2**30}}
    for metric, cells in expected.items():
        values = _values(frame, metric)
        assert len(values) == 3 * 3 * 2 * 2  # the whole paper matrix's parameter grid
        assert {combo: value for combo, value in values.items() if not math.isnan(value)} == cells
    assert f"filed 2 of the 18 paper cells in {path}" in out
    assert t5.name in out and factored.name in out
    assert f"{float32.name}: differs from the paper cell attention=factored L=10 layers=4 " \
           "J2=0.5 in sampler_dtype='float32' (paper: None)" in out
    assert f"{elsewhere.name}: measured on another machine (node8-gpu-nvidia-h200)" in out
    assert "superseded by the later " + factored.name in out
    assert "1 gpu-check record(s) of other commits ignored" in out


def test_no_matching_record_is_exit_status_2_with_one_line(tmp_path, capsys):
    results = tmp_path / "results"
    _record(results, _cell(attention="t5", L=10, layers=4, J2=0.5), 0.75, commit="0" * 40)
    argv = ["--results", str(results), "--asv-results", str(tmp_path / "asv")]
    assert records_to_asv.main(argv, env=GPU) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"records_to_asv: no gpu-check record at commit {COMMIT[:12]} in "
                   f"{results / 'runs'} matches a paper cell on this machine; run "
                   "benchmarks/gpu_check.sh first"]
    assert not (tmp_path / "asv").exists()
    assert records_to_asv.main([*argv, "--commit", "no-such-revision"], env=GPU) == 2
    assert "'no-such-revision' is no commit" in capsys.readouterr().err


def test_a_failed_run_is_not_filed(tmp_path, capsys):
    results = tmp_path / "results"
    record = failed_record(cell=_cell(attention="t5", L=10, layers=4, J2=0.5), matrix="gpu-check",
                           step=3, reason="energy is nan", environment=GPU,
                           git={"commit": COMMIT, "dirty": False},
                           started_at="2026-12-03T10:00:00+00:00",
                           finished_at="2026-12-03T10:01:00+00:00")
    path = write_record(results, record)
    assert records_to_asv.main(["--results", str(results), "--asv-results",
                                str(tmp_path / "asv")], env=GPU) == 2
    assert f"{path.name}: the run failed" in capsys.readouterr().out


def test_a_dry_run_matches_axis_values_only_and_never_fails(tmp_path, capsys):
    results = tmp_path / "results"
    tiny = _cell(attention="t5", L=6, layers=1, J2=0.5, steps=4)
    for key, value in (("heads", 2), ("d", 8), ("samples", 64)):
        tiny = with_setting(tiny, key, value)
    _record(results, tiny, 0.01, peak=None)
    argv = ["--results", str(results), "--asv-results", str(tmp_path / "asv")]
    assert records_to_asv.main(argv, env=GPU) == 2  # no paper cell has these sizes
    assert "in d=8 (paper: 60), heads=2 (paper: 10), samples=64 (paper: 4096)" in \
        capsys.readouterr().out
    assert records_to_asv.main([*argv, "--dry-run"], env=GPU) == 0
    values = _values(load_asv_results(tmp_path / "asv"), "seconds_per_step")
    assert {k: v for k, v in values.items() if not math.isnan(v)} == {("t5", 6, 1, 0.5): 0.01}
    # nothing to file is no error in a dry run, and a dry run writes to a temporary directory
    assert records_to_asv.main(["--results", str(tmp_path / "none"), "--dry-run"], env=GPU) == 0
    assert "dry run: nothing filed, no error" in capsys.readouterr().out
