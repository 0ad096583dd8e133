"""Batch decisions: a caseload in, decisions out, in bounded memory on every core.

:func:`decide_caseload` reads a caseload as a stream (:mod:`povrules.caseload`: JSON Lines, CSV or
Excel with a column mapping, Parquet), cuts it into chunks, and has worker processes validate,
decide and serialise each chunk. The parent writes the chunks' output in input order, so the bytes
are the same for one worker or many, and appends records to the decision log as one batch.

Memory does not grow with the input: the parent keeps at most a few chunks in flight per worker,
each chunk's output is written as soon as the chunks before it are, and nothing about a household
outlives its chunk.

All or nothing: the output goes to a temporary file beside the target and the records to a log
batch (:meth:`povrules.audit.DecisionLog.batch`). A household that fails validation or evaluation
stops the run with a :class:`BatchError` naming its location (``FILE:LINE``, or the sheet and row);
the temporary file is removed and the log batch cut back, so no output and no log entry remain.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import attrs
from pydantic import ValidationError

from povrules.audit import DecisionLog, make_record_json, redact_id
from povrules.audit.log import LogBatch
from povrules.audit.record import FACTS_MODES, FactsMode
from povrules.canonical import canonical_bytes
from povrules.caseload import COLUMNS, Item, open_table, read_caseload
from povrules.engine import Plan, plan
from povrules.errors import FactsError, JurisdictionWarning, PovrulesError, UnknownName, UsageError
from povrules.facts import SUBJECTS, FactModel, personal_fields, problems_of, subject_id, validate_json
from povrules.processes import cores, start_context
from povrules.ruleset import Ruleset

__all__ = ["TABLE_COLUMNS", "BatchError", "BatchReport", "ByteSink", "Output", "decide_caseload"]


class ByteSink(Protocol):
    """A stream output bytes can go to: a binary file, or anything else that writes and flushes them."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


Output = Literal["trace", "record", "text", "table"]
"""What is written for each subject: its trace (JSON Lines), its decision record (JSON Lines), its
explanation (text, one paragraph each), or one row of a decision table (Parquet or CSV)."""

TABLE_COLUMNS = COLUMNS
"""The columns of a decision table, in order (those :func:`povrules.caseload.open_table` writes)."""

CHUNK = 250  # subjects per chunk: large enough to amortise the hand-over, small enough to keep memory flat
AHEAD = 3  # chunks in flight per worker: keeps every worker busy while the parent writes


class BatchError(PovrulesError):
    """A batch stopped: a subject failed validation or evaluation, or an input or output failed.

    ``where`` is the subject's location in the input (``FILE:LINE``, or the sheet and row), when the
    problem is one subject's. Nothing was written and nothing was logged.
    """

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


@attrs.frozen
class BatchReport:
    """What a batch did: how many subjects, their outcomes, and where the records went."""

    decision: str
    as_of: date
    subjects: int
    outcomes: dict[str, int]
    workers: int
    seconds: float
    output: str | None
    log: str | None
    first_seq: int | None  # the log's seq numbers of the batch's records, when logged
    last_seq: int | None

    @property
    def rate(self) -> float:
        """Subjects per second."""
        return self.subjects / self.seconds if self.seconds > 0 else 0.0


# What a worker does with a chunk. In a worker process the job and its plan are set once, by the
# pool's initializer, and read by every chunk; deciding in this process passes them explicitly, so
# that batches run from several threads share nothing.


@attrs.frozen
class _Job:
    ruleset: Ruleset
    decision: str
    as_of: date
    output: Output
    lang: str
    records: bool  # make a record of each decision (for the log, record output or the digest column)
    redact_key: bytes | None
    traced: bool  # record leaf conditions (records always do; a table needs none)
    facts: FactsMode  # records hold the facts ("embed") or name them by digest ("digest")


@attrs.frozen
class _Done:
    """A chunk's result: its output bytes, the records' JSON (for the log), table rows, outcome counts."""

    text: bytes
    records: tuple[bytes, ...]  # each a record's canonical JSON
    rows: tuple[tuple[Any, ...], ...]
    outcomes: dict[str, int]
    count: int
    error: tuple[str, str] | None = None  # (where, message): the chunk stopped at this subject


