"""Explanations as text, in Chinese or English, read from the trace document alone.

One renderer, :func:`render`, turns a ``povrules.trace.v2`` document into sentences an official can
read aloud to the household: each rule with its conditions in their logical structure (all of / at
least one of / not, each list element a quantifier looked at, an empty list said as such, parts cut
short said as not checked), every fact, parameter and value by its title, the source by its title
with file and line after it, and the rule's note. :func:`explain` is ``render(to_trace(decision))``
and :func:`explain_record` renders the trace a record holds, so a record explains exactly as the
decision it was made from; :func:`explain_record_v1` explains ``povrules.record.v1`` records in the
older wording. :func:`explain_ranking` says a ranking: each place with the criteria met and the
tie-break values by their titles.
A decision on a case begins with its timeline (:func:`timeline_lines`): each step on one line with the
constraints that read it and the days they counted.
The ``say_*`` functions are the seams the HTML views lay out as nested lists (and as the timeline's table).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from povrules.errors import UsageError
from povrules.lang import ast
from povrules.ruleset.model import file_lines
from povrules.trace import (
    TRACE_SCHEMA_V2,
    embedded,
    expression_titles,
    is_year,
    outcome_titles,
    title_key,
    to_trace,
)
from povrules.wording import (
    AMOUNT_SYMBOLS,
    AMOUNT_WORDS,
    COMPARISON_WORDS,
    EXPLANATION_WORDS,
    FUNCTION_PHRASES,
    OPERATOR_WORDS,
    OVERRIDE_OUTCOME_WORDS,
    PER_PERIOD_WORDS,
    PERIOD_WORDS,
    RESULT_MARKS,
    RESULT_WORDS,
    ROUNDING_WORDS,
    SPAN_PHRASES,
    STATUS_WORDS,
    TEXT_WORDS,
    TIMELINE_WORDS,
    UNIT_WORDS,
    check_lang,
    fact_title,
    format_value,
    function_phrase,
    phrase,
)

if TYPE_CHECKING:
    from povrules.engine import Decision, Ranking

__all__ = [
    "Reader",
    "contradicting_text",
    "explain",
    "explain_ranking",
    "explain_record",
    "explain_record_v1",
    "render",
    "say_call",
    "say_condition",
    "say_constraint",
    "say_days",
    "say_event",
    "say_first_last",
    "shown_elements",
    "timeline_lines",
    "say_element",
    "say_empty",
    "say_group",
    "say_list",
    "say_not_checked",
    "say_source",
    "say_value",
    "say_money",
    "say_total",
    "say_part",
    "say_steps",
    "say_working",
    "say_rounding",
    "amount_lines",
    "amount_summary",
]

_GROUPS = frozenset({"and", "or", "not", "derived", "any", "all", "count", "sum", "first", "last"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_INDEX = re.compile(r"\[(\d+)\]")


class Reader:
    """What the sentences of one ``povrules.trace.v2`` document are made from, in one language: the titles,
    element labels, sources and outcome titles the document carries (``Reader(trace, lang)``); the views
    (HTML) build their sentences with it and :func:`say_condition`, :func:`say_value`."""

    def __init__(self, trace: Mapping[str, Any], lang: str):
        self.lang = lang
        self.words = EXPLANATION_WORDS[lang]
        self.titles: Mapping[str, Any] = trace.get("titles") or {}
        self.elements: Mapping[str, Any] = trace.get("elements") or {}
        self.sources: Mapping[str, Any] = trace.get("sources") or {}
        self.outcomes: Mapping[str, Any] = trace.get("outcomes") or {}
        self.inside: list[str] = []  # the list elements whose conditions are being said, innermost last
        self.expanded: set[str] = set()  # the unknown figures whose working is said already (in this rule)

    def title(self, key: str, fallback: str) -> str:
        entry = self.titles.get(key)
        return str(entry[self.lang]) if isinstance(entry, Mapping) and entry.get(self.lang) else fallback

    def unit(self, key: str) -> str:
        entry = self.titles.get(key)
        unit = entry.get("unit") if isinstance(entry, Mapping) else None
        if not unit:
            return ""
        return str(UNIT_WORDS[self.lang].get(unit, unit))

    def fact(self, path: str) -> str:
        """A fact path in words: the element's label, then the field's title."""
        key = _INDEX.sub("", path)
        base = path[: path.rindex("]") + 1] if "]" in path else ""
        title = self.title(key, path)
        label = self.elements.get(base)
        if base in self.inside:
            return title  # said under the element's own heading
        if isinstance(label, Mapping):
            return f"{label[self.lang]}{title}" if self.lang == "zh" else f"{title} of {label[self.lang]}"
        return title

    def outcome(self, code: str) -> str:
        entry = self.outcomes.get(code)
        return str(entry[self.lang]) if isinstance(entry, Mapping) else code

    def code(self, key: str, value: str) -> str:
        entry = self.titles.get(key)
        values = entry.get("values") if isinstance(entry, Mapping) else None
        found = values.get(value) if isinstance(values, Mapping) else None
        return str(found[self.lang]) if isinstance(found, Mapping) else value


def _number(text: str, grouped: bool) -> str:
    value = Decimal(text)
    if value == value.to_integral_value():
        return f"{int(value):,}" if grouped else str(int(value))
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        return "≈" + f"{value.quantize(Decimal('0.0001')).normalize():,f}"
    return f"{value:,}"


def say_value(value: Any, reader: Reader, key: str | None, *, unit: str = "", year: bool = False) -> str:
    """A trace value in words: yes/no, a number with its unit, a code by its title, a list, or unknown."""
    words = reader.words
    if isinstance(value, Mapping) and "unknown" in value:
        return words["unknown"]
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, list):  # codes' titles may hold commas: in English they are parted by semicolons
        return words["value_sep"].join(say_value(v, reader, key, year=year) for v in value)
    if isinstance(value, int) or isinstance(value, str) and _NUMBER.match(value):
        text = _number(str(value), not year)
        if unit and not (year and reader.lang == "en"):  # a calendar year: 2016年, but never "2016 years"
            text += unit if reader.lang == "zh" or unit == "%" else f" {unit}"
        return text
    if isinstance(value, str) and key is not None:
        return reader.code(key, value)
    return str(value)


def _operand(operand: Mapping[str, Any], reader: Reader, year: bool, codes: str | None = None) -> tuple[str, str]:
    """(what the operand names, its value) in words; a constant names nothing. ``codes``: the fact whose
    value titles say the operand's codes (the fact it is compared with), when not its own."""
    key = title_key(operand)
    value = operand.get("value")
    unit = reader.unit(key)
    if "fact" in operand:
        named = reader.fact(str(operand["fact"]))
    elif "args" in operand and operand.get("call") in FUNCTION_PHRASES[reader.lang]:
        named = say_call(operand, reader)  # a day count, with the dates it read
    elif "parameter" in operand or "derived" in operand or key in reader.titles or operand.get("computed"):
        named = reader.title(key, str(operand.get("expr")))  # a computed value without a title: its expression
    elif operand.get("expr") == "as_of":
        named = reader.words["evaluation_date"]
    else:
        named = ""
    shown = say_value(value, reader, codes or key, unit=unit, year=year)
    if named and isinstance(value, Mapping) and "unknown" in value:
        shown = reader.words["unknown_paren"]  # 人均纯收入（未知） / income (unknown)
    judged = operand.get("judged")
    if isinstance(judged, Mapping) and not isinstance(value, Mapping):
        shown += reader.words["judged"].format(by=judged.get("by"), on=judged.get("on"))
    return named, shown


