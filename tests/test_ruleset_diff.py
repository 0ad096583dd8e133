"""Ruleset diff: rules, parameters (value by value, with dates), derived facts and decisions added,
removed and changed, in a deterministic order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import povrules
from povrules.ruleset import RulesetDiff, diff_rulesets

REPO = Path(__file__).resolve().parent.parent

OLD = """
id: test-diff
version: "1"
title: {zh: 测试, en: Test}
jurisdiction: test
sources:
  D: {file: principles.md, title: design}
parameters:
  income_line:
    title: {zh: 收入线, en: Income line}
    unit: 元
    values:
      - {from: 2020-01-01, value: 4000, cite: {source: D, line: 31, quote: "q1"}}
      - {from: 2021-01-01, value: 4200, cite: {source: D, line: 31, quote: "q1"}}
      - {from: 2022-01-01, value: 4400, cite: {source: D, line: 31, quote: "q1"}}
  deposit_cap:
    title: {zh: 存款上限, en: Deposit cap}
    unit: 元
    values:
      - {from: 2020-01-01, value: 50000, cite: {source: D, line: 40, quote: "q2"}}
derived:
  has_car:
    expr: any(v.kind == "car" for v in hh.assets.vehicles)
  has_elder:
    expr: any(m.age >= 60 for m in hh.members)
rules:
  low_income:
    title: {zh: 低收入, en: Low income}
    when: hh.income.per_capita_net < p.income_line
    cite: {source: D, line: 31, quote: "q1"}
  rural:
    title: {zh: 农村户籍, en: Rural}
    when: hh.rural_hukou
    cite: {source: D, line: 24, quote: "q3"}
  owns_car:
    title: {zh: 有车, en: Owns a car}
    when: has_car
    outcome: excluded
    cite: {source: D, line: 29, quote: "q4"}
  rich:
    title: {zh: 存款多, en: Large deposits}
    when: hh.assets.deposits_total > p.deposit_cap
    outcome: excluded
    cite: {source: D, line: 40, quote: "q2"}
decisions:
  identify:
    kind: eligibility
    title: {zh: 识别, en: Identification}
    criteria: [low_income, rural]
    exceptions: [owns_car, rich]
    outcomes: {yes: identified, no: not_identified}
  elder:
    kind: eligibility
    title: {zh: 有老人, en: Elder}
    criteria: [rural]
    outcomes: {yes: y, no: n}
"""

NEW = """
id: test-diff
version: "2"
title: {zh: 测试, en: Test}
jurisdiction: test
sources:
  D: {file: principles.md, title: design}
parameters:
  income_line:
    title: {zh: 收入线, en: Income line}
    unit: 元
    values:
      - {from: 2020-01-01, value: 4000, cite: {source: D, line: 31, quote: "q1"}}
      - {from: 2021-01-01, value: 4300, cite: {source: D, line: 31, quote: "q1"}}
      - {from: 2023-01-01, value: 4600, cite: {source: D, line: 32, quote: "q1b"}}
  elder_age:
    title: {zh: 老人年龄, en: Elder age}
    unit: 岁
    type: int
    values:
      - {from: 2020-01-01, value: 60, cite: {source: D, line: 50, quote: "q5"}}
derived:
  has_car:
    expr: any(v.kind in ["car", "truck"] for v in hh.assets.vehicles)
  has_elder:
    expr: any(m.age >= 60 for m in hh.members)
  is_large:
    expr: count(m.age >= 0 for m in hh.members) > 5
rules:
  low_income:
    title: {zh: 低收入, en: Low income}
    when: >-
      hh.income.per_capita_net
      < p.income_line
    cite: {source: D, line: 31, quote: "q1"}
  rural:
    title: {zh: 农村户籍, en: Rural registration}
    when: hh.rural_hukou and not hh.registration.dibao
    note: "I-test-1: an interpretation"
    valid: {from: 2021-01-01}
    cite: {source: D, line: 25, quote: "q3 moved"}
  owns_car:
    title: {zh: 有车, en: Owns a car}
    when: has_car
    strength: default
    override_by: [村民代表会议]
    outcome: needs_review
    level: 2
    cite: {source: D, line: 29, quote: "q4"}
  elder_member:
    title: {zh: 有老人, en: Has an elder}
    when: any(m.age >= p.elder_age for m in hh.members)
    cite: {source: D, line: 50, quote: "q5"}