_worker: tuple[_Job, Plan] | None = None  # set in worker processes only


def _start_worker(job: _Job) -> None:
    global _worker
    _worker = (job, plan(job.ruleset, job.decision, traced=job.traced))


def amount_total(decision: Any) -> str | None:
    """The total of an amount decision as a table cell: an exact decimal string (None: not an amount
    decision, or a total that cannot be worked out)."""
    amount = getattr(decision, "amount", None)
    total = getattr(amount, "total", None)
    return None if total is None else format(total, "f")


def _decide_in_worker(items: Sequence[tuple[str, Any]]) -> _Done:
    assert _worker is not None, "the worker process was not started"
    return _decide_chunk(items, *_worker)


def _shown_id(facts: FactModel, job: _Job) -> str:
    """The subject's id as the output may show it: its keyed hash when the run redacts."""
    value = subject_id(facts)
    if job.redact_key is not None and "id" in personal_fields(type(facts)):
        return redact_id(value, job.redact_key)
    return value


def _decide_chunk(items: Sequence[tuple[str, Any]], job: _Job, p: Plan) -> _Done:
    if job.redact_key is None:
        return _decide_items(items, job, p)
    # A household's jurisdiction is personal data: a run that redacts warns about it by its keyed hash.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JurisdictionWarning)
        done = _decide_items(items, job, p)
    for found in caught:
        if isinstance(found.message, JurisdictionWarning):
            warnings.warn(found.message.shown_as(redact_id(found.message.place, job.redact_key)), stacklevel=2)
        else:
            warnings.warn_explicit(found.message, found.category, found.filename, found.lineno)
    return done


def _decide_items(items: Sequence[tuple[str, Any]], job: _Job, p: Plan) -> _Done:
    model = SUBJECTS[job.ruleset.subject][0]
    as_of = job.as_of
    pieces: list[bytes] = []
    records: list[bytes] = []
    rows: list[tuple[Any, ...]] = []
    outcomes: Counter[str] = Counter()
    for where, data in items:
        try:
            facts = validate_json(model, data) if isinstance(data, bytes) else model.model_validate(data)
        except ValidationError as exc:
            return _Done(
                b"",
                (),
                (),
                {},
                0,
                (where, str(FactsError(problems_of(exc, job.ruleset.subject), subject=job.ruleset.subject))),
            )
        except FactsError as exc:
            return _Done(b"", (), (), {}, 0, (where, str(exc)))
        try:
            decision = p.decide(facts, as_of)
            outcomes[decision.outcome] += 1
            digest = None
            if job.records:
                record = make_record_json(decision, redact_key=job.redact_key, facts=job.facts)
                records.append(record)
                # A record's keys sort as_of < decision < digest: its own digest is the first one in it.
                at = record.index(b',"digest":"') + 11
                digest = record[at : at + 71].decode("ascii")
                if job.output == "record":
                    pieces.append(record)
            if job.output == "trace":
                pieces.append(canonical_bytes(decision.trace(), floats=False))  # traces hold no float
            elif job.output == "text":
                pieces.append(decision.explain(job.lang).encode("utf-8"))
            elif job.output == "table":
                rows.append(
                    (
                        _shown_id(facts, job),
                        decision.outcome,
                        list(decision.labels),
                        list(decision.missing),
                        list(decision.reasons),
                        digest,
                        amount_total(decision),
                    )
                )
        except (PovrulesError, ArithmeticError, ValueError, OverflowError) as exc:
            subject = f"{job.ruleset.subject} {_shown_id(facts, job)!r}"
            return _Done(b"", (), (), {}, 0, (where, f"{subject}: cannot be decided: {type(exc).__name__}: {exc}"))
    separator = b"\n\n" if job.output == "text" else b"\n"
    text = b"".join(piece + separator for piece in pieces)
    return _Done(text, tuple(records), tuple(rows), dict(outcomes), len(items))


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[tuple[str, Any]]]:
    chunk: list[tuple[str, Any]] = []
    for item in items:
        chunk.append((item.where, item.data))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _in_order(chunks: Iterator[list[tuple[str, Any]]], job: _Job, workers: int) -> Iterator[_Done]:
    """Each chunk's result, in input order: from a process pool, or in this process for one worker
    or an input of one chunk (starting processes would cost more than the chunk)."""
    first = next(chunks, None)
    second = next(chunks, None) if first is not None else None
    if workers == 1 or second is None:
        p = plan(job.ruleset, job.decision, traced=job.traced)
        for chunk in itertools.chain((first, second), chunks):
            if chunk is not None:
                yield _decide_chunk(chunk, job, p)
        return
    # Forked workers get the job as it is; started afresh (forkserver, spawn), they get it pickled.
    with ProcessPoolExecutor(workers, mp_context=start_context(), initializer=_start_worker, initargs=(job,)) as pool:
        pending: deque[Future[_Done]] = deque()
        try:
            for chunk in itertools.chain((first, second), chunks):
                if chunk is None:
                    continue
                pending.append(pool.submit(_decide_in_worker, chunk))
                if len(pending) >= AHEAD * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


