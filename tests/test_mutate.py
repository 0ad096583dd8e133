"""Ruleset mutation testing (``povrules mutate``) on the small rulesets of tests/fixtures/mutate."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from povrules.cli import main
from povrules.errors import RulesetError
from povrules.mutate import EQUIVALENT, KILLED, STILLBORN, SURVIVED, mutants_of, mutate
from povrules.policytest import case_citation_problems, load_policy_file, policy_test_files
from povrules.ruleset import load_ruleset

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mutate"
BASE_FILE = "mut-base/ruleset.yaml"


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    """A copy of the fixture rulesets to change, and the folder holding them."""
    target = tmp_path / "rulesets"
    shutil.copytree(FIXTURES, target)
    return target


def _line_of(file: Path, text: str) -> int:
    lines = file.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def _column_of(file: Path, line: int, text: str) -> int:
    return file.read_text(encoding="utf-8").splitlines()[line - 1].index(text) + 1


def _by_key(ruleset: str = "mut-base") -> dict:
    return {m.key: m for m in mutants_of(load_ruleset(FIXTURES / ruleset))}


# The operators, each at its place


def test_numbers_move_by_one_unit_of_their_kind():
    mutants = _by_key()
    file = FIXTURES / BASE_FILE
    money = mutants["parameter income_line from 2020-01-01: +1"]
    assert (money.before, money.after, money.operator) == ("4000", "4001", "number")
    assert mutants["parameter income_line from 2020-01-01: -1"].after == "3999"
    line = _line_of(file, "value: 4000")
    assert (money.location.line, money.location.column) == (line, _column_of(file, line, "4000"))
    # A ratio written 0.5 moves by its hundredths, not by one.
    assert mutants["parameter share from 2020-01-01: +0.01"].after == "0.51"
    assert mutants["parameter share from 2020-01-01: -0.01"].after == "0.49"
    literal = mutants["derived large_medical: number#0 -1"]
    assert (literal.before, literal.after) == ("10000", "9999")


def test_dates_move_by_one_day():
    mutants = _by_key()
    assert mutants["parameter cutoff from 2020-01-01: +1 day"].after == "2020-07-01"
    assert mutants["parameter cutoff from 2020-01-01: -1 day"].after == "2020-06-29"
    literal = mutants["rule burdened: date#0 -1 day"]
    assert (literal.before, literal.after) == ('date("2021-01-01")', 'date("2020-12-31")')
    file = FIXTURES / BASE_FILE
    line = _line_of(file, 'date("2021-01-01")')
    assert (literal.location.line, literal.location.column) == (line, _column_of(file, line, "date("))


def test_comparators_move_to_their_neighbours_at_the_operator():
    mutants = _by_key()
    file = FIXTURES / BASE_FILE
    low = mutants["rule low_income: compare#0 < → <="]
    line = _line_of(file, "p.income_line and")
    assert (low.location.line, low.location.column) == (line, _column_of(file, line, "< p.income_line"))
    assert low.after == "hh.income.per_capita_net <= p.income_line"
    assert "rule low_income: compare#1 in → not in" in mutants
    # Inside a folded scalar written over two lines: the position is still the operator's own.
    elder = mutants["derived is_elder: compare#0 >= → >"]
    line = _line_of(file, "any(m.age >= 60")
    assert (elder.location.line, elder.location.column) == (line, _column_of(file, line, ">="))
    assert mutants["rule burdened: compare#0 > → >="].operator == "comparator"


def test_and_or_not_lists_exceptions_and_rows():
    mutants = _by_key()
    file = FIXTURES / BASE_FILE
    three = mutants["rule burdened: and#0 → or"]
    assert three.after.count(" or ") == 2 and " and " not in three.after
    line = _line_of(file, "large_medical and")
    assert (three.location.line, three.location.column) == (line, _column_of(file, line, "and"))
    assert mutants["rule official: or#0 → and"].operator == "and-or"
    dropped = mutants["rule official: not#0 dropped"]
    assert (dropped.before, dropped.after) == ("not hh.rural_hukou", "hh.rural_hukou")
    removed = mutants['rule recent: list#0 remove "dispersed"']
    assert removed.after == '["centralised"]'
    element = mutants["parameter statuses from 2020-01-01: remove exited"]
    assert (element.before, element.after) == ("[registered_poor, exited]", "[registered_poor]")
    line = _line_of(file, "[registered_poor, exited]")
    assert (element.location.line, element.location.column) == (line, _column_of(file, line, "exited]"))
    assert mutants["decision identify: drop exception official"].operator == "drop-exception"
    assert {k for k in mutants if "drop row" in k} == {
        "decision support: drop row elder",
        "decision support: drop row rural_elder",
        "decision support: drop row recent",
        "decision burden: drop row burdened",
    }


def test_requirements_of_a_derived_figure_are_mutated_and_dropped():
    mutants = _by_key()
    file = FIXTURES / BASE_FILE
    line = _line_of(file, "- expr: hh.income.total_net > 0")
    dropped = mutants["derived large_medical: drop requirement 0"]
    assert dropped.operator == "drop-requirement" and dropped.before == "hh.income.total_net > 0"
    assert (dropped.location.line, dropped.location.column) == (line, _column_of(file, line, "expr:"))
    flipped = mutants["derived large_medical requires[0]: compare#0 > → >="]
    assert (flipped.location.line, flipped.location.column) == (line, _column_of(file, line, "> 0"))
    assert "requires" not in dropped.value  # the only requirement gone, the key goes too


def test_unread_parameters_are_not_mutated_and_a_parent_is_mutated_once():
    assert not any("grant" in key for key in _by_key())
    # The child's own file holds one rule; the parent's elements are the parent's mutants.
    assert set(_by_key("mut-child")) == {"rule recent: compare#0 >= → >"}


# Running them


def test_the_fixture_report():
    report = mutate([FIXTURES], workers=1)
    status = {o.mutant.key: o for o in report.outcomes if o.mutant.ruleset == "mut-base"}
    survivors = {o.mutant.key for o in report.survivors()}
    assert survivors == {
        "derived large_medical: compare#0 >= → >",
        "derived large_medical: number#0 +1",
        "derived large_medical: number#0 -1",
        'rule recent: list#0 remove "centralised"',
        "rule burdened: compare#1 < → <=",
        "rule burdened: date#0 +1 day",
        "rule recent: compare#0 >= → >",
        "derived large_medical requires[0]: number#0 +1",
    }
    equivalent = status["decision support: drop row rural_elder"]
    assert equivalent.status == EQUIVALENT and "FIRST" in equivalent.why
    # Dropping a table's only row leaves no table: stillborn, and out of the score.
    stillborn = status["decision burden: drop row burdened"]
    assert stillborn.status == STILLBORN and "needs 'rows'" in stillborn.detail
    killed = status["rule official: not#0 dropped"]
    assert killed.status == KILLED and killed.detail.startswith("mut-base/identify.yaml::")
    counts = report.counts("mut-base")
    assert counts == {"total": 39, KILLED: 30, SURVIVED: 7, EQUIVALENT: 1, STILLBORN: 1}
    assert report.score("mut-base") == pytest.approx(100 * 30 / 38)
    assert status["derived large_medical: drop requirement 0"].status == KILLED
    assert report.unread == (("mut-base", "grant"),)
    assert report.failed(98) and not report.stale


def test_a_parent_mutant_is_killed_by_the_tests_of_a_ruleset_extending_it(fixture_copy):
    report = mutate([fixture_copy], workers=1)
    at_line = {o.mutant.key: o for o in report.outcomes}
    # Only mut-child's tests put a household exactly at the line.
    for key in ("rule low_income: compare#0 < → <=", "parameter income_line from 2020-01-01: +1"):
        assert at_line[key].status == KILLED and at_line[key].detail.startswith("mut-child/"), key
    shutil.rmtree(fixture_copy / "mut-child")
    alone = {o.mutant.key: o.status for o in mutate([fixture_copy / "mut-base"], workers=1).outcomes}
    assert alone["rule low_income: compare#0 < → <="] == SURVIVED
    assert alone["parameter income_line from 2020-01-01: +1"] == SURVIVED


def test_workers_give_the_same_report():
    one = {o.mutant.key: o.status for o in mutate([FIXTURES], workers=1).outcomes}
    two = {o.mutant.key: o.status for o in mutate([FIXTURES], workers=2).outcomes}
    assert one == two


def test_stale_equivalents_are_flagged(fixture_copy):
    listed = fixture_copy / "mut-base" / "tests" / "equivalent-mutants.yaml"
    listed.write_text(
        listed.read_text(encoding="utf-8")
        + (
            '  - mutant: "rule official: not#0 dropped"\n    why: wrongly thought equivalent\n'
            '  - mutant: "rule nobody: compare#0 < → <="\n    why: a rule since removed\n'
        ),
        encoding="utf-8",
    )
    report = mutate([fixture_copy], workers=1)
    stale = {entry.key: why for entry, why in report.stale}
    assert stale["rule official: not#0 dropped"].startswith("listed as equivalent but killed by mut-base/")
    assert stale["rule nobody: compare#0 < → <="].startswith("no such mutant")
    assert "decision support: drop row rural_elder" not in stale
    entry = next(entry for entry, _ in report.stale if entry.key.startswith("rule nobody"))
    assert entry.location.line == _line_of(listed, "rule nobody")
    assert report.failed(0)


def test_a_malformed_equivalents_file_is_an_error_at_its_place(fixture_copy):
    listed = fixture_copy / "mut-base" / "tests" / "equivalent-mutants.yaml"
    listed.write_text('equivalent:\n  - mutant: "rule x: not#0 dropped"\n', encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        mutate([fixture_copy], workers=1)
    assert "needs 'why'" in str(caught.value) and "equivalent-mutants.yaml:2:" in str(caught.value)


def test_failing_tests_stop_the_run_before_any_mutant(fixture_copy):
    tests = fixture_copy / "mut-other" / "tests" / "rural.yaml"
    tests.write_text(tests.read_text(encoding="utf-8").replace("expect: not_rural", "expect: rural"), encoding="utf-8")
    report = mutate([fixture_copy / "mut-other"], workers=1)
    assert report.baseline_failures and report.failed(0)
    assert all(o.status == SURVIVED for o in report.outcomes)


# The command


def test_cli_exit_codes_and_json(capsys, fixture_copy):
    assert main(["mutate", str(FIXTURES), "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "mut-base      39      30         7           1          1   78.9%" in out
    assert "unread parameters (not mutated): mut-base: grant" in out
    survivor = next(line for line in out.splitlines() if "large_medical: number#0 +1" in line)
    line = _line_of(FIXTURES / BASE_FILE, ">= 10000")
    assert survivor.startswith(f"{FIXTURES / BASE_FILE}:{line}:{_column_of(FIXTURES / BASE_FILE, line, '10000')}: ")
    assert ": number: 10000 → 10001  (derived large_medical)" in survivor

    # Every survivor listed (in this copy only: the fixture's own file lists only a true equivalent).
    for folder in ("mut-base", "mut-child"):
        (fixture_copy / folder / "tests" / "equivalent-mutants.yaml").write_text(
            "equivalent:\n"
            + "".join(
                f"  - mutant: {json.dumps(o.mutant.key, ensure_ascii=False)}\n    why: listed\n"
                for o in mutate([FIXTURES], workers=1).survivors()
                if o.mutant.ruleset == folder
            )
            + (
                '  - mutant: "decision support: drop row rural_elder"\n    why: FIRST\n' if folder == "mut-base" else ""
            ),
            encoding="utf-8",
        )
    assert main(["mutate", str(fixture_copy), "--workers", "1", "--min-score", "0"]) == 0
    assert main(["mutate", str(fixture_copy), "--workers", "1"]) == 1  # the score is under 98
    capsys.readouterr()
    assert main(["mutate", str(fixture_copy), "--workers", "1", "--min-score", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rulesets"]["mut-base"]["equivalent"] == 8 and data["failed"] is False
    assert {m["status"] for m in data["mutants"]} == {KILLED, EQUIVALENT, STILLBORN}

    assert main(["mutate", str(fixture_copy / "nothing")]) == 2
    assert "no such ruleset folder" in capsys.readouterr().err


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_changed_since_takes_the_changed_rulesets_and_their_family(fixture_copy):
    repo = fixture_copy.parent
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "fixture")
    assert mutate([fixture_copy], workers=1, changed_since="HEAD").rulesets == ()
    # A new test file, not yet added to git, counts as a change.
    shutil.copy(fixture_copy / "mut-other" / "tests" / "rural.yaml", fixture_copy / "mut-other" / "tests" / "more.yaml")
    assert mutate([fixture_copy], workers=1, changed_since="HEAD").rulesets == ("mut-other",)
    (fixture_copy / "mut-other" / "tests" / "more.yaml").unlink()
    # A change to the parent takes the ruleset extending it; a change to the child, the parent it extends.
    child = fixture_copy / "mut-child" / "tests" / "identify.yaml"
    child.write_text(child.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert set(mutate([fixture_copy], workers=1, changed_since="HEAD").rulesets) == {"mut-base", "mut-child"}
    with pytest.raises(RulesetError, match="--changed-since no-such-rev"):
        mutate([fixture_copy], workers=1, changed_since="no-such-rev")


# Cases that cite their lines


def test_cases_carry_their_citations():
    cases = load_policy_file(FIXTURES / "mut-base" / "tests" / "identify.yaml")
    first, second = cases[0], cases[1]
    assert [(c.file, c.line, c.end_line, c.quote) for c in first.citations] == [("fixture.txt", 1, 1, "")]
    assert second.citations[0].quote == "脱贫户"
    assert cases[2].citations == ()
    assert case_citation_problems(cases, FIXTURES) == []
    # A source of the ruleset extended is a source of the ruleset extending it.
    child = load_policy_file(FIXTURES / "mut-child" / "tests" / "identify.yaml")
    assert [(c.file, c.line) for c in child[0].citations] == [("fixture.txt", 1)]


def test_the_equivalents_file_is_not_a_test_file():
    files = {f.name for f in policy_test_files(FIXTURES / "mut-base")}
    assert files == {"identify.yaml", "support.yaml", "burden.yaml"}


@pytest.mark.parametrize(
    "cite, message",
    [
        (
            "{source: T, line: 1}",
            "'source' of a case's citation must be one of the sources of ruleset 'mut-base', not 'T'",
        ),
        ("{source: S}", "needs 'line: N' or 'lines: [first, last]'"),
        ("{source: S, line: 0}", "cited lines must be positive and in order"),
        ("{source: S, lines: [3, 2]}", "cited lines must be positive and in order"),
        ("{source: S, line: 1, page: 2}", "unknown key 'page'"),
        ("[]", "'cite' is {source: S003, line: 270}"),
    ],
)
def test_a_bad_cite_is_refused_at_its_place(fixture_copy, cite, message):
    file = fixture_copy / "mut-base" / "tests" / "identify.yaml"
    file.write_text(
        file.read_text(encoding="utf-8").replace("cite: {source: S, line: 1}", f"cite: {cite}"), encoding="utf-8"
    )
    with pytest.raises(RulesetError) as caught:
        load_policy_file(file)
    assert message in str(caught.value)
    assert f"identify.yaml:{_line_of(file, 'cite: ' + cite)}:" in str(caught.value)


def test_lint_checks_that_cited_lines_stand_in_the_source(capsys, fixture_copy):
    assert main(["lint", "--sources", str(fixture_copy), str(fixture_copy / "mut-base")]) == 0
    file = fixture_copy / "mut-base" / "tests" / "identify.yaml"
    text = file.read_text(encoding="utf-8")
    file.write_text(
        text.replace("cite: {source: S, line: 1}", "cite: {source: S, line: 99}").replace(
            "quote: 脱贫户", "quote: 城镇户"
        ),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["lint", "--sources", str(fixture_copy), str(fixture_copy / "mut-base")]) == 1
    err = capsys.readouterr().err
    assert "case 'registered poor household below the line is poor': fixture.txt:99: the source has only 9 lines" in err
    assert "quote not found at the cited lines: 「城镇户」" in err
