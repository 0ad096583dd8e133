"""The reference check: the screening conditions evaluated without durable-rules, from each household's
whole history, in exact yuan.

It shares nothing with the stream but the screening and the conventions both follow (stated in
docs/early-warning.md): events in arrival order; an event more than ``lateness`` days older than the
latest day seen is late and not screened; a household's evaluation day is the latest day among its
events; a rule is evaluated on each event of its kinds (and each income record) of the household; its
window holds the events of its kinds after both ``window`` months before the evaluation day and the
rule's last warning for the household, up to the evaluation day; the income is the latest-dated
income record (the later one received on a tie). Where the stream keeps running windows in fen and
lets durable-rules compare, this keeps every event and compares Decimals.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import date, timedelta
from decimal import Decimal

from povrules.lang.compiler import add_months
from povrules.warning.events import DepartmentEvent
from povrules.warning.rules import Screening, ScreeningRule
from povrules.warning.stream import DEFAULT_LATENESS


def _value(rule: ScreeningRule, event: DepartmentEvent) -> Decimal | None:
    if event.kind not in rule.kinds:
        return None
    if rule.departments is not None and event.department not in rule.departments:
        return None
    if rule.aggregate == "count":
        return Decimal(1)
    if rule.aggregate == "sum_amount":
        return event.amount
    if event.amount is None or event.previous_amount is None:
        return None
    return max(Decimal(0), event.previous_amount - event.amount)


def _holds(rule: ScreeningRule, screening: Screening, total: Decimal, income: Decimal | None, day: date) -> bool | None:
    if rule.percent_of_income is not None:
        percent = screening.parameter(rule.percent_of_income, day)
        if income is None or percent is None:
            return None
        against = income * percent / 100
    else:
        assert rule.threshold is not None
        threshold = screening.parameter(rule.threshold, day)
        if threshold is None:
            return None
        against = Decimal(threshold)
    return total > against if rule.operator == ">" else total >= against


def reference_warnings(
    screening: Screening,
    events: Iterable[DepartmentEvent],
    *,
    lateness: int = DEFAULT_LATENESS,
    households: Container[str] | None = None,
) -> list[tuple[str, str, date]]:
    """The (household, rule, day) of every warning the screening raises on ``events``, in order.

    ``households``: only theirs (the clock still runs over every event), so that a long stream can be checked
    on a sample without holding every household's history.
    """
    histories: dict[str, list[DepartmentEvent]] = {}
    last_warning: dict[tuple[str, str], date] = {}
    clock: date | None = None
    raised: list[tuple[str, str, date]] = []
    for event in events:
        clock = event.date if clock is None or event.date > clock else clock
        if event.date <= clock - timedelta(days=lateness):
            continue
        if households is not None and event.household not in households:
            continue
        history = histories.setdefault(event.household, [])
        history.append(event)
        latest = max(e.date for e in history)
        incomes = [e for e in history if e.kind == "income_record" and e.amount is not None]
        income = None
        if incomes:
            best = max(e.date for e in incomes)
            income = [e for e in incomes if e.date == best][-1].amount
        for rule in screening.rules:
            if event.kind != "income_record" and _value(rule, event) is None:
                continue
            months = screening.parameter(rule.window, latest)
            if months is None:
                continue
            start = add_months(latest, -months)
            warned = last_warning.get((event.household, rule.name))
            if warned is not None and warned > start:
                start = warned
            values = [v for e in history if start < e.date <= latest and (v := _value(rule, e)) is not None]
            if not values:
                continue
            if _holds(rule, screening, sum(values, Decimal(0)), income, latest):
                raised.append((event.household, rule.name, latest))
                last_warning[(event.household, rule.name)] = latest
    return raised


__all__ = ["reference_warnings"]
