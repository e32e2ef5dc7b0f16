"""The NetKet race: the same physics in both engines, and the harness end to end on a tiny cell.

Skipped when NetKet (the ``.[peers]`` extra) is not installed.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from suite.bench.build import build_vmc
from suite.bench.config import ModelConfig, OptimizerConfig, RunConfig, SamplerConfig, SystemConfig
from suite.engine.exact import basis_configurations, exact_energy_per_site, sparse_hamiltonian, sz0_basis
from suite.engine.sr import sr_direction
from suite.perf.netket import compare_with_netket, netket_hamiltonian
from suite.report.races import (
    RaceRecord,
    comparison_record,
    comparison_table,
    load_comparisons,
    write_comparison,
)
from suite.report.records import read_record

nk = pytest.importorskip("netket", reason="NetKet (pip install -e '.[peers]') is not installed")


def _config(J2: float, samples: int = 64, steps: int = 10) -> RunConfig:
    return RunConfig(system=SystemConfig(L=4, J2=J2),
                     model=ModelConfig(attention="t5", layers=1, d=8, heads=2),
                     sampler=SamplerConfig(n_samples=samples),
                     optimizer=OptimizerConfig(steps=steps, learning_rate=0.05, diag_shift=1e-2))


def _netket_problem(config: RunConfig):
    vmc = build_vmc(config)
    hilbert = nk.hilbert.Spin(0.5, vmc.n_sites, total_sz=0)
    lattice = vmc.hamiltonian.lattice
    operator = netket_hamiltonian(nk, config, hilbert, lattice.nearest_neighbour_bonds(),
                                  lattice.next_nearest_neighbour_bonds())
    return vmc, hilbert, operator


@pytest.mark.parametrize("J2", [0.0, 0.5])
def test_netket_operator_has_our_ground_state_energy(J2):
    """NetKet's Pauli-unit Heisenberg with couplings / 4 is our Hamiltonian (exact 4x4)."""
    vmc, _, operator = _netket_problem(_config(J2))
    energy = nk.exact.lanczos_ed(operator)[0] / vmc.n_sites
    assert energy == pytest.approx(exact_energy_per_site(4, J2), abs=1e-10)


def test_one_exact_sr_step_is_netkets_vmc_sr_step():
    """Full-sum SR from the same parameters: our update equals NetKet's VMC_SR to rounding."""
    config = _config(0.5)
    vmc, hilbert, operator = _netket_problem(config)
    params = vmc.init(jax.random.key(0)).params
    learning_rate, shift = 0.05, 1e-2
    state = nk.vqs.FullSumState(hilbert, vmc.model, variables={"params": params})
    driver = nk.driver.VMC_SR(operator, optax.sgd(learning_rate), diag_shift=shift,
                              variational_state=state, use_ntk=False)
    driver.run(1, show_progress=False)

    basis = sz0_basis(vmc.n_sites)
    configs = jnp.asarray(basis_configurations(basis, vmc.n_sites))
    log_psi = np.asarray(vmc.log_psi(params)(configs))
    psi = np.exp(log_psi - log_psi.real.max())
    weights = np.abs(psi) ** 2 / np.sum(np.abs(psi) ** 2)
    local = (sparse_hamiltonian(vmc.hamiltonian, basis) @ psi) / psi
    solution = sr_direction(vmc.per_sample_jacobian(params, configs), jnp.asarray(local), shift,
                            "parameter", weights=jnp.asarray(weights))
    flat, _ = ravel_pytree(params)
    ours = np.asarray(flat - learning_rate * solution.direction)
    theirs = np.asarray(ravel_pytree(state.parameters)[0])
    step = np.max(np.abs(ours - np.asarray(flat)))
    assert step > 1e-3  # a real step, not a no-op
    np.testing.assert_allclose(ours, theirs, atol=1e-10 * max(1.0, step))


