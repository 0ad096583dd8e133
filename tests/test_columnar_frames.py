"""Caseload files straight to frames (``read_frame``) and back (``write_frame``).

The fast path must give the frame the row path gives (validate each item, ``caseload_frame`` of
the models) and, for a bad row, the row path's error: the same ``source`` (``file:line``,
``file:row N``) and the same problems (field path, expectation, value).
"""

from __future__ import annotations

import copy
import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import povrules  # noqa: E402
from povrules import synth  # noqa: E402
from povrules.caseload import read_caseload  # noqa: E402
from povrules.columnar import caseload_frame, decide_frame, read_frame, write_frame  # noqa: E402
from povrules.errors import CaseloadError, FactsError  # noqa: E402

RULESET = Path(__file__).resolve().parent.parent / "rulesets" / "cn-hunan-county-plan4"


@cache
def _county(n: int = 600, seed: int = 7) -> tuple[dict[str, Any], ...]:
    return tuple(synth.county_json(n, seed))


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False))
            out.write("\n")
    return path


def _row_path(path: Path) -> pl.DataFrame:
    """The frame as it was built before the fast path: every item validated, then its model."""
    return caseload_frame([povrules.parse_household(item.data, item.where) for item in read_caseload(path)])


def test_jsonl_frame_equals_the_models_frame_and_decides_the_same(tmp_path: Path) -> None:
    rows = list(_county())
    path = _write_jsonl(tmp_path / "county.jsonl", rows)
    models = [povrules.parse_household(row) for row in rows]
    expected = caseload_frame(models)
    fast = read_frame(path)
    assert fast.schema == expected.schema
    assert fast.equals(expected)
    for name in expected.columns:
        assert fast[name].equals(expected[name]), name
    ruleset = povrules.load_ruleset(RULESET)
    as_of = date(2021, 6, 30)
    assert decide_frame(fast, ruleset, "monitoring_type", as_of, facts=models).equals(
        decide_frame(expected, ruleset, "monitoring_type", as_of, facts=models)
    )


def test_nested_parquet_frame_equals_the_models_frame(tmp_path: Path) -> None:
    rows = list(_county())
    path = tmp_path / "county.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)  # types inferred: amounts and dates as text
    expected = caseload_frame([povrules.parse_household(row) for row in rows])
    assert read_frame(path).equals(expected)
    assert _row_path(path).equals(expected)


