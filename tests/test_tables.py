"""Paper-style tables: exact text for Markdown, LaTeX (booktabs) and CSV."""

from __future__ import annotations

import io
import shutil
import subprocess

import pandas as pd
import pytest
from conftest import GOLDEN

from suite.cli import main
from suite.report.formatting import format_with_error
from suite.report.rows import load_runs
from suite.report.tables import (
    format_count,
    format_duration,
    format_scientific,
    latex_escape,
    render_table,
    table_blocks,
)


def _run(attention: str, energy: float, error: float, params: int, seconds: float, total: float,
         finished: str = "2026-11-22T10:00:00+00:00", **overrides) -> dict:
    row = dict.fromkeys(load_runs("/nonexistent").frame.columns)
    row.update(
        status="completed", model="vit", attention=attention, L=6, J1=1.0, J2=0.5, layers=4, d=60,
        heads=10, patch=2, samples=4096, steps=5000, energy=energy, energy_error=error,
        relative_error=(energy + 0.50380965) / 0.50380965, v_score=2.5e-3,
        reference_id="schulz1996-L6-J2_0.5", reference_energy=-0.50380965, reference_kind="exact",
        n_parameters=params, seconds_per_step=seconds, total_seconds=total, device="NVIDIA A100",
        config_hash=f"hash-{attention}", finished_at=finished, cell_id=f"id-{attention}",
        compile_seconds=30.0, commit="abc",
    )
    row.update(overrides)
    return row


@pytest.fixture
def paper_runs() -> pd.DataFrame:
    # The paper's Table 1 (L = 6), entered as if our runs had produced it, in scrambled order.
    return pd.DataFrame([
        _run("factored", -0.503216, 0.000008, 154980, 4.32, 21600),
        _run("t5", -0.503182, 0.000009, 184260, 7.2, 36000),
        _run("decoupled", -0.503243, 0.000009, 184260, 7.2, 36000),
        _run("t5", -0.4, 0.1, 184260, 7.2, 36000, finished="2026-01-01T00:00:00+00:00"),
        _run("t5", -0.1, 0.1, 184260, 7.2, 36000, status="failed"),
    ])


@pytest.mark.parametrize(("value", "error", "text"), [
    (-0.503216, 0.000008, "-0.503216(8)"),
    (-0.5032163, 0.0000081, "-0.503216(8)"),
    (-0.49718, 0.00026, "-0.4972(3)"),
    (-0.52, 0.096, "-0.5(1)"),
    (-12.345, 1.5, "-12(2)"),
    (-0.5, 0.0, "-0.5000000000"),
])
def test_parenthesis_notation(value, error, text):
    assert format_with_error(value, error) == text


def test_number_formats():
    assert format_count(154980) == "154 980"
    assert format_count(154980, latex=True) == "154\\,980"
    assert format_scientific(1.234e-3) == "1.2e-03"
    assert format_scientific(1.234e-3, latex=True) == "$1.2 \\times 10^{-3}$"
    assert format_scientific(None) == "n/a"
    assert [format_duration(s) for s in (42, 750, 36000)] == ["42 s", "12.5 min", "10.0 h"]
    assert latex_escape("a_b & 50%") == "a\\_b \\& 50\\%"


def test_markdown_reproduces_the_paper_layout_exactly(paper_runs):
    assert render_table(paper_runs, "markdown") == (
        "**L = 6, J2/J1 = 0.5 on NVIDIA A100; relative error against -0.50380965 (exact, "
        "schulz1996-L6-J2_0.5)**\n"
        "\n"
        "| Attention | Layers | d | h | Steps | Energy | Rel. error | V-score | Parameters "
        "| s/step | Time |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        "| T5 | 4 | 60 | 10 | 5 000 | -0.503182(9) | 1.2e-03 | 2.5e-03 | 184 260 | 7.2 | 10.0 h |\n"
        "| Decoupled | 4 | 60 | 10 | 5 000 | -0.503243(9) | 1.1e-03 | 2.5e-03 | 184 260 | 7.2 "
        "| 10.0 h |\n"
        "| Factored | 4 | 60 | 10 | 5 000 | -0.503216(8) | 1.2e-03 | 2.5e-03 | 154 980 | 4.32 "
        "| 6.0 h |\n"
    )


