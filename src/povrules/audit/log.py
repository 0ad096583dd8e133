"""The decision log: an append-only file of decision records, each line chained to the one before.

Format
    JSON Lines, UTF-8. Every line is one entry, in canonical JSON (sorted keys, no spaces, the
    text of :func:`povrules.canonical.canonical_json`), ended by ``\\n``::

        {"digest":"sha256:<hex>","prev":"sha256:<hex>","record":{...},"seq":1}

    * ``seq``: the entry's number, 1 for the first line, then 2, 3 … with no gap: line *n* of an
      intact log holds ``seq`` *n*.
    * ``prev``: the ``digest`` of the line before; for the first line, the sha256 of the empty
      string (:data:`GENESIS`).
    * ``record``: the decision record, a JSON object, stored as given; a ``povrules.record`` (v1 or v2) record
      is also checked against its own ``digest`` (an edit made and the chain computed again after it).
    * ``digest``: ``"sha256:"`` and the hex sha256 of the UTF-8 canonical JSON of
      ``{"seq": …, "prev": …, "record": …}``.

    Since the writer writes canonical JSON, the digest is also the sha256 of the line's own bytes
    from ``"prev"`` to the end (newline left out), with a ``{`` put before them: that is what
    :func:`verify_log` checks, without writing each record out again. A line whose digest does not
    match its bytes is then written out again in canonical form, to tell an edit (the content's
    digest differs) from a change of layout alone (spaces, key order: reported as ``malformed``).

    Batch markers. A batch written by :meth:`DecisionLog.batch` is framed by two marker lines, chained
    and numbered like entries (markers take ``seq`` numbers, so line *n* still holds ``seq`` *n*)::

        {"digest":"sha256:<hex>","mark":"begin","prev":"sha256:<hex>","seq":7}
        … the batch's entries …
        {"count":3,"digest":"sha256:<hex>","mark":"commit","prev":"sha256:<hex>","seq":11}

    A marker's ``digest`` is the sha256 of the canonical JSON of the marker without it; ``count`` is
    the number of entries between the two. A batch without its commit at the *end* of the file
    (a writer killed in the middle; its last line may be partial) is not part of the log: readers
    leave it out and :func:`verify_log` reports its size (:attr:`LogReport.uncommitted_lines`).
    Anywhere else a begin without a commit, a commit without a begin, or a wrong ``count`` is
    ``malformed``. Logs written before markers existed have none and verify as before. Readers that
    predate markers refuse a log that has them (not an entry): the format is newer, not different.

    Changing any byte of a record changes its line's digest; changing the digest as well breaks the
    ``prev`` of the next line. Removing or moving lines breaks the run of ``seq`` numbers. So an edit,
    a deletion or a reordering anywhere shows at the first line it touches. What the chain alone
    cannot show is a chain rewritten with care from some line on, and the removal of whole lines at
    the *end*: a shorter log is a valid log. Anchors close both. A writer holding an anchor key
    (``DecisionLog(path, anchor_key=...)``) gives each batch's commit an ``anchor``: ``hmac-sha256:``
    and the HMAC-SHA256 under the key of :data:`_ANCHOR_CONTEXT` and the commit's canonical body
    without ``anchor`` and ``digest`` (:func:`anchor_of`); the commit's ``digest`` covers the anchor.
    ``verify_log(path, anchor_key=...)`` checks them and that the log ends anchored. And the head
    (:attr:`LogReport.last_seq`, :attr:`LogReport.last_digest`), kept somewhere else, is checked by
    ``verify_log(path, expect_head=...)``: a log ending before it is ``cut``.

    Every line is read bounded: a line longer than :data:`MAX_LINE` is ``malformed`` and is skipped,
    never held in memory.

Appends
    :meth:`DecisionLog.append` and :meth:`DecisionLog.append_many` take an exclusive ``flock`` on the
    file, read its last line (from the end, not the whole file) for ``seq`` and ``prev``, write the
    new line or lines with one ``write`` on a descriptor opened with ``O_APPEND``, ``fsync`` and
    release the lock. Writers in several processes therefore take turns: no entry is lost and no two
    are mixed. A write that reports fewer bytes than it was given, or fails, is cut back before the
    lock is released.

Batches
    :meth:`DecisionLog.batch` holds the lock for the whole batch. Before its first byte, it writes
    ``<log>.pending`` (``{"offset": <where the batch begins>}``, written to a temporary file, synced
    and renamed into place); then the begin line; then the entries, made as they are added and
    written in pieces of about 1 MB (memory stays bounded for any size); then the commit line and an
    ``fsync``; then it removes the note. An exception inside the ``with`` cuts the file back to the
    offset. A process killed at any point leaves the note: the next writer (append, batch or repair)
    holds the lock, which proves the old writer gone (``flock`` is released when a process dies),
    reads the note, and cuts the file back to the offset unless the file ends with that batch's
    commit (killed after the commit, before the note was removed); it logs what it removed (a
    warning on ``povrules.audit.log``). So a batch is wholly present or wholly absent, and finding an
    abandoned batch costs one small file's existence check, not a scan of the log.

Crashes
    A process killed in the middle of its write can leave at most one partial line, at the end,
    without its ``\\n`` (after a batch's first lines, whole and chained, if the write was a batch).
    :func:`verify_log` reports it as ``truncated`` at that line; everything before it still verifies.
    :meth:`DecisionLog.append` refuses to write after it: chaining a new
    entry onto a line that may be half of one would hide where the damage is. A person decides, then
    runs ``povrules repair`` (:meth:`DecisionLog.repair`), which verifies the log under its lock, logs
    what it removes (lines, offset, size, records, digests, the start of a partial line), cuts the file
    back to the end of the last committed line and returns the same description. ``repair`` removes
    only a crashed tail (a partial line, a batch never committed); a log failing anywhere else is
    refused and left for a person to look at.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import hashlib
import hmac
import json
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

import attrs
import orjson

from povrules.audit.record import RECORD_SCHEMAS, record_digest
from povrules.canonical import CanonicalError, canonical_bytes, canonical_json, sha256_digest
from povrules.errors import PovrulesError, UsageError
from povrules.processes import cores, start_context
from povrules.reading import MAX_DOCUMENT, ReadError, read_bounded

if TYPE_CHECKING:
    from concurrent.futures import Executor

__all__ = [
    "ANCHOR_PREFIX",
    "GENESIS",
    "MAX_LINE",
    "PROBLEM_KINDS",
    "DecisionLog",
    "LogBatch",
    "LogEntry",
    "LogError",
    "LogMark",
    "LogProblem",
    "LogReport",
    "Repair",
    "anchor_of",
    "iter_log",
    "parse_head",
    "verify_log",
]

_log = logging.getLogger(__name__)
_MIN_KEY = 16  # bytes of an anchor key, as of a redaction key

GENESIS = "sha256:" + hashlib.sha256(b"").hexdigest()
"""The ``prev`` of the first entry: the sha256 of the empty string."""

PROBLEM_KINDS = ("edited", "deleted", "reordered", "truncated", "malformed", "cut", "unanchored")
"""What :func:`verify_log` can find, see :class:`LogProblem`."""

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_FIELDS = frozenset({"seq", "prev", "record", "digest"})
_CHUNK = 1 << 16
_BLOCK = 1 << 20  # reading ahead for a batch's commit
_WRITE_CHUNK = 1 << 20  # a batch writes its lines in pieces of about this size
PENDING_SUFFIX = ".pending"
_NOTE_MAX = 4096  # bytes of a pending note: {"offset": …, "pid": …}
MAX_LINE = MAX_DOCUMENT + (1 << 12)
"""Bytes of one line: a record of at most :data:`povrules.reading.MAX_DOCUMENT` and its frame. A longer
line is not read into memory; it is ``malformed``."""
ANCHOR_PREFIX = "hmac-sha256:"
_ANCHOR_CONTEXT = b"povrules.log.anchor.v1\n"  # an anchor's HMAC is of this and the commit's body: never another use
_BODY_AT = len('{"digest":"sha256:') + 64 + 2  # where "prev" starts in a line


class LogError(PovrulesError):
    """A decision log cannot be read, written or trusted; names the file and, when known, the line."""

    def __init__(self, path: str | os.PathLike[str], message: str, line: int | None = None, kind: str | None = None):
        self.path = str(path)
        self.line = line
        self.kind = kind
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


@attrs.frozen
class LogEntry:
    """One line of the log."""

    seq: int
    prev: str
    record: dict[str, Any]
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "prev": self.prev, "record": self.record, "digest": self.digest}


@attrs.frozen
class LogMark:
    """A batch marker line: ``begin`` opens a batch, ``commit`` closes it (``count``: the records between)."""

    seq: int
    prev: str
    mark: str
    digest: str
    count: int | None = None
    anchor: str | None = None  # a commit's HMAC under the writer's anchor key, when it held one

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "prev": self.prev, "mark": self.mark, "digest": self.digest}
        if self.count is not None:
            out["count"] = self.count
        if self.anchor is not None:
            out["anchor"] = self.anchor
        return out


@attrs.frozen
class LogProblem:
    """The first thing wrong with a log, at a 1-based line.

    ``kind`` is one of:

    * ``edited``: the line's digest does not match its content; or its ``seq`` follows on but its
      ``prev`` is not the digest of the line before (that line, or this one, was rewritten and its
      digest computed again); or its record, a ``povrules.record`` (v1 or v2) record, does not match its own
      ``digest`` (the record was changed and the chain computed again after it); or, checked against
      a head kept elsewhere, the line that head names has another digest; or, under an anchor key,
      a commit's anchor is not the HMAC of its content (the chain was rewritten without the key);
    * ``deleted``: ``seq`` jumps forward and the numbers skipped appear nowhere later in the file;
    * ``reordered``: ``seq`` jumps forward and a skipped number appears further on, or ``seq`` goes
      back (a line moved or copied);
    * ``truncated``: the last line is not a whole entry: no ``\\n`` at its end, or not JSON (what a
      write cut short leaves);
    * ``malformed``: a line that is not JSON before the end, an empty line, a JSON value that is not
      an entry (fields, types), an entry not written in canonical form, or a line longer than
      :data:`MAX_LINE`;
    * ``cut``: a head kept elsewhere names a line past the log's end: lines were removed from the end;
    * ``unanchored``: under an anchor key, committed lines follow the last commit with a valid anchor
      (or no commit has one): nothing proves that a key holder wrote them.
    """

    line: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}: {self.message}"


@attrs.frozen
class LogReport:
    """What :func:`verify_log` found.

    ``entries`` counts the entries verified from the start up to the first problem; ``lines`` counts
    every line of the file, a partial last line included. ``last_seq`` and ``last_digest`` are the head
    of the verified part (0 and :data:`GENESIS` when it is empty). ``anchored_seq`` is set when the log
    was verified under an anchor key: the head of the last commit whose anchor verified.
    """

    path: str
    lines: int
    entries: int
    size: int
    last_seq: int
    last_digest: str
    problem: LogProblem | None
    uncommitted_lines: int = 0
    uncommitted_bytes: int = 0
    anchored_seq: int | None = None  # with an anchor key: the last seq a valid anchor covers (0: none)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def uncommitted(self) -> bool:
        """Whether the file ends in a batch that was begun and never committed (ignored: not part of the log)."""
        return self.uncommitted_lines > 0

    def __str__(self) -> str:
        head = f"{self.path}: {self.entries} entries verified of {self.lines} lines"
        if self.uncommitted:
            head += (
                f" ({self.uncommitted_lines} lines, {self.uncommitted_bytes} bytes at the end: a batch never "
                "committed, not part of the log)"
            )
        if self.problem is None:
            return f"{head}, ok; head seq {self.last_seq} {self.last_digest}"
        p = self.problem
        return f"{head}; {self.path}:{p.line}: {p.kind}: {p.message}"


@attrs.frozen
class Repair:
    """The tail :meth:`DecisionLog.repair` removed (or would remove, with ``dry_run``).

    ``line`` to ``last_line`` are the lines removed, ``removed`` bytes from ``offset``; ``records`` of
    them were records; ``digests`` are the digests of the whole lines removed, in order (a partial
    line has none); ``preview`` is the start of the last line's text. ``kind`` says what the tail
    was: ``"partial line"`` (a write cut short) or ``"uncommitted batch"`` (a batch whose writer
    stopped before its commit).
    """

    path: str
    line: int
    offset: int
    removed: int
    preview: str
    kind: str = "partial line"
    last_line: int | None = None
    records: int = 0
    digests: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = f"line {self.line}" if self.last_line in (None, self.line) else f"lines {self.line} to {self.last_line}"
        what = (
            "a line that is not a whole entry"
            if self.kind == "partial line"
            else f"a batch never committed, {self.records} record(s)"
        )
        return (
            f"{self.path}:{self.line}: {lines}, {self.removed} bytes from offset {self.offset} ({what}): {self.preview}"
        )


# --- encoding -------------------------------------------------------------------------------------


def _body(seq: int, prev: str, record_json: str) -> str:
    """Canonical JSON of ``{"seq", "prev", "record"}``, given the record's canonical JSON.

    The keys sort as prev < record < seq, so joining the pieces gives the same text as
    ``canonical_json({"seq": seq, "prev": prev, "record": record})`` without serialising the
    record twice.
    """
    return '{"prev":' + json.dumps(prev) + ',"record":' + record_json + ',"seq":' + str(seq) + "}"


def _encode(seq: int, prev: str, record_json: str) -> tuple[bytes, str]:
    body = _body(seq, prev, record_json).encode("utf-8")
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    # "digest" sorts before "prev": the entry's canonical JSON is the body with the digest put first.
    return b'{"digest":"' + digest.encode("ascii") + b'",' + body[1:] + b"\n", digest


def _record_json(record: Any, index: int, path: str) -> str:
    if not isinstance(record, Mapping):
        raise LogError(path, f"record {index} is a {type(record).__name__}, not a JSON object")
    try:
        text = canonical_json(dict(record))
        text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise LogError(path, f"record {index} cannot be written as JSON: {exc}") from None
    return text


# --- decoding and checking -------------------------------------------------------------------------


def _is_partial(raw: bytes) -> bool:
    """Whether a last line is not a whole entry's line: no newline at its end, or not JSON."""
    if not raw.endswith(b"\n"):
        return True
    try:
        _loads(raw)
    except (ValueError, UnicodeDecodeError):
        return True
    return False


