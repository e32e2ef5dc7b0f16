"""Paper-ready tables in the layout of Rende & Viteritti (2025), Table 1.

One block per (L, J2/J1, device): a row per model (attention, layers, d, h, steps) with the final
energy per site in parenthesis notation, the relative error against the block's reference, the
V-score, the parameter count, seconds per step and total time. Functions are pure: a runs
DataFrame (:func:`suite.report.records.load_runs`) in, text out.

* A cell run with several seeds is one row: the mean energy over the seeds with their spread
  (the standard deviation over seeds) in parenthesis notation, the relative error of the mean,
  and two more columns, the best seed's energy and the number of seeds behind the row, with the
  seeds that failed (diverged) and were never re-run counted beside them (``2 + 1 failed``):
  a protocol that loses seeds must say so. Its step time is the median over the seeds measured
  alone (over all of them, marked ``*``, where none was).
* A timing cell (``purpose = "timing"``) shows its cost but never an energy or an error: its
  short run says nothing about accuracy.
* ViT rows come first, then RBM, CNN and plugins (:func:`suite.report.models.in_model_order`);
  their ViT-only cells (layers, d, h) read ``-``, and the first column is then ``Model``.
* ``time_to_target`` (one target or several) adds, per target in the order given, the steps and
  training seconds at which a run came within that relative error of its reference
  (:mod:`suite.report.targets`); with several seeds, the medians over the seeds, a seed that
  never got there (or failed) counting as never, and how many seeds reached it (``108 (3/3)``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from suite.report.formatting import format_with_error
from suite.report.models import display_model_name, in_model_order, options_key
from suite.report.seeds import (
    CONTENDED,
    combine_seeds,
    contended,
    failed_only,
    latest_completed,
    seconds_contended,
)
from suite.report.targets import TARGETS, target_key

FORMATS: tuple[str, ...] = ("markdown", "latex", "csv")
NOT_APPLICABLE = "-"
"""a ViT-only cell (layers, d, h) in the row of another model (``--``, an en dash, in LaTeX)"""
VIT_COLUMNS: tuple[str, ...] = ("attention", "layers", "d", "heads", "patch")
"""left empty in the CSV rows of other models (their values are unused ViT defaults)"""
HEADERS: tuple[str, ...] = ("Attention", "Layers", "d", "h", "Steps", "Energy", "Rel. error",
                            "V-score", "Parameters", "s/step", "Time")


@dataclass(frozen=True)
class TableBlock:
    """The runs of one matrix, lattice, coupling and device, one row per model."""

    matrix: str
    """the matrix the runs came from (``-`` for runs recorded without one)"""
    L: int
    J2: float
    device: str
    references: tuple[tuple[float, str, str], ...]
    """what the relative error was measured against: ``(energy per site, kind, id)`` each"""
    rows: pd.DataFrame

    @property
    def reference(self) -> str:
        """e.g. ``-0.5286202095 (exact, ed-L4-J2_0.5)``, or ``none known``."""
        return _describe_references(self.references, lambda energy: f"{energy:.10g}", str)


def _describe_references(references, number, text) -> str:
    return "; ".join(f"{number(energy)} ({text(kind)}, {text(ref_id)})"
                     for energy, kind, ref_id in references) or "none known"


NO_MATRIX = "-"
"""the block label of runs recorded without a matrix (``nqsbench train`` writes none)"""
TIMING = "timing"
"""the ``purpose`` of a cell that measures only its cost"""
NOT_AN_ACCURACY = "timing only"


def model_name(row: pd.Series) -> str:
    """The model as the paper names it (``T5``, ``Decoupled``, ``Factored``), ``RBM``, ``CNN``
    or a plugin's name: :func:`suite.report.models.display_model_name` of the row."""
    return display_model_name(row["model"], row.get("model_options"), row.get("attention"))


def _is_vit(row: pd.Series) -> bool:
    return row["model"] == "vit"


def format_duration(seconds: float) -> str:
    """``42 s``, ``12.5 min``, ``3.2 h``: the unit that keeps the number readable."""
    if not math.isfinite(seconds):
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def format_scientific(value: float | None, latex: bool = False) -> str:
    """``1.2e-03`` (or ``$1.2 \\times 10^{-3}$``); ``n/a`` when missing."""
    if value is None or not math.isfinite(value):
        return "n/a"
    mantissa, exponent = f"{value:.1e}".split("e")
    if latex:
        return f"${mantissa} \\times 10^{{{int(exponent)}}}$"
    return f"{mantissa}e{int(exponent):+03d}"


