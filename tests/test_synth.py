"""The synthetic county: reproducible by seed, valid, near its profile, reaching both sides of thresholds."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

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


def _shape(x: object) -> object:
    """Everything validation decides about a value: types, field sets, field order, exact Decimal digits."""
    if isinstance(x, BaseModel):
        return (
            type(x),
            sorted(x.__pydantic_fields_set__),
            x.__pydantic_extra__,
            x.__pydantic_private__,
            [(k, _shape(v)) for k, v in x.__dict__.items()],
        )
    if isinstance(x, (tuple, list)):
        return (type(x), [_shape(v) for v in x])
    return (type(x), str(x))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_county_is_what_validating_its_json_gives(profile: str) -> None:
    # county() builds the models without validating them: each must be what validation of its JSON
    # (decoded or as text) gives, down to the types, the fields set and the dump.
    built = county(300, 5, profile=profile)
    raw = list(county_json(300, 5, profile=profile))
    assert len(built) == len(raw) == 300
    for h, d in zip(built, raw, strict=True):
        for validated in (Household.model_validate(d), Household.model_validate_json(json.dumps(d))):
            assert h == validated
            assert _shape(h) == _shape(validated)
            assert json.dumps(h.model_dump(mode="json")) == json.dumps(validated.model_dump(mode="json"))
            assert h.model_dump() == validated.model_dump()
    # The draw reaches the optional parts, so that the comparison covers them.
    assert any(h.assets and h.assets.enterprises for h in built)
    assert any(h.monitoring and h.monitoring.risk_eliminated_on for h in built)
    assert any(h.registration and h.registration.exited_on for h in built)
    assert any(h.members and any(m.refuses_to_work for m in h.members) for h in built)


def test_shape_sees_what_equality_misses() -> None:
    # Equality alone would pass an int where validation gives a Decimal, or 5 where it gives 5.00.
    assert Decimal("5") == 5 and Decimal("5.00") == Decimal("5")
    assert _shape(Decimal("5")) != _shape(5)
    assert _shape(Decimal("5.00")) != _shape(Decimal("5"))
    assert _shape((1,)) != _shape([1])


def test_county_is_deterministic() -> None:
    assert county(200, 9) == county(200, 9)
    assert county(200, 9) != county(200, 10)


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
        (
            "cn-hunan-county-plan4",
            "monitoring_type",
            {"unstable_exited", "edge_vulnerable", "sudden_hardship", "not_monitored", "undetermined"},
        ),
    ],
)
def test_decisions_reach_every_outcome(
    population: list[Household], ruleset: str, decision: str, outcomes: set[str]
) -> None:
    rs = load_ruleset(RULESETS / ruleset)
    got = Counter(d.outcome for d in evaluate_many(population, rs, decision, as_of=AS_OF, trace=False))
    assert outcomes <= set(got), got
    # Undetermined is a minority: most households carry the facts.
    assert got["undetermined"] < 0.25 * len(population)
