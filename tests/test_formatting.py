"""Parenthesis notation for values with uncertainties."""

from __future__ import annotations

import math

import pytest

from suite.report.formatting import format_with_error


@pytest.mark.parametrize(("value", "error", "expected"), [
    (-0.5032163, 0.0000081, "-0.503216(8)"),
    (-0.4971843, 0.0000062, "-0.497184(6)"),
    (-0.49718, 0.00026, "-0.4972(3)"),
    (-0.52862, 0.00096, "-0.529(1)"),
    (123.4, 12.0, "120(10)"),
    (-0.5, 0.0, "-0.5000000000"),
    (-0.5, math.nan, "-0.5000000000"),
])
def test_format_with_error(value, error, expected):
    assert format_with_error(value, error) == expected
