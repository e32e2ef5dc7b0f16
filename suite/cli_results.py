"""The commands of ``nqsbench`` that read results: ``list`` (cells, status, memory) and
``table``. ``suite.cli`` parses the arguments and calls these."""

from __future__ import annotations

import argparse
import sys

from suite.bench.matrix import MatrixError, existing_values


def list_cells(args: argparse.Namespace, selected) -> int:
    """``nqsbench list``: every selected cell, its status, records and checkpoint (or, with
    ``--memory``, its predicted step memory)."""
    from suite.bench.runner import cell_statuses

    matrix, cells = selected
    print(f"# matrix {matrix.name} ({matrix.source}): {matrix.description}")
    if args.memory:
        return _list_memory(cells)
    print(f"{'cell':12s}  {'status':8s}  {'records':>7s}  cell settings")
    counts: dict[str, int] = {}
    problems: list = []
    statuses = cell_statuses(cells, args.results, problems)
    warn_problems(problems)
    for status in statuses:
        counts[status.status] = counts.get(status.status, 0) + 1
        note = (f"  (checkpoint at step {status.checkpoint_step})"
                if status.checkpoint_step is not None else "")
        print(f"{status.cell.id:12s}  {status.status:8s}  {len(status.records):7d}  "
              f"{status.cell.label}  steps={status.cell.config.optimizer.steps}{note}")
    print("# " + ", ".join(f"{n} {name}" for name, n in sorted(counts.items())))
    return 0


def _list_memory(cells) -> int:
    """``nqsbench list --memory``: each cell's step memory as XLA plans it, and the floor."""
    from suite.bench.memory import available_memory, memory_floor, predicted_step_memory

    available = available_memory()
    print(f"# predicted peak of one optimisation step on this machine's default device "
          f"(XLA memory analysis of the compiled step; available: "
          f"{'unknown' if available is None else f'{available / 2**30:.1f} GiB'})")
    print(f"{'cell':12s}  {'step GiB':>8s}  {'temp GiB':>8s}  {'floor GiB':>9s}  cell settings")
    for cell in cells:
        step = predicted_step_memory(cell.config)
        floor = memory_floor(cell.config)["total"]
        print(f"{cell.id:12s}  {step['total'] / 2**30:8.2f}  {step['temporaries'] / 2**30:8.2f}  "
              f"{floor / 2**30:9.2f}  {cell.label}", flush=True)
    return 0


def warn_problems(problems) -> None:
    """Name every record file that was skipped, on stderr."""
    for problem in problems:
        print(f"nqsbench: warning: skipped {problem}", file=sys.stderr)


def table(args: argparse.Namespace) -> int:
    """``nqsbench table``: the paper-style tables of the selected runs."""
    from suite.bench.matrix import config_hash, load_matrix, parse_filters
    from suite.report.rows import load_runs
    from suite.report.tables import render_table

    table = load_runs(args.results)
    warn_problems(table.problems)
    runs = table.frame
    if args.matrix is not None:
        hashes = {config_hash(cell.config) for cell in load_matrix(args.matrix).cells}
        runs = runs[runs["config_hash"].isin(hashes)]
    filters = parse_filters(args.only)
    for key, value in filters.items():
        runs = runs[runs[key] == value]
    if filters and runs.empty and not table.frame.empty:
        raise MatrixError("--only", " ".join(args.only), "matches no run in "
                          f"{args.results}/runs/; the runs have: "
                          + existing_values(table.frame.to_dict("records"), filters))
    if (runs["status"] == "completed").sum() == 0:
        print(f"nqsbench table: no completed runs in {args.results}/runs/ match; produce some "
              "with `nqsbench run`", file=sys.stderr)
        return 1
    matrices = sorted(runs.loc[runs["status"] == "completed", "matrix"].dropna().unique())
    if args.matrix is None and len(matrices) > 1:
        print(f"nqsbench table: runs of {len(matrices)} matrices ({', '.join(matrices)}), one "
              "block each; --matrix NAME shows one", file=sys.stderr)
    sys.stdout.write(render_table(runs, args.format, args.time_to_target))
    return 0
