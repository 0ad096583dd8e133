"""Shared fixtures: where the rulesets are, loaded rulesets, and small household builders.

Builders take plain Python values and go through ``povrules.parse_household``,
so every household a test evaluates has passed the same validation an app's
input would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import os

import pytest

import povrules

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
RULESETS = REPO / "rulesets"
ENGINE_FIXTURES = TESTS / "fixtures" / "engine"
# The source text the fixture rulesets cite (tests/fixtures/engine), kept with the tests.
FIXTURE_SOURCES = TESTS / "fixtures" / "sources"
# The folder of policy source texts the shipped rulesets cite: the one thing the tests read from outside
# the repository. `make test` passes it as POVRULES_SEEDS (its SEEDS setting, by default the same folder).
SEEDS_VARIABLE = "POVRULES_SEEDS"
DEFAULT_SEEDS = REPO.parent / "shared" / "seeds"

FIVE_LOOKS = ("housing", "durables", "labour", "industry", "burden")


class Build:
    """Household builders. Every fact left out stays unknown."""

    @staticmethod
    def household(hid: str = "h1", **facts: Any) -> povrules.Household:
        return povrules.parse_household({"id": hid, **facts})

    @staticmethod
    def judged(value: Any, by: str = "村第一书记 王某", on: str = "2021-03-01", **extra: Any) -> dict[str, Any]:
        """A judged fact with its provenance."""
        return {"value": value, "by": by, "on": on, **extra}

    @staticmethod
    def override(
        rule: str, body: str = "村民代表会议", on: str = "2021-02-01", outcome: str = "set_aside"
    ) -> dict[str, Any]:
        """A recorded decision of a deliberating body on a rule."""
        return {"rule": rule, "body": body, "decided_on": on, "outcome": outcome}

    @staticmethod
    def five_looks(on: str = "2016-05-01", assessor: str = "村第一书记 王某") -> dict[str, Any]:
        """All five 五看 home visits, recorded on one day."""
        return {name: {"assessed_on": on, "assessor": assessor} for name in FIVE_LOOKS}


@pytest.fixture(scope="session")
def build() -> type[Build]:
    return Build


@pytest.fixture(scope="session")
def rulesets_dir() -> Path:
    return RULESETS


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return ENGINE_FIXTURES


@pytest.fixture(scope="session")
def fixture_sources() -> Path:
    """The folder of source texts that the fixture rulesets cite."""
    return FIXTURE_SOURCES


@pytest.fixture(scope="session")
def seeds_or_none() -> Path | None:
    """The folder of policy source texts (``POVRULES_SEEDS``, else the default beside the repository), or None."""
    given = os.environ.get(SEEDS_VARIABLE)
    # Absolute, so that a test that changes its working folder still finds it (make test gives ../shared/seeds).
    folder = (Path(given) if given else DEFAULT_SEEDS).absolute()
    return folder if folder.is_dir() else None


@pytest.fixture(scope="session")
def seeds(seeds_or_none: Path | None) -> Path:
    """The folder of policy source texts; the test is skipped, saying why, when there is none."""
    if seeds_or_none is None:
        given = os.environ.get(SEEDS_VARIABLE)
        how = f"{SEEDS_VARIABLE}={given}" if given else f"{SEEDS_VARIABLE} is not set and {DEFAULT_SEEDS} is absent"
        pytest.skip(f"no folder of policy source texts ({how}): set {SEEDS_VARIABLE} to the folder the rulesets cite")
    return seeds_or_none


_loaded: dict[Path, povrules.Ruleset] = {}


def _load(path: Path) -> povrules.Ruleset:
    if path not in _loaded:
        _loaded[path] = povrules.load_ruleset(path)
    return _loaded[path]


@pytest.fixture(scope="session")
def engine_ruleset():
    """Load a test ruleset of ``tests/fixtures/engine`` by name (``"identify"`` → ``identify.yaml``)."""

    def load(name: str) -> povrules.Ruleset:
        return _load(ENGINE_FIXTURES / f"{name}.yaml")

    return load


@pytest.fixture(scope="session")
def identify_rs() -> povrules.Ruleset:
    return _load(ENGINE_FIXTURES / "identify.yaml")


@pytest.fixture(scope="session")
def defeasible_rs() -> povrules.Ruleset:
    return _load(ENGINE_FIXTURES / "defeasible.yaml")


@pytest.fixture(scope="session")
def tables_rs() -> povrules.Ruleset:
    return _load(ENGINE_FIXTURES / "tables.yaml")


@pytest.fixture(scope="session")
def ranking_rs() -> povrules.Ruleset:
    return _load(ENGINE_FIXTURES / "ranking.yaml")


@pytest.fixture(scope="session")
def weishan() -> povrules.Ruleset:
    return _load(RULESETS / "cn-yunnan-weishan")


@pytest.fixture(scope="session")
def hunan() -> povrules.Ruleset:
    return _load(RULESETS / "cn-hunan-county-plan4")


def statuses(decision: povrules.Decision) -> dict[str, str]:
    """Each rule's status, by rule id."""
    return {result.rule.id: result.status for result in decision.results}


@pytest.fixture(scope="session")
def status_of():
    return statuses
