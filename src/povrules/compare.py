"""What-if comparisons: the same households decided under a ruleset and under a variant of it.

:func:`compare` evaluates the baseline once. For the variant it re-evaluates only the rules a change
can reach: a rule whose own condition or validity changed, which reads a parameter whose value on
the date differs, or which uses a changed derived fact. Every other rule's value is the baseline's.
When the decision itself is unchanged and no re-evaluated rule changes its value for a household,
that household keeps its outcome without being combined again. Each household that changes
outcome is listed with the rules whose values differ and the changes (:class:`Cause`) behind them.

:func:`sweep` runs one comparison per value of a parameter against a single baseline pass.

What to re-evaluate and how to attribute a change are worked out once per variant by
:func:`difference`, public so that :func:`povrules.columnar.compare_frame` does the same in columns.
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import attrs

from povrules.engine import Decision, Plan, evaluate, plan
from povrules.errors import EvaluationError, UnknownHousehold, UnknownName, UnknownParameter
from povrules.facts import FactModel, subject_id
from povrules.hooks import Hook, View
from povrules.lang import ast
from povrules.lang.compiler import Env, Unknown
from povrules.ruleset.diff import decision_fields, expression_text
from povrules.ruleset.model import Rule, Ruleset
from povrules.text import amount_summary
from povrules.wording import check_lang, format_value, phrase, punctuation

_NONE = object()  # a parameter with no value on the date


@attrs.frozen
class Cause:
    """One change between baseline and variant that a rule's value depends on.

    ``kind`` is ``parameter`` (``old``/``new``: the values in force on the date), ``rule`` or
    ``derived`` (the condition texts; ``None`` when added or removed), or ``decision`` (how the
    decision combines its rules changed).
    """

    kind: Literal["parameter", "rule", "derived", "decision"]
    name: str
    old: Any = None
    new: Any = None

    def describe(self, lang: str = "en", *rulesets: Ruleset) -> str:
        """The cause in words, in ``"zh"`` or ``"en"``: the parameter, rule or derived fact named by its title in
        the first of ``rulesets`` that has one (by its id when none does), a parameter's values as a reader
        writes them (``6,500``).

        Raises:
            LanguageError: for a language other than ``"zh"`` or ``"en"``.
        """
        check_lang(lang)
        name = self._title(lang, rulesets)
        if self.kind == "parameter":
            old = phrase("none_value", lang) if self.old is None else format_value(self.old, None, lang)
            new = phrase("none_value", lang) if self.new is None else format_value(self.new, None, lang)
            return phrase("cause.parameter", lang, name=name, old=old, new=new)
        if self.kind == "decision":
            return phrase("cause.decision", lang, name=name)
        word = phrase(f"cause.{self.kind}", lang)
        if self.old is None:
            return phrase("cause.added", lang, word=word, name=name)
        if self.new is None:
            return phrase("cause.removed", lang, word=word, name=name)
        return phrase("cause.changed", lang, word=word, name=name, old=self.old, new=self.new)

    def _title(self, lang: str, rulesets: Sequence[Ruleset]) -> str:
        """What the cause names, by its title in the first ruleset that has one, else its id."""
        for ruleset in rulesets:
            found: Any = {
                "parameter": ruleset.parameters,
                "rule": ruleset.rules,
                "derived": ruleset.derived,
                "decision": ruleset.decisions,
            }[self.kind].get(self.name)
            if found is not None and found.title is not None and found.title(lang):
                return str(found.title(lang))
        return self.name

    def __str__(self) -> str:
        return self.describe("en")


@attrs.frozen
class Change:
    """A household whose outcome differs: before, after, the rules whose values differ, and why."""

    id: str
    before: str
    after: str
    rules: tuple[str, ...]
    causes: tuple[Cause, ...]


@attrs.frozen
class AmountChange:
    """A household whose amount differs: the total before and after (None: cannot be worked out), the
    difference (None when either is unknown), and the changes behind it (as :class:`Change` has them)."""

    id: str
    before: Decimal | None
    after: Decimal | None
    causes: tuple[Cause, ...] = ()

    @property
    def delta(self) -> Decimal | None:
        """``after - before``, exact; None when either cannot be worked out."""
        return None if self.before is None or self.after is None else self.after - self.before


@attrs.frozen
class AmountFigures:
    """What an amount decision gives under the baseline and the variant: the unit and period, the sum of
    the households' totals under each (households whose amount cannot be worked out are left out of the
    sums and counted in ``undetermined_before`` / ``undetermined_after``), and each household whose amount
    differs (``changes``, in the order given)."""

    unit: str
    period: str
    before: Decimal
    after: Decimal
    undetermined_before: int
    undetermined_after: int
    changes: tuple[AmountChange, ...]

    @property
    def delta(self) -> Decimal:
        """The change of the summed totals, exact."""
        return self.after - self.before

    @property
    def changed(self) -> int:
        """How many households' amounts differ."""
        return len(self.changes)


