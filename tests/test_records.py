"""Result records: typed, versioned, migrated on read; atomic, append-only writes; a loader that
survives corrupt files."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from suite.bench.config import ModelConfig, RunConfig, SystemConfig
from suite.bench.matrix import Cell
from suite.bench.recording import completed_record, failed_record
from suite.report.races import (
    COMPARISONS_DIRECTORY,
    EngineTiming,
    RaceRecord,
    comparison_record,
    comparison_row,
    comparison_table,
    load_comparisons,
    race_result,
    write_comparison,
)
from suite.report.records import (
    FLOP_METRICS,
    MIGRATIONS,
    RUNS_DIRECTORY,
    TARGET_RACE_KIND,
    Failure,
    RecordedReference,
    RecordError,
    RunMetrics,
    RunRecord,
    load_records,
    read_record,
    record_paths,
    write_record,
)
from suite.report.references import Reference
from suite.report.rows import load_runs
from suite.report.storage import atomic_create, atomic_write
from suite.report.target_races import TargetRaceRecord, load_target_races

REPO = Path(__file__).resolve().parents[1]


def _cell(attention: str = "factored") -> Cell:
    config = RunConfig(SystemConfig(L=4, J2=0.5), ModelConfig(attention=attention)).validate()
    return Cell(config, config.settings(), ("attention",))


def _record(attention: str = "factored",
            started_at: str = "2026-11-22T10:00:00+00:00") -> RunRecord:
    return failed_record(cell=_cell(attention), matrix="test", step=7, reason="energy is nan",
                         environment={"platform": "cpu", "device": "test"},
                         git={"commit": "0" * 40, "dirty": False}, started_at=started_at,
                         finished_at=started_at)


def test_records_are_written_whole_and_never_overwritten(tmp_path):
    record = _record()
    first, second = write_record(tmp_path, record), write_record(tmp_path, record)
    assert first != second
    assert read_record(first) == read_record(second) == record
    assert json.loads(first.read_text()) == record.to_json()
    assert first.parent == tmp_path / "runs" and first.name.startswith(record.cell_id)
    with pytest.raises(FileExistsError):
        atomic_create(first, b"{}")
    assert read_record(first) == read_record(second)  # the existing file is untouched
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".tmp-")]


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "a" / "file.bin"
    atomic_write(path, b"one")
    atomic_write(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in path.parent.iterdir()] == ["file.bin"]


def test_a_truncated_record_is_reported_and_the_others_load(tmp_path):
    good = write_record(tmp_path, _record("factored"))
    text = write_record(tmp_path, _record("t5")).read_text()
    truncated = tmp_path / "runs" / "truncated.json"
    truncated.write_text(text[: len(text) // 2])
    (tmp_path / "runs" / "future.json").write_text(json.dumps({"schema_version": 99}))
    (tmp_path / "runs" / "list.json").write_text("[1, 2]")
    (tmp_path / "runs" / ".tmp-partial.json").write_text("{")  # a write in progress: ignored

    table = load_runs(tmp_path)
    assert sorted(table.frame["attention"]) == ["factored", "t5"]
    problems = {p.path.name: p.reason for p in table.problems}
    assert set(problems) == {"truncated.json", "future.json", "list.json"}
    assert "not valid JSON" in problems["truncated.json"]
    assert "schema_version 99" in problems["future.json"] and "upgrade" in problems["future.json"]
    assert str(truncated) in str(next(p for p in table.problems if p.path == truncated))
    assert good in record_paths(tmp_path)


def test_the_loader_returns_one_tidy_row_per_run(tmp_path):
    write_record(tmp_path, _record("t5"))
    frame = load_runs(tmp_path).frame
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["L"], row["J2"], row["attention"], row["status"]) == (4, 0.5, "t5", "failed")
    assert (row["failure_step"], row["failure_reason"]) == (7, "energy is nan")
    assert row["commit"] == "0" * 40


def test_a_record_from_before_flop_accounting_loads_without_it(tmp_path):
    # as the first version-1 writers wrote it: no kind, no sampling bias bound, no FLOPs, no
    # devices or processes
    raw = _record("t5").to_json()
    del raw["kind"], raw["failure"]
    raw["status"] = "completed"
    raw["metrics"] = {"energy_per_site": -0.5, "energy_error": 1e-3, "seconds_per_step": 0.1}
    path = tmp_path / RUNS_DIRECTORY / "old.json"
    path.parent.mkdir()
    path.write_text(json.dumps(raw))
    record = read_record(path)
    assert isinstance(record, RunRecord) and record.kind == "run" and record.completed
    assert record.metrics == RunMetrics(energy_per_site=-0.5, energy_error=1e-3,
                                        seconds_per_step=0.1, devices=1, processes=1)
    assert record.metrics.sampling_bias_bound is None
    assert all(getattr(record.metrics, key) is None for key in FLOP_METRICS)
    table = load_runs(tmp_path)
    assert not table.problems
    row = table.frame.iloc[0]
    assert row["energy"] == -0.5 and row["seconds_per_step"] == 0.1
    for column in ("sampling_bias_bound", *FLOP_METRICS):
        assert row[column] is None or pd.isna(row[column])


def test_an_empty_or_missing_directory_gives_an_empty_table(tmp_path):
    table = load_runs(tmp_path / "nothing")
    assert table.frame.empty and not table.problems
    assert {"L", "attention", "energy", "relative_error", "device"} <= set(table.frame.columns)
    assert not load_records(tmp_path).records


def _write_many(args) -> list[str]:
    directory, attention, count = args
    return [str(write_record(directory, _record(attention))) for _ in range(count)]


def test_concurrent_writers_never_clobber_each_other(tmp_path):
    # Four processes write records of the same cell with the same start time at once.
    jobs = [(tmp_path, "factored", 25)] * 4
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        written = [path for paths in pool.map(_write_many, jobs) for path in paths]
    assert len(set(written)) == 100
    loaded = load_records(tmp_path)
    assert not loaded.problems and len(loaded.records) == 100


# --- the typed family -------------------------------------------------------------------------


def _result(steps: int = 300) -> SimpleNamespace:
    """What :func:`suite.bench.train.train` returns, as far as a record reads it."""
    evaluation = SimpleNamespace(energy=-0.5, error=2e-3, variance=0.4, tau_corr=1.5,
                                 acceptance=0.25, n_samples=1024, sampling_bias_bound=1e-6,
                                 r_hat=1.002)
    rng = np.random.default_rng(0)
    trace = {"energy": -0.5 + rng.random(steps) * 1e-2, "error": np.full(steps, 1e-3),
             "acceptance": np.full(steps, 0.3), "seconds": np.full(steps, 0.1)}
    trace["energy"][0] = np.nan  # non-finite values are recorded as null
    return SimpleNamespace(evaluation=evaluation, n_parameters=1234, seconds_per_step=0.1,
                           compile_seconds=2.5, total_seconds=40.0, trace=trace, n_timed_steps=300,
                           n_devices=2)


def _completed(flops: dict | None = None) -> RunRecord:
    reference = Reference("exact-L4", 4, 0.5, -0.52, 0.0, "exact", "test")
    attention = {"configurations": np.ones((2, 16)), "initial": np.full((2, 3, 3), 1 / 3),
                 "final": np.eye(3)[None].repeat(2, 0)}
    return completed_record(cell=_cell("t5"), matrix="test", result=_result(),
                            reference=reference, environment={"device": "cpu", "process_count": 1},
                            git={"commit": "a" * 40, "dirty": True},
                            memory={"device_peak_bytes": None, "host_peak_rss_bytes": 2048},
                            started_at="2026-11-22T10:00:00+00:00",
                            finished_at="2026-11-22T10:01:00+00:00", attention=attention,
                            flops=flops)


def test_a_completed_record_round_trips_through_its_file(tmp_path):
    record = _completed({"step_flops": 1.5e9, "peak_flops_source": "measured"})
    path = write_record(tmp_path, record)
    assert read_record(path) == record
    on_disk = json.loads(path.read_text())
    assert on_disk == record.to_json() and RunRecord.from_json(on_disk) == record
    assert list(on_disk)[:3] == ["schema_version", "kind", "status"]
    assert (on_disk["schema_version"], on_disk["kind"]) == (1, "run")
    metrics = record.metrics
    assert metrics.reference == RecordedReference("exact-L4", -0.52, 0.0, "exact")
    assert metrics.relative_error == pytest.approx(0.02 / 0.52)
    assert metrics.v_score == pytest.approx(0.4 / (16 * 0.25))
    assert (metrics.devices, metrics.processes, metrics.steps) == (2, 1, 300)
    assert (metrics.step_flops, metrics.peak_flops_source, metrics.fraction_of_peak) == (
        1.5e9, "measured", None)
    assert (metrics.host_peak_rss_bytes, metrics.extra) == (2048, {})
    assert len(record.trace["step"]) == 250 and record.trace["step"][-1] == 299
    assert record.trace["energy"][0] is None and record.trace["step"][0] == 0
    assert record.attention["configurations"] == [[1] * 16] * 2
    assert record.failure is None and "failure" not in on_disk
    assert record.seeds == {"run": 0} and record.matrix == "test"


def test_a_typed_record_reads_like_the_dictionary_it_replaces():
    record = _completed()
    assert record["status"] == "completed" and record["cell_id"] == _cell("t5").id
    assert record["metrics"]["energy_per_site"] == -0.5
    assert record["config"]["model"]["attention"] == "t5"
    assert record.get("failure") is None and record.get("attention")["final"][0][0] == [1, 0, 0]
    assert "metrics" in record and "failure" not in record
    assert dict(record) == record.to_json()
    assert json.loads(json.dumps(dict(record))) == record.to_json()
    failed = _record()
    assert failed["failure"] == {"step": 7, "reason": "energy is nan"}
    assert failed.failure == Failure(7, "energy is nan") and failed.get("metrics") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        failed.status = "completed"


def test_a_plain_dictionary_is_still_written_as_a_typed_record(tmp_path):
    raw = _record().to_json()
    del raw["kind"]  # as the callers of the dictionary era built it
    path = write_record(tmp_path, raw)
    assert read_record(path) == _record()
    assert json.loads(path.read_text())["kind"] == "run"


def _version_zero(tmp_path: Path) -> Path:
    # A synthetic older layout: the energy under another name, the failure flat at top level.
    raw = _record().to_json()
    del raw["kind"], raw["failure"]
    raw.update(schema_version=0, failure_step=7, failure_reason="energy is nan")
    path = tmp_path / "v0.json"
    path.write_text(json.dumps(raw))
    return path


def test_an_old_schema_version_is_migrated_on_read(tmp_path, monkeypatch):
    path = _version_zero(tmp_path)
    with pytest.raises(RecordError, match="schema_version 0, older than any") as error:
        read_record(path)
    assert error.value.path == path

    def zero_to_one(raw: dict) -> dict:
        failure = {"step": raw.pop("failure_step"), "reason": raw.pop("failure_reason")}
        return {**raw, "schema_version": 1, "failure": failure}

    monkeypatch.setitem(MIGRATIONS, ("run", 0), zero_to_one)
    assert read_record(path) == _record()
    monkeypatch.setitem(MIGRATIONS, ("run", 0), lambda raw: raw)  # goes nowhere
    with pytest.raises(RecordError, match="did not advance"):
        read_record(path)


@pytest.mark.parametrize(("content", "reason"), [
    ({"schema_version": 2, "kind": "run"}, "schema_version 2; this nqsbench"),
    ({"schema_version": 2, "kind": "peer-comparison"}, "schema_version 2; this nqsbench"),
    ({"schema_version": "1"}, "schema_version '1'"),
    ({"schema_version": 1, "kind": "benchmark"}, "has kind 'benchmark'"),
    ({"schema_version": 1, "status": "done", "cell_id": "x", "config": {},
      "suite_version": "0", "failure": {}}, "missing a valid status"),
    ({"schema_version": 1, "kind": "peer-comparison", "cell_id": "x"}, "missing config, steps"),
    ({"schema_version": 1, "status": "failed", "cell_id": "x", "config": {},
      "suite_version": "0", "failure": [7]}, "does not match the run record schema"),
])
def test_future_unknown_and_malformed_records_name_the_file(tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(RecordError, match=reason.replace("(", r"\(")) as error:
        read_record(path)
    assert error.value.path == path and str(path) in str(error.value)


def test_a_missing_file_is_a_record_error(tmp_path):
    with pytest.raises(RecordError, match="cannot be read"):
        read_record(tmp_path / "absent.json")


def _comparison() -> RaceRecord:
    config = RunConfig(SystemConfig(L=4, J2=0.5), ModelConfig(attention="t5")).validate()
    ours = EngineTiming("nqsbench", "0.1.0", 0.2, [0.2, 0.21], [3.0], -0.49, 0.01, -0.495, 0.05)
    peer = EngineTiming("netket", "3.23.0", 0.4, [0.4, 0.41], [5.0], -0.48, 0.01, -0.494, 0.1)
    return race_result(cell_id="c1", label="t5 tiny", config=config.to_dict(), steps=2,
                       warmup=1, n_parameters=321, ours=ours, peer=peer,
                       peer_settings={"use_ntk": True})


def test_a_race_record_round_trips_and_loads_into_the_race_table(tmp_path):
    record = comparison_record(_comparison(), {"device": "test CPU"}, {"commit": "abc"},
                               "2026-11-22T00:00:00+0000")
    assert isinstance(record, RaceRecord) and record.kind == "peer-comparison"
    assert record.ratio == 0.5 and record.peer.engine == "netket"
    path = write_comparison(tmp_path, record)
    assert path.parent == tmp_path / COMPARISONS_DIRECTORY and path.name.startswith("c1-netket-")
    assert read_record(path) == record
    on_disk = json.loads(path.read_text())
    assert list(on_disk) == ["schema_version", "kind", "cell_id", "label", "config", "steps",
                             "warmup", "n_parameters", "ours", "peer", "peer_settings", "ratio",
                             "environment", "git", "finished_at"]
    assert on_disk["ours"] == dataclasses.asdict(_comparison().ours)
    (tmp_path / COMPARISONS_DIRECTORY / "broken.json").write_text("{")
    write_record(tmp_path, _record())  # a run record: not in the race directory, not a race
    frame, problems = load_comparisons(tmp_path)
    assert len(frame) == 1 and len(problems) == 1 and "broken.json" in problems[0]
    row = frame.iloc[0]
    assert (row["ratio"], row["L"], row["attention"], row["peer_sampling_seconds"]) == (
        0.5, 4, "t5", 0.1)
    assert comparison_row(path, record) == comparison_row(path, record.to_json())
    assert "| t5 tiny L=4 | 321 | 2 |" in comparison_table(frame)


def test_a_race_in_the_runs_directory_is_reported_not_loaded(tmp_path):
    record = comparison_record(_comparison(), {}, {}, "2026-11-22T00:00:00+0000")
    (tmp_path / RUNS_DIRECTORY).mkdir()
    stray = tmp_path / RUNS_DIRECTORY / "race.json"
    stray.write_text(json.dumps(record.to_json()))
    loaded = load_records(tmp_path)
    assert not loaded.records and [p.path for p in loaded.problems] == [stray]
    assert "peer-comparison record, not a run" in loaded.problems[0].reason


def test_every_committed_record_loads_through_the_typed_reader():
    results = REPO / "results"
    runs = sorted((results / RUNS_DIRECTORY).glob("*.json"))
    compared = sorted((results / COMPARISONS_DIRECTORY).glob("*.json"))
    target_races = [path for path in compared
                    if json.loads(path.read_text()).get("kind") == TARGET_RACE_KIND]
    races = [path for path in compared if path not in target_races]  # step-time races
    assert runs and races and target_races
    loaded_targets, target_problems = load_target_races(results)
    assert not target_problems and len(loaded_targets) == len(target_races)
    loaded = load_records(results)
    assert not loaded.problems and [path for path, _ in loaded.records] == runs
    table = load_runs(results)
    assert not table.problems and len(table.frame) == len(runs)
    frame, problems = load_comparisons(results)
    assert not problems and len(frame) == len(races)
    for path in runs + races + target_races:
        record = read_record(path)
        assert type(record) is (RunRecord if path in runs else RaceRecord if path in races
                                else TargetRaceRecord)
        raw = json.loads(path.read_text())
        written = record.to_json()
        # nothing lost: every key on disk comes back with its value (old files gain only the
        # kind and fields later writers added, as None)
        _assert_contains(written, raw)
        assert type(record).from_json(written) == record


def _assert_contains(written: dict, raw: dict) -> None:
    for key, value in raw.items():
        if isinstance(value, dict) and key not in ("config", "environment", "git"):
            _assert_contains(written[key], value)
        else:
            assert written[key] == value, key
    extra = {key: value for key, value in written.items() if key not in raw}
    assert all(value is None or key in ("kind", "devices", "processes")
               for key, value in extra.items()), extra


def test_the_report_package_imports_no_jax():
    code = "import suite.report, suite.report.rows, sys; assert 'jax' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
