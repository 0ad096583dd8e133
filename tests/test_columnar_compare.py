"""compare_frame and sweep_frame against compare and sweep: the same Comparison, computed in columns.

Shipped rulesets of households, each decision (rankings aside) compared with variants of three
kinds made from it (a parameter the decision reads changed, a rule's condition changed, a rule
taken out), over a synthetic county with more unknown facts than the default profile. Counts,
changes (order, rules, causes), what was re-evaluated, summaries in both languages, frames and
views must be equal. Then the cases a county seldom shows: Unknowns told apart by their missing
facts, combinations that read facts, hazard rows, rules not in force, a changed decision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import pytest

pl = pytest.importorskip("polars")

import povrules
from povrules import Comparison, EvaluationError, RulesetError, compare, sweep, synth
from povrules.columnar import (
    FrameHouseholds,
    NotSupported,
    caseload_frame,
    compare_frame,
    sweep_frame,
)
from povrules.columnar import compare as frame_compare

ROOT = Path(__file__).resolve().parent.parent / "rulesets"
BASE_DAY = date(2021, 6, 30)
RULESETS = [
    "cn-hunan-county-plan4",
    "cn-hebei-lingshou",
    "cn-guizhou-qianxinan-town-plan7",
    "cn-liaoning-yingkou",
    "cn-fujian-sanming",
    "cn-unnamed-county-plan6-2",
    "cn-hunan-xiangyin",
    "cn-yunnan-weishan",
    "cn-sichuan-suining-town-plan3",
    "cn-shaanxi-liuba",
]
UNKNOWNS = attrs.evolve(synth.PROFILES["default"], name="unknowns", unknown_share=0.12)


@cache
def _ruleset(name: str) -> povrules.Ruleset:
    return povrules.load_ruleset(ROOT / name)


@cache
def _county() -> tuple[list[povrules.Household], Any]:
    households = synth.county(1200, 7, profile=UNKNOWNS)
    return households, caseload_frame(households)


def _day(ruleset: povrules.Ruleset) -> date:
    """The county's date, or the last date a parameter value starts (so that every one has a value)."""
    return max([BASE_DAY, *(v.start for p in ruleset.parameters.values() for v in p.values)])


def _scaled(value: Any) -> Any:
    return value + 1 if isinstance(value, int) else (value * Decimal("1.1")).quantize(Decimal("0.01"))


def _variants(ruleset: povrules.Ruleset, decision: str, day: date) -> dict[str, povrules.Ruleset]:
    """A parameter the decision reads changed, its first rule's condition narrowed by a fact that
    may be unknown, and its last rule taken out (where the ruleset stays consistent)."""
    prepared = povrules.plan(ruleset, decision, traced=False)
    values = ruleset.values_as_of(day)
    out: dict[str, povrules.Ruleset] = {}
    numeric = sorted(
        name
        for rule in prepared.rules
        for name in rule.parameters
        if isinstance(values.get(name), (int, Decimal)) and not isinstance(values.get(name), bool)
    )
    if numeric:
        out[f"{numeric[0]} changed"] = ruleset.with_parameter(numeric[0], _scaled(values[numeric[0]]))
    first, last = prepared.rules[0], prepared.rules[-1]
    text = povrules.ruleset.diff.expression_text(first.when)
    for name, make in (
        (
            f"{first.id} narrowed",
            lambda: ruleset.with_rule(first.id, when=f"({text}) and hh.income.per_capita_net > 3000"),
        ),
        (f"without {last.id}", lambda: ruleset.without_rule(last.id)),
    ):
        try:
            out[name] = make()
        except RulesetError:  # e.g. the last row of a table whose outcome another decision names
            continue
    return out


def _cases() -> list[Any]:
    cases = []
    for name in RULESETS:
        ruleset = _ruleset(name)
        for decision, spec in ruleset.decisions.items():
            if spec.kind in ("ranking", "amount"):  # the columnar engine refuses amounts: decide() works them out
                continue
            for variant in _variants(ruleset, decision, _day(ruleset)):
                cases.append(pytest.param(name, decision, variant, id=f"{name}:{decision}:{variant}"))
    return cases


