"""Loading rulesets: every problem is a RulesetError at file:line:column, and ``extends`` merges by key.

Each test writes its YAML into ``tmp_path``. Expected positions are found in the
test's own text with :func:`at`, so the assertion reads "the error points at
``incom``" rather than a bare pair of numbers.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import povrules
from povrules import RulesetError, load_ruleset
from povrules.lang.types import DECIMAL, INT, ListType

ROOT = Path(__file__).resolve().parents[1]

HEADER = """\
id: test
version: "1"
title: {zh: 测试, en: Test}
sources:
  S1: {file: policy.txt, title: 政策}
"""

PARAMETERS = """\
parameters:
  line:
    title: {zh: 收入线, en: Income line}
    unit: 元
    values:
      - from: 2020-01-01
        value: 4000
        cite: {source: S1, line: 1, quote: 收入线4000元}
"""

RULES = """\
rules:
  low_income:
    title: {zh: 低收入, en: Low income}
    when: hh.income.per_capita_net < p.line
    cite: {source: S1, line: 2, quote: 低于收入线}
"""


def rule(when: str, extra: str = "") -> str:
    """A rules section with one rule whose condition is written as given (after 'when:')."""
    return f"""\
rules:
  r1:
    title: {{zh: 规则, en: Rule}}
    when: {when}
    cite: {{source: S1, line: 2, quote: 条款}}
{extra}"""


def write(folder: Path, text: str, name: str = "ruleset.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error(folder: Path, text: str, name: str = "ruleset.yaml") -> RulesetError:
    path = write(folder, text, name)
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    return info.value


def at(text: str, token: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the nth occurrence of ``token`` in ``text``."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(token, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def position(err: RulesetError) -> tuple[int, int]:
    assert err.location is not None, f"no location: {err}"
    return err.location.line, err.location.column


# A valid ruleset, for reference


def test_a_small_ruleset_loads(tmp_path):
    rs = load_ruleset(write(tmp_path, HEADER + PARAMETERS + RULES))
    assert rs.id == "test" and rs.version == "1" and rs.title.zh == "测试"
    assert rs.parameters["line"].values[0].value == Decimal(4000)
    assert rs.parameters["line"].values[0].start == date(2020, 1, 1)
    assert rs.rules["low_income"].when.text == "hh.income.per_capita_net < p.line"
    assert rs.rules["low_income"].parameters == ("line",)
    assert rs.rules["low_income"].citation.quote == "低于收入线"
    assert rs.digest.startswith("sha256:") and len(rs.digest) == len("sha256:") + 64


def test_a_folder_loads_its_ruleset_yaml(tmp_path):
    write(tmp_path, HEADER + PARAMETERS + RULES)
    assert load_ruleset(tmp_path).id == "test"


@pytest.mark.parametrize("name", ["cn-national", "cn-yunnan-weishan", "cn-hunan-county-plan4"])
def test_the_example_rulesets_load(name):
    rs = load_ruleset(ROOT / "rulesets" / name)
    assert rs.id == name and rs.digest.startswith("sha256:")
    # Every example extends or is the national standard.
    assert "two_assurances_three_guarantees_met" in rs.rules


def test_a_note_in_both_languages(tmp_path):
    """A note is read in the reader's language: ``{zh, en}``, or one text that both languages show."""
    text = RULES.replace(
        "    cite: {source: S1, line: 2, quote: 低于收入线}\n",
        "    cite: {source: S1, line: 2, quote: 低于收入线}\n"
        "    note: {zh: 按人均纯收入判断, en: Judged on net income per head}\n",
    )
    rs = load_ruleset(write(tmp_path, HEADER + PARAMETERS + text))
    note = rs.rules["low_income"].note
    assert note is not None and (note("zh"), note("en")) == ("按人均纯收入判断", "Judged on net income per head")
    one = PARAMETERS.replace("    unit: 元\n", "    unit: 元\n    note: 县定标准\n")
    note = load_ruleset(write(tmp_path, HEADER + one + RULES)).parameters["line"].note
    assert note is not None and (note("zh"), note("en")) == ("县定标准", "县定标准")


