"""Policy tests: YAML cases beside a ruleset, each stating the answer a decision must give.

A test file lives in ``rulesets/<ruleset>/tests/`` and holds named cases: facts
(whole, or a named template with values replaced at dotted paths), the
decision, the date, and what is expected: the outcome, and optionally the
reasons, the missing facts, or a ranking's order; or instead an evaluation
error whose message contains a given text. Loading checks everything it
can before any case runs, and every problem is a
:class:`~povrules.errors.RulesetError` at ``file:line:col``.

    cases = load_policy_tests("rulesets/")
    for case in cases:
        result = run_case(case)
        if not result.passed:
            print(result.message)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

import attrs

from povrules.citations import quote_problem, source_path
from povrules.engine import CONFLICT, NEEDS_DELIBERATION, RANKED, UNDETERMINED, evaluate, rank
from povrules.errors import EvaluationError, FactsError, Location, RulesetError
from povrules.facts import FactModel, Household, format_path, parse_facts, parse_path
from povrules.lang.checker import did_you_mean
from povrules.lifecycle import STATUSES, TransitionRefused, transition
from povrules.reading import MAX_SOURCE, MAX_YAML, NotUtf8, ReadError, read_bounded, read_text
from povrules.ruleset import Ruleset, load_ruleset
from povrules.ruleset.model import GRANTED, NO_AMOUNT, NOT_ELIGIBLE, Citation, DecisionSpec, Text, file_lines
from povrules.ruleset.yaml import YList, YMap, load_yaml, not_utf8

__all__ = [
    "EQUIVALENTS_FILE",
    "CaseResult",
    "Expectations",
    "PolicyCase",
    "case_citation_problems",
    "load_policy_file",
    "load_policy_tests",
    "policy_test_files",
    "run_case",
    "run_cases",
]

FILE_KEYS = frozenset({"ruleset", "decision", "as_of", "bases", "cases"})
CASE_KEYS = frozenset(
    {
        "name",
        "base",
        "set",
        "facts",
        "expect",
        "reasons",
        "missing",
        "decision",
        "as_of",
        "households",
        "expect_order",
        "not_eligible",
        "undetermined",
        "expect_error",
        "status",
        "cite",
        "amount",
        "amounts",
    }
)
SINGLE_KEYS = frozenset({"base", "set", "facts", "expect", "reasons", "missing", "status", "amount", "amounts"})
RANKING_KEYS = frozenset({"households", "expect_order", "not_eligible", "undetermined"})
# The expectations of an answer; a case that expects an evaluation error gives none of them.
ANSWER_KEYS = (
    "expect",
    "reasons",
    "missing",
    "status",
    "amount",
    "amounts",
    "expect_order",
    "not_eligible",
    "undetermined",
)
REFUSED = "refused"  # the ``status`` a case gives when it expects the transition to be refused
HOUSEHOLD_KEYS = frozenset({"id", "base", "set", "facts"})
TEST_SUFFIXES = (".yaml", ".yml")
# The file beside the test files that lists a ruleset's equivalent mutants (see povrules.mutate): not a test file.
EQUIVALENTS_FILE = "equivalent-mutants.yaml"
CITE_KEYS = frozenset({"source", "line", "lines", "quote"})
_KINDS = {
    "eligibility": "an eligibility decision",
    "table": "a decision table",
    "ranking": "a ranking",
    "amount": "an amount decision",
}


# What a case is, and what running it gives


@attrs.frozen
class Expectations:
    """What a case expects; ``None`` means "not checked".

    ``outcome`` is one label, or several for a COLLECT table. ``order`` holds
    the ranking's places, each a set of the household ids tied there.
    ``error`` is text the message of an :class:`~povrules.errors.EvaluationError`
    must contain; a case with ``error`` expects no answer, so the others are ``None``.
    ``status`` is the monitoring status the decision's transition leaves the
    household in, or ``refused``. ``amount`` is an amount decision's total; ``amounts`` each element's
    figure by its index (elements not listed must have none).
    """

    outcome: str | frozenset[str] | None = None
    reasons: frozenset[str] | None = None
    missing: frozenset[str] | None = None
    order: tuple[frozenset[str], ...] | None = None
    not_eligible: frozenset[str] | None = None
    undetermined: frozenset[str] | None = None
    error: str | None = None
    status: str | None = None
    amount: Decimal | None = None
    amounts: Mapping[int, Decimal] | None = None


@attrs.frozen(eq=False)
class PolicyCase:
    """One case of a policy test file, checked and ready to run.

    ``facts`` holds the validated facts of a single case; ``households`` the
    facts of each entry of a ranking case. Exactly one of them is set.
    ``citations`` are the clauses the case checks, each with the source's file
    (its quote is empty when the case gives none).
    """

    file: str
    line: int
    name: str
    ruleset: Ruleset
    decision: str
    as_of: date
    facts: FactModel | None
    households: tuple[FactModel, ...] | None
    expectations: Expectations
    citations: tuple[Citation, ...] = ()  # the lines of the ruleset's sources the case checks (``cite``)

    @property
    def id(self) -> str:
        """``<ruleset>/<file>::<case name>``: a name that stays the same wherever the files are checked out."""
        return f"{self.ruleset.id}/{Path(self.file).name}::{self.name}"

    @property
    def where(self) -> str:
        """``file:line`` of the case."""
        return file_lines(self.file, self.line)


@attrs.frozen(eq=False)
class CaseResult:
    """The outcome of running one case.

    ``expected`` and ``got`` describe what was checked (on a failure, the
    outcome and the parts that differ); ``explanation`` is the decision's (or
    the ranking's) explanation in Chinese and English.
    """

    case: PolicyCase
    passed: bool
    expected: str
    got: str
    message: str
    explanation: Text


# Finding test files


def policy_test_files(path: str | Path) -> list[Path]:
    """The test files under ``path``: a test file, a ruleset (file or folder), its ``tests/`` folder, or a folder
    of rulesets.

    A ruleset folder without tests gives none; a path that is none of these is an error.
    """
    path = Path(path)
    if path.is_file():
        return _yaml_files(path.parent / "tests") if path.name == "ruleset.yaml" else [path]
    if not path.is_dir():
        raise RulesetError(f"{path}: no such file or folder")
    if (path / "tests").is_dir() or (path / "ruleset.yaml").is_file():
        return _yaml_files(path / "tests")
    if path.name == "tests":
        return _yaml_files(path)
    children = sorted(child for child in path.iterdir() if child.is_dir())
    rulesets = [child for child in children if (child / "tests").is_dir() or (child / "ruleset.yaml").is_file()]
    if not rulesets:
        raise RulesetError(f"{path}: neither a ruleset folder (ruleset.yaml, tests/) nor a folder of them")
    return [file for child in rulesets for file in _yaml_files(child / "tests")]


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        file
        for file in folder.iterdir()
        if file.is_file() and file.suffix in TEST_SUFFIXES and file.name != EQUIVALENTS_FILE
    )


def load_policy_tests(path: str | Path) -> list[PolicyCase]:
    """Every case of every test file under ``path`` (see :func:`policy_test_files`), in file order."""
    return [case for file in policy_test_files(path) for case in load_policy_file(file)]


def load_policy_file(file: str | Path) -> list[PolicyCase]:
    """The cases of one test file, each checked against its ruleset."""
    return _FileLoader(Path(file)).load()


# Rulesets, loaded once per path (and again only if one of their files changed)

_RULESETS: dict[Path, tuple[tuple[tuple[str, int], ...], Ruleset]] = {}


def _stamp(files: Sequence[str]) -> tuple[tuple[str, int], ...]:
    stamps = []
    for name in files:
        try:
            stamps.append((name, os.stat(name).st_mtime_ns))
        except OSError:
            stamps.append((name, -1))
    return tuple(stamps)


def _ruleset_at(path: Path) -> Ruleset:
    key = path.resolve()
    cached = _RULESETS.get(key)
    if cached is not None and _stamp(cached[1].files) == cached[0]:
        return cached[1]
    ruleset = load_ruleset(path)
    _RULESETS[key] = (_stamp(ruleset.files), ruleset)
    return ruleset


# Set paths: dotted names, with [n] for list items


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, Decimal)):
        return "a number"
    if isinstance(value, date):
        return "a date"
    if value is None:
        return "null"
    return "text"


# Facts, composed with the place each value was written


def _unlocated(value: Any) -> Any:
    """Located YAML values → plain dicts and lists (a copy: templates are never changed)."""
    if isinstance(value, dict):
        return {key: _unlocated(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unlocated(item) for item in value]
    return value


def _record(places: dict[str, Location], prefix: str, value: Any) -> None:
    """Remember where each value below ``prefix`` was written."""
    if isinstance(value, YMap):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            places[path] = value.at(key)
            _record(places, path, item)
    elif isinstance(value, YList):
        for index, item in enumerate(value):
            path = f"{prefix}[{index}]"
            places[path] = value.item_locations[index]
            _record(places, path, item)


def _forget(places: dict[str, Location], prefix: str) -> None:
    for path in [p for p in places if p.startswith((prefix + ".", prefix + "["))]:
        del places[path]


def _place_of(places: dict[str, Location], path: str, fallback: Location) -> Location:
    """Where the value at ``path`` (or its nearest written parent) came from."""
    while path:
        if path in places:
            return places[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return fallback


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _date(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _shown(values: Any) -> str:
    return "[" + ", ".join(sorted(values)) + "]"


def _show_order(order: Sequence[frozenset[str]]) -> str:
    parts = [next(iter(group)) if len(group) == 1 else _shown(group) for group in order]
    return "[" + ", ".join(parts) + "]"


class _FileLoader:
    """One test file → checked cases. Every problem is raised at its ``file:line:col``."""

    def __init__(self, path: Path):
        self.path = path
        self.file = str(path)

    def fail(self, message: str, where: Location | None = None, hint: str | None = None) -> RulesetError:
        return RulesetError(message, where or Location(self.file, 1, 1), hint)

    def load(self) -> list[PolicyCase]:
        try:
            text = read_text(self.path, limit=MAX_YAML, what="a policy test file", name=self.file)
        except NotUtf8 as exc:
            raise not_utf8(exc) from None
        except ReadError as exc:
            raise RulesetError(str(exc)) from None
        doc = load_yaml(text, self.file)
        if not isinstance(doc, YMap):
            raise self.fail(
                "a policy test file is a mapping with 'cases' (and optionally ruleset, decision, as_of, bases)",
                getattr(doc, "location", None),
            )
        self.keys(doc, FILE_KEYS, "a policy test file")
        self.ruleset = self.load_ruleset(doc)
        self.default_decision = self.decision_name(doc, "decision", "the file") if "decision" in doc else None
        self.default_as_of = self.as_of(doc) if "as_of" in doc else None
        self.bases = self.load_bases(doc)
        cases = doc.get("cases")
        if not isinstance(cases, YList) or not cases:
            raise self.fail(
                "'cases' must be a list of cases, each with 'name' and 'expect'",
                doc.at("cases") if "cases" in doc else doc.location,
            )
        seen: dict[str, Location] = {}
        out = []
        for index, entry in enumerate(cases):
            if not isinstance(entry, YMap):
                raise self.fail("each case is a mapping with 'name' and 'expect'", cases.item_locations[index])
            case = self.case(entry, seen)
            if "cite" in entry:
                case = attrs.evolve(case, citations=self.citations(entry))
            out.append(case)
        return out

    # Small checks

    def keys(self, entry: YMap, allowed: frozenset[str], what: str) -> None:
        for key in entry:
            if key not in allowed:
                raise self.fail(
                    f"unknown key {key!r} in {what}",
                    entry.at(key),
                    did_you_mean(key, allowed) or "keys: " + ", ".join(sorted(allowed)),
                )

    def text(self, entry: YMap, key: str, what: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{what} needs '{key}' as text", entry.at(key) if key in entry else entry.location)
        return value

    def names(self, entry: YMap, key: str, what: str) -> list[str]:
        value = entry.get(key)
        if not isinstance(value, YList) or not all(isinstance(item, str) for item in value):
            raise self.fail(f"'{key}' of {what} must be a list of names", entry.at(key))
        for index, item in enumerate(value):
            if item in value[:index]:
                raise self.fail(f"{item!r} is listed twice in '{key}'", value.item_locations[index])
        return list(value)

    def as_of(self, entry: YMap) -> date:
        value = _date(entry.get("as_of"))
        if value is None:
            raise self.fail("'as_of' must be a date (YYYY-MM-DD)", entry.at("as_of"))
        return value

    def citations(self, entry: YMap) -> tuple[Citation, ...]:
        """``cite``: one {source, line | lines, quote?} or a list of them; each source one of the ruleset's."""
        value = entry["cite"]
        shape = "'cite' is {source: S003, line: 270} (or lines: [first, last]; quote optional), or a list of them"
        items = list(value) if isinstance(value, YList) else [value]
        places = value.item_locations if isinstance(value, YList) else [entry.at("cite")]
        if not items:
            raise self.fail(shape, entry.at("cite"))
        out = []
        for item, where in zip(items, places):
            if not isinstance(item, YMap):
                raise self.fail(shape, where)
            self.keys(item, CITE_KEYS, "a case's citation")
            key = item.get("source")
            if not isinstance(key, str) or key not in self.ruleset.sources:
                sources = self.ruleset.sources
                raise self.fail(
                    f"'source' of a case's citation must be one of the sources of ruleset "
                    f"{self.ruleset.id!r}" + (f", not {key!r}" if isinstance(key, str) else ""),
                    item.at("source") if "source" in item else where,
                    (did_you_mean(key, sources) if isinstance(key, str) else None)
                    or "sources: " + (", ".join(sources) or "none"),
                )
            if ("line" in item) == ("lines" in item):
                raise self.fail("a case's citation needs 'line: N' or 'lines: [first, last]' (one of them)", where)
            lines = item.get("line", item.get("lines"))
            if isinstance(lines, int) and _whole(lines):
                first = last = lines
            elif isinstance(lines, YList) and len(lines) == 2 and all(_whole(n) for n in lines):
                first, last = (int(n) for n in lines)
            else:
                raise self.fail(
                    "'line' is a line number; 'lines' is [first, last]", item.at("line" if "line" in item else "lines")
                )
            if not 1 <= first <= last:
                raise self.fail(
                    "cited lines must be positive and in order", item.at("line" if "line" in item else "lines")
                )
            quote = item.get("quote", "")
            if not isinstance(quote, str):
                raise self.fail("'quote' of a case's citation is text", item.at("quote"))
            out.append(Citation(self.ruleset.sources[key].file, first, last, quote, item.location))
        return tuple(out)

    # The file's header

    def load_ruleset(self, doc: YMap) -> Ruleset:
        if "ruleset" in doc:
            ref = doc["ruleset"]
            if not isinstance(ref, str) or not ref.strip():
                raise self.fail("'ruleset' is the path of the ruleset, relative to this file", doc.at("ruleset"))
            target = self.path.parent / ref
            where = doc.at("ruleset")
        elif self.path.parent.name == "tests":
            target, where = self.path.parent.parent, Location(self.file, 1, 1)
        else:
            raise self.fail(
                "this file is not in a ruleset's tests/ folder, so it needs 'ruleset:' (the path of "
                "the ruleset, relative to this file)",
                doc.location,
            )
        if not (target.is_file() or (target / "ruleset.yaml").is_file()):
            raise self.fail(f"no ruleset at {target} (a ruleset file, or a folder holding ruleset.yaml)", where)
        return _ruleset_at(target)

    def decision_name(self, entry: YMap, key: str, what: str) -> str:
        name = self.text(entry, key, what)
        if name not in self.ruleset.decisions:
            raise self.fail(
                f"ruleset {self.ruleset.id!r} has no decision {name!r}",
                entry.at(key),
                did_you_mean(name, self.ruleset.decisions) or "decisions: " + ", ".join(self.ruleset.decisions),
            )
        return name

    def load_bases(self, doc: YMap) -> YMap:
        bases = doc.get("bases")
        if bases is None:
            empty = YMap()
            empty.location, empty.key_locations, empty.nodes = doc.location, {}, {}
            return empty
        if not isinstance(bases, YMap):
            raise self.fail("'bases' maps template names to facts", doc.at("bases"))
        for name, facts in bases.items():
            if not isinstance(facts, YMap):
                raise self.fail(f"base {name!r} must be a mapping of facts", bases.at(name))
        return bases

    # Cases

    def case(self, entry: YMap, seen: dict[str, Location]) -> PolicyCase:
        self.keys(entry, CASE_KEYS, "a case")
        name = self.text(entry, "name", "each case")
        if name in seen:
            raise self.fail(f"duplicate case name {name!r} (first at line {seen[name].line})", entry.at("name"))
        seen[name] = entry.at("name")
        what = f"case {name!r}"
        if "decision" in entry:
            decision = self.decision_name(entry, "decision", "a case")
        elif self.default_decision is not None:
            decision = self.default_decision
        else:
            raise self.fail(f"{what} needs 'decision' (here or at the top of the file)", entry.location)
        if "as_of" in entry:
            as_of = self.as_of(entry)
        elif self.default_as_of is not None:
            as_of = self.default_as_of
        else:
            raise self.fail(f"{what} needs 'as_of' (here or at the top of the file)", entry.location)
        spec = self.ruleset.decision(decision)
        error = self.expected_error(entry) if "expect_error" in entry else None
        ranking_keys = [key for key in entry if key in RANKING_KEYS]
        if ranking_keys:
            return self.ranking_case(entry, name, spec, as_of, ranking_keys, error)
        if error is None and "expect" not in entry:
            raise self.fail(
                f"{what} needs 'expect' (or 'expect_error'; or, for a ranking, 'households' and 'expect_order')",
                entry.location,
            )
        facts = self.facts(entry, what, entry.location)
        if error is not None:
            return PolicyCase(
                self.file,
                entry.location.line,
                name,
                self.ruleset,
                decision,
                as_of,
                facts,
                None,
                Expectations(error=error),
            )
        expectations = Expectations(
            outcome=self.outcome(entry, spec),
            reasons=frozenset(self.reasons(entry, spec, what)) if "reasons" in entry else None,
            missing=frozenset(self.names(entry, "missing", what)) if "missing" in entry else None,
            status=self.status(entry, spec) if "status" in entry else None,
            amount=self.figure(entry, "amount", spec) if "amount" in entry else None,
            amounts=self.figures(entry, spec) if "amounts" in entry else None,
        )
        return PolicyCase(
            self.file, entry.location.line, name, self.ruleset, decision, as_of, facts, None, expectations
        )

    def expected_error(self, entry: YMap) -> str:
        """The text of ``expect_error``; an answer expected beside it is refused at the place of either key."""
        where = entry.at("expect_error")
        for key in ANSWER_KEYS:
            if key in entry:
                other = entry.at(key)
                first, second = sorted((other, where), key=lambda place: (place.line, place.column))
                raise self.fail(
                    f"'expect_error' and {key!r} in one case (lines {first.line} and {second.line}): "
                    "a case expects either an evaluation error or an answer",
                    second,
                    f"remove {key!r}, or make it a case of its own",
                )
        value = entry["expect_error"]
        if not isinstance(value, str) or not value.strip():
            raise self.fail("'expect_error' is the text the evaluation error's message must contain", where)
        return value

    def outcome(self, entry: YMap, spec: DecisionSpec) -> str | frozenset[str]:
        value = entry["expect"]
        known = self.outcomes_of(spec)
        collect = spec.kind == "table" and spec.hit_policy == "COLLECT"
        if isinstance(value, YList) and collect and value and all(isinstance(v, str) for v in value):
            labels = list(value)
            for index, label in enumerate(labels):
                if label not in known:
                    raise self.unknown_outcome(label, spec, known, value.item_locations[index])
            return frozenset(labels)
        if not isinstance(value, str) or not value.strip():
            extra = " (or, for this COLLECT table, a list of them)" if collect else ""
            raise self.fail(
                f"'expect' is an outcome of decision {spec.name!r}{extra}",
                entry.at("expect"),
                "outcomes: " + ", ".join(sorted(known)),
            )
        if collect:  # the engine's own form for several labels, "a+b", is accepted too
            labels = value.split("+")
            for label in labels:
                if label not in known:
                    raise self.unknown_outcome(label, spec, known, entry.at("expect"))
            return frozenset(labels)
        if value not in known:
            raise self.unknown_outcome(value, spec, known, entry.at("expect"))
        return value

    def figure(self, entry: YMap | Any, key: Any, spec: DecisionSpec, where: Location | None = None) -> Decimal:
        """An expected figure: a number, or a string holding one (``"6000.50"``), read exactly."""
        at = where or entry.at(key)
        if spec.kind != "amount":
            raise self.fail(f"decision {spec.name!r} is not an amount: a case cannot expect an amount", at)
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise self.fail(f'{key!r} is a number (or a string holding one, e.g. "6000.50")', at)
        try:
            return Decimal(value) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise self.fail(
                f'{key!r} is a number (or a string holding one, e.g. "6000.50"), not {value!r}', at
            ) from None

    def figures(self, entry: YMap, spec: DecisionSpec) -> dict[int, Decimal]:
        """``amounts: {0: "75", 2: "95"}``: each element's expected figure by its index."""
        node = entry["amounts"]
        if spec.kind != "amount" or spec.amount is None or spec.amount.per is None:
            raise self.fail(
                f"decision {spec.name!r} is not answered per element: 'amounts' needs a decision with 'per'",
                entry.at("amounts"),
            )
        if not isinstance(node, YMap):
            raise self.fail(
                '\'amounts\' maps an element\'s index to its figure, e.g. {0: "75", 2: "95"}', entry.at("amounts")
            )
        out: dict[int, Decimal] = {}
        for key in node:
            index = int(key) if isinstance(key, str) and key.isdigit() else key
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise self.fail(f"a key of 'amounts' is an element's index (0, 1 …), not {key!r}", node.at(key))
            out[index] = self.figure(node, key, spec, node.at(key))
        return out

    def status(self, entry: YMap, spec: DecisionSpec) -> str:
        """The monitoring status expected after the decision's transition, or ``refused``."""
        if spec.transition is None:
            raise self.fail(
                f"decision {spec.name!r} declares no 'transition', so a case cannot expect a status", entry.at("status")
            )
        value = entry["status"]
        allowed = (*STATUSES, REFUSED)
        if value not in allowed:
            raise self.fail(
                f"'status' is a monitoring status or {REFUSED!r}, not {value!r}",
                entry.at("status"),
                (did_you_mean(value, allowed) if isinstance(value, str) else None) or "statuses: " + ", ".join(allowed),
            )
        return str(value)

    def unknown_outcome(self, label: str, spec: DecisionSpec, known: set[str], where: Location) -> RulesetError:
        return self.fail(
            f"decision {spec.name!r} has no outcome {label!r}",
            where,
            did_you_mean(label, known) or "outcomes: " + ", ".join(sorted(known)),
        )

    def outcomes_of(self, spec: DecisionSpec) -> set[str]:
        rules = self.ruleset.rules
        if spec.kind == "eligibility":
            found = {spec.yes, spec.no, NEEDS_DELIBERATION, CONFLICT}
            found |= {outcome for r in spec.exceptions if (outcome := rules[r].outcome)}
        elif spec.kind == "table":
            found = {outcome for r in spec.rows if (outcome := rules[r].outcome)} | {spec.default}
            if spec.hit_policy == "UNIQUE":
                found.add(CONFLICT)
        elif spec.kind == "amount":
            found = {GRANTED, NO_AMOUNT} | ({NOT_ELIGIBLE} if spec.amount and spec.amount.gate_decision else set())
        else:
            found = {RANKED}
        return found | {UNDETERMINED}

    def reasons(self, entry: YMap, spec: DecisionSpec, what: str) -> list[str]:
        reasons = self.names(entry, "reasons", what)
        node = entry["reasons"]
        for index, rule_id in enumerate(reasons):
            if rule_id not in spec.rule_ids:
                raise self.fail(
                    f"{rule_id!r} is not a rule of decision {spec.name!r}",
                    node.item_locations[index],
                    did_you_mean(rule_id, spec.rule_ids) or "rules: " + ", ".join(spec.rule_ids),
                )
        return reasons

    def facts(self, entry: YMap, what: str, fallback: Location, household_id: str | None = None) -> Any:
        """Compose and validate the facts of a case or of a ranking entry."""
        places: dict[str, Location] = {}
        if "facts" in entry and "base" in entry:
            raise self.fail(f"{what} gives both 'facts' and 'base'; give one", entry.at("facts"))
        if "facts" in entry:
            given = entry["facts"]
            if not isinstance(given, YMap):
                raise self.fail(f"'facts' of {what} must be a mapping of facts", entry.at("facts"))
            facts, origin = _unlocated(given), entry.at("facts")
            _record(places, "", given)
        elif "base" in entry:
            base = entry["base"]
            if not isinstance(base, str) or base not in self.bases:
                raise self.fail(
                    f"unknown base {base!r}" if isinstance(base, str) else "'base' names a template of 'bases'",
                    entry.at("base"),
                    (did_you_mean(base, self.bases) if isinstance(base, str) else None)
                    or ("bases: " + ", ".join(self.bases) if self.bases else "the file has no 'bases'"),
                )
            facts, origin = _unlocated(self.bases[base]), entry.at("base")
            _record(places, "", self.bases[base])
        else:
            facts, origin = {}, fallback
        if household_id is not None:
            facts["id"] = household_id
            places["id"] = entry.at("id")
        if "set" in entry:
            self.apply_set(entry, facts, places, what)
        subject = self.ruleset.subject
        try:
            return parse_facts(facts, subject)
        except FactsError as exc:
            first = exc.problems[0]
            where = _place_of(places, first.path, origin)
            problems = "; ".join(str(p) for p in exc.problems)
            raise self.fail(f"{what}: invalid {subject} facts: {problems}", where) from None

    def apply_set(self, entry: YMap, facts: dict[str, Any], places: dict[str, Location], what: str) -> None:
        changes = entry["set"]
        if not isinstance(changes, YMap):
            raise self.fail(f"'set' of {what} maps dotted paths to values (members[0].age: 70)", entry.at("set"))
        for text, value in changes.items():
            where = changes.at(text)
            steps = parse_path(text)
            if steps is None:
                raise self.fail(
                    f"{text!r} is not a path: names joined by dots, with [n] for list items "
                    "(income.per_capita_net, members[0].age)",
                    where,
                )
            container: Any = facts
            for depth, step in enumerate(steps):
                last = depth == len(steps) - 1
                here = format_path(steps[:depth]) or "the facts"
                if isinstance(step, str):
                    if not isinstance(container, dict):
                        raise self.fail(
                            f"'set' path {text!r} does not fit: {here} is {_kind(container)}, "
                            f"not an object, so it has no field {step!r}",
                            where,
                        )
                    if last:
                        container[step] = _unlocated(value)
                    else:
                        if container.get(step) is None:  # a missing parent is created
                            container[step] = [] if isinstance(steps[depth + 1], int) else {}
                        container = container[step]
                else:
                    if not isinstance(container, list):
                        raise self.fail(
                            f"'set' path {text!r} does not fit: {here} is {_kind(container)}, "
                            f"not a list, so it has no item [{step}]",
                            where,
                        )
                    if step > len(container):
                        raise self.fail(
                            f"'set' path {text!r} does not fit: {here} has {len(container)} item(s), "
                            f"so [{step}] is past its end ([{len(container)}] adds an item)",
                            where,
                        )
                    if step == len(container):
                        container.append(None)
                    if last:
                        container[step] = _unlocated(value)
                    else:
                        if container[step] is None:
                            container[step] = [] if isinstance(steps[depth + 1], int) else {}
                        container = container[step]
            path = format_path(steps)
            _forget(places, path)
            places[path] = where
            _record(places, path, value)

    def ranking_case(
        self, entry: YMap, name: str, spec: DecisionSpec, as_of: date, ranking_keys: list[str], error: str | None = None
    ) -> PolicyCase:
        what = f"case {name!r}"
        if spec.kind != "ranking":
            key = ranking_keys[0]
            raise self.fail(
                f"{key!r} is for a ranking decision; {spec.name!r} is {_KINDS[spec.kind]}",
                entry.at(key),
                "use 'expect' (and base/set or facts) for a single household",
            )
        stray = [key for key in entry if key in SINGLE_KEYS]
        if stray:
            raise self.fail(
                f"a ranking case lists its households under 'households', so {stray[0]!r} does not belong here",
                entry.at(stray[0]),
                "put base/set/facts in each household entry",
            )
        if "households" not in entry:
            raise self.fail(f"{what} needs 'households': the list of households to rank", entry.location)
        if error is None and not any(key in entry for key in ("expect_order", "not_eligible", "undetermined")):
            raise self.fail(
                f"{what} needs 'expect_order' (or 'not_eligible' / 'undetermined', or 'expect_error')", entry.location
            )
        listed = entry["households"]
        if not isinstance(listed, YList) or not listed:
            raise self.fail("'households' is a list of entries, each {id, base?, set?, facts?}", entry.at("households"))
        households: list[FactModel] = []
        ids: dict[str, Location] = {}
        for index, item in enumerate(listed):
            where = listed.item_locations[index]
            if not isinstance(item, YMap):
                raise self.fail("each household is a mapping {id, base?, set?, facts?}", where)
            self.keys(item, HOUSEHOLD_KEYS, "a household entry")
            hid = item.get("id")
            if not isinstance(hid, str) or not hid.strip():
                raise self.fail("each household needs 'id' as text", item.at("id") if "id" in item else where)
            if hid in ids:
                raise self.fail(f"duplicate household id {hid!r} (first at line {ids[hid].line})", item.at("id"))
            ids[hid] = item.at("id")
            households.append(self.facts(item, f"household {hid!r} of {what}", where, household_id=hid))
        order = self.order(entry, ids) if "expect_order" in entry else None
        not_eligible = self.id_set(entry, "not_eligible", ids, what)
        undetermined = self.id_set(entry, "undetermined", ids, what)
        if not_eligible is not None and spec.among_decision is None:
            raise self.fail(
                f"decision {spec.name!r} has no 'among' gate, so no household is left out as not eligible",
                entry.at("not_eligible"),
            )
        placed = set().union(*order) if order else set()
        for key, group in (("not_eligible", not_eligible), ("undetermined", undetermined)):
            both = placed & (group or set())
            if both:
                raise self.fail(f"{min(both)!r} is both in 'expect_order' and in {key!r}", entry.at(key))
        if not_eligible and undetermined and not_eligible & undetermined:
            raise self.fail(
                f"{min(not_eligible & undetermined)!r} is both not eligible and undetermined", entry.at("undetermined")
            )
        expectations = Expectations(order=order, not_eligible=not_eligible, undetermined=undetermined, error=error)
        return PolicyCase(
            self.file, entry.location.line, name, self.ruleset, spec.name, as_of, None, tuple(households), expectations
        )

    def order(self, entry: YMap, ids: dict[str, Location]) -> tuple[frozenset[str], ...]:
        value = entry["expect_order"]
        shape = "'expect_order' is a list of household ids; a nested list is a group tied at one place"
        if not isinstance(value, YList) or not value:
            raise self.fail(shape, entry.at("expect_order"))
        groups: list[frozenset[str]] = []
        seen: set[str] = set()
        for index, item in enumerate(value):
            where = value.item_locations[index]
            members = list(item) if isinstance(item, YList) else [item]
            if not members or not all(isinstance(m, str) for m in members):
                raise self.fail(shape, where)
            for member in members:
                if member not in ids:
                    raise self.fail(
                        f"no household {member!r} in this case",
                        where,
                        did_you_mean(member, ids) or "households: " + ", ".join(ids),
                    )
                if member in seen:
                    raise self.fail(f"household {member!r} is placed twice in 'expect_order'", where)
                seen.add(member)
            groups.append(frozenset(members))
        return tuple(groups)

    def id_set(self, entry: YMap, key: str, ids: dict[str, Location], what: str) -> frozenset[str] | None:
        if key not in entry:
            return None
        names = self.names(entry, key, what)
        node = entry[key]
        for index, member in enumerate(names):
            if member not in ids:
                raise self.fail(
                    f"no household {member!r} in this case",
                    node.item_locations[index],
                    did_you_mean(member, ids) or "households: " + ", ".join(ids),
                )
        return frozenset(names)


