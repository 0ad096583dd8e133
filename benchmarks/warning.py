"""The early-warning stream at county scale: department events per second, warnings, peak memory, the
reference check, and a bare durable-rules correlation for scale.

Each run is a child process (peak memory is the child's own high-water mark, ``ru_maxrss``):

* ``bare``: a durable-rules ruleset correlating two event kinds on the household id, in one session:
  the engine's own speed on this machine;
* ``stream``: ``--events`` synthetic events (``povrules.warning.synth``) over ``--households`` households
  through the stream of 灵寿's screening, five records per household a year (two years for 1M events); the
  time counted is the stream's (the events are made outside it). Villages verify each case 10 working days after its warning (one in ten 30 days, after it went
  overdue), through the plan's identify_monitoring_object; the reference check runs over every
  ``--sample``-th household's events and must agree exactly;
* the same stream with twice the events (twice the days at the same rate): its peak memory must stay
  within 10 % of the first, as the stream keeps state only for open windows and cases.

Run ``python benchmarks/warning.py`` (``make bench-warning``); ``--events 20000 --households 2000`` for a
quick look. Figures on a shared machine are noisy: compare the ratio of stream to bare, taken in one run.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import povrules
from povrules.workdays import add_working_days

REPO = Path(__file__).resolve().parent.parent
# Five department records per household a year: 1,000,000 events over 100,000 households span two years,
# past the 12-month windows (and the 2 months of lateness), so that the first run already holds the state a
# longer stream holds, and the second run (four years) shows whether it stays there.
SYNTH: dict[str, Any] = {"seed": 11, "per_household_per_year": 5.0, "start": date(2020, 1, 1)}


def bare(events: int, households: int, scattered: int = 0) -> dict[str, Any]:
    """Two kinds correlated on the household id in one durable-rules session.

    By default each household's two events come one after the other, so each pair completes at once and
    durable-rules holds nothing between them. ``scattered``: the kinds and households are drawn at random,
    so the first halves of pairs wait in durable-rules' own memory (its cost as state grows).
    """
    from povrules.warning.stream import durable_engine

    engine = durable_engine()
    pairs = [0]

    def paired(c: Any) -> None:
        pairs[0] += 1

    name = "povrules_bench_bare"
    pattern = {"all": [{"a": {"kind": "a"}}, {"b": {"$and": [{"kind": "b"}, {"hh": {"a": "hh"}}]}}], "run": paired}
    host = engine.Host({name: {"pair": pattern}})
    rng = random.Random(1)
    spent = 0.0
    household = 0
    for n in range(events):
        if scattered:
            message = {"sid": "0", "kind": rng.choice("ab"), "hh": f"h{rng.randrange(households):06d}"}
        else:
            if n % 2 == 0:
                household = rng.randrange(households)
            message = {"sid": "0", "kind": "ab"[n % 2], "hh": f"h{household:06d}"}
        start = time.perf_counter()
        try:
            host.post(name, message)
        except (engine.MessageNotHandledException, engine.MessageObservedException):  # taken, or kept for a pair
            pass
        spent += time.perf_counter() - start
    return {
        "events": events,
        "seconds": spent,
        "events_per_s": events / spent,
        "pairs": pairs[0],
        "peak_mb": _peak_mb(),
    }


def stream(events: int, households: int, sample: int) -> dict[str, Any]:
    from povrules.warning.reference import reference_warnings
    from povrules.warning.rules import load_screening
    from povrules.warning.stream import WarningStream
    from povrules.warning.synth import synth_events

    screening = load_screening(REPO / "rulesets" / "cn-hebei-lingshou")
    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-hebei-lingshou")
    rng = random.Random(5)
    raised: list[tuple[str, str, Any]] = []
    spent = verifying = 0.0
    verified = 0
    due: list[tuple[int, str]] = []  # (the day the village enters its verification, case id)
    with WarningStream(screening) as warning_stream:
        post = warning_stream.post
        for event in synth_events(households, events, **SYNTH):
            start = time.perf_counter()
            found = post(event)
            spent += time.perf_counter() - start
            for warning in found:
                raised.append(warning.key())
                # Most villages verify within the deadline; one case in ten goes overdue first.
                late = rng.random() < 0.1
                day = add_working_days(warning.day, 30 if late else 10).toordinal()
                heapq.heappush(due, (day, f"{warning.household}/{warning.rule}/{warning.day.isoformat()}"))
            clock = warning_stream.clock
            if due and clock is not None and due[0][0] <= clock:
                start = time.perf_counter()
                while due and due[0][0] <= clock:
                    day, case_id = heapq.heappop(due)
                    facts = povrules.parse_household({"id": case_id.split("/")[0]})
                    warning_stream.verify(case_id, facts, ruleset, as_of=date.fromordinal(day))
                    verified += 1
                verifying += time.perf_counter() - start
        peak = _peak_mb()
        report = warning_stream.report()
        figures = {
            "events": events,
            "seconds": spent,
            "events_per_s": events / spent,
            "warnings": len(raised),
            "posted_to_durable": warning_stream.posted,
            "late": warning_stream.late,
            "verified": verified,
            "verify_seconds": verifying,
            "overdue_total": warning_stream.overdue_total,
            "open_cases": report["open_cases"],
            "overdue_cases": len(report["overdue_cases"]),
            "live_households": warning_stream.live_households(),
            "peak_mb": peak,
        }
    chosen = {f"h{n:06d}" for n in range(1, households + 1, sample)}
    expected = reference_warnings(screening, synth_events(households, events, **SYNTH), households=chosen)
    mine = [key for key in raised if key[0] in chosen]
    figures["reference_households"] = len(chosen)
    figures["reference_warnings"] = len(expected)
    figures["reference_agrees"] = mine == expected
    return figures


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child {args} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--bare-events", type=int, default=300_000)
    parser.add_argument("--sample", type=int, default=10, help="the reference check takes every N-th household")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        kind, *numbers = options.child
        values = [int(n) for n in numbers]
        print(json.dumps(bare(*values) if kind == "bare" else stream(*values)))
        return
    n, h = options.events, options.households
    print(f"bare durable-rules: {options.bare_events:,} events, two kinds correlated on the household id, one session")
    base = _child("bare", str(options.bare_events), str(h))
    print(f"  each pair at once: {base['events_per_s']:,.0f} events/s, peak {base['peak_mb']:.0f} MB")
    scattered = _child("bare", str(options.bare_events // 3), str(h), "1")
    print(
        f"  pairs scattered over {h:,} households ({scattered['events']:,} events): "
        f"{scattered['events_per_s']:,.0f} events/s, peak {scattered['peak_mb']:.0f} MB (its own state grows)"
    )
    runs = []
    for events in (n, 2 * n):
        print(f"stream (灵寿's screening): {events:,} events over {h:,} households")
        figures = _child("stream", str(events), str(h), str(options.sample))
        runs.append(figures)
        print(
            f"  {figures['events_per_s']:,.0f} events/s ({figures['seconds']:.1f} s in the stream), "
            f"{figures['warnings']:,} warnings, {figures['posted_to_durable']:,} observations posted, "
            f"{figures['late']:,} late, {figures['verified']:,} cases verified through identify_monitoring_object "
            f"({figures['verify_seconds']:.1f} s), {figures['overdue_total']:,} went overdue, "
            f"{figures['open_cases']:,} open at the end ({figures['overdue_cases']:,} overdue), "
            f"{figures['live_households']:,} households with open windows, peak {figures['peak_mb']:.0f} MB"
        )
        print(
            f"  reference check on {figures['reference_households']:,} households: "
            f"{figures['reference_warnings']:,} warnings, {'agrees' if figures['reference_agrees'] else 'DISAGREES'}"
        )
    growth = runs[1]["peak_mb"] / runs[0]["peak_mb"] - 1
    print(f"bare / stream: {base['events_per_s'] / runs[0]['events_per_s']:.2f}× (the brief asks within 2×)")
    print(f"peak memory, {2 * n:,} against {n:,} events: {growth:+.1%} (bounded: within 10 %)")
    if not all(run["reference_agrees"] for run in runs):
        raise SystemExit("the reference check disagrees with the stream")


if __name__ == "__main__":
    main()
