"""Safety: a ruleset cannot run Python.

Every unsafe form is refused when the ruleset *loads*, with a RulesetError at the
condition's line. The injected expressions would leave a mark if anything ran
them — a file in the test's folder, an attribute on ``builtins``, a module
global — and each test checks that no mark was left. The property tests feed
arbitrary text to the parser, checker and loader and accept only their own
errors.
"""

from __future__ import annotations

import builtins
import copy
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import povrules
from povrules import EvaluationError, RulesetError, load_ruleset
from povrules.facts import Household
from povrules.lang import CheckProblem, Compiler, Env, Scope, SyntaxProblem, Unknown, check, parse
from povrules.lang.parser import MAX_DEPTH, MAX_LENGTH
from povrules.lang.types import DECIMAL, STR, ListType, record_of

MARK_NAME = "POVRULES_INJECTED"
TOUCHED = False  # an injected expression would set this module global if it ran

HEADER = """\
id: unsafe
version: "1"
title: {zh: 安全, en: Safety}
sources:
  S1: {file: policy.txt, title: 政策}
"""


def rule_with(when: str) -> str:
    return (
        HEADER
        + f"""\
rules:
  r1:
    title: {{zh: 规则, en: Rule}}
    when: '{when.replace("'", "''")}'
    cite: {{source: S1, line: 1, quote: q}}
"""
    )


@pytest.fixture
def marks(tmp_path, monkeypatch):
    """Run in tmp_path, and check afterwards that no injected code left a mark."""
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.iterdir())
    yield tmp_path
    assert set(tmp_path.iterdir()) - before <= {tmp_path / "ruleset.yaml"}, "a file was created"
    assert not hasattr(builtins, MARK_NAME), "builtins were changed"
    assert TOUCHED is False, "a module global was set"


def load_refused(folder: Path, text: str) -> povrules.RulesetError:
    path = folder / "ruleset.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    return info.value


GLOBAL = f"__import__('sys').modules['{__name__}'].__dict__.__setitem__('TOUCHED', True)"

INJECTIONS = [
    "__import__('os').system('touch pwned')",
    "__import__('pathlib').Path('pwned').touch()",
    GLOBAL,
    f"__import__('builtins').__setattr__('{MARK_NAME}', 1)",
    "hh.__class__",
    "hh.__class__.__bases__",
    "hh.__class__.__bases__[0].__subclasses__()",
    "().__class__",
    "().__class__.__base__.__subclasses__()",
    "hh.income.__dict__",
    "hh.__init__.__globals__",
    "(lambda: 1)()",
    "(lambda: open('pwned', 'w'))() == 1",
    "open('pwned', 'w')",
    "eval('1')",
    f'eval("{GLOBAL}")',
    "exec('1')",
    "exec(\"open('pwned', 'w')\")",
    "compile('1', 'x', 'eval')",
    "globals()",
    "vars(hh)",
    "getattr(hh, 'x')",
    "getattr(hh, '__class__')",
    "setattr(hh, 'x', 1)",
    "breakpoint()",
    "help(hh)",
    "type(hh)",
    "f'{hh}'",
    "f\"{__import__('os').system('touch pwned')}\"",
    "(x := 1)",
    "(hh := 1) == 1",
    "hh.members[0]",
    "hh.members[0].age > 1",
    "hh.id[0:1] == 'a'",
    "len(hh.members, key=1)",
    "max(1, 2, default=3) == 1",
    "len(*hh.members) > 1",
    "2 ** 3 > 1",
    "9 ** 9 ** 9 > 1",
    "3 % 2 == 1",
    "'%s' % hh.id == 'a'",
    "3 // 2 == 1",
    "1 & 2 == 0",
    "(1 | 2) == 3",
    "1 ^ 2 == 3",
    "~1 == -2",
    "1 << 2 == 4",
    "8 >> 1 == 4",
    "hh.rural_hukou is True",
    "hh.rural_hukou is not None",
    "[m for m in hh.members] == []",
    "{m for m in hh.members} == []",
    "{m: 1 for m in hh.members} == {}",
    "{'a': 1} == {}",
    "any(m for m in hh.members for n in hh.members)",
    "hh.id.format(hh) == 'a'",
    "'{0.__class__}'.format(hh) == 'a'",
    "hh.village.__len__() > 1",
    "hh.model_dump() == 1",
    "hh.model_fields",
    "hh.model_config",
    "hh.copy",
    "p.__class__",
    "as_of.__class__",
    "as_of.year > 2000",
    "_ == 1",
    "__builtins__",
    "await hh",
    "yield hh",
    "None == None",
    "... == ...",
    "b'x' == b'x'",
    "1j == 1j",
]


