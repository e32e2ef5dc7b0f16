"""Reading and presenting results: typed records, references, tables, the asv results reader.

Nothing here imports JAX, so the dashboard and ``nqsbench table`` run without it.
"""

from __future__ import annotations

from suite.report.analysis import input_dependence
from suite.report.asv_results import load_asv_results
from suite.report.formatting import format_with_error
from suite.report.races import load_comparisons
from suite.report.records import RecordError, load_records, read_record, write_record
from suite.report.references import (
    PublishedResult,
    Reference,
    find_reference,
    load_published,
    load_references,
)
from suite.report.rows import load_runs
from suite.report.tables import FORMATS, render_table

__all__ = [
    "FORMATS",
    "PublishedResult",
    "RecordError",
    "Reference",
    "find_reference",
    "format_with_error",
    "input_dependence",
    "load_asv_results",
    "load_comparisons",
    "load_published",
    "load_records",
    "load_references",
    "load_runs",
    "read_record",
    "render_table",
    "write_record",
]
