"""Building blocks of the fact models: labelled fields, money, judged facts.

Every fact is optional and ``None`` means *unknown*: the engine treats it as a
missing fact, never as false or zero. An empty list means "known to be none" (but a household
has at least one member). Facts are strict: a JSON value is never converted to another type.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from povrules.errors import DateError, UsageError

T = TypeVar("T")

# Strict facts. A fact's JSON value is taken as what it is, never converted: ``true`` is not an
# age, ``"58"`` is not a number, ``"false"`` is not a boolean, ``0`` is not a date. pydantic's lax
# mode would accept all of these (and full-width digits in text), so every scalar fact type below
# is strict. The checks behave alike for JSON text and for decoded JSON (dicts and lists), so that
# a caseload's mapping path, which builds JSON values from cells, is held to the same rules.
Flag = Annotated[bool, Strict()]
Whole = Annotated[int, Strict()]
Text = Annotated[str, Strict()]

# Text printed on a line of its own in explanations (ids, names, who judged): a control character
# (a newline, a carriage return, an escape) could forge or hide a line, so it is refused. The
# pattern is a constraint the JSON Schema states and the columnar readers check column-wise.
SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
Label = Annotated[str, Strict(), Field(pattern=SINGLE_LINE)]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: str) -> date:
    """A date from text of the form YYYY-MM-DD (ASCII digits), the one form facts, records and the
    command line take. ``date.fromisoformat`` alone would also take ``20160630`` and ``2016-W26-4``.

    Raises :class:`~povrules.errors.DateError` (a ``ValueError``) for any other text, or a day the
    calendar lacks.
    """
    if not isinstance(text, str) or not _ISO_DATE.fullmatch(text):
        raise DateError(f"expected a date as YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise DateError(f"{text!r} is no day of the calendar ({exc})") from None


def strict_date(value: Any) -> Any:
    """Let through a date, or text of the form YYYY-MM-DD in ASCII digits; refuse anything else.

    Refused: numbers (lax mode reads ``0`` as 1970-01-01), date-times, week and ordinal dates,
    text with a time, full-width digits. A day the calendar lacks (2016-02-30) is refused after it.
    """
    if value.__class__ is str and _ISO_DATE.fullmatch(value):
        return value  # pydantic's own date parsing then checks the calendar, in Rust
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise PydanticCustomError("date_text", "a date as YYYY-MM-DD text")


Day = Annotated[
    date,
    BeforeValidator(strict_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
]

# An amount as text: ASCII digits, at most one point, and an optional sign (which the bounds then
# check, so that "-5" is refused as below zero). No exponent ("1E+3"), full-width digits or spaces.
_AMOUNT_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def strict_amount(value: Any) -> Any:
    """Let through a JSON number or a Decimal, or decimal text in ASCII digits; refuse the rest.

    Refused: booleans, text with an exponent, full-width digits or spaces.
    """
    if isinstance(value, bool):
        raise PydanticCustomError("amount_type", "a number, or decimal text such as 1234.5")
    if isinstance(value, str) and not _AMOUNT_TEXT.fullmatch(value):
        raise PydanticCustomError("amount_text", "a number, or decimal text such as 1234.5 (ASCII digits, no exponent)")
    return value


_FEN = Decimal("0.01")
_TEN_THOUSANDTH = Decimal("0.0001")


def _fixed(value: Decimal, unit: Decimal) -> Decimal:
    # Exact: the type's bounds already limit the places; copy_abs turns -0.00 into 0.00.
    value = value.quantize(unit)
    return value.copy_abs() if value.is_zero() else value


def canonical_money(value: Decimal) -> Decimal:
    """The one form of an amount of money: yuan to the fen, two places, no exponent, no negative zero.

    ``1000``, ``"1000.0"``, ``1E+3`` and ``"+1000"`` are one amount, so they are one fact:
    ``"1000.00"`` in records, one facts digest. Facts that already gave amounts to the fen (as the
    synthetic caseloads do) keep their digests.
    """
    return _fixed(value, _FEN)


def canonical_percent(value: Decimal) -> Decimal:
    """The one form of a percentage: four places (the type's), no exponent, no negative zero."""
    return _fixed(value, _TEN_THOUSANDTH)


# The validators a columnar reader may take as mirrored by its own leaf checks (canonical dates and
# amounts as text, JSON types held by the reader's schema); any other validator sends values to pydantic.
MIRRORED_CHECKS: tuple[Any, ...] = (strict_date, strict_amount, canonical_money, canonical_percent)

# Yuan, exact. Negative amounts are refused: the seeds define no negative income or
# expenditure, and a negative figure in a household file is a data-entry error.
# The JSON Schema states the same bounds for amounts sent as text (exact decimals often
# travel as strings); pydantic's own schema would accept any string there.
MONEY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 999999999999.99},
        {"type": "string", "pattern": r"^\+?\d{1,12}(\.\d{1,2})?$"},
    ]
}
# The bounds come first, so that pydantic checks them in its core rather than in Python.
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    BeforeValidator(strict_amount),
    AfterValidator(canonical_money),
    WithJsonSchema(MONEY_SCHEMA),
]


# A rate in per cent (年利率 4.35 is 4.35 %), as a contract or a benchmark states it: from 0 to 100, four places.
Rate = Annotated[
    Decimal,
    Field(ge=0, le=100, max_digits=7, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(strict_amount),
    AfterValidator(canonical_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 100},
                {"type": "string", "pattern": r"^\+?(100(\.0{1,4})?|\d{1,2}(\.\d{1,4})?)$"},
            ]
        }
    ),
]