@pytest.mark.parametrize("expression", INJECTIONS)
def test_unsafe_expressions_are_refused_at_load_and_nothing_runs(marks, expression):
    text = rule_with(expression)
    err = load_refused(marks, text)
    assert err.message.startswith("in rule 'r1': ")
    assert (
        err.location is not None
        and err.location.line
        == text.splitlines().index(next(line for line in text.splitlines() if line.startswith("    when:"))) + 1
    )


def test_an_unsafe_derived_fact_is_refused_too(marks):
    text = HEADER + f'derived:\n  x:\n    expr: "{GLOBAL.replace(chr(39), chr(39))}"\n'
    err = load_refused(marks, text)
    assert err.message.startswith("in derived fact 'x': ")


def test_an_unsafe_tiebreak_is_refused_too(marks):
    text = (
        rule_with("hh.rural_hukou")
        + """\
decisions:
  order:
    kind: ranking
    title: {zh: 排序, en: Order}
    criteria: [r1]
    tiebreak:
      - {by: "__import__('os').system('touch pwned')", order: asc}
"""
    )
    err = load_refused(marks, text)
    assert err.message == "in a tiebreak of decision 'order': only the built-in functions may be called"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("hh.__class__", "names starting with '_' are not allowed: '__class__'"),
        ("open('x')", "unknown function 'open'"),
        ("(lambda: 1)()", "only the built-in functions may be called"),
        ("f'{hh}'", "an f-string is not allowed in a condition"),
        ("(x := 1)", "assignment is not allowed in a condition"),
        ("hh.members[0]", "indexing is not allowed in a condition"),
        ("2 ** 3 > 1", "only + - * / are allowed in arithmetic"),
        ("hh.rural_hukou is True", "'is' and 'is not' are not allowed; use == or !="),
        ("[m for m in hh.members] == []", "a list comprehension is not allowed in a condition"),
    ],
)
def test_the_refusal_says_what_is_not_allowed(marks, expression, message):
    assert load_refused(marks, rule_with(expression)).message == f"in rule 'r1': {message}"


def test_an_expression_over_the_length_limit(marks):
    expression = "hh.rural_hukou or " * 120 + "hh.rural_hukou"
    assert len(expression) > MAX_LENGTH
    err = load_refused(marks, rule_with(expression))
    assert f"characters long; at most {MAX_LENGTH} are allowed" in err.message


@pytest.mark.parametrize(
    "expression",
    [
        "(" * 100 + "True" + ")" * 100,
        "not " * (MAX_DEPTH + 1) + "True",
        "-" * 40 + "1 > 0",
        "1 + " * 60 + "1 > 0",
        "len(" * 40 + "hh.members" + ")" * 40 + " > 0",
        "[" * 70 + "]" * 70 + " == []",
        "(" * 300 + ")" * 300,
    ],
)
def test_deep_nesting_is_refused(marks, expression):
    err = load_refused(marks, rule_with(expression))
    assert f"nests too deeply (at most {MAX_DEPTH} levels)" in err.message or "too many nested" in err.message


def test_an_expression_with_too_many_parts(marks):
    expression = "hh.months_absent in [" + ", ".join(["1"] * 450) + "]"
    assert len(expression) <= MAX_LENGTH
    err = load_refused(marks, rule_with(expression))
    assert "parts; at most" in err.message


