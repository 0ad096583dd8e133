"""The ``povrules`` command.

Every command either succeeds whole or fails with one line on standard error
naming where the problem is, and writes no partial output.
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

from povrules.citations import check_citations
from povrules.engine import evaluate
from povrules.errors import FactsError, PovrulesError
from povrules.facts import SUBJECTS, facts_schema, parse_facts
from povrules.policytest import load_policy_file, policy_test_files, run_case
from povrules.ruleset import load_ruleset
from povrules.trace import canonical_json, trace_schema

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2

EPILOG = """exit codes:
  0  success
  1  the command ran and found problems (lint: a quote that does not match its source;
     test: a policy test case that fails)
  2  bad input: usage, unreadable file, invalid ruleset, facts or policy test file, evaluation error
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


def _write(text: str, output: str | None) -> None:
    """All or nothing: to a file through a temporary file renamed into place, or to standard output."""
    if output is None:
        sys.stdout.write(text)
        return
    target = Path(output)
    handle, temp = tempfile.mkstemp(dir=target.parent or Path("."), prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


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


def cmd_decide(args: argparse.Namespace) -> int:
    try:
        as_of = date.fromisoformat(args.as_of)
    except ValueError:
        raise _Failure(f"--as-of: expected a date as YYYY-MM-DD, got {args.as_of!r}") from None
    ruleset = load_ruleset(args.ruleset)
    ruleset.decision(args.decision)  # fail before reading any household
    pieces = []
    for where, text in _households(args.input, args.jsonl):
        try:
            facts = parse_facts(text, ruleset.subject, source=where)
        except FactsError as exc:
            raise _Failure(str(exc)) from None
        decision = evaluate(facts, ruleset, args.decision, as_of=as_of, trace=not args.no_trace)
        if args.format == "json":
            pieces.append(canonical_json(decision.trace()))
        else:
            pieces.append(decision.explain(args.lang))
    separator = "\n" if args.format == "json" else "\n\n"
    _write(separator.join(pieces) + "\n", args.output)
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

    decide = command("decide", "Decide for one household (or village, county: the ruleset's subject) as JSON, or many as JSONL, with the trace or an explanation.")
    decide.add_argument("ruleset", help="ruleset file or folder")
    decide.add_argument("decision", help="the decision to make, e.g. identify_poor_household")
    decide.add_argument("input", nargs="?", default="-", help="household JSON file, .jsonl file, or - for standard input")
    decide.add_argument("--as-of", required=True, help="the date the decision is made as of (YYYY-MM-DD)")
    decide.add_argument("--format", choices=("json", "text"), default="json",
                        help="json: the trace, one per line; text: the explanation")
    decide.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of --format text")
    decide.add_argument("--jsonl", action="store_true", help="the input holds one household per line")
    decide.add_argument("--no-trace", action="store_true", help="do not record leaf conditions (faster)")
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
