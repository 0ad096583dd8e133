"""The bilingual catalogue (``povrules.wording``): one language check, tables whole in both languages."""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

import pytest

import povrules
from povrules import wording
from povrules.compare import Cause
from povrules.errors import LanguageError, PovrulesError
from povrules.lifecycle import transition
from povrules.ruleset.diff import diff_rulesets

LIFECYCLE = Path(__file__).parent / "fixtures" / "engine" / "lifecycle.yaml"


@pytest.mark.parametrize("lang", ["fr", "EN", "zh-CN", "", None, 1])
def test_an_unknown_language_is_a_language_error_naming_it_and_the_choices(lang):
    with pytest.raises(LanguageError, match=r"unknown language .*expected one of 'zh', 'en'") as caught:
        wording.check_lang(lang)
    assert isinstance(caught.value, PovrulesError) and isinstance(caught.value, ValueError)
    assert repr(lang) in str(caught.value)
    again = pickle.loads(pickle.dumps(caught.value))
    assert (type(again), str(again)) == (LanguageError, str(caught.value))


@pytest.mark.parametrize("lang", wording.LANGS)
def test_a_known_language_is_given_back(lang):
    assert wording.check_lang(lang) == lang


TABLES = {
    name: getattr(wording, name)
    for name in (
        "OPERATOR_WORDS",
        "RESULT_WORDS",
        "STATUS_WORDS",
        "OVERRIDE_OUTCOME_WORDS",
        "TEXT_WORDS",
        "VIEW_WORDS",
        "DIFF_WORDS",
        "PHRASES",
        "PUNCTUATION",
        "ARITHMETIC_WORDS",
        "CONNECTIVE_WORDS",
        "FUNCTION_TITLES",
        "FUNCTION_PHRASES",
        "AMOUNT_WORDS",
        "ROUNDING_WORDS",
    )
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_has_the_same_entries_in_both_languages_none_empty(name):
    table = TABLES[name]
    assert set(table) == set(wording.LANGS)
    assert set(table["zh"]) == set(table["en"])
    assert all(text.strip() for lang in wording.LANGS for text in table[lang].values())


@pytest.mark.parametrize("key", sorted(wording.PHRASES["zh"]))
def test_a_phrase_has_the_same_slots_in_both_languages(key):
    import string

    def slots(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    assert slots(wording.PHRASES["zh"][key]) == slots(wording.PHRASES["en"][key])


def test_punctuation_is_the_readers():
    assert [wording.punctuation("colon", lang) for lang in wording.LANGS] == ["：", ": "]
    with pytest.raises(LanguageError):
        wording.punctuation("colon", "ja")


def test_phrase_fills_its_slots():
    assert wording.phrase("since", "zh", start="2021-01-01") == "2021-01-01 起"
    assert wording.phrase("since", "en", start="2021-01-01") == "from 2021-01-01"
    with pytest.raises(LanguageError):
        wording.phrase("since", "de", start="2021-01-01")


def test_reports_that_once_fell_back_to_english_refuse_an_unknown_language():
    rs = povrules.load_ruleset(LIFECYCLE)
    household = povrules.parse_household(
        {"id": "h1", "registration": {"status": "exited"}, "income": {"per_capita_net": "5000"}}
    )
    moved = transition(household, rs, "identify_monitoring_object", as_of=date(2021, 6, 30))
    assert moved.explain("en").startswith("Monitoring status: none → monitored")
    assert moved.explain("zh").startswith("监测状态: none → monitored")
    cause = Cause("parameter", "income_line", None, "6000")
    assert cause.describe("zh") == "参数 income_line：无 → 6000"
    rule = rs.rules[next(iter(rs.rules))]
    for call in (
        lambda: moved.explain("fr"),
        lambda: cause.describe("fr"),
        lambda: rule.title("fr"),
        lambda: diff_rulesets(rs, rs).explain("fr"),
    ):
        with pytest.raises(LanguageError):
            call()
