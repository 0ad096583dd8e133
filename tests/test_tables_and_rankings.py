"""Decision tables (DMN hit policies) and rankings.

``tables.yaml`` rows: ``low`` (income < 3000), ``middle`` (2000 ≤ income < 6000; overlaps ``low``
on [2000, 3000)), ``high`` (income ≥ 6000), ``dibao``. ``ranking.yaml`` criteria: ``ill``,
``student``, ``disaster``; ``by_count`` ranks among households the ``eligible`` decision admits.
"""

from __future__ import annotations

from datetime import date

import pytest

import povrules

AS_OF = date(2021, 3, 1)


def table(ruleset, household, name):
    return povrules.evaluate(household, ruleset, name, as_of=AS_OF)


def income(build, amount, dibao=None, hid="h1"):
    facts = {"income": {"per_capita_net": amount}}
    if dibao is not None:
        facts["registration"] = {"dibao": dibao}
    return build.household(hid, **facts)


# UNIQUE


@pytest.mark.parametrize(
    "amount, outcome",
    [
        (0, "low"),
        (1999, "low"),
        (3000, "middle"),
        (5999.99, "middle"),
        (6000, "high"),
        (10**6, "high"),
    ],
)
def test_unique_one_row_matches(tables_rs, build, status_of, amount, outcome):
    d = table(tables_rs, income(build, amount), "band_unique")
    assert d.outcome == outcome and d.labels == (outcome,)
    assert d.reasons == (outcome,)
    assert status_of(d)[outcome] == "selected"
    assert sorted(status_of(d).values()) == ["not_matched", "not_matched", "selected"]


@pytest.mark.parametrize("amount", [2000, 2500, 2999.99])
def test_unique_overlap_is_a_conflict_naming_both_rows(tables_rs, build, status_of, amount):
    d = table(tables_rs, income(build, amount), "band_unique")
    assert d.outcome == "conflict"
    assert d.reasons == ("low", "middle")
    assert status_of(d) == {"low": "matched", "middle": "matched", "high": "not_matched"}
    assert d.trace()["reasons"] == ["low", "middle"]


def test_unique_with_the_deciding_fact_unknown(tables_rs, build, status_of):
    d = table(tables_rs, build.household(), "band_unique")
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.income.per_capita_net",)
    assert set(status_of(d).values()) == {"unknown"}
    assert d.reasons == ()


# FIRST


@pytest.mark.parametrize(
    "amount, dibao, outcome, selected",
    [
        (1000, True, "dibao", "dibao"),  # dibao is listed first
        (2500, False, "low", "low"),  # low before middle
        (4000, False, "middle", "middle"),
        (7000, False, "none_matched", None),  # the default
    ],
)
def test_first_takes_the_first_matching_row(tables_rs, build, status_of, amount, dibao, outcome, selected):
    d = table(tables_rs, income(build, amount, dibao), "first")
    assert d.outcome == outcome and d.labels == (outcome,)
    statuses = status_of(d)
    assert [rule for rule, status in statuses.items() if status == "selected"] == ([selected] if selected else [])
    assert d.reasons == ((selected,) if selected else ())


def test_first_marks_later_matching_rows_matched_not_selected(tables_rs, build, status_of):
    d = table(tables_rs, income(build, 2500, dibao=True), "first")
    assert status_of(d) == {"dibao": "selected", "low": "matched", "middle": "matched"}


def test_first_is_decided_by_an_earlier_true_row_whatever_comes_after(tables_rs, build):
    d = table(tables_rs, build.household(registration={"dibao": True}), "first")
    assert d.outcome == "dibao" and d.missing == ()


def test_first_with_an_unknown_earlier_row(tables_rs, build):
    d = table(tables_rs, income(build, 1000), "first")  # dibao unknown; low matches
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.registration.dibao",)
    assert d.possible == ("dibao", "low")


# PRIORITY (priority: dibao, middle, low)


@pytest.mark.parametrize(
    "amount, dibao, outcome",
    [
        (1000, True, "dibao"),
        (2500, False, "middle"),  # low and middle match; middle ranks higher
        (1000, False, "low"),
        (7000, False, "none_matched"),
    ],
)
def test_priority_takes_the_highest_ranked_outcome(tables_rs, build, status_of, amount, dibao, outcome):
    d = table(tables_rs, income(build, amount, dibao), "priority")
    assert d.outcome == outcome
    if outcome != "none_matched":
        assert status_of(d)[outcome] == "selected"
        assert d.reasons == (outcome,)
    else:
        assert d.reasons == ()


