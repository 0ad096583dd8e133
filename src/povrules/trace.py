"""Traces: the ``povrules.trace.v1`` document and explanations in Chinese and English.

Evaluation records tuples; this module turns them into JSON and sentences
only when asked, so that tracing costs little on the hot path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from povrules._version import __version__
from povrules.canonical import canonical_json, facts_digest  # noqa: F401 - re-exported: other modules import them from here
from povrules.lang import ast
from povrules.lang.compiler import Leaf, Unknown, element_path
from povrules.wording import (
    OPERATOR_WORDS,
    OVERRIDE_OUTCOME_WORDS,
    RESULT_MARKS,
    RESULT_WORDS,
    STATUS_WORDS,
    check_lang,
)
from povrules.wording import TEXT_WORDS as _WORDS

if TYPE_CHECKING:
    from povrules.engine import Decision, Ranking, RuleResult

TRACE_SCHEMA = "povrules.trace.v1"


def trace_schema() -> dict[str, Any]:
    """The JSON Schema of ``povrules.trace.v1`` documents."""
    from importlib.resources import files

    schema: dict[str, Any] = json.loads(files("povrules").joinpath("schemas/trace.v1.json").read_text(encoding="utf-8"))
    return schema


_SCALARS = frozenset({str, int, bool, type(None)})


def json_value(value: Any) -> Any:
    """A fact or parameter value as JSON: decimals and dates as strings, unknown as the facts it lacks."""
    if type(value) in _SCALARS or value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (Decimal, date)):
        return str(value)
    if isinstance(value, Unknown):
        return {"unknown": sorted(value.missing)}
    if isinstance(value, (tuple, list, frozenset)):
        return [json_value(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return str(value)


def _result(value: Any) -> str:
    if value is None:
        return "not_in_force"
    if isinstance(value, Unknown):
        return "unknown"
    return "true" if value else "false"


def _operand(node: ast.Node, value: Any, where: tuple[tuple[str, int], ...], root: str) -> dict[str, Any]:
    out: dict[str, Any] = {"expr": node.text, "value": value if type(value) in _SCALARS else json_value(value)}
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
_Static = tuple[tuple[str, str], tuple[tuple[str, Any, str | None, str | None, tuple[Any, ...] | None], ...],
                tuple[Any, ...] | None, tuple[Any, Any] | None]
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
        parameters.append((name, pv.value if pv else None, str(pv.start) if pv else None,
                           ruleset.parameters[name].unit or None,
                           _cite_tuple(pv.citation) if pv and pv.citation else None))
    static: _Static = ((rule.title.zh, rule.title.en), tuple(parameters),
                       _cite_tuple(rule.citation) if rule.citation else None,
                       (rule.valid_from, rule.valid_to) if rule.valid_from or rule.valid_to else None)
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
        "id": rule.id, "role": result.role, "title": {"zh": title[0], "en": title[1]},
        "strength": rule.strength, "result": _result(value), "status": result.status,
        "conditions": [_condition(leaf, root) for leaf in result.leaves],
        "parameters": [],
    }
    if rule.outcome is not None:
        out["outcome"] = rule.outcome
    if isinstance(value, Unknown):
        out["missing"] = sorted(value.missing)
        refused = refusals(decision.ruleset, value.missing)
        if refused:
            out["refused"] = [_refusal(marker, derived, index, requirement)
                              for marker, derived, index, requirement in refused]
    entries = out["parameters"]
    for name, pvalue, start, unit, pcite in parameters:
        entry: dict[str, Any] = {"name": name, "value": pvalue if type(pvalue) in _SCALARS else json_value(pvalue),
                                 "from": start}
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
    entry: dict[str, Any] = {"marker": marker, "derived": derived.name, "requirement": index,
                             "expr": requirement.expr.text}
    if requirement.citation is not None:
        entry["cite"] = _cite(requirement.citation)
    if requirement.note:
        entry["note"] = requirement.note.en
    return entry


def _refusal_text(entry: Mapping[str, Any], figure: str, lang: str) -> str:
    """A refused figure in words, from its trace entry: which requirement, its condition, its source and note."""
    words = _WORDS[lang]
    index = entry.get("requirement")
    number = index + 1 if isinstance(index, int) else "?"
    if lang == "zh":
        text = f"{words['refused']}：{figure}（{words['requirement']}{number}{words['not_met']}：{entry.get('expr')}）"
    else:
        text = f"{words['refused']}: {figure} ({words['requirement']} {number} {words['not_met']}: {entry.get('expr')})"
    cite = entry.get("cite")
    if isinstance(cite, Mapping):
        where = f"{cite.get('file', '?')}:{cite.get('line', '?')}"
        if cite.get("end_line") not in (None, cite.get("line")):
            where += f"-{cite['end_line']}"
        text += f"；{words['source']}：{where}「{cite.get('quote', '')}」" if lang == "zh" \
            else f"; {words['source']}: {where} “{cite.get('quote', '')}”"
    if entry.get("note"):
        text += f"；{words['note']}：{entry['note']}" if lang == "zh" else f"; {words['note']}: {entry['note']}"
    return text


def _cite(citation: Any) -> dict[str, Any]:
    return {"file": citation.file, "line": citation.line, "end_line": citation.end_line, "quote": citation.quote}


def to_trace(decision: Decision, *, facts_digest: str | None = None) -> dict[str, Any]:
    """The full trace document of a decision.

    ``facts_digest``, when the caller has it already (:func:`povrules.audit.make_record` dumps the
    facts once for the record and the digest), saves dumping and hashing the facts again; it must be
    :func:`povrules.canonical.facts_digest` of ``decision.facts``.
    """
    ruleset = decision.ruleset
    spec = ruleset.decisions[decision.decision]
    if facts_digest is None:
        facts_digest = _facts_digest(decision.facts)
    return {
        "schema": TRACE_SCHEMA,
        "engine": {"name": "povrules", "version": __version__},
        "ruleset": {"id": ruleset.id, "version": ruleset.version, "digest": ruleset.digest,
                    "jurisdiction": ruleset.jurisdiction},
        "decision": {"name": decision.decision, "kind": decision.kind,
                     "title": {"zh": spec.title.zh, "en": spec.title.en}},
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
        "rules": [_rule(decision, r) for r in decision.results],
    }


_facts_digest = facts_digest  # to_trace's keyword hides the module's name


# Explanations (their words are in povrules.wording)

def _number(value: Decimal | int, grouped: bool = True) -> str:
    if isinstance(value, int) or value == value.to_integral_value():
        return f"{int(value):,}" if grouped else str(int(value))
    exponent = value.as_tuple().exponent  # an int: facts and parameters hold finite numbers only
    # A computed ratio: four places are enough to read (the trace keeps it exact).
    if isinstance(exponent, int) and exponent < -4:
        return "≈" + f"{value.quantize(Decimal('0.0001')).normalize():,f}"
    return f"{value:,}"


def format_value(value: Any, unit: str | None, lang: str, *, grouped: bool = True) -> str:
    """A value as a caseworker reads it in ``lang`` (grouped digits unless ``grouped`` is false, as for a
    year; yes/no; a set in braces), with its unit."""
    words = _WORDS[lang]
    if isinstance(value, Unknown):
        return f"{words['unknown_value']}"
    if isinstance(value, bool):
        text = words["yes"] if value else words["no"]
    elif isinstance(value, (int, Decimal)):
        text = _number(value, grouped)
    elif isinstance(value, (tuple, list, frozenset)):
        text = "{" + ", ".join(format_value(v, None, lang) for v in value) + "}"
    elif isinstance(value, BaseModel):
        text = type(value).__name__
    else:
        text = str(value)
    return f"{text} {unit}" if unit and not isinstance(value, bool) else text


def _judgement(household: BaseModel, path: tuple[str, ...], lang: str) -> str:
    """Who judged a judged fact, and when."""
    obj: Any = household
    for name in path:
        obj = getattr(obj, name, None)
    if obj is None:
        return ""
    return f"（{obj.by} {obj.on} 研判）" if lang == "zh" else f" (judged by {obj.by}, {obj.on})"


def is_year(node: ast.Node) -> bool:
    """Whether a node's value is a calendar year (``year(d)``, a fact counted in 年), which is printed
    without digit grouping: 2021, not 2,021."""
    if isinstance(node, ast.Call):
        return node.func == "year"
    return isinstance(node, (ast.FactRef, ast.VarRef)) and node.field is not None and node.field.unit == "年"


def describe_pair(node: ast.Compare, left: Any, right: Any, where: tuple[tuple[str, int], ...], decision: Decision,
                  lang: str) -> tuple[str, str]:
    """Both sides of a comparison in words; a number compared with a year is printed as a year."""
    plain = is_year(node.left) or is_year(node.right)
    return (describe_operand(node.left, left, where, decision, lang, grouped=not plain),
            describe_operand(node.right, right, where, decision, lang, grouped=not plain))


def describe_operand(node: ast.Node, value: Any, where: tuple[tuple[str, int], ...], decision: Decision, lang: str,
                     *, grouped: bool = True) -> str:
    """One side of a leaf condition in words: the fact, parameter or derived fact it names and its value.

    ``where`` is the leaf's loop positions (which member); the explanations and the HTML views share it.
    ``grouped``: whether digits are grouped (not for a year, see :func:`describe_pair`).
    """
    grouped = grouped and not is_year(node)
    if isinstance(node, (ast.FactRef, ast.VarRef)) and node.field is not None:
        field = node.field
        label = field.zh if lang == "zh" else field.en
        if isinstance(node, ast.FactRef) and len(node.trail) >= 3:
            parent = node.trail[-2]
            label = f"{parent.zh if lang == 'zh' else parent.en} {label}"
        if isinstance(node, ast.VarRef) and where:
            label = f"{element_path(where[-1]).removeprefix(decision.ruleset.root + '.')} {label}"
        text = f"{label} {format_value(value, field.unit, lang, grouped=grouped)}"
        if isinstance(node, ast.FactRef) and field.judged and not isinstance(value, Unknown):
            text += _judgement(decision.facts, node.path, lang)
        return text
    if isinstance(node, ast.AsOf):
        return f"{_WORDS[lang]['as_of']} {value}"
    if isinstance(node, ast.ParamRef):
        parameter = decision.ruleset.parameters[node.name]
        pv = decision.parameters.get(node.name)
        since = f"（{pv.start} {_WORDS[lang]['from']}）" if pv and lang == "zh" else f" (from {pv.start})" if pv else ""
        return f"{parameter.title(lang)} {format_value(value, parameter.unit, lang, grouped=grouped)}{since}"
    if isinstance(node, (ast.Const, ast.ListLit)):
        return format_value(value, None, lang, grouped=grouped)
    if isinstance(node, ast.DerivedRef):
        derived = decision.ruleset.derived[node.name]
        if derived.title.zh:
            return f"{derived.title(lang)} {format_value(value, None, lang, grouped=grouped)}"
    return f"{node.text} = {format_value(value, None, lang, grouped=grouped)}"


def _sentence(leaf: Leaf, decision: Decision, lang: str) -> str:
    node, left, right, result, where = leaf
    verdict = RESULT_WORDS[lang][_result(result)]
    if isinstance(node, ast.Compare):
        lhs, rhs = describe_pair(node, left, right, where, decision, lang)
        return f"{lhs} {OPERATOR_WORDS[lang][node.op]} {rhs} → {verdict}"
    return f"{describe_operand(node, left, where, decision, lang)} → {verdict}"


def contradicting_text(records: Sequence[Mapping[str, Any]], lang: str) -> str:
    """The override records of one date that contradict one another (as the trace shows them), in
    brackets: body, date and what each decided, in the order recorded."""
    words = OVERRIDE_OUTCOME_WORDS[lang]
    parts = [f"{r.get('body')} {r.get('decided_on')} {words.get(str(r.get('outcome')), r.get('outcome'))}"
             for r in records]
    return f"（{'；'.join(parts)}）" if lang == "zh" else f" ({'; '.join(parts)})"


def explain(decision: Decision, lang: str = "zh") -> str:
    """A decision as text: the outcome, then every rule tried with its conditions and source."""
    check_lang(lang)
    words = _WORDS[lang]
    ruleset = decision.ruleset
    spec = ruleset.decisions[decision.decision]
    colon = "：" if lang == "zh" else ": "
    lines = [
        (f"{words['decision']}{colon}{spec.title(lang)} [{decision.decision}] {words['for']} {decision.facts_id}"
         f" → {spec.label(decision.outcome, lang)}"),
        f"  {words['as_of']} {decision.as_of}; {words['ruleset']} {ruleset.id} {ruleset.version} ({ruleset.digest[:19]})",
    ]
    if decision.missing:
        markers = {marker for marker, *_ in refusals(ruleset, decision.missing)}
        facts = [path for path in decision.missing if path not in markers]
        if facts:
            lines.append(f"  {words['missing']}{colon}{', '.join(facts)}")
        if markers:
            lines.append(f"  {words['refused']}{colon}{', '.join(sorted(markers))}")
    if decision.possible:
        lines.append(f"  {words['possible']}{colon}{', '.join(spec.label(p, lang) for p in decision.possible)}")
    for result in decision.results:
        rule = result.rule
        mark = RESULT_MARKS[_result(result.value)]
        status = STATUS_WORDS[lang][result.status]
        if result.override is not None:
            o = result.override
            status += f"（{o.body} {o.decided_on}）" if lang == "zh" else f" ({o.body}, {o.decided_on})"
        elif result.contradicting:
            status += contradicting_text([o.model_dump(mode="json") for o in result.contradicting], lang)
        elif result.status == "awaiting_deliberation":
            bodies = "、".join(rule.override_by)
            status += f"（{bodies}）" if lang == "zh" else f" (by {bodies})"
        lines.append(f"  {mark} {rule.title(lang)} [{rule.id}] — {status}")
        for leaf in result.leaves:
            lines.append(f"      {_sentence(leaf, decision, lang)}")
        if isinstance(result.value, Unknown):
            refused = refusals(ruleset, result.value.missing)
            facts = sorted(result.value.missing - {marker for marker, *_ in refused})
            if facts:
                lines.append(f"      {words['missing']}{colon}{', '.join(facts)}")
            lines.extend("      " + _refusal_text(_refusal(*entry), entry[1].title(lang) or entry[1].name, lang)
                         for entry in refused)
        if rule.citation:
            c = rule.citation
            lines.append(f"      {words['source']}{colon}{c}「{c.quote}」" if lang == "zh" else f"      {words['source']}: {c} “{c.quote}”")
        if rule.note and result.status not in ("not_applicable", "not_met", "not_in_force"):
            lines.append(f"      {words['note']}{colon}{' '.join(rule.note(lang).split())}")
    return "\n".join(lines)


def explain_ranking(ranking: Ranking, lang: str = "zh") -> str:
    """A ranking as text: each position with the criteria that put the household there."""
    check_lang(lang)
    lines = []
    for entry in ranking.entries:
        decision = entry.decision
        spec = decision.ruleset.decisions[decision.decision]
        met = [decision.ruleset.rules[r].title(lang) for r in entry.met]
        tie = ("（并列）" if lang == "zh" else " (tied)") if entry.tied else ""
        reason = "、".join(met) if lang == "zh" else "; ".join(met)
        none = "无优先情形" if lang == "zh" else "no priority criterion"
        lines.append(f"{entry.position}. {entry.household}{tie}: {reason or none}")
        for value, tb in zip(decision.sort_key[len(decision.sort_key) - len(spec.tiebreak):], spec.tiebreak):
            raw = value.value if hasattr(value, "value") else value
            lines.append(f"     {tb.expr.text} = {format_value(raw, None, lang)}")
    for decision in ranking.not_eligible:
        gate = decision.ruleset.decisions[decision.decision]
        lines.append(("未参与排序" if lang == "zh" else "not ranked")
                     + f": {decision.facts_id} → {gate.label(decision.outcome, lang)} ({decision.outcome})")
    for decision in ranking.undetermined:
        lines.append(("无法排序" if lang == "zh" else "cannot rank") + f": {decision.facts_id}, "
                     + ("尚缺" if lang == "zh" else "missing") + " " + ", ".join(decision.missing))
    return "\n".join(lines)


# Explanations of stored records


def _part(condition: dict[str, Any], side: str) -> dict[str, Any]:
    """One operand of a recorded condition, or an empty one (shown as "?") if the record has none."""
    operand = condition.get(side)
    return operand if isinstance(operand, dict) else {"expr": "?", "value": "?"}


def _value_text(operand: dict[str, Any], lang: str) -> str:
    value = operand.get("value")
    if isinstance(value, dict) and set(value) == {"unknown"}:
        shown = _WORDS[lang]["unknown_value"]
    elif isinstance(value, bool):
        shown = _WORDS[lang]["yes"] if value else _WORDS[lang]["no"]
    else:
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)
    if "fact" not in operand and "parameter" not in operand and operand.get("expr") != "as_of":
        return shown  # a constant written in the rule: its value says it all
    return f"{operand.get('expr', '?')} = {shown}"


def explain_record(record: dict[str, Any], lang: str = "zh") -> str:
    """A stored decision record (``povrules.record.v1``) as text, read from its trace alone:
    nothing is evaluated again and no ruleset is needed.

    The shape follows :func:`povrules.trace.explain`, but the facts and parameters appear as the
    trace shows them (expression = value), since the ruleset's field titles are not in the record.
    """
    words = _WORDS[check_lang(lang)]
    colon = "：" if lang == "zh" else ": "
    trace = record["trace"]
    ruleset = record["ruleset"]
    title = trace.get("decision", {}).get("title", {}).get(lang, record["decision"])
    lines = [
        (f"{words['decision']}{colon}{title} [{record['decision']}] {words['for']} {record['facts'].get('id')}"
         f" → {record['outcome']}"),
        (f"  {words['as_of']} {record['as_of']}; {words['ruleset']} {ruleset['id']} {ruleset['version']} "
         f"({ruleset['digest'][:19]})"),
        ("  记录 " if lang == "zh" else "  record ") + record["digest"][:19]
        + ("（已脱敏）" if lang == "zh" and record["redacted"] else " (redacted)" if record["redacted"] else ""),
    ]
    if record["missing"]:
        rules = trace.get("rules", []) if isinstance(trace, dict) else []
        markers = {r.get("marker") for rule in rules if isinstance(rule, dict)
                   for r in rule.get("refused", []) if isinstance(r, dict)}
        facts = [path for path in record["missing"] if path not in markers]
        refused = [path for path in record["missing"] if path in markers]
        if facts:
            lines.append(f"  {words['missing']}{colon}{', '.join(facts)}")
        if refused:
            lines.append(f"  {words['refused']}{colon}{', '.join(refused)}")
    if trace.get("possible"):
        lines.append(f"  {words['possible']}{colon}{', '.join(trace['possible'])}")
    for rule in trace.get("rules", []):
        status = STATUS_WORDS[lang].get(rule.get("status"), rule.get("status"))
        override = rule.get("override")
        if override:
            status += (f"（{override.get('body')} {override.get('decided_on')}）" if lang == "zh"
                       else f" ({override.get('body')}, {override.get('decided_on')})")
        elif rule.get("contradicting"):
            status += contradicting_text(rule["contradicting"], lang)
        mark = RESULT_MARKS.get(rule.get("result"), "?")
        lines.append(f"  {mark} {rule.get('title', {}).get(lang, rule.get('id'))} [{rule.get('id')}] — {status}")
        for condition in rule.get("conditions", []):
            verdict = RESULT_WORDS[lang].get(condition.get("result"), condition.get("result"))
            if "op" in condition:
                # A verified record may still lack an operand the schema leaves optional: shown as "?", never a crash.
                op = condition["op"]
                text = (f"{_value_text(_part(condition, 'left'), lang)} {OPERATOR_WORDS[lang].get(op, op)} "
                        f"{_value_text(_part(condition, 'right'), lang)}")
            else:
                text = _value_text(_part(condition, "value"), lang)
            lines.append(f"      {text} → {verdict}")
        for parameter in rule.get("parameters", []):
            unit = f" {parameter['unit']}" if parameter.get("unit") else ""
            since = (f"（{parameter.get('from')} {words['from']}）" if lang == "zh"
                     else f" (from {parameter.get('from')})")
            value = parameter.get("value")
            shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value
            lines.append(f"      {parameter.get('name', '?')} = {shown}{unit}{since}")
        refused = [r for r in rule.get("refused", []) if isinstance(r, dict)]
        markers = {r.get("marker") for r in refused}
        facts = [path for path in rule.get("missing", []) if path not in markers]
        if facts:
            lines.append(f"      {words['missing']}{colon}{', '.join(facts)}")
        lines.extend(f"      {_refusal_text(r, str(r.get('derived', '?')), lang)}" for r in refused)
        cite = rule.get("cite")
        if cite:
            where = f"{cite.get('file', '?')}:{cite.get('line', '?')}"
            if cite.get("end_line") not in (None, cite.get("line")):
                where += f"-{cite['end_line']}"
            quote = cite.get("quote", "")
            lines.append(f"      {words['source']}{colon}{where}「{quote}」" if lang == "zh"
                         else f"      {words['source']}: {where} “{quote}”")
    return "\n".join(lines)
