"""Progress bars for a matrix run: one bar for the matrix (in steps), one for the running cell."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from suite.bench.matrix import Cell


class MatrixProgress:
    """The progress display of ``nqsbench run``, fed by the runner's callbacks.

    The matrix bar counts steps (cells differ in length), its label counts cells; a resumed cell
    counts the steps taken before its checkpoint once, when its first new step arrives. Use it
    as a context manager so the bars close however the run ends.

    Args:
        name: the matrix's name.
        todo: the cells that will run, in order.
        disable: no bars (``--no-progress``, or a process other than the writer).
    """

    def __init__(self, name: str, todo: list[Cell], disable: bool = False) -> None:
        self.name = name
        self.count = len(todo)
        self.disable = disable
        self.finished = 0
        self.cell_bar: tqdm | None = None
        self.started_at: int | None = None
        self.matrix_bar = tqdm(total=sum(cell.config.optimizer.steps for cell in todo),
                               desc=f"{name}: 0/{self.count} cells", unit="step",
                               file=sys.stderr, disable=disable, dynamic_ncols=True, position=0)

    def __enter__(self) -> MatrixProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        self._close_cell_bar()
        self.matrix_bar.close()

    def step_callback(self, cell: Cell, steps: int, start: int = 0):
        """The runner's ``step_callback``: a new cell bar, and its per-step update.

        A resumed cell's bar starts at its checkpoint's step (``start``), so its rate and ETA
        count only the steps taken now.
        """
        self.cell_bar = bar = tqdm(total=steps, initial=start, desc=cell.label or cell.id,
                                   unit="step", file=sys.stderr, disable=self.disable,
                                   dynamic_ncols=True, position=1, leave=False)
        self.started_at = None

        def on_step(step, info, seconds):
            if self.started_at is None:  # a resumed run starts late: count earlier steps once
                self.started_at = step
                bar.update(step - bar.n)
                self.matrix_bar.update(step)
            bar.update(1)
            self.matrix_bar.update(1)
            bar.set_postfix(E=f"{float(info.energy):.6f}", s_step=f"{seconds:.3f}")

        return on_step

    def on_cell_done(self, status, outcome: str, path: Path | None) -> None:
        """The runner's ``on_cell_done``: close the cell bar and print where the record went."""
        if self.cell_bar is not None:
            self.matrix_bar.update(self.cell_bar.total - self.cell_bar.n)  # steps not taken
            self._close_cell_bar()
        if outcome == "skipped":
            return
        self.finished += 1
        self.matrix_bar.set_description(f"{self.name}: {self.finished}/{self.count} cells")
        tqdm.write(f"{outcome:9s} {status.cell.id} {status.cell.label}  -> {path}",
                   file=sys.stderr)

    def _close_cell_bar(self) -> None:
        if self.cell_bar is not None:
            self.cell_bar.close()
            self.cell_bar = None
