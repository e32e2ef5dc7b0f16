"""The time-to-target race (issue 21) end to end: the ``target`` setting, what a run records
for it, the race matrix, and ``nqsbench compare netket --metric time-to-target`` on a tiny cell
with 2 seeds (that part is skipped without NetKet)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from suite.bench.config import ModelConfig, RunConfig, SamplerConfig, SystemConfig
from suite.bench.matrix import Cell, config_hash, load_matrix
from suite.bench.recording import completed_record
from suite.cli import main
from suite.errors import ConfigError
from suite.report.references import Reference, find_reference
from suite.report.target_races import load_target_races, summarise

TINY_MATRIX = """
name = "tiny-race"
description = "a tiny time-to-target race"
[fixed]
L = 4
J2 = 0.0
layers = 1
d = 8
heads = 2
samples = 64
steps = 6
learning_rate = 0.05
diag_shift = 1e-2
target = 0.9
[axes]
attention = ["factored"]
"""


def test_the_target_is_a_validated_label_outside_the_cell_id():
    config = RunConfig(SystemConfig(L=4), ModelConfig(attention="factored"))
    targeted = dataclasses.replace(config, target=1e-3).validate()
    assert config_hash(targeted) == config_hash(config)
    for bad in (1.0, 0.0, -1e-3):
        with pytest.raises(ConfigError) as error:
            dataclasses.replace(config, target=bad).validate()
        assert error.value.field == "target"


def test_a_run_records_the_time_to_its_cell_s_own_target():
    config = RunConfig(SystemConfig(L=4, J2=0.5), ModelConfig(attention="factored"),
                       target=3e-3).validate()
    steps = 40
    # 20 steps at -0.45, then -0.528 (1.2e-3 above -0.52862): the running mean over 10 steps
    # first comes within 3e-3 when its whole window is at -0.528, at step 29 (never within 1e-3)
    energies = np.r_[np.full(20, -0.45), np.full(20, -0.528)]
    result = SimpleNamespace(
        evaluation=SimpleNamespace(energy=-0.528, error=1e-4, variance=0.1, tau_corr=1.0,
                                   acceptance=0.3, n_samples=64, sampling_bias_bound=0.0,
                                   r_hat=1.0),
        n_parameters=10, seconds_per_step=0.5, compile_seconds=1.0, total_seconds=21.0,
        trace={"energy": energies, "error": np.full(steps, 1e-3),
               "acceptance": np.full(steps, 0.3), "seconds": np.full(steps, 0.5)},
        n_timed_steps=steps, n_devices=1)
    reference = Reference("ed", 4, 0.5, -0.52862, 0.0, "exact", "test")
    record = completed_record(cell=Cell(config, config.settings(), ()), matrix="m",
                              result=result, reference=reference,
                              environment={"device": "cpu"}, git={"commit": "c"},
                              memory={}, attention=None, started_at="2026-12-03T00:00:00+00:00",
                              finished_at="2026-12-03T00:01:00+00:00")
    found = record.metrics.time_to_target
    assert found["cell_target"] == "3e-03"
    assert found["3e-03"] == {"step": 29, "seconds": 15.0}
    assert found["1e-03"] == {"step": None, "seconds": None}
    assert set(found) >= {"1e-01", "1e-02", "1e-03", "1e-04", "3e-03"}


def test_the_race_matrix_has_a_target_and_a_reference_for_every_cell():
    matrix = load_matrix("race-target")
    labels = {(c.config.system.L, c.config.system.J2): c for c in matrix.cells}
    assert sorted(labels) == [(4, 0.0), (4, 0.5), (6, 0.0)]
    for (L, J2), cell in labels.items():
        assert cell.config.target is not None and 0 < cell.config.target < 1
        assert find_reference(L, J2) is not None
        assert cell.config.model.attention == "factored"
    assert labels[(6, 0.0)].config.target is not None


def _write_tiny(tmp_path, extra: str = "") -> str:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_MATRIX + extra)
    return str(path)


def test_a_cell_without_target_or_with_bad_seeds_is_exit_status_2(tmp_path, capsys):
    pytest.importorskip("netket")
    untargeted = tmp_path / "untargeted.toml"
    untargeted.write_text(TINY_MATRIX.replace("target = 0.9\n", ""))
    assert main(["compare", "netket", "--matrix", str(untargeted), "--metric",
                 "time-to-target", "--no-record"]) == 2
    assert "sets no target" in capsys.readouterr().err
    assert main(["compare", "netket", "--matrix", _write_tiny(tmp_path), "--metric",
                 "time-to-target", "--seeds", "0", "--no-record"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["compare", "netket", "--matrix", _write_tiny(tmp_path), "--metric",
                 "time-to-target", "--target", "2", "--no-record"]) == 2
    assert "--target" in capsys.readouterr().err


def test_netket_discards_our_sweeps_in_its_samples_of_several_sweeps(tmp_path, capsys):
    """NetKet counts discards in samples of ``sweeps_per_sample`` sweeps: 6 of our sweeps at 2
    per sample are 3 of NetKet's (not 6, which discarded twice as many); thermalisation rounds
    up; a discard that is no whole number of samples is exit status 2 before anything runs."""
    pytest.importorskip("netket")
    from suite.perf.netket import netket_discards

    assert netket_discards(SamplerConfig(n_samples=64)) == (5, 32)
    assert netket_discards(SamplerConfig(n_samples=64, sweeps_per_sample=2, discard_sweeps=6,
                                         thermalization_sweeps=31)) == (3, 16)
    two_sweeps = tmp_path / "two-sweeps.toml"
    two_sweeps.write_text(TINY_MATRIX.replace("[axes]", "sweeps_per_sample = 2\n[axes]"))
    assert main(["compare", "netket", "--matrix", str(two_sweeps), "--no-record"]) == 2
    err = capsys.readouterr().err
    assert "discard_sweeps" in err and "multiple" in err and "Traceback" not in err


@pytest.mark.slow  # five engines compile: 1-3 minutes on two cores
def test_the_race_on_a_tiny_cell_with_two_seeds_records_every_engine(tmp_path, capsys):
    pytest.importorskip("netket", reason="NetKet (pip install -e '.[peers]') is not installed")
    results = tmp_path / "results"
    assert main(["compare", "netket", "--matrix", _write_tiny(tmp_path), "--metric",
                 "time-to-target", "--seeds", "2", "--target", "0.9", "0.5",
                 "--results", str(results)]) == 0
    table = capsys.readouterr().out
    records, problems = load_target_races(results)
    assert not problems and len(records) == 1
    record = records[0]
    assert record.seeds == [0, 1] and record.budget == 6 and record.targets == [0.9, 0.5]
    engines = [(e["engine"], e["setting"]) for e in record.engines]
    assert engines == [("nqsbench", "ours"), ("nqsbench", "spring"), ("netket", "tutorial"),
                       ("netket", "ours"), ("netket", "spring")]
    spring = record.engines[4]["settings"]
    assert spring["momentum"] == 0.9 and record.engines[2]["settings"]["learning_rate"] == 0.0075
    for entry in record.engines:
        assert [run["seed"] for run in entry["runs"]] == [0, 1]
        for run in entry["runs"]:
            assert run["steps"] == 6 and run["seconds"] > 0 and not run["diverged"]
            for key, target in (("9e-01", 0.9), ("5e-01", 0.5)):
                hit = run["targets"][key]
                if hit["step"] is not None:  # confirmed by an evaluation within the target
                    assert hit["step"] < 6 and hit["seconds"] <= run["seconds"]
                    assert abs(hit["energy"] / record.reference["energy_per_site"] - 1) <= target
            assert run["exact_energy"] is not None  # 4x4: the final state's exact energy
    assert record.reference["kind"] == "exact" and record.n_parameters > 0
    assert len(summarise(record)) == 2 * 5
    assert "| 9e-01 | netket | tutorial |" in table and "| ratio |" in table