def test_a_note_missing_a_language_is_refused(tmp_path):
    text = HEADER + PARAMETERS + RULES + "    note: {zh: 只有中文}\n"
    err = error(tmp_path, text)
    assert "needs 'note' with 'zh' and 'en' text" in str(err)
    assert position(err)[0] == text.count("\n")


# YAML-level problems


def test_yaml_syntax_error(tmp_path):
    text = HEADER + "parameters: {line: [1, 2}\n"
    err = error(tmp_path, text)
    assert err.message.startswith("invalid YAML:")
    line, column = at(text, "[1, 2}")
    assert position(err) == (line, column + len("[1, 2"))  # at the '}' that should have been ']'
    assert err.location.file.endswith("ruleset.yaml")


def test_duplicate_key(tmp_path):
    text = (
        HEADER
        + RULES
        + """\
  low_income:
    title: {zh: 又一个, en: Again}
"""
    )
    err = error(tmp_path, text)
    assert err.message == f"duplicate key 'low_income' (first at line {at(text, 'low_income')[0]})"
    assert position(err) == at(text, "low_income", 1)


def test_unknown_top_level_key(tmp_path):
    text = HEADER + RULES + "decision: {}\n"
    err = error(tmp_path, text)
    assert err.message == "unknown key 'decision'" and err.hint == "did you mean 'decisions'?"
    assert position(err) == at(text, "decision:")


def test_typo_in_a_rule_key(tmp_path):
    text = HEADER + rule("hh.rural_hukou", "    strenght: hard\n")
    err = error(tmp_path, text)
    assert err.message == "unknown key 'strenght' in rule 'r1'"
    assert err.hint == "did you mean 'strength'?"
    assert position(err) == at(text, "strenght")


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "ruleset.yaml"
    path.write_bytes(HEADER.encode("gbk") + "note: 编码\n".encode("gbk"))
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    err = info.value
    assert err.message.startswith("not UTF-8 text") and err.hint == "save the file as UTF-8"
    # The first byte that is not UTF-8 is the first byte of 测 in the title (line 3, after "title: {zh: ").
    assert position(err) == (3, len("title: {zh: ") + 1)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file(tmp_path, text):
    err = error(tmp_path, text)
    assert err.message == "the file is empty" and position(err) == (1, 1)


def test_a_file_that_is_not_a_mapping(tmp_path):
    err = error(tmp_path, "- id\n- rules\n")
    assert err.message.startswith("a ruleset is a mapping of keys") and position(err) == (1, 1)


def test_a_missing_file(tmp_path):
    with pytest.raises(RulesetError, match="no ruleset file at"):
        load_ruleset(tmp_path / "nothing.yaml")


def test_a_second_document_is_refused(tmp_path):
    text = HEADER + "---\nid: other\n"
    err = error(tmp_path, text)
    assert err.message.startswith("invalid YAML") and position(err) == at(text, "---")


def test_an_impossible_date(tmp_path):
    text = HEADER + PARAMETERS.replace("2020-01-01", "2021-02-30")
    err = error(tmp_path, text)
    assert err.message == "'2021-02-30' is not a valid timestamp" and position(err) == at(text, "2021-02-30")


# Expressions: names, types, and where they are in the file


def test_unknown_fact_in_a_plain_scalar(tmp_path):
    text = HEADER + PARAMETERS + rule("hh.incom.per_capita_net < p.line")
    err = error(tmp_path, text)
    assert err.message == "in rule 'r1': Household has no fact 'incom'"
    assert err.hint.startswith("did you mean 'income'? facts of ")
    assert position(err) == at(text, "incom.")


def test_unknown_parameter(tmp_path):
    text = HEADER + PARAMETERS + rule("hh.income.per_capita_net < p.lin")
    err = error(tmp_path, text)
    assert err.message == "in rule 'r1': unknown parameter 'lin'" and err.hint == "did you mean 'line'?"
    assert position(err) == at(text, "lin\n")  # the name, not the 'p.' before it


def test_comparing_a_number_with_text(tmp_path):
    text = HEADER + rule('hh.rural_hukou and hh.income.per_capita_net < "abc"')
    err = error(tmp_path, text)
    assert err.message == "in rule 'r1': '<' compares numbers or dates, not decimal with str"
    assert position(err) == at(text, "hh.income")


