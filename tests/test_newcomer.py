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
