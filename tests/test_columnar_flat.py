"""The flat layout (one column per fact path) against the row engine, and the way ``decide`` codes
missing facts as bit masks.

Every non-ranking decision of every shipped ruleset is decided from the flat layout of the same
synthetic subjects as tests/test_columnar.py and compared with the row engine row for row
(outcome, labels, missing facts, reasons).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

pl = pytest.importorskip("polars")

import povrules  # noqa: E402
from povrules.columnar import (  # noqa: E402
    FramePlan,
    decide_frame,
    explain_row,
    flat_frame,
    nested_frame,
    rule_values_frame,
)
from povrules.columnar import evaluate as columnar_evaluate  # noqa: E402
from povrules.errors import PovrulesError  # noqa: E402
from test_columnar import BASE_DAY, RULESETS, _county, _days, _declared_rows, _ruleset  # noqa: E402

# The three-rule benchmark's facts: the line, and a car that excludes.
THREE_RULES = RULESETS[0].parent.parent.parent / "benchmarks" / "rulesets" / "three_rules.yaml"


def _decisions() -> list[Any]:
    cases = []
    for path in RULESETS:
        ruleset = _ruleset(path)
        declared = _declared_rows(ruleset)
        for name, spec in ruleset.decisions.items():
            # Amounts and declared facts: the row engine only.
            if spec.kind not in ("ranking", "amount") and not declared & set(spec.rule_ids):
                cases.append(pytest.param(path, name, id=f"{path.parent.name}:{name}"))
    return cases


@pytest.mark.parametrize(("path", "decision"), _decisions())
def test_flat_layout_equals_row_engine(path: Any, decision: str) -> None:
    ruleset = _ruleset(path)
    subjects, frame = _county(ruleset.subject)
    flat = flat_frame(frame, subject=ruleset.subject)
    day = _days(ruleset)[0]
    try:
        expected = list(povrules.evaluate_iter(subjects, ruleset, decision, as_of=day, trace=False))
    except povrules.EvaluationError:
        with pytest.raises(povrules.EvaluationError):
            decide_frame(flat, ruleset, decision, day)
        return
    decided = decide_frame(flat, ruleset, decision, day)
    for made, row in zip(expected, decided.iter_rows()):
        assert row == (made.facts.id, made.outcome, list(made.labels), list(made.missing), list(made.reasons))


def test_layouts_convert_both_ways() -> None:
    subjects, frame = _county("household")
    flat = flat_frame(frame)
    assert flat.schema["income.per_capita_net"] == pl.Int64
    assert flat.schema["members.age"] == pl.List(pl.Int64)
    assert flat.height == frame.height
    # A record whose facts are all unknown comes back unknown: compare through the flat layout.
    assert flat_frame(nested_frame(flat)).equals(flat)
    assert nested_frame(frame) is frame  # no dotted column: already the engine's layout
    ruleset = _ruleset(next(p for p in RULESETS if p.parent.name == "cn-hunan-county-plan4"))
    alone = povrules.evaluate(subjects[7], ruleset, "monitoring_type", as_of=BASE_DAY)
    assert explain_row(flat, 7, ruleset, "monitoring_type", BASE_DAY).to_json() == alone.to_json()


def test_only_the_facts_the_rules_read_need_be_given() -> None:
    """The benchmark's flat columns: per-capita income in fen and the vehicles' kinds."""
    ruleset = povrules.load_ruleset(THREE_RULES)
    day = date(2016, 6, 30)
    flat = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "income.per_capita_net": [350_000, 500_000, None, 350_000, None, 350_000],
            "assets.vehicles.kind": [["truck"], ["car"], ["truck", "car"], None, [], []],
        },
        schema_overrides={"assets.vehicles.kind": pl.List(pl.String)},
    )
    households = [
        povrules.parse_household(
            {
                "id": i,
                **({"income": {"per_capita_net": str(c / 100)}} if c is not None else {}),
                **({"assets": {"vehicles": [{"kind": k} for k in v]}} if v is not None else {}),
            }
        )
        for i, c, v in flat.iter_rows()
    ]
    decided = decide_frame(flat, ruleset, "identify", day)
    for made, row in zip(
        povrules.evaluate_iter(households, ruleset, "identify", as_of=day, trace=False), decided.iter_rows()
    ):
        assert row == (made.facts.id, made.outcome, list(made.labels), list(made.missing), list(made.reasons))
    assert decided["outcome"].to_list() == [
        "identified",
        "excluded",
        "excluded",
        "undetermined",
        "undetermined",
        "identified",
    ]
    values = rule_values_frame(flat, ruleset, "identify", day)
    assert values["owns_car"].to_list() == [False, True, True, None, False, False]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"income.per_capita": [1]}, "'income.per_capita' is not a fact"),
        ({"income": [None], "income.per_capita_net": [1]}, "given twice"),
        ({"income.per_capita_net": [1.5]}, "expected Int64, found Float64"),
        ({"assets.vehicles.kind": [["car"]], "assets.vehicles.value": [[100, 200]]}, "not aligned"),
        ({"assets.vehicles.kind": ["car"]}, "must be a list column"),
    ],
)
def test_a_bad_flat_frame_is_refused_naming_the_column(columns: dict[str, Any], message: str) -> None:
    frame = pl.DataFrame({"id": ["a"], **columns})
    with pytest.raises(PovrulesError, match=message):
        nested_frame(frame)


def test_missing_masks_of_several_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shipped decision names more than one mask word of static paths, and most name few enough
    for a table of every mask: two paths a word, and no such table, make the combining of words
    run, with the same answers."""
    ruleset = _ruleset(next(p for p in RULESETS if p.parent.name == "cn-liaoning-yingkou"))
    subjects, frame = _county("household")
    day = _days(ruleset)[0]
    expected = list(povrules.evaluate_iter(subjects, ruleset, "focus_group", as_of=day, trace=False))
    monkeypatch.setattr(columnar_evaluate, "_WORD", 2)
    monkeypatch.setattr(columnar_evaluate, "_DIRECT_BITS", 0)
    decided = FramePlan(ruleset, "focus_group", day).decide(frame)
    assert sum(len(d.missing) > 2 for d in expected) > 20  # rows whose paths span words
    assert decided["missing"].to_list() == [list(d.missing) for d in expected]


