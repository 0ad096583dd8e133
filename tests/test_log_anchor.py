"""A log that cannot be quietly rewritten: records' own digests, anchors, kept heads, and repair of a crashed tail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from povrules.audit import log as logmod
from povrules.audit.log import DecisionLog, LogError, LogReport, anchor_of, parse_head, verify_log
from povrules.cli import main

ROOT = Path(__file__).resolve().parents[1]
WEISHAN = str(ROOT / "rulesets" / "cn-yunnan-weishan")
EXAMPLE = ROOT / "examples" / "cn-yunnan-weishan.jsonl"
DECISION = "identify_poor_household"
KEY = b"an anchor key of 32 bytes, kept!"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class _InPlace:
    """An executor that runs each range at once, in this process."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args))
        return future


def both(path: Path, **kwargs: Any) -> LogReport:
    """verify_log's report, after checking that the sequential path and ranges of several sizes agree."""
    expected = logmod._verify_sequential(path)
    for size in (1, 700, 5000, 1 << 30):
        assert logmod._verify_ranges(path, _InPlace(), size) == expected  # type: ignore[arg-type]
    return verify_log(path, **kwargs)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def rechain(lines: list[bytes], start: int) -> list[bytes]:
    """What a careful forger does: every line from ``start`` on gets its prev and digest computed again."""
    out = lines[:start]
    prev = json.loads(lines[start - 1])["digest"] if start else logmod.GENESIS
    for raw in lines[start:]:
        obj = json.loads(raw)
        obj["prev"] = prev
        body = {k: v for k, v in obj.items() if k != "digest"}
        obj["digest"] = prev = "sha256:" + hashlib.sha256(canonical(body)).hexdigest()
        out.append(canonical(obj) + b"\n")
    return out


@pytest.fixture
def log_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    """Two anchored batches of real decision records (7 each): lines 1-9 and 10-18."""
    path, key = tmp_path / "decisions.jsonl", tmp_path / "anchor.key"
    key.write_bytes(KEY)
    for as_of in ("2016-06-30", "2017-06-30"):
        code, _, err = run(
            capsys,
            "decide",
            WEISHAN,
            DECISION,
            str(EXAMPLE),
            "--as-of",
            as_of,
            "--log",
            str(path),
            "--anchor-key-file",
            str(key),
            "-o",
            str(tmp_path / "out.jsonl"),
        )
        assert code == 0, err
    return path


# --- each record's own digest --------------------------------------------------------------------------


def test_a_record_edited_and_the_chain_computed_again_fails_its_own_digest(log_file: Path) -> None:
    lines = log_file.read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[4])
    entry["record"]["outcome"] = "not_identified"  # the edit: the chain alone cannot see it once recomputed
    lines[4] = canonical(entry) + b"\n"
    log_file.write_bytes(b"".join(rechain(lines, 4)))
    report = both(log_file)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (5, "edited")
    assert "record's own digest" in report.problem.message and report.entries == 3


def test_an_edited_record_whose_keys_are_not_laid_out_as_made_is_still_caught(log_file: Path) -> None:
    lines = log_file.read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[2])
    entry["record"]["aa_added"] = "a key sorting before digest: the in-place check gives way to the full one"
    lines[2] = canonical(entry) + b"\n"
    log_file.write_bytes(b"".join(rechain(lines, 2)))
    report = both(log_file)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (3, "edited")


def test_records_of_other_shapes_are_stored_as_given(tmp_path: Path) -> None:
    log = DecisionLog(tmp_path / "plain.jsonl")
    log.append_many([{"digest": "sha256:" + "0" * 64, "n": 1}, {"schema": "something else", "digest": "x"}])
    assert both(tmp_path / "plain.jsonl").ok


# --- anchors ---------------------------------------------------------------------------------------------


def test_an_anchored_log_verifies_under_its_key_and_old_logs_verify_without_one(log_file: Path) -> None:
    report = both(log_file, anchor_key=KEY)
    assert report.ok and report.anchored_seq == report.last_seq == 18
    assert verify_log(log_file).ok and verify_log(log_file).anchored_seq is None
    commits = [json.loads(line) for line in log_file.read_bytes().splitlines() if b'"mark":"commit"' in line]
    assert [c["anchor"] for c in commits] == [anchor_of(KEY, c["seq"], c["prev"], c["count"]) for c in commits]


