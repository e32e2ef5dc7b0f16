"""The asv suite: parameters from the matrix files, one run per cell, and the results loader."""

from __future__ import annotations

import importlib
import io
import itertools
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "data" / "asv"
sys.path.insert(0, str(ROOT))

from benchmarks import cells  # noqa: E402
from suite.bench.machine import ASV_FIELDS, asv_machine_entry  # noqa: E402
from suite.bench.matrix import load_matrix  # noqa: E402
from suite.cli import main  # noqa: E402
from suite.report.asv_results import load_asv_results, series_name  # noqa: E402


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


def test_the_default_profile_is_smoke_and_only_narrows_it(monkeypatch, tmp_path):
    assert _bench_module(monkeypatch).MATRIX.name == "smoke"
    module = _bench_module(monkeypatch, only="attention=factored J2=0.0")
    assert module.Cell.params == [["t5", "decoupled", "factored"], [0.0, 0.5]]  # the whole matrix
    chosen = [cell for cell in module.MATRIX.cells
              if (cell.settings["attention"], cell.settings["J2"]) == ("factored", 0.0)]
    assert len(chosen) == 1 and sorted(module.SELECTED) == [chosen[0].id]
    monkeypatch.setenv("NQSBENCH_ASV_CACHE", str(tmp_path))
    runs = []

    def fake_run(cell):
        runs.append(cell.id)
        return {"seconds_per_step": 0.5, "compile_seconds": 1.0, "n_parameters": 968,
                "relative_error": None, "device_peak_bytes": None}

    monkeypatch.setattr(cells, "measure", fake_run)
    for combo in itertools.product(*module.Cell.params):
        bench = module.Cell()
        if combo == ("factored", 0.0):
            bench.setup(*combo)
            assert bench.track_seconds_per_step(*combo) == 0.5
        else:
            with pytest.raises(NotImplementedError, match="not selected by NQSBENCH_ASV_ONLY"):
                bench.setup(*combo)
    assert runs == [chosen[0].id]
    with pytest.raises(ValueError, match="NQSBENCH_ASV_ONLY='J2=0.25' matches no cell of the smoke"):
        _bench_module(monkeypatch, only="J2=0.25")
    _bench_module(monkeypatch)  # leave the module importable for the other tests


def _asv_benchmarks_json(monkeypatch, only: str | None) -> list[dict]:
    """What asv's discovery reports of the suite (what it writes to ``benchmarks.json``)."""
    from asv_runner.discovery import list_benchmarks

    _bench_module(monkeypatch, only=only)
    listing = io.StringIO()
    list_benchmarks(str(ROOT / "benchmarks"), listing)
    return json.loads(listing.getvalue())


def test_a_narrowed_run_describes_the_same_benchmarks(monkeypatch):
    whole = _asv_benchmarks_json(monkeypatch, None)
    narrowed = _asv_benchmarks_json(monkeypatch, "attention=factored J2=0.0")
    _bench_module(monkeypatch)
    assert narrowed == whole
    whole = [b for b in whole if b["name"].startswith("bench_cells.")]  # SLMC: test_asv_slmc.py
    assert sorted(b["name"] for b in whole) == sorted(
        [f"bench_cells.Cell.track_{m}" for m in ("seconds_per_step", "compile_seconds", "parameters")]
        + ["bench_cells.Accuracy.track_energy_error", "bench_cells.DeviceMemory.track_peak_bytes"]
        + [f"bench_cells.TimeToTarget.track_{m}" for m in (
            "seconds_to_1e_1", "seconds_to_1e_2", "seconds_to_1e_3", "seconds_to_1e_4",
            "steps_to_1e_2", "steps_to_1e_3")]
        + ["bench_cells.CellTarget.track_seconds_to_target",
           "bench_cells.CellTarget.track_steps_to_target"])
    for benchmark in whole:
        assert benchmark["params"] == [["'t5'", "'decoupled'", "'factored'"], ["0.0", "0.5"]]
        assert benchmark["param_names"] == ["attention", "J2"]


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
    assert set(frame["environment"]) == {"py3.11"} and set(frame["python"]) == {"3.11"}
    assert set(frame["asv_environment"]) == {"virtualenv-py3.11"}
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


