"""Cost of an amount decision against a decision table asking the same of the same members.

留坝's pension of poor elderly people (``rulesets/cn-shaanxi-liuba``) is asked two ways: the amount
decision ``elderly_pension`` (three bands, FIRST, answered per member, with the household total) and the
COLLECT table ``social_protection`` (which bands some member is in: one ``any()`` over the members per
row). Synthetic households (``povrules.synth.county``, registered poor so that every row is worked out)
are decided plain, traced, and traced with the trace document and the Chinese explanation. Figures are
microseconds per household, the best of ``--repeat`` runs, and the amount/table ratio of each.

Run ``python benchmarks/amounts.py`` (``make bench-amounts``).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import povrules
from povrules import synth
from povrules.facts import Household

REPO = Path(__file__).resolve().parent.parent
AS_OF = date(2016, 6, 30)


def registered_poor(households: Sequence[Household]) -> list[Household]:
    """The same households, each on the poverty register (the pension is for registered poor members)."""
    out = []
    for h in households:
        registration = h.registration.model_copy(update={"status": "registered_poor"}) if h.registration else None
        out.append(h.model_copy(update={"registration": registration}))
    return out


def best(run: Callable[[], object], repeat: int, count: int) -> float:
    """Microseconds per household of the fastest of ``repeat`` runs, the collector off."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        gc.enable()
    return min(times) / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    ruleset = povrules.load_ruleset(REPO / "rulesets" / "cn-shaanxi-liuba")
    households = registered_poor(synth.county(args.count, 16))
    members = sum(len(h.members or ()) for h in households)
    print(f"{args.count} households, {members / args.count:.1f} members each, as of {AS_OF}")
    print(f"{'step':<28}{'amount µs':>12}{'table µs':>12}{'ratio':>8}")

    def plain(name: str) -> Callable[[], object]:
        return lambda: [povrules.evaluate(h, ruleset, name, as_of=AS_OF, trace=False) for h in households]

    def traced(name: str) -> Callable[[], object]:
        return lambda: [povrules.evaluate(h, ruleset, name, as_of=AS_OF) for h in households]

    def documented(name: str) -> Callable[[], object]:
        return lambda: [povrules.evaluate(h, ruleset, name, as_of=AS_OF).trace() for h in households]

    def explained(name: str) -> Callable[[], object]:
        return lambda: [povrules.evaluate(h, ruleset, name, as_of=AS_OF).explain("zh") for h in households]

    for step, make in (
        ("decide, plain", plain),
        ("decide, traced", traced),
        ("+ trace document", documented),
        ("+ explanation (zh)", explained),
    ):
        amount = best(make("elderly_pension"), args.repeat, args.count)
        table = best(make("social_protection"), args.repeat, args.count)
        print(f"{step:<28}{amount:>12.1f}{table:>12.1f}{amount / table:>7.2f}×")
    totals = [povrules.evaluate(h, ruleset, "elderly_pension", as_of=AS_OF, trace=False) for h in households]
    granted = sum(1 for d in totals if d.outcome == "granted")
    paid = sum((d.amount.total for d in totals if d.amount and d.amount.total is not None), start=0)
    print(f"{granted} households granted a pension; {paid} 元 a month in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
