"""The one bilingual catalogue: every fixed word and phrase of explanations, views and reports.

Explanations (text), views (HTML), ruleset diffs, comparisons, replays and lifecycle moves
take their words from here, in Chinese (``"zh"``) or English (``"en"``); titles that
belong to a ruleset (rules, parameters, outcomes) stay in the ruleset. :func:`check_lang`
is the one check of a language argument: every function taking ``lang`` calls it, so an
unknown language is a :class:`~povrules.errors.LanguageError`, never English by default.

Public API:

* languages: :data:`LANGS`, :func:`check_lang`;
* fixed words, each a table ``{lang: {key: words}}``: :data:`OPERATOR_WORDS`, :data:`ARITHMETIC_WORDS`,
  :data:`CONNECTIVE_WORDS`, :data:`RESULT_WORDS`, :data:`STATUS_WORDS`, :data:`OVERRIDE_OUTCOME_WORDS`,
  :data:`TEXT_WORDS` (text explanations), :data:`VIEW_WORDS` (HTML views), :data:`DIFF_WORDS` (ruleset
  diffs), :data:`PUNCTUATION` (:func:`punctuation`), :data:`PHRASES` (sentences with slots, :func:`phrase`);
  :data:`RESULT_MARKS`, the same in both;
* facts: :func:`fact_field` and :func:`fact_title` (a fact by its path), :func:`value_titles` and
  :func:`value_title` (an enumerated value by its title, from :mod:`povrules.facts.titles`);
* the expression language: :func:`function_title`, :func:`function_phrase` (a call as words, from
  :data:`FUNCTION_PHRASES` and :data:`COUNT_TITLES`); :data:`SPAN_PHRASES` (a step's span of days),
  :data:`ABSENT_PHRASES` (a step a case lacks), :func:`phrase_title` (:data:`PHRASE_TITLES`);
* a case's timeline: :data:`TIMELINE_WORDS`;
* values: :func:`format_value` (a fact, parameter or constant value as a caseworker reads it).

The titles of the policy source documents and their sections are in :mod:`povrules.sources`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from pydantic import BaseModel

from povrules.errors import LanguageError
from povrules.facts import SUBJECTS
from povrules.facts.titles import Title, titles_of
from povrules.lang.compiler import Unknown
from povrules.lang.types import EnumType, Field, ListType, RecordType, Type, record_of

LANGS: Final = ("zh", "en")


def check_lang(lang: object) -> str:
    """``lang`` itself when it is ``"zh"`` or ``"en"``.

    Raises:
        LanguageError: for any other value, naming it and the languages there are.
    """
    if isinstance(lang, str) and lang in LANGS:
        return lang
    raise LanguageError(lang)


# Explanations (text): comparison operators, results of conditions, statuses of rules.

OPERATOR_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "<": "低于",
        "<=": "不高于",
        ">": "高于",
        ">=": "不低于",
        "==": "等于",
        "!=": "不等于",
        "in": "属于",
        "not_in": "不属于",
    },
    "en": {
        "<": "is below",
        "<=": "is at most",
        ">": "is above",
        ">=": "is at least",
        "==": "equals",
        "!=": "differs from",
        "in": "is one of",
        "not_in": "is not one of",
    },
}
RESULT_WORDS: dict[str, dict[str, str]] = {
    "zh": {"true": "成立", "false": "不成立", "unknown": "未知", "not_in_force": "不在有效期"},
    "en": {"true": "holds", "false": "does not hold", "unknown": "unknown", "not_in_force": "not in force"},
}
STATUS_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "met": "满足",
        "not_met": "不满足",
        "applied": "适用",
        "overridden": "已被评议排除",
        "awaiting_deliberation": "待评议",
        "contradicted": "评议决定相互矛盾",
        "superseded": "被更高层级例外取代",
        "not_applicable": "不适用",
        "selected": "选中",
        "matched": "匹配",
        "not_matched": "不匹配",
        "unknown": "未知",
        "not_in_force": "不在有效期",
        "not_evaluated": "未计算（前提决定未通过）",
    },
    "en": {
        "met": "met",
        "not_met": "not met",
        "applied": "applies",
        "overridden": "set aside by deliberation",
        "awaiting_deliberation": "awaits deliberation",
        "contradicted": "recorded deliberations contradict each other",
        "superseded": "superseded by a higher exception",
        "not_applicable": "does not apply",
        "selected": "selected",
        "matched": "matched",
        "not_matched": "not matched",
        "unknown": "unknown",
        "not_in_force": "not in force",
        "not_evaluated": "not worked out (the decision it waits on did not admit it)",
    },
}
OVERRIDE_OUTCOME_WORDS: dict[str, dict[str, str]] = {
    "zh": {"upheld": "维持", "set_aside": "排除"},
    "en": {"upheld": "upheld", "set_aside": "set aside"},
}
# Arithmetic and the logical connectives, for conditions read as sentences.
ARITHMETIC_WORDS: dict[str, dict[str, str]] = {
    "zh": {"+": "加", "-": "减", "*": "乘以", "/": "除以"},
    "en": {"+": "plus", "-": "minus", "*": "times", "/": "divided by"},
}
CONNECTIVE_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "and": "并且",
        "or": "或者",
        "not": "并非",
        "all_of": "以下各项均成立",
        "any_of": "以下任一项成立",
        "empty": "（清单为空）",
    },
    "en": {
        "and": "and",
        "or": "or",
        "not": "not",
        "all_of": "all of the following hold",
        "any_of": "any of the following holds",
        "empty": "(the list is empty)",
    },
}
# Marks that read without colour, the same in both languages.
RESULT_MARKS: dict[str, str] = {"true": "✔", "false": "✘", "unknown": "?", "not_in_force": "–"}
# The fixed words of text explanations.
TEXT_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "decision": "决定",
        "outcome": "结果",
        "as_of": "评估日",
        "ruleset": "规则集",
        "missing": "尚缺事实",
        "possible": "可能结果",
        "source": "依据",
        "from": "起",
        "yes": "是",
        "no": "否",
        "note": "解释",
        "override": "评议",
        "unknown_value": "未知",
        "for": "对",
        "refused": "不予计算",
        "requirement": "要求",
        "not_met": "未满足",
    },
    "en": {
        "decision": "Decision",
        "outcome": "outcome",
        "as_of": "as of",
        "ruleset": "ruleset",
        "missing": "facts still needed",
        "possible": "possible outcomes",
        "source": "source",
        "from": "from",
        "yes": "yes",
        "no": "no",
        "note": "interpretation",
        "override": "deliberation",
        "unknown_value": "unknown",
        "for": "for",
        "refused": "figure refused",
        "requirement": "requirement",
        "not_met": "not met",
    },
}


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
    year; yes/no; a set in braces), with its unit.

    Raises:
        KeyError: for a language other than ``"zh"`` or ``"en"`` (callers check it first with :func:`check_lang`).
    """
    words = TEXT_WORDS[lang]
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


