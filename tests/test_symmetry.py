"""Symmetry projection (issue 15, item 10): the group, the ground state's sector, the projected
state's invariance, and its Monte Carlo energy against exact enumeration."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_model

from suite.engine.exact import basis_configurations, exact_expectation, ground_state, sz0_basis
from suite.engine.symmetry import (
    ground_state_flip_parity,
    point_group_permutations,
    projected_parameters,
    projection_permutations,
    symmetry_projected,
)


def _basis_index(basis: np.ndarray, configs: np.ndarray) -> np.ndarray:
    bits = ((configs + 1) // 2).astype(np.uint64)
    return np.searchsorted(basis, (bits << np.arange(configs.shape[1], dtype=np.uint64)).sum(1))


def test_the_projection_sums_over_the_space_group_modulo_patch_translations():
    """The ViT is invariant under translations by whole patches, so the projection needs one
    element of each coset of them in the space group (all translations x point group): the
    8 b^2 elements times the patch translations give every space-group element exactly once."""
    assert point_group_permutations(4).shape == (8, 16)
    assert len({tuple(p) for p in point_group_permutations(6)}) == 8
    for L, patch in ((4, 2), (6, 2), (6, 3)):
        space_group = {tuple(g) for g in projection_permutations(L, L)}
        assert len(space_group) == 8 * L * L
        assert all(sorted(g) == list(range(L * L)) for g in space_group)  # permutations
        some = list(space_group)[:6]
        assert all(tuple(np.asarray(a)[list(b)]) in space_group for a in some for b in some)
        representatives = projection_permutations(L, patch)
        assert representatives.shape == (8 * patch**2, L * L)
        x, y = np.divmod(np.arange(L * L), L)
        patch_shifts = [((x + dx) % L) * L + (y + dy) % L
                        for dx in range(0, L, patch) for dy in range(0, L, patch)]
        products = [tuple(t[r]) for r in representatives for t in patch_shifts]
        assert len(products) == len(set(products)) and set(products) == space_group


@pytest.mark.parametrize("J2", [0.0, 0.5])
def test_the_4x4_ground_state_lies_in_the_projected_sector(hamiltonian_4x4, J2):
    """Exact diagonalisation: every group element and the spin flip (parity +1 for 16 sites)
    leave the ground state unchanged, so projecting onto that sector cannot lose it."""
    state = ground_state(hamiltonian_4x4[J2])
    configs = basis_configurations(state.basis, 16)
    for g in projection_permutations(4, 2):
        transformed = state.vector[_basis_index(state.basis, configs[:, g])]
        np.testing.assert_allclose(transformed, state.vector, atol=1e-12)
    flipped = state.vector[_basis_index(state.basis, -configs)]
    assert ground_state_flip_parity(16) == 1
    np.testing.assert_allclose(flipped, state.vector, atol=1e-12)


def test_a_projected_vit_is_invariant_and_the_raw_one_is_not():
    model, params = random_model("factored", spread=2.0)
    projected = symmetry_projected(model, 4, 2, 16)
    configs = jnp.asarray(basis_configurations(sz0_basis(16), 16)[::97])
    raw = jax.jit(lambda c: model.apply({"params": params}, c))
    proj = jax.jit(lambda c: projected.apply({"params": projected_parameters(params)}, c))
    rotation, shift = point_group_permutations(4)[1], projection_permutations(4, 2)[9]
    assert np.max(np.abs(raw(configs[:, rotation]) - raw(configs))) > 1e-2
    for g in (rotation, shift):
        np.testing.assert_allclose(np.exp(proj(configs[:, g]) - proj(configs)), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.exp(proj(-configs) - proj(configs)), 1.0, atol=1e-12)


@pytest.mark.slow  # 40 s: the projected network is compiled into the sampler and local energies
def test_the_projected_energy_is_the_exact_one_within_error_bars(hamiltonian_4x4):
    """The projected state's Monte Carlo energy (own Markov chains) against enumeration."""
    from suite.bench.checks import projected_state, projected_vmc
    from suite.bench.train import evaluate
    from suite.engine.sampler import MetropolisExchange
    from suite.engine.vmc import VMC

    model, params = random_model("factored", spread=1.0, seed=2)
    sampler = MetropolisExchange(16, 64, 1, thermalization_sweeps=16, discard_sweeps=2,
                                 chunk_size=4096)
    vmc = VMC(model, hamiltonian_4x4[0.5], sampler, learning_rate=0.0, diag_shift=0.0)
    state = vmc.init(jax.random.key(1))._replace(params=params)
    projected = projected_vmc(vmc, 4, 2)
    start = projected_state(projected, state)
    mc = evaluate(projected, start, 64 * 32)
    exact = exact_expectation(
        lambda c: np.asarray(projected.log_psi(start.params)(jnp.asarray(c))),
        hamiltonian_4x4[0.5])
    assert abs(mc.energy - exact.energy / 16) < 3 * mc.error
    assert mc.error < 5e-3  # the check has teeth: a bar this small
