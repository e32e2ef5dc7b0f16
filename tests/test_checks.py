"""The exact check (issue 15, item 9): the trained state's exact energy and Var(H) beside the
Monte Carlo estimates, in the record, and refused beyond 4 x 4."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TINY_MATRIX, random_model

from suite.bench.checks import exact_check
from suite.bench.config import ModelConfig, RunConfig, SystemConfig
from suite.bench.matrix import load_matrix
from suite.bench.runner import cell_statuses, run_cells
from suite.cli import main
from suite.engine.exact import exact_energy_per_site, exact_expectation
from suite.errors import ConfigError
from suite.report.records import read_record
from suite.report.rows import load_runs


def test_the_exact_check_is_exact_enumeration(hamiltonian_4x4):
    model, params = random_model("t5", seed=4)
    hamiltonian = hamiltonian_4x4[0.5]
    exact = exact_expectation(
        lambda c: np.asarray(model.apply({"params": params}, c)), hamiltonian)
    check = exact_check(model, params, hamiltonian, exact.energy / 16 + 0.01, 0.005,
                        chunk_size=1000)
    assert check.energy_per_site == pytest.approx(exact.energy / 16, rel=1e-12)
    assert check.energy_variance == pytest.approx(exact.variance, rel=1e-10)
    assert check.error_bars_apart == pytest.approx(2.0, rel=1e-9)
    assert math.isnan(exact_check(model, params, hamiltonian, -0.5, 0.0).error_bars_apart)
    assert check.to_json()["error_bars_apart"] == pytest.approx(2.0, rel=1e-9)


def test_the_exact_check_stops_at_4x4_with_a_clear_error(capsys):
    config = RunConfig(system=SystemConfig(L=6), exact_check=True)
    with pytest.raises(ConfigError) as error:
        config.validate()
    assert error.value.field == "exact_check" and "L <= 4" in str(error.value)
    assert main(["train", "--L", "6", "--exact-check", "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "exact_check" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="symmetry_projection"):
        RunConfig(model=ModelConfig(model="rbm"), symmetry_projection=True).validate()


def test_a_run_with_the_exact_check_records_it(tmp_path):
    """A 4x4 cell with ``exact_check = true``: the record holds the exact energy and Var(H) in
    the units of the Monte Carlo ones, and the variational principle holds."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_MATRIX.replace("seed = 3", "seed = 3\nexact_check = true")
                    .replace('["t5", "factored"]', '["factored"]'))
    matrix = load_matrix(path)
    results = tmp_path / "results"
    summary = run_cells(cell_statuses(list(matrix.cells), results), results, matrix.name)
    metrics = read_record(summary.completed[0])["metrics"]
    exact = metrics["exact"]
    assert set(exact) == {"energy_per_site", "energy_variance", "error_bars_apart"}
    assert exact["energy_per_site"] >= exact_energy_per_site(4, 0.5) - 1e-12
    assert exact["error_bars_apart"] == pytest.approx(
        (metrics["energy_per_site"] - exact["energy_per_site"]) / metrics["energy_error"])
    assert exact["energy_variance"] > 0
    row = load_runs(results).frame.iloc[0]
    assert row["exact_energy"] == exact["energy_per_site"] and row["exact_check"]


@pytest.mark.slow  # about a minute: 150 steps, then two enumerations and a projected evaluation
def test_on_a_trained_4x4_state_the_exact_check_agrees_with_monte_carlo():
    """The issue's check: on a trained state (not a random one), the Monte Carlo energies of
    the raw and the symmetry-projected state lie within three error bars of their exact
    values, and both exact energies respect the variational principle."""
    from suite.bench.train import train

    config = RunConfig.from_settings({
        "L": 4, "J2": 0.5, "layers": 1, "d": 8, "heads": 2, "samples": 256, "chains": 32,
        "steps": 150, "learning_rate": 0.05, "eval_samples": 4096, "seed": 1,
        "exact_check": True, "symmetry_projection": True}).validate()
    result = train(config)
    ground = exact_energy_per_site(4, 0.5)
    for exact in (result.exact, result.projected_exact):
        assert exact.energy_per_site >= ground - 1e-12
        assert abs(exact.error_bars_apart) < 3
    assert result.exact.energy_per_site < -0.45  # trained: far below a random state's energy
    assert result.evaluation.error < 2e-3 and result.projected.error < 2e-3
