"""Explanations: one renderer reads the trace document, so a record explains exactly as its decision does.

Golden explanations live in ``tests/golden/explain/<ruleset>/<case>.<lang>.txt``. After a deliberate change
of wording, make them again and read every changed file before committing::

    POVRULES_REGEN_GOLDEN=1 python -m pytest tests/test_explain.py -k golden
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import povrules
from povrules.audit import explain_record, make_record
from povrules.facts import parse_facts
from povrules.policytest import load_policy_file
from povrules.text import explain, render
from povrules.trace import to_trace, trace_schema

REPO = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "explain"
DATES = (date(2016, 6, 30), date(2021, 6, 30), date(2023, 6, 30))
# (example file, ruleset, decision, date, household index): two per ruleset with example households, one where
# the criterion holds and one where it does not.
GOLDEN_CASES = [
    ("cn-yunnan-weishan", "cn-yunnan-weishan", "identify_poor_household", date(2016, 6, 30), 1),
    ("cn-yunnan-weishan", "cn-yunnan-weishan", "identify_poor_household", date(2016, 6, 30), 3),
    ("cn-hunan-county-plan4", "cn-hunan-county-plan4", "monitoring_type", date(2021, 6, 30), 0),
    ("cn-hunan-county-plan4", "cn-hunan-county-plan4", "monitoring_type", date(2021, 6, 30), 3),
    ("cn-liaoning-yingkou", "cn-liaoning-yingkou", None, date(2023, 6, 30), 0),
    ("cn-liaoning-yingkou", "cn-liaoning-yingkou", None, date(2023, 6, 30), 1),
    ("cn-guizhou-qianxinan-town-plan7", "cn-guizhou-qianxinan-town-plan7", None, date(2021, 6, 30), 0),
    ("cn-guizhou-qianxinan-town-plan7", "cn-guizhou-qianxinan-town-plan7", None, date(2021, 6, 30), 1),
    ("cn-yunnan-weishan-village", "cn-yunnan-weishan-village", "one_higher", date(2016, 6, 30), 0),
    ("cn-yunnan-weishan-village", "cn-yunnan-weishan-village", "one_higher", date(2016, 6, 30), 1),
    ("cn-yunnan-weishan-county", "cn-yunnan-weishan-county", "county_exit_incidence", date(2016, 6, 30), 0),
]
# (ruleset, policy test file, case name): the rest of the two per ruleset, for rulesets whose example file
# is missing or has no household on one side, taken from the ruleset's own policy tests.
GOLDEN_POLICY_CASES = [
    ("cn-anhui-funan", "funan.yaml", "poverty risk after a flood brings the household into edge management"),
    ("cn-anhui-funan", "funan.yaml", "a disaster judged to bring neither risk does not"),
    (
        "cn-anhui-funan-plan19-procedure",
        "medical_aid_procedure.yaml",
        "个人申请、乡镇调查审核、医保局审批、财政局拨付依次进行",
    ),
    (
        "cn-anhui-funan-plan19-procedure",
        "risk_elimination_procedure.yaml",
        "县级审核当日即在系统中标注（“审核后”不含当日）",
    ),
    ("cn-anhui-funan-procedure", "medical_aid_procedure.yaml", "applied, reviewed, approved and paid in order"),
    ("cn-anhui-funan-procedure", "medical_aid_procedure.yaml", "paid before the approval"),
    ("cn-chongqing-fuling", "at_risk_band.yaml", "one fen below the lower end is outside the band"),
    ("cn-chongqing-fuling", "at_risk_band.yaml", "exactly the lower end is in the band"),
    (
        "cn-fujian-sanming",
        "household_type.yaml",
        "registered and on neither dibao nor wubao is a general poor household",
    ),
    ("cn-fujian-sanming", "household_type.yaml", "dibao with a full labourer is a dibao poor household with labour"),
    (
        "cn-fujian-sanming-village",
        "collective_income.yaml",
        "stage one, a zero-income village with operating and collective income meets it",
    ),
    ("cn-fujian-sanming-village", "collective_income.yaml", "stage one, no operating income is not enough"),
    ("cn-guangdong-shanmei", "general_poor.yaml", "exactly 2500 元 is within the line"),
    ("cn-guangdong-shanmei", "general_poor.yaml", "2500.01 元 is above the line"),
    ("cn-guangdong-zhaoyuan", "pv_dividend.yaml", "a dibao poor household with no labour is looked after"),
    ("cn-guangdong-zhaoyuan", "pv_dividend.yaml", "without dibao a no-labour household is in neither group"),
    ("cn-guangdong-zhaoyuan-village", "road_hardening.yaml", "exactly 200 people is a focus"),
    ("cn-guangdong-zhaoyuan-village", "road_hardening.yaml", "199 people is not"),
    (
        "cn-guizhou-qianxinan-town-plan7-procedure",
        "monitoring_inclusion_procedure.yaml",
        "六个步骤依次完成，村级公示满5天（含）",
    ),
    ("cn-guizhou-qianxinan-town-plan7-procedure", "monitoring_inclusion_procedure.yaml", "村级公示只有4天（少于5天）"),
    (
        "cn-hebei-lingshou-procedure",
        "monitoring_inclusion_procedure.yaml",
        "34 days over the National Day holiday are 20 working days (国庆假期和调休)",
    ),
    (
        "cn-hebei-lingshou-procedure",
        "monitoring_inclusion_procedure.yaml",
        "the same 34 days in ordinary weeks are 24 working days",
    ),
    (
        "cn-henan-xinxiang-school-plan10",
        "living_subsidy.yaml",
        "a primary boarder 500 (250 ÷ 50 %) and a junior non-boarder 312.5, 812.5 for the family",
    ),
    ("cn-henan-xinxiang-school-plan10", "nutrition_subsidy.yaml", "an ordinary family's pupils get nothing"),
    (
        "cn-henan-xinxiang-school-plan10-procedure",
        "student_aid_procedure.yaml",
        "公示跨五一假期（2021-04-28至05-06），只有4个工作日",
    ),
    (
        "cn-henan-xinxiang-school-plan10-procedure",
        "student_aid_procedure.yaml",
        "公示含调休上班的周六（2021-05-08），2021-05-06至05-11满5个工作日",
    ),
    ("cn-hebei-lingshou", "monitoring.yaml", "an exited household below 6000 元 of disposable income is identified"),
    ("cn-hebei-lingshou", "monitoring.yaml", "exactly 6000 is not below the line (低于 is strict)"),
    ("cn-hunan-county-plan4-procedure", "risk_elimination_procedure.yaml", "five steps in order"),
    ("cn-hunan-county-plan4-procedure", "monitoring_inclusion_procedure.yaml", "公示只有6天"),
    (
        "cn-guangxi-dapian-procedure",
        "assistance_procedure.yaml",
        "paired a full year, 3 visits in it (含), each record signed by 3, a plan and a project",
    ),
    ("cn-guangxi-dapian-procedure", "assistance_procedure.yaml", "2 visits in the year is too few"),
    (
        "cn-hunan-leiyang",
        "microcredit.yaml",
        "a registered poor household meeting every condition with a credit line is eligible",
    ),
    ("cn-hunan-leiyang", "microcredit.yaml", "without a credit line it may not have the loan"),
    (
        "cn-hunan-leiyang-procedure",
        "loan_procedure.yaml",
        "every step in order, reminders 30 days before the due date (at the limit)",
    ),
    ("cn-hunan-leiyang-procedure", "loan_procedure.yaml", "a bank reminder 29 days before the due date is late"),
    ("cn-hunan-xiangyin", "income_decrease.yaml", "every item rose, no decrease"),
    ("cn-hunan-xiangyin", "income_decrease.yaml", "wage income one yuan below last year is a decrease"),
    ("cn-hunan-xiangyin-procedure", "assistance_procedure.yaml", "surveyed by the helper before 28 July"),
    ("cn-hunan-xiangyin-procedure", "assistance_procedure.yaml", "7月29日才排查（超过期限）"),
    ("cn-jiangsu", "household_exit.yaml", "one fen below 6000 元 does not reach the line"),
    ("cn-jiangsu", "household_exit.yaml", "exactly 6000 元 reaches the line"),
    ("cn-jiangsu-weak-village", "weak_village.yaml", "exactly 180,000 元 meets the target"),
    ("cn-jiangsu-weak-village", "weak_village.yaml", "179,999.99 元 does not"),
    (
        "cn-liaoning-yingkou-procedure",
        "monitoring_inclusion_procedure.yaml",
        "identified in 14 days, compared in 3, the plan before the entry",
    ),
    ("cn-liaoning-yingkou-procedure", "monitoring_inclusion_procedure.yaml", "超过15日（第16日才完成识别认定）"),
    ("cn-national", "asset_income_shares.yaml", "a registered poor household may be given shares"),
    (
        "cn-national",
        "asset_income_shares.yaml",
        "an exited household no longer receiving policies is not a shareholder household",
    ),
    ("cn-shaanxi-liuba", "assistance.yaml", "a poor household with labour and no wishes gets Yulu training only"),
    ("cn-shaanxi-liuba", "assistance.yaml", "a general household with labour gets nothing"),
    (
        "cn-shaanxi-liuba-procedure",
        "assistance_procedure.yaml",
        "protection beginning on the posting's last day is a violation",
    ),
    (
        "cn-shaanxi-liuba-procedure",
        "assistance_procedure.yaml",
        "without the county's assessment the procedure is undetermined",
    ),
    (
        "cn-shanxi-lvde",
        "company_loan_eligibility.yaml",
        "a registered poor household with labour, willing and able, is eligible",
    ),
    ("cn-shanxi-lvde", "company_loan.yaml", "「5万元以内」 a loan of 50001 元 is arranged only up to 50000 元"),
    ("cn-shandong-pv", "pv_household.yaml", "a person aged exactly 60 counts as without labour capacity"),
    ("cn-shandong-pv", "pv_household.yaml", "aged 59 with partial capacity has labour capacity"),
    (
        "cn-shandong-pv-procedure",
        "pv_participation_procedure.yaml",
        "posting on the appraisal's day, township review the day after the posting, county approval that day",
    ),
    (
        "cn-shandong-pv-procedure",
        "pv_participation_procedure.yaml",
        "a township review on the posting's last day is too early",
    ),
    ("cn-shandong-pv-village", "pv_village.yaml", "a key village with no collective income is served"),
    (
        "cn-shandong-pv-village",
        "pv_village.yaml",
        "a key village with 1 元 of collective income, not judged weak, is not served",
    ),
    ("cn-sichuan-suining-town-plan3", "enumerations.yaml", "an edge household hit by a disaster alone"),
    (
        "cn-sichuan-suining-town-plan3",
        "enumerations.yaml",
        "a named cause without a severe difficulty, and no guarantee problem, is not enough",
    ),
    (
        "cn-sichuan-xuanhan-school-plan17-procedure",
        "assistance_procedure.yaml",
        "2010-09-06建档、09-13制定计划、09-20开展活动，依次进行",
    ),
    (
        "cn-sichuan-xuanhan-school-plan17-procedure",
        "assistance_procedure.yaml",
        "09-13开展活动、09-20才制定计划（顺序颠倒）",
    ),
    (
        "cn-sichuan-suining-town-plan3-procedure",
        "monitoring_inclusion_procedure.yaml",
        "six steps in order, the result posted 5 days",
    ),
    (
        "cn-sichuan-suining-town-plan3-procedure",
        "monitoring_inclusion_procedure.yaml",
        "no posting of the appraisal in the file",
    ),
    ("cn-unnamed-city-education", "education_aid.yaml", "a registered poor family with a pupil is aided"),
    ("cn-unnamed-city-education", "education_aid.yaml", "a registered poor family with no one in school is not aided"),
    ("cn-unnamed-city-education-procedure", "payment_months.yaml", "an entrance grant paid on 1 October is in time"),
    ("cn-unnamed-city-education-procedure", "payment_months.yaml", "a loan paid on 31 October is early"),
    ("cn-unnamed-county-plan6-2", "exit.yaml", "income one yuan below 70 % of the average remains"),
    (
        "cn-unnamed-county-plan6-2",
        "exit.yaml",
        "income exactly 70 % of the average is enough (以上 includes the number)",
    ),
    (
        "cn-unnamed-enterprise-plan16-procedure",
        "assistance_procedure.yaml",
        "调查摸底后制定计划，一年内走访3次（不少于三次，含）",
    ),
    ("cn-unnamed-enterprise-plan16-procedure", "assistance_procedure.yaml", "一年内只走访2次（少于三次）"),
    (
        "cn-unnamed-county-plan6-2-procedure",
        "identification_procedure.yaml",
        "village posting of 6 days is a violation (不少于7天)",
    ),
    (
        "cn-unnamed-county-plan6-2-procedure",
        "exit_procedure.yaml",
        "verified, appraised, posted without objection, then recorded, is compliant",
    ),
    ("cn-unnamed-plan3", "dibao_support.yaml", "a rural household with no labour in difficulty gets dibao support"),
    ("cn-unnamed-plan3", "dibao_support.yaml", "one member with weak capacity means the household has labour"),
    ("cn-unnamed-plan3-procedure", "assistance_procedure.yaml", "one check in the year is compliant"),
    (
        "cn-unnamed-plan3-procedure",
        "assistance_procedure.yaml",
        "a check one full year before the decision date (2015-12-31) is outside the twelve months",
    ),
    (
        "cn-unnamed-school-plan14-procedure",
        "student_aid_procedure.yaml",
        "applied on the last day of February, a panel of 10, posted 7 days (含), reported the next day",
    ),
    ("cn-unnamed-school-plan14-procedure", "student_aid_procedure.yaml", "a posting of 6 days (3月1日至6日) is short"),
    ("cn-unnamed-town-plan20", "exit_standard.yaml", "every condition met"),
    ("cn-unnamed-town-plan20", "exit_standard.yaml", "not a registered poor household"),
    # Procedure rulesets (subject: case): a violation, and an undetermined case naming the absent step.
    ("cn-anhui-huoqiu-procedure", "exit_procedure.yaml", "marked on 1 April is after the marking months"),
    ("cn-anhui-huoqiu-procedure", "exit_procedure.yaml", "not yet exited: undetermined, naming the exit"),
    ("cn-chongqing-fuling-procedure", "assistance_procedure.yaml", "paid with no verification visit"),
    (
        "cn-chongqing-fuling-procedure",
        "identification_procedure.yaml",
        "home survey on 30 September is outside October",
    ),
    ("cn-fujian-sanming-procedure", "assistance_procedure.yaml", "a later visit made by the village cadres alone"),
    ("cn-fujian-sanming-procedure", "assistance_procedure.yaml", "no visit yet: undetermined, naming the visit"),
    (
        "cn-unnamed-county-tianxin-procedure",
        "assistance_procedure.yaml",
        "re-verified on 21 October, the first day of 下旬",
    ),
    (
        "cn-unnamed-county-tianxin-procedure",
        "assistance_procedure.yaml",
        "no re-verification by 1 November: the period has run out",
    ),
    (
        "cn-yunnan-weishan-procedure",
        "identification_procedure.yaml",
        "every step in order, by the right body, posted in the village without objection",
    ),
    ("cn-yunnan-weishan-procedure", "identification_procedure.yaml", "an objection raised during the village posting"),
    ("cn-yunnan-prefecture-plan7", "assistance.yaml", "all four qualities give the subsidised micro-loan"),
    ("cn-yunnan-prefecture-plan7", "assistance.yaml", "unwilling to borrow, no micro-loan"),
    (
        "cn-yunnan-prefecture-plan7-procedure",
        "identification_procedure.yaml",
        "only one posting is a violation (两公示)",
    ),
    (
        "cn-yunnan-prefecture-plan7-procedure",
        "identification_procedure.yaml",
        "two postings and one announcement in order is compliant",
    ),
    ("cn-yunnan-prefecture-plan7-village", "area_focus.yaml", "a village of the 枯柯河 zone is a deep-poverty focus"),
    ("cn-yunnan-prefecture-plan7-village", "area_focus.yaml", "a Blang settlement village outside the four zones"),
    ("cn-yunnan-weishan-county", "incidence.yaml", "3.001 % is above the target"),
]


def _examples() -> list[tuple[str, str]]:
    out = []
    for path in sorted((REPO / "examples").glob("*.jsonl")):
        name = path.stem
        if not (REPO / "rulesets" / name).exists():
            name = name.rsplit("-", 1)[0]  # e.g. cn-hunan-county-plan4-elimination → the plan-4 ruleset
        out.append((path.stem, name))
    return out


def _facts(example: str, ruleset: Any) -> list[Any]:
    lines = (REPO / "examples" / f"{example}.jsonl").read_text(encoding="utf-8").splitlines()
    return [parse_facts(json.loads(line), ruleset.subject) for line in lines if line.strip()]


def _decisions(example: str, ruleset_name: str) -> list[Any]:
    """Every example household's decision under every decision of its ruleset, on the three dates it can."""
    ruleset = povrules.load_ruleset(REPO / "rulesets" / ruleset_name)
    out = []
    for facts in _facts(example, ruleset):
        for name in ruleset.decisions:
            for as_of in DATES:
                try:
                    out.append(povrules.evaluate(facts, ruleset, name, as_of=as_of))
                except povrules.PovrulesError:
                    continue  # a ranking decision, or a date the ruleset does not cover
    return out


