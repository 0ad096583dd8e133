"""The engine: three-valued logic, defeasible exceptions and overrides, time, determinism, threads.

The rulesets are the small fixtures of ``tests/fixtures/engine``:

* ``identify``: criteria ``low_income`` (per-capita net income below ``p.income_line``: 4000 from
  2020-01-01, 4500 from 2021-07-01) and ``rural``; a hard exclusion ``owns_car`` and a
  default-strength one ``public_official`` (set aside or upheld by 村民代表会议 or 村民主评议);
  ``identify_pilot`` with an exclusion in force in 2021 only; ``elder`` with a quantifier.
* ``defeasible``: a positive exception and a hard exclusion at level 1, exceptions at level 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import pytest

import povrules
from povrules.citations import check_citations

AS_OF = date(2021, 3, 1)  # the income line is 4000 on this date
# One member whom no member rule of the test rulesets picks out (a household has at least one member).
NOBODY_NOTABLE = {"age": 30, "is_public_official": False}


def decide(ruleset, household, decision="identify", as_of=AS_OF, **kw):
    return povrules.evaluate(household, ruleset, decision, as_of=as_of, **kw)


def eligible(build, **facts):
    """A household that meets both criteria and no exclusion, with ``facts`` replaced."""
    base = {
        "rural_hukou": True,
        "income": {"per_capita_net": 1000},
        "assets": {"vehicles": []},
        "members": [{"is_public_official": False}],
    }
    return build.household(**{**base, **facts})


# Three-valued logic: what is unknown, and which unknowns matter.


def test_all_known_and_eligible_is_identified(identify_rs, build, status_of):
    d = decide(identify_rs, eligible(build))
    assert d.outcome == "identified" and d.determined
    assert d.missing == () and d.possible == ()
    assert d.reasons == ("low_income", "rural")
    assert status_of(d) == {
        "low_income": "met",
        "rural": "met",
        "owns_car": "not_applicable",
        "public_official": "not_applicable",
    }


def test_base_false_makes_an_unknown_exclusion_irrelevant(identify_rs, build, status_of):
    h = build.household(rural_hukou=True, income={"per_capita_net": 5000})  # vehicles and members unknown
    d = decide(identify_rs, h)
    assert d.outcome == "not_identified"
    assert d.missing == ()
    assert d.reasons == ("low_income",)
    assert status_of(d)["owns_car"] == "unknown"
    assert status_of(d)["public_official"] == "unknown"


def test_one_false_criterion_decides_even_when_the_other_is_unknown(identify_rs, build, status_of):
    d = decide(identify_rs, build.household(rural_hukou=False, assets={"vehicles": []}, members=[NOBODY_NOTABLE]))
    assert d.outcome == "not_identified" and d.missing == ()
    assert status_of(d)["low_income"] == "unknown" and status_of(d)["rural"] == "not_met"
    assert d.reasons == ("rural",)


def test_base_unknown_and_a_hard_exclusion_true_is_excluded(identify_rs, build, status_of):
    h = build.household(assets={"vehicles": [{"kind": "truck"}, {"kind": "car"}]})  # income, hukou unknown
    d = decide(identify_rs, h)
    assert d.outcome == "excluded"
    assert d.missing == ()
    assert d.reasons == ("owns_car",)
    assert status_of(d) == {
        "low_income": "unknown",
        "rural": "unknown",
        "owns_car": "applied",
        "public_official": "unknown",
    }


def test_base_true_and_an_exclusion_unknown_lists_only_that_exclusions_facts(identify_rs, build):
    h = build.household(rural_hukou=True, income={"per_capita_net": 1000}, members=[{"is_public_official": False}])
    d = decide(identify_rs, h)
    assert d.outcome == "undetermined" and not d.determined
    assert d.missing == ("hh.assets.vehicles",)
    assert d.possible == ("excluded", "identified")
    assert d.reasons == ()


def test_an_unknown_record_is_reported_as_the_fact_the_rule_reads(identify_rs, build):
    h = build.household(
        rural_hukou=True, income={"per_capita_net": 1000}, members=[NOBODY_NOTABLE]
    )  # no 'assets' at all
    assert decide(identify_rs, h).missing == ("hh.assets.vehicles",)


def test_base_unknown_lists_only_the_unknown_criterion(identify_rs, build):
    d = decide(identify_rs, eligible(build, income=None))
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.income.per_capita_net",)
    assert d.possible == ("identified", "not_identified")


def test_every_fact_that_could_change_the_answer_is_listed(identify_rs, build):
    d = decide(identify_rs, build.household())
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.assets.vehicles", "hh.income.per_capita_net", "hh.members", "hh.rural_hukou")


def test_base_unknown_with_a_pending_default_exclusion_is_undetermined(identify_rs, build):
    # Base true ⇒ needs deliberation; base false ⇒ not identified: the income decides which.
    h = eligible(build, income=None, members=[{"is_public_official": True}])
    d = decide(identify_rs, h)
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.income.per_capita_net",)
    assert d.possible == ("needs_deliberation", "not_identified")


def test_base_false_and_a_pending_default_exclusion_is_not_identified(identify_rs, build):
    d = decide(identify_rs, eligible(build, income={"per_capita_net": 9000}, members=[{"is_public_official": True}]))
    assert d.outcome == "not_identified" and d.missing == ()


def test_quantifier_unknowns_name_the_element(identify_rs, build):
    d = decide(identify_rs, build.household(members=[{"age": 30}, {"name": "李四"}]), "elder")
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.members[1].age",)
    d = decide(identify_rs, build.household(members=[{}, {"age": 30}, {}]), "elder")
    assert d.missing == ("hh.members[0].age", "hh.members[2].age")


def test_quantifier_decides_when_a_known_element_settles_it(identify_rs, build):
    d = decide(identify_rs, build.household(members=[{}, {"age": 71}, {}]), "elder")
    assert d.outcome == "has_elder" and d.missing == ()
    assert decide(identify_rs, build.household(members=[NOBODY_NOTABLE]), "elder").outcome == "no_elder"


def test_quantifier_unknowns_in_an_exclusion_name_the_element(identify_rs, build):
    h = eligible(build, members=[{"is_public_official": False}, {"age": 40}, {"is_public_official": False}])
    d = decide(identify_rs, h)
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.members[1].is_public_official",)
    assert d.possible == ("identified", "needs_deliberation")


def test_a_known_element_that_fires_the_exclusion_makes_other_unknown_elements_irrelevant(identify_rs, build):
    h = eligible(build, assets={"vehicles": [{"kind": "car"}]}, members=[{}, {}])
    d = decide(identify_rs, h)
    assert d.outcome == "excluded" and d.missing == ()


def test_trace_false_gives_the_same_answer_without_leaves(identify_rs, build):
    h = build.household(rural_hukou=True, income={"per_capita_net": 1000}, members=[{"is_public_official": False}])
    traced, plain = decide(identify_rs, h), decide(identify_rs, h, trace=False)
    assert (plain.outcome, plain.missing, plain.possible) == (traced.outcome, traced.missing, traced.possible)
    assert [r.status for r in plain.results] == [r.status for r in traced.results]
    assert all(r.leaves == () for r in plain.results)
    assert any(r.leaves for r in traced.results)


# Overrides by the bodies a default-strength rule names.


def official(build, overrides=(), **facts):
    return eligible(build, members=[{"is_public_official": True}], overrides=list(overrides), **facts)


def result(decision, rule_id):
    (found,) = [r for r in decision.results if r.rule.id == rule_id]
    return found


def test_default_exclusion_without_override_needs_deliberation(identify_rs, build):
    d = decide(identify_rs, official(build))
    assert d.outcome == "needs_deliberation" and d.missing == ()
    assert d.reasons == ("public_official",)
    r = result(d, "public_official")
    assert r.status == "awaiting_deliberation" and r.override is None
    assert "村民代表会议" in d.explain("zh")


def test_set_aside_by_the_named_body_gives_the_base_outcome(identify_rs, build):
    d = decide(identify_rs, official(build, [build.override("public_official")]))
    assert d.outcome == "identified"
    assert d.reasons == ("low_income", "rural")
    r = result(d, "public_official")
    assert r.status == "overridden"
    assert (r.override.body, r.override.decided_on, r.override.outcome) == (
        "村民代表会议",
        date(2021, 2, 1),
        "set_aside",
    )


def test_set_aside_cannot_identify_a_household_the_criteria_reject(identify_rs, build):
    h = official(build, [build.override("public_official")], income={"per_capita_net": 8000})
    assert decide(identify_rs, h).outcome == "not_identified"


def test_upheld_by_a_named_body_excludes(identify_rs, build):
    d = decide(identify_rs, official(build, [build.override("public_official", body="村民主评议", outcome="upheld")]))
    assert d.outcome == "excluded"
    assert d.reasons == ("public_official",)
    r = result(d, "public_official")
    assert r.status == "applied" and r.override.body == "村民主评议"


def test_override_by_a_body_the_rule_does_not_name_is_ignored(identify_rs, build):
    d = decide(identify_rs, official(build, [build.override("public_official", body="乡镇审核")]))
    assert d.outcome == "needs_deliberation"
    assert result(d, "public_official").override is None


@pytest.mark.parametrize(
    "decided_on, outcome",
    [
        ("2021-03-02", "needs_deliberation"),  # the day after as_of: not yet decided
        ("2021-03-01", "identified"),  # on as_of: counts
        ("2021-02-28", "identified"),
    ],
)
def test_override_counts_only_if_dated_on_or_before_as_of(identify_rs, build, decided_on, outcome):
    h = official(build, [build.override("public_official", on=decided_on)])
    assert decide(identify_rs, h).outcome == outcome


def test_the_latest_override_wins_whatever_the_order_recorded(identify_rs, build):
    early_upheld = build.override("public_official", on="2021-01-10", outcome="upheld")
    late_set_aside = build.override("public_official", on="2021-02-10", outcome="set_aside")
    for order in ([early_upheld, late_set_aside], [late_set_aside, early_upheld]):
        d = decide(identify_rs, official(build, order))
        assert d.outcome == "identified"
        assert result(d, "public_official").override.decided_on == date(2021, 2, 10)
    early_set_aside = build.override("public_official", on="2021-01-10", outcome="set_aside")
    late_upheld = build.override("public_official", on="2021-02-10", outcome="upheld")
    assert decide(identify_rs, official(build, [late_upheld, early_set_aside])).outcome == "excluded"
    # The later one is not yet decided on an earlier as_of: the earlier one stands then.
    earlier = decide(identify_rs, official(build, [early_set_aside, late_upheld]), as_of=date(2021, 2, 1))
    assert earlier.outcome == "identified"


def test_override_of_another_rule_is_ignored(identify_rs, build):
    assert decide(identify_rs, official(build, [build.override("owns_car")])).outcome == "needs_deliberation"


def test_a_hard_exclusion_cannot_be_set_aside(identify_rs, build):
    h = eligible(build, assets={"vehicles": [{"kind": "car"}]}, overrides=[build.override("owns_car")])
    d = decide(identify_rs, h)
    assert d.outcome == "excluded"
    assert result(d, "owns_car").status == "applied" and result(d, "owns_car").override is None


def test_an_override_on_an_exclusion_that_does_not_hold_changes_nothing(identify_rs, build):
    h = eligible(build, overrides=[build.override("public_official", outcome="upheld")])
    d = decide(identify_rs, h)
    assert d.outcome == "identified"
    assert result(d, "public_official").status == "not_applicable"


def test_the_override_is_in_the_trace(identify_rs, build):
    d = decide(identify_rs, official(build, [build.override("public_official")]))
    (rule,) = [r for r in d.trace()["rules"] if r["id"] == "public_official"]
    assert rule["status"] == "overridden"
    assert rule["override"] == {
        "rule": "public_official",
        "body": "村民代表会议",
        "decided_on": "2021-02-01",
        "outcome": "set_aside",
    }
    assert rule["override_by"] == ["村民代表会议", "村民主评议"]


# Contradictory records (same rule, same date, bodies it names, opposite outcomes) and the bodies' names.


def test_contradictory_latest_overrides_are_a_conflict_naming_both_records(identify_rs, build):
    upheld = build.override("public_official", body="村民主评议", outcome="upheld")
    set_aside = build.override("public_official", body="村民代表会议", outcome="set_aside")
    for order in ([upheld, set_aside], [set_aside, upheld]):  # never decided by the order recorded
        d = decide(identify_rs, official(build, order))
        assert d.outcome == "conflict" and d.missing == ()
        assert d.reasons == ("public_official",)
        r = result(d, "public_official")
        assert r.status == "contradicted" and r.override is None
        assert [(o.body, o.outcome) for o in r.contradicting] == [(o["body"], o["outcome"]) for o in order]
    (rule,) = [r for r in d.trace()["rules"] if r["id"] == "public_official"]
    assert rule["status"] == "contradicted" and "override" not in rule
    assert [(o["body"], o["decided_on"], o["outcome"]) for o in rule["contradicting"]] == [
        ("村民代表会议", "2021-02-01", "set_aside"),
        ("村民主评议", "2021-02-01", "upheld"),
    ]
    assert "评议决定相互矛盾（村民代表会议 2021-02-01 排除；村民主评议 2021-02-01 维持）" in d.explain("zh")
    assert (
        "recorded deliberations contradict each other (村民代表会议 2021-02-01 set aside; 村民主评议 2021-02-01 upheld)"
    ) in d.explain("en")
    assert "评议决定相互矛盾（村民代表会议 2021-02-01 排除；村民主评议 2021-02-01 维持）" in str(d.html("zh"))


def test_the_same_body_contradicting_itself_on_one_date_is_a_conflict(identify_rs, build):
    twice = [build.override("public_official", outcome="upheld"), build.override("public_official")]
    assert decide(identify_rs, official(build, twice)).outcome == "conflict"
    # A later decision settles it; an earlier one, or one by a body the rule does not name, does not.
    later = build.override("public_official", on="2021-02-20", outcome="upheld")
    assert decide(identify_rs, official(build, [*twice, later])).outcome == "excluded"
    earlier = build.override("public_official", on="2021-01-20", outcome="upheld")
    stranger = build.override("public_official", body="乡镇审核", on="2021-02-20", outcome="upheld")
    assert decide(identify_rs, official(build, [earlier, *twice, stranger])).outcome == "conflict"
    # Not yet decided on an earlier date: the earlier decision stands.
    assert decide(identify_rs, official(build, [earlier, *twice]), as_of=date(2021, 1, 31)).outcome == "excluded"


def test_identical_duplicate_overrides_are_no_conflict(identify_rs, build):
    same = [build.override("public_official"), build.override("public_official", body="村民主评议")]
    d = decide(identify_rs, official(build, same))
    assert d.outcome == "identified"
    assert result(d, "public_official").status == "overridden" and result(d, "public_official").contradicting == ()


def test_contradictory_overrides_of_an_exception_that_does_not_hold_change_nothing(identify_rs, build):
    both = [build.override("public_official", outcome="upheld"), build.override("public_official")]
    d = decide(identify_rs, eligible(build, overrides=both))
    assert d.outcome == "identified" and result(d, "public_official").status == "not_applicable"
    unknown = decide(identify_rs, eligible(build, members=None, overrides=both))
    assert unknown.outcome == "undetermined" and unknown.possible == ("conflict", "identified")


def test_contradictory_overrides_that_cannot_change_the_outcome_are_no_conflict(defeasible_rs, build, status_of):
    # Upheld, the level-2 exclusion excludes; set aside, the level-1 car exclusion does: excluded either way.
    both = [build.override("official_pending", outcome="upheld"), build.override("official_pending")]
    h = dibao(build, assets=CAR, members=[{"is_public_official": True}], overrides=both)
    d = decide(defeasible_rs, h, "identify_deliberated")
    assert d.outcome == "excluded"
    assert status_of(d)["official_pending"] == "contradicted"
    without_car = dibao(build, assets={"vehicles": []}, members=[{"is_public_official": True}], overrides=both)
    assert decide(defeasible_rs, without_car, "identify_deliberated").outcome == "conflict"


def test_a_body_named_in_traditional_form_can_set_a_rule_aside(identify_rs, fixtures_dir, tmp_path, build):
    """Issue 13, row 4: the sources write 村民代表會議; ruleset and facts both read it as 村民代表会议."""
    text = (fixtures_dir / "identify.yaml").read_text(encoding="utf-8")
    assert "override_by: [村民代表会议, 村民主评议]" in text
    traditional = tmp_path / "identify.yaml"
    traditional.write_text(
        text.replace("override_by: [村民代表会议, 村民主评议]", "override_by: [村民代表會議]"), encoding="utf-8"
    )
    ruleset = povrules.load_ruleset(traditional)
    assert ruleset.rules["public_official"].override_by == ("村民代表会议",)
    for body in ("村民代表會議", "村民代表会议"):
        h = official(build, [build.override("public_official", body=body)])
        assert h.overrides[0].body == "村民代表会议"
        d = decide(ruleset, h)
        assert d.outcome == "identified" and result(d, "public_official").status == "overridden"


def test_plan_effects_and_settle_with_effects_give_what_deciding_gives(identify_rs, build):
    prepared = povrules.plan(identify_rs, "identify", traced=False)
    assert [prepared.rules[i].id for i in prepared.defeasible] == ["public_official"]
    cases = [
        [],
        [build.override("public_official")],
        [build.override("public_official", outcome="upheld")],
        [build.override("public_official", outcome="upheld"), build.override("public_official")],
    ]
    seen = set()
    for overrides in cases:
        h = official(build, overrides)
        effects = prepared.effects(h, AS_OF)
        seen.add(effects)
        made = prepared.settle(prepared.rule_values(h, AS_OF)[0], AS_OF, effects=effects)
        d = prepared.decide(h, AS_OF)
        assert (made.outcome, made.labels, made.possible, made.reasons) == (d.outcome, d.labels, d.possible, d.reasons)
    assert seen == {("pending",), ("overridden",), ("fired",), ("contradicted",)}
    with pytest.raises(povrules.EvaluationError, match="effects"):
        prepared.settle([True] * len(prepared.rules), AS_OF)
    with pytest.raises(ValueError, match="default-strength"):
        prepared.settle([True] * len(prepared.rules), AS_OF, effects=("maybe",))


# Conflicts and levels (defeasible.yaml).


def dibao(build, dibao=True, **facts):
    base = {
        "registration": {"dibao": dibao},
        "members": [NOBODY_NOTABLE],
        "assets": {"vehicles": []},
        "disaster": {"severity": "none"},
        "refuses_asset_verification": False,
    }
    return build.household(**{**base, **facts})


CAR = {"vehicles": [{"kind": "car"}]}


def test_a_positive_exception_identifies_against_the_base(defeasible_rs, build, status_of):
    d = decide(defeasible_rs, dibao(build, dibao=False, disaster={"severity": "severe"}))
    assert d.outcome == "identified"
    assert d.reasons == ("severe_disaster",)
    assert status_of(d)["severe_disaster"] == "applied"


def test_same_level_exceptions_that_disagree_are_a_conflict(defeasible_rs, build, status_of):
    for base in (True, False):
        d = decide(defeasible_rs, dibao(build, dibao=base, disaster={"severity": "severe"}, assets=CAR))
        assert d.outcome == "conflict"
        assert d.missing == ()
        assert set(d.reasons) == {"severe_disaster", "owns_car"}
        assert status_of(d)["severe_disaster"] == status_of(d)["owns_car"] == "applied"


def test_conflict_does_not_depend_on_the_order_of_the_exceptions(defeasible_rs, fixtures_dir, tmp_path, build):
    text = (fixtures_dir / "defeasible.yaml").read_text(encoding="utf-8")
    listed = "exceptions: [severe_disaster, owns_car, refuses_verification]"
    assert listed in text
    swapped_file = tmp_path / "swapped.yaml"
    swapped_file.write_text(
        text.replace(listed, "exceptions: [owns_car, severe_disaster, refuses_verification]"), encoding="utf-8"
    )
    swapped = povrules.load_ruleset(swapped_file)
    h = dibao(build, disaster={"severity": "severe"}, assets=CAR)
    for ruleset in (defeasible_rs, swapped):
        d = decide(ruleset, h)
        assert d.outcome == "conflict"
        assert set(d.reasons) == {"severe_disaster", "owns_car"}


def test_a_possible_conflict_is_undetermined(defeasible_rs, build):
    h = dibao(build, disaster={"severity": "severe"}, assets=None)
    d = decide(defeasible_rs, h)
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.assets.vehicles",)
    assert d.possible == ("conflict", "identified")


def test_only_the_unknowns_that_could_change_the_verdict_are_listed(defeasible_rs, build):
    # The car excludes at level 1 unless the positive exception makes it a conflict or the level-2
    # exclusion supersedes it; either way the dibao criterion can no longer matter.
    h = build.household(assets=CAR, members=[NOBODY_NOTABLE])  # dibao, disaster and asset verification unknown
    d = decide(defeasible_rs, h)
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.disaster.severity", "hh.refuses_asset_verification")
    assert d.possible == ("conflict", "excluded", "refused")


def test_a_higher_level_exception_supersedes_the_lower_ones(defeasible_rs, build, status_of):
    h = dibao(build, disaster={"severity": "severe"}, assets=CAR, refuses_asset_verification=True)
    d = decide(defeasible_rs, h)
    assert d.outcome == "refused"
    assert d.reasons == ("refuses_verification",)
    assert status_of(d) == {
        "dibao": "met",
        "severe_disaster": "superseded",
        "owns_car": "superseded",
        "refuses_verification": "applied",
    }


def test_a_higher_level_exception_settles_an_unknown_lower_one(defeasible_rs, build):
    h = dibao(build, disaster=None, assets=None, refuses_asset_verification=True)
    d = decide(defeasible_rs, h)
    assert d.outcome == "refused" and d.missing == ()


def test_higher_default_exception_pending_alone_needs_deliberation(defeasible_rs, build, status_of):
    d = decide(defeasible_rs, dibao(build, members=[{"is_public_official": True}]), "identify_deliberated")
    assert d.outcome == "needs_deliberation"
    assert status_of(d)["official_pending"] == "awaiting_deliberation"


def test_pending_higher_exception_that_agrees_with_an_applied_lower_one_decides(defeasible_rs, build, status_of):
    # Set aside, the level-1 car exclusion still excludes; upheld, it excludes: either way, excluded.
    for base in (True, False):
        h = dibao(build, dibao=base, assets=CAR, members=[{"is_public_official": True}])
        d = decide(defeasible_rs, h, "identify_deliberated")
        assert d.outcome == "excluded"
        assert status_of(d)["owns_car"] == "applied"
        assert status_of(d)["official_pending"] == "awaiting_deliberation"
        assert "owns_car" in d.reasons


def test_an_upheld_higher_exception_supersedes_the_lower_one(defeasible_rs, build, status_of):
    h = dibao(
        build,
        assets=CAR,
        members=[{"is_public_official": True}],
        overrides=[build.override("official_pending", outcome="upheld")],
    )
    d = decide(defeasible_rs, h, "identify_deliberated")
    assert d.outcome == "excluded"
    assert status_of(d) == {"dibao": "met", "owns_car": "superseded", "official_pending": "applied"}
    assert d.reasons == ("official_pending",)


def test_a_set_aside_higher_exception_leaves_the_lower_one_in_effect(defeasible_rs, build, status_of):
    h = dibao(build, assets=CAR, members=[{"is_public_official": True}], overrides=[build.override("official_pending")])
    d = decide(defeasible_rs, h, "identify_deliberated")
    assert d.outcome == "excluded"
    assert status_of(d) == {"dibao": "met", "owns_car": "applied", "official_pending": "overridden"}
    assert d.reasons == ("owns_car",)


# Time: dated parameters and rule validity.


@pytest.mark.parametrize(
    "as_of, line, start, outcome",
    [
        (date(2021, 6, 30), Decimal("4000"), date(2020, 1, 1), "not_identified"),  # the day before
        (date(2021, 7, 1), Decimal("4500"), date(2021, 7, 1), "identified"),  # the day the new value starts
        (date(2021, 7, 2), Decimal("4500"), date(2021, 7, 1), "identified"),  # the day after
        (date(2020, 1, 1), Decimal("4000"), date(2020, 1, 1), "not_identified"),  # the first day of the first value
    ],
)
def test_a_parameter_switches_value_on_its_from_date(identify_rs, build, as_of, line, start, outcome):
    d = decide(identify_rs, eligible(build, income={"per_capita_net": 4200}), as_of=as_of)
    assert d.outcome == outcome
    assert d.parameters["income_line"].value == line
    assert d.parameters["income_line"].start == start
    (rule,) = [r for r in d.trace()["rules"] if r["id"] == "low_income"]
    assert rule["parameters"][0]["value"] == str(line)
    assert rule["parameters"][0]["from"] == start.isoformat()


def test_as_of_before_the_first_parameter_value_is_an_error(identify_rs, build):
    with pytest.raises(povrules.EvaluationError, match=r"'income_line'.*2019-12-31.*2020-01-01"):
        decide(identify_rs, eligible(build), as_of=date(2019, 12, 31))


def test_a_decision_that_reads_no_missing_parameter_still_runs_before_it(identify_rs, build):
    d = decide(identify_rs, eligible(build), "identify_pilot", as_of=date(2019, 12, 31))
    assert d.outcome == "identified"


@pytest.mark.parametrize(
    "as_of, status, outcome",
    [
        (date(2020, 12, 31), "not_in_force", "identified"),
        (date(2021, 1, 1), "applied", "excluded"),
        (date(2021, 12, 31), "applied", "excluded"),  # 'to' is inclusive
        (date(2022, 1, 1), "not_in_force", "identified"),
    ],
)
def test_a_rule_outside_its_validity_is_not_in_force(identify_rs, build, status_of, as_of, status, outcome):
    h = eligible(build, assets={"vehicles": [], "deposits_total": "60000"})
    d = decide(identify_rs, h, "identify_pilot", as_of=as_of)
    assert d.outcome == outcome
    assert status_of(d)["pilot_exclusion"] == status
    (rule,) = [r for r in d.trace()["rules"] if r["id"] == "pilot_exclusion"]
    assert rule["valid"] == {"from": "2021-01-01", "to": "2021-12-31"}
    assert rule["result"] == ("not_in_force" if status == "not_in_force" else "true")


def test_a_rule_not_in_force_does_not_make_the_answer_undetermined(identify_rs, build):
    h = eligible(build, assets={"vehicles": []})  # deposits unknown
    assert decide(identify_rs, h, "identify_pilot", as_of=date(2022, 1, 1)).outcome == "identified"
    d = decide(identify_rs, h, "identify_pilot", as_of=date(2021, 6, 1))
    assert d.outcome == "undetermined" and d.missing == ("hh.assets.deposits_total",)


def test_bad_calls_are_refused(identify_rs, build):
    h = eligible(build)
    with pytest.raises(TypeError, match="as_of"):
        povrules.evaluate(h, identify_rs, "identify", as_of="2021-03-01")
    with pytest.raises(povrules.EvaluationError, match="did you mean 'identify'"):
        povrules.evaluate(h, identify_rs, "identfy", as_of=AS_OF)


# Determinism and thread safety.


def sample_households(build):
    """A spread of households: decided, undetermined, excluded, awaiting deliberation, overridden."""
    return [
        eligible(build),
        build.household("h-undetermined", rural_hukou=True, income={"per_capita_net": 1000}),
        build.household("h-empty"),
        eligible(build, assets=CAR),
        official(build),
        official(build, [build.override("public_official")]),
        eligible(build, income={"per_capita_net": "4499.99"}, members=[{}, {"age": 70}, {"is_public_official": False}]),
    ]


CASES = [
    ("identify", date(2021, 3, 1)),
    ("identify", date(2021, 7, 1)),
    ("identify_pilot", date(2021, 6, 1)),
    ("elder", date(2021, 3, 1)),
]


def all_json(ruleset, households):
    return [povrules.evaluate(h, ruleset, name, as_of=day).to_json() for name, day in CASES for h in households]


@pytest.mark.parametrize("trace", [True, False])
def test_a_batch_gives_what_one_call_per_household_gives(identify_rs, build, trace):
    households = sample_households(build)
    for name, day in CASES:
        batch = povrules.evaluate_many(households, identify_rs, name, as_of=day, trace=trace)
        single = [povrules.evaluate(h, identify_rs, name, as_of=day, trace=trace) for h in households]
        assert [d.to_json() for d in batch] == [d.to_json() for d in single]
        assert [d.household.id for d in batch] == [h.id for h in households]
    outcomes = {d.outcome for d in povrules.evaluate_many(households, identify_rs, "identify", as_of=AS_OF)}
    assert {"identified", "undetermined", "excluded", "needs_deliberation"} <= outcomes


def test_bad_batch_calls_are_refused(identify_rs, build):
    from datetime import datetime

    with pytest.raises(TypeError, match="Household"):
        povrules.evaluate_many([eligible(build), {"id": "raw"}], identify_rs, "identify", as_of=AS_OF)
    with pytest.raises(TypeError, match="not a datetime"):
        povrules.evaluate_many([eligible(build)], identify_rs, "identify", as_of=datetime(2021, 3, 1, 12))
    with pytest.raises(TypeError, match="not a datetime"):
        povrules.evaluate(eligible(build), identify_rs, "identify", as_of=datetime(2021, 3, 1, 12))
    assert povrules.evaluate_many([], identify_rs, "identify", as_of=AS_OF) == []


def test_repeated_runs_give_byte_identical_records(identify_rs, build):
    households = sample_households(build)
    first = all_json(identify_rs, households)
    for _ in range(3):
        assert all_json(identify_rs, households) == first
    assert len(set(first)) == len(first)  # and the records do differ between cases


def test_reloaded_ruleset_and_reparsed_facts_give_the_same_record(fixtures_dir, identify_rs, build):
    h = official(build, [build.override("public_official")])
    again = povrules.parse_household(json.dumps(json.loads(h.model_dump_json(exclude_none=True)), sort_keys=True))
    reloaded = povrules.load_ruleset(fixtures_dir / "identify.yaml")
    assert reloaded.digest == identify_rs.digest
    assert decide(reloaded, again).to_json() == decide(identify_rs, h).to_json()


_CHILD = """
import json, sys
from datetime import date
import povrules
ruleset = povrules.load_ruleset(sys.argv[1])
cases = json.loads(sys.argv[2])
for facts, name, day in cases:
    d = povrules.evaluate(povrules.parse_household(facts), ruleset, name, as_of=date.fromisoformat(day))
    sys.stdout.buffer.write(d.to_json().encode() + b"\\n")
