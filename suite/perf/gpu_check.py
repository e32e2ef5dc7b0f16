"""The prepared GPU check: one command, a fixed time budget, standard records and a summary.

GPU time comes in short slots on machines that reach no package registry, so the check is
ready before the slot: ``benchmarks/gpu_check.sh`` (or ``python -m suite.perf.gpu_check``)
prints the device and the versions of the numerical stack, then runs, each within its own
share of the budget:

1. the 10x10 paper cell of every attention (4,096 samples, 4 layers, d=60, h=10, b=2), 20 timed
   steps each: seconds per step, compile seconds, peak device memory, achieved FLOP/s and its
   fraction of the device's fp64 peak (:mod:`suite.perf.flops`), and the SR solver the memory
   plan chose (the paper cells have ``sr_solver = "auto"``);
2. the 6x6 four-layer paper cells;
3. the factored 10x10 cell with float32 sampling.

Each run writes a standard record (``results/runs/``, matrix ``gpu-check``, the device named in
its provenance), so tables and the dashboard show them beside everything else. A part that
reaches its share of the budget stops after the current step and reports the steps it timed;
a slow cell cannot eat the lease. ``--dry-run`` does the same at tiny sizes on a CPU in about
a minute (CI runs it, so the script never rots).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.bench.matrix import Cell, load_matrix, with_setting
from suite.bench.signals import StopRequested

MATRIX = "gpu-check"
STEPS = 20
BUDGET_SECONDS = 8 * 60
SHARES = {"paper 10x10": 0.55, "paper 6x6, 4 layers": 0.25, "float32 sampling": 0.20}
"""each part's share of the budget"""
PACKAGES = ("jax", "jaxlib", "flax", "optax", "jax-cuda12-plugin", "jax-cuda12-pjrt",
            "jax-cuda13-plugin", "jax-cuda13-pjrt", "numpy")
DRY_RUN = {"heads": 2, "d": 8, "layers": 1, "samples": 64, "chunk_size": 1024,
           "eval_samples": 128}
"""the sizes of ``--dry-run`` (and L = 4 for the 10x10 cells): every part, every code path,
seconds on a CPU"""


@dataclass
class Outcome:
    """What one cell of the check measured."""

    part: str
    label: str
    steps: int
    seconds_per_step: float | None
    compile_seconds: float | None
    peak_bytes: int | None
    record: Path | None
    note: str = ""
    flops_per_second: float | None = None
    fraction_of_peak: float | None = None
    sr_plan: str | None = None
    """the SR solver the memory plan chose (``chunked/N``: Jacobian blocks of N samples)"""


def versions() -> dict[str, str | None]:
    """The installed versions of the numerical stack and the CUDA plugins (``None``: not
    installed)."""
    from suite.bench.provenance import package_versions

    return package_versions(PACKAGES)


def plan(dry_run: bool) -> list[tuple[str, Cell]]:
    """The cells of the check, in order, with their part."""
    paper = load_matrix("paper")
    cells = [("paper 10x10", cell) for cell in paper.select({"L": 10})]
    cells += [("paper 6x6, 4 layers", cell) for cell in paper.select({"L": 6, "layers": 4,
                                                                      "J2": 0.5})]
    factored = paper.select({"L": 10, "attention": "factored"})[0]
    cells.append(("float32 sampling", with_setting(factored, "sampler_dtype", "float32")))
    cells = [(part, with_setting(cell, "steps", STEPS)) for part, cell in cells]
    if dry_run:
        cells = [(part, with_setting(cell, "L", 4) if cell.settings["L"] == 10 else cell)
                 for part, cell in cells]
        for key, value in DRY_RUN.items():
            cells = [(part, with_setting(cell, key, value)) for part, cell in cells]
        cells = [(part, with_setting(cell, "steps", 4)) for part, cell in cells]
    return cells


def short_label(cell: Cell) -> str:
    """``factored L=10 4 layers`` (and ``float32 sampling`` where it applies)."""
    text = (f"{cell.settings['attention']} L={cell.settings['L']} "
            f"{cell.settings['layers']} layer(s)")
    return text + (" float32 sampling" if cell.settings["sampler_dtype"] == "float32" else "")


