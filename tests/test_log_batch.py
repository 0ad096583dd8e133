"""Log batches: whole or absent after an exception, a SIGKILL at any point, or a race with another writer."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from povrules.audit.log import DecisionLog, LogError, iter_log, verify_log

BATCH = 5_000

# The writer: appends one batch of BATCH records tagged "b", after arming a kill at the n-th call of
# one of the system calls the batch makes (a write is cut in half first, leaving a partial line).
WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from povrules.audit.log import DecisionLog
    path, call, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
    calls = {"n": 0}
    def armed(real, half=False):
        def wrapper(*args):
            calls["n"] += 1
            if calls["n"] == nth:
                if half:
                    real(args[0], bytes(args[1])[: max(1, len(args[1]) // 2)])
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args)
        return wrapper
    if call == "write":
        os.write = armed(os.write, half=True)
    elif call != "none":
        setattr(os, call, armed(getattr(os, call)))
    print("ready", flush=True)
    with DecisionLog(path).batch(chunk_bytes=16_384) as batch:
        for i in range(%d):
            batch.add({"batch": "b", "i": i, "pad": "x" * 40})
"""
    % BATCH
)


def _records(path: Path) -> list[dict[str, Any]]:
    return [e.record for e in iter_log(path)]


def _seed(path: Path) -> None:
    log = DecisionLog(path)
    log.append({"batch": "before", "i": 0})
    with log.batch() as batch:
        for i in range(3):
            batch.add({"batch": "before", "i": i + 1})


def _after_kill(path: Path) -> int:
    report = verify_log(path)
    assert report.ok, str(report)
    tagged = [r for r in _records(path) if r["batch"] == "b"]
    assert len(tagged) in (0, BATCH), f"{len(tagged)} of the batch's records present"
    assert [r["i"] for r in tagged] == list(range(len(tagged)))
    entry = DecisionLog(path).append({"batch": "after", "i": 0})  # the next writer cuts any abandoned tail
    after = verify_log(path)
    assert after.ok and not after.uncommitted and after.last_seq == entry.seq
    records = _records(path)
    assert [r["batch"] for r in records].count("b") == len(tagged) and records[-1]["batch"] == "after"
    assert not DecisionLog(path).pending_path.exists()
    return len(tagged)


FORCED = (
    [("write", n) for n in (1, 2, 3, 5, 8, 13, 21)]
    + [("fsync", n) for n in (1, 2, 3, 4, 5)]
    + [("replace", 1), ("ftruncate", 1), ("none", 0)]
)


@pytest.mark.parametrize("call, nth", FORCED, ids=[f"{c}-{n}" for c, n in FORCED])
def test_a_batch_killed_at_a_forced_point_is_whole_or_absent(tmp_path: Path, call: str, nth: int) -> None:
    path = tmp_path / "log.jsonl"
    _seed(path)
    done = subprocess.run([sys.executable, "-c", WRITER, str(path), call, str(nth)], capture_output=True, timeout=120)
    assert done.returncode in (0, -signal.SIGKILL), done.stderr.decode()
    present = _after_kill(path)
    if call == "none":
        assert present == BATCH


@pytest.mark.parametrize("seed", range(10))
def test_a_batch_killed_at_a_random_moment_is_whole_or_absent(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "log.jsonl"
    _seed(path)
    size = path.stat().st_size
    rng = random.Random(seed)
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "none", "0"], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    if seed % 2:  # kill once the file has grown by some bytes
        grown = rng.randrange(1, 400_000)
        deadline = time.monotonic() + 30
        while path.stat().st_size < size + grown and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
    else:
        time.sleep(rng.uniform(0, 0.3))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    _after_kill(path)


def test_an_exception_inside_the_batch_leaves_the_log_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    _seed(path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError), DecisionLog(path).batch(chunk_bytes=100) as batch:
        for i in range(500):
            batch.add({"batch": "b", "i": i})
        raise RuntimeError("stop")
    assert path.read_bytes() == before
    assert not DecisionLog(path).pending_path.exists()
    with pytest.raises(LogError, match="record 1 is a list"), DecisionLog(path).batch() as batch:
        batch.add({"ok": 1})
        batch.add([1])  # type: ignore[arg-type]
    assert path.read_bytes() == before


def test_add_json_writes_the_text_given_and_checks_its_shape(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with DecisionLog(path).batch() as batch:
        assert batch.add_json('{"a":"中"}') == 2  # seq 1 is the begin marker
        assert batch.add_json(b'{"b":2}') == 3
        with pytest.raises(LogError, match="one object on one line"):
            batch.add_json("[1]")
    assert batch.count == 2 and batch.head[0] == 4
    assert _records(path) == [{"a": "中"}, {"b": 2}]
    lines = path.read_bytes().splitlines()
    assert json.loads(lines[0])["mark"] == "begin" and json.loads(lines[-1]) == {**json.loads(lines[-1]), "count": 2}
    report = verify_log(path)
    assert report.ok and (report.entries, report.lines, report.last_seq) == (2, 4, 4)


def test_markers_out_of_place_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    with log.batch() as batch:
        batch.add({"a": 1})
    lines = path.read_bytes().splitlines(keepends=True)
    begin_only = tmp_path / "begin-mid.jsonl"
    begin_only.write_bytes(lines[0] + lines[1])  # a begin, a record, no commit: fine at the end …
    assert verify_log(begin_only).ok and verify_log(begin_only).uncommitted_lines == 2
    commit_only = tmp_path / "commit.jsonl"
    commit_only.write_bytes(lines[2])
    problem = verify_log(commit_only).problem
    assert problem is not None and problem.kind == "deleted"  # the chain shows the begin and record missing


def test_an_abandoned_batch_before_another_begin_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    batch = log.batch().__enter__()
    batch.add({"a": 1})
    batch._flush()
    fd = batch._fd
    assert fd is not None
    os.close(fd)
    log.pending_path.unlink()  # as if the note were lost: the next writer cannot see the tail
    with log.batch() as second:
        second.add({"b": 1})
    report = verify_log(path)
    assert report.problem is not None and report.problem.kind == "malformed" and report.problem.line == 3
    assert "has no commit" in report.problem.message


CONCURRENT = textwrap.dedent("""
    import sys
    from povrules.audit.log import DecisionLog
    path, tag = sys.argv[1], sys.argv[2]
    for b in range(6):
        with DecisionLog(path).batch(chunk_bytes=2_000) as batch:
            for i in range(150):
                batch.add({"batch": f"{tag}{b}", "i": i})
""")


def test_concurrent_batches_interleave_only_whole(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    children = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(path), tag]) for tag in "xyz"]
    for child in children:
        assert child.wait(timeout=120) == 0
    assert verify_log(path).ok
    runs: list[str] = []
    for record in _records(path):
        if not runs or runs[-1] != record["batch"]:
            runs.append(record["batch"])
    assert sorted(runs) == sorted(f"{t}{b}" for t in "xyz" for b in range(6))  # each batch one unbroken run