def format_count(value: int, latex: bool = False) -> str:
    """``154 980`` with a (thin) space between thousands, as in the paper."""
    text = f"{int(value):,}"
    return text.replace(",", "\\," if latex else " ")


def table_blocks(runs: pd.DataFrame) -> list[TableBlock]:
    """Group the latest completed runs into paper-style blocks, ordered by matrix, L, J2 and
    device (a cell run with several seeds is one row: :func:`combine_seeds`). Runs of different
    matrices never share a block, so a user's smoke rows never sit beside converged ones."""
    runs = combine_seeds(latest_completed(runs), failed_only(runs))
    if runs.empty:
        return []
    runs = runs.assign(matrix=runs["matrix"].fillna(NO_MATRIX))
    blocks = []
    for (matrix, L, J2, device), group in runs.groupby(["matrix", "L", "J2", "device"],
                                                       sort=True, dropna=False):
        group = in_model_order(group)
        references = group.dropna(subset=["reference_id"]).drop_duplicates("reference_id")
        found = tuple((float(r.reference_energy), str(r.reference_kind), str(r.reference_id))
                      for r in references.itertuples())
        blocks.append(TableBlock(str(matrix), int(L), float(J2), str(device), found, group))
    return blocks


def _is_timing(row: pd.Series) -> bool:
    return row.get("purpose") == TIMING


def _keys(time_to_target: str | Sequence[str] | None) -> tuple[str, ...]:
    """The target keys (``1e-03``) as a tuple, in the order given (repeats dropped): none for
    ``None``, one for a single key."""
    if time_to_target is None:
        return ()
    keys = (time_to_target,) if isinstance(time_to_target, str) else time_to_target
    return tuple(dict.fromkeys(keys))


def _cells(row: pd.Series, latex: bool, seeds: bool = False,
           time_to_target: tuple[str, ...] = ()) -> list[str]:
    timing = _is_timing(row)
    energy = NOT_AN_ACCURACY if timing else format_with_error(row["energy"], row["energy_error"])
    vit = _is_vit(row)
    label = row.get("model_label")
    blank = "--" if latex else NOT_APPLICABLE
    cells = [
        label if isinstance(label, str) else model_name(row),
        str(int(row["layers"])) if vit else blank,
        str(int(row["d"])) if vit else blank,
        str(int(row["heads"])) if vit else blank,
        format_count(row["steps"], latex),
        f"${energy}$" if latex and not timing else energy,
        "" if timing else format_scientific(row["relative_error"], latex),
        "" if timing else format_scientific(row["v_score"], latex),
        format_count(row["n_parameters"], latex),
        f"{row['seconds_per_step']:.3g}" + (CONTENDED if contended(row) else ""),
        _time(row),
    ]
    if seeds:
        best = format_with_error(row["best_energy"], float("nan")) if not timing else ""
        cells += [f"${best}$" if latex and best else best, _seeds(row)]
    for key in time_to_target:
        steps = "" if timing else _optional(row.get(f"steps_to_{key}"), "{:.0f}")
        reached = row.get(f"reached_{key}")
        if steps and reached is not None and not pd.isna(reached):
            steps += f" ({int(reached)}/{_attempted(row)})"
        seconds = "" if timing else _optional(row.get(f"seconds_to_{key}"), None)
        if seconds and seconds != NEVER and seconds_contended(row):
            seconds += CONTENDED
        cells += [steps, seconds]
    return cells


def _attempted(row: pd.Series) -> int:
    """The seeds a row stands for: those that completed and those that failed."""
    return int(row["n_seeds"]) + int(row["n_failed"])


def _seeds(row: pd.Series) -> str:
    """``3``, or ``2 + 1 failed`` where seeds failed (diverged) and were not re-run."""
    failed = int(row["n_failed"])
    return f"{int(row['n_seeds'])}" + (f" + {failed} failed" if failed else "")


def _time(row: pd.Series) -> str:
    """The training time, and the wall time from start to record where it was measured:
    ``4.0 min (4.6 min wall)``."""
    text = format_duration(row["total_seconds"])
    wall = row.get("wall_seconds")
    if wall is not None and not pd.isna(wall):
        text += f" ({format_duration(float(wall))} wall)"
    return text


NEVER = "not reached"


