"""verify_log in worker processes gives the sequential verify's report, problem for problem.

Every log here, intact or damaged (every problem kind, batches, an uncommitted tail, a partial last
line, lines the fast path leaves to the full decoder), is verified both ways, in ranges of many sizes
(down to one byte, so range edges fall everywhere inside lines), and the reports compared whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from povrules.audit import log as logmod
from povrules.audit.log import GENESIS, DecisionLog, LogError, LogReport, verify_log

Lines = list[bytes]


class _InPlace:
    """An executor that runs each range at once in this process: fast, and monkeypatched sizes apply."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


RANGES = (1, 2, 3, 50, 333, 1000, 4096, 1 << 30)


def both(path: Path, ranges: tuple[int, ...] = RANGES) -> LogReport:
    """The sequential report, after checking that every way of verifying in ranges gives the same."""
    expected = logmod._verify_sequential(path)
    for size in ranges:
        assert logmod._verify_ranges(path, _InPlace(), size) == expected, f"ranges of {size} bytes"  # type: ignore[arg-type]
    with ThreadPoolExecutor(3) as pool:
        assert logmod._verify_ranges(path, pool, 97) == expected
    return expected


def entry(seq: int, prev: str, record: bytes) -> tuple[bytes, str]:
    """A line for ``record``'s bytes as given (canonical or not), with the digest of its bytes."""
    body = b'{"prev":"' + prev.encode() + b'","record":' + record + b',"seq":' + str(seq).encode() + b"}"
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    return b'{"digest":"' + digest.encode() + b'",' + body[1:] + b"\n", digest


def chain(records: list[bytes], start: int = 1, prev: str = GENESIS) -> tuple[Lines, str]:
    lines = []
    for k, record in enumerate(records):
        line, prev = entry(start + k, prev, record)
        lines.append(line)
    return lines, prev


def record(k: int, pad: int = 0) -> bytes:
    return orjson.dumps(
        {"k": k, "name": "户主 王某", "pad": "x" * pad, "list": [1, 2.5, None, True]}, option=orjson.OPT_SORT_KEYS
    )


@pytest.fixture
def base(tmp_path: Path) -> tuple[Path, Lines]:
    """A log of plain entries, a committed batch, and more entries."""
    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    log.append_many([orjson.loads(record(k, k * 7)) for k in range(6)])
    with log.batch() as batch:
        for k in range(5):
            batch.add(orjson.loads(record(100 + k, k * 300)))
    log.append_many([orjson.loads(record(200 + k)) for k in range(4)])
    return path, path.read_bytes().splitlines(keepends=True)


def write(path: Path, lines: Lines) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def rechain(lines: Lines, frm: int) -> Lines:
    """Lines from index ``frm`` on written again as entries chained from the line before (markers kept as
    entries' shapes are not needed here: only plain entries follow ``frm`` in the cases that use it)."""
    out = list(lines[:frm])
    prev = json.loads(out[-1])["digest"] if out else GENESIS
    for raw in lines[frm:]:
        obj = json.loads(raw)
        line, prev = entry(obj["seq"], prev, orjson.dumps(obj["record"], option=orjson.OPT_SORT_KEYS))
        out.append(line)
    return out


def test_intact(base: tuple[Path, Lines]) -> None:
    path, lines = base
    report = both(path)
    assert report.ok and report.lines == len(lines) == 17 and report.entries == 15


def test_empty_file(tmp_path: Path) -> None:
    report = both(write(tmp_path / "empty.jsonl", []))
    assert report.ok and report.lines == 0 and report.last_digest == GENESIS


