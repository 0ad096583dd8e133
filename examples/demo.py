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
    return [povrules.parse_facts(line, subject, source=f"{name}.jsonl:{n}")  # type: ignore[misc]
            for n, line in enumerate(lines, 1) if line]


def heading(text: str) -> None:
    print(f"\n{'=' * 100}\n{text}\n{'=' * 100}")


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


if __name__ == "__main__":
    weishan()
    weishan_exit()
    weishan_villages_and_county()
    hunan()
