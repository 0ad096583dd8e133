"""Replay: decide a recorded decision again, under the ruleset the record names, and compare.

A record names its ruleset by content digest. :class:`RulesetStore` finds that
ruleset among versioned rulesets kept on disk (a folder per version) or in a
git revision. :func:`replay` re-evaluates the record's facts as of the
record's date under that ruleset, rebuilds the record, and either confirms it
byte for byte or names the first place where the two differ: the rule and
condition, with both values. A record whose ruleset is not in the store is an
error; replay never falls back to another version.

:func:`replay_with_current` deliberately uses another ruleset (usually today's)
and says so: its result is marked ``with_current`` and lists what changed
between the two rulesets.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import attrs
from pydantic import BaseModel

from povrules.audit.record import RECORD_SCHEMA_V1, load_record, make_record, record_json
from povrules.engine import evaluate
from povrules.errors import ArgumentTypeError, PovrulesError
from povrules.facts import parse_facts
from povrules.ruleset.diff import RulesetDiff, diff_rulesets
from povrules.ruleset.loader import load_ruleset
from povrules.ruleset.model import Ruleset
from povrules.trace import leaf_conditions
from povrules.wording import RESULT_WORDS, check_lang, phrase

# Redacting a redacted record again changes nothing (an already hashed value is kept as it is), so
# a replay of a redacted record needs no secret: this key never hashes anything new in practice,
# and if a personal value were left in clear, the replayed record would differ and replay says so.
_REPLAY_KEY = b"povrules-replay-no-secret-needed"


class ReplayError(PovrulesError):
    """A record cannot be replayed: its ruleset is not available, or its facts or decision no longer load."""


def _short(digest: str) -> str:
    return digest[:19] + "…" if len(digest) > 19 else digest


# The store


@attrs.frozen
class _Entry:
    path: str  # as shown to people
    ruleset: Ruleset


class RulesetStore:
    """Versioned rulesets found under folders, indexed by content digest.

    Every ``ruleset.yaml`` under the given folders (or the given files
    themselves) is a candidate, e.g. ``store/cn-yunnan-weishan/2016.1/ruleset.yaml``;
    each file's ``extends`` resolves relative to that file, so a store keeps
    the parents its rulesets extend. Files are loaded on first use. A file
    that fails to load is kept in :attr:`errors` and named when a wanted
    ruleset is not found, since it might have been that one.
    """

    def __init__(self, *paths: str | Path) -> None:
        if not paths:
            raise ReplayError("a ruleset store needs at least one folder")
        self._paths = tuple(Path(p) for p in paths)
        for path in self._paths:
            if not path.exists():
                raise ReplayError(f"ruleset store: no such folder or file: {path}")
        self._label: tuple[str, str] | None = None  # (temporary prefix, what to show instead)
        self.source = ", ".join(str(p) for p in self._paths)
        self._entries: list[_Entry] | None = None
        self._errors: list[tuple[str, str]] = []
        self._by_digest: dict[str, Ruleset] = {}

    @classmethod
    def from_git(cls, repo: str | Path, rev: str, path: str = "rulesets") -> RulesetStore:
        """The rulesets under ``path`` as they were at revision ``rev`` of the git repository ``repo``.

        The revision's folder is unpacked (``git archive``) into a temporary
        folder, loaded, and the temporary folder removed.
        """
        commit = (
            _git(
                repo,
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{rev}^{{commit}}",
                what=f"revision {rev!r}",
            )
            .decode()
            .strip()
        )
        archive = _git(repo, "archive", "--format=tar", commit, "--", path, what=f"{path!r} at {rev}")
        tmp = tempfile.mkdtemp(prefix="povrules-store-")
        try:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(tmp, filter="data")
            root = Path(tmp) / path
            if not root.exists():
                raise ReplayError(f"git: {path!r} is not in revision {rev} of {repo}")
            store = cls(root)
            store._label = (str(Path(tmp)) + "/", f"{rev}:")
            store.source = f"git {repo} {rev} ({commit[:12]}) {path}"
            store._load()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return store

    def _show(self, text: str) -> str:
        if self._label is None:
            return text
        return text.replace(self._label[0], self._label[1])

    def _files(self) -> Iterator[Path]:
        for path in self._paths:
            if path.is_file():
                yield path
            else:
                yield from sorted(path.rglob("ruleset.yaml"))

    def _load(self) -> list[_Entry]:
        if self._entries is not None:
            return self._entries
        entries: list[_Entry] = []
        for file in self._files():
            shown = self._show(str(file))
            try:
                ruleset = load_ruleset(file)
            except PovrulesError as exc:
                self._errors.append((shown, self._show(str(exc))))
                continue
            entries.append(_Entry(shown, ruleset))
            self._by_digest.setdefault(ruleset.digest, ruleset)
        self._entries = entries
        return entries

    @property
    def rulesets(self) -> tuple[Ruleset, ...]:
        """Every ruleset found, one per digest, in the order of their files."""
        self._load()
        return tuple(self._by_digest.values())

    @property
    def errors(self) -> tuple[tuple[str, str], ...]:
        """The files that failed to load: (file, error)."""
        self._load()
        return tuple(self._errors)

    def versions(self, ruleset_id: str) -> tuple[tuple[str, str, str], ...]:
        """The versions of ``ruleset_id`` in the store: (version, digest, file), in file order."""
        return tuple((e.ruleset.version, e.ruleset.digest, e.path) for e in self._load() if e.ruleset.id == ruleset_id)

    def __contains__(self, digest: object) -> bool:
        self._load()
        return digest in self._by_digest

    def __len__(self) -> int:
        return len(self.rulesets)

    def find(self, digest: str) -> Ruleset | None:
        """The ruleset with this digest, or None."""
        self._load()
        return self._by_digest.get(digest)

    def get(self, digest: str, *, ruleset_id: str | None = None, version: str | None = None) -> Ruleset:
        """The ruleset whose content digest is ``digest``; :class:`ReplayError` if the store does not have it.

        ``ruleset_id`` and ``version`` (as a record names them) only make the
        error message useful: the digest alone decides.

        Raises :class:`ReplayError` when the store has no ruleset of that digest.
        """
        found = self.find(digest)
        if found is not None:
            return found
        name = " ".join(x for x in ("ruleset", ruleset_id, version) if x)
        message = f"{name} ({digest}) is not in the store ({self.source})"
        if ruleset_id is not None:
            versions = self.versions(ruleset_id)
            if versions:
                message += "; the store has versions: " + ", ".join(f"{v} ({_short(d)}, {p})" for v, d, p in versions)
                if version is not None and any(v == version for v, _, _ in versions):
                    message += (
                        f". Its version {version} has another digest: the same version label with other "
                        "content, so it is not the ruleset the record names"
                    )
            else:
                ids = sorted({e.ruleset.id for e in self._load()})
                message += f"; the store has no version of {ruleset_id}" + (
                    f" (it has {', '.join(ids)})" if ids else " (it holds no ruleset)"
                )
        elif self._by_digest:
            message += "; the store has: " + ", ".join(
                f"{e.ruleset.id} {e.ruleset.version} ({_short(e.ruleset.digest)})" for e in self._load()
            )
        if self._errors:
            message += (
                f"; {len(self._errors)} ruleset file(s) in the store could not be loaded and might hold it: "
                + "; ".join(f"{path}: {error}" for path, error in self._errors)
            )
        raise ReplayError(message)

    def __repr__(self) -> str:
        return f"<RulesetStore {self.source}>"


def _git(repo: str | Path, *args: str, what: str) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise ReplayError("git is not installed: a ruleset store from a git revision needs it") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ReplayError(f"git: cannot read {what} in {repo}" + (f": {detail[-1]}" if detail else ""))
    return proc.stdout


# Comparing records


@attrs.frozen
class Divergence:
    """The first place where the replayed record differs from the recorded one.

    ``field`` is its path in the record (``trace.rules[3].conditions[0]`` in v1,
    ``trace.rules[3].condition[0].items[1]`` in v2,
    ``outcome`` …). Inside the trace, ``rule`` is the rule's id and, for a
    condition, ``condition`` its expression and ``where`` the list elements it
    was evaluated for. ``recorded`` and ``replayed`` are both values: for a
    condition, its operand values and result. In an amount's figures
    (``trace.amount.parts[1].rows[0].steps[0]``, ``trace.amount.parts[1].value``,
    ``trace.amount.total``), ``rule`` is the row, ``condition`` the step's
    expression and ``where`` the member or item the part is for.
    """

    field: str
    recorded: Any
    replayed: Any
    rule: str | None = None
    condition: str | None = None
    where: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "rule": self.rule,
            "condition": self.condition,
            "where": list(self.where),
            "recorded": self.recorded,
            "replayed": self.replayed,
        }

    def explain(self, lang: str = "en") -> str:
        """The first difference in words. Raises :class:`~povrules.errors.LanguageError` for another language."""
        check_lang(lang)
        if self.field.startswith("trace.amount"):
            where = phrase("divergence.where", lang, where=", ".join(self.where)) if self.where else ""
            if self.condition is not None:
                head = phrase("divergence.amount_step", lang, rule=self.rule, step=self.condition, where=where)
            elif self.rule is not None:
                head = phrase("divergence.amount_row", lang, rule=self.rule, field=self.field, where=where)
            else:
                head = phrase("divergence.amount", lang, field=self.field, where=where)
        elif self.condition is not None:
            where = phrase("divergence.where", lang, where=", ".join(self.where)) if self.where else ""
            head = phrase("divergence.condition", lang, rule=self.rule, condition=self.condition, where=where)
        elif self.rule is not None:
            head = phrase("divergence.rule", lang, rule=self.rule, field=self.field)
        else:
            head = self.field
        recorded, replayed = self._value(self.recorded, lang), self._value(self.replayed, lang)
        return phrase("divergence", lang, head=head, recorded=recorded, replayed=replayed)

    def _value(self, value: Any, lang: str) -> str:
        """A condition's values as ``4800 < 4500 → does not hold``; anything else as JSON."""
        if (
            self.condition is not None
            and isinstance(value, dict)
            and set(value) <= {"result", "left", "op", "right", "value"}
        ):
            given = value.get("result")
            result = RESULT_WORDS[check_lang(lang)].get(given, given) if isinstance(given, str) else given
            if "op" in value:
                shown = f"{_shown_value(value.get('left'))} {value['op']} {_shown_value(value.get('right'))}"
            else:
                shown = _shown_value(value.get("value"))
            return f"{shown} → {result}"
        if self.condition is not None and isinstance(value, dict) and set(value) == {"op", "args", "result"}:
            args = [_shown_value(v) for v in value.get("args") or []]
            op = str(value.get("op"))
            if op == "value":  # a figure that is one reference: its value is all there is
                return _shown_value(value.get("result"))
            shown = f" {op} ".join(args) if op in ("+", "-", "*", "/") else f"{op}({', '.join(args)})"
            return f"{shown} = {_shown_value(value.get('result'))}"
        if value is None:
            return phrase("none_paren", lang)
        return value if isinstance(value, str) else record_json(value)