def _loads(text: bytes) -> Any:
    """orjson's parse; the stdlib's for what orjson refuses (ints beyond 64 bits, NaN, lone surrogates)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_MARK_FIELDS = {
    "begin": frozenset({"digest", "mark", "prev", "seq"}),
    "commit": frozenset({"count", "digest", "mark", "prev", "seq"}),
}
_ANCHOR = re.compile(r"hmac-sha256:[0-9a-f]{64}")


def _mark_body(seq: int, prev: str, mark: str, count: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"mark": mark, "prev": prev, "seq": seq}
    if count is not None:
        body["count"] = count
    return body


def anchor_of(key: bytes, seq: int, prev: str, count: int) -> str:
    """The anchor of a commit line: the HMAC-SHA256, under ``key``, of the commit's body without it.

    The body names ``prev``, the digest of the line before, which chains back to the first line: a
    valid anchor vouches for every line up to its commit. Whoever rewrites the chain without the
    key cannot make one.

    Raises nothing for bytes ``key``; any other key is a ``TypeError`` of :mod:`hmac`.
    """
    message = _ANCHOR_CONTEXT + canonical_bytes(_mark_body(seq, prev, "commit", count))
    return ANCHOR_PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()


def _encode_mark(
    seq: int, prev: str, mark: str, count: int | None = None, anchor: str | None = None
) -> tuple[bytes, str]:
    body = _mark_body(seq, prev, mark, count)
    if anchor is not None:
        body["anchor"] = anchor
    digest = sha256_digest(body)
    return canonical_bytes({**body, "digest": digest}) + b"\n", digest


def _decode_mark(obj: dict[str, Any], raw: bytes, line: int) -> LogMark | LogProblem:
    mark = obj.get("mark")
    fields = _MARK_FIELDS.get(mark) if isinstance(mark, str) else None
    anchor = obj.get("anchor") if mark == "commit" else None
    if anchor is not None and fields is not None:
        fields = fields | {"anchor"}
    if fields is None or not isinstance(mark, str) or obj.keys() != fields:  # a mark that is no string has no fields
        return LogProblem(
            line,
            "malformed",
            f"not a log entry or batch marker: found the fields {sorted(obj)}"
            + (f" and mark {mark!r}" if fields is None else ""),
        )
    seq, prev, digest, count = obj["seq"], obj["prev"], obj["digest"], obj.get("count")
    if type(seq) is not int or seq < 1:
        return LogProblem(line, "malformed", f"seq must be a whole number from 1, found {seq!r}")
    if mark == "commit" and (type(count) is not int or count < 0):
        return LogProblem(line, "malformed", f"a commit's count must be a whole number, found {count!r}")
    for name, value in (("prev", prev), ("digest", digest)):
        if not isinstance(value, str) or not _DIGEST.fullmatch(value):
            return LogProblem(line, "malformed", f"{name} must be 'sha256:' and 64 hex digits, found {value!r}")
    if anchor is not None and (not isinstance(anchor, str) or not _ANCHOR.fullmatch(anchor)):
        return LogProblem(line, "malformed", f"an anchor must be 'hmac-sha256:' and 64 hex digits, found {anchor!r}")
    again, computed = _encode_mark(seq, prev, mark, count, anchor)
    if computed != digest:
        return LogProblem(
            line, "edited", f"seq {seq} ({mark}): the content's digest is {computed}, the line says {digest}"
        )
    if again != raw:
        return LogProblem(
            line, "malformed", f"seq {seq} ({mark}): the digest matches but the line is not in canonical form"
        )
    return LogMark(seq, prev, mark, digest, count, anchor)


def _too_long(line: int) -> LogProblem:
    return LogProblem(
        line,
        "malformed",
        f"the line is longer than {MAX_LINE} bytes (a record is at most {MAX_DOCUMENT >> 20} MiB): not read",
    )


def _decode(raw: bytes, line: int, last: bool) -> LogEntry | LogMark | LogProblem:
    """One line (with its newline, if it has one) → the entry, or what is wrong with it on its own."""
    if len(raw) > MAX_LINE:
        return _too_long(line)
    if last and _is_partial(raw):
        return LogProblem(
            line,
            "truncated",
            f"the last line ({len(raw)} bytes) is not a whole entry: "
            + ("no newline at its end" if not raw.endswith(b"\n") else "not JSON"),
        )
    text = raw[:-1]
    if not text:
        return LogProblem(line, "malformed", "empty line")
    try:
        obj = _loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return LogProblem(line, "malformed", f"not JSON ({exc})")
    if isinstance(obj, dict) and "mark" in obj and "record" not in obj:
        return _decode_mark(obj, raw, line)
    if not isinstance(obj, dict) or obj.keys() != _FIELDS:
        found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        return LogProblem(
            line, "malformed", f"not a log entry: expected the fields digest, prev, record, seq, found {found}"
        )
    seq, prev, record, digest = obj["seq"], obj["prev"], obj["record"], obj["digest"]
    if type(seq) is not int or seq < 1:
        return LogProblem(line, "malformed", f"seq must be a whole number from 1, found {seq!r}")
    for name, value in (("prev", prev), ("digest", digest)):
        if not isinstance(value, str) or not _DIGEST.fullmatch(value):
            return LogProblem(line, "malformed", f"{name} must be 'sha256:' and 64 hex digits, found {value!r}")
    if not isinstance(record, dict):
        return LogProblem(line, "malformed", f"record must be a JSON object, found {type(record).__name__}")
    # Fast path: the line is laid out as the writer lays it out, and its digest is the sha256 of its
    # bytes from "prev" on; those bytes are then the canonical JSON that was hashed when it was written.
    head = b'{"digest":"' + digest.encode("ascii") + b'","prev":"' + prev.encode("ascii") + b'","record":{'
    if raw.startswith(head) and raw.endswith(b',"seq":' + str(seq).encode("ascii") + b"}\n"):
        hashed = hashlib.sha256(b"{")
        hashed.update(memoryview(raw)[_BODY_AT:-1])  # no copy of the line
        if "sha256:" + hashed.hexdigest() == digest:
            tail = len(',"seq":}\n') + len(str(seq))
            return _own_digest(record, memoryview(raw)[len(head) - 1 : len(raw) - tail], line, seq) or LogEntry(
                seq, prev, record, digest
            )
    # Otherwise write the content out again, to tell an edit from a change of layout only.
    try:
        again, computed = _encode(seq, prev, canonical_json(record))
    except (ValueError, UnicodeEncodeError) as exc:
        return LogProblem(line, "malformed", f"the record cannot be written back as JSON ({exc})")
    if computed != digest:
        return LogProblem(line, "edited", f"seq {seq}: the content's digest is {computed}, the line says {digest}")
    if again != raw:
        return LogProblem(line, "malformed", f"seq {seq}: the digest matches but the line is not in canonical form")
    return _own_digest(record, None, line, seq) or LogEntry(seq, prev, record, digest)


def _own_digest(record: dict[str, Any], text: memoryview | None, line: int, seq: int) -> LogProblem | None:
    """A ``povrules.record.v1`` record must match its own ``digest``: an edit made and the chain computed
    again after it shows here. ``text``: the record's canonical JSON as the line holds it, when known.

    Other records are the caller's business: the log stores them as given.
    """
    if record.get("schema") not in RECORD_SCHEMAS:
        return None
    claimed = record.get("digest")
    computed = _digest_in_place(record, claimed, text) if text is not None else None
    if computed is None:
        try:
            computed = record_digest(record)
        except CanonicalError as exc:
            return LogProblem(line, "malformed", f"seq {seq}: the record has no canonical JSON ({exc})")
    if computed != claimed:
        return LogProblem(
            line,
            "edited",
            f"seq {seq}: the record's own digest is {computed}, it says "
            f"{str(claimed)[:80]}: the record was changed and the chain's digests computed again after it",
        )
    return None


def _digest_in_place(record: Mapping[str, Any], claimed: Any, text: memoryview | bytes) -> str | None:
    """sha256 of a record's canonical JSON ``text`` with its ``"digest"`` member left out, without writing
    the record out again; ``None`` when ``text`` is not laid out as expected (the caller then does)."""
    if not isinstance(claimed, str):
        return None
    try:
        before = canonical_bytes({k: record[k] for k in record if k < "digest"})[:-1]  # the keys sorting first
        member = b'"digest":' + canonical_bytes(claimed)
    except CanonicalError:
        return None
    if len(before) > 1:
        member = b"," + member
    end = len(before) + len(member)
    if bytes(text[:end]) != before + member or bytes(text[end : end + 1]) not in (b",", b"}"):
        return None
    hashed = hashlib.sha256(before)
    hashed.update(text[end + 1 :] if len(before) == 1 and bytes(text[end : end + 1]) == b"," else text[end:])
    return "sha256:" + hashed.hexdigest()


class _Chain:
    """The running head while reading a log from its start."""

    def __init__(self, anchor_key: bytes | None = None) -> None:
        self.seq = 0
        self.digest = GENESIS
        self.open: tuple[int, int, str] | None = None  # an open batch: its begin's line, the head before it
        self.in_batch = 0  # records since the open batch's begin
        self.anchor_key = anchor_key
        self.anchored = 0  # the seq of the last commit whose anchor verified under anchor_key

    def batch(self, item: LogEntry | LogMark, line: int) -> LogProblem | None:
        """Follow the batch markers: a begin inside an open batch, a commit outside one or with the wrong count."""
        if isinstance(item, LogEntry):
            self.in_batch += 1
            return None
        if item.mark == "begin":
            if self.open is not None:
                return LogProblem(
                    line,
                    "malformed",
                    f"a batch begins (seq {item.seq}) while the batch begun at line "
                    f"{self.open[0]} has no commit: that batch was abandoned and not removed",
                )
            # link() has moved the head onto the begin already: keep the head before it, which its prev names.
            self.open, self.in_batch = (line, item.seq - 1, item.prev), 0
            return None
        if self.open is None:
            return LogProblem(line, "malformed", f"a commit (seq {item.seq}) with no batch begun before it")
        if item.count != self.in_batch:
            return LogProblem(
                line,
                "malformed",
                f"the commit (seq {item.seq}) counts {item.count} records, the batch "
                f"begun at line {self.open[0]} has {self.in_batch}",
            )
        self.open = None
        if self.anchor_key is not None and item.anchor is not None:
            if not hmac.compare_digest(item.anchor, anchor_of(self.anchor_key, item.seq, item.prev, item.count or 0)):
                return LogProblem(
                    line,
                    "edited",
                    f"seq {item.seq} (commit): its anchor is not the HMAC of its content "
                    "under the key: the chain up to here was rewritten by someone without the key "
                    "(or the key is not the writer's)",
                )
            self.anchored = item.seq
        return None

    def link(self, entry: LogEntry | LogMark, line: int) -> LogProblem | None:
        expected = self.seq + 1
        if entry.seq == expected:
            if entry.prev != self.digest:
                before = "the start of the log" if self.seq == 0 else f"the digest of seq {self.seq} (line {line - 1})"
                return LogProblem(
                    line,
                    "edited",
                    f"seq {entry.seq} follows on, but its prev {entry.prev} is not "
                    f"{before}, {self.digest}: the line before, or this one, was rewritten and its "
                    f"digest computed again",
                )
            self.seq, self.digest = entry.seq, entry.digest
            return None
        if entry.seq < expected:
            return LogProblem(line, "reordered", f"seq {entry.seq} comes after seq {self.seq}")
        skipped = f"seq {expected}" if entry.seq == expected + 1 else f"seq {expected} to {entry.seq - 1}"
        # Provisional: _classify_gap looks further on to tell a deletion from a move.
        return LogProblem(line, "deleted", f"{skipped} missing: seq {entry.seq} follows seq {self.seq}")


def _classify_gap(problem: LogProblem, low: int, high: int, rest: Iterable[bytes]) -> LogProblem:
    """A gap of seq ``low`` … ``high - 1`` is a move if one of them turns up later, else a deletion."""
    for raw in rest:
        try:
            seq = json.loads(raw).get("seq")
        except (ValueError, UnicodeDecodeError, AttributeError):
            continue
        if type(seq) is int and low <= seq < high:
            return LogProblem(
                problem.line, "reordered", f"seq {seq} was expected here but comes later; this line has seq {high}"
            )
    return problem


def _lines(f: IO[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, is last) for each line of a file opened in binary, one line in memory ahead.

    A line longer than :data:`MAX_LINE` is handed out as its first ``MAX_LINE + 1`` bytes (which
    :func:`_decode` refuses); the rest of it is skipped, not read into memory.
    """
    number = 0
    previous = None
    readline = f.readline
    while True:
        raw = readline(MAX_LINE + 1)
        if not raw:
            break
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while True:  # skip to the end of the line, a block at a time
                rest = readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
        if previous is not None:
            yield number, previous, False
        number += 1
        previous = raw
    if previous is not None:
        yield number, previous, True


