"""The column-mapping file: a ledger's own column headers → fact paths, and rows → facts.

A county ledger (台账) names its columns in its own words (户编号, 人均纯收入（元）…). The
mapping file says which fact each column holds; the type of every fact is looked up in the
facts' JSON Schema when the mapping is loaded, so a typo in a path is an error naming the
mapping file's line before any row is read. See docs/caseloads.md for the format.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple

import attrs

from povrules.errors import CaseloadError, RulesetError, UnknownSubject
from povrules.facts import SUBJECTS, facts_schema

__all__ = ["Column", "Item", "Mapping", "load_mapping"]


class Item(NamedTuple):
    """One subject read from a caseload.

    ``where`` locates it for error messages (``file:line``, ``file:sheet!row``, ``file:row N``).
    ``data`` is the raw JSON line (``bytes``, for ``model_validate_json``) from JSON Lines, or a
    dict in the facts' JSON shape (for ``model_validate``) from the other formats.
    """

    where: str
    data: bytes | dict[str, Any]


Kind = Literal["string", "integer", "decimal", "boolean", "date", "enum", "list", "objects"]
ROW_KINDS = ("household", "member")
_TOP_KEYS = ("sheet", "rows", "household_id", "header_row", "columns")
_COLUMN_KEYS = ("fact", "values", "empty", "separator")
TRUE_TEXT = frozenset({"是", "true", "True", "TRUE", "1"})
FALSE_TEXT = frozenset({"否", "false", "False", "FALSE", "0"})
DEFAULT_SEPARATORS = ";；、"
# How many finished households member-row mode remembers to catch one whose rows are not
# contiguous. Remembering every id would make memory grow with the file.
RECENT_IDS = 4096
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d*)\])?\Z")
_DATE = re.compile(r"(\d{4})(?:-|/|\.|年)(\d{1,2})(?:-|/|\.|月)(\d{1,2})日?\Z")
_INTEGER = re.compile(r"[+-]?\d+\Z")
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?\Z")
_SPACE = re.compile(r"\s+")


def header_key(text: Any) -> str:
    """A header as matched: whitespace removed, since Excel headers often break lines (Alt+Enter)."""
    return _SPACE.sub("", str(text)) if text is not None else ""


class _Bad(Exception):
    """A cell that does not fit its column: what was expected (the caller adds where)."""

    def __init__(self, expected: str):
        self.expected = expected


@attrs.frozen
class Column:
    """One mapped column: its header, the fact path, and how its cells become JSON values."""

    header: str
    fact: str
    steps: tuple[tuple[str, int], ...]  # (name, slot): slot 0 for a plain field, N ≥ 1 for list item N
    member: bool  # a members[] column in member-row mode: steps are then relative to the member
    kind: Kind
    item_kind: Kind | None
    choices: tuple[Any, ...] | None
    minimum: Decimal | None
    maximum: Decimal | None
    values: dict[str, Any]
    empty: str | None
    separators: str
    origin: str  # mapping file:line:column

    def convert(self, cell: Any) -> Any:
        """The JSON value of a cell, or ``None`` for an empty cell (the fact stays unknown).

        Raises ``_Bad`` with what was expected.
        """
        if cell is None:
            return None
        if isinstance(cell, str):
            cell = cell.strip()
            if not cell:
                return None
        if self.kind == "list":
            return self._list(cell)
        if self.kind == "objects":
            if isinstance(cell, str) and cell == self.empty:
                return []
            raise _Bad(f"{self.empty!r} (none) or an empty cell")
        if self.values:
            hit = self.values.get(_key(cell))
            if hit is not None:
                return hit
        return _convert(self, self.kind, cell)

    def _list(self, cell: Any) -> list[Any]:
        text = _as_text(cell)
        if self.empty is not None and text == self.empty:
            return []
        out = []
        for part in re.split(f"[{re.escape(self.separators)}]", text) if self.separators else [text]:
            part = part.strip()
            if not part:
                continue
            hit = self.values.get(part)
            out.append(hit if hit is not None else _convert(self, self.item_kind or "string", part))
        return out

    def expected(self) -> str:
        """What a cell of this column should hold, in words."""
        return _expected(self, self.kind)


def _key(cell: Any) -> str:
    if isinstance(cell, bool):
        return "true" if cell else "false"
    return _as_text(cell)


def _as_text(cell: Any) -> str:
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        raise _Bad("text")
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        if not math.isfinite(cell):
            raise _Bad("a finite number")
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, Decimal):
        return format(cell, "f")
    if isinstance(cell, datetime):
        return cell.isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    raise _Bad("text")


def _convert(col: Column, kind: Kind, cell: Any) -> Any:
    try:
        if kind == "string":
            return _as_text(cell)
        if kind == "enum":
            text = _as_text(cell)
            if col.choices is not None and text in col.choices:
                return text
        elif kind == "decimal":
            return _decimal(col, cell)
        elif kind == "integer":
            return _integer(col, cell)
        elif kind == "boolean":
            if isinstance(cell, bool):
                return cell
            text = _as_text(cell)
            if text in TRUE_TEXT:
                return True
            if text in FALSE_TEXT:
                return False
        elif kind == "date":
            return _date(cell)
    except _Bad:
        pass
    raise _Bad(_expected(col, kind))


def _decimal(col: Column, cell: Any) -> str:
    if isinstance(cell, bool):
        raise _Bad("")
    if isinstance(cell, Decimal):
        number = cell.normalize() if cell.is_finite() else cell  # decimal128(14, 2) gives 6120.00 for 6120
    else:
        text = _as_text(cell)
        if _GROUPED.match(text):  # 42,000.50: thousands separators as ledgers print them
            text = text.replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise _Bad("") from None
    if not number.is_finite():
        raise _Bad("")
    if (col.minimum is not None and number < col.minimum) or (col.maximum is not None and number > col.maximum):
        raise _Bad("")
    return format(number, "f")


def _integer(col: Column, cell: Any) -> int:
    if isinstance(cell, bool):
        raise _Bad("")
    if isinstance(cell, int):
        number = cell
    elif isinstance(cell, (float, Decimal)):
        if not (math.isfinite(cell) and cell == int(cell)):
            raise _Bad("")
        number = int(cell)
    elif isinstance(cell, str) and _INTEGER.match(cell):
        number = int(cell)
    else:
        raise _Bad("")
    if (col.minimum is not None and number < col.minimum) or (col.maximum is not None and number > col.maximum):
        raise _Bad("")
    return number


def _date(cell: Any) -> str:
    if isinstance(cell, datetime):
        if cell.time() != time(0, 0):
            raise _Bad("")
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, str):
        found = _DATE.match(cell)
        if found:
            try:
                return date(int(found[1]), int(found[2]), int(found[3])).isoformat()
            except ValueError:
                pass
    raise _Bad("")


def _expected(col: Column, kind: Kind) -> str:
    mapped = ", ".join(k for k in col.values)
    if kind == "string":
        return "text"
    if kind == "decimal":
        bounds = f" from {col.minimum}" if col.minimum is not None else ""
        bounds += f" to {col.maximum}" if col.maximum is not None else ""
        return f"a number{bounds}, e.g. 6120 or 6120.50"
    if kind == "integer":
        bounds = f" from {col.minimum}" if col.minimum is not None else ""
        bounds += f" to {col.maximum}" if col.maximum is not None else ""
        return f"a whole number{bounds}"
    if kind == "boolean":
        return f"{mapped} (or 是/否, true/false)" if mapped else "是 or 否 (or true/false)"
    if kind == "date":
        return "a date: a date cell, or text such as 2021-05-20"
    if kind == "enum":
        choices = ", ".join(str(c) for c in col.choices or ())
        return f"one of {mapped} (or {choices})" if mapped else f"one of {choices}"
    if kind == "list":
        sep = " ".join(col.separators)
        none = f"; {col.empty!r} for none" if col.empty is not None else ""
        return f"items separated by {sep}, each {_expected(col, col.item_kind or 'string')}{none}"
    return f"{col.empty!r} (none) or an empty cell"


# ---------------------------------------------------------------------------------------------
# The facts' JSON Schema: what each path names.


class _Schema:
    def __init__(self, subject: str):
        self.root = facts_schema(subject)
        self.defs = self.root.get("$defs", {})

    def node(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow references, and drop the ``null`` option every optional fact has."""
        while True:
            if "$ref" in node:
                node = self.defs[node["$ref"].rsplit("/", 1)[1]]
            elif "anyOf" in node:
                options = [o for o in node["anyOf"] if o.get("type") != "null"]
                if len(options) != 1:
                    return node
                node = options[0]
            else:
                return node

    def paths(self) -> dict[str, str]:
        """Every fact path (``members[].age``) → its Chinese label, for suggestions."""
        out: dict[str, str] = {}

        def walk(node: dict[str, Any], prefix: str, depth: int) -> None:
            node = self.node(node)
            if depth > 6:
                return
            for name, sub in node.get("properties", {}).items():
                path = f"{prefix}.{name}" if prefix else name
                out[path] = sub.get("zh", "")
                target = self.node(sub)
                if target.get("type") == "array" and "properties" in self.node(target.get("items", {})):
                    out[path + "[]"] = sub.get("zh", "")
                    walk(target["items"], path + "[]", depth + 1)
                elif "properties" in target:
                    walk(target, path, depth + 1)

        walk(self.root, "", 0)
        return out


