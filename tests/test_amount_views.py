"""How amount decisions are shown and compared: the trace's ``amount`` section and its schema, the text in
both languages, records (verified, explained as decided, replayed byte for byte, divergences naming the
figure), the HTML views, comparisons and sweeps with totals and per-household deltas, the decision table's
amount column, and the columnar engine's refusal.

``tests/fixtures/engine/amounts.yaml``: ``pension`` pays each member the band of their age (75 元 from 60,
85 from 70, 95 from 80), ``medical`` 50 % of the compliant out-of-pocket cost between a floor of 100 and a
cap of 10,000 元, ``grant`` a third of 75 元 per member plus 10 元 per member, rounded half up, to households
``eligible`` admits.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

import povrules
from povrules import compare, load_ruleset, sweep
from povrules.audit import make_record, verify_record
from povrules.audit.replay import RulesetStore, first_divergence, replay
from povrules.batch import decide_caseload
from povrules.caseload import COLUMNS
from povrules.columnar import NotSupported, frame_plan
from povrules.text import explain_record
from povrules.trace import element_label, to_trace, trace_schema

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "engine" / "amounts.yaml"
AS_OF = date(2021, 6, 30)


@pytest.fixture(scope="module")
def rs() -> povrules.Ruleset:
    return load_ruleset(FIXTURE)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(trace_schema(2), format_checker=jsonschema.FormatChecker())


def household(members=None, oop=None, status="registered_poor", hid="h1"):
    facts: dict = {"id": hid}
    if status is not None:
        facts["registration"] = {"status": status}
    if members is not None:
        facts["members"] = [{"age": age} if age is not None else {} for age in members]
    if oop is not None:
        facts["expenditure"] = {"medical_compliant_out_of_pocket": oop}
    return povrules.parse_household(facts)


def decide(rs, facts, name):
    return povrules.evaluate(facts, rs, name, as_of=AS_OF)


# The trace document


def test_a_per_member_amount_traces_each_part_with_its_row_and_figure(rs, validator):
    trace = to_trace(decide(rs, household([72, 59, 85]), "pension"))
    validator.validate(trace)
    amount = trace["amount"]
    assert amount["total"] == "180"
    assert amount["unit"] == {"code": "元", "zh": "元", "en": "yuan"}
    assert amount["period"] == {"code": "month", "zh": "每月", "en": "a month"}
    assert amount["per"] == {"var": "m", "list": "hh.members"}
    first, second, third = amount["parts"]
    assert (first["element"], first["index"], first["value"]) == ("hh.members[0]", 0, "85")
    assert [row["id"] for row in first["rows"]] == ["band_2"]
    step = first["rows"][0]["steps"][0]
    assert step["op"] == "value" and step["args"][0]["parameter"] == "band_pay_2" and step["result"] == "85"
    assert second["rows"] == [] and second["value"] == "0"
    assert third["rows"][0]["id"] == "band_3" and third["value"] == "95"
    assert trace["elements"]["hh.members[2]"] == {"zh": "成员3（85岁）", "en": "member 3 (aged 85)"}
    assert trace["titles"]["p.band_pay_2"]["zh"] == "第二档金额"


def test_a_rate_traces_its_arithmetic_step_by_step_with_the_cap_that_held(rs, validator):
    trace = to_trace(decide(rs, household(oop=48000), "medical"))
    validator.validate(trace)
    amount = trace["amount"]
    (part,) = amount["parts"]
    times, divided = part["rows"][0]["steps"]
    assert times["op"] == "*" and [a["value"] for a in times["args"]] == ["48000.00", "50"]
    assert times["args"][0]["fact"] == "hh.expenditure.medical_compliant_out_of_pocket"
    assert divided["op"] == "/" and divided["args"][0]["step"] == 0 and divided["result"] == "24000.00"
    assert (part["before"], part["value"], part["limited_by"], part["limit"]) == ("24000.00", "10000", "cap", "10000")
    assert amount["cap"]["parameter"] == "aid_cap" and amount["cap"]["value"] == "10000"
    assert amount["floor"]["value"] == "100"
    assert amount["total"] == "10000"


def test_a_gated_amount_names_the_gate_decision_and_its_outcome(rs, validator):
    trace = to_trace(decide(rs, household([1, 2], status="general"), "grant"))
    validator.validate(trace)
    assert trace["outcome"] == "not_eligible"
    gate = trace["amount"]["gate"]
    assert gate["decision"] == "eligible" and gate["outcomes"] == ["eligible"]
    assert gate["outcome"] == "not_eligible_household"
    assert {r["status"] for r in trace["rules"]} == {"not_evaluated"}
    assert trace["amount"]["total"] == "0" and trace["amount"]["parts"] == []


def test_an_undetermined_part_names_what_it_lacks(rs, validator):
    trace = to_trace(decide(rs, household([72, None]), "pension"))
    validator.validate(trace)
    assert trace["amount"]["total"] is None
    lacking = trace["amount"]["parts"][1]
    assert lacking["value"] is None and lacking["missing"] == ["hh.members[1].age"]
    assert trace["missing"] == ["hh.members[1].age"]


def test_decimals_stay_exact_in_the_trace(rs):
    facts = household(oop="12345.67")
    d = decide(rs, facts, "medical")
    assert to_trace(d)["amount"]["total"] == "6172.835"  # 12345.67 × 50 / 100, no float on the way
    assert "= 6,172.835 元，" in d.explain("zh")


def test_a_member_label_names_the_recorded_relation_to_the_head(rs):
    facts = povrules.parse_household(
        {"id": "h", "members": [{"age": 40, "relation": "head"}, {"age": 72, "relation": "parent"}, {"age": 9}]}
    )
    lines = decide(rs, facts, "pension").explain("zh").splitlines()
    assert lines[3:6] == [
        "    成员1（40岁，户主）：不符合任何一档 → 0 元/月",
        "    成员2（72岁，户主之父母）：年满70周岁 → 第二档金额 85 元/月",
        "    成员3（9岁）：不符合任何一档 → 0 元/月",
    ]
    assert element_label(facts, "hh", ("hh.members", 1)) == {
        "zh": "成员2（72岁，户主之父母）",
        "en": "member 2 (aged 72, the head's parent)",
    }
    unknown = SimpleNamespace(members=(SimpleNamespace(age=None, relation="cousin"),))  # a code without titles
    assert element_label(unknown, "hh", ("hh.members", 0)) == {"zh": "成员1（cousin）", "en": "member 1 (cousin)"}


# Text


def _amount_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = 2 + sum(1 for line in lines[2:4] if line.startswith(("  尚缺", "  Facts")))
    return [line for line in lines[start:] if not line.lstrip().startswith(("✔", "✘", "?", "–"))][:4]


def test_text_says_each_member_band_and_the_total_per_month(rs):
    d = decide(rs, household([72, 59, 85]), "pension")
    zh, en = d.explain("zh").splitlines(), d.explain("en").splitlines()
    assert zh[2:6] == [
        "  合计：每月 180 元",
        "    成员1（72岁）：年满70周岁 → 第二档金额 85 元/月",
        "    成员2（59岁）：不符合任何一档 → 0 元/月",
        "    成员3（85岁）：年满80周岁 → 第三档金额 95 元/月",
    ]
    assert en[2:4] == [
        "  Total: 180 yuan a month",
        "    Member 1 (aged 72): Aged 70 or over → pay of the second band 85 yuan a month",
    ]


@pytest.mark.parametrize(
    "oop, zh, en",
    [
        (
            12000,
            "合规自付医疗费用 12,000 元 × 救助比例 50 % = 6,000 元，不低于最低救助额 100 元，不超过封顶线 10,000 元 → 6,000 元/年",
            (
                "compliant out-of-pocket medical cost 12,000 yuan × aid rate 50 % = 6,000 yuan, not below the aid floor of "
                "100 yuan, within the aid cap of 10,000 yuan → 6,000 yuan a year"
            ),
        ),
        (
            48000,
            "合规自付医疗费用 48,000 元 × 救助比例 50 % = 24,000 元，超过封顶线 10,000 元 → 10,000 元/年",
            (
                "compliant out-of-pocket medical cost 48,000 yuan × aid rate 50 % = 24,000 yuan, over the aid cap of "
                "10,000 yuan → 10,000 yuan a year"
            ),
        ),
        (
            50,
            "合规自付医疗费用 50 元 × 救助比例 50 % = 25 元，低于最低救助额 100 元 → 100 元/年",
            (
                "compliant out-of-pocket medical cost 50 yuan × aid rate 50 % = 25 yuan, below the aid floor of 100 yuan "
                "→ 100 yuan a year"
            ),
        ),
    ],
)
def test_text_shows_the_arithmetic_and_what_the_cap_or_floor_did(rs, oop, zh, en):
    d = decide(rs, household(oop=oop), "medical")
    assert d.explain("zh").splitlines()[3] == f"    合规自付费用救助 → {zh}"
    assert d.explain("en").splitlines()[3] == f"    Aid on the compliant out-of-pocket cost → {en}"


def test_text_of_components_says_each_row_their_sum_and_the_rounding(rs):
    d = decide(rs, household([1, 2]), "grant")  # 2 × 75 / 3 = 50, + 2 × 10 = 20
    lines = d.explain("zh").splitlines()
    assert lines[2] == "  合计：一次性 70 元"
    assert lines[3] == (
        "    每人三分之一 → （家庭成员人数 2 × 第一档金额 75 元 = 150） ÷ 3 = 50 元；"
        "每名成员 → 家庭成员人数 2 × 10 = 20 元，合计 70 元 → 70 元（一次性）"
    )
    assert "四舍五入" not in d.explain("zh")  # nothing to round
    odd = decide(rs.with_parameter("band_pay_1", 76), household([1, 2]), "grant")  # 152 / 3 + 20 = 70.66…
    assert odd.amount.total == 71
    zh, en = odd.explain("zh").splitlines()[3], odd.explain("en").splitlines()[3]
    assert "÷ 3 ≈ 50.6667 元；" in zh and zh.endswith("，合计 ≈70.6667 元，四舍五入取整 → 71 元（一次性）")
    assert en.endswith(", together ≈70.6667 yuan, rounded half up to a whole number → 71 yuan once")


def test_text_of_a_gated_amount_names_the_gate_and_its_outcome(rs):
    d = decide(rs, household([1, 2], status="general"), "grant")
    assert (
        d.explain("zh").splitlines()[2] == "  符合条件的结果为not_eligible_household（须为eligible），不予计算 → 0 元"
    )
    assert d.explain("en").splitlines()[0].endswith("→ not eligible")
    unknown = decide(rs, household([1, 2], status=None), "grant")
    assert "尚无法判定" in unknown.explain("zh") and "cannot be decided yet" in unknown.explain("en")


def test_text_of_an_undetermined_amount_names_the_missing_fact(rs):
    d = decide(rs, household([72, None]), "pension")
    zh = d.explain("zh").splitlines()
    assert "  合计：无法计算" in zh and "    成员2：尚缺年龄，无法计算" in zh
    assert "    Member 2: cannot be worked out: Age still needed" in d.explain("en").splitlines()


# Records and replay


CASES = [
    ([72, 59, 85], None, "registered_poor", "pension"),
    ([72, None], None, "registered_poor", "pension"),
    (None, 48000, "registered_poor", "medical"),
    ([1, 2, 3], None, "registered_poor", "grant"),
    ([1, 2], None, "general", "grant"),
]


@pytest.mark.parametrize("members, oop, status, name", CASES)
def test_an_amount_record_verifies_explains_as_decided_and_replays_byte_for_byte(rs, members, oop, status, name):
    d = decide(rs, household(members, oop, status), name)
    record = make_record(d)
    verify_record(record)
    for lang in ("zh", "en"):
        assert explain_record(record, lang).rsplit("\n", 1)[0] == d.explain(lang)
    result = replay(json.loads(json.dumps(record)), RulesetStore(FIXTURE))
    assert result.identical and result.divergence is None


def test_a_divergence_in_a_figure_names_the_row_the_member_and_the_step(rs):
    record = make_record(decide(rs, household([72, 85]), "pension"))
    tampered = copy.deepcopy(record)
    tampered["trace"]["amount"]["parts"][1]["rows"][0]["steps"][0]["result"] = "96"
    found = first_divergence(record, tampered)
    assert found is not None
    assert found.field == "trace.amount.parts[1].rows[0].steps[0]"
    assert (found.rule, found.condition, found.where) == ("band_3", "p.band_pay_3", ("hh.members[1]",))
    assert found.explain("en") == (
        "first difference: amount: row band_3, step p.band_pay_3 (for hh.members[1]): recorded 95, replayed 96"
    )
    total = copy.deepcopy(record)
    total["trace"]["amount"]["total"] = "181"
    assert first_divergence(record, total).field == "trace.amount.total"


# HTML


def test_the_decision_view_shows_the_total_and_a_table_of_parts(rs):
    html = str(decide(rs, household(oop=48000), "medical").html("zh"))
    assert "合计：每年 10,000 元" in html and 'class="pv-table pv-amount"' in html
    assert "合规自付医疗费用 48,000 元 × 救助比例 50 % = 24,000 元，超过封顶线 10,000 元" in html
    members = str(decide(rs, household([72, None]), "pension").html("en"))
    assert "member 1 (aged 72)" in members and "Facts still needed" in members


def test_the_ruleset_view_lists_an_amount_decision_with_its_unit_period_and_limits(rs):
    html = str(rs.html("zh"))
    section = html[html.index('data-decision="medical"') :]
    section = section[: section.index("</section>")]
    assert "每年" in section and "p.aid_cap" in section and "p.aid_floor" in section and "金额" in section


# Compare and sweep


def _households():
    return [
        household([72, 59, 85], hid="a"),
        household([61], hid="b"),
        household([80, None], hid="c"),
        household([30], hid="d"),
    ]


def test_a_comparison_of_an_amount_gives_totals_and_per_household_deltas(rs):
    variant = rs.with_parameter("band_pay_2", 90)
    c = compare(rs, variant, _households(), "pension", as_of=AS_OF)
    figures = c.amounts
    assert figures is not None
    assert (figures.before, figures.after, figures.delta) == (Decimal(255), Decimal(260), Decimal(5))
    assert (figures.undetermined_before, figures.undetermined_after) == (1, 1)
    assert [(m.id, m.before, m.after, m.delta) for m in figures.changes] == [("a", 180, 185, 5)]
    assert c.amount_rows() == [{"id": "a", "amount_before": "180", "amount_after": "185", "delta": "5"}]
    assert c.by_cause("en") == {"parameter Pay of the second band: 85 → 90": 1}
    summary = c.summary("zh")
    assert "金额合计：每月 255 元 → 每月 260 元（每月 +5 元）" in summary and "金额改变的户数：1" in summary
    html = str(c.html("en"))
    assert "pv-amount-changes" in html and "+5 yuan" in html


def test_a_sweep_of_a_cap_gives_the_total_for_each_value(rs):
    households = [household(oop=oop, hid=f"m{i}") for i, oop in enumerate([100, 12000, 30000])]
    s = sweep(rs, "aid_cap", [5000, 10000, 20000], households, "medical", as_of=AS_OF)
    assert [(Decimal(r["total"]), Decimal(r["delta"]), r["amount_changed"]) for r in s.rows()] == [
        (Decimal(10100), Decimal(-6000), 2),
        (Decimal(16100), Decimal(0), 0),
        (Decimal(21100), Decimal(5000), 1),
    ]
    assert s.totals() == [Decimal(10100), Decimal("16100.00"), Decimal("21100.00")]
    html = str(s.html("en"))
    assert "21,100 yuan" in html and "+5,000 yuan" in html


# Tables and the columnar engine


def test_the_decision_table_has_the_total_in_its_amount_column(rs, tmp_path):
    source = tmp_path / "households.jsonl"
    rows = [{"id": "a", "members": [{"age": 72}, {"age": 85}]}, {"id": "b", "members": [{"age": 30}]}, {"id": "c"}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "decided.csv"
    decide_caseload(rs, "pension", str(source), as_of=AS_OF, write="table", output=str(out), workers=1)
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split(",") == list(COLUMNS) and COLUMNS[-1] == "amount"
    assert [line.split(",")[-1] for line in lines[1:]] == ["180", "0", ""]  # c: members unknown


def test_the_columnar_engine_refuses_an_amount_decision_naming_it_and_the_row_engine(rs):
    with pytest.raises(NotSupported, match=r"decision 'pension' is an amount decision.*row engine"):
        frame_plan(rs, "pension", AS_OF)


# Items: an amount per loan


LOAN_RULES = """
rules:
  subsidy:
    title: {zh: 贴息, en: Interest subsidy}
    when: l.amount > 0
    amount: l.amount * p.aid_rate / 100
    cite: {source: D, line: 34, quote: "Aid pays 50 % of the compliant out-of-pocket cost"}
