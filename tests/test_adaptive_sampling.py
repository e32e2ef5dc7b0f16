"""Adaptive sampling (issue 21, item 2): each step discards the fewest sweeps after which the
chains' autocorrelation was at most ``decorrelation``. The lag correlation and the rule are
exact; the adaptive chains still draw |psi|^2 (chi-square against the enumerated sector); the
setting reaches the engine, stays out of old cell ids, and races as nqsbench's ``adaptive``."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_sampler import (
    N_SITES,
    SIGNIFICANCE,
    _chi_square_p_value,
    _rbm_distribution,
    _state_indices,
)

from suite.bench.build import build_vmc
from suite.bench.config import ModelConfig, OptimizerConfig, RunConfig, SamplerConfig, SystemConfig
from suite.bench.matrix import Cell, config_hash
from suite.engine.sampler import MetropolisExchange, lag_correlation, next_discard
from suite.errors import ConfigError

NAN = math.nan


def test_the_lag_correlation_is_pearsons_over_the_chains():
    start = jnp.array([1.0, 2.0, 3.0, 4.0])
    assert float(lag_correlation(start, 2 * start + 7)) == 1.0
    assert float(lag_correlation(start, start[::-1])) == -1.0
    # centred: (-1.5, -0.5, 0.5, 1.5) and (-1.5, 0.5, -0.5, 1.5): 4 / 5
    assert float(lag_correlation(start, jnp.array([1.0, 3.0, 2.0, 4.0]))) == pytest.approx(
        0.8, abs=1e-15)
    # nothing tells the chains apart: no evidence that they decorrelated
    assert float(lag_correlation(start, jnp.full(4, 3.0))) == 1.0
    assert float(lag_correlation(jnp.zeros(4), start)) == 1.0


@pytest.mark.parametrize(("rho", "discard", "per_sample", "expected"), [
    ([0.5, 0.2, 0.05, NAN, NAN, 0.01], 3, 1, 2),   # lag 3 was enough: 2 discarded + the sample
    ([0.5, 0.2, 0.15, NAN, NAN, 0.12], 3, 1, 4),   # never enough: one more
    ([0.5, 0.4, 0.3, 0.2, 0.15, 0.12], 5, 1, 5),   # ... but never more than the most
    ([0.09, NAN, NAN, NAN, NAN, NAN], 0, 1, 0),    # the first sample alone (lag 1) suffices
    ([0.5, NAN, NAN, NAN, NAN, NAN], 0, 1, 1),
    ([0.3, 0.1, NAN, NAN, NAN, NAN, NAN], 0, 2, 0),  # two sweeps per sample: lag 2 is free
    ([0.3, 0.2, 0.1, NAN, NAN, NAN, NAN], 1, 2, 1),
])
def test_the_next_discard_is_the_shortest_lag_below_the_threshold(rho, discard, per_sample,
                                                                  expected):
    following = next_discard(jnp.array(rho), jnp.asarray(discard, jnp.int32), per_sample, 5, 0.1)
    assert following.dtype == jnp.int32 and int(following) == expected


@pytest.fixture(scope="module")
def adapted():
    """Four adaptive batches of 40,000 chains on the RBM of test_sampler (252 states)."""
    model, params, basis, probabilities = _rbm_distribution(seed=7)
    sampler = MetropolisExchange(N_SITES, 40_000, thermalization_sweeps=40, chunk_size=None,
                                 discard_sweeps=5, decorrelation=0.1)
    log_psi = lambda c: model.apply({"params": params}, c)  # noqa: E731
    key_init, key_thermal, key_sample = jax.random.split(jax.random.key(0), 3)
    state = sampler.thermalize(log_psi, sampler.init(key_init), key_thermal)
    draw = jax.jit(lambda s, k: sampler.sample(log_psi, s, k))
    discards, batches = [int(state.discard)], []
    for key in jax.random.split(key_sample, 4):
        samples, state = draw(state, key)
        batches.append(samples)
        discards.append(int(state.discard))
    return basis, probabilities, batches, discards


def test_the_discard_adapts_down_from_the_most(adapted):
    _, _, batches, discards = adapted
    assert discards[0] == 5  # a fresh chain discards the most
    assert [int(b.discarded) for b in batches] == discards[:-1]  # each batch reports its own
    assert discards[-1] < 5  # this RBM decorrelates sooner than five sweeps
    assert all(0 <= d <= 5 for d in discards)


def test_adaptive_chains_still_draw_psi_squared(adapted):
    basis, probabilities, batches, discards = adapted
    last = batches[-1]  # drawn after the fewest sweeps
    configs = np.asarray(last.configs).reshape(-1, N_SITES)
    counts = np.bincount(_state_indices(configs, basis), minlength=basis.size)
    assert _chi_square_p_value(counts, probabilities) > SIGNIFICANCE
    assert 0.05 < float(last.acceptance) <= 1.0


def _config(decorrelation: float) -> RunConfig:
    return RunConfig(system=SystemConfig(L=4), model=ModelConfig(model="rbm", alpha=1),
                     sampler=SamplerConfig(n_samples=32, thermalization_sweeps=4,
                                           decorrelation=decorrelation),
                     optimizer=OptimizerConfig(steps=3, learning_rate=0.02, diag_shift=1e-2))


def test_the_setting_reaches_the_step_and_stays_out_of_old_cell_ids():
    for bad in (1.0, -0.1):
        with pytest.raises(ConfigError, match="decorrelation") as raised:
            _config(bad).validate()
        assert raised.value.field == "decorrelation"
    assert config_hash(_config(0.0)) == config_hash(
        RunConfig(system=SystemConfig(L=4), model=ModelConfig(model="rbm", alpha=1),
                  sampler=SamplerConfig(n_samples=32, thermalization_sweeps=4),
                  optimizer=OptimizerConfig(steps=3, learning_rate=0.02, diag_shift=1e-2)))
    assert config_hash(_config(0.1)) != config_hash(_config(0.0))
    fixed = build_vmc(_config(0.0))
    assert not fixed.sampler.adaptive and fixed.init(jax.random.key(0)).sampler.discard is None
    vmc = build_vmc(_config(0.1))
    state = vmc.init(jax.random.key(0))
    step = jax.jit(vmc.step)
    discarded = []
    for _ in range(3):
        state, info = step(state)
        discarded.append(int(info.discarded_sweeps))
    assert discarded[0] == 5 and all(0 <= d <= 5 for d in discarded)
    assert np.isfinite(float(info.energy))
    _, info = jax.jit(build_vmc(_config(0.0)).step)(fixed.init(jax.random.key(0)))
    assert int(info.discarded_sweeps) == 5


def test_the_race_runs_nqsbench_with_adaptive_sampling_without_netket(tmp_path):
    from test_target_race import _write_tiny

    from suite.bench.matrix import load_matrix
    from suite.perf.target_race import ADAPTIVE_DECORRELATION, race_cell_to_target

    cell: Cell = load_matrix(_write_tiny(tmp_path)).cells[0]
    record = race_cell_to_target(cell, seeds=[0], targets=[0.9], peer_settings=(),
                                 our_settings=("ours", "adaptive"))
    assert [(e["engine"], e["setting"]) for e in record.engines] == [("nqsbench", "ours"),
                                                                    ("nqsbench", "adaptive")]
    ours, adaptive = (entry["settings"] for entry in record.engines)
    assert ours["decorrelation"] is None and ours["discard_sweeps"] == 5
    assert adaptive["decorrelation"] == ADAPTIVE_DECORRELATION
    runs = [entry["runs"][0] for entry in record.engines]
    assert runs[0]["discarded_sweeps"] == 5.0
    assert 0 <= runs[1]["discarded_sweeps"] <= 5
    assert all(run["steps"] == 6 for run in runs)
