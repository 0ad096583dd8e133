"""Ruleset YAML → :class:`Ruleset`: read, resolve ``extends``, check, compile.

Every problem is a :class:`~povrules.errors.RulesetError` at ``file:line:col``.
The content digest is taken over the resolved definition (after ``extends``),
so it changes exactly when what the ruleset means changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any, get_args

import attrs

from povrules.canonical import sha256_digest
from povrules.errors import Location, RulesetError
from povrules.facts import SUBJECTS
from povrules.facts.bodies import BODIES, FORMS, canonical_body
from povrules.facts.household import ALLOWED, STATUSES, MonitoringType
from povrules.lang import ast
from povrules.lang.checker import RESERVED, CheckProblem, Scope, check, check_condition, did_you_mean
from povrules.lang.compiler import Compiler, Fn
from povrules.lang.parser import SyntaxProblem, parse
from povrules.lang.types import BOOL, DATE, DECIMAL, ListType, RecordType, Type, is_number, record_of, type_of_value
from povrules.reading import MAX_YAML, NotUtf8, ReadError, read_text
from povrules.ruleset.local_facts import build_local_facts
from povrules.ruleset.model import (
    GRANTED,
    NO_AMOUNT,
    NOT_ELIGIBLE,
    PERIODS,
    RANKED,
    UNSETTLED,
    AmountSpec,
    Citation,
    DecisionSpec,
    Derived,
    LoadWarning,
    Parameter,
    ParameterValue,
    Per,
    Program,
    Requirement,
    Rounding,
    RoundingMode,
    Rule,
    Ruleset,
    Source,
    Text,
    TieBreak,
    TransitionSpec,
)
from povrules.ruleset.yaml import YList, YMap, expression_location, load_yaml, not_utf8

MONITORING_TYPES = get_args(MonitoringType)
SECTIONS = ("sources", "parameters", "facts", "derived", "rules", "decisions")
TOP_KEYS = frozenset({"id", "version", "title", "jurisdiction", "subject", "extends", "description", *SECTIONS})


def load_ruleset(path: str | Path) -> Ruleset:
    """Load a ruleset from a YAML file, or from a folder holding ``ruleset.yaml``.

    Raises :class:`~povrules.RulesetError` naming the file:line:col and what was expected, for a file that
    cannot be read, bad YAML, an unknown name, a type mismatch, a citation that does not match its source;
    nothing is returned in part.
    """
    reader = _Reader()
    definition = reader.read(Path(path), (), None)
    return RulesetBuilder(definition, reader.lines).build(tuple(reader.files))


def rebuild_ruleset(
    definition: YMap,
    lines: dict[str, list[str]],
    files: tuple[str, ...],
    digest: str,
    base: Ruleset | None = None,
    variant: Text | None = None,
) -> Ruleset:
    """A pickled ruleset built again from its resolved definition: no file is read.

    A variant (``variant`` given) is built as variants are, without requiring citations. Raises
    :class:`RulesetError` if the definition no longer builds, or builds to another digest than
    ``digest`` (the pickle was altered, or this version of povrules reads the definition differently).
    """
    try:
        ruleset = RulesetBuilder(definition, lines, cite_required=variant is None).build(tuple(files))
    except RulesetError as exc:
        raise RulesetError(
            f"a pickled ruleset ({digest[:19]}) no longer builds: {exc.message}", exc.location, exc.hint
        ) from None
    if ruleset.digest != digest:
        raise RulesetError(
            f"a pickled ruleset {ruleset.id!r} was pickled with digest {digest} but rebuilds to "
            f"{ruleset.digest}: the pickle was altered, or was made by another version of povrules"
        )
    if base is not None or variant is not None:
        ruleset = attrs.evolve(ruleset, base=base, variant=variant)
    return ruleset


# Reading and merging


class _Reader:
    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}
        self.files: list[str] = []

    def read(self, path: Path, chain: tuple[Path, ...], via: Location | None) -> YMap:
        """Read one file; ``via`` is the 'extends' that named it, where a missing file or a cycle is reported."""
        if path.is_dir():
            path = path / "ruleset.yaml"
        shown = str(path)
        resolved = path.resolve()
        if resolved in chain:
            raise RulesetError("'extends' forms a cycle: " + " → ".join(str(p) for p in (*chain, resolved)), via)
        if not path.exists():
            raise RulesetError(f"no ruleset file at {shown}", via)
        try:
            text = read_text(path, limit=MAX_YAML, what="a ruleset", name=shown)
        except NotUtf8 as exc:
            raise not_utf8(exc) from None
        except ReadError as exc:
            raise RulesetError(str(exc), via) from None
        self.lines[shown] = text.splitlines()
        self.files.append(shown)
        doc = load_yaml(text, shown)
        if not isinstance(doc, YMap):
            raise RulesetError("a ruleset is a mapping of keys (id, parameters, rules, …)", Location(shown, 1, 1))
        for key in doc:
            if key not in TOP_KEYS:
                raise RulesetError(f"unknown key {key!r}", doc.at(key), did_you_mean(key, TOP_KEYS))
        parent_ref = doc.get("extends")
        if parent_ref is None:
            return doc
        if not isinstance(parent_ref, str):
            raise RulesetError("'extends' takes the path of the parent ruleset", doc.at("extends"))
        mark = doc.nodes["extends"].start_mark
        via = Location(shown, mark.line + 1, mark.column + 1)
        parent = self.read(path.parent / parent_ref, (*chain, resolved), via)
        return _merge(parent, doc)


def _merge(parent: YMap, child: YMap) -> YMap:
    """The child's top-level values win; in each section the child's entries replace the parent's by key."""
    merged = YMap()
    merged.location, merged.key_locations, merged.nodes = child.location, {}, {}
    for source in (parent, child):
        for key, value in source.items():
            if key == "extends":
                continue
            if key in SECTIONS and isinstance(value, YMap) and isinstance(merged.get(key), YMap):
                section = YMap({**merged[key], **value})
                section.location = value.location
                section.key_locations = {**merged[key].key_locations, **value.key_locations}
                section.nodes = {**merged[key].nodes, **value.nodes}
                value = section
            merged[key] = value
            merged.key_locations[key] = source.at(key)
            if key in source.nodes:
                merged.nodes[key] = source.nodes[key]
    return merged


