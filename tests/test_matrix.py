"""Matrix files: expansion, exclusions, overrides, stable cell ids, sharding and bad input."""

from __future__ import annotations

import itertools
import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest

from suite.bench.config import RunConfig
from suite.bench.matrix import (
    BUILTIN_MATRICES,
    MatrixError,
    load_matrix,
    parse_filters,
    parse_matrix,
    parse_shard,
)
from suite.errors import ConfigError

SMALL = """
name = "small"
[fixed]
L = 4
d = 8
steps = 20
[axes]
attention = ["t5", "decoupled", "factored"]
J2 = [0.0, 0.5]
layers = [1, 2]
"""


def _parse(text: str, source: str = "m.toml"):
    return parse_matrix(tomllib.loads(text), source)


def test_axes_expand_into_their_cartesian_product():
    matrix = _parse(SMALL)
    assert len(matrix.cells) == 3 * 2 * 2
    combos = {(c.settings["attention"], c.settings["J2"], c.settings["layers"])
              for c in matrix.cells}
    assert len(combos) == 12
    assert all(c.settings["L"] == 4 and c.settings["d"] == 8 and c.settings["steps"] == 20
               for c in matrix.cells)
    assert matrix.cells[0].label == "attention=t5 J2=0.0 layers=1"


def test_exclusions_and_overrides_apply_to_matching_cells_only():
    text = SMALL + """
[[exclude]]
attention = "t5"
layers = 2

[[override]]
when = { J2 = 0.5 }
set = { steps = 7, samples = 128 }
"""
    matrix = _parse(text)
    assert len(matrix.cells) == 12 - 2
    assert not any(c.settings["attention"] == "t5" and c.settings["layers"] == 2
                   for c in matrix.cells)
    for cell in matrix.cells:
        expected = (7, 128) if cell.settings["J2"] == 0.5 else (20, 1024)
        assert (cell.config.optimizer.steps, cell.config.sampler.n_samples) == expected


def test_cell_ids_depend_on_the_resolved_configuration_not_on_how_it_is_written():
    reordered = """
[axes]
layers = [1, 2]
J2 = [0.0, 0.5]
attention = ["t5", "decoupled", "factored"]
[fixed]
steps = 20
d = 8
L = 4
samples = 1024
heads = 2
"""
    ids = {c.id for c in _parse(SMALL).cells}
    assert {c.id for c in _parse(reordered).cells} == ids
    assert len(ids) == 12
    changed = {c.id for c in _parse(SMALL.replace("steps = 20", "steps = 21")).cells}
    assert not changed & ids


def test_cell_ids_are_stable_across_processes_and_releases():
    # A golden value: if this changes, every recorded result stops matching its cell.
    cell = _parse(SMALL).cells[0]
    assert cell.id == _parse(SMALL).cells[0].id
    code = ("import sys; from suite.bench.matrix import parse_matrix, tomllib; "
            "print(parse_matrix(tomllib.loads(sys.stdin.read()), 'm').cells[0].id)")
    other = subprocess.run([sys.executable, "-c", code], input=SMALL, capture_output=True,
                           text=True, check=True).stdout.strip()
    assert other == cell.id
    assert cell.id == "f55814caee21"


@pytest.mark.parametrize("name", BUILTIN_MATRICES)
def test_builtin_matrices_load_and_validate(name):
    matrix = load_matrix(name)
    assert matrix.name == name
    assert len({c.id for c in matrix.cells}) == len(matrix.cells)
    for cell in matrix.cells:
        cell.config.validate()


def test_builtin_matrices_match_the_issue():
    smoke = load_matrix("smoke")
    assert {c.settings["L"] for c in smoke.cells} == {4}
    assert {c.settings["attention"] for c in smoke.cells} == {"t5", "decoupled", "factored"}
    assert {c.settings["J2"] for c in smoke.cells} == {0.0, 0.5}


def _grid_point(cell) -> tuple:
    return tuple(cell.settings[key] for key in ("attention", "L", "layers", "J2"))


ATTENTIONS = ("t5", "decoupled", "factored")
PAPER_CELLS = {  # Rende & Viteritti (2025): figure 2, then figure 3 and Table 1
    *((a, 6, layers, J2) for a in ATTENTIONS for layers in (1, 4) for J2 in (0.0, 0.5)),
    *((a, L, 4, 0.5) for a in ATTENTIONS for L in (8, 10)),
}


