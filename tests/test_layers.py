"""The import structure of ``src/povrules``: private names stay private, and imports point down the layers.

The layers (``LAYERS`` below, lowest first) and their rule are at the end of this file; the privacy rule
comes first.

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
                    if (
                        PACKAGE.joinpath(*full.split(".")[1:]).with_suffix(".py").is_file()
                        or PACKAGE.joinpath(*full.split(".")[1:]).is_dir()
                    ):
                        check_module(full, node)  # a private submodule: rule 2
                    else:
                        problems.append(f"{where(node)}: imports private name {alias.name} from {node.module}")
                if (
                    PACKAGE.joinpath(*full.split(".")[1:]).with_suffix(".py").is_file()
                    or (PACKAGE.joinpath(*full.split(".")[1:]) / "__init__.py").is_file()
                ):
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


# Layers. Every module of src/povrules belongs to one layer; a module may import (at module level or
# inside a function) only modules of its own layer or of lower ones. Imports under ``if TYPE_CHECKING:``
# are for annotations and may point anywhere, but no import at all may close a cycle (the annotations
# of the lower layers name the higher ones' types through protocols, e.g. povrules.hooks.View). A lower
# layer's object whose method is done above it calls a povrules.hooks.Hook, which povrules/__init__ fills.
LAYERS = (
    (
        "base",
        (
            "povrules._version",
            "povrules.errors",
            "povrules.hooks",
            "povrules.canonical",
            "povrules.reading",
            "povrules.processes",
            "povrules.workdays",
        ),
    ),
    ("facts", ("povrules.facts",)),
    ("lang", ("povrules.lang", "povrules.wording")),  # the language, and the words of facts and explanations
    ("ruleset", ("povrules.ruleset", "povrules.sources", "povrules.citations")),  # and the policy texts cited
    ("engine", ("povrules.engine",)),
    ("trace", ("povrules.trace",)),  # the trace document
    ("presentation", ("povrules.text", "povrules.html", "povrules.reference")),
    (
        "tools",
        (
            "povrules.compare",
            "povrules.audit",
            "povrules.lifecycle",
            "povrules.mutate",
            "povrules.policytest",
            "povrules.batch",
            "povrules.columnar",
            "povrules.caseload",
            "povrules.spark",
            "povrules.synth",
            "povrules.warning",
        ),
    ),
    ("cli", ("povrules.cli",)),
    ("package", ("povrules",)),  # the public API: imports every layer and fills the hooks
)
RANK = {prefix: (rank, name) for rank, (name, prefixes) in enumerate(LAYERS) for prefix in prefixes}


def layer_of(module: str) -> tuple[int, str] | None:
    """The (rank, name) of a module's layer: that of the longest table entry it is, or is inside of (the
    package itself, ``povrules``, holds only its ``__init__``)."""
    if module == "povrules":
        return RANK[module]
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        found = RANK.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def _modules(src: Path) -> dict[str, Path]:
    return {_module_in(src, path): path for path in sorted((src / "povrules").rglob("*.py"))}


def _module_in(src: Path, path: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """The ids of the nodes inside ``if TYPE_CHECKING:`` blocks (their ``else`` runs, so it is not counted)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for statement in node.body:
                inside.update(id(n) for n in ast.walk(statement))
    return inside


def imports_of(src: Path, path: Path, modules: dict[str, Path]) -> list[tuple[int, str, bool]]:
    """Every povrules module a file imports: (line, module, only for type checking). ``from a import b``
    imports ``a.b`` when that is a module, else ``a``; relative imports are resolved; so are
    ``importlib.import_module("povrules.…")`` and ``__import__("povrules…")`` with a literal name."""
    me = _module_in(src, path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    typing_only = _type_checking_nodes(tree)
    found: list[tuple[int, str, bool]] = []

    def add(node: ast.AST, dotted: str) -> None:
        found.append((getattr(node, "lineno", 0), dotted, id(node) in typing_only))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([node.module] if node.module else []))
            if base.split(".")[0] != "povrules":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(node, sub if sub in modules else base)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "povrules":
                    add(node, alias.name)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value.split(".")[0] == "povrules"
            and ast.unparse(node.func) in ("importlib.import_module", "import_module", "__import__")
        ):
            add(node, node.args[0].value)
    return [(line, target, typing) for line, target, typing in found if target != me]


