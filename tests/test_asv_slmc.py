"""The asv suite of the SLMC family (benchmarks/bench_slmc.py): its parameters from the SLMC matrix
files, one run per cell shared by the track methods, and what each track returns."""

from __future__ import annotations

import importlib
import io
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import cells  # noqa: E402
from suite.bench import slmc_run  # noqa: E402
from suite.bench.matrix import load_matrix  # noqa: E402
from suite.bench.slmc_run import SLMCResult  # noqa: E402

TRACKS = {  # method -> (unit, the metric of run_slmc it reports)
    "track_acceptance": ("fraction", "acceptance"),
    "track_acceptance_error": ("fraction", "acceptance_error"),
    "track_seconds_per_slmc_step": ("seconds", "seconds_per_outer_step"),
    "track_seconds_per_exact_sweep": ("seconds", "seconds_per_exact_sweep"),
    "track_parameters": ("parameters", "n_parameters"),
}

TINY_MATRIX = """
name = "slmc-tiny"
family = "slmc"
[fixed]
L = 4
[axes]
effective_model = ["linear", "transformer"]
couplings = [1, 2]
[[exclude]]
effective_model = "transformer"
couplings = 1
[[override]]
when = { effective_model = "transformer" }
set = { layers = 2 }
"""


def _bench_module(monkeypatch, matrix: str | None = None):
    if matrix is None:
        monkeypatch.delenv("NQSBENCH_ASV_SLMC_MATRIX", raising=False)
    else:
        monkeypatch.setenv("NQSBENCH_ASV_SLMC_MATRIX", matrix)
    import benchmarks.bench_slmc as module

    return importlib.reload(module)


@pytest.fixture
def bench(monkeypatch):
    """The benchmark module on the default matrix; importable on the default again afterwards."""
    yield _bench_module(monkeypatch)
    monkeypatch.delenv("NQSBENCH_ASV_SLMC_MATRIX", raising=False)
    import benchmarks.bench_slmc as module

    importlib.reload(module)


def expected_parameters(config) -> int:
    """The effective model's trainable parameters: E0 and the couplings J_n, and per attention
    layer three block-spin weights (Q, K, V) for each of shells 0..block_shells."""
    return 1 + config.couplings + 3 * config.layers * (config.block_shells + 1)


def _fake_metrics(config) -> dict:
    # NumPy scalars, as a run's metrics may hold: the cell cache stores them as plain JSON
    return {"acceptance": np.float64(0.5 if config.effective_model == "linear" else 0.75),
            "acceptance_error": np.float64(0.05), "acceptance_tau": 1.0,
            "seconds_per_outer_step": np.float64(0.01), "seconds_per_exact_sweep": 0.02,
            "n_parameters": np.int64(expected_parameters(config)), "compile_seconds": 5.0,
            "wall_seconds": 20.0, "loss_from_acceptance": 0.1, "exact_chain_cached": False}


def _counting_fake(monkeypatch, fail_on: str | None = None,
                   directories: list[Path] | None = None) -> list[str]:
    runs: list[str] = []

    def fake_run_slmc(config, on_stage=None, cache_dir=None):
        runs.append(config.effective_model)
        if directories is not None:
            directories.append(Path(cache_dir))
        if config.effective_model == fail_on:
            raise FloatingPointError("the effective energy is nan")
        return SLMCResult(_fake_metrics(config), observables={}, training={"loss": [],
                                                                             "epochs": 0})

    monkeypatch.setattr(slmc_run, "run_slmc", fake_run_slmc)
    return runs


def test_the_parameters_are_the_smoke_matrix_cells(bench):
    matrix = load_matrix("slmc-smoke")
    assert bench.MATRIX.name == "slmc-smoke" and len(matrix.cells) == 2
    assert bench.SLMCCell.param_names == ["effective_model"]
    assert bench.SLMCCell.params == [["linear", "transformer"]]
    found = [cells.cell_for(bench.MATRIX, combo)
             for combo in itertools.product(*bench.SLMCCell.params)]
    assert [cell.id for cell in found] == [cell.id for cell in matrix.cells]
    assert [cell.label for cell in found] == ["effective_model=linear",
                                              "effective_model=transformer"]
    assert bench.SLMCCell.timeout == bench.CELL_TIMEOUT