def _shown_value(value: Any) -> str:
    """An operand's value as a report shows it: text as it is, anything else as its JSON."""
    return value if isinstance(value, str) else record_json(value)


def _condition_values(condition: dict[str, Any] | None) -> Any:
    """A trace condition as its result and operand values (with the expression if it is not the same)."""
    if condition is None:
        return None
    out: dict[str, Any] = {"result": condition.get("result")}
    for side in ("left", "right", "value"):
        if isinstance(condition.get(side), dict):
            out[side] = condition[side].get("value")
    if "op" in condition:
        out["op"] = condition["op"]
    return out


_RULE_KEYS = (
    "role",
    "result",
    "status",
    "missing",
    "parameters",
    "outcome",
    "strength",
    "override",
    "valid",
    "override_by",
    "cite",
    "note",
    "title",
)


def _first_in_rule(i: int, old: dict[str, Any], new: dict[str, Any]) -> Divergence | None:
    rule_id = old.get("id")
    field = f"trace.rules[{i}]"
    old_conditions, new_conditions = leaf_conditions(old), leaf_conditions(new)
    for j in range(max(len(old_conditions), len(new_conditions))):
        place, a = old_conditions[j] if j < len(old_conditions) else (None, None)
        new_place, b = new_conditions[j] if j < len(new_conditions) else (None, None)
        place = place or new_place
        if a == b:
            continue
        shown = a if a is not None else b
        assert shown is not None
        recorded, replayed = _condition_values(a), _condition_values(b)
        if a is not None and b is not None and (a.get("expr") != b.get("expr") or a.get("where") != b.get("where")):
            recorded = dict(recorded, expr=a.get("expr"), where=a.get("where", []))
            replayed = dict(replayed, expr=b.get("expr"), where=b.get("where", []))
        elif recorded == replayed:  # the values agree; something else in the condition differs (a fact path)
            recorded, replayed = a, b
        return Divergence(
            f"{field}.{place}", recorded, replayed, rule_id, shown.get("expr"), tuple(shown.get("where", ()))
        )
    keys = [k for k in _RULE_KEYS] + sorted((old.keys() | new.keys()) - set(_RULE_KEYS) - {"id", "conditions"})
    for key in keys:
        if old.get(key) != new.get(key):
            return Divergence(f"{field}.{key}", old.get(key), new.get(key), rule_id)
    return None