class LazyHouseholds(Sequence[FactModel], abc.ABC):
    """Households made on demand (from a frame, say) rather than kept as models.

    A :class:`Comparison` may hold one as its ``households``: indexing or iterating makes each
    model when it is reached, and :meth:`find` lets :meth:`Comparison.pair` fetch one household
    without making the others.
    """

    @abc.abstractmethod
    def find(self, household_id: str) -> FactModel | None:
        """The household with this id, or None."""


@attrs.frozen(eq=False)
class Comparison:
    """The outcome of every household under the baseline and the variant.

    ``counts`` maps each (before, after) pair, unchanged ones included, to its number of households;
    ``changes`` lists the households that changed, in the order given. ``households`` are the
    households compared: models, or a :class:`LazyHouseholds` that makes them on demand. For an amount
    decision, ``amounts`` holds the summed totals before and after and each household whose amount
    differs (:class:`AmountFigures`); None for the other kinds.
    """

    baseline: Ruleset
    variant: Ruleset
    decision: str
    as_of: date
    total: int
    counts: Mapping[tuple[str, str], int]
    changes: tuple[Change, ...]
    reevaluated: tuple[str, ...]  # the variant's rules that were evaluated again
    households: Sequence[FactModel] = attrs.field(repr=False)
    amounts: AmountFigures | None = None  # an amount decision's totals and per-household deltas

    @property
    def changed(self) -> int:
        """How many households changed outcome."""
        return len(self.changes)

    @property
    def before(self) -> Counter[str]:
        """Households per outcome under the baseline."""
        out: Counter[str] = Counter()
        for (before, _), n in self.counts.items():
            out[before] += n
        return out

    @property
    def after(self) -> Counter[str]:
        """Households per outcome under the variant."""
        out: Counter[str] = Counter()
        for (_, after), n in self.counts.items():
            out[after] += n
        return out

    def transitions(self) -> dict[tuple[str, str], int]:
        """Households per (before, after) pair that differ, largest first."""
        moved = [(pair, n) for pair, n in self.counts.items() if pair[0] != pair[1]]
        return dict(sorted(moved, key=lambda item: (-item[1], item[0])))

    def by_cause(self, lang: str = "en") -> dict[str, int]:
        """Households changed per cause (a household with two causes counts under both), largest first; each
        cause in words, naming what changed by its title (:meth:`Cause.describe`). For an amount decision a
        household whose amount changed counts, whether or not its outcome did."""
        changed: dict[str, tuple[Cause, ...]] = {change.id: change.causes for change in self.changes}
        if self.amounts is not None:  # a household whose amount alone changed counts too
            for moved in self.amounts.changes:
                changed.setdefault(moved.id, moved.causes)
        counted: Counter[str] = Counter(
            c.describe(lang, self.variant, self.baseline) for causes in changed.values() for c in causes
        )
        return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))

    def label(self, outcome: str, lang: str = "en") -> str:
        """An outcome in words, from the variant's labels (or the baseline's).

        Raises:
            LanguageError: for a language other than ``"zh"`` or ``"en"``.
        """
        check_lang(lang)
        for ruleset in (self.variant, self.baseline):
            spec = ruleset.decisions.get(self.decision)
            if spec is not None and outcome in spec.labels:
                return spec.label(outcome, lang)
        return outcome

    def change(self, household_id: str) -> Change | None:
        """The change of one household, or None if its outcome is the same."""
        return next((c for c in self.changes if c.id == household_id), None)

    def pair(self, household_id: str) -> tuple[Decision, Decision]:
        """Both decisions of one household, traced: to explain or display them side by side.

        Raises :class:`~povrules.errors.UnknownHousehold` for an id no household compared has.
        """
        if isinstance(self.households, LazyHouseholds):
            found = self.households.find(household_id)
        else:
            found = next((facts for facts in self.households if subject_id(facts) == household_id), None)
        if found is None:
            raise UnknownHousehold(household_id, "the comparison")
        return (
            evaluate(found, self.baseline, self.decision, as_of=self.as_of),
            evaluate(found, self.variant, self.decision, as_of=self.as_of),
        )

    def summary(self, lang: str = "en") -> str:
        """The comparison in a few lines of text: the change, the households per transition, and per cause
        (:meth:`by_cause`).

        Raises:
            LanguageError: for a language other than ``"zh"`` or ``"en"``.
        """
        check_lang(lang)
        name = self.variant.variant(lang) if self.variant.variant else self.variant.digest[:19]
        lines = [
            f"{self.decision} @ {self.as_of}: {name}",
            phrase("comparison.changed", lang, total=self.total, changed=self.changed),
        ]
        colon = punctuation("colon", lang)
        for (before, after), n in self.transitions().items():
            lines.append(f"  {self.label(before, lang)} → {self.label(after, lang)}{colon}{n}")
        if self.amounts is not None:
            lines.extend("  " + line for line in amount_summary(self.amounts, lang))
        causes = self.by_cause(lang)
        if causes:
            lines.append(phrase("comparison.causes", lang))
            lines.extend(f"  {cause}{colon}{n}" for cause, n in causes.items())
        return "\n".join(lines)

    def rows(self) -> list[dict[str, Any]]:
        """One plain row per changed household: id, before, after, rules, causes (for tables and frames)."""
        return [
            {
                "id": c.id,
                "before": c.before,
                "after": c.after,
                "rules": ", ".join(c.rules),
                "causes": "; ".join(str(cause) for cause in c.causes),
            }
            for c in self.changes
        ]

    def amount_rows(self) -> list[dict[str, Any]]:
        """One plain row per household whose amount differs: id, amount_before, amount_after, delta (exact
        decimal strings; None where the amount cannot be worked out). Empty for other kinds of decision."""
        if self.amounts is None:
            return []
        return [
            {
                "id": c.id,
                "amount_before": _text(c.before),
                "amount_after": _text(c.after),
                "delta": _text(c.delta),
            }
            for c in self.amounts.changes
        ]

    def to_frame(
        self,
        library: Literal["pandas", "polars"] = "pandas",
        *,
        what: Literal["changes", "counts", "amounts"] = "changes",
    ) -> Any:
        """A data frame of the changed households (``what="changes"``), of every (before, after) count, or of
        the households whose amount differs (``what="amounts"``, :meth:`amount_rows`).

        Raises :class:`~povrules.errors.UnknownName` for another library, and ``ImportError`` when the
        library is not installed.
        """
        if what == "counts":
            rows = [{"before": b, "after": a, "households": n} for (b, a), n in sorted(self.counts.items())]
            return _frame(rows, ("before", "after", "households"), library)
        if what == "amounts":
            return _frame(self.amount_rows(), ("id", "amount_before", "amount_after", "delta"), library)
        return _frame(self.rows(), ("id", "before", "after", "rules", "causes"), library)

    def html(self, lang: str | None = None) -> View:
        """The comparison as an HTML view: counts by transition, the households changed and why; in ``lang``, else in :func:`povrules.display_language`."""
        return COMPARISON_HTML(self, lang)

    def _repr_html_(self) -> str:  # Jupyter's rich display
        return self.html()._repr_html_()

    def __repr__(self) -> str:
        return f"<Comparison {self.decision} @ {self.as_of}: {self.changed} of {self.total} changed>"


