"""Traces: the ``povrules.trace.v2`` document of a decision (and the ``povrules.trace.v1`` one that older
records hold), with their schemas.

Evaluation records tuples; this module turns them into JSON only when asked, so that tracing costs
little on the hot path. The document carries the titles to say it in words; saying it is
:mod:`povrules.text`'s work (and :mod:`povrules.html`'s). A decision on a case also carries its
``timeline`` (the steps in order, and each constraint with the steps it read and the days it counted);
a day count's operand carries its arguments' values, and a first()/last() the step it picked or the
marker of the step the case lacks.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from povrules._version import __version__
from povrules.canonical import canonical_json, facts_digest, json_value  # noqa: F401 - canonical_json, facts_digest: kept importable from here for callers of earlier versions
from povrules.errors import EvaluationError, UsageError
from povrules.lang import ast
from povrules.lang.compiler import (
    CLOSE,
    ELEMENT,
    OPEN,
    SIZE,
    Leaf,
    Mark,
    Unknown,
    absent_marker,
    add_days,
    days_between,
    element_path,
)
from povrules.lang.types import Field, Type
from povrules.sources import section, section_label, source_title
from povrules.wording import (
    ABSENT_PHRASES,
    ARITHMETIC_WORDS,
    COMPARISON_WORDS,
    LIST_TITLES,
    PERIOD_WORDS,
    UNIT_WORDS,
    fact_field,
    format_value,
    function_phrase,
    phrase_title,
    value_title,
    value_titles,
)
from povrules.workdays import add_working_days, calendar_days, working_days, working_days_between

if TYPE_CHECKING:
    from povrules.engine import Decision, RuleResult

TRACE_SCHEMA = "povrules.trace.v1"


def trace_schema(version: int = 2) -> dict[str, Any]:
    """The JSON Schema of ``povrules.trace.v2`` documents (``version=1``: of v1). Raises
    :class:`~povrules.errors.UsageError` (a ``ValueError``) for another version."""
    from importlib.resources import files

    if version not in (1, 2):
        raise UsageError(f"version: expected 1 or 2, got {version!r}")
    text = files("povrules").joinpath(f"schemas/trace.v{version}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _result(value: Any) -> str:
    if value is None:
        return "not_in_force"
    if isinstance(value, Unknown):
        return "unknown"
    return "true" if value else "false"


def _operand(node: ast.Node, value: Any, where: tuple[tuple[str, int], ...], root: str) -> dict[str, Any]:
    out: dict[str, Any] = {"expr": node.text, "value": json_value(value)}
    if isinstance(node, ast.FactRef):
        out["fact"] = root + "." + ".".join(node.path)
    elif isinstance(node, ast.VarRef) and where:
        out["fact"] = element_path(where[-1]) + "".join("." + p for p in node.path)
    elif isinstance(node, ast.ParamRef):
        out["parameter"] = node.name
    return out


def _condition(leaf: Leaf, root: str) -> dict[str, Any]:
    node, left, right, result, where = leaf
    out: dict[str, Any] = {"expr": node.text, "result": _result(result)}
    if where:
        out["where"] = [element_path(w) for w in where]
    if isinstance(node, ast.Compare):
        out["op"] = node.op
        out["left"] = _operand(node.left, left, where, root)
        out["right"] = _operand(node.right, right, where, root)
    else:
        out["value"] = _operand(node, left, where, root)
    return out


# What a rule's trace entry shows that depends only on the ruleset and the date: worked out once per
# (ruleset, rule, date) and kept as immutable pieces, so that each trace still gets dicts of its own (a
# caller may edit a trace, as the tests of tampered records do, without touching another).
_Static = tuple[
    tuple[str, str],
    tuple[tuple[str, Any, str | None, str | None, tuple[Any, ...] | None], ...],
    tuple[Any, ...] | None,
    tuple[Any, Any] | None,
]
_STATIC: dict[tuple[int, int, date], tuple[Any, Any, _Static]] = {}
_STATIC_MAX = 1 << 14  # entries; a long-running service making variants must not grow it without end


def _static(decision: Decision, rule: Any) -> _Static:
    ruleset = decision.ruleset
    key = (id(ruleset), id(rule), decision.as_of)
    hit = _STATIC.get(key)
    if hit is not None and hit[0] is ruleset and hit[1] is rule:
        return hit[2]
    in_force = decision.parameters
    parameters = []
    for name in rule.parameters:
        if name in rule.dated_parameters:
            continue  # read only through at(p.x, <date>): its value is in the condition, not the one on as_of
        pv = in_force.get(name)
        parameters.append(
            (
                name,
                pv.value if pv else None,
                str(pv.start) if pv else None,
                ruleset.parameters[name].unit or None,
                _cite_tuple(pv.citation) if pv and pv.citation else None,
            )
        )
    static: _Static = (
        (rule.title.zh, rule.title.en),
        tuple(parameters),
        _cite_tuple(rule.citation) if rule.citation else None,
        (rule.valid_from, rule.valid_to) if rule.valid_from or rule.valid_to else None,
    )
    if len(_STATIC) >= _STATIC_MAX:
        _STATIC.clear()
    _STATIC[key] = (ruleset, rule, static)  # holding both keeps their ids from being reused while cached
    return static


def _cite_tuple(citation: Any) -> tuple[Any, ...]:
    return (citation.file, citation.line, citation.end_line, citation.quote)


def _rule(decision: Decision, result: RuleResult) -> dict[str, Any]:
    rule = result.rule
    title, parameters, cite, valid = _static(decision, rule)
    root = decision.ruleset.root
    value = result.value
    out: dict[str, Any] = {
        "id": rule.id,
        "role": result.role,
        "title": {"zh": title[0], "en": title[1]},
        "strength": rule.strength,
        "result": _result(value),
        "status": result.status,
        "conditions": [_condition(leaf, root) for leaf in result.leaves],
        "parameters": [],
    }
    if rule.outcome is not None:
        out["outcome"] = rule.outcome
    if isinstance(value, Unknown):
        out["missing"] = sorted(value.missing)
        refused = refusals(decision.ruleset, value.missing)
        if refused:
            out["refused"] = [
                _refusal(marker, derived, index, requirement) for marker, derived, index, requirement in refused
            ]
    entries = out["parameters"]
    for name, pvalue, start, unit, pcite in parameters:
        entry: dict[str, Any] = {"name": name, "value": json_value(pvalue), "from": start}
        if unit:
            entry["unit"] = unit
        if pcite is not None:
            entry["cite"] = {"file": pcite[0], "line": pcite[1], "end_line": pcite[2], "quote": pcite[3]}
        entries.append(entry)
    if cite is not None:
        out["cite"] = {"file": cite[0], "line": cite[1], "end_line": cite[2], "quote": cite[3]}
    if valid is not None:
        out["valid"] = {"from": json_value(valid[0]), "to": json_value(valid[1])}
    if rule.override_by:
        out["override_by"] = list(rule.override_by)
    if result.override is not None:
        out["override"] = result.override.model_dump(mode="json", exclude_none=True)
    if result.contradicting:
        out["contradicting"] = [o.model_dump(mode="json", exclude_none=True) for o in result.contradicting]
    if rule.note:
        out["note"] = rule.note.en  # v1 holds one text: the English, as before notes had two
    return out


def refusals(ruleset: Any, missing: Iterable[str]) -> list[tuple[str, Any, int, Any]]:
    """The entries of a missing-facts set that are refused figures (a ``requires:`` not met), sorted,
    each with its derived figure, the requirement's index and the requirement."""
    out = []
    for marker in sorted(missing):
        found = ruleset.requirement(marker)
        if found is not None:
            out.append((marker, *found))
    return out


