"""``nqsbench table --attention``: how input-dependent the attention maps of each ViT run are.

One row per completed ViT run with attention snapshots in its record: the attention (display
name), L, J2/J1, layers, d, seed, steps, the input dependence
(:func:`suite.report.analysis.input_dependence`) of the maps at initialisation and after
training, and the run id (the record file's stem). Rows are ordered by L, J2/J1, attention (T5,
Decoupled, Factored, as in the energy tables), then seed. :func:`attention_rows` reads the
records; :func:`render_attention_table` is pure: a DataFrame in, text out. No JAX here.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd

from suite.report.analysis import NUMERICAL_ZERO, attention_summary
from suite.report.models import model_rank
from suite.report.tables import FORMATS, latex_escape

HEADERS: tuple[str, ...] = ("Attention", "L", "J2/J1", "Layers", "d", "Seed", "Steps",
                            "Input dependence (init.)", "Input dependence (trained)", "Run")
CSV_COLUMNS: tuple[str, ...] = ("model_name", "L", "J2", "layers", "d", "seed", "steps",
                                "input_dependence_initial", "input_dependence_final", "run")
"""the CSV's columns (``model_name``: the attention's display name; numbers unrounded)"""
CAPTION = ("Input dependence of the attention maps: the largest, over layers and heads, of the "
           "mean absolute deviation of the maps from their average over the input "
           "configurations, relative to that average's mean absolute value (0 for "
           "input-independent attention: Factored is 0 by construction).")


def attention_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """The input dependence of every completed ViT run among ``runs`` that has attention
    snapshots: :func:`suite.report.analysis.attention_summary` of the ViT rows, with ``run``
    (the record file's stem) added first.

    Args:
        runs: rows of :func:`suite.report.rows.load_runs` (each row's ``path`` is read again).
    """
    vit = runs[runs["model"] == "vit"]
    return attention_summary(vit.assign(run=[Path(path).stem for path in vit["path"]]))


def in_attention_order(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary``'s rows by L, J2, attention (paper order), seed, then layers, d, steps, run."""
    rank = summary["attention"].map(lambda attention: model_rank("vit", attention))
    return (summary.assign(_rank=rank)
            .sort_values(["L", "J2", "_rank", "model_name", "seed", "layers", "d", "steps",
                          "run"], kind="stable")
            .drop(columns="_rank"))


def format_dependence(value: float) -> str:
    """``0.342``, ``0`` below :data:`NUMERICAL_ZERO`, ``n/a`` when missing."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return "0" if abs(value) < NUMERICAL_ZERO else f"{value:.3g}"


def _cells(row: pd.Series) -> list[str]:
    return [str(row["model_name"]), str(int(row["L"])), f"{float(row['J2']):g}",
            str(int(row["layers"])), str(int(row["d"])), str(int(row["seed"])),
            str(int(row["steps"])), format_dependence(float(row["initial"])),
            format_dependence(float(row["final"])), str(row["run"])]


def to_markdown(summary: pd.DataFrame) -> str:
    """The caption in bold, then one pipe table."""
    out = [f"**{CAPTION}**", "", "| " + " | ".join(HEADERS) + " |",
           "|" + "|".join("---" if header in ("Attention", "Run") else "---:"
                          for header in HEADERS) + "|"]
    out += ["| " + " | ".join(_cells(row)) + " |" for _, row in summary.iterrows()]
    return "\n".join(out) + "\n"


def to_latex(summary: pd.DataFrame) -> str:
    """One booktabs ``table``; needs only ``\\usepackage{booktabs}``."""
    headers = [{"L": "$L$", "J2/J1": "$J_2/J_1$", "Layers": "$n_l$", "d": "$d$"}.get(h, latex_escape(h))
               for h in HEADERS]
    out = ["% nqsbench attention table; requires \\usepackage{booktabs}",
           "\\begin{table}[htbp]", "\\centering", "\\footnotesize",
           "\\setlength{\\tabcolsep}{2pt}", f"\\caption{{{latex_escape(CAPTION)}}}",
           "\\begin{tabular}{l" + "r" * (len(HEADERS) - 2) + "l}", "\\toprule",
           " & ".join(headers) + r" \\", "\\midrule"]
    for _, row in summary.iterrows():
        cells = [latex_escape(cell) for cell in _cells(row)]
        cells[-1] = f"\\texttt{{{cells[-1]}}}"
        out.append(" & ".join(cells) + r" \\")
    out += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(out) + "\n"


def to_csv(summary: pd.DataFrame) -> str:
    """Machine-readable: :data:`CSV_COLUMNS`, the input dependence unrounded."""
    rows = summary.rename(columns={"initial": "input_dependence_initial",
                                   "final": "input_dependence_final"})
    buffer = io.StringIO()
    rows.loc[:, list(CSV_COLUMNS)].to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


RENDERERS = {"markdown": to_markdown, "latex": to_latex, "csv": to_csv}


def render_attention_table(summary: pd.DataFrame, fmt: str = "markdown") -> str:
    """The attention table of ``summary`` in ``fmt`` (markdown, latex or csv).

    Args:
        summary: :func:`attention_rows` (the columns of
            :data:`suite.report.analysis.ATTENTION_SUMMARY_COLUMNS`), in any order.
        fmt: one of :data:`suite.report.tables.FORMATS`.

    Raises:
        ValueError: an unknown format.
    """
    if fmt not in RENDERERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return RENDERERS[fmt](in_attention_order(summary))