@pytest.mark.parametrize("example, ruleset_name", _examples())
def test_a_record_explains_exactly_as_its_decision(example: str, ruleset_name: str) -> None:
    decisions = _decisions(example, ruleset_name)
    assert decisions
    for decision in decisions:
        record = make_record(decision, version=2)
        for lang in ("zh", "en"):
            text = explain(decision, lang)
            recorded = explain_record(record, lang).split("\n")
            assert recorded[-1].strip().startswith(("记录", "Record")), recorded[-1]
            assert "\n".join(recorded[:-1]) == text, f"{decision.facts_id} {decision.decision} {decision.as_of} {lang}"


# What a Chinese explanation may show in Latin letters: ids in brackets, and the id of the facts.
_BRACKETED = re.compile(r"\[[^\]\n]*\]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_QUOTED = re.compile(r"「[^」\n]*」")  # the policy text quoted as it stands
_GRADES = frozenset("ABCD")  # housing safety grades: Chinese texts write them so too (D级危房)
_FILE = re.compile(r"[\w.]+\.txt:\d+(-\d+)?")  # a source's file and line, after its title


def _ascii_words(text: str, facts_id: str) -> set[str]:
    found: set[str] = set()
    for line in text.split("\n"):
        line = line.split("解释：")[0]  # a note: its Chinese version is the notes' own business
        line = _FILE.sub("", _QUOTED.sub("", _BRACKETED.sub("", line.replace(facts_id, ""))))
        found.update(w for w in _IDENTIFIER.findall(line) if w not in _GRADES)
    return found


@pytest.mark.parametrize("example, ruleset_name", _examples())
def test_chinese_explanations_show_no_code_or_path(example: str, ruleset_name: str) -> None:
    offending: dict[str, set[str]] = {}
    for decision in _decisions(example, ruleset_name):
        for word in _ascii_words(explain(decision, "zh"), str(decision.facts_id)):
            offending.setdefault(word, set()).add(f"{decision.facts_id} {decision.decision}")
    shown = {w: sorted(v)[:2] for w, v in offending.items()}
    assert not shown, f"ASCII words in Chinese explanations: {shown}"


PROCEDURE = Path(__file__).parent / "fixtures" / "procedure"


@pytest.mark.parametrize("case_file", ["compliant", "violation", "undetermined"])
def test_chinese_explanations_of_cases_show_no_code_or_path(case_file: str) -> None:
    # A case's explanation: its timeline, day counts with their dates, steps by their titles, absent steps in
    # words (never case.events[e.step == "..."]), as the example households'.
    ruleset = povrules.load_ruleset(PROCEDURE)
    facts = parse_facts((PROCEDURE / f"{case_file}.json").read_text(encoding="utf-8"), "case")
    for as_of in (date(2021, 9, 30), date(2021, 10, 20)):
        decision = povrules.evaluate(facts, ruleset, "monitoring_inclusion_procedure", as_of=as_of)
        text = explain(decision, "zh")
        assert "办理过程" in text
        assert not _ascii_words(text, str(decision.facts_id)), text


def test_chinese_golden_explanations_of_procedures_show_no_code_or_path() -> None:
    # The procedure rulesets' golden explanations are the code's own output (test_golden_explanations checks
    # that): a code, a path or an absent step's marker in one would be in every explanation of that rule.
    files = sorted(GOLDEN.glob("*-procedure/*.zh.txt"))
    offending = {}
    for file in files:
        text = file.read_text(encoding="utf-8")
        facts_id = text.split(" 对 ", 1)[1].split(" → ", 1)[0] if " 对 " in text else ""
        words = _ascii_words(text, facts_id)
        if words:
            offending[f"{file.parent.name}/{file.name}"] = sorted(words)
    assert not offending, offending


def test_v2_traces_validate_and_render_alone() -> None:
    validator = jsonschema.Draft202012Validator(trace_schema(2), format_checker=jsonschema.FormatChecker())
    for decision in _decisions("cn-yunnan-weishan", "cn-yunnan-weishan"):
        document = json.loads(json.dumps(to_trace(decision, version=2)))  # through JSON: only what a record holds
        errors = sorted(validator.iter_errors(document), key=str)
        assert not errors, f"{decision.facts_id}: {errors[0].message} at {list(errors[0].absolute_path)}"
        assert "\n".join(render(document, "en")) == explain(decision, "en")


def _household(**extra: Any) -> Any:
    return povrules.parse_household({"id": "T1", **extra})


def _rule_lines(text: str, rule: str) -> list[str]:
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if f"[{rule}]" in line)
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith("  ") and not lines[i].startswith("   ")),
        len(lines),
    )
    return lines[start:end]


