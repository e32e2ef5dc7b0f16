"""FLOP accounting: XLA's loop counting, forward and step FLOPs, device peaks."""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from suite.bench.build import build_model, build_vmc
from suite.bench.config import ModelConfig, OptimizerConfig, RunConfig, SamplerConfig, SystemConfig
from suite.bench.provenance import environment
from suite.engine.hamiltonian import J1J2Hamiltonian
from suite.engine.lattice import SquareLattice
from suite.engine.models import init_parameters
from suite.engine.sampler import random_sz0_configs
from suite.perf.flops import (
    factorisation_flops,
    flop_metrics,
    forward_flops_per_sample,
    local_energy_capacity,
    step_flop_parts,
    xla_flops,
)
from suite.perf.peaks import device_peak_flops, gpu_peak
from suite.report.records import FLOP_METRICS


def test_xla_counts_a_loop_body_once_whatever_its_trip_count():
    """Why the step is counted in parts: if this fails, XLA changed and suite/flops.py's
    docstring (and possibly its method) needs a second look."""
    a = jnp.ones((32, 32))

    def one(x):
        return x @ a

    def scan(x):
        return jax.lax.scan(lambda c, _: (c @ a, None), x, None, length=10)[0]

    def chunks(x):
        return jax.lax.map(lambda row: row @ a, x.reshape(8, 4, 32))

    single = xla_flops(one, a)
    assert single == 2 * 32**3
    assert xla_flops(scan, a) == pytest.approx(single, rel=1e-3)  # not 10 x
    assert xla_flops(chunks, a) == pytest.approx(single / 8, rel=1e-3)  # not 8 x

    def switch(i, x):  # and a conditional as its costliest branch, whichever runs
        return jax.lax.switch(i, [one, lambda x: one(one(x))], x)

    assert xla_flops(switch, 0, a) == pytest.approx(2 * single, rel=1e-3)


def _forward(layers: int, batch: int = 64) -> float:
    model = build_model(ModelConfig(attention="factored", layers=layers, d=8, heads=2), 4)
    params = init_parameters(model, jax.random.key(0), 16)
    return forward_flops_per_sample(model, params, 16, batch)


def test_forward_flops_are_positive_stable_and_grow_with_depth():
    one, two, three = (_forward(layers) for layers in (1, 2, 3))
    assert 0 < one < two < three
    layer = two - one
    assert three - two == layer  # every block costs exactly the same
    assert two - 2 * layer == one - layer  # the rest is fixed
    assert two > 1.5 * one  # the encoder block dominates this model
    assert _forward(1, batch=32) == one  # per sample, independent of the batch


def test_factorisation_is_counted_analytically():
    assert factorisation_flops(3) == 3**3 / 3 + 2 * 3**2


def _neel_and_stripes() -> np.ndarray:
    x, y = np.divmod(np.arange(16), 4)
    return np.stack([np.where((x + y) % 2, 1, -1), np.where(x % 2, 1, -1)]).astype(np.int8)


@pytest.mark.parametrize(("J2", "rows", "chunk", "expected"), [
    (0.5, [0], None, 0.5),  # Neel: every nearest-neighbour bond, no diagonal one
    (0.0, [0], None, 1.0),
    (0.5, [1], None, 0.75),  # stripes: half the nearest neighbours, every diagonal
    (0.5, [0, 1], None, 0.625),  # one chunk of both
    (0.5, [0, 1, 1], 2, 0.625),  # two chunks, the second padded with the first row
    (0.5, [0, 0, 1], 2, (0.5 + 0.625) / 2),
])
def test_local_energy_capacity_of_known_states(J2, rows, chunk, expected):
    hamiltonian = J1J2Hamiltonian(SquareLattice.square(4), 1.0, J2)
    configs = _neel_and_stripes()[rows]
    assert local_energy_capacity(hamiltonian, configs, chunk) == pytest.approx(expected)


def test_local_energy_capacity_is_what_the_hamiltonian_evaluates():
    """Record the batch the network sees in the branch that runs, chunk by chunk."""
    hamiltonian = J1J2Hamiltonian(SquareLattice.square(4), 1.0, 0.5)
    n_bonds = len(hamiltonian.bonds)
    configs = np.concatenate([_neel_and_stripes(), np.asarray(
        random_sz0_configs(jax.random.key(1), 9, 16))])
    seen: list[int] = []

    def log_psi(batch):
        jax.debug.callback(lambda size=batch.shape[0]: seen.append(size), ordered=True)
        return jnp.zeros(batch.shape[0], jnp.complex128)

    chunk = 4 * n_bonds  # four samples a call: three calls, the last padded
    energies = jax.jit(lambda c: hamiltonian.local_energies(
        log_psi, c, jnp.zeros(len(c), jnp.complex128), chunk))(configs)
    jax.block_until_ready(energies)
    assert len(seen) == 3
    assert local_energy_capacity(hamiltonian, configs, 4) == pytest.approx(
        np.mean(seen) / (4 * n_bonds))


@pytest.fixture(scope="module")
def tiny():
    """A tiny engine in which every loop of the step is chunked or repeated (an RBM, the
    quickest model to compile; the step around it is the same for every model)."""
    config = RunConfig(SystemConfig(L=4, J2=0.5), ModelConfig(model="rbm"),
                       SamplerConfig(n_samples=32, n_chains=16, discard_sweeps=1,
                                     chunk_size=12),
                       OptimizerConfig(steps=4)).validate()
    vmc = build_vmc(config)
    state = vmc.init(jax.random.key(0))
    step = jax.jit(vmc.step).lower(state).compile()
    return config, vmc, state, step_flop_parts(vmc, state), step


