"""Caseload files block by block (``read_frames``) and straight to a decision table (``decide_file``,
``decide --engine columnar``): the row path's table, the row path's errors, nothing left on failure."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import povrules
from povrules.batch import decide_caseload
from povrules.caseload import COLUMNS, read_caseload
from povrules.cli import main
from povrules.columnar import NotSupported, caseload_frame, decide_file, read_frame, read_frames
from povrules.errors import CaseloadError, FactsError
from povrules.synth import county_json

ROOT = Path(__file__).resolve().parents[1]
HUNAN = ROOT / "rulesets" / "cn-hunan-county-plan4"
CASELOAD = ROOT / "examples" / "caseload"
DECISION = "monitoring_type"
AS_OF = date(2021, 6, 30)
N = 600


@pytest.fixture(scope="module")
def hunan() -> povrules.Ruleset:
    return povrules.load_ruleset(HUNAN)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return list(county_json(N, 7))


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]]) -> Path:
    """600 synthetic households, some with unknown facts, as JSON Lines."""
    path = tmp_path_factory.mktemp("county") / "county.jsonl"
    path.write_bytes(b"".join(orjson.dumps(h) + b"\n" for h in rows))
    return path


@pytest.fixture(scope="module")
def county_parquet(tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path_factory.mktemp("county") / "county.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=250)
    return path


def _row_table(ruleset: povrules.Ruleset, source: Path, out: Path, **options: Any) -> Path:
    decide_caseload(ruleset, DECISION, source, as_of=AS_OF, output=out, write="table", workers=1, **options)
    return out


def _with_line(county: Path, tmp_path: Path, at: int, line: bytes) -> Path:
    lines = county.read_bytes().splitlines()
    lines.insert(at, line)
    path = tmp_path / "with-bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


# --- read_frames ---------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [1, 97, 250, N, 10 * N])
def test_blocks_are_the_whole_frame_cut_in_order(county: Path, county_parquet: Path, block: int) -> None:
    whole = caseload_frame([povrules.parse_household(item.data, item.where) for item in read_caseload(county)])
    for source in (county, county_parquet):
        frames = list(read_frames(source, block=block))
        assert [f.height for f in frames] == [min(block, N - start) for start in range(0, N, block)]
        assert all(f.schema == whole.schema for f in frames)
        assert pl.concat(frames).equals(whole)
    assert read_frame(county).equals(whole)


def test_a_mapped_file_is_read_in_blocks_too() -> None:
    expected = read_frame(CASELOAD / "households.csv", mapping=CASELOAD / "mapping.yaml")
    frames = list(read_frames(CASELOAD / "households.csv", mapping=CASELOAD / "mapping.yaml", block=4))
    assert [f.height for f in frames] == [4] * (expected.height // 4) + (
        [expected.height % 4] if expected.height % 4 else []
    )
    assert pl.concat(frames).equals(expected)


def test_an_empty_file_is_one_empty_frame(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n\n")
    frames = list(read_frames(path))
    assert len(frames) == 1 and frames[0].height == 0
    assert frames[0].schema == caseload_frame([]).schema


def test_a_bad_line_in_a_later_block_is_the_row_paths_error(county: Path, tmp_path: Path) -> None:
    line = b'{"id": "bad", "members": [{"age": 200}]}'
    path = _with_line(county, tmp_path, 450, line)
    with pytest.raises(FactsError) as expected:
        povrules.parse_household(line, f"{path}:451")
    frames = read_frames(path, block=100)
    assert sum(next(frames).height for _ in range(4)) == 400  # the blocks before it come out
    with pytest.raises(FactsError) as raised:
        next(frames)
    assert raised.value.source == f"{path}:451" and str(raised.value) == str(expected.value)


def test_a_bad_parquet_row_in_a_later_block_is_located_by_its_row(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    bad = [copy.deepcopy(row) for row in rows]
    index = next(i for i, row in enumerate(bad) if i > 300 and row.get("members"))
    bad[index]["members"][0]["age"] = 200
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(bad), path)
    with pytest.raises(FactsError) as raised:
        list(read_frames(path, block=64))
    assert raised.value.source == f"{path}:row {index + 1}"
    with pytest.raises(FactsError) as whole:
        read_frame(path)
    assert str(whole.value) == str(raised.value)


def test_a_block_below_one_is_refused(county: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        read_frames(county, block=0)


# --- decide_file ---------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [97, 10 * N])
@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_the_table_is_the_row_paths_table(
    hunan: povrules.Ruleset, county: Path, tmp_path: Path, block: int, suffix: str
) -> None:
    expected = _row_table(hunan, county, tmp_path / f"row.{suffix}")
    out = tmp_path / f"columnar.{suffix}"
    seen: list[int] = []
    report = decide_file(hunan, DECISION, county, as_of=AS_OF, output=out, block=block, progress=seen.append)
    assert out.read_bytes() == expected.read_bytes()  # the same table, byte for byte
    assert report.subjects == N and report.blocks == -(-N // block) and seen[-1] == N
    assert "undetermined" in report.outcomes  # unknown facts are in the county, and decided as unknown
    decided = pl.read_parquet(out) if suffix == "parquet" else None
    if decided is not None:
        assert decided.columns == list(COLUMNS) and decided["record_digest"].null_count() == N
        assert dict(decided["outcome"].value_counts().iter_rows()) == report.outcomes


def test_nested_parquet_and_mapped_csv_give_the_row_paths_table(
    hunan: povrules.Ruleset, county_parquet: Path, tmp_path: Path
) -> None:
    expected = _row_table(hunan, county_parquet, tmp_path / "row.csv")
    decide_file(hunan, DECISION, county_parquet, as_of=AS_OF, output=tmp_path / "columnar.csv", block=128)
    assert (tmp_path / "columnar.csv").read_bytes() == expected.read_bytes()
    mapped = {"mapping": CASELOAD / "mapping.yaml"}
    expected = _row_table(hunan, CASELOAD / "households.csv", tmp_path / "row-mapped.csv", **mapped)
    decide_file(
        hunan, DECISION, CASELOAD / "households.csv", as_of=AS_OF, output=tmp_path / "mapped.csv", block=3, **mapped
    )
    assert (tmp_path / "mapped.csv").read_bytes() == expected.read_bytes()


def test_a_bad_household_leaves_no_table_and_the_old_one_untouched(
    hunan: povrules.Ruleset, county: Path, tmp_path: Path
) -> None:
    path = _with_line(county, tmp_path, 450, b'{"id": "bad", "rural_hukou": "maybe"}')
    out = tmp_path / "decisions.parquet"
    out.write_bytes(b"the old table")
    with pytest.raises(FactsError) as raised:
        decide_file(hunan, DECISION, path, as_of=AS_OF, output=out, block=100)
    assert raised.value.source == f"{path}:451"
    assert out.read_bytes() == b"the old table"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.parquet", "with-bad.jsonl"]


def test_an_unreadable_line_after_good_blocks_leaves_nothing(
    hunan: povrules.Ruleset, county: Path, tmp_path: Path
) -> None:
    path = _with_line(county, tmp_path, 500, "\u4e2d".encode("gb18030"))
    out = tmp_path / "decisions.csv"
    with pytest.raises(CaseloadError, match=rf"{path.name}:501: the text is not UTF-8"):
        decide_file(hunan, DECISION, path, as_of=AS_OF, output=out, block=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["with-bad.jsonl"]


def test_an_empty_file_gives_an_empty_table(hunan: povrules.Ruleset, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    expected = _row_table(hunan, path, tmp_path / "row.parquet")
    report = decide_file(hunan, DECISION, path, as_of=AS_OF, output=tmp_path / "columnar.parquet")
    assert report.subjects == 0 and report.outcomes == {}
    assert pq.read_table(tmp_path / "columnar.parquet").equals(pq.read_table(expected))


def test_what_the_columnar_path_cannot_do_is_refused_before_anything_is_read(county: Path, tmp_path: Path) -> None:
    national = povrules.load_ruleset(ROOT / "rulesets" / "cn-national")
    with pytest.raises(NotSupported, match="ranking"):
        decide_file(national, "asset_income_share_priority", county, as_of=AS_OF, output=tmp_path / "t.csv")
    with pytest.raises(povrules.EvaluationError):
        decide_file(national, "no_such_decision", county, as_of=AS_OF, output=tmp_path / "t.csv")
    with pytest.raises(CaseloadError, match="extension"):
        decide_file(povrules.load_ruleset(HUNAN), DECISION, county, as_of=AS_OF, output=tmp_path / "t.txt")
    assert list(tmp_path.iterdir()) == []


# --- the command line ----------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_columnar_table_is_the_row_engines(
    capsys: pytest.CaptureFixture[str], county: Path, tmp_path: Path
) -> None:
    for engine in ("row", "columnar"):
        code, stdout, err = run(
            capsys,
            "decide",
            str(HUNAN),
            DECISION,
            str(county),
            "--as-of",
            "2021-06-30",
            "--engine",
            engine,
            "-o",
            str(tmp_path / f"{engine}.csv"),
        )
        assert code == 0 and stdout == "", err
    assert (tmp_path / "columnar.csv").read_bytes() == (tmp_path / "row.csv").read_bytes()


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["-o", "out.jsonl"], "decision table only"),
        (["--format", "text", "-o", "out.txt"], "decision table only"),
        (["--log", "decisions.log", "-o", "out.csv"], "--log is refused"),
        (["--record", "-o", "out.parquet"], "make decision records"),
        (["--workers", "2", "-o", "out.csv"], "--workers is refused"),
    ],
)
def test_cli_columnar_refuses_what_needs_the_row_engine(
    capsys: pytest.CaptureFixture[str],
    county: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    says: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(
        capsys, "decide", str(HUNAN), DECISION, str(county), "--as-of", "2021-06-30", "--engine", "columnar", *extra
    )
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_columnar_bad_line_is_located_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], county: Path, tmp_path: Path
) -> None:
    source = _with_line(county, tmp_path, 300, b'{"id": "bad", "rural_hukou": "maybe"}')
    out = tmp_path / "out.parquet"
    code, _, err = run(
        capsys,
        "decide",
        str(HUNAN),
        DECISION,
        str(source),
        "--as-of",
        "2021-06-30",
        "--engine",
        "columnar",
        "-o",
        str(out),
    )
    assert code == 2 and "with-bad.jsonl:301: invalid household facts: rural_hukou" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["with-bad.jsonl"]


def test_cli_columnar_reads_json_lines_from_standard_input(
    capsys: pytest.CaptureFixture[str], county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(county.read_bytes())))
    code, _, err = run(
        capsys,
        "decide",
        str(HUNAN),
        DECISION,
        "--jsonl",
        "--as-of",
        "2021-06-30",
        "--engine",
        "columnar",
        "-o",
        str(tmp_path / "stdin.csv"),
    )
    assert code == 0, err
    expected = _row_table(povrules.load_ruleset(HUNAN), county, tmp_path / "row.csv")
    assert (tmp_path / "stdin.csv").read_bytes() == expected.read_bytes()