class _Sink:
    """Where a batch's output goes, kept back until the batch is whole.

    A file is written to a temporary file beside it, renamed into place at the end; a stream gets a
    spooled copy (a temporary file, not memory) at the end; a table goes through its own writer.
    """

    def __init__(self, output: str | os.PathLike[str] | ByteSink | None, kind: Output):
        self.kind = kind
        self.table: Any = None
        self.file: IO[bytes] | None = None  # the temporary file written while deciding
        self.temp: Path | None = None
        self.target: Path | None = None
        self.stream: ByteSink | None = None  # the stream the spooled output is copied to at the end
        if kind == "table":
            if output is None or not isinstance(output, (str, os.PathLike)):
                raise BatchError("a decision table is written to a file (.parquet or .csv)")
            self.table = open_table(output)
        elif isinstance(output, (str, os.PathLike)):
            self.target = Path(output)
            try:
                fd, temp = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".tmp")
            except OSError as exc:
                raise BatchError(f"{output}: cannot write ({exc.strerror})") from None
            self.temp = Path(temp)
            self.file = os.fdopen(fd, "wb")
        elif output is not None:
            self.stream = output
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by commit or abort

    def write(self, done: _Done) -> None:
        try:
            if self.table is not None:
                self.table.write(done.rows)
            elif done.text and self.file is not None:
                self.file.write(done.text)
        except OSError as exc:
            raise BatchError(f"{self.target or 'output'}: cannot write ({exc.strerror or exc})") from None

    def finish(self) -> None:
        """Make the output durable, short of putting it in place: what may fail, fails here."""
        if self.file is not None and self.target is not None:
            try:
                self.file.flush()
                os.fsync(self.file.fileno())
            except OSError as exc:
                raise BatchError(f"{self.target}: cannot write ({exc.strerror or exc})") from None

    def commit(self) -> None:
        if self.table is not None:
            self.table.commit()
        elif self.file is not None and self.target is not None and self.temp is not None:
            self.file.close()
            os.replace(self.temp, self.target)
        elif self.file is not None and self.stream is not None:
            self.file.seek(0)
            shutil.copyfileobj(self.file, self.stream, 1 << 20)
            self.file.close()
            self.stream.flush()

    def abort(self) -> None:
        if self.table is not None:
            self.table.abort()
        if self.file is not None and not self.file.closed:
            self.file.close()
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)


