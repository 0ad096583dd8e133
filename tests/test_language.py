"""What expressions mean: compiled and evaluated against hand-built households.

Each test parses, checks and compiles a small expression, then evaluates it with
three-valued logic. A missing fact is an ``Unknown`` that names the fact path.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import povrules
from povrules.errors import EvaluationError
from povrules.facts import Household
from povrules.lang import CheckProblem, Compiler, Env, Scope, Unknown, check, parse
from povrules.lang.compiler import days_between, months_between, years_between
from povrules.lang.types import record_of, type_of_value

AS_OF = date(2021, 6, 30)


def evaluate(
    text: str,
    hh: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    as_of: date = AS_OF,
    traced: bool = False,
) -> Any:
    """Parse, check, compile and evaluate ``text``; parameters are typed from their values."""
    params = params or {}
    scope = Scope(record_of(Household), {name: type_of_value(v) for name, v in params.items()}, {})
    checked = check(parse(text), scope)
    fn = Compiler({}, traced).condition(checked)
    household = povrules.parse_household(hh if hh is not None else {"id": "h"})
    return fn(Env(household, params, as_of, [] if traced else None))


def missing(value: Any) -> set[str]:
    assert isinstance(value, Unknown), f"expected an unknown value, got {value!r}"
    return set(value.missing)


# Kleene logic


@pytest.mark.parametrize("traced", [False, True])
def test_false_and_unknown_is_false(traced):
    assert (
        evaluate("hh.rural_hukou and hh.registration.dibao", {"id": "h", "rural_hukou": False}, traced=traced) is False
    )
    assert (
        evaluate("hh.registration.dibao and hh.rural_hukou", {"id": "h", "rural_hukou": False}, traced=traced) is False
    )


@pytest.mark.parametrize("traced", [False, True])
def test_true_or_unknown_is_true(traced):
    assert evaluate("hh.registration.dibao or hh.rural_hukou", {"id": "h", "rural_hukou": True}, traced=traced) is True
    assert evaluate("hh.rural_hukou or hh.registration.dibao", {"id": "h", "rural_hukou": True}, traced=traced) is True


def test_true_and_unknown_is_unknown_naming_the_missing_fact():
    value = evaluate("hh.rural_hukou and hh.registration.dibao", {"id": "h", "rural_hukou": True})
    assert missing(value) == {"hh.registration.dibao"}


def test_false_or_unknown_is_unknown():
    value = evaluate("hh.rural_hukou or hh.registration.dibao", {"id": "h", "rural_hukou": False})
    assert missing(value) == {"hh.registration.dibao"}


def test_not_unknown_is_unknown():
    assert missing(evaluate("not hh.rural_hukou")) == {"hh.rural_hukou"}
    assert evaluate("not hh.rural_hukou", {"id": "h", "rural_hukou": True}) is False


def test_unknowns_merge_every_missing_fact():
    value = evaluate("hh.rural_hukou and hh.registration.dibao and hh.income.per_capita_net < 4000")
    assert missing(value) == {"hh.rural_hukou", "hh.registration.dibao", "hh.income.per_capita_net"}


def test_a_comparison_with_an_unknown_side_is_unknown():
    assert missing(evaluate("hh.income.per_capita_net < 4000")) == {"hh.income.per_capita_net"}
    assert missing(evaluate("hh.income.per_capita_net + 1 > hh.expenditure.rigid_total")) == {
        "hh.income.per_capita_net",
        "hh.expenditure.rigid_total",
    }


def test_a_conditional_with_an_unknown_test_is_unknown():
    assert missing(evaluate("(1 if hh.rural_hukou else 2) == 1")) == {"hh.rural_hukou"}
    assert evaluate("(1 if hh.rural_hukou else 2) == 2", {"id": "h", "rural_hukou": False}) is True


def test_a_judged_fact_reads_its_value():
    judged = {"value": True, "by": "村第一书记 王某", "on": "2021-03-01"}
    hh = {"id": "h", "assessments": {"return_risk": judged}}
    assert evaluate("hh.assessments.return_risk", hh) is True
    assert missing(evaluate("hh.assessments.return_risk")) == {"hh.assessments.return_risk"}


# Quantifiers


MEMBERS = {"id": "h", "members": [{"age": 70}, {}, {"age": 12}]}  # the age of members[1] is not recorded


def test_any_is_true_when_a_known_element_holds_even_with_unknown_ones():
    assert evaluate("any(m.age > 65 for m in hh.members)", MEMBERS) is True


def test_any_is_unknown_when_no_known_element_holds_and_one_is_unknown():
    assert missing(evaluate("any(m.age > 80 for m in hh.members)", MEMBERS)) == {"hh.members[1].age"}


def test_all_is_false_when_a_known_element_fails_even_with_unknown_ones():
    assert evaluate("all(m.age > 65 for m in hh.members)", MEMBERS) is False


def test_all_is_unknown_when_every_known_element_holds_and_one_is_unknown():
    assert missing(evaluate("all(m.age > 5 for m in hh.members)", MEMBERS)) == {"hh.members[1].age"}


def test_count_and_sum_are_unknown_when_an_element_is_unknown():
    assert missing(evaluate("count(m.age > 5 for m in hh.members) >= 2", MEMBERS)) == {"hh.members[1].age"}
    assert missing(evaluate("sum(m.age for m in hh.members) > 0", MEMBERS)) == {"hh.members[1].age"}


def test_count_and_sum_over_known_elements():
    hh = {"id": "h", "members": [{"age": 70}, {"age": 30}, {"age": 12}]}
    assert evaluate("count(m.age >= 18 for m in hh.members) == 2", hh) is True
    assert evaluate("sum(m.age for m in hh.members) == 112", hh) is True
    assert evaluate("count(m for m in hh.members if m.age < 18) == 1", hh) is True
    assert evaluate("sum(m.age for m in hh.members if m.age >= 18) == 100", hh) is True


def test_a_filter_that_excludes_the_unknown_element_keeps_the_result_known():
    hh = {"id": "h", "members": [{"age": 70, "health": "healthy"}, {"health": "chronic"}]}
    assert evaluate('all(m.age > 65 for m in hh.members if m.health == "healthy")', hh) is True
    # A filter that is itself unknown makes the element count as unknown.
    hh = {"id": "h", "members": [{"age": 70, "health": "healthy"}, {"age": 5}]}
    assert missing(evaluate('all(m.age > 65 for m in hh.members if m.health == "healthy")', hh)) == {
        "hh.members[1].health"
    }


def test_quantifiers_over_an_empty_list():
    # A household has at least one member; a list known to be empty is, say, its vehicles.
    hh = {"id": "h", "assets": {"vehicles": []}}
    assert evaluate("any(v.value > 0 for v in hh.assets.vehicles)", hh) is False
    assert evaluate("all(v.value > 0 for v in hh.assets.vehicles)", hh) is True
    assert evaluate("count(v.value > 0 for v in hh.assets.vehicles) == 0", hh) is True
    assert evaluate("sum(v.value for v in hh.assets.vehicles) == 0", hh) is True


def test_a_quantifier_over_an_unknown_list_is_unknown():
    assert missing(evaluate("any(m.age > 0 for m in hh.members)")) == {"hh.members"}
    assert missing(evaluate('any(v.kind == "car" for v in hh.assets.vehicles)')) == {"hh.assets.vehicles"}


def test_nested_quantifiers_name_both_positions():
    hh = {"id": "h", "members": [{"age": 30, "illegal_conduct": []}, {"age": 40}]}
    text = 'any(any(c == "drugs" for c in m.illegal_conduct) for m in hh.members)'
    assert missing(evaluate(text, hh)) == {"hh.members[1].illegal_conduct"}


def test_traced_any_stops_at_the_first_element_that_holds():
    scope = Scope(record_of(Household), {}, {})
    fn = Compiler({}, traced=True).condition(check(parse("any(m.age > 65 for m in hh.members)"), scope))
    rec: list[tuple[Any, ...]] = []
    assert fn(Env(povrules.parse_household(MEMBERS), {}, AS_OF, rec)) is True
    leaves = [leaf for leaf in rec if isinstance(leaf, tuple)]
    assert [(leaf[1], leaf[2], leaf[3]) for leaf in leaves] == [(70, 65, True)]  # one leaf: members[0] decided it
    # and the marks of its structure: the quantifier opens, the list's size, the one element visited, the close
    marks = [(m.kind, m.value) for m in rec if not isinstance(m, tuple)]
    assert marks == [("open", None), ("size", 3), ("element", 0), ("close", True)]


# Membership and parameters


def test_in_with_a_parameter_list():
    params = {"kinds": ("car", "truck")}
    hh = {"id": "h", "assets": {"vehicles": [{"kind": "tricycle"}, {"kind": "truck"}]}}
    assert evaluate("any(v.kind in p.kinds for v in hh.assets.vehicles)", hh, params) is True
    assert evaluate("all(v.kind not in p.kinds for v in hh.assets.vehicles)", hh, params) is False


def test_in_with_a_parameter_list_of_numbers_from_yaml():
    # The loader reads whole numbers in a list parameter as Decimal; an int fact still matches.
    params = {"grades": (Decimal(1), Decimal(2))}
    assert (
        evaluate(
            "any(m.disability_grade in p.grades for m in hh.members)",
            {"id": "h", "members": [{"disability_grade": 2}]},
            params,
        )
        is True
    )
    assert (
        evaluate(
            "any(m.disability_grade in p.grades for m in hh.members)",
            {"id": "h", "members": [{"disability_grade": 3}]},
            params,
        )
        is False
    )


def test_in_with_a_literal_list_and_an_unknown_left_side():
    assert (
        evaluate(
            'hh.guarantees.dwelling_safety_grade in ["C", "D"]',
            {"id": "h", "guarantees": {"dwelling_safety_grade": "D"}},
        )
        is True
    )
    assert missing(evaluate('hh.guarantees.dwelling_safety_grade in ["C", "D"]')) == {
        "hh.guarantees.dwelling_safety_grade"
    }


# Numbers


def test_decimal_arithmetic_is_exact():
    assert evaluate("0.1 + 0.2 == 0.3") is True
    assert evaluate("hh.income.per_capita_net * 3 == 0.3", {"id": "h", "income": {"per_capita_net": "0.1"}}) is True
    assert evaluate("1 / 4 == 0.25") is True
    assert evaluate("-0.5 + 1 == 0.5") is True


def test_the_value_of_a_sum_of_decimals_is_a_decimal_with_no_binary_error():
    scope = Scope(record_of(Household), {}, {})
    fn = Compiler({}, False).value(check(parse("0.1 + 0.2"), scope))
    value = fn(Env(povrules.parse_household({"id": "h"}), {}, AS_OF, None))
    assert value == Decimal("0.3") and isinstance(value, Decimal)


def test_a_money_fact_equals_a_parameter_exactly_at_the_line():
    hh = {"id": "h", "income": {"per_capita_net": "6500.00"}}
    assert evaluate("hh.income.per_capita_net <= p.line", hh, {"line": Decimal("6500")}) is True
    assert evaluate("hh.income.per_capita_net < p.line", hh, {"line": Decimal("6500")}) is False


def test_division_by_zero_is_an_evaluation_error():
    hh = {"id": "h", "income": {"total_net": "100", "per_capita_net": "0"}}
    with pytest.raises(EvaluationError, match="division by zero"):
        evaluate("hh.income.total_net / hh.income.per_capita_net > 1", hh)


def test_min_max_abs_len():
    hh = {"id": "h", "income": {"wage": "120.50", "business": "80"}, "members": [{}, {}, {}]}
    assert evaluate("max(hh.income.wage, hh.income.business, 100) == 120.5", hh) is True
    assert evaluate("min(hh.income.wage, hh.income.business, 100) == 80", hh) is True
    assert evaluate("abs(hh.income.business - hh.income.wage) == 40.5", hh) is True
    assert evaluate("len(hh.members) == 3", hh) is True
    assert evaluate('max(date("2020-01-01"), as_of) == as_of') is True
    assert evaluate('min(date("2020-01-01"), as_of) == date("2020-01-01")') is True


def test_min_with_an_unknown_argument_is_unknown():
    assert missing(evaluate("min(hh.income.wage, 100) < 50")) == {"hh.income.wage"}


# Dates and durations


def test_date_literal_and_as_of():
    assert evaluate('as_of == date("2021-06-30")') is True
    assert evaluate('as_of > date("2021-01-01")') is True
    assert (
        evaluate(
            'hh.registration.registered_on < date("2016-01-01")',
            {"id": "h", "registration": {"registered_on": "2015-12-31"}},
        )
        is True
    )


@pytest.mark.parametrize("text", ['date("2021-02-30") < as_of', 'date("2021/01/01") < as_of', 'date("") < as_of'])
def test_a_bad_date_literal_is_refused_when_checked(text):
    with pytest.raises(CheckProblem, match="is not a date in YYYY-MM-DD form") as info:
        evaluate(text)
    assert info.value.span.column == 6  # the string inside date(…)


def test_date_takes_one_literal():
    with pytest.raises(CheckProblem, match="date\\(\\) takes one literal"):
        evaluate("date(hh.id) < as_of")
    with pytest.raises(CheckProblem, match="date\\(\\) takes one literal"):
        evaluate('date("2021-01-01", "2021-01-02") < as_of')


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2021, 1, 15), date(2021, 2, 14), 0),
        (date(2021, 1, 15), date(2021, 2, 15), 1),  # complete on the same day-of-month
        (date(2021, 1, 31), date(2021, 2, 28), 0),  # February has no 31st: not yet a month
        (date(2021, 1, 31), date(2021, 3, 1), 1),  # … it completes on the day after February ends
        (date(2021, 1, 31), date(2021, 3, 31), 2),
        (date(2021, 1, 30), date(2021, 2, 28), 0),
        (date(2021, 2, 28), date(2021, 3, 28), 1),
        (date(2020, 2, 29), date(2021, 2, 28), 11),  # a leap day anniversary completes on 1 March
        (date(2020, 2, 29), date(2021, 3, 1), 12),
        (date(2021, 3, 15), date(2021, 1, 20), -1),  # backwards: negative, counted the same way
        (date(2021, 5, 5), date(2021, 5, 5), 0),
    ],
)
def test_months_between(start, end, months):
    """``months_between(start, end)`` counts whole months from start to end.

    Definition: the n-th month is complete on the day of end's month that has
    start's day-of-month (15 Jan → 15 Feb is one month). When that day does not
    exist (31 Jan → February), the month completes on the first day of the next
    month. Counting backwards gives the negative of counting forwards.
    ``years_between`` is whole months // 12, counted like an age, and
    ``days_between`` is ``(end - start).days``.
    """
    assert months_between(start, end) == months
    assert evaluate(f'months_between(date("{start}"), date("{end}")) == {months}') is True


def _month_mark(start: date, n: int) -> date:
    """The day n whole months after start: the same day-of-month, or the 1st of the next month if it is missing."""
    index = start.year * 12 + start.month - 1 + n
    year, month = divmod(index, 12)
    try:
        return date(year, month + 1, start.day)
    except ValueError:
        year, month = divmod(index + 1, 12)
        return date(year, month + 1, 1)


@given(st.dates(date(1950, 1, 1), date(2090, 12, 31)), st.dates(date(1950, 1, 1), date(2090, 12, 31)))
def test_months_between_matches_its_definition(a, b):
    start, end = min(a, b), max(a, b)
    n = months_between(start, end)
    assert _month_mark(start, n) <= end < _month_mark(start, n + 1)
    assert months_between(end, start) == -n
    assert years_between(start, end) == n // 12
    assert years_between(end, start) == -(n // 12)
    assert days_between(start, end) == (end - start).days


@pytest.mark.parametrize(
    ("start", "end", "years"),
    [
        ("2000-06-30", "2021-06-30", 21),  # a birthday today counts
        ("2000-07-01", "2021-06-30", 20),
        ("2000-02-29", "2021-02-28", 20),  # a leap-day birth turns 21 on 1 March
        ("2000-02-29", "2021-03-01", 21),
    ],
)
def test_years_between_counts_like_an_age(start, end, years):
    assert evaluate(f'years_between(date("{start}"), date("{end}")) == {years}') is True


def test_days_between_and_durations_from_facts():
    hh = {"id": "h", "monitoring": {"included_on": "2021-01-31"}}
    assert evaluate("days_between(hh.monitoring.included_on, as_of) == 150", hh) is True
    assert evaluate("months_between(hh.monitoring.included_on, as_of) == 4", hh) is True  # 31 May … 30 June is short
    assert missing(evaluate("months_between(hh.monitoring.included_on, as_of) >= 6")) == {"hh.monitoring.included_on"}


def test_as_of_changes_the_result():
    hh = {"id": "h", "monitoring": {"included_on": "2021-01-15"}}
    text = "months_between(hh.monitoring.included_on, as_of) >= 6"
    assert evaluate(text, hh, as_of=date(2021, 7, 14)) is False
    assert evaluate(text, hh, as_of=date(2021, 7, 15)) is True


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2021-01-15", 1, "2021-02-15"),
        ("2021-01-31", 1, "2021-02-28"),  # a day the month lacks: its last day (民法典 第202条)
        ("2020-01-31", 1, "2020-02-29"),
        ("2021-03-31", -1, "2021-02-28"),
        ("2021-11-30", 3, "2022-02-28"),
        ("2021-05-05", 0, "2021-05-05"),
    ],
)
def test_add_months(start, n, expected):
    assert evaluate(f'add_months(date("{start}"), {n}) == date("{expected}")') is True


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2016-07-01", 2, "2018-07-01"),
        ("2020-02-29", 1, "2021-02-28"),  # no 29 February in 2021
        ("2020-02-29", 4, "2024-02-29"),
        ("2018-07-01", -2, "2016-07-01"),
    ],
)
def test_add_years(start, n, expected):
    assert evaluate(f'add_years(date("{start}"), {n}) == date("{expected}")') is True


@given(st.dates(date(1950, 1, 1), date(2090, 12, 31)), st.integers(-600, 600))
def test_add_months_is_the_end_of_a_period_of_whole_months(start, n):
    from povrules.lang.compiler import add_months

    end = add_months(start, n)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == n
    assert end.day == start.day or (end.day < start.day and (end + timedelta(days=1)).day == 1)


def test_add_months_checks_its_arguments_and_keeps_unknowns():
    hh = {"id": "h", "monitoring": {"included_on": "2021-01-31"}}
    assert evaluate("as_of <= add_months(hh.monitoring.included_on, 6)", hh, as_of=date(2021, 7, 31)) is True
    assert evaluate("as_of <= add_months(hh.monitoring.included_on, 6)", hh, as_of=date(2021, 8, 1)) is False
    assert missing(evaluate("as_of <= add_years(hh.monitoring.included_on, 1)")) == {"hh.monitoring.included_on"}
    with pytest.raises(CheckProblem, match=r"add_months\(\) takes a date and a whole number"):
        evaluate('add_months(date("2021-01-01"), 1.5) == as_of')
    with pytest.raises(CheckProblem, match=r"add_years\(\) takes a date and a whole number"):
        evaluate("add_years(3, 1) == as_of")
