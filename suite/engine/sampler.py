"""Metropolis sampling of |psi|^2 in the Sz=0 sector with exchange moves (appendix B).

A proposal picks, in every chain, one up spin and one down spin uniformly at random and exchanges
them. Since every Sz=0 configuration has N/2 up and N/2 down spins, the proposal is symmetric and
the acceptance is min(1, |psi(s')|^2 / |psi(s)|^2). All chains advance together, one batched
network call per proposal, inside a single ``lax.scan``.

Adaptive sampling (``decorrelation`` > 0): every batch measures, across the chains, the
autocorrelation of Re log psi between the batch's start and each discarded sweep and its first
sample (:func:`lag_correlation`), and the next batch discards the fewest sweeps after which it
was at most ``decorrelation`` (:func:`next_discard`; one more when none was, never more than
``discard_sweeps``). The count is chosen from the previous batch, never from the one it
applies to; it depends on the chains only through one correlation over all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from suite.engine.chunking import effective_chunk_size, map_in_chunks

LogPsi = Callable[[jax.Array], jax.Array]


class SamplerState(NamedTuple):
    """The persistent Markov chains.

    Attributes:
        configs: current configuration of every chain, (n_chains, N) int8 of +-1.
    """

    configs: jax.Array
    discard: jax.Array | None = None
    """adaptive sampling only: the sweeps the next batch discards (int32 scalar), chosen by the
    previous batch (:func:`next_discard`); ``None``: always ``discard_sweeps``"""


class Samples(NamedTuple):
    """One batch of samples.

    Attributes:
        configs: (n_chains, samples_per_chain, N) int8 of +-1.
        log_psi: their log-amplitudes, (n_chains, samples_per_chain) complex.
        acceptance: fraction of proposals accepted while producing them (scalar).
    """

    configs: jax.Array
    log_psi: jax.Array
    acceptance: jax.Array
    discarded: jax.Array | int = 0
    """sweeps discarded before the batch's first sample (int32 scalar when adaptive)"""


def lag_correlation(start: jax.Array, now: jax.Array) -> jax.Array:
    """The Pearson correlation, over the chains, of a per-chain value at a batch's start and now:
    the chains' autocorrelation at that lag. ``1`` when either has no spread (nothing tells the
    chains apart, so nothing shows they decorrelated)."""
    a, b = start - jnp.mean(start), now - jnp.mean(now)
    norm = jnp.sqrt(jnp.sum(a * a) * jnp.sum(b * b))
    return jnp.where(norm > 0, jnp.sum(a * b) / jnp.where(norm > 0, norm, 1.0), 1.0)


def next_discard(rho: jax.Array, discard: jax.Array, sweeps_per_sample: int, max_discard: int,
                 threshold: float) -> jax.Array:
    """The sweeps the next batch discards, from this batch's autocorrelations.

    Args:
        rho: ``rho[k - 1]`` the autocorrelation at a lag of ``k`` sweeps, NaN where not measured
            (length ``max_discard + sweeps_per_sample``).
        discard: the sweeps this batch discarded.
        sweeps_per_sample: sweeps between a chain's samples (the first sample's lag is
            ``discard + sweeps_per_sample``).
        max_discard: the most sweeps ever discarded.
        threshold: the largest autocorrelation accepted.

    Returns:
        The smallest lag whose autocorrelation was at most ``threshold``, less the sweeps the
        first sample takes anyway (at least 0); where none was, ``discard + 1``; never more
        than ``max_discard`` (int32 scalar).
    """
    lags = jnp.arange(1, rho.shape[0] + 1)
    beyond = rho.shape[0] + 1
    first = jnp.min(jnp.where(rho <= threshold, lags, beyond))  # NaN compares False
    shorter = jnp.clip(first - sweeps_per_sample, 0, max_discard)
    longer = jnp.minimum(discard + 1, max_discard)
    return jnp.where(first < beyond, shorter, longer).astype(jnp.int32)


