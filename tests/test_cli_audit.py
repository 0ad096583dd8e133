"""The auditor's commands: decide --record/--log, explain, verify-log; their outputs and every error path."""

from __future__ import annotations

import hashlib
import io
import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from povrules import cli
from povrules.audit import DecisionLog, iter_log, load_record, record_digest, verify_log
from povrules.canonical import canonical_json
from povrules.cli import main

ROOT = Path(__file__).resolve().parents[1]
WEISHAN = str(ROOT / "rulesets" / "cn-yunnan-weishan")
EXAMPLE = ROOT / "examples" / "cn-yunnan-weishan.jsonl"
DECISION = "identify_poor_household"
AS_OF = "2016-06-30"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1


@pytest.fixture
def household(tmp_path) -> Path:
    path = tmp_path / "h.json"
    path.write_text(EXAMPLE.read_text(encoding="utf-8").splitlines()[0], encoding="utf-8")
    return path


@pytest.fixture
def record_file(capsys, tmp_path, household) -> Path:
    path = tmp_path / "record.json"
    code, _, _ = run(capsys, "decide", WEISHAN, DECISION, str(household), "--as-of", AS_OF, "--record", "-o", str(path))
    assert code == 0
    return path


@pytest.fixture
def log_file(capsys, tmp_path) -> Path:
    path = tmp_path / "decisions.jsonl"
    code, out, _ = run(capsys, "decide", WEISHAN, DECISION, str(EXAMPLE), "--as-of", AS_OF, "--log", str(path))
    assert code == 0 and "appended 7 record(s), seq 2 to 8" in out
    return path


# --- decide --record / --redact-key-file / --log -----------------------------------------------------


def test_decide_record_writes_a_verified_record(capsys, household):
    code, out, _ = run(capsys, "decide", WEISHAN, DECISION, str(household), "--as-of", AS_OF, "--record")
    record = load_record(out.strip())  # parses, checks the schema, verifies both digests
    assert code == 0 and record["schema"] == "povrules.record.v2"
    assert (record["facts"]["id"], record["outcome"], record["redacted"]) == ("WS-0101", "excluded", False)


def test_decide_record_is_byte_identical_run_to_run(capsys, household):
    first = run(capsys, "decide", WEISHAN, DECISION, str(household), "--as-of", AS_OF, "--record")[1]
    second = run(capsys, "decide", WEISHAN, DECISION, str(household), "--as-of", AS_OF, "--record")[1]
    assert first == second and first.count("\n") == 1


def test_decide_record_jsonl_gives_one_record_per_line(capsys):
    code, out, _ = run(capsys, "decide", WEISHAN, DECISION, str(EXAMPLE), "--as-of", AS_OF, "--record")
    records = [load_record(line) for line in out.splitlines()]
    ids = [json.loads(line)["id"] for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert code == 0 and [r["facts"]["id"] for r in records] == ids


def test_decide_with_a_redaction_key_hides_names_and_id_numbers(capsys, tmp_path, household):
    facts = json.loads(household.read_text(encoding="utf-8"))
    facts["members"][0].update(name="张三丰", id_number="53292319600101001X")
    household.write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    key = tmp_path / "key"
    key.write_bytes(b"0123456789abcdef-county-office")
    code, out, _ = run(
        capsys, "decide", WEISHAN, DECISION, str(household), "--as-of", AS_OF, "--redact-key-file", str(key)
    )
    record = load_record(out.strip())
    member = record["facts"]["members"][0]
    assert code == 0 and record["redacted"] is True and record["outcome"] == "excluded"
    assert member["name"].startswith("hmac-sha256:") and member["id_number"].startswith("hmac-sha256:")
    assert "张三丰" not in out and "53292319600101001X" not in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"short", "the key is 5 bytes; at least 16 are needed"),
        (b"", "the key is 0 bytes"),
        (None, "cannot read"),
    ],
)
def test_decide_refuses_a_missing_or_short_key(capsys, tmp_path, household, content, expected):
    key, output = tmp_path / "key", tmp_path / "out.jsonl"
    if content is not None:
        key.write_bytes(content)
    code, out, err = run(
        capsys,
        "decide",
        WEISHAN,
        DECISION,
        str(household),
        "--as-of",
        AS_OF,
        "--redact-key-file",
        str(key),
        "-o",
        str(output),
    )
    assert code == 2 and out == "" and one_line(err)
    assert f"--redact-key-file {key}" in err and expected in err
    assert not output.exists()


