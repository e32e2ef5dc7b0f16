"""Side-by-side race against NetKet (the optional ``.[peers]`` extra) on identical cells.

For one cell both engines get the same problem and the same work per step:

- the same model (our Flax module, handed to NetKet's ``MCState``) from the same initial
  parameters;
- the same Hamiltonian: NetKet's ``Heisenberg`` uses Pauli matrices, so its couplings are ours
  divided by 4 (``J sigma.sigma = 4 J S.S``), on a graph made of our own bonds (the same site
  order as our patches);
- the same sampling: Metropolis with our exchange proposal (one random up spin swapped with one
  random down spin; NetKet's own ``ExchangeRule`` only swaps along graph edges), the same number of
  chains and samples, sweeps of N proposals, and the same discarded sweeps per step;
- the same memory bound: NetKet's ``chunk_size`` (samples per call of the local energies) is
  the largest power of two that keeps its network calls within ours (``vmc.chunk_size``
  evaluations, capped on a CPU where large batches fall out of cache);
- the same SR: ``VMC_SR`` with ``use_ntk`` matching our solver (the sample-space kernel when
  ``sr_mode`` resolves to ``sample``), the same learning-rate and diagonal-shift schedules
  and SPRING's momentum where the cell sets one.

NetKet is used as its documentation recommends for speed: its jax operator
(``to_jax_operator``), power-of-two chunks, and ``VMC_SR``'s defaults otherwise (``on_the_fly``
NTK). The steps alternate between the engines in one process; the clock
is read after ``block_until_ready``; the first ``warmup`` steps (compilation) are timed apart.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from suite.bench.build import build_vmc
from suite.bench.config import RunConfig
from suite.bench.provenance import environment, git_state, utc_now
from suite.engine.exact import MAX_EXACT_SITES, exact_expectation
from suite.engine.precision import cast_parameters, with_dtype
from suite.engine.sampler import propose_exchange
from suite.engine.sr import choose_mode
from suite.report.races import (
    EngineTiming,
    RaceRecord,
    comparison_record,
    comparison_row,
    comparison_table,
    race_result,
    write_comparison,
)

TESTED_NETKET = ((3, 23), (3, 24))
"""NetKet versions this adapter is tested with: >= the first, < the second (pyproject's
``peers`` extra pins the same range). The mixed-precision race overrides two private members
of ``MCState`` (``_sampler_model``, ``_sampler_variables``), which another release may rename."""


class PeerUnavailableError(RuntimeError):
    """The peer engine is not installed, or not a version this adapter is tested with."""


def netket_available() -> bool:
    """Whether NetKet can be imported."""
    try:
        import netket  # noqa: F401
    except ImportError:
        return False
    return True


def _version_tuple(version: str) -> tuple[int, int]:
    """``"3.23.1"``, ``"3.23rc1"`` -> ``(3, 23)``: the release's major and minor numbers."""
    match = re.match(r"(\d+)(?:\.(\d+))?", version)
    if match is None:
        return (0, 0)
    return int(match.group(1)), int(match.group(2) or 0)


def check_netket_version(version: str) -> None:
    """Raise :class:`PeerUnavailableError` unless ``version`` is in :data:`TESTED_NETKET`."""
    low, high = TESTED_NETKET
    if not low <= _version_tuple(version) < high:
        raise PeerUnavailableError(
            f"NetKet {version} is outside the tested range >={low[0]}.{low[1]},"
            f"<{high[0]}.{high[1]}: pip install -e '.[peers]' installs a tested version")


def _netket():
    try:
        import netket as nk
    except ImportError as error:
        raise PeerUnavailableError("NetKet is not installed: pip install -e '.[peers]'") from error
    check_netket_version(nk.__version__)
    return nk


