"""Traces: every trace of the example households validates against povrules.trace.v2,
and explanations say what the rules found, in Chinese and English."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

import povrules
from povrules.trace import leaf_conditions, trace_schema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CASES = [
    ("cn-yunnan-weishan", "identify_poor_household", date(2016, 6, 30)),
    ("cn-yunnan-weishan", "six_priorities", date(2016, 6, 30)),
    ("cn-hunan-county-plan4", "monitoring_type", date(2021, 6, 30)),
]


def households(name: str) -> list[povrules.Household]:
    lines = (EXAMPLES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [povrules.parse_household(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = trace_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize(("name", "decision", "as_of"), CASES)
@pytest.mark.parametrize("traced", [True, False])
def test_every_example_trace_validates(validator, name, decision, as_of, traced):
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / name)
    for household in households(name):
        document = json.loads(povrules.evaluate(household, ruleset, decision, as_of=as_of, trace=traced).to_json())
        errors = sorted(validator.iter_errors(document), key=str)
        assert not errors, f"{household.id}: {errors[0].message} at {list(errors[0].absolute_path)}"
        assert document["traced"] is traced
        assert len(document["rules"]) == len(ruleset.decisions[decision].rule_ids)


def test_schema_refuses_a_tampered_trace(validator):
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / "cn-hunan-county-plan4")
    document = json.loads(
        povrules.evaluate(
            households("cn-hunan-county-plan4")[0], ruleset, "monitoring_type", as_of=date(2021, 6, 30)
        ).to_json()
    )
    document["rules"][0]["result"] = "maybe"
    assert not validator.is_valid(document)
    del document["rules"][0]["result"]
    document["facts_digest"] = "md5:abc"
    assert not validator.is_valid(document)


def test_trace_records_leaf_operands_parameter_dates_and_citation():
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / "cn-hunan-county-plan4")
    household = povrules.parse_household(
        {
            "id": "T1",
            "rural_hukou": True,
            "registration": {"status": "general"},
            "income": {"per_capita_net": "6500"},
            "assessments": {"poverty_risk": {"value": True, "by": "王某", "on": "2021-05-01"}},
        }
    )
    document = povrules.evaluate(household, ruleset, "monitoring_type", as_of=date(2021, 6, 30)).trace()
    assert document["outcome"] == "edge_vulnerable"
    assert document["ruleset"]["digest"] == ruleset.digest
    edge = next(r for r in document["rules"] if r["id"] == "edge_vulnerable")
    assert edge["status"] == "selected"
    income = next(c for _, c in leaf_conditions(edge) if c.get("op") == "<=")
    assert income["left"] == {
        "expr": "hh.income.per_capita_net",
        "value": "6500.00",
        "fact": "hh.income.per_capita_net",
    }
    assert income["right"]["parameter"] == "monitoring_line" and income["right"]["value"] == "6500"
    assert income["result"] == "true"
    assert edge["parameters"][0]["from"] == "2021-01-01"
    assert edge["parameters"][0]["cite"]["line"] == 276
    assert edge["cite"]["file"] == "003_e3e29ff1be94684a.txt" and edge["cite"]["line"] == 272
    sudden = next(r for r in document["rules"] if r["id"] == "sudden_hardship")
    assert sudden["status"] == "not_matched"
    above = next(c for _, c in leaf_conditions(sudden) if c.get("op") == ">")
    assert above["result"] == "false"


def test_quantifier_conditions_name_the_element():
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / "cn-yunnan-weishan")
    household = households("cn-yunnan-weishan")[0]  # owns a car
    document = povrules.evaluate(household, ruleset, "identify_poor_household", as_of=date(2016, 6, 30)).trace()
    vehicle = next(r for r in document["rules"] if r["id"] == "wubulu_motor_vehicle")
    _, condition = leaf_conditions(vehicle)[0]
    assert condition["where"] == ["hh.assets.vehicles[0]"]
    assert document["elements"]["hh.assets.vehicles[0]"] == {"zh": "第1项", "en": "item 1"}
    assert condition["left"]["fact"] == "hh.assets.vehicles[0].kind" and condition["left"]["value"] == "car"
    assert vehicle["status"] == "applied" and document["reasons"] == ["wubulu_motor_vehicle"]


def test_explanations_in_both_languages():
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / "cn-hunan-county-plan4")
    household = povrules.parse_household(
        {
            "id": "T2",
            "rural_hukou": True,
            "registration": {"status": "exited"},
            "income": {"per_capita_net": "5800"},
            "assessments": {"return_risk": {"value": True, "by": "村第一书记 王某", "on": "2021-05-01"}},
        }
    )
    decision = povrules.evaluate(household, ruleset, "monitoring_type", as_of=date(2021, 6, 30))
    zh, en = decision.explain("zh"), decision.explain("en")
    assert "→ 脱贫不稳定户" in zh.splitlines()[0]
    assert "人均纯收入 5,800元 不高于 监测基准线（家庭人均纯收入） 6,500元（2021-01-01起） → 成立" in zh
    assert "存在返贫风险：是（村第一书记 王某于2021-05-01研判） → 成立" in zh
    assert (
        "依据：《脫貧戶幫扶措施方案（二十篇）》第4篇第二部分（二）（003_e3e29ff1be94684a.txt:270）「建檔立卡脫貧戶中"
        in zh
    )
    assert "→ unstably exited household" in en.splitlines()[0]
    assert "6,500 yuan (from 2021-01-01) → holds" in en and "元" not in en.split("Source:")[0]
    with pytest.raises(ValueError):
        decision.explain("fr")


def test_undetermined_explanation_lists_the_missing_facts():
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / "cn-hunan-county-plan4")
    household = povrules.parse_household(
        {"id": "T3", "rural_hukou": True, "registration": {"status": "exited"}, "income": {"per_capita_net": "5200"}}
    )
    decision = povrules.evaluate(household, ruleset, "monitoring_type", as_of=date(2021, 6, 30))
    assert decision.outcome == "undetermined"
    assert decision.missing == ("hh.assessments.return_risk",)
    assert "尚缺事实：存在返贫风险" in decision.explain("zh")
    assert "Facts still needed: At risk of returning to poverty" in decision.explain("en")
