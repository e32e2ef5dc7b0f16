"""Time to target (issue 15, item 8): the running mean, the first step within each relative
error, the seconds to it, and what a record and a table carry."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from suite.report.tables import render_table
from suite.report.targets import running_mean, target_key, time_to_target


def test_the_running_mean_averages_the_last_window_steps():
    np.testing.assert_array_equal(running_mean(np.arange(1.0, 8.0), 3),
                                  [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0])
    np.testing.assert_array_equal(running_mean([4.0, 2.0], 10), [4.0, 3.0])


def test_the_first_step_within_each_target_and_its_seconds():
    reference = -0.5
    energies = [-0.40, -0.46, -0.49, -0.499, -0.4999, -0.49999, -0.49999, -0.49999]
    seconds = [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    found = time_to_target(energies, seconds, reference, window=2)
    # running means -0.40 -0.43 -0.475 -0.4945 -0.49945 -0.499945 -0.49999 -0.49999, relative
    # errors 0.2 0.14 0.05 0.011 1.1e-3 1.1e-4 2e-5 2e-5
    assert found == {"1e-01": {"step": 2, "seconds": 4.0}, "1e-02": {"step": 4, "seconds": 6.0},
                     "1e-03": {"step": 5, "seconds": 7.0}, "1e-04": {"step": 6, "seconds": 8.0}}


def test_one_lucky_step_does_not_reach_a_target():
    energies = [-0.3] * 9 + [-0.5] + [-0.3] * 5
    found = time_to_target(energies, [1.0] * 15, -0.5, targets=(1e-2,))
    assert found == {"1e-02": {"step": None, "seconds": None}}
    # without smoothing the lucky step would have counted
    assert time_to_target(energies, [1.0] * 15, -0.5, targets=(1e-2,), window=1) == {
        "1e-02": {"step": 9, "seconds": 10.0}}


def test_a_divergence_ends_the_search():
    energies = [-0.3, np.nan, -0.5, -0.5]
    assert time_to_target(energies, [1.0] * 4, -0.5, targets=(1e-1,), window=1) == {
        "1e-01": {"step": None, "seconds": None}}


def _row() -> dict:
    return {"cell_id": "a", "status": "completed", "matrix": "m", "L": 4, "J2": 0.5, "J1": 1.0,
           "model": "vit", "attention": "factored", "layers": 1, "d": 8, "heads": 2,
           "patch": 2, "samples": 64, "steps": 100, "seed": 0, "purpose": "accuracy",
           "energy": -0.52, "energy_error": 0.001, "relative_error": 0.016,
           "reference_id": "ed", "reference_energy": -0.5286202095, "reference_kind": "exact",
           "v_score": 0.01, "n_parameters": 100, "seconds_per_step": 0.1,
           "compile_seconds": 1.0, "total_seconds": 11.0, "device": "cpu", "commit": "c",
           "finished_at": "2026", "config_hash": "h", "seed_family": "f",
           f"steps_to_{target_key(1e-1)}": 3, f"seconds_to_{target_key(1e-1)}": 0.3,
           f"steps_to_{target_key(1e-2)}": None, f"seconds_to_{target_key(1e-2)}": None}


def test_a_table_can_show_the_time_to_a_target():
    row = _row()
    text = render_table(pd.DataFrame([row]), "markdown", time_to_target=1e-1)
    assert "| Steps to 1e-01 | Time to 1e-01 |" in text and "| 3 | 0 s |" in text
    assert "| not reached | not reached |" in render_table(pd.DataFrame([row]), "markdown",
                                                          time_to_target=1e-2)
    with pytest.raises(ValueError, match="1e-05"):
        render_table(pd.DataFrame([row]), time_to_target=1e-5)


def test_several_targets_add_two_columns_each_in_the_order_given():
    runs = pd.DataFrame([_row()])
    both, hundredth, tenth = (render_table(runs, "markdown", time_to_target=t).splitlines()
                              for t in ([1e-2, 1e-1], 1e-2, 1e-1))
    assert both[2].endswith("| Steps to 1e-02 | Time to 1e-02 | Steps to 1e-01 | Time to 1e-01 |")
    for line in (2, 4):  # the header and the row: 1e-02's two columns, then 1e-01's
        cells = [table[line].strip("| ").split(" | ") for table in (both, hundredth, tenth)]
        assert cells[0] == cells[1] + cells[2][-2:]
    assert both[4].endswith("| not reached | not reached | 3 | 0 s |")
    csv = pd.read_csv(io.StringIO(render_table(runs, "csv", time_to_target=(1e-2, 1e-1))))
    single = [pd.read_csv(io.StringIO(render_table(runs, "csv", time_to_target=t)))
              for t in (1e-2, 1e-1)]
    assert list(csv.columns[-4:]) == ["steps_to_1e-02", "seconds_to_1e-02",
                                      "steps_to_1e-01", "seconds_to_1e-01"]
    pd.testing.assert_frame_equal(csv, single[0].join(single[1].iloc[:, -2:]))
