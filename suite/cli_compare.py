"""``nqsbench compare``: race another engine (NetKet) on the same cells, either on seconds per
step (``--metric seconds-per-step``, :mod:`suite.perf.netket`) or on the wall-clock time until
the energy is good enough, over seeds (``--metric time-to-target``,
:mod:`suite.perf.target_race`). ``suite.cli`` calls these."""

from __future__ import annotations

import argparse
import sys

from suite.bench.config import DTYPES
from suite.cli_options import add_matrix_options

METRICS: tuple[str, ...] = ("seconds-per-step", "time-to-target")
EXIT_BAD_INPUT = 2


def add_compare_parser(commands) -> None:
    """The ``compare`` sub-command and its options."""
    from suite.report.target_races import (
        DEFAULT_OUR_SETTINGS,
        DEFAULT_SEEDS,
        OUR_SETTINGS,
        PEER_SETTINGS,
    )

    compare = commands.add_parser(
        "compare", help="race another engine on the same cells (seconds per step, or time to "
                        "a target energy over seeds)")
    compare.add_argument("peer", choices=["netket"],
                         help="the engine to race (pip install -e '.[peers]')")
    add_matrix_options(compare)
    compare.add_argument("--metric", default="seconds-per-step", choices=METRICS,
                         help="what to race: seconds per step at identical settings, or the "
                              "wall-clock time until the energy is within the cell's target "
                              "(default %(default)s)")
    compare.add_argument("--steps", type=int, default=20,
                         help="seconds-per-step: timed steps per engine and cell "
                              "(default %(default)s); time-to-target uses the cell's steps as "
                              "the budget")
    compare.add_argument("--warmup", type=int, default=2,
                         help="seconds-per-step: untimed steps first, compilation included "
                              "(default %(default)s)")
    compare.add_argument("--sampler-dtype", default=None, choices=DTYPES,
                         help="sample in this precision in both engines (e.g. float32 with the "
                              "float64 model: mixed precision); default: the cells' own setting")
    compare.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                         help="time-to-target: seeds 0 .. N-1 per engine and setting "
                              "(default %(default)s)")
    compare.add_argument("--target", type=float, nargs="+", default=None,
                         help="time-to-target: relative error(s) to race to (default: each "
                              "cell's `target` setting)")
    compare.add_argument("--stop-at-target", action="store_true",
                         help="time-to-target: end a seed run once its targets are confirmed "
                              "(faster; no final energy after the whole budget)")
    compare.add_argument("--peer-settings", nargs="+", default=list(PEER_SETTINGS),
                         choices=PEER_SETTINGS,
                         help="time-to-target: NetKet's settings to race (default: all)")
    compare.add_argument("--our-settings", nargs="+", default=list(DEFAULT_OUR_SETTINGS),
                         choices=OUR_SETTINGS,
                         help="time-to-target: nqsbench's settings to race (default: "
                              "%(default)s; `adaptive`: adaptive sampling, decorrelation 0.1)")
    compare.add_argument("--no-record", action="store_true",
                         help="print only; do not write records to RESULTS/compare/")


def compare(args: argparse.Namespace, selected) -> int:
    """Run ``nqsbench compare`` on the selected cells; the exit status."""
    from suite.bench.matrix import MatrixError, with_setting
    from suite.perf.netket import PeerUnavailableError, netket_available, netket_discards

    if not netket_available():
        print("nqsbench compare: NetKet is not installed; pip install -e '.[peers]'",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    matrix, cells = selected
    if args.sampler_dtype is not None:
        cells = [with_setting(cell, "sampler_dtype", args.sampler_dtype) for cell in cells]
    for cell in cells:  # before any cell runs
        try:
            netket_discards(cell.config.sampler)
        except ValueError as error:
            raise MatrixError(str(matrix.source), "discard_sweeps",
                              f"cell {cell.id} ({cell.label}): {error}") from None
    results = None if args.no_record else args.results
    try:
        if args.metric == "time-to-target":
            table = _time_to_target(args, matrix, cells, results)
        else:
            from suite.perf.netket import race_cells

            print(f"matrix {matrix.name}: racing NetKet on {len(cells)} cell(s), {args.steps} "
                  f"timed steps each after {args.warmup} warm-up", file=sys.stderr)
            table = race_cells(cells, results, steps=args.steps, warmup=args.warmup)
    except PeerUnavailableError as error:
        print(f"nqsbench compare: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write(table)
    return 0


def _time_to_target(args: argparse.Namespace, matrix, cells, results) -> str:
    from suite.bench.matrix import MatrixError
    from suite.perf.target_race import RaceSetupError, race_cells_to_target

    if args.seeds < 1:
        raise MatrixError("--seeds", str(args.seeds), "must be at least 1")
    if args.target is not None and any(not 0 < t < 1 for t in args.target):
        raise MatrixError("--target", " ".join(map(str, args.target)),
                          "relative errors lie between 0 and 1 (e.g. 1e-2)")
    print(f"matrix {matrix.name}: racing NetKet to the target energy on {len(cells)} cell(s), "
          f"{args.seeds} seeds each", file=sys.stderr)
    try:
        return race_cells_to_target(cells, results, seeds=list(range(args.seeds)),
                                    targets=args.target, stop_at_target=args.stop_at_target,
                                    peer_settings=args.peer_settings,
                                    our_settings=args.our_settings)
    except RaceSetupError as error:
        raise MatrixError(str(matrix.source), "target", str(error)) from None
