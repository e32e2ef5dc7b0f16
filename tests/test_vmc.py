"""The VMC step and the training driver, end to end on 4x4."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from suite.bench.build import build_vmc
from suite.bench.checkpoint import Checkpoint
from suite.bench.config import ModelConfig, OptimizerConfig, RunConfig, SamplerConfig, SystemConfig
from suite.bench.train import train
from suite.engine.exact import exact_energy_per_site
from suite.errors import DivergenceError

# A short, fixed-seed optimisation: factored ViT on the unfrustrated 4x4 (J2/J1 = 0).
OPTIMISATION = RunConfig(
    system=SystemConfig(L=4, J2=0.0),
    model=ModelConfig(attention="factored", layers=1, d=8, heads=2, patch=2),
    sampler=SamplerConfig(n_samples=512),
    optimizer=OptimizerConfig(steps=200, learning_rate=0.05, diag_shift=1e-3),
    seed=0,
    eval_samples=2048,
)

# Measured on the 2-core CPU: -0.70013(55), relative error 2.3e-3, from an energy near zero
# (0.12 per site at step 0). The stated bound is 1%: a broken sampler, local energy or SR step
# (a wrong sign or factor makes the energy climb or stall) fails it.
RELATIVE_ERROR_BOUND = 0.01


def _tiny(**optimizer) -> RunConfig:
    """Two steps of the factored cell of ``conftest.TINY_MATRIX`` (so its compilations are
    shared with the runner's and the CLI's tests through the persistent cache)."""
    return RunConfig(
        system=SystemConfig(L=4, J2=0.5),
        model=ModelConfig(attention="factored", layers=1, d=4, heads=2, patch=2),
        sampler=SamplerConfig(n_samples=32),
        optimizer=OptimizerConfig(**{"steps": 2, **optimizer}),
    )


@pytest.mark.slow  # 200 optimisation steps: 41 s on the 2-core VM
def test_short_run_reaches_a_few_percent_of_the_exact_energy():
    result = train(OPTIMISATION)
    exact = exact_energy_per_site(4, 0.0)
    first = result.trace["energy"][0]
    relative_error = (result.evaluation.energy - exact) / abs(exact)
    assert first > exact * 0.5  # it starts far away...
    assert relative_error + 3 * result.evaluation.error / abs(exact) > 0  # ...stays variational
    assert relative_error < RELATIVE_ERROR_BOUND  # ...and gets close
    assert result.evaluation.n_samples == 2048
    assert result.seconds_per_step > 0 and result.compile_seconds > 0


def _primitive_names(jaxpr) -> set[str]:
    names = set()
    for equation in jaxpr.eqns:
        names.add(equation.primitive.name)
        for value in equation.params.values():
            inner = getattr(value, "jaxpr", value)
            if hasattr(inner, "eqns"):
                names |= _primitive_names(inner)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    item = getattr(item, "jaxpr", item)
                    if hasattr(item, "eqns"):
                        names |= _primitive_names(item)
    return names


def test_step_is_one_traced_function_without_host_callbacks():
    vmc = build_vmc(_tiny())
    state = vmc.init(jax.random.key(0))
    names = _primitive_names(jax.make_jaxpr(vmc.step)(state).jaxpr)
    assert "scan" in names  # the sampler sweeps run inside the step
    assert not {n for n in names if "callback" in n}


def test_step_is_deterministic_given_the_seed():
    config = _tiny()
    a, b = train(config), train(config)
    np.testing.assert_array_equal(a.trace["energy"], b.trace["energy"])
    assert a.evaluation.energy == b.evaluation.energy


def test_float32_runs_in_single_precision():
    config = _tiny()
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, dtype="float32"))
    result = train(config)
    leaves = jax.tree_util.tree_leaves(result.state.params)
    assert {leaf.dtype for leaf in leaves} == {jnp.dtype("float32")}
    assert np.isfinite(result.evaluation.energy)


def test_non_finite_parameters_are_reported_as_divergence():
    config = _tiny()
    vmc = build_vmc(config)
    state = vmc.init(jax.random.key(0))
    state = state._replace(params=jax.tree_util.tree_map(lambda p: p * jnp.nan, state.params))
    with pytest.raises(DivergenceError) as error:
        train(config, resume=Checkpoint.fresh(state))
    assert error.value.step == 0
    assert "nan" in error.value.reason


def test_schedules_reach_their_final_values():
    config = _tiny(learning_rate_schedule="cosine", learning_rate_final=0.001,
                   diag_shift_schedule="exponential", diag_shift=1e-2, diag_shift_final=1e-4)
    vmc = build_vmc(config.validate())
    assert float(vmc.learning_rate(0)) == pytest.approx(OptimizerConfig().learning_rate)
    assert float(vmc.learning_rate(2)) == pytest.approx(0.001)
    assert float(vmc.diag_shift(2)) == pytest.approx(1e-4)


OPTIMISATION_LEVEL_SCRIPT = """
import sys, jax, numpy as np
from suite.bench.build import build_vmc
from suite.bench.config import ModelConfig, RunConfig, SamplerConfig, SystemConfig
from suite.engine.exact import exact_expectation
config = RunConfig(system=SystemConfig(L=4, J2=0.5),
                   model=ModelConfig(attention="t5", layers=1, d=4, heads=2, patch=2),
                   sampler=SamplerConfig(n_samples=32))