# Running


def run_case(case: PolicyCase) -> CaseResult:
    """Evaluate one case and compare what the ruleset gives with what the case expects.

    A case with ``expect_error`` passes when the evaluation raises an
    :class:`~povrules.errors.EvaluationError` whose message contains that text, and
    fails when it raises another one or gives an answer.
    """
    try:
        if case.households is not None:
            return _run_ranking(case)
        return _run_single(case)
    except EvaluationError as exc:
        got = f"an evaluation error ({exc})"
        expected = _describe_expected(case.expectations) or "a decision"
        wanted = case.expectations.error
        passed = wanted is not None and wanted in str(exc)
        verdict = "passed" if passed else f"expected {expected}, got {got}"
        return CaseResult(case, passed, expected, got, f"{case.where}: {case.name}: {verdict}", Text("", ""))


def run_cases(cases: Sequence[PolicyCase]) -> list[CaseResult]:
    return [run_case(case) for case in cases]


def _describe_expected(e: Expectations) -> str:
    parts = []
    if e.error is not None:
        parts.append(f"an evaluation error containing {e.error!r}")
    if e.outcome is not None:
        parts.append(e.outcome if isinstance(e.outcome, str) else _shown(e.outcome))
    if e.reasons is not None:
        parts.append(f"reasons {_shown(e.reasons)}")
    if e.missing is not None:
        parts.append(f"missing {_shown(e.missing)}")
    if e.order is not None:
        parts.append(f"order {_show_order(e.order)}")
    if e.not_eligible is not None:
        parts.append(f"not_eligible {_shown(e.not_eligible)}")
    if e.undetermined is not None:
        parts.append(f"undetermined {_shown(e.undetermined)}")
    if e.status is not None:
        parts.append(f"status {e.status}")
    if e.amount is not None:
        parts.append(f"amount {e.amount}")
    if e.amounts is not None:
        parts.append(f"amounts {_show_figures(e.amounts)}")
    return "; ".join(parts)