def say_call(operand: Mapping[str, Any], reader: Reader) -> str:
    """A day function of a trace in words with each date it read: 从申请日期（2021-09-20）到县级审定日期
    （2021-10-19）的工作日数（不含起始日）; a span of one step by the step: 村级公示（2021-09-22至2021-09-28）的天数."""
    lang = reader.lang
    call = str(operand.get("call"))
    args = [a for a in operand.get("args", []) if isinstance(a, Mapping)]
    if call in SPAN_PHRASES[lang] and len(args) == 2 and all("fact" in a for a in args):
        first, last = str(args[0]["fact"]), str(args[1]["fact"])
        base = first[: first.rindex("]") + 1] if "]" in first else ""
        label = reader.elements.get(base)
        if base and last.startswith(base + ".") and isinstance(label, Mapping):
            step = str(label[lang]).split("（" if lang == "zh" else " (")[0]
            return SPAN_PHRASES[lang][call].format(step, _plain_value(args[0], reader), _plain_value(args[1], reader))
    said = []
    for arg in args:
        named, shown = _operand(arg, reader, False)
        named = _embedded(named, lang) if named else named
        if not named:
            said.append(shown)
        elif shown.startswith("（"):
            said.append(named + shown)
        elif shown.startswith("("):
            said.append(f"{named} {shown}")
        else:
            said.append(f"{named}（{shown}）" if lang == "zh" else f"{named} ({shown})")
    try:
        return function_phrase(call, said, lang)
    except (KeyError, IndexError):
        return reader.title(title_key(operand), str(operand.get("expr")))


def _plain_value(operand: Mapping[str, Any], reader: Reader) -> str:
    return say_value(operand.get("value"), reader, None)


def _joined(named: str, shown: str, lang: str) -> str:
    if not named:
        return shown
    if shown.startswith("（"):
        return named + shown
    return f"{named}{shown}" if lang == "zh" and not shown[:1].isdigit() else f"{named} {shown}"


def say_condition(leaf: Mapping[str, Any], reader: Reader, since: Mapping[str, str] | None = None) -> str:
    """One leaf condition of a v2 trace as a sentence ending in its verdict."""
    return _first_upper(_condition(leaf, reader, since))


def _condition(leaf: Mapping[str, Any], reader: Reader, since: Mapping[str, str] | None) -> str:
    lang, words = reader.lang, reader.words
    verdict = RESULT_WORDS[lang].get(str(leaf.get("result")), str(leaf.get("result")))
    if "op" not in leaf:
        named, shown = _operand(leaf.get("value") or {}, reader, False)
        sep = words["colon"] if named else ""
        return f"{named}{sep}{shown} → {verdict}"
    op = str(leaf["op"])
    left, right = leaf.get("left") or {}, leaf.get("right") or {}
    year = bool(left.get("year") or right.get("year"))
    lnamed, lshown = _operand(left, reader, year, title_key(right) if "fact" in right and "fact" not in left else None)
    is_code = (
        ("fact" in left or "derived" in left and _has_codes(reader, title_key(left)))
        and isinstance(left.get("value"), str)
        and not _NUMBER.match(left["value"])
        and not _DATE.match(left["value"])
        and "parameter" not in right
        and "fact" not in right
    )
    if is_code or op in ("in", "not_in"):
        # A code against codes written in the rule: said as a statement of what it is and what was required.
        expected = say_value(right.get("value"), reader, title_key(left))
        what = {
            "==": words["is"] + expected if lang == "zh" else expected,
            "!=": words["is_not"] + expected if lang == "zh" else f"not {expected}",
            "in": words["one_of"].format(values=expected),
            "not_in": words["none_of"].format(values=expected),
        }.get(op, expected)
        is_word = words["is"] if lang == "zh" else " is "
        return f"{lnamed}{is_word}{lshown}{words['required'].format(what=what)} → {verdict}"
    coded = "fact" in left or "derived" in left and _has_codes(reader, title_key(left))
    rnamed, rshown = _operand(right, reader, year, title_key(left) if coded and "fact" not in right else None)
    if "fact" in left and "fact" in right and lnamed == rnamed:
        # The same item of two records (this year's wage income, last year's): each said with its record.
        lnamed, rnamed = _qualified(left, lnamed, lang), _qualified(right, rnamed, lang)
    rnamed = _embedded(rnamed, lang)
    if since is not None and "parameter" in right and right["parameter"] in since:
        start = since[right["parameter"]]
        rshown += f"（{start}{words['from']}）" if lang == "zh" else f" (from {start})"
    return f"{_joined(lnamed, lshown, lang)} {COMPARISON_WORDS[lang].get(op, op)} {_joined(rnamed, rshown, lang)} → {verdict}"


def _has_codes(reader: Reader, key: str) -> bool:
    """Whether the trace titles codes of ``key`` (a derived fact that is a step's code, on a case)."""
    entry = reader.titles.get(key)
    return isinstance(entry, Mapping) and bool(entry.get("values"))


def _qualified(operand: Mapping[str, Any], named: str, lang: str) -> str:
    """A fact's title followed by the title of the record that holds it: 工资性收入（上年同期收入）."""
    parent = _INDEX.sub("", str(operand["fact"])).rsplit(".", 1)[0]
    title = fact_title(parent, lang)
    if title == parent:
        return named
    if lang == "zh":
        return f"{named}（{title}）"
    title = title.split(", ")[0]
    return f"{named} ({title[:1].lower() + title[1:]})"


def _verdict(node: Mapping[str, Any], reader: Reader) -> str:
    result = node.get("result")
    if result is None:
        return ""
    return " → " + RESULT_WORDS[reader.lang].get(str(result), str(result))


def _items_lines(items: Any, reader: Reader, depth: int, since: Mapping[str, str]) -> list[str]:
    """The lines of a group's items; an item said exactly as the one before it (a requirement two figures
    share, checked for each) is said once."""
    lines: list[str] = []
    said: set[tuple[str, ...]] = set()
    for item in items if isinstance(items, list) else ():
        block = tuple(_group_lines(item, reader, depth, since))
        if block not in said:
            said.add(block)
            lines.extend(block)
    return lines


