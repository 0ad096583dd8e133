"""Evaluation: rules → items with three-valued results → one answer.

Every decision kind reduces to the same step. Each rule the decision names
is evaluated to true, false or unknown; a *combination function* turns a
true/false assignment of those items into a label (eligibility: base
criteria plus defeasible exceptions; tables: a DMN hit policy). When some
items are unknown, :func:`_settle` tries every completion: if all give the
same verdict the answer is determined, otherwise it is ``undetermined`` and
the missing facts listed are those of the items whose value could change it.

The hot path records only tuples (rule, value, leaves); rule statuses and
reasons are worked out when someone reads them.

:class:`Plan` is the public seam: :func:`plan` gives the prepared evaluation of one
decision, which :func:`evaluate`, :func:`evaluate_many`, :func:`evaluate_iter`,
:func:`rank` and :mod:`povrules.compare` all run. It can also evaluate a subject's
rules without combining them (:meth:`Plan.rule_values`) and combine rule values
obtained elsewhere (:meth:`Plan.combine`), which is what a what-if comparison needs.

This module imports nothing above it: a decision's trace document, explanation and HTML
view are made by the trace, text and HTML layers, which fill the hooks :data:`TRACE`,
:data:`EXPLAIN`, :data:`HTML_VIEW` and :data:`EXPLAIN_RANKING` (see :mod:`povrules.hooks`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from itertools import product
from typing import Any

import attrs

from povrules.canonical import canonical_json
from povrules.errors import ArgumentTypeError, EvaluationError, JurisdictionWarning, UsageError
from povrules.facts import FactModel, Household, Override, recorded_overrides, subject_id
from povrules.hooks import Hook, View
from povrules.lang.ast import parameter_reads
from povrules.lang.compiler import Env, Fn, Leaf, Mark, Unknown
from povrules.ruleset.model import (
    GRANTED,
    NO_AMOUNT,
    NOT_ELIGIBLE,
    DecisionSpec,
    ParameterValue,
    Rounding,
    Rule,
    Ruleset,
)

_REDACTED = re.compile(r"hmac-sha256:[0-9a-f]{64}")  # a value redacted by its keyed hash (povrules.audit)

UNDETERMINED = "undetermined"
NEEDS_DELIBERATION = "needs_deliberation"
CONFLICT = "conflict"
# The effects a default-strength exception can have (see :meth:`Plan.effects`). CONTRADICTED: the
# latest records of the bodies it names, all of one date, disagree (one upheld, one set aside).
EFFECTS = ("fired", "pending", "overridden", "contradicted")
CONTRADICTED = "contradicted"
RANKED = "ranked"
NOT_EVALUATED = "not_evaluated"  # an amount row its gate kept from being evaluated
MAX_ENUMERATED = 12  # unknown items; beyond this every unknown item is reported as relevant

Value = Any  # True, False or Unknown; None for a rule not in force on the date
Raw = tuple[Rule, Value, Sequence[Leaf]]  # value None: the rule is not in force on the date
# What evaluating a plan's rules gives: each rule's value, in the plan's order, and, when
# traced, each rule's leaf records (None when not traced).
RuleValues = tuple[tuple[Value, ...], "list[list[Leaf]] | None"]


@attrs.frozen
class RuleResult:
    """One rule tried: its value, what its condition evaluated, and what became of its effect.

    ``status`` is one of: ``met``, ``not_met`` (criteria and ranking criteria);
    ``applied``, ``overridden``, ``awaiting_deliberation``, ``contradicted``, ``superseded``,
    ``not_applicable`` (exceptions); ``selected``, ``matched``, ``not_matched``
    (table and amount rows); ``not_evaluated`` (an amount's rows when its gate refused or could not
    settle); ``unknown``; ``not_in_force``. ``override`` is the recorded decision that stands
    for a default-strength exception; ``contradicting``, the records of one date that disagree
    (then ``override`` is None).
    """

    rule: Rule
    role: str
    value: Value
    events: tuple[Leaf | Mark, ...]  # as traced: leaf tuples, and the marks of the condition's structure
    status: str
    override: Override | None = None
    contradicting: tuple[Override, ...] = ()

    @property
    def leaves(self) -> tuple[Leaf, ...]:
        """The leaf conditions evaluated, in order (the structure's marks left out)."""
        return tuple(e for e in self.events if e.__class__ is tuple)


class Decision:
    """The answer to one decision for one household, with everything needed to explain it."""

    # Kept small: the common case (one label, nothing missing) stores no ``_extra``
    # tuple, and statuses and reasons are worked out only when someone reads them.
    __slots__ = (
        "_amount",
        "_effects",
        "_explained",
        "_extra",
        "_leaves",
        "_plan",
        "_values",
        "as_of",
        "facts",
        "outcome",
    )
    _explained: tuple[tuple[RuleResult, ...], tuple[str, ...]]  # set on first reading (see _explain)

    def __init__(
        self,
        plan: Plan,
        facts: FactModel,
        as_of: date,
        outcome: str,
        run: RuleValues,
        extra: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[Any, ...]] | None = None,
        effects: Mapping[str, str] | None = None,
        amount: Amount | None = None,
    ):
        self._plan = plan
        self.facts = facts  # the subject's facts: a Household, Village or County
        self.as_of = as_of
        self.outcome = outcome
        self._values, self._leaves = run
        self._extra = extra  # (labels, missing, possible, sort_key)
        # Effects of default-strength exceptions given to Plan.settle, by rule id (None: read from the facts).
        self._effects = effects
        self._amount = amount

    @property
    def amount(self) -> Amount | None:
        """An amount decision's figures: the total and each part, with how each was reached (None for
        the other kinds)."""
        return self._amount

    @property
    def plan(self) -> Plan:
        """The plan that made this decision (its ruleset, decision, rules in order, traced or not)."""
        return self._plan

    @property
    def values(self) -> tuple[Value, ...]:
        """Each rule's value, in the order of ``plan.rules``: ``True``, ``False``, an ``Unknown``
        (with the missing facts' paths), or ``None`` for a rule not in force on the date."""
        return self._values

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels given (several under a COLLECT table; the criteria met, for a ranking)."""
        return (self.outcome,) if self._extra is None else self._extra[0]

    @property
    def missing(self) -> tuple[str, ...]:
        """Paths of the missing facts that could change an undetermined outcome."""
        return () if self._extra is None else self._extra[1]

    @property
    def possible(self) -> tuple[str, ...]:
        """The outcomes an undetermined decision could still take."""
        return () if self._extra is None else self._extra[2]

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """A ranking item's place: compare keys to order households."""
        return () if self._extra is None else self._extra[3]

    @property
    def subject(self) -> FactModel:
        """The facts decided on: a ``Household``, ``Village`` or ``County``, as the ruleset's subject is."""
        return self.facts

    @property
    def household(self) -> Household:
        """An alias of :attr:`subject`, by the name most decisions know it by: a ``Village`` for a village
        ruleset (a name, not a check)."""
        return self.facts  # type: ignore[return-value]

    @property
    def facts_id(self) -> str:
        """The identifier of the facts decided on (户编号, 村编号 or 县编号)."""
        return subject_id(self.facts)

    @property
    def ruleset(self) -> Ruleset:
        return self._plan.ruleset

    @property
    def traced(self) -> bool:
        """Whether leaf conditions were recorded."""
        return self._plan.traced

    @property
    def _raw(self) -> list[Raw]:
        """(rule, value, leaves) for every rule of the decision, in its order."""
        leaves: Sequence[Sequence[Leaf]] = self._leaves or [()] * len(self._values)
        return [(rule, value, tuple(rec)) for rule, value, rec in zip(self._plan.rules, self._values, leaves)]

    @property
    def decision(self) -> str:
        """The decision's name."""
        return self._plan.spec.name

    @property
    def kind(self) -> str:
        return self._plan.spec.kind

    @property
    def parameters(self) -> Mapping[str, ParameterValue]:
        """The parameters in force on the decision's date, with the dates they took effect."""
        return self.ruleset.parameters_as_of(self.as_of)

    @property
    def determined(self) -> bool:
        return self.outcome != UNDETERMINED

    @property
    def results(self) -> tuple[RuleResult, ...]:
        """Every rule tried, in the decision's order, with its status."""
        return self._explain()[0]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Ids of the rules that decided the outcome."""
        return self._explain()[1]

    def _explain(self) -> tuple[tuple[RuleResult, ...], tuple[str, ...]]:
        try:
            return self._explained
        except AttributeError:  # first reading
            self._explained = _STATUSES[self.kind](self._plan.spec, self)
            return self._explained

    def trace(self) -> dict[str, Any]:
        """The ``povrules.trace.v2`` document of this decision (:func:`povrules.trace.to_trace`)."""
        return TRACE(self)

    def to_json(self) -> str:
        """The trace as canonical JSON (sorted keys, decimals as strings): byte-identical for the same inputs."""
        return canonical_json(self.trace())

    def explain(self, lang: str = "zh") -> str:
        """The decision as sentences a caseworker can read, in ``"zh"`` or ``"en"``."""
        return EXPLAIN(self, lang)

    def html(self, lang: str | None = None) -> View:
        """The decision as an HTML view: outcome, the decisive clause quoted, a collapsible trace; in ``lang``, else in :func:`povrules.display_language`."""
        return HTML_VIEW(self, lang)

    def _repr_html_(self) -> str:  # Jupyter's rich display
        return self.html()._repr_html_()

    def __repr__(self) -> str:
        extra = f" missing={list(self.missing)}" if self.missing else ""
        total = f" amount={self._amount.total}" if self._amount is not None else ""
        return f"<Decision {self.decision}={self.outcome} {self.ruleset.subject}={self.facts_id}{total}{extra}>"


# What a decision offers that the layers above it provide (see povrules.hooks).
TRACE: Hook[[Decision], dict[str, Any]] = Hook("Decision.trace")
EXPLAIN: Hook[[Decision, str], str] = Hook("Decision.explain")
HTML_VIEW: Hook[[Decision, str | None], View] = Hook("Decision.html")


@attrs.frozen
class Settled:
    """What a pattern of rule values combines to (see :meth:`Plan.settle`).

    ``relevant``: the indices (into :attr:`Plan.rules`) of the unknown rules whose missing facts an
    undetermined outcome names; empty when the outcome is determined. ``reasons``: the ids of the
    rules that decided the outcome, as :attr:`Decision.reasons` gives them."""

    outcome: str
    labels: tuple[str, ...]
    possible: tuple[str, ...]
    relevant: tuple[int, ...] = ()
    reasons: tuple[str, ...] = ()


# Plans: what evaluating one decision needs, prepared once per ruleset, decision and flavour.


@attrs.frozen(eq=False)
class Plan:
    """The prepared evaluation of one decision of one ruleset, traced or not: get it with :func:`plan`.

    ``rules`` are the decision's rules in its order (criteria then exceptions, or rows), and ``fns``
    their compiled closures (``Env → value``) in the same order; every ``values`` tuple the plan
    takes or gives follows that order. ``dated`` is true when some rule has a validity period, so
    that its value on a date may be ``None`` (not in force). The other fields are the engine's
    working state and not part of the API.
    """

    ruleset: Ruleset
    spec: DecisionSpec
    traced: bool
    facts_type: type[FactModel]  # the subject's model: Household, Village or County
    rules: tuple[Rule, ...]
    fns: tuple[Fn, ...]
    dated: bool
    _items: tuple[tuple[Rule, Fn], ...]  # (rule, closure) pairs, for the loops that need both
    _n_criteria: int
    _has_default: bool
    _tiebreaks: tuple[Fn, ...]
    # The label of every true/false pattern of the rules, when it depends on nothing else
    # (no validity periods, no overrides to look up): evaluation then ends in one lookup.
    _table: dict[tuple[bool, ...], str] | None
    _kind: Callable[..., Decision]  # the decision kind's combination: (plan, env[, rule values]) → Decision
    # An amount decision's closures: each row's figure (in the order of rules), the list it is answered
    # per, its cap and floor (None where it has none).
    _figures: tuple[Fn, ...] = ()
    _per: Fn | None = None
    _cap: Fn | None = None
    _floor: Fn | None = None
    # The check of the facts the ruleset declares (LocalFacts.check), None when it declares none: it
    # refuses a value of the wrong type or an undeclared name, and reads dates from their text.
    _local: Callable[[Any], Any] | None = None
    # The parameter values the plan reads, per evaluation date, once checked to be all in force.
    _bound: dict[date, Mapping[str, Any]] = attrs.field(factory=dict)
    # Household jurisdictions met so far, and whether each lies within the ruleset's (see _place).
    _places: dict[str, bool] = attrs.field(factory=dict)

    def bind(self, as_of: date) -> Mapping[str, Any]:
        """The parameter values in force on ``as_of`` (what conditions read), checked once per date and memoised.

        Raises :class:`~povrules.errors.ArgumentTypeError` (a ``TypeError``) if ``as_of`` is not a ``datetime.date`` (a datetime is refused), and
        :class:`EvaluationError` if a parameter one of the rules in force reads has no value yet on that date.
        """
        params = self._bound.get(as_of)
        return params if params is not None else _bind(self, as_of)

    def rule_values(self, facts: FactModel, as_of: date) -> RuleValues:
        """Evaluate the rules for one subject without combining them: ``(values, leaves)``.

        ``values`` holds each rule's value in the order of ``rules`` (``None`` when not in force on
        ``as_of``); ``leaves`` holds each rule's leaf records when the plan is traced, else None. For an
        amount decision answered per element, a row's value is over all elements: true if it held for one.
        Raises as :meth:`bind` does, and :class:`~povrules.errors.ArgumentTypeError` for facts of the wrong model.
        """
        params = self.bind(as_of)
        facts = self._check(facts, "rule_values")
        env = Env(facts, params, as_of, None)
        return _per_rule_values(self, env) if self._per is not None else _run(self, env)

    def combine(
        self, facts: FactModel, as_of: date, values: Sequence[Value], leaves: Sequence[Sequence[Leaf]] | None = None
    ) -> Decision:
        """Combine given rule values (in the order of ``rules``, ``None`` for a rule not in force) into a Decision.

        The rules are not run: ``values`` may come from :meth:`rule_values`, from another decision or
        from a what-if. ``facts`` are still read where the combination needs them (overrides of
        default-strength exceptions, ranking tiebreaks). ``leaves``, if given, are kept for the trace.
        Raises as :meth:`bind` does, :class:`~povrules.errors.ArgumentTypeError` for facts of the wrong model,
        :class:`EvaluationError` for an amount decision (its figures come from the facts: use :meth:`decide`),
        and :class:`UsageError` when ``values`` (or ``leaves``) do not have one entry per rule.
        """
        params = self.bind(as_of)
        facts = self._check(facts, "combine")
        if self.spec.kind == "amount":
            raise EvaluationError(
                f"decision {self.spec.name!r} is an amount: its figures are worked out from the facts, not "
                "combined from rule values; use decide()"
            )
        values = tuple(values)
        if len(values) != len(self.rules) or (leaves is not None and len(leaves) != len(self.rules)):
            raise UsageError(
                f"decision {self.spec.name!r} has {len(self.rules)} rules; combine() was given {len(values)} values"
            )
        kept = None if leaves is None else [list(rec) for rec in leaves]
        return self._kind(self, Env(facts, params, as_of, None), (values, kept))

    @property
    def reads_facts(self) -> bool:
        """Whether combining rule values reads the subject's facts too: overrides of default-strength
        exceptions, a ranking's sort key, an amount's figures. Such a plan :meth:`settle` s bare values
        only when given the exceptions' ``effects`` (never a ranking or an amount)."""
        return self._has_default or self.spec.kind in ("ranking", "amount")

    @property
    def defeasible(self) -> tuple[int, ...]:
        """The indices (into :attr:`rules`) of the default-strength exceptions, whose effects
        :meth:`effects` gives and :meth:`settle` takes, in this order."""
        n = self._n_criteria
        return tuple(n + i for i, (rule, _) in enumerate(self._items[n:]) if rule.strength == "default")

    def effects(self, facts: FactModel, as_of: date) -> tuple[str, ...]:
        """What each default-strength exception (in the order of :attr:`defeasible`) does if it holds,
        from the subject's recorded overrides on ``as_of``: one of :data:`EFFECTS`. ``fired``: the latest
        decision of a body the rule names upheld it; ``overridden``: set it aside; ``pending``: no
        decision yet; ``contradicted``: the latest date's decisions disagree. Raises
        :class:`~povrules.errors.ArgumentTypeError` for facts of the wrong model."""
        facts = self._check(facts, "effects")
        return tuple(_effect(self.rules[i], facts, as_of) for i in self.defeasible)

    def settle(self, values: Sequence[Value], as_of: date, effects: Sequence[str] | None = None) -> Settled:
        """Combine rule values alone (in the order of ``rules``; ``None`` for a rule not in force, an
        ``Unknown`` for an unknown one) into outcome, labels and the outcomes still possible.

        The same combination as :meth:`combine`, without facts, so that one pattern of values
        settles every subject that has it (the columnar evaluator's use). A plan that looks up
        overrides (:attr:`defeasible` not empty) needs ``effects`` too, one of :data:`EFFECTS` per
        default-strength exception as :meth:`effects` gives them; the pattern is then values and
        effects together. Missing facts are not named (an ``Unknown`` may carry none); instead
        ``relevant`` lists the unknown rules whose missing facts :meth:`decide` would report: a
        subject's ``missing`` is the sorted union of those rules' ``Unknown.missing``. Raises
        :class:`EvaluationError` for a ranking or a plan that needs ``effects`` without them,
        :class:`UsageError` when ``values`` has not one entry per rule or ``effects`` not one known effect
        per default-strength exception, and as :meth:`bind` does.
        """
        if self.spec.kind == "amount":
            raise EvaluationError(
                f"decision {self.spec.name!r} is an amount: its figures are worked out from the facts; use decide()"
            )
        if self.spec.kind == "ranking" or (self._has_default and effects is None):
            raise EvaluationError(
                f"decision {self.spec.name!r} reads facts while combining "
                "(default-strength exceptions or a ranking); give their effects, or use combine()"
            )
        params = self.bind(as_of)
        values = tuple(values)
        if len(values) != len(self.rules):
            raise UsageError(
                f"decision {self.spec.name!r} has {len(self.rules)} rules; settle() was given {len(values)} values"
            )
        given = None
        if effects is not None:
            effects = tuple(effects)
            defeasible = self.defeasible
            if len(effects) != len(defeasible) or not all(e in EFFECTS for e in effects):
                raise UsageError(
                    f"decision {self.spec.name!r} has {len(defeasible)} default-strength exceptions; "
                    f"settle() takes one of {', '.join(EFFECTS)} for each, not {list(effects)}"
                )
            given = {self.rules[i].id: e for i, e in zip(defeasible, effects)}
        # Each unknown rule is given a missing set naming only itself (its index). The combination
        # reports the union of the missing sets of the items that could change the verdict (a base
        # of criteria carries the union of its unknown criteria's), so the "paths" it reports are
        # exactly the relevant rules, found by the same code that decides a subject's ``missing``.
        tagged = tuple(Unknown(frozenset({str(i)})) if v.__class__ is Unknown else v for i, v in enumerate(values))
        env = Env(None, params, as_of, None)
        made = _eligibility(self, env, (tagged, None), given) if given else self._kind(self, env, (tagged, None))
        return Settled(
            made.outcome, made.labels, made.possible, tuple(sorted(int(i) for i in made.missing)), made.reasons
        )

    def decide(self, facts: FactModel, as_of: date) -> Decision:
        """The decision for one subject as of a date: what :func:`evaluate` gives.

        Raises as :meth:`bind` does, and :class:`~povrules.errors.ArgumentTypeError` for facts of the wrong model.
        """
        params = self._bound.get(as_of)
        if params is None:
            params = _bind(self, as_of)
        if facts.__class__ is not self.facts_type and not isinstance(facts, self.facts_type):
            raise _wrong_facts("decide", self, facts)
        if facts.__class__ is Household and facts.jurisdiction is not None and facts.jurisdiction not in self._places:
            _place(self, facts.jurisdiction)
        if self._local is not None:
            facts = self._local(facts)
        return self._kind(self, Env(facts, params, as_of, None))

    def decide_each(self, many: Iterable[FactModel], as_of: date) -> Iterator[Decision]:
        """The decisions for many subjects as of one date, one at a time, as ``many`` is read.

        Returns a generator: nothing is kept between items, so a caseload of any size runs in
        constant memory. ``as_of`` is checked (and parameters bound) at the call, raising as
        :meth:`bind` does; facts of the wrong model raise ``TypeError`` when they are reached.
        """
        return self._each(many, self.bind(as_of), as_of, "decide_each")

    def _each(
        self, many: Iterable[FactModel], params: Mapping[str, Any], as_of: date, caller: str
    ) -> Iterator[Decision]:
        kind, facts_type = self._kind, self.facts_type
        env = Env(None, params, as_of, None)  # one for all: each evaluation resets what it uses
        for facts in many:
            if facts.__class__ is not facts_type and not isinstance(facts, facts_type):
                raise _wrong_facts(caller, self, facts)
            if (
                facts.__class__ is Household
                and facts.jurisdiction is not None
                and facts.jurisdiction not in self._places
            ):
                _place(self, facts.jurisdiction)
            env.facts = facts if self._local is None else self._local(facts)
            yield kind(self, env)

    def _check(self, facts: Any, caller: str) -> Any:
        """The facts as rules read them (see ``_local``), once they are found to be of the plan's model."""
        if facts.__class__ is not self.facts_type and not isinstance(facts, self.facts_type):
            raise _wrong_facts(caller, self, facts)
        if isinstance(facts, Household) and facts.jurisdiction is not None and facts.jurisdiction not in self._places:
            _place(self, facts.jurisdiction)
        return facts if self._local is None else self._local(facts)

    def __repr__(self) -> str:
        flavour = "traced" if self.traced else "plain"
        return f"<Plan {self.ruleset.id} {self.spec.name} ({self.spec.kind}, {len(self.rules)} rules, {flavour})>"