def netket_hamiltonian(nk, config: RunConfig, hilbert, bonds_nn: np.ndarray,
                       bonds_nnn: np.ndarray):
    """Our J1-J2 Hamiltonian as a NetKet jax operator (couplings / 4: NetKet uses Pauli matrices)."""
    system = config.system
    edges = [(int(i), int(j), 0) for i, j in bonds_nn]
    couplings = [system.J1 / 4]
    if system.J2 != 0:
        edges += [(int(i), int(j), 1) for i, j in bonds_nnn]
        couplings.append(system.J2 / 4)
    graph = nk.graph.Graph(edges=edges)
    operator = nk.operator.Heisenberg(hilbert, graph, J=couplings,
                                      sign_rule=[False] * len(couplings))
    return operator.to_jax_operator()


def _exchange_rule(nk):
    class UpDownExchange(nk.sampler.rules.MetropolisRule):
        """Swap one random up spin with one random down spin (nqsbench's proposal)."""

        def transition(self, sampler, machine, parameters, state, key, sigma):
            return propose_exchange(key, sigma), None

    return UpDownExchange()


def _variational_state_class(nk, sampling_dtype):
    """NetKet's ``MCState``, or one whose sampler uses the model in ``sampling_dtype``.

    NetKet has no public option for this, but ``MCState`` draws samples through its
    ``_sampler_model`` and ``_sampler_variables``, and evaluates local energies and gradients
    with the model itself; overriding the two gives exactly our mixed precision
    (``suite.engine.precision``), so a cell with ``sampler_dtype`` races like against like.
    """
    if sampling_dtype is None:
        return nk.vqs.MCState

    class MixedPrecisionMCState(nk.vqs.MCState):
        @property
        def _sampler_model(self):
            if getattr(self, "_low_precision_model", None) is None:
                self._low_precision_model = with_dtype(self._model, sampling_dtype)
            return self._low_precision_model

        @property
        def _sampler_variables(self):
            return cast_parameters(self.variables, sampling_dtype)

    return MixedPrecisionMCState


def _netket_chunk(samples_per_chunk: int | None, n_samples: int) -> int | None:
    """NetKet's chunk (samples whose connected configurations go through the network at once)
    bounding memory as our local energies' chunks do; a power of two, ``None`` for one call."""
    if samples_per_chunk is None or samples_per_chunk >= n_samples:
        return None
    return 1 << (samples_per_chunk.bit_length() - 1)


def netket_problem(nk, config: RunConfig, vmc):
    """NetKet's Hilbert space (Sz = 0) and our Hamiltonian on it, for ``vmc``'s lattice."""
    hilbert = nk.hilbert.Spin(s=0.5, N=vmc.n_sites, total_sz=0)
    lattice = vmc.hamiltonian.lattice
    return hilbert, netket_hamiltonian(nk, config, hilbert, lattice.nearest_neighbour_bonds(),
                                       lattice.next_nearest_neighbour_bonds())