def _group_lines(node: Mapping[str, Any], reader: Reader, depth: int, since: Mapping[str, str]) -> list[str]:
    lang, words = reader.lang, reader.words
    pad = "  " * depth
    op = node.get("op")
    if op not in _GROUPS:
        return [pad + say_condition(node, reader, since)]
    colon = words["colon"].rstrip()
    lines: list[str] = []
    if op in ("and", "or", "not"):
        lines.append(f"{pad}{words[str(op)]}{_verdict(node, reader)}{colon}")
        lines.extend(_items_lines(node.get("items"), reader, depth + 1, since))
        if node.get("skipped"):
            count = len(node["skipped"])
            lines.append(f"{pad}  {words['skipped' if count > 1 else 'skipped_one'].format(n=count)}")
        return lines
    if op == "derived":
        key = "d." + str(node.get("derived"))
        title = reader.title(key, str(node.get("derived")))
        if "value" in node:
            value = node["value"]
            if not (isinstance(value, Mapping) and "unknown" in value) or key in reader.expanded:
                return []  # a figure worked out: the comparison that reads it says its value
            reader.expanded.add(key)  # why a figure is unknown is said once per rule
            head = words["worked_out"].format(title=title, value=say_value(value, reader, key))
            lines.append(f"{pad}{head}")
            lines.extend(_items_lines(node.get("items"), reader, depth + 1, since))
            return lines
        else:
            head = f"{title}{_verdict(node, reader)}"
        lines.append(f"{pad}{head}{colon}")
        lines.extend(_items_lines(node.get("items"), reader, depth + 1, since))
        return lines
    if op in ("first", "last"):
        return _first_last_lines(node, reader, pad)
    over = node.get("over") or {}
    listed = reader.fact(str(over["fact"])) if "fact" in over else reader.title(title_key(over), str(over.get("expr")))
    size = node.get("size")
    if size is None:
        return [f"{pad}{_first_upper(words['no_list'].format(list=listed))}{_verdict(node, reader)}"]
    value = say_value(node.get("value"), reader, None) if "value" in node else ""
    head = _first_upper(words.get(str(op), str(op)).format(list=_embedded(listed, lang), value=value))
    shown, passed_over = shown_elements(node)
    lines.append(f"{pad}{head}{_verdict(node, reader)}{colon if shown or passed_over or not size else ''}")
    if not size:
        lines.append(f"{pad}  {words['empty'].format(list=listed)}")
    if passed_over:
        lines.append(f"{pad}  {words['passed_over'].format(n=passed_over)}")
    for element in shown:
        label = reader.elements.get(str(element.get("at")))
        name = label[lang] if isinstance(label, Mapping) else str(element.get("at"))
        items = element.get("items", [])
        lines.append(f"{pad}  {name}{colon}")
        reader.inside.append(str(element.get("at")))
        lines.extend(_items_lines(items, reader, depth + 2, since))
        reader.inside.pop()
    if "visited" in node:
        count = int(size) - int(node["visited"])
        lines.append(f"{pad}  {words['not_visited' if count > 1 else 'not_visited_one'].format(n=count)}")
    return lines


def shown_elements(node: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], int]:
    """The elements of a quantifier an explanation lists, and how many of a case's steps it passes over.

    An element only added up is not listed (the total says it). Over a case's steps, a step that one
    false condition set aside (its ``if`` did not hold, or it is not the step ``any`` looks for) is passed
    over and counted, not listed: a case has many steps and a rule is about a few; the step that broke an
    ``all`` is listed."""
    elements = [e for e in node.get("elements", []) if isinstance(e, Mapping) and e.get("items")]
    over = node.get("over") or {}
    if not str(over.get("fact", "")).startswith("case."):
        return elements, 0
    broke = elements[-1] if node.get("op") == "all" and node.get("result") == "false" and elements else None
    shown = [
        e
        for e in elements
        if e is broke
        or not (
            len(e["items"]) == 1
            and isinstance(e["items"][0], Mapping)
            and e["items"][0].get("op") not in _GROUPS
            and e["items"][0].get("result") == "false"
        )
    ]
    return shown, len(elements) - len(shown)


def _first_last_lines(node: Mapping[str, Any], reader: Reader, pad: str) -> list[str]:
    value = node.get("value")
    if not (isinstance(value, Mapping) and "unknown" in value):
        return []  # the element picked: the comparison that reads it says its value
    return [pad + say_first_last(node, reader)]


def say_first_last(node: Mapping[str, Any], reader: Reader) -> str:
    """A first()/last() of a trace: the element it picked with its value (办理环节中第一个环节为村级公示的日期：
    2021-09-22), or the element the list lacks (办理环节中没有环节为村级公示的记录)."""
    value = node.get("value")
    expr = str(node.get("expr", ""))
    title = reader.title(expr, expr)
    if isinstance(value, Mapping) and "unknown" in value:
        absent = node.get("absent")
        if absent in value["unknown"]:
            return _first_upper(reader.title(str(absent), str(absent)))
        unknown = reader.words["unknown_paren"]
        return _first_upper(title + unknown if unknown.startswith("（") else f"{title} {unknown}")
    return f"{_first_upper(title)}{reader.words['colon']}{say_value(value, reader, None)}"


def _embedded(title: str, lang: str) -> str:
    return title if lang != "en" else embedded(title)


_WORD = re.compile(r"^[a-z]+[ ,:']")


def _first_upper(text: str) -> str:
    """A sentence with its first letter capital, when it starts with a word (not an expression)."""
    return text[:1].upper() + text[1:] if _WORD.match(text) else text


def _where(cite: Mapping[str, Any]) -> str:
    """``file:line`` or ``file:line-end`` of a trace's ``cite`` entry (``?`` for a part a record lacks)."""
    file, line, end = str(cite.get("file", "?")), cite.get("line", "?"), cite.get("end_line")
    if isinstance(line, int):
        return file_lines(file, line, end)
    return f"{file}:{line}" if end in (None, line) else f"{file}:{line}-{end}"  # a record's malformed entry, as it is


def _cite(cite: Mapping[str, Any], reader: Reader) -> str:
    file = str(cite.get("file", "?"))
    where = _where(cite)
    source = reader.sources.get(file)
    quote = cite.get("quote", "")
    part = cite.get("section")
    label = str(part.get(reader.lang, "")) if isinstance(part, Mapping) else ""
    if reader.lang == "zh":
        named = f"《{source['zh']}》{label}（{where}）" if isinstance(source, Mapping) else where
        return f"{reader.words['source']}：{named}「{quote}」"
    named = (
        f"“{source['en']}”" + (f", {label}" if label else "") + f" ({where})" if isinstance(source, Mapping) else where
    )
    return f"{reader.words['source']}: {named}: “{quote}”"


def _facts(paths: Sequence[str], reader: Reader) -> str:
    return reader.words["names_sep"].join(reader.fact(p) for p in paths)  # titles may hold commas


