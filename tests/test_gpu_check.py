"""The prepared GPU check (issue 17, item 4) keeps working: its dry run on a CPU, and its time
budget."""

from __future__ import annotations

import pytest

from suite.perf.gpu_check import SHARES, plan, run_check


def test_the_check_covers_the_paper_cells_and_the_float32_variant():
    cells = plan(dry_run=False)
    assert [part for part, _ in cells].count("paper 10x10") == 3
    assert {cell.settings["L"] for _, cell in cells} == {6, 10}
    assert all(cell.config.optimizer.steps == 20 for _, cell in cells)
    assert all(cell.config.sampler.n_samples == 4096 for _, cell in cells)
    [(_, float32)] = [(p, c) for p, c in cells if p == "float32 sampling"]
    assert float32.config.sampler.dtype == "float32"
    assert sum(SHARES.values()) == pytest.approx(1.0)
    assert len({cell.id for _, cell in plan(dry_run=True)}) == len(cells)


@pytest.mark.slow  # one tiny cell compiled (CI also runs the whole dry run: .ci/run)
def test_a_part_stops_at_its_share_of_the_budget(tmp_path):
    outcomes = run_check(tmp_path, budget=0.01, dry_run=True)
    assert outcomes[0].note == "stopped at its share of the budget" and outcomes[0].steps == 0
    assert all("budget" in o.note for o in outcomes)
