"""Checked tree → Python closures, evaluated with three-valued logic.

A missing fact evaluates to an :class:`Unknown` that carries the paths of the
facts it lacks. ``and``/``or``/``not`` and the quantifiers follow Kleene's
logic (``False and unknown`` is ``False``), so an unknown survives only where
the missing fact could still change the result — which is what lets a
decision name exactly the facts it still needs.

Closures are compiled once per ruleset, in two flavours: *traced* closures
append one tuple per leaf condition to ``env.rec``; untraced ones do not.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from povrules.errors import EvaluationError
from povrules.lang import ast
from povrules.lang.checker import ROOT


class Unknown:
    """The value of an expression that depends on missing facts."""

    __slots__ = ("missing",)

    def __init__(self, missing: frozenset[str]):
        self.missing = missing

    def __repr__(self) -> str:
        return f"Unknown({sorted(self.missing)})"

    def merge(self, other: Unknown) -> Unknown:
        return self if other.missing <= self.missing else Unknown(self.missing | other.missing)


class Env:
    """What one evaluation reads: the facts, the parameters in force, the date, the trace."""

    __slots__ = ("hh", "params", "as_of", "rec", "scope", "where")

    def __init__(self, hh: Any, params: dict[str, Any], as_of: date, rec: list[tuple[Any, ...]] | None):
        self.hh = hh
        self.params = params
        self.as_of = as_of
        self.rec = rec
        self.scope: dict[str, tuple[Any, str]] = {}
        self.where: tuple[str, ...] = ()


Fn = Callable[[Env], Any]
# A leaf record: (node, left, right, result, where). ``where`` names the list
# elements the leaf was evaluated for, e.g. ("hh.members[1]",).
Leaf = tuple[ast.Node, Any, Any, Any, tuple[str, ...]]

_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
          "==": operator.eq, "!=": operator.ne}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _unknown_of(*values: Any) -> Unknown:
    found = [v for v in values if v.__class__ is Unknown]
    result = found[0]
    for other in found[1:]:
        result = result.merge(other)
    return result


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (a month is complete on the same day-of-month)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day and months > 0:
        months -= 1
    elif end.day > start.day and months < 0:
        months += 1
    return months


def years_between(start: date, end: date) -> int:
    """Whole years from ``start`` to ``end``, counted like an age."""
    months = months_between(start, end)
    return months // 12 if months >= 0 else -((-months) // 12)


def days_between(start: date, end: date) -> int:
    return (end - start).days


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "abs": abs, "min": min, "max": max,
    "days_between": days_between, "months_between": months_between, "years_between": years_between,
}


class Compiler:
    """Compiles checked expressions of one ruleset."""

    def __init__(self, derived: dict[str, Fn], traced: bool):
        self.derived = derived
        self.traced = traced

    def condition(self, node: ast.Expr) -> Fn:
        """A closure for an expression in a true/false position (recorded as a leaf if it is one)."""
        if isinstance(node, (ast.And, ast.Or, ast.Not, ast.Quant, ast.Cond, ast.DerivedRef, ast.Compare)):
            return self.value(node)
        fn = self.value(node)
        if not self.traced:
            return fn

        def leaf(env: Env) -> Any:
            v = fn(env)
            env.rec.append((node, v, None, v, env.where))  # type: ignore[union-attr]
            return v

        return leaf

    def value(self, node: ast.Expr) -> Fn:
        method: Callable[[Any], Fn] = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    # References

    def _const(self, node: ast.Const) -> Fn:
        value = node.value
        return lambda env: value

    def _listlit(self, node: ast.ListLit) -> Fn:
        values = tuple(item.value for item in node.items)  # type: ignore[union-attr]
        return lambda env: values

    def _asof(self, node: ast.AsOf) -> Fn:
        return lambda env: env.as_of

    def _paramref(self, node: ast.ParamRef) -> Fn:
        name = node.name
        return lambda env: env.params[name]

    def _derivedref(self, node: ast.DerivedRef) -> Fn:
        return self.derived[node.name]

    def _factref(self, node: ast.FactRef) -> Fn:
        dotted = ".".join(node.path + (("value",) if node.field.judged else ()))
        get = operator.attrgetter(dotted)
        missing = Unknown(frozenset({ROOT + "." + ".".join(node.path)}))

        def fact(env: Env) -> Any:
            try:
                v = get(env.hh)
            except AttributeError:  # a record on the way is unknown
                return missing
            return missing if v is None else v

        return fact

    def _varref(self, node: ast.VarRef) -> Fn:
        var, path = node.var, node.path
        if not path:
            return lambda env: env.scope[var][0]
        judged = node.field is not None and node.field.judged
        get = operator.attrgetter(".".join(path + (("value",) if judged else ())))
        suffix = "." + ".".join(path)

        def element_fact(env: Env) -> Any:
            obj, where = env.scope[var]
            try:
                v = get(obj)
            except AttributeError:
                return Unknown(frozenset({where + suffix}))
            return Unknown(frozenset({where + suffix})) if v is None else v

        return element_fact

    # Operators

    def _compare(self, node: ast.Compare) -> Fn:
        left, right, op = self.value(node.left), self.value(node.right), node.op
        if op == "in":
            test: Callable[[Any, Any], bool] = lambda a, b: a in b  # noqa: E731
        elif op == "not_in":
            test = lambda a, b: a not in b  # noqa: E731
        else:
            test = _ORDER[op]
        if not self.traced:
            def compare(env: Env) -> Any:
                a, b = left(env), right(env)
                if a.__class__ is Unknown or b.__class__ is Unknown:
                    return _unknown_of(a, b)
                return test(a, b)
            return compare

        def compare_traced(env: Env) -> Any:
            a, b = left(env), right(env)
            result = _unknown_of(a, b) if a.__class__ is Unknown or b.__class__ is Unknown else test(a, b)
            env.rec.append((node, a, b, result, env.where))  # type: ignore[union-attr]
            return result

        return compare_traced

    def _and(self, node: ast.And) -> Fn:
        items = tuple(self.condition(i) for i in node.items)

        def all_of(env: Env) -> Any:
            unknown = None
            for item in items:
                v = item(env)
                if v is False:
                    return False
                if v.__class__ is Unknown:
                    unknown = v if unknown is None else unknown.merge(v)
            return True if unknown is None else unknown

        return all_of

    def _or(self, node: ast.Or) -> Fn:
        items = tuple(self.condition(i) for i in node.items)

        def any_of(env: Env) -> Any:
            unknown = None
            for item in items:
                v = item(env)
                if v is True:
                    return True
                if v.__class__ is Unknown:
                    unknown = v if unknown is None else unknown.merge(v)
            return False if unknown is None else unknown

        return any_of

    def _not(self, node: ast.Not) -> Fn:
        item = self.condition(node.item)

        def negate(env: Env) -> Any:
            v = item(env)
            return v if v.__class__ is Unknown else not v

        return negate

    def _arith(self, node: ast.Arith) -> Fn:
        left, right = self.value(node.left), self.value(node.right)
        if node.op == "/":
            def divide(a: Any, b: Any) -> Any:
                try:
                    return Decimal(a) / Decimal(b)
                except (DivisionByZero, InvalidOperation):
                    raise EvaluationError(f"division by zero in {node.text!r}") from None
            op: Callable[[Any, Any], Any] = divide
        else:
            op = _ARITH[node.op]

        def arith(env: Env) -> Any:
            a, b = left(env), right(env)
            if a.__class__ is Unknown or b.__class__ is Unknown:
                return _unknown_of(a, b)
            return op(a, b)

        return arith

    def _neg(self, node: ast.Neg) -> Fn:
        item = self.value(node.item)
        return lambda env: (lambda v: v if v.__class__ is Unknown else -v)(item(env))

    def _cond(self, node: ast.Cond) -> Fn:
        test, then, orelse = self.condition(node.test), self.value(node.then), self.value(node.orelse)

        def choose(env: Env) -> Any:
            t = test(env)
            if t.__class__ is Unknown:
                return t
            return then(env) if t else orelse(env)

        return choose

    def _call(self, node: ast.Call) -> Fn:
        func = _FUNCTIONS[node.func]
        args = tuple(self.value(a) for a in node.args)

        def call(env: Env) -> Any:
            values = [a(env) for a in args]
            if any(v.__class__ is Unknown for v in values):
                return _unknown_of(*values)
            return func(*values)

        return call

    def _source_path(self, node: ast.Expr) -> Callable[[Env], str]:
        if isinstance(node, ast.FactRef):
            text = ROOT + "." + ".".join(node.path)
            return lambda env: text
        if isinstance(node, ast.VarRef):
            var, suffix = node.var, "".join("." + p for p in node.path)
            return lambda env: env.scope[var][1] + suffix
        return lambda env: node.text

    def _quant(self, node: ast.Quant) -> Fn:
        source, var, func = self.value(node.source), node.var, node.func
        path_of = self._source_path(node.source)
        element = self.condition(node.element) if node.element.type is not None and node.element.type.name == "bool" \
            else self.value(node.element)
        where = self.condition(node.where) if node.where is not None else None
        counts_var = func == "count" and isinstance(node.element, ast.VarRef) and not node.element.path

        def visit(env: Env) -> Any:
            items = source(env)
            if items.__class__ is Unknown:
                return items
            base = path_of(env)
            outer = env.where
            unknown = None
            total: Any = 0
            try:
                for i, item in enumerate(items):
                    here = f"{base}[{i}]"
                    env.scope[var] = (item, here)
                    env.where = outer + (here,)
                    if where is not None:
                        keep = where(env)
                        if keep is False:
                            continue
                        if keep.__class__ is Unknown:
                            unknown = keep if unknown is None else unknown.merge(keep)
                            continue
                    v = True if counts_var else element(env)
                    if v.__class__ is Unknown:
                        unknown = v if unknown is None else unknown.merge(v)
                    elif func == "any":
                        if v:
                            return True
                    elif func == "all":
                        if not v:
                            return False
                    elif func == "count":
                        total += 1 if v else 0
                    else:
                        total += v
            finally:
                env.scope.pop(var, None)
                env.where = outer
            if unknown is not None:
                return unknown
            return {"any": False, "all": True}.get(func, total)

        return visit
