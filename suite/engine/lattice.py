"""Periodic square lattices and their J1 / J2 bond lists.

Sites are numbered row-major: site ``x * Ly + y`` sits at row ``x``, column ``y``. Every bond is
listed once: on an Lx x Ly torus with Lx, Ly >= 3 there are 2N nearest-neighbour and 2N
next-nearest-neighbour bonds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.errors import ConfigError


@dataclass(frozen=True)
class SquareLattice:
    """An Lx x Ly square lattice with periodic boundaries."""

    Lx: int
    Ly: int

    def __post_init__(self) -> None:
        for name in ("Lx", "Ly"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 3:
                raise ConfigError(
                    name, f"must be an integer >= 3 (smaller tori repeat bonds), got {value!r}"
                )

    @classmethod
    def square(cls, L: int) -> SquareLattice:
        return cls(L, L)

    @property
    def n_sites(self) -> int:
        return self.Lx * self.Ly

    def site(self, x: np.ndarray | int, y: np.ndarray | int) -> np.ndarray:
        return (np.asarray(x) % self.Lx) * self.Ly + (np.asarray(y) % self.Ly)

    def _bonds(self, shifts: tuple[tuple[int, int], ...]) -> np.ndarray:
        x, y = np.divmod(np.arange(self.n_sites), self.Ly)
        pairs = [np.stack([self.site(x, y), self.site(x + dx, y + dy)], axis=1) for dx, dy in shifts]
        return np.concatenate(pairs).astype(np.int32)

    def nearest_neighbour_bonds(self) -> np.ndarray:
        """The 2N nearest-neighbour bonds, shape (2N, 2)."""
        return self._bonds(((1, 0), (0, 1)))

    def next_nearest_neighbour_bonds(self) -> np.ndarray:
        """The 2N diagonal (next-nearest-neighbour) bonds, shape (2N, 2)."""
        return self._bonds(((1, 1), (1, -1)))
