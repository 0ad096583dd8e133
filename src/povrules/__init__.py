"""povrules: poverty identification, exit and monitoring decisions from declarative rulesets.

The public API::

    import povrules
    ruleset = povrules.load_ruleset("rulesets/cn-yunnan-weishan")
    household = povrules.parse_household(json_text)
    decision = povrules.evaluate(household, ruleset, "identify_poor_household", as_of=date(2016, 6, 30))
    print(decision.outcome, decision.explain("zh"))
    povrules.display_language("en")  # what Jupyter shows of a decision, ruleset or comparison: English

For a caseload, ``evaluate_iter`` decides one household at a time in constant memory;
``plan(ruleset, decision)`` gives the prepared :class:`Plan` that every evaluation runs.
"""

from povrules._version import __version__
from povrules.compare import Cause, Change, Comparison, Sweep, compare, sweep
from povrules.engine import (
    Amount,
    AmountPart,
    Decision,
    Plan,
    RankEntry,
    Ranking,
    RuleResult,
    evaluate,
    evaluate_iter,
    evaluate_many,
    plan,
    rank,
)
from povrules.errors import EvaluationError, FactsError, JurisdictionWarning, Location, PovrulesError, RulesetError
from povrules.facts import County, Household, Village, facts_schema, household_schema, parse_facts, parse_household
from povrules.html import display_language
from povrules.lifecycle import Transition, TransitionRefused, transition
from povrules.ruleset import Ruleset, load_ruleset


def _provide_hooks() -> None:
    """Fill the hooks of the lower layers with the functions of the higher ones that do their work (see
    :mod:`povrules.hooks`): the one table of which module provides what."""
    from povrules import html, text, trace
    from povrules.compare import COMPARISON_HTML, SWEEP_HTML
    from povrules.engine import EXPLAIN, EXPLAIN_RANKING, HTML_VIEW, TRACE
    from povrules.ruleset import loader, model, variant

    TRACE.provide(trace.to_trace)
    EXPLAIN.provide(text.explain)
    EXPLAIN_RANKING.provide(text.explain_ranking)
    HTML_VIEW.provide(html.decision_html)
    model.WITH_PARAMETER.provide(variant.parameter_variant)
    model.WITH_RULE.provide(variant.rule_variant)
    model.WITHOUT_RULE.provide(variant.without_rule)
    model.WITH_OVERLAY.provide(variant.overlay_variant)
    model.REBUILD.provide(loader.rebuild_ruleset)
    model.RULESET_HTML.provide(html.ruleset_html)
    COMPARISON_HTML.provide(html.comparison_html)
    SWEEP_HTML.provide(html.sweep_html)


_provide_hooks()

__all__ = [
    "Amount",
    "AmountPart",
    "Cause",
    "Change",
    "Comparison",
    "County",
    "Decision",
    "EvaluationError",
    "FactsError",
    "Household",
    "JurisdictionWarning",
    "Location",
    "Plan",
    "PovrulesError",
    "RankEntry",
    "Ranking",
    "RuleResult",
    "Ruleset",
    "RulesetError",
    "Sweep",
    "Transition",
    "TransitionRefused",
    "Village",
    "__version__",
    "compare",
    "display_language",
    "evaluate",
    "evaluate_iter",
    "evaluate_many",
    "facts_schema",
    "household_schema",
    "load_ruleset",
    "parse_facts",
    "parse_household",
    "plan",
    "rank",
    "sweep",
    "transition",
]
