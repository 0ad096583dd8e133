"""Every name a reader meets has a title in both languages, the Chinese one free of ASCII identifiers.

Checked complete: the enumerated values of every fact, the fields of every fact model, the
functions and quantifiers of the expression language, and the parameters, derived facts, rules,
decisions and outcome labels of every shipped ruleset. Also: how a value's title is found, and
that the facts' JSON Schema lists the titles beside each enumeration.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

import povrules
from povrules import wording
from povrules.facts import SUBJECTS, Registration, Vehicle, facts_schema
from povrules.facts.titles import VOCABULARIES, titles_of, vocabulary_of
from povrules.lang.parser import FUNCTIONS, QUANTIFIERS
from povrules.lang.types import INT, EnumType, Field, ListType, RecordType, record_of

RULESETS = Path(__file__).resolve().parent.parent / "rulesets"

# An ASCII identifier: a word with an underscore (risk_eliminated) or two letters or more (hh, len).
# Digits (2015-2018), single letters (A级 of a dwelling grade) and the sources' own placeholder for a
# withheld place name (xx市) are not identifiers.
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*_\w*|[A-Za-z]{2,}")
PLACEHOLDER = re.compile(r"(?<![A-Za-z])[Xx]{2}(?![A-Za-z])")


def identifiers(zh: str) -> list[str]:
    """The ASCII identifiers in a Chinese text."""
    return IDENTIFIER.findall(PLACEHOLDER.sub("", zh))


def test_the_identifier_check_finds_identifiers_and_nothing_else():
    assert identifiers("建档立卡状态 general 等于 exited") == ["general", "exited"]
    assert identifiers("c = illness 属于 …") == ["illness"]
    assert identifiers("len(hh.members) = 2") == ["len", "hh", "members"]
    assert identifiers("三明市深化精准扶贫2015-2018年行动计划") == []
    assert identifiers("住房安全等级为C级危房") == []
    assert identifiers("某市（xx市）") == []


def _enum_fields() -> Iterator[tuple[str, Field, EnumType]]:
    """Every enumerated fact field reachable from a subject, by a path, with its enumeration."""
    seen: set[str] = set()

    def walk(record: RecordType, path: str) -> Iterator[tuple[str, Field, EnumType]]:
        if record.name in seen:
            return
        seen.add(record.name)
        for name, field in record.fields.items():
            typ = field.type.item if isinstance(field.type, ListType) else field.type
            if isinstance(typ, EnumType):
                yield f"{path}.{name}", field, typ
            elif isinstance(typ, RecordType):
                yield from walk(typ, f"{path}.{name}")

    for model, root in SUBJECTS.values():
        yield from walk(record_of(model), root)


ENUM_FIELDS = list(_enum_fields())


def test_the_walk_reaches_the_enumerations():
    paths = {path for path, _, _ in ENUM_FIELDS}
    assert {
        "hh.registration.status",
        "hh.monitoring.status",
        "hh.assets.vehicles.kind",
        "hh.assessments.risk_causes",
        "hh.members.labour_capacity",
        "hh.overrides.body",
    } <= paths
    assert len(ENUM_FIELDS) >= 30


@pytest.mark.parametrize(("path", "field", "enum"), ENUM_FIELDS, ids=[p for p, _, _ in ENUM_FIELDS])
def test_every_enumerated_value_of_every_fact_has_a_title_in_both_languages(path, field, enum):
    titles = wording.value_titles(field)
    assert titles is not None, f"{path}: no vocabulary has the values {enum.values}"
    assert set(titles) == set(enum.values)
    for value in enum.values:
        zh, en = wording.value_title(field, value, "zh"), wording.value_title(field, value, "en")
        assert zh.strip() and en.strip(), f"{path} = {value}"
        assert not identifiers(zh), f"{path} = {value}: 「{zh}」"
        assert zh != en or value == zh, f"{path} = {value}: the same words in both languages"


def test_every_vocabulary_is_the_values_of_some_fact():
    used = {vocabulary_of(enum.values) for _, _, enum in ENUM_FIELDS}
    assert set(VOCABULARIES) == used


def test_a_value_title_is_read_from_the_field_its_type_or_a_list_of_it():
    status = record_of(Registration).fields["status"]
    assert wording.value_title(status, "exited", "zh") == "脱贫户"
    assert wording.value_title(status.type, "registered_poor", "zh") == "建档立卡贫困户"
    assert wording.value_title(status, "general", "en") == "ordinary household"
    causes = record_of(Registration).fields["poverty_causes"]
    assert isinstance(causes.type, ListType)
    assert wording.value_title(causes, "illness", "zh") == "因病"
    assert wording.value_title(record_of(Vehicle).fields["kind"], "car", "zh") == "小轿车"
    # Not an enumeration, or not one of its values: the value itself.
    assert wording.value_title(INT, "3", "zh") == "3"
    assert wording.value_title(status, "no_such_status", "zh") == "no_such_status"
    assert wording.value_titles(INT) is None
    with pytest.raises(povrules.PovrulesError):
        wording.value_title(status, "exited", "fr")


def test_the_same_value_reads_as_its_vocabulary_says():
    """``none`` and ``other`` mean different things in different vocabularies."""
    assert (
        titles_of(("none", "monitored", "tracked_attention", "risk_eliminated", "rolled_back", "removed"))
        == VOCABULARIES["MonitoringStatus"]
    )
    assert VOCABULARIES["MonitoringStatus"]["none"][0] != VOCABULARIES["LabourCapacity"]["none"][0]
    assert titles_of(("car",)) is None


def _enums_in(schema: object) -> Iterator[dict[str, object]]:
    if isinstance(schema, dict):
        if "enum" in schema:
            yield schema
        for value in schema.values():
            yield from _enums_in(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _enums_in(value)


@pytest.mark.parametrize("subject", sorted(SUBJECTS))
def test_the_json_schema_titles_every_enumeration(subject):
    enums = list(_enums_in(facts_schema(subject)))
    if subject == "household":
        assert len(enums) >= 30
    for enum in enums:
        titles = enum.get("x-titles")
        assert isinstance(titles, dict), enum
        # The body of an override lists Traditional forms too, which are read as the Simplified ones.
        assert set(titles) <= set(enum["enum"]) and titles  # type: ignore[arg-type]
        for value, title in titles.items():
            assert title["zh"].strip() and title["en"].strip(), value
    vehicle = facts_schema("household")["$defs"]["Vehicle"]["properties"]["kind"]
    assert vehicle["x-titles"]["car"] == {"zh": "小轿车", "en": "car"}


FUNCTION_NAMES = sorted(FUNCTIONS | QUANTIFIERS)


def _slots(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_every_function_has_a_title_and_a_phrase_in_both_languages(name):
    for lang in wording.LANGS:
        assert wording.function_title(name, lang).strip()
        assert wording.FUNCTION_PHRASES[lang][name].strip()
    assert not identifiers(wording.function_title(name, "zh"))
    assert not identifiers(re.sub(r"\{\w*\}", "", wording.FUNCTION_PHRASES["zh"][name]))  # its slots aside
    assert _slots(wording.FUNCTION_PHRASES["zh"][name]) == _slots(wording.FUNCTION_PHRASES["en"][name])


def test_the_function_tables_name_only_functions_of_the_language():
    for table in (wording.FUNCTION_TITLES, wording.FUNCTION_PHRASES):
        assert set(table["zh"]) == set(table["en"]) == set(FUNCTION_NAMES)


def test_a_call_reads_as_words_from_its_arguments_titles():
    assert (
        wording.function_phrase("months_between", ["纳入监测日期", "评估日"], "zh") == "从纳入监测日期到评估日的整月数"
    )
    assert (
        wording.function_phrase("months_between", ["the date included", "the assessment day"], "en")
        == "the whole months from the date included to the assessment day"
    )
    assert wording.function_phrase("len", ["家庭成员"], "zh", path="hh.members") == "家庭成员人数"
    assert wording.function_phrase("len", ["车辆及机械"], "zh", path="hh.assets.vehicles") == "车辆及机械的个数"
    assert wording.function_phrase("max", ["甲", "乙", "丙"], "zh") == "甲、乙、丙中的最大值"
    assert wording.function_phrase("add_months", ["风险消除日期", "6"], "zh") == "风险消除日期之后6个月"
    with pytest.raises(povrules.PovrulesError):
        wording.function_phrase("len", ["x"], "de")


def _ruleset_titles() -> Iterator[tuple[str, object]]:
    for folder in sorted(p for p in RULESETS.iterdir() if (p / "ruleset.yaml").is_file()):
        rs = povrules.load_ruleset(folder / "ruleset.yaml")
        yield f"{folder.name}", rs.title
        for name, parameter in rs.parameters.items():
            yield f"{folder.name} parameter {name}", parameter.title
        for name, derived in rs.derived.items():
            yield f"{folder.name} derived {name}", derived.title
        for rule_id, rule in rs.rules.items():
            yield f"{folder.name} rule {rule_id}", rule.title
        for name, spec in rs.decisions.items():
            yield f"{folder.name} decision {name}", spec.title
            for outcome, label in spec.labels.items():
                yield f"{folder.name} decision {name} outcome {outcome}", label


RULESET_TITLES = list(_ruleset_titles())


def test_there_are_shipped_rulesets_to_check():
    assert len({where.split()[0] for where, _ in RULESET_TITLES}) >= 20


def test_every_title_of_every_shipped_ruleset_is_in_both_languages_without_identifiers_in_the_chinese():
    problems = []
    for where, title in RULESET_TITLES:
        zh, en = title.zh, title.en  # type: ignore[attr-defined]
        if not zh.strip() or not en.strip():
            problems.append(f"{where}: an empty title")
        elif identifiers(zh):
            problems.append(f"{where}: 「{zh}」 has {identifiers(zh)}")
    assert not problems, "\n".join(problems)


def test_every_fact_field_has_a_chinese_label_without_identifiers():
    seen: set[str] = set()
    problems = []

    def walk(record: RecordType) -> None:
        if record.name in seen:
            return
        seen.add(record.name)
        for name, field in record.fields.items():
            if field.zh == name or not field.zh.strip() or not field.en.strip() or identifiers(field.zh):
                problems.append(f"{record.name}.{name}: 「{field.zh}」 / {field.en!r}")
            typ = field.type.item if isinstance(field.type, ListType) else field.type
            if isinstance(typ, RecordType):
                walk(typ)

    for model, _ in SUBJECTS.values():
        walk(record_of(model))
    assert len(seen) >= 20
    assert not problems, "\n".join(problems)


def test_the_catalogue_has_no_identifier_in_its_chinese_words():
    tables = (
        wording.OPERATOR_WORDS,
        wording.RESULT_WORDS,
        wording.STATUS_WORDS,
        wording.OVERRIDE_OUTCOME_WORDS,
        wording.TEXT_WORDS,
        wording.VIEW_WORDS,
        wording.DIFF_WORDS,
        wording.ARITHMETIC_WORDS,
        wording.CONNECTIVE_WORDS,
    )
    found = {(key, text) for table in tables for key, text in table["zh"].items() if identifiers(text)}
    # trace=False names the argument a caller passes: it is code, as written.
    assert found <= {("not_traced", wording.VIEW_WORDS["zh"]["not_traced"])}


def test_a_fact_path_of_a_trace_finds_its_field_and_title():
    assert wording.fact_title("hh.registration.status", "zh") == "建档立卡状态"
    assert wording.fact_title("hh.members[1].age", "zh") == "年龄"
    assert wording.fact_title("hh.assessments.return_risk.value", "zh") == "存在返贫风险"
    assert wording.fact_title("village.income.year", "zh") == "统计年度"
    kind = wording.fact_field("hh.assets.vehicles[0].kind")
    assert kind is not None and wording.value_title(kind, "minivan", "zh") == "面包车"
    for unknown in ("hh.nope", "hh", "x.y", "hh.members.age.more"):
        assert wording.fact_field(unknown) is None
        assert wording.fact_title(unknown, "en") == unknown


@pytest.mark.parametrize(("path", "field", "enum"), ENUM_FIELDS, ids=[p for p, _, _ in ENUM_FIELDS])
def test_every_enumerated_fact_is_found_by_its_path(path, field, enum):
    assert wording.fact_field(path) == field
