"""The columnar evaluator against the row engine, row for row.

Every decision of every shipped ruleset is evaluated both ways: households from synthetic
counties (with unknown facts), villages and counties from a random generator over their models
(every fact unknown now and then). Rule values (null against ``Unknown`` or not in force),
outcomes, labels and missing facts must be equal. Rankings are compared on rule values only.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")

import povrules
from povrules import synth
from povrules.columnar import (
    NotSupported,
    Translator,
    caseload_frame,
    decide_frame,
    facts_of,
    rule_values_frame,
)
from povrules.columnar.translate import add_months_expr, months_between_expr
from povrules.errors import EvaluationError
from povrules.facts import SUBJECTS, Override
from povrules.lang import ast, compiler
from povrules.lang.compiler import Unknown
from povrules.lang.types import BOOL, DATE, DECIMAL, INT, EnumType, ListType, RecordType, record_of

# The shipped rulesets the columnar engine decides: not those of case files (`subject: case`, the procedure
# rulesets), which the row engine alone decides; the last test below checks that the columnar engine refuses them.
RULESETS = sorted(
    path
    for path in Path(__file__).resolve().parent.parent.glob("rulesets/*/ruleset.yaml")
    if not re.search(r"^subject: case\s*$", path.read_text(encoding="utf-8"), re.MULTILINE)
)
CASE_RULESETS = sorted(
    path for path in Path(__file__).resolve().parent.parent.glob("rulesets/*/ruleset.yaml") if path not in RULESETS
)
BASE_DAY = date(2021, 6, 30)


@cache
def _ruleset(path: Path) -> povrules.Ruleset:
    return povrules.load_ruleset(path)


def _days(ruleset: povrules.Ruleset) -> list[date]:
    """The synthetic county's date, and the last date a parameter value starts (so that every
    parameter has one), and a day before any rule's validity period ends, when there is one."""
    starts = [v.start for p in ruleset.parameters.values() for v in p.values]
    days = {max([BASE_DAY, *starts])}
    for rule in ruleset.rules.values():
        for edge in (rule.valid_from, rule.valid_to):
            if edge is not None and edge >= max(days) - timedelta(days=3650):
                days.add(edge + timedelta(days=1))
    return sorted(days)


# Random villages and counties: every fact drawn from its type, unknown one time in five.


def _random_value(rnd: random.Random, typ: Any, model: Any, name: str) -> Any:
    if typ == BOOL:
        return rnd.random() < 0.5
    if typ == INT and name == "year":  # a statistics year, bounded
        return rnd.choice([2019, 2020, 2021])
    if typ == INT:
        return rnd.choice([0, 0, 1, 2, 5, 10, 50, 100, 300, 1000, 5000, 20000])
    if typ == DECIMAL:
        info = model.model_fields[name]
        places = next(
            m
            for a in info.annotation.__args__
            for fi in getattr(a, "__metadata__", ())
            for m in getattr(fi, "metadata", ())
            if getattr(m, "decimal_places", None) is not None
        )
        low = -50 if places.decimal_places == 4 else 0
        return Decimal(rnd.randint(low * 100, 999_999 if low else 2_000_000)).scaleb(-2)
    if typ == DATE:
        return BASE_DAY - timedelta(days=rnd.randint(-400, 4000))
    if isinstance(typ, EnumType):
        return rnd.choice(typ.values)
    if isinstance(typ, ListType):
        extra = model.model_fields[name].json_schema_extra if model is not None else None
        least = extra.get("minItems", 0) if isinstance(extra, dict) else 0
        return [_random_value(rnd, typ.item, model, name) for _ in range(rnd.randint(least, 3))]
    if isinstance(typ, RecordType):
        return _random_record(rnd, typ)
    return f"x{rnd.randint(0, 9)}"


def _random_record(rnd: random.Random, record: RecordType) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in record.fields.items():
        required = record.model is not None and record.model.model_fields[name].is_required()
        if not required and rnd.random() < 0.2:
            continue
        value = _random_value(rnd, field.type, record.model, name)
        out[name] = {"value": value, "by": "村第一书记 王某", "on": BASE_DAY} if field.judged else value
    return out