# What of an amount's part is compared, in order, after its rows' arithmetic.
_PART_KEYS = ("rows", "before", "rounded", "limited_by", "limit", "limit_steps", "value", "missing", "index", "element")


def _first_in_amount(old: Any, new: Any) -> Divergence | None:
    """The first difference in an amount decision's figures: part by part (a member's, an item's), each
    row's arithmetic step by step, then the figure, then the total; named by the row and the element."""
    if old == new:
        return None
    if not isinstance(old, dict) or not isinstance(new, dict):
        return Divergence("trace.amount", old, new)
    old_parts, new_parts = old.get("parts") or [], new.get("parts") or []
    for k in range(max(len(old_parts), len(new_parts))):
        a = old_parts[k] if k < len(old_parts) else None
        b = new_parts[k] if k < len(new_parts) else None
        if a == b:
            continue
        field = f"trace.amount.parts[{k}]"
        if not isinstance(a, dict) or not isinstance(b, dict):
            return Divergence(field, a, b)
        where = tuple(str(p["element"]) for p in (a, b) if p.get("element") is not None)[:1]
        old_rows, new_rows = a.get("rows") or [], b.get("rows") or []
        for r in range(max(len(old_rows), len(new_rows))):
            x = old_rows[r] if r < len(old_rows) else None
            y = new_rows[r] if r < len(new_rows) else None
            if x == y:
                continue
            rule = (x or y or {}).get("id")
            if not isinstance(x, dict) or not isinstance(y, dict) or x.get("id") != y.get("id"):
                return Divergence(f"{field}.rows[{r}].id", (x or {}).get("id"), (y or {}).get("id"), rule, None, where)
            steps_x, steps_y = x.get("steps") or [], y.get("steps") or []
            for j in range(max(len(steps_x), len(steps_y))):
                sx = steps_x[j] if j < len(steps_x) else None
                sy = steps_y[j] if j < len(steps_y) else None
                if sx != sy:
                    expr = (sx or sy or {}).get("expr")
                    return Divergence(
                        f"{field}.rows[{r}].steps[{j}]", _step_values(sx), _step_values(sy), rule, expr, where
                    )
            for key in sorted(x.keys() | y.keys()):
                if x.get(key) != y.get(key):
                    return Divergence(f"{field}.rows[{r}].{key}", x.get(key), y.get(key), rule, None, where)
        rule = next((row.get("id") for row in old_rows if isinstance(row, dict)), None)
        for key in (*_PART_KEYS, *sorted((a.keys() | b.keys()) - set(_PART_KEYS))):
            if a.get(key) != b.get(key):
                return Divergence(f"{field}.{key}", a.get(key), b.get(key), rule, None, where)
    for key in ("total", *sorted((old.keys() | new.keys()) - {"total", "parts"})):
        if old.get(key) != new.get(key):
            return Divergence(f"trace.amount.{key}", old.get(key), new.get(key))
    return None