CASES = _cases()


def assert_same(row: Comparison, columnar: Comparison) -> None:
    """Everything a caller reads of a Comparison, equal."""
    assert (columnar.total, columnar.decision, columnar.as_of) == (row.total, row.decision, row.as_of)
    assert list(columnar.counts.items()) == list(row.counts.items())  # in the same order too
    assert columnar.changes == row.changes
    assert columnar.reevaluated == row.reevaluated
    for lang in ("zh", "en"):
        assert columnar.summary(lang) == row.summary(lang)
        assert columnar.by_cause(lang) == row.by_cause(lang)
        assert str(columnar.html(lang)) == str(row.html(lang))
    assert columnar.to_frame("polars").equals(row.to_frame("polars"))
    assert columnar.to_frame("polars", what="counts").equals(row.to_frame("polars", what="counts"))
    assert (columnar.before, columnar.after) == (row.before, row.after)


def test_the_cases_cover_each_kind_of_variant() -> None:
    kinds = {
        "without" if variant.startswith("without") else variant.split()[-1]
        for _, _, variant in (param.values for param in CASES)
    }
    assert len(CASES) >= 40 and kinds == {"changed", "narrowed", "without"}
    assert len({name for name, _, _ in (param.values for param in CASES)}) == len(RULESETS)


@pytest.mark.parametrize(("name", "decision", "variant"), CASES)
def test_compare_frame_equals_compare(name: str, decision: str, variant: str) -> None:
    ruleset = _ruleset(name)
    day = _day(ruleset)
    other = _variants(ruleset, decision, day)[variant]
    households, frame = _county()
    assert_same(
        compare(ruleset, other, households, decision, as_of=day),
        compare_frame(ruleset, other, frame, decision, as_of=day),
    )


def test_enough_households_change_for_the_equality_to_mean_something() -> None:
    frame = _county()[1]
    changed = [
        compare_frame(
            _ruleset(n), _variants(_ruleset(n), d, _day(_ruleset(n)))[v], frame, d, as_of=_day(_ruleset(n))
        ).changed
        for n, d, v in (p.values for p in CASES)
    ]
    assert sum(1 for n in changed if n) >= len(CASES) // 3 and sum(changed) > 1000


def test_sweep_frame_equals_sweep() -> None:
    hunan = _ruleset("cn-hunan-county-plan4")
    households, frame = _county()
    values = [5000, 6500, Decimal("7000.50"), 9000]
    for decision in ("monitoring_type", "focus_group"):
        row = sweep(hunan, "monitoring_line", values, households, decision, as_of=BASE_DAY)
        columnar = sweep_frame(hunan, "monitoring_line", values, frame, decision, as_of=BASE_DAY)
        assert columnar.values == row.values and columnar.total == row.total
        assert dict(columnar.baseline) == dict(row.baseline) and list(columnar.baseline) == list(row.baseline)
        assert columnar.rows() == row.rows() and columnar.outcomes == row.outcomes
        assert columnar.to_frame("polars").equals(row.to_frame("polars"))
        assert str(columnar.html("en")) == str(row.html("en"))
        for a, b in zip(row.comparisons, columnar.comparisons):
            assert_same(a, b)
    later = sweep_frame(
        hunan, "monitoring_line", [7000], frame, "monitoring_type", as_of=BASE_DAY, from_=BASE_DAY + timedelta(days=1)
    )
    assert later.rows()[0]["changed"] == 0 and later.comparisons[0].reevaluated == ()


def test_only_the_rules_the_parameter_reaches_are_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    hunan = _ruleset("cn-hunan-county-plan4")
    _, frame = _county()
    translated: list[str] = []
    rule = frame_compare.Translator.rule

    def recording(self: Any, rule_id: str) -> Any:
        translated.append(rule_id)
        return rule(self, rule_id)

    monkeypatch.setattr(frame_compare.Translator, "rule", recording)
    s = sweep_frame(
        hunan, "elimination_income_floor", [4000, 5000, 6000], frame, "mark_risk_eliminated", as_of=BASE_DAY
    )
    rules = [rule.id for rule in povrules.plan(hunan, "mark_risk_eliminated", traced=False).rules]
    # The baseline's rules once, then per value only the rule that reads the floor (5000 is in force).
    assert translated == [*rules, "elim_income_floor", "elim_income_floor"]
    assert [c.reevaluated for c in s.comparisons] == [("elim_income_floor",), (), ("elim_income_floor",)]


