"""The policy source documents: their titles in both languages and the outline of their sections.

A citation names a source file and a line (``002_f25b4d77f22fc531.txt:293``); a reader wants the
document and the section: 《关于脱贫攻坚行动报告（六篇）》第4篇 第二部分（三）. The titles are
written here; the outlines (篇, 一、, （一） headings with the lines they span) are package data,
``data/sources.json``, generated from the source files by::

    python -m povrules.sources SEEDS_FOLDER -o src/povrules/data/sources.json

and checked against the files by the tests whenever the folder is present. The data records each
file's SHA-256, so an outline is never applied to a file that has changed.

Public API: :func:`source_title`, :func:`section`, :func:`section_label`, :func:`citation_text`,
:func:`outline` (the outline of a text), :data:`TITLES`, :class:`Heading`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import attrs

from povrules.citations import normalise, strip_pinyin
from povrules.facts.titles import Title
from povrules.wording import check_lang

TITLES: Final[Mapping[str, Title]] = {
    "000_db37dc96bf620943.txt": (
        "精准扶贫工作实施方案范文（十四篇）",
        "Implementation plans for targeted poverty alleviation (fourteen model texts)",
    ),
    "001_75e9794d5161ca6f.txt": (
        "三明市深化精准扶贫2015-2018年行动计划",
        "Sanming City action plan for deepening targeted poverty alleviation, 2015–2018",
    ),
    "002_f25b4d77f22fc531.txt": (
        "关于脱贫攻坚行动报告（六篇）",
        "Reports on the campaign against poverty (six pieces)",
    ),
    "003_e3e29ff1be94684a.txt": (
        "脫貧戶幫扶措施方案（二十篇）",
        "Plans of assistance for households out of poverty (twenty pieces)",
    ),
    "004_7f98d1df0b5d5fce.txt": (
        "扶贫工作总结与讲话（五篇）",
        "Summaries and speeches on poverty-alleviation work (five pieces)",
    ),
}
"""Each policy source file's title, ``(zh, en)``; the Chinese as the document (or its compilation) names itself."""

PIECE, PART, ITEM = 1, 2, 3
"""Heading levels: a piece of a compilation (第N篇), a part (一、), an item (（一））."""


@attrs.frozen
class Heading:
    """One heading of a source: its level, its number, its title and the lines it spans (1-based, inclusive)."""

    level: int
    number: int
    title: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMERAL = "[一二三四五六七八九十〇零两]+"


def _number(text: str) -> int:
    """A Chinese numeral up to 99 (十二, 二十, 三十五) or Arabic digits as an int."""
    if text.isdigit():
        return int(text)
    tens, _, units = text.partition("十")
    if "十" not in text:
        return _DIGITS[text]
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[units] if units else 0)


def _chinese(number: int) -> str:
    """An int up to 99 as a Chinese numeral (for part labels: 第三部分)."""
    units = "〇一二三四五六七八九"
    if number < 10:
        return units[number]
    tens, unit = divmod(number, 10)
    return ("" if tens == 1 else units[tens]) + "十" + (units[unit] if unit else "")


# A piece's heading: 第一篇:10年扶贫成果; 精准扶贫工作实施方案篇一 (also run on at the end of the
# previous paragraph, after its full stop), 关于脱贫攻坚行动报告 篇1; 脫貧戶幫扶措施方案 1 (a number set
# apart by a space, which the other patterns read without white space).
_PIECE_PATTERNS = (
    re.compile(rf"^第(?P<n>{_NUMERAL}|\d+)篇[:：]?(?P<t>.+)$"),
    re.compile(rf"(?:^|。)(?P<t>[^。]{{2,40}}?)篇(?P<n>{_NUMERAL}|\d+)$"),
)
_NUMBERED_PIECE = re.compile(r"^(?P<t>[^\d\s，,。]{4,40})\s+(?P<n>\d{1,2})$")
_PART = re.compile(rf"^(?P<n>{_NUMERAL})、(?P<t>.*)$")
_ITEM = re.compile(rf"^[（(](?P<n>{_NUMERAL})[）)](?P<t>.*)$")
_TITLE_END = re.compile(r"[。；;：:，,！!？?�]")
_TITLE_MAX = 40


def _title(text: str) -> str:
    """A heading's title: its text up to the first full stop, colon or comma (a heading may run on
    into its paragraph), at most 40 characters."""
    return _TITLE_END.split(text, maxsplit=1)[0].strip()[:_TITLE_MAX]


