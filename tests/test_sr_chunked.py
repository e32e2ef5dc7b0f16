"""The chunked SR solver gives the dense solver's direction without the (M, 2, P) Jacobian.

Float64 throughout; every comparison is to 1e-10 relative to the largest component of the
dense result (measured: 1e-13 in sample space, 1e-11 in parameter space).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SMALL_MODELS

from suite.bench.build import build_model, build_vmc
from suite.bench.config import ModelConfig, OptimizerConfig, RunConfig, SamplerConfig, SystemConfig
from suite.engine.models import init_parameters
from suite.engine.sampler import MetropolisExchange
from suite.engine.sr import (
    BLOCK_BYTES,
    DENSE_JACOBIAN_BYTES,
    choose_solver,
    solver_chunk_size,
    sr_direction,
    sr_direction_chunked,
)
from suite.engine.vmc import VMC
from suite.errors import ConfigError

TOLERANCE = 1e-10
TINY = {  # one layer, d = 4: P ~ 300 > 2M = 100, so M = 50 samples are solved in sample space
    name: ModelConfig(attention=name, layers=1, d=4, heads=2, patch=2)
    for name in ("t5", "decoupled", "factored")
}


def _problem(name: str, n_samples: int, hamiltonian, seed: int = 0):
    """A random small model, M random Sz=0 configurations, their local energies and Jacobian."""
    model = build_model(TINY.get(name, SMALL_MODELS[name]), 4)
    leaves, tree = jax.tree_util.tree_flatten(init_parameters(model, jax.random.key(seed), 16))
    keys = jax.random.split(jax.random.key(seed + 100), len(leaves))
    params = jax.tree_util.tree_unflatten(tree, [  # away from the flat initial state
        leaf + 0.3 * jax.random.normal(k, leaf.shape, leaf.dtype)
        for leaf, k in zip(leaves, keys, strict=True)])
    rng = np.random.default_rng(seed)
    configs = jnp.asarray(np.array([rng.permutation([1] * 8 + [-1] * 8)
                                    for _ in range(n_samples)]))
    vmc = VMC(model, hamiltonian, MetropolisExchange(16, n_chains=16, chunk_size=16384),
              learning_rate=0.02, diag_shift=1e-3)

    @jax.jit
    def energies_and_jacobian(p, c):
        return vmc.local_energies(p, c, vmc.log_psi(p)(c)), vmc.per_sample_jacobian(p, c)

    return model, params, configs, *energies_and_jacobian(params, configs)


def _assert_same(chunked, dense):
    for name in ("direction", "gradient"):
        expected = np.asarray(getattr(dense, name))
        np.testing.assert_allclose(np.asarray(getattr(chunked, name)), expected, rtol=0,
                                   atol=TOLERANCE * np.abs(expected).max())
    assert not bool(chunked.used_fallback) and not bool(dense.used_fallback)


def _dense(jacobian, e_loc, mode, weights=None):
    return jax.jit(lambda j, e, w: sr_direction(j, e, 1e-3, mode, w))(jacobian, e_loc, weights)


def _chunked(model, params, configs, e_loc, chunk, mode, weights=None):
    def solve(p, c, e, w):
        return sr_direction_chunked(lambda q, b: model.apply({"params": q}, b), p, c, e, 1e-3,
                                    chunk, mode, w)

    return jax.jit(solve)(params, configs, e_loc, weights)


# chunk sizes against M = 50: 7 -> 8 blocks of 7 (6 padded rows), 16 -> 4 blocks of 13 (2 padded),
# 25 -> 2 blocks of 25 (none), 64 -> one block (the dense path)
@pytest.mark.parametrize(("name", "chunks"), [
    ("t5", (7,)), ("decoupled", (16,)), ("factored", (25,)), ("rbm", (7, 16, 64)),
])
def test_sample_space_chunked_equals_dense(name, chunks, hamiltonian_4x4):
    model, params, configs, e_loc, jacobian = _problem(name, 50, hamiltonian_4x4[0.5])
    assert jacobian.shape[2] > 2 * 50  # sample space under auto
    dense = _dense(jacobian, e_loc, "sample")
    for chunk in chunks:
        _assert_same(_chunked(model, params, configs, e_loc, chunk, "auto"), dense)


def test_weighted_samples_chunked_equals_dense(hamiltonian_4x4):
    """Exact enumeration passes |psi|^2 as weights: the chunked solver takes them too."""
    model, params, configs, e_loc, jacobian = _problem("rbm", 50, hamiltonian_4x4[0.5], seed=1)
    weights = jnp.asarray(np.random.default_rng(2).uniform(0.1, 1.0, 50))
    weights = weights / jnp.sum(weights)
    dense = _dense(jacobian, e_loc, "sample", weights)
    _assert_same(_chunked(model, params, configs, e_loc, 16, "sample", weights), dense)


def test_parameter_space_chunked_equals_dense(hamiltonian_4x4):
    """P = 576 < 2M: the P x P metric accumulated block by block (301 = 5 x 61 - 4 samples)."""
    model, params, configs, e_loc, jacobian = _problem("rbm", 301, hamiltonian_4x4[0.5])
    assert jacobian.shape[2] < 2 * 301  # parameter space under auto
    dense = _dense(jacobian, e_loc, "parameter")
    _assert_same(_chunked(model, params, configs, e_loc, 64, "auto"), dense)


def test_auto_picks_chunked_above_the_dense_jacobian_limit():
    n_parameters = 185_000  # about the paper's 10x10 model
    assert choose_solver("auto", 4096, n_parameters) == "chunked"  # 12 GB of Jacobian
    assert choose_solver("auto", 4096, n_parameters, n_devices=8) == "dense"  # 1.5 GB each
    assert choose_solver("auto", 512, n_parameters) == "dense"
    assert choose_solver("auto", 512, n_parameters, itemsize=4) == "dense"
    limit = DENSE_JACOBIAN_BYTES // 16  # M = 1 sample: 2 P x 8 bytes
    assert choose_solver("auto", 1, limit) == "dense"
    assert choose_solver("auto", 1, limit + 1) == "chunked"
    assert choose_solver("chunked", 1, 1) == "chunked" and choose_solver("dense", 10**6, 10**6) \
        == "dense"
    with pytest.raises(ValueError, match="unknown SR solver"):
        choose_solver("sparse", 1, 1)
    # blocks: the network chunk, lowered to fit BLOCK_BYTES, or what was asked
    assert solver_chunk_size(n_parameters, 8, 16384) == BLOCK_BYTES // (16 * n_parameters) == 181
    assert solver_chunk_size(1000, 8, 100) == 100
    assert solver_chunk_size(10**12, 8, None) == 1
    assert solver_chunk_size(n_parameters, 8, 16384, requested=7) == 7
    with pytest.raises(ValueError, match="positive"):
        solver_chunk_size(10, requested=0)


def test_sr_solver_is_a_validated_setting_that_reaches_the_engine():
    config = RunConfig(optimizer=OptimizerConfig(sr_solver="chunked"))
    assert build_vmc(config).sr_solver == "chunked"
    assert build_vmc(RunConfig()).sr_solver == "dense"  # the default, as before the setting
    with pytest.raises(ConfigError, match="sr_solver"):
        OptimizerConfig(sr_solver="sparse").validate()
    with pytest.raises(ValueError, match="unknown SR solver"):
        VMC(None, None, None, learning_rate=0.1, diag_shift=0.1, sr_solver="sparse")


# Two VMC steps with each solver, on one device and (chunked) on 4 virtual CPU devices: the
# device count is fixed when JAX starts, hence a subprocess (as in tests/test_sharding.py).
STEPS = textwrap.dedent("""
    import json
    import jax, numpy as np
    import suite.engine
    from jax.flatten_util import ravel_pytree
    from suite.bench.build import build_vmc
    from suite.bench.config import (ModelConfig, OptimizerConfig, RunConfig, SamplerConfig,
                                    SystemConfig)
    from suite.engine.sharding import replicated, sample_mesh, shard_state, state_shardings

    def engine(solver):  # P = 576 > 2M = 128: sample space; SR blocks of the chunk_size 24
        return build_vmc(RunConfig(
            system=SystemConfig(L=4, J2=0.5),
            model=ModelConfig(model="rbm", alpha=1),
            sampler=SamplerConfig(n_samples=64, chunk_size=24),
            optimizer=OptimizerConfig(sr_solver=solver)))

    def two_steps(vmc, state, **jit):
        step = jax.jit(vmc.step, **jit)
        state, _ = step(state)
        state, info = step(state)
        return np.asarray(ravel_pytree(state.params)[0]), bool(info.sr_fallback)

    dense, chunked = engine("dense"), engine("chunked")
    state = dense.init(jax.random.key(0))
    start = np.asarray(ravel_pytree(state.params)[0])
    results = {"dense": two_steps(dense, state), "chunked": two_steps(chunked, state)}
    mesh = sample_mesh(jax.devices())
    chunked.mesh = mesh
    sharded = shard_state(state, mesh)
    results["sharded"] = two_steps(chunked, sharded, out_shardings=(
        state_shardings(sharded, mesh), replicated(mesh)))
    print(json.dumps({
        "devices": len(jax.devices()),
        "blocks": [chunked.solver(64, start.size), chunked.solver_chunk_size(start.size)],
        "update": float(np.max(np.abs(results["dense"][0] - start))),
        "fallback": [fallback for _, fallback in results.values()],
        "difference": {name: float(np.max(np.abs(flat - results["dense"][0])))
                       for name, (flat, _) in results.items()},
    }))
