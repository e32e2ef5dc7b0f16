"""A helper for the dashboard tests: walk a Dash component tree."""

from __future__ import annotations

from collections.abc import Iterator


def components(component) -> Iterator:
    """Every component of a Dash component tree, the root first."""
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            yield from components(child)