def _judged(node: dict[str, Any]) -> bool:
    return set(node.get("properties", {})) >= {"value", "by", "on"}


def _leaf(
    schema: _Schema, node: dict[str, Any]
) -> tuple[Kind, Kind | None, tuple[Any, ...] | None, Decimal | None, Decimal | None]:
    """(kind, item kind, choices, minimum, maximum) of a fact's schema node."""
    node = schema.node(node)
    if "anyOf" in node:
        number = next((o for o in node["anyOf"] if o.get("type") in ("number", "integer")), None)
        if number is not None:  # money: a number, or the same as text
            return "decimal", None, None, _bound(number, "minimum"), _bound(number, "maximum")
        return "string", None, None, None, None
    if "enum" in node:
        return "enum", None, tuple(node["enum"]), None, None
    kind = node.get("type")
    if kind == "boolean":
        return "boolean", None, None, None, None
    if kind == "integer":
        return "integer", None, None, _bound(node, "minimum"), _bound(node, "maximum")
    if kind == "number":
        return "decimal", None, None, _bound(node, "minimum"), _bound(node, "maximum")
    if kind == "string":
        return ("date" if node.get("format") == "date" else "string"), None, None, None, None
    if kind == "array":
        items = schema.node(node.get("items", {}))
        if "properties" in items:
            return "objects", None, None, None, None
        item_kind, _, choices, low, high = _leaf(schema, items)
        return "list", item_kind, choices, low, high
    raise ValueError("not a leaf")


