"""The SLMC effective models: the linear model against a brute-force pair sum, the equivariant
Transformer's O(3) and translation equivariance, its reduction to the linear model, validation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from suite.engine.models import count_parameters
from suite.engine.slmc.effective import EquivariantTransformer, LinearEffective, build_effective
from suite.engine.slmc.geometry import squared_distances
from suite.errors import ConfigError

KEY = jax.random.PRNGKey(20240611)
TIGHT = 1e-12
SPINS = EquivariantTransformer.effective_spins


def unit_spins(L: int, batch: int = 3, seed: int = 0) -> np.ndarray:
    """Random unit spins, shape (batch, L * L, 3)."""
    v = np.random.default_rng(seed).normal(size=(batch, L * L, 3))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def with_couplings(params: dict, couplings: int, seed: int = 1) -> dict:
    """``params`` with a nonzero E0 and random J (as after the linear fit)."""
    J = np.random.default_rng(seed).normal(size=couplings)
    return {**params, "E0": jnp.asarray(-0.75), "J": jnp.asarray(J)}


def with_attention(params: dict, scale: float, seed: int = 2) -> dict:
    """``params`` with every attention weight drawn from N(0, scale^2) (scale 0: all zero)."""
    rng = np.random.default_rng(seed)
    return {name: ({w: jnp.asarray(scale * rng.normal(size=v.shape)) for w, v in value.items()}
                   if name.startswith("attention_") else value) for name, value in params.items()}


def transformer(L: int, couplings: int, layers: int, block_shells: int = 1):
    """An initialised Transformer and its parameters (E0, J nonzero; attention at init)."""
    model = EquivariantTransformer(L, couplings, layers, block_shells)
    params = model.init(KEY, jnp.asarray(unit_spins(L, 1)))["params"]
    return model, with_couplings(params, couplings)


def brute_force_energy(spins: np.ndarray, L: int, E0: float, J: np.ndarray) -> np.ndarray:
    """E0 + sum_n J_n sum over unordered pairs i < j at the n-th nonzero distance of S_i . S_j."""
    r2 = squared_distances(L)
    radii = np.unique(r2)[1:]
    energy = np.full(spins.shape[0], E0)
    for i in range(L * L):
        for j in range(i + 1, L * L):
            n = int(np.searchsorted(radii, r2[i, j]))
            if n < len(J):
                energy += J[n] * np.sum(spins[:, i] * spins[:, j], axis=-1)
    return energy


@pytest.mark.parametrize("L, couplings", [(4, 3), (2, 2), (3, 2)])
def test_linear_energy_matches_brute_force_pair_sum(L, couplings):
    model = LinearEffective(L, couplings)
    spins = unit_spins(L, batch=5, seed=L)
    J = np.array([0.7, -1.3, 0.45])[:couplings]
    params = {"E0": jnp.asarray(2.5), "J": jnp.asarray(J)}
    energy = model.apply({"params": params}, jnp.asarray(spins))
    assert energy.shape == (5,) and energy.dtype == jnp.float64
    np.testing.assert_allclose(energy, brute_force_energy(spins, L, 2.5, J), rtol=0, atol=TIGHT)


def test_linear_energy_keeps_batch_dimensions():
    model = LinearEffective(4, 2)
    spins = jnp.asarray(unit_spins(4, batch=6)).reshape(2, 3, 16, 3)
    params = with_couplings(model.init(KEY, spins)["params"], 2)
    energy = model.apply({"params": params}, spins)
    assert energy.shape == (2, 3)
    np.testing.assert_allclose(energy.reshape(6), model.apply({"params": params}, spins.reshape(6, 16, 3)),
                               rtol=0, atol=TIGHT)


def random_orthogonal(seed: int) -> list[np.ndarray]:
    """A random rotation (det +1) and the same times a reflection (det -1)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    rotation = q if np.linalg.det(q) > 0 else q @ np.diag([1.0, 1.0, -1.0])
    return [rotation, rotation @ np.diag([1.0, -1.0, 1.0])]


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_transformer_is_o3_equivariant(layers):
    model, params = transformer(4, 3, layers, block_shells=2)
    params = {"params": with_attention(params, 0.5)}
    spins = jnp.asarray(unit_spins(4))
    effective = model.apply(params, spins, method=SPINS)
    energy = model.apply(params, spins)
    assert np.max(np.abs(effective - spins)) > 0.1  # the attention does act
    for R in random_orthogonal(layers):
        assert np.isclose(abs(np.linalg.det(R)), 1.0)
        turned = spins @ R.T
        np.testing.assert_allclose(model.apply(params, turned, method=SPINS),
                                   effective @ R.T, rtol=0, atol=TIGHT)
        np.testing.assert_allclose(model.apply(params, turned), energy, rtol=0, atol=TIGHT)


