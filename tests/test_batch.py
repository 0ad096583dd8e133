"""Batch decisions over a caseload: one worker or many give the same bytes; a bad subject leaves nothing."""

from __future__ import annotations

import io
import json
import pickle
from datetime import date
from pathlib import Path

import orjson
import pytest

import povrules
from povrules.audit import DecisionLog, iter_log, verify_log
from povrules.batch import BatchError, decide_caseload
from povrules.caseload import Item
from povrules.cli import main
from povrules.synth import county_json

ROOT = Path(__file__).resolve().parents[1]
HUNAN = ROOT / "rulesets" / "cn-hunan-county-plan4"
YINGKOU = ROOT / "rulesets" / "cn-liaoning-yingkou"
AS_OF = date(2021, 6, 30)
DECISION = "monitoring_type"


@pytest.fixture(scope="module")
def hunan() -> povrules.Ruleset:
    return povrules.load_ruleset(HUNAN)


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    """600 synthetic households, some with unknown facts, as JSON Lines."""
    path = tmp_path_factory.mktemp("county") / "county.jsonl"
    path.write_bytes(b"".join(orjson.dumps(h) + b"\n" for h in county_json(600, 7)))
    return path


@pytest.mark.parametrize("write", ["trace", "record", "text"])
def test_one_worker_and_two_give_the_same_bytes(hunan, county, tmp_path, write):
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"{write}-{workers}.out"
        report = decide_caseload(
            hunan, DECISION, county, as_of=AS_OF, output=out, write=write, workers=workers, chunk=64
        )
        assert report.subjects == 600 and report.workers == workers
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n\n" if write == "text" else b"\n") == 600


def test_the_output_is_what_evaluate_gives_one_by_one(hunan, county, tmp_path):
    out = tmp_path / "traces.jsonl"
    decide_caseload(hunan, DECISION, county, as_of=AS_OF, output=out, workers=2, chunk=50)
    expected = [
        povrules.evaluate(povrules.parse_household(line), hunan, DECISION, as_of=AS_OF).to_json()
        for line in county.read_bytes().splitlines()
    ]
    assert out.read_text(encoding="utf-8").splitlines() == expected


def test_records_go_to_the_log_as_one_committed_batch(hunan, county, tmp_path):
    log, out = tmp_path / "decisions.log", tmp_path / "records.jsonl"
    DecisionLog(log).append({"note": "an entry before the batch"})
    report = decide_caseload(
        hunan, DECISION, county, as_of=AS_OF, output=out, write="record", log=log, workers=2, chunk=64
    )
    assert verify_log(log).ok
    logged = [entry.record for entry in iter_log(log)]
    assert logged[0] == {"note": "an entry before the batch"} and len(logged) == 601
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert logged[1:] == written
    assert (report.first_seq, report.last_seq) is not None and report.subjects == 600
    assert sum(report.outcomes.values()) == 600


def _with_bad_line(county: Path, tmp_path: Path, at: int, bad: bytes) -> Path:
    lines = county.read_bytes().splitlines()
    lines.insert(at, bad)
    path = tmp_path / "with-bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_a_bad_household_in_the_middle_leaves_no_output_and_no_log_entry(hunan, county, tmp_path, workers):
    source = _with_bad_line(county, tmp_path, 400, b'{"id": "bad", "members": [{"age": 200}]}')
    log, out = tmp_path / "decisions.log", tmp_path / "records.jsonl"
    DecisionLog(log).append({"note": "kept"})
    before = log.read_bytes()
    with pytest.raises(BatchError) as caught:
        decide_caseload(
            hunan, DECISION, source, as_of=AS_OF, output=out, write="record", log=log, workers=workers, chunk=64
        )
    assert caught.value.where == f"{source}:401"
    assert "members[0].age: expected less than or equal to 130, got 200" in str(caught.value)
    assert log.read_bytes() == before and verify_log(log).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.log", "with-bad.jsonl"]


def test_a_table_has_one_row_per_household(hunan, county, tmp_path):
    pyarrow = pytest.importorskip("pyarrow.parquet")
    tables = {}
    for workers in (1, 2):
        out = tmp_path / f"decisions-{workers}.parquet"
        decide_caseload(hunan, DECISION, county, as_of=AS_OF, output=out, write="table", workers=workers, chunk=64)
        tables[workers] = pyarrow.read_table(out).to_pylist()
    assert tables[1] == tables[2] and len(tables[1]) == 600
    first = povrules.evaluate(
        povrules.parse_household(county.read_bytes().splitlines()[0]), hunan, DECISION, as_of=AS_OF
    )
    row = tables[1][0]
    assert row["id"] == first.facts.id and row["outcome"] == first.outcome
    assert row["labels"] == list(first.labels) and row["missing"] == list(first.missing)
    assert row["reasons"] == list(first.reasons) and row["record_digest"] is None