MAX_TABLE = 10  # rules; 2**10 labels at most per decision


def plan(ruleset: Ruleset, decision: str, *, traced: bool = True) -> Plan:
    """The :class:`Plan` of ``decision`` in ``ruleset``, prepared on first use and memoised on the ruleset.

    Raises :class:`~povrules.errors.UnknownDecision` (an :class:`EvaluationError`) if the ruleset has no such
    decision, and :class:`~povrules.errors.ArgumentTypeError` if ``ruleset`` is not a :class:`Ruleset` (a path, say).
    """
    try:
        found = ruleset._plans[bool(traced)].get(decision)
    except AttributeError:
        raise _not_a_ruleset("plan", ruleset) from None
    return found if found is not None else _make_plan(ruleset, decision, bool(traced))


def _make_plan(ruleset: Ruleset, decision: str, traced: bool) -> Plan:
    spec = ruleset.decision(decision)
    program = ruleset.traced if traced else ruleset.plain
    ids = spec.criteria + spec.exceptions + spec.rows
    rules = tuple(ruleset.rules[r] for r in ids)
    fns = tuple(program.rules[r] for r in ids)
    has_default = any(ruleset.rules[r].strength == "default" for r in spec.exceptions)
    dated = any(rule.valid_from is not None or rule.valid_to is not None for rule in rules)
    table = None
    if spec.kind in ("eligibility", "table") and not has_default and not dated and len(ids) <= MAX_TABLE:
        table = {bits: _label_of(spec, rules, bits) for bits in product((False, True), repeat=len(ids))}
    made = Plan(
        ruleset=ruleset,
        spec=spec,
        traced=traced,
        facts_type=ruleset.facts_type,
        rules=rules,
        fns=fns,
        dated=dated,
        items=tuple(zip(rules, fns)),
        n_criteria=len(spec.criteria),
        has_default=has_default,
        tiebreaks=program.tiebreaks.get(spec.name, ()),
        table=table,
        kind=_EVALUATE[spec.kind],
        figures=tuple(program.amounts[r] for r in ids) if spec.amount is not None else (),
        per=program.per.get(spec.name),
        cap=program.caps.get(spec.name),
        floor=program.floors.get(spec.name),
        local=ruleset.local_facts.check if ruleset.local_facts else None,
    )
    ruleset._plans[traced][decision] = made
    return made


