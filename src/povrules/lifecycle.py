"""The monitoring lifecycle: which status a household may move to, and applying a decision to it.

A household under return-to-poverty monitoring (防返贫监测) has one status at a time:

    none ─► monitored ⇄ tracked_attention ─► risk_eliminated ─► rolled_back
    (the full list of moves is :data:`ALLOWED`, kept with the facts' statuses; docs/lifecycle.md draws it as a table)

A decision changes the status only if its ruleset says so (a ``transition`` in
the decision: the statuses it applies to, and the status each outcome leads
to), and only along an edge of :data:`ALLOWED`; the loader refuses a ruleset
that declares any other edge. :func:`transition` evaluates the decision and
returns the household with its new status and dates, or refuses with the reason.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import attrs

from povrules.engine import CONFLICT, NEEDS_DELIBERATION, UNDETERMINED, Decision, evaluate
from povrules.errors import EvaluationError
from povrules.facts import Household, Monitoring
from povrules.facts.household import ALLOWED, STATUSES
from povrules.wording import phrase

__all__ = ["ALLOWED", "ENTRY_DATE", "STATUSES", "Transition", "TransitionRefused", "status_of", "transition"]

if TYPE_CHECKING:
    from povrules.ruleset.model import Ruleset

# The date each status records when a household enters it (besides ``status_since``).
ENTRY_DATE = {
    "monitored": "included_on",
    "risk_eliminated": "risk_eliminated_on",
    "rolled_back": "rolled_back_on",
    "removed": "removed_on",
}


class TransitionRefused(EvaluationError):
    """A decision cannot move this household: the reason is the message."""


@attrs.frozen
class Transition:
    """A decision applied to a household's monitoring status."""

    decision: Decision
    before: str
    after: str
    household: Household  # the household as it stands after the transition

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def explain(self, lang: str = "zh") -> str:
        move = f"{self.before} → {self.after}" if self.changed else phrase("unchanged", lang, status=self.before)
        head = phrase("monitoring_status", lang)
        return f"{head}: {move}\n{self.decision.explain(lang)}"


def status_of(household: Household) -> str | None:
    """The household's monitoring status; ``none`` when it records no monitoring, None when the status is unknown."""
    if household.monitoring is None:
        return "none"
    return household.monitoring.status


def transition(household: Household, ruleset: Ruleset, decision: str, *, as_of: date, trace: bool = True) -> Transition:
    """Evaluate ``decision`` and apply its outcome to the household's monitoring status.

    Raises :class:`TransitionRefused` when the decision changes no status, the
    household's status is unknown or not one the decision applies to, or the
    outcome is not settled (undetermined, awaiting deliberation, a conflict).
    """
    spec = ruleset.decision(decision)
    rule = spec.transition
    if rule is None:
        raise TransitionRefused(f"decision {decision!r} of {ruleset.id} changes no monitoring status")
    before = status_of(household)
    if before is None:
        raise TransitionRefused("the household's monitoring status is unknown (hh.monitoring.status)")
    if before not in rule.applies_to:
        raise TransitionRefused(
            f"decision {decision!r} applies to households whose status is "
            f"{', '.join(rule.applies_to)}; this household's is {before}"
        )
    result = evaluate(household, ruleset, decision, as_of=as_of, trace=trace)
    if result.outcome in (UNDETERMINED, NEEDS_DELIBERATION, CONFLICT):
        needed = f"; facts still needed: {', '.join(result.missing)}" if result.missing else ""
        raise TransitionRefused(f"decision {decision!r} is {result.outcome}, so the status stays {before}{needed}")
    target = rule.on.get(result.outcome)
    if target is None:
        return Transition(result, before, before, household)
    after, monitoring_type = target
    if after != before and after not in ALLOWED[before]:  # the loader checks this; a guard for hand-built rulesets
        raise TransitionRefused(f"the lifecycle does not lead from {before} to {after}")
    if after == before and monitoring_type is None:
        return Transition(result, before, before, household)
    monitoring = household.monitoring or Monitoring()
    update: dict[str, object] = {"status": after, "status_since": as_of}
    if after in ENTRY_DATE:
        update[ENTRY_DATE[after]] = as_of
    if monitoring_type is not None:
        update["type"] = monitoring_type
    moved = household.model_copy(update={"monitoring": monitoring.model_copy(update=update)})
    return Transition(result, before, after, moved)
