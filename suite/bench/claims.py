"""Claims: one runner per cell, however many ``nqsbench run`` share a results directory.

Before running a cell, a runner creates ``<results>/claims/<cell id>.json`` exclusively (it
fails if the file exists, even between hosts on a shared file system), holding its host, pid
and start time; it removes the file when the cell ends. Another runner that meets the claim
skips the cell. A claim is stale, and taken over, when its process is gone (same host: the pid
no longer runs) or when it has not been renewed for :data:`STALE_AFTER_SECONDS` (another host:
a live runner renews its claim at every checkpoint).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

CLAIMS_DIRECTORY = "claims"
STALE_AFTER_SECONDS = 3600.0
"""a claim from another host not renewed for this long is taken over"""


@dataclass(frozen=True)
class Claim:
    """A held claim on a cell (:func:`claim_cell`); release it when the cell ends."""

    path: Path

    def renew(self) -> None:
        """Mark the claim as alive (its modification time)."""
        with contextlib.suppress(OSError):
            os.utime(self.path)

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def claim_path(results_dir: Path, cell_id: str) -> Path:
    return Path(results_dir) / CLAIMS_DIRECTORY / f"{cell_id}.json"


def holder(path: Path) -> dict | None:
    """The host, pid and start of a live claim at ``path``; ``None`` if there is none or it is
    stale (then removed)."""
    try:
        info = json.loads(path.read_text())
        age = time.time() - path.stat().st_mtime
    except (OSError, ValueError):
        return None
    same_host = info.get("host") == platform.node()
    if _pid_alive(info.get("pid")) if same_host else age < STALE_AFTER_SECONDS:
        return info
    path.unlink(missing_ok=True)
    return None


def _pid_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def claim_cell(results_dir: Path, cell_id: str) -> Claim | dict:
    """Claim a cell: the :class:`Claim`, or the holder's ``{"host", "pid", "since"}`` when
    another live runner has it."""
    path = claim_path(results_dir, cell_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    mine = {"host": platform.node(), "pid": os.getpid(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for _ in range(2):  # a stale claim is removed by holder(), then taken
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            current = holder(path)
            if current is not None:
                return current
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(mine, handle)
        return Claim(path)
    return holder(path) or {"host": "?", "pid": None, "since": "?"}


__all__ = ["CLAIMS_DIRECTORY", "STALE_AFTER_SECONDS", "Claim", "claim_cell", "holder"]
