"""Records and traces are byte for byte what the code before the fast serialisation made.

``_legacy_v1`` is a frozen copy of ``trace.py`` and ``audit/record.py`` as they were; every
example household, under the ruleset its file name names, and 2,000 synthetic households under
three decisions are recorded by both, plain and redacted.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from _legacy_v1 import record as legacy_record
from _legacy_v1 import trace as legacy_trace

import povrules
from povrules import synth
from povrules.audit import (
    RecordError,
    ReplayError,
    RulesetStore,
    explain_record,
    load_record,
    make_record,
    make_record_json,
    record_json,
    replay,
    verify_record,
)
from povrules.canonical import canonical_json, facts_digest
from povrules.facts import parse_facts
from povrules.trace import to_trace

REPO = Path(__file__).resolve().parent.parent
KEY = b"0123456789abcdef-identity"
# Each example file's decisions: the ones its ruleset has, all of them.
SUBJECTS = {"village": "village", "county": "county"}


def _subject(name: str) -> str:
    return next((s for k, s in SUBJECTS.items() if name.endswith(k)), "household")


def _examples() -> list[tuple[str, str]]:
    out = []
    for path in sorted((REPO / "examples").glob("*.jsonl")):
        name = path.stem
        ruleset_dir = REPO / "rulesets" / name
        if not ruleset_dir.exists():
            name = name.rsplit("-", 1)[0]  # e.g. cn-hunan-county-plan4-elimination → the plan-4 ruleset
        out.append((path.name, name))
    return out


def _same(decision: Any) -> None:
    assert canonical_json(to_trace(decision)) == legacy_trace.canonical_json(legacy_trace.to_trace(decision))
    for key in (None, KEY):
        old = legacy_record.record_json(legacy_record.make_record(decision, redact_key=key))
        new = make_record(decision, redact_key=key)
        assert record_json(new) == old
        assert make_record_json(decision, redact_key=key) == old.encode("utf-8")


@pytest.mark.parametrize("example, ruleset_name", _examples())
def test_example_records_are_byte_identical(example: str, ruleset_name: str) -> None:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / ruleset_name)
    lines = (REPO / "examples" / example).read_text(encoding="utf-8").splitlines()
    facts = [parse_facts(json.loads(line), ruleset.subject) for line in lines if line.strip()]
    dates = {date(2016, 6, 30), date(2021, 6, 30), date(2023, 6, 30)}
    count = 0
    for name in ruleset.decisions:
        for as_of in sorted(dates):
            for f in facts:
                try:
                    decision = povrules.evaluate(f, ruleset, name, as_of=as_of)
                except povrules.PovrulesError:
                    continue  # a ranking decision, or a date the ruleset does not cover
                _same(decision)
                count += 1
    assert count > 0


@pytest.mark.parametrize("decision_name", ["monitoring_type", "mark_risk_eliminated", "household_exit"])
def test_synthetic_records_are_byte_identical(decision_name: str) -> None:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-hunan-county-plan4")
    households = synth.county(2000, 11)
    for i, household in enumerate(households):
        decision = povrules.evaluate(household, ruleset, decision_name, as_of=date(2021, 6, 30))
        if i % 10:
            assert record_json(make_record(decision)) == legacy_record.record_json(legacy_record.make_record(decision))
        else:
            _same(decision)
            assert facts_digest(household) == legacy_trace.facts_digest(household)


def _weishan_decision() -> Any:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")
    line = (REPO / "examples" / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()[0]
    return povrules.evaluate(parse_facts(line), ruleset, "identify_poor_household", as_of=date(2016, 6, 30))


@pytest.mark.parametrize("key", [None, KEY])
def test_a_record_by_reference_names_the_facts_by_digest(key: bytes | None) -> None:
    decision = _weishan_decision()
    full = make_record(decision, redact_key=key)
    ref = make_record(decision, redact_key=key, facts="digest")
    assert "facts" not in ref and ref["facts_ref"] == "digest"
    assert ref["facts_digest"] == full["facts_digest"] and ref["trace"] == full["trace"]
    text = record_json(ref)
    assert make_record_json(decision, redact_key=key, facts="digest") == text.encode("utf-8")
    assert load_record(text) == ref  # schema and digests, without the facts
    facts = full["facts"] if key else decision.facts
    assert load_record(text, facts=facts) == ref
    other = parse_facts(dict(full["facts"], id="WS-OTHER")) if key is None else dict(full["facts"], id="WS-OTHER")
    with pytest.raises(RecordError, match="facts_digest: recorded .* the facts given give"):
        verify_record(ref, facts=other)
    assert "WS-" in explain_record(ref, "en")
    store = RulesetStore(REPO / "rulesets")
    with pytest.raises(ReplayError, match="by reference .* give them back"):
        replay(text, store)
    result = replay(text, store, facts=facts)
    assert result.identical and record_json(result.replayed) == text


def test_a_record_holds_its_facts_or_names_them_not_both() -> None:
    record = make_record(_weishan_decision())
    with pytest.raises(RecordError, match="facts: present in a record with facts_ref"):
        verify_record(dict(record, facts_ref="digest"))
    with pytest.raises(RecordError, match="facts_ref: expected 'digest'"):
        verify_record({**{k: v for k, v in record.items() if k != "facts"}, "facts_ref": "inline"})
    with pytest.raises(RecordError, match="facts: expected one of"):
        make_record(_weishan_decision(), facts="none")  # type: ignore[arg-type]