def test_arithmetic_on_a_boolean(tmp_path):
    text = HEADER + rule("hh.rural_hukou + 1 > 0")
    err = error(tmp_path, text)
    assert err.message == "in rule 'r1': arithmetic needs numbers, but this is bool"
    assert position(err) == at(text, "hh.rural_hukou")


def test_an_enumeration_literal_typo(tmp_path):
    text = HEADER + rule('any(v.kind == "carr" for v in hh.assets.vehicles)')
    err = error(tmp_path, text)
    assert "'carr' is not a possible value here" in err.message and err.hint == "did you mean 'car'?"
    assert position(err) == at(text, '"carr"')


def test_a_condition_that_is_not_boolean(tmp_path):
    text = HEADER + rule("hh.income.per_capita_net + 1")
    err = error(tmp_path, text)
    assert err.message == "in rule 'r1': a condition must be true or false, but this is decimal"
    assert position(err) == at(text, "hh.income")


def test_an_empty_condition(tmp_path):
    text = HEADER + rule('""')
    err = error(tmp_path, text)
    assert err.message == "rule 'r1' needs 'when': an expression" and position(err) == at(text, "when")


def test_a_syntax_error_in_a_condition(tmp_path):
    text = HEADER + rule("hh.rural_hukou and and hh.rural_hukou")
    err = error(tmp_path, text)
    assert err.message.startswith("in rule 'r1': syntax error")
    assert position(err) == at(text, "and hh")


def test_position_in_a_single_quoted_scalar_after_chinese_text(tmp_path):
    text = HEADER + rule("""'hh.village == "大理村" and hh.incom.wage > 0'""")
    err = error(tmp_path, text)
    assert "no fact 'incom'" in err.message and position(err) == at(text, "incom")


def test_position_in_a_double_quoted_scalar(tmp_path):
    text = HEADER + rule('"hh.rural_hukou and hh.incom.wage > 0"')
    err = error(tmp_path, text)
    assert position(err) == at(text, "incom")


def test_position_in_a_literal_block(tmp_path):
    text = HEADER + rule("""|
      (hh.rural_hukou
       and hh.incom.per_capita_net > 0)""")
    err = error(tmp_path, text)
    assert "no fact 'incom'" in err.message and position(err) == at(text, "incom")


def test_position_in_a_literal_block_with_more_indented_lines(tmp_path):
    # The continuation line is indented further than the block: its extra spaces count once.
    text = HEADER + rule("""|-
      (hh.rural_hukou and
          hh.registration.dibao and
              hh.incom.per_capita_net > 0)""")
    err = error(tmp_path, text)
    assert position(err) == at(text, "incom")


def test_position_in_a_literal_block_that_starts_with_a_blank_line(tmp_path):
    text = HEADER + rule("""|

      hh.rural_hukou and hh.incom.per_capita_net > 0""")
    err = error(tmp_path, text)
    assert position(err) == at(text, "incom")


def test_position_of_an_early_end_in_a_literal_block(tmp_path):
    text = HEADER + rule("""|
      hh.rural_hukou and""")
    err = error(tmp_path, text)
    assert "ends too early" in err.message
    line, column = at(text, "hh.rural_hukou and")
    assert position(err) == (line, column + len("hh.rural_hukou and"))


def test_position_in_a_folded_block(tmp_path):
    # The example rulesets write long conditions as '>-' blocks.
    text = (
        HEADER
        + PARAMETERS
        + rule(""">-
      hh.rural_hukou and hh.income.per_capita_net < p.line
      and hh.registration.dibao and p.lin > 0""")
    )
    err = error(tmp_path, text)
    assert err.message == "in rule 'r1': unknown parameter 'lin'" and position(err) == at(text, "lin >")


def test_position_in_a_multi_line_plain_scalar(tmp_path):
    text = HEADER + rule("""hh.rural_hukou
      and hh.registration.dibao and hh.incom.wage > 0""")
    err = error(tmp_path, text)
    assert position(err) == at(text, "incom")


