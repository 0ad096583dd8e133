"""Bounded reading of input files: every file povrules reads whole goes through :func:`read_bounded`.

A file named by a user (a ruleset, an ``extends`` parent, an overlay, facts, a record, a key, a
cited source) is read only if it is a regular file, and only up to a limit chosen for what it
holds: ``/dev/zero``, a FIFO, a folder or a file of many gigabytes is refused with one line naming
the file and the limit, before memory fills. JSON documents are also bounded in depth
(:func:`check_json_depth`), since parsing and walking a deeply nested document recurses.

Files read a line at a time (caseloads, decision logs) bound each line instead; see
:mod:`povrules.caseload` and :mod:`povrules.audit.log`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from itertools import accumulate
from typing import IO

from povrules.errors import PovrulesError

__all__ = [
    "MAX_DOCUMENT",
    "MAX_JSON_DEPTH",
    "MAX_KEY",
    "MAX_SOURCE",
    "MAX_YAML",
    "ReadError",
    "check_json_depth",
    "read_bounded",
]

MAX_YAML = 16 << 20
"""Bytes of one YAML file (a ruleset, a parent it extends, an overlay, a policy test file, a mapping):
a ruleset is tens of kilobytes."""
MAX_DOCUMENT = 64 << 20
"""Bytes of one JSON document (a household's facts, a decision record)."""
MAX_SOURCE = 64 << 20
"""Bytes of one cited policy source."""
MAX_KEY = 1 << 20
"""Bytes of a key file (a redaction or anchor key is tens of bytes)."""
MAX_JSON_DEPTH = 64
"""Nesting of objects and arrays in a JSON document read (a decision record nests about ten deep)."""


class ReadError(PovrulesError):
    """A file cannot be read, is not a regular file, or is larger than its limit; names the file."""

    def __init__(self, name: str, message: str):
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


class NotUtf8(ReadError):
    """A file's bytes are not UTF-8 text: ``line`` and ``column`` (from 1; the column counted in characters)
    and ``byte`` (from 0) give where the first byte that is not UTF-8 is."""

    def __init__(self, name: str, line: int, column: int, byte: int):
        self.line, self.column, self.byte = line, column, byte
        super().__init__(name, f"not UTF-8 text (byte {byte})")


def _mib(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 and limit % (1 << 20) == 0 else f"{limit} bytes"


def _special(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def read_bounded(
    source: str | os.PathLike[str] | IO[bytes], *, limit: int, what: str, name: str | None = None
) -> bytes:
    """The bytes of a regular file (or of an open binary stream, such as standard input), at most ``limit``.

    ``what`` says what the file holds, for the error (``"a ruleset"``, ``"one JSON document of facts"``);
    ``name`` is how the file is shown (default: the path, or ``<stdin>`` for a stream). Raises
    :class:`ReadError` for a missing or unreadable file, for anything that is not a regular file
    (a folder, a device such as ``/dev/zero``, a FIFO: these never end, or block; a stream given
    as such is read, bounded), and for more than ``limit`` bytes. Never reads more than
    ``limit + 1`` bytes.
    """
    if not isinstance(source, (str, os.PathLike)):
        shown = name or "<stdin>"
        try:
            data = _read_upto(source.read, limit + 1, _BLOCK)
        except OSError as exc:
            raise ReadError(shown, f"cannot read ({exc.strerror or exc})") from None
        return _within(data, limit, what, shown)
    shown = name or os.fsdecode(source)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before it is refused below.
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except IsADirectoryError:
        raise ReadError(shown, f"is a folder, not a file of {what}") from None
    except OSError as exc:
        raise ReadError(shown, f"cannot read ({exc.strerror or exc})") from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise ReadError(
                shown, f"is {_special(status.st_mode)}, not a regular file: {what} is read only from a file"
            )
        os.set_blocking(fd, True)
        # The first read asks for the file's size (plus one byte, to see a file that grew): a buffer
        # of the limit's size is never allocated for a small file.
        data = _read_upto(lambda n: os.read(fd, n), limit + 1, min(status.st_size, limit) + 1)
    except OSError as exc:
        raise ReadError(shown, f"cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    return _within(data, limit, what, shown)


def read_text(source: str | os.PathLike[str] | IO[bytes], *, limit: int, what: str, name: str | None = None) -> str:
    """The text of a UTF-8 file, read as :func:`read_bounded` reads it: the one reader of povrules' YAML files
    (rulesets, overlays, policy test files).

    Raises :class:`ReadError` as :func:`read_bounded` does, and :class:`NotUtf8` (a ``ReadError``) naming the
    line and column of the first byte that is not UTF-8.
    """
    data = read_bounded(source, limit=limit, what=what, name=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        shown = name or (os.fsdecode(source) if isinstance(source, (str, os.PathLike)) else "<stdin>")
        raise NotUtf8(shown, data.count(b"\n", 0, exc.start) + 1, column, exc.start) from None


_BLOCK = 1 << 16


def _read_upto(read: Callable[[int], bytes | None], most: int, first: int) -> bytes:
    """Up to ``most`` bytes from ``read``, asking for ``first`` bytes, then blocks, until it gives none."""
    parts: list[bytes] = []
    total, ask = 0, first
    while total < most:
        block = read(min(ask, most - total))
        if not block:
            break
        parts.append(bytes(block))
        total += len(block)
        ask = _BLOCK if total < first else max(_BLOCK, total)  # past the size hint: grow geometrically
    return b"".join(parts)


def _within(data: bytes, limit: int, what: str, shown: str) -> bytes:
    if len(data) > limit:
        raise ReadError(shown, f"more than {_mib(limit)} for {what}: not read (the limit guards memory)")
    return data


_OPEN, _CLOSE = b"[{", b"]}"
_STEP = bytes(1 if b in _OPEN else 255 if b in _CLOSE else 0 for b in range(256))
_KEEP = bytes(b for b in range(256) if b not in _OPEN + _CLOSE)
_DELTA = [1 if b == 1 else -1 if b == 255 else 0 for b in range(256)]
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def check_json_depth(data: bytes, *, limit: int = MAX_JSON_DEPTH, name: str) -> None:
    """Refuse a JSON text whose objects and arrays nest more than ``limit`` deep (:class:`ReadError`).

    Brackets inside strings are not counted. The check runs in a few passes of C code over the
    bytes, without parsing: it comes before a parser that would recurse once per level.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return
    if b'"' in data:
        data = _without_strings(data)
    brackets = data.translate(None, _KEEP).translate(_STEP)
    deepest = max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)
    if deepest > limit:
        raise ReadError(name, f"JSON nested more than {limit} deep (objects and arrays within one another): not read")


def _without_strings(data: bytes) -> bytes:
    """``data`` with the contents of its JSON strings removed (a bracket in a string is not structure)."""
    return _STRING.sub(b'""', data)