DAMAGE: dict[str, tuple[str, Callable[[Lines], Lines]]] = {
    "edited byte": ("edited", lambda ls: ls[:3] + [ls[3].replace(b'"k":3', b'"k":4')] + ls[4:]),
    "edited, digest made again": (
        "edited",
        lambda ls: ls[:3] + [entry(4, json.loads(ls[2])["digest"], record(99))[0]] + ls[4:],
    ),
    "deleted": ("deleted", lambda ls: ls[:2] + ls[3:]),
    "deleted two": ("deleted", lambda ls: ls[:2] + ls[4:]),
    "deleted the first": ("deleted", lambda ls: ls[1:]),
    "swapped": ("reordered", lambda ls: ls[:2] + [ls[3], ls[2]] + ls[4:]),
    "moved back": ("reordered", lambda ls: ls[:5] + [ls[1]] + ls[5:]),
    "moved to the end": ("reordered", lambda ls: ls[:2] + ls[3:] + [ls[2]]),
    "partial last line": ("truncated", lambda ls: ls[:-1] + [ls[-1][:40]]),
    "last line not JSON": ("truncated", lambda ls: ls[:-1] + [b'{"digest": oops\n']),
    "last line without its newline": ("truncated", lambda ls: ls[:-1] + [ls[-1][:-1]]),
    "not JSON": ("malformed", lambda ls: ls[:4] + [b"not json\n"] + ls[4:]),
    "empty line": ("malformed", lambda ls: ls[:4] + [b"\n"] + ls[4:]),
    "a JSON array": ("malformed", lambda ls: ls[:4] + [b"[1,2]\n"] + ls[4:]),
    "other fields": ("malformed", lambda ls: ls[:4] + [b'{"seq":5,"x":1}\n'] + ls[4:]),
    "spaces": ("malformed", lambda ls: ls[:3] + [ls[3].replace(b'","prev":', b'", "prev":')] + ls[4:]),
    "record not an object": (
        "malformed",
        lambda ls: ls[:3] + [entry(4, json.loads(ls[2])["digest"], b"[1]")[0]] + ls[4:],
    ),
    # An extra field hidden between the record and seq: the frame's two ends are the writer's, the
    # line's digest is of its bytes, but the line is not an entry.
    "field between record and seq": (
        "malformed",
        lambda ls: ls[:3] + [entry(4, json.loads(ls[2])["digest"], b'{"a":1},"x":{"b":2}')[0]] + ls[4:],
    ),
    # Parsed, this line has the four fields (the second record and seq win), its digest is of its bytes:
    # both paths take it as the entry with seq 3, so the next line's prev is what breaks.
    "two records": (
        "edited",
        lambda ls: ls[:3] + [entry(4, json.loads(ls[2])["digest"], b'{"a":1},"seq":3,"record":{"b":2}')[0]] + ls[4:],
    ),
    "seq with a leading zero": ("malformed", lambda ls: ls[:3] + [ls[3].replace(b',"seq":4}', b',"seq":04}')] + ls[4:]),
    "seq not a number": ("malformed", lambda ls: ls[:3] + [ls[3].replace(b',"seq":4}', b',"seq":"4"}')] + ls[4:]),
    "record with a bad byte": (
        "malformed",
        lambda ls: ls[:3] + [entry(4, json.loads(ls[2])["digest"], b'{"a":"\xff"}')[0]] + ls[4:],
    ),
    "record with a raw tab": (
        "malformed",
        lambda ls: ls[:3] + [entry(4, json.loads(ls[2])["digest"], b'{"a":"\t"}')[0]] + ls[4:],
    ),
    "begin edited": (
        "edited",
        lambda ls: ls[:6] + [ls[6][:18] + (b"1" if ls[6][18:19] == b"0" else b"0") + ls[6][19:]] + ls[7:],
    ),
    "begin misspelt": ("malformed", lambda ls: ls[:6] + [ls[6].replace(b'"mark":"begin"', b'"mark":"begiN"')] + ls[7:]),
    "commit's count": (
        "malformed",
        lambda ls: ls[:12] + [logmod._encode_mark(13, json.loads(ls[11])["digest"], "commit", 4)[0]] + ls[13:],
    ),
    "commit removed": ("deleted", lambda ls: ls[:12] + ls[13:]),
    "begin removed": ("deleted", lambda ls: ls[:6] + ls[7:]),
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_damaged(base: tuple[Path, Lines], name: str) -> None:
    path, lines = base
    kind, damage = DAMAGE[name]
    report = both(write(path, damage(lines)))
    assert report.problem is not None and report.problem.kind == kind, report


def test_commit_without_begin(tmp_path: Path) -> None:
    lines, prev = chain([record(k) for k in range(3)])
    lines.append(logmod._encode_mark(4, prev, "commit", 3)[0])
    report = both(write(tmp_path / "log.jsonl", lines))
    assert report.problem is not None and report.problem.kind == "malformed" and report.problem.line == 4


def test_begin_inside_an_open_batch(tmp_path: Path) -> None:
    first, prev = logmod._encode_mark(1, GENESIS, "begin")
    lines, prev = chain([record(k) for k in range(2)], 2, prev)
    again, prev = logmod._encode_mark(4, prev, "begin")
    rest, _ = chain([record(9)], 5, prev)
    report = both(write(tmp_path / "log.jsonl", [first, *lines, again, *rest]))
    assert report.problem is not None and report.problem.kind == "malformed" and report.problem.line == 4


@pytest.mark.parametrize("partial", [False, True])
def test_uncommitted_tail(base: tuple[Path, Lines], partial: bool) -> None:
    path, lines = base
    head = json.loads(lines[-1])
    begin, prev = logmod._encode_mark(head["seq"] + 1, head["digest"], "begin")
    tail, _ = chain([record(300 + k, 50) for k in range(3)], head["seq"] + 2, prev)
    if partial:
        tail[-1] = tail[-1][:30]
    report = both(write(path, [*lines, begin, *tail]))
    assert report.ok and report.uncommitted_lines == 4 and report.entries == 15
    assert report.last_seq == head["seq"] and report.uncommitted_bytes == len(begin) + sum(map(len, tail))


def test_only_an_uncommitted_begin(tmp_path: Path) -> None:
    begin, _ = logmod._encode_mark(1, GENESIS, "begin")
    report = both(write(tmp_path / "log.jsonl", [begin]))
    assert report.ok and report.uncommitted_lines == 1 and report.entries == 0


def test_lines_left_to_the_full_decoder(tmp_path: Path) -> None:
    """Records the fast check refuses or cannot tell (NaN, a lone surrogate, non-canonical spacing with
    its digest, a seq beyond 19 digits) are decided by _decode as the sequential path decides them."""
    records = [record(0), b'{"a":NaN}', b'{"a":"\\ud800"}', b'{"a": 1}', record(4), b'{"b":[1, 2]}']
    lines, prev = chain(records)
    report = both(write(tmp_path / "log.jsonl", lines))
    assert report == logmod._verify_sequential(tmp_path / "log.jsonl")
    big, _ = entry(10**25, prev, record(5))
    both(write(tmp_path / "log.jsonl", [*lines, big]))


def test_blocks_smaller_than_lines(base: tuple[Path, Lines], monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker reads in blocks; a line longer than a block makes it read a larger one."""
    path, lines = base
    monkeypatch.setattr(logmod, "_READ", 64)
    both(path)
    both(write(path, DAMAGE["swapped"][1](lines)))
    both(write(path, DAMAGE["partial last line"][1](lines)))


def test_worker_processes(base: tuple[Path, Lines]) -> None:
    path, lines = base
    for damage in (lambda ls: ls, DAMAGE["deleted"][1], DAMAGE["partial last line"][1], DAMAGE["spaces"][1]):
        write(path, damage(lines))
        assert logmod._verify_parallel(path, 2, 211) == logmod._verify_sequential(path)


def test_verify_log_takes_the_parallel_path_for_large_files(
    base: tuple[Path, Lines], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = base
    calls: list[int] = []
    real = logmod._verify_parallel

    def spy(p: Any, workers: int, range_bytes: int = logmod._RANGE, chain: Any = None) -> LogReport:
        calls.append(workers)
        return real(p, workers, 500, chain)

    monkeypatch.setattr(logmod, "_verify_parallel", spy)
    monkeypatch.setattr(logmod, "cores", lambda: 2)
    monkeypatch.setattr(logmod, "_PARALLEL_FROM", path.stat().st_size - 1)
    assert verify_log(path) == logmod._verify_sequential(path)
    assert calls == [2]
    monkeypatch.setattr(logmod, "_PARALLEL_FROM", path.stat().st_size)
    verify_log(path)
    assert calls == [2]  # not above the threshold: sequential


def test_a_replaced_file_is_refused(base: tuple[Path, Lines]) -> None:
    path, _ = base
    assert logmod._scan_range(str(path), (0, 0), 0, 100, path.stat().st_size) is None

    class Replaced(_InPlace):
        def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
            return super().submit(fn, args[0], (0, 0), *args[2:])

    with pytest.raises(LogError, match="replaced"):
        logmod._verify_ranges(path, Replaced(), 100)  # type: ignore[arg-type]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="cannot open"):
        logmod._verify_ranges(tmp_path / "none.jsonl", _InPlace(), 100)  # type: ignore[arg-type]


# --- random damage ----------------------------------------------------------------------------------

_BASE_CACHE: dict[str, Lines] = {}


def _random_base() -> Lines:
    if "lines" not in _BASE_CACHE:
        lines, prev = chain([record(k, 3 * k) for k in range(4)])
        begin, prev = logmod._encode_mark(5, prev, "begin")
        inner, prev = chain([record(10 + k) for k in range(3)], 6, prev)
        commit, prev = logmod._encode_mark(9, prev, "commit", 3)
        rest, _ = chain([record(20 + k) for k in range(3)], 10, prev)
        _BASE_CACHE["lines"] = [*lines, begin, *inner, commit, *rest]
    return list(_BASE_CACHE["lines"])


_EDITS = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 50)),
    st.tuples(st.just("swap"), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("copy"), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("byte"), st.integers(0, 50), st.integers(0, 2000), st.binary(min_size=1, max_size=2)),
    st.tuples(st.just("cut"), st.integers(0, 2000)),
    st.tuples(st.just("insert"), st.integers(0, 50), st.sampled_from([b"\n", b"{}\n", b"x\n", b'{"seq":3}\n'])),
)


def _apply(lines: Lines, edit: tuple[Any, ...]) -> Lines:
    if not lines:
        return lines
    kind, *args = edit
    k = args[0] % len(lines)
    if kind == "drop":
        del lines[k]
    elif kind == "swap":
        j = args[1] % len(lines)
        lines[k], lines[j] = lines[j], lines[k]
    elif kind == "copy":
        lines.insert(args[1] % (len(lines) + 1), lines[k])
    elif kind == "byte":
        raw = lines[k]
        at = args[1] % len(raw)
        lines[k] = raw[:at] + args[2] + raw[at + 1 :]
    elif kind == "cut":
        data = b"".join(lines)
        return data[: len(data) - 1 - args[0] % max(1, len(data) // 3)].splitlines(keepends=True)
    else:
        lines.insert(k, args[1])
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_EDITS, max_size=3), sizes=st.tuples(st.integers(1, 3000), st.integers(1, 400)))
def test_random_damage(tmp_path: Path, edits: list[tuple[Any, ...]], sizes: tuple[int, int]) -> None:
    lines = _random_base()
    for edit in edits:
        lines = _apply(lines, edit)
    path = write(tmp_path / "random.jsonl", lines)
    expected = logmod._verify_sequential(path)
    for size in sizes:
        assert logmod._verify_ranges(path, _InPlace(), size) == expected  # type: ignore[arg-type]


# --- the JSON check ---------------------------------------------------------------------------------


def _accepted(load: Callable[[bytes], Any], text: bytes) -> bool:
    try:
        load(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return True


_JSONISH = st.lists(
    st.sampled_from(
        [
            b"{",
            b"}",
            b"[",
            b"]",
            b'"',
            b":",
            b",",
            b"1",
            b"0",
            b"-",
            b".",
            b"e",
            b"+",
            b" ",
            b"\t",
            b"\n",
            b"\\",
            b"u",
            b"d800",
            b"null",
            b"true",
            b"NaN",
            b"Infinity",
            b"\xff",
            b"\xc3\xa9",
            b"\xed\xa0\x80",
            b"\x01",
            b"a",
            b"/",
            b"\x00",
        ]
    ),
    max_size=30,
).map(b"".join)


@settings(max_examples=2000, deadline=None)
@given(middle=_JSONISH)
def test_the_json_check_accepts_nothing_both_parsers_refuse(middle: bytes) -> None:
    """What the workers' check accepts, the sequential path accepts too (orjson, or the stdlib after it)."""
    text = b'{"a":' + middle + b"}"
    if _accepted(logmod._json_object_validator(), text):
        assert _accepted(orjson.loads, text) or _accepted(json.loads, text), text


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":"\xff"}',
        b'{"a":"\xc3"}',
        b'{"a":"\t"}',
        b'{"a":1,}',
        b'{"a":01}',
        b'{"a":1}x',
        b'{"a":1}{}',
        b"{'a':1}",
        b'{"a":[1,2,]}',
        b'{"a":"\\x"}',
        b'{"a":+Infinity}',
        b'{"a":nan}',
        b'{"a":"\xc0\x80"}',
        b"[1]",
        b"1",
        b"",
        b'{"a":"\xf4\x90\x80\x80"}',
    ],
)
def test_the_json_check_refuses(text: bytes) -> None:
    assert not _accepted(logmod._json_object_validator(), text)