# Synthetic overrides: synth makes none, so the households are given records of the bodies' decisions
# on the shipped default-strength rules (and on other rules), by bodies the rules name and others,
# before and after the county's date, contradictory and duplicated ones among them, and now and then
# an unknown list. Most households whose decision awaits deliberation get a record on the rules it
# awaits, so that the records change outcomes.


@cache
def _default_rules() -> dict[str, tuple[str, ...]]:
    """Each shipped default-strength rule's id and the bodies it names."""
    return {
        rule.id: rule.override_by
        for path in RULESETS
        for rule in _ruleset(path).rules.values()
        if rule.strength == "default"
    }


def _awaited(households: list[Any]) -> dict[str, set[str]]:
    """Household id → the default-strength rules a shipped decision of it awaits deliberation on."""
    out: dict[str, set[str]] = {}
    for path in RULESETS:
        ruleset = _ruleset(path)
        for name in ruleset.decisions:
            if ruleset.subject == "household" and povrules.plan(ruleset, name, traced=False).defeasible:
                for made in povrules.evaluate_iter(households, ruleset, name, as_of=_days(ruleset)[0], trace=False):
                    if made.outcome == "needs_deliberation":
                        out.setdefault(made.facts.id, set()).update(
                            r.rule.id for r in made.results if r.status == "awaiting_deliberation"
                        )
    return out


def _with_overrides(households: list[Any], seed: int) -> list[Any]:
    rnd = random.Random(seed)
    rules = [*sorted(_default_rules()), "wubulu_motor_vehicle"]
    awaited = _awaited(households)
    bodies = ["村民代表会议", "村民代表会议", "村民主评议", "村民主评议", "乡镇审核"]
    out = []
    for household in households:
        u = rnd.random()
        chosen = sorted(awaited.get(household.id, ())) if rnd.random() < 0.8 else []
        if chosen:
            u = 0.5
        if u < 0.05:
            out.append(household.model_copy(update={"overrides": None}))
            continue
        if u > 0.6:
            out.append(household)
            continue
        records = []
        for rule in chosen + rnd.sample(rules, rnd.randint(1, 5)):
            awaits = rule in chosen  # then by a body the rules name, decided by the county's date
            record = {
                "rule": rule,
                "body": rnd.choice(_default_rules()[rule] if awaits else bodies),
                "decided_on": BASE_DAY - timedelta(days=rnd.randint(1 if awaits else -90, 700)),
                "outcome": rnd.choice(["upheld", "set_aside"]),
            }
            records.append(record)
            v = rnd.random()
            if v < 0.3:  # the same date decided the other way, by the same body or another the rule may name
                records.append(
                    dict(
                        record,
                        body=rnd.choice(_default_rules()[rule] if awaits else bodies[:4]),
                        outcome="upheld" if record["outcome"] == "set_aside" else "set_aside",
                    )
                )
            elif v < 0.4:  # an identical duplicate
                records.append(dict(record))
            elif v < 0.6:  # an earlier or later decision on the same rule
                records.append(
                    dict(
                        record,
                        decided_on=record["decided_on"] + timedelta(days=rnd.choice([-30, 30])),
                        outcome=rnd.choice(["upheld", "set_aside"]),
                    )
                )
        rnd.shuffle(records)
        made = tuple(Override.model_validate(r) for r in records)
        out.append(household.model_copy(update={"overrides": made}))
    return out


def _subjects(subject: str, n: int, seed: int) -> list[Any]:
    if subject == "household":
        return _with_overrides(synth.county(n, seed), seed)
    rnd = random.Random(seed)
    record = record_of(SUBJECTS[subject][0])
    out = []
    for i in range(n):
        data = _random_record(rnd, record)
        data["id"] = f"S{i:05d}"
        out.append(povrules.parse_facts(data, subject))
    return out


@cache
def _county(subject: str) -> tuple[list[Any], Any]:
    subjects = _subjects(subject, 1500 if subject == "household" else 600, 20240)
    return subjects, caseload_frame(subjects, subject=subject)


