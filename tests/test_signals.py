"""Stopping on a signal (issue 16, items 16-17): the signal is noted, never lost, and acted on
between steps and after the last one, always leaving a checkpoint and exit status 130."""

from __future__ import annotations

import gc
import json
import os
import signal

import numpy as np
import pytest
from conftest import TINY_MATRIX as TINY

from suite.bench.signals import STOP, StopRequested, stop_on_signals
from suite.cli import main


def test_a_signal_inside_a_garbage_collection_callback_is_not_lost():
    """A raising handler loses a signal that lands in a GC callback (Python prints and drops
    the exception); the flag keeps it."""
    def callback(phase, info):
        if phase == "start":
            os.kill(os.getpid(), signal.SIGTERM)

    with stop_on_signals() as stop:
        gc.callbacks.append(callback)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(callback)
        assert stop() and STOP.signum == signal.SIGTERM
        with pytest.raises(StopRequested):
            stop.raise_if_requested()
    assert not STOP()  # reset on the way out


@pytest.fixture
def one_cell(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.replace("steps = 6", "steps = 8").replace(
        'attention = ["t5", "factored"]', 'attention = ["factored"]'))
    results = tmp_path / "results"
    return ["run", "--matrix", str(path), "--results", str(results), "--no-progress",
            "--checkpoint-every", "1000"], results


@pytest.mark.parametrize("phase", ["evaluation", "attention maps"])
def test_a_signal_after_the_last_step_leaves_a_checkpoint_of_every_step(one_cell, monkeypatch,
                                                                       capsys, phase):
    import suite.bench.runner as runner
    import suite.bench.train as training

    command, results = one_cell
    target, name = (training, "evaluate") if phase == "evaluation" else (runner,
                                                                          "attention_maps")
    real, calls = getattr(target, name), []

    def signalled(*args, **kwargs):
        calls.append(1)
        if phase == "evaluation" or len(calls) == 2:  # attention maps: the final ones
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, signalled)
    assert main(command) == 130
    assert not list(results.glob("runs/*.json"))
    [checkpoint] = (results / "checkpoints").glob("*.npz")
    with np.load(checkpoint) as data:
        assert len(data["trace_energy"]) == 8
    monkeypatch.setattr(target, name, real)
    capsys.readouterr()
    assert main(command) == 0
    assert "from step 8 (checkpoint" in capsys.readouterr().err
    [record] = (results / "runs").glob("*.json")
    metrics = json.loads(record.read_text())["metrics"]
    assert metrics["timed_steps_this_process"] == 0 and not checkpoint.exists()


def test_a_resumed_cell_says_so_and_a_checkpoint_follows_compilation(one_cell, monkeypatch,
                                                                    capsys):
    import suite.bench.runner as runner

    command, results = one_cell
    real_train, saved = runner.train, []

    def train_stopped_at_step_0(config, on_step=None, on_checkpoint=None, **kwargs):
        def remember(checkpoint):
            saved.append(int(checkpoint.state.step))
            on_checkpoint(checkpoint)

        def stop_now(step, info, seconds):
            raise KeyboardInterrupt  # a kill during the first step

        return real_train(config, on_step=stop_now, on_checkpoint=remember, **kwargs)

    monkeypatch.setattr(runner, "train", train_stopped_at_step_0)
    assert main(command) == 130
    assert saved[0] == 0  # saved right after compilation, before any step
    monkeypatch.setattr(runner, "train", real_train)
    capsys.readouterr()
    assert main(command) == 0
    err = capsys.readouterr().err
    assert "nqsbench: resumed" in err and "from step " in err and "checkpoint" in err
