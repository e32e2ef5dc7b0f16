"""The Shastry-Sutherland model and the paper's exact Factored-attention state (section 4.3)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from suite.engine.exact import basis_configurations, exact_expectation, ground_state, sz0_basis
from suite.engine.lattice import SquareLattice
from suite.engine.models.attention import relative_position_index
from suite.engine.shastry_sutherland import (
    ShastrySutherlandHamiltonian,
    dimer_bonds,
    dimer_singlet_log_amplitudes,
    factored_attention_log_amplitudes,
    paper_construction_log_amplitudes,
    paper_weights,
    partner_patch,
)
from suite.errors import ConfigError

LATTICE = SquareLattice.square(4)
DIMERS = dimer_bonds(LATTICE)


def singlets(configs: np.ndarray, dimers: np.ndarray = DIMERS) -> np.ndarray:
    return np.asarray(dimer_singlet_log_amplitudes(configs, dimers))


@pytest.fixture(scope="module")
def sector() -> np.ndarray:
    """Every Sz=0 configuration of the 4x4 lattice (12870)."""
    return basis_configurations(sz0_basis(16), 16)


@pytest.mark.parametrize("L", [4, 6, 8])
def test_bonds_dimers_cover_every_site_once(L):
    lattice = SquareLattice.square(L)
    n = L * L
    dimers = dimer_bonds(lattice)
    assert dimers.shape == (n // 2, 2)
    assert sorted(dimers.ravel().tolist()) == list(range(n))
    hamiltonian = ShastrySutherlandHamiltonian(lattice, 1.0, 2.0)
    assert hamiltonian.bonds.shape == (2 * n + n // 2, 2)
    assert len({frozenset(b) for b in hamiltonian.bonds.tolist()}) == 2 * n + n // 2
    np.testing.assert_array_equal(hamiltonian.couplings, [1.0] * (2 * n) + [2.0] * (n // 2))
    # every dimer is a diagonal; the two of a 2x2 cell are orthogonal, on diagonal plaquettes
    rows, cols = np.divmod(dimers, L)
    steps = {(int((r1 - r0) % L), int((c1 - c0) % L)) for (r0, r1), (c0, c1) in zip(rows, cols, strict=True)}
    assert steps == {(L - 1, 1), (1, 1)}
    assert dimers[:2].tolist() == [[L, 1], [L + 1, 2 * L + 2]]
    # J = 0 or J' = 0 drops that group, as J1J2Hamiltonian drops J2 = 0
    assert ShastrySutherlandHamiltonian(lattice, 0.0, 1.0).bonds.shape == (n // 2, 2)
    assert ShastrySutherlandHamiltonian(lattice, 1.0, 0.0).bonds.shape == (2 * n, 2)


def test_partner_patch_is_one_down_one_right():
    for L in (4, 6, 8):
        side = L // 2
        for i in range(1, side * side + 1):
            row, col = divmod(i - 1, side)
            assert partner_patch(i, L) == ((row + 1) % side) * side + (col + 1) % side + 1


def test_attention_maps_are_factored():
    """Both heads' maps depend only on the displacement j - i: a Factored attention p_{i-j}."""
    for L in (4, 6):
        attention = paper_weights(L).attention
        index = relative_position_index(L // 2)
        for head in attention:
            positional = np.zeros(index.size // len(index))
            positional[index] = head  # would scatter conflicting values if not a circulant
            np.testing.assert_array_equal(positional[index], head)
            assert head.sum(axis=1).tolist() == [1.0] * len(head)


def test_construction_equals_singlet_product_on_4x4(sector):
    construction = np.asarray(paper_construction_log_amplitudes(sector, 4))
    product = singlets(sector)
    zero = np.isneginf(product.real)
    np.testing.assert_array_equal(np.isneginf(construction.real), zero)
    assert int((~zero).sum()) == 2**8  # one of 2 anti-aligned states per dimer
    assert np.all(product[zero].imag == 0) and np.all(construction[zero].imag == 0)
    ratio = np.exp(construction[~zero] - product[~zero])
    assert np.max(np.abs(ratio / 2**4 - 1)) < 1e-12  # global factor 2^(N/4) = (sqrt 2)^(N/2)
    # the singlet product is normalised: sum |psi|^2 = 1 over the sector
    assert np.sum(np.exp(2 * product[~zero].real)) == pytest.approx(1.0, abs=1e-14)


def test_literal_readings_of_the_text_fail(sector):
    """The two corrections are needed: alpha^(2)_ij = delta_{i,S(i)} (a zero matrix) loses the
    inter-patch dimers (aligned spins on them keep a non-zero amplitude: 2^4 choices on the
    intra-patch dimers times C(8, 4) = 70 Sz=0 fillings of the other 8 sites, 1120 states), and a
    scalar bias c on all four components gives every configuration a zero amplitude."""
    weights = paper_weights(4)
    no_partner = weights._replace(attention=np.stack([weights.attention[0], 0 * weights.attention[1]]))
    literal = np.asarray(factored_attention_log_amplitudes(sector, no_partner, 4))
    assert int((~np.isneginf(literal.real)).sum()) == 2**4 * 70
    scalar_bias = weights._replace(bias=np.full(4, math.pi / 2))
    assert np.all(np.isneginf(np.asarray(factored_attention_log_amplitudes(sector, scalar_bias, 4)).real))


def test_dimer_product_is_the_ground_state_in_the_dimer_phase():
    """J/J' = 0.5: E = -3/4 J' per dimer, -3/8 J' per site, -6 J' on 4x4, with zero variance."""
    hamiltonian = ShastrySutherlandHamiltonian(LATTICE, J=0.5, J_dimer=1.0)
    exact = ground_state(hamiltonian)
    product = exact_expectation(singlets, hamiltonian)
    construction = exact_expectation(lambda c: paper_construction_log_amplitudes(c, 4), hamiltonian)
    assert exact.energy == pytest.approx(-6.0, abs=1e-10)
    assert exact.energy_per_site == pytest.approx(-0.375, abs=1e-10)
    for state in (product, construction):
        assert state.energy == pytest.approx(exact.energy, abs=1e-10)
        assert abs(state.variance) < 1e-10
    overlap = np.vdot(exact.vector, np.exp(singlets(product.configurations)))  # both normalised
    assert abs(overlap) == pytest.approx(1.0, abs=1e-10)


def test_dimer_product_is_not_the_ground_state_at_j_equal_j_dimer():
    """J/J' = 1: the product is still an eigenstate (E = -6, zero variance) but an excited one."""
    hamiltonian = ShastrySutherlandHamiltonian(LATTICE, J=1.0, J_dimer=1.0)
    exact = ground_state(hamiltonian)
    product = exact_expectation(singlets, hamiltonian)
    assert product.energy == pytest.approx(-6.0, abs=1e-10)
    assert abs(product.variance) < 1e-10
    assert exact.energy == pytest.approx(-9.624264440864685, abs=1e-8)
    assert exact.energy < product.energy - 3.0
    overlap = np.vdot(exact.vector, np.exp(singlets(product.configurations)))  # both normalised
    assert abs(overlap) < 1e-6  # eigenvectors of distinct energies


def test_local_energies_are_exact_on_6x6():
    """Beyond exact diagonalisation: J1J2Hamiltonian's shared local energies give -3/8 J' per
    site on every configuration of the construction (L = 6, not a multiple of 4)."""
    lattice = SquareLattice.square(6)
    dimers = dimer_bonds(lattice)
    up = np.random.default_rng(0).integers(0, 2, (32, len(dimers))) * 2 - 1
    configs = np.zeros((32, 36), dtype=np.int8)
    configs[:, dimers[:, 0]], configs[:, dimers[:, 1]] = up, -up
    hamiltonian = ShastrySutherlandHamiltonian(lattice, J=0.6, J_dimer=1.0)

    def log_psi(c):
        return paper_construction_log_amplitudes(c, 6)

    configs = jnp.asarray(configs)
    energies = np.asarray(hamiltonian.local_energies(log_psi, configs, log_psi(configs)))
    np.testing.assert_allclose(energies, -13.5, rtol=0, atol=1e-12)


@pytest.mark.parametrize("L", [5, 7])
def test_odd_lattice_is_a_config_error(L):
    lattice = SquareLattice.square(L)
    for build in (lambda: ShastrySutherlandHamiltonian(lattice), lambda: dimer_bonds(lattice),
                  lambda: paper_weights(L)):
        with pytest.raises(ConfigError) as error:
            build()
        assert error.value.field == "L" and "even" in error.value.message
    with pytest.raises(ConfigError, match="L: "):
        ShastrySutherlandHamiltonian(SquareLattice(4, L))
