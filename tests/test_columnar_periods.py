"""The columnar evaluator against the row engine on figures of a named period.

A parameter value with a term (``until:``) is a figure of one period, such as a county's average
income of one calendar year read with ``at()``. The synthetic county of ``test_columnar`` has one
income period, so a ruleset that requires another (篇六(2): a whole calendar year) refuses every
household there and the comparison is trivial. Here each such ruleset is compared on a synthetic
county dated on the day after each term, whose incomes then cover exactly that term, decided on
the first day every parameter has a value (a plan may be issued after the year its figure is of), so
that its figures are computed, compared with the line, and decided both ways alike.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

pl = pytest.importorskip("polars")

import povrules  # noqa: E402
from povrules import synth  # noqa: E402
from povrules.columnar import caseload_frame, decide_frame  # noqa: E402

RULESETS = sorted(Path(__file__).resolve().parent.parent.glob("rulesets/*/ruleset.yaml"))


# Rulesets that require an income period of their own without a termed figure: the day after the
# period ends, for a synthetic county whose incomes are the twelve months before its date.
NAMED_PERIODS = {
    # 003_e3e29ff1be94684a.txt:404 测算周期为20xx年5月1日至20xx年4月30日
    "cn-liaoning-yingkou": date(2022, 5, 1),
}


def _terms() -> list[object]:
    """(ruleset path, decision, synthetic county's date) for every household ruleset with a termed
    value (the day after the term's last) or a named period (above)."""
    cases = []
    for path in RULESETS:
        ruleset = povrules.load_ruleset(path)
        if ruleset.subject != "household":
            continue
        ends = sorted(
            {v.end + timedelta(days=1) for p in ruleset.parameters.values() for v in p.values if v.end is not None}
        )
        if path.parent.name in NAMED_PERIODS:
            ends.append(NAMED_PERIODS[path.parent.name])
        for end in ends:
            for name, spec in ruleset.decisions.items():
                # Amounts: the row engine only. A decision that reads no figure has nothing to do with a term.
                reads = any(ruleset.rules[r].parameters for r in spec.rule_ids)
                if spec.kind not in ("ranking", "amount") and reads:
                    cases.append(pytest.param(path, name, end, id=f"{path.parent.name}:{name}:{end}"))
    return cases


def test_some_shipped_ruleset_has_a_termed_value() -> None:
    assert _terms(), "no shipped ruleset has a parameter value with until: (this test would compare nothing)"


@pytest.mark.parametrize(("path", "decision", "dated"), _terms())
def test_columnar_equals_row_engine_within_a_term(path: Path, decision: str, dated: date) -> None:
    ruleset = povrules.load_ruleset(path)
    households = synth.county(600, 1905, as_of=dated)
    day = max([dated, *(v.start for p in ruleset.parameters.values() for v in p.values if v.end is None)])
    frame = caseload_frame(households)
    decided = decide_frame(frame, ruleset, decision, day)
    made = list(povrules.evaluate_iter(households, ruleset, decision, as_of=day, trace=False))
    for row, expected in zip(decided.iter_rows(), made, strict=True):
        assert row == (
            expected.facts_id,
            expected.outcome,
            list(expected.labels),
            list(expected.missing),
            list(expected.reasons),
        )
    outcomes = Counter(d.outcome for d in made)
    # Not trivial: within the term households are decided on the figure, none refused for its period.
    assert set(outcomes) - {"undetermined"}, outcomes
    assert not [m for d in made for m in d.missing if ".requires[" in m]
