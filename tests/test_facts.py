"""Household facts: validation names the field and what was expected; the JSON Schema agrees with the model."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import jsonschema
import pydantic
import pytest

import povrules
from povrules.errors import FactProblem

JUDGED = {"value": True, "by": "村第一书记 王某", "on": "2021-03-01"}


def problems(data) -> tuple[FactProblem, ...]:
    with pytest.raises(povrules.FactsError) as caught:
        povrules.parse_household(data)
    assert caught.value.problems, "a FactsError always names at least one problem"
    return caught.value.problems


def only_problem(data) -> FactProblem:
    found = problems(data)
    assert len(found) == 1, found
    return found[0]


# Each case: facts, the field path the error must name, words the "expected" text must hold,
# and what was given (None when nothing was).
INVALID = {
    "wrong type (text for an age)": ({"members": [{"age": "twelve"}]}, "members[0].age", "valid integer", '"twelve"'),
    "wrong type (text for a yes/no fact)": ({"rural_hukou": "maybe"}, "rural_hukou", "valid boolean", '"maybe"'),
    "wrong type (a fraction for an age)": (
        {"members": [{"age": 30}, {"age": 12.5}]},
        "members[1].age",
        "integer",
        "12.5",
    ),
    "negative income": (
        {"income": {"per_capita_net": -1}},
        "income.per_capita_net",
        "greater than or equal to 0",
        "-1",
    ),
    "negative income as text": (
        {"income": {"per_capita_net": "-0.01"}},
        "income.per_capita_net",
        "greater than or equal to 0",
        '"-0.01"',
    ),
    "negative value deep in a list": (
        {"assets": {"vehicles": [{"kind": "car", "value": 1}, {"kind": "truck", "value": -5}]}},
        "assets.vehicles[1].value",
        "greater than or equal to 0",
        "-5",
    ),
    "an amount with fractions of a fen": (
        {"income": {"wage": "10.005"}},
        "income.wage",
        "2 decimal places",
        '"10.005"',
    ),
    "an amount that is not finite": ({"income": {"wage": "NaN"}}, "income.wage", "decimal text", '"NaN"'),
    "unknown field at the top": ({"income_total": 3000}, "income_total", "no such field", "3000"),
    "unknown field in a member": ({"members": [{"age": 30}, {"agee": 31}]}, "members[1].agee", "no such field", "31"),
    "unknown field in a record": ({"income": {"per_capita": 3000}}, "income.per_capita", "no such field", "3000"),
    "unknown field in a judged fact": (
        {"assessments": {"return_risk": {**JUDGED, "score": 3}}},
        "assessments.return_risk.score",
        "no such field",
        "3",
    ),
    "age 200": ({"members": [{"age": 200}]}, "members[0].age", "less than or equal to 130", "200"),
    "negative age": ({"members": [{"age": -1}]}, "members[0].age", "greater than or equal to 0", "-1"),
    "disability grade out of range": (
        {"members": [{"disability_grade": 5}]},
        "members[0].disability_grade",
        "less than or equal to 4",
        "5",
    ),
    "missing household id": ({"village": "V1"}, "id", "required", None),
    "judged fact without who judged": (
        {"assessments": {"income_stable": {"value": True, "on": "2021-03-01"}}},
        "assessments.income_stable.by",
        "required",
        None,
    ),
    "judged fact without when": (
        {"assessments": {"income_stable": {"value": True, "by": "村第一书记 王某"}}},
        "assessments.income_stable.on",
        "required",
        None,
    ),
    "judged fact judged by nobody": (
        {"assets": {"has_large_enterprise": {**JUDGED, "by": ""}}},
        "assets.has_large_enterprise.by",
        "at least 1 character",
        '""',
    ),
    "judged value of the wrong type": (
        {"members": [{"refuses_to_work": {**JUDGED, "value": "sometimes"}}]},
        "members[0].refuses_to_work.value",
        "valid boolean",
        '"sometimes"',
    ),
    "bad 身份证号 (too short)": (
        {"members": [{"id_number": "53292219800101123"}]},
        "members[0].id_number",
        "pattern",
        '"53292219800101123"',
    ),
    "bad 身份证号 (letter other than X)": (
        {"members": [{}, {"id_number": "53292219800101123Y"}]},
        "members[1].id_number",
        "pattern",
        '"53292219800101123Y"',
    ),
    "income period ending before it starts": (
        {"income": {"period_start": "2021-01-01", "period_end": "2020-12-31"}},
        "income.period_end",
        "on or after period_start (2021-01-01)",
        '"2020-12-31"',
    ),
    "impossible date": (
        {"monitoring": {"included_on": "2021-02-30"}},
        "monitoring.included_on",
        "valid date",
        '"2021-02-30"',
    ),
    "value outside an enumeration": (
        {"registration": {"status": "poor"}},
        "registration.status",
        "'registered_poor'",
        '"poor"',
    ),
    "override by a body that cannot decide": (
        {"overrides": [{"rule": "r", "body": "村民", "decided_on": "2021-01-01", "outcome": "set_aside"}]},
        "overrides[0].body",
        "'村民代表会议'",
        '"村民"',
    ),
    "vehicle without its kind": (
        {"assets": {"vehicles": [{"value": 3000}]}},
        "assets.vehicles[0].kind",
        "required",
        None,
    ),
    "relation outside its enumeration": (
        {"members": [{"relation": "cousin"}]},
        "members[0].relation",
        "'head'",
        '"cousin"',
    ),
    "parent role outside its enumeration": (
        {"members": [{"parents": [{"role": "uncle"}]}]},
        "members[0].parents[0].role",
        "'father' or 'mother'",
        '"uncle"',
    ),
    "parent index past the last member": (
        {"members": [{"age": 40}, {"age": 9, "parents": [{"role": "mother", "member": 0}, {"member": 2}]}]},
        "members[1].parents[1].member",
        "the index of a member of the household (0 to 1, not the member's own (1))",
        "2",
    ),
    "a member as its own parent": (
        {"members": [{"age": 40}, {"age": 9, "parents": [{"member": 1}]}]},
        "members[1].parents[0].member",
        "not the member's own (1)",
        "1",
    ),
    "negative parent index": (
        {"members": [{"parents": [{"member": -1}]}]},
        "members[0].parents[0].member",
        "greater than or equal to 0",
        "-1",
    ),
    "parent's disability grade out of range": (
        {"members": [{"parents": [{"disability_grade": 5}]}]},
        "members[0].parents[0].disability_grade",
        "less than or equal to 4",
        "5",
    ),
    "parent deceased as text": (
        {"members": [{"parents": [{"deceased": "yes"}]}]},
        "members[0].parents[0].deceased",
        "valid boolean",
        '"yes"',
    ),
    "parent unable to support as a number": (
        {"members": [{"parents": [{"unable_to_support": 1}]}]},
        "members[0].parents[0].unable_to_support",
        "valid boolean",
        "1",
    ),
    "parent missing as text": (
        {"members": [{"parents": [{"missing": "失踪"}]}]},
        "members[0].parents[0].missing",
        "valid boolean",
        '"失踪"',
    ),
    "parents as a record": (
        {"members": [{"parents": {"role": "father"}}]},
        "members[0].parents",
        "a list",
        '{"role": "father"}',
    ),
    "orphan as text": ({"members": [{"orphan": "true"}]}, "members[0].orphan", "valid boolean", '"true"'),
    "de facto unsupported as a number": (
        {"members": [{"de_facto_unsupported": 0}]},
        "members[0].de_facto_unsupported",
        "valid boolean",
        "0",
    ),
    "school registration as text": (
        {"members": [{"school_registered": "在籍"}]},
        "members[0].school_registered",
        "valid boolean",
        '"在籍"',
    ),
    "boarding as a number": ({"members": [{"boarding": 1}]}, "members[0].boarding", "valid boolean", "1"),
    "first year as text": ({"members": [{"first_year": "no"}]}, "members[0].first_year", "valid boolean", '"no"'),
    "loan kind outside its enumeration": (
        {"loans": [{"kind": "mortgage"}]},
        "loans[0].kind",
        "'microcredit'",
        '"mortgage"',
    ),
    "borrower past the last member": (
        {"members": [{"age": 40}], "loans": [{"kind": "microcredit", "borrower": 1}]},
        "loans[0].borrower",
        "the index of a member of the household (0 to 0)",
        "1",
    ),
    "borrower as a name": ({"loans": [{"borrower": "张三"}]}, "loans[0].borrower", "valid integer", '"张三"'),
    "borrower's age out of range": (
        {"loans": [{"borrower_age": 131}]},
        "loans[0].borrower_age",
        "less than or equal to 130",
        "131",
    ),
    "loan purpose outside its enumeration": (
        {"loans": [{"purpose": "travel"}]},
        "loans[0].purpose",
        "'production'",
        '"travel"',
    ),
    "negative loan amount": (
        {"loans": [{"amount": "-50000"}]},
        "loans[0].amount",
        "greater than or equal to 0",
        '"-50000"',
    ),
    "loan term of no months": (
        {"loans": [{"term_months": 0}]},
        "loans[0].term_months",
        "greater than or equal to 1",
        "0",
    ),
    "loan term as text": ({"loans": [{"term_months": "12"}]}, "loans[0].term_months", "valid integer", '"12"'),
    "loan applied on a date that is no date": (
        {"loans": [{"applied_on": "2016/03/01"}]},
        "loans[0].applied_on",
        "YYYY-MM-DD",
        '"2016/03/01"',
    ),
    "loan issued on a number": ({"loans": [{"issued_on": 20160301}]}, "loans[0].issued_on", "YYYY-MM-DD", "20160301"),
    "extension of no months": (
        {"loans": [{"extensions": [{"on": "2017-03-01", "months": 0}]}]},
        "loans[0].extensions[0].months",
        "greater than or equal to 1",
        "0",
    ),
    "extension on an impossible date": (
        {"loans": [{"extensions": [{"on": "2017-02-29", "months": 6}]}]},
        "loans[0].extensions[0].on",
        "valid date",
        '"2017-02-29"',
    ),
    "interest rate above 100 %": (
        {"loans": [{"annual_rate": 101}]},
        "loans[0].annual_rate",
        "less than or equal to 100",
        "101",
    ),
    "interest rate with five places": (
        {"loans": [{"annual_rate": "4.35001"}]},
        "loans[0].annual_rate",
        "4 decimal places",
        '"4.35001"',
    ),
    "negative benchmark rate": (
        {"loans": [{"benchmark_rate": -1}]},
        "loans[0].benchmark_rate",
        "greater than or equal to 0",
        "-1",
    ),
    "benchmark rate as a boolean": (
        {"loans": [{"benchmark_rate": True}]},
        "loans[0].benchmark_rate",
        "a number",
        "true",
    ),
    "repaid as text": ({"loans": [{"repaid": "yes"}]}, "loans[0].repaid", "valid boolean", '"yes"'),
    "overdue as a number": ({"loans": [{"overdue": 1}]}, "loans[0].overdue", "valid boolean", "1"),
    "collateral as text": ({"loans": [{"collateral": "房产"}]}, "loans[0].collateral", "valid boolean", '"房产"'),
    "guarantor as a name": ({"loans": [{"guarantor": "李四"}]}, "loans[0].guarantor", "valid boolean", '"李四"'),
    "misuse judged by nobody": (
        {"loans": [{"misused": {**JUDGED, "by": ""}}]},
        "loans[0].misused.by",
        "at least 1 character",
        '""',
    ),
    "misuse given as a plain boolean": ({"loans": [{"misused": True}]}, "loans[0].misused", "an object", "true"),
    "negative credit line": ({"credit_line": -1}, "credit_line", "greater than or equal to 0", "-1"),
    "production cycle of no months": (
        {"loans": [{"production_cycle_months": 0}]},
        "loans[0].production_cycle_months",
        "greater than or equal to 1",
        "0",
    ),
    "relocation placement outside its enumeration": (
        {"relocation_placement": "none"},
        "relocation_placement",
        "'not_relocated'",
        '"none"',
    ),
    "unknown field in a loan": ({"loans": [{"rate": 4.35}]}, "loans[0].rate", "no such field", "4.35"),
    "a list where a record belongs": ({"income": [1, 2]}, "income", "an object", "[1, 2]"),
    "a record where a list belongs": ({"members": {"age": 3}}, "members", "a list", '{"age": 3}'),
}


def with_id(facts: dict, path: str) -> dict:
    """The case's facts with a household id, except in the case about the id itself."""
    return facts if path == "id" else {"id": "h1", **facts}