def _step_values(step: Any) -> Any:
    """A step of a figure's arithmetic as its operands' values and result: ``12000 * 50 → 600000``."""
    if not isinstance(step, dict):
        return step
    values = [a.get("value") if isinstance(a, dict) else a for a in step.get("args", [])]
    return {"op": step.get("op"), "args": values, "result": step.get("result")}


# Top-level fields, in the order they are compared after the rules of the trace.
_FIELDS = (
    ("outcome",),
    ("labels",),
    ("missing",),
    ("trace", "possible"),
    ("trace", "reasons"),
    ("facts",),
    ("facts_digest",),
    ("redacted",),
    ("decision",),
    ("as_of",),
    ("trace", "decision"),
    ("trace", "subject"),
    ("trace", "facts_id"),
    ("trace", "facts_digest"),
    ("trace", "traced"),
    ("engine",),
    ("trace", "engine"),
    ("ruleset",),
    ("trace", "ruleset"),
    ("schema",),
    ("trace", "schema"),
)
_IDENTITY = {("ruleset",), ("trace", "ruleset")}


def _get(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def first_divergence(
    recorded: dict[str, Any], replayed: dict[str, Any], *, ignore_ruleset: bool = False
) -> Divergence | None:
    """The first difference between two records: in trace order (rule by rule, condition by
    condition), then the top-level fields (outcome, labels, missing …). None if they agree."""
    old_rules = recorded["trace"].get("rules", [])
    new_rules = replayed["trace"].get("rules", [])
    for i in range(max(len(old_rules), len(new_rules))):
        a = old_rules[i] if i < len(old_rules) else None
        b = new_rules[i] if i < len(new_rules) else None
        if a == b:
            continue
        if a is None or b is None or a.get("id") != b.get("id"):
            return Divergence(
                f"trace.rules[{i}].id", a.get("id") if a else None, b.get("id") if b else None, (a or b or {}).get("id")
            )
        found = _first_in_rule(i, a, b)
        if found is not None:
            return found
    seen: set[tuple[str, ...]] = {("trace", "rules"), ("trace", "amount")}
    found = _first_in_amount(recorded["trace"].get("amount"), replayed["trace"].get("amount"))
    if found is not None:
        return found
    for path in _FIELDS:
        seen.add(path)
        if ignore_ruleset and path in _IDENTITY:
            continue
        if _get(recorded, path) != _get(replayed, path):
            return Divergence(".".join(path), _get(recorded, path), _get(replayed, path))
    rest = sorted(
        {(k,) for k in recorded.keys() | replayed.keys()}
        | {("trace", k) for k in recorded["trace"].keys() | replayed["trace"].keys()}
    )
    for path in rest:
        if path in seen or path == ("digest",) or path == ("trace",):
            continue
        if _get(recorded, path) != _get(replayed, path):
            return Divergence(".".join(path), _get(recorded, path), _get(replayed, path))
    return None


@attrs.frozen(eq=False)
class Replay:
    """The result of replaying a record.

    ``identical``: the rebuilt record is byte-identical to the recorded one
    (for ``with_current``, identical except for which ruleset decided).
    ``divergence``: the first difference, or None. ``with_current`` is True
    when the record was decided again under a ruleset other than the one it
    names (see :func:`replay_with_current`); then ``changes`` lists what
    changed between the two rulesets, when the recorded one was available.
    """

    identical: bool
    record_digest: str
    replayed_digest: str
    divergence: Divergence | None
    recorded_ruleset: dict[str, Any]
    ruleset: dict[str, Any]
    replayed: dict[str, Any] = attrs.field(repr=False)
    with_current: bool = False
    changes: RulesetDiff | None = None
    recorded_outcome: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "with_current": self.with_current,
            "record_digest": self.record_digest,
            "replayed_digest": self.replayed_digest,
            "recorded_ruleset": self.recorded_ruleset,
            "ruleset": self.ruleset,
            "outcome": {"recorded": self.recorded_outcome, "replayed": self.replayed.get("outcome")},
            "divergence": self.divergence.to_dict() if self.divergence else None,
            "changes": self.changes.to_dict() if self.changes else None,
        }

    def explain(self, lang: str = "en") -> str:
        """The replay's result in words: identical or not, and what differs. Raises :class:`~povrules.errors.LanguageError` for another language."""
        check_lang(lang)
        rs = self.ruleset
        under = f"{rs['id']} {rs['version']} ({_short(rs['digest'])})"
        lines = []
        if self.with_current:
            old = self.recorded_ruleset
            lines.append(
                phrase(
                    "replay.with_current",
                    lang,
                    old=f"{old['id']} {old['version']} ({_short(old['digest'])})",
                    under=under,
                )
            )
        if self.identical:
            if self.with_current:
                lines.append(phrase("replay.same", lang))
            else:
                lines.append(phrase("replay.identical", lang, record=_short(self.record_digest), under=under))
        else:
            if not self.with_current:
                lines.append(
                    phrase(
                        "replay.differs", lang, record=_short(self.record_digest), replayed=_short(self.replayed_digest)
                    )
                )
            if self.divergence is not None:
                lines.append(self.divergence.explain(lang))
            recorded_outcome = self.recorded_outcome
            if recorded_outcome != self.replayed.get("outcome"):
                lines.append(
                    phrase("replay.outcome", lang, recorded=recorded_outcome, now=self.replayed.get("outcome"))
                )
        if self.with_current:
            if self.changes is None:
                lines.append(phrase("replay.no_ruleset", lang))
            else:
                lines.append(phrase("replay.changes", lang))
                lines.append(self.changes.explain(lang))
        return "\n".join(lines)