# Building


def _json_ready(value: Any) -> Any:
    """Located values → plain JSON-ready data (keys as text, dates and decimals as strings), for the digest."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, (date, Decimal)):
        return str(value)
    return value


def definition_digest(definition: YMap) -> str:
    """sha256 of a resolved definition's canonical JSON: what identifies a ruleset."""
    return sha256_digest(_json_ready(definition))


class RulesetBuilder:
    """A resolved definition (located YAML values) → a checked, compiled :class:`Ruleset`.

    The one way a ruleset is built: from a file (:func:`load_ruleset`), from an overlay
    (``variant.with_overlay``) and when a pickled ruleset is rebuilt. ``lines`` are the source files'
    lines, by file name, for error positions inside expressions. Every method raises
    :class:`RulesetError` at the offending value.
    """

    def __init__(self, definition: YMap, lines: dict[str, list[str]], *, cite_required: bool = True):
        self.d = definition
        self.lines = lines
        # A variant may propose values and rules no text states yet; a ruleset file may not. A variant may
        # also leave behind the label of an outcome it no longer gives (taking out a rule is a fair what-if),
        # where in a ruleset file such a label, or an `among` outcome never given, is a misspelling.
        self.cite_required = cite_required

    # Small typed getters, each naming the location of what is wrong.

    def _fail(self, message: str, where: Location | None, hint: str | None = None) -> RulesetError:
        return RulesetError(message, where, hint)

    def _keys(self, entry: YMap, allowed: set[str], what: str) -> None:
        for key in entry:
            if key not in allowed:
                raise self._fail(f"unknown key {key!r} in {what}", entry.at(key), did_you_mean(key, allowed))

    def _map(self, parent: YMap, key: str, what: str, required: bool = False) -> YMap:
        value = parent.get(key)
        if value is None:
            if required:
                raise self._fail(f"{what} needs '{key}'", parent.location)
            empty = YMap()
            empty.location, empty.key_locations, empty.nodes = parent.location, {}, {}
            return empty
        if not isinstance(value, YMap):
            raise self._fail(f"'{key}' in {what} must be a mapping", parent.at(key))
        return value

    def _str(self, parent: YMap, key: str, what: str, required: bool = True) -> Any:
        value = parent.get(key)
        if value is None and not required:
            return None
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and key in ("version",):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise self._fail(f"{what} needs '{key}' as text", parent.at(key) if key in parent else parent.location)
        return value

    def _free_text(self, parent: YMap, key: str, what: str) -> str | None:
        """An optional free-text field (``unit``, ``description``, a one-language ``note``): text or absent, never a mapping
        or a list, which a renderer would then have to print."""
        value = parent.get(key)
        if value is None or isinstance(value, str):
            return value
        hint = (
            "a ':' or '{' starts a mapping in YAML: quote the text, or write it after '|'"
            if isinstance(value, (YMap, YList))
            else None
        )
        raise self._fail(
            f"'{key}' of {what} is free text: write it as one string, not {_kind(value)}", parent.at(key), hint
        )

    def _note(self, parent: YMap, what: str) -> Text | None:
        """An optional ``note``: ``{zh: …, en: …}``, or one string, shown in both languages (a county's own
        ruleset may be written in one language only)."""
        value = parent.get("note")
        if value is None:
            return None
        if isinstance(value, YMap):
            return self._text(parent, "note", what)
        if not isinstance(value, str):
            raise self._fail(f"'note' of {what} is text, or {{zh: …, en: …}}: not {_kind(value)}", parent.at("note"))
        return Text(value, value)

    def _date(self, parent: YMap, key: str, what: str, required: bool = False) -> Any:
        value = parent.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, date) or isinstance(value, datetime):
            raise self._fail(
                f"'{key}' in {what} must be a date (YYYY-MM-DD)", parent.at(key) if key in parent else parent.location
            )
        return value

    def _ids(self, parent: YMap, key: str, what: str) -> tuple[str, ...]:
        value = parent.get(key)
        if value is None:
            return ()
        if not isinstance(value, YList) or not all(isinstance(v, str) for v in value):
            raise self._fail(f"'{key}' in {what} must be a list of names", parent.at(key))
        return tuple(value)

    def _bodies(self, entry: YMap, what: str) -> tuple[str, ...]:
        """``override_by``: names of the vocabulary of bodies, in either form, read as their canonical forms."""
        names = self._ids(entry, "override_by", what)
        out: list[str] = []
        for position, name in enumerate(names):
            body = canonical_body(name)
            if body is None:
                where = entry["override_by"].item_locations[position]
                raise self._fail(
                    f"'override_by' of {what} names {name!r}, which is not a body facts can record",
                    where,
                    did_you_mean(name, FORMS) or "bodies: " + ", ".join(BODIES),
                )
            if body not in out:
                out.append(body)
        return tuple(out)

    def _text(self, parent: YMap, key: str, what: str, required: bool = True) -> Text:
        value = parent.get(key)
        if value is None and not required:
            return Text("", "")
        if not isinstance(value, YMap) or not isinstance(value.get("zh"), str) or not isinstance(value.get("en"), str):
            where = parent.at(key) if key in parent else parent.location
            raise self._fail(f"{what} needs '{key}' with 'zh' and 'en' text", where)
        extra = [k for k in value if k not in ("zh", "en")]
        if extra:
            # `{zh: …, en: Income, this year}` reads as a third key `this year`: the English is cut silently.
            raise self._fail(
                f"{what}: '{key}' has a key {extra[0]!r} besides 'zh' and 'en'",
                value.at(extra[0]),
                "an unquoted comma splits a text in {…}: quote the text",
            )
        return Text(value["zh"], value["en"])

    # Sections

    def build_parameters(self) -> dict[str, Parameter]:
        """The definition's sources and parameters alone, checked: all a change of values only needs."""
        self.sources = self._sources()
        return self._parameters()

    def build(self, files: tuple[str, ...]) -> Ruleset:
        """The whole ruleset; ``files`` are the files it was read from (kept for ``Ruleset.files``)."""
        d = self.d
        ruleset_id = self._str(d, "id", "the ruleset")
        self._free_text(d, "description", "the ruleset")
        subject = self._str(d, "subject", "the ruleset", required=False) or "household"
        if subject not in SUBJECTS:
            raise self._fail(f"unknown subject {subject!r}", d.at("subject"), "subjects: " + ", ".join(SUBJECTS))
        parameters = self.build_parameters()
        self.parameters = parameters
        kind = SUBJECTS[subject]
        self.root = kind.root
        schema = record_of(kind.model)
        facts = self._map(d, "facts", "the ruleset")
        self.local = build_local_facts(facts, subject, schema, self._text, self._citation)
        self.scope = Scope(self.local.record(schema), {n: p.type for n, p in parameters.items()}, {}, root=self.root)
        derived = self._derived()
        rules = self._rules()
        decisions = self._decisions(rules)
        digest = definition_digest(d)
        traced, plain = (self._compile(derived, rules, decisions, flavour) for flavour in (True, False))
        return Ruleset(
            id=ruleset_id,
            version=self._str(d, "version", "the ruleset"),
            title=self._text(d, "title", "the ruleset"),
            jurisdiction=self._str(d, "jurisdiction", "the ruleset", required=False),
            subject=subject,
            sources=self.sources,
            parameters=parameters,
            derived=derived,
            rules=rules,
            decisions=decisions,
            digest=digest,
            files=files,
            traced=traced,
            plain=plain,
            definition=d,
            lines=self.lines,
            warnings=self._unread(parameters, rules, decisions),
            local_facts=self.local or None,
        )

    def _unread(
        self, parameters: dict[str, Parameter], rules: dict[str, Rule], decisions: dict[str, DecisionSpec]
    ) -> tuple[LoadWarning, ...]:
        """A warning for each parameter no rule (nor tiebreak) reads: changing it changes no decision, which
        is rarely what its author meant (an amount cited but never compared with, a misspelt reference)."""
        read = {name for rule in rules.values() for name in rule.parameters}
        for spec in decisions.values():
            exprs = [t.expr for t in spec.tiebreak]
            if spec.amount is not None:
                exprs += [e for e in (spec.amount.cap, spec.amount.floor) if e is not None]
            for expr in exprs:
                read |= self._parameters_used(expr) | self._parameters_used(expr, dated=True)
        return tuple(
            LoadWarning(f"parameter {name!r} is read by no rule: changing it changes no decision", parameter.location)
            for name, parameter in parameters.items()
            if name not in read
        )

    def _sources(self) -> dict[str, Source]:
        out = {}
        section = self._map(self.d, "sources", "the ruleset")
        for key, entry in section.items():
            if not isinstance(entry, YMap):
                raise self._fail(f"source {key!r} must be a mapping with 'file' and 'title'", section.at(key))
            self._keys(entry, {"file", "title"}, f"source {key!r}")
            file = self._str(entry, "file", f"source {key!r}")
            windows = PureWindowsPath(file)  # splits at '/' and at a backslash, so no '..' step hides
            if PurePath(file).is_absolute() or windows.is_absolute() or ".." in windows.parts:
                raise self._fail(
                    f"source {key!r} names {file!r}: a source file is named relative to the sources "
                    "folder, without '..' or a leading '/'",
                    entry.at("file"),
                )
            out[key] = Source(key, file, self._str(entry, "title", f"source {key!r}"))
        return out

    def _citation(self, parent: YMap, what: str, required: bool) -> Citation | None:
        entry = parent.get("cite")
        if entry is None:
            if required and self.cite_required:
                raise self._fail(
                    f"{what} needs 'cite' (source, line, quote): every rule quotes its clause", parent.location
                )
            return None
        if not isinstance(entry, YMap):
            raise self._fail(f"'cite' in {what} must be a mapping", parent.at("cite"))
        self._keys(entry, {"source", "line", "lines", "quote"}, f"the citation of {what}")
        key = self._str(entry, "source", f"the citation of {what}")
        if key not in self.sources:
            raise self._fail(f"unknown source {key!r}", entry.at("source"), did_you_mean(key, self.sources))
        lines = entry.get("lines", entry.get("line"))
        if isinstance(lines, int) and not isinstance(lines, bool):
            start = end = lines
        elif (
            isinstance(lines, YList)
            and len(lines) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in lines)
        ):
            start, end = lines
        else:
            raise self._fail(f"the citation of {what} needs 'line: N' or 'lines: [first, last]'", entry.location)
        if not 1 <= start <= end:
            raise self._fail("cited lines must be positive and in order", entry.location)
        quote = self._str(entry, "quote", f"the citation of {what}")
        return Citation(self.sources[key].file, start, end, quote, entry.location)

    def _parameters(self) -> dict[str, Parameter]:
        out = {}
        section = self._map(self.d, "parameters", "the ruleset")
        for name, entry in section.items():
            what = f"parameter {name!r}"
            if not isinstance(entry, YMap):
                raise self._fail(f"{what} must be a mapping", section.at(name))
            self._keys(entry, {"title", "unit", "type", "values", "note"}, what)
            values_node = entry.get("values")
            if not isinstance(values_node, YList) or not values_node:
                raise self._fail(f"{what} needs 'values': a list of dated values", entry.at("values"))
            declared = entry.get("type")
            values: list[ParameterValue] = []
            kinds: set[Type] = set()
            for i, item in enumerate(values_node):
                if not isinstance(item, YMap):
                    raise self._fail(
                        f"each value of {what} is a mapping with 'from' and 'value'", values_node.item_locations[i]
                    )
                self._keys(item, {"from", "until", "value", "cite", "note"}, what)
                start = self._date(item, "from", what, required=True)
                if values and start <= values[-1].start:
                    raise self._fail(
                        f"the values of {what} must be in date order, each 'from' later than the last", item.at("from")
                    )
                if values and values[-1].end is not None and start <= values[-1].end:
                    raise self._fail(
                        f"the values of {what} overlap: this one starts {start}, on or before the "
                        f"previous one's 'until' ({values[-1].end})",
                        item.at("from"),
                    )
                end = self._date(item, "until", what)
                if end is not None and end < start:
                    raise self._fail(
                        f"'until' of a value of {what} ({end}) is before its 'from' ({start})", item.at("until")
                    )
                value = self._value(item, what, declared)
                try:
                    kinds.add(type_of_value(value))
                except TypeError as exc:
                    raise self._fail(f"{what}: {exc}", item.at("value")) from None
                values.append(
                    ParameterValue(
                        start,
                        value,
                        self._citation(item, what, required=True),
                        self._note(item, f"a value of {what}"),
                        end,
                    )
                )
            if len(kinds) > 1 and not all(is_number(k) for k in kinds):
                raise self._fail(f"the values of {what} must all be of one type", entry.at("values"))
            typ = kinds.pop() if len(kinds) == 1 else DECIMAL  # int and decimal values mix as decimal
            out[name] = Parameter(
                name,
                self._text(entry, "title", what),
                self._free_text(entry, "unit", what),
                typ,
                tuple(values),
                self._note(entry, what),
                section.at(name),
            )
        return out

    def _value(self, item: YMap, what: str, declared: Any) -> Any:
        if "value" not in item:
            raise self._fail(f"each value of {what} needs 'value'", item.location)
        value = item["value"]
        # NaN and infinity are no amount: refused here, where files and variants both pass, rather than
        # raising InvalidOperation or OverflowError in the middle of an evaluation.
        if any(isinstance(v, Decimal) and not v.is_finite() for v in (value if isinstance(value, YList) else [value])):
            raise self._fail(f"a value of {what} must be a finite number, not {value!r}", item.at("value"))
        if isinstance(value, YList):
            if not all(isinstance(v, (str, int, Decimal)) and not isinstance(v, bool) for v in value):
                raise self._fail(f"a list value of {what} may hold only text or numbers", item.at("value"))
            return tuple(Decimal(v) if isinstance(v, int) else v for v in value)
        if isinstance(value, (bool, str, Decimal)) or (isinstance(value, date) and not isinstance(value, datetime)):
            return value
        if isinstance(value, int):
            return value if declared == "int" else Decimal(value)
        raise self._fail(
            f"unsupported value for {what}: expected a number, text, date, true/false or a list", item.at("value")
        )

    def _expr(self, entry: YMap, key: str, what: str, condition: bool) -> ast.Expr:
        text = entry.get(key)
        if not isinstance(text, str) or not text.strip():
            raise self._fail(f"{what} needs '{key}': an expression", entry.at(key) if key in entry else entry.location)
        node = entry.nodes[key]
        file = entry.at(key).file  # a variant's patched field comes from another file than its entry
        lines = self.lines.get(file, [])
        try:
            tree = parse(text)
            return check_condition(tree, self.scope) if condition else check(tree, self.scope)
        except SyntaxProblem as exc:
            where = expression_location(file, lines, node, exc.line, exc.column)
            raise self._fail(f"in {what}: {exc.message}", where, exc.hint) from None
        except CheckProblem as exc:
            where = expression_location(file, lines, node, exc.span.line, exc.span.column)
            raise self._fail(f"in {what}: {exc.message}", where, exc.hint) from None

    def _derived(self) -> dict[str, Derived]:
        out = {}
        section = self._map(self.d, "derived", "the ruleset")
        for name, entry in section.items():
            what = f"derived fact {name!r}"
            if not isinstance(entry, YMap):
                raise self._fail(f"{what} must be a mapping with 'expr'", section.at(name))
            self._keys(entry, {"title", "expr", "note", "requires"}, what)
            if name in RESERVED:
                raise self._fail(f"{name!r} is reserved", section.at(name))
            expr = self._expr(entry, "expr", what, condition=False)
            self._note(entry, what)
            requires = self._requires(entry, name, what)
            out[name] = Derived(
                name, self._text(entry, "title", what, required=False), expr, section.at(name), requires
            )
            assert expr.type is not None
            self.scope.derived[name] = expr.type  # later derived facts may use earlier ones
        self.derived_nodes = out
        return out

    def _requires(self, entry: YMap, name: str, what: str) -> tuple[Requirement, ...]:
        """``requires:``: what the text requires of a derived figure's inputs, each a condition with its cite."""
        node = entry.get("requires")
        if node is None:
            return ()
        if not isinstance(node, YList) or not node:
            raise self._fail(
                f"'requires' of {what} must be a list of requirements, each with 'expr' and 'cite'",
                entry.at("requires"),
            )
        out = []
        for i, item in enumerate(node):
            where = f"requirement {i + 1} of {what}"
            if not isinstance(item, YMap):
                raise self._fail(f"{where} must be a mapping with 'expr' and 'cite'", node.item_locations[i])
            self._keys(item, {"expr", "cite", "note"}, where)
            out.append(
                Requirement(
                    self._expr(item, "expr", where, condition=True),
                    self._citation(item, where, required=True),
                    self._note(item, where),
                    f"{name}.requires[{i}]",
                )
            )
        return tuple(out)

    def _parameters_used(self, node: ast.Expr, dated: bool = False) -> set[str]:
        """The parameters an expression reads, following derived facts (and their requirements): on the
        evaluation date, or with ``dated`` those read only through ``at()`` somewhere."""
        trees: list[ast.Node] = [node]
        for name in ast.derived_reads(node, self._derived_trees):
            trees.extend(self._derived_trees(name))
        names: set[str] = set()
        for tree in trees:
            on_as_of, through_at = ast.parameter_reads(tree)
            names |= through_at if dated else on_as_of
        return names

    def _derived_trees(self, name: str) -> tuple[ast.Expr, ...]:
        """A derived fact's expression and its requirements' conditions: what reading it reads."""
        derived = self.derived_nodes[name]
        return (derived.expr, *(r.expr for r in derived.requires))

    def _rules(self) -> dict[str, Rule]:
        out = {}
        section = self._map(self.d, "rules", "the ruleset")
        allowed = {"title", "when", "strength", "outcome", "level", "cite", "valid", "note", "override_by", "amount"}
        per_of = self._per_scopes()
        scope = self.scope
        for rule_id, entry in section.items():
            what = f"rule {rule_id!r}"
            if not isinstance(entry, YMap):
                raise self._fail(f"{what} must be a mapping", section.at(rule_id))
            self._keys(entry, allowed, what)
            per = per_of.get(rule_id)
            self.scope = scope if per is None else scope.bind(per.var, _item_type(per.source))
            try:
                amount = self._expr(entry, "amount", what, condition=False) if "amount" in entry else None
                if amount is not None and not is_number(amount.type):
                    raise self._fail(f"'amount' of {what} is a number, not {amount.type}", entry.at("amount"))
                # An amount row without 'when' always holds: its figure alone says what it gives.
                when = (
                    self._expr(entry, "when", what, condition=True)
                    if amount is None or "when" in entry
                    else ast.Const(span=ast.Span(1, 0, 1, 4), text="True", value=True, type=BOOL)
                )
            finally:
                self.scope = scope
            strength = entry.get("strength", "hard")
            if strength not in ("hard", "default"):
                raise self._fail(f"'strength' of {what} is 'hard' or 'default'", entry.at("strength"))
            override_by = self._bodies(entry, what)
            if strength == "default" and not override_by:
                raise self._fail(
                    f"{what} is default-strength: name who may set it aside in 'override_by' (e.g. [村民代表会议])",
                    entry.at("strength"),
                )
            valid = self._map(entry, "valid", what)
            self._keys(valid, {"from", "to"}, f"'valid' of {what}")
            valid_from, valid_to = self._date(valid, "from", what), self._date(valid, "to", what)
            if valid_from and valid_to and valid_to < valid_from:
                raise self._fail(f"'valid' of {what} ends before it starts", entry.at("valid"))
            level = entry.get("level", 1)
            if not isinstance(level, int) or isinstance(level, bool):
                raise self._fail(f"'level' of {what} must be a whole number", entry.at("level"))
            on_as_of, dated = self._parameters_used(when), self._parameters_used(when, dated=True)
            if amount is not None:
                on_as_of |= self._parameters_used(amount)
                dated |= self._parameters_used(amount, dated=True)
            outcome = entry.get("outcome")
            if outcome is not None and not isinstance(outcome, str):
                raise self._fail(f"'outcome' of {what} must be a label", entry.at("outcome"))
            out[rule_id] = Rule(
                id=rule_id,
                title=self._text(entry, "title", what),
                when=when,
                strength=strength,
                outcome=outcome,
                level=level,
                citation=self._citation(entry, what, required=True),
                valid_from=valid_from,
                valid_to=valid_to,
                note=self._note(entry, what),
                override_by=override_by,
                parameters=tuple(sorted(on_as_of | dated)),
                location=section.at(rule_id),
                dated_parameters=tuple(sorted(dated - on_as_of)),
                amount=amount,
            )
        return out

    def _per_scopes(self) -> dict[str, Per]:
        """The rows of each amount decision answered ``per`` element, with that element's binding: their
        conditions and figures are checked with the loop variable bound. A rule serves one binding only."""
        found: dict[str, Per] = {}
        section = self._map(self.d, "decisions", "the ruleset")
        for name, entry in section.items():
            if not isinstance(entry, YMap) or entry.get("kind") != "amount" or "per" not in entry:
                continue
            what = f"decision {name!r}"
            per = self._per(entry, what)
            for rule_id in self._ids(entry, "rows", what):
                seen = found.get(rule_id)
                if seen is not None and (seen.var, seen.path) != (per.var, per.path):
                    raise self._fail(
                        f"rule {rule_id!r} is a row of {what} per {per.var} in {per.path}, and of another "
                        f"decision per {seen.var} in {seen.path}: a row reads one element; write two rules",
                        self._item_at(entry, rule_id),
                    )
                found[rule_id] = per
        return found

    def _per(self, entry: YMap, what: str) -> Per:
        """``per: m in hh.members``: the loop variable and the list, checked to be a list of records."""
        text = entry.get("per")
        head, sep, tail = text.partition(" in ") if isinstance(text, str) else ("", "", "")
        var = head.strip()
        if not sep or not var.isidentifier() or not tail.strip():
            raise self._fail(f"'per' of {what} is written '<name> in <list>', e.g. 'm in hh.members'", entry.at("per"))
        if var in RESERVED or var in self.derived_nodes or var in self.parameters:
            raise self._fail(
                f"the 'per' variable {var!r} of {what} hides another name; choose another", entry.at("per")
            )
        try:
            source = check(parse(tail.strip()), self.scope)
        except (SyntaxProblem, CheckProblem) as exc:
            raise self._fail(f"in 'per' of {what}: {exc.message}", entry.at("per"), exc.hint) from None
        if not isinstance(source.type, ListType) or not isinstance(source.type.item, RecordType):
            raise self._fail(f"'per' of {what} loops over a list of records, not {source.type}", entry.at("per"))
        path = self.root + "." + ".".join(source.path) if isinstance(source, ast.FactRef) else tail.strip()
        return Per(var=var, source=source, path=path)

    def _decisions(self, rules: dict[str, Rule]) -> dict[str, DecisionSpec]:
        out: dict[str, DecisionSpec] = {}
        section = self._map(self.d, "decisions", "the ruleset")
        for name, entry in section.items():
            what = f"decision {name!r}"
            if not isinstance(entry, YMap):
                raise self._fail(f"{what} must be a mapping", section.at(name))
            kind = entry.get("kind")
            builders = {
                "eligibility": self._eligibility,
                "table": self._table,
                "ranking": self._ranking,
                "amount": self._amount,
            }
            builder = builders.get(kind) if isinstance(kind, str) else None
            if builder is None:
                raise self._fail(f"'kind' of {what} is eligibility, table, ranking or amount", entry.at("kind"))
            spec = builder(name, entry, what, rules)
            for rule_id in spec.rule_ids:
                if rule_id not in rules:
                    raise self._fail(
                        f"{what} names unknown rule {rule_id!r}",
                        self._item_at(entry, rule_id),
                        did_you_mean(rule_id, rules),
                    )
            if spec.transition is not None:
                if spec.kind == "ranking":
                    raise self._fail(
                        f"{what} is a ranking: it orders households and moves no status", entry.at("transition")
                    )
                possible = _outcomes(spec, rules)
                on = entry["transition"]["on"]
                for outcome in spec.transition.on:
                    if outcome not in possible:
                        raise self._fail(
                            f"{what} never gives the outcome {outcome!r}",
                            on.at(outcome),
                            did_you_mean(outcome, possible) or "outcomes: " + ", ".join(sorted(possible)),
                        )
            if self.cite_required:
                self._check_labels(spec, entry, what, rules)
            out[name] = spec
        for spec in out.values():
            if spec.amount is not None and spec.amount.gate_decision is not None:
                self._check_gate(spec, out, section, rules)
            if spec.among_decision is not None and spec.among_decision not in out:
                raise self._fail(
                    f"decision {spec.name!r} ranks among unknown decision {spec.among_decision!r}",
                    spec.location,
                    did_you_mean(spec.among_decision, out),
                )
            if spec.among_decision is not None and self.cite_required:
                gate = out[spec.among_decision]
                given = possible_outcomes(gate, rules)
                among = section[spec.name]["among"]
                for outcome in spec.among_outcomes:
                    if outcome not in given:
                        # Such a household could never be ranked: say so now, not by an empty ranking.
                        raise self._fail(
                            f"decision {spec.name!r} ranks among outcome {outcome!r} of {gate.name!r}, "
                            "which that decision never gives",
                            self._item_at(among, outcome),
                            did_you_mean(outcome, given) or "outcomes: " + ", ".join(sorted(given)),
                        )
        return out

    def _check_gate(
        self, spec: DecisionSpec, decisions: dict[str, DecisionSpec], section: YMap, rules: dict[str, Rule]
    ) -> None:
        """An amount's gate names a decision of this ruleset that can give each outcome listed, and is not
        itself gated by the amount (a cycle would never settle)."""
        assert spec.amount is not None and spec.amount.gate_decision is not None
        gate_node = section[spec.name]["gate"]
        name = spec.amount.gate_decision
        if name not in decisions:
            raise self._fail(
                f"decision {spec.name!r} is gated by unknown decision {name!r}",
                gate_node.at("decision"),
                did_you_mean(name, decisions),
            )
        seen = {spec.name}
        current: str | None = name
        while current is not None:
            if current in seen:
                raise self._fail(f"the gates of decision {spec.name!r} lead back to it", gate_node.at("decision"))
            seen.add(current)
            gated = decisions[current].amount
            current = gated.gate_decision if gated is not None else None
        gate = decisions[name]
        if gate.kind == "ranking":
            raise self._fail(
                f"decision {spec.name!r} is gated by a ranking, which gives no outcome to a household",
                gate_node.at("decision"),
            )
        given = possible_outcomes(gate, rules)
        for outcome in spec.amount.gate_outcomes:
            if outcome not in given:
                raise self._fail(
                    f"decision {spec.name!r} is gated by outcome {outcome!r} of {name!r}, which that decision never gives",
                    self._item_at(gate_node, outcome),
                    did_you_mean(outcome, given) or "outcomes: " + ", ".join(sorted(given)),
                )

    def _check_labels(self, spec: DecisionSpec, entry: YMap, what: str, rules: dict[str, Rule]) -> None:
        """Every key of ``labels`` is an outcome the decision can give (a misspelt one would never be shown)."""
        given = possible_outcomes(spec, rules)
        labels = self._map(entry, "labels", what)
        collect = spec.kind == "table" and spec.hit_policy == "COLLECT"
        # A COLLECT table joins its hits' outcomes in the order the rows first give them.
        order = list(dict.fromkeys(rules[row].outcome for row in spec.rows)) if collect else []
        for outcome in spec.labels:
            parts = outcome.split("+") if collect else [outcome]
            if outcome in given:
                continue
            if all(part in given for part in parts):
                if len(parts) > 1 and not all(part in order for part in parts):
                    raise self._fail(
                        f"{what} has a label for {outcome!r}, which a COLLECT table never gives: it joins "
                        "only outcomes of its rows",
                        labels.at(outcome),
                        "outcomes of its rows: " + ", ".join(str(part) for part in order),
                    )
                places = [order.index(part) for part in parts]
                if places != sorted(set(places)):
                    joined = "+".join(sorted(dict.fromkeys(parts), key=order.index))
                    raise self._fail(
                        f"{what} has a label for {outcome!r}, which a COLLECT table never gives: it joins "
                        "the outcomes of its hits once each, in the order of its rows",
                        labels.at(outcome),
                        f"write {joined!r}",
                    )
                continue
            raise self._fail(
                f"{what} has a label for {outcome!r}, an outcome it never gives",
                labels.at(outcome),
                did_you_mean(outcome, given) or "outcomes: " + ", ".join(sorted(given)),
            )

    def _item_at(self, entry: YMap, item: str) -> Location:
        """Where ``item`` is written in one of the lists of ``entry`` (criteria, exceptions, rows)."""
        for value in entry.values():
            if isinstance(value, YList) and item in value:
                return value.item_locations[value.index(item)]
        return entry.location

    def _base(self, name: str, entry: YMap, what: str, extra: set[str]) -> dict[str, Any]:
        self._keys(entry, {"kind", "title", "note", "labels", "transition"} | extra, what)
        self._note(entry, what)
        labels_node = self._map(entry, "labels", what)
        labels = {label: self._text(labels_node, label, f"label {label!r} of {what}") for label in labels_node}
        return {
            "name": name,
            "title": self._text(entry, "title", what),
            "kind": entry["kind"],
            "location": entry.location,
            "labels": labels,
            "transition": self._transition(entry, what),
        }

    def _transition(self, entry: YMap, what: str) -> TransitionSpec | None:
        """A decision's ``transition``: the monitoring statuses it applies to and where each outcome leads."""
        if "transition" not in entry:
            return None
        if self.root != "hh":
            raise self._fail(f"{what}: only household decisions move a monitoring status", entry.at("transition"))
        node = self._map(entry, "transition", what, required=True)
        where = f"'transition' of {what}"
        self._keys(node, {"applies_to", "on"}, where)
        applies_to = self._ids(node, "applies_to", where)
        for applied in applies_to:
            if applied not in STATUSES:
                raise self._fail(
                    f"unknown monitoring status {applied!r}",
                    self._item_at(node, applied),
                    did_you_mean(applied, STATUSES) or "statuses: " + ", ".join(STATUSES),
                )
        if not applies_to:
            raise self._fail(f"{where} needs 'applies_to': the statuses it may change", node.location)
        on_node = self._map(node, "on", where, required=True)
        on: dict[str, tuple[str, str | None]] = {}
        for outcome, target in on_node.items():
            at = on_node.at(outcome)
            if isinstance(target, YMap):
                self._keys(target, {"status", "type"}, f"outcome {outcome!r} in {where}")
                status, kind = target.get("status"), target.get("type")
            else:
                status, kind = target, None
            if status not in STATUSES:
                raise self._fail(
                    f"outcome {outcome!r} leads to unknown monitoring status {status!r}",
                    at,
                    (did_you_mean(status, STATUSES) if isinstance(status, str) else None)
                    or "statuses: " + ", ".join(STATUSES),
                )
            if kind is not None and kind not in MONITORING_TYPES:
                raise self._fail(f"unknown monitoring type {kind!r}", at, "types: " + ", ".join(MONITORING_TYPES))
            for start in applies_to:
                if status != start and status not in ALLOWED[start]:
                    raise self._fail(
                        f"outcome {outcome!r} would move a household from {start} to {status}, which "
                        f"the monitoring lifecycle does not allow",
                        at,
                        f"from {start}: " + ", ".join(sorted(ALLOWED[start])),
                    )
            on[outcome] = (status, kind)
        return TransitionSpec(applies_to=applies_to, on=on, location=node.location)

    def _eligibility(self, name: str, entry: YMap, what: str, rules: dict[str, Rule]) -> DecisionSpec:
        base = self._base(name, entry, what, {"criteria", "exceptions", "outcomes"})
        outcomes = self._map(entry, "outcomes", what, required=True)
        self._keys(outcomes, {"yes", "no"}, f"'outcomes' of {what}")
        exceptions = self._ids(entry, "exceptions", what)
        for rule_id in exceptions:
            if rule_id in rules and rules[rule_id].outcome is None:
                raise self._fail(
                    f"rule {rule_id!r} is an exception in {what}, so it needs an 'outcome'", rules[rule_id].location
                )
        return DecisionSpec(
            **base,
            criteria=self._ids(entry, "criteria", what),
            exceptions=exceptions,
            yes=self._str(outcomes, "yes", what),
            no=self._str(outcomes, "no", what),
        )

    def _table(self, name: str, entry: YMap, what: str, rules: dict[str, Rule]) -> DecisionSpec:
        base = self._base(name, entry, what, {"hit_policy", "rows", "default", "priority"})
        policy = entry.get("hit_policy")
        if policy not in ("UNIQUE", "FIRST", "PRIORITY", "COLLECT"):
            raise self._fail(f"'hit_policy' of {what} is UNIQUE, FIRST, PRIORITY or COLLECT", entry.at("hit_policy"))
        rows = self._ids(entry, "rows", what)
        if not rows:
            raise self._fail(f"{what} needs 'rows': the rules of the table", entry.location)
        for rule_id in rows:
            if rule_id in rules and rules[rule_id].outcome is None:
                raise self._fail(
                    f"rule {rule_id!r} is a row of {what}, so it needs an 'outcome'", rules[rule_id].location
                )
        priority = self._ids(entry, "priority", what)
        if policy == "PRIORITY":
            outcomes = {outcome for r in rows if r in rules and (outcome := rules[r].outcome) is not None}
            missing = outcomes - set(priority)
            if missing:
                raise self._fail(
                    f"'priority' of {what} must rank every row outcome; missing {sorted(missing)}", entry.at("priority")
                )
        return DecisionSpec(
            **base, hit_policy=policy, rows=rows, priority=priority, default=self._str(entry, "default", what)
        )

    def _amount(self, name: str, entry: YMap, what: str, rules: dict[str, Rule]) -> DecisionSpec:
        keys = {"unit", "period", "per", "gate", "hit_policy", "rows", "cap", "floor", "round"}
        base = self._base(name, entry, what, keys)
        policy = entry.get("hit_policy", "FIRST")
        if policy not in ("FIRST", "SUM"):
            raise self._fail(
                f"'hit_policy' of {what} is FIRST (the first row that holds gives the amount) or SUM (every row "
                "that holds adds its amount)",
                entry.at("hit_policy"),
            )
        rows = self._ids(entry, "rows", what)
        if not rows:
            raise self._fail(f"{what} needs 'rows': the rules that give its amount", entry.location)
        for rule_id in rows:
            if rule_id in rules and rules[rule_id].amount is None:
                raise self._fail(
                    f"rule {rule_id!r} is a row of amount decision {name!r}, so it needs an 'amount'",
                    rules[rule_id].location,
                )
            if rule_id in rules and rules[rule_id].outcome is not None:
                raise self._fail(
                    f"rule {rule_id!r} is a row of amount decision {name!r}: its answer is its 'amount', "
                    "so it takes no 'outcome'",
                    rules[rule_id].location,
                )
        unit = self._str(entry, "unit", what)
        period = entry.get("period", "none")
        if period not in PERIODS:
            raise self._fail(f"'period' of {what} is one of {', '.join(PERIODS)}", entry.at("period"))
        per = self._per(entry, what) if "per" in entry else None
        scope = self.scope
        self.scope = scope if per is None else scope.bind(per.var, _item_type(per.source))
        try:
            limits = {}
            for key in ("cap", "floor"):
                if key in entry:
                    expr = self._expr(entry, key, f"'{key}' of {what}", condition=False)
                    if not is_number(expr.type):
                        raise self._fail(f"'{key}' of {what} is a number, not {expr.type}", entry.at(key))
                    limits[key] = expr
        finally:
            self.scope = scope
        gate_decision: str | None = None
        gate_outcomes: tuple[str, ...] = ()
        if "gate" in entry:
            gate = self._map(entry, "gate", what, required=True)
            self._keys(gate, {"decision", "outcomes"}, f"'gate' of {what}")
            gate_decision = self._str(gate, "decision", f"'gate' of {what}")
            gate_outcomes = self._ids(gate, "outcomes", f"'gate' of {what}")
            if not gate_outcomes:
                raise self._fail(f"'gate' of {what} needs 'outcomes': those that give the amount", gate.location)
        return DecisionSpec(
            **base,
            hit_policy=policy,
            rows=rows,
            default=NO_AMOUNT,
            amount=AmountSpec(
                unit=unit,
                period=period,
                per=per,
                gate_decision=gate_decision,
                gate_outcomes=gate_outcomes,
                cap=limits.get("cap"),
                floor=limits.get("floor"),
                rounding=self._rounding(entry, what),
            ),
        )

    def _rounding(self, entry: YMap, what: str) -> Rounding | None:
        """``round: {places, mode, cite}``: only where a text states how an amount is rounded."""
        if "round" not in entry:
            return None
        node = self._map(entry, "round", what, required=True)
        where = f"'round' of {what}"
        self._keys(node, {"places", "mode", "cite"}, where)
        places = node.get("places")
        if not isinstance(places, int) or isinstance(places, bool):
            raise self._fail(
                f"{where} needs 'places': a whole number (0: to whole units, -2: to hundreds)",
                node.at("places") if "places" in node else node.location,
            )
        mode = node.get("mode", "half_up")
        if mode not in get_args(RoundingMode):
            raise self._fail(f"'mode' of {where} is one of {', '.join(get_args(RoundingMode))}", node.at("mode"))
        return Rounding(places=places, mode=mode, citation=self._citation(node, where, required=self.cite_required))

    def _ranking(self, name: str, entry: YMap, what: str, rules: dict[str, Rule]) -> DecisionSpec:
        base = self._base(name, entry, what, {"among", "criteria", "order", "tiebreak"})
        among = self._map(entry, "among", what)
        self._keys(among, {"decision", "outcomes"}, f"'among' of {what}")
        order = entry.get("order", "count")
        if order not in ("count", "lexicographic"):
            raise self._fail(f"'order' of {what} is count or lexicographic", entry.at("order"))
        tiebreaks = []
        tb_node = entry.get("tiebreak") or YList()
        if not isinstance(tb_node, YList):
            raise self._fail(f"'tiebreak' of {what} is a list of {{by, order}}", entry.at("tiebreak"))
        for i, item in enumerate(tb_node):
            if not isinstance(item, YMap):
                raise self._fail(
                    f"each tiebreak of {what} is a mapping with 'by' and 'order'", tb_node.item_locations[i]
                )
            self._keys(item, {"by", "order"}, f"a tiebreak of {what}")
            expr = self._expr(item, "by", f"a tiebreak of {what}", condition=False)
            if not (is_number(expr.type) or expr.type == DATE):
                raise self._fail(f"a tiebreak orders by a number or a date, not {expr.type}", item.at("by"))
            if item.get("order", "asc") not in ("asc", "desc"):
                raise self._fail("a tiebreak 'order' is asc or desc", item.at("order"))
            tiebreaks.append(TieBreak(expr, item.get("order") == "desc"))
        return DecisionSpec(
            **base,
            criteria=self._ids(entry, "criteria", what),
            order=order,
            tiebreak=tuple(tiebreaks),
            among_decision=self._str(among, "decision", f"'among' of {what}", required=False),
            among_outcomes=self._ids(among, "outcomes", what),
        )

    def _compile(
        self, derived: dict[str, Derived], rules: dict[str, Rule], decisions: dict[str, DecisionSpec], traced: bool
    ) -> Program:
        compiled_derived: dict[str, Fn] = {}
        compiler = Compiler(compiled_derived, traced, self.root, self.parameters)
        for name, item in derived.items():
            compiled = compiler.derived_fact(item.expr)
            if item.requires:
                compiled = compiler.requiring(compiled, [(r.expr, r.marker) for r in item.requires])
            compiled_derived[name] = compiled
        amounts = [(spec.amount, name) for name, spec in decisions.items() if spec.amount is not None]
        return Program(
            # An amount row without 'when' holds always: nothing to record in its trace.
            rules={
                rule_id: compiler.value(rule.when)
                if isinstance(rule.when, ast.Const)
                else compiler.condition(rule.when)
                for rule_id, rule in rules.items()
            },
            tiebreaks={name: tuple(compiler.value(t.expr) for t in spec.tiebreak) for name, spec in decisions.items()},
            amounts={
                rule_id: compiler.amount(rule.amount) for rule_id, rule in rules.items() if rule.amount is not None
            },
            per={name: compiler.value(a.per.source) for a, name in amounts if a.per is not None},
            caps={name: compiler.amount(a.cap) for a, name in amounts if a.cap is not None},
            floors={name: compiler.amount(a.floor) for a, name in amounts if a.floor is not None},
        )