def test_households_are_made_only_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    hunan = _ruleset("cn-hunan-county-plan4")
    households, frame = _county()
    made: list[int] = []
    facts_of = frame_compare.facts_of

    def counting(frame: Any, rows: Any, **kw: Any) -> Any:
        rows = list(rows)
        made.extend(rows)
        return facts_of(frame, rows, **kw)

    monkeypatch.setattr(frame_compare, "facts_of", counting)
    c = compare_frame(hunan, hunan.with_parameter("monitoring_line", 8000), frame, "monitoring_type", as_of=BASE_DAY)
    assert c.changed > 20 and made == []
    assert isinstance(c.households, FrameHouseholds) and len(c.households) == len(households)
    target = c.changes[-1].id
    before, after = c.pair(target)
    assert len(made) == 1 and before.facts == households[made[0]] and before.facts.id == target
    assert (before.outcome, after.outcome) == (c.changes[-1].before, c.changes[-1].after)
    assert before.traced and after.ruleset is c.variant
    with pytest.raises(KeyError, match="nobody"):
        c.pair("nobody")
    assert c.households[5] == households[5] and c.households[-1] == households[-1]
    assert c.households[10:13] == households[10:13]
    with pytest.raises(IndexError, match="outside"):
        c.households[len(households)]
    assert list(c.households) == households


