"""Timing cells (issue 15, item 4) and seeds (item 7): what a cell declares, and how tables and
the dashboard show it."""

from __future__ import annotations

import pandas as pd
import pytest

from suite.bench.config import SETTINGS
from suite.bench.matrix import MatrixError, config_hash, declared_purpose, load_matrix, parse_matrix
from suite.report.tables import combine_seeds, render_table


def test_purpose_labels_a_cell_without_changing_its_id():
    quick = load_matrix("quick")
    timing = [cell for cell in quick.cells if cell.config.purpose == "timing"]
    assert {cell.settings["L"] for cell in timing} == {6} and len(timing) == 3
    assert not SETTINGS["purpose"].hashed
    for cell in timing:  # the ids the 6x6 cells had before they declared their purpose
        relabelled = cell.config.__class__(**{**cell.config.__dict__, "purpose": "accuracy"})
        assert config_hash(relabelled) == config_hash(cell.config)
    assert declared_purpose("quick", timing[0].id) == "timing"
    assert declared_purpose("quick", "not-a-cell") is None
    assert declared_purpose("my-own.toml", timing[0].id) is None
    assert {cell.config.purpose for cell in load_matrix("scaling").cells} == {"timing"}


def _row(**changes):
    row = {"cell_id": "a", "status": "completed", "matrix": "m", "L": 4, "J2": 0.5, "J1": 1.0,
           "model": "vit", "attention": "factored", "layers": 1, "d": 8, "heads": 2,
           "patch": 2, "samples": 64, "steps": 100, "seed": 0, "purpose": "accuracy",
           "energy": -0.52, "energy_error": 0.001, "relative_error": None,
           "reference_id": "ed", "reference_energy": -0.5, "reference_kind": "exact",
           "v_score": 0.01, "n_parameters": 100, "seconds_per_step": 0.1,
           "compile_seconds": 1.0, "total_seconds": 10.0, "device": "cpu", "commit": "c",
           "finished_at": "2026", "config_hash": "h0", "seed_family": "f"}
    row.update(changes)
    if row["relative_error"] is None:
        row["relative_error"] = (row["energy"] + 0.5) / 0.5
    return row


def test_a_timing_cell_never_shows_an_energy_error():
    runs = pd.DataFrame([_row(purpose="timing", energy=-0.3, steps=50)])
    markdown = render_table(runs)
    assert "timing only" in markdown and "-0.3" not in markdown and "4.0e-01" not in markdown
    assert "timing cells only" in markdown
    csv = render_table(runs, "csv").splitlines()
    values = dict(zip(csv[0].split(","), csv[1].split(","), strict=True))
    assert values["energy"] == values["relative_error"] == values["v_score"] == ""
    assert values["seconds_per_step"] == "0.1"
    assert "-0.3" not in render_table(runs, "latex")


def test_the_dashboard_leaves_timing_cells_off_the_accuracy_plot(tmp_path):
    from dashboard.data import DashboardData
    from dashboard.pages.table import grid_rows
    from suite.report.rows import run_columns

    def dashboard_row(**changes):
        return {**dict.fromkeys(run_columns()), **_row(**changes), "run": changes["cell_id"],
                "model_name": "Factored", "dirty": False}

    runs = pd.DataFrame([dashboard_row(purpose="timing", cell_id="t"),
                         dashboard_row(cell_id="a")])
    data = DashboardData(tmp_path, runs, (), pd.DataFrame())
    assert list(data.accurate["cell_id"]) == ["a"] and len(data.completed) == 2
    rows = {row["run"]: row for row in grid_rows(runs)}
    assert rows["t"]["relative_error"] is None and rows["t"]["purpose"] == "timing"
    assert rows["a"]["relative_error"] == pytest.approx(-0.04)


def test_seeds_run_every_cell_once_per_seed():
    matrix = parse_matrix({"name": "s", "seeds": [0, 1, 2], "fixed": {"L": 4},
                           "axes": {"attention": ["t5", "factored"]}}, "s.toml")
    assert [cell.label for cell in matrix.cells][:3] == [
        "attention=t5 seed=0", "attention=t5 seed=1", "attention=t5 seed=2"]
    assert len({cell.id for cell in matrix.cells}) == 6
    for bad, message in (([0, 0], "repeats"), ([], "non-empty"), ([-1], "non-negative"),
                         ("0", "non-empty")):
        with pytest.raises(MatrixError, match=message):
            parse_matrix({"seeds": bad, "axes": {"L": [4]}}, "s.toml")
    with pytest.raises(MatrixError, match="seeds"):
        parse_matrix({"seeds": [0, 1], "fixed": {"seed": 2}, "axes": {"L": [4]}}, "s.toml")


