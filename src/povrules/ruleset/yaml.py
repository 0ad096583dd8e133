"""YAML that remembers where every value came from.

PyYAML's safe loader composes the node tree (no tags that build Python
objects); we turn it into dicts and lists that keep each value's position, so
that a load error can name ``file:line:col``. Duplicate keys are errors, not a
silent last-wins. Floats are read as exact decimals from their text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from povrules.errors import Location, RulesetError
from povrules.reading import NotUtf8


class YMap(dict[str, Any]):
    """A mapping with the location of itself, its keys and its values."""

    location: Location
    key_locations: dict[str, Location]
    nodes: dict[str, yaml.Node]

    def at(self, key: str) -> Location:
        return self.key_locations.get(key, self.location)

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled ruleset keeps its definition. Of each node only what places an error inside an
        # expression is kept: whole subtrees, and the file text every mark points into, would make
        # the pickle ten times the size of the file.
        nodes = {key: _slim(node) for key, node in self.nodes.items()}
        return (_ymap, (dict(self), self.location, self.key_locations, nodes))


class YList(list[Any]):
    location: Location
    item_locations: list[Location]


def _ymap(
    items: dict[str, Any], where: Location, key_locations: dict[str, Location], nodes: dict[str, yaml.Node]
) -> YMap:
    """A YMap from its parts: how pickle rebuilds one."""
    out = YMap(items)
    out.location, out.key_locations, out.nodes = where, key_locations, nodes
    return out


def _slim(node: yaml.Node) -> yaml.Node:
    """A node with its position, style and (for a scalar) text, without children or the file's text."""
    start, end = (yaml.Mark(m.name, m.index, m.line, m.column, None, 0) for m in (node.start_mark, node.end_mark))
    if isinstance(node, yaml.ScalarNode):
        return yaml.ScalarNode(node.tag, node.value, start, end, node.style)
    return type(node)(node.tag, [], start, end)