@attrs.frozen(eq=False)
class Sweep:
    """The outcome counts of one decision as one parameter takes each of several values."""

    parameter: str
    values: tuple[Any, ...]
    decision: str
    as_of: date
    total: int
    baseline: Mapping[str, int]  # outcome counts under the ruleset as it is
    comparisons: tuple[Comparison, ...]  # one per value, in order

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Every outcome seen, in a fixed order."""
        seen = set(self.baseline)
        for comparison in self.comparisons:
            seen |= set(comparison.after)
        return tuple(sorted(seen))

    def counts(self) -> list[dict[str, int]]:
        """Households per outcome, for each value in order (zero where none)."""
        return [{o: c.after.get(o, 0) for o in self.outcomes} for c in self.comparisons]

    @property
    def is_amount(self) -> bool:
        """Whether the decision swept is an amount (then rows give its total per value)."""
        return any(c.amounts is not None for c in self.comparisons)

    def totals(self) -> list[Decimal]:
        """For an amount decision, the summed total for each value in order (exact); empty otherwise."""
        return [c.amounts.after for c in self.comparisons if c.amounts is not None]

    def rows(self) -> list[dict[str, Any]]:
        """One row per value: the value, households per outcome, and how many changed from the baseline; for an
        amount decision also ``total`` (the summed amount, an exact decimal string), ``delta`` (its change
        from the baseline) and ``amount_changed`` (households whose amount differs)."""
        out = []
        for value, counts, c in zip(self.values, self.counts(), self.comparisons):
            row: dict[str, Any] = {self.parameter: _cell_value(value), **counts, "changed": c.changed}
            if c.amounts is not None:
                row.update(total=_text(c.amounts.after), delta=_text(c.amounts.delta), amount_changed=c.amounts.changed)
            out.append(row)
        return out

    def to_frame(self, library: Literal["pandas", "polars"] = "pandas") -> Any:
        """A data frame of :meth:`rows`.

        Raises :class:`~povrules.errors.UnknownName` for another library, and ``ImportError`` when the
        library is not installed.
        """
        extra = ("total", "delta", "amount_changed") if self.is_amount else ()
        return _frame(self.rows(), (self.parameter, *self.outcomes, "changed", *extra), library)

    def plot(self, ax: Any = None, *, outcomes: Iterable[str] | None = None, lang: str = "en") -> Any:
        """Households per outcome against the parameter's value (matplotlib); returns the axes.

        Raises ``ImportError`` when matplotlib is not installed.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("plotting needs matplotlib: pip install 'povrules[notebook]'") from None
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        xs = [float(v) if isinstance(v, (int, float)) or hasattr(v, "as_tuple") else str(v) for v in self.values]
        counts = self.counts()
        spec = self.comparisons[0].variant.decisions[self.decision] if self.comparisons else None
        for outcome in outcomes if outcomes is not None else self.outcomes:
            label = spec.label(outcome, lang) if spec else outcome
            ax.plot(xs, [row.get(outcome, 0) for row in counts], marker="o", label=label)
        parameter = self.comparisons[0].variant.parameters.get(self.parameter) if self.comparisons else None
        ax.set_xlabel(parameter.title(lang) if parameter is not None else self.parameter)  # its title, not its id
        ax.set_ylabel(phrase("households", lang))
        ax.set_title(f"{self.decision} @ {self.as_of}")
        ax.legend()
        return ax

    def html(self, lang: str | None = None) -> View:
        """The sweep as an HTML view: households per outcome for each value; in ``lang``, else in
        :func:`povrules.display_language`."""
        return SWEEP_HTML(self, lang)

    def _repr_html_(self) -> str:
        return self.html()._repr_html_()

    def __repr__(self) -> str:
        return f"<Sweep {self.parameter} over {len(self.values)} values, {self.decision} @ {self.as_of}>"


