"""Shared fixtures: importing ``suite.engine`` turns on float64 for every test."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import suite.engine  # noqa: F401  (turns on float64)
from suite.bench.build import build_model
from suite.bench.config import ModelConfig
from suite.engine.hamiltonian import J1J2Hamiltonian
from suite.engine.lattice import SquareLattice
from suite.engine.models import init_parameters

TINY_MATRIX = """
name = "tiny"
[fixed]
L = 4
layers = 1
d = 4
heads = 2
samples = 32
steps = 6
seed = 3
[axes]
attention = ["t5", "factored"]
J2 = [0.5]
"""
"""A two-cell matrix that runs in seconds (for runner and command-line tests)."""

SMALL_MODELS = {
    "t5": ModelConfig(attention="t5", layers=2, d=8, heads=2, patch=2),
    "decoupled": ModelConfig(attention="decoupled", layers=2, d=8, heads=2, patch=2),
    "factored": ModelConfig(attention="factored", layers=2, d=8, heads=2, patch=2),
    "rbm": ModelConfig(model="rbm", alpha=1),
}


def random_model(name: str, L: int = 4, seed: int = 0, spread: float = 1.0):
    """A small model with random parameters, perturbed so that |psi|^2 is far from flat."""
    model = build_model(SMALL_MODELS[name], L)
    key_init, key_noise = jax.random.split(jax.random.key(seed))
    params = init_parameters(model, key_init, L * L)
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key_noise, len(leaves))
    leaves = [leaf + spread * 0.3 * jax.random.normal(k, leaf.shape, leaf.dtype)
              for leaf, k in zip(leaves, keys, strict=True)]
    return model, jax.tree_util.tree_unflatten(tree, leaves)


@pytest.fixture(scope="session")
def hamiltonian_4x4():
    return {J2: J1J2Hamiltonian(SquareLattice.square(4), 1.0, J2) for J2 in (0.0, 0.5)}


def log_psi_of(model, params):
    return jax.jit(lambda configs: model.apply({"params": params}, jnp.asarray(configs)))
