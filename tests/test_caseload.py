"""Caseloads: every format reads the example households to the same facts; errors say where; memory stays flat."""

from __future__ import annotations

import csv
import errno
import io
import os
import pickle
import subprocess
import sys
import tracemalloc
from datetime import date
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from povrules import parse_household
from povrules.caseload import (
    COLUMNS,
    MAX_LINE,
    CaseloadError,
    Item,
    load_mapping,
    open_table,
    read_caseload,
    read_chunks,
)
from povrules.errors import PovrulesError
from povrules.facts import Household

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "caseload"
MAPPING = EXAMPLES / "mapping.yaml"
JSONL = [ROOT / "examples" / "cn-yunnan-weishan.jsonl", ROOT / "examples" / "cn-hunan-county-plan4.jsonl"]


def expected() -> dict[str, Household]:
    return {h.id: h for h in (parse_household(item.data) for path in JSONL for item in read_caseload(path))}


def write_mapping(folder: Path, text: str) -> Path:
    path = folder / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_csv(folder: Path, rows: list[list[str]], name: str = "ledger.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    with open(path, "w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)
    return path


SMALL = """\
rows: member
household_id: 户编号
columns:
  户编号: id
  行政村: village
  人均纯收入（元）: income.per_capita_net
  年龄: members[].age
  劳动能力:
    fact: members[].labour_capacity
    values: {无劳动力: none, 弱劳动力: weak, 普通劳动力: full}
  是否参加基本医保:
    fact: members[].in_basic_medical_insurance
    values: {参加: true, 未参加: false}
"""
HEADER = ["户编号", "行政村", "人均纯收入（元）", "年龄", "劳动能力", "是否参加基本医保"]


# --- the same facts from every format ------------------------------------------------------------


@pytest.mark.parametrize(
    "name, mapping",
    [
        ("households.csv", MAPPING),
        ("households.xlsx", MAPPING),
        ("households-flat.parquet", MAPPING),
        ("households.parquet", None),
    ],
)
def test_every_format_reads_the_example_households_to_the_same_facts(name: str, mapping: Path | None) -> None:
    want = expected()
    items = list(read_caseload(EXAMPLES / name, mapping=mapping))
    got = {}
    for item in items:
        assert isinstance(item.data, dict)
        household = Household.model_validate(item.data)
        got[household.id] = household
    assert got == want
    assert len(items) == len(want) == 12


def test_the_examples_decide_alike(tmp_path: Path) -> None:
    from povrules import evaluate, load_ruleset

    ruleset = load_ruleset(ROOT / "rulesets" / "cn-yunnan-weishan" / "ruleset.yaml")
    decision = next(iter(ruleset.decisions))
    ledger = [Household.model_validate(i.data) for i in read_caseload(EXAMPLES / "households.xlsx", mapping=MAPPING)]
    plain = [parse_household(i.data) for i in read_caseload(JSONL[0])]
    first = [evaluate(h, ruleset, decision, as_of=date(2021, 6, 1)).outcome for h in plain]
    again = [evaluate(h, ruleset, decision, as_of=date(2021, 6, 1)).outcome for h in ledger[: len(plain)]]
    assert first == again


def test_locations_of_items() -> None:
    csv_items = list(read_caseload(EXAMPLES / "households.csv", mapping=MAPPING))
    assert csv_items[0].where == f"{EXAMPLES / 'households.csv'}:2"
    assert csv_items[1].where == f"{EXAMPLES / 'households.csv'}:4"  # WS-0101 has two member rows
    xlsx_items = list(read_caseload(EXAMPLES / "households.xlsx", mapping=MAPPING))
    assert xlsx_items[1].where == f"{EXAMPLES / 'households.xlsx'}:农户台账!4"
    assert list(read_caseload(EXAMPLES / "households.parquet"))[2].where == f"{EXAMPLES / 'households.parquet'}:row 3"


