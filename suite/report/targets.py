"""Time to target: when a run's training energy first came within a relative error of its
reference.

The per-step energies of a run are noisy Monte Carlo estimates, so a single lucky step must not
count: the energy is first smoothed by a running mean over :data:`WINDOW` steps (the mean of the
current step and the ``WINDOW - 1`` before it), and the target is reached at the first step
whose running mean is within the relative error of the reference. The seconds are the sum of the
measured step times up to and including that step (compilation excluded, like
``seconds_per_step``). Pure numpy: a trace in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

TARGETS: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4)
"""the relative errors every run records its time to"""
WINDOW = 10
"""steps in the running mean (fewer at the start of a run: the mean of the steps so far)"""


def target_key(target: float) -> str:
    """The record key of a target: ``1e-03``."""
    return f"{target:.0e}"


def targets_with(own: float | None) -> tuple[float, ...]:
    """:data:`TARGETS` and a cell's own ``target`` after them (unless it is one of them)."""
    if own is None or target_key(own) in map(target_key, TARGETS):
        return TARGETS
    return (*TARGETS, own)


def running_mean(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """The mean of each value and the ``window - 1`` before it (fewer at the start)."""
    values = np.asarray(values, dtype=float)
    sums = np.cumsum(values)
    ahead = np.concatenate([np.zeros(window), sums[:-window]])[:len(values)]
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (sums - ahead) / counts


def time_to_target(energies: Sequence[float], seconds: Sequence[float], reference: float,
                   targets: Sequence[float] = TARGETS, window: int = WINDOW
                   ) -> dict[str, dict[str, float | int | None]]:
    """For each target relative error, the first step (0-based) and the seconds of training
    at which the running mean of ``energies`` came within it of ``reference``.

    Args:
        energies: the energy per site of every optimisation step.
        seconds: the measured duration of every step.
        reference: the reference energy per site (non-zero).

    Returns:
        ``{"1e-01": {"step": 12, "seconds": 3.4}, ...}``; ``None`` for both where the run never
        got there. A non-finite energy ends the search (a diverged run reaches nothing after).
    """
    energies = np.asarray(energies, dtype=float)
    finite = np.isfinite(energies)
    usable = len(energies) if finite.all() else int(np.argmin(finite))
    smoothed = running_mean(energies[:usable], window)
    error = np.abs(smoothed - reference) / abs(reference)
    elapsed = np.cumsum(np.asarray(seconds, dtype=float)[:usable])
    out: dict[str, dict[str, float | int | None]] = {}
    for target in targets:
        hit = np.nonzero(error <= target)[0]
        if len(hit):
            step = int(hit[0])
            value = float(elapsed[step])
            out[target_key(target)] = {"step": step,
                                       "seconds": value if math.isfinite(value) else None}
        else:
            out[target_key(target)] = {"step": None, "seconds": None}
    return out


class TargetWatch:
    """The online form of :func:`time_to_target` for a race that stops to confirm: feed it each
    step's training energy; it says when the running mean over the last ``window`` steps first
    comes within ``target`` of ``reference`` (a *candidate*). The race then confirms the
    candidate with an evaluation pass on fresh samples; after a failed confirmation
    (:meth:`reject`) the watch waits ``window`` more steps, so that a noisy trace hovering at
    the target does not buy an evaluation every step.

    Args:
        reference: the reference energy per site (non-zero).
        target: the relative error to reach.
        window: steps in the running mean (fewer at the start of the run).
    """

    def __init__(self, reference: float, target: float, window: int = WINDOW) -> None:
        if reference == 0 or not math.isfinite(reference):
            raise ValueError(f"the reference energy must be finite and non-zero, got {reference}")
        if target <= 0:
            raise ValueError(f"the target relative error must be positive, got {target}")
        self.reference, self.target, self.window = float(reference), float(target), int(window)
        self._recent: list[float] = []
        self._quiet_until = 0
        self.steps = 0
        """energies seen so far"""

    def relative_error(self, energy: float) -> float:
        """|energy - reference| / |reference|."""
        return abs(energy - self.reference) / abs(self.reference)

    def observe(self, energy: float) -> bool:
        """Add one step's training energy; ``True`` when the running mean is within the target
        (and no rejection is being waited out). A non-finite energy is never a candidate."""
        self.steps += 1
        self._recent = [*self._recent[-(self.window - 1):], float(energy)] if self.window > 1 \
            else [float(energy)]
        mean = sum(self._recent) / len(self._recent)
        return (self.steps > self._quiet_until and math.isfinite(mean)
                and self.relative_error(mean) <= self.target)

    def reached(self, energy: float) -> bool:
        """Whether an evaluation's energy is within the target (the confirmation)."""
        return math.isfinite(energy) and self.relative_error(energy) <= self.target

    def reject(self) -> None:
        """The evaluation did not confirm the candidate: no new candidate for ``window`` steps."""
        self._quiet_until = self.steps + self.window


__all__ = ["TARGETS", "WINDOW", "TargetWatch", "running_mean", "target_key", "targets_with",
           "time_to_target"]
