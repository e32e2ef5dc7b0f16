"""``nqsbench run``, ``list`` and ``table`` on a matrix of the SLMC family (``family = "slmc"``
in its TOML): ``suite.cli`` sends such matrices here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from suite.cli_results import warn_problems


def run_slmc_matrix(args: argparse.Namespace, matrix, cells) -> int:
    """Run the cells without a record of this suite version; exit status 1 if one failed."""
    from suite.bench.runner import check_writable
    from suite.bench.slmc_runner import run_slmc_cells, slmc_statuses

    problems: list[str] = []
    statuses = slmc_statuses(cells, args.results, problems)
    warn_problems(problems)
    todo = sum(1 for s in statuses if args.force or not s.done)
    check_writable(Path(args.results))
    print(f"matrix {matrix.name} (SLMC): {len(cells)} cells selected, {todo} to run, "
          f"{len(cells) - todo} already recorded; results in {args.results}/slmc/",
          file=sys.stderr)
    completed, failed, skipped = run_slmc_cells(statuses, args.results, matrix.name,
                                                force=args.force)
    print(f"{completed} completed, {failed} failed, {skipped} skipped", file=sys.stderr)
    return 1 if failed else 0


def list_slmc_cells(args: argparse.Namespace, matrix, cells) -> int:
    """Every selected cell, done or pending, with its record count."""
    from suite.bench.slmc_runner import slmc_statuses

    print(f"# matrix {matrix.name} ({matrix.source}): {matrix.description}")
    print(f"{'cell':12s}  {'status':8s}  {'records':>7s}  cell settings")
    problems: list[str] = []
    statuses = slmc_statuses(cells, args.results, problems)
    warn_problems(problems)
    for status in statuses:
        print(f"{status.cell.id:12s}  {'done' if status.done else 'pending':8s}  "
              f"{len(status.records):7d}  {status.cell.label}")
    done = sum(s.done for s in statuses)
    print(f"# {done} done, {len(statuses) - done} pending")
    return 0


def slmc_tables(args: argparse.Namespace) -> int:
    """``nqsbench table --slmc``: the acceptance table and the observables, exact against SLMC,
    of the records under ``--results`` (narrowed to ``--matrix``'s cells)."""
    from suite.bench.matrix import config_hash, load_matrix
    from suite.report.slmc import observables_table, slmc_table
    from suite.report.slmc_records import load_slmc_records, slmc_frame

    records, problems = load_slmc_records(args.results)
    warn_problems(problems)
    if args.matrix is not None:
        hashes = {config_hash(cell.config) for cell in load_matrix(args.matrix).cells}
        records = [r for r in records if r.config_hash in hashes]
    if not records:
        print(f"nqsbench table: no SLMC records under {args.results}/slmc/"
              + (f" for matrix {args.matrix}" if args.matrix else "")
              + "; run one with: nqsbench run --matrix slmc-smoke", file=sys.stderr)
        return 1
    sys.stdout.write(slmc_table(slmc_frame(records)))
    sys.stdout.write("\n" + observables_table(records))
    return 0


__all__ = ["list_slmc_cells", "run_slmc_matrix", "slmc_tables"]