@pytest.mark.parametrize("momentum", [None, 0.9])
def test_one_sampled_sr_step_on_the_same_samples_is_netkets(momentum):
    """The race's sampled step: our engine's update (estimate, Jacobian, the sample-space SR
    solve, SPRING's momentum from a previous direction) on a batch of samples equals NetKet's
    ``VMC_SR`` (``use_ntk``, on the fly, as the race runs it) handed the same samples, to
    rounding. So a difference between the engines' optimisations in the race lies in the
    Markov chains, not in what a step does with its samples."""
    from suite.engine.sampler import Samples

    config = _config(0.0, samples=64)
    vmc, hilbert, operator = _netket_problem(config)
    params = vmc.init(jax.random.key(1)).params
    learning_rate, shift = 0.05, 1e-2
    configs = jnp.asarray(basis_configurations(sz0_basis(16), 16)[::191][:64])  # 64 spread states
    assert configs.shape == (64, 16)
    n_parameters = ravel_pytree(params)[0].size
    assert n_parameters > 2 * 64  # the sample-space kernel in both engines

    state = nk.vqs.MCState(nk.sampler.MetropolisExchange(hilbert, graph=nk.graph.Square(4)),
                           vmc.model, variables={"params": params}, n_samples=64)

    def fixed_samples(**_ignored):
        state._samples = configs.reshape(state.sampler.n_chains, -1, 16)
        return state._samples

    state.sample = fixed_samples
    driver = nk.driver.VMC_SR(operator, optax.sgd(learning_rate), diag_shift=shift,
                              momentum=momentum, variational_state=state)
    assert driver.use_ntk and driver.on_the_fly
    driver.run(2 if momentum else 1, show_progress=False)  # SPRING: the second step uses the first

    flat, unravel = ravel_pytree(params)
    ours, previous = flat, None
    for _ in range(2 if momentum else 1):
        estimate = vmc.estimate(unravel(ours), Samples(configs[:, None, :], vmc.log_psi(
            unravel(ours))(configs)[:, None], jnp.asarray(1.0)))
        solution = sr_direction(vmc.per_sample_jacobian(unravel(ours), estimate.configs),
                                estimate.local_energies, shift, "sample", None,
                                None if momentum is None else jnp.asarray(momentum),
                                None if momentum is None else
                                (jnp.zeros_like(flat) if previous is None else previous))
        previous = solution.direction
        ours = ours - learning_rate * solution.direction
    theirs = np.asarray(ravel_pytree(state.parameters)[0])
    step = np.max(np.abs(np.asarray(ours) - np.asarray(flat)))
    assert step > 1e-3  # a real step, not a no-op
    np.testing.assert_allclose(np.asarray(ours), theirs, atol=1e-10 * max(1.0, step))


@pytest.mark.slow  # the whole race harness, both engines: 23 s on the 2-core VM
def test_race_on_a_tiny_cell_records_and_reloads(tmp_path):
    config = _config(0.5, samples=32, steps=4)
    comparison = compare_with_netket(config, steps=2, warmup=1, cell_id="tiny", label="t5 tiny")
    for side in (comparison.ours, comparison.peer):
        assert side.seconds_per_step > 0 and len(side.step_seconds) == 2
        assert len(side.warmup_seconds) == 1
        assert np.isfinite(side.energy) and side.energy_error >= 0
        # three small steps from the same start: both still near the same exact energy
        assert -0.6 < side.exact_energy < 0.0
    assert comparison.peer.engine == "netket"
    assert comparison.ratio == comparison.ours.seconds_per_step / comparison.peer.seconds_per_step
    assert comparison.peer_settings["use_ntk"] is True  # P > 2M: the sample-space kernel
    record = comparison_record(comparison, {"device": "test CPU"}, {"commit": "abc"},
                               "2026-11-22T00:00:00+0000")
    path = write_comparison(tmp_path, record)
    assert isinstance(record, RaceRecord) and read_record(path) == record
    (tmp_path / "compare" / "broken.json").write_text("{")
    frame, problems = load_comparisons(tmp_path)
    assert len(frame) == 1 and len(problems) == 1 and "broken.json" in problems[0]
    row = frame.iloc[0]
    assert row["ratio"] == pytest.approx(comparison.ratio)
    assert row["L"] == 4 and row["attention"] == "t5"
    assert "t5 tiny" in comparison_table(frame)


