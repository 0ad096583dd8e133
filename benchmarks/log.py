"""Throughput of the decision log: records appended and verified per second on a 100,000-record log.

What is measured
    * ``DecisionLog.append_many`` in batches (default 1,000 records a batch): each batch is one
      locked, ``O_APPEND`` write followed by one ``fsync``;
    * ``DecisionLog.batch``: the same number of records again in one batch through ``add_json`` (the
      records' canonical JSON made beforehand, as ``make_record_json`` gives it): one lock, writes of
      about 1 MB, one ``fsync`` at the commit;
    * ``DecisionLog.append``, one record a call, on the same log once it is full (so each call
      reads the last line of a large file): one lock, one write and one ``fsync`` per record;
    * ``verify_log`` over the whole file: every line's record checked as JSON, its digest computed
      again (and a decision record's own digest), the chain followed; once on the sequential path and once as ``verify_log`` chooses (in
      worker processes, one per core, for a file above 64 MiB on a machine with more than one);
    * ``iter_log``, which does the same work and hands out the entries.

    It prints records per second for each, the file's size and bytes per record.

The records
    Real decision records: ``povrules.audit.make_record`` of the households in
    ``examples/cn-yunnan-weishan.jsonl`` decided by ``rulesets/cn-yunnan-weishan``
    (``identify_poor_household`` on two dates), used in turn. Making a record is not timed:
    this measures the log, not the engine. Without ``make_record`` (or with ``--synthetic``), synthetic
    records of about 2 KB are used instead.

How
    The log is written in a fresh temporary directory (``--dir`` to choose the file system: on
    tmpfs an ``fsync`` costs nothing, on a disk it is most of the cost of a single append). Each
    figure is one timed run (``time.perf_counter``); the garbage collector stays on.

Run ``python benchmarks/log.py`` (``make bench-log``); ``--quick`` for a smoke run. It is a
measurement, not a test, and always exits 0 unless the log fails to verify.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import povrules
from povrules.audit import log as logmodule
from povrules.audit.log import DecisionLog, iter_log, verify_log
from povrules.canonical import canonical_json

try:
    from povrules.audit import record_json
except ImportError:  # pragma: no cover
    record_json = canonical_json

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

Record = dict[str, Any]


def real_records() -> list[Record] | None:
    """Records of real decisions, or None when this version of povrules cannot make them."""
    try:
        from povrules.audit import make_record
    except ImportError:
        return None
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")
    lines = (REPO / "examples" / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()
    households = [povrules.parse_household(line) for line in lines if line]
    return [
        make_record(povrules.evaluate(h, ruleset, "identify_poor_household", as_of=as_of))
        for as_of in (date(2016, 6, 30), date(2017, 6, 30))
        for h in households
    ]


def synthetic_records(n: int = 64) -> list[Record]:
    """Records about 2 KB long, shaped like decision records (facts, a trace of a few rules)."""
    out = []
    for i in range(n):
        facts = {
            "id": f"SYN-{i:05d}",
            "village": "新村",
            "income": {"per_capita_net": str(2300 + 37 * i)},
            "members": [{"age": 30 + k, "labour_capacity": "full", "health": "healthy"} for k in range(4)],
        }
        rules = [
            {
                "id": f"rule_{k}",
                "result": "false",
                "cite": {
                    "file": "seed.md",
                    "line": 100 + k,
                    "quote": "家庭成员中有财政供养人员的不得纳入建档立卡贫困户",
                },
                "conditions": [{"expr": f"hh.members[{k}].age >= 16", "result": "true"}],
            }
            for k in range(6)
        ]
        body = {"facts": facts, "trace": {"outcome": "identified", "rules": rules}, "as_of": "2016-06-30"}
        digest = "sha256:" + hashlib.sha256(repr(body).encode()).hexdigest()
        out.append({**body, "digest": digest})
    return out


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def verify_sequential(path: Path) -> Any:
    """verify_log's sequential path, with the cycle collector off as verify_log has it."""
    sequential = getattr(logmodule, "_verify_sequential", verify_log)
    gc.disable()
    try:
        return sequential(path)
    finally:
        gc.enable()


