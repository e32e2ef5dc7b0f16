"""What a first day with nqsbench tripped over (issue 16): each test failed before its fix."""

from __future__ import annotations

import os
import stat

import pytest

from suite.bench.config import RunConfig
from suite.bench.matrix import MatrixError, load_matrix, parse_filters
from suite.cli import main
from suite.errors import ConfigError
from suite.report.storage import atomic_write, create_json_record


def test_a_binary_matrix_file_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "oops.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(MatrixError, match="not a UTF-8 text file"):
        load_matrix(path)
    assert main(["list", "--matrix", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not a UTF-8 text file" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_filters_match_names_whatever_their_case_and_an_empty_selection_is_an_error(capsys):
    assert parse_filters(["attention=T5", "model=ViT"]) == {"attention": "t5", "model": "vit"}
    with pytest.raises(MatrixError, match="choose one of: t5, decoupled, factored"):
        parse_filters(["attention=t6"])
    assert main(["list", "--matrix", "quick", "--only", "attention=T5"]) == 0
    assert "attention=t5 L=4" in capsys.readouterr().out
    assert main(["list", "--matrix", "quick", "--only", "L=5"]) == 2
    assert "selects no cell of matrix quick; its values: L in 4, 6" in capsys.readouterr().err


def test_an_empty_table_selection_names_what_exists(golden_results, capsys):
    assert main(["table", "--results", str(golden_results), "--only", "L=5"]) == 2
    assert "the runs have: L in 4, 6, 8, 10" in capsys.readouterr().err


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_positive_number_is_finite(value, capsys):
    with pytest.raises(ConfigError, match="must be a (finite|positive) number"):
        RunConfig.from_settings({"learning_rate": value}).validate()
    with pytest.raises(ConfigError, match="must be a finite number"):
        RunConfig.from_settings({"J2": value}).validate()
    assert main(["train", "--L", "4", f"--learning-rate={value}"]) == 2
    assert "--learning-rate: must be" in capsys.readouterr().err


def test_records_and_checkpoints_are_readable_by_others(tmp_path):
    previous = os.umask(0o022)
    try:
        record = create_json_record(tmp_path / "runs", "cell", "2026-12-02T00:00:00+0000",
                                    {"a": 1})
        atomic_write(tmp_path / "checkpoint.npz", b"data")
    finally:
        os.umask(previous)
    for path in (record, tmp_path / "checkpoint.npz"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


@pytest.fixture
def damaged_results(golden_results):
    """The golden results plus three valid-JSON records with wrong contents."""
    import json

    runs = golden_results / "runs"
    good = json.loads(next(runs.glob("4ee0628c6f3e-*.json")).read_text())
    for name, change in (("a-metrics", {"metrics": "oops"}),
                         ("b-version", {"suite_version": ["0.1.0"]}),
                         ("c-config", {"config": {"x": 1}})):
        (runs / f"{name}.json").write_text(json.dumps({**good, **change}))
    return golden_results


def test_a_malformed_record_is_skipped_and_named_everywhere(damaged_results, capsys):
    from dashboard.data import load_data

    for command in (["table", "--results", str(damaged_results)],
                    ["list", "--matrix", "quick", "--results", str(damaged_results)]):
        assert main(command) == 0
        err = capsys.readouterr().err
        assert "Traceback" not in err
        for name in ("a-metrics", "b-version", "c-config"):
            assert f"skipped {damaged_results}/runs/{name}.json" in err, (command, name)
    assert "suite_version must be str or null, not list" in err
    data = load_data(damaged_results)
    assert len(data.problems) == 3 and len(data.runs) == 21


def test_an_unreadable_record_never_marks_a_cell_done(tmp_path):
    """A record whose configuration cannot be read does not count, even with the right hash."""
    import json

    from suite.bench.recording import _base_record
    from suite.bench.runner import PENDING, cell_statuses
    from suite.version import __version__

    cell = load_matrix("smoke").cells[0]
    record = _base_record(cell, "smoke", {}, {}, "2026-12-02T00:00:00+00:00",
                          "2026-12-02T00:01:00+00:00", "completed")
    record.update(metrics={}, config={"x": 1}, suite_version=__version__)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / f"{cell.id}-x.json").write_text(json.dumps(record))
    problems: list = []
    [status] = cell_statuses([cell], tmp_path, problems)
    assert status.status == PENDING and "cannot read" in str(problems[0])


def test_a_step_time_measured_on_a_busy_host_is_flagged():
    import pandas as pd
    from test_purpose_and_seeds import _row

    from suite.report.tables import contended, render_table

    busy = _row(host_load_max=3.4, cpu_count=2)
    assert contended(pd.Series(busy)) and not contended(pd.Series(_row(host_load_max=2.1,
                                                                        cpu_count=2)))
    assert not contended(pd.Series(_row()))  # records from before: not measured, not flagged
    text = render_table(pd.DataFrame([busy]))
    assert "| 0.1* |" in text and "other work shared the CPU" in text


def test_an_unwritable_results_directory_is_refused_before_anything_runs(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    matrix = tmp_path / "tiny.toml"
    from conftest import TINY_MATRIX

    matrix.write_text(TINY_MATRIX)
    assert main(["run", "--matrix", str(matrix), "--results", str(blocker / "results"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--results" in err and "is not writable" in err and "Traceback" not in err


def test_a_record_that_cannot_be_written_keeps_the_trained_state(tmp_path, monkeypatch, capsys):
    """The disk fills during training: the state goes to the rescue directory, named in the
    message, the matrix goes on, and copying it back records the cell without retraining."""
    import errno
    import shutil as sh

    from conftest import TINY_MATRIX

    import suite.bench.runner as runner

    matrix = tmp_path / "tiny.toml"
    matrix.write_text(TINY_MATRIX)
    results = tmp_path / "results"
    monkeypatch.setenv(runner.RESCUE_VARIABLE, str(tmp_path / "rescued"))
    real_write = runner.write_record

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "write_record", full_disk)
    command = ["run", "--matrix", str(matrix), "--results", str(results), "--no-progress"]
    assert main(command) == 1
    err = capsys.readouterr().err
    rescued = sorted((tmp_path / "rescued").glob("*.npz"))
    assert len(rescued) == 2 and "No space left on device" in err and str(rescued[0]) in err
    monkeypatch.setattr(runner, "write_record", real_write)
    for path in rescued:
        sh.copy(path, results / "checkpoints" / path.name)
    assert main(command) == 0
    for path in results.glob("runs/*.json"):
        assert json_metrics(path)["timed_steps_this_process"] == 0


def json_metrics(path):
    import json

    return json.loads(path.read_text())["metrics"]


def test_devices_are_checked_before_anything_is_built(monkeypatch, capsys):
    import suite.bench.build as build

    def never(*args, **kwargs):
        raise AssertionError("a model was built before --devices was checked")

    monkeypatch.setattr(build, "build_vmc", never)
    assert main(["train", "--L", "4", "--devices", "5"]) == 2
    assert main(["run", "--matrix", "smoke", "--devices", "two", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "devices: asked for 5 devices" in err and "'all' or a positive integer" in err


def test_the_wall_time_from_start_to_record_is_recorded_and_shown(tmp_path):
    """Training is not all of a cell's time (attention maps, checks, FLOP accounting): the
    record keeps the wall time too, and the table shows both."""
    from conftest import TINY_MATRIX

    from suite.bench.runner import cell_statuses, run_cells
    from suite.report.rows import load_runs
    from suite.report.tables import render_table

    path = tmp_path / "tiny.toml"
    path.write_text(TINY_MATRIX.replace('["t5", "factored"]', '["factored"]'))
    matrix = load_matrix(path)
    results = tmp_path / "results"
    run_cells(cell_statuses(list(matrix.cells), results), results, matrix.name)
    runs = load_runs(results).frame
    assert (runs["wall_seconds"] > runs["total_seconds"]).all()
    assert " wall) |" in render_table(runs)
    assert render_table(runs, "csv").splitlines()[0].endswith(",wall_seconds")


@pytest.mark.parametrize("attention", ["t5", "decoupled", "factored"])
def test_the_parameter_estimate_is_the_models_count(attention):
    """The memory floor's parameter count is exact: Table 1's 184 260 / 154 980 at the paper's
    size, and the built model's count elsewhere."""
    import jax

    from suite.bench.build import build_model
    from suite.bench.memory import estimated_parameters
    from suite.engine.models import count_parameters, init_parameters

    paper = RunConfig.from_settings({"L": 6, "d": 60, "heads": 10, "layers": 4,
                                     "attention": attention}).validate()
    assert estimated_parameters(paper) == (154980 if attention == "factored" else 184260)
    small = RunConfig.from_settings({"L": 8, "d": 12, "heads": 3, "layers": 2, "patch": 4,
                                     "attention": attention}).validate()
    model = build_model(small.model, 8)
    assert estimated_parameters(small) == count_parameters(
        init_parameters(model, jax.random.key(0), 64))


def test_a_cell_that_cannot_fit_is_refused_before_anything_runs(tmp_path, capsys):
    from suite.bench.memory import check_fits, memory_floor

    huge = RunConfig.from_settings({"L": 1000000}).validate()
    assert memory_floor(huge)["total"] > 2**60
    with pytest.raises(ConfigError, match="needs at least .* GiB"):
        check_fits(huge, available=64 * 2**30)
    check_fits(RunConfig.from_settings({"L": 4}).validate(), available=64 * 2**30)
    assert main(["train", "--L", "1000000", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "L=1000000 needs at least" in err and "GiB" in err and "Traceback" not in err
    matrix = tmp_path / "huge.toml"
    matrix.write_text('name = "huge"\n[axes]\nL = [4, 100000]\n')
    results = tmp_path / "results"
    assert main(["run", "--matrix", str(matrix), "--results", str(results)]) == 2
    assert "L=100000" in capsys.readouterr().err and not list(results.glob("runs/*.json"))


def test_durations_are_stated_once_measured_with_the_machine():
    """Matrix files do not guess durations; the README states measured ones, with the machine
    (issue 16, item 4: "minutes", "a few minutes" and "about 3 minutes" disagreed with 6 min 53 s)."""
    import re
    from pathlib import Path

    from suite.bench.matrix import BUILTIN_MATRICES

    guess = re.compile(r"\b(\d+\s*(min|minutes|s|seconds|hours?)|(a few )?minutes)\b", re.I)
    for name in BUILTIN_MATRICES:
        description = load_matrix(name).description
        assert not guess.search(description.replace("measured time in the README", "")), name
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert re.search(r"Measured on a 2-core AMD EPYC VM.*main job.*\d+ min \d+ s", readme,
                     re.S)


def test_the_dashboard_does_not_guess_how_long_the_main_job_takes(tmp_path):
    from dashboard.components import empty_results

    text = str(empty_results(tmp_path))
    assert "minutes" not in text and "the README" in text


def test_the_memory_floor_follows_the_sr_solver():
    from suite.bench.memory import memory_floor

    settings = {"L": 10, "d": 60, "heads": 10, "layers": 4, "samples": 4096}
    dense = memory_floor(RunConfig.from_settings({**settings, "sr_solver": "dense"}).validate())
    chunked = memory_floor(RunConfig.from_settings({**settings,
                                                    "sr_solver": "chunked"}).validate())
    assert dense["jacobian"] == 2 * 4096 * 155620 * 8 and "jacobian" not in chunked
    assert chunked["sr_matrix"] == (2 * 4096) ** 2 * 8
