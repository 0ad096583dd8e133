"""Facts that texts compute figures from, and the functions to compute with.

Members' residence (实际共同生活), income and expenditure items with their periods, a village's two
yearly levels and its county's non-poor villages; ``year``/``month``/``day``/``add_days``. Each
function is evaluated by the row engine and by the columnar translation, which must agree.
"""

from __future__ import annotations

import random
import re
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import povrules
from povrules.errors import EvaluationError, FactsError
from povrules.facts import Household, facts_schema
from povrules.lang import CheckProblem, Compiler, Env, Scope, Unknown, check, parse
from povrules.lang.compiler import add_days
from povrules.lang.types import DECIMAL, record_of

pl = pytest.importorskip("polars")

from povrules.columnar import caseload_frame, decide_frame, rule_values_frame
from povrules.columnar.translate import add_days_expr
from povrules.trace import leaf_conditions

AS_OF = date(2021, 6, 30)
RULESET = Path(__file__).resolve().parent.parent / "rulesets" / "cn-national" / "ruleset.yaml"


def evaluate(text: str, hh: dict[str, Any] | None = None, as_of: date = AS_OF) -> Any:
    """Parse, check, compile and evaluate ``text`` against a household (the row engine)."""
    checked = check(parse(text), Scope(record_of(Household), {}, {}))
    return Compiler({}, False).value(checked)(Env(povrules.parse_household(hh or {"id": "h"}), {}, as_of, None))


def missing(value: Any) -> set[str]:
    assert isinstance(value, Unknown), f"expected an unknown value, got {value!r}"
    return set(value.missing)


def item(kind: str, amount: Any, start: str | None = None, end: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "amount": amount}
    if start is not None:
        out["period_start"] = start
    if end is not None:
        out["period_end"] = end
    return out


# Facts: validation and schema


def test_an_item_period_ending_before_it_starts_is_refused_naming_the_field() -> None:
    with pytest.raises(
        FactsError,
        match=r"members\[0\]\.income_items\[0\]\.period_end: expected a date on or after "
        r"period_start \(2021-05-01\)",
    ):
        povrules.parse_household(
            {"id": "h", "members": [{"income_items": [item("wage", 1, "2021-05-01", "2021-04-30")]}]}
        )
    with pytest.raises(FactsError, match=r"expenditure\.items\[0\]\.period_end"):
        povrules.parse_household(
            {"id": "h", "expenditure": {"items": [item("medical", 1, "2021-05-01", "2021-04-30")]}}
        )
    # One day is a period: the first day may be the last.
    povrules.parse_household({"id": "h", "income": {"items": [item("wage", 1, "2021-05-01", "2021-05-01")]}})


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"kind": "salary", "amount": 1}, "kind"),
        ({"kind": "wage"}, "amount"),
        ({"kind": "wage", "amount": -1}, "amount"),
        ({"kind": "wage", "amount": "1e3"}, "amount"),
        ({"kind": "wage", "amount": 1, "period_start": "20210501"}, "period_start"),
        ({"kind": "wage", "amount": 1, "note": "x"}, "note"),
    ],
)
def test_a_bad_income_item_is_refused_naming_the_field(given: dict[str, Any], field: str) -> None:
    with pytest.raises(FactsError, match=rf"income\.items\[0\]\.{field}:"):
        povrules.parse_household({"id": "h", "income": {"items": [given]}})


def test_lives_with_household_is_a_strict_flag() -> None:
    with pytest.raises(FactsError, match=r"members\[0\]\.lives_with_household"):
        povrules.parse_household({"id": "h", "members": [{"lives_with_household": "yes"}]})
    hh = povrules.parse_household({"id": "h", "members": [{"lives_with_household": False, "on_hukou": True}]})
    assert hh.members is not None and hh.members[0].lives_with_household is False


def test_a_county_comparison_group_needs_a_village_and_a_year_in_range() -> None:
    with pytest.raises(FactsError, match=r"county_non_poor_villages: expected at least one village"):
        povrules.parse_facts({"id": "v", "county_non_poor_villages": []}, "village")
    with pytest.raises(FactsError, match=r"county_non_poor_villages\[0\]\.id"):
        povrules.parse_facts({"id": "v", "county_non_poor_villages": [{"year": 2020}]}, "village")
    with pytest.raises(FactsError, match=r"income\.year"):
        povrules.parse_facts({"id": "v", "income": {"year": 20}}, "village")


