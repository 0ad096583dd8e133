"""Decision records (povrules.record.v2; v1 still read): contents, determinism, schema, digests, loading, redaction."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import subprocess
import sys
import typing
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

import povrules
from povrules.audit import (
    RECORD_SCHEMA,
    RecordError,
    load_record,
    make_record,
    record_digest,
    record_json,
    record_schema,
    redact_facts,
    verify_record,
)
from povrules.facts import personal_fields
from povrules.errors import PovrulesError
from povrules.facts import SUBJECTS
from povrules.trace import facts_digest, leaf_conditions

REPO = Path(__file__).resolve().parent.parent
RULESETS = REPO / "rulesets"
EXAMPLES = REPO / "examples"
AS_OF = date(2016, 6, 30)
KEY = b"county-audit-key-0123456789abcdef"
OTHER_KEY = b"another-key-0123456789abcdefghij"

# (ruleset directory, subject, example facts, a decision)
SUBJECT_CASES = [
    ("cn-yunnan-weishan", "household", "cn-yunnan-weishan.jsonl", "identify_poor_household"),
    ("cn-yunnan-weishan-village", "village", "cn-yunnan-weishan-village.jsonl", "one_higher"),
    ("cn-yunnan-weishan-county", "county", "cn-yunnan-weishan-county.jsonl", "county_exit_incidence"),
]

_rulesets: dict[str, povrules.Ruleset] = {}


def ruleset(name: str) -> povrules.Ruleset:
    if name not in _rulesets:
        _rulesets[name] = povrules.load_ruleset(RULESETS / name)
    return _rulesets[name]


def example_facts(file: str, subject: str) -> list[Any]:
    lines = (EXAMPLES / file).read_text(encoding="utf-8").splitlines()
    return [povrules.parse_facts(line, subject) for line in lines if line.strip()]


def first_record(case: tuple[str, str, str, str], **kwargs: Any) -> dict[str, Any]:
    name, subject, file, decision = case
    facts = example_facts(file, subject)[0]
    return make_record(povrules.evaluate(facts, ruleset(name), decision, as_of=AS_OF), **kwargs)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def household_record() -> dict[str, Any]:
    return first_record(SUBJECT_CASES[0])


# What a record holds


def test_record_holds_the_decision_its_facts_and_its_trace() -> None:
    rs = ruleset("cn-yunnan-weishan")
    facts = example_facts("cn-yunnan-weishan.jsonl", "household")[0]
    decision = povrules.evaluate(facts, rs, "identify_poor_household", as_of=AS_OF)
    record = make_record(decision)
    assert record["schema"] == RECORD_SCHEMA == "povrules.record.v2"
    assert record["engine"] == {"name": "povrules", "version": povrules.__version__}
    assert record["ruleset"] == {
        "id": rs.id,
        "version": rs.version,
        "digest": rs.digest,
        "jurisdiction": rs.jurisdiction,
        "subject": "household",
    }
    assert record["decision"] == "identify_poor_household"
    assert record["as_of"] == "2016-06-30"
    assert record["facts"] == facts.model_dump(mode="json", exclude_none=True)
    assert record["facts_digest"] == facts_digest(facts) == record["trace"]["facts_digest"]
    assert record["redacted"] is False
    assert record["outcome"] == decision.outcome == "excluded"  # WS-0101 owns a car
    assert record["labels"] == list(decision.labels)
    assert record["missing"] == list(decision.missing)
    assert record["trace"] == decision.trace()
    assert record["digest"] == record_digest(record)
    assert record["digest"].startswith("sha256:") and len(record["digest"]) == 71


def test_facts_keep_decimals_as_strings_and_dates_as_iso(household_record: dict[str, Any]) -> None:
    vehicle = household_record["facts"]["assets"]["vehicles"][0]
    assert vehicle == {"kind": "car", "value": "42000.00", "acquired_on": "2015-08-01"}  # to the fen
    assert '"value":"42000.00"' in record_json(household_record)


def test_record_json_is_canonical(household_record: dict[str, Any]) -> None:
    text = record_json(household_record)
    assert text == json.dumps(household_record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert "新村" in text  # UTF-8 kept as is, not \u escapes
    assert json.loads(text) == household_record


def test_the_digest_is_over_the_record_without_it(household_record: dict[str, Any]) -> None:
    body = {k: v for k, v in household_record.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert household_record["digest"] == "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# Determinism


def _records_of_every_case() -> str:
    return "\n".join(record_json(first_record(case)) for case in SUBJECT_CASES)


def test_same_inputs_give_byte_identical_records() -> None:
    first = _records_of_every_case()
    _rulesets.clear()  # load every ruleset and parse every fact again
    assert _records_of_every_case() == first


@pytest.mark.parametrize("seed", ["0", "12345"])
def test_a_fresh_process_with_another_hash_seed_gives_the_same_bytes(seed: str) -> None:
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_record as t; "
        "sys.stdout.buffer.write(t._records_of_every_case().encode())"
    )
    env = dict(os.environ, PYTHONHASHSEED=seed)
    done = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent)], env=env, cwd=REPO, capture_output=True, check=True
    )
    assert done.stdout.decode() == _records_of_every_case()


def test_an_untraced_decision_is_recorded_with_its_full_trace() -> None:
    rs = ruleset("cn-yunnan-weishan")
    facts = example_facts("cn-yunnan-weishan.jsonl", "household")[0]
    plain = povrules.evaluate(facts, rs, "identify_poor_household", as_of=AS_OF, trace=False)
    traced = povrules.evaluate(facts, rs, "identify_poor_household", as_of=AS_OF)
    record = make_record(plain)
    assert record["trace"]["traced"] is True
    assert any(leaf_conditions(rule) for rule in record["trace"]["rules"])
    assert record_json(record) == record_json(make_record(traced))


def test_another_date_gives_another_record(household_record: dict[str, Any]) -> None:
    facts = example_facts("cn-yunnan-weishan.jsonl", "household")[0]
    other = make_record(
        povrules.evaluate(facts, ruleset("cn-yunnan-weishan"), "identify_poor_household", as_of=date(2016, 7, 1))
    )
    assert other["as_of"] == "2016-07-01"
    assert other["digest"] != household_record["digest"]


# The JSON Schema


def test_the_schema_file_ships_with_the_package_and_refers_to_the_trace_schema() -> None:
    from importlib.resources import files

    raw = json.loads(files("povrules").joinpath("schemas/record.v2.json").read_text(encoding="utf-8"))
    assert raw["$id"] == RECORD_SCHEMA
    assert raw["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert raw["properties"]["trace"]["$ref"] == "povrules.trace.v2"
    # Every field is required but the facts, which a record holds or names by digest (facts_ref): one of the two.
    assert set(raw["required"]) | {"facts", "facts_ref"} == set(raw["properties"])
    assert [sorted(c["required"]) for c in raw["oneOf"]] == [["facts"], ["facts_ref"]]
    assert record_schema()["$defs"]["trace"]["$id"] == "povrules.trace.v2"
    assert record_schema(1)["$defs"]["trace"]["$id"] == "povrules.trace.v1"


def _every_record(name: str, subject: str, file: str) -> list[dict[str, Any]]:
    rs = ruleset(name)
    records = []
    bare = povrules.parse_facts({"id": "bare"}, subject)  # every fact unknown: undetermined, with missing facts
    for facts in [*example_facts(file, subject), bare]:
        for decision in rs.decisions:
            records.append(make_record(povrules.evaluate(facts, rs, decision, as_of=AS_OF)))
    return records


@pytest.mark.parametrize("case", SUBJECT_CASES, ids=[c[1] for c in SUBJECT_CASES])
def test_the_schema_validates_records_of_every_subject(case: tuple[str, str, str, str], validator) -> None:
    name, subject, file, _ = case
    records = _every_record(name, subject, file)
    assert len(records) >= len(ruleset(name).decisions)
    for record in records:
        assert record["ruleset"]["subject"] == subject
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(record)]
        assert errors == [], (record["decision"], errors)
    outcomes = {r["outcome"] for r in records}
    assert len(outcomes) >= 2, outcomes  # records of more than one outcome were checked
    assert any(r["missing"] for r in records)


def test_the_schema_validates_records_of_a_ranking_decision(validator) -> None:
    rs = ruleset("cn-yunnan-weishan")
    ranking = povrules.rank(example_facts("cn-yunnan-weishan.jsonl", "household"), rs, "six_priorities", as_of=AS_OF)
    decisions = [e.decision for e in ranking.entries] + list(ranking.not_eligible) + list(ranking.undetermined)
    assert decisions
    for decision in decisions:
        validator.validate(make_record(decision))


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda r: r.pop("facts_digest"), "facts_digest"),
        (lambda r: r.update(extra=1), "extra"),
        (lambda r: r["ruleset"].update(subject="province"), "ruleset.subject"),
        (lambda r: r.update(as_of="30/06/2016"), "as_of"),
        (lambda r: r["trace"]["rules"][0].update(result="maybe"), "trace.rules.0.result"),
        (lambda r: r.update(redacted="no"), "redacted"),
    ],
    ids=["missing", "unknown field", "subject", "date", "trace", "redacted"],
)
def test_the_schema_refuses_malformed_records(household_record, validator, mutate, where: str) -> None:
    record = copy.deepcopy(household_record)
    mutate(record)
    errors = list(validator.iter_errors(record))
    assert errors
    paths = {".".join(map(str, e.absolute_path)) for e in errors}
    assert where in paths or any(where in e.message for e in errors), (paths, [e.message for e in errors])


# Digests and verification


def _set(path: str, value: Any):
    def mutate(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        obj: Any = record
        for part in parents:
            obj = obj[int(part)] if isinstance(obj, list) else obj[part]
        obj[last] = value

    return mutate


# Each change, and the field verify_record names first.
CHANGES = [
    ("schema", _set("schema", "povrules.record.v0"), "schema"),
    ("engine", _set("engine.version", "9.9.9"), "engine"),
    ("ruleset id", _set("ruleset.id", "cn-other"), "ruleset"),
    ("ruleset version", _set("ruleset.version", "2099.1"), "ruleset"),
    ("ruleset digest", _set("ruleset.digest", "sha256:" + "0" * 64), "ruleset"),
    ("subject", _set("ruleset.subject", "village"), "ruleset.subject"),
    ("decision", _set("decision", "six_priorities"), "decision"),
    ("as_of", _set("as_of", "2017-06-30"), "as_of"),
    ("facts", _set("facts.village", "旧村"), "facts_digest"),
    ("facts_digest", _set("facts_digest", "sha256:" + "1" * 64), "facts_digest"),
    ("redacted", _set("redacted", True), "digest"),
    ("outcome", _set("outcome", "identified"), "outcome"),
    ("labels", _set("labels", ["identified"]), "labels"),
    ("missing", _set("missing", ["hh.income.per_capita_net"]), "missing"),
    ("trace rule", _set("trace.rules.0.result", "false"), "digest"),
    ("trace condition value", _set("trace.rules.0.condition.0.result", "unknown"), "digest"),
    ("digest", _set("digest", "sha256:" + "2" * 64), "digest"),
]


@pytest.mark.parametrize("label, change, named", CHANGES, ids=[c[0] for c in CHANGES])
def test_any_change_changes_the_digest_and_verification_names_it(household_record, label, change, named) -> None:
    verify_record(household_record)  # the untouched record verifies
    record = copy.deepcopy(household_record)
    change(record)
    assert record != household_record
    if label != "digest":
        assert record_digest(record) != household_record["digest"]
    with pytest.raises(RecordError) as caught:
        verify_record(record)
    assert isinstance(caught.value, PovrulesError)
    assert any(problem.startswith(named) for problem in caught.value.problems), caught.value.problems
    if label not in ("schema", "digest"):
        assert any(p.startswith("digest:") for p in caught.value.problems)  # the whole changed, too


def test_verification_shows_both_values_of_a_disagreement(household_record) -> None:
    record = copy.deepcopy(household_record)
    record["outcome"] = "identified"
    with pytest.raises(
        RecordError,
        match=r'outcome and trace.outcome differ: outcome is "identified", '
        r'trace.outcome is "excluded"',
    ):
        verify_record(record)


def test_verification_names_a_missing_field(household_record) -> None:
    record = copy.deepcopy(household_record)
    del record["trace"]
    with pytest.raises(RecordError, match=r"^trace: missing"):
        verify_record(record)


# Loading


def test_load_record_gives_back_the_record(household_record) -> None:
    text = record_json(household_record)
    assert load_record(text) == household_record
    assert load_record(text.encode("utf-8")) == household_record
    assert load_record(json.dumps(household_record, indent=2, ensure_ascii=True)) == household_record


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"schema": "povrules.record.v1",', r"^\(json\) line 1 column \d+: "),
        ("", r"^\(json\) line 1 column 1: Expecting value"),
        ("[1, 2]", r"^\(record\): expected a JSON object"),
        ('{"a": 1, "a": 2}', r"^\(json\): duplicate key 'a'"),
        ('{"a": 1.5}', r"^\(json\): number 1\.5 \(records hold exact decimals as strings"),
        ('{"a": NaN}', r"^\(json\): NaN is not JSON"),
        (b"\xff\xfe{", r"^\(json\)"),
    ],
    ids=["truncated", "empty", "array", "duplicate key", "float", "nan", "not utf-8"],
)
def test_load_record_refuses_bad_json(text, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        load_record(text)


def test_load_record_refuses_another_format(household_record) -> None:
    with pytest.raises(
        RecordError, match=r"schema: expected 'povrules.record.v2' or 'povrules.record.v1', got 'povrules.trace.v2'"
    ):
        load_record(record_json(household_record["trace"]))


def test_load_record_refuses_a_document_without_schema(household_record) -> None:
    record = {k: v for k, v in household_record.items() if k != "schema"}
    with pytest.raises(RecordError, match=r"^schema: missing"):
        load_record(json.dumps(record))


@pytest.mark.parametrize("field", ["facts", "outcome", "trace", "digest", "redacted"])
def test_load_record_names_a_missing_field(household_record, field: str) -> None:
    record = {k: v for k, v in household_record.items() if k != field}
    with pytest.raises(RecordError) as caught:
        load_record(json.dumps(record, ensure_ascii=False))
    assert caught.value.problems == (f"{field}: missing (a {RECORD_SCHEMA} record has it)",)


def test_load_record_names_a_field_of_the_wrong_type(household_record) -> None:
    record = dict(household_record, labels="excluded")
    with pytest.raises(RecordError, match=r"^labels: expected an array"):
        load_record(json.dumps(record, ensure_ascii=False))


def test_load_record_names_a_schema_violation_deep_in_the_trace(household_record) -> None:
    record = copy.deepcopy(household_record)
    record["trace"]["rules"][1]["status"] = "probably"
    with pytest.raises(RecordError, match=r"^trace\.rules\[1\]\.status: 'probably' is not one of"):
        load_record(json.dumps(record, ensure_ascii=False))


def test_load_record_detects_a_tampered_digest(household_record) -> None:
    record = dict(household_record, digest="sha256:" + "a" * 64)
    with pytest.raises(RecordError, match=r"^digest: recorded sha256:a{64} but the record's content gives sha256:"):
        load_record(json.dumps(record, ensure_ascii=False))


def test_load_record_detects_changed_content_under_the_old_digest(household_record) -> None:
    text = record_json(household_record).replace('"value":"42000.00"', '"value":"4200.00"')
    assert text != record_json(household_record)
    with pytest.raises(RecordError) as caught:
        load_record(text)
    assert [p.split(":")[0] for p in caught.value.problems] == ["facts_digest", "digest"]


# Redaction

PEOPLE = {
    "members": [
        {
            "id": "m1",
            "name": "张三丰",
            "id_number": "53292319800101123X",
            "age": 44,
            "labour_capacity": "full",
            "refuses_to_work": {
                "value": False,
                "by": "村第一书记 王某某",
                "on": "2016-03-15",
                "evidence": ["走访记录：张三丰在家务农"],
            },
        },
        {"id": "m2", "name": "李翠花", "id_number": "532923198203041228", "age": 42},
        {"id": "m3", "name": "张三丰", "age": 12},  # the same name as m1: the same hash
    ],
    "five_looks": {
        look: {"assessed_on": "2016-03-12", "assessor": "驻村工作队员 杨某某", "note": "李翠花 患慢性病"}
        for look in ("housing", "durables", "labour", "industry", "burden")
    },
    "overrides": [
        {
            "rule": "any_member_public_official",
            "body": "村民代表会议",
            "decided_on": "2016-04-01",
            "outcome": "set_aside",
            "minutes": "2016年第3次会议 张三丰户",
        }
    ],
}
SECRETS = [
    "张三丰",
    "李翠花",
    "53292319800101123X",
    "532923198203041228",
    "王某某",
    "杨某某",
    "走访记录",
    "患慢性病",
    "第3次会议",
]


def _keyed(value: str, key: bytes = KEY) -> str:
    return "hmac-sha256:" + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def personal_household() -> povrules.Household:
    base = json.loads((EXAMPLES / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()[1])
    base.update(PEOPLE)
    return povrules.parse_household(base)


@pytest.fixture(scope="module")
def personal_decision(personal_household) -> povrules.Decision:
    return povrules.evaluate(personal_household, ruleset("cn-yunnan-weishan"), "identify_poor_household", as_of=AS_OF)


@pytest.fixture(scope="module")
def redacted(personal_decision) -> dict[str, Any]:
    return make_record(personal_decision, redact_key=KEY)


def test_without_a_key_the_personal_values_are_in_the_record(personal_decision) -> None:
    text = record_json(make_record(personal_decision))
    assert all(secret in text for secret in SECRETS)  # so the next test's absence check means something


def test_redaction_removes_names_and_id_numbers_from_the_whole_record(redacted) -> None:
    text = record_json(redacted)
    assert [secret for secret in SECRETS if secret in text] == []
    assert redacted["redacted"] is True
    members = redacted["facts"]["members"]
    assert members[0]["name"] == _keyed("张三丰")
    assert members[0]["id_number"] == _keyed("53292319800101123X")
    assert members[0]["refuses_to_work"]["by"] == _keyed("村第一书记 王某某")
    assert members[0]["refuses_to_work"]["evidence"] == [_keyed("走访记录：张三丰在家务农")]
    assert redacted["facts"]["five_looks"]["labour"]["assessor"] == _keyed("驻村工作队员 杨某某")
    assert redacted["facts"]["five_looks"]["labour"]["note"] == _keyed("李翠花 患慢性病")
    assert redacted["facts"]["overrides"][0]["minutes"] == _keyed("2016年第3次会议 张三丰户")


def test_redaction_keeps_everything_that_is_not_personal(redacted, personal_household) -> None:
    original = personal_household.model_dump(mode="json", exclude_none=True)
    member = redacted["facts"]["members"][0]
    assert member["age"] == 44 and member["labour_capacity"] == "full"
    assert member["refuses_to_work"]["value"] is False and member["refuses_to_work"]["on"] == "2016-03-15"
    # An override's rule is kept when it names a rule of the ruleset; this one names none of cn-yunnan-weishan's,
    # so it is text nothing reads, and may hold anything.
    assert redacted["facts"]["overrides"][0]["rule"] == _keyed("any_member_public_official")
    # Ids and places are personal too (an id may be an ID number, a village narrows a household down).
    assert member["id"] == _keyed("m1") and redacted["facts"]["id"] == _keyed(original["id"])
    assert redacted["facts"]["village"] == _keyed(original["village"])
    assert redacted["trace"]["facts_id"] == _keyed(original["id"])
    assert redacted["facts"]["assets"]["vehicles"] == original["assets"]["vehicles"]
    judged = redacted["facts"]["assets"]["has_large_enterprise"]  # judged facts keep value and date, not who or why
    assert judged["value"] is False and judged["on"] == "2016-03-15"
    assert judged["by"] == _keyed("村第一书记 李某") and judged["evidence"] == [_keyed("入户走访记录")]


def test_equal_names_give_equal_hashes_and_another_key_other_hashes(redacted, personal_decision) -> None:
    members = redacted["facts"]["members"]
    assert members[0]["name"] == members[2]["name"] != members[1]["name"]
    looks = redacted["facts"]["five_looks"]
    assert len({look["assessor"] for look in looks.values()}) == 1
    other = make_record(personal_decision, redact_key=OTHER_KEY)
    assert other["facts"]["members"][0]["name"] == _keyed("张三丰", OTHER_KEY) != members[0]["name"]
    assert other["facts"]["members"][0]["id_number"] != members[0]["id_number"]
    assert other["digest"] != redacted["digest"]


def test_redaction_leaves_the_outcome_and_the_rules_unchanged(redacted, personal_decision) -> None:
    plain = make_record(personal_decision)
    for field in ("outcome", "labels", "missing", "decision", "as_of", "ruleset", "engine"):
        assert redacted[field] == plain[field], field
    assert plain["outcome"] == "undetermined" and plain["missing"]  # is_public_official is not given
    strip = lambda t: {k: v for k, v in t.items() if k not in ("facts_digest", "facts_id")}  # noqa: E731
    # No rule of this ruleset reads a personal fact; who judged a judged fact is personal, and redacted.
    assert _without("judged", strip(redacted["trace"])) == _without("judged", strip(plain["trace"]))
    judges = {json.dumps(j, ensure_ascii=False) for j in _found("judged", redacted["trace"])}
    assert judges and all(json.loads(j)["by"].startswith("hmac-sha256:") for j in judges)


def _without(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without(key, v) for k, v in value.items() if k != key}
    if isinstance(value, list):
        return [_without(key, v) for v in value]
    return value


def _found(key: str, value: Any) -> list[Any]:
    if isinstance(value, dict):
        return ([value[key]] if key in value else []) + [f for v in value.values() for f in _found(key, v)]
    if isinstance(value, list):
        return [f for v in value for f in _found(key, v)]
    return []


def test_a_redacted_record_digests_its_redacted_facts_only(redacted, personal_household) -> None:
    original_digest = facts_digest(personal_household)
    assert (
        redacted["facts_digest"]
        == "sha256:"
        + hashlib.sha256(
            json.dumps(redacted["facts"], sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()
    )
    assert redacted["trace"]["facts_digest"] == redacted["facts_digest"] != original_digest
    assert original_digest not in record_json(redacted)  # a plain hash of the facts would let guesses be tested
    # The key holder links the record to the register by redacting the register's facts again.
    assert redact_facts(personal_household, KEY) == redacted["facts"]


def test_a_redacted_record_is_deterministic_and_loads(redacted, personal_decision) -> None:
    assert record_json(make_record(personal_decision, redact_key=KEY)) == record_json(redacted)
    assert load_record(record_json(redacted)) == redacted
    verify_record(redacted)


def test_redacted_facts_decide_to_the_same_record() -> None:
    # Facts without an ID number parse again after redaction (see the next test), so the record of the
    # redacted facts, redacted with the same key, is the record itself: replay matches.
    base = json.loads((EXAMPLES / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()[1])
    base["members"] = [{"name": "张三丰", "age": 44}, {"name": "张三丰", "age": 12}]
    base["five_looks"] = PEOPLE["five_looks"]
    rs = ruleset("cn-yunnan-weishan")
    record = make_record(
        povrules.evaluate(povrules.parse_household(base), rs, "identify_poor_household", as_of=AS_OF), redact_key=KEY
    )
    again = povrules.parse_household(record["facts"])
    assert record_json(
        make_record(povrules.evaluate(again, rs, "identify_poor_household", as_of=AS_OF), redact_key=KEY)
    ) == record_json(record)


def test_redacted_id_numbers_parse_again(redacted) -> None:
    household = povrules.parse_household(redacted["facts"])
    numbers = [m.id_number for m in household.members or () if m.id_number is not None]
    assert numbers and all(n.startswith("hmac-sha256:") for n in numbers)


RULES_READING_PEOPLE = """\
id: test-personal
version: "1"
title: {zh: 测试：读取个人信息的规则, en: "Test: rules that read personal facts"}
jurisdiction: test
sources:
  D: {file: principles.md, title: povrules design}
