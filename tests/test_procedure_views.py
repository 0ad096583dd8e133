"""Views of a decision on a case: the timeline in the trace, the text and the HTML view, day counts said with
their dates, absent steps in words, records that verify and replay, the columnar engine's refusal, the CLI.

The fixture ruleset (tests/fixtures/procedure) is a small procedure of inclusion in monitoring: a deadline
in working days from the application to the county's approval, a posting's length, the visiting team's size
and the township's review after the posting. Its three cases comply, break two constraints, and lack steps.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import povrules
from povrules.audit import RulesetStore, explain_record, make_record, record_json, replay, verify_record
from povrules.cli import main
from povrules.html import decision_html
from povrules.text import explain, render
from povrules.trace import to_trace, trace_schema
from povrules.wording import function_phrase

FIXTURE = Path(__file__).parent / "fixtures" / "procedure"
DECISION = "monitoring_inclusion_procedure"
AS_OF = date(2021, 10, 20)


@pytest.fixture(scope="module")
def ruleset() -> povrules.Ruleset:
    return povrules.load_ruleset(FIXTURE)


def case(name: str, **changes: Any) -> povrules.facts.Case:
    data = json.loads((FIXTURE / f"{name}.json").read_text(encoding="utf-8"))
    data.update(changes)
    return povrules.parse_facts(data, "case")


def decide(ruleset: povrules.Ruleset, name: str, as_of: date = AS_OF, **changes: Any) -> povrules.Decision:
    return povrules.evaluate(case(name, **changes), ruleset, DECISION, as_of=as_of)


def timeline_block(text: str) -> list[str]:
    """The lines of an explanation's timeline block (its heading and the lines indented under it)."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(("  办理过程", "  Timeline")))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        block.append(line)
    return block


# The timeline block, golden in both languages


GOLDEN_TIMELINES = {
    ("compliant", "zh"): [
        "  办理过程（纳入监测）：",
        "    2021-09-20 农户申请，农户  ✔ 20个工作日内审定 [decided_in_time]",
        "    2021-09-21 入户核查，村两委，3人  ✔ 入户核实不少于2人 [visited_by_two]",
        (
            "    2021-09-22至2021-09-28 村级公示（7天，6个工作日），村务公开栏，无异议  ✔ 村级公示不少于7天 [posted_long_enough]"
            "（计7天）；✔ 公示期满后乡镇审核 [reviewed_after_posting]"
        ),
        "    2021-09-29 乡镇审核，乡镇党委政府，3人签字  ✔ 公示期满后乡镇审核 [reviewed_after_posting]",
        "    2021-10-19 县级审定，县级人民政府，通过  ✔ 20个工作日内审定 [decided_in_time]（计17个工作日）",
    ],
    ("violation", "zh"): [
        "  办理过程（纳入监测）：",
        "    2021-09-20 农户申请  ✔ 20个工作日内审定 [decided_in_time]",
        "    2021-09-21 入户核查，2人  ✔ 入户核实不少于2人 [visited_by_two]",
        (
            "    2021-09-22至2021-09-26 村级公示（5天，4个工作日），村务公开栏  ✘ 村级公示不少于7天 [posted_long_enough]（计5天）"
            "；✘ 公示期满后乡镇审核 [reviewed_after_posting]"
        ),
        "    2021-09-26 乡镇审核  ✘ 公示期满后乡镇审核 [reviewed_after_posting]",
        "    2021-10-20 县级审定  ✔ 20个工作日内审定 [decided_in_time]（计18个工作日）",
    ],
    ("undetermined", "en"): [
        "  Timeline (inclusion in monitoring):",
        "    2021-09-20 application  ✔ decided within 20 working days [decided_in_time] (counted 18 working days)",
        (
            "    2021-09-22 to 2021-09-28 village posting (7 days, 6 working days), village notice board  ✔ posted in the "
            "village for at least 7 days [posted_long_enough] (counted 7 days); ? reviewed by the township after the "
            "posting [reviewed_after_posting]"
        ),
        "    ? visited by at least two [visited_by_two] — no household visit among the case's steps",
        (
            "    ? reviewed by the township after the posting [reviewed_after_posting] — no township review among the "
            "case's steps"
        ),
    ],
    ("undetermined", "zh"): [
        "  办理过程（纳入监测）：",
        "    2021-09-20 农户申请  ✔ 20个工作日内审定 [decided_in_time]（计18个工作日）",
        (
            "    2021-09-22至2021-09-28 村级公示（7天，6个工作日），村务公开栏  ✔ 村级公示不少于7天 [posted_long_enough]（计7天）"
            "；? 公示期满后乡镇审核 [reviewed_after_posting]"
        ),
        "    ? 入户核实不少于2人 [visited_by_two] — 办理环节中没有环节为入户核查的记录",
        "    ? 公示期满后乡镇审核 [reviewed_after_posting] — 办理环节中没有环节为乡镇审核的记录",
    ],
}


