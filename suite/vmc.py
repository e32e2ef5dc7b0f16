"""The variational Monte Carlo step: sample, local energies, log-derivatives, SR, update.

:meth:`VMC.step` is a pure function ``state -> (state, info)`` meant to be jitted once; nothing
inside it synchronises with the host. Learning rate and diagonal shift follow optax schedules of
the step counter carried in the state.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from suite.chunking import effective_chunk_size, map_in_chunks
from suite.config import OptimizerConfig
from suite.hamiltonian import J1J2Hamiltonian
from suite.models import init_parameters
from suite.precision import cast_parameters, energy_bias_bound, log_psi_spread, with_dtype
from suite.sampler import MetropolisExchange, SamplerState
from suite.sharding import constrain_samples
from suite.sr import sr_direction
from suite.stats import Stats, chain_statistics


class VMCState(NamedTuple):
    """Everything that evolves during an optimisation (a pytree, checkpointable)."""

    params: Any
    opt_state: Any
    sampler: SamplerState
    key: jax.Array
    step: jax.Array


class StepInfo(NamedTuple):
    """Diagnostics of one step, measured on the samples drawn at the step's start.

    Attributes:
        energy: energy per site (mean of Re E_loc / N).
        error: its autocorrelation-aware error bar.
        variance: variance of the local energy (total-energy units: Var(H)).
        tau_corr: autocorrelation time estimate (0 for independent samples).
        acceptance: Metropolis acceptance rate while sampling.
        sr_fallback: True if the SR solve fell back to the eigen-decomposition solver.
    """

    energy: jax.Array
    error: jax.Array
    variance: jax.Array
    tau_corr: jax.Array
    acceptance: jax.Array
    sr_fallback: jax.Array


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

    Args:
        model: a Flax module mapping configurations (B, N) to complex log-amplitudes (B,).
        hamiltonian: the J1-J2 Hamiltonian.
        sampler: the Metropolis exchange sampler.
        optimizer: validated optimiser settings.
        dtype: parameter dtype.
        sampling_dtype: the network's dtype inside the Markov chain (``None``: ``dtype``);
            see :mod:`suite.precision`.
    """

    def __init__(self, model: nn.Module, hamiltonian: J1J2Hamiltonian,
                 sampler: MetropolisExchange, optimizer: OptimizerConfig,
                 dtype=jnp.float64, sampling_dtype=None) -> None:
        self.model = model
        self.sampling_dtype = None if sampling_dtype == dtype else sampling_dtype
        self.hamiltonian = hamiltonian
        self.sampler = sampler
        self.optimizer_config = optimizer.validate()
        self.dtype = dtype
        self.learning_rate = make_schedule(optimizer.learning_rate_schedule,
                                           optimizer.learning_rate,
                                           optimizer.learning_rate_final, optimizer.steps)
        self.diag_shift = make_schedule(optimizer.diag_shift_schedule, optimizer.diag_shift,
                                        optimizer.diag_shift_final, optimizer.steps)
        self.optimizer = optax.sgd(self.learning_rate)
        self.mesh = None
        """a ``jax.sharding.Mesh`` to split the samples over (``suite.sharding``), or None"""

    @property
    def n_sites(self) -> int:
        return self.hamiltonian.n_sites

    @property
    def chunk_size(self) -> int | None:
        """Network evaluations per call: the configured bound, capped on a CPU."""
        return effective_chunk_size(self.sampler.config.chunk_size)

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
        return VMCState(params, self.optimizer.init(params), chains, key_run,
                        jnp.zeros((), jnp.int32))

    def per_sample_jacobian(self, params, configs: jax.Array) -> jax.Array:
        """d(Re, Im) log psi / d theta for every configuration: (M, N) -> (M, 2, P)."""
        flat, unravel = ravel_pytree(params)

        def real_and_imaginary(flat_params, sigma):
            value = self.model.apply({"params": unravel(flat_params)}, sigma[None])[0]
            return jnp.stack([jnp.real(value), jnp.imag(value)])

        jacobian = jax.vmap(jax.jacrev(real_and_imaginary), in_axes=(None, 0))
        return map_in_chunks(lambda chunk: jacobian(flat, chunk), configs, self.chunk_size)

    def local_energies(self, params, configs: jax.Array, log_psi_configs: jax.Array) -> jax.Array:
        """E_loc of every configuration (M, N) at ``params``, chunked."""
        return self.hamiltonian.local_energies(self.log_psi(params), configs, log_psi_configs,
                                               self.chunk_size)

    def step(self, state: VMCState) -> tuple[VMCState, StepInfo]:
        """One optimisation step (pure; jit it once)."""
        key, key_sample = jax.random.split(state.key)
        samples, chains = self.sampler.sample(self.sampling_log_psi(state.params), state.sampler,
                                              key_sample)
        n_chains, per_chain, _ = samples.configs.shape
        configs = constrain_samples(samples.configs.reshape(-1, self.n_sites), self.mesh)
        log_psi_configs = constrain_samples(
            self.model_log_psi(state.params, configs, samples.log_psi.reshape(-1)), self.mesh)
        e_loc = constrain_samples(self.local_energies(state.params, configs, log_psi_configs),
                                  self.mesh)
        stats = chain_statistics(jnp.real(e_loc).reshape(n_chains, per_chain))
        jacobian = constrain_samples(self.per_sample_jacobian(state.params, configs), self.mesh)
        solution = sr_direction(jacobian, e_loc, self.diag_shift(state.step),
                                self.optimizer_config.sr_mode)
        _, unravel = ravel_pytree(state.params)
        updates, opt_state = self.optimizer.update(unravel(solution.direction), state.opt_state,
                                                   state.params)
        params = optax.apply_updates(state.params, updates)
        info = StepInfo(
            energy=stats.mean / self.n_sites,
            error=stats.error / self.n_sites,
            variance=stats.variance,
            tau_corr=stats.tau_corr,
            acceptance=samples.acceptance,
            sr_fallback=solution.used_fallback,
        )
        return VMCState(params, opt_state, chains, key, state.step + 1), info

    def evaluate(self, state: VMCState, samples_per_chain: int
                 ) -> tuple[Stats, jax.Array, jax.Array]:
        """Energy statistics (total-energy units) from a fresh batch of samples, no update.

        Returns:
            ``(stats, acceptance, sampling_bias_bound)``: the last is the bound of
            :mod:`suite.precision` on the energy bias of sampling in ``sampling_dtype``
            (total-energy units; exactly 0 when the chain runs in the model's precision).
        """
        key = jax.random.fold_in(state.key, 0x5EED)
        samples, _ = self.sampler.sample(self.sampling_log_psi(state.params), state.sampler, key,
                                         samples_per_chain)
        n_chains, per_chain, _ = samples.configs.shape
        configs = samples.configs.reshape(-1, self.n_sites)
        sampled_log_psi = samples.log_psi.reshape(-1)
        log_psi_configs = self.model_log_psi(state.params, configs, sampled_log_psi)
        e_loc = self.local_energies(state.params, configs, log_psi_configs)
        bias = energy_bias_bound(log_psi_spread(sampled_log_psi, log_psi_configs), e_loc)
        stats = chain_statistics(jnp.real(e_loc).reshape(n_chains, per_chain))
        return stats, samples.acceptance, bias
