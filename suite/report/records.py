"""Typed, versioned result records: one JSON file per run or race, created atomically, never
overwritten.

One family (:class:`Record`): :class:`RunRecord` (``kind`` ``"run"``, in ``<results>/runs/``) and
:class:`~suite.report.races.RaceRecord` (``"peer-comparison"``, in ``<results>/compare/``).
:func:`read_record` reads either: it infers the kind of old run records (they have none), migrates
old ``schema_version`` s (:data:`MIGRATIONS`), fills fields later writers added and returns the
typed record, which is also a read-only :class:`~collections.abc.Mapping` of its JSON
(``record["status"]``, ``record.get("metrics")``) for callers written against plain dictionaries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from suite.report.storage import MIGRATIONS as MIGRATIONS  # re-exported
from suite.report.storage import (
    JsonObject,
    RecordError,
    create_json_record,
    migrate,
    read_json_object,
    record_files,
)
from suite.report.storage import migration as migration  # re-exported
from suite.version import __version__

RUN_KIND = "run"
RACE_KIND = "peer-comparison"
TARGET_RACE_KIND = "time-to-target-race"
SCHEMA_VERSION = 1
"""the version of run records this code writes"""
RUNS_DIRECTORY = "runs"

FLOP_METRICS: tuple[str, ...] = ("forward_flops_per_sample", "step_flops",
                                 "achieved_flops_per_second", "peak_flops_per_second",
                                 "peak_flops_source", "fraction_of_peak")
"""the FLOP accounting of a run (``suite.perf.flops.flop_metrics``); ``None`` when not measured"""

STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"


def v_score(variance: float, energy_per_site: float, n_sites: int) -> float:
    """V-score N Var(H) / E^2 = Var(H) / (N e^2) (Wu et al., Science 386, 296 (2024))."""
    return variance / (n_sites * energy_per_site**2)


@dataclass(frozen=True)
class Failure(JsonObject):
    """Where a run stopped: the step (``None``: before the first) and why."""

    step: int | None
    reason: str


@dataclass(frozen=True)
class RecordedReference(JsonObject):
    """The reference a run's relative error is measured against."""

    id: str
    energy_per_site: float
    uncertainty: float | None = None
    kind: str | None = None


