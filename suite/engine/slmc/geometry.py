"""The L x L periodic square lattice of the double-exchange model: hopping, distance shells,
sublattices.

Sites are numbered row-major, site ``x * L + y`` at row ``x``, column ``y``, as in
:mod:`suite.engine.lattice`. Unlike there, L = 2 is allowed: on a 2 x 2 torus the neighbours
x + 1 and x - 1 are one site, so the hopping matrix (a sum over the four shifts) has entries 2,
which is what the periodic 2 x 2 lattice means; the small lattices serve the exact tests.
"""

from __future__ import annotations

import numpy as np

from suite.errors import ConfigError


def check_size(L: int) -> None:
    """Raise :class:`ConfigError` unless ``L`` is an integer >= 2."""
    if isinstance(L, bool) or not isinstance(L, int) or L < 2:
        raise ConfigError("L", f"must be an integer >= 2 (the side of the periodic square lattice), "
                               f"got {L!r}")


def coordinates(L: int) -> np.ndarray:
    """Row and column of every site, shape (N, 2)."""
    check_size(L)
    return np.stack(np.divmod(np.arange(L * L), L), axis=1)


def hopping_matrix(L: int) -> np.ndarray:
    """The nearest-neighbour adjacency K (N x N, symmetric): K_ij counts the shifts
    (+-1, 0), (0, +-1) that take i to j on the torus, so the kinetic energy is -t c^dag K c."""
    xy = coordinates(L)
    K = np.zeros((L * L, L * L))
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        target = ((xy[:, 0] + dx) % L) * L + (xy[:, 1] + dy) % L
        np.add.at(K, (np.arange(L * L), target), 1.0)
    return K


def squared_distances(L: int) -> np.ndarray:
    """Minimal-image squared distance between every pair of sites, integers, shape (N, N)."""
    xy = coordinates(L)
    d = np.abs(xy[:, None, :] - xy[None, :, :])
    d = np.minimum(d, L - d)
    return (d ** 2).sum(axis=-1)


def distance_shells(L: int) -> tuple[np.ndarray, np.ndarray]:
    """The shells of equal distance: shell 0 is the site itself, shell 1 the nearest neighbours,
    shell 2 the diagonal ones, and so on by increasing minimal-image distance.

    Returns:
        ``(shell, radii)``: ``shell[i, j]`` the shell index of the pair (N x N, int), ``radii``
        the distance of each shell (``radii[0] == 0``).
    """
    r2 = squared_distances(L)
    values = np.unique(r2)
    return np.searchsorted(values, r2).astype(np.int32), np.sqrt(values.astype(float))


def shell_count(L: int) -> int:
    """Number of shells beyond the site itself on an L x L torus."""
    return len(distance_shells(L)[1]) - 1


def shell_matrices(L: int, shells: int, *, include_self: bool) -> np.ndarray:
    """One 0/1 matrix per shell, shape (n, N, N): shells 1..``shells`` (0..``shells`` with
    ``include_self``). ``B[k] @ S`` sums the spins of shell k around every site.

    Raises:
        ConfigError: ``shells`` is below 1 or beyond the lattice's last shell.
    """
    available = shell_count(L)
    if isinstance(shells, bool) or not isinstance(shells, int) or not 1 <= shells <= available:
        raise ConfigError("shells", f"must be an integer in 1..{available} on an {L} x {L} "
                                    f"lattice (its distinct distances), got {shells!r}")
    shell, _ = distance_shells(L)
    first = 0 if include_self else 1
    return np.stack([(shell == k).astype(float) for k in range(first, shells + 1)])


def staggered_signs(L: int) -> np.ndarray:
    """(-1)^(x + y) per site: the Neel pattern (a true two-sublattice order needs even L)."""
    xy = coordinates(L)
    return np.where((xy.sum(axis=1) % 2) == 0, 1.0, -1.0)


__all__ = ["check_size", "coordinates", "distance_shells", "hopping_matrix", "shell_count",
           "shell_matrices", "squared_distances", "staggered_signs"]
