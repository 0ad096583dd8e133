"""Hooks: a lower layer's method whose work a higher layer does (povrules.hooks)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import povrules
from povrules import engine, html, text, trace
from povrules.hooks import HOOKS, Hook, HookError
from povrules.ruleset import loader, model, variant

WEISHAN = Path(__file__).resolve().parents[1] / "rulesets" / "cn-yunnan-weishan"


@pytest.fixture
def probe() -> Iterator[Hook[[int], str]]:
    hook: Hook[[int], str] = Hook("probe.hook")
    try:
        yield hook
    finally:
        del HOOKS["probe.hook"]


def _twice(n: int) -> str:
    return str(2 * n)


def _thrice(n: int) -> str:
    return str(3 * n)


def test_a_hook_calls_what_fills_it(probe) -> None:
    assert not probe.provided
    with pytest.raises(HookError, match="probe.hook is provided when the povrules package is imported"):
        probe(1)
    assert probe.provide(_twice) is _twice and probe.provided
    assert probe(21) == "42" and HOOKS["probe.hook"] is probe
    probe.provide(_twice)  # the same function again (a module reloaded) is no conflict
    with pytest.raises(HookError, match="provided by .*_twice, not .*_thrice"):
        probe.provide(_thrice)
    assert probe(1) == "2"


def test_a_hook_is_declared_once(probe) -> None:
    with pytest.raises(HookError, match="declared twice"):
        Hook("probe.hook")


def test_the_package_fills_each_method_with_the_higher_layer_s_function() -> None:
    assert engine.TRACE.function is trace.to_trace
    assert engine.EXPLAIN.function is text.explain and engine.EXPLAIN_RANKING.function is text.explain_ranking
    assert engine.HTML_VIEW.function is html.decision_html
    assert model.WITH_PARAMETER.function is variant.parameter_variant
    assert model.REBUILD.function is loader.rebuild_ruleset
    assert model.RULESET_HTML.function is html.ruleset_html


def test_the_methods_work_through_their_hooks() -> None:
    ruleset = povrules.load_ruleset(WEISHAN)
    household = povrules.parse_household({"id": "h1", "rural_hukou": True})
    decision = povrules.evaluate(household, ruleset, "identify_poor_household", as_of=date(2016, 6, 30))
    assert decision.trace() == trace.to_trace(decision)
    assert decision.explain("en") == engine.EXPLAIN.function(decision, "en")
    assert "<" in decision._repr_html_()
    again = pickle.loads(pickle.dumps(ruleset))  # rebuilt by the loader, through Ruleset.__reduce__'s hook
    assert again.digest == ruleset.digest
    name = next(iter(ruleset.parameters))
    assert ruleset.without_rule(next(iter(ruleset.rules))).base is ruleset
    assert ruleset.with_parameter(name, ruleset.parameters[name].at(date(2016, 6, 30)).value).base is ruleset