# The HTML views of comparisons and sweeps, which povrules.html provides (see povrules.hooks): the
# presentation layer reads these objects, so this module cannot import it.
COMPARISON_HTML: Hook[[Comparison, str | None], View] = Hook("Comparison.html")
SWEEP_HTML: Hook[[Sweep, str | None], View] = Hook("Sweep.html")


def compare(
    baseline: Ruleset, variant: Ruleset, households: Iterable[FactModel], decision: str, *, as_of: date
) -> Comparison:
    """Decide ``decision`` for every household under ``baseline`` and ``variant`` and say what changes and why.

    ``variant`` is usually made from ``baseline`` (``with_parameter``, ``with_rule``, ``without_rule``,
    ``with_overlay``), but may be any ruleset with the same subject, such as another version of it.

    Raises :class:`~povrules.errors.UnknownDecision` for a decision the rulesets lack,
    :class:`~povrules.EvaluationError` when the subjects differ, for a ranking or where evaluating raises (a
    parameter not in force, a rule that cannot be computed), and :class:`~povrules.errors.ArgumentTypeError`
    for an ``as_of`` that is not a day or facts of the wrong model.
    """
    return _Comparer(baseline, list(households), decision, as_of).against(variant)


def sweep(
    ruleset: Ruleset,
    parameter: str,
    values: Iterable[Any],
    households: Iterable[FactModel],
    decision: str,
    *,
    as_of: date,
    from_: date | None = None,
) -> Sweep:
    """Compare ``ruleset`` with one variant per value of ``parameter`` (set from ``from_`` on, or throughout).

    Raises :class:`~povrules.errors.UnknownParameter` for a parameter the ruleset lacks,
    :class:`~povrules.RulesetError` or :class:`~povrules.errors.ArgumentTypeError` for a value
    :meth:`~povrules.Ruleset.with_parameter` refuses, and as :func:`compare` does.
    """
    variants = sweep_variants(ruleset, parameter, values, from_=from_)
    comparer = _Comparer(ruleset, list(households), decision, as_of)
    values = tuple(value for value, _ in variants)
    comparisons = tuple(comparer.against(variant) for _, variant in variants)
    baseline = Counter(d.outcome for d in comparer.decisions)
    return Sweep(
        parameter, values, decision, as_of, len(comparer.households), dict(sorted(baseline.items())), comparisons
    )


