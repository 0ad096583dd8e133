"""Decision records: the ``povrules.record.v2`` document (v1 records still load, verify, replay and explain).

A record keeps everything an auditor needs to check a decision later: the
facts, the date, the ruleset's id, version and content digest, the engine
version, the outcome and the full trace. It is canonical JSON, so the same
decision always gives the same bytes, and it ends with its own digest.

With a redaction key, the personal values in the facts (every field the fact
models declare ``personal``: ids, names, ID numbers, places, the people who
judged or visited, free-text notes) are replaced by a keyed hash
(HMAC-SHA256) of the value, here and wherever the trace shows them (the
facts' id included).

Records by reference (``make_record(..., facts="digest")``)
    For callers who keep the facts elsewhere (a register, a data lake), a record may leave the
    facts out and name them by ``facts_digest`` alone: it then has ``"facts_ref": "digest"`` and no
    ``facts``. This stays ``povrules.record.v1``, as an additive, optional field, because nothing
    else changes meaning: ``facts_digest`` already commits to the facts exactly (the record's own
    digest covers it), the trace is the same, and a record with its facts is byte for byte what it
    was. A reader that does not know ``facts_ref`` fails closed on such a record ("facts: missing")
    rather than misreading it. :func:`verify_record`, :func:`load_record` and replay take the facts
    back through a ``facts`` argument and check them against the digest; without them a replay stops
    with a clear error.

Speed
    The facts are dumped once; their canonical bytes give ``facts_digest`` and are spliced into the
    record's canonical bytes, which are put together from pieces (the keys of a record sort in a
    fixed order) rather than serialised again; :func:`make_record_json` hands those bytes on without
    the dict round trip. Everything goes through :mod:`povrules.canonical` (orjson).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel

from povrules.canonical import canonical_bytes, canonical_json, facts_json, sha256_digest
from povrules.errors import FactsError, PovrulesError, UsageError
from povrules.facts import SINGLE_LINE, SUBJECTS, format_path, parse_facts, parse_path, personal_fields
from povrules.reading import ReadError, check_json_depth
from povrules.text import explain_record as _explain_trace_record
from povrules.trace import TRACE_SCHEMA_V2, to_trace

if TYPE_CHECKING:
    from povrules.engine import Decision

RECORD_SCHEMA = "povrules.record.v2"
RECORD_SCHEMA_V1 = "povrules.record.v1"
RECORD_SCHEMAS = (RECORD_SCHEMA_V1, RECORD_SCHEMA)  # v1 records still load, verify, replay and explain
REDACTED_PREFIX = "hmac-sha256:"
MIN_KEY_BYTES = 16

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REDACTED = re.compile(r"^hmac-sha256:[0-9a-f]{64}$")

# Which facts are personal is declared on the fact models' fields (``personal=``, see
# povrules.facts.personal_fields), not listed here: a field added to a model is redacted as soon as
# it is declared. Rules never read them (no shipped ruleset does; a redacted record would still
# replay if one compared two of them, since equal values keep equal hashes). Free text (notes,
# evidence, minutes) is redacted too: nothing stops a caseworker writing a name or an illness into it.


class RecordError(PovrulesError):
    """A record is malformed, fails its schema, or does not match its own digest.

    ``problems`` lists each finding as ``"<field>: <what is wrong>"``.
    """

    def __init__(self, problems: str | Iterable[str]):
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__("; ".join(self.problems))


def record_schema(version: int = 2) -> dict[str, Any]:
    """The JSON Schema of ``povrules.record.v2`` documents (``version=1``: of v1), self-contained.

    The file ``schemas/record.v<n>.json`` refers to the trace schema by its id
    (``povrules.trace.v<n>``); this function embeds that schema under ``$defs``
    so that any draft 2020-12 validator resolves the reference on its own.
    Raises :class:`~povrules.errors.UsageError` for another version.
    """
    from importlib.resources import files

    from povrules.trace import trace_schema

    if version not in (1, 2):
        raise UsageError(f"version: expected 1 or 2, got {version!r}")
    text = files("povrules").joinpath(f"schemas/record.v{version}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    schema.setdefault("$defs", {})["trace"] = trace_schema(version)
    return schema


# Redaction


def _keyed(value: str, key: bytes) -> str:
    if _REDACTED.match(value):
        return value  # already redacted: redacting again keeps it, so a redacted record replays to itself
    return REDACTED_PREFIX + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _check_key(key: object) -> bytes:
    if not isinstance(key, (bytes, bytearray)):
        raise RecordError(f"redact_key: expected bytes, got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise RecordError(
            f"redact_key: expected at least {MIN_KEY_BYTES} bytes (a short key lets anyone test guesses), "
            f"got {len(key)}"
        )
    return bytes(key)


def _hidden(model: BaseModel, name: str, dumped: Any, rules: Collection[str]) -> bool:
    """Whether field ``name`` of ``model`` (dumped as ``dumped``) is redacted."""
    kind = personal_fields(type(model)).get(name)
    if kind == "rule_reference":
        return dumped not in rules  # a rule of the ruleset is public; any other text nothing reads, and may be anything
    return kind is not None


def _redact_model(model: BaseModel, data: dict[str, Any], key: bytes, rules: Collection[str] = ()) -> dict[str, Any]:
    """``data`` is ``model``'s JSON dump; return it with the personal values replaced.

    ``rules``: the ids of the ruleset's rules, which a ``rule_reference`` field keeps.
    """
    out: dict[str, Any] = {}
    for name, dumped in data.items():
        value = getattr(model, name)
        if _hidden(model, name, dumped, rules):
            out[name] = _redact_value(dumped, key)
        elif isinstance(value, BaseModel):
            out[name] = _redact_model(value, dumped, key, rules)
        elif isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
            out[name] = [_redact_model(v, d, key, rules) for v, d in zip(value, dumped)]
        else:
            out[name] = dumped
    return out


def _redact_value(dumped: Any, key: bytes) -> Any:
    if isinstance(dumped, str):
        return _keyed(dumped, key)
    if isinstance(dumped, list):
        return [_redact_value(v, key) for v in dumped]
    return dumped  # not text: nothing to hide


def redact_facts(facts: BaseModel, key: bytes, *, rules: Collection[str] = ()) -> dict[str, Any]:
    """A subject's facts as canonical JSON data, with every personal value replaced by its keyed hash.

    Redaction is deterministic: the holder of the key can redact the facts in
    the register again and compare ``facts_digest`` with a record's. ``rules``
    are the ids of the ruleset's rules: an override naming one keeps it (give
    ``ruleset.rules`` to redact as a record of that ruleset does).

    Raises :class:`RecordError` for a key that is not bytes or is too short.
    """
    return _redact_model(facts, facts_json(facts), _check_key(key), rules)


def redact_id(value: str, key: bytes) -> str:
    """One identifier (a household's id, say) as redaction writes it: its keyed hash under ``key``.

    Raises :class:`RecordError` for a key that is not bytes or is too short.
    """
    return _keyed(value, _check_key(key))


def redact_decision(decision: Decision, key: bytes) -> Decision:
    """The decision made again on the redacted facts: what explanations and HTML views of a decision should
    be made from when they may be seen by someone who must not see personal values.

    Rules read no personal field, so the outcome is the same; every value a view prints that comes from
    the facts (the id, who judged, operand values) is then a keyed hash.

    Raises :class:`RecordError` for a key that is not bytes or is too short.
    """
    from povrules.engine import evaluate

    ruleset = decision.ruleset
    redacted = ruleset.facts_type.model_validate(redact_facts(decision.facts, key, rules=ruleset.rules))
    return evaluate(redacted, ruleset, decision.decision, as_of=decision.as_of, trace=decision.traced)


def _resolve(facts: BaseModel, root: str, path: str) -> tuple[Any, str | None, Any]:
    """Follow a trace's fact path (``hh.members[0].name``) into the facts: (parent, field name, value)."""
    parent: Any = None
    name: str | None = None
    obj: Any = facts
    steps = parse_path(path)
    if not steps or steps[0] != root:
        return None, None, None
    for step in steps[1:]:
        if isinstance(step, str):
            parent, name, obj = obj, step, getattr(obj, step, None)
        elif isinstance(obj, tuple) and step < len(obj):
            obj = obj[step]
        else:
            return None, None, None
        if obj is None:
            return None, None, None
    return parent, name, obj


def _redact_operand(
    operand: dict[str, Any], facts: BaseModel, root: str, key: bytes, rules: Collection[str]
) -> dict[str, Any]:
    """An operand that shows a fact: redact its value if the fact, or a part of it, is personal."""
    path = operand.get("fact")
    if path is None:
        return operand
    parent, name, obj = _resolve(facts, root, path)
    value = operand["value"]
    if parent is not None and name is not None and _hidden(parent, name, value, rules):
        value = _redact_value(value, key)
    elif isinstance(obj, BaseModel) and isinstance(value, dict):
        value = _redact_model(obj, value, key, rules)
    elif isinstance(obj, tuple) and isinstance(value, list) and len(obj) == len(value):
        value = [
            _redact_model(o, v, key, rules) if isinstance(o, BaseModel) and isinstance(v, dict) else v
            for o, v in zip(obj, value)
        ]
    return dict(operand, value=value)


def _redact_trace(
    trace: dict[str, Any], facts: BaseModel, root: str, key: bytes, facts_digest: str, rules: Collection[str]
) -> dict[str, Any]:
    """Redact where the trace shows facts: the facts' id, the operands of conditions, and recorded overrides."""
    out = dict(trace, facts_digest=facts_digest)
    if isinstance(out.get("facts_id"), str) and "id" in personal_fields(type(facts)):
        out["facts_id"] = _keyed(out["facts_id"], key)
    shown: list[dict[str, Any]] = []
    for entry in trace["rules"]:
        entry = dict(entry)
        if "condition" in entry:  # v2: a tree
            entry["condition"] = [_redact_node(node, facts, root, key, rules) for node in entry["condition"]]
        else:
            conditions = []
            for condition in entry["conditions"]:
                condition = dict(condition)
                for side in ("left", "right", "value"):
                    if side in condition:
                        condition[side] = _redact_operand(condition[side], facts, root, key, rules)
                conditions.append(condition)
            entry["conditions"] = conditions
        if "override" in entry:
            entry["override"] = _redact_override(facts, entry["override"], key, rules)
        if "contradicting" in entry:  # the records of one date that disagree: each shown as the facts hold it
            entry["contradicting"] = [_redact_override(facts, o, key, rules) for o in entry["contradicting"]]
        shown.append(entry)
    out["rules"] = shown
    return out


def _redact_node(
    node: Mapping[str, Any], facts: BaseModel, root: str, key: bytes, rules: Collection[str]
) -> dict[str, Any]:
    """A part of a v2 condition tree with its operands redacted, and who judged a judged fact."""
    out = dict(node)
    for side in ("left", "right", "value"):
        operand = out.get(side)
        if isinstance(operand, dict) and "expr" in operand:
            operand = _redact_operand(operand, facts, root, key, rules)
            if isinstance(operand.get("judged"), dict):
                operand = dict(operand, judged=dict(operand["judged"], by=_redact_value(operand["judged"]["by"], key)))
            out[side] = operand
    if "items" in out:
        out["items"] = [_redact_node(item, facts, root, key, rules) for item in out["items"]]
    if "elements" in out:
        out["elements"] = [
            dict(e, items=[_redact_node(item, facts, root, key, rules) for item in e["items"]]) for e in out["elements"]
        ]
    return out


def _redact_override(facts: BaseModel, shown: Mapping[str, Any], key: bytes, rules: Collection[str]) -> dict[str, Any]:
    """A recorded override as a trace shows it, redacted as the override model declares."""
    override = _recorded_override(facts, shown)
    if override is None:  # not one of the facts' overrides: hide every value (fail closed)
        return {k: _redact_value(v, key) for k, v in shown.items()}
    return _redact_model(override, dict(shown), key, rules)


def _recorded_override(facts: BaseModel, shown: Mapping[str, Any]) -> BaseModel | None:
    """The override of the facts that a trace's rule entry shows (the same rule, body and date)."""
    for item in getattr(facts, "overrides", None) or ():
        if (item.rule, item.body, item.decided_on.isoformat()) == (
            shown.get("rule"),
            shown.get("body"),
            shown.get("decided_on"),
        ):
            return cast(BaseModel, item)
    return None


# Making and checking records


def record_digest(record: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the record without its ``digest`` field.

    Raises :class:`povrules.canonical.CanonicalError` for a record that has no canonical JSON.
    """
    return sha256_digest({k: v for k, v in record.items() if k != "digest"})


FactsMode = Literal["embed", "digest"]
FACTS_MODES = ("embed", "digest")


def _build(
    decision: Decision, redact_key: bytes | None, facts_mode: str, version: int = 2
) -> tuple[dict[str, Any], bytes, bytes]:
    """The record (without its digest), the canonical bytes of its part before ``"digest"`` and after it."""
    if version not in (1, 2):
        raise RecordError(f"version: expected 1 or 2, got {version!r}")
    schema = RECORD_SCHEMA if version == 2 else RECORD_SCHEMA_V1
    if facts_mode not in FACTS_MODES:
        raise RecordError(f"facts: expected one of {', '.join(map(repr, FACTS_MODES))}, got {facts_mode!r}")
    if not decision.traced:
        from povrules.engine import evaluate

        decision = evaluate(decision.facts, decision.ruleset, decision.decision, as_of=decision.as_of, trace=True)
    ruleset = decision.ruleset
    facts = facts_json(decision.facts)
    if redact_key is not None:
        key = _check_key(redact_key)
        facts = _redact_model(decision.facts, facts, key, ruleset.rules)
    facts_bytes = canonical_bytes(facts, floats=False)  # a model's JSON dump: decimals are strings
    digest_of_facts = "sha256:" + hashlib.sha256(facts_bytes).hexdigest()
    trace = to_trace(decision, facts_digest=digest_of_facts, version=version)
    if redact_key is not None:
        trace = _redact_trace(trace, decision.facts, ruleset.root, key, digest_of_facts, ruleset.rules)
    record: dict[str, Any] = {
        "schema": schema,
        "engine": dict(trace["engine"]),
        "ruleset": {
            "id": ruleset.id,
            "version": ruleset.version,
            "digest": ruleset.digest,
            "jurisdiction": ruleset.jurisdiction,
            "subject": ruleset.subject,
        },
        "decision": decision.decision,
        "as_of": decision.as_of.isoformat(),
        "facts": facts,
        "facts_digest": digest_of_facts,
        "redacted": redact_key is not None,
        "outcome": decision.outcome,
        "labels": list(decision.labels),
        "missing": list(decision.missing),
        "trace": trace,
    }
    # The keys sort as as_of < decision < (digest) < engine < facts < facts_digest < facts_ref < labels
    # < missing < outcome < redacted < ruleset < schema < trace: canonical JSON of the whole is these
    # pieces joined, and the facts and the trace, the bulk, are serialised once each.
    middle = {
        "facts_digest": digest_of_facts,
        "labels": record["labels"],
        "missing": record["missing"],
        "outcome": record["outcome"],
        "redacted": record["redacted"],
        "ruleset": record["ruleset"],
        "schema": schema,
    }
    if facts_mode == "digest":
        del record["facts"]
        record["facts_ref"] = middle["facts_ref"] = "digest"
    head = canonical_bytes({"as_of": record["as_of"], "decision": record["decision"]})[:-1]
    tail = (
        canonical_bytes({"engine": record["engine"]})[1:-1]
        + (b',"facts":' + facts_bytes if facts_mode == "embed" else b"")
        + b","
        + canonical_bytes(middle)[1:-1]
        + b',"trace":'
        + canonical_bytes(trace, floats=False)
        + b"}"
    )
    return record, head, tail


def make_record(
    decision: Decision, *, redact_key: bytes | None = None, facts: FactsMode = "embed", version: int = 2
) -> dict[str, Any]:
    """The ``povrules.record.v2`` document of a decision (``version=1``: the v1 document, byte for byte
    what earlier versions made).

    The same decision (facts, ruleset digest, decision, date, engine version)
    always gives a byte-identical :func:`record_json`. A decision evaluated
    without a trace is evaluated again with one: a record keeps the full trace.
    With ``redact_key`` (at least 16 bytes), personal values are replaced by
    their HMAC-SHA256 under the key, in the facts and in the trace, and
    ``facts_digest`` is taken over the redacted facts.

    ``facts="digest"`` leaves the facts out: the record names them by ``facts_digest`` and says
    ``"facts_ref": "digest"`` (see the module docstring). Raises :class:`RecordError` for a bad key
    or mode, :class:`povrules.canonical.CanonicalError` for facts with no canonical JSON.
    """
    record, head, tail = _build(decision, redact_key, facts, version)
    record["digest"] = "sha256:" + hashlib.sha256(head + b"," + tail).hexdigest()
    return record


def make_record_json(
    decision: Decision, *, redact_key: bytes | None = None, facts: FactsMode = "embed", version: int = 2
) -> bytes:
    """``record_json(make_record(decision, ...))`` as UTF-8 bytes, made without serialising the record twice:
    for writing straight to a log (:meth:`povrules.audit.log.LogBatch.add_json`). Raises as :func:`make_record`."""
    _, head, tail = _build(decision, redact_key, facts, version)
    digest = "sha256:" + hashlib.sha256(head + b"," + tail).hexdigest()
    return head + b',"digest":"' + digest.encode("ascii") + b'",' + tail


def record_json(record: dict[str, Any]) -> str:
    """The record as canonical JSON: sorted keys, no spaces, the same bytes for the same record.

    Raises :class:`povrules.canonical.CanonicalError` for a record that has no canonical JSON.
    """
    return canonical_json(record)


def explain_record(record: dict[str, Any], lang: str = "zh") -> str:
    """:func:`povrules.text.explain_record`, for records by reference too (the facts' id is then the trace's).

    Raises :class:`RecordError` for a record that is not one, and :class:`~povrules.errors.LanguageError` for
    a language other than ``zh`` or ``en``.
    """
    if "facts" not in record and isinstance(record.get("trace"), dict):
        record = dict(record, facts={"id": record["trace"].get("facts_id")})
    return _explain_trace_record(record, lang)


REQUIRED = (
    "schema",
    "engine",
    "ruleset",
    "decision",
    "as_of",
    "facts",
    "facts_digest",
    "redacted",
    "outcome",
    "labels",
    "missing",
    "trace",
    "digest",
)
_TYPES: dict[str, tuple[type, ...]] = {
    "schema": (str,),
    "engine": (dict,),
    "ruleset": (dict,),
    "decision": (str,),
    "as_of": (str,),
    "facts": (dict,),
    "facts_digest": (str,),
    "redacted": (bool,),
    "outcome": (str,),
    "labels": (list,),
    "missing": (list,),
    "trace": (dict,),
    "digest": (str,),
}
_JSON_TYPE = {str: "a string", dict: "an object", list: "an array", bool: "true or false"}


def _shape(record: Any) -> list[str]:
    """The problems of the record's top level: missing fields and wrong types."""
    if not isinstance(record, dict):
        return [f"(record): expected a JSON object, got {type(record).__name__}"]
    by_ref = "facts_ref" in record
    schema = record.get("schema") if record.get("schema") in RECORD_SCHEMAS else RECORD_SCHEMA
    problems = [
        f"{name}: missing (a {schema} record has it)"
        for name in REQUIRED
        if name not in record and not (by_ref and name == "facts")
    ]
    if by_ref:
        if record["facts_ref"] != "digest":
            problems.append(
                f"facts_ref: expected 'digest', got {json.dumps(record['facts_ref'], ensure_ascii=False)[:60]}"
            )
        if "facts" in record:
            problems.append(
                "facts: present in a record with facts_ref (a record holds its facts or names them, not both)"
            )
    for name, types in _TYPES.items():
        if name in record and not isinstance(record[name], types):
            problems.append(
                f"{name}: expected {_JSON_TYPE[types[0]]}, got {json.dumps(record[name], ensure_ascii=False)[:60]}"
            )
    if "schema" in record and isinstance(record["schema"], str) and record["schema"] not in RECORD_SCHEMAS:
        problems.append(f"schema: expected {RECORD_SCHEMA!r} or {RECORD_SCHEMA_V1!r}, got {record['schema']!r}")
    elif isinstance(record.get("trace"), dict) and (record.get("schema") == RECORD_SCHEMA) != (
        record["trace"].get("schema") == TRACE_SCHEMA_V2
    ):
        problems.append(
            f"trace.schema: a {record.get('schema')} record holds the trace of its version, "
            f"got {record['trace'].get('schema')!r}"
        )
    return problems


def _differs(problems: list[str], field: str, recorded: Any, expected: Any, against: str) -> None:
    if recorded != expected:

        def show(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False, sort_keys=True)

        problems.append(f"{against} and {field} differ: {against} is {show(expected)}, {field} is {show(recorded)}")


def _given_facts(facts: BaseModel | Mapping[str, Any], subject: Any) -> dict[str, Any]:
    """The facts given back as a record holds them: validated, so that amounts are in their canonical
    form whatever form the caller's file wrote them in. Facts that fail validation are compared as given."""
    if isinstance(facts, BaseModel):
        return facts_json(facts)
    try:
        return facts_json(parse_facts(dict(facts), subject if subject in SUBJECTS else "household"))
    except FactsError:
        return dict(facts)


def verify_record(record: dict[str, Any], *, facts: BaseModel | Mapping[str, Any] | None = None) -> None:
    """Check that a record is whole and unchanged; raise :class:`RecordError` naming each field that differs.

    The record's parts must agree with each other (the facts with
    ``facts_digest``, the trace with the outcome, labels, missing facts,
    ruleset, decision, date and engine) and the whole with ``digest``.

    For a record by reference (``"facts_ref": "digest"``), ``facts`` (the facts as a model, or as the
    record would hold them: redacted, for a redacted record) are checked against ``facts_digest`` and
    the trace's ``facts_id`` when given; without them the rest is still checked.
    """
    problems = _shape(record)
    if problems:
        raise RecordError(problems)
    for name in ("digest", "facts_digest"):
        if not _DIGEST.match(record[name]):
            problems.append(f"{name}: expected sha256:<64 hex digits>, got {record[name]!r}")
    held = record.get("facts")
    if held is None and facts is not None:
        held = _given_facts(facts, record["ruleset"].get("subject"))
    if held is not None:
        computed_facts = sha256_digest(held)
        if record["facts_digest"] != computed_facts:
            problems.append(
                f"facts_digest: recorded {record['facts_digest']} but "
                + ("facts give" if "facts" in record else "the facts given give")
                + f" {computed_facts} (the facts or their digest were changed)"
            )
    trace = record["trace"]
    ruleset = record["ruleset"]
    # An id is printed on a line of its own when the record is explained: a control character in it
    # (a newline) could forge a line, so a record holding one is refused, as facts holding one are.
    for where, value in (
        ("facts.id", held.get("id") if isinstance(held, dict) else None),
        ("trace.facts_id", trace.get("facts_id")),
    ):
        if isinstance(value, str) and not _SINGLE_LINE.fullmatch(value):
            problems.append(
                f"{where}: expected text on one line (no newline or other control character), "
                f"got {json.dumps(value, ensure_ascii=False)[:60]}"
            )
    checks: list[tuple[str, Any, Any, str] | None] = [
        ("trace.facts_digest", trace.get("facts_digest"), record["facts_digest"], "facts_digest"),
        ("trace.facts_id", trace.get("facts_id"), held.get("id"), "facts.id") if held is not None else None,
        ("trace.outcome", trace.get("outcome"), record["outcome"], "outcome"),
        ("trace.labels", trace.get("labels"), record["labels"], "labels"),
        ("trace.missing", trace.get("missing"), record["missing"], "missing"),
        (
            "trace.decision.name",
            trace["decision"].get("name") if isinstance(trace.get("decision"), dict) else None,
            record["decision"],
            "decision",
        ),
        ("trace.as_of", trace.get("as_of"), record["as_of"], "as_of"),
        ("trace.engine", trace.get("engine"), record["engine"], "engine"),
        ("trace.subject", trace.get("subject"), ruleset.get("subject"), "ruleset.subject"),
        (
            "trace.ruleset",
            trace.get("ruleset"),
            {k: ruleset.get(k) for k in ("id", "version", "digest", "jurisdiction")},
            "ruleset",
        ),
    ]
    for check in checks:
        if check is not None:
            _differs(problems, *check)
    computed = record_digest(record)
    if record["digest"] != computed:
        problems.append(
            f"digest: recorded {record['digest']} but the record's content gives {computed} "
            "(the record was changed after it was made)"
        )
    if problems:
        raise RecordError(problems)


_SINGLE_LINE = re.compile(SINGLE_LINE.removeprefix("^").removesuffix("$"))  # fullmatch: re's $ allows a final newline


class _Refused(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate key {key!r} (a reader could take either value)")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise _Refused(f"number {text} (records hold exact decimals as strings, never floating-point numbers)")


def _no_constant(text: str) -> Any:
    raise _Refused(f"{text} is not JSON")


def _schema_problems(record: dict[str, Any]) -> list[str]:
    """Validate against the JSON Schema when ``jsonschema`` is installed (the ``test`` extra installs it)."""
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - the top-level shape and the digests are still checked
        return []
    version = 1 if record.get("schema") == RECORD_SCHEMA_V1 else 2
    validator = jsonschema.Draft202012Validator(record_schema(version), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(record), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    problems = []
    for error in errors[:5]:
        best = jsonschema.exceptions.best_match([error])
        problems.append(f"{format_path(best.absolute_path) or '(record)'}: {best.message}")
    return problems


def load_record(text: str | bytes, *, facts: BaseModel | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read a record from JSON text: parse it, check its format and schema, and verify its digests.

    ``facts``: for a record by reference, the facts it names, checked as :func:`verify_record` does.
    Raises :class:`RecordError` naming the field (or the JSON position) of every problem; a text
    nested more than :data:`povrules.reading.MAX_JSON_DEPTH` deep is refused before it is parsed.
    """
    try:
        check_json_depth(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text, name="(json)")
    except ReadError as exc:
        raise RecordError(f"(json): {exc.message}") from None
    try:
        record = json.loads(text, object_pairs_hook=_object, parse_float=_no_float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise RecordError(f"(json) line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except _Refused as exc:
        raise RecordError(f"(json): {exc}") from None
    except UnicodeDecodeError as exc:
        raise RecordError(f"(json): not UTF-8 text ({exc.reason})") from None
    problems = _shape(record)
    if problems:
        raise RecordError(problems)
    problems = _schema_problems(record)
    if problems:
        raise RecordError(problems)
    verify_record(record, facts=facts)
    return cast("dict[str, Any]", record)  # _shape refused anything but a JSON object