def test_the_schema_states_the_new_facts_with_labels_and_units() -> None:
    household = facts_schema("household")
    defs = household["$defs"]
    income_item = defs["IncomeItem"]
    assert income_item["required"] == ["kind", "amount"]
    assert income_item["properties"]["amount"]["unit"] == "元"
    assert "personal" not in income_item["properties"]["amount"]  # an amount identifies nobody
    assert set(income_item["properties"]["kind"]["enum"]) >= {"wage", "business", "policy", "insurance_claims"}
    assert defs["ExpenditureItem"]["properties"]["kind"]["enum"][0] == "medical_compliant_out_of_pocket"
    assert defs["Member"]["properties"]["lives_with_household"]["zh"] == "实际共同生活"
    assert "income_items" in defs["Member"]["properties"]
    assert "items" in defs["Income"]["properties"] and "items" in defs["Expenditure"]["properties"]
    village = facts_schema("village")
    group = village["properties"]["county_non_poor_villages"]
    assert group["minItems"] == 1 and group["zh"] == "全县非贫困村"
    assert village["$defs"]["VillageIncome"]["properties"]["year"]["unit"] == "年"


# Functions: the row engine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("year(date('2020-02-29'))", 2020),
        ("month(date('2020-02-29'))", 2),
        ("day(date('2020-02-29'))", 29),
        ("add_days(date('2020-02-28'), 1)", date(2020, 2, 29)),
        ("add_days(date('2021-02-28'), 1)", date(2021, 3, 1)),
        ("add_days(date('2020-12-31'), 1)", date(2021, 1, 1)),
        ("add_days(date('2021-03-01'), -1)", date(2021, 2, 28)),
        ("add_days(date('2020-03-01'), -1)", date(2020, 2, 29)),
        ("add_days(date('2020-05-01'), 0)", date(2020, 5, 1)),
        ("add_days(date('2020-05-01'), 364)", date(2021, 4, 30)),
    ],
)
def test_date_parts_and_add_days(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_add_days_past_the_calendar_is_an_error() -> None:
    with pytest.raises(EvaluationError, match=r"add_days\(9999-12-31, 1\) falls outside the calendar"):
        add_days(date(9999, 12, 31), 1)
    with pytest.raises(EvaluationError, match="falls outside the calendar"):
        add_days(date(2000, 1, 1), -(10**12))


def test_an_unknown_date_makes_its_parts_unknown() -> None:
    assert missing(evaluate("year(hh.income.period_start) == 2020")) == {"hh.income.period_start"}
    assert missing(evaluate("add_days(hh.income.period_end, 1) > as_of")) == {"hh.income.period_end"}


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("year(1) == 1", "year() takes a date, but this is int", 6),
        ("month(hh.members) == 1", "month() takes a date, but this is list", 7),
        ("year(as_of, as_of) == 1", "year() takes one date", 1),
        ("add_days(1, 1) == as_of", "add_days() takes a date first, but this is int", 10),
        ("add_days(as_of, 1.5) == as_of", "add_days() takes a whole number of days second, but this is decimal", 17),
        ("add_days(as_of) == as_of", "add_days() takes a date and a whole number", 1),
    ],
)
def test_new_functions_are_type_checked_at_the_token(text: str, message: str, column: int) -> None:
    with pytest.raises(CheckProblem) as error:
        evaluate(text)
    assert message in error.value.message
    assert error.value.span.column == column


MEMBERS = [
    {"lives_with_household": True, "income_items": [item("wage", 800), item("policy", "300.50")]},
    {"lives_with_household": False, "income_items": [item("wage", 5000)]},
    {"lives_with_household": True, "income_items": []},
]


def test_a_sum_over_members_items_counts_only_those_living_together() -> None:
    text = "sum(sum(i.amount for i in m.income_items) for m in hh.members if m.lives_with_household)"
    assert evaluate(text, {"id": "h", "members": MEMBERS}) == Decimal("1100.50")
    unknown = [dict(MEMBERS[0], lives_with_household=None), *MEMBERS[1:]]
    assert missing(evaluate(text, {"id": "h", "members": unknown})) == {"hh.members[0].lives_with_household"}
    no_items = [dict(MEMBERS[0], income_items=None), *MEMBERS[1:]]
    assert missing(evaluate(text, {"id": "h", "members": no_items})) == {"hh.members[0].income_items"}


