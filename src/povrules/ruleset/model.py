"""What a loaded ruleset is made of. All types are immutable.

A ruleset holds sources, dated parameters, derived facts, rules and decision
specifications. Loading checks every expression against the fact schema and
compiles it once; evaluating never re-reads text.

A ruleset's variants (``with_parameter`` …), its rebuilding when unpickled and its HTML view
are done by modules above this one (the variant module, the loader, the HTML view), through
the hooks at the end of this module (see :mod:`povrules.hooks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from povrules.errors import ArgumentTypeError, Location, UnknownDecision
from povrules.facts import SUBJECTS, FactModel
from povrules.hooks import Hook, View
from povrules.lang import ast
from povrules.lang.types import Type
from povrules.wording import check_lang

if TYPE_CHECKING:
    from povrules.lang.compiler import Fn


def read_only(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """A read-only view of a copy of ``mapping``: what a loaded ruleset's sections are.

    Assigning to it (``ruleset.parameters[name] = …``) raises ``TypeError``, so a ruleset's answers
    cannot drift from its digest. A ruleset pickles by its definition, never by these views.
    """
    if isinstance(mapping, MappingProxyType):
        return mapping
    return MappingProxyType(dict(mapping))


@attrs.frozen
class Text:
    """A label in Chinese and English."""

    zh: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.zh if check_lang(lang) == "zh" else self.en


class DeclaredFacts(Protocol):
    """The facts a ruleset declares in its ``facts:`` section (:class:`povrules.ruleset.local_facts.LocalFacts`):
    what evaluating and the JSON Schema need of them."""

    def check(self, facts: Any) -> Any:
        """The subject's facts with their declared facts checked (raises ``FactsError``) and read."""
        ...

    def schema(self) -> dict[str, dict[str, Any]]:
        """The JSON Schema of the ``local`` object of each model, by the model's name."""
        ...

    def citations(self) -> Mapping[str, Citation]:
        """The citation of each declared fact that has one, by the fact's name."""
        ...


@attrs.frozen
class Source:
    """A policy document a ruleset cites."""

    key: str
    file: str
    title: str


def file_lines(file: str, line: int, end_line: int | None = None) -> str:
    """``002.txt:293``, or ``002.txt:293-295`` for several lines: how every view and error writes the place
    of lines in a file (citations of rulesets, traces' ``cite`` entries, policy test cases)."""
    return f"{file}:{line}" if end_line in (None, line) else f"{file}:{line}-{end_line}"


@attrs.frozen
class Citation:
    """Where a rule or a parameter value comes from: file, lines, and the quoted clause."""

    file: str
    line: int
    end_line: int
    quote: str
    # Where the ``cite`` is written in the ruleset, for messages; not part of what is cited.
    location: Location | None = attrs.field(default=None, eq=False, repr=False)

    def where(self) -> str:
        """``file:line`` or ``file:line-end_line``: the lines cited (see :func:`file_lines`)."""
        return file_lines(self.file, self.line, self.end_line)

    def __str__(self) -> str:
        return self.where()


@attrs.frozen
class ParameterValue:
    """One dated value: in force from ``start`` until the next value's start, or to ``end`` (inclusive)
    when the text gives it a term (a figure for one year only); after ``end`` and before the next
    value, the parameter has no value."""

    start: date
    value: Any
    citation: Citation | None
    note: Text | None = None
    end: date | None = None


@attrs.frozen
class Parameter:
    name: str
    title: Text
    unit: str | None
    type: Type
    values: tuple[ParameterValue, ...]
    note: Text | None
    location: Location

    def at(self, day: date) -> ParameterValue | None:
        """The value in force on ``day``, or None before the first one and after a value's ``end``
        that no later value follows yet."""
        found = None
        for value in self.values:
            if value.start <= day:
                found = value
        if found is not None and found.end is not None and day > found.end:
            return None
        return found


@attrs.frozen
class Requirement:
    """What a text requires of the inputs of a derived figure (``requires:``): when ``expr`` is false
    for a subject, the figure is refused (not computed), and what reads it is unknown, naming
    ``marker`` among its missing facts."""

    expr: ast.Expr
    citation: Citation | None
    note: Text | None
    marker: str  # e.g. "income_per_capita.requires[0]": how the refusal is named among missing facts


@attrs.frozen
class Derived:
    """A named expression over facts (e.g. ``has_public_official``)."""

    name: str
    title: Text
    expr: ast.Expr
    location: Location
    requires: tuple[Requirement, ...] = ()


Strength = Literal["hard", "default"]


