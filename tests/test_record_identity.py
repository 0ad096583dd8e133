"""v1 records (``make_record(..., version=1)``) are byte for byte what the code before the fast
serialisation made; v2 records are made the same both ways.

``fixtures/records-v1.sha256.json`` holds the sha256 of the records that code made (one digest per
group of records, each record's canonical JSON and a newline): every example household under the
ruleset its file name names, for every decision and three dates, plain and redacted; and 2,000
synthetic households (``synth.county(2000, 11)``) under three decisions, in blocks of 100. The
records are made now by ``make_record`` + ``record_json`` and by ``make_record_json``; a record holds
its trace, so traces are covered too. (If the synthetic county's generator changes, its blocks are
made again by the code of the day, once the examples' groups still agree.) The redacted groups were
made again when redaction came to cover ids, places and project names as well.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

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
from povrules.canonical import canonical_json
from povrules.facts import parse_facts
from povrules.trace import to_trace

REPO = Path(__file__).resolve().parent.parent
KEY = b"0123456789abcdef-identity"
GOLDEN = json.loads((Path(__file__).parent / "fixtures" / "records-v1.sha256.json").read_text(encoding="utf-8"))
SUBJECTS = {"village": "village", "county": "county"}


def _examples() -> list[tuple[str, str]]:
    out = []
    for path in sorted((REPO / "examples").glob("*.jsonl")):
        name = path.stem
        if not (REPO / "rulesets" / name).exists():
            name = name.rsplit("-", 1)[0]  # e.g. cn-hunan-county-plan4-elimination → the plan-4 ruleset
        out.append((path.name, name))
    return out


def _digests(decisions: Iterable[Any], key: bytes | None) -> tuple[str, str]:
    """The digest of the decisions' records made both ways: make_record + record_json, make_record_json."""
    joined, direct = hashlib.sha256(), hashlib.sha256()
    for decision in decisions:
        text = record_json(make_record(decision, redact_key=key, version=1)).encode("utf-8")
        joined.update(text + b"\n")
        direct.update(make_record_json(decision, redact_key=key, version=1) + b"\n")
        if key is None:  # a redacted record's trace shows the redacted facts' digest
            assert canonical_json(to_trace(decision, version=1)) == canonical_json(json.loads(text)["trace"])
            v2 = make_record(decision, redact_key=key, version=2)
            assert canonical_json(to_trace(decision, version=2)) == canonical_json(v2["trace"])
            assert make_record_json(decision, version=2) == record_json(v2).encode("utf-8")
    return joined.hexdigest(), direct.hexdigest()


@pytest.mark.parametrize("example, ruleset_name", _examples())
def test_example_records_are_byte_identical(example: str, ruleset_name: str) -> None:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / ruleset_name)
    lines = (REPO / "examples" / example).read_text(encoding="utf-8").splitlines()
    facts = [parse_facts(json.loads(line), ruleset.subject) for line in lines if line.strip()]
    groups = 0
    for name in ruleset.decisions:
        for as_of in (date(2016, 6, 30), date(2021, 6, 30), date(2023, 6, 30)):
            decisions = []
            for f in facts:
                try:
                    decisions.append(povrules.evaluate(f, ruleset, name, as_of=as_of))
                except povrules.PovrulesError:
                    continue  # a ranking decision, or a date the ruleset does not cover
            golden = GOLDEN["examples"].get(f"{example} {name} {as_of}")
            if not decisions:
                assert golden is None
                continue
            assert golden is not None and golden["records"] == len(decisions), f"{example} {name} {as_of}"
            for key, field in ((None, "plain"), (KEY, "redacted")):
                assert _digests(decisions, key) == (golden[field], golden[field]), f"{example} {name} {as_of} {field}"
            groups += 1
    assert groups > 0


@pytest.mark.parametrize("decision_name", ["monitoring_type", "mark_risk_eliminated", "household_exit"])
def test_synthetic_records_are_byte_identical(decision_name: str) -> None:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-hunan-county-plan4")
    households = synth.county(2000, 11)
    for start in range(0, 2000, 100):
        decisions = [
            povrules.evaluate(h, ruleset, decision_name, as_of=date(2021, 6, 30))
            for h in households[start : start + 100]
        ]
        golden = GOLDEN["synthetic"][f"{decision_name} {start}-{start + 99}"]
        assert _digests(decisions, None) == (golden, golden), f"{decision_name} households {start}-{start + 99}"


def test_every_golden_group_is_checked() -> None:
    examples = {f"{example} " for example, _ in _examples()}
    assert all(any(key.startswith(e) for e in examples) for key in GOLDEN["examples"])
    assert len(GOLDEN["synthetic"]) == 60


def _weishan_decision() -> Any:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")
    line = (REPO / "examples" / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()[0]
    return povrules.evaluate(parse_facts(line), ruleset, "identify_poor_household", as_of=date(2016, 6, 30))


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("key", [None, KEY])
def test_a_record_by_reference_names_the_facts_by_digest(key: bytes | None, version: int) -> None:
    decision = _weishan_decision()
    full = make_record(decision, redact_key=key, version=version)
    ref = make_record(decision, redact_key=key, facts="digest", version=version)
    assert "facts" not in ref and ref["facts_ref"] == "digest"
    assert ref["facts_digest"] == full["facts_digest"] and ref["trace"] == full["trace"]
    text = record_json(ref)
    assert make_record_json(decision, redact_key=key, facts="digest", version=version) == text.encode("utf-8")
    assert load_record(text) == ref  # schema and digests, without the facts
    facts = full["facts"] if key else decision.facts
    assert load_record(text, facts=facts) == ref
    other = parse_facts(dict(full["facts"], id="WS-OTHER")) if key is None else dict(full["facts"], id="WS-OTHER")
    with pytest.raises(RecordError, match="facts_digest: recorded .* the facts given give"):
        verify_record(ref, facts=other)
    assert ("WS-" in explain_record(ref, "en")) is (key is None)  # redacted, the explanation shows the id's hash
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