# Both engines, side by side


RULES = {
    "t_together": "sum(sum(i.amount for i in m.income_items if i.kind != 'policy') for m in hh.members "
    "if m.lives_with_household) >= 800",
    "t_parts": "year(hh.income.period_start) == 2020 and month(hh.income.period_end) == 4 "
    "and day(hh.income.period_end) == 30",
    "t_twelve": "add_days(add_months(hh.income.period_start, 12), -1) == hh.income.period_end",
    "t_items": "all(add_days(i.period_end, 1) <= as_of for i in hh.income.items)",
    "t_nested_any": "any(any(i.amount > 700 for i in m.income_items) for m in hh.members)",
    "t_expenses": "sum(e.amount for e in hh.expenditure.items if e.kind == 'medical_compliant_out_of_pocket') < 100",
}


@cache
def _variant() -> povrules.Ruleset:
    ruleset = povrules.load_ruleset(RULESET)
    for rule_id, when in RULES.items():
        ruleset = ruleset.with_rule(
            rule_id, add_to=("household_exit", "criteria"), when=when, title={"zh": "测试", "en": "test"}
        )
    return ruleset


def _households() -> list[Any]:
    periods = [
        ("2020-05-01", "2021-04-30"),
        ("2020-05-01", "2021-04-29"),
        ("2020-02-29", "2021-02-28"),
        ("2019-03-01", "2020-02-29"),
        (None, "2021-04-30"),
        ("2021-01-01", "2021-12-31"),
    ]
    out = []
    for n in range(40):
        start, end = periods[n % len(periods)]
        members = [dict(m) for m in MEMBERS[: 1 + n % 3]]
        members[0]["income_items"] = [item("wage", 700 + 20 * (n % 10)), item("policy", "300.50")]
        if n % 7 == 0:
            members[0]["lives_with_household"] = None
        if n % 11 == 0:
            members[-1]["income_items"] = None
        items = [item("other", n, start, end if n % 9 else None)] if n % 4 else []
        income: dict[str, Any] = {"period_end": end, "items": items}
        if start is not None:
            income["period_start"] = start
        expenditure = {"items": [item("medical_compliant_out_of_pocket", 40 * (n % 4), start, end)]} if n % 5 else None
        out.append(
            povrules.parse_household(
                {"id": f"h{n:02d}", "members": members, "income": income, "expenditure": expenditure}
            )
        )
    return out


@pytest.mark.parametrize("day", [AS_OF, date(2021, 4, 30), date(2021, 5, 1)])
def test_columnar_agrees_with_the_row_engine_on_the_new_functions(day: date) -> None:
    ruleset, households = _variant(), _households()
    prepared = povrules.plan(ruleset, "household_exit", traced=False)
    values = rule_values_frame(caseload_frame(households), ruleset, "household_exit", day)
    seen: dict[str, set[Any]] = {rule_id: set() for rule_id in RULES}
    for index, household in enumerate(households):
        expected = prepared.rule_values(household, day)[0]
        for rule, want in zip(prepared.rules, expected):
            got = values[rule.id][index]
            want = None if want.__class__.__name__ == "Unknown" else want
            assert got == want, (household.id, rule.id)
            if rule.id in seen:
                seen[rule.id].add(want)
    # Every new rule is seen true, false and unknown, so that the comparison could fail.
    assert {rule_id: found for rule_id, found in seen.items() if found != {True, False, None}} == {}
    decided = decide_frame(caseload_frame(households), ruleset, "household_exit", day)
    made = list(povrules.evaluate_iter(households, ruleset, "household_exit", as_of=day, trace=False))
    assert decided["outcome"].to_list() == [m.outcome for m in made]
    assert decided["missing"].to_list() == [list(m.missing) for m in made]


