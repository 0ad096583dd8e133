"""Checked tree → Python closures, evaluated with three-valued logic.

A missing fact evaluates to an :class:`Unknown` that carries the paths of the
facts it lacks. ``and``/``or``/``not`` and the quantifiers follow Kleene's
logic (``False and unknown`` is ``False``), so an unknown survives only where
the missing fact could still change the result — which is what lets a
decision name exactly the facts it still needs.

Closures are compiled once per ruleset, in two flavours: *traced* closures
append one tuple per leaf condition to ``env.rec``, and a :class:`Mark` where an
``and``/``or``/``not``, a quantifier or a derived fact opens and closes (and at
each list element a quantifier visits), so that the logical structure can be
rebuilt; untraced ones append nothing.
"""

from __future__ import annotations

import calendar
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any, Protocol

from povrules.errors import EvaluationError
from povrules.lang import ast
from povrules.lang.checker import ROOT
from povrules.workdays import add_working_days, calendar_days, working_days, working_days_between


class Unknown:
    """The value of an expression that depends on missing facts."""

    __slots__ = ("missing",)

    def __init__(self, missing: frozenset[str]):
        self.missing = missing

    def __repr__(self) -> str:
        return f"Unknown({sorted(self.missing)})"

    def merge(self, other: Unknown) -> Unknown:
        return self if other.missing <= self.missing else Unknown(self.missing | other.missing)

    def json_form(self) -> dict[str, list[str]]:
        """How traces and records write an unknown value: the facts it lacks (see canonical.json_value)."""
        return {"unknown": sorted(self.missing)}


class JudgedReader:
    """Reads a judged fact's value as of the decision date.

    A judgement made after that date was not known on it: deciding with it would let a later
    assessment decide an earlier date, so it is refused (docs/interpretations.md, I-S-2). A
    missing record on the way, or a missing judgement, reads as ``None`` (unknown).
    """

    __slots__ = ("get", "path")

    def __init__(self, path: tuple[str, ...], shown: str):
        self.get = operator.attrgetter(".".join(path))
        self.path = shown

    def __call__(self, obj: Any, as_of: date) -> Any:
        try:
            judged = self.get(obj)
        except AttributeError:
            return None
        if judged is None:
            return None
        if judged.on > as_of:
            raise EvaluationError(
                f"{self.path}: judged on {judged.on}, after the decision date {as_of}; "
                "a judgement made later was not known on that date"
            )
        return judged.value


class Env:
    """What one evaluation reads: the subject's facts, the parameters in force, the date, the trace."""

    __slots__ = ("as_of", "facts", "params", "rec", "scope", "where")

    def __init__(self, facts: Any, params: Mapping[str, Any], as_of: date, rec: list[Any] | None):
        self.facts = facts
        self.params = params
        self.as_of = as_of
        self.rec = rec
        self.scope: dict[str, tuple[Any, str, int]] = {}
        self.where: tuple[tuple[str, int], ...] = ()


Fn = Callable[[Env], Any]
# A leaf record: (node, left, right, result, where). ``where`` names the list
# elements the leaf was evaluated for as (list path, index) pairs, e.g.
# (("hh.members", 1),); paths are formatted only when a trace is rendered.
Leaf = tuple[ast.Node, Any, Any, Any, tuple[tuple[str, int], ...]]


class Mark:
    """A structure event of a traced evaluation, recorded among the leaf tuples of ``env.rec``.

    ``kind`` is :data:`OPEN` (``value``: None), :data:`SIZE` (a quantifier's list length),
    :data:`ELEMENT` (``value``: the index of the element a quantifier visits next) or :data:`CLOSE`
    (``value``: the node's value; for ``and``/``or`` a pair (value, how many items were evaluated),
    the rest having been cut short).
    """

    __slots__ = ("kind", "node", "value", "where")

    def __init__(self, node: ast.Node, kind: str, value: Any, where: tuple[tuple[str, int], ...]):
        self.node = node
        self.kind = kind
        self.value = value
        self.where = where

    def __repr__(self) -> str:
        return f"Mark({self.kind}, {self.node.text!r}, {self.value!r})"