def test_position_in_a_derived_fact(tmp_path):
    text = (
        HEADER
        + """\
derived:
  ok:
    expr: hh.rural_hukou and hh.guarantees.food_securee
"""
    )
    err = error(tmp_path, text)
    assert err.message == "in derived fact 'ok': Guarantees has no fact 'food_securee'"
    assert err.hint.startswith("did you mean 'food_secure'? facts of ") and position(err) == at(text, "food_securee")


def test_a_derived_fact_may_use_an_earlier_one_and_its_type(tmp_path):
    text = (
        HEADER
        + """\
derived:
  adults:
    expr: count(m.age >= 18 for m in hh.members)
  many_adults:
    expr: adults > 2
"""
        + rule("many_adults")
    )
    rs = load_ruleset(write(tmp_path, text))
    assert rs.derived["adults"].expr.type == INT
    text = text.replace("expr: adults > 2", "expr: adults and hh.rural_hukou")
    err = error(tmp_path, text)
    assert err.message == "in derived fact 'many_adults': expected true or false here, but this is int"
    assert position(err) == at(text, "adults and")


def test_a_reserved_name_is_not_a_derived_fact(tmp_path):
    text = HEADER + "derived:\n  as_of:\n    expr: hh.rural_hukou\n"
    err = error(tmp_path, text)
    assert err.message == "'as_of' is reserved" and position(err) == at(text, "as_of")


# Parameters


def parameter(values: str) -> str:
    return f"""\
parameters:
  line:
    title: {{zh: 线, en: Line}}
    values:
{values}"""


def test_parameter_values_out_of_date_order(tmp_path):
    text = HEADER + parameter("""\
      - from: 2021-01-01
        value: 4000
        cite: {source: S1, line: 1, quote: q}
      - from: 2020-01-01
        value: 4500
        cite: {source: S1, line: 1, quote: q}
""")
    err = error(tmp_path, text)
    assert err.message == "the values of parameter 'line' must be in date order, each 'from' later than the last"
    assert position(err) == at(text, "from", 1)


def test_parameter_values_on_the_same_date(tmp_path):
    text = HEADER + parameter("""\
      - from: 2021-01-01
        value: 4000
        cite: {source: S1, line: 1, quote: q}
      - from: 2021-01-01
        value: 4500
        cite: {source: S1, line: 1, quote: q}
""")
    assert "must be in date order" in error(tmp_path, text).message


def test_parameter_values_of_mixed_types(tmp_path):
    text = HEADER + parameter("""\
      - from: 2020-01-01
        value: 4000
        cite: {source: S1, line: 1, quote: q}
      - from: 2021-01-01
        value: four thousand
        cite: {source: S1, line: 1, quote: q}
""")
    err = error(tmp_path, text)
    assert err.message == "the values of parameter 'line' must all be of one type"
    assert position(err) == at(text, "values")


def test_a_list_parameter_mixing_text_and_numbers(tmp_path):
    text = HEADER + parameter("""\
      - from: 2020-01-01
        value: [car, 1]
        cite: {source: S1, line: 1, quote: q}
""")
    err = error(tmp_path, text)
    assert err.message == "parameter 'line': a list parameter must hold values of one type"
    assert position(err) == at(text, "value:")


def test_whole_and_decimal_values_make_a_decimal_parameter(tmp_path):
    text = HEADER + parameter("""\
      - from: 2020-01-01
        value: 4000
        cite: {source: S1, line: 1, quote: q}
      - from: 2021-01-01
        value: 4000.50
        cite: {source: S1, line: 1, quote: q}
""").replace("    values:", "    type: int\n    values:")
    rs = load_ruleset(write(tmp_path, text))
    assert rs.parameters["line"].type == DECIMAL
    assert rs.parameters["line"].values[1].value == Decimal("4000.50")


def test_a_list_parameter_of_numbers_reads_decimals(tmp_path):
    text = HEADER + parameter("""\
      - from: 2020-01-01
        value: [1, 2]
        cite: {source: S1, line: 1, quote: q}
""")
    rs = load_ruleset(write(tmp_path, text))
    assert rs.parameters["line"].type == ListType("list", item=DECIMAL)
    assert rs.parameters["line"].values[0].value == (Decimal(1), Decimal(2))


