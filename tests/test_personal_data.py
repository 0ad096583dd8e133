"""Personal data stays hidden: every field the fact models declare personal is redacted wherever a
redacted decision is shown (record, trace, log, table, explanation, HTML).

The households here are *salted*: every text field of every model a household holds (ids, village,
names, notes, project names, who judged …) is filled with a value of its own that holds an ID-number
pattern (18 digits) and a name. The test then scans each redacted output for every salted value and
for the name marker, and finds none. A new text field that is not declared personal is salted too,
so it would show up here as a leak.
"""

from __future__ import annotations

import json
import typing
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import povrules
from povrules.audit import (
    DecisionLog,
    RulesetStore,
    explain_record,
    load_record,
    make_record,
    make_record_json,
    record_json,
    redact_decision,
    redact_facts,
    replay,
)
from povrules.cli import main
from povrules.facts import Household, Judged, personal_fields

# The salted jurisdiction is no real place: the warning about it is expected, and its text is not under test
# here (a run that redacts warns with the keyed hash; tests/test_strict_facts.py checks that).
pytestmark = pytest.mark.filterwarnings("ignore::povrules.JurisdictionWarning")

REPO = Path(__file__).resolve().parent.parent
KEY = b"personal-data-test-key-32-bytes!"
MARKER = "欧阳"  # every salted name starts with it


class Salt:
    """Hands out a distinct salted value per text field: a name and an 18-digit ID number."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def id_number(self) -> str:
        value = f"1101011990{len(self.values):07d}X"
        self.values.append(value)
        return value

    def text(self) -> str:
        number = self.id_number()
        self.values.pop()
        value = f"{MARKER}{chr(0x4E00 + len(self.values))} {number}"
        self.values.append(value)
        return value


def _fill(model: type[BaseModel], salt: Salt) -> dict[str, Any]:
    """Every field of ``model`` given a value; every text field a salted one."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        out[name] = _value(info.annotation, salt, model, name)
    return out


def _value(tp: Any, salt: Salt, model: type[BaseModel], name: str) -> Any:
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return _value(args[0], salt, model, name)
    if origin is typing.Annotated:
        return _value(args[0], salt, model, name)
    if origin is Literal:
        return args[0]
    if origin is tuple:
        return [_value(args[0], salt, model, name)]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _fill(tp, salt)
    if tp is str:
        return salt.id_number() if name == "id_number" else salt.text()
    if tp is bool:
        return False
    if tp is int:
        return 1
    if tp is Decimal:
        return "100"
    if tp is date:
        return "2016-03-01"
    if isinstance(tp, typing.TypeVar) or tp is object:
        return False
    raise AssertionError(f"{model.__name__}.{name}: no filler for {tp!r}")


@pytest.fixture(scope="module")
def salted() -> tuple[Household, list[str]]:
    salt = Salt()
    data = _fill(Household, salt)
    # Indices name members; the one member cannot be its own parent, and it is the borrower.
    data["members"][0]["parents"][0]["member"] = None
    data["loans"][0]["borrower"] = 0
    # The override names no rule, as salted text: nothing reads it, so it is redacted like free text.
    return povrules.parse_household(data), salt.values


DECISIONS = [
    ("cn-yunnan-weishan", "identify_poor_household", date(2016, 6, 30)),
    ("cn-hunan-county-plan4", "monitoring_type", date(2021, 6, 30)),
    ("cn-national", None, date(2021, 6, 30)),
]


def _decisions(household: Household) -> list[povrules.Decision]:
    out = []
    for name, decision, as_of in DECISIONS:
        ruleset = povrules.load_ruleset(REPO / "rulesets" / name)
        names = [decision] if decision else [d for d, spec in ruleset.decisions.items() if spec.kind != "ranking"]
        out.extend(povrules.evaluate(household, ruleset, d, as_of=as_of) for d in names)
    return out


def _leaks(text: str, secrets: list[str]) -> list[str]:
    found = [s for s in secrets if s in text]
    if MARKER in text:
        found.append(MARKER)
    return found


def test_the_salted_household_holds_every_secret_in_the_clear(salted) -> None:
    household, secrets = salted
    text = record_json(make_record(_decisions(household)[0]))
    assert len(secrets) >= 15 and _leaks(text, secrets)  # so that finding none below means something
    assert household.members[0].id_number in secrets and household.id in secrets


def test_no_redacted_output_shows_a_salted_value(salted, tmp_path: Path) -> None:
    household, secrets = salted
    log = DecisionLog(tmp_path / "decisions.jsonl")
    outputs: dict[str, str] = {}
    for decision in _decisions(household):
        where = f"{decision.ruleset.id} {decision.decision}"
        record = make_record(decision, redact_key=KEY)
        by_ref = make_record(decision, redact_key=KEY, facts="digest")
        log.append(record)
        view = redact_decision(decision, KEY)
        assert view.outcome == decision.outcome and view.labels == decision.labels
        outputs[f"{where} record"] = record_json(record)
        outputs[f"{where} record json"] = make_record_json(decision, redact_key=KEY).decode("utf-8")
        outputs[f"{where} record by reference"] = record_json(by_ref)
        for lang in ("zh", "en"):
            outputs[f"{where} explain record {lang}"] = explain_record(record, lang)
            outputs[f"{where} explain record by reference {lang}"] = explain_record(by_ref, lang)
            outputs[f"{where} explain {lang}"] = view.explain(lang)
            outputs[f"{where} html {lang}"] = str(view.html(lang))
        outputs[f"{where} trace"] = json.dumps(view.trace(), ensure_ascii=False)
    outputs["log"] = (tmp_path / "decisions.jsonl").read_text(encoding="utf-8")
    leaks = {where: _leaks(text, secrets) for where, text in outputs.items()}
    assert {where: found for where, found in leaks.items() if found} == {}
    assert len(outputs) > 40