def test_latex_is_a_complete_booktabs_table(paper_runs):
    text = render_table(paper_runs.assign(device="GPU_1 & co"), "latex")
    lines = text.splitlines()
    assert lines[0] == "% nqsbench tables; requires \\usepackage{booktabs}"
    assert lines[1:6] == ["\\begin{table}[htbp]", "\\centering", "\\footnotesize",
                          "\\setlength{\\tabcolsep}{2pt}", lines[5]]
    assert lines[5].startswith("\\caption{Results for the $J_1$-$J_2$ Heisenberg model on a "
                               "$6\\times6$ lattice at $J_2/J_1 = 0.5$, measured on GPU\\_1 \\& co.")
    assert lines[5].endswith("Relative error against $-0.50380965$ (exact, "
                             "schulz1996-L6-J2\\_0.5).}")
    assert lines[6:10] == [
        "\\begin{tabular}{llrrrrrrrrr}",
        "\\toprule",
        "Attention & $n_l$ & $d$ & $h$ & Steps & Energy & Rel. error & V-score & Parameters & "
        "s/step & Time \\\\",
        "\\midrule",
    ]
    assert lines[12] == ("Factored & 4 & 60 & 10 & 5\\,000 & $-0.503216(8)$ & "
                         "$1.2 \\times 10^{-3}$ & $2.5 \\times 10^{-3}$ & 154\\,980 & 4.32 & "
                         "6.0 h \\\\")
    assert lines[13:16] == ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    body = "\n".join(lines[10:13])
    assert body.count("\\\\") == 3 and body.count("&") == 30


def test_csv_has_the_numbers_behind_the_table(paper_runs):
    frame = pd.read_csv(io.StringIO(render_table(paper_runs, "csv")))
    assert list(frame["attention"]) == ["t5", "decoupled", "factored"]
    assert list(frame["energy_text"]) == ["-0.503182(9)", "-0.503243(9)", "-0.503216(8)"]
    assert frame.loc[2, "n_parameters"] == 154980


def test_blocks_split_by_lattice_coupling_and_device(paper_runs):
    other = pd.DataFrame([_run("factored", -0.68, 0.001, 1000, 0.1, 10, L=4, J2=0.0,
                               config_hash="x", device="AMD EPYC (2 cores)")])
    blocks = table_blocks(pd.concat([paper_runs, other], ignore_index=True))
    assert [(b.L, b.J2, b.device) for b in blocks] == [(4, 0.0, "AMD EPYC (2 cores)"),
                                                       (6, 0.5, "NVIDIA A100")]
    assert len(blocks[1].rows) == 3  # the newest completed record of each configuration