def _bound(node: dict[str, Any], key: str) -> Decimal | None:
    value = node.get(key)
    return None if value is None else Decimal(str(value))


# ---------------------------------------------------------------------------------------------
# Loading the mapping file.


class _PathProblem(Exception):
    pass


@attrs.frozen
class Mapping:
    """A loaded mapping file: which column holds which fact, and how rows make up a subject."""

    file: str
    subject: str
    sheet: str | None
    rows: Literal["household", "member"]
    household_id: str | None
    header_row: int | None  # None: the first row that is not blank
    columns: tuple[Column, ...]

    def read(self, rows: Iterator[tuple[int, Sequence[Any]]], locate: Locator, file: str) -> Iterator[Item]:
        """The subjects of a file's rows ``(row number, cells)``; the header row is read at once.

        Raises :class:`CaseloadError` here for a missing header row or column, and while
        iterating for a bad cell or a household whose rows are not together.
        """
        for number, cells in rows:
            if self.header_row is None:
                if any(not _blank(c) for c in cells):
                    break
            elif number >= self.header_row:
                if number != self.header_row:
                    raise CaseloadError(f"header_row: no row starts at {self.header_row}", locate.row(number))
                break
        else:
            where = "no header row" if self.header_row is None else f"no row {self.header_row} (header_row)"
            raise CaseloadError(f"{where}: the file has no rows", file)
        return self.bind(cells, locate, locate.row(number)).subjects(rows)

    def bind(self, header: Sequence[Any], locate: Locator, where: str) -> _Bound:
        """Match the mapping's headers to a file's header row (``where`` locates that row).

        Raises :class:`CaseloadError` for a mapped header the file lacks (with the file's
        closest headers) or one it has twice.
        """
        keys = [header_key(h) for h in header]
        positions: dict[str, int] = {}
        twice: set[str] = set()
        for position, key in enumerate(keys):
            if key:
                if key in positions:
                    twice.add(key)
                positions.setdefault(key, position)
        bound = []
        for col in self.columns:
            key = header_key(col.header)
            if key not in positions:
                raise CaseloadError(
                    f"no column {col.header!r} in the header row (the mapping names it at {col.origin})"
                    + did_you_mean(key, [k for k in keys if k]),
                    where,
                )
            if key in twice:
                raise CaseloadError(f"the header row has two columns {col.header!r}; rename one", where)
            bound.append((positions[key], col))
        id_position = None
        if self.rows == "member":
            assert self.household_id is not None
            key = header_key(self.household_id)
            if key not in positions:
                raise CaseloadError(
                    f"no column {self.household_id!r} (household_id) in the header row"
                    + did_you_mean(key, [k for k in keys if k]),
                    where,
                )
            id_position = positions[key]
        return _Bound(self, tuple(bound), id_position, locate)


