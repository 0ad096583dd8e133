"""Screening rules: the conditions under which a department's records raise an early warning.

A plan's screening rules live in ``screening.yaml`` beside its ``ruleset.yaml``. They are read here, in
the tools layer, and not by the ruleset loader, because a screening rule is not a decision on one
household's facts: it is a condition over a window of events that arrive over time, which only the
stream (and its reference check) evaluates. Keeping the file out of the ruleset also keeps the
ruleset's digest, and so every stored decision record, unchanged by the stream's parameters.

Each rule takes the household's events of some kinds in a window of months back from the latest one,
aggregates them (a sum of the amounts, a sum of the decreases, a count) and compares the aggregate with
a percentage of the household's last recorded income or with a parameter. Every figure is a dated
parameter: cited where a text gives it, ``local: true`` (with a note) where the text names the
condition but gives no figure, as for 支出骤增 and 收入骤减.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import attrs

from povrules.canonical import sha256_digest
from povrules.errors import Location, RulesetError
from povrules.reading import ReadError, read_text
from povrules.ruleset.model import Citation
from povrules.ruleset.yaml import YList, YMap, load_yaml
from povrules.warning.events import DEPARTMENTS, EVENT_KINDS

FILE_NAME = "screening.yaml"
Aggregate = Literal["sum_amount", "sum_decrease", "count"]
AGGREGATES: tuple[str, ...] = ("sum_amount", "sum_decrease", "count")
OPERATORS: tuple[str, ...] = (">", ">=")
UNITS: tuple[str, ...] = ("月", "%", "元", "次", "工作日")


@attrs.frozen
class Value:
    """A parameter's value from a day on, and where it comes from (a citation, or a local note)."""

    start: date
    value: int
    cite: Citation | None
    note: Mapping[str, str] | None


@attrs.frozen
class ScreeningParameter:
    """A dated figure of the screening: whole months, per cent, yuan, counts or working days."""

    name: str
    title: Mapping[str, str]
    unit: str
    local: bool
    values: tuple[Value, ...]

    def on(self, day: date) -> int | None:
        """The value in force on ``day``; None before the first value's start."""
        found = None
        for value in self.values:
            if value.start <= day:
                found = value.value
        return found


@attrs.frozen
class ScreeningRule:
    """One screening condition: events of ``kinds`` in ``window`` months, aggregated and compared."""

    name: str
    title: Mapping[str, str]
    kinds: tuple[str, ...]
    departments: tuple[str, ...] | None
    window: str  # parameter, months
    aggregate: Aggregate
    operator: str
    percent_of_income: str | None  # parameter, per cent of the last recorded income
    threshold: str | None  # parameter, yuan (sums) or a count
    reason: Mapping[str, str]
    cite: Citation | None


@attrs.frozen
class Screening:
    """A plan's screening: its rules, parameters, the decision a verified case runs, and the deadline."""

    ruleset: str
    decision: str
    file: str
    parameters: Mapping[str, ScreeningParameter]
    rules: tuple[ScreeningRule, ...]
    deadline: str  # parameter, working days from the warning to the county's decision
    digest: str

    def parameter(self, name: str, day: date) -> int | None:
        """The value of parameter ``name`` in force on ``day`` (None before it starts)."""
        return self.parameters[name].on(day)

    def citations(self) -> list[Citation]:
        """Every citation of the screening (rules and parameter values), for the quote check."""
        found = [rule.cite for rule in self.rules if rule.cite is not None]
        found += [v.cite for p in self.parameters.values() for v in p.values if v.cite is not None]
        return found


def _fail(message: str, where: Location) -> RulesetError:
    return RulesetError(message, where)


def _map(value: Any, where: Location, what: str) -> YMap:
    if not isinstance(value, YMap):
        raise _fail(f"{what}: expected a mapping", getattr(value, "location", where))
    return value


def _keys(node: YMap, required: set[str], optional: set[str], what: str) -> None:
    for key in node:
        if key not in required | optional:
            raise _fail(f"{what}: unknown key {key!r} (keys: {', '.join(sorted(required | optional))})", node.at(key))
    for key in sorted(required - set(node)):
        raise _fail(f"{what}: missing key {key!r}", node.location)