def render(trace: Mapping[str, Any], lang: str = "zh") -> list[str]:
    """The lines of a ``povrules.trace.v2`` document's explanation in ``lang``; nothing but the document is read.

    Raises :class:`~povrules.errors.LanguageError` for a language other than ``"zh"`` or ``"en"``, and
    :class:`~povrules.errors.UsageError` (a ``ValueError``) for a document of another schema.
    """
    check_lang(lang)
    if trace.get("schema") != TRACE_SCHEMA_V2:
        raise UsageError(f"schema: expected {TRACE_SCHEMA_V2!r}, got {trace.get('schema')!r}")
    reader = Reader(trace, lang)
    words = reader.words
    colon = words["colon"]
    decision = trace.get("decision") or {}
    ruleset = trace.get("ruleset") or {}
    title = (decision.get("title") or {}).get(lang, decision.get("name"))
    digest = str(ruleset.get("digest", ""))[:19]
    lines = [
        (
            f"{words['decision']}{colon}{title} [{decision.get('name')}] {words['for']} {trace.get('facts_id')}"
            f" → {reader.outcome(str(trace.get('outcome')))}"
        ),
        (
            f"  {words['as_of']} {trace.get('as_of')}{words['semi']}{words['ruleset']} [{ruleset.get('id')}] "
            f"{ruleset.get('version')} [{digest}]"
        ),
    ]
    rules = [r for r in trace.get("rules", []) if isinstance(r, Mapping)]
    markers = {str(r.get("marker")) for rule in rules for r in rule.get("refused", []) if isinstance(r, Mapping)}
    missing = [str(p) for p in trace.get("missing", [])]
    facts = [p for p in missing if p not in markers]
    if facts:
        lines.append(f"  {words['missing']}{colon}{_facts(facts, reader)}")
    refused_titles = {
        str(r.get("marker")): (r.get("title") or {}).get(lang, r.get("derived"))
        for rule in rules
        for r in rule.get("refused", [])
        if isinstance(r, Mapping)
    }
    if markers & set(missing):
        shown = list(dict.fromkeys(str(refused_titles[p]) for p in missing if p in markers))  # once per figure
        lines.append(f"  {words['refused']}{colon}{words['list_sep'].join(shown)}")
    if trace.get("possible"):
        lines.append(
            f"  {words['possible']}{colon}" + words["list_sep"].join(reader.outcome(str(p)) for p in trace["possible"])
        )
    amount = trace.get("amount")
    if isinstance(amount, Mapping):
        lines.extend("  " + line for line in amount_lines(amount, reader, str(trace.get("outcome"))))
    timeline = trace.get("timeline")
    if isinstance(timeline, Mapping):
        lines.extend("  " + line for line in timeline_lines(timeline, reader))
    for rule in rules:
        lines.extend(_rule_lines(rule, reader))
    return lines


# A case's timeline


def _coded_title(entry: Any, lang: str) -> str:
    return str(entry.get(lang) or entry.get("code")) if isinstance(entry, Mapping) else ""


def say_event(event: Mapping[str, Any], reader: Reader) -> str:
    """One step of a timeline: its day (or days, with how many calendar and working days they span), its
    title, who took it, how many took part or signed, where it was posted and what came of it."""
    lang = reader.lang
    words = TIMELINE_WORDS[lang]
    when = str(event.get("date"))
    if event.get("time"):
        when += f" {event['time']}"
    if event.get("end"):
        when += f"{words['to']}{event['end']}" if lang == "zh" else f" {words['to']} {event['end']}"
    said = f"{when} {_coded_title(event.get('step'), lang)}"
    days = event.get("days")
    if isinstance(days, Mapping) and days.get("calendar") is not None:
        working = days.get("working")
        said += words["span"].format(calendar=days["calendar"], working="?" if working is None else working)
    parts = []
    if isinstance(event.get("actor"), Mapping):
        parts.append(_coded_title(event["actor"], lang))
    if event.get("people") is not None:
        parts.append(words["people"].format(n=event["people"]))
    if event.get("signatures") is not None:
        parts.append(words["signatures"].format(n=event["signatures"]))
    for name in ("place", "outcome"):
        if isinstance(event.get(name), Mapping):
            parts.append(_coded_title(event[name], lang))
    if event.get("reference"):
        parts.append(str(event["reference"]))
    if parts:
        said += ("，" if lang == "zh" else ", ") + ("，" if lang == "zh" else ", ").join(parts)
    return said


def say_days(days: Mapping[str, Any], reader: Reader) -> str:
    """A day count of a constraint: 17个工作日 / 17 working days (unknown: 未知)."""
    value = days.get("value")
    if not isinstance(value, int) or isinstance(value, bool):
        return reader.words["unknown"]
    unit = str(days.get("unit", ""))
    if reader.lang == "zh":
        return f"{value}个{unit}" if unit == "工作日" else f"{value}{unit}"
    return f"{value} {UNIT_WORDS['en'].get(unit, unit)}"


def say_constraint(constraint: Mapping[str, Any], reader: Reader, at: int | None = None) -> str:
    """A constraint as a timeline marks it: ✔/✘/? and its title, with the days it counted that end on step
    ``at`` (all of them for None)."""
    words = TIMELINE_WORDS[reader.lang]
    mark = RESULT_MARKS.get(str(constraint.get("result")), "?")
    title = (constraint.get("title") or {}).get(reader.lang, constraint.get("rule"))
    said = f"{mark} {title} [{constraint.get('rule')}]"
    counted = [
        say_days(d, reader)
        for d in constraint.get("days", [])
        if isinstance(d, Mapping)
        and (at is None or max(d.get("events") or [-1]) == at)  # on the step that ends the period
        and isinstance(d.get("value"), int)
    ]
    if counted:
        joined = reader.words["list_sep"].join(counted)
        said += f"（{words['days']}{joined}）" if reader.lang == "zh" else f" ({words['days']} {joined})"
    return said


def timeline_lines(timeline: Mapping[str, Any], reader: Reader) -> list[str]:
    """A case's timeline as lines: a heading with the kind of case, each step on one line with the
    constraints that read it, then the constraints that read no step or lack one (naming it)."""
    lang, words = reader.lang, TIMELINE_WORDS[reader.lang]
    colon = reader.words["colon"].rstrip()
    head = words["timeline"]
    kind = timeline.get("kind")
    if isinstance(kind, Mapping):
        head += f"（{_coded_title(kind, lang)}）" if lang == "zh" else f" ({_coded_title(kind, lang)})"
    lines = [head + colon]
    constraints = [c for c in timeline.get("constraints", []) if isinstance(c, Mapping)]
    sep = "；" if lang == "zh" else "; "
    for event in timeline.get("events", []):
        if not isinstance(event, Mapping):
            continue
        index = event.get("index")
        marks = [say_constraint(c, reader, index) for c in constraints if index in c.get("events", [])]
        lines.append("  " + say_event(event, reader) + (("  " + sep.join(marks)) if marks else ""))
    for constraint in constraints:
        missing = [str(m) for m in constraint.get("missing", [])]
        if constraint.get("events") and not missing:
            continue
        said = reader.words["names_sep"].join(reader.fact(m) for m in missing) if missing else words["not_read"]
        lines.append(f"  {say_constraint(constraint, reader)} — {said}")
    return lines


# Amounts


def say_money(value: Any, unit: Mapping[str, Any] | str | None, lang: str) -> str:
    """An exact amount with its unit in ``lang``: 12,000 元 / 12,000 yuan, 50 %, 3 个月 / 3 months; the digits
    grouped, the decimals as exact as the trace holds them (never through a float)."""
    text = _number(str(value), True) if _NUMBER.match(str(value)) else str(value)
    if isinstance(unit, Mapping):
        word = str(unit.get(lang) or unit.get("code") or "")
    else:
        word = str(UNIT_WORDS[lang].get(unit or "", unit or "")) if lang == "en" else str(unit or "")
    return f"{text} {word}" if word else text


