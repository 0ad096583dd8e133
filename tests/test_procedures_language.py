"""The language of procedures: first()/last() over a case's steps, the day functions, and how their
errors reach an author (a type error at its token) and a user (a calendar error naming the rule)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import povrules
from povrules.cli import main
from povrules.errors import EvaluationError
from povrules.facts import Case
from povrules.lang import CheckProblem, Compiler, Env, Scope, Unknown, check, parse
from povrules.lang.types import record_of, type_of_value

AS_OF = date(2021, 12, 31)
POSTING = 'case.events[e.step == "village_posting"]'


def evaluate(text: str, case: dict[str, Any], as_of: date = AS_OF, traced: bool = False) -> Any:
    """Parse, check, compile and evaluate ``text`` against a case file."""
    params = {"days": 7}
    scope = Scope(record_of(Case), {name: type_of_value(v) for name, v in params.items()}, {}, root="case")
    fn = Compiler({}, traced, root="case").condition(check(parse(text), scope))
    facts = povrules.parse_facts(case, "case")
    return fn(Env(facts, params, as_of, [] if traced else None))


def missing(value: Any) -> set[str]:
    assert isinstance(value, Unknown), f"expected an unknown value, got {value!r}"
    return set(value.missing)


def case(*events: dict[str, Any]) -> dict[str, Any]:
    return {"id": "c1", "kind": "identification", "events": list(events)}


APPLIED = {"step": "application", "date": "2021-09-01"}
POSTED = {"step": "village_posting", "date": "2021-09-22", "end": "2021-09-28", "place": "village"}
POSTED_AGAIN = {"step": "village_posting", "date": "2021-10-11", "end": "2021-10-17", "place": "group"}
APPROVED = {"step": "county_approval", "date": "2021-10-20"}

FIRST_POSTING = 'first(e.date for e in case.events if e.step == "village_posting")'
PLACED = 'first(e.date for e in case.events if e.step == "village_posting" and e.place == "village")'
LAST_POSTING = 'last(e.date for e in case.events if e.step == "village_posting")'


# first() and last()


@pytest.mark.parametrize("traced", [False, True])
def test_first_takes_the_first_match_in_the_files_order(traced):
    assert evaluate(FIRST_POSTING, case(APPLIED, POSTED, POSTED_AGAIN, APPROVED), traced=traced) == date(2021, 9, 22)


@pytest.mark.parametrize("traced", [False, True])
def test_last_takes_the_last_match(traced):
    assert evaluate(LAST_POSTING, case(APPLIED, POSTED, POSTED_AGAIN, APPROVED), traced=traced) == date(2021, 10, 11)
    text = 'last(e.place for e in case.events if e.step == "village_posting")'
    assert evaluate(text, case(APPLIED, POSTED, POSTED_AGAIN, APPROVED), traced=traced) == "group"


@pytest.mark.parametrize("traced", [False, True])
def test_none_admitted_is_unknown_naming_the_absent_step(traced):
    value = evaluate(FIRST_POSTING, case(APPLIED, APPROVED), traced=traced)
    assert missing(value) == {POSTING}
    assert missing(evaluate(LAST_POSTING, case(APPLIED, APPROVED), traced=traced)) == {POSTING}


def test_an_empty_list_is_unknown_naming_the_absent_step():
    assert missing(evaluate(FIRST_POSTING, case())) == {POSTING}


def test_an_unknown_list_is_unknown():
    assert missing(evaluate(FIRST_POSTING, {"id": "c1"})) == {"case.events"}
    assert missing(evaluate(LAST_POSTING, {"id": "c1", "events": None})) == {"case.events"}


def test_an_unknown_condition_before_the_match_makes_the_answer_unknown():
    # The posting without a place might be the one posted in the village: which one is first is unknown.
    text = PLACED
    unplaced = {"step": "village_posting", "date": "2021-09-20", "end": "2021-09-26"}
    value = evaluate(text, case(APPLIED, unplaced, POSTED))
    assert missing(value) == {"case.events[1].place"}


def test_an_unknown_condition_after_the_match_leaves_it_known():
    text = PLACED
    unplaced = {"step": "village_posting", "date": "2021-10-11", "end": "2021-10-17"}
    assert evaluate(text, case(APPLIED, POSTED, unplaced)) == date(2021, 9, 22)
    # last() reads from the end: there the unknown element comes first.
    backwards = PLACED.replace("first(", "last(")
    assert missing(evaluate(backwards, case(APPLIED, POSTED, unplaced))) == {"case.events[2].place"}


def test_an_unknown_value_of_the_match_is_unknown_naming_it():
    text = 'first(e.people for e in case.events if e.step == "household_visit")'
    visit = {"step": "household_visit", "date": "2021-09-05"}
    assert missing(evaluate(text, case(APPLIED, visit))) == {"case.events[1].people"}
    assert evaluate(text, case(APPLIED, {**visit, "people": 2})) == 2


def test_a_missing_step_leaves_a_deadline_unknown_and_a_present_one_decides_it():
    text = (
        'working_days_between(first(e.date for e in case.events if e.step == "application"), '
        'first(e.date for e in case.events if e.step == "county_approval")) <= 20'
    )
    assert missing(evaluate(text, case(APPLIED, POSTED))) == {'case.events[e.step == "county_approval"]'}
    # 2021-09-01 → 2021-10-20: September 2, 3, 6–10, 13–17, 18 (worked), 22–24, 26 (worked), 27–30 (21);
    # October 8, 9 (worked), 11–15, 18–20 (10): 31 working days over Mid-Autumn and National Day.
    assert evaluate(text, case(APPLIED, POSTED, APPROVED)) is False
    assert evaluate(text.replace("<= 20", "<= 30"), case(APPLIED, POSTED, APPROVED)) is False
    assert evaluate(text.replace("<= 20", "<= 31"), case(APPLIED, POSTED, APPROVED)) is True


# The day functions in expressions


def test_the_day_functions_count_as_workdays_does():
    posting = case(APPLIED, POSTED)
    span = (
        'calendar_days(first(e.date for e in case.events if e.step == "village_posting"), '
        'first(e.end for e in case.events if e.step == "village_posting"))'
    )
    assert evaluate(span, posting) == 7
    assert evaluate(f"{span} >= p.days", posting) is True
    assert evaluate('working_days(date("2021-09-26"), date("2021-10-09"))', posting) == 7
    assert evaluate('working_days_between(date("2021-09-30"), date("2021-10-08"))', posting) == 1
    assert evaluate('add_working_days(date("2021-09-30"), 2)', posting) == date(2021, 10, 9)
    assert evaluate('days_between(date("2021-09-22"), date("2021-09-28"))', posting) == 6


def test_a_day_function_of_an_unknown_date_is_unknown():
    text = 'working_days(first(e.date for e in case.events if e.step == "village_posting"), date("2021-10-09"))'
    assert missing(evaluate(text, case(APPLIED))) == {POSTING}
    assert missing(evaluate("add_working_days(first(e.end for e in case.events), 1)", case(APPLIED))) == {
        "case.events[0].end"
    }


# Type errors at their token


def check_error(text: str) -> CheckProblem:
    scope = Scope(record_of(Case), {"days": type_of_value(7)}, {}, root="case")
    with pytest.raises(CheckProblem) as caught:
        check(parse(text), scope)
    return caught.value


def test_first_of_a_list_value_is_refused():
    error = check_error("first(case.events for e in case.events)")
    assert "first() gives one value" in str(error) and error.span.column == 7
    error = check_error("last(case.events for e in case.events)")
    assert "last() gives one value" in str(error)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ('working_days_between(date("2021-01-04"), 3)', "working_days_between() takes two dates", 1),
        ('working_days(date("2021-01-04"), "x")', "working_days() takes two dates", 1),
        ('calendar_days(date("2021-01-04"))', "calendar_days() takes two dates", 1),
        ('add_working_days(3, 2) == date("2021-01-04")', "add_working_days() takes a date first", 18),
        ('add_working_days(date("2021-01-04"), "x") == as_of', "add_working_days() takes a whole number", 38),
        ('add_working_days(date("2021-01-04"), p.days + 0.5) == as_of', "add_working_days() takes a whole number", 38),
    ],
)
def test_day_functions_refuse_wrong_argument_types_at_the_token(text, message, column):
    error = check_error(text)
    assert message in str(error)
    assert error.span.column == column and str(error).startswith(f"1:{column}: ")


# A calendar error during evaluation


SOURCE = "程序规定\n自申请之日起20个工作日内完成审定\n"


def write_ruleset(tmp_path: Path) -> Path:
    (tmp_path / "s.txt").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "ruleset.yaml").write_text(
        """\
