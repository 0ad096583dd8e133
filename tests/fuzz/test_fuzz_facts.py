"""Fuzzing the facts parser: JSON text and decoded documents, from scratch and mutated from the examples.

Every input is parsed as a household (and as a village, a county); a document that parses is decided
under two rulesets, recorded (plain and redacted) and explained. The only error allowed is
:class:`povrules.FactsError`, naming a field path for each problem (or ``EvaluationError`` from a
decision that cannot proceed on the date).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fuzzing import FUZZ, JSON, ended, guarded, mutated_text, mutated_tree
from hypothesis import given
from hypothesis import strategies as st

import povrules
from povrules import EvaluationError, FactsError
from povrules.audit import make_record, record_json

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [
    json.loads(line)
    for path in sorted((REPO / "examples").glob("*.jsonl"))
    for line in path.read_text(encoding="utf-8").splitlines()[:4]
    if line.strip()
]
HOUSEHOLDS = [e for e in EXAMPLES if "members" in e or "income" in e]
KEY = b"fuzz-redaction-key-0123456789"


@pytest.fixture(scope="module")
def rulesets() -> list[tuple[povrules.Ruleset, str, date]]:
    weishan = povrules.load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")
    hunan = povrules.load_ruleset(REPO / "rulesets" / "cn-hunan-county-plan4")
    return [(weishan, "identify_poor_household", date(2016, 6, 30)), (hunan, "monitoring_type", date(2021, 6, 30))]


def _parse_and_decide(target: str, data: Any, rulesets: list[tuple[povrules.Ruleset, str, date]]) -> None:
    with guarded(target):
        try:
            household = povrules.parse_facts(data, "household")
        except FactsError as exc:
            assert exc.problems and all(p.path and p.expected for p in exc.problems), exc
            ended(target, "FactsError")
            return
        for ruleset, decision, as_of in rulesets:
            try:
                result = povrules.evaluate(household, ruleset, decision, as_of=as_of)
            except EvaluationError:
                ended(target, "EvaluationError")
                continue
            result.explain("zh")
            str(result.html("en"))
            record_json(make_record(result, redact_key=KEY))
        ended(target, "ok")
    for subject in ("village", "county"):
        try:
            povrules.parse_facts(data, subject)
        except FactsError:
            pass


@FUZZ
@given(data=JSON)
def test_any_decoded_json(data: Any, rulesets) -> None:
    _parse_and_decide("facts: any JSON value", data, rulesets)


@FUZZ
@given(data=st.sampled_from(HOUSEHOLDS).flatmap(lambda h: mutated_tree(h, rounds=3)))
def test_mutated_households(data: Any, rulesets) -> None:
    _parse_and_decide("facts: mutated example households", data, rulesets)


@FUZZ
@given(text=st.sampled_from(HOUSEHOLDS).flatmap(lambda h: mutated_text(json.dumps(h, ensure_ascii=False))))
def test_mutated_json_text(text: str, rulesets) -> None:
    _parse_and_decide("facts: mutated JSON text", text.encode("utf-8", "surrogatepass"), rulesets)


@FUZZ
@given(data=st.binary(max_size=200))
def test_any_bytes(data: bytes, rulesets) -> None:
    _parse_and_decide("facts: any bytes", data, rulesets)