# YAML that would build Python objects


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['touch pwned']",
        "!!python/object/apply:os.system {args: ['touch pwned']}",
        "!!python/object/new:os.system ['touch pwned']",
        "!!python/object:builtins.object {}",
        "!!python/name:os.system ''",
        "!!python/module:os ''",
        "!!python/tuple [1, 2]",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!!omap [{a: 1}]",
        "!custom value",
        "!<tag:example.com,2024:x> value",
    ],
)
def test_yaml_tags_are_refused_where_they_stand(marks, value):
    text = HEADER + f"description: {value}\n"
    err = load_refused(marks, text)
    assert err.message.startswith("the YAML tag ") and err.message.endswith(
        "is not allowed: a ruleset holds plain values"
    )
    assert (err.location.line, err.location.column) == (6, len("description: ") + 1)


def test_a_tag_inside_a_rule_is_refused(marks):
    text = rule_with("hh.rural_hukou").replace(
        "cite: {source: S1, line: 1, quote: q}", "cite: !!python/object/apply:os.system ['touch pwned']"
    )
    err = load_refused(marks, text)
    assert "'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in err.message
    assert (err.location.line, err.location.column) == (10, len("    cite: ") + 1)


def test_plain_yaml_tags_are_accepted(tmp_path):
    path = tmp_path / "ruleset.yaml"
    path.write_text(rule_with("hh.rural_hukou").replace('version: "1"', "version: !!str 1.50"), encoding="utf-8")
    assert load_ruleset(path).version == "1.50"


def test_aliases_that_repeat_one_another_are_refused_quickly(marks):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 values
    text = HEADER + "description:\n" + "\n".join("  " + line for line in lines) + "\n"
    started = time.perf_counter()
    err = load_refused(marks, text)
    assert "values (do YAML aliases repeat one another?)" in err.message
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("text", ["id: &a [*a]\n", HEADER + "rules: &r {r1: *r}\n"])
def test_an_alias_inside_itself_is_refused(marks, text):
    err = load_refused(marks, text)
    assert err.message == "a YAML alias refers to the value that contains it"


def test_ordinary_aliases_and_merge_keys_work(tmp_path):
    text = (
        HEADER
        + """\
rules:
  r1:
    title: &t {zh: 规则, en: Rule}
    when: hh.rural_hukou
    cite: &c {source: S1, line: 1, quote: q}
  r2:
    <<: {title: *t, cite: *c}
    when: not hh.rural_hukou
"""
    )
    path = tmp_path / "ruleset.yaml"
    path.write_text(text, encoding="utf-8")
    rs = load_ruleset(path)
    assert rs.rules["r2"].title.zh == "规则" and rs.rules["r2"].citation.quote == "q"


@pytest.mark.parametrize(
    "text", ["id: " + "[" * 5000 + "]" * 5000 + "\n", "id: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n"]
)
def test_yaml_that_nests_too_deeply_is_refused(marks, text):
    assert load_refused(marks, text).message == "the YAML nests too deeply"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: !!int abc\n", "'abc' is not a valid int"),
        ("id: !!bool maybe\n", "'maybe' is not a valid bool"),
        ("id: !!timestamp soon\n", "'soon' is not a valid timestamp"),
        ("id: x\nversion: .nan\n", "'.nan' is not a decimal number"),
    ],
)
def test_scalars_that_cannot_be_built_are_ruleset_errors(marks, text, message):
    assert load_refused(marks, text).message == message


# Property tests: only the language's and the loader's own errors come out


SCOPE = Scope(record_of(Household), {"line": DECIMAL, "kinds": ListType("list", item=STR)}, {})
PARAMS = {"line": Decimal("4000"), "kinds": ("car", "truck")}
HOUSEHOLDS = [
    povrules.parse_household({"id": "empty"}),
    povrules.parse_household(
        {
            "id": "full",
            "rural_hukou": True,
            "village": "大理村",
            "members": [{"age": 70, "health": "chronic"}, {}, {"age": 0, "disability_grade": 1}],
            "income": {"per_capita_net": "0", "wage": "1.10"},
            "registration": {"status": "exited", "registered_on": "2016-02-29"},
            "assets": {"vehicles": [{"kind": "car", "value": "0"}]},
            "monitoring": {"included_on": "2021-01-31"},
        }
    ),
]


