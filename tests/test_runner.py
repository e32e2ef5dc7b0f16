"""The runner end to end on a tiny matrix: records, skipping, checkpoints and resume, failures."""

from __future__ import annotations

import json
import os
import signal

import jax
import numpy as np
import pytest
from conftest import TINY_MATRIX as TINY

from suite.bench.build import build_vmc
from suite.bench.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from suite.bench.matrix import load_matrix
from suite.bench.runner import (
    DONE,
    FAILED,
    PENDING,
    cell_statuses,
    checkpoint_path,
    run_cell,
    run_cells,
)
from suite.bench.train import train
from suite.cli import main
from suite.report.records import FLOP_METRICS, read_record
from suite.report.rows import load_runs
from suite.report.targets import time_to_target


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return load_matrix(path)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The tiny matrix run once into a results directory (shared by the read-only tests)."""
    directory = tmp_path_factory.mktemp("matrix")
    (directory / "tiny.toml").write_text(TINY)
    matrix = load_matrix(directory / "tiny.toml")
    results = directory / "results"
    summary = run_cells(cell_statuses(list(matrix.cells), results), results, matrix.name,
                        flops=True)
    return matrix, results, summary


def test_a_tiny_matrix_runs_end_to_end_into_records(finished):
    matrix, results, summary = finished
    assert len(summary.completed) == 2 and not summary.failed
    runs = load_runs(results)
    assert not runs.problems
    frame = runs.frame.set_index("attention")
    assert set(frame.index) == {"t5", "factored"}
    assert (frame["status"] == "completed").all()
    assert (frame["reference_id"] == "ed-L4-J2_0.5").all()
    expected = (frame["energy"] - (-0.5286202095)) / 0.5286202095
    np.testing.assert_allclose(frame["relative_error"], expected, rtol=1e-12)
    assert frame.loc["t5", "n_parameters"] > frame.loc["factored", "n_parameters"]
    assert (frame["seconds_per_step"] > 0).all() and (frame["compile_seconds"] > 0).all()
    assert frame["commit"].str.fullmatch("[0-9a-f]{40}").all()


def test_a_record_carries_its_flop_accounting(finished):
    _, results, summary = finished
    for path in summary.completed:
        metrics = read_record(path)["metrics"]
        assert metrics["forward_flops_per_sample"] > 0
        # a step evaluates the network on every chain at every proposal, and much more
        assert metrics["step_flops"] > 32 * 16 * metrics["forward_flops_per_sample"]
        assert metrics["achieved_flops_per_second"] == pytest.approx(
            metrics["step_flops"] / metrics["seconds_per_step"])
        assert "measured matmul peak" in metrics["peak_flops_source"]
        assert 0 < metrics["fraction_of_peak"] <= 1
        assert metrics["fraction_of_peak"] == pytest.approx(
            metrics["achieved_flops_per_second"] / metrics["peak_flops_per_second"])
    frame = load_runs(results).frame.set_index("attention")
    assert frame.loc["t5", "forward_flops_per_sample"] > frame.loc["factored",
                                                                   "forward_flops_per_sample"]
    assert (frame["fraction_of_peak"].astype(float) > 0).all()


def test_a_record_holds_provenance_metrics_trace_and_attention(finished):
    matrix, results, summary = finished
    records = {read_record(p)["config"]["model"]["attention"]: read_record(p)
               for p in summary.completed}
    record = records["t5"]
    assert record["schema_version"] == 1
    assert record["cell_id"] in {c.id for c in matrix.cells}
    assert record["config"]["sampler"]["n_samples"] == 32
    assert record["seeds"] == {"run": 3}
    assert set(record["environment"]["versions"]) >= {"jax", "jaxlib", "flax", "optax"}
    assert record["environment"]["platform"] == "cpu"
    metrics = record["metrics"]
    assert metrics["evaluation_samples"] == 4 * 32
    assert metrics["v_score"] == pytest.approx(
        metrics["energy_variance"] / (16 * metrics["energy_per_site"] ** 2))
    assert record["trace"]["step"] == list(range(6))
    assert len(record["trace"]["energy"]) == 6
    reached = time_to_target(record["trace"]["energy"], record["trace"]["seconds"],
                             metrics["reference"]["energy_per_site"])
    assert {key: metrics["time_to_target"][key] for key in reached} == reached
    assert metrics["time_to_target"]["reference_id"] == metrics["reference"]["id"]
    maps = {key: np.array(record["attention"][key]) for key in ("initial", "final")}
    assert maps["initial"].shape == (3, 1, 2, 4, 4)  # configurations, layers, heads, patches^2
    assert not np.allclose(maps["initial"], maps["final"])
    np.testing.assert_allclose(maps["initial"].sum(-1), 1.0, atol=1e-5)  # T5 rows are softmax
    assert np.array(records["factored"]["attention"]["configurations"]).sum(-1).tolist() == [0] * 3


def test_a_second_run_skips_the_done_cells(finished, capsys):
    matrix, results, _ = finished
    statuses = cell_statuses(list(matrix.cells), results)
    assert [s.status for s in statuses] == [DONE, DONE]
    before = sorted(os.listdir(results / "runs"))
    summary = run_cells(statuses, results, matrix.name)
    assert len(summary.skipped) == 2 and not summary.completed
    assert sorted(os.listdir(results / "runs")) == before


def test_force_adds_a_record_and_keeps_the_old_one(tiny, tmp_path):
    results = tmp_path / "results"
    cell = tiny.cells[1]
    first = run_cell(cell, results, tiny.name)[1]
    second = run_cell(cell, results, tiny.name)[1]
    assert first != second and first.exists() and second.exists()
    energies = {read_record(p)["metrics"]["energy_per_site"] for p in (first, second)}
    assert len(energies) == 1  # same seed, same result
    metrics = read_record(first)["metrics"]
    assert {key: metrics[key] for key in FLOP_METRICS} == dict.fromkeys(FLOP_METRICS)  # opt-in


def test_an_interrupted_run_resumes_to_the_same_parameters(tiny, tmp_path):
    config = tiny.cells[0].config
    uninterrupted = train(config)

    path = tmp_path / "ckpt.npz"

    def interrupt_at_step_3(step, info, seconds):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, on_step=interrupt_at_step_3, checkpoint_every_steps=2,
              on_checkpoint=lambda c: save_checkpoint(path, c, "fp"))
    template = build_vmc(config).init(jax.random.key(config.seed))
    checkpoint = load_checkpoint(path, template, "fp")
    assert checkpoint.step == 4  # the interrupted step completed and was saved on the way out
    resumed = train(config, resume=checkpoint)
    for a, b in zip(jax.tree_util.tree_leaves(uninterrupted.state.params),
                    jax.tree_util.tree_leaves(resumed.state.params), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(uninterrupted.trace["energy"], resumed.trace["energy"])
    assert resumed.evaluation.energy == uninterrupted.evaluation.energy
    assert load_checkpoint(path, template, "another configuration") is None


def test_the_runner_resumes_a_cell_from_its_checkpoint(tiny, tmp_path):
    results = tmp_path / "results"
    cell = tiny.cells[1]

    def interrupt(step, info, seconds):
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_cell(cell, results, tiny.name, on_step=interrupt, checkpoint_every_seconds=None)
    assert checkpoint_path(results, cell).is_file()
    [status] = cell_statuses([cell], results)
    assert (status.status, status.checkpoint_step) == (PENDING, 3)

    steps_taken = []
    outcome, path = run_cell(cell, results, tiny.name,
                             on_step=lambda step, info, s: steps_taken.append(step))
    assert outcome == "completed" and steps_taken == [3, 4, 5]
    assert not checkpoint_path(results, cell).exists()
    reference = run_cell(cell, tmp_path / "fresh", tiny.name)[1]
    assert read_record(path)["trace"]["energy"] == read_record(reference)["trace"]["energy"]
    assert (read_record(path)["metrics"]["energy_per_site"]
            == read_record(reference)["metrics"]["energy_per_site"])


def test_a_diverging_run_is_recorded_as_failed_and_the_matrix_goes_on(tiny, tmp_path,
                                                                       monkeypatch):
    import suite.bench.runner as runner

    real_train = runner.train

    def train_with_nan_parameters(config, resume=None, **kwargs):
        if config.model.attention == "t5":
            poisoned = jax.tree_util.tree_map(lambda p: p * np.nan, resume.state.params)
            resume = Checkpoint.fresh(resume.state._replace(params=poisoned))
        return real_train(config, resume=resume, **kwargs)

    monkeypatch.setattr(runner, "train", train_with_nan_parameters)
    results = tmp_path / "results"
    summary = run_cells(cell_statuses(list(tiny.cells), results), results, tiny.name)
    assert len(summary.failed) == 1 and len(summary.completed) == 1
    record = read_record(summary.failed[0])
    assert record["status"] == "failed"
    assert record["failure"]["step"] == 0 and "nan" in record["failure"]["reason"]
    statuses = {s.cell.settings["attention"]: s.status for s in
                cell_statuses(list(tiny.cells), results)}
    assert statuses == {"t5": FAILED, "factored": DONE}
    frame = load_runs(results).frame
    assert frame.loc[frame["status"] == "failed", "failure_step"].tolist() == [0]


def test_sigterm_checkpoints_and_the_next_run_resumes(tmp_path, monkeypatch, capsys):
    """SIGTERM (a cluster's time limit) arrives during step 3: the command saves a checkpoint
    holding steps 0-3 and exits with 130; the same command then resumes from step 4."""
    import suite.bench.runner as runner

    matrix_path = tmp_path / "tiny.toml"
    matrix_path.write_text(TINY.replace("steps = 6", "steps = 12").replace(
        'attention = ["t5", "factored"]', 'attention = ["factored"]'))
    results = tmp_path / "results"
    command = ["run", "--matrix", str(matrix_path), "--results", str(results), "--no-progress",
               "--checkpoint-every", "1000"]
    real_train = runner.train

    def train_terminated_at_step_3(config, on_step=None, **kwargs):
        def on_step_then_sigterm(step, info, seconds):
            if on_step is not None:
                on_step(step, info, seconds)
            if step == 3:
                os.kill(os.getpid(), signal.SIGTERM)

        return real_train(config, on_step=on_step_then_sigterm, **kwargs)

    monkeypatch.setattr(runner, "train", train_terminated_at_step_3)
    assert main(command) == 130
    assert not (results / "runs").exists() or not list((results / "runs").glob("*.json"))
    [checkpoint] = (results / "checkpoints").glob("*.npz")
    with np.load(checkpoint) as data:
        assert len(data["trace_energy"]) == 4
    capsys.readouterr()
    assert main(["list", "--matrix", str(matrix_path), "--results", str(results)]) == 0
    assert "checkpoint at step 4" in capsys.readouterr().out

    monkeypatch.setattr(runner, "train", real_train)
    assert main(command) == 0
    [record_path] = (results / "runs").glob("*.json")
    record = json.loads(record_path.read_text())
    assert record["metrics"]["timed_steps_this_process"] == 12 - 4
    assert record["trace"]["step"] == list(range(12))
    assert not checkpoint.exists()
