"""Caller errors: every one is a :class:`PovrulesError` subclass naming what is wrong, and the public API
says what it raises.

The walk over the public API reads each callable's own source: a ``raise`` of an error class there must be
named in its docstring (the class or a :class:`PovrulesError` ancestor of it), and every public function
says what it raises unless it is listed below as raising nothing a caller can cause.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pickle
import textwrap
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

import povrules
from povrules import errors
from povrules.errors import (
    ArgumentTypeError,
    DateError,
    EvaluationError,
    PovrulesError,
    RowOutOfRange,
    UnknownDecision,
    UnknownHousehold,
    UnknownName,
    UnknownParameter,
    UnknownSubject,
    UsageError,
)

RULESETS = Path(__file__).parent.parent / "rulesets"
PACKAGES = (
    "povrules",
    "povrules.audit",
    "povrules.caseload",
    "povrules.columnar",
    "povrules.facts",
    "povrules.lang",
    "povrules.ruleset",
)
SRC = Path(povrules.__file__).parent

# Public functions that raise nothing a caller can cause (a pure reading of what is already checked).
RAISES_NOTHING = {
    "povrules.household_schema": "the household schema always exists",
    "povrules.facts.household_schema": "the household schema always exists",
    "povrules.audit.record_schema": "a constant document",
    "povrules.columnar.is_flat": "a test of a frame's column names",
    "povrules.facts.encoding_problem": "returns the problem rather than raising it",
    "povrules.ruleset.diff_rulesets": "compares two loaded rulesets",
}

# Bare builtin errors a function may still raise: internal signals caught where they are raised, and
# invariants no caller can break. (file, function, error).
INTERNAL_BUILTIN_RAISES = {
    ("reference.py", "_by_name", "KeyError"),  # an invariant: the names come from the same record's own paths
    ("audit/log.py", "_recover", "ValueError"),  # an unfinished batch's note: caught at once, raised as LogError
    ("caseload/mapping.py", "_leaf", "ValueError"),  # "not a leaf": caught by the mapping reader
    ("lang/types.py", "_type_of", "TypeError"),  # a fact's type: caught by the loader as RulesetError
    ("lang/types.py", "type_of_value", "TypeError"),  # a parameter's type: caught by the loader as RulesetError
    ("lang/compiler.py", "_at", "ValueError"),  # at() without its series: the loader always gives it
    ("canonical.py", "_refuse", "TypeError"),  # orjson's default hook: raised again as CanonicalError
    ("policytest.py", "_run_single", "ValueError"),  # a case the policy file reader never builds
    ("policytest.py", "_run_ranking", "ValueError"),  # a case the policy file reader never builds
}
BUILTIN_ERRORS = {"ValueError", "TypeError", "KeyError", "IndexError", "LookupError", "RuntimeError", "Exception"}


def public_callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every public function, and every public method of a public class, by each name it is exported as."""
    for name in PACKAGES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isfunction(obj):
                yield f"{name}.{attr}", obj
            elif inspect.isclass(obj) and not issubclass(obj, BaseException):
                for key, member in vars(obj).items():
                    if not key.startswith("_") and inspect.isfunction(member):
                        yield f"{name}.{attr}.{key}", member


