"""A county's caseload end to end through the command line, beside the floor of validating it alone.

What is measured
    A synthetic county (``povrules.synth.county_json``, about 8 KB of JSON per household) in a JSON
    Lines file, decided by ``povrules decide rulesets/cn-hunan-county-plan4 monitoring_type FILE
    --as-of 2021-06-30`` as a user would run it (a subprocess):

    * ``traces``: the trace of every household to ``-o``;
    * ``records + log``: every household's decision record to ``-o`` and appended to a fresh
      decision log as one committed batch;

    each with one worker (``--workers 1``) and with every core. Beside them, the **floor**: the same
    file only read and validated (``Household.model_validate_json`` per line), in one process and
    in one process per core — work no run can skip. It prints households per second, each run's
    ratio to the floor (one process, and the same number of processes), and the peak memory of the
    whole process tree (the sum of each process's proportional set size, sampled every 50 ms: pages
    shared after ``fork`` are counted once).

    Then the same records + log run on a county ten times as large (the 100,000 households repeated
    with new ids) for the peak memory at both sizes, and ``povrules verify-log`` on that log
    (records per second).

How
    The files are made once and kept in ``.benchmarks/`` (git-ignored); pass ``--fresh`` to make
    them again. Each figure is one timed run (``time.perf_counter`` around the subprocess). Run
    ``python benchmarks/county.py`` (``make bench-county``); ``--households N`` to change the size,
    ``--no-large`` to skip the tenfold run. It is a measurement, not a test: it exits 0 whether or
    not a target is met, and 1 only if a run fails or the outputs of one and all workers differ.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import povrules
from povrules.facts import Household
from povrules.synth import county_json
from processtree import descendants  # benchmarks/processtree.py: run as a script, this folder is on the path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = REPO / ".benchmarks"
RULESET = str(REPO / "rulesets" / "cn-hunan-county-plan4")
DECISION, AS_OF = "monitoring_type", "2021-06-30"
CORES = len(os.sched_getaffinity(0))


def make_county(path: Path, n: int, seed: int) -> None:
    import orjson

    temp = path.with_suffix(".tmp")
    with open(temp, "wb") as f:
        for household in county_json(n, seed):
            f.write(orjson.dumps(household) + b"\n")
    os.replace(temp, path)


def make_larger(source: Path, path: Path, times: int) -> None:
    """``times`` copies of a county, each copy's household ids prefixed so that every id is new."""
    temp = path.with_suffix(".tmp")
    with open(temp, "wb") as out:
        for copy in range(times):
            with open(source, "rb") as f:
                for block in iter(lambda: f.readlines(1 << 24), []):
                    out.write(b"".join(line.replace(b'{"id":"', b'{"id":"C%d-' % copy, 1) for line in block))
    os.replace(temp, path)


# The floor: read and validate, nothing else.


def _validate_range(args: tuple[str, int, int]) -> int:
    path, start, stop = args
    validate = Household.model_validate_json
    count = 0
    with open(path, "rb") as f:
        f.seek(start)
        if start:
            f.readline()  # the line cut by the range's start belongs to the range before
        while f.tell() <= stop:
            line = f.readline()
            if not line:
                break
            validate(line)
            count += 1
    return count


