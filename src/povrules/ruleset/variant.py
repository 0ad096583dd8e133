"""Variants: a loaded ruleset with changes, for what-if comparisons.

An *overlay* states changes in the ruleset's own syntax: parameter values, rules and derived facts
patched field by field or added, rules taken out, decisions patched. It is merged over the base's
resolved definition, which the base keeps, and the result is checked and compiled whole, so a
variant either loads completely or not at all and the base never changes. No file is reread. A
variant that changes parameter values only keeps the base's compiled rules.

Overlay keys::

    variant: {zh: 监测线提高到 7000 元, en: Monitoring line raised to 7000 yuan}
    parameters:
      monitoring_line: {set: {from: 2021-01-01, value: 7000}}   # or `values:` to replace the list
    rules:
      N5: {when: "..."}                       # patch an existing rule
      X1: {title: ..., when: ..., outcome: ..., add_to: [monitoring_type, rows]}   # a new rule
    without: [N3]                             # rules taken out, and out of every decision
    derived: {...}                            # patch or add, as rules
    decisions: {...}                          # patch fields (criteria, rows, hit_policy …)

A variant may leave out ``cite``: it proposes what no text states yet. Its values carry a ``note``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import yaml

from povrules.errors import ArgumentTypeError, Location, RulesetError
from povrules.lang.ast import parameter_reads
from povrules.lang.checker import did_you_mean
from povrules.reading import MAX_YAML, NotUtf8, ReadError, read_text
from povrules.ruleset.loader import RulesetBuilder, definition_digest
from povrules.ruleset.model import Ruleset, Text
from povrules.ruleset.yaml import YList, YMap, load_yaml, not_utf8

OVERLAY_KEYS = ("variant", "parameters", "derived", "rules", "decisions", "without")
PARAMETER_KEYS = frozenset({"title", "unit", "type", "values", "note", "set"})
RULE_KEYS = frozenset(
    {"title", "when", "strength", "outcome", "level", "cite", "valid", "note", "override_by", "add_to"}
)
DERIVED_KEYS = frozenset({"title", "expr", "note"})
ROLES = ("criteria", "exceptions", "rows")


def load_overlay(path: Path) -> tuple[YMap, str, list[str]]:
    """Read an overlay file: its located values, its name, and its lines (for error positions)."""
    shown = str(path)
    if not path.exists():
        raise RulesetError(f"no overlay file at {shown}")
    try:
        text = read_text(path, limit=MAX_YAML, what="an overlay", name=shown)
    except NotUtf8 as exc:
        raise not_utf8(exc) from None
    except ReadError as exc:
        raise RulesetError(str(exc)) from None
    doc = load_yaml(text, shown)
    if not isinstance(doc, YMap):
        raise RulesetError("an overlay is a mapping of changes (parameters, rules, without …)", Location(shown, 1, 1))
    return doc, shown, text.splitlines()


def with_overlay(base: Ruleset, overlay: Mapping[str, Any], label: str, lines: list[str] | None = None) -> Ruleset:
    """``base`` with ``overlay`` applied, checked and compiled whole; ``label`` names the overlay in errors."""
    if base.definition is None:
        raise RulesetError(f"ruleset {base.id!r} was not loaded from a definition, so it cannot take an overlay")
    changes = overlay if isinstance(overlay, YMap) else _located(overlay, label)
    if not isinstance(changes, YMap):
        raise RulesetError("an overlay is a mapping of changes (parameters, rules, without …)", Location(label, 1, 1))
    for key in changes:
        if key not in OVERLAY_KEYS:
            raise RulesetError(
                f"unknown key {key!r} in an overlay",
                changes.at(key),
                did_you_mean(key, OVERLAY_KEYS) or "keys: " + ", ".join(OVERLAY_KEYS),
            )
    definition = _Merge(base.definition, changes).definition
    all_lines = {**base.lines, label: lines or []}
    builder = RulesetBuilder(definition, all_lines, cite_required=False)
    text = _variant_text(changes, label)
    try:
        if _values_only(changes) and not set(changes.get("parameters") or ()) & _read_through_at(base):
            # Same rules, same types: the base's compiled closures read parameters by name, so they serve as they
            # are (not a parameter at() reads: its closure holds the series of values, which a full build renews).
            parameters = builder.build_parameters()
            for name, parameter in parameters.items():
                if name in base.parameters and parameter.type != base.parameters[name].type:
                    raise RulesetError(
                        f"parameter {name!r} holds {base.parameters[name].type} values; the variant "
                        f"gives {parameter.type}",
                        changes["parameters"].at(name),
                    )
            if parameters.keys() == base.parameters.keys():
                return attrs.evolve(
                    base,
                    parameters=parameters,
                    digest=definition_digest(definition),
                    definition=definition,
                    lines=all_lines,
                    base=base,
                    variant=text,
                    as_of_cache={},
                    plans={True: {}, False: {}},
                )
        ruleset = builder.build(base.files)
    except RulesetError as exc:
        if exc.location is not None and exc.location.file == label:
            raise
        # The change is fine on its own but leaves the whole inconsistent: say which change did.
        raise RulesetError(f"with {label}: {exc.message}", exc.location, exc.hint) from None
    return attrs.evolve(ruleset, base=base, variant=text)


def parameter_variant(
    base: Ruleset, name: str, value: Any, from_: date | None = None, note: str | None = None
) -> Ruleset:
    """What :meth:`Ruleset.with_parameter` gives: ``base`` with parameter ``name`` set to ``value``."""
    known = base.parameters.get(name)
    overlay = parameter_overlay(name, value, from_, note, known.title if known is not None else None)
    return with_overlay(base, overlay, f"with_parameter({name!r})")


def rule_variant(base: Ruleset, rule_id: str, add_to: tuple[str, str] | None, fields: Mapping[str, Any]) -> Ruleset:
    """What :meth:`Ruleset.with_rule` gives: ``base`` with rule ``rule_id`` changed or added."""
    return with_overlay(base, rule_overlay(rule_id, add_to, fields), f"with_rule({rule_id!r})")


def without_rule(base: Ruleset, rule_id: str) -> Ruleset:
    """What :meth:`Ruleset.without_rule` gives: ``base`` without rule ``rule_id``."""
    require("rule_id", rule_id, str, "a rule id (text)")
    return with_overlay(base, {"without": [rule_id]}, f"without_rule({rule_id!r})")


def overlay_variant(base: Ruleset, overlay: str | Path | Mapping[str, Any]) -> Ruleset:
    """What :meth:`Ruleset.with_overlay` gives: ``base`` with an overlay's mapping, or its YAML file's, applied."""
    if isinstance(overlay, Mapping):
        return with_overlay(base, overlay, "overlay")
    if not isinstance(overlay, (str, Path)):
        raise ArgumentTypeError(
            f"overlay: expected a mapping of changes or the path of a YAML file, got {type(overlay).__name__}"
        )
    return with_overlay(base, *load_overlay(Path(overlay)))


def _read_through_at(ruleset: Ruleset) -> set[str]:
    """The parameters some expression of ``ruleset`` reads through ``at(p.<name>, <date>)``."""
    trees = [rule.when for rule in ruleset.rules.values()]
    trees += [
        tree for derived in ruleset.derived.values() for tree in (derived.expr, *(r.expr for r in derived.requires))
    ]
    trees += [tiebreak.expr for spec in ruleset.decisions.values() for tiebreak in spec.tiebreak]
    return {name for tree in trees for name in parameter_reads(tree)[1]}


def require(argument: str, value: Any, expected: type | tuple[type, ...], words: str) -> None:
    """Raise ``TypeError`` naming ``argument`` unless ``value`` is an instance of ``expected`` (bool is no number)."""
    if not isinstance(value, expected) or (
        isinstance(value, bool) and bool not in (expected if isinstance(expected, tuple) else (expected,))
    ):
        raise ArgumentTypeError(f"{argument}: expected {words}, got {type(value).__name__} {value!r}")


def parameter_overlay(
    name: str, value: Any, from_: date | None, note: str | None, title: Text | None = None
) -> dict[str, Any]:
    """The overlay of :meth:`Ruleset.with_parameter`; ``title`` names the parameter in the variant's description.

    Raises ``TypeError`` for an argument of the wrong type (a name that is not text, a ``from_`` that is
    not a date) and :class:`RulesetError` for a value no ruleset holds (NaN, infinity).
    """
    require("name", name, str, "a parameter name (text)")
    if from_ is not None and (not isinstance(from_, date) or isinstance(from_, datetime)):
        raise ArgumentTypeError(f"from_: expected a date, got {type(from_).__name__} {from_!r}")
    if note is not None:
        require("note", note, str, "text")
    if isinstance(value, (float, Decimal)) and not isinstance(value, bool) and not Decimal(value).is_finite():
        raise RulesetError(
            f"with_parameter({name!r}): {value!r} is not a number a ruleset can hold: give a finite amount"
        )
    change: dict[str, Any] = {"value": value, "note": note or "variant"}
    if from_ is not None:
        change["from"] = from_
    shown = _show(value)
    since = f" from {from_}" if from_ else ""
    zh_since = f"自 {from_} 起" if from_ else ""
    zh_name = f"{title.zh}（{name}）" if title is not None and title.zh else name
    return {
        "variant": {"zh": f"{zh_name}{zh_since}改为 {shown}", "en": f"{name} = {shown}{since}"},
        "parameters": {name: {"set": change}},
    }


def rule_overlay(rule_id: str, add_to: tuple[str, str] | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The overlay of :meth:`Ruleset.with_rule`; ``TypeError`` for a rule id that is not text."""
    require("rule_id", rule_id, str, "a rule id (text)")
    entry = dict(fields)
    if add_to is not None:
        entry["add_to"] = list(add_to)
    return {
        "variant": {"zh": f"规则 {rule_id} 修改或新增", "en": f"rule {rule_id} changed or added"},
        "rules": {rule_id: entry},
    }


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _variant_text(changes: YMap, label: str) -> Text:
    given = changes.get("variant")
    if isinstance(given, str):
        return Text(given, given)
    if isinstance(given, Mapping) and isinstance(given.get("zh"), str) and isinstance(given.get("en"), str):
        return Text(given["zh"], given["en"])
    if given is not None:
        raise RulesetError("'variant' is a name for the variant: text, or 'zh' and 'en' text", changes.at("variant"))
    without = changes.get("without")
    if set(changes) == {"without"} and isinstance(without, list):
        ids = ", ".join(str(r) for r in without)
        return Text(f"去掉规则 {ids}", f"without rule {ids}")
    return Text(label, label)


