"""Writing a decision table, one row per subject: Parquet or CSV, all or nothing.

Rows go to a temporary file beside the target; :meth:`TableWriter.commit` renames it into
place, so a reader never sees half a table and a failed run leaves the old table (or none).
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TextIO

from povrules.caseload._extras import need
from povrules.errors import CaseloadError, UnknownName, UsageError

__all__ = ["COLUMNS", "TABLE_FORMATS", "TableWriter", "open_table"]

COLUMNS = ("id", "outcome", "labels", "missing", "reasons", "record_digest", "amount")
# Columns a row may leave out (null): the record's digest (no record made), the amount (not an amount decision).
_OPTIONAL = ("record_digest", "amount")
TABLE_FORMATS = ("parquet", "csv")
_LISTS = frozenset({"labels", "missing", "reasons"})
LIST_SEPARATOR = ";"
# Rows per Parquet row group: big enough for good compression, small enough to hold in memory.
ROW_GROUP = 65_536

Row = Mapping[str, Any] | Sequence[Any]


def open_table(
    path: str | os.PathLike[str], format: str | None = None, *, row_group_size: int = ROW_GROUP
) -> TableWriter:
    """A writer of a decision table at ``path`` (``.parquet`` or ``.csv`` unless ``format`` says).

    Nothing appears at ``path`` until :meth:`TableWriter.commit`. Raises :class:`CaseloadError`
    naming the file when the folder is missing or unwritable, :class:`~povrules.errors.UnknownName` for an
    unknown format and :class:`~povrules.errors.UsageError` for a row group size below 1.
    """
    name = str(path)
    if format is None:
        format = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}.get(Path(name).suffix.lower())
        if format is None:
            raise CaseloadError(
                f"cannot tell the table format from the extension; name it ({', '.join(TABLE_FORMATS)})", name
            )
    if format not in TABLE_FORMATS:
        raise UnknownName("table format", format, TABLE_FORMATS)
    if row_group_size < 1:
        raise UsageError(f"row_group_size: a row group holds at least one row, not {row_group_size}")
    if format == "parquet":
        need("pyarrow.parquet")  # before creating the file, so that a missing extra leaves nothing behind
    return TableWriter(name, format, row_group_size)


class TableWriter:
    """Writes rows of ``COLUMNS`` to a temporary file; ``commit`` puts it in place, ``abort`` removes it.

    As a context manager it commits when the block ends normally and aborts on an exception.
    """

    def __init__(self, path: str, format: str, row_group_size: int):
        self.path = path
        self.format = format
        self.rows = 0
        self._group = row_group_size
        self._done = False
        folder = os.path.dirname(os.path.abspath(path))
        try:
            handle, self._temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=folder)
        except OSError as exc:
            raise self._failure(exc) from None
        self._text: TextIO | None = None
        self._parquet: Any = None
        self._pending: list[list[Any]] = [[] for _ in COLUMNS]
        try:
            if format == "csv":
                # A byte-order mark, so that Excel on Chinese Windows opens the UTF-8 text as UTF-8.
                # The writer holds the file open until it commits or discards it.
                self._text = open(handle, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
                self._csv = csv.writer(self._text)
                self._csv.writerow(COLUMNS)
            else:
                os.close(handle)
        except OSError as exc:
            self._discard()
            raise self._failure(exc) from None

    def _failure(self, exc: OSError) -> CaseloadError:
        return CaseloadError(f"cannot write the table ({exc.strerror or exc})", self.path)

    def write(self, rows: Iterable[Row]) -> None:
        """Add rows: dicts keyed by ``COLUMNS`` or sequences in their order (``record_digest`` and ``amount``,
        the total of an amount decision as an exact decimal string, may be left out).

        Raises :class:`CaseloadError` for a full disk (the table is then aborted) and
        :class:`~povrules.errors.UsageError` for a malformed row or a table already committed or aborted.
        """
        if self._done:
            raise UsageError(f"{self.path}: the table is already committed or aborted")
        try:
            for row in rows:
                values = _values(row)
                self.rows += 1
                if self._text is not None:
                    self._csv.writerow(_csv_cells(values, self.path))
                else:
                    for column, value in zip(self._pending, values):
                        column.append(value)
                    if len(self._pending[0]) >= self._group:
                        self._flush()
        except OSError as exc:
            self.abort()
            raise self._failure(exc) from None

    def _flush(self) -> None:
        if not self._pending[0] and self._parquet is not None:
            return
        pa = need("pyarrow")
        pq = need("pyarrow.parquet")
        table = pa.Table.from_arrays(
            [pa.array(c, type=t) for c, t in zip(self._pending, _arrow_types(pa))], schema=_arrow_schema(pa)
        )
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._temp, table.schema)
        self._parquet.write_table(table)
        self._pending = [[] for _ in COLUMNS]

    def commit(self) -> None:
        """Finish the file, flush it to disk and rename it to the target.

        Raises :class:`CaseloadError` (after removing the temporary file) if that fails, and
        :class:`~povrules.errors.UsageError` for a table already committed or aborted.
        """
        if self._done:
            raise UsageError(f"{self.path}: the table is already committed or aborted")
        try:
            if self._text is not None:
                self._text.flush()
                os.fsync(self._text.fileno())
                self._text.close()
            else:
                self._flush()
                self._parquet.close()
                with open(self._temp, "rb") as done:
                    os.fsync(done.fileno())
            os.replace(self._temp, self.path)
        except OSError as exc:
            self.abort()
            raise self._failure(exc) from None
        self._done = True

    def abort(self) -> None:
        """Drop the temporary file; the target is left as it was. Never raises for the file."""
        if self._done:
            return
        self._done = True
        self._discard()

    def _discard(self) -> None:
        for handle in (self._text, self._parquet):
            if handle is not None:
                # Closing after a failure (a full disk) may fail again; the file goes anyway.
                try:
                    handle.close()
                except Exception:  # noqa: BLE001, S110
                    pass
        try:
            os.unlink(self._temp)
        except OSError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:
            self.abort()
        elif not self._done:
            self.commit()


def _values(row: Row) -> list[Any]:
    if isinstance(row, Mapping):
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise UsageError(f"unknown columns {sorted(unknown)}; a decision table has {', '.join(COLUMNS)}")
        if "id" not in row or "outcome" not in row:
            raise UsageError("a row needs an id and an outcome")
        values = [row.get(c) for c in COLUMNS]
    else:
        values = list(row)
        if len(COLUMNS) - len(_OPTIONAL) <= len(values) < len(COLUMNS):
            values.extend([None] * (len(COLUMNS) - len(values)))
        if len(values) != len(COLUMNS):
            raise UsageError(f"a row has {len(COLUMNS)} values ({', '.join(COLUMNS)}), got {len(values)}")
    for index, column in enumerate(COLUMNS):
        value = values[index]
        if column in _LISTS:
            if value is None:
                values[index] = []
            elif isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{column}: expected a list of strings, got {value!r}")
            else:
                values[index] = list(value)
        elif value is not None and not isinstance(value, str):
            raise UsageError(f"{column}: expected a string, got {value!r}")
        elif value is None and column not in _OPTIONAL:
            raise UsageError(f"{column}: a value is required")
    return values


def _csv_cells(values: list[Any], path: str) -> list[str]:
    cells = []
    for column, value in zip(COLUMNS, values):
        if column in _LISTS:
            for item in value:
                if LIST_SEPARATOR in item:
                    raise CaseloadError(
                        f"{column} item {item!r} of {values[0]} holds {LIST_SEPARATOR!r}, which the CSV "
                        "table puts between items; write Parquet instead",
                        path,
                    )
            cells.append(LIST_SEPARATOR.join(value))
        else:
            cells.append("" if value is None else value)
    return cells


def _arrow_types(pa: Any) -> list[Any]:
    return [pa.list_(pa.string()) if c in _LISTS else pa.string() for c in COLUMNS]


def _arrow_schema(pa: Any) -> Any:
    return pa.schema([pa.field(c, t, nullable=c in _OPTIONAL) for c, t in zip(COLUMNS, _arrow_types(pa))])
