"""The one schema: every setting of a run is declared once, on its configuration field.

Each field of the configuration dataclasses in :mod:`suite.bench.config` is declared with
:func:`setting`: its flat key (the matrix key, and with hyphens the CLI flag), its default, its
allowed values or constraint, old CLI spellings kept as hidden aliases, and one line of help. The
type (and whether ``None`` is allowed) is read from the field's annotation. :func:`collect` reads
the declarations back off :class:`~suite.bench.config.RunConfig` as :class:`Setting` objects, in
field order; that table (``suite.bench.config.SETTINGS``) drives the matrix keys
(:data:`suite.bench.matrix.FIELDS`), the flags of ``nqsbench train`` and ``nqsbench params``, and
the per-value validation (:meth:`Setting.check`). Only the rules that tie several settings
together (patch divides L, chains divide samples...) are written by hand in the ``validate``
methods.

Plain Python: no JAX here (``nqsbench table`` and :mod:`suite.report` use it).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from suite.errors import ConfigError

POSITIVE = "positive"
"""constraint: the value must be > 0"""
NON_NEGATIVE = "non-negative"
"""constraint: the value must be >= 0"""

_METADATA_KEY = "nqsbench.setting"
ALWAYS_HASHED = object()
"""``Setting.before``: the setting has always existed, so it is always part of a cell's id"""
_KIND_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean (true or false)",
               dict: "table of options"}


@dataclass(frozen=True)
class Setting:
    """One setting of a run: its key, where it lives in ``RunConfig``, its type and its rules."""

    name: str
    """the flat key of matrix files and ``--only`` (e.g. ``samples``); the CLI flag is
    ``--`` + name with ``_`` -> ``-`` (``--samples``, ``--sweeps-per-sample``, ``--L``)"""
    section: str
    """``system``, ``model``, ``sampler``, ``optimizer`` or ``run`` (a top-level field)"""
    attribute: str
    """the field name in its section (e.g. ``n_samples``): what records store"""
    kind: type
    """``int``, ``float``, ``str``, ``bool`` or ``dict`` (a table of options, string keys)"""
    default: Any
    help: str
    """one line for ``--help`` and the docs"""
    optional: bool = False
    """``None`` is allowed (it means "derived", see the help)"""
    choices: tuple[str, ...] = ()
    constraint: str | None = None
    """:data:`POSITIVE`, :data:`NON_NEGATIVE` or ``None``"""
    aliases: tuple[str, ...] = ()
    """older spellings of the CLI flag, still accepted but not shown (e.g. ``--sweeps``)"""
    before: Any = ALWAYS_HASHED
    """for a setting added after records existed: the value every configuration had before it
    (what a record without the key means). At that value it is left out of the cell id, so
    cells and records from before keep their ids."""
    hashed: bool = True
    """whether the setting is part of a cell's id. ``False`` for settings that label a cell
    without changing what it computes (``purpose``): changing them keeps the cell's id and
    its records."""
    owner: type | None = dataclasses.field(default=None, compare=False, repr=False)
    """the configuration dataclass that holds the field"""

    @property
    def flag(self) -> str:
        """The CLI flag, the matrix key with hyphens: ``--sweeps-per-sample``."""
        return "--" + self.name.replace("_", "-")

    @property
    def flags(self) -> tuple[str, ...]:
        """The flag and its hidden aliases."""
        return (self.flag, *self.aliases)

    def describe(self) -> str:
        """What a valid value is, in words: ``a positive integer``, ``one of: t5, factored``."""
        if self.choices:
            return f"one of: {', '.join(self.choices)}"
        noun = _KIND_NAMES[self.kind]
        if self.constraint is not None:
            return f"a {self.constraint} {noun}"
        return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"

    def check(self, value: Any) -> None:
        """Raise :class:`ConfigError` naming this setting unless ``value`` is valid on its own."""
        if value is None and self.optional:
            return
        if self.choices:
            if value not in self.choices:
                raise ConfigError(self.name, f"unknown value {value!r}; choose "
                                             f"{self.describe()}")
            return
        if not _has_kind(value, self.kind) or not _meets(value, self.constraint):
            raise ConfigError(self.name, f"must be {self.describe()}, got {value!r}")
        if self.kind is float and not math.isfinite(value):
            raise ConfigError(self.name, f"must be a finite number, got {value!r}")