def _write_result(results_dir: Path, machine: str, env_name: str, python: str, day: int,
                  value: float):
    """One asv result of ``Cell.track_parameters`` (one cell) for commit ``day``."""
    from asv import results, util
    from asv.runner import BenchmarkResult

    util.write_json(str(results_dir / machine / "machine.json"), {"machine": machine},
                    api_version=1)
    result = results.Results({"machine": machine, "python": python}, {}, f"{day:02d}" * 20,
                             1767225600000 + day * 86400000, python, env_name, {})
    result.add_result({"name": "bench_cells.Cell.track_parameters", "version": "1",
                       "params": [["'t5'"], ["0.5"]]},
                      BenchmarkResult(result=[value], samples=[None], number=[None], errcode=0,
                                      stderr="", profile=None))
    result.save(str(results_dir))


def test_results_that_differ_only_by_environment_name_are_one_series(tmp_path):
    # asv's existing environment (--python=same) records the interpreter's path, not its version
    path, path_name = "/home/ana/.venv/bin/python", "existing-py_home_ana_.venv_bin_python"
    for machine, env_name, python, day, value in (
            ("m", "virtualenv-py3.11", "3.11", 1, 968.0),
            ("m", path_name, path, 2, 968.0),
            ("m", "installed-py3.11", "3.11", 3, 1112.0),
            ("two", "virtualenv-py3.11", "3.11", 1, 968.0),  # two Pythons: the path stays apart
            ("two", "virtualenv-py3.12", "3.12", 1, 1000.0),
            ("two", path_name, path, 2, 968.0)):
        _write_result(tmp_path, machine, env_name, python, day, value)
    frame = load_asv_results(tmp_path)
    columns = ["machine", "environment", "asv_environment", "python", "commit", "value"]
    assert frame[columns].values.tolist() == [
        ["m", "py3.11", "virtualenv-py3.11", "3.11", "01" * 20, 968.0],
        ["m", "py3.11", path_name, path, "02" * 20, 968.0],
        ["m", "py3.11", "installed-py3.11", "3.11", "03" * 20, 1112.0],
        ["two", "py3.11", "virtualenv-py3.11", "3.11", "01" * 20, 968.0],
        ["two", "py3.12", "virtualenv-py3.12", "3.12", "01" * 20, 1000.0],
        ["two", "py_home_ana_.venv_bin_python", path_name, path, "02" * 20, 968.0]]
    # the regression page's series: one per machine and Python version
    assert frame.groupby(["machine", "environment"]).ngroups == 4


def test_a_result_of_another_profile_gets_numbered_parameter_names(tmp_path):
    # benchmarks.json describes the smoke profile (attention, J2); records_to_asv files the paper
    # profile's four axes beside it on another machine
    from asv import results, util
    from asv.runner import BenchmarkResult

    name = "bench_cells.Cell.track_parameters"
    (tmp_path / "benchmarks.json").write_text(json.dumps({name: {
        "name": name, "param_names": ["attention", "J2"], "params": [["'t5'"], ["0.5"]],
        "type": "track", "unit": "parameters", "version": "1"}, "version": 2}))
    _write_result(tmp_path, "cpu-box", "virtualenv-py3.11", "3.11", 1, 968.0)
    util.write_json(str(tmp_path / "gpu-box" / "machine.json"), {"machine": "gpu-box"},
                    api_version=1)
    paper = results.Results({"machine": "gpu-box", "python": "3.11"}, {}, "02" * 20,
                            1767225600000, "3.11", "installed-py3.11", {})
    paper.add_result({"name": name, "version": "1",
                      "params": [["'t5'", "'factored'"], ["10"], ["4"], ["0.5"]]},
                     BenchmarkResult(result=[184900, None], samples=[None] * 2,
                                     number=[None] * 2, errcode=0, stderr="", profile=None))
    paper.save(str(tmp_path))
    frame = load_asv_results(tmp_path)
    smoke = frame[frame["machine"] == "cpu-box"]
    assert smoke["params"].tolist() == [{"attention": "t5", "J2": 0.5}]
    gpu = frame[frame["machine"] == "gpu-box"]
    assert gpu["params"].tolist() == [
        {"param1": "t5", "param2": 10, "param3": 4, "param4": 0.5},
        {"param1": "factored", "param2": 10, "param3": 4, "param4": 0.5}]
    assert gpu["value"].tolist()[0] == 184900 and math.isnan(gpu["value"].tolist()[1])
    assert set(gpu["unit"]) == {"parameters"}


def test_series_name_is_asv_s_environment_name_without_its_type():
    assert series_name("3.11") == "py3.11"
    assert series_name("3.11", {"numpy": "2.0", "scipy": ""}) == "py3.11-numpy2.0-scipy"
    assert series_name("3.12", {}, {"OMP_NUM_THREADS": "1"}) == "py3.12-OMP_NUM_THREADS1"


