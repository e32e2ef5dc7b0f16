"""Model structure: Table 1 parameter counts, the identities of section 3.1, numerics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax.core import unfreeze

from suite.bench.build import build_model
from suite.bench.config import ModelConfig
from suite.engine.models import count_parameters, init_parameters, log_cosh
from suite.engine.models.attention import relative_position_index
from suite.engine.models.vit import to_patches

TABLE_1 = [  # Rende & Viteritti (2025), Table 1: h=10, d=60, b=2, 4 layers
    (6, "t5", 184_260), (6, "decoupled", 184_260), (6, "factored", 154_980),
    (10, "t5", 184_900), (10, "decoupled", 184_900), (10, "factored", 155_620),
]


@pytest.mark.parametrize(("L", "attention", "expected"), TABLE_1)
def test_parameter_counts_equal_table_1(L, attention, expected):
    model = build_model(ModelConfig(attention=attention, layers=4, d=60, heads=10, patch=2), L)
    shapes = jax.eval_shape(lambda k: init_parameters(model, k, L * L), jax.random.key(0))
    assert count_parameters(shapes) == expected


def _init(attention: str, L: int = 4, seed: int = 1):
    model = build_model(ModelConfig(attention=attention, layers=2, d=8, heads=2, patch=2), L)
    return model, unfreeze(init_parameters(model, jax.random.key(seed), L * L))


def _random_configs(n: int, n_sites: int = 16, seed: int = 3) -> jnp.ndarray:
    from suite.engine.sampler import random_sz0_configs

    return random_sz0_configs(jax.random.key(seed), n, n_sites)


def _zero_queries_and_keys(params):
    for block in (k for k in params if k.startswith("block_")):
        for name in ("query", "key"):
            layer = params[block]["attention"][name]
            params[block]["attention"][name] = jax.tree_util.tree_map(jnp.zeros_like, layer)
    return params


def test_decoupled_with_zero_queries_and_keys_is_factored_shifted_by_one_over_n():
    decoupled, params = _init("decoupled")
    params = _zero_queries_and_keys(params)
    factored, factored_params = _init("factored")
    n_patches = 4
    for block in (k for k in params if k.startswith("block_")):
        shared = params[block]
        factored_params[block] = {
            **shared,
            "attention": {
                name: value for name, value in shared["attention"].items()
                if name not in ("query", "key")
            },
        }
        factored_params[block]["attention"]["positional"] = (
            shared["attention"]["positional"] + 1.0 / n_patches
        )
    for name in ("embedding", "head"):
        factored_params[name] = params[name]
    configs = _random_configs(32)
    np.testing.assert_allclose(
        np.asarray(decoupled.apply({"params": params}, configs)),
        np.asarray(factored.apply({"params": factored_params}, configs)),
        rtol=1e-12, atol=1e-12,
    )
    # and without the 1/n shift they differ: the identity is not vacuous
    for block in (k for k in params if k.startswith("block_")):
        factored_params[block]["attention"]["positional"] -= 1.0 / n_patches
    assert not np.allclose(np.asarray(decoupled.apply({"params": params}, configs)),
                           np.asarray(factored.apply({"params": factored_params}, configs)))


def _attention_weights(model, params, configs):
    _, state = model.apply({"params": params}, configs, mutable=["intermediates"])
    return [np.asarray(state["intermediates"][block]["attention"]["attention_weights"][0])
            for block in sorted(state["intermediates"])]


def test_t5_with_zero_queries_and_keys_gives_input_independent_weights():
    t5, params = _init("t5")
    configs = _random_configs(8)
    before = _attention_weights(t5, params, configs)
    assert np.std(before[0], axis=0).max() > 1e-3  # input-dependent at initialisation
    after = _attention_weights(t5, _zero_queries_and_keys(params), configs)
    for weights in after:
        np.testing.assert_allclose(weights, np.broadcast_to(weights[:1], weights.shape), atol=1e-14)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-12)  # still a softmax


def test_relative_position_index_is_a_2d_circulant():
    index = relative_position_index(3)
    assert index.shape == (9, 9)
    assert set(np.diag(index)) == {0}
    for row in index:
        assert sorted(row) == list(range(9))  # each row is a permutation: n free parameters
    # translation invariance: shifting both patches by one column leaves the index unchanged
    shift = np.array([(r * 3 + (c + 1) % 3) for r, c in (divmod(i, 3) for i in range(9))])
    np.testing.assert_array_equal(index[np.ix_(shift, shift)], index)


def test_to_patches_groups_b_by_b_blocks_row_major():
    L, b = 4, 2
    x = jnp.arange(L * L)[None]
    patches = np.asarray(to_patches(x, L, b))[0]
    np.testing.assert_array_equal(patches[0], [0, 1, 4, 5])
    np.testing.assert_array_equal(patches[1], [2, 3, 6, 7])
    np.testing.assert_array_equal(patches[2], [8, 9, 12, 13])


def test_log_cosh_is_stable_and_correct():
    z = jnp.array([0.3 + 0.2j, -2.0 + 1.0j, 5.0 - 3.0j, -0.7 - 0.1j])
    np.testing.assert_allclose(np.asarray(log_cosh(z)), np.log(np.cosh(np.asarray(z))), rtol=1e-12)
    big = log_cosh(jnp.array([800.0 + 0.5j, -800.0 + 0.5j]))
    assert np.all(np.isfinite(np.asarray(big)))
    np.testing.assert_allclose(np.asarray(big.real), 800.0 - np.log(2.0), rtol=1e-14)


def test_models_are_real_parametrised_with_complex_output():
    for attention in ("t5", "decoupled", "factored"):
        model, params = _init(attention)
        assert all(jnp.isrealobj(leaf) for leaf in jax.tree_util.tree_leaves(params))
        out = model.apply({"params": params}, _random_configs(4))
        assert out.shape == (4,) and jnp.iscomplexobj(out) and out.dtype == jnp.complex128


def test_float32_models_stay_single_precision():
    model = build_model(ModelConfig(attention="t5", d=8, heads=2, dtype="float32"), 4)
    params = init_parameters(model, jax.random.key(0), 16, jnp.float32)
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(params)} == {jnp.dtype("float32")}
    assert model.apply({"params": params}, _random_configs(2)).dtype == jnp.complex64


@pytest.mark.parametrize("kind", ["t5", "decoupled"])
@pytest.mark.parametrize(("qk_scale", "divisor"), [("embedding", 8), ("head", 4)])
def test_queries_times_keys_are_divided_by_the_chosen_dimension(kind, qk_scale, divisor):
    """Eqs. (4)-(5) of the paper divide q.k by sqrt(d), d the embedding dimension
    (``qk_scale="embedding"``); ``"head"`` divides by sqrt(d/h). d = 8, h = 2 here."""
    from suite.engine.models.attention import RelativePositionAttention

    layer = RelativePositionAttention(kind, d=8, heads=2, side=2, qk_scale=qk_scale)
    x = jax.random.normal(jax.random.key(0), (3, 4, 8))
    params = layer.init(jax.random.key(1), x)["params"]
    _, state = layer.apply({"params": params}, x, mutable=["intermediates"])
    [weights] = state["intermediates"]["attention_weights"]

    def project(name):
        p = params[name]
        return np.asarray(x @ p["kernel"] + p["bias"]).reshape(3, 4, 2, 4)  # (B, n, h, d/h)

    logits = np.einsum("bihc,bjhc->bhij", project("query"), project("key")) / np.sqrt(divisor)
    positional = np.asarray(params["positional"])[:, relative_position_index(2)][None]
    if kind == "t5":
        logits = logits + positional
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    if kind == "decoupled":
        expected = expected + positional
    np.testing.assert_allclose(np.asarray(weights), expected, rtol=1e-12, atol=1e-14)


def test_the_paper_scale_reaches_the_model_and_leaves_parameters_alike():
    head = build_model(ModelConfig(attention="t5", layers=1, d=8, heads=2), 4)
    paper = build_model(ModelConfig(attention="t5", layers=1, d=8, heads=2,
                                    qk_scale="embedding"), 4)
    assert (head.qk_scale, paper.qk_scale) == ("head", "embedding")
    params = init_parameters(head, jax.random.key(0), 16)
    configs = jnp.asarray(np.where(np.random.default_rng(0).permutation(16) < 8, 1, -1)[None],
                          jnp.int8)  # patches differ, so the scale of q.k matters
    assert count_parameters(params) == count_parameters(init_parameters(paper, jax.random.key(0),
                                                                        16))
    assert head.apply({"params": params}, configs) != paper.apply({"params": params}, configs)
