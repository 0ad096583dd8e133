"""The public evaluation API: Plan (bind, rule_values, combine, decide, decide_each), evaluate_iter."""

from __future__ import annotations

import gc
import tracemalloc
import types
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

import povrules
from povrules import EvaluationError, Plan, evaluate, evaluate_iter, evaluate_many, load_ruleset, plan
from povrules.lang.compiler import Unknown
from povrules.synth import county

REPO = Path(__file__).resolve().parent.parent
THREE_RULES = REPO / "benchmarks" / "rulesets" / "three_rules.yaml"
AS_OF = date(2021, 6, 30)


def _keys(values: tuple[object, ...]) -> list[object]:
    """Values comparable by content: an Unknown by the facts it lacks."""
    return [("unknown", v.missing) if isinstance(v, Unknown) else v for v in values]


@pytest.fixture(scope="module")
def weishan() -> povrules.Ruleset:
    return load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")


@pytest.fixture(scope="module")
def households() -> list[povrules.Household]:
    return county(300, 7)


def test_plan_is_memoised_per_ruleset_decision_and_flavour(weishan: povrules.Ruleset) -> None:
    name = next(iter(weishan.decisions))
    traced = plan(weishan, name)
    assert isinstance(traced, Plan)
    assert plan(weishan, name) is traced and plan(weishan, name, traced=True) is traced
    plain = plan(weishan, name, traced=False)
    assert plain is not traced and not plain.traced and traced.traced
    assert traced.ruleset is weishan and traced.spec is weishan.decisions[name]
    assert tuple(rule.id for rule in traced.rules) == traced.spec.rule_ids
    assert len(traced.fns) == len(traced.rules)


def test_unknown_decision_raises(weishan: povrules.Ruleset) -> None:
    with pytest.raises(EvaluationError, match="no decision"):
        plan(weishan, "no_such_decision")


def test_bind_checks_the_date_and_memoises(weishan: povrules.Ruleset) -> None:
    p = plan(weishan, next(iter(weishan.decisions)))
    bound = p.bind(AS_OF)
    assert p.bind(AS_OF) is bound
    assert dict(bound) == {k: v for k, v in weishan.values_as_of(AS_OF).items() if k in bound}
    with pytest.raises(TypeError, match="datetime.date"):
        p.bind(datetime(2021, 6, 30))  # type: ignore[arg-type]
    three = plan(load_ruleset(THREE_RULES), "identify")
    with pytest.raises(EvaluationError, match="has no value in force"):
        three.bind(date(2015, 12, 31))


@pytest.mark.parametrize("traced", [True, False])
def test_decide_rule_values_and_combine_agree_with_evaluate(
    weishan: povrules.Ruleset, households: list[povrules.Household], traced: bool
) -> None:
    for name, spec in weishan.decisions.items():
        p = plan(weishan, name, traced=traced)
        for household in households[:100]:
            expected = evaluate(household, weishan, name, as_of=AS_OF, trace=traced)
            decided = p.decide(household, AS_OF)
            values, leaves = p.rule_values(household, AS_OF)
            if spec.kind == "amount":  # its figures come from the facts: decide() only, never combine()
                assert decided.to_json() == expected.to_json()
                gate = decided.amount.gate if decided.amount is not None else None
                if gate is None or (spec.amount is not None and gate.outcome in spec.amount.gate_outcomes):
                    assert _keys(values) == _keys(decided.values)  # rows a refusing gate kept unevaluated are None
                with pytest.raises(EvaluationError, match="is an amount"):
                    p.combine(household, AS_OF, values, leaves)
                continue
            assert _keys(values) == _keys(expected.values) == _keys(decided.values)
            assert isinstance(expected.values, tuple) and expected.plan is p
            assert (leaves is not None) == traced
            combined = p.combine(household, AS_OF, values, leaves)
            assert decided.outcome == combined.outcome == expected.outcome, (name, household.id)
            assert decided.to_json() == combined.to_json() == expected.to_json()
            if spec.kind != "ranking":
                assert p.combine(household, AS_OF, list(values)).outcome == expected.outcome