def size_now(path: Path) -> int:
    return path.stat().st_size


def filesystem(path: Path) -> str:
    try:
        out = subprocess.run(["df", "-T", str(path)], capture_output=True, text=True, check=True).stdout
        return out.splitlines()[1].split()[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="records written with append_many")
    parser.add_argument("--batch", type=int, default=1_000, help="records per append_many call")
    parser.add_argument("--single", type=int, default=2_000, help="records written with append, one a call")
    parser.add_argument("--dir", type=Path, default=None, help="where to make the temporary directory")
    parser.add_argument("--synthetic", action="store_true", help="synthetic records even if make_record exists")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5,000 and 200 records")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.single = 5_000, 200

    pool = None if args.synthetic else real_records()
    kind = "real decision records (make_record)" if pool else "synthetic records"
    pool = pool or synthetic_records()
    average = sum(len(canonical_json(r).encode()) for r in pool) / len(pool)

    with tempfile.TemporaryDirectory(prefix="povrules-log-", dir=args.dir) as tmp:
        path = Path(tmp) / "decisions.jsonl"
        log = DecisionLog(path)
        batches = [
            [pool[(start + k) % len(pool)] for k in range(min(args.batch, args.count - start))]
            for start in range(0, args.count, args.batch)
        ]
        singles = [pool[k % len(pool)] for k in range(args.single)]

        def write_batches() -> None:
            for batch in batches:
                log.append_many(batch)

        def write_singles() -> None:
            for r in singles:
                log.append(r)

        texts = [record_json(r) for r in pool]

        def write_batch() -> None:
            with log.batch() as batch:
                for k in range(args.count):
                    batch.add_json(texts[k % len(texts)])

        t_many, _ = timed(write_batches)
        t_single, _ = timed(write_singles)
        t_batch, _ = timed(write_batch)
        t_sequential, report_sequential = timed(lambda: verify_sequential(path))
        t_verify, report = timed(lambda: verify_log(path))
        cores = logmodule._cores() if hasattr(logmodule, "_cores") else 1
        parallel = cores > 1 and size_now(path) > getattr(logmodule, "_PARALLEL_FROM", float("inf"))
        t_iter, seen = timed(lambda: sum(1 for _ in iter_log(path)))
        size = path.stat().st_size
        fs = filesystem(Path(tmp))

    total = 2 * args.count + args.single
    print(
        f"povrules {povrules.__version__} decision log, Python {platform.python_version()} "
        f"on {platform.machine()}, {os.cpu_count()} CPUs; log on {fs}"
    )
    print(f"records: {kind}, {len(pool)} distinct, {average:,.0f} bytes of record JSON on average")
    print(
        f"append_many, batches of {args.batch:,}: {args.count:,} records in {t_many:.2f} s "
        f"= {args.count / t_many:,.0f} records/s written"
    )
    print(
        f"append, one a call:            {args.single:,} records in {t_single:.2f} s "
        f"= {args.single / t_single:,.0f} records/s written"
    )
    print(
        f"batch(), add_json, one batch:  {args.count:,} records in {t_batch:.2f} s "
        f"= {args.count / t_batch:,.0f} records/s written"
    )
    print(
        f"verify_log, sequential:        {report_sequential.entries:,} records in {t_sequential:.2f} s "
        f"= {report_sequential.entries / t_sequential:,.0f} records/s verified"
    )
    how = f"in {cores} worker processes" if parallel else "sequential: one core, or a small file"
    print(
        f"verify_log ({how}): {report.entries:,} records in {t_verify:.2f} s "
        f"= {report.entries / t_verify:,.0f} records/s verified"
    )
    print(f"iter_log:                      {seen:,} records in {t_iter:.2f} s = {seen / t_iter:,.0f} records/s read")
    print(f"file: {size / 1e6:,.1f} MB, {size / total:,.0f} bytes a line")
    if not report.ok or report.entries != total or seen != total or report_sequential != report:
        print(f"the log did not verify: {report}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
