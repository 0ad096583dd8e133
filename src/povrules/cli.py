"""The ``povrules`` command.

Every command either succeeds whole or fails with one line on standard error
naming where the problem is, and writes no partial output: a file given with
``-o`` is written to a temporary file renamed into place, and ``decide --log``
appends its whole batch in one locked write or nothing. A write that fails (a full
disk; standard output too) is one line and exit 2. Files are read through
:func:`povrules.reading.read_bounded`: regular files only, each up to a limit.

Exit codes
    0  success: the command did what was asked (``replay``: the decision came out identical;
       ``verify-log``: the log verified)
    1  the command ran and found something: ``lint`` a misquoted clause, ``test`` a failing case,
       ``verify-log`` a problem in the log, ``replay`` a divergent decision, ``repair`` and
       ``log-head`` a log that fails verification before any crashed tail, ``mutate`` a surviving
       mutant not listed as equivalent, a stale equivalents entry or a score under ``--min-score``
    2  bad input: usage, an unreadable, special or oversized file, malformed or too deeply nested
       JSON, facts failing validation, an invalid or unknown ruleset, a malformed record, a ruleset
       version not in the store, an evaluation error; a write that fails
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from povrules._version import __version__
from povrules.audit import RecordError, explain_record, load_record, verify_log
from povrules.audit.log import parse_head
from povrules.audit.record import MIN_KEY_BYTES
from povrules.citations import CitationProblem, check_citations
from povrules.errors import PovrulesError
from povrules.facts import SUBJECTS, facts_schema, household_schema
from povrules.policytest import case_citation_problems, load_policy_file, policy_test_files, run_case
from povrules.reading import MAX_DOCUMENT, MAX_KEY, ReadError, check_json_depth, read_bounded
from povrules.reference import facts_markdown
from povrules.ruleset import load_ruleset
from povrules.trace import trace_schema

if TYPE_CHECKING:  # imported where used: a command loads only what it runs
    from povrules.audit.replay import RulesetStore
    from povrules.batch import Output

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2

EPILOG = """exit codes:
  0  success (replay: identical; verify-log: the log verifies)
  1  the command ran and found problems (lint: a quote that does not match its source;
     test: a policy test case that fails; verify-log: a problem in the log; replay: divergent;
     repair, log-head: the log fails verification; mutate: a survivor not listed as equivalent,
     a stale equivalents entry, or a score under --min-score)
  2  bad input: usage, unreadable, special or oversized file, malformed JSON, invalid ruleset,
     facts, record or policy test file, a ruleset version not in the store, a truncated log
     passed to --log, evaluation error; a write that fails (a full disk); nothing is written
"""


class _Failure(Exception):
    """A problem to report in one line, with the exit code it warrants."""

    def __init__(self, message: str, code: int = EXIT_INPUT):
        super().__init__(message)
        self.code = code


def _ruleset_files(paths: Sequence[str]) -> list[Path]:
    """Each argument is a ruleset file, a ruleset folder, or a folder of ruleset folders."""
    found: list[Path] = []
    for arg in paths:
        path = Path(arg)
        if path.is_file():
            found.append(path)
        elif (path / "ruleset.yaml").is_file():
            found.append(path / "ruleset.yaml")
        elif path.is_dir():
            nested = sorted(path.glob("*/ruleset.yaml"))
            if not nested:
                raise _Failure(f"{arg}: no ruleset.yaml here or in its sub-folders")
            found.extend(nested)
        else:
            raise _Failure(f"{arg}: no such file or folder")
    return found


def _stage(text: str, output: str) -> Path:
    """Write ``text`` to a temporary file beside ``output``, synced; :func:`_commit` renames it into place.

    A write that fails (a full disk, a quota) removes the temporary file and is one line, exit 2.
    """
    target = Path(output)
    try:
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise _Failure(f"{output}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())  # a full disk shows here, not after the rename
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise _Failure(f"{output}: cannot write ({exc.strerror or exc}); nothing written") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(temp)


def _commit(temp: Path, output: str) -> None:
    try:
        os.replace(temp, output)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _Failure(f"{output}: cannot write ({exc.strerror or exc}); nothing written") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class _WholeWrites:
    """Standard output that takes every byte or raises: a buffered write onto a full disk may stop short
    and say so only in the count it returns, which a plain ``write`` or ``copyfileobj`` ignores."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        try:
            while view:
                written = self.stream.write(view)
                if not written:
                    raise OSError(errno.ENOSPC, "took no more bytes (is the disk full?)")
                view = view[written:]
        except OSError as exc:
            raise OSError(exc.errno, f"cannot write ({exc.strerror or exc})", "<stdout>") from None
        return len(data)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            raise OSError(exc.errno, f"cannot write ({exc.strerror or exc})", "<stdout>") from None


def _stdout() -> _WholeWrites:
    sys.stdout.flush()  # what print() buffered goes first
    return _WholeWrites(sys.stdout.buffer)


def _write(text: str, output: str | None) -> None:
    """All or nothing: to a file through a temporary file renamed into place, or to standard output."""
    if output is None:
        out = _stdout()
        out.write(text.encode("utf-8"))
        out.flush()
        return
    _commit(_stage(text, output), output)


