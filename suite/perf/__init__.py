"""Performance: FLOP accounting, device peaks, and the race against NetKet (``.[peers]``)."""

from __future__ import annotations

from suite.perf.flops import flop_metrics, step_flop_parts, step_flops
from suite.perf.netket import compare_with_netket, netket_available

__all__ = ["compare_with_netket", "flop_metrics", "netket_available", "step_flop_parts",
           "step_flops"]