# Views (HTML). Labels and titles come from the ruleset itself.

VIEW_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "household": "对象",
        "as_of": "评估日",
        "ruleset": "规则集",
        "version": "版本",
        "digest": "摘要",
        "decision_kind": "决定类型",
        "outcome": "结果",
        "reasons": "决定依据",
        "no_reasons": "没有起决定作用的规则",
        "missing": "尚缺事实",
        "possible": "可能结果",
        "parameters_used": "所用参数",
        "trace": "逐条检查",
        "rules_tried": "条规则",
        "condition": "条件",
        "values": "比较的值",
        "result": "结果",
        "not_traced": "未记录条件（评估时 trace=False）",
        "no_conditions": "没有可列出的条件（例如清单为空）",
        "source": "依据",
        "note": "解释",
        "parameter": "参数",
        "value": "数值",
        "from": "起始日",
        "citation": "出处",
        "title": "名称",
        "jurisdiction": "适用地区",
        "subject": "决定对象",
        "decisions": "决定",
        "rules": "规则",
        "derived": "派生事实",
        "sources": "政策文件",
        "criteria": "条件（须全部满足）",
        "priorities": "优先条件",
        "exceptions": "例外",
        "rows": "表格行",
        "labels": "结果说明",
        "strength": "效力",
        "id": "编号",
        "expression": "表达式",
        "outcome_of_rule": "产生结果",
        "valid": "有效期",
        "hit_policy": "命中规则",
        "default": "无行命中时",
        "among": "参与排序的对象",
        "order": "排序方式",
        "tiebreak": "并列时",
        "variant": "变体",
        "met_criteria": "满足的优先条件",
        "none": "无",
        "facts_digest": "事实摘要",
        "until": "至",
        "descending": "降序",
        "ascending": "升序",
        "parameters": "参数",
        # decision kinds, rule strengths and roles
        "eligibility": "资格认定",
        "table": "决策表",
        "ranking": "排序",
        "amount": "金额",
        "granted": "享受",
        "not_eligible": "不符合条件",
        "hard": "刚性",
        "default_strength": "可评议",
        "criterion": "条件",
        "exception": "例外",
        "row": "表格行",
        "count": "按满足条件数",
        "lexicographic": "按条件先后",
        # outcomes the engine gives of its own
        "undetermined": "无法判定",
        "needs_deliberation": "须评议",
        "conflict": "规则冲突",
        "ranked": "已排序",
        "yes": "是",
        "no": "否",
        # comparisons and sweeps
        "what_if": "如果",
        "baseline": "现行规则",
        "households": "户数",
        "changed": "结果改变",
        "before": "现行结果",
        "after": "变体结果",
        "transitions": "结果变化",
        "unchanged": "结果不变",
        "causes": "原因",
        "changed_households": "结果改变的对象",
        "more": "另有 {n} 户未列出",
        "rules_differ": "取值改变的规则",
        "reevaluated": "重新评估的规则",
        "sweep": "参数扫描",
        "of": "共",
        # the and/or/not groups of a condition tree in the decision view
        "group_and": "且：以下各项须全部成立",
        "group_or": "或：以下各项至少一项成立",
        "group_not": "非：以下须不成立",
    },
    "en": {
        "household": "Subject",
        "as_of": "As of",
        "ruleset": "Ruleset",
        "version": "Version",
        "digest": "Digest",
        "decision_kind": "Kind",
        "outcome": "Outcome",
        "reasons": "Decided by",
        "no_reasons": "No rule decided it",
        "missing": "Facts still needed",
        "possible": "Possible outcomes",
        "parameters_used": "Parameters used",
        "trace": "Trace",
        "rules_tried": "rules tried",
        "condition": "Condition",
        "values": "Values compared",
        "result": "Result",
        "not_traced": "Conditions not recorded (evaluated with trace=False)",
        "no_conditions": "No condition to list (for instance, an empty list)",
        "source": "Source",
        "note": "Interpretation",
        "parameter": "Parameter",
        "value": "Value",
        "from": "From",
        "citation": "Citation",
        "title": "Title",
        "jurisdiction": "Jurisdiction",
        "subject": "Decides on",
        "decisions": "Decisions",
        "rules": "Rules",
        "derived": "Derived facts",
        "sources": "Policy documents",
        "criteria": "Criteria (all must hold)",
        "priorities": "Priority criteria",
        "exceptions": "Exceptions",
        "rows": "Table rows",
        "labels": "Outcomes",
        "strength": "Strength",
        "id": "Id",
        "expression": "Expression",
        "outcome_of_rule": "Gives",
        "valid": "In force",
        "hit_policy": "Hit policy",
        "default": "When no row matches",
        "among": "Ranks",
        "order": "Order",
        "tiebreak": "Ties broken by",
        "variant": "Variant",
        "met_criteria": "Priority criteria met",
        "none": "none",
        "facts_digest": "Facts digest",
        "until": "until",
        "descending": "descending",
        "ascending": "ascending",
        "parameters": "Parameters",
        "eligibility": "eligibility",
        "table": "decision table",
        "ranking": "ranking",
        "amount": "amount",
        "granted": "granted",
        "not_eligible": "not eligible",
        "hard": "hard",
        "default_strength": "open to deliberation",
        "criterion": "criterion",
        "exception": "exception",
        "row": "row",
        "count": "by number of criteria met",
        "lexicographic": "by the first criterion met",
        "undetermined": "undetermined",
        "needs_deliberation": "needs deliberation",
        "conflict": "conflicting rules",
        "ranked": "ranked",
        "yes": "yes",
        "no": "no",
        "what_if": "What if",
        "baseline": "Baseline",
        "households": "Households",
        "changed": "Changed",
        "before": "Baseline outcome",
        "after": "Variant outcome",
        "transitions": "Outcome changes",
        "unchanged": "Unchanged",
        "causes": "Because of",
        "changed_households": "Households that change",
        "more": "{n} more not listed",
        "rules_differ": "Rules whose values differ",
        "reevaluated": "Rules evaluated again",
        "sweep": "Parameter sweep",
        "of": "of",
        "group_and": "All of these must hold",
        "group_or": "Any of these must hold",
        "group_not": "Not: this must not hold",
    },
}