def _show_figures(figures: Mapping[int, Decimal | None]) -> str:
    return "{" + ", ".join(f"{i}: {v}" for i, v in sorted(figures.items())) + "}"


def _result(case: PolicyCase, checks: list[tuple[str, str, str, bool]], explanation: Text) -> CaseResult:
    """``checks``: (what, expected, got, is_the_outcome) for each thing the case checks."""
    wrong = [check for check in checks if check[1] != check[2]]
    shown = checks if not wrong else [c for c in checks if c[3] or c[1] != c[2]]
    expected = "; ".join(c[1] if c[3] else f"{c[0]} {c[1]}" for c in shown)
    got = "; ".join(c[2] if c[3] else f"{c[0]} {c[2]}" for c in shown)
    verdict = "passed" if not wrong else f"expected {expected}, got {got}"
    return CaseResult(case, not wrong, expected, got, f"{case.where}: {case.name}: {verdict}", explanation)


def _answered(case: PolicyCase, got: str, explanation: Text) -> CaseResult:
    """A case that expected an evaluation error got an answer instead."""
    expected = _describe_expected(case.expectations)
    got = f"no evaluation error but {got}"
    return CaseResult(
        case, False, expected, got, f"{case.where}: {case.name}: expected {expected}, got {got}", explanation
    )