@pytest.mark.parametrize("facts, path, expected, given", INVALID.values(), ids=INVALID.keys())
def test_invalid_facts_name_the_field_and_what_was_expected(facts, path, expected, given):
    problem = only_problem(with_id(facts, path))
    assert problem.path == path
    assert expected in problem.expected
    assert problem.given == given


@pytest.mark.parametrize("facts, path, expected, given", INVALID.values(), ids=INVALID.keys())
def test_json_text_gives_the_same_problems_as_decoded_json(facts, path, expected, given):
    data = with_id(facts, path)
    from_text = problems(json.dumps(data, ensure_ascii=False))
    from_bytes = problems(json.dumps(data).encode())
    assert [p.path for p in from_text] == [p.path for p in from_bytes] == [path]


@pytest.mark.parametrize(
    "text, detail",
    [
        ('{"id": "h1",', "EOF"),
        ("{'id': 'h1'}", "key must be a string"),
        ('{"id": "h1"} trailing', "trailing characters"),
        ("", "EOF"),
    ],
)
def test_malformed_json_text(text, detail):
    problem = only_problem(text)
    assert problem.path == "(json)"
    assert problem.expected == "well-formed JSON"
    assert detail in problem.given


def test_json_that_is_not_an_object():
    assert only_problem("[1, 2]").expected == "an object"
    problem = only_problem([1, 2])  # already decoded
    assert problem.path == "(household)"
    assert problem.expected == "an object"