def _language_errors_only(text: str) -> None:
    """Parse, check, compile and evaluate; only the language's own errors may come out."""
    try:
        checked = check(parse(text), SCOPE)
    except (SyntaxProblem, CheckProblem):
        return
    assert checked.type is not None
    for traced in (False, True):
        fn = Compiler({}, traced).value(checked)
        for hh in HOUSEHOLDS:
            try:
                value = fn(Env(hh, PARAMS, date(2021, 6, 30), [] if traced else None))
            except EvaluationError:
                continue
            if checked.type.name == "bool":
                assert value is True or value is False or isinstance(value, Unknown)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_text_raises_only_language_errors(text):
    _language_errors_only(text)


TOKENS = [
    "hh",
    "hh.income.per_capita_net",
    "hh.rural_hukou",
    "hh.members",
    "hh.assets.vehicles",
    "hh.village",
    "hh.registration.status",
    "hh.monitoring.included_on",
    "hh.incom",
    "m",
    "m.age",
    "m.health",
    "v.kind",
    "p.line",
    "p.kinds",
    "p.lin",
    "as_of",
    "_x",
    "__class__",
    "x",
    "0",
    "1",
    "0.1",
    "1e3",
    "1e999999",
    "4000",
    '"car"',
    '"exited"',
    '"大理村"',
    "True",
    "None",
    "...",
    'date("2021-01-01")',
    'date("2021-02-30")',
    "and",
    "or",
    "not",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not in",
    "is",
    "+",
    "-",
    "*",
    "/",
    "**",
    "%",
    "//",
    "&",
    "|",
    "if",
    "else",
    "for",
    "lambda",
    ":",
    ":=",
    "=",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "\n",
    "any(",
    "all(",
    "count(",
    "sum(",
    "len(",
    "min(",
    "max(",
    "abs(",
    "months_between(",
    "days_between(",
    "years_between(",
    "date(",
    "open(",
    "__import__(",
    "f'",
    "'",
    '"',
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25), st.sampled_from([" ", ""]))
def test_compositions_of_tokens_raise_only_language_errors(tokens, sep):
    _language_errors_only(sep.join(tokens))


_LEAVES = st.sampled_from(
    [
        "hh.income.per_capita_net",
        "hh.income.wage",
        "hh.rural_hukou",
        "hh.village",
        "hh.registration.status",
        "hh.registration.registered_on",
        "hh.monitoring.included_on",
        "hh.months_absent",
        "hh.members",
        "hh.assets.vehicles",
        "p.line",
        "p.kinds",
        "as_of",
        "0",
        "1",
        "2.5",
        "0.1",
        "-1",
        '"exited"',
        '"car"',
        "True",
        "False",
        'date("2021-01-01")',
        '["car", "bus"]',
        "[1, 2]",
    ]
)


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(
        children,
        st.sampled_from(["and", "or", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/"]),
        children,
    )
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"(not {c})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(
            st.sampled_from(["min", "max", "months_between", "days_between", "years_between"]), children, children
        ).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(st.sampled_from(["len", "abs"]), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(
            st.sampled_from(["any", "all", "count", "sum"]),
            st.sampled_from(["m.age > 60", "m.age", 'm.health == "chronic"', "m.disability_grade"]),
            st.sampled_from(["", " if m.age >= 18", ' if m.health == "chronic"']),
        ).map(lambda t: f"{t[0]}({t[1]} for m in hh.members{t[2]})"),
    )


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_LEAVES, _grow, max_leaves=12))
def test_well_formed_expressions_check_or_fail_cleanly_and_evaluate_without_surprises(text):
    _language_errors_only(text)


