"""A caseload file to its decision table: the columnar engine block by block, beside the row engine.

What is measured
    A synthetic Hunan county (``povrules.synth.county_json``, about 8 KB of JSON per household) in a
    JSON Lines file, at two sizes (100,000 and 1,000,000 households by default), decided for
    ``monitoring_type`` of ``rulesets/cn-hunan-county-plan4`` as of 2021-06-30 into a Parquet
    decision table by:

    * ``columnar``: ``povrules.columnar.decide_file`` (read a block, decide it with one
      ``FramePlan``, append it to the table), in one process;
    * ``row``: ``povrules.batch.decide_caseload(write="table", workers=2)``, the row engine's stream;
    * ``whole frame`` (the smaller size only, for contrast): ``read_frame`` of the whole file, then
      ``FramePlan.decide`` of it — what the columnar path cost before it read in blocks.

    For each: households per second, and memory. Each run is a fresh subprocess; the parent samples
    every 50 ms the summed resident set (RSS) of the subprocess and every process under it
    (``benchmarks/processtree.py``) and keeps the peak; the subprocess also reports its own
    high-water mark (``ru_maxrss``) and its resident set after imports and set-up, before reading
    (the baseline the run grows from). Bounded memory shows as the same peak at both sizes.

How
    The files are made once and kept in ``.benchmarks/`` (git-ignored; ``--fresh`` makes them
    again). Each figure is one timed run (``time.perf_counter`` inside the subprocess, around the
    call). The columnar and row tables of each size must be equal (exit status 1 if not). Run
    ``python benchmarks/columnar_stream.py`` (``make bench-columnar-stream``); ``--sizes`` to change
    the sizes, ``--block`` the columnar block. It is a measurement, not a test: it exits 0 whether or
    not a figure is good, and 1 only if a run fails or the tables differ.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from processtree import descendants  # benchmarks/processtree.py: run as a script, this folder is on the path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = REPO / ".benchmarks"
RULESET = REPO / "rulesets" / "cn-hunan-county-plan4"
DECISION, AS_OF = "monitoring_type", date(2021, 6, 30)
SEED = 1
RUNNERS = ("columnar", "row", "whole frame")


def make_county(path: Path, n: int) -> None:
    """``n`` synthetic households as JSON Lines, written to a temporary file renamed into place."""
    import orjson

    from povrules.synth import county_json

    temp = path.with_suffix(".tmp")
    with open(temp, "wb") as f:
        f.writelines(orjson.dumps(household) + b"\n" for household in county_json(n, SEED))
    os.replace(temp, path)


def _rss() -> int:
    """This process's resident set, in bytes."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def runner(name: str, source: str, output: str, block: int) -> dict[str, Any]:
    """One run in this process: set up, then time the call. Returns the figures."""
    import povrules

    ruleset = povrules.load_ruleset(RULESET)
    if name == "row":
        from povrules.batch import decide_caseload

        decide_caseload(
            ruleset, DECISION, [], as_of=AS_OF, output=output, write="table", workers=1
        )  # imports, compiles
        start_rss = _rss()
        started = time.perf_counter()
        report = decide_caseload(ruleset, DECISION, source, as_of=AS_OF, output=output, write="table", workers=2)
        seconds, subjects = time.perf_counter() - started, report.subjects
    elif name == "columnar":
        from povrules.columnar import decide_file, frame_plan

        frame_plan(ruleset, DECISION, AS_OF)  # imports polars and the translator
        start_rss = _rss()
        started = time.perf_counter()
        done = decide_file(ruleset, DECISION, source, as_of=AS_OF, output=output, block=block)
        seconds, subjects = time.perf_counter() - started, done.subjects
    else:
        from povrules.columnar import frame_plan, read_frame

        plan = frame_plan(ruleset, DECISION, AS_OF)
        start_rss = _rss()
        started = time.perf_counter()
        decided = plan.decide(read_frame(source), missing=True)
        seconds, subjects = time.perf_counter() - started, decided.height
        decided.write_parquet(output)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "seconds": seconds,
        "subjects": subjects,
        "start_rss": start_rss,
        "self_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "child_peak": children,
    }