def sweep_variants(
    ruleset: Ruleset, parameter: str, values: Iterable[Any], *, from_: date | None = None
) -> tuple[tuple[Any, Ruleset], ...]:
    """The (value, variant) pairs a sweep compares with ``ruleset``, in order.

    Raises :class:`EvaluationError` (with a did-you-mean) if ``ruleset`` has no such parameter, and
    as ``with_parameter`` does for a value of the wrong type.
    """
    if parameter not in ruleset.parameters:
        raise UnknownParameter(parameter, ruleset.parameters, ruleset.id)
    return tuple((value, ruleset.with_parameter(parameter, value, from_=from_)) for value in values)


# The comparison itself.


def _plan_of(ruleset: Ruleset, decision: str) -> Plan:
    found = plan(ruleset, decision, traced=False)
    if found.spec.kind == "ranking":
        raise EvaluationError(f"decision {decision!r} is a ranking: compare the orders rank() gives instead")
    return found


def _same(a: Any, b: Any) -> bool:
    return a is b or (a.__class__ is Unknown and b.__class__ is Unknown and a.missing == b.missing)


def _derived_used(ruleset: Ruleset, expr: ast.Expr) -> list[str]:
    """The derived facts an expression uses, directly or through other derived facts' expressions."""
    return ast.derived_reads(expr, lambda name: (ruleset.derived[name].expr,))


def _refuse_unread(baseline: Ruleset, variant: Ruleset, var_plan: Plan) -> None:
    """Raise if the variant changes only parameters that no rule of the ruleset reads (its load warnings name
    them): the comparison would report no change, which reads as "the change does not matter" when nothing
    ever looks at the value. A parameter another decision reads is compared as usual."""
    changed = sorted(
        name
        for name in {*baseline.parameters, *variant.parameters}
        if getattr(baseline.parameters.get(name), "values", None)
        != getattr(variant.parameters.get(name), "values", None)
    )
    read = {name for rule in variant.rules.values() for name in rule.parameters}
    read |= {
        name for spec in variant.decisions.values() for t in spec.tiebreak for name in _parameters_of(variant, t.expr)
    }
    read |= {
        name
        for spec in variant.decisions.values()
        if spec.amount is not None
        for expr in (spec.amount.cap, spec.amount.floor)
        if expr is not None
        for name in _parameters_of(variant, expr)
    }
    unread = [name for name in changed if name not in read]
    if unread and len(unread) == len(changed):
        names = ", ".join(map(repr, unread))
        raise EvaluationError(
            f"the variant changes parameter {names}, which no rule of ruleset {variant.id!r} "
            f"reads: comparing on decision {var_plan.spec.name!r} would report no change for any "
            "household"
        )


def _parameters_of(ruleset: Ruleset, expr: ast.Expr) -> set[str]:
    """The parameters an expression reads, directly or through derived facts."""
    exprs = [expr, *(ruleset.derived[name].expr for name in _derived_used(ruleset, expr))]
    return {node.name for e in exprs for node in ast.walk(e) if isinstance(node, ast.ParamRef)}


def _combines(rule: Rule) -> tuple[Any, ...]:
    """What of a rule the decision's combination reads (besides its value)."""
    return (rule.strength, rule.outcome, rule.level, rule.override_by)


