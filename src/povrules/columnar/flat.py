"""The flat layout of a frame: one top-level column per fact path, lists of records by their fields.

The engine's own frame (:mod:`.frame`) nests facts as the models do: a record is a struct, a list of
records a list of structs. Data prepared for vectorised tools is usually flat instead, one column
per fact. In the flat layout:

* a fact inside records is a top-level column named by its dotted path
  (``income.per_capita_net``), holding what the nested frame holds there (amounts as scaled
  integers, dates as ``pl.Date``; a judged fact by its fields, ``x.value``, ``x.by``, …);
* a list of records is given by its fields, each a list column aligned with the others
  (``assets.vehicles.kind``: ``List(String)``, one entry per vehicle); a field of a record inside
  such a list is a list of lists, and so on down;
* a column may also be given nested, by a record's or list's own name (``assets``), and a frame may
  mix both, though not for the same fact;
* only the facts the rules read need be given.

Unknown stays null: a null leaf is an unknown fact, a null list (all its field lists null) an
unknown list; an empty list is known to be empty. A record is unknown where all its given columns
are null, which the row engine cannot tell from a record whose facts are all unknown.

:func:`nested_frame` turns the flat layout into the engine's frame column by column (structs over
the given columns, lists of records over the field lists' shared offsets, no row by row work);
:class:`povrules.columnar.FramePlan` does it itself for a frame with a dotted column name, so the
rules, unchanged, read the flat columns. :func:`flat_frame` is the inverse.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from povrules.columnar.frame import FrameShape, frame_shape
from povrules.errors import PovrulesError

SEPARATOR = "."


def is_flat(frame: pl.DataFrame) -> bool:
    """Whether ``frame`` gives some fact by a dotted path (the flat layout)."""
    return any(SEPARATOR in name for name in frame.columns)


def nested_frame(frame: pl.DataFrame, *, subject: str = "household") -> pl.DataFrame:
    """A frame in the flat layout as the engine's nested frame (a frame without dotted columns is
    returned as it is). Raises :class:`povrules.PovrulesError` naming the column for a name that is
    no fact of the subject, a fact given twice (flat and nested), a column whose type is not the
    fact's, and field lists of one list of records whose lengths or unknown rows differ."""
    if not is_flat(frame):
        return frame
    shape = frame_shape(subject)
    tree = _tree(frame, shape)
    return pl.DataFrame([_nest(given, shape.fields[name], name) for name, given in tree.items()])


def flat_frame(frame: pl.DataFrame, *, subject: str = "household") -> pl.DataFrame:
    """The engine's nested frame (or part of one) in the flat layout: every fact inside records a
    dotted top-level column, every list of records one list column per field.

    Raises :class:`~povrules.PovrulesError` for a column that is not a fact of the subject.
    """
    shape = frame_shape(subject)
    out: list[pl.Series] = []
    for name in frame.columns:
        if name not in shape.fields:
            raise PovrulesError(f"column {name!r}: not a fact of a {subject}")
        out.extend(_flatten(frame[name], shape.fields[name], name))
    return pl.DataFrame(out)


# Flat → nested

Given = pl.Series | dict[str, "Given"]  # a column, or the columns under a record or list, by field


def _tree(frame: pl.DataFrame, shape: FrameShape) -> dict[str, Given]:
    """The frame's columns as a tree of field names, checked against the subject's shape."""
    tree: dict[str, Given] = {}
    for name in frame.columns:
        parts = name.split(SEPARATOR)
        node: dict[str, Given] = tree
        here = shape
        for depth, part in enumerate(parts):
            where = SEPARATOR.join(parts[: depth + 1])
            fields = _fields(here)
            if fields is None or part not in fields:
                raise PovrulesError(f"column {name!r}: {where!r} is not a fact of the subject")
            here = fields[part]
            last = depth == len(parts) - 1
            found = node.get(part)
            if last:
                if found is not None:
                    raise PovrulesError(f"column {name!r}: {where!r} is given twice (nested and by its fields)")
                node[part] = frame[name]
            else:
                if isinstance(found, pl.Series):
                    raise PovrulesError(f"column {name!r}: {where!r} is given twice (nested and by its fields)")
                # Checked just above: a nested part is a dict, not a column.
                node = node.setdefault(part, {})  # type: ignore[assignment]
    return tree


def _fields(shape: FrameShape) -> Mapping[str, FrameShape] | None:
    """The fields under a shape: a record's (or judged fact's), or a list of records' items'."""
    if shape.kind in ("record", "judged"):
        return shape.fields
    if shape.kind == "list" and shape.item is not None and shape.item.kind in ("record", "judged"):
        return shape.item.fields
    return None