def test_the_installed_environment_has_a_fixed_name(monkeypatch):
    from asv import config, environment, results
    from asv.plugin_manager import plugin_manager

    monkeypatch.chdir(ROOT)  # asv imports ".benchmarks.asv_environment" from the working directory
    conf = config.Config.load(str(ROOT / "asv.conf.json"))
    assert conf.plugins == [".benchmarks.asv_environment"]
    for plugin in conf.plugins:
        plugin_manager.import_plugin(plugin)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    installed = list(environment.get_environments(conf, ["installed:same"], verbose=False))
    assert [(env.name, env.python) for env in installed] == [(f"installed-py{python}", python)]
    assert isinstance(installed[0], environment.ExistingEnvironment)  # nothing built or installed
    assert results.get_filename("m", "0123456789abcdef" * 2, installed[0].name) == os.path.join(
        "m", f"01234567-installed-py{python}.json")
    # what it replaces: asv's own "existing" environment is named after the interpreter's path
    [existing] = environment.get_environments(conf, ["existing:same"], verbose=False)
    executable = os.path.abspath(sys.executable)
    assert (existing.name, existing.python) == (
        "existing-py" + executable.replace(os.sep, "_"), executable)


def test_the_asv_machine_entry_has_the_hardware_and_the_gpus():
    from asv.machine import Machine

    defaults = {key: str(value) for key, value in Machine.get_defaults().items()}
    gpu_box = {"host": "node7", "platform": "gpu", "device": "NVIDIA H200", "device_count": 4,
               "cpu": "Intel Xeon"}
    assert asv_machine_entry(gpu_box) == {
        "machine": "node7-gpu-nvidia-h200", "os": defaults["os"], "arch": defaults["arch"],
        "cpu": defaults["cpu"] or "Intel Xeon", "num_cpu": defaults["num_cpu"],
        "ram": defaults["ram"], "gpu": "NVIDIA H200", "num_gpu": "4"}
    cpu_box = {"host": "vm", "platform": "cpu", "device": "AMD EPYC 7763 (2 cores)",
               "device_count": 1, "cpu": "AMD EPYC 7763"}
    entry = asv_machine_entry(cpu_box)
    assert tuple(entry) == ASV_FIELDS and entry["machine"] == "vm-cpu-amd-epyc-7763-2-cores"


def test_machine_name_records_the_whole_entry_for_asv(monkeypatch, tmp_path, capsys):
    from asv.commands.machine import Machine as MachineCommand
    from asv.machine import Machine

    defaults = {key: str(value) for key, value in Machine.get_defaults().items()}
    # asv's own `asv machine --yes --machine NAME` stores the name alone (why --asv-machine exists)
    monkeypatch.setenv("HOME", str(tmp_path / "plain"))
    MachineCommand.run(**{**defaults, "machine": "plain", "yes": True})
    stored = json.loads((tmp_path / "plain" / ".asv-machine.json").read_text())
    assert stored == {"plain": {"machine": "plain"}, "version": 1}

    capsys.readouterr()  # asv's log of the above
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["machine-name", "--asv-machine"]) == 0
    name = capsys.readouterr().out.strip()
    stored = json.loads((tmp_path / ".asv-machine.json").read_text())
    assert stored == {name: {**defaults, "machine": name}, "version": 1}  # JAX on the CPU here
    # what `asv run --machine NAME` then files next to the results
    Machine.load(machine_name=name, _path=str(tmp_path / ".asv-machine.json")).save(
        str(tmp_path / "results"))
    assert json.loads((tmp_path / "results" / name / "machine.json").read_text()) == {
        **defaults, "machine": name, "version": 1}


def _documented_revisions() -> set[str]:
    """Every revision in the ``asv run A..B``, ``asv continuous A B`` and ``asv compare A B``
    commands of the README's and the docs' bash blocks."""
    revisions: set[str] = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S):
            for first, second in re.findall(r"^asv run (\S+)\.\.(\S+)", block, re.M):
                revisions |= {first, second}
            for first, second in re.findall(r"^asv (?:continuous|compare) (\S+) (\S+)", block,
                                            re.M):
                revisions |= {first, second}
    return revisions


def test_the_documented_commit_ranges_exist():
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)

    if git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        pytest.skip("not a full git clone: the documented commits cannot be looked up")
    revisions = _documented_revisions()
    assert {"774f6d5^", "main", "main~1"} <= revisions
    missing = sorted(rev for rev in revisions
                     if git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode)
    assert missing == []


# --- issue 18, item 3: baselines and plugins as asv parameters ------------------------------------

