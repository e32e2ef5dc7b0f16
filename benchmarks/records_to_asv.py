"""File the cost metrics of run records as an asv results file (issue 17, item 4).

``benchmarks/gpu_check.sh`` runs the 10x10 and 6x6 ``paper`` cells for 20 steps and writes
standard run records (``results/runs/``, matrix ``gpu-check``). This files their costs where and
as ``NQSBENCH_ASV_MATRIX=paper asv run -E installed:same --machine NAME --set-commit-hash COMMIT``
would, without running anything: ``<asv results>/<machine>/<commit[:8]>-installed-pyX.Y.json``
(asv's ``Results`` API, merged into an existing file as asv merges) and ``<machine>/machine.json``
(the whole :func:`suite.bench.machine.asv_machine_entry`). Only the cost benchmarks are filed:
``bench_cells.Cell.track_seconds_per_step``, ``track_compile_seconds``, ``track_parameters`` and
``bench_cells.DeviceMemory.track_peak_bytes``; not ``Accuracy`` or ``TimeToTarget``: 20 steps of
a 5,000-step cell say nothing of its accuracy.

A record is filed when its matrix is ``--matrix``, its git commit ``--commit``, it completed, it
was measured on this machine (its provenance gives this process's ``machine_name``; ``--machine``
only renames) and its settings equal a ``--profile`` cell's in all but ``steps``; of several
records of one cell, the latest. The parameters are the whole profile matrix
(``cells.asv_parameters``), the other combinations ``None`` (asv's n/a). ``benchmarks.json`` is
left alone: it describes the last ``asv run``'s profile (``load_asv_results`` names another
profile's parameters ``param1`` ... ``paramN``).

``--dry-run`` serves the GPU check's CPU rehearsal, whose tiny cells are no paper cells: a record
matches the cell with its axis values (attention, L, layers, J2) whatever its other settings, the
file goes to a new temporary directory unless ``--asv-results`` names one, and no match is no
error. What it writes measures no paper cell: never commit it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import itertools
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks import cells
from suite.bench.matrix import load_matrix

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS: tuple[tuple[str, str, str], ...] = (
    ("Cell", "track_seconds_per_step", "seconds_per_step"),
    ("Cell", "track_compile_seconds", "compile_seconds"),
    ("Cell", "track_parameters", "n_parameters"),
    ("DeviceMemory", "track_peak_bytes", "device_peak_bytes"))
"""(class in ``benchmarks/bench_cells.py``, method, the record's metric) of what is filed"""
MODULE = "bench_cells"  # asv names a benchmark <module>.<class>.<method>
IGNORED = ("steps",)  # the settings a record may differ in from its profile cell


class FilingError(Exception):
    """Nothing to file, or no way to file it: a one-line message, exit status 2."""


@dataclass
class Filing:
    """What :func:`file_records` filed and what it did not."""

    machine: str
    commit: str
    filed: dict[str, tuple[Path, Any]] = field(default_factory=dict)  # cell id -> path, record
    not_filed: list[tuple[Path, str]] = field(default_factory=list)
    other_commits: int = 0
    results_file: Path | None = None


def resolve_commit(revision: str, repository: Path = ROOT) -> tuple[str, int]:
    """The full hash of ``revision`` and its date as asv takes it (author time, ms)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=repository, capture_output=True, text=True,
                                  check=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            raise FilingError(f"records_to_asv: {revision!r} is no commit of the git repository "
                              f"at {repository}") from None

    commit = git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    return commit, int(git("log", "-1", "--format=%at", commit)) * 1000


def _comparable(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings without :data:`IGNORED`; a sampler dtype equal to the model's is unset (the same
    run, as :func:`suite.bench.matrix.config_hash` treats it)."""
    out = {key: value for key, value in settings.items() if key not in IGNORED}
    if out.get("sampler_dtype") == out.get("dtype"):
        out["sampler_dtype"] = None
    return out


def _settings_and_machine(record) -> tuple[dict[str, Any] | None, str | None]:
    """The record's comparable settings and the machine it ran on (``None``: unreadable here)."""
    from suite.bench.config import RunConfig
    from suite.bench.machine import machine_name

    try:
        settings = _comparable(RunConfig.from_dict(record.config).settings())
    except (KeyError, TypeError, ValueError):
        settings = None
    return settings, machine_name(record.environment) if "host" in record.environment else None


def _why_no_cell(settings: dict[str, Any], matrix, axes_only: bool) -> str:
    axes = {key: settings[key] for key in matrix.axes}
    label = " ".join(f"{key}={value}" for key, value in axes.items())
    same_axes = matrix.select(axes)
    if axes_only or not same_axes:
        return f"no {matrix.name} cell has {label}"
    cell = _comparable(same_axes[0].settings)
    differ = ", ".join(f"{key}={settings[key]!r} ({matrix.name}: {cell[key]!r})"
                       for key in cell if settings.get(key) != cell[key])
    return f"differs from the {matrix.name} cell {label} in {differ}"


def match_records(records, matrix, matrix_name: str, commit: str, machine: str,
                  axes_only: bool = False) -> Filing:
    """Which ``(path, record)`` each cell of ``matrix`` gets (the latest that matches), and why
    the other records of ``matrix_name`` at ``commit`` get none."""
    filing = Filing(machine=machine, commit=commit)
    ordered = sorted(records, key=lambda item: (item[1].finished_at or item[1].started_at or "",
                                                item[0].name))
    for path, record in ordered:
        if record.matrix != matrix_name:
            continue
        if (record.git or {}).get("commit") != commit:
            filing.other_commits += 1
            continue
        settings, measured_on = _settings_and_machine(record)
        if not record.completed:
            filing.not_filed.append((path, "the run failed"))
        elif measured_on != machine:
            filing.not_filed.append((path, f"measured on another machine ({measured_on})"))
        elif settings is None:
            filing.not_filed.append((path, "its configuration is unreadable here"))
        else:
            keys = matrix.axes if axes_only else tuple(settings)
            found = [cell for cell in matrix.cells
                     if all(_comparable(cell.settings)[k] == settings[k] for k in keys)]
            if not found:
                filing.not_filed.append((path, _why_no_cell(settings, matrix, axes_only)))
                continue
            earlier = filing.filed.get(found[0].id)
            if earlier is not None:
                filing.not_filed.append((earlier[0], f"superseded by the later {path.name}"))
            filing.filed[found[0].id] = (path, record)
    return filing


def benchmark_versions(profile: str) -> list[tuple[str, str, str]]:
    """(``bench_cells.<class>.<method>``, its ``version`` attribute as asv records it, the
    record's metric) of every benchmark filed."""
    with mock.patch.dict(os.environ, {cells.PROFILE_VARIABLE: profile}):  # restored after
        os.environ.pop(cells.ONLY_VARIABLE, None)
        module = importlib.import_module(f"benchmarks.{MODULE}")
    return [(f"{MODULE}.{kind}.{method}", str(getattr(getattr(module, kind), method).version),
             metric) for kind, method, metric in BENCHMARKS]


def write_asv_results(asv_dir: Path, entry: dict[str, str], commit: str, date_ms: int,
                      profile: str, matrix, filing: Filing) -> Path:
    """asv's ``machine.json`` and results file for ``filing``, as ``asv run -E installed:same``
    writes them; returns the results file."""
    from asv import environment
    from asv.machine import Machine
    from asv.results import Results
    from asv.runner import BenchmarkResult

    from benchmarks.asv_environment import TOOL_NAME

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    machine = Machine()
    machine.__dict__.update(entry)  # what `asv run --machine NAME` loads and saves
    machine.save(str(asv_dir))
    results = Results({**entry, "python": python}, {}, commit, date_ms, python,
                      environment.get_env_name(TOOL_NAME, python, {}, {}), {})
    results.load_data(str(asv_dir))
    params, _ = cells.asv_parameters(matrix)
    cell_ids = [getattr(cells.cell_for(matrix, combo), "id", None)
                for combo in itertools.product(*params)]
    finished = [record.finished_at for _, record in filing.filed.values() if record.finished_at]
    started = _dt.datetime.fromisoformat(max(finished)) if finished else None
    for name, version, metric in benchmark_versions(profile):
        values = [getattr(filing.filed[cell_id][1].metrics, metric)
                  if cell_id in filing.filed else None for cell_id in cell_ids]
        nones = [None] * len(values)
        results.add_result({"name": name, "version": version,
                            "params": [[repr(value) for value in axis] for axis in params]},
                           BenchmarkResult(values, nones, nones, 0, "", None), started_at=started)
    results.save(str(asv_dir))
    return asv_dir / entry["machine"] / f"{commit[:8]}-{results.env_name}.json"


def file_records(results: Path, matrix_name: str, profile: str, commit: str, date_ms: int,
                 asv_dir: Path | None, env: dict[str, Any], machine: str | None = None,
                 axes_only: bool = False) -> Filing:
    """Match the records under ``results`` to the cells of ``profile`` and write what matches
    into ``asv_dir`` (``None``: a new temporary directory; nothing when nothing matches). ``env``
    (:func:`suite.bench.provenance.environment`) is this machine: its records are filed, under
    ``machine`` (by default its :func:`~suite.bench.machine.machine_name`)."""
    from suite.bench.machine import asv_machine_entry, machine_name
    from suite.report.records import load_records

    if profile not in cells.PROFILES:
        raise FilingError(f"records_to_asv: {profile!r} is no benchmark profile; choose one "
                          f"of: {', '.join(cells.PROFILES)}")
    matrix = load_matrix(profile)
    filing = match_records(load_records(results).records, matrix, matrix_name, commit,
                           machine_name(env), axes_only)
    entry = {**asv_machine_entry(env), "machine": machine or machine_name(env)}
    filing.machine = entry["machine"]
    if filing.filed:
        asv_dir = asv_dir or Path(tempfile.mkdtemp(prefix="records-to-asv-"))
        filing.results_file = write_asv_results(asv_dir, entry, commit, date_ms, profile, matrix,
                                                filing)
    return filing


def _number(value, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value}{unit}" if isinstance(value, int) else f"{value:.4g}{unit}"


def report(filing: Filing, matrix, matrix_name: str) -> str:
    """What was filed (cells and values) and what was not, as printed."""
    lines = []
    if filing.results_file is not None:
        lines.append(f"filed {len(filing.filed)} of the {len(matrix.cells)} {matrix.name} cells "
                     f"in {filing.results_file} (machine {filing.machine}, commit "
                     f"{filing.commit[:12]}; the other cells are n/a):")
    for cell in (cell for cell in matrix.cells if cell.id in filing.filed):
        path, record = filing.filed[cell.id]
        metrics = record.metrics
        peak = None if metrics.device_peak_bytes is None else metrics.device_peak_bytes / 2**30
        lines.append(f"  {cell.label:40s} s/step {_number(metrics.seconds_per_step)}"
                     f"  compile {_number(metrics.compile_seconds, ' s')}"
                     f"  parameters {_number(metrics.n_parameters)}"
                     f"  peak {_number(peak, ' GiB')}  ({path.name}, {metrics.steps} steps"
                     f"{', uncommitted changes' if (record.git or {}).get('dirty') else ''})")
    if filing.not_filed:
        lines.append(f"not filed ({matrix_name} records at this commit):")
        lines += [f"  {path.name}: {reason}" for path, reason in filing.not_filed]
    if filing.other_commits:
        lines.append(f"{filing.other_commits} {matrix_name} record(s) of other commits ignored")
    return "\n".join(lines)


def main(argv: list[str] | None = None, env: dict[str, Any] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.records_to_asv",
                                     description=__doc__.splitlines()[0])
    for option, default, text in (("--results", "results", "results directory (its runs/)"),
                                  ("--matrix", "gpu-check", "the records' matrix name"),
                                  ("--profile", "paper", "the asv profile to file under"),
                                  ("--commit", "HEAD", "the records' git commit"),
                                  ("--machine", None, "asv machine name (default: this one's)")):
        parser.add_argument(option, default=default, help=text)
    parser.add_argument("--asv-results", help="asv results directory (default: RESULTS/asv; "
                        "with --dry-run a new temporary directory)")
    parser.add_argument("--dry-run", action="store_true",
                        help="match on axis values only, and no match is no error (the CPU "
                        "rehearsal of the GPU check; never commit what it writes)")
    args = parser.parse_args(argv)
    results = Path(args.results)
    asv_dir = Path(args.asv_results) if args.asv_results else (
        None if args.dry_run else results / "asv")
    if env is None:
        from suite.bench.provenance import environment

        env = environment()
    try:
        commit, date_ms = resolve_commit(args.commit)
        filing = file_records(results, args.matrix, args.profile, commit, date_ms, asv_dir, env,
                              args.machine, axes_only=args.dry_run)
    except FilingError as error:
        print(error, file=sys.stderr)
        return 2
    text = report(filing, load_matrix(args.profile), args.matrix)
    if text:
        print(text)
    if not filing.filed:
        message = (f"records_to_asv: no {args.matrix} record at commit {commit[:12]} in "
                   f"{results / 'runs'} matches a {args.profile} cell on this machine; run "
                   "benchmarks/gpu_check.sh first")
        if args.dry_run:
            print(message + " (dry run: nothing filed, no error)")
            return 0
        print(message, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