def _text(node: YMap, key: str, what: str) -> dict[str, str]:
    value = _map(node[key], node.at(key), f"{what}.{key}")
    _keys(value, {"zh", "en"}, set(), f"{what}.{key}")
    for lang in ("zh", "en"):
        if not isinstance(value[lang], str) or not value[lang].strip():
            raise _fail(f"{what}.{key}.{lang}: expected text", value.at(lang))
    return {"zh": value["zh"], "en": value["en"]}


def _cite(node: YMap, sources: Mapping[str, str], what: str) -> Citation:
    cite = _map(node["cite"], node.at("cite"), f"{what}.cite")
    _keys(cite, {"source", "line", "quote"}, set(), f"{what}.cite")
    if cite["source"] not in sources:
        raise _fail(
            f"{what}.cite.source: unknown source {cite['source']!r} (sources: {', '.join(sources)})", cite.at("source")
        )
    line = cite["line"]
    if not isinstance(line, int) or isinstance(line, bool) or line < 1:
        raise _fail(f"{what}.cite.line: expected a line number", cite.at("line"))
    if not isinstance(cite["quote"], str) or not cite["quote"]:
        raise _fail(f"{what}.cite.quote: expected the quoted text", cite.at("quote"))
    return Citation(sources[cite["source"]], line, line, cite["quote"], cite.location)


