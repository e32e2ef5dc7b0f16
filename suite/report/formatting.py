"""Number formatting for people and papers."""

from __future__ import annotations

import math


def format_with_error(value: float, error: float) -> str:
    """A value with its uncertainty in parenthesis notation: ``-0.503216(8)``.

    The error is rounded to one significant digit and the value to the same decimal place. With
    no usable error (zero, negative or non-finite) the value is printed with 10 decimals.

    Examples:
        >>> format_with_error(-0.5032163, 0.0000081)
        '-0.503216(8)'
        >>> format_with_error(-0.49718, 0.00026)
        '-0.4972(3)'
    """
    if not math.isfinite(value):
        return str(value)
    if not (math.isfinite(error) and error > 0):
        return f"{value:.10f}"
    decimals = -math.floor(math.log10(error))
    digit = round(error * 10**decimals)
    if digit == 10:  # 0.096 rounds up to 0.1: one decimal place fewer
        decimals -= 1
        digit = 1
    if decimals <= 0:
        return f"{round(value, decimals):.0f}({digit * 10 ** (-decimals)})"
    return f"{value:.{decimals}f}({digit})"
