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
        return _list_memory(cells, getattr(args, "memory_budget", None))
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


def _list_memory(cells, budget_text: str | None) -> int:
    """``nqsbench list --memory``: each cell's step memory as XLA plans it with the dense and the
    chunked SR solver, the plan the cell would run with under the budget, and the floor."""
    from suite.bench.memory import memory_floor, predicted_step_memory
    from suite.bench.memory_plan import default_budget, parse_memory_size, plan_memory

    budget = default_budget() if budget_text is None else parse_memory_size(budget_text)
    source = "--memory-budget" if budget_text is not None else "90% of this machine's memory"
    print(f"# predicted peak of one optimisation step on this machine's default device (XLA "
          f"memory analysis of the compiled step); budget "
          f"{'unknown' if budget is None else f'{budget / 2**30:.1f} GiB'} ({source})")
    print(f"{'cell':12s}  {'dense':>8s}  {'chunked':>8s}  {'plan':>16s}  {'plan GiB':>8s}  "
          f"{'fits':4s}  {'floor':>7s}  cell settings")
    gib = 2**30
    for cell in cells:
        predictions: dict = {}

        def predict(config, solver, block, predictions=predictions):
            key = (solver, block)
            if key not in predictions:
                predictions[key] = predicted_step_memory(config, solver, block)
            return predictions[key]

        config = cell.config
        dense = predict(config, "dense", None)["total"]
        plan = plan_memory(config, budget, predict)
        chunked = next((total for name, _, total in plan.tried if name == "chunked"), None)
        if chunked is None:
            chunked = predict(config, "chunked", config.optimizer.sr_chunk)["total"]
        name = plan.solver if plan.sr_chunk is None else f"chunked/{plan.sr_chunk}"
        floor = memory_floor(config)["total"]
        print(f"{cell.id:12s}  {dense / gib:8.2f}  {chunked / gib:8.2f}  {name:>16s}  "
              f"{plan.predicted / gib:8.2f}  {'yes' if plan.fits else 'NO':4s}  "
              f"{floor / gib:7.2f}  {cell.label}  sr_solver={config.optimizer.sr_solver}",
              flush=True)
    print("# GiB; plan = the SR solver (chunked/N: Jacobian blocks of N samples) a run of the "
          "cell uses within the budget; sr_solver = auto chooses, dense and chunked are fixed")
    return 0


def warn_problems(problems) -> None:
    """Name every record file that was skipped, on stderr."""
    for problem in problems:
        print(f"nqsbench: warning: skipped {problem}", file=sys.stderr)


def selected_runs(args: argparse.Namespace):
    """The runs ``nqsbench table`` shows: every record under ``--results``, narrowed to the cells
    of ``--matrix`` and to ``--only``'s settings; ``None`` (said on stderr) when no completed run
    matches.

    Raises:
        MatrixError: ``--only`` matches no run although there are runs.
    """
    from suite.bench.matrix import config_hash, load_matrix, parse_filters
    from suite.report.rows import load_runs

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
        return None
    return runs


def table(args: argparse.Namespace) -> int:
    """``nqsbench table``: the paper-style tables of the selected runs (with ``--attention``,
    how input-dependent their attention maps are instead)."""
    from suite.report.tables import render_table

    attention = getattr(args, "attention", False)
    if attention and args.time_to_target:
        print("nqsbench table: --time-to-target applies to the energy table, not to "
              "--attention", file=sys.stderr)
        return 2
    runs = selected_runs(args)
    if runs is None:
        return 1
    if attention:
        return _attention_table(args, runs)
    matrices = sorted(runs.loc[runs["status"] == "completed", "matrix"].dropna().unique())
    if args.matrix is None and len(matrices) > 1:
        print(f"nqsbench table: runs of {len(matrices)} matrices ({', '.join(matrices)}), one "
              "block each; --matrix NAME shows one", file=sys.stderr)
    sys.stdout.write(render_table(runs, args.format, args.time_to_target))
    return 0


def _attention_table(args: argparse.Namespace, runs) -> int:
    """``nqsbench table --attention``: one row per completed ViT run with attention snapshots."""
    from suite.report.attention_table import attention_rows, render_attention_table

    summary = attention_rows(runs)
    if summary.empty:
        print(f"nqsbench table: no completed ViT run in {args.results}/runs/ that matches has "
              "attention snapshots", file=sys.stderr)
        return 1
    sys.stdout.write(render_attention_table(summary, args.format))
    return 0