def test_structure_is_said_or_short_circuit_and_empty_lists() -> None:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")
    household = _facts("cn-yunnan-weishan", ruleset)[1]
    decision = povrules.evaluate(household, ruleset, "identify_poor_household", as_of=date(2016, 6, 30))
    zh, en = explain(decision, "zh"), explain(decision, "en")
    pool = _rule_lines(zh, "registration_pool")
    assert any("以下各项至少一项成立" in line for line in pool)  # the rule is an "or"
    assert any("其余1项未检查" in line for line in pool)  # the second alternative was cut short
    assert any("At least one of these must hold" in line for line in _rule_lines(en, "registration_pool"))
    vehicles = _rule_lines(zh, "wubulu_motor_vehicle")
    assert any("为空（没有任何一项）" in line for line in vehicles)  # an empty list is said, not left out
    members = _rule_lines(zh, "wubulu_public_official")
    assert any(line.strip().startswith("成员1") for line in members)
    assert any(line.strip().startswith("成员2") for line in members)
    trace = to_trace(decision, version=2)
    official = next(r for r in trace["rules"] if r["id"] == "wubulu_public_official")
    quant = official["condition"][0]
    assert quant["op"] == "any" and quant["size"] == len(household.members) == len(quant["elements"])


def test_a_negation_is_said() -> None:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")
    for decision in _decisions("cn-yunnan-weishan", "cn-yunnan-weishan"):
        trace = to_trace(decision, version=2)
        nots = [n for r in trace["rules"] for n in _nodes(r["condition"]) if n.get("op") == "not"]
        if nots:
            assert "以下须不成立" in explain(decision, "zh") and "This must not hold" in explain(decision, "en")
            return
    pytest.skip(f"no example decision of {ruleset.id} evaluates a 'not'")


