"""Rulesets: the YAML format, loading with ``extends``, and the loaded types."""

from povrules.ruleset.diff import RulesetDiff, diff_rulesets
from povrules.ruleset.loader import load_ruleset
from povrules.ruleset.model import (
    Citation,
    DecisionSpec,
    Derived,
    Parameter,
    ParameterValue,
    Rule,
    Ruleset,
    Source,
    Text,
    TieBreak,
)

__all__ = [
    "Citation",
    "DecisionSpec",
    "Derived",
    "Parameter",
    "ParameterValue",
    "Rule",
    "Ruleset",
    "Source",
    "Text",
    "TieBreak",
    "load_ruleset",
    "RulesetDiff",
    "diff_rulesets",
]