class PeakRss(threading.Thread):
    """The peak of the summed resident set of a process and every process under it, sampled."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            total = 0
            for pid in descendants(self.pid):
                try:
                    with open(f"/proc/{pid}/statm", "rb") as f:
                        total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                except OSError:
                    pass  # gone while sampling
            self.peak = max(self.peak, total)


def measure(name: str, source: Path, output: Path, block: int) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--runner",
        name,
        "--input",
        str(source),
        "--output",
        str(output),
        "--block",
        str(block),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watch = PeakRss(process.pid)
    watch.start()
    out, err = process.communicate()
    watch.done.set()
    watch.join()
    if process.returncode != 0:
        raise SystemExit(f"{name} on {source.name} failed:\n{err.decode(errors='replace')}")
    figures: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    figures["tree_peak"] = watch.peak
    return figures


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--block", type=int, default=None, help="the columnar block (default: read_frames' own)")
    parser.add_argument("--fresh", action="store_true", help="make the caseload files again")
    parser.add_argument("--runner", choices=RUNNERS, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.block is None:
        from povrules.columnar.frame import BLOCK

        args.block = BLOCK
    if args.runner:
        print(json.dumps(runner(args.runner, args.input, args.output, args.block)))
        return 0

    import pyarrow.parquet as pq

    WORK.mkdir(exist_ok=True)
    print(f"# columnar stream: Hunan {DECISION} as of {AS_OF}, JSON Lines → Parquet table; block {args.block}")
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, "
        f"{platform.machine()}"
    )
    print(
        f"{'households':>10}  {'engine':<24} {'seconds':>8} {'hh/s':>8} {'start MiB':>9} {'peak MiB':>9} "
        f"{'tree peak MiB':>13}"
    )
    status = 0
    smallest = min(args.sizes)
    for n in args.sizes:
        source = WORK / f"columnar-stream-hunan-{n}-{SEED}.jsonl"
        if args.fresh or not source.exists():
            print(f"# making {source.name} …", flush=True)
            make_county(source, n)
        tables = {}
        for name in RUNNERS:
            if name == "whole frame" and n != smallest:
                continue
            output = WORK / f"columnar-stream-{name.replace(' ', '-')}-{n}.parquet"
            got = measure(name, source, output, args.block)
            label = {
                "columnar": "columnar decide_file",
                "row": "row decide_caseload, 2 w",
                "whole frame": "read_frame + decide",
            }[name]
            peak = got["self_peak"] if name != "row" else got["self_peak"] + 2 * got["child_peak"]
            print(
                f"{got['subjects']:>10,}  {label:<24} {got['seconds']:>8.1f} {got['subjects'] / got['seconds']:>8,.0f} "
                f"{_mib(got['start_rss']):>9} {_mib(peak):>9} {_mib(got['tree_peak']):>13}",
                flush=True,
            )
            if got["subjects"] != n:
                print(f"!! {name} decided {got['subjects']} of {n}")
                status = 1
            tables[name] = pq.read_table(output)
            output.unlink()
        columnar, row = tables["columnar"], tables["row"]
        if not columnar.equals(row):
            print(f"!! the columnar and row tables of {n} households differ")
            status = 1
        if "whole frame" in tables and tables["whole frame"]["outcome"].to_pylist() != row["outcome"].to_pylist():
            print(f"!! the whole frame's outcomes of {n} households differ from the row engine's")
            status = 1
    print(
        "# peak MiB: the process's ru_maxrss (row: the parent's plus twice the largest worker's, an upper bound);"
        " tree peak: the summed RSS of the process tree sampled every 50 ms (pages shared after fork count twice)"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