id: t-procedure
version: '1'
title: {zh: 程序, en: Procedure}
subject: case
sources: {S: {file: s.txt, title: 程序规定}}
parameters:
  max_working_days:
    title: {zh: 审定时限, en: Working days to the decision}
    unit: 工作日
    values:
      - from: 2000-01-01
        value: 20
        cite: {source: S, line: 2, quote: 20个工作日内}
derived:
  applied_on:
    title: {zh: 申请日期, en: Applied on}
    expr: 'first(e.date for e in case.events if e.step == "application")'
  approved_on:
    title: {zh: 审定日期, en: Approved on}
    expr: 'first(e.date for e in case.events if e.step == "county_approval")'
rules:
  approved_in_time:
    title: {zh: 按时审定, en: Approved in time}
    when: working_days_between(applied_on, approved_on) <= p.max_working_days
    cite: {source: S, line: 2, quote: 自申请之日起20个工作日内完成审定}
decisions:
  identification_procedure:
    kind: eligibility
    title: {zh: 识别程序, en: Identification procedure}
    criteria: [approved_in_time]
    outcomes: {yes: compliant, no: violation}
    labels:
      compliant: {zh: 程序合规, en: compliant}
      violation: {zh: 违反程序规定, en: procedure violated}
      undetermined: {zh: 无法判定, en: undetermined}