def test_priority_with_an_unknown_higher_row(tables_rs, build):
    d = table(tables_rs, income(build, 2500), "priority")
    assert d.outcome == "undetermined"
    assert d.missing == ("hh.registration.dibao",)
    assert d.possible == ("dibao", "middle")


def test_priority_is_decided_when_the_unknown_row_ranks_lower(tables_rs, build):
    d = table(tables_rs, build.household(registration={"dibao": True}), "priority")
    assert d.outcome == "dibao" and d.missing == ()


# COLLECT


@pytest.mark.parametrize(
    "amount, dibao, labels",
    [
        (2500, True, ("low", "middle", "dibao")),
        (4000, True, ("middle", "dibao")),
        (1000, False, ("low",)),
        (7000, False, ("none_matched",)),
    ],
)
def test_collect_gathers_every_matching_row(tables_rs, build, amount, dibao, labels):
    d = table(tables_rs, income(build, amount, dibao), "collect")
    assert d.outcome == "+".join(labels)
    assert d.labels == labels
    assert d.reasons == (labels if labels != ("none_matched",) else ())


def test_collect_with_an_unknown_row(tables_rs, build):
    d = table(tables_rs, income(build, 4000), "collect")
    assert d.outcome == "undetermined" and d.labels == ("undetermined",)
    assert d.missing == ("hh.registration.dibao",)
    assert d.possible == ("middle", "middle+dibao")


# Rankings


def rank_household(build, hid, ill=False, student=False, disaster=False, amount=None, rural=True, **over):
    facts = {
        "rural_hukou": rural,
        "members": [{"health": "serious_illness" if ill else "healthy", "enrolled_in_school": student}],
        "disaster": {"severity": "severe" if disaster else "none"},
    }
    if amount is not None:
        facts["income"] = {"per_capita_net": amount}
    facts.update(over)
    return build.household(hid, **facts)


@pytest.fixture
def village(build):
    return [
        rank_household(build, "a", ill=True, amount=3000),
        rank_household(build, "b", student=True, disaster=True, amount=2000),
        rank_household(build, "c", student=True, amount=1000),
        rank_household(build, "d", disaster=True, amount=1000),
        rank_household(build, "e", ill=True, student=True, disaster=True, amount=500, rural=False),
        rank_household(build, "f", amount=100),
    ]


def places(ranking):
    return [(e.position, e.household, e.tied) for e in ranking.entries]


def test_count_order_with_ties_sharing_a_position(ranking_rs, village):
    r = povrules.rank(village, ranking_rs, "by_count", as_of=AS_OF)
    assert places(r) == [(1, "b", False), (2, "a", True), (2, "c", True), (2, "d", True), (5, "f", False)]
    assert r.order() == ["b", "a", "c", "d", "f"]
    assert r.entries[0].met == ("student", "disaster")
    assert r.entries[-1].met == ()


def test_the_among_filter_leaves_out_households_the_gate_refuses(ranking_rs, village):
    r = povrules.rank(village, ranking_rs, "by_count", as_of=AS_OF)
    assert [d.household.id for d in r.not_eligible] == ["e"]
    assert r.not_eligible[0].outcome == "not_eligible"
    assert r.not_eligible[0].decision == "eligible"
    assert "e" not in r.order()


def test_without_a_gate_every_household_is_ranked(ranking_rs, village):
    r = povrules.rank(village, ranking_rs, "lexicographic", as_of=AS_OF)
    assert r.not_eligible == ()
    assert "e" in r.order()


@pytest.mark.parametrize(
    "decision, expected",
    [
        ("by_count_income_asc", [(1, "b", False), (2, "c", True), (2, "d", True), (4, "a", False), (5, "f", False)]),
        ("by_count_income_desc", [(1, "b", False), (2, "a", False), (3, "c", True), (3, "d", True), (5, "f", False)]),
    ],
)
def test_tiebreak_ascending_and_descending(ranking_rs, village, decision, expected):
    ranked = [h for h in village if h.id != "e"]
    r = povrules.rank(ranked, ranking_rs, decision, as_of=AS_OF)
    assert places(r) == expected


def test_lexicographic_order_ranks_by_the_first_criterion_that_differs(ranking_rs, village, build):
    extra = rank_household(build, "g", ill=True, disaster=True)
    r = povrules.rank([*village, extra], ranking_rs, "lexicographic", as_of=AS_OF)
    # e: ill+student+disaster; g: ill+disaster; a: ill; b: student+disaster; c: student; d: disaster; f: none.
    assert r.order() == ["e", "g", "a", "b", "c", "d", "f"]
    assert not any(e.tied for e in r.entries)
    assert [e.position for e in r.entries] == [1, 2, 3, 4, 5, 6, 7]


