"""The command line: each command's output, and each bad input's one-line error and exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from povrules.cli import main

ROOT = Path(__file__).resolve().parents[1]
WEISHAN = str(ROOT / "rulesets" / "cn-yunnan-weishan")
HUNAN = str(ROOT / "rulesets" / "cn-hunan-county-plan4")
EXAMPLE = ROOT / "examples" / "cn-hunan-county-plan4.jsonl"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_schema_prints_the_household_schema(capsys):
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0 and schema["title"] == "Household" and "members" in schema["properties"]


@pytest.mark.parametrize(
    ("subject", "title", "field"), [("village", "Village", "is_poor_village"), ("county", "County", "rural_population")]
)
def test_schema_of_other_subjects(capsys, subject, title, field):
    code, out, _ = run(capsys, "schema", "--subject", subject)
    schema = json.loads(out)
    assert code == 0 and schema["title"] == title and field in schema["properties"]


def test_decide_reads_the_facts_of_the_rulesets_subject(capsys, tmp_path):
    village = tmp_path / "village.json"
    village.write_text(
        json.dumps(
            {
                "id": "新村",
                "is_poor_village": True,
                "income": {"year": 2016, "disposable_per_capita": "7000", "disposable_per_capita_previous": "6000"},
                "county_non_poor_villages": [
                    {
                        "id": "西坝村",
                        "year": 2016,
                        "disposable_per_capita": "9000",
                        "disposable_per_capita_previous": "8000",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    rs = str(ROOT / "rulesets" / "cn-yunnan-weishan-village")
    code, out, _ = run(capsys, "decide", rs, "one_higher", str(village), "--as-of", "2016-12-31")
    trace = json.loads(out)
    assert code == 0 and (trace["subject"], trace["facts_id"], trace["outcome"]) == ("village", "新村", "met")
    village.write_text(json.dumps({"id": "新村", "rural_hukou": True}), encoding="utf-8")  # a household's fact
    code, out, err = run(capsys, "decide", rs, "one_higher", str(village), "--as-of", "2016-12-31")
    assert code == 2 and out == "" and "rural_hukou" in err


def test_schema_of_traces(capsys):
    code, out, _ = run(capsys, "schema", "--trace")
    assert code == 0 and json.loads(out)["$id"] == "povrules.trace.v2"
    code, out, _ = run(capsys, "schema", "--trace", "--v1")
    assert code == 0 and json.loads(out)["$id"] == "povrules.trace.v1"
    code, _, err = run(capsys, "schema", "--v1")
    assert code != 0 and "--v1 goes with --trace" in err


def test_check_lists_every_ruleset_with_its_digest(capsys):
    code, out, _ = run(capsys, "check", str(ROOT / "rulesets"))
    assert code == 0
    assert "cn-yunnan-weishan 2016.3 sha256:" in out and "cn-hunan-county-plan4 2021.3 sha256:" in out


def test_lint_passes_on_the_shipped_rulesets(capsys, seeds):
    code, out, _ = run(capsys, "lint", "--sources", str(seeds), str(ROOT / "rulesets"))
    assert code == 0 and "0 citation problem(s)" in out


def test_lint_reports_a_misquoted_clause(capsys, tmp_path):
    (tmp_path / "src.txt").write_text("第一行\n有机动车的不录、有新建住房的不录\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text(
        "id: t\nversion: '1'\ntitle: {zh: 测, en: t}\nsources: {S: {file: src.txt, title: s}}\n"
        "rules:\n  a: {title: {zh: a, en: a}, when: hh.rural_hukou, cite: {source: S, line: 2, quote: 有机动车的不录}}\n"
        "  b: {title: {zh: b, en: b}, when: hh.rural_hukou, cite: {source: S, line: 1, quote: 有公职人员的不录}}\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "lint", "--sources", str(tmp_path), str(tmp_path / "r.yaml"))
    assert code == 1
    assert "1 citation problem(s)" in out
    assert "rule 'b'" in err and "src.txt:1" in err and "rule 'a'" not in err


def test_decide_one_household_gives_the_trace(capsys, tmp_path):
    household = tmp_path / "h.json"
    household.write_text(EXAMPLE.read_text(encoding="utf-8").splitlines()[1], encoding="utf-8")
    code, out, _ = run(capsys, "decide", HUNAN, "monitoring_type", str(household), "--as-of", "2021-06-30")
    trace = json.loads(out)
    assert code == 0 and trace["outcome"] == "edge_vulnerable" and trace["schema"] == "povrules.trace.v2"


def test_decide_jsonl_gives_one_line_per_household(capsys):
    code, out, _ = run(capsys, "decide", HUNAN, "monitoring_type", str(EXAMPLE), "--as-of", "2021-06-30")
    outcomes = [json.loads(line)["outcome"] for line in out.splitlines()]
    assert code == 0
    assert outcomes == ["unstable_exited", "edge_vulnerable", "sudden_hardship", "not_monitored", "undetermined"]


def test_decide_text_explains(capsys):
    code, out, _ = run(
        capsys,
        "decide",
        HUNAN,
        "monitoring_type",
        str(EXAMPLE),
        "--as-of",
        "2021-06-30",
        "--format",
        "text",
        "--lang",
        "en",
    )
    assert code == 0 and out.count("Decision: Monitoring-object type") == 5


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"id": "x", "members": [{"age": 200}]}', "members[0].age: expected less than or equal to 130, got 200"),
        ('{"id": "x", "income": {"per_capita_net": -1}}', "income.per_capita_net: expected greater than or equal to 0"),
        ('{"id": "x", "colour": "red"}', "colour: expected no such field"),
        ('{"id": ', "(json): expected well-formed JSON"),
    ],
)
def test_decide_bad_household_fails_in_one_line_and_writes_nothing(capsys, tmp_path, content, expected):
    source, output = tmp_path / "h.json", tmp_path / "out.json"
    source.write_text(content, encoding="utf-8")
    code, out, err = run(
        capsys, "decide", HUNAN, "monitoring_type", str(source), "--as-of", "2021-06-30", "-o", str(output)
    )
    assert code == 2 and out == ""
    assert expected in err and len(err.strip().splitlines()) == 1
    assert not output.exists() and list(tmp_path.iterdir()) == [source]


def test_decide_jsonl_names_the_bad_line_and_writes_nothing(capsys, tmp_path):
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    source, output = tmp_path / "batch.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join([lines[0], '{"id": "bad", "rural_hukou": "maybe"}', lines[1]]) + "\n", encoding="utf-8")
    code, _, err = run(
        capsys, "decide", HUNAN, "monitoring_type", str(source), "--as-of", "2021-06-30", "-o", str(output)
    )
    assert code == 2 and "batch.jsonl:2: invalid household facts: rural_hukou" in err
    assert not output.exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["decide", str(ROOT / "rulesets" / "nowhere"), "x", "--as-of", "2021-01-01"], "no ruleset file at"),
        (["decide", HUNAN, "monitoring_typ", "--as-of", "2021-01-01"], "has no decision 'monitoring_typ'"),
        (["decide", HUNAN, "monitoring_type", "--as-of", "2021-02-30"], "--as-of: expected a date as YYYY-MM-DD"),
        (["decide", HUNAN, "monitoring_type", "missing.json", "--as-of", "2021-01-01"], "missing.json: cannot read"),
        (["decide", HUNAN, "monitoring_type", "/dev/zero", "--as-of", "2021-01-01"], "/dev/zero: not a regular file"),
        (
            [
                "decide",
                HUNAN,
                "monitoring_type",
                str(ROOT / "examples" / "caseload" / "households.csv"),
                "--as-of",
                "2021-01-01",
            ],
            "needs a mapping file",
        ),
        (
            ["decide", HUNAN, "monitoring_type", str(EXAMPLE), "--as-of", "2015-01-01"],
            "has no value in force on 2015-01-01",
        ),
        (["check", str(ROOT / "README.md") + "x"], "no such file or folder"),
    ],
)
def test_bad_arguments_fail_in_one_line(capsys, argv, expected):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and expected in err and len(err.strip().splitlines()) == 1


def test_invalid_ruleset_names_file_line_and_column(capsys, tmp_path):
    bad = tmp_path / "ruleset.yaml"
    bad.write_text(
        "id: t\nversion: '1'\ntitle: {zh: 测, en: t}\nrules:\n  a:\n    title: {zh: a, en: a}\n"
        "    when: hh.incom.per_capita_net < 1\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "check", str(tmp_path))
    assert code == 2
    assert f"{bad}:7:14: in rule 'a': Household has no fact 'incom' (did you mean 'income'? facts of Household: " in err


def test_console_script_help_and_version():
    script = Path(sys.executable).parent / "povrules"
    result = subprocess.run([str(script), "decide", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "exit codes:" in result.stdout and "--as-of" in result.stdout
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("povrules ")