def _nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for node in nodes:
        out.append(node)
        out.extend(_nodes(node.get("items", [])))
        for element in node.get("elements", []):
            out.extend(_nodes(element["items"]))
    return out


def test_a_v1_record_still_explains() -> None:
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-hunan-county-plan4")
    decision = povrules.evaluate(
        _facts("cn-hunan-county-plan4", ruleset)[0], ruleset, "monitoring_type", as_of=date(2021, 6, 30)
    )
    record = make_record(decision, version=1)
    assert record["schema"] == "povrules.record.v1" and record["trace"]["schema"] == "povrules.trace.v1"
    assert "HN-0201" in explain_record(record, "en")


def _golden_cases() -> list[tuple[str, tuple[Any, ...], str]]:
    """(kind, case, language): ``example`` cases from :data:`GOLDEN_CASES`, ``policy`` ones from the tests."""
    cases = [("example", case, lang) for case in GOLDEN_CASES for lang in ("zh", "en")]
    cases += [("policy", case, lang) for case in GOLDEN_POLICY_CASES for lang in ("zh", "en")]
    return cases


def _golden_id(value: Any) -> str:
    if isinstance(value, tuple):
        return "-".join(str(part) for part in value[1:3] if part is not None)
    return str(value)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].rstrip("-")


def _golden_example(case: tuple[Any, ...]) -> tuple[Any, Any, str, date, Path]:
    example, ruleset_name, decision, as_of, index = case
    ruleset = povrules.load_ruleset(REPO / "rulesets" / ruleset_name)
    name = decision or next(n for n, spec in ruleset.decisions.items() if spec.kind != "ranking")
    facts = _facts(example, ruleset)[index]
    return facts, ruleset, name, as_of, GOLDEN / ruleset_name / f"{facts.id}-{name}-{as_of}"


