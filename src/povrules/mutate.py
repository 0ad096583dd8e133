"""Ruleset mutation testing: can the policy tests see a change to the ruleset?

Each *mutant* is a ruleset with one small change to what its author wrote: a number or a date one
unit off, a comparator moved to its neighbour, ``and`` for ``or``, a ``not`` dropped, an element of a
list taken out, an exception or a table row dropped. The change is made in the resolved definition
(located YAML values), at the exact place the parser reports for the changed part of an expression,
and the ruleset is built again by the loader's builder: text is parsed and checked, never executed.
A mutant is run against the policy tests of its ruleset and of every ruleset extending it; it is

* **killed** when some case fails (or raises),
* **stillborn** when the changed ruleset does not build (not counted in the score),
* **equivalent** when it survives and the ruleset's ``tests/equivalent-mutants.yaml`` lists it with why
  no test can tell it apart, and
* a **survivor** otherwise.

    report = mutate(["rulesets/"])
    for mutant in report.survivors():
        print(mutant)

Each mutant has a stable ``key`` (its element, its place inside the element, and the change), by which
the equivalents file names it; see docs/policy-tests.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import yaml

from povrules.errors import Location, RulesetError
from povrules.lang import ast
from povrules.lang.parser import SyntaxProblem, parse
from povrules.policytest import EQUIVALENTS_FILE, PolicyCase, load_policy_file, policy_test_files, run_case
from povrules.processes import cores, start_context
from povrules.reading import MAX_YAML, ReadError, read_bounded
from povrules.ruleset import Ruleset, load_ruleset
from povrules.ruleset.loader import RulesetBuilder
from povrules.ruleset.yaml import YList, YMap, expression_location, load_yaml, location

__all__ = [
    "EQUIVALENT",
    "KILLED",
    "STILLBORN",
    "SURVIVED",
    "Equivalent",
    "Mutant",
    "MutationReport",
    "Outcome",
    "applies",
    "build_mutant",
    "changed_rulesets",
    "load_equivalents",
    "mutants_of",
    "mutate",
    "parameters_read",
    "report_json",
    "report_text",
]

KILLED, SURVIVED, EQUIVALENT, STILLBORN = "killed", "survived", "equivalent", "stillborn"

# Comparators and their neighbours: a boundary moved by one (< ↔ <=, > ↔ >=) or the test negated.
NEIGHBOURS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "in": "not in", "not_in": "in"}
_OP_TOKEN = {"not_in": r"not\s+in", "in": r"\bin\b"}
MONEY_UNIT = "元"  # a parameter whose unit names 元 moves by one 元, whatever places it is written to


# What a mutant is


@attrs.frozen
class Mutant:
    """One change to one ruleset file.

    ``key`` names the mutant within its ruleset (``rule low_income: compare#0 < → <=``); ``path`` leads
    from the resolved definition to the value that changes, ``value`` is the new value and ``original``
    the one it replaces (a mutant applies to a ruleset extending this one only where that ruleset still
    holds the original).
    """

    key: str
    ruleset: str
    element: str
    operator: str
    before: str
    after: str
    location: Location
    path: tuple[str | int, ...] = attrs.field(repr=False)
    value: Any = attrs.field(repr=False)
    original: Any = attrs.field(repr=False)

    def __str__(self) -> str:
        return f"{self.location}: {self.operator}: {self.before} → {self.after}  ({self.element})"


@attrs.frozen
class Outcome:
    """What running one mutant gave: its status and, when killed, the first case that failed (or, when
    stillborn, why the ruleset did not build)."""

    mutant: Mutant
    status: str
    detail: str = ""
    why: str = ""  # for an equivalent mutant: the reason its entry gives


@attrs.frozen
class Equivalent:
    """An entry of ``tests/equivalent-mutants.yaml``: a mutant key and why no test can tell it apart."""

    ruleset: str
    key: str
    why: str
    location: Location


@attrs.frozen
class MutationReport:
    """Every mutant's outcome, the stale equivalents entries, and the parameters left unmutated."""

    outcomes: tuple[Outcome, ...]
    stale: tuple[tuple[Equivalent, str], ...]  # (entry, why it is stale)
    unread: tuple[tuple[str, str], ...]  # (ruleset, parameter) read by no rule nor derived fact
    rulesets: tuple[str, ...]
    seconds: float
    baseline_failures: tuple[str, ...] = ()

    def survivors(self) -> list[Outcome]:
        """Survivors not listed as equivalent, sorted by place."""
        return sorted((o for o in self.outcomes if o.status == SURVIVED), key=lambda o: _place(o.mutant))

    def counts(self, ruleset: str | None = None) -> dict[str, int]:
        """``total``, ``killed``, ``survived``, ``equivalent``, ``stillborn`` for one ruleset or all."""
        chosen = [o for o in self.outcomes if ruleset is None or o.mutant.ruleset == ruleset]
        out = {"total": len(chosen)}
        for status in (KILLED, SURVIVED, EQUIVALENT, STILLBORN):
            out[status] = sum(1 for o in chosen if o.status == status)
        return out

    def score(self, ruleset: str | None = None) -> float:
        """killed / (total − stillborn), in percent; 100 when no mutant lived to be run."""
        c = self.counts(ruleset)
        alive = c["total"] - c[STILLBORN]
        return 100.0 * c[KILLED] / alive if alive else 100.0

    def failed(self, min_score: float) -> bool:
        return bool(self.survivors() or self.stale or self.baseline_failures or self.score() < min_score)


def _place(mutant: Mutant) -> tuple[str, int, int, str]:
    return (mutant.location.file, mutant.location.line, mutant.location.column, mutant.key)


# Finding mutants


def _file(name: str) -> str:
    """A ruleset file's name as shown: ``a/b/../c/ruleset.yaml`` → ``a/c/ruleset.yaml``."""
    return os.path.normpath(name)


def _step(value: int | Decimal, unit: str | None) -> int | Decimal:
    """One unit of a written number: 1 for a whole number or an amount in 元; else its last written decimal
    place, at least hundredths (0.7 moves by 0.01, 0.125 by 0.001)."""
    if isinstance(value, int):
        return 1
    if unit is not None and MONEY_UNIT in unit:
        return Decimal(1)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # a parameter's value is finite
    if exponent >= 0:
        return Decimal(1)
    return Decimal(1).scaleb(min(exponent, -2))


def _number_text(value: int | Decimal) -> str:
    text = str(value)
    return f"({text})" if text.startswith("-") else text


def _shown(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


class _Finder:
    """The mutants of one ruleset's own file (not of the files it extends: those are their rulesets')."""

    def __init__(self, ruleset: Ruleset, read: set[str]):
        self.ruleset = ruleset
        self.file = ruleset.files[0]
        self.shown = _file(self.file)
        self.read = read
        self.out: list[Mutant] = []

    def own(self, section: YMap, key: str) -> bool:
        return _file(section.at(key).file) == self.shown

    def find(self) -> list[Mutant]:
        d = self.ruleset.definition
        for name, entry in _section(d, "parameters").items():
            if self.own(d["parameters"], name) and name in self.read and isinstance(entry, YMap):
                self.parameter(name, entry)
        for name, entry in _section(d, "derived").items():
            if self.own(d["derived"], name) and isinstance(entry, YMap) and isinstance(entry.get("expr"), str):
                self.expression(("derived", name, "expr"), entry, "expr", f"derived {name}", f"derived {name}")
                self.requirements(name, entry)
        for rule_id, entry in _section(d, "rules").items():
            if not (self.own(d["rules"], rule_id) and isinstance(entry, YMap)):
                continue
            for field in ("when", "amount"):  # an amount row's figure is mutated as its condition is
                if isinstance(entry.get(field), str):
                    prefix = f"rule {rule_id}" if field == "when" else f"rule {rule_id} amount"
                    self.expression(("rules", rule_id, field), entry, field, f"rule {rule_id}", prefix)
        for name, entry in _section(d, "decisions").items():
            if self.own(d["decisions"], name) and isinstance(entry, YMap):
                self.decision(name, entry)
        keys: dict[str, int] = {}
        unique = []
        for mutant in self.out:  # two identical changes in one element (a value listed twice) stay apart
            keys[mutant.key] = keys.get(mutant.key, 0) + 1
            unique.append(
                mutant if keys[mutant.key] == 1 else attrs.evolve(mutant, key=f"{mutant.key} ({keys[mutant.key]})")
            )
        return unique

    def add(
        self,
        key: str,
        element: str,
        operator: str,
        before: str,
        after: str,
        where: Location,
        path: tuple[str | int, ...],
        value: Any,
        original: Any,
    ) -> None:
        where = Location(_file(where.file), where.line, where.column)
        self.out.append(Mutant(key, self.ruleset.id, element, operator, before, after, where, path, value, original))

    # Parameters

    def parameter(self, name: str, entry: YMap) -> None:
        values = entry.get("values")
        if not isinstance(values, YList):
            return
        unit = entry.get("unit") if isinstance(entry.get("unit"), str) else None
        element = f"parameter {name}"
        for index, item in enumerate(values):
            if not isinstance(item, YMap) or "value" not in item:
                continue
            value, start = item["value"], item.get("from")
            path = ("parameters", name, "values", index, "value")
            prefix = f"parameter {name} from {start}"
            node = item.nodes["value"]
            where = location(item.location.file, node.start_mark)
            if isinstance(value, (bool, str)):
                continue
            if isinstance(value, (int, Decimal)):
                step = _step(value, unit)
                for sign, new in (("+", value + step), ("-", value - step)):
                    self.add(
                        f"{prefix}: {sign}{step}", element, "number", str(value), str(new), where, path, new, value
                    )
            elif isinstance(value, date) and not isinstance(value, datetime):
                for sign, day in (("+", value + timedelta(days=1)), ("-", value - timedelta(days=1))):
                    self.add(f"{prefix}: {sign}1 day", element, "date", str(value), str(day), where, path, day, value)
            elif isinstance(value, YList):
                for position, member in enumerate(value):
                    rest = _without(value, position)
                    self.add(
                        f"{prefix}: remove {member}",
                        element,
                        "remove-element",
                        _shown(value),
                        _shown(rest),
                        value.item_locations[position],
                        path,
                        rest,
                        value,
                    )

    # Requirements of a derived figure

    def requirements(self, name: str, entry: YMap) -> None:
        """Each requirement's condition mutated, and each requirement dropped (the figure then computed
        without it)."""
        listed = entry.get("requires")
        if not isinstance(listed, YList):
            return
        for index, item in enumerate(listed):
            if isinstance(item, YMap) and isinstance(item.get("expr"), str):
                element = f"derived {name} requires[{index}]"
                self.expression(("derived", name, "requires", index, "expr"), item, "expr", element, element)
        for index, item in enumerate(listed):
            rest = _without(listed, position=index)
            # A derived figure with no requirement has no 'requires' (an empty list is refused).
            changed = _replace(entry, ("requires",), rest) if rest else _dropped(entry, "requires")
            text = item.get("expr") if isinstance(item, YMap) else None
            self.add(
                f"derived {name}: drop requirement {index}",
                f"derived {name}",
                "drop-requirement",
                str(text),
                "(dropped)",
                listed.item_locations[index],
                ("derived", name),
                changed,
                entry,
            )

    # Decisions

    def decision(self, name: str, entry: YMap) -> None:
        kind = entry.get("kind")
        if kind == "amount":
            for field in ("cap", "floor"):
                if isinstance(entry.get(field), str):
                    element = f"decision {name}"
                    self.expression(("decisions", name, field), entry, field, element, f"{element} {field}")
                    self.add(
                        f"decision {name}: drop {field}",
                        element,
                        f"drop-{field}",
                        str(entry[field]),
                        "(dropped)",
                        entry.at(field),
                        ("decisions", name),
                        _dropped(entry, field),
                        entry,
                    )
        role = (
            {
                "eligibility": ("exceptions", "drop-exception", "exception"),
                "table": ("rows", "drop-row", "row"),
                "amount": ("rows", "drop-row", "row"),
            }.get(kind)
            if isinstance(kind, str)
            else None
        )
        if role is None:
            return
        key, operator, what = role
        listed = entry.get(key)
        if not isinstance(listed, YList):
            return
        rules = _section(self.ruleset.definition, "rules")
        for position, rule_id in enumerate(listed):
            rest = _without(listed, position)
            changed = _replace(entry, (key,), rest)
            transition = entry.get("transition")
            on = transition.get("on") if isinstance(transition, YMap) else None
            if isinstance(on, YMap):
                # An outcome only the dropped rule gave leaves the transition: the decision never gives it now,
                # and the builder refuses a transition for an outcome never given (the mutant would be stillborn).
                outcomes = {entry.get("default")} | {v for v in _section(entry, "outcomes").values()}
                outcomes |= {rules[r].get("outcome") for r in rest if isinstance(rules.get(r), YMap)}
                dead = [outcome for outcome in on if outcome not in outcomes]
                if dead:
                    kept = YMap({k: v for k, v in on.items() if k not in dead})
                    kept.location = on.location
                    kept.key_locations = {k: v for k, v in on.key_locations.items() if k not in dead}
                    kept.nodes = {k: v for k, v in on.nodes.items() if k not in dead}
                    changed = _replace(changed, ("transition", "on"), kept)
            self.add(
                f"decision {name}: drop {what} {rule_id}",
                f"decision {name}",
                operator,
                _shown(listed),
                _shown(rest),
                listed.item_locations[position],
                ("decisions", name),
                changed,
                entry,
            )

    # Expressions

    def expression(self, path: tuple[str | int, ...], entry: YMap, field: str, element: str, prefix: str) -> None:
        text: str = entry[field]  # an expression the ruleset loaded: text
        try:
            tree = parse(text)
        except SyntaxProblem:
            return  # the ruleset loaded, so this cannot happen; a mutant of nothing is no mutant
        node = entry.nodes[field]
        file = entry.at(field).file
        lines = list(self.ruleset.lines.get(file, []))
        places = _Offsets(text)

        def where(line: int, column: int) -> Location:
            found = _block_position(lines, node, places.offset(line, column))
            if found is not None:
                return Location(file, *found)
            return expression_location(file, lines, node, line, column)

        def splice(start: int, end: int, new: str) -> str:
            return text[:start] + new + text[end:]

        counters: dict[str, int] = {}

        def count(kind: str) -> int:
            counters[kind] = counters.get(kind, 0) + 1
            return counters[kind] - 1

        for part in ast.walk(tree):
            if isinstance(part, ast.Compare):
                n = count("compare")
                found = places.operator(part)
                if found is None:
                    continue
                start, end, line, column = found
                new_op = NEIGHBOURS[part.op]
                self.add(
                    f"{prefix}: compare#{n} {_op(part.op)} → {new_op}",
                    element,
                    "comparator",
                    part.text,
                    text[places.start(part) : start] + new_op + text[end : places.end(part)],
                    where(line, column),
                    path,
                    splice(start, end, new_op),
                    text,
                )
            elif isinstance(part, (ast.And, ast.Or)):
                word, other = ("and", "or") if isinstance(part, ast.And) else ("or", "and")
                keywords = places.keywords(part, word)
                if keywords is None:
                    continue  # a chained comparison (a < b < c): no keyword to change
                n = count(word)
                start, end = places.start(part), places.end(part)
                inner = text[start:end]
                for offset in reversed(keywords):  # from the right, so earlier offsets stay true
                    rel = offset - start
                    inner = inner[:rel] + other + inner[rel + len(word) :]
                first = places.position(keywords[0])
                self.add(
                    f"{prefix}: {word}#{n} → {other}",
                    element,
                    "and-or",
                    part.text,
                    inner,
                    where(*first),
                    path,
                    splice(start, end, f"({inner})"),
                    text,
                )
            elif isinstance(part, ast.Not):
                n = count("not")
                start, end = places.start(part), places.end(part)
                operand = text[places.start(part.item) : places.end(part.item)]
                self.add(
                    f"{prefix}: not#{n} dropped",
                    element,
                    "drop-not",
                    part.text,
                    operand,
                    where(part.span.line, part.span.column),
                    path,
                    splice(start, end, f"({operand})"),
                    text,
                )
            elif isinstance(part, ast.Call) and part.func == "date" and _date_literal(part) is not None:
                n = count("date")
                day = _date_literal(part)
                assert day is not None
                start, end = places.start(part), places.end(part)
                for sign, delta in (("+", 1), ("-", -1)):
                    new_day = day + timedelta(days=delta)
                    new = f'date("{new_day.isoformat()}")'
                    self.add(
                        f"{prefix}: date#{n} {sign}1 day",
                        element,
                        "date",
                        part.text,
                        new,
                        where(part.span.line, part.span.column),
                        path,
                        splice(start, end, new),
                        text,
                    )
            elif isinstance(part, ast.Const) and not isinstance(part.value, (bool, str, date)):
                n = count("number")
                value = part.value
                step = _step(value, None)
                start, end = places.start(part), places.end(part)
                for sign, new_value in (("+", value + step), ("-", value - step)):
                    new = _number_text(new_value)
                    self.add(
                        f"{prefix}: number#{n} {sign}{step}",
                        element,
                        "number",
                        part.text,
                        new,
                        where(part.span.line, part.span.column),
                        path,
                        splice(start, end, new),
                        text,
                    )
            elif isinstance(part, ast.ListLit):
                n = count("list")
                start, end = places.start(part), places.end(part)
                for position, item in enumerate(part.items):
                    kept = [text[places.start(i) : places.end(i)] for j, i in enumerate(part.items) if j != position]
                    new = "[" + ", ".join(kept) + "]"
                    self.add(
                        f"{prefix}: list#{n} remove {item.text}",
                        element,
                        "remove-element",
                        part.text,
                        new,
                        where(item.span.line, item.span.column),
                        path,
                        splice(start, end, new),
                        text,
                    )


def _block_position(lines: list[str], node: Any, offset: int) -> tuple[int, int] | None:
    """The file (line, column) of character ``offset`` of a scalar written over several lines (folded, literal or
    plain): each file line's text is found in turn in the scalar's value. None when that fails (escapes)."""
    if not isinstance(node, yaml.ScalarNode) or node.start_mark.line == node.end_mark.line:
        return None
    value, position = node.value, 0
    first = node.start_mark.line if node.style is None else node.start_mark.line + 1
    for index in range(first, min(node.end_mark.line + 1, len(lines))):
        raw = lines[index]
        begin = node.start_mark.column if index == node.start_mark.line else len(raw) - len(raw.lstrip(" "))
        segment = raw[begin:].rstrip()
        if not segment:
            continue
        found = value.find(segment, position)
        if found < 0:
            return None
        if found <= offset < found + len(segment):
            return index + 1, begin + offset - found + 1
        position = found + len(segment)
    return None


def _op(op: str) -> str:
    return "not in" if op == "not_in" else op


def _date_literal(call: ast.Call) -> date | None:
    """``date("2021-01-01")`` → that day; anything else → None."""
    if len(call.args) != 1 or not isinstance(call.args[0], ast.Const) or not isinstance(call.args[0].value, str):
        return None
    try:
        return date.fromisoformat(call.args[0].value)
    except ValueError:
        return None


def _without(items: YList, position: int) -> YList:
    rest = YList(item for index, item in enumerate(items) if index != position)
    rest.location = items.location
    rest.item_locations = [place for index, place in enumerate(items.item_locations) if index != position]
    return rest


def _dropped(entry: YMap, key: str) -> YMap:
    """A copy of ``entry`` without ``key``."""
    out = YMap({k: v for k, v in entry.items() if k != key})
    out.location = entry.location
    out.key_locations = {k: v for k, v in entry.key_locations.items() if k != key}
    out.nodes = {k: v for k, v in entry.nodes.items() if k != key}
    return out


def _section(definition: YMap, name: str) -> YMap:
    value = definition.get(name)
    return value if isinstance(value, YMap) else YMap()


class _Offsets:
    """Positions inside one expression's text: the parser's (line, column) spans ↔ character offsets."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1

    def position(self, offset: int) -> tuple[int, int]:
        line = max(i for i, start in enumerate(self.starts) if start <= offset)
        return line + 1, offset - self.starts[line] + 1

    def start(self, node: ast.Node) -> int:
        return self.offset(node.span.line, node.span.column)

    def end(self, node: ast.Node) -> int:
        return self.offset(node.span.end_line, node.span.end_column)

    def operator(self, node: ast.Compare) -> tuple[int, int, int, int] | None:
        """(start, end, line, column) of a comparison's operator: between its two sides."""
        low, high = self.end(node.left), self.start(node.right)
        pattern = _OP_TOKEN.get(node.op, re.escape(node.op))
        found = re.search(pattern, self.text[low:high]) if low <= high else None
        if found is None:
            return None
        start = low + found.start()
        return (start, low + found.end(), *self.position(start))

    def keywords(self, node: ast.And | ast.Or, word: str) -> list[int] | None:
        """The offsets of the ``and`` (or ``or``) words between the items of ``node``; None when the text
        between two items holds none (a chained comparison)."""
        found = []
        for left, right in zip(node.items, node.items[1:]):
            low, high = self.end(left), self.start(right)
            if low > high:
                return None
            match = re.search(rf"\b{word}\b", self.text[low:high])
            if match is None:
                return None
            found.append(low + match.start())
        return found


def parameters_read(ruleset: Ruleset) -> set[str]:
    """The parameters some rule, derived fact (or its requirements) or tiebreak of ``ruleset`` reads, on the
    evaluation date or through ``at()``."""
    exprs: list[ast.Node] = [rule.when for rule in ruleset.rules.values()]
    exprs += [rule.amount for rule in ruleset.rules.values() if rule.amount is not None]
    for derived in ruleset.derived.values():
        exprs += [derived.expr, *(r.expr for r in derived.requires)]
    exprs += [t.expr for spec in ruleset.decisions.values() for t in spec.tiebreak]
    for spec in ruleset.decisions.values():
        if spec.amount is not None:
            exprs += [e for e in (spec.amount.cap, spec.amount.floor) if e is not None]
    return {n.name for expr in exprs for n in ast.walk(expr) if isinstance(n, ast.ParamRef)}


def mutants_of(ruleset: Ruleset, read: set[str] | None = None) -> list[Mutant]:
    """The mutants of ``ruleset``'s own file, in the order its elements are written.

    ``read``: the parameters worth mutating (by default those the ruleset itself reads; a parent's
    parameter may be read only by the rulesets extending it).
    """
    return _Finder(ruleset, parameters_read(ruleset) if read is None else read).find()


# Applying a mutant


def _replace(container: Any, path: Sequence[str | int], value: Any) -> Any:
    """A copy of ``container`` with ``value`` at ``path``; only the containers along the path are copied,
    each keeping its locations."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(container, YMap):
        mapping = YMap(container)
        mapping.location, mapping.key_locations, mapping.nodes = (
            container.location,
            container.key_locations,
            container.nodes,
        )
        assert isinstance(head, str), "a mapping is walked by its keys"
        mapping[head] = _replace(container[head], rest, value)
        return mapping
    items = YList(container)
    items.location, items.item_locations = container.location, container.item_locations
    assert isinstance(head, int), "a list is walked by its indexes"
    items[head] = _replace(container[head], rest, value)
    return items


def _at(container: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        found = (isinstance(container, dict) and isinstance(step, str) and step in container) or (
            isinstance(container, list) and isinstance(step, int) and 0 <= step < len(container)
        )
        if not found:
            return _MISSING
        container = container[step]
    return container


_MISSING = object()


def applies(mutant: Mutant, ruleset: Ruleset) -> bool:
    """Whether ``ruleset`` holds the text the mutant changes: it is the mutant's own ruleset, or extends
    it without replacing the element."""
    d = ruleset.definition
    section, name = mutant.path[0], mutant.path[1]
    entries = d.get(section)
    if not isinstance(entries, YMap) or name not in entries:
        return False
    if _file(entries.at(str(name)).file) != mutant.location.file:
        return False
    return bool(_at(d, mutant.path) == mutant.original)


def build_mutant(mutant: Mutant, ruleset: Ruleset) -> Ruleset:
    """``ruleset`` with the mutant's change, built again from its definition (no file is read).

    Built as a variant is (``cite_required=False``): dropping an exception may leave a label for an outcome
    the decision no longer gives, which a ruleset file may not have but a what-if may. Raises
    :class:`RulesetError` when the changed ruleset does not check.
    """
    definition = _replace(ruleset.definition, mutant.path, mutant.value)
    return RulesetBuilder(definition, dict(ruleset.lines), cite_required=False).build(ruleset.files)


# Equivalents


def load_equivalents(file: Path, ruleset: str) -> list[Equivalent]:
    """The entries of an equivalents file: ``equivalent:`` a list of ``{mutant: KEY, why: TEXT}``."""
    shown = str(file)
    try:
        text = read_bounded(file, limit=MAX_YAML, what="an equivalents file", name=shown).decode("utf-8")
    except ReadError as exc:
        raise RulesetError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise RulesetError(
            f"not UTF-8 text (byte {exc.start})", Location(shown, 1, 1), "save the file as UTF-8"
        ) from None
    doc = load_yaml(text, shown)
    shape = "an equivalents file is a mapping with 'equivalent': a list of {mutant: KEY, why: TEXT}"
    if not isinstance(doc, YMap) or set(doc) != {"equivalent"} or not isinstance(doc["equivalent"], YList):
        raise RulesetError(shape, getattr(doc, "location", Location(shown, 1, 1)))
    out: list[Equivalent] = []
    seen: dict[str, Location] = {}
    entries = doc["equivalent"]
    for index, entry in enumerate(entries):
        where = entries.item_locations[index]
        if not isinstance(entry, YMap):
            raise RulesetError("each entry is a mapping {mutant: KEY, why: TEXT}", where)
        for key in entry:
            if key not in ("mutant", "why"):
                raise RulesetError(f"unknown key {key!r} in an equivalents entry (keys: mutant, why)", entry.at(key))
        for key in ("mutant", "why"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise RulesetError(
                    f"an equivalents entry needs {key!r} as text", entry.at(key) if key in entry else where
                )
        if entry["mutant"] in seen:
            raise RulesetError(
                f"mutant {entry['mutant']!r} is listed twice (first at line {seen[entry['mutant']].line})",
                entry.at("mutant"),
            )
        seen[entry["mutant"]] = entry.at("mutant")
        out.append(Equivalent(ruleset, entry["mutant"], entry["why"].strip(), entry.at("mutant")))
    return out


# Which rulesets


@attrs.frozen(eq=False)
class _Target:
    folder: Path
    ruleset: Ruleset
    cases: tuple[PolicyCase, ...]

    @property
    def own_file(self) -> str:
        return _file(self.ruleset.files[0])


def _ruleset_folders(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(the ruleset folders named, those and their sibling ruleset folders): a mutant of a ruleset is also
    run against the tests of the rulesets beside it that extend it."""
    chosen: list[Path] = []
    for arg in paths:
        path = Path(arg)
        if path.is_file() and path.name == "ruleset.yaml":
            path = path.parent
        if (path / "ruleset.yaml").is_file():
            chosen.append(path)
        elif path.is_dir():
            nested = sorted(p.parent for p in path.glob("*/ruleset.yaml"))
            if not nested:
                raise RulesetError(f"{arg}: no ruleset.yaml here or in its sub-folders")
            chosen.extend(nested)
        else:
            raise RulesetError(f"{arg}: no such ruleset folder (a folder holding ruleset.yaml, or a folder of them)")
    chosen = list(dict.fromkeys(chosen))
    universe = list(chosen)
    for folder in chosen:
        for sibling in sorted(p.parent for p in folder.parent.glob("*/ruleset.yaml")):
            if sibling not in universe:
                universe.append(sibling)
    return chosen, universe


def _load_targets(folders: Sequence[Path]) -> list[_Target]:
    """Each folder's ruleset with every case that tests it (a test file elsewhere may name it with ``ruleset:``)."""
    rulesets = [load_ruleset(folder) for folder in folders]
    cases: dict[str, list[PolicyCase]] = {}
    for folder in folders:
        for file in policy_test_files(folder):
            for case in load_policy_file(file):
                cases.setdefault(_file(case.ruleset.files[0]), []).append(case)
    return [
        _Target(folder, ruleset, tuple(cases.get(_file(ruleset.files[0]), ())))
        for folder, ruleset in zip(folders, rulesets)
    ]


def changed_rulesets(folders: Sequence[Path], rev: str) -> set[Path]:
    """The ruleset folders among ``folders`` with a file changed since git revision ``rev`` (committed or not,
    and new files not yet added), plus the rulesets extending them and those they extend (whose mutants may
    be killed, or no longer be, by a changed test)."""
    if not folders:
        return set()
    where = folders[0].resolve().parent
    try:
        top = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "-C", top, "diff", "--name-only", rev, "--"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        new = subprocess.run(
            ["git", "-C", top, "ls-files", "--others", "--exclude-standard"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise RulesetError(f"--changed-since {rev}: git could not tell what changed ({detail.strip()})") from None
    changed = [(Path(top) / name).resolve() for name in [*diff, *new]]
    touched = {folder for folder in folders if any(path.is_relative_to(folder.resolve()) for path in changed)}
    files = {folder: {Path(f).resolve() for f in _extends_chain(folder)} for folder in folders}
    out = set(touched)
    for folder in folders:
        for other in touched:
            own = (other / "ruleset.yaml").resolve()
            if own in files[folder]:  # folder extends a changed ruleset
                out.add(folder)
            if (folder / "ruleset.yaml").resolve() in files[other]:  # a changed ruleset extends folder
                out.add(folder)
    return out


def _extends_chain(folder: Path) -> list[str]:
    """The files a ruleset is read from, following ``extends`` (without building it)."""
    chain: list[str] = []
    path = folder / "ruleset.yaml"
    while path.is_file() and len(chain) < 64:
        chain.append(str(path))
        try:
            doc = load_yaml(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError, RulesetError):
            break
        parent = doc.get("extends") if isinstance(doc, YMap) else None
        if not isinstance(parent, str):
            break
        path = path.parent / parent
        if path.is_dir():
            path = path / "ruleset.yaml"
    return chain


# Running


@attrs.frozen(eq=False)
class _Session:
    """Everything a run needs, the same in the parent and in every worker."""

    key: tuple[Any, ...]
    targets: tuple[_Target, ...]
    mutants: tuple[Mutant, ...]


_SESSION: _Session | None = None


def _session(paths: tuple[str, ...], only: tuple[str, ...] | None, *, fresh: bool = False) -> _Session:
    """Load the rulesets and their tests and find the mutants: afresh for a run, once per worker (a forked
    worker inherits the run's)."""
    global _SESSION
    key = (paths, only)
    if not fresh and _SESSION is not None and _SESSION.key == key:
        return _SESSION
    chosen, universe = _ruleset_folders(paths)
    targets = _load_targets(universe)
    by_folder = {t.folder: t for t in targets}
    owners = [by_folder[f] for f in chosen if only is None or str(f) in only]
    mutants: list[Mutant] = []
    for owner in owners:
        read: set[str] = set()
        for target in targets:
            if owner.own_file in {_file(f) for f in target.ruleset.files}:
                read |= parameters_read(target.ruleset)
        mutants.extend(mutants_of(owner.ruleset, read))
    _SESSION = _Session(key, tuple(targets), tuple(mutants))
    return _SESSION


def _run_one(session: _Session, mutant: Mutant) -> tuple[str, str]:
    """(killed | survived | stillborn, the failing case or why it did not build)."""
    reached = [t for t in session.targets if applies(mutant, t.ruleset)]
    # Build every ruleset the change reaches first: a mutant that does not check is stillborn, whatever the tests.
    built = []
    for target in reached:
        try:
            built.append((target, build_mutant(mutant, target.ruleset)))
        except RulesetError as exc:
            return STILLBORN, str(exc)
        except Exception as exc:  # noqa: BLE001 - a change the checker let through but the compiler refused
            return STILLBORN, f"{type(exc).__name__}: {exc}"
    for target, ruleset in built:
        for case in target.cases:
            try:
                result = run_case(attrs.evolve(case, ruleset=ruleset))
            except Exception as exc:  # noqa: BLE001 - any error is the tests seeing the change
                return KILLED, f"{case.id} ({type(exc).__name__})"
            if not result.passed:
                return KILLED, case.id
    return SURVIVED, ""


def _work(job: tuple[tuple[str, ...], tuple[str, ...] | None, list[int]]) -> list[tuple[int, str, str]]:
    paths, only, indices = job
    session = _session(paths, only)
    return [(index, *_run_one(session, session.mutants[index])) for index in indices]


def _unread(session: _Session, owners: set[str]) -> list[tuple[str, str]]:
    out = []
    for target in session.targets:
        if target.ruleset.id not in owners:
            continue
        read: set[str] = set()
        for other in session.targets:
            if target.own_file in {_file(f) for f in other.ruleset.files}:
                read |= parameters_read(other.ruleset)
        d = target.ruleset.definition
        for name in _section(d, "parameters"):
            if _file(d["parameters"].at(name).file) == target.own_file and name not in read:
                out.append((target.ruleset.id, name))
    return out


def mutate(
    paths: Sequence[str | Path], *, workers: int | None = None, changed_since: str | None = None
) -> MutationReport:
    """Mutate the rulesets under ``paths`` (ruleset folders or a folder of them) and run each mutant against
    the policy tests of its ruleset and of every ruleset extending it.

    ``changed_since``: only rulesets with a file changed since that git revision, and those they extend or
    that extend them. ``workers``: processes (default: every core; 1 runs in this process).
    """
    began = time.perf_counter()
    keys = tuple(str(p) for p in paths)
    chosen, universe = _ruleset_folders(keys)
    only: tuple[str, ...] | None = None
    if changed_since is not None:
        picked = changed_rulesets(universe, changed_since)
        only = tuple(sorted(str(f) for f in chosen if f in picked))
    session = _session(keys, only, fresh=True)
    mutated = [t for t in session.targets if t.folder in chosen and (only is None or str(t.folder) in only)]
    owners = {t.ruleset.id for t in mutated}
    # The tests any mutant reaches must pass as they are: otherwise every mutant would look killed.
    reached = [
        t for t in session.targets if any(owner.own_file in {_file(f) for f in t.ruleset.files} for owner in mutated)
    ]
    baseline = tuple(result.message for t in reached for result in map(run_case, t.cases) if not result.passed)
    statuses: dict[int, tuple[str, str]] = {}
    count = len(session.mutants)
    workers = max(1, workers if workers is not None else cores())
    if count and not baseline:
        if workers == 1 or count < 2:
            for index, mutant in enumerate(session.mutants):
                statuses[index] = _run_one(session, mutant)
        else:
            size = max(1, min(32, count // (workers * 8) or 1))
            jobs = [(keys, only, list(range(i, min(i + size, count)))) for i in range(0, count, size)]
            with start_context().Pool(workers) as pool:
                for results in pool.imap_unordered(_work, jobs):
                    for index, status, detail in results:
                        statuses[index] = (status, detail)
    listed: dict[tuple[str, str], Equivalent] = {}
    for target in session.targets:
        if target.ruleset.id not in owners:
            continue
        file = target.folder / "tests" / EQUIVALENTS_FILE
        if file.is_file():
            for entry in load_equivalents(file, target.ruleset.id):
                listed[(entry.ruleset, entry.key)] = entry
    outcomes = []
    used: set[tuple[str, str]] = set()
    stale: list[tuple[Equivalent, str]] = []
    for index, mutant in enumerate(session.mutants):
        status, detail = statuses.get(index, (SURVIVED, ""))
        found = listed.get((mutant.ruleset, mutant.key))
        if found is not None:
            used.add((mutant.ruleset, mutant.key))
            if status == SURVIVED:
                outcomes.append(Outcome(mutant, EQUIVALENT, detail, found.why))
                continue
            stale.append(
                (
                    found,
                    f"listed as equivalent but {status}"
                    + (f" by {detail}" if status == KILLED else f" ({detail})" if detail else ""),
                )
            )
        outcomes.append(Outcome(mutant, status, detail))
    if not baseline:
        for key, entry in listed.items():
            if key not in used:
                stale.append((entry, "no such mutant (the element, its place or the change is not there now)"))
    stale.sort(key=lambda s: (s[0].location.file, s[0].location.line, s[0].location.column))
    return MutationReport(
        tuple(outcomes),
        tuple(stale),
        tuple(_unread(session, owners)),
        tuple(t.ruleset.id for t in session.targets if t.ruleset.id in owners),
        time.perf_counter() - began,
        baseline,
    )


def report_text(report: MutationReport, min_score: float) -> Iterator[str]:
    """The report as lines: counts per ruleset, unread parameters, survivors, stale entries, the score."""
    width = max([len(r) for r in report.rulesets] + [3])
    header = f"{'ruleset':<{width}}  total  killed  survived  equivalent  stillborn   score"
    yield header
    for ruleset in sorted(report.rulesets):
        c = report.counts(ruleset)
        yield (
            f"{ruleset:<{width}}  {c['total']:>5}  {c[KILLED]:>6}  {c[SURVIVED]:>8}  {c[EQUIVALENT]:>10}  "
            f"{c[STILLBORN]:>9}  {report.score(ruleset):>5.1f}%"
        )
    c = report.counts()
    yield (
        f"{'all':<{width}}  {c['total']:>5}  {c[KILLED]:>6}  {c[SURVIVED]:>8}  {c[EQUIVALENT]:>10}  "
        f"{c[STILLBORN]:>9}  {report.score():>5.1f}%"
    )
    if report.unread:
        yield ""
        yield "unread parameters (not mutated): " + "; ".join(f"{r}: {p}" for r, p in report.unread)
    if report.baseline_failures:
        yield ""
        yield "policy tests fail without any mutant, so no mutant was run:"
        yield from (f"  {line}" for line in report.baseline_failures)
    survivors = report.survivors()
    if survivors:
        yield ""
        yield f"survivors ({len(survivors)}; list one in tests/{EQUIVALENTS_FILE} only if no test could tell it apart):"
        for outcome in survivors:
            yield f"{outcome.mutant}  [{outcome.mutant.key}]"
    if report.stale:
        yield ""
        yield f"stale equivalents ({len(report.stale)}):"
        for entry, why in report.stale:
            yield f"{entry.location}: {entry.key}: {why}"
    rate = len(report.outcomes) / report.seconds if report.seconds else 0.0
    verdict = "FAILED" if report.failed(min_score) else "ok"
    yield ""
    yield (
        f"score {report.score():.1f}% (minimum {min_score:g}%): {verdict}; {len(report.outcomes)} mutants in "
        f"{report.seconds:.1f} s ({rate:.1f}/s)"
    )


def report_json(report: MutationReport, min_score: float) -> dict[str, Any]:
    """The report as JSON-ready data."""

    def mutant(o: Outcome) -> dict[str, Any]:
        m = o.mutant
        return {
            "key": m.key,
            "ruleset": m.ruleset,
            "file": m.location.file,
            "line": m.location.line,
            "column": m.location.column,
            "operator": m.operator,
            "element": m.element,
            "before": m.before,
            "after": m.after,
            "status": o.status,
            "detail": o.detail or None,
            "why": o.why or None,
        }

    return {
        "score": round(report.score(), 2),
        "min_score": min_score,
        "failed": report.failed(min_score),
        "seconds": round(report.seconds, 2),
        "rulesets": {r: {**report.counts(r), "score": round(report.score(r), 2)} for r in sorted(report.rulesets)},
        "total": report.counts(),
        "unread_parameters": [{"ruleset": r, "parameter": p} for r, p in report.unread],
        "baseline_failures": list(report.baseline_failures),
        "stale": [
            {
                "ruleset": e.ruleset,
                "key": e.key,
                "file": e.location.file,
                "line": e.location.line,
                "column": e.location.column,
                "why": why,
            }
            for e, why in report.stale
        ],
        "mutants": [mutant(o) for o in sorted(report.outcomes, key=lambda o: _place(o.mutant))],
    }
