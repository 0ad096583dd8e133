"""The errors povrules raises.

Every error says *where* (a field path, or ``file:line:col``) and *what was
expected*, so that an app can show it to the person who can fix the input.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import attrs


class PovrulesError(Exception):
    """Base class of every error povrules raises on purpose."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the one of ``choices`` closest to ``word``, if one is close; else None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


@attrs.frozen
class Location:
    """A position in a ruleset file: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class RulesetError(PovrulesError):
    """A ruleset failed to load: bad YAML, unknown name, type mismatch, unsafe text."""

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        text = f"{location}: {message}" if location else message
        if hint:
            text += f" ({hint})"
        super().__init__(text)


@attrs.frozen
class FactProblem:
    """One thing wrong with household facts: where, what was expected, what was given."""

    path: str
    expected: str
    given: str | None = None

    def __str__(self) -> str:
        given = f", got {self.given}" if self.given is not None else ""
        return f"{self.path}: expected {self.expected}{given}"


class FactsError(PovrulesError):
    """A subject's facts (a household's, a village's, a county's) failed validation; nothing is
    evaluated from them."""

    def __init__(self, problems: Sequence[FactProblem], source: str | None = None, subject: str = "household"):
        self.problems = tuple(problems)
        self.source = source
        self.subject = subject
        head = f"{source}: " if source else ""
        lines = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{head}invalid {subject} facts: {lines}")


class UsageError(PovrulesError, ValueError):
    """A call a function cannot take: an argument outside its choices or range, or an object used in a
    state that does not allow it (a table already committed). A ``ValueError`` too, as these were."""


class ArgumentTypeError(UsageError, TypeError):
    """An argument of a type the function does not take (a datetime for a day, a dict for a Ruleset).
    A ``TypeError`` too, as these were."""


class UnknownName(UsageError, KeyError):
    """A name that is not among those it must come from: ``kind`` says what it names (``decision``,
    ``parameter``, ``subject``, ``format`` …), ``name`` the name given, ``known`` the names
    there are. The message names them, with a did-you-mean for a close one. A ``KeyError`` too, as a
    dictionary lookup of the name was; shown as its message, not quoted as a ``KeyError`` is."""

    def __init__(
        self, kind: str, name: object, known: Iterable[str], where: str | None = None, hint: str | None = None
    ):
        self.kind, self.name, self.known, self.where = kind, name, tuple(known), where
        if hint is None:
            hint = (
                did_you_mean(name, self.known) if isinstance(name, str) else None
            ) or f"{_plural(kind)}: {', '.join(self.known) or '(none)'}"
        place = f"{where} has no {kind} {name!r}" if where else f"unknown {kind} {name!r}"
        self.message = f"{place} ({hint})"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:  # pickled with its fields, not its message
        return (_rebuild, (type(self), self.__dict__, self.args))


class UnknownSubject(UnknownName):
    """A kind of subject facts are not kept for (subjects: ``household``, ``village``, ``county``)."""

    def __init__(self, subject: object, known: Iterable[str]):
        super().__init__("subject", subject, known)


class UnknownHousehold(UnknownName):
    """A household (or other subject) id not among those a result holds; ``where`` names the result."""

    def __init__(self, name: object, where: str):
        super().__init__("household", name, (), where, "no subject of that id was compared")


class RowOutOfRange(UsageError, IndexError):
    """A row index outside a frame's rows. An ``IndexError`` too, as it was."""


class DateError(UsageError):
    """Text that is not a date written ``YYYY-MM-DD``."""


class EvaluationError(PovrulesError):
    """An evaluation cannot proceed: unknown decision, parameter not in force on the date, a rule whose
    condition cannot be computed (a division by zero, a date outside the calendar).

    ``rule`` and ``decision`` name the rule being evaluated and its decision when the error arose in
    one (both in the message too); None otherwise.
    """

    def __init__(self, message: str, *, rule: str | None = None, decision: str | None = None):
        self.message, self.rule, self.decision = message, rule, decision
        if rule is not None:
            of = f" of decision {decision!r}" if decision is not None else ""
            message = f"rule {rule!r}{of}: {message}"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled with its fields, not its message
        return (_rebuild, (type(self), self.__dict__, self.args))

    def at_rule(self, rule: str, decision: str | None) -> EvaluationError:
        """This error as raised while evaluating ``rule`` of ``decision``: a new :class:`EvaluationError`
        naming them, or this one if it already names a rule."""
        if self.rule is not None:
            return self
        # A subclass that keeps the base's constructor (CalendarError) stays itself, so that callers can
        # still catch it by its class.
        cls = type(self) if type(self).__init__ is EvaluationError.__init__ else EvaluationError
        return cls(self.message, rule=rule, decision=decision)


class UnknownDecision(EvaluationError, UnknownName):
    """A decision the ruleset does not hold."""

    def __init__(self, name: object, known: Iterable[str], ruleset: str):
        self.rule = self.decision = None
        UnknownName.__init__(self, "decision", name, known, f"ruleset {ruleset!r}")


class UnknownParameter(EvaluationError, UnknownName):
    """A parameter the ruleset does not hold."""

    def __init__(self, name: object, known: Iterable[str], ruleset: str, hint: str | None = None):
        self.rule = self.decision = None
        UnknownName.__init__(self, "parameter", name, known, f"ruleset {ruleset!r}", hint)


def _plural(kind: str) -> str:
    return kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


def _rebuild(cls: type[BaseException], fields: dict[str, Any], args: tuple[Any, ...]) -> BaseException:
    """An error unpickled from its fields (errors whose constructor is not ``(message,)``)."""
    error = cls.__new__(cls)
    error.__dict__.update(fields)
    error.args = args
    return error


class JurisdictionWarning(UserWarning):
    """A household's ``jurisdiction`` lies outside the ruleset's: rules written for one place are
    deciding a household of another. Given once per ruleset decision and household jurisdiction.

    ``place`` is the household's jurisdiction as the message shows it: a household's jurisdiction is
    personal data, so a run that redacts shows it by its keyed hash (:meth:`shown_as`).
    """

    def __init__(self, place: str, ruleset: str, jurisdiction: str | None):
        self.place, self.ruleset, self.jurisdiction = place, ruleset, jurisdiction
        super().__init__(
            f"households of jurisdiction {place!r} are decided under ruleset {ruleset!r}, "
            f"whose jurisdiction is {jurisdiction!r}"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # pickled with its fields, not its message
        return (type(self), (self.place, self.ruleset, self.jurisdiction))

    def shown_as(self, place: str) -> JurisdictionWarning:
        """The same warning, with the household's jurisdiction shown as ``place``."""
        return JurisdictionWarning(place, self.ruleset, self.jurisdiction)


class CaseloadError(PovrulesError):
    """A caseload file cannot be read, or a decision table cannot be written.

    ``where`` is the place to fix: ``file:line`` (JSON Lines, CSV), ``file:sheet!row``
    or ``file:sheet!cell`` (Excel), ``file:row N`` (Parquet), ``file:line:column`` (a
    mapping file), or the file alone.
    """

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class LanguageError(PovrulesError, ValueError):
    """A language argument other than ``"zh"`` (Chinese) or ``"en"`` (English).

    Also a ``ValueError``, as unknown languages were before this class.
    """

    def __init__(self, lang: object):
        self.lang = lang
        super().__init__(f"unknown language {lang!r}: expected one of 'zh', 'en'")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.lang,))