OPEN, SIZE, ELEMENT, CLOSE = "open", "size", "element", "close"


def element_path(where: tuple[str, int]) -> str:
    """``("hh.members", 1)`` → ``"hh.members[1]"``."""
    return f"{where[0]}[{where[1]}]"


_ORDER = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_STEP_CALLS = frozenset({"min", "max", "abs"})  # calls a figure's trace shows as steps of its arithmetic


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


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later (or earlier); a day the month lacks becomes its last day
    (《民法典》第202条: a period ending in a month without that day ends on the month's last day)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise EvaluationError(f"add_months({start}, {months}) falls outside the calendar")
    return date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))


def add_years(start: date, years: int) -> date:
    """The same day ``years`` later (or earlier); 29 February becomes 28 February in a common year."""
    return add_months(start, 12 * years)


def add_days(start: date, days: int) -> date:
    """The day ``days`` later (or earlier, when negative)."""
    try:
        return start + timedelta(days=days)
    except OverflowError:
        raise EvaluationError(f"add_days({start}, {days}) falls outside the calendar") from None


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "abs": abs,
    "min": min,
    "max": max,
    "days_between": days_between,
    "months_between": months_between,
    "years_between": years_between,
    "add_months": add_months,
    "add_years": add_years,
    "add_days": add_days,
    "working_days_between": working_days_between,
    "working_days": working_days,
    "calendar_days": calendar_days,
    "add_working_days": add_working_days,
    "year": operator.attrgetter("year"),
    "month": operator.attrgetter("month"),
    "day": operator.attrgetter("day"),
}


class DatedSeries(Protocol):
    """A parameter's dated values, as ``at()`` reads them (``povrules.ruleset.model.Parameter``)."""

    @property
    def values(self) -> Sequence[Any]:
        """The dated values in order, each with ``start`` and ``end`` (None when open-ended)."""

    def at(self, day: date) -> Any:
        """The dated value in force on ``day`` (with its ``value``), or None."""


def series_terms(series: DatedSeries) -> str:
    """When a parameter has values, for messages: ``2019-01-01 to 2019-12-31, 2020-01-01 on``."""
    return ", ".join(f"{v.start} to {v.end}" if v.end is not None else f"{v.start} on" for v in series.values)