# Ruleset diffs: the kinds of entry and the fields of a rule or parameter that changed.

DIFF_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "none": "no changes",
        "ruleset": "ruleset",
        "rule": "rule",
        "parameter": "parameter",
        "derived": "derived fact",
        "decision": "decision",
        "from": "from",
        "cite": "citation",
        "condition": "condition",
        "strength": "strength",
        "outcome": "outcome",
        "citation": "citation",
        "validity": "validity",
        "override_by": "override by",
        "note": "interpretation",
        "title": "title",
        "level": "level",
        "unit": "unit",
    },
    "zh": {
        "none": "无变化",
        "ruleset": "规则集",
        "rule": "规则",
        "parameter": "参数",
        "derived": "派生事实",
        "decision": "决定",
        "from": "起",
        "cite": "依据",
        "condition": "条件",
        "strength": "强度",
        "outcome": "结果",
        "citation": "依据",
        "validity": "有效期",
        "override_by": "可由以下评议排除",
        "note": "解释",
        "title": "标题",
        "level": "层级",
        "unit": "单位",
    },
}


# Functions and quantifiers of the expression language: a title each, and a phrase with the titles of
# its arguments in slots {0}, {1}… ({args} for the arguments of min and max, however many).
FUNCTION_TITLES: dict[str, dict[str, str]] = {
    "zh": {
        "len": "个数",
        "abs": "绝对值",
        "min": "最小值",
        "max": "最大值",
        "date": "日期",
        "days_between": "相隔天数",
        "months_between": "相隔月数",
        "years_between": "相隔年数",
        "add_months": "若干个月后的日期",
        "add_years": "若干年后的日期",
        "add_days": "若干天后的日期",
        "working_days_between": "相隔工作日数",
        "working_days": "期间工作日数",
        "calendar_days": "期间天数",
        "add_working_days": "若干个工作日后的日期",
        "year": "年份",
        "month": "月份",
        "day": "日",
        "at": "某日适用的参数值",
        "any": "至少一项满足",
        "all": "每一项都满足",
        "count": "满足条件的个数",
        "sum": "合计",
        "first": "第一个符合条件者",
        "last": "最后一个符合条件者",
    },
    "en": {
        "len": "number of",
        "abs": "absolute value",
        "min": "smallest",
        "max": "largest",
        "date": "date",
        "days_between": "days between",
        "months_between": "months between",
        "years_between": "years between",
        "add_months": "months later",
        "add_years": "years later",
        "add_days": "days later",
        "working_days_between": "working days between",
        "working_days": "working days in a span",
        "calendar_days": "days in a span",
        "add_working_days": "working days later",
        "year": "year",
        "month": "month",
        "day": "day of the month",
        "at": "parameter value on a day",
        "any": "at least one meets",
        "all": "every one meets",
        "count": "how many meet",
        "sum": "total",
        "first": "the first that meets",
        "last": "the last that meets",
    },
}
FUNCTION_PHRASES: dict[str, dict[str, str]] = {
    "zh": {
        "len": "{0}的个数",
        "abs": "{0}的绝对值",
        "min": "{args}中的最小值",
        "max": "{args}中的最大值",
        "date": "{0}年{1}月{2}日",
        "days_between": "从{0}到{1}的天数",
        "months_between": "从{0}到{1}的整月数",
        "years_between": "从{0}到{1}的整年数",
        "add_months": "{0}之后{1}个月",
        "add_years": "{0}之后{1}年",
        "add_days": "{0}之后{1}天",
        "working_days_between": "从{0}到{1}的工作日数（不含起始日）",
        "working_days": "从{0}到{1}的工作日数（首尾两日均计）",
        "calendar_days": "从{0}到{1}的天数（首尾两日均计）",
        "add_working_days": "{0}之后第{1}个工作日",
        "year": "{0}的年份",
        "month": "{0}的月份",
        "day": "{0}是当月第几日",
        "at": "{1}适用的{0}",
        "any": "{0}中至少有一项{1}",
        "all": "{0}每一项都{1}",
        "count": "{0}中{1}的个数",
        "sum": "{0}的{1}合计",
        "first": "{0}中第一个{1}的{2}",
        "last": "{0}中最后一个{1}的{2}",
    },
    "en": {
        "len": "the number of {0}",
        "abs": "the absolute value of {0}",
        "min": "the smallest of {args}",
        "max": "the largest of {args}",
        "date": "{0}-{1}-{2}",
        "days_between": "the days from {0} to {1}",
        "months_between": "the whole months from {0} to {1}",
        "years_between": "the whole years from {0} to {1}",
        "add_months": "{1} months after {0}",
        "add_years": "{1} years after {0}",
        "add_days": "{1} days after {0}",
        "working_days_between": "the working days after {0} up to {1}",
        "working_days": "the working days from {0} through {1}",
        "calendar_days": "the days from {0} through {1}",
        "add_working_days": "the working day {1} working days after {0}",
        "year": "the year of {0}",
        "month": "the month of {0}",
        "day": "the day of the month of {0}",
        "at": "{0} in force on {1}",
        "any": "at least one of {0} {1}",
        "all": "every one of {0} {1}",
        "count": "how many of {0} {1}",
        "sum": "the total {1} over {0}",
        "first": "the {2} of the first event of {0} whose {1}",
        "last": "the {2} of the last event of {0} whose {1}",
    },
}
# A span counted on one step of a case (a posting from its first to its last day), said by the step:
# 村级公示（2021-09-22至2021-09-28）的天数; slots: the step, its first day, its last day.
SPAN_PHRASES: dict[str, dict[str, str]] = {
    "zh": {"calendar_days": "{0}（{1}至{2}）的天数", "working_days": "{0}（{1}至{2}）的工作日数"},
    "en": {"calendar_days": "the days of {0} ({1} to {2})", "working_days": "the working days of {0} ({1} to {2})"},
}
# An element a list lacks (what first() or last() found none of), by the list and the condition no
# element met; "step" when the condition is one step code (no village posting among the case's steps).
ABSENT_PHRASES: dict[str, dict[str, str]] = {
    "zh": {"step": "{list}中没有{what}的记录", "any": "{list}中没有{what}的记录", "empty": "{list}中没有任何记录"},
    "en": {"step": "no {code} among {list}", "any": "none of {list} whose {what}", "empty": "{list} hold none"},
}
# Shorter words for a case's list of steps and their fields inside a phrase (办理环节中第一个环节为村级公示的
# 日期), where a field's own title would repeat the list's.
PHRASE_TITLES: dict[str, Title] = {
    "case.events": ("办理环节", "the case's steps"),
    "case.events.step": ("环节", "step"),
    "case.events.date": ("日期", "date"),
    "case.events.end": ("结束日期", "last day"),
    "case.events.time": ("时间", "time"),
    "case.events.actor": ("办理主体", "actor"),
    "case.events.people": ("参与人数", "number of people"),
    "case.events.signatures": ("签字人数", "number of signatures"),
    "case.events.place": ("公示地点", "place of posting"),
    "case.events.outcome": ("结果", "outcome"),
    "case.events.reference": ("文书编号", "reference"),
}
# A list as a quantifier's heading names it (each of the {list}): a case's steps.
LIST_TITLES: dict[str, Title] = {"case.events": ("办理环节", "case's steps")}
# The words of a case's timeline (text and HTML views).
TIMELINE_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "timeline": "办理过程",
        "kind": "案卷类型",
        "plan": "所依方案",
        "to": "至",
        "span": "（{calendar}天，{working}个工作日）",
        "people": "{n}人",
        "signatures": "{n}人签字",
        "absent": "尚无记录",
        "not_read": "未涉及具体环节",
        "date": "日期",
        "step": "环节",
        "who": "办理主体",
        "count": "人数",
        "posted": "公示天数",
        "constraints": "程序要求",
        "days": "计",
    },
    "en": {
        "timeline": "Timeline",
        "kind": "kind of case",
        "plan": "plan",
        "to": "to",
        "span": " ({calendar} days, {working} working days)",
        "people": "{n} people",
        "signatures": "{n} signed",
        "absent": "no record yet",
        "not_read": "on no particular step",
        "date": "Date",
        "step": "Step",
        "who": "Who",
        "count": "People",
        "posted": "Posted days",
        "constraints": "Requirements",
        "days": "counted",
    },
}
# Counts that have a word of their own: len(list) by the list's path.
COUNT_TITLES: dict[str, Title] = {
    "hh.members": ("家庭成员人数", "number of household members"),
}