def location(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


# A ruleset is a few thousand values; aliases that repeat one another ("billion laughs") are refused.
MAX_VALUES = 100_000
_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_SCALAR_TAGS = frozenset({f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")})


def load_yaml(text: str, file: str) -> Any:
    """Parse one YAML document into located values."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character: the reader refuses the text before parsing
        before = text[: exc.position]
        where = Location(file, before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        raise RulesetError(f"invalid YAML: character {exc.character:#06x} is not allowed in YAML text", where) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise RulesetError("the file is empty", Location(file, 1, 1))
        return _Converter(loader, file).convert(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = location(file, mark) if mark else Location(file, 1, 1)
        raise RulesetError(f"invalid YAML: {exc.problem or exc.context}", where) from None
    except yaml.YAMLError as exc:
        raise RulesetError(f"invalid YAML: {exc}", Location(file, 1, 1)) from None
    except RecursionError:
        raise RulesetError("the YAML nests too deeply", Location(file, 1, 1)) from None
    finally:
        loader.dispose()


class _Converter:
    """Composed YAML nodes → located values, refusing tags, self-containing aliases and alias bombs."""

    def __init__(self, loader: yaml.SafeLoader, file: str):
        self.loader = loader
        self.file = file
        self.count = 0
        self.open: set[int] = set()  # the collections being converted, to catch an alias inside itself

    def convert(self, node: yaml.Node) -> Any:
        where = location(self.file, node.start_mark)
        self.count += 1
        if self.count > MAX_VALUES:
            raise RulesetError(
                f"the file holds more than {MAX_VALUES} values (do YAML aliases repeat one another?)", where
            )
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if node.tag not in _COLLECTION_TAGS:
                raise RulesetError(f"the YAML tag {node.tag!r} is not allowed: a ruleset holds plain values", where)
            if id(node) in self.open:
                raise RulesetError("a YAML alias refers to the value that contains it", where)
            self.open.add(id(node))
            try:
                return self._mapping(node) if isinstance(node, yaml.MappingNode) else self._sequence(node)
            finally:
                self.open.discard(id(node))
        if node.tag not in _SCALAR_TAGS:
            raise RulesetError(f"the YAML tag {node.tag!r} is not allowed: a ruleset holds plain values", where)
        if node.tag == "tag:yaml.org,2002:float":
            try:
                return Decimal(node.value.replace("_", ""))
            except ArithmeticError:
                raise RulesetError(f"{node.value!r} is not a decimal number", where) from None
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError):  # `2021-02-30`, `!!int x`
            raise RulesetError(f"{node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]}", where) from None

    def _mapping(self, node: yaml.MappingNode) -> YMap:
        file = self.file
        result = YMap()
        result.location = location(file, node.start_mark)
        result.key_locations, result.nodes = {}, {}
        self.loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            # Keys are names: take their text, so that `yes:` or `2021:` stay strings.
            if not isinstance(key_node, yaml.ScalarNode):
                raise RulesetError("a key must be a plain name", location(file, key_node.start_mark))
            key = key_node.value
            if key in result:
                first = result.key_locations[key]
                raise RulesetError(
                    f"duplicate key {key!r} (first at line {first.line})", location(file, key_node.start_mark)
                )
            result[key] = self.convert(value_node)
            result.key_locations[key] = location(file, key_node.start_mark)
            result.nodes[key] = value_node
        return result

    def _sequence(self, node: yaml.SequenceNode) -> YList:
        items = YList(self.convert(item) for item in node.value)
        items.location = location(self.file, node.start_mark)
        items.item_locations = [location(self.file, item.start_mark) for item in node.value]
        return items


def expression_location(file: str, source_lines: list[str], node: yaml.Node, line: int, column: int) -> Location:
    """The file position of (line, column) within the expression a scalar node holds."""
    start = node.start_mark
    if isinstance(node, yaml.ScalarNode) and node.style in (None, "'", '"') and start.line == node.end_mark.line:
        quote = 1 if node.style else 0
        return Location(file, start.line + 1, start.column + quote + column)
    if isinstance(node, yaml.ScalarNode) and node.style == "|":
        target = start.line + line  # the block starts on the line after the indicator
        value_lines = node.value.split("\n")
        if target < len(source_lines) and line <= len(value_lines):
            text = source_lines[target]
            # The block's own indentation: the file line's, less what the expression line keeps of it.
            kept = value_lines[line - 1]
            indent = (len(text) - len(text.lstrip(" "))) - (len(kept) - len(kept.lstrip(" ")))
            return Location(file, target + 1, indent + column)
    if isinstance(node, yaml.ScalarNode) and node.style in (None, ">") and line == 1:
        # A folded or multi-line plain scalar: its lines joined by single spaces.
        first_line, first_column = (start.line, start.column) if node.style is None else (start.line + 1, None)
        found = _folded_position(source_lines, first_line, first_column, node.value.rstrip("\n"), column - 1)
        if found is not None:
            return Location(file, *found)
    return Location(file, start.line + 1, start.column + 1)


def _folded_position(
    lines: list[str], first_line: int, first_column: int | None, text: str, offset: int
) -> tuple[int, int] | None:
    """Where character ``offset`` of ``text`` (file lines joined by spaces) stands in the file, if it can be told."""
    if "\n" in text:
        return None  # blank or more-indented lines keep line breaks: too irregular to map back
    pos = 0
    for i in range(first_line, len(lines)):
        raw = lines[i]
        begin = first_column if i == first_line and first_column is not None else len(raw) - len(raw.lstrip(" "))
        segment = raw[begin:].rstrip()
        if not segment.startswith(text[pos : pos + len(segment)]):
            return None
        if offset <= pos + len(segment):
            return i + 1, begin + offset - pos + 1
        pos += len(segment) + 1  # the space a line break folds into
        if pos > len(text):
            return None
    return None


def not_utf8(problem: NotUtf8) -> RulesetError:
    """A YAML file (ruleset, overlay, policy test file) that is not UTF-8, as the error its reader raises."""
    return RulesetError(problem.message, Location(problem.name, problem.line, problem.column), "save the file as UTF-8")
