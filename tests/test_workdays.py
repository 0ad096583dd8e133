"""Counting days: working days of the official PRC calendar (weekends and public holidays off, adjusted
working weekends on), checked against chinese-calendar and against the 2021 notices by hand, and the two
conventions — a period from an event (its day not counted) and a span (both days counted)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from povrules.errors import EvaluationError
from povrules.workdays import (
    CalendarError,
    OfficialDay,
    add_working_days,
    calendar_days,
    coverage,
    is_working_day,
    official_days,
    working_days,
    working_days_between,
)

D = date


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# The calendar, by hand (国务院办公厅 notice on the 2021 holidays)


def test_national_day_2021_is_seven_days_off_with_two_weekends_worked():
    assert not any(is_working_day(d) for d in _days(D(2021, 10, 1), D(2021, 10, 7)))
    assert is_working_day(D(2021, 9, 26)) and D(2021, 9, 26).weekday() == 6  # a Sunday worked
    assert is_working_day(D(2021, 10, 9)) and D(2021, 10, 9).weekday() == 5  # a Saturday worked
    assert is_working_day(D(2021, 10, 8)) and not is_working_day(D(2021, 10, 10))
    # 09-26 … 10-09: 14 days; working: 09-26 … 09-30 (5), 10-08, 10-09 (2).
    assert working_days(D(2021, 9, 26), D(2021, 10, 9)) == 7
    assert calendar_days(D(2021, 9, 26), D(2021, 10, 9)) == 14


def test_spring_festival_2021_is_seven_days_off_with_two_weekends_worked():
    assert not any(is_working_day(d) for d in _days(D(2021, 2, 11), D(2021, 2, 17)))
    assert is_working_day(D(2021, 2, 7)) and D(2021, 2, 7).weekday() == 6
    assert is_working_day(D(2021, 2, 20)) and D(2021, 2, 20).weekday() == 5
    # 02-07 … 02-21: working 02-07 … 02-10 (4), 02-18, 02-19, 02-20 (3).
    assert working_days(D(2021, 2, 7), D(2021, 2, 21)) == 7


def test_a_plain_week_has_five_working_days():
    week = _days(D(2021, 11, 8), D(2021, 11, 14))  # Monday … Sunday, no holiday
    assert [is_working_day(d) for d in week] == [True] * 5 + [False] * 2
    assert working_days(week[0], week[-1]) == 5
    assert working_days_between(D(2021, 11, 7), D(2021, 11, 14)) == 5


def test_is_working_day_agrees_with_chinese_calendar_over_every_covered_year():
    first, last = coverage()
    assert (first, last) == (2004, 2026) or first <= 2004 and last >= 2026
    for day in _days(D(first, 1, 1), D(last, 12, 31)):
        assert is_working_day(day) == chinese_calendar.is_workday(day), day


# The two conventions


def test_working_days_between_does_not_count_the_start_day():
    # From Friday 2021-11-12: Saturday and Sunday are not working days, Monday is the first.
    assert working_days_between(D(2021, 11, 12), D(2021, 11, 15)) == 1
    assert working_days_between(D(2021, 11, 12), D(2021, 11, 13)) == 0
    # The end day counts: Monday to Tuesday is one.
    assert working_days_between(D(2021, 11, 15), D(2021, 11, 16)) == 1


def test_working_days_between_is_zero_for_the_same_day_and_negative_when_reversed():
    assert working_days_between(D(2021, 11, 15), D(2021, 11, 15)) == 0
    assert working_days_between(D(2021, 11, 19), D(2021, 11, 15)) == -4
    assert working_days_between(D(2021, 10, 9), D(2021, 9, 30)) == -2  # back over the holiday: 10-08, 10-09


def test_working_days_and_calendar_days_count_both_ends():
    assert calendar_days(D(2021, 9, 22), D(2021, 9, 28)) == 7  # 公示7天: posted 09-22 … 09-28
    assert calendar_days(D(2021, 9, 22), D(2021, 9, 22)) == 1
    assert working_days(D(2021, 11, 15), D(2021, 11, 15)) == 1
    assert working_days(D(2021, 11, 13), D(2021, 11, 13)) == 0  # a Saturday
    assert working_days(D(2021, 10, 1), D(2021, 10, 7)) == 0


def test_spans_are_zero_when_reversed():
    assert calendar_days(D(2021, 9, 28), D(2021, 9, 22)) == 0
    assert working_days(D(2021, 9, 28), D(2021, 9, 22)) == 0


def test_a_span_is_one_more_than_a_period_from_the_day_before():
    first, last = D(2021, 9, 24), D(2021, 10, 12)
    assert working_days(first, last) == working_days_between(first - timedelta(days=1), last)
    assert calendar_days(first, last) == (last - first).days + 1


# add_working_days


def test_add_working_days_zero_is_the_day_itself_even_off_work():
    assert add_working_days(D(2021, 10, 3), 0) == D(2021, 10, 3)


def test_add_working_days_one_either_way():
    assert add_working_days(D(2021, 11, 15), 1) == D(2021, 11, 16)
    assert add_working_days(D(2021, 11, 12), 1) == D(2021, 11, 15)  # Friday → Monday
    assert add_working_days(D(2021, 11, 15), -1) == D(2021, 11, 12)  # Monday → Friday
    assert add_working_days(D(2021, 11, 14), -1) == D(2021, 11, 12)  # Sunday → Friday


def test_add_working_days_over_a_holiday_and_onto_an_adjusted_saturday():
    assert add_working_days(D(2021, 9, 30), 1) == D(2021, 10, 8)  # over the seven days off
    assert add_working_days(D(2021, 9, 30), 2) == D(2021, 10, 9)  # a Saturday worked (调休)
    assert add_working_days(D(2021, 9, 25), 1) == D(2021, 9, 26)  # a Sunday worked
    assert add_working_days(D(2021, 10, 8), -1) == D(2021, 9, 30)
    # 20 working days from 2021-09-15 (a deadline over Mid-Autumn and National Day): 10-19, not 10-13
    # as weekdays alone would give.
    assert add_working_days(D(2021, 9, 15), 20) == D(2021, 10, 19)


# Years the calendar does not cover


@pytest.mark.parametrize("day", [D(2003, 12, 31), D(2027, 1, 4)])
def test_an_uncovered_year_is_refused_naming_the_years_and_the_date(day):
    for call in (
        lambda: is_working_day(day),
        lambda: working_days_between(D(2021, 1, 4), day),
        lambda: working_days(day, D(2021, 1, 4)) if day < D(2021, 1, 4) else working_days(D(2021, 1, 4), day),
        lambda: add_working_days(day, 3),
        lambda: official_days(min(day, D(2021, 1, 4)), max(day, D(2021, 1, 4))),
    ):
        with pytest.raises(CalendarError) as caught:
            call()
        assert "2004–2026" in str(caught.value) and day.isoformat() in str(caught.value)
        assert isinstance(caught.value, EvaluationError)


def test_adding_past_the_last_covered_year_is_refused():
    with pytest.raises(CalendarError, match="after 2026-12-28 fall outside 2004–2026"):
        add_working_days(D(2026, 12, 28), 10)
    with pytest.raises(CalendarError, match="before 2004-01-05 fall outside 2004–2026"):
        add_working_days(D(2004, 1, 5), -10)


def test_calendar_days_need_no_holiday_calendar():
    assert calendar_days(D(2003, 12, 30), D(2027, 1, 2)) == (D(2027, 1, 2) - D(2003, 12, 30)).days + 1


# The official days inside a span


def test_official_days_list_the_holidays_and_the_weekends_worked():
    days = official_days(D(2021, 9, 26), D(2021, 10, 10))
    worked = [d.day for d in days if d.working]
    off = [d.day for d in days if not d.working]
    assert worked == [D(2021, 9, 26), D(2021, 10, 9)]
    assert off == _days(D(2021, 10, 1), D(2021, 10, 7))
    assert {(d.holiday, d.holiday_zh) for d in days} == {("National Day", "国庆节")}
    assert official_days(D(2021, 11, 8), D(2021, 11, 14)) == ()
    assert official_days(D(2021, 10, 7), D(2021, 10, 1)) == ()
    assert official_days(D(2021, 2, 20), D(2021, 2, 20)) == (
        OfficialDay(D(2021, 2, 20), True, "Spring Festival", "春节"),
    )


# Properties against chinese-calendar

days_covered = st.dates(min_value=D(2004, 2, 1), max_value=D(2026, 11, 30))
# Far enough inside the covered years that 40 working days either way stay inside them (about 8 weeks,
# or more over a Spring Festival).
days_well_inside = st.dates(min_value=D(2004, 4, 1), max_value=D(2026, 10, 31))


@given(days_covered, st.integers(min_value=-60, max_value=60))
def test_working_days_between_counts_the_working_days_after_the_start(a, offset):
    b = a + timedelta(days=offset)
    if b < a:
        expected = -sum(chinese_calendar.is_workday(d) for d in _days(b + timedelta(days=1), a))
    else:
        expected = sum(chinese_calendar.is_workday(d) for d in _days(a + timedelta(days=1), b))
    assert working_days_between(a, b) == expected
    assert working_days(a, b) == (sum(chinese_calendar.is_workday(d) for d in _days(a, b)) if b >= a else 0)


@given(days_well_inside, st.integers(min_value=1, max_value=40))
def test_add_working_days_is_the_inverse_of_working_days_between(start, n):
    end = add_working_days(start, n)
    assert chinese_calendar.is_workday(end)
    assert working_days_between(start, end) == n
    assert working_days_between(start, end - timedelta(days=1)) == n - 1  # the first such day
    back = add_working_days(start, -n)
    assert chinese_calendar.is_workday(back)
    # Counting back, the start's own day does not count either: [back, start) holds n working days.
    assert working_days(back, start - timedelta(days=1)) == n
    assert working_days(back + timedelta(days=1), start - timedelta(days=1)) == n - 1
    if is_working_day(start):
        assert working_days_between(back, start) == n
