"""Fuzzing the readers of records and logs: record JSON mutated as text and as a tree (with its digest made
again, so that the checks behind the digest are reached), and decision logs with lines cut, changed,
repeated or put in.

A record that loads is explained and replayed. The only errors allowed are ``RecordError``,
``ReplayError`` and ``LogError`` (each naming the field, the file or the line); :func:`verify_log`
reports a damaged log as problems and raises only for a file it cannot read.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fuzzing import FUZZ, ended, guarded, mutated_text, mutated_tree
from hypothesis import given
from hypothesis import strategies as st

import povrules
from povrules.audit import (
    DecisionLog,
    RecordError,
    RulesetStore,
    explain_record,
    iter_log,
    load_record,
    make_record,
    record_digest,
    record_json,
    replay,
    verify_log,
)
from povrules.audit.log import LogError
from povrules.audit.replay import ReplayError

REPO = Path(__file__).resolve().parents[2]
KEY = b"fuzz-redaction-key-0123456789"


def _records() -> list[str]:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")
    lines = (REPO / "examples" / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    out = []
    for line in lines:
        decision = povrules.evaluate(
            povrules.parse_household(line), ruleset, "identify_poor_household", as_of=date(2016, 6, 30)
        )
        out += [
            record_json(make_record(decision)),
            record_json(make_record(decision, redact_key=KEY)),
            record_json(make_record(decision, version=1)),
        ]
    return out


RECORDS = _records()
STORE = RulesetStore(REPO / "rulesets")


def _read(target: str, text: str | bytes) -> None:
    with guarded(target):
        try:
            record = load_record(text)
        except RecordError as exc:
            assert exc.problems and all(p for p in exc.problems), exc
            ended(target, "RecordError")
            return
        explain_record(record, "zh")
        explain_record(record, "en")
        try:
            replay(text, STORE)
            ended(target, "ok")
        except (ReplayError, RecordError) as exc:
            assert str(exc)
            ended(target, type(exc).__name__)


@FUZZ
@given(text=st.sampled_from(RECORDS).flatmap(lambda r: mutated_text(r, rounds=2)))
def test_mutated_record_text(text: str) -> None:
    _read("records: mutated JSON text", text.encode("utf-8", "surrogatepass"))


def _resealed(record: Any) -> str:
    """The mutated record with a digest that matches it again, when it still has canonical JSON."""
    if isinstance(record, dict):
        try:
            record = dict(record, digest=record_digest(record))
        except Exception:  # noqa: BLE001, S110 - no canonical JSON: the reader must refuse it on its own
            pass
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@FUZZ
@given(record=st.sampled_from(RECORDS).flatmap(lambda r: mutated_tree(json.loads(r), rounds=2)), reseal=st.booleans())
def test_mutated_record_tree(record: Any, reseal: bool) -> None:
    text = _resealed(record) if reseal else json.dumps(record, ensure_ascii=False)
    _read("records: mutated JSON tree", text)


def _log_bytes() -> bytes:
    """A log of five records: an append, a batch of three, an append."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.jsonl"
        log = DecisionLog(path)
        log.append(json.loads(RECORDS[0]))
        with log.batch() as batch:
            for text in RECORDS[1:4]:
                batch.add(json.loads(text))
        log.append(json.loads(RECORDS[4]))
        assert verify_log(path).ok
        return path.read_bytes()


LOG = _log_bytes()


@st.composite
def damaged_logs(draw: st.DrawFn, data: bytes) -> bytes:
    lines = data.split(b"\n")
    op = draw(st.sampled_from(["text", "drop", "repeat", "swap", "truncate", "line"]))
    if op == "text":
        return draw(mutated_text(data.decode("utf-8"), rounds=2)).encode("utf-8", "surrogatepass")
    i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    if op == "drop":
        del lines[i]
    elif op == "repeat":
        lines.insert(j, lines[i])
    elif op == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "truncate":
        return data[: draw(st.integers(min_value=0, max_value=len(data)))]
    else:
        lines[i] = draw(st.binary(max_size=60) | st.just(b"{}") | st.just(b'{"seq":1}'))
    return b"\n".join(lines)


@FUZZ
@given(damaged=damaged_logs(LOG))
def test_damaged_logs(damaged: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("damaged") / "log.jsonl"
    path.write_bytes(damaged)
    target = "logs: damaged decision logs"
    with guarded(target):
        report = verify_log(path)
        assert report.ok or (report.problem.line >= 1 and report.problem.kind and report.problem.message), report
        try:
            entries = list(iter_log(path))
        except LogError as exc:
            assert str(exc).startswith(str(path)), exc
            ended(target, "LogError")
            return
        if report.ok and not report.uncommitted:
            assert len(entries) == report.entries
        ended(target, "ok" if report.ok else "problem reported, entries read")


def test_found_a_verified_record_without_an_operand_is_explained() -> None:
    """Found by this campaign: a record whose comparison lacks its right operand passes the schema and its
    digests, and explaining it raised KeyError."""
    record = json.loads(next(r for r in RECORDS if '"schema":"povrules.record.v1"' in r))  # v1: a list of leaves
    rule = next(r for r in record["trace"]["rules"] if any("op" in c for c in r["conditions"]))
    condition = next(c for c in rule["conditions"] if "op" in c)
    del condition["right"]
    rule.pop("cite", None)
    text = _resealed(record)
    loaded = load_record(text)
    assert f"{condition['left']['expr']} = " in explain_record(loaded, "en") and " ?" in explain_record(loaded, "zh")
