"""Subjects other than households: villages and counties decide on facts of their own.

The rulesets are the shipped Weishan village (一高) and county (poverty incidence) ones.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import ClassVar

import jsonschema
import pytest
from pydantic import BaseModel

import povrules
from povrules.facts import Judged
from povrules.lang.types import BOOL, INT, is_judged, record_of
from povrules.trace import leaf_conditions, trace_schema

ROOT = Path(__file__).resolve().parents[1] / "rulesets"
AS_OF = date(2016, 12, 31)


@pytest.fixture(scope="module")
def village_rs() -> povrules.Ruleset:
    return povrules.load_ruleset(ROOT / "cn-yunnan-weishan-village")


@pytest.fixture(scope="module")
def county_rs() -> povrules.Ruleset:
    return povrules.load_ruleset(ROOT / "cn-yunnan-weishan-county")


def village(growth_previous: str = "6000", growth_now: str = "6600", other_now: str = "8800", **facts):
    """A poor village growing 6000 → 6600 (10 %), beside one non-poor village growing 8000 → ``other_now``."""
    income = {"year": 2016, "disposable_per_capita": growth_now, "disposable_per_capita_previous": growth_previous}
    others = [
        {"id": "西坝村", "year": 2016, "disposable_per_capita": other_now, "disposable_per_capita_previous": "8000"}
    ]
    return povrules.parse_facts(
        {"id": "新村", "is_poor_village": True, "income": income, "county_non_poor_villages": others, **facts},
        "village",
    )


@pytest.mark.parametrize(("other_now", "outcome"), [("8799.20", "met"), ("8800", "not_met"), ("8800.80", "not_met")])
def test_one_higher_is_strictly_higher_growth(village_rs, other_now, outcome):
    # 6000 → 6600 is 10 % growth, against 9.99 %, 10 % and 10.01 %; 高于 is strict.
    decision = povrules.evaluate(village(other_now=other_now), village_rs, "one_higher", as_of=AS_OF)
    assert decision.outcome == outcome


def test_one_higher_is_asked_of_poor_villages_only(village_rs):
    d = povrules.evaluate(village(other_now="8080", is_poor_village=False), village_rs, "one_higher", as_of=AS_OF)
    assert d.outcome == "not_met"
    assert d.reasons == ("poor_village",)


def test_a_missing_village_figure_is_named_with_the_village_root(village_rs):
    facts = povrules.parse_facts({"id": "v", "is_poor_village": True}, "village")
    d = povrules.evaluate(facts, village_rs, "one_higher", as_of=AS_OF)
    assert d.outcome == "undetermined"
    assert d.missing == (
        "village.county_non_poor_villages",
        "village.income.disposable_per_capita",
        "village.income.disposable_per_capita_previous",
    )


@pytest.mark.parametrize(("poor", "outcome"), [(2999, "meets_target"), (3000, "meets_target"), (3001, "above_target")])
def test_county_incidence_at_three_percent_meets_the_target(county_rs, poor, outcome):
    # 以下 includes the number: exactly 3 % meets it.
    facts = povrules.parse_facts({"id": "巍山县", "rural_population": 100000, "poor_population": poor}, "county")
    assert povrules.evaluate(facts, county_rs, "county_exit_incidence", as_of=AS_OF).outcome == outcome


def test_traces_name_the_subject_and_validate(village_rs, county_rs):
    d = povrules.evaluate(village(), village_rs, "one_higher", as_of=AS_OF)
    trace = json.loads(d.to_json())
    jsonschema.validate(trace, trace_schema())
    assert (trace["subject"], trace["facts_id"]) == ("village", "新村")
    _, leaf = leaf_conditions(trace["rules"][0])[0]
    assert leaf["value"]["fact"] == "village.is_poor_village"
    text = d.explain("en")
    assert "for 新村" in text and "Growth of rural residents' disposable income (%) 10" in text


def test_facts_of_the_wrong_subject_are_refused(village_rs, county_rs):
    household = povrules.parse_household({"id": "h1"})
    with pytest.raises(TypeError, match=r"takes a Village .* not Household; .*parse_facts\(data, 'village'\)"):
        povrules.evaluate(household, village_rs, "one_higher", as_of=AS_OF)
    with pytest.raises(TypeError, match="takes a County"):
        povrules.evaluate_many([village()], county_rs, "county_exit_incidence", as_of=AS_OF)


def test_village_facts_are_validated_with_their_paths():
    with pytest.raises(povrules.FactsError) as caught:
        povrules.parse_facts(
            {"id": "v", "population": -1, "income": {"disposable_per_capita": "x"}, "hh": 1}, "village"
        )
    paths = {p.path for p in caught.value.problems}
    assert paths == {"population", "income.disposable_per_capita", "hh"}
    with pytest.raises(povrules.FactsError) as caught:
        povrules.parse_facts("[1]", "county")
    assert caught.value.problems[0].path == "(county)"
    with pytest.raises(ValueError, match="unknown subject 'town'"):
        povrules.parse_facts({"id": "x"}, "town")


def test_each_subject_has_a_json_schema():
    for subject in ("household", "village", "county"):
        schema = povrules.facts_schema(subject)
        assert schema["$id"] == f"povrules.{subject}.v1"
        jsonschema.Draft202012Validator.check_schema(schema)
    assert "is_poor_village" in povrules.facts_schema("village")["properties"]


def _ruleset(tmp_path: Path, subject: str, when: str) -> Path:
    (tmp_path / "s.txt").write_text("贫困村\n", encoding="utf-8")
    path = tmp_path / "r.yaml"
    path.write_text(
        "id: t\nversion: '1'\ntitle: {zh: 测试, en: Test}\n"
        f"subject: {subject}\n"
        "sources: {S: {file: s.txt, title: 测试}}\n"
        "rules:\n  r:\n    title: {zh: 规则, en: Rule}\n"
        f"    when: {when}\n"
        "    cite: {source: S, line: 1, quote: 贫困村}\n",
        encoding="utf-8",
    )
    return path


def test_a_village_ruleset_names_village_facts_and_nothing_else(tmp_path):
    assert povrules.load_ruleset(_ruleset(tmp_path, "village", "village.is_poor_village")).subject == "village"
    with pytest.raises(povrules.RulesetError) as caught:
        povrules.load_ruleset(_ruleset(tmp_path, "village", "hh.rural_hukou"))
    assert "'hh' names a household's facts" in str(caught.value)
    assert caught.value.location.line == 9 and caught.value.location.column == 11
    with pytest.raises(povrules.RulesetError, match="unknown fact 'rural_hukou'|has no fact 'rural_hukou'|rural_hukou"):
        povrules.load_ruleset(_ruleset(tmp_path, "village", "village.rural_hukou"))
    with pytest.raises(povrules.RulesetError, match="unknown subject 'town'"):
        povrules.load_ruleset(_ruleset(tmp_path, "town", "village.is_poor_village"))


def test_invalid_village_facts_are_named_as_a_village_s() -> None:
    with pytest.raises(povrules.FactsError) as caught:
        povrules.parse_facts({"id": "v", "households": -1}, "village")
    assert "invalid village facts: households:" in str(caught.value) and caught.value.subject == "village"
    with pytest.raises(povrules.FactsError, match="invalid household facts"):
        povrules.parse_facts({"id": "h", "members": []})


def test_one_registry_names_each_subject_its_model_and_root(village_rs, county_rs):
    from povrules.facts import ROOTS, SUBJECTS, Case, Household

    assert {name: (kind.model, kind.root) for name, kind in SUBJECTS.items()} == {
        "household": (Household, "hh"),
        "village": (povrules.Village, "village"),
        "county": (povrules.County, "county"),
        "case": (Case, "case"),
    }
    assert ROOTS == {"hh": "household", "village": "village", "county": "county", "case": "case"}
    for ruleset in (village_rs, county_rs):
        kind = SUBJECTS[ruleset.subject]
        assert (ruleset.facts_type, ruleset.root) == (kind.model, kind.root)


def test_a_decision_names_its_subject_neutrally(village_rs):
    facts = village()
    decision = povrules.evaluate(facts, village_rs, "one_higher", as_of=AS_OF)
    assert decision.subject is facts and decision.household is facts  # household: an alias kept for households
    assert decision.facts_id == "新村"


def test_overrides_are_read_through_the_subject():
    from povrules.facts import recorded_overrides

    assert recorded_overrides(village()) == () and recorded_overrides(None) == ()
    household = povrules.parse_household(
        {"id": "h", "overrides": [{"rule": "r", "body": "村两委", "outcome": "upheld", "decided_on": "2016-01-01"}]}
    )
    assert [o.rule for o in recorded_overrides(household)] == ["r"]


class _Scored(BaseModel):  # judged by its own say-so: the language does not know facts.Judged
    JUDGED: ClassVar[bool] = True
    value: int
    on: date


class _Plain(BaseModel):
    value: bool


class _Facts(BaseModel):
    stable: Judged[bool]
    scored: _Scored
    plain: _Plain


def test_the_language_knows_judged_facts_by_what_the_model_says():
    assert is_judged(Judged[bool]) and is_judged(_Scored) and not is_judged(_Plain)
    fields = record_of(_Facts).fields
    assert (fields["stable"].judged, fields["stable"].type) == (True, BOOL)
    assert (fields["scored"].judged, fields["scored"].type) == (True, INT)
    assert fields["plain"].judged is False
