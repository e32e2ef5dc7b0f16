"""Result records: atomic, append-only writes; a loader that survives corrupt files."""

from __future__ import annotations

import json
import multiprocessing

import pandas as pd
import pytest

from suite.bench.config import ModelConfig, RunConfig, SystemConfig
from suite.bench.matrix import Cell, settings_of
from suite.report.records import (
    failed_record,
    load_records,
    load_runs,
    read_record,
    record_paths,
    write_record,
)
from suite.report.storage import atomic_create, atomic_write


def _cell(attention: str = "factored") -> Cell:
    config = RunConfig(SystemConfig(L=4, J2=0.5), ModelConfig(attention=attention)).validate()
    return Cell(config, settings_of(config), ("attention",))


def _record(attention: str = "factored", started_at: str = "2026-11-22T10:00:00+00:00") -> dict:
    return failed_record(cell=_cell(attention), matrix="test", step=7, reason="energy is nan",
                         environment={"platform": "cpu", "device": "test"},
                         git={"commit": "0" * 40, "dirty": False}, started_at=started_at,
                         finished_at=started_at)


def test_records_are_written_whole_and_never_overwritten(tmp_path):
    record = _record()
    first, second = write_record(tmp_path, record), write_record(tmp_path, record)
    assert first != second
    assert read_record(first) == read_record(second) == json.loads(json.dumps(record))
    assert first.parent == tmp_path / "runs" and first.name.startswith(record["cell_id"])
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
    record = _record("t5")
    record["status"] = "completed"
    record["metrics"] = {"energy_per_site": -0.5, "energy_error": 1e-3, "seconds_per_step": 0.1}
    del record["failure"]
    write_record(tmp_path, record)
    table = load_runs(tmp_path)
    assert not table.problems
    row = table.frame.iloc[0]
    assert row["energy"] == -0.5 and row["seconds_per_step"] == 0.1
    for column in ("forward_flops_per_sample", "step_flops", "achieved_flops_per_second",
                   "peak_flops_per_second", "peak_flops_source", "fraction_of_peak"):
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
