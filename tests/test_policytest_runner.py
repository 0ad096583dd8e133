"""The policy-test runner: loading test files, running cases, the ``povrules test`` command.

Each test writes a small test file beside a copy of one of the engine's
fixture rulesets (``tests/fixtures/engine``) and checks what the runner makes
of it: results, the command's output and exit code, and for every bad file the
``file:line:col`` of the problem.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from povrules.cli import main
from povrules.errors import RulesetError
from povrules.policytest import load_policy_file, load_policy_tests, policy_test_files, run_case

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "engine"

IDENTIFY_HEAD = """\
decision: identify
as_of: 2021-03-01
bases:
  poor:
    id: base
    rural_hukou: true
    income: {per_capita_net: "3000.00"}
    assets: {vehicles: []}
    members: [{age: 40, is_public_official: false}]
cases:
"""


def write(
    tmp_path: Path, body: str, fixture: str = "identify", name: str = "cases.yaml", head: str | None = None
) -> Path:
    """A ruleset folder holding a copy of a fixture ruleset, and one test file in its tests/."""
    folder = tmp_path / f"rs-{fixture}"
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    if not (folder / "ruleset.yaml").exists():
        shutil.copy(FIXTURES / f"{fixture}.yaml", folder / "ruleset.yaml")
    if head is None:
        head = IDENTIFY_HEAD if fixture == "identify" else ""
    file = folder / "tests" / name
    file.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return file


def at(file: Path, needle: str, nth: int = 0) -> str:
    """``file:line:col`` of the ``nth`` occurrence of ``needle`` in the file."""
    text = file.read_text(encoding="utf-8")
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{file}:{line}:{column}"


def line_of(file: Path, needle: str) -> int:
    return int(at(file, needle).rsplit(":", 2)[1])


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["test", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def only(file: Path):
    (case,) = load_policy_file(file)
    return run_case(case)


# Passing and failing cases


def test_a_passing_case(tmp_path, capsys):
    file = write(
        tmp_path,
        """\
      - name: low income, rural, no car
        base: poor
        expect: identified
    """,
    )
    result = only(file)
    assert result.passed and result.expected == result.got == "identified"
    code, out, err = cli(capsys, str(file))
    assert (code, out, err) == (0, "1 passed, 0 failed\n", "")


def test_a_failing_case_names_its_line_and_shows_expected_got_and_the_explanation(tmp_path, capsys):
    file = write(
        tmp_path,
        """\
      - name: low income, rural, no car
        base: poor
        expect: identified
      - name: owns a car
        base: poor
        set:
          assets.vehicles: [{kind: car}]
        expect: identified
    """,
    )
    code, out, err = cli(capsys, str(file))
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"{file}:{line_of(file, '- name: owns a car')}: owns a car: expected identified, got excluded"
    assert "    决定：识别 [identify] 对 base → excluded" in lines
    assert "    Decision: Identification [identify] for base → excluded" in lines
    assert any("owns_car" in line and line.startswith("    ") for line in lines)
    assert lines[-1] == "1 passed, 1 failed"
    assert "low income, rural, no car" not in out  # a passing case is not listed without --verbose


def test_verbose_lists_passing_cases_too(tmp_path, capsys):
    file = write(
        tmp_path,
        """\
      - name: low income, rural, no car
        base: poor
        expect: identified
    """,
    )
    code, out, _ = cli(capsys, "--verbose", str(file))
    assert code == 0
    assert out.splitlines()[0] == f"{file}:{line_of(file, '- name')}: low income, rural, no car: ok (identified)"


def test_the_result_of_a_failing_case(tmp_path):
    file = write(
        tmp_path,
        """\
      - name: income at the line is not below it
        base: poor
        set: {income.per_capita_net: 4000}
        expect: identified
    """,
    )
    result = only(file)
    assert not result.passed
    assert (result.expected, result.got) == ("identified", "not_identified")
    assert (
        result.message == f"{file}:{line_of(file, '- name')}: income at the line is not below it: "
        "expected identified, got not_identified"
    )
    assert "人均纯收入" in result.explanation.zh and "Per-capita net income" in result.explanation.en


def test_money_as_text_or_number_and_the_dated_line(tmp_path):
    file = write(
        tmp_path,
        """\
      - name: one fen below the 2020 line, as text
        base: poor
        set: {income.per_capita_net: "3999.99"}
        expect: identified
      - name: at the 2020 line, as a number
        base: poor
        set: {income.per_capita_net: 4000}
        expect: not_identified
      - name: the 2021 line of 4500 in force later
        base: poor
        as_of: 2021-07-01
        set: {income.per_capita_net: 4000.00}
        expect: identified
    """,
    )
    results = [run_case(case) for case in load_policy_file(file)]
    assert [r.passed for r in results] == [True, True, True]
    assert [case.as_of.isoformat() for case in load_policy_file(file)] == ["2021-03-01", "2021-03-01", "2021-07-01"]


def test_a_case_with_its_whole_facts(tmp_path):
    file = write(
        tmp_path,
        """\
      - name: not rural
        facts: {id: h9, rural_hukou: false, income: {per_capita_net: 100}, assets: {vehicles: []},
                members: [{age: 30, is_public_official: false}]}
        expect: not_identified
        reasons: [rural]
    """,
    )
    result = only(file)
    assert result.passed and result.got == "not_identified; reasons [rural]"


def test_an_evaluation_error_fails_the_case_and_the_run_goes_on(tmp_path, capsys):
    file = write(
        tmp_path,
        """\
      - name: before any income line is in force
        base: poor
        as_of: 2019-06-01
        expect: identified
      - name: a good one
        base: poor
        expect: identified
    """,
    )
    code, out, _ = cli(capsys, str(file))
    assert code == 1
    assert "before any income line is in force: expected identified, got an evaluation error" in out
    assert "has no value in force on 2019-06-01" in out
    assert out.endswith("1 passed, 1 failed\n")


# Expecting an evaluation error


def test_an_expected_evaluation_error_passes(tmp_path, capsys):
    file = write(
        tmp_path,
        """\
      - name: before any income line is in force
        base: poor
        as_of: 2019-12-31
        expect_error: "'income_line' (used by rule 'low_income') has no value in force on 2019-12-31"
    """,
    )
    result = only(file)
    assert result.passed
    assert result.expected == (
        "an evaluation error containing \"'income_line' (used by rule 'low_income') "
        'has no value in force on 2019-12-31"'
    )
    assert result.got.startswith("an evaluation error (parameter 'income_line'")
    assert result.message.endswith(": before any income line is in force: passed")
    assert cli(capsys, str(file)) == (0, "1 passed, 0 failed\n", "")


def test_an_expected_error_that_does_not_come_fails_with_the_answer(tmp_path, capsys):
    file = write(
        tmp_path,
        """\
      - name: the line is in force on this date
        base: poor
        as_of: 2020-01-01
        expect_error: has no value in force
    """,
    )
    result = only(file)
    assert not result.passed
    assert result.expected == "an evaluation error containing 'has no value in force'"
    assert result.got == "no evaluation error but the outcome identified"
    assert "Decision: Identification [identify] for base → identified" in result.explanation.en
    code, out, _ = cli(capsys, str(file))
    assert code == 1
    assert out.splitlines()[0] == (
        f"{file}:{line_of(file, '- name: the line')}: the line is in force on this date: expected an evaluation "
        "error containing 'has no value in force', got no evaluation error but the outcome identified"
    )
    assert out.endswith("0 passed, 1 failed\n")


def test_an_evaluation_error_with_another_message_fails(tmp_path, capsys):
    file = write(
        tmp_path,
        """\
      - name: an error, but not the one expected
        base: poor
        as_of: 2019-06-01
        expect_error: first value starts 2021-07-01
    """,
    )
    result = only(file)
    assert not result.passed
    assert result.got == (
        "an evaluation error (parameter 'income_line' (used by rule 'low_income') has no value in "
        "force on 2019-06-01; its first value starts 2020-01-01)"
    )
    code, out, _ = cli(capsys, str(file))
    assert code == 1
    assert "expected an evaluation error containing 'first value starts 2021-07-01', got an evaluation error" in out


def test_a_ranking_case_may_expect_an_error_and_fails_when_it_is_ranked(tmp_path):
    file = write(
        tmp_path,
        "  - name: no error here\n" + RANKING_HOUSEHOLDS + "    expect_error: no value in force\n",
        fixture="ranking",
        head=RANKING_HEAD,
    )
    result = only(file)
    assert not result.passed
    assert result.got == "no evaluation error but the order [A, [B, C], D]"


# Reasons and missing facts


def test_reasons_are_checked_exactly_in_any_order(tmp_path):
    file = write(
        tmp_path,
        """\
      - name: not rural and income too high, both reasons
        base: poor
        set: {rural_hukou: false, income.per_capita_net: 9000}
        expect: not_identified
        reasons: [rural, low_income]
      - name: one reason is not enough
        base: poor
        set: {rural_hukou: false, income.per_capita_net: 9000}
        expect: not_identified
        reasons: [rural]
    """,
    )
    good, bad = (run_case(case) for case in load_policy_file(file))
    assert good.passed
    assert not bad.passed
    assert bad.expected == "not_identified; reasons [rural]"
    assert bad.got == "not_identified; reasons [low_income, rural]"
    assert bad.message.endswith(
        "expected not_identified; reasons [rural], got not_identified; reasons [low_income, rural]"
    )


def test_missing_facts_are_checked_exactly(tmp_path):
    file = write(
        tmp_path,
        """\
      - name: unknown vehicles leave it undetermined
        base: poor
        set: {assets.vehicles: null}
        expect: undetermined
        missing: [hh.assets.vehicles]
      - name: a missing fact that is not named
        base: poor
        set: {assets.vehicles: null, income.per_capita_net: null}
        expect: undetermined
        missing: [hh.assets.vehicles]
      - name: nothing missing when determined
        base: poor
        expect: identified
        missing: []
    """,
    )
    first, second, third = (run_case(case) for case in load_policy_file(file))
    assert first.passed and third.passed
    assert not second.passed
    assert second.got == "undetermined; missing [hh.assets.vehicles, hh.income.per_capita_net]"


def test_a_wrong_outcome_shows_only_what_differs_besides_the_outcome(tmp_path):
    file = write(
        tmp_path,
        """\
      - name: car
        base: poor
        set: {assets.vehicles: [{kind: car}]}
        expect: identified
        reasons: [owns_car]
    """,
    )
    result = only(file)
    assert (result.expected, result.got) == ("identified", "excluded")


# Rankings


RANKING_HEAD = """\
decision: by_count
as_of: 2021-01-01
bases:
  none:
    id: x
    rural_hukou: true
    disaster: {severity: none}
    members: [{health: healthy, enrolled_in_school: false}]
