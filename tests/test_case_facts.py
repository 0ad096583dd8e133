"""A procedure's case file as facts: what the model refuses (and how the error names it), its JSON Schema
with a title for every code, strict types, and the household's identifier hidden by redaction."""

from __future__ import annotations

import json
import typing
from datetime import date
from typing import Any

import jsonschema
import pytest

import povrules
from povrules.audit import redact_facts
from povrules.facts import Case, personal_fields
from povrules.facts.case import Actor, CaseKind, PostingPlace, Step, StepOutcome

KEY = b"a key of at least sixteen bytes"
APPLIED = {"step": "application", "date": "2021-09-01", "actor": "household"}
VISITED = {"step": "household_visit", "date": "2021-09-03", "people": 2, "actor": "resident_team"}
POSTED = {"step": "village_posting", "date": "2021-09-22", "end": "2021-09-28", "place": "village", "time": "08:30"}


def case(*events: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "案-2021-017", "kind": "identification", "plan": "cn-anhui-funan", "events": list(events), **fields}


def problems(data: Any) -> list[povrules.errors.FactProblem]:
    with pytest.raises(povrules.FactsError) as caught:
        povrules.parse_facts(data, "case")
    assert caught.value.subject == "case" and "invalid case facts" in str(caught.value)
    assert "\n" not in str(caught.value)
    return list(caught.value.problems)


def test_a_case_file_reads_with_its_events_in_order():
    facts = povrules.parse_facts(case(APPLIED, VISITED, POSTED), "case")
    assert isinstance(facts, Case)
    assert [e.step for e in facts.events or ()] == ["application", "household_visit", "village_posting"]
    assert facts.events is not None and facts.events[2].end == date(2021, 9, 28)
    assert facts.events[1].people == 2 and facts.events[2].time == "08:30"


def test_steps_on_the_same_day_keep_the_files_order():
    same_day = {"step": "village_deliberation", "date": "2021-09-03"}
    facts = povrules.parse_facts(case(APPLIED, VISITED, same_day), "case")
    assert [e.step for e in facts.events or ()][-2:] == ["household_visit", "village_deliberation"]


def test_events_out_of_date_order_are_refused_naming_the_event():
    (problem,) = problems(case(APPLIED, POSTED, VISITED))
    text = str(problem)
    assert "events[2] (household_visit, 2021-09-03) comes before events[1] (village_posting, 2021-09-22)" in text
    assert "date order" in text


def test_an_end_before_the_date_is_refused():
    (problem,) = problems(case(APPLIED, {**POSTED, "end": "2021-09-21"}))
    assert problem.path.startswith("events[1]")
    assert problem.expected == "an end on or after the step's date (2021-09-22)"


@pytest.mark.parametrize("time", ["8:30", "24:00", "08:60", "0830", "08:30:00"])
def test_a_time_not_hh_mm_is_refused(time):
    (problem,) = problems(case({**APPLIED, "time": time}))
    assert problem.path == "events[0].time" and problem.given == json.dumps(time)


def test_an_unknown_step_is_refused_naming_the_choices():
    (problem,) = problems(case({**APPLIED, "step": "village_postng"}))
    assert problem.path == "events[0].step" and problem.given == '"village_postng"'
    # The facts layer names every code, not a did-you-mean: the closest one is among them.
    assert "'village_posting'" in problem.expected


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "exits"), ("actor", "villager"), ("place", "board"), ("outcome", "ok")],
)
def test_every_code_is_checked(field, value):
    data = case(APPLIED, kind=value) if field == "kind" else case({**APPLIED, field: value})
    (problem,) = problems(data)
    assert problem.path in (field, f"events[0].{field}")


def test_the_step_and_its_date_are_required_and_the_id_too():
    assert {p.path for p in problems(case({"date": "2021-09-01"}, {"step": "notice"}))} == {
        "events[0].step",
        "events[1].date",
    }
    assert [p.path for p in problems({"kind": "exit"})] == ["id"]


