"""Fuzzing the ruleset loader and the expression parser: ruleset YAML mutated as text and as a tree, and
conditions put together from the language's words (and from words it refuses).

A ruleset that loads is used: every decision is made for a few households, explained, traced and shown
as HTML, and a variant is made. The only errors allowed are :class:`povrules.RulesetError` *located* at
``file:line:column`` and ``EvaluationError`` (a date a parameter does not cover); no input may run code.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from fuzzing import CANARY, FUZZ, ended, guarded, mutated_text, mutated_tree
from hypothesis import given
from hypothesis import strategies as st

import povrules
from povrules import EvaluationError, RulesetError
from povrules.ruleset.yaml import load_yaml

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "engine"
SEEDS = {path.name: path.read_text(encoding="utf-8") for path in sorted(FIXTURES.glob("*.yaml"))}
HOUSEHOLDS = [
    povrules.parse_household(json.loads(line))
    for line in (REPO / "examples" / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()[:3]
]
HOUSEHOLDS.append(povrules.parse_household({"id": "empty"}))


def _use(ruleset: povrules.Ruleset) -> None:
    """Everything a loaded ruleset is for: decisions, explanations, traces, HTML, a variant."""
    str(ruleset.html("zh"))
    for name, spec in ruleset.decisions.items():
        for as_of in (date(2016, 6, 30), date(2023, 1, 1)):
            try:
                if spec.kind == "ranking":
                    povrules.rank(HOUSEHOLDS, ruleset, name, as_of=as_of).explain("en")
                    continue
                for household in HOUSEHOLDS:
                    decision = povrules.evaluate(household, ruleset, name, as_of=as_of)
                    decision.explain("zh")
                    decision.explain("en")
                    decision.trace()
                    str(decision.html("en"))
            except EvaluationError:
                pass
    if ruleset.rules:
        try:
            ruleset.without_rule(next(iter(ruleset.rules)))
        except RulesetError:
            pass


def _load(target: str, text: str, folder: Path) -> None:
    path = folder / "ruleset.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with guarded(target):
        try:
            ruleset = povrules.load_ruleset(path)
        except RulesetError as exc:
            assert exc.location is not None and exc.location.file == str(path), f"not located: {exc}"
            assert 1 <= exc.location.line <= text.count("\n") + 2 and exc.location.column >= 1, str(exc)
            ended(target, "RulesetError")
            return
        _use(ruleset)
        ended(target, "ok")


@pytest.fixture
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ruleset")


@FUZZ
@given(text=st.sampled_from(sorted(SEEDS)).flatmap(lambda name: mutated_text(SEEDS[name], rounds=4)))
def test_mutated_ruleset_text(text: str, folder: Path) -> None:
    _load("rulesets: mutated YAML text", text, folder)


def _plain(value: object) -> object:
    """The project's own reading of YAML (``yes``/``no`` stay text, numbers are exact) as plain data to dump."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _tree(name: str) -> object:
    return _plain(load_yaml(SEEDS[name], name))


@FUZZ
@given(tree=st.sampled_from(sorted(SEEDS)).flatmap(lambda name: mutated_tree(_tree(name), rounds=3)))
def test_mutated_ruleset_tree(tree: object, folder: Path) -> None:
    _load("rulesets: mutated YAML tree", yaml.safe_dump(tree, allow_unicode=True, default_flow_style=False), folder)


WORDS = [
    "hh.income.per_capita_net",
    "hh.members",
    "m.age",
    "m.name",
    "hh.id",
    "hh.village",
    "p.line",
    "p.nope",
    "as_of",
    "days_between",
    "months_between",
    "add_months",
    "date(2021, 1, 1)",
    "len",
    "abs",
    "min",
    "max",
    "any",
    "all",
    "count",
    "sum",
    "(",
    ")",
    ",",
    "for m in hh.members",
    "if",
    "else",
    "and",
    "or",
    "not",
    "<",
    "<=",
    "==",
    "!=",
    ">",
    ">=",
    "in",
    "not in",
    "+",
    "-",
    "*",
    "/",
    "0",
    "1",
    "4000",
    "0.5",
    "1e400",
    "10**100",
    "'car'",
    '"car"',
    "[1, 2]",
    "[]",
    "true",
    "True",
    "None",
    "null",
    "hh.assets.vehicles",
    "v.kind",
    "for v in hh.assets.vehicles",
    "hh.registration.dibao",
    "hh.monitoring.included_on",
    f'__import__("{CANARY}")',
    f'open("{CANARY}")',
    "eval",
    "exec",
    "().__class__",
    "hh.__class__",
    "lambda: 0",
    "x[0]",
    "{}",
    "f'x'",
    "yield",
    ":=",
    "\\",
    "#",
    "\n",
]
LINE = """\
parameters:
  line:
    title: {zh: 线, en: Line}
    values:
      - from: 2016-01-01
        value: 4000
        cite: {source: D, line: 1, quote: q}
"""


FIELDS = [
    "hh.income.per_capita_net",
    "hh.members[0]",
    "hh.months_absent",
    "hh.registration.dibao",
    "hh.monitoring.included_on",
    "hh.assets.deposits_total",
    "p.line",
    "as_of",
    "0",
    "-1",
    "4000",
    "0.5",
    "1e400",
    "10**100",
    "date(2021, 2, 28)",
    "len(hh.members)",
    "count(m for m in hh.members if m.age > 60)",
    "sum(m.age for m in hh.members)",
    "days_between(hh.monitoring.included_on, as_of)",
    "add_months(as_of, 1000000)",
    "min(hh.months_absent, 3)",
    "abs(p.line - 10**400)",
]
OPERATORS = ["<", "<=", "==", "!=", ">", ">=", "+", "-", "*", "/"]


@st.composite
def conditions(draw: st.DrawFn) -> str:
    """A condition shaped like the language's: operands and operators in turn, sometimes joined by and/or."""
    parts = []
    for i in range(draw(st.integers(min_value=1, max_value=3))):
        if i:
            parts.append(draw(st.sampled_from(["and", "or", "and not"])))
        parts += [draw(st.sampled_from(FIELDS)), draw(st.sampled_from(OPERATORS)), draw(st.sampled_from(FIELDS))]
        if draw(st.booleans()):
            parts += [draw(st.sampled_from(["<", ">=", "=="])), draw(st.sampled_from(FIELDS))]
    return " ".join(parts)


@FUZZ
@given(
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=14) | conditions().map(lambda c: [c]),
    quote=st.sampled_from(["json", "block"]),
)
def test_conditions_from_the_language_words(words: list[str], quote: str, folder: Path) -> None:
    expr = " ".join(words)
    when = json.dumps(expr, ensure_ascii=False) if quote == "json" else "|\n      " + expr.replace("\n", " ")
    text = (
        "id: fuzz\nversion: '1'\ntitle: {zh: 测, en: T}\nsources:\n  D: {file: d.txt, title: d}\n"
        + LINE
        + f"rules:\n  r:\n    title: {{zh: 规, en: R}}\n    when: {when}\n    cite: {{source: D, line: 1, quote: q}}\n"
        + "decisions:\n  d:\n    kind: eligibility\n    title: {zh: 决, en: D}\n    criteria: [r]\n"
        + "    outcomes: {yes: y, no: n}\n"
    )
    _load("expressions: conditions from the language's words", text, folder)
