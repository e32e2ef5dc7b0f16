"""Benchmark matrices as data: TOML files whose axes expand into cells, each a resolved RunConfig.

A matrix file has a name, fixed settings, axes whose Cartesian product makes the cells, optional
``[[exclude]]`` tables that drop matching cells, and optional ``[[override]]`` tables that change
settings on matching cells (for example fewer steps on the larger, timing-only lattices)::

    name = "smoke"
    description = "..."

    [fixed]
    layers = 1
    d = 8
    steps = 100

    [axes]
    attention = ["t5", "decoupled", "factored"]
    L = [4]
    J2 = [0.0, 0.5]

    [[exclude]]
    attention = "t5"
    J2 = 0.0

    [[override]]
    when = { L = 6 }
    set = { steps = 20 }

``seeds = [0, 1, 2]`` (top level) runs every cell once per seed: tables and the dashboard then
show per cell the mean and spread over the seeds, the best seed and how many there are.

Keys are the flat names of :data:`FIELDS`, the settings of the one schema
(:mod:`suite.bench.schema`; ``L``, ``J2``, ``attention``, ``samples``, ``steps``,
``learning_rate``...). Every file is checked before anything runs: an unknown key, a wrong type, an
empty axis or an invalid value raises :class:`MatrixError` naming the file, the key and what is
allowed. Each cell's id is a hash of its fully resolved configuration, so it does not depend on the
order of keys, on which settings were fixed or swept, or on the defaults being spelled out.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from suite.bench.config import MODELS, SETTINGS, VIT_ONLY, RunConfig
from suite.bench.matrix_tables import (
    MatrixError,
    check_axes,
    check_overrides,
    check_table,
    coerce_value,
    matches,
    type_name,
    with_seeds,
)
from suite.bench.schema import ALWAYS_HASHED, Setting
from suite.bench.slmc_config import SLMC_SETTINGS, SLMCConfig
from suite.errors import ConfigError

BUILTIN_MATRICES: tuple[str, ...] = ("smoke", "quick", "paper", "paper-extended", "scaling", "race6",
                                     "baselines", "replication", "race-target", "slmc-smoke",
                                     "slmc")
DEFAULT_MATRIX = "smoke"


FIELDS: dict[str, Setting] = SETTINGS
"""Every key a VMC matrix file (and ``--only``) accepts: the settings of the one schema, by key."""

FAMILIES: dict[str, tuple[type, dict[str, Setting]]] = {
    "vmc": (RunConfig, SETTINGS), "slmc": (SLMCConfig, SLMC_SETTINGS)}
"""The benchmark families a matrix file chooses with ``family = ...`` (default ``vmc``): the
variational Monte Carlo runs of the ViT study, and self-learning Monte Carlo
(:mod:`suite.bench.slmc_config`). Each is its configuration type and its settings by key."""

_TOP_LEVEL_KEYS = ("name", "description", "family", "seeds", "fixed", "axes", "exclude",
                   "override")


@dataclass(frozen=True)
class Cell:
    """One point of a matrix: a resolved, validated configuration and its stable id."""

    config: RunConfig | SLMCConfig
    settings: dict[str, Any]
    """the cell's value of every key of its family's settings"""
    axes: tuple[str, ...]
    """the keys the matrix sweeps, in file order (for labels and tables)"""

    @property
    def id(self) -> str:
        return config_hash(self.config)[:12]

    @property
    def label(self) -> str:
        """A human-readable name from the swept values, e.g. ``attention=t5 L=4 J2=0.5``."""
        return " ".join(f"{key}={self.settings[key]}" for key in self.axes)


@dataclass(frozen=True)
class Matrix:
    """A named, expanded benchmark matrix."""

    name: str
    description: str
    source: str
    cells: tuple[Cell, ...]
    axes: tuple[str, ...]
    family: str = "vmc"
    """``vmc`` or ``slmc`` (:data:`FAMILIES`)"""

    @property
    def fields(self) -> dict[str, Setting]:
        """The keys its cells (and ``--only``) have."""
        return FAMILIES[self.family][1]

    def select(self, only: dict[str, Any] | None = None, shard: tuple[int, int] | None = None
               ) -> list[Cell]:
        """Cells matching every ``only`` key=value, then every N-th from K for ``shard=(K, N)``."""
        cells = [cell for cell in self.cells if matches(cell.settings, only or {})]
        if shard is not None:
            index, count = shard
            cells = cells[index::count]
        return cells


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no whitespace: equal data gives equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def config_hash(config: RunConfig | SLMCConfig) -> str:
    """SHA-256 of the canonical JSON of the fully resolved configuration.

    An SLMC configuration hashes its plain settings and its family, without the settings added
    after its first records at the value those records had (``Setting.before``). For VMC:

    Labels (``Setting.hashed`` false: ``purpose``) are left out, settings added after records
    existed are left out at the value every configuration had before them
    (``Setting.before``), and so is a sampler dtype that is unset or equal to the
    model's (it changes nothing): such cells keep the ids they had, and their records stay valid.
    A CNN's or plugin's id leaves out the ViT and RBM settings it never reads, so changing the
    ViT's ``d`` in a mixed matrix keeps the other models' records (the RBM keeps its ids of
    before plugins existed, which include them).
    """
    data = config.to_dict()
    if isinstance(config, SLMCConfig):  # settings added since, at their former value, left out
        for s in SLMC_SETTINGS.values():
            if s.before is not ALWAYS_HASHED and data.get(s.name) == s.before:
                data.pop(s.name)
        return hashlib.sha256(canonical_json(data).encode()).hexdigest()
    if data["model"]["model"] not in ("vit", "rbm"):  # settings a CNN or plugin never reads
        for attribute in (*VIT_ONLY, "alpha"):
            data["model"].pop(attribute, None)
    if data["sampler"].get("dtype") in (None, data["model"]["dtype"]):
        data["sampler"].pop("dtype", None)
    for s in FIELDS.values():
        section = data if s.section == "run" else data[s.section]
        if not s.hashed or (s.before is not ALWAYS_HASHED and section.get(s.attribute) == s.before):
            section.pop(s.attribute, None)
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()



def with_setting(cell: Cell, key: str, value: Any) -> Cell:
    """``cell`` with one more setting (validated), shown in its label; the id follows the config."""
    settings = {**cell.settings, key: coerce_value("--" + key.replace("_", "-"), key, value,
                                                   FIELDS)}
    config = RunConfig.from_settings(settings).validate()
    axes = cell.axes if key in cell.axes else (*cell.axes, key)
    return Cell(config=config, settings=config.settings(), axes=axes)


def parse_matrix(data: dict[str, Any], source: str) -> Matrix:
    """Validate and expand a parsed matrix document (see the module docstring for its shape)."""
    unknown = [key for key in data if key not in _TOP_LEVEL_KEYS]
    if unknown:
        raise MatrixError(source, unknown[0],
                          f"unknown top-level key; allowed: {', '.join(_TOP_LEVEL_KEYS)}")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise MatrixError(source, "name", "must be a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise MatrixError(source, "description", "must be a string")
    family = data.get("family", "vmc")
    if family not in FAMILIES:
        raise MatrixError(source, "family", f"unknown family {family!r}; choose one of: "
                                            f"{', '.join(FAMILIES)}")
    config_type, fields = FAMILIES[family]
    fixed = check_table(source, "fixed", data.get("fixed", {}), fields)
    axes = check_axes(source, data.get("axes"), fields)
    if "seeds" in data:
        axes = with_seeds(source, data["seeds"], fixed, axes)
    both = sorted(set(fixed) & set(axes))
    if both:
        raise MatrixError(source, both[0], "is both fixed and an axis; keep one")
    excludes = data.get("exclude", [])
    if not isinstance(excludes, list):
        raise MatrixError(source, "exclude", "must be an array of tables ([[exclude]])")
    excludes = [check_table(source, f"exclude[{i}]", e, fields) for i, e in enumerate(excludes)]
    overrides = check_overrides(source, data.get("override", []), fields)

    cells: list[Cell] = []
    seen: dict[str, str] = {}
    for values in itertools.product(*axes.values()):
        chosen = dict(zip(axes, values, strict=True))
        settings = {**fixed, **chosen}
        if any(matches(settings, e) for e in excludes):
            continue
        for when, changes in overrides:
            if matches(settings, when):
                settings = {**settings, **changes}
        try:
            config = config_type.from_settings(settings).validate()
        except ConfigError as error:
            label = " ".join(f"{k}={v}" for k, v in chosen.items())
            raise MatrixError(source, error.field, f"invalid in cell {label}: {error.message}"
                              ) from None
        cell = Cell(config, config.settings(), tuple(axes))
        if cell.id in seen:
            raise MatrixError(source, "axes", f"cells {seen[cell.id]!r} and {cell.label!r} resolve "
                                              "to the same configuration; remove one")
        seen[cell.id] = cell.label
        cells.append(cell)
    if not cells:
        raise MatrixError(source, "exclude", "excludes every cell; the matrix is empty")
    return Matrix(name, description, source, tuple(cells), tuple(axes), family)


def load_matrix(name_or_path: str | Path) -> Matrix:
    """A built-in matrix by name (``smoke``, ``quick``, ``paper``) or a user's TOML file by path."""
    text_name = str(name_or_path)
    if text_name in BUILTIN_MATRICES:
        source = f"suite/bench/matrices/{text_name}.toml"
        text = resources.files("suite.bench").joinpath("matrices", f"{text_name}.toml").read_text()
    else:
        path = Path(name_or_path)
        source = str(path)
        if not path.is_file():
            raise MatrixError(source, "matrix", "no such file; give a path to a TOML file or one "
                                                f"of: {', '.join(BUILTIN_MATRICES)}")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise MatrixError(source, "toml", "not a UTF-8 text file (a binary file?); give a "
                                              "TOML matrix file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MatrixError(source, "toml", f"not valid TOML ({error})") from None
    return parse_matrix(data, source)


def declared_purpose(matrix: str | None, cell_id: str) -> str | None:
    """The ``purpose`` the built-in ``matrix`` declares today for ``cell_id`` (``None``: not a
    built-in matrix or not one of its cells). ``purpose`` is not part of the cell id, so this is
    how a record written before the setting existed learns that its cell is a timing cell."""
    if matrix not in BUILTIN_MATRICES:
        return None
    return _builtin_purposes(matrix).get(cell_id)


@functools.lru_cache(maxsize=len(BUILTIN_MATRICES))
def _builtin_purposes(matrix: str) -> dict[str, str]:
    return {cell.id: cell.config.purpose for cell in load_matrix(matrix).cells}


def parse_filters(items: list[str] | None, source: str = "--only",
                  fields: dict[str, Setting] | None = None) -> dict[str, Any]:
    """``["attention=t5", "L=4"]`` -> ``{"attention": "t5", "L": 4}``, typed like matrix keys
    (``fields``: a family's settings, default the VMC family's)."""
    fields = FIELDS if fields is None else fields
    filters: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise MatrixError(source, item, "must be KEY=VALUE, e.g. attention=factored")
        if key not in fields:
            raise MatrixError(source, key, f"unknown key; allowed keys: {', '.join(fields)}")
        kind, choices = fields[key].kind, fields[key].choices
        if kind is dict:
            raise MatrixError(source, key, "a table cannot be a filter; filter on model instead")
        try:
            value = _parse_bool(raw) if kind is bool else kind(raw)
        except ValueError:
            raise MatrixError(source, key, f"{raw!r} is not {type_name(fields[key])}") from None
        if choices:  # names match whatever their case: attention=T5 is t5
            matching = [choice for choice in choices if choice.lower() == raw.lower()]
            if not matching:
                raise MatrixError(source, key, f"unknown value {raw!r}; choose one of: "
                                               f"{', '.join(choices)}")
            value = matching[0]
        if key == "model" and fields is FIELDS and raw.lower() in MODELS:  # model=ViT is vit
            value = raw.lower()
        filters[key] = value
    return filters


def existing_values(rows: list[dict[str, Any]], filters: dict[str, Any]) -> str:
    """What the filtered keys hold in ``rows``, for an error: ``attention in t5, factored``."""
    parts = []
    for key in filters:
        found = {row.get(key) for row in rows if row.get(key) is not None}
        try:
            values = sorted(found)
        except TypeError:  # mixed types: sort their text
            values = sorted(found, key=str)
        parts.append(f"{key} in {', '.join(map(str, values)) or '(none)'}")
    return "; ".join(parts)


def _parse_bool(text: str) -> bool:
    """``true``/``false`` (any case, also ``1``/``0``, ``yes``/``no``) -> bool."""
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(text)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"K/N"`` -> ``(K, N)`` with 0 <= K < N (K is 0-based, like a SLURM array index)."""
    if text is None:
        return None
    index, sep, count = text.partition("/")
    try:
        k, n = int(index), int(count)
    except ValueError:
        k, n = -1, 0
    if not sep or n < 1 or not 0 <= k < n:
        raise MatrixError("--shard", text, "must be K/N with 0 <= K < N, e.g. 0/4 ... 3/4")
    return k, n


__all__ = [
    "BUILTIN_MATRICES",
    "DEFAULT_MATRIX",
    "FAMILIES",
    "FIELDS",
    "Cell",
    "Matrix",
    "MatrixError",
    "canonical_json",
    "config_hash",
    "load_matrix",
    "parse_filters",
    "parse_matrix",
    "parse_shard",
]
