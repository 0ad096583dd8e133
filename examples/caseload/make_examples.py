"""Rebuild the example caseloads of this folder from the example households (JSON Lines).

    python examples/caseload/make_examples.py

Writes, from examples/cn-yunnan-weishan.jsonl and examples/cn-hunan-county-plan4.jsonl:

- households.csv, households.xlsx (sheet 农户台账), households-flat.parquet: a county ledger
  (台账) with one row per member and the columns that mapping.yaml names;
- households.parquet: the same households as nested columns in the facts' own shape.

The ledger is made by reading mapping.yaml backwards, so the files always agree with it.
Needs the caseload extra and openpyxl (the test extra).
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

from povrules.caseload import Column, load_mapping

HERE = Path(__file__).resolve().parent
SOURCES = [HERE.parent / "cn-yunnan-weishan.jsonl", HERE.parent / "cn-hunan-county-plan4.jsonl"]


def households() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for source in SOURCES
        for line in source.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _get(data: Any, steps: tuple[tuple[str, int], ...]) -> Any:
    for name, slot in steps:
        if not isinstance(data, dict) or name not in data:
            return None
        data = data[name]
        if slot:
            data = data[slot - 1] if slot <= len(data) else None
    return data


def _cell(col: Column, value: Any, excel: bool) -> Any:
    """The ledger's cell for a fact's JSON value: the column's own words where it has them."""
    if value is None:
        return None
    words = {}
    for text, target in col.values.items():
        words.setdefault(json.dumps(target), text)
    if col.kind == "objects":  # the column only says "none"; the items have columns of their own
        return col.empty if value == [] else None
    if col.kind == "list":
        if value == []:
            return col.empty
        return "、".join(words.get(json.dumps(v), str(v)) for v in value)
    if json.dumps(value) in words:
        return words[json.dumps(value)]
    if col.kind == "boolean":
        return "是" if value else "否"
    if excel and col.kind == "date":
        return date.fromisoformat(value)
    if excel and col.kind == "decimal":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if not excel:
        return str(value)
    return value


def ledger(excel: bool) -> tuple[list[str], list[list[Any]]]:
    """The header and the member rows of the example households."""
    mapping = load_mapping(HERE / "mapping.yaml")
    header = [col.header for col in mapping.columns]
    rows = []
    for household in households():
        members = household.get("members") or [None]
        for member in members:  # a household with no members known has one row with the member columns empty
            rows.append(
                [
                    _cell(col, _get(member, col.steps) if col.member else _get(household, col.steps), excel)
                    for col in mapping.columns
                ]
            )
    return header, rows


def _typed(value: Any, kind: str) -> Any:
    """A JSON value as Parquet stores it: money as decimal128, dates as date32."""
    if isinstance(value, dict):
        return {k: _typed(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v, kind) for v in value]
    if isinstance(value, str) and kind in ("value", "per_capita_net"):
        return Decimal(value).quantize(Decimal("0.01"))
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return date.fromisoformat(value)
    return value


def main() -> None:
    header, rows = ledger(excel=False)
    with open(HERE / "households.csv", "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([["" if c is None else c for c in row] for row in rows])

    header, rows = ledger(excel=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "农户台账"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    book.save(HERE / "households.xlsx")

    columns = load_mapping(HERE / "mapping.yaml").columns
    flat = pa.table(
        {
            name: pa.array([None if r[i] is None else Decimal(str(r[i])) for r in rows], pa.decimal128(14, 2))
            if col.kind == "decimal"
            else pa.array([r[i] for r in rows])
            for i, (name, col) in enumerate(zip(header, columns))
        }
    )
    pq.write_table(flat, HERE / "households-flat.parquet")
    # One struct array first, so that the columns are those of every household, not only of the first.
    nested = pa.Table.from_struct_array(pa.array([_typed(h, "") for h in households()]))
    pq.write_table(nested, HERE / "households.parquet")


if __name__ == "__main__":
    main()
