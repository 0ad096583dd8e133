"""Hooks: how an object of a lower layer offers a method whose work is done in a higher layer.

povrules is layered, lowest first: facts → lang → ruleset → engine → trace document → presentation
(text, HTML) → tools (compare, audit, lifecycle, …) → cli; no module imports one above it, neither at
import time nor inside a function (tests/test_layers.py holds the table and checks it). Yet the
objects of the lower layers keep their convenience methods — ``Decision.explain()``,
``Decision.html()``, ``Ranking.explain()``, ``Ruleset.with_parameter()``, ``Comparison._repr_html_()``
… — whose work is done above them. Each such method calls a :class:`Hook`:

- the lower module declares the hook next to the method, typed with the function it stands for,
  and the method calls it::

      EXPLAIN: Hook[[Decision, str], str] = Hook("Decision.explain")

      def explain(self, lang: str = "zh") -> str:
          return EXPLAIN(self, lang)

- ``povrules/__init__``, the top of the package, imports every layer and fills each hook with the
  function of the higher layer that does the work (``engine.EXPLAIN.provide(text.explain)``): the
  one table of who provides what.

Python runs a package's ``__init__`` before any of its modules is imported, so once any part of
povrules is imported every hook is filled (a test checks that none is left empty). A hook called
while unfilled — only possible while ``povrules`` itself is being imported — raises :class:`HookError`.
:data:`HOOKS` lists every hook declared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

from povrules.errors import PovrulesError

__all__ = ["HOOKS", "Hook", "HookError", "View"]

P = ParamSpec("P")
R = TypeVar("R")


class HookError(PovrulesError, RuntimeError):
    """A hook called before its providing module was imported, or provided twice by different functions."""


class View(Protocol):
    """A rendered HTML view (:class:`povrules.html.HTML`) as the lower layers see it: what they return
    from their ``html()`` methods without importing the presentation layer."""

    @property
    def fragment(self) -> str:
        """The view with its stylesheet, for a notebook output or a page."""
        ...

    def page(self, title: str | None = None) -> str:
        """A standalone HTML5 document."""
        ...

    def _repr_html_(self) -> str: ...


class Hook(Generic[P, R]):
    """A function a lower layer calls and a higher layer provides (see the module docstring).

    ``name`` says what the hook does: usually the method that calls it.
    """

    __slots__ = ("_function", "name")

    def __init__(self, name: str) -> None:
        if name in HOOKS:
            raise HookError(f"hook {name!r} is declared twice")
        self.name = name
        self._function: Callable[P, R] | None = None
        HOOKS[name] = self

    def provide(self, function: Callable[P, R]) -> Callable[P, R]:
        """Fill the hook with ``function`` and return it unchanged (so it serves as a decorator).

        Raises :class:`HookError` when another function already fills it; providing the same one again
        (a module reloaded) replaces it.
        """
        known = self._function
        if known is not None and _qualified(known) != _qualified(function):
            raise HookError(f"hook {self.name!r} is provided by {_qualified(known)}, not {_qualified(function)}")
        self._function = function
        return function

    @property
    def function(self) -> Callable[P, R]:
        """The function that fills the hook. Raises :class:`HookError` when none does yet."""
        if self._function is None:
            raise HookError(f"{self.name} is provided when the povrules package is imported, which has not finished")
        return self._function

    @property
    def provided(self) -> bool:
        """Whether a function fills the hook."""
        return self._function is not None

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        by = _qualified(self._function) if self._function is not None else "(not provided yet)"
        return f"<Hook {self.name} ← {by}>"


def _qualified(function: Callable[..., object]) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"


HOOKS: dict[str, Hook[..., Any]] = {}
"""Every hook declared, by name."""