def test_a_table_with_records_carries_each_records_digest(hunan, county, tmp_path):
    pyarrow = pytest.importorskip("pyarrow.parquet")
    out, log = tmp_path / "decisions.parquet", tmp_path / "decisions.log"
    decide_caseload(hunan, DECISION, county, as_of=AS_OF, output=out, write="table", log=log, workers=2, chunk=64)
    digests = [row["record_digest"] for row in pyarrow.read_table(out).to_pylist()]
    assert digests == [entry.record["digest"] for entry in iter_log(log)]


def test_an_evaluation_error_names_the_line_and_the_household(tmp_path):
    """灵寿 adds a year to the date from which income is stable: past the calendar's end it cannot be
    decided, and the batch says which household, on which line."""
    lingshou = povrules.load_ruleset(ROOT / "rulesets" / "cn-hebei-lingshou")
    judged = {"value": True, "by": "村第一书记 王某", "on": "2021-03-01"}
    failing = {
        "id": "LS-2",
        "monitoring": {"status": "monitored", "income_stable_since": "9999-12-01"},
        "assessments": {"risk_eliminated": judged, "income_stable": judged},
    }
    good = next(iter(county_json(1, 4)))
    source = tmp_path / "lingshou.jsonl"
    source.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(failing) + b"\n")
    with pytest.raises(BatchError) as caught:
        decide_caseload(
            lingshou, "mark_risk_eliminated", source, as_of=date(2022, 6, 30), output=tmp_path / "out.jsonl"
        )
    assert caught.value.where == f"{source}:2"
    assert "household 'LS-2': cannot be decided" in str(caught.value)
    assert "outside the calendar" in str(caught.value)
    assert list(tmp_path.iterdir()) == [source]


def test_a_household_of_nobody_is_refused_before_any_division(tmp_path):
    """营口 divides by the number of members: a household with none is refused when it is read."""
    good = next(iter(county_json(1, 4)))
    source = tmp_path / "yingkou.jsonl"
    source.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(dict(good, members=[])) + b"\n")
    with pytest.raises(BatchError) as caught:
        decide_caseload(
            povrules.load_ruleset(YINGKOU),
            "identify_monitoring_object",
            source,
            as_of=date(2022, 6, 30),
            output=tmp_path / "out.jsonl",
        )
    assert caught.value.where == f"{source}:2"
    assert "members: expected at least one member" in str(caught.value)
    assert list(tmp_path.iterdir()) == [source]


def test_items_and_streams_are_caseloads_too(hunan, county, tmp_path):
    lines = county.read_bytes().splitlines()[:30]
    from_items = io.BytesIO()
    decide_caseload(
        hunan, DECISION, [Item(f"mem:{i}", line) for i, line in enumerate(lines, 1)], as_of=AS_OF, output=from_items
    )
    from_stream = io.BytesIO()
    decide_caseload(hunan, DECISION, io.BytesIO(b"\n".join(lines) + b"\n"), as_of=AS_OF, output=from_stream)
    assert from_items.getvalue() == from_stream.getvalue() and from_items.getvalue().count(b"\n") == 30


def test_bad_arguments(hunan, county):
    with pytest.raises(povrules.EvaluationError, match="has no decision 'monitoring_typ'"):
        decide_caseload(hunan, "monitoring_typ", county, as_of=AS_OF)
    with pytest.raises(ValueError, match="workers"):
        decide_caseload(hunan, DECISION, county, as_of=AS_OF, workers=0)
    with pytest.raises(ValueError, match="write must be"):
        decide_caseload(hunan, DECISION, county, as_of=AS_OF, write="html")  # type: ignore[arg-type]


def test_the_report_pickles_and_counts(hunan, county):
    report = decide_caseload(hunan, DECISION, county, as_of=AS_OF, workers=1)
    assert report.subjects == 600 and report.output is None and report.rate > 0
    assert pickle.loads(pickle.dumps(report)) == report


CASELOAD = ROOT / "examples" / "caseload"


