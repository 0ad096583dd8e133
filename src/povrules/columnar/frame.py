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

The frame holds every fact of the schema, so that a row can be turned back into the subject's model
(:func:`facts_of`) for the rows the row engine must decide. It leaves out the facts a ruleset declares
(``local``, whose names the schema does not know): a ruleset that reads them is decided row by row.
"""

from __future__ import annotations

import functools
import itertools
import types as pytypes
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypedDict, Union

import attrs
import polars as pl
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from povrules.errors import ArgumentTypeError, PovrulesError, UnknownName, UnknownSubject, UsageError
from povrules.facts import LOCAL, MIRRORED_CHECKS, SUBJECTS, FactModel, Judged, parse_facts
from povrules.facts.bodies import BODIES

Kind = Literal["bool", "int", "decimal", "str", "date", "record", "list", "judged"]
INT64_DIGITS = 18  # every integer of up to 18 decimal digits fits an Int64
ITEM_BATCH = 8192  # subjects per batch on the item path (CSV, Excel, mapped Parquet)


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

    Raises :class:`~povrules.errors.UnknownSubject` for an unknown subject and :class:`PovrulesError` for a
    fact type the frame cannot hold exactly (a decimal without declared places).
    """
    if subject not in SUBJECTS:
        raise UnknownSubject(subject, SUBJECTS)
    return _record(SUBJECTS[subject][0])


def _record(model: type[BaseModel]) -> FrameShape:
    found = _shapes.get(model)
    if found is not None:
        return found
    hints = typing.get_type_hints(model, include_extras=True)
    fields = {name: _shape(hints[name], f"{model.__name__}.{name}") for name in model.model_fields if name != LOCAL}
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
        fields = {
            name: _shape(info.annotation, f"{where}.{name}", tuple(info.metadata))
            for name, info in annotation.model_fields.items()
        }
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
            raise PovrulesError(
                f"{where}: a decimal needs declared max_digits (at most {INT64_DIGITS}) and "
                "decimal_places to be held exactly in a columnar frame"
            )
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
        changing = [
            (name, _to_row(s) if s.kind == "record" else _make_converter(s)) for name, s in shape.fields.items()
        ]
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


def caseload_frame(
    subjects: Iterable[FactModel | Mapping[str, Any] | str | bytes], *, subject: str = "household"
) -> pl.DataFrame:
    """A frame of the subjects' facts, one row each, in order.

    Each item is a validated model (``Household`` …) or its JSON form (a decoded dict, or the text of
    one JSON object); JSON forms are validated first, as the row engine requires. Raises
    :class:`povrules.FactsError` for facts that fail validation (naming the row), :class:`~povrules.errors.ArgumentTypeError`
    for a model of another subject, and as :func:`frame_shape` does.
    """
    shape = frame_shape(subject)
    model = SUBJECTS[subject][0]
    convert = _to_row(shape)
    rows = []
    for index, item in enumerate(subjects):
        if not isinstance(item, BaseModel):
            item = parse_facts(item if isinstance(item, (str, bytes)) else dict(item), subject, f"row {index}")
        elif not isinstance(item, model):
            raise ArgumentTypeError(f"row {index}: a {type(item).__name__}, not a {model.__name__}")
        rows.append(convert(item.model_dump()))
    schema = {name: s.dtype for name, s in shape.fields.items()}
    # pyarrow reads nested Python values several times faster than polars' own constructor.
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - the columnar extra installs it
        return pl.DataFrame(rows, schema=schema)
    arrow = pa.Table.from_pylist(rows, schema=pl.DataFrame(schema=schema).to_arrow().schema)
    # from_arrow of a Table gives a DataFrame; polars types it as DataFrame or Series.
    return pl.from_arrow(arrow)  # type: ignore[return-value]


def read_frame(
    source: str | Path | Any, *, format: str | None = None, mapping: Any = None, subject: str = "household"
) -> pl.DataFrame:
    """A caseload file (JSON Lines, CSV, Excel, Parquet: see :func:`povrules.caseload.read_caseload`) as a frame.

    The concatenation of :func:`read_frames`' blocks: it holds the whole file, so a caller that can
    work a block at a time should use :func:`read_frames`. Raises as :func:`read_frames` does.
    """
    return pl.concat(list(read_frames(source, format=format, mapping=mapping, subject=subject)), rechunk=False)


BLOCK = 16_384  # subjects per block of read_frames: the frame of a block is about 50 MB for synthetic households


