"""What-if comparisons of a caseload frame: :func:`povrules.compare` and :func:`povrules.sweep` in columns.

:func:`compare_frame` gives the :class:`povrules.Comparison` that :func:`povrules.compare` gives for
the same households, equal in counts, changes (same order, rules and causes) and summaries, without
a model per household:

* the baseline's rule values come from its translated expressions (:class:`.evaluate.FramePlan`),
  once for any number of variants;
* for a variant, only the rules :func:`povrules.compare.difference` says are *reached* (a changed
  condition, parameter or derived fact) are translated and evaluated; every other rule's column is
  the baseline's;
* outcomes are settled once per distinct pattern of rule values (:meth:`povrules.Plan.settle`); under
  the variant, only for the rows whose reached values differ, unless the decision combines its
  rules differently. A decision whose combination reads facts (default-strength exceptions look
  up the subject's recorded ``overrides``) is combined once per pattern and list of overrides,
  from the model of one row of each;
* counts come from the rows combined again (every other row keeps its outcome), in the order
  :func:`povrules.compare` gives them; the changed rows are found by a filter, and each is attributed by :meth:`Difference.change`, the
  code :func:`povrules.compare` uses, from its rule values. Where a rule is unknown under both
  rulesets, the row engine tells the two apart by their missing facts; those are computed in columns
  for the changed rows (:meth:`.translate.Translator.missing`), or by the row engine for a row it
  must decide (a hazard) or a rule whose missing facts have no translation.

The comparison's ``households`` is a :class:`FrameHouseholds`: models are made from the frame only
when asked for (``pair(id)``, indexing, iterating).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any, overload

import polars as pl

from povrules.columnar.evaluate import frame_plan
from povrules.columnar.frame import facts_of
from povrules.columnar.translate import NotSupported, Translator
from povrules.compare import Change, Comparison, Difference, LazyHouseholds, Sweep, difference, sweep_variants
from povrules.engine import Plan
from povrules.errors import EvaluationError, RowOutOfRange
from povrules.facts import FactModel
from povrules.lang.compiler import Unknown
from povrules.ruleset.model import Ruleset

_NO_PATHS = Unknown(frozenset())
_ROW = "_row"
OVERRIDES = "overrides"  # the fact a combination reads (see Plan.reads_facts)
_BLOCK = 1024  # rows turned into models at a time when iterating


class FrameHouseholds(LazyHouseholds):
    """The rows of a caseload frame as a sequence of models, each made when it is reached.

    ``find(id)`` locates a row by its ``id`` column and makes that one model only. Iterating makes
    models a block of rows at a time; a model costs about a millisecond, so iterating a large
    frame is slow: read the frame itself for anything but a few households.
    """

    def __init__(self, frame: pl.DataFrame, subject: str = "household"):
        self.frame, self.subject = frame, subject

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> FactModel: ...

    @overload
    def __getitem__(self, index: slice) -> list[FactModel]: ...

    def __getitem__(self, index: int | slice) -> FactModel | list[FactModel]:
        n = self.frame.height
        if isinstance(index, slice):
            return facts_of(self.frame, range(*index.indices(n)), subject=self.subject)
        if not -n <= index < n:
            raise RowOutOfRange(f"row {index} is outside the frame's {n} rows")
        return facts_of(self.frame, [index % n], subject=self.subject)[0]

    def __iter__(self) -> Iterator[FactModel]:
        for start in range(0, self.frame.height, _BLOCK):
            yield from facts_of(self.frame, range(start, min(start + _BLOCK, self.frame.height)), subject=self.subject)

    def find(self, household_id: str) -> FactModel | None:
        """The model of the first row whose ``id`` is ``household_id``, or None."""
        rows = self.frame.select(pl.arg_where(pl.col("id") == household_id)).to_series()
        return facts_of(self.frame, [rows[0]], subject=self.subject)[0] if rows.len() else None

    def __repr__(self) -> str:
        return f"<FrameHouseholds {self.frame.height} {self.subject}s>"


def compare_frame(
    baseline: Ruleset, variant: Ruleset, frame: pl.DataFrame, decision: str, *, as_of: date
) -> Comparison:
    """What :func:`povrules.compare` gives for the households of ``frame`` (made by
    :func:`caseload_frame` or :func:`read_frame`), computed in columns.

    Raises as :func:`povrules.compare` does, and :class:`NotSupported` for a rule (of the baseline's
    decision, or one the variant changes) that has no columnar translation.
    """
    return _FrameComparer(baseline, frame, decision, as_of).against(variant)


def sweep_frame(
    ruleset: Ruleset,
    parameter: str,
    values: Iterable[Any],
    frame: pl.DataFrame,
    decision: str,
    *,
    as_of: date,
    from_: date | None = None,
) -> Sweep:
    """What :func:`povrules.sweep` gives for the households of ``frame``, computed in columns: the
    baseline's rule values and outcomes once, then per value only the rules that read the parameter.

    Raises as :func:`povrules.sweep` and :func:`compare_frame` do.
    """
    variants = sweep_variants(ruleset, parameter, values, from_=from_)
    comparer = _FrameComparer(ruleset, frame, decision, as_of)
    comparisons = tuple(comparer.against(v) for _, v in variants)
    counts = sorted((outcome, n) for (outcome, _), n in comparer.unchanged.items())
    return Sweep(
        parameter, tuple(value for value, _ in variants), decision, as_of, frame.height, dict(counts), comparisons
    )


def _engine_value(value: bool | None, in_force: bool) -> Any:
    """A column's value as the row engine's: None (not in force), True/False, or an Unknown for null."""
    return None if not in_force else (_NO_PATHS if value is None else value)


class _Settler:
    """Outcomes of one plan from columns of rule values, each distinct pattern settled once."""

    def __init__(self, plan: Plan, as_of: date, in_force: Sequence[bool], subject: str):
        self.plan, self.as_of, self.in_force, self.subject = plan, as_of, tuple(in_force), subject
        self.settled: dict[tuple[Any, ...], str] = {}

    def outcomes(self, values: pl.DataFrame, frame: pl.DataFrame, rows: pl.Series | None = None) -> pl.Series:
        """The outcome of each of ``rows`` of ``frame`` (all of them when None), from ``values``: one
        Boolean column per rule of the plan, in order, one row per row asked for."""
        names = values.columns
        n = frame.height if rows is None else rows.len()
        if n == 0:
            return pl.Series("outcome", [], dtype=pl.String)
        if not names:  # a decision left with no rules: one pattern for every row
            values = pl.DataFrame({"_none": pl.repeat(None, n, dtype=pl.Boolean, eager=True)})
        keys = values.columns
        reads = self.plan.reads_facts
        if reads and OVERRIDES in frame.columns:
            # The combination reads the subject's recorded overrides (Plan.reads_facts): rows with the
            # same pattern and the same overrides combine alike, so one model per group is made.
            recorded = frame[OVERRIDES] if rows is None else frame[OVERRIDES].gather(rows)
            values, keys = values.with_columns(recorded), [*keys, OVERRIDES]
        groups = values.with_row_index(_ROW).group_by(keys).agg(pl.col(_ROW))
        patterns = groups.select(names).iter_rows() if names else iter(lambda: (), None)
        if reads:
            firsts = [group[0] for group in groups[_ROW].to_list()]
            at = firsts if rows is None else rows.gather(firsts).to_list()
            answers = [
                self.plan.combine(f, self.as_of, self._engine(row)).outcome
                for f, row in zip(facts_of(frame, at, subject=self.subject), patterns)
            ]
        else:
            answers = [self._settle(row) for row, _ in zip(patterns, range(groups.height))]
        table = pl.DataFrame(
            {_ROW: groups[_ROW], "outcome": answers}, schema={_ROW: groups.schema[_ROW], "outcome": pl.String}
        )
        return table.explode(_ROW).sort(_ROW)["outcome"]

    def _engine(self, row: Sequence[bool | None]) -> tuple[Any, ...]:
        return tuple(_engine_value(v, live) for v, live in zip(row, self.in_force))

    def _settle(self, row: tuple[bool | None, ...]) -> str:
        made = self.settled.get(row)
        if made is None:
            made = self.settled[row] = self.plan.settle(self._engine(row), self.as_of).outcome
        return made


class _FrameComparer:
    """The baseline's rule values and outcomes over one frame, compared with as many variants as asked."""

    def __init__(self, baseline: Ruleset, frame: pl.DataFrame, decision: str, as_of: date):
        self.baseline, self.frame, self.decision, self.as_of = baseline, frame, decision, as_of
        self.subject = baseline.subject
        prepared = frame_plan(baseline, decision, as_of)
        if prepared.is_ranking:
            raise EvaluationError(f"decision {decision!r} is a ranking: compare the orders rank() gives instead")
        self.plan, self.in_force = prepared.plan, prepared.in_force
        raw = prepared.rule_values(frame)
        # Positional names: b0, b1 … for the baseline's rules (a rule id could be "id").
        self.values = raw.select([pl.col(rule.id).alias(f"b{j}") for j, rule in enumerate(self.plan.rules)])
        self.hazard = _any_hazard([t.hazard for t in prepared.translated if t is not None])
        self.before = _Settler(self.plan, as_of, self.in_force, self.subject).outcomes(self.values, frame)
        # Each outcome's count and first row: compare() lists its counts in the order they first occur.
        firsts = (
            pl.DataFrame({"before": self.before})
            .with_row_index(_ROW)
            .group_by("before")
            .agg(pl.col(_ROW).min(), pl.len())
            .sort(_ROW)
        )
        self.first = {outcome: row for outcome, row, _ in firsts.iter_rows()}
        self.unchanged = {(outcome, outcome): n for outcome, _, n in firsts.iter_rows()}
        self.households = FrameHouseholds(frame, self.subject)

    def against(self, variant: Ruleset) -> Comparison:
        as_of, frame = self.as_of, self.frame
        diff = difference(self.baseline, variant, self.decision, as_of)
        reached, var_hazard = self._reached(variant, diff)
        columns = []
        for i, j in enumerate(diff.index):
            if not diff.in_force[i]:
                columns.append(pl.repeat(None, frame.height, dtype=pl.Boolean, eager=True).alias(f"v{i}"))
            elif i in reached:
                columns.append(reached[i].alias(f"v{i}"))
            else:
                columns.append(self.values[f"b{j}"].alias(f"v{i}"))
        values = pl.DataFrame(columns)  # no columns when the variant's decision has no rule left

        # The rows to combine again: none when nothing the decision reads differs; when it combines
        # its rules as before, those where a reached value differs (null against null is the same for
        # the outcome; a rule not in force differs from any value); else all.
        everything = pl.int_range(frame.height, eager=True, dtype=pl.UInt32)
        rows = everything.clear()
        if not diff.combines_same:
            rows = everything
        elif diff.reached:
            pairs = [(i, diff.index[i]) for i in diff.reached]
            if all(j is not None and self.in_force[j] for _, j in pairs):
                both = pl.concat([self.values, values], how="horizontal")
                differs = pl.any_horizontal([pl.col(f"v{i}").ne_missing(pl.col(f"b{j}")) for i, j in pairs])
                rows = both.select(pl.arg_where(differs)).to_series()
            else:  # a rule new to the decision, or newly in force: its value differs everywhere
                rows = everything
        counts = dict(self.unchanged)
        changes: tuple[Change, ...] = ()
        if rows.len():
            # Counts and changes from these rows alone: every other row keeps its outcome.
            settler = _Settler(diff.variant, as_of, diff.in_force, self.subject)
            whole = rows.len() == frame.height
            after = settler.outcomes(values if whole else values[rows], frame, None if whole else rows)
            moved = pl.DataFrame(
                {"row": rows, "before": self.before if whole else self.before.gather(rows), "after": after}
            )
            for before, now, n in moved.group_by("before", "after").len().iter_rows():
                if before != now:
                    counts[(before, before)] -= n
                    counts[(before, now)] = n
            changed = moved.filter(pl.col("before") != pl.col("after"))
            counts = self._in_order({pair: n for pair, n in counts.items() if n}, changed)
            if changed.height:
                changes = self._changes(diff, values, var_hazard, changed)
        return Comparison(
            self.baseline,
            variant,
            self.decision,
            as_of,
            frame.height,
            counts,
            changes,
            diff.reevaluated,
            self.households,
        )

    def _in_order(self, counts: dict[tuple[str, str], int], changed: pl.DataFrame) -> dict[tuple[str, str], int]:
        """``counts`` in the order their pairs first occur among the rows, as compare() counts them."""
        first = {(b, a): row for b, a, row in changed.group_by("before", "after").agg(pl.col("row").min()).iter_rows()}
        moved = set(changed["row"].to_list())
        for before, after in counts:
            if before == after:
                row = self.first[before]
                if row in moved:  # that row changed: the first row of this outcome that did not
                    kept = (
                        pl.DataFrame({"before": self.before})
                        .with_row_index(_ROW)
                        .filter((pl.col("before") == before) & ~pl.col(_ROW).is_in(list(moved)))
                    )
                    row = kept[_ROW][0]
                first[(before, after)] = row
        return dict(sorted(counts.items(), key=lambda item: first[item[0]]))

    def _reached(self, variant: Ruleset, diff: Difference) -> tuple[dict[int, pl.Series], pl.Expr]:
        """The reached rules' values under the variant, as columns: translated and evaluated, and
        from the row engine for rows where a translation marks a hazard (where it may raise); and
        the expression of those hazards."""
        if not diff.reached:
            return {}, pl.lit(False)
        translator = Translator(variant, self.as_of)
        translated = {i: translator.rule(diff.variant.rules[i].id) for i in diff.reached}
        hazard = _any_hazard([t.hazard for t in translated.values()])
        found = self.frame.select(*(t.value.alias(f"v{i}") for i, t in translated.items()), hazard.alias("_hazard"))
        risky = found.select(pl.arg_where(pl.col("_hazard"))).to_series().to_list()
        out = {i: found[f"v{i}"] for i in translated}
        if risky:
            redone = [
                diff.variant.rule_values(f, self.as_of)[0] for f in facts_of(self.frame, risky, subject=self.subject)
            ]
            for i in translated:
                column = out[i].to_list()
                for row, made in zip(risky, redone):
                    column[row] = None if made[i].__class__ is Unknown else made[i]
                out[i] = pl.Series(f"v{i}", column, dtype=pl.Boolean)
        return out, hazard

    def _changes(
        self, diff: Difference, values: pl.DataFrame, var_hazard: pl.Expr, moved: pl.DataFrame
    ) -> tuple[Change, ...]:
        """Each changed row (``moved``: row, before, after, in row order) attributed by
        :meth:`Difference.change`."""
        changed = moved["row"]
        base_rows, var_rows = _rows(self.values, changed), _rows(values, changed)
        ids = self.frame["id"].gather(changed).to_list()
        befores, afters = moved["before"].to_list(), moved["after"].to_list()
        missing = _UnknownPairs(self, diff, var_hazard, changed, base_rows, var_rows)
        changes = []
        reached = set(diff.reached)
        for k, (hid, before, after, base_row, var_row) in enumerate(zip(ids, befores, afters, base_rows, var_rows)):
            base_values = [_engine_value(v, live) for v, live in zip(base_row, self.in_force)]
            values_k: list[Any] = []
            for i, (v, live) in enumerate(zip(var_row, diff.in_force)):
                j = diff.index[i]
                if live and i not in reached and j is not None:
                    values_k.append(base_values[j])  # the baseline's value itself, as compare() reuses it
                else:
                    values_k.append(_engine_value(v, live))
            for i, (old, new) in missing.of(k).items():
                # Each pair holds the baseline's value too, so the item has its index in the baseline.
                base_values[diff.index[i]], values_k[i] = old, new  # type: ignore[index]
            changes.append(diff.change(hid, before, after, base_values, values_k))
        return tuple(changes)