def test_add_days_in_columns_matches_the_row_engine_and_marks_the_calendar_edge() -> None:
    starts = [date(2020, 2, 28), date(2021, 2, 28), date(2020, 12, 31), date(1, 1, 1), date(9999, 12, 31)]
    counts = [1, 1, 1, -1, 1]
    frame = pl.DataFrame({"s": starts, "n": counts})
    result, outside = add_days_expr(pl.col("s"), pl.col("n"))
    out = frame.select(result.alias("r"), outside.alias("o"))
    assert out["r"].to_list() == [date(2020, 2, 29), date(2021, 3, 1), date(2021, 1, 1), None, None]
    assert out["o"].to_list() == [False, False, False, True, True]


def test_the_trace_names_nested_elements_and_prints_years_plainly() -> None:
    household = _households()[1]
    decision = povrules.evaluate(household, _variant(), "household_exit", as_of=AS_OF)
    text = decision.explain("en")
    assert "The year of first day of the income period 2020 equals 2020 → holds" in text and "2,020" not in text
    lines = text.splitlines()
    amount = lines.index("              Amount over the period 720 yuan is above 700 → holds")
    assert lines[amount - 1].strip() == "item 1:" and lines[amount - 3].strip() == "member 1:"


# Stage two: a parameter at a date, and refusing a figure over the wrong period

COMPUTED = """\
id: test-computed
version: "1"
title: {zh: 测试, en: test}
sources:
  S: {file: 003_e3e29ff1be94684a.txt, title: seed}
parameters:
  county_average:
    title: {zh: 全县同期农民人均纯收入, en: The county's average of the same period}
    unit: 元
    values:
      - {from: 2019-01-01, until: 2019-12-31, value: 7000, cite: {source: S, line: 1, quote: a}}
      - {from: 2020-01-01, until: 2020-12-31, value: 7514.5, cite: {source: S, line: 1, quote: b}}
      - {from: 2021-01-01, value: 8000, cite: {source: S, line: 1, quote: c}}
  share:
    title: {zh: 比例, en: share}
    values:
      - {from: 2015-01-01, value: 0.7, cite: {source: S, line: 1, quote: d}}
derived:
  living_together:
    title: {zh: 共同生活人数, en: Members living together}
    expr: count(m.lives_with_household for m in hh.members)
  income_12m:
    title: {zh: 近12个月家庭纯收入, en: Household net income over the twelve months}
    expr: >-
      sum(sum(i.amount for i in m.income_items) for m in hh.members if m.lives_with_household)
      + sum(i.amount for i in hh.income.items)
    requires:
      - expr: >-
          months_between(hh.income.period_start, add_days(hh.income.period_end, 1)) == 12
          and months_between(hh.income.period_start, hh.income.period_end) == 11
        cite: {source: S, line: 642, quote: twelve months}
        note: The income is counted over twelve whole months.
      - expr: all(add_days(add_months(i.period_start, 12), -1) == i.period_end for i in hh.income.items)
        cite: {source: S, line: 642, quote: each item too}
  per_capita_12m:
    title: {zh: 近12个月人均纯收入, en: Per-capita net income over the twelve months}
    expr: income_12m / living_together
rules:
  low_income:
    title: {zh: 低收入, en: low income}
    cite: {source: S, line: 1, quote: e}
    when: per_capita_12m < at(p.county_average, hh.income.period_end) * p.share
  far_below:
    title: {zh: 远低于上年, en: far below the year before}
    cite: {source: S, line: 1, quote: f}
    outcome: not_identified
    when: income_12m * 2 < at(p.county_average, hh.income.period_start)
decisions:
  identify:
    title: {zh: 识别, en: identify}
    kind: eligibility
    criteria: [low_income]
    exceptions: [far_below]
    outcomes: {yes: identified, no: not_identified}
"""


@pytest.fixture
def computed(tmp_path: Path) -> povrules.Ruleset:
    path = tmp_path / "ruleset.yaml"
    path.write_text(COMPUTED, encoding="utf-8")
    return povrules.load_ruleset(path)


def household(
    start: str | None,
    end: str | None,
    *,
    items: tuple[str | None, str | None] | None = None,
    together: bool | None = True,
    wage: int = 3000,
    ident: str = "h",
) -> Any:
    income: dict[str, Any] = {"items": [item("transfer", 500, *(items or (start, end)))]}
    if start is not None:
        income["period_start"] = start
    if end is not None:
        income["period_end"] = end
    return povrules.parse_household(
        {
            "id": ident,
            "income": income,
            "members": [
                {"lives_with_household": together, "income_items": [item("wage", wage)]},
                {"lives_with_household": True, "income_items": []},
            ],
        }
    )