def _label_of(spec: DecisionSpec, rules: Sequence[Rule], bits: tuple[bool, ...]) -> str:
    """The label of one pattern of known items, for a decision whose exceptions are all hard."""
    if spec.kind == "table":
        return _table_label(spec, [rule.outcome or "" for rule in rules], bits)
    n = len(spec.criteria)
    effects = [(rule, "fired") for rule in rules[n:]]
    return _eligibility_label(spec, effects, (all(bits[:n]), *bits[n:]))


def evaluate(facts: FactModel, ruleset: Ruleset, decision: str, *, as_of: date, trace: bool = True) -> Decision:
    """Answer ``decision`` for one household (or village, or county: the ruleset's subject) as of a date.

    ``trace=False`` skips recording leaf conditions (faster; the decision still
    lists rule results). The facts must be validated: a :class:`Household` from
    :func:`povrules.parse_household`, or the subject's model from :func:`povrules.parse_facts`.
    The same as ``plan(ruleset, decision, traced=trace).decide(facts, as_of)``.
    Raises :class:`EvaluationError` (no such decision; a parameter with no value on the date)
    and :class:`~povrules.errors.ArgumentTypeError` (facts not validated; ``ruleset`` not a loaded :class:`Ruleset`; ``as_of`` not a date).
    """
    # Plan.decide, inlined: this is the hot path, and a method call is a measurable share of it.
    try:
        found = ruleset._plans[True if trace else False].get(decision)  # noqa: SIM210 - no call on the hot path
    except AttributeError:
        raise _not_a_ruleset("evaluate", ruleset) from None
    prepared = found if found is not None else _make_plan(ruleset, decision, bool(trace))
    params = prepared._bound.get(as_of)
    if params is None:
        params = _bind(prepared, as_of)
    if facts.__class__ is not prepared.facts_type and not isinstance(facts, prepared.facts_type):
        raise _wrong_facts("evaluate", prepared, facts)
    if facts.__class__ is Household and facts.jurisdiction is not None and facts.jurisdiction not in prepared._places:
        _place(prepared, facts.jurisdiction)
    if prepared._local is not None:
        facts = prepared._local(facts)
    return prepared._kind(prepared, Env(facts, params, as_of, None))


