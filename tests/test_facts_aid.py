"""The facts benefit amounts read: a member's medical costs after insurance, employment-aid groups, the local
低保 standard, poor disabled families, the kind of renovation, and the people a workshop employs."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import jsonschema
import pytest

import povrules

COST = {
    "setting": "inpatient",
    "in_province": True,
    "tiered_referral": False,
    "compliant_out_of_pocket": "12000.50",
    "incurred_on": "2020-06-15",
}
WORKER = {"exited_poor": True, "stable_months": 12, "average_monthly_wage": "1000"}
VALID = {
    "id": "h1",
    "members": [{"age": 40, "medical_costs": [COST], "employment_groups": ["college_graduate", "veteran"]}],
    "registration": {"poor_disabled_family": True, "local_dibao_standard": "5000"},
    "renovation_kind": "repair",
    "assets": {"enterprises": [{"assistance_workshop": True, "workers": [WORKER]}]},
}


def test_the_new_facts_parse_to_exact_values():
    hh = povrules.parse_household(VALID)
    cost = hh.members[0].medical_costs[0]
    assert cost.compliant_out_of_pocket == Decimal("12000.50") and cost.incurred_on == date(2020, 6, 15)
    assert cost.in_province is True and cost.tiered_referral is False and cost.setting == "inpatient"
    assert hh.members[0].employment_groups == ("college_graduate", "veteran")
    assert hh.registration.local_dibao_standard == Decimal("5000") and hh.registration.poor_disabled_family
    assert hh.renovation_kind == "repair"
    worker = hh.assets.enterprises[0].workers[0]
    assert worker.stable_months == 12 and worker.average_monthly_wage == Decimal("1000")


def test_unknown_is_none_and_an_empty_list_is_known_to_be_empty():
    hh = povrules.parse_household({"id": "h1", "members": [{"age": 3, "medical_costs": []}]})
    assert hh.members[0].medical_costs == () and hh.members[0].employment_groups is None
    assert hh.renovation_kind is None


BAD = {
    "an unknown care setting": (
        {"members": [{"medical_costs": [{**COST, "setting": "dental"}]}]},
        "members[0].medical_costs[0].setting",
    ),
    "a negative cost": (
        {"members": [{"medical_costs": [{**COST, "compliant_out_of_pocket": "-1"}]}]},
        "members[0].medical_costs[0].compliant_out_of_pocket",
    ),
    "an unknown employment group": (
        {"members": [{"employment_groups": ["astronaut"]}]},
        "members[0].employment_groups[0]",
    ),
    "an unknown kind of renovation": ({"renovation_kind": "demolish"}, "renovation_kind"),
    "an unknown state of the water pipe": ({"guarantees": {"water_pipe": "leaking"}}, "guarantees.water_pipe"),
    "a judged fact without its judge": (
        {"assessments": {"startup_willingness": {"value": True, "on": "2020-09-01"}}},
        "assessments.startup_willingness.by",
    ),
    "text for the 低保 standard": (
        {"registration": {"local_dibao_standard": "five"}},
        "registration.local_dibao_standard",
    ),
    "negative months of work": (
        {"assets": {"enterprises": [{"workers": [{**WORKER, "stable_months": -1}]}]}},
        "assets.enterprises[0].workers[0].stable_months",
    ),
    "a yes/no fact given as text": (
        {"assets": {"enterprises": [{"assistance_workshop": "yes"}]}},
        "assets.enterprises[0].assistance_workshop",
    ),
}


@pytest.mark.parametrize("facts, path", BAD.values(), ids=BAD.keys())
def test_a_bad_value_names_its_path(facts, path):
    with pytest.raises(povrules.FactsError) as caught:
        povrules.parse_household({"id": "h1", **facts})
    assert [p.path for p in caught.value.problems] == [path]


@pytest.mark.parametrize("facts, path", BAD.values(), ids=BAD.keys())
def test_the_json_schema_rejects_what_the_model_rejects(facts, path):
    schema = povrules.facts_schema("household")
    jsonschema.validate(json.loads(json.dumps(VALID)), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "h1", **facts}, schema)
