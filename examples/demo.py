"""The demo: example households decided by the shipped rulesets, explained in Chinese and English.

Run it with ``make demo``. Households are read from the JSON Lines files beside this
script, exactly as an app would send them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import povrules

HERE = Path(__file__).parent
RULESETS = HERE.parent / "rulesets"


def households(name: str, subject: str = "household") -> list[povrules.Household]:
    """The facts in ``examples/<name>.jsonl`` (households, or villages or counties), validated."""
    lines = (HERE / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [
        povrules.parse_facts(line, subject, source=f"{name}.jsonl:{n}")  # type: ignore[misc]
        for n, line in enumerate(lines, 1)
        if line
    ]


def heading(text: str) -> None:
    print(f"\n{'=' * 100}\n{text}\n{'=' * 100}")


def both(decision: povrules.Decision) -> None:
    """A decision explained in Chinese, then in English."""
    print(decision.explain("zh"))
    print()
    print(decision.explain("en"))
    print()


def summary(decisions: list[povrules.Decision], lang: str = "zh") -> None:
    for d in decisions:
        spec = d.ruleset.decisions[d.decision]
        extra = f"   尚缺 / missing: {', '.join(d.missing)}" if d.missing else ""
        reasons = f"   [{', '.join(d.reasons)}]" if d.reasons else ""
        print(f"  {d.facts.id:<8} → {spec.label(d.outcome, lang)} / {spec.label(d.outcome, 'en')}{reasons}{extra}")


def weishan() -> None:
    ruleset = povrules.load_ruleset(RULESETS / "cn-yunnan-weishan")
    as_of = date(2016, 6, 30)
    village = households("cn-yunnan-weishan")
    decisions = [povrules.evaluate(h, ruleset, "identify_poor_household", as_of=as_of) for h in village]

    heading(f"巍山县 五看、五不录、六优先 — {ruleset.id} {ruleset.version}, as of {as_of}")
    summary(decisions)

    excluded = next(d for d in decisions if d.outcome == "excluded")
    heading("一户因五不录排除 / A household excluded by the five exclusions (有机动车的不录)")
    print(excluded.explain("zh"))
    print()
    print(excluded.explain("en"))

    undetermined = next(d for d in decisions if d.outcome == "undetermined")
    heading("一户尚缺事实 / A household that cannot be decided yet: only the facts that matter are asked for")
    print(undetermined.explain("en"))

    ranking = povrules.rank(village, ruleset, "six_priorities", as_of=as_of)
    heading("六优先排序 / Six-priorities ranking of the identified households")
    print(ranking.explain("zh"))
    print()
    print(ranking.explain("en"))


def weishan_exit() -> None:
    ruleset = povrules.load_ruleset(RULESETS / "cn-yunnan-weishan")
    as_of = date(2016, 11, 30)
    exiting = households("cn-yunnan-weishan-exit")
    heading(f"巍山县 脱贫退出与“三优先” — {ruleset.id} {ruleset.version}, as of {as_of}")
    summary(povrules.evaluate_many(exiting, ruleset, "household_exit", as_of=as_of))
    order = povrules.rank(exiting, ruleset, "exit_priority_order", as_of=as_of)
    heading("三优先退出顺序 / Three-priorities exit order of the households that meet the exit standard")
    print(order.explain("zh"))
    print()
    print(order.explain("en"))
    first = order.entries[0].decision
    heading(f"排在首位的原因 / Why {first.facts.id} comes first")
    print(first.explain("zh"))


def weishan_villages_and_county() -> None:
    ruleset = povrules.load_ruleset(RULESETS / "cn-yunnan-weishan-village")
    as_of = date(2016, 12, 31)
    decisions = povrules.evaluate_many(households(ruleset.id, "village"), ruleset, "one_higher", as_of=as_of)
    heading(f"巍山县 贫困村“一高” — {ruleset.id} {ruleset.version}, as of {as_of}")
    summary(decisions)
    heading("“一高”：增长幅度须高于全县非贫困村平均水平 / 'One higher': growth must exceed the non-poor average")
    print(decisions[0].explain("zh"))
    print()
    print(decisions[1].explain("en"))

    county_rs = povrules.load_ruleset(RULESETS / "cn-yunnan-weishan-county")
    county = households(county_rs.id, "county")[0]
    heading("巍山县 贫困发生率 / Weishan county: poverty incidence against the 3 % target")
    print(povrules.evaluate(county, county_rs, "county_exit_incidence", as_of=as_of).explain("zh"))


def hunan() -> None:
    ruleset = povrules.load_ruleset(RULESETS / "cn-hunan-county-plan4")
    as_of = date(2021, 6, 30)
    decisions = [povrules.evaluate(h, ruleset, "monitoring_type", as_of=as_of) for h in households(ruleset.id)]
    heading(f"湖南某县 防返贫监测对象（方案4）— {ruleset.id} {ruleset.version}, as of {as_of}")
    summary(decisions)
    at_line = next(d for d in decisions if d.facts.id == "HN-0202")
    heading("收入恰在监测线上 / Income exactly at the 6,500 元 line: 「以內」 includes it")
    print(at_line.explain("zh"))
    print()
    print(at_line.explain("en"))
    sudden = next(d for d in decisions if d.outcome == "sudden_hardship")
    heading("突发严重困难户 / A household in sudden severe hardship, above the line")
    print(sudden.explain("zh"))


def monitoring() -> None:
    hunan = povrules.load_ruleset(RULESETS / "cn-hunan-county-plan4")
    as_of = date(2021, 6, 30)
    types = povrules.evaluate_many(households(hunan.id), hunan, "monitoring_type", as_of=as_of)
    heading("防返贫监测对象的三种类型 / A household of each monitoring type (湖南某县, 方案4)")
    for outcome in ("unstable_exited", "edge_vulnerable", "sudden_hardship"):
        both(next(d for d in types if d.outcome == outcome))

    town = povrules.load_ruleset(RULESETS / "cn-guizhou-qianxinan-town-plan7")
    decisions = povrules.evaluate_many(households(town.id), town, "monitoring_object", as_of=as_of)
    heading("负面清单与村民代表会议评议 / The negative list, and the meeting that may set an item aside (方案7)")
    summary(decisions)
    print()
    both(decisions[1])  # kept out: the meeting upheld the item
    both(decisions[2])  # let in: the meeting set the item aside

    heading("风险消除：5000元收入线 / Risk elimination and the 5,000 元 floor (方案4)")
    for household in households("cn-hunan-county-plan4-elimination"):
        try:
            moved = povrules.transition(household, hunan, "mark_risk_eliminated", as_of=date(2021, 9, 1))
        except povrules.TransitionRefused as refused:
            print(f"  {household.id}: {refused}")
            continue
        print(f"  {household.id}: {moved.before} → {moved.after}")
        if not moved.changed:
            print(moved.explain("zh"))
            print()
            print(moved.explain("en"))

    yingkou = povrules.load_ruleset(RULESETS / "cn-liaoning-yingkou")
    rechecked = povrules.evaluate_many(
        households(yingkou.id), yingkou, "risk_elimination_recheck", as_of=date(2022, 5, 10)
    )
    heading("风险消除回头看：回退 / The recheck of eliminated risks: one rolled back (方案5, 6600 元)")
    summary(rechecked)
    print()
    rolled = next(d for d in rechecked if d.outcome == "rolled_back")
    print(rolled.explain("zh"))
    print()
    print(rolled.explain("en"))


def what_if() -> None:
    from povrules.synth import county

    hunan = povrules.load_ruleset(RULESETS / "cn-hunan-county-plan4")
    as_of = date(2021, 6, 30)
    people = county(5_000, seed=2021)
    heading(
        "如果监测线从6500元提高到7000元？/ What if the monitoring line rose from 6,500 to 7,000 元? "
        "(5,000 synthetic households)"
    )
    comparison = povrules.compare(
        hunan, hunan.with_parameter("monitoring_line", 7000), people, "monitoring_type", as_of=as_of
    )
    print(comparison.summary("zh"))
    print()
    print(comparison.summary("en"))
    heading("如果去掉5000元收入底线？/ What if the 5,000 元 floor for marking risk eliminated were dropped?")
    print(
        povrules.compare(
            hunan, hunan.without_rule("elim_income_floor"), people, "mark_risk_eliminated", as_of=as_of
        ).summary("en")
    )


def benefits() -> None:
    """What a household gets: amounts per member, with their arithmetic, in both languages."""
    liuba = povrules.load_ruleset(RULESETS / "cn-shaanxi-liuba")
    funan = povrules.load_ruleset(RULESETS / "cn-anhui-funan")
    (elderly,) = households("cn-shaanxi-liuba")
    (edge,) = households("cn-anhui-funan")
    heading("留坝县 贫困老人基本养老金：按成员逐人计算 / Liuba: the basic pension, member by member (75 / 85 / 95 元)")
    pension = povrules.evaluate(elderly, liuba, "elderly_pension", as_of=date(2016, 6, 30))
    for lang in ("zh", "en"):
        print("\n".join(pension.explain(lang).splitlines()[:8]))
        print()
    allowance = povrules.evaluate(elderly, liuba, "disability_allowance", as_of=date(2016, 6, 30))
    print(f"  贫困残疾人生活补贴 / disabled member's allowance: {allowance.amount.total} 元/月")  # type: ignore[union-attr]
    heading(
        "阜南县 边缘户医疗救助：比例、省外、封顶线 / Funan: medical aid at a rate, lower out of the province, capped"
    )
    aid = povrules.evaluate(edge, funan, "edge_medical_aid", as_of=date(2020, 10, 31))
    for lang in ("zh", "en"):
        print("\n".join(aid.explain(lang).splitlines()[:6]))
        print()


def procedures() -> None:
    """Was a case handled as its plan prescribes? Two case files of 灵寿's monitoring inclusion (方案2)."""
    lingshou = povrules.load_ruleset(RULESETS / "cn-hebei-lingshou-procedure")
    on_time, late = households("cn-hebei-lingshou-procedure", "case")
    heading(
        "灵寿县 纳入监测的程序：公示5天，20个工作日内审定（国庆假期和调休按官方日历） / "
        "Lingshou: 5-day postings, the county's decision within 20 working days (official holiday calendar)"
    )
    decisions = [
        povrules.evaluate(case, lingshou, "monitoring_inclusion_procedure", as_of=date(2020, 12, 31))
        for case in (on_time, late)
    ]
    spec = lingshou.decisions["monitoring_inclusion_procedure"]
    for d in decisions:
        print(f"  {d.facts.id} → {spec.label(d.outcome, 'zh')} / {spec.label(d.outcome, 'en')}")
    print(
        "\n  LS-2020-017: 35 calendar days over National Day 2020 (10-01…08 off, 09-27 and 10-10 worked) are 20 working"
    )
    print("  days from the application to the county's decision, so it is in time; the same days in ordinary weeks")
    print("  would be 24. LS-2020-023 posted its list 4 days and took 23 working days:")
    for lang in ("zh", "en"):
        print()
        print("\n".join(line for line in decisions[1].explain(lang).splitlines()[:12]))
    violated = [r for r in decisions[1].results if r.status == "not_met"]
    print(f"\n  违反 / broken: {', '.join(r.rule.title('zh') for r in violated)}")