# Strict types, as for households: a number is not a date, text is not a count


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ({**APPLIED, "date": 20210901}, "events[0].date"),
        ({**APPLIED, "date": "2021/09/01"}, "events[0].date"),
        ({**APPLIED, "date": "2021-02-30"}, "events[0].date"),
        ({**POSTED, "end": 7}, "events[0].end"),
        ({**VISITED, "people": "2"}, "events[0].people"),
        ({**VISITED, "people": 2.0}, "events[0].people"),
        ({**VISITED, "people": True}, "events[0].people"),
        ({**VISITED, "people": -1}, "events[0].people"),
        ({**VISITED, "signatures": "三"}, "events[0].signatures"),
        ({**APPLIED, "colour": "red"}, "events[0].colour"),
    ],
)
def test_types_are_strict(event, path):
    assert [p.path for p in problems(case(event))] == [path]


def test_events_must_be_a_list():
    assert [p.path for p in problems(case() | {"events": APPLIED})] == ["events"]


# The JSON Schema


def test_the_schema_validates_a_case_and_refuses_what_the_model_refuses():
    schema = povrules.facts_schema("case")
    assert schema["$id"] == "povrules.case.v1"
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    validator.validate(case(APPLIED, VISITED, POSTED))
    for bad in (
        case({**APPLIED, "date": 20210901}),
        case({**APPLIED, "time": "8:30"}),
        case({**VISITED, "people": "2"}),
        case({**APPLIED, "step": "village_postng"}),
        case({**APPLIED, "colour": "red"}),
    ):
        assert not validator.is_valid(bad), bad


def _codes(schema: dict[str, Any]) -> dict[str, tuple[list[str], dict[str, Any]]]:
    """Each enumerated field of the case and its event: (its codes, its x-titles)."""
    out = {}
    for owner in (schema["properties"], schema["$defs"]["Event"]["properties"]):
        for name, prop in owner.items():
            enum_of = prop if "enum" in prop else next((a for a in prop.get("anyOf", ()) if "enum" in a), None)
            if enum_of is not None:
                out[name] = (enum_of["enum"], enum_of.get("x-titles") or prop.get("x-titles") or {})
    return out


def test_every_code_has_a_title_in_both_languages():
    codes = _codes(povrules.facts_schema("case"))
    expected = {"kind": CaseKind, "step": Step, "actor": Actor, "place": PostingPlace, "outcome": StepOutcome}
    assert set(codes) == set(expected)
    for name, literal in expected.items():
        enum, titles = codes[name]
        assert enum == list(typing.get_args(literal)), name
        assert set(titles) == set(enum), f"{name}: codes without a title: {set(enum) - set(titles)}"
        for code, title in titles.items():
            assert title["zh"] and title["en"] and title["zh"] != code, (name, code)
    assert codes["step"][1]["village_posting"] == {"zh": "村级公示", "en": "village posting"}


def test_the_cli_prints_the_case_schema(capsys):
    from povrules.cli import main

    assert main(["schema", "--subject", "case"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "Case" and "events" in printed["properties"]


# Personal data


def test_a_cases_identifiers_are_personal_and_redaction_hides_them():
    assert personal_fields(Case) == {"id": "identifier", "household": "identifier"}
    schema = povrules.facts_schema("case")
    assert schema["properties"]["household"]["personal"] == "identifier"
    assert schema["$defs"]["Event"]["properties"]["reference"]["personal"] == "identifier"
    numbered = {**POSTED, "reference": "灵公示〔2021〕17号"}
    facts = povrules.parse_facts(case(APPLIED, numbered, household="341226-0042"), "case")
    redacted = redact_facts(facts, KEY)
    text = json.dumps(redacted, ensure_ascii=False)
    for secret in ("341226-0042", "案-2021-017", "灵公示〔2021〕17号"):
        assert secret not in text, secret
    assert redacted["household"].startswith("hmac-sha256:") and redacted["id"].startswith("hmac-sha256:")
    assert redacted["events"][1]["reference"].startswith("hmac-sha256:")
    assert redacted == redact_facts(facts, KEY)  # deterministic: comparable with the register's
    # What rules read is left as it is, so the redacted file decides the same.
    again = povrules.parse_facts(redacted, "case")
    assert [(e.step, e.date, e.end, e.place) for e in again.events or ()] == [
        (e.step, e.date, e.end, e.place) for e in facts.events or ()
    ]
