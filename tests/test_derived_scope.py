"""A derived fact read from inside a quantifier keeps the quantifier's loop variable intact, when the
derived fact loops over a list with a variable of the same name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import povrules

RULESET = """
id: scope-probe
version: "1"
title: {zh: 作用域, en: scope}
subject: case
sources:
  S003: {file: 003_e3e29ff1be94684a.txt, title: 防返贫监测方案}
derived:
  posting_starts:
    title: {zh: 村级公示开始日期, en: village posting starts}
    expr: first(e.date for e in case.events if e.step == "village_posting")
rules:
  objection_after_posting:
    title: {zh: 公示开始后提出异议, en: an objection after the posting began}
    when: any(e.step == "objection" and posting_starts < e.date for e in case.events)
    cite: {source: S003, line: 136, quote: "一般不超過20個(gè)工作日"}
decisions:
  objection_raised:
    title: {zh: 异议, en: objection}
    kind: eligibility
    criteria: [objection_after_posting]
    outcomes: {yes: raised, no: none}
"""


@pytest.fixture()
def ruleset(tmp_path: Path) -> povrules.Ruleset:
    path = tmp_path / "ruleset.yaml"
    path.write_text(RULESET, encoding="utf-8")
    return povrules.load_ruleset(path)


@pytest.mark.parametrize("traced", [True, False])
def test_the_outer_loop_variable_survives_a_derived_facts_own_loop(ruleset: povrules.Ruleset, traced: bool) -> None:
    case = povrules.parse_facts(
        {
            "id": "c1",
            "events": [
                {"step": "village_posting", "date": "2021-06-08", "end": "2021-06-14"},
                {"step": "objection", "date": "2021-06-10"},
            ],
        },
        "case",
    )
    # The objection (06-10) follows the posting's start (06-08). Were `e` left bound to the posting by
    # posting_starts, the second test would read the posting's own step and date and fail.
    decision = povrules.evaluate(case, ruleset, "objection_raised", as_of=date(2021, 7, 1), trace=traced)
    assert decision.outcome == "raised"
    before = povrules.parse_facts(
        {
            "id": "c2",
            "events": [{"step": "objection", "date": "2021-06-01"}, {"step": "village_posting", "date": "2021-06-08"}],
        },
        "case",
    )
    assert (
        povrules.evaluate(before, ruleset, "objection_raised", as_of=date(2021, 7, 1), trace=traced).outcome == "none"
    )
