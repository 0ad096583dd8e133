"""Variants: changes checked whole, the base untouched, no file reread, errors that name the change."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import povrules
from povrules import RulesetError, load_ruleset

RULESETS = Path(__file__).resolve().parent.parent / "rulesets"
AS_OF = date(2021, 6, 30)


@pytest.fixture(scope="module")
def hunan() -> povrules.Ruleset:
    return load_ruleset(RULESETS / "cn-hunan-county-plan4")


def _household(income: str, status: str = "general") -> povrules.Household:
    risk = {"value": True, "by": "村第一书记 王某", "on": "2021-05-10"}
    no = {"value": False, "by": "村第一书记 王某", "on": "2021-05-10"}
    return povrules.parse_household(
        {
            "id": f"{status}-{income}",
            "rural_hukou": True,
            "registration": {"status": status},
            "income": {"per_capita_net": income},
            "assessments": {
                "poverty_risk": risk,
                "return_risk": risk,
                "risk_causes": [],
                "rigid_expenditure_large": no,
                "income_sharply_reduced": no,
                "basic_living_severe_difficulty": no,
            },
        }
    )


def _type(ruleset: povrules.Ruleset, income: str) -> str:
    return povrules.evaluate(_household(income), ruleset, "monitoring_type", as_of=AS_OF).outcome


def test_with_parameter_throughout_moves_the_line(hunan: povrules.Ruleset) -> None:
    variant = hunan.with_parameter("monitoring_line", 7000)
    assert [v.value for v in variant.parameters["monitoring_line"].values] == [Decimal(7000)]
    assert variant.parameters["monitoring_line"].values[0].start == hunan.parameters["monitoring_line"].values[0].start
    # 以内 includes the line: at 7000 in, a cent above out, under the variant; the base keeps 6500.
    assert (_type(variant, "7000.00"), _type(variant, "7000.01")) == ("edge_vulnerable", "not_monitored")
    assert (_type(hunan, "6500.00"), _type(hunan, "6500.01"), _type(hunan, "7000.00")) == (
        "edge_vulnerable",
        "not_monitored",
        "not_monitored",
    )


def test_with_parameter_from_a_date_keeps_the_earlier_value(hunan: povrules.Ruleset) -> None:
    variant = hunan.with_parameter("monitoring_line", 7000, from_=date(2021, 7, 1))
    assert [(v.start, v.value) for v in variant.parameters["monitoring_line"].values] == [
        (date(2021, 1, 1), Decimal(6500)),
        (date(2021, 7, 1), Decimal(7000)),
    ]
    day_before = povrules.evaluate(_household("6800"), variant, "monitoring_type", as_of=date(2021, 6, 30))
    on_the_day = povrules.evaluate(_household("6800"), variant, "monitoring_type", as_of=date(2021, 7, 1))
    assert (day_before.outcome, on_the_day.outcome) == ("not_monitored", "edge_vulnerable")


def test_a_variant_is_a_new_ruleset_and_the_base_is_unchanged(hunan: povrules.Ruleset) -> None:
    digest, values = hunan.digest, hunan.parameters["monitoring_line"].values
    variant = hunan.with_parameter("monitoring_line", 7000)
    assert variant.digest != digest and variant.digest.startswith("sha256:")
    assert hunan.digest == digest and hunan.parameters["monitoring_line"].values == values
    assert variant.base is hunan and variant.variant is not None and "7000" in variant.variant.en
    assert (variant.id, variant.version) == (hunan.id, hunan.version)
    # A value-only change keeps the compiled rules; the same change twice gives the same digest.
    assert variant.plain is hunan.plain
    assert hunan.with_parameter("monitoring_line", 7000).digest == variant.digest
    assert "variant" in repr(variant)


def test_a_variant_is_built_without_reading_files(hunan: povrules.Ruleset, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("a variant read a file")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    variant = hunan.without_rule("elim_income_floor").with_rule("unstable_exited", when="False")
    assert "elim_income_floor" not in variant.rules
    assert variant.plain is not hunan.plain


def test_a_variant_value_has_no_citation_but_a_note(hunan: povrules.Ruleset) -> None:
    value = (
        hunan.with_parameter("monitoring_line", 7000, note="proposal of 2021-05")
        .parameters["monitoring_line"]
        .values[-1]
    )
    assert value.citation is None and value.note is not None and value.note.en == "proposal of 2021-05"
    assert hunan.with_parameter("monitoring_line", 7000).parameters["monitoring_line"].values[-1].note.en == "variant"  # type: ignore[union-attr]


def test_without_rule_takes_it_out_of_every_decision(hunan: povrules.Ruleset) -> None:
    variant = hunan.without_rule("elim_income_floor")
    assert "elim_income_floor" not in variant.rules
    assert "elim_income_floor" not in variant.decisions["mark_risk_eliminated"].exceptions
    assert variant.variant is not None and variant.variant.en == "without rule elim_income_floor"
    assert "elim_income_floor" in hunan.decisions["mark_risk_eliminated"].exceptions


def test_with_rule_patches_a_field(hunan: povrules.Ruleset) -> None:
    variant = hunan.with_rule("elim_income_floor", when="hh.income.per_capita_net <= p.elimination_income_floor")
    assert variant.rules["elim_income_floor"].when.text.startswith("hh.income.per_capita_net <=")
    assert variant.rules["elim_income_floor"].outcome == "not_eliminated"  # the other fields stay
    assert variant.rules["elim_income_floor"].citation == hunan.rules["elim_income_floor"].citation


def test_with_rule_adds_a_rule_where_it_is_told(hunan: povrules.Ruleset) -> None:
    variant = hunan.with_rule(
        "elim_large_family",
        title={"zh": "人口较多", "en": "Large household"},
        when="len(hh.members) >= 6",
        outcome="deferred",
        add_to=("mark_risk_eliminated", "exceptions"),
    )
    assert variant.decisions["mark_risk_eliminated"].exceptions[-1] == "elim_large_family"
    assert variant.rules["elim_large_family"].citation is None


def test_overlay_file(hunan: povrules.Ruleset, tmp_path: Path) -> None:
    overlay = tmp_path / "raise.yaml"
    overlay.write_text(
        "variant: {zh: 监测线 7000 元、去掉收入底线, en: Line 7000 and no income floor}\n"
        "parameters:\n  monitoring_line: {set: {value: 7000, from: 2021-01-01}}\n"
        "without: [elim_income_floor]\n",
        encoding="utf-8",
    )
    variant = hunan.with_overlay(overlay)
    assert variant.variant is not None and variant.variant.zh.startswith("监测线")
    assert variant.parameters["monitoring_line"].values[-1].value == Decimal(7000)
    assert "elim_income_floor" not in variant.rules
    assert (
        variant.digest
        == hunan.with_parameter("monitoring_line", 7000, from_=date(2021, 1, 1))
        .without_rule("elim_income_floor")
        .digest
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda r: r.with_parameter("monitoring_lin", 7000), "unknown parameter 'monitoring_lin'"),
        (lambda r: r.without_rule("elim_income_flor"), "unknown rule 'elim_income_flor'"),
        (lambda r: r.with_rule("brand_new", when="true"), "is new: say where it goes"),
        (
            lambda r: r.with_rule("x", when="true", outcome="x", add_to=("monitoring_typ", "rows")),
            "unknown decision 'monitoring_typ'",
        ),
        (lambda r: r.with_rule("x", when="true", outcome="x", add_to=("monitoring_type", "row")), "unknown role 'row'"),
        (
            lambda r: r.with_rule("elim_income_floor", when="hh.income.per_capita_net < p.no_such"),
            "unknown parameter 'no_such'",
        ),
        (lambda r: r.with_rule("elim_income_floor", whne="true"), "unknown key 'whne'"),
        (lambda r: r.with_overlay({"parameter": {}}), "unknown key 'parameter' in an overlay"),
        (lambda r: r.with_overlay({"parameters": {"monitoring_line": {"set": {"valu": 1}}}}), "needs 'value'"),
        # Fine alone, inconsistent as a whole: the transition still names the row's outcome.
        (
            lambda r: r.without_rule("unstable_exited"),
            "with without_rule('unstable_exited'): decision 'monitoring_type' "
            "never gives the outcome 'unstable_exited'",
        ),
        (
            lambda r: r.with_parameter("monitoring_line", "high"),
            "parameter 'monitoring_line' holds decimal values; the variant gives str",
        ),
    ],
)
def test_an_invalid_variant_names_its_error_and_changes_nothing(hunan: povrules.Ruleset, make, message: str) -> None:
    digest = hunan.digest
    before = _type(hunan, "6500.00")
    with pytest.raises(RulesetError) as caught:
        make(hunan)
    assert message in str(caught.value)
    assert hunan.digest == digest and _type(hunan, "6500.00") == before
    assert hunan.parameters["monitoring_line"].values[-1].value == Decimal(6500)


def test_an_expression_error_points_into_the_call(hunan: povrules.Ruleset) -> None:
    with pytest.raises(RulesetError) as caught:
        hunan.with_rule("elim_income_floor", when="hh.income.per_capita_nett < 1")
    assert caught.value.location is not None and caught.value.location.file == "with_rule('elim_income_floor')"
    assert caught.value.location.column == len("hh.income.") + 1


def test_an_overlay_file_error_has_its_line(hunan: povrules.Ruleset, tmp_path: Path) -> None:
    overlay = tmp_path / "bad.yaml"
    overlay.write_text("rules:\n  elim_income_floor:\n    when: hh.income.per_capita_nett < 1\n", encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        hunan.with_overlay(overlay)
    assert str(caught.value).startswith(f"{overlay}:3:")
    with pytest.raises(RulesetError, match="no overlay file"):
        hunan.with_overlay(tmp_path / "missing.yaml")