def say_total(amount: Mapping[str, Any], lang: str) -> str:
    """An amount decision's total in words, with its period: 每月 255 元 / 255 yuan a month."""
    period = amount.get("period") or {}
    code = str(period.get("code", "none")) if isinstance(period, Mapping) else "none"
    money = say_money(amount.get("total"), amount.get("unit"), lang)
    if lang == "zh":
        return f"{PERIOD_WORDS['zh'].get(code, '')} {money}".lstrip()
    word = PERIOD_WORDS["en"].get(code, "")
    return f"{money} {word}".rstrip()


def _per_period(amount: Mapping[str, Any], lang: str) -> str:
    period = amount.get("period") or {}
    code = str(period.get("code", "none")) if isinstance(period, Mapping) else "none"
    return PER_PERIOD_WORDS[lang].get(code, "")


def _said_operand(operand: Mapping[str, Any], reader: Reader, shown: Sequence[str]) -> str:
    """An operand of a figure's arithmetic: the step that made it (bracketed, with its result), else its
    title and value with its unit; a constant written in the row as its value."""
    made = operand.get("step")
    if isinstance(made, int) and 0 <= made < len(shown):
        return f"（{shown[made]}）" if reader.lang == "zh" else f"({shown[made]})"
    key = title_key(operand)
    value = operand.get("value")
    entry = reader.titles.get(key)
    unit = entry.get("unit") if isinstance(entry, Mapping) else None
    if isinstance(value, Mapping) and "unknown" in value:
        said = reader.words["unknown"]
    elif isinstance(value, (bool, list)) or value is None:
        said = say_value(value, reader, key)
    else:
        said = say_money(value, unit, reader.lang)
    if "fact" in operand:
        named = reader.fact(str(operand["fact"]))
    elif "parameter" in operand or "derived" in operand or operand.get("computed"):
        named = reader.title(key, str(operand.get("expr")))
    else:
        return said
    return f"{_embedded(named, reader.lang)} {said}"


def _is_rate(operand: Mapping[str, Any], reader: Reader) -> bool:
    entry = reader.titles.get(title_key(operand))
    return isinstance(entry, Mapping) and entry.get("unit") == "%"


def _is_hundred(operand: Mapping[str, Any]) -> bool:
    return "fact" not in operand and "parameter" not in operand and str(operand.get("value")) == "100"


def say_steps(steps: Sequence[Mapping[str, Any]], reader: Reader) -> str:
    """A figure's arithmetic as one line, without its result: 合规自付 12,000 元 × 救助比例 50 % (a rate in %
    divided by 100 is said as the rate: the percent sign says it); an earlier step that a later one reads
    is bracketed with its result."""
    lang = reader.lang
    said: list[str] = []  # each step without its result
    shown: list[str] = []  # each step with its result, as a later step's operand shows it
    rates: list[bool] = []  # whether the step multiplies by a rate in %
    for step in steps:
        op = str(step.get("op"))
        args = [a for a in step.get("args", []) if isinstance(a, Mapping)]
        result = step.get("result")
        if op == "/" and len(args) == 2 and _is_hundred(args[1]):
            inner = args[0].get("step")
            if isinstance(inner, int) and inner < len(said) and rates[inner]:
                said.append(said[inner])  # (x × rate %) / 100: already said by the percent sign
                shown.append(f"{said[inner]}{_equals(_plain(result))}")
                rates.append(False)
                continue
            if _is_rate(args[0], reader):
                text = _said_operand(args[0], reader, shown)
                said.append(text)
                shown.append(text)
                rates.append(False)
                continue
        parts = [_said_operand(a, reader, shown) for a in args]
        if op in ("+", "-", "*", "/") and len(parts) == 2:
            text = f"{parts[0]} {AMOUNT_SYMBOLS[op]} {parts[1]}"
        elif op in ("min", "max"):
            text = phrase(f"amount.{op}", lang, items=reader.words["list_sep"].join(parts))
        elif op == "abs":
            text = phrase("amount.abs", lang, a=parts[0] if parts else "")
        elif op == "if":  # the branch the test chose: 省外救助比例 40 %
            text = parts[1] if len(parts) > 1 else _plain(result)
        else:  # a figure that is one reference
            text = parts[0] if parts else _plain(result)
        said.append(text)
        # A reference, or the branch a test chose, already shows its value.
        shown.append(text if op in ("value", "if") else f"{text}{_equals(_plain(result))}")
        rates.append(op == "*" and any(_is_rate(a, reader) for a in args))
    if len(steps) > 1 and str(steps[-1].get("op")) == "value":
        # A figure summed over a list (sum(… for c in costs)): each element's own working, then the total.
        read = {a.get("step") for s in steps for a in s.get("args", []) if isinstance(a, Mapping)}
        tops = [i for i, s in enumerate(steps[:-1]) if i not in read and str(s.get("op")) in _ARITHMETIC]
        if tops:
            return reader.words["semi"].join([*(shown[i] for i in tops), said[-1]])
    return said[-1] if said else ""


_ARITHMETIC = frozenset({"+", "-", "*", "/", "min", "max", "abs"})


def _equals(said: str) -> str:
    """`` = 6,000 元``, or `` ≈ 50.6667 元`` for a result shown to four places only (the trace keeps it exact)."""
    return f" ≈ {said[1:]}" if said.startswith("≈") else f" = {said}"


def _plain(value: Any) -> str:
    return _number(str(value), True) if _NUMBER.match(str(value)) else str(value)


def say_rounding(rounding: Mapping[str, Any], lang: str) -> str:
    """Rounding as the ruleset states it: 四舍五入取整 / rounded half up to a whole number."""
    words = ROUNDING_WORDS[lang]
    places = int(rounding.get("places", 0))
    mode = words.get(str(rounding.get("mode")), str(rounding.get("mode")))
    if places > 0:
        how = words["places"].format(n=places)
    elif places == 0:
        how = words["integer"]
    else:
        named = {"zh": {-1: "十", -2: "百", -3: "千"}, "en": {-1: "ten", -2: "hundred", -3: "thousand"}}
        how = words["tens"].format(unit=named[lang].get(places, f"10^{-places}"))
    return f"{mode}{how}" if lang == "zh" else f"{mode} {how}"


def _row_working(row: Mapping[str, Any], reader: Reader, unit: Any) -> str:
    """A row's figure worked out: 合规自付 12,000 元 × 救助比例 50 % = 6,000 元, or a band's figure by its
    title: 第二档基本养老金 85 元 ("" when not traced)."""
    steps = [s for s in row.get("steps", []) if isinstance(s, Mapping)]
    if not steps:
        return ""
    said = say_steps(steps, reader)
    last = steps[-1]
    if str(last.get("op")) == "value":
        return said
    return f"{said}{_equals(say_money(last.get('result'), unit, reader.lang))}"


def say_part(part: Mapping[str, Any], amount: Mapping[str, Any], reader: Reader) -> str:
    """One part of an amount as a sentence: who (a member, an item), the rows that gave it by their titles,
    each row's arithmetic, then rounding and a cap or floor, to the figure with its period:
    成员2（72岁）：年满70周岁 → 第二档金额 85 元/月."""
    colon = reader.words["colon"]
    element = part.get("element")
    if element is None:
        return _part_text(part, amount, reader, "")
    reader.inside.append(str(element))  # facts of the member are said under the member's own label
    try:
        return _first_upper(_part_text(part, amount, reader, say_element(str(element), reader) + colon))
    finally:
        reader.inside.pop()


