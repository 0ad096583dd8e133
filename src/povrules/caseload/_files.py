"""Opening caseload files: regular files only, bounded lines, encodings named in errors."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from povrules.errors import CaseloadError

# A household is a few kilobytes of JSON; a line this long is a broken file, not a household.
MAX_LINE = 16 * 1024 * 1024

_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
UTF8_BOM = b"\xef\xbb\xbf"


def display_name(path: str | os.PathLike[str]) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def check_regular(path: str | os.PathLike[str]) -> None:
    """Refuse what is not a regular file (a FIFO, a device such as ``/dev/zero``, a folder).

    Raises :class:`CaseloadError` naming the file. Such inputs never end, or block, and
    a batch job reading them would hang or fill memory instead of failing.
    """
    name = display_name(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise CaseloadError("no such file", name) from None
    except OSError as exc:
        raise CaseloadError(f"cannot read ({exc.strerror})", name) from None
    if stat.S_ISDIR(mode):
        raise CaseloadError("is a folder, not a caseload file", name)
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a special file"
        )
        raise CaseloadError(f"is {kind}, not a regular file; copy the caseload to a file first", name)


def open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading bytes. Raises :class:`CaseloadError`."""
    check_regular(path)
    try:
        return Path(path).open("rb")
    except OSError as exc:
        raise CaseloadError(f"cannot read ({exc.strerror})", display_name(path)) from None


def lines(stream: BinaryIO, name: str) -> Iterator[bytes]:
    """The lines of a stream (newline kept), one at a time, none longer than :data:`MAX_LINE`.

    A UTF-8 byte-order mark is dropped; a UTF-16 or UTF-32 one is refused.
    Raises :class:`CaseloadError` naming ``name:line``.
    """
    readline = stream.readline
    number = 0
    try:
        while True:
            line = readline(MAX_LINE + 1)
            if not line:
                return
            number += 1
            if number == 1:
                line = line.removeprefix(UTF8_BOM)
                for bom, encoding in _BOMS.items():
                    if line.startswith(bom):
                        raise CaseloadError(f"the file is {encoding}; save it as UTF-8", name)
            if len(line) > MAX_LINE:
                raise CaseloadError(f"the line is longer than {MAX_LINE // (1024 * 1024)} MiB", f"{name}:{number}")
            yield line
    except OSError as exc:
        raise CaseloadError(f"cannot read ({exc.strerror})", name) from None


def not_utf8(line: bytes, where: str) -> CaseloadError:
    """The error for a line that is not UTF-8, guessing the legacy Chinese encodings."""
    try:
        line.decode("gb18030")
    except UnicodeDecodeError:
        return CaseloadError("the text is not UTF-8; save the file as UTF-8", where)
    return CaseloadError(
        "the text is not UTF-8 (it looks like GBK/GB18030, Excel's default on Chinese Windows); "
        'save it as "CSV UTF-8" or convert it, e.g. iconv -f GB18030 -t UTF-8',
        where,
    )