def _optional(value, spec: str | None) -> str:
    """A number, or ``not reached`` where the run never got there (or did not record it)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NEVER
    return format_duration(float(value)) if spec is None else spec.format(value)


def _headers(seeds: bool, time_to_target: tuple[str, ...],
             models: bool = False) -> tuple[str, ...]:
    """The columns; the first is ``Model`` rather than the paper's ``Attention`` where a block
    holds other models than the ViT (``models``)."""
    headers = (("Model",) + HEADERS[1:]) if models else HEADERS
    if seeds:
        headers += ("Best seed", "Seeds")
    for key in time_to_target:
        headers += (f"Steps to {key}", f"Time to {key}")
    return headers


def _has_seeds(blocks: list[TableBlock]) -> bool:
    return any((block.rows["n_seeds"] > 1).any() or (block.rows["n_failed"] > 0).any()
               for block in blocks)


def _has_other_models(blocks: list[TableBlock]) -> bool:
    return any((block.rows["model"] != "vit").any() for block in blocks)


def _caption(block: TableBlock) -> str:
    if all(_is_timing(row) for _, row in block.rows.iterrows()):
        return (f"{_matrix_prefix(block)}L = {block.L}, J2/J1 = {block.J2:g} on "
                f"{block.device}; timing cells only (short runs: cost per step, no energy error)")
    caption = (f"{_matrix_prefix(block)}L = {block.L}, J2/J1 = {block.J2:g} on {block.device}; "
               f"relative error against {block.reference}")
    if (block.rows["n_seeds"] > 1).any():
        caption += "; rows with several seeds: mean energy, (spread over the seeds)"
    return caption


SEED_TARGETS_NOTE = ("steps and time to a target with several seeds: the median over the seeds, "
                     "a seed that never got there (or failed) counting as never, and (how many "
                     "seeds reached it / seeds run)")


def _matrix_prefix(block: TableBlock) -> str:
    return "" if block.matrix == NO_MATRIX else f"matrix {block.matrix}: "


def to_markdown(blocks: list[TableBlock], time_to_target: str | Sequence[str] | None = None) -> str:
    """GitHub-flavoured Markdown: a heading line and a pipe table per block.
    ``time_to_target``: the target keys (``1e-03``), one or several, two columns each."""
    time_to_target = _keys(time_to_target)
    out = []
    seeds = _has_seeds(blocks)
    for block in blocks:
        headers = _headers(seeds, time_to_target, _has_other_models([block]))
        out.append(f"**{_caption(block)}**\n")
        out.append("| " + " | ".join(headers) + " |")
        out.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(headers))) + "|")
        for _, row in block.rows.iterrows():
            out.append("| " + " | ".join(_cells(row, False, seeds, time_to_target)) + " |")
        if any(contended(row) or (time_to_target and seconds_contended(row))
               for _, row in block.rows.iterrows()):
            out.append(f"\n{CONTENDED} measured while other work shared the CPU (host load "
                       "above 1.25 x its cores): that time is inflated")
        if time_to_target and (block.rows["n_seeds"] + block.rows["n_failed"] > 1).any():
            out.append(f"\n{SEED_TARGETS_NOTE}")
        out.append("")
    return "\n".join(out)


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                   "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                   "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)


def _latex_number(value: float) -> str:
    return f"${value:.10g}$"


def to_latex(blocks: list[TableBlock], time_to_target: str | Sequence[str] | None = None) -> str:
    """One booktabs ``table`` per block; needs only ``\\usepackage{booktabs}``.
    ``time_to_target``: the target keys (``1e-03``), one or several, two columns each."""
    time_to_target = _keys(time_to_target)
    out = ["% nqsbench tables; requires \\usepackage{booktabs}"]
    seeds = _has_seeds(blocks)
    for block in blocks:
        headers = _headers(seeds, time_to_target, _has_other_models([block]))
        columns = "ll" + "r" * (len(headers) - 2)
        caption = (f"Results for the $J_1$-$J_2$ Heisenberg model on a ${block.L}\\times{block.L}$ "
                   f"lattice at $J_2/J_1 = {block.J2:g}$"
                   + ("" if block.matrix == NO_MATRIX else
                      f" (matrix {latex_escape(block.matrix)})")
                   + ", measured on "
                   f"{latex_escape(block.device)}. Relative error against "
                   f"{_describe_references(block.references, _latex_number, latex_escape)}.")
        if seeds:
            caption += (" With several seeds, the energy is the mean over the seeds and its "
                        "parenthesis the spread (standard deviation) over them.")
            if time_to_target:
                caption += f" {latex_escape(SEED_TARGETS_NOTE[0].upper() + SEED_TARGETS_NOTE[1:])}."
        if any(_is_timing(row) for _, row in block.rows.iterrows()):
            caption += " Timing cells (short runs) show their cost only."
        header = " & ".join(
            {"Layers": "$n_l$", "d": "$d$", "h": "$h$"}.get(h, h) for h in headers) + r" \\"
        out += ["\\begin{table}[htbp]", "\\centering", "\\footnotesize",
                "\\setlength{\\tabcolsep}{2pt}", f"\\caption{{{caption}}}",
                f"\\begin{{tabular}}{{{columns}}}", "\\toprule", header, "\\midrule"]
        for _, row in block.rows.iterrows():
            cells = _cells(row, True, seeds, time_to_target)
            cells[0] = latex_escape(cells[0])
            out.append(" & ".join(cells) + r" \\")
        out += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(out)


CSV_COLUMNS: tuple[str, ...] = (
    "matrix", "L", "J2", "J1", "device", "model", "attention", "layers", "d", "heads", "patch", "samples",
    "steps", "energy", "energy_error", "energy_text", "relative_error", "reference_id",
    "reference_energy", "reference_kind", "v_score", "n_parameters", "seconds_per_step",
    "compile_seconds", "total_seconds", "cell_id", "commit", "finished_at",
)
"""the CSV's columns (``wall_seconds`` is added where a run measured it, ``model_name`` and
``model_options`` after ``model`` where a block holds other models than the ViT)"""
SEED_COLUMNS: tuple[str, ...] = ("n_seeds", "n_failed", "best_energy", "best_relative_error")
"""added to the CSV when a cell has several seeds or failed ones (``energy_error`` is then
their spread); ``reached_<target>`` beside each target's columns"""
ACCURACY_COLUMNS: tuple[str, ...] = ("energy", "energy_error", "energy_text", "relative_error",
                                     "v_score", "best_energy", "best_relative_error")
