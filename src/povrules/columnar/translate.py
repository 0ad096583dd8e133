"""Checked tree → polars expression, with the row engine's semantics (null is unknown).

Only the checked tree (``povrules.lang.ast``) is read, never ruleset text, and nothing is
evaluated as code. The semantics followed are those of :mod:`povrules.lang.compiler`:

* ``and``/``or``/``not`` are Kleene's, which polars' ``&``, ``|`` and ``~`` on nullable booleans
  already are. A comparison, arithmetic, a call or a condition with an unknown operand is unknown.
* ``then if test else orelse`` with an unknown test is unknown (polars' ``when`` would take the
  ``otherwise`` branch, so the null test is caught first).
* Quantifiers: polars' ``list.any``/``list.all`` skip nulls, povrules does not. ``any`` is true if
  some kept element is true, else unknown if some element (or its ``where``) is unknown, else
  false; ``all`` dually; ``count``/``sum`` are unknown as soon as one element or ``where`` is. An
  unknown list is unknown; an empty one gives false, true, 0, 0. ``any``/``all``/``count`` take one
  pass over the elements: each element's say is coded as a small integer (false 0, unknown 1,
  true 2; for a count, an unknown adds 2**32), and the list's largest, smallest or sum settles it.
* Numbers are scaled integers (see :mod:`.frame`) whose scale and largest digit count are tracked
  here. The row engine's ``Decimal`` arithmetic rounds to 28 significant digits, so an operation
  involving a decimal whose result could need more is refused rather than computed differently;
  integers are exact in both (Int64, or Int128 where more than 18 digits may occur).
* ``a / b`` as a side of a comparison is translated exactly, by cross-multiplying with the
  sign of ``b`` (see :meth:`Translator._divide_compare` for why that equals the row engine's
  28-digit quotient). A zero divisor makes the row engine raise when it gets there; such rows are
  *hazards*: they are marked for the row engine rather than given a value here. A quotient used
  otherwise (inside a sum, compared with another quotient) makes every row where it has a value a
  hazard. ``add_months`` and ``add_days`` past the calendar's ends, and ``at()`` on a date with no
  value, are hazards too.
* A derived figure with ``requires`` is unknown where a requirement is false or unknown, as
  ``compiler.Compiler.requiring`` has it; its missing facts name the failed requirements.
* The date functions compute what ``compiler.py`` computes: whole months counted on the
  day-of-month, a day the target month lacks becoming its last day (《民法典》第202条).

Beside each value, :meth:`Translator.missing` gives the fact paths the row engine's
``Unknown.missing`` would hold for the row (see :class:`Missing`), merged as ``compiler.py`` merges.

Inside a quantifier the element is ``pl.element()`` of ``list.eval``, which cannot see the row's
other columns: an element expression that reads anything but its own element (a household fact,
a derived fact, an outer loop variable) is refused with :class:`NotSupported`, as is every other
construct without a faithful translation. Nothing untranslatable is ever given a different answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, overload

import attrs
import polars as pl

from povrules.columnar.frame import INT64_DIGITS, FrameShape, frame_shape
from povrules.errors import PovrulesError, UnknownName
from povrules.lang import ast
from povrules.lang.types import BOOL, INT, ListType, RecordType, Type
from povrules.ruleset.model import Derived, Rule, Ruleset

DECIMAL_DIGITS = 28  # the precision of Python's default decimal context, which the row engine uses
INT128_DIGITS = 38


# Where a refused decision goes instead.
ROW_ENGINE = "decide it with the row engine (--engine row, or povrules.evaluate / decide_caseload)"
# The day functions of the official calendar (working days, 调休): the row engine's (povrules.workdays), as are
# the spans and deadlines of procedures that use them.
ROW_ENGINE_FUNCTIONS = frozenset({"working_days_between", "working_days", "calendar_days", "add_working_days"})


class NotSupported(PovrulesError, NotImplementedError):
    """A rule uses a construct the columnar evaluator cannot translate faithfully (or a decision is of a
    kind it does not decide: ``message`` then says which and what to use instead)."""

    def __init__(self, rule: str, construct: str, text: str, *, message: str | None = None):
        super().__init__(message or f"rule {rule!r}: {construct} has no faithful columnar translation (in {text!r})")
        self.rule = rule
        self.construct = construct
        self.text = text


@attrs.frozen
class Num:
    """A number column: the value is ``expr / 10**scale``; ``expr`` has at most ``digits`` decimal
    digits; ``decimal`` when the row engine computes it as a ``Decimal`` (not a Python int)."""

    expr: pl.Expr
    scale: int
    digits: int
    decimal: bool
    # For a sum (of sums …) of list elements: the digits of the elements added up at the bottom. A
    # sum of sums adds up no more elements than one list could hold, so it needs no more digits.
    leaves: int | None = None


@attrs.frozen
class Translated:
    """A rule as a polars expression: its value (Boolean, null = unknown) and the rows the row engine
    must decide instead (``hazard`` true), or no hazard at all."""

    rule: str
    value: pl.Expr
    hazard: pl.Expr | None


@attrs.frozen
class Missing:
    """The facts an expression's unknown value lacks, as the row engine's ``Unknown.missing`` holds them.

    ``static`` maps a path known when translating (``hh.income.per_capita_net``; inside a
    quantifier's element, the suffix after the element, ``.age``) to a Boolean expression: whether
    that path is in the row's set. ``dynamic`` holds the paths that name a list element
    (``hh.members[2].age``), as ``(gate, paths)``: a List(String) expression counted where ``gate``
    is true. Both are empty (false) where the value is known.
    """

    static: Mapping[str, pl.Expr]
    dynamic: tuple[tuple[pl.Expr, pl.Expr], ...] = ()

    def union(self, other: Missing) -> Missing:
        """What the row engine's ``Unknown.merge`` gives: the union of both sets."""
        static = dict(self.static)
        for key, present in other.static.items():
            static[key] = static[key] | present if key in static else present
        return Missing(static, self.dynamic + other.dynamic)

    def gated(self, gate: pl.Expr) -> Missing:
        """The same set where ``gate`` is true, empty elsewhere."""
        return Missing({k: b & gate for k, b in self.static.items()}, tuple((g & gate, p) for g, p in self.dynamic))

    def paths(self) -> pl.Expr:
        """The set as a List(String) expression, unordered, possibly with repeats."""
        parts: list[pl.Expr] = [pl.when(b).then(pl.lit(k, dtype=pl.String)) for k, b in self.static.items()]
        parts += [pl.when(g).then(p.fill_null(_EMPTY)).otherwise(_EMPTY) for g, p in self.dynamic]
        if not parts:
            return _EMPTY
        return pl.concat_list(parts).list.drop_nulls()


_EMPTY = pl.lit([], dtype=pl.List(pl.String))
# What an unknown element adds to a count: more than a list of facts has elements (a household's
# members, a county's villages), and few enough of them cannot overflow an Int64 sum.
_UNKNOWN_COUNT = 1 << 32
_NOTHING = Missing({})


@attrs.frozen
class _Scope:
    """What an expression may read: the whole row, or one list element (``var``) of ``shape``."""

    var: str | None
    shape: FrameShape | None


def _int_expr(expr: pl.Expr, digits: int) -> pl.Expr:
    """Widen to Int128 where an Int64 could overflow (polars wraps silently)."""
    return expr.cast(pl.Int128) if digits > INT64_DIGITS else expr.cast(pl.Int64)


def _digits(n: int) -> int:
    return len(str(abs(n)))


def _null_if_any(exprs: Sequence[pl.Expr], then: pl.Expr) -> pl.Expr:
    """``then``, or null when any of ``exprs`` is null: an unknown operand makes the result unknown."""
    missing = exprs[0].is_null()
    for e in exprs[1:]:
        missing = missing | e.is_null()
    return pl.when(missing).then(None).otherwise(then)


class Translator:
    """Translates the rules of one ruleset for one evaluation date (parameters become literals)."""

    def __init__(self, ruleset: Ruleset, as_of: date):
        self.ruleset = ruleset
        self.as_of = as_of
        self.params: Mapping[str, Any] = ruleset.values_as_of(as_of)
        self.shape = frame_shape(ruleset.subject)
        self._rule = ""
        self._hazards: list[pl.Expr] = []
        self._scope = _Scope(None, None)
        self._helper_prefix: str | None = None
        self._helpers: list[pl.Expr] = []
        self._unknown: ast.Expr | None = None  # a node known unknown wherever a missing set is read
        # Values of the row that a top-level quantifier's element reads (see _carried): their names,
        # row expressions and types, and the scope and hazards they are translated in.
        self._carry: list[tuple[str, pl.Expr, Any]] | None = None
        self._home: tuple[_Scope, list[pl.Expr]] = (self._scope, self._hazards)

    def rule(self, rule_id: str) -> Translated:
        """The expression of one rule's condition. Raises :class:`NotSupported` naming the rule and
        the construct, and :class:`~povrules.errors.UnknownName` (a ``KeyError``) for an unknown rule id."""
        rule = self._find(rule_id)
        self._rule, self._hazards, self._scope = rule_id, [], _Scope(None, None)
        value = self._bool(rule.when)
        hazard = None
        for h in self._hazards:
            hazard = h if hazard is None else hazard | h
        return Translated(rule_id, value.alias(rule_id), hazard)

    def missing(self, rule_id: str) -> pl.Expr:
        """The paths of the facts a rule's unknown value lacks, per row, as the row engine's
        ``Unknown.missing`` holds them (sorted; empty where the value is known), a List(String)
        expression named by the rule id. Hazard rows are not covered (the row engine decides them).

        Raises :class:`NotSupported` for a rule :meth:`rule` refuses, and for a quantifier inside a
        quantifier's element (its paths would name two indices); :class:`~povrules.errors.UnknownName` for an
        unknown rule id.
        """
        helpers, paths = self._missing(rule_id, None)
        assert not helpers
        return paths

    def missing_parts(self, rule_id: str, prefix: str, *, sort: bool = True) -> tuple[list[pl.Expr], pl.Expr]:
        """:meth:`missing` in two steps, for a frame: helper columns (named ``prefix`` + a number) to
        add first, then the paths, reading them. Computing each unknown-test once as a column keeps
        the expression small (inline, every gate repeats a rule's whole value). ``sort=False`` leaves
        the paths in no order and possibly repeated, for a caller that merges several rules' paths and
        sorts once. Raises as :meth:`missing` does."""
        return self._missing(rule_id, prefix, sort)

    def missing_set(self, rule_id: str, prefix: str, *, where_unknown: bool = False) -> tuple[list[pl.Expr], Missing]:
        """:meth:`missing_parts` before the paths are made strings: helper columns (named ``prefix``
        + a number) to add first, then the rule's set as a :class:`Missing` reading them, so that a
        caller can code each static path as a bit. ``where_unknown``: the caller reads the set only
        on rows where the rule's value is unknown, so the tests of the rule's own value being
        unknown are left out (they would recompute it). Raises as :meth:`missing` does."""
        return self._missing_set(rule_id, prefix, where_unknown)

    def _find(self, rule_id: str) -> Rule:
        rule = self.ruleset.rules.get(rule_id)
        if rule is None:
            raise UnknownName("rule", rule_id, self.ruleset.rules, f"ruleset {self.ruleset.id!r}")
        return rule

    def _missing_set(
        self, rule_id: str, prefix: str | None, where_unknown: bool = False
    ) -> tuple[list[pl.Expr], Missing]:
        rule = self._find(rule_id)
        self._rule, self._hazards, self._scope = rule_id, [], _Scope(None, None)
        self._helper_prefix, self._helpers = prefix, []
        self._unknown = rule.when if where_unknown else None
        try:
            return self._helpers, self._miss(rule.when)
        finally:
            # hazards are the business of rule(): hazard rows go to the row engine
            self._hazards, self._helpers, self._helper_prefix, self._unknown = [], [], None, None

    def _missing(self, rule_id: str, prefix: str | None, sort: bool = True) -> tuple[list[pl.Expr], pl.Expr]:
        helpers, found = self._missing_set(rule_id, prefix)
        paths = found.paths()
        return helpers, (paths.list.unique().list.sort() if sort else paths).alias(rule_id)

    def _helper(self, expr: pl.Expr) -> pl.Expr:
        """``expr`` as a helper column when computing for a frame (outside quantifiers), else itself."""
        if self._helper_prefix is None or self._scope.var is not None:
            return expr
        name = f"{self._helper_prefix}{len(self._helpers)}"
        self._helpers.append(expr.alias(name))
        return pl.col(name)

    # Dispatch

    def _refuse(self, node: ast.Node, construct: str) -> NotSupported:
        return NotSupported(self._rule, construct, node.text)

    def _row_engine_only(self, node: ast.Node, construct: str) -> NotSupported:
        """A construct of procedures (the official calendar's working days, first()/last() over a case's
        steps) that only the row engine decides: refused with a pointer to it."""
        return NotSupported(
            self._rule,
            construct,
            node.text,
            message=f"rule {self._rule!r}: {construct} is decided by the row engine only (in {node.text!r}); "
            + ROW_ENGINE,
        )

    def _value(self, node: ast.Expr) -> pl.Expr | Num:
        method: Callable[[Any], pl.Expr | Num] | None = getattr(self, "_" + type(node).__name__.lower(), None)
        if method is None:
            raise self._refuse(node, f"a {type(node).__name__} node")
        return method(node)

    def _bool(self, node: ast.Expr) -> pl.Expr:
        value = self._value(node)
        if isinstance(value, Num) or node.type != BOOL:
            raise self._refuse(node, "a non-boolean value in a true/false position")
        return value

    def _num(self, node: ast.Expr) -> Num:
        value = self._value(node)
        if not isinstance(value, Num):
            raise self._refuse(node, f"a {node.type} where a number is needed")
        return value

    # References

    def _literal(self, node: ast.Node, value: Any, typ: Type | None) -> pl.Expr | Num:
        if isinstance(value, bool):
            return pl.lit(value, dtype=pl.Boolean)
        if isinstance(value, int):
            return Num(
                pl.lit(value, dtype=pl.Int128 if _digits(value) > INT64_DIGITS else pl.Int64), 0, _digits(value), False
            )
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise self._refuse(node, "a non-finite decimal")
            exponent = value.as_tuple().exponent
            scale = max(0, -int(exponent))
            whole = int(value.scaleb(scale))
            digits = _digits(whole)
            if digits > INT128_DIGITS:
                raise self._refuse(node, "a decimal with more than 38 digits")
            return Num(pl.lit(whole, dtype=pl.Int128 if digits > INT64_DIGITS else pl.Int64), scale, digits, True)
        if isinstance(value, date):
            return pl.lit(value, dtype=pl.Date)
        if isinstance(value, str):
            return pl.lit(value, dtype=pl.String)
        raise self._refuse(node, f"a literal of type {type(value).__name__}")

    def _const(self, node: ast.Const) -> pl.Expr | Num:
        return self._literal(node, node.value, node.type)

    def _paramref(self, node: ast.ParamRef) -> pl.Expr | Num:
        if node.name not in self.params:
            raise self._refuse(node, f"parameter {node.name!r} with no value on {self.as_of}")
        value = self.params[node.name]
        if isinstance(value, tuple):
            raise self._refuse(node, "a list parameter outside 'in'")
        return self._literal(node, value, node.type)

    def _asof(self, node: ast.AsOf) -> pl.Expr:
        return pl.lit(self.as_of, dtype=pl.Date)

    def _derivedref(self, node: ast.DerivedRef) -> pl.Expr | Num:
        derived = self.ruleset.derived[node.name]
        if self._scope.var is not None:
            return self._carried(
                node,
                f"derived fact {node.name!r} inside a quantifier's element",
                lambda: self._guarded(derived, self._value(derived.expr)),
            )
        # Inlined: polars' optimiser shares common subexpressions between rules of one select.
        return self._guarded(derived, self._value(derived.expr))

    def _carried(self, node: ast.Expr, construct: str, translate: Callable[[], pl.Expr | Num]) -> pl.Expr | Num:
        """A value of the row (a subject's fact, a derived fact) read inside a quantifier's element.

        ``list.eval`` cannot read other columns, so the value is carried into the list: each element
        gains a field for it (null), and one more element, the carrier, holds the row's value;
        inside the element it is read as that field's last entry, and the carrier's own results are
        dropped (see :meth:`_over`). Only for a top-level quantifier over records, and a scalar value.
        """
        scope = self._scope
        if (
            self._carry is None
            or scope.shape is None
            or scope.shape.kind != "record"
            or isinstance(node.type, (ListType, RecordType))
            or node.type is None
        ):
            raise self._refuse(node, construct)
        carry = self._carry
        hazards = self._hazards
        self._scope, self._hazards = self._home
        self._carry = None
        try:
            value = translate()
        finally:
            self._scope, self._hazards, self._carry = scope, hazards, carry
        name = f"_outer{len(carry)}"
        if isinstance(value, Num):
            dtype: Any = pl.Int128 if value.digits > INT64_DIGITS else pl.Int64
            carry.append((name, _int_expr(value.expr, value.digits), dtype))
            return Num(pl.element().struct.field(name).last(), value.scale, value.digits, value.decimal)
        dtype = {"bool": pl.Boolean, "date": pl.Date}.get(node.type.name, pl.String)
        carry.append((name, value.cast(dtype), dtype))
        return pl.element().struct.field(name).last()

    @staticmethod
    def _over(
        source: pl.Expr, shape: FrameShape, carry: list[tuple[str, pl.Expr, Any]]
    ) -> Callable[[pl.Expr], pl.Expr]:
        """``list.eval`` over a list's elements, with the carried values of :meth:`_carried`."""
        if not carry:
            return source.list.eval
        nulls = [pl.lit(None, dtype=dtype).alias(name) for name, _, dtype in carry]
        widened = source.list.eval(pl.element().struct.with_fields(nulls))
        carrier = pl.struct(
            [
                *(pl.lit(None, dtype=f.dtype).alias(f.name) for f in shape.dtype.fields),
                *(expr.alias(name) for name, expr, _ in carry),
            ]
        )
        elements = pl.concat_list([widened, carrier])
        count = source.list.len()
        return lambda expr: elements.list.eval(expr).list.head(count)

    def _blocked(self, derived: Derived) -> pl.Expr | None:
        """Where a derived figure is not computed, as the row engine's ``requiring`` has it: some
        requirement false (refused) or unknown; None for a figure without requirements."""
        if not derived.requires:
            return None
        checks = [self._bool(r.expr) for r in derived.requires]
        return pl.any_horizontal([c.is_null() | ~c for c in checks]).fill_null(True)

    @overload
    def _guarded(self, derived: Derived, value: Num) -> Num: ...

    @overload
    def _guarded(self, derived: Derived, value: pl.Expr) -> pl.Expr: ...

    def _guarded(self, derived: Derived, value: pl.Expr | Num) -> pl.Expr | Num:
        """``value`` (the figure's expression) made unknown where the figure is not computed."""
        blocked = self._blocked(derived)
        if blocked is None:
            return value
        if isinstance(value, Num):
            return attrs.evolve(value, expr=pl.when(blocked).then(None).otherwise(value.expr))
        return pl.when(blocked).then(None).otherwise(value)

    def _path(
        self, node: ast.Node, start: pl.Expr, shape: FrameShape, path: Sequence[str], judged_value: bool
    ) -> tuple[pl.Expr, FrameShape]:
        expr = start
        for name in path:
            if shape.kind != "record" or name not in shape.fields:
                raise self._refuse(node, f"a path through {name!r}")
            expr, shape = expr.struct.field(name), shape.fields[name]
        if shape.kind == "judged" and judged_value:
            # A judgement made after the decision date: the row engine refuses it, so it decides that row.
            self._hazard((expr.struct.field("on") > pl.lit(self.as_of, dtype=pl.Date)).fill_null(False))
            expr, shape = expr.struct.field("value"), shape.fields["value"]
        return expr, shape

    def _typed(self, node: ast.Node, expr: pl.Expr, shape: FrameShape) -> pl.Expr | Num:
        if shape.kind == "int":
            return Num(expr, 0, shape.digits, False)
        if shape.kind == "decimal":
            return Num(expr, shape.scale, shape.digits, True)
        if shape.kind in ("record", "judged"):
            raise self._refuse(node, "a record used as a value")
        return expr

    def _factref(self, node: ast.FactRef) -> pl.Expr | Num:
        if self._scope.var is not None:
            return self._carried(
                node, "a fact of the subject inside a quantifier's element", lambda: self._factref(node)
            )
        first, *rest = node.path
        if first not in self.shape.fields:
            raise self._refuse(node, f"fact {first!r}")
        expr, shape = self._path(node, pl.col(first), self.shape.fields[first], rest, node.field.judged)
        return self._typed(node, expr, shape)

    def _varref(self, node: ast.VarRef) -> pl.Expr | Num:
        if node.var != self._scope.var or self._scope.shape is None:
            raise self._refuse(node, f"loop variable {node.var!r} inside another quantifier's element")
        judged = node.field is not None and node.field.judged
        expr, shape = self._path(node, pl.element(), self._scope.shape, node.path, judged)
        return self._typed(node, expr, shape)

    def _listlit(self, node: ast.ListLit) -> pl.Expr:
        raise self._refuse(node, "a list literal outside 'in'")

    # Comparisons

    def _known_list(self, node: ast.Expr) -> tuple[Any, ...] | None:
        """The values of a list known when translating (a literal or a list parameter), else None."""
        if isinstance(node, ast.ListLit):
            # The checker admits only constants in a list literal.
            return tuple(item.value for item in node.items)  # type: ignore[union-attr]
        if isinstance(node, ast.ParamRef):
            value = self.params.get(node.name)
            if isinstance(value, tuple):
                return value
        return None

    def _compare(self, node: ast.Compare) -> pl.Expr:
        if node.op in ("in", "not_in"):
            found = self._membership(node)
            return ~found if node.op == "not_in" else found
        for side, other, flip in ((node.left, node.right, False), (node.right, node.left, True)):
            guards = []
            while isinstance(side, ast.DerivedRef) and self._scope.var is None:
                derived = self.ruleset.derived[side.name]
                guards.append(derived)
                side = derived.expr
            if isinstance(side, ast.Arith) and side.op == "/":
                result: pl.Expr = self._divide_compare(node, side, other, flip)
                for derived in reversed(guards):  # a named quotient with requirements is unknown where refused
                    result = self._guarded(derived, result)
                return result
        left, right = self._value(node.left), self._value(node.right)
        if isinstance(left, Num) != isinstance(right, Num):
            raise self._refuse(node, "a comparison of a number with a non-number")
        if isinstance(left, Num) and isinstance(right, Num):
            a, b, _ = self._align(node, left, right)
            return self._order(node.op, a, b)
        if isinstance(node.left.type, (ListType, RecordType)) or isinstance(node.right.type, (ListType, RecordType)):
            raise self._refuse(node, "a comparison of lists or records")
        # Strings order the same in Python and polars (UTF-8 bytes order as code points do).
        # Neither side is a Num here (refused above), so both are plain expressions.
        return self._order(node.op, left, right)  # type: ignore[arg-type]

    def _unwrap(self, node: ast.Expr) -> ast.Expr:
        """A derived fact's own expression (a quotient is often named, then compared)."""
        while isinstance(node, ast.DerivedRef) and self._scope.var is None:
            node = self.ruleset.derived[node.name].expr
        return node

    @staticmethod
    def _order(op: str, a: pl.Expr, b: pl.Expr) -> pl.Expr:
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]

    def _align(self, node: ast.Node, a: Num, b: Num) -> tuple[pl.Expr, pl.Expr, int]:
        """Both numbers at one scale (the larger), as integers wide enough for their digits."""
        scale = max(a.scale, b.scale)
        da, db = a.digits + scale - a.scale, b.digits + scale - b.scale
        if max(da, db) > INT128_DIGITS:
            raise self._refuse(node, "numbers too large to compare exactly")
        wide = max(da, db) > INT64_DIGITS
        ea = _int_expr(a.expr, INT128_DIGITS if wide else da) * (10 ** (scale - a.scale))
        eb = _int_expr(b.expr, INT128_DIGITS if wide else db) * (10 ** (scale - b.scale))
        return ea, eb, max(da, db)

    def _membership(self, node: ast.Compare) -> pl.Expr:
        values = self._known_list(node.right)
        if values is not None:
            left = self._value(node.left)
            if isinstance(left, Num):
                if not values:
                    return _null_if_any([left.expr], pl.lit(False))
                tests = [self._order("==", *self._align(node, left, self._num_literal(node, v))[:2]) for v in values]
                out = tests[0]
                for t in tests[1:]:
                    out = out | t
                return out
            if not values:
                return _null_if_any([left], pl.lit(False))
            return _null_if_any([left], left.is_in(list(values)))
        right_type = node.right.type
        if not isinstance(right_type, ListType) or isinstance(right_type.item, RecordType):
            raise self._refuse(node, "'in' over a list of records")
        left, right = self._value(node.left), self._value(node.right)
        if isinstance(left, Num) or isinstance(right, Num):
            if not (isinstance(left, Num) and left.scale == 0 and right_type.item == INT):
                raise self._refuse(node, "'in' over a list of decimals")
            left = left.expr
        assert isinstance(right, pl.Expr) and isinstance(left, pl.Expr)
        return _null_if_any([left, right], right.list.contains(left))

    def _num_literal(self, node: ast.Node, value: Any) -> Num:
        made = self._literal(node, value, None)
        if not isinstance(made, Num):
            raise self._refuse(node, "'in' mixing numbers and other values")
        return made

    def _divide_compare(self, node: ast.Compare, quotient: ast.Arith, other: ast.Expr, flip: bool) -> pl.Expr:
        """``n / d  op  r`` as ``n  op  r·d`` (op reversed when d < 0); a zero divisor is a hazard.

        Why this equals the row engine's comparison of the quotient rounded to 28 digits, q': the
        two differ only if r lies between q = n/d and q' (or on q'). If q ≠ r, then
        |q − r| = |n − r·d| / |d| ≥ 10^−S / |d|, S the scale of n − r·d, while |q − q'| ≤
        |q|·10^−27 / 2 = |n|·10^−27 / (2|d|). So they agree when |n| < 2·10^(27−S), which is checked
        from n's digits; and if q = r, r has few digits and q' = q. Otherwise the rule is refused.
        """
        n, d = self._num(quotient.left), self._num(quotient.right)
        r = self._num(other)  # another quotient is left to the row engine (see _arith)
        product = self._mul(node, r, d, check_decimal=False)
        a, b, _ = self._align(node, n, product)
        scale = max(n.scale, product.scale)
        if n.digits - n.scale + scale > DECIMAL_DIGITS - 2:
            raise self._refuse(node, "a quotient whose 28-digit rounding could change the comparison")
        op = node.op
        if flip:  # r op n/d  ≡  n/d op' r
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op]
        reverse = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op]
        self._hazard(_null_if_any([n.expr, d.expr], d.expr == 0).fill_null(False))
        positive = self._order(op, a, b)
        negative = self._order(reverse, a, b)
        return _null_if_any(
            [n.expr, d.expr, r.expr], pl.when(d.expr > 0).then(positive).when(d.expr < 0).then(negative).otherwise(None)
        )

    def _hazard(self, expr: pl.Expr) -> None:
        self._hazards.append(expr)

    # Logic

    def _and(self, node: ast.And) -> pl.Expr:
        items = [self._bool(i) for i in node.items]
        out = items[0]
        for item in items[1:]:
            out = out & item
        return out

    def _or(self, node: ast.Or) -> pl.Expr:
        items = [self._bool(i) for i in node.items]
        out = items[0]
        for item in items[1:]:
            out = out | item
        return out

    def _not(self, node: ast.Not) -> pl.Expr:
        return ~self._bool(node.item)

    def _cond(self, node: ast.Cond) -> pl.Expr | Num:
        test = self._bool(node.test)
        then, orelse = self._value(node.then), self._value(node.orelse)
        if isinstance(then, Num) != isinstance(orelse, Num):
            raise self._refuse(node, "a condition choosing between a number and a non-number")
        if isinstance(then, Num) and isinstance(orelse, Num):
            a, b, digits = self._align(node, then, orelse)
            chosen = pl.when(test.is_null()).then(None).when(test).then(a).otherwise(b)
            return Num(chosen, max(then.scale, orelse.scale), digits, then.decimal or orelse.decimal)
        # Neither branch is a Num here (refused above), so both are plain expressions.
        return pl.when(test.is_null()).then(None).when(test).then(then).otherwise(orelse)  # type: ignore[arg-type]

    # Arithmetic

    def _arith(self, node: ast.Arith) -> Num:
        a, b = self._num(node.left), self._num(node.right)
        if node.op == "/":
            # A quotient used otherwise than as a side of a comparison (a mean of growth rates, a sum of
            # ratios) has no exact integer form: the row engine rounds it to 28 significant digits. Every
            # row where it has a value is a hazard, decided by the row engine; elsewhere it is unknown.
            self._hazard(a.expr.is_not_null() & b.expr.is_not_null())
            return Num(pl.lit(None, dtype=pl.Int64), 0, 1, True)
        if node.op == "*":
            return self._mul(node, a, b)
        ea, eb, digits = self._align(node, a, b)
        digits += 1
        decimal = a.decimal or b.decimal
        self._check_digits(node, digits, decimal)
        ea, eb = _int_expr(ea, digits), _int_expr(eb, digits)
        return Num(ea + eb if node.op == "+" else ea - eb, max(a.scale, b.scale), digits, decimal)

    def _mul(self, node: ast.Node, a: Num, b: Num, check_decimal: bool = True) -> Num:
        digits = a.digits + b.digits
        decimal = a.decimal or b.decimal
        if check_decimal:
            self._check_digits(node, digits, decimal)
        elif digits > INT128_DIGITS:
            raise self._refuse(node, "a product too large for exact integers")
        return Num(_int_expr(a.expr, digits) * _int_expr(b.expr, digits), a.scale + b.scale, digits, decimal)

    def _check_digits(self, node: ast.Node, digits: int, decimal: bool) -> None:
        if decimal and digits > DECIMAL_DIGITS:
            raise self._refuse(node, "decimal arithmetic that the row engine could round (over 28 digits)")
        if digits > INT128_DIGITS:
            raise self._refuse(node, "arithmetic too large for exact integers")

    def _neg(self, node: ast.Neg) -> Num:
        a = self._num(node.item)
        return Num(-a.expr, a.scale, a.digits, a.decimal)

    # Calls

    def _call(self, node: ast.Call) -> pl.Expr | Num:
        func = node.func
        if func == "len":
            (arg,) = node.args
            value = self._value(arg)
            if isinstance(value, Num):
                raise self._refuse(node, "len of a number")
            measured = value.list.len() if isinstance(arg.type, ListType) else value.str.len_chars()
            return Num(measured.cast(pl.Int64), 0, 10, False)
        if func in ("abs", "min", "max"):
            nums = [self._num(a) for a in node.args]
            if func == "abs":
                (a,) = nums
                return Num(a.expr.abs(), a.scale, a.digits, a.decimal)
            scale = max(n.scale for n in nums)
            digits = max(n.digits + scale - n.scale for n in nums)
            if digits > INT128_DIGITS:
                raise self._refuse(node, "numbers too large to compare exactly")
            exprs = [_int_expr(n.expr, digits) * (10 ** (scale - n.scale)) for n in nums]
            pick = pl.min_horizontal(exprs) if func == "min" else pl.max_horizontal(exprs)
            return Num(_null_if_any(exprs, pick), scale, digits, any(n.decimal for n in nums))
        if func in ("days_between", "months_between", "years_between"):
            start, end = (self._value(a) for a in node.args)
            if isinstance(start, Num) or isinstance(end, Num):
                raise self._refuse(node, f"{func} of numbers")
            if func == "days_between":
                return Num((end - start).dt.total_days().cast(pl.Int64), 0, 7, False)
            months = months_between_expr(start, end)
            if func == "months_between":
                return Num(months, 0, 6, False)
            # Whole years counted like an age: towards zero.
            years = pl.when(months >= 0).then(months // 12).otherwise(-((-months) // 12))
            return Num(years, 0, 5, False)
        if func == "at":
            return self._at(node)
        if func in ("year", "month", "day"):
            when = self._value(node.args[0])
            if isinstance(when, Num):
                raise self._refuse(node, f"{func} of a number")
            part = when.dt.year() if func == "year" else when.dt.month() if func == "month" else when.dt.day()
            return Num(part.cast(pl.Int64), 0, 4 if func == "year" else 2, False)
        if func == "add_days":
            start, count = self._value(node.args[0]), self._num(node.args[1])
            if isinstance(start, Num) or count.scale != 0 or count.decimal:
                raise self._refuse(node, "add_days with a non-integer count")
            if count.digits > INT64_DIGITS - 1:
                raise self._refuse(node, "add_days with a count too large")
            result, outside = add_days_expr(start, count.expr.cast(pl.Int64))
            self._hazard(outside.fill_null(False))
            return result
        if func in ("add_months", "add_years"):
            start, count = self._value(node.args[0]), self._num(node.args[1])
            if isinstance(start, Num) or count.scale != 0 or count.decimal:
                raise self._refuse(node, f"{func} with a non-integer count")
            months = count.expr.cast(pl.Int64) * (12 if func == "add_years" else 1)
            if count.digits + 2 > INT64_DIGITS:
                raise self._refuse(node, f"{func} with a count too large")
            result, outside = add_months_expr(start, months)
            self._hazard(outside.fill_null(False))
            return result
        if func in ROW_ENGINE_FUNCTIONS:
            raise self._row_engine_only(node, f"function {func!r}")
        raise self._refuse(node, f"function {func!r}")

    def _at(self, node: ast.Call) -> pl.Expr | Num:
        """``at(p.x, d)``: each dated value of x as a literal, chosen by the period d falls in. A day in
        no period makes the row engine raise: such rows are hazards."""
        param, day_node = node.args
        assert isinstance(param, ast.ParamRef)
        day = self._value(day_node)
        if isinstance(day, Num):
            raise self._refuse(node, "at() of a number")
        values = self.ruleset.parameters[param.name].values
        periods = []
        for i, v in enumerate(values):
            last = (
                v.end
                if v.end is not None
                else (values[i + 1].start - timedelta(days=1) if i + 1 < len(values) else None)
            )
            inside = day >= pl.lit(v.start, dtype=pl.Date)
            if last is not None:
                inside = inside & (day <= pl.lit(last, dtype=pl.Date))
            if isinstance(v.value, tuple):
                raise self._refuse(node, "at() of a list parameter")
            periods.append((inside, self._literal(node, v.value, param.type)))
        self._hazard(day.is_not_null() & ~pl.any_horizontal([inside for inside, _ in periods]))
        nums = [literal for _, literal in periods if isinstance(literal, Num)]
        if nums and len(nums) != len(periods):
            raise self._refuse(node, "at() of a parameter mixing numbers and other values")
        if nums:
            scale = max(n.scale for n in nums)
            digits = max(n.digits + scale - n.scale for n in nums)
            if digits > INT128_DIGITS:
                raise self._refuse(node, "at() of numbers too large")
            chosen: Any = pl.when(pl.lit(False)).then(None)
            for inside, n in zip((inside for inside, _ in periods), nums):
                chosen = chosen.when(inside).then(_int_expr(n.expr, digits) * (10 ** (scale - n.scale)))
            return Num(_int_expr(chosen.otherwise(None), digits), scale, digits, any(n.decimal for n in nums))
        chosen = pl.when(pl.lit(False)).then(None)
        for inside, literal in periods:
            chosen = chosen.when(inside).then(literal)
        result: pl.Expr = chosen.otherwise(None)
        return result

    # Quantifiers

    def _quant(self, node: ast.Quant) -> pl.Expr | Num:
        if node.func in ("first", "last"):
            raise self._row_engine_only(node, f"quantifier {node.func!r}")
        source_type = node.source.type
        if not isinstance(source_type, ListType):
            raise self._refuse(node, "a quantifier over a non-list")
        source = self._value(node.source)
        if isinstance(source, Num):
            raise self._refuse(node, "a quantifier over a number")
        item_shape = self._list_item_shape(node.source)
        outer_scope, outer_hazards, outer_carry, outer_home = self._scope, self._hazards, self._carry, self._home
        top = outer_scope.var is None
        carry: list[tuple[str, pl.Expr, Any]] | None = [] if top else None
        self._scope, self._hazards, self._carry = _Scope(node.var, item_shape), [], carry
        if top:
            self._home = (outer_scope, outer_hazards)
        try:
            keep = self._bool(node.where) if node.where is not None else None
            counts_var = node.func == "count" and isinstance(node.element, ast.VarRef) and not node.element.path
            element = None if counts_var else self._value(node.element)
            inner_hazards = self._hazards
        finally:
            self._scope, self._hazards, self._carry, self._home = outer_scope, outer_hazards, outer_carry, outer_home
        over = self._over(source, item_shape, carry or [])
        for h in inner_hazards:  # an element's hazard marks the row (conservatively: any element)
            self._hazard(over(h).list.any().fill_null(False))
        func = node.func
        if func in ("any", "all"):
            if isinstance(element, Num) or element is None:
                raise self._refuse(node, f"{func} of a non-boolean")
            # Each element's say: a skipped one (where false) settles nothing; an unknown where is unknown.
            skip = pl.lit(func == "all")
            say = (
                element if keep is None else pl.when(keep.is_null()).then(None).when(keep).then(element).otherwise(skip)
            )
            # One pass over the elements: each say coded false 0, unknown 1, true 2; the largest code
            # settles any (the smallest, all), an empty list having none.
            coded = over(pl.when(say.is_null()).then(1).when(say).then(2).otherwise(0).cast(pl.Int8))
            extreme, settling = (coded.list.max(), 2) if func == "any" else (coded.list.min(), 0)
            return (
                pl.when(source.is_null())
                .then(None)
                .when(extreme == settling)
                .then(pl.lit(func == "any"))
                .when(extreme == 1)
                .then(None)
                .otherwise(pl.lit(func == "all"))
            )
        if func == "count":
            if isinstance(element, Num):
                raise self._refuse(node, "count of a number")
            hit = pl.lit(True) if element is None else element
            per = hit if keep is None else pl.when(keep.is_null()).then(None).when(keep).then(hit).otherwise(False)
            # One pass: an unknown element counts _UNKNOWN_COUNT, more than any list has elements.
            total = over(pl.when(per.is_null()).then(_UNKNOWN_COUNT).otherwise(per.cast(pl.Int64))).list.sum()
            return Num(pl.when(source.is_null() | (total >= _UNKNOWN_COUNT)).then(None).otherwise(total), 0, 10, False)
        if func == "sum":
            if not isinstance(element, Num):
                raise self._refuse(node, "sum of a non-number")
            leaves = element.leaves if element.leaves is not None else element.digits
            digits = leaves + 10
            self._check_digits(node, digits, element.decimal)
            value = _int_expr(element.expr, digits)
            per = value if keep is None else pl.when(keep.is_null()).then(None).when(keep).then(value).otherwise(0)
            said = over(per)
            unknown = said.list.eval(pl.element().is_null()).list.any()
            total = said.list.sum()
            return Num(
                pl.when(source.is_null() | unknown).then(None).otherwise(_int_expr(total, digits)),
                element.scale,
                digits,
                element.decimal,
                leaves,
            )
        raise self._refuse(node, f"quantifier {func!r}")

    def _list_item_shape(self, node: ast.Expr) -> FrameShape:
        if isinstance(node, ast.FactRef):
            first, *rest = node.path
            _, shape = self._path(node, pl.col(first), self.shape.fields[first], rest, False)
        elif isinstance(node, ast.VarRef) and self._scope.shape is not None:
            _, shape = self._path(node, pl.element(), self._scope.shape, node.path, False)
        else:
            raise self._refuse(node, "a quantifier over a computed list")
        if shape.kind != "list" or shape.item is None:
            raise self._refuse(node, "a quantifier over a non-list")
        return shape.item

    # Missing facts: the row engine's Unknown.missing, rule for rule (see compiler.py)

    def _null(self, node: ast.Expr) -> pl.Expr:
        """Whether the node's value is unknown."""
        value = self._value(node)
        return self._helper((value.expr if isinstance(value, Num) else value).is_null())

    def _miss(self, node: ast.Expr) -> Missing:
        """The missing facts of ``node``'s value where it is unknown (see :class:`Missing`)."""
        if isinstance(node, (ast.Const, ast.ListLit, ast.ParamRef, ast.AsOf)):
            return _NOTHING
        if isinstance(node, ast.DerivedRef):
            if self._scope.var is not None:
                raise self._refuse(node, f"derived fact {node.name!r} inside a quantifier's element")
            derived = self.ruleset.derived[node.name]
            expr = derived.expr
            if not derived.requires:
                if node is self._unknown:  # a derived fact is unknown where its expression is
                    self._unknown = expr
                return self._miss(expr)
            # As compiler.requiring: a false requirement names its marker and nothing else is read;
            # otherwise the unknown requirements' facts and the expression's.
            checks = [self._helper(self._bool(r.expr)) for r in derived.requires]
            refused = pl.any_horizontal([(~c).fill_null(False) for c in checks])
            found = Missing({r.marker: (~c).fill_null(False) for r, c in zip(derived.requires, checks)})
            read = _NOTHING
            for requirement in derived.requires:
                read = read.union(self._miss(requirement.expr))
            return found.union(read.union(self._miss(expr)).gated(~refused))
        if isinstance(node, ast.FactRef):
            return Missing({self.ruleset.root + "." + ".".join(node.path): self._null(node)})
        if isinstance(node, ast.VarRef):
            if not node.path:  # the element itself, never unknown
                return _NOTHING
            return Missing({"." + ".".join(node.path): self._null(node)})
        # An unknown operand makes these unknown, with the union of the operands' missing facts
        # (compiler's _unknown_of); a known operand contributes nothing.
        if isinstance(node, (ast.Compare, ast.Arith)):
            return self._miss(node.left).union(self._miss(node.right))
        if isinstance(node, (ast.Neg, ast.Not)):
            if node is self._unknown:
                self._unknown = node.item
            return self._miss(node.item)
        if isinstance(node, ast.Call):
            found = _NOTHING
            for arg in node.args:
                found = found.union(self._miss(arg))
            return found
        if isinstance(node, (ast.And, ast.Or)):
            # Kleene: where a false (for and) or true (for or) item settles it, nothing is missing;
            # where it stays unknown, the unknown items' sets merge.
            found = _NOTHING
            for item in node.items:
                found = found.union(self._miss(item))
            return found if node is self._unknown else found.gated(self._null(node))
        if isinstance(node, ast.Cond):
            # An unknown test is the value (the branches are not evaluated); else the chosen branch's.
            test = self._helper(self._bool(node.test))
            return (
                self._miss(node.test)
                .gated(test.is_null())
                .union(self._miss(node.then).gated(test.fill_null(False)))
                .union(self._miss(node.orelse).gated((~test).fill_null(False)))
            )
        if isinstance(node, ast.Quant):
            return self._miss_quant(node)
        raise self._refuse(node, f"a {type(node).__name__} node (missing facts)")

    def _miss_quant(self, node: ast.Quant) -> Missing:
        """An unknown list's own path; else, where the result is unknown, each element's missing
        facts: its ``where``'s, and its element's where the ``where`` holds (an unknown ``where``
        skips the element, as the row engine's loop does), named ``<list path>[<index>]<suffix>``."""
        if self._scope.var is not None:
            raise self._refuse(node, "a quantifier inside a quantifier's element (missing facts)")
        if not isinstance(node.source, ast.FactRef):
            raise self._refuse(node, "a quantifier over a computed list")
        source = self._value(node.source)
        if isinstance(source, Num):
            raise self._refuse(node, "a quantifier over a number")
        base = self.ruleset.root + "." + ".".join(node.source.path)
        own = self._miss(node.source)
        item_shape = self._list_item_shape(node.source)
        outer_scope = self._scope
        self._scope = _Scope(node.var, item_shape)
        try:
            keep = self._bool(node.where) if node.where is not None else None
            of_where = self._miss(node.where) if node.where is not None else _NOTHING
            counts_var = node.func == "count" and isinstance(node.element, ast.VarRef) and not node.element.path
            of_element = _NOTHING if counts_var else self._miss(node.element)
        finally:
            self._scope = outer_scope
        if keep is not None:
            of_element = of_element.gated(keep.fill_null(False))
        per_element = of_where.union(of_element)
        # Stopping early (any found true, all found false) drops every unknown: gate on the result.
        gate = source.is_not_null() if node is self._unknown else self._null(node) & source.is_not_null()
        lists = []
        for suffix, present in sorted(per_element.static.items()):
            index = pl.int_range(pl.len()).cast(pl.String)
            named = pl.concat_str([pl.lit(base + "["), index, pl.lit("]" + suffix)])
            lists.append((gate, source.list.eval(pl.when(present).then(named)).list.drop_nulls()))
        return own.union(Missing({}, tuple(lists)))


def months_between_expr(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Whole months from start to end, a month complete on the same day-of-month (as compiler.py)."""
    months = (
        (end.dt.year().cast(pl.Int64) - start.dt.year().cast(pl.Int64)) * 12
        + end.dt.month().cast(pl.Int64)
        - start.dt.month().cast(pl.Int64)
    )
    sd, ed = start.dt.day(), end.dt.day()
    return (
        pl.when((ed < sd) & (months > 0))
        .then(months - 1)
        .when((ed > sd) & (months < 0))
        .then(months + 1)
        .otherwise(months)
    )


# Python's calendar, as days from 1970-01-01: what date.fromordinal accepts.
_FIRST_DAY = (date(1, 1, 1) - date(1970, 1, 1)).days
_LAST_DAY = (date(9999, 12, 31) - date(1970, 1, 1)).days


def add_days_expr(start: pl.Expr, days: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The day ``days`` later; and whether it falls outside years 1–9999 (where the row engine
    raises: those rows are hazards). Computed on day numbers, which cannot overflow an Int64 here."""
    number = start.cast(pl.Int64) + days
    outside = (number < _FIRST_DAY) | (number > _LAST_DAY)
    result = number.clip(_FIRST_DAY, _LAST_DAY).cast(pl.Int32).cast(pl.Date)
    return pl.when(outside).then(None).otherwise(result), outside


def add_months_expr(start: pl.Expr, months: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The same day ``months`` later, the month's last day where it lacks that day; and whether the
    result falls outside years 1–9999 (where the row engine raises: those rows are hazards)."""
    index = start.dt.year().cast(pl.Int64) * 12 + start.dt.month().cast(pl.Int64) - 1 + months
    year = index // 12
    month = index - year * 12 + 1
    outside = (year < 1) | (year > 9999)
    safe_year = year.clip(1, 9999)
    first = pl.date(safe_year, month, 1)
    last_day = first.dt.month_end().dt.day().cast(pl.Int64)
    day = pl.min_horizontal(start.dt.day().cast(pl.Int64), last_day)
    result = first + pl.duration(days=day - 1)
    return pl.when(outside).then(None).otherwise(result), outside
