"""Reading a caseload, one subject at a time: JSON Lines, CSV, Excel, Parquet.

Every reader streams: it holds one line, one row (CSV), one record batch (Parquet) or the
household being assembled (member rows), never the file. The exception is Excel, whose
sheet calamine decodes whole (see docs/caseloads.md for the bound).
"""

from __future__ import annotations

import csv
import itertools
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from povrules.caseload._extras import need
from povrules.caseload._files import check_regular, display_name, lines, not_utf8, open_binary
from povrules.caseload.mapping import Item, Locator, Mapping, did_you_mean, load_mapping
from povrules.errors import CaseloadError, UnknownName, UnknownSubject, UsageError
from povrules.facts import SUBJECTS, facts_schema

FORMATS = ("jsonl", "csv", "xlsx", "parquet")
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    # calamine reads the older and the open spreadsheet formats the same way.
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".ods": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# Rows per Parquet record batch: a few megabytes of Python objects at most.
PARQUET_BATCH = 4096

Source = str | os.PathLike[str] | BinaryIO


def read_caseload(
    source: Source,
    *,
    format: str | None = None,
    mapping: str | os.PathLike[str] | Mapping | None = None,
    subject: str = "household",
) -> Iterator[Item]:
    """The subjects of a caseload file, one :class:`Item` at a time.

    ``source`` is a path, ``"-"`` (standard input, JSON Lines) or a binary file object
    (JSON Lines). ``format`` is one of :data:`FORMATS`, by default from the file's extension.
    ``mapping`` (a mapping file or a loaded :class:`Mapping`) is required for CSV and Excel,
    optional for Parquet (without it, columns are the facts' own nested fields), refused for
    JSON Lines. The file is opened, and its header row checked, before this returns.

    Raises :class:`~povrules.errors.UnknownSubject` and :class:`~povrules.errors.UnknownName` for a subject or
    format there is none of, and :class:`CaseloadError`: a format the extension does not say, unreadable or
    special file, bad mapping, missing column; and, while iterating, a bad cell, an over-long line, text not in UTF-8.
    """
    if subject not in SUBJECTS:
        raise UnknownSubject(subject, SUBJECTS)
    path = source if isinstance(source, (str, os.PathLike)) else None  # None: a binary file object
    stream = path is None
    name = display_name(path) if path is not None else getattr(source, "name", "<stream>")
    if format is None:
        if stream or name == "<stdin>":
            format = "jsonl"
        else:
            format = _EXTENSIONS.get(Path(name).suffix.lower())
            if format is None:
                raise CaseloadError(f"cannot tell the format from the extension; name it ({', '.join(FORMATS)})", name)
    if format not in FORMATS:
        raise UnknownName("format", format, FORMATS)
    if (stream or name == "<stdin>") and format != "jsonl":
        raise CaseloadError(f"{format} is read from a file only (standard input takes JSON Lines)", name)
    loaded = mapping if mapping is None or isinstance(mapping, Mapping) else load_mapping(mapping, subject)
    if loaded is not None and loaded.subject != subject:
        raise CaseloadError(f"the mapping was loaded for {loaded.subject}, not {subject}", loaded.file)
    if format == "jsonl":
        if loaded is not None:
            raise CaseloadError("JSON Lines holds the facts themselves: it takes no mapping", name)
        return read_jsonl(source)
    if path is None:  # refused above: a stream is read as JSON Lines only
        raise CaseloadError(f"{format} is read from a file only (standard input takes JSON Lines)", name)
    if format == "parquet":
        return _read_parquet(path, loaded, subject)
    if loaded is None:
        raise CaseloadError(f"a {format} caseload needs a mapping file from its column headers to facts", name)
    if format == "csv":
        return _read_csv(path, loaded)
    return _read_excel(path, loaded)


def read_chunks(source: Source, size: int, **options: Any) -> Iterator[list[Item]]:
    """The items of :func:`read_caseload` in lists of ``size`` (the last may be shorter), for worker processes.

    Raises what :func:`read_caseload` raises, and :class:`~povrules.errors.UsageError` for a size below 1.
    """
    if size < 1:
        raise UsageError(f"size: a chunk holds at least one item, not {size}")
    items = read_caseload(source, **options)
    return iter(lambda: list(itertools.islice(items, size)), [])