@pytest.mark.parametrize("layers", [1, 2])
def test_transformer_is_translation_equivariant(layers):
    L = 4
    model, params = transformer(L, 3, layers, block_shells=2)
    params = {"params": with_attention(params, 0.5)}
    spins = jnp.asarray(unit_spins(L))

    def shift(s):
        return jnp.roll(s.reshape(-1, L, L, 3), (1, 2), axis=(1, 2)).reshape(-1, L * L, 3)

    effective = model.apply(params, spins, method=SPINS)
    np.testing.assert_allclose(model.apply(params, shift(spins), method=SPINS),
                               shift(effective), rtol=0, atol=TIGHT)
    np.testing.assert_allclose(model.apply(params, shift(spins)), model.apply(params, spins),
                               rtol=0, atol=TIGHT)


@pytest.mark.parametrize("layers", [0, 2])
def test_zero_attention_is_the_linear_model(layers):
    model, params = transformer(4, 3, layers)
    params = with_attention(params, 0.0)
    spins = jnp.asarray(unit_spins(4))
    linear = LinearEffective(4, 3).apply({"params": {"E0": params["E0"], "J": params["J"]}}, spins)
    np.testing.assert_allclose(model.apply({"params": params}, spins), linear, rtol=0, atol=TIGHT)
    np.testing.assert_allclose(build_effective("transformer", 4, 3, layers).apply({"params": params}, spins),
                               linear, rtol=0, atol=TIGHT)


def test_nonzero_attention_changes_the_energy():
    model, params = transformer(4, 3, 2)
    spins = jnp.asarray(unit_spins(4))
    linear = LinearEffective(4, 3).apply({"params": {"E0": params["E0"], "J": params["J"]}}, spins)
    energy = model.apply({"params": with_attention(params, 0.5)}, spins)
    assert np.all(np.abs(np.asarray(energy - linear)) > 1e-3)


def test_effective_spins_are_unit_vectors():
    model, params = transformer(4, 2, 3, block_shells=3)
    spins = jnp.asarray(2.0 * unit_spins(4))  # not unit on input: every layer normalises
    effective = model.apply({"params": with_attention(params, 0.5)}, spins,
                            method=SPINS)
    assert effective.shape == spins.shape
    np.testing.assert_allclose(np.linalg.norm(effective, axis=-1), 1.0, rtol=0, atol=TIGHT)


@pytest.mark.parametrize("couplings, layers, block_shells", [(1, 1, 1), (3, 2, 1), (2, 3, 4)])
def test_parameter_counts(couplings, layers, block_shells):
    spins = jnp.asarray(unit_spins(5, 1))
    linear = LinearEffective(5, couplings).init(KEY, spins)["params"]
    assert count_parameters(linear) == 1 + couplings
    model = EquivariantTransformer(5, couplings, layers, block_shells)
    params = model.init(KEY, spins)["params"]
    assert count_parameters(params) == 1 + couplings + 3 * layers * (block_shells + 1)
    assert all(leaf.dtype == jnp.float64 for leaf in jax.tree_util.tree_leaves(params))
    assert float(params["E0"]) == 0.0 and not np.any(params["J"])
    assert np.all(np.abs(params["attention_0"]["wQ"]) > 0)


@pytest.mark.parametrize("kind, args, field", [
    ("linear", dict(L=1, couplings=1), "L"),
    ("linear", dict(L=4, couplings=0), "couplings"),
    ("linear", dict(L=4, couplings=6), "couplings"),  # a 4 x 4 torus has 5 distances
    ("linear", dict(L=4, couplings=2, layers=1), "layers"),
    ("transformer", dict(L=4, couplings=2, layers=-1), "layers"),
    ("transformer", dict(L=4, couplings=2, layers=1, block_shells=0), "block_shells"),
    ("transformer", dict(L=2, couplings=1, layers=1, block_shells=3), "block_shells"),
    ("mlp", dict(L=4, couplings=2), "effective_model"),
])
def test_build_effective_rejects_bad_sizes(kind, args, field):
    with pytest.raises(ConfigError, match=f"^{field}: ") as error:
        build_effective(kind, **args)
    assert error.value.field == field


def test_modules_validate_at_init():
    spins = jnp.asarray(unit_spins(4, 1))
    with pytest.raises(ConfigError, match="^couplings: must be an integer in 1..5"):
        LinearEffective(4, 7).init(KEY, spins)
    with pytest.raises(ConfigError, match="^block_shells: "):
        EquivariantTransformer(4, 2, 1, block_shells=6).init(KEY, spins)


def test_gradient_reaches_the_attention_weights():
    """With J = 0 (the bare init) the energy does not depend on the attention at all, so the
    check uses J as after the linear fit that training starts from (training.with_linear_fit)."""
    model, params = transformer(4, 3, 2)  # attention weights at init, J as after a linear fit
    spins = jnp.asarray(unit_spins(4))
    grads = jax.grad(lambda p: jnp.sum(model.apply({"params": p}, spins)))(params)
    for leaf in jax.tree_util.tree_leaves(grads):
        assert np.all(np.isfinite(leaf))
    for layer in ("attention_0", "attention_1"):
        for name in ("wQ", "wK", "wV"):
            assert np.any(np.abs(grads[layer][name]) > 1e-8), (layer, name)