def _part_text(part: Mapping[str, Any], amount: Mapping[str, Any], reader: Reader, head: str) -> str:
    lang, words = reader.lang, AMOUNT_WORDS[reader.lang]
    unit = amount.get("unit")
    value = part.get("value")
    rows = [r for r in part.get("rows", []) if isinstance(r, Mapping)]
    if value is None:
        missing = [str(p) for p in part.get("missing", [])]
        return head + words["missing"].format(facts=_facts(missing, reader) if missing else reader.words["unknown"])
    shown = say_money(value, unit, lang) + _per_period(amount, lang)
    if not rows:
        return head + words["no_row"].format(value=shown)
    pieces = []
    for row in rows:
        title = str((row.get("title") or {}).get(lang, row.get("id")))
        working = _row_working(row, reader, unit)
        pieces.append(f"{title} → {working}" if working else title)
    text = head + reader.words["semi"].join(pieces)
    clauses = ""
    before = part.get("before")
    if len(rows) > 1 and before is not None:
        clauses += words["sum_of_rows"] + say_money(before, unit, lang)
    if part.get("rounded") and isinstance(amount.get("round"), Mapping):
        clauses += words["rounded"].format(how=say_rounding(amount["round"], lang))
    clauses += _limit_clause(amount, part, reader)
    if not clauses and rows[0].get("steps"):
        return text + _per_period(amount, lang)  # the working ends in the figure itself
    return f"{text}{clauses} → {shown}"


def say_working(part: Mapping[str, Any], amount: Mapping[str, Any], reader: Reader) -> str:
    """A part's arithmetic without who it is for or the rows' titles (a view's cell): each row's working,
    then the sum of several rows, rounding and the cap or floor."""
    element = part.get("element")
    if element is not None:
        reader.inside.append(str(element))
    try:
        unit = amount.get("unit")
        rows = [r for r in part.get("rows", []) if isinstance(r, Mapping)]
        text = reader.words["semi"].join(w for w in (_row_working(r, reader, unit) for r in rows) if w)
        words = AMOUNT_WORDS[reader.lang]
        if len(rows) > 1 and part.get("before") is not None:
            text += words["sum_of_rows"] + say_money(part["before"], unit, reader.lang)
        if part.get("rounded") and isinstance(amount.get("round"), Mapping):
            text += words["rounded"].format(how=say_rounding(amount["round"], reader.lang))
        if rows and part.get("value") is not None:
            text += _limit_clause(amount, part, reader)
        return text.lstrip("，, ")
    finally:
        if element is not None:
            reader.inside.pop()


def _limit_clause(amount: Mapping[str, Any], part: Mapping[str, Any], reader: Reader) -> str:
    """What a floor and a cap did to a part (the engine applies the floor first): ，不超过封顶线 10,000 元 /
    ，超过封顶线 10,000 元."""
    lang, words = reader.lang, AMOUNT_WORDS[reader.lang]
    limited = part.get("limited_by")
    clauses = []
    for name in ("floor", "cap"):
        limit = amount.get(name)
        if not isinstance(limit, Mapping):
            continue
        if limited is not None and limited != name:
            continue  # the limit that changed the figure is the one worth saying
        title = (limit.get("title") or {}).get(lang) if isinstance(limit.get("title"), Mapping) else None
        title = title or str(limit.get("expr"))
        if lang == "en":
            title = embedded(title)
        figure = part.get("limit") if limited == name else limit.get("value")
        said = say_money(figure, amount.get("unit"), lang) if figure is not None else ""
        key = {("cap", True): "over_cap", ("cap", False): "within_cap"}.get(
            (name, limited == name), "below_floor" if limited == name else "above_floor"
        )
        clauses.append(words[key].format(title=title, limit=said))
    return "".join(clauses)


def amount_lines(amount: Mapping[str, Any], reader: Reader, outcome: str) -> list[str]:
    """The lines an amount decision adds to its explanation: the total with its period (or why there is
    none: the gate's decision and its outcome), then each part with its arithmetic."""
    lang, words = reader.lang, AMOUNT_WORDS[reader.lang]
    colon = reader.words["colon"]
    gate = amount.get("gate")
    if outcome in ("not_eligible", "undetermined") and isinstance(gate, Mapping) and not amount.get("parts"):
        found = gate.get("titles")
        titles: Mapping[str, Any] = found if isinstance(found, Mapping) else {}

        def said(code: str) -> str:
            entry = titles.get(code)
            return str(entry[lang]) if isinstance(entry, Mapping) else code

        wanted = words["gate_outcomes_sep"].join(said(str(o)) for o in gate.get("outcomes", []))
        got = said(str(gate["outcome"])) if gate.get("outcome") else reader.words["unknown"]
        title = str((gate.get("title") or {}).get(lang, gate.get("decision")))
        key = "not_eligible" if outcome == "not_eligible" else "gate_undetermined"
        zero = say_money(amount.get("total") or "0", amount.get("unit"), lang)
        return [words[key].format(gate=title, outcome=got, wanted=wanted, value=zero)]
    if amount.get("total") is None:
        lines = [f"{words['total']}{colon}{words['cannot']}"]
    else:
        lines = [f"{words['total']}{colon}{say_total(amount, lang)}"]
    lines.extend("  " + say_part(p, amount, reader) for p in amount.get("parts", []) if isinstance(p, Mapping))
    return lines


def _rule_lines(rule: Mapping[str, Any], reader: Reader) -> list[str]:
    lang, words = reader.lang, reader.words
    colon = words["colon"]
    status = STATUS_WORDS[lang].get(str(rule.get("status")), str(rule.get("status")))
    override = rule.get("override")
    if isinstance(override, Mapping):
        status += (
            f"（{override.get('body')} {override.get('decided_on')}）"
            if lang == "zh"
            else f" ({override.get('body')}, {override.get('decided_on')})"
        )
    elif rule.get("contradicting"):
        status += contradicting_text(rule["contradicting"], lang)
    elif rule.get("status") == "awaiting_deliberation" and rule.get("override_by"):
        bodies = "、".join(rule["override_by"])
        status += f"（{bodies}）" if lang == "zh" else f" (by {bodies})"
    mark = RESULT_MARKS.get(str(rule.get("result")), "?")
    title = (rule.get("title") or {}).get(lang, rule.get("id"))
    lines = [f"  {mark} {title} [{rule.get('id')}] — {status}"]
    since = {str(p.get("name")): str(p.get("from")) for p in rule.get("parameters", []) if p.get("from")}
    reader.expanded.clear()
    lines.extend(_items_lines(rule.get("condition"), reader, 3, since))
    refused = [r for r in rule.get("refused", []) if isinstance(r, Mapping)]
    markers = {r.get("marker") for r in refused}
    facts = [str(p) for p in rule.get("missing", []) if p not in markers]
    if facts:
        lines.append(f"      {words['missing']}{colon}{_facts(facts, reader)}")
    for entry in refused:
        index = entry.get("requirement")
        number = index + 1 if isinstance(index, int) else "?"
        figure = (entry.get("title") or {}).get(lang, entry.get("derived"))
        text = (
            f"{words['refused']}{colon}{figure}（{words['requirement'].format(n=number)}）"
            if lang == "zh"
            else f"{words['refused']}{colon}{figure} ({words['requirement'].format(n=number)})"
        )
        if isinstance(entry.get("cite"), Mapping):
            text += words["semi"] + _cite(entry["cite"], reader)
        note = entry.get("note")
        if isinstance(note, Mapping):
            text += f"{words['semi']}{words['note']}{colon}{note.get(lang)}"
        lines.append("      " + text)
    if isinstance(rule.get("cite"), Mapping):
        lines.append("      " + _cite(rule["cite"], reader))
    note = rule.get("note")
    if isinstance(note, Mapping) and rule.get("status") not in ("not_applicable", "not_met", "not_in_force"):
        lines.append(f"      {words['note']}{colon}{note.get(lang)}")
    return lines