def test_every_problem_is_reported_at_once_and_the_message_names_each_path():
    with pytest.raises(povrules.FactsError) as caught:
        povrules.parse_household(
            {"members": [{"age": 200}, {"age": "x"}], "income": {"per_capita_net": -3}, "extra": 1},
            source="village-7.json",
        )
    error = caught.value
    assert sorted(p.path for p in error.problems) == [
        "extra",
        "id",
        "income.per_capita_net",
        "members[0].age",
        "members[1].age",
    ]
    text = str(error)
    assert text.startswith("village-7.json: invalid household facts: ")
    for p in error.problems:
        assert f"{p.path}: expected {p.expected}" in text
    assert error.source == "village-7.json"
    assert isinstance(error, povrules.PovrulesError)


def test_fact_problem_reads_as_one_line():
    assert str(FactProblem("members[0].age", "less than or equal to 130", "200")) == (
        "members[0].age: expected less than or equal to 130, got 200"
    )
    assert str(FactProblem("id", "a value (the field is required)")) == "id: expected a value (the field is required)"


def test_long_given_values_are_shortened():
    problem = only_problem({"id": "h1", "village": ["x" * 200]})
    assert problem.path == "village"
    assert len(problem.given) == 60 and problem.given.endswith("...")


def test_a_facts_error_means_nothing_is_evaluated(identify_rs):
    # Validation happens before evaluation, and evaluation refuses anything but a validated Household.
    bad = {"id": "h1", "rural_hukou": True, "income": {"per_capita_net": -1}}
    with pytest.raises(povrules.FactsError):
        povrules.parse_household(bad)
    for not_a_household in (bad, json.dumps(bad)):
        with pytest.raises(TypeError, match="parse_household"):
            povrules.evaluate(not_a_household, identify_rs, "identify", as_of=date(2021, 1, 1))


