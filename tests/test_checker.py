"""The checker: names resolve to facts, parameters, derived facts and loop variables; every node is typed.

Problems are :class:`CheckProblem` with the span of the offending node and, for
names and enumeration values, a did-you-mean hint.
"""

from __future__ import annotations

from datetime import date

import pytest

from povrules.facts import Household, Income, Member
from povrules.lang import CheckProblem, Scope, ast, check, check_condition, parse
from povrules.lang.types import BOOL, DATE, DECIMAL, INT, STR, EnumType, ListType, RecordType, record_of

SCOPE = Scope(
    record_of(Household),
    {"line": DECIMAL, "kinds": ListType("list", item=STR), "start": DATE},
    {"flag": BOOL, "total": DECIMAL},
)


def checked(text: str) -> ast.Expr:
    return check(parse(text), SCOPE)


def problem(text: str, condition: bool = True) -> CheckProblem:
    with pytest.raises(CheckProblem) as info:
        (check_condition if condition else check)(parse(text), SCOPE)
    return info.value


# Resolution and types


def test_a_fact_path_resolves_with_its_field_and_type():
    node = checked("hh.income.per_capita_net")
    assert isinstance(node, ast.FactRef)
    assert node.path == ("income", "per_capita_net")
    assert node.type == DECIMAL and node.field.unit == "元" and node.field.zh == "人均纯收入"
    assert [f.name for f in node.trail] == ["income", "per_capita_net"]


def test_fact_types_come_from_the_models():
    assert checked("hh.rural_hukou").type == BOOL
    assert checked("hh.months_absent").type == INT
    assert checked("hh.registration.registered_on").type == DATE
    assert checked("hh.village").type == STR
    status = checked("hh.registration.status").type
    assert isinstance(status, EnumType) and "exited" in status.values
    members = checked("hh.members").type
    assert isinstance(members, ListType) and isinstance(members.item, RecordType) and members.item.name == "Member"


def test_a_judged_fact_has_the_type_of_its_value_and_is_marked_judged():
    node = checked("hh.assessments.return_risk")
    assert isinstance(node, ast.FactRef) and node.type == BOOL and node.field.judged


def test_parameters_derived_facts_and_as_of_resolve():
    param = checked("p.line")
    assert isinstance(param, ast.ParamRef) and param.name == "line" and param.type == DECIMAL
    derived = checked("flag")
    assert isinstance(derived, ast.DerivedRef) and derived.type == BOOL
    assert isinstance(checked("as_of"), ast.AsOf) and checked("as_of").type == DATE


def test_a_loop_variable_resolves_inside_its_quantifier_only():
    node = checked("any(m.age > 60 for m in hh.members)")
    assert isinstance(node, ast.Quant) and node.type == BOOL
    assert isinstance(node.element, ast.Compare)
    var = node.element.left
    assert isinstance(var, ast.VarRef) and var.var == "m" and var.path == ("age",) and var.type == INT
    outside = problem("any(m.age > 1 for m in hh.members) and m.age > 1")
    assert outside.message == "unknown name 'm'" and outside.span.column == 40


def test_quantifier_result_types():
    assert checked("count(m.age > 1 for m in hh.members)").type == INT
    assert checked("sum(m.age for m in hh.members)").type == INT
    assert checked("sum(v.value for v in hh.assets.vehicles)").type == DECIMAL
    assert checked("count(m for m in hh.members if m.age > 1)").type == INT


def test_arithmetic_and_call_types():
    assert checked("1 + 2").type == INT
    assert checked("1 / 2").type == DECIMAL
    assert checked("1 + 0.5").type == DECIMAL
    assert checked("-hh.months_absent").type == INT
    assert checked("months_between(hh.registration.registered_on, as_of)").type == INT
    assert checked('max(as_of, date("2020-01-01"))').type == DATE
    assert checked("min(1, 2.5)").type == DECIMAL
    assert checked("abs(p.line)").type == DECIMAL
    assert checked("len(hh.members)").type == INT
    assert checked("(1 if flag else 2.5)").type == DECIMAL


def test_a_date_literal_becomes_a_constant():
    node = checked('date("2021-01-01")')
    assert isinstance(node, ast.Const) and node.value == date(2021, 1, 1) and node.type == DATE


