"""Text → syntactic tree, accepting only the whitelisted forms.

Python's own parser tokenises and parses the text (it never runs it); every
node of its tree is then either translated into a node of :mod:`povrules.lang.ast`
or refused with the position of the offending token. Nothing else is reachable:
no attribute or name starting with ``_``, no subscripts, lambdas, keywords,
f-strings or calls to anything outside :data:`FUNCTIONS`.
"""

from __future__ import annotations

import ast as pyast
import re
import warnings
from decimal import Decimal

import attrs

from povrules.errors import PovrulesError
from povrules.lang import ast

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_NODES = 400

FUNCTIONS = frozenset(
    {
        "len",
        "abs",
        "min",
        "max",
        "date",
        "days_between",
        "months_between",
        "years_between",
        "add_months",
        "add_years",
        "add_days",
        "working_days_between",
        "working_days",
        "calendar_days",
        "add_working_days",
        "year",
        "month",
        "day",
        "at",
    }
)
QUANTIFIERS = frozenset({"any", "all", "count", "sum", "first", "last"})

_COMPARE = {
    pyast.Eq: "==",
    pyast.NotEq: "!=",
    pyast.Lt: "<",
    pyast.LtE: "<=",
    pyast.Gt: ">",
    pyast.GtE: ">=",
    pyast.In: "in",
    pyast.NotIn: "not_in",
}
_ARITH = {pyast.Add: "+", pyast.Sub: "-", pyast.Mult: "*", pyast.Div: "/"}
_FORBIDDEN_WORDS = {
    pyast.Lambda: "a lambda",
    pyast.Subscript: "indexing",
    pyast.Dict: "a dict",
    pyast.JoinedStr: "an f-string",
    pyast.NamedExpr: "assignment",
    pyast.Starred: "unpacking",
    pyast.ListComp: "a list comprehension",
    pyast.SetComp: "a set comprehension",
    pyast.DictComp: "a dict comprehension",
    pyast.Await: "await",
    pyast.Yield: "yield",
}


@attrs.frozen
class SyntaxProblem(PovrulesError):
    """A refused expression: message and 1-based position within the text. The ruleset loader raises
    it again as a :class:`~povrules.RulesetError` at the expression's place in its file."""

    message: str
    line: int
    column: int
    hint: str | None = None

    def __str__(self) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.line}:{self.column}: {self.message}{hint}"


def _depth(node: pyast.AST) -> int:
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in pyast.iter_child_nodes(current))
    return deepest


def parse(text: str) -> ast.Expr:
    """Parse an expression, or raise :class:`SyntaxProblem`."""
    if len(text) > MAX_LENGTH:
        raise SyntaxProblem(f"expression is {len(text)} characters long; at most {MAX_LENGTH} are allowed", 1, 1)
    if text.count("(") > MAX_DEPTH * 2 or text.count("[") > MAX_DEPTH * 2:
        raise SyntaxProblem(f"expression nests too deeply (at most {MAX_DEPTH} levels)", 1, 1)
    try:
        # Leading blank lines are kept, so that line numbers match the text as given. What Python
        # only warns about (`1and x`) is an error in a ruleset: an author should never guess.
        with warnings.catch_warnings():
            warnings.simplefilter("error", SyntaxWarning)
            tree = pyast.parse(text, mode="eval")
    except SyntaxError as exc:
        lines = _lines(text.rstrip()) or [""]
        at_end = not exc.offset or (exc.lineno or 1, exc.offset) > (len(lines), len(lines[-1]))
        if exc.msg == "invalid syntax" and at_end:  # an early end of input: point after the last character
            raise SyntaxProblem(
                f"syntax error: {exc.msg} (the expression ends too early)", len(lines), len(lines[-1]) + 1
            ) from None
        raise SyntaxProblem(f"syntax error: {exc.msg}", exc.lineno or 1, exc.offset or 1) from None
    except (RecursionError, MemoryError):
        raise SyntaxProblem(f"expression nests too deeply (at most {MAX_DEPTH} levels)", 1, 1) from None
    except ValueError as exc:  # e.g. a lone surrogate that cannot be encoded
        raise SyntaxProblem(f"the text cannot be read as an expression: {exc}", 1, 1) from None
    if _depth(tree.body) > MAX_DEPTH:
        raise SyntaxProblem(f"expression nests too deeply (at most {MAX_DEPTH} levels)", 1, 1)
    count = sum(1 for _ in pyast.walk(tree))
    if count > MAX_NODES:
        raise SyntaxProblem(f"expression has {count} parts; at most {MAX_NODES} are allowed", 1, 1)
    return _Translator(text).expr(tree.body)


