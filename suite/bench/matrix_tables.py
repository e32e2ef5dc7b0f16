"""The tables of a matrix file, checked against one family's settings: ``[fixed]``, ``[axes]``,
``seeds``, ``[[exclude]]`` and ``[[override]]`` (:mod:`suite.bench.matrix` expands them).

Every function takes the family's settings by key (``fields``): the VMC family's
(:data:`suite.bench.config.SETTINGS`) or the SLMC family's
(:data:`suite.bench.slmc_config.SLMC_SETTINGS`). Plain Python: no JAX here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suite.bench.schema import Setting

Fields = Mapping[str, Setting]


class MatrixError(ValueError):
    """A matrix file (or a cell filter) is malformed: names the file, the key and the fix."""

    def __init__(self, source: str, key: str, message: str):
        self.source = source
        self.key = key
        self.message = message
        super().__init__(f"{source}: {key}: {message}")


def matches(settings: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """Whether ``settings`` holds every key = value of ``where``."""
    return all(settings.get(key) == value for key, value in where.items())


def type_name(f: Setting) -> str:
    """The setting's type in words, for errors."""
    name = {int: "an integer", float: "a number", str: "a string",
            bool: "true or false", dict: "a table (e.g. {channels = 8})"}[f.kind]
    return name + (" (or omit it)" if f.optional else "")


def coerce_value(source: str, key: str, value: Any, fields: Fields) -> Any:
    """Check ``value`` against the type of ``key``; ints are accepted where floats are expected."""
    if key not in fields:
        raise MatrixError(source, key, f"unknown key; allowed keys: {', '.join(fields)}")
    f = fields[key]
    if f.kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) != (f.kind is bool) or not isinstance(value, f.kind):
        raise MatrixError(source, key, f"must be {type_name(f)}, got {value!r}")
    return value


def check_table(source: str, name: str, table: Any, fields: Fields) -> dict[str, Any]:
    """A table of key = value, each value checked."""
    if not isinstance(table, dict):
        raise MatrixError(source, name, f"must be a table of key = value, got {table!r}")
    return {key: coerce_value(source, key, value, fields) for key, value in table.items()}


def check_axes(source: str, axes: Any, fields: Fields) -> dict[str, list[Any]]:
    """``[axes]``: non-empty lists of distinct, checked values."""
    if not isinstance(axes, dict) or not axes:
        raise MatrixError(source, "axes", "must be a non-empty table of key = [values]")
    checked = {}
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise MatrixError(source, f"axes.{key}",
                              f"must be a non-empty list of values, got {values!r}")
        checked[key] = [coerce_value(source, key, value, fields) for value in values]
        if len(set(map(repr, checked[key]))) != len(values):
            raise MatrixError(source, f"axes.{key}", f"repeats a value: {values!r}")
    return checked


def with_seeds(source: str, seeds: Any, fixed: dict[str, Any], axes: dict[str, list[Any]]
               ) -> dict[str, list[Any]]:
    """``seeds = [0, 1, 2]``: every cell once per seed (the last axis, ``seed``)."""
    if "seed" in fixed or "seed" in axes:
        raise MatrixError(source, "seeds", "the matrix also sets seed; give the seeds once, "
                                           "either as seeds = [...] or as seed")
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise MatrixError(source, "seeds", f"must be a non-empty list of non-negative integers, "
                                           f"got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise MatrixError(source, "seeds", f"repeats a seed: {seeds!r}")
    return {**axes, "seed": list(seeds)}


def check_overrides(source: str, overrides: Any, fields: Fields) -> list[tuple[dict, dict]]:
    """``[[override]]`` tables: exactly ``when = {...}`` and ``set = {...}``, checked."""
    if not isinstance(overrides, list):
        raise MatrixError(source, "override", "must be an array of tables ([[override]])")
    checked = []
    for i, override in enumerate(overrides):
        where = f"override[{i}]"
        if not isinstance(override, dict) or set(override) != {"when", "set"}:
            raise MatrixError(source, where, "must have exactly two tables: when = {...} and "
                                             "set = {...}")
        checked.append((check_table(source, f"{where}.when", override["when"], fields),
                        check_table(source, f"{where}.set", override["set"], fields)))
    return checked


__all__ = ["Fields", "MatrixError", "check_axes", "check_overrides", "check_table",
           "coerce_value", "matches", "type_name", "with_seeds"]