""",
        encoding="utf-8",
    )
    return tmp_path


@pytest.fixture
def procedure(tmp_path: Path) -> povrules.Ruleset:
    return povrules.load_ruleset(write_ruleset(tmp_path))


def decide(rs: povrules.Ruleset, *events: dict[str, Any], as_of: date = AS_OF) -> povrules.Decision:
    facts = povrules.parse_facts(case(*events), "case")
    return povrules.evaluate(facts, rs, "identification_procedure", as_of=as_of)


def test_a_procedure_decision_answers_compliant_violation_or_undetermined(procedure):
    in_time = {"step": "county_approval", "date": "2021-09-29"}  # 20 working days after 09-01
    assert decide(procedure, APPLIED, in_time).outcome == "compliant"
    late = {"step": "county_approval", "date": "2021-09-30"}
    assert decide(procedure, APPLIED, late).outcome == "violation"
    d = decide(procedure, APPLIED)
    assert d.outcome == "undetermined" and d.missing == ('case.events[e.step == "county_approval"]',)


def test_a_calendar_error_names_the_rule(procedure):
    old = {"step": "application", "date": "2003-12-01"}
    with pytest.raises(EvaluationError) as caught:
        decide(procedure, old, {"step": "county_approval", "date": "2004-01-05"})
    error = caught.value
    assert error.rule == "approved_in_time" and error.decision == "identification_procedure"
    text = str(error)
    assert "\n" not in text
    assert "approved_in_time" in text and "2003-12-01" in text and "2004–2026" in text


def test_the_cli_shows_a_calendar_error_as_one_line_and_exits_non_zero(tmp_path, capsys):
    (tmp_path / "rs").mkdir()
    folder = write_ruleset(tmp_path / "rs")
    facts = tmp_path / "case.json"
    facts.write_text(
        json.dumps(
            case({"step": "application", "date": "2027-01-04"}, {"step": "county_approval", "date": "2027-02-01"})
        ),
        encoding="utf-8",
    )
    code = main(["decide", str(folder), "identification_procedure", str(facts), "--as-of", "2027-03-01"])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("povrules decide:") and "approved_in_time" in lines[0] and "2027-01-04" in lines[0]


# The worked example of docs/authoring.md


def _procedure_blocks() -> dict[str, str]:
    """The blocks of the authoring guide marked ``<!-- procedure: NAME -->``, by name."""
    import re

    text = (Path(__file__).resolve().parent.parent / "docs" / "authoring.md").read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- procedure: (\w+) -->\n```\w*\n(.*?)```", text, flags=re.DOTALL))


def test_the_authoring_guides_procedure_example_runs_as_written(tmp_path, seeds_or_none, monkeypatch, capsys):
    blocks = _procedure_blocks()
    assert set(blocks) == {"ruleset", "case", "days", "python", "tests"}
    folder = tmp_path / "rulesets" / "example-lingshou-procedure"
    (folder / "tests").mkdir(parents=True)
    (folder / "ruleset.yaml").write_text(blocks["ruleset"], encoding="utf-8")
    (folder / "tests" / "monitoring_inclusion_procedure.yaml").write_text(blocks["tests"], encoding="utf-8")
    (tmp_path / "case.json").write_text(blocks["case"], encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    printed: list[str] = []
    exec(compile(blocks["python"], "authoring.md", "exec"), {"print": lambda *a: printed.append(" ".join(map(str, a)))})
    assert printed == ["compliant", "violation", "undetermined ('case.events[e.step == \"village_posting\"]',)"]

    command, *shown = blocks["days"].splitlines()
    assert command == "$ povrules days 2020-09-14 2020-10-16"
    assert main(["days", "2020-09-14", "2020-10-16"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:-1] == shown[:-1]  # the last line names the calendar package's version
    assert main(["test", str(folder)]) == 0
    assert "6 passed, 0 failed" in capsys.readouterr().out
    if seeds_or_none is not None:
        from povrules.citations import check_citations

        assert check_citations(povrules.load_ruleset(folder), seeds_or_none) == []