def early_warning() -> None:
    """Department events streamed through 营口's screening on durable-rules: a warning, its case, the deadline."""
    from povrules.warning import demo

    heading(
        "营口市 部门筛查预警：事件流、预警、核查期限、监测判定 / Yingkou: department events in, a warning, "
        "its verification case and deadline, the monitoring decision"
    )
    demo.main(RULESETS)


def caseload() -> None:
    """A village ledger kept in Excel (Chinese headers), decided whole: a table, and the records in a log."""
    import tempfile

    from povrules.audit import verify_log
    from povrules.batch import decide_caseload

    weishan = povrules.load_ruleset(RULESETS / "cn-yunnan-weishan")
    ledger = HERE / "caseload" / "households.xlsx"
    heading(
        "一本台账整体判定 / A whole ledger decided: examples/caseload/households.xlsx (sheet 农户台账), "
        "mapped by mapping.yaml"
    )
    with tempfile.TemporaryDirectory() as folder:
        table, log = Path(folder) / "decisions.csv", Path(folder) / "decisions.log"
        report = decide_caseload(
            weishan,
            "identify_poor_household",
            ledger,
            mapping=HERE / "caseload" / "mapping.yaml",
            as_of=date(2016, 6, 30),
            output=table,
            write="table",
            log=log,
        )
        spec = weishan.decisions["identify_poor_household"]
        for outcome, count in report.outcomes.items():
            print(f"  {spec.label(outcome, 'zh')} / {spec.label(outcome, 'en')}: {count}")
        print("  (the ledger also holds Hunan's households, which lack facts Weishan's rules read: undetermined)")
        print(
            f"  {report.subjects} 户 / households; records seq {report.first_seq}–{report.last_seq} "
            f"in the log, which verifies: {verify_log(log).ok}"
        )
        print("  " + table.read_text(encoding="utf-8-sig").splitlines()[0])
        for row in table.read_text(encoding="utf-8-sig").splitlines()[1:4]:
            print("  " + row[:110])


if __name__ == "__main__":
    weishan()
    weishan_exit()
    weishan_villages_and_county()
    hunan()
    monitoring()
    what_if()
    benefits()
    procedures()
    early_warning()
    caseload()
