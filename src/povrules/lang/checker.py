"""Syntactic tree → checked tree: names resolved, every node typed.

A ruleset is checked once, when it loads, against the fact schema and its
own parameters and derived facts. An unknown name or a type mismatch is a
:class:`CheckProblem` pointing at the offending node, with a did-you-mean.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs

from povrules.errors import PovrulesError, did_you_mean
from povrules.facts import ROOTS, SUBJECTS
from povrules.lang import ast
from povrules.lang.types import (
    BOOL,
    DATE,
    DECIMAL,
    INT,
    STR,
    EnumType,
    ListType,
    RecordType,
    Type,
    compatible,
    is_number,
    is_stringy,
)

ROOT = SUBJECTS["household"].root  # `hh`; a village ruleset says `village`, a county one `county`
PARAMS = "p"
AS_OF = "as_of"
RESERVED = frozenset({*ROOTS, PARAMS, AS_OF})


@attrs.frozen
class CheckProblem(PovrulesError):
    """A name that does not resolve or a type that does not fit, at a node. The ruleset loader raises
    it again as a :class:`~povrules.RulesetError` at the expression's place in its file."""

    message: str
    span: ast.Span
    hint: str | None = None

    def __str__(self) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.span.line}:{self.span.column}: {self.message}{hint}"


def _subject_name(root: str) -> str:
    """The subject conditions call ``root`` (``hh``: household), or ``root`` itself if it names none."""
    return ROOTS.get(root, root)


@attrs.frozen
class Scope:
    """What an expression may name: the subject's facts, parameters, derived facts, loop variables."""

    subject: RecordType
    params: dict[str, Type]
    derived: dict[str, Type]
    variables: dict[str, Type] = attrs.Factory(dict)
    root: str = ROOT  # the name of the subject's facts in conditions

    def bind(self, var: str, typ: Type) -> Scope:
        return attrs.evolve(self, variables={**self.variables, var: typ})


def facts_hint(word: str, record: RecordType) -> str:
    """A did-you-mean for a fact name not in ``record``, then every fact that record has, so an author sees the choices."""
    known = f"facts of {record.name}: {', '.join(sorted(record.fields))}"
    close = did_you_mean(word, record.fields)
    return f"{close} {known}" if close else known


def check(node: ast.Expr, scope: Scope) -> ast.Expr:
    """Resolve and type an expression tree.

    Raises :class:`CheckProblem` at the node for a name that does not resolve or a type that does not fit.
    """
    return _Checker(scope).expr(node)


def check_condition(node: ast.Expr, scope: Scope) -> ast.Expr:
    """Check an expression that must be true or false.

    Raises :class:`CheckProblem` as :func:`check` does, and for an expression that is not true or false.
    """
    checked = check(node, scope)
    if checked.type != BOOL:
        raise CheckProblem(f"a condition must be true or false, but this is {checked.type}", node.span)
    return checked


