"""The decision log: an append-only file of decision records, each line chained to the one before.

Format
    JSON Lines, UTF-8. Every line is one entry, in canonical JSON (sorted keys, no spaces, the
    text of :func:`povrules.trace.canonical_json`), ended by ``\\n``::

        {"digest":"sha256:<hex>","prev":"sha256:<hex>","record":{...},"seq":1}

    * ``seq``: the entry's number, 1 for the first line, then 2, 3 … with no gap: line *n* of an
      intact log holds ``seq`` *n*.
    * ``prev``: the ``digest`` of the line before; for the first line, the sha256 of the empty
      string (:data:`GENESIS`).
    * ``record``: the decision record, a JSON object, stored as given (the log does not look inside).
    * ``digest``: ``"sha256:"`` and the hex sha256 of the UTF-8 canonical JSON of
      ``{"seq": …, "prev": …, "record": …}``.

    Since the writer writes canonical JSON, the digest is also the sha256 of the line's own bytes
    from ``"prev"`` to the end (newline left out), with a ``{`` put before them: that is what
    :func:`verify_log` checks, without writing each record out again. A line whose digest does not
    match its bytes is then written out again in canonical form, to tell an edit (the content's
    digest differs) from a change of layout alone (spaces, key order: reported as ``malformed``).

    Changing any byte of a record changes its line's digest; changing the digest as well breaks the
    ``prev`` of the next line. Removing or moving lines breaks the run of ``seq`` numbers. So an edit,
    a deletion or a reordering anywhere shows at the first line it touches. What the chain alone
    cannot show is the removal of whole lines at the *end*: a shorter log is a valid log. Keep the
    head (:attr:`LogReport.last_seq` and :attr:`LogReport.last_digest`) somewhere else — a report,
    a signed note — and compare it with a later :func:`verify_log` to close that gap.

Appends
    :meth:`DecisionLog.append` and :meth:`DecisionLog.append_many` take an exclusive ``flock`` on the
    file, read its last line (from the end, not the whole file) for ``seq`` and ``prev``, write the
    new line or lines with one ``write`` on a descriptor opened with ``O_APPEND``, ``fsync`` and
    release the lock. Writers in several processes therefore take turns: no entry is lost and no two
    are mixed. A write that reports fewer bytes than it was given, or fails, is cut back before the
    lock is released.

Crashes
    A process killed in the middle of its write can leave at most one partial line, at the end,
    without its ``\\n`` (after a batch's first lines, whole and chained, if the write was a batch).
    :func:`verify_log` reports it as ``truncated`` at that line; everything before it still verifies.
    :meth:`DecisionLog.append` refuses to write after it: chaining a new
    entry onto a line that may be half of one would hide where the damage is. A person decides, then
    calls :meth:`DecisionLog.repair`, which logs what it removes (line, offset, size, the start of the
    text), cuts the file back to the end of the last whole line and returns the same description.
    ``repair`` removes only that tail; any other problem is left for a person to look at.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from povrules.errors import PovrulesError
from povrules.trace import canonical_json

__all__ = [
    "GENESIS", "PROBLEM_KINDS", "DecisionLog", "LogEntry", "LogError", "LogProblem", "LogReport", "Repair",
    "iter_log", "verify_log",
]

_log = logging.getLogger(__name__)

GENESIS = "sha256:" + hashlib.sha256(b"").hexdigest()
"""The ``prev`` of the first entry: the sha256 of the empty string."""

PROBLEM_KINDS = ("edited", "deleted", "reordered", "truncated", "malformed")
"""What :func:`verify_log` can find, see :class:`LogProblem`."""

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_FIELDS = frozenset({"seq", "prev", "record", "digest"})
_CHUNK = 1 << 16
_BODY_AT = len('{"digest":"sha256:') + 64 + 2  # where "prev" starts in a line


class LogError(PovrulesError):
    """A decision log cannot be read, written or trusted; names the file and, when known, the line."""

    def __init__(self, path: str | os.PathLike[str], message: str, line: int | None = None,
                 kind: str | None = None):
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
class LogProblem:
    """The first thing wrong with a log, at a 1-based line.

    ``kind`` is one of:

    * ``edited``: the line's digest does not match its content; or its ``seq`` follows on but its
      ``prev`` is not the digest of the line before (that line, or this one, was rewritten and its
      digest computed again);
    * ``deleted``: ``seq`` jumps forward and the numbers skipped appear nowhere later in the file;
    * ``reordered``: ``seq`` jumps forward and a skipped number appears further on, or ``seq`` goes
      back (a line moved or copied);
    * ``truncated``: the last line is not a whole entry: no ``\\n`` at its end, or not JSON (what a
      write cut short leaves);
    * ``malformed``: a line that is not JSON before the end, an empty line, a JSON value that is not
      an entry (fields, types), or an entry not written in canonical form.
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
    of the verified part (0 and :data:`GENESIS` when it is empty).
    """

    path: str
    lines: int
    entries: int
    size: int
    last_seq: int
    last_digest: str
    problem: LogProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        head = f"{self.path}: {self.entries} entries verified of {self.lines} lines"
        if self.problem is None:
            return f"{head}, ok; head seq {self.last_seq} {self.last_digest}"
        p = self.problem
        return f"{head}; {self.path}:{p.line}: {p.kind}: {p.message}"


@attrs.frozen
class Repair:
    """The partial tail :meth:`DecisionLog.repair` removed (or would remove, with ``dry_run``)."""

    path: str
    line: int
    offset: int
    removed: int
    preview: str

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}: {self.removed} bytes from offset {self.offset} "
                f"(a line that is not a whole entry): {self.preview}")


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
        json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return True
    return False


def _decode(raw: bytes, line: int, last: bool) -> LogEntry | LogProblem:
    """One line (with its newline, if it has one) → the entry, or what is wrong with it on its own."""
    if last and _is_partial(raw):
        return LogProblem(line, "truncated", f"the last line ({len(raw)} bytes) is not a whole entry: "
                          + ("no newline at its end" if not raw.endswith(b"\n") else "not JSON"))
    text = raw[:-1]
    if not text:
        return LogProblem(line, "malformed", "empty line")
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return LogProblem(line, "malformed", f"not JSON ({exc})")
    if not isinstance(obj, dict) or obj.keys() != _FIELDS:
        found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        return LogProblem(line, "malformed", f"not a log entry: expected the fields digest, prev, record, seq, "
                          f"found {found}")
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
        if "sha256:" + hashlib.sha256(b"{" + raw[_BODY_AT:-1]).hexdigest() == digest:
            return LogEntry(seq, prev, record, digest)
    # Otherwise write the content out again, to tell an edit from a change of layout only.
    try:
        again, computed = _encode(seq, prev, canonical_json(record))
    except (ValueError, UnicodeEncodeError) as exc:
        return LogProblem(line, "malformed", f"the record cannot be written back as JSON ({exc})")
    if computed != digest:
        return LogProblem(line, "edited", f"seq {seq}: the content's digest is {computed}, the line says {digest}")
    if again != raw:
        return LogProblem(line, "malformed", f"seq {seq}: the digest matches but the line is not in canonical form")
    return LogEntry(seq, prev, record, digest)


class _Chain:
    """The running head while reading a log from its start."""

    def __init__(self) -> None:
        self.seq = 0
        self.digest = GENESIS

    def link(self, entry: LogEntry, line: int) -> LogProblem | None:
        expected = self.seq + 1
        if entry.seq == expected:
            if entry.prev != self.digest:
                before = "the start of the log" if self.seq == 0 else f"the digest of seq {self.seq} (line {line - 1})"
                return LogProblem(line, "edited", f"seq {entry.seq} follows on, but its prev {entry.prev} is not "
                                  f"{before}, {self.digest}: the line before, or this one, was rewritten and its "
                                  f"digest computed again")
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
            return LogProblem(problem.line, "reordered",
                              f"seq {seq} was expected here but comes later; this line has seq {high}")
    return problem


def _lines(f: IO[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, is last) for each line of a file opened in binary, one line in memory ahead."""
    number = 0
    previous = None
    for raw in f:
        if previous is not None:
            yield number, previous, False
        number += 1
        previous = raw
    if previous is not None:
        yield number, previous, True


