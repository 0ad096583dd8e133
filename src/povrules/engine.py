"""Evaluation: rules → items with three-valued results → one answer.

Every decision kind reduces to the same step. Each rule the decision names
is evaluated to true, false or unknown; a *combination function* turns a
true/false assignment of those items into a label (eligibility: base
criteria plus defeasible exceptions; tables: a DMN hit policy). When some
items are unknown, :func:`_settle` tries every completion: if all give the
same verdict the answer is determined, otherwise it is ``undetermined`` and
the missing facts listed are those of the items whose value could change it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from itertools import product
from typing import Any

import attrs

from povrules.errors import EvaluationError
from povrules.facts import Household, Override
from povrules.lang.compiler import Env, Leaf, Unknown
from povrules.ruleset.model import DecisionSpec, ParameterValue, Rule, Ruleset

UNDETERMINED = "undetermined"
NEEDS_DELIBERATION = "needs_deliberation"
CONFLICT = "conflict"
RANKED = "ranked"
MAX_ENUMERATED = 12  # unknown items; beyond this every unknown item is reported as relevant

Value = Any  # True, False or Unknown


@attrs.frozen
class RuleResult:
    """One rule tried: its value, the leaf conditions behind it, and what became of its effect.

    ``status`` is one of: ``met``, ``not_met`` (criteria and ranking criteria);
    ``applied``, ``overridden``, ``awaiting_deliberation``, ``superseded``,
    ``not_applicable`` (exceptions); ``selected``, ``matched``, ``not_matched``
    (table rows); ``unknown``; ``not_in_force``.
    """

    rule: Rule
    role: str
    value: Value
    leaves: tuple[Leaf, ...]
    status: str
    override: Override | None = None


@attrs.frozen(eq=False)
class Decision:
    """The answer to one decision for one household, with everything needed to explain it."""

    decision: str
    kind: str
    outcome: str
    labels: tuple[str, ...]
    missing: tuple[str, ...]
    possible: tuple[str, ...]
    reasons: tuple[str, ...]
    results: tuple[RuleResult, ...]
    household: Household
    ruleset: Ruleset
    as_of: date
    parameters: dict[str, ParameterValue]
    traced: bool
    sort_key: tuple[Any, ...] = ()

    @property
    def determined(self) -> bool:
        return self.outcome != UNDETERMINED

    def trace(self) -> dict[str, Any]:
        """The ``povrules.trace.v1`` document of this decision."""
        from povrules.trace import to_trace

        return to_trace(self)

    def to_json(self) -> str:
        """The trace as canonical JSON (sorted keys, decimals as strings): byte-identical for the same inputs."""
        from povrules.trace import canonical_json

        return canonical_json(self.trace())

    def explain(self, lang: str = "zh") -> str:
        """The decision as sentences a caseworker can read, in ``"zh"`` or ``"en"``."""
        from povrules.trace import explain

        return explain(self, lang)

    def __repr__(self) -> str:
        extra = f" missing={list(self.missing)}" if self.missing else ""
        return f"<Decision {self.decision}={self.outcome} household={self.household.id}{extra}>"


def evaluate(household: Household, ruleset: Ruleset, decision: str, *, as_of: date, trace: bool = True) -> Decision:
    """Answer ``decision`` for one household as of a date.

    ``trace=False`` skips recording leaf conditions (faster; the decision still
    lists rule results). The household must be a validated :class:`Household`.
    """
    if not isinstance(household, Household):
        raise TypeError("evaluate() takes a Household; validate JSON with povrules.parse_household first")
    if not isinstance(as_of, date):
        raise TypeError("as_of must be a datetime.date")
    spec = ruleset.decision(decision)
    params = _parameters(ruleset, spec, as_of)
    env = Env(household, {name: pv.value for name, pv in params.items()}, as_of, None)
    program = ruleset.traced if trace else ruleset.plain
    if spec.kind == "eligibility":
        return _eligibility(spec, ruleset, program.rules, env, params, trace)
    if spec.kind == "table":
        return _table(spec, ruleset, program.rules, env, params, trace)
    return _ranking_item(spec, ruleset, program, env, params, trace)


def _parameters(ruleset: Ruleset, spec: DecisionSpec, as_of: date) -> dict[str, ParameterValue]:
    params = ruleset.parameters_as_of(as_of)
    if len(params) != len(ruleset.parameters):
        for rule_id in spec.rule_ids:
            rule = ruleset.rules[rule_id]
            for name in rule.parameters:
                if name not in params and rule.in_force(as_of):
                    first = ruleset.parameters[name].values[0].start
                    raise EvaluationError(
                        f"parameter {name!r} (used by rule {rule_id!r}) has no value in force on {as_of}; "
                        f"its first value starts {first}"
                    )
    return params


def _run(rule: Rule, fn: Callable[[Env], Value], env: Env, trace: bool) -> tuple[Value, tuple[Leaf, ...]]:
    if trace:
        env.rec = []
        value = fn(env)
        return value, tuple(env.rec)
    return fn(env), ()


def _settle(values: Sequence[Value], label: Callable[[Sequence[bool]], str],
            verdict: Callable[[str], str]) -> tuple[str | None, set[int], tuple[str, ...]]:
    """Combine item values; with unknown items, try every completion.

    Returns (label, or None if undetermined; indices of unknown items that
    could change the verdict; the labels possible).
    """
    unknown = [i for i, v in enumerate(values) if v.__class__ is Unknown]
    if not unknown:
        return label([bool(v) for v in values]), set(), ()
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
            flipped = combo[:position] + (not combo[position],) + combo[position + 1:]
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


def _override(rule: Rule, household: Household, as_of: date) -> Override | None:
    """The latest decision, on or before ``as_of``, of a body the rule names."""
    found = None
    for item in household.overrides or ():
        if item.rule == rule.id and item.body in rule.override_by and item.decided_on <= as_of:
            if found is None or item.decided_on >= found.decided_on:
                found = item
    return found


def _eligibility(spec: DecisionSpec, ruleset: Ruleset, fns: Any, env: Env,
                 params: dict[str, ParameterValue], trace: bool) -> Decision:
    as_of = env.as_of
    criteria = [ruleset.rules[r] for r in spec.criteria]
    exceptions = [ruleset.rules[r] for r in spec.exceptions]
    crit_runs = [(_run(r, fns[r.id], env, trace) if r.in_force(as_of) else None) for r in criteria]
    exc_runs = [(_run(r, fns[r.id], env, trace) if r.in_force(as_of) else None) for r in exceptions]
    base = _kleene_all(run[0] for run in crit_runs if run is not None)
    active = [(r, run) for r, run in zip(exceptions, exc_runs) if run is not None]
    overrides = [(_override(r, env.hh, as_of) if r.strength == "default" else None) for r, _ in active]
    # What each exception does if it holds: fire, await deliberation, or stand set aside.
    effects = []
    for (rule, _), override in zip(active, overrides):
        if rule.strength == "hard" or (override is not None and override.outcome == "upheld"):
            effects.append("fired")
        elif override is None:
            effects.append("pending")
        else:
            effects.append("overridden")

    def verdict(label: str) -> str:
        if label in (CONFLICT, NEEDS_DELIBERATION):
            return label
        return "yes" if label == spec.yes else "no"

    def label(bits: Sequence[bool]) -> str:
        base_label = spec.yes if bits[0] else spec.no
        live = [(rule.level, effect, rule.outcome) for (rule, _), effect, on in zip(active, effects, bits[1:])
                if on and effect != "overridden"]
        if not live:
            return base_label
        top = max(level for level, _, _ in live)
        fired = {outcome for level, effect, outcome in live if level == top and effect == "fired"}
        pending = {outcome for level, effect, outcome in live if level == top and effect == "pending"}
        if fired:
            fired_verdicts = {verdict(o) for o in fired}  # type: ignore[arg-type]
            if len(fired) > 1 and len(fired_verdicts) > 1:
                return CONFLICT
            chosen: str = sorted(fired)[0]  # type: ignore[type-var]
            return NEEDS_DELIBERATION if any(verdict(o) != verdict(chosen) for o in pending) else chosen  # type: ignore[arg-type]
        return NEEDS_DELIBERATION if any(verdict(o) != verdict(base_label) for o in pending) else base_label  # type: ignore[arg-type]

    values = [base] + [run[0] for _, run in active]
    outcome, relevant, possible = _settle(values, label, verdict)
    missing = _missing(values[i] for i in relevant)
    final = outcome if outcome is not None else UNDETERMINED

    # Statuses and reasons, read off the settled answer.
    results: list[RuleResult] = []
    reasons: list[str] = []
    for rule, run in zip(criteria, crit_runs):
        if run is None:
            results.append(RuleResult(rule, "criterion", None, (), "not_in_force"))
            continue
        value, leaves = run
        status = "unknown" if value.__class__ is Unknown else "met" if value else "not_met"
        results.append(RuleResult(rule, "criterion", value, leaves, status))
        if final == spec.no and status == "not_met" or final == spec.yes and status == "met":
            reasons.append(rule.id)
    top_level = max((r.level for (r, run), e in zip(active, effects) if run[0] is True and e != "overridden"), default=None)
    active_iter = iter(zip(active, effects, overrides))
    for rule, run in zip(exceptions, exc_runs):
        if run is None:
            results.append(RuleResult(rule, "exception", None, (), "not_in_force"))
            continue
        (_, (value, leaves)), effect, override = next(active_iter)
        if value.__class__ is Unknown:
            status = "unknown"
        elif not value:
            status = "not_applicable"
        elif effect == "overridden":
            status = "overridden"
        elif rule.level != top_level:
            status = "superseded"
        elif effect == "pending":
            status = "awaiting_deliberation"
        else:
            status = "applied"
        if status in ("applied", "awaiting_deliberation") and (final == rule.outcome or final in (NEEDS_DELIBERATION, CONFLICT)):
            reasons.append(rule.id)
        results.append(RuleResult(rule, "exception", value, leaves, status, override))
    return Decision(spec.name, spec.kind, final, (final,), missing, possible, tuple(reasons), tuple(results),
                    env.hh, ruleset, as_of, params, trace)


def _table(spec: DecisionSpec, ruleset: Ruleset, fns: Any, env: Env,
           params: dict[str, ParameterValue], trace: bool) -> Decision:
    rows = [ruleset.rules[r] for r in spec.rows]
    runs = [(_run(r, fns[r.id], env, trace) if r.in_force(env.as_of) else None) for r in rows]
    live = [(r, run) for r, run in zip(rows, runs) if run is not None]
    outcomes = [r.outcome or "" for r, _ in live]
    rank = {o: i for i, o in enumerate(spec.priority)}

    def label(bits: Sequence[bool]) -> str:
        hits = [o for o, on in zip(outcomes, bits) if on]
        if not hits:
            return spec.default
        if spec.hit_policy == "UNIQUE":
            return hits[0] if len(hits) == 1 else CONFLICT
        if spec.hit_policy == "FIRST":
            return hits[0]
        if spec.hit_policy == "PRIORITY":
            return min(hits, key=rank.__getitem__)
        return "+".join(dict.fromkeys(hits))

    values = [run[0] for _, run in live]
    outcome, relevant, possible = _settle(values, label, lambda lab: lab)
    final = outcome if outcome is not None else UNDETERMINED
    labels = tuple(final.split("+")) if spec.hit_policy == "COLLECT" and outcome is not None else (final,)
    results, reasons = [], []
    selected_one = False
    for rule, run in zip(rows, runs):
        if run is None:
            results.append(RuleResult(rule, "row", None, (), "not_in_force"))
            continue
        value, leaves = run
        if value.__class__ is Unknown:
            status = "unknown"
        elif not value:
            status = "not_matched"
        elif final == CONFLICT or (rule.outcome in labels and not (spec.hit_policy == "FIRST" and selected_one)):
            status = "selected" if final != CONFLICT else "matched"
            selected_one = True
            reasons.append(rule.id)
        else:
            status = "matched"
        results.append(RuleResult(rule, "row", value, leaves, status))
    missing = _missing(values[i] for i in relevant)
    return Decision(spec.name, spec.kind, final, labels, missing, possible, tuple(reasons), tuple(results),
                    env.hh, ruleset, env.as_of, params, trace)


class _Descending:
    """Reverses the order of a value inside a sort key."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and bool(self.value == other.value)

    def __repr__(self) -> str:
        return f"desc({self.value!r})"