def test_the_parts_count_what_the_step_does(tiny):
    config, vmc, state, parts, _ = tiny
    sampler, n_sites, n_bonds = config.sampler, 16, 64
    proposals = (sampler.discard_sweeps + 2 * sampler.sweeps_per_sample) * n_sites
    assert parts.proposals == proposals
    assert parts.network_calls == 2 * (1 + proposals)  # 16 chains in chunks of 12: 2 calls
    assert parts.local_energy_calls == 32  # 12 // 64 bonds: one sample per call
    assert parts.jacobian_calls == 3  # 32 samples in chunks of 12
    n_parameters = sum(leaf.size for leaf in jax.tree_util.tree_leaves(state.params))
    order = 2 * 32 if n_parameters > 64 else n_parameters
    assert parts.factorisation == factorisation_flops(order)
    assert len(vmc.hamiltonian.bonds) == n_bonds
    assert min(parts.network_call, parts.proposal, parts.local_energy_call,
               parts.jacobian_call, parts.solver) > 0
    assert parts.local_energy_capacity == local_energy_capacity(
        vmc.hamiltonian, np.repeat(np.asarray(state.sampler.configs), 2, axis=0), 1)
    assert 0.5 <= parts.local_energy_capacity < 1  # thermalised chains: about half connect
    assert parts.total == pytest.approx(parts.sampling + parts.local_energies + parts.jacobian
                                        + parts.solver + parts.factorisation)


def test_the_parts_reproduce_xla_s_count_of_the_whole_step(tiny):
    """Counting every loop body once and every local-energy chunk at full capacity, as XLA does,
    the parts give XLA's own count of the jitted step: nothing the step computes is missed or
    counted twice. With the real trip counts and capacities they give the step's FLOPs."""
    config, vmc, state, parts, step = tiny
    bodies = 1 + 1  # the discard sweeps' scan and the per-sample scan, each counted once
    once = ((1 + bodies) * parts.network_call + bodies * parts.proposal
            + parts.local_energy_call + parts.jacobian_call + parts.solver)
    # measured: XLA's count exceeds the parts' by 2.7e-4 (index arithmetic outside the parts)
    assert step.cost_analysis()["flops"] == pytest.approx(once, rel=1e-3)
    assert parts.total > once


def test_fraction_of_peak_on_this_cpu(tiny):
    config, vmc, state, parts, step = tiny
    jax.block_until_ready(step(state))
    times = []
    for _ in range(3):
        start = time.perf_counter()
        state, info = step(state)
        jax.block_until_ready(info)
        times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    env = environment()
    peak, source = device_peak_flops(env, "float64")
    assert peak > 1e8 and "measured matmul peak" in source
    metrics = flop_metrics(vmc, state, seconds, env, "float64")
    assert set(metrics) == set(FLOP_METRICS)
    moved = step_flop_parts(vmc, state)  # the chains moved: only the capacity changes
    total = moved.total
    assert metrics["step_flops"] == total
    assert total == dataclasses.replace(parts,
                                        local_energy_capacity=moved.local_energy_capacity).total
    assert metrics["achieved_flops_per_second"] == pytest.approx(total / seconds)
    assert 0 < metrics["fraction_of_peak"] <= 1
    unknown = flop_metrics(vmc, state, float("nan"), env, "float64")
    assert unknown["achieved_flops_per_second"] is None and unknown["fraction_of_peak"] is None


@pytest.mark.parametrize(("device", "name", "float64", "float32"), [
    ("NVIDIA H100 80GB HBM3", "H100 SXM", 67e12, 67e12),
    ("NVIDIA H100 PCIe", "H100 PCIe", 51e12, 51e12),
    ("NVIDIA H100 NVL", "H100 NVL", 60e12, 60e12),
    ("NVIDIA H200", "H200 SXM", 67e12, 67e12),
    ("NVIDIA A100-SXM4-80GB", "A100 SXM", 19.5e12, 19.5e12),
    ("NVIDIA A100-PCIE-40GB", "A100 PCIe", 19.5e12, 19.5e12),
    ("Tesla V100-SXM2-16GB", "V100 SXM2", 7.8e12, 15.7e12),
    ("Tesla V100-PCIE-32GB", "V100 PCIe", 7.0e12, 14.0e12),
    ("NVIDIA L4", "L4", 30.3e12 / 64, 30.3e12),
    ("NVIDIA L40S", "L40S", 91.6e12 / 64, 91.6e12),
    ("NVIDIA A10", "A10", 31.2e12 / 64, 31.2e12),
    ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090", 82.6e12 / 64, 82.6e12),
    ("Tesla T4", "T4", 8.1e12 / 32, 8.1e12),
])
def test_gpu_peaks_are_looked_up_by_device_name(device, name, float64, float32):
    assert gpu_peak(device).name == name
    env = {"platform": "gpu", "device": device}
    assert device_peak_flops(env)[0] == pytest.approx(float64)  # float64 unless told otherwise
    assert device_peak_flops(env, "float32")[0] == pytest.approx(float32)
    source = device_peak_flops(env, "float32")[1]
    assert name in source and ("datasheet" in source or "whitepaper" in source)


def test_an_unknown_device_has_no_peak():
    peak, source = device_peak_flops({"platform": "gpu", "device": "NVIDIA Quantum 9000"})
    assert peak is None and "NVIDIA Quantum 9000" in source
    assert device_peak_flops({"platform": "tpu", "device": "TPU v5"})[0] is None
