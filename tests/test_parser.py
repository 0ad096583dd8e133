"""The parser: text → a tree of whitelisted forms, or a SyntaxProblem at the offending token.

Safety (what is refused and that nothing runs) is in test_safety.py; here are
the accepted forms, their spans and texts, and the positions of syntax errors.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from povrules.lang import SyntaxProblem, ast, parse
from povrules.lang.parser import MAX_DEPTH, MAX_LENGTH, MAX_NODES


def refused(text: str) -> SyntaxProblem:
    with pytest.raises(SyntaxProblem) as info:
        parse(text)
    return info.value


# Accepted forms


def test_a_fact_path_is_a_chain_of_attributes():
    node = parse("hh.income.per_capita_net")
    assert isinstance(node, ast.Attr) and node.name == "per_capita_net"
    assert isinstance(node.obj, ast.Attr) and node.obj.name == "income"
    assert isinstance(node.obj.obj, ast.Name) and node.obj.obj.id == "hh"
    assert node.text == "hh.income.per_capita_net"


def test_logic_is_flattened_and_keeps_its_operands_in_order():
    node = parse("hh.a and hh.b and not hh.c")
    assert isinstance(node, ast.And) and len(node.items) == 3
    assert isinstance(node.items[2], ast.Not)
    assert [i.text for i in node.items] == ["hh.a", "hh.b", "not hh.c"]
    assert isinstance(parse("hh.a or hh.b"), ast.Or)


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("a == b", "=="),
        ("a != b", "!="),
        ("a < b", "<"),
        ("a <= b", "<="),
        ("a > b", ">"),
        ("a >= b", ">="),
        ("a in b", "in"),
        ("a not in b", "not_in"),
    ],
)
def test_comparison_operators(text, op):
    node = parse(text)
    assert isinstance(node, ast.Compare) and node.op == op and node.text == text


def test_a_chained_comparison_is_a_conjunction_of_pairs_with_their_own_text():
    node = parse("0 < hh.income.wage <= p.line")
    assert isinstance(node, ast.And) and [c.op for c in node.items] == ["<", "<="]
    assert [c.text for c in node.items] == ["0 < hh.income.wage", "hh.income.wage <= p.line"]
    assert node.items[1].span.column == 5


def test_a_chained_comparison_after_chinese_text_keeps_its_text():
    node = parse('"甲乙" < hh.village < "丙"')
    assert [c.text for c in node.items] == ['"甲乙" < hh.village', 'hh.village < "丙"']
    assert node.items[1].span.column == 8


@pytest.mark.parametrize(("text", "op"), [("a + b", "+"), ("a - b", "-"), ("a * b", "*"), ("a / b", "/")])
def test_arithmetic_operators(text, op):
    node = parse(text)
    assert isinstance(node, ast.Arith) and node.op == op


def test_a_negative_number_is_a_negation():
    node = parse("-1.5")
    assert isinstance(node, ast.Neg) and isinstance(node.item, ast.Const) and node.item.value == Decimal("1.5")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.1", Decimal("0.1")),
        ("6500.00", Decimal("6500.00")),
        ("1_000.5", Decimal("1000.5")),
        ("1e3", Decimal("1e3")),
        ("4000", 4000),
        ('"exited"', "exited"),
        ("True", True),
        ("False", False),
        ("'单引号'", "单引号"),
    ],
)
def test_literals(text, value):
    node = parse(text)
    assert isinstance(node, ast.Const) and node.value == value and type(node.value) is type(value)


def test_a_decimal_literal_is_read_from_its_text_not_from_a_float():
    node = parse("0.1")
    assert node.value == Decimal("0.1") and node.value != Decimal(0.1)


def test_lists_tuples_and_sets_are_list_literals():
    for text in ('["C", "D"]', '("C", "D")', '{"C", "D"}'):
        node = parse(text)
        assert isinstance(node, ast.ListLit) and [i.value for i in node.items] == ["C", "D"]


def test_a_conditional_expression():
    node = parse("1 if hh.rural_hukou else 2")
    assert isinstance(node, ast.Cond) and node.then.value == 1 and node.orelse.value == 2


def test_calls_of_the_built_in_functions():
    node = parse('months_between(hh.registration.registered_on, date("2021-01-01"))')
    assert isinstance(node, ast.Call) and node.func == "months_between" and len(node.args) == 2
    assert isinstance(node.args[1], ast.Call) and node.args[1].func == "date"


@pytest.mark.parametrize("func", ["any", "all", "count", "sum"])
def test_quantifiers(func):
    node = parse(f"{func}(m.age > 1 for m in hh.members if m.on_hukou)")
    assert isinstance(node, ast.Quant) and node.func == func and node.var == "m"
    assert node.source.text == "hh.members" and node.element.text == "m.age > 1" and node.where.text == "m.on_hukou"


def test_a_quantifier_without_a_filter():
    assert parse("any(m.on_hukou for m in hh.members)").where is None


# Spans


def test_spans_are_one_based_lines_and_columns():
    node = parse("hh.a and hh.bb")
    second = node.items[1]
    assert (second.span.line, second.span.column, second.span.end_line, second.span.end_column) == (1, 10, 1, 15)


def test_spans_count_characters_after_non_ascii_text():
    node = parse('"大理村" == hh.village')
    assert node.right.span.column == 10 and node.right.span.end_column == 20


def test_spans_of_a_multi_line_expression():
    node = parse("(hh.a\n   and hh.bb)")
    assert (node.items[1].span.line, node.items[1].span.column) == (2, 8)


def test_leading_blank_lines_count():
    # A '|' block may start with a blank line; lines are numbered as in the text given.
    node = parse("\n\nhh.a")
    assert node.span.line == 3


# Syntax errors, each at its token


def test_a_syntax_error_points_at_the_unexpected_token():
    p = refused("1 +* 2")
    assert p.message.startswith("syntax error") and (p.line, p.column) == (1, 4)


def test_a_syntax_error_after_chinese_text_counts_characters():
    p = refused('"大理" +* 2')
    assert (p.line, p.column) == (1, 7)


@pytest.mark.parametrize(
    ("text", "line", "column"), [("hh.a and", 1, 9), ("hh.a ==", 1, 8), ("(hh.a and\n hh.b) and", 2, 11)]
)
def test_an_expression_that_ends_too_early_points_after_its_last_character(text, line, column):
    p = refused(text)
    assert p.message == "syntax error: invalid syntax (the expression ends too early)"
    assert (p.line, p.column) == (line, column)


def test_a_trailing_line_break_does_not_move_the_error():
    p = refused("hh.a ==\n")
    assert p.message.startswith("syntax error") and (p.line, p.column) == (1, 8)


def test_an_unclosed_parenthesis():
    p = refused("any(m.age > 1 for m in hh.members")
    assert "never closed" in p.message and (p.line, p.column) == (1, 4)


def test_a_statement_is_not_an_expression():
    assert refused("x = 1").message.startswith("syntax error")
    assert refused("import os").message.startswith("syntax error")


def test_a_line_break_outside_brackets_is_a_syntax_error():
    p = refused("hh.a\nand hh.b")
    assert p.message.startswith("syntax error") and p.line == 2


# Refused forms and their positions (the full list is in test_safety.py)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("hh.members[0]", "indexing is not allowed in a condition", 1),
        ("hh.a and hh.b[0]", "indexing is not allowed in a condition", 10),
        ("hh.a and hh._private", "names starting with '_' are not allowed: '_private'", 10),
        ("len(hh.members, key=1)", "keyword arguments are not allowed", 21),
        ("hh.a is True", "'is' and 'is not' are not allowed; use == or !=", 1),
        ("2 ** 3 > 1", "only + - * / are allowed in arithmetic", 1),
        ("~1 > 0", "this unary operator is not allowed", 1),
        ("+1 > 0", "this unary operator is not allowed", 1),
        ("hh.a and open('x')", "unknown function 'open'", 10),
        ('hh.a and "x".upper()', "only the built-in functions may be called", 10),
        ("any(m for m in hh.members for n in hh.members)", "only one 'for' clause is allowed", 4),
        ("any(m for m in hh.members if m.a if m.b)", "only one 'if' clause is allowed", 37),
        ("any(m for (m, n) in hh.members)", "the loop variable must be a single name", 11),
        ("any(m for _m in hh.members)", "names starting with '_' are not allowed: '_m'", 11),
        ("any([m.a for m in hh.members])", "any() takes one generator: any(<condition> for <name> in <list>)", 1),
        ("any(m.a, hh.b)", "any() takes one generator: any(<condition> for <name> in <list>)", 1),
        ("len(m for m in hh.members)", "a generator must be the only argument of any(), all(), count() or sum()", 4),
        ("None", "NoneType literals are not allowed", 1),
        ("1j", "complex literals are not allowed", 1),
        ('b"x"', "bytes literals are not allowed", 1),
    ],
)
def test_refused_forms(text, message, column):
    p = refused(text)
    assert p.message == message and p.column == column


def test_an_unknown_function_hints_at_the_allowed_ones():
    p = refused("round(hh.income.wage) > 1")
    assert p.hint is not None and "months_between" in p.hint and "any" in p.hint


# Limits


def test_an_expression_of_exactly_the_maximum_length_is_accepted():
    text = 'hh.village == "' + "x" * (MAX_LENGTH - len('hh.village == ""')) + '"'
    assert len(text) == MAX_LENGTH
    assert isinstance(parse(text), ast.Compare)
    p = refused(text + " ")
    assert p.message == f"expression is {MAX_LENGTH + 1} characters long; at most {MAX_LENGTH} are allowed"


def test_nesting_up_to_the_limit_is_accepted_and_beyond_it_refused():
    # Each 'not' is one level and the constant under them another.
    ok = "not " * (MAX_DEPTH - 1) + "True"
    assert isinstance(parse(ok), ast.Not)
    p = refused("not " * MAX_DEPTH + "True")
    assert p.message == f"expression nests too deeply (at most {MAX_DEPTH} levels)"


def test_too_many_parts_are_refused_even_when_shallow():
    text = "hh.a in [" + ",".join(["1"] * MAX_NODES) + "]"
    assert len(text) <= MAX_LENGTH
    p = refused(text)
    assert p.message.startswith("expression has ") and p.message.endswith(f"parts; at most {MAX_NODES} are allowed")
