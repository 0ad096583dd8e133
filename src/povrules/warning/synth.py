"""A synthetic stream of department events for tests and benchmarks, reproducible by seed.

Households get a township and a yearly income record; then events arrive at a steady rate per day
(so twice the events span twice the days), mostly medical reimbursements, with wage changes, disaster
reports and the kinds no screening rule reads. A share of the events arrives late, out of date order,
by up to ``max_delay`` days. Generated lazily: memory does not grow with the number of events.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from povrules.errors import UsageError
from povrules.warning.events import Department, DepartmentEvent, EventKind

# (kind, department, weight): the mix of a county's feeds.
_MIX: tuple[tuple[EventKind, Department, int], ...] = (
    ("medical_expense", "medical_security", 55),
    ("employment_change", "human_resources", 10),
    ("disaster_report", "emergency", 3),
    ("dibao_change", "civil_affairs", 10),
    ("assistance_change", "civil_affairs", 5),
    ("school_enrolment", "education", 8),
    ("housing_appraisal", "housing", 4),
    ("disability_certificate", "disabled_persons", 2),
    ("income_record", "rural_revitalization", 3),
)


def _yuan(value: float) -> Decimal:
    return Decimal(int(value * 100)).scaleb(-2)


def synth_events(
    households: int,
    events: int,
    *,
    seed: int = 0,
    start: date = date(2021, 1, 1),
    per_household_per_year: float = 10.0,
    late_share: float = 0.05,
    max_delay: int = 40,
    townships: int = 12,
) -> Iterator[DepartmentEvent]:
    """``events`` department events over ``households`` households (ids ``h000001`` …), reproducible by ``seed``.

    The first events are one income record per household, on ``start``; the rest arrive at
    ``households × per_household_per_year / 365`` a day.
    """
    if households < 1 or events < 0:
        raise UsageError(f"expected at least one household and no negative count of events, got {households}, {events}")
    rng = random.Random(seed)
    names = [f"h{n:06d}" for n in range(1, households + 1)]
    township = {name: f"t{rng.randrange(townships):02d}" for name in names}
    income = {name: rng.uniform(6_000, 60_000) for name in names}
    kinds = [k for k, _, _ in _MIX]
    departments = {k: d for k, d, _ in _MIX}
    weights = [w for _, _, w in _MIX]
    per_day = households * per_household_per_year / 365
    held: list[tuple[int, int, DepartmentEvent]] = []  # late events: (release index, order, event)
    emitted = 0
    for name in names[: min(households, events)]:
        yield DepartmentEvent(
            household=name,
            township=township[name],
            department="rural_revitalization",
            date=start,
            kind="income_record",
            amount=_yuan(income[name]),
        )
        emitted += 1
    index = 0
    while emitted < events:
        day = start + timedelta(days=1 + int(index / per_day))
        index += 1
        name = names[rng.randrange(households)]
        kind = rng.choices(kinds, weights)[0]
        amount: Decimal | None = None
        previous: Decimal | None = None
        if kind == "medical_expense":
            amount = _yuan(rng.uniform(20, 800) if rng.random() < 0.98 else rng.uniform(2_000, 30_000))
        elif kind == "employment_change":
            previous = _yuan(rng.uniform(5_000, 40_000))
            amount = _yuan(float(previous) * (rng.uniform(0.3, 1.0) if rng.random() < 0.1 else rng.uniform(0.95, 1.2)))
        elif kind == "disaster_report":
            amount = _yuan(rng.uniform(500, 20_000))
        elif kind == "income_record":
            income[name] *= rng.uniform(0.7, 1.2)
            amount = _yuan(income[name])
        elif kind in ("dibao_change", "assistance_change", "school_enrolment"):
            amount = _yuan(rng.uniform(100, 3_000))
        event = DepartmentEvent(
            household=name,
            township=township[name],
            department=departments[kind],
            date=day,
            kind=kind,
            amount=amount,
            previous_amount=previous,
        )
        if rng.random() < late_share:
            # Reported late: it comes after the events of up to max_delay more days.
            heapq.heappush(held, (index + int(rng.uniform(1, max_delay) * per_day), index, event))
        else:
            yield event
            emitted += 1
        while held and emitted < events and held[0][0] <= index:
            yield heapq.heappop(held)[2]
            emitted += 1
    # Nothing held back is emitted past the count: the stream has exactly ``events`` events.


__all__ = ["synth_events"]