def _values_only(changes: YMap) -> bool:
    """Whether the overlay changes parameter values and nothing else."""
    if not set(changes) <= {"variant", "parameters"}:
        return False
    parameters = changes.get("parameters") or {}
    return all(isinstance(entry, Mapping) and set(entry) <= {"values", "set", "note"} for entry in parameters.values())


# Located values from Python arguments, so that errors name the call and the column in an expression.


def _located(value: Any, label: str) -> Any:
    where = Location(label, 1, 1)
    if isinstance(value, Mapping):
        out = YMap()
        out.location, out.key_locations, out.nodes = where, {}, {}
        mark = yaml.Mark(label, 0, 0, 0, None, 0)
        for key, item in value.items():
            if not isinstance(key, str):
                raise RulesetError(f"keys are names, not {key!r}", where)
            out[key] = _located(item, label)
            out.key_locations[key] = where
            out.nodes[key] = yaml.ScalarNode("tag:yaml.org,2002:str", str(item), mark, mark)
        return out
    if isinstance(value, (list, tuple)):
        items = YList(_located(item, label) for item in value)
        items.location, items.item_locations = where, [where] * len(items)
        return items
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RulesetError(f"{value!r} is not a number a ruleset can hold: give a finite amount", where)
        return Decimal(str(value))  # the number as written, not its binary approximation
    return value