@dataclass(frozen=True)
class RunMetrics(JsonObject):
    """A finished run's numbers (:func:`suite.bench.recording.completed_record`); ``None`` where a
    record predates one."""

    _NESTED: ClassVar[dict[str, type]] = {"reference": RecordedReference}
    _OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset({"time_to_target", "exact", "projected",
                                                         "host_load_max", "wall_seconds",
                                                         "memory_plan"})

    energy_per_site: float | None = None
    energy_error: float | None = None
    sampling_bias_bound: float | None = None
    r_hat: float | None = None
    """split-R-hat of the evaluation's local energies over the chains (``None``: undefined, or a
    record from before it was measured)"""
    energy_variance: float | None = None
    tau_corr: float | None = None
    acceptance: float | None = None
    evaluation_samples: int | None = None
    evaluation: str | None = None
    v_score: float | None = None
    relative_error: float | None = None
    reference: RecordedReference | None = None
    n_parameters: int | None = None
    steps: int | None = None
    seconds_per_step: float | None = None
    seconds_per_step_statistic: str | None = None
    compile_seconds: float | None = None
    total_seconds: float | None = None
    wall_seconds: float | None = None
    """from the cell's start to its record, everything included (``total_seconds`` is the
    training call: compilation, steps, evaluation); ``None``: a record from before"""
    timed_steps_this_process: int | None = None
    host_load_max: float | None = None
    """the highest 1-minute load average of the host during the timed steps: above the core
    count (``environment.cpu_count``), other work shared the CPU and ``seconds_per_step`` is
    inflated (``None``: not measured)"""
    devices: int | None = None
    processes: int | None = None
    device_peak_bytes: int | None = None
    host_peak_rss_bytes: int | None = None
    forward_flops_per_sample: float | None = None
    step_flops: float | None = None
    achieved_flops_per_second: float | None = None
    peak_flops_per_second: float | None = None
    peak_flops_source: str | None = None
    fraction_of_peak: float | None = None
    time_to_target: dict[str, Any] | None = None
    """``{"1e-01": {"step", "seconds"}, ..., "reference_id", "window_steps", "statistic"}``
    (:mod:`suite.report.targets`); ``None``: no reference, or a record from before"""
    exact: dict[str, Any] | None = None
    """``exact_check``: the trained state's ``energy_per_site`` and ``energy_variance`` by
    enumeration, and ``error_bars_apart`` of the Monte Carlo estimate"""
    projected: dict[str, Any] | None = None
    """``symmetry_projection``: the projected state's evaluation (the keys of the raw one),
    ``gain_per_site`` (raw minus projected energy) and, with ``exact_check``, its ``exact``"""
    memory_plan: dict[str, Any] | None = None
    """``sr_solver = "auto"`` (or a memory budget): the solver and Jacobian block the run chose,
    its predicted step bytes and the budget (:mod:`suite.bench.memory_plan`); ``None``: nothing
    was chosen"""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Record(JsonObject, Mapping):
    """What every record has: its version and kind, the cell it ran, and where and when.

    Run records also carry ``suite_version``, ``started_at`` and ``config_hash``; race records
    leave them ``None`` (and out of their JSON).
    """

    KIND: ClassVar[str] = ""
    _ORDER: ClassVar[tuple[str, ...]] = ()
    _OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset({"suite_version", "started_at",
                                                         "config_hash", "matrix"})

    schema_version: int
    kind: str = ""
    cell_id: str
    label: str | None = None
    config: dict[str, Any]
    environment: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] = field(default_factory=dict)
    finished_at: str | None = None
    suite_version: str | None = None
    started_at: str | None = None
    config_hash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", self.KIND)
        if self.kind != self.KIND:
            raise ValueError(f"a {type(self).__name__} has kind {self.KIND!r}, not {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        """The record as written to disk (keys in the order every writer used)."""
        out = super().to_json()
        order = {key: index for index, key in enumerate(self._ORDER)}
        return dict(sorted(out.items(), key=lambda item: order.get(item[0], len(order))))

    # The read-only dictionary view of to_json(), for callers written against plain records.
    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())


@dataclass(frozen=True, kw_only=True)
class RunRecord(Record):
    """One run: ``completed`` (``metrics``, ``trace``, maybe ``attention``) or ``failed``."""

    KIND: ClassVar[str] = RUN_KIND
    _NESTED: ClassVar[dict[str, type]] = {"metrics": RunMetrics, "failure": Failure}
    _ORDER: ClassVar[tuple[str, ...]] = (
        "schema_version", "kind", "status", "suite_version", "git", "matrix", "cell_id", "label",
        "config_hash", "config", "plugin", "seeds", "environment", "started_at", "finished_at",
        "metrics", "trace", "attention", "failure")
    _OMIT_IF_NONE: ClassVar[frozenset[str]] = Record._OMIT_IF_NONE | {
        "metrics", "trace", "attention", "failure", "seeds", "plugin"}

    status: str
    matrix: str | None = None
    seeds: dict[str, Any] | None = None
    plugin: dict[str, Any] | None = None
    """a plugin model's import path, options, name, source file and that file's git commit
    (``suite.bench.plugins.plugin_provenance``); ``None`` for the built-in models"""
    metrics: RunMetrics | None = None
    trace: dict[str, list] | None = None
    attention: dict[str, list] | None = None
    failure: Failure | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.status not in (STATUS_COMPLETED, STATUS_FAILED):
            raise ValueError(f"status {self.status!r} is neither completed nor failed")

    @property
    def completed(self) -> bool:
        return self.status == STATUS_COMPLETED


RECORD_TYPES: dict[str, type[Record]] = {RUN_KIND: RunRecord}
"""every kind of record: its class (``suite.report.races`` adds the race record)"""
CURRENT_VERSIONS: dict[str, int] = {RUN_KIND: SCHEMA_VERSION}
"""the schema version each kind is written with"""
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    RUN_KIND: ("status", "cell_id", "config", "suite_version")}
"""the keys every version of a kind has"""


def register_kind(record_type: type[Record], version: int, required: tuple[str, ...]) -> None:
    """Make :func:`read_record` read records of ``record_type.KIND``, written at ``version``."""
    RECORD_TYPES[record_type.KIND] = record_type
    CURRENT_VERSIONS[record_type.KIND] = version
    REQUIRED_FIELDS[record_type.KIND] = required

def _fill_run_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """Fields version-1 writers added later: ``devices`` and ``processes`` are 1 before
    sharding; ``sampling_bias_bound`` and the FLOP metrics stay ``None`` (the defaults)."""
    metrics = raw.get("metrics")
    if isinstance(metrics, dict):
        metrics = {"devices": 1, "processes": 1, **metrics}
        raw = {**raw, "metrics": metrics}
    return raw


def record_from_json(raw: Any, path: Path | str = "<record>") -> Record:
    """The typed record of a decoded JSON document (migrated, completed, checked).

    Raises:
        RecordError: not an object, an unknown kind or version, or fields missing or wrong.
    """
    import suite.report.races  # noqa: F401  (registers the race record)
    import suite.report.target_races  # noqa: F401  (and the time-to-target race record)

    path = Path(path)
    if not isinstance(raw, dict):
        raise RecordError(path, "is not a JSON object")
    kind = raw.get("kind", RUN_KIND)  # run records before the kind field have none
    if kind not in RECORD_TYPES:
        raise RecordError(path, f"has kind {kind!r}; this nqsbench {__version__} reads "
                                f"{sorted(RECORD_TYPES)}")
    raw = migrate(raw, kind, CURRENT_VERSIONS[kind], path)
    required = list(REQUIRED_FIELDS[kind])
    if kind == RUN_KIND:
        raw = _fill_run_fields(raw)
        required += ["metrics"] if raw.get("status") == STATUS_COMPLETED else ["failure"]
    missing = [key for key in required if key not in raw]
    if missing or (kind == RUN_KIND and raw["status"] not in (STATUS_COMPLETED, STATUS_FAILED)):
        raise RecordError(path, f"is missing {', '.join(missing) or 'a valid status'}")
    try:
        return RECORD_TYPES[kind].from_json(raw)
    except (TypeError, ValueError, AttributeError) as error:
        raise RecordError(path, f"does not match the {kind} record schema ({error})") from None


def read_record(path: Path | str) -> Record:
    """One record of either kind, typed (:class:`RunRecord` or :class:`RaceRecord`).

    Raises:
        RecordError: unreadable, truncated, not JSON, an unknown kind or schema version, or
            fields missing.
    """
    path = Path(path)
    try:
        raw = read_json_object(path)
    except OSError as error:
        raise RecordError(path, f"cannot be read ({error.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RecordError(path, f"is not valid JSON (truncated or corrupt: {error})") from None
    return record_from_json(raw, path)


def as_record(record: Record | Mapping[str, Any], kind: type[Record]) -> Record:
    """``record`` typed: a plain dictionary (the form before typed records) is parsed."""
    if isinstance(record, kind):
        return record
    typed = record_from_json(json.loads(json.dumps(dict(record))))
    if not isinstance(typed, kind):
        raise TypeError(f"expected a {kind.__name__}, got a {type(typed).__name__}")
    return typed


def write_record(results_dir: Path, record: RunRecord | Mapping[str, Any]) -> Path:
    """Create a new record file under ``results_dir/runs/`` and return its path.

    ``record`` is a :class:`RunRecord` (a plain dictionary is parsed into one first).
    """
    record = as_record(record, RunRecord)
    return create_json_record(Path(results_dir) / RUNS_DIRECTORY, record.cell_id,
                              record.started_at or record.finished_at or "", record.to_json())


def record_paths(results_dir: Path) -> list[Path]:
    """Every record file under ``results_dir/runs/`` (temporary files excluded), sorted."""
    return record_files(Path(results_dir) / RUNS_DIRECTORY)


@dataclass
class LoadedRecords:
    """The readable run records of a results directory, and the problems with the others."""

    records: list[tuple[Path, RunRecord]] = field(default_factory=list)
    problems: list[RecordError] = field(default_factory=list)


def typed_records(directory: Path, record_type: type[Record], *,
                  others_are_problems: bool) -> tuple[list, list[str]]:
    """Every record of ``record_type`` in ``directory``, oldest (by ``finished_at``) first, and
    one message per file that could not be read (and per record of another kind, with
    ``others_are_problems``; else those are skipped silently)."""
    records, problems = [], []
    for path in record_files(Path(directory)):
        try:
            record = read_record(path)
        except RecordError as error:
            problems.append(f"{path}: skipped ({error.reason})")
            continue
        if isinstance(record, record_type):
            records.append(record)
        elif others_are_problems:
            problems.append(f"{path}: skipped (a {record.kind} record, not {record_type.KIND})")
    return sorted(records, key=lambda r: r.finished_at or ""), problems


def load_records(results_dir: Path) -> LoadedRecords:
    """Read every run record; a file that cannot be read (or is not a run) is a problem."""
    loaded = LoadedRecords()
    for path in record_paths(results_dir):
        try:
            record = read_record(path)
            if not isinstance(record, RunRecord):
                raise RecordError(path, f"is a {record.kind} record, not a run")
            loaded.records.append((path, record))
        except RecordError as problem:
            loaded.problems.append(problem)
    return loaded