def test_a_rewritten_chain_of_records_fails_at_the_edit(log_file: Path) -> None:
    lines = log_file.read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[3])
    entry["record"]["note"] = "changed"
    lines[3] = canonical(entry) + b"\n"
    log_file.write_bytes(b"".join(rechain(lines, 3)))
    report = verify_log(log_file, anchor_key=KEY)  # the record's own digest speaks first, at the edit
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (4, "edited")


def test_another_key_does_not_verify_the_anchors(log_file: Path) -> None:
    problem = verify_log(log_file, anchor_key=b"another key, 32 bytes long......").problem
    assert problem is not None and (problem.line, problem.kind) == (9, "edited") and "anchor" in problem.message


def test_a_forged_commit_without_the_key_is_caught_by_its_anchor(log_file: Path) -> None:
    """Records that are not povrules records carry no digest of their own: the anchor is what catches their edit."""
    path = log_file.with_name("plain.jsonl")
    with DecisionLog(path, anchor_key=KEY).batch() as batch:
        for n in range(3):
            batch.add({"n": n})
    lines = path.read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[2])
    entry["record"]["n"] = 99
    lines[2] = canonical(entry) + b"\n"
    path.write_bytes(b"".join(rechain(lines, 2)))
    assert both(path).ok  # the chain alone cannot tell
    report = verify_log(path, anchor_key=KEY)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (5, "edited")
    assert "anchor" in report.problem.message


def test_lines_after_the_last_anchor_are_unanchored(log_file: Path) -> None:
    DecisionLog(log_file).append({"written": "without the key"})
    report = verify_log(log_file, anchor_key=KEY)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (19, "unanchored")
    legacy = log_file.with_name("legacy.jsonl")
    DecisionLog(legacy).append_many([{"n": 1}, {"n": 2}])
    assert verify_log(legacy).ok
    problem = verify_log(legacy, anchor_key=KEY).problem
    assert problem is not None and (problem.line, problem.kind) == (1, "unanchored")


def test_a_short_anchor_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="at least 16 bytes"):
        DecisionLog(tmp_path / "x.jsonl", anchor_key=b"short")


# --- a head kept elsewhere -------------------------------------------------------------------------------


def test_a_cut_tail_is_found_by_the_head_kept(log_file: Path) -> None:
    head = parse_head(f"{verify_log(log_file).last_seq} {verify_log(log_file).last_digest}")
    assert verify_log(log_file, expect_head=head).ok
    lines = log_file.read_bytes().splitlines(keepends=True)
    log_file.write_bytes(b"".join(lines[:-1]))  # the last line deleted: to the chain, a batch whose writer died
    alone = verify_log(log_file)
    assert alone.ok and alone.uncommitted and alone.last_seq == 9
    report = verify_log(log_file, expect_head=head)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (10, "cut")
    log_file.write_bytes(b"".join(lines[:9]))  # … and a whole batch cut: a valid, shorter log
    assert verify_log(log_file, anchor_key=KEY).ok  # the anchors before the cut still hold
    report = verify_log(log_file, expect_head=head)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (10, "cut")
    assert "9 line(s) were removed" in report.problem.message


def test_a_head_with_another_digest_is_a_rewrite(log_file: Path) -> None:
    report = verify_log(log_file)
    lines = log_file.read_bytes().splitlines(keepends=True)
    kept = (5, json.loads(lines[4])["digest"])
    assert verify_log(log_file, expect_head=kept).ok
    problem = verify_log(log_file, expect_head=(5, report.last_digest)).problem
    assert problem is not None and (problem.line, problem.kind) == (5, "edited")


@pytest.mark.parametrize(
    "text", ["7 sha256:" + "a" * 64, "seq 7 sha256:" + "a" * 64, "head: seq 7 sha256:" + "a" * 64 + "\n"]
)
def test_parse_head_reads_what_the_commands_print(text: str) -> None:
    assert parse_head(text) == (7, "sha256:" + "a" * 64)


