"""Concurrent runners (issue 16, item 19): a cell is claimed before it runs, re-checked before
each cell, and skipped while another live runner holds it."""

from __future__ import annotations

import json
import os
import platform
import time

import pytest
from conftest import TINY_MATRIX as TINY

from suite.bench.claims import STALE_AFTER_SECONDS, Claim, claim_cell, claim_path
from suite.bench.matrix import load_matrix
from suite.bench.runner import PENDING, cell_statuses, run_cells


def _write_claim(results, cell_id, host, pid, age=0.0):
    path = claim_path(results, cell_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host, "pid": pid, "since": "then"}))
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_a_claim_is_exclusive_until_released(tmp_path):
    mine = claim_cell(tmp_path, "abc")
    assert isinstance(mine, Claim)
    other = claim_cell(tmp_path, "abc")
    assert other == {**other, "host": platform.node(), "pid": os.getpid()}
    mine.release()
    assert isinstance(claim_cell(tmp_path, "abc"), Claim)


def test_stale_claims_are_taken_over(tmp_path):
    _write_claim(tmp_path, "dead", platform.node(), 2**22 + 12345)  # no such process
    assert isinstance(claim_cell(tmp_path, "dead"), Claim)
    _write_claim(tmp_path, "far", "another-host", 1, age=STALE_AFTER_SECONDS + 60)
    assert isinstance(claim_cell(tmp_path, "far"), Claim)
    _write_claim(tmp_path, "busy", "another-host", 1, age=60)
    assert claim_cell(tmp_path, "busy")["host"] == "another-host"


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return load_matrix(path)


def test_a_cell_held_by_another_runner_is_skipped(tiny, tmp_path, capsys):
    results = tmp_path / "results"
    statuses = cell_statuses(list(tiny.cells), results)
    held = statuses[0].cell.id
    _write_claim(results, held, "another-host", 4242, age=10)
    summary = run_cells(statuses, results, tiny.name)
    assert len(summary.completed) == 1 and [s.cell.id for s in summary.skipped] == [held]
    assert f"{held} is being run by another-host (pid 4242" in capsys.readouterr().err
    assert not claim_path(results, statuses[1].cell.id).exists()  # released after its run


def test_cells_finished_by_another_runner_meanwhile_are_not_run_again(tiny, tmp_path):
    results = tmp_path / "results"
    stale = cell_statuses(list(tiny.cells), results)  # what a second runner saw at its start
    assert {s.status for s in stale} == {PENDING}
    first = run_cells(cell_statuses(list(tiny.cells), results), results, tiny.name)
    assert len(first.completed) == 2
    second = run_cells(stale, results, tiny.name)
    assert not second.completed and len(second.skipped) == 2
    assert len(list((results / "runs").glob("*.json"))) == 2