vmc = build_vmc(config)
params = vmc.init(jax.random.key(0)).params
log_psi = jax.jit(vmc.log_psi(params))
exact = exact_expectation(log_psi, vmc.hamiltonian)
configs = jax.numpy.asarray(exact.configurations)
e_loc = jax.jit(vmc.local_energies)(params, configs, log_psi(configs))
np.save(sys.argv[1], np.concatenate([np.asarray(log_psi(configs)), np.asarray(e_loc),
                                     [exact.energy]]))
"""


@pytest.mark.slow  # two fresh interpreters, each compiling the model on the whole sector
def test_xla_optimisation_level_0_changes_results_only_by_rounding(tmp_path):
    """What lets the test session compile at level 0 (conftest._compile_quickly): log psi and
    the local energies on all 12,870 Sz=0 states of 4x4, and the exact energy, agree with the
    default level to 1e-13 (they differ in the last bits: an optimisation amplifies that, so
    runs are reproducible at one level, not across levels)."""
    outputs = {}
    for name, flags in (("default", ""), ("level0", "--xla_backend_optimization_level=0")):
        env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        path = tmp_path / f"{name}.npy"
        subprocess.run([sys.executable, "-c", OPTIMISATION_LEVEL_SCRIPT, str(path)], env=env,
                       check=True, capture_output=True, timeout=600)
        outputs[name] = np.load(path)
    assert len(outputs["default"]) == 2 * 12870 + 1
    np.testing.assert_allclose(outputs["level0"], outputs["default"], rtol=1e-13, atol=1e-13)


def test_the_evaluation_reports_the_split_r_hat_of_its_local_energies():
    from suite.engine.stats import split_r_hat

    vmc = build_vmc(_tiny())
    state = vmc.init(jax.random.key(0))
    stats, _, _, r_hat = jax.jit(lambda s: vmc.evaluate(s, 4))(state)
    samples, _ = vmc.sample(state.params, state.sampler, jax.random.fold_in(state.key, 0x5EED), 4)
    e_loc = vmc.estimate(state.params, samples).local_energies
    assert samples.configs.shape[:2] == (32, 4)
    assert float(r_hat) == pytest.approx(float(split_r_hat(jnp.real(e_loc).reshape(32, 4))),
                                         rel=1e-12)
    assert np.isnan(float(jax.jit(lambda s: vmc.evaluate(s, 3))(state)[3]))  # too short