# ---------------------------------------------------------------------------------------------
# JSON Lines


def read_jsonl(source: Source) -> Iterator[Item]:
    """The non-blank lines of a JSON Lines file as raw bytes, each with ``file:line``.

    The lines are not parsed: the caller validates them (``model_validate_json``) and reports
    malformed JSON at the item's ``where``. Raises :class:`CaseloadError` for an unreadable or
    special file, a line over 16 MiB, or a line that is not UTF-8.
    """
    if not isinstance(source, (str, os.PathLike)):  # a binary file object
        return _jsonl(source, getattr(source, "name", "<stream>"), close=False)
    if str(source) == "-":
        return _jsonl(sys.stdin.buffer, "<stdin>", close=False)
    return _jsonl(open_binary(source), display_name(source), close=True)


def _jsonl(stream: BinaryIO, name: str, close: bool) -> Iterator[Item]:
    try:
        for number, line in enumerate(lines(stream, name), start=1):
            line = line.rstrip(b"\r\n")
            if not line or line.isspace():
                continue
            if not line.isascii():
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    raise not_utf8(line, f"{name}:{number}") from None
            yield Item(f"{name}:{number}", line)
    finally:
        if close:
            stream.close()


# ---------------------------------------------------------------------------------------------
# CSV


class _LineLocator(Locator):
    def __init__(self, name: str):
        self.name = name

    def row(self, number: int) -> str:
        return f"{self.name}:{number}"


def _read_csv(path: str | os.PathLike[str], mapping: Mapping) -> Iterator[Item]:
    name = display_name(path)
    stream = open_binary(path)
    return mapping.read(_csv_rows(stream, name), _LineLocator(name), name)


