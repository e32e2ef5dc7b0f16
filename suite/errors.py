"""Exceptions with messages meant for people: each names the field and the fix."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is invalid.

    Args:
        field: the name of the offending field, as the user spells it (e.g. ``L``).
        message: what is wrong and how to fix it.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class DivergenceError(RuntimeError):
    """An optimisation produced a non-finite energy or parameters.

    Args:
        step: the optimisation step at which the divergence was detected.
        reason: a short description (e.g. ``"energy is nan"``).
    """

    def __init__(self, step: int, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(f"run diverged at step {step}: {reason}")