cases:
"""

RANKING_HOUSEHOLDS = """\
    households:
      - id: A
        base: none
        set: {"members[0].health": serious_illness, "members[0].enrolled_in_school": true}
      - id: B
        base: none
        set:
          members[0].health: serious_illness
      - {id: C, base: none, set: {"members[0].enrolled_in_school": true}}
      - {id: D, base: none}
      - {id: E, base: none, set: {rural_hukou: false}}
      - {id: F, base: none, set: {rural_hukou: null}}
"""


def test_a_ranking_with_a_tie_and_households_left_out(tmp_path):
    file = write(
        tmp_path,
        "  - name: two criteria first, then a tie\n"
        + RANKING_HOUSEHOLDS
        + "    expect_order: [A, [C, B], D]\n    not_eligible: [E]\n    undetermined: [F]\n",
        fixture="ranking",
        head=RANKING_HEAD,
    )
    result = only(file)
    assert result.passed
    assert result.got == "order [A, [B, C], D]; not_eligible [E]; undetermined [F]"
    assert "B (tied)" in result.explanation.en


@pytest.mark.parametrize(
    "order, got",
    [
        ("[A, B, C, D]", "order [A, [B, C], D]"),  # the tie is not a strict order
        ("[A, [B, C, D]]", "order [A, [B, C], D]"),  # D is not tied with them
        ("[[A, B, C], D]", "order [A, [B, C], D]"),
    ],
)
def test_a_ranking_with_the_wrong_order_fails(tmp_path, capsys, order, got):
    file = write(
        tmp_path,
        "  - name: wrong order\n" + RANKING_HOUSEHOLDS + f"    expect_order: {order}\n",
        fixture="ranking",
        head=RANKING_HEAD,
    )
    result = only(file)
    assert not result.passed and result.got == got
    code, out, _ = cli(capsys, str(file))
    assert code == 1 and f"{file}:{line_of(file, '- name')}: wrong order: expected order " in out
    assert "    2. B (tied): A member is seriously ill" in out


def test_a_ranking_with_the_wrong_households_left_out_fails(tmp_path):
    file = write(
        tmp_path,
        "  - name: wrong sets\n"
        + RANKING_HOUSEHOLDS
        + "    expect_order: [A, [B, C], D]\n    not_eligible: [F]\n    undetermined: [E]\n",
        fixture="ranking",
        head=RANKING_HEAD,
    )
    result = only(file)
    assert not result.passed
    assert result.expected == "not_eligible [F]; undetermined [E]"
    assert result.got == "not_eligible [E]; undetermined [F]"


# Set paths


def test_set_paths_with_list_indexes_replace_and_append_items(tmp_path):
    file = write(
        tmp_path,
        """\
      - name: the second member is a public official
        base: poor
        set:
          members[1]: {age: 35, is_public_official: true}
        expect: needs_deliberation
      - name: the first member's age is replaced, the rest kept
        base: poor
        set:
          members[0].age: 70
        expect: identified
      - name: a vehicle appended to the known-empty list
        base: poor
        set:
          assets.vehicles[0].kind: car
        expect: excluded
    """,
    )
    cases = load_policy_file(file)
    assert [run_case(case).passed for case in cases] == [True, True, True]
    assert [m.is_public_official for m in cases[0].facts.members] == [False, True]
    assert (cases[1].facts.members[0].age, cases[1].facts.members[0].is_public_official) == (70, False)
    assert cases[2].facts.assets.vehicles[0].kind == "car"


def test_set_creates_missing_parents_and_leaves_the_base_unchanged(tmp_path):
    file = write(
        tmp_path,
        """\
      - name: a member list created through a missing parent
        facts: {id: h1}
        set:
          members[0].age: 61
          income.per_capita_net: 100
        expect: undetermined
      - name: the base as it was
        base: poor
        expect: identified
      - name: the base changed
        base: poor
        set: {"members[0].age": 80, "members[1].age": 70}
        expect: identified
      - name: the base as it was, again
        base: poor
        expect: identified
    """,
    )
    cases = load_policy_file(file)
    assert cases[0].facts.members[0].age == 61 and cases[0].facts.income.per_capita_net == 100
    assert [m.age for m in cases[1].facts.members] == [40] == [m.age for m in cases[3].facts.members]
    assert [m.age for m in cases[2].facts.members] == [80, 70]


# Loading: where the tests are, and the ruleset each file tests


def test_a_folder_of_rulesets_a_ruleset_folder_and_a_file(tmp_path):
    first = write(tmp_path, "  - {name: one, base: poor, expect: identified}\n")
    write(tmp_path, "  - {name: two, base: poor, expect: identified}\n", name="more.yaml")
    (tmp_path / "no-tests-yet").mkdir()
    (tmp_path / "no-tests-yet" / "ruleset.yaml").write_text("", encoding="utf-8")
    assert [c.name for c in load_policy_tests(tmp_path)] == ["one", "two"]
    assert [c.name for c in load_policy_tests(first.parent.parent)] == ["one", "two"]
    assert [c.name for c in load_policy_tests(first.parent)] == ["one", "two"]
    assert [c.name for c in load_policy_tests(first)] == ["one"]
    assert load_policy_tests(tmp_path / "no-tests-yet") == []
    assert [c.id for c in load_policy_tests(tmp_path)] == [
        "test-identify/cases.yaml::one",
        "test-identify/more.yaml::two",
    ]


def test_a_folder_of_rulesets_without_tests_gives_no_cases(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "ruleset.yaml").write_text("", encoding="utf-8")
    assert policy_test_files(tmp_path) == []
    assert cli(capsys, str(tmp_path)) == (0, "0 passed, 0 failed\n", "")


def test_a_ruleset_is_loaded_once_for_all_its_files(tmp_path):
    one = write(tmp_path, "  - {name: one, base: poor, expect: identified}\n")
    two = write(tmp_path, "  - {name: two, base: poor, expect: identified}\n", name="two.yaml")
    assert load_policy_file(one)[0].ruleset is load_policy_file(two)[0].ruleset


def test_a_ruleset_named_relative_to_the_file(tmp_path):
    file = tmp_path / "elsewhere" / "identify-cases.yaml"
    file.parent.mkdir()
    relative = Path("..") / FIXTURES.relative_to(FIXTURES.parents[2]) / "identify.yaml"
    shutil.copytree(FIXTURES, tmp_path / FIXTURES.relative_to(FIXTURES.parents[2]), dirs_exist_ok=True)
    file.write_text(
        f"ruleset: {relative.as_posix()}\n" + IDENTIFY_HEAD + "  - {name: one, base: poor, expect: identified}\n",
        encoding="utf-8",
    )
    (case,) = load_policy_file(file)
    assert case.ruleset.id == "test-identify" and run_case(case).passed


def test_a_collect_table_expects_its_labels_in_any_order(tmp_path):
    head = "decision: collect\nas_of: 2021-01-01\ncases:\n"
    file = write(
        tmp_path,
        """\
      - name: low and middle and dibao
        facts: {id: t1, income: {per_capita_net: 2500}, registration: {dibao: true}}
        expect: [dibao, low, middle]
      - name: only some of them
        facts: {id: t2, income: {per_capita_net: 2500}, registration: {dibao: true}}
        expect: [low, middle]
      - name: the engine's own form for several labels
        facts: {id: t4, income: {per_capita_net: 2500}, registration: {dibao: true}}
        expect: middle+dibao+low
      - name: one label
        decision: first
        facts: {id: t3, income: {per_capita_net: 2500}, registration: {dibao: true}}
        expect: dibao
    """,
        fixture="tables",
        head=head,
    )
    results = [run_case(case) for case in load_policy_file(file)]
    assert [r.passed for r in results] == [True, False, True, True]
    assert results[1].got == "[dibao, low, middle]"


# Bad test files: one line naming file:line:col, exit 2, no case run


def bad(tmp_path, capsys, body: str, fixture: str = "identify", head: str | None = None) -> tuple[Path, str]:
    file = write(tmp_path, body, fixture=fixture, head=head)
    with pytest.raises(RulesetError):
        load_policy_file(file)
    code, out, err = cli(capsys, str(file))
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"povrules test: {file}:")
    return file, err


BAD_CASES = [
    # (id, body, the text where the error is, the words of the message)
    (
        "unknown key in a case",
        "  - name: a\n    base: poor\n    expected: identified\n",
        "expected:",
        "unknown key 'expected' in a case",
    ),
    ("missing name", "  - base: poor\n    expect: identified\n", "base: poor", "each case needs 'name' as text"),
    ("missing expect", "  - name: a\n    base: poor\n", "name: a", "case 'a' needs 'expect'"),
    (
        "duplicate case names",
        "  - {name: a, base: poor, expect: identified}\n  - {name: a, base: poor, expect: excluded}\n",
        "name: a, base: poor, expect: excluded",
        "duplicate case name 'a' (first at line",
    ),
    (
        "unknown base",
        "  - name: a\n    base: por\n    expect: identified\n",
        "base: por",
        "unknown base 'por' (did you mean 'poor'?)",
    ),
    (
        "unknown decision",
        "  - name: a\n    decision: identfy\n    base: poor\n    expect: identified\n",
        "decision: identfy",
        "has no decision 'identfy' (did you mean 'identify'?)",
    ),
    (
        "unknown outcome",
        "  - name: a\n    base: poor\n    expect: identifed\n",
        "expect: identifed",
        "decision 'identify' has no outcome 'identifed' (did you mean 'identified'?)",
    ),
    (
        "a reason that is not a rule of the decision",
        "  - name: a\n    base: poor\n    expect: identified\n    reasons: [low_income, has_elder]\n",
        "has_elder]",
        "'has_elder' is not a rule of decision 'identify'",
    ),
    (
        "expect_order on a non-ranking decision",
        "  - name: a\n    households: [{id: A, base: poor}]\n    expect_order: [A]\n",
        "households:",
        "'households' is for a ranking decision; 'identify' is an eligibility decision",
    ),
    (
        "a list of outcomes outside a COLLECT table",
        "  - name: a\n    base: poor\n    expect: [identified]\n",
        "expect:",
        "'expect' is an outcome of decision 'identify'",
    ),
    (
        "base and facts together",
        "  - name: a\n    base: poor\n    facts: {id: x}\n    expect: identified\n",
        "facts:",
        "gives both 'facts' and 'base'",
    ),
    (
        "a set path that is not a path",
        "  - name: a\n    base: poor\n    set: {income..per_capita_net: 1}\n    expect: identified\n",
        "income..per_capita_net",
        "'income..per_capita_net' is not a path",
    ),
    (
        "a set path through a value",
        "  - name: a\n    base: poor\n    set: {rural_hukou.x: 1}\n    expect: identified\n",
        "rural_hukou.x",
        "'set' path 'rural_hukou.x' does not fit: rural_hukou is true/false, not an object",
    ),
    (
        "a set path indexing an object",
        "  - name: a\n    base: poor\n    set: {'income[0]': 1}\n    expect: identified\n",
        "'income[0]'",
        "does not fit: income is an object, not a list, so it has no item [0]",
    ),
    (
        "a set path past the end of a list",
        "  - name: a\n    base: poor\n    set: {'members[2].age': 1}\n    expect: identified\n",
        "'members[2]",
        "does not fit: members has 1 item(s), so [2] is past its end ([1] adds an item)",
    ),
    (
        "facts that fail validation, at the set value",
        "  - name: a\n    base: poor\n    set: {'members[0].age': -3}\n    expect: identified\n",
        "'members[0].age'",
        "case 'a': invalid household facts: members[0].age: expected greater than or equal to 0, got -3",
    ),
    (
        "an unknown fact",
        "  - name: a\n    facts: {id: x, rural: true}\n    expect: identified\n",
        "rural: true",
        "rural: expected no such field",
    ),
    (
        "expect_error with expect",
        "  - name: a\n    base: poor\n    expect: identified\n    expect_error: no value\n",
        "expect_error:",
        "'expect_error' and 'expect' in one case (lines 13 and 14): "
        "a case expects either an evaluation error or an answer",
    ),
    (
        "expect_error before reasons",
        "  - name: a\n    base: poor\n    expect_error: no value\n    reasons: []\n",
        "reasons:",
        "'expect_error' and 'reasons' in one case (lines 13 and 14)",
    ),
    (
        "expect_error with missing",
        "  - name: a\n    base: poor\n    missing: []\n    expect_error: no value\n",
        "expect_error:",
        "'expect_error' and 'missing' in one case",
    ),
    (
        "expect_error that is not text",
        "  - name: a\n    base: poor\n    expect_error: [no value]\n",
        "expect_error:",
        "'expect_error' is the text the evaluation error's message must contain",
    ),
    (
        "empty expect_error",
        "  - name: a\n    base: poor\n    expect_error: ''\n",
        "expect_error:",
        "'expect_error' is the text the evaluation error's message must contain",
    ),
    (
        "a date that is not a date",
        "  - name: a\n    base: poor\n    as_of: 2021-13-01\n    expect: identified\n",
        "2021-13-01",
        "is not a valid",
    ),
]


@pytest.mark.parametrize("label, body, where, words", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_a_bad_case_is_reported_at_its_place(tmp_path, capsys, label, body, where, words):
    file, err = bad(tmp_path, capsys, body)
    assert err.startswith(f"povrules test: {at(file, where)}: "), err
    assert words in err


def test_invalid_facts_in_a_base_are_reported_in_the_base(tmp_path, capsys):
    head = IDENTIFY_HEAD.replace("rural_hukou: true", "rural_hukou: perhaps")
    file, err = bad(tmp_path, capsys, "  - {name: a, base: poor, expect: identified}\n", head=head)
    assert err.startswith(f"povrules test: {at(file, 'rural_hukou')}: case 'a': invalid household facts: rural_hukou: ")


def test_a_case_without_a_date(tmp_path, capsys):
    head = IDENTIFY_HEAD.replace("as_of: 2021-03-01\n", "")
    file, err = bad(tmp_path, capsys, "  - name: a\n    base: poor\n    expect: identified\n", head=head)
    assert err == f"povrules test: {at(file, 'name: a')}: case 'a' needs 'as_of' (here or at the top of the file)\n"


def test_the_files_header_is_checked(tmp_path, capsys):
    file, err = bad(tmp_path, capsys, "", head="decision: identify\ncase: []\n")
    assert err.startswith(f"povrules test: {at(file, 'case:')}: unknown key 'case' in a policy test file")
    file, err = bad(tmp_path, capsys, "", head="decision: identify\ncases: []\n")
    assert err.startswith(f"povrules test: {at(file, 'cases:')}: 'cases' must be a list of cases")
    file, err = bad(tmp_path, capsys, "", head="decision: identify\nas_of: someday\ncases: []\n")
    assert err.startswith(f"povrules test: {at(file, 'as_of:')}: 'as_of' must be a date")
    file, err = bad(tmp_path, capsys, "", head="decision: nope\ncases: []\n")
    assert err.startswith(f"povrules test: {at(file, 'decision:')}: ruleset 'test-identify' has no decision 'nope'")
    file, err = bad(tmp_path, capsys, "", head="ruleset: ../missing\ncases: []\n")
    assert err.startswith(f"povrules test: {at(file, 'ruleset:')}: no ruleset at ")
    file, err = bad(tmp_path, capsys, "", head="- just\n- a list\n")
    assert err.startswith(f"povrules test: {file}:1:1: a policy test file is a mapping with 'cases'")
    file, err = bad(tmp_path, capsys, "", head="cases: [\n")
    assert "invalid YAML" in err


def test_a_broken_ruleset_is_bad_input(tmp_path, capsys):
    file = write(tmp_path, "  - {name: a, base: poor, expect: identified}\n")
    (file.parent.parent / "ruleset.yaml").write_text("id: broken\nrules: {a: 1}\n", encoding="utf-8")
    code, out, err = cli(capsys, str(file))
    assert code == 2 and out == "" and err.startswith(f"povrules test: {file.parent.parent / 'ruleset.yaml'}:")


def test_a_file_outside_a_tests_folder_must_name_its_ruleset(tmp_path, capsys):
    file = tmp_path / "cases.yaml"
    file.write_text(IDENTIFY_HEAD + "  - {name: a, base: poor, expect: identified}\n", encoding="utf-8")
    code, _, err = cli(capsys, str(file))
    assert code == 2 and err.startswith(f"povrules test: {file}:1:1: this file is not in a ruleset's tests/ folder")


def test_a_path_that_is_not_there(tmp_path, capsys):
    code, out, err = cli(capsys, str(tmp_path / "nowhere"))
    assert (code, out) == (2, "") and err == f"povrules test: {tmp_path / 'nowhere'}: no such file or folder\n"


def test_one_bad_file_stops_the_run_before_any_case(tmp_path, capsys):
    write(tmp_path, "  - {name: a, base: poor, expect: not_identified}\n", name="a.yaml")  # would fail
    write(tmp_path, "  - {name: b, base: nope, expect: identified}\n", name="b.yaml")
    code, out, err = cli(capsys, str(tmp_path))
    assert code == 2 and out == "" and "unknown base 'nope'" in err


RANKING_BAD = [
    (
        "expect with households",
        "  - name: r\n    households: [{id: A, base: none}]\n    expect: ranked\n",
        "expect:",
        "a ranking case lists its households under 'households', so 'expect' does not belong here",
    ),
    ("no households", "  - name: r\n    expect_order: [A]\n", "name: r", "case 'r' needs 'households'"),
    (
        "no expectation",
        "  - name: r\n    households: [{id: A, base: none}]\n",
        "name: r",
        "case 'r' needs 'expect_order'",
    ),
    (
        "a household without an id",
        "  - name: r\n    households: [{base: none}]\n    expect_order: [A]\n",
        "{base",
        "each household needs 'id'",
    ),
    (
        "duplicate household ids",
        "  - name: r\n    households: [{id: A, base: none}, {id: A, base: none}]\n    expect_order: [A]\n",
        "id: A, base: none}]",
        "duplicate household id 'A'",
    ),
    (
        "unknown key in a household entry",
        "  - name: r\n    households: [{id: A, bas: none}]\n    expect_order: [A]\n",
        "bas:",
        "unknown key 'bas' in a household entry (did you mean 'base'?)",
    ),
    (
        "unknown household in the order",
        "  - name: r\n    households: [{id: A, base: none}, {id: B, base: none}]\n    expect_order: [A, [B, C]]\n",
        "[B, C]",
        "no household 'C' in this case",
    ),
    (
        "a household placed twice",
        "  - name: r\n    households: [{id: A, base: none}, {id: B, base: none}]\n    expect_order: [A, [B, A]]\n",
        "[B, A]",
        "household 'A' is placed twice",
    ),
    (
        "placed and left out",
        "  - name: r\n    households: [{id: A, base: none}]\n    expect_order: [A]\n    not_eligible: [A]\n",
        "not_eligible:",
        "'A' is both in 'expect_order' and in 'not_eligible'",
    ),
    (
        "an unknown household left out",
        "  - name: r\n    households: [{id: A, base: none}]\n    undetermined: [Z]\n",
        "Z]",
        "no household 'Z' in this case",
    ),
    (
        "expect_error with expect_order",
        "  - name: r\n    households: [{id: A, base: none}]\n    expect_order: [A]\n    expect_error: x\n",
        "expect_error:",
        "'expect_error' and 'expect_order' in one case",
    ),
    (
        "expect_error with not_eligible",
        "  - name: r\n    households: [{id: A, base: none}]\n    expect_error: x\n    not_eligible: [A]\n",
        "not_eligible:",
        "'expect_error' and 'not_eligible' in one case",
    ),
    (
        "invalid facts of one household",
        "  - name: r\n    households:\n      - id: A\n        set: {'members[0].age': many}\n    expect_order: [A]\n",
        "'members[0].age'",
        "household 'A' of case 'r': invalid household facts: members[0].age: expected a valid integer",
    ),
]


@pytest.mark.parametrize("label, body, where, words", RANKING_BAD, ids=[c[0] for c in RANKING_BAD])
def test_a_bad_ranking_case_is_reported_at_its_place(tmp_path, capsys, label, body, where, words):
    file, err = bad(tmp_path, capsys, body, fixture="ranking", head=RANKING_HEAD)
    assert err.startswith(f"povrules test: {at(file, where)}: "), err
    assert words in err


def test_not_eligible_needs_a_gate(tmp_path, capsys):
    head = RANKING_HEAD.replace("decision: by_count", "decision: lexicographic")
    file, err = bad(
        tmp_path,
        capsys,
        "  - name: r\n    households: [{id: A, base: none}]\n    not_eligible: [A]\n",
        fixture="ranking",
        head=head,
    )
    assert err.startswith(f"povrules test: {at(file, 'not_eligible:')}: decision 'lexicographic' has no 'among' gate")


# The shipped sample file runs green from the command line


def test_the_sample_file_of_the_hunan_ruleset(capsys):
    sample = (
        Path(__file__).resolve().parents[1] / "rulesets" / "cn-hunan-county-plan4" / "tests" / "monitoring_types.yaml"
    )
    cases = load_policy_file(sample)
    assert len(cases) >= 5 and all(run_case(case).passed for case in cases)
    code, out, _ = cli(capsys, str(sample))
    assert code == 0 and out == f"{len(cases)} passed, 0 failed\n"


def test_an_unknown_label_of_a_collect_table(tmp_path, capsys):
    head = "decision: collect\nas_of: 2021-01-01\ncases:\n"
    file, err = bad(
        tmp_path, capsys, "  - name: c\n    facts: {id: t}\n    expect: low+nope\n", fixture="tables", head=head
    )
    assert err.startswith(f"povrules test: {at(file, 'expect:')}: decision 'collect' has no outcome 'nope'")
    file, err = bad(
        tmp_path, capsys, "  - name: c\n    facts: {id: t}\n    expect: [low, nope]\n", fixture="tables", head=head
    )
    assert err.startswith(f"povrules test: {at(file, 'nope')}: decision 'collect' has no outcome 'nope'")


def test_a_ruleset_file_means_its_tests_and_a_file_named_twice_runs_once(tmp_path, capsys):
    file = write(tmp_path, "  - {name: one, base: poor, expect: identified}\n")
    ruleset = file.parent.parent / "ruleset.yaml"
    assert policy_test_files(ruleset) == [file]
    assert cli(capsys, str(ruleset), str(tmp_path), str(file)) == (0, "1 passed, 0 failed\n", "")


LIFECYCLE_HEAD = """\
as_of: 2021-06-30
bases:
  exited_poor:
    id: h1
    registration: {status: exited}
    income: {per_capita_net: "5000"}