def netket_discards(sampler_config) -> tuple[int, int]:
    """``(n_discard_per_chain, thermalisation)`` in NetKet's units for our sampler settings.

    NetKet discards whole samples of ``sweep_size`` proposals (``sweeps_per_sample`` of our
    sweeps), so our ``discard_sweeps`` must be a multiple of ``sweeps_per_sample``; the
    thermalisation of fresh chains is rounded up to whole samples.

    Raises:
        ValueError: ``discard_sweeps`` is not a multiple of ``sweeps_per_sample``.
    """
    per_sample = sampler_config.sweeps_per_sample
    if sampler_config.discard_sweeps % per_sample:
        raise ValueError(f"NetKet discards whole samples of sweeps_per_sample={per_sample} "
                         f"sweeps: make discard_sweeps ({sampler_config.discard_sweeps}) a "
                         "multiple of it to race")
    return (sampler_config.discard_sweeps // per_sample,
            -(-sampler_config.thermalization_sweeps // per_sample))


def netket_state(nk, config: RunConfig, vmc, hilbert, rule, params, seed: int):
    """NetKet's ``MCState`` with our sampler's settings (``rule``: :func:`_exchange_rule`; reuse
    one instance, a new rule class misses NetKet's jit caches), from ``params``, its chains
    thermalised as ours are at creation; and its chunk size."""
    sampler_config = config.sampler
    sampler = nk.sampler.MetropolisSampler(hilbert, rule, n_chains=sampler_config.chains,
                                           sweep_size=vmc.n_sites * sampler_config.sweeps_per_sample,
                                           dtype=jnp.int8)
    chunk = _netket_chunk(vmc.hamiltonian.samples_per_chunk(vmc.chunk_size),
                          sampler_config.n_samples)
    state_class = _variational_state_class(nk, vmc.sampling_dtype)
    discards, thermalisation = netket_discards(sampler_config)
    vstate = state_class(sampler, vmc.model, n_samples=sampler_config.n_samples,
                         n_discard_per_chain=discards,
                         variables={"params": params}, chunk_size=chunk, sampler_seed=seed,
                         seed=seed)
    vstate.sample(n_discard_per_chain=thermalisation)
    return vstate, chunk


def exact_energy_per_site(vmc, params) -> float | None:
    """The exact energy per site of ``params`` by enumerating the Sz = 0 sector (``None``
    above :data:`~suite.engine.exact.MAX_EXACT_SITES` sites)."""
    if vmc.n_sites > MAX_EXACT_SITES:
        return None
    log_psi = jax.jit(vmc.log_psi(params))
    return exact_expectation(lambda c: np.asarray(log_psi(c)), vmc.hamiltonian).energy / vmc.n_sites


def compare_with_netket(config: RunConfig, *, steps: int = 20, warmup: int = 2, rounds: int = 2,
                        cell_id: str = "", label: str = "") -> RaceRecord:
    """Race nqsbench against NetKet on one cell for ``steps`` timed steps.

    Args:
        config: the cell (validated here).
        steps: timed steps per engine (after ``warmup``).
        warmup: untimed steps first (the first compiles).
        rounds: the timed steps alternate between the engines in this many blocks each.
        cell_id: the matrix cell id, for the record.
        label: the matrix cell label, for the record.

    Returns:
        a :class:`~suite.report.races.RaceRecord` without provenance
        (:func:`~suite.report.races.race_result`).

    Raises:
        PeerUnavailableError: NetKet is not installed.
    """
    nk = _netket()
    import optax

    config.validate()
    vmc = build_vmc(config)
    sampler_config = config.sampler
    n = vmc.n_sites
    state = vmc.init(jax.random.key(config.seed))
    initial_params = state.params

    hilbert, hamiltonian = netket_problem(nk, config, vmc)
    rule = _exchange_rule(nk)
    vstate, chunk = netket_state(nk, config, vmc, hilbert, rule, initial_params, config.seed)
    n_parameters = vstate.n_parameters
    use_ntk = choose_mode(config.optimizer.sr_mode, sampler_config.n_samples,
                          n_parameters) == "sample"
    driver = nk.driver.VMC_SR(hamiltonian, optax.sgd(vmc.learning_rate),
                              diag_shift=vmc.diag_shift, variational_state=vstate,
                              use_ntk=use_ntk, momentum=vmc.momentum)

    our_step = jax.jit(vmc.step)
    ours_seconds: list[float] = []
    peer_seconds: list[float] = []
    info = None

    def run_ours(count: int) -> None:
        nonlocal state, info
        for _ in range(count):
            start = time.perf_counter()
            state, info = our_step(state)
            jax.block_until_ready((state, info))
            ours_seconds.append(time.perf_counter() - start)

    def run_peer(count: int) -> None:
        clock = [time.perf_counter()]

        def timer(step, log_data, driver) -> bool:
            jax.block_until_ready(driver.state.parameters)
            now = time.perf_counter()
            peer_seconds.append(now - clock[0])
            clock[0] = now
            return True

        driver.run(count, show_progress=False, callback=timer)

    # alternate: warm-up (compilation) of each, then the timed steps in ``rounds`` blocks each
    run_ours(warmup)
    run_peer(warmup)
    blocks = [len(chunk) for chunk in np.array_split(np.arange(steps), rounds) if len(chunk)]
    for block in blocks:
        run_ours(block)
        run_peer(block)

    peer_stats = driver._loss_stats
    ours_sampling, peer_sampling = _sampling_seconds(vmc, state, vstate)
    ours = EngineTiming(
        engine="nqsbench", version=_our_version(),
        seconds_per_step=statistics.median(ours_seconds[warmup:]),
        step_seconds=ours_seconds[warmup:], warmup_seconds=ours_seconds[:warmup],
        energy=float(info.energy), energy_error=float(info.error),
        exact_energy=exact_energy_per_site(vmc, state.params), sampling_seconds=ours_sampling)
    peer = EngineTiming(
        engine="netket", version=nk.__version__,
        seconds_per_step=statistics.median(peer_seconds[warmup:]),
        step_seconds=peer_seconds[warmup:], warmup_seconds=peer_seconds[:warmup],
        energy=float(np.real(peer_stats.mean)) / n,
        energy_error=float(peer_stats.error_of_mean) / n,
        exact_energy=exact_energy_per_site(vmc, driver.state.parameters), sampling_seconds=peer_sampling)
    settings = {"operator": type(hamiltonian).__name__, "rule": "UpDownExchange (ours)",
                "chunk_size": chunk, "use_ntk": use_ntk, "on_the_fly": driver._on_the_fly,
                "n_chains": sampler_config.chains,
                "sweep_size": n * sampler_config.sweeps_per_sample,
                "n_discard_per_chain": netket_discards(sampler_config)[0],
                "sampler_dtype": (None if vmc.sampling_dtype is None
                                  else jnp.dtype(vmc.sampling_dtype).name)}
    return race_result(cell_id=cell_id, label=label, config=config.to_dict(), steps=steps,
                       warmup=warmup, n_parameters=int(n_parameters), ours=ours, peer=peer,
                       peer_settings=settings)


def _sampling_seconds(vmc, state, vstate, repeats: int = 5) -> tuple[float, float]:
    """Median seconds of one step's sampling in each engine (same chains, sweeps, discards)."""
    sample = jax.jit(lambda s, k: vmc.sampler.sample(vmc.sampling_log_psi(s.params), s.sampler,
                                                     k)[0])
    key = jax.random.key(0)
    jax.block_until_ready(sample(state, key))
    ours, theirs = [], []
    for i in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(sample(state, jax.random.fold_in(key, i)))
        middle = time.perf_counter()
        vstate.reset()
        jax.block_until_ready(vstate.samples)
        ours.append(middle - start)
        theirs.append(time.perf_counter() - middle)
    return statistics.median(ours), statistics.median(theirs)


def _our_version() -> str:
    from suite.version import __version__

    return __version__


def race_cells(cells: list, results_dir: str | Path | None, *, steps: int = 20,
               warmup: int = 2) -> str:
    """Race NetKet on each cell in turn, record each race, and return the Markdown table.

    Args:
        cells: :class:`suite.bench.matrix.Cell` objects.
        results_dir: where race records go (``<results>/compare/``); ``None``: print only.
        steps, warmup: timed and untimed steps per engine (:func:`compare_with_netket`).

    Raises:
        PeerUnavailableError: NetKet is missing or not a tested version.
    """
    rows = []
    for cell in cells:
        comparison = compare_with_netket(cell.config, steps=steps, warmup=warmup,
                                         cell_id=cell.id, label=cell.label)
        print(f"{cell.id} {cell.label}: nqsbench {comparison.ours.seconds_per_step:.4g} s/step, "
              f"NetKet {comparison.peer.seconds_per_step:.4g} s/step, ratio {comparison.ratio:.2f}",
              file=sys.stderr)
        record = comparison_record(comparison, environment(), git_state(), utc_now())
        path = None if results_dir is None else write_comparison(results_dir, record)
        rows.append(comparison_row(path, record))
    return comparison_table(pd.DataFrame(rows))