def evaluate_iter(
    many: Iterable[FactModel], ruleset: Ruleset, decision: str, *, as_of: date, trace: bool = True
) -> Iterator[Decision]:
    """Answer ``decision`` for each household (or village, or county) of ``many`` as it is read: a generator.

    Memory does not grow with the input, so this is the call for a whole caseload read from a
    file or a database. The answers are those :func:`evaluate` gives one by one. An unknown
    decision or a bad ``as_of`` raise at the call; facts of the wrong model raise ``TypeError``
    when they are reached.
    """
    prepared = plan(ruleset, decision, traced=trace)
    return prepared._each(many, prepared.bind(as_of), as_of, "evaluate_iter")


def evaluate_many(
    many: Iterable[FactModel], ruleset: Ruleset, decision: str, *, as_of: date, trace: bool = True
) -> list[Decision]:
    """Answer ``decision`` for many households (or villages, or counties) as of one date: a county batch.

    The answers are those :func:`evaluate` gives one by one; what does not depend
    on the household (the decision's plan, the parameters in force) is looked up once.
    The list holds every decision (with its trace, when traced) until it is dropped: for a
    caseload too large for that, iterate :func:`evaluate_iter` instead. Raises as :func:`evaluate`.
    """
    prepared = plan(ruleset, decision, traced=trace)
    return list(prepared._each(many, prepared.bind(as_of), as_of, "evaluate_many"))


def within(place: str, jurisdiction: str | None) -> bool:
    """Whether a household's ``place`` lies within a ruleset's ``jurisdiction``: the same code, or one
    that extends it after a hyphen (``cn-yunnan-weishan`` lies within ``cn-yunnan`` and ``cn``).
    A ruleset with no jurisdiction is taken to hold everywhere."""
    return jurisdiction is None or place == jurisdiction or place.startswith(jurisdiction + "-")


def _place(plan: Plan, place: str) -> None:
    """Note a household jurisdiction met for the first time; warn when it lies outside the ruleset's.

    A warning, not a refusal: jurisdiction codes are free text (a prefecture's ruleset may rightly
    decide a county's household whose code does not extend the prefecture's), so only the caller can
    tell a mistake from a deliberate use (docs/interpretations.md, I-S-3).
    """
    # A redacted jurisdiction (its keyed hash, when a redacted record is replayed) names no place to
    # compare: it is not checked, as a household with no jurisdiction is not.
    ok = within(place, plan.ruleset.jurisdiction) or _REDACTED.fullmatch(place) is not None
    plan._places[place] = ok
    if not ok:
        warnings.warn(JurisdictionWarning(place, plan.ruleset.id, plan.ruleset.jurisdiction), stacklevel=3)


def _not_a_ruleset(caller: str, ruleset: object) -> ArgumentTypeError:
    shown = repr(ruleset)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ArgumentTypeError(
        f"{caller}() takes a Ruleset, not {type(ruleset).__name__} {shown}; "
        "load it first with povrules.load_ruleset(path)"
    )


def _wrong_facts(caller: str, plan: Plan, facts: object) -> ArgumentTypeError:
    subject = plan.ruleset.subject
    parse = "povrules.parse_household" if subject == "household" else f"povrules.parse_facts(data, {subject!r})"
    return ArgumentTypeError(
        f"{caller}() takes a {plan.facts_type.__name__} for ruleset {plan.ruleset.id!r}, "
        f"not {type(facts).__name__}; validate JSON with {parse} first"
    )