def test_jsonl_gives_raw_line_bytes_skips_blank_lines_and_reads_a_binary_stream() -> None:
    stream = io.BytesIO(b'\xef\xbb\xbf{"id": "A"}\n\n   \r\n{"id": "B"}\r\n{"id": "C"}')
    stream.name = "<stdin>"
    items = list(read_caseload(stream))
    assert items == [
        Item("<stdin>:1", b'{"id": "A"}'),
        Item("<stdin>:4", b'{"id": "B"}'),
        Item("<stdin>:5", b'{"id": "C"}'),
    ]
    assert [parse_household(i.data).id for i in items] == ["A", "B", "C"]


def test_chunks_are_lists_of_picklable_items() -> None:
    chunks = list(read_chunks(EXAMPLES / "households.csv", 5, mapping=MAPPING))
    assert [len(c) for c in chunks] == [5, 5, 2]
    assert pickle.loads(pickle.dumps(chunks[0])) == chunks[0]
    with pytest.raises(ValueError):
        read_chunks(EXAMPLES / "households.csv", 0, mapping=MAPPING)


# --- cells → facts ------------------------------------------------------------------------------------


def test_member_rows_values_and_empty_cells(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, SMALL)
    path = write_csv(
        tmp_path,
        [
            HEADER,
            ["H1", "新村", "6,120.50", "46", "普通劳动力", "参加"],
            ["H1", "新村", "6,120.50", "44", "none", ""],
            ["", "", "", "", "", ""],
            ["H2", "", "", "", "", ""],
        ],
    )
    items = list(read_caseload(path, mapping=mapping))
    assert [i.data for i in items] == [
        {
            "id": "H1",
            "village": "新村",
            "income": {"per_capita_net": "6120.50"},
            "members": [
                {"age": 46, "labour_capacity": "full", "in_basic_medical_insurance": True},
                {"age": 44, "labour_capacity": "none"},
            ],
        },
        {"id": "H2"},  # the empty cells are unknown facts, not zero or false
    ]
    assert [i.where for i in items] == [f"{path}:2", f"{path}:5"]


