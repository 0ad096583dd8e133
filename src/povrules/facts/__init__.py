"""Facts: the models of each subject (household, village, county), reading them from JSON, their JSON Schema."""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple, Protocol, cast

import orjson
from pydantic import ValidationError

from povrules.errors import ArgumentTypeError, FactProblem, FactsError, UnknownSubject
from povrules.facts._base import (
    LOCAL_SCHEMA,
    MIRRORED_CHECKS,
    PERSONAL_KINDS,
    SINGLE_LINE,
    FactModel,
    Judged,
    Local,
    Personal,
    parse_date,
    personal_fields,
)
from povrules.facts.case import Case, Event
from povrules.facts.household import (
    Assessments,
    Assets,
    Disaster,
    Enterprise,
    Expenditure,
    ExpenditureItem,
    FiveLooks,
    Guarantees,
    Household,
    Income,
    IncomeItem,
    Look,
    Member,
    Monitoring,
    Override,
    ProjectBenefit,
    Property,
    Registration,
    Vehicle,
)
from povrules.facts.paths import format_path, parse_path
from povrules.facts.places import ComparisonVillage, County, Village, VillageIncome
from povrules.facts.titles import TitledJsonSchema


class Subject(Protocol):
    """What povrules needs of the facts a ruleset decides about, whichever the subject (a :class:`Household`,
    :class:`Village` or :class:`County`): their identifier. A subject may also record ``overrides``, the
    decisions of the bodies rules name (a household does; :func:`recorded_overrides` reads them for any
    subject, none where a subject records none)."""

    @property
    def id(self) -> str:
        """户编号, 村编号 or 县编号."""
        ...


class SubjectKind(NamedTuple):
    """One kind of subject a ruleset can decide about: its model, and the name conditions call its facts by
    (``hh.income``). A pair, as the registry's entries always were (``model, root = SUBJECTS[name]``)."""

    model: type[FactModel]
    root: str


# The one registry of subjects, by their name in rulesets (``subject: village``); ROOTS names the subject
# each root stands for (``hh``: household), for conditions that name the wrong one.
SUBJECTS: dict[str, SubjectKind] = {
    "household": SubjectKind(Household, "hh"),
    "village": SubjectKind(Village, "village"),
    "county": SubjectKind(County, "county"),
    "case": SubjectKind(Case, "case"),
}
ROOTS: dict[str, str] = {kind.root: name for name, kind in SUBJECTS.items()}
MODELS: tuple[type[Household | Village | County | Case], ...] = (
    Household,
    Village,
    County,
    Case,
)  # the subjects' models


def recorded_overrides(subject: Subject | FactModel | None) -> tuple[Override, ...]:
    """The decisions recorded on the subject by the bodies its rules name: none when it records none
    (villages, counties), the list is unknown, or there is no subject. Raises nothing."""
    overrides: tuple[Override, ...] | None = getattr(subject, "overrides", None)
    return overrides or ()


def subject_id(facts: Subject | FactModel) -> str:
    """The identifier of a subject's facts (:attr:`Subject.id`): its 户编号, 村编号 or 县编号.

    Raises :class:`~povrules.errors.ArgumentTypeError` for anything but a subject's facts.
    """
    if isinstance(facts, MODELS):
        return facts.id
    raise ArgumentTypeError(f"{type(facts).__name__} is not the model of a subject ({', '.join(SUBJECTS)})")


# The field of the facts a ruleset declares, on the household, its members and its items: frames leave it
# out (its names are the ruleset's, not the schema's), and the ruleset that declares them checks it.
LOCAL = "local"

__all__ = [
    "LOCAL",
    "LOCAL_SCHEMA",
    "Local",
    "MIRRORED_CHECKS",
    "SINGLE_LINE",
    "Assessments",
    "Assets",
    "Disaster",
    "Enterprise",
    "Expenditure",
    "ExpenditureItem",
    "FactModel",
    "FiveLooks",
    "Guarantees",
    "Household",
    "Income",
    "IncomeItem",
    "Judged",
    "Look",
    "Member",
    "Monitoring",
    "Override",
    "ProjectBenefit",
    "Property",
    "Registration",
    "Vehicle",
    "ComparisonVillage",
    "County",
    "Case",
    "Event",
    "Village",
    "VillageIncome",
    "ROOTS",
    "SUBJECTS",
    "Subject",
    "SubjectKind",
    "recorded_overrides",
    "subject_id",
    "format_path",
    "parse_path",
    "encoding_problem",
    "facts_schema",
    "household_schema",
    "DeclaresFacts",
    "DeclaredSchemas",
    "parse_date",
    "parse_facts",
    "parse_household",
    "validate_json",
    "PERSONAL_KINDS",
    "Personal",
    "personal_fields",
]


