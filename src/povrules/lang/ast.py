"""The expression tree: what the parser builds and the checker resolves.

Two stages share these classes. The parser produces *syntactic* nodes
(``Name``, ``Attr``) with no types; the checker replaces names by *resolved*
references (``FactRef``, ``ParamRef``, ``DerivedRef``, ``VarRef``, ``AsOf``) and
fills every node's ``type``. The compiler accepts only checked trees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from povrules.lang.types import Field, Type


@attrs.frozen
class Span:
    """Where a node stands in its expression text: 1-based line and column."""

    line: int
    column: int
    end_line: int
    end_column: int


@attrs.frozen(kw_only=True)
class Node:
    """Base of every node: its source text, position and (once checked) type."""

    span: Span
    text: str
    type: Type | None = None


@attrs.frozen(kw_only=True)
class Const(Node):
    value: Decimal | int | str | bool | date  # a date only from date("YYYY-MM-DD"), folded by the checker


@attrs.frozen(kw_only=True)
class ListLit(Node):
    items: tuple[Expr, ...]


@attrs.frozen(kw_only=True)
class Name(Node):
    id: str


@attrs.frozen(kw_only=True)
class Attr(Node):
    obj: Expr
    name: str


@attrs.frozen(kw_only=True)
class Compare(Node):
    """``left op right`` with op one of ``== != < <= > >= in not_in``."""

    op: str
    left: Expr
    right: Expr


@attrs.frozen(kw_only=True)
class And(Node):
    items: tuple[Expr, ...]


@attrs.frozen(kw_only=True)
class Or(Node):
    items: tuple[Expr, ...]


@attrs.frozen(kw_only=True)
class Not(Node):
    item: Expr


@attrs.frozen(kw_only=True)
class Arith(Node):
    """``left op right`` with op one of ``+ - * /``; exact decimal arithmetic."""

    op: str
    left: Expr
    right: Expr


@attrs.frozen(kw_only=True)
class Neg(Node):
    item: Expr


@attrs.frozen(kw_only=True)
class Cond(Node):
    """``then if test else orelse``."""

    test: Expr
    then: Expr
    orelse: Expr


@attrs.frozen(kw_only=True)
class Call(Node):
    """A call to a whitelisted function (``len``, ``months_between`` …)."""

    func: str
    args: tuple[Expr, ...]


@attrs.frozen(kw_only=True)
class Quant(Node):
    """``func(element for var in source if where)``: any, all, count or sum."""

    func: str
    var: str
    source: Expr
    element: Expr
    where: Expr | None


# Resolved references, produced by the checker.


@attrs.frozen(kw_only=True)
class FactRef(Node):
    """A household fact: ``hh.income.per_capita_net`` → path ``("income", "per_capita_net")``."""

    path: tuple[str, ...]
    field: Field
    trail: tuple[Field, ...] = ()  # every field along the path, for labels like 看住房 走访日期


@attrs.frozen(kw_only=True)
class VarRef(Node):
    """A fact of the element a quantifier is visiting: ``m.age`` inside ``any(… for m in …)``."""

    var: str
    path: tuple[str, ...]
    field: Field | None


@attrs.frozen(kw_only=True)
class ParamRef(Node):
    name: str


@attrs.frozen(kw_only=True)
class DerivedRef(Node):
    name: str


@attrs.frozen(kw_only=True)
class AsOf(Node):
    """The evaluation date."""


Expr = (
    Const
    | ListLit
    | Name
    | Attr
    | Compare
    | And
    | Or
    | Not
    | Arith
    | Neg
    | Cond
    | Call
    | Quant
    | FactRef
    | VarRef
    | ParamRef
    | DerivedRef
    | AsOf
)


def walk(node: Node) -> list[Node]:
    """Every node of a tree, parents before children."""
    out: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        children: list[Node] = []
        for field in attrs.fields(type(current)):
            value = getattr(current, field.name)
            if isinstance(value, Node):
                children.append(value)
            elif isinstance(value, tuple):
                children.extend(v for v in value if isinstance(v, Node))
        stack.extend(reversed(children))
    return out


def parameter_reads(node: Node) -> tuple[frozenset[str], frozenset[str]]:
    """The parameters a tree reads: on the evaluation date (``p.x``), and through ``at(p.x, <date>)``
    on another date (whose value on the evaluation date is not needed). Derived facts are not followed."""
    nodes = walk(node)
    dated = [
        n.args[0]
        for n in nodes
        if isinstance(n, Call) and n.func == "at" and n.args and isinstance(n.args[0], ParamRef)
    ]
    inside = {id(n) for n in dated}
    on_as_of = frozenset(n.name for n in nodes if isinstance(n, ParamRef) and id(n) not in inside)
    return on_as_of, frozenset(n.name for n in dated)


def derived_reads(node: Node, trees_of: Callable[[str], Iterable[Node]]) -> list[str]:
    """The derived facts a tree reads, directly or through the derived facts they read, each once in the
    order first met: the one walk over derived facts' dependencies. ``trees_of(name)`` gives the trees of
    derived fact ``name`` to follow: its expression, and its requirements where they count."""
    found: dict[str, None] = {}
    todo = [node]
    while todo:
        for current in walk(todo.pop()):
            if isinstance(current, DerivedRef) and current.name not in found:
                found[current.name] = None
                todo.extend(trees_of(current.name))
    return list(found)