def _bind(plan: Plan, as_of: date) -> Mapping[str, Any]:
    """The parameter values ``plan`` reads on ``as_of``, checked once per date and memoised on the plan."""
    if as_of.__class__ is not date and (not isinstance(as_of, date) or isinstance(as_of, datetime)):
        raise ArgumentTypeError(f"as_of must be a datetime.date (a day, not a datetime), not {type(as_of).__name__}")
    ruleset = plan.ruleset
    dated, values, complete = ruleset.in_force(as_of)
    if not complete:
        _check_parameters(ruleset, plan, dated, as_of)
    if len(plan._bound) > 4096:  # bound the memo for long-running services
        plan._bound.clear()
    plan._bound[as_of] = values
    return values


def _check_parameters(ruleset: Ruleset, plan: Plan, params: Mapping[str, ParameterValue], as_of: date) -> None:
    """Refuse to evaluate with a parameter that has no value yet on the date."""
    # A parameter read only through at(p.x, <date>) needs a value on that date, not on as_of.
    used = [
        (f"rule {rule.id!r}", name)
        for rule in plan.rules
        if rule.in_force(as_of)
        for name in rule.parameters
        if name not in rule.dated_parameters
    ]
    used += [
        (f"a tiebreak of {plan.spec.name!r}", name)
        for tiebreak in plan.spec.tiebreak
        for name in sorted(parameter_reads(tiebreak.expr)[0])
    ]
    if plan.spec.amount is not None:
        for key, expr in (("cap", plan.spec.amount.cap), ("floor", plan.spec.amount.floor)):
            if expr is not None:
                used += [(f"the {key} of {plan.spec.name!r}", name) for name in sorted(parameter_reads(expr)[0])]
    for user, name in used:
        if name not in params:
            first = ruleset.parameters[name].values[0].start
            raise EvaluationError(
                f"parameter {name!r} (used by {user}) has no value in force on {as_of}; its first value starts {first}"
            )


def _run(plan: Plan, env: Env) -> RuleValues:
    """Each rule's value (and leaves, when traced); an :class:`EvaluationError` names the rule that raised it."""
    try:
        return _run_rules(plan, env)
    except EvaluationError as exc:
        rule = _failing_rule(plan, env) if exc.rule is None else None
        if rule is None:
            raise
        raise exc.at_rule(rule, plan.spec.name) from exc


def _failing_rule(plan: Plan, env: Env) -> str | None:
    """The first rule in force whose evaluation raises :class:`EvaluationError`: found by running the rules
    again one at a time (they are pure), so that the loops of :func:`_run_rules` pay nothing for it."""
    for rule, fn in plan._items:
        if not rule.in_force(env.as_of):
            continue
        if plan.traced:
            env.rec = []
        try:
            fn(env)
        except EvaluationError:
            return rule.id
    return None


def _run_rules(plan: Plan, env: Env) -> RuleValues:
    if plan.dated:
        values: list[Value] = []
        leaves: list[list[Leaf]] | None = [] if plan.traced else None
        as_of = env.as_of
        for rule, fn in plan._items:
            if (rule.valid_from is not None and as_of < rule.valid_from) or (
                rule.valid_to is not None and as_of > rule.valid_to
            ):
                values.append(None)
                if leaves is not None:
                    leaves.append([])
                continue
            if leaves is not None:
                rec: list[Leaf] = []
                env.rec = rec
                leaves.append(rec)
            values.append(fn(env))
        return tuple(values), leaves
    if plan.traced:
        values = []
        leaves = []
        for fn in plan.fns:
            env.rec = rec = []
            values.append(fn(env))
            leaves.append(rec)
        return tuple(values), leaves
    return tuple([fn(env) for fn in plan.fns]), None


def _live(values: Sequence[Value]) -> list[Value]:
    """The values of the rules in force."""
    return [v for v in values if v is not None]


def _settle(
    values: Sequence[Value], label: Callable[[Sequence[bool]], str], verdict: Callable[[str], str]
) -> tuple[str | None, set[int], tuple[str, ...]]:
    """Combine item values; with unknown items, try every completion.

    Returns (label, or None if undetermined; indices of unknown items that
    could change the verdict; the labels possible).
    """
    unknown = [i for i, v in enumerate(values) if v.__class__ is Unknown]
    if not unknown:
        return label(values), set(), ()
    if len(unknown) > MAX_ENUMERATED:
        return None, set(unknown), ()
    base = [v is True for v in values]
    outcomes: dict[tuple[bool, ...], str] = {}
    for combo in product((False, True), repeat=len(unknown)):
        filled = list(base)
        for index, bit in zip(unknown, combo):
            filled[index] = bit
        outcomes[combo] = label(filled)
    verdicts = {verdict(lab) for lab in outcomes.values()}
    if len(verdicts) == 1:
        return outcomes[(False,) * len(unknown)], set(), ()
    relevant = set()
    for position, index in enumerate(unknown):
        for combo, lab in outcomes.items():
            flipped = combo[:position] + (not combo[position],) + combo[position + 1 :]
            if verdict(outcomes[flipped]) != verdict(lab):
                relevant.add(index)
                break
    return None, relevant, tuple(sorted(set(outcomes.values())))


def _missing(values: Iterable[Value]) -> tuple[str, ...]:
    paths: set[str] = set()
    for v in values:
        if v.__class__ is Unknown:
            paths |= v.missing
    return tuple(sorted(paths))


def _kleene_all(values: Iterable[Value]) -> Value:
    unknown = None
    for v in values:
        if v is False:
            return False
        if v.__class__ is Unknown:
            unknown = v if unknown is None else unknown.merge(v)
    return True if unknown is None else unknown


def _latest(rule: Rule, subject: FactModel | None, as_of: date) -> tuple[Override, ...]:
    """The latest decisions, on or before ``as_of``, of the bodies the rule names: every record of
    the latest date, in the order recorded. An unknown list of overrides is read as none recorded."""
    found: list[Override] = []
    for item in recorded_overrides(subject):
        if item.rule == rule.id and item.body in rule.override_by and item.decided_on <= as_of:
            if not found or item.decided_on > found[0].decided_on:
                found = [item]
            elif item.decided_on == found[0].decided_on:
                found.append(item)
    return tuple(found)


def _override(rule: Rule, subject: FactModel | None, as_of: date) -> Override | None:
    """The decision that stands: the latest (of one date, the last recorded; they agree unless contradicted)."""
    latest = _latest(rule, subject, as_of)
    return latest[-1] if latest else None


# Eligibility: criteria (all must hold) and defeasible exceptions.


def _effect(rule: Rule, subject: FactModel | None, as_of: date) -> str:
    """What an exception does if it holds: fire, await deliberation, stand set aside, or neither
    when the latest decisions contradict one another (identical records do not)."""
    if rule.strength == "hard":
        return "fired"
    outcomes = {item.outcome for item in _latest(rule, subject, as_of)}
    if not outcomes:
        return "pending"
    if len(outcomes) > 1:
        return CONTRADICTED
    return "fired" if "upheld" in outcomes else "overridden"


def _verdict(spec: DecisionSpec, label: str) -> str:
    if label in (CONFLICT, NEEDS_DELIBERATION):
        return label
    return "yes" if label == spec.yes else "no"


def _eligibility_label(spec: DecisionSpec, active: Sequence[tuple[Rule, str]], bits: Sequence[Any]) -> str:
    """The label for one true/false assignment: bits[0] is the base, bits[1:] the active exceptions.

    An exception whose latest recorded decisions contradict one another is read both ways (upheld,
    set aside): if the readings give different labels, the records decide nothing and the outcome
    is ``conflict``; if they give the same label, that label stands.
    """
    base_label = spec.yes if bits[0] else spec.no
    live = [
        (rule.level, effect, rule.outcome)
        for (rule, effect), on in zip(active, bits[1:])
        if on is True and effect != "overridden"
    ]
    split = [i for i, item in enumerate(live) if item[1] == CONTRADICTED]
    if not split:
        return _resolve(spec, live, base_label)
    labels = set()
    for reading in product((True, False), repeat=len(split)):
        read = dict(zip(split, reading))  # index → upheld (True) or set aside (False)
        kept = [
            item if i not in read else (item[0], "fired", item[2]) for i, item in enumerate(live) if read.get(i, True)
        ]
        labels.add(_resolve(spec, kept, base_label))
    return labels.pop() if len(labels) == 1 else CONFLICT


