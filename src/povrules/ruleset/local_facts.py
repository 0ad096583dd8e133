"""Facts a ruleset declares: a county encodes a local plan without changing the library.

A ruleset's ``facts:`` section names facts the fact schema lacks (见义勇为人员子女, a local subsidy's
category …), each on the household, on its members, or on the items of a list of records
(``hh.loans``, ``hh.assets.vehicles``), with a type, a unit and titles in both languages:

.. code-block:: yaml

    facts:
      heroic_act_family:
        on: member
        type: bool
        title: {zh: 见义勇为人员子女, en: Child of a person honoured for a heroic act}

A household gives their values under ``local`` (``{"members": [{"local": {"heroic_act_family": true}}]}``)
and conditions read them as ``m.local.heroic_act_family``. This module builds the declarations
(:func:`build_local_facts`), types them for the checker (:meth:`LocalFacts.record`), checks a household's
values when the ruleset evaluates (:meth:`LocalFacts.check`), and states them in JSON Schema
(:meth:`LocalFacts.schema`). One mechanism for every place a value may be: a place is a path of record
fields from the household (``()``, ``("members",)``, ``("assets", "vehicles")``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs
from pydantic import BaseModel

from povrules.errors import FactProblem, FactsError, Location, RulesetError, did_you_mean
from povrules.facts import LOCAL, Household, format_path, parse_date
from povrules.lang.checker import RESERVED
from povrules.lang.types import BOOL, DATE, DECIMAL, INT, STR, EnumType, Field, ListType, RecordType, Type
from povrules.ruleset.model import Citation, Text, read_only
from povrules.ruleset.yaml import YMap

__all__ = ["ON_NAMES", "TYPES", "LocalFact", "LocalFacts", "build_local_facts", "places"]

# Short names of the places facts are declared on; any other place is given by its path (hh.loans).
ON_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"household": (), "member": ("members",), "loan": ("loans",)}
)
TYPES: Mapping[str, Type] = MappingProxyType({"bool": BOOL, "int": INT, "decimal": DECIMAL, "str": STR, "date": DATE})
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")  # ASCII digits, no exponent
_KEYS = {"on", "type", "values", "unit", "title", "cite", "note"}


@attrs.frozen
class LocalFact:
    """One fact a ruleset declares: its name, the place its values are (``place``: record fields from the
    household; ``on``: as the ruleset wrote it), its type (an enumeration's ``values`` titled in ``titles``),
    unit, title and the clause it rests on."""

    name: str
    on: str
    place: tuple[str, ...]
    type: Type
    title: Text
    unit: str | None = None
    titles: Mapping[str, Text] = attrs.field(factory=dict)
    cite: Citation | None = None
    location: Location | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def field(self) -> Field:
        """The fact as the checker sees it: a field of the place's ``local`` record."""
        return Field(self.name, self.type, self.title.zh, self.title.en, self.unit)


@functools.cache
def places(model: type[BaseModel] = Household) -> Mapping[tuple[str, ...], type[BaseModel]]:
    """Every place a fact may be declared on, by its path of record fields from the subject: the subject
    itself (``()``) and each list of records reachable from it whose model holds ``local`` facts, with
    that model. Raises nothing."""
    found: dict[tuple[str, ...], type[BaseModel]] = {}

    def walk(current: type[BaseModel], path: tuple[str, ...]) -> None:
        for name, info in current.model_fields.items():
            inner = _model_in(info.annotation)
            if inner is None:
                continue
            item, listed = inner
            if listed and LOCAL in item.model_fields:
                found[(*path, name)] = item
            walk(item, (*path, name))

    if LOCAL in model.model_fields:
        found[()] = model
    walk(model, ())
    return MappingProxyType(found)


def _model_in(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """The fact model a field holds (and whether as a list of them), or None for a scalar, a judged fact or local
    facts themselves."""
    import typing

    listed = False
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (tuple, list):
            listed, annotation = True, args[0]
        elif args and origin is not typing.Literal:
            annotation = args[0]
        else:
            break
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and not getattr(annotation, "JUDGED", False):
        return (annotation, listed) if annotation.__name__ != "Local" else None
    return None


def _shown(place: tuple[str, ...]) -> str:
    """A place as a ruleset names it: its short name, or its path."""
    return next((name for name, path in ON_NAMES.items() if path == place), "hh." + ".".join(place))


@attrs.frozen
class LocalFacts:
    """The facts a ruleset declares, by name (:attr:`facts`); none for most rulesets."""

    facts: Mapping[str, LocalFact] = attrs.field(factory=dict, converter=read_only)
    # The facts of each place, by name, found once: the check of every household reads them.
    _by_place: Mapping[tuple[str, ...], Mapping[str, LocalFact]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        by_place: dict[tuple[str, ...], dict[str, LocalFact]] = {place: {} for place in places()}
        for name, fact in self.facts.items():
            by_place[fact.place][name] = fact
        object.__setattr__(self, "_by_place", read_only({p: read_only(f) for p, f in by_place.items()}))

    def __bool__(self) -> bool:
        return bool(self.facts)

    def citations(self) -> Mapping[str, Citation]:
        """The citation of each declared fact that has one, by the fact's name (what the quote check reads)."""
        return {name: fact.cite for name, fact in self.facts.items() if fact.cite is not None}

    def at(self, place: tuple[str, ...]) -> Mapping[str, LocalFact]:
        """The facts declared on one place, by name."""
        return self._by_place.get(place, MappingProxyType({}))

    def record(self, subject: RecordType) -> RecordType:
        """The subject's record type with each place's ``local`` typed by the facts declared on it: the checker's
        scope, so that ``m.local.x`` type-checks and a misspelt name gets a did-you-mean."""
        return self._rebuilt(subject, ())

    def _rebuilt(self, record: RecordType, path: tuple[str, ...]) -> RecordType:
        fields = dict(record.fields)
        changed = False
        if LOCAL in fields and any(f.place == path for f in self.facts.values()):
            local = RecordType(
                f"{record.name}.local", fields={name: fact.field for name, fact in self.at(path).items()}
            )
            fields[LOCAL] = attrs.evolve(fields[LOCAL], type=local)
            changed = True
        for name, field in record.fields.items():
            below = (*path, name)
            if name == LOCAL or not any(f.place[: len(below)] == below for f in self.facts.values()):
                continue
            typ = field.type
            if isinstance(typ, ListType) and isinstance(typ.item, RecordType):
                fields[name] = attrs.evolve(field, type=attrs.evolve(typ, item=self._rebuilt(typ.item, below)))
                changed = True
            elif isinstance(typ, RecordType):
                fields[name] = attrs.evolve(field, type=self._rebuilt(typ, below))
                changed = True
        return RecordType(record.name, model=record.model, fields=fields) if changed else record

    def check(self, facts: Household) -> Household:
        """The household with its local facts checked against the declarations, and dates read from their text.

        Returns ``facts`` itself unless a date had to be read. Raises :class:`FactsError` naming each
        path (``members[1].local.heroic_act_family``) whose value is not of its declared type, and each
        local fact the ruleset does not declare. A null value is an unknown fact, as elsewhere.
        """
        if not _any_local(facts, _tree(type(facts))):
            return facts  # most households: nothing to check
        problems: list[FactProblem] = []
        changes: dict[tuple[str | int, ...], dict[str, Any]] = {}
        for place in places(type(facts)):
            declared = self.at(place)
            for steps, obj in _objects(facts, place):
                local = obj.local
                if local is None:
                    continue
                values = local.model_extra or {}
                for name, value in values.items():
                    path = format_path((*steps, LOCAL, name))
                    fact = declared.get(name)
                    if fact is None:
                        hint = did_you_mean(name, declared)
                        known = ", ".join(sorted(declared)) or "none"
                        expected = (
                            f"a fact the ruleset declares on {_shown(place)} ({known}{'; ' + hint if hint else ''})"
                        )
                        problems.append(FactProblem(path, expected, _json(value)))
                        continue
                    problem, read = _typed(fact, value)
                    if problem is not None:
                        problems.append(FactProblem(path, problem, _json(value)))
                    elif read is not value:
                        changes.setdefault(steps, {})[name] = read
        if problems:
            raise FactsError(problems)
        return _with(facts, changes) if changes else facts

    def schema(self) -> dict[str, dict[str, Any]]:
        """The JSON Schema of the ``local`` object of each model that holds local facts, by the model's name: each
        declared fact's type, unit and titles, and no other name. Places of one model (two lists of income items)
        share one schema. Empty when the ruleset declares no facts."""
        if not self.facts:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for place, model in places().items():  # every place: one without declarations takes no local fact
            entry = out.setdefault(model.__name__, {"type": "object", "properties": {}, "additionalProperties": False})
            for name, fact in self.at(place).items():
                entry["properties"][name] = _fact_schema(fact)
        return out


# The places as a tree of record fields: (whether the record holds local facts, (field, subtree) …). A walk
# down it visits each object once and builds no path, which is what checking a household costs when it
# gives no local facts.
_Tree = tuple[bool, tuple[tuple[str, "_Tree"], ...]]


@functools.cache
def _tree(model: type[BaseModel]) -> _Tree:
    found = places(model)

    def node(path: tuple[str, ...]) -> _Tree:
        steps = sorted({p[len(path)] for p in found if len(p) > len(path) and p[: len(path)] == path})
        return (path in found, tuple((step, node((*path, step))) for step in steps))

    return node(())


def _any_local(obj: Any, tree: _Tree) -> bool:
    """Whether any object of the tree's places under ``obj`` gives local facts."""
    if tree[0] and obj.local is not None:
        return True
    for step, below in tree[1]:
        value = getattr(obj, step)
        if value is None:
            continue
        if value.__class__ is tuple:
            if not below[1]:  # a list of records with no list below them: no call per item
                for item in value:
                    if item.local is not None:
                        return True
                continue
            for item in value:
                if _any_local(item, below):
                    return True
        elif _any_local(value, below):
            return True
    return False


def _objects(facts: BaseModel, place: tuple[str, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """The objects at a place of the facts, each with its path: lists are walked, unknown records skipped."""
    current: list[tuple[tuple[str | int, ...], Any]] = [((), facts)]
    for step in place:
        following: list[tuple[tuple[str | int, ...], Any]] = []
        for steps, obj in current:
            value = getattr(obj, step, None)
            if value is None:
                continue
            if isinstance(value, tuple):
                following.extend(((*steps, step, i), item) for i, item in enumerate(value))
            else:
                following.append(((*steps, step), value))
        current = following
    return iter(current)


def _with(facts: BaseModel, changes: Mapping[tuple[str | int, ...], Mapping[str, Any]]) -> Any:
    """A copy of the facts with the read values put in place of the given ones (dates read from text)."""

    def rebuilt(obj: BaseModel, steps: tuple[str | int, ...]) -> BaseModel:
        update: dict[str, Any] = {}
        if steps in changes:
            local = obj.local  # type: ignore[attr-defined]  # only places with local facts are changed
            update[LOCAL] = local.model_copy(update=dict(changes[steps]))
        for name in obj.__class__.model_fields:
            if name == LOCAL:
                continue
            below = [s for s in changes if s[: len(steps) + 1] == (*steps, name)]
            if not below:
                continue
            value = getattr(obj, name)
            if isinstance(value, tuple):
                update[name] = tuple(
                    rebuilt(item, (*steps, name, i))
                    if any(s[: len(steps) + 2] == (*steps, name, i) for s in below)
                    else item
                    for i, item in enumerate(value)
                )
            else:
                update[name] = rebuilt(value, (*steps, name))
        return obj.model_copy(update=update)

    return rebuilt(facts, ())


def _typed(fact: LocalFact, value: Any) -> tuple[str | None, Any]:
    """(what was expected, when the value is not of the fact's type; the value as rules read it)."""
    typ = fact.type
    if value is None:
        return None, None
    if typ == BOOL:
        return (None, value) if isinstance(value, bool) else ("true or false", value)
    if typ == INT:
        return (None, value) if isinstance(value, int) and not isinstance(value, bool) else ("a whole number", value)
    if typ == DECIMAL:
        if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
            return None, Decimal(value)  # exact decimals travel as text, as records write them
        ok = isinstance(value, (int, Decimal)) and not isinstance(value, bool)
        return (None, value) if ok else ("a number, or decimal text such as 1234.5", value)
    if isinstance(typ, EnumType):
        if isinstance(value, str) and value in typ.values:
            return None, value
        return "one of " + ", ".join(typ.values), value
    if typ == DATE:
        if isinstance(value, date):
            return None, value
        if isinstance(value, str):
            try:
                return None, parse_date(value)
            except ValueError:
                pass
        return "a date as YYYY-MM-DD text", value
    return (None, value) if isinstance(value, str) else ("text", value)


def _json(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _fact_schema(fact: LocalFact) -> dict[str, Any]:
    typ = fact.type
    schema: dict[str, Any]
    if typ == BOOL:
        schema = {"type": ["boolean", "null"]}
    elif typ == INT:
        schema = {"type": ["integer", "null"]}
    elif typ == DECIMAL:
        schema = {
            "anyOf": [{"type": ["number", "null"]}, {"type": "string", "pattern": _DECIMAL_TEXT.pattern.join("^$")}]
        }
    elif typ == DATE:
        schema = {"type": ["string", "null"], "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    elif isinstance(typ, EnumType):
        schema = {
            "enum": [*typ.values, None],
            "x-titles": {code: {"zh": t.zh, "en": t.en} for code, t in fact.titles.items()},
        }
    else:
        schema = {"type": ["string", "null"]}
    schema["description"] = fact.title.en
    schema["zh"] = fact.title.zh
    if fact.unit:
        schema["unit"] = fact.unit
    return schema


def build_local_facts(
    section: YMap,
    subject: str,
    schema: RecordType,
    text: Callable[[YMap, str, str], Text],
    citation: Callable[[YMap, str, bool], Citation | None],
) -> LocalFacts:
    """The ``facts:`` section of a ruleset, checked. ``schema`` is the subject's record (for names the schema has
    already); ``text`` and ``citation`` read a title and an optional ``cite`` as the ruleset's other entries do.

    Raises :class:`RulesetError` at the offending value: a name that is no identifier or is the schema's own
    fact, an unknown ``on`` or ``type``, an enumeration without values, a title in one language only.
    """
    if not section:
        return LocalFacts()
    if subject != "household":
        raise RulesetError(
            f"facts: a ruleset of subject {subject!r} declares no facts (only a household's facts may be declared)",
            section.location,
        )
    where = places()
    out: dict[str, LocalFact] = {}
    for name, entry in section.items():
        what = f"fact {name!r}"
        if not _NAME.fullmatch(name) or name in RESERVED:
            raise RulesetError(
                f"{what}: a declared fact's name is lower-case letters, digits and '_', starting with a letter",
                section.at(name),
            )
        if not isinstance(entry, YMap):
            raise RulesetError(f"{what} must be a mapping with 'on', 'type' and 'title'", section.at(name))
        for key in entry:
            if key not in _KEYS:
                raise RulesetError(f"unknown key {key!r} in {what}", entry.at(key), did_you_mean(key, _KEYS))
        on = entry.get("on")
        place = _place(on, where)
        if place is None:
            choices = ", ".join([*ON_NAMES, *sorted(_shown(p) for p in where if p and p not in ON_NAMES.values())])
            raise RulesetError(
                f"{what}: 'on' must be household, member, loan or the path of a list of records, not {on!r}",
                entry.at("on") if "on" in entry else entry.location,
                "places: " + choices,
            )
        own = _record_at(schema, place)
        if own is not None and name in own.fields:
            field = own.fields[name]
            raise RulesetError(
                f"{what}: the schema has this fact already on {_shown(place)} ({field.zh}, {field.en}); read it as such",
                section.at(name),
            )
        typ, titles = _type(entry, what, text)
        unit = entry.get("unit")
        if unit is not None and (not isinstance(unit, str) or not unit.strip()):
            raise RulesetError(f"{what}: 'unit' must be text", entry.at("unit"))
        out[name] = LocalFact(
            name=name,
            on=str(on),
            place=place,
            type=typ,
            title=text(entry, "title", what),
            unit=unit,
            titles=titles,
            cite=citation(entry, what, False),
            location=section.at(name),
        )
    return LocalFacts(out)


def _place(on: Any, where: Mapping[tuple[str, ...], type[BaseModel]]) -> tuple[str, ...] | None:
    if not isinstance(on, str):
        return None
    if on in ON_NAMES:
        return ON_NAMES[on]
    if on.startswith("hh."):
        place = tuple(on[3:].split("."))
        return place if place in where and place else None
    return None


def _record_at(record: RecordType, place: tuple[str, ...]) -> RecordType | None:
    current: Type = record
    for step in place:
        if isinstance(current, ListType):
            current = current.item
        if not isinstance(current, RecordType) or step not in current.fields:
            return None
        current = current.fields[step].type
    if isinstance(current, ListType):
        current = current.item
    return current if isinstance(current, RecordType) else None


def _type(entry: YMap, what: str, text: Callable[[YMap, str, str], Text]) -> tuple[Type, dict[str, Text]]:
    declared = entry.get("type")
    if declared == "enum":
        values = entry.get("values")
        if not isinstance(values, YMap) or not values:
            raise RulesetError(
                f"{what}: type enum needs 'values', each code with its title {{zh: …, en: …}}",
                entry.at("values") if "values" in entry else entry.at("type"),
            )
        titles = {}
        for code in values:
            if not isinstance(code, str) or not _NAME.fullmatch(code):
                raise RulesetError(
                    f"{what}: a code is lower-case letters, digits and '_', not {code!r}", values.at(code)
                )
            titles[code] = text(values, code, f"code {code!r} of {what}")
        typ = EnumType("enum", values=tuple(titles), titles=tuple((c, t.zh, t.en) for c, t in titles.items()))
        return typ, titles
    if "values" in entry:
        raise RulesetError(f"{what}: 'values' goes with type enum only", entry.at("values"))
    if not isinstance(declared, str) or declared not in TYPES:
        raise RulesetError(
            f"{what}: 'type' must be one of {', '.join([*TYPES, 'enum'])}, not {declared!r}",
            entry.at("type") if "type" in entry else entry.location,
            did_you_mean(str(declared), [*TYPES, "enum"]) or None,
        )
    return TYPES[declared], {}