def _check(lines: Iterator[tuple[int, bytes, bool]], chain: _Chain) -> Iterator[LogEntry | LogProblem]:
    """Entries in order; stops after yielding the first problem (its kind settled)."""
    for number, raw, last in lines:
        item = _decode(raw, number, last)
        if isinstance(item, LogEntry):
            problem = chain.link(item, number)
            if problem is None:
                yield item
                continue
            if problem.kind == "deleted":
                problem = _classify_gap(problem, chain.seq + 1, item.seq, (r for _, r, _ in lines))
            item = problem
        yield item
        return


def _open_for_reading(path: str | os.PathLike[str]) -> IO[bytes]:
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the callers' with
    except OSError as exc:
        raise LogError(path, f"cannot open the log: {exc.strerror}") from None


def verify_log(path: str | os.PathLike[str]) -> LogReport:
    """Read the log from start to end and report the first problem, if any (see :class:`LogProblem`).

    The file is read a line at a time: memory does not grow with the log's length.
    """
    chain = _Chain()
    entries = 0
    problem: LogProblem | None = None
    with _open_for_reading(path) as f:
        counted = _Counted(_lines(f))
        for item in _check(counted, chain):
            if isinstance(item, LogProblem):
                problem = item
            else:
                entries += 1
        for _ in counted:  # count the lines after the first problem
            pass
        size = os.fstat(f.fileno()).st_size
    return LogReport(str(path), counted.count, entries, size, chain.seq, chain.digest, problem)