def function_title(name: str, lang: str) -> str:
    """The title of a function or quantifier of the expression language (``months_between`` → 相隔月数).

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
        KeyError: for a name the language does not have.
    """
    return FUNCTION_TITLES[check_lang(lang)][name]


def function_phrase(name: str, args: Sequence[str], lang: str, *, path: str | None = None) -> str:
    """A call read as words, from the titles of its arguments: ``months_between`` of 纳入监测日期 and
    评估日 → 从纳入监测日期到评估日的整月数. ``path`` is the fact path of ``len``'s list, for a count
    that has a word of its own (``len(hh.members)`` → 家庭成员人数). For a quantifier, ``args`` are the
    list and what its elements are asked (or summed).

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
        KeyError: for a name the language does not have.
    """
    lang = check_lang(lang)
    if name == "len" and path in COUNT_TITLES:
        zh, en = COUNT_TITLES[path]
        return zh if lang == "zh" else en
    joined = ("、" if lang == "zh" else ", ").join(args)
    return FUNCTION_PHRASES[lang][name].format(*args, args=joined)


def phrase_title(path: str, lang: str) -> str:
    """A list of a case's steps, or a field of a step, by its word inside a phrase
    (:data:`PHRASE_TITLES`: ``case.events.step`` → 环节), else by its title (:func:`fact_title`).

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
    """
    lang = check_lang(lang)
    found = PHRASE_TITLES.get(_INDEX.sub("", path))
    if found is not None:
        return found[0] if lang == "zh" else found[1]
    return fact_title(path, lang)


