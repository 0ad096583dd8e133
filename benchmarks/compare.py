"""The cost of a what-if comparison against one plain evaluation pass, row by row and in columns.

What is measured
    For each of several real changes to ``cn-hunan-county-plan4`` (the monitoring line raised, the
    elimination floor raised, a rule dropped, a condition rewritten), on the same households:

    * one plain pass: ``evaluate_many(..., trace=False)`` under the ruleset as it is;
    * ``compare(baseline, variant, ...)``: the baseline pass plus the variant, re-evaluating only
      the rules the change reaches, with every changed household attributed;
    * the naive comparison a caller would write without it: two plain passes and a zip;
    * the columnar path over the same households as a polars frame: one plain pass
      (``frame_plan(...).decide(frame, missing=False)``) and ``compare_frame(baseline, variant,
      frame, ...)``.

    It prints households per second for each; the ratios compare / plain (the target is at most
    2.2) and naive / plain; for the columnar path compare_frame / its own plain pass, and
    compare_frame's households per second ÷ compare's; and the peak memory each comparison adds.
    A sweep of the monitoring line over several values is timed both ways too. The synthetic
    county (``povrules.synth.county``) is generated first and its time printed on its own line, as
    is the time to read the frame.

How
    Each figure is the best of N rounds (``time.perf_counter``), the garbage collector emptied
    before each, every engine run once per round in turn. The county and the variants are built
    before any timing: a variant costs milliseconds and is made once per change in practice. One
    untimed run first checks that compare's counts equal the naive comparison's, and that
    compare_frame gives the Comparison compare gives (counts and every change, over the
    households both engines decide); exit status 1 if not.

    The frame is read with ``read_frame`` from the county's JSON Lines file,
    ``.benchmarks/synth-county-N-SEED.jsonl`` (``povrules.synth.county_json``; written here if
    missing, which takes minutes for a million). The row engine runs on the first ``--row-households`` of the same county (all of
    them by default, up to 100,000: a million models would not fit in memory): its figures are
    per household, so the ratios between the two paths compare rates.

Memory
    The peak resident memory a comparison adds above the resident set before it (``VmHWM`` after,
    the high-water mark reset through ``/proc/self/clear_refs`` before), taken on the untimed
    checking run of each change. polars keeps memory it has freed for reuse, so a later change may
    show less than it would alone; the first change's figure is the fair one. Linux only.

Run ``python benchmarks/compare.py`` (``make bench-compare``); ``--households N``,
``--row-households N`` and ``--rounds N`` to change the size, ``--no-columnar`` for the row
engine alone. It is a measurement, not a test: it exits 0 whether or not the target is met.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import povrules
from povrules import compare, evaluate_many, load_ruleset, sweep
from povrules.synth import county

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".benchmarks"
AS_OF = date(2021, 6, 30)
TARGET = 2.2
ROW_MAX = 100_000  # households the row engine is given by default: models of a million do not fit


def _best(fn: Callable[[], Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _status(field: str) -> int:
    """A field of /proc/self/status, in kB."""
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _resident() -> float:
    """The resident set in MB (nan where /proc is not there)."""
    try:
        return _status("VmRSS") / 1024
    except OSError:
        return float("nan")


def _peak(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and the peak resident memory (MB) it added above the resident set before it (nan if
    the high-water mark cannot be reset)."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        before = _status("VmRSS")
    except OSError:
        return fn(), float("nan")
    result = fn()
    return result, (_status("VmHWM") - before) / 1024


def _frame(n: int, seed: int) -> tuple[Any, float]:
    """The county as a frame, read from its JSON Lines file (written first if missing), and the read's time."""
    from povrules.columnar import read_frame

    # Not benchmarks/county.py's county-N-SEED.jsonl: its larger files are copies of a smaller county
    # with prefixed ids, where the row engine's households are povrules.synth.county(N, SEED)'s prefix.
    path = WORK / f"synth-county-{n}-{seed}.jsonl"
    if not path.exists():
        from county import make_county  # benchmarks/county.py: run as a script, this folder is on the path

        WORK.mkdir(exist_ok=True)
        make_county(path, n, seed)
    start = time.perf_counter()
    frame = read_frame(path)
    return frame, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument(
        "--row-households",
        type=int,
        default=None,
        help=f"households for the row engine (default: all, up to {ROW_MAX:,})",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-columnar", action="store_true", help="the row engine alone")
    args = parser.parse_args()
    n_row = min(args.households, args.row_households or ROW_MAX)

    ruleset = load_ruleset(ROOT / "rulesets" / "cn-hunan-county-plan4")
    resident = _resident()
    start = time.perf_counter()
    households = county(n_row, args.seed)
    generated = time.perf_counter() - start
    resident = _resident() - resident

    changes: list[tuple[str, str, povrules.Ruleset]] = [
        ("monitoring line 6500 → 7000", "monitoring_type", ruleset.with_parameter("monitoring_line", 7000)),
        ("monitoring line 6500 → 7000", "focus_group", ruleset.with_parameter("monitoring_line", 7000)),
        (
            "elimination floor 5000 → 5500",
            "mark_risk_eliminated",
            ruleset.with_parameter("elimination_income_floor", 5500),
        ),
        ("without the 5000 元 floor", "mark_risk_eliminated", ruleset.without_rule("elim_income_floor")),
        (
            "edge households: income strictly below the line",
            "monitoring_type",
            ruleset.with_rule(
                "edge_vulnerable",
                when='in_monitoring_range and hh.registration.status == "general" '
                "and hh.income.per_capita_net < p.monitoring_line and hh.assessments.poverty_risk",
            ),
        ),
    ]

    print(
        f"povrules {povrules.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"synthetic county: {n_row:,} households in {generated:.2f} s "
        f"({n_row / generated:,.0f}/s), seed {args.seed}, {resident:,.0f} MB resident as models"
    )
    frame = None
    if not args.no_columnar:
        frame, read = _frame(args.households, args.seed)
        print(
            f"frame: {frame.height:,} households read in {read:.2f} s ({frame.height / read:,.0f}/s), "
            f"{frame.estimated_size() / 2**20:,.0f} MB"
        )
    print(f"best of {args.rounds} rounds; as of {AS_OF}; ruleset {ruleset.id} {ruleset.version}\n")

    failed = False
    header = (
        f"{'change':<48} {'decision':<21} {'changed':>8} {'plain/s':>10} {'compare/s':>10} {'ratio':>6} "
        f"{'naive':>6} {'peak MB':>8}"
    )
    print(f"row engine, {n_row:,} households")
    print(header)
    print("-" * len(header))
    row_rates: list[float] = []
    for name, decision, variant in changes:

        def plain() -> Any:
            return evaluate_many(households, ruleset, decision, as_of=AS_OF, trace=False)

        def naive() -> Counter[tuple[str, str]]:
            before = evaluate_many(households, ruleset, decision, as_of=AS_OF, trace=False)
            after = evaluate_many(households, variant, decision, as_of=AS_OF, trace=False)
            return Counter((b.outcome, a.outcome) for b, a in zip(before, after))

        def comparison() -> povrules.Comparison:
            return compare(ruleset, variant, households, decision, as_of=AS_OF)

        checked, peak = _peak(comparison)
        if dict(checked.counts) != dict(naive()):
            print(f"MISMATCH for {name} / {decision}: compare and the naive comparison differ", file=sys.stderr)
            failed = True
        if frame is not None:
            from povrules.columnar import compare_frame

            columnar = compare_frame(ruleset, variant, frame.head(n_row), decision, as_of=AS_OF)
            if dict(columnar.counts) != dict(checked.counts) or columnar.changes != checked.changes:
                print(f"MISMATCH for {name} / {decision}: compare_frame and compare differ", file=sys.stderr)
                failed = True
        times = {"plain": float("inf"), "compare": float("inf"), "naive": float("inf")}
        for _ in range(args.rounds):
            for key, fn in (("plain", plain), ("compare", comparison), ("naive", naive)):
                times[key] = min(times[key], _best(fn, 1))
        ratio = times["compare"] / times["plain"]
        row_rates.append(n_row / times["compare"])
        print(
            f"{name:<48} {decision:<21} {checked.changed:>8,} {n_row / times['plain']:>10,.0f} "
            f"{n_row / times['compare']:>10,.0f} {ratio:>5.2f}× {times['naive'] / times['plain']:>5.2f}× "
            f"{peak:>8,.0f}"
        )

    values = [6000, 6500, 7000, 7500, 8000]
    swept = _best(
        lambda: sweep(ruleset, "monitoring_line", values, households, "monitoring_type", as_of=AS_OF), args.rounds
    )
    plain_time = _best(
        lambda: evaluate_many(households, ruleset, "monitoring_type", as_of=AS_OF, trace=False), args.rounds
    )
    print(
        f"\nsweep of monitoring_line over {len(values)} values: {swept:.2f} s, "
        f"{swept / plain_time:.2f}× one plain pass ({swept / plain_time / len(values):.2f}× per value)"
    )
    print(f"target: compare ≤ {TARGET}× one plain pass")
    if frame is not None:
        failed = _columnar(args, frame, ruleset, changes, row_rates, values, n_row / swept) or failed
    return 1 if failed else 0


def _columnar(
    args: argparse.Namespace,
    frame: Any,
    ruleset: povrules.Ruleset,
    changes: list[tuple[str, str, povrules.Ruleset]],
    row_rates: list[float],
    values: list[int],
    row_sweep_rate: float,
) -> bool:
    """The columnar rows: compare_frame against one columnar plain pass, and against compare's rate."""
    from povrules.columnar import compare_frame, frame_plan, sweep_frame

    n = frame.height
    print(f"\ncolumnar, {n:,} households")
    header = (
        f"{'change':<48} {'decision':<21} {'changed':>8} {'plain/s':>10} {'compare/s':>10} {'ratio':>6} "
        f"{'÷ row':>6} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for (name, decision, variant), row_rate in zip(changes, row_rates):
        plan = frame_plan(ruleset, decision, AS_OF)

        def plain(plan: Any = plan) -> Any:
            return plan.decide(frame, missing=False)

        def comparison(variant: povrules.Ruleset = variant, decision: str = decision) -> povrules.Comparison:
            return compare_frame(ruleset, variant, frame, decision, as_of=AS_OF)

        checked, peak = _peak(comparison)
        times = {"plain": float("inf"), "compare": float("inf")}
        for _ in range(args.rounds):
            for key, fn in (("plain", plain), ("compare", comparison)):
                times[key] = min(times[key], _best(fn, 1))
        rate = n / times["compare"]
        print(
            f"{name:<48} {decision:<21} {checked.changed:>8,} {n / times['plain']:>10,.0f} {rate:>10,.0f} "
            f"{times['compare'] / times['plain']:>5.2f}× {rate / row_rate:>5.1f}× {peak:>8,.0f}"
        )
    swept = _best(
        lambda: sweep_frame(ruleset, "monitoring_line", values, frame, "monitoring_type", as_of=AS_OF), args.rounds
    )
    plan = frame_plan(ruleset, "monitoring_type", AS_OF)
    plain_time = _best(lambda: plan.decide(frame, missing=False), args.rounds)
    print(
        f"\nsweep_frame of monitoring_line over {len(values)} values: {swept:.2f} s, "
        f"{swept / plain_time:.2f}× one columnar plain pass, {n / swept / row_sweep_rate:.1f}× sweep's households/s"
    )
    print("÷ row: compare_frame's households per second ÷ compare's")
    return False


if __name__ == "__main__":
    sys.exit(main())
