"""The early-warning stream on durable-rules: department events in, warnings, cases and deadlines out.

Division of work. durable-rules matches; Python keeps the windows. For each screening rule the stream
keeps, per household, the events of the rule's kinds inside its window (amounts in fen), and on each
event that can change the rule's answer it posts one observation to durable-rules: the aggregate and
the figure it is compared with, as integers scaled alike. The durable-rules ruleset, generated from the
screening (never written by hand), decides whether the comparison holds and its action raises the
warning. A warning opens a verification case whose last day is the deadline in working days of the
official calendar; the case is a durable-rules fact that a rule joins with the stream's clock (a fact of
the latest event day), so the case is reported overdue the first day after its deadline, in event time.

What durable-rules cannot do, and how it is handled (docs/early-warning.md):

* sessions live in a fixed-size table: the stream uses one session for all households, cleared on
  :meth:`WarningStream.close` and reused by the next stream (never deleted: ``delete_state`` crashes
  2.0.28 once a session has seen an event no rule took); per-household windows are Python dicts, dropped
  when they empty;
* no ``Decimal``, no ``date``: fen as int, days as ordinals, comparisons ``lhs > rhs`` on whole numbers;
* rulesets are global and cannot be redefined: one host per screening digest, the ruleset named by the
  digest, the actions dispatching to the stream by session id;
* it is a C extension from a source distribution: :func:`durable_engine` raises a
  :class:`~povrules.errors.UsageError`, one clear line, when it is missing or does not load.
"""

from __future__ import annotations

import importlib
import itertools
import threading
from bisect import insort
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any, ClassVar, Self

import attrs

from povrules.audit import DecisionLog, make_record
from povrules.engine import Decision, evaluate
from povrules.errors import UnknownName, UsageError
from povrules.facts import FactModel
from povrules.lang.compiler import add_months
from povrules.ruleset import Ruleset
from povrules.warning.events import DepartmentEvent, fen
from povrules.warning.rules import Screening, ScreeningRule
from povrules.workdays import add_working_days, working_days_between

# How many days an event may lag the latest day the stream has seen and still be screened: the
# departments report monthly (月比对), so two months. An older event is counted as late, not screened.
DEFAULT_LATENESS = 62
# How often, in months, the stream drops window events that no later event can bring back into a window.
SWEEP_MONTHS = 3


def durable_engine() -> Any:
    """The ``durable.engine`` module. Raises :class:`~povrules.errors.UsageError` saying how to get it when
    durable-rules is not installed or its C extension does not load on this Python."""
    try:
        return importlib.import_module("durable.engine")
    except ImportError as exc:  # not installed, or its C extension fails to load (e.g. on Python 3.13)
        raise UsageError(
            "the early-warning stream needs durable-rules, a C extension built from its source distribution "
            f"(pip install 'povrules[warning]', with a C compiler; Python 3.11 or 3.12): {exc}"
        ) from None


@attrs.frozen
class Cause:
    """An event inside a warning's window: its day, department, kind and the amount counted (fen)."""

    day: date
    department: str
    kind: str
    counted: int


@attrs.frozen
class ScreeningWarning:
    """A screening rule that held for a household on ``day``, with its reason and the events that caused it."""

    household: str
    township: str | None
    rule: str
    day: date
    department: str  # the department whose event completed the condition
    reason: Mapping[str, str]
    aggregate: int  # fen (sums) or a count
    compared_with: int | None  # fen: the share of income or the threshold; a count for counts
    causes: tuple[Cause, ...]

    def key(self) -> tuple[str, str, date]:
        """(household, rule, day): what the reference check compares."""
        return (self.household, self.rule, self.day)


@attrs.define
class Case:
    """A verification case a warning opened: due on the deadline's last day, overdue the day after."""

    id: str
    warning: ScreeningWarning
    opened: date
    due: date
    overdue_since: date | None = None
    decided: date | None = None
    decision: Decision | None = None


@attrs.define
class _Household:
    """A household's state: kept only while one of its windows holds an event."""

    windows: dict[str, list[tuple[int, int, str, str]]]  # rule → sorted (day, counted, department, kind)
    last_warning: dict[str, int]  # rule → ordinal of its last warning


