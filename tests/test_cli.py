"""The nqsbench command line: outputs and bad input."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from suite.cli import main


def test_params_prints_the_count_alone(capsys):
    argv = shlex.split(
        "params --attention factored --L 10 --layers 4 --d 60 --heads "
        "10 --patch 2"
    )
    assert main(argv) == 0
    assert capsys.readouterr().out == "155620\n"


def test_exact_prints_the_energy_per_site_alone(capsys):
    assert main(["exact", "--L", "4", "--J2", "0.5"]) == 0
    assert capsys.readouterr().out == "-0.5286202095\n"


@pytest.mark.parametrize(("argv", "field"), [
    ("params --L 6 --patch 4", "--patch"),
    ("params --L 5 --patch 1", "--L"),
    ("params --L 4 --attention softmax", "--attention"),
    ("params --L 4 --d 10 --heads 4", "--heads"),
    ("train --L 4 --samples 0", "--samples"),
    ("train --L 4 --steps 0", "--steps"),
    ("train --L 4 --samples -5", "--samples"),
    ("exact --L 6", "--L"),
])
def test_bad_input_names_the_option_and_exits_2(argv, field, capsys):
    assert main(shlex.split(argv)) == 2
    err = capsys.readouterr().err
    assert f"error: {field}:" in err
    assert "Traceback" not in err


def test_bad_input_from_the_console_has_no_traceback():
    completed = subprocess.run(
        [sys.executable, "-m", "suite", "train", "--L", "6", "--patch", "4"],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2
    assert "--patch" in completed.stderr and "divisible" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_train_reports_energy_error_parameters_and_timing(capsys):
    argv = shlex.split(
        "train --attention t5 --L 4 --J2 0.5 --layers 1 --d "
        "8 --heads 2 --samples 32 --steps 3 --eval-samples 64 --no-progress"
    )
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"^energy per site: -?\d+\.\d+\(\d+\) ", out, re.MULTILINE)
    assert "relative error:" in out and "ed-L4-J2_0.5" in out
    assert "parameters: " in out
    assert "seconds per step:" in out and "compile" in out