def test_decide_log_appends_every_record_and_the_log_verifies(capsys, log_file):
    report = verify_log(log_file)
    assert report.ok and report.entries == 7
    code, out, _ = run(capsys, "decide", WEISHAN, DECISION, str(EXAMPLE), "--as-of", AS_OF, "--log", str(log_file))
    assert code == 0 and "seq 11 to 17" in out and verify_log(log_file).entries == 14


def test_decide_log_with_output_writes_the_same_records(capsys, tmp_path):
    log, output = tmp_path / "log.jsonl", tmp_path / "records.jsonl"
    code, _, _ = run(
        capsys, "decide", WEISHAN, DECISION, str(EXAMPLE), "--as-of", AS_OF, "--log", str(log), "-o", str(output)
    )
    logged = [entry.record for entry in iter_log(log)]  # the records, without the batch's begin and commit lines
    written = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert code == 0 and logged == written and len(written) == 7


def test_decide_log_bad_household_appends_nothing(capsys, tmp_path, log_file):
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    batch, output = tmp_path / "batch.jsonl", tmp_path / "out.jsonl"
    batch.write_text("\n".join([lines[0], lines[1], '{"id": "bad", "rural_hukou": "maybe"}']) + "\n", encoding="utf-8")
    before = log_file.read_bytes()
    code, out, err = run(
        capsys, "decide", WEISHAN, DECISION, str(batch), "--as-of", AS_OF, "--log", str(log_file), "-o", str(output)
    )
    assert code == 2 and out == "" and one_line(err) and "batch.jsonl:3: invalid household facts: rural_hukou" in err
    assert log_file.read_bytes() == before and not output.exists()


def test_decide_log_refuses_a_truncated_log_and_writes_nothing(capsys, tmp_path, log_file):
    data = log_file.read_bytes()
    log_file.write_bytes(data[:-40])  # a write cut short
    output = tmp_path / "out.jsonl"
    code, out, err = run(
        capsys, "decide", WEISHAN, DECISION, str(EXAMPLE), "--as-of", AS_OF, "--log", str(log_file), "-o", str(output)
    )
    assert code == 2 and out == "" and one_line(err)
    assert f"{log_file}:9: the last line" in err and "not a whole entry" in err
    assert log_file.read_bytes() == data[:-40] and not output.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_decide_records_are_json_only(capsys, household):
    code, out, err = run(
        capsys, "decide", WEISHAN, DECISION, str(household), "--as-of", AS_OF, "--record", "--format", "text"
    )
    assert code == 2 and out == "" and one_line(err) and "records" in err


# --- the progress counter ------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_shows_a_bar_with_rate_and_eta_on_a_terminal_only_for_large_inputs():
    shown = _Terminal(True)
    progress = cli._Progress(cli.PROGRESS_FROM, shown, every=0)
    for done in range(50, cli.PROGRESS_FROM + 1, 50):
        progress.update(done)
    assert progress.bar is not None and progress.bar.n == cli.PROGRESS_FROM
    progress.close()
    text = shown.getvalue()
    # the count of the total, the rate and the ETA (tqdm skips redraws it deems too close together)
    assert re.search(rf"\b[1-9]\d*/{cli.PROGRESS_FROM} \[", text) and "subjects/s" in text and "<00:" in text
    for stream, total in ((_Terminal(False), cli.PROGRESS_FROM), (_Terminal(True), cli.PROGRESS_FROM - 1)):
        quiet = cli._Progress(total, stream)
        for done in range(1, total + 1):
            quiet.update(done)
        quiet.close()
        assert stream.getvalue() == ""


def test_progress_of_an_input_of_unknown_length_starts_once_it_is_large():
    shown = _Terminal(True)
    progress = cli._Progress(None, shown, every=0)
    progress.update(cli.PROGRESS_FROM - 1)
    assert progress.bar is None
    progress.update(cli.PROGRESS_FROM)
    assert progress.bar is not None
    progress.close()
    assert str(cli.PROGRESS_FROM) in shown.getvalue()


def test_decide_large_input_shows_no_counter_when_stderr_is_not_a_terminal(capsys, tmp_path):
    line = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    batch = tmp_path / "many.jsonl"
    batch.write_text((line + "\n") * cli.PROGRESS_FROM, encoding="utf-8")
    code, out, err = run(capsys, "decide", WEISHAN, DECISION, str(batch), "--as-of", AS_OF, "--no-trace")
    assert code == 0 and err == "" and len(out.splitlines()) == cli.PROGRESS_FROM