_YAML_PIECES = [
    "id",
    "rules",
    "parameters",
    "derived",
    "decisions",
    "sources",
    "extends",
    "when",
    "title",
    "cite",
    "values",
    ": ",
    ":",
    "- ",
    "-",
    "\n",
    "\n  ",
    "\n    ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a ",
    "*a",
    "!!python/name:os.system ",
    "!!str ",
    "!!binary ",
    "!!int ",
    "? ",
    "'",
    '"',
    "#",
    "|",
    ">-",
    "2021-02-30",
    "2021-01-01",
    "1.5",
    ".nan",
    "hh.rural_hukou",
    "hh.__class__",
    "~",
    "<<: ",
    "---",
    "...",
    "\t",
    "%YAML 1.1",
    "\x00",
    "\ufeff",
    "中文",
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(st.sampled_from(_YAML_PIECES), max_size=40).map("".join)))
def test_arbitrary_yaml_raises_only_ruleset_errors(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("yaml") / "ruleset.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_ruleset(path)
    except RulesetError as err:
        assert err.message


_BASE = yaml.safe_load(
    HEADER
    + """\
parameters:
  line:
    title: {zh: 线, en: Line}
    values:
      - {from: 2020-01-01, value: 4000, cite: {source: S1, line: 1, quote: q}}
      - {from: 2021-01-01, value: 4500.50, cite: {source: S1, lines: [1, 2], quote: q}}
  kinds:
    title: {zh: 种类, en: Kinds}
    values:
      - {from: 2020-01-01, value: [car, truck], cite: {source: S1, line: 1, quote: q}}
derived:
  old:
    expr: any(m.age > 60 for m in hh.members)
rules:
  r1:
    title: {zh: 规则, en: Rule}
    when: hh.income.per_capita_net < p.line and old and any(v.kind in p.kinds for v in hh.assets.vehicles)
    outcome: poor
    strength: default
    override_by: [村民代表会议]
    valid: {from: 2020-01-01, to: 2030-01-01}
    cite: {source: S1, line: 1, quote: q}
decisions:
  identify:
    kind: eligibility
    title: {zh: 识别, en: Identify}
    criteria: [r1]
    exceptions: [r1]
    outcomes: {"yes": identified, "no": not_identified}  # quoted: safe_load would read yes/no as booleans
    labels: {identified: {zh: 是, en: identified}}
  kind_of:
    kind: table
    title: {zh: 类型, en: Kind}
    hit_policy: PRIORITY
    rows: [r1]
    priority: [poor]
    default: none
  order:
    kind: ranking
    title: {zh: 排序, en: Order}
    among: {decision: identify, outcomes: [identified]}
    criteria: [r1]
    order: count
    tiebreak: [{by: hh.income.per_capita_net, order: desc}]
"""
)

_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([2.5, "", "x", "r1", "hh.rural_hukou", "UNIQUE", "default", "table", "ranking", "identify"]),
    st.dates(date(2019, 1, 1), date(2022, 1, 1)),
    st.just([]),
    st.just({}),
    st.just([1, "a"]),
    st.just({"zh": "a"}),
    st.just(["r1", "r2"]),
    st.just([[1]]),
    st.just({"a": {"b": 1}}),
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_valid_ruleset_with_odd_values_raises_only_ruleset_errors(tmp_path_factory, data):
    document = copy.deepcopy(_BASE)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from([p for p in _paths(document) if p]))
        container = document
        for step in path[:-1]:
            container = container[step]
        if data.draw(st.booleans()) and isinstance(container, dict):
            del container[path[-1]]
        else:
            container[path[-1]] = copy.deepcopy(data.draw(_ODD_VALUES))  # st.just gives one shared object
    file = tmp_path_factory.mktemp("odd") / "ruleset.yaml"
    file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    try:
        load_ruleset(file)
    except RulesetError as err:
        assert err.message


def test_the_base_of_the_odd_values_test_is_valid(tmp_path):
    file = tmp_path / "ruleset.yaml"
    file.write_text(yaml.safe_dump(_BASE, allow_unicode=True), encoding="utf-8")
    rs = load_ruleset(file)
    assert set(rs.decisions) == {"identify", "kind_of", "order"}
    assert rs.parameters["kinds"].values[0].value == ("car", "truck") and rs.rules["r1"].parameters == ("kinds", "line")
