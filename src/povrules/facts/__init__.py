"""Facts: the models of each subject (household, village, county), reading them from JSON, their JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from povrules.errors import FactProblem, FactsError
from povrules.facts._base import PERSONAL_KINDS, FactModel, Judged, Personal, personal_fields
from povrules.facts.household import (
    Assessments,
    Assets,
    Disaster,
    Enterprise,
    Expenditure,
    FiveLooks,
    Guarantees,
    Household,
    Income,
    Look,
    Member,
    Monitoring,
    Override,
    ProjectBenefit,
    Property,
    Registration,
    Vehicle,
)
from povrules.facts.places import County, Village, VillageIncome

# Each subject a ruleset can decide about: its model, and the name conditions call it by.
SUBJECTS: dict[str, tuple[type[FactModel], str]] = {
    "household": (Household, "hh"),
    "village": (Village, "village"),
    "county": (County, "county"),
}

__all__ = [
    "Assessments", "Assets", "Disaster", "Enterprise", "Expenditure", "FactModel", "FiveLooks",
    "Guarantees", "Household", "Income", "Judged", "Look", "Member", "Monitoring", "Override",
    "ProjectBenefit", "Property", "Registration", "Vehicle", "County", "Village", "VillageIncome", "SUBJECTS",
    "facts_schema", "household_schema", "parse_facts", "parse_household", "PERSONAL_KINDS", "Personal",
    "personal_fields",
]


def _path(loc: tuple[int | str, ...], whole: str) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("Judged", "function-")):
            continue  # pydantic's internal step names, not part of the user's path
        else:
            out += f".{part}" if out else part
    return out or whole


def _given(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_EXPECTED = {
    "extra_forbidden": "no such field (unknown fields are refused)",
    "missing": "a value (the field is required)",
    # The same words whether the facts came as JSON text or decoded, and none of Python's
    # ("a valid dictionary or instance of Income", "a valid tuple").
    "model_type": "an object",
    "tuple_type": "a list",
}


def problems_of(error: ValidationError, subject: str = "household") -> list[FactProblem]:
    """Turn a pydantic error into problems that name the field path."""
    problems = []
    for item in error.errors(include_url=False):
        kind = item["type"]
        if kind == "json_invalid":
            problems.append(FactProblem("(json)", "well-formed JSON", item["msg"].removeprefix("Invalid JSON: ")))
            continue
        message = item["msg"]
        message = message[len("Input should be "):] if message.startswith("Input should be ") else message
        expected = _EXPECTED.get(kind) or message[0].lower() + message[1:]
        given = None if kind == "missing" else _given(item.get("input"))
        problems.append(FactProblem(_path(item["loc"], f"({subject})"), expected, given))
    return problems


def parse_facts(data: str | bytes | dict[str, Any], subject: str = "household", source: str | None = None) -> FactModel:
    """Validate the facts of a subject (``household``, ``village``, ``county``) from JSON text or a decoded object.

    Raises :class:`FactsError` naming every bad field; facts that fail
    validation are never evaluated.
    """
    try:
        model = SUBJECTS[subject][0]
    except KeyError:
        raise ValueError(f"unknown subject {subject!r}; subjects: {', '.join(SUBJECTS)}") from None
    try:
        if isinstance(data, (str, bytes, bytearray)):
            return model.model_validate_json(data)
        return model.model_validate(data)  # decoded JSON: anything but an object is refused by the model
    except ValidationError as exc:
        raise FactsError(problems_of(exc, subject), source) from None


def parse_household(data: str | bytes | dict[str, Any], source: str | None = None) -> Household:
    """Validate household facts from JSON text or a decoded object (see :func:`parse_facts`)."""
    return parse_facts(data, "household", source)  # type: ignore[return-value]


def facts_schema(subject: str = "household") -> dict[str, Any]:
    """The JSON Schema of a subject's facts, for app developers."""
    schema = SUBJECTS[subject][0].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"povrules.{subject}.v1"
    return schema


def household_schema() -> dict[str, Any]:
    """The JSON Schema of household facts."""
    return facts_schema("household")