# --- explain -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "head", "rule"),
    [
        (
            "en",
            "Decision: Identification as a registered poor household [identify_poor_household] for WS-0101 → "
            "excluded by the five exclusions",
            "[wubulu_motor_vehicle] — applies",
        ),
        (
            "zh",
            "决定：建档立卡贫困户识别 [identify_poor_household] 对 WS-0101 → 五不录排除",
            "[wubulu_motor_vehicle] — 适用",
        ),
    ],
)
def test_explain_a_record(capsys, record_file, lang, head, rule):
    code, out, _ = run(capsys, "explain", str(record_file), "--lang", lang)
    assert code == 0 and out.splitlines()[0] == head and rule in out
    assert "有机动车的不录" in out  # the clause quoted from the trace


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_explain_of_a_record_says_what_decide_says(capsys, household, record_file, lang):
    code, decided, _ = run(
        capsys, "decide", WEISHAN, DECISION, str(household), "--as-of", AS_OF, "--format", "text", "--lang", lang
    )
    assert code == 0
    code, explained, _ = run(capsys, "explain", str(record_file), "--lang", lang)
    assert code == 0
    lines = explained.rstrip("\n").split("\n")
    assert lines[-1].strip().startswith(("记录", "Record")) and "\n".join(lines[:-1]) == decided.rstrip("\n")


def test_explain_reads_the_trace_not_the_ruleset(capsys, record_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ruleset reachable; evaluation would fail
    import povrules.engine

    monkeypatch.setattr(povrules.engine, "evaluate", lambda *a, **k: pytest.fail("explain evaluated again"))
    monkeypatch.setattr(povrules.engine.Plan, "decide", lambda *a, **k: pytest.fail("explain evaluated again"))
    code, out, _ = run(capsys, "explain", str(record_file), "--lang", "en")
    assert code == 0 and "→ excluded by the five exclusions" in out


def _tampered(record_file: Path, change) -> None:
    record = json.loads(record_file.read_text(encoding="utf-8"))
    change(record)
    record_file.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.pop("facts_digest"), "facts_digest: missing"),
        (lambda r: r.update(outcome="identified"), "outcome and trace.outcome differ"),
        (lambda r: r.update(schema="povrules.record.v0"), "schema"),
        (lambda r: r["facts"].update(id="WS-9999"), "facts_digest: recorded"),
    ],
)
def test_explain_a_bad_record_names_the_field(capsys, tmp_path, record_file, change, expected):
    _tampered(record_file, change)
    output = tmp_path / "out.txt"
    code, out, err = run(capsys, "explain", str(record_file), "-o", str(output))
    assert code == 2 and out == "" and one_line(err)
    assert err.startswith(f"povrules explain: {record_file}: invalid record: ") and expected in err
    assert not output.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"schema": ', "(json) line 1 column 12"),
        ("[1, 2]", "(record): expected a JSON object"),
        ('{"a": 1.5}', "(json): number 1.5"),
    ],
)
def test_explain_malformed_json(capsys, tmp_path, text, expected):
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "explain", str(bad))
    assert code == 2 and out == "" and one_line(err) and expected in err and str(bad) in err


def test_explain_a_missing_file(capsys, tmp_path):
    code, out, err = run(capsys, "explain", str(tmp_path / "nowhere.json"))
    assert code == 2 and out == "" and one_line(err) and "nowhere.json: cannot read" in err


# --- verify-log ----------------------------------------------------------------------------------


def test_verify_log_ok(capsys, log_file):
    code, out, err = run(capsys, "verify-log", str(log_file))
    assert code == 0 and err == ""
    first = out.splitlines()[0]
    assert first.startswith(f"{log_file}: 7 record(s) on 9 line(s)") and first.endswith("OK")  # and begin, commit
    assert out.splitlines()[1].startswith("head: seq 9 sha256:") and len(out.splitlines()) == 2


def _lines(log: Path) -> list[bytes]:
    return log.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("damage", "line", "kind"),
    [
        (lambda ls: ls[:2] + [ls[2].replace(b'"WS-', b'"XS-', 1)] + ls[3:], 3, "edited"),
        (lambda ls: ls[:3] + ls[4:], 4, "deleted"),
        (lambda ls: ls[:1] + [ls[2], ls[1]] + ls[3:], 2, "reordered"),
        (lambda ls: ls[:3] + ls[4:5] + [ls[3]] + ls[5:], 4, "reordered"),
        (lambda ls: ls[:4] + [b"not json\n"] + ls[4:], 5, "malformed"),
    ],
)
def test_verify_log_names_the_problem_and_its_line(capsys, log_file, damage, line, kind):
    log_file.write_bytes(b"".join(damage(_lines(log_file))))
    code, out, _ = run(capsys, "verify-log", str(log_file))
    assert code == 1 and one_line(out) and out.startswith(f"{log_file}:{line}: {kind}: ")


