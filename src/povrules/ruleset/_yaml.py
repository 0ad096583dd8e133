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


class YMap(dict[str, Any]):
    """A mapping with the location of itself, its keys and its values."""

    location: Location
    key_locations: dict[str, Location]
    nodes: dict[str, yaml.Node]

    def at(self, key: str) -> Location:
        return self.key_locations.get(key, self.location)


class YList(list[Any]):
    location: Location
    item_locations: list[Location]


def location(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def load_yaml(text: str, file: str) -> Any:
    """Parse one YAML document into located values."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise RulesetError("the file is empty", Location(file, 1, 1))
        return _convert(node, loader, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = location(file, mark) if mark else Location(file, 1, 1)
        raise RulesetError(f"invalid YAML: {exc.problem or exc.context}", where) from None
    except yaml.YAMLError as exc:
        raise RulesetError(f"invalid YAML: {exc}", Location(file, 1, 1)) from None
    finally:
        loader.dispose()


def _convert(node: yaml.Node, loader: yaml.SafeLoader, file: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        result = YMap()
        result.location = location(file, node.start_mark)
        result.key_locations, result.nodes = {}, {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            # Keys are names: take their text, so that `yes:` or `2021:` stay strings.
            if not isinstance(key_node, yaml.ScalarNode):
                raise RulesetError("a key must be a plain name", location(file, key_node.start_mark))
            key = key_node.value
            if key in result:
                first = result.key_locations[key]
                raise RulesetError(f"duplicate key {key!r} (first at line {first.line})", location(file, key_node.start_mark))
            result[key] = _convert(value_node, loader, file)
            result.key_locations[key] = location(file, key_node.start_mark)
            result.nodes[key] = value_node
        return result
    if isinstance(node, yaml.SequenceNode):
        items = YList(_convert(item, loader, file) for item in node.value)
        items.location = location(file, node.start_mark)
        items.item_locations = [location(file, item.start_mark) for item in node.value]
        return items
    if node.tag == "tag:yaml.org,2002:float":
        try:
            return Decimal(node.value.replace("_", ""))
        except ArithmeticError:
            raise RulesetError(f"{node.value!r} is not a decimal number", location(file, node.start_mark)) from None
    return loader.construct_object(node, deep=True)


def expression_location(file: str, source_lines: list[str], node: yaml.Node, line: int, column: int) -> Location:
    """The file position of (line, column) within the expression a scalar node holds."""
    start = node.start_mark
    if isinstance(node, yaml.ScalarNode) and node.style in (None, "'", '"') and start.line == node.end_mark.line:
        quote = 1 if node.style else 0
        return Location(file, start.line + 1, start.column + quote + column)
    if isinstance(node, yaml.ScalarNode) and node.style == "|":
        target = start.line + line  # the block starts on the line after the indicator
        if target < len(source_lines):
            text = source_lines[target]
            indent = len(text) - len(text.lstrip(" "))
            return Location(file, target + 1, indent + column)
    return Location(file, start.line + 1, start.column + 1)