def _error_path(loc: tuple[int | str, ...], whole: str) -> str:
    """The fact path of a pydantic error's location, without pydantic's internal step names; ``whole``
    for the facts as a whole."""
    steps = [part for part in loc if isinstance(part, int) or not part.startswith(("Judged", "function-"))]
    return format_path(steps) or whole


def _given(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_EXPECTED = {
    "extra_forbidden": "no such field (unknown fields are refused)",
    "missing": "a value (the field is required)",
    # The same words whether the facts came as JSON text or decoded, and none of Python's
    # ("a valid dictionary or instance of Income", "a valid tuple").
    "model_type": "an object",
    "tuple_type": "a list",
}


def problems_of(error: ValidationError, subject: str = "household") -> list[FactProblem]:
    """Turn a pydantic error into problems that name the field path."""
    problems = []
    for item in error.errors(include_url=False):
        kind = item["type"]
        if kind == "json_invalid":
            problems.append(FactProblem("(json)", "well-formed JSON", item["msg"].removeprefix("Invalid JSON: ")))
            continue
        message = item["msg"]
        message = message.removeprefix("Input should be ")
        if kind == "string_pattern_mismatch" and item.get("ctx", {}).get("pattern") == SINGLE_LINE:
            expected = "text on one line (no newline or other control character)"
        else:
            expected = _EXPECTED.get(kind) or message[0].lower() + message[1:]
        given = None if kind == "missing" else _given(item.get("input"))
        loc = item["loc"]
        ctx = item.get("ctx") or {}
        if "within" in ctx:  # a check of a whole list that found one value below it (a member's index)
            loc, given = (*loc, *ctx["within"]), _given(ctx["given"])
        problems.append(FactProblem(_error_path(loc, f"({subject})"), expected, given))
    return problems


_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def encoding_problem(data: bytes) -> str | None:
    """What is wrong with the encoding of JSON bytes that are not UTF-8, with a hint; None when they are UTF-8.

    Names a UTF-16 or UTF-32 byte-order mark, and text that decodes as GBK/GB18030 (the usual
    encoding of Chinese government exports and of Excel on Chinese Windows). A UTF-8 byte-order
    mark is not a problem: :func:`parse_facts` skips it.
    """
    for mark, name in _OTHER_BOMS:
        if data.startswith(mark):
            return f"the text is {name} (it starts with a {name} byte-order mark); save it as UTF-8"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            data.decode("gb18030")
        except UnicodeDecodeError:
            return f"the text is not UTF-8 (byte {exc.start + 1} cannot start a UTF-8 character); save it as UTF-8"
        return (
            "the text is not UTF-8 (it looks like GBK/GB18030); save it as UTF-8 or convert it, "
            "e.g. iconv -f GB18030 -t UTF-8"
        )
    return None


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        self.key = key


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return found


_CHECK_KEYS = json.JSONDecoder(object_pairs_hook=_once)
# Text the fast count below cannot vouch for: a key with blanks before its colon, or an escape
# that could spell a quote or a colon (``\u0022``, ``\u003a``).
_SPACED_COLON = re.compile(rb'"[ \t\r\n]+:')


def _duplicate_key(data: str | bytes) -> str | None:
    """A key given twice in one object of valid JSON text, or None.

    Fast path: orjson keeps one value per key and writes every key, and every quote inside text,
    as the input wrote them (``"key":``, ``\"``), so its output has as many ``":`` marks as the
    input exactly when nothing was dropped: a repeated key loses at least its own mark. Text with
    an escape or a blank before a colon goes to the stdlib's parser, which looks at each object's keys.
    """
    if isinstance(data, bytes) and b"\\u" not in data and not _SPACED_COLON.search(data):
        try:
            if orjson.dumps(orjson.loads(data)).count(b'":') == data.count(b'":'):
                return None
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass  # what orjson refuses and pydantic took: the stdlib decides
    try:
        _CHECK_KEYS.decode(data if isinstance(data, str) else data.decode("utf-8", "replace"))
    except _DuplicateKey as exc:
        return exc.key
    return None


def validate_json(model: type[FactModel], data: str | bytes) -> FactModel:
    """Validate the facts of one subject from JSON text, strictly: the row path's one way in.

    Beyond the model's own checks, a key given twice in one object is refused (JSON parsers
    differ on which one wins: a caseload must not depend on it), and text that is not UTF-8 is
    named with its likely encoding. A UTF-8 byte-order mark at the start is skipped. Raises
    :class:`pydantic.ValidationError` from the model, or :class:`FactsError` for the checks above.
    """
    if isinstance(data, (bytes, bytearray)):
        if data.startswith(_UTF8_BOM):
            data = data[3:]
        elif data[:1] in (b"\xff", b"\xfe", b"\x00") or not data.isascii():
            problem = encoding_problem(bytes(data))
            if problem is not None:
                raise FactsError([FactProblem("(encoding)", "JSON text in UTF-8", problem)])
    elif data.startswith("\ufeff"):
        data = data[1:]
    facts = model.model_validate_json(data)
    key = _duplicate_key(data if isinstance(data, str) else bytes(data))
    if key is not None:
        raise FactsError([FactProblem("(json)", "each key at most once in an object", f"{_given(key)} twice")])
    return facts


def parse_facts(data: str | bytes | dict[str, Any], subject: str = "household", source: str | None = None) -> FactModel:
    """Validate the facts of a subject (``household``, ``village``, ``county``) from JSON text or a decoded object.

    Validation is strict (see :func:`validate_json`): a fact's JSON type is never converted.
    Raises :class:`FactsError` naming every bad field, a duplicate key or the text's encoding, and
    :class:`~povrules.errors.UnknownSubject` for another subject;
    facts that fail validation are never evaluated.
    """
    try:
        model = SUBJECTS[subject][0]
    except KeyError:
        raise UnknownSubject(subject, SUBJECTS) from None
    try:
        if isinstance(data, (str, bytes, bytearray)):
            return validate_json(model, data)
        return model.model_validate(data)  # decoded JSON: anything but an object is refused by the model
    except ValidationError as exc:
        raise FactsError(problems_of(exc, subject), source, subject) from None
    except FactsError as exc:
        raise FactsError(exc.problems, source, subject) from None


def parse_household(data: str | bytes | dict[str, Any], source: str | None = None) -> Household:
    """Validate household facts from JSON text or a decoded object (see :func:`parse_facts`).

    Raises :class:`FactsError` as :func:`parse_facts` does.
    """
    return cast(Household, parse_facts(data, "household", source))  # the household subject's model


def facts_schema(subject: str = "household") -> dict[str, Any]:
    """The JSON Schema of a subject's facts, for app developers: each enumerated value titled in ``x-titles``.

    Raises :class:`~povrules.errors.UnknownSubject` for a subject other than ``household``, ``village``,
    ``county``.
    """
    if subject not in SUBJECTS:
        raise UnknownSubject(subject, SUBJECTS)
    schema = SUBJECTS[subject][0].model_json_schema(schema_generator=TitledJsonSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"povrules.{subject}.v1"
    return schema


class DeclaredSchemas(Protocol):
    """The facts a ruleset declares, as :func:`household_schema` reads them (``Ruleset.local_facts``)."""

    def schema(self) -> dict[str, dict[str, Any]]:
        """The JSON Schema of the ``local`` object of each model facts are declared on, by the model's name."""
        ...


class DeclaresFacts(Protocol):
    """A ruleset, as :func:`household_schema` reads it: the facts it declares (None when it declares none)."""

    @property
    def local_facts(self) -> DeclaredSchemas | None:
        """Its ``facts:`` section."""
        ...


def household_schema(ruleset: DeclaresFacts | None = None) -> dict[str, Any]:
    """The JSON Schema of household facts; with a ruleset, of that ruleset's: the ``local`` object of the
    household, a member or an item then lists the facts the ruleset declares there (type, unit, titles) and
    no other."""
    schema = facts_schema("household")
    declared = ruleset.local_facts.schema() if ruleset is not None and ruleset.local_facts else {}
    for model, local in declared.items():
        target = schema if model == Household.__name__ else schema["$defs"][model]
        field = target["properties"][LOCAL]
        field["anyOf"] = [local if "$ref" in option else option for option in field["anyOf"]]
    if declared:
        schema["$id"] = "povrules.household.v1+" + getattr(ruleset, "id", "ruleset")
    return schema