class _UnknownPairs:
    """For changed rows, the reached rules unknown under both rulesets, as the row engine's
    ``Unknown`` values (with their missing facts), so that :meth:`Difference.change` can tell them apart."""

    def __init__(
        self,
        comparer: _FrameComparer,
        diff: Difference,
        var_hazard: pl.Expr,
        changed: pl.Series,
        base_rows: list[tuple[Any, ...]],
        var_rows: list[tuple[Any, ...]],
    ):
        self.found: dict[int, dict[int, tuple[Any, Any]]] = {}
        pairs = [(i, j) for i in diff.reached for j in [diff.index[i]] if j is not None and comparer.in_force[j]]
        wanted = {
            k: both
            for k in range(len(base_rows))
            for both in [[(i, j) for i, j in pairs if var_rows[k][i] is None and base_rows[k][j] is None]]
            if both
        }
        if not wanted:
            return
        ks = sorted(wanted)
        subset = comparer.frame[changed.gather(ks)]
        # Hazard rows have no translated missing facts: the row engine gives them.
        by_engine = subset.select(comparer.hazard | var_hazard).to_series().to_list()
        in_columns: dict[tuple[int, int], tuple[list[Any], list[Any]]] = {}
        base_tr, var_tr = (
            Translator(comparer.baseline, comparer.as_of),
            Translator(diff.variant.ruleset, comparer.as_of),
        )
        try:
            for i, j in sorted({pair for both in wanted.values() for pair in both}):
                found = subset.select(
                    base_tr.missing(comparer.plan.rules[j].id).alias("old"),
                    var_tr.missing(diff.variant.rules[i].id).alias("new"),
                )
                in_columns[(i, j)] = (found["old"].to_list(), found["new"].to_list())
        except NotSupported:
            by_engine = [True] * len(ks)
        engine_rows = [k for k, flag in zip(ks, by_engine) if flag]
        engine = dict(zip(engine_rows, self._from_engine(comparer, diff, changed, engine_rows)))
        for n, k in enumerate(ks):
            if k in engine:
                base_values, var_values = engine[k]
                self.found[k] = {i: (base_values[j], var_values[i]) for i, j in wanted[k]}
            else:
                self.found[k] = {
                    i: (Unknown(frozenset(in_columns[(i, j)][0][n])), Unknown(frozenset(in_columns[(i, j)][1][n])))
                    for i, j in wanted[k]
                }

    @staticmethod
    def _from_engine(
        comparer: _FrameComparer, diff: Difference, changed: pl.Series, ks: list[int]
    ) -> list[tuple[Sequence[Any], Sequence[Any]]]:
        if not ks:
            return []
        models = facts_of(comparer.frame, changed.gather(ks).to_list(), subject=comparer.subject)
        return [
            (comparer.plan.rule_values(f, comparer.as_of)[0], diff.variant.rule_values(f, comparer.as_of)[0])
            for f in models
        ]

    def of(self, k: int) -> dict[int, tuple[Any, Any]]:
        """The variant rule positions of changed row ``k`` unknown under both, with both Unknowns."""
        return self.found.get(k, {})


def _rows(values: pl.DataFrame, rows: pl.Series) -> list[tuple[Any, ...]]:
    """Some rows of a frame of rule values, as tuples (empty ones when the decision has no rules)."""
    return values[rows].rows() if values.width else [()] * rows.len()


def _any_hazard(hazards: Sequence[pl.Expr | None]) -> pl.Expr:
    present = [h for h in hazards if h is not None]
    return pl.any_horizontal(present) if present else pl.lit(False)
