"""asv benchmarks over the cells of a self-learning Monte Carlo matrix (``family = "slmc"``).

The matrix is ``$NQSBENCH_ASV_SLMC_MATRIX``: ``slmc-smoke`` by default (two 4x4 cells, the linear
and the one-layer Transformer effective model, some 20 s each on a CPU), ``slmc`` for the 6x6
headline, or the path of a matrix file with ``family = "slmc"``. Like :mod:`benchmarks.bench_cells`,
the parameters are the matrix's axes (asv benchmarks their product; a combination the matrix
excludes is skipped in ``setup``), so a cell shows as ``effective_model=linear``, its label.

asv runs every benchmark and every parameter combination in a fresh process, so the metrics of a
cell come from one :func:`suite.bench.slmc_run.run_slmc` per version of the engine's code and
environment, kept in the cell cache of :mod:`benchmarks.cells` (``$NQSBENCH_ASV_CACHE``) and served
from there to the cell's other benchmarks. Cells that differ only in their effective model share
their exact chain (sampled once per version of the code, as ``nqsbench run`` shares it). A run
that raises fails the cell's benchmarks visibly; the other cells still run. ``$NQSBENCH_ASV_ONLY``
(the VMC cells' filter) does not apply here: narrow with asv's ``-b``. Versions are explicit so
that refactoring this file keeps the history.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from . import cells

MATRIX_VARIABLE = "NQSBENCH_ASV_SLMC_MATRIX"
DEFAULT_MATRIX = "slmc-smoke"
CELL_TIMEOUT = 6 * 3600  # seconds: a headline cell is long on a CPU


def builtin_slmc_matrices() -> list[str]:
    """The built-in matrices of the installed suite whose ``family`` is ``slmc``."""
    from importlib import resources

    from suite.bench.matrix import BUILTIN_MATRICES, tomllib

    folder = resources.files("suite.bench").joinpath("matrices")
    return [name for name in BUILTIN_MATRICES
            if tomllib.loads(folder.joinpath(f"{name}.toml").read_text()).get("family") == "slmc"]


def load_slmc_matrix(name: str | None = None):
    """The SLMC matrix ``name`` (by default ``$NQSBENCH_ASV_SLMC_MATRIX``, else ``slmc-smoke``),
    whole.

    Raises:
        ValueError: the installed suite has no SLMC family (a commit before it), or ``name`` is
            neither a built-in matrix nor a file, or a matrix of another family; the message
            lists the valid names. A malformed file raises its
            :class:`~suite.bench.matrix.MatrixError` (a ``ValueError`` too).
    """
    name = os.environ.get(MATRIX_VARIABLE, DEFAULT_MATRIX) if name is None else name
    if importlib.util.find_spec("suite.bench.slmc_run") is None:
        raise ValueError("the installed nqsbench has no SLMC family (suite.bench.slmc_run): this "
                         "commit predates it; leave bench_slmc out with asv's -b bench_cells")
    from suite.bench.matrix import BUILTIN_MATRICES, load_matrix

    valid = (f"choose one of: {', '.join(builtin_slmc_matrices())}, or a matrix file (.toml) "
             f'with family = "slmc"')
    if name not in BUILTIN_MATRICES and not Path(name).is_file():
        raise ValueError(f"{MATRIX_VARIABLE}={name!r} is neither a built-in matrix nor a file; "
                         f"{valid}")
    matrix = load_matrix(name)  # a malformed file: a MatrixError naming the file and the key
    if matrix.family != "slmc":
        raise ValueError(f"{MATRIX_VARIABLE}={name!r} is a {matrix.family} matrix, not an SLMC "
                         f"one; {valid}")
    return matrix


MATRIX = load_slmc_matrix()
PARAMS, PARAM_NAMES = cells.asv_parameters(MATRIX)


def _plain(value: Any) -> Any:
    """A metric as plain JSON data (NumPy and JAX scalars become Python numbers)."""
    return value.item() if hasattr(value, "item") else value


def exact_chain_directory(cell) -> Path:
    """Where the cells of this code and environment keep their exact chains: beside their
    metrics in the cell cache (:func:`benchmarks.cells.cache_path`), so new engine code samples
    them anew."""
    return cells.cache_path(cell).parent / "slmc-exact-chains"


def measure(cell) -> dict[str, Any]:
    """Run ``cell`` once (:func:`suite.bench.slmc_run.run_slmc`) and return its metrics.

    Cells that differ only in their effective model share the exact chain, as in ``nqsbench
    run``: the first samples it and measures its seconds per sweep, the others read both.
    """
    from suite.bench import slmc_run

    result = slmc_run.run_slmc(cell.config, cache_dir=exact_chain_directory(cell))
    return {key: _plain(value) for key, value in result.metrics.items()}


class SLMCCell:
    """One self-learning Monte Carlo cell of the matrix (``$NQSBENCH_ASV_SLMC_MATRIX``, smoke by
    default) after its fixed budget from its fixed seed: the outer acceptance of the nested
    chain, the cost of an SLMC step and of an exact sweep, and the effective model's size. Every
    cell of the matrix is measured; the smoke cells are far too short for the acceptance to mean
    anything physically, only that it stays where it was."""

    params = PARAMS
    param_names = PARAM_NAMES
    timeout = CELL_TIMEOUT

    def setup(self, *values):
        cell = cells.cell_for(MATRIX, values)
        if cell is None:
            raise NotImplementedError("this combination is excluded from the matrix")
        self.metrics = cells.cell_metrics(cell, run=measure)

    def track_acceptance(self, *values):
        """The outer (exact) acceptance of SLMC proposals: mean over steps and chains."""
        return float(self.metrics["acceptance"])

    track_acceptance.unit = "fraction"
    track_acceptance.version = "1"

    def track_acceptance_error(self, *values):
        """The statistical error of the outer acceptance (over independent chains,
        autocorrelation-aware)."""
        return float(self.metrics["acceptance_error"])

    track_acceptance_error.unit = "fraction"
    track_acceptance_error.version = "1"

    def track_seconds_per_slmc_step(self, *values):
        """Seconds per outer SLMC step (its inner effective sweeps and one exact evaluation,
        all chains), compilation excluded."""
        return float(self.metrics["seconds_per_outer_step"])

    track_seconds_per_slmc_step.unit = "seconds"
    track_seconds_per_slmc_step.version = "1"

    def track_seconds_per_exact_sweep(self, *values):
        """Seconds per sweep of the exact double-exchange chain (all chains), compilation
        excluded; measured by the first cell of its physics and seed in this commit."""
        return float(self.metrics["seconds_per_exact_sweep"])

    track_seconds_per_exact_sweep.unit = "seconds"
    track_seconds_per_exact_sweep.version = "1"

    def track_parameters(self, *values):
        """Trainable parameters of the effective model (linear: 1 + couplings)."""
        return int(self.metrics["n_parameters"])

    track_parameters.unit = "parameters"
    track_parameters.version = "1"