def test_verify_log_passes_a_batch_cut_before_its_commit_and_says_so(capsys, log_file):
    """What a writer killed mid-batch leaves: the batch is absent, not damage; verify-log says so."""
    log_file.write_bytes(b"".join(_lines(log_file)[:-1]) + _lines(log_file)[-1][:50])
    code, out, _ = run(capsys, "verify-log", str(log_file))
    assert code == 0 and out.splitlines()[0].startswith(f"{log_file}: 0 record(s) on 9 line(s)")
    assert "the last 9 line(s)" in out and "never committed" in out


def test_verify_log_finds_a_truncated_single_append(capsys, tmp_path):
    log = tmp_path / "single.jsonl"
    for n in range(3):
        DecisionLog(log).append({"n": n})
    log.write_bytes(log.read_bytes()[:-30])
    code, out, _ = run(capsys, "verify-log", str(log))
    assert code == 1 and one_line(out) and out.startswith(f"{log}:3: truncated: ")


def test_verify_log_unreadable(capsys, tmp_path):
    code, out, err = run(capsys, "verify-log", str(tmp_path / "nowhere.jsonl"))
    assert code == 2 and out == "" and one_line(err) and "nowhere.jsonl: no such log file" in err
    code, out, err = run(capsys, "verify-log", str(tmp_path))
    assert code == 2 and out == "" and one_line(err) and "not a file" in err


def test_output_into_a_missing_folder_fails_in_one_line(capsys, tmp_path, record_file):
    code, out, err = run(capsys, "explain", str(record_file), "-o", str(tmp_path / "nowhere" / "out.txt"))
    assert code == 2 and out == "" and one_line(err) and "nowhere/out.txt: cannot write" in err


# --- replay --------------------------------------------------------------------------------------

STORE = str(ROOT / "rulesets")


def test_replay_identical(capsys, record_file):
    code, out, err = run(capsys, "replay", str(record_file), "--store", STORE)
    assert code == 0 and err == "" and out.startswith("Replay identical: record sha256:")
    assert "cn-yunnan-weishan 2016.3" in out


def test_replay_json(capsys, record_file):
    code, out, _ = run(capsys, "replay", str(record_file), "--store", STORE, "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["identical"] is True and result["divergence"] is None


def _forge(record_file: Path) -> None:
    """Rewrite the facts (no car any more) and every digest, as a forger who knows the format would."""
    record = json.loads(record_file.read_text(encoding="utf-8"))
    record["facts"]["assets"]["vehicles"] = []
    digest = "sha256:" + hashlib.sha256(canonical_json(record["facts"]).encode("utf-8")).hexdigest()
    record["facts_digest"] = record["trace"]["facts_digest"] = digest
    record["digest"] = record_digest(record)
    load_record(canonical_json(record))  # the forgery verifies on its own
    record_file.write_text(canonical_json(record), encoding="utf-8")


def test_replay_divergent_names_the_first_rule_and_condition(capsys, record_file):
    _forge(record_file)
    code, out, _ = run(capsys, "replay", str(record_file), "--store", STORE)
    assert code == 1 and out.startswith("Replay differs")
    assert "rule wubulu_motor_vehicle, condition" in out and "recorded" in out and "replayed" in out
    code, out, _ = run(capsys, "replay", str(record_file), "--store", STORE, "--format", "json")
    divergence = json.loads(out)["divergence"]
    assert code == 1 and divergence["rule"] == "wubulu_motor_vehicle"
    assert divergence["recorded"] != divergence["replayed"]


def test_replay_missing_ruleset_version_fails_in_one_line(capsys, tmp_path, record_file):
    output = tmp_path / "out.txt"
    other = str(ROOT / "rulesets" / "cn-hunan-county-plan4")
    code, out, err = run(capsys, "replay", str(record_file), "--store", other, "-o", str(output))
    assert code == 2 and out == "" and one_line(err) and not output.exists()
    assert "ruleset cn-yunnan-weishan 2016.3 (sha256:" in err and "is not in the store" in err


def _git_checkout() -> bool:
    if shutil.which("git") is None:
        return False
    result = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", "HEAD"], capture_output=True, check=False
    )
    return result.returncode == 0


@pytest.mark.skipif(not _git_checkout(), reason="needs git and a git checkout of the project")
def test_replay_from_a_git_revision(capsys, record_file):
    code, out, _ = run(capsys, "replay", str(record_file), "--git", "HEAD", "--repo", str(ROOT))
    assert code == 0 and out.startswith("Replay identical")
    code, out, err = run(capsys, "replay", str(record_file), "--git", "no-such-revision", "--repo", str(ROOT))
    assert code == 2 and out == "" and one_line(err) and "no-such-revision" in err