def _csv_rows(stream: BinaryIO, name: str) -> Iterator[tuple[int, Sequence[Any]]]:
    def text() -> Iterator[str]:
        # Decoded line by line, not by a text wrapper's chunks, so that a bad byte is named by its line.
        for number, raw in enumerate(lines(stream, name), start=1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise not_utf8(raw, f"{name}:{number}") from None

    reader = csv.reader(text())
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise CaseloadError(f"not valid CSV: {exc}", f"{name}:{start}") from None
            yield start, cells
    finally:
        stream.close()


# ---------------------------------------------------------------------------------------------
# Excel


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class _SheetLocator(Locator):
    def __init__(self, name: str, sheet: str, first_column: int):
        self.prefix = f"{name}:{sheet}!"
        self.first_column = first_column

    def row(self, number: int) -> str:
        return f"{self.prefix}{number}"

    def cell(self, number: int, position: int) -> str:
        return f"{self.prefix}{_column_letters(self.first_column + position)}{number}"


def _read_excel(path: str | os.PathLike[str], mapping: Mapping) -> Iterator[Item]:
    calamine = need("python_calamine")
    name = display_name(path)
    check_regular(path)
    try:
        workbook = calamine.CalamineWorkbook.from_path(os.fspath(path))
    except (calamine.CalamineError, OSError, ValueError) as exc:
        raise CaseloadError(f"cannot read it as a workbook ({exc})", name) from None
    sheets = workbook.sheet_names
    wanted = mapping.sheet if mapping.sheet is not None else (sheets[0] if sheets else None)
    if wanted is None or wanted not in sheets:
        workbook.close()
        raise CaseloadError(
            f"no sheet {wanted!r}; the sheets are {', '.join(sheets)}" + did_you_mean(str(wanted), sheets), name
        )
    try:
        # calamine decodes the whole sheet here (Rust memory); iter_rows then makes Python rows one at a time.
        sheet = workbook.get_sheet_by_name(wanted)
    except (calamine.CalamineError, ValueError) as exc:
        workbook.close()
        raise CaseloadError(f"cannot read sheet {wanted!r} ({exc})", name) from None
    first_column = sheet.start[1] if sheet.start is not None else 0
    return mapping.read(_sheet_rows(workbook, sheet), _SheetLocator(name, wanted, first_column), name)


def _sheet_rows(workbook: Any, sheet: Any) -> Iterator[tuple[int, Sequence[Any]]]:
    # iter_rows yields rows from the sheet's first row (those above the data empty) and columns from
    # the data's first column: the row's index is its Excel row number less one.
    try:
        for index, cells in enumerate(sheet.iter_rows()):
            yield index + 1, cells
    finally:
        workbook.close()


# ---------------------------------------------------------------------------------------------
# Parquet


class _ParquetLocator(Locator):
    def __init__(self, name: str):
        self.name = name

    def row(self, number: int) -> str:
        return f"{self.name}:row {number}"


def _open_parquet(path: str | os.PathLike[str]) -> Any:
    pq = need("pyarrow.parquet")
    pa = need("pyarrow")
    name = display_name(path)
    check_regular(path)
    try:
        return pq.ParquetFile(os.fspath(path))
    except (pa.ArrowException, OSError) as exc:
        raise CaseloadError(f"cannot read it as Parquet ({exc})", name) from None


def _read_parquet(path: str | os.PathLike[str], mapping: Mapping | None, subject: str) -> Iterator[Item]:
    pa = need("pyarrow")
    name = display_name(path)
    parquet = _open_parquet(path)
    names = parquet.schema_arrow.names
    locate = _ParquetLocator(name)
    if mapping is not None:
        # Only the mapped columns are read; the header row of a Parquet file is its column names.
        bound = mapping.bind(names, locate, f"{name}:(columns)")
        wanted = sorted(
            {p for p, _ in bound.household + bound.members}
            | ({bound.id_position} if bound.id_position is not None else set())
        )
        for position in wanted:
            kind = parquet.schema_arrow.field(position).type
            if pa.types.is_nested(kind):
                raise CaseloadError(
                    f"column {names[position]!r} is nested ({kind}); with a mapping, columns are flat", name
                )
        selected = [names[p] for p in wanted]
        bound = mapping.bind(selected, locate, f"{name}:(columns)")
        return bound.subjects(_parquet_rows(parquet, selected, name))
    fields = facts_schema(subject).get("properties", {})
    for column in names:
        if column not in fields:
            raise CaseloadError(
                f"column {column!r} is not a fact of a {subject}"
                + did_you_mean(column, fields)
                + "; give a mapping file for flat columns with other names",
                name,
            )
    return _parquet_nested(parquet, name)


def _parquet_rows(parquet: Any, columns: list[str], name: str) -> Iterator[tuple[int, Sequence[Any]]]:
    number = 0
    for batch in _batches(parquet, columns, name):
        for cells in zip(*(column.to_pylist() for column in batch.columns)):
            number += 1
            yield number, cells


def _parquet_nested(parquet: Any, name: str) -> Iterator[Item]:
    number = 0
    for batch in _batches(parquet, None, name):
        for row in batch.to_pylist():
            number += 1
            where = f"{name}:row {number}"
            yield Item(where, _json_shape(row, where))


def _batches(parquet: Any, columns: list[str] | None, name: str) -> Iterator[Any]:
    pa = need("pyarrow")
    try:
        yield from parquet.iter_batches(batch_size=PARQUET_BATCH, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise CaseloadError(f"cannot read it as Parquet ({exc})", name) from None
    finally:
        parquet.close()


def parquet_facts(row: dict[str, Any], where: str) -> Any:
    """One decoded row of a nested Parquet caseload (``pyarrow``'s ``to_pylist``) in the facts' JSON
    shape, as :func:`read_caseload` gives it: for readers that read the columns themselves and
    validate only some rows. Raises :class:`CaseloadError` at ``where`` for a value no fact can hold."""
    return _json_shape(row, where)


def _json_shape(value: Any, where: str) -> Any:
    """A nested Parquet value in the facts' JSON shape: nulls dropped (unknown), decimals and dates as text."""
    if isinstance(value, dict):
        return {k: _json_shape(v, where) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_json_shape(v, where) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, datetime):
        if value.time() != time(0, 0):
            raise CaseloadError(f"a date was expected, got a time of day ({value.isoformat()})", where)
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        raise CaseloadError("a binary column cannot hold facts; store text as strings", where)
    return value