def _count_lines(f: IO[bytes]) -> int:
    """The lines from ``f``'s position to its end (a last line without a newline counts), in blocks."""
    count, last = 0, b"\n"
    for block in iter(lambda: f.read(_BLOCK), b""):
        count += block.count(b"\n")
        last = block[-1:]
    return count + (last != b"\n")


def _check(lines: Iterator[tuple[int, bytes, bool]], chain: _Chain) -> Iterator[LogEntry | LogMark | LogProblem]:
    """Entries in order; stops after yielding the first problem (its kind settled)."""
    for number, raw, last in lines:
        item = _decode(raw, number, last)
        if not isinstance(item, LogProblem):
            problem = chain.link(item, number)
            if problem is None:
                problem = chain.batch(item, number)
                if problem is None:
                    yield item
                    continue
                yield problem
                return
            if problem.kind == "deleted":
                problem = _classify_gap(problem, chain.seq + 1, item.seq, (r for _, r, _ in lines))
            item = problem
        yield item
        return


def _open_for_reading(path: str | os.PathLike[str]) -> IO[bytes]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO is refused, not waited on
    except OSError as exc:
        raise LogError(path, f"cannot open the log: {exc.strerror}") from None
    try:
        _regular(fd, path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "rb", buffering=_CHUNK)


