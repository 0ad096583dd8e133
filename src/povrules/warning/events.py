"""Department events: what the departments' feeds report about a household, one record at a time.

An event names the household, the department that reports it, the day it happened, its kind and its
amounts in exact yuan. The readers stream JSON Lines and CSV (one line held at a time) and stop at the
first bad line with ``file:line`` (and, in CSV, the column) and what was expected. :func:`to_message`
turns an event into what durable-rules takes: amounts in fen as integers, days as ordinals, text codes.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from povrules.caseload import read_jsonl
from povrules.errors import CaseloadError, UnknownName
from povrules.facts import SINGLE_LINE, FactModel

Department = Literal[
    "rural_revitalization",
    "civil_affairs",
    "education",
    "health",
    "medical_security",
    "housing",
    "water",
    "agriculture",
    "human_resources",
    "emergency",
    "disabled_persons",
]

# The departments 方案2 names (seed 003, line 112), in its order, with their titles.
DEPARTMENTS: dict[str, dict[str, str]] = {
    "rural_revitalization": {"zh": "扶贫（乡村振兴）部门", "en": "poverty alleviation (rural revitalisation)"},
    "civil_affairs": {"zh": "民政部门", "en": "civil affairs"},
    "education": {"zh": "教育部门", "en": "education"},
    "health": {"zh": "卫生健康部门", "en": "health"},
    "medical_security": {"zh": "医疗保障部门", "en": "medical security"},
    "housing": {"zh": "住房城乡建设部门", "en": "housing and urban-rural development"},
    "water": {"zh": "水利部门", "en": "water resources"},
    "agriculture": {"zh": "农业农村部门", "en": "agriculture and rural affairs"},
    "human_resources": {"zh": "人力资源社会保障部门", "en": "human resources and social security"},
    "emergency": {"zh": "应急管理部门", "en": "emergency management"},
    "disabled_persons": {"zh": "残疾人联合会", "en": "disabled persons' federation"},
}

EventKind = Literal[
    "income_record",
    "medical_expense",
    "dibao_change",
    "assistance_change",
    "disability_certificate",
    "disaster_report",
    "employment_change",
    "school_enrolment",
    "housing_appraisal",
]

# What each kind's ``amount`` (and ``previous_amount``) is, in yuan.
EVENT_KINDS: dict[str, dict[str, str]] = {
    "income_record": {
        "zh": "家庭年收入记录（amount：全年纯收入）",
        "en": "household income recorded (amount: the year's net income)",
    },
    "medical_expense": {
        "zh": "医疗费用结算（amount：个人自付）",
        "en": "medical reimbursement (amount: out of pocket)",
    },
    "dibao_change": {"zh": "低保变动（amount：新月保障金）", "en": "dibao change (amount: new monthly payment)"},
    "assistance_change": {"zh": "救助变动（amount：救助金额）", "en": "assistance change (amount: assistance paid)"},
    "disability_certificate": {"zh": "残疾证办理", "en": "disability certificate issued"},
    "disaster_report": {"zh": "灾情报告（amount：损失）", "en": "disaster report (amount: loss)"},
    "employment_change": {
        "zh": "就业与工资变动（amount：新年收入，previous_amount：原年收入）",
        "en": "employment or wage change (amount: new yearly wage, previous_amount: the former)",
    },
    "school_enrolment": {"zh": "入学登记（amount：应缴费用）", "en": "school enrolment (amount: fees due)"},
    "housing_appraisal": {"zh": "住房安全鉴定（grade：鉴定等级）", "en": "housing safety appraisal (grade: the grade)"},
}

_AMOUNT_TEXT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FEN = Decimal("0.01")


def _amount_in(value: Any) -> Any:
    # A JSON number or decimal text in ASCII digits; never a boolean (lax mode would read true as 1).
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal, float)):
        raise PydanticCustomError("amount_type", "an amount in yuan: a number, or decimal text such as 1234.5")
    if isinstance(value, str) and not _AMOUNT_TEXT.fullmatch(value):
        raise PydanticCustomError("amount_text", "an amount in yuan such as 1234.5 (ASCII digits, at most 2 places)")
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _to_fen_places(value: Decimal) -> Decimal:
    return value.quantize(_FEN)


def _day_in(value: Any) -> Any:
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, date):
        return value
    raise PydanticCustomError("date_text", "a date as YYYY-MM-DD text")


Yuan = Annotated[
    Decimal,
    BeforeValidator(_amount_in),
    Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_to_fen_places),
]
Day = Annotated[date, BeforeValidator(_day_in)]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class DepartmentEvent(FactModel):
    """One department record about one household."""

    household: Code = Field(description="the household's id (户编号)")
    township: Annotated[str, Field(pattern=SINGLE_LINE, min_length=1, max_length=64)] | None = Field(
        default=None, description="the township (乡镇) the household belongs to, by name or code"
    )
    department: Department = Field(description="the reporting department")
    date: Day = Field(description="the day the event happened (not the day it was reported)")
    kind: EventKind = Field(description="what happened")
    amount: Yuan | None = Field(default=None, description="the kind's amount, yuan (see EVENT_KINDS)")
    previous_amount: Yuan | None = Field(default=None, description="for a change: the amount before, yuan")
    grade: Annotated[str, Field(pattern=SINGLE_LINE, max_length=32)] | None = Field(
        default=None, description="a housing appraisal's grade, a disability's grade"
    )
    reference: Annotated[str, Field(pattern=SINGLE_LINE, max_length=128)] | None = Field(
        default=None, description="the department's own record number"
    )


FIELDS = tuple(DepartmentEvent.model_fields)


def fen(amount: Decimal) -> int:
    """Yuan (to the fen) as a whole number of fen: durable-rules takes no Decimal."""
    return int(amount.scaleb(2).to_integral_exact())


def to_message(event: DepartmentEvent) -> dict[str, Any]:
    """The event as durable-rules takes it: ``day`` an ordinal, amounts in fen (absent amounts left out)."""
    message: dict[str, Any] = {
        "hh": event.household,
        "dept": event.department,
        "kind": event.kind,
        "day": event.date.toordinal(),
    }
    if event.amount is not None:
        message["amount"] = fen(event.amount)
    if event.previous_amount is not None:
        message["previous"] = fen(event.previous_amount)
    return message


def _problem(error: ValidationError) -> tuple[str, str]:
    """(field, what was expected) of the first problem of a validation error."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "(the line)"
    if first["type"] == "extra_forbidden":
        return field, f"no such field (fields: {', '.join(FIELDS)})"
    if first["type"] == "missing":
        return field, "a value (the field is required)"
    if first["type"] == "string_pattern_mismatch":
        if field == "household":
            return field, "an identifier: an ASCII letter or digit, then letters, digits, _ . : - (64 at most)"
        return field, "text on one line (no control characters)"
    if first["type"] == "literal_error":
        return field, f"one of {first.get('ctx', {}).get('expected', '')}, got {first['input']!r}"
    message = str(first["msg"])
    return field, message.removeprefix("Input should be ").removeprefix("Value error, ")


