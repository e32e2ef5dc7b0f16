"""Cost accounting: FLOPs of the forward pass and of a whole VMC step, and the achieved fraction of peak.

Counts are XLA's: ``jax.jit(fn).lower(...).compile().cost_analysis()["flops"]`` (a multiply-add
is 2 FLOPs, every other arithmetic element operation 1; transcendental functions such as
``exp`` and ``tanh`` are counted apart by XLA and left out here, as they are in any FLOP/s figure).

Why the step is counted in parts. XLA's cost analysis counts the body of a loop once, whatever
its trip count: on JAX 0.10.2 (CPU) a ``lax.scan``, ``lax.fori_loop`` or ``lax.while_loop`` of
10 identical matmuls reports the FLOPs of one, and a ``lax.map`` over 8 chunks those of one chunk
(``tests/test_flops.py`` checks this, so a JAX that changes it is noticed). The cost analysis of
the jitted :meth:`suite.engine.vmc.VMC.step` is therefore wrong by orders of magnitude: the Metropolis
sampler is a scan of thousands of proposals. Nor does XLA count work done in library calls: the
Cholesky factorisation and triangular solves of the SR system are LAPACK (CPU) or cuSOLVER /
cuBLAS (GPU) custom calls, which the cost analysis counts as zero.

So :func:`step_flop_parts` compiles the step's loop-free pieces at the shapes the step runs them
at, asks XLA for each, and multiplies by trip counts known from the configuration:

* sampling: one batched network call on every chain per Metropolis proposal, plus the first
  call on the incoming chains; ``(discard_sweeps + samples_per_chain * sweeps_per_sample) * N``
  proposals, each also costing the proposal and accept/reject bookkeeping (measured by running
  the sampler's own code for exactly one proposal);
* local energies and the per-sample Jacobian: the cost of one chunk (as
  :func:`suite.engine.chunking.map_in_chunks` forms them, padding included) times the number of chunks.
  The local energies evaluate the network only on the connected (anti-aligned) bonds, packed into
  one of a few fixed capacities chosen at run time by ``lax.switch``; XLA counts the largest
  branch (all bonds), and the work scales with the capacity, so that count is scaled by the
  capacity :func:`local_energy_capacity` finds for the state's chain configurations (those of the
  step that produced them: the cost of a step at that point of the run);
* the SR solve, chain statistics and parameter update, loop-free, at full size; plus the
  factorisation done in library calls, counted analytically (Cholesky n^3/3, two triangular
  solves n^2 each, n the order of the SR system).

XLA counts a ``lax.cond`` or ``lax.switch`` as its costliest branch. For the SR solve's rarely
taken fallback (an eigen-decomposition, itself a library call) that adds a few n^2, negligible
next to forming the n x n system. Counting every loop body once and every local-energy chunk at
full capacity, the parts reproduce XLA's own count of the whole jitted step (to 0.02 % for the
smoke cells, 0.03 % for the tests' tiny RBM; the tests allow 0.1 %): nothing the step computes is
missed or counted twice.

The device's peak, against which the achieved FLOP/s is set, comes from :mod:`suite.perf.peaks`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from suite.engine.hamiltonian import J1J2Hamiltonian, packing_capacities
from suite.engine.sampler import MetropolisExchange, SamplerState
from suite.engine.sr import choose_mode
from suite.engine.stats import local_energy_statistics
from suite.engine.vmc import VMC, VMCState
from suite.perf.peaks import device_peak_flops

FORWARD_BATCH = 64
"""configurations per forward pass when measuring FLOPs per sample (per-sample cost is stable
to about 1 % from here on)"""


def xla_flops(fn: Callable, *args: Any) -> float:
    """XLA's FLOP count of ``jax.jit(fn)`` compiled for ``args`` (arrays or ShapeDtypeStructs).

    Loops are counted once (see the module docstring). Raises ValueError where the backend
    reports no FLOP count.
    """
    analysis = jax.jit(fn).lower(*args).compile().cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX: one dict per program
        analysis = analysis[0] if analysis else None
    if not analysis or "flops" not in analysis:
        raise ValueError("XLA's cost analysis gives no FLOP count on this backend")
    return float(analysis["flops"])


def _configs(batch: int, n_sites: int) -> jax.ShapeDtypeStruct:
    """A batch of spin configurations as the sampler stores them (int8)."""
    return jax.ShapeDtypeStruct((batch, n_sites), jnp.int8)


def forward_flops_per_sample(model: nn.Module, params: Any, n_sites: int,
                             batch: int = FORWARD_BATCH) -> float:
    """FLOPs of one log-amplitude evaluation: XLA's count for a batch of ``batch``, divided by it.

    Args:
        model: the Flax module, configurations (B, N) -> complex log-amplitudes (B,).
        params: its parameters (arrays or ShapeDtypeStructs).
        n_sites: N.
        batch: the batch measured.
    """
    flops = xla_flops(lambda p, x: model.apply({"params": p}, x), params, _configs(batch, n_sites))
    return flops / batch


def _padded(n: int, chunk: int | None) -> tuple[int, int]:
    """``(rows per call, calls)`` of :func:`suite.engine.chunking.map_in_chunks` on ``n`` rows."""
    if chunk is None or n <= chunk:
        return n, 1
    return chunk, -(-n // chunk)


def factorisation_flops(order: int) -> float:
    """FLOPs of a Cholesky factorisation and two triangular solves with one right-hand side."""
    return order**3 / 3 + 2 * order**2


@dataclass(frozen=True)
class StepFlops:
    """The FLOPs of one optimisation step, by part (see the module docstring).

    Every ``*_call`` is XLA's count of one loop-free call at the shape the step makes it; the
    matching count says how many such calls one step makes.
    """

    network_call: float
    """one batched forward pass over the chains (a chunk of them when chunked)"""
    network_calls: int
    """such passes while sampling: chunks x (1 + Metropolis proposals)"""
    proposal: float
    """proposal and accept/reject bookkeeping of one Metropolis step over all chains"""
    proposals: int
    """Metropolis steps per optimisation step"""
    local_energy_call: float
    """local energies of one chunk of samples with the network on all (sample, bond) pairs"""
    local_energy_calls: int
    local_energy_capacity: float
    """the fraction of the pairs actually evaluated (see :func:`local_energy_capacity`)"""
    jacobian_call: float
    """per-sample log-derivatives of one chunk of samples"""
    jacobian_calls: int
    solver: float
    """SR (what XLA counts), chain statistics and the parameter update"""
    factorisation: float
    """Cholesky and triangular solves of the SR system (library calls XLA does not count)"""

    @property
    def sampling(self) -> float:
        return self.network_call * self.network_calls + self.proposal * self.proposals

    @property
    def local_energies(self) -> float:
        return self.local_energy_call * self.local_energy_calls * self.local_energy_capacity

    @property
    def jacobian(self) -> float:
        return self.jacobian_call * self.jacobian_calls

    @property
    def total(self) -> float:
        return (self.sampling + self.local_energies + self.jacobian + self.solver
                + self.factorisation)


def _one_proposal_flops(sampler: MetropolisExchange, configs: jax.ShapeDtypeStruct,
                        log_psi_dtype: Any) -> float:
    """One Metropolis step's bookkeeping over all chains, from the sampler's own code.

    ``thermalize`` runs ``n_sweeps * n_sites`` proposals; a sampler told the lattice has one site
    (the configurations keep their real width) runs exactly one, a loop XLA counts correctly
    whatever its loop policy. The network is replaced by a near-free stand-in (one element
    read per chain), so what remains is proposing, drawing and accepting.
    """
    single = MetropolisExchange(1, sampler.n_chains, sampler.samples_per_chain,
                                sweeps_per_sample=sampler.sweeps_per_sample)

    def stand_in(batch: jax.Array) -> jax.Array:
        return batch[:, 0].astype(log_psi_dtype)

    def one_step(batch: jax.Array, key: jax.Array) -> jax.Array:
        return single.thermalize(stand_in, SamplerState(batch), key, n_sweeps=1).configs

    return xla_flops(one_step, configs, jax.random.key(0))


def _structure(vmc: VMC, state: VMCState) -> tuple:
    """What the FLOP counts depend on: the engine's settings and the state's shapes, not values."""
    shapes = tuple((leaf.shape, str(leaf.dtype)) for leaf in jax.tree_util.tree_leaves(state))
    sampler = vmc.sampler
    sampling = (sampler.n_chains, sampler.samples_per_chain, sampler.sweeps_per_sample,
                sampler.discard_sweeps, sampler.chunk_size)
    return (repr(vmc.model), vmc.hamiltonian, sampling, vmc.sr_mode,
            str(jnp.dtype(vmc.dtype)), shapes, jax.default_backend())


_STEP_FLOPS: dict[tuple, StepFlops] = {}
""":func:`step_flop_parts` by :func:`_structure`, for this process"""


def step_flop_parts(vmc: VMC, state: VMCState) -> StepFlops:
    """The FLOPs of one :meth:`suite.engine.vmc.VMC.step` from ``state``, by part.

    Compiles (does not run) each loop-free part at the shapes the step uses; no large arrays
    are allocated, so this works for models of any size, and ``state`` may be abstract
    (``jax.eval_shape(vmc.init, key)``; the local energies are then counted on every
    (sample, bond) pair, an upper bound). The compilations take about as long as
    compiling the step; their result is remembered for the rest of the process (it depends on
    the configuration and the shapes only), so another run of the same cell does not repeat them.
    """
    key = _structure(vmc, state)
    if key not in _STEP_FLOPS:
        _STEP_FLOPS[key] = _count_step(vmc, state)
    configs = state.sampler.configs
    if not isinstance(configs, (jax.Array, np.ndarray)):  # abstract: all pairs, an upper bound
        return _STEP_FLOPS[key]
    samples = np.repeat(np.asarray(configs), vmc.sampler.samples_per_chain, axis=0)
    capacity = local_energy_capacity(vmc.hamiltonian, samples,
                                     vmc.hamiltonian.samples_per_chunk(vmc.chunk_size))
    return dataclasses.replace(_STEP_FLOPS[key], local_energy_capacity=capacity)


def local_energy_capacity(hamiltonian: J1J2Hamiltonian, configs: np.ndarray,
                          samples_per_chunk: int | None) -> float:
    """The fraction of (sample, bond) pairs the local energies evaluate the network on.

    :meth:`suite.engine.hamiltonian.J1J2Hamiltonian.local_energies` packs each chunk's anti-aligned
    pairs into the smallest capacity (a fraction of the chunk's pairs) that holds them; this is
    that capacity averaged over the chunks of ``configs`` (M, N), formed and padded as
    :func:`suite.engine.chunking.map_in_chunks` does. 1 where the Hamiltonian evaluates every pair.
    """
    bonds = np.asarray(hamiltonian.bonds)
    if len(bonds) == 0 or len(configs) == 0:
        return 1.0
    configs = np.asarray(configs)
    rows, calls = _padded(len(configs), samples_per_chunk)
    configs = np.concatenate([configs, np.repeat(configs[:1], rows * calls - len(configs), axis=0)])
    anti_aligned = configs[:, bonds[:, 0]] != configs[:, bonds[:, 1]]
    counts = anti_aligned.reshape(calls, -1).sum(axis=1)
    total = rows * len(bonds)
    capacities = np.array(packing_capacities(total))
    chosen = capacities[np.minimum(np.searchsorted(capacities, counts), len(capacities) - 1)]
    return float(np.mean(chosen)) / total


def _count_step(vmc: VMC, state: VMCState) -> StepFlops:
    sampler = vmc.sampler
    n_sites, chunk = vmc.n_sites, vmc.chunk_size
    chains, per_chain = sampler.n_chains, sampler.samples_per_chain
    n_samples = chains * per_chain
    params = state.params
    log_psi_dtype = jax.eval_shape(lambda p, x: vmc.log_psi(p)(x), params,
                                   _configs(1, n_sites)).dtype

    # sampling
    rows, chunks = _padded(chains, chunk)
    network_call = xla_flops(lambda p, x: vmc.log_psi(p)(x), params, _configs(rows, n_sites))
    proposals = (sampler.discard_sweeps + per_chain * sampler.sweeps_per_sample) * n_sites
    proposal = _one_proposal_flops(vmc.sampler, _configs(chains, n_sites), log_psi_dtype)

    # local energies: map_in_chunks over samples, chunk_size // n_bonds samples at a time; XLA
    # counts the capacity that holds every (sample, bond) pair
    e_rows, e_calls = _padded(n_samples, vmc.hamiltonian.samples_per_chunk(chunk))

    def local_energies(p, x, log_psi_x):
        return vmc.hamiltonian.local_energies(vmc.log_psi(p), x, log_psi_x, None)

    local_energy_call = xla_flops(local_energies, params, _configs(e_rows, n_sites),
                                  jax.ShapeDtypeStruct((e_rows,), log_psi_dtype))

    # Jacobian: map_in_chunks over samples, chunk_size at a time
    j_rows, j_calls = _padded(n_samples, chunk)
    jacobian_call = xla_flops(vmc.per_sample_jacobian, params, _configs(j_rows, n_sites))

    # SR, statistics and update at full size
    leaves = jax.tree_util.tree_leaves(params)
    n_parameters = sum(math.prod(leaf.shape) for leaf in leaves)
    parameter_dtype = jnp.result_type(*(leaf.dtype for leaf in leaves))
    mode = choose_mode(vmc.sr_mode, n_samples, n_parameters)

    def solve_and_update(p, opt_state, step, jacobian, e_loc):
        stats = local_energy_statistics(e_loc.reshape(chains, per_chain))
        params, opt_state, _ = vmc.update(p, opt_state, step, jacobian, e_loc, mode)
        return params, opt_state, stats

    solver = xla_flops(solve_and_update, params, state.opt_state, state.step,
                       jax.ShapeDtypeStruct((n_samples, 2, n_parameters), parameter_dtype),
                       jax.ShapeDtypeStruct((n_samples,), log_psi_dtype))
    order = 2 * n_samples if mode == "sample" else n_parameters

    return StepFlops(network_call=network_call, network_calls=chunks * (1 + proposals),
                     proposal=proposal, proposals=proposals,
                     local_energy_call=local_energy_call, local_energy_calls=e_calls,
                     local_energy_capacity=1.0,
                     jacobian_call=jacobian_call, jacobian_calls=j_calls, solver=solver,
                     factorisation=factorisation_flops(order))


def step_flops(vmc: VMC, state: VMCState) -> float:
    """The FLOPs of one optimisation step (sampling, local energies, Jacobian, SR, update)."""
    return step_flop_parts(vmc, state).total


def flop_metrics(vmc: VMC, state: VMCState, seconds_per_step: float,
                 environment: dict[str, Any], dtype: str = "float64") -> dict[str, Any]:
    """The FLOP metrics of a finished run (the keys of :data:`FLOP_METRICS`).

    Achieved FLOP/s is the step's FLOPs over the (median) seconds per step; the fraction of peak
    is that over :func:`device_peak_flops`. Unknown values are ``None``.
    """
    forward = forward_flops_per_sample(vmc.model, state.params, vmc.n_sites)
    total = step_flops(vmc, state)
    achieved = (total / seconds_per_step
                if math.isfinite(seconds_per_step) and seconds_per_step > 0 else None)
    peak, source = device_peak_flops(environment, dtype)
    fraction = achieved / peak if achieved is not None and peak else None
    return {"forward_flops_per_sample": forward, "step_flops": total,
            "achieved_flops_per_second": achieved, "peak_flops_per_second": peak,
            "peak_flops_source": source, "fraction_of_peak": fraction}