def _regular(fd: int, path: str | os.PathLike[str]) -> None:
    """Refuse a log that is not a regular file (a device such as ``/dev/zero`` never ends; a FIFO blocks)."""
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise LogError(path, "not a regular file: a decision log is a file (a folder, device or pipe is not one)")


def verify_log(
    path: str | os.PathLike[str], *, anchor_key: bytes | None = None, expect_head: tuple[int, str] | None = None
) -> LogReport:
    """Read the log from start to end and report the first problem, if any (see :class:`LogProblem`).

    ``anchor_key``: the writer's anchor key. Every commit's anchor is checked, and the log must end
    with an anchored commit: committed lines after the last valid anchor are ``unanchored``.
    ``expect_head``: a head kept elsewhere, ``(seq, digest)`` (:func:`parse_head` reads
    ``povrules log-head``'s line): a log ending before ``seq`` is ``cut``; another digest at
    ``seq`` is ``edited``. Either closes what the chain alone cannot show.

    The file is read in large blocks, a line at a time: memory does not grow with the log's length.
    A file larger than 64 MiB on a machine with more than one core is read in byte ranges by worker
    processes (one per core this process may run on), which check each line on its own; this process
    follows the chain over what they found. The report is the same either way. The parallel reading
    covers the file's size when verification starts (later appends are not read).

    Raises :class:`LogError` when the file cannot be opened (or is replaced while workers read it);
    ``OSError`` from reading it passes up, as does ``BrokenProcessPool`` if a worker is killed.
    A batch begun and never committed at the end of the file (a writer killed in the middle; its
    last line may be partial) is not part of the log: it is not a problem, and the report gives its
    size (``uncommitted_lines``, ``uncommitted_bytes``); ``entries`` and the head leave it out.
    """
    # Each line's parse makes hundreds of objects, all freed at once by reference counting: the cycle
    # collector would only walk them again and again (a third of the time), so it waits until the end.
    collecting = gc.isenabled()
    gc.disable()
    chain = _Chain(anchor_key)
    try:
        workers = cores()
        size = 0
        if workers > 1:
            try:
                size = os.stat(path).st_size
            except OSError:
                pass  # the sequential path raises the LogError for it
        if size > _PARALLEL_FROM:
            report = _verify_parallel(path, workers, chain=chain)
        else:
            report = _verify_sequential(path, chain)
    finally:
        if collecting:
            gc.enable()
    if anchor_key is not None:
        report = attrs.evolve(report, anchored_seq=chain.anchored)
    if report.problem is None and expect_head is not None:
        report = attrs.evolve(report, problem=_against_head(path, report, *expect_head))
    if report.problem is None and anchor_key is not None and chain.anchored < report.last_seq:
        after = chain.anchored + 1
        report = attrs.evolve(
            report,
            problem=LogProblem(
                after,
                "unanchored",
                f"seq {after} to {report.last_seq} follow the last valid anchor "
                + (f"(seq {chain.anchored})" if chain.anchored else "(there is none)")
                + ": nothing proves that the holder of the key wrote them",
            ),
        )
    return report


def parse_head(text: str) -> tuple[int, str]:
    """A head as ``povrules log-head`` prints it (``SEQ sha256:<hex>``; ``seq`` or ``head: seq`` before
    it is allowed, as ``verify-log`` prints it) → ``(seq, digest)``. Raises :class:`~povrules.errors.UsageError` (a ``ValueError``)."""
    words = text.split()
    while words and words[0] in ("head:", "seq"):
        words = words[1:]
    if len(words) != 2 or not words[0].isdigit() or not _DIGEST.fullmatch(words[1]):
        raise UsageError(f"expected a head as 'SEQ sha256:<64 hex digits>', got {text.strip()[:100]!r}")
    return int(words[0]), words[1]


def _against_head(path: str | os.PathLike[str], report: LogReport, seq: int, digest: str) -> LogProblem | None:
    """Compare a verified log with a head kept elsewhere (line *n* of a verified log holds seq *n*)."""
    if seq > report.last_seq:
        return LogProblem(
            report.last_seq + 1,
            "cut",
            f"the head kept names seq {seq} ({digest}); the log ends at seq "
            f"{report.last_seq}: {seq - report.last_seq} line(s) were removed from the end",
        )
    found = report.last_digest if seq == report.last_seq else _digest_at(path, seq)
    if found != digest:
        return LogProblem(
            seq,
            "edited",
            f"seq {seq} has the digest {found}; the head kept says {digest}: the chain was rewritten up to here",
        )
    return None


