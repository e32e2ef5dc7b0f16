"""Choosing the SR solver and its Jacobian block so that one step fits a memory budget.

``sr_solver = "auto"`` means: the dense solver (the fastest) when its step fits the device, else
the chunked solver with the largest Jacobian block that fits. :func:`plan_memory` decides from
XLA's memory analysis of the compiled step (:func:`~suite.bench.memory.predicted_step_memory`),
trying in order: dense; chunked with the default block (the network chunk, lowered to fit
512 MiB); then that block halved, down to one sample. A cell with an explicit solver is
predicted as it stands (``chunked`` without ``sr_chunk`` still gets the largest block that
fits). The budget is ``--memory-budget`` or, by default, what the device reports
(:func:`~suite.bench.memory.available_memory`) less :data:`RUNTIME_RESERVE`. The plan only
changes memory and time, never the update (the solvers agree to 1e-10 in float64), and every
record stores the plan it ran with.

The prediction is for one device: with the samples split over several, each holds less, so the
plan is conservative there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from suite.bench.config import RunConfig
from suite.bench.memory import (
    BYTES,
    available_memory,
    estimated_parameters,
    predicted_step_memory,
)
from suite.errors import ConfigError

RUNTIME_RESERVE = 0.10
"""the share of a device's memory left to the runtime (CUDA context, allocator slack, XLA's
buffers outside the step): a plan fills at most 90 % of what the device reports"""
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}

Predictor = Callable[..., dict[str, int]]


@dataclass(frozen=True)
class MemoryPlan:
    """How one cell's step runs within ``budget`` bytes: ``solver`` (``dense`` or ``chunked``),
    ``sr_chunk`` (samples per Jacobian block, ``None`` for dense) and the ``predicted`` bytes of
    the step (XLA's total: arguments, outputs, temporaries). ``tried`` lists every
    ``(solver, sr_chunk, predicted bytes)`` compiled on the way."""

    solver: str
    sr_chunk: int | None
    predicted: int
    budget: int | None
    tried: tuple[tuple[str, int | None, int], ...] = ()

    @property
    def fits(self) -> bool:
        """The prediction is within the budget (no budget: assumed to fit)."""
        return self.budget is None or self.predicted <= self.budget

    def to_json(self) -> dict:
        """The plan as a record stores it (``metrics.memory_plan``)."""
        return {"sr_solver": self.solver, "sr_chunk": self.sr_chunk,
                "predicted_step_bytes": self.predicted, "budget_bytes": self.budget,
                "fits": self.fits}


def parse_memory_size(text: str) -> int:
    """Bytes from ``40GB`` (10^9), ``40GiB`` (2^30), ``512M``, ``2.5e10`` or a plain number.

    Raises:
        ConfigError: naming ``--memory-budget`` when ``text`` is not a size.
    """
    match = _SIZE.match(str(text))
    unit = (match.group(2) or "").lower().removesuffix("b") if match else ""
    if match is None or unit not in _UNITS or float(match.group(1)) <= 0:
        raise ConfigError("memory_budget", f"{text!r} is not a memory size; write e.g. 40GB, "
                                             "24GiB or 8e9 (bytes)")
    return int(float(match.group(1)) * _UNITS[unit])


def default_budget() -> int | None:
    """What the default device reports (GPU: its limit; CPU: the host's RAM), less
    :data:`RUNTIME_RESERVE`; ``None`` where nothing is known."""
    available = available_memory()
    return None if available is None else int(available * (1 - RUNTIME_RESERVE))


def _default_block(config: RunConfig) -> int:
    from suite.engine.sr import solver_chunk_size

    return solver_chunk_size(estimated_parameters(config), BYTES[config.model.dtype],
                             config.sampler.chunk_size)


def _blocks(config: RunConfig) -> list[int]:
    """The Jacobian blocks to try, largest first: the explicit one, or the default halved."""
    if config.optimizer.sr_chunk is not None:
        return [config.optimizer.sr_chunk]
    block, blocks = min(_default_block(config), config.sampler.n_samples), []
    while block >= 1:
        blocks.append(block)
        block //= 2
    return blocks


def plan_memory(config: RunConfig, budget: int | None = None,
                predict: Predictor = predicted_step_memory) -> MemoryPlan:
    """The first of dense, chunked with the largest block, smaller blocks... whose predicted step
    fits ``budget`` bytes (module docstring); the last one tried when none fits (``fits`` is
    then ``False``). ``predict(config, sr_solver, sr_chunk)`` returns the step's bytes as
    :func:`predicted_step_memory` does (one compilation per candidate)."""
    solver = config.optimizer.sr_solver
    candidates: list[tuple[str, int | None]] = []
    if solver in ("dense", "auto"):
        candidates.append(("dense", None))
    if solver in ("chunked", "auto"):
        candidates += [("chunked", block) for block in _blocks(config)]
    tried: list[tuple[str, int | None, int]] = []
    for name, block in candidates:
        total = predict(config, name, block)["total"]
        tried.append((name, block, total))
        if budget is None or total <= budget:
            break
        if name == "chunked" and len(tried) > 1 and tried[-2][0] == name \
                and total >= tried[-2][2]:
            break  # a smaller block no longer helps: the kernel is what remains
    name, block, total = tried[-1]
    return MemoryPlan(name, block, total, budget, tuple(tried))


def needs_plan(config: RunConfig, budget_given: bool) -> bool:
    """Whether a run has anything to choose: ``sr_solver = "auto"``, or ``chunked`` without
    ``sr_chunk`` under an explicit ``--memory-budget``."""
    optimizer = config.optimizer
    return optimizer.sr_solver == "auto" or (
        budget_given and optimizer.sr_solver == "chunked" and optimizer.sr_chunk is None)


def planned_vmc(config: RunConfig, budget: int | None = None, label: str = ""):
    """The VMC engine of ``config`` and its :class:`MemoryPlan` (``None`` when there was nothing
    to choose, or no budget is known: the engine's own rule then resolves ``auto``). Says on
    stderr what the plan chose, and warns when even the smallest candidate exceeds the budget
    (the run still starts: the prediction is XLA's, the device may differ)."""
    import sys

    from suite.bench.build import build_vmc

    chosen = budget if budget is not None else default_budget()
    if not needs_plan(config, budget is not None) or chosen is None:
        return build_vmc(config), None
    plan = plan_memory(config, chosen)
    where = f"{label}: " if label else ""
    block = "" if plan.sr_chunk is None else f" (Jacobian blocks of {plan.sr_chunk} samples)"
    print(f"nqsbench: {where}sr_solver {config.optimizer.sr_solver} -> {plan.solver}{block}: "
          f"step predicted {plan.predicted / 2**30:.2f} GiB of a {chosen / 2**30:.1f} GiB "
          "budget", file=sys.stderr)
    if not plan.fits:
        print(f"nqsbench: warning: {where}no SR solver fits the memory budget; running with "
              "the smallest plan", file=sys.stderr)
    return build_vmc(config, plan.solver, plan.sr_chunk), plan


__all__ = ["MemoryPlan", "RUNTIME_RESERVE", "default_budget", "parse_memory_size",
           "plan_memory", "planned_vmc"]