@attrs.frozen(eq=False)
class Difference:
    """How a variant's plan of one decision differs from the baseline's on one date.

    It says which of the variant's rules must be evaluated again (``reached``: in force, with a
    :class:`Cause`), where every other rule's baseline value is (``index``), whether the decision
    still combines its rules as before (``combines_same``), and attributes one household's change
    (:meth:`change`). Made by :func:`difference`. It is the seam :func:`compare` (row by row) and
    :func:`povrules.columnar.compare_frame` (in columns) share, so that both attribute alike.

    Rule values follow the engine's convention, in the order of each plan's ``rules``: ``True``,
    ``False``, an ``Unknown`` (compared by its missing facts), or ``None`` (not in force).
    """

    baseline: Plan
    variant: Plan
    as_of: date
    index: tuple[int | None, ...]  # per variant rule: its position among the baseline's rules, or None
    in_force: tuple[bool, ...]  # per variant rule, on as_of
    causes: Mapping[str, tuple[Cause, ...]]  # per variant rule id: what it reads that changed
    reached: tuple[int, ...]  # the variant's rules evaluated again (positions), in order
    removed: tuple[tuple[int, Rule], ...]  # (position, rule) of the baseline's rules its decision lacks
    combination_causes: tuple[Cause, ...]  # why the combination differs; empty when it does not
    combines_same: bool  # same items, same decision fields, same strengths, outcomes, levels, overrides

    @property
    def decision(self) -> str:
        """The decision compared."""
        return self.baseline.spec.name

    @property
    def reevaluated(self) -> tuple[str, ...]:
        """The ids of the reached rules, as :attr:`Comparison.reevaluated` gives them."""
        return tuple(self.variant.rules[i].id for i in self.reached)

    def change(
        self, household_id: str, before: str, after: str, base_values: Sequence[Any], values: Sequence[Any]
    ) -> Change:
        """Attribute one household's change: the rules whose values differ, and what changed under them.

        ``base_values`` are the household's values under the baseline's plan, ``values`` under the
        variant's; a rule that was not reached may be given its baseline value.
        """
        rules: list[str] = []
        found: list[Cause] = []
        for i, rule in enumerate(self.variant.rules):
            j = self.index[i]
            value = values[i]
            differs = (j is None and value is not False and value is not None) or (
                j is not None and not _same(value, base_values[j])
            )
            if differs:
                rules.append(rule.id)
                found.extend(self.causes[rule.id])
        for j, rule in self.removed:
            if base_values[j] is not False and base_values[j] is not None:  # it held, or might have
                rules.append(rule.id)
        for cause in self.combination_causes:
            if cause.kind != "rule" or cause.name in rules or cause.new is not None:
                found.append(cause)
        if not found:
            found.extend(self.combination_causes or (Cause("decision", self.decision),))
        return Change(household_id, before, after, tuple(dict.fromkeys(rules)), tuple(dict.fromkeys(found)))


def difference(baseline: Ruleset, variant: Ruleset, decision: str, as_of: date) -> Difference:
    """The :class:`Difference` of ``variant`` from ``baseline`` for ``decision`` on ``as_of``.

    Raises :class:`EvaluationError` when the subjects differ, the decision is a ranking or missing,
    a parameter a rule in force reads has no value on the date, or the variant changes only parameters
    that no rule reads (every comparison would then report no change).
    """
    if variant.subject != baseline.subject:
        raise EvaluationError(f"the variant decides on {variant.subject}s, the baseline on {baseline.subject}s")
    base_plan, var_plan = _plan_of(baseline, decision), _plan_of(variant, decision)
    params, vparams = base_plan.bind(as_of), var_plan.bind(as_of)
    base_index = {rule.id: i for i, rule in enumerate(base_plan.rules)}
    index = tuple(base_index.get(rule.id) for rule in var_plan.rules)
    in_force = tuple(rule.in_force(as_of) for rule in var_plan.rules)
    causes = {rule.id: _causes(base_plan, params, variant, vparams, rule.id) for rule in var_plan.rules}
    reached = tuple(i for i, rule in enumerate(var_plan.rules) if causes[rule.id] and in_force[i])
    same_items = [r.id for r in var_plan.rules] == [r.id for r in base_plan.rules]
    combines_same = (
        same_items
        and decision_fields(var_plan.spec) == decision_fields(base_plan.spec)
        and all(_combines(rule) == _combines(old) for rule, old in zip(var_plan.rules, base_plan.rules))
    )
    removed = tuple(
        (j, rule)
        for j, rule in enumerate(base_plan.rules)
        if rule.id not in variant.rules or rule.id not in var_plan.spec.rule_ids
    )
    combination = () if combines_same else _combination_causes(base_plan, var_plan, removed)
    if not reached and combines_same and not removed:
        _refuse_unread(baseline, variant, var_plan)
    return Difference(base_plan, var_plan, as_of, index, in_force, causes, reached, removed, combination, combines_same)


