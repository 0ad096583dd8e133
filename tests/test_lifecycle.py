"""The monitoring lifecycle: decisions that move a household's status, and the moves refused.

The ruleset is the fixture ``tests/fixtures/engine/lifecycle.yaml``: identification into
monitoring (a table of types), risk elimination, and the recheck that rolls it back.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import povrules
from povrules.lifecycle import ALLOWED, STATUSES, TransitionRefused, transition

FIXTURE = Path(__file__).parent / "fixtures" / "engine" / "lifecycle.yaml"
AS_OF = date(2021, 6, 30)
JUDGED = {"by": "村第一书记 王某", "on": "2021-06-01"}


@pytest.fixture(scope="module")
def rs() -> povrules.Ruleset:
    return povrules.load_ruleset(FIXTURE)


def household(status=None, income="5000", registration="exited", **facts):
    data = {"id": "h1", "registration": {"status": registration}, "income": {"per_capita_net": income}, **facts}
    if status is not None:
        data["monitoring"] = {"status": status, "type": "unstable_exited", "included_on": "2021-01-15"}
    return povrules.parse_household(data)


def test_a_household_below_the_line_is_taken_into_monitoring_with_its_type(rs):
    moved = transition(household(), rs, "identify_monitoring_object", as_of=AS_OF)
    assert (moved.before, moved.after, moved.changed) == ("none", "monitored", True)
    m = moved.household.monitoring
    assert (m.status, m.type, m.included_on, m.status_since) == ("monitored", "unstable_exited", AS_OF, AS_OF)
    assert moved.decision.outcome == "unstable_exited"
    general = transition(household(registration="general"), rs, "identify_monitoring_object", as_of=AS_OF)
    assert general.household.monitoring.type == "edge_vulnerable"


def test_an_outcome_with_no_move_leaves_the_household_as_it_was(rs):
    h = household(income="6000")  # at the line: not below it
    stay = transition(h, rs, "identify_monitoring_object", as_of=AS_OF)
    assert (stay.before, stay.after, stay.changed) == ("none", "none", False)
    assert stay.household is h and stay.decision.outcome == "not_monitored"


def test_elimination_then_recheck_rolls_back(rs):
    stable = {"assessments": {"income_stable": {"value": True, **JUDGED}}}
    eliminated = transition(household("monitored", income="6500", **stable), rs, "mark_risk_eliminated", as_of=AS_OF)
    assert (eliminated.before, eliminated.after) == ("monitored", "risk_eliminated")
    assert eliminated.household.monitoring.risk_eliminated_on == AS_OF
    assert eliminated.household.monitoring.included_on == date(2021, 1, 15)  # earlier dates are kept
    later = date(2021, 12, 31)
    poorer = eliminated.household.model_copy(
        update={"income": povrules.parse_household({"id": "x", "income": {"per_capita_net": "5800"}}).income}
    )
    rolled = transition(poorer, rs, "risk_elimination_recheck", as_of=later)
    assert (rolled.before, rolled.after) == ("risk_eliminated", "rolled_back")
    assert rolled.household.monitoring.rolled_back_on == later
    assert rolled.household.monitoring.risk_eliminated_on == AS_OF
    confirmed = transition(eliminated.household, rs, "risk_elimination_recheck", as_of=later)
    assert (confirmed.after, confirmed.decision.outcome) == ("risk_eliminated", "confirmed")


def test_a_decision_that_does_not_apply_to_the_status_is_refused(rs):
    with pytest.raises(
        TransitionRefused,
        match="applies to households whose status is monitored, "
        "tracked_attention, rolled_back; this household's is none",
    ):
        transition(household(), rs, "mark_risk_eliminated", as_of=AS_OF)
    with pytest.raises(TransitionRefused, match="this household's is monitored"):
        transition(household("monitored"), rs, "identify_monitoring_object", as_of=AS_OF)


def test_an_unsettled_outcome_moves_nothing_and_names_the_facts_needed(rs):
    with pytest.raises(
        TransitionRefused,
        match=r"is undetermined, so the status stays monitored; "
        r"facts still needed: hh.assessments.income_stable",
    ):
        transition(household("monitored", income="6500"), rs, "mark_risk_eliminated", as_of=AS_OF)


def test_an_unknown_status_or_a_decision_without_a_transition_is_refused(rs, tmp_path):
    unknown = povrules.parse_household({"id": "h", "monitoring": {"type": "edge_vulnerable"}})
    with pytest.raises(TransitionRefused, match="monitoring status is unknown"):
        transition(unknown, rs, "mark_risk_eliminated", as_of=AS_OF)
    identify = povrules.load_ruleset(FIXTURE.parent / "identify.yaml")
    with pytest.raises(TransitionRefused, match="changes no monitoring status"):
        transition(household(), identify, "identify", as_of=AS_OF)


def test_the_lifecycle_graph():
    assert set(ALLOWED) == set(STATUSES)
    assert all(targets <= set(STATUSES) for targets in ALLOWED.values())
    assert "risk_eliminated" not in ALLOWED["none"]  # nobody is eliminated before being monitored
    assert ALLOWED["rolled_back"] >= {"risk_eliminated"}  # a rolled-back household can be eliminated again
    assert ALLOWED["risk_eliminated"] >= {"rolled_back", "tracked_attention"}  # what a recheck may find
    assert not ALLOWED["removed"] - {"monitored"}


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "lifecycle.yaml"
    text = FIXTURE.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "on: {eliminated: risk_eliminated}",
            "on: {eliminated: risk_elimnated}",
            "outcome 'eliminated' leads to unknown monitoring status 'risk_elimnated'",
        ),
        (
            "applies_to: [risk_eliminated]",
            "applies_to: [none]",
            "would move a household from none to rolled_back, which the monitoring lifecycle does not allow",
        ),
        (
            "on: {eliminated: risk_eliminated}",
            "on: {elimintaed: risk_eliminated}",
            "never gives the outcome 'elimintaed'",
        ),
        ("applies_to: [risk_eliminated]", "applies_to: [risk_eliminated, gone]", "unknown monitoring status 'gone'"),
        (
            "{status: monitored, type: edge_vulnerable}",
            "{status: monitored, type: edgy}",
            "unknown monitoring type 'edgy'",
        ),
    ],
)
def test_a_transition_the_lifecycle_forbids_is_refused_at_load(tmp_path, old, new, message):
    with pytest.raises(povrules.RulesetError, match=message) as caught:
        povrules.load_ruleset(_variant(tmp_path, old, new))
    assert caught.value.location.file.endswith("lifecycle.yaml") and caught.value.location.line > 40