MODEL_MATRIX = """
name = "models"
[fixed]
L = 4
steps = 2
[axes]
model = ["vit", "cnn", "rbm"]
J2 = [0.0, 0.5]
"""

OPTIONS_MATRIX = """
name = "cnn-widths"
[fixed]
L = 4
model = "cnn"
[axes]
model_options = [{layers = 1, channels = 8}, {channels = 4, layers = 1}]
"""


def test_a_model_axis_gives_asv_the_model_names(monkeypatch, tmp_path):
    from suite.bench.matrix import parse_matrix, tomllib

    matrix = parse_matrix(tomllib.loads(MODEL_MATRIX), "models.toml")
    params, names = cells.asv_parameters(matrix)
    assert names == ["model", "J2"] and params == [["vit", "cnn", "rbm"], [0.0, 0.5]]
    found = {cells.cell_for(matrix, combo).id for combo in itertools.product(*params)}
    assert found == {cell.id for cell in matrix.cells} and len(found) == 6
    assert cells.cell_for(matrix, ("cnn", 0.5)).config.model.model == "cnn"


def test_a_table_axis_is_a_stable_asv_parameter(monkeypatch, tmp_path):
    from asv_runner.benchmarks._base import _unique_param_ids

    path = tmp_path / "cnn-widths.toml"
    path.write_text(OPTIONS_MATRIX)
    module = _bench_module(monkeypatch, str(path))
    try:
        assert module.Cell.param_names == ["model_options"]
        assert module.Cell.params == [[{"channels": 8, "layers": 1}, {"channels": 4, "layers": 1}]]
        # asv names parameters by repr: the keys sorted, whatever order the file wrote them in
        assert _unique_param_ids(module.Cell.params) == [
            ["{'channels': 8, 'layers': 1}", "{'channels': 4, 'layers': 1}"]]
        wide, narrow = module.Cell.params[0]
        assert cells.cell_for(module.MATRIX, (wide,)).config.model.model_options["channels"] == 8
        assert cells.cell_for(module.MATRIX, ("{'channels': 4, 'layers': 1}",)) is \
            cells.cell_for(module.MATRIX, (narrow,))
        monkeypatch.setenv("NQSBENCH_ASV_CACHE", str(tmp_path / "cache"))
        monkeypatch.setattr(cells, "measure", lambda cell: {
            "seconds_per_step": 0.1, "compile_seconds": 1.0,
            "n_parameters": cell.config.model.model_options["channels"],
            "relative_error": None, "device_peak_bytes": None})
        bench = module.Cell()
        bench.setup(narrow)
        assert bench.track_parameters(narrow) == 4
    finally:
        _bench_module(monkeypatch)  # leave the module importable for the other tests


def test_a_plugin_cell_is_cached_per_version_of_the_plugin(monkeypatch, tmp_path):
    from suite.bench.matrix import parse_matrix, tomllib

    (tmp_path / "asv_plugin_model.py").write_text("def build(L):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("NQSBENCH_ASV_CACHE", str(tmp_path / "cache"))
    matrix = parse_matrix(tomllib.loads(
        '[fixed]\nL = 4\n[axes]\nmodel = ["vit", "asv_plugin_model:build"]\n'), "plugin.toml")
    params, _ = cells.asv_parameters(matrix)
    assert params == [["vit", "asv_plugin_model:build"]]
    vit, plugin = (cells.cell_for(matrix, (model,)) for model in params[0])
    assert cells.plugin_fingerprint(vit) == "" and cells.cache_path(vit).name == f"{vit.id}.json"
    before = cells.cache_path(plugin)
    assert before.name.startswith(f"{plugin.id}-") and before.parent == cells.cache_path(vit).parent
    (tmp_path / "asv_plugin_model.py").write_text("def build(L):\n    return 1\n")
    assert cells.cache_path(plugin) != before  # an edited plugin is measured again


def test_asv_tracks_the_time_to_a_cell_s_own_target(monkeypatch):
    benchmark = _bench_module(monkeypatch).CellTarget()
    benchmark.metrics = {"cell_target": "3e-03",
                         "time_to_target": {"3e-03": {"step": 29, "seconds": 15.0}}}
    assert benchmark.track_seconds_to_target() == 15.0
    assert benchmark.track_steps_to_target() == 29
    benchmark.metrics = {"cell_target": "3e-03",
                         "time_to_target": {"3e-03": {"step": None, "seconds": None}}}
    assert math.isnan(benchmark.track_seconds_to_target())
    # a cell without a target is skipped in setup (asv: skipped), never failed in the track
    assert (benchmark.optional_metric, benchmark.missing_reason) == (
        "cell_target", "this cell sets no target")
