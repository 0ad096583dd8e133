"""Hostile and careless input: special files, huge files, deep nesting, long log lines, full disks."""

from __future__ import annotations

import errno
import io
import json
import os
import sys
from pathlib import Path

import pytest

from povrules import cli
from povrules.audit import RecordError, load_record, verify_log
from povrules.audit import log as logmod
from povrules.citations import check_citations
from povrules.cli import main
from povrules.errors import RulesetError
from povrules.reading import MAX_JSON_DEPTH, ReadError, check_json_depth, read_bounded
from povrules.ruleset import load_ruleset
from povrules.ruleset import loader
from povrules.ruleset.variant import load_overlay

ROOT = Path(__file__).resolve().parents[1]
WEISHAN = str(ROOT / "rulesets" / "cn-yunnan-weishan")
EXAMPLE = ROOT / "examples" / "cn-yunnan-weishan.jsonl"
DECISION = "identify_poor_household"
AS_OF = "2016-06-30"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


# --- read_bounded --------------------------------------------------------------------------------------


@pytest.mark.parametrize("special, kind", [("/dev/zero", "a device"), ("FIFO", "a FIFO"), ("DIR", "a folder")])
def test_special_files_are_refused_before_reading(tmp_path: Path, fifo: Path, special: str, kind: str) -> None:
    path = {"FIFO": str(fifo), "DIR": str(tmp_path)}.get(special, special)
    if not os.path.exists(path):
        pytest.skip(f"{path} is not on this system")
    with pytest.raises(ReadError, match=kind.split()[-1]) as caught:  # a FIFO with no writer: refused, not waited on
        read_bounded(path, limit=1 << 20, what="a test file")
    assert str(caught.value).startswith(path)


def test_a_file_over_its_limit_is_refused_and_one_at_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_bounded(path, limit=100, what="a test file") == b"x" * 100
    with pytest.raises(ReadError, match=r"more than 99 bytes for a test file"):
        read_bounded(path, limit=99, what="a test file")


def test_a_stream_is_read_bounded_too() -> None:
    assert read_bounded(io.BytesIO(b"abc"), limit=3, what="x") == b"abc"
    with pytest.raises(ReadError, match="<stdin>: more than 2 bytes"):
        read_bounded(io.BytesIO(b"abc"), limit=2, what="x")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"nowhere: cannot read \(No such file"):
        read_bounded(tmp_path / "nowhere", limit=10, what="x")


def test_json_depth_counts_structure_not_strings() -> None:
    check_json_depth(deep(MAX_JSON_DEPTH), name="x")
    with pytest.raises(ReadError, match=f"nested more than {MAX_JSON_DEPTH} deep"):
        check_json_depth(deep(MAX_JSON_DEPTH + 1), name="x")
    brackets_in_text = json.dumps({"a": "[{" * 500, "b": '\\"[[[[' * 100}).encode()
    check_json_depth(brackets_in_text, name="x")
    check_json_depth(b"[" + b"[1]," * 10_000 + b"[]]", name="x")  # many, but shallow


# --- every reader goes through it ----------------------------------------------------------------------