def _run_single(case: PolicyCase) -> CaseResult:
    facts = case.facts
    if facts is None:
        raise ValueError(f"{case.where}: a single case without facts")  # PolicyFile builds none
    decision = evaluate(facts, case.ruleset, case.decision, as_of=case.as_of)
    e = case.expectations
    if e.error is not None:
        return _answered(case, f"the outcome {decision.outcome}", Text(decision.explain("zh"), decision.explain("en")))
    checks: list[tuple[str, str, str, bool]] = []
    if isinstance(e.outcome, frozenset):  # a COLLECT table: the labels, in any order
        checks.append(("outcome", _shown(e.outcome), _shown(set(decision.labels)), True))
    elif e.outcome is not None:
        checks.append(("outcome", e.outcome, decision.outcome, True))
    if e.reasons is not None:
        checks.append(("reasons", _shown(e.reasons), _shown(set(decision.reasons)), False))
    if e.missing is not None:
        checks.append(("missing", _shown(e.missing), _shown(set(decision.missing)), False))
    if e.status is not None:
        try:
            # Any subject: transition refuses one whose decision moves no monitoring status.
            after = transition(cast(Household, facts), case.ruleset, case.decision, as_of=case.as_of).after
        except TransitionRefused as exc:
            after = f"{REFUSED} ({exc})" if e.status != REFUSED else REFUSED
        checks.append(("status", e.status, after, False))
    if e.amount is not None or e.amounts is not None:
        got = decision.amount
        if e.amount is not None:
            total = got.total if got is not None else None
            same = total is not None and total == e.amount
            checks.append(("amount", str(e.amount), str(e.amount) if same else str(total), False))
        if e.amounts is not None:
            given = {i: v for i, v in (got.by_index if got is not None else {}).items() if v != 0}
            wanted = {i: v for i, v in e.amounts.items() if v != 0}
            same = given.keys() == wanted.keys() and all(given[i] == wanted[i] for i in wanted)
            shown = _show_figures(wanted)
            checks.append(("amounts", shown, shown if same else _show_figures(given), False))
    return _result(case, checks, Text(decision.explain("zh"), decision.explain("en")))


