"""Run the cells of a matrix: skip what is done, checkpoint, resume, record failures, go on.

A cell is *done* when ``results/runs/`` holds a completed record with the same configuration hash
and the same suite version (:data:`suite.version.__version__`), *failed* when it holds only failed
ones, and *pending* otherwise. A running cell writes a checkpoint to
``results/checkpoints/<cell id>.npz`` periodically and when it is interrupted (SIGINT or
SIGTERM); the next run of that cell resumes from it and removes it once the record is written.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jax

from suite.bench.build import resolve_reference
from suite.bench.checkpoint import Checkpoint, checkpoint_step, load_checkpoint, save_checkpoint
from suite.bench.claims import claim_cell
from suite.bench.config import DEFAULT_CHECKPOINT_SECONDS, RunConfig
from suite.bench.matrix import Cell, config_hash
from suite.bench.memory_plan import planned_vmc
from suite.bench.provenance import environment, git_state, peak_memory, utc_now
from suite.bench.recording import completed_record, failed_record
from suite.bench.signals import StopRequested, stop_on_signals
from suite.bench.train import StepCallback, train
from suite.engine.sharding import is_writer
from suite.engine.snapshots import attention_maps, snapshot_configurations
from suite.errors import ConfigError, DivergenceError
from suite.report.records import RecordError, RunRecord, load_records, write_record
from suite.version import __version__

CHECKPOINT_DIRECTORY = "checkpoints"

DONE, FAILED, PENDING = "done", "failed", "pending"


@dataclass(frozen=True)
class CellStatus:
    """Where a cell stands in a results directory."""

    cell: Cell
    status: str
    """``done``, ``failed`` or ``pending``"""
    records: tuple[Path, ...] = ()
    """its records of this configuration and suite version, oldest first"""
    checkpoint_step: int | None = None
    """the step of a checkpoint waiting to be resumed"""


@dataclass
class RunSummary:
    """What :func:`run_cells` did."""

    completed: list[Path] = field(default_factory=list)
    failed: list[Path] = field(default_factory=list)
    skipped: list[CellStatus] = field(default_factory=list)


def checkpoint_path(results_dir: Path, cell: Cell) -> Path:
    return Path(results_dir) / CHECKPOINT_DIRECTORY / f"{cell.id}.npz"


def checkpoint_fingerprint(cell: Cell) -> str:
    return f"{config_hash(cell.config)}:{__version__}"


def cell_statuses(cells: list[Cell], results_dir: Path,
                  problems: list[RecordError] | None = None) -> list[CellStatus]:
    """The status of each cell in ``results_dir``.

    Only a record that loads counts, its configuration included: a file that cannot be read
    (truncated, wrong types, a configuration this version cannot read) never marks a cell done;
    it is appended to ``problems`` (when given) for the caller to name.
    """
    loaded = load_records(results_dir)
    by_key: dict[tuple[str, str], list[tuple[Path, dict]]] = {}
    skipped = list(loaded.problems)
    for path, record in loaded.records:
        try:
            RunConfig.from_dict(record.config)
        except (KeyError, TypeError, AttributeError) as error:
            skipped.append(RecordError(path, "has a configuration this version cannot read "
                                             f"({error})"))
            continue
        key = (record.config_hash or "", record.suite_version)
        by_key.setdefault(key, []).append((path, record))
    statuses = []
    for cell in cells:
        matching = by_key.get((config_hash(cell.config), __version__), [])
        paths = tuple(path for path, _ in matching)
        if any(record.completed for _, record in matching):
            status = DONE
        elif matching:
            status = FAILED
        else:
            status = PENDING
        ckpt = checkpoint_path(results_dir, cell)
        step = checkpoint_step(ckpt) if ckpt.is_file() else None
        statuses.append(CellStatus(cell, status, paths, step))
    if problems is not None:
        problems.extend(skipped)
    return statuses


def needs_run(status: CellStatus, force: bool = False, retry_failed: bool = False) -> bool:
    """Whether ``run`` runs this cell: pending cells always, failed ones with ``retry_failed``,
    done ones (and failed ones) with ``force``."""
    if force or status.status == PENDING:
        return True
    return status.status == FAILED and retry_failed


def run_cell(cell: Cell, results_dir: Path, matrix: str, on_step: StepCallback | None = None,
             checkpoint_every_seconds: float | None = DEFAULT_CHECKPOINT_SECONDS,
             checkpoint_every_steps: int | None = None,
             devices: str | int | None = "all", flops: bool = False,
             should_stop: Callable[[], bool] | None = None,
             on_checkpoint_saved: Callable[[], None] | None = None,
             memory_budget: int | None = None) -> tuple[str, Path | None]:
    """Run one cell to the end (resuming from its checkpoint if there is one) and record it.

    The samples are split over ``devices`` (``"all"`` or a number; see ``suite.engine.sharding``). In a
    multi-host run every process runs the cell and only process 0 writes (the path is ``None``
    on the others). With ``flops``, the record carries the FLOP accounting of
    :func:`suite.perf.flops.flop_metrics` (a few extra compilations, remembered per cell shape
    for the rest of the process); without it, those metrics are ``None``. A cell with
    ``sr_solver = "auto"`` gets the solver and Jacobian block that fit ``memory_budget`` bytes
    (default: the device's memory; :func:`suite.bench.memory_plan.planned_vmc`).

    Returns:
        ``(status, record path)`` with status ``completed`` or ``failed``. A divergence or any
        other error inside the run gives a failed record; KeyboardInterrupt saves a checkpoint
        and propagates.
    """
    results_dir = Path(results_dir)
    started_at, wall_start = utc_now(), time.perf_counter()
    config = cell.config
    ckpt_path = checkpoint_path(results_dir, cell)
    fingerprint = checkpoint_fingerprint(cell)
    env, git = environment(), git_state()
    try:
        vmc, plan = planned_vmc(config, memory_budget, cell.id)
        fresh = vmc.init(jax.random.key(config.seed))
        resume = load_checkpoint(ckpt_path, fresh, fingerprint)
        if resume is None and ckpt_path.exists():
            print(f"nqsbench: warning: ignoring {ckpt_path}: it belongs to another configuration "
                  "or suite version, or cannot be read; starting the cell afresh", file=sys.stderr)
        if resume is not None:
            print(f"nqsbench: resumed {cell.id} from step {int(resume.state.step)} "
                  f"(checkpoint {ckpt_path})", file=sys.stderr)
        resume = resume or Checkpoint.fresh(fresh)
        configurations = snapshot_configurations(config.system.n_sites)
        initial_maps = attention_maps(vmc.model, fresh.params, configurations)
        result = train(config, on_step=on_step, resume=resume,
                       on_checkpoint=lambda c: _save(ckpt_path, c, fingerprint,
                                                     on_checkpoint_saved),
                       checkpoint_every_steps=checkpoint_every_steps,
                       checkpoint_every_seconds=checkpoint_every_seconds, devices=devices,
                       vmc=vmc, should_stop=should_stop)
        final_maps = attention_maps(vmc.model, result.state.params, configurations)
        if should_stop is not None and should_stop():  # keep the finished steps
            save_checkpoint(ckpt_path, Checkpoint(result.state, result.trace), fingerprint)
            raise StopRequested("a signal asked the run to stop")
    except ConfigError:  # a broken plugin or setting: the user's to fix, never a record
        raise
    except DivergenceError as error:
        record = failed_record(cell=cell, matrix=matrix, step=error.step, reason=error.reason,
                               environment=env, git=git, started_at=started_at,
                               finished_at=utc_now())
        ckpt_path.unlink(missing_ok=True)  # resuming would diverge again
        return "failed", _write(results_dir, record)
    except Exception as error:  # noqa: BLE001 (record it and let the matrix go on)
        traceback.print_exc(file=sys.stderr)
        record = failed_record(cell=cell, matrix=matrix, step=None,
                               reason=f"{type(error).__name__}: {error}", environment=env,
                               git=git, started_at=started_at, finished_at=utc_now())
        return "failed", _write(results_dir, record)
    attention = None
    if initial_maps is not None:
        attention = {"configurations": configurations, "initial": initial_maps,
                     "final": final_maps}
    reference = resolve_reference(config.system.L, config.system.J2, config.system.J1)
    memory = peak_memory()  # before the FLOP accounting's compilations
    flop_counts = _flop_metrics(cell, vmc, result, env) if flops else None
    record = completed_record(cell=cell, matrix=matrix, result=result, reference=reference,
                              environment=env, git=git, memory=memory,
                              started_at=started_at, finished_at=utc_now(), attention=attention,
                              flops=flop_counts, wall_seconds=time.perf_counter() - wall_start,
                              memory_plan=None if plan is None else plan.to_json())
    try:
        path = _write(results_dir, record)
    except OSError as error:  # read-only or full after all: keep the trained state
        rescue = rescue_path(cell)
        save_checkpoint(rescue, Checkpoint(result.state, result.trace), fingerprint)
        print(f"nqsbench: error: the record of {cell.id} could not be written to "
              f"{results_dir}/runs/ ({error.strerror or error}); the trained state is kept in "
              f"{rescue}: copy it to {ckpt_path} and run again to record it without "
              "retraining", file=sys.stderr)
        return "failed", None
    if is_writer():
        ckpt_path.unlink(missing_ok=True)
    return "completed", path


RESCUE_VARIABLE = "NQSBENCH_RESCUE_DIR"
MIN_FREE_BYTES = 50 * 2**20
"""free space a results directory needs before a run starts (records are kilobytes, checkpoints
of paper cells a few megabytes)"""


def rescue_path(cell: Cell) -> Path:
    """Where a trained state goes when its record cannot be written: ``$NQSBENCH_RESCUE_DIR``
    or ``~/.cache/nqsbench/rescued``, one checkpoint per cell."""
    root = os.environ.get(RESCUE_VARIABLE) or Path.home() / ".cache" / "nqsbench" / "rescued"
    return Path(root) / f"{cell.id}.npz"


def check_writable(results_dir: Path) -> None:
    """Raise :class:`ConfigError` (``--results``) unless ``results_dir`` can take records and
    checkpoints: creatable, writable, with :data:`MIN_FREE_BYTES` free. Checked before anything
    runs, so a read-only or full directory costs no training."""
    results_dir = Path(results_dir)
    try:
        for sub in (results_dir / "runs", results_dir / CHECKPOINT_DIRECTORY):
            sub.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=sub):
                pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError("--results", f"{results_dir} is not writable ({reason}); choose a "
                                       "directory you can write to") from None
    free = shutil.disk_usage(results_dir).free
    if free < MIN_FREE_BYTES:
        raise ConfigError("--results", f"{results_dir} has {free / 2**20:.0f} MiB free; a run "
                                       f"needs at least {MIN_FREE_BYTES // 2**20} MiB")


def _save(path: Path, checkpoint: Checkpoint, fingerprint: str,
          then: Callable[[], None] | None) -> None:
    save_checkpoint(path, checkpoint, fingerprint)
    if then is not None:
        then()


def _flop_metrics(cell: Cell, vmc, result, env: dict) -> dict | None:
    """The FLOP accounting of a finished run, or ``None`` (with a warning) if it fails."""
    from suite.perf.flops import flop_metrics

    try:
        return flop_metrics(vmc, result.state, result.seconds_per_step, env,
                            cell.config.model.dtype)
    except Exception as error:  # noqa: BLE001 (a finished run is recorded without FLOP counts)
        print(f"nqsbench: warning: no FLOP accounting for {cell.id}: "
              f"{type(error).__name__}: {error}", file=sys.stderr)
        return None


def _write(results_dir: Path, record: RunRecord) -> Path | None:
    return write_record(results_dir, record) if is_writer() else None


ProgressFactory = Callable[[Cell, int, int], StepCallback | None]


def run_cells(statuses: list[CellStatus], results_dir: Path, matrix: str, *, force: bool = False,
              retry_failed: bool = False, step_callback: ProgressFactory | None = None,
              on_cell_done: Callable[[CellStatus, str, Path | None], None] | None = None,
              checkpoint_every_seconds: float | None = DEFAULT_CHECKPOINT_SECONDS,
              checkpoint_every_steps: int | None = None,
              devices: str | int | None = "all", flops: bool = False,
              memory_budget: int | None = None) -> RunSummary:
    """Run every cell that needs it, in order; a failing cell is recorded and the others go on.

    Args:
        statuses: from :func:`cell_statuses`.
        force: re-run done (and failed) cells too (adds records; never replaces one).
        retry_failed: re-run failed cells.
        step_callback: ``(cell, steps, start) -> on_step`` for a per-run progress display
            (``start``: the step a resumed cell starts from, 0 for a fresh one).
        on_cell_done: called with ``(status, "completed"|"failed"|"skipped", record path)``.
        devices: ``"all"`` or a number of devices to split each run's samples over.
        flops: record each run's FLOP accounting (:func:`run_cell`).
        memory_budget: bytes a step may take (:func:`run_cell`; default: the device's memory).
    """
    summary = RunSummary()
    claims = jax.process_count() == 1  # the hosts of one run must agree on every cell
    with stop_on_signals() as stop:
        for status in statuses:
            stop.raise_if_requested()
            if claims and not force:  # another runner may have finished it since the start
                status = cell_statuses([status.cell], results_dir)[0]
            if not needs_run(status, force, retry_failed):
                summary.skipped.append(status)
                if on_cell_done is not None:
                    on_cell_done(status, "skipped", None)
                continue
            claim = claim_cell(results_dir, status.cell.id) if claims else None
            if isinstance(claim, dict):  # another live runner holds it
                summary.skipped.append(status)
                print(f"nqsbench: {status.cell.id} is being run by {claim.get('host')} "
                      f"(pid {claim.get('pid')}, since {claim.get('since')}); skipped",
                      file=sys.stderr)
                if on_cell_done is not None:
                    on_cell_done(status, "skipped", None)
                continue
            on_step = (step_callback(status.cell, status.cell.config.optimizer.steps,
                                     status.checkpoint_step or 0)
                       if step_callback is not None else None)
            try:
                outcome, path = run_cell(status.cell, results_dir, matrix, on_step=on_step,
                                         checkpoint_every_seconds=checkpoint_every_seconds,
                                         checkpoint_every_steps=checkpoint_every_steps,
                                         devices=devices, flops=flops, should_stop=stop,
                                         on_checkpoint_saved=claim.renew if claim else None,
                                         memory_budget=memory_budget)
            finally:
                if claim is not None:
                    claim.release()
            (summary.completed if outcome == "completed" else summary.failed).append(path)
            if on_cell_done is not None:
                on_cell_done(status, outcome, path)
    return summary
