"""Facts → a polars frame whose schema follows the fact models, and rows back → facts.

The schema is derived from the subject's pydantic models (the same models the JSON Schema of
facts is made from): a record is a ``pl.Struct``, a list a ``pl.List``, a date a ``pl.Date``, a
judged fact a struct ``{value, by, on, evidence}``. An unknown fact is null; an empty list is an
empty list ("known to be none"), as in the facts.

Amounts are kept exact as **scaled integers** (``pl.Int64``): a field declared with
``decimal_places=k`` (money: 2, so fen; per cent: 4) holds ``value × 10^k``. polars' own
``Decimal`` type was not chosen: its products keep the larger operand scale and silently drop
digits, a division by zero gives null, and a value with more places than the column is truncated.
The translator tracks each number's scale and digits itself (see :mod:`.translate`).

The frame holds every fact, so that a row can be turned back into the subject's model
(:func:`facts_of`) for the rows the row engine must decide.
"""

from __future__ import annotations

import types as pytypes
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Union

import attrs
import polars as pl
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from povrules.errors import PovrulesError
from povrules.facts import SUBJECTS, FactModel, Judged, parse_facts

Kind = Literal["bool", "int", "decimal", "str", "date", "record", "list", "judged"]
INT64_DIGITS = 18  # every integer of up to 18 decimal digits fits an Int64


@attrs.frozen
class FrameShape:
    """How one fact (or the subject itself) is stored: its kind, polars type and, for numbers, scale
    (decimal places kept) and digits (the most decimal digits the stored integer can have)."""

    kind: Kind
    dtype: Any  # a polars data type
    scale: int = 0
    digits: int = INT64_DIGITS
    model: type[BaseModel] | None = None  # records and judged facts
    fields: Mapping[str, FrameShape] = attrs.field(factory=dict)  # records and judged facts
    item: FrameShape | None = None  # lists


_shapes: dict[type[BaseModel], FrameShape] = {}


def frame_shape(subject: str = "household") -> FrameShape:
    """The shape of a subject's facts (``household``, ``village``, ``county``): a record.

    Raises ``ValueError`` for an unknown subject and :class:`PovrulesError` for a fact type the
    frame cannot hold exactly (a decimal without declared places).
    """
    if subject not in SUBJECTS:
        raise ValueError(f"unknown subject {subject!r}; subjects: {', '.join(SUBJECTS)}")
    return _record(SUBJECTS[subject][0])


def _record(model: type[BaseModel]) -> FrameShape:
    found = _shapes.get(model)
    if found is not None:
        return found
    hints = typing.get_type_hints(model, include_extras=True)
    fields = {name: _shape(hints[name], f"{model.__name__}.{name}") for name in model.model_fields}
    shape = FrameShape("record", pl.Struct({name: s.dtype for name, s in fields.items()}), model=model, fields=fields)
    _shapes[model] = shape
    return shape