Facts = BaseModel | Mapping[str, Any] | None


def _load(record: dict[str, Any] | str | bytes, facts: Facts = None) -> dict[str, Any]:
    if isinstance(record, (str, bytes, bytearray)):
        rec = load_record(record, facts=facts)
    elif isinstance(record, dict):
        rec = load_record(record_json(record), facts=facts)  # the same checks as for a record read from a file
    else:
        raise ArgumentTypeError(f"replay: expected a record (a dict or its JSON text), got {type(record).__name__}")
    if "facts" not in rec:
        if facts is None:
            raise ReplayError(
                f"record {_short(rec['digest'])} holds its facts by reference (facts_ref: digest): "
                "give them back (facts=...) to replay it"
            )
        # The facts given passed the digest check above: put them where a record holding its facts has them.
        rec = dict(
            rec, facts=facts.model_dump(mode="json", exclude_none=True) if isinstance(facts, BaseModel) else dict(facts)
        )
    return rec


def _as_recorded(rec: dict[str, Any]) -> dict[str, Any]:
    """The record as stored: without the facts given back for a record by reference."""
    return {k: v for k, v in rec.items() if k != "facts"} if "facts_ref" in rec else rec


def _identity(ruleset: Ruleset) -> dict[str, Any]:
    return {"id": ruleset.id, "version": ruleset.version, "digest": ruleset.digest}