def _run_ranking(case: PolicyCase) -> CaseResult:
    households = case.households
    if households is None:
        raise ValueError(f"{case.where}: a ranking case without households")  # PolicyFile builds none
    ranking = rank(households, case.ruleset, case.decision, as_of=case.as_of)
    e = case.expectations
    groups: list[set[str]] = []
    last = None
    for entry in ranking.entries:
        if entry.position == last:
            groups[-1].add(entry.household)
        else:
            groups.append({entry.household})
            last = entry.position
    order = _show_order([frozenset(g) for g in groups])
    if e.error is not None:
        return _answered(case, f"the order {order}", Text(ranking.explain("zh"), ranking.explain("en")))
    checks: list[tuple[str, str, str, bool]] = []
    if e.order is not None:
        checks.append(("order", _show_order(e.order), order, False))
    if e.not_eligible is not None:
        checks.append(
            ("not_eligible", _shown(e.not_eligible), _shown({d.household.id for d in ranking.not_eligible}), False)
        )
    if e.undetermined is not None:
        checks.append(
            ("undetermined", _shown(e.undetermined), _shown({d.household.id for d in ranking.undetermined}), False)
        )
    return _result(case, checks, Text(ranking.explain("zh"), ranking.explain("en")))


# Citations of cases, checked against the sources (``povrules lint --sources``)


