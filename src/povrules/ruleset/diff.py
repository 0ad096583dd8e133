"""What changed between two versions of a ruleset: rules, parameters (value by value, with dates),
derived facts and decisions.

``diff_rulesets(old, new)`` compares two loaded rulesets, so ``extends`` is already resolved: a
change in the national base shows in every county ruleset that extends it.
"""

from __future__ import annotations

from typing import Any

import attrs

from povrules.canonical import json_value
from povrules.ruleset.model import Citation, DecisionSpec, Parameter, ParameterValue, Rule, Ruleset, Text
from povrules.wording import DIFF_WORDS, check_lang, phrase


def expression_text(expr: Any) -> str:
    """An expression's text with its layout normalised: a re-wrapped line is not a change.

    Public because :mod:`povrules.compare` names changed conditions with the same text.
    """
    return " ".join(expr.text.split())


def _cite(citation: Citation | None) -> dict[str, Any] | None:
    if citation is None:
        return None
    return {"file": citation.file, "line": citation.line, "end_line": citation.end_line, "quote": citation.quote}


def _text(text: Text | None) -> dict[str, str] | None:
    return None if text is None else {"zh": text.zh, "en": text.en}


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict) and "file" in value and "quote" in value:
        lines = str(value["line"]) if value["line"] == value["end_line"] else f"{value['line']}-{value['end_line']}"
        return f"{value['file']}:{lines} “{value['quote']}”"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


@attrs.frozen
class FieldChange:
    """One field that differs: its name and both values (JSON-ready)."""

    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@attrs.frozen
class RuleEntry:
    """A rule added or removed: its id, title, condition and citation."""

    id: str
    title: dict[str, str]
    condition: str
    outcome: str | None
    cite: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "condition": self.condition,
            "outcome": self.outcome,
            "cite": self.cite,
        }


@attrs.frozen
class RuleChange:
    """A rule in both versions whose definition differs; ``changes`` lists each field that did."""

    id: str
    changes: tuple[FieldChange, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "changes": [c.to_dict() for c in self.changes]}


@attrs.frozen
class DatedValue:
    """One dated value of a parameter: the date it takes effect (``from``), the value and its citation."""

    start: str
    value: Any
    cite: dict[str, Any] | None
    until: str | None = None  # the last day of a value with a term

    def to_dict(self) -> dict[str, Any]:
        out = {"from": self.start, "value": self.value, "cite": self.cite}
        if self.until is not None:
            out["until"] = self.until
        return out


@attrs.frozen
class ValueChange:
    """A value whose ``from`` date is in both versions, with a different value or citation."""

    start: str
    old: DatedValue
    new: DatedValue

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start, "old": self.old.to_dict(), "new": self.new.to_dict()}


@attrs.frozen
class ParameterEntry:
    """A parameter added or removed, with all its dated values."""

    name: str
    unit: str | None
    values: tuple[DatedValue, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, "values": [v.to_dict() for v in self.values]}


@attrs.frozen
class ParameterChange:
    """A parameter in both versions: the dated values added, removed and changed, and other fields changed."""

    name: str
    unit: str | None
    values_added: tuple[DatedValue, ...] = ()
    values_removed: tuple[DatedValue, ...] = ()
    values_changed: tuple[ValueChange, ...] = ()
    changes: tuple[FieldChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "values_added": [v.to_dict() for v in self.values_added],
            "values_removed": [v.to_dict() for v in self.values_removed],
            "values_changed": [v.to_dict() for v in self.values_changed],
            "changes": [c.to_dict() for c in self.changes],
        }


@attrs.frozen
class NamedChange:
    """A derived fact or a decision added, removed or changed (``change``), with the fields that differ."""

    name: str
    change: str  # "added", "removed" or "changed"
    changes: tuple[FieldChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "change": self.change, "changes": [c.to_dict() for c in self.changes]}