def _shape(annotation: Any, where: str, constraints: tuple[Any, ...] = ()) -> FrameShape:
    origin = typing.get_origin(annotation)
    if origin in (Union, pytypes.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise PovrulesError(f"{where}: a union the columnar frame cannot hold")
        return _shape(args[0], where, constraints)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        found: list[Any] = list(constraints)
        for item in extra:
            found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        return _shape(base, where, tuple(found))
    if origin is Literal:
        return FrameShape("str", pl.String)
    if origin in (tuple, list):
        item = _shape(typing.get_args(annotation)[0], where + "[]")
        return FrameShape("list", pl.List(item.dtype), item=item)
    if isinstance(annotation, type) and issubclass(annotation, Judged):
        # A parametrised generic: its fields' annotations carry the parameter, its hints only ``T``.
        fields = {name: _shape(info.annotation, f"{where}.{name}", tuple(info.metadata))
                  for name, info in annotation.model_fields.items()}
        return FrameShape("judged", pl.Struct({n: s.dtype for n, s in fields.items()}), model=annotation, fields=fields)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _record(annotation)
    if annotation is bool:
        return FrameShape("bool", pl.Boolean)
    if annotation is int:
        bound = _bound(constraints)
        return FrameShape("int", pl.Int64, digits=len(str(bound)) if bound is not None else INT64_DIGITS)
    if annotation is str:
        return FrameShape("str", pl.String)
    if annotation is date:
        return FrameShape("date", pl.Date)
    if annotation is Decimal:
        places = next((c.decimal_places for c in constraints if getattr(c, "decimal_places", None) is not None), None)
        digits = next((c.max_digits for c in constraints if getattr(c, "max_digits", None) is not None), None)
        if places is None or digits is None or digits > INT64_DIGITS:
            raise PovrulesError(f"{where}: a decimal needs declared max_digits (at most {INT64_DIGITS}) and "
                                "decimal_places to be held exactly in a columnar frame")
        return FrameShape("decimal", pl.Int64, scale=places, digits=digits)
    raise PovrulesError(f"{where}: fact type {annotation!r} has no columnar form")


def _bound(constraints: tuple[Any, ...]) -> int | None:
    """The largest magnitude an int fact may take, when both its bounds are declared."""
    low = next((c.ge for c in constraints if getattr(c, "ge", None) is not None), None)
    high = next((c.le for c in constraints if getattr(c, "le", None) is not None), None)
    if low is None or high is None:
        return None
    return max(abs(int(low)), abs(int(high)))


# Facts → rows. A converter per shape, made once: only decimals (to scaled integers) change.

Convert = Callable[[Any], Any]
_converters: dict[int, Convert] = {}


def _to_row(shape: FrameShape) -> Convert:
    found = _converters.get(id(shape))
    if found is not None:
        return found
    made = _make_converter(shape)
    _converters[id(shape)] = made
    return made


def _make_converter(shape: FrameShape) -> Convert:
    if shape.kind == "decimal":
        scale = shape.scale

        def scaled(value: Any) -> Any:
            if value is None:
                return None
            moved = value.scaleb(scale)
            whole = int(moved)
            if whole != moved:  # pydantic enforced the places already; this guards a stray model
                raise PovrulesError(f"{value} has more than {scale} decimal places")
            return whole

        return scaled
    if shape.kind == "list":
        assert shape.item is not None
        inner = _make_converter(shape.item)
        if inner is _same:
            return _same
        return lambda value: None if value is None else [inner(v) for v in value]
    if shape.kind in ("record", "judged"):
        changing = [(name, _to_row(s) if s.kind == "record" else _make_converter(s)) for name, s in shape.fields.items()]
        changing = [(name, fn) for name, fn in changing if fn is not _same]
        if not changing:
            return _same

        def record(value: Any) -> Any:
            if value is None:
                return None
            for name, fn in changing:
                value[name] = fn(value[name])
            return value

        return record
    return _same


def _same(value: Any) -> Any:
    return value


def caseload_frame(subjects: Iterable[FactModel | Mapping[str, Any] | str | bytes], *,
                   subject: str = "household") -> pl.DataFrame:
    """A frame of the subjects' facts, one row each, in order.

    Each item is a validated model (``Household`` …) or its JSON form (a decoded dict, or the text of
    one JSON object); JSON forms are validated first, as the row engine requires. Raises
    :class:`povrules.FactsError` for facts that fail validation (naming the row), ``TypeError`` for a
    model of another subject, and as :func:`frame_shape` does.
    """
    shape = frame_shape(subject)
    model = SUBJECTS[subject][0]
    convert = _to_row(shape)
    rows = []
    for index, item in enumerate(subjects):
        if not isinstance(item, BaseModel):
            item = parse_facts(item if isinstance(item, (str, bytes)) else dict(item), subject, f"row {index}")
        elif not isinstance(item, model):
            raise TypeError(f"row {index}: a {type(item).__name__}, not a {model.__name__}")
        rows.append(convert(item.model_dump()))
    schema = {name: s.dtype for name, s in shape.fields.items()}
    # pyarrow reads nested Python values several times faster than polars' own constructor.
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - the columnar extra installs it
        return pl.DataFrame(rows, schema=schema)
    arrow = pa.Table.from_pylist(rows, schema=pl.DataFrame(schema=schema).to_arrow().schema)
    return pl.from_arrow(arrow)  # type: ignore[return-value]


def read_frame(source: str | Path, *, format: str | None = None, mapping: Any = None,
               subject: str = "household") -> pl.DataFrame:
    """A caseload file (JSON Lines, CSV, Excel, Parquet: see :func:`povrules.caseload.read_caseload`) as a frame.

    Raises :class:`povrules.CaseloadError` for an unreadable file and :class:`povrules.FactsError`
    (naming the file position) for facts that fail validation.
    """
    from povrules.caseload import read_caseload

    def validated() -> Iterable[FactModel]:
        for item in read_caseload(source, format=format, mapping=mapping, subject=subject):
            yield parse_facts(item.data, subject, item.where)

    return caseload_frame(validated(), subject=subject)


# Rows → facts, for the rows the row engine decides.


def _from_row(shape: FrameShape, value: Any) -> Any:
    if value is None:
        return None
    if shape.kind == "decimal":
        return Decimal(value).scaleb(-shape.scale)
    if shape.kind == "list":
        assert shape.item is not None
        return [_from_row(shape.item, v) for v in value]
    if shape.kind in ("record", "judged"):
        return {name: _from_row(s, value[name]) for name, s in shape.fields.items() if value[name] is not None}
    return value


def facts_of(frame: pl.DataFrame, rows: Sequence[int], *, subject: str = "household") -> list[FactModel]:
    """The subject's models of the given rows of a frame made by :func:`caseload_frame`.

    Unknown facts come back unset. Raises :class:`povrules.FactsError` if a row is not valid facts
    (a frame edited by hand) and ``IndexError`` for a row out of range.
    """
    shape = frame_shape(subject)
    rows = list(rows)
    picked = frame[rows].to_dicts() if rows else []  # one gather, rather than a lookup per row
    return [parse_facts(_from_row(shape, data), subject, f"row {index}") for index, data in zip(rows, picked)]