def _resolve(spec: DecisionSpec, live: Sequence[tuple[int, str, Any]], base_label: str) -> str:
    """The highest level of the exceptions that hold decides; the base label stands if none holds."""
    if not live:
        return base_label
    top = max(level for level, _, _ in live)
    fired = {outcome for level, effect, outcome in live if level == top and effect == "fired"}
    pending = {outcome for level, effect, outcome in live if level == top and effect == "pending"}
    if fired:
        if len(fired) > 1 and len({_verdict(spec, o) for o in fired}) > 1:
            return CONFLICT
        chosen: str = min(fired)  # same verdict: pick by name, never by order
        if any(_verdict(spec, o) != _verdict(spec, chosen) for o in pending):
            return NEEDS_DELIBERATION
        return chosen
    # Only exceptions awaiting deliberation at the top: set aside, they leave the levels below to
    # decide, so that (not the bare base) is what they are weighed against.
    below = _resolve(spec, [item for item in live if item[0] < top], base_label)
    if any(_verdict(spec, o) != _verdict(spec, below) for o in pending):
        return NEEDS_DELIBERATION
    return below


def _eligibility(
    plan: Plan, env: Env, run: RuleValues | None = None, given: Mapping[str, str] | None = None
) -> Decision:
    """``given``: the default-strength exceptions' effects by rule id (:meth:`Plan.settle`), else read from the facts."""
    if run is None:  # given only when the items' values are already known (a what-if comparison)
        run = _run(plan, env)
    values = run[0]
    # Every value known (an Unknown never matches a key) and nothing else to weigh: one lookup.
    if plan._table is not None:
        outcome = plan._table.get(values)
        if outcome is not None:
            return Decision(plan, env.facts, env.as_of, outcome, run)
    spec, n = plan.spec, plan._n_criteria
    base = _kleene_all(_live(values[:n]))
    active = [(rule, v) for (rule, _), v in zip(plan._items[n:], values[n:]) if v is not None]
    if given is not None:
        effects = [(rule, given.get(rule.id, "fired")) for rule, _ in active]
    elif plan._has_default:
        effects = [(rule, _effect(rule, env.facts, env.as_of)) for rule, _ in active]
    else:
        effects = [(rule, "fired") for rule, _ in active]
    items = [base, *(v for _, v in active)]
    settled, relevant, possible = _settle(
        items, lambda bits: _eligibility_label(spec, effects, bits), lambda lab: _verdict(spec, lab)
    )
    if settled is None:
        missing = _missing(items[i] for i in relevant)
        return Decision(plan, env.facts, env.as_of, UNDETERMINED, run, ((UNDETERMINED,), missing, possible, ()), given)
    return Decision(plan, env.facts, env.as_of, settled, run, None, given)


def _eligibility_statuses(spec: DecisionSpec, d: Decision) -> tuple[tuple[RuleResult, ...], tuple[str, ...]]:
    final = d.outcome
    n = len(spec.criteria)
    results: list[RuleResult] = []
    reasons: list[str] = []
    for rule, value, leaves in d._raw[:n]:
        status = _status(value)
        results.append(RuleResult(rule, "criterion", value, tuple(leaves), status))
        if (final == spec.no and status == "not_met") or (final == spec.yes and status == "met"):
            reasons.append(rule.id)
    exceptions = d._raw[n:]
    given = d._effects
    effects = {
        rule.id: given.get(rule.id, "fired") if given is not None else _effect(rule, d.subject, d.as_of)
        for rule, value, _ in exceptions
        if value is not None
    }
    # Only an exception in effect (hard, or upheld) supersedes lower ones; one awaiting deliberation not yet.
    top = max(
        (rule.level for rule, value, _ in exceptions if value is True and effects[rule.id] == "fired"), default=None
    )
    for rule, value, leaves in exceptions:
        override: Override | None = None
        contradicting: tuple[Override, ...] = ()
        if rule.strength == "default" and value is not None and given is None:
            if effects[rule.id] == CONTRADICTED:
                contradicting = _latest(rule, d.subject, d.as_of)
            else:
                override = _override(rule, d.subject, d.as_of)
        status = _status(value)
        if value is True:
            effect = effects[rule.id]
            if effect == "overridden":
                status = "overridden"
            elif top is not None and rule.level < top:
                status = "superseded"
            else:
                status = {"pending": "awaiting_deliberation", CONTRADICTED: CONTRADICTED}.get(effect, "applied")
        elif value is False:
            status = "not_applicable"
        # A contradicted exception decided only if its records, read both ways, made the conflict.
        if (
            status in ("applied", "awaiting_deliberation") and final in (rule.outcome, NEEDS_DELIBERATION, CONFLICT)
        ) or (status == CONTRADICTED and final == CONFLICT):
            reasons.append(rule.id)
        results.append(RuleResult(rule, "exception", value, tuple(leaves), status, override, contradicting))
    return tuple(results), tuple(reasons)


def _status(value: Value) -> str:
    if value is None:
        return "not_in_force"
    if value.__class__ is Unknown:
        return "unknown"
    return "met" if value else "not_met"


# Tables: DMN hit policies.


def _table_label(spec: DecisionSpec, outcomes: Sequence[str], bits: Sequence[Any]) -> str:
    hits = [o for o, on in zip(outcomes, bits) if on is True]
    if not hits:
        return spec.default
    policy = spec.hit_policy
    if policy == "UNIQUE":
        return hits[0] if len(hits) == 1 else CONFLICT
    if policy == "FIRST":
        return hits[0]
    if policy == "PRIORITY":
        return min(hits, key=spec.priority.index)
    return "+".join(dict.fromkeys(hits))


def _table(plan: Plan, env: Env, run: RuleValues | None = None) -> Decision:
    if run is None:
        run = _run(plan, env)
    spec = plan.spec
    outcome = plan._table.get(run[0]) if plan._table is not None else None
    if outcome is None:
        live = [(rule.outcome or "", v) for (rule, _), v in zip(plan._items, run[0]) if v is not None]
        outcomes, values = [o for o, _ in live], [v for _, v in live]
        settled, relevant, possible = _settle(values, lambda bits: _table_label(spec, outcomes, bits), lambda lab: lab)
        if settled is None:
            missing = _missing(values[i] for i in relevant)
            return Decision(plan, env.facts, env.as_of, UNDETERMINED, run, ((UNDETERMINED,), missing, possible, ()))
        outcome = settled
    if spec.hit_policy == "COLLECT" and "+" in outcome:
        return Decision(plan, env.facts, env.as_of, outcome, run, (tuple(outcome.split("+")), (), (), ()))
    return Decision(plan, env.facts, env.as_of, outcome, run)


def _table_statuses(spec: DecisionSpec, d: Decision) -> tuple[tuple[RuleResult, ...], tuple[str, ...]]:
    results, reasons = [], []
    selected_one = False
    for rule, value, leaves in d._raw:
        status = _status(value)
        if value is True:
            status = "matched"
            if d.outcome == CONFLICT:
                reasons.append(rule.id)
            elif rule.outcome in d.labels and not (spec.hit_policy in ("FIRST", "PRIORITY", "UNIQUE") and selected_one):
                status, selected_one = "selected", True
                reasons.append(rule.id)
        elif value is False:
            status = "not_matched"
        results.append(RuleResult(rule, "row", value, tuple(leaves), status))
    return tuple(results), tuple(reasons)