def test_extends_dev_zero_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "ruleset.yaml").write_text("id: x\nextends: /dev/zero\n", encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(tmp_path)
    assert caught.value.location is not None and caught.value.location.line == 2
    assert "/dev/zero: is a device" in str(caught.value)


def test_a_huge_ruleset_is_refused_naming_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_YAML", 1000)
    (tmp_path / "ruleset.yaml").write_text("id: x\n" + "# padding\n" * 200, encoding="utf-8")
    with pytest.raises(RulesetError, match="more than 1000 bytes for a ruleset"):
        load_ruleset(tmp_path)


def test_an_overlay_on_a_device_is_refused() -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    with pytest.raises(RulesetError, match="is a device"):
        load_overlay(Path("/dev/zero"))


def test_a_cited_source_that_is_a_folder_is_an_error(tmp_path: Path) -> None:
    ruleset = load_ruleset(WEISHAN)
    cited = next(r.citation for r in ruleset.rules.values() if r.citation)
    (tmp_path / cited.file).mkdir(parents=True)
    with pytest.raises(ReadError, match="is a folder"):
        check_citations(ruleset, tmp_path)


@pytest.mark.parametrize(
    "command",
    [
        ("decide", WEISHAN, DECISION, "/dev/zero", "--as-of", AS_OF),
        ("explain", "/dev/zero"),
        ("replay", "/dev/zero", "--store", WEISHAN),
        ("decide", WEISHAN, DECISION, "--as-of", AS_OF, "--log", "L", "--anchor-key-file", "/dev/zero"),
    ],
)
def test_the_commands_refuse_dev_zero_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    argv = [str(tmp_path / "L") if a == "L" else a for a in command]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and one_line(err) and "/dev/zero" in err
    assert not (tmp_path / "L").exists()


def test_replay_with_a_store_holding_a_device_names_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    record = tmp_path / "record.json"
    assert (
        run(
            capsys,
            "decide",
            WEISHAN,
            DECISION,
            str(EXAMPLE),
            "--as-of",
            AS_OF,
            "--record",
            "--jsonl",
            "-o",
            str(tmp_path / "all.jsonl"),
        )[0]
        == 0
    )
    record.write_bytes((tmp_path / "all.jsonl").read_bytes().splitlines()[0])
    (tmp_path / "store" / "v").mkdir(parents=True)
    (tmp_path / "store" / "v" / "ruleset.yaml").symlink_to("/dev/zero")
    code, out, err = run(capsys, "replay", str(record), "--store", str(tmp_path / "store"))
    assert code == 2 and one_line(err) and "is a device" in err


# --- deep nesting ----------------------------------------------------------------------------------------


def test_a_deeply_nested_record_is_a_record_error() -> None:
    with pytest.raises(RecordError, match="nested more than"):
        load_record(deep(100_000))
    with pytest.raises(RecordError, match="nested more than"):
        load_record(deep(100_000).decode())


@pytest.mark.parametrize(
    "command",
    [
        ("explain", "R"),
        ("replay", "R", "--store", WEISHAN),
        ("decide", WEISHAN, DECISION, "R", "--as-of", AS_OF),
        ("replay", "OK", "--facts", "R", "--store", WEISHAN),
    ],
)
def test_the_commands_refuse_deep_nesting_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(deep(200_000))
    argv = [str(path) if a == "R" else str(tmp_path / "deep.json") if a == "OK" else a for a in command]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and one_line(err) and "nested more than" in err


# --- log lines -------------------------------------------------------------------------------------------


def test_a_log_line_over_the_limit_is_malformed_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logmod, "MAX_LINE", 500)
    path = tmp_path / "log.jsonl"
    log = logmod.DecisionLog(path)
    log.append_many([{"n": n} for n in range(3)])
    with path.open("ab") as f:
        f.write(b'{"x":"' + b"y" * 5000 + b'"}\n{"after":1}\n')
    report = logmod._verify_sequential(path)
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (4, "malformed")
    assert "longer than 500 bytes" in report.problem.message and report.lines == 5

    class InPlace:
        def submit(self, fn, *args):  # type: ignore[no-untyped-def]
            from concurrent.futures import Future

            future: Future[object] = Future()
            future.set_result(fn(*args))
            return future

    monkeypatch.setattr(logmod, "_READ", 64)
    assert logmod._verify_ranges(path, InPlace(), 1 << 20) == report  # type: ignore[arg-type]
    with pytest.raises(logmod.LogError, match="longer than 500 bytes"):
        path.write_bytes(path.read_bytes()[:-14])  # the long line is now the last one, without its newline …
        log.append({"n": 9})  # … and is not read backwards into memory either


def test_verify_log_refuses_a_device(capsys: pytest.CaptureFixture[str]) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    code, out, err = run(capsys, "verify-log", "/dev/zero")
    assert code == 2 and one_line(err) and "not a file" in err
    code, out, err = run(capsys, "repair", "/dev/zero")
    assert code == 2 and one_line(err)


def test_a_log_that_is_not_a_regular_file_is_refused(fifo: Path, tmp_path: Path) -> None:
    for path in (fifo, Path("/dev/zero")):
        if not path.exists():
            continue
        with pytest.raises(logmod.LogError, match="not a regular file"):
            logmod.DecisionLog(path).append({"n": 1})
        with pytest.raises(logmod.LogError, match="not a regular file"):
            verify_log(path)
        with pytest.raises(logmod.LogError, match="not a regular file"):
            logmod.DecisionLog(path).repair()
    log = tmp_path / "log.jsonl"
    logmod.DecisionLog(log).append({"n": 1})
    logmod.DecisionLog(log).pending_path.symlink_to("/dev/zero")
    with pytest.raises(logmod.LogError, match="is a device"):
        logmod.DecisionLog(log).append({"n": 2})