def test_netket_samples_in_the_precision_the_cell_asks_for():
    from suite.engine.models import init_parameters
    from suite.perf.netket import _variational_state_class

    config = dataclasses.replace(_config(0.0), sampler=SamplerConfig(n_samples=16,
                                                                      dtype="float32"))
    vmc, hilbert, _ = _netket_problem(config)
    params = init_parameters(vmc.model, jax.random.key(0), vmc.n_sites)
    assert _variational_state_class(nk, None) is nk.vqs.MCState
    vstate = _variational_state_class(nk, vmc.sampling_dtype)(
        nk.sampler.MetropolisExchange(hilbert, graph=nk.graph.Square(4)), vmc.model,
        variables={"params": params}, n_samples=16)
    configs = jnp.asarray(basis_configurations(sz0_basis(16), 16)[:64])
    theirs = vstate._sampler_model.apply(vstate._sampler_variables, configs)
    assert theirs.dtype == jnp.complex64
    np.testing.assert_array_equal(np.asarray(theirs).astype(np.complex128),
                                  np.asarray(vmc.sampling_log_psi(params)(configs)))
    # local energies and gradients still use the double-precision model
    assert vstate.model.dtype == jnp.float64


TINY_PLUGIN = '''
import flax.linen as nn
import jax.numpy as jnp


class Tiny(nn.Module):
    features: int = 3

    @nn.compact
    def __call__(self, x):
        hidden = nn.Dense(self.features, param_dtype=jnp.float64)(x)
        phase = nn.Dense(1, param_dtype=jnp.float64)(x)[..., 0]
        return jnp.sum(jnp.log(jnp.cosh(hidden)), axis=-1) + 1j * phase


def build(L, features=3):
    return Tiny(features=features)
'''


@pytest.mark.parametrize(("model", "options", "name"), [
    pytest.param("cnn", {"channels": 2, "layers": 1}, "CNN",
                 marks=pytest.mark.slow),  # 18 s on the 2-core VM, compiling the ResNet twice
    ("race_plugin_model:build", {"features": 3, "name": "Tiny"}, "Tiny"),  # 7 s
])
def test_a_baseline_and_a_plugin_race_as_the_vit_does(model, options, name, tmp_path,
                                                      monkeypatch):
    """NetKet's MCState gets our CNN or a plugin's module as it gets the ViT; the race's row and
    table name the model (the matrix label here does not)."""
    (tmp_path / "race_plugin_model.py").write_text(TINY_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = RunConfig(system=SystemConfig(L=4, J2=0.5),
                       model=ModelConfig(model=model, model_options=options),
                       sampler=SamplerConfig(n_samples=32),
                       optimizer=OptimizerConfig(steps=2, learning_rate=0.05, diag_shift=1e-2))
    comparison = compare_with_netket(config, steps=1, warmup=1, cell_id="tiny", label="J2=0.5")
    vmc = build_vmc(config)
    params = vmc.init(jax.random.key(0)).params
    assert comparison.n_parameters == ravel_pytree(params)[0].size
    for side in (comparison.ours, comparison.peer):
        assert side.seconds_per_step > 0 and np.isfinite(side.energy) and side.energy_error >= 0
        assert -1.0 < side.exact_energy < 1.0
    record = comparison_record(comparison, {"device": "test CPU"}, {"commit": "abc"},
                               "2026-12-02T00:00:00+0000")
    write_comparison(tmp_path, record)
    frame, problems = load_comparisons(tmp_path)
    assert not problems
    row = frame.iloc[0]
    assert (row["model"], row["model_name"], row["model_options"]) == (model, name, options)
    assert f"| {name} J2=0.5 L=4 |" in comparison_table(frame)