def test_a_parameter_from_must_be_a_date_not_a_timestamp(tmp_path):
    text = HEADER + parameter("""\
      - from: 2020-01-01 08:00:00
        value: 4000
        cite: {source: S1, line: 1, quote: q}
""")
    err = error(tmp_path, text)
    assert err.message == "'from' in parameter 'line' must be a date (YYYY-MM-DD)" and position(err) == at(text, "from")


def test_a_parameter_needs_values(tmp_path):
    text = HEADER + "parameters:\n  line:\n    title: {zh: 线, en: Line}\n"
    err = error(tmp_path, text)
    assert err.message == "parameter 'line' needs 'values': a list of dated values"


def test_a_parameter_value_needs_a_citation(tmp_path):
    text = HEADER + parameter("""\
      - from: 2020-01-01
        value: 4000
""")
    err = error(tmp_path, text)
    assert err.message.startswith("parameter 'line' needs 'cite'") and position(err) == at(text, "from")


# Rules


def test_a_rule_without_a_citation(tmp_path):
    text = HEADER + "rules:\n  r1:\n    title: {zh: 规则, en: Rule}\n    when: hh.rural_hukou\n"
    err = error(tmp_path, text)
    assert err.message == "rule 'r1' needs 'cite' (source, line, quote): every rule quotes its clause"
    assert position(err) == at(text, "title: {zh: 规则")  # the rule's mapping


def test_a_citation_of_an_unknown_source(tmp_path):
    text = HEADER + rule("hh.rural_hukou").replace("source: S1", "source: S11")
    err = error(tmp_path, text)
    assert err.message == "unknown source 'S11'" and err.hint == "did you mean 'S1'?"
    assert position(err) == at(text, "source: S11")


def test_cited_lines_must_be_in_order(tmp_path):
    text = HEADER + rule("hh.rural_hukou").replace("line: 2", "lines: [5, 3]")
    err = error(tmp_path, text)
    assert err.message == "cited lines must be positive and in order"


def test_a_default_strength_rule_needs_override_by(tmp_path):
    text = HEADER + rule("hh.rural_hukou", "    strength: default\n    outcome: excluded\n")
    err = error(tmp_path, text)
    assert "is default-strength: name who may set it aside in 'override_by'" in err.message
    assert position(err) == at(text, "strength")


def test_a_default_strength_rule_with_override_by_loads(tmp_path):
    text = HEADER + rule(
        "hh.rural_hukou", "    strength: default\n    outcome: excluded\n    override_by: [村民代表会议]\n"
    )
    r = load_ruleset(write(tmp_path, text)).rules["r1"]
    assert r.strength == "default" and r.override_by == ("村民代表会议",)


def test_override_by_in_traditional_form_is_read_as_the_canonical_name(tmp_path):
    text = HEADER + rule(
        "hh.rural_hukou",
        "    strength: default\n    outcome: excluded\n    override_by: [村民代表會議, 村民主评议, 村民代表会议]\n",
    )
    r = load_ruleset(write(tmp_path, text)).rules["r1"]
    assert r.override_by == ("村民代表会议", "村民主评议")  # one vocabulary: the same body named twice counts once


def test_override_by_a_body_outside_the_vocabulary_is_refused_with_a_suggestion(tmp_path):
    text = HEADER + rule(
        "hh.rural_hukou", "    strength: default\n    outcome: excluded\n    override_by: [村民主评议, 村民代表大会]\n"
    )
    err = error(tmp_path, text)
    assert err.message == ("'override_by' of rule 'r1' names '村民代表大会', which is not a body facts can record")
    assert err.hint == "did you mean '村民代表会议'?"
    assert position(err) == at(text, "村民代表大会")
    far = HEADER + rule("hh.rural_hukou", "    strength: default\n    outcome: excluded\n    override_by: [镇政府]\n")
    assert error(tmp_path, far).hint.startswith("bodies: 村民代表会议, 村民主评议")


def test_strength_is_hard_or_default(tmp_path):
    text = HEADER + rule("hh.rural_hukou", "    strength: soft\n")
    err = error(tmp_path, text)
    assert err.message == "'strength' of rule 'r1' is 'hard' or 'default'" and position(err) == at(text, "strength")


