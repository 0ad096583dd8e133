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


def normalise(text: str) -> str:
    """Text as quotes are compared: pinyin annotations and white space removed."""
    return _SPACE.sub("", _PINYIN.sub("", text))


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


def check_citations(ruleset: Ruleset, sources: Path) -> list[CitationProblem]:
    """Every citation of a ruleset (rules and parameter values) checked against the files in ``sources``."""
    cache: dict[str, list[str] | None] = {}
    problems: list[CitationProblem] = []

    def lines_of(file: str) -> list[str] | None:
        if file not in cache:
            path = sources / file
            # A missing source is a finding; a folder, device or huge file where a source should be is an error.
            cache[file] = (read_bounded(path, limit=MAX_SOURCE, what="a cited source").decode("utf-8").splitlines()
                           if path.exists() else None)
        return cache[file]

    items: list[tuple[str, Citation]] = []
    for rule in ruleset.rules.values():
        if rule.citation:
            items.append((f"{rule.location} rule {rule.id!r}", rule.citation))
    for parameter in ruleset.parameters.values():
        for value in parameter.values:
            if value.citation:
                items.append((f"{parameter.location} parameter {parameter.name!r} from {value.start}", value.citation))
    for where, citation in items:
        lines = lines_of(citation.file)
        if lines is None:
            problems.append(CitationProblem(where, citation, f"no source file {citation.file} in {sources}"))
        elif citation.end_line > len(lines):
            problems.append(CitationProblem(where, citation, f"the source has only {len(lines)} lines"))
        elif not quote_found(citation.quote, "\n".join(lines[citation.line - 1:citation.end_line])):
            problems.append(CitationProblem(where, citation, f"quote not found at the cited lines: 「{citation.quote}」"))
    return problems