def test_at_reads_the_value_in_force_on_the_date_given(computed: povrules.Ruleset) -> None:
    text = "at(p.county_average, hh.income.period_end)"
    checked = check(
        parse(text), Scope(record_of(Household), {"county_average": computed.parameters["county_average"].type}, {})
    )
    fn = Compiler({}, False, parameters=computed.parameters).value(checked)

    def on(day: str) -> Any:
        return fn(Env(household(None, day), {}, AS_OF, None))

    assert on("2020-01-01") == Decimal("7514.5")  # the day a value starts
    assert on("2019-12-31") == 7000  # the day before: the earlier value, on its 'until'
    assert on("2020-12-31") == Decimal("7514.5")
    assert on("2024-06-30") == 8000  # the last value, open-ended
    with pytest.raises(
        EvaluationError,
        match=r"parameter 'county_average' \(read by 'at\(p\.county_average, "
        r"hh\.income\.period_end\)'\) has no value in force on 2018-12-31; it has "
        r"values 2019-01-01 to 2019-12-31, 2020-01-01 to 2020-12-31, 2021-01-01 on",
    ):
        on("2018-12-31")
    assert missing(fn(Env(household(None, None), {}, AS_OF, None))) == {"hh.income.period_end"}


def test_a_parameter_read_only_through_at_needs_no_value_on_the_evaluation_date(computed: povrules.Ruleset) -> None:
    rule = computed.rules["far_below"]
    assert rule.parameters == ("county_average",) and rule.dated_parameters == ("county_average",)
    assert computed.rules["low_income"].dated_parameters == ("county_average",)
    assert computed.warnings == ()  # read through at(): not an unread parameter
    # Before any value starts, p.share is read on the date itself and the evaluation is refused as before.
    with pytest.raises(EvaluationError, match="parameter 'share' .* has no value in force on 2014-06-30"):
        povrules.evaluate(household("2013-05-01", "2014-04-30"), computed, "identify", as_of=date(2014, 6, 30))


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("at(1, as_of) == 1", "at() takes a parameter first, written p.<name>, but this is '1'", 4),
        ("at(p.share, 1) == 1", "at() takes a date second, but this is int", 13),
        ("at(p.share) == 1", "at() takes a parameter and a date", 1),
    ],
)
def test_at_is_type_checked_at_the_token(text: str, message: str, column: int) -> None:
    with pytest.raises(CheckProblem) as error:
        check(parse(text), Scope(record_of(Household), {"share": DECIMAL}, {}))
    assert message in error.value.message
    assert error.value.span.column == column


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            (
                "[{from: 2019-01-01, until: 2019-12-31, value: 1, cite: {source: S, line: 1, quote: a}}, "
                "{from: 2019-12-31, value: 2, cite: {source: S, line: 1, quote: a}}]"
            ),
            "the values of parameter 'x' overlap: this one starts 2019-12-31, on or before the previous one's 'until' (2019-12-31)",
        ),
        (
            "[{from: 2019-01-01, until: 2018-12-31, value: 1, cite: {source: S, line: 1, quote: a}}]",
            "'until' of a value of parameter 'x' (2018-12-31) is before its 'from'",
        ),
        (
            "[{from: 2019-01-01, until: soon, value: 1, cite: {source: S, line: 1, quote: a}}]",
            "'until' in parameter 'x' must be a date",
        ),
    ],
)
def test_parameter_periods_must_not_overlap(tmp_path: Path, values: str, message: str) -> None:
    text = COMPUTED.replace(
        "parameters:\n", f"parameters:\n  x:\n    title: {{zh: x, en: x}}\n    values: {values}\n", 1
    )
    path = tmp_path / "ruleset.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(povrules.RulesetError, match=re.escape(message)):
        povrules.load_ruleset(path)


def test_a_value_with_until_leaves_a_gap_that_p_reads_as_no_value(tmp_path: Path) -> None:
    text = COMPUTED.replace("{from: 2015-01-01, value: 0.7,", "{from: 2015-01-01, until: 2020-12-31, value: 0.7,")
    path = tmp_path / "ruleset.yaml"
    path.write_text(text, encoding="utf-8")
    ruleset = povrules.load_ruleset(path)
    assert ruleset.parameters["share"].at(date(2020, 12, 31)) is not None
    assert ruleset.parameters["share"].at(date(2021, 1, 1)) is None
    with pytest.raises(EvaluationError, match="parameter 'share' .* has no value in force on 2021-01-01"):
        povrules.evaluate(household("2019-05-01", "2020-04-30"), ruleset, "identify", as_of=date(2021, 1, 1))


