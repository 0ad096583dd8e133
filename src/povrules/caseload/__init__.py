"""Caseloads: a county's subjects read from files as a stream, and decision tables written back.

``read_caseload`` reads JSON Lines, CSV, Excel (python-calamine) and Parquet (pyarrow), one
:class:`Item` at a time; CSV, Excel and flat Parquet need a column-mapping file
(:func:`load_mapping`). ``open_table`` writes a decision table (Parquet or CSV) all or nothing.
Excel and Parquet need the ``caseload`` extra: ``pip install 'povrules[caseload]'``.
See docs/caseloads.md.
"""

from __future__ import annotations

from povrules.caseload._files import MAX_LINE
from povrules.caseload.mapping import Column, Item, Mapping, load_mapping
from povrules.caseload.readers import FORMATS, parquet_facts, read_caseload, read_chunks, read_jsonl
from povrules.caseload.tables import COLUMNS, TABLE_FORMATS, TableWriter, open_table
from povrules.errors import CaseloadError

__all__ = [
    "COLUMNS",
    "FORMATS",
    "MAX_LINE",
    "TABLE_FORMATS",
    "CaseloadError",
    "Column",
    "Item",
    "Mapping",
    "TableWriter",
    "load_mapping",
    "open_table",
    "parquet_facts",
    "read_caseload",
    "read_chunks",
    "read_jsonl",
]
