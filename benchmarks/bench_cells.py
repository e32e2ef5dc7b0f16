"""asv benchmarks over the cells of a matrix file (``$NQSBENCH_ASV_MATRIX``, smoke by default).

The parameters are always the whole matrix, so a run narrowed by ``$NQSBENCH_ASV_ONLY`` writes the
same ``benchmarks.json``; the cells it leaves out are skipped in ``setup``.

Every metric of a cell comes from one VMC run per commit (see :mod:`benchmarks.cells`). A cell that
diverges fails all its benchmarks visibly; the other cells still run. Versions are explicit so that
refactoring this file keeps the history.
"""

from __future__ import annotations

from . import cells

MATRIX = cells.load_profile_matrix()
PARAMS, PARAM_NAMES = cells.asv_parameters(MATRIX)  # the whole matrix, narrowed or not
SELECTED = cells.selected_cells(MATRIX)
"""ids of the cells this run measures (``$NQSBENCH_ASV_ONLY``); the others are skipped"""
CELL_TIMEOUT = 6 * 3600  # seconds: a paper cell is hours on one GPU


class _CellBenchmark:
    params = PARAMS
    param_names = PARAM_NAMES
    timeout = CELL_TIMEOUT
    optional_metric: str | None = None
    """a metric some cells or platforms lack: without it the benchmark is skipped, not failed"""
    missing_reason = ""
    accuracy = False
    """an accuracy metric: skipped on cells whose ``purpose`` is ``timing``"""

    def setup(self, *values):
        cell = cells.cell_for(MATRIX, values)
        if cell is None:
            raise NotImplementedError("this combination is excluded from the matrix")
        if cell.id not in SELECTED:
            raise NotImplementedError(f"not selected by {cells.ONLY_VARIABLE}")
        if self.accuracy and cell.config.purpose == "timing":
            raise NotImplementedError("a timing cell: its energy is not an accuracy")
        self.metrics = cells.cell_metrics(cell)
        if "failed" in self.metrics:
            raise RuntimeError(f"cell {cell.id} ({cell.label}) {self.metrics['failed']}")
        if self.optional_metric is not None and self.metrics.get(self.optional_metric) is None:
            raise NotImplementedError(self.missing_reason)


class Cell(_CellBenchmark):
    """Cost and accuracy of one matrix cell after its fixed budget of steps, from a fixed seed."""

    def track_seconds_per_step(self, *values):
        return self.metrics["seconds_per_step"]

    track_seconds_per_step.unit = "seconds"
    track_seconds_per_step.version = "1"

    def track_compile_seconds(self, *values):
        return self.metrics["compile_seconds"]

    track_compile_seconds.unit = "seconds"
    track_compile_seconds.version = "1"

    def track_parameters(self, *values):
        return self.metrics["n_parameters"]

    track_parameters.unit = "parameters"
    track_parameters.version = "1"


class Accuracy(_CellBenchmark):
    """Relative energy error against the cell's reference, after the cell's steps."""

    optional_metric = "relative_error"
    missing_reason = "no reference energy for this lattice and coupling"
    accuracy = True

    def track_energy_error(self, *values):
        return self.metrics["relative_error"]

    track_energy_error.unit = "relative"
    track_energy_error.version = "1"


class DeviceMemory(_CellBenchmark):
    """Peak device memory of the cell's run, where the platform reports it (GPUs; not CPUs)."""

    optional_metric = "device_peak_bytes"
    missing_reason = "this platform reports no device memory"

    def track_peak_bytes(self, *values):
        return self.metrics["device_peak_bytes"]

    track_peak_bytes.unit = "bytes"
    track_peak_bytes.version = "1"


class TimeToTarget(_CellBenchmark):
    """Training seconds and steps until the running mean of the energy (10 steps) came within a
    relative error of the reference (:mod:`suite.report.targets`); NaN where the cell's budget
    of steps did not get there."""

    optional_metric = "time_to_target"
    missing_reason = "no reference energy for this lattice and coupling"
    accuracy = True

    def _reached(self, target: str, key: str) -> float:
        value = self.metrics["time_to_target"][target][key]
        return float("nan") if value is None else float(value)

    def track_seconds_to_1e_1(self, *values):
        return self._reached("1e-01", "seconds")

    def track_seconds_to_1e_2(self, *values):
        return self._reached("1e-02", "seconds")

    def track_seconds_to_1e_3(self, *values):
        return self._reached("1e-03", "seconds")

    def track_seconds_to_1e_4(self, *values):
        return self._reached("1e-04", "seconds")

    def track_steps_to_1e_2(self, *values):
        return self._reached("1e-02", "step")

    def track_steps_to_1e_3(self, *values):
        return self._reached("1e-03", "step")

    for _method in (track_seconds_to_1e_1, track_seconds_to_1e_2, track_seconds_to_1e_3,
                    track_seconds_to_1e_4):
        _method.unit = "seconds"
        _method.version = "1"
    for _method in (track_steps_to_1e_2, track_steps_to_1e_3):
        _method.unit = "steps"
        _method.version = "1"
    del _method


class CellTarget(_CellBenchmark):
    """Training seconds and steps to the cell's own ``target`` (the race matrices set one, e.g.
    ``NQSBENCH_ASV_MATRIX=race-target``): a slower convergence is a regression like any other.
    Skipped on cells without a target; NaN where the budget did not get there."""

    optional_metric = "cell_target"
    missing_reason = "this cell sets no target"
    accuracy = True

    def _reached(self, key: str) -> float:
        value = self.metrics["time_to_target"][self.metrics["cell_target"]][key]
        return float("nan") if value is None else float(value)

    def track_seconds_to_target(self, *values):
        return self._reached("seconds")

    track_seconds_to_target.unit = "seconds"
    track_seconds_to_target.version = "1"

    def track_steps_to_target(self, *values):
        return self._reached("step")

    track_steps_to_target.unit = "steps"
    track_steps_to_target.version = "1"
