"""The variational Monte Carlo step: sample, local energies, log-derivatives, SR, update.

:meth:`VMC.step` is a pure function ``state -> (state, info)`` meant to be jitted once; nothing
inside it synchronises with the host. Learning rate, diagonal shift and SPRING's momentum follow
optax schedules of the step counter carried in the state.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from suite.engine.chunking import effective_chunk_size, map_in_chunks
from suite.engine.hamiltonian import J1J2Hamiltonian
from suite.engine.models import init_parameters
from suite.engine.precision import cast_parameters, energy_bias_bound, log_psi_spread, with_dtype
from suite.engine.sampler import MetropolisExchange, SamplerState, Samples
from suite.engine.sharding import constrain_samples
from suite.engine.sr import (
    SRSolution,
    choose_solver,
    sample_jacobian,
    solver_chunk_size,
    sr_direction,
    sr_direction_chunked,
)
from suite.engine.stats import Stats, local_energy_statistics, split_r_hat


class VMCState(NamedTuple):
    """Everything that evolves during an optimisation (a pytree, checkpointable)."""

    params: Any
    opt_state: Any
    sampler: SamplerState
    key: jax.Array
    step: jax.Array


class SpringState(NamedTuple):
    """The optimiser state with SPRING's momentum (:mod:`suite.engine.spring`)."""

    inner: Any
    """the learning-rate step's (optax SGD) state"""
    previous: jax.Array
    """(P,) the previous step's direction phi_prev, before the learning rate, in
    ``ravel_pytree(params)`` order (zeros before the first step)"""


class StepInfo(NamedTuple):
    """Diagnostics of one step, measured on the samples drawn at the step's start.

    Attributes:
        energy: energy per site (mean of Re E_loc / N).
        error: its autocorrelation-aware error bar.
        variance: Var(H), the variance of the complex local energy (total-energy units).
        tau_corr: autocorrelation time estimate (0 for independent samples).
        acceptance: Metropolis acceptance rate while sampling.
        sr_fallback: True if the SR solve fell back to the eigen-decomposition solver.
        discarded_sweeps: sweeps discarded before the samples (adapted with ``decorrelation``).
    """

    energy: jax.Array
    error: jax.Array
    variance: jax.Array
    tau_corr: jax.Array
    acceptance: jax.Array
    sr_fallback: jax.Array
    discarded_sweeps: jax.Array


class Estimate(NamedTuple):
    """What one batch of samples says about the state: the part of the pipeline shared by the
    optimisation step, the evaluation pass and the FLOP count."""

    configs: jax.Array
    """(M, N) the samples, flattened over chains"""
    log_psi: jax.Array
    """(M,) their log-amplitudes in the model's precision"""
    local_energies: jax.Array
    """(M,) complex local energies"""
    stats: Stats
    """energy statistics over the chains (total-energy units; :func:`local_energy_statistics`)"""
    sampling_bias_bound: jax.Array
    """bound on the energy bias of sampling in ``sampling_dtype`` (0 when it is the model's)"""
    r_hat: jax.Array
    """split-R-hat of Re E_loc over the chains (NaN with fewer than 4 samples per chain)"""


def make_schedule(kind: str, initial: float, final: float | None, steps: int) -> optax.Schedule:
    """An optax schedule from ``initial`` to ``final`` over ``steps`` (constant if ``final`` unset)."""
    if kind == "constant" or final is None:
        return optax.constant_schedule(initial)
    if kind == "cosine":
        return optax.cosine_decay_schedule(initial, steps, alpha=final / initial)
    if kind == "exponential":
        return optax.exponential_decay(initial, steps, final / initial, end_value=final)
    raise ValueError(f"unknown schedule {kind!r}")