def test_valid_household_keeps_exact_money_and_dates(build):
    h = build.household(
        income={
            "per_capita_net": "3999.99",
            "wage": 0.1,
            "transfer": 0.2,
            "period_start": "2020-01-01",
            "period_end": "2020-12-31",
        },
        members=[{"age": 0}, {"age": 130, "id_number": "53292219800101123x"}],
    )
    assert h.income.per_capita_net == Decimal("3999.99")
    assert h.income.wage + h.income.transfer == Decimal("0.3")  # exact, not 0.30000000000000004
    assert isinstance(h.income.wage, Decimal)
    assert h.income.period_end == date(2020, 12, 31)
    assert [m.age for m in h.members] == [0, 130]


def test_unknown_is_none_and_an_empty_list_is_known_to_be_none(build):
    h = build.household(projects=[], assets={"vehicles": []})
    assert h.projects == () and h.assets.vehicles == ()
    assert h.income is None and h.assets.properties is None and h.rural_hukou is None


def test_a_period_of_one_day_is_valid(build):
    h = build.household(income={"period_start": "2021-01-01", "period_end": "2021-01-01"})
    assert h.income.period_start == h.income.period_end


def test_judged_facts_keep_their_provenance(build):
    h = build.household(assessments={"income_stable": {**JUDGED, "evidence": ["走访记录 2021-02-27"]}})
    judged = h.assessments.income_stable
    assert (judged.value, judged.by, judged.on, judged.evidence) == (
        True,
        "村第一书记 王某",
        date(2021, 3, 1),
        ("走访记录 2021-02-27",),
    )