def test_combine_refuses_values_of_the_wrong_length_and_wrong_facts(
    weishan: povrules.Ruleset, households: list[povrules.Household]
) -> None:
    p = plan(weishan, next(iter(weishan.decisions)))
    with pytest.raises(ValueError, match="rules"):
        p.combine(households[0], AS_OF, (True,) * (len(p.rules) + 1))
    with pytest.raises(TypeError, match="validate JSON"):
        p.combine({"id": "x"}, AS_OF, (True,) * len(p.rules))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="decide\\(\\) takes a Household"):
        p.decide({"id": "x"}, AS_OF)  # type: ignore[arg-type]


def test_decision_values_are_read_only(weishan: povrules.Ruleset, households: list[povrules.Household]) -> None:
    decision = evaluate(households[0], weishan, next(iter(weishan.decisions)), as_of=AS_OF)
    with pytest.raises(AttributeError):
        decision.values = ()  # type: ignore[misc]


def test_decide_each_and_evaluate_iter_match_evaluate(
    weishan: povrules.Ruleset, households: list[povrules.Household]
) -> None:
    for name in weishan.decisions:
        expected = [evaluate(h, weishan, name, as_of=AS_OF).to_json() for h in households]
        assert [d.to_json() for d in plan(weishan, name).decide_each(iter(households), AS_OF)] == expected
        assert [d.to_json() for d in evaluate_iter(iter(households), weishan, name, as_of=AS_OF)] == expected
        assert [d.to_json() for d in evaluate_many(households, weishan, name, as_of=AS_OF)] == expected


def test_evaluate_iter_is_lazy_and_checks_arguments_at_the_call(
    weishan: povrules.Ruleset, households: list[povrules.Household]
) -> None:
    name = next(iter(weishan.decisions))
    read: list[int] = []

    def feed() -> Iterator[povrules.Household]:
        for i, household in enumerate(households):
            read.append(i)
            yield household

    stream = evaluate_iter(feed(), weishan, name, as_of=AS_OF)
    assert isinstance(stream, types.GeneratorType) and read == []
    next(stream)
    next(stream)
    assert read == [0, 1]
    with pytest.raises(TypeError, match="datetime.date"):
        evaluate_iter(households, weishan, name, as_of="2021-06-30")  # type: ignore[arg-type]
    with pytest.raises(EvaluationError, match="no decision"):
        evaluate_iter(households, weishan, "nope", as_of=AS_OF)
    bad = evaluate_iter([households[0], {"id": "x"}], weishan, name, as_of=AS_OF)  # type: ignore[list-item]
    assert next(bad).facts is households[0]
    with pytest.raises(TypeError, match="evaluate_iter\\(\\) takes a Household"):
        next(bad)


def _peak(n: int, ruleset: povrules.Ruleset, pool: list[povrules.Household]) -> tuple[int, int]:
    """Peak traced memory while n decisions stream through evaluate_iter, and how many were counted."""
    feed = (pool[i % len(pool)] for i in range(n))  # the households are shared: only decisions could pile up
    gc.collect()
    tracemalloc.start()
    try:
        seen = 0
        for decision in evaluate_iter(feed, ruleset, "identify", as_of=date(2016, 6, 30)):
            seen += decision.outcome is not None
        return tracemalloc.get_traced_memory()[1], seen
    finally:
        tracemalloc.stop()


def test_evaluate_iter_runs_in_constant_memory() -> None:
    ruleset = load_ruleset(THREE_RULES)
    pool = county(1000, 11)
    evaluate(pool[0], ruleset, "identify", as_of=date(2016, 6, 30))  # plans and memos made before measuring
    small, n_small = _peak(20_000, ruleset, pool)
    large, n_large = _peak(200_000, ruleset, pool)
    assert (n_small, n_large) == (20_000, 200_000)
    # Ten times the households, about the same peak: a list of 200,000 traced decisions would take
    # tens of megabytes.
    assert large < small * 1.5 + 64 * 1024, (small, large)
    assert large < 1024 * 1024, large


def test_evaluate_iter_results_equal_evaluate_one_by_one() -> None:
    ruleset = load_ruleset(THREE_RULES)
    pool = county(2000, 12)
    as_of = date(2016, 6, 30)
    streamed = evaluate_iter((h for h in pool), ruleset, "identify", as_of=as_of)
    for household, decision in zip(pool, streamed, strict=True):
        assert decision.to_json() == evaluate(household, ruleset, "identify", as_of=as_of).to_json()