def layer_problems(src: Path) -> list[str]:
    """Every module without a layer, and every import of a higher layer, as ``file:line: …``."""
    modules = _modules(src)
    problems: list[str] = []
    for module, path in modules.items():
        mine = layer_of(module)
        if mine is None:
            problems.append(f"{path.relative_to(src)}: {module} has no layer in tests/test_layers.py's LAYERS")
            continue
        for line, target, typing_only in imports_of(src, path, modules):
            theirs = layer_of(target)
            if typing_only or theirs is None or theirs[0] <= mine[0]:
                continue
            problems.append(
                f"{path.relative_to(src)}:{line}: {module} (layer {mine[1]}) imports {target} "
                f"(layer {theirs[1]}, higher)"
            )
    return problems


def import_cycles(src: Path) -> list[list[str]]:
    """The cycles of the import graph, counting every import (type-checking ones too), each as its modules."""
    modules = _modules(src)
    edges = {
        module: {t for _, t, _ in imports_of(src, path, modules) if t in modules} for module, path in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def strong(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in modules:
        if module not in index:
            strong(module)
    return cycles


def test_every_import_points_down_the_layers() -> None:
    assert layer_problems(SRC) == []


def test_no_import_closes_a_cycle() -> None:
    assert import_cycles(SRC) == []


def test_every_hook_is_provided() -> None:
    import povrules  # noqa: F401 - the package fills the hooks
    from povrules.hooks import HOOKS

    assert HOOKS and [name for name, hook in HOOKS.items() if not hook.provided] == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "povrules" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_layer_check_catches_an_import_from_above(tmp_path: Path) -> None:
    base = {
        "__init__.py": "from povrules import engine, html\n",
        "html.py": "from povrules.engine import plan\n",
        "facts/__init__.py": "",
        "lang/__init__.py": "from povrules.facts import Household\n",
    }
    assert layer_problems(_tree(tmp_path / "ok", {**base, "engine.py": "from povrules.lang import ast\n"})) == []
    inside_a_function = "def view(d):\n    from povrules.html import decision_html\n    return decision_html(d)\n"
    problems = layer_problems(_tree(tmp_path / "late", {**base, "engine.py": inside_a_function}))
    assert problems == [
        ("povrules/engine.py:2: povrules.engine (layer engine) imports povrules.html (layer presentation, higher)")
    ]
    at_import = layer_problems(_tree(tmp_path / "early", {**base, "engine.py": "import povrules.html as h\n"}))
    assert at_import == [
        ("povrules/engine.py:1: povrules.engine (layer engine) imports povrules.html (layer presentation, higher)")
    ]
    relative = layer_problems(_tree(tmp_path / "relative", {**base, "facts/__init__.py": "from ..lang import ast\n"}))
    assert relative and "(layer facts) imports povrules.lang (layer lang, higher)" in relative[0]
    dynamic = "import importlib\nh = importlib.import_module('povrules.html')\n"
    assert layer_problems(_tree(tmp_path / "dynamic", {**base, "engine.py": dynamic}))
    unknown = layer_problems(_tree(tmp_path / "unknown", {**base, "engine.py": "", "gadgets.py": ""}))
    assert unknown == ["povrules/gadgets.py: povrules.gadgets has no layer in tests/test_layers.py's LAYERS"]


def test_type_checking_imports_may_point_up_but_not_close_a_cycle(tmp_path: Path) -> None:
    annotated = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from povrules.html import HTML\n"
        "else:\n    HTML = object\n"
    )
    files = {
        "__init__.py": "",
        "engine.py": annotated,
        "html.py": "from povrules.lang import ast\n",
        "lang/__init__.py": "",
    }
    root = _tree(tmp_path / "up", files)
    assert layer_problems(root) == [] and import_cycles(root) == []
    looped = _tree(tmp_path / "loop", {**files, "html.py": "from povrules.engine import Decision\n"})
    assert layer_problems(looped) == [] and import_cycles(looped) == [["povrules.engine", "povrules.html"]]
    beside = _tree(
        tmp_path / "else", {**files, "engine.py": annotated.replace("object", "1\n    import povrules.html")}
    )
    assert layer_problems(beside)  # an else branch runs