def test_write_frame_jsonl_is_the_models_json_form(tmp_path: Path) -> None:
    models = [povrules.parse_household(row) for row in _county()]
    frame = caseload_frame(models)
    path = tmp_path / "out.jsonl"
    write_frame(frame, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(models)
    canonical = lambda value: json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    for line, model in zip(lines, models):
        assert canonical(json.loads(line)) == canonical(model.model_dump(mode="json", exclude_none=True))
    assert read_frame(path).equals(frame)


def test_write_frame_parquet_reads_back_both_ways(tmp_path: Path) -> None:
    frame = caseload_frame([povrules.parse_household(row) for row in _county()])
    path = tmp_path / "out.parquet"
    write_frame(frame, path)
    assert read_frame(path).equals(frame)
    assert _row_path(path).equals(frame)


def _set(row: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    row = copy.deepcopy(row)
    *parents, last = path.split(".")
    target: Any = row
    for part in parents:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    target[last] = value
    return row


def _bad_lines() -> dict[str, str]:
    base = next(row for row in _county() if row.get("members") and row.get("income"))
    made = {
        "wrong type (string for int)": _set(base, "members.0.age", "old"),
        "wrong type (number for string)": _set(base, "village", 12),
        "wrong type (list for record)": _set(base, "income", [1]),
        "wrong type (object for list)": _set(base, "members", {"id": "m1"}),
        "unknown field": _set(base, "colour", "red"),
        "unknown nested field": _set(base, "income.bonus", "1.00"),
        "age out of range": _set(base, "members.0.age", 131),
        "negative income": _set(base, "income.wage", "-5.00"),
        "bad enum": _set(base, "members.0.health", "fine"),
        "bad date": _set(base, "income.period_start", "2021-02-30"),
        "date in another format": _set(base, "income.period_start", "2021/02/01"),
        "too many decimals": _set(base, "income.wage", "1.001"),
        "too many digits": _set(base, "income.wage", "1234567890123.00"),
        "required field missing": _set(base, "id", None),
        "empty id": _set(base, "id", ""),
        "period out of order": _set(_set(base, "income.period_start", "2021-07-01"), "income.period_end", "2021-06-30"),
        "null evidence": _set(
            base, "assessments.return_risk", {"value": True, "by": "x", "on": "2021-01-01", "evidence": None}
        ),
        "null list element": _set(base, "members", [None]),
        "vehicle without kind": _set(base, "assets.vehicles", [{"value": "1.00"}]),
        "id number pattern": _set(base, "members.0.id_number", "123"),
        # Strict facts: no coercion of JSON types, and what the row path refuses besides.
        "age as text": _set(base, "members.0.age", "12"),
        "age as a float": _set(base, "members.0.age", 12.0),
        "age as a boolean": _set(base, "members.0.age", True),
        "boolean as text": _set(base, "rural_hukou", "true"),
        "judged value as a number": _set(base, "assessments.return_risk", {"value": 1, "by": "x", "on": "2021-01-01"}),
        "date as a number": _set(base, "income.period_start", 0),
        "date with full-width digits": _set(base, "income.period_start", "２０２１-０２-０１"),
        "week date": _set(base, "income.period_start", "2021-W05-1"),
        "amount with full-width digits": _set(base, "income.wage", "１０００"),
        "amount with an exponent": _set(base, "income.wage", "1E+3"),
        "amount as a boolean": _set(base, "income.wage", True),
        "no members": _set(base, "members", []),
        "newline in the id": _set(base, "id", "H1\nH2"),
        "control character in a name": _set(base, "members.0.name", "\u001b[2J"),
    }
    lines = {name: json.dumps(row, ensure_ascii=False) for name, row in made.items()}
    for name in ("required field missing",):
        lines[name] = json.dumps({k: v for k, v in made[name].items() if v is not None}, ensure_ascii=False)
    lines["malformed JSON"] = json.dumps(base, ensure_ascii=False)[:-1]
    lines["not an object"] = "[1, 2]"
    lines["two objects on a line"] = json.dumps(base) + " " + json.dumps(base)
    return lines


@pytest.mark.parametrize("kind", sorted(_bad_lines()))
def test_a_bad_line_raises_the_row_paths_error(tmp_path: Path, kind: str) -> None:
    line = _bad_lines()[kind]
    good = list(_county()[:40])
    path = _write_jsonl(tmp_path / "bad.jsonl", [*good[:30], "", line, *good[30:]])
    with pytest.raises(FactsError) as expected:
        povrules.parse_household(line.encode(), f"{path}:32")
    with pytest.raises(FactsError) as raised:
        read_frame(path)
    assert raised.value.source == f"{path}:32"
    assert raised.value.problems == expected.value.problems
    assert str(raised.value) == str(expected.value)


def test_the_first_bad_line_is_reported(tmp_path: Path) -> None:
    lines = _bad_lines()
    good = list(_county()[:10])
    path = _write_jsonl(tmp_path / "bad.jsonl", [*good, lines["bad enum"], *good, lines["malformed JSON"]])
    with pytest.raises(FactsError) as raised:
        read_frame(path)
    assert raised.value.source == f"{path}:11"


def test_lax_forms_pydantic_accepts_are_read_as_the_row_path_reads_them(tmp_path: Path) -> None:
    base = next(row for row in _county() if row.get("members") and row.get("income"))
    rows = [
        _set(base, "income.wage", 12.5),  # an amount as a JSON number
        _set(base, "income.wage", "+1"),
        _set(base, "income.wage", "1.500"),
        _set(base, "income.wage", "1000.00"),  # canonical form: "1000", on both paths
        _set(base, "income.wage", "-0"),
        _set(base, "village", None),
    ]
    path = _write_jsonl(tmp_path / "lax.jsonl", [*_county()[:5], *rows])
    assert read_frame(path).equals(_row_path(path))


def test_a_bad_parquet_row_raises_the_row_paths_error(tmp_path: Path) -> None:
    rows = [copy.deepcopy(row) for row in _county()[:50]]
    index = next(i for i, row in enumerate(rows) if row.get("members"))
    rows[index]["members"][0]["age"] = 200
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    item = list(read_caseload(path))[index]
    with pytest.raises(FactsError) as expected:
        povrules.parse_household(item.data, item.where)
    with pytest.raises(FactsError) as raised:
        read_frame(path)
    assert raised.value.source == f"{path}:row {index + 1}"
    assert raised.value.problems == expected.value.problems


def test_csv_with_a_mapping_stays_on_the_item_path(tmp_path: Path) -> None:
    # CSV goes through its mapping item by item: an unmapped file is refused as read_caseload refuses it.
    path = tmp_path / "county.csv"
    path.write_text("id\nH1\n", encoding="utf-8")
    with pytest.raises(CaseloadError):
        read_frame(path)


def test_an_arrow_table_or_batch_is_a_frame_validated_as_the_row_path_validates() -> None:
    from povrules.columnar import arrow_frame

    rows = list(_county())
    table = pa.Table.from_pylist(rows)
    expected = caseload_frame([povrules.parse_household(row) for row in rows])
    assert arrow_frame(table).equals(expected)
    assert arrow_frame(table.to_batches()[0]).equals(expected.head(table.to_batches()[0].num_rows))
    bad = [copy.deepcopy(row) for row in rows[:40]]
    index = next(i for i, row in enumerate(bad) if row.get("members"))
    bad[index]["members"][0]["age"] = 200
    with pytest.raises(FactsError) as raised:
        arrow_frame(pa.Table.from_pylist(bad), where=lambda row: f"batch 3, row {row}")
    assert raised.value.source == f"batch 3, row {index}"
    assert "members[0].age" in str(raised.value)
