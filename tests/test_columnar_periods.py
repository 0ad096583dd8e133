"""The columnar evaluator against the row engine on figures of a named period.

A parameter value with a term (``until:``) is a figure of one period, such as a county's average
income of one calendar year read with ``at()``. The synthetic county of ``test_columnar`` has one
income period, so a ruleset that requires another (篇六(2): a whole calendar year) refuses every
household there and the comparison is trivial. Here each such ruleset is compared on a synthetic
county dated on the last day of each term, whose incomes then cover exactly that term, decided on
the first day every parameter has a value (a plan may be issued after the year its figure is of), so
that its figures are computed, compared with the line, and decided both ways alike.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

pl = pytest.importorskip("polars")

import povrules  # noqa: E402
from povrules import synth  # noqa: E402
from povrules.columnar import caseload_frame, decide_frame  # noqa: E402

RULESETS = sorted(Path(__file__).resolve().parent.parent.glob("rulesets/*/ruleset.yaml"))


def _terms() -> list[object]:
    """(ruleset path, decision, last day of a term) for every household ruleset with a termed value."""
    cases = []
    for path in RULESETS:
        ruleset = povrules.load_ruleset(path)
        if ruleset.subject != "household":
            continue
        ends = sorted({v.end for p in ruleset.parameters.values() for v in p.values if v.end is not None})
        for end in ends:
            for name, spec in ruleset.decisions.items():
                if spec.kind != "ranking":
                    cases.append(pytest.param(path, name, end, id=f"{path.parent.name}:{name}:{end}"))
    return cases


def test_some_shipped_ruleset_has_a_termed_value() -> None:
    assert _terms(), "no shipped ruleset has a parameter value with until: (this test would compare nothing)"


@pytest.mark.parametrize(("path", "decision", "end"), _terms())
def test_columnar_equals_row_engine_within_a_term(path: Path, decision: str, end: date) -> None:
    ruleset = povrules.load_ruleset(path)
    households = synth.county(600, 1905, as_of=end)
    day = max([end, *(v.start for p in ruleset.parameters.values() for v in p.values if v.end is None)])
    frame = caseload_frame(households)
    decided = decide_frame(frame, ruleset, decision, day)
    made = list(povrules.evaluate_iter(households, ruleset, decision, as_of=day, trace=False))
    for row, expected in zip(decided.iter_rows(), made, strict=True):
        assert row == (expected.facts_id, expected.outcome, list(expected.labels), list(expected.missing),
                       list(expected.reasons))
    outcomes = Counter(d.outcome for d in made)
    # Not trivial: within the term some households are decided on the figure, not all refused.
    assert set(outcomes) - {"undetermined"}, outcomes
