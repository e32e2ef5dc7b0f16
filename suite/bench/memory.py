"""A lower bound on the memory a cell needs, checked before anything runs.

A typo such as ``L = 1000000`` must not reach JAX (a 60-line out-of-memory traceback and a
``failed`` record for a run that never started). :func:`memory_floor` adds up a few arrays every
run of the configuration must hold at once, from the settings alone (no JAX, no model): the
patch-displacement table and one layer's attention weights of a network chunk, the Markov
chains, and the per-sample Jacobian of stochastic reconfiguration (2 x samples x parameters,
with the parameter count estimated from the ViT's shapes) or, with the chunked SR solver, its
kernel (2 x samples)^2. It leaves out everything else, so it
is a floor, not a prediction: a cell above it cannot fit, a cell below it may still not.
:func:`check_fits` refuses the first kind with a message naming the sizes.
:func:`predicted_step_memory` is the prediction: XLA's memory analysis of the compiled step
(``nqsbench list --memory``).
"""

from __future__ import annotations

import os

from suite.bench.config import RunConfig
from suite.errors import ConfigError

BYTES = {"float64": 8, "float32": 4}


def estimated_parameters(config: RunConfig) -> int:
    """The model's real parameter count from its shapes (equal to the built model's, checked
    in ``tests/test_newcomer.py``): per encoder block the values and output projections
    2 d^2 + 2 d (queries and keys add 2 d^2 + 2 d), the MLP 8 d^2 + 5 d, two layer norms 4 d
    and h n positional weights; the patch embedding b^2 d + d; the output head 2 d^2 + 8 d.
    The CNN's is :func:`~suite.engine.models.cnn.cnn_parameter_count`; a plugin's is unknown
    before it is built (0)."""
    model, n_sites = config.model, config.system.n_sites
    if model.is_plugin:
        return 0  # unknown until the plugin is built: the floor leaves its Jacobian out
    if model.model == "cnn":
        from suite.engine.models.cnn import cnn_parameter_count

        options = model.cnn_options()
        return cnn_parameter_count(options["channels"], options["layers"], options["kernel"])
    if model.model == "rbm":
        hidden = model.alpha * n_sites
        return 2 * (n_sites * hidden + hidden) + 2 * n_sites
    d, n = model.d, n_sites // model.patch**2
    per_block = 10 * d**2 + 11 * d + model.heads * n
    if model.attention != "factored":
        per_block += 2 * d**2 + 2 * d
    return model.layers * per_block + model.patch**2 * d + d + 2 * d**2 + 8 * d


def _solver(config: RunConfig, parameters: int, width: int) -> str:
    from suite.engine.sr import choose_solver

    return choose_solver(config.optimizer.sr_solver, config.sampler.n_samples, parameters, width)


def memory_floor(config: RunConfig) -> dict[str, int]:
    """Bytes of the arrays counted by the floor (module docstring), by name, and their total."""
    model, sampler = config.model, config.sampler
    width = BYTES[model.dtype]
    n_sites = config.system.n_sites
    parameters = estimated_parameters(config)
    parts = {"chains": sampler.chains * n_sites}
    if _solver(config, parameters, width) == "dense":
        parts["jacobian"] = 2 * sampler.n_samples * parameters * width
    else:  # the chunked solver holds the 2M x 2M kernel (or P x P metric) instead
        parts["sr_matrix"] = min(2 * sampler.n_samples, parameters) ** 2 * width
    if model.model == "vit":
        n = n_sites // model.patch**2
        # a network call holds at least min(chunk, chains) configurations (every proposal
        # evaluates all chains); Factored attention's weights do not depend on them
        batch = min(sampler.chunk_size or sampler.chains, sampler.chains)
        per_sample = 1 if model.attention == "factored" else batch
        parts["patch_displacements"] = n * n * 8
        parts["attention_weights"] = per_sample * model.heads * n * n * width
    parts["total"] = sum(parts.values())
    return parts


def available_memory() -> int | None:
    """Bytes this machine can give a run: the first GPU's limit, else the host's RAM."""
    try:
        import jax

        stats = jax.devices()[0].memory_stats()
        if stats and stats.get("bytes_limit"):
            return int(stats["bytes_limit"])
    except Exception:  # noqa: BLE001 (platforms without memory statistics raise various errors)
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(value: float) -> str:
    return f"{value / 2**30:,.3g} GiB"


def check_fits(config: RunConfig, available: int | None = None, label: str = "") -> None:
    """Raise :class:`ConfigError` (naming ``L``) when the floor exceeds ``available`` bytes
    (default: :func:`available_memory`)."""
    available = available_memory() if available is None else available
    floor = memory_floor(config)
    if available is None or floor["total"] <= available:
        return
    largest = sorted(((v, k) for k, v in floor.items() if k != "total"), reverse=True)[:2]
    where = f" (cell {label})" if label else ""
    raise ConfigError("L", f"L={config.system.L}{where} needs at least {_gib(floor['total'])} "
                           f"({', '.join(f'{k} {_gib(v)}' for v, k in largest)}), more than this "
                           f"machine's {_gib(available)}; choose a smaller L (or fewer samples)")


def predicted_step_memory(config: RunConfig, sr_solver: str | None = None,
                          sr_chunk: int | None = None) -> dict[str, int]:
    """The memory XLA plans for one optimisation step of ``config``, from the compiled step's
    memory analysis: ``arguments`` (the state), ``outputs``, ``temporaries`` and their
    ``total`` (``peak``: the most the step holds at once, by XLA's own accounting; a device
    adds its runtime's overhead). The step is lowered on abstract values (``jax.eval_shape``)
    and compiled for the default device, never run: seconds on a CPU even at the paper's size.
    ``sr_solver`` and ``sr_chunk`` replace the configuration's (:func:`build_vmc`).
    """
    import jax

    from suite.bench.build import build_vmc

    vmc = build_vmc(config, sr_solver, sr_chunk)
    state = jax.eval_shape(vmc.init, jax.random.key(config.seed))
    analysis = jax.jit(vmc.step).lower(state).compile().memory_analysis()
    parts = {"arguments": int(analysis.argument_size_in_bytes),
             "outputs": int(analysis.output_size_in_bytes),
             "temporaries": int(analysis.temp_size_in_bytes)}
    parts["total"] = sum(parts.values())
    return parts


__all__ = ["available_memory", "check_fits", "estimated_parameters", "memory_floor",
           "predicted_step_memory"]