class _Translator:
    def __init__(self, text: str):
        self.text = text
        self.lines = [line.encode() for line in _lines(text)]

    def _column(self, line: int, offset: int) -> int:
        """Python counts columns in UTF-8 bytes; a reader counts characters (1-based)."""
        if 1 <= line <= len(self.lines):
            return len(self.lines[line - 1][:offset].decode(errors="replace")) + 1
        return offset + 1

    def _span(self, node: pyast.AST) -> ast.Span:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        end_line = getattr(node, "end_lineno", line) or line
        end_col = getattr(node, "end_col_offset", col) or col
        return ast.Span(line, self._column(line, col), end_line, self._column(end_line, end_col))

    def _src(self, node: pyast.AST) -> str:
        return pyast.get_source_segment(self.text, node) or ""

    def _refuse(self, node: pyast.AST, message: str, hint: str | None = None) -> SyntaxProblem:
        span = self._span(node)
        return SyntaxProblem(message, span.line, span.column, hint)

    def expr(self, node: pyast.expr) -> ast.Expr:
        span, text = self._span(node), self._src(node)
        if isinstance(node, pyast.BoolOp):
            items = tuple(self.expr(v) for v in node.values)
            cls = ast.And if isinstance(node.op, pyast.And) else ast.Or
            return cls(span=span, text=text, items=items)
        if isinstance(node, pyast.UnaryOp):
            if isinstance(node.op, pyast.Not):
                return ast.Not(span=span, text=text, item=self.expr(node.operand))
            if isinstance(node.op, pyast.USub):
                return ast.Neg(span=span, text=text, item=self.expr(node.operand))
            raise self._refuse(node, "this unary operator is not allowed")
        if isinstance(node, pyast.BinOp):
            op = _ARITH.get(type(node.op))
            if op is None:
                raise self._refuse(node, "only + - * / are allowed in arithmetic")
            return ast.Arith(span=span, text=text, op=op, left=self.expr(node.left), right=self.expr(node.right))
        if isinstance(node, pyast.Compare):
            return self._compare(node, span, text)
        if isinstance(node, pyast.IfExp):
            return ast.Cond(
                span=span,
                text=text,
                test=self.expr(node.test),
                then=self.expr(node.body),
                orelse=self.expr(node.orelse),
            )
        if isinstance(node, pyast.Constant):
            return self._constant(node, span, text)
        if isinstance(node, (pyast.List, pyast.Tuple, pyast.Set)):
            return ast.ListLit(span=span, text=text, items=tuple(self.expr(e) for e in node.elts))
        if isinstance(node, pyast.Name):
            self._check_name(node, node.id)
            return ast.Name(span=span, text=text, id=node.id)
        if isinstance(node, pyast.Attribute):
            self._check_name(node, node.attr)
            return ast.Attr(span=span, text=text, obj=self.expr(node.value), name=node.attr)
        if isinstance(node, pyast.Call):
            return self._call(node, span, text)
        if isinstance(node, pyast.GeneratorExp):
            raise self._refuse(node, "a generator must be the only argument of any(), all(), count() or sum()")
        what = _FORBIDDEN_WORDS.get(type(node), type(node).__name__)
        raise self._refuse(node, f"{what} is not allowed in a condition")

    def _check_name(self, node: pyast.AST, name: str) -> None:
        if name.startswith("_"):
            raise self._refuse(node, f"names starting with '_' are not allowed: {name!r}")

    def _constant(self, node: pyast.Constant, span: ast.Span, text: str) -> ast.Const:
        value = node.value
        if isinstance(value, (bool, str)):
            return ast.Const(span=span, text=text, value=value)
        if isinstance(value, int):
            return ast.Const(span=span, text=text, value=value)
        if isinstance(value, float):
            # From the source text, so that 0.1 stays exactly one tenth.
            return ast.Const(span=span, text=text, value=Decimal(text.replace("_", "")))
        raise self._refuse(node, f"{type(value).__name__} literals are not allowed")

    def _compare(self, node: pyast.Compare, span: ast.Span, text: str) -> ast.Expr:
        parts: list[ast.Expr] = []
        left_py: pyast.expr = node.left
        left = self.expr(left_py)
        for op, right_py in zip(node.ops, node.comparators):
            name = _COMPARE.get(type(op))
            if name is None:
                raise self._refuse(node, "'is' and 'is not' are not allowed; use == or !=")
            right = self.expr(right_py)
            first, last = self._span(left_py), self._span(right_py)
            seg = ast.Span(first.line, first.column, last.end_line, last.end_column)
            seg_text = self._segment(left_py, right_py)
            parts.append(ast.Compare(span=seg, text=seg_text, op=name, left=left, right=right))
            left_py, left = right_py, right
        if len(parts) == 1:
            return attrs.evolve(parts[0], span=span, text=text)
        return ast.And(span=span, text=text, items=tuple(parts))

    def _segment(self, first: pyast.expr, last: pyast.expr) -> str:
        lines = _lines(self.text)
        start, end = self._span(first), self._span(last)
        (l1, c1), (l2, c2) = (start.line, start.column - 1), (end.end_line, end.end_column - 1)
        if l1 == l2:
            return lines[l1 - 1][c1:c2]
        return "\n".join([lines[l1 - 1][c1:], *lines[l1 : l2 - 1], lines[l2 - 1][:c2]])

    def _call(self, node: pyast.Call, span: ast.Span, text: str) -> ast.Expr:
        if not isinstance(node.func, pyast.Name):
            raise self._refuse(node.func, "only the built-in functions may be called", _known())
        func = node.func.id
        if node.keywords:
            raise self._refuse(node.keywords[0].value, "keyword arguments are not allowed")
        if func in QUANTIFIERS:
            if len(node.args) != 1 or not isinstance(node.args[0], pyast.GeneratorExp):
                raise self._refuse(node, f"{func}() takes one generator: {func}(<condition> for <name> in <list>)")
            return self._quantifier(func, node.args[0], span, text)
        if func not in FUNCTIONS:
            raise self._refuse(node.func, f"unknown function {func!r}", _known())
        args = tuple(self.expr(a) for a in node.args)
        return ast.Call(span=span, text=text, func=func, args=args)

    def _quantifier(self, func: str, gen: pyast.GeneratorExp, span: ast.Span, text: str) -> ast.Quant:
        if len(gen.generators) != 1:
            raise self._refuse(gen, "only one 'for' clause is allowed")
        comp = gen.generators[0]
        if comp.is_async or not isinstance(comp.target, pyast.Name):
            raise self._refuse(comp.target, "the loop variable must be a single name")
        if len(comp.ifs) > 1:
            raise self._refuse(comp.ifs[1], "only one 'if' clause is allowed")
        self._check_name(comp.target, comp.target.id)
        where = self.expr(comp.ifs[0]) if comp.ifs else None
        return ast.Quant(
            span=span,
            text=text,
            func=func,
            var=comp.target.id,
            source=self.expr(comp.iter),
            element=self.expr(gen.elt),
            where=where,
        )


def _lines(text: str) -> list[str]:
    """The lines of a text as Python numbers them (str.splitlines also splits at form feeds and others)."""
    return re.split(r"\r\n|\r|\n", text)


def _known() -> str:
    return "allowed: " + ", ".join(sorted(FUNCTIONS | QUANTIFIERS))