def test_validity_that_ends_before_it_starts(tmp_path):
    text = HEADER + rule("hh.rural_hukou", "    valid: {from: 2021-01-01, to: 2020-01-01}\n")
    err = error(tmp_path, text)
    assert err.message == "'valid' of rule 'r1' ends before it starts" and position(err) == at(text, "valid")


# Decisions


def test_a_decision_naming_an_unknown_rule(tmp_path):
    text = (
        HEADER
        + RULES.replace("low_income:", "low_income:\n    outcome: poor")
        + """\
decisions:
  identify:
    kind: eligibility
    title: {zh: 识别, en: Identify}
    criteria: [low_income, low_incom]
    outcomes: {yes: identified, no: not_identified}
"""
    )
    text = text.replace("< p.line", "< 4000")
    err = error(tmp_path, text)
    assert err.message == "decision 'identify' names unknown rule 'low_incom'"
    assert err.hint == "did you mean 'low_income'?"
    assert position(err) == at(text, "low_incom]")


def table(policy: str, priority: str = "") -> str:
    return (
        HEADER
        + """\
rules:
  poor:
    title: {zh: 贫困, en: Poor}
    when: hh.income.per_capita_net < 4000
    outcome: poor
    cite: {source: S1, line: 2, quote: q}
  edge:
    title: {zh: 边缘, en: Edge}
    when: hh.income.per_capita_net < 6000
    outcome: edge
    cite: {source: S1, line: 3, quote: q}
decisions:
  kind_of:
    kind: table
    title: {zh: 类型, en: Kind}
"""
        + f"    hit_policy: {policy}\n    rows: [poor, edge]\n    default: none\n"
        + priority
    )


def test_a_table_with_each_valid_hit_policy_loads(tmp_path):
    for policy in ("UNIQUE", "FIRST", "COLLECT"):
        assert load_ruleset(write(tmp_path, table(policy))).decisions["kind_of"].hit_policy == policy
    spec = load_ruleset(write(tmp_path, table("PRIORITY", "    priority: [poor, edge]\n"))).decisions["kind_of"]
    assert spec.priority == ("poor", "edge")


def test_a_table_with_an_invalid_hit_policy(tmp_path):
    text = table("ANY")
    err = error(tmp_path, text)
    assert err.message == "'hit_policy' of decision 'kind_of' is UNIQUE, FIRST, PRIORITY or COLLECT"
    assert position(err) == at(text, "hit_policy")


def test_a_priority_table_missing_a_priority(tmp_path):
    text = table("PRIORITY", "    priority: [poor]\n")
    err = error(tmp_path, text)
    assert err.message == "'priority' of decision 'kind_of' must rank every row outcome; missing ['edge']"
    assert position(err) == at(text, "priority")


def test_a_priority_table_without_priorities(tmp_path):
    err = error(tmp_path, table("PRIORITY"))
    assert err.message == "'priority' of decision 'kind_of' must rank every row outcome; missing ['edge', 'poor']"


def test_a_table_row_needs_an_outcome(tmp_path):
    text = table("FIRST").replace("    outcome: edge\n", "")
    err = error(tmp_path, text)
    assert err.message == "rule 'edge' is a row of decision 'kind_of', so it needs an 'outcome'"
    assert position(err) == at(text, "edge:")


def test_a_decision_kind_must_be_known(tmp_path):
    text = table("FIRST").replace("kind: table", "kind: [table]")
    err = error(tmp_path, text)
    assert err.message == "'kind' of decision 'kind_of' is eligibility, table, ranking or amount"
    assert position(err) == at(text, "kind: [")


def test_a_ranking_among_must_name_a_decision(tmp_path):
    text = (
        table("FIRST")
        + """\
  order:
    kind: ranking
    title: {zh: 排序, en: Order}
    among: {decision: [kind_of]}
    criteria: [poor]
"""
    )
    err = error(tmp_path, text)
    assert err.message == "'among' of decision 'order' needs 'decision' as text" and position(err) == at(
        text, "decision: ["
    )