def _copy(source: YMap | None, where: Location) -> YMap:
    out = YMap(source or {})
    out.location = source.location if source is not None else where
    out.key_locations = dict(source.key_locations) if source is not None else {}
    out.nodes = dict(source.nodes) if source is not None else {}
    return out


def _put(target: YMap, key: str, value: Any, source: YMap) -> None:
    """Set ``target[key]`` to the overlay's value, keeping where the overlay wrote it."""
    target[key] = value
    target.key_locations[key] = source.at(key)
    if key in source.nodes:
        target.nodes[key] = source.nodes[key]


def _list(items: list[str], where: Location) -> YList:
    out = YList(items)
    out.location, out.item_locations = where, [where] * len(items)
    return out


class _Merge:
    """The base's definition with an overlay's changes; the base's own values are copied, never changed."""

    def __init__(self, base: YMap, changes: YMap):
        self.d = d = _copy(base, base.location)
        for section in ("parameters", "derived", "rules", "decisions"):
            d[section] = _copy(base.get(section), base.location)
        self.changes = changes
        self._parameters()
        self._patch("derived", DERIVED_KEYS, "derived fact", new_needs=None)
        self._patch("rules", RULE_KEYS, "rule", new_needs="add_to")
        self._without()
        self._patch("decisions", None, "decision", new_needs=None)
        self.definition = d

    def _section(self, key: str) -> YMap:
        section = self.changes.get(key)
        if section is None:
            return _copy(None, self.changes.location)
        if not isinstance(section, YMap):
            raise RulesetError(f"'{key}' in an overlay is a mapping by name", self.changes.at(key))
        return section

    def _entry(self, section: YMap, name: str, allowed: frozenset[str] | None, what: str) -> YMap:
        entry = section[name]
        if not isinstance(entry, YMap):
            raise RulesetError(f"the change to {what} {name!r} is a mapping of its fields", section.at(name))
        if allowed is not None:
            for key in entry:
                if key not in allowed:
                    raise RulesetError(
                        f"unknown key {key!r} in the change to {what} {name!r}",
                        entry.at(key),
                        did_you_mean(key, allowed),
                    )
        return entry

    def _parameters(self) -> None:
        section = self._section("parameters")
        target = self.d["parameters"]
        for name in section:
            change = self._entry(section, name, PARAMETER_KEYS, "parameter")
            existing = target.get(name)
            if existing is None and "values" not in change:
                raise RulesetError(
                    f"unknown parameter {name!r}",
                    section.at(name),
                    did_you_mean(name, target) or "a new parameter needs 'values'",
                )
            entry = _copy(existing, change.location)
            for key in change:
                if key != "set":
                    _put(entry, key, change[key], change)
            if "set" in change:
                entry["values"] = self._set(entry.get("values"), change, name)
            target[name] = entry
            target.key_locations.setdefault(name, section.at(name))

    def _set(self, values: Any, change: YMap, name: str) -> YList:
        """The parameter's values with one value in force from a date on (or throughout, without a date)."""
        given = change["set"]
        where = change.at("set")
        if not isinstance(given, YMap) or "value" not in given:
            raise RulesetError(
                f"'set' of parameter {name!r} needs 'value' (and may give 'from', 'note', 'cite')", where
            )
        for key in given:
            if key not in ("from", "value", "note", "cite"):
                raise RulesetError(
                    f"unknown key {key!r} in 'set' of parameter {name!r}",
                    given.at(key),
                    did_you_mean(key, ("from", "value", "note", "cite")),
                )
        old = list(values) if isinstance(values, list) else []
        old_locations = getattr(values, "item_locations", [where] * len(old))
        start = given.get("from")
        if start is not None and (not isinstance(start, date) or isinstance(start, datetime)):
            raise RulesetError(f"'from' in 'set' of parameter {name!r} must be a date (YYYY-MM-DD)", given.at("from"))
        if start is None:
            firsts = [first for v in old if isinstance(v, Mapping) and isinstance(first := v.get("from"), date)]
            if not firsts:
                raise RulesetError(
                    f"'set' of parameter {name!r} needs 'from': the parameter has no dated value yet", where
                )
            start, kept = min(firsts), []
        else:
            kept = [
                i
                for i, v in enumerate(old)
                if isinstance(v, Mapping) and isinstance(v.get("from"), date) and v["from"] < start
            ]
        item = _copy(given, given.location)
        item["from"] = start
        item.setdefault("note", "variant")
        out = YList([*(old[i] for i in kept), item])
        out.location = where
        out.item_locations = [*(old_locations[i] for i in kept), given.location]
        return out

    def _patch(self, key: str, allowed: frozenset[str] | None, what: str, new_needs: str | None) -> None:
        section = self._section(key)
        target = self.d[key]
        for name in section:
            change = self._entry(section, name, allowed, what)
            existing = target.get(name)
            if existing is None and new_needs is not None and new_needs not in change:
                raise RulesetError(
                    f"{what} {name!r} is new: say where it goes with 'add_to: [decision, role]' "
                    f"(role: {', '.join(ROLES)})",
                    section.at(name),
                    did_you_mean(name, target),
                )
            if existing is not None and not isinstance(existing, YMap):
                raise RulesetError(f"{what} {name!r} of the base is not a mapping", section.at(name))
            entry = _copy(existing, change.location)
            for field in change:
                if field != "add_to":
                    _put(entry, field, change[field], change)
            target[name] = entry
            target.key_locations.setdefault(name, section.at(name))
            if "add_to" in change:
                self._add_to(name, change)

    def _add_to(self, rule_id: str, change: YMap) -> None:
        where = change.at("add_to")
        place = change["add_to"]
        if not (isinstance(place, list) and len(place) == 2 and all(isinstance(p, str) for p in place)):
            raise RulesetError("'add_to' is [decision, role]", where, "role: " + ", ".join(ROLES))
        decision, role = place
        decisions = self.d["decisions"]
        if decision not in decisions:
            raise RulesetError(f"unknown decision {decision!r}", where, did_you_mean(decision, decisions))
        if role not in ROLES:
            raise RulesetError(
                f"unknown role {role!r}", where, did_you_mean(role, ROLES) or "roles: " + ", ".join(ROLES)
            )
        entry = _copy(decisions[decision], decisions[decision].location)
        current = list(entry.get(role) or [])
        if rule_id not in current:
            entry[role] = _list([*current, rule_id], where)
        decisions[decision] = entry

    def _without(self) -> None:
        without = self.changes.get("without")
        if without is None:
            return
        where = self.changes.at("without")
        if not isinstance(without, list) or not all(isinstance(r, str) for r in without):
            raise RulesetError("'without' is a list of rule ids", where)
        rules, decisions = self.d["rules"], self.d["decisions"]
        for rule_id in without:
            if rule_id not in rules:
                raise RulesetError(f"unknown rule {rule_id!r}", where, did_you_mean(rule_id, rules))
            del rules[rule_id]
            for name, spec in list(decisions.items()):
                if not isinstance(spec, YMap):
                    continue
                if any(isinstance(spec.get(role), list) and rule_id in spec[role] for role in ROLES):
                    entry = _copy(spec, spec.location)
                    for role in ROLES:
                        if isinstance(spec.get(role), list) and rule_id in spec[role]:
                            entry[role] = _list([r for r in spec[role] if r != rule_id], spec.at(role))
                    decisions[name] = entry
