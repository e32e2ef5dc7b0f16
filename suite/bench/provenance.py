"""Where and with what a result was produced: code version, git state, machine, libraries."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import resource
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import jax

PACKAGES: tuple[str, ...] = ("jax", "jaxlib", "flax", "optax", "numpy")


def utc_now() -> str:
    """The current time, ISO 8601 in UTC with seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def git_state(directory: Path | None = None, only_here: bool = False) -> dict[str, object]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the repository holding the code
    (or ``directory``). With ``only_here``, dirty means a change under ``directory`` itself,
    untracked files included (a plugin's file that was never committed is not at that commit).
    """
    directory = directory or Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True,
                                  timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = (git("status", "--porcelain", "--", ".") if only_here
              else git("status", "--porcelain", "--untracked-files=no"))
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """The installed version of each package (``None``: not installed)."""
    found: dict[str, str | None] = {}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


@lru_cache(maxsize=1)
def environment() -> dict[str, object]:
    """The device JAX runs on and the versions of the numerical stack."""
    device = jax.devices()[0]
    versions = package_versions()
    name = (device.device_kind if device.platform != "cpu"
            else f"{_cpu_model()} ({os.cpu_count()} cores)")
    return {
        "platform": device.platform,
        "device": name,
        "device_count": jax.device_count(),
        "process_count": jax.process_count(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "versions": versions,
    }


def peak_memory() -> dict[str, int | None]:
    """Peak memory so far in this process: the device's (where the platform reports it, as on
    GPUs) and the host's resident set size. Both are process-wide high-water marks."""
    device_peak = None
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # noqa: BLE001 (platforms without memory statistics raise various errors)
        stats = None
    if stats:
        device_peak = stats.get("peak_bytes_in_use")
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"device_peak_bytes": device_peak,
            "host_peak_rss_bytes": int(rss_kib) * 1024 if sys.platform != "darwin" else int(rss_kib)}