def _parameter(name: str, node: YMap, sources: Mapping[str, str]) -> ScreeningParameter:
    what = f"parameters.{name}"
    _keys(node, {"title", "unit", "values"}, {"local"}, what)
    local = node.get("local", False)
    if not isinstance(local, bool):
        raise _fail(f"{what}.local: expected true or false", node.at("local"))
    if node["unit"] not in UNITS:
        raise _fail(f"{what}.unit: expected one of {', '.join(UNITS)}", node.at("unit"))
    values = node["values"]
    if not isinstance(values, YList) or not values:
        raise _fail(f"{what}.values: expected a list of dated values", node.at("values"))
    out: list[Value] = []
    for index, item in enumerate(values):
        where = f"{what}.values[{index}]"
        item = _map(item, values.location, where)
        _keys(item, {"from", "value"}, {"cite", "note"}, where)
        if not isinstance(item["from"], date):
            raise _fail(f"{where}.from: expected a date YYYY-MM-DD", item.at("from"))
        if out and item["from"] <= out[-1].start:
            raise _fail(f"{where}.from: values must be in date order", item.at("from"))
        value = item["value"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _fail(f"{where}.value: expected a whole number, 0 or more", item.at("value"))
        if local and "note" not in item:
            raise _fail(f"{where}: a local parameter says why in a note (zh, en)", item.location)
        if not local and "cite" not in item:
            raise _fail(f"{where}: a parameter the text gives cites it (or is marked local: true)", item.location)
        cite = _cite(item, sources, where) if "cite" in item else None
        note = _text(item, "note", where) if "note" in item else None
        out.append(Value(item["from"], value, cite, note))
    return ScreeningParameter(name, _text(node, "title", what), node["unit"], local, tuple(out))


def _parameter_ref(
    node: YMap, key: str, parameters: Mapping[str, ScreeningParameter], units: tuple[str, ...], what: str
) -> str:
    name = node[key]
    if name not in parameters:
        raise _fail(f"{what}.{key}: no parameter {name!r} (parameters: {', '.join(parameters)})", node.at(key))
    if parameters[name].unit not in units:
        raise _fail(
            f"{what}.{key}: parameter {name!r} is in {parameters[name].unit}, expected {' or '.join(units)}",
            node.at(key),
        )
    return str(name)


def _codes(node: YMap, key: str, known: Mapping[str, Any], what: str) -> tuple[str, ...]:
    value = node[key]
    if not isinstance(value, YList) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(f"{what}.{key}: expected a list of codes", node.at(key))
    for code in value:
        if code not in known:
            raise _fail(f"{what}.{key}: unknown code {code!r} (codes: {', '.join(known)})", node.at(key))
    return tuple(value)


def _rule(
    name: str, node: YMap, parameters: Mapping[str, ScreeningParameter], sources: Mapping[str, str]
) -> ScreeningRule:
    what = f"rules.{name}"
    _keys(node, {"title", "kinds", "window_months", "aggregate", "compare", "reason"}, {"departments", "cite"}, what)
    if node["aggregate"] not in AGGREGATES:
        raise _fail(f"{what}.aggregate: expected one of {', '.join(AGGREGATES)}", node.at("aggregate"))
    compare = _map(node["compare"], node.at("compare"), f"{what}.compare")
    _keys(compare, {"operator"}, {"percent_of_income", "threshold"}, f"{what}.compare")
    if compare["operator"] not in OPERATORS:
        raise _fail(f"{what}.compare.operator: expected one of {', '.join(OPERATORS)}", compare.at("operator"))
    if ("percent_of_income" in compare) == ("threshold" in compare):
        raise _fail(f"{what}.compare: expected one of percent_of_income or threshold", compare.location)
    if "percent_of_income" in compare and node["aggregate"] == "count":
        raise _fail(f"{what}.compare: a count is compared with a threshold, not with income", compare.location)
    threshold_units = ("次",) if node["aggregate"] == "count" else ("元",)
    return ScreeningRule(
        name=name,
        title=_text(node, "title", what),
        kinds=_codes(node, "kinds", EVENT_KINDS, what),
        departments=_codes(node, "departments", DEPARTMENTS, what) if "departments" in node else None,
        window=_parameter_ref(node, "window_months", parameters, ("月",), what),
        aggregate=node["aggregate"],
        operator=compare["operator"],
        percent_of_income=(
            _parameter_ref(compare, "percent_of_income", parameters, ("%",), f"{what}.compare")
            if "percent_of_income" in compare
            else None
        ),
        threshold=(
            _parameter_ref(compare, "threshold", parameters, threshold_units, f"{what}.compare")
            if "threshold" in compare
            else None
        ),
        reason=_text(node, "reason", what),
        cite=_cite(node, sources, what) if "cite" in node else None,
    )


def load_screening(path: str | os.PathLike[str]) -> Screening:
    """A plan's screening from its ``screening.yaml`` (or the folder of the ruleset that holds one).

    Raises :class:`~povrules.errors.RulesetError` at ``file:line:col`` for any mistake.
    """
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    name = str(path)
    try:
        text = read_text(path, limit=1 << 20, what="screening file")
    except ReadError as exc:
        raise RulesetError(str(exc), Location(name, 1, 1)) from None
    root = _map(load_yaml(text, name), Location(name, 1, 1), "the file")
    _keys(root, {"screening"}, set(), "the file")
    top = _map(root["screening"], root.at("screening"), "screening")
    _keys(top, {"ruleset", "decision", "sources", "parameters", "rules", "verification_deadline"}, set(), "screening")
    sources_node = _map(top["sources"], top.at("sources"), "sources")
    sources: dict[str, str] = {}
    for key, source in sources_node.items():
        source = _map(source, sources_node.at(key), f"sources.{key}")
        _keys(source, {"file"}, {"title"}, f"sources.{key}")
        sources[key] = str(source["file"])
    params_node = _map(top["parameters"], top.at("parameters"), "parameters")
    parameters = {
        key: _parameter(key, _map(value, params_node.at(key), f"parameters.{key}"), sources)
        for key, value in params_node.items()
    }
    rules_node = _map(top["rules"], top.at("rules"), "rules")
    rules = tuple(
        _rule(key, _map(value, rules_node.at(key), f"rules.{key}"), parameters, sources)
        for key, value in rules_node.items()
    )
    if not rules:
        raise _fail("rules: expected at least one screening rule", top.at("rules"))
    deadline = _parameter_ref(top, "verification_deadline", parameters, ("工作日",), "screening")
    for key in ("ruleset", "decision"):
        if not isinstance(top[key], str):
            raise _fail(f"screening.{key}: expected a name", top.at(key))
    digest = sha256_digest(_plain(root))
    return Screening(top["ruleset"], top["decision"], name, parameters, rules, deadline, digest)


def _plain(value: Any) -> Any:
    """Located YAML values as plain JSON values (dates as text), for the digest."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


__all__ = [
    "AGGREGATES",
    "FILE_NAME",
    "OPERATORS",
    "Screening",
    "ScreeningParameter",
    "ScreeningRule",
    "Value",
    "load_screening",
]