class Compiler:
    """Compiles checked expressions of one ruleset."""

    def __init__(
        self,
        derived: dict[str, Fn],
        traced: bool,
        root: str = ROOT,
        parameters: Mapping[str, DatedSeries] | None = None,
    ):
        self.derived = derived
        self.traced = traced
        self.root = root  # the subject's name in conditions, which starts the paths of missing facts
        self.parameters = parameters or {}  # the dated series at() reads
        self._steps = False  # compiling a figure: record its arithmetic (see amount())

    def derived_fact(self, node: ast.Expr) -> Fn:
        """A closure for a derived fact's expression. A derived fact is read at the subject's level, possibly
        from inside a quantifier; its own quantifiers then run in a scope of their own, so that a loop
        variable of the same name (``e`` in both) is not overwritten under the quantifier that reads it."""
        fn = self.condition(node) if node.type is not None and node.type.name == "bool" else self.value(node)
        if not any(isinstance(n, ast.Quant) for n in ast.walk(node)):
            return fn

        def own_scope(env: Env) -> Any:
            outer = env.scope
            env.scope = {}
            try:
                return fn(env)
            finally:
                env.scope = outer

        return own_scope

    def condition(self, node: ast.Expr) -> Fn:
        """A closure for an expression in a true/false position (recorded as a leaf if it is one)."""
        if isinstance(node, (ast.And, ast.Or, ast.Not, ast.Quant, ast.Cond, ast.DerivedRef, ast.Compare)):
            return self.value(node)
        fn = self.value(node)
        if not self.traced:
            return fn

        def leaf(env: Env) -> Any:
            v = fn(env)
            # Built only for a traced plan, whose Env.rec is a list.
            env.rec.append((node, v, None, v, env.where))  # type: ignore[union-attr]
            return v

        return leaf

    def value(self, node: ast.Expr) -> Fn:
        method: Callable[[Any], Fn] = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def amount(self, node: ast.Expr) -> Fn:
        """A closure for a figure (an amount decision's row, cap or floor). Traced, it records each step of
        its arithmetic (``+ - * /``, ``min``, ``max``, ``abs``, a conditional) as a leaf ``(node, left,
        right, result, where)`` — for a call, ``left`` is the tuple of its arguments — in the order they
        are worked out, and a figure that is a bare reference as one leaf ``(node, value, None, value,
        where)``, so that an explanation can show how the figure was reached."""
        if not self.traced:
            return self.value(node)
        self._steps = True
        try:
            fn = self.value(node)
        finally:
            self._steps = False
        if isinstance(node, (ast.Arith, ast.Call, ast.Cond)) and not (
            isinstance(node, ast.Call) and node.func not in _STEP_CALLS
        ):
            return fn

        def figure(env: Env) -> Any:
            v = fn(env)
            env.rec.append((node, v, None, v, env.where))  # type: ignore[union-attr]
            return v

        return figure

    # References

    def _const(self, node: ast.Const) -> Fn:
        value = node.value
        return lambda env: value

    def _listlit(self, node: ast.ListLit) -> Fn:
        # The checker admits only constants in a list literal.
        values = tuple(item.value for item in node.items)  # type: ignore[union-attr]
        return lambda env: values

    def _asof(self, node: ast.AsOf) -> Fn:
        return lambda env: env.as_of

    def _paramref(self, node: ast.ParamRef) -> Fn:
        name = node.name
        return lambda env: env.params[name]

    def _derivedref(self, node: ast.DerivedRef) -> Fn:
        fn = self.derived[node.name]
        return self._marked(node, fn) if self.traced else fn

    def _factref(self, node: ast.FactRef) -> Fn:
        get, missing = self._fact_reader(node)
        if node.field.judged:
            judged = JudgedReader(node.path, self.root + "." + ".".join(node.path))

            def judged_fact(env: Env) -> Any:
                v = judged(env.facts, env.as_of)
                return missing if v is None else v

            return judged_fact

        def fact(env: Env) -> Any:
            try:
                v = get(env.facts)
            except AttributeError:  # a record on the way is unknown
                return missing
            return missing if v is None else v

        return fact

    def _varref(self, node: ast.VarRef) -> Fn:
        var, path = node.var, node.path
        if not path:
            return lambda env: env.scope[var][0]
        judged = node.field is not None and node.field.judged
        get = operator.attrgetter(".".join(path))
        suffix = "." + ".".join(path)
        read = JudgedReader(path, var + suffix) if judged else None

        def element_fact(env: Env) -> Any:
            obj, base, index = env.scope[var]
            if read is not None:
                v = read(obj, env.as_of)
            else:
                try:
                    v = get(obj)
                except AttributeError:
                    v = None
            return Unknown(frozenset({f"{base}[{index}]{suffix}"})) if v is None else v

        return element_fact

    # Operators

    def _fact_reader(self, node: ast.FactRef) -> tuple[Callable[[Any], Any], Unknown]:
        dotted = ".".join(node.path + (("value",) if node.field.judged else ()))
        return operator.attrgetter(dotted), Unknown(frozenset({self.root + "." + ".".join(node.path)}))

    def _compare(self, node: ast.Compare) -> Fn:
        """A leaf comparison. The common shapes — a fact (of the household or of a list
        element) against a literal or a parameter — read both sides inside one closure."""
        op, traced = node.op, self.traced
        if op == "in":
            test: Callable[[Any, Any], bool] = lambda a, b: a in b
        elif op == "not_in":
            test = lambda a, b: a not in b
        else:
            test = _ORDER[op]
        left_node, right_node = node.left, node.right
        if isinstance(right_node, (ast.Const, ast.ListLit)):
            # A constant's closure reads no Env.
            constant: Any = self.value(right_node)(None)  # type: ignore[arg-type]
            read_right: Callable[[Env], Any] | None = None
            param = None
        elif isinstance(right_node, ast.ParamRef):
            constant, read_right, param = None, None, right_node.name
        else:
            constant, read_right, param = None, self.value(right_node), None

        if isinstance(left_node, ast.FactRef) and read_right is None:
            get, missing = self._fact_reader(left_node)
            judged_read = (
                JudgedReader(left_node.path, self.root + "." + ".".join(left_node.path))
                if left_node.field.judged
                else None
            )

            def compare_fact(env: Env) -> Any:
                result: Any  # True, False, or the Unknown of a missing fact
                if judged_read is not None:
                    a = judged_read(env.facts, env.as_of)
                else:
                    try:
                        a = get(env.facts)
                    except AttributeError:  # a record on the way is unknown
                        a = None
                b = constant if param is None else env.params[param]
                if a is None:
                    a = result = missing
                else:
                    result = test(a, b)
                if traced:
                    # Built only for a traced plan, whose Env.rec is a list.
                    env.rec.append((node, a, b, result, env.where))  # type: ignore[union-attr]
                return result

            return compare_fact

        if isinstance(left_node, ast.VarRef) and left_node.path and read_right is None:
            var = left_node.var
            judged = left_node.field is not None and left_node.field.judged
            get = operator.attrgetter(".".join(left_node.path))
            suffix = "." + ".".join(left_node.path)
            element_read = JudgedReader(left_node.path, var + suffix) if judged else None

            def compare_element(env: Env) -> Any:
                result: Any  # True, False, or the Unknown of a missing element's fact
                obj, base, index = env.scope[var]
                if element_read is not None:
                    a = element_read(obj, env.as_of)
                else:
                    try:
                        a = get(obj)
                    except AttributeError:
                        a = None
                b = constant if param is None else env.params[param]
                if a is None:
                    a = result = Unknown(frozenset({f"{base}[{index}]{suffix}"}))
                else:
                    result = test(a, b)
                if traced:
                    # Built only for a traced plan, whose Env.rec is a list.
                    env.rec.append((node, a, b, result, env.where))  # type: ignore[union-attr]
                return result

            return compare_element

        left = self.value(left_node)
        right = read_right

        def compare(env: Env) -> Any:
            a = left(env)
            b = right(env) if right is not None else constant if param is None else env.params[param]
            result = _unknown_of(a, b) if a.__class__ is Unknown or b.__class__ is Unknown else test(a, b)
            if traced:
                # Built only for a traced plan, whose Env.rec is a list.
                env.rec.append((node, a, b, result, env.where))  # type: ignore[union-attr]
            return result

        return compare

    def _and(self, node: ast.And) -> Fn:
        items = tuple(self.condition(i) for i in node.items)
        if self.traced:
            return self._marked_junction(node, items, False)

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
        if self.traced:
            return self._marked_junction(node, items, True)

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

        return self._marked(node, negate) if self.traced else negate

    @staticmethod
    def _marked(node: ast.Node, fn: Fn) -> Fn:
        """``fn`` recording where ``node`` opens and closes (traced plans only)."""

        def marked(env: Env) -> Any:
            rec: list[Any] = env.rec  # type: ignore[assignment,unused-ignore]  # a traced plan's Env.rec is a list
            rec.append(Mark(node, OPEN, None, env.where))
            v = fn(env)
            rec.append(Mark(node, CLOSE, v, env.where))
            return v

        return marked

    @staticmethod
    def _marked_junction(node: ast.And | ast.Or, items: tuple[Fn, ...], stop: bool) -> Fn:
        """A traced ``and`` (``stop`` False) or ``or`` (True): Kleene's logic as in the plain closures,
        recording how many items were evaluated before the result was settled."""

        def junction(env: Env) -> Any:
            rec: list[Any] = env.rec  # type: ignore[assignment,unused-ignore]  # a traced plan's Env.rec is a list
            rec.append(Mark(node, OPEN, None, env.where))
            unknown = None
            for count, item in enumerate(items, 1):
                v = item(env)
                if v is stop:
                    rec.append(Mark(node, CLOSE, (stop, count), env.where))
                    return stop
                if v.__class__ is Unknown:
                    unknown = v if unknown is None else unknown.merge(v)
            result = (not stop) if unknown is None else unknown
            rec.append(Mark(node, CLOSE, (result, len(items)), env.where))
            return result

        return junction

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

        if not self._steps:
            return arith

        def arith_step(env: Env) -> Any:
            a, b = left(env), right(env)
            result = _unknown_of(a, b) if a.__class__ is Unknown or b.__class__ is Unknown else op(a, b)
            env.rec.append((node, a, b, result, env.where))  # type: ignore[union-attr]
            return result

        return arith_step

    def _neg(self, node: ast.Neg) -> Fn:
        item = self.value(node.item)

        def neg(env: Env) -> Any:
            v = item(env)
            return v if v.__class__ is Unknown else -v

        return neg

    def _cond(self, node: ast.Cond) -> Fn:
        test, then, orelse = self.condition(node.test), self.value(node.then), self.value(node.orelse)

        def choose(env: Env) -> Any:
            t = test(env)
            if t.__class__ is Unknown:
                return t
            return then(env) if t else orelse(env)

        if not self._steps:
            return choose

        def choose_step(env: Env) -> Any:
            t = test(env)
            result = t if t.__class__ is Unknown else then(env) if t else orelse(env)
            env.rec.append((node, t, None, result, env.where))  # type: ignore[union-attr]
            return result

        return choose_step

    def requiring(self, value: Fn, requirements: Sequence[tuple[ast.Expr, str]]) -> Fn:
        """A derived figure guarded by what the text requires of its inputs: ``value`` unless a
        requirement is false, when the figure is refused, i.e. unknown naming each failed requirement's
        marker (and not computed); an unknown requirement leaves the figure unknown with its facts."""
        checks = tuple((self.condition(expr), Unknown(frozenset({marker}))) for expr, marker in requirements)

        def guarded(env: Env) -> Any:
            refused: Unknown | None = None
            unknown: Unknown | None = None
            for check, marker in checks:
                v = check(env)
                if v is False:
                    refused = marker if refused is None else refused.merge(marker)
                elif v.__class__ is Unknown:
                    unknown = v if unknown is None else unknown.merge(v)
            if refused is not None:
                return refused
            result = value(env)
            if unknown is None:
                return result
            return unknown.merge(result) if result.__class__ is Unknown else unknown

        return guarded

    def _at(self, node: ast.Call) -> Fn:
        """``at(p.x, d)``: the value of parameter x in force on day d. A day with no value is an error,
        as reading ``p.x`` on an evaluation date without one is: the ruleset has no figure for it."""
        param = node.args[0]
        assert isinstance(param, ast.ParamRef)
        name, series, day_of = param.name, self.parameters.get(param.name), self.value(node.args[1])
        if series is None:
            raise ValueError(f"at(): the series of parameter {name!r} was not given to the compiler")

        def at(env: Env) -> Any:
            day = day_of(env)
            if day.__class__ is Unknown:
                return day
            found = series.at(day)
            if found is None:
                raise EvaluationError(
                    f"parameter {name!r} (read by {node.text!r}) has no value in force on {day}; "
                    f"it has values {series_terms(series)}"
                )
            return found.value

        return at

    def _call(self, node: ast.Call) -> Fn:
        if node.func == "at":
            return self._at(node)
        func = _FUNCTIONS[node.func]
        args = tuple(self.value(a) for a in node.args)

        def call(env: Env) -> Any:
            values = [a(env) for a in args]
            if any(v.__class__ is Unknown for v in values):
                return _unknown_of(*values)
            return func(*values)

        if not (self._steps and node.func in _STEP_CALLS):
            return call

        def call_step(env: Env) -> Any:
            values = [a(env) for a in args]
            known = not any(v.__class__ is Unknown for v in values)
            result = func(*values) if known else _unknown_of(*values)
            env.rec.append((node, tuple(values), None, result, env.where))  # type: ignore[union-attr]
            return result

        return call_step

    def _source_path(self, node: ast.Expr) -> Callable[[Env], str]:
        if isinstance(node, ast.FactRef):
            text = self.root + "." + ".".join(node.path)
            return lambda env: text
        if isinstance(node, ast.VarRef):
            var, suffix = node.var, "".join("." + p for p in node.path)

            def nested(env: Env) -> str:
                _, base, index = env.scope[var]
                return f"{base}[{index}]{suffix}"

            return nested
        return lambda env: node.text

    def _quant(self, node: ast.Quant) -> Fn:
        """any/all stop at the first element that settles them; count/sum visit every element.

        Each element is bound in ``env.scope`` as (item, list path, index); traced
        closures also push (list path, index) on ``env.where`` so that leaves know
        which element they were evaluated for.
        """
        var, func, traced = node.var, node.func, self.traced
        path_of = self._source_path(node.source)
        # A household list is read in one C call and has a fixed path; only a list inside an
        # element goes through its closure and has its path worked out.
        source: Callable[[Env], Any] = self.value(node.source)
        fixed, missing = None, None
        if isinstance(node.source, ast.FactRef) and not node.source.field.judged:
            fixed = self.root + "." + ".".join(node.source.path)
            source = operator.attrgetter("facts." + ".".join(node.source.path))
            missing = Unknown(frozenset({fixed}))
        # Trace paths of the first elements of a top-level list, made once rather than per element.
        first = tuple(((fixed, i),) for i in range(16)) if fixed is not None else ()
        is_bool = node.element.type is not None and node.element.type.name == "bool"
        element = self.condition(node.element) if is_bool else self.value(node.element)
        where = self.condition(node.where) if node.where is not None else None

        if func in ("any", "all"):
            stop = func == "any"  # the value that settles it: True for any, False for all

            def any_all(env: Env) -> Any:
                try:
                    items = source(env)
                except AttributeError:  # a record on the way is missing
                    return missing
                if items is None:
                    return missing
                if items.__class__ is Unknown:
                    return items
                if traced:
                    env.rec.append(Mark(node, SIZE, len(items), env.where))  # type: ignore[union-attr]
                if not items:
                    return not stop
                base, outer, scope = fixed or path_of(env), env.where, env.scope
                unknown = None
                for index, item in enumerate(items):
                    scope[var] = (item, base, index)
                    if traced:
                        env.where = first[index] if not outer and index < len(first) else outer + ((base, index),)
                        env.rec.append(Mark(node, ELEMENT, index, env.where))  # type: ignore[union-attr]
                    if where is not None:
                        keep = where(env)
                        if keep is not True:
                            if keep.__class__ is Unknown:
                                unknown = keep if unknown is None else unknown.merge(keep)
                            continue
                    v = element(env)
                    if v is stop:
                        env.where = outer
                        return stop
                    if v.__class__ is Unknown:
                        unknown = v if unknown is None else unknown.merge(v)
                env.where = outer
                return (not stop) if unknown is None else unknown

            return self._marked(node, any_all) if traced else any_all

        if func in ("first", "last"):
            return self._first_last(node, source, fixed, missing, path_of, first, element, where)

        counts_var = func == "count" and isinstance(node.element, ast.VarRef) and not node.element.path

        # The same element loop as any_all, written out again: a shared per-element helper would
        # add a call per element on the hot path, and these loops run for every household.
        def count_sum(env: Env) -> Any:
            try:
                items = source(env)
            except AttributeError:  # a record on the way is missing
                return missing
            if items is None:
                return missing
            if items.__class__ is Unknown:
                return items
            if traced:
                env.rec.append(Mark(node, SIZE, len(items), env.where))  # type: ignore[union-attr]
            base, outer, scope = fixed or path_of(env), env.where, env.scope
            unknown = None
            total: Any = 0
            for index, item in enumerate(items):
                scope[var] = (item, base, index)
                if traced:
                    env.where = first[index] if not outer and index < len(first) else outer + ((base, index),)
                    env.rec.append(Mark(node, ELEMENT, index, env.where))  # type: ignore[union-attr]
                if where is not None:
                    keep = where(env)
                    if keep is not True:
                        if keep.__class__ is Unknown:
                            unknown = keep if unknown is None else unknown.merge(keep)
                        continue
                v = True if counts_var else element(env)
                if v.__class__ is Unknown:
                    unknown = v if unknown is None else unknown.merge(v)
                elif func == "count":
                    total += 1 if v else 0
                else:
                    total += v
            env.where = outer
            return total if unknown is None else unknown

        return self._marked(node, count_sum) if traced else count_sum

    def _first_last(
        self,
        node: ast.Quant,
        source: Callable[[Env], Any],
        fixed: str | None,
        missing: Unknown | None,
        path_of: Callable[[Env], str],
        first: tuple[tuple[tuple[str, int], ...], ...],
        element: Fn,
        where: Fn | None,
    ) -> Fn:
        """first/last: the element's value for the first (last) element, in the list's order, that ``where``
        admits. An element whose ``where`` is unknown before it makes the answer unknown (it might come
        first); when none is admitted the value is unknown, missing :func:`absent_marker` of the list."""
        var, traced, backwards = node.var, self.traced, node.func == "last"
        where_text = node.where.text if node.where is not None else ""

        def first_last(env: Env) -> Any:
            try:
                items = source(env)
            except AttributeError:  # a record on the way is missing
                return missing
            if items is None:
                return missing
            if items.__class__ is Unknown:
                return items
            if traced:
                env.rec.append(Mark(node, SIZE, len(items), env.where))  # type: ignore[union-attr]
            base, outer, scope = fixed or path_of(env), env.where, env.scope
            unknown = None
            order = range(len(items) - 1, -1, -1) if backwards else range(len(items))
            for index in order:
                scope[var] = (items[index], base, index)
                if traced:
                    env.where = first[index] if not outer and index < len(first) else outer + ((base, index),)
                    env.rec.append(Mark(node, ELEMENT, index, env.where))  # type: ignore[union-attr]
                if where is not None:
                    keep = where(env)
                    if keep is not True:
                        if keep.__class__ is Unknown:
                            unknown = keep if unknown is None else unknown.merge(keep)
                        continue
                v = element(env)
                env.where = outer
                if unknown is None:
                    return v
                return unknown.merge(v) if v.__class__ is Unknown else unknown
            env.where = outer
            absent = Unknown(frozenset({absent_marker(base, where_text)}))
            return absent if unknown is None else unknown.merge(absent)

        return self._marked(node, first_last) if traced else first_last


def absent_marker(list_path: str, where: str) -> str:
    """How a missing-facts set names an element a list lacks: ``case.events[e.step == "village_posting"]``
    (the list's path, then the condition no element met; ``[]`` for an empty list). What ``first()`` or
    ``last()`` lacks is such an element, not a fact of the subject."""
    return f"{list_path}[{where}]"


def is_absent_marker(entry: str) -> bool:
    """Whether a missing-facts entry is an :func:`absent_marker` (rather than a fact's path)."""
    return entry.endswith("]") and "[" in entry and not entry[entry.rindex("[") + 1 : -1].isdigit()
