"""Department events: the schema, the streaming readers and the conversion durable-rules takes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from povrules.errors import CaseloadError, UnknownName
from povrules.warning.events import DEPARTMENTS, EVENT_KINDS, fen, parse_event, read_events, to_message

LINE = '{"household": "h1", "township": "t1", "department": "medical_security", "date": "2021-03-01", "kind": "medical_expense", "amount": 1234.5}'


def test_an_event_converts_to_fen_and_ordinals() -> None:
    event = parse_event(LINE)
    assert event.amount == Decimal("1234.50")
    assert to_message(event) == {
        "hh": "h1",
        "dept": "medical_security",
        "kind": "medical_expense",
        "day": date(2021, 3, 1).toordinal(),
        "amount": 123450,
    }
    assert fen(Decimal("0.01")) == 1


def test_every_code_has_both_titles() -> None:
    for table in (DEPARTMENTS, EVENT_KINDS):
        assert all(set(titles) == {"zh", "en"} for titles in table.values())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ('"department": "police"', "department"),
        ('"date": 20210301', "date"),
        ('"date": "2021-02-30"', "date"),
        ('"amount": true', "amount"),
        ('"amount": -5', "amount"),
        ('"amount": "1e3"', "amount"),
        ('"colour": "red"', "colour"),
        ('"household": "h 1"', "household"),
    ],
)
def test_a_bad_field_is_named_with_its_line(tmp_path: Path, change: str, field: str) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(LINE + "\n" + _with(LINE, change) + "\n", encoding="utf-8")
    events = read_events(path)
    assert next(events).household == "h1"  # the good line before it is read
    with pytest.raises(CaseloadError, match=rf"events.jsonl:2: {field}: expected"):
        next(events)


def _with(line: str, change: str) -> str:
    """``line`` with one field replaced (or added) by ``change``."""
    data = json.loads(line)
    key = json.loads("{" + change + "}")
    data.update(key)
    return json.dumps(data)


def test_csv_is_read_and_a_bad_cell_is_named_by_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "household,department,date,kind,amount\n"
        "h1,medical_security,2021-03-01,medical_expense,100.5\n"
        "h2,civil_affairs,2021-03-02,dibao_change,\n"
        "h3,health,2021-03-40,medical_expense,1\n",
        encoding="utf-8",
    )
    events = read_events(path)
    first, second = next(events), next(events)
    assert first.amount == Decimal("100.50") and second.amount is None
    with pytest.raises(CaseloadError, match=r"events.csv:4:3: date"):
        next(events)


def test_csv_header_and_format_errors(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("household,dept,date,kind\n", encoding="utf-8")
    with pytest.raises(CaseloadError, match=r"events.csv:1:2: no field 'dept'"):
        list(read_events(path))
    with pytest.raises(UnknownName):
        read_events(path, format="xlsx")
    with pytest.raises(CaseloadError, match="cannot tell the format"):
        read_events(tmp_path / "events.txt")
