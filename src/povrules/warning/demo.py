"""The early-warning stream, start to end: ``python -m povrules.warning.demo [RULESETS]``.

Department events for three households of 营口 arrive out of date order; the screening raises a warning
with the events that caused it, the warning opens a verification case due in 20 working days (over the
Labour Day holiday), the month's report counts the warnings per department and township, a case left
unverified is reported overdue, and the verified case runs 营口's identify_monitoring_object through the
povrules engine, its record appended to a decision log. Needs durable-rules (the ``warning`` extra).
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from povrules.audit import DecisionLog, verify_log
from povrules.facts import parse_household
from povrules.ruleset import load_ruleset
from povrules.warning.events import DEPARTMENTS, EVENT_KINDS, parse_event
from povrules.warning.rules import load_screening
from povrules.warning.stream import WarningStream

EVENTS = """\
{"household": "YK-0501", "township": "老边镇", "department": "rural_revitalization", "date": "2022-04-01", "kind": "income_record", "amount": "9000"}
{"household": "YK-0502", "township": "柳树镇", "department": "rural_revitalization", "date": "2022-04-01", "kind": "income_record", "amount": "20000"}
{"household": "YK-0503", "township": "柳树镇", "department": "rural_revitalization", "date": "2022-04-01", "kind": "income_record", "amount": "15000"}
{"household": "YK-0501", "township": "老边镇", "department": "medical_security", "date": "2022-04-20", "kind": "medical_expense", "amount": "3200", "reference": "YB-2022-04-117"}
{"household": "YK-0502", "township": "柳树镇", "department": "education", "date": "2022-04-21", "kind": "school_enrolment", "amount": "1200"}
{"household": "YK-0501", "township": "老边镇", "department": "emergency", "date": "2022-04-12", "kind": "disaster_report", "amount": "1300", "reference": "YJ-2022-031"}
{"household": "YK-0503", "township": "柳树镇", "department": "human_resources", "date": "2022-04-25", "kind": "employment_change", "amount": "9000", "previous_amount": "12500"}
"""

# The verification facts of YK-0501, entered by the village after its visit.
VERIFIED: dict[str, Any] = {
    "id": "YK-0501",
    "rural_hukou": True,
    "members": [
        {
            "id": "a",
            "labour_capacity": "full",
            "income_items": [
                {"kind": "wage", "amount": "6000", "period_start": "2021-05-01", "period_end": "2022-04-30"}
            ],
        },
        {"id": "b", "labour_capacity": "none", "income_items": []},
    ],
    "income": {
        "items": [
            {"kind": "business", "amount": "3000", "period_start": "2021-05-01", "period_end": "2022-04-30"},
            {"kind": "insurance_claims", "amount": "1000", "period_start": "2021-05-01", "period_end": "2022-04-30"},
        ]
    },
    "expenditure": {
        "items": [
            {
                "kind": "medical_compliant_out_of_pocket",
                "amount": "3200",
                "period_start": "2021-05-01",
                "period_end": "2022-04-30",
            }
        ]
    },
    "assessments": {
        "poverty_risk": {"value": True, "by": "老边镇网格员 刘某", "on": "2022-05-06"},
        "return_risk": {"value": False, "by": "老边镇网格员 刘某", "on": "2022-05-06"},
    },
}


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def main(rulesets: Path) -> None:
    screening = load_screening(rulesets / "cn-liaoning-yingkou")
    ruleset = load_ruleset(rulesets / "cn-liaoning-yingkou")
    print(f"营口 screening {screening.digest[:19]}…: rules {', '.join(r.name for r in screening.rules)}")
    with WarningStream(screening) as stream, tempfile.TemporaryDirectory() as folder:
        for number, line in enumerate(EVENTS.splitlines(), 1):
            event = parse_event(line, f"demo:{number}")
            print(
                f"  {event.date} {event.household} {DEPARTMENTS[event.department]['zh']} "
                f"{EVENT_KINDS[event.kind]['zh'].split('（')[0]} {event.amount or ''}"
            )
            for warning in stream.post(event):
                print(f"\n预警 / WARNING {warning.household} ({warning.township}) {warning.day}: {warning.rule}")
                print(f"  {warning.reason['zh']}\n  {warning.reason['en']}")
                print(f"  {_yuan(warning.aggregate)} 元 against {_yuan(warning.compared_with or 0)} 元; caused by:")
                for cause in warning.causes:
                    print(
                        f"    {cause.day} {DEPARTMENTS[cause.department]['en']}: {cause.kind} {_yuan(cause.counted)} 元"
                    )
                case = next(c for c in stream.cases.values() if c.warning == warning)
                print(f"  核查案件 / case {case.id} opened, due {case.due} (20 working days; Labour Day off)\n")
        print("月比对 / the month's report:", stream.report("2022-04"))
        first = next(c for c in stream.cases.values() if c.warning.household == "YK-0501")
        log = DecisionLog(Path(folder) / "decisions.jsonl")
        decision = stream.verify(first.id, parse_household(VERIFIED), ruleset, as_of=date(2022, 5, 10), log=log)
        stream.advance_to(date(2022, 6, 1))
        print("as of 2022-06-01:", {k: v for k, v in stream.report().items() if k.endswith("cases")})
        print(f"\n监测决定 / the monitoring decision of case {first.id}, entered on 2022-05-10:")
        print(decision.explain("zh"))
        print()
        print(decision.explain("en"))
        report = verify_log(log.path)
        print(f"\ndecision log {log.path.name}: {'chain verified' if report.ok else 'FAILED verification'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("rulesets"))
