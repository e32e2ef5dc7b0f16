"""Reference ground-state energies and published results, read from ``suite/report/data/references.toml``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Reference:
    """A cited ground-state energy per site (spin-1/2 units, J1 = 1)."""

    id: str
    L: int
    J2: float
    energy_per_site: float
    uncertainty: float
    kind: str
    citation: str

    def relative_error(self, energy_per_site: float) -> float:
        """(E - E_ref) / |E_ref|."""
        return (energy_per_site - self.energy_per_site) / abs(self.energy_per_site)


@dataclass(frozen=True)
class PublishedResult:
    """A published variational energy, shown beside ours (never used as a reference)."""

    L: int
    J2: float
    label: str
    energy_per_site: float
    citation: str
    uncertainty: float | None = None
    parameters: int | None = None
    attention: str | None = None
    layers: int | None = None
    cost: str | None = None
    seconds_per_step: float | None = None
    device: str | None = None


@lru_cache(maxsize=1)
def _load() -> dict:
    text = resources.files("suite.report").joinpath("data/references.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_references() -> tuple[Reference, ...]:
    """Every reference energy in the package data file."""
    return tuple(Reference(**entry) for entry in _load()["reference"])


def load_published() -> tuple[PublishedResult, ...]:
    """Every published variational result in the package data file."""
    return tuple(PublishedResult(**entry) for entry in _load()["published"])


def find_reference(L: int, J2: float, J1: float = 1.0) -> Reference | None:
    """The reference for an L x L lattice at J2 (J1 = 1), or ``None`` if none is known."""
    if J1 != 1.0:
        return None
    for reference in load_references():
        if reference.L == L and abs(reference.J2 - J2) < 1e-12:
            return reference
    return None


def references_text() -> str:
    """The reference energies and published results as the text ``nqsbench references`` prints."""
    lines = ["Reference ground-state energies per site (J1 = 1, spin-1/2 units)",
             f"{'id':26s} {'L':>3s} {'J2':>5s} {'E/N':>14s} {'uncertainty':>11s}  kind        "
             "citation"]
    for ref in load_references():
        lines.append(f"{ref.id:26s} {ref.L:3d} {ref.J2:5.2f} {ref.energy_per_site:14.10f} "
                     f"{ref.uncertainty:11.1e}  {ref.kind:11s} {ref.citation}")
    lines.append("\nPublished variational results (shown beside ours, never used as references)")
    for pub in load_published():
        params = f"{pub.parameters:,}" if pub.parameters else "-"
        lines.append(f"L={pub.L:<3d} J2={pub.J2:<4g} {pub.energy_per_site:12.7f}  {params:>10s}  "
                     f"{pub.label}; {pub.cost or ''} [{pub.citation}]")
    return "\n".join(lines) + "\n"