def _rebuild(record: dict[str, Any], ruleset: Ruleset) -> dict[str, Any]:
    """Decide the record's facts again under ``ruleset`` as of the record's date, and make the record."""
    subject = record["ruleset"].get("subject")
    if subject != ruleset.subject:
        raise ReplayError(
            f"the record decides about a {subject}, ruleset {ruleset.id} {ruleset.version} about a {ruleset.subject}"
        )
    try:
        facts = parse_facts(record["facts"], ruleset.subject, source="record facts")
        decision = evaluate(facts, ruleset, record["decision"], as_of=date.fromisoformat(record["as_of"]))
    except PovrulesError as exc:
        raise ReplayError(f"cannot decide the record again under {ruleset.id} {ruleset.version}: {exc}") from None
    return make_record(
        decision,
        redact_key=_REPLAY_KEY if record["redacted"] else None,
        facts="digest" if "facts_ref" in record else "embed",
        version=1 if record.get("schema") == RECORD_SCHEMA_V1 else 2,
    )  # v1 replays as v1


def replay(record: dict[str, Any] | str | bytes, store: RulesetStore, *, facts: Facts = None) -> Replay:
    """Decide a recorded decision again under the ruleset the record names, and compare.

    The record is loaded and verified first (:func:`load_record`). The
    ruleset is taken from ``store`` by the digest the record names, never
    another version: if the store does not have it, :class:`ReplayError`. The
    record's facts (redacted ones too) are validated again and evaluated as
    of the record's date; the record is rebuilt the same way (redacted or not)
    and compared byte for byte. If it differs, ``divergence`` names the first
    difference in trace order.

    A record by reference (``"facts_ref": "digest"``) needs its ``facts`` given back (a model, or
    the facts as the record would hold them); they must match ``facts_digest``. Without them,
    :class:`ReplayError`.

    Raises :class:`ReplayError` (no such ruleset in the store, facts missing or not matching, an evaluation
    that fails), :class:`RecordError` for a record that does not verify, and
    :class:`~povrules.errors.ArgumentTypeError` for anything but a record or its JSON text.
    """
    rec = _load(record, facts)
    named = rec["ruleset"]
    ruleset = store.get(named["digest"], ruleset_id=named.get("id"), version=named.get("version"))
    replayed = _rebuild(rec, ruleset)
    rec = _as_recorded(rec)
    divergence = None if replayed["digest"] == rec["digest"] else first_divergence(rec, replayed)
    if divergence is None and replayed["digest"] != rec["digest"]:  # pragma: no cover - a difference shows somewhere
        divergence = Divergence("digest", rec["digest"], replayed["digest"])
    return Replay(
        identical=divergence is None,
        record_digest=rec["digest"],
        replayed_digest=replayed["digest"],
        divergence=divergence,
        recorded_ruleset=dict(_identity_of(named)),
        ruleset=_identity(ruleset),
        replayed=replayed,
        recorded_outcome=rec["outcome"],
    )