def test_a_period_one_day_short_of_twelve_months_is_refused(computed: povrules.Ruleset) -> None:
    whole = povrules.evaluate(household("2019-05-01", "2020-04-30"), computed, "identify", as_of=AS_OF)
    assert whole.outcome == "identified" and whole.missing == ()
    short = povrules.evaluate(household("2019-05-01", "2020-04-29"), computed, "identify", as_of=AS_OF)
    assert short.outcome == "undetermined"
    assert short.missing == ("income_12m.requires[0]", "income_12m.requires[1]")
    trace = short.trace()
    low = next(r for r in trace["rules"] if r["id"] == "low_income")
    assert low["refused"][0] == {
        "marker": "income_12m.requires[0]",
        "derived": "income_12m",
        "requirement": 0,
        "expr": (
            "months_between(hh.income.period_start, add_days(hh.income.period_end, 1)) == 12 "
            "and months_between(hh.income.period_start, hh.income.period_end) == 11"
        ),
        "cite": {"file": "003_e3e29ff1be94684a.txt", "line": 642, "end_line": 642, "quote": "twelve months"},
        "note": {
            "zh": "The income is counted over twelve whole months.",
            "en": "The income is counted over twelve whole months.",
        },
        "title": {"zh": "近12个月家庭纯收入", "en": "Household net income over the twelve months"},
    }
    # The values read are in the trace: the end the text requires and the end recorded.
    read = next(
        c for _, c in leaf_conditions(low) if c["expr"].startswith("months_between(hh.income.period_start, add_days")
    )
    assert (read["result"], read["left"]["value"], read["right"]["value"]) == ("false", 11, 12)
    text = short.explain("en")
    assert (
        "Figure refused: Household net income over the twelve months (requirement 1 is not met); "
        "Source: “Plans of assistance for households out of poverty (twenty pieces)” "
        "(003_e3e29ff1be94684a.txt:642): “twelve months”; "
        "Note: The income is counted over twelve whole months."
    ) in text
    assert "Facts still needed" not in text
    assert "不予计算：近12个月家庭纯收入（第1项要求未满足）" in short.explain("zh")


def test_twelve_months_from_29_february_end_on_28_february(computed: povrules.Ruleset) -> None:
    leap = povrules.evaluate(
        household("2020-02-29", "2021-02-28", items=("2020-03-01", "2021-02-28")), computed, "identify", as_of=AS_OF
    )
    assert "income_12m.requires[0]" not in leap.missing
    for end in ("2021-02-27", "2021-03-01"):
        off = povrules.evaluate(household("2020-02-29", end), computed, "identify", as_of=AS_OF)
        assert "income_12m.requires[0]" in off.missing


def test_an_item_over_another_period_is_refused_and_unknown_inputs_stay_unknown(computed: povrules.Ruleset) -> None:
    shifted = povrules.evaluate(
        household("2019-05-01", "2020-04-30", items=("2019-05-02", "2020-04-30")), computed, "identify", as_of=AS_OF
    )
    assert shifted.missing == ("income_12m.requires[1]",)
    unknown = povrules.evaluate(household(None, "2020-04-30", together=None), computed, "identify", as_of=AS_OF)
    assert unknown.outcome == "undetermined"
    assert unknown.missing == (
        "hh.income.items[0].period_start",
        "hh.income.period_start",
        "hh.members[0].lives_with_household",
    )


def test_a_variant_of_a_parameter_read_through_at_is_rebuilt(computed: povrules.Ruleset) -> None:
    poorer = household("2019-05-01", "2020-04-30", wage=9000)  # 4,750 a head, below 70 % of 7,514.5
    assert povrules.evaluate(poorer, computed, "identify", as_of=AS_OF).outcome == "identified"
    lower = computed.with_parameter("county_average", 5000)  # 70 % of it is 3,500
    assert povrules.evaluate(poorer, lower, "identify", as_of=AS_OF).outcome == "not_identified"


