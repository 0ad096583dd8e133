"""The early-warning stream on durable-rules: warnings at each screening boundary, deadlines in working
days, overdue cases, out-of-order events, many open cases at once, and the reference check."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import povrules
from povrules.audit import DecisionLog, verify_log
from povrules.warning.events import DepartmentEvent
from povrules.warning.reference import reference_warnings
from povrules.warning.rules import Screening, load_screening
from povrules.warning.synth import synth_events
from povrules.workdays import add_working_days

pytest.importorskip("durable.engine", reason="durable-rules (the warning extra) is not installed")

from povrules.errors import UsageError
from povrules.warning.stream import WarningStream, durable_engine


@pytest.fixture(scope="module")
def lingshou(rulesets_dir: Path) -> Screening:
    return load_screening(rulesets_dir / "cn-hebei-lingshou")


@pytest.fixture(scope="module")
def yingkou(rulesets_dir: Path) -> Screening:
    return load_screening(rulesets_dir / "cn-liaoning-yingkou")


def event(
    hh: str, day: str, kind: str, amount: str | None = None, previous: str | None = None, **more: Any
) -> DepartmentEvent:
    departments = {
        "income_record": "rural_revitalization",
        "medical_expense": "medical_security",
        "employment_change": "human_resources",
        "disaster_report": "emergency",
        "school_enrolment": "education",
    }
    return DepartmentEvent(
        household=hh,
        township=more.pop("township", "t1"),
        department=more.pop("department", departments[kind]),
        date=date.fromisoformat(day),
        kind=kind,
        amount=Decimal(amount) if amount is not None else None,
        previous_amount=Decimal(previous) if previous is not None else None,
    )


def keys(stream: WarningStream, events: list[DepartmentEvent]) -> list[tuple[str, str, date]]:
    return [w.key() for w in stream.post_many(events)]


# ---------------------------------------------------------------------------------------------
# boundaries


@pytest.mark.parametrize(("second", "warned"), [("4000.00", False), ("4000.01", True)])
def test_spending_strictly_above_last_years_income(lingshou: Screening, second: str, warned: bool) -> None:
    """超過上年度收入: 10,000 元 spent against 10,000 元 of income is not above it; one fen more is."""
    events = [
        event("h1", "2021-01-05", "income_record", "10000"),
        event("h1", "2021-03-01", "medical_expense", "6000"),
        event("h1", "2021-04-01", "disaster_report", second),
    ]
    with WarningStream(lingshou) as stream:
        raised = stream.post_many(events)
    assert [(w.rule, w.day) for w in raised] == ([("spending_surge", date(2021, 4, 1))] if warned else [])
    if warned:
        warning = raised[0]
        assert warning.aggregate == 1_000_001 and warning.compared_with == 1_000_000
        assert [(c.day, c.kind, c.counted) for c in warning.causes] == [
            (date(2021, 3, 1), "medical_expense", 600_000),
            (date(2021, 4, 1), "disaster_report", 400_001),
        ]
        assert warning.reason["zh"].startswith("比对期内")


@pytest.mark.parametrize(("new_wage", "warned"), [("7000", True), ("7000.01", False)])
def test_income_collapse_at_the_local_share(lingshou: Screening, new_wage: str, warned: bool) -> None:
    """A fall of 30 % of last year's income (the county's figure, >=) warns; one fen less does not."""
    events = [
        event("h1", "2021-01-05", "income_record", "10000"),
        event("h1", "2021-05-01", "employment_change", "8000", "10000"),
        event("h1", "2021-06-01", "employment_change", new_wage, "8000"),
    ]
    with WarningStream(lingshou) as stream:
        assert bool(keys(stream, events)) is warned


@pytest.mark.parametrize(("first_day", "warned"), [("2020-04-01", False), ("2020-04-02", True)])
def test_the_window_runs_twelve_months_back_excluding_its_first_day(
    lingshou: Screening, first_day: str, warned: bool
) -> None:
    events = [
        event("h1", "2020-01-05", "income_record", "10000"),
        event("h1", first_day, "medical_expense", "6000"),
        event("h1", "2021-04-01", "medical_expense", "4000.01"),
    ]
    with WarningStream(lingshou, lateness=400) as stream:
        assert bool(keys(stream, events)) is warned


def test_unknown_income_warns_nothing_and_is_counted_undetermined(lingshou: Screening) -> None:
    with WarningStream(lingshou) as stream:
        assert keys(stream, [event("h1", "2021-03-01", "medical_expense", "50000")]) == []
        assert stream.undetermined == 1
        # The income arrives: the same window is compared again.
        assert keys(stream, [event("h1", "2021-03-02", "income_record", "10000")]) == [
            ("h1", "spending_surge", date(2021, 3, 2))
        ]


def test_a_warning_starts_a_new_window(lingshou: Screening) -> None:
    events = [
        event("h1", "2021-01-05", "income_record", "1000"),
        event("h1", "2021-03-01", "medical_expense", "1500"),
        event("h1", "2021-03-02", "medical_expense", "500"),  # counted after the warning: 500 ≤ 1000
        event("h1", "2021-03-03", "medical_expense", "600"),  # 1100 > 1000: the second warning
    ]
    with WarningStream(lingshou) as stream:
        assert [k[2] for k in keys(stream, events)] == [date(2021, 3, 1), date(2021, 3, 3)]


# ---------------------------------------------------------------------------------------------
# cases and deadlines


def test_a_deadline_over_the_national_day_holiday(lingshou: Screening) -> None:
    """Twenty working days from 2021-09-28 run over 1–7 October (9 October, a Saturday, worked): due
    2021-11-01, 34 days on, where the same deadline in ordinary weeks is 28 days on."""
    events = [
        event("h1", "2021-09-01", "income_record", "1000"),
        event("h1", "2021-09-28", "medical_expense", "1000.01"),
    ]
    with WarningStream(lingshou) as stream:
        (warning,) = stream.post_many(events)
        case = stream.cases[f"h1/spending_surge/{warning.day.isoformat()}"]
        assert case.due == date(2021, 11, 1) == add_working_days(date(2021, 9, 28), 20)
        stream.advance_to(date(2021, 10, 29))  # 20 weekdays on, but 2 of them were holidays
        assert stream.report()["overdue_cases"] == []
        stream.advance_to(date(2021, 11, 1))
        assert stream.report()["overdue_cases"] == []
        stream.advance_to(date(2021, 11, 2))
        assert stream.report()["overdue_cases"] == [case.id]
        assert case.overdue_since == date(2021, 11, 2)
    # The same warning in ordinary weeks: 20 weekdays.
    ordinary = [
        event("h1", "2021-06-01", "income_record", "1000"),
        event("h1", "2021-06-22", "medical_expense", "1000.01"),
    ]
    with WarningStream(lingshou) as stream:
        stream.post_many(ordinary)
        assert next(iter(stream.cases.values())).due == date(2021, 7, 20)


def test_more_than_two_thousand_open_cases_at_once(lingshou: Screening) -> None:
    """2,500 households with a case open at the same time: one durable-rules session holds them all (one
    session per household would fail at about 1,024), and every one is reported overdue."""
    events = [event(f"h{n}", "2021-03-01", "income_record", "100") for n in range(2500)]
    events += [event(f"h{n}", "2021-03-02", "medical_expense", "100.01") for n in range(2500)]
    with WarningStream(lingshou) as stream:
        assert len(stream.post_many(events)) == 2500
        assert stream.report()["open_cases"] == 2500
        stream.advance_to(date(2021, 6, 1))
        assert len(stream.report()["overdue_cases"]) == 2500


def test_one_household_with_more_than_two_thousand_open_cases(lingshou: Screening) -> None:
    """A household whose income is recorded as nothing warns on every day it has a medical bill: 2,100 cases
    of one household open at once, the later ones still within their deadline, the earlier ones overdue."""
    first = date(2021, 1, 4)
    events = [event("h1", "2021-01-02", "income_record", "0")]
    events += [
        event("h1", date.fromordinal(first.toordinal() + n).isoformat(), "medical_expense", "1") for n in range(2100)
    ]
    with WarningStream(lingshou) as stream:
        assert len(stream.post_many(events)) == 2100
        report = stream.report()
        assert report["open_cases"] == 2100
        assert 2000 < len(report["overdue_cases"]) < 2100


def test_one_household_with_thousands_of_events_in_its_window(lingshou: Screening) -> None:
    events = [event("h1", "2021-01-02", "income_record", "100000")]
    events += [
        event("h1", f"2021-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}", "medical_expense", "0.01") for n in range(3000)
    ]
    with WarningStream(lingshou) as stream:
        assert stream.post_many(events) == []
        assert stream.live_households() == 1


def test_streams_come_and_go_without_exhausting_sessions(lingshou: Screening) -> None:
    """More streams, one after another, than durable-rules has session slots: each deletes its session."""
    for _ in range(1100):
        with WarningStream(lingshou) as stream:
            stream.post(event("h1", "2021-03-01", "income_record", "100"))


def test_verification_runs_the_plans_decision_and_logs_it(
    yingkou: Screening, rulesets_dir: Path, tmp_path: Path
) -> None:
    ruleset = povrules.load_ruleset(rulesets_dir / "cn-liaoning-yingkou")
    events = [
        event("new-1", "2022-04-01", "income_record", "9000"),
        event("new-1", "2022-04-20", "medical_expense", "4500"),
    ]
    facts = povrules.parse_household(IDENTIFIED)
    log = DecisionLog(tmp_path / "decisions.jsonl")
    with WarningStream(yingkou) as stream:
        (_warning,) = stream.post_many(events)
        case_id = next(iter(stream.cases))
        decision = stream.verify(case_id, facts, ruleset, as_of=date(2022, 5, 10), log=log)
        assert decision.outcome == "identified"
        assert stream.cases == {} and stream.report()["open_cases"] == 0
        stream.advance_to(date(2022, 7, 1))  # a decided case is never overdue
        assert stream.overdue_total == 0
        with pytest.raises(povrules.errors.UnknownName):
            stream.verify(case_id, facts, ruleset, as_of=date(2022, 5, 10))
    assert verify_log(log.path).ok


IDENTIFIED: dict[str, Any] = {
    "id": "new-1",
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
            {"kind": "business", "amount": "8000", "period_start": "2021-05-01", "period_end": "2022-04-30"},
            {"kind": "insurance_claims", "amount": "1000", "period_start": "2021-05-01", "period_end": "2022-04-30"},
        ]
    },
    "expenditure": {
        "items": [
            {
                "kind": "medical_compliant_out_of_pocket",
                "amount": "2000",
                "period_start": "2021-05-01",
                "period_end": "2022-04-30",
            }
        ]
    },
    "assessments": {
        "poverty_risk": {"value": True, "by": "乡镇网格员 刘某", "on": "2022-04-28"},
        "return_risk": {"value": False, "by": "乡镇网格员 刘某", "on": "2022-04-28"},
    },
}


# ---------------------------------------------------------------------------------------------
# order, reports, the reference check, a missing durable-rules


def test_events_out_of_order_by_date(lingshou: Screening) -> None:
    """An event reported late still counts in its window; one later than the lateness allows is not screened."""
    events = [
        event("h1", "2021-01-05", "income_record", "1000"),
        event("h1", "2021-05-01", "school_enrolment", "10"),
        event("h1", "2021-04-01", "medical_expense", "600"),  # a month late
        event("h1", "2021-02-01", "medical_expense", "500"),  # three months late: past the lateness
        event("h1", "2021-04-15", "medical_expense", "400.01"),
    ]
    with WarningStream(lingshou) as stream:
        assert keys(stream, events) == [("h1", "spending_surge", date(2021, 5, 1))]
        assert stream.late == 1
    assert reference_warnings(lingshou, events) == [("h1", "spending_surge", date(2021, 5, 1))]


def test_the_monthly_report_counts_by_department_and_township(lingshou: Screening) -> None:
    events = [
        event("h1", "2021-03-01", "income_record", "100", township="t1"),
        event("h2", "2021-03-01", "income_record", "100", township="t2"),
        event("h1", "2021-03-02", "medical_expense", "200"),
        event("h2", "2021-03-03", "disaster_report", "200", township="t2"),
        event("h2", "2021-04-03", "employment_change", "0", "100", township="t2"),
    ]
    with WarningStream(lingshou) as stream:
        stream.post_many(events)
        march = stream.report("2021-03")
        assert march["by_department"] == {"emergency": 1, "medical_security": 1}
        assert march["by_township"] == {"t1": 1, "t2": 1}
        assert stream.report()["month"] == "2021-04" and stream.report()["by_department"] == {"human_resources": 1}
        assert stream.report()["open_cases"] == 3


@pytest.mark.parametrize("name", ["cn-anhui-funan", "cn-hebei-lingshou", "cn-liaoning-yingkou"])
def test_the_reference_check_raises_exactly_the_streams_warnings(rulesets_dir: Path, name: str) -> None:
    screening = load_screening(rulesets_dir / name)
    options: dict[str, Any] = {"seed": 7, "max_delay": 90, "late_share": 0.05}
    with WarningStream(screening) as stream:
        raised = [w.key() for w in stream.post_many(synth_events(400, 12_000, **options))]
        assert stream.late > 0  # the synthetic stream reaches past the lateness
    assert len(raised) > 20
    assert raised == reference_warnings(screening, synth_events(400, 12_000, **options))


def test_the_synthetic_stream_is_reproducible() -> None:
    assert list(synth_events(50, 500, seed=1)) == list(synth_events(50, 500, seed=1))
    assert list(synth_events(50, 500, seed=1)) != list(synth_events(50, 500, seed=2))


def test_a_missing_durable_rules_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "durable.engine", None)  # what Python does for a module it cannot import
    with pytest.raises(UsageError, match=r"needs durable-rules, .*pip install 'povrules\[warning\]'"):
        durable_engine()


def test_the_demo_shows_a_warning_its_case_its_deadline_and_the_decision(
    rulesets_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from povrules.warning import demo

    demo.main(rulesets_dir)
    shown = capsys.readouterr().out
    assert "预警 / WARNING YK-0501 (老边镇) 2022-04-20: large_rigid_spending" in shown
    assert "case YK-0501/large_rigid_spending/2022-04-20 opened, due 2022-05-19" in shown
    assert "'overdue_cases': ['YK-0503/marked_income_drop/2022-04-25']" in shown
    assert "→ 识别为监测对象" in shown and "→ identified as a monitoring object" in shown
    assert "chain verified" in shown
