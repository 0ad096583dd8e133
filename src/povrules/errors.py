"""The errors povrules raises.

Every error says *where* (a field path, or ``file:line:col``) and *what was
expected*, so that an app can show it to the person who can fix the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs


class PovrulesError(Exception):
    """Base class of every error povrules raises on purpose."""


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


class EvaluationError(PovrulesError):
    """An evaluation cannot proceed: unknown decision, parameter not in force on the date."""


class JurisdictionWarning(UserWarning):
    """A household's ``jurisdiction`` lies outside the ruleset's: rules written for one place are
    deciding a household of another. Given once per ruleset decision and household jurisdiction.

    ``place`` is the household's jurisdiction as the message shows it: a household's jurisdiction is
    personal data, so a run that redacts shows it by its keyed hash (:meth:`shown_as`).
    """

    def __init__(self, place: str, ruleset: str, jurisdiction: str | None):
        self.place, self.ruleset, self.jurisdiction = place, ruleset, jurisdiction
        super().__init__(f"households of jurisdiction {place!r} are decided under ruleset {ruleset!r}, "
                         f"whose jurisdiction is {jurisdiction!r}")

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
