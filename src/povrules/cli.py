"""The ``povrules`` command.

Every command either succeeds whole or fails with one line on standard error
naming where the problem is, and writes no partial output: a file given with
``-o`` is written to a temporary file renamed into place, and ``decide --log``
appends its whole batch in one locked write or nothing.

Exit codes
    0  success: the command did what was asked (``replay``: the decision came out identical;
       ``verify-log``: the log verified)
    1  the command ran and found something: ``lint`` a misquoted clause, ``test`` a failing case,
       ``verify-log`` a problem in the log, ``replay`` a divergent decision
    2  bad input: usage, an unreadable file, malformed JSON, facts failing validation, an invalid or
       unknown ruleset, a malformed record, a ruleset version not in the store, an evaluation error
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from povrules.audit import DecisionLog, RecordError, explain_record, load_record, make_record, record_json, verify_log
from povrules.audit.record import MIN_KEY_BYTES
from povrules.citations import check_citations
from povrules.engine import evaluate
from povrules.errors import FactsError, PovrulesError
from povrules.facts import SUBJECTS, facts_schema, parse_facts
from povrules.policytest import load_policy_file, policy_test_files, run_case
from povrules.ruleset import load_ruleset
from povrules.trace import canonical_json, trace_schema

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2

EPILOG = """exit codes:
  0  success (replay: identical; verify-log: the log verifies)
  1  the command ran and found problems (lint: a quote that does not match its source;
     test: a policy test case that fails; verify-log: a problem in the log; replay: divergent)
  2  bad input: usage, unreadable file, malformed JSON, invalid ruleset, facts, record or
     policy test file, a ruleset version not in the store, a truncated log passed to --log,
     evaluation error; nothing is written
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
    """Write ``text`` to a temporary file beside ``output``; :func:`_commit` renames it into place."""
    target = Path(output)
    try:
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise _Failure(f"{output}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(temp)


def _commit(temp: Path, output: str) -> None:
    try:
        os.replace(temp, output)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write(text: str, output: str | None) -> None:
    """All or nothing: to a file through a temporary file renamed into place, or to standard output."""
    if output is None:
        sys.stdout.write(text)
        return
    _commit(_stage(text, output), output)


def cmd_schema(args: argparse.Namespace) -> int:
    schema = trace_schema() if args.trace else facts_schema(args.subject)
    _write(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", args.output)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    lines = []
    for file in _ruleset_files(args.rulesets):
        ruleset = load_ruleset(file)
        lines.append(f"{file}: {ruleset.id} {ruleset.version} {ruleset.digest} "
                     f"({len(ruleset.rules)} rules, {len(ruleset.parameters)} parameters, "
                     f"decisions: {', '.join(ruleset.decisions)})")
    _write("\n".join(lines) + "\n", None)
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    sources = Path(args.sources)
    if not sources.is_dir():
        raise _Failure(f"{args.sources}: no such folder of sources")
    problems = []
    files = _ruleset_files(args.rulesets)
    for file in files:
        problems.extend(check_citations(load_ruleset(file), sources))
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"lint: {len(files)} ruleset(s), {len(problems)} citation problem(s)")
    return EXIT_FINDINGS if problems else EXIT_OK


def _households(source: str, jsonl: bool) -> list[tuple[str, bytes]]:
    """(where, text) for each household in the input: one JSON object, or one per line."""
    name = "<stdin>" if source == "-" else source
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise _Failure(f"{name}: cannot read ({exc.strerror})") from None
    if not (jsonl or name.endswith(".jsonl")):
        return [(name, data)]
    return [(f"{name}:{number}", line) for number, line in enumerate(data.splitlines(), start=1) if line.strip()]


PROGRESS_FROM = 200  # households: fewer are decided before anyone could read a counter


class _Progress:
    """A counter on standard error (``\\r``-rewritten), only for a large input and only on a terminal."""

    def __init__(self, total: int, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        isatty = getattr(self.stream, "isatty", None)
        self.on = total >= PROGRESS_FROM and bool(isatty and isatty())
        self.step = max(1, total // 100)

    def update(self, done: int) -> None:
        if self.on and (done % self.step == 0 or done == self.total):
            self.stream.write(f"\r{done}/{self.total} ({100 * done // self.total}%)")
            self.stream.flush()

    def close(self) -> None:
        if self.on:
            self.stream.write("\r" + " " * (2 * len(str(self.total)) + 8) + "\r")
            self.stream.flush()


def _redact_key(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise _Failure(f"--redact-key-file {path}: cannot read ({exc.strerror})") from None
    if len(key) < MIN_KEY_BYTES:
        raise _Failure(f"--redact-key-file {path}: the key is {len(key)} bytes; at least {MIN_KEY_BYTES} are needed "
                       "(a short key lets anyone test guesses)")
    return key


def cmd_decide(args: argparse.Namespace) -> int:
    try:
        as_of = date.fromisoformat(args.as_of)
    except ValueError:
        raise _Failure(f"--as-of: expected a date as YYYY-MM-DD, got {args.as_of!r}") from None
    recording = args.record or args.log is not None or args.redact_key_file is not None
    if recording and args.format == "text":
        raise _Failure("--format text explains decisions; records (--record, --log, --redact-key-file) are JSON")
    key = _redact_key(args.redact_key_file)
    ruleset = load_ruleset(args.ruleset)
    ruleset.decision(args.decision)  # fail before reading any household
    households = _households(args.input, args.jsonl)
    progress = _Progress(len(households))
    pieces, records = [], []
    try:
        for done, (where, text) in enumerate(households, start=1):
            try:
                facts = parse_facts(text, ruleset.subject, source=where)
            except FactsError as exc:
                raise _Failure(str(exc)) from None
            decision = evaluate(facts, ruleset, args.decision, as_of=as_of, trace=recording or not args.no_trace)
            if recording:
                record = make_record(decision, redact_key=key)
                records.append(record)
                pieces.append(record_json(record))
            elif args.format == "json":
                pieces.append(canonical_json(decision.trace()))
            else:
                pieces.append(decision.explain(args.lang))
            progress.update(done)
    finally:
        progress.close()
    separator = "\n" if args.format == "json" else "\n\n"
    text = separator.join(pieces) + "\n" if pieces else ""
    if args.log is None:
        _write(text, args.output)
        return EXIT_OK
    # The records go to the log in one locked write; -o, if given, is staged first and renamed only
    # once the log has taken them, so a failure leaves neither.
    temp = _stage(text, args.output) if args.output is not None else None
    try:
        entries = DecisionLog(args.log).append_many(records)
    except BaseException:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise
    if temp is not None:
        _commit(temp, args.output)
    if entries:
        summary = f"{args.log}: appended {len(entries)} record(s), seq {entries[0].seq} to {entries[-1].seq}"
    else:
        summary = f"{args.log}: no household in the input, nothing appended"
    print(summary)
    return EXIT_OK


def _read_record(path: str) -> dict:
    """A record file, parsed and verified; any problem is one line naming the file and the field."""
    name = "<stdin>" if path == "-" else path
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise _Failure(f"{name}: cannot read ({exc.strerror})") from None
    try:
        return load_record(data)
    except RecordError as exc:
        raise _Failure(f"{name}: invalid record: {'; '.join(exc.problems)}") from None


def cmd_explain(args: argparse.Namespace) -> int:
    record = _read_record(args.record)
    _write(explain_record(record, args.lang) + "\n", args.output)
    return EXIT_OK


def cmd_verify_log(args: argparse.Namespace) -> int:
    if not Path(args.log).exists():
        raise _Failure(f"{args.log}: no such log file")
    if not Path(args.log).is_file():
        raise _Failure(f"{args.log}: not a file")
    report = verify_log(args.log)
    if report.problem is not None:
        p = report.problem
        print(f"{args.log}:{p.line}: {p.kind}: {p.message}")
        print(f"{report.entries} of {report.lines} line(s) verified before line {p.line}", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"{args.log}: {report.entries} record(s) on {report.lines} line(s), {report.size} bytes; OK")
    print(f"head: seq {report.last_seq} {report.last_digest}")
    return EXIT_OK


def _store(args: argparse.Namespace):
    from povrules.audit.replay import RulesetStore

    if args.git is not None:
        return RulesetStore.from_git(args.repo, args.git, args.path)
    if args.store:
        return RulesetStore(*args.store)
    return None


def cmd_replay(args: argparse.Namespace) -> int:
    from povrules.audit.replay import replay, replay_with_current

    if args.git is None and not args.store and args.with_current is None:
        raise _Failure("say where the recorded ruleset is: --store DIR or --git REV (or compare with "
                       "--with-current RULESET)")
    if args.git is not None and args.store:
        raise _Failure("--store and --git name two stores: give one")
    record = _read_record(args.record)
    store = _store(args)
    if args.with_current is not None:
        result = replay_with_current(record, load_ruleset(args.with_current), store)
    else:
        result = replay(record, store)
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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="povrules", description="Decisions on poverty identification and monitoring, from rulesets, with traces.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"povrules {__import__('povrules').__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    schema = command("schema", "Print the JSON Schema of household (or village, county) facts, or with --trace of traces.")
    schema.add_argument("--trace", action="store_true", help="the schema of povrules.trace.v1 documents")
    schema.add_argument("--subject", choices=list(SUBJECTS), default="household",
                        help="whose facts: household (default), village or county")
    schema.add_argument("-o", "--output", help="write to this file instead of standard output")
    schema.set_defaults(run=cmd_schema)

    check = command("check", "Load, check and compile rulesets; print each one's id, version and digest.")
    check.add_argument("rulesets", nargs="+", help="ruleset files, ruleset folders, or a folder of ruleset folders")
    check.set_defaults(run=cmd_check)

    lint = command("lint", "Check that every quoted clause stands at its cited lines of its source.")
    lint.add_argument("--sources", required=True, help="folder holding the cited source files")
    lint.add_argument("rulesets", nargs="+", help="ruleset files, ruleset folders, or a folder of ruleset folders")
    lint.set_defaults(run=cmd_lint)

    decide = command("decide", "Decide for one household (or village, county: the ruleset's subject) as JSON, "
                               "or many as JSONL, with the trace, an explanation or a decision record.")
    decide.description += ("\n\nA JSONL input of 200 households or more shows a counter on standard error when it "
                           "is a terminal.\nA bad household stops the run with one line naming FILE:LINE; nothing "
                           "is written or logged.")
    decide.add_argument("ruleset", help="ruleset file or folder")
    decide.add_argument("decision", help="the decision to make, e.g. identify_poor_household")
    decide.add_argument("input", nargs="?", default="-", help="household JSON file, .jsonl file, or - for standard input")
    decide.add_argument("--as-of", required=True, help="the date the decision is made as of (YYYY-MM-DD)")
    decide.add_argument("--format", choices=("json", "text"), default="json",
                        help="json: the trace, one per line; text: the explanation")
    decide.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of --format text")
    decide.add_argument("--jsonl", action="store_true", help="the input holds one household per line")
    decide.add_argument("--no-trace", action="store_true", help="do not record leaf conditions (faster)")
    decide.add_argument("--record", action="store_true",
                        help="write povrules.record.v1 decision records (one per line) instead of traces")
    decide.add_argument("--redact-key-file", metavar="PATH",
                        help="record with names, ID numbers and free text replaced by a keyed hash (HMAC-SHA256) "
                             f"under the bytes of this file (at least {MIN_KEY_BYTES}); implies --record")
    decide.add_argument("--log", metavar="PATH",
                        help="append the records to this decision log (created if absent), the whole batch in one "
                             "locked write or nothing; implies --record. The records are then written only to -o, "
                             "and a summary line to standard output")
    decide.add_argument("-o", "--output", help="write to this file (all or nothing) instead of standard output")
    decide.set_defaults(run=cmd_decide)

    test = command("test", "Run the policy tests (YAML cases in each ruleset's tests/ folder) and report failures.")
    test.description += ("\n\nEach failing case prints 'file:line: name: expected X, got Y' and the decision's "
                         "explanation\nin Chinese and English; a summary 'N passed, M failed' ends the output. "
                         "A bad test file\nor ruleset stops the run before any case with one line naming "
                         "file:line:col.")
    test.add_argument("paths", nargs="+", metavar="PATH",
                      help="test files, ruleset folders (their tests/), or a folder of ruleset folders")
    test.add_argument("-v", "--verbose", action="store_true", help="list the passing cases too")
    test.set_defaults(run=cmd_test)

    explain = command("explain", "Explain a decision record (povrules.record.v1) as text in Chinese or English.")
    explain.description += ("\n\nThe text is rebuilt from the trace the record holds; nothing is evaluated again "
                            "and no ruleset\nis needed. The record is checked first (format, schema, both digests): "
                            "a bad record\nfails with one line naming the field. To evaluate again, use replay.")
    explain.add_argument("record", help="a record file (one povrules.record.v1 JSON document), or - for standard input")
    explain.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the text (default zh)")
    explain.add_argument("-o", "--output", help="write to this file (all or nothing) instead of standard output")
    explain.set_defaults(run=cmd_explain)

    verify = command("verify-log", "Verify a decision log's hash chain from its first line to its last.")
    verify.description += ("\n\nPrints the number of records, the head (last seq and digest: keep it elsewhere to "
                           "detect\nlines later cut from the end) and OK, and exits 0. At the first edited, "
                           "deleted,\nreordered, truncated or malformed line it prints 'LOG:LINE: KIND: message' "
                           "and exits 1.\nAn unreadable log exits 2.")
    verify.add_argument("log", metavar="LOG", help="the decision log (JSON Lines)")
    verify.set_defaults(run=cmd_verify_log)

    replay = command("replay", "Decide a recorded decision again under the ruleset it names, and compare.")
    replay.description += (
        "\n\nThe ruleset is found by the content digest the record names, in a store: folders of versioned\n"
        "rulesets (--store) or the rulesets folder of a git revision (--git). If the store does not hold it,\n"
        "replay stops (exit 2): it never falls back to another version. The record's facts are evaluated\n"
        "as of its date and the record rebuilt; the result is 'identical' (exit 0) or the first divergent\n"
        "rule and condition with the recorded and replayed values (exit 1).\n\n"
        "--with-current RULESET compares on purpose with another ruleset (usually today's) and, when the\n"
        "store holds the recorded one, lists what changed between them.")
    replay.add_argument("record", metavar="RECORD", help="a record file (povrules.record.v1), or - for standard input")
    replay.add_argument("--store", nargs="+", action="extend", metavar="DIR", default=[],
                        help="folders (or ruleset files) holding versioned rulesets, searched by digest "
                             "(put RECORD before it)")
    replay.add_argument("--git", metavar="REV", help="use the rulesets as they were at this git revision")
    replay.add_argument("--repo", default=".", metavar="PATH", help="the git repository for --git (default: .)")
    replay.add_argument("--path", default="rulesets", help="the rulesets folder inside the repository for --git "
                                                          "(default: rulesets)")
    replay.add_argument("--with-current", metavar="RULESET",
                        help="decide again under this ruleset instead (not a faithful replay) and list what changed")
    replay.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    replay.add_argument("--lang", choices=("zh", "en"), default="en", help="language of --format text (default en)")
    replay.add_argument("-o", "--output", help="write to this file (all or nothing) instead of standard output")
    replay.set_defaults(run=cmd_replay)

    diff = command("diff", "List what changed between two versions of a ruleset: rules, parameters (with dates), "
                           "derived facts and decisions.")
    diff.description += ("\n\nBoth rulesets are loaded with their extends resolved, so a change in a parent shows "
                         "in the child.\nExit 0 whether or not anything changed (--format json says \"empty\").")
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
    return code


if __name__ == "__main__":
    sys.exit(main())