def _nest(given: Given, shape: FrameShape, where: str, *, element: bool = False) -> pl.Series:
    """One fact as the nested frame holds it, from its column or its fields' columns."""
    name = where.rsplit(SEPARATOR, 1)[-1]
    if isinstance(given, pl.Series):
        # A record or a list of records given whole may hold only some of its fields.
        if _fields(shape) is None and given.dtype != shape.dtype:
            raise PovrulesError(f"column {where!r}: expected {shape.dtype}, found {given.dtype}")
        return given.alias(name)
    if shape.kind == "list":
        assert shape.item is not None
        return _nest_list(given, shape.item, where).alias(name)
    children = [_nest(g, shape.fields[f], f"{where}{SEPARATOR}{f}") for f, g in given.items()]
    record = pl.DataFrame(children).to_struct(name)
    if element:  # a list's element is never null
        return record
    unknown = pl.all_horizontal([c.is_null() for c in children])
    return pl.select(pl.when(unknown).then(None).otherwise(pl.lit(record))).to_series().alias(name)


def _nest_list(given: dict[str, Given], item: FrameShape, where: str) -> pl.Series:
    """A list of records from its fields' aligned list columns: one struct per element over the
    fields' values, with the lists' shared offsets and unknown rows (Arrow, no copy where the
    field lists already share their offsets)."""
    leaves = {name: _arrow(column) for name, column in _leaves(given, where)}
    (first_name, first), *others = leaves.items()
    unknown = first.is_null()
    for name, array in others:
        if not array.is_null().equals(unknown):
            raise _misaligned(name, first_name)
    if all(array.offsets.equals(first.offsets) and len(array.values) == len(first.values) for _, array in others):
        offsets, values = first.offsets, {name: array.values for name, array in leaves.items()}
    else:
        lengths = pl.Series(pc.list_value_length(first)).fill_null(0)
        for name, array in others:
            if not pl.Series(pc.list_value_length(array)).fill_null(0).equals(lengths):
                raise _misaligned(name, first_name)
        offsets = _arrow(pl.concat([pl.Series([0], dtype=pl.Int64), lengths.cast(pl.Int64).cum_sum()]))
        values = {name: array.flatten() for name, array in leaves.items()}
    items = _nest(_down(given, where, values), item, where, element=True)
    return pl.Series(where, pa.LargeListArray.from_arrays(offsets, _arrow(items), mask=unknown))


def _misaligned(name: str, first: str) -> PovrulesError:
    return PovrulesError(
        f"column {name!r}: its lists are not aligned with {first!r}'s (one entry per element, unknown on the same rows)"
    )


def _arrow(column: pl.Series) -> pa.Array:
    """A column as one Arrow array in polars' own layout (string views: no copy)."""
    return column.to_arrow(compat_level=pl.CompatLevel.newest())


def _down(given: Given, where: str, values: dict[str, pa.Array]) -> Given:
    """The elements' own columns: each field list's values, one level down."""
    if isinstance(given, pl.Series):
        return pl.Series(given.name, values[where])
    return {f: _down(g, f"{where}{SEPARATOR}{f}", values) for f, g in given.items()}


def _leaves(given: Given, where: str) -> list[tuple[str, pl.Series]]:
    if isinstance(given, pl.Series):
        if not isinstance(given.dtype, pl.List):
            raise PovrulesError(
                f"column {where!r}: a field of a list of records must be a list column, found {given.dtype}"
            )
        return [(where, given)]
    return [leaf for f, g in given.items() for leaf in _leaves(g, f"{where}{SEPARATOR}{f}")]


# Nested → flat


def _flatten(column: pl.Series, shape: FrameShape, where: str) -> list[pl.Series]:
    fields = _fields(shape)
    if fields is None:
        return [column.alias(where)]
    # The fields the column holds (a frame may hold only some), in the shape's order.
    record = column.dtype.inner if isinstance(column.dtype, pl.List) else column.dtype
    held = {f.name for f in record.fields} if isinstance(record, pl.Struct) else set()
    fields = {f: s for f, s in fields.items() if f in held}
    if shape.kind in ("record", "judged"):
        return [c for f in fields for c in _flatten(column.struct.field(f), fields[f], f"{where}{SEPARATOR}{f}")]
    array = _arrow(column)
    items, unknown = pl.Series(where, array.values), array.is_null()
    out = []
    for f in fields:
        for inner in _flatten(items.struct.field(f), fields[f], f"{where}{SEPARATOR}{f}"):
            out.append(pl.Series(inner.name, pa.LargeListArray.from_arrays(array.offsets, _arrow(inner), mask=unknown)))
    return out