def _identity_of(named: dict[str, Any]) -> dict[str, Any]:
    return {"id": named.get("id"), "version": named.get("version"), "digest": named.get("digest")}


def replay_with_current(
    record: dict[str, Any] | str | bytes, ruleset: Ruleset, store: RulesetStore | None = None, *, facts: Facts = None
) -> Replay:
    """Decide a recorded decision again under ``ruleset`` (usually today's), on purpose not the recorded one.

    The result is marked ``with_current=True``. ``identical`` means the
    decision and its whole trace agree apart from which ruleset made it;
    otherwise ``divergence`` names the first difference. If ``store`` holds
    the recorded ruleset, ``changes`` is the :class:`RulesetDiff` from it to
    ``ruleset``. ``facts``: as for :func:`replay`.

    Raises as :func:`replay` does.
    """
    rec = _load(record, facts)
    named = rec["ruleset"]
    replayed = _rebuild(rec, ruleset)
    rec = _as_recorded(rec)
    divergence = first_divergence(rec, replayed, ignore_ruleset=True)
    changes = None
    if store is not None:
        old = store.find(named["digest"])
        if old is not None:
            changes = diff_rulesets(old, ruleset)
    return Replay(
        identical=divergence is None,
        record_digest=rec["digest"],
        replayed_digest=replayed["digest"],
        divergence=divergence,
        recorded_ruleset=_identity_of(named),
        ruleset=_identity(ruleset),
        replayed=replayed,
        with_current=True,
        changes=changes,
        recorded_outcome=rec["outcome"],
    )
