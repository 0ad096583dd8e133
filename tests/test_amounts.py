"""Amount decisions: figures from rows, per member or item, with caps, floors, rounding and a gate.

``tests/fixtures/engine/amounts.yaml``: ``pension`` pays each member the band of their age (75 元
from 60, 85 from 70, 95 from 80; 100.5 from 2022), ``medical`` pays 50 % of the compliant
out-of-pocket cost between a floor of 100 and a cap of 10,000 元, ``grant`` adds a third of 75 元
per member and 10 元 per member, rounded half up to the whole 元, for households ``eligible`` admits.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import povrules
from povrules import EvaluationError, RulesetError, load_ruleset
from povrules.engine import round_amount
from povrules.mutate import mutants_of
from povrules.policytest import load_policy_file, run_case
from povrules.ruleset.model import Rounding

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "engine" / "amounts.yaml"
AS_OF = date(2021, 6, 30)


@pytest.fixture(scope="module")
def rs() -> povrules.Ruleset:
    return load_ruleset(FIXTURE)


def household(members=None, oop=None, status="registered_poor", hid="h1"):
    facts = {"id": hid, "registration": {"status": status}}
    if members is not None:
        facts["members"] = [{"age": age} if age is not None else {} for age in members]
    if oop is not None:
        facts["expenditure"] = {"medical_compliant_out_of_pocket": oop}
    return povrules.parse_household(facts)


def decide(rs, facts, name, as_of=AS_OF, trace=True):
    return povrules.evaluate(facts, rs, name, as_of=as_of, trace=trace)


# Bands per member (FIRST): the boundary value and one year either side of each band's age (年满 includes it)


@pytest.mark.parametrize(
    "age, figure, row",
    [
        (59, "0", None),
        (60, "75", "band_1"),
        (61, "75", "band_1"),
        (69, "75", "band_1"),
        (70, "85", "band_2"),
        (71, "85", "band_2"),
        (79, "85", "band_2"),
        (80, "95", "band_3"),
        (81, "95", "band_3"),
    ],
)
def test_each_member_is_paid_the_first_band_that_holds(rs, age, figure, row):
    d = decide(rs, household([age]), "pension")
    assert d.amount is not None and d.amount.total == Decimal(figure)
    (part,) = d.amount.parts
    assert (part.index, part.path, part.value) == (0, "hh.members[0]", Decimal(figure))
    assert part.rows == ((row,) if row else ())
    assert d.outcome == ("granted" if row else "none")
    assert d.amount.unit == "元" and d.amount.period == "month"


def test_a_household_total_adds_every_members_figure(rs, status_of):
    d = decide(rs, household([59, 70, 80, 62]), "pension")
    assert d.amount.total == Decimal(85 + 95 + 75)
    assert d.amount.by_index == {0: 0, 1: 85, 2: 95, 3: 75}
    assert d.reasons == ("band_3", "band_2", "band_1")
    assert status_of(d) == {"band_3": "selected", "band_2": "selected", "band_1": "selected"}
    # A rule's value over the members: true if it held for one of them.
    assert d.values == (True, True, True)


def test_a_member_whose_band_is_unknown_leaves_the_total_undetermined(rs):
    d = decide(rs, household([70, None]), "pension")
    assert d.outcome == "undetermined" and d.amount.total is None
    assert d.missing == ("hh.members[1].age",)
    assert d.amount.by_index == {0: Decimal(85), 1: None}


def test_unknown_members_leave_the_amount_undetermined(rs):
    d = decide(rs, household(None), "pension")
    assert d.outcome == "undetermined" and d.missing == ("hh.members",)


def test_a_dated_amount_parameter_changes_the_figure_on_its_date(rs):
    assert decide(rs, household([85]), "pension", as_of=date(2021, 12, 31)).amount.total == Decimal(95)
    assert decide(rs, household([85]), "pension", as_of=date(2022, 1, 1)).amount.total == Decimal("100.5")


def test_traced_and_plain_plans_give_the_same_figures(rs):
    facts = household([59, 70, 80], oop=30000)
    for name in ("pension", "medical", "grant"):
        traced, plain = decide(rs, facts, name), decide(rs, facts, name, trace=False)
        assert traced.outcome == plain.outcome and traced.amount.total == plain.amount.total
        assert [p.value for p in traced.amount.parts] == [p.value for p in plain.amount.parts]
        assert all(not p.steps for p in plain.amount.parts)


# A rate with a floor and a cap: below, at and above each


@pytest.mark.parametrize(
    "oop, figure, limited_by",
    [
        ("150", "100", "floor"),  # 75 raised to the floor
        ("200", "100", None),  # exactly the floor
        ("202", "101", None),
        ("12000", "6000", None),
        ("19998", "9999", None),
        ("20000", "10000", None),  # exactly the cap
        ("20002", "10000", "cap"),
        ("30000", "10000", "cap"),
    ],
)
def test_a_rate_is_limited_by_its_floor_and_cap(rs, oop, figure, limited_by):
    d = decide(rs, household(oop=Decimal(oop)), "medical")
    (part,) = d.amount.parts
    assert d.outcome == "granted" and d.amount.total == Decimal(figure)
    assert part.before == Decimal(oop) * 50 / 100
    assert part.limited_by == limited_by
    assert part.limit == (Decimal(figure) if limited_by else None)
    assert (part.index, part.path) == (None, None)


def test_the_arithmetic_of_a_figure_is_recorded_step_by_step(rs):
    d = decide(rs, household(oop=Decimal(30000)), "medical")
    (part,) = d.amount.parts
    ((row, steps),) = part.steps
    assert row == "medical_aid"
    shown = [(node.text, left, right, result) for node, left, right, result, _ in steps]
    assert shown == [
        ("hh.expenditure.medical_compliant_out_of_pocket * p.aid_rate", Decimal(30000), Decimal(50), Decimal(1500000)),
        ("hh.expenditure.medical_compliant_out_of_pocket * p.aid_rate / 100", Decimal(1500000), 100, Decimal(15000)),
    ]
    ((node, value, _, result, _),) = part.limit_steps
    assert node.text == "p.aid_cap" and value == result == Decimal(10000)


def test_a_missing_cost_leaves_the_figure_undetermined_naming_it(rs):
    d = decide(rs, household(), "medical")
    assert d.outcome == "undetermined" and d.amount.total is None
    assert d.missing == ("hh.expenditure.medical_compliant_out_of_pocket",)


# Components (SUM), rounding, and the gate


@pytest.mark.parametrize(
    "members, figure",
    [
        (1, "35"),  # 25 + 10
        (2, "70"),  # 50 + 20
        (4, "140"),  # 100 + 40
    ],
)
def test_components_are_added(rs, members, figure):
    d = decide(rs, household([30] * members), "grant")
    assert d.outcome == "granted" and d.amount.total == Decimal(figure)
    assert d.amount.parts[0].rows == ("grant_share", "member_bonus")


def test_rounding_is_applied_as_the_ruleset_states(rs, tmp_path):
    text = FIXTURE.read_text(encoding="utf-8").replace("amount: len(hh.members) * 10", "amount: len(hh.members) * 0.2")
    path = tmp_path / "amounts.yaml"
    path.write_text(text, encoding="utf-8")
    ruleset = load_ruleset(path)
    d = decide(ruleset, household([30]), "grant")  # 25 + 0.2 → 25
    assert d.amount.total == Decimal(25) and d.amount.parts[0].before == Decimal("25.2")
    assert d.amount.parts[0].rounded
    d = decide(ruleset, household([30, 30]), "grant")  # 50 + 0.4 → 50
    assert d.amount.total == Decimal(50)


@pytest.mark.parametrize(
    "value, places, mode, expected",
    [
        ("2.5", 0, "half_up", "3"),
        ("2.5", 0, "half_even", "2"),
        ("2.5", 0, "down", "2"),
        ("2.1", 0, "up", "3"),
        ("1249.99", -2, "half_up", "1200"),
        ("1250", -2, "half_up", "1300"),
        ("3.14159", 2, "half_up", "3.14"),
    ],
)
def test_rounding_modes(value, places, mode, expected):
    got = round_amount(Decimal(value), Rounding(places, mode))
    assert got == Decimal(expected) and str(got) == expected


def test_a_gate_that_refuses_gives_not_eligible_and_evaluates_no_row(rs, status_of):
    d = decide(rs, household([30], status="general"), "grant")
    assert d.outcome == "not_eligible" and d.amount.total == 0 and d.amount.parts == ()
    assert d.amount.gate is not None and d.amount.gate.outcome == "not_eligible_household"
    assert set(status_of(d).values()) == {"not_evaluated"} and d.reasons == ()


def test_an_undetermined_gate_leaves_the_amount_undetermined_with_its_missing_facts(rs):
    facts = povrules.parse_household({"id": "h1", "members": [{"age": 30}]})
    d = decide(rs, facts, "grant")
    assert d.outcome == "undetermined" and d.amount.total is None
    assert d.missing == ("hh.registration.status",)


def test_rule_values_of_rows_answered_per_member_are_over_all_members(rs):
    p = povrules.plan(rs, "pension")
    values, leaves = p.rule_values(household([59, 72]), AS_OF)
    assert values == (False, True, True)
    assert [leaf[4] for leaf in leaves[1]] == [(("hh.members", 0),), (("hh.members", 1),)]
    values, _ = p.rule_values(household([59, None]), AS_OF)
    assert [sorted(v.missing) for v in values] == [["hh.members[1].age"]] * 3
    values, _ = p.rule_values(household(None), AS_OF)
    assert [sorted(v.missing) for v in values] == [["hh.members"]] * 3


def test_an_amount_is_not_combined_from_bare_rule_values(rs):
    p = povrules.plan(rs, "medical")
    assert p.reads_facts
    with pytest.raises(EvaluationError, match="is an amount"):
        p.settle([True], AS_OF)
    with pytest.raises(EvaluationError, match="is an amount"):
        p.combine(household(oop=100), AS_OF, [True])


# Policy tests and mutants


def cases_file(tmp_path: Path, text: str) -> Path:
    """A policy test file beside a copy of the fixture ruleset (a test file sits in its ruleset's tests/)."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "ruleset.yaml").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "tests" / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_policy_cases_check_the_total_and_each_members_figure(tmp_path):
    path = cases_file(
        tmp_path,
        """\
decision: pension
as_of: 2021-06-30
cases:
  - name: right
    facts: {id: h, members: [{age: 59}, {age: 70}, {age: 80}]}
    expect: granted
    amount: 180
    amounts: {1: "85", 2: 95}
  - name: wrong total
    facts: {id: h, members: [{age: 59}, {age: 70}, {age: 80}]}
    expect: granted
    amount: "181"
  - name: a member left out
    facts: {id: h, members: [{age: 59}, {age: 70}, {age: 80}]}
    expect: granted
    amounts: {1: 85}
""",
    )
    results = [run_case(case) for case in load_policy_file(path)]
    assert [r.passed for r in results] == [True, False, False]
    assert "amount 181, got granted; amount 180" in results[1].message
    assert "amounts {1: 85}, got granted; amounts {1: 85, 2: 95}" in results[2].message


def test_a_case_cannot_expect_an_amount_of_another_kind_of_decision(tmp_path):
    path = cases_file(
        tmp_path,
        "decision: eligible\nas_of: 2021-06-30\ncases:\n  - {name: x, facts: {id: h}, expect: eligible, amount: 3}\n",
    )
    with pytest.raises(RulesetError, match="is not an amount"):
        load_policy_file(path)


def test_mutants_change_figures_limits_and_rows(rs):
    keys = {m.key for m in mutants_of(rs)}
    assert "parameter band_pay_1 from 2020-01-01: +1" in keys
    assert "parameter aid_cap from 2020-01-01: -1" in keys
    assert "rule medical_aid amount: number#0 +1" in keys
    assert {"decision medical: drop cap", "decision medical: drop floor", "decision pension: drop row band_1"} <= keys


# Load errors, each at its place


def broken(tmp_path: Path, old: str, new: str) -> RulesetError:
    text = FIXTURE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "amounts.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    return info.value


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "    amount: p.band_pay_3\n",
            "    outcome: x\n",
            "rule 'band_3' is a row of amount decision 'pension', so it needs an 'amount'",
        ),
        ("    amount: p.band_pay_3\n", "    amount: p.band_pay_3\n    outcome: x\n", "so it takes no 'outcome'"),
        ("amount: p.band_pay_3", "amount: m.age > 3", "'amount' of rule 'band_3' is a number, not bool"),
        ("per: m in hh.members", "per: hh.members", "'per' of decision 'pension' is written '<name> in <list>'"),
        ("per: m in hh.members", "per: m in hh.registration", "loops over a list of records"),
        ("per: m in hh.members", "per: p in hh.members", "hides another name"),
        ("    hit_policy: SUM\n", "    hit_policy: COLLECT\n", "'hit_policy' of decision 'grant' is FIRST"),
        ("period: month", "period: weekly", "'period' of decision 'pension' is one of month, semester"),
        ("gate: {decision: eligible,", "gate: {decision: eligibl,", "gated by unknown decision 'eligibl'"),
        (
            "outcomes: [eligible]}",
            "outcomes: [eligibl]}",
            "gated by outcome 'eligibl' of 'eligible', which that decision never gives",
        ),
        ("    cap: p.aid_cap\n", "    cap: hh.registration.dibao\n", "'cap' of decision 'medical' is a number"),
        ("round: {places: 0,", "round: {places: half,", "needs 'places': a whole number"),
        ("mode: half_up,", "mode: bankers,", "'mode' of 'round' of decision 'grant' is one of half_up"),
        ("    unit: 元\n    period: month\n", "    period: month\n", "decision 'pension' needs 'unit'"),
    ],
)
def test_load_errors(tmp_path, old, new, message):
    err = broken(tmp_path, old, new)
    assert message in str(err), str(err)
    assert err.location is not None and err.location.line > 1


def test_a_row_serves_one_element_binding_only(tmp_path):
    err = broken(
        tmp_path,
        "    rows: [medical_aid]\n",
        "    rows: [medical_aid]\n  pension_loans:\n    kind: amount\n    title: {zh: 贷款, en: Loans}\n"
        "    unit: 元\n    per: m in hh.assets.vehicles\n    rows: [band_1]\n",
    )
    assert "a row reads one element; write two rules" in str(err)