LOAN = {
    "kind": "microcredit",
    "borrower": 0,
    "borrower_age": 58,
    "purpose": "production",
    "amount": 50000,
    "term_months": 12,
    "applied_on": "2016-03-01",
    "issued_on": "2016-03-20",
    "extensions": [{"on": "2017-03-10", "months": 12}],
    "annual_rate": 4.35,
    "benchmark_rate": "4.35",
    "repaid": False,
    "overdue": False,
    "collateral": False,
    "guarantor": False,
    "misused": JUDGED | {"value": False},
}


def test_loans_students_and_parents_are_read_exactly(build):
    h = build.household(
        credit_rated=True,
        credit_line="50000",
        loans=[LOAN, {}],
        members=[
            {"relation": "head", "age": 58},
            {"relation": "spouse", "age": 55, "disability_grade": 2},
            {
                "relation": "grandchild",
                "age": 9,
                "education_stage": "primary",
                "school_registered": True,
                "boarding": True,
                "first_year": False,
                "orphan": False,
                "de_facto_unsupported": True,
                "parents": [
                    {"role": "father", "deceased": True},
                    {"role": "mother", "missing": False, "unable_to_support": True, "disability_grade": 0},
                ],
            },
            {"relation": "child", "parents": [{"role": "father", "member": 0}, {"role": "mother", "member": 1}]},
        ],
    )
    loan = h.loans[0]
    assert (loan.kind, loan.borrower, loan.borrower_age, loan.purpose, loan.term_months) == (
        "microcredit",
        0,
        58,
        "production",
        12,
    )
    assert loan.amount == Decimal("50000.00") and h.credit_line == Decimal("50000.00")
    assert loan.annual_rate == loan.benchmark_rate == Decimal("4.3500")
    assert loan.issued_on == date(2016, 3, 20) and loan.extensions[0].months == 12
    assert loan.misused.value is False and loan.misused.by == JUDGED["by"]
    assert h.loans[1].kind is None and h.loans[1].extensions is None  # a loan whose facts are unknown
    child = h.members[2]
    assert (child.boarding, child.school_registered, child.first_year, child.orphan) == (True, True, False, False)
    assert child.de_facto_unsupported is True
    assert [p.role for p in child.parents] == ["father", "mother"] and child.parents[1].unable_to_support is True
    assert child.parents[0].member is None and child.parents[1].missing is False
    assert [p.member for p in h.members[3].parents] == [0, 1]
    assert h.members[0].parents is None  # unknown, not "no parents"


def test_indices_are_checked_only_against_known_members(build):
    # Unknown members: nothing to check a borrower's index by, so it is kept as given.
    assert build.household(loans=[{"borrower": 3}]).loans[0].borrower == 3