@pytest.mark.parametrize(
    ("ruleset", "decision", "as_of"),
    [
        ("cn-yunnan-weishan", "identify_poor_household", date(2016, 6, 30)),
        ("cn-hunan-county-plan4", "monitoring_type", AS_OF),
    ],
)
@pytest.mark.parametrize(
    ("name", "mapping"),
    [
        ("households.csv", "mapping.yaml"),
        ("households.xlsx", "mapping.yaml"),
        ("households-flat.parquet", "mapping.yaml"),
        ("households.parquet", None),
    ],
)
def test_every_input_format_decides_the_example_households_as_json_lines_does(
    tmp_path, ruleset, decision, as_of, name, mapping
):
    rs = povrules.load_ruleset(ROOT / "rulesets" / ruleset)
    jsonl = tmp_path / "examples.jsonl"
    jsonl.write_bytes(
        b"".join(
            (ROOT / "examples" / f"{source}.jsonl").read_bytes()
            for source in ("cn-yunnan-weishan", "cn-hunan-county-plan4")
        )
    )
    expected, got = io.BytesIO(), io.BytesIO()
    decide_caseload(rs, decision, jsonl, as_of=as_of, output=expected, write="record")
    decide_caseload(
        rs,
        decision,
        CASELOAD / name,
        as_of=as_of,
        output=got,
        write="record",
        mapping=CASELOAD / mapping if mapping else None,
    )
    by_id = lambda data: {json.loads(line)["facts"]["id"]: line for line in data.splitlines()}  # noqa: E731
    assert len(by_id(expected.getvalue())) == 12 and by_id(got.getvalue()) == by_id(expected.getvalue())


# --- the command line ----------------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_workers_give_the_same_output(capsys, county, tmp_path):
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out-{workers}.jsonl"
        code, _, err = run(
            capsys,
            "decide",
            str(HUNAN),
            DECISION,
            str(county),
            "--as-of",
            "2021-06-30",
            "--record",
            "--workers",
            workers,
            "-o",
            str(out),
        )
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b"\n") == 600


def test_cli_table_from_the_output_extension(capsys, county, tmp_path):
    out = tmp_path / "decisions.csv"
    code, stdout, err = run(
        capsys, "decide", str(HUNAN), DECISION, str(county), "--as-of", "2021-06-30", "-o", str(out)
    )
    assert code == 0 and stdout == "", err
    rows = out.read_text(encoding="utf-8-sig").splitlines()  # with a BOM, so that Excel reads it as UTF-8
    assert rows[0].split(",")[:2] == ["id", "outcome"] and len(rows) == 601


def test_cli_table_needs_a_file(capsys, county):
    code, _, err = run(
        capsys, "decide", str(HUNAN), DECISION, str(county), "--as-of", "2021-06-30", "--format", "parquet"
    )
    assert code == 2 and "-o FILE.parquet" in err


def test_cli_bad_row_writes_nothing_and_logs_nothing(capsys, county, tmp_path):
    source = _with_bad_line(county, tmp_path, 300, b'{"id": "bad", "rural_hukou": "maybe"}')
    out, log = tmp_path / "out.jsonl", tmp_path / "decisions.log"
    code, _, err = run(
        capsys,
        "decide",
        str(HUNAN),
        DECISION,
        str(source),
        "--as-of",
        "2021-06-30",
        "--log",
        str(log),
        "-o",
        str(out),
        "--workers",
        "2",
    )
    assert code == 2 and "with-bad.jsonl:301: invalid household facts: rural_hukou" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and (not log.exists() or log.read_bytes() == b"")


def test_cli_bad_workers(capsys, county):
    code, _, err = run(capsys, "decide", str(HUNAN), DECISION, str(county), "--as-of", "2021-06-30", "--workers", "0")
    assert code == 2 and "--workers: expected 1 or more" in err


# --- a writer killed at random points -------------------------------------------------------------