def outline(text: str) -> list[Heading]:
    """The headings of a source text, in order, each with the lines it spans.

    Lines are read with pinyin annotations and white space removed (as quotes are). A piece ends
    where the next piece begins, a part at the next part or piece, an item at the next heading of
    any level above it or its own; the last ones at the end of the text.
    """
    lines = text.splitlines()
    found: list[tuple[int, int, str, int]] = []  # (level, number, title, line)
    for index, raw in enumerate(lines, start=1):
        line = normalise(raw)
        spaced = strip_pinyin(raw).strip()
        if not line:
            continue
        match = _PART.match(line)
        if match:
            found.append((PART, _number(match["n"]), _title(match["t"]), index))
            continue
        match = _ITEM.match(line)
        if match:
            found.append((ITEM, _number(match["n"]), _title(match["t"]), index))
            continue
        for pattern in _PIECE_PATTERNS:
            match = pattern.search(line)
            if match and _title(match["t"]) == match["t"].strip():
                break
        else:
            match = _NUMBERED_PIECE.match(spaced)
        if match:
            found.append((PIECE, _number(match["n"]), match["t"].strip(), index))
    headings = []
    for position, (level, number, title, start) in enumerate(found):
        end = next((later[3] - 1 for later in found[position + 1 :] if later[0] <= level), len(lines))
        headings.append(Heading(level, number, title, start, end))
    return headings


def generate(folder: Path) -> dict[str, Any]:
    """The package data for the source files in ``folder`` that have a title: each file's SHA-256,
    line count and outline.

    Raises:
        FileNotFoundError: when a titled file is missing from ``folder``.
    """
    out: dict[str, Any] = {}
    for name in sorted(TITLES):
        data = (folder / name).read_bytes()
        text = data.decode("utf-8")
        out[name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "lines": len(text.splitlines()),
            "outline": [h.to_dict() for h in outline(text)],
        }
    return out


@cache
def _data() -> Mapping[str, tuple[Heading, ...]]:
    raw = json.loads(files("povrules").joinpath("data/sources.json").read_text(encoding="utf-8"))
    return {name: tuple(Heading(**h) for h in entry["outline"]) for name, entry in raw.items()}


def source_title(file: str, lang: str) -> str | None:
    """The title of a source file in ``lang``, or ``None`` for a file this library does not know.

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
    """
    title = TITLES.get(file)
    if title is None:
        return None
    return title[0] if check_lang(lang) == "zh" else title[1]


def section(file: str, line: int) -> tuple[Heading, ...]:
    """The headings whose sections hold ``line`` of ``file``, outermost first (empty for a line
    before the first heading, or a file this library does not know)."""
    return tuple(h for h in _data().get(file, ()) if h.start <= line <= h.end)


def section_label(headings: Sequence[Heading], lang: str) -> str:
    """A section by its numbers: 第4篇第二部分（三） / piece 4, part 2, item 3 (empty for no heading).

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
    """
    zh = check_lang(lang) == "zh"
    parts = []
    for heading in headings:
        if heading.level == PIECE:
            parts.append(f"第{heading.number}篇" if zh else f"piece {heading.number}")
        elif heading.level == PART:
            parts.append(f"第{_chinese(heading.number)}部分" if zh else f"part {heading.number}")
        else:
            parts.append(f"（{_chinese(heading.number)}）" if zh else f"item {heading.number}")
    return "".join(parts) if zh else ", ".join(parts)


def citation_text(file: str, line: int, lang: str, end_line: int | None = None) -> str:
    """A citation as a reader reads it: the document by its title, the section, then file and lines:
    《关于脱贫攻坚行动报告（六篇）》第4篇第二部分（三）（002_f25b4d77f22fc531.txt:293）. A file this
    library does not know is named by its file and lines alone.

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"``.
    """
    where = f"{file}:{line}" + (f"-{end_line}" if end_line not in (None, line) else "")
    title = source_title(file, lang)
    if title is None:
        return where
    label = section_label(section(file, line), lang)
    if lang == "zh":
        return f"《{title}》{label}（{where}）"
    return f"“{title}”" + (f", {label}" if label else "") + f" ({where})"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m povrules.sources SEEDS [-o FILE]``: write the package data of the sources' outlines."""
    parser = argparse.ArgumentParser(prog="python -m povrules.sources", description=main.__doc__)
    parser.add_argument("folder", type=Path, help="the folder of the policy source files")
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    args = parser.parse_args(argv)
    try:
        text = json.dumps(generate(args.folder), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    except (OSError, UnicodeDecodeError) as exc:
        print(f"python -m povrules.sources: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
