"""Crash-safe file writes: a temporary file in the same directory, flushed to disk, then renamed.

A reader never sees a half-written file: it sees the old one, the new one, or (for an exclusive
write) nothing. Power loss during a write leaves at most a stray ``.tmp-*`` file, which every
reader of this package ignores.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

TEMP_PREFIX = ".tmp-"


def _write_temporary(directory: Path, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
    try:
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
