"""The nqsbench command line: outputs and bad input."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
from conftest import TINY_MATRIX

from suite.cli import main
from suite.report.references import load_published, load_references


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
    ("train --L 4 --sweeps 0", "--sweeps"),
    ("train --L 4 --sweeps-per-sample 0", "--sweeps-per-sample"),
    ("train --L 4 --thermalization-sweeps -1", "--thermalization-sweeps"),
    ("train --L 4 --sampler-dtype float16", "--sampler-dtype"),
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
        "train --attention t5 --L 4 --J2 0.5 --layers 1 --d 4 --heads 2 --samples 32 --steps 3 "
        "--no-progress"  # the t5 cell of TINY_MATRIX: its compilation is shared
    )
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert re.fullmatch(r"energy per site: -?\d+\.\d+\(\d+\)  \(evaluation pass: 128 samples after 3 "
                        r"steps; acceptance 0\.\d\d\)", lines[0])
    assert re.fullmatch(r"relative error: -?\d\.\d{3}e[+-]\d\d  \(vs -0\.5286202095, exact, "
                        r"ed-L4-J2_0\.5\)", lines[1])
    assert re.fullmatch(r"V-score: \d\.\d{3}e[+-]\d\d", lines[2])
    assert lines[3] == "parameters: 336"  # nqsbench params with the same model
    assert re.fullmatch(r"seconds per step: \d+\.\d{4}  \(median of 3 steps on 1 device\(s\); "
                        r"compile \d+\.\d s apart; total \d+\.\d s\)", lines[4])


ONE_CELL = TINY_MATRIX.replace("steps = 6", "steps = 3").replace(', "factored"', "")
"""the t5 cell of TINY_MATRIX, 3 steps: the model `train` above compiles"""


def test_run_list_and_table_from_the_command_line(tmp_path, capsys):
    matrix = tmp_path / "one.toml"
    matrix.write_text(ONE_CELL)
    results = str(tmp_path / "results")
    common = ["--matrix", str(matrix), "--results", results]
    assert main(["list", *common]) == 0
    assert re.search(r"^[0-9a-f]{12}  pending  +0  attention=t5 J2=0.5  steps=3$",
                     capsys.readouterr().out, re.MULTILINE)
    assert main(["run", *common, "--no-progress"]) == 0
    assert "1 completed, 0 failed, 0 skipped" in capsys.readouterr().err
    assert main(["run", *common, "--no-progress"]) == 0
    assert "0 completed, 0 failed, 1 skipped" in capsys.readouterr().err
    assert main(["list", *common]) == 0
    assert "  done  " in capsys.readouterr().out
    assert main(["table", "--results", results, "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "relative error against -0.5286202095 (exact, ed-L4-J2_0.5)" in out
    assert re.search(r"^\| T5 \| 1 \| 4 \| 2 \| 3 \| -?\d+\.\d+\(\d+\) \|", out, re.MULTILINE)
    assert main(["table", "--results", results, "--only", "attention=factored"]) == 2
    assert "matches no run" in capsys.readouterr().err


@pytest.mark.parametrize(("flags", "flops"), [([], False), (["--flops"], True)])
def test_flop_accounting_is_opt_in(flags, flops, tmp_path, monkeypatch):
    import suite.bench.runner as runner

    calls = []
    monkeypatch.setattr(runner, "run_cells",
                        lambda *args, **kwargs: calls.append(kwargs) or runner.RunSummary())
    matrix = tmp_path / "one.toml"
    matrix.write_text(ONE_CELL)
    assert main(["run", "--matrix", str(matrix), "--results", str(tmp_path), "--no-progress",
                 *flags]) == 0
    assert [call["flops"] for call in calls] == [flops]


def test_a_malformed_matrix_is_rejected_before_anything_runs(tmp_path, capsys):
    matrix = tmp_path / "bad.toml"
    matrix.write_text(ONE_CELL.replace('"t5"', '"softmax"'))
    assert main(["run", "--matrix", str(matrix), "--results", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == (
        f"nqsbench run: error: {matrix}: attention: invalid in cell attention=softmax J2=0.5: "
        "unknown value 'softmax'; choose one of: t5, decoupled, factored\n")
    assert not (tmp_path / "r").exists()
    assert main(["run", "--shard", "2/2", "--results", str(tmp_path / "r")]) == 2
    assert "--shard: 2/2: must be K/N" in capsys.readouterr().err


def test_references_lists_every_reference_and_published_result(capsys):
    assert main(["references"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 + len(load_references()) + len(load_published())  # 2 headers, 1 blank
    assert ("ed-L4-J2_0.5                 4  0.50  -0.5286202095     0.0e+00  exact       "
            "Exact diagonalisation (Lanczos, Sz=0 sector, 12,870 states) computed by nqsbench "
            "(suite.engine.exact); agrees with varbench J1J2/square_16_P_0.5.md") in lines
    factored_l6 = [line for line in lines if line.startswith("L=6 ") and "154,980" in line]
    assert len(factored_l6) == 1 and " -0.5032160 " in factored_l6[0]  # the paper's Table 1


def test_machine_name_names_the_device_for_asv(capsys):
    assert main(["machine-name"]) == 0
    name = capsys.readouterr().out.strip()
    assert re.fullmatch(r"[a-z0-9.-]+", name)
    assert "-cpu-" in name or "-gpu-" in name  # the platform, then the device model


def test_a_reader_that_stops_early_is_no_error():
    """``nqsbench list | head``: no traceback when the reader has gone, exit status 0 (here the
    reader, ``true``, exits before anything is written)."""
    done = subprocess.run(f"{sys.executable} -m suite list --matrix replication | true; "
                          "exit ${PIPESTATUS[0]}", shell=True, capture_output=True, text=True,
                          executable="/bin/bash")
    assert (done.returncode, done.stderr) == (0, "")