cases:
"""


def test_a_case_can_expect_the_monitoring_status_a_transition_leaves(tmp_path):
    file = write(
        tmp_path,
        """\
      - name: taken into monitoring
        decision: identify_monitoring_object
        base: exited_poor
        expect: unstable_exited
        status: monitored
      - name: already monitored, so identification is refused
        decision: identify_monitoring_object
        base: exited_poor
        set: {monitoring: {status: monitored}}
        expect: unstable_exited
        status: refused
      - name: expects elimination of a household never monitored
        decision: mark_risk_eliminated
        base: exited_poor
        set:
          income.per_capita_net: "6500"
          assessments: {income_stable: {value: true, by: 王某, "on": 2021-06-01}}
        expect: eliminated
        status: risk_eliminated
    """,
        fixture="lifecycle",
        head=LIFECYCLE_HEAD,
    )
    results = [run_case(case) for case in load_policy_file(file)]
    assert [r.passed for r in results] == [True, True, False]
    assert results[2].expected == "eliminated; status risk_eliminated"
    assert results[2].got.startswith("eliminated; status refused (decision 'mark_risk_eliminated' applies to")


@pytest.mark.parametrize(
    ("body", "needle", "message"),
    [
        (
            """\
      - name: a status on a decision that moves none
        decision: identify
        base: poor
        expect: identified
        status: monitored
    """,
            "status: monitored",
            "declares no 'transition'",
        ),
        (
            """\
      - name: an unknown status
        decision: identify_monitoring_object
        base: exited_poor
        expect: unstable_exited
        status: monitord
    """,
            "status: monitord",
            "did you mean 'monitored'",
        ),
    ],
)
def test_a_bad_status_expectation_is_refused_at_its_place(tmp_path, body, needle, message):
    if "decision: identify\n" in body:
        file = write(tmp_path, body)
    else:
        file = write(tmp_path, body, fixture="lifecycle", head=LIFECYCLE_HEAD)
    with pytest.raises(RulesetError, match=message) as caught:
        load_policy_file(file)
    assert str(caught.value).startswith(at(file, needle))