@attrs.define
class _Summary:
    """What the stream keeps of every household it has seen: its latest day, township and income."""

    latest: int
    township: str | None
    income_day: int | None = None
    income: int | None = None  # fen


def durable_definition(screening: Screening, name: str) -> dict[str, Any]:
    """The durable-rules ruleset of a screening (without actions): one rule per screening rule, and the
    overdue rule that joins each open case with the clock."""
    definition: dict[str, Any] = {}
    for rule in screening.rules:
        op = "$gt" if rule.operator == ">" else "$gte"
        definition[f"screen_{rule.name}"] = {
            "all": [{"m": {"$and": [{"t": "observation"}, {"rule": rule.name}, {op: {"lhs": {"$m": "rhs"}}}]}}]
        }
    definition["overdue"] = {
        "all": [{"k": {"t": "case"}}, {"c": {"$and": [{"t": "clock"}, {"$gt": {"today": {"k": "due"}}}]}}]
    }
    return {name: definition}


class _Host:
    """One durable-rules host per screening digest (rulesets are global there), dispatching actions to streams."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _hosts: ClassVar[dict[str, _Host]] = {}

    def __init__(self, screening: Screening):
        engine = durable_engine()
        self.name = "povrules_warning_" + screening.digest.removeprefix("sha256:")[:24]
        self.streams: dict[str, WarningStream] = {}
        # Sessions are recycled, never deleted: durable-rules 2.0.28's delete_state crashes the process once
        # a session has seen an event no rule took. A session is clean when its stream closes (its facts
        # retracted), so the sessions in the table never outnumber the streams open at once.
        self.free: list[str] = []
        self.serial = itertools.count(1)
        definition = durable_definition(screening, self.name)
        for rule in screening.rules:
            definition[self.name][f"screen_{rule.name}"]["run"] = self._warned
        definition[self.name]["overdue"]["run"] = self._overdue
        self.engine = engine
        self.host = engine.Host(definition)

    def acquire(self, stream: WarningStream) -> str:
        with self._lock:
            sid = self.free.pop() if self.free else f"s{next(self.serial)}"
            self.streams[sid] = stream
            return sid

    def release(self, sid: str) -> None:
        with self._lock:
            del self.streams[sid]
            self.free.append(sid)

    @classmethod
    def of(cls, screening: Screening) -> _Host:
        with cls._lock:
            host = cls._hosts.get(screening.digest)
            if host is None:
                host = cls._hosts[screening.digest] = cls(screening)
            return host

    def _warned(self, c: Any) -> None:
        message = c.m
        self.streams[message["sid"]].on_warning(message)

    def _overdue(self, c: Any) -> None:
        case = c.k
        stream = self.streams[case["sid"]]
        stream.on_overdue(case["case"], c.c["today"])
        c.retract_fact({"sid": case["sid"], "t": "case", "case": case["case"], "due": case["due"]})


class WarningStream:
    """Department events in, in arrival order; warnings, verification cases and reports out.

    Use as a context manager, or call :meth:`close`: the stream's durable-rules session is cleared then, for
    the next stream to use.
    """

    def __init__(self, screening: Screening, *, lateness: int = DEFAULT_LATENESS):
        if lateness < 0:
            raise UsageError(f"lateness: expected 0 days or more, not {lateness}")
        self.screening = screening
        self.lateness = lateness
        self._host = _Host.of(screening)
        self.sid = self._host.acquire(self)
        self._households: dict[str, _Household] = {}
        self._summaries: dict[str, _Summary] = {}
        self._by_kind: dict[str, list[ScreeningRule]] = {}
        for rule in screening.rules:
            for kind in rule.kinds:
                self._by_kind.setdefault(kind, []).append(rule)
        self._longest = {
            rule.name: max(v.value for v in screening.parameters[rule.window].values) for rule in screening.rules
        }
        self._memo: dict[tuple[str, int], int | None] = {}
        self._starts: dict[tuple[int, int], int] = {}
        self.clock: int | None = None  # the latest event day seen (ordinal)
        self._swept_quarter: tuple[int, int] | None = None
        self.cases: dict[str, Case] = {}
        self._raised: list[ScreeningWarning] = []
        self._pending: tuple[str, DepartmentEvent, int, list[tuple[int, int, str, str]], int] | None = None
        self.posted = 0
        self.late = 0
        self.undetermined = 0
        self.warnings_by: Counter[tuple[str, str, str | None]] = Counter()  # (YYYY-MM, department, township)
        self.overdue_total = 0
        self._closed = False

    # -----------------------------------------------------------------------------------------
    # events in

    def post(self, event: DepartmentEvent) -> list[ScreeningWarning]:
        """Screen one event; the warnings it raised (each has opened a case)."""
        if self._closed:
            raise UsageError("the stream is closed")
        day = event.date.toordinal()
        if self.clock is None or day > self.clock:
            self._advance(day)
        assert self.clock is not None
        if day <= self.clock - self.lateness:
            self.late += 1
            return []
        summary = self._summaries.get(event.household)
        if summary is None:
            summary = self._summaries[event.household] = _Summary(day, event.township)
        else:
            summary.latest = max(summary.latest, day)
            if event.township is not None:
                summary.township = event.township
        if event.kind == "income_record":
            if event.amount is not None and (summary.income_day is None or day >= summary.income_day):
                summary.income_day, summary.income = day, fen(event.amount)
            rules = [r for r in self.screening.rules if event.household in self._households]
        else:
            rules = self._by_kind.get(event.kind, [])
        self._raised = []
        for rule in rules:
            self._screen(rule, event, summary)
        return self._raised

    def post_many(self, events: Iterable[DepartmentEvent]) -> list[ScreeningWarning]:
        """Screen events in order; every warning raised."""
        raised: list[ScreeningWarning] = []
        for event in events:
            raised += self.post(event)
        return raised

    def _parameter(self, name: str, day: int) -> int | None:
        # Memoised by day: the lookup is on the path of every event, and a stream spans few days.
        key = (name, day)
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = self.screening.parameter(name, date.fromordinal(day))
            return value

    def _window_start(self, day: int, months: int) -> int:
        key = (day, -months - 1)  # months as a negative key, apart from parameters' names
        try:
            return self._starts[key]
        except KeyError:
            start = self._starts[key] = add_months(date.fromordinal(day), -months).toordinal()
            return start

    def _scaled(self, rule: ScreeningRule, total: int, income: int | None, day: int) -> tuple[int, int] | None:
        """(lhs, rhs): whole numbers whose comparison is the rule's; None when the figure to compare with is unknown."""
        if rule.percent_of_income is not None:
            if income is None:
                return None
            percent = self._parameter(rule.percent_of_income, day)
            return (total * 100, income * percent) if percent is not None else None
        assert rule.threshold is not None
        threshold = self._parameter(rule.threshold, day)
        if threshold is None:
            return None
        return (total, threshold if rule.aggregate == "count" else threshold * 100)

    def _screen(self, rule: ScreeningRule, event: DepartmentEvent, summary: _Summary) -> None:
        day = event.date.toordinal()
        household = self._households.get(event.household)
        if rule.departments is not None and event.department not in rule.departments and event.kind != "income_record":
            return
        counted = _counted(rule, event)
        if counted is None and event.kind != "income_record":
            return
        if household is None:
            household = self._households[event.household] = _Household({}, {})
        window = household.windows.setdefault(rule.name, [])
        if event.kind != "income_record" and counted is not None:
            insort(window, (day, counted, event.department, event.kind))
        latest = summary.latest
        months = self._parameter(rule.window, latest)
        if months is None:  # no window in force yet: the events wait, as the reference keeps them
            return
        start = max(self._window_start(latest, months), household.last_warning.get(rule.name, 0))
        cut = 0
        while cut < len(window) and window[cut][0] <= start:
            cut += 1
        del window[:cut]
        if not window:
            return
        total = sum(item[1] for item in window)
        scaled = self._scaled(rule, total, summary.income, latest)
        if scaled is None:
            self.undetermined += 1
            return
        self._pending = (event.household, event, latest, window, total)
        self.posted += 1
        try:
            self._host.host.post(
                self._host.name,
                {
                    "sid": self.sid,
                    "t": "observation",
                    "rule": rule.name,
                    "hh": event.household,
                    "lhs": scaled[0],
                    "rhs": scaled[1],
                },
            )
        except self._host.engine.MessageNotHandledException:
            pass
        finally:
            self._pending = None

    def on_warning(self, message: Mapping[str, Any]) -> None:
        """durable-rules' action for a screening rule that held: raise the warning, open its case."""
        assert self._pending is not None
        household_id, event, latest, window, total = self._pending
        rule = next(r for r in self.screening.rules if r.name == message["rule"])
        summary = self._summaries[household_id]
        day = date.fromordinal(latest)
        scaled = self._scaled(rule, total, summary.income, latest)
        compared = None if scaled is None else (scaled[1] // 100 if rule.aggregate != "count" else scaled[1])
        warning = ScreeningWarning(
            household=household_id,
            township=summary.township,
            rule=rule.name,
            day=day,
            department=event.department,
            reason=rule.reason,
            aggregate=total,
            compared_with=compared,
            causes=tuple(Cause(date.fromordinal(d), dept, kind, amount) for d, amount, dept, kind in window),
        )
        self._raised.append(warning)
        self._households[household_id].last_warning[rule.name] = latest
        window.clear()
        self.warnings_by[(day.strftime("%Y-%m"), event.department, summary.township)] += 1
        self._open_case(warning)

    # -----------------------------------------------------------------------------------------
    # cases and deadlines

    def _open_case(self, warning: ScreeningWarning) -> None:
        days = self.screening.parameter(self.screening.deadline, warning.day)
        if days is None:
            raise UsageError(f"{self.screening.deadline}: no deadline in force on {warning.day.isoformat()}")
        case = Case(
            f"{warning.household}/{warning.rule}/{warning.day.isoformat()}",
            warning,
            warning.day,
            add_working_days(warning.day, days),
        )
        self.cases[case.id] = case
        self._host.host.assert_fact(self._host.name, self._case_fact(case))

    def _case_fact(self, case: Case) -> dict[str, Any]:
        return {"sid": self.sid, "t": "case", "case": case.id, "due": case.due.toordinal()}

    def on_overdue(self, case_id: str, today: int) -> None:
        """durable-rules' action for a case whose deadline the clock has passed."""
        case = self.cases.get(case_id)
        if case is not None and case.decided is None and case.overdue_since is None:
            case.overdue_since = date.fromordinal(today)
            self.overdue_total += 1

    def _advance(self, day: int) -> None:
        """Move the clock to ``day``: the clock fact for the overdue rule, and the quarterly sweep of closed windows."""
        old = self.clock
        self.clock = day
        name = self._host.name
        if old is not None:
            self._host.host.retract_fact(name, {"sid": self.sid, "t": "clock", "today": old})
        self._host.host.assert_fact(name, {"sid": self.sid, "t": "clock", "today": day})
        today = date.fromordinal(day)
        # Swept once a quarter: a sweep walks every household, and a county's stream has 10⁵ of them, so a
        # monthly one cost a third of the stream's time; the state it leaves is at most two months longer.
        quarter = (today.year, (today.month - 1) // SWEEP_MONTHS)
        if self._swept_quarter != quarter:
            self._swept_quarter = quarter
            self._sweep(today)

    def advance_to(self, day: date) -> None:
        """Move the clock to ``day`` without an event (a report's day): cases past their deadline become overdue."""
        if self.clock is None or day.toordinal() > self.clock:
            self._advance(day.toordinal())

    def _sweep(self, today: date) -> None:
        """Drop the window events no later event can bring back, and households left with no window.

        A later event of a household is dated after the lateness mark, and its evaluation day is no earlier
        than the household's latest day: so no later window reaches back past the longest window before the
        later of the two, and what lies before it can go.
        """
        marked = (today - timedelta(days=self.lateness)).toordinal()
        summaries = self._summaries
        for household_id, household in list(self._households.items()):
            windows = household.windows
            base = max(summaries[household_id].latest, marked)
            for rule_name, window in list(windows.items()):
                start = self._window_start(base, self._longest[rule_name])
                if window and window[0][0] > start:
                    continue
                cut = 0
                while cut < len(window) and window[cut][0] <= start:
                    cut += 1
                del window[:cut]
                if not window:
                    del windows[rule_name]
            if not windows and all(day <= marked for day in household.last_warning.values()):
                del self._households[household_id]

    def verify(
        self,
        case_id: str,
        facts: FactModel,
        ruleset: Ruleset,
        *,
        as_of: date,
        log: DecisionLog | None = None,
    ) -> Decision:
        """Enter a case's verification facts: the plan's monitoring decision through the povrules engine, its
        record appended to ``log``; the case is closed. Raises :class:`~povrules.errors.UnknownName` for a case
        there is none of (or one already decided) and :class:`UsageError` for a ruleset not the screening's."""
        case = self.cases.get(case_id)
        if case is None or case.decided is not None:
            raise UnknownName("open case", case_id, [c.id for c in self.cases.values() if c.decided is None][:10])
        if ruleset.id != self.screening.ruleset:
            raise UsageError(f"case {case_id} is decided under ruleset {self.screening.ruleset!r}, not {ruleset.id!r}")
        decision = evaluate(facts, ruleset, self.screening.decision, as_of=as_of)
        if log is not None:
            log.append(make_record(decision))
        case.decided, case.decision = as_of, decision
        if case.overdue_since is None:
            self._host.host.retract_fact(self._host.name, self._case_fact(case))
        del self.cases[case_id]
        return decision

    # -----------------------------------------------------------------------------------------
    # reports

    def report(self, month: str | None = None) -> dict[str, Any]:
        """月比对: warnings per department and per township in ``month`` (YYYY-MM; the clock's month by
        default), and the open and overdue cases as of the clock."""
        if month is None:
            month = date.fromordinal(self.clock).strftime("%Y-%m") if self.clock is not None else ""
        departments: Counter[str] = Counter()
        townships: Counter[str] = Counter()
        for (in_month, department, township), count in self.warnings_by.items():
            if in_month == month:
                departments[department] += count
                townships[township or "(unknown)"] += count
        open_cases = [c for c in self.cases.values() if c.decided is None]
        overdue = [c for c in open_cases if c.overdue_since is not None]
        return {
            "month": month,
            "as_of": date.fromordinal(self.clock).isoformat() if self.clock is not None else None,
            "warnings": sum(departments.values()),
            "by_department": dict(sorted(departments.items())),
            "by_township": dict(sorted(townships.items())),
            "open_cases": len(open_cases),
            "overdue_cases": sorted(c.id for c in overdue),
        }

    def working_days_open(self, case_id: str) -> int:
        """Working days a case has run, from its warning to the clock (the warning's day not counted)."""
        case = self.cases[case_id]
        assert self.clock is not None
        return working_days_between(case.opened, date.fromordinal(self.clock))

    def live_households(self) -> int:
        """Households whose windows hold events now (the state the stream keeps beyond one summary each)."""
        return len(self._households)

    def close(self) -> None:
        """Retract the stream's facts (its clock, its cases' deadlines) and give its session back for reuse."""
        if not self._closed:
            self._closed = True
            name = self._host.name
            for case in self.cases.values():
                if case.overdue_since is None and case.decided is None:
                    self._host.host.retract_fact(name, self._case_fact(case))
            if self.clock is not None:
                self._host.host.retract_fact(name, {"sid": self.sid, "t": "clock", "today": self.clock})
            self._host.release(self.sid)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _counted(rule: ScreeningRule, event: DepartmentEvent) -> int | None:
    """What an event adds to a rule's aggregate (fen, or 1 for a count); None when it adds nothing known."""
    if event.kind not in rule.kinds:
        return None
    if rule.aggregate == "count":
        return 1
    if rule.aggregate == "sum_amount":
        return fen(event.amount) if event.amount is not None else None
    if event.amount is None or event.previous_amount is None:
        return None
    return max(0, fen(event.previous_amount) - fen(event.amount))


__all__ = [
    "DEFAULT_LATENESS",
    "Case",
    "Cause",
    "ScreeningWarning",
    "WarningStream",
    "durable_definition",
    "durable_engine",
]