def test_unknown_format_is_rejected(paper_runs):
    with pytest.raises(ValueError, match="markdown, latex, csv"):
        render_table(paper_runs, "html")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles_in_an_article_without_overfull_boxes(paper_runs, tmp_path):
    (tmp_path / "tables.tex").write_text(render_table(paper_runs, "latex"))
    (tmp_path / "paper.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n"
                                        "\\begin{document}\n\\input{tables.tex}\n"
                                        "\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Overfull" not in (tmp_path / "paper.log").read_text()


@pytest.mark.parametrize(("arguments", "golden"), [
    (["--format", "markdown"], "table.markdown"),
    (["--format", "latex"], "table.latex"),
    (["--format", "csv"], "table.csv"),
    (["--matrix", "quick"], "table-quick.markdown"),
])
def test_the_committed_results_print_the_golden_tables(arguments, golden, golden_results,
                                                       capsys):
    """``nqsbench table`` on the committed results prints what it printed before the package
    was reorganised (tests/data/golden/, written by the flat layout at e102dea), except that
    timing cells (the quick matrix's 6x6 cells, the scaling matrix) show no energy or error
    since issue 15, item 4."""
    assert main(["table", "--results", str(golden_results), *arguments]) == 0
    assert capsys.readouterr().out == (GOLDEN / golden).read_text()


# --- issue 18, item 3: baselines and plugins ----------------------------------------------------

def _other(model: str, energy: float, params: int, key: str, options: dict | None = None,
           **overrides) -> dict:
    """A run of another model than the ViT (its attention, layers, d, h are unused defaults)."""
    return _run("factored", energy, 0.001, params, 0.5, 600, **{
        "model": model, "model_options": options, "config_hash": key, "seed_family": key,
        "cell_id": key, "seed": 0, **overrides})


@pytest.fixture
def mixed_runs() -> pd.DataFrame:
    return pd.DataFrame([
        _other("zoo.nets:cnn", -0.497, 3456, "p3"),
        _other("plug.nets:build", -0.49, 1234, "p1", {"width": 4}),
        _other("cnn", -0.501, 5120, "c16", {"channels": 16}),
        _run("t5", -0.503182, 0.000009, 184260, 7.2, 36000),
        _other("zoo:make", -0.495, 2345, "p2", {"name": "Alpha net"}),
        _other("rbm", -0.48, 528, "r", alpha=1),
        _other("cnn", -0.5, 1360, "c8", {"channels": 8}),
        _run("factored", -0.503216, 0.000008, 154980, 4.32, 21600),
    ])


def test_baselines_and_plugins_have_their_names_and_exact_parameter_counts(mixed_runs):
    lines = render_table(mixed_runs, "markdown").splitlines()
    assert lines[2] == ("| Model | Layers | d | h | Steps | Energy | Rel. error | V-score | "
                        "Parameters | s/step | Time |")
    rows = [line.split(" | ") for line in lines[4:12]]
    # the ViT attentions in the paper's order, the baselines, then plugins alphabetically; two
    # CNNs told apart by the option that differs; a plugin named "cnn" is not the CNN
    assert [row[0] for row in rows] == ["| T5", "| Factored", "| RBM", "| CNN (channels=8)",
                                        "| CNN (channels=16)", "| Alpha net", "| build",
                                        "| cnn (plugin)"]
    assert [row[8] for row in rows] == ["184 260", "154 980", "528", "1 360", "5 120", "2 345",
                                        "1 234", "3 456"]
    assert rows[0][1:4] == ["4", "60", "10"] and all(row[1:4] == ["-"] * 3 for row in rows[2:])
    assert lines[6] == ("| RBM | - | - | - | 5 000 | -0.480(1) | 4.7e-02 | 2.5e-03 | 528 | 0.5 "
                        "| 10.0 min |")


def test_latex_and_csv_of_baselines_and_plugins(mixed_runs):
    latex = render_table(mixed_runs, "latex").splitlines()
    assert latex[8].startswith("Model & $n_l$ & $d$ & $h$ & Steps")
    assert latex[12].startswith("RBM & -- & -- & -- & 5\\,000 & $-0.480(1)$")
    frame = pd.read_csv(io.StringIO(render_table(mixed_runs, "csv")), dtype=str,
                        keep_default_na=False)
    assert list(frame.columns[5:9]) == ["model", "model_name", "model_options", "attention"]
    assert list(frame["model_name"]) == ["T5", "Factored", "RBM", "CNN (channels=8)",
                                         "CNN (channels=16)", "Alpha net", "build",
                                         "cnn (plugin)"]
    assert list(frame["model_options"])[3:7] == ['{"channels":8}', '{"channels":16}',
                                                 '{"name":"Alpha net"}', '{"width":4}']
    others = frame[frame["model"] != "vit"]
    assert (others[["attention", "layers", "d", "heads", "patch"]] == "").all().all()
    assert list(frame["n_parameters"]) == ["184260", "154980", "528", "1360", "5120", "2345",
                                           "1234", "3456"]


def test_option_sets_and_plugins_are_never_merged_into_one_row(mixed_runs):
    # a second seed of the narrow CNN joins its row; nothing else merges
    again = _other("cnn", -0.502, 1360, "c8-seed1", {"channels": 8}, seed=1, seed_family="c8")
    blocks = table_blocks(pd.concat([mixed_runs, pd.DataFrame([again])], ignore_index=True))
    [block] = blocks
    assert len(block.rows) == 8
    narrow = block.rows[block.rows["model_label"] == "CNN (channels=8)"].iloc[0]
    assert narrow["n_seeds"] == 2 and narrow["energy"] == pytest.approx(-0.501)
    assert set(block.rows.loc[block.rows["model_label"] != "CNN (channels=8)", "n_seeds"]) == {1}