def load_mapping(path: str | os.PathLike[str], subject: str = "household") -> Mapping:
    """Load a column-mapping file (YAML) and check every fact path against the subject's schema.

    Raises :class:`~povrules.errors.UnknownSubject` for a subject there is none of, and
    :class:`CaseloadError` naming ``file:line:column`` for an unknown key, an unknown
    fact path (with a did-you-mean), a ``values`` entry that does not fit its fact, or bad YAML.
    """
    from povrules.caseload._files import check_regular
    from povrules.reading import MAX_YAML, ReadError, read_bounded
    from povrules.ruleset.yaml import YMap, load_yaml

    if subject not in SUBJECTS:
        raise UnknownSubject(subject, SUBJECTS)
    name = str(path)
    check_regular(path)
    try:
        text = read_bounded(path, limit=MAX_YAML, what="a column mapping", name=name).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CaseloadError("the mapping file is not UTF-8; save it as UTF-8", name) from None
    except ReadError as exc:
        raise CaseloadError(exc.message, name) from None
    try:
        doc = load_yaml(text, name)
    except RulesetError as exc:
        hint = ""
        if "got '['" in exc.message:  # YAML reads [ inside { … } as the start of a list
            hint = (
                '; inside { … } on one line, quote a path with brackets ({fact: "members[].age", …}) '
                "or write the column's keys on lines of their own"
            )
        raise CaseloadError(exc.message + hint, str(exc.location) if exc.location else name) from None
    if not isinstance(doc, YMap):
        raise CaseloadError("a mapping file is a YAML mapping with a 'columns' key", f"{name}:1:1")
    for key in doc:
        if key not in _TOP_KEYS:
            raise CaseloadError(f"unknown key {key!r}" + did_you_mean(key, _TOP_KEYS), str(doc.at(key)))
    rows = doc.get("rows", "household")
    if rows not in ROW_KINDS:
        raise CaseloadError(f"rows: expected household or member, got {rows!r}", str(doc.at("rows")))
    if rows == "member" and subject != "household":
        raise CaseloadError("rows: member is for households (one row per member)", str(doc.at("rows")))
    sheet = doc.get("sheet")
    if sheet is not None and not isinstance(sheet, (str, int)):
        raise CaseloadError("sheet: expected a sheet's name", str(doc.at("sheet")))
    header_row = doc.get("header_row")
    if header_row is not None and (isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1):
        raise CaseloadError("header_row: expected a row number, 1 or more", str(doc.at("header_row")))
    columns_doc = doc.get("columns")
    if not isinstance(columns_doc, YMap) or not columns_doc:
        raise CaseloadError("columns: expected a mapping from column headers to facts", str(doc.at("columns")))
    schema = _Schema(subject)
    columns: list[Column] = []
    seen: dict[str, str] = {}
    for header, spec in columns_doc.items():
        col = _column(schema, header, spec, columns_doc, rows == "member", name)
        if col.fact in seen:
            raise CaseloadError(f"{col.fact} is already mapped from column {seen[col.fact]!r}", col.origin)
        seen[col.fact] = header
        columns.append(col)
    household_id = doc.get("household_id")
    if household_id is not None and not isinstance(household_id, str):
        raise CaseloadError("household_id: expected a column header", str(doc.at("household_id")))
    if household_id is None:
        household_id = next((c.header for c in columns if c.fact == "id"), None)
    if rows == "member" and household_id is None:
        raise CaseloadError(
            "rows: member needs household_id: the column that tells the households apart", str(doc.at("rows"))
        )
    return Mapping(name, subject, None if sheet is None else str(sheet), rows, household_id, header_row, tuple(columns))