def explain(decision: Decision, lang: str = "zh") -> str:
    """A decision as text: the outcome, then every rule tried with its conditions, source and note.

    The same as rendering the decision's trace (:func:`render` of ``to_trace(decision)``). Raises
    :class:`~povrules.errors.LanguageError` for a language other than ``"zh"`` or ``"en"``.
    """
    check_lang(lang)
    return "\n".join(render(to_trace(decision, version=2), lang))


def explain_record(record: Mapping[str, Any], lang: str = "zh") -> str:
    """A stored decision record as text, read from its trace alone: nothing is evaluated again.

    A ``povrules.record.v2`` record says exactly what :func:`explain` says of the decision it was made
    from, followed by a line naming the record; a v1 record is explained in the older wording.
    Raises :class:`~povrules.errors.LanguageError` for a language other than ``"zh"`` or ``"en"``.
    """
    check_lang(lang)
    trace = record.get("trace")
    if not isinstance(trace, Mapping) or trace.get("schema") != TRACE_SCHEMA_V2:
        return explain_record_v1(dict(record), lang)
    words = EXPLANATION_WORDS[lang]
    lines = render(trace, lang)
    redacted = words["redacted"] if record.get("redacted") else ""
    lines.append(f"  {words['record']} [{str(record.get('digest', ''))[:19]}]{redacted}")
    return "\n".join(lines)


def amount_summary(figures: Any, lang: str) -> list[str]:
    """An amount comparison in words (``figures``: a :class:`povrules.compare.AmountFigures`): the summed
    totals before and after with the change, how many households' amounts differ, and how many cannot be
    worked out (when any)."""
    words = AMOUNT_WORDS[check_lang(lang)]
    unit = figures.unit if lang == "zh" else UNIT_WORDS["en"].get(figures.unit, figures.unit)
    period = PERIOD_WORDS[lang].get(figures.period, "")

    def money(value: Decimal, signed: bool = False) -> str:
        text = format_value(value, None, lang)
        if signed and value > 0:
            text = "+" + text
        said = f"{text} {unit}"
        return (f"{period} {said}" if lang == "zh" else f"{said} {period}").strip() if period else said

    lines = [
        words["amount_totals"].format(
            before=money(figures.before), after=money(figures.after), delta=money(figures.delta, signed=True)
        ),
        words["amount_changed"].format(changed=figures.changed),
    ]
    if figures.undetermined_before or figures.undetermined_after:
        lines.append(
            words["amount_undetermined"].format(before=figures.undetermined_before, after=figures.undetermined_after)
        )
    return lines


# Seams for the views (HTML), which lay the same sentences out as nested lists.


def say_group(node: Mapping[str, Any], reader: Reader) -> str:
    """The heading of a group of a v2 condition tree, without its verdict: and/or/not as the text says them,
    a derived figure by its title (with its value when it is unknown and worked out below), a quantifier as
    what it requires of its list (or that the list is unknown)."""
    lang, words = reader.lang, reader.words
    op = str(node.get("op"))
    if op in ("and", "or", "not"):
        return words[op]
    if op == "derived":
        key = "d." + str(node.get("derived"))
        title = reader.title(key, str(node.get("derived")))
        if "value" in node:
            return words["worked_out"].format(title=title, value=say_value(node["value"], reader, key)).rstrip("：: ")
        return title
    listed = say_list(node, reader)
    if node.get("size") is None:
        return _first_upper(words["no_list"].format(list=listed))
    value = say_value(node.get("value"), reader, None) if "value" in node else ""
    return _first_upper(words.get(op, op).format(list=_embedded(listed, lang), value=value))


def say_list(node: Mapping[str, Any], reader: Reader) -> str:
    """The list a quantifier of a v2 condition tree goes over, by its title."""
    over = node.get("over") or {}
    return reader.fact(str(over["fact"])) if "fact" in over else reader.title(title_key(over), str(over.get("expr")))


def say_empty(node: Mapping[str, Any], reader: Reader) -> str:
    """That a quantifier's list is empty (there is none), naming the list."""
    return _first_upper(reader.words["empty"].format(list=say_list(node, reader)))


def say_not_checked(count: int, reader: Reader) -> str:
    """That ``count`` further parts were not checked, the result being settled already."""
    return reader.words["skipped" if count > 1 else "skipped_one"].format(n=count)


def say_element(at: str, reader: Reader) -> str:
    """A list element (``hh.members[1]``) by the label the trace gives it (a member by name), else its path."""
    label = reader.elements.get(at)
    return str(label[reader.lang]) if isinstance(label, Mapping) else at


def say_source(cite: Mapping[str, Any], reader: Reader) -> str:
    """A trace citation's document by its title and section, as the text names it (no file, line or quote);
    "" when the trace does not list the document."""
    source = reader.sources.get(str(cite.get("file")))
    if not isinstance(source, Mapping):
        return ""
    part = cite.get("section")
    label = str(part.get(reader.lang, "")) if isinstance(part, Mapping) else ""
    if reader.lang == "zh":
        return f"《{source['zh']}》{label}"
    return f"“{source['en']}”" + (f", {label}" if label else "")


def contradicting_text(records: Sequence[Mapping[str, Any]], lang: str) -> str:
    """The override records of one date that contradict one another (as the trace shows them), in
    brackets: body, date and what each decided, in the order recorded."""
    words = OVERRIDE_OUTCOME_WORDS[lang]
    parts = [
        f"{r.get('body')} {r.get('decided_on')} {words.get(str(r.get('outcome')), r.get('outcome'))}" for r in records
    ]
    return f"（{'；'.join(parts)}）" if lang == "zh" else f" ({'; '.join(parts)})"


# Rankings


def _tiebreak_title(node: ast.Node, decision: Decision, lang: str) -> tuple[str, str | None]:
    """A tie-break expression by its title (as a v2 trace titles a computed value), and its unit in ``lang``."""
    said = expression_titles(node, decision.ruleset)
    title = (said[0] if lang == "zh" else said[1]) if said is not None else node.text
    unit = node.field.unit if isinstance(node, (ast.FactRef, ast.VarRef)) and node.field is not None else None
    if unit is not None and lang == "en":
        unit = UNIT_WORDS["en"].get(unit, unit) or None
    return title, unit