def _computed_households() -> list[Any]:
    periods = [
        ("2019-05-01", "2020-04-30"),
        ("2019-05-01", "2020-04-29"),
        ("2019-01-01", "2019-12-31"),
        ("2020-01-01", "2020-12-31"),
        (None, "2020-04-30"),
        ("2020-02-29", "2021-02-28"),
    ]
    out = []
    for n in range(36):
        start, end = periods[n % len(periods)]
        items = (start, end) if n % 5 else ("2019-05-02", end)
        together = None if n % 7 == 0 else n % 3 != 0
        out.append(
            household(start, end, items=items, together=together, wage=1000 + 1500 * (n % 13), ident=f"c{n:02d}")
        )
    return out


def test_columnar_agrees_on_at_and_refused_figures(computed: povrules.Ruleset) -> None:
    households = _computed_households()
    frame = caseload_frame(households)
    prepared = povrules.plan(computed, "identify", traced=False)
    values = rule_values_frame(frame, computed, "identify", AS_OF)
    seen: set[Any] = set()
    for index, h in enumerate(households):
        want = tuple(None if v.__class__ is Unknown else v for v in prepared.rule_values(h, AS_OF)[0])
        assert values.row(index)[1:] == want, h.id
        seen.add(want[0])
    assert seen == {True, False, None}
    decided = decide_frame(frame, computed, "identify", AS_OF)
    made = list(povrules.evaluate_iter(households, computed, "identify", as_of=AS_OF, trace=False))
    assert decided["outcome"].to_list() == [m.outcome for m in made]
    assert decided["missing"].to_list() == [list(m.missing) for m in made]
    assert any("income_12m.requires[0]" in m.missing for m in made)
    assert any("income_12m.requires[1]" in m.missing for m in made)
    assert any(m.outcome == "identified" for m in made) and any(m.outcome == "not_identified" for m in made)


def test_a_date_with_no_value_goes_to_the_row_engine_which_refuses_it(computed: povrules.Ruleset) -> None:
    early = [household("2017-05-01", "2018-04-30", ident="early")]
    with pytest.raises(EvaluationError, match="has no value in force on 2018-04-30"):
        rule_values_frame(caseload_frame(early), computed, "identify", AS_OF)


# The columnar engine: an element reading the household's facts, a mean of growth rates


OUTER = {
    "same_period": "all(i.period_start == hh.income.period_start and i.period_end == hh.income.period_end "
    "for i in hh.income.items)",
    "older_than_share": "count(m.age >= hh.income.total_net / 100 for m in hh.members) >= 1",
    "before_the_end": "sum(i.amount for i in hh.income.items if i.period_end <= add_days(hh.income.period_end, -1)) > 10",
    "own_items_positive": "all(all(i.amount > 0 for i in m.income_items) for m in hh.members)",
}


def _random_households(n: int, seed: int) -> list[Any]:
    rnd = random.Random(seed)

    def maybe(value: Any) -> Any:
        return value if rnd.random() > 0.2 else None

    out = []
    for k in range(n):
        start, end = rnd.choice([("2020-05-01", "2021-04-30"), ("2020-01-01", "2020-12-31")])
        items = []
        for _ in range(rnd.randint(0, 3)):
            one = {"kind": "wage", "amount": rnd.randint(0, 50), "period_end": rnd.choice([end, "2021-04-29"])}
            first = maybe(rnd.choice([start, "2020-05-02"]))
            if first is not None:
                one["period_start"] = first
            items.append(one)
        income: dict[str, Any] = {
            "items": items if rnd.random() > 0.1 else None,
            "total_net": maybe(rnd.randint(0, 8000)),
        }
        if rnd.random() > 0.15:
            income["period_start"] = start
        if rnd.random() > 0.15:
            income["period_end"] = end
        members = [
            {
                "age": maybe(rnd.randint(0, 90)),
                "income_items": maybe([item("wage", rnd.randint(0, 3)) for _ in range(rnd.randint(0, 2))]),
            }
            for _ in range(rnd.randint(1, 3))
        ]
        out.append(povrules.parse_household({"id": f"r{k:03d}", "income": income, "members": members}))
    return out