def _column(schema: _Schema, header: str, spec: Any, doc: Any, member_rows: bool, file: str) -> Column:
    from povrules.ruleset.yaml import YMap, location

    origin = str(location(file, doc.nodes[header].start_mark)) if header in doc.nodes else str(doc.at(header))
    values: dict[str, Any] = {}
    empty = None
    separators = DEFAULT_SEPARATORS
    if isinstance(spec, YMap):
        for key in spec:
            if key not in _COLUMN_KEYS:
                raise CaseloadError(f"unknown key {key!r}" + did_you_mean(key, _COLUMN_KEYS), str(spec.at(key)))
        if "fact" not in spec:
            raise CaseloadError("a column's entry needs 'fact:', the fact path it holds", str(spec.location))
        fact = spec["fact"]
        origin = str(location(file, spec.nodes["fact"].start_mark))
        raw_values = spec.get("values") or {}
        if not isinstance(raw_values, dict):
            raise CaseloadError("values: expected a mapping from cell text to a fact's value", str(spec.at("values")))
        empty = spec.get("empty")
        if empty is not None:
            empty = str(empty).strip()
        if "separator" in spec:
            separators = str(spec["separator"])
    else:
        fact, raw_values = spec, {}
    if not isinstance(fact, str) or not fact.strip():
        raise CaseloadError(f"column {header!r}: expected a fact path such as income.per_capita_net", origin)
    fact = fact.strip()
    try:
        steps, member, node = _resolve(schema, fact, member_rows)
        kind, item_kind, choices, low, high = _leaf(schema, node)
    except _PathProblem as exc:
        raise CaseloadError(f"column {header!r}: {exc}", origin) from None
    if empty is not None and kind not in ("list", "objects"):
        raise CaseloadError(f"empty: only a list fact can be empty, and {fact} is not a list", origin)
    if kind == "objects" and empty is None:
        raise CaseloadError(
            f"column {header!r}: {fact} is a list of groups of facts; map its items' fields "
            f"({fact}[1].…, {fact}[2].…), or give this column 'empty:', the text that means none",
            origin,
        )
    col = Column(header, fact, steps, member, kind, item_kind, choices, low, high, {}, empty, separators, origin)
    for text, target in raw_values.items():
        where = str(raw_values.at(text)) if isinstance(raw_values, YMap) else origin
        try:
            value = col.convert(target) if kind != "list" else _convert(col, item_kind or "string", target)
        except _Bad as exc:
            raise CaseloadError(
                f"values: {text!r} maps to {target!r}, but {fact} takes {exc.expected}", where
            ) from None
        values[str(text).strip()] = value
    return attrs.evolve(col, values=values)


def _resolve(schema: _Schema, fact: str, member_rows: bool) -> tuple[tuple[tuple[str, int], ...], bool, dict[str, Any]]:
    """The steps of a fact path and its schema node. Raises ``_PathProblem`` with a did-you-mean."""
    node = schema.node(schema.root)
    steps: list[tuple[str, int]] = []
    member = False
    parts = fact.split(".")
    for number, part in enumerate(parts):
        found = _STEP.match(part)
        if not found:
            labelled = [
                p for p, zh in schema.paths().items() if zh == fact
            ]  # a fact's Chinese label given for its path
            raise _PathProblem(
                f"{fact!r} is not a fact path (names joined by dots, e.g. income.per_capita_net)"
                + _did_you_mean_text(labelled[:3])
            )
        name, index = found[1], found[2]
        props = node.get("properties", {})
        done = ".".join(parts[:number])
        if name not in props:
            where = f"{done} has no field {name!r}" if done else f"no fact {name!r}"
            raise _PathProblem(f"unknown fact {fact}: {where}" + _suggest(schema, fact, name, done, props))
        sub = schema.node(props[name])
        last = number == len(parts) - 1
        if index is None:
            if sub.get("type") == "array" and not last:
                raise _PathProblem(
                    f"{'.'.join(parts[: number + 1])} is a list: write {name}[1] for its first item"
                    + (f", or {name}[] with rows: member" if name == "members" else "")
                )
            steps.append((name, 0))
            node = sub
            continue
        if sub.get("type") != "array":
            raise _PathProblem(f"{'.'.join(parts[: number + 1])} is not a list")
        item = schema.node(sub.get("items", {}))
        if last or "properties" not in item:
            raise _PathProblem(f"{name}[…] must be followed by one of its items' fields, e.g. {name}[1].…")
        if index == "":
            if not (member_rows and number == 0 and name == "members"):
                raise _PathProblem(
                    "[] means one item per row: only members[] with rows: member; "
                    f"write {name}[1], {name}[2] … for items in columns"
                )
            member = True
        else:
            slot = int(index)
            if slot < 1:
                raise _PathProblem(f"items count from 1: {name}[1] is the first")
            steps.append((name, slot))
        node = item
    if "properties" in node and _leaf_kind_is_group(node):
        if _judged(node):
            raise _PathProblem(
                f"{fact} is a judged fact: map its parts, {fact}.value, {fact}.by, {fact}.on (and {fact}.evidence)"
            )
        fields = ", ".join(list(node["properties"])[:6])
        raise _PathProblem(f"{fact} is a group of facts; map one of its fields ({fields} …)")
    return tuple(steps), member, node