def test_a_school_body_may_decide_on_student_aid(build):
    override = {"rule": "r", "body": "學校學生資助工作領導小組", "decided_on": "2021-03-01", "outcome": "upheld"}
    h = build.household(overrides=[override])
    assert h.overrides[0].body == "学校学生资助工作领导小组"  # read as its canonical (Simplified) name


def test_the_columnar_reader_checks_member_indices_as_the_model_does():
    import pyarrow as pa

    from povrules.columnar import arrow_frame

    good = [
        {"id": "a", "members": [{"age": 40}, {"parents": [{"member": 0}]}], "loans": [{"borrower": 1}]},
        {"id": "b", "members": [{"age": 40}], "loans": [{"borrower": None}]},
    ]
    frame = arrow_frame(pa.Table.from_pylist(good))
    assert frame.height == 2
    for bad, path in (
        ({"id": "c", "members": [{"age": 40}], "loans": [{"borrower": 1}]}, "loans[0].borrower"),
        ({"id": "d", "members": [{"parents": [{"member": 0}]}], "loans": []}, "members[0].parents[0].member"),
        ({"id": "e", "members": [{"parents": [{"member": 1}]}], "loans": []}, "members[0].parents[0].member"),
    ):
        with pytest.raises(povrules.FactsError) as caught:
            arrow_frame(pa.Table.from_pylist([*good, bad]))
        assert caught.value.source == "row 3" and [p.path for p in caught.value.problems] == [path]


def test_households_are_frozen(build):
    h = build.household(rural_hukou=True, members=[{"age": 40}])
    with pytest.raises(pydantic.ValidationError):
        h.rural_hukou = False
    with pytest.raises(pydantic.ValidationError):
        h.members[0].age = 41
    assert h.rural_hukou is True and h.members[0].age == 40


# The JSON Schema, for app developers.


@pytest.fixture(scope="module")
def schema():
    return povrules.household_schema()