def floor(path: Path, processes: int) -> tuple[float, int]:
    size = path.stat().st_size
    bounds = [size * i // processes for i in range(processes + 1)]
    ranges = [(str(path), bounds[i], bounds[i + 1] - 1) for i in range(processes)]
    started = time.perf_counter()
    if processes == 1:
        count = _validate_range(ranges[0])
    else:
        with ProcessPoolExecutor(processes) as pool:
            count = sum(pool.map(_validate_range, ranges))
    return time.perf_counter() - started, count


# Peak memory of a process tree.


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakMemory(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, sum(_pss(p) for p in descendants(self.pid)))


def run(args: Sequence[str]) -> tuple[float, int]:
    """Seconds and peak memory (bytes) of one povrules command."""
    command = [str(Path(sys.executable).with_name("povrules")), *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watch = PeakMemory(process.pid)
    watch.start()
    _, err = process.communicate()
    seconds = time.perf_counter() - started
    watch.done.set()
    watch.join()
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(args)}\n{err.decode()}")
    return seconds, watch.peak


def sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-large", action="store_true", help="skip the tenfold run")
    parser.add_argument("--fresh", action="store_true", help="make the county files again")
    options = parser.parse_args()
    n = options.households
    WORK.mkdir(exist_ok=True)
    county = WORK / f"county-{n}-{options.seed}.jsonl"
    if options.fresh or not county.exists():
        started = time.perf_counter()
        make_county(county, n, options.seed)
        print(
            f"made {county.name}: {n:,} households, {county.stat().st_size / n / 1024:.1f} KB each, "
            f"{time.perf_counter() - started:.1f} s"
        )
    print(
        f"povrules {povrules.__version__}, Python {platform.python_version()}, {CORES} cores, "
        f"{n:,} households, load {os.getloadavg()[0]:.1f}"
    )
    floors = {1: floor(county, 1)[0], CORES: floor(county, CORES)[0]}
    print(f"\n{'run':<36}{'households/s':>14}{'÷ floor (1 proc)':>18}{'÷ floor (same procs)':>22}{'peak memory':>14}")
    for procs, seconds in floors.items():
        print(
            f"{f'floor: read + validate, {procs} proc':<36}{n / seconds:>14,.0f}{seconds / floors[1]:>17.2f}×"
            f"{1.0:>21.2f}×{'':>14}"
        )
    outputs: dict[tuple[str, int], str] = {}
    results = {}
    for label, extra in (("traces", []), ("records + log", ["--record", "--log", "{log}"])):
        for workers in (1, CORES):
            out = WORK / f"out-{n}-{workers}.jsonl"
            log = WORK / f"log-{n}-{workers}.jsonl"
            log.unlink(missing_ok=True)
            args = [
                "decide",
                RULESET,
                DECISION,
                str(county),
                "--as-of",
                AS_OF,
                "-o",
                str(out),
                "--workers",
                str(workers),
                *[a.replace("{log}", str(log)) for a in extra],
            ]
            seconds, peak = run(args)
            results[(label, workers)] = (seconds, peak)
            outputs[(label, workers)] = sha(out)
            print(
                f"{f'{label}, {workers} worker(s)':<36}{n / seconds:>14,.0f}{seconds / floors[1]:>17.2f}×"
                f"{seconds / floors[min(workers, CORES)]:>21.2f}×{peak / 2**20:>11,.0f} MB"
            )
            out.unlink()
            if workers == CORES and label == "records + log":
                started = time.perf_counter()
                subprocess.run(
                    [str(Path(sys.executable).with_name("povrules")), "verify-log", str(log)],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                seconds = time.perf_counter() - started
                print(f"{'verify-log':<36}{n / seconds:>14,.0f} records/s")
            log.unlink(missing_ok=True)
    same = all(outputs[(label, 1)] == outputs[(label, CORES)] for label in ("traces", "records + log"))
    print(f"\noutputs of 1 and {CORES} workers byte-identical: {'yes' if same else 'NO'}")
    if not options.no_large:
        large = WORK / f"county-{10 * n}-{options.seed}.jsonl"
        if options.fresh or not large.exists():
            make_larger(county, large, 10)
        log = WORK / f"log-{10 * n}.jsonl"
        log.unlink(missing_ok=True)
        out = WORK / f"out-{10 * n}.jsonl"
        seconds, peak = run(
            [
                "decide",
                RULESET,
                DECISION,
                str(large),
                "--as-of",
                AS_OF,
                "-o",
                str(out),
                "--record",
                "--log",
                str(log),
                "--workers",
                str(CORES),
            ]
        )
        small = results[("records + log", CORES)][1]
        print(
            f"records + log, {CORES} workers, {10 * n:,} households: {10 * n / seconds:,.0f} households/s, "
            f"peak memory {peak / 2**20:,.0f} MB ({peak / small:.2f}× the {n:,}-household run's "
            f"{small / 2**20:,.0f} MB)"
        )
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).with_name("povrules")), "verify-log", str(log)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        print(f"verify-log, {10 * n:,} records: {10 * n / seconds:,.0f} records/s")
        out.unlink()
        log.unlink()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