def test_a_literal_list_of_mixed_numbers_is_a_list_of_decimals():
    node = checked("[1, 2.5]")
    assert isinstance(node.type, ListType) and node.type.item == DECIMAL


# Unknown names, each with a position and a did-you-mean


def test_unknown_fact_points_at_the_misspelt_name():
    p = problem("hh.incom.per_capita_net < 4000")
    assert p.message == "Household has no fact 'incom'"
    assert (p.span.line, p.span.column) == (1, 4)
    assert p.hint is not None and p.hint.startswith("did you mean 'income'? facts of Household: ")


def test_unknown_nested_fact_points_at_the_misspelt_name():
    p = problem("hh.income.per_capita_nett < 4000")
    assert p.message == "Income has no fact 'per_capita_nett'"
    assert p.span.column == 11 and p.hint is not None and p.hint.startswith("did you mean 'per_capita_net'? ")


def test_unknown_fact_of_a_loop_variable():
    p = problem("any(m.agee > 1 for m in hh.members)")
    assert p.message == "Member has no fact 'agee'" and p.span.column == 7
    assert p.hint is not None and p.hint.startswith("did you mean 'age'? facts of Member: ")


def test_an_unknown_fact_lists_the_facts_at_its_level():
    """Every fact of the record the name was looked up in, in order, and none of another level."""
    p = problem("hh.income.zzz < 1")
    income = sorted(record_of(Income).fields)
    assert p.hint == "facts of Income: " + ", ".join(income)  # nothing close: no did-you-mean
    assert "per_capita_net" in income and "members" not in p.hint
    p = problem("any(m.studying for m in hh.members)")
    assert p.hint is not None and ", ".join(sorted(record_of(Member).fields)) in p.hint


def test_unknown_parameter():
    p = problem("hh.income.per_capita_net < p.lin")
    assert p.message == "unknown parameter 'lin'" and p.span.column == 30 and p.hint == "did you mean 'line'?"


def test_unknown_name_suggests_a_derived_fact_or_a_root():
    assert problem("flg").hint == "did you mean 'flag'?"
    p = problem("hhh.income.wage > 1")
    assert p.message == "unknown name 'hhh'" and p.hint == "did you mean 'hh'?"


def test_the_roots_alone_are_not_values():
    assert "is the household" in problem("hh").message
    assert "holds the parameters" in problem("p").message


def test_a_fact_of_a_list_needs_a_quantifier():
    p = problem("hh.members.age > 1")
    assert p.message == "hh.members is list of record Member; it has no attribute 'age'" and p.span.column == 12


def test_a_scalar_has_no_attributes():
    assert problem("hh.village.upper == 1").message == "hh.village is str; it has no attribute 'upper'"
    p = problem("p.line.real > 1")
    assert p.message == "parameters have no attributes" and p.span.column == 8


def test_as_of_and_derived_facts_have_no_attributes():
    # These once checked as plain as_of / flag, silently dropping the attribute.
    p = problem("as_of.year == as_of")
    assert p.message == "as_of is date; it has no attribute 'year'" and p.span.column == 7
    p = problem("flag.anything")
    assert p.message == "flag is bool; it has no attribute 'anything'" and p.span.column == 6


def test_python_attributes_of_the_models_are_not_facts():
    for name in ("model_fields", "model_dump", "model_config", "copy", "dict", "json"):
        assert problem(f"hh.{name} == 1").message == f"Household has no fact {name!r}"


@pytest.mark.parametrize(
    "text",
    [
        "any(hh.rural_hukou for hh in hh.members)",
        "any(flag for flag in hh.members)",
        "any(p for p in hh.members)",
        "any(any(m.age > 1 for m in hh.members) for m in hh.members)",
    ],
)
def test_a_loop_variable_may_not_hide_another_name(text):
    assert "hides another name" in problem(text).message


# Types that do not fit


def test_comparing_a_number_with_text():
    p = problem('hh.income.per_capita_net < "abc"')
    assert p.message == "'<' compares numbers or dates, not decimal with str" and p.span.column == 1


