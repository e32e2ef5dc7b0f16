"""Paper-ready tables in the layout of Rende & Viteritti (2025), Table 1.

One block per (L, J2/J1, device): a row per model (attention, layers, d, h, steps) with the final
energy per site in parenthesis notation, the relative error against the block's reference, the
V-score, the parameter count, seconds per step and total time. Functions are pure: a runs
DataFrame (:func:`suite.report.records.load_runs`) in, text out.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import pandas as pd

from suite.report.formatting import format_with_error

FORMATS: tuple[str, ...] = ("markdown", "latex", "csv")
ATTENTION_ORDER = {"t5": 0, "decoupled": 1, "factored": 2}
ATTENTION_NAMES = {"t5": "T5", "decoupled": "Decoupled", "factored": "Factored"}
HEADERS: tuple[str, ...] = ("Attention", "Layers", "d", "h", "Steps", "Energy", "Rel. error",
                            "V-score", "Parameters", "s/step", "Time")


@dataclass(frozen=True)
class TableBlock:
    """The runs of one lattice, coupling and device, one row per model."""

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


def latest_completed(runs: pd.DataFrame) -> pd.DataFrame:
    """The newest completed record of each configuration (a re-run supersedes older records)."""
    done = runs[runs["status"] == "completed"]
    if done.empty:
        return done
    return (done.sort_values("finished_at")
            .drop_duplicates(subset=["config_hash", "device"], keep="last"))


def model_name(row: pd.Series) -> str:
    """The model as the paper names it: ``T5``, ``Decoupled``, ``Factored`` or ``RBM``."""
    if row["model"] != "vit":
        return str(row["model"]).upper()
    return ATTENTION_NAMES.get(row["attention"], str(row["attention"]))


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
    """Group the latest completed runs into paper-style blocks, ordered by L, J2, device."""
    runs = latest_completed(runs)
    blocks = []
    for (L, J2, device), group in runs.groupby(["L", "J2", "device"], sort=True, dropna=False):
        group = group.assign(_order=group["attention"].map(ATTENTION_ORDER).fillna(9))
        group = group.sort_values(["model", "_order", "layers", "d", "heads", "steps"],
                                  ascending=[False, True, True, True, True, True])
        references = group.dropna(subset=["reference_id"]).drop_duplicates("reference_id")
        found = tuple((float(r.reference_energy), str(r.reference_kind), str(r.reference_id))
                      for r in references.itertuples())
        blocks.append(TableBlock(int(L), float(J2), str(device), found,
                                 group.drop(columns="_order")))
    return blocks


def _cells(row: pd.Series, latex: bool) -> list[str]:
    energy = format_with_error(row["energy"], row["energy_error"])
    return [
        model_name(row),
        str(int(row["layers"])) if row["model"] == "vit" else "",
        str(int(row["d"])) if row["model"] == "vit" else "",
        str(int(row["heads"])) if row["model"] == "vit" else "",
        format_count(row["steps"], latex),
        f"${energy}$" if latex else energy,
        format_scientific(row["relative_error"], latex),
        format_scientific(row["v_score"], latex),
        format_count(row["n_parameters"], latex),
        f"{row['seconds_per_step']:.3g}",
        format_duration(row["total_seconds"]),
    ]


def _caption(block: TableBlock) -> str:
    return (f"L = {block.L}, J2/J1 = {block.J2:g} on {block.device}; "
            f"relative error against {block.reference}")


def to_markdown(blocks: list[TableBlock]) -> str:
    """GitHub-flavoured Markdown: a heading line and a pipe table per block."""
    out = []
    for block in blocks:
        out.append(f"**{_caption(block)}**\n")
        out.append("| " + " | ".join(HEADERS) + " |")
        out.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(HEADERS))) + "|")
        for _, row in block.rows.iterrows():
            out.append("| " + " | ".join(_cells(row, latex=False)) + " |")
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


def to_latex(blocks: list[TableBlock]) -> str:
    """One booktabs ``table`` per block; needs only ``\\usepackage{booktabs}``."""
    out = ["% nqsbench tables; requires \\usepackage{booktabs}"]
    columns = "ll" + "r" * (len(HEADERS) - 2)
    for block in blocks:
        caption = (f"Results for the $J_1$-$J_2$ Heisenberg model on a ${block.L}\\times{block.L}$ "
                   f"lattice at $J_2/J_1 = {block.J2:g}$, measured on "
                   f"{latex_escape(block.device)}. Relative error against "
                   f"{_describe_references(block.references, _latex_number, latex_escape)}.")
        header = " & ".join(
            {"Layers": "$n_l$", "d": "$d$", "h": "$h$"}.get(h, h) for h in HEADERS) + r" \\"
        out += ["\\begin{table}[htbp]", "\\centering", "\\footnotesize",
                "\\setlength{\\tabcolsep}{2pt}", f"\\caption{{{caption}}}",
                f"\\begin{{tabular}}{{{columns}}}", "\\toprule", header, "\\midrule"]
        for _, row in block.rows.iterrows():
            cells = _cells(row, latex=True)
            cells[0] = latex_escape(cells[0])
            out.append(" & ".join(cells) + r" \\")
        out += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(out)


CSV_COLUMNS: tuple[str, ...] = (
    "L", "J2", "J1", "device", "model", "attention", "layers", "d", "heads", "patch", "samples",
    "steps", "energy", "energy_error", "energy_text", "relative_error", "reference_id",
    "reference_energy", "reference_kind", "v_score", "n_parameters", "seconds_per_step",
    "compile_seconds", "total_seconds", "cell_id", "commit", "finished_at",
)


def to_csv(blocks: list[TableBlock]) -> str:
    """Machine-readable: the numbers behind the tables, one row per model and block."""
    frames = [block.rows for block in blocks]
    if not frames:
        return ",".join(CSV_COLUMNS) + "\n"
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.assign(energy_text=[format_with_error(e, s) for e, s in
                                    zip(rows["energy"], rows["energy_error"], strict=True)])
    buffer = io.StringIO()
    rows.loc[:, list(CSV_COLUMNS)].to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


RENDERERS = {"markdown": to_markdown, "latex": to_latex, "csv": to_csv}


def render_table(runs: pd.DataFrame, fmt: str = "markdown") -> str:
    """The paper-style tables of ``runs`` in ``fmt`` (markdown, latex or csv)."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return RENDERERS[fmt](table_blocks(runs))
