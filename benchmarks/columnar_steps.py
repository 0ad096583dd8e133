"""Households per second: the columnar evaluator beside the row engine (Hunan monitoring_type).

Usage: python benchmarks/columnar_steps.py [N]   (default 200000). Frame building is timed apart from
evaluation. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import povrules
from povrules import synth
from povrules.columnar import caseload_frame, decide_frame, rule_values_frame

AS_OF = date(2021, 6, 30)
DECISION = "monitoring_type"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    ruleset = povrules.load_ruleset(Path(__file__).resolve().parent.parent / "rulesets" / "cn-hunan-county-plan4")
    t = time.perf_counter()
    households = synth.county(n, 1)
    print(f"synthetic county: {n} households in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    frame = caseload_frame(households)
    built = time.perf_counter() - t
    print(f"frame building:   {n / built:>10,.0f} households/s ({built:.1f} s)")

    t = time.perf_counter()
    rule_values_frame(frame, ruleset, DECISION, AS_OF)
    took = time.perf_counter() - t
    print(f"rule values:      {n / took:>10,.0f} households/s ({took:.2f} s)")

    t = time.perf_counter()
    decided = decide_frame(frame, ruleset, DECISION, AS_OF, missing=False)
    took = time.perf_counter() - t
    print(f"outcomes:         {n / took:>10,.0f} households/s ({took:.2f} s)")

    # Missing facts are computed in columns: no models are read (facts= is needed only for hazard
    # rows and for combinations that read facts, neither of which this decision has).
    t = time.perf_counter()
    with_missing = decide_frame(frame, ruleset, DECISION, AS_OF, missing=True)
    took_missing = time.perf_counter() - t
    undetermined = decided.filter(decided["outcome"] == "undetermined").height
    named = with_missing.filter(with_missing["missing"].list.len() > 0).height
    print(
        f"with missing:     {n / took_missing:>10,.0f} households/s ({took_missing:.2f} s; "
        f"{undetermined} undetermined rows, {named} with missing facts, computed in columns)"
    )

    t = time.perf_counter()
    for _ in povrules.evaluate_iter(households, ruleset, DECISION, as_of=AS_OF, trace=False):
        pass
    took = time.perf_counter() - t
    print(f"row engine:       {n / took:>10,.0f} households/s ({took:.2f} s)")


if __name__ == "__main__":
    main()