def decide_caseload(
    ruleset: Ruleset,
    decision: str,
    source: str | os.PathLike[str] | IO[bytes] | Iterable[Item],
    *,
    as_of: date,
    output: str | os.PathLike[str] | ByteSink | None = None,
    write: Output = "trace",
    lang: str = "zh",
    log: str | os.PathLike[str] | None = None,
    anchor_key: bytes | None = None,
    redact_key: bytes | None = None,
    mapping: str | os.PathLike[str] | None = None,
    format: str | None = None,
    workers: int | None = None,
    chunk: int = CHUNK,
    trace: bool = True,
    facts: FactsMode = "embed",
    progress: Callable[[int], None] | None = None,
) -> BatchReport:
    """Decide ``decision`` for every subject of a caseload as of ``as_of``; write the output whole or not at all.

    ``source`` is a caseload file (JSON Lines, CSV, .xlsx or Parquet, by extension or ``format``; CSV
    and Excel need a ``mapping`` file), a binary stream of JSON Lines, or :class:`~povrules.caseload.Item`\\ s.
    ``write`` says what each subject gives: ``trace``, ``record``, ``text`` or ``table`` (a
    Parquet or CSV file, by ``output``'s extension). ``output`` is a file (written through a
    temporary file renamed into place at the end), a binary stream, or ``None`` (nothing written:
    the decisions go only to the log, or are only counted). ``trace=False`` records no leaf
    conditions (records always do). ``facts="digest"`` makes records that name the facts by their
    digest instead of holding them, for callers who keep the facts elsewhere (see
    :func:`povrules.audit.make_record`).
    With ``log``, every decision's record is appended to that decision log as one batch that is
    committed at the end, or cut back if anything fails; with ``anchor_key``, its commit carries an
    anchor (see :class:`povrules.audit.DecisionLog`). ``workers`` processes decide chunks of
    ``chunk`` subjects (default: every core); the output is byte-identical whatever their number.
    ``progress`` is called with the number of subjects decided so far after each chunk.

    Raises :class:`BatchError` (a subject's facts or evaluation, naming its location; an unwritable
    output), :class:`~povrules.caseload.CaseloadError` (an unreadable input, a bad cell),
    :class:`~povrules.audit.LogError` (the log), :class:`~povrules.EvaluationError` (an unknown
    decision, a parameter not in force). In every case nothing is written and nothing is logged.
    """
    ruleset.decision(decision)  # an unknown decision fails before any input is read
    if write not in ("trace", "record", "text", "table"):
        raise UnknownName(
            "write", write, ("trace", "record", "text", "table"), hint="write must be trace, record, text or table"
        )
    if workers is None:
        workers = cores()
    if workers < 1:
        raise UsageError(f"workers must be at least 1, not {workers}")
    records = write == "record" or log is not None or redact_key is not None
    traced = records or (trace and write != "table")
    if facts not in FACTS_MODES:
        raise UnknownName("facts", facts, FACTS_MODES, hint=f"facts must be {' or '.join(FACTS_MODES)}")
    job = _Job(ruleset, decision, as_of, write, lang, records, redact_key, traced, facts)
    if isinstance(source, (str, os.PathLike)) or hasattr(source, "read"):
        # A stream is told from an iterable of items by its read(), by which mypy does not narrow a union.
        items: Iterable[Item] = read_caseload(
            source,  # type: ignore[arg-type]
            format=format,
            mapping=mapping,
            subject=ruleset.subject,
        )
    else:
        items = source
    started = time.perf_counter()
    sink = _Sink(output, write)
    outcomes: Counter[str] = Counter()
    count = 0
    first_seq: int | None = None
    last_seq: int | None = None
    try:
        with contextlib.ExitStack() as stack:
            adding: LogBatch | None = None  # opened at the first record: an empty caseload leaves the log as it is
            for done in _in_order(_chunks(items, chunk), job, workers):
                if done.error is not None:
                    raise BatchError(done.error[1], done.error[0])
                sink.write(done)
                if log is not None and done.records:
                    if adding is None:
                        adding = stack.enter_context(DecisionLog(log, anchor_key=anchor_key).batch())
                    for data in done.records:
                        last_seq = adding.add_json(data)
                        first_seq = last_seq if first_seq is None else first_seq
                outcomes.update(done.outcomes)
                count += done.count
                if progress is not None:
                    progress(count)
            sink.finish()  # the output is on disk before the log batch commits (on leaving the stack)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return BatchReport(
        decision,
        as_of,
        count,
        dict(sorted(outcomes.items())),
        workers,
        time.perf_counter() - started,
        None if output is None or hasattr(output, "write") else str(output),
        None if log is None else str(log),
        first_seq,
        last_seq,
    )