def read_frames(
    source: str | Path | Any,
    *,
    format: str | None = None,
    mapping: Any = None,
    subject: str = "household",
    block: int = BLOCK,
) -> Iterator[pl.DataFrame]:
    """A caseload file (JSON Lines, CSV, Excel, Parquet: see :func:`povrules.caseload.read_caseload`) as
    frames of ``block`` subjects each, in file order (the last may hold fewer; an empty file gives one
    empty frame, so the schema is always there). Memory holds about one block, whatever the file's size.

    JSON Lines, and Parquet without a mapping, are read column-wise (no model per subject; Parquet a
    record batch at a time) and validated as the row path validates: the frames, and the first
    error, are those of validating every item with :func:`povrules.facts.parse_facts`. CSV, Excel and
    mapped Parquet go item by item through the mapping, then models (as does a Parquet file with a
    column type the fast path does not read, such as float amounts or timestamps).

    Raises :class:`~povrules.errors.UsageError` for a block below 1, :class:`povrules.CaseloadError` for an unreadable file
    and :class:`povrules.FactsError` (``source`` the file position, ``file:line`` or ``file:row N``)
    for the first subject whose facts fail validation; the frames before it have been yielded.
    """
    if block < 1:
        raise UsageError(f"block: a block holds at least one subject, not {block}")
    stream = hasattr(source, "read") or str(source) == "-"
    if format is None:
        format = (
            "jsonl"
            if stream
            else {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}.get(
                Path(str(source)).suffix.lower()
            )
        )
    if format == "jsonl" and mapping is None:
        from povrules.caseload import read_jsonl

        pieces = _jsonl_pieces(read_jsonl(source), subject, min(block, JSONL_CHUNK))
    elif format == "parquet" and mapping is None and (found := _parquet_pieces(source, subject, block)) is not None:
        pieces = found
    else:
        pieces = _item_pieces(source, format, mapping, subject, min(block, ITEM_BATCH))
    return _blocks(pieces, block, subject)


def _blocks(pieces: Iterator[Any], block: int, subject: str) -> Iterator[pl.DataFrame]:
    """Arrow tables of at most ``block`` rows each → frames of exactly ``block`` rows (the last fewer)."""
    import pyarrow as pa

    held: list[Any] = []
    rows = 0
    made = False
    for piece in pieces:
        held.append(piece)
        rows += piece.num_rows
        if rows >= block:
            whole = pa.concat_tables(held)
            # from_arrow of a Table gives a DataFrame; polars types it as DataFrame or Series.
            yield pl.from_arrow(whole.slice(0, block))  # type: ignore[misc]
            made = True
            rest = whole.slice(block)
            held, rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
    if held:
        # from_arrow of a Table gives a DataFrame; polars types it as DataFrame or Series.
        yield pl.from_arrow(pa.concat_tables(held))  # type: ignore[misc]
    elif not made:  # an empty file: one empty frame, with the subject's schema
        yield pl.DataFrame(schema={name: s.dtype for name, s in frame_shape(subject).fields.items()})


def _item_pieces(source: Any, format: str | None, mapping: Any, subject: str, size: int) -> Iterator[Any]:
    """The item path: each item through the mapping and its model, ``size`` at a time, as Arrow tables."""
    from povrules.caseload import read_caseload

    items = read_caseload(source, format=format, mapping=mapping, subject=subject)
    while True:  # a batch of models at a time: the row dicts of a whole county need not be held at once
        batch = [parse_facts(item.data, subject, item.where) for item in itertools.islice(items, size)]
        if not batch:
            return
        yield caseload_frame(batch, subject=subject).to_arrow()
        if len(batch) < size:
            return


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


# ---------------------------------------------------------------------------------------------
# Files → frame without a model per subject, validated as the row path validates.
#
# The approach: a strict reader (pyarrow's JSON reader with an explicit schema refuses unknown
# fields and every change of JSON type; Parquet columns are checked against the same schema) gives
# the raw columns; vectorised checks, read from the models' constraints, mark every row that might
# not be exactly what pydantic accepts, with the value the frame would hold. Marked rows, and lines
# the reader refuses, are validated one at a time with pydantic: the first invalid one raises the
# row path's own ``FactsError`` (so the problem texts are pydantic's, word for word); the valid
# ones (a lax form the checks do not reproduce, say ``"+1"`` for an amount) are built through
# their models. So a row is either proved canonical vectorised or decided by the row path itself.


@attrs.frozen
class _Spec:
    """What the fast path checks for one fact: how it is read raw, and the model's constraints."""

    kind: Kind
    raw: Any  # the pyarrow type it is read as (amounts and dates as text)
    required: bool = False
    nullable: bool = True
    default: Any = None  # for a field neither required nor nullable (a judgement's evidence)
    constraints: Mapping[str, Any] = attrs.field(factory=dict)
    allowed: tuple[str, ...] | None = None  # a Literal's values
    opaque: bool = False  # a constraint the checks do not know: every non-null value goes to pydantic
    fields: Mapping[str, _Spec] = attrs.field(factory=dict)
    item: _Spec | None = None
    model: type[BaseModel] | None = None
    validated: tuple[str, ...] = ()  # fields with a custom validator and no vectorised twin
    whole_model_validated: bool = False


class _Common(TypedDict):
    """What a field's spec takes from the field itself, whatever its kind."""

    required: bool
    nullable: bool
    default: Any
    constraints: Mapping[str, Any]
    opaque: bool