def value_titles(field_or_type: Field | Type) -> Mapping[str, Title] | None:
    """The titles of the values a fact field (or its type, or a list of it) takes, when they are a
    vocabulary of the facts; ``None`` for any other field (numbers, dates, free text)."""
    typ = field_or_type.type if isinstance(field_or_type, Field) else field_or_type
    if isinstance(typ, ListType):
        typ = typ.item
    if isinstance(typ, EnumType) and typ.titles:  # a ruleset's own codes, titled where it declares them
        return {value: (zh, en) for value, zh, en in typ.titles}
    return titles_of(typ.values) if isinstance(typ, EnumType) else None


def value_title(field_or_type: Field | Type, value: str, lang: str) -> str:
    """An enumerated value of a fact as a caseworker reads it (``exited`` of the registration status →
    脱贫户); ``value`` itself when the field is not enumerated or the value not among its titles.

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
    """
    lang = check_lang(lang)
    titles = value_titles(field_or_type)
    title = titles.get(value) if titles is not None else None
    if title is None:
        return value
    return title[0] if lang == "zh" else title[1]


# Punctuation that differs between the languages: after a label, between the items of a list (a
# list of names; a list of clauses), and the HTML language tag.
PUNCTUATION: dict[str, dict[str, str]] = {
    "zh": {"colon": "：", "names": "、", "clauses": "、", "html_lang": "zh-CN"},
    "en": {"colon": ": ", "names": ", ", "clauses": "; ", "html_lang": "en"},
}


def punctuation(name: str, lang: str) -> str:
    """A mark of punctuation in ``lang`` (``colon``, ``names``, ``clauses``, ``html_lang``).

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
    """
    return PUNCTUATION[check_lang(lang)][name]


_INDEX = re.compile(r"\[\d+\]")


def fact_field(path: str) -> Field | None:
    """The fact field at a fact path as traces write it (``hh.registration.status``,
    ``hh.members[1].age``: indices are read past; ``.value`` of a judged fact is the fact), or ``None``
    when no fact has that path."""
    root, _, rest = _INDEX.sub("", path).partition(".")
    model = next((m for m, name in SUBJECTS.values() if name == root), None)
    if model is None or not rest:
        return None
    record: Type = record_of(model)
    field: Field | None = None
    for name in rest.split("."):
        if field is not None and field.judged and name == "value":
            continue  # a judged fact's value: the fact itself
        if isinstance(record, ListType):
            record = record.item
        if not isinstance(record, RecordType) or name not in record.fields:
            return None
        field = record.fields[name]
        record = field.type
    return field


