"""Rulesets pickle: rebuilt from their resolved definition, same digest, byte-identical decisions."""

from __future__ import annotations

import pickle
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import povrules
from povrules import EvaluationError, RulesetError, evaluate, load_ruleset
from povrules.policytest import load_policy_tests
from povrules.synth import county

RULESETS = Path(__file__).resolve().parent.parent / "rulesets"
SHIPPED = sorted(p.name for p in RULESETS.iterdir() if (p / "ruleset.yaml").is_file())
HOUSEHOLDS = county(200, 2021)
MAX_PICKLE = 512 * 1024  # the largest shipped ruleset (留坝, with its amount schedules) pickles to about 360 KB


def _outputs(ruleset: povrules.Ruleset, subjects: list[Any], as_of: date) -> list[str]:
    """Every decision of the ruleset for every subject, as canonical JSON (or the error it raises)."""
    out = []
    for name in ruleset.decisions:
        for facts in subjects:
            try:
                out.append(evaluate(facts, ruleset, name, as_of=as_of).to_json())
            except EvaluationError as exc:
                out.append(f"error: {exc}")
    return out


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_ruleset_pickles_and_decides_identically(name: str) -> None:
    cases = load_policy_tests(RULESETS / name)
    ruleset = cases[0].ruleset if cases else load_ruleset(RULESETS / name)
    evaluate_dates = Counter(case.as_of for case in cases)
    as_of = evaluate_dates.most_common(1)[0][0] if cases else date(2021, 6, 30)
    subjects = [case.facts for case in cases if case.facts is not None]
    if ruleset.subject == "household":
        subjects += HOUSEHOLDS
    before = _outputs(ruleset, subjects, as_of)

    data = pickle.dumps(ruleset)
    assert len(data) < MAX_PICKLE
    back = pickle.loads(data)
    assert back is not ruleset and back.digest == ruleset.digest
    assert (back.id, back.version, back.files, back.subject) == (
        ruleset.id,
        ruleset.version,
        ruleset.files,
        ruleset.subject,
    )
    assert back.rules.keys() == ruleset.rules.keys() and back.decisions == ruleset.decisions
    assert _outputs(back, subjects, as_of) == before


def test_memos_are_not_pickled() -> None:
    ruleset = load_ruleset(RULESETS / "cn-yunnan-weishan")
    fresh = len(pickle.dumps(ruleset))
    for name in ruleset.decisions:
        # Households of 2016, so that no judgement postdates the decision date.
        povrules.evaluate_many(county(5, 2021, as_of=date(2016, 6, 30)), ruleset, name, as_of=date(2016, 6, 30))
    assert ruleset._plans[True]
    assert len(pickle.dumps(ruleset)) == fresh
    back = pickle.loads(pickle.dumps(ruleset))
    assert back._plans == {True: {}, False: {}} and back._as_of_cache == {}


@pytest.mark.parametrize(
    "make",
    [
        lambda rs: rs.with_parameter("monitoring_line", 7000),
        lambda rs: rs.with_parameter("monitoring_line", 6500, from_=date(2021, 1, 1)),
        lambda rs: rs.with_rule("edge_vulnerable", when="in_monitoring_range and hh.registration.status == 'general'"),
    ],
    ids=["parameter", "parameter-from", "rule-changed"],
)
def test_a_variant_pickles_with_its_base(make: Any) -> None:
    base = load_ruleset(RULESETS / "cn-hunan-county-plan4")
    variant = make(base)
    as_of = date(2021, 6, 30)
    before = _outputs(variant, HOUSEHOLDS, as_of)
    back = pickle.loads(pickle.dumps(variant))
    assert back.digest == variant.digest != base.digest
    assert back.variant == variant.variant
    assert back.base is not None and back.base.digest == base.digest and back.base.variant is None
    assert _outputs(back, HOUSEHOLDS, as_of) == before
    # Comparisons work across the pickle: the variant's base is a ruleset in its own right.
    assert (
        povrules.compare(back.base, back, HOUSEHOLDS, "monitoring_type", as_of=as_of).counts
        == povrules.compare(base, variant, HOUSEHOLDS, "monitoring_type", as_of=as_of).counts
    )


def test_a_variant_with_a_new_rule_pickles() -> None:
    base = load_ruleset(RULESETS / "cn-hunan-county-plan4")
    spec = base.decisions["monitoring_type"]
    variant = base.with_rule(
        "X1",
        title={"zh": "试验", "en": "trial"},
        when="hh.income.per_capita_net < 100",
        outcome=base.rules[spec.rows[0]].outcome,
        add_to=("monitoring_type", "rows"),
    )
    back = pickle.loads(pickle.dumps(variant))
    assert back.digest == variant.digest and "X1" in back.rules and back.rules["X1"].citation is None
    assert _outputs(back, HOUSEHOLDS, date(2021, 6, 30)) == _outputs(variant, HOUSEHOLDS, date(2021, 6, 30))


def test_an_altered_pickle_is_refused() -> None:
    ruleset = load_ruleset(RULESETS / "cn-national")
    data = pickle.dumps(ruleset)
    assert ruleset.digest.encode() in data
    forged = data.replace(ruleset.digest.encode(), ("sha256:" + "0" * 64).encode())
    with pytest.raises(RulesetError, match="rebuilds to"):
        pickle.loads(forged)


def test_a_ruleset_without_a_definition_cannot_pickle() -> None:
    import attrs

    ruleset = attrs.evolve(load_ruleset(RULESETS / "cn-national"), definition=None)
    with pytest.raises(TypeError, match="not built from a definition"):
        pickle.dumps(ruleset)
