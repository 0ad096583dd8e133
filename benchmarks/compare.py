"""The cost of a what-if comparison against one plain evaluation pass, on a synthetic county.

What is measured
    For each of several real changes to ``cn-hunan-county-plan4`` (the monitoring line raised, the
    elimination floor raised, a rule dropped, a condition rewritten), on the same households:

    * one plain pass: ``evaluate_many(..., trace=False)`` under the ruleset as it is;
    * ``compare(baseline, variant, ...)``: the baseline pass plus the variant, re-evaluating only
      the rules the change reaches, with every changed household attributed;
    * the naive comparison a caller would write without it: two plain passes and a zip.

    It prints households per second for each and the ratios compare / plain (the target is at
    most 2.2) and naive / plain. A sweep of the monitoring line over several values is timed too,
    per value. The synthetic county (``povrules.synth.county``) is generated first and its time
    printed on its own line.

How
    Each figure is the best of N rounds (``time.perf_counter``), the garbage collector emptied
    before each, every engine run once per round in turn. The county and the variants are built
    before any timing: a variant costs milliseconds and is made once per change in practice. One
    untimed run first checks that compare's counts equal the naive comparison's (exit status 1 if
    not).

Run ``python benchmarks/compare.py`` (``make bench-compare``); ``--households N`` and ``--rounds N``
to change the size. It is a measurement, not a test: it exits 0 whether or not the target is met.
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
AS_OF = date(2021, 6, 30)
TARGET = 2.2


def _best(fn: Callable[[], Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    ruleset = load_ruleset(ROOT / "rulesets" / "cn-hunan-county-plan4")
    start = time.perf_counter()
    households = county(args.households, args.seed)
    generated = time.perf_counter() - start

    changes: list[tuple[str, str, povrules.Ruleset]] = [
        ("monitoring line 6500 → 7000", "monitoring_type", ruleset.with_parameter("monitoring_line", 7000)),
        ("monitoring line 6500 → 7000", "focus_group", ruleset.with_parameter("monitoring_line", 7000)),
        ("elimination floor 5000 → 5500", "mark_risk_eliminated",
         ruleset.with_parameter("elimination_income_floor", 5500)),
        ("without the 5000 元 floor", "mark_risk_eliminated", ruleset.without_rule("elim_income_floor")),
        ("edge households: income strictly below the line", "monitoring_type", ruleset.with_rule(
            "edge_vulnerable", when='in_monitoring_range and hh.registration.status == "general" '
                                    "and hh.income.per_capita_net < p.monitoring_line and hh.assessments.poverty_risk")),
    ]

    print(f"povrules {povrules.__version__}, Python {platform.python_version()}, {platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"synthetic county: {args.households:,} households in {generated:.2f} s "
          f"({args.households / generated:,.0f}/s), seed {args.seed}")
    print(f"best of {args.rounds} rounds; as of {AS_OF}; ruleset {ruleset.id} {ruleset.version}\n")

    failed = False
    header = f"{'change':<48} {'decision':<21} {'changed':>8} {'plain/s':>10} {'compare/s':>10} {'ratio':>6} {'naive':>6}"
    print(header)
    print("-" * len(header))
    for name, decision, variant in changes:
        def plain() -> Any:
            return evaluate_many(households, ruleset, decision, as_of=AS_OF, trace=False)

        def naive() -> Counter[tuple[str, str]]:
            before = evaluate_many(households, ruleset, decision, as_of=AS_OF, trace=False)
            after = evaluate_many(households, variant, decision, as_of=AS_OF, trace=False)
            return Counter((b.outcome, a.outcome) for b, a in zip(before, after))

        def comparison() -> povrules.Comparison:
            return compare(ruleset, variant, households, decision, as_of=AS_OF)

        checked = comparison()
        if dict(checked.counts) != dict(naive()):
            print(f"MISMATCH for {name} / {decision}: compare and the naive comparison differ", file=sys.stderr)
            failed = True
        times = {"plain": float("inf"), "compare": float("inf"), "naive": float("inf")}
        for _ in range(args.rounds):
            for key, fn in (("plain", plain), ("compare", comparison), ("naive", naive)):
                times[key] = min(times[key], _best(fn, 1))
        n = args.households
        ratio = times["compare"] / times["plain"]
        print(f"{name:<48} {decision:<21} {checked.changed:>8,} {n / times['plain']:>10,.0f} "
              f"{n / times['compare']:>10,.0f} {ratio:>5.2f}× {times['naive'] / times['plain']:>5.2f}×")

    values = [6000, 6500, 7000, 7500, 8000]
    swept = _best(lambda: sweep(ruleset, "monitoring_line", values, households, "monitoring_type", as_of=AS_OF),
                  args.rounds)
    plain_time = _best(lambda: evaluate_many(households, ruleset, "monitoring_type", as_of=AS_OF, trace=False),
                       args.rounds)
    print(f"\nsweep of monitoring_line over {len(values)} values: {swept:.2f} s, "
          f"{swept / plain_time:.2f}× one plain pass ({swept / plain_time / len(values):.2f}× per value)")
    print(f"target: compare ≤ {TARGET}× one plain pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
