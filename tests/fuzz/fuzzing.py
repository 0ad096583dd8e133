"""What the fuzz targets share: how long they run, the guard that no input runs code, and the tally.

Two profiles, chosen by the ``POVRULES_FUZZ`` environment variable:

* ``short`` (the default, part of every test run): a few dozen inputs per target, seconds in all;
* ``long`` (``make fuzz``): thousands per target. ``POVRULES_FUZZ_EXAMPLES`` overrides the number.

Every input must end in a value or in the project's own located error; anything else (another
exception, an input that takes longer than :data:`DEADLINE`, a Python ``exec``, a process started,
a file or module named by the input opened) fails the target with the input that did it.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("POVRULES_FUZZ", "short")
if PROFILE not in ("short", "long"):
    raise ValueError(f"POVRULES_FUZZ: expected short or long, got {PROFILE!r}")
EXAMPLES = int(os.environ.get("POVRULES_FUZZ_EXAMPLES", "0")) or {"short": 30, "long": 3000}[PROFILE]
DEADLINE = timedelta(seconds=5)  # one input; generous for a loaded machine, far short of a hang

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=DEADLINE,
    derandomize=PROFILE == "short",
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)

# Inputs tried per target, and how each ended: printed at the end of the run (see conftest.py).
TRIED: Counter[str] = Counter()
ENDED: Counter[tuple[str, str]] = Counter()

CANARY = "fuzzcanary"  # inputs name it; nothing may open, import or run it

_EVENTS: list[tuple[str, tuple[Any, ...]]] = []
_WATCHING = False
_RUNS = {
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "subprocess.Popen",
    "os.fork",
    "pty.spawn",
    "ctypes.dlopen",
}


_DANGER = {
    "__import__",
    "open",
    "eval",
    "exec",
    "compile",
    "system",
    "popen",
    "__class__",
    "__subclasses__",
    "__globals__",
    "__builtins__",
    "__getattribute__",
    CANARY,
}


def _from_input(code: Any) -> bool:
    """Whether an executed code object could be the input's: compiled at run time from a string and naming
    something only an attack would (``typing`` evaluating the models' own annotations runs code too,
    compiled from strings, but names types only)."""
    if getattr(code, "co_filename", "<string>") not in ("<string>", "<unknown>", "<stdin>"):
        return False  # a module being imported, or the methods attrs generates for a class
    names = set(getattr(code, "co_names", ())) | {c for c in getattr(code, "co_consts", ()) if isinstance(c, str)}
    return bool(names & _DANGER) or any(CANARY in name for name in names)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _WATCHING:
        return
    if event == "exec":
        if args and _from_input(args[0]):
            _EVENTS.append((event, args))
    elif (
        event in _RUNS
        or event in ("open", "import", "os.listdir", "os.remove", "shutil.rmtree")
        and CANARY in repr(args)
    ):
        _EVENTS.append((event, args))


sys.addaudithook(_hook)


@contextmanager
def guarded(target: str) -> Iterator[None]:
    """Count one input of ``target`` and fail if, while it is handled, code runs or the canary is touched."""
    global _WATCHING
    TRIED[target] += 1
    _EVENTS.clear()
    _WATCHING = True
    try:
        yield
    finally:
        _WATCHING = False
    if _EVENTS:
        raise AssertionError(f"{target}: the input ran code or touched {CANARY}: {_EVENTS[:3]}")


def ended(target: str, how: str) -> None:
    """Tally how an input of ``target`` ended (``ok`` or the error's class)."""
    ENDED[(target, how)] += 1


# Mutations of valid inputs: most random text fails at the first byte, so the targets start from real
# inputs and change them a little, by text (bytes cut, repeated or put in) or by tree (one value replaced).

from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e309",
            "NaN",
            "2021-02-30",
            "9999-12-31",
            "hmac-sha256:" + "0" * 64,
            "sha256:" + "f" * 64,
            "110101199003071234",
            "欧阳某",
            CANARY,
            "../" * 8 + "etc/passwd",
        ]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)