# Rankings.


class _Descending:
    """Reverses the order of a value inside a sort key."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and bool(self.value == other.value)

    # Unhashable, as any class defining __eq__ alone is; typeshed types __hash__ as a method.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"desc({self.value!r})"


def _ranking_item(plan: Plan, env: Env, run: RuleValues | None = None) -> Decision:
    """One household's place in a ranking: which criteria it meets, and its sort key."""
    spec = plan.spec
    if run is None:
        run = _run(plan, env)
    flags = _live(run[0])
    env.rec = None
    breaks = [fn(env) for fn in plan._tiebreaks]
    missing = _missing([*flags, *breaks])
    met = tuple(rule.id for (rule, _), v in zip(plan._items, run[0]) if v is True)
    if missing:
        return Decision(plan, env.facts, env.as_of, UNDETERMINED, run, (met, missing, (), ()))
    head: tuple[Any, ...] = (-len(met),) if spec.order == "count" else tuple(0 if f else 1 for f in flags)
    tail = tuple(_Descending(v) if t.descending else v for v, t in zip(breaks, spec.tiebreak))
    return Decision(plan, env.facts, env.as_of, RANKED, run, (met, (), (), head + tail))


def _ranking_statuses(spec: DecisionSpec, d: Decision) -> tuple[tuple[RuleResult, ...], tuple[str, ...]]:
    results = tuple(RuleResult(rule, "criterion", v, tuple(leaves), _status(v)) for rule, v, leaves in d._raw)
    return results, tuple(r.rule.id for r in results if r.status == "met")


# Amounts: figures from rows, per element, limited and rounded.

Step = Any  # a leaf record of a figure's arithmetic, or a Mark of a sum()'s structure (see Compiler.amount)


@attrs.frozen
class AmountPart:
    """One answer of an amount decision: the household's, or one element's (a member, a loan).

    ``rows`` are the rules that gave the figure (the first that held under ``FIRST``, each that held
    under ``SUM``); ``before`` is their figure before rounding and limits, ``value`` the figure given.
    ``limited_by`` is ``"cap"`` or ``"floor"`` when one changed it, ``limit`` that limit's value.
    ``steps`` holds, per row in ``rows``, the traced arithmetic of its ``amount``; ``limit_steps`` that
    of the limit that applied (both empty when not traced). An undetermined part has ``value`` None
    and names what it lacks in ``missing``.
    """

    index: int | None
    path: str | None
    rows: tuple[str, ...]
    value: Decimal | None
    before: Decimal | None = None
    limited_by: str | None = None
    limit: Decimal | None = None
    rounded: bool = False
    missing: tuple[str, ...] = ()
    steps: tuple[tuple[str, tuple[Step, ...]], ...] = ()
    limit_steps: tuple[Step, ...] = ()

    @property
    def determined(self) -> bool:
        return self.value is not None


@attrs.frozen(eq=False)
class Amount:
    """An amount decision's answer: the ``total`` (None when undetermined) in ``unit`` per ``period``,
    its ``parts`` (one per element of the list the decision is answered per, else one for the
    household), and the decision that gated it, if any."""

    total: Decimal | None
    unit: str
    period: str
    parts: tuple[AmountPart, ...]
    gate: Decision | None = None

    @property
    def by_index(self) -> dict[int, Decimal | None]:
        """Each element's figure by its index (an answer per element only)."""
        return {part.index: part.value for part in self.parts if part.index is not None}


_ROUNDING = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_UP, "half_even": ROUND_HALF_EVEN}


def round_amount(value: Decimal, rounding: Rounding) -> Decimal:
    """``value`` rounded as a text states: to ``places`` decimals (negative: to tens, hundreds …)."""
    mode = _ROUNDING[rounding.mode]
    if rounding.places >= 0:
        return value.quantize(Decimal(1).scaleb(-rounding.places), rounding=mode)
    whole = value.scaleb(rounding.places).quantize(Decimal(1), rounding=mode)
    return Decimal(int(whole.scaleb(-rounding.places)))


def _number(value: Any) -> Decimal:
    return value if value.__class__ is Decimal else Decimal(value)


def _amount(plan: Plan, env: Env, run: RuleValues | None = None) -> Decision:
    spec = plan.spec
    figure = spec.amount
    assert figure is not None
    gate: Decision | None = None
    if figure.gate_decision is not None:
        gate = evaluate(env.facts, plan.ruleset, figure.gate_decision, as_of=env.as_of, trace=plan.traced)
        if gate.outcome not in figure.gate_outcomes:
            n = len(plan.rules)
            if gate.outcome == UNDETERMINED:
                answer = Amount(None, figure.unit, figure.period, (), gate)
                extra = ((UNDETERMINED,), gate.missing, (), ())
                return Decision(plan, env.facts, env.as_of, UNDETERMINED, ((None,) * n, None), extra, amount=answer)
            answer = Amount(Decimal(0), figure.unit, figure.period, (), gate)
            return Decision(plan, env.facts, env.as_of, NOT_ELIGIBLE, ((None,) * n, None), amount=answer)
    rec, where, saved = env.rec, env.where, dict(env.scope)
    try:
        if figure.per is None:
            values, leaves = _run(plan, env)
            parts: tuple[AmountPart, ...] = (_amount_part(plan, env, values, None, None),)
        else:
            assert plan._per is not None
            items = plan._per(env)
            if items.__class__ is Unknown:  # every row is unknown while the list is
                unknown_rows: RuleValues = (
                    tuple(items for _ in plan.rules),
                    [[] for _ in plan.rules] if plan.traced else None,
                )
                answer = Amount(None, figure.unit, figure.period, (), gate)
                extra = ((UNDETERMINED,), tuple(sorted(items.missing)), (), ())
                return Decision(plan, env.facts, env.as_of, UNDETERMINED, unknown_rows, extra, amount=answer)
            runs = []
            made = []
            for index, item in enumerate(items):
                one = _run_element(plan, env, item, index)
                runs.append(one)
                made.append(_amount_part(plan, env, one[0], index, f"{figure.per.path}[{index}]"))
            parts = tuple(made)
            values, leaves = _across(plan, runs)
    finally:
        env.rec, env.where = rec, where
        env.scope.clear()
        env.scope.update(saved)
    missing = tuple(sorted({path for part in parts for path in part.missing}))
    if missing:
        answer = Amount(None, figure.unit, figure.period, parts, gate)
        extra = ((UNDETERMINED,), missing, (), ())
        return Decision(plan, env.facts, env.as_of, UNDETERMINED, (values, leaves), extra, amount=answer)
    total = sum((part.value for part in parts if part.value is not None), Decimal(0))
    outcome = GRANTED if any(part.rows for part in parts) else NO_AMOUNT
    answer = Amount(total, figure.unit, figure.period, parts, gate)
    return Decision(plan, env.facts, env.as_of, outcome, (values, leaves), amount=answer)


def _run_element(plan: Plan, env: Env, item: Any, index: int) -> RuleValues:
    """The rows' values (and leaves) for one element of an amount decision's ``per`` list."""
    per = plan.spec.amount.per  # type: ignore[union-attr]
    assert per is not None
    env.scope[per.var] = (item, per.path, index)
    env.where = ((per.path, index),)
    return _run(plan, env)


