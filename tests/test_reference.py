"""The fact reference (docs/facts.md): generated from the fact models, and kept current."""

from __future__ import annotations

from pathlib import Path

from povrules.cli import main
from povrules.facts import SUBJECTS, Household, Vehicle, personal_fields
from povrules.lang.types import EnumType, RecordType, record_of
from povrules.reference import facts_markdown
from povrules.wording import value_titles

PAGE = Path(__file__).resolve().parents[1] / "docs" / "facts.md"


def test_the_page_in_the_repository_is_the_generated_one():
    assert PAGE.read_text(encoding="utf-8") == facts_markdown(), (
        "docs/facts.md is out of date: run `povrules schema --markdown -o docs/facts.md`"
    )


def test_the_command_prints_the_page(capsys):
    assert main(["schema", "--markdown"]) == 0
    assert capsys.readouterr().out == facts_markdown()


def _records() -> dict[str, RecordType]:
    found: dict[str, RecordType] = {}
    stack = [record_of(model) for model, _ in SUBJECTS.values()]
    while stack:
        record = stack.pop()
        if record.name in found:
            continue
        found[record.name] = record
        for field in record.fields.values():
            item = getattr(field.type, "item", field.type)
            if isinstance(item, RecordType):
                stack.append(item)
    return found


def test_every_fact_of_every_record_has_a_row_with_its_titles():
    page = facts_markdown()
    records = _records()
    assert {"Household", "Member", "Vehicle", "Village", "County", "Look"} <= set(records)
    for name, record in records.items():
        assert f"\n### {name}\n" in page
        for field in record.fields.values():
            rows = [
                line
                for line in page.splitlines()
                if (f".{field.name}`" in line or f".{field.name}[]`" in line) and f" | {field.zh} | " in line
            ]
            assert rows, f"no row for {name}.{field.name}"
            if isinstance(field.type, EnumType):
                titles = value_titles(field) or {}
                assert any(
                    all(
                        f"`{value}` {' / '.join(titles[value])}" in row if value in titles else f"`{value}`" in row
                        for value in field.type.values
                    )
                    for row in rows
                )


def test_rows_say_unit_judged_and_personal():
    page = facts_markdown().splitlines()
    [age] = [line for line in page if line.startswith("| `hh.members[].age` |")]
    assert "| int | 岁 | 年龄 |" in age
    assert personal_fields(Household)["id"] == "identifier"
    [hid] = [line for line in page if line.startswith("| `hh.id` |")]
    assert hid.endswith("| identifier |  |")
    judged = {
        line.split("`")[1].rsplit(".", 1)[1] for line in page if "| judged |" in line and not line.startswith("| path")
    }
    should = {f.name for r in _records().values() for f in r.fields.values() if f.judged}
    assert judged == should and "refuses_to_work" in judged and "age" not in judged
    [kind] = [line for line in page if line.startswith("| `hh.assets.vehicles[].kind` |")]
    titles = value_titles(record_of(Vehicle).fields["kind"])
    assert titles is not None and set(titles) == set(record_of(Vehicle).fields["kind"].type.values)
    assert f"`car` {titles['car'][0]} / {titles['car'][1]}; `minivan` {titles['minivan'][0]}" in kind