def _digest_at(path: str | os.PathLike[str], seq: int) -> str | None:
    """The digest of line ``seq`` (found by counting newlines in blocks)."""
    with _open_for_reading(path) as f:
        newlines, offset = 0, 0
        for block in iter(lambda: f.read(_BLOCK), b""):
            found = block.count(b"\n")
            if newlines + found >= seq - 1:
                at = -1
                for _ in range(seq - 1 - newlines):
                    at = block.index(b"\n", at + 1)
                f.seek(offset + at + 1)
                break
            newlines += found
            offset += len(block)
        else:
            return None
        raw = f.readline(MAX_LINE + 1)
    item = _decode(raw, seq, False)
    return None if isinstance(item, LogProblem) else item.digest


def _verify_sequential(path: str | os.PathLike[str], chain: _Chain | None = None) -> LogReport:
    chain = chain if chain is not None else _Chain()
    entries = 0
    problem: LogProblem | None = None
    begun: tuple[int, int] | None = None  # entries and byte offset at the open batch's begin
    with _open_for_reading(path) as f:
        counted = _Counted(_lines(f))
        for item in _check(counted, chain):
            if isinstance(item, LogProblem):
                if not (item.kind == "truncated" and chain.open is not None):
                    problem = item  # a partial line inside an open batch is part of the uncommitted tail
            elif isinstance(item, LogMark):
                begun = (entries, counted.offset - counted.size) if item.mark == "begin" else None
            else:
                entries += 1
        for _ in counted:  # count the lines after the first problem
            pass
        size = os.fstat(f.fileno()).st_size
    if problem is None and chain.open is not None and begun is not None:
        line, seq, digest = chain.open
        entries, offset = begun
        return LogReport(
            str(path), counted.count, entries, size, seq, digest, None, counted.count - line + 1, size - offset
        )
    return LogReport(str(path), counted.count, entries, size, chain.seq, chain.digest, problem)


class _Counted:
    """Wraps the line iterator to count the lines and bytes it has handed out."""

    def __init__(self, lines: Iterator[tuple[int, bytes, bool]]):
        self._lines = lines
        self.count = 0
        self.offset = 0  # bytes up to the end of the last line handed out
        self.size = 0  # that line's size

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> tuple[int, bytes, bool]:
        item = next(self._lines)
        self.count = item[0]
        self.size = len(item[1])
        self.offset += self.size
        return item


# --- verifying in worker processes ------------------------------------------------------------------
#
# Per line, almost all of verify's time is the JSON check of the record and the sha256 of the line;
# neither depends on any other line. Workers do that for byte ranges of the file and send back only
# compact facts (seq, prev, digest of lines that do not simply follow on; runs of lines that do; a
# line's own problem): never the records. The parent then follows the chain over those facts with the
# same _Chain as the sequential path, so the report is the same, problem for problem.

_PARALLEL_FROM = 64 << 20  # smaller files: starting the workers would cost more than it saves
_RANGE = 8 << 20  # bytes of the file a worker takes at a time (many more ranges than workers: even load)
_READ = 4 << 20  # a worker reads its range in blocks of this size, so its memory stays bounded
_RECORD_AT = _BODY_AT + len('"prev":"sha256:') + 64 + len('","record":')  # where the record starts in a line
_TAIL_MAX = len(',"seq":}') + 19  # up to 19 digits: an int that orjson reads too

# A worker's facts. Line indexes count from 0 within the range; offsets are the file's.
_ENTRY, _MARK, _RUN, _PROBLEM = 0, 1, 2, 3
# (_ENTRY, index, offset, size, seq, prev, digest)                 an entry that does not follow the line before
# (_MARK, index, offset, size, seq, prev, digest, mark, count, anchor)  a batch marker
# (_RUN, n, seq, digest)                                           n entries, each following on from the line before
# (_PROBLEM, index, offset, size, kind, message)                   a line wrong on its own; the worker stops there
Fact = tuple[Any, ...]


_validator: Any = None


def _json_object_validator() -> Any:
    """A check that bytes are one JSON object, without making Python objects of its content.

    pydantic-core (through pydantic, a dependency already) parses the whole text in Rust, checking the
    syntax and the UTF-8 of every string, and with no fields and extra keys ignored builds nothing but an
    empty dict: about 2/3 of the time of ``orjson.loads``, which makes every string and number. It accepts
    nothing that orjson and the stdlib both refuse (``tests/test_log_parallel.py`` checks); what it
    refuses goes to :func:`_decode`, which decides as the sequential path does.
    """
    global _validator
    if _validator is None:
        from pydantic_core import SchemaValidator, core_schema

        # Only the fields that place a record's own digest are built (see _digest_in_place).
        optional = core_schema.typed_dict_field(core_schema.any_schema(), required=False)
        fields = {name: optional for name in ("as_of", "decision", "digest", "schema")}
        _validator = SchemaValidator(core_schema.typed_dict_schema(fields, extra_behavior="ignore")).validate_json
    return _validator


def _scan_range(path: str, identity: tuple[int, int], start: int, end: int, size: int) -> tuple[int, list[Fact]] | None:
    """In a worker: check the lines that begin in ``[start, end)`` of the first ``size`` bytes of the file.

    Returns (the number of lines, their facts), the facts ending at the first line with a problem of its
    own (then the count is only up to it), or ``None`` if ``path`` is no longer the file the parent
    opened. ``OSError`` from reading passes up.
    """
    with open(path, "rb", buffering=0) as f:
        stat = os.fstat(f.fileno())
        if (stat.st_dev, stat.st_ino) != identity:
            return None
        return _scan(f, start, end, size)


def _read_at(f: IO[bytes], buffer: bytearray, offset: int, size: int) -> int:
    """Fill ``buffer`` from ``offset``, up to ``size`` bytes; returns how many were read (fewer at the end)."""
    view = memoryview(buffer)[:size]
    f.seek(offset)
    done = 0
    while done < size:
        # IO declares no readinto; every file opened for bytes has one.
        got = f.readinto(view[done:])  # type: ignore[attr-defined]
        if not got:
            break
        done += got
    return done


def _line_start(f: IO[bytes], start: int, size: int) -> int:
    """The offset of the first line that begins at ``start`` or later (``size`` if none does)."""
    if start == 0:
        return 0
    at = start - 1  # a newline just before start makes start a line's beginning
    buffer = bytearray(_CHUNK)
    while at < size:
        got = _read_at(f, buffer, at, min(_CHUNK, size - at))
        if not got:
            break
        nl = buffer.find(b"\n", 0, got)
        if nl >= 0:
            return at + nl + 1
        at += got
    return size


_HEX = re.compile(rb"[0-9a-f]{64}")
_FRAME_DIGEST = b'{"digest":"sha256:'
_FRAME_PREV = b'","prev":"sha256:'
_FRAME_RECORD = b'","record":{'
_PREV_FRAME_AT = len(_FRAME_DIGEST) + 64  # where each piece of the frame begins in a line
_PREV_AT = _PREV_FRAME_AT + len(_FRAME_PREV)
_RECORD_FRAME_AT = _PREV_AT + 64


