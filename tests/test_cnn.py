"""The periodic-convolution ResNet wave function: parameter counts, translation invariance, numerics."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from suite.engine.models import CNN, count_parameters, init_parameters
from suite.engine.models.cnn import cnn_parameter_count


def _random_spins(key: int, n: int, n_sites: int) -> jnp.ndarray:
    return jnp.where(jax.random.bernoulli(jax.random.key(key), 0.5, (n, n_sites)), 1.0, -1.0)


def _init(L: int, seed: int = 0, **kwargs):
    model = CNN(L=L, **kwargs)
    return model, init_parameters(model, jax.random.key(seed), L * L)


def _translations(config: np.ndarray, L: int) -> np.ndarray:
    """All L*L translations of one configuration (L*L,), rolled along both axes of the (L, L) grid."""
    grid = np.asarray(config).reshape(L, L)
    return np.stack([np.roll(grid, (dx, dy), axis=(0, 1)).reshape(-1)
                     for dx, dy in itertools.product(range(L), range(L))])


@pytest.mark.parametrize(("channels", "layers", "kernel"),
                         [(8, 2, 3), (4, 1, 3), (6, 3, 5), (3, 0, 1), (16, 4, 3), (5, 2, 7)])
def test_parameter_count_matches_the_formula(channels, layers, kernel):
    model = CNN(L=6, channels=channels, layers=layers, kernel=kernel)
    shapes = jax.eval_shape(lambda k: init_parameters(model, k, 36), jax.random.key(0))
    assert count_parameters(shapes) == cnn_parameter_count(channels, layers, kernel)


def test_parameter_count_hand_computed():
    # embedding k^2 C + C, per block 2 (k^2 C^2 + C), two heads 2 (C^2 + C):
    # C=8, n=2, k=3: 9*8+8 + 2*2*(9*64+8) + 2*(64+8) = 80 + 2336 + 144 = 2560
    # C=4, n=1, k=3: 9*4+4 + 2*1*(9*16+4) + 2*(16+4) = 40 + 296 + 40 = 376
    # C=6, n=3, k=5: 25*6+6 + 2*3*(25*36+6) + 2*(36+6) = 156 + 5436 + 84 = 5676
    for (channels, layers, kernel), expected in [((8, 2, 3), 2560), ((4, 1, 3), 376), ((6, 3, 5), 5676)]:
        assert cnn_parameter_count(channels, layers, kernel) == expected
        model, params = _init(10, channels=channels, layers=layers, kernel=kernel)
        assert count_parameters(params) == expected
    assert count_parameters(_init(4)[1]) == 2560  # the defaults, and independent of L


@pytest.mark.parametrize("L", [4, 6])
def test_every_translation_gives_the_same_log_amplitude(L):
    model, params = _init(L, seed=L)
    for config in np.asarray(_random_spins(L, 3, L * L)):
        out = np.asarray(model.apply({"params": params}, jnp.asarray(_translations(config, L))))
        np.testing.assert_allclose(out, out[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("L", [4, 6])
def test_translation_invariance_with_order_one_parameters(L):
    """Heads scaled up so that z = a + ib is O(1): invariance must not rely on a near-linear regime."""
    model, params = _init(L, seed=L + 1)
    params = {**params, **{h: jax.tree_util.tree_map(lambda p: 30 * p, params[h])
                           for h in ("head_real", "head_imag")}}
    config = np.asarray(_random_spins(7, 1, L * L))[0]
    out = np.asarray(model.apply({"params": params}, jnp.asarray(_translations(config, L))))
    np.testing.assert_allclose(out.real, out.real[0], rtol=0, atol=1e-12)
    phase = np.angle(np.exp(1j * (out.imag - out.imag[0])))  # the phase is defined modulo 2 pi
    np.testing.assert_allclose(phase, 0, atol=1e-12)
    assert np.ptp(model.apply({"params": params}, _random_spins(8, 8, L * L)).real) > 1e-3


@pytest.mark.parametrize("L", [4, 6])
def test_a_transposition_that_is_not_a_translation_changes_the_log_amplitude(L):
    model, params = _init(L, seed=L)
    config = np.asarray(_random_spins(11, 1, L * L))[0]
    i = 0
    j = next(j for j in range(L + 2, L * L) if config[j] != config[i])  # not on the same row
    swapped = config.copy()
    swapped[[i, j]] = swapped[[j, i]]
    assert not any(np.array_equal(swapped, t) for t in _translations(config, L))
    out = model.apply({"params": params}, jnp.asarray(np.stack([config, swapped])))
    assert abs(complex(out[0] - out[1])) > 1e-8


@pytest.mark.parametrize(("dtype", "complex_dtype"), [(jnp.float64, jnp.complex128),
                                                      (jnp.float32, jnp.complex64)])
def test_output_shape_dtype_real_parameters_and_scale(dtype, complex_dtype):
    model, params = _init(10, dtype=dtype)
    for leaf in jax.tree_util.tree_leaves(params):
        assert not jnp.iscomplexobj(leaf) and leaf.dtype == dtype
    out = model.apply({"params": params}, _random_spins(1, 64, 100))
    assert out.shape == (64,) and out.dtype == complex_dtype
    assert bool(jnp.all(jnp.isfinite(out)))
    assert float(jnp.max(jnp.abs(out))) < 1.0  # O(1) at L = 10: no blow-up at init
    assert float(jnp.ptp(out.real)) > 0 and float(jnp.ptp(out.imag)) > 0  # not constant


def test_input_dtype_does_not_matter():
    model, params = _init(4)
    x = _random_spins(2, 5, 16)
    np.testing.assert_array_equal(model.apply({"params": params}, x),
                                  model.apply({"params": params}, x.astype(jnp.float32)))


def test_gradient_is_finite_and_reaches_every_parameter():
    model, params = _init(6, layers=3)
    x = _random_spins(3, 16, 36)
    grads = jax.grad(lambda p: jnp.sum(model.apply({"params": p}, x)).real)(params)
    leaves = jax.tree_util.tree_leaves(grads)
    assert len(leaves) == len(jax.tree_util.tree_leaves(params))
    for leaf in leaves:
        assert bool(jnp.all(jnp.isfinite(leaf))) and float(jnp.max(jnp.abs(leaf))) > 0


def test_jit_and_batch_size_one():
    model, params = _init(6)
    x = _random_spins(4, 4, 36)
    apply = jax.jit(lambda p, s: model.apply({"params": p}, s))
    batch = apply(params, x)
    for b in range(4):
        single = apply(params, x[b:b + 1])
        assert single.shape == (1,)
        np.testing.assert_allclose(single[0], batch[b], rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.apply({"params": params}, x), batch, rtol=0, atol=1e-12)


def test_the_periodic_convolution_is_a_circular_convolution():
    """PeriodicConv (shifts + one dense layer) computes what a circular nn.Conv computes with the
    same kernel, reshaped (k, k, C_in, C_out) -> (k^2 C_in, C_out)."""
    import flax.linen as nn

    from suite.engine.models.cnn import PeriodicConv

    h = jax.random.normal(jax.random.key(3), (2, 6, 6, 3))
    conv = nn.Conv(4, (3, 3), padding="CIRCULAR", param_dtype=jnp.float64)
    params = conv.init(jax.random.key(4), h)["params"]
    ours = PeriodicConv(4, 3).apply(
        {"params": {"kernel": {"kernel": params["kernel"].reshape(27, 4),
                               "bias": params["bias"]}}}, h)
    np.testing.assert_allclose(ours, conv.apply({"params": params}, h), rtol=0, atol=1e-12)


def test_the_marshall_sign_is_a_fixed_phase():
    """marshall_sign adds i pi (down spins on sublattice A) and nothing else; in the Sz=0 sector
    of L = 4 (N/2 = 8 even) translations keep the amplitude."""
    L = 4
    plain, signed = CNN(L=L), CNN(L=L, marshall_sign=True)
    params = init_parameters(plain, jax.random.key(0), L * L, jnp.float64)
    spins = np.array([1] * 8 + [-1] * 8, dtype=float)
    configs = np.stack([np.random.default_rng(i).permutation(spins) for i in range(6)])
    on_a = np.array([(r + c) % 2 == 0 for r in range(L) for c in range(L)])
    down_on_a = ((1 - configs) / 2 * on_a).sum(axis=1)
    difference = signed.apply({"params": params}, configs) - plain.apply({"params": params},
                                                                         configs)
    np.testing.assert_allclose(difference, 1j * np.pi * down_on_a, atol=1e-12)
    shifted = np.roll(configs.reshape(-1, L, L), 1, axis=2).reshape(-1, L * L)
    ratio = np.exp(signed.apply({"params": params}, shifted)
                   - signed.apply({"params": params}, configs))
    np.testing.assert_allclose(ratio, 1.0, atol=1e-12)