@attrs.frozen
class Rule:
    """A condition with what follows when it holds, and the clause it encodes."""

    id: str
    title: Text
    when: ast.Expr
    strength: Strength
    outcome: str | None
    level: int
    citation: Citation | None
    valid_from: date | None
    valid_to: date | None
    note: Text | None
    override_by: tuple[str, ...]
    parameters: tuple[str, ...]
    location: Location
    # Parameters the rule reads only through at(p.<name>, <date>): no value is needed on the evaluation date.
    dated_parameters: tuple[str, ...] = ()
    # A row of an amount decision: the number it gives when ``when`` holds (None for every other rule).
    amount: ast.Expr | None = None

    def in_force(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


# The outcomes the engine gives besides those a ruleset names: when it cannot settle (unknown facts, a
# default-strength exception not yet deliberated, exceptions that disagree), and a ranking's placed item.
UNSETTLED = ("undetermined", "needs_deliberation", "conflict")
RANKED = "ranked"

DecisionKind = Literal["eligibility", "table", "ranking", "amount"]
HitPolicy = Literal["UNIQUE", "FIRST", "PRIORITY", "COLLECT", "SUM"]
# The outcomes of an amount decision besides undetermined: some row gave an amount; none did; its gate said no.
GRANTED, NO_AMOUNT, NOT_ELIGIBLE = "granted", "none", "not_eligible"
AMOUNT_OUTCOMES = (GRANTED, NO_AMOUNT, NOT_ELIGIBLE)
Period = Literal["month", "semester", "year", "once", "none"]
PERIODS: tuple[str, ...] = ("month", "semester", "year", "once", "none")
RoundingMode = Literal["half_up", "down", "up", "half_even"]


@attrs.frozen
class TieBreak:
    expr: ast.Expr
    descending: bool


@attrs.frozen
class Per:
    """What an amount decision answers for one by one: each element of a list of the subject's facts
    (``m in hh.members``, ``l in hh.loans``); rows name the element by ``var``."""

    var: str
    source: ast.Expr  # the list, checked (its type is a list of records)
    path: str  # the list's path as traces write it, e.g. "hh.members"


@attrs.frozen
class Rounding:
    """How an amount is rounded, where a text says so: to ``places`` decimal places (negative: to tens,
    hundreds …), by ``mode``, citing the clause that says it."""

    places: int
    mode: RoundingMode
    citation: Citation | None = None


@attrs.frozen
class AmountSpec:
    """The parts of an ``amount`` decision besides its rows: the unit and period of the figure, what it is
    answered per, the decision that gates it, and the limits and rounding applied to each answer."""

    unit: str
    period: Period = "none"
    per: Per | None = None
    gate_decision: str | None = None
    gate_outcomes: tuple[str, ...] = ()
    cap: ast.Expr | None = None
    floor: ast.Expr | None = None
    rounding: Rounding | None = None


@attrs.frozen
class TransitionSpec:
    """How a decision moves a household's monitoring status: the statuses it applies to, and the
    (status, monitoring type) each outcome leads to. Outcomes not listed leave the status as it is."""

    applies_to: tuple[str, ...]
    on: Mapping[str, tuple[str, str | None]] = attrs.field(converter=read_only)
    location: Location | None = None


@attrs.frozen
class DecisionSpec:
    """How rules combine into the answer to one question.

    * ``eligibility``: the ``criteria`` must all hold for ``yes``; ``exceptions``
      defeat that (a hard one decides, a default one awaits deliberation).
    * ``table``: ``rows`` are matched and combined by a DMN ``hit_policy``.
    * ``ranking``: households for which ``among`` holds are ordered by how many
      (``count``) or which first (``lexicographic``) ``criteria`` hold, then ``tiebreak``.
    * ``amount``: ``rows`` give a figure (each rule's ``amount``) when they hold: the first that holds
      (``FIRST``: bands) or the sum of all that hold (``SUM``: components), per element of
      ``amount.per`` if given, limited by ``amount.cap`` and ``amount.floor``, gated by another decision.
    """

    name: str
    title: Text
    kind: DecisionKind
    criteria: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    yes: str = "yes"
    no: str = "no"
    hit_policy: HitPolicy = "UNIQUE"
    rows: tuple[str, ...] = ()
    default: str = "none"
    priority: tuple[str, ...] = ()
    among_decision: str | None = None
    among_outcomes: tuple[str, ...] = ()
    order: Literal["count", "lexicographic"] = "count"
    tiebreak: tuple[TieBreak, ...] = ()
    labels: Mapping[str, Text] = attrs.field(factory=dict, converter=read_only)
    transition: TransitionSpec | None = None
    location: Location | None = None
    amount: AmountSpec | None = None  # for an amount decision

    def label(self, outcome: str, lang: str) -> str:
        """An outcome in words, if the ruleset gave it a title (else the outcome as it is).

        Raises:
            LanguageError: for a language other than ``"zh"`` or ``"en"``.
        """
        check_lang(lang)
        text = self.labels.get(outcome)
        return text(lang) if text else outcome

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return self.criteria + self.exceptions + self.rows


@attrs.frozen
class LoadWarning:
    """Something a ruleset loads with but its author should look at: a parameter no rule reads."""

    message: str
    location: Location

    def __str__(self) -> str:
        return f"{self.location}: warning: {self.message}"


@attrs.frozen
class Program:
    """The compiled closures of a ruleset, in one flavour (traced or not)."""

    rules: Mapping[str, Fn] = attrs.field(converter=read_only)
    tiebreaks: Mapping[str, tuple[Fn, ...]] = attrs.field(converter=read_only)
    # Amount decisions: each row's figure (by rule id); each decision's list to answer per, cap and floor.
    amounts: Mapping[str, Fn] = attrs.field(factory=dict, converter=read_only)
    per: Mapping[str, Fn] = attrs.field(factory=dict, converter=read_only)
    caps: Mapping[str, Fn] = attrs.field(factory=dict, converter=read_only)
    floors: Mapping[str, Fn] = attrs.field(factory=dict, converter=read_only)


@attrs.frozen(eq=False)
class Ruleset:
    """A loaded, checked and compiled ruleset. Immutable; safe to share between threads."""

    id: str
    version: str
    title: Text
    jurisdiction: str | None
    subject: str
    # Read-only views (see :func:`read_only`): a loaded ruleset never changes, so its digest names its answers.
    sources: Mapping[str, Source] = attrs.field(converter=read_only)
    parameters: Mapping[str, Parameter] = attrs.field(converter=read_only)
    derived: Mapping[str, Derived] = attrs.field(converter=read_only)
    rules: Mapping[str, Rule] = attrs.field(converter=read_only)
    decisions: Mapping[str, DecisionSpec] = attrs.field(converter=read_only)
    digest: str
    files: tuple[str, ...]
    traced: Program
    plain: Program
    warnings: tuple[LoadWarning, ...] = ()  # found when loading; `povrules check` and `lint` print them
    # Memos filled on first use; a race between threads only computes the same entry twice.
    _as_of_cache: dict[date, tuple[Mapping[str, ParameterValue], Mapping[str, Any], bool]] = attrs.field(
        factory=dict, repr=False
    )
    _plans: dict[bool, dict[str, Any]] = attrs.field(factory=lambda: {True: {}, False: {}}, repr=False)  # by traced
    # What variants are built from, so that making one rereads no file: the resolved definition
    # (located YAML values) and the lines of the files it came from.
    definition: Any = attrs.field(default=None, repr=False)
    lines: Mapping[str, list[str]] = attrs.field(factory=dict, repr=False, converter=read_only)
    base: Ruleset | None = attrs.field(default=None, repr=False)  # for a variant: the ruleset it was made from
    variant: Text | None = None  # for a variant: what it changes, in words
    local_facts: DeclaredFacts | None = attrs.field(default=None, repr=False)  # its facts: section (None: none)

    @property
    def facts_type(self) -> type[FactModel]:
        """The model of the facts this ruleset decides on (``Household``, ``Village``, ``County``)."""
        return SUBJECTS[self.subject].model

    @property
    def root(self) -> str:
        """What conditions call the subject's facts (``hh``, ``village``, ``county``)."""
        return SUBJECTS[self.subject].root

    def in_force(self, day: date) -> tuple[Mapping[str, ParameterValue], Mapping[str, Any], bool]:
        """The parameters in force on ``day``: dated values, bare values (what conditions read),
        and whether every parameter has one. Memoised per date, so both mappings are read-only."""
        cached = self._as_of_cache.get(day)
        if cached is None:
            dated = {}
            for name, parameter in self.parameters.items():
                value = parameter.at(day)
                if value is not None:
                    dated[name] = value
            cached = (
                MappingProxyType(dated),
                MappingProxyType({name: pv.value for name, pv in dated.items()}),
                len(dated) == len(self.parameters),
            )
            if len(self._as_of_cache) > 4096:  # bound the memo for long-running services
                self._as_of_cache.clear()
            self._as_of_cache[day] = cached
        return cached

    def parameters_as_of(self, day: date) -> Mapping[str, ParameterValue]:
        """Every parameter's dated value in force on ``day`` (parameters with none are left out)."""
        return self.in_force(day)[0]

    def values_as_of(self, day: date) -> Mapping[str, Any]:
        """Every parameter's bare value in force on ``day``: what conditions read."""
        return self.in_force(day)[1]

    def requirement(self, marker: str) -> tuple[Derived, int, Requirement] | None:
        """The requirement a missing-facts entry names when it is a refusal (``income.requires[0]``):
        the derived figure, the requirement's index and the requirement; None for a fact path."""
        name, dot, rest = marker.rpartition(".requires[")
        if not dot or not rest.endswith("]") or not rest[:-1].isdigit():
            return None
        derived = self.derived.get(name)
        index = int(rest[:-1])
        if derived is None or index >= len(derived.requires):
            return None
        return derived, index, derived.requires[index]

    def decision(self, name: str) -> DecisionSpec:
        """The decision named ``name``.

        Raises :class:`~povrules.errors.UnknownDecision` (a ``KeyError`` and an :class:`EvaluationError`)
        naming the decisions there are, for any other name.
        """
        try:
            return self.decisions[name]
        except KeyError:
            raise UnknownDecision(name, self.decisions, self.id) from None

    # Variants: the same ruleset with a change, checked whole, for what-if comparisons.

    def with_parameter(self, name: str, value: Any, *, from_: date | None = None, note: str | None = None) -> Ruleset:
        """A variant in which parameter ``name`` is ``value`` from ``from_`` on (values it had before that date
        are kept); without ``from_``, throughout.

        Raises :class:`~povrules.errors.ArgumentTypeError` for an argument of the wrong type and
        :class:`~povrules.RulesetError` for a change that leaves the ruleset inconsistent (an unknown
        parameter given without its values, a value of another type).
        """
        return WITH_PARAMETER(self, name, value, from_, note)

    def with_rule(self, rule_id: str, *, add_to: tuple[str, str] | None = None, **fields: Any) -> Ruleset:
        """A variant in which rule ``rule_id`` has the given fields (ruleset syntax: ``when``, ``title``,
        ``outcome`` …), or is a new rule; a new rule names where it goes: ``add_to=(decision, role)``,
        role ``criteria``, ``exceptions`` or ``rows``.

        Raises :class:`~povrules.errors.ArgumentTypeError` for an argument of the wrong type and
        :class:`~povrules.RulesetError` for a rule the ruleset cannot hold.
        """
        return WITH_RULE(self, rule_id, add_to, fields)

    def without_rule(self, rule_id: str) -> Ruleset:
        """A variant without rule ``rule_id``, taken out of every decision that names it.

        Raises :class:`~povrules.errors.ArgumentTypeError` for an id that is not text and
        :class:`~povrules.RulesetError` for an unknown rule or one others still need.
        """
        return WITHOUT_RULE(self, rule_id)

    def with_overlay(self, overlay: str | Path | Mapping[str, Any]) -> Ruleset:
        """A variant described by an overlay: a YAML file (or its mapping) of changes; see docs/what-if.md.

        Raises :class:`~povrules.errors.ArgumentTypeError` for anything but a mapping or a path, and
        :class:`~povrules.RulesetError` for an overlay that cannot be read or applied.
        """
        return WITH_OVERLAY(self, overlay)

    # Pickling: compiled closures cannot be pickled, so a ruleset travels as what it was built from (the
    # resolved definition and the files' lines) and is built again, by the loader's builder, when unpickled.

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the resolved definition, lines, files, digest and (for a variant) ``base`` and ``variant``.

        The memos are left behind. Raises ``TypeError`` for a ruleset not built from a definition.
        """
        if self.definition is None:
            raise ArgumentTypeError(f"ruleset {self.id!r} was not built from a definition, so it cannot be pickled")
        return (REBUILD.function, (self.definition, dict(self.lines), self.files, self.digest, self.base, self.variant))

    def html(self, lang: str | None = None) -> View:
        """The ruleset as an HTML view: its decisions, parameters and rules with their clauses; in ``lang``, else in :func:`povrules.display_language`."""
        return RULESET_HTML(self, lang)

    def _repr_html_(self) -> str:  # Jupyter's rich display
        return self.html()._repr_html_()

    def __repr__(self) -> str:
        variant = f" variant {self.variant.en!r}" if self.variant is not None else ""
        return f"<Ruleset {self.id} {self.version} {self.digest[:19]}{variant}>"


# What a ruleset offers that the modules above it provide (see povrules.hooks): variants
# (povrules.ruleset.variant), building again when unpickled (the loader) and the HTML view.
WITH_PARAMETER: Hook[[Ruleset, str, Any, date | None, str | None], Ruleset] = Hook("Ruleset.with_parameter")
WITH_RULE: Hook[[Ruleset, str, tuple[str, str] | None, Mapping[str, Any]], Ruleset] = Hook("Ruleset.with_rule")
WITHOUT_RULE: Hook[[Ruleset, str], Ruleset] = Hook("Ruleset.without_rule")
WITH_OVERLAY: Hook[[Ruleset, str | Path | Mapping[str, Any]], Ruleset] = Hook("Ruleset.with_overlay")
REBUILD: Hook[..., Ruleset] = Hook("Ruleset.__reduce__")
RULESET_HTML: Hook[[Ruleset, str | None], View] = Hook("Ruleset.html")