def _measure(part: str, cell: Cell, results: Path, deadline: float) -> Outcome:
    from suite.bench.runner import checkpoint_path, run_cell
    from suite.report.records import read_record

    try:
        outcome, path = run_cell(cell, results, MATRIX, checkpoint_every_steps=1,
                                 checkpoint_every_seconds=None, flops=True,
                                 should_stop=lambda: time.monotonic() > deadline)
    except StopRequested:  # its share of the budget is spent: report the steps it timed
        ckpt = checkpoint_path(results, cell)
        seconds = None
        if ckpt.is_file():
            with np.load(ckpt) as data:
                timed = data["trace_seconds"]
            seconds = float(np.median(timed)) if len(timed) else None
            steps = len(timed)
        else:
            steps = 0
        return Outcome(part, short_label(cell), steps, seconds, None, None, None,
                       "stopped at its share of the budget")
    if outcome != "completed" or path is None:
        return Outcome(part, short_label(cell), 0, None, None, None, path, outcome)
    metrics = read_record(path)["metrics"]
    plan = metrics.get("memory_plan") or {}
    sr_plan = plan.get("sr_solver")
    if plan.get("sr_chunk") is not None:
        sr_plan = f"{sr_plan}/{plan['sr_chunk']}"
    return Outcome(part, short_label(cell), metrics["steps"], metrics["seconds_per_step"],
                   metrics["compile_seconds"], metrics["device_peak_bytes"], path,
                   flops_per_second=metrics.get("achieved_flops_per_second"),
                   fraction_of_peak=metrics.get("fraction_of_peak"), sr_plan=sr_plan)


def run_check(results: Path, budget: float, dry_run: bool) -> list[Outcome]:
    """Every cell of :func:`plan`, each part within its share of ``budget`` seconds."""
    cells = plan(dry_run)
    start, outcomes, spent = time.monotonic(), [], 0.0
    for part, share in SHARES.items():
        part_end = start + spent + share * budget
        spent += share * budget
        for name, cell in cells:
            if name != part:
                continue
            if time.monotonic() >= part_end:
                outcomes.append(Outcome(part, short_label(cell), 0, None, None, None, None,
                                        "skipped: its part's budget was spent"))
                continue
            outcomes.append(_measure(part, cell, results, part_end))
            print(_line(outcomes[-1]), flush=True)
    return outcomes


def _line(outcome: Outcome) -> str:
    def number(value, spec):
        return "n/a" if value is None else format(value, spec)

    peak = None if outcome.peak_bytes is None else outcome.peak_bytes / 2**30
    tflops = None if outcome.flops_per_second is None else outcome.flops_per_second / 1e12
    share = None if outcome.fraction_of_peak is None else 100 * outcome.fraction_of_peak
    return (f"{outcome.part:20s} {outcome.label:40s} steps {outcome.steps:3d}  "
            f"s/step {number(outcome.seconds_per_step, '.4g'):>8s}  "
            f"compile {number(outcome.compile_seconds, '.1f'):>6s} s  "
            f"peak {number(peak, '.2f'):>6s} GiB  "
            f"TFLOP/s {number(tflops, '.3g'):>6s} ({number(share, '.1f')} % of peak)  "
            f"SR {outcome.sr_plan or 'n/a'}  {outcome.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="results directory")
    parser.add_argument("--budget", type=float, default=BUDGET_SECONDS,
                        help=f"seconds for the whole check (default {BUDGET_SECONDS})")
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny sizes, for a CPU: checks that every part runs")
    args = parser.parse_args(argv)
    import jax

    device = jax.devices()[0]
    print(f"device: {device.device_kind} ({device.platform}), {jax.device_count()} device(s)")
    print("versions: " + json.dumps(versions()))
    if device.platform == "cpu" and not args.dry_run:
        print("gpu_check: no accelerator found; use --dry-run on a CPU", file=sys.stderr)
        return 2
    outcomes = run_check(Path(args.results), args.budget, args.dry_run)
    print("\nsummary (records in", Path(args.results) / "runs", "matrix", MATRIX + ")")
    for outcome in outcomes:
        print(_line(outcome))
    return 0 if all(o.steps > 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
