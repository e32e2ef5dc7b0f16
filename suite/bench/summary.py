"""What ``nqsbench train`` prints after a run: a finished run in, lines of text out."""

from __future__ import annotations

import math

from suite.bench.checks import ExactCheck
from suite.bench.train import TrainResult
from suite.report.formatting import format_with_error
from suite.report.records import v_score
from suite.report.references import Reference


def _exact_line(label: str, exact: ExactCheck, monte_carlo_variance: float) -> str:
    apart = ("n/a" if not math.isfinite(exact.error_bars_apart)
             else f"{exact.error_bars_apart:+.2f}")
    return (f"{label}: energy per site {exact.energy_per_site:.10f}, Var(H) "
            f"{exact.energy_variance:.6g} (Monte Carlo: {monte_carlo_variance:.6g}); the Monte "
            f"Carlo energy is {apart} error bars from it")


def train_summary(result: TrainResult, reference: Reference | None) -> list[str]:
    """The lines ``nqsbench train`` prints: the evaluated energy, its error against the
    reference (named with its kind), the V-score, the exact check and the symmetry-projected
    energy when they were asked for, the parameter count and the timing."""
    config, ev = result.config, result.evaluation
    lines = [f"energy per site: {format_with_error(ev.energy, ev.error)}"
             f"  (evaluation pass: {ev.n_samples} samples after {config.optimizer.steps} steps;"
             f" acceptance {ev.acceptance:.2f})"]
    if reference is None:
        lines.append("relative error: n/a (no reference known for this lattice and coupling)")
    else:
        lines.append(f"relative error: {reference.relative_error(ev.energy):.3e}"
                     f"  (vs {reference.energy_per_site:.10g}, {reference.kind}, "
                     f"{reference.id})")
    lines.append(f"V-score: {v_score(ev.variance, ev.energy, config.system.n_sites):.3e}")
    if result.exact is not None:
        lines.append(_exact_line("exact check (Sz=0 sector enumerated)", result.exact,
                                 ev.variance))
    projected = result.projected
    if projected is not None:
        relative = ("" if reference is None else
                    f", relative error {reference.relative_error(projected.energy):.3e}")
        lines.append(f"symmetry-projected energy per site: "
                     f"{format_with_error(projected.energy, projected.error)}{relative}; "
                     f"gain {ev.energy - projected.energy:+.2e} per site")
        if result.projected_exact is not None:
            lines.append(_exact_line("exact check of the projected state",
                                     result.projected_exact, projected.variance))
    lines.append(f"parameters: {result.n_parameters}")
    lines.append(f"seconds per step: {result.seconds_per_step:.4f}"
                 f"  (median of {config.optimizer.steps} steps on {result.n_devices} device(s); "
                 f"compile {result.compile_seconds:.1f} s apart; total "
                 f"{result.total_seconds:.1f} s)")
    return lines


__all__ = ["train_summary"]
