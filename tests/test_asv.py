"""The asv suite: parameters from the matrix files, one run per cell, and the results loader."""

from __future__ import annotations

import importlib
import itertools
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "data" / "asv"
sys.path.insert(0, str(ROOT))

from benchmarks import cells  # noqa: E402
from suite.bench.matrix import load_matrix  # noqa: E402
from suite.report.asv_results import load_asv_results  # noqa: E402


def _bench_module(monkeypatch, profile: str | None = None, only: str | None = None):
    for name, value in (("NQSBENCH_ASV_MATRIX", profile), ("NQSBENCH_ASV_ONLY", only)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    import benchmarks.bench_cells as module

    return importlib.reload(module)


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_benchmark_parameters_are_the_matrix_cells(monkeypatch, profile):
    module = _bench_module(monkeypatch, profile)
    matrix = load_matrix(profile)
    assert module.Cell.param_names == list(matrix.axes)
    found = {cells.cell_for(module.MATRIX, combo).id
             for combo in itertools.product(*module.Cell.params)
             if cells.cell_for(module.MATRIX, combo) is not None}
    assert found == {cell.id for cell in matrix.cells}
    skipped = [combo for combo in itertools.product(*module.Cell.params)
               if cells.cell_for(module.MATRIX, combo) is None]
    if profile == "quick":  # L=6 runs only at J2 = 0.5
        assert sorted(skipped) == sorted((a, 6, 0.0) for a in ("t5", "decoupled", "factored"))
    elif profile == "paper":  # the paper ran L = 8 and 10 only with 4 layers at J2 = 0.5
        assert len(skipped) == 18 and {(L, layers, J2) for _, L, layers, J2 in skipped} == {
            (L, layers, J2) for L in (8, 10) for layers, J2 in ((1, 0.0), (1, 0.5), (4, 0.0))}
    else:
        assert not skipped


def test_the_default_profile_is_smoke_and_only_narrows_it(monkeypatch):
    assert _bench_module(monkeypatch).MATRIX.name == "smoke"
    module = _bench_module(monkeypatch, only="attention=factored J2=0.0")
    assert module.Cell.params == [["factored"], [0.0]]


def test_an_unknown_profile_lists_the_valid_ones(monkeypatch):
    with pytest.raises(ValueError, match="choose one of: smoke, quick, paper"):
        _bench_module(monkeypatch, "huge")
    _bench_module(monkeypatch)  # leave the module importable for the other tests


def test_every_metric_of_a_cell_comes_from_one_run(monkeypatch, tmp_path):
    module = _bench_module(monkeypatch)
    monkeypatch.setenv("NQSBENCH_ASV_CACHE", str(tmp_path))
    runs = []

    def fake_run(cell):
        runs.append(cell.id)
        return {"seconds_per_step": 0.25, "compile_seconds": 3.0, "n_parameters": 968,
                "energy_per_site": -0.7, "relative_error": 2.5e-3, "reference_id": "x",
                "device_peak_bytes": None}

    monkeypatch.setattr(cells, "measure", fake_run)
    combo = ("factored", 0.0)
    values = {}
    for cls, metric in ((module.Cell, "track_seconds_per_step"),
                        (module.Cell, "track_compile_seconds"),
                        (module.Cell, "track_parameters"),
                        (module.Accuracy, "track_energy_error")):
        bench = cls()  # asv makes a new instance (in a new process) for every benchmark
        bench.setup(*combo)
        values[metric] = getattr(bench, metric)(*combo)
    memory = module.DeviceMemory()
    with pytest.raises(NotImplementedError):  # no device memory on this platform: skipped
        memory.setup(*combo)
    assert len(runs) == 1
    assert values == {"track_seconds_per_step": 0.25, "track_compile_seconds": 3.0,
                      "track_parameters": 968, "track_energy_error": 2.5e-3}
    for name in ("track_seconds_per_step", "track_compile_seconds", "track_parameters"):
        assert getattr(module.Cell, name).version == "1"
    assert module.Cell.track_seconds_per_step.unit == "seconds"


def test_a_failed_cell_fails_its_benchmarks_and_not_the_others(monkeypatch, tmp_path):
    module = _bench_module(monkeypatch)
    monkeypatch.setenv("NQSBENCH_ASV_CACHE", str(tmp_path))

    def diverging_t5(cell):
        if cell.settings["attention"] == "t5":
            return {"failed": "diverged at step 12: energy is nan"}
        return {"seconds_per_step": 0.1, "compile_seconds": 1.0, "n_parameters": 1,
                "relative_error": 0.1, "device_peak_bytes": None}

    monkeypatch.setattr(cells, "measure", diverging_t5)
    with pytest.raises(RuntimeError, match="diverged at step 12"):
        module.Cell().setup("t5", 0.0)
    bench = module.Cell()
    bench.setup("factored", 0.0)
    assert bench.track_parameters("factored", 0.0) == 1


def test_the_loader_reads_the_committed_fixture():
    frame = load_asv_results(FIXTURE)
    assert set(frame["machine"]) == {"vm-cpu-amd-epyc-2-cores"}
    assert frame["commit"].str.fullmatch("[0-9a-f]{40}").all()
    assert frame["commit"].nunique() == 2
    params = frame[frame["metric"] == "parameters"]
    by_attention = params.groupby("attention")["value"].agg(set).to_dict()
    assert by_attention == {"t5": {1112.0}, "decoupled": {1112.0}, "factored": {968.0}}
    assert set(params["J2"]) == {0.0, 0.5} and set(params["unit"]) == {"parameters"}
    seconds = frame[frame["metric"] == "seconds_per_step"]
    assert (seconds["value"] > 0).all() and set(seconds["unit"]) == {"seconds"}
    errors = frame[frame["metric"] == "energy_error"]
    assert errors["value"].between(0, 1).all()
    memory = frame[frame["metric"] == "peak_bytes"]
    assert memory["value"].map(math.isnan).all()  # skipped on a CPU
    assert frame["commit_date"].is_monotonic_increasing


def test_the_loader_gives_an_empty_frame_without_results(tmp_path):
    frame = load_asv_results(tmp_path / "none")
    assert frame.empty and {"commit", "benchmark", "value", "unit"} <= set(frame.columns)
