"""Exact diagonalisation in the Sz=0 sector against known ground-state energies."""

from __future__ import annotations

import numpy as np
import pytest

from suite.bench.build import resolve_reference
from suite.engine.exact import exact_energy_per_site, sparse_hamiltonian, sz0_basis
from suite.engine.hamiltonian import J1J2Hamiltonian
from suite.engine.lattice import SquareLattice
from suite.report.references import find_reference, load_references


@pytest.mark.parametrize(("J2", "expected"), [(0.5, -0.5286202095), (0.0, -0.7017802005)])
def test_4x4_ground_state_energy(J2, expected):
    assert exact_energy_per_site(4, J2) == pytest.approx(expected, abs=1e-8)


def test_sector_size_and_hermiticity():
    basis = sz0_basis(16)
    assert basis.shape == (12870,)
    matrix = sparse_hamiltonian(J1J2Hamiltonian(SquareLattice.square(4), 1.0, 0.5), basis)
    assert abs(matrix - matrix.T).max() == 0.0


def test_bond_lists_are_complete_and_unique():
    lattice = SquareLattice.square(4)
    for bonds in (lattice.nearest_neighbour_bonds(), lattice.next_nearest_neighbour_bonds()):
        assert bonds.shape == (2 * 16, 2)
        assert len({frozenset(b) for b in bonds.tolist()}) == 32
    distances = {tuple(sorted(np.abs(np.subtract(divmod(i, 4), divmod(j, 4))) % 2))
                 for i, j in lattice.next_nearest_neighbour_bonds().tolist()}
    assert distances == {(1, 1)}


def test_cited_4x4_references_agree_with_computed_exact():
    for reference in load_references():
        if reference.L == 4:
            assert reference.kind == "exact"
            assert exact_energy_per_site(4, reference.J2) == pytest.approx(
                reference.energy_per_site, abs=1e-10)


def test_resolve_reference_computes_uncited_small_lattices():
    assert find_reference(4, 0.3) is None
    computed = resolve_reference(4, 0.3)
    assert computed.kind == "exact"
    assert computed.energy_per_site == pytest.approx(exact_energy_per_site(4, 0.3))
    assert resolve_reference(12, 0.5) is None
    assert resolve_reference(10, 0.5).id == "chenheyl2024-L10-J2_0.5"
