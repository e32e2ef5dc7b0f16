"""Samples sharded over 4 virtual CPU devices give the single-device step (float64, 1e-10).

The check runs in a subprocess because the number of host devices is fixed when JAX starts
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from suite.engine.sharding import check_divisible, initialize_cluster, select_devices
from suite.errors import ConfigError

SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, numpy as np
    import suite.engine
    from jax.flatten_util import ravel_pytree
    from suite.bench.config import ModelConfig, OptimizerConfig, RunConfig, SamplerConfig, SystemConfig
    from suite.engine.sharding import replicated, sample_mesh, shard_state, state_shardings
    from suite.bench.build import build_vmc

    mode = sys.argv[1]
    config = RunConfig(system=SystemConfig(L=4, J2=0.5),
                       model=ModelConfig(attention="t5", layers=1, d=8, heads=2),
                       sampler=SamplerConfig(n_samples=int(sys.argv[2]), chunk_size=None),
                       optimizer=OptimizerConfig(sr_mode=mode))
    vmc = build_vmc(config)
    state = vmc.init(jax.random.key(0))
    single_state, single = jax.jit(vmc.step)(state)
    single_state, single = jax.jit(vmc.step)(single_state)  # two steps: chains carry over

    mesh = sample_mesh(jax.devices())
    vmc.mesh = mesh
    sharded_state = shard_state(state, mesh)
    shardings = (state_shardings(sharded_state, mesh), replicated(mesh))
    step = jax.jit(vmc.step, out_shardings=shardings)
    sharded_state, sharded = step(sharded_state)
    sharded_state, sharded = step(sharded_state)

    flat_single = np.asarray(ravel_pytree(single_state.params)[0])
    flat_sharded = np.asarray(ravel_pytree(sharded_state.params)[0])
    chains = sharded_state.sampler.configs
    print(json.dumps({
        "devices": len(jax.devices()),
        "chain_shards": len(chains.addressable_shards),
        "shard_rows": [s.data.shape[0] for s in chains.addressable_shards],
        "energy": [float(single.energy), float(sharded.energy)],
        "max_parameter_difference": float(np.max(np.abs(flat_single - flat_sharded))),
        "update_size": float(np.max(np.abs(flat_single - np.asarray(
            ravel_pytree(state.params)[0])))),
        "same_chains": bool(np.array_equal(np.asarray(single_state.sampler.configs),
                                           np.asarray(chains))),
    }))
""")


@pytest.mark.parametrize(("mode", "samples"), [
    ("sample", 64),
    pytest.param("parameter", 1024, marks=pytest.mark.slow),  # 23 s: one mode by default
])
def test_sharded_step_equals_single_device_step(mode, samples):
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(samples)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"] == 4
    assert result["chain_shards"] == 4 and result["shard_rows"] == [samples // 4] * 4
    assert result["same_chains"]  # the same random numbers, whatever the sharding
    single, sharded = result["energy"]
    assert sharded == pytest.approx(single, abs=1e-10)
    assert result["update_size"] > 1e-4  # two real SR steps were taken
    assert result["max_parameter_difference"] < 1e-10


def test_device_selection_and_divisibility_errors_name_the_fix():
    assert len(select_devices("all")) >= 1 and len(select_devices(1)) == 1
    with pytest.raises(ConfigError, match="devices"):
        select_devices(10_000)
    with pytest.raises(ConfigError, match="'all' or a positive integer"):
        select_devices("many")

    class FakeMesh:
        size = 4

    with pytest.raises(ConfigError, match="multiple of 4"):
        check_divisible(30, FakeMesh())
    check_divisible(32, FakeMesh())


def test_no_cluster_environment_means_a_single_process():
    assert initialize_cluster({}) is False
    assert initialize_cluster({"SLURM_NTASKS": "1"}) is False
