"""The replication matrix (issue 19): the cells it promises, and a one-step slice that runs."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from suite.bench.config import RunConfig
from suite.bench.matrix import Cell, load_matrix
from suite.bench.runner import run_cell


@pytest.fixture(scope="module")
def replication():
    return load_matrix("replication")


def test_replication_resolves_to_the_issues_cells(replication):
    """4x4 at J2/J1 in {0, 0.5} for the three attentions with seeds 0, 1, 2, and 6x6 at
    J2/J1 = 0.5 for the three attentions with one seed: 21 cells."""
    points = Counter((c.settings["L"], c.settings["J2"], c.settings["attention"])
                     for c in replication.cells)
    attentions = ("t5", "decoupled", "factored")
    expected = {(4, 0.0, a): 3 for a in attentions} | {(4, 0.5, a): 3 for a in attentions} | {
        (6, 0.5, a): 1 for a in attentions}
    assert dict(points) == expected
    assert {c.config.seed for c in replication.cells if c.settings["L"] == 4} == {0, 1, 2}
    assert {c.config.seed for c in replication.cells if c.settings["L"] == 6} == {0}


def test_the_three_attentions_share_every_other_setting(replication):
    """The comparison between attentions is the point: per lattice size and coupling, the
    configurations differ only in the attention (and the seed)."""
    groups: dict[tuple, set[str]] = {}
    for cell in replication.cells:
        data = cell.config.to_dict()
        data["model"].pop("attention")
        data.pop("seed")
        groups.setdefault((cell.settings["L"], cell.settings["J2"]), set()).add(
            json.dumps(data, sort_keys=True))
    assert all(len(variants) == 1 for variants in groups.values())


def test_replication_measures_what_the_report_needs(replication):
    """Accuracy runs, the exact check where the sector can be enumerated (4x4), and attention
    snapshots for every ViT (recorded for each run)."""
    for cell in replication.cells:
        config = cell.config
        assert config.purpose == "accuracy"
        assert config.exact_check == (cell.settings["L"] == 4)
        assert config.model.model == "vit"


@pytest.mark.parametrize("L", [4, pytest.param(6, marks=pytest.mark.slow)])  # 6x6: 1-2 min
def test_a_one_step_slice_of_replication_runs(replication, tmp_path, L):
    """The T5 cell at J2/J1 = 0.5, seed 0, of each lattice size, cut to one step and 64 training
    and evaluation samples (its exact check and projection as in the matrix), runs through the
    runner and writes a completed record with attention maps."""
    [cell] = [c for c in replication.cells
              if c.settings["L"] == L and c.settings["attention"] == "t5"
              and c.config.seed == 0 and c.settings["J2"] == 0.5]
    settings = {**cell.settings, "steps": 1, "samples": 64, "eval_samples": 64}
    small = Cell(config=RunConfig.from_settings(settings).validate(), settings=settings,
                 axes=cell.axes)
    outcome, path = run_cell(small, tmp_path, "replication")
    assert outcome == "completed"
    record = json.loads(path.read_text())
    assert record["status"] == "completed" and record["metrics"]["steps"] == 1
    assert record["attention"]["initial"] and record["attention"]["final"]