class VMC:
    """Ground-state search of ``hamiltonian`` with ``model``, Metropolis sampling and SR.

    The pipeline is written once, in parts that the step, the evaluation and the FLOP count
    (:mod:`suite.perf.flops`) all call: :meth:`sample`, :meth:`estimate`,
    :meth:`per_sample_jacobian` and :meth:`update`. With ``sr_solver = "chunked"`` the step calls
    :meth:`update_chunked` instead of the last two, which never holds the (M, 2, P) Jacobian.

    Args:
        model: a Flax module mapping configurations (B, N) to complex log-amplitudes (B,).
        hamiltonian: the J1-J2 Hamiltonian.
        sampler: the Metropolis exchange sampler.
        learning_rate: a number or an optax schedule of the step counter.
        diag_shift: the SR diagonal shift, a number or an optax schedule of the step counter.
        sr_mode: ``auto``, ``sample`` or ``parameter`` (:func:`suite.engine.sr.sr_direction`).
        dtype: parameter dtype.
        sampling_dtype: the network's dtype inside the Markov chain (``None``: ``dtype``);
            see :mod:`suite.engine.precision`.
        sr_solver: ``dense`` (the whole Jacobian), ``chunked`` (Jacobian blocks,
            :func:`suite.engine.sr.sr_direction_chunked`) or ``auto`` (chunked when one device's
            share of the dense Jacobian would exceed 2 GiB, :func:`suite.engine.sr.choose_solver`).
        sr_chunk_size: samples per Jacobian block of the chunked solver (``None``: the network's
            evaluations per call, lowered so that a block fits in 512 MiB;
            :func:`suite.engine.sr.solver_chunk_size`).
        momentum: SPRING's momentum mu in [0, 1), a number or an optax schedule of the step
            counter (:mod:`suite.engine.spring`). ``None`` or the number 0: plain SR, and the
            optimiser state is the SGD state alone; otherwise it is a :class:`SpringState`
            that carries the previous direction.
    """

    def __init__(self, model: nn.Module, hamiltonian: J1J2Hamiltonian,
                 sampler: MetropolisExchange, *, learning_rate: float | optax.Schedule,
                 diag_shift: float | optax.Schedule, sr_mode: str = "auto",
                 dtype=jnp.float64, sampling_dtype=None, sr_solver: str = "dense",
                 sr_chunk_size: int | None = None,
                 momentum: float | optax.Schedule | None = None) -> None:
        self.model = model
        self.sampling_dtype = None if sampling_dtype == dtype else sampling_dtype
        self.hamiltonian = hamiltonian
        self.sampler = sampler
        self.dtype = dtype
        self.learning_rate = _as_schedule(learning_rate)
        self.diag_shift = _as_schedule(diag_shift)
        self.sr_mode = sr_mode
        choose_solver(sr_solver, 1, 1)  # an unknown solver fails here, not at the first step
        self.sr_solver = sr_solver
        self.sr_chunk_size = sr_chunk_size
        self.optimizer = optax.sgd(self.learning_rate)
        plain = momentum is None or (not callable(momentum) and momentum == 0)
        self.momentum = None if plain else _as_schedule(momentum)
        """SPRING's momentum schedule, or None for plain SR"""
        self.mesh = None
        """a ``jax.sharding.Mesh`` to split the samples over (``suite.engine.sharding``), or None"""

    @property
    def n_sites(self) -> int:
        return self.hamiltonian.n_sites

    @property
    def chunk_size(self) -> int | None:
        """Network evaluations per call: the configured bound, capped on a CPU."""
        return effective_chunk_size(self.sampler.chunk_size)

    def log_psi(self, params) -> Any:
        """The batched log-amplitude at ``params``: (B, N) -> (B,) complex."""
        return lambda configs: self.model.apply({"params": params}, configs)

    def sampling_log_psi(self, params) -> Any:
        """The batched log-amplitude the Markov chain uses: :meth:`log_psi` in ``sampling_dtype``.

        Its values are returned in the model's complex dtype, so the acceptance test draws the
        same random numbers as a chain in the model's precision and differs from it only where
        the two log-amplitudes straddle a draw.
        """
        if self.sampling_dtype is None:
            return self.log_psi(params)
        model = with_dtype(self.model, self.sampling_dtype)
        low = cast_parameters(params, self.sampling_dtype)
        output = jnp.result_type(self.dtype, jnp.complex64)
        return lambda configs: model.apply({"params": low}, configs).astype(output)

    def model_log_psi(self, params, configs: jax.Array, sampled_log_psi: jax.Array) -> jax.Array:
        """log psi of the samples (M, N) in the model's precision.

        The chain's own values when it sampled in that precision; otherwise one more chunked
        network pass, so local energies never mix precisions.
        """
        if self.sampling_dtype is None:
            return sampled_log_psi
        return map_in_chunks(self.log_psi(params), configs, self.chunk_size)

    def init(self, key: jax.Array) -> VMCState:
        """Random parameters and thermalised chains."""
        key_params, key_chains, key_thermal, key_run = jax.random.split(key, 4)
        params = init_parameters(self.model, key_params, self.n_sites, self.dtype)
        thermalize = jax.jit(
            lambda p, c, k: self.sampler.thermalize(self.sampling_log_psi(p), c, k))
        chains = thermalize(params, self.sampler.init(key_chains), key_thermal)
        opt_state = self.optimizer.init(params)
        if self.momentum is not None:
            opt_state = SpringState(opt_state, jnp.zeros_like(ravel_pytree(params)[0]))
        return VMCState(params, opt_state, chains, key_run, jnp.zeros((), jnp.int32))

    def per_sample_jacobian(self, params, configs: jax.Array) -> jax.Array:
        """d(Re, Im) log psi / d theta for every configuration: (M, N) -> (M, 2, P)."""
        flat, unravel = ravel_pytree(params)

        def log_amplitude(flat_params, batch):
            return self.model.apply({"params": unravel(flat_params)}, batch)

        return map_in_chunks(lambda chunk: sample_jacobian(log_amplitude, flat, chunk), configs,
                             self.chunk_size)

    def solver(self, n_samples: int, n_parameters: int) -> str:
        """``sr_solver`` resolved for M samples and P parameters: ``dense`` or ``chunked``."""
        devices = 1 if self.mesh is None else self.mesh.size
        return choose_solver(self.sr_solver, n_samples, n_parameters,
                             jnp.dtype(self.dtype).itemsize, devices)

    def solver_chunk_size(self, n_parameters: int) -> int:
        """Samples per Jacobian block of the chunked solver (:func:`solver_chunk_size`)."""
        return solver_chunk_size(n_parameters, jnp.dtype(self.dtype).itemsize, self.chunk_size,
                                 self.sr_chunk_size)

    def local_energies(self, params, configs: jax.Array, log_psi_configs: jax.Array) -> jax.Array:
        """E_loc of every configuration (M, N) at ``params``, chunked."""
        return self.hamiltonian.local_energies(self.log_psi(params), configs, log_psi_configs,
                                               self.chunk_size)

    def sample(self, params, chains: SamplerState, key: jax.Array,
               samples_per_chain: int | None = None) -> tuple[Samples, SamplerState]:
        """Samples of |psi|^2 (in ``sampling_dtype``) from every chain, and the advanced chains."""
        return self.sampler.sample(self.sampling_log_psi(params), chains, key, samples_per_chain)

    def estimate(self, params, samples: Samples) -> Estimate:
        """Local energies and their statistics on ``samples``, split over the mesh's devices."""
        n_chains, per_chain, _ = samples.configs.shape
        configs = constrain_samples(samples.configs.reshape(-1, self.n_sites), self.mesh)
        sampled_log_psi = constrain_samples(samples.log_psi.reshape(-1), self.mesh)
        log_psi = constrain_samples(self.model_log_psi(params, configs, sampled_log_psi),
                                    self.mesh)
        e_loc = constrain_samples(self.local_energies(params, configs, log_psi), self.mesh)
        stats = local_energy_statistics(e_loc.reshape(n_chains, per_chain))
        bias = energy_bias_bound(log_psi_spread(sampled_log_psi, log_psi), e_loc)
        r_hat = split_r_hat(jnp.real(e_loc).reshape(n_chains, per_chain))
        return Estimate(configs, log_psi, e_loc, stats, bias, r_hat)

    def update(self, params, opt_state, step: jax.Array, jacobian: jax.Array,
               local_energies: jax.Array, sr_mode: str | None = None) -> tuple[Any, Any, SRSolution]:
        """The SR direction from the Jacobian (M, 2, P) and local energies (M,), and the
        parameters and optimiser state after one learning-rate step along it."""
        solution = sr_direction(jacobian, local_energies, self.diag_shift(step),
                                sr_mode or self.sr_mode, None, *self._spring(opt_state, step))
        return self._apply(params, opt_state, solution)

    def update_chunked(self, params, opt_state, step: jax.Array, configs: jax.Array,
                       local_energies: jax.Array, sr_mode: str | None = None
                       ) -> tuple[Any, Any, SRSolution]:
        """:meth:`update` from the samples (M, N) instead of their Jacobian: the chunked solver
        (:func:`suite.engine.sr.sr_direction_chunked`), memory O(M^2 + chunk P)."""
        n_parameters = sum(leaf.size for leaf in jax.tree_util.tree_leaves(params))
        momentum, previous = self._spring(opt_state, step)
        solution = sr_direction_chunked(
            lambda parameters, batch: self.model.apply({"params": parameters}, batch), params,
            configs, local_energies, self.diag_shift(step), self.solver_chunk_size(n_parameters),
            sr_mode or self.sr_mode, constrain=lambda x: constrain_samples(x, self.mesh),
            block_multiple=1 if self.mesh is None else self.mesh.size,
            momentum=momentum, previous=previous)
        return self._apply(params, opt_state, solution)

    def _spring(self, opt_state, step: jax.Array) -> tuple[jax.Array | None, jax.Array | None]:
        """``(momentum, previous direction)`` for the solvers; ``(None, None)`` for plain SR."""
        if self.momentum is None:
            return None, None
        return self.momentum(step), opt_state.previous

    def _apply(self, params, opt_state, solution: SRSolution) -> tuple[Any, Any, SRSolution]:
        """One learning-rate step along the SR direction (with SPRING, the direction is kept
        as the next step's phi_prev)."""
        _, unravel = ravel_pytree(params)
        inner = opt_state if self.momentum is None else opt_state.inner
        updates, inner = self.optimizer.update(unravel(solution.direction), inner, params)
        opt_state = inner if self.momentum is None else SpringState(inner, solution.direction)
        return optax.apply_updates(params, updates), opt_state, solution

    def step(self, state: VMCState) -> tuple[VMCState, StepInfo]:
        """One optimisation step (pure; jit it once)."""
        key, key_sample = jax.random.split(state.key)
        samples, chains = self.sample(state.params, state.sampler, key_sample)
        estimate = self.estimate(state.params, samples)
        n_parameters = sum(leaf.size for leaf in jax.tree_util.tree_leaves(state.params))
        if self.solver(estimate.configs.shape[0], n_parameters) == "chunked":
            params, opt_state, solution = self.update_chunked(
                state.params, state.opt_state, state.step, estimate.configs,
                estimate.local_energies)
        else:
            jacobian = constrain_samples(
                self.per_sample_jacobian(state.params, estimate.configs), self.mesh)
            params, opt_state, solution = self.update(state.params, state.opt_state, state.step,
                                                      jacobian, estimate.local_energies)
        stats = estimate.stats
        info = StepInfo(
            energy=stats.mean / self.n_sites,
            error=stats.error / self.n_sites,
            variance=stats.variance,
            tau_corr=stats.tau_corr,
            acceptance=samples.acceptance,
            sr_fallback=solution.used_fallback,
            discarded_sweeps=jnp.asarray(samples.discarded, jnp.int32),
        )
        return VMCState(params, opt_state, chains, key, state.step + 1), info

    def evaluate(self, state: VMCState, samples_per_chain: int
                 ) -> tuple[Stats, jax.Array, jax.Array, jax.Array]:
        """Energy statistics (total-energy units) from a fresh batch of samples, no update.

        Returns:
            ``(stats, acceptance, sampling_bias_bound, r_hat)``: the bound of
            :mod:`suite.engine.precision` on the energy bias of sampling in ``sampling_dtype``
            (total-energy units; exactly 0 when the chain runs in the model's precision), and
            the split-R-hat of the local energies over the chains
            (:func:`suite.engine.stats.split_r_hat`).
        """
        key = jax.random.fold_in(state.key, 0x5EED)
        samples, _ = self.sample(state.params, state.sampler, key, samples_per_chain)
        estimate = self.estimate(state.params, samples)
        return (estimate.stats, samples.acceptance, estimate.sampling_bias_bound,
                estimate.r_hat)


def _as_schedule(value: float | optax.Schedule) -> optax.Schedule:
    return value if callable(value) else optax.constant_schedule(value)