def _leaf_kind_is_group(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" or "properties" in node


def _suggest(schema: _Schema, fact: str, name: str, done: str, props: dict[str, Any]) -> str:
    # The same field elsewhere first (age → members[].age: a level left out), then near spellings.
    paths = schema.paths()
    by_name = [p for p in paths if p.rsplit(".", 1)[-1] == name and not p.endswith("[]")]
    close = [f"{done}.{c}" if done else c for c in difflib.get_close_matches(name, list(props), n=3, cutoff=0.6)]
    candidates = by_name or close or difflib.get_close_matches(fact, list(paths), n=3, cutoff=0.6)
    return _did_you_mean_text(candidates[:3])


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean X or Y?" for the close matches of a word among choices, or "" when none is close."""
    return _did_you_mean_text(difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5))


def _did_you_mean_text(candidates: Sequence[str]) -> str:
    if not candidates:
        return ""
    return "; did you mean " + " or ".join(candidates) + "?"


# ---------------------------------------------------------------------------------------------
# Rows → subjects.


class Locator:
    """How a file names its rows and cells in messages."""

    def row(self, number: int) -> str:
        raise NotImplementedError

    def cell(self, number: int, position: int) -> str:
        return self.row(number)


class _Slots(dict[int, dict[str, Any]]):
    """Items of a list given in numbered columns (vehicles[1], vehicles[2]); compacted at the end."""


def _put(target: dict[str, Any], steps: tuple[tuple[str, int], ...], value: Any) -> None:
    for name, slot in steps[:-1]:
        if slot:
            items = target.get(name)
            if items is None:
                items = target[name] = _Slots()
            elif not isinstance(items, _Slots):
                raise _Bad(f"no items: another column says {name} is none")
            target = items.setdefault(slot, {})
        else:
            target = target.setdefault(name, {})
    name = steps[-1][0]
    if isinstance(target.get(name), _Slots):
        raise _Bad(f"none, but other columns give items of {name}")
    target[name] = value


def _finish(value: Any) -> Any:
    if isinstance(value, _Slots):
        return [_finish(item) for _, item in sorted(value.items())]
    if isinstance(value, dict):
        return {k: _finish(v) for k, v in value.items()}
    return value


