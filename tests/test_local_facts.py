"""Facts a ruleset declares: loaded and checked, typed in conditions, checked when the ruleset evaluates,
stated in the ruleset's JSON Schema, named by their titles in explanations."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

import povrules
from povrules import RulesetError, load_ruleset
from povrules.cli import main
from povrules.ruleset.local_facts import places

AS_OF = date(2021, 9, 1)
POLICY = "见义勇为人员子女\n补助基数\n"

FACTS = """\
facts:
  heroic_act_family:
    on: member
    type: bool
    title: {zh: 见义勇为人员子女, en: Child of a person honoured for a heroic act}
    cite: {source: S1, line: 1, quote: 见义勇为人员子女}
  enrolled_since:
    on: member
    type: date
    title: {zh: 入学日期, en: Date enrolled}
  lender:
    on: loan
    type: enum
    values:
      rural_credit: {zh: 农村信用社, en: rural credit cooperative}
      postal: {zh: 邮储银行, en: postal savings bank}
    title: {zh: 贷款银行, en: Lending bank}
  car_seats:
    on: hh.assets.vehicles
    type: int
    unit: 座
    title: {zh: 座位数, en: Seats}
  subsidy_base:
    on: household
    type: decimal
    unit: 元
    title: {zh: 补助基数, en: Subsidy base}