def raised_names(fn: Callable[..., Any]) -> set[str]:
    """The names of the error classes ``fn``'s own body raises by name (``raise Name(...)``), and
    ``LanguageError`` where it checks a language (``check_lang``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name):
                out.add(target.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check_lang":
            out.add("LanguageError")
    return out


def error_class(fn: Callable[..., Any], name: str) -> type[BaseException] | None:
    found = fn.__globals__.get(name, getattr(builtins, name, getattr(errors, name, None)))
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def test_public_functions_say_what_they_raise() -> None:
    functions = {name: fn for name, fn in public_callables() if "." not in fn.__qualname__}
    silent = [
        name
        for name, fn in functions.items()
        if "raise" not in (inspect.getdoc(fn) or "").lower() and name not in RAISES_NOTHING
    ]
    assert not silent, f"public functions whose docstring does not say what they raise: {silent}"
    assert set(RAISES_NOTHING) <= set(functions), "RAISES_NOTHING names a function that is not public"


def test_docstrings_name_the_errors_raised() -> None:
    unnamed = []
    for name, fn in public_callables():
        doc = inspect.getdoc(fn) or ""
        for raised in sorted(raised_names(fn)):
            cls = error_class(fn, raised)
            if cls is None:
                continue
            names = {c.__name__ for c in cls.__mro__ if c is cls or issubclass(c, PovrulesError)}
            if not any(n in doc for n in names):
                unnamed.append(f"{name} raises {raised}")
    assert not unnamed, f"docstrings that do not name what their body raises: {unnamed}"


class _Raises(ast.NodeVisitor):
    """The builtin errors raised by name, with the innermost function raising each."""

    def __init__(self) -> None:
        self.functions: list[str] = ["<module>"]
        self.found: list[tuple[str, int, str]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Raise(self, node: ast.Raise) -> None:
        if (
            isinstance(node.exc, ast.Call)
            and isinstance(node.exc.func, ast.Name)
            and node.exc.func.id in BUILTIN_ERRORS
        ):
            self.found.append((self.functions[-1], node.lineno, node.exc.func.id))


def test_no_bare_builtin_error_reaches_a_caller() -> None:
    """Modules raise PovrulesError subclasses, not bare ValueError/TypeError/KeyError, but for the internal
    signals listed (each caught where it is raised, or an invariant)."""
    bare, allowed = [], set()
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        visitor = _Raises()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        for function, line, name in visitor.found:
            if (relative, function, name) in INTERNAL_BUILTIN_RAISES:
                allowed.add((relative, function, name))
            else:
                bare.append(f"{relative}:{line} {function}: raise {name}")
    assert not bare, bare
    assert allowed == INTERNAL_BUILTIN_RAISES, f"stale entries: {INTERNAL_BUILTIN_RAISES - allowed}"


def test_error_tree() -> None:
    """Every error class povrules exports is a PovrulesError; the kinds keep the builtin they replaced."""
    for name in dir(errors):
        obj = getattr(errors, name)
        if (
            isinstance(obj, type)
            and issubclass(obj, Exception)
            and not issubclass(obj, Warning)
            and obj.__module__ == "povrules.errors"
        ):
            assert issubclass(obj, PovrulesError), name
    from povrules.lang import CheckProblem, SyntaxProblem

    assert issubclass(SyntaxProblem, PovrulesError) and issubclass(CheckProblem, PovrulesError)
    assert issubclass(UsageError, ValueError) and issubclass(ArgumentTypeError, TypeError)
    assert issubclass(UnknownName, KeyError) and issubclass(RowOutOfRange, IndexError)
    assert issubclass(UnknownDecision, EvaluationError) and issubclass(UnknownDecision, KeyError)
    assert issubclass(UnknownParameter, EvaluationError) and issubclass(DateError, ValueError)


@pytest.fixture(scope="module")
def weishan() -> povrules.Ruleset:
    return povrules.load_ruleset(RULESETS / "cn-yunnan-weishan")


def test_unknown_decision(weishan: povrules.Ruleset) -> None:
    household = povrules.parse_household('{"id": "H1"}')
    with pytest.raises(UnknownDecision) as info:
        povrules.evaluate(household, weishan, "identify_poor_housholds", as_of=date(2016, 6, 30))
    text = str(info.value)
    assert "identify_poor_housholds" in text and "cn-yunnan-weishan" in text and "did you mean" in text
    assert not text.startswith("'")  # shown as its message, not quoted as a KeyError is
    assert info.value.name == "identify_poor_housholds" and "identify_poor_household" in info.value.known
    with pytest.raises(KeyError):  # still a KeyError and an EvaluationError for callers catching those
        weishan.decision("nothing_like_it")
    with pytest.raises(EvaluationError, match="decisions: "):
        povrules.plan(weishan, "nothing_like_it")
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is UnknownDecision and str(again) == text and again.known == info.value.known


def test_unknown_parameter(weishan: povrules.Ruleset) -> None:
    household = povrules.parse_household('{"id": "H1"}')
    name = next(iter(weishan.parameters))
    with pytest.raises(UnknownParameter) as info:
        povrules.sweep(weishan, name + "x", [1], [household], "identify_poor_household", as_of=date(2016, 6, 30))
    assert repr(name + "x") in str(info.value) and f"did you mean {name!r}" in str(info.value)
    assert isinstance(info.value, EvaluationError) and isinstance(info.value, PovrulesError)


def test_wrong_types_and_dates(weishan: povrules.Ruleset) -> None:
    household = povrules.parse_household('{"id": "H1"}')
    with pytest.raises(ArgumentTypeError, match="as_of must be a datetime.date.*not datetime"):
        povrules.evaluate(household, weishan, "identify_poor_household", as_of=datetime(2016, 6, 30))  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="evaluate\\(\\) takes a Ruleset, not str"):
        povrules.evaluate(household, "cn-yunnan-weishan", "identify_poor_household", as_of=date(2016, 6, 30))  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="overlay: expected a mapping"):
        weishan.with_overlay(3)  # type: ignore[arg-type]
    from povrules.facts import parse_date

    with pytest.raises(DateError, match="'20160630'"):
        parse_date("20160630")
    with pytest.raises(DateError, match="'2016-02-30' is no day of the calendar"):
        parse_date("2016-02-30")


def test_unknown_subject_and_household(weishan: povrules.Ruleset) -> None:
    with pytest.raises(UnknownSubject, match="unknown subject 'hosehold' \\(did you mean 'household'\\?\\)"):
        povrules.parse_facts("{}", "hosehold")
    with pytest.raises(UnknownSubject, match="subjects: household, village, county"):
        povrules.facts_schema("town")
    household = povrules.parse_household('{"id": "H1"}')
    comparison = povrules.compare(weishan, weishan, [household], "identify_poor_household", as_of=date(2016, 6, 30))
    with pytest.raises(UnknownHousehold, match="the comparison has no household 'H2'"):
        comparison.pair("H2")
    with pytest.raises(UnknownName, match="unknown library 'excel' \\(library is 'pandas' or 'polars'\\)"):
        comparison.to_frame("excel")  # type: ignore[arg-type]


def test_usage_errors_name_the_argument(tmp_path: Path) -> None:
    from povrules.caseload import open_table, read_chunks

    with pytest.raises(UsageError, match="size: a chunk holds at least one item, not 0"):
        read_chunks(tmp_path / "x.jsonl", 0)
    with pytest.raises(UnknownName, match="unknown table format 'xlsx'"):
        open_table(tmp_path / "t.xlsx", format="xlsx")
    table = open_table(tmp_path / "t.csv")
    table.commit()
    with pytest.raises(UsageError, match="t.csv: the table is already committed"):
        table.write([])
    from povrules.audit import parse_head

    with pytest.raises(UsageError, match="expected a head as 'SEQ sha256:"):
        parse_head("12 md5:abc")


def test_evaluation_error_names_the_rule(weishan: povrules.Ruleset) -> None:
    """An error while a rule is evaluated names the rule and decision, in the message and as attributes."""
    rule = weishan.decision("identify_poor_household").criteria[0]
    variant = weishan.with_rule(rule, when="hh.income.total_net / (len(hh.members) - 1) > 1")
    household = povrules.parse_household('{"id": "H1", "members": [{}], "income": {"total_net": "100"}}')
    for traced in (True, False):
        with pytest.raises(EvaluationError) as info:
            povrules.evaluate(household, variant, "identify_poor_household", as_of=date(2016, 6, 30), trace=traced)
        assert info.value.rule == rule and info.value.decision == "identify_poor_household"
        assert str(info.value) == (
            f"rule {rule!r} of decision 'identify_poor_household': "
            "division by zero in 'hh.income.total_net / (len(hh.members) - 1)'"
        )
        again = pickle.loads(pickle.dumps(info.value))
        assert again.rule == rule and str(again) == str(info.value)
    # An error outside any rule names none.
    with pytest.raises(EvaluationError) as info:
        povrules.rank([household], weishan, "identify_poor_household", as_of=date(2016, 6, 30))
    assert info.value.rule is None and "not a ranking" in str(info.value)


def test_expression_problems_are_povrules_errors() -> None:
    from povrules.lang import CheckProblem, SyntaxProblem, parse

    with pytest.raises(PovrulesError) as info:
        parse("a +")
    assert isinstance(info.value, SyntaxProblem) and str(info.value).startswith("1:")
    assert "syntax error" in str(info.value)
    assert issubclass(CheckProblem, PovrulesError)


def test_docs_list_the_error_tree() -> None:
    """docs/getting-started.md's tree names every PovrulesError subclass of the package."""
    for name in ("povrules.batch", "povrules.reading", "povrules.canonical", "povrules.lifecycle", *PACKAGES):
        importlib.import_module(name)
    docs = (Path(__file__).parent.parent / "docs" / "getting-started.md").read_text(encoding="utf-8")
    tree = docs[docs.index("## Errors at a glance") :]

    def subclasses(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    missing = {
        cls.__name__
        for cls in subclasses(PovrulesError)
        if cls.__module__.startswith("povrules.") and cls.__name__ not in tree
    }
    assert not missing, f"errors the docs' tree does not name: {sorted(missing)}"