def case_citation_problems(cases: Sequence[PolicyCase], sources: Path) -> list[str]:
    """``file:line: case 'name': problem`` for each case citation whose lines are not in its source file
    under ``sources`` (or whose quote, when given, is not found at them)."""
    texts: dict[str, list[str] | str] = {}
    problems: list[str] = []
    for case in cases:
        for citation in case.citations:
            if citation.file not in texts:
                path = source_path(sources, citation.file)
                if path is None or not path.is_file():
                    texts[citation.file] = f"no source file {citation.file} in {sources}"
                else:
                    try:
                        texts[citation.file] = (
                            read_bounded(path, limit=MAX_SOURCE, what="a cited source").decode("utf-8").splitlines()
                        )
                    except (ReadError, UnicodeDecodeError) as exc:
                        texts[citation.file] = f"source file {citation.file} cannot be read ({exc})"
            lines = texts[citation.file]
            where = f"{case.where}: case {case.name!r}: {citation}"
            if isinstance(lines, str):
                problems.append(f"{where}: {lines}")
                continue
            problem = quote_problem(citation, lines)  # a case's citation without a quote: only its lines must exist
            if problem is not None:
                at = f"{citation.location}: " if citation.location else ""
                problems.append(f"{at}{where}: {problem}")
    return problems
