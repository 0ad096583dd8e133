"""What-if comparisons: counts checked by hand, each change attributed, and the shortcut equal to re-evaluating all."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import povrules
from povrules import Cause, EvaluationError, compare, evaluate_many, load_ruleset, sweep
from povrules.synth import county

RULESETS = Path(__file__).resolve().parent.parent / "rulesets"
AS_OF = date(2021, 6, 30)
JUDGE = {"by": "村第一书记 王某", "on": "2021-05-10"}


@pytest.fixture(scope="module")
def hunan() -> povrules.Ruleset:
    return load_ruleset(RULESETS / "cn-hunan-county-plan4")


def _household(hid: str, status: str, income: str, *, risk: bool = True, shock: bool = False) -> povrules.Household:
    judged = lambda value: {"value": value, **JUDGE}  # noqa: E731
    return povrules.parse_household(
        {
            "id": hid,
            "rural_hukou": True,
            "registration": {"status": status},
            "income": {"per_capita_net": income},
            "assessments": {
                "poverty_risk": judged(risk),
                "return_risk": judged(risk),
                "risk_causes": ["illness"] if shock else [],
                "rigid_expenditure_large": judged(shock),
                "income_sharply_reduced": judged(False),
                "basic_living_severe_difficulty": judged(shock),
            },
        }
    )


# Eleven households around the 6500 and 7000 lines (以内 includes the line, 超过 excludes it), typed by hand.
POPULATION = [
    ("G6000", "general", "6000.00", {}, "edge_vulnerable", "edge_vulnerable"),
    ("G6500", "general", "6500.00", {}, "edge_vulnerable", "edge_vulnerable"),
    ("G6500.01", "general", "6500.01", {}, "not_monitored", "edge_vulnerable"),
    ("G6999.99", "general", "6999.99", {}, "not_monitored", "edge_vulnerable"),
    ("G7000", "general", "7000.00", {}, "not_monitored", "edge_vulnerable"),
    ("G7000.01", "general", "7000.01", {}, "not_monitored", "not_monitored"),
    ("G8000", "general", "8000.00", {}, "not_monitored", "not_monitored"),
    ("E6800", "exited", "6800.00", {}, "not_monitored", "unstable_exited"),
    ("E7200", "exited", "7200.00", {}, "not_monitored", "not_monitored"),
    ("S6800", "general", "6800.00", {"shock": True}, "sudden_hardship", "edge_vulnerable"),
    ("N6800", "general", "6800.00", {"risk": False}, "not_monitored", "not_monitored"),
]


@pytest.fixture(scope="module")
def population() -> list[povrules.Household]:
    return [_household(hid, status, income, **kw) for hid, status, income, kw, _, _ in POPULATION]


def test_raising_the_line_by_hand(hunan: povrules.Ruleset, population: list[povrules.Household]) -> None:
    c = compare(hunan, hunan.with_parameter("monitoring_line", 7000), population, "monitoring_type", as_of=AS_OF)
    assert c.total == 11 and c.changed == 5
    assert dict(c.counts) == {
        ("edge_vulnerable", "edge_vulnerable"): 2,
        ("not_monitored", "edge_vulnerable"): 3,
        ("not_monitored", "not_monitored"): 4,
        ("not_monitored", "unstable_exited"): 1,
        ("sudden_hardship", "edge_vulnerable"): 1,
    }
    assert c.transitions() == {
        ("not_monitored", "edge_vulnerable"): 3,
        ("not_monitored", "unstable_exited"): 1,
        ("sudden_hardship", "edge_vulnerable"): 1,
    }
    expected = {hid: (before, after) for hid, _, _, _, before, after in POPULATION if before != after}
    assert {ch.id: (ch.before, ch.after) for ch in c.changes} == expected
    assert c.before == Counter(before for *_, before, _ in POPULATION)
    assert c.after == Counter(after for *_, after in POPULATION)


def test_each_change_is_attributed_to_the_rules_and_the_parameter(
    hunan: povrules.Ruleset, population: list[povrules.Household]
) -> None:
    c = compare(hunan, hunan.with_parameter("monitoring_line", 7000), population, "monitoring_type", as_of=AS_OF)
    line = Cause("parameter", "monitoring_line", Decimal(6500), Decimal(7000))
    assert all(ch.causes == (line,) for ch in c.changes)
    rules = {ch.id: ch.rules for ch in c.changes}
    assert rules["G6500.01"] == ("edge_vulnerable",)
    assert rules["E6800"] == ("unstable_exited",)
    assert rules["S6800"] == ("edge_vulnerable", "sudden_hardship")  # one row starts to hold, the other stops
    # a summary names the parameter by its title, and writes its values as a reader does
    title = hunan.parameters["monitoring_line"].title
    assert c.by_cause() == {f"parameter {title('en')}: 6,500 → 7,000": 5}
    assert c.by_cause("zh") == {f"参数 {title('zh')}：6,500 → 7,000": 5}
    assert f"\n  参数 {title('zh')}：6,500 → 7,000：5" in c.summary("zh")
    assert f"\n  parameter {title('en')}: 6,500 → 7,000: 5" in c.summary("en")
    assert line.describe("zh") == "参数 monitoring_line：6,500 → 7,000"  # no ruleset to take a title from
    assert set(c.reevaluated) == {"unstable_exited", "edge_vulnerable", "sudden_hardship"}


def test_a_value_not_yet_in_force_changes_nothing_and_evaluates_nothing(
    hunan: povrules.Ruleset, population: list[povrules.Household]
) -> None:
    later = hunan.with_parameter("monitoring_line", 7000, from_=date(2021, 7, 1))
    c = compare(hunan, later, population, "monitoring_type", as_of=AS_OF)
    assert c.changed == 0 and c.reevaluated == ()
    assert sum(c.counts.values()) == 11
    assert compare(hunan, later, population, "monitoring_type", as_of=date(2021, 7, 1)).changed == 5


def _ready(hid: str, income: str) -> povrules.Household:
    judged = lambda value: {"value": value, "by": "监测帮扶联系人 李某", "on": "2021-08-20"}  # noqa: E731
    return povrules.parse_household(
        {
            "id": hid,
            "rural_hukou": True,
            "registration": {"status": "exited"},
            "monitoring": {"status": "monitored", "type": "unstable_exited", "included_on": "2021-06-01"},
            "income": {"per_capita_net": income},
            "members": [
                {"id": "a", "age": 45, "labour_capacity": "full"},
                {"id": "b", "age": 70, "labour_capacity": "none"},
            ],
            "guarantees": {
                k: True
                for k in (
                    "food_secure",
                    "clothing_secure",
                    "compulsory_education",
                    "basic_medical",
                    "housing_safe",
                    "drinking_water_safe",
                )
            },
            "assessments": {
                "measures_effective": judged(True),
                "income_stable": judged(True),
                "rigid_expenditure_resolved": judged(True),
                "elimination_stability_weak": judged(False),
                "rigid_expenditure_uncontrollable": judged(False),
            },
        }
    )


@pytest.fixture(scope="module")
def monitored() -> list[povrules.Household]:
    # 低于 5000 is strict: 4999.99 is barred, 5000 is not.
    return [
        _ready("M4999.99", "4999.99"),
        _ready("M5000", "5000.00"),
        _ready("M5499.99", "5499.99"),
        _ready("M5500", "5500.00"),
        _ready("M6000", "6000.00"),
    ]


def test_raising_the_elimination_floor(hunan: povrules.Ruleset, monitored: list[povrules.Household]) -> None:
    c = compare(
        hunan,
        hunan.with_parameter("elimination_income_floor", 5500),
        monitored,
        "mark_risk_eliminated",
        as_of=date(2021, 9, 1),
    )
    assert [(ch.id, ch.before, ch.after) for ch in c.changes] == [
        ("M5000", "risk_eliminated", "not_eliminated"),
        ("M5499.99", "risk_eliminated", "not_eliminated"),
    ]
    assert all(ch.rules == ("elim_income_floor",) for ch in c.changes)
    assert all(
        ch.causes == (Cause("parameter", "elimination_income_floor", Decimal(5000), Decimal(5500)),) for ch in c.changes
    )
    assert c.counts[("not_eliminated", "not_eliminated")] == 1 and c.counts[("risk_eliminated", "risk_eliminated")] == 2


def test_dropping_the_floor_is_attributed_to_the_removed_rule(
    hunan: povrules.Ruleset, monitored: list[povrules.Household]
) -> None:
    c = compare(
        hunan, hunan.without_rule("elim_income_floor"), monitored, "mark_risk_eliminated", as_of=date(2021, 9, 1)
    )
    assert [(ch.id, ch.before, ch.after) for ch in c.changes] == [("M4999.99", "not_eliminated", "risk_eliminated")]
    (change,) = c.changes
    assert change.rules == ("elim_income_floor",)
    assert change.causes == (
        Cause("rule", "elim_income_floor", "hh.income.per_capita_net < p.elimination_income_floor", None),
    )
    assert "removed" in str(change.causes[0]) and "去掉" in change.causes[0].describe("zh")
    # the rule is gone from the variant: the baseline gives its title
    title = hunan.rules["elim_income_floor"].title
    assert c.by_cause("zh") == {f"规则 {title('zh')} 去掉": 1} and c.by_cause() == {f"rule {title('en')} removed": 1}


def test_a_changed_condition_is_attributed_to_its_rule(
    hunan: povrules.Ruleset, population: list[povrules.Household]
) -> None:
    variant = hunan.with_rule(
        "edge_vulnerable",
        when='in_monitoring_range and hh.registration.status == "general" '
        "and hh.income.per_capita_net < p.monitoring_line and hh.assessments.poverty_risk",
    )
    c = compare(hunan, variant, population, "monitoring_type", as_of=AS_OF)
    assert [(ch.id, ch.before, ch.after) for ch in c.changes] == [("G6500", "edge_vulnerable", "not_monitored")]
    (change,) = c.changes
    assert change.rules == ("edge_vulnerable",)
    assert [cause.kind for cause in change.causes] == ["rule"] and change.causes[0].name == "edge_vulnerable"
    assert c.reevaluated == ("edge_vulnerable",)


def test_a_changed_hit_policy_is_attributed_to_the_decision(hunan: povrules.Ruleset) -> None:
    both = [_household("both", "exited", "6000.00")]  # exited at risk: only unstable_exited holds
    variant = hunan.with_overlay({"decisions": {"monitoring_type": {"default": "outside"}}})
    c = compare(
        hunan, variant, [*both, _household("out", "general", "9000.00", risk=False)], "monitoring_type", as_of=AS_OF
    )
    assert [(ch.id, ch.before, ch.after) for ch in c.changes] == [("out", "not_monitored", "outside")]
    assert c.changes[0].causes == (Cause("decision", "monitoring_type"),) and c.changes[0].rules == ()


def test_the_same_ruleset_changes_nothing(hunan: povrules.Ruleset, population: list[povrules.Household]) -> None:
    c = compare(hunan, hunan, population, "monitoring_type", as_of=AS_OF)
    assert (c.changed, c.reevaluated, sum(c.counts.values())) == (0, (), 11)


VARIANTS = {
    "line 7000": lambda r: r.with_parameter("monitoring_line", 7000),
    "line 6000": lambda r: r.with_parameter("monitoring_line", 6000),
    "floor 6000": lambda r: r.with_parameter("elimination_income_floor", 6000),
    "no floor": lambda r: r.without_rule("elim_income_floor"),
    "no weak-stability deferral": lambda r: r.without_rule("elim_weak_stability"),
    "three months → six": lambda r: r.with_parameter("elimination_min_monitoring_months", 6),
    "stricter shock": lambda r: r.with_rule(
        "shock_hardship_strict",
        title={"zh": "严格", "en": "strict"},
        when="shock_hardship and hh.income.per_capita_net > 10000",
        outcome="sudden_hardship",
        add_to=("monitoring_type", "rows"),
    ),
}


@pytest.mark.parametrize("decision", ["monitoring_type", "mark_risk_eliminated", "focus_group"])
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_shortcut_equals_evaluating_everything(hunan: povrules.Ruleset, name: str, decision: str) -> None:
    households = county(1500, 11)
    variant = VARIANTS[name](hunan)
    c = compare(hunan, variant, households, decision, as_of=AS_OF)
    before = evaluate_many(households, hunan, decision, as_of=AS_OF, trace=False)
    after = evaluate_many(households, variant, decision, as_of=AS_OF, trace=False)
    assert dict(c.counts) == dict(Counter((b.outcome, a.outcome) for b, a in zip(before, after)))
    assert [ch.id for ch in c.changes] == [b.facts.id for b, a in zip(before, after) if b.outcome != a.outcome]
    assert all(ch.causes for ch in c.changes)


def test_pair_gives_both_traced_decisions(hunan: povrules.Ruleset, population: list[povrules.Household]) -> None:
    c = compare(hunan, hunan.with_parameter("monitoring_line", 7000), population, "monitoring_type", as_of=AS_OF)
    before, after = c.pair("E6800")
    assert (before.outcome, after.outcome) == ("not_monitored", "unstable_exited")
    assert before.traced and after.ruleset is c.variant
    with pytest.raises(KeyError, match="nobody"):
        c.pair("nobody")
    assert c.change("E6800") is not None and c.change("G6000") is None


def test_summary_in_both_languages(hunan: povrules.Ruleset, population: list[povrules.Household]) -> None:
    c = compare(hunan, hunan.with_parameter("monitoring_line", 7000), population, "monitoring_type", as_of=AS_OF)
    en, zh = c.summary("en"), c.summary("zh")
    assert "5 of 11 households change outcome" in en
    assert "not a monitoring object → edge household vulnerable to poverty: 3" in en
    assert "11 户中 5 户结果改变" in zh and "不纳入监测 → 边缘易致贫户：3" in zh  # Chinese punctuation in Chinese text


def test_frames(hunan: povrules.Ruleset, population: list[povrules.Household]) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    c = compare(hunan, hunan.with_parameter("monitoring_line", 7000), population, "monitoring_type", as_of=AS_OF)
    frame = c.to_frame()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["id", "before", "after", "rules", "causes"]
    assert len(frame) == 5 and set(frame["id"]) == {"G6500.01", "G6999.99", "G7000", "E6800", "S6800"}
    counts = c.to_frame("polars", what="counts")
    assert isinstance(counts, pl.DataFrame) and counts["households"].sum() == 11
    empty = compare(hunan, hunan, population, "monitoring_type", as_of=AS_OF).to_frame("polars")
    assert empty.height == 0 and empty.columns == ["id", "before", "after", "rules", "causes"]
    with pytest.raises(ValueError, match="pandas' or 'polars"):
        c.to_frame("excel")  # type: ignore[arg-type]


def test_sweep_counts_each_value(hunan: povrules.Ruleset, population: list[povrules.Household]) -> None:
    s = sweep(hunan, "monitoring_line", [6000, 6500, 7000], population, "monitoring_type", as_of=AS_OF)
    rows = {row["monitoring_line"]: row for row in s.rows()}
    assert rows[7000]["edge_vulnerable"] == 6 and rows[7000]["changed"] == 5
    assert rows[6500]["changed"] == 0 and rows[6500]["edge_vulnerable"] == 2
    # At 6000 the 6000 household is still in range (以内); the 6500 one leaves it.
    assert rows[6000]["edge_vulnerable"] == 1 and rows[6000]["not_monitored"] == 9
    assert dict(s.baseline) == dict(Counter(before for *_, before, _ in POPULATION))
    assert all(sum(counts.values()) == 11 for counts in s.counts())
    with pytest.raises(EvaluationError, match="no parameter 'monitoring_lin'"):
        sweep(hunan, "monitoring_lin", [1], population, "monitoring_type", as_of=AS_OF)


def test_sweep_plots(hunan: povrules.Ruleset, population: list[povrules.Household]) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    s = sweep(hunan, "monitoring_line", [6000, 7000, 8000], population, "monitoring_type", as_of=AS_OF)
    ax = s.plot()
    assert len(ax.get_lines()) == len(s.outcomes)
    assert [list(line.get_xdata()) for line in ax.get_lines()][0] == [6000.0, 7000.0, 8000.0]
    assert ax.get_xlabel() == hunan.parameters["monitoring_line"].title("en")  # the parameter by its title


def test_refusals(hunan: povrules.Ruleset, population: list[povrules.Household]) -> None:
    weishan = load_ruleset(RULESETS / "cn-yunnan-weishan")
    with pytest.raises(EvaluationError, match="ranking"):
        compare(weishan, weishan, [], "six_priorities", as_of=date(2016, 6, 30))
    village = load_ruleset(RULESETS / "cn-yunnan-weishan-village")
    with pytest.raises(EvaluationError, match="villages"):
        compare(hunan, village, population, "monitoring_type", as_of=AS_OF)
    with pytest.raises(TypeError, match="Household"):
        compare(hunan, hunan, [object()], "monitoring_type", as_of=AS_OF)  # type: ignore[list-item]
