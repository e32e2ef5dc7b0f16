"""nqsbench: a declarative benchmark suite for transformer neural-network quantum states.

Four packages, each with one job:

- :mod:`suite.engine`: the physics and variational Monte Carlo in pure JAX (plain values in);
- :mod:`suite.bench`: the one schema, matrices, building the engine from a configuration,
  training, the runner, checkpoints and provenance;
- :mod:`suite.report`: typed records, references, tables and the asv results reader (no JAX);
- :mod:`suite.perf`: FLOP accounting, device peaks and the race against NetKet.

Importing ``suite`` itself loads no JAX; :mod:`suite.engine` turns on 64-bit types when it is
imported (float64 is the default dtype of every run).
"""

from __future__ import annotations

from suite.version import __version__

__all__ = ["__version__"]