"""

RULES = """\
rules:
  heroic:
    title: {zh: 见义勇为人员子女在读, en: A heroic act's child at school}
    when: any(m.local.heroic_act_family and m.local.enrolled_since <= as_of for m in hh.members)
    cite: {source: S1, line: 1, quote: 见义勇为人员子女}
  postal_loan:
    title: {zh: 邮储贷款, en: A postal savings loan}
    when: any(l.local.lender == "postal" for l in hh.loans) and hh.local.subsidy_base > 100
    cite: {source: S1, line: 2, quote: 补助基数}
  base_part:
    title: {zh: 补助基数的一半, en: Half the base}
    amount: hh.local.subsidy_base / 2
    cite: {source: S1, line: 2, quote: 补助基数}
decisions:
  aid:
    kind: eligibility
    title: {zh: 资助, en: Aid}
    criteria: [heroic]
    outcomes: {yes: eligible, no: not_eligible}
  loan:
    kind: eligibility
    title: {zh: 贷款, en: Loan}
    criteria: [postal_loan]
    outcomes: {yes: eligible, no: not_eligible}
  subsidy:
    kind: amount
    title: {zh: 补助, en: Subsidy}
    unit: 元
    rows: [base_part]
"""


def ruleset_text(facts: str = FACTS, rules: str = RULES, subject: str = "") -> str:
    return (
        'id: local\nversion: "1"\ntitle: {zh: 本地, en: Local}\n'
        + subject
        + "sources:\n  S1: {file: policy.txt, title: 政策}\n"
        + facts
        + rules
    )


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "policy.txt").write_text(POLICY, encoding="utf-8")
    (tmp_path / "ruleset.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture
def rs(tmp_path):
    return load_ruleset(write(tmp_path, ruleset_text()))


def load_error(tmp_path: Path, text: str) -> RulesetError:
    with pytest.raises(RulesetError) as caught:
        load_ruleset(write(tmp_path, text))
    return caught.value


def hh(**facts) -> povrules.Household:
    return povrules.parse_household({"id": "H1", **facts})


HEROIC = {"heroic_act_family": True, "enrolled_since": "2021-03-01"}


# Loading


@pytest.mark.parametrize(
    "change, words, at",
    [
        (("type: bool", "type: boolean", 1), "'type' must be one of bool, int, decimal, str, date, enum", "boolean"),
        (("on: member", "on: members", 1), "'on' must be household, member, loan", "members"),
        (("on: hh.assets.vehicles", "on: hh.overrides", 1), "not 'hh.overrides'", "hh.overrides"),
        (("on: loan", "on: hh.income", 1), "not 'hh.income'", "hh.income"),
        (("  car_seats:", "  value:", 1), "the schema has this fact already on hh.assets.vehicles", None),
        (("  subsidy_base:\n    on: household", "  jurisdiction:\n    on: household", 1), "the schema has", None),
        (("  heroic_act_family:", "  Heroic:", 1), "lower-case letters", "Heroic"),
        (("    type: enum\n    values:", "    type: enum\n    codes:", 1), "unknown key 'codes'", "codes"),
        (("    title: {zh: 入学日期, en: Date enrolled}", "    title: {zh: 入学日期}", 1), "'zh' and 'en'", None),
    ],
    ids=[
        "bad type",
        "unknown on",
        "a list of no local facts",
        "a record, not a list",
        "the schema's own fact",
        "the schema's own household fact",
        "not an identifier",
        "enum without values",
        "title in one language",
    ],
)
def test_a_bad_declaration_is_refused_where_it_is_written(tmp_path, change, words, at):
    old, new, count = change
    text = ruleset_text().replace(old, new, count)
    assert text != ruleset_text()
    error = load_error(tmp_path, text)
    assert words in error.message
    if at is not None:
        line = next(i for i, row in enumerate(text.splitlines(), 1) if at in row)
        assert error.location.line == line


def test_a_misspelt_local_fact_in_a_condition_fails_at_load_with_a_did_you_mean(tmp_path):
    error = load_error(
        tmp_path, ruleset_text(rules=RULES.replace("m.local.heroic_act_family", "m.local.heroic_act_famly"))
    )
    assert "heroic_act_famly" in error.message and "heroic_act_family" in (error.hint or "")


def test_a_local_fact_is_typed_in_conditions(tmp_path):
    error = load_error(
        tmp_path, ruleset_text(rules=RULES.replace('l.local.lender == "postal"', 'l.local.lender == "bank"'))
    )
    assert "'bank'" in str(error)
    error = load_error(
        tmp_path, ruleset_text(rules=RULES.replace("hh.local.subsidy_base > 100", "hh.local.subsidy_base"))
    )
    assert "expected true or false here, but this is decimal" in error.message


def test_facts_of_a_place_are_read_there_only(tmp_path):
    # heroic_act_family is declared on members: the household has no such local fact.
    error = load_error(
        tmp_path, ruleset_text(rules=RULES.replace("hh.local.subsidy_base > 100", 'hh.local.lender == "postal"'))
    )
    assert "lender" in error.message


def test_only_a_household_ruleset_declares_facts(tmp_path):
    error = load_error(tmp_path, ruleset_text(rules="", subject="subject: village\n"))
    assert "subject 'village' declares no facts" in error.message


def test_the_declarations_are_part_of_the_digest(tmp_path):
    first = load_ruleset(write(tmp_path, ruleset_text())).digest
    changed = load_ruleset(write(tmp_path, ruleset_text().replace("unit: 座", "unit: 个"))).digest
    assert first != changed


def test_every_list_of_records_is_a_place():
    found = set(places())
    assert {(), ("members",), ("loans",), ("assets", "vehicles"), ("income", "items"), ("members", "parents")} <= found
    assert ("overrides",) not in found and ("income",) not in found


# Evaluating


def test_declared_facts_decide(rs):
    household = hh(
        members=[{"age": 40}, {"age": 9, "local": HEROIC}],
        loans=[{"kind": "microcredit", "local": {"lender": "postal"}}],
        local={"subsidy_base": 300.5},
    )
    assert povrules.evaluate(household, rs, "aid", as_of=AS_OF).outcome == "eligible"
    assert povrules.evaluate(household, rs, "loan", as_of=AS_OF).outcome == "eligible"
    amount = povrules.evaluate(household, rs, "subsidy", as_of=AS_OF).amount
    assert amount.total == Decimal("150.25")  # exact: 300.5 / 2
    later = hh(members=[{"local": {**HEROIC, "enrolled_since": "2021-09-02"}}])
    assert povrules.evaluate(later, rs, "aid", as_of=AS_OF).outcome == "not_eligible"  # a date, compared as one


def test_a_missing_declared_fact_is_unknown_and_named(rs):
    decision = povrules.evaluate(hh(members=[{"local": {"heroic_act_family": True}}]), rs, "aid", as_of=AS_OF)
    assert decision.outcome == "undetermined"
    assert decision.missing == ("hh.members[0].local.enrolled_since",)
    nulls = hh(members=[{"local": {"heroic_act_family": None, "enrolled_since": None}}])
    assert set(povrules.evaluate(nulls, rs, "aid", as_of=AS_OF).missing) == {
        "hh.members[0].local.enrolled_since",
        "hh.members[0].local.heroic_act_family",
    }
    assert povrules.evaluate(hh(), rs, "loan", as_of=AS_OF).missing == ("hh.loans", "hh.local.subsidy_base")
    base = povrules.evaluate(hh(), rs, "subsidy", as_of=AS_OF)
    assert base.outcome == "undetermined" and base.missing == ("hh.local.subsidy_base",)


@pytest.mark.parametrize(
    "facts, problem",
    [
        (
            {"members": [{}, {"local": {"heroic_act_family": "yes"}}]},
            'members[1].local.heroic_act_family: expected true or false, got "yes"',
        ),
        (
            {"members": [{"local": {"enrolled_since": "2021-02-30"}}]},
            "members[0].local.enrolled_since: expected a date",
        ),
        (
            {"loans": [{"local": {"lender": "big_bank"}}]},
            'loans[0].local.lender: expected one of rural_credit, postal, got "big_bank"',
        ),
        (
            {"assets": {"vehicles": [{"kind": "car", "local": {"car_seats": 5.5}}]}},
            "assets.vehicles[0].local.car_seats: expected a whole number, got",
        ),
        (
            {"local": {"subsidy_base": "3e2"}},
            'local.subsidy_base: expected a number, or decimal text such as 1234.5, got "3e2"',
        ),
        (
            {"members": [{"local": {"heroic_act_famly": True}}]},
            "members[0].local.heroic_act_famly: expected a fact the ruleset declares on member "
            "(enrolled_since, heroic_act_family; did you mean 'heroic_act_family'?), got true",
        ),
        (
            {"local": {"lender": "postal"}},
            "local.lender: expected a fact the ruleset declares on household (subsidy_base",
        ),
        (
            {"projects": [{"project": "P", "fund_class": "poverty", "delivery": "coverage", "local": {"x": 1}}]},
            "projects[0].local.x: expected a fact the ruleset declares on hh.projects (none)",
        ),
    ],
    ids=["bool", "date", "enum", "int", "decimal with an exponent", "misspelt", "another place's", "a place with none"],
)
def test_a_bad_local_value_is_refused_naming_its_path(rs, facts, problem):
    household = hh(**facts)
    with pytest.raises(povrules.FactsError) as caught:
        povrules.evaluate(household, rs, "aid", as_of=AS_OF)
    assert problem in str(caught.value)
    with pytest.raises(povrules.FactsError):  # every way in checks them
        povrules.plan(rs, "aid", traced=False).decide(household, AS_OF)
    with pytest.raises(povrules.FactsError):
        list(povrules.evaluate_iter([hh(), household], rs, "aid", as_of=AS_OF))


def test_a_local_value_is_one_json_scalar():
    with pytest.raises(povrules.FactsError) as caught:
        hh(members=[{"local": {"heroic_act_family": [True]}}])
    assert "members[0].local.heroic_act_family: expected true, false, a number, text or null" in str(caught.value)


def test_a_ruleset_that_declares_no_facts_reads_none_and_ignores_them(tmp_path):
    plain = load_ruleset(
        write(
            tmp_path,
            ruleset_text(
                facts="",
                rules=RULES.split("  postal_loan:")[0].replace(
                    "any(m.local.heroic_act_family and m.local.enrolled_since <= as_of for m in hh.members)",
                    "any(m.age < 18 for m in hh.members)",
                )
                + "decisions:\n  aid:\n    kind: eligibility\n    title: {zh: 资助, en: Aid}\n    criteria: [heroic]\n"
                "    outcomes: {yes: eligible, no: not_eligible}\n",
            ),
        )
    )
    household = hh(members=[{"age": 9, "local": {"anything": "for another ruleset"}}])
    assert povrules.evaluate(household, plain, "aid", as_of=AS_OF).outcome == "eligible"


def test_the_explanation_names_a_declared_fact_by_its_title(rs):
    decision = povrules.evaluate(hh(members=[{"local": HEROIC}]), rs, "aid", as_of=AS_OF)
    assert "见义勇为人员子女：是" in decision.explain("zh")
    assert "入学日期 2021-03-01" in decision.explain("zh")
    assert "Child of a person honoured for a heroic act: yes" in decision.explain("en")
    # A declared enumeration's codes are said by their declared titles.
    loan = hh(loans=[{"local": {"lender": "postal"}}], local={"subsidy_base": 300})
    decision = povrules.evaluate(loan, rs, "loan", as_of=AS_OF)
    assert "贷款银行为邮储银行" in decision.explain("zh")
    assert "Lending bank is postal savings bank" in decision.explain("en")


# The ruleset's JSON Schema


def test_the_rulesets_schema_states_its_facts(rs):
    schema = povrules.household_schema(rs)
    jsonschema.Draft202012Validator.check_schema(schema)
    member = schema["$defs"]["Member"]["properties"]["local"]["anyOf"][0]
    assert member["additionalProperties"] is False
    assert member["properties"]["heroic_act_family"] == {
        "type": ["boolean", "null"],
        "description": "Child of a person honoured for a heroic act",
        "zh": "见义勇为人员子女",
    }
    assert member["properties"]["enrolled_since"]["format"] == "date"
    lender = schema["$defs"]["Loan"]["properties"]["local"]["anyOf"][0]["properties"]["lender"]
    assert lender["enum"] == ["rural_credit", "postal", None]
    assert lender["x-titles"]["postal"] == {"zh": "邮储银行", "en": "postal savings bank"}
    seats = schema["$defs"]["Vehicle"]["properties"]["local"]["anyOf"][0]["properties"]["car_seats"]
    assert seats["type"] == ["integer", "null"] and seats["unit"] == "座"
    base = schema["properties"]["local"]["anyOf"][0]["properties"]["subsidy_base"]
    assert base["unit"] == "元" and base["zh"] == "补助基数"
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"id": "H1", "members": [{"local": HEROIC}], "local": {"subsidy_base": 3}})
    assert not validator.is_valid({"id": "H1", "members": [{"local": {"heroic_act_family": "yes"}}]})
    assert not validator.is_valid({"id": "H1", "members": [{"local": {"unknown": 1}}]})
    # Without a ruleset, any local fact is taken: the schema of the library does not know their names.
    assert jsonschema.Draft202012Validator(povrules.household_schema()).is_valid({"id": "H1", "local": {"x": 1}})


def test_povrules_schema_takes_a_ruleset(rs, tmp_path, capsys):
    assert main(["schema", "--ruleset", str(tmp_path)]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "subsidy_base" in schema["properties"]["local"]["anyOf"][0]["properties"]
    assert main(["schema", "--ruleset", str(tmp_path), "--trace"]) != 0
    assert "--ruleset" in capsys.readouterr().err


# The example of docs/authoring.md


def _doc_blocks() -> dict[str, str]:
    """The blocks of the authoring guide marked ``<!-- local-facts: NAME -->``, by name."""
    import re

    text = (Path(__file__).resolve().parent.parent / "docs" / "authoring.md").read_text(encoding="utf-8")
    found = re.findall(r"<!-- local-facts: (\w+) -->\n```\w*\n(.*?)```", text, flags=re.S)
    return dict(found)


def test_the_authoring_guides_example_runs_as_written(tmp_path, seeds_or_none, monkeypatch):
    blocks = _doc_blocks()
    assert set(blocks) == {"ruleset", "household", "python"}
    folder = tmp_path / "rulesets" / "example-school-aid"
    folder.mkdir(parents=True)
    (folder / "ruleset.yaml").write_text(blocks["ruleset"], encoding="utf-8")
    (tmp_path / "household.json").write_text(blocks["household"], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    printed: list[str] = []
    exec(compile(blocks["python"], "authoring.md", "exec"), {"print": lambda *a: printed.append(" ".join(map(str, a)))})
    assert printed == ["eligible"]
    ruleset = load_ruleset(folder)
    household = povrules.parse_household(blocks["household"])
    assert "见义勇为人员子女：是" in povrules.evaluate(household, ruleset, "living_allowance", as_of=AS_OF).explain(
        "zh"
    )
    if seeds_or_none is not None:  # the declared fact's citation is checked as a rule's is
        from povrules.citations import check_citations

        assert check_citations(ruleset, seeds_or_none) == []
        (tmp_path / "broken").mkdir()
        broken = load_ruleset(
            write(
                tmp_path / "broken",
                blocks["ruleset"].replace(
                    "line: 810, quote: 見義勇為人員子女}\n  aid", "line: 811, quote: 見義勇為人員子女}\n  aid"
                ),
            )
        )
        assert [p.where for p in check_citations(broken, seeds_or_none)] == ["fact 'heroic_act_child'"]


def test_a_decision_with_local_facts_replays_from_its_record(rs):
    from povrules.canonical import facts_json

    household = hh(members=[{"local": HEROIC}], loans=[{"local": {"lender": "postal"}}], local={"subsidy_base": 300.5})
    decision = povrules.evaluate(household, rs, "subsidy", as_of=AS_OF)
    written = facts_json(decision.facts)
    assert written["local"] == {"subsidy_base": "300.5"}  # an exact decimal is written as text
    again = povrules.evaluate(povrules.parse_household(written), rs, "subsidy", as_of=AS_OF)
    assert again.amount.total == decision.amount.total == Decimal("150.25")
    assert facts_json(again.facts) == written


def test_a_record_of_a_decision_with_local_facts_replays_identically(rs, tmp_path):
    from povrules.audit import RulesetStore, make_record, replay

    household = hh(members=[{"local": HEROIC}], loans=[{"local": {"lender": "postal"}}], local={"subsidy_base": 300.5})
    for decision in ("aid", "loan"):  # a date and a decimal read from the facts
        record = make_record(povrules.evaluate(household, rs, decision, as_of=AS_OF))
        result = replay(record, RulesetStore(tmp_path))
        assert result.identical, result