def _ranking_item(spec: DecisionSpec, ruleset: Ruleset, program: Any, env: Env,
                  params: dict[str, ParameterValue], trace: bool) -> Decision:
    """One household's place in a ranking: which criteria it meets, and its sort key."""
    results, flags = [], []
    for rule_id in spec.criteria:
        rule = ruleset.rules[rule_id]
        if not rule.in_force(env.as_of):
            results.append(RuleResult(rule, "criterion", None, (), "not_in_force"))
            continue
        value, leaves = _run(rule, program.rules[rule_id], env, trace)
        status = "unknown" if value.__class__ is Unknown else "met" if value else "not_met"
        results.append(RuleResult(rule, "criterion", value, leaves, status))
        flags.append(value)
    env.rec = None
    breaks = [fn(env) for fn in program.tiebreaks[spec.name]]
    missing = _missing([*flags, *breaks])
    met = tuple(r.rule.id for r in results if r.status == "met")
    if missing:
        return Decision(spec.name, spec.kind, UNDETERMINED, met, missing, (), met, tuple(results),
                        env.hh, ruleset, env.as_of, params, trace)
    head: tuple[Any, ...] = (-len(met),) if spec.order == "count" else tuple(0 if f else 1 for f in flags)
    tail = tuple(_Descending(v) if t.descending else v for v, t in zip(breaks, spec.tiebreak))
    return Decision(spec.name, spec.kind, RANKED, met, (), (), met, tuple(results),
                    env.hh, ruleset, env.as_of, params, trace, sort_key=head + tail)


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
        from povrules.trace import explain_ranking

        return explain_ranking(self, lang)


def rank(households: Iterable[Household], ruleset: Ruleset, decision: str, *, as_of: date,
         trace: bool = True) -> Ranking:
    """Order households by a ranking decision (六优先, 三优先 …).

    Households for which the ``among`` decision does not give one of its
    listed outcomes are left out (``not_eligible``, with that decision);
    households whose place depends on missing facts are listed apart.
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
    placed.sort(key=lambda d: (d.sort_key, d.household.id))
    entries: list[RankEntry] = []
    for index, item in enumerate(placed):
        same_as_previous = index > 0 and placed[index - 1].sort_key == item.sort_key
        same_as_next = index + 1 < len(placed) and placed[index + 1].sort_key == item.sort_key
        position = entries[-1].position if same_as_previous else index + 1
        entries.append(RankEntry(position, item.household.id, item.labels, same_as_previous or same_as_next, item))
    return Ranking(decision, as_of, tuple(entries), tuple(not_eligible), tuple(undetermined))
