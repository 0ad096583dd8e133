"""Counting days as the policy texts count them: calendar days, and working days of the official PRC
calendar (工作日), weekends and public holidays off, adjusted working weekends (调休) on.

The holiday calendar comes from ``chinese-calendar``, which carries the State Council's yearly notices;
this module is the only one that imports it. A year the library does not cover is refused with
:class:`CalendarError` rather than guessed, because a weekday-only count would be wrong around every
holiday. The counting conventions (which day of a period counts) are stated once, in
``docs/interpretations.md`` (I-P-1, I-P-2), and applied by the four functions below:

* :func:`working_days_between` — a period that runs *from* an event (a deadline): the day of the event
  does not count, the last day does (《民法典》第201条);
* :func:`calendar_days` and :func:`working_days` — a span whose first and last days both count (a list
  posted from one day to another);
* :func:`add_working_days` — the day a deadline of so many working days ends;
* :func:`official_days` — the public holidays and adjusted working weekends inside a span, to show
  why a count differs from a weekday count.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from functools import cache

import attrs
import chinese_calendar
from chinese_calendar import constants as _calendar_data

from povrules.errors import EvaluationError


class CalendarError(EvaluationError):
    """A working-day count that reaches a year the holiday calendar does not cover."""


@attrs.frozen
class OfficialDay:
    """A day the official calendar treats otherwise than its weekday would say: a public holiday (off),
    or a weekend day worked in exchange for one (调休, ``working`` is true)."""

    day: date
    working: bool
    holiday: str  # the festival in English, as the State Council's notice names it ("National Day")
    holiday_zh: str  # the same in Chinese ("国庆节")


def coverage() -> tuple[int, int]:
    """The first and last year whose working days are known (from the installed ``chinese-calendar``)."""
    return _table()[0], _table()[1]


def calendar_version() -> str:
    """The installed ``chinese-calendar`` version: which yearly holiday notices the counts rest on."""
    return str(getattr(chinese_calendar, "__version__", "unknown"))


@cache
def _table() -> tuple[int, int, tuple[int, ...]]:
    """(first year, last year, the ordinals of every working day in those years, ascending)."""
    years = sorted({day.year for day in _calendar_data.holidays} | {day.year for day in _calendar_data.workdays})
    first, last = years[0], years[-1]
    ordinals = []
    day, end = date(first, 1, 1), date(last, 12, 31)
    while day <= end:
        if chinese_calendar.is_workday(day):
            ordinals.append(day.toordinal())
        day += timedelta(days=1)
    return first, last, tuple(ordinals)


def _covered(*days: date) -> tuple[int, ...]:
    first, last, ordinals = _table()
    for day in days:
        if not first <= day.year <= last:
            raise CalendarError(
                f"working days are known for {first}–{last} (the official holiday calendar of chinese-calendar "
                f"{calendar_version()}); {day.isoformat()} is outside it"
            )
    return ordinals


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day (a weekday not a public holiday, or an adjusted working weekend).

    Raises :class:`CalendarError` for a year the calendar does not cover.
    """
    ordinals = _covered(day)
    index = bisect_left(ordinals, day.toordinal())
    return index < len(ordinals) and ordinals[index] == day.toordinal()


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end`` is earlier): how
    many working days a period from ``start`` has used by ``end``.

    Raises :class:`CalendarError` for a year the calendar does not cover.
    """
    if end < start:
        return -working_days_between(end, start)
    ordinals = _covered(start, end)
    return bisect_right(ordinals, end.toordinal()) - bisect_right(ordinals, start.toordinal())


def working_days(first: date, last: date) -> int:
    """Working days from ``first`` to ``last``, both counted (0 when ``last`` is before ``first``).

    Raises :class:`CalendarError` for a year the calendar does not cover.
    """
    if last < first:
        return 0
    ordinals = _covered(first, last)
    return bisect_right(ordinals, last.toordinal()) - bisect_left(ordinals, first.toordinal())


def calendar_days(first: date, last: date) -> int:
    """Days from ``first`` to ``last``, both counted (0 when ``last`` is before ``first``)."""
    return max(0, (last - first).days + 1)


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (before it, when negative; ``start`` itself for 0): the
    last day of a period of ``days`` working days that runs from ``start``.

    For ``days`` > 0 it is the first day ``d`` with ``working_days_between(start, d) == days``. Counting
    back mirrors that: ``start``'s own day does not count, so for ``days`` < 0 the working days from the
    day returned up to the day before ``start`` (both counted) are ``-days``.

    Raises :class:`CalendarError` when the day falls outside the years the calendar covers.
    """
    ordinals = _covered(start)
    if days == 0:
        return start
    if days > 0:
        index = bisect_right(ordinals, start.toordinal()) + days - 1
    else:
        index = bisect_left(ordinals, start.toordinal()) + days
    if not 0 <= index < len(ordinals):
        first, last, _ = _table()
        raise CalendarError(
            f"{abs(days)} working days {'after' if days > 0 else 'before'} {start.isoformat()} fall outside "
            f"{first}–{last}, the years the official holiday calendar (chinese-calendar {calendar_version()}) covers"
        )
    return date.fromordinal(ordinals[index])


def official_days(first: date, last: date) -> tuple[OfficialDay, ...]:
    """The public holidays and the adjusted working weekends (调休) from ``first`` to ``last``, both days
    included, in date order (empty when ``last`` is before ``first``). A holiday that falls on a weekend is
    listed too: it is part of the holiday as the notice gives it.

    Raises :class:`CalendarError` for a year the calendar does not cover.
    """
    if last < first:
        return ()
    _covered(first, last)
    names = {holiday.value: holiday.chinese for holiday in _calendar_data.Holiday}
    out = []
    for table, working in ((_calendar_data.holidays, False), (_calendar_data.workdays, True)):
        for day, name in table.items():
            if first <= day <= last:
                out.append(OfficialDay(day, working, name, names.get(name, name)))
    return tuple(sorted(out, key=lambda official: official.day))


__all__ = [
    "CalendarError",
    "OfficialDay",
    "add_working_days",
    "calendar_days",
    "calendar_version",
    "coverage",
    "is_working_day",
    "official_days",
    "working_days",
    "working_days_between",
]
