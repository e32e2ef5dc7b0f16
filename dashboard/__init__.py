"""nqsbench's Dash dashboard: accuracy against cost, per-commit regressions, tables, run details
and attention maps, read from a results directory. Start it with ``nqsbench dashboard``."""

from dashboard.app import create_app

__all__ = ["create_app"]