def _scan(f: IO[bytes], start: int, end: int, size: int) -> tuple[int, list[Fact]]:
    validate = _json_object_validator()
    sha256, hex_match = hashlib.sha256, _HEX.fullmatch
    digest_at, prev_end, record_at = len(_FRAME_DIGEST), _RECORD_FRAME_AT, _RECORD_AT
    facts: list[Fact] = []
    index = 0  # lines seen so far in the range
    # The line before, when it was a whole entry or marker: its seq and the hex of its digest (valid hex,
    # since it was checked). An entry that follows on from it only adds to the run after it.
    follow_seq, follow_hex = -1, b""
    run = 0

    def fact_of_run() -> Fact:
        return _RUN, run, follow_seq, "sha256:" + follow_hex.decode("ascii")

    # One buffer, read into again and again: no new memory per block. Blocks always begin at a line's beginning.
    buffer = bytearray(_READ)
    data = buffer  # the name the loop reads through
    at = _line_start(f, start, size)
    while at < end and at < size:
        asked = min(len(buffer), size - at)
        n = _read_at(f, buffer, at, asked)
        eof = n < asked or at + n >= size
        pos = 0
        while pos < n and at + pos < end:
            nl = data.find(b"\n", pos, n)
            if nl < 0 and not eof:
                break  # the line goes on past the block: read again from its beginning
            stop = n if nl < 0 else nl + 1
            # Fast path: the line is laid out as the writer lays it out (its frame checked byte by byte),
            # its digest is the sha256 of its bytes from "prev" on, and what lies between the frame's
            # two parts is one JSON object. Such a line is exactly what _decode accepts as an entry;
            # the record is checked but never built.
            seq = 0
            if (
                nl >= 0
                and data.startswith(_FRAME_DIGEST, pos)
                and data.startswith(_FRAME_PREV, pos + _PREV_FRAME_AT)
                and data.startswith(_FRAME_RECORD, pos + _RECORD_FRAME_AT)
            ):
                cut = data.rfind(b',"seq":', max(nl - _TAIL_MAX, pos + record_at + 2), nl)
                digits = data[cut + 7 : nl - 1] if cut > 0 else b""
                # ,"seq":<1 to 19 digits, no leading zero>} up to the newline: the text str(seq) writes.
                if digits.isdigit() and digits[0] != 48 and len(digits) <= 19 and data[nl - 1] == 125:
                    hashed = sha256(b"{")
                    hashed.update(memoryview(data)[pos + _BODY_AT : nl])  # no copy of the line
                    hexdigest = hashed.hexdigest().encode("ascii")
                    # Equal to the computed digest, the line's digest is 64 lowercase hex digits too.
                    if data[pos + digest_at : pos + digest_at + 64] == hexdigest:
                        prev = data[pos + _PREV_AT : pos + prev_end]
                        try:
                            got = validate(data[pos + record_at : cut])
                        except ValueError:  # pydantic-core's ValidationError is one
                            pass
                        else:
                            # A povrules record must match its own digest; a mismatch is left to _decode.
                            if got.get("schema") not in RECORD_SCHEMAS or _digest_in_place(
                                got, got.get("digest"), memoryview(data)[pos + record_at : cut]
                            ) == got.get("digest"):
                                seq = int(digits)
            if seq:
                if seq == follow_seq + 1 and prev == follow_hex:
                    run += 1
                    follow_seq, follow_hex = seq, hexdigest
                    index += 1
                    pos = stop
                    continue
                if hex_match(prev):
                    if run:
                        facts.append(fact_of_run())
                        run = 0
                    facts.append(
                        (
                            _ENTRY,
                            index,
                            at + pos,
                            stop - pos,
                            seq,
                            "sha256:" + prev.decode("ascii"),
                            "sha256:" + hexdigest.decode("ascii"),
                        )
                    )
                    follow_seq, follow_hex = seq, hexdigest
                    index += 1
                    pos = stop
                    continue
            # Anything else is decided as the sequential path decides it.
            item = _decode(bytes(data[pos:stop]), 0, eof and stop == n)
            if run:
                facts.append(fact_of_run())
                run = 0
            if isinstance(item, LogProblem):
                # The parent stops at the first problem: nothing after it in this range is needed.
                facts.append((_PROBLEM, index, at + pos, stop - pos, item.kind, item.message))
                return index + 1, facts
            if isinstance(item, LogMark):
                facts.append(
                    (
                        _MARK,
                        index,
                        at + pos,
                        stop - pos,
                        item.seq,
                        item.prev,
                        item.digest,
                        item.mark,
                        item.count,
                        item.anchor,
                    )
                )
            else:
                facts.append((_ENTRY, index, at + pos, stop - pos, item.seq, item.prev, item.digest))
            follow_seq, follow_hex = item.seq, item.digest[7:].encode("ascii")
            index += 1
            pos = stop
        if pos == 0 and not eof:
            if len(buffer) > MAX_LINE:  # refused for its length, as on the sequential path
                if run:
                    facts.append(fact_of_run())
                long = _too_long(0)
                facts.append(
                    (_PROBLEM, index, at, _line_start(f, at + len(buffer), size) - at, long.kind, long.message)
                )
                return index + 1, facts
            buffer = data = bytearray(2 * len(buffer))  # a line longer than the buffer
            continue
        at += pos
        if eof:
            break
    if run:
        facts.append(fact_of_run())
    return index, facts


def _verify_parallel(
    path: str | os.PathLike[str], workers: int, range_bytes: int = _RANGE, chain: _Chain | None = None
) -> LogReport:
    """:func:`_verify_sequential`'s report, the lines checked by ``workers`` processes (see above)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=start_context()) as pool:
        return _verify_ranges(path, pool, range_bytes, chain)


def _verify_ranges(
    path: str | os.PathLike[str], pool: Executor, range_bytes: int, chain: _Chain | None = None
) -> LogReport:
    """Follow the chain over the facts ``pool``'s workers find in ranges of ``range_bytes`` of the file."""
    with _open_for_reading(path) as f:
        stat = os.fstat(f.fileno())
        size = stat.st_size
        identity = (stat.st_dev, stat.st_ino)
        futures = [
            pool.submit(_scan_range, os.fsdecode(path), identity, start, min(start + range_bytes, size), size)
            for start in range(0, size, range_bytes)
        ]
        chain = chain if chain is not None else _Chain()
        entries = lines = 0
        problem: LogProblem | None = None
        begun: tuple[int, int] | None = None  # entries and byte offset at the open batch's begin
        for future in futures:
            scanned = future.result()
            if scanned is None:
                raise LogError(path, "the file was replaced while it was being verified")
            count, facts = scanned
            for fact in facts:
                kind = fact[0]
                if kind == _RUN:  # each entry follows on: link() would move the head, batch() count it
                    entries += fact[1]
                    chain.in_batch += fact[1]
                    chain.seq, chain.digest = fact[2], fact[3]
                    continue
                number, offset, length = lines + fact[1] + 1, fact[2], fact[3]
                if kind == _PROBLEM:
                    problem = LogProblem(number, fact[4], fact[5])
                    if problem.kind == "truncated" and chain.open is not None:
                        problem = None  # a partial line inside an open batch is part of the uncommitted tail
                        break
                else:
                    item: LogEntry | LogMark = (
                        LogEntry(fact[4], fact[5], {}, fact[6])
                        if kind == _ENTRY
                        else LogMark(fact[4], fact[5], fact[7], fact[6], fact[8], fact[9])
                    )
                    problem = chain.link(item, number)
                    if problem is None:
                        problem = chain.batch(item, number)
                        if problem is None:
                            if isinstance(item, LogMark):
                                begun = (entries, offset) if item.mark == "begin" else None
                            else:
                                entries += 1
                            continue
                    elif problem.kind == "deleted":
                        f.seek(offset + length)
                        problem = _classify_gap(problem, chain.seq + 1, item.seq, (raw for _, raw, _ in _lines(f)))
                if problem is not None:
                    # The rest is only counted, here: the workers' ranges still to come are not needed.
                    for pending in futures:
                        pending.cancel()
                    f.seek(offset + length)
                    lines = number + _count_lines(f)
                    return LogReport(str(path), lines, entries, size, chain.seq, chain.digest, problem)
            else:
                lines += count
                continue
            lines = number  # a partial line, the last: the file's last line
            break
    if chain.open is not None and begun is not None:
        line, seq, digest = chain.open
        entries, offset = begun
        return LogReport(str(path), lines, entries, size, seq, digest, None, lines - line + 1, size - offset)
    return LogReport(str(path), lines, entries, size, chain.seq, chain.digest, None)


def _committed(path: str | os.PathLike[str], offset: int) -> bool:
    """Whether a commit line follows ``offset`` (the end of a begin line); reads ahead in blocks."""
    marker = b'\n{"count":'
    with _open_for_reading(path) as f:
        f.seek(max(offset - 1, 0))
        tail = b""
        while True:
            block = f.read(_BLOCK)
            if not block:
                return False
            data = tail + block
            if marker in data:
                return True
            tail = data[-len(marker) :]


def iter_log(path: str | os.PathLike[str]) -> Iterator[LogEntry]:
    """The log's record entries in order, each checked as it is read (batch markers are checked, not handed out).

    Raises :class:`LogError` (with ``line`` and ``kind``) at the first problem, after yielding every
    entry before it: a caller never receives an entry past a break in the chain. A batch begun and
    never committed at the end of the file is not part of the log: its records are not handed out
    (the file is read ahead to the batch's commit before its first record is).
    """
    chain = _Chain()
    with _open_for_reading(path) as f:
        counted = _Counted(_lines(f))
        for item in _check(counted, chain):
            if isinstance(item, LogProblem):
                if item.kind == "truncated" and chain.open is not None:
                    return
                raise LogError(path, f"{item.kind}: {item.message}", item.line, item.kind)
            if isinstance(item, LogMark):
                if item.mark == "begin" and not _committed(path, counted.offset):
                    return
                continue
            yield item