decisions:
  identify:
    kind: eligibility
    title: {zh: 识别, en: Identification}
    criteria: [low_income, rural]
    exceptions: [owns_car]
    outcomes: {yes: identified, no: not_identified}
  elder2:
    kind: eligibility
    title: {zh: 有老人, en: Elder}
    criteria: [elder_member]
    outcomes: {yes: y, no: n}
"""


def _load(tmp_path: Path, name: str, text: str) -> povrules.Ruleset:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return povrules.load_ruleset(path)


@pytest.fixture
def pair(tmp_path):
    return _load(tmp_path, "old", OLD), _load(tmp_path, "new", NEW)


def test_a_ruleset_against_itself_is_empty(pair):
    old, _ = pair
    diff = diff_rulesets(old, old)
    assert isinstance(diff, RulesetDiff) and diff.is_empty
    assert diff.to_dict()["rules"] == {"added": [], "removed": [], "changed": []}
    assert "no changes" in diff.explain() and "无变化" in diff.explain("zh")


def test_the_same_text_loaded_twice_gives_an_empty_diff(tmp_path):
    assert diff_rulesets(_load(tmp_path, "a", OLD), _load(tmp_path, "b", OLD)).is_empty


def test_rules_added_removed_and_changed(pair):
    diff = diff_rulesets(*pair)
    assert not diff.is_empty
    assert [r.id for r in diff.rules_added] == ["elder_member"]
    assert diff.rules_added[0].condition == "any(m.age >= p.elder_age for m in hh.members)"
    assert [r.id for r in diff.rules_removed] == ["rich"]
    assert diff.rules_removed[0].outcome == "excluded"
    changed = {c.id: {f.field: (f.old, f.new) for f in c.changes} for c in diff.rules_changed}
    # a condition only re-wrapped over two lines is not a change
    assert "low_income" not in changed
    assert list(changed) == ["owns_car", "rural"]
    assert changed["rural"]["condition"] == ("hh.rural_hukou", "hh.rural_hukou and not hh.registration.dibao")
    assert changed["rural"]["validity"] == ({"from": None, "to": None}, {"from": "2021-01-01", "to": None})
    assert changed["rural"]["note"] == (
        None,
        {"zh": "I-test-1: an interpretation", "en": "I-test-1: an interpretation"},
    )
    assert changed["rural"]["citation"][0]["line"] == 24 and changed["rural"]["citation"][1]["quote"] == "q3 moved"
    assert changed["rural"]["title"][1]["en"] == "Rural registration"
    assert set(changed["rural"]) == {"condition", "validity", "note", "citation", "title"}
    assert changed["owns_car"]["strength"] == ("hard", "default")
    assert changed["owns_car"]["override_by"] == ([], ["村民代表会议"])
    assert changed["owns_car"]["outcome"] == ("excluded", "needs_review")
    assert changed["owns_car"]["level"] == (1, 2)
    assert "condition" not in changed["owns_car"]  # `has_car` is the same text; its meaning changed below


def test_parameters_added_removed_and_values_changed_with_their_dates(pair):
    diff = diff_rulesets(*pair)
    assert [p.name for p in diff.parameters_added] == ["elder_age"]
    assert [(v.start, v.value) for v in diff.parameters_added[0].values] == [("2020-01-01", 60)]
    assert [p.name for p in diff.parameters_removed] == ["deposit_cap"]
    assert [(v.start, v.value) for v in diff.parameters_removed[0].values] == [("2020-01-01", "50000")]
    [line] = diff.parameters_changed
    assert line.name == "income_line" and line.unit == "元"
    assert [(v.start, v.value) for v in line.values_added] == [("2023-01-01", "4600")]
    assert line.values_added[0].cite["quote"] == "q1b"
    assert [(v.start, v.value) for v in line.values_removed] == [("2022-01-01", "4400")]
    assert [(c.start, c.old.value, c.new.value) for c in line.values_changed] == [("2021-01-01", "4200", "4300")]
    # the 2020 value is the same in both: not listed
    assert all(c.start != "2020-01-01" for c in line.values_changed)


def test_a_changed_citation_alone_is_a_changed_value(tmp_path):
    old = _load(tmp_path, "a", OLD)
    new = _load(
        tmp_path,
        "b",
        OLD.replace(
            '- {from: 2020-01-01, value: 50000, cite: {source: D, line: 40, quote: "q2"}}',
            '- {from: 2020-01-01, value: 50000, cite: {source: D, line: 41, quote: "q2"}}',
        ),
    )
    [change] = diff_rulesets(old, new).parameters_changed
    [value] = change.values_changed
    assert value.old.value == value.new.value == "50000"
    assert (value.old.cite["line"], value.new.cite["line"]) == (40, 41)
    assert (
        "from 2020-01-01 citation: principles.md:40 “q2” → principles.md:41 “q2”" in diff_rulesets(old, new).explain()
    )


def test_derived_facts_and_decisions_added_removed_and_changed(pair):
    diff = diff_rulesets(*pair)
    assert [(d.name, d.change) for d in diff.derived_changed] == [("has_car", "changed"), ("is_large", "added")]
    [expr] = diff.derived_changed[0].changes
    assert expr.field == "expr" and expr.new == 'any(v.kind in ["car", "truck"] for v in hh.assets.vehicles)'
    assert [(d.name, d.change) for d in diff.decisions_changed] == [
        ("elder", "removed"),
        ("elder2", "added"),
        ("identify", "changed"),
    ]
    [exceptions] = diff.decisions_changed[2].changes
    assert (exceptions.field, exceptions.old, exceptions.new) == ("exceptions", ["owns_car", "rich"], ["owns_car"])


def test_to_dict_is_json_ready_and_deterministic(tmp_path):
    first = diff_rulesets(_load(tmp_path, "a", OLD), _load(tmp_path, "b", NEW)).to_dict()
    again = diff_rulesets(_load(tmp_path, "c", OLD), _load(tmp_path, "d", NEW)).to_dict()
    text = json.dumps(first, ensure_ascii=False)
    assert text == json.dumps(again, ensure_ascii=False)
    assert first["old"]["version"] == "1" and first["new"]["version"] == "2"
    assert first["old"]["digest"].startswith("sha256:")
    assert first["empty"] is False
    assert [r["id"] for r in first["rules"]["changed"]] == ["owns_car", "rural"]
    assert first["parameters"]["changed"][0]["values_changed"] == [
        {
            "from": "2021-01-01",
            "old": {
                "from": "2021-01-01",
                "value": "4200",
                "cite": {"file": "principles.md", "line": 31, "end_line": 31, "quote": "q1"},
            },
            "new": {
                "from": "2021-01-01",
                "value": "4300",
                "cite": {"file": "principles.md", "line": 31, "end_line": 31, "quote": "q1"},
            },
        }
    ]


def test_explain_lists_every_change_in_english_and_chinese(pair):
    diff = diff_rulesets(*pair)
    en = diff.explain("en").splitlines()
    assert en[0].startswith("test-diff 1 (sha256:") and " → test-diff 2 (sha256:" in en[0]
    assert "+ rule elder_member: any(m.age >= p.elder_age for m in hh.members)" in en
    assert "- rule rich: hh.assets.deposits_total > p.deposit_cap → excluded" in en
    assert "~ rule owns_car:" in en and "    strength: hard → default" in en
    assert "+ parameter elder_age: 60 岁 (from 2020-01-01)" in en
    assert "- parameter deposit_cap: 50000 元 (from 2020-01-01)" in en
    assert "~ parameter income_line:" in en
    assert "    + from 2023-01-01: 4600 元" in en
    assert "    - from 2022-01-01: 4400 元" in en
    assert "    ~ from 2021-01-01: 4200 元 → 4300 元" in en
    assert "~ derived fact has_car:" in en and "+ decision elder2" in en and "- decision elder" in en
    zh = diff.explain("zh").splitlines()
    assert "~ 规则 owns_car:" in zh and "    强度: hard → default" in zh
    assert "    ~ 2021-01-01 起: 4200 元 → 4300 元" in zh


def test_a_county_ruleset_against_its_national_base_shows_what_the_county_adds():
    national = povrules.load_ruleset(REPO / "rulesets" / "cn-national")
    weishan = povrules.load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")
    diff = diff_rulesets(national, weishan)
    added = {r.id for r in diff.rules_added}
    assert {"wubulu_motor_vehicle", "wubulu_public_official"} <= added
    assert not diff.rules_removed  # extends keeps every national rule
    assert set(weishan.rules) - set(national.rules) == added
