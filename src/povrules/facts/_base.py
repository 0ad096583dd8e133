"""Building blocks of the fact models: labelled fields, money, judged facts.

Every fact is optional and ``None`` means *unknown*: the engine treats it as a
missing fact, never as false or zero. An empty list means "known to be none".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

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


def fact(zh: str, en: str, unit: str | None = None, **constraints: Any) -> Any:
    """A fact field: unknown (``None``) by default, labelled in Chinese and English.

    The labels are what explanations and the JSON Schema show; ``unit`` is
    printed after values (e.g. ``元``).
    """
    extra: dict[str, Any] = {"zh": zh}
    if unit:
        extra["unit"] = unit
    return Field(default=None, description=en, json_schema_extra=extra, **constraints)


class FactModel(BaseModel):
    """Base of every fact model: frozen, unknown fields refused, Decimal kept exact."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, validate_default=False)


class Judged(FactModel, Generic[T]):
    """A fact that a person judged (稳定, 大幅, 较大 …), with its provenance.

    Rules read only ``value``; explanations and records keep who judged it,
    when, and on what evidence, because the text gives no number to check it by.
    """

    value: T = Field(description="The judgement.")
    by: str = Field(min_length=1, description="Who judged: name and role (e.g. 村第一书记 王某).")
    on: date = Field(description="When the judgement was made.")
    evidence: tuple[str, ...] = Field(default=(), description="What it rests on: visit records, documents.")