def cmd_schema(args: argparse.Namespace) -> int:
    if args.ruleset is not None and (args.trace or args.markdown or args.subject != "household"):
        raise _Failure("--ruleset gives that ruleset's household facts: it goes without --trace, --markdown, --subject")
    if args.markdown:
        _write(facts_markdown(), args.output)
        return EXIT_OK
    if args.v1 and not args.trace:
        raise _Failure("--v1 goes with --trace: the schema of povrules.trace.v1 documents")
    if args.ruleset is not None:
        schema = household_schema(load_ruleset(args.ruleset))
    else:
        schema = trace_schema(1 if args.v1 else 2) if args.trace else facts_schema(args.subject)
    _write(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", args.output)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    lines = []
    for file in _ruleset_files(args.rulesets):
        ruleset = load_ruleset(file)
        for warning in ruleset.warnings:
            print(warning, file=sys.stderr)
        lines.append(
            f"{file}: {ruleset.id} {ruleset.version} {ruleset.digest} "
            f"({len(ruleset.rules)} rules, {len(ruleset.parameters)} parameters, "
            f"decisions: {', '.join(ruleset.decisions)})"
        )
    _write("\n".join(lines) + "\n", None)
    return EXIT_OK


_WEEKDAYS = {
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def _days_lines(first: date, last: date, lang: str = "en") -> list[str]:
    """The lines of ``povrules days``: the days from ``first`` to ``last`` counted both ways (a span,
    both days counted; a period from ``first``, its day not counted), calendar and working days, and the
    public holidays and adjusted working weekends (调休) between them, in ``lang`` (zh or en).

    Raises :class:`~povrules.workdays.CalendarError` for a year the holiday calendar does not cover.
    """
    from povrules.workdays import (
        calendar_days,
        calendar_version,
        coverage,
        official_days,
        working_days,
        working_days_between,
    )

    span = (calendar_days(first, last), working_days(first, last))
    period = ((last - first).days, working_days_between(first, last))
    holidays: list[tuple[date, date, str]] = []  # runs of consecutive days off of one festival
    worked = []
    for day in official_days(first, last):
        name = day.holiday_zh if lang == "zh" else day.holiday
        if day.working:
            weekday = _WEEKDAYS[lang][day.day.weekday()]
            worked.append(
                f"{day.day.isoformat()}（{weekday}，{name}）"
                if lang == "zh"
                else f"{day.day.isoformat()} ({weekday}, {name})"
            )
        elif holidays and holidays[-1][2] == name and (day.day - holidays[-1][1]).days == 1:
            holidays[-1] = (holidays[-1][0], day.day, name)
        else:
            holidays.append((day.day, day.day, name))
    years = "{}–{}".format(*coverage())
    if lang == "zh":
        runs = [f"{a.isoformat()} 至 {b.isoformat()} {name}（{(b - a).days + 1} 天）" for a, b, name in holidays]
        return [
            f"{first.isoformat()} 至 {last.isoformat()}",
            f"首尾两日都计（如公示期，calendar_days / working_days）：日历日 {span[0]} 天，工作日 {span[1]} 天",
            (
                f"自 {first.isoformat()} 起算、当日不计（如期限，days_between / working_days_between）："
                f"日历日 {period[0]} 天，工作日 {period[1]} 天"
            ),
            f"其间法定节假日：{'；'.join(runs) or '无'}",
            f"其间调休上班日：{'；'.join(worked) or '无'}",
            f"工作日依国务院办公厅节假日安排（chinese-calendar {calendar_version()}，{years} 年）",
        ]
    runs = [f"{a.isoformat()} to {b.isoformat()} {name} ({(b - a).days + 1} days)" for a, b, name in holidays]
    return [
        f"{first.isoformat()} to {last.isoformat()}",
        f"both days counted (a posting; calendar_days / working_days): {_counted(*span)}",
        (
            f"from {first.isoformat()}, its day not counted (a deadline; days_between / working_days_between): "
            f"{_counted(*period)}"
        ),
        f"public holidays inside: {'; '.join(runs) or 'none'}",
        f"adjusted working days (调休) inside: {'; '.join(worked) or 'none'}",
        f"working days of the official holiday calendar (chinese-calendar {calendar_version()}, {years})",
    ]


def _counted(calendar: int, working: int) -> str:
    def plural(n: int) -> str:
        return "" if n == 1 else "s"

    return f"{calendar} calendar day{plural(calendar)}, {working} working day{plural(working)}"


def cmd_days(args: argparse.Namespace) -> int:
    from povrules.facts import parse_date

    days = []
    for name, text in (("FIRST", args.first), ("LAST", args.last)):
        try:
            days.append(parse_date(text))
        except ValueError:
            raise _Failure(f"{name}: expected a date as YYYY-MM-DD, got {text!r}") from None
    first, last = days
    if last < first:
        raise _Failure(f"LAST: expected a day on or after FIRST ({first.isoformat()}), got {last.isoformat()}")
    _write("\n".join(_days_lines(first, last, args.lang)) + "\n", None)
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    sources = Path(args.sources)
    if not sources.is_dir():
        raise _Failure(f"{args.sources}: no such folder of sources")
    problems: list[CitationProblem | str] = []
    files = _ruleset_files(args.rulesets)
    for file in files:
        ruleset = load_ruleset(file)
        for warning in ruleset.warnings:
            print(warning, file=sys.stderr)
        problems.extend(check_citations(ruleset, sources))
    # The lines policy-test cases cite (their `cite`) must stand in the sources too.
    folders = [file.parent / "tests" for file in files if file.name == "ruleset.yaml"]
    tests = [
        case
        for file in dict.fromkeys(f for folder in folders if folder.is_dir() for f in policy_test_files(folder))
        for case in load_policy_file(file)
    ]
    problems.extend(case_citation_problems(tests, sources))
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"lint: {len(files)} ruleset(s), {len(problems)} citation problem(s)")
    return EXIT_FINDINGS if problems else EXIT_OK


PROGRESS_FROM = 200  # subjects: fewer are decided before anyone could read a bar


class _Progress:
    """A progress bar (count, rate, ETA) on standard error, only on a terminal and only once the input is large."""

    def __init__(self, total: int | None, stream: IO[str] | None = None, *, every: float = 0.5):
        self.stream = stream if stream is not None else sys.stderr
        self.every = every  # seconds between redraws
        self.total = total
        isatty = getattr(self.stream, "isatty", None)
        self.on = bool(isatty and isatty()) and (total is None or total >= PROGRESS_FROM)
        self.bar: Any = None

    def update(self, done: int) -> None:
        if not self.on or (self.bar is None and done < PROGRESS_FROM and self.total is None):
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total,
                file=self.stream,
                unit=" subjects",
                dynamic_ncols=True,
                leave=False,
                smoothing=0.1,
                mininterval=self.every,
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _count_lines(path: str) -> int | None:
    """Lines of a JSON Lines file, for the bar's ETA: a fast pass over the bytes (page cache warmed for the run)."""
    try:
        with open(path, "rb") as f:
            return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return None


def _redact_key(path: str | None) -> bytes | None:
    return _key(path, "--redact-key-file")


def _key(path: str | None, option: str) -> bytes | None:
    """The bytes of a key file given with ``option``, bounded and at least :data:`MIN_KEY_BYTES` long."""
    if path is None:
        return None
    try:
        key = read_bounded(path, limit=MAX_KEY, what="a key", name=f"{option} {path}")
    except ReadError as exc:
        raise _Failure(str(exc)) from None
    if len(key) < MIN_KEY_BYTES:
        raise _Failure(
            f"{option} {path}: the key is {len(key)} bytes; at least {MIN_KEY_BYTES} are needed "
            "(a short key lets anyone test guesses)"
        )
    return key


TABLE_FORMATS = ("parquet", "csv")


def _output_kind(args: argparse.Namespace, recording: bool) -> tuple[Output, str | None]:
    """(what each subject gives, the table format): from --format, else from the output's extension."""
    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
        fmt = suffix if suffix in TABLE_FORMATS else "json"
    if fmt in TABLE_FORMATS:
        if args.output is None:
            raise _Failure(f"--format {fmt} writes a decision table to a file: give -o FILE.{fmt}")
        return "table", fmt
    if fmt == "text":
        if recording:
            raise _Failure("--format text explains decisions; records (--record, --log, --redact-key-file) are JSON")
        return "text", None
    return ("record" if recording else "trace"), None


def _source(args: argparse.Namespace, subject: str) -> Any:
    """The caseload to read: a file or standard input; one JSON document is a caseload of one."""
    from povrules.caseload import Item

    if args.input == "-":
        if args.jsonl:
            return sys.stdin.buffer
        return [Item("<stdin>", _read_document(sys.stdin.buffer, "<stdin>"))]
    path = Path(args.input)
    if not path.exists():
        raise _Failure(f"{args.input}: cannot read (No such file or directory)")
    if not path.is_file():
        raise _Failure(f"{args.input}: not a regular file (a folder, device or pipe is not read)")
    suffix = path.suffix.lower()
    if args.jsonl or args.mapping or suffix in (".jsonl", ".csv", ".xlsx", ".parquet"):
        return args.input
    return [Item(args.input, _read_document(args.input, args.input))]


def _read_document(source: str | IO[bytes], name: str) -> bytes:
    """One JSON document of facts, bounded in size and depth."""
    try:
        data = read_bounded(
            source,
            limit=MAX_DOCUMENT,
            name=name,
            what="one JSON document of facts (give many households as JSON Lines, .jsonl)",
        )
        check_json_depth(data, name=name)
    except ReadError as exc:
        raise _Failure(str(exc)) from None
    return data


def cmd_decide(args: argparse.Namespace) -> int:
    from povrules.batch import decide_caseload
    from povrules.facts import parse_date

    try:
        as_of = parse_date(args.as_of)  # YYYY-MM-DD only, as the help says (not 20160630 or 2016-W26-4)
    except ValueError:
        raise _Failure(f"--as-of: expected a date as YYYY-MM-DD, got {args.as_of!r}") from None
    recording = args.record or args.log is not None or args.redact_key_file is not None or args.facts_by_digest
    if args.engine == "columnar":
        return _decide_columnar(args, as_of, recording)
    write, _ = _output_kind(args, recording)
    if args.workers is not None and args.workers < 1:
        raise _Failure(f"--workers: expected 1 or more, got {args.workers}")
    key = _redact_key(args.redact_key_file)
    if args.anchor_key_file is not None and args.log is None:
        raise _Failure("--anchor-key-file anchors a decision log: give --log LOG")
    anchor_key = _key(args.anchor_key_file, "--anchor-key-file")
    ruleset = load_ruleset(args.ruleset)
    ruleset.decision(args.decision)  # fail before reading any household
    source = _source(args, ruleset.subject)
    total = _count_lines(source) if isinstance(source, str) and source.endswith(".jsonl") else None
    progress = _Progress(total)
    try:
        report = decide_caseload(
            ruleset,
            args.decision,
            source,
            as_of=as_of,
            write=write,
            output=args.output if args.output is not None or args.log is not None else _stdout(),
            lang=args.lang,
            log=args.log,
            redact_key=key,
            mapping=args.mapping,
            workers=args.workers,
            trace=not args.no_trace,
            facts="digest" if args.facts_by_digest else "embed",
            progress=progress.update,
            anchor_key=anchor_key,
        )
    finally:
        progress.close()
    if args.log is not None:
        if report.first_seq is not None:
            print(f"{args.log}: appended {report.subjects} record(s), seq {report.first_seq} to {report.last_seq}")
        else:
            print(f"{args.log}: no household in the input, nothing appended")
    return EXIT_OK


def _decide_columnar(args: argparse.Namespace, as_of: date, recording: bool) -> int:
    """``decide --engine columnar``: a caseload file to a decision table (see docs/batch.md)."""
    from povrules.columnar import check_supported, decide_file

    if args.log is not None:
        raise _Failure(
            "--engine columnar: --log is refused: a log holds decision records, and records need the "
            "traces only the row engine makes"
        )
    if recording:
        raise _Failure(
            "--engine columnar: --record, --redact-key-file and --facts-by-digest make decision records, "
            "which need the traces only the row engine makes"
        )
    if _output_kind(args, False)[0] != "table":
        raise _Failure(
            "--engine columnar writes a decision table only: give -o FILE.parquet or -o FILE.csv "
            "(traces and explanations need the row engine)"
        )
    if args.workers is not None:
        raise _Failure(
            "--engine columnar: --workers is refused: the columnar engine decides in one process "
            "(polars uses the cores)"
        )
    ruleset = load_ruleset(args.ruleset)
    check_supported(ruleset, args.decision)  # fail before reading any household
    source = _source(args, ruleset.subject)
    if isinstance(source, list):
        raise _Failure(
            "--engine columnar reads a caseload file (.jsonl, .parquet, or .csv/.xlsx with --mapping) "
            "or JSON Lines on standard input (--jsonl), not one JSON document"
        )
    progress = _Progress(_count_lines(source) if isinstance(source, str) and source.endswith(".jsonl") else None)
    try:
        decide_file(
            ruleset,
            args.decision,
            source,
            as_of=as_of,
            output=args.output,
            mapping=args.mapping,
            table_format=args.format,
            progress=progress.update,
        )
    finally:
        progress.close()
    return EXIT_OK


def _read_facts(path: str) -> dict[str, Any]:
    """The facts a record by reference names (one JSON object, as the record would hold them)."""
    import orjson

    data = _read_document(path, f"--facts {path}")
    try:
        facts = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _Failure(f"--facts {path}: not JSON ({exc})") from None
    if not isinstance(facts, dict):
        raise _Failure(f"--facts {path}: expected a JSON object of facts")
    return facts


def _read_record(path: str, facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """A record file, parsed and verified; any problem is one line naming the file and the field."""
    name = "<stdin>" if path == "-" else path
    try:
        data = read_bounded(
            sys.stdin.buffer if path == "-" else path, limit=MAX_DOCUMENT, name=name, what="one decision record"
        )
    except ReadError as exc:
        raise _Failure(str(exc)) from None
    try:
        return load_record(data, facts=facts)
    except RecordError as exc:
        raise _Failure(f"{name}: invalid record: {'; '.join(exc.problems)}") from None


def cmd_explain(args: argparse.Namespace) -> int:
    record = _read_record(args.record)
    _write(explain_record(record, args.lang) + "\n", args.output)
    return EXIT_OK


def _log_file(path: str) -> None:
    if not Path(path).exists():
        raise _Failure(f"{path}: no such log file")
    if not Path(path).is_file():
        raise _Failure(f"{path}: not a file (a folder, device or pipe is not a log)")


def cmd_verify_log(args: argparse.Namespace) -> int:
    _log_file(args.log)
    key = _key(args.anchor_key_file, "--anchor-key-file")
    try:
        head = parse_head(args.expect_head) if args.expect_head is not None else None
    except ValueError as exc:
        raise _Failure(f"--expect-head: {exc}") from None
    report = verify_log(args.log, anchor_key=key, expect_head=head)
    if report.problem is not None:
        p = report.problem
        print(f"{args.log}:{p.line}: {p.kind}: {p.message}")
        print(f"{report.entries} of {report.lines} line(s) verified before line {p.line}", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"{args.log}: {report.entries} record(s) on {report.lines} line(s), {report.size} bytes; OK")
    print(f"head: seq {report.last_seq} {report.last_digest}")
    if key is not None:
        print(f"anchored: every line up to seq {report.anchored_seq} (the head) carries a valid anchor under the key")
    if head is not None:
        print(f"the head kept (seq {head[0]}) is in the log: nothing before it was cut or rewritten")
    if report.uncommitted:
        print(
            f"not counted: the last {report.uncommitted_lines} line(s) ({report.uncommitted_bytes} bytes) are a batch "
            "that was never committed (its writer stopped); `povrules repair` or the next append removes them"
        )
    return EXIT_OK


def cmd_log_head(args: argparse.Namespace) -> int:
    _log_file(args.log)
    report = verify_log(args.log)
    if report.problem is not None:
        p = report.problem
        print(f"{args.log}:{p.line}: {p.kind}: {p.message}", file=sys.stderr)
        print(f"povrules log-head: {args.log} does not verify: no head is given for it", file=sys.stderr)
        return EXIT_FINDINGS
    _write(f"{report.last_seq} {report.last_digest}\n", args.output)
    return EXIT_OK


def cmd_repair(args: argparse.Namespace) -> int:
    from povrules.audit import DecisionLog, LogError

    _log_file(args.log)
    try:
        done = DecisionLog(args.log).repair(dry_run=args.dry_run)
    except LogError as exc:
        if exc.kind is None:
            raise
        print(f"povrules repair: {exc}", file=sys.stderr)
        return EXIT_FINDINGS
    if done is None:
        print(f"{args.log}: no crashed tail; nothing removed")
        return EXIT_OK
    lines = f"line {done.line}" if done.last_line in (None, done.line) else f"lines {done.line} to {done.last_line}"
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"{args.log}: {verb} {lines}, {done.removed} bytes from offset {done.offset}: {done.kind}, "
        f"{done.records} record(s)"
    )
    shown = done.digests[:10]
    for digest in shown:
        print(f"  {digest}")
    if len(done.digests) > len(shown):
        print(f"  … and {len(done.digests) - len(shown)} more line digest(s)")
    if len(done.digests) < (done.last_line or done.line) - done.line + 1:
        print(f"  and a partial last line: {done.preview}")
    return EXIT_OK


def _store(args: argparse.Namespace) -> RulesetStore | None:
    from povrules.audit.replay import RulesetStore

    if args.git is not None:
        return RulesetStore.from_git(args.repo, args.git, args.path)
    if args.store:
        return RulesetStore(*args.store)
    return None


def cmd_replay(args: argparse.Namespace) -> int:
    from povrules.audit.replay import replay, replay_with_current

    if args.git is None and not args.store and args.with_current is None:
        raise _Failure(
            "say where the recorded ruleset is: --store DIR or --git REV (or compare with --with-current RULESET)"
        )
    if args.git is not None and args.store:
        raise _Failure("--store and --git name two stores: give one")
    facts = _read_facts(args.facts) if args.facts is not None else None
    record = _read_record(args.record, facts)
    store = _store(args)
    if args.with_current is not None:
        result = replay_with_current(record, load_ruleset(args.with_current), store, facts=facts)
    elif store is None:  # refused above: without --with-current a store is named
        raise _Failure("say where the recorded ruleset is: --store DIR or --git REV")
    else:
        result = replay(record, store, facts=facts)
    if args.format == "json":
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    else:
        text = result.explain(args.lang) + "\n"
    _write(text, args.output)
    return EXIT_OK if result.identical else EXIT_FINDINGS


def cmd_diff(args: argparse.Namespace) -> int:
    from povrules.ruleset.diff import diff_rulesets

    old, new = load_ruleset(args.old), load_ruleset(args.new)
    changes = diff_rulesets(old, new)
    if args.format == "json":
        text = json.dumps(changes.to_dict(), ensure_ascii=False, indent=2) + "\n"
    else:
        text = changes.explain(args.lang) + "\n"
    _write(text, args.output)
    return EXIT_OK


def _indented(text: str) -> str:
    return "".join(f"    {line}\n" if line.strip() else "\n" for line in text.splitlines())


def cmd_test(args: argparse.Namespace) -> int:
    files: dict[Path, Path] = {}  # a file named twice (rulesets/ and rulesets/x) runs once
    for path in args.paths:
        for file in policy_test_files(path):
            files.setdefault(file.resolve(), file)
    cases = [case for file in files.values() for case in load_policy_file(file)]  # every file checked before any runs
    passed = failed = 0
    for case in cases:
        result = run_case(case)
        if result.passed:
            passed += 1
            if args.verbose:
                sys.stdout.write(f"{case.where}: {case.name}: ok ({result.got})\n")
            continue
        failed += 1
        sys.stdout.write(result.message + "\n")
        for text in (result.explanation.zh, result.explanation.en):
            if text:
                sys.stdout.write(_indented(text))
    sys.stdout.write(f"{passed} passed, {failed} failed\n")
    return EXIT_FINDINGS if failed else EXIT_OK


def cmd_mutate(args: argparse.Namespace) -> int:
    from povrules.mutate import mutate, report_json, report_text

    if args.workers is not None and args.workers < 1:
        raise _Failure("--workers takes a positive number of processes")
    if not 0 <= args.min_score <= 100:
        raise _Failure("--min-score is a percentage, 0 to 100")
    report = mutate(args.paths, workers=args.workers, changed_since=args.changed_since)
    if args.json:
        _write(json.dumps(report_json(report, args.min_score), ensure_ascii=False, indent=2) + "\n", None)
    else:
        _write("\n".join(report_text(report, args.min_score)) + "\n", None)
    return EXIT_FINDINGS if report.failed(args.min_score) else EXIT_OK


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="povrules",
        description="Decisions on poverty identification and monitoring, from rulesets, with traces.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"povrules {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def _described(parser: argparse.ArgumentParser) -> str:
        """A command's description so far (``command`` gives each one)."""
        return parser.description or ""

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help, description=help, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
        )

    schema = command(
        "schema", "Print the JSON Schema of household (or village, county) facts, or with --trace of traces."
    )
    what = schema.add_mutually_exclusive_group()
    what.add_argument("--trace", action="store_true", help="the schema of povrules.trace.v2 documents")
    schema.add_argument(
        "--v1", action="store_true", help="with --trace: of povrules.trace.v1 documents (records made before v2)"
    )
    schema.add_argument(
        "--subject",
        choices=list(SUBJECTS),
        default="household",
        help="whose facts: household (default), village, county or case (a procedure's case file)",
    )
    what.add_argument(
        "--markdown",
        action="store_true",
        help="instead, the fact reference of every subject as Markdown (docs/facts.md)",
    )
    schema.add_argument(
        "--ruleset",
        metavar="RULESET",
        help="the household facts of this ruleset (file or folder): with the facts it declares, under 'local'",
    )
    schema.add_argument("-o", "--output", help="write to this file instead of standard output")
    schema.set_defaults(run=cmd_schema)

    check = command("check", "Load, check and compile rulesets; print each one's id, version and digest.")
    check.add_argument("rulesets", nargs="+", help="ruleset files, ruleset folders, or a folder of ruleset folders")
    check.set_defaults(run=cmd_check)

    days = command(
        "days",
        "Count the days from FIRST to LAST as the policy texts do: calendar and working days, both days "
        "counted and from FIRST, with the public holidays and adjusted working weekends between.",
    )
    days.description = _described(days) + (
        "\n\nWorking days are the official calendar's: weekends and public holidays off, adjusted working "
        "weekends (调休) on.\nA posting's length counts its first and last days; a period that runs from "
        "an event does not count the event's day (docs/interpretations.md, I-P-1 and I-P-2)."
    )
    days.add_argument("first", metavar="FIRST", help="the first day, YYYY-MM-DD (a posting's first day, or the event)")
    days.add_argument("last", metavar="LAST", help="the last day, YYYY-MM-DD, on or after FIRST")
    days.add_argument("--lang", choices=("zh", "en"), default="en", help="language of the lines (default en)")
    days.set_defaults(run=cmd_days)

    lint = command("lint", "Check that every quoted clause stands at its cited lines of its source.")
    lint.add_argument("--sources", required=True, help="folder holding the cited source files")
    lint.add_argument("rulesets", nargs="+", help="ruleset files, ruleset folders, or a folder of ruleset folders")
    lint.set_defaults(run=cmd_lint)

    decide = command(
        "decide",
        "Decide for one household (or village, county: the ruleset's subject) or a whole "
        "caseload, with traces, explanations, decision records or a decision table.",
    )
    decide.description = _described(decide) + (
        "\n\nThe input is one JSON document, or a caseload: JSON Lines (.jsonl), Parquet (.parquet), or CSV and Excel\n"
        "(.csv, .xlsx) with a column mapping (--mapping; see docs/caseloads.md). It is read as a stream and\n"
        "decided by --workers processes; the output is the same, byte for byte, whatever their number.\n"
        "A bad household stops the run with one line naming FILE:LINE (or sheet and row); nothing is\n"
        "written and nothing logged. On a terminal, a progress bar shows the count, the rate and the ETA."
    )
    decide.add_argument("ruleset", help="ruleset file or folder")
    decide.add_argument("decision", help="the decision to make, e.g. identify_poor_household")
    decide.add_argument(
        "input",
        nargs="?",
        default="-",
        help="a JSON file of one household, a caseload (.jsonl, .csv, .xlsx, .parquet), or - for standard input",
    )
    decide.add_argument("--as-of", required=True, help="the date the decision is made as of (YYYY-MM-DD)")
    decide.add_argument(
        "--format",
        choices=("json", "text", *TABLE_FORMATS),
        default=None,
        help="json: the trace (or record), one per line (default); text: the explanation; "
        "parquet, csv: a decision table, one row per subject (default when -o ends so)",
    )
    decide.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of --format text")
    decide.add_argument("--jsonl", action="store_true", help="the input holds one household per line")
    decide.add_argument(
        "--mapping",
        metavar="FILE",
        help="the column mapping of a CSV, Excel or flat Parquet caseload (YAML: headers → facts)",
    )
    decide.add_argument("--workers", type=int, metavar="N", help="processes deciding in parallel (default: every core)")
    decide.add_argument("--no-trace", action="store_true", help="do not record leaf conditions (faster)")
    decide.add_argument(
        "--record",
        action="store_true",
        help="write povrules.record.v2 decision records (one per line) instead of traces",
    )
    decide.add_argument(
        "--redact-key-file",
        metavar="PATH",
        help="record with names, ID numbers and free text replaced by a keyed hash (HMAC-SHA256) "
        f"under the bytes of this file (at least {MIN_KEY_BYTES}); implies --record",
    )
    decide.add_argument(
        "--facts-by-digest",
        action="store_true",
        help="records name the facts by their digest (facts_digest) instead of holding them, for "
        "callers who keep the facts elsewhere; replay then needs the facts given back",
    )
    decide.add_argument(
        "--log",
        metavar="PATH",
        help="append the records to this decision log (created if absent) as one batch, committed "
        "whole at the end or not at all; implies --record. The records are then written only "
        "to -o, and a summary line to standard output",
    )
    decide.add_argument(
        "--anchor-key-file",
        metavar="PATH",
        help="anchor the --log batch: its commit line carries an HMAC-SHA256 under the bytes of this "
        f"file (at least {MIN_KEY_BYTES}), which verify-log --anchor-key-file checks",
    )
    decide.add_argument("-o", "--output", help="write to this file (all or nothing) instead of standard output")
    decide.add_argument(
        "--engine",
        choices=("row", "columnar"),
        default="row",
        help="row (default): every output; columnar: a caseload file to a decision table only "
        "(-o FILE.parquet|csv), block by block in one process, record_digest null",
    )
    decide.set_defaults(run=cmd_decide)

    test = command("test", "Run the policy tests (YAML cases in each ruleset's tests/ folder) and report failures.")
    test.description = _described(test) + (
        "\n\nEach failing case prints 'file:line: name: expected X, got Y' and the decision's "
        "explanation\nin Chinese and English; a summary 'N passed, M failed' ends the output. "
        "A bad test file\nor ruleset stops the run before any case with one line naming "
        "file:line:col."
    )
    test.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="test files, ruleset folders (their tests/), or a folder of ruleset folders",
    )
    test.add_argument("-v", "--verbose", action="store_true", help="list the passing cases too")
    test.set_defaults(run=cmd_test)

    mutate = command(
        "mutate",
        "Mutation testing of rulesets: change each number, date, comparator, and/or, list "
        "element, exception and table row by one step and check that a policy test fails.",
    )
    mutate.description = _described(mutate) + (
        "\n\nEach mutant is run against the policy tests of its ruleset and of every ruleset extending it. The\n"
        "report gives per ruleset total / killed / survived / equivalent / stillborn and the score\n"
        "killed / (total - stillborn), then every survivor as 'file:line:col: operator: before → after\n"
        "(element)  [key]'. A survivor no test could tell apart is listed, by its key and why, in the\n"
        "ruleset's tests/equivalent-mutants.yaml (see docs/policy-tests.md). Exit 1 when a survivor is not\n"
        "listed, an entry there is stale, the tests fail unmutated, or the score is under --min-score."
    )
    mutate.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="ruleset folders, or a folder of ruleset folders (rulesets extending them are found beside them)",
    )
    mutate.add_argument("--workers", type=int, metavar="N", help="processes running mutants (default: every core)")
    mutate.add_argument(
        "--min-score", type=float, default=98.0, metavar="PERCENT", help="the lowest score that passes (default 98)"
    )
    mutate.add_argument(
        "--changed-since",
        metavar="REV",
        help="only rulesets with a file changed since this git revision, and the rulesets they "
        "extend or that extend them",
    )
    mutate.add_argument("--json", action="store_true", help="the report as JSON, every mutant with its status")
    mutate.set_defaults(run=cmd_mutate)

    explain = command("explain", "Explain a decision record (povrules.record.v2, or v1) as text in Chinese or English.")
    explain.description = _described(explain) + (
        "\n\nThe text is rebuilt from the trace the record holds; nothing is evaluated again "
        "and no ruleset\nis needed. The record is checked first (format, schema, both digests): "
        "a bad record\nfails with one line naming the field. To evaluate again, use replay."
    )
    explain.add_argument(
        "record", help="a record file (one povrules.record JSON document, v2 or v1), or - for standard input"
    )
    explain.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the text (default zh)")
    explain.add_argument("-o", "--output", help="write to this file (all or nothing) instead of standard output")
    explain.set_defaults(run=cmd_explain)

    verify = command("verify-log", "Verify a decision log's hash chain from its first line to its last.")
    verify.description = _described(verify) + (
        "\n\nPrints the number of records, the head (last seq and digest: keep it elsewhere to "
        "detect\nlines later cut from the end) and OK, and exits 0. At the first edited, "
        "deleted,\nreordered, truncated or malformed line (or a record failing its own digest; "
        "a cut, or\nunanchored lines, when a head or a key is given) it prints "
        "'LOG:LINE: KIND: message'\nand exits 1. An unreadable log exits 2."
    )
    verify.add_argument("log", metavar="LOG", help="the decision log (JSON Lines)")
    verify.add_argument(
        "--anchor-key-file",
        metavar="PATH",
        help="the writer's anchor key: check every commit's anchor (HMAC-SHA256), and that the log "
        "ends with an anchored commit; a chain rewritten without the key is found",
    )
    verify.add_argument(
        "--expect-head",
        metavar="'SEQ DIGEST'",
        help="a head kept elsewhere (as log-head printed it): a log that ends before it (lines cut "
        "from the end) or holds another digest at its seq fails",
    )
    verify.set_defaults(run=cmd_verify_log)

    head = command("log-head", "Print a verified decision log's head, 'SEQ DIGEST', to keep elsewhere.")
    head.description = _described(head) + (
        "\n\nAn auditor keeps the line (a report, a signed note, another machine) and later gives "
        "it to\n'verify-log --expect-head': lines cut from the end, or a chain rewritten up to "
        "there, then\nfail. A log that does not verify gives no head (exit 1)."
    )
    head.add_argument("log", metavar="LOG", help="the decision log (JSON Lines)")
    head.add_argument("-o", "--output", help="write to this file (all or nothing) instead of standard output")
    head.set_defaults(run=cmd_log_head)

    repair = command("repair", "Remove a crashed tail from a decision log, saying what is removed.")
    repair.description = _described(repair) + (
        "\n\nThe tail is a batch never committed (its writer stopped) or a partial last line (a "
        "write cut\nshort). The log is verified first, under its lock: if anything before the "
        "tail fails, nothing\nis removed and the problem is printed (exit 1). Prints the lines, "
        "bytes, records and digests\nremoved."
    )
    repair.add_argument("log", metavar="LOG", help="the decision log (JSON Lines)")
    repair.add_argument("--dry-run", action="store_true", help="say what would be removed; remove nothing")
    repair.set_defaults(run=cmd_repair)

    replay = command("replay", "Decide a recorded decision again under the ruleset it names, and compare.")
    replay.description = _described(replay) + (
        "\n\nThe ruleset is found by the content digest the record names, in a store: folders of versioned\n"
        "rulesets (--store) or the rulesets folder of a git revision (--git). If the store does not hold it,\n"
        "replay stops (exit 2): it never falls back to another version. The record's facts are evaluated\n"
        "as of its date and the record rebuilt; the result is 'identical' (exit 0) or the first divergent\n"
        "rule and condition with the recorded and replayed values (exit 1).\n\n"
        "--with-current RULESET compares on purpose with another ruleset (usually today's) and, when the\n"
        "store holds the recorded one, lists what changed between them."
    )
    replay.add_argument(
        "record", metavar="RECORD", help="a record file (povrules.record.v2 or v1), or - for standard input"
    )
    replay.add_argument(
        "--store",
        nargs="+",
        action="extend",
        metavar="DIR",
        default=[],
        help="folders (or ruleset files) holding versioned rulesets, searched by digest (put RECORD before it)",
    )
    replay.add_argument("--git", metavar="REV", help="use the rulesets as they were at this git revision")
    replay.add_argument("--repo", default=".", metavar="PATH", help="the git repository for --git (default: .)")
    replay.add_argument(
        "--path", default="rulesets", help="the rulesets folder inside the repository for --git (default: rulesets)"
    )
    replay.add_argument(
        "--with-current",
        metavar="RULESET",
        help="decide again under this ruleset instead (not a faithful replay) and list what changed",
    )
    replay.add_argument(
        "--facts",
        metavar="FILE",
        help="the facts of a record made with --facts-by-digest (one JSON object, checked against "
        "the record's facts_digest)",
    )
    replay.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    replay.add_argument("--lang", choices=("zh", "en"), default="en", help="language of --format text (default en)")
    replay.add_argument("-o", "--output", help="write to this file (all or nothing) instead of standard output")
    replay.set_defaults(run=cmd_replay)

    diff = command(
        "diff",
        "List what changed between two versions of a ruleset: rules, parameters (with dates), "
        "derived facts and decisions.",
    )
    diff.description = _described(diff) + (
        "\n\nBoth rulesets are loaded with their extends resolved, so a change in a parent shows "
        'in the child.\nExit 0 whether or not anything changed (--format json says "empty").'
    )
    diff.add_argument("old", metavar="OLD", help="the older ruleset file or folder")
    diff.add_argument("new", metavar="NEW", help="the newer ruleset file or folder")
    diff.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    diff.add_argument("--lang", choices=("zh", "en"), default="en", help="language of --format text (default en)")
    diff.add_argument("-o", "--output", help="write to this file (all or nothing) instead of standard output")
    diff.set_defaults(run=cmd_diff)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except _Failure as exc:
        print(f"povrules {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except PovrulesError as exc:
        print(f"povrules {args.command}: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:  # a write or read no command caught (standard output on a full disk): one line
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"povrules {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_INPUT
    return code


if __name__ == "__main__":
    sys.exit(main())
