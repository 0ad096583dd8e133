"""Cost per household of making decision records: validation, evaluation, trace, digests, record JSON.

Synthetic Hunan plan-4 households (``povrules.synth.county_json``, about 8 KB each) decided by
``rulesets/cn-hunan-county-plan4`` (``monitoring_type`` as of 2021-06-30). Each step runs over the
same households, with the garbage collector off; the figures are microseconds per household,
the best of ``--repeat`` runs.

The v1 steps (``version=1``) are the records made before v2, for the ratio printed at the end.
Run ``python benchmarks/records.py``; ``--profile STEP`` prints a cProfile of one step instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson

import povrules
from povrules import synth
from povrules.audit import make_record, make_record_json, record_json
from povrules.facts import Household

REPO = Path(__file__).resolve().parent.parent
AS_OF = date(2021, 6, 30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", default=None, help="a step to profile (its name as printed)")
    args = parser.parse_args(argv)

    from povrules.canonical import canonical_json, facts_digest
    from povrules.trace import to_trace

    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-hunan-county-plan4")
    texts = [orjson.dumps(d) for d in synth.county_json(args.count, 7)]
    households = [Household.model_validate_json(t) for t in texts]
    decisions = [povrules.evaluate(h, ruleset, "monitoring_type", as_of=AS_OF, trace=True) for h in households]
    traces = [to_trace(d) for d in decisions]
    records = [make_record(d) for d in decisions]

    steps: dict[str, Callable[[], Any]] = {
        "validate_json": lambda: [Household.model_validate_json(t) for t in texts],
        "evaluate(trace)": lambda: [
            povrules.evaluate(h, ruleset, "monitoring_type", as_of=AS_OF, trace=True) for h in households
        ],
        "to_trace": lambda: [to_trace(d) for d in decisions],
        "to_trace(v1)": lambda: [to_trace(d, version=1) for d in decisions],
        "canonical_json(trace)": lambda: [canonical_json(t) for t in traces],
        "facts_digest": lambda: [facts_digest(h) for h in households],
        "make_record": lambda: [make_record(d) for d in decisions],
        "record_json": lambda: [record_json(r) for r in records],
        "make_record+record_json": lambda: [record_json(make_record(d)) for d in decisions],
        "make_record_json": lambda: [make_record_json(d) for d in decisions],
        "make_record_json(v1)": lambda: [make_record_json(d, version=1) for d in decisions],
        "make_record_json(digest)": lambda: [make_record_json(d, facts="digest") for d in decisions],
    }
    gc.disable()
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(steps[args.profile])
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
        return 0
    size = sum(len(t) for t in texts) / len(texts)
    print(f"povrules {povrules.__version__}: {args.count:,} households of {size:,.0f} bytes, best of {args.repeat}")
    best: dict[str, float] = {}
    for name, step in steps.items():
        best[name] = min(_timed(step) for _ in range(args.repeat))
        print(f"  {name:<26} {best[name] / args.count * 1e6:8.1f} µs")
    # v2 records hold each condition's structure and the titles of what it shows: what that costs over v1.
    v1 = sum(len(make_record_json(d, version=1)) for d in decisions) / len(decisions)
    v2 = sum(len(make_record_json(d)) for d in decisions) / len(decisions)
    print(
        f"record v2 / v1: time {best['make_record_json'] / best['make_record_json(v1)']:.2f}×, "
        f"bytes {v2:,.0f} / {v1:,.0f} = {v2 / v1:.2f}×"
    )
    return 0


def _timed(step: Callable[[], Any]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
