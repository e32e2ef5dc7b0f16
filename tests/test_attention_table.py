"""``nqsbench table --attention``: the input dependence of the attention maps, one row per run."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from suite.bench.matrix import load_matrix, with_setting
from suite.bench.recording import completed_record, failed_record
from suite.cli import main
from suite.report.analysis import input_dependence
from suite.report.attention_table import (
    CAPTION,
    CSV_COLUMNS,
    HEADERS,
    attention_rows,
    render_attention_table,
)
from suite.report.records import write_record
from suite.report.rows import load_runs

MATRIX = """
name = "attention-test"
[fixed]
L = 4
J2 = 0.5
layers = 1
d = 4
heads = 2
samples = 32
steps = 6
[axes]
attention = ["factored", "t5", "decoupled"]
seed = [1, 0]
"""

# (configurations, layers, heads, patches, patches); dyadic values survive the records' rounding
SAME = np.full((2, 1, 2, 2, 2), 0.5)
"""the same map for every input: input dependence 0"""
SWAPPED = np.array([[[[[1.0, 0.0], [0.0, 1.0]], [[0.5, 0.5], [0.5, 0.5]]]],
                    [[[[0.0, 1.0], [1.0, 0.0]], [[0.5, 0.5], [0.5, 0.5]]]]])
"""head 0: deviation 0.5 from its average 0.5 everywhere, so 1; head 1: 0; the largest is 1"""
SOFTER = np.array([[[[[0.75, 0.25], [0.25, 0.75]], [[0.5, 0.5], [0.5, 0.5]]]],
                   [[[[0.25, 0.75], [0.75, 0.25]], [[0.5, 0.5], [0.5, 0.5]]]]])
"""head 0: deviation 0.25 from its average 0.5, so 0.5"""


def _write(results: Path, cell, initial=None, final=None, *, hour: int = 10) -> Path:
    """A completed record of ``cell`` as ``run_cell`` writes one (no snapshots without maps)."""
    evaluation = SimpleNamespace(energy=-0.5, error=2e-3, variance=0.4, tau_corr=1.5,
                                 acceptance=0.25, n_samples=32, sampling_bias_bound=0.0,
                                 r_hat=1.0)
    result = SimpleNamespace(evaluation=evaluation, n_parameters=100, seconds_per_step=0.1,
                             compile_seconds=1.0, total_seconds=2.0, n_timed_steps=6,
                             trace={"energy": np.full(6, -0.5), "seconds": np.full(6, 0.1)})
    attention = None if initial is None else {
        "configurations": np.ones((len(initial), cell.config.system.n_sites)),
        "initial": initial, "final": final}
    stamp = f"2026-12-03T{hour:02d}:00:00+00:00"
    record = completed_record(
        cell=cell, matrix="attention-test", result=result, reference=None,
        environment={"platform": "cpu", "device": "test"}, git={"commit": "0" * 40, "dirty": False},
        memory={}, started_at=stamp, finished_at=stamp, attention=attention)
    return write_record(results, record)


@pytest.fixture
def results(tmp_path: Path) -> tuple[Path, Path]:
    """Six ViT runs of a small matrix with snapshots, a run outside it (L=6), a ViT run without
    snapshots, an RBM run and a failed run; returns the results directory and the matrix."""
    matrix_path = tmp_path / "attention-test.toml"
    matrix_path.write_text(MATRIX)
    cells = {(c.settings["attention"], c.settings["seed"]): c
             for c in load_matrix(matrix_path).cells}
    results = tmp_path / "results"
    for (attention, seed), cell in cells.items():
        if attention == "factored":
            _write(results, cell, SAME, SAME)
        else:
            _write(results, cell, SWAPPED, SOFTER if seed == 0 else SAME)
    t5 = cells[("t5", 0)]
    _write(results, with_setting(t5, "L", 6), SOFTER, SAME, hour=11)
    _write(results, with_setting(t5, "steps", 7), hour=12)  # a ViT run without snapshots
    _write(results, with_setting(with_setting(t5, "model", "rbm"), "steps", 8), SWAPPED,
           SWAPPED, hour=13)  # maps in a non-ViT record are never shown
    write_record(results, failed_record(
        cell=with_setting(t5, "steps", 9), matrix="attention-test", step=3, reason="nan",
        environment={"platform": "cpu", "device": "test"}, git={"commit": "0" * 40},
        started_at="2026-12-03T14:00:00+00:00", finished_at="2026-12-03T14:00:00+00:00"))
    return results, matrix_path


def test_input_dependence_of_known_maps():
    assert input_dependence(SAME) == 0.0
    assert input_dependence(SWAPPED) == 1.0
    assert input_dependence(SOFTER) == 0.5


def test_one_row_per_vit_run_with_snapshots_in_table_order(results):
    directory, _ = results
    summary = attention_rows(load_runs(directory).frame)
    assert len(summary) == 7  # no snapshot-less, RBM or failed run
    csv_text = render_attention_table(summary, "csv")
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["L"], r["model_name"], r["seed"]) for r in rows] == [
        ("4", "T5", "0"), ("4", "T5", "1"), ("4", "Decoupled", "0"), ("4", "Decoupled", "1"),
        ("4", "Factored", "0"), ("4", "Factored", "1"), ("6", "T5", "0")]
    dependence = [(float(r["input_dependence_initial"]), float(r["input_dependence_final"]))
                  for r in rows]
    assert dependence == [(1.0, 0.5), (1.0, 0.0), (1.0, 0.5), (1.0, 0.0), (0.0, 0.0),
                          (0.0, 0.0), (0.5, 0.0)]
    assert {r["steps"] for r in rows} == {"6"} and {r["J2"] for r in rows} == {"0.5"}
    assert {r["layers"] for r in rows} == {"1"} and {r["d"] for r in rows} == {"4"}
    stems = {path.stem for path in (directory / "runs").glob("*.json")}
    assert {r["run"] for r in rows} <= stems


def test_markdown_and_latex(results):
    directory, _ = results
    summary = attention_rows(load_runs(directory).frame)
    markdown = render_attention_table(summary)
    lines = markdown.splitlines()
    assert lines[0] == f"**{CAPTION}**"
    assert lines[2] == "| " + " | ".join(HEADERS) + " |"
    assert lines[4].startswith("| T5 | 4 | 0.5 | 1 | 4 | 0 | 6 | 1 | 0.5 | ")
    assert lines[8].startswith("| Factored | 4 | 0.5 | 1 | 4 | 0 | 6 | 0 | 0 | ")
    assert len(lines) == 4 + 7
    latex = render_attention_table(summary, "latex")
    assert "\\begin{tabular}" in latex and latex.count(r" \\") == 8
    with pytest.raises(ValueError, match="unknown format"):
        render_attention_table(summary, "html")


def test_the_command_respects_matrix_only_and_format(results, capsys):
    directory, matrix = results
    assert main(["table", "--attention", "--results", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "| " + " | ".join(HEADERS) + " |" in out
    assert out.count("\n| T5 |") == 3

    assert main(["table", "--attention", "--results", str(directory), "--matrix", str(matrix),
                 "--only", "attention=t5", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["L"], r["model_name"], r["seed"]) for r in rows] == [("4", "T5", "0"),
                                                                    ("4", "T5", "1")]

    assert main(["table", "--attention", "--results", str(directory), "--only",
                 "model=rbm"]) == 1
    assert "attention snapshots" in capsys.readouterr().err