def test_a_batch_killed_at_random_points_leaves_a_log_that_verifies_with_the_batch_whole_or_absent(tmp_path):
    """SIGKILL (no clean-up runs) at 20 points of a 1,500-household ``decide --log`` run, on one log."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    source = tmp_path / "county.jsonl"
    source.write_bytes(b"".join(orjson.dumps(h) + b"\n" for h in county_json(1500, 11)))
    log = tmp_path / "decisions.log"
    povrules_command = str(Path(sys.executable).with_name("povrules"))
    rng = random.Random(20261205)
    counts, outcomes = [0], {"whole": 0, "absent": 0}
    for point in range(20):
        before = counts[-1]
        process = subprocess.Popen(
            [
                povrules_command,
                "decide",
                str(HUNAN),
                DECISION,
                str(source),
                "--as-of",
                "2021-06-30",
                "--log",
                str(log),
                "--workers",
                "2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.2, 0.8))
        os.killpg(process.pid, signal.SIGKILL)  # the parent and its workers, as a crash would
        process.wait()
        report = verify_log(log) if log.exists() else None
        assert report is None or report.ok, f"kill point {point}: {report}"
        after = report.entries if report is not None else 0
        assert after in (before, before + 1500), f"kill point {point}: {before} → {after} records"
        outcomes["whole" if after == before + 1500 else "absent"] += 1
        counts.append(after)
    # the next writer cuts what a killed batch left and appends after it
    DecisionLog(log).append({"note": "after the kills"})
    assert verify_log(log).ok and verify_log(log).entries == counts[-1] + 1
    assert outcomes["absent"] > 0  # the kills did land mid-batch


def test_cli_records_by_digest_replay_with_the_facts_given_back(capsys, tmp_path):
    source = ROOT / "examples" / "cn-hunan-county-plan4.jsonl"
    out = tmp_path / "records.jsonl"
    code, _, err = run(
        capsys,
        "decide",
        str(HUNAN),
        DECISION,
        str(source),
        "--as-of",
        "2021-06-30",
        "--facts-by-digest",
        "-o",
        str(out),
    )
    assert code == 0, err
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 5 and all("facts" not in r and r["facts_ref"] == "digest" for r in records)
    record, facts = tmp_path / "record.json", tmp_path / "facts.json"
    record.write_text(out.read_text(encoding="utf-8").splitlines()[0], encoding="utf-8")
    facts.write_text(source.read_text(encoding="utf-8").splitlines()[0], encoding="utf-8")
    code, stdout, err = run(capsys, "replay", str(record), "--store", str(ROOT / "rulesets"), "--facts", str(facts))
    assert code == 0 and "identical" in stdout.lower(), err
    code, _, err = run(capsys, "replay", str(record), "--store", str(ROOT / "rulesets"))
    assert code == 2 and "give them back" in err
    other = json.loads(facts.read_text(encoding="utf-8"))
    other["id"] = "someone-else"
    facts.write_text(json.dumps(other), encoding="utf-8")
    code, _, err = run(capsys, "replay", str(record), "--store", str(ROOT / "rulesets"), "--facts", str(facts))
    assert code == 2 and "facts_digest" in err


def test_workers_started_afresh_get_the_ruleset_pickled_and_give_the_same_bytes(hunan, county, tmp_path, monkeypatch):
    """Where fork is unsafe (a process with threads) or missing, workers start afresh: same bytes."""
    import multiprocessing

    import povrules.batch

    forked = tmp_path / "forked.jsonl"
    decide_caseload(hunan, DECISION, county, as_of=AS_OF, output=forked, workers=2, chunk=100)
    monkeypatch.setattr(povrules.batch, "start_context", lambda: multiprocessing.get_context("spawn"))
    spawned = tmp_path / "spawned.jsonl"
    decide_caseload(
        hunan.with_parameter("monitoring_line", 7000),
        DECISION,
        county,
        as_of=AS_OF,
        output=spawned,
        workers=2,
        chunk=100,
    )
    variant = tmp_path / "variant.jsonl"
    decide_caseload(
        hunan.with_parameter("monitoring_line", 7000), DECISION, county, as_of=AS_OF, output=variant, workers=1
    )
    assert spawned.read_bytes() == variant.read_bytes() != forked.read_bytes()


def test_processes_fork_only_without_other_threads():
    import threading

    from povrules.processes import cores, start_context

    assert cores() >= 1
    assert start_context().get_start_method() == ("fork" if threading.active_count() == 1 else "forkserver")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert start_context().get_start_method() == "forkserver"
    finally:
        stop.set()
        thread.join()


def test_batches_in_threads_share_nothing(hunan, county, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    rulesets = [hunan, hunan.with_parameter("monitoring_line", 7000)] * 2

    def run_one(index: int) -> bytes:
        out = io.BytesIO()
        decide_caseload(rulesets[index], DECISION, county, as_of=AS_OF, output=out, workers=1, chunk=50)
        return out.getvalue()

    alone = [run_one(i) for i in range(2)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(run_one, range(4)))
    assert together == alone * 2 and alone[0] != alone[1]