# --- writing ------------------------------------------------------------------------------------


def _pread(fd: int, size: int, offset: int) -> bytes:
    parts = []
    while size > 0:
        data = os.pread(fd, size, offset)
        if not data:
            break
        parts.append(data)
        size -= len(data)
        offset += len(data)
    return b"".join(parts)


def _last_line(fd: int, size: int, path: str | os.PathLike[str] = "") -> tuple[int, bytes]:
    """(offset, bytes) of the file's last line, read backwards from the end in growing chunks.

    Raises :class:`LogError` for a last line longer than :data:`MAX_LINE` (not read into memory)."""
    start, buf, chunk = size, b"", _CHUNK
    while start > 0:
        if len(buf) > MAX_LINE:
            raise LogError(
                path,
                f"the last line is longer than {MAX_LINE} bytes: not a log entry; look at the file",
                None,
                "malformed",
            )
        step = min(chunk, start)
        start -= step
        buf = _pread(fd, step, start) + buf
        cut = buf.rfind(b"\n", 0, len(buf) - 1)  # a newline before the file's final byte
        if cut >= 0 and len(buf) - cut - 1 > MAX_LINE:
            break
        if cut >= 0:
            return start + cut + 1, buf[cut + 1 :]
        chunk *= 2
    if len(buf) > MAX_LINE:
        raise LogError(
            path, f"the last line is longer than {MAX_LINE} bytes: not a log entry; look at the file", None, "malformed"
        )
    return 0, buf