def test_a_ranking_among_an_unknown_decision(tmp_path):
    text = (
        table("FIRST")
        + """\
  order:
    kind: ranking
    title: {zh: 排序, en: Order}
    among: {decision: kindof}
    criteria: [poor]
"""
    )
    err = error(tmp_path, text)
    assert (
        err.message == "decision 'order' ranks among unknown decision 'kindof'"
        and err.hint == "did you mean 'kind_of'?"
    )


# extends


PARENT = (
    HEADER
    + PARAMETERS
    + """\
rules:
  low_income:
    title: {zh: 低收入, en: Low income}
    when: hh.income.per_capita_net < p.line
    outcome: poor
    cite: {source: S1, line: 2, quote: 低于收入线}
  rural:
    title: {zh: 农村户籍, en: Rural}
    when: hh.rural_hukou
    cite: {source: S1, line: 3, quote: 农村户籍}
"""
)

CHILD = """\
id: child
version: "2"
title: {zh: 县, en: County}
extends: parent.yaml
parameters:
  line:
    title: {zh: 县收入线, en: County line}
    values:
      - from: 2020-01-01
        value: 4500
        cite: {source: S1, line: 9, quote: 本县4500元}
rules:
  low_income:
    title: {zh: 县低收入, en: County low income}
    when: hh.income.per_capita_net <= p.line
    outcome: poor
    cite: {source: S1, line: 10, quote: 不高于收入线}
"""


def test_a_child_overrides_a_parameter_and_replaces_a_rule_by_id(tmp_path):
    write(tmp_path, PARENT, "parent.yaml")
    child = load_ruleset(write(tmp_path, CHILD, "child.yaml"))
    assert child.id == "child" and child.version == "2"
    assert child.parameters["line"].values[0].value == Decimal(4500)
    assert child.rules["low_income"].when.text == "hh.income.per_capita_net <= p.line"
    assert child.rules["low_income"].title.zh == "县低收入"
    # The parent's other rule and its sources remain.
    assert child.rules["rural"].when.text == "hh.rural_hukou"
    assert set(child.sources) == {"S1"}
    assert child.files == (str(tmp_path / "child.yaml"), str(tmp_path / "parent.yaml"))


def test_a_child_decides_with_its_own_line(tmp_path):
    write(tmp_path, PARENT, "parent.yaml")
    child = load_ruleset(write(tmp_path, CHILD, "child.yaml"))
    parent = load_ruleset(tmp_path / "parent.yaml")
    hh = povrules.parse_household({"id": "h", "income": {"per_capita_net": "4200"}})
    values = {"line": Decimal(4500)}
    assert child.parameters["line"].at(date(2021, 1, 1)).value == values["line"]
    assert parent.parameters["line"].at(date(2021, 1, 1)).value == Decimal(4000)
    from povrules.lang import Env

    assert child.plain.rules["low_income"](Env(hh, values, date(2021, 1, 1), None)) is True
    assert parent.plain.rules["low_income"](Env(hh, {"line": Decimal(4000)}, date(2021, 1, 1), None)) is False


def test_a_child_is_checked_against_the_parents_parameters(tmp_path):
    write(tmp_path, PARENT, "parent.yaml")
    text = CHILD.replace("p.line", "p.lines")
    err = error(tmp_path, text, "child.yaml")
    assert err.message == "in rule 'low_income': unknown parameter 'lines'" and err.hint == "did you mean 'line'?"
    assert err.location.file.endswith("child.yaml") and position(err) == at(text, "lines")


def test_an_error_in_the_parent_is_reported_in_the_parent(tmp_path):
    parent = PARENT.replace("hh.rural_hukou", "hh.rural_hukuo")
    write(tmp_path, parent, "parent.yaml")
    err = error(tmp_path, CHILD, "child.yaml")
    assert err.location.file.endswith("parent.yaml") and position(err) == at(parent, "rural_hukuo")
    assert err.hint.startswith("did you mean 'rural_hukou'? facts of ")


def test_extends_to_a_missing_file(tmp_path):
    text = CHILD.replace("parent.yaml", "nowhere.yaml")
    err = error(tmp_path, text, "child.yaml")
    assert err.message == f"no ruleset file at {tmp_path / 'nowhere.yaml'}"
    assert err.location.file.endswith("child.yaml") and position(err) == at(text, "nowhere.yaml")