def test_the_paper_matrix_is_the_paper_s_18_cells_with_its_protocol():
    paper, extended = load_matrix("paper"), load_matrix("paper-extended")
    assert len(PAPER_CELLS) == 18
    assert [_grid_point(c) for c in paper.cells] == sorted(
        PAPER_CELLS, key=lambda p: (ATTENTIONS.index(p[0]), p[1], p[2], p[3]))
    everything = set(itertools.product(ATTENTIONS, (6, 8, 10), (1, 4), (0.0, 0.5)))
    assert {_grid_point(c) for c in extended.cells} == everything - PAPER_CELLS - {
        p for p in everything if p[1] == 6}
    assert len(extended.cells) == 18
    protocol = {"d": 60, "heads": 10, "patch": 2, "qk_scale": "embedding", "steps": 5000,
                "samples": 4096, "chains": None, "sweeps_per_sample": 1, "discard_sweeps": 0,
                "learning_rate": 0.0075, "learning_rate_schedule": "constant",
                "diag_shift": 1e-4, "diag_shift_schedule": "constant"}
    for cell in (*paper.cells, *extended.cells):
        assert {key: cell.settings[key] for key in protocol} == protocol


def test_shards_cover_every_cell_exactly_once():
    matrix = load_matrix("paper")
    shards = [matrix.select(shard=(k, 3)) for k in range(3)]
    ids = [c.id for shard in shards for c in shard]
    assert sorted(ids) == sorted(c.id for c in matrix.cells)
    assert len(set(ids)) == len(ids)
    assert [len(s) for s in shards] == [6, 6, 6]


def test_only_filters_by_typed_values():
    matrix = _parse(SMALL)
    chosen = matrix.select(parse_filters(["attention=factored", "J2=0.5"]))
    assert [(c.settings["layers"]) for c in chosen] == [1, 2]
    assert all(c.settings["attention"] == "factored" and c.settings["J2"] == 0.5 for c in chosen)


def test_explicit_defaults_resolve_to_the_same_configuration():
    assert RunConfig.from_settings({"L": 4}) == RunConfig()
    assert RunConfig.from_settings({"samples": 1024, "discard_sweeps": 5}) == RunConfig()


@pytest.mark.parametrize(("text", "key", "hint"), [
    (SMALL.replace("d = 8", "dd = 8"), "dd", "allowed keys"),
    (SMALL.replace("d = 8", 'd = "eight"'), "d", "integer"),
    (SMALL.replace("layers = [1, 2]", "layers = []"), "axes.layers", "non-empty"),
    (SMALL.replace('"t5", ', '"softmax", '), "attention", "t5, decoupled, factored"),
    (SMALL.replace("L = 4", "L = 6\npatch = 4"), "patch", "divides L"),
    (SMALL.replace("[fixed]", "[fixd]"), "fixd", "allowed"),
    (SMALL + "\n[[exclude]]\nL = 4\n", "exclude", "empty"),
    (SMALL.replace("steps = 20", "steps = 20\nJ2 = 0.5"), "J2", "both fixed and an axis"),
    (SMALL.replace("d = 8", "d = 10\nheads = 4"), "heads", "multiple of heads"),
])
def test_malformed_matrices_name_the_file_the_key_and_the_fix(text, key, hint):
    with pytest.raises(MatrixError) as error:
        _parse(text, "my/matrix.toml")
    assert error.value.source == "my/matrix.toml"
    assert error.value.key == key
    assert hint in error.value.message
    assert str(error.value).startswith("my/matrix.toml: ")


def test_invalid_toml_and_missing_files_are_matrix_errors(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[axes\nL = [4]")
    with pytest.raises(MatrixError, match="not valid TOML"):
        load_matrix(path)
    with pytest.raises(MatrixError, match="no such file"):
        load_matrix(tmp_path / "absent.toml")


@pytest.mark.parametrize("text", ["3/3", "1", "a/b", "-1/2", "0/0"])
def test_bad_shards_are_rejected(text):
    with pytest.raises(MatrixError, match="0 <= K < N"):
        parse_shard(text)


def test_bad_filters_are_rejected():
    with pytest.raises(MatrixError, match="allowed keys"):
        parse_filters(["colour=red"])
    with pytest.raises(MatrixError, match="is not an integer"):
        parse_filters(["L=four"])
    with pytest.raises(MatrixError, match="KEY=VALUE"):
        parse_filters(["L"])


def test_with_setting_adds_a_validated_setting_to_the_label_and_id():
    from suite.bench.matrix import with_setting

    cell = load_matrix("smoke").cells[0]
    mixed = with_setting(cell, "sampler_dtype", "float32")
    assert mixed.config.sampler.dtype == "float32" and mixed.id != cell.id
    assert mixed.label == cell.label + " sampler_dtype=float32"
    assert with_setting(cell, "sampler_dtype", "float64").id == cell.id  # a no-op keeps the id
    with pytest.raises(ConfigError, match="sampler_dtype"):
        with_setting(cell, "sampler_dtype", "float16")