# --- full disks ------------------------------------------------------------------------------------------


def _enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    "command",
    [
        ("schema",),
        ("explain", "RECORD"),
        ("log-head", "LOG"),
        ("decide", WEISHAN, DECISION, str(EXAMPLE), "--as-of", AS_OF),
    ],
)
def test_o_onto_a_full_disk_is_one_line_exit_2_and_leaves_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    record, log = tmp_path / "record.json", tmp_path / "log.jsonl"
    assert (
        run(
            capsys,
            "decide",
            WEISHAN,
            DECISION,
            str(EXAMPLE),
            "--as-of",
            AS_OF,
            "--record",
            "--jsonl",
            "-o",
            str(tmp_path / "all.jsonl"),
        )[0]
        == 0
    )
    record.write_bytes((tmp_path / "all.jsonl").read_bytes().splitlines()[0])
    logmod.DecisionLog(log).append({"n": 1})
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    argv = [str(record) if a == "RECORD" else str(log) if a == "LOG" else a for a in command]
    monkeypatch.setattr(os, "fsync", _enospc)  # what a full disk says when the data reaches it
    code, out, err = run(capsys, *argv, "-o", str(out_dir / "result"))
    assert code == 2 and out == "" and one_line(err) and "No space left on device" in err
    assert "result" in err and list(out_dir.iterdir()) == []


class _FullDisk(io.RawIOBase):
    """A file on a disk with room for ``room`` bytes more: a short write, then ENOSPC."""

    def __init__(self, room: int):
        self.room = room
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        if self.room == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        taken = bytes(data[: self.room])
        self.data += taken
        self.room -= len(taken)
        return len(taken)


@pytest.mark.parametrize("command", [("schema",), ("decide", WEISHAN, DECISION, str(EXAMPLE), "--as-of", AS_OF)])
def test_standard_output_onto_a_full_disk_is_not_a_silent_success(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    disk = _FullDisk(1000)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(disk, 64), encoding="utf-8"))
    code = main(list(command))
    _, err = capsys.readouterr()
    assert code == 2 and one_line(err) and "<stdout>: cannot write (No space left on device)" in err
    assert len(disk.data) == 1000


def test_a_write_error_names_the_file_even_when_no_command_caught_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(args: object) -> int:
        raise OSError(errno.EIO, os.strerror(errno.EIO), "somewhere.txt")

    monkeypatch.setattr(cli, "cmd_schema", broken)
    code, out, err = run(capsys, "schema")
    assert code == 2 and one_line(err) and "somewhere.txt: Input/output error" in err


def test_log_batch_on_a_full_disk_leaves_the_log_as_it_was(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log.jsonl"
    logmod.DecisionLog(log).append({"n": 1})
    before = log.read_bytes()
    monkeypatch.setattr(logmod, "_write_all", _enospc)
    code, out, err = run(
        capsys,
        "decide",
        WEISHAN,
        DECISION,
        str(EXAMPLE),
        "--as-of",
        AS_OF,
        "--log",
        str(log),
        "-o",
        str(tmp_path / "records.jsonl"),
    )
    assert code == 2 and one_line(err) and "No space left on device" in err
    assert log.read_bytes() == before and verify_log(log).ok and not (tmp_path / "records.jsonl").exists()


def test_one_reader_places_text_that_is_not_utf8_at_its_line_and_column(tmp_path):
    from povrules.policytest import load_policy_file
    from povrules.reading import NotUtf8, read_text

    bad = "cases:\n  - 名称: ok\n".encode() + "  - note: 编码\n".encode("gbk")
    path = tmp_path / "bad.yaml"
    path.write_bytes(bad)
    with pytest.raises(NotUtf8) as info:
        read_text(path, limit=1 << 20, what="a test")
    assert (info.value.line, info.value.column, info.value.byte) == (
        3,
        len("  - note: ") + 1,
        bad.index(b"  - note") + 10,
    )
    assert isinstance(info.value, ReadError) and str(info.value).endswith(f"not UTF-8 text (byte {info.value.byte})")
    # Every YAML file povrules reads reports it alike: ruleset, overlay, policy test file.
    for read in (load_ruleset, load_overlay, load_policy_file):
        with pytest.raises(RulesetError) as caught:
            read(path)
        assert (caught.value.location.line, caught.value.location.column) == (3, 11), read
        assert caught.value.hint == "save the file as UTF-8"