@pytest.fixture(scope="module")
def validator(schema):
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_a_valid_draft_2020_12_schema(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["id"]


def test_schema_carries_chinese_labels_and_units(schema):
    per_capita = schema["$defs"]["Income"]["properties"]["per_capita_net"]
    assert per_capita["zh"] == "人均纯收入" and per_capita["unit"] == "元"
    assert schema["$defs"]["Member"]["properties"]["age"]["unit"] == "岁"


FULL = {
    "id": "530822-0001",
    "jurisdiction": "cn-yunnan-weishan",
    "rural_hukou": True,
    "members": [
        {
            "id": "m1",
            "age": 52,
            "id_number": "53292219700101123X",
            "labour_capacity": "partial",
            "health": "chronic",
            "disability_grade": 0,
            "is_public_official": False,
            "refuses_to_work": JUDGED,
        },
        {"id": "m2", "age": 15, "enrolled_in_school": True, "education_stage": "junior"},
    ],
    "income": {
        "period_start": "2020-01-01",
        "period_end": "2020-12-31",
        "per_capita_net": "3200.50",
        "wage": 4000,
        "transfer": "1200",
    },
    "assets": {
        "vehicles": [{"kind": "motorcycle", "value": 3000.5}],
        "properties": [],
        "has_large_enterprise": {**JUDGED, "value": False},
    },
    "guarantees": {"food_secure": True, "dwelling_safety_grade": "C"},
    "registration": {"status": "general", "dibao": True},
    "five_looks": {"housing": {"assessed_on": "2016-05-01", "assessor": "王某"}},
    "overrides": [
        {
            "rule": "wubulu_public_official",
            "body": "村民代表会议",
            "decided_on": "2021-02-01",
            "outcome": "set_aside",
            "minutes": "2021-02 会议记录",
        }
    ],
}


def test_schema_and_model_both_accept_a_valid_household(validator):
    assert list(validator.iter_errors(FULL)) == []
    assert povrules.parse_household(FULL).id == "530822-0001"


@pytest.mark.parametrize(
    "change, where",
    [
        ({"income": {"per_capita_net": -1}}, ["income"]),
        ({"income": {"per_capita_net": "-1"}}, ["income"]),
        ({"income": {"per_capita_net": "abc"}}, ["income"]),
        ({"members": [{"age": 200}]}, ["members"]),
        ({"members": [{"agee": 20}]}, ["members"]),
        ({"members": [{"id_number": "123"}]}, ["members"]),
        ({"surplus": 1}, []),
        ({"registration": {"status": "poor"}}, ["registration"]),
        ({"assessments": {"return_risk": {"value": True, "on": "2021-03-01"}}}, ["assessments"]),
        ({"id": None}, ["id"]),
        ({"loans": [{"annual_rate": 101}]}, ["loans"]),
        ({"loans": [{"annual_rate": "100.5"}]}, ["loans"]),
        ({"loans": [{"kind": "mortgage"}]}, ["loans"]),
        ({"members": [{"relation": "cousin"}]}, ["members"]),
        ({"members": [{"parents": [{"role": "uncle"}]}]}, ["members"]),
        ({"credit_line": -5}, ["credit_line"]),
    ],
)
def test_schema_and_model_both_reject_an_invalid_household(validator, change, where):
    data = {**FULL, **change}
    errors = list(validator.iter_errors(data))
    assert errors, "the schema accepted what the model refuses"
    assert [list(e.absolute_path)[:1] for e in errors] == [where]
    with pytest.raises(povrules.FactsError):
        povrules.parse_household(data)


def test_schema_requires_the_household_id(validator):
    errors = list(validator.iter_errors({"rural_hukou": True}))
    assert [e.validator for e in errors] == ["required"]


@pytest.mark.parametrize("amount", ["0", "12", "+12", "3999.9", "3999.99", "999999999999.99", 0, 12.5])
def test_every_amount_the_schema_accepts_the_model_accepts(validator, amount):
    data = {"id": "h1", "income": {"per_capita_net": amount}}
    assert list(validator.iter_errors(data)) == []
    assert povrules.parse_household(data).income.per_capita_net == Decimal(str(amount))


@pytest.mark.parametrize("rate", ["0", "4.35", "+4.35", "4.3500", "99.9999", "100", "100.0000", 0, 4.35, 100])
def test_every_rate_the_schema_accepts_the_model_accepts(validator, rate):
    data = {"id": "h1", "loans": [{"annual_rate": rate}]}
    assert list(validator.iter_errors(data)) == []
    assert povrules.parse_household(data).loans[0].annual_rate == Decimal(str(rate))


def test_authoring_guide_lists_exactly_the_judged_facts_of_the_model():
    """docs/authoring.md names every judged household fact, and no other, so authors find the one to read."""
    from pathlib import Path

    from povrules.lang.types import ListType, RecordType, record_of

    def judged(record: RecordType, prefix: str) -> set[str]:
        found = set()
        for name, field in record.fields.items():
            if field.judged:
                found.add(prefix + name)
            inner = field.type.item if isinstance(field.type, ListType) else field.type
            if isinstance(inner, RecordType) and inner.name not in ("Judged",):
                found |= judged(inner, prefix + name + ("[]." if isinstance(field.type, ListType) else "."))
        return found

    text = (Path(__file__).resolve().parent.parent / "docs" / "authoring.md").read_text(encoding="utf-8")
    section = text.split("The fact model holds these judged facts:", 1)[1].split("\nA new qualifier", 1)[0]
    listed = {line.split("`")[1] for line in section.splitlines() if line.startswith("- `")}
    assert listed == judged(record_of(povrules.Household), "")


@pytest.mark.parametrize(
    ("text", "steps"),
    [("members[0].age", ["members", 0, "age"]), ("hh", ["hh"]), ("a.b[10][2].c", ["a", "b", 10, 2, "c"])],
)
def test_a_fact_path_is_written_and_read_back_one_way(text, steps):
    from povrules.facts import format_path, parse_path

    assert parse_path(text) == steps and format_path(steps) == text


@pytest.mark.parametrize("text", ["", "members[x]", ".age", "a..b", "len(hh.members)", "0a"])
def test_text_that_is_not_a_fact_path_is_refused(text):
    from povrules.facts import format_path, parse_path

    assert parse_path(text) is None
    assert format_path([]) == ""