class _Counted:
    """Wraps the line iterator to count the lines it has handed out."""

    def __init__(self, lines: Iterator[tuple[int, bytes, bool]]):
        self._lines = lines
        self.count = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> tuple[int, bytes, bool]:
        item = next(self._lines)
        self.count = item[0]
        return item


def iter_log(path: str | os.PathLike[str]) -> Iterator[LogEntry]:
    """The log's entries in order, each checked as it is read.

    Raises :class:`LogError` (with ``line`` and ``kind``) at the first problem, after yielding every
    entry before it: a caller never receives an entry past a break in the chain.
    """
    chain = _Chain()
    with _open_for_reading(path) as f:
        for item in _check(_lines(f), chain):
            if isinstance(item, LogProblem):
                raise LogError(path, f"{item.kind}: {item.message}", item.line, item.kind)
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


def _last_line(fd: int, size: int) -> tuple[int, bytes]:
    """(offset, bytes) of the file's last line, read backwards from the end in growing chunks."""
    start, buf, chunk = size, b"", _CHUNK
    while start > 0:
        step = min(chunk, start)
        start -= step
        buf = _pread(fd, step, start) + buf
        cut = buf.rfind(b"\n", 0, len(buf) - 1)  # a newline before the file's final byte
        if cut >= 0:
            return start + cut + 1, buf[cut + 1:]
        chunk *= 2
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

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"DecisionLog({str(self.path)!r})"

    def append(self, record: Mapping[str, Any]) -> LogEntry:
        """Append one record; returns its entry (seq, prev, digest)."""
        return self._append([_record_json(record, 0, str(self.path))], [record])[0]

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> list[LogEntry]:
        """Append records in order, in one write, so that no other writer's entry comes between them.

        On an error nothing is written. A crash during the write can leave the batch's first lines,
        whole and chained, followed by at most one partial line.
        """
        records = list(records)
        texts = [_record_json(r, i, str(self.path)) for i, r in enumerate(records)]
        return self._append(texts, records) if records else []

    def verify(self) -> LogReport:
        return verify_log(self.path)

    def __iter__(self) -> Iterator[LogEntry]:
        return iter_log(self.path)

    def repair(self, *, dry_run: bool = False) -> Repair | None:
        """Remove a partial last line (see :class:`LogProblem` ``truncated``) and say what was removed.

        Returns ``None`` when the last line is whole. The description is logged (``povrules.audit.log``,
        warning) before the file is cut. With ``dry_run`` nothing is cut.
        """
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            raise LogError(self.path, f"cannot open the log: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            offset, last = _last_line(fd, size)
            if not last or not _is_partial(last):
                return None
            preview = last[:80].decode("utf-8", errors="replace")
            repair = Repair(str(self.path), _line_number(fd, offset), offset, len(last),
                            repr(preview) + ("…" if len(last) > 80 else ""))
            if dry_run:
                return repair
            _log.warning("repairing the decision log: removing %s", repair)
            os.ftruncate(fd, offset)
            os.fsync(fd)
            return repair
        finally:
            os.close(fd)

    def _head(self, fd: int, size: int) -> tuple[int, str]:
        """(seq, digest) of the last entry, checked; refuses a partial or foreign last line."""
        if size == 0:
            return 0, GENESIS
        offset, last = _last_line(fd, size)
        if _is_partial(last):
            line = _line_number(fd, offset)
            raise LogError(self.path, f"the last line ({len(last)} bytes) is not a whole entry, left by a write "
                           "that did not finish; nothing is appended after it until DecisionLog.repair() "
                           "removes it", line, "truncated")
        item = _decode(last, 0, True)
        if isinstance(item, LogProblem):
            line = _line_number(fd, offset)
            raise LogError(self.path, f"the last line is not a valid entry ({item.kind}: {item.message}); "
                           "nothing is appended after it: run verify_log", line, item.kind)
        return item.seq, item.digest

    def _append(self, texts: list[str], records: list[Mapping[str, Any]]) -> list[LogEntry]:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LogError(self.path, f"cannot open the log: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            seq, prev = self._head(fd, size)
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
