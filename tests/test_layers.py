"""No module of ``src/povrules`` reaches into another module's private names.

The rule, checked on the AST of every file under ``src/povrules``:

1. **Private names stay in their module.** ``from povrules.X import _name`` fails, whoever imports.
2. **Private modules stay in their package.** A module whose last dotted part starts with ``_``
   (``povrules.facts._base``, ``povrules._version``) may be imported (``import`` or ``from … import``)
   only by modules of the package that contains it: ``povrules/facts/*.py`` (its ``__init__``
   included, which is how it re-exports them) for ``povrules.facts._base``.
3. **No private attributes of imported modules.** ``m._name`` fails where ``m`` was bound by
   importing a povrules module (``import povrules.x as m``, ``from povrules import x``).
4. **No private attributes another module defines.** ``obj._name`` (``obj`` not ``self`` or ``cls``)
   fails when ``_name`` is not defined in the accessing module but is defined in another one: as a
   class attribute, an ``attrs`` field, a ``__slots__`` entry, a method or a ``self._name``
   assignment. This is what keeps ``Decision._values``, ``Plan._bound`` and the like inside
   ``engine.py``. The one declared exception is the plan memo, ``Ruleset._plans``: the field is
   declared on the model so that it lives and dies with the ruleset, but it belongs to the engine.

Dunder names (``__init__``) and Python's protocol names (``_repr_html_``, ``_asdict``) are not private.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "povrules"
FILES = sorted(PACKAGE.rglob("*.py"))

# (private attribute, the module allowed to use it although another module declares it)
FRIENDS = {("_plans", "povrules.engine")}
PROTOCOL = {"_repr_html_", "_asdict", "_replace", "_fields", "_missing_", "_generate_next_value_"}


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(path: Path) -> str:
    """The package a file belongs to: itself for an ``__init__``, else its folder."""
    return ".".join(path.relative_to(SRC).parent.parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in PROTOCOL


def _defined_private(tree: ast.Module) -> set[str]:
    """The private attribute names a module defines (classes' members and ``self._x`` assignments)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    for target in item.targets:
                        if isinstance(target, ast.Name):
                            names.add(target.id)
                            if target.id == "__slots__" and isinstance(item.value, (ast.Tuple, ast.List)):
                                names |= {e.value for e in item.value.elts if isinstance(e, ast.Constant)}
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
    return {name for name in names if _private(name)}


TREES = {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in FILES}
DEFINED = {_module(path): _defined_private(tree) for path, tree in TREES.items()}


def _private_module_owner(dotted: str) -> str | None:
    """For a private module (``povrules.facts._base``), the package that may import it."""
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if _private(part):
            return ".".join(parts[:i])
    return None


def _problems(path: Path, tree: ast.Module) -> list[str]:
    me, package = _module(path), _package(path)
    problems: list[str] = []
    modules: set[str] = set()  # local names bound to povrules modules

    def where(node: ast.AST) -> str:
        return f"{path.relative_to(SRC)}:{getattr(node, 'lineno', 0)}"

    def check_module(dotted: str, node: ast.AST) -> None:
        owner = _private_module_owner(dotted)
        if owner is not None and owner != package:
            problems.append(f"{where(node)}: imports private module {dotted} from outside {owner}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("povrules"):
                    check_module(alias.name, node)
                    modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("povrules"):
            check_module(node.module, node)
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if _private(alias.name):
                    if (PACKAGE.joinpath(*full.split(".")[1:]).with_suffix(".py").is_file()
                            or PACKAGE.joinpath(*full.split(".")[1:]).is_dir()):
                        check_module(full, node)  # a private submodule: rule 2
                    else:
                        problems.append(f"{where(node)}: imports private name {alias.name} from {node.module}")
                if (PACKAGE.joinpath(*full.split(".")[1:]).with_suffix(".py").is_file()
                        or (PACKAGE.joinpath(*full.split(".")[1:]) / "__init__.py").is_file()):
                    modules.add(alias.asname or alias.name)

    elsewhere = set().union(*(names for module, names in DEFINED.items() if module != me))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not _private(node.attr):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in modules:
            problems.append(f"{where(node)}: {node.value.id}.{node.attr} is private to that module")
        elif isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        elif node.attr in elsewhere and node.attr not in DEFINED.get(me, set()) and (node.attr, me) not in FRIENDS:
            owners = sorted(module for module, names in DEFINED.items() if node.attr in names and module != me)
            problems.append(f"{where(node)}: .{node.attr} is private to {', '.join(owners)}")
    return problems


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_names_of_other_modules(path: Path) -> None:
    assert _problems(path, TREES[path]) == []


def _check_text(text: str, name: str = "povrules/probe.py") -> list[str]:
    path = SRC / name
    return _problems(path, ast.parse(text))


def test_the_check_catches_what_it_is_meant_to() -> None:
    assert _check_text("from povrules.engine import _bind\n")
    assert _check_text("from povrules.facts._base import Judged\n")
    assert _check_text("import povrules.ruleset.loader as loader\nloader._plain(1)\n")
    assert _check_text("from povrules.ruleset import loader\nx = loader._plain\n")
    assert _check_text("def f(d):\n    return d._values\n")
    assert _check_text("def f(ruleset):\n    return ruleset._plans\n")
    assert not _check_text("def f(ruleset):\n    return ruleset._plans\n", "povrules/engine.py")
    assert not _check_text("from povrules.facts._base import Judged\n", "povrules/facts/probe.py")
    assert not _check_text("from povrules.engine import plan\n\ndef f(d):\n    return d.values, self._x\n")
