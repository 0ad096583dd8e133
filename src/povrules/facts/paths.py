"""Fact paths: ``members[0].age`` — field names joined by dots, list indices in brackets.

The one way povrules writes a path from its steps and reads it back: in errors about facts, in policy
tests' facts, and in records' redaction and schema problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["format_path", "parse_path"]

_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*")
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def format_path(steps: Iterable[str | int]) -> str:
    """``["members", 0, "age"]`` → ``"members[0].age"``; no steps → ``""`` (callers say what the whole is).
    Raises nothing."""
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def parse_path(text: str) -> list[str | int] | None:
    """``"members[0].age"`` → ``["members", 0, "age"]``; None if the text is not a path (it raises nothing)."""
    if not _PATH.fullmatch(text):
        return None
    return [name if name else int(index) for name, index in _STEP.findall(text)]