def explain_ranking(ranking: Ranking, lang: str = "zh") -> str:
    """A ranking as text: each place with the criteria that put the household there (by their titles),
    the tie-break values by the titles of what they compute, then the households not ranked (with the
    outcome that left them out, by its label) and those that cannot be ranked (with the facts lacking).

    Raises :class:`~povrules.errors.LanguageError` for a language other than ``"zh"`` or ``"en"``.
    """
    check_lang(lang)
    colon = EXPLANATION_WORDS[lang]["colon"]
    lines = []
    for entry in ranking.entries:
        decision = entry.decision
        spec = decision.ruleset.decisions[decision.decision]
        met = [str(decision.ruleset.rules[r].title(lang)) for r in entry.met]
        tie = phrase("ranking.tied", lang) if entry.tied else ""
        reason = EXPLANATION_WORDS[lang]["names_sep"].join(met) or phrase("ranking.no_criterion", lang)
        lines.append(f"{entry.position}. {entry.household}{tie}{colon}{reason}")
        for value, tb in zip(decision.sort_key[len(decision.sort_key) - len(spec.tiebreak) :], spec.tiebreak):
            raw = value.value if hasattr(value, "value") else value
            title, unit = _tiebreak_title(tb.expr, decision, lang)
            lines.append(f"     {title}{colon}{format_value(raw, unit, lang, grouped=not is_year(tb.expr))}")
    for decision in ranking.not_eligible:
        gate = decision.ruleset.decisions[decision.decision]
        lines.append(
            phrase(
                "ranking.not_ranked",
                lang,
                household=decision.facts_id,
                outcome=outcome_titles(gate, decision.outcome)[lang],
            )
        )
    for decision in ranking.undetermined:
        trace = to_trace(decision, version=2)
        reader = Reader(trace, lang)
        lines.append(
            phrase(
                "ranking.cannot_rank",
                lang,
                household=decision.facts_id,
                facts=_facts([str(p) for p in decision.missing], reader),
            )
        )
    return "\n".join(lines)


# Records v1 (``povrules.record.v1``): their trace is v1, without titles, so facts and parameters are said
# as the trace shows them (expression = value).


def _refusal_text(entry: Mapping[str, Any], figure: str, lang: str) -> str:
    """A refused figure in words, from its v1 trace entry: which requirement, its condition, its source and note."""
    words = TEXT_WORDS[lang]
    index = entry.get("requirement")
    number = index + 1 if isinstance(index, int) else "?"
    if lang == "zh":
        text = f"{words['refused']}：{figure}（{words['requirement']}{number}{words['not_met']}：{entry.get('expr')}）"
    else:
        text = f"{words['refused']}: {figure} ({words['requirement']} {number} {words['not_met']}: {entry.get('expr')})"
    cite = entry.get("cite")
    if isinstance(cite, Mapping):
        text += (
            f"；{words['source']}：{_where(cite)}「{cite.get('quote', '')}」"
            if lang == "zh"
            else f"; {words['source']}: {_where(cite)} “{cite.get('quote', '')}”"
        )
    if entry.get("note"):
        text += f"；{words['note']}：{entry['note']}" if lang == "zh" else f"; {words['note']}: {entry['note']}"
    return text


def _part(condition: Mapping[str, Any], side: str) -> Mapping[str, Any]:
    """One operand of a recorded condition, or an empty one (shown as "?") if the record has none."""
    operand = condition.get(side)
    return operand if isinstance(operand, Mapping) else {"expr": "?", "value": "?"}


def _value_text(operand: Mapping[str, Any], lang: str) -> str:
    value = operand.get("value")
    if isinstance(value, dict) and set(value) == {"unknown"}:
        shown = TEXT_WORDS[lang]["unknown_value"]
    elif isinstance(value, bool):
        shown = TEXT_WORDS[lang]["yes"] if value else TEXT_WORDS[lang]["no"]
    else:
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)
    if "fact" not in operand and "parameter" not in operand and operand.get("expr") != "as_of":
        return shown  # a constant written in the rule: its value says it all
    return f"{operand.get('expr', '?')} = {shown}"


def explain_record_v1(record: Mapping[str, Any], lang: str = "zh") -> str:
    """A ``povrules.record.v1`` record as text, read from its trace alone: nothing is evaluated again and
    no ruleset is needed. Its v1 trace has no titles, so facts and parameters appear as the trace shows
    them (expression = value) and outcomes by their codes.

    Raises :class:`~povrules.errors.LanguageError` for a language other than ``"zh"`` or ``"en"``.
    """
    words = TEXT_WORDS[check_lang(lang)]
    colon = "：" if lang == "zh" else ": "
    trace = record["trace"]
    ruleset = record["ruleset"]
    title = trace.get("decision", {}).get("title", {}).get(lang, record["decision"])
    lines = [
        (
            f"{words['decision']}{colon}{title} [{record['decision']}] {words['for']} {record['facts'].get('id')}"
            f" → {record['outcome']}"
        ),
        (
            f"  {words['as_of']} {record['as_of']}; {words['ruleset']} {ruleset['id']} {ruleset['version']} "
            f"({ruleset['digest'][:19]})"
        ),
        ("  记录 " if lang == "zh" else "  record ")
        + record["digest"][:19]
        + ("（已脱敏）" if lang == "zh" and record["redacted"] else " (redacted)" if record["redacted"] else ""),
    ]
    if record["missing"]:
        rules = trace.get("rules", []) if isinstance(trace, dict) else []
        markers = {
            r.get("marker")
            for rule in rules
            if isinstance(rule, dict)
            for r in rule.get("refused", [])
            if isinstance(r, dict)
        }
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
            status += (
                f"（{override.get('body')} {override.get('decided_on')}）"
                if lang == "zh"
                else f" ({override.get('body')}, {override.get('decided_on')})"
            )
        elif rule.get("contradicting"):
            status += contradicting_text(rule["contradicting"], lang)
        mark = RESULT_MARKS.get(rule.get("result"), "?")
        lines.append(f"  {mark} {rule.get('title', {}).get(lang, rule.get('id'))} [{rule.get('id')}] — {status}")
        for condition in rule.get("conditions", []):
            verdict = RESULT_WORDS[lang].get(condition.get("result"), condition.get("result"))
            if "op" in condition:
                # A verified record may still lack an operand the schema leaves optional: shown as "?", never a crash.
                op = condition["op"]
                text = (
                    f"{_value_text(_part(condition, 'left'), lang)} {OPERATOR_WORDS[lang].get(op, op)} "
                    f"{_value_text(_part(condition, 'right'), lang)}"
                )
            else:
                text = _value_text(_part(condition, "value"), lang)
            lines.append(f"      {text} → {verdict}")
        for parameter in rule.get("parameters", []):
            unit = f" {parameter['unit']}" if parameter.get("unit") else ""
            since = (
                f"（{parameter.get('from')} {words['from']}）" if lang == "zh" else f" (from {parameter.get('from')})"
            )
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
            quote = cite.get("quote", "")
            lines.append(
                f"      {words['source']}{colon}{_where(cite)}「{quote}」"
                if lang == "zh"
                else f"      {words['source']}: {_where(cite)} “{quote}”"
            )
    return "\n".join(lines)
