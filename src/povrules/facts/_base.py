"""Building blocks of the fact models: labelled fields, money, judged facts.

Every fact is optional and ``None`` means *unknown*: the engine treats it as a
missing fact, never as false or zero. An empty list means "known to be none".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

T = TypeVar("T")

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
Money = Annotated[
    Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False), WithJsonSchema(MONEY_SCHEMA)
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


def fact(zh: str, en: str, unit: str | None = None, *, personal: Personal | None = None, **constraints: Any) -> Any:
    """A fact field: unknown (``None``) by default, labelled in Chinese and English.

    The labels are what explanations and the JSON Schema show; ``unit`` is
    printed after values (e.g. ``元``); ``personal`` declares what the field
    holds about a person (see :data:`Personal`).
    """
    return Field(default=None, description=en, json_schema_extra=labels(zh, unit, personal=personal), **constraints)


def labels(zh: str, unit: str | None = None, *, personal: Personal | None = None) -> dict[str, Any]:
    """A field's ``json_schema_extra``: its Chinese label, unit and personal-data kind (for fields that
    :func:`fact` does not make, such as required ones)."""
    if personal is not None and personal not in PERSONAL_KINDS:
        raise ValueError(f"personal: expected one of {', '.join(PERSONAL_KINDS)}, got {personal!r}")
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

    value: T = Field(description="The judgement.")
    by: str = Field(min_length=1, description="Who judged: name and role (e.g. 村第一书记 王某).",
                    json_schema_extra=labels("研判人", personal="identifier"))
    on: date = Field(description="When the judgement was made.")
    evidence: tuple[str, ...] = Field(default=(), description="What it rests on: visit records, documents.",
                                      json_schema_extra=labels("依据", personal="free_text"))