@pytest.mark.parametrize("text", ["", "7", "x sha256:" + "a" * 64, "7 sha256:abc", "7 md5:" + "a" * 64])
def test_parse_head_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="SEQ sha256"):
        parse_head(text)


def test_the_commands_keep_and_check_a_head(capsys: pytest.CaptureFixture[str], log_file: Path) -> None:
    key = log_file.with_name("anchor.key")
    code, out, _ = run(capsys, "log-head", str(log_file))
    assert code == 0 and out.startswith("18 sha256:")
    head = out.strip()
    code, out, _ = run(capsys, "verify-log", str(log_file), "--expect-head", head, "--anchor-key-file", str(key))
    assert code == 0 and "OK" in out and "anchored" in out
    lines = log_file.read_bytes().splitlines(keepends=True)
    log_file.write_bytes(b"".join(lines[:9]))
    code, out, _ = run(capsys, "verify-log", str(log_file), "--expect-head", head)
    assert code == 1 and out.startswith(f"{log_file}:10: cut: ")
    code, _, err = run(capsys, "verify-log", str(log_file), "--expect-head", "nonsense")
    assert code == 2 and "--expect-head" in err and len(err.splitlines()) == 1
    log_file.write_bytes(b"".join(lines[:9]) + b'{"broken"\n')
    code, out, err = run(capsys, "log-head", str(log_file))
    assert code == 1 and out == "" and "does not verify" in err


# --- repair ----------------------------------------------------------------------------------------------


def crash_in_a_batch(path: Path, records: int) -> int:
    """A batch whose writer died before its commit: begin, entries, a partial line, and the note. Returns the size before."""
    before = path.stat().st_size
    batch = DecisionLog(path).batch(chunk_bytes=1)
    batch.__enter__()
    for n in range(records):
        batch.add({"n": n})
    batch._flush()
    assert batch._fd is not None
    logmod._write_all(batch._fd, b'{"digest":"sha256:12')
    import os

    os.close(batch._fd)  # the lock goes with the process; the note stays
    batch._fd = None
    return before


def test_repair_removes_an_uncommitted_batch_and_says_what(capsys: pytest.CaptureFixture[str], log_file: Path) -> None:
    before = crash_in_a_batch(log_file, 3)
    whole = log_file.read_bytes()
    digests = [json.loads(line)["digest"] for line in whole[before:].splitlines()[:-1]]
    code, out, _ = run(capsys, "repair", str(log_file), "--dry-run")
    assert code == 0 and "would remove lines 19 to 23" in out and log_file.read_bytes() == whole
    code, out, _ = run(capsys, "repair", str(log_file))
    assert code == 0 and f"removed lines 19 to 23, {len(whole) - before} bytes from offset {before}" in out
    assert "uncommitted batch, 3 record(s)" in out and all(d in out for d in digests) and "partial last line" in out
    assert log_file.stat().st_size == before and not DecisionLog(log_file).pending_path.exists()
    assert verify_log(log_file, anchor_key=KEY).ok
    code, out, _ = run(capsys, "repair", str(log_file))
    assert code == 0 and "nothing removed" in out


def test_repair_refuses_a_log_whose_committed_part_fails(capsys: pytest.CaptureFixture[str], log_file: Path) -> None:
    lines = log_file.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"outcome":"', b'"outcome":"x', 1)
    damaged = b"".join(lines) + b'{"digest":"sha256:0'
    log_file.write_bytes(damaged)
    code, out, err = run(capsys, "repair", str(log_file))
    assert code == 1 and out == "" and ":3: " in err and "edited" in err and len(err.splitlines()) == 1
    assert log_file.read_bytes() == damaged
    code, _, err = run(capsys, "repair", str(log_file.with_name("none.jsonl")))
    assert code == 2 and "no such log file" in err


def test_a_crashed_append_points_to_the_repair_command(log_file: Path) -> None:
    log_file.write_bytes(log_file.read_bytes() + b'{"digest":"sha2')
    with pytest.raises(LogError, match="povrules repair"):
        DecisionLog(log_file).append({"n": 1})