# Constraint names the vectorised checks reproduce (from annotated_types and pydantic's metadata).
_KNOWN = {
    "ge",
    "gt",
    "le",
    "lt",
    "min_length",
    "max_length",
    "pattern",
    "max_digits",
    "decimal_places",
    "allow_inf_nan",
    "strict",
}  # strict JSON types: the reader's explicit schema refuses every other type
# Custom field validators with a vectorised twin, by (model, validator name): the twin marks a
# superset of the rows the validator refuses (pydantic then gives the exact text). A validator not
# listed here marks every row where its field is known.
_TWINS: dict[tuple[str, str], Callable[[Mapping[str, pl.Series]], pl.Series]] = {
    ("Income", "_period_in_order"): lambda f: (f["period_end"] < f["period_start"]).fill_null(False),
    ("Household", "_someone"): lambda f: (f["members"].list.len() == 0).fill_null(False),
    # Reads a body's Traditional name as its canonical one: the rows with a name not canonical.
    ("Override", "_canonical_body"): lambda f: (~f["body"].is_in(list(BODIES))).fill_null(False),
    # A parent's or a borrower's index past the last member, or a member named as its own parent.
    ("Household", "_parents_in_household"): lambda f: _parent_index_suspect(f["members"]),
    ("Household", "_borrower_in_household"): lambda f: (
        f["loans"].list.eval(pl.element().struct.field("borrower")).list.max() >= f["members"].list.len()
    ).fill_null(False),
}


def _parent_index_suspect(members: pl.Series) -> pl.Series:
    indices = pl.element().struct.field("parents").list.eval(pl.element().struct.field("member"))
    past_last = members.list.eval(indices.list.max()).list.max() >= members.list.len()
    own = members.list.eval(indices.list.contains(pl.int_range(pl.len()))).list.any()
    return (past_last | own).fill_null(False)


_specs: dict[type[BaseModel], _Spec] = {}


def _constraint_items(item: Any) -> dict[str, Any]:
    import dataclasses

    from pydantic import WithJsonSchema

    if isinstance(item, WithJsonSchema):
        return {}  # documentation only
    if getattr(item, "func", None) in MIRRORED_CHECKS:
        return {}  # strict dates and amounts: the leaf checks pass canonical text only
    if dataclasses.is_dataclass(item):
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    if hasattr(item, "__dict__"):
        return {k: v for k, v in vars(item).items() if v is not None}
    return {"?": item}


def _record_spec(model: type[BaseModel]) -> _Spec:
    found = _specs.get(model)
    if found is not None:
        return found
    fields = {
        name: _field_spec(info.annotation, tuple(info.metadata), info.is_required(), info.default)
        for name, info in model.model_fields.items()
        if name != LOCAL
    }
    decorators = model.__pydantic_decorators__
    validated: list[str] = []
    for name, decorator in decorators.field_validators.items():
        if (model.__name__, name) not in _TWINS:
            validated.extend(decorator.info.fields)
    import pyarrow as pa

    spec = _Spec(
        "record",
        pa.struct([pa.field(n, s.raw) for n, s in fields.items()]),
        fields=fields,
        model=model,
        validated=tuple(validated),
        whole_model_validated=bool(decorators.model_validators),
    )
    _specs[model] = spec
    return spec