def test_arithmetic_on_a_boolean():
    p = problem("hh.rural_hukou + 1 > 0")
    assert p.message == "arithmetic needs numbers, but this is bool" and p.span.column == 1


def test_arithmetic_on_a_date():
    assert problem("as_of + 1 > as_of").message == "arithmetic needs numbers, but this is date"


def test_a_boolean_is_not_a_number():
    assert problem("hh.rural_hukou == 1").message == "cannot compare bool with int"


def test_text_has_no_order():
    assert problem('hh.village < "a"').message == "'<' compares numbers or dates, not str with str"


@pytest.mark.parametrize(
    ("text", "column", "hint"),
    [
        ('any(v.kind == "carr" for v in hh.assets.vehicles)', 15, "did you mean 'car'?"),
        ('"exitd" == hh.registration.status', 1, "did you mean 'exited'?"),
        ('hh.registration.status in ["exitted", "general"]', 28, "did you mean 'exited'?"),
        ('hh.registration.status != "registered-poor"', 27, "did you mean 'registered_poor'?"),
    ],
)
def test_an_enumeration_literal_typo(text, column, hint):
    p = problem(text)
    assert "is not a possible value here; expected one of" in p.message
    assert p.span.column == column and p.hint == hint


def test_an_enumeration_compares_with_text_facts_and_text_parameters():
    assert checked("hh.registration.status == hh.village").type == BOOL
    assert checked("hh.registration.status in p.kinds").type == BOOL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hh.income.per_capita_net + 1", "a condition must be true or false, but this is decimal"),
        ("total", "a condition must be true or false, but this is decimal"),
        ("hh.village", "a condition must be true or false, but this is str"),
        ("as_of", "a condition must be true or false, but this is date"),
    ],
)
def test_a_condition_must_be_boolean(text, message):
    p = problem(text)
    assert p.message == message and p.span.column == 1


def test_non_boolean_operands_of_logic_point_at_the_operand():
    p = problem("hh.rural_hukou and 1")
    assert p.message == "expected true or false here, but this is int" and p.span.column == 20
    assert problem("not hh.income").message == "expected true or false here, but this is record Income"
    assert problem("(1 if 2 else 3) == 1").span.column == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hh.village in hh.village", "'in' needs a list on its right, but this is str"),
        ("hh.village in [1, 2]", "cannot look for str in a list of int"),
        ('[1, "a"] == [1]', "a list must hold values of one type"),
        ("[hh.id] == [hh.id]", "a list written in a condition may hold only literal values"),
        ("len(hh.village) > 1", "len() takes one list"),
        ("abs(hh.village) > 1", "abs() takes one number"),
        ("min(as_of, 1) == 1", "min() takes numbers or dates, all of one kind"),
        ("max(1) == 1", "max() takes two or more numbers or dates"),
        ("months_between(as_of) > 1", "months_between() takes two dates: months_between(<earlier>, <later>)"),
        ("days_between(as_of, 1) > 1", "days_between() takes two dates: days_between(<earlier>, <later>)"),
        ('(1 if flag else "a") == 1', "both branches must have one type, not int and str"),
        ("any(m.age for m in hh.members)", "any() needs a condition, but this is int"),
        ("count(m.age for m in hh.members) > 1", "count() needs a condition: count(<condition> for x in <list>)"),
        (
            "sum(m.health for m in hh.members) > 1",
            "sum() adds numbers, but this is one of 'healthy', 'chronic', 'serious_illness'",
        ),
        ("any(m.age > 1 for m in hh.rural_hukou)", "any() loops over a list, but this is bool"),
        ("-hh.village == 'a'", "'-' needs a number, but this is str"),
    ],
)
def test_type_mismatches(text, message):
    assert problem(text).message == message


def test_spans_are_characters_not_bytes():
    # Python reports byte offsets; a reader counts characters (三 is one character, three bytes).
    p = problem('hh.village == "大理村" and hh.incom.per_capita_net > 0')
    assert p.span.column == 28


def test_spans_of_a_multi_line_expression():
    p = problem("(hh.rural_hukou\n and hh.incom.per_capita_net > 0)")
    assert (p.span.line, p.span.column) == (2, 9)