def test_lexicographic_ties_only_on_the_same_criteria(ranking_rs, build):
    households = [
        rank_household(build, "x", student=True),
        rank_household(build, "y", student=True),
        rank_household(build, "z", disaster=True),
    ]
    r = povrules.rank(households, ranking_rs, "lexicographic", as_of=AS_OF)
    assert places(r) == [(1, "x", True), (1, "y", True), (3, "z", False)]


def test_ties_are_listed_by_household_id_whatever_the_input_order(ranking_rs, build):
    households = [rank_household(build, hid, student=True) for hid in ("q", "m", "z", "b")]
    for order in (households, households[::-1]):
        r = povrules.rank(order, ranking_rs, "by_count", as_of=AS_OF)
        assert places(r) == [(1, "b", True), (1, "m", True), (1, "q", True), (1, "z", True)]


def test_undetermined_households_are_listed_apart(ranking_rs, village, build):
    unknown_student = rank_household(build, "u", ill=True, members=[{"health": "healthy"}])
    unknown_gate = build.household(
        "v", members=[{"health": "healthy", "enrolled_in_school": False}], disaster={"severity": "none"}
    )
    r = povrules.rank([*village, unknown_student, unknown_gate], ranking_rs, "by_count", as_of=AS_OF)
    assert "u" not in r.order() and "v" not in r.order()
    apart = {d.household.id: d for d in r.undetermined}
    assert set(apart) == {"u", "v"}
    assert apart["u"].missing == ("hh.members[0].enrolled_in_school",)
    assert apart["v"].missing == ("hh.rural_hukou",)  # the gate itself is undetermined
    assert apart["v"].decision == "eligible"
    assert r.order() == ["b", "a", "c", "d", "f"]  # the others are ranked as before


def test_an_unknown_tiebreak_makes_the_place_undetermined(ranking_rs, village, build):
    no_income = rank_household(build, "n", student=True)
    r = povrules.rank([*village, no_income], ranking_rs, "by_count_income_asc", as_of=AS_OF)
    assert [(d.household.id, d.missing) for d in r.undetermined] == [("n", ("hh.income.per_capita_net",))]
    assert "n" not in r.order() and r.order()[0] == "e"


def test_ranking_explains_each_place(ranking_rs, village):
    r = povrules.rank(village, ranking_rs, "by_count", as_of=AS_OF)
    text = r.explain("en")
    assert "1. b: A member is a student; Severely hit by disaster" in text
    assert "2. a (tied): A member is seriously ill" in text
    assert "not ranked: e → not_eligible" in text
    assert "并列" in r.explain("zh")


def test_rank_refuses_a_decision_that_is_not_a_ranking(ranking_rs, village):
    with pytest.raises(povrules.EvaluationError, match="not a ranking"):
        povrules.rank(village, ranking_rs, "eligible", as_of=AS_OF)


def test_evaluating_a_ranking_decision_for_one_household(ranking_rs, build, status_of):
    d = povrules.evaluate(
        rank_household(build, "b", student=True, disaster=True, amount=2000), ranking_rs, "by_count", as_of=AS_OF
    )
    assert d.outcome == "ranked"
    assert d.labels == ("student", "disaster")
    assert status_of(d) == {"ill": "not_met", "student": "met", "disaster": "met"}


def test_a_ranking_explains_tiebreaks_outcomes_and_missing_facts_by_their_titles(ranking_rs, village, build):
    unknown_student = rank_household(build, "u", ill=True, members=[{"health": "healthy"}])
    r = povrules.rank([*village, unknown_student], ranking_rs, "by_count_income_asc", as_of=AS_OF)
    en, zh = r.explain("en"), r.explain("zh")
    assert "3. c (tied): A member is a student\n     per-capita net income: 1,000 yuan\n" in en
    assert "3. c（并列）：有在校学生\n     人均纯收入：1,000 元\n" in zh
    assert "6. f: no priority criterion" in en and "6. f：无优先情形" in zh
    assert en.endswith("cannot rank: u, missing Per-capita net income; Currently enrolled in school of member 1")
    assert zh.endswith("无法排序：u，尚缺人均纯收入、成员1在校")
    gated = povrules.rank(village, ranking_rs, "by_count", as_of=AS_OF)
    assert "未参与排序：e → not_eligible" in gated.explain("zh")  # the fixture gives its outcomes no labels