def _line_number(fd: int, offset: int) -> int:
    """The 1-based number of the line starting at ``offset`` (reads the file up to there; errors only)."""
    count, at = 0, 0
    while at < offset:
        data = _pread(fd, min(_CHUNK * 16, offset - at), at)
        if not data:
            break
        count += data.count(b"\n")
        at += len(data)
    return count + 1


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "write returned no bytes")
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class DecisionLog:
    """An append-only, hash-chained log of decision records in one file (created on the first append).

    Every call opens the file, locks it, does its work and closes it; a ``DecisionLog`` holds no open
    file, so it may be shared by threads and survives a ``fork``.
    """

    def __init__(self, path: str | os.PathLike[str], *, anchor_key: bytes | None = None):
        """``anchor_key`` (at least 16 bytes, kept by the writer): every batch's commit line then carries an
        anchor, the HMAC-SHA256 of its content under the key (:func:`anchor_of`), which
        ``verify_log(..., anchor_key=...)`` checks."""
        self.path = Path(path)
        if anchor_key is not None and (not isinstance(anchor_key, bytes) or len(anchor_key) < _MIN_KEY):
            raise LogError(self.path, f"an anchor key must be at least {_MIN_KEY} bytes (a short key can be guessed)")
        self.anchor_key = anchor_key

    def __repr__(self) -> str:
        return f"DecisionLog({str(self.path)!r})"

    def append(self, record: Mapping[str, Any]) -> LogEntry:
        """Append one record; returns its entry (seq, prev, digest).

        Raises :class:`LogError` for a record that is not a JSON object, a log that cannot be written or fails
        its chain at the end.
        """
        return self._append([_record_json(record, 0, str(self.path))], [record])[0]

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> list[LogEntry]:
        """Append records in order, in one write, so that no other writer's entry comes between them.

        On an error nothing is written. A crash during the write can leave the batch's first lines,
        whole and chained, followed by at most one partial line.

        Raises :class:`LogError` as :meth:`append` does.
        """
        records = list(records)
        texts = [_record_json(r, i, str(self.path)) for i, r in enumerate(records)]
        return self._append(texts, records) if records else []

    def batch(self, *, chunk_bytes: int = _WRITE_CHUNK) -> LogBatch:
        """A batch of records that joins the log whole or not at all, of any size, in bounded memory.

        ::

            with DecisionLog(path).batch() as batch:   # holds the exclusive flock until the end
                batch.add(record)                       # a record (a JSON object), or
                batch.add_json(text)                    # its canonical JSON, made already (not parsed again)

        On a normal exit the batch is committed (a ``commit`` line, ``fsync``); on an exception the
        file is cut back to where it was. A process killed at any point leaves either the whole
        batch or a tail that readers ignore and the next writer removes (see the module docstring).

        Raises :class:`LogError` as :meth:`append` does.
        """
        return LogBatch(self, chunk_bytes)

    @property
    def pending_path(self) -> Path:
        """Where a batch in progress notes the offset it began at (removed when it ends)."""
        return self.path.with_name(self.path.name + PENDING_SUFFIX)

    def _recover(self, fd: int) -> int:
        """Under the lock: remove what a batch whose writer died left (that writer is gone: flock is free);
        returns the file's size after."""
        size = os.fstat(fd).st_size
        pending = self.pending_path
        if not pending.exists():
            return size
        try:
            note = read_bounded(pending, limit=_NOTE_MAX, what="the note of an unfinished batch")
        except ReadError as exc:
            raise LogError(pending, f"cannot read the note of an unfinished batch: {exc.message}") from None
        try:
            offset = json.loads(note)["offset"]
            if type(offset) is not int or offset < 0:
                raise ValueError(offset)
        except (ValueError, KeyError, TypeError):
            raise LogError(
                pending,
                'the note of an unfinished batch is not {"offset": <bytes>}: look at the log '
                "and remove the note by hand",
            ) from None
        if size > offset and not self._committed_at(fd, offset, size):
            line = _line_number(fd, offset)
            _log.warning(
                "removing a batch that was never committed from the decision log: %s:%d, %d bytes from "
                "offset %d (its writer stopped before the commit)",
                self.path,
                line,
                size - offset,
                offset,
            )
            os.ftruncate(fd, offset)
            os.fsync(fd)
            size = offset
        pending.unlink(missing_ok=True)
        _fsync_dir(pending)
        return size

    @staticmethod
    def _committed_at(fd: int, offset: int, size: int) -> bool:
        """Whether the batch begun at ``offset`` ends the file with its commit (its writer died after it)."""
        first = _pread(fd, 512, offset)
        begin = _decode(first[: first.find(b"\n") + 1], 0, False) if b"\n" in first else None
        _, last = _last_line(fd, size)
        commit = _decode(last, 0, True) if last.endswith(b"\n") else None
        return (
            isinstance(begin, LogMark)
            and begin.mark == "begin"
            and isinstance(commit, LogMark)
            and commit.mark == "commit"
            and commit.seq == begin.seq + (commit.count or 0) + 1
        )

    def verify(self) -> LogReport:
        """:func:`verify_log` of this log. Raises :class:`LogError` as it does."""
        return verify_log(self.path)

    def __iter__(self) -> Iterator[LogEntry]:
        return iter_log(self.path)

    def repair(self, *, dry_run: bool = False) -> Repair | None:
        """Remove a crashed tail and say what was removed: a batch never committed (its writer stopped),
        or a partial last line (see :class:`LogProblem` ``truncated``).

        Holds the exclusive lock and verifies the whole log first: a log whose committed part fails
        verification is refused (:class:`LogError` naming the line), since what is wrong there is for a
        person to look at. Returns ``None`` when there is no tail to remove. The description is logged
        (``povrules.audit.log``, warning) before the file is cut. With ``dry_run`` nothing is cut.
        """
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError as exc:
            raise LogError(self.path, f"cannot open the log: {exc.strerror}") from None
        try:
            _regular(fd, self.path)
            os.set_blocking(fd, True)
            fcntl.flock(fd, fcntl.LOCK_EX)  # the writers wait; one that died has released it
            report = verify_log(self.path)
            problem = report.problem
            if problem is not None and not (problem.kind == "truncated" and problem.line == report.lines):
                raise LogError(
                    self.path,
                    f"the log fails verification ({problem.kind}: {problem.message}); repair "
                    "removes only a crashed tail and leaves this for a person to look at",
                    problem.line,
                    problem.kind,
                )
            size = os.fstat(fd).st_size
            if report.uncommitted:
                offset, kind, first = (
                    size - report.uncommitted_bytes,
                    "uncommitted batch",
                    report.lines - report.uncommitted_lines + 1,
                )
            elif problem is not None:
                offset, kind, first = _last_line(fd, size, self.path)[0], "partial line", problem.line
            else:
                if not dry_run:
                    self._recover(fd)  # a note left by a batch that did commit: only the note goes
                return None
            repair = self._describe(fd, offset, size, first, report.lines, kind)
            if dry_run:
                return repair
            _log.warning("repairing the decision log: removing %s", repair)
            os.ftruncate(fd, offset)
            os.fsync(fd)
            self.pending_path.unlink(missing_ok=True)
            _fsync_dir(self.pending_path)
            return repair
        finally:
            os.close(fd)

    def _describe(self, fd: int, offset: int, size: int, first: int, last: int, kind: str) -> Repair:
        """What lies from ``offset`` to ``size`` (lines ``first`` to ``last``), read a line at a time."""
        digests: list[str] = []
        records = 0
        tail = b""
        with os.fdopen(os.dup(fd), "rb") as f:
            f.seek(offset)
            for _, raw, _ in _lines(f):
                item = _decode(raw, 0, False) if raw.endswith(b"\n") else None
                if isinstance(item, (LogEntry, LogMark)):
                    digests.append(item.digest)
                    records += isinstance(item, LogEntry)
                tail = raw
        preview = tail[:80].decode("utf-8", errors="replace")
        return Repair(
            str(self.path),
            first,
            offset,
            size - offset,
            repr(preview) + ("…" if len(tail) > 80 else ""),
            kind,
            last,
            records,
            tuple(digests),
        )

    def _head(self, fd: int, size: int) -> tuple[int, str]:
        """(seq, digest) of the last entry, checked; refuses a partial or foreign last line."""
        if size == 0:
            return 0, GENESIS
        offset, last = _last_line(fd, size, self.path)
        if _is_partial(last):
            line = _line_number(fd, offset)
            raise LogError(
                self.path,
                f"the last line ({len(last)} bytes) is not a whole entry, left by a write "
                f"that did not finish; nothing is appended after it until `povrules repair {self.path}` "
                "removes it",
                line,
                "truncated",
            )
        item = _decode(last, 0, True)
        if isinstance(item, LogProblem):
            line = _line_number(fd, offset)
            raise LogError(
                self.path,
                f"the last line is not a valid entry ({item.kind}: {item.message}); "
                f"nothing is appended after it: run `povrules verify-log {self.path}`",
                line,
                item.kind,
            )
        return item.seq, item.digest

    def _open_at_head(self) -> tuple[int, int, int, str]:
        """Open the log for appending, take the exclusive lock, remove what a dead batch left, and read
        the head: (descriptor, size, seq, digest). The caller closes the descriptor (releasing the lock)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            raise LogError(self.path, f"cannot open the log: {exc.strerror}") from None
        try:
            _regular(fd, self.path)
            os.set_blocking(fd, True)
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = self._recover(fd)
            seq, prev = self._head(fd, size)
        except BaseException:
            os.close(fd)
            raise
        return fd, size, seq, prev

    def _append(self, texts: list[str], records: list[Mapping[str, Any]]) -> list[LogEntry]:
        fd, size, seq, prev = self._open_at_head()
        try:
            lines, entries = [], []
            for text, record in zip(texts, records, strict=True):
                seq += 1
                line, digest = _encode(seq, prev, text)
                lines.append(line)
                entries.append(LogEntry(seq, prev, dict(record), digest))
                prev = digest
            data = b"".join(lines)
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(errno.EIO, f"short write: {written} of {len(data)} bytes")
                os.fsync(fd)
            except OSError as exc:
                os.ftruncate(fd, size)  # cut back what part of the write reached the file
                raise LogError(self.path, f"append failed, nothing written: {exc.strerror or exc}") from None
            if size == 0:
                _fsync_dir(self.path)
            return entries
        finally:
            os.close(fd)  # closing releases the lock


class LogBatch:
    """Records that join a :class:`DecisionLog` together: see :meth:`DecisionLog.batch`.

    Lines are made as records are added and written in pieces of about ``chunk_bytes``, so memory
    stays bounded for batches of millions. ``count`` is the number of records added, ``head`` the
    ``(seq, digest)`` of the last line written (after the exit, of the commit line).
    """

    def __init__(self, log: DecisionLog, chunk_bytes: int = _WRITE_CHUNK):
        self.log = log
        self.count = 0
        self.head: tuple[int, str] = (0, GENESIS)
        self._chunk = max(1, chunk_bytes)
        self._fd: int | None = None
        self._start = 0
        self._buffer: list[bytes] = []
        self._buffered = 0

    def __enter__(self) -> Self:
        fd, size, seq, prev = self.log._open_at_head()
        try:
            self._note(size)
            line, digest = _encode_mark(seq + 1, prev, "begin")
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._start = fd, size
        self._buffer, self._buffered = [line], len(line)
        self.head = (seq + 1, digest)
        return self

    def _note(self, offset: int) -> None:
        """Say where the batch begins, durably, before its first byte reaches the log."""
        pending = self.log.pending_path
        temporary = pending.with_name(pending.name + ".tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            try:
                _write_all(fd, json.dumps({"offset": offset, "pid": os.getpid()}).encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, pending)  # the note appears whole or not at all
            _fsync_dir(pending)
        except OSError as exc:
            raise LogError(pending, f"cannot write the note of a batch: {exc.strerror}") from None

    def add(self, record: Mapping[str, Any]) -> int:
        """Add a record (a JSON object); returns its ``seq``. Raises :class:`LogError` for a record that is
        not a JSON object or has no canonical JSON."""
        return self.add_json(_record_json(record, self.count, str(self.log.path)))

    def add_json(self, text: str | bytes) -> int:
        """Add a record given as its canonical JSON text (:func:`povrules.audit.record_json`, or the bytes of
        :func:`povrules.audit.make_record_json`), which is written as it is; returns its ``seq``.

        Only the shape is checked here (one JSON object on one line); text that is not canonical makes a
        line that :func:`verify_log` reports as ``malformed``. Raises :class:`LogError`.
        """
        if self._fd is None:
            raise LogError(self.log.path, "the batch is not open: use it as `with log.batch() as batch:`")
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        if data[:1] != b"{" or data[-1:] != b"}" or b"\n" in data:
            raise LogError(
                self.log.path,
                f"record {self.count}: expected the canonical JSON of one object on one line, got {data[:40]!r}",
            )
        seq, prev = self.head
        seq += 1
        body = (
            b'{"prev":"' + prev.encode("ascii") + b'","record":' + data + b',"seq":' + str(seq).encode("ascii") + b"}"
        )
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        line = b'{"digest":"' + digest.encode("ascii") + b'",' + body[1:] + b"\n"
        self._buffer.append(line)
        self._buffered += len(line)
        self.head = (seq, digest)
        self.count += 1
        if self._buffered >= self._chunk:
            self._flush()
        return seq

    def _flush(self) -> None:
        assert self._fd is not None
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer, self._buffered = [], 0
            try:
                _write_all(self._fd, data)
            except OSError as exc:
                raise LogError(self.log.path, f"batch write failed: {exc.strerror or exc}") from None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        fd = self._fd
        if fd is None:
            return
        self._fd = None
        try:
            if exc_type is None:
                try:
                    seq, prev = self.head[0] + 1, self.head[1]
                    key = self.log.anchor_key
                    anchor = anchor_of(key, seq, prev, self.count) if key is not None else None
                    line, digest = _encode_mark(seq, prev, "commit", self.count, anchor)
                    self._buffer.append(line)
                    self._fd = fd
                    self._flush()
                    self._fd = None
                    os.fsync(fd)
                    self.head = (self.head[0] + 1, digest)
                except BaseException:
                    self._fd = None
                    self._abandon(fd)
                    raise
                if self._start == 0:
                    _fsync_dir(self.log.path)
                self._forget()
            else:
                self._abandon(fd)
        finally:
            os.close(fd)  # closing releases the lock

    def _abandon(self, fd: int) -> None:
        """Cut the file back to where the batch began."""
        self._buffer, self._buffered = [], 0
        try:
            os.ftruncate(fd, self._start)
            os.fsync(fd)
        except OSError as exc:  # the note stays: the next writer cuts the batch off
            _log.error("could not cut an abandoned batch off %s: %s", self.log.path, exc)
            return
        self._forget()

    def _forget(self) -> None:
        try:
            self.log.pending_path.unlink(missing_ok=True)
            _fsync_dir(self.log.pending_path)
        except OSError as exc:  # harmless: the next writer finds the batch committed, or already cut
            _log.warning("could not remove %s: %s", self.log.pending_path, exc)