def _golden_policy(case: tuple[Any, ...]) -> tuple[Any, Any, str, date, Path]:
    ruleset_name, file, case_name = case
    found = [c for c in load_policy_file(REPO / "rulesets" / ruleset_name / "tests" / file) if c.name == case_name]
    assert len(found) == 1 and found[0].facts is not None, f"{ruleset_name}/{file}: no single case {case_name!r}"
    policy = found[0]
    stem = f"{Path(file).stem}-{_slug(case_name)}"
    return policy.facts, policy.ruleset, policy.decision, policy.as_of, GOLDEN / ruleset_name / stem


def test_every_shipped_ruleset_has_two_golden_cases() -> None:
    count: dict[str, int] = {}
    for case in GOLDEN_CASES:
        count[case[1]] = count.get(case[1], 0) + 1
    for case in GOLDEN_POLICY_CASES:
        count[case[0]] = count.get(case[0], 0) + 1
    shipped = {path.parent.name for path in (REPO / "rulesets").glob("*/ruleset.yaml")}
    assert {name: count.get(name, 0) for name in shipped if count.get(name, 0) < 2} == {}
    assert set(count) <= shipped


@pytest.mark.parametrize("kind, case, lang", _golden_cases(), ids=_golden_id)
def test_golden_explanations(kind: str, case: tuple[Any, ...], lang: str) -> None:
    facts, ruleset, decision, as_of, stem = (_golden_example if kind == "example" else _golden_policy)(case)
    text = explain(povrules.evaluate(facts, ruleset, decision, as_of=as_of), lang) + "\n"
    path = stem.with_name(f"{stem.name}.{lang}.txt")
    if os.environ.get("POVRULES_REGEN_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{path.name}: see the module docstring to make it again"