def _cases() -> list[Any]:
    cases = []
    for path in RULESETS:
        ruleset = _ruleset(path)
        declared = _declared_rows(ruleset)
        for name, spec in ruleset.decisions.items():
            # Amounts are worked out by decide(), and facts a ruleset declares have no column: the columnar
            # engine refuses both (the row engine decides them).
            if spec.kind != "amount" and not declared & set(spec.rule_ids):
                cases.append(pytest.param(path, name, id=f"{path.parent.name}:{name}"))
    return cases


def _declared_rows(ruleset: povrules.Ruleset) -> set[str]:
    """The rules that read facts the ruleset declares (``hh.local.x``, ``m.local.x``)."""
    return {
        rule_id
        for rule_id, rule in ruleset.rules.items()
        if any(isinstance(n, (ast.FactRef, ast.VarRef)) and "local" in n.path for n in ast.walk(rule.when))
    }


def _amount_rows(ruleset: povrules.Ruleset) -> set[str]:
    """The rules that serve only as rows of amount decisions (read with the decision's element bound)."""
    amounts = {r for spec in ruleset.decisions.values() if spec.kind == "amount" for r in spec.rows}
    others = {r for spec in ruleset.decisions.values() if spec.kind != "amount" for r in spec.rule_ids}
    return amounts - others


def _hazard_rows(frame: Any, ruleset: povrules.Ruleset, prepared: povrules.Plan, day: date) -> set[str]:
    """The ids of the rows some rule in force marks as a hazard (decided by the row engine)."""
    translator = Translator(ruleset, day)
    hazards = [
        h for rule in prepared.rules if rule.in_force(day) for h in [translator.rule(rule.id).hazard] if h is not None
    ]
    if not hazards:
        return set()
    return set(frame.filter(pl.any_horizontal(hazards))["id"].to_list())


def _missing_translates(ruleset: povrules.Ruleset, prepared: povrules.Plan, day: date) -> bool:
    """Whether every rule in force has a columnar translation of its missing facts; where one has
    none, decide_frame hands the undetermined rows to the row engine for them (as documented)."""
    translator = Translator(ruleset, day)
    try:
        for rule in prepared.rules:
            if rule.in_force(day):
                translator.missing(rule.id)
    except NotSupported:
        return False
    return True