def test_an_extends_cycle(tmp_path):
    a = "id: a\nextends: b.yaml\n"
    b = "id: b\nversion: '1'\nextends: a.yaml\n"
    write(tmp_path, a, "a.yaml")
    write(tmp_path, b, "b.yaml")
    with pytest.raises(RulesetError) as info:
        load_ruleset(tmp_path / "a.yaml")
    err = info.value
    assert err.message.startswith("'extends' forms a cycle: ") and "a.yaml → " in err.message
    assert err.location.file.endswith("b.yaml") and position(err) == at(b, "a.yaml")


def test_a_ruleset_that_extends_itself(tmp_path):
    text = "id: a\nextends: ./self.yaml\n"
    err = error(tmp_path, text, "self.yaml")
    assert err.message.startswith("'extends' forms a cycle") and position(err) == at(text, "./self.yaml")


def test_extends_takes_a_path(tmp_path):
    text = "id: a\nextends: [parent.yaml]\n"
    err = error(tmp_path, text)
    assert err.message == "'extends' takes the path of the parent ruleset" and position(err) == at(text, "extends")


def test_extends_resolves_relative_to_the_child(tmp_path):
    (tmp_path / "national").mkdir()
    (tmp_path / "county").mkdir()
    write(tmp_path / "national", PARENT)
    write(tmp_path / "county", CHILD.replace("parent.yaml", "../national"))
    assert load_ruleset(tmp_path / "county").rules["rural"].title.en == "Rural"


# The digest


def test_the_digest_ignores_comments_formatting_and_key_order(tmp_path):
    first = load_ruleset(write(tmp_path, HEADER + PARAMETERS + RULES)).digest
    reformatted = """\
# the same ruleset, written differently
version: '1'
id: "test"
title:
  en: Test
  zh: 测试
sources: {S1: {title: 政策, file: policy.txt}}
rules:
  low_income:
    cite:
      quote: 低于收入线
      line: 2
      source: S1
    when: 'hh.income.per_capita_net < p.line'   # a comment
    title: {en: Low income, zh: 低收入}
parameters:
  line:
    unit: 元
    title: {zh: 收入线, en: Income line}
    values:
    - {from: 2020-01-01, value: 4000, cite: {source: S1, line: 1, quote: 收入线4000元}}
"""
    assert load_ruleset(write(tmp_path, reformatted)).digest == first


def test_the_digest_changes_when_a_rule_changes(tmp_path):
    first = load_ruleset(write(tmp_path, HEADER + PARAMETERS + RULES)).digest
    changed = HEADER + PARAMETERS + RULES.replace("< p.line", "<= p.line")
    assert load_ruleset(write(tmp_path, changed)).digest != first


def test_the_digest_changes_when_a_parameter_value_or_a_citation_changes(tmp_path):
    first = load_ruleset(write(tmp_path, HEADER + PARAMETERS + RULES)).digest
    value = HEADER + PARAMETERS.replace("value: 4000", "value: 4001") + RULES
    quote = HEADER + PARAMETERS + RULES.replace("quote: 低于收入线", "quote: 低于收入线。")
    digests = {first, load_ruleset(write(tmp_path, value)).digest, load_ruleset(write(tmp_path, quote)).digest}
    assert len(digests) == 3


def test_the_digest_of_a_child_follows_its_parent(tmp_path):
    write(tmp_path, PARENT, "parent.yaml")
    first = load_ruleset(write(tmp_path, CHILD, "child.yaml")).digest
    write(tmp_path, PARENT.replace("when: hh.rural_hukou", "when: not hh.rural_hukou"), "parent.yaml")
    assert load_ruleset(tmp_path / "child.yaml").digest != first
    write(tmp_path, "# a comment on top\n" + PARENT, "parent.yaml")
    assert load_ruleset(tmp_path / "child.yaml").digest == first


def test_the_digest_does_not_depend_on_where_the_files_are(tmp_path):
    write(tmp_path, PARENT, "parent.yaml")
    first = load_ruleset(write(tmp_path, CHILD, "child.yaml")).digest
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(tmp_path, elsewhere, ignore=shutil.ignore_patterns("elsewhere"))
    assert load_ruleset(elsewhere / "child.yaml").digest == first
