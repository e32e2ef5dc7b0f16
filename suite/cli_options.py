"""The options of ``nqsbench``'s commands: one flag per setting of the schema, the matrix
selection, the memory budget, and the spelling of an option in an error message."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from suite.bench.config import SETTINGS
from suite.bench.matrix import BUILTIN_MATRICES, DEFAULT_MATRIX

_GROUP_TITLES = {"system": "system", "model": "model", "sampler": "sampling",
                 "optimizer": "optimisation", "run": "run"}
_METAVARS = {int: "N", float: "X", str: "TEXT", dict: "JSON"}


def json_table(text: str) -> dict:
    """``--model-options '{"channels": 8}'``: a JSON object."""
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error.msg}): write e.g. "
                                         "'{\"channels\": 8}'") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"channels\": 8}'")
    return value


def add_setting_options(parser: argparse.ArgumentParser, keys: Sequence[str],
                         required: Sequence[str] = ()) -> None:
    """One option per setting in ``keys``, spelled like its matrix key (``--sweeps-per-sample``).

    Defaults and help come from the schema; old spellings (``--sweeps``) parse to the same
    setting but are not shown. Values are checked by the schema (after parsing), so a bad value
    gets the same message as in a matrix file. Options are grouped by section.
    """
    for section, title in _GROUP_TITLES.items():
        chosen = [s for s in SETTINGS.values() if s.section == section and s.name in keys]
        if not chosen:
            continue
        group = parser.add_argument_group(title)
        for s in chosen:
            text = s.help
            if s.name in required:
                text += " (required)"
            elif s.default is not None and s.kind is not bool:
                text += f" (default {s.default})"
            if s.kind is bool:
                group.add_argument(s.flag, dest=s.name, default=s.default,
                                   action=argparse.BooleanOptionalAction,
                                   help=text.replace("%", "%%"))
                continue
            kind = {str: None, dict: json_table}.get(s.kind, s.kind)
            metavar = "{" + ",".join(s.choices) + "}" if s.choices else _METAVARS[s.kind]
            group.add_argument(s.flag, dest=s.name, type=kind, default=s.default,
                               required=s.name in required, metavar=metavar,
                               help=text.replace("%", "%%"))
            for alias in s.aliases:
                group.add_argument(alias, dest=s.name, type=kind, default=argparse.SUPPRESS,
                                   help=argparse.SUPPRESS)


def settings(args: argparse.Namespace) -> dict[str, object]:
    """The settings given on the command line (every option that is a setting), by key."""
    return {key: getattr(args, key) for key in SETTINGS if hasattr(args, key)}


def add_matrix_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--matrix", default=DEFAULT_MATRIX,
                        help=f"{', '.join(BUILTIN_MATRICES)} or the path of a TOML matrix file "
                             f"(default {DEFAULT_MATRIX})")
    parser.add_argument("--results", default="results", help="results directory (default results)")
    parser.add_argument("--only", nargs="+", default=None, metavar="KEY=VALUE",
                        help="only cells with these settings, e.g. attention=t5 J2=0.5")


def add_memory_budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memory-budget", default=None, metavar="SIZE",
                        help="bytes one step may take, e.g. 40GB or 24GiB: sr_solver = auto picks "
                             "the solver and Jacobian block that fit (default: 90%% of the "
                             "device's memory)")


def memory_budget(args: argparse.Namespace) -> int | None:
    from suite.bench.memory_plan import parse_memory_size

    text = getattr(args, "memory_budget", None)
    return None if text is None else parse_memory_size(text)


def option(field: str, argv: Sequence[str]) -> str:
    """The option to name in an error about ``field``: the spelling the user typed (an old alias
    such as ``--sweeps`` included), else the setting's flag, else ``--field``."""
    setting = SETTINGS.get(field)
    if setting is None:
        return "--" + field.replace("_", "-")
    typed = {arg.partition("=")[0] for arg in argv if arg.startswith("--")}
    return next((flag for flag in setting.flags if flag in typed), setting.flag)