def _changed_weishan(tmp_path: Path) -> Path:
    """A copy of the rulesets in which a car no longer counts as a motor vehicle."""
    copy = tmp_path / "rulesets"
    for name in ("cn-national", "cn-yunnan-weishan"):
        shutil.copytree(ROOT / "rulesets" / name, copy / name)
    ruleset = copy / "cn-yunnan-weishan" / "ruleset.yaml"
    text = ruleset.read_text(encoding="utf-8")
    assert "value: [car, minivan," in text
    ruleset.write_text(text.replace("value: [car, minivan,", "value: [minivan,", 1), encoding="utf-8")
    return copy / "cn-yunnan-weishan"


def test_replay_with_current_lists_what_changed(capsys, tmp_path, record_file):
    current = _changed_weishan(tmp_path)
    code, out, _ = run(capsys, "replay", str(record_file), "--with-current", str(current), "--store", STORE)
    assert code == 1 and out.startswith("Compared with the current ruleset (not a faithful replay)")
    assert "rule wubulu_motor_vehicle" in out and "~ parameter motor_vehicle_kinds:" in out
    code, out, _ = run(capsys, "replay", str(record_file), "--with-current", WEISHAN)
    assert code == 0 and "The same" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "say where the recorded ruleset is"),
        (["--store", STORE, "--git", "HEAD"], "--store and --git name two stores"),
        (["--store", str(ROOT / "nowhere")], "no such folder or file"),
        (["--with-current", str(ROOT / "rulesets" / "nowhere")], "no ruleset file at"),
    ],
)
def test_replay_bad_arguments(capsys, record_file, argv, expected):
    code, out, err = run(capsys, "replay", str(record_file), *argv)
    assert code == 2 and out == "" and one_line(err) and expected in err


def test_replay_a_bad_record(capsys, tmp_path, record_file):
    _tampered(record_file, lambda r: r.pop("trace"))
    code, out, err = run(capsys, "replay", str(record_file), "--store", STORE)
    assert code == 2 and out == "" and one_line(err) and f"{record_file}: invalid record: trace: missing" in err


# --- diff ----------------------------------------------------------------------------------------


def test_diff_text_and_json(capsys, tmp_path):
    current = _changed_weishan(tmp_path)
    code, out, _ = run(capsys, "diff", WEISHAN, str(current))
    assert code == 0 and "~ parameter motor_vehicle_kinds:" in out and "~ from 2016-01-01:" in out
    code, out, _ = run(capsys, "diff", WEISHAN, str(current), "--format", "json")
    changes = json.loads(out)
    changed = changes["parameters"]["changed"]
    assert code == 0 and changes["empty"] is False and [p["name"] for p in changed] == ["motor_vehicle_kinds"]
    assert changed[0]["values_changed"][0]["from"] == "2016-01-01"


def test_diff_of_a_ruleset_with_itself_is_empty(capsys):
    code, out, _ = run(capsys, "diff", WEISHAN, WEISHAN, "--format", "json")
    assert code == 0 and json.loads(out)["empty"] is True


def test_diff_unknown_ruleset(capsys, tmp_path):
    output = tmp_path / "out.txt"
    code, out, err = run(capsys, "diff", WEISHAN, str(ROOT / "rulesets" / "nowhere"), "-o", str(output))
    assert code == 2 and out == "" and one_line(err) and "no ruleset file at" in err and not output.exists()


# --- help ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["schema", "check", "lint", "decide", "test", "explain", "verify-log", "replay", "diff"]
)
def test_every_command_has_help_with_exit_codes(capsys, command):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert stop.value.code == 0 and f"usage: povrules {command}" in out and "exit codes:" in out


def test_top_level_help_lists_the_audit_commands_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("explain", "verify-log", "replay", "diff")) and "1  the command ran" in out


def test_explain_help_says_nothing_is_evaluated_again(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    assert "nothing is evaluated again" in capsys.readouterr().out


# --- the README's replay in three commands -------------------------------------------------------


def test_the_readme_replay_runs_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Replay a decision", 1)[1]
    script = section.split("```sh\n", 1)[1].split("```", 1)[0]
    assert script.count("povrules ") == 3
    for name in ("rulesets", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "appended 1 record(s)" in result.stdout and "; OK" in result.stdout
    assert "Replay identical" in result.stdout
    assert verify_log(tmp_path / "decisions.jsonl").entries == 1