def _refusal(marker: str, derived: Any, index: int, requirement: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "marker": marker,
        "derived": derived.name,
        "requirement": index,
        "expr": requirement.expr.text,
    }
    if requirement.citation is not None:
        entry["cite"] = _cite(requirement.citation)
    if requirement.note:
        entry["note"] = requirement.note.en
    return entry


def is_year(node: ast.Node) -> bool:
    """Whether a node's value is a calendar year (``year(d)``, a fact counted in 年), which is printed
    without digit grouping: 2021, not 2,021 (a v2 trace marks such an operand ``"year": true``)."""
    if isinstance(node, ast.Call):
        return node.func == "year"
    return isinstance(node, (ast.FactRef, ast.VarRef)) and node.field is not None and node.field.unit == "年"


def _cite(citation: Any) -> dict[str, Any]:
    return {"file": citation.file, "line": citation.line, "end_line": citation.end_line, "quote": citation.quote}


def to_trace(decision: Decision, *, facts_digest: str | None = None, version: int = 2) -> dict[str, Any]:
    """The full trace document of a decision: ``povrules.trace.v2`` (see :func:`to_trace_v2`), or with
    ``version=1`` the ``povrules.trace.v1`` document that records before v2 hold.

    ``facts_digest``, when the caller has it already (:func:`povrules.audit.make_record` dumps the
    facts once for the record and the digest), saves dumping and hashing the facts again; it must be
    :func:`povrules.canonical.facts_digest` of ``decision.facts``. Raises :class:`~povrules.errors.UsageError`
    (a ``ValueError``) for another version.
    """
    if version == 2:
        return to_trace_v2(decision, facts_digest=facts_digest)
    if version != 1:
        raise UsageError(f"version: expected 1 or 2, got {version!r}")
    document = _header(decision, facts_digest)
    document["rules"] = [_rule(decision, r) for r in decision.results]
    return document


def _header(decision: Decision, facts_digest: str | None) -> dict[str, Any]:
    """The parts of a trace (v1, or v2 but its schema) that do not describe the rules."""
    ruleset = decision.ruleset
    spec = ruleset.decisions[decision.decision]
    if facts_digest is None:
        facts_digest = _facts_digest(decision.facts)
    return {
        "schema": TRACE_SCHEMA,
        "engine": {"name": "povrules", "version": __version__},
        "ruleset": {
            "id": ruleset.id,
            "version": ruleset.version,
            "digest": ruleset.digest,
            "jurisdiction": ruleset.jurisdiction,
        },
        "decision": {
            "name": decision.decision,
            "kind": decision.kind,
            "title": {"zh": spec.title.zh, "en": spec.title.en},
        },
        "as_of": decision.as_of.isoformat(),
        "subject": ruleset.subject,
        "facts_id": decision.facts_id,
        "facts_digest": facts_digest,
        "traced": decision.traced,
        "outcome": decision.outcome,
        "labels": list(decision.labels),
        "missing": list(decision.missing),
        "possible": list(decision.possible),
        "reasons": list(decision.reasons),
    }


_facts_digest = facts_digest  # to_trace's keyword hides the module's name


# The povrules.trace.v2 document: the structure of each condition, and the titles to say it in words.

TRACE_SCHEMA_V2 = "povrules.trace.v2"
TRACE_SCHEMAS = (TRACE_SCHEMA, TRACE_SCHEMA_V2)

_INDEX = re.compile(r"\[\d+\]")


def title_key(operand: Mapping[str, Any]) -> str:
    """The key under which a v2 trace's ``titles`` names an operand: its fact path without list
    indices (``hh.members.age``), ``p.<parameter>``, ``d.<derived fact>``, or its expression."""
    if "fact" in operand:
        return _INDEX.sub("", str(operand["fact"]))
    if "parameter" in operand:
        return "p." + str(operand["parameter"])
    if "derived" in operand:
        return "d." + str(operand["derived"])
    return str(operand.get("expr", "?"))


class _Titles:
    """The titles a v2 trace carries: each fact, parameter, derived fact, call and list element it names,
    and the enumerated values it shows, in both languages."""

    def __init__(self, decision: Decision):
        self.decision = decision
        self.ruleset = decision.ruleset
        self.root = decision.ruleset.root
        self.titles: dict[str, dict[str, Any]] = {}
        self.elements: dict[str, dict[str, str]] = {}
        # The values of derived facts and first()/last() worked out so far (by d.<name> or the expression):
        # a day count's arguments are shown with them.
        self.values: dict[str, Any] = {}

    def name(self, key: str, zh: str, en: str, unit: str | None = None) -> None:
        if key not in self.titles:
            entry: dict[str, Any] = {"zh": zh, "en": en}
            if unit:
                entry["unit"] = unit
            self.titles[key] = entry

    def value(self, key: str, field: Field | Type, value: Any) -> None:
        """Title the enumerated values shown of fact ``key`` (whose own title must be there already)."""
        vocabulary = value_titles(field)
        if vocabulary is None:
            return
        for v in value if isinstance(value, (tuple, list, frozenset)) else (value,):
            found = vocabulary.get(v) if isinstance(v, str) else None
            if found is not None:
                self.titles[key].setdefault("values", {})[v] = {"zh": found[0], "en": found[1]}

    def element(self, where: tuple[str, int]) -> str:
        path = element_path(where)
        if path not in self.elements:
            self.elements[path] = element_label(self.decision.facts, self.root, where)
        return path


def element_label(facts: Any, root: str, where: tuple[str, int]) -> dict[str, str]:
    """How a list element is named to a reader, by its place (from 1) and, for a person, the age and the
    relation to the head when recorded: 成员2（45岁，户主之配偶） / member 2 (aged 45, the head's spouse); a loan
    as 第1笔贷款 / loan 1. Never by a name, which records may have to hide."""
    base, index = where
    field = base.rsplit(".", 1)[-1]
    number = index + 1
    age = None
    obj: Any = facts
    for name in base[len(root) + 1 :].split(".") if base.startswith(root + ".") else ():
        obj = getattr(obj, _INDEX.sub("", name), None) if "[" not in name else _item(obj, name)
    if isinstance(obj, tuple) and index < len(obj):
        age = getattr(obj[index], "age", None)
    if field == "members":
        zh, en = f"成员{number}", f"member {number}"
        said_zh, said_en = [], []
        if isinstance(age, int):
            said_zh.append(f"{age}岁")
            said_en.append(f"aged {age}")
        relation = _relation(obj[index] if isinstance(obj, tuple) and index < len(obj) else None, base)
        if relation is not None:
            said_zh.append(relation[0])
            said_en.append(relation[1])
        if said_zh:
            zh, en = f"{zh}（{'，'.join(said_zh)}）", f"{en} ({', '.join(said_en)})"
        return {"zh": zh, "en": en}
    if field == "loans":
        return {"zh": f"第{number}笔贷款", "en": f"loan {number}"}
    if base == "case.events" and isinstance(obj, tuple) and index < len(obj):
        return event_label(obj[index])
    return {"zh": f"第{number}项", "en": f"item {number}"}


