"""Versioned JSON files, written crash-safe: a temporary file in the same directory, flushed to disk,
then renamed.

A reader never sees a half-written file: it sees the old one, the new one, or (for an exclusive
write) nothing. Power loss during a write leaves at most a stray ``.tmp-*`` file, which every
reader of this package ignores. :class:`JsonObject` maps frozen dataclasses to JSON objects, and
:func:`migrate` brings an old ``schema_version`` forward through registered :data:`MIGRATIONS`.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar

from suite.version import __version__

TEMP_PREFIX = ".tmp-"


class RecordError(ValueError):
    """A result file that cannot be read: names the file and what is wrong with it."""

    def __init__(self, path: Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class JsonObject:
    """A frozen dataclass written as a JSON object: its fields in order, then ``extra``.

    ``extra`` (where a class has it) keeps keys this version does not know, so reading and
    writing a record loses nothing. ``_NESTED`` names fields holding another :class:`JsonObject`;
    ``_OMIT_IF_NONE`` names keys left out of the JSON while ``None``.
    """

    _NESTED: ClassVar[dict[str, type]] = {}
    _OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """The JSON object (nested dataclasses as objects; lists and dicts shared, not copied)."""
        out: dict[str, Any] = {}
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            if item.name == "extra" or (value is None and item.name in self._OMIT_IF_NONE):
                continue
            out[item.name] = value.to_json() if isinstance(value, JsonObject) else value
        out.update(getattr(self, "extra", {}))
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]):
        """The inverse of :meth:`to_json`; unknown keys go to ``extra``.

        Raises:
            TypeError: ``data`` is not an object or lacks a required field.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"{cls.__name__} must be a JSON object, not {type(data).__name__}")
        names = {item.name for item in fields(cls)}  # type: ignore[arg-type]
        known = {key: value for key, value in data.items() if key in names and key != "extra"}
        for key, kind in cls._NESTED.items():
            if known.get(key) is not None:
                known[key] = kind.from_json(known[key])
        if "extra" in names:
            known["extra"] = {key: value for key, value in data.items() if key not in names}
        _check_types(cls, known)
        return cls(**known)


_JSON_TYPES: dict[Any, tuple[type, ...]] = {str: (str,), int: (int,), float: (int, float),
                                            bool: (bool,), dict: (dict,), list: (list,)}


def _allowed(hint: Any) -> tuple[tuple[type, ...], bool] | None:
    """The JSON types a field's annotation admits, and whether ``None`` is allowed; ``None``
    for annotations this check leaves alone (``Any``, nested objects)."""
    args = typing.get_args(hint)
    optional = type(None) in args
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) != 1:
            return None
        hint = rest[0]
    hint = typing.get_origin(hint) or hint
    if hint not in _JSON_TYPES:
        return None
    return _JSON_TYPES[hint], optional


def _check_types(cls: type, values: dict[str, Any]) -> None:
    """Raise ``TypeError`` naming the field whose JSON value has the wrong type (a string where
    a number belongs, a list where a string belongs...)."""
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        allowed = _allowed(hints.get(name, Any))
        if allowed is None or (value is None and allowed[1]):
            continue
        kinds, _ = allowed
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise TypeError(f"{cls.__name__}.{name} must be {' or '.join(k.__name__ for k in kinds)}"
                            f"{' or null' if allowed[1] else ''}, not {type(value).__name__}")


Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[tuple[str, int], Migration] = {}
"""``(kind, version)``: the function turning such a record into one of the next version"""


def migration(kind: str, from_version: int) -> Callable[[Migration], Migration]:
    """Register the decorated function as the migration of ``kind`` records from a version."""
    def register(function: Migration) -> Migration:
        MIGRATIONS[(kind, from_version)] = function
        return function
    return register


def migrate(raw: dict[str, Any], kind: str, current: int, path: Path) -> dict[str, Any]:
    """``raw`` brought to version ``current`` of its kind, one registered migration at a time.

    Raises:
        RecordError: a version newer than this code, or one no chain of migrations reaches.
    """
    version = raw.get("schema_version")
    readable = sorted({current} | {v for (k, v) in MIGRATIONS if k == kind and v < current})
    if not isinstance(version, int) or isinstance(version, bool) or version > current:
        raise RecordError(path, f"has schema_version {version!r}; this nqsbench {__version__} "
                                f"reads {readable}: upgrade it")
    while version < current:
        step = MIGRATIONS.get((kind, version))
        if step is None:
            raise RecordError(path, f"has schema_version {version}, older than any this nqsbench "
                                    f"{__version__} migrates ({readable})")
        raw = step(dict(raw))
        if not isinstance(raw.get("schema_version"), int) or raw["schema_version"] <= version:
            raise RecordError(path, f"the migration from schema_version {version} did not "
                                    "advance the version")
        version = raw["schema_version"]
    return raw


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_temporary(directory: Path, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would hide records from others
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported on this platform: the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, replacing any existing file."""
    path = Path(path)
    temporary = _write_temporary(path.parent, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def atomic_create(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` atomically; never replaces an existing file.

    Raises:
        FileExistsError: ``path`` already exists (nothing is written).
    """
    path = Path(path)
    temporary = _write_temporary(path.parent, data)
    try:
        os.link(temporary, path)  # fails if path exists: no clobbering, even between processes
    finally:
        temporary.unlink(missing_ok=True)
    _sync_directory(path.parent)


def create_json_record(directory: Path, prefix: str, timestamp: str, record: dict[str, Any]) -> Path:
    """Create ``directory/<prefix>-<compact UTC time>-<random>.json`` holding ``record``.

    The file is created atomically and exclusively (:func:`atomic_create`), so records are
    append-only: a name already taken, even by another process, just draws another random part.

    Args:
        directory: where the record goes.
        prefix: the start of the name (e.g. the cell id).
        timestamp: ISO 8601 UTC time, ``2026-11-22T05:40:07+0000``; written ``20261122T054007Z``.
        record: JSON-serialisable, without NaN or infinities.

    Returns:
        The path of the new file.
    """
    stamp = timestamp.replace("-", "").replace(":", "").replace("+0000", "Z")
    data = (json.dumps(record, indent=1, allow_nan=False) + "\n").encode()
    while True:
        path = Path(directory) / f"{prefix}-{stamp}-{secrets.token_hex(4)}.json"
        try:
            atomic_create(path, data)
            return path
        except FileExistsError:  # astronomically unlikely: draw another name
            continue


def record_files(directory: Path) -> list[Path]:
    """Every record file (``*.json``) in ``directory``, sorted, the temporary files of writes in
    progress left out; none when the directory does not exist."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.json") if not p.name.startswith(TEMP_PREFIX))


def read_json_object(path: Path) -> Any:
    """The JSON document in ``path`` (UTF-8).

    Raises:
        OSError: the file cannot be read.
        json.JSONDecodeError, UnicodeDecodeError: it is not (complete) JSON.
    """
    return json.loads(Path(path).read_text(encoding="utf-8"))
