"""The ``nqsbench`` command line (also ``python -m suite``).

Every subcommand parses arguments, builds a validated config, and calls the library. Bad input
ends with exit status 2 and one line naming the option and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from suite.bench.config import DEFAULT_CHECKPOINT_SECONDS, SETTINGS, RunConfig
from suite.bench.matrix import MatrixError, existing_values
from suite.bench.memory import check_fits
from suite.cli_compare import add_compare_parser
from suite.cli_options import (
    add_matrix_options,
    add_memory_budget,
    add_setting_options,
    memory_budget,
    option,
    settings,
)
from suite.errors import ConfigError, DivergenceError
from suite.report.tables import FORMATS
from suite.report.targets import TARGETS

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nqsbench",
        description="Benchmark suite for transformer neural-network quantum states "
                    "(J1-J2 model, Rende & Viteritti 2025).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    params = commands.add_parser("params", help="print the parameter count of a model")
    model_keys = [key for key, s in SETTINGS.items() if s.section == "model"]
    add_setting_options(params, ["L", *model_keys], required=("L",))

    exact = commands.add_parser("exact", help="print the exact ground-state energy per site")
    exact.add_argument("--L", type=int, required=True, help="linear lattice size (L*L <= 26)")
    exact.add_argument("--Ly", type=int, default=None, help="second side for an L x Ly torus")
    exact.add_argument("--J1", type=float, default=SETTINGS["J1"].default,
                       help=SETTINGS["J1"].help + " (default %(default)s)")
    exact.add_argument("--J2", type=float, default=0.0,
                       help=SETTINGS["J2"].help + " (default %(default)s)")

    train = commands.add_parser("train", help="run one VMC optimisation and report it")
    add_setting_options(train, list(SETTINGS), required=("L",))
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--devices", default="all", metavar="all|N",
                       help="split the samples over all devices or the first N (default all)")
    add_memory_budget(train)

    run = commands.add_parser("run", help="run the cells of a benchmark matrix and record them")
    add_matrix_options(run)
    run.add_argument("--shard", default=None, metavar="K/N",
                     help="run every N-th cell starting at K (0-based), e.g. 0/4 ... 3/4")
    run.add_argument("--force", action="store_true",
                     help="re-run cells that are done (adds records, never replaces one)")
    run.add_argument("--retry-failed", action="store_true", help="re-run failed cells")
    run.add_argument("--checkpoint-every", type=float, default=DEFAULT_CHECKPOINT_SECONDS,
                     metavar="SECONDS", help="seconds between checkpoints (default %(default)g)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--flops", action="store_true",
                     help="record each run's FLOP accounting and fraction of the device's peak "
                          "(a few extra compilations per distinct cell shape)")
    run.add_argument("--devices", default="all", metavar="all|N",
                     help="split each run's samples over all devices or the first N (default all)")
    add_memory_budget(run)

    listing = commands.add_parser("list", help="show the cells of a matrix and their status")
    add_matrix_options(listing)
    listing.add_argument("--memory", action="store_true",
                         help="instead, each cell's predicted step memory (compiles each step; "
                              "seconds per cell)")
    add_memory_budget(listing)

    table = commands.add_parser("table", help="paper-style tables (Table 1 layout) of the results")
    table.add_argument("--results", default="results", help="results directory (default results)")
    table.add_argument("--format", default="markdown", choices=FORMATS)
    table.add_argument("--matrix", default=None,
                       help="only the cells of this matrix (smoke, quick, paper or a TOML path)")
    table.add_argument("--only", nargs="+", default=None, metavar="KEY=VALUE",
                       help="only runs with these settings, e.g. L=4 attention=factored")
    table.add_argument("--time-to-target", type=float, nargs="+", default=None, choices=TARGETS,
                       metavar="{" + ",".join(f"{t:g}" for t in TARGETS) + "}",
                       help="add the steps and training time to one or more of these relative "
                            "errors (two columns each, in the order given)")
    table.add_argument("--attention", action="store_true",
                       help="instead of energies, how input-dependent each completed ViT run's "
                            "attention maps are at initialisation and after training (0: "
                            "input-independent, as Factored attention is by construction)")
    table.add_argument("--slmc", action="store_true",
                       help="instead, the self-learning Monte Carlo records: outer acceptance "
                            "per effective model and layers, and observables against the exact "
                            "chain (also chosen by an SLMC --matrix)")

    commands.add_parser("references", help="print the reference energies and published results")
    add_compare_parser(commands)
    dashboard = commands.add_parser("dashboard", help="serve the results dashboard (Dash app)")
    dashboard.add_argument("--results", default="results",
                           help="results directory with runs/ and asv/ (default results)")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default %(default)s: this machine only)")
    dashboard.add_argument("--port", type=int, default=8050, help="port (default %(default)s)")
    dashboard.add_argument("--debug", action="store_true",
                           help="Dash debug mode: reloader and in-browser error pages")
    machine = commands.add_parser("machine-name", help="a machine name for asv with the accelerator "
                                  "model in it (docs/asv.md)")
    machine.add_argument("--asv-machine", action="store_true", help="also record this machine (CPU, "
                         "cores, RAM, OS, arch, GPUs) under that name in ~/.asv-machine.json")
    return parser


def _cmd_params(args: argparse.Namespace) -> int:
    import jax

    from suite.bench.build import build_model
    from suite.engine.models import count_parameters, init_parameters

    config = RunConfig.from_settings(settings(args))
    config.system.validate()
    model = build_model(config.model.validate(args.L), args.L)
    shapes = jax.eval_shape(lambda key: init_parameters(model, key, args.L**2),
                            jax.random.key(0))
    print(count_parameters(shapes))
    return 0


def _cmd_exact(args: argparse.Namespace) -> int:
    from suite.engine.exact import MAX_EXACT_SITES, exact_energy_per_site

    Ly = args.L if args.Ly is None else args.Ly
    n_sites = args.L * Ly
    if args.L < 3 or Ly < 3:
        raise ConfigError("L", "each side must be >= 3 (smaller tori repeat bonds)")
    if n_sites % 2:
        raise ConfigError("L", f"{args.L} x {Ly} has an odd number of sites; use an even count")
    if n_sites > MAX_EXACT_SITES:
        raise ConfigError("L", f"{args.L} x {Ly} = {n_sites} sites is beyond exact "
                               f"diagonalisation here (at most {MAX_EXACT_SITES} sites)")
    print(f"{exact_energy_per_site(args.L, args.J2, args.J1, Ly):.10f}")
    return 0


def _run_config(args: argparse.Namespace) -> RunConfig:
    return RunConfig.from_settings(settings(args)).validate()


def _cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from suite.bench.build import resolve_reference
    from suite.bench.memory_plan import planned_vmc
    from suite.bench.summary import train_summary
    from suite.bench.train import train

    config = _run_config(args)
    budget = memory_budget(args)
    _check_devices(args.devices)
    check_fits(config)
    vmc, _ = planned_vmc(config, budget)  # builds the model: a broken plugin stops here
    bar = tqdm(total=config.optimizer.steps, desc="train", unit="step", file=sys.stderr,
               disable=args.no_progress, dynamic_ncols=True)

    def on_step(step, info, seconds):
        bar.update(1)
        bar.set_postfix(E=f"{float(info.energy):.6f}", err=f"{float(info.error):.1e}",
                        acc=f"{float(info.acceptance):.2f}", s_step=f"{seconds:.3f}")

    try:
        result = train(config, on_step=on_step, devices=args.devices, vmc=vmc)
    finally:
        bar.close()
    reference = resolve_reference(config.system.L, config.system.J2, config.system.J1)
    print("\n".join(train_summary(result, reference)))
    return 0


def _check_model(matrix, cell) -> None:
    """A plugin cell's model built and checked before anything runs; its error names the matrix
    key (``model`` or ``model_options``) and the cell."""
    from suite.bench.build import check_model

    try:
        check_model(cell.config)
    except ConfigError as error:
        raise MatrixError(str(matrix.source), error.field,
                          f"{error.message} (cell {cell.id}: {cell.label})") from None


def _check_devices(devices: str) -> None:
    """``--devices`` checked before any model is built (a typo costs no compilation)."""
    from suite.engine.sharding import select_devices

    select_devices(devices)


def _selected_cells(args: argparse.Namespace, shard: str | None = None):
    from suite.bench.matrix import load_matrix, parse_filters, parse_shard

    matrix = load_matrix(args.matrix)
    filters = parse_filters(args.only, fields=matrix.fields)
    cells = matrix.select(filters, parse_shard(shard))
    if not matrix.select(filters):
        raise MatrixError("--only", " ".join(args.only), "selects no cell of matrix "
                          f"{matrix.name}; its values: "
                          + existing_values([c.settings for c in matrix.cells], filters))
    return matrix, cells


def _cmd_run(args: argparse.Namespace) -> int:
    from suite.bench.progress import MatrixProgress
    from suite.bench.runner import cell_statuses, check_writable, needs_run, run_cells
    from suite.cli_results import warn_problems
    from suite.engine.sharding import initialize_cluster, is_writer

    if initialize_cluster() and not is_writer():
        args.no_progress = True  # one progress display per run, from process 0
    matrix, cells = _selected_cells(args, args.shard)
    if matrix.family == "slmc":
        from suite.cli_slmc import run_slmc_matrix

        return run_slmc_matrix(args, matrix, cells)
    budget = memory_budget(args)
    problems: list = []
    statuses = cell_statuses(cells, args.results, problems)
    warn_problems(problems)
    todo = [s for s in statuses if needs_run(s, args.force, args.retry_failed)]
    _check_devices(args.devices)
    for status in todo:
        check_fits(status.cell.config, label=status.cell.id)
        _check_model(matrix, status.cell)
    if is_writer():
        check_writable(Path(args.results))
    print(f"matrix {matrix.name}: {len(cells)} cells selected, {len(todo)} to run, "
          f"{len(cells) - len(todo)} already recorded; results in {args.results}/runs/",
          file=sys.stderr)
    with MatrixProgress(matrix.name, [s.cell for s in todo], args.no_progress) as progress:
        summary = run_cells(statuses, args.results, matrix.name, force=args.force,
                            retry_failed=args.retry_failed,
                            step_callback=progress.step_callback,
                            on_cell_done=progress.on_cell_done,
                            checkpoint_every_seconds=args.checkpoint_every,
                            devices=args.devices, flops=args.flops,
                            memory_budget=budget)
    print(f"{len(summary.completed)} completed, {len(summary.failed)} failed, "
          f"{len(summary.skipped)} skipped", file=sys.stderr)
    return 1 if summary.failed else 0


def _cmd_references(args: argparse.Namespace) -> int:
    from suite.report.references import references_text

    sys.stdout.write(references_text())
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from suite.cli_compare import compare

    return compare(args, _selected_cells(args))


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from dashboard import create_app

    results = Path(args.results)
    if not (results / "runs").is_dir():
        print(f"nqsbench dashboard: {results / 'runs'} does not exist yet; the dashboard will say "
              f"how to produce results (nqsbench run)", file=sys.stderr)
    app = create_app(results)
    print(f"nqsbench dashboard: serving {results.resolve()} on http://{args.host}:{args.port}/ "
          f"(Ctrl+C stops it)", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


def _cmd_machine_name(args: argparse.Namespace) -> int:
    from suite.bench.machine import machine_name, record_asv_machine

    print(record_asv_machine()["machine"] if args.asv_machine else machine_name())
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from suite.cli_results import list_cells

    matrix, cells = _selected_cells(args)
    if matrix.family == "slmc":
        from suite.cli_slmc import list_slmc_cells

        return list_slmc_cells(args, matrix, cells)
    return list_cells(args, (matrix, cells))


def _cmd_table(args: argparse.Namespace) -> int:
    from suite.cli_results import table

    if args.slmc or (args.matrix is not None and _family(args.matrix) == "slmc"):
        from suite.cli_slmc import slmc_tables

        return slmc_tables(args)
    return table(args)


def _family(matrix: str) -> str:
    from suite.bench.matrix import load_matrix

    return load_matrix(matrix).family


COMMANDS = {"params": _cmd_params, "exact": _cmd_exact, "train": _cmd_train, "run": _cmd_run,
            "list": _cmd_list, "table": _cmd_table, "references": _cmd_references,
            "machine-name": _cmd_machine_name, "dashboard": _cmd_dashboard,
            "compare": _cmd_compare}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nqsbench``; returns the exit status."""
    parser = _build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as error:
        print(f"nqsbench {args.command}: error: {option(error.field, argv)}: {error.message}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except MatrixError as error:
        print(f"nqsbench {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DivergenceError as error:
        print(f"nqsbench {args.command}: {error}; lower --learning-rate or raise --diag-shift",
              file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print(f"nqsbench {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (`nqsbench list | head`): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