def fact_title(path: str, lang: str) -> str:
    """A fact by its label in ``lang`` (``hh.monitoring.included_on`` → 纳入监测日期); the path itself
    when no fact has it.

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
    """
    lang = check_lang(lang)
    field = fact_field(path)
    if field is None:
        return path
    return field.zh if lang == "zh" else field.en


# Phrases with slots ({name}), for the sentences of comparisons, replays and lifecycle moves.
PHRASES: dict[str, dict[str, str]] = {
    "zh": {
        "since": "{start} 起",
        "none_value": "无",
        "none_paren": "（无）",
        "unchanged": "{status}（不变）",
        "monitoring_status": "监测状态",
        "cause.parameter": "参数 {name}：{old} → {new}",
        "cause.decision": "决定 {name} 的组合方式改变",
        "cause.rule": "规则",
        "cause.derived": "派生事实",
        "cause.added": "{word} {name} 新增",
        "cause.removed": "{word} {name} 去掉",
        "cause.changed": "{word} {name} 修改：{old} → {new}",
        "comparison.changed": "{total} 户中 {changed} 户结果改变",
        "comparison.causes": "原因：",
        "households": "户数",
        "divergence.where": "（对 {where}）",
        "divergence.condition": "规则 {rule} 的条件 {condition}{where}",
        "divergence.rule": "规则 {rule}（{field}）",
        "divergence.amount_step": "金额：档次 {rule} 的计算 {step}{where}",
        "divergence.amount_row": "金额：档次 {rule}（{field}）{where}",
        "divergence.amount": "金额（{field}）{where}",
        "divergence": "首个不同之处：{head}：记录为 {recorded}，重放为 {replayed}",
        "replay.with_current": "与当前规则集比较（不是忠实重放）：记录依据 {old}，现以 {under} 重新评估",
        "replay.same": "结果相同：决定与依据完全一致。",
        "replay.identical": "重放一致：记录 {record} 在 {under} 下重新评估，得到逐字节相同的记录。",
        "replay.differs": "重放不一致：记录 {record}，重放得到 {replayed}。",
        "replay.outcome": "结果：记录为 {recorded}，现为 {now}",
        "replay.no_ruleset": "记录所依据的规则集不在规则库中，无法列出变化。",
        "replay.changes": "规则集的变化：",
        "decided_by": "（{body} {on}）",
        "awaiting": "（{bodies}）",
        "in_parentheses": "（{text}）",
        "rules_tried": "（{n} {rules_tried}）",
        "ranking.tied": "（并列）",
        "ranking.no_criterion": "无优先情形",
        "ranking.not_ranked": "未参与排序：{household} → {outcome}",
        "ranking.cannot_rank": "无法排序：{household}，尚缺{facts}",
        "amount.min": "{items}中较小者",
        "amount.max": "{items}中较大者",
        "amount.abs": "{a}的绝对值",
    },
    "en": {
        "since": "from {start}",
        "none_value": "none",
        "none_paren": "(none)",
        "unchanged": "{status} (unchanged)",
        "monitoring_status": "Monitoring status",
        "cause.parameter": "parameter {name}: {old} → {new}",
        "cause.decision": "decision {name}: how it combines its rules changed",
        "cause.rule": "rule",
        "cause.derived": "derived fact",
        "cause.added": "{word} {name} added",
        "cause.removed": "{word} {name} removed",
        "cause.changed": "{word} {name} changed: {old} → {new}",
        "comparison.changed": "{changed} of {total} households change outcome",
        "comparison.causes": "because of:",
        "households": "households",
        "divergence.where": " (for {where})",
        "divergence.condition": "rule {rule}, condition {condition}{where}",
        "divergence.rule": "rule {rule} ({field})",
        "divergence.amount_step": "amount: row {rule}, step {step}{where}",
        "divergence.amount_row": "amount: row {rule} ({field}){where}",
        "divergence.amount": "amount ({field}){where}",
        "divergence": "first difference: {head}: recorded {recorded}, replayed {replayed}",
        "replay.with_current": (
            "Compared with the current ruleset (not a faithful replay): recorded under {old}, "
            "evaluated again under {under}"
        ),
        "replay.same": "The same: the decision and its grounds agree.",
        "replay.identical": "Replay identical: record {record} evaluated again under {under} gives the same record, "
        "byte for byte.",
        "replay.differs": "Replay differs: record {record}, replayed {replayed}.",
        "replay.outcome": "outcome: recorded {recorded}, now {now}",
        "replay.no_ruleset": "The recorded ruleset is not in the store, so what changed cannot be listed.",
        "replay.changes": "What changed in the ruleset:",
        "decided_by": " ({body}, {on})",
        "awaiting": " (by {bodies})",
        "in_parentheses": " ({text})",
        "rules_tried": " ({n} {rules_tried})",
        "ranking.tied": " (tied)",
        "ranking.no_criterion": "no priority criterion",
        "ranking.not_ranked": "not ranked: {household} → {outcome}",
        "ranking.cannot_rank": "cannot rank: {household}, missing {facts}",
        "amount.min": "the smallest of {items}",
        "amount.max": "the largest of {items}",
        "amount.abs": "the absolute value of {a}",
    },
}