def event_label(event: Any) -> dict[str, str]:
    """A step of a case as a reader knows it: its title and day, 村级公示（2021-09-22） / village posting
    (2021-09-22); for a step that lasts, its first and last day (2021-09-22至2021-09-28)."""
    zh, en = _code_titles("case.events.step", event.step)
    days_zh = f"{event.date}至{event.end}" if event.end is not None else str(event.date)
    days_en = f"{event.date} to {event.end}" if event.end is not None else str(event.date)
    return {"zh": f"{zh}（{days_zh}）", "en": f"{en} ({days_en})"}


def _code_titles(path: str, code: str) -> tuple[str, str]:
    """A code of a fact by its titles (zh, en); the code itself where the vocabulary lacks it."""
    field = fact_field(path)
    vocabulary = value_titles(field) if field is not None else None
    found = vocabulary.get(code) if vocabulary is not None else None
    return (found[0], found[1]) if found is not None else (code, code)


def _relation(member: Any, base: str) -> tuple[str, str] | None:
    """A member's relation to the head of household by its titles (户主之母 / the head's mother), when the
    facts record one; a relation is not personal data the way a name is, and tells a clerk who is meant."""
    code = getattr(member, "relation", None)
    if not isinstance(code, str):
        return None
    field = fact_field(_INDEX.sub("", base) + ".relation")
    vocabulary = value_titles(field) if field is not None else None
    found = vocabulary.get(code) if vocabulary is not None else None
    if found is None:
        return (code, code)
    if code in ("head", "other"):
        return (found[0], found[1])
    return (f"户主之{found[0]}", f"the head's {found[1]}")  # a relation is to the head of the household


def _item(obj: Any, step: str) -> Any:
    name, _, rest = step.partition("[")
    items = getattr(obj, name, None)
    index = int(rest.rstrip("]"))
    return items[index] if isinstance(items, tuple) and index < len(items) else None


def _operand_v2(node: ast.Node, value: Any, where: tuple[tuple[str, int], ...], titles: _Titles) -> dict[str, Any]:
    out: dict[str, Any] = {"expr": node.text, "value": json_value(value)}
    root = titles.root
    if isinstance(node, ast.FactRef):
        out["fact"] = key = root + "." + ".".join(node.path)
        field = node.field
        label_zh, label_en = field.zh, short_title(field.en)
        if len(node.trail) >= 3:
            parent = node.trail[-2]
            label_zh, label_en = f"{parent.zh}{label_zh}", f"{short_title(parent.en)}: {label_en}"
        if key in LIST_TITLES:
            label_zh, label_en = LIST_TITLES[key]
        titles.name(key, label_zh, label_en, field.unit)
        titles.value(key, field, value)
        if field.judged and not isinstance(value, Unknown):
            judged = _judged(titles.decision.facts, node.path)
            if judged is not None:
                out["judged"] = judged
    elif isinstance(node, ast.VarRef) and where:
        base = titles.element(where[-1])
        out["fact"] = base + "".join("." + p for p in node.path)
        key = title_key(out)
        if node.field is not None:
            titles.name(key, node.field.zh, short_title(node.field.en), node.field.unit)
            titles.value(key, node.field, value)
        elif node.type is not None and key not in titles.titles:  # a list's element itself (a code of a list)
            listed = fact_field(key)
            if listed is not None:
                titles.name(key, listed.zh, short_title(listed.en))
                titles.value(key, node.type, value)
        elif node.type is not None:
            titles.value(key, node.type, value)
    elif isinstance(node, ast.ParamRef):
        out["parameter"] = node.name
        parameter = titles.ruleset.parameters[node.name]
        titles.name("p." + node.name, parameter.title.zh, parameter.title.en, parameter.unit)
    elif isinstance(node, ast.DerivedRef):
        out["derived"] = node.name
        derived = titles.ruleset.derived[node.name]
        titles.name("d." + node.name, derived.title.zh or node.name, derived.title.en or node.name)
        if root == "case" and node.type is not None:
            titles.value("d." + node.name, node.type, value)  # a step's code (a posting's place) by its title
    elif isinstance(node, (ast.Call, ast.Arith, ast.Neg, ast.Cond, ast.Quant)):
        out["computed"] = True  # said by its title, or (with none) by its expression
        if node.text not in titles.titles:
            said = (
                _quant_titles(node, titles.ruleset)
                if isinstance(node, ast.Quant)
                else expression_titles(node, titles.ruleset)
            )
            days = isinstance(node, ast.Call) and (node.func in _OFFICIAL or root == "case")
            unit = _DAY_UNITS.get(node.func) if days else _element_unit(node) if isinstance(node, ast.Quant) else None  # type: ignore[union-attr]
            if said is not None:
                titles.name(node.text, *said, unit=unit)
        if isinstance(node, ast.Call) and node.func in DAY_FUNCTIONS and (node.func in _OFFICIAL or root == "case"):
            # A day count or a date worked out from dates: said with each date it reads and its value (the
            # calendar's days_between and add_days so only on a case: household explanations stay as they were).
            out["call"] = node.func
            out["args"] = [_operand_v2(a, _value_of(a, where, titles), where, titles) for a in node.args]
    if is_year(node):
        out["year"] = True
    return out


# A count or sum compared with a figure: its elements are listed just above the comparison.
_QUANT_TITLES = {"count": ("上述数目", "the number above"), "sum": ("上述合计", "the total above")}

# The functions of days (of the official calendar and of the calendar): a trace operand of one holds its
# arguments with their values, for a reader to see which dates were counted.
DAY_FUNCTIONS: dict[str, Any] = {
    "days_between": days_between,
    "working_days_between": working_days_between,
    "calendar_days": calendar_days,
    "working_days": working_days,
    "add_days": add_days,
    "add_working_days": add_working_days,
}
_OFFICIAL = frozenset(
    {"working_days_between", "working_days", "calendar_days", "add_working_days"}
)  # povrules.workdays
_DAY_UNITS = {"days_between": "天", "calendar_days": "天", "working_days_between": "工作日", "working_days": "工作日"}


def _quant_titles(node: ast.Quant, ruleset: Any) -> tuple[str, str] | None:
    """A quantifier compared with a figure by its words: count and sum by the elements listed above it,
    first() and last() as the element they pick (办理环节中第一个环节为村级公示的日期)."""
    if node.func in ("first", "last"):
        return first_last_titles(node, ruleset)
    return _QUANT_TITLES.get(node.func)


def _element_unit(node: ast.Quant) -> str | None:
    """The unit of what first()/last() gives (人 for a step's people): its element field's."""
    element = node.element
    if node.func in ("first", "last") and isinstance(element, ast.VarRef) and element.field is not None:
        return element.field.unit or None
    return None