def parse_event(data: str | bytes, where: str | None = None) -> DepartmentEvent:
    """One event from its JSON text. Raises :class:`CaseloadError` naming ``where`` and the field."""
    try:
        return DepartmentEvent.model_validate_json(data)
    except ValidationError as exc:
        field, expected = _problem(exc)
        raise CaseloadError(f"{field}: expected {expected}", where) from None


def read_events(source: str | os.PathLike[str], *, format: str | None = None) -> Iterator[DepartmentEvent]:
    """The events of a JSON Lines or CSV file, one at a time, in file order.

    CSV takes a header row of :data:`FIELDS` names (``household``, ``department``, ``date`` and ``kind``
    required); an empty cell is an absent value. Raises :class:`CaseloadError` at the first bad line
    (``file:line``, or ``file:line:column`` for a CSV cell) and :class:`~povrules.errors.UnknownName` for
    a format other than ``jsonl`` or ``csv``.
    """
    if format is None:
        suffix = Path(source).suffix.lower()
        format = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}.get(suffix)
        if format is None:
            raise CaseloadError("cannot tell the format from the extension; name it (jsonl, csv)", str(source))
    if format == "jsonl":
        return (parse_event(cast(bytes, item.data), item.where) for item in read_jsonl(source))  # JSON Lines: bytes
    if format == "csv":
        return _read_csv(source)
    raise UnknownName("format", format, ("jsonl", "csv"))


def _read_csv(source: str | os.PathLike[str]) -> Iterator[DepartmentEvent]:
    name = str(source)
    try:
        stream = open(source, encoding="utf-8", newline="")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise CaseloadError(f"cannot read the file: {exc.strerror}", name) from None
    with stream:
        reader = csv.reader(stream)
        try:
            header = next(reader)
        except StopIteration:
            raise CaseloadError("the file is empty: expected a header row of field names", f"{name}:1") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CaseloadError(f"not valid CSV in UTF-8: {exc}", f"{name}:1") from None
        for column, title in enumerate(header, start=1):
            if title not in FIELDS:
                raise CaseloadError(f"no field {title!r} (fields: {', '.join(FIELDS)})", f"{name}:1:{column}")
        for required in ("household", "department", "date", "kind"):
            if required not in header:
                raise CaseloadError(f"the header has no column {required!r}", f"{name}:1")
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise CaseloadError(f"not valid CSV in UTF-8: {exc}", f"{name}:{line}") from None
            if not any(cells):
                continue
            if len(cells) != len(header):
                raise CaseloadError(f"expected {len(header)} cells, got {len(cells)}", f"{name}:{line}")
            data = {title: cell for title, cell in zip(header, cells, strict=True) if cell != ""}
            try:
                yield DepartmentEvent.model_validate(data)
            except ValidationError as exc:
                field, expected = _problem(exc)
                where = f"{name}:{line}:{header.index(field) + 1}" if field in header else f"{name}:{line}"
                raise CaseloadError(f"{field}: expected {expected}", where) from None


__all__ = [
    "DEPARTMENTS",
    "EVENT_KINDS",
    "FIELDS",
    "Department",
    "DepartmentEvent",
    "EventKind",
    "fen",
    "parse_event",
    "read_events",
    "to_message",
]