def phrase(key: str, lang: str, **slots: Any) -> str:
    """The phrase ``key`` in ``lang`` with its slots filled.

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
        KeyError: for a key the catalogue lacks (a programming error, not a caller's).
    """
    text = PHRASES[check_lang(lang)][key]
    return text.format(**slots) if slots else text


# Units as an English sentence writes them (a Chinese one keeps the unit as the text writes it).
UNIT_WORDS: dict[str, dict[str, str]] = {
    "zh": {"工作日": "个工作日"},
    "en": {
        "元": "yuan",
        "个月": "months",
        "岁": "years old",
        "人": "persons",
        "年": "years",
        "户": "households",
        "公斤": "kg",
        "平方米": "m²",
        "个": "",
        "%": "%",
        "月": "months",
        "天": "days",
        "工作日": "working days",
        "次": "times",
        "亩": "mu",
        "学期": "semesters",
        "周岁": "years old",
        "个百分点": "percentage points",
        "元/人": "yuan per person",
        "元/人/年": "yuan per person per year",
        "元/年/人": "yuan per person per year",
        "元/人/学期": "yuan per person per semester",
        "元/生/年": "yuan per student per year",
    },
}
# The period an amount is paid for, as a total line says it: 每月 255 元 / 255 yuan a month ("" for none).
PERIOD_WORDS: dict[str, dict[str, str]] = {
    "zh": {"month": "每月", "semester": "每学期", "year": "每年", "once": "一次性", "none": ""},
    "en": {"month": "a month", "semester": "a semester", "year": "a year", "once": "once", "none": ""},
}
# The same period after an amount of one member or item: 85 元/月 / 85 yuan a month.
PER_PERIOD_WORDS: dict[str, dict[str, str]] = {
    "zh": {"month": "/月", "semester": "/学期", "year": "/年", "once": "（一次性）", "none": ""},
    "en": {"month": " a month", "semester": " a semester", "year": " a year", "once": " once", "none": ""},
}
# The arithmetic of amounts, as symbols a clerk checks by hand (the same in both languages).
AMOUNT_SYMBOLS: dict[str, str] = {"+": "+", "-": "−", "*": "×", "/": "÷"}
# Rounding as the texts state it: mode and places (0: to the yuan; -2: to the hundred; 2: to the fen).
ROUNDING_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "half_up": "四舍五入",
        "half_even": "四舍六入五成双",
        "down": "舍去尾数",
        "up": "进位",
        "places": "保留{n}位小数",
        "integer": "取整",
        "tens": "取整到{unit}",
    },
    "en": {
        "half_up": "rounded half up",
        "half_even": "rounded half to even",
        "down": "rounded down",
        "up": "rounded up",
        "places": "to {n} decimal places",
        "integer": "to a whole number",
        "tens": "to the nearest {unit}",
    },
}
# The sentences of amounts in explanations and views (povrules.text, povrules.html), with {slots}.
AMOUNT_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "total": "合计",
        "total_line": "合计：{amount}",
        "undetermined_total": "合计：无法计算（{missing}）",
        "amount": "金额",
        "before": "限额前",
        "within_cap": "，不超过{title} {limit}",
        "over_cap": "，超过{title} {limit}",
        "above_floor": "，不低于{title} {limit}",
        "below_floor": "，低于{title} {limit}",
        "rounded": "，{how}",
        "no_row": "不符合任何一档 → {value}",
        "missing": "尚缺{facts}，无法计算",
        "cannot": "无法计算",
        "sum_of_rows": "，合计 ",
        "not_eligible": "{gate}的结果为{outcome}（须为{wanted}），不予计算 → {value}",
        "gate_undetermined": "{gate}尚无法判定（须为{wanted}），金额无法计算",
        "gate_outcomes_sep": "或",
        "household": "本户",
        "element": "对象",
        "row": "适用",
        "steps": "计算",
        "limited_by": "限额",
        "cap": "封顶",
        "floor": "保底",
        "before_after": "{before} → {value}",
        "amount_decisions": "金额决定",
        "unit": "单位",
        "period": "期间",
        "per": "逐项",
        "rows": "档次",
        "gate": "前提",
        "round": "取整",
        "amount_households": "金额改变的户",
        "total_before": "原合计",
        "total_after": "新合计",
        "delta": "增减",
        "amount_changed": "金额改变的户数：{changed}",
        "amount_totals": "金额合计：{before} → {after}（{delta}）",
        "amount_undetermined": "无法计算金额的户数：{before} → {after}",
    },
    "en": {
        "total": "Total",
        "total_line": "Total: {amount}",
        "undetermined_total": "Total: cannot be worked out ({missing})",
        "amount": "Amount",
        "before": "before the limit",
        "within_cap": ", within the {title} of {limit}",
        "over_cap": ", over the {title} of {limit}",
        "above_floor": ", not below the {title} of {limit}",
        "below_floor": ", below the {title} of {limit}",
        "rounded": ", {how}",
        "no_row": "no band applies → {value}",
        "missing": "cannot be worked out: {facts} still needed",
        "cannot": "cannot be worked out",
        "sum_of_rows": ", together ",
        "not_eligible": "{gate}: {outcome} (it must be {wanted}), so nothing is due → {value}",
        "gate_undetermined": "{gate} cannot be decided yet (it must be {wanted}), so the amount cannot be worked out",
        "gate_outcomes_sep": " or ",
        "household": "the household",
        "element": "For",
        "row": "Band or component",
        "steps": "Arithmetic",
        "limited_by": "Limit",
        "cap": "cap",
        "floor": "floor",
        "before_after": "{before} → {value}",
        "amount_decisions": "Amount decisions",
        "unit": "unit",
        "period": "period",
        "per": "one answer per",
        "rows": "rows",
        "gate": "only when",
        "round": "rounding",
        "amount_households": "Households whose amount changes",
        "total_before": "total before",
        "total_after": "total after",
        "delta": "change",
        "amount_changed": "households whose amount changes: {changed}",
        "amount_totals": "amount total: {before} → {after} ({delta})",
        "amount_undetermined": "households whose amount cannot be worked out: {before} → {after}",
    },
}
# The sentences of explanations (povrules.text): their parts, with {slots}.
EXPLANATION_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "decision": "决定",
        "for": "对",
        "as_of": "评估日",
        "ruleset": "规则集",
        "missing": "尚缺事实",
        "refused": "不予计算",
        "possible": "可能结果",
        "source": "依据",
        "note": "解释",
        "yes": "是",
        "no": "否",
        "unknown": "未知",
        "from": "起",
        "and": "以下各项须全部成立",
        "or": "以下各项至少一项成立",
        "not": "以下须不成立",
        "skipped": "其余{n}项未检查（结果已定）",
        "skipped_one": "其余1项未检查（结果已定）",
        "any": "{list}：至少有一项须满足",
        "all": "{list}：每一项都须满足",
        "count": "{list}中满足条件的数目为{value}",
        "sum": "{list}各项合计为{value}",
        "empty": "{list}为空（没有任何一项）",
        "no_list": "{list}未知",
        "not_visited": "其余{n}项未检查（结果已定）",
        "not_visited_one": "其余1项未检查（结果已定）",
        "passed_over": "另有{n}项不在此列（未列出）",
        "is": "为",
        "is_not": "不是",
        "one_of": "为{values}之一",
        "none_of": "不是{values}中的任何一项",
        "required": "（要求{what}）",
        "judged": "（{by}于{on}研判）",
        "record": "记录",
        "redacted": "（已脱敏）",
        "requirement": "第{n}项要求未满足",
        "no_conditions": "没有检查任何条件",
        "evaluation_date": "评估日",
        "unknown_paren": "（未知）",
        "value_sep": "、",
        "names_sep": "、",
        "worked_out": "{title}为{value}，计算如下：",
        "list_sep": "、",
        "colon": "：",
        "semi": "；",
    },
    "en": {
        "decision": "Decision",
        "for": "for",
        "as_of": "as of",
        "ruleset": "ruleset",
        "missing": "Facts still needed",
        "refused": "Figure refused",
        "possible": "Possible outcomes",
        "source": "Source",
        "note": "Note",
        "yes": "yes",
        "no": "no",
        "unknown": "unknown",
        "from": "from",
        "and": "All of these must hold",
        "or": "At least one of these must hold",
        "not": "This must not hold",
        "skipped": "The other {n} were not checked (the result was already settled)",
        "skipped_one": "The last one was not checked (the result was already settled)",
        "any": "At least one of the {list} must qualify",
        "all": "Each of the {list} must qualify",
        "count": "Those in {list} that qualify number {value}",
        "sum": "The total over {list} is {value}",
        "empty": "{list} is empty (there is none)",
        "no_list": "{list} is unknown",
        "not_visited": "The other {n} were not checked (the result was already settled)",
        "is": "is",
        "not_visited_one": "The last one was not checked (the result was already settled)",
        "passed_over": "{n} other(s) not concerned (not listed)",
        "is_not": "is not",
        "one_of": "one of {values}",
        "none_of": "none of {values}",
        "required": " (required: {what})",
        "judged": " (judged by {by} on {on})",
        "record": "Record",
        "redacted": " (redacted)",
        "requirement": "requirement {n} is not met",
        "no_conditions": "no condition was checked",
        "evaluation_date": "the evaluation date",
        "unknown_paren": "(unknown)",
        "value_sep": "; ",
        "names_sep": "; ",
        "worked_out": "{title} is {value}, worked out as follows:",
        "list_sep": ", ",
        "colon": ": ",
        "semi": "; ",
    },
}
# Comparators as explanations say them between two titled values.
COMPARISON_WORDS: dict[str, dict[str, str]] = {
    "zh": {"<": "低于", "<=": "不高于", ">": "高于", ">=": "不低于", "==": "等于", "!=": "不等于"},
    "en": {
        "<": "is below",
        "<=": "is at most",
        ">": "is above",
        ">=": "is at least",
        "==": "equals",
        "!=": "is not equal to",
    },
}