class _Checker:
    def __init__(self, scope: Scope):
        self.scope = scope

    def fail(self, node: ast.Node, message: str, hint: str | None = None) -> CheckProblem:
        return CheckProblem(message, node.span, hint)

    def expr(self, node: ast.Expr) -> ast.Expr:
        method = getattr(self, "_" + type(node).__name__.lower())
        result: ast.Expr = method(node)
        return result

    # Leaves and references

    def _const(self, node: ast.Const) -> ast.Expr:
        value = node.value
        typ = (
            BOOL
            if isinstance(value, bool)
            else STR
            if isinstance(value, str)
            else INT
            if isinstance(value, int)
            else DECIMAL
        )
        return attrs.evolve(node, type=typ)

    def _listlit(self, node: ast.ListLit) -> ast.Expr:
        items = tuple(self.expr(i) for i in node.items)
        kinds = {i.type for i in items if i.type is not None}  # every checked expression has its type
        if not all(isinstance(i, ast.Const) for i in items):
            raise self.fail(node, "a list written in a condition may hold only literal values")
        if len(kinds) > 1 and not all(is_number(k) for k in kinds):
            raise self.fail(node, "a list must hold values of one type")
        item_type = DECIMAL if len(kinds) > 1 else kinds.pop() if kinds else STR
        return attrs.evolve(node, items=items, type=ListType("list", item=item_type))

    def _name(self, node: ast.Name) -> ast.Expr:
        name = node.id
        if name in self.scope.variables:
            return ast.VarRef(
                span=node.span, text=node.text, var=name, path=(), field=None, type=self.scope.variables[name]
            )
        if name == AS_OF:
            return ast.AsOf(span=node.span, text=node.text, type=DATE)
        if name in self.scope.derived:
            return ast.DerivedRef(span=node.span, text=node.text, name=name, type=self.scope.derived[name])
        if name == self.scope.root:
            raise self.fail(node, f"'{name}' is the {_subject_name(name)}; name one of its facts, e.g. {name}.<fact>")
        if name in ROOTS:
            raise self.fail(
                node,
                f"'{name}' names a {_subject_name(name)}'s facts, but this ruleset decides about "
                f"{_subject_name(self.scope.root)}s: use {self.scope.root}.<fact>",
            )
        if name == PARAMS:
            raise self.fail(node, f"'{PARAMS}' holds the parameters; name one, e.g. {PARAMS}.<name>")
        known = [*self.scope.variables, *self.scope.derived, *RESERVED]
        raise self.fail(node, f"unknown name {name!r}", did_you_mean(name, known))

    def _attr(self, node: ast.Attr) -> ast.Expr:
        chain: list[ast.Attr] = []
        base: ast.Expr = node
        while isinstance(base, ast.Attr):
            chain.append(base)
            base = base.obj
        chain.reverse()
        if not isinstance(base, ast.Name):
            raise self.fail(node, f"attributes may follow only {self.scope.root}, a parameter or a loop variable")
        names = tuple(a.name for a in chain)
        if base.id == PARAMS:
            if len(names) != 1:
                raise CheckProblem("parameters have no attributes", _name_span(chain[1]))
            if names[0] not in self.scope.params:
                raise CheckProblem(
                    f"unknown parameter {names[0]!r}", _name_span(chain[0]), did_you_mean(names[0], self.scope.params)
                )
            return ast.ParamRef(span=node.span, text=node.text, name=names[0], type=self.scope.params[names[0]])
        if base.id in self.scope.variables:
            record = self.scope.variables[base.id]
            field, typ, _ = self._walk(record, chain, f"{base.id}")
            return ast.VarRef(span=node.span, text=node.text, var=base.id, path=names, field=field, type=typ)
        if base.id == self.scope.root:
            field, typ, trail = self._walk(self.scope.subject, chain, base.id)
            assert field is not None
            return ast.FactRef(span=node.span, text=node.text, path=names, field=field, type=typ, trail=trail)
        named = self._name(base)  # raises if the name is unknown
        raise CheckProblem(f"{base.id} is {named.type}; it has no attribute {names[0]!r}", _name_span(chain[0]))

    def _walk(self, record: Type, chain: list[ast.Attr], where: str) -> tuple[Any, Type, tuple[Any, ...]]:
        field = None
        typ: Type = record
        trail = []
        for step in chain:
            at = _name_span(step)
            if not isinstance(typ, RecordType):
                raise CheckProblem(f"{where} is {typ}; it has no attribute {step.name!r}", at)
            if step.name not in typ.fields:
                raise CheckProblem(f"{typ.name} has no fact {step.name!r}", at, facts_hint(step.name, typ))
            field = typ.fields[step.name]
            trail.append(field)
            typ = field.type
            where = f"{where}.{step.name}"
        return field, typ, tuple(trail)

    # Operators

    def _compare(self, node: ast.Compare) -> ast.Expr:
        left, right = self.expr(node.left), self.expr(node.right)
        assert left.type is not None and right.type is not None
        if node.op in ("in", "not_in"):
            if not isinstance(right.type, ListType):
                raise self.fail(right, f"'in' needs a list on its right, but this is {right.type}")
            if not compatible(left.type, right.type.item):
                raise self.fail(node, f"cannot look for {left.type} in a {right.type}")
            self._check_literals(left.type, right)
            self._check_literals(right.type.item, left)
        elif node.op in ("==", "!="):
            if not compatible(left.type, right.type):
                raise self.fail(node, f"cannot compare {left.type} with {right.type}")
            self._check_literals(left.type, right)
            self._check_literals(right.type, left)
        else:
            ordered = (is_number(left.type) and is_number(right.type)) or (left.type == DATE == right.type)
            if not ordered:
                raise self.fail(node, f"'{node.op}' compares numbers or dates, not {left.type} with {right.type}")
        return attrs.evolve(node, left=left, right=right, type=BOOL)

    def _check_literals(self, expected: Type, other: ast.Expr) -> None:
        """A string literal compared with an enumeration must be one of its values."""
        if not isinstance(expected, EnumType):
            return
        consts = other.items if isinstance(other, ast.ListLit) else (other,)
        for const in consts:
            if isinstance(const, ast.Const) and isinstance(const.value, str) and const.value not in expected.values:
                raise self.fail(
                    const,
                    f"{const.value!r} is not a possible value here; expected {expected}",
                    did_you_mean(const.value, expected.values),
                )

    def _logic(self, node: ast.And | ast.Or) -> ast.Expr:
        items = tuple(self._boolean(i) for i in node.items)
        return attrs.evolve(node, items=items, type=BOOL)

    _and = _or = _logic

    def _boolean(self, node: ast.Expr) -> ast.Expr:
        checked = self.expr(node)
        if checked.type != BOOL:
            raise self.fail(node, f"expected true or false here, but this is {checked.type}")
        return checked

    def _not(self, node: ast.Not) -> ast.Expr:
        return attrs.evolve(node, item=self._boolean(node.item), type=BOOL)

    def _arith(self, node: ast.Arith) -> ast.Expr:
        left, right = self.expr(node.left), self.expr(node.right)
        for side in (left, right):
            if not is_number(side.type):
                raise self.fail(side, f"arithmetic needs numbers, but this is {side.type}")
        typ = INT if left.type == INT == right.type and node.op != "/" else DECIMAL
        return attrs.evolve(node, left=left, right=right, type=typ)

    def _neg(self, node: ast.Neg) -> ast.Expr:
        item = self.expr(node.item)
        if not is_number(item.type):
            raise self.fail(item, f"'-' needs a number, but this is {item.type}")
        return attrs.evolve(node, item=item, type=item.type)

    def _cond(self, node: ast.Cond) -> ast.Expr:
        test, then, orelse = self._boolean(node.test), self.expr(node.then), self.expr(node.orelse)
        assert then.type is not None and orelse.type is not None
        if not compatible(then.type, orelse.type):
            raise self.fail(node, f"both branches must have one type, not {then.type} and {orelse.type}")
        typ = DECIMAL if is_number(then.type) and then.type != orelse.type else then.type
        return attrs.evolve(node, test=test, then=then, orelse=orelse, type=typ)

    def _call(self, node: ast.Call) -> ast.Expr:
        args = tuple(self.expr(a) for a in node.args)
        func = node.func
        if func == "date":
            if len(args) != 1 or not isinstance(args[0], ast.Const) or not isinstance(args[0].value, str):
                raise self.fail(node, 'date() takes one literal, e.g. date("2021-01-01")')
            try:
                value = date.fromisoformat(args[0].value)
            except ValueError:
                raise self.fail(args[0], f"{args[0].value!r} is not a date in YYYY-MM-DD form") from None
            return ast.Const(span=node.span, text=node.text, value=value, type=DATE)
        if func in ("days_between", "months_between", "years_between", "working_days_between"):
            if len(args) != 2 or any(a.type != DATE for a in args):
                raise self.fail(node, f"{func}() takes two dates: {func}(<earlier>, <later>)")
            return attrs.evolve(node, args=args, type=INT)
        if func == "at":
            if len(args) != 2:
                raise self.fail(node, "at() takes a parameter and a date: at(p.<name>, <date>)")
            if not isinstance(args[0], ast.ParamRef):
                raise self.fail(
                    args[0], f"at() takes a parameter first, written p.<name>, but this is {args[0].text!r}"
                )
            if args[1].type != DATE:
                raise self.fail(args[1], f"at() takes a date second, but this is {args[1].type}")
            return attrs.evolve(node, args=args, type=args[0].type)
        if func in ("year", "month", "day"):
            if len(args) != 1:
                raise self.fail(node, f"{func}() takes one date: {func}(<date>)")
            if args[0].type != DATE:
                raise self.fail(args[0], f"{func}() takes a date, but this is {args[0].type}")
            return attrs.evolve(node, args=args, type=INT)
        if func in ("working_days", "calendar_days"):
            if len(args) != 2 or any(a.type != DATE for a in args):
                raise self.fail(node, f"{func}() takes two dates: {func}(<first day>, <last day>)")
            return attrs.evolve(node, args=args, type=INT)
        if func in ("add_days", "add_working_days"):
            if len(args) != 2:
                raise self.fail(node, f"{func}() takes a date and a whole number: {func}(<date>, <n>)")
            if args[0].type != DATE:
                raise self.fail(args[0], f"{func}() takes a date first, but this is {args[0].type}")
            if args[1].type != INT:
                raise self.fail(args[1], f"{func}() takes a whole number of days second, but this is {args[1].type}")
            return attrs.evolve(node, args=args, type=DATE)
        if func in ("add_months", "add_years"):
            if len(args) != 2 or args[0].type != DATE or args[1].type != INT:
                raise self.fail(node, f"{func}() takes a date and a whole number: {func}(<date>, <n>)")
            return attrs.evolve(node, args=args, type=DATE)
        if func == "len":
            if len(args) != 1 or not isinstance(args[0].type, ListType):
                raise self.fail(node, "len() takes one list")
            return attrs.evolve(node, args=args, type=INT)
        if func == "abs":
            if len(args) != 1 or not is_number(args[0].type):
                raise self.fail(node, "abs() takes one number")
            return attrs.evolve(node, args=args, type=args[0].type)
        # min, max
        if len(args) < 2:
            raise self.fail(node, f"{func}() takes two or more numbers or dates")
        if all(is_number(a.type) for a in args):
            typ = INT if all(a.type == INT for a in args) else DECIMAL
        elif all(a.type == DATE for a in args):
            typ = DATE
        else:
            raise self.fail(node, f"{func}() takes numbers or dates, all of one kind")
        return attrs.evolve(node, args=args, type=typ)

    def _quant(self, node: ast.Quant) -> ast.Expr:
        source = self.expr(node.source)
        if not isinstance(source.type, ListType):
            raise self.fail(source, f"{node.func}() loops over a list, but this is {source.type}")
        if node.var in RESERVED or node.var in self.scope.derived or node.var in self.scope.variables:
            raise self.fail(node, f"the loop variable {node.var!r} hides another name; choose another")
        inner = _Checker(self.scope.bind(node.var, source.type.item))
        element = inner.expr(node.element)
        where = inner._boolean(node.where) if node.where is not None else None
        if node.func in ("any", "all"):
            if element.type != BOOL:
                raise self.fail(element, f"{node.func}() needs a condition, but this is {element.type}")
            typ: Type = BOOL
        elif node.func == "count":
            bare_var = isinstance(element, ast.VarRef) and not element.path
            if element.type != BOOL and not (bare_var and where is not None):
                raise self.fail(element, "count() needs a condition: count(<condition> for x in <list>)")
            typ = INT
        elif node.func in ("first", "last"):
            assert element.type is not None
            if isinstance(element.type, ListType):
                raise self.fail(element, f"{node.func}() gives one value, but this is {element.type}")
            typ = element.type
        else:
            if not is_number(element.type):
                raise self.fail(element, f"sum() adds numbers, but this is {element.type}")
            typ = element.type if element.type == INT else DECIMAL
        return attrs.evolve(node, source=source, element=element, where=where, type=typ)


def _name_span(step: ast.Attr) -> ast.Span:
    """Where the attribute name itself stands, not the whole chain before it."""
    span = step.span
    return ast.Span(span.end_line, span.end_column - len(step.name), span.end_line, span.end_column)


def describe(t: Type | None) -> str:
    """A type's name for messages."""
    return str(t) if t is not None else "unknown"


__all__ = [
    "AS_OF",
    "PARAMS",
    "ROOT",
    "CheckProblem",
    "Scope",
    "check",
    "check_condition",
    "describe",
    "did_you_mean",
    "is_stringy",
]