def _causes(
    base_plan: Plan, params: Mapping[str, Any], variant: Ruleset, vparams: Mapping[str, Any], rule_id: str
) -> tuple[Cause, ...]:
    """Why a rule of the variant may not keep its baseline value: empty if nothing it reads changed."""
    base = base_plan.ruleset
    rule = variant.rules[rule_id]
    old = base.rules.get(rule_id)
    if old is None:
        return (Cause("rule", rule_id, None, expression_text(rule.when)),)
    causes = []
    if expression_text(old.when) != expression_text(rule.when) or (old.valid_from, old.valid_to) != (
        rule.valid_from,
        rule.valid_to,
    ):
        causes.append(Cause("rule", rule_id, expression_text(old.when), expression_text(rule.when)))
    for name in rule.parameters:
        before, after = params.get(name, _NONE), vparams.get(name, _NONE)
        if before is _NONE or after is _NONE or before != after:
            causes.append(
                Cause("parameter", name, None if before is _NONE else before, None if after is _NONE else after)
            )
    for name in sorted(_derived_used(variant, rule.when)):
        was = base.derived.get(name)
        if was is None or expression_text(was.expr) != expression_text(variant.derived[name].expr):
            causes.append(
                Cause(
                    "derived",
                    name,
                    None if was is None else expression_text(was.expr),
                    expression_text(variant.derived[name].expr),
                )
            )
    if rule_id not in base_plan.spec.rule_ids and not causes:
        # In the base, but new to this decision.
        causes.append(Cause("rule", rule_id, None, expression_text(rule.when)))
    return tuple(causes)


def _combination_causes(base_plan: Plan, plan: Plan, removed: Sequence[tuple[int, Rule]]) -> tuple[Cause, ...]:
    out: list[Cause] = [Cause("rule", rule.id, expression_text(rule.when), None) for _, rule in removed]
    for rule in plan.rules:
        old = base_plan.ruleset.rules.get(rule.id)
        if old is not None and _combines(old) != _combines(rule):
            out.append(Cause("rule", rule.id, _describe_combines(old), _describe_combines(rule)))
    if decision_fields(plan.spec) != decision_fields(base_plan.spec) and not out:
        out.append(Cause("decision", base_plan.spec.name))
    return tuple(out)


class _Comparer:
    """One baseline pass over the households, compared with as many variants as asked."""

    def __init__(self, baseline: Ruleset, households: list[FactModel], decision: str, as_of: date):
        self.baseline, self.households, self.decision, self.as_of = baseline, households, decision, as_of
        self.decisions = list(_plan_of(baseline, decision).decide_each(households, as_of))

    def against(self, variant: Ruleset) -> Comparison:
        as_of = self.as_of
        diff = difference(self.baseline, variant, self.decision, as_of)
        if diff.variant.spec.kind == "amount":
            return self._amounts(variant, diff)
        var_plan, combines_same = diff.variant, diff.combines_same
        vparams = var_plan.bind(as_of)
        # For each of the variant's items: where its baseline value is, and whether it must be evaluated again.
        index = list(diff.index)
        reached = [(i, var_plan.fns[i]) for i in diff.reached]
        template: list[Any] = [0 if live else None for live in diff.in_force]  # filled per household

        counts: Counter[tuple[str, str]] = Counter()
        changes: list[Change] = []
        env = Env(None, vparams, as_of, None)  # for the reached rules' closures, one household at a time

        def settle(d: Decision, values: Sequence[Any]) -> None:
            """Combine the variant's values for one household whose values (or decision) differ."""
            after = var_plan.combine(d.facts, as_of, values).outcome
            counts[(d.outcome, after)] += 1
            if after != d.outcome:
                changes.append(diff.change(d.facts_id, d.outcome, after, d.values, values))

        if combines_same and not reached:  # nothing the decision reads differs: every outcome stays
            for d in self.decisions:
                counts[(d.outcome, d.outcome)] += 1
        elif len(reached) == len(var_plan.rules) and index == list(range(len(index))) and not var_plan.dated:
            # Every item reached, in the baseline's order: evaluate them all and compare the lists in one go.
            # (Unknowns compare unequal, so a household with one is combined again, never wrongly kept.)
            fns = var_plan.fns
            for d in self.decisions:
                env.facts = d.facts
                values = tuple([fn(env) for fn in fns])
                if combines_same and values == d.values:
                    counts[(d.outcome, d.outcome)] += 1
                else:
                    settle(d, values)
        else:
            reached_at = {i for i, _ in reached}
            reuse = [
                (i, j) for i, j in enumerate(index) if j is not None and template[i] is not None and i not in reached_at
            ]
            for d in self.decisions:
                base_values = d.values
                variant_values = list(template)
                for i, j in reuse:
                    variant_values[i] = base_values[j]
                env.facts = d.facts
                differs = False
                for i, fn in reached:
                    value = variant_values[i] = fn(env)
                    at = index[i]
                    if at is None or not _same(value, base_values[at]):
                        differs = True
                if combines_same and not differs:
                    counts[(d.outcome, d.outcome)] += 1
                else:
                    settle(d, variant_values)
        return self._comparison(variant, diff, counts, changes)

    def _comparison(
        self,
        variant: Ruleset,
        diff: Difference,
        counts: Counter[tuple[str, str]],
        changes: list[Change],
        amounts: AmountFigures | None = None,
    ) -> Comparison:
        return Comparison(
            self.baseline,
            variant,
            self.decision,
            self.as_of,
            len(self.decisions),
            dict(counts),
            tuple(changes),
            diff.reevaluated,
            self.households,
            amounts,
        )

    def _amounts(self, variant: Ruleset, diff: Difference) -> Comparison:
        """An amount decision compared: its figures come from the facts, so every household is decided again
        under the variant (untraced) and compared by outcome and by total."""
        as_of = self.as_of
        var_plan = diff.variant
        counts: Counter[tuple[str, str]] = Counter()
        changes: list[Change] = []
        moved: list[AmountChange] = []
        sums = [Decimal(0), Decimal(0)]
        unknown = [0, 0]
        for d in self.decisions:
            after = var_plan.decide(d.facts, as_of)
            counts[(d.outcome, after.outcome)] += 1
            old, new = _total(d), _total(after)
            for k, total in enumerate((old, new)):
                if total is None:
                    unknown[k] += 1
                else:
                    sums[k] += total
            if after.outcome != d.outcome or old != new:
                change = diff.change(d.facts_id, d.outcome, after.outcome, d.values, after.values)
                if not change.rules:  # no row's condition differs: the figures (or limits) read what changed
                    change = attrs.evolve(change, causes=_figure_causes(diff, variant) or change.causes)
                if after.outcome != d.outcome:
                    changes.append(change)
                if old != new:
                    moved.append(AmountChange(d.facts_id, old, new, change.causes))
        spec = var_plan.spec.amount
        assert spec is not None
        figures = AmountFigures(spec.unit, spec.period, sums[0], sums[1], unknown[0], unknown[1], tuple(moved))
        return self._comparison(variant, diff, counts, changes, figures)