def test_a_table_shows_mean_spread_best_and_how_many_seeds():
    runs = pd.DataFrame([_row(seed=0, energy=-0.490, config_hash="h0"),
                         _row(seed=1, energy=-0.496, config_hash="h1"),
                         _row(seed=2, energy=-0.493, config_hash="h2"),
                         _row(attention="t5", seed_family="g", energy=-0.48,
                              config_hash="h3")])
    combined = combine_seeds(runs).set_index("attention")
    factored = combined.loc["factored"]
    assert factored["n_seeds"] == 3 and factored["energy"] == pytest.approx(-0.493)
    assert factored["energy_error"] == pytest.approx(0.003)  # standard deviation over seeds
    assert factored["best_energy"] == -0.496
    assert factored["relative_error"] == pytest.approx(0.014)
    assert combined.loc["t5", "n_seeds"] == 1 and combined.loc["t5", "energy"] == -0.48
    markdown = render_table(runs)
    assert "| Best seed | Seeds |" in markdown and "spread over the seeds" in markdown
    assert "| -0.493(3) | 1.4e-02 |" in markdown and "| -0.4960000000 | 3 |" in markdown
    csv = render_table(runs, "csv")
    assert csv.splitlines()[0].endswith(",n_seeds,n_failed,best_energy,best_relative_error")


def test_a_table_counts_failed_seeds_and_takes_medians_over_seeds():
    """A seed that diverged stays in the row's count and never reaches a target; the steps to a
    target are the median over the seeds (never: infinite); the step time is the median over the
    seeds measured alone."""
    def seed(number, status="completed", steps=None, **changes):
        if status == "failed":
            changes.setdefault("relative_error", float("nan"))
        changes.setdefault("config_hash", f"h{number}")
        return _row(seed=number, status=status,
                    **{"steps_to_1e-02": steps, "seconds_to_1e-02":
                       None if steps is None else 1.5 * steps}, **changes)

    runs = pd.DataFrame([
        seed(0, steps=40, seconds_per_step=0.9, host_load_max=5.0, cpu_count=2),
        seed(1, steps=60, seconds_per_step=0.1, host_load_max=2.0, cpu_count=2),
        seed(2, seconds_per_step=0.2, host_load_max=2.2, cpu_count=2),
        seed(3, status="failed", energy=None, finished_at="2026-1"),
        seed(4, status="failed", energy=None, finished_at="2026-1"),  # re-run below: not failed
        seed(4, steps=50, seconds_per_step=0.3, host_load_max=1.0, cpu_count=2,
             finished_at="2026-2"),
        seed(0, steps=40, attention="t5", seed_family="g", config_hash="t0"),
        seed(1, steps=80, attention="t5", seed_family="g", config_hash="t1")])
    markdown = render_table(runs, time_to_target=1e-2)
    factored = next(line for line in markdown.splitlines() if line.startswith("| Factored"))
    cells = [cell.strip() for cell in factored.strip("|").split("|")]
    # s/step: median of the three seeds alone (0.1, 0.2, 0.3), not the contended 0.9
    assert cells[9] == "0.2" and cells[12] == "4 + 1 failed"
    # steps to 1e-2 over 5 seeds: 40, 60, never, 50, failed -> median 60; 3 of 5 reached;
    # seed 0 shared its CPU, so the seconds are marked
    assert cells[13:] == ["60 (3/5)", "90 s*"] and "that time is inflated" in markdown
    t5 = next(line for line in markdown.splitlines() if line.startswith("| T5"))
    assert t5.rstrip(" |").endswith("| 2 | 60 (2/2) | 90 s")
    assert "a seed that never got there (or failed) counting as never" in markdown

    csv = render_table(runs, "csv", time_to_target=1e-2).splitlines()
    rows = [dict(zip(csv[0].split(","), line.split(","), strict=True)) for line in csv[1:]]
    factored = next(row for row in rows if row["attention"] == "factored")
    assert factored["n_failed"] == "1" and factored["n_seeds"] == "4"
    assert factored["steps_to_1e-02"] == "60.0" and factored["reached_1e-02"] == "3"

    # most seeds never got there: the median is 'not reached' (and empty in the CSV)
    never = pd.DataFrame([seed(0, steps=40), seed(1), seed(2, status="failed", energy=None)])
    line = render_table(never, time_to_target=1e-2).splitlines()[4]
    assert line.rstrip(" |").endswith("| 2 + 1 failed | not reached (1/3) | not reached")
    csv = render_table(never, "csv", time_to_target=1e-2).splitlines()
    values = dict(zip(csv[0].split(","), csv[1].split(","), strict=True))
    assert values["steps_to_1e-02"] == values["seconds_to_1e-02"] == ""