# What a field holds about a person, declared where the field is (``personal=`` of :func:`fact`):
#
# * ``identifier``: a value that names or points at a person or a household: a name, an ID number, an id,
#   a village or jurisdiction (a place small enough to narrow a household down), a project's name;
# * ``free_text``: text a person wrote (a note, minutes, evidence): anything may be in it;
# * ``rule_reference``: the id of a rule (an override's ``rule``): public when it names a rule of the
#   ruleset, and otherwise text that nothing reads, which may hold anything.
#
# Redaction (``povrules.audit.redact_facts``) replaces every such value by a keyed hash; rules do not read
# them (a redacted record must replay to the same decision).
Personal = Literal["identifier", "free_text", "rule_reference"]
PERSONAL_KINDS: tuple[str, ...] = get_args(Personal)


def fact(
    zh: str,
    en: str,
    unit: str | None = None,
    schema: dict[str, Any] | None = None,
    *,
    personal: Personal | None = None,
    **constraints: Any,
) -> Any:
    """A fact field: unknown (``None``) by default, labelled in Chinese and English.

    The labels are what explanations and the JSON Schema show; ``unit`` is
    printed after values (e.g. ``元``); ``personal`` declares what the field
    holds about a person (see :data:`Personal`). ``schema`` adds keywords to the field's JSON Schema,
    for a check a validator makes that pydantic cannot state itself.
    """
    extra = {**labels(zh, unit, personal=personal), **(schema or {})}
    return Field(default=None, description=en, json_schema_extra=extra, **constraints)


def labels(zh: str, unit: str | None = None, *, personal: Personal | None = None) -> dict[str, Any]:
    """A field's ``json_schema_extra``: its Chinese label, unit and personal-data kind (for fields that
    :func:`fact` does not make, such as required ones)."""
    if personal is not None and personal not in PERSONAL_KINDS:
        raise UsageError(f"personal: expected one of {', '.join(PERSONAL_KINDS)}, got {personal!r}")
    extra: dict[str, Any] = {"zh": zh}
    if unit:
        extra["unit"] = unit
    if personal:
        extra["personal"] = personal
    return extra


@cache
def personal_fields(model: type[BaseModel]) -> dict[str, Personal]:
    """The fields of a fact model that hold personal data, by name, with their kind (its own fields only,
    not those of the models it holds)."""
    out: dict[str, Personal] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("personal"):
            # labels() and fact() write only a checked kind of Personal here; pydantic types the extra as JSON.
            out[name] = extra["personal"]  # type: ignore[assignment]
    return out


class FactModel(BaseModel):
    """Base of every fact model: frozen, unknown fields refused, Decimal kept exact."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, validate_default=False)


class Judged(FactModel, Generic[T]):
    """A fact that a person judged (稳定, 大幅, 较大 …), with its provenance.

    Rules read only ``value``; explanations and records keep who judged it,
    when, and on what evidence, because the text gives no number to check it by.
    """

    # What tells the expression language (povrules.lang.types, a layer above) that a model is a judged fact,
    # whose ``value`` rules read as of ``on``: it asks the model rather than import this class.
    JUDGED: ClassVar[bool] = True

    # Strict as a whole, the value included (``Judged[bool]`` takes only true or false); the
    # evidence list alone is lax, so that decoded JSON (a list) is accepted as JSON text is.
    model_config = ConfigDict(strict=True)

    value: T = Field(description="The judgement.")
    by: Label = Field(
        min_length=1,
        description="Who judged: name and role (e.g. 村第一书记 王某).",
        json_schema_extra=labels("研判人", personal="identifier"),
    )
    on: Day = Field(strict=False, description="When the judgement was made.")  # Day is strict itself
    evidence: tuple[Text, ...] = Field(
        default=(),
        strict=False,
        description="What it rests on: visit records, documents.",
        json_schema_extra=labels("依据", personal="free_text"),
    )


def _local_value(value: Any) -> Any:
    """A value of a fact a ruleset declares, as JSON gave it: a scalar. A number that is not whole is kept
    exact as a Decimal (what JSON text wrote, to the 15 digits a JSON number carries); the ruleset that
    declares the fact checks its type when it evaluates."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, date) and not isinstance(value, datetime):  # given in Python, not JSON
        return value
    raise PydanticCustomError("local_value", "true, false, a number, text or null (one value per fact)")


LOCAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": ["boolean", "number", "string", "null"]},
}


class Local(FactModel):
    """Facts a ruleset declares (its ``facts:`` section) for this household, member or item, by name.

    The schema of the library does not know them: any name is taken here, each with one JSON value
    (true, false, a number, text or null). A ruleset that declares facts checks them when it evaluates:
    an undeclared name, or a value not of the declared type, is refused then, naming the path
    (``members[1].local.heroic_act_family``). Rules read them as ``hh.local.x``, ``m.local.x``.
    """

    model_config = ConfigDict(extra="allow", json_schema_extra=LOCAL_SCHEMA)

    @model_validator(mode="before")
    @classmethod
    def _scalars(cls, data: Any) -> Any:
        # Each value is checked here so that a problem names its own key (members[0].local.x), which
        # a validator of the extra values as a whole would not.
        if not isinstance(data, dict):
            return data
        problems = []
        out = {}
        for key, value in data.items():
            try:
                out[key] = _local_value(value)
            except PydanticCustomError:
                problems.append(key)
        if problems:
            raise PydanticCustomError(
                "local_value",
                "true, false, a number, text or null (one value per fact)",
                {"within": [problems[0]], "given": data[problems[0]]},
            )
        return out