def test_patterns_by_lookup_array_and_by_hashing_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decisions of few rules index their patterns by a lookup array, others by hashing: forcing
    the hashing on the former gives the same frames."""
    checked = 0
    for path in RULESETS:
        ruleset = _ruleset(path)
        _, frame = _county(ruleset.subject)
        declared = _declared_rows(ruleset)
        for name, spec in ruleset.decisions.items():
            if spec.kind == "amount" or declared & set(spec.rule_ids):  # the columnar engine refuses these
                continue
            plan = FramePlan(ruleset, name, _days(ruleset)[0])
            if plan.is_ranking or plan.plan.reads_facts or 3 ** len(plan.names) > columnar_evaluate._LOOKUP_LIMIT:
                continue
            try:
                looked_up = plan.decide(frame)
            except povrules.EvaluationError:  # a zero divisor the row engine reaches (tests/test_columnar.py)
                continue
            with monkeypatch.context() as patch:
                patch.setattr(columnar_evaluate, "_LOOKUP_LIMIT", 1)
                assert plan.decide(frame).equals(looked_up), name
            checked += 1
    assert checked > 10


def test_field_lists_laid_out_differently_are_aligned_by_their_lengths() -> None:
    """Field lists need the same lengths and unknown rows, not the same buffers: one sliced, one not."""
    kinds = pl.Series("assets.vehicles.kind", [["bus"], ["car", "truck"], [], None], dtype=pl.List(pl.String))
    values = pl.Series("assets.vehicles.value", [[100_000, 250], [], None], dtype=pl.List(pl.Int64))
    nested = nested_frame(pl.DataFrame([pl.Series("id", ["a", "b", "c"]), kinds.slice(1), values]))
    assert nested["assets"].struct.field("vehicles").to_list() == [
        [{"kind": "car", "value": 100_000}, {"kind": "truck", "value": 250}],
        [],
        None,
    ]