@pytest.mark.parametrize("name, lang", sorted(GOLDEN_TIMELINES))
def test_the_timeline_comes_first_with_each_step_and_the_constraints_on_it(ruleset, name, lang):
    text = explain(decide(ruleset, name), lang)
    assert timeline_block(text) == GOLDEN_TIMELINES[name, lang]
    lines = text.split("\n")
    first_rule = next(i for i, line in enumerate(lines) if line.startswith(("  ✔", "  ✘", "  ?")))
    assert lines.index(GOLDEN_TIMELINES[name, lang][0]) < first_rule  # the timeline, then the rules


def test_outcomes_of_the_three_cases(ruleset):
    assert decide(ruleset, "compliant").outcome == "compliant"
    violation = decide(ruleset, "violation")
    assert violation.outcome == "violation"
    broken = [r.rule.id for r in violation.results if r.status == "not_met"]
    assert broken == ["posted_long_enough", "reviewed_after_posting"]  # every constraint broken, not the first only
    undetermined = decide(ruleset, "undetermined")
    assert undetermined.outcome == "undetermined"
    assert undetermined.missing == (
        'case.events[e.step == "household_visit"]',
        'case.events[e.step == "township_review"]',
    )


# The whole explanation of the violation, golden in both languages (read every line after a change of wording)