""")


def test_chunked_steps_equal_dense_steps_on_one_and_on_four_devices():
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4"}
    done = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"] == 4 and result["blocks"] == ["chunked", 24]
    assert result["update"] > 1e-3  # two real SR steps were taken
    assert not any(result["fallback"])
    assert result["difference"]["chunked"] <= TOLERANCE
    assert result["difference"]["sharded"] <= TOLERANCE


def test_the_chunked_step_never_holds_the_jacobian():
    """XLA's own account of the compiled step's temporary buffers: the dense step holds the
    (M, 2, P) Jacobian (and the centred X beside it), the chunked one stays far below one."""
    def temp_bytes(solver):
        vmc = build_vmc(RunConfig(system=SystemConfig(L=4), model=ModelConfig(model="rbm", alpha=64),
                                  sampler=SamplerConfig(n_samples=256, chunk_size=16),
                                  optimizer=OptimizerConfig(sr_solver=solver)))
        state = jax.eval_shape(vmc.init, jax.random.key(0))
        n_parameters = sum(leaf.size for leaf in jax.tree_util.tree_leaves(state.params))
        compiled = jax.jit(vmc.step).lower(state).compile()
        return compiled.memory_analysis().temp_size_in_bytes, n_parameters

    dense, n_parameters = temp_bytes("dense")
    chunked, _ = temp_bytes("chunked")
    jacobian = 256 * 2 * n_parameters * 8  # 143 MB at P = 34,848
    assert n_parameters == 34_848
    assert dense >= jacobian
    assert chunked < jacobian / 4  # measured: 286 MB dense, 22 MB chunked