@pytest.mark.parametrize(("path", "decision"), _cases())
def test_columnar_equals_row_engine(path: Path, decision: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ruleset = _ruleset(path)
    subjects, frame = _county(ruleset.subject)
    prepared = povrules.plan(ruleset, decision, traced=False)
    # Which rows decide_frame hands to the row engine: only hazard rows (so that missing facts, and
    # the effects of overrides, are compared as computed in columns).
    handed: list[str] = []
    decide = povrules.Plan.decide

    def recording(self: povrules.Plan, facts: Any, as_of: date) -> Any:
        handed.append(facts.id)
        return decide(self, facts, as_of)

    monkeypatch.setattr(povrules.Plan, "decide", recording)
    for day in _days(ruleset):
        try:
            expected_rows = [prepared.rule_values(s, day)[0] for s in subjects]
        except EvaluationError:  # a zero divisor the row engine reaches: the columnar one must raise too
            with pytest.raises(EvaluationError):
                rule_values_frame(frame, ruleset, decision, day)
            continue
        values = rule_values_frame(frame, ruleset, decision, day)
        assert values.columns == ["id", *(rule.id for rule in prepared.rules)]
        for index, expected in enumerate(expected_rows):
            wanted = tuple(None if v is None or v.__class__ is Unknown else v for v in expected)
            assert values.row(index)[1:] == wanted, (index, day)
        if ruleset.decision(decision).kind == "ranking":
            with pytest.raises(NotSupported):
                decide_frame(frame, ruleset, decision, day)
            continue
        handed.clear()
        decided = decide_frame(frame, ruleset, decision, day)
        allowed = _hazard_rows(frame, ruleset, prepared, day)
        if not _missing_translates(ruleset, prepared, day):
            allowed |= set(decided.filter(pl.col("outcome") == "undetermined")["id"].to_list())
        assert set(handed) <= allowed, day
        rows = decided.iter_rows()
        for made, (ident, outcome, labels, missing, reasons) in zip(
            povrules.evaluate_iter(subjects, ruleset, decision, as_of=day, trace=False), rows
        ):
            assert (ident, outcome, labels, missing, reasons) == (
                made.facts.id,
                made.outcome,
                list(made.labels),
                list(made.missing),
                list(made.reasons),
            )


def test_every_shipped_rule_translates() -> None:
    """The coverage the docs report: every rule of every shipped ruleset has a translation."""
    refused = []
    for path in RULESETS:
        ruleset = _ruleset(path)
        translator = Translator(ruleset, _days(ruleset)[0])
        for rule_id in set(ruleset.rules) - _amount_rows(ruleset) - _declared_rows(ruleset):
            try:
                translator.rule(rule_id)
            except NotSupported as error:
                refused.append(str(error))
    assert refused == []


# The pieces, on their own.


def test_date_helpers_match_the_row_engine() -> None:
    rnd = random.Random(5)
    special = [date(2020, 2, 29), date(2021, 2, 28), date(2020, 1, 31), date(2019, 12, 31), date(2021, 3, 31)]
    starts = special + [date(2000, 1, 1) + timedelta(days=rnd.randint(0, 9000)) for _ in range(400)]
    ends = list(reversed(special)) + [date(2000, 1, 1) + timedelta(days=rnd.randint(0, 9000)) for _ in range(400)]
    counts = [rnd.randint(-40, 40) for _ in starts]
    frame = pl.DataFrame({"s": starts, "e": ends, "n": counts})
    got = frame.select(
        months=months_between_expr(pl.col("s"), pl.col("e")), added=add_months_expr(pl.col("s"), pl.col("n"))[0]
    )
    assert got["months"].to_list() == [compiler.months_between(a, b) for a, b in zip(starts, ends)]
    assert got["added"].to_list() == [compiler.add_months(a, k) for a, k in zip(starts, counts)]


def test_frame_round_trips_to_the_same_facts() -> None:
    subjects, frame = _county("household")
    assert facts_of(frame, range(40)) == subjects[:40]
    assert frame.schema["income"].fields[2].dtype == pl.Int64  # per_capita_net in fen
    as_json = list(synth.county_json(40, 20240))
    assert caseload_frame(as_json).equals(caseload_frame(synth.county(40, 20240)))


def test_plan_settle_refuses_a_combination_that_reads_facts() -> None:
    for path in RULESETS:
        ruleset = _ruleset(path)
        for name in ruleset.decisions:
            prepared = povrules.plan(ruleset, name, traced=False)
            if prepared.reads_facts:
                with pytest.raises(EvaluationError):
                    prepared.settle([None] * len(prepared.rules), _days(ruleset)[0])
                return
    pytest.skip("no shipped decision reads facts while combining")


def test_untranslatable_rule_is_refused_with_its_name() -> None:
    ruleset = _ruleset(next(p for p in RULESETS if p.parent.name == "cn-national"))
    variant = ruleset.with_rule(
        "outer_in_loop",
        add_to=("household_exit", "criteria"),
        when="any(m.age > len(hh.members) for m in hh.members)",
        title={"zh": "测试", "en": "test"},
    )
    with pytest.raises(NotSupported, match="outer_in_loop"):
        rule_values_frame(_county("household")[1], variant, "household_exit", BASE_DAY)


def test_a_zero_divisor_goes_to_the_row_engine() -> None:
    path = next(p for p in RULESETS if p.parent.name == "cn-yunnan-weishan-county")
    ruleset = _ruleset(path)
    counties = [
        povrules.parse_facts({"id": "C1", "rural_population": 0, "poor_population": 3}, "county"),
        povrules.parse_facts({"id": "C2", "rural_population": 1000, "poor_population": 3}, "county"),
    ]
    frame = caseload_frame(counties, subject="county")
    name = next(iter(ruleset.decisions))
    day = _days(ruleset)[0]
    with pytest.raises(EvaluationError):
        povrules.evaluate(counties[0], ruleset, name, as_of=day)
    with pytest.raises(EvaluationError, match="division by zero"):
        decide_frame(frame, ruleset, name, day)
    decided = decide_frame(frame.tail(1), ruleset, name, day)
    assert decided["outcome"].to_list() == [povrules.evaluate(counties[1], ruleset, name, as_of=day).outcome]


def test_missing_facts_need_no_row_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ordinary decision's undetermined rows get their missing facts from columns alone."""
    ruleset = _ruleset(next(p for p in RULESETS if p.parent.name == "cn-hunan-county-plan4"))
    subjects, frame = _county("household")
    expected = list(povrules.evaluate_iter(subjects, ruleset, "monitoring_type", as_of=BASE_DAY, trace=False))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the row engine was called")

    monkeypatch.setattr(povrules.Plan, "decide", refuse)
    monkeypatch.setattr(povrules.Plan, "combine", refuse)
    monkeypatch.setattr(povrules.Plan, "rule_values", refuse)
    decided = decide_frame(frame, ruleset, "monitoring_type", BASE_DAY)
    assert sum(1 for d in expected if d.missing) > 20  # the test means something
    assert decided["missing"].to_list() == [list(d.missing) for d in expected]
    assert decided["outcome"].to_list() == [d.outcome for d in expected]


def test_translated_missing_of_one_rule_equals_unknown_missing() -> None:
    """Translator.missing on its own: each rule's sorted paths where its value is unknown, else empty."""
    ruleset = _ruleset(next(p for p in RULESETS if p.parent.name == "cn-hunan-county-plan4"))
    subjects, frame = _county("household")
    prepared = povrules.plan(ruleset, "monitoring_type", traced=False)
    translator = Translator(ruleset, BASE_DAY)
    got = frame.select(*(translator.missing(rule.id) for rule in prepared.rules))
    for index, subject in enumerate(subjects):
        values = prepared.rule_values(subject, BASE_DAY)[0]
        wanted = tuple(sorted(v.missing) if v.__class__ is Unknown else [] for v in values)
        assert got.row(index) == wanted, index


def test_plan_settle_names_the_relevant_rules() -> None:
    ruleset = _ruleset(next(p for p in RULESETS if p.parent.name == "cn-hunan-county-plan4"))
    prepared = povrules.plan(ruleset, "monitoring_type", traced=False)
    unknown = Unknown(frozenset({"hh.x"}))
    everything = prepared.settle([unknown] * len(prepared.rules), BASE_DAY)
    assert everything.outcome == "undetermined" and everything.relevant
    assert set(everything.relevant) <= set(range(len(prepared.rules)))
    known = prepared.settle([False] * len(prepared.rules), BASE_DAY)
    assert known.relevant == ()
    # No default-strength exception: no effects to give, and giving none changes nothing.
    assert prepared.defeasible == ()
    assert prepared.settle([unknown] * len(prepared.rules), BASE_DAY, effects=()) == everything


def test_a_nested_quantifier_has_its_missing_facts_from_the_row_engine() -> None:
    """Missing facts of a quantifier inside a quantifier are refused in columns; decide_frame then
    asks the row engine for them, with the same answers."""
    ruleset = _ruleset(next(p for p in RULESETS if p.parent.name == "cn-national"))
    variant = ruleset.with_rule(
        "nested",
        add_to=("household_exit", "criteria"),
        when="any(any(c == 'drugs' for c in m.illegal_conduct) for m in hh.members)",
        title={"zh": "测试", "en": "test"},
    )
    with pytest.raises(NotSupported, match="nested"):
        Translator(variant, BASE_DAY).missing("nested")
    subjects, frame = _county("household")
    decided = decide_frame(frame, variant, "household_exit", BASE_DAY)
    expected = list(povrules.evaluate_iter(subjects, variant, "household_exit", as_of=BASE_DAY, trace=False))
    assert any(d.missing for d in expected)
    assert decided["missing"].to_list() == [list(d.missing) for d in expected]
    assert decided["outcome"].to_list() == [d.outcome for d in expected]


def test_a_rows_trace_on_demand_is_the_row_engines_byte_for_byte() -> None:
    from povrules.columnar import caseload_frame, explain_row

    ruleset = povrules.load_ruleset(Path(__file__).resolve().parent.parent / "rulesets" / "cn-hunan-county-plan4")
    households = synth.county(300, 5)
    frame = caseload_frame(households)
    as_of = date(2021, 6, 30)
    for row in (0, 17, 299, -1):
        alone = povrules.evaluate(households[row], ruleset, "monitoring_type", as_of=as_of)
        assert explain_row(frame, row, ruleset, "monitoring_type", as_of).to_json() == alone.to_json()
    with pytest.raises(IndexError, match="outside the frame"):
        explain_row(frame, 300, ruleset, "monitoring_type", as_of)


def test_override_effects_in_columns_are_the_row_engines() -> None:
    """Each default-strength exception's effect, computed from the frame's overrides list, is the one
    Plan.effects reads from the facts, row by row; the synthetic overrides reach every effect where
    the rule holds, and contradictory ones give conflicts in columns as in the row engine."""
    from povrules.columnar.evaluate import _effects
    from povrules.engine import EFFECTS

    subjects, frame = _county("household")
    seen: set[str] = set()
    conflicts = 0
    for path in RULESETS:
        ruleset = _ruleset(path)
        for name in ruleset.decisions:
            prepared = povrules.plan(ruleset, name, traced=False)
            if not prepared.defeasible:
                continue
            day = _days(ruleset)[0]
            in_force = [rule.in_force(day) for rule in prepared.rules]
            got = frame.select(_effects(prepared, day, in_force, frame.columns))
            for index, subject in enumerate(subjects):
                wanted = prepared.effects(subject, day)
                assert tuple(EFFECTS[e] for e in got.row(index)) == wanted, (name, index)
                values = prepared.rule_values(subject, day)[0]
                seen.update(e for i, e in zip(prepared.defeasible, wanted) if values[i] is True)
            decided = decide_frame(frame, ruleset, name, day)["outcome"].to_list()
            for made, outcome in zip(povrules.evaluate_iter(subjects, ruleset, name, as_of=day, trace=False), decided):
                if made.outcome == "conflict" and any(r.status == "contradicted" for r in made.results):
                    conflicts += 1
                    assert outcome == "conflict"
    assert seen == set(EFFECTS)
    assert conflicts >= 5, conflicts  # the test means something


def test_a_traditional_body_name_in_json_facts_is_read_as_the_canonical_one() -> None:
    ruleset = _ruleset(next(p for p in RULESETS if p.parent.name == "cn-hebei-lingshou"))
    prepared = povrules.plan(ruleset, "identify_monitoring_object", traced=False)
    rule = prepared.rules[prepared.defeasible[0]]
    households = []
    for index, household in enumerate(synth.county_json(60, 7)):
        household["overrides"] = [
            {
                "rule": rule.id,
                "body": "村民代表會議" if index % 2 else "村民代表会议",
                "decided_on": "2021-01-05",
                "outcome": "set_aside",
            }
        ]
        households.append(household)
    frame = caseload_frame(households)
    bodies = frame.select(pl.col("overrides").list.eval(pl.element().struct.field("body")).list.first())
    assert bodies.to_series().unique().to_list() == ["村民代表会议"]
    day = _days(ruleset)[0]
    facts = [povrules.parse_household(h) for h in households]
    decided = decide_frame(frame, ruleset, "identify_monitoring_object", day)
    assert decided["outcome"].to_list() == [
        d.outcome for d in povrules.evaluate_iter(facts, ruleset, "identify_monitoring_object", as_of=day, trace=False)
    ]


@pytest.mark.parametrize("path", CASE_RULESETS, ids=lambda p: p.parent.name)
def test_the_columnar_engine_refuses_the_decisions_on_case_files(path: Path) -> None:
    ruleset = _ruleset(path)
    frame = caseload_frame([povrules.parse_facts({"id": "c1", "events": []}, "case")], subject="case")
    for name in ruleset.decisions:
        with pytest.raises(NotSupported, match="row engine"):
            decide_frame(frame, ruleset, name, as_of=BASE_DAY)
