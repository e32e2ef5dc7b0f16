"""The memory plan (issue 17, item 2): ``sr_solver = "auto"`` chooses the dense solver where the
step fits the budget, else the chunked solver with the largest Jacobian block that fits; the
plan a run used is in its record and does not change its update."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tomllib

from suite.bench.config import RunConfig
from suite.bench.matrix import load_matrix
from suite.bench.memory_plan import (
    MemoryPlan,
    needs_plan,
    parse_memory_size,
    plan_memory,
)
from suite.cli import main
from suite.errors import ConfigError

GIB = 2**30


def _config(**settings) -> RunConfig:
    base = {"L": 4, "d": 8, "heads": 2, "layers": 1, "samples": 64, "chunk_size": 32,
            "steps": 3, "eval_samples": 64}
    return RunConfig.from_settings({**base, **settings}).validate()


def _fake(sizes: dict):
    """A predictor that answers from a table and notes what it was asked."""
    asked = []

    def predict(config, solver, block):
        asked.append((solver, block))
        return {"total": sizes[solver](block)}

    return predict, asked


def _dense_10_chunked_1_plus_block(solver, _=None):
    return {"dense": lambda block: 10 * GIB, "chunked": lambda block: GIB + block * 2**20}


def test_auto_keeps_the_dense_solver_where_it_fits():
    predict, asked = _fake(_dense_10_chunked_1_plus_block(None))
    plan = plan_memory(_config(sr_solver="auto"), 12 * GIB, predict)
    assert (plan.solver, plan.sr_chunk, plan.predicted, plan.fits) == ("dense", None, 10 * GIB,
                                                                       True)
    assert asked == [("dense", None)]


def test_auto_takes_the_largest_jacobian_block_that_fits():
    """Blocks of 32 (the network chunk), 16, 8...: 1 GiB + 32 MiB does not fit 1 GiB + 20 MiB,
    1 GiB + 16 MiB does."""
    predict, asked = _fake(_dense_10_chunked_1_plus_block(None))
    plan = plan_memory(_config(sr_solver="auto"), GIB + 20 * 2**20, predict)
    assert asked == [("dense", None), ("chunked", 32), ("chunked", 16)]
    assert (plan.solver, plan.sr_chunk, plan.predicted) == ("chunked", 16, GIB + 16 * 2**20)
    assert plan.fits and plan.tried[1] == ("chunked", 32, GIB + 32 * 2**20)


def test_no_plan_fits_gives_the_smallest_and_says_so():
    predict, asked = _fake(_dense_10_chunked_1_plus_block(None))
    plan = plan_memory(_config(sr_solver="auto"), GIB // 2, predict)
    assert [block for _, block in asked] == [None, 32, 16, 8, 4, 2, 1]
    assert (plan.solver, plan.sr_chunk, plan.fits) == ("chunked", 1, False)
    assert plan.to_json() == {"sr_solver": "chunked", "sr_chunk": 1,
                              "predicted_step_bytes": GIB + 2**20, "budget_bytes": GIB // 2,
                              "fits": False}


def test_smaller_blocks_stop_when_they_no_longer_help():
    predict, asked = _fake({"dense": lambda b: 10 * GIB, "chunked": lambda b: 2 * GIB})
    plan = plan_memory(_config(sr_solver="auto"), GIB, predict)
    assert asked == [("dense", None), ("chunked", 32), ("chunked", 16)] and not plan.fits


def test_explicit_solvers_are_predicted_as_they_stand():
    predict, asked = _fake(_dense_10_chunked_1_plus_block(None))
    assert not plan_memory(_config(sr_solver="dense"), GIB, predict).fits
    assert asked == [("dense", None)]
    predict, asked = _fake(_dense_10_chunked_1_plus_block(None))
    plan = plan_memory(_config(sr_solver="chunked", sr_chunk=5), GIB, predict)
    assert asked == [("chunked", 5)] and plan.sr_chunk == 5 and not plan.fits


def test_only_auto_or_an_open_chunked_block_under_a_budget_needs_a_plan():
    assert needs_plan(_config(sr_solver="auto"), budget_given=False)
    assert not needs_plan(_config(sr_solver="dense"), budget_given=True)
    assert not needs_plan(_config(sr_solver="chunked"), budget_given=False)
    assert needs_plan(_config(sr_solver="chunked"), budget_given=True)
    assert not needs_plan(_config(sr_solver="chunked", sr_chunk=4), budget_given=True)


@pytest.mark.parametrize(("text", "size"), [("40GB", 40 * 10**9), ("40 GiB", 40 * 2**30),
                                            ("512M", 512 * 10**6), ("2.5e10", 25 * 10**9),
                                            ("1024", 1024), ("3tib", 3 * 2**40), ("8g", 8e9)])
def test_memory_sizes(text, size):
    assert parse_memory_size(text) == size


@pytest.mark.parametrize("text", ["", "40XB", "-3GB", "0", "GB", "forty"])
def test_a_bad_memory_size_names_the_option(text):
    with pytest.raises(ConfigError, match="memory_budget") as error:
        parse_memory_size(text)
    assert "40GB" in str(error.value)


def test_a_bad_budget_on_the_command_line_is_exit_status_2(capsys):
    assert main(["list", "--matrix", "smoke", "--memory", "--memory-budget", "4XB"]) == 2
    err = capsys.readouterr().err
    assert "--memory-budget" in err and "Traceback" not in err


def test_the_paper_matrices_let_the_plan_choose():
    for name in ("paper", "paper-extended"):
        assert {cell.config.optimizer.sr_solver for cell in load_matrix(name).cells} == {"auto"}


def test_a_run_records_its_plan_and_the_plan_does_not_change_the_update(tmp_path, capsys):
    """The same auto cell under a generous budget (dense) and a tiny one (chunked, smallest
    blocks): equal energies to 1e-10, and each record says which plan it ran."""
    from suite.bench.matrix import parse_matrix
    from suite.bench.runner import run_cell

    text = ('name = "plan"\ndescription = "two budgets"\n[fixed]\nL = 4\nd = 8\nheads = 2\n'
            'layers = 1\nsamples = 32\nchunk_size = 16\nsteps = 3\neval_samples = 32\n'
            'sr_solver = "auto"\n[axes]\nattention = ["factored"]\n')
    [cell] = parse_matrix(tomllib.loads(text), "plan.toml").cells
    plans, energies = {}, {}
    for budget in (64 * GIB, 1):
        outcome, path = run_cell(cell, tmp_path / str(budget), "plan", memory_budget=budget)
        assert outcome == "completed"
        record = json.loads(path.read_text())
        plans[budget] = record["metrics"]["memory_plan"]
        energies[budget] = record["trace"]["energy"]
    assert plans[64 * GIB]["sr_solver"] == "dense" and plans[64 * GIB]["fits"]
    assert plans[1]["sr_solver"] == "chunked" and not plans[1]["fits"]
    assert plans[1]["budget_bytes"] == 1
    np.testing.assert_allclose(energies[1], energies[64 * GIB], rtol=0, atol=1e-10)
    assert "sr_solver auto -> chunked" in capsys.readouterr().err


def test_a_plan_is_a_value():
    plan = MemoryPlan("dense", None, 5, None)
    assert plan.fits and plan.to_json()["budget_bytes"] is None