TOKENS = [
    "\n",
    " ",
    "  ",
    ": ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "'",
    '"',
    "#",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "!!python/object:os.system ",
    ".nan",
    ".inf",
    "~",
    "null",
    "true",
    "0x1F",
    "1e400",
    "2021-02-30",
    "hh.",
    "p.",
    "__class__",
    "\\u0000",
    "\t",
    "\r\n",
    "\ufeff",
    "\x00",
    "…",
    "……",
    "Ｙ",
    "→",
    f'__import__("{CANARY}")',
    f'open("{CANARY}")',
    'eval("1")',
    "lambda: 1",
    "x[0]",
    ". ",
    "..",
    "999" * 5,
]


@st.composite
def mutated_text(draw: st.DrawFn, text: str, rounds: int = 3) -> str:
    """``text`` with up to ``rounds`` cuts, repeats or insertions of tokens and random characters."""
    for _ in range(draw(st.integers(min_value=1, max_value=rounds))):
        if not text:
            text = draw(st.text(max_size=8))
            continue
        at = draw(st.integers(min_value=0, max_value=len(text)))
        span = draw(st.integers(min_value=0, max_value=min(40, len(text) - at)))
        op = draw(st.sampled_from(["cut", "repeat", "token", "chars", "swap"]))
        if op == "cut":
            text = text[:at] + text[at + span :]
        elif op == "repeat":
            text = text[: at + span] + text[at : at + span] + text[at + span :]
        elif op == "token":
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        elif op == "chars":
            text = text[:at] + draw(st.text(max_size=6)) + text[at + span :]
        else:
            other = draw(st.integers(min_value=0, max_value=len(text)))
            a, b = sorted((at, other))
            text = text[:a] + text[b : b + span] + text[a + span : b] + text[a : a + span] + text[b + span :]
    return text


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out.extend(_paths(value, (*prefix, i)))
    return out


def _replace(tree: Any, path: tuple[Any, ...], make: Any) -> Any:
    if not path:
        return make(tree)
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {k: (_replace(v, rest, make) if k == head else v) for k, v in tree.items()}
    return [(_replace(v, rest, make) if i == head else v) for i, v in enumerate(tree)]


@st.composite
def mutated_tree(draw: st.DrawFn, tree: Any, rounds: int = 2) -> Any:
    """``tree`` (decoded JSON or YAML) with up to ``rounds`` nodes replaced, dropped, renamed or added to."""
    for _ in range(draw(st.integers(min_value=1, max_value=rounds))):
        path = draw(st.sampled_from(_paths(tree)))
        op = draw(st.sampled_from(["value", "drop", "rename", "add", "wrap"]))
        if op == "value":
            tree = _replace(tree, path, _constant(draw(JSON)))
        elif op == "wrap":
            shape = draw(st.sampled_from(["list", "mapping", "text", "null"]))
            tree = _replace(
                tree,
                path,
                lambda old, shape=shape: {"list": [old], "mapping": {"zh": old}, "text": str(old), "null": None}[shape],
            )
        elif path and op in ("drop", "rename"):
            tree = _replace(tree, path[:-1], _edit(op, path[-1], draw(st.text(min_size=1, max_size=2))))
        else:
            tree = _replace(tree, path, _added(draw(st.text(max_size=10)), draw(JSON)))
    return tree


def _constant(value: Any) -> Any:
    return lambda _: value


def _edit(op: str, last: Any, suffix: str) -> Any:
    """Drop the child ``last`` of a node, or (``rename``) add ``suffix`` to its key."""

    def edit(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                (k + suffix if op == "rename" and k == last else k): v
                for k, v in node.items()
                if op == "rename" or k != last
            }
        return [v for i, v in enumerate(node) if i != last]

    return edit


def _added(key: str, value: Any) -> Any:
    """Add ``key: value`` to a mapping, or ``value`` to a list."""

    def add(node: Any) -> Any:
        if isinstance(node, dict):
            return {**node, key: value}
        return [*node, value] if isinstance(node, list) else node

    return add