def _ready(hid: str, income: str, labour: str | None) -> povrules.Household:
    """A monitored household ready to be marked, but for its income and its first member's labour."""
    judged = lambda value: {"value": value, "by": "监测帮扶联系人 李某", "on": "2021-08-20"}
    members: list[dict[str, Any]] = [{"id": "a", "age": 45}, {"id": "b", "age": 70, "labour_capacity": "none"}]
    if labour is not None:
        members[0]["labour_capacity"] = labour
    return povrules.parse_household(
        {
            "id": hid,
            "rural_hukou": True,
            "registration": {"status": "exited"},
            "monitoring": {"status": "monitored", "type": "unstable_exited", "included_on": "2021-06-01"},
            "income": {"per_capita_net": income},
            "members": members,
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


@pytest.mark.parametrize(
    "extra", ["hh.assessments.poverty_risk", "any(any(c == 'drugs' for c in m.illegal_conduct) for m in hh.members)"]
)
def test_unknowns_are_told_apart_by_their_missing_facts(extra: str) -> None:
    """A rule unknown under both rulesets differs when its missing facts differ, as compare says.
    U5200's first member's labour is unknown, so 整户无劳动能力 is unknown; the variant's condition
    also reads another unknown fact. Raising the floor changes the outcome, and the rule is named
    with its cause. The second condition's missing facts have no translation: the row engine gives them."""
    hunan = _ruleset("cn-hunan-county-plan4")
    day = date(2021, 9, 1)
    households = [
        *_county()[0][:300],
        _ready("U5200", "5200.00", None),
        _ready("K5200", "5200.00", "full"),
        _ready("U6000", "6000.00", None),
    ]
    variant = hunan.with_parameter("elimination_income_floor", 5500).with_rule(
        "elim_no_labour", when=f"whole_household_no_labour and {extra}"
    )
    row = compare(hunan, variant, households, "mark_risk_eliminated", as_of=day)
    told = row.change("U5200")
    assert told is not None and told.rules == ("elim_no_labour", "elim_income_floor")
    assert [cause.kind for cause in told.causes] == ["rule", "parameter"]
    assert row.change("K5200") is not None and row.change("K5200").rules == ("elim_income_floor",)
    assert_same(row, compare_frame(hunan, variant, caseload_frame(households), "mark_risk_eliminated", as_of=day))


def _with_overrides(
    households: list[povrules.Household], ruleset: povrules.Ruleset, decision: str, day: date
) -> list[povrules.Household]:
    """The households, every third given recorded decisions on the decision's default-strength
    exceptions: upheld or set aside, by the body the rule names or another, before or after ``day``."""
    rules = [r for r in ruleset.decisions[decision].exceptions if ruleset.rules[r].strength == "default"]
    bodies = ["村民代表会议", "乡镇审核"]
    out = []
    for k, household in enumerate(households):
        if k % 3:
            out.append(household)
            continue
        made = [
            {
                "rule": rules[(k + n) % len(rules)],
                "body": bodies[(k // 3 + n) % 2],
                "decided_on": (day - timedelta(days=30 - 45 * ((k // 6 + n) % 2))).isoformat(),
                "outcome": ("set_aside", "upheld")[(k // 9 + n) % 2],
            }
            for n in range(1 + k % 2)
        ]
        out.append(
            povrules.parse_household({**household.model_dump(mode="json", exclude_unset=True), "overrides": made})
        )
    return out


def test_combinations_that_read_facts_are_combined_from_models() -> None:
    """Default-strength exceptions look up the recorded overrides: households with and without them."""
    changed: list[int] = []
    for name, decision in (
        ("cn-hebei-lingshou", "identify_monitoring_object"),
        ("cn-guizhou-qianxinan-town-plan7", "monitoring_object"),
    ):
        ruleset = _ruleset(name)
        assert povrules.plan(ruleset, decision, traced=False).reads_facts
        day = _day(ruleset)
        households = _with_overrides(_county()[0][:600], ruleset, decision, day)
        frame = caseload_frame(households)
        first = ruleset.decisions[decision].exceptions[0]
        for variant in (
            ruleset.with_parameter("monitoring_line", 9000),
            ruleset.with_rule(first, strength="hard"),  # the combination changes
            ruleset.without_rule(first),
            ruleset.with_rule(first, override_by=["乡镇审核"]),
        ):
            row = compare(ruleset, variant, households, decision, as_of=day)
            changed.append(row.changed)
            assert_same(row, compare_frame(ruleset, variant, frame, decision, as_of=day))
        assert {d.outcome for d in povrules.evaluate_many(households, ruleset, decision, as_of=day, trace=False)} >= {
            "needs_deliberation"
        }  # overrides missing for some households: the test means something
    assert sum(1 for n in changed if n) >= 6 and changed[3]  # [3]: Lingshou's override body changed


def test_a_rule_not_in_force_and_a_changed_validity() -> None:
    xiangyin = _ruleset("cn-hunan-xiangyin")
    households, frame = _county()
    decision = "income_decrease_items"
    prepared = povrules.plan(xiangyin, decision, traced=False)
    dated = next(rule for rule in prepared.rules if rule.valid_from is not None or rule.valid_to is not None)
    edges = [d for d in (dated.valid_from, dated.valid_to) if d is not None]
    days = {
        _day(xiangyin),
        *(edge + timedelta(days=1) for edge in edges),
        *(edge - timedelta(days=1) for edge in edges),
    }
    valid = {"from": date(2000, 1, 1)}
    variant = xiangyin.with_rule(dated.id, valid=valid)
    for day in sorted(days):
        assert_same(
            compare(xiangyin, variant, households, decision, as_of=day),
            compare_frame(xiangyin, variant, frame, decision, as_of=day),
        )
        assert_same(
            compare(variant, xiangyin, households, decision, as_of=day),
            compare_frame(variant, xiangyin, frame, decision, as_of=day),
        )


def test_hunans_own_variants_on_three_decisions() -> None:
    """The seven changes compare's own tests use, including a rule added as a table row."""
    hunan = _ruleset("cn-hunan-county-plan4")
    households, frame = _county()
    variants: list[Callable[[povrules.Ruleset], povrules.Ruleset]] = [
        lambda r: r.with_parameter("monitoring_line", 7000),
        lambda r: r.with_parameter("monitoring_line", 6000),
        lambda r: r.with_parameter("elimination_income_floor", 6000),
        lambda r: r.without_rule("elim_income_floor"),
        lambda r: r.without_rule("elim_weak_stability"),
        lambda r: r.with_parameter("elimination_min_monitoring_months", 6),
        lambda r: r.with_rule(
            "shock_hardship_strict",
            title={"zh": "严格", "en": "strict"},
            when="shock_hardship and hh.income.per_capita_net > 10000",
            outcome="sudden_hardship",
            add_to=("monitoring_type", "rows"),
        ),
        lambda r: r.with_overlay({"decisions": {"monitoring_type": {"default": "outside"}}}),
    ]
    for make in variants:
        variant = make(hunan)
        for decision in ("monitoring_type", "mark_risk_eliminated", "focus_group"):
            assert_same(
                compare(hunan, variant, households, decision, as_of=BASE_DAY),
                compare_frame(hunan, variant, frame, decision, as_of=BASE_DAY),
            )
    assert compare_frame(hunan, hunan, frame, "monitoring_type", as_of=BASE_DAY).changed == 0


def test_hazard_rows_are_decided_by_the_row_engine() -> None:
    """A division by a count that may be zero (the members under 100): rows where it is zero get the
    row engine's values (here short-circuited to false), and a row where the row engine raises makes
    both raise."""
    hunan = _ruleset("cn-hunan-county-plan4")
    households, _ = _county()
    text = povrules.ruleset.diff.expression_text(hunan.rules["edge_vulnerable"].when)
    under_100 = "count(m for m in hh.members if m.age < 100)"
    variant = hunan.with_rule("edge_vulnerable", when=f"({text}) and hh.income.per_capita_net / {under_100} >= 0")
    centenarian = [{"id": "C-1", "age": 101}]
    lonely = [
        povrules.parse_household({**h.model_dump(mode="json", exclude_unset=True), "members": centenarian})
        for h in households[:300]
        if h.registration is not None and h.registration.status != "general"
    ][:20]
    mixed = [*households[:400], *lonely]
    assert_same(
        compare(hunan, variant, mixed, "monitoring_type", as_of=BASE_DAY),
        compare_frame(hunan, variant, caseload_frame(mixed), "monitoring_type", as_of=BASE_DAY),
    )
    general = povrules.parse_household(
        {
            "id": "G0",
            "rural_hukou": True,
            "registration": {"status": "general"},
            "income": {"per_capita_net": "6000.00"},
            "members": centenarian,
            "assessments": {"poverty_risk": {"value": True, "by": "王某", "on": "2021-05-10"}},
        }
    )
    with pytest.raises(EvaluationError):
        compare(hunan, variant, [general], "monitoring_type", as_of=BASE_DAY)
    with pytest.raises(EvaluationError):
        compare_frame(hunan, variant, caseload_frame([general]), "monitoring_type", as_of=BASE_DAY)


def test_an_empty_frame() -> None:
    hunan = _ruleset("cn-hunan-county-plan4")
    variant = hunan.with_parameter("monitoring_line", 7000)
    assert_same(
        compare(hunan, variant, [], "monitoring_type", as_of=BASE_DAY),
        compare_frame(hunan, variant, caseload_frame([]), "monitoring_type", as_of=BASE_DAY),
    )


def test_refusals() -> None:
    hunan = _ruleset("cn-hunan-county-plan4")
    _, frame = _county()
    weishan = _ruleset("cn-yunnan-weishan")
    with pytest.raises(EvaluationError, match="ranking"):
        compare_frame(weishan, weishan, frame, "six_priorities", as_of=date(2016, 6, 30))
    village = _ruleset("cn-yunnan-weishan-village")
    with pytest.raises(EvaluationError, match="villages"):
        compare_frame(hunan, village, frame, "monitoring_type", as_of=BASE_DAY)
    with pytest.raises(EvaluationError, match="no parameter 'monitoring_lin'"):
        sweep_frame(hunan, "monitoring_lin", [1], frame, "monitoring_type", as_of=BASE_DAY)
    loop = hunan.with_rule("edge_vulnerable", when="any(m.age > len(hh.members) for m in hh.members)")
    with pytest.raises(NotSupported, match="edge_vulnerable"):
        compare_frame(hunan, loop, frame, "monitoring_type", as_of=BASE_DAY)
