"""Screening rules: the plans' screening.yaml files load, cite their texts, and refuse mistakes by file:line:col."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from povrules.citations import quote_problem
from povrules.errors import RulesetError
from povrules.warning.rules import load_screening

SCREENED = ("cn-anhui-funan", "cn-hebei-lingshou", "cn-liaoning-yingkou")


@pytest.mark.parametrize("ruleset", SCREENED)
def test_each_plan_screening_loads_and_names_its_decision(rulesets_dir: Path, ruleset: str) -> None:
    screening = load_screening(rulesets_dir / ruleset)
    assert screening.ruleset == ruleset
    assert screening.digest.startswith("sha256:")
    assert screening.rules and all(rule.reason["zh"] and rule.reason["en"] for rule in screening.rules)
    assert screening.parameter(screening.deadline, date(2022, 6, 1)) == 20
    # A figure the text does not give is the county's: marked local and explained.
    local = [p for p in screening.parameters.values() if p.local]
    assert local and all(v.note is not None and v.cite is None for p in local for v in p.values)


@pytest.mark.parametrize("ruleset", SCREENED)
def test_every_quote_stands_at_its_line(rulesets_dir: Path, seeds: Path, ruleset: str) -> None:
    screening = load_screening(rulesets_dir / ruleset)
    for citation in screening.citations():
        lines = (seeds / citation.file).read_text(encoding="utf-8").splitlines()
        assert quote_problem(citation, lines) is None, citation


def test_the_text_given_figure_is_cited_and_the_rest_local(rulesets_dir: Path) -> None:
    lingshou = load_screening(rulesets_dir / "cn-hebei-lingshou")
    assert not lingshou.parameters["decision_working_days"].local
    assert not lingshou.parameters["spending_percent_of_income"].local
    assert lingshou.parameters["income_drop_percent"].local
    assert lingshou.parameter("spending_window", date(2019, 12, 31)) is None


BASE = """\
screening:
  ruleset: x
  decision: d
  sources: {S1: {file: a.txt}}
  parameters:
    w: {title: {zh: 期, en: window}, unit: 月, local: true, values: [{from: 2020-01-01, value: 12, note: {zh: 本地, en: local}}]}
    p: {title: {zh: 比例, en: share}, unit: "%", values: [{from: 2020-01-01, value: 100, cite: {source: S1, line: 1, quote: q}}]}
    d: {title: {zh: 期限, en: deadline}, unit: 工作日, values: [{from: 2020-01-01, value: 20, cite: {source: S1, line: 2, quote: q}}]}
  rules:
    r:
      title: {zh: 规则, en: rule}
      kinds: [medical_expense]
      window_months: w
      aggregate: sum_amount
      compare: {operator: ">", percent_of_income: p}
      reason: {zh: 原因, en: reason}
  verification_deadline: d
"""


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("kinds: [medical_expense]", "kinds: [medical_bill]", ":12:", "unknown code 'medical_bill'"),
        ("window_months: w", "window_months: p", ":13:", "is in %, expected 月"),
        ('operator: ">"', 'operator: "<"', ":15:", "operator: expected one of"),
        ("value: 100, cite: {source: S1, line: 1, quote: q}", "value: 100", ":7:", "cites it"),
        ("aggregate: sum_amount", "aggregate: count", ":15:", "compared with a threshold"),
        ("verification_deadline: d", "verification_deadline: w", ":17:", "expected 工作日"),
    ],
)
def test_a_mistake_is_named_at_its_line(tmp_path: Path, old: str, new: str, where: str, message: str) -> None:
    assert old in BASE
    load_screening(_write(tmp_path, BASE))
    with pytest.raises(RulesetError, match=message) as caught:
        load_screening(_write(tmp_path, BASE.replace(old, new)))
    assert where in str(caught.value)


def _write(folder: Path, text: str) -> Path:
    path = folder / "screening.yaml"
    path.write_text(text, encoding="utf-8")
    return path