def test_the_environment_variable_chooses_the_matrix(bench, monkeypatch, tmp_path):
    path = tmp_path / "slmc-tiny.toml"
    path.write_text(TINY_MATRIX)
    module = _bench_module(monkeypatch, str(path))
    assert module.MATRIX.name == "slmc-tiny" and len(module.MATRIX.cells) == 3
    assert module.SLMCCell.param_names == ["effective_model", "couplings"]
    assert module.SLMCCell.params == [["linear", "transformer"], [1, 2]]
    # the excluded combination is skipped in setup (asv: skipped), never failed in a track
    with pytest.raises(NotImplementedError, match="excluded from the matrix"):
        module.SLMCCell().setup("transformer", 1)
    assert module.load_slmc_matrix("slmc-smoke").name == "slmc-smoke"  # a name, not the variable


def test_the_headline_matrix_skips_the_combinations_it_excludes(bench, monkeypatch):
    module = _bench_module(monkeypatch, "slmc")
    assert module.SLMCCell.param_names == ["effective_model", "layers", "seed"]
    combos = list(itertools.product(*module.SLMCCell.params))
    found = {combo: cells.cell_for(module.MATRIX, combo) for combo in combos}
    assert {cell.id for cell in found.values() if cell} == {c.id for c in load_matrix("slmc").cells}
    skipped = sorted(combo for combo, cell in found.items() if cell is None)
    assert skipped == sorted([("linear", layers, seed) for layers in (1, 2, 3, 4) for seed in (0, 1)]
                             + [("transformer", 0, 0), ("transformer", 0, 1)])


def test_the_benchmark_calls_run_slmc_as_it_is_declared():
    """The fakes above take what the benchmark passes; the real function must too."""
    import inspect

    config = load_matrix("slmc-smoke").cells[0].config
    inspect.signature(slmc_run.run_slmc).bind(config, cache_dir=Path("exact-chains"))


def test_an_unknown_or_vmc_matrix_is_a_clear_error(bench, monkeypatch, tmp_path):
    assert bench.builtin_slmc_matrices()[0] == "slmc-smoke"
    with pytest.raises(ValueError, match="NQSBENCH_ASV_SLMC_MATRIX='huge' is neither a built-in "
                                         "matrix nor a file; choose one of: slmc-smoke"):
        _bench_module(monkeypatch, "huge")
    with pytest.raises(ValueError, match="'smoke' is a vmc matrix, not an SLMC one; choose one "
                                         "of: slmc-smoke"):
        _bench_module(monkeypatch, "smoke")
    broken = tmp_path / "broken.toml"
    broken.write_text(TINY_MATRIX.replace("couplings = [1, 2]", "couplings = [1, 99]"))
    with pytest.raises(ValueError, match="broken.toml: couplings: invalid in cell"):
        _bench_module(monkeypatch, str(broken))


def test_every_metric_of_a_cell_comes_from_one_run(bench, monkeypatch, tmp_path):
    monkeypatch.setenv("NQSBENCH_ASV_CACHE", str(tmp_path))
    directories: list[Path] = []
    runs = _counting_fake(monkeypatch, directories=directories)
    values: dict[tuple[str, str], object] = {}
    for (model,), method in itertools.product(itertools.product(*bench.SLMCCell.params), TRACKS):
        benchmark = bench.SLMCCell()  # asv makes a new instance (in a new process) per benchmark
        benchmark.setup(model)
        values[model, method] = getattr(benchmark, method)(model)
    assert sorted(runs) == ["linear", "transformer"]  # once per cell, not per track
    # the exact chain is shared by the cells of this code and environment, beside their metrics
    linear = cells.cell_for(bench.MATRIX, ("linear",))
    assert directories == [cells.cache_path(linear).parent / "slmc-exact-chains"] * 2
    assert directories[0].parent.parent == tmp_path
    for (model, method), value in values.items():
        config = cells.cell_for(bench.MATRIX, (model,)).config
        expected = _fake_metrics(config)[TRACKS[method][1]]
        kind = int if method == "track_parameters" else float
        assert type(value) is kind and value == expected and math.isfinite(value)
    assert values["linear", "track_parameters"] == 4  # 1 + 3 couplings
    assert values["transformer", "track_parameters"] == 10  # ... + 3 * 1 layer * (1 + 1 shell)
    assert values["transformer", "track_acceptance"] == 0.75
    for method, (unit, _) in TRACKS.items():
        assert getattr(bench.SLMCCell, method).unit == unit
        assert getattr(bench.SLMCCell, method).version == "1"
        assert getattr(bench.SLMCCell, method).__doc__


