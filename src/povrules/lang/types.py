"""The types of the expression language, and the fact schema read from the models.

Types are few on purpose: ``bool``, ``int``, ``decimal``, ``str``, ``date``,
enumerations (strings from a closed set), lists, and records (a fact model).
``int`` and ``decimal`` mix freely; a comparison of an enumeration with a
string literal checks the literal against the set.
"""

from __future__ import annotations

import types as pytypes
import typing
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Union

import attrs
from pydantic import BaseModel


@attrs.frozen
class Type:
    """A scalar type: bool, int, decimal, str or date."""

    name: str

    def __str__(self) -> str:
        return self.name


BOOL, INT, DECIMAL, STR, DATE = Type("bool"), Type("int"), Type("decimal"), Type("str"), Type("date")


@attrs.frozen
class EnumType(Type):
    """Strings from a closed set of values."""

    values: tuple[str, ...] = ()
    # Each value's (value, zh, en) title, for an enumeration a ruleset declares (its codes are not a
    # vocabulary of the facts); not part of the type's identity.
    titles: tuple[tuple[str, str, str], ...] = attrs.field(default=(), eq=False)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@attrs.frozen
class ListType(Type):
    item: Type = STR

    def __str__(self) -> str:
        return f"list of {self.item}"


@attrs.frozen
class Field:
    """One fact field: its type, labels, unit, and whether a person judged it."""

    name: str
    type: Type
    zh: str
    en: str
    unit: str | None = None
    judged: bool = False


@attrs.frozen(eq=False)
class RecordType(Type):
    """A fact model seen as a record of named fields."""

    model: type[BaseModel] | None = None
    fields: dict[str, Field] = attrs.Factory(dict)

    def __str__(self) -> str:
        return f"record {self.name}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecordType) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("record", self.name))


def is_number(t: Type | None) -> bool:
    return t in (INT, DECIMAL)


def is_stringy(t: Type | None) -> bool:
    return t == STR or isinstance(t, EnumType)


def compatible(a: Type, b: Type) -> bool:
    """Whether values of the two types can be compared for equality or order."""
    if is_number(a) and is_number(b):
        return True
    if is_stringy(a) and is_stringy(b):
        return True
    if isinstance(a, ListType) and isinstance(b, ListType):
        return compatible(a.item, b.item)
    return a == b


_cache: dict[type, RecordType] = {}


def record_of(model: type[BaseModel]) -> RecordType:
    """The record type of a pydantic fact model (cached; models are immutable classes)."""
    if model in _cache:
        return _cache[model]
    record = RecordType(model.__name__, model=model, fields={})
    _cache[model] = record  # before the fields, so that recursive models terminate
    hints = typing.get_type_hints(model)
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        judged, typ = _type_of(hints[name])
        record.fields[name] = Field(
            name=name,
            type=typ,
            zh=str(extra.get("zh", name)),
            en=info.description or name,
            unit=typing.cast("str | None", extra.get("unit")),
            judged=judged,
        )
    return record


def is_judged(model: type[BaseModel]) -> bool:
    """Whether a fact model is a judged fact: one a person judged, whose ``value`` rules read as of the date
    ``on`` it was judged. The facts say so on the model (``JUDGED = True``, as ``povrules.facts.Judged``
    does), so this layer needs no knowledge of their classes."""
    return getattr(model, "JUDGED", False) is True


def _type_of(annotation: Any) -> tuple[bool, Type]:
    origin = typing.get_origin(annotation)
    if origin in (Union, pytypes.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _type_of(args[0])
        raise TypeError(f"unsupported union {annotation!r}")
    if origin is typing.Annotated:
        return _type_of(typing.get_args(annotation)[0])
    if origin is Literal:
        return False, EnumType("enum", values=tuple(str(v) for v in typing.get_args(annotation)))
    if origin in (tuple, list):
        item_annotation = typing.get_args(annotation)[0]
        return False, ListType("list", item=_type_of(item_annotation)[1])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if is_judged(annotation):
            return True, _type_of(annotation.model_fields["value"].annotation)[1]
        return False, record_of(annotation)
    scalar = {bool: BOOL, int: INT, Decimal: DECIMAL, str: STR, date: DATE}.get(annotation)
    if scalar is None:
        raise TypeError(f"unsupported fact type {annotation!r}")
    return False, scalar


def type_of_value(value: Any) -> Type:
    """The type of a parameter value written in a ruleset."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, Decimal):
        return DECIMAL
    if isinstance(value, date):
        return DATE
    if isinstance(value, str):
        return STR
    if isinstance(value, tuple):
        items = {type_of_value(v) for v in value}
        if len(items) > 1 and not all(is_number(t) for t in items):
            raise TypeError("a list parameter must hold values of one type")
        return ListType("list", item=items.pop() if items else STR)
    raise TypeError(f"unsupported parameter value {value!r}")