def first_last_titles(node: ast.Quant, ruleset: Any) -> tuple[str, str] | None:
    """``first(e.date for e in case.events if e.step == "village_posting")`` in words in both languages:
    办理环节中第一个环节为村级公示的日期 / the date of the first event of the case's steps whose step is village
    posting. None when a part has no words."""
    listed = _list_path(node.source, ruleset)
    if listed is None:
        return None
    out = []
    for lang in ("zh", "en"):
        what = where_words(node.where, listed, lang) if node.where is not None else None
        element = (
            phrase_title(listed + "." + ".".join(node.element.path), lang)
            if isinstance(node.element, ast.VarRef) and node.element.path
            else None
        )
        if what is None or element is None:
            return None
        out.append(function_phrase(node.func, [phrase_title(listed, lang), what, element], lang))
    return out[0], out[1]


def _list_path(source: ast.Node, ruleset: Any) -> str | None:
    return ruleset.root + "." + ".".join(source.path) if isinstance(source, ast.FactRef) else None


def where_words(node: ast.Node, listed: str, lang: str) -> str | None:
    """The condition of a first()/last() (or of an absent step) in words: 环节为村级公示 / step is village
    posting; conditions joined by 且 / and. None when a part has no words."""
    if isinstance(node, ast.And):
        parts = [where_words(item, listed, lang) for item in node.items]
        if any(p is None for p in parts):
            return None
        return ("且" if lang == "zh" else " and ").join(str(p) for p in parts)
    if not isinstance(node, ast.Compare) or not isinstance(node.left, ast.VarRef) or not node.left.path:
        return None
    path = listed + "." + ".".join(node.left.path)
    field = node.left.field
    named = phrase_title(path, lang)
    right = node.right
    if isinstance(right, ast.Const) and isinstance(right.value, str) and field is not None:
        code = value_title(field, right.value, lang)
        if node.op == "==":
            return f"{named}为{code}" if lang == "zh" else f"{named} is {code}"
        if node.op == "!=":
            return f"{named}不是{code}" if lang == "zh" else f"{named} is not {code}"
        return None
    if isinstance(right, ast.ListLit) and field is not None and node.op in ("in", "not_in"):
        codes = [value_title(field, str(item.value), lang) for item in right.items if isinstance(item, ast.Const)]
        joined = ("、" if lang == "zh" else ", ").join(codes)
        if lang == "zh":
            return f"{named}为{joined}之一" if node.op == "in" else f"{named}不是{joined}中的任何一项"
        return f"{named} is one of {joined}" if node.op == "in" else f"{named} is none of {joined}"
    if isinstance(right, ast.Const) and isinstance(right.value, (int, Decimal)) and not isinstance(right.value, bool):
        return f"{named} {COMPARISON_WORDS[lang][node.op]} {right.value}" if node.op in COMPARISON_WORDS[lang] else None
    return None


def absent_titles(marker: str, node: ast.Quant, ruleset: Any) -> tuple[str, str]:
    """The words of an absent marker (``case.events[e.step == "village_posting"]``): 办理环节中没有环节为村级
    公示的记录 / no village posting among the case's steps; the marker itself where a part has no words."""
    listed = _list_path(node.source, ruleset)
    out = []
    for lang in ("zh", "en"):
        words = ABSENT_PHRASES[lang]
        if listed is None:
            out.append(marker)
            continue
        list_words = phrase_title(listed, lang)
        where = node.where
        if where is None:
            out.append(words["empty"].format(list=list_words))
            continue
        if (
            lang == "en"
            and isinstance(where, ast.Compare)
            and where.op == "=="
            and isinstance(where.left, ast.VarRef)
            and where.left.path == ("step",)
            and isinstance(where.right, ast.Const)
            and where.left.field is not None
        ):
            code = value_title(where.left.field, str(where.right.value), lang)
            out.append(words["step"].format(code=code, list=list_words))
            continue
        what = where_words(where, listed, lang)
        out.append(marker if what is None else words["any"].format(list=list_words, what=what))
    return out[0], out[1]


def _value_of(node: ast.Node, where: tuple[tuple[str, int], ...], titles: _Titles) -> Any:
    """The value of a day function's argument, as the evaluation had it: a constant, the date, a parameter
    in force, a derived fact or first()/last() worked out before it, a fact, or a day function of these."""
    decision = titles.decision
    if isinstance(node, ast.Const):
        return node.value
    if isinstance(node, ast.AsOf):
        return decision.as_of
    if isinstance(node, ast.ParamRef):
        pv = decision.parameters.get(node.name)
        return pv.value if pv is not None else None
    if isinstance(node, ast.DerivedRef):
        return titles.values.get("d." + node.name)
    if isinstance(node, ast.Quant):
        return titles.values.get(node.text)
    if isinstance(node, ast.FactRef):
        obj: Any = decision.facts
        for name in node.path:
            obj = getattr(obj, name, None)
        return obj
    if isinstance(node, ast.VarRef) and where and node.path:
        base, index = where[-1]
        items: Any = decision.facts
        for name in base[len(titles.root) + 1 :].split(".") if base.startswith(titles.root + ".") else ():
            items = getattr(items, name, None) if "[" not in name else _item(items, name)
        obj = items[index] if isinstance(items, tuple) and index < len(items) else None
        for name in node.path:
            obj = getattr(obj, name, None)
        return obj
    if isinstance(node, ast.Call) and node.func in DAY_FUNCTIONS:
        args = [_value_of(a, where, titles) for a in node.args]
        unknown = [a for a in args if isinstance(a, Unknown)]
        if unknown:
            merged = unknown[0]
            for other in unknown[1:]:
                merged = merged.merge(other)
            return merged
        if any(a is None for a in args):
            return None
        try:
            return DAY_FUNCTIONS[node.func](*args)
        except EvaluationError:
            return None
    return None


_GLOSS = re.compile(r" \(|: |; ")


def short_title(description: str) -> str:
    """A fact's English title for a sentence: its description up to the first gloss (`` (``, ``: ``, ``; ``)."""
    return _GLOSS.split(description, maxsplit=1)[0]


def expression_titles(node: ast.Node, ruleset: Any) -> tuple[str, str] | None:
    """A computed value in words in both languages, from the titles of what it reads:
    ``months_between(hh.monitoring.included_on, as_of)`` → 从纳入监测日期到评估日的整月数 / the whole months
    from … to the evaluation date. None when a part has no words (a conditional, a bare list element)."""
    zh, en = _said(node, ruleset, "zh"), _said(node, ruleset, "en")
    return None if zh is None or en is None else (zh, en)


_AS_OF = {"zh": "评估日", "en": "the evaluation date"}


def embedded(title: str) -> str:
    """An English title inside a phrase: its first letter small, unless the first word is an acronym."""
    if not title[:2].isalpha() or title[1].isupper():
        return title
    return title[0].lower() + title[1:]