class _Bound:
    """A mapping matched to one file's header row: turns its rows into subjects."""

    def __init__(
        self, mapping: Mapping, columns: tuple[tuple[int, Column], ...], id_position: int | None, locate: Locator
    ):
        self.mapping = mapping
        self.household = tuple((p, c) for p, c in columns if not c.member)
        self.members = tuple((p, c) for p, c in columns if c.member)
        self.id_position = id_position
        self.locate = locate
        self.slots = any(slot for _, c in columns for _, slot in c.steps)
        self.width = max([p for p, _ in columns] + [id_position or 0]) + 1

    def _cell(self, number: int, position: int, col: Column, cells: Sequence[Any]) -> Any:
        try:
            return col.convert(cells[position])
        except _Bad as exc:
            raise self._error(number, position, col, cells, exc.expected) from None

    def _error(self, number: int, position: int, col: Column, cells: Sequence[Any], expected: str) -> CaseloadError:
        given = cells[position] if position < len(cells) else None  # () when the row is gone
        shown = repr(given) if not isinstance(given, str) else repr(given.strip())
        return CaseloadError(
            f"column {col.header} ({col.fact}): expected {expected}, got {shown}", self.locate.cell(number, position)
        )

    def _fill(
        self, number: int, target: dict[str, Any], col: Column, position: int, value: Any, cells: Sequence[Any]
    ) -> None:
        try:
            _put(target, col.steps, value)
        except _Bad as exc:
            raise self._error(number, position, col, cells, exc.expected) from None

    def _record(self, number: int, cells: Sequence[Any], columns: Sequence[tuple[int, Column]]) -> dict[str, Any]:
        """The facts one row's ``columns`` give (empty cells are unknown facts, left out)."""
        data: dict[str, Any] = {}
        for position, col in columns:
            cell = cells[position]
            if cell is None or cell == "":
                continue
            value = self._cell(number, position, col, cells)
            if value is not None:
                self._fill(number, data, col, position, value, cells)
        return data

    def subjects(self, rows: Iterable[tuple[int, Sequence[Any]]]) -> Iterator[Item]:
        """The subjects of the rows after the header: one per row, or one per run of member rows."""
        if self.mapping.rows == "member":
            yield from self._by_member(rows)
            return
        width = self.width
        for number, cells in rows:
            if len(cells) < width:  # CSV rows may stop short; Parquet and Excel rows are whole
                cells = [*cells, *[None] * (width - len(cells))]
            data = self._record(number, cells, self.household)
            if data:  # a blank row is no household
                yield Item(self.locate.row(number), _finish(data) if self.slots else data)

    def _by_member(self, rows: Iterable[tuple[int, Sequence[Any]]]) -> Iterator[Item]:
        id_position = self.id_position
        assert id_position is not None
        recent: OrderedDict[str, str] = OrderedDict()
        key: str | None = None
        first = 0
        values: dict[int, tuple[Any, int, Any]] = {}
        members: list[dict[str, Any]] = []
        width = self.width
        for number, cells in rows:
            if len(cells) < width:
                cells = [*cells, *[None] * (width - len(cells))]
            raw = cells[id_position]
            try:
                this = _as_text(raw.strip() if isinstance(raw, str) else raw) if raw is not None else ""
            except _Bad:
                this = str(raw)
            if not this:
                if all(_blank(cells[p]) for p, _ in self.household + self.members):
                    continue  # a blank row
                if key is None:
                    raise CaseloadError(
                        f"the first row has no {self.mapping.household_id}", self.locate.cell(number, id_position)
                    )
                this = key  # a merged cell: the household's id stands only on its first row
            if this != key:
                if key is not None:
                    yield self._household(first, values, members)
                    recent[key] = self.locate.row(first)
                    if len(recent) > RECENT_IDS:
                        recent.popitem(last=False)
                if this in recent:
                    raise CaseloadError(
                        f"household {this} appears again: its rows began at {recent[this]} and another household's "
                        "rows came between. The rows of one household must be together (sort the rows by "
                        f"{self.mapping.household_id})",
                        self.locate.row(number),
                    )
                key, first, values, members = this, number, {}, []
            for position, col in self.household:
                cell = cells[position]
                if cell is None or cell == "":
                    continue
                before = values.get(position)
                if before is not None and before[2] == cell:
                    continue  # the household's columns repeated on its next member row: converted once
                value = self._cell(number, position, col, cells)
                if value is None:
                    continue
                if before is None:
                    values[position] = (value, number, cell)
                elif before[0] != value:
                    raise CaseloadError(
                        f"column {col.header}: {value!r} here but {before[0]!r} at {self.locate.row(before[1])}; "
                        f"a household column must agree on all the rows of household {key}",
                        self.locate.cell(number, position),
                    )
            member = self._record(number, cells, self.members)
            if member:
                members.append(_finish(member) if self.slots else member)
        if key is not None:
            yield self._household(first, values, members)

    def _household(self, first: int, values: dict[int, tuple[Any, int, Any]], members: list[dict[str, Any]]) -> Item:
        data: dict[str, Any] = {}
        by_position = dict(self.household)
        for position, (value, number, _) in values.items():
            self._fill(number, data, by_position[position], position, value, ())
        if members:
            if "members" in data:
                raise CaseloadError("members are given both as none and as member rows", self.locate.row(first))
            data["members"] = members
        return Item(self.locate.row(first), _finish(data) if self.slots else data)


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