def _has_kind(value: Any, kind: type) -> bool:
    if isinstance(value, bool) or kind is bool:
        return isinstance(value, bool) and kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    if kind is dict:
        return isinstance(value, dict) and all(isinstance(key, str) for key in value)
    return isinstance(value, kind)


def _meets(value: Any, constraint: str | None) -> bool:
    if constraint == POSITIVE:
        return value > 0
    if constraint == NON_NEGATIVE:
        return value >= 0
    return True


def setting(name: str, default: Any, help: str, *, choices: Iterable[str] = (),
            constraint: str | None = None, aliases: Iterable[str] = (),
            before: Any = ALWAYS_HASHED, hashed: bool = True) -> Any:
    """Declare a configuration field as a setting (use as the field's default).

    Args:
        name: the flat matrix key (also the CLI flag, with hyphens).
        default: the field's default value.
        help: one line of help.
        choices: the allowed values of a string setting.
        constraint: :data:`POSITIVE` or :data:`NON_NEGATIVE` for numbers.
        aliases: older CLI spellings, accepted but hidden (e.g. ``"--sweeps"``).
        before: for a setting added after records existed, the value configurations had
            before it (:attr:`Setting.before`).
        hashed: ``False`` for a label that never enters the cell id (:attr:`Setting.hashed`).
    """
    declared = {"name": name, "help": help, "choices": tuple(choices),
                "constraint": constraint, "aliases": tuple(aliases), "before": before,
                "hashed": hashed}
    return dataclasses.field(default=default, metadata={_METADATA_KEY: declared})


def collect(config_type: type, section: str = "run") -> dict[str, Setting]:
    """Every setting declared on ``config_type`` and its section dataclasses, in field order.

    A field whose default is a dataclass (``system: SystemConfig``) is a section: its settings are
    collected under the field's name. Other fields must be declared with :func:`setting`.
    """
    hints = typing.get_type_hints(config_type)
    found: dict[str, Setting] = {}
    for f in dataclasses.fields(config_type):
        if _METADATA_KEY not in f.metadata:
            if not dataclasses.is_dataclass(hints[f.name]):
                raise TypeError(f"{config_type.__name__}.{f.name} is not declared with setting()")
            found.update(collect(hints[f.name], f.name))
            continue
        kind, optional = _kind_of(hints[f.name])
        declared = f.metadata[_METADATA_KEY]
        if declared["name"] in found:
            raise TypeError(f"setting {declared['name']!r} is declared twice")
        found[declared["name"]] = Setting(section=section, attribute=f.name, kind=kind,
                                          default=f.default, optional=optional,
                                          owner=config_type, **declared)
    return found


def _kind_of(hint: Any) -> tuple[type, bool]:
    """``int`` -> ``(int, False)``; ``int | None`` -> ``(int, True)``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) != 1 or len(typing.get_args(hint)) != 2:
            raise TypeError(f"a setting is one type, optionally | None; got {hint!r}")
        return args[0], True
    return hint, False


def check_settings(config: Any, settings: Mapping[str, Setting], skip: Iterable[str] = ()) -> None:
    """Check every setting held by ``config`` (one section dataclass) on its own, in field order.

    ``skip`` names settings that do not apply (e.g. the ViT keys of an RBM).
    """
    skipped = set(skip)
    for s in settings.values():
        if s.owner is type(config) and s.name not in skipped:
            s.check(getattr(config, s.attribute))


__all__ = ["ALWAYS_HASHED", "NON_NEGATIVE", "POSITIVE", "Setting", "check_settings", "collect", "setting"]