GOLDEN_VIOLATION = {
    "zh": """\
决定：纳入监测程序 [monitoring_inclusion_procedure] 对 case-2 → 违反程序规定
  评估日 2021-10-20；规则集 [test-procedure] 1 [sha256:bffcd81b5bc5]
  办理过程（纳入监测）：
    2021-09-20 农户申请  ✔ 20个工作日内审定 [decided_in_time]
    2021-09-21 入户核查，2人  ✔ 入户核实不少于2人 [visited_by_two]
    2021-09-22至2021-09-26 村级公示（5天，4个工作日），村务公开栏  ✘ 村级公示不少于7天 [posted_long_enough]（计5天）；✘ 公示期满后乡镇审核 [reviewed_after_posting]
    2021-09-26 乡镇审核  ✘ 公示期满后乡镇审核 [reviewed_after_posting]
    2021-10-20 县级审定  ✔ 20个工作日内审定 [decided_in_time]（计18个工作日）
  ✔ 20个工作日内审定 [decided_in_time] — 满足
      已经县级审定 → 成立：
        办理环节：至少有一项须满足 → 成立：
          另有4项不在此列（未列出）
          县级审定（2021-10-20）：
            办理环节为县级审定（要求为县级审定） → 成立
      从申请日期（2021-09-20）到县级审定日期（2021-10-20）的工作日数（不含起始日） 18个工作日 不高于 审定期限 20个工作日（2021-01-01起） → 成立
      依据：《防止返贫监测帮扶工作方案》（003_b3e0d1e1f6ed8c82.txt:136）「一般不超過20個(gè)工作日」
  ✘ 村级公示不少于7天 [posted_long_enough] — 不满足
      办理环节：每一项都须满足 → 不成立：
        另有2项不在此列（未列出）
        村级公示（2021-09-22至2021-09-26）：
          办理环节为村级公示（要求为村级公示） → 成立
          村级公示（2021-09-22至2021-09-26）的天数 5天 不低于 公示最少天数 7天（2021-01-01起） → 不成立
        其余2项未检查（结果已定）
      依据：《防止返贫监测帮扶工作方案》（003_b3e0d1e1f6ed8c82.txt:136）「一般不超過20個(gè)工作日」
  ✔ 入户核实不少于2人 [visited_by_two] — 满足
      办理环节中第一个环节为入户核查的参与人数 2人 不低于 入户核实最少人数 2人（2021-01-01起） → 成立
      依据：《防止返贫监测帮扶工作方案》（003_b3e0d1e1f6ed8c82.txt:136）「一般不超過20個(gè)工作日」
  ✘ 公示期满后乡镇审核 [reviewed_after_posting] — 不满足
      村级公示结束日期 2021-09-26 低于 乡镇审核日期 2021-09-26 → 不成立
      依据：《防止返贫监测帮扶工作方案》（003_b3e0d1e1f6ed8c82.txt:136）「一般不超過20個(gè)工作日」""",
    "en": """\
Decision: procedure of inclusion in monitoring [monitoring_inclusion_procedure] for case-2 → procedure violated
  as of 2021-10-20; ruleset [test-procedure] 1 [sha256:bffcd81b5bc5]
  Timeline (inclusion in monitoring):
    2021-09-20 application  ✔ decided within 20 working days [decided_in_time]
    2021-09-21 household visit, 2 people  ✔ visited by at least two [visited_by_two]
    2021-09-22 to 2021-09-26 village posting (5 days, 4 working days), village notice board  ✘ posted in the village for at least 7 days [posted_long_enough] (counted 5 days); ✘ reviewed by the township after the posting [reviewed_after_posting]
    2021-09-26 township review  ✘ reviewed by the township after the posting [reviewed_after_posting]
    2021-10-20 county approval  ✔ decided within 20 working days [decided_in_time] (counted 18 working days)
  ✔ decided within 20 working days [decided_in_time] — met
      approved by the county → holds:
        At least one of the case's steps must qualify → holds:
          4 other(s) not concerned (not listed)
          county approval (2021-10-20):
            The step is county approval (required: county approval) → holds
      The working days after the day of application (2021-09-20) up to the day of the county's approval (2021-10-20) 18 working days is at most deadline for the decision 20 working days (from 2021-01-01) → holds
      Source: “防止返贫监测帮扶工作方案” (003_b3e0d1e1f6ed8c82.txt:136): “一般不超過20個(gè)工作日”
  ✘ posted in the village for at least 7 days [posted_long_enough] — not met
      Each of the case's steps must qualify → does not hold:
        2 other(s) not concerned (not listed)
        village posting (2021-09-22 to 2021-09-26):
          The step is village posting (required: village posting) → holds
          The days of village posting (2021-09-22 to 2021-09-26) 5 days is at least shortest posting 7 days (from 2021-01-01) → does not hold
        The other 2 were not checked (the result was already settled)
      Source: “防止返贫监测帮扶工作方案” (003_b3e0d1e1f6ed8c82.txt:136): “一般不超過20個(gè)工作日”
  ✔ visited by at least two [visited_by_two] — met
      The number of people of the first event of the case's steps whose step is household visit 2 persons is at least smallest visiting team 2 persons (from 2021-01-01) → holds
      Source: “防止返贫监测帮扶工作方案” (003_b3e0d1e1f6ed8c82.txt:136): “一般不超過20個(gè)工作日”
  ✘ reviewed by the township after the posting [reviewed_after_posting] — not met
      The last day of the village posting 2021-09-26 is below the day of the township's review 2021-09-26 → does not hold
      Source: “防止返贫监测帮扶工作方案” (003_b3e0d1e1f6ed8c82.txt:136): “一般不超過20個(gè)工作日”""",
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_golden_explanation_of_a_violation(ruleset, lang):
    assert explain(decide(ruleset, "violation"), lang) == GOLDEN_VIOLATION[lang]


# Day counts with their dates, first()/last() and absent steps in words


def test_a_working_day_count_is_said_with_both_dates_and_its_value(ruleset):
    zh = explain(decide(ruleset, "compliant"), "zh")
    assert (
        "从申请日期（2021-09-20）到县级审定日期（2021-10-19）的工作日数（不含起始日） 17个工作日 不高于 审定期限 20个工作日"
        in zh
    )
    en = explain(decide(ruleset, "compliant"), "en")
    assert (
        "The working days after the day of application (2021-09-20) up to the day of the county's approval "
        "(2021-10-19) 17 working days is at most deadline for the decision 20 working days" in en
    )


def test_a_deadline_still_running_counts_to_the_evaluation_date(ruleset):
    zh = explain(decide(ruleset, "undetermined"), "zh")
    assert "从申请日期（2021-09-20）到评估日（2021-10-20）的工作日数（不含起始日） 18个工作日" in zh


def test_a_posting_span_is_said_by_the_step_with_its_days(ruleset):
    assert "村级公示（2021-09-22至2021-09-26）的天数 5天 不低于 公示最少天数 7天" in explain(
        decide(ruleset, "violation")
    )
    en = explain(decide(ruleset, "violation"), "en")
    assert "The days of village posting (2021-09-22 to 2021-09-26) 5 days is at least shortest posting 7 days" in en


def test_first_is_said_as_the_step_it_picks(ruleset):
    zh = explain(decide(ruleset, "compliant"), "zh")
    assert "办理环节中第一个环节为入户核查的参与人数 3人 不低于 入户核实最少人数 2人" in zh
    en = explain(decide(ruleset, "compliant"), "en")
    assert "The number of people of the first event of the case's steps whose step is household visit 3 persons" in en
    assert "None first None" not in zh + en


def test_an_absent_step_is_said_in_words_among_the_missing_facts(ruleset):
    decision = decide(ruleset, "undetermined")
    zh, en = explain(decision, "zh"), explain(decision, "en")
    assert "  尚缺事实：办理环节中没有环节为入户核查的记录、办理环节中没有环节为乡镇审核的记录" in zh.split("\n")
    assert (
        "  Facts still needed: no household visit among the case's steps; no township review among the case's steps"
        in en
    )
    assert "case.events" not in zh + en
    assert "乡镇审核日期为未知，计算如下：" in zh


def test_steps_a_rule_is_not_about_are_counted_not_listed(ruleset):
    zh = explain(decide(ruleset, "violation"), "zh")
    assert "办理环节为农户申请（要求为县级审定）" not in zh  # any(): only the step it looked for is listed
    assert "          另有4项不在此列（未列出）\n          县级审定（2021-10-20）：" in zh
    # all(): the steps its `if` set aside are counted; the step that broke it is listed
    assert "        另有2项不在此列（未列出）\n        村级公示（2021-09-22至2021-09-26）：" in zh
    en = explain(decide(ruleset, "violation"), "en")
    assert "4 other(s) not concerned (not listed)" in en
    page = str(decision_html(decide(ruleset, "violation"), "zh"))
    assert "另有4项不在此列（未列出）" in page


def test_a_holiday_inside_the_period_changes_the_days_counted(ruleset):
    # Over the National Day holiday (2021-10-01…07, with 2021-09-26 and 2021-10-09 worked) 29 calendar days hold
    # 18 working days; the same period shifted to ordinary weeks holds 21.
    over_holiday = [
        {"step": "application", "date": "2021-09-20"},
        {"step": "county_approval", "date": "2021-10-19"},
    ]
    ordinary = [
        {"step": "application", "date": "2021-11-01"},
        {"step": "county_approval", "date": "2021-11-30"},
    ]
    said = [
        next(
            line
            for line in timeline_block(
                explain(decide(ruleset, "compliant", as_of=date(2021, 12, 31), events=events), "en")
            )
            if line.startswith("    2021-") and "county approval" in line
        )
        for events in (over_holiday, ordinary)
    ]
    assert said[0].endswith("✔ decided within 20 working days [decided_in_time] (counted 17 working days)")
    assert said[1].endswith("✘ decided within 20 working days [decided_in_time] (counted 21 working days)")


# The trace's timeline


def test_the_trace_carries_the_timeline_and_validates(ruleset):
    validator = jsonschema.Draft202012Validator(trace_schema(2))
    for name in ("compliant", "violation", "undetermined"):
        trace = to_trace(decide(ruleset, name))
        validator.validate(trace)
        assert render(trace, "zh") == explain(decide(ruleset, name), "zh").split("\n")
    trace = to_trace(decide(ruleset, "violation"))
    timeline = trace["timeline"]
    assert timeline["kind"] == {"code": "monitoring_inclusion", "zh": "纳入监测", "en": "inclusion in monitoring"}
    posting = timeline["events"][2]
    assert posting["step"]["code"] == "village_posting" and posting["step"]["zh"] == "村级公示"
    assert (posting["date"], posting["end"], posting["days"]) == (
        "2021-09-22",
        "2021-09-26",
        {"calendar": 5, "working": 4},
    )
    assert posting["place"]["code"] == "village"
    constraints = {c["rule"]: c for c in timeline["constraints"]}
    assert constraints["posted_long_enough"]["status"] == "not_met"
    assert constraints["posted_long_enough"]["events"] == [2]
    assert [d["value"] for d in constraints["posted_long_enough"]["days"]] == [5]
    assert constraints["reviewed_after_posting"]["events"] == [2, 3]
    deadline = constraints["decided_in_time"]
    assert deadline["events"] == [0, 4]
    assert deadline["days"] == [
        {
            "expr": "working_days_between(applied_on, approved_on)",
            "call": "working_days_between",
            "value": 18,
            "unit": "工作日",
            "args": [{"expr": "applied_on", "value": "2021-09-20"}, {"expr": "approved_on", "value": "2021-10-20"}],
            "events": [0, 4],
        }
    ]
    undetermined = to_trace(decide(ruleset, "undetermined"))["timeline"]["constraints"]
    visit = next(c for c in undetermined if c["rule"] == "visited_by_two")
    assert visit["events"] == [] and visit["missing"] == ['case.events[e.step == "household_visit"]']


def test_a_household_trace_has_no_timeline():
    weishan = povrules.load_ruleset(Path(__file__).resolve().parent.parent / "rulesets" / "cn-yunnan-weishan")
    household = povrules.parse_household({"id": "h1"})
    trace = to_trace(povrules.evaluate(household, weishan, "identify_poor_household", as_of=date(2016, 6, 30)))
    assert "timeline" not in trace


# Records


def test_a_case_record_verifies_explains_as_its_decision_and_replays_byte_for_byte(ruleset, tmp_path):
    store_folder = tmp_path / "store" / "test-procedure" / "1"
    store_folder.mkdir(parents=True)
    (store_folder / "ruleset.yaml").write_bytes((FIXTURE / "ruleset.yaml").read_bytes())
    store = RulesetStore(tmp_path / "store")
    for name in ("compliant", "violation", "undetermined"):
        decision = decide(ruleset, name)
        record = make_record(decision)
        verify_record(record)
        for lang in ("zh", "en"):
            lines = explain_record(record, lang).split("\n")
            assert "\n".join(lines[:-1]) == explain(decision, lang)
        assert record_json(make_record(decide(ruleset, name))) == record_json(record)
        result = replay(record_json(record), store)
        assert result.identical and result.divergence is None


# The HTML view


def test_the_html_view_shows_the_timeline_as_a_table_with_violations_highlighted(ruleset):
    page = str(decision_html(decide(ruleset, "violation"), "zh"))
    table = page[page.index("pv-timeline") :]
    table = table[: table.index("</table>")]
    for header in ("日期", "环节", "办理主体", "人数", "公示天数", "程序要求"):
        assert f">{header}</th>" in table
    rows = table.split("<tr")[2:]  # the header row aside
    assert len(rows) == 5
    assert ["pv-fail" in row for row in rows] == [False, False, True, True, False]
    assert "村务公开栏：5天，4个工作日" in rows[2]
    assert "✘ 村级公示不少于7天 [posted_long_enough]（计5天）" in rows[2]
    english = str(decision_html(decide(ruleset, "undetermined"), "en"))
    assert (
        "no household visit among the case&#x27;s steps" in english
        or "no household visit among the case's steps" in english
    )
    assert "pv-unknown" in english[english.index("pv-timeline") :]


# The columnar engine


def test_the_columnar_engine_refuses_a_decision_on_a_case(ruleset):
    from povrules.columnar import NotSupported, check_supported, translate_decision

    with pytest.raises(NotSupported, match="on a case .*row engine"):
        translate_decision(ruleset, DECISION, AS_OF)
    with pytest.raises(NotSupported, match="row engine"):
        check_supported(ruleset, DECISION)


HOUSEHOLD_RULES = """
id: test-days
version: "1"
title: {zh: 测试, en: test}
jurisdiction: test
sources:
  D: {file: principles.md, title: engine principles}
parameters:
  n:
    title: {zh: 天数, en: days}
    unit: 工作日
    values:
      - from: 2020-01-01
        value: 5
        cite: {source: D, line: 22, quote: "Every evaluation is *as of* a date."}
rules:
  working:
    title: {zh: 工作日, en: working days}
    when: working_days_between(hh.registration.registered_on, as_of) > p.n
    cite: {source: D, line: 22, quote: "Every evaluation is *as of* a date."}
  span:
    title: {zh: 期间, en: span}
    when: calendar_days(hh.registration.registered_on, as_of) > p.n
    cite: {source: D, line: 22, quote: "Every evaluation is *as of* a date."}
  deadline:
    title: {zh: 期限, en: deadline}
    when: add_working_days(hh.registration.registered_on, 5) < as_of
    cite: {source: D, line: 22, quote: "Every evaluation is *as of* a date."}
  eldest:
    title: {zh: 第一个, en: first}
    when: first(m.age for m in hh.members if m.age > p.n) > p.n
    cite: {source: D, line: 22, quote: "Every evaluation is *as of* a date."}
decisions:
  d:
    title: {zh: 决定, en: decision}
    kind: eligibility
    criteria: [working, span, deadline]
    outcomes: {yes: "met", no: "unmet"}
"""


@pytest.mark.parametrize(
    "rule, construct",
    [
        ("working", "function 'working_days_between'"),
        ("span", "function 'calendar_days'"),
        ("deadline", "function 'add_working_days'"),
        ("eldest", "quantifier 'first'"),
    ],
)
def test_the_translator_refuses_the_day_functions_and_first_naming_them(tmp_path, rule, construct):
    from povrules.columnar import NotSupported, Translator

    (tmp_path / "ruleset.yaml").write_text(HOUSEHOLD_RULES, encoding="utf-8")
    rules = povrules.load_ruleset(tmp_path / "ruleset.yaml")
    with pytest.raises(NotSupported) as refused:
        Translator(rules, date(2021, 6, 30)).rule(rule)
    assert refused.value.construct == construct
    assert construct in str(refused.value) and "row engine" in str(refused.value)


def test_the_day_functions_are_said_with_their_dates_on_any_subject(tmp_path):
    # Over the National Day holiday: 2021-09-29, 09-30 and 10-08 are the working days after 09-28 up to 10-08.
    (tmp_path / "ruleset.yaml").write_text(HOUSEHOLD_RULES, encoding="utf-8")
    rules = povrules.load_ruleset(tmp_path / "ruleset.yaml")
    household = povrules.parse_household({"id": "h1", "registration": {"registered_on": "2021-09-28"}})
    decision = povrules.evaluate(household, rules, "d", as_of=date(2021, 10, 8))
    zh, en = explain(decision, "zh"), explain(decision, "en")
    assert (
        "从建档立卡日期（2021-09-28）到评估日（2021-10-08）的工作日数（不含起始日） 3个工作日 高于 天数 5个工作日" in zh
    )
    assert "从建档立卡日期（2021-09-28）到评估日（2021-10-08）的天数（首尾两日均计） 11天" in zh
    assert "建档立卡日期（2021-09-28）之后第5个工作日 2021-10-11 低于 评估日 2021-10-08 → 不成立" in zh
    assert (
        "The working days after date registered as poor (2021-09-28) up to the evaluation date (2021-10-08) 3 working days"
        in en
    )
    assert "The working day 5 working days after date registered as poor (2021-09-28) 2021-10-11 is below" in en


# The command line


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_decide_explains_a_case_file(capsys, ruleset, lang):
    file = str(FIXTURE / "violation.json")
    code, out, _ = run(
        capsys, "decide", str(FIXTURE), DECISION, file, "--as-of", "2021-10-20", "--format", "text", "--lang", lang
    )
    assert code == 0
    assert out.rstrip("\n") == explain(decide(ruleset, "violation"), lang)


def test_decide_gives_json_and_records_of_a_case(capsys, tmp_path):
    file = str(FIXTURE / "compliant.json")
    code, out, _ = run(capsys, "decide", str(FIXTURE), DECISION, file, "--as-of", "2021-10-20", "--format", "json")
    assert code == 0 and json.loads(out)["timeline"]["events"][0]["step"]["code"] == "application"
    code, out, _ = run(capsys, "decide", str(FIXTURE), DECISION, file, "--as-of", "2021-10-20", "--record")
    assert code == 0
    record = json.loads(out)
    verify_record(record)
    (tmp_path / "record.json").write_text(out, encoding="utf-8")
    code, explained, _ = run(capsys, "explain", str(tmp_path / "record.json"), "--lang", "zh")
    assert code == 0 and "  办理过程（纳入监测）：" in explained.split("\n")


def test_schema_prints_the_case_schema_with_titles(capsys):
    code, out, _ = run(capsys, "schema", "--subject", "case")
    schema = json.loads(out)
    assert code == 0 and schema["title"] == "Case" and "events" in schema["properties"]
    event = schema["$defs"]["Event"]["properties"]
    assert "办理环节" in json.dumps(event["step"], ensure_ascii=False)
    assert "village_posting" in json.dumps(event["step"])


@pytest.mark.parametrize(
    "events, named",
    [
        (
            [
                {"step": "application", "date": "2021-09-20"},
                {"step": "village_posting", "date": "2021-09-22"},
                {"step": "county_approval", "date": "2021-09-19"},
            ],
            "events[2]",
        ),
        ([{"step": "village_posting", "date": "2021-09-22", "end": "2021-09-21"}], "events[0]"),
    ],
)
def test_a_case_file_out_of_order_is_one_line_naming_the_event(capsys, tmp_path, events, named):
    file = tmp_path / "case.json"
    file.write_text(json.dumps({"id": "c", "events": events}), encoding="utf-8")
    code, out, err = run(
        capsys, "decide", str(FIXTURE), DECISION, str(file), "--as-of", "2021-10-20", "--format", "text"
    )
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and named in err and str(file) in err


def test_decide_with_the_columnar_engine_refuses_a_case_ruleset_in_one_line(capsys, tmp_path):
    lines = tmp_path / "cases.jsonl"
    lines.write_text(
        json.dumps(json.loads((FIXTURE / "compliant.json").read_text(encoding="utf-8"))) + "\n", encoding="utf-8"
    )
    for source in (str(lines), str(FIXTURE / "compliant.json")):
        code, out, err = run(
            capsys,
            "decide",
            str(FIXTURE),
            DECISION,
            source,
            "--as-of",
            "2021-10-20",
            "--engine",
            "columnar",
            "-o",
            str(tmp_path / "out.csv"),
        )
        assert code != 0 and out == "" and err.count("\n") == 1
        assert "on a case" in err and "row engine" in err
    assert not (tmp_path / "out.csv").exists()


# Words


def test_the_day_functions_read_as_words():
    assert (
        function_phrase("working_days_between", ["申请日期", "县级审定日期"], "zh")
        == "从申请日期到县级审定日期的工作日数（不含起始日）"
    )
    assert function_phrase("calendar_days", ["a", "b"], "en") == "the days from a through b"
    assert (
        function_phrase("first", ["办理环节", "环节为村级公示", "日期"], "zh") == "办理环节中第一个环节为村级公示的日期"
    )
    assert (
        function_phrase("first", ["the case's steps", "step is village posting", "date"], "en")
        == "the date of the first event of the case's steps whose step is village posting"
    )