"""left empty in the CSV rows of timing cells"""


def to_csv(blocks: list[TableBlock], time_to_target: str | Sequence[str] | None = None) -> str:
    """Machine-readable: the numbers behind the tables, one row per model and block.
    ``time_to_target``: the target keys (``1e-03``), one or several, two columns each."""
    time_to_target = _keys(time_to_target)
    seeds = _has_seeds(blocks)
    columns = list(CSV_COLUMNS) + (list(SEED_COLUMNS) if seeds else [])
    models = _has_other_models(blocks)
    if models:
        at = columns.index("model") + 1
        columns[at:at] = ["model_name", "model_options"]
    if any(block.rows["wall_seconds"].notna().any() for block in blocks
           if "wall_seconds" in block.rows):
        columns.append("wall_seconds")
    for key in time_to_target:
        columns += [f"steps_to_{key}", f"seconds_to_{key}"]
        if seeds:
            columns.append(f"reached_{key}")
    frames = [block.rows for block in blocks]
    if not frames:
        return ",".join(columns) + "\n"
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.assign(energy_text=[format_with_error(e, s) for e, s in
                                    zip(rows["energy"], rows["energy_error"], strict=True)])
    if models:
        rows = rows.assign(model_name=rows["model_label"],
                           model_options=[options_key(o) or None for o in rows["model_options"]])
    rows = rows.loc[:, columns + ["purpose"]].astype(object)
    timing = rows["purpose"] == TIMING
    rows.loc[timing, [c for c in ACCURACY_COLUMNS if c in columns]] = None
    rows.loc[rows["model"] != "vit", list(VIT_COLUMNS)] = None
    buffer = io.StringIO()
    rows.loc[:, columns].to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


RENDERERS = {"markdown": to_markdown, "latex": to_latex, "csv": to_csv}


def render_table(runs: pd.DataFrame, fmt: str = "markdown",
                 time_to_target: float | Sequence[float] | None = None) -> str:
    """The paper-style tables of ``runs`` in ``fmt`` (markdown, latex or csv); with
    ``time_to_target`` (one or more of :data:`suite.report.targets.TARGETS`), two more columns
    per target, in the order given: the steps and the training time to that relative error."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    targets = () if time_to_target is None else (
        (time_to_target,) if isinstance(time_to_target, (int, float)) else tuple(time_to_target))
    for target in targets:
        if target not in TARGETS:
            raise ValueError(f"time to target is recorded for {', '.join(map(str, TARGETS))}, "
                             f"not {target}")
    return RENDERERS[fmt](table_blocks(runs), tuple(target_key(t) for t in targets))
