"""The SLMC family in the suite: its configuration, matrices, runner, records, CLI and table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from suite.bench.matrix import (
    MatrixError,
    config_hash,
    load_matrix,
    parse_filters,
    parse_matrix,
)
from suite.bench.slmc_config import SLMC_SETTINGS, SLMCConfig
from suite.errors import ConfigError
from suite.report.slmc_records import SLMC_DIRECTORY, load_slmc_records, slmc_frame

ROOT = Path(__file__).resolve().parents[1]


def nqsbench(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "suite", *args], capture_output=True, text=True,
                          cwd=cwd, env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"})


# ---------------------------------------------------------------- configuration


def test_default_configuration_round_trips():
    config = SLMCConfig().validate()
    data = config.to_dict()
    assert data["family"] == "slmc" and data["L"] == 6 and data["effective_model"] == "linear"
    assert SLMCConfig.from_dict(data) == config
    assert SLMCConfig.from_settings(config.settings()) == config
    assert config.beta == pytest.approx(20.0)
    assert list(SLMC_SETTINGS) == [key for key in data if key != "family"]


@pytest.mark.parametrize(("settings", "field"), [
    ({"L": 4, "couplings": 6}, "couplings"),
    ({"L": 4, "block_shells": 6}, "block_shells"),
    ({"effective_model": "linear", "layers": 2}, "layers"),
    ({"effective_model": "transformer", "layers": 0}, "layers"),
    ({"effective_model": "attention"}, "effective_model"),
    ({"temperature": 0.0}, "temperature"),
    ({"L": 1}, "L"),
    ({"chains": 0}, "chains"),
    ({"learning_rate_final": 0.0}, "learning_rate_final"),
])
def test_invalid_settings_name_their_field(settings, field):
    with pytest.raises(ConfigError) as caught:
        SLMCConfig.from_settings(settings).validate()
    assert caught.value.field == field


# ---------------------------------------------------------------- matrices


def test_smoke_matrix_is_an_slmc_matrix():
    matrix = load_matrix("slmc-smoke")
    assert matrix.family == "slmc" and matrix.fields is SLMC_SETTINGS
    assert [c.label for c in matrix.cells] == ["effective_model=linear",
                                               "effective_model=transformer"]
    assert [c.config.layers for c in matrix.cells] == [0, 1]
    assert all(isinstance(c.config, SLMCConfig) for c in matrix.cells)
    filters = parse_filters(["effective_model=Transformer"], fields=matrix.fields)
    assert filters == {"effective_model": "transformer"}
    assert [c.config.layers for c in matrix.select(filters)] == [1]


def test_a_setting_added_later_keeps_old_ids_at_its_former_value():
    """learning_rate_final came after the first SLMC records: unset, the id is as before."""
    assert config_hash(SLMCConfig(L=4)) == config_hash(SLMCConfig(L=4, learning_rate_final=None))
    assert config_hash(SLMCConfig(L=4)) != config_hash(SLMCConfig(L=4, learning_rate_final=1e-4))
    assert load_matrix("slmc-smoke").cells[0].id == "500183acc62a"


def test_cell_id_is_the_hash_of_the_configuration_and_family():
    config = SLMCConfig(L=4).validate()
    assert config_hash(config) == config_hash(SLMCConfig.from_dict(config.to_dict()))
    assert config_hash(config) != config_hash(SLMCConfig(L=4, seed=1).validate())


@pytest.mark.parametrize(("document", "key"), [
    ({"family": "qmc", "axes": {"L": [4]}}, "family"),
    ({"family": "slmc", "axes": {"attention": ["t5"]}}, "attention"),
    ({"family": "slmc", "axes": {"layers": [1]}, "fixed": {"effective_model": "linear"}},
     "layers"),
    ({"axes": {"effective_model": ["linear"]}}, "effective_model"),
])
def test_matrix_errors_name_the_key(document, key):
    with pytest.raises(MatrixError) as caught:
        parse_matrix(document, "bad.toml")
    assert caught.value.key == key


def test_unknown_filter_key_of_an_slmc_matrix():
    with pytest.raises(MatrixError, match="attention"):
        parse_filters(["attention=t5"], fields=SLMC_SETTINGS)


# ---------------------------------------------------------------- the smoke matrix end to end


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    """``nqsbench run --matrix slmc-smoke`` into a fresh results directory (the CI check)."""
    results = tmp_path_factory.mktemp("results")
    done = nqsbench("run", "--matrix", "slmc-smoke", "--results", str(results))
    assert done.returncode == 0, done.stderr
    assert "2 completed, 0 failed, 0 skipped" in done.stderr
    return results


def test_smoke_run_records_every_cell(smoke_results):
    records, problems = load_slmc_records(smoke_results)
    assert problems == []
    assert [r.label for r in records] == ["effective_model=linear",
                                          "effective_model=transformer"]
    cells = load_matrix("slmc-smoke").cells
    assert {r.config_hash for r in records} == {config_hash(c.config) for c in cells}
    for record in records:
        m = record.metrics
        assert 0.0 < m["acceptance"] <= 1.0 and m["acceptance_error"] > 0
        assert m["n_parameters"] == (4 if record.config["effective_model"] == "linear"
                                     else 1 + 3 + 3 * 1 * 2)
        assert m["seconds_per_outer_step"] > 0 and m["seconds_per_exact_sweep"] > 0
        assert set(record.observables) == {"magnetisation", "staggered_magnetisation",
                                           "structure_factor_pi_pi"}
        assert record.environment["device"]
    # the two cells share one exact chain: sampled once, read once from the cache
    assert sorted(r.metrics["exact_chain_cached"] for r in records) == [False, True]
    assert all(records[0].observables[k]["exact"] == records[1].observables[k]["exact"]
               for k in records[0].observables)
    frame = slmc_frame(records)
    assert list(frame["layers"]) == [0, 1] and list(frame["L"]) == [4, 4]


def test_a_second_run_skips_recorded_cells_and_list_says_done(smoke_results):
    again = nqsbench("run", "--matrix", "slmc-smoke", "--results", str(smoke_results))
    assert again.returncode == 0 and "0 to run, 2 already recorded" in again.stderr
    listing = nqsbench("list", "--matrix", "slmc-smoke", "--results", str(smoke_results))
    assert listing.returncode == 0 and "# 2 done, 0 pending" in listing.stdout
    assert len(list((smoke_results / SLMC_DIRECTORY).glob("*.json"))) == 2


def test_table_prints_acceptance_and_observables(smoke_results):
    for args in (["--slmc"], ["--matrix", "slmc-smoke"]):
        shown = nqsbench("table", "--results", str(smoke_results), *args)
        assert shown.returncode == 0, shown.stderr
        assert "| linear | 0 | 3 | 4 | 1 |" in shown.stdout
        assert "| transformer | 1 | 3 | 10 | 1 |" in shown.stdout
        assert "staggered_magnetisation" in shown.stdout and "0.21 (6x6)" in shown.stdout


def test_an_unreadable_record_is_named_and_skipped(smoke_results, tmp_path):
    results = tmp_path / "results"
    (results / SLMC_DIRECTORY).mkdir(parents=True)
    for path in (smoke_results / SLMC_DIRECTORY).glob("*.json"):
        (results / SLMC_DIRECTORY / path.name).write_text(path.read_text())
    (results / SLMC_DIRECTORY / "broken.json").write_text("{not json")
    records, problems = load_slmc_records(results)
    assert len(records) == 2 and len(problems) == 1 and "broken.json" in problems[0]


def test_table_without_records_says_how_to_make_them(tmp_path):
    shown = nqsbench("table", "--results", str(tmp_path), "--slmc")
    assert shown.returncode == 1 and "nqsbench run --matrix slmc-smoke" in shown.stderr


def test_bad_matrix_is_exit_status_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('family = "slmc"\n[fixed]\neffective_model = "linear"\n[axes]\nlayers = [2]\n')
    done = nqsbench("run", "--matrix", str(bad), "--results", str(tmp_path / "r"))
    assert done.returncode == 2
    assert "layers" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()


def test_record_json_has_no_nan(smoke_results):
    for path in (smoke_results / SLMC_DIRECTORY).glob("*.json"):
        text = path.read_text()
        assert "NaN" not in text and "Infinity" not in text, path