def test_columnar_reads_household_facts_inside_an_element_as_the_row_engine_does() -> None:
    ruleset = povrules.load_ruleset(RULESET)
    for rule_id, when in OUTER.items():
        ruleset = ruleset.with_rule(
            rule_id, add_to=("household_exit", "criteria"), when=when, title={"zh": "测试", "en": "test"}
        )
    households = _random_households(240, 11)
    frame = caseload_frame(households)
    prepared = povrules.plan(ruleset, "household_exit", traced=False)
    values = rule_values_frame(frame, ruleset, "household_exit", AS_OF)
    seen: dict[str, set[Any]] = {rule_id: set() for rule_id in OUTER}
    for index, h in enumerate(households):
        want = tuple(None if v.__class__ is Unknown else v for v in prepared.rule_values(h, AS_OF)[0])
        assert values.row(index)[1:] == want, h.id
        for rule, value in zip(prepared.rules, want):
            if rule.id in seen:
                seen[rule.id].add(value)
    assert {rule_id: found for rule_id, found in seen.items() if found != {True, False, None}} == {}
    decided = decide_frame(frame, ruleset, "household_exit", AS_OF)
    made = list(povrules.evaluate_iter(households, ruleset, "household_exit", as_of=AS_OF, trace=False))
    assert decided["outcome"].to_list() == [m.outcome for m in made]
    assert decided["missing"].to_list() == [list(m.missing) for m in made]


def test_a_mean_of_growth_rates_goes_to_the_row_engine_in_columns() -> None:
    """一高: the poor village's growth above the mean growth of the county's non-poor villages, each
    computed from two yearly levels. A quotient inside a sum has no exact columnar form: the rows
    where it has a value are decided by the row engine, with the same answers."""
    path = RULESET.parent.parent / "cn-yunnan-weishan-village" / "ruleset.yaml"
    ruleset = povrules.load_ruleset(path).with_rule(
        "income_growth_higher",
        when=(
            "income_growth_pct > sum((n.disposable_per_capita - n.disposable_per_capita_previous) * 100"
            " / n.disposable_per_capita_previous for n in village.county_non_poor_villages)"
            " / len(village.county_non_poor_villages)"
        ),
    )
    rnd = random.Random(3)
    villages = []
    for k in range(40):
        data: dict[str, Any] = {
            "id": f"v{k}",
            "is_poor_village": k % 9 != 0,
            "income": {
                "year": 2016,
                "disposable_per_capita": 5000 + rnd.randint(0, 900),
                "disposable_per_capita_previous": 5000,
            },
        }
        if k % 5:
            data["county_non_poor_villages"] = [
                {
                    "id": f"n{j}",
                    "year": 2016,
                    "disposable_per_capita_previous": 6000,
                    **({"disposable_per_capita": 6000 + rnd.randint(0, 900)} if (k + j) % 7 else {}),
                }
                for j in range(1 + k % 3)
            ]
        villages.append(povrules.parse_facts(data, "village"))
    day = date(2016, 12, 31)
    frame = caseload_frame(villages, subject="village")
    decided = decide_frame(frame, ruleset, "one_higher", day)
    made = list(povrules.evaluate_iter(villages, ruleset, "one_higher", as_of=day, trace=False))
    assert decided["outcome"].to_list() == [m.outcome for m in made]
    assert decided["missing"].to_list() == [list(m.missing) for m in made]
    assert {m.outcome for m in made} == {"met", "not_met", "undetermined"}


def test_a_stored_record_shows_the_refusal_and_no_value_on_the_date_for_at(computed: povrules.Ruleset) -> None:
    from povrules.audit import make_record
    from povrules.text import explain_record

    short = povrules.evaluate(household("2019-05-01", "2020-04-29"), computed, "identify", as_of=date(2021, 6, 30))
    low = next(r for r in short.trace()["rules"] if r["id"] == "low_income")
    # county_average is read through at() only: its value on the evaluation date is not the one used.
    assert [p["name"] for p in low["parameters"]] == ["share"]
    text = explain_record(make_record(short), "en")
    assert "  Figure refused: Household net income over the twelve months\n" in text
    assert "Facts still needed" not in text
    assert "      Figure refused: Household net income over the twelve months (requirement 1 is not met); " in text
    assert text.split("\n")[:-1] == short.explain("en").split("\n")  # the record says what the decision says