decisions:
  loan_subsidy:
    kind: amount
    title: {zh: 贴息, en: Interest subsidy}
    unit: 元
    period: year
    per: l in hh.loans
    rows: [subsidy]
    cap: p.aid_cap
"""


def test_an_amount_per_loan_names_each_loan_and_what_one_lacks(tmp_path):
    text = FIXTURE.read_text(encoding="utf-8")
    path = tmp_path / "loans.yaml"
    path.write_text(text[: text.index("rules:")] + LOAN_RULES, encoding="utf-8")
    rs = load_ruleset(path)
    facts = povrules.parse_household(
        {"id": "h", "members": [{"age": 40}], "loans": [{"amount": 50000}, {"amount": 4000}, {}]}
    )
    d = decide(rs, facts, "loan_subsidy")
    assert d.outcome == "undetermined"
    assert d.explain("zh").splitlines()[3:7] == [
        "  合计：无法计算",
        "    第1笔贷款：贴息 → 贷款金额 50,000 元 × 救助比例 50 % = 25,000 元，超过封顶线 10,000 元 → 10,000 元/年",
        "    第2笔贷款：贴息 → 贷款金额 4,000 元 × 救助比例 50 % = 2,000 元，不超过封顶线 10,000 元 → 2,000 元/年",
        "    第3笔贷款：尚缺贷款金额，无法计算",
    ]
    assert d.explain("en").splitlines()[6] == "    Loan 3: cannot be worked out: Amount lent still needed"
    assert to_trace(d)["elements"]["hh.loans[0]"] == {"zh": "第1笔贷款", "en": "loan 1"}