def test_a_failing_cell_fails_its_benchmarks_and_not_the_others(bench, monkeypatch, tmp_path):
    monkeypatch.setenv("NQSBENCH_ASV_CACHE", str(tmp_path))
    runs = _counting_fake(monkeypatch, fail_on="transformer")
    with pytest.raises(FloatingPointError, match="nan"):  # asv: failed, with this traceback
        bench.SLMCCell().setup("transformer")
    benchmark = bench.SLMCCell()
    benchmark.setup("linear")
    assert benchmark.track_acceptance("linear") == 0.5
    assert runs == ["transformer", "linear"]


def test_asv_discovers_the_slmc_benchmarks(bench, monkeypatch):
    """What asv's discovery (``asv check``, ``benchmarks.json``) reports of bench_slmc."""
    from asv_runner.discovery import list_benchmarks

    monkeypatch.delenv("NQSBENCH_ASV_MATRIX", raising=False)
    # CI runs asv with the VMC cells narrowed: that filter does not apply to the SLMC cells
    monkeypatch.setenv("NQSBENCH_ASV_ONLY", "attention=factored J2=0.0")
    listing = io.StringIO()
    try:
        list_benchmarks(str(ROOT / "benchmarks"), listing)
    finally:
        monkeypatch.delenv("NQSBENCH_ASV_ONLY")
        import benchmarks.bench_cells as vmc

        importlib.reload(vmc)  # leave it on its whole default matrix for the other tests
    found = {b["name"]: b for b in json.loads(listing.getvalue())
             if b["name"].startswith("bench_slmc.")}
    assert sorted(found) == sorted(f"bench_slmc.SLMCCell.{method}" for method in TRACKS)
    for method, (unit, _) in TRACKS.items():
        benchmark = found[f"bench_slmc.SLMCCell.{method}"]
        assert benchmark["type"] == "track" and benchmark["unit"] == unit
        assert benchmark["params"] == [["'linear'", "'transformer'"]]
        assert benchmark["param_names"] == ["effective_model"]
        assert benchmark["timeout"] == bench.CELL_TIMEOUT and benchmark["version"] == "1"


@pytest.mark.slow
@pytest.mark.parametrize("model", ["linear", "transformer"])
def test_a_real_smoke_cell_tracks_finite_numbers(bench, monkeypatch, tmp_path, model):
    monkeypatch.setenv("NQSBENCH_ASV_CACHE", str(tmp_path))
    calls = []
    real = slmc_run.run_slmc

    def counted(config, *args, **kwargs):
        calls.append(config.effective_model)
        return real(config, *args, **kwargs)

    monkeypatch.setattr(slmc_run, "run_slmc", counted)
    values = {}
    for method in TRACKS:
        benchmark = bench.SLMCCell()
        benchmark.setup(model)
        values[method] = getattr(benchmark, method)(model)
    assert calls == [model]
    assert all(math.isfinite(value) for value in values.values()), values
    assert 0.0 <= values["track_acceptance"] <= 1.0
    assert values["track_acceptance_error"] >= 0.0
    assert values["track_seconds_per_slmc_step"] > 0 and values["track_seconds_per_exact_sweep"] > 0
    config = cells.cell_for(bench.MATRIX, (model,)).config
    assert type(values["track_parameters"]) is int
    assert values["track_parameters"] == expected_parameters(config) == (
        4 if model == "linear" else 10)