@attrs.frozen
class RulesetDiff:
    """The differences between two rulesets, in a deterministic order (by id, name and date)."""

    old: dict[str, Any]
    new: dict[str, Any]
    rules_added: tuple[RuleEntry, ...] = ()
    rules_removed: tuple[RuleEntry, ...] = ()
    rules_changed: tuple[RuleChange, ...] = ()
    parameters_added: tuple[ParameterEntry, ...] = ()
    parameters_removed: tuple[ParameterEntry, ...] = ()
    parameters_changed: tuple[ParameterChange, ...] = ()
    derived_changed: tuple[NamedChange, ...] = ()
    decisions_changed: tuple[NamedChange, ...] = ()
    changes: tuple[FieldChange, ...] = ()  # the ruleset's own fields: title, jurisdiction, subject

    @property
    def is_empty(self) -> bool:
        """True when the two rulesets define the same rules, parameters, derived facts and decisions."""
        return not (
            self.rules_added
            or self.rules_removed
            or self.rules_changed
            or self.parameters_added
            or self.parameters_removed
            or self.parameters_changed
            or self.derived_changed
            or self.decisions_changed
            or self.changes
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in a fixed order: the same two rulesets always give the same document."""
        return {
            "old": dict(self.old),
            "new": dict(self.new),
            "empty": self.is_empty,
            "ruleset": [c.to_dict() for c in self.changes],
            "rules": {
                "added": [r.to_dict() for r in self.rules_added],
                "removed": [r.to_dict() for r in self.rules_removed],
                "changed": [r.to_dict() for r in self.rules_changed],
            },
            "parameters": {
                "added": [p.to_dict() for p in self.parameters_added],
                "removed": [p.to_dict() for p in self.parameters_removed],
                "changed": [p.to_dict() for p in self.parameters_changed],
            },
            "derived": [d.to_dict() for d in self.derived_changed],
            "decisions": [d.to_dict() for d in self.decisions_changed],
        }

    def explain(self, lang: str = "en") -> str:
        """The changes as lines of text, in Chinese (``zh``) or English (``en``). Raises :class:`~povrules.errors.LanguageError` for another language."""
        w = DIFF_WORDS[check_lang(lang)]

        def since(start: object) -> str:
            return phrase("since", lang, start=start)

        head = (
            f"{self.old['id']} {self.old['version']} ({self.old['digest'][:19]}…) → "
            f"{self.new['id']} {self.new['version']} ({self.new['digest'][:19]}…)"
        )
        lines = [head]
        if self.is_empty:
            lines.append(w["none"])
            return "\n".join(lines)
        for c in self.changes:
            lines.append(f"{w['ruleset']} {c.field}: {_show(c.old)} → {_show(c.new)}")
        for r in self.rules_added:
            lines.append(f"+ {w['rule']} {r.id}: {r.condition}" + (f" → {r.outcome}" if r.outcome else ""))
        for r in self.rules_removed:
            lines.append(f"- {w['rule']} {r.id}: {r.condition}" + (f" → {r.outcome}" if r.outcome else ""))
        for rc in self.rules_changed:
            lines.append(f"~ {w['rule']} {rc.id}:")
            for c in rc.changes:
                lines.append(f"    {w.get(c.field, c.field)}: {_show(c.old)} → {_show(c.new)}")
        for mark, entries in (("+", self.parameters_added), ("-", self.parameters_removed)):
            for p in entries:
                unit = f" {p.unit}" if p.unit else ""
                lines.append(
                    f"{mark} {w['parameter']} {p.name}: "
                    + "; ".join(f"{_show(v.value)}{unit} ({since(v.start)})" for v in p.values)
                )
        for pc in self.parameters_changed:
            lines.append(f"~ {w['parameter']} {pc.name}:")
            unit = f" {pc.unit}" if pc.unit else ""
            for v in pc.values_added:
                lines.append(f"    + {since(v.start)}: {_show(v.value)}{unit}")
            for v in pc.values_removed:
                lines.append(f"    - {since(v.start)}: {_show(v.value)}{unit}")
            for vc in pc.values_changed:
                if vc.old.value != vc.new.value:
                    lines.append(f"    ~ {since(vc.start)}: {_show(vc.old.value)}{unit} → {_show(vc.new.value)}{unit}")
                if vc.old.cite != vc.new.cite:
                    lines.append(f"    ~ {since(vc.start)} {w['cite']}: {_show(vc.old.cite)} → {_show(vc.new.cite)}")
            for c in pc.changes:
                lines.append(f"    {w.get(c.field, c.field)}: {_show(c.old)} → {_show(c.new)}")
        for kind, items in (("derived", self.derived_changed), ("decision", self.decisions_changed)):
            for d in items:
                mark = {"added": "+", "removed": "-", "changed": "~"}[d.change]
                lines.append(f"{mark} {w[kind]} {d.name}" + (":" if d.changes else ""))
                for c in d.changes:
                    lines.append(f"    {c.field}: {_show(c.old)} → {_show(c.new)}")
        return "\n".join(lines)


def _rule_fields(rule: Rule) -> dict[str, Any]:
    return {
        "condition": expression_text(rule.when),
        "strength": rule.strength,
        "outcome": rule.outcome,
        "level": rule.level,
        "citation": _cite(rule.citation),
        "validity": {"from": json_value(rule.valid_from), "to": json_value(rule.valid_to)},
        "override_by": list(rule.override_by),
        "note": _text(rule.note),
        "title": _text(rule.title),
    }


def _entry(rule: Rule) -> RuleEntry:
    return RuleEntry(
        rule.id,
        {"zh": rule.title.zh, "en": rule.title.en},
        expression_text(rule.when),
        rule.outcome,
        _cite(rule.citation),
    )


def _changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(k, old[k], new[k]) for k in old if old[k] != new[k])


def _dated(pv: ParameterValue) -> DatedValue:
    return DatedValue(
        pv.start.isoformat(),
        json_value(pv.value),
        _cite(pv.citation),
        pv.end.isoformat() if pv.end is not None else None,
    )


def _parameter_entry(p: Parameter) -> ParameterEntry:
    return ParameterEntry(p.name, p.unit, tuple(_dated(v) for v in p.values))


def _parameter_change(old: Parameter, new: Parameter) -> ParameterChange | None:
    before = {v.start.isoformat(): _dated(v) for v in old.values}
    after = {v.start.isoformat(): _dated(v) for v in new.values}
    added = tuple(after[d] for d in sorted(after.keys() - before.keys()))
    removed = tuple(before[d] for d in sorted(before.keys() - after.keys()))
    changed = tuple(
        ValueChange(d, before[d], after[d]) for d in sorted(before.keys() & after.keys()) if before[d] != after[d]
    )
    fields = _changes(
        {
            "unit": old.unit,
            "type": str(old.type),
            "title": {"zh": old.title.zh, "en": old.title.en},
            "note": _text(old.note),
        },
        {
            "unit": new.unit,
            "type": str(new.type),
            "title": {"zh": new.title.zh, "en": new.title.en},
            "note": _text(new.note),
        },
    )
    if not (added or removed or changed or fields):
        return None
    return ParameterChange(new.name, new.unit, added, removed, changed, fields)


def decision_fields(spec: DecisionSpec) -> dict[str, Any]:
    """A decision's fields as plain values (expressions as :func:`expression_text`), to compare two versions of it."""
    transition = None
    if spec.transition is not None:
        transition = {
            "applies_to": list(spec.transition.applies_to),
            "on": {k: list(v) for k, v in sorted(spec.transition.on.items())},
        }
    return {
        "kind": spec.kind,
        "title": {"zh": spec.title.zh, "en": spec.title.en},
        "criteria": list(spec.criteria),
        "exceptions": list(spec.exceptions),
        "yes": spec.yes,
        "no": spec.no,
        "hit_policy": spec.hit_policy,
        "rows": list(spec.rows),
        "default": spec.default,
        "priority": list(spec.priority),
        "among_decision": spec.among_decision,
        "among_outcomes": list(spec.among_outcomes),
        "order": spec.order,
        "tiebreak": [{"expr": expression_text(t.expr), "descending": t.descending} for t in spec.tiebreak],
        "labels": {k: {"zh": v.zh, "en": v.en} for k, v in sorted(spec.labels.items())},
        "transition": transition,
    }


def _named(old: dict[str, Any], new: dict[str, Any], fields: Any) -> tuple[NamedChange, ...]:
    out = []
    for name in sorted(old.keys() | new.keys()):
        if name not in old:
            out.append(NamedChange(name, "added"))
        elif name not in new:
            out.append(NamedChange(name, "removed"))
        else:
            changes = _changes(fields(old[name]), fields(new[name]))
            if changes:
                out.append(NamedChange(name, "changed", changes))
    return tuple(out)


def _identity(ruleset: Ruleset) -> dict[str, Any]:
    return {"id": ruleset.id, "version": ruleset.version, "digest": ruleset.digest}


def diff_rulesets(old: Ruleset, new: Ruleset) -> RulesetDiff:
    """What changed from ``old`` to ``new``: rules, parameters, derived facts and decisions added, removed and changed.

    Rules and parameters are matched by id and name; a parameter's values by their ``from`` date.
    Everything is listed in a fixed order (ids, names and dates sorted).
    """
    old_rules, new_rules = old.rules, new.rules
    rules_changed = []
    for rule_id in sorted(old_rules.keys() & new_rules.keys()):
        changes = _changes(_rule_fields(old_rules[rule_id]), _rule_fields(new_rules[rule_id]))
        if changes:
            rules_changed.append(RuleChange(rule_id, changes))
    parameters_changed = []
    for name in sorted(old.parameters.keys() & new.parameters.keys()):
        change = _parameter_change(old.parameters[name], new.parameters[name])
        if change is not None:
            parameters_changed.append(change)
    own = _changes(
        {"title": {"zh": old.title.zh, "en": old.title.en}, "jurisdiction": old.jurisdiction, "subject": old.subject},
        {"title": {"zh": new.title.zh, "en": new.title.en}, "jurisdiction": new.jurisdiction, "subject": new.subject},
    )
    return RulesetDiff(
        old=_identity(old),
        new=_identity(new),
        rules_added=tuple(_entry(new_rules[i]) for i in sorted(new_rules.keys() - old_rules.keys())),
        rules_removed=tuple(_entry(old_rules[i]) for i in sorted(old_rules.keys() - new_rules.keys())),
        rules_changed=tuple(rules_changed),
        parameters_added=tuple(
            _parameter_entry(new.parameters[n]) for n in sorted(new.parameters.keys() - old.parameters.keys())
        ),
        parameters_removed=tuple(
            _parameter_entry(old.parameters[n]) for n in sorted(old.parameters.keys() - new.parameters.keys())
        ),
        parameters_changed=tuple(parameters_changed),
        derived_changed=_named(
            dict(old.derived),
            dict(new.derived),
            lambda d: {
                "expr": expression_text(d.expr),
                "title": {"zh": d.title.zh, "en": d.title.en},
                "requires": [{"expr": expression_text(r.expr), "cite": _cite(r.citation)} for r in d.requires],
            },
        ),
        decisions_changed=_named(dict(old.decisions), dict(new.decisions), decision_fields),
        changes=own,
    )
