"""A COLLECT table's joined outcomes: a label for a combination must join the outcomes as the engine does
(once each, in row order), and an explanation shows that label."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import povrules

SOURCE = "某县学生资助实施方案\n建档立卡贫困家庭在校学生\n低保家庭在校学生\n残疾学生另行补助\n"
RULESET = """\
id: test-collect
version: "1"
title: {zh: 测试：学生资助, en: "Test: student aid"}
jurisdiction: test
sources:
  P: {file: plan.txt, title: 学生资助实施方案}
rules:
  registered_student:
    title: {zh: 建档立卡家庭在校学生, en: A student of a registered poor household}
    when: hh.registration.status == "registered_poor" and any(m.enrolled_in_school for m in hh.members)
    outcome: registered
    cite: {source: P, line: 2, quote: 建档立卡贫困家庭在校学生}
  dibao_student:
    title: {zh: 低保家庭在校学生, en: A student of a dibao household}
    when: hh.registration.dibao and any(m.enrolled_in_school for m in hh.members)
    outcome: dibao
    cite: {source: P, line: 3, quote: 低保家庭在校学生}
  disabled_student:
    title: {zh: 残疾学生, en: A disabled student}
    when: any(m.enrolled_in_school and m.disability_grade > 0 for m in hh.members)
    outcome: disabled
    cite: {source: P, line: 4, quote: 残疾学生另行补助}
decisions:
  aid:
    kind: table
    title: {zh: 资助类别, en: Kinds of aid}
    hit_policy: COLLECT
    rows: [registered_student, dibao_student, disabled_student]
    default: none
    labels:
      registered: {zh: 建档立卡学生补助, en: Aid for a registered student}
      KEY: {zh: 建档立卡及残疾学生补助, en: Aid for a registered and disabled student}
"""


def write(folder: Path, key: str) -> Path:
    (folder / "plan.txt").write_text(SOURCE, encoding="utf-8")
    path = folder / "ruleset.yaml"
    path.write_text(RULESET.replace("KEY", key), encoding="utf-8")
    return path


def test_a_label_for_hits_joined_in_row_order_is_shown(tmp_path: Path):
    ruleset = povrules.load_ruleset(write(tmp_path, "registered+disabled"))
    household = povrules.parse_household(
        {
            "id": "S1",
            "registration": {"status": "registered_poor", "dibao": False},
            "members": [{"enrolled_in_school": True, "disability_grade": 2}],
        }
    )
    decision = povrules.evaluate(household, ruleset, "aid", as_of=date(2024, 9, 1))
    assert decision.outcome == "registered+disabled" and decision.labels == ("registered", "disabled")
    assert "→ Aid for a registered and disabled student" in decision.explain("en").splitlines()[0]


@pytest.mark.parametrize(
    ("key", "write_instead"), [("disabled+registered", "registered+disabled"), ("registered+registered", "registered")]
)
def test_a_label_for_a_join_the_table_never_gives_is_a_load_error(tmp_path: Path, key: str, write_instead: str):
    with pytest.raises(povrules.RulesetError) as caught:
        povrules.load_ruleset(write(tmp_path, key))
    assert f"has a label for {key!r}, which a COLLECT table never gives" in caught.value.message
    assert caught.value.hint == f"write {write_instead!r}"
    assert (
        caught.value.location is not None
        and caught.value.location.line == RULESET.count("\n", 0, RULESET.index("KEY")) + 1
    )


def test_a_label_for_an_unknown_part_is_a_load_error(tmp_path: Path):
    with pytest.raises(povrules.RulesetError, match="an outcome it never gives"):
        povrules.load_ruleset(write(tmp_path, "registered+orphan"))