def _field_spec(annotation: Any, metadata: tuple[Any, ...], required: bool, default: Any) -> _Spec:
    import pyarrow as pa

    nullable = False
    found: list[Any] = list(metadata)
    while True:  # peel Optional[...] and Annotated[...] layers, gathering constraints
        origin = typing.get_origin(annotation)
        if origin in (Union, pytypes.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            nullable = nullable or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                raise PovrulesError(f"a union the columnar frame cannot hold: {annotation!r}")
            annotation = args[0]
        elif origin is typing.Annotated:
            base, *extra = typing.get_args(annotation)
            for item in extra:
                found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
            annotation = base
        else:
            break
    constraints: dict[str, Any] = {}
    for item in found:
        constraints.update(_constraint_items(item))
    opaque = (
        any(k not in _KNOWN for k, v in constraints.items() if v is not None and v is not False)
        or constraints.get("allow_inf_nan") is True
    )
    common = _Common(
        required=required,
        nullable=nullable,
        default=None if required else default,
        constraints=constraints,
        opaque=opaque,
    )
    origin = typing.get_origin(annotation)
    if origin is Literal:
        allowed = typing.get_args(annotation)
        if not all(isinstance(a, str) for a in allowed):
            return attrs.evolve(_Spec("str", pa.string(), **common), opaque=True)
        return _Spec("str", pa.string(), allowed=tuple(allowed), **common)
    if origin in (tuple, list):
        item = _field_spec(typing.get_args(annotation)[0], (), True, None)
        return _Spec("list", pa.list_(item.raw), item=item, **common)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        record = _record_spec(annotation)
        return attrs.evolve(record, **common)
    kinds: dict[Any, tuple[Kind, Any]] = {
        bool: ("bool", pa.bool_()),
        int: ("int", pa.int64()),
        str: ("str", pa.string()),
        date: ("date", pa.string()),
        Decimal: ("decimal", pa.string()),
    }
    if annotation not in kinds:
        raise PovrulesError(f"fact type {annotation!r} has no columnar form")
    kind, raw = kinds[annotation]
    return _Spec(kind, raw, **common)


def _int_bound(value: Any, scale: int) -> int | None:
    """A bound at the stored scale, or None when it is not a whole number there (then: pydantic)."""
    moved = Decimal(str(value)).scaleb(scale)
    return int(moved) if moved == moved.to_integral_value() else None


def _leaf(spec: _Spec, array: Any) -> tuple[Any, pl.Series]:
    """A raw leaf array → (its frame values, a mask of the values pydantic must look at)."""
    import pyarrow as pa

    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    known = series.is_not_null()
    bad = known & False
    c = spec.constraints
    if spec.opaque:
        bad = known
    if spec.kind == "decimal" and _exact_decimal(array.type, spec):
        # A decimal at no more places than declared: its text (as the row path formats it) is
        # canonical exactly when it is not negative and has at most ``whole`` digits before the point.
        places = int(c.get("decimal_places", 0))
        whole = max(int(c.get("max_digits", INT64_DIGITS)) - places, 1)
        unscaled = series.to_physical()
        canonical = ((unscaled >= 0) & (unscaled < 10 ** (whole + array.type.scale))).fill_null(False)
        bad = bad | (known & ~canonical)
        values = pl.DataFrame({"u": unscaled, "ok": canonical}).select(
            pl.when("ok").then(pl.col("u")).cast(pl.Int64) * 10 ** (places - array.type.scale)
        )["u"]
        bad = bad | _bounds(values, c, places)
    elif spec.kind == "decimal":
        if series.dtype != pl.String:  # a Parquet decimal: its text, as the row path formats it
            text_series = pl.from_arrow(array.cast(pa.string()))
            assert isinstance(text_series, pl.Series)
            series = text_series
        places = int(c.get("decimal_places", 0))
        digits = int(c.get("max_digits", INT64_DIGITS))
        whole = max(digits - places, 1)
        # The canonical form only: no sign, no exponent, no leading zero, at most the declared places.
        # ASCII digits: the regex crate's \d matches any decimal digit (full-width ones too).
        shape = rf"^(0|[1-9][0-9]{{0,{whole - 1}}})" + (rf"(\.[0-9]{{1,{places}}})?$" if places else "$")
        canonical = series.str.contains(shape).fill_null(False)
        bad = bad | (known & ~canonical)
        text = pl.when(canonical).then(series)
        frame = pl.DataFrame({"t": series}).select(text.alias("t"))["t"]
        units = frame.str.extract(r"^(\d+)", 1).cast(pl.Int64, strict=False)
        fraction = frame.str.extract(r"\.(\d+)$", 1).str.pad_end(places, "0").cast(pl.Int64, strict=False).fill_null(0)
        values = units * (10**places) + fraction
        bad = bad | _bounds(values, c, places)
    elif spec.kind == "date":
        if series.dtype == pl.Date:
            values = series
        else:
            canonical = series.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$").fill_null(False)
            values = pl.DataFrame({"t": series}).select(
                pl.when(canonical).then(pl.col("t")).str.to_date("%Y-%m-%d", strict=False)
            )["t"]
            bad = bad | (known & (values.is_null() | (values.dt.year() < 1)).fill_null(True))
    elif spec.kind == "int":
        values = series.cast(pl.Int64)
        bad = bad | _bounds(values, c, 0)
    elif spec.kind == "str":
        values = series.cast(pl.String)
        if spec.allowed is not None:
            bad = bad | (known & ~values.is_in(list(spec.allowed)).fill_null(False))
        if c.get("min_length") is not None:
            bad = bad | (values.str.len_chars() < int(c["min_length"])).fill_null(False)
        if c.get("max_length") is not None:
            bad = bad | (values.str.len_chars() > int(c["max_length"])).fill_null(False)
        if c.get("pattern") is not None:  # pydantic searches, as polars does (both the Rust regex crate)
            bad = bad | (known & ~values.str.contains(str(c["pattern"])).fill_null(False))
    else:
        values = series.cast(pl.Boolean)
    return values.to_arrow(), bad


def _exact_decimal(kind: Any, spec: _Spec) -> bool:
    """Whether a decimal leaf's Arrow type is read from its integers rather than its text."""
    import pyarrow as pa

    return bool(pa.types.is_decimal128(kind) and 0 <= kind.scale <= int(spec.constraints.get("decimal_places", 0)))


def _bounds(values: pl.Series, c: Mapping[str, Any], scale: int) -> pl.Series:
    bad = values.is_not_null() & False
    for name, test in (("ge", values.__lt__), ("gt", values.__le__), ("le", values.__gt__), ("lt", values.__ge__)):
        if c.get(name) is None:
            continue
        bound = _int_bound(c[name], scale)
        if bound is None:
            bad = bad | values.is_not_null()
        else:
            bad = bad | test(bound).fill_null(False)
    return bad


def _walk(spec: _Spec, array: Any, rows: Any, marked: list[Any], *, skip_unknown: bool = True) -> Any:
    """A raw array of one fact → the frame's array; appends the row numbers to look at to ``marked``.

    An array with no known value has nothing to check: it becomes nulls of the frame's type at once
    (most facts of a caseload are unknown, and their checks were most of a batch's cost)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if skip_unknown and array.null_count == len(array):
        return pa.nulls(len(array), _walked_type(spec))
    if array.type == pa.null():
        array = pa.nulls(len(array), spec.raw)
    if spec.opaque and spec.kind in ("record", "list"):
        marked.append(rows.filter(array.is_valid()))
    if spec.kind in ("record", "judged"):
        valid = array.is_valid()
        children = {array.type.field(i).name: child for i, child in enumerate(array.flatten())}
        for name, child in children.items():  # a Parquet column the model lacks: refused where it holds a value
            if name not in spec.fields:
                marked.append(rows.filter(child.is_valid()))
        out = []
        made: dict[str, Any] = {}
        for name, field in spec.fields.items():
            child = children.get(name)
            if child is None:
                child = pa.nulls(len(array), field.raw)
            if field.required:
                marked.append(rows.filter(pc.and_(valid, child.is_null())))
            converted = _walk(field, child, rows, marked)
            if not field.required and not field.nullable:
                # Absent means the model's default (JSON Lines marks an explicit null separately).
                fill = pa.scalar(
                    list(field.default) if isinstance(field.default, tuple) else field.default, converted.type
                )
                converted = pc.if_else(pc.and_(valid, converted.is_null()), fill, converted)
            if name in spec.validated:
                marked.append(rows.filter(converted.is_valid()))
            made[name] = converted
            out.append(converted)
        assert spec.model is not None
        for key in spec.model.__pydantic_decorators__.field_validators:
            twin = _TWINS.get((spec.model.__name__, key))
            if twin is not None:
                # from_arrow of an Array gives a Series; polars types it as DataFrame or Series.
                flags = twin({n: pl.from_arrow(a) for n, a in made.items()})  # type: ignore[misc]
                marked.append(rows.filter(flags.to_arrow()))
        if spec.whole_model_validated:
            marked.append(rows.filter(valid))
        return pa.StructArray.from_arrays(
            out, fields=[pa.field(n, a.type) for n, a in zip(spec.fields, out)], mask=pc.invert(valid)
        )
    if spec.kind == "list":
        assert spec.item is not None
        valid = array.is_valid()
        values = array.flatten()
        inner_rows = rows.take(pc.list_parent_indices(array))
        marked.append(inner_rows.filter(values.is_null()))  # a null element: never valid facts
        converted = _walk(spec.item, values, inner_rows, marked)
        offsets = pc.subtract(array.offsets, array.offsets[0])
        maker = pa.LargeListArray if pa.types.is_large_list(array.type) else pa.ListArray
        return maker.from_arrays(offsets, converted, mask=pc.invert(valid))
    values, bad = _leaf(spec, array)
    marked.append(rows.filter(bad.to_arrow()))
    return values


_walked: dict[int, tuple[_Spec, Any]] = {}


def _walked_type(spec: _Spec) -> Any:
    """The Arrow type :func:`_walk` gives a fact, found once by walking an empty array."""
    import pyarrow as pa

    found = _walked.get(id(spec))
    if found is None:  # the spec is kept beside its type, so that its id is not reused
        empty = _walk(spec, pa.array([], spec.raw), pa.array([], pa.int64()), [], skip_unknown=False)
        found = _walked[id(spec)] = (spec, empty.type)
    return found[1]


# Lines per JSON Lines chunk, parsed by pyarrow in one call: about 70 MB of text for synthetic
# households. Larger chunks save little (8% of the time over 32,768) and hold more text at once.
JSONL_CHUNK = 8192
# A refused chunk is halved until its pieces are this small, then its lines go to pydantic one by one.
_SMALLEST = 16


@functools.cache
def _target_schema(subject: str) -> Any:
    shape = frame_shape(subject)
    return pl.DataFrame(schema={name: s.dtype for name, s in shape.fields.items()}).to_arrow().schema


def _convert_table(table: Any, subject: str) -> tuple[Any, list[int]]:
    """A raw table (columns in the facts' JSON shape) → the frame's table, and the rows to look at."""
    import pyarrow as pa
    import pyarrow.compute as pc

    spec = _record_spec(SUBJECTS[subject][0])
    columns = [table.column(i).combine_chunks() for i in range(table.num_columns)]
    whole = pa.StructArray.from_arrays(columns, names=table.column_names) if columns else pa.nulls(0, spec.raw)
    rows = pa.array(range(table.num_rows), pa.int64())
    marked: list[Any] = []
    converted = _walk(spec, whole, rows, marked)
    flagged = pc.unique(pa.concat_arrays([m.cast(pa.int64()) for m in marked])) if marked else pa.array([], pa.int64())
    out = pa.Table.from_struct_array(converted).cast(_target_schema(subject))
    return out, sorted(flagged.to_pylist())


def _splice(fast: Any, replaced: Mapping[int, FactModel], subject: str) -> Any:
    """The fast table with the given rows replaced by their models' rows (as :func:`caseload_frame` makes them)."""
    import pyarrow as pa

    if not replaced:
        return fast
    order = sorted(replaced)
    slow = caseload_frame([replaced[i] for i in order], subject=subject).to_arrow().cast(fast.schema)
    position = {row: fast.num_rows + k for k, row in enumerate(order)}
    take = pa.array([position.get(i, i) for i in range(fast.num_rows)], pa.int64())
    return pa.concat_tables([fast, slow]).take(take)


def _null_field_names(spec: _Spec, out: set[str]) -> set[str]:
    """Names of fields whose explicit ``null`` pydantic refuses although absence is fine (defaults)."""
    for name, field in spec.fields.items():
        if not field.required and not field.nullable:
            out.add(name)
        if field.kind == "record":
            _null_field_names(field, out)
        elif field.kind == "list" and field.item is not None and field.item.kind == "record":
            _null_field_names(field.item, out)
    return out


def _jsonl_pieces(items: Iterator[Any], subject: str, size: int) -> Iterator[Any]:
    """JSON Lines items (:func:`povrules.caseload.read_jsonl`), ``size`` lines at a time, as validated
    Arrow tables in the frame's schema."""
    import re

    import pyarrow as pa
    import pyarrow.json as pj

    from povrules.errors import CaseloadError

    spec = _record_spec(SUBJECTS[subject][0])
    options = pj.ParseOptions(
        explicit_schema=pa.schema([pa.field(n, s.raw) for n, s in spec.fields.items()]),
        unexpected_field_behavior="error",
    )
    names = sorted(_null_field_names(spec, set()))
    # An explicit null where the model has a default: pyarrow reads it as absent, pydantic refuses it.
    null_default = (
        re.compile(rb'"(' + b"|".join(re.escape(n.encode()) for n in names) + rb')"\s*:\s*null') if names else None
    )
    empty = pa.Table.from_pylist([], schema=options.explicit_schema)

    def parse(lines: list[bytes]) -> list[Any]:
        """Tables in order; a line pyarrow refuses becomes a one-row null table (pydantic decides it)."""
        try:
            table = pj.read_json(
                pa.py_buffer(b"\n".join(lines)), parse_options=options, read_options=pj.ReadOptions(block_size=1 << 26)
            )
            if table.num_rows == len(lines):  # two objects on one line would read as two rows
                return [table]
        except pa.ArrowInvalid:
            pass
        if len(lines) <= _SMALLEST:
            return [None] * len(lines)
        half = len(lines) // 2
        return parse(lines[:half]) + parse(lines[half:])

    def chunk(items: list[Any]) -> Any:
        lines = [item.data for item in items]
        parts = parse(lines)
        refused = [k for k, p in enumerate(parts) if p is None] if any(p is None for p in parts) else []
        tables = [p if p is not None else pa.Table.from_pylist([{}], schema=empty.schema) for p in parts]
        fast, marked = _convert_table(pa.concat_tables(tables) if tables else empty, subject)
        suspect = set(marked) | set(refused)
        if null_default is not None:
            suspect.update(k for k, line in enumerate(lines) if b"null" in line and null_default.search(line))
        # In file order: the first invalid line raises, as on the row path.
        replaced = {k: parse_facts(lines[k], subject, items[k].where) for k in sorted(suspect)}
        return _splice(fast, replaced, subject)

    batch: list[Any] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) == size:
                yield chunk(batch)
                batch = []
    except CaseloadError:
        if batch:  # an invalid line before the unreadable one is reported first, as on the row path
            chunk(batch)
        raise
    if batch:
        yield chunk(batch)


def _parquet_leaf_ok(spec: _Spec, kind: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_null(kind):
        return True
    if spec.kind in ("record", "judged"):
        return pa.types.is_struct(kind) and all(
            _parquet_leaf_ok(spec.fields[kind.field(i).name], kind.field(i).type)
            for i in range(kind.num_fields)
            if kind.field(i).name in spec.fields
        )
    if spec.kind == "list":
        assert spec.item is not None
        return (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and _parquet_leaf_ok(spec.item, kind.value_type)
    # pyarrow has no types of its own: its predicates' results are taken as the booleans they are.
    text = bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))
    if spec.kind == "str":
        return text
    if spec.kind == "decimal":  # decimals are read through their text, as the row path formats them
        return text or bool(pa.types.is_decimal(kind))
    if spec.kind == "date":
        return text or bool(pa.types.is_date32(kind))
    if spec.kind == "int":
        return pa.types.is_signed_integer(kind) or kind in (pa.uint8(), pa.uint16(), pa.uint32())
    return bool(pa.types.is_boolean(kind))


def _parquet_pieces(source: str | Path, subject: str, size: int) -> Iterator[Any] | None:
    """A nested Parquet caseload a record batch of ``size`` rows at a time, as validated Arrow tables;
    None when a column's type is one the fast path does not read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from povrules.caseload import parquet_facts, read_caseload
    from povrules.errors import CaseloadError

    # The row path's own checks of the file and its columns (CaseloadError as it raises them).
    read_caseload(source, format="parquet", subject=subject)
    name = str(source)
    spec = _record_spec(SUBJECTS[subject][0])
    try:
        parquet = pq.ParquetFile(source)
    except Exception as exc:  # noqa: BLE001 - pyarrow's errors are several classes; the row path reports the same way
        raise CaseloadError(f"cannot read it as Parquet ({exc})", name) from None
    if not all(_parquet_leaf_ok(spec.fields[f.name], f.type) for f in parquet.schema_arrow if f.name in spec.fields):
        parquet.close()
        return None

    def pieces() -> Iterator[Any]:
        start = 0
        try:
            batches = parquet.iter_batches(batch_size=size)
            while True:
                try:
                    batch = next(batches, None)
                except (pa.ArrowException, OSError) as exc:
                    raise CaseloadError(f"cannot read it as Parquet ({exc})", name) from None
                if batch is None:
                    return
                table = pa.Table.from_batches([batch])
                fast, marked = _convert_table(table, subject)
                replaced: dict[int, FactModel] = {}
                for k in marked:  # in file order: the first invalid row raises, as on the row path
                    where = f"{name}:row {start + k + 1}"
                    replaced[k] = parse_facts(parquet_facts(table.slice(k, 1).to_pylist()[0], where), subject, where)
                yield _splice(fast, replaced, subject)
                start += table.num_rows
        finally:
            parquet.close()

    return pieces()


def arrow_frame(table: Any, *, subject: str = "household", where: Callable[[int], str] | None = None) -> pl.DataFrame:
    """A pyarrow table (or record batch) of facts in their nested JSON shape — amounts as text or
    decimals, dates as text or dates, unknown facts null — as a frame, validated as the row path
    validates: column-wise, with pydantic only for the rows a column check flags (or every row, when
    a column's type is one the column checks do not read). For Spark's Arrow batches and Arrow data
    already in memory.

    Raises :class:`povrules.FactsError` for the first subject whose facts fail validation, its
    ``source`` given by ``where(row)`` (default ``row N``, counting from 1).
    """
    import pyarrow as pa

    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    name = where if where is not None else (lambda row: f"row {row + 1}")
    spec = _record_spec(SUBJECTS[subject][0])
    if not all(_parquet_leaf_ok(spec.fields[f.name], f.type) for f in table.schema if f.name in spec.fields):
        rows = table.to_pylist()
        return caseload_frame(
            [parse_facts(_present(row), subject, name(i)) for i, row in enumerate(rows)], subject=subject
        )
    known = _known_columns(table, subject)
    if known is not None:
        return _with_unknown(known, table.num_rows, subject)
    fast, marked = _convert_table(table, subject)
    replaced = {i: parse_facts(_present(table.slice(i, 1).to_pylist()[0]), subject, name(i)) for i in marked}
    # from_arrow of a Table gives a DataFrame; polars types it as DataFrame or Series.
    return pl.from_arrow(_splice(fast, replaced, subject))  # type: ignore[return-value]


def _known_columns(table: Any, subject: str) -> dict[str, Any] | None:
    """The frame's columns that hold a known value, by name, as the frame types them; None when a
    check flags a row (then pydantic must look at it, on the general path)."""
    import pyarrow as pa

    spec = _record_spec(SUBJECTS[subject][0])
    n = table.num_rows
    columns = [table.column(i).combine_chunks() for i in range(table.num_columns)]
    whole = pa.StructArray.from_arrays(columns, names=table.column_names) if columns else pa.nulls(n, spec.raw)
    marked: list[Any] = []
    converted = _walk(spec, whole, pl.int_range(n, eager=True, dtype=pl.Int64).to_arrow(), marked)
    if any(len(m) for m in marked):
        return None
    target = _target_schema(subject)
    return {
        name: column.cast(target.field(name).type)
        for name, column in zip(spec.fields, converted.flatten())
        if column.null_count < n
    }


# A frame of unknown facts per subject, sliced for the columns a batch has no value in: polars takes
# longer to build a wide nested column of nulls than to check and convert the known ones. Its rows
# are capped (a household's row of nulls takes about a kilobyte); a longer frame repeats it in chunks.
_unknown: dict[str, pl.DataFrame] = {}
UNKNOWN_ROWS = 16_384


def _with_unknown(known: Mapping[str, Any], n: int, subject: str) -> pl.DataFrame:
    """The frame of ``n`` rows with the ``known`` columns (Arrow arrays, the frame's types) and
    every other fact unknown."""
    import pyarrow as pa

    nulls = _unknown.get(subject)
    if nulls is None:
        empty = pl.from_arrow(_target_schema(subject).empty_table())
        assert isinstance(empty, pl.DataFrame)
        nulls = _unknown[subject] = empty.clear(UNKNOWN_ROWS)
    if n > nulls.height:  # chunks that share the same buffers, not a copy
        nulls = pl.concat([nulls] * -(-n // nulls.height), rechunk=False)
    given = pl.from_arrow(pa.table(dict(known))) if known else pl.DataFrame()
    assert isinstance(given, pl.DataFrame)
    return pl.DataFrame([given[c] if c in known else nulls[c].slice(0, n) for c in nulls.columns])


def _present(value: Any) -> Any:
    """A decoded Arrow row in the facts' JSON form: a field an Arrow struct lacks comes back null, and
    some fields (a judged fact's ``evidence``) may be absent but not null, so nulls are dropped."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_present(v) for v in value]
    return value


# Frame → files: the facts' JSON form (amounts as text with their declared places, dates ISO).


def _json_form(shape: FrameShape, expr: pl.Expr) -> pl.Expr:
    if shape.kind == "decimal":
        if shape.scale == 0:
            return expr.cast(pl.String)
        sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        size = 10**shape.scale
        return pl.concat_str(
            [
                sign,
                (expr.abs() // size).cast(pl.String),
                pl.lit("."),
                (expr.abs() % size).cast(pl.String).str.zfill(shape.scale),
            ]
        )
    if shape.kind == "date":
        return expr.dt.to_string("%Y-%m-%d")
    if shape.kind == "list":
        assert shape.item is not None
        if shape.item.kind in ("bool", "int", "str"):
            return expr
        return expr.list.eval(_json_form(shape.item, pl.element()))
    if shape.kind in ("record", "judged"):
        inner = pl.struct([_json_form(s, expr.struct.field(n)).alias(n) for n, s in shape.fields.items()])
        return pl.when(expr.is_null()).then(None).otherwise(inner)
    return expr


def _field_names(shape: FrameShape, out: set[str]) -> set[str]:
    for name, field in shape.fields.items():
        out.add(name)
        if field.kind in ("record", "judged"):
            _field_names(field, out)
        elif field.kind == "list" and field.item is not None and field.item.kind in ("record", "judged"):
            _field_names(field.item, out)
    return out


def write_frame(
    frame: pl.DataFrame, path: str | Path, *, format: str | None = None, subject: str = "household"
) -> None:
    """Write a frame made by :func:`caseload_frame` or :func:`read_frame` as a caseload file.

    JSON Lines (``.jsonl``): one line per row, the facts' JSON form as
    ``model_dump(mode="json", exclude_none=True)`` gives it (unknown facts absent; amounts as text
    with the field's declared places, so ``"100.00"`` where the facts said ``"100"``). Parquet
    (``.parquet``): the same nested form, unknown facts null. Either reads back with
    :func:`read_frame` to an equal frame. Raises :class:`~povrules.errors.UnknownName` for an unknown format and
    :class:`PovrulesError` for a frame whose schema is not the subject's.
    """
    import re

    shape = frame_shape(subject)
    if format is None:
        format = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}.get(
            Path(path).suffix.lower()
        )
    if format not in ("jsonl", "parquet"):
        raise UnknownName("format", format, ("jsonl", "parquet"))
    expected = {name: s.dtype for name, s in shape.fields.items()}
    if dict(frame.schema) != expected:
        raise PovrulesError(f"the frame's schema is not that of a {subject}'s facts")
    form = frame.select([_json_form(s, pl.col(n)).alias(n) for n, s in shape.fields.items()])
    if format == "parquet":
        form.write_parquet(path)
        return
    names = "|".join(re.escape(n) for n in sorted(_field_names(shape, set())))
    # json_encode writes unknown facts as null; the JSON form leaves them out. A key is always
    # preceded by "{" or ",", which an escaped quote inside a string value never is.
    text = (
        form.select(pl.struct(pl.all()).struct.json_encode().alias("line"))["line"]
        .str.replace_all(rf',"(?:{names})":null', "")
        .str.replace_all(rf'\{{"(?:{names})":null,?', "{")
    )
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for chunk in text.to_frame().iter_slices(65_536):
            out.write("\n".join(chunk["line"].to_list()))
            out.write("\n")