def _total(decision: Decision) -> Decimal | None:
    amount = decision.amount
    return None if amount is None else amount.total


def _figure_causes(diff: Difference, variant: Ruleset) -> tuple[Cause, ...]:
    """Why an amount may differ where no row's condition does: the parameters its rows' figures, cap and
    floor read whose values on the date differ, and rows whose figure expression changed."""
    base_plan = diff.baseline
    base, params, vparams = base_plan.ruleset, base_plan.bind(diff.as_of), diff.variant.bind(diff.as_of)
    spec = diff.variant.spec.amount
    exprs = [rule.amount for rule in diff.variant.rules if rule.amount is not None]
    if spec is not None:
        exprs += [e for e in (spec.cap, spec.floor) if e is not None]
    out: list[Cause] = []
    for name in sorted({n for e in exprs for n in _parameters_of(variant, e)}):
        old, new = params.get(name, _NONE), vparams.get(name, _NONE)
        if old != new:
            out.append(Cause("parameter", name, None if old is _NONE else old, None if new is _NONE else new))
    for rule in diff.variant.rules:
        old_rule = base.rules.get(rule.id)
        if old_rule is None or old_rule.amount is None or rule.amount is None:
            continue
        if expression_text(old_rule.amount) != expression_text(rule.amount):
            out.append(Cause("rule", rule.id, expression_text(old_rule.amount), expression_text(rule.amount)))
    return tuple(out)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _describe_combines(rule: Rule) -> str:
    return f"strength {rule.strength}, outcome {rule.outcome}, level {rule.level}"


def _cell_value(value: Any) -> Any:
    """A parameter value for a table cell: numbers stay numbers."""
    if hasattr(value, "as_tuple"):  # Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _frame(rows: list[dict[str, Any]], columns: Sequence[str], library: str) -> Any:
    if library == "pandas":
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_frame('pandas') needs pandas: pip install 'povrules[notebook]'") from None
        return pd.DataFrame(rows, columns=list(columns))
    if library == "polars":
        try:
            import polars as pl
        except ImportError:
            raise ImportError("to_frame('polars') needs polars: pip install 'povrules[notebook]'") from None
        return pl.DataFrame(rows, schema=list(columns), orient="row") if rows else pl.DataFrame(schema=list(columns))
    raise UnknownName("library", library, ("pandas", "polars"), hint="library is 'pandas' or 'polars'")
