"""The synthetic county: reproducible by seed, valid, near its profile, reaching both sides of thresholds."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from povrules import evaluate_many, load_ruleset
from povrules.facts.household import Household
from povrules.synth import PROFILES, Profile, county, county_json

RULESETS = Path(__file__).resolve().parent.parent / "rulesets"
AS_OF = date(2021, 6, 30)


@pytest.fixture(scope="module")
def population() -> list[Household]:
    return county(2000, 7)


def _dump(n: int, seed: int, **kw: object) -> str:
    return json.dumps(list(county_json(n, seed, **kw)), sort_keys=True)  # type: ignore[arg-type]


def test_same_seed_same_json() -> None:
    assert _dump(200, 3) == _dump(200, 3)


def test_another_seed_differs() -> None:
    assert _dump(200, 3) != _dump(200, 4)


def test_county_and_json_agree() -> None:
    hs = county(50, 11)
    assert [h.model_dump(mode="json", exclude_none=True) for h in hs] == [
        Household.model_validate(d).model_dump(mode="json", exclude_none=True) for d in county_json(50, 11)
    ]
    assert len({h.id for h in hs}) == 50


def test_every_household_validates(population: list[Household]) -> None:
    assert len(population) == 2000
    assert all(isinstance(h, Household) for h in population)


def _shares(hs: list[Household]) -> dict[str, float]:
    n = len(hs)
    with_status = [h for h in hs if h.registration is not None]
    sizes = [len(h.members) for h in hs if h.members is not None]
    return {
        "ever_registered": sum(h.registration.status != "general" for h in with_status) / len(with_status),
        "mean_size": sum(sizes) / len(sizes),
        "unknown_income": sum(h.income is None or h.income.per_capita_net is None for h in hs) / n,
    }


def test_shares_near_profile(population: list[Household]) -> None:
    s = _shares(population)
    p = PROFILES["default"]
    assert abs(s["ever_registered"] - p.ever_registered_share) < 0.02
    mean = sum((k + 1) * w for k, w in enumerate(p.size_weights)) / sum(p.size_weights)
    assert abs(s["mean_size"] - mean) < 0.12
    # Income unknown: the group (unknown_share) or the figure alone (unknown_share of the rest).
    assert 0.01 < s["unknown_income"] < 0.12


def test_custom_profile_changes_shares() -> None:
    poor = county(1500, 7, profile=Profile(name="t", ever_registered_share=0.5, unknown_share=0.0))
    s = _shares(poor)
    assert abs(s["ever_registered"] - 0.5) < 0.05
    assert s["unknown_income"] == 0.0


def test_unknown_profile_name_refused() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        list(county_json(1, 1, profile="nowhere"))


def test_bad_share_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        Profile(unknown_share=1.5)


@pytest.mark.parametrize(
    ("ruleset", "decision", "outcomes"),
    [
        ("cn-yunnan-weishan", "identify_poor_household", {"identified", "not_identified", "excluded", "undetermined"}),
        ("cn-hunan-county-plan4", "monitoring_type",
         {"unstable_exited", "edge_vulnerable", "sudden_hardship", "not_monitored", "undetermined"}),
    ],
)
def test_decisions_reach_every_outcome(population: list[Household], ruleset: str, decision: str,
                                       outcomes: set[str]) -> None:
    rs = load_ruleset(RULESETS / ruleset)
    got = Counter(d.outcome for d in evaluate_many(population, rs, decision, as_of=AS_OF, trace=False))
    assert outcomes <= set(got), got
    # Undetermined is a minority: most households carry the facts.
    assert got["undetermined"] < 0.25 * len(population)