def _item_type(source: ast.Expr) -> Type:
    """The type of one element of a checked list expression."""
    assert isinstance(source.type, ListType)
    return source.type.item


def _kind(value: Any) -> str:
    return {YMap: "a mapping", YList: "a list", bool: "true or false", date: "a date"}.get(type(value), "a number")


def possible_outcomes(spec: DecisionSpec, rules: Mapping[str, Rule]) -> set[str]:
    """Every outcome a decision can give: its settled ones and those the engine gives when it cannot settle
    (``undetermined``, ``needs_deliberation``, ``conflict``; a ranking's item is ``ranked`` or undetermined)."""
    if spec.kind == "ranking":
        return {RANKED, UNSETTLED[0]}
    return _outcomes(spec, rules) | set(UNSETTLED)


def _outcomes(spec: DecisionSpec, rules: Mapping[str, Rule]) -> set[str]:
    """The settled outcomes a decision can give (not undetermined, needs_deliberation or conflict)."""
    if spec.kind == "eligibility":
        return {spec.yes, spec.no, *(outcome for r in spec.exceptions if (outcome := rules[r].outcome))}
    if spec.kind == "amount":
        return {GRANTED, NO_AMOUNT} | ({NOT_ELIGIBLE} if spec.amount and spec.amount.gate_decision else set())
    return {spec.default, *(outcome for r in spec.rows if (outcome := rules[r].outcome))}