def random_sz0_configs(key: jax.Array, n_chains: int, n_sites: int) -> jax.Array:
    """Uniformly random configurations with N/2 up spins, (n_chains, N) int8."""
    ranks = jnp.argsort(jax.random.uniform(key, (n_chains, n_sites)), axis=-1)
    return jnp.where(ranks < n_sites // 2, 1, -1).astype(jnp.int8)


def propose_exchange(key: jax.Array, configs: jax.Array) -> jax.Array:
    """Exchange one random up spin with one random down spin in every chain."""
    noise = jax.random.uniform(key, configs.shape)
    up = jnp.argmax(jnp.where(configs > 0, noise, -1.0), axis=-1)
    down = jnp.argmax(jnp.where(configs < 0, noise, -1.0), axis=-1)
    rows = jnp.arange(configs.shape[0])
    return configs.at[rows, up].set(-1).at[rows, down].set(1)


class MetropolisExchange:
    """Exchange-move Metropolis sampler over many parallel chains.

    Args:
        n_sites: number of spins N (even).
        n_chains: Markov chains advanced together.
        samples_per_chain: samples each chain contributes to one batch.
        sweeps_per_sample: sweeps (N proposals each) between two samples of a chain.
        thermalization_sweeps: sweeps run once on fresh chains (:meth:`thermalize`).
        discard_sweeps: sweeps discarded at the start of every batch (with ``decorrelation``,
            the most).
        chunk_size: configurations per network call (``None``: no chunking).
        decorrelation: adaptive sampling when > 0: discard the fewest sweeps after which the
            chains' autocorrelation is at most this (see the module); 0: always
            ``discard_sweeps``.
    """

    def __init__(self, n_sites: int, n_chains: int, samples_per_chain: int = 1, *,
                 sweeps_per_sample: int = 1, thermalization_sweeps: int = 32,
                 discard_sweeps: int = 5, chunk_size: int | None = None,
                 decorrelation: float = 0.0) -> None:
        self.n_sites = n_sites
        self.n_chains = n_chains
        self.samples_per_chain = samples_per_chain
        self.sweeps_per_sample = sweeps_per_sample
        self.thermalization_sweeps = thermalization_sweeps
        self.discard_sweeps = discard_sweeps
        self.chunk_size = chunk_size
        self.decorrelation = decorrelation

    @property
    def adaptive(self) -> bool:
        """Whether the discarded sweeps adapt to the chains' autocorrelation."""
        return self.decorrelation > 0

    @property
    def n_samples(self) -> int:
        """Samples per batch, all chains together."""
        return self.n_chains * self.samples_per_chain

    def init(self, key: jax.Array) -> SamplerState:
        """Fresh chains at random Sz=0 configurations (not yet thermalised); adaptive sampling
        starts by discarding ``discard_sweeps``."""
        discard = jnp.asarray(self.discard_sweeps, jnp.int32) if self.adaptive else None
        return SamplerState(random_sz0_configs(key, self.n_chains, self.n_sites), discard)

    def _batched(self, log_psi: LogPsi) -> LogPsi:
        chunk = effective_chunk_size(self.chunk_size)
        return lambda configs: map_in_chunks(log_psi, configs, chunk)

    def _sweeps(self, log_psi: LogPsi, key, configs, log_psi_configs, n_sweeps: int):
        """Run ``n_sweeps`` sweeps of N proposals; returns the new chains and acceptances."""
        n_steps = n_sweeps * self.n_sites

        def metropolis_step(carry, step_key):
            current, current_log_psi, accepted = carry
            key_propose, key_accept = jax.random.split(step_key)
            proposed = propose_exchange(key_propose, current)
            proposed_log_psi = log_psi(proposed)
            log_ratio = 2.0 * jnp.real(proposed_log_psi - current_log_psi)
            uniform = jax.random.uniform(key_accept, log_ratio.shape, dtype=log_ratio.dtype)
            accept = jnp.log1p(-uniform) <= log_ratio  # log(u) with u in (0, 1]
            current = jnp.where(accept[:, None], proposed, current)
            current_log_psi = jnp.where(accept, proposed_log_psi, current_log_psi)
            return (current, current_log_psi, accepted + jnp.sum(accept, dtype=jnp.int32)), None

        carry = (configs, log_psi_configs, jnp.zeros((), jnp.int32))
        if n_steps:
            carry, _ = jax.lax.scan(metropolis_step, carry, jax.random.split(key, n_steps))
        return carry

    def thermalize(self, log_psi: LogPsi, state: SamplerState, key: jax.Array,
                   n_sweeps: int | None = None) -> SamplerState:
        """Advance the chains by ``n_sweeps`` (default: ``thermalization_sweeps``) sweeps."""
        n_sweeps = self.thermalization_sweeps if n_sweeps is None else n_sweeps
        log_psi = self._batched(log_psi)
        configs, _, _ = self._sweeps(log_psi, key, state.configs, log_psi(state.configs), n_sweeps)
        return state._replace(configs=configs)

    def _discard_adaptively(self, log_psi: LogPsi, key, configs, log_psi_configs, discard):
        """``discard`` (traced) sweeps one at a time, each followed by its lag correlation.

        Returns the chains, their log psi, the accepted proposals and ``rho`` (length
        ``discard_sweeps + sweeps_per_sample``: lags 1 .. ``discard`` filled, NaN beyond).
        """
        start = jnp.real(log_psi_configs)
        rho = jnp.full((self.discard_sweeps + self.sweeps_per_sample,), jnp.nan, start.dtype)

        def sweep(carry):
            done, current, current_log_psi, accepted, rho = carry
            current, current_log_psi, new = self._sweeps(
                log_psi, jax.random.fold_in(key, done), current, current_log_psi, 1)
            rho = rho.at[done].set(lag_correlation(start, jnp.real(current_log_psi)))
            return done + 1, current, current_log_psi, accepted + new, rho

        carry = (jnp.zeros((), jnp.int32), configs, log_psi_configs, jnp.zeros((), jnp.int32), rho)
        _, configs, log_psi_configs, accepted, rho = jax.lax.while_loop(
            lambda carry: carry[0] < discard, sweep, carry)
        return configs, log_psi_configs, accepted, rho

    def sample(self, log_psi: LogPsi, state: SamplerState, key: jax.Array,
               samples_per_chain: int | None = None) -> tuple[Samples, SamplerState]:
        """Draw ``samples_per_chain`` samples from every chain (default: the config's).

        ``discard_sweeps`` sweeps run first (adaptive: as many as the previous batch chose,
        ``state.discard``), then ``sweeps_per_sample`` sweeps before each sample.

        Args:
            log_psi: batched log-amplitude at the current parameters.
            state: the chains, as returned by :meth:`init`, :meth:`thermalize` or this method.
            key: PRNG key.
            samples_per_chain: samples per chain (static).

        Returns:
            The samples with their log-amplitudes, acceptance and discarded sweeps, and the
            advanced chains (adaptive: with the next batch's discard).
        """
        per_chain = samples_per_chain or self.samples_per_chain
        log_psi = self._batched(log_psi)
        key_discard, key_sample = jax.random.split(key)
        start_log_psi = log_psi(state.configs)
        adaptive = self.adaptive
        if adaptive:  # chains made by a fixed sampler start from the most sweeps
            discard = jnp.asarray(self.discard_sweeps if state.discard is None else state.discard,
                                  jnp.int32)
            configs, current_log_psi, discarded_accepts, rho = self._discard_adaptively(
                log_psi, key_discard, state.configs, start_log_psi, discard)
        else:
            discard = self.discard_sweeps
            configs, current_log_psi, discarded_accepts = self._sweeps(
                log_psi, key_discard, state.configs, start_log_psi, discard)

        def one_sample(carry, sample_key):
            configs, current_log_psi, accepted = carry
            configs, current_log_psi, new = self._sweeps(
                log_psi, sample_key, configs, current_log_psi, self.sweeps_per_sample
            )
            return (configs, current_log_psi, accepted + new), (configs, current_log_psi)

        carry = (configs, current_log_psi, jnp.zeros((), jnp.int32))
        (configs, _, accepted), (samples, samples_log_psi) = jax.lax.scan(
            one_sample, carry, jax.random.split(key_sample, per_chain)
        )
        n_proposed = (discard + per_chain * self.sweeps_per_sample)
        n_proposed *= self.n_sites * self.n_chains
        batch = Samples(
            configs=jnp.swapaxes(samples, 0, 1),
            log_psi=jnp.swapaxes(samples_log_psi, 0, 1),
            acceptance=(accepted + discarded_accepts).astype(jnp.float32) / n_proposed,
            discarded=discard,
        )
        if not adaptive:
            return batch, state._replace(configs=configs)
        first_lag = discard + self.sweeps_per_sample  # the first sample's
        rho = rho.at[first_lag - 1].set(
            lag_correlation(jnp.real(start_log_psi), jnp.real(samples_log_psi[0])))
        following = next_discard(rho, discard, self.sweeps_per_sample, self.discard_sweeps,
                                 self.decorrelation)
        return batch, SamplerState(configs, following)