def _said(node: ast.Node, ruleset: Any, lang: str) -> str | None:
    if isinstance(node, ast.FactRef):
        field = node.field
        return field.zh if lang == "zh" else embedded(short_title(field.en))
    if isinstance(node, ast.VarRef):
        return None if node.field is None else node.field.zh if lang == "zh" else embedded(short_title(node.field.en))
    if isinstance(node, ast.ParamRef):
        title = str(ruleset.parameters[node.name].title(lang))
        return title if lang == "zh" else embedded(title)
    if isinstance(node, ast.DerivedRef):
        title = str(ruleset.derived[node.name].title(lang))
        return (title if lang == "zh" else embedded(title)) or None
    if isinstance(node, ast.AsOf):
        return _AS_OF[lang]
    if isinstance(node, ast.Const):
        value = node.value
        return format_value(value, None, lang) if not isinstance(value, str) else value
    if isinstance(node, ast.Neg):
        inner = _said(node.item, ruleset, lang)
        return None if inner is None else ARITHMETIC_WORDS[lang]["-"] + ("" if lang == "zh" else " ") + inner
    if isinstance(node, ast.Arith):
        a, b = _said(node.left, ruleset, lang), _said(node.right, ruleset, lang)
        if a is None or b is None:
            return None
        op = ARITHMETIC_WORDS[lang][node.op]
        return f"{a}{op}{b}" if lang == "zh" else f"{a} {op} {b}"
    if isinstance(node, ast.Call):
        args = [_said(a, ruleset, lang) for a in node.args]
        if any(a is None for a in args):
            return None
        first = node.args[0] if node.args else None
        path = ruleset.root + "." + ".".join(first.path) if isinstance(first, ast.FactRef) else None
        try:
            return function_phrase(node.func, [str(a) for a in args], lang, path=path)
        except (KeyError, IndexError):  # a function the catalogue has no words for
            return None
    return None


def _judged(facts: Any, path: tuple[str, ...]) -> dict[str, str] | None:
    obj: Any = facts
    for name in path:
        obj = getattr(obj, name, None)
    if obj is None:
        return None
    return {"by": str(obj.by), "on": str(obj.on)}


def _leaf_v2(leaf: Leaf, titles: _Titles) -> dict[str, Any]:
    node, left, right, result, where = leaf
    out: dict[str, Any] = {"expr": node.text, "result": _result(result)}
    if isinstance(node, ast.Compare):
        out["op"] = node.op
        out["left"] = _operand_v2(node.left, left, where, titles)
        out["right"] = _operand_v2(node.right, right, where, titles)
        field = _codes_of(node.left)
        if (
            field is not None
            and ("fact" in out["left"] or "derived" in out["left"] and titles.root == "case")
            and isinstance(node.right, (ast.Const, ast.ListLit, ast.ParamRef))
        ):
            titles.value(title_key(out["left"]), field, right)  # the codes the rule asks for, by their titles
        field = _codes_of(node.right)
        if (
            field is not None
            and ("fact" in out["right"] or "derived" in out["right"] and titles.root == "case")
            and isinstance(node.left, (ast.Const, ast.ListLit, ast.ParamRef))
        ):
            titles.value(title_key(out["right"]), field, left)  # a code looked for in a list of codes
        if out["left"].get("year") or out["right"].get("year"):
            out["left"]["year"] = out["right"]["year"] = True
    else:
        out["value"] = _operand_v2(node, left, where, titles)
    return out


def _codes_of(node: ast.Node) -> Field | Type | None:
    """What titles the codes a node reads: its fact field, or for a list's element itself, its type (and
    on a case, a derived fact's: the code of a step first() picked)."""
    field = getattr(node, "field", None)
    if field is not None:
        return field  # type: ignore[no-any-return]
    return node.type if isinstance(node, (ast.VarRef, ast.DerivedRef)) else None


def _group(mark: Mark, titles: _Titles) -> dict[str, Any]:
    # A group keeps no expression of its own: its leaves hold theirs, and a record is kept lean.
    node = mark.node
    if isinstance(node, ast.And):
        return {"op": "and", "items": []}
    if isinstance(node, ast.Or):
        return {"op": "or", "items": []}
    if isinstance(node, ast.Not):
        return {"op": "not", "items": []}
    if isinstance(node, ast.Quant):
        over = _operand_v2(node.source, None, mark.where, titles)
        over.pop("value", None)
        group: dict[str, Any] = {"op": node.func, "over": over, "size": None, "elements": []}
        if node.func in ("first", "last"):
            listed = _list_path(node.source, titles.ruleset)
            if listed is not None:
                # What the missing facts name when no element is admitted; its words go into the titles.
                marker = absent_marker(listed, node.where.text if node.where is not None else "")
                group["absent"] = marker
                if marker not in titles.titles:
                    titles.name(marker, *absent_titles(marker, node, titles.ruleset))
                said = first_last_titles(node, titles.ruleset) if node.text not in titles.titles else None
                if said is not None:
                    titles.name(node.text, *said, unit=_element_unit(node))
                group["expr"] = node.text
        return group
    assert isinstance(node, ast.DerivedRef)
    derived = titles.ruleset.derived[node.name]
    titles.name("d." + node.name, derived.title.zh or node.name, derived.title.en or node.name)
    return {"op": "derived", "derived": node.name, "items": []}


def _close(group: dict[str, Any], mark: Mark) -> None:
    value = mark.value
    node = mark.node
    if isinstance(node, (ast.And, ast.Or)):
        value, count = value
        skipped = [item.text for item in node.items[count:]]
        if skipped:
            group["skipped"] = skipped
    if (
        isinstance(value, bool)
        or isinstance(value, Unknown)
        and (
            group["op"] in ("and", "or", "not", "any", "all")
            or mark.node.type is not None
            and mark.node.type.name == "bool"
        )
    ):
        group["result"] = _result(value)
    else:
        group["value"] = json_value(value)
    if "elements" in group and group["size"] is not None and len(group["elements"]) < group["size"]:
        group["visited"] = len(group["elements"])


def structure(events: Iterable[Leaf | Mark], titles: _Titles) -> list[dict[str, Any]]:
    """A rule's traced events as a tree: groups (and/or/not, quantifiers with their elements, derived
    facts) holding the leaf conditions evaluated inside them, in order."""
    top: dict[str, Any] = {"items": []}
    stack: list[dict[str, Any]] = [top]
    for event in events:
        if event.__class__ is tuple:
            stack[-1]["items"].append(_leaf_v2(event, titles))
            continue
        assert isinstance(event, Mark)
        if event.kind == OPEN:
            group = _group(event, titles)
            stack[-1]["items"].append(group)
            stack.append(group)
        elif event.kind == SIZE:
            stack[-1]["size"] = event.value
        elif event.kind == ELEMENT:
            if "at" in stack[-1]:
                stack.pop()
            element = {"at": titles.element(event.where[-1]), "items": []}
            stack[-1]["elements"].append(element)
            stack.append(element)
        else:
            if "at" in stack[-1]:
                stack.pop()
            group = stack.pop()
            _close(group, event)
            if group["op"] == "derived":
                titles.values["d." + str(group["derived"])] = event.value
            elif group["op"] in ("first", "last"):
                titles.values[event.node.text] = event.value
                # The elements passed over are not said: only the one picked (its path), if any.
                elements = group.pop("elements")
                group.pop("visited", None)
                if elements and not isinstance(event.value, Unknown):
                    group["picked"] = elements[-1]["at"]
            if group["op"] == "derived" and not group["items"]:
                stack[-1]["items"].pop()  # a derived fact with no conditions inside: its value is in the leaf
    items: list[dict[str, Any]] = top["items"]
    return items


