"""The decision log: the hash chain, every kind of tampering named at its line, crashes and concurrent writers."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from povrules.audit.log import GENESIS, DecisionLog, LogError, iter_log, verify_log
from povrules.errors import PovrulesError

FORK = multiprocessing.get_context("fork")


def record(n: int, writer: str = "w", pad: int = 0) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(f"{writer}-{n}".encode()).hexdigest()
    out: dict[str, Any] = {"digest": digest, "n": n, "writer": writer}
    if pad:
        out["pad"] = "户" * pad
    return out


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "decisions.jsonl"


def filled(path: Path, count: int = 10) -> list[bytes]:
    DecisionLog(path).append_many(record(i) for i in range(count))
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def entry_of(line: bytes) -> dict[str, Any]:
    return json.loads(line)


# --- the chain -----------------------------------------------------------------------------------


def test_appends_chain_each_line_to_the_one_before(log_path: Path) -> None:
    log = DecisionLog(log_path)
    first = log.append(record(0))
    rest = log.append_many([record(1), record(2)])
    last = log.append(record(3))
    entries = [first, *rest, last]
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert GENESIS == sha("") == entries[0].prev
    for before, after in zip(entries, entries[1:]):
        assert after.prev == before.digest
    lines = log_path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 5  # four lines, each ended by a newline
    for line, entry in zip(lines, entries):
        data = json.loads(line)
        # The digest is the sha256 of the canonical JSON of seq, prev and record, computed here independently.
        assert data["digest"] == sha(canonical({"seq": data["seq"], "prev": data["prev"], "record": data["record"]}))
        assert data["digest"] == entry.digest
        assert line.decode("utf-8") == canonical(data)  # the line is the entry's canonical JSON
    assert [e.record for e in entries] == [record(i) for i in range(4)]


def test_verify_and_iter_agree_on_an_intact_log(log_path: Path) -> None:
    written = DecisionLog(log_path).append_many(record(i, pad=30) for i in range(25))
    report = verify_log(log_path)
    assert report.ok and report.problem is None
    assert (report.lines, report.entries, report.last_seq) == (25, 25, 25)
    assert report.last_digest == written[-1].digest
    assert report.size == log_path.stat().st_size
    assert list(iter_log(log_path)) == written
    assert list(DecisionLog(log_path)) == written


def test_an_empty_log_verifies_and_a_missing_one_is_an_error(log_path: Path) -> None:
    log_path.write_bytes(b"")
    report = verify_log(log_path)
    assert report.ok and (report.lines, report.entries, report.last_digest) == (0, 0, GENESIS)
    with pytest.raises(LogError) as caught:
        verify_log(log_path.with_name("absent.jsonl"))
    assert "absent.jsonl" in str(caught.value) and isinstance(caught.value, PovrulesError)


def test_append_reads_a_last_line_longer_than_one_read_from_the_end(log_path: Path) -> None:
    log = DecisionLog(log_path)
    log.append(record(0))
    big = log.append(record(1, pad=100_000))  # ~300 KB of UTF-8, several chunks
    after = log.append(record(2))
    assert after.seq == 3 and after.prev == big.digest
    assert verify_log(log_path).ok


def test_a_record_that_is_not_a_json_object_is_refused_and_nothing_written(log_path: Path) -> None:
    log = DecisionLog(log_path)
    log.append(record(0))
    before = log_path.read_bytes()
    with pytest.raises(LogError, match="record 1 is a list"):
        log.append_many([record(1), [1, 2]])  # type: ignore[list-item]
    with pytest.raises(LogError, match="cannot be written as JSON"):
        log.append({"when": object()})
    assert log_path.read_bytes() == before


# --- tampering -----------------------------------------------------------------------------------


def problem(path: Path) -> tuple[int, str]:
    report = verify_log(path)
    assert report.problem is not None, "tampering went unnoticed"
    return report.problem.line, report.problem.kind


def test_an_edited_record_field_is_named_at_its_line(log_path: Path) -> None:
    lines = filled(log_path)
    lines[3] = lines[3].replace(b'"n":3', b'"n":4')
    write_lines(log_path, lines)
    assert problem(log_path) == (4, "edited")
    report = verify_log(log_path)
    assert report.entries == 3 and report.lines == 10


def test_an_edit_with_its_digest_recomputed_breaks_the_next_line(log_path: Path) -> None:
    lines = filled(log_path)
    data = entry_of(lines[3])
    data["record"]["n"] = 99
    data["digest"] = sha(canonical({"seq": data["seq"], "prev": data["prev"], "record": data["record"]}))
    lines[3] = canonical(data).encode() + b"\n"
    write_lines(log_path, lines)
    assert problem(log_path) == (5, "edited")


def test_an_edited_digest_is_named_at_its_line(log_path: Path) -> None:
    lines = filled(log_path)
    data = entry_of(lines[6])
    data["digest"] = sha("something else")
    lines[6] = canonical(data).encode() + b"\n"
    write_lines(log_path, lines)
    assert problem(log_path) == (7, "edited")


@pytest.mark.parametrize("index", [0, 4, 8])
def test_a_deleted_line_is_named_where_it_was(log_path: Path, index: int) -> None:
    lines = filled(log_path)
    del lines[index]
    write_lines(log_path, lines)
    assert problem(log_path) == (index + 1, "deleted")
    assert verify_log(log_path).entries == index


def test_two_deleted_lines_are_one_gap(log_path: Path) -> None:
    lines = filled(log_path)
    del lines[2:4]
    write_lines(log_path, lines)
    report = verify_log(log_path)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (3, "deleted")
    assert "seq 3 to 4 missing" in report.problem.message


def test_two_swapped_lines_are_reordered_not_deleted(log_path: Path) -> None:
    lines = filled(log_path)
    lines[4], lines[5] = lines[5], lines[4]
    write_lines(log_path, lines)
    assert problem(log_path) == (5, "reordered")


def test_a_line_moved_to_the_end_is_reordered(log_path: Path) -> None:
    lines = filled(log_path)
    lines.append(lines.pop(2))
    write_lines(log_path, lines)
    assert problem(log_path) == (3, "reordered")


def test_a_line_copied_further_on_is_reordered(log_path: Path) -> None:
    lines = filled(log_path)
    lines.insert(6, lines[1])
    write_lines(log_path, lines)
    assert problem(log_path) == (7, "reordered")


def test_the_last_line_truncated_mid_way(log_path: Path) -> None:
    lines = filled(log_path)
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    write_lines(log_path, lines)
    report = verify_log(log_path)
    assert (report.problem.line, report.problem.kind) == (10, "truncated")  # type: ignore[union-attr]
    assert report.entries == 9 and report.lines == 10


def test_only_the_newline_missing_is_still_truncated(log_path: Path) -> None:
    lines = filled(log_path)
    lines[-1] = lines[-1][:-1]
    write_lines(log_path, lines)
    assert problem(log_path) == (10, "truncated")


@pytest.mark.parametrize("garbage", [b"\x00\xffnot a log", b"not json at all\n", b'{"seq": 11, "digest"'])
def test_garbage_appended_is_a_truncated_last_line(log_path: Path, garbage: bytes) -> None:
    lines = filled(log_path)
    write_lines(log_path, [*lines, garbage])
    assert problem(log_path) == (11, "truncated")
    assert verify_log(log_path).entries == 10


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"not json at all\n", "not JSON"),
        (b"\n", "empty line"),
        (b'{"seq": 4}\n', "not a log entry"),
        (b"[1,2,3]\n", "not a log entry"),
    ],
)
def test_a_foreign_line_is_malformed(log_path: Path, line: bytes, why: str) -> None:
    lines = filled(log_path)
    lines.insert(3, line)
    write_lines(log_path, lines)
    report = verify_log(log_path)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (4, "malformed")
    assert why in report.problem.message


def test_json_garbage_at_the_end_is_malformed(log_path: Path) -> None:
    lines = filled(log_path)
    write_lines(log_path, [*lines, b'{"hello":"world"}\n'])
    assert problem(log_path) == (11, "malformed")


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", "4"), ("seq", 0), ("seq", True), ("prev", "sha256:abc"), ("record", [1]), ("digest", 12)],
)
def test_fields_of_the_wrong_type_are_malformed(log_path: Path, field: str, value: Any) -> None:
    lines = filled(log_path)
    data = entry_of(lines[3])
    data[field] = value
    lines[3] = canonical(data).encode() + b"\n"
    write_lines(log_path, lines)
    assert problem(log_path) == (4, "malformed")


def test_a_reformatted_line_is_malformed_though_its_content_is_unchanged(log_path: Path) -> None:
    lines = filled(log_path)
    lines[2] = json.dumps(entry_of(lines[2]), indent=None).encode() + b"\n"  # spaces after , and :
    write_lines(log_path, lines)
    report = verify_log(log_path)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (3, "malformed")
    assert "canonical" in report.problem.message


def test_the_first_problem_is_the_one_reported(log_path: Path) -> None:
    lines = filled(log_path)
    lines[7] = lines[7].replace(b'"n":7', b'"n":8')
    del lines[2]
    lines[-1] = lines[-1][:10]
    write_lines(log_path, lines)
    assert problem(log_path) == (3, "deleted")


def test_iter_log_yields_up_to_the_problem_then_raises_with_the_line(log_path: Path) -> None:
    lines = filled(log_path)
    lines[5], lines[6] = lines[6], lines[5]
    write_lines(log_path, lines)
    seen = []
    with pytest.raises(LogError) as caught:
        for entry in iter_log(log_path):
            seen.append(entry.seq)
    assert seen == [1, 2, 3, 4, 5]
    error = caught.value
    assert (error.line, error.kind) == (6, "reordered")
    assert str(error).startswith(f"{log_path}:6: reordered")


def test_verify_streams_the_file(log_path: Path) -> None:
    DecisionLog(log_path).append_many(record(i, pad=400) for i in range(3000))
    size = log_path.stat().st_size
    tracemalloc.start()
    try:
        report = verify_log(log_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok and report.entries == 3000
    assert size > 3_000_000
    assert peak < size // 20, f"verify_log held {peak} bytes for a {size}-byte log"


# --- partial lines and repair --------------------------------------------------------------------


def test_append_refuses_after_a_partial_line_until_repair(log_path: Path) -> None:
    lines = filled(log_path, 5)
    whole = b"".join(lines)
    log_path.write_bytes(whole + lines[-1][:40])
    log = DecisionLog(log_path)
    with pytest.raises(LogError) as caught:
        log.append(record(5))
    assert (caught.value.line, caught.value.kind) == (6, "truncated") and "repair" in str(caught.value)
    assert log_path.read_bytes() == whole + lines[-1][:40]  # nothing written

    planned = log.repair(dry_run=True)
    assert planned is not None and log_path.stat().st_size == len(whole) + 40
    done = log.repair()
    assert done == planned
    assert (done.line, done.offset, done.removed) == (6, len(whole), 40)
    assert log_path.read_bytes() == whole
    assert log.repair() is None  # nothing more to remove

    entry = log.append(record(5))
    assert entry.seq == 6 and entry.prev == entry_of(lines[-1])["digest"]
    assert verify_log(log_path).ok


def test_repair_says_what_it_removes_before_removing_it(log_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lines = filled(log_path, 3)
    log_path.write_bytes(b"".join(lines) + b'{"digest":"sha256:0')
    with caplog.at_level("WARNING", logger="povrules.audit.log"):
        DecisionLog(log_path).repair()
    assert any("decisions.jsonl:4" in r.getMessage() and "19 bytes" in r.getMessage() for r in caplog.records)


def test_repair_refuses_a_whole_foreign_line_and_append_still_refuses(log_path: Path) -> None:
    lines = filled(log_path, 3)
    log_path.write_bytes(b"".join(lines) + b'{"hello":"world"}\n')
    log = DecisionLog(log_path)
    with pytest.raises(LogError) as refused:  # not a crashed tail: for a person to look at
        log.repair()
    assert (refused.value.line, refused.value.kind) == (4, "malformed")
    assert log_path.read_bytes().endswith(b'{"hello":"world"}\n')
    with pytest.raises(LogError) as caught:
        log.append(record(3))
    assert (caught.value.line, caught.value.kind) == (4, "malformed")


def test_append_refuses_after_an_edited_last_line(log_path: Path) -> None:
    lines = filled(log_path, 3)
    lines[-1] = lines[-1].replace(b'"n":2', b'"n":7')
    write_lines(log_path, lines)
    with pytest.raises(LogError) as caught:
        DecisionLog(log_path).append(record(3))
    assert (caught.value.line, caught.value.kind) == (3, "edited")


# --- crashes and concurrent writers ---------------------------------------------------------------


def _write_until_killed(path: str, start: int, started: Any) -> None:
    log = DecisionLog(path)
    n = start
    while True:
        # Large batches: each is one big write, so a kill has a chance of landing inside one.
        log.append_many(record(n + k, pad=300) for k in range(500))
        n += 500
        started.set()


def test_a_killed_writer_leaves_a_log_valid_to_its_last_whole_line(log_path: Path) -> None:
    total = 0
    for round_, delay in enumerate((0.0, 0.05, 0.2)):
        started = FORK.Event()
        writer = FORK.Process(target=_write_until_killed, args=(str(log_path), round_ * 1_000_000, started))
        writer.start()
        assert started.wait(60), "the writer never finished a first batch"
        time.sleep(delay)
        os.kill(writer.pid, signal.SIGKILL)  # type: ignore[arg-type]
        writer.join(10)
        assert writer.exitcode == -signal.SIGKILL

        report = verify_log(log_path)
        assert report.entries >= total + 500
        if report.problem is not None:  # the kill landed inside a write
            assert (report.problem.kind, report.problem.line) == ("truncated", report.lines)
            assert report.entries == report.lines - 1
            repaired = DecisionLog(log_path).repair()
            assert repaired is not None and repaired.line == report.lines
        else:
            assert DecisionLog(log_path).repair() is None
        after = verify_log(log_path)
        assert after.ok and after.entries == report.entries == after.lines
        # Every record of the round is there once, in the order written, with no gap.
        ns = [e.record["n"] for e in iter_log(log_path)][total:]
        assert ns == list(range(round_ * 1_000_000, round_ * 1_000_000 + len(ns)))
        total = after.entries

    assert DecisionLog(log_path).append(record(-1)).seq == total + 1


def _die_half_way_through_a_write(path: str) -> None:
    import povrules.audit.log as module

    def half_then_killed(fd: int, data: bytes) -> int:
        cut = data.index(b"\n") + 1 + 30  # the batch's first line and 30 bytes of the second
        os.write(fd, data[:cut])  # the real write, cut short
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("not reached")

    module.os = _OsWithWrite(half_then_killed)  # type: ignore[assignment]
    DecisionLog(path).append_many(record(n, pad=200) for n in range(100, 110))


class _OsWithWrite:
    """The os module, but with another ``write``: only the child process that dies uses it."""

    def __init__(self, write: Any):
        self.write = write

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def test_a_writer_killed_inside_its_write_leaves_one_partial_line_that_repair_removes(log_path: Path) -> None:
    before = DecisionLog(log_path).append_many(record(n) for n in range(100))
    whole = log_path.read_bytes()
    writer = FORK.Process(target=_die_half_way_through_a_write, args=(str(log_path),))
    writer.start()
    writer.join(60)
    assert writer.exitcode == -signal.SIGKILL
    assert log_path.read_bytes().startswith(whole)

    # The batch's first line reached the file whole and chains on; the second is cut at 30 bytes.
    report = verify_log(log_path)
    assert (report.lines, report.entries) == (102, 101)
    assert report.problem is not None and (report.problem.kind, report.problem.line) == ("truncated", 102)
    first = json.loads(log_path.read_bytes().splitlines()[100])
    assert first["prev"] == before[-1].digest and first["record"] == record(100, pad=200)
    with pytest.raises(LogError, match="repair"):
        DecisionLog(log_path).append(record(200))
    repaired = DecisionLog(log_path).repair()
    assert repaired is not None and (repaired.line, repaired.removed) == (102, 30)
    after = verify_log(log_path)
    assert after.ok and after.entries == after.lines == 101
    assert DecisionLog(log_path).append(record(200)).seq == 102


def _append_one_by_one(path: str, writer: str, count: int, go: Any) -> None:
    log = DecisionLog(path)
    go.wait()
    for n in range(count):
        log.append(record(n, writer=writer, pad=50))


def test_two_processes_appending_lose_nothing_and_mix_nothing(log_path: Path) -> None:
    go = FORK.Event()
    writers = [FORK.Process(target=_append_one_by_one, args=(str(log_path), name, 1000, go)) for name in "AB"]
    for w in writers:
        w.start()
    go.set()
    for w in writers:
        w.join(300)
        assert w.exitcode == 0
    report = verify_log(log_path)
    assert report.ok and report.entries == report.lines == 2000
    seen = [(e.record["writer"], e.record["n"]) for e in iter_log(log_path)]
    assert sorted(seen) == sorted((w, n) for w in "AB" for n in range(1000))
    for name in "AB":  # each writer's records in its own order
        assert [n for w, n in seen if w == name] == list(range(1000))