rules:
  names_recorded:
    title: {zh: 成员姓名均已登记, en: Every member's name is recorded}
    when: all(m.name != "" for m in hh.members)
    cite: {source: D, line: 1, quote: "povrules"}
  id_recorded:
    title: {zh: 有成员登记身份证号, en: A member's ID number is recorded}
    when: count(m for m in hh.members if m.id_number != "") >= 1
    cite: {source: D, line: 1, quote: "povrules"}
decisions:
  check:
    kind: eligibility
    title: {zh: 检查, en: Check}
    criteria: [names_recorded, id_recorded]
    outcomes: {yes: recorded, no: not_recorded}
"""


def test_redaction_reaches_every_trace_value_that_shows_a_personal_fact(tmp_path: Path, validator) -> None:
    (tmp_path / "ruleset.yaml").write_text(RULES_READING_PEOPLE, encoding="utf-8")
    rs = povrules.load_ruleset(tmp_path)
    household = povrules.parse_household({"id": "h1", "members": PEOPLE["members"]})
    decision = povrules.evaluate(household, rs, "check", as_of=AS_OF)
    plain, record = make_record(decision), make_record(decision, redact_key=KEY)
    assert "张三丰" in json.dumps(plain["trace"], ensure_ascii=False)  # the trace does show the names
    text = record_json(record)
    assert [secret for secret in SECRETS if secret in text] == []
    values = [c["left"]["value"] for rule in record["trace"]["rules"] for _, c in leaf_conditions(rule) if "where" in c]
    assert _keyed("张三丰") in values and _keyed("53292319800101123X") in values
    assert record["outcome"] == plain["outcome"] == decision.outcome
    assert record["missing"] == plain["missing"]
    validator.validate(record)


def test_redaction_reaches_the_minutes_of_an_override_in_the_trace(identify_rs) -> None:
    household = povrules.parse_household(
        {
            "id": "h1",
            "rural_hukou": True,
            "income": {"per_capita_net": "3000"},
            "assets": {"vehicles": []},
            "members": [{"name": "张三丰", "is_public_official": True}],
            "overrides": [
                {
                    "rule": "public_official",
                    "body": "村民代表会议",
                    "decided_on": "2020-05-01",
                    "outcome": "set_aside",
                    "minutes": "2020年第3次会议 张三丰户",
                }
            ],
        }
    )
    decision = povrules.evaluate(household, identify_rs, "identify", as_of=date(2020, 6, 1))
    plain, record = make_record(decision), make_record(decision, redact_key=KEY)
    overridden = [rule for rule in plain["trace"]["rules"] if "override" in rule]
    assert [rule["override"]["minutes"] for rule in overridden] == ["2020年第3次会议 张三丰户"]
    assert plain["outcome"] == record["outcome"] == "identified"  # the exclusion was set aside
    (rule,) = [rule for rule in record["trace"]["rules"] if "override" in rule]
    assert rule["override"] == dict(overridden[0]["override"], minutes=_keyed("2020年第3次会议 张三丰户"))
    assert "张三丰" not in record_json(record)


def test_redaction_reaches_the_minutes_of_contradicting_overrides(identify_rs, validator) -> None:
    minutes = ("2020年第3次会议 张三丰户", "2020年第4次会议 张三丰户")
    household = povrules.parse_household(
        {
            "id": "h1",
            "rural_hukou": True,
            "income": {"per_capita_net": "3000"},
            "assets": {"vehicles": []},
            "members": [{"is_public_official": True}],
            "overrides": [
                {
                    "rule": "public_official",
                    "body": "村民代表會議",
                    "decided_on": "2020-05-01",
                    "outcome": outcome,
                    "minutes": text,
                }
                for outcome, text in zip(("set_aside", "upheld"), minutes)
            ],
        }
    )
    decision = povrules.evaluate(household, identify_rs, "identify", as_of=date(2020, 6, 1))
    plain, record = make_record(decision), make_record(decision, redact_key=KEY)
    assert plain["outcome"] == record["outcome"] == "conflict"
    (rule,) = [rule for rule in record["trace"]["rules"] if "contradicting" in rule]
    assert [o["minutes"] for o in rule["contradicting"]] == [_keyed(text) for text in minutes]
    assert [o["body"] for o in rule["contradicting"]] == ["村民代表会议", "村民代表会议"]
    assert "张三丰" not in record_json(record) and "张三丰" in record_json(plain)
    validator.validate(record)


@pytest.mark.parametrize(
    "key, message",
    [
        (b"short", r"redact_key: expected at least 16 bytes"),
        ("a text key of enough length", r"redact_key: expected bytes, got str"),
    ],
)
def test_a_weak_or_wrong_key_is_refused(personal_decision, key, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        make_record(personal_decision, redact_key=key)


def _text_fields(model: type[BaseModel], seen: set[type]) -> set[tuple[str, str]]:
    """(model, field) of every field that holds free text, in every model reachable from ``model``."""
    found: set[tuple[str, str]] = set()
    if model in seen:
        return found
    seen.add(model)
    for name, info in model.model_fields.items():
        stack = [info.annotation]
        while stack:
            tp = stack.pop()
            if tp is str:
                found.add((model.__name__.split("[")[0], name))
            elif isinstance(tp, type) and issubclass(tp, BaseModel):
                found |= _text_fields(tp, seen)
            else:
                stack.extend(a for a in typing.get_args(tp) if a is not Ellipsis)
    return found


# Text that names no person: a village's or a county's own ids and names (a place, not a household).
NOT_PERSONAL = {
    ("Village", "id"),
    ("Village", "name"),
    ("Village", "county"),
    ("Village", "poverty_areas"),
    ("County", "id"),
    ("County", "name"),
    ("ComparisonVillage", "id"),  # another village of the county, compared with in a village ruleset
    ("Case", "plan"),  # the id of the ruleset a case follows
    ("Event", "time"),  # a time of day, HH:MM
}


def _declared(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[tuple[str, str]]:
    """(model, field) of every field declared personal, in ``model`` and the models it holds."""
    if model in seen:
        return set()
    seen.add(model)
    found = {(model.__name__.split("[")[0], name) for name in personal_fields(model)}
    for info in model.model_fields.values():
        stack = [info.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                found |= _declared(tp, seen)
            else:
                stack.extend(a for a in typing.get_args(tp) if a is not Ellipsis)
    return found


def test_every_text_fact_is_either_redacted_or_known_not_to_name_a_person() -> None:
    text_fields: set[tuple[str, str]] = set()
    personal: set[tuple[str, str]] = set()
    for model, _ in SUBJECTS.values():
        text_fields |= _text_fields(model, set())
        personal |= _declared(model, set())
    assert personal <= text_fields
    unclassified = text_fields - personal - NOT_PERSONAL
    assert unclassified == set(), f"decide whether these facts identify a person: {sorted(unclassified)}"