def test_merged_household_cells_continue_the_household(tmp_path: Path) -> None:
    """Excel ledgers merge a household's cells over its member rows: only the first row has them."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "农户台账"
    sheet.append(["某县 2021 年农户台账"])  # a title row above the headers
    sheet.append(HEADER)
    sheet.append(["H1", "新村", 6120, 46, "普通劳动力", "参加"])
    sheet.append([None, None, None, 44, "弱劳动力", "未参加"])
    sheet.append(["H2", "旧村", 5000.5, 70, "无劳动力", None])
    sheet.merge_cells("A3:A4")
    sheet.merge_cells("B3:B4")
    path = tmp_path / "ledger.xlsx"
    book.save(path)
    mapping = write_mapping(tmp_path, "header_row: 2\n" + SMALL)
    items = list(read_caseload(path, mapping=mapping))
    assert [i.where for i in items] == [f"{path}:农户台账!3", f"{path}:农户台账!5"]
    assert items[0].data["members"][1] == {"age": 44, "labour_capacity": "weak", "in_basic_medical_insurance": False}
    assert items[1].data["income"] == {"per_capita_net": "5000.5"}


def test_dates_from_date_cells_and_text(tmp_path: Path) -> None:
    mapping = write_mapping(
        tmp_path,
        "columns:\n  户编号: id\n  脱贫日期: registration.exited_on\n"
        "  研判: assessments.return_risk.value\n  研判人: assessments.return_risk.by\n"
        "  研判日期: assessments.return_risk.on\n  依据: assessments.return_risk.evidence\n",
    )
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["户编号", "脱贫日期", "研判", "研判人", "研判日期", "依据"])
    sheet.append([1001, date(2019, 12, 1), "是", "驻村第一书记 周某", "2021/5/20", "入户走访记录；村委会议记录"])
    path = tmp_path / "ledger.xlsx"
    book.save(path)
    (item,) = read_caseload(path, mapping=mapping)
    assert item.data == {
        "id": "1001",
        "registration": {"exited_on": "2019-12-01"},
        "assessments": {
            "return_risk": {
                "value": True,
                "by": "驻村第一书记 周某",
                "on": "2021-05-20",
                "evidence": ["入户走访记录", "村委会议记录"],
            }
        },
    }
    Household.model_validate(item.data)


# --- errors, each with its location ----------------------------------------------------------------------


def test_a_bad_cell_names_the_line_the_column_and_what_was_expected(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, SMALL)
    path = write_csv(
        tmp_path,
        [
            HEADER,
            ["H1", "新村", "6120", "46", "普通劳动力", "参加"],
            ["H1", "新村", "6120", "四十", "普通劳动力", "参加"],
        ],
    )
    with pytest.raises(CaseloadError) as caught:
        list(read_caseload(path, mapping=mapping))
    message = str(caught.value)
    assert message.startswith(f"{path}:3: column 年龄 (members[].age): expected a whole number from 0 to 130")
    assert "'四十'" in message and "\n" not in message
    assert isinstance(caught.value, PovrulesError)


def test_a_bad_value_word_lists_the_words(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, SMALL)
    path = write_csv(tmp_path, [HEADER, ["H1", "新村", "6120", "46", "壮劳力", "参加"]])
    with pytest.raises(CaseloadError, match=r":2: column 劳动能力 .*expected one of 无劳动力, 弱劳动力, 普通劳动力"):
        list(read_caseload(path, mapping=mapping))


def test_a_bad_excel_cell_is_named_by_its_cell_reference(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "农户台账"
    sheet.append(HEADER)
    sheet.append(["H1", "新村", "六千", 46, "普通劳动力", "参加"])
    path = tmp_path / "ledger.xlsx"
    book.save(path)
    with pytest.raises(
        CaseloadError, match=r"ledger\.xlsx:农户台账!C2: column 人均纯收入（元） \(income\.per_capita_net\)"
    ):
        list(read_caseload(path, mapping=write_mapping(tmp_path, SMALL)))


def test_an_unknown_fact_path_in_the_mapping_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, "columns:\n  户编号: id\n  人均纯收入: income.per_capita_nett\n")
    with pytest.raises(CaseloadError) as caught:
        load_mapping(mapping)
    assert str(caught.value) == (
        f"{mapping}:3:10: column '人均纯收入': unknown fact income.per_capita_nett: income has "
        "no field 'per_capita_nett'; did you mean income.per_capita_net or "
        "income.per_capita_disposable?"
    )
    mapping = write_mapping(tmp_path, "columns:\n  户编号: id\n  年龄: age\n")
    with pytest.raises(CaseloadError, match=r"mapping\.yaml:3:.*did you mean members\[\]\.age"):
        load_mapping(mapping)


@pytest.mark.parametrize(
    "text, message",
    [
        ("colums: {户编号: id}\n", r":1:1: unknown key 'colums'; did you mean columns\?"),
        ("columns:\n  是否: {fact: rural_hukou, values: {是: 1.5}}\n", r":2:.*values: '是' maps to"),
        ("columns:\n  收入: income\n", r"income is a group of facts"),
        ("columns:\n  风险: assessments.return_risk\n", r"judged fact: map its parts, assessments\.return_risk\.value"),
        ("columns:\n  年龄: {fact: members[].age}\n", r"quote a path with brackets"),
        ("columns:\n  年龄: members[].age\n", r"only members\[\] with rows: member"),
    ],
)
def test_mapping_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CaseloadError, match=message):
        load_mapping(write_mapping(tmp_path, text))


def test_a_missing_column_header_is_named(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, SMALL)
    path = write_csv(tmp_path, [["户编号", "行政村", "人均纯收入", "年龄", "劳动能力", "是否参加基本医保"]])
    with pytest.raises(CaseloadError) as caught:
        read_caseload(path, mapping=mapping)
    assert str(caught.value).startswith(
        f"{path}:1: no column '人均纯收入（元）' in the header row (the mapping names it "
        f"at {mapping}:6:13); did you mean 人均纯收入?"
    )


def test_a_household_whose_rows_are_apart_is_refused(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, [HEADER, ["H1", "", "", "46", "", ""], ["H2", "", "", "40", "", ""], ["H1", "", "", "12", "", ""]]
    )
    with pytest.raises(
        CaseloadError, match=r"ledger\.csv:4: household H1 appears again: its rows began at .*ledger\.csv:2"
    ):
        list(read_caseload(path, mapping=write_mapping(tmp_path, SMALL)))


def test_household_columns_must_agree_over_its_member_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, ["H1", "新村", "", "46", "", ""], ["H1", "旧村", "", "40", "", ""]])
    with pytest.raises(CaseloadError, match=r"ledger\.csv:3: column 行政村: '旧村' here but '新村' at .*ledger\.csv:2"):
        list(read_caseload(path, mapping=write_mapping(tmp_path, SMALL)))


def test_a_gbk_csv_is_named_as_not_utf8(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, ["H1", "新村", "6120", "46", "普通劳动力", "参加"]], encoding="gbk")
    with pytest.raises(CaseloadError, match=r"ledger\.csv:1: the text is not UTF-8 \(it looks like GBK/GB18030"):
        list(read_caseload(path, mapping=write_mapping(tmp_path, SMALL)))


def test_a_utf16_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text("户编号\nH1\n", encoding="utf-16")
    with pytest.raises(CaseloadError, match=r"ledger\.csv: the file is UTF-16; save it as UTF-8"):
        list(read_caseload(path, mapping=write_mapping(tmp_path, SMALL)))


def test_an_over_long_line_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as out:
        out.write(b'{"id": "A"}\n')
        out.write(b'{"id": "' + b"x" * MAX_LINE + b'"}\n')
    items = read_caseload(path)
    assert next(items).where.endswith(":1")
    with pytest.raises(CaseloadError, match=r"big\.jsonl:2: the line is longer than 16 MiB"):
        next(items)


def test_special_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseloadError, match=r"/dev/zero: is a device, not a regular file"):
        read_caseload("/dev/zero", format="jsonl")
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(CaseloadError, match=r"pipe\.jsonl: is a FIFO"):
        read_caseload(fifo)
    with pytest.raises(CaseloadError, match=r"nothing\.csv: no such file"):
        read_caseload(tmp_path / "nothing.csv", mapping=write_mapping(tmp_path, SMALL))
    with pytest.raises(CaseloadError, match=r"is a folder"):
        read_caseload(tmp_path, format="jsonl")


def test_formats_and_mappings_that_do_not_go_together(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER])
    with pytest.raises(CaseloadError, match="needs a mapping file"):
        read_caseload(path)
    with pytest.raises(CaseloadError, match="takes no mapping"):
        read_caseload(JSONL[0], mapping=write_mapping(tmp_path, SMALL))
    with pytest.raises(CaseloadError, match="cannot tell the format"):
        read_caseload(tmp_path / "ledger.txt")
    with pytest.raises(CaseloadError, match=r"no sheet '台账'; the sheets are 农户台账"):
        read_caseload(EXAMPLES / "households.xlsx", mapping=write_mapping(tmp_path, "sheet: 台账\n" + SMALL))


def test_a_nested_parquet_column_that_is_no_fact(tmp_path: Path) -> None:
    path = tmp_path / "h.parquet"
    pq.write_table(pa.table({"id": ["A"], "vilage": ["新村"]}), path)
    with pytest.raises(CaseloadError, match=r"column 'vilage' is not a fact of a household; did you mean village\?"):
        read_caseload(path)


def test_a_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    with pytest.raises(CaseloadError, match=r"Excel files need python-calamine: pip install 'povrules\[caseload\]'"):
        read_caseload(EXAMPLES / "households.xlsx", mapping=MAPPING)


def test_the_libraries_are_imported_only_when_needed() -> None:
    code = "import sys, povrules.caseload; print('pyarrow' in sys.modules, 'python_calamine' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- memory ---------------------------------------------------------------------------------------------


def _peak(path: Path, mapping: Path | None) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_caseload(path, mapping=mapping))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, SMALL)
    peaks = {}
    for rows in (20_000, 200_000):
        ledger = tmp_path / f"l{rows}.csv"
        lines = tmp_path / f"l{rows}.jsonl"
        with open(ledger, "w", encoding="utf-8", newline="") as out, open(lines, "w", encoding="utf-8") as jl:
            out.write(",".join(HEADER) + "\n")
            for n in range(rows // 2):  # two member rows per household
                out.write(f"H{n},新村,6120,46,普通劳动力,参加\nH{n},新村,6120,12,无劳动力,参加\n")
                jl.write(f'{{"id": "H{n}", "village": "新村", "members": [{{"age": 46}}, {{"age": 12}}]}}\n\n')
        peaks[rows] = (_peak(ledger, mapping), _peak(lines, None))
    (small_csv, small_jsonl), (large_csv, large_jsonl) = peaks[20_000], peaks[200_000]
    assert large_csv[0] == large_jsonl[0] == 100_000
    # Ten times the rows: the peak stays within a small constant (it would be ten times as large if it grew).
    assert large_csv[1] < small_csv[1] * 1.5 + 64 * 1024, peaks
    assert large_jsonl[1] < small_jsonl[1] * 1.5 + 64 * 1024, peaks
    assert large_csv[1] < 2 * 1024 * 1024


# --- decision tables ---------------------------------------------------------------------------------

ROWS = [
    {
        "id": "H1",
        "outcome": "eligible",
        "labels": ["eligible"],
        "missing": [],
        "reasons": ["r1", "r2"],
        "record_digest": "sha256:ab",
    },
    ("H2", "undetermined", ["undetermined"], ["income.per_capita_net"], [], None),
    ("H3", "not_eligible", ["not_eligible"], [], ["r3"]),
]


def test_a_parquet_table_is_committed(tmp_path: Path) -> None:
    target = tmp_path / "decisions.parquet"
    with open_table(target, row_group_size=2) as table:
        table.write(ROWS)
        assert not target.exists()
    read = pq.read_table(target)
    assert read.column_names == list(COLUMNS)
    assert read.schema.field("labels").type.value_type == pa.string()
    assert read.to_pylist()[1] == {
        "id": "H2",
        "outcome": "undetermined",
        "labels": ["undetermined"],
        "missing": ["income.per_capita_net"],
        "reasons": [],
        "record_digest": None,
        "amount": None,
    }
    assert pq.ParquetFile(target).num_row_groups == 2
    assert os.listdir(tmp_path) == ["decisions.parquet"]


def test_a_csv_table_joins_lists_with_semicolons(tmp_path: Path) -> None:
    target = tmp_path / "decisions.csv"
    table = open_table(target)
    table.write(ROWS)
    table.commit()
    text = target.read_text(encoding="utf-8-sig")
    assert text.splitlines()[:3] == [
        "id,outcome,labels,missing,reasons,record_digest,amount",
        "H1,eligible,eligible,,r1;r2,sha256:ab,",
        "H2,undetermined,undetermined,income.per_capita_net,,,",
    ]


def test_an_exception_aborts_the_table_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "decisions.parquet"
    target.write_bytes(b"the previous table")
    with pytest.raises(RuntimeError):
        with open_table(target) as table:
            table.write(ROWS)
            raise RuntimeError("the run failed")
    assert target.read_bytes() == b"the previous table"
    assert os.listdir(tmp_path) == ["decisions.parquet"]
    with pytest.raises(ValueError, match="a row needs an id"):
        with open_table(tmp_path / "d.csv") as table:
            table.write([{"outcome": "x"}])
    assert os.listdir(tmp_path) == ["decisions.parquet"]


def test_an_unwritable_folder_is_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(CaseloadError) as caught:
        open_table(tmp_path / "no" / "such" / "folder" / "decisions.parquet")
    assert (
        str(caught.value)
        == f"{tmp_path}/no/such/folder/decisions.parquet: cannot write the table (No such file or directory)"
    )
    if os.geteuid() != 0:  # the superuser writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(CaseloadError, match="Permission denied"):
            open_table(locked / "decisions.csv")


def test_a_full_disk_aborts_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "decisions.csv"
    table = open_table(target)
    table.write(ROWS)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(CaseloadError) as caught:
        table.commit()
    assert str(caught.value) == f"{target}: cannot write the table (No space left on device)"
    assert os.listdir(tmp_path) == []
