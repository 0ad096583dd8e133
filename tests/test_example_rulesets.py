"""The shipped example rulesets, read against the clauses they encode.

* ``cn-hunan-county-plan4``: three monitoring types around the 6500 元 line; 「以內」 includes the
  line (types ① 脱贫不稳定户 and ② 边缘易致贫户), 「超過」 excludes it (type ③ 突发严重困难户).
* ``cn-yunnan-weishan``: 五不录 (five hard exclusions) over the inclusion criteria, and 六优先.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import povrules
from povrules.trace import leaf_conditions

HUNAN_AS_OF = date(2021, 6, 30)
WEISHAN_AS_OF = date(2016, 6, 30)


# cn-hunan-county-plan4


def monitored(build, status, amount, return_risk=False, poverty_risk=False, shock=False, **assessments):
    """A rural household of the given registration status and per-capita net income."""
    judged = build.judged
    facts = {
        "return_risk": judged(return_risk, on="2021-06-01"),
        "poverty_risk": judged(poverty_risk, on="2021-06-01"),
        "risk_causes": ["illness"] if shock else [],
        "rigid_expenditure_large": judged(shock, on="2021-06-01"),
        "income_sharply_reduced": judged(False, on="2021-06-01"),
        "basic_living_severe_difficulty": judged(shock, on="2021-06-01"),
    }
    facts.update(assessments)
    return build.household(
        rural_hukou=True, registration={"status": status}, income={"per_capita_net": amount}, assessments=facts
    )


def monitoring_type(hunan, household, as_of=HUNAN_AS_OF):
    return povrules.evaluate(household, hunan, "monitoring_type", as_of=as_of)


BELOW, AT, JUST_ABOVE, ABOVE = "6499.99", "6500", "6500.01", "6501"


@pytest.mark.parametrize(
    "amount, outcome",
    [
        (BELOW, "unstable_exited"),
        (AT, "unstable_exited"),
        (JUST_ABOVE, "not_monitored"),
        (ABOVE, "not_monitored"),
    ],
)
def test_type_1_unstable_exited_around_the_line(hunan, build, amount, outcome):
    d = monitoring_type(hunan, monitored(build, "exited", amount, return_risk=True))
    assert d.outcome == outcome and d.missing == ()


@pytest.mark.parametrize(
    "amount, outcome",
    [
        (BELOW, "edge_vulnerable"),
        (AT, "edge_vulnerable"),
        (JUST_ABOVE, "not_monitored"),
        (ABOVE, "not_monitored"),
    ],
)
def test_type_2_edge_vulnerable_around_the_line(hunan, build, amount, outcome):
    d = monitoring_type(hunan, monitored(build, "general", amount, poverty_risk=True))
    assert d.outcome == outcome and d.missing == ()


@pytest.mark.parametrize(
    "amount, row_status",
    [
        (BELOW, "not_matched"),
        (AT, "not_matched"),
        (JUST_ABOVE, "selected"),
        (ABOVE, "selected"),
    ],
)
def test_type_3_sudden_hardship_around_the_line(hunan, build, status_of, amount, row_status):
    # A household on the monitoring roll's edge would be type ② at or below the line; an exited
    # household without return risk is not, so only type ③ can apply to it.
    h = monitored(build, "exited", amount, poverty_risk=True, shock=True)
    d = monitoring_type(hunan, h)
    assert status_of(d)["sudden_hardship"] == row_status
    assert d.outcome == ("sudden_hardship" if row_status == "selected" else "not_monitored")


def test_at_6500_types_1_and_2_apply_and_type_3_does_not(hunan, build, status_of):
    exited = monitoring_type(hunan, monitored(build, "exited", AT, return_risk=True, poverty_risk=True, shock=True))
    assert status_of(exited) == {
        "unstable_exited": "selected",
        "edge_vulnerable": "not_matched",
        "sudden_hardship": "not_matched",
    }
    general = monitoring_type(hunan, monitored(build, "general", AT, poverty_risk=True, shock=True))
    assert status_of(general) == {
        "unstable_exited": "not_matched",
        "edge_vulnerable": "selected",
        "sudden_hardship": "not_matched",
    }
    above = monitoring_type(hunan, monitored(build, "general", JUST_ABOVE, poverty_risk=True, shock=True))
    assert status_of(above) == {
        "unstable_exited": "not_matched",
        "edge_vulnerable": "not_matched",
        "sudden_hardship": "selected",
    }


def test_the_line_and_its_date_are_in_the_trace(hunan, build):
    d = monitoring_type(hunan, monitored(build, "general", AT, poverty_risk=True))
    assert d.parameters["monitoring_line"].value == Decimal("6500")
    assert d.parameters["monitoring_line"].start == date(2021, 1, 1)
    (row,) = [r for r in d.trace()["rules"] if r["id"] == "edge_vulnerable"]
    line = [p for p in row["parameters"] if p["name"] == "monitoring_line"][0]
    assert (line["value"], line["from"], line["unit"]) == ("6500", "2021-01-01", "元")
    comparison = [c for _, c in leaf_conditions(row) if c.get("op") == "<="][0]
    assert comparison["left"]["value"] == "6500.00" and comparison["right"]["value"] == "6500"


def test_either_large_rigid_expenditure_or_a_sharp_income_fall(hunan, build):
    judged = build.judged
    h = monitored(
        build,
        "general",
        ABOVE,
        poverty_risk=True,
        shock=True,
        rigid_expenditure_large=judged(False),
        income_sharply_reduced=judged(True),
    )
    assert monitoring_type(hunan, h).outcome == "sudden_hardship"
    neither = monitored(
        build,
        "general",
        ABOVE,
        poverty_risk=True,
        shock=True,
        rigid_expenditure_large=judged(False),
        income_sharply_reduced=judged(False),
    )
    assert monitoring_type(hunan, neither).outcome == "not_monitored"


def test_either_or_with_one_judgement_unknown(hunan, build):
    judged = build.judged
    one_is_enough = monitored(
        build,
        "general",
        ABOVE,
        poverty_risk=True,
        shock=True,
        rigid_expenditure_large=None,
        income_sharply_reduced=judged(True),
    )
    assert monitoring_type(hunan, one_is_enough).outcome == "sudden_hardship"
    d = monitoring_type(
        hunan,
        monitored(
            build,
            "general",
            ABOVE,
            poverty_risk=True,
            shock=True,
            rigid_expenditure_large=None,
            income_sharply_reduced=judged(False),
        ),
    )
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.assessments.rigid_expenditure_large",)
    assert d.possible == ("not_monitored", "sudden_hardship")


@pytest.mark.parametrize(
    "cause, outcome",
    [
        ("illness", "sudden_hardship"),
        ("disaster", "sudden_hardship"),
        ("accident", "sudden_hardship"),
        ("education", "not_monitored"),  # not one of the causes the text names
    ],
)
def test_sudden_hardship_only_from_the_named_causes(hunan, build, cause, outcome):
    h = monitored(build, "general", ABOVE, poverty_risk=True, shock=True, risk_causes=[cause])
    assert monitoring_type(hunan, h).outcome == outcome


def test_only_the_rural_population_is_monitored(hunan, build):
    h = monitored(build, "general", BELOW, poverty_risk=True).model_copy(update={"rural_hukou": False})
    assert monitoring_type(hunan, h).outcome == "not_monitored"


def test_hunan_unknown_judgement_is_the_only_missing_fact(hunan, build):
    h = build.household(rural_hukou=True, registration={"status": "exited"}, income={"per_capita_net": 3000})
    d = monitoring_type(hunan, h)
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.assessments.return_risk",)
    assert d.possible == ("not_monitored", "unstable_exited")


def test_hunan_before_the_line_is_in_force(hunan, build):
    with pytest.raises(povrules.EvaluationError, match="monitoring_line"):
        monitoring_type(hunan, monitored(build, "general", AT, poverty_risk=True), as_of=date(2020, 12, 31))


def test_hunan_explains_in_both_languages(hunan, build):
    d = monitoring_type(hunan, monitored(build, "exited", AT, return_risk=True))
    zh, en = d.explain("zh"), d.explain("en")
    assert "脱贫不稳定户" in zh and "6,500元" in zh
    assert "unstably exited household" in en
    assert "I-003-2" in en  # the interpretation of 「以內」 is shown with the rule that applied


# cn-yunnan-weishan: 五不录


EXCLUSION_FACTS = {
    "wubulu_motor_vehicle": {"assets": {"vehicles": [{"kind": "motorcycle"}]}},
    "wubulu_new_house": {
        "assets": {
            "properties": [
                {
                    "kind": "self_built",
                    "origin": "self_build",
                    "newly_built": {"value": True, "by": "村第一书记 王某", "on": "2016-05-01"},
                }
            ]
        }
    },
    "wubulu_urban_commodity_housing": {"assets": {"properties": [{"kind": "commodity_housing", "location": "urban"}]}},
    "wubulu_public_official": {"members": [{"is_public_official": False}, {"is_public_official": True}]},
    "wubulu_large_enterprise": {
        "assets": {"has_large_enterprise": {"value": True, "by": "村第一书记 王某", "on": "2016-05-01"}}
    },
}


def clean_assets(build):
    return {"vehicles": [], "properties": [], "has_large_enterprise": build.judged(False, on="2016-05-01")}


def candidate(build, dibao=True, **facts):
    """A dibao household judged among the poorest, all five looks recorded, none of the five exclusions.

    With ``dibao=False`` it is registered poor, so in neither pool of line 269.
    """
    registration = {"dibao": True} if dibao else {"dibao": False, "status": "registered_poor"}
    base = {
        "registration": registration,
        "assessments": {"among_poorest": build.judged(True, on="2016-03-20")},
        "five_looks": build.five_looks(),
        "assets": clean_assets(build),
        "members": [{"is_public_official": False}],
    }
    for key, value in facts.items():
        base[key] = {**base[key], **value} if key == "assets" else value
    return build.household("w1", **base)


def identify(weishan, household, as_of=WEISHAN_AS_OF):
    return povrules.evaluate(household, weishan, "identify_poor_household", as_of=as_of)


def test_a_candidate_with_no_exclusion_is_identified(weishan, build, status_of):
    d = identify(weishan, candidate(build))
    assert d.outcome == "identified" and d.missing == ()
    assert d.reasons == ("registration_pool", "among_poorest", "five_looks_recorded")
    assert all(status_of(d)[rule] == "not_applicable" for rule in EXCLUSION_FACTS)


@pytest.mark.parametrize("rule", EXCLUSION_FACTS)
def test_each_exclusion_alone_excludes_a_candidate(weishan, build, status_of, rule):
    d = identify(weishan, candidate(build, **EXCLUSION_FACTS[rule]))
    assert d.outcome == "excluded" and d.missing == ()
    assert d.reasons == (rule,)
    assert status_of(d)[rule] == "applied"
    assert [r for r in EXCLUSION_FACTS if status_of(d)[r] == "applied"] == [rule]


@pytest.mark.parametrize("rule", EXCLUSION_FACTS)
def test_each_exclusion_alone_excludes_whatever_the_inclusion_criteria(weishan, build, rule):
    not_dibao = identify(weishan, candidate(build, dibao=False, **EXCLUSION_FACTS[rule]))
    assert not_dibao.outcome == "excluded"
    # Nothing else known: the exclusion is enough, and nothing is reported missing.
    alone = identify(weishan, build.household("w2", **EXCLUSION_FACTS[rule]))
    assert alone.outcome == "excluded" and alone.missing == ()
    assert alone.reasons == (rule,)


def test_all_five_exclusions_together(weishan, build, status_of):
    facts = {"assets": {}, "members": EXCLUSION_FACTS["wubulu_public_official"]["members"]}
    for rule, extra in EXCLUSION_FACTS.items():
        facts["assets"].update(extra.get("assets", {}))
    facts["assets"]["properties"] = (
        EXCLUSION_FACTS["wubulu_new_house"]["assets"]["properties"]
        + EXCLUSION_FACTS["wubulu_urban_commodity_housing"]["assets"]["properties"]
    )
    d = identify(weishan, candidate(build, **facts))
    assert d.outcome == "excluded"
    assert d.reasons == tuple(EXCLUSION_FACTS)
    assert all(status_of(d)[rule] == "applied" for rule in EXCLUSION_FACTS)


def new_house(origin: str, new: bool = True) -> dict:
    judged = {"value": new, "by": "村第一书记 王某", "on": "2016-05-01"}
    return {"assets": {"properties": [{"kind": "self_built", "origin": origin, "newly_built": judged}]}}


@pytest.mark.parametrize(
    "facts",
    [
        {"assets": {"vehicles": [{"kind": "engineering_machinery"}, {"kind": "large_agricultural_machinery"}]}},
        {
            "assets": {
                "properties": [
                    {
                        **new_house("purchase", new=False)["assets"]["properties"][0],
                        "kind": "commodity_housing",
                        "location": "rural",
                    }
                ]
            }
        },
        new_house("self_build", new=False),
    ],
    ids=["machinery", "rural-commodity-housing", "old-house"],
)
def test_what_the_interpretations_do_not_count_as_exclusions(weishan, build, facts):
    assert identify(weishan, candidate(build, **facts)).outcome == "identified"


@pytest.mark.parametrize("origin", ["dilapidated_renovation_subsidy", "poverty_relocation", "disaster_rebuild"])
def test_no_origin_exempts_a_new_house(weishan, build, origin):
    # 「有新建住房的不录」 is unqualified, as 有机动车的不录 is (I-002-2).
    d = identify(weishan, candidate(build, **new_house(origin)))
    assert d.outcome == "excluded" and d.reasons == ("wubulu_new_house",)


def test_an_unknown_exclusion_fact_is_the_only_one_missing(weishan, build):
    house = {**new_house("purchase", new=False)["assets"]["properties"][0], "kind": "commodity_housing"}
    d = identify(weishan, candidate(build, assets={"properties": [house]}))
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.assets.properties[0].location",)
    assert d.possible == ("excluded", "identified")


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"registration": {"dibao": False, "status": "registered_poor"}}, "registration_pool"),
        (
            {"assessments": {"among_poorest": {"value": False, "by": "村民小组长 王某", "on": "2016-03-20"}}},
            "among_poorest",
        ),
        (
            {
                "five_looks": {
                    **{
                        k: {"assessed_on": "2016-05-01", "assessor": "王某"}
                        for k in ("housing", "durables", "labour", "industry")
                    },
                    "burden": {"assessed_on": "2016-07-01", "assessor": "王某"},
                }
            },
            "five_looks_recorded",
        ),
    ],
)
def test_inclusion_criteria_not_met(weishan, build, change, reason):
    d = identify(weishan, candidate(build, **change))
    assert d.outcome == "not_identified"
    assert d.reasons == (reason,)


def test_five_looks_incomplete_is_undetermined(weishan, build):
    looks = build.five_looks()
    del looks["industry"]
    d = identify(weishan, candidate(build, five_looks=looks))
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.five_looks.industry.assessed_on",)


# cn-yunnan-weishan: 六优先


def family(build, hid, *, ill=False, disability=0, student=False, able=True, grade="A", disaster="none", **facts):
    members = [
        {
            "health": "serious_illness" if ill else "healthy",
            "disability_grade": disability,
            "enrolled_in_school": student,
            "labour_capacity": "full" if able else "weak",
        },
    ]
    base = {
        "registration": {"dibao": True},
        "assessments": {"among_poorest": build.judged(True, on="2016-03-20")},
        "five_looks": build.five_looks(),
        "assets": clean_assets(build),
        "members": [{**m, "is_public_official": False} for m in members],
        "guarantees": {"dwelling_safety_grade": grade},
        "disaster": {"severity": disaster},
    }
    base.update(facts)
    return build.household(hid, **base)


def test_six_priorities_ranking_with_a_tie(weishan, build):
    households = [
        family(build, "w-one", student=True),  # 1 priority
        family(build, "w-four", ill=True, disability=1, able=False, grade="D"),  # 4
        family(build, "w-two-b", disaster="severe", grade="C"),  # 2
        family(build, "w-two-a", disability=2, able=False),  # 2
        family(build, "w-none"),  # 0
        family(build, "w-car", ill=True, able=False, assets={**clean_assets(build), "vehicles": [{"kind": "car"}]}),
        family(
            build,
            "w-unknown",
            members=[
                {"health": "healthy", "is_public_official": False, "labour_capacity": "full", "disability_grade": 0}
            ],
        ),
    ]
    r = povrules.rank(households, weishan, "six_priorities", as_of=WEISHAN_AS_OF)
    assert [(e.position, e.household, e.tied) for e in r.entries] == [
        (1, "w-four", False),
        (2, "w-two-a", True),
        (2, "w-two-b", True),
        (4, "w-one", False),
        (5, "w-none", False),
    ]
    assert r.entries[0].met == (
        "priority_serious_illness",
        "priority_severe_disability",
        "priority_no_able_labour",
        "priority_dilapidated_house",
    )
    assert r.entries[1].met == ("priority_severe_disability", "priority_no_able_labour")
    assert r.entries[2].met == ("priority_dilapidated_house", "priority_severe_disaster")
    assert [(d.household.id, d.outcome) for d in r.not_eligible] == [("w-car", "excluded")]
    assert [(d.household.id, d.missing) for d in r.undetermined] == [
        ("w-unknown", ("hh.members[0].enrolled_in_school",))
    ]
    text = r.explain("zh")
    assert "2. w-two-a（并列）：有重度残疾的优先、无壮劳力的优先" in text
    assert "未参与排序：w-car → 五不录排除" in text and "excluded" not in text  # the outcome by its label
    assert text.endswith("无法排序：w-unknown，尚缺成员1在校")  # the fact by its title, the member by number