def test_redacted_records_of_salted_facts_load_and_replay_identically(salted) -> None:
    household, _ = salted
    store = RulesetStore(REPO / "rulesets")
    for decision in _decisions(household)[:4]:
        text = record_json(make_record(decision, redact_key=KEY))
        assert load_record(text)["redacted"] is True
        assert replay(text, store).identical


def test_the_cli_hides_them_in_records_logs_tables_and_explanations(
    salted, tmp_path: Path, capsys, monkeypatch
) -> None:
    household, secrets = salted
    facts = tmp_path / "household.json"
    facts.write_text(household.model_dump_json(exclude_none=True), encoding="utf-8")
    key = tmp_path / "key"
    key.write_bytes(KEY)
    monkeypatch.chdir(tmp_path)
    weishan = str(REPO / "rulesets" / "cn-yunnan-weishan")
    shown: list[str] = []

    def run(*args: str) -> None:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == 0, err
        shown.append(out + err)

    common = (
        "decide",
        weishan,
        "identify_poor_household",
        str(facts),
        "--as-of",
        "2016-06-30",
        "--redact-key-file",
        str(key),
        "--workers",
        "1",
    )
    run(*common, "-o", "record.json")
    run(*common, "--log", "log.jsonl")
    run(*common, "-o", "table.csv")
    run("explain", "record.json")
    texts = {name: (tmp_path / name).read_text(encoding="utf-8") for name in ("record.json", "log.jsonl", "table.csv")}
    texts["printed"] = "\n".join(shown)
    assert {name: _leaks(text, secrets) for name, text in texts.items() if _leaks(text, secrets)} == {}
    assert "hmac-sha256:" in texts["table.csv"] and "hmac-sha256:" in shown[-1]


def test_an_override_naming_a_rule_keeps_the_rule_and_still_applies(tmp_path: Path) -> None:
    store = tmp_path / "defeasible"
    store.mkdir()
    (store / "ruleset.yaml").write_bytes((REPO / "tests" / "fixtures" / "engine" / "defeasible.yaml").read_bytes())
    ruleset = povrules.load_ruleset(store)
    household = povrules.parse_household(
        {
            "id": "H1",
            "registration": {"dibao": True},
            "assets": {"vehicles": []},
            "members": [{"is_public_official": True}],
            "overrides": [
                {
                    "rule": "official_pending",
                    "body": "村民代表会议",
                    "decided_on": "2016-04-01",
                    "outcome": "set_aside",
                    "minutes": "欧阳某 户 会议记录",
                },
                {"rule": "欧阳某", "body": "村民代表会议", "decided_on": "2016-04-01", "outcome": "upheld"},
            ],
        }
    )
    redacted = redact_facts(household, KEY, rules=ruleset.rules)
    kept, hidden = redacted["overrides"]
    assert kept["rule"] == "official_pending" and kept["minutes"].startswith("hmac-sha256:")
    assert hidden["rule"].startswith("hmac-sha256:")
    assert redact_facts(household, KEY)["overrides"][0]["rule"].startswith("hmac-sha256:")  # no ruleset: none kept
    decision = povrules.evaluate(household, ruleset, "identify_deliberated", as_of=date(2016, 6, 30))
    assert decision.outcome == "identified"  # the exception was set aside
    record = make_record(decision, redact_key=KEY)
    shown = [r["override"] for r in record["trace"]["rules"] if "override" in r]
    assert shown == [dict(kept, decided_on="2016-04-01")] and MARKER not in record_json(record)
    view = redact_decision(decision, KEY)
    assert view.outcome == "identified" and MARKER not in view.explain("zh")
    assert replay(record_json(record), RulesetStore(tmp_path)).identical


def test_personal_fields_are_declared_on_the_models_and_shown_in_the_schema() -> None:
    assert personal_fields(Household) == {"id": "identifier", "jurisdiction": "identifier", "village": "identifier"}
    assert personal_fields(Judged[bool]) == {"by": "identifier", "evidence": "free_text"}
    schema = povrules.household_schema()
    member = schema["$defs"]["Member"]["properties"]
    assert member["name"]["personal"] == "identifier" and "personal" not in member["age"]
    assert schema["properties"]["id"]["personal"] == "identifier"


def test_a_key_is_required_and_checked() -> None:
    household = povrules.parse_household({"id": "110101199003071234"})
    with pytest.raises(povrules.PovrulesError, match="redact_key: expected at least 16 bytes"):
        redact_facts(household, b"short")
    assert redact_facts(household, KEY)["id"].startswith("hmac-sha256:")