def _per_rule_values(plan: Plan, env: Env) -> RuleValues:
    """What :meth:`Plan.rule_values` gives for an amount decision answered per element: each row's value
    over all elements (see :func:`_across`)."""
    assert plan._per is not None
    saved = dict(env.scope)
    try:
        items = plan._per(env)
        if items.__class__ is Unknown:
            return tuple(items for _ in plan.rules), ([[] for _ in plan.rules] if plan.traced else None)
        return _across(plan, [_run_element(plan, env, item, index) for index, item in enumerate(items)])
    finally:
        env.where = ()
        env.scope.clear()
        env.scope.update(saved)


def _across(plan: Plan, runs: Sequence[RuleValues]) -> RuleValues:
    """Each row's value over all elements: true if it held for one, else unknown if unknown for one,
    else false (None when not in force; false when there are no elements); and, traced, each row's
    leaves over all elements in element order (each leaf names its element)."""
    leaves = None
    if plan.traced:
        leaves = [[leaf for _, rec in runs for leaf in (rec or [])[i]] for i in range(len(plan.rules))]
    out: list[Value] = []
    for i, rule in enumerate(plan.rules):
        column = [values[i] for values, _ in runs]
        if column and column[0] is None:
            out.append(None)
        elif any(v is True for v in column):
            out.append(True)
        else:
            unknown = [v for v in column if v.__class__ is Unknown]
            out.append(_missing_union(unknown) if unknown else False)
    return tuple(out), leaves


def _missing_union(values: Sequence[Unknown]) -> Unknown:
    merged = values[0]
    for v in values[1:]:
        merged = merged.merge(v)
    return merged


def _amount_part(plan: Plan, env: Env, values: Sequence[Value], index: int | None, path: str | None) -> AmountPart:
    """The figure of one answer from its rows' values: the first that holds (FIRST) or the sum of those
    that hold (SUM); then rounding, floor and cap."""
    spec = plan.spec
    figure = spec.amount
    assert figure is not None
    chosen: list[int] = []
    for i, value in enumerate(values):
        if value is None or value is False:
            continue
        if value.__class__ is Unknown:
            # A row that may hold, before the first that does (or any, under SUM): the figure is open.
            return AmountPart(index, path, (), None, missing=tuple(sorted(value.missing)))
        chosen.append(i)
        if spec.hit_policy == "FIRST":
            break
    if not chosen:
        return AmountPart(index, path, (), Decimal(0))
    traced = plan.traced
    total = Decimal(0)
    steps: list[tuple[str, tuple[Step, ...]]] = []
    unknown: Unknown | None = None
    for i in chosen:
        rec: list[Step] | None = [] if traced else None
        env.rec = rec
        got = plan._figures[i](env)
        if traced:
            steps.append((plan.rules[i].id, tuple(rec or ())))
        if got.__class__ is Unknown:
            unknown = got if unknown is None else unknown.merge(got)
        else:
            total += _number(got)
    rows = tuple(plan.rules[i].id for i in chosen)
    if unknown is not None:
        return AmountPart(index, path, rows, None, missing=tuple(sorted(unknown.missing)), steps=tuple(steps))
    value, rounded = total, False
    if figure.rounding is not None:
        value = round_amount(total, figure.rounding)
        rounded = value != total
    limited_by, limit, limit_steps = None, None, ()
    for key, fn in (("floor", plan._floor), ("cap", plan._cap)):
        if fn is None:
            continue
        rec = [] if traced else None
        env.rec = rec
        bound = fn(env)
        if bound.__class__ is Unknown:
            return AmountPart(index, path, rows, None, total, missing=tuple(sorted(bound.missing)), steps=tuple(steps))
        bound = _number(bound)
        if (key == "floor" and value < bound) or (key == "cap" and value > bound):
            value, limited_by, limit, limit_steps = bound, key, bound, tuple(rec or ())
    return AmountPart(index, path, rows, value, total, limited_by, limit, rounded, (), tuple(steps), limit_steps)


def _amount_statuses(spec: DecisionSpec, d: Decision) -> tuple[tuple[RuleResult, ...], tuple[str, ...]]:
    gave = {row for part in d.amount.parts for row in part.rows} if d.amount is not None else set()
    gate = d.amount.gate if d.amount is not None else None
    stopped = gate is not None and spec.amount is not None and gate.outcome not in spec.amount.gate_outcomes
    results, reasons = [], []
    for rule, value, leaves in d._raw:
        status = NOT_EVALUATED if stopped else _status(value)
        if value is True:
            status = "selected" if rule.id in gave else "matched"
        elif value is False:
            status = "not_matched"
        if rule.id in gave:
            reasons.append(rule.id)
        results.append(RuleResult(rule, "row", value, tuple(leaves), status))
    return tuple(results), tuple(reasons)


_EVALUATE: dict[str, Callable[..., Decision]] = {
    "eligibility": _eligibility,
    "table": _table,
    "ranking": _ranking_item,
    "amount": _amount,
}
_STATUSES: dict[str, Callable[[DecisionSpec, Decision], tuple[tuple[RuleResult, ...], tuple[str, ...]]]] = {
    "eligibility": _eligibility_statuses,
    "table": _table_statuses,
    "ranking": _ranking_statuses,
    "amount": _amount_statuses,
}


@attrs.frozen
class RankEntry:
    """One place in a ranking. Tied households share ``position``."""

    position: int
    household: str
    met: tuple[str, ...]
    tied: bool
    decision: Decision


@attrs.frozen
class Ranking:
    """An ordered list of households, and those left out of it with why."""

    decision: str
    as_of: date
    entries: tuple[RankEntry, ...]
    not_eligible: tuple[Decision, ...]
    undetermined: tuple[Decision, ...]

    def order(self) -> list[str]:
        return [e.household for e in self.entries]

    def explain(self, lang: str = "zh") -> str:
        """The ranking as sentences a caseworker can read, in ``"zh"`` or ``"en"``."""
        return EXPLAIN_RANKING(self, lang)


EXPLAIN_RANKING: Hook[[Ranking, str], str] = Hook("Ranking.explain")


def rank(
    households: Iterable[FactModel], ruleset: Ruleset, decision: str, *, as_of: date, trace: bool = True
) -> Ranking:
    """Order households by a ranking decision (六优先, 三优先 …).

    Households for which the ``among`` decision does not give one of its
    listed outcomes are left out (``not_eligible``, with that decision);
    households whose place depends on missing facts are listed apart.

    Raises :class:`~povrules.errors.UnknownDecision` for a decision the ruleset lacks,
    :class:`EvaluationError` for a decision that is not a ranking and as :func:`evaluate` does.
    """
    spec = ruleset.decision(decision)
    if spec.kind != "ranking":
        raise EvaluationError(f"decision {decision!r} is a {spec.kind}, not a ranking; use evaluate()")
    placed: list[Decision] = []
    not_eligible: list[Decision] = []
    undetermined: list[Decision] = []
    for household in households:
        if spec.among_decision is not None:
            gate = evaluate(household, ruleset, spec.among_decision, as_of=as_of, trace=trace)
            if gate.outcome not in spec.among_outcomes:
                (undetermined if gate.outcome == UNDETERMINED else not_eligible).append(gate)
                continue
        item = evaluate(household, ruleset, decision, as_of=as_of, trace=trace)
        (placed if item.outcome == RANKED else undetermined).append(item)
    placed.sort(key=lambda d: (d.sort_key, d.facts_id))
    entries: list[RankEntry] = []
    for index, item in enumerate(placed):
        same_as_previous = index > 0 and placed[index - 1].sort_key == item.sort_key
        same_as_next = index + 1 < len(placed) and placed[index + 1].sort_key == item.sort_key
        position = entries[-1].position if same_as_previous else index + 1
        entries.append(RankEntry(position, item.facts_id, item.labels, same_as_previous or same_as_next, item))
    return Ranking(decision, as_of, tuple(entries), tuple(not_eligible), tuple(undetermined))
