"""Checking that every quoted clause stands at its cited lines of its source.

The sources are web text: some carry parenthesised pinyin after characters
(``監(jiān)測(cè)``) and runs of mojibake. A quote is compared with the cited lines
after removing that pinyin and all white space; a quote may join
non-adjacent fragments with ``……``, which must appear in that order.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from povrules.reading import MAX_SOURCE, read_bounded
from povrules.ruleset.model import Citation, Ruleset

_PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]+\)")
_SPACE = re.compile(r"\s+")
ELLIPSIS = "……"


def strip_pinyin(text: str) -> str:
    """Text without its parenthesised pinyin annotations (``監(jiān)測`` → ``監測``)."""
    return _PINYIN.sub("", text)


def normalise(text: str) -> str:
    """Text as quotes are compared: pinyin annotations and white space removed."""
    return _SPACE.sub("", strip_pinyin(text))


@attrs.frozen
class CitationProblem:
    where: str
    citation: Citation
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.citation}: {self.message}"


def quote_found(quote: str, text: str) -> bool:
    """Whether every fragment of ``quote`` appears in ``text``, in order."""
    position = 0
    haystack = normalise(text)
    for fragment in quote.split(ELLIPSIS):
        needle = normalise(fragment)
        if not needle:
            continue
        found = haystack.find(needle, position)
        if found < 0:
            return False
        position = found + len(needle)
    return True


def source_path(sources: Path, file: str) -> Path | None:
    """Where a cited ``file`` is inside the folder ``sources``, or None if it would lie outside it.

    A citation names a file relative to the sources folder; an absolute path, a ``..`` step or a
    symbolic link that leads out of the folder names no source, so nothing outside is ever read.
    """
    root = sources.resolve()
    if Path(file).is_absolute() or ".." in Path(file).parts:
        return None
    path = (root / file).resolve()
    return path if path.is_relative_to(root) else None


def check_citations(ruleset: Ruleset, sources: Path) -> list[CitationProblem]:
    """Every citation of a ruleset (rules, requirements of derived figures, parameter values) checked against the files in ``sources``.

    A cited file outside ``sources`` (see :func:`source_path`), unreadable or not UTF-8 is a problem
    of its own; only regular files inside the folder are read.
    """
    cache: dict[str, list[str] | str] = {}
    problems: list[CitationProblem] = []

    def lines_of(file: str) -> list[str] | str:
        """The file's lines, or why there are none."""
        if file not in cache:
            path = source_path(sources, file)
            if path is None:
                cache[file] = f"source file {file} is outside {sources} (name it relative to that folder, without '..')"
            elif not path.exists():
                cache[file] = f"no source file {file} in {sources}"
            else:
                # A folder, device or huge file where a source should be is an error, not a finding.
                data = read_bounded(path, limit=MAX_SOURCE, what="a cited source")
                try:
                    cache[file] = data.decode("utf-8").splitlines()
                except UnicodeDecodeError as exc:
                    cache[file] = f"source file {file} cannot be read as UTF-8 text ({exc})"
        return cache[file]

    items: list[tuple[str, Citation]] = []
    for rule in ruleset.rules.values():
        if rule.citation:
            items.append((f"{rule.location} rule {rule.id!r}", rule.citation))
    for derived in ruleset.derived.values():
        for index, requirement in enumerate(derived.requires):
            if requirement.citation:
                items.append((f"{derived.location} requirement {index + 1} of derived fact {derived.name!r}",
                              requirement.citation))
    for parameter in ruleset.parameters.values():
        for value in parameter.values:
            if value.citation:
                items.append((f"{parameter.location} parameter {parameter.name!r} from {value.start}", value.citation))
    for where, citation in items:
        lines = lines_of(citation.file)
        if isinstance(lines, str):
            problems.append(CitationProblem(where, citation, lines))
        elif citation.end_line > len(lines):
            problems.append(CitationProblem(where, citation, f"the source has only {len(lines)} lines"))
        elif not quote_found(citation.quote, "\n".join(lines[citation.line - 1:citation.end_line])):
            problems.append(CitationProblem(where, citation, f"quote not found at the cited lines: 「{citation.quote}」"))
    return problems