"""


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_a_fresh_process_gives_byte_identical_records(identify_rs, fixtures_dir, build, tmp_path, hash_seed):
    households = sample_households(build)
    cases = [
        (h.model_dump(mode="json", exclude_none=True), name, day.isoformat()) for name, day in CASES for h in households
    ]
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(fixtures_dir / "identify.yaml"), json.dumps(cases)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    expected = "".join(line + "\n" for line in all_json(identify_rs, households)).encode()
    assert out == expected


def test_evaluating_from_eight_threads_matches_serial(identify_rs, fixtures_dir, build):
    households = sample_households(build) * 5
    serial = all_json(identify_rs, households)
    cold = povrules.load_ruleset(fixtures_dir / "identify.yaml")  # its memos are filled by the threads
    start = threading.Barrier(8)

    def work(_: int) -> list[str]:
        start.wait()
        return all_json(cold, households)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    assert all(r == serial for r in results)


def test_threads_reading_many_dates_of_one_ruleset_match_serial(identify_rs, fixtures_dir, build):
    # Each thread reads the dates in another order, so the per-date memo is filled concurrently.
    h = eligible(build, income={"per_capita_net": 4200})
    days = [date(2021, 6, 20) + timedelta(days=i) for i in range(20)]
    serial = [decide(identify_rs, h, as_of=day).to_json() for day in days]
    cold = povrules.load_ruleset(fixtures_dir / "identify.yaml")
    start = threading.Barrier(8)

    def work(offset: int) -> list[tuple[int, str]]:
        start.wait()
        order = days[offset:] + days[:offset]
        return [(days.index(day), decide(cold, h, as_of=day).to_json()) for day in order]

    with ThreadPoolExecutor(max_workers=8) as pool:
        for found in pool.map(work, range(8)):
            assert [text for _, text in sorted(found)] == serial
    outcomes = [json.loads(text)["outcome"] for text in serial]
    assert outcomes == ["not_identified"] * 11 + ["identified"] * 9  # the line changes on 2021-07-01


def test_ranking_from_eight_threads_matches_serial(fixtures_dir, build):
    households = [
        build.household(
            f"r{i:02d}",
            rural_hukou=i % 5 != 0,
            disaster={"severity": "severe" if i % 3 else "none"},
            members=[{"health": "serious_illness" if i % 2 else "healthy", "enrolled_in_school": i % 4 == 0}],
            income={"per_capita_net": 1000 + 37 * (i % 7)},
        )
        for i in range(40)
    ]

    def ranked(ruleset) -> list[tuple]:
        r = povrules.rank(households, ruleset, "by_count", as_of=AS_OF)
        return [(e.position, e.household, e.tied) for e in r.entries] + [d.household.id for d in r.not_eligible]

    serial = ranked(povrules.load_ruleset(fixtures_dir / "ranking.yaml"))
    assert len(serial) == 40 and serial[0][0] == 1
    cold = povrules.load_ruleset(fixtures_dir / "ranking.yaml")
    start = threading.Barrier(8)

    def work(_: int) -> list[tuple]:
        start.wait()
        return ranked(cold)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(found == serial for found in pool.map(work, range(8)))


def test_every_fixture_ruleset_loads_and_quotes_its_test_source(fixtures_dir, fixture_sources):
    files = sorted(fixtures_dir.glob("*.yaml"))
    assert [f.stem for f in files] == ["amounts", "defeasible", "identify", "lifecycle", "ranking", "tables"]
    for file in files:
        ruleset = povrules.load_ruleset(file)
        assert ruleset.rules and all(rule.citation is not None for rule in ruleset.rules.values())
        assert {rule.citation.file for rule in ruleset.rules.values()} == {"principles.md"}
        assert check_citations(ruleset, fixture_sources) == []