def _cite_v2(citation: Any, ruleset: Any, sources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A citation as a v2 trace holds it: file, lines and quote, and the section the line is in; the
    source's title goes once into the trace's ``sources``."""
    out = _cite(citation)
    part = _section(citation.file, citation.line)
    if part is not None:
        out["section"] = dict(part)
    if citation.file not in sources:
        found = source_titles(ruleset, citation.file)
        if found is not None:
            sources[citation.file] = found
    return out


@functools.lru_cache(maxsize=4096)
def _section(file: str, line: int) -> tuple[tuple[str, str], ...] | None:
    """The section holding a cited line, in both languages, as (language, label) pairs: worked out once
    per citation, not once per household."""
    headings = section(file, line)
    if not headings:
        return None
    return (("zh", section_label(headings, "zh")), ("en", section_label(headings, "en")))


def source_titles(ruleset: Any, file: str) -> dict[str, str] | None:
    """The title of the source document ``file`` in both languages: the catalogue's
    (:func:`povrules.sources.source_title`), else the ruleset's own title of it in both; None when
    neither names it."""
    zh, en = source_title(file, "zh"), source_title(file, "en")
    if zh is not None and en is not None:
        return {"zh": zh, "en": en}
    own = next((source.title for source in ruleset.sources.values() if source.file == file), None)
    return None if own is None else {"zh": own, "en": own}


def _note(note: Any) -> dict[str, str] | None:
    """A rule's note in both languages: a ``Text``, or (until every note has both) the one text in both."""
    if not note:
        return None
    if isinstance(note, str):
        text = " ".join(note.split())
        return {"zh": text, "en": text}
    return {"zh": " ".join(note.zh.split()), "en": " ".join(note.en.split())}


def _rule_v2(
    decision: Decision, result: RuleResult, titles: _Titles, sources: dict[str, dict[str, str]]
) -> dict[str, Any]:
    rule = result.rule
    ruleset = decision.ruleset
    value = result.value
    out: dict[str, Any] = {
        "id": rule.id,
        "role": result.role,
        "title": {"zh": rule.title.zh, "en": rule.title.en},
        "strength": rule.strength,
        "result": _result(value),
        "status": result.status,
        "condition": structure(result.events, titles),
        "parameters": [],
    }
    if rule.outcome is not None:
        out["outcome"] = rule.outcome
    if isinstance(value, Unknown):
        out["missing"] = sorted(value.missing)
        for path in value.missing:
            if "[" in path:
                base = path[: path.rindex("]") + 1]
                list_path, _, index = base[:-1].rpartition("[")
                if index.isdigit():
                    titles.element((list_path, int(index)))
        refused = refusals(ruleset, value.missing)
        if refused:
            out["refused"] = []
            for marker, derived, number, requirement in refused:
                entry = _refusal(marker, derived, number, requirement)
                entry["title"] = {"zh": derived.title.zh or derived.name, "en": derived.title.en or derived.name}
                note = _note(requirement.note)
                if note is not None:
                    entry["note"] = note
                out["refused"].append(entry)
    in_force = decision.parameters
    for name in rule.parameters:
        if name in rule.dated_parameters:
            continue  # read only through at(p.x, <date>): its value is in the condition, not the one on as_of
        pv = in_force.get(name)
        parameter = ruleset.parameters[name]
        titles.name("p." + name, parameter.title.zh, parameter.title.en, parameter.unit)
        entry = {"name": name, "value": json_value(pv.value) if pv else None, "from": str(pv.start) if pv else None}
        if parameter.unit:
            entry["unit"] = parameter.unit
        if pv is not None and pv.citation:
            entry["cite"] = _cite_v2(pv.citation, ruleset, sources)
        out["parameters"].append(entry)
    if rule.citation:
        out["cite"] = _cite_v2(rule.citation, ruleset, sources)
    if rule.valid_from or rule.valid_to:
        out["valid"] = {"from": json_value(rule.valid_from), "to": json_value(rule.valid_to)}
    if rule.override_by:
        out["override_by"] = list(rule.override_by)
    if result.override is not None:
        out["override"] = result.override.model_dump(mode="json", exclude_none=True)
    if result.contradicting:
        out["contradicting"] = [o.model_dump(mode="json", exclude_none=True) for o in result.contradicting]
    note = _note(rule.note)
    if note is not None:
        out["note"] = note
    return out


# The engine's own outcomes, for a ruleset that gives them no title.
_ENGINE_OUTCOMES = {
    "undetermined": ("无法判定", "undetermined"),
    "conflict": ("决定相互冲突", "conflicting outcomes"),
    "needs_deliberation": ("待评议", "awaits deliberation"),
    "ranked": ("参与排序", "ranked"),
}
# An amount decision's own outcomes, for a ruleset that gives them no title (only for amount decisions: an
# eligibility decision's "not_eligible" is the ruleset's code, said as the ruleset titles it).
_AMOUNT_OUTCOMES = {
    "granted": ("享受", "granted"),
    "none": ("不享受", "none"),
    "not_eligible": ("不符合条件", "not eligible"),
}


def outcome_titles(spec: Any, outcome: str) -> dict[str, str]:
    """An outcome in both languages: the ruleset's title; for labels together (``a+b``) the title of the
    combination, else each one's; the
    engine's own word for an outcome the ruleset does not title (undetermined, conflict …)."""
    out = {}
    for lang, sep in (("zh", "、"), ("en", " and ")):
        whole = spec.label(outcome, lang)
        if whole != outcome:  # a COLLECT table may title a combination as a whole
            out[lang] = whole
            continue
        words = []
        for part in outcome.split("+"):
            label = spec.label(part, lang)
            engine = {**_ENGINE_OUTCOMES, **_AMOUNT_OUTCOMES} if spec.kind == "amount" else _ENGINE_OUTCOMES
            if label == part and part in engine:
                label = engine[part][0 if lang == "zh" else 1]
            words.append(label)
        out[lang] = sep.join(words)
    return out


def to_trace_v2(decision: Decision, *, facts_digest: str | None = None) -> dict[str, Any]:
    """The ``povrules.trace.v2`` document of a decision: what :func:`to_trace` gives, with each rule's
    condition as a tree (``condition``) and the titles an explanation needs, so that a reader of the
    document alone (:func:`povrules.text.render`) can say the decision in either language."""
    document = _header(decision, facts_digest)
    titles = _Titles(decision)
    sources: dict[str, dict[str, str]] = {}
    spec = decision.ruleset.decisions[decision.decision]
    document["schema"] = TRACE_SCHEMA_V2
    document["rules"] = [_rule_v2(decision, r, titles, sources) for r in decision.results]
    document["outcomes"] = {o: outcome_titles(spec, o) for o in sorted({decision.outcome, *decision.possible})}
    for path in {p for r in document["rules"] for p in r.get("missing", ())} | set(decision.missing):
        key = _INDEX.sub("", path)
        field = fact_field(key) if key not in titles.titles else None
        if field is not None:  # a fact missing where no condition names it (inside a call): by its title
            titles.name(key, field.zh, short_title(field.en), field.unit)
    if decision.kind == "amount":
        document["amount"] = _amount_v2(decision, titles, sources)
    if decision.ruleset.subject == "case":
        document["timeline"] = _timeline_v2(decision, document["rules"])
    document["titles"] = titles.titles
    document["elements"] = titles.elements
    document["sources"] = sources
    return document


# Amounts: what an amount decision gives, each member's or item's part with its arithmetic.


def decimal_text(value: Any) -> str | None:
    """An exact amount as a trace holds it: a decimal string without exponent (``6000``, ``85.50``), None
    for none."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _exact(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return [_exact(v) for v in value]
    return json_value(value)


def _unit_titles(unit: str) -> dict[str, str]:
    return {"code": unit, "zh": unit, "en": UNIT_WORDS["en"].get(unit, unit)}


def _period_titles(period: str) -> dict[str, str]:
    return {"code": period, "zh": PERIOD_WORDS["zh"].get(period, period), "en": PERIOD_WORDS["en"].get(period, period)}


def _limit_v2(
    decision: Decision, expr: ast.Expr, titles: _Titles, sources: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """A cap or floor of an amount decision: its expression, and when it is a parameter, the parameter
    with its value on the date, title and clause."""
    out: dict[str, Any] = {"expr": expr.text}
    if isinstance(expr, ast.ParamRef):
        parameter = decision.ruleset.parameters[expr.name]
        titles.name("p." + expr.name, parameter.title.zh, parameter.title.en, parameter.unit)
        pv = decision.parameters.get(expr.name)
        out["parameter"] = expr.name
        out["value"] = decimal_text(pv.value) if pv is not None else None
        out["title"] = {"zh": parameter.title.zh, "en": parameter.title.en}
        if pv is not None and pv.citation:
            out["cite"] = _cite_v2(pv.citation, decision.ruleset, sources)
    return out


def _gate_v2(decision: Decision, name: str, wanted: tuple[str, ...]) -> dict[str, Any]:
    """The gate of an amount decision: the decision it waits on (by its title), the outcomes that let it
    give an amount, and the outcome that decision had, each outcome with its titles."""
    spec = decision.ruleset.decisions[name]
    gate = decision.amount.gate if decision.amount is not None else None
    out: dict[str, Any] = {
        "decision": name,
        "title": {"zh": spec.title.zh, "en": spec.title.en},
        "outcomes": list(wanted),
    }
    if gate is not None:
        out["outcome"] = gate.outcome
    shown = {*wanted, *((gate.outcome,) if gate is not None else ())}
    out["titles"] = {o: outcome_titles(spec, o) for o in sorted(shown)}
    return out


def _steps_v2(steps: Iterable[Any], titles: _Titles) -> list[dict[str, Any]]:
    """The traced arithmetic of a figure as steps, in the order worked out: each with its operator (``+ - *
    /``, ``min``, ``max``, ``abs``, ``if``; ``value`` for a figure that is one reference), its operands by
    their titles (an operand an earlier step made names that step, ``step``) and its result."""
    out: list[dict[str, Any]] = []
    made: dict[int, int] = {}  # id of a node → the step that worked it out
    for leaf in steps:
        if leaf.__class__ is not tuple:
            continue  # a Mark of a sum()'s structure: the sum's value is in the step that reads it
        node, left, right, result, where = leaf
        if isinstance(node, ast.Arith):
            op, children, values = node.op, [node.left, node.right], [left, right]
        elif isinstance(node, ast.Call):
            op, children, values = node.func, list(node.args), list(left) if isinstance(left, tuple) else [left]
        elif isinstance(node, ast.Cond):
            # The test, and the branch it chose, which gave the result (a rate by its title, say).
            chosen = node.then if left is True else node.orelse
            op, children, values = "if", [node.test, chosen], [left, result]
        else:
            op, children, values = "value", [node], [left]
        step: dict[str, Any] = {"op": op, "expr": node.text, "args": [], "result": _exact(result)}
        for child, value in zip(children, values):
            if op != "value" and id(child) in made:
                step["args"].append({"expr": child.text, "value": _exact(value), "step": made[id(child)]})
            else:
                step["args"].append(_operand_v2(child, _exact(value), where, titles))
        made[id(node)] = len(out)
        out.append(step)
    return out


def _amount_v2(decision: Decision, titles: _Titles, sources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The ``amount`` of an amount decision's v2 trace: the total with its unit and period, what it is
    answered per, the gate, cap, floor and rounding, and each part (a member's, an item's, the
    household's) with the rows that gave it and their arithmetic, its value before and after rounding and
    limits, and the facts it lacks."""
    ruleset = decision.ruleset
    figure = ruleset.decisions[decision.decision].amount
    amount = decision.amount
    assert figure is not None and amount is not None
    out: dict[str, Any] = {
        "total": decimal_text(amount.total),
        "unit": _unit_titles(amount.unit),
        "period": _period_titles(amount.period),
    }
    if figure.per is not None:
        out["per"] = {"var": figure.per.var, "list": figure.per.path}
    if figure.gate_decision is not None:
        out["gate"] = _gate_v2(decision, figure.gate_decision, figure.gate_outcomes)
    for name, expr in (("cap", figure.cap), ("floor", figure.floor)):
        if expr is not None:
            out[name] = _limit_v2(decision, expr, titles, sources)
    if figure.rounding is not None:
        out["round"] = {"places": figure.rounding.places, "mode": figure.rounding.mode}
        if figure.rounding.citation is not None:
            out["round"]["cite"] = _cite_v2(figure.rounding.citation, ruleset, sources)
    parts = []
    for part in amount.parts:
        steps = dict(part.steps)
        if part.path is not None:
            base, _, index = part.path[:-1].rpartition("[")
            titles.element((base, int(index)))
        rows = []
        for row_id in part.rows:
            rule = ruleset.rules[row_id]
            row: dict[str, Any] = {
                "id": row_id,
                "title": {"zh": rule.title.zh, "en": rule.title.en},
                "steps": _steps_v2(steps.get(row_id, ()), titles),
            }
            if rule.citation:
                row["cite"] = _cite_v2(rule.citation, ruleset, sources)
            rows.append(row)
        entry: dict[str, Any] = {
            "index": part.index,
            "element": part.path,
            "rows": rows,
            "value": decimal_text(part.value),
            "before": decimal_text(part.before),
            "rounded": part.rounded,
            "limited_by": part.limited_by,
            "limit": decimal_text(part.limit),
            "missing": list(part.missing),
        }
        if part.limit_steps:
            entry["limit_steps"] = _steps_v2(part.limit_steps, titles)
        for path in part.missing:
            _title_missing(path, titles)
        parts.append(entry)
    out["parts"] = parts
    return out


def _title_missing(path: str, titles: _Titles) -> None:
    """Title a missing fact's path, and its list element, for an explanation to name it."""
    key = _INDEX.sub("", path)
    field = fact_field(key) if key not in titles.titles else None
    if field is not None:
        titles.name(key, field.zh, short_title(field.en), field.unit)
    if "[" in path:
        base = path[: path.rindex("]") + 1]
        list_path, _, index = base[:-1].rpartition("[")
        if index.isdigit():
            titles.element((list_path, int(index)))


GROUP_OPS = frozenset({"and", "or", "not", "derived", "any", "all", "count", "sum"})


def leaf_conditions(rule: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The leaf conditions of a trace's rule entry, in evaluation order, each with its path in the entry
    (``conditions[2]`` in v1, ``condition[0].items[1].elements[0].items[0]`` in v2) and, in v2, ``where``
    (the list elements it was evaluated for) as v1 records it."""
    if "conditions" in rule:
        return [(f"conditions[{j}]", c) for j, c in enumerate(rule["conditions"]) if isinstance(c, dict)]
    out: list[tuple[str, dict[str, Any]]] = []

    def walk(nodes: Any, path: str, where: list[str]) -> None:
        for k, node in enumerate(nodes if isinstance(nodes, list) else ()):
            if not isinstance(node, dict):
                continue
            here = f"{path}[{k}]"
            if node.get("op") in GROUP_OPS:
                walk(node.get("items", []), here + ".items", where)
                for e, element in enumerate(node.get("elements", [])):
                    if isinstance(element, dict):
                        walk(element.get("items", []), f"{here}.elements[{e}].items", where + [str(element.get("at"))])
            else:
                out.append((here, dict(node, where=where) if where else node))

    walk(rule.get("condition", []), "condition", [])
    return out


# A case's timeline: its steps in order, and for each constraint (criterion) the steps it read and the days
# it counted, for a reader to see where the case went wrong.


def _coded(path: str, code: str | None) -> dict[str, str] | None:
    if code is None:
        return None
    zh, en = _code_titles(path, code)
    return {"code": code, "zh": zh, "en": en}


def _span_days(event: Any) -> dict[str, int | None] | None:
    """The days a step that lasts spans, both ends counted: calendar and working days (None for a year
    the official calendar does not cover)."""
    if event.end is None:
        return None
    try:
        working: int | None = working_days(event.date, event.end)
    except EvaluationError:
        working = None
    return {"calendar": calendar_days(event.date, event.end), "working": working}


def timeline_event(index: int, event: Any) -> dict[str, Any]:
    """One step of a case as a trace's ``timeline`` holds it: its place, step, days, who, how many, where,
    what came of it; codes with their titles."""
    out: dict[str, Any] = {
        "index": index,
        "path": f"case.events[{index}]",
        "step": _coded("case.events.step", event.step),
    }
    out["date"] = event.date.isoformat()
    if event.time is not None:
        out["time"] = event.time
    if event.end is not None:
        out["end"] = event.end.isoformat()
        out["days"] = _span_days(event)
    for name in ("actor", "place", "outcome"):
        coded = _coded(f"case.events.{name}", getattr(event, name))
        if coded is not None:
            out[name] = coded
    for name in ("people", "signatures", "reference"):
        value = getattr(event, name)
        if value is not None:
            out[name] = value
    return out


def events_read(events: Iterable[Leaf | Mark], root: str) -> list[int]:
    """The indices of the case's steps a rule's condition read, from its traced events: an element of
    ``case.events`` a quantifier admitted (its ``if`` held; with none, its element was true for ``any`` and
    ``count``, and every element visited for ``all``, ``sum``, ``first`` and ``last``)."""
    read: set[int] = set()
    stack: list[list[Any]] = []  # [the quantifier, the index awaiting its test, the node that tests it]

    def settle(node: Any, value: Any) -> None:
        for frame in stack:
            if frame[1] is not None and frame[2] is node:
                if value is True:
                    read.add(frame[1])
                frame[1] = None

    for event in events:
        if event.__class__ is tuple:
            settle(event[0], event[3])
            continue
        assert isinstance(event, Mark)
        node = event.node
        if event.kind == OPEN and isinstance(node, ast.Quant) and _is_events(node.source, root):
            # What admits an element: its `if`; with none, its own truth for any/count (all, sum, first and
            # last read every element they visit).
            test = node.where if node.where is not None else None if node.func in _READS_ALL else node.element
            stack.append([node, None, test])
        elif event.kind == ELEMENT and stack and node is stack[-1][0]:
            if stack[-1][2] is None:
                read.add(int(event.value))
            else:
                stack[-1][1] = int(event.value)
        elif event.kind == CLOSE:
            if stack and node is stack[-1][0]:
                stack.pop()
            else:
                value = event.value[0] if isinstance(node, (ast.And, ast.Or)) else event.value
                settle(node, value)
    return sorted(read)


_READS_ALL = frozenset({"all", "sum", "first", "last"})


def _is_events(source: ast.Node, root: str) -> bool:
    return root == "case" and isinstance(source, ast.FactRef) and source.path == ("events",)


_EVENT = re.compile(r"^case\.events\[(\d+)\]")


def _picked(nodes: Any, name: str) -> int | None:
    """The step a derived fact's first()/last() picked, in a rule's condition tree."""
    for node in nodes if isinstance(nodes, list) else ():
        if not isinstance(node, dict):
            continue
        if node.get("op") == "derived" and node.get("derived") == name:
            for item in node.get("items", []):
                found = _EVENT.match(str(item.get("picked", "")))
                if found:
                    return int(found.group(1))
        found_inside = _picked(node.get("items"), name)
        if found_inside is not None:
            return found_inside
        for element in node.get("elements", []) if isinstance(node.get("elements"), list) else ():
            found_inside = _picked(element.get("items"), name)
            if found_inside is not None:
                return found_inside
    return None


def _days_counted(rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The day counts a rule's conditions worked out (working_days_between, calendar_days …), each with its
    value, its arguments' values and the steps whose dates it read."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _, leaf in leaf_conditions(rule):
        for side in ("left", "right", "value"):
            operand = leaf.get(side)
            if not isinstance(operand, dict) or "call" not in operand or operand["call"] not in _DAY_UNITS:
                continue
            steps: list[int] = []
            for arg in operand.get("args", []):
                found = _EVENT.match(str(arg.get("fact", "")))
                index = int(found.group(1)) if found else _picked(rule.get("condition"), str(arg.get("derived", "")))
                if index is not None and index not in steps:
                    steps.append(index)
            entry = {
                "expr": operand["expr"],
                "call": operand["call"],
                "value": operand.get("value"),
                "unit": _DAY_UNITS[operand["call"]],
                "args": [{"expr": a.get("expr"), "value": a.get("value")} for a in operand.get("args", [])],
                "events": steps,
            }
            key = json.dumps(entry, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                out.append(entry)
    return out


def _timeline_v2(decision: Decision, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``timeline`` of a decision on a case: the case's kind and plan, its steps in order
    (:func:`timeline_event`), and each constraint with its status, the steps it read and the days it
    counted."""
    case = decision.facts
    out: dict[str, Any] = {}
    kind = _coded("case.kind", getattr(case, "kind", None))
    if kind is not None:
        out["kind"] = kind
    plan = getattr(case, "plan", None)
    if plan is not None:
        out["plan"] = plan
    out["events"] = [timeline_event(i, e) for i, e in enumerate(getattr(case, "events", None) or ())]
    constraints = []
    for result, rule in zip(decision.results, rules):
        entry: dict[str, Any] = {
            "rule": result.rule.id,
            "title": dict(rule["title"]),
            "status": result.status,
            "result": rule["result"],
            "events": events_read(result.events, decision.ruleset.root),
            "days": _days_counted(rule),
        }
        if "missing" in rule:
            entry["missing"] = list(rule["missing"])
        constraints.append(entry)
    out["constraints"] = constraints
    return out
