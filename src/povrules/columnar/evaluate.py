"""Rule values and outcomes of one decision for a whole frame.

Rule values come from the translated expressions (:mod:`.translate`), all in one ``select``.
Outcomes are not computed per row: the rows are grouped by their *pattern* of rule values
(true, false or unknown per rule), each distinct pattern is settled once by the engine's own
combination (:meth:`povrules.Plan.settle`), and the answers are joined back. A county has few
distinct patterns, so this costs almost nothing beside the rule values.

The row engine still decides, row by row from the facts (turned back into models with
:func:`.frame.facts_of`):

* rows with a *hazard* (a zero divisor, a date past the calendar's end), where the row engine may
  raise: it then raises here too;
* undetermined rows of a decision with a rule whose missing facts have no translation.

Default-strength exceptions look up the overrides recorded in the facts: their effects are
computed in columns from the ``overrides`` list (:func:`_effects`) and are part of the pattern.

Otherwise missing facts are computed in columns: each pattern's settlement names the relevant
rules (``Settled.relevant``), and an undetermined row's missing facts are the sorted union of those
rules' missing sets (:meth:`.translate.Translator.missing_parts`).

Rankings are not decided here (their sort keys are not translated yet); their rule values are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from povrules.columnar.frame import facts_of
from povrules.columnar.translate import NotSupported, Translated, Translator
from povrules.engine import CONTRADICTED, EFFECTS, Decision, Plan, Settled, plan
from povrules.facts import FactModel
from povrules.lang.compiler import Unknown
from povrules.ruleset.model import Ruleset

HAZARD = "_hazard"
_SETTLED = {"outcome": pl.String, "labels": pl.List(pl.String), "reasons": pl.List(pl.String)}
_NO_PATHS = Unknown(frozenset())


def translate_decision(ruleset: Ruleset, decision: str, as_of: date) -> tuple[Plan, list[Translated | None]]:
    """The plain plan of ``decision`` and each of its rules translated (None: not in force on ``as_of``).

    Raises :class:`NotSupported` for the first rule that cannot be translated, and
    :class:`povrules.EvaluationError` as the row engine does (no such decision, a parameter the
    rules read has no value on the date).
    """
    prepared = plan(ruleset, decision, traced=False)
    prepared.bind(as_of)
    translator = Translator(ruleset, as_of)
    return prepared, [translator.rule(rule.id) if rule.in_force(as_of) else None for rule in prepared.rules]


def _values(frame: pl.DataFrame, translated: list[Translated | None], rules: tuple[Any, ...]) -> pl.DataFrame:
    exprs = [t.value if t is not None else pl.lit(None, dtype=pl.Boolean).alias(rule.id)
             for t, rule in zip(translated, rules)]
    hazards = [t.hazard for t in translated if t is not None and t.hazard is not None]
    hazard = pl.any_horizontal(hazards) if hazards else pl.lit(False)
    return frame.select(pl.col("id"), *exprs, hazard.alias(HAZARD))


def _row_value(v: Any) -> bool | None:
    return None if v is None or v.__class__ is Unknown else bool(v)


def _models(frame: pl.DataFrame, rows: list[int], subject: str, facts: Sequence[FactModel] | None) -> list[FactModel]:
    """The facts of some rows as models: taken from ``facts`` when the caller kept them (fast), else
    rebuilt from the frame (about a millisecond a row)."""
    if facts is not None:
        return [facts[i] for i in rows]
    return facts_of(frame, rows, subject=subject)


class FramePlan:
    """One decision of one ruleset on one date, translated once, to decide any number of frames.

    Made by :func:`frame_plan`. Translating a decision and settling its patterns cost far more than
    deciding a small frame, so a caller that decides a caseload block by block (a stream, Spark's
    Arrow batches) keeps one ``FramePlan``: each distinct pattern of rule values is settled once for
    all the frames it decides. Safe to share between threads (the cache of settled patterns only
    ever gains entries that are equal whoever computes them).
    """

    def __init__(self, ruleset: Ruleset, decision: str, as_of: date):
        self.ruleset, self.decision, self.as_of = ruleset, decision, as_of
        self.plan, self.translated = translate_decision(ruleset, decision, as_of)
        self.in_force = [t is not None for t in self.translated]
        self.names = [rule.id for rule in self.plan.rules]
        self._settled: dict[Any, Settled] = {}
        self._missing_parts: dict[int, tuple[list[pl.Expr], pl.Expr]] | None = None
        self._missing_refused = False

    @property
    def is_ranking(self) -> bool:
        """Whether the decision is a ranking (its sort keys are not decided in columns)."""
        return self.plan.spec.kind == "ranking"

    def rule_values(self, frame: pl.DataFrame, *, facts: Sequence[FactModel] | None = None) -> pl.DataFrame:
        """See :func:`rule_values_frame`."""
        values = _values(frame, self.translated, self.plan.rules)
        risky = values.select(pl.arg_where(pl.col(HAZARD))).to_series().to_list()
        if risky:
            models = _models(frame, risky, self.ruleset.subject, facts)
            redone = [[_row_value(v) for v in self.plan.rule_values(f, self.as_of)[0]] for f in models]
            for position, rule in enumerate(self.plan.rules):
                column = values[rule.id].to_list()
                for index, row in zip(risky, redone):
                    column[index] = row[position]
                values = values.with_columns(pl.Series(rule.id, column, dtype=pl.Boolean))
        return values.drop(HAZARD)

    def settle(self, code: Any, row: Sequence[Any]) -> Settled:
        """The settlement of one pattern of rule values (``row``, one per rule; ``code`` its key),
        computed once per plan."""
        made = self._settled.get(code)
        if made is None:
            made = self._settled[code] = self.plan.settle(_engine_values(row, self.in_force), self.as_of)
        return made

    def decide(self, frame: pl.DataFrame, *, missing: bool = True,
               facts: Sequence[FactModel] | None = None) -> pl.DataFrame:
        """See :func:`decide_frame`."""
        if self.is_ranking:
            raise NotSupported(self.decision, "a ranking decision (sort keys)", self.plan.spec.name)
        prepared, as_of, names = self.plan, self.as_of, self.names
        values = _values(frame, self.translated, prepared.rules)

        relevant: dict[Any, tuple[int, ...]] | None = None  # pattern code → rules whose missing facts count
        if prepared.reads_facts:
            # Overrides looked up in columns: each default-strength exception's effect joins the pattern.
            coded, settled, relevant = self._settle_with_effects(frame, values)
        else:
            coded = values.select(pl.col("id"), _pattern_code(names).alias("_code"), *names)
            patterns = coded.select("_code", *names).unique(subset="_code")
            answers: dict[str, list[Any]] = {"_code": [], "outcome": [], "labels": [], "reasons": []}
            relevant = {}
            for code, *row in patterns.iter_rows():
                made = self.settle(code, row)
                if made.relevant:
                    relevant[code] = made.relevant
                answers["_code"].append(code)
                answers["outcome"].append(made.outcome)
                answers["labels"].append(list(made.labels))
                answers["reasons"].append(list(made.reasons))
            table = pl.DataFrame(answers, schema={"_code": coded.schema["_code"], **_SETTLED})
            settled = coded.select("_code").join(table, on="_code", how="left", maintain_order="left").drop("_code")

        result = values.select("id", HAZARD).hstack(settled)
        in_columns = None  # the missing facts of undetermined rows, computed in columns (None: cannot be)
        if missing and relevant is not None:
            in_columns = self._missing_in_columns(frame, result, coded["_code"], relevant)
        # Rows the row engine decides whole: hazards always; undetermined ones for their missing facts
        # when those cannot be computed in columns (the combination reads facts, or a rule's missing
        # facts have no translation).
        redo = pl.col(HAZARD)
        if missing and in_columns is None:
            redo = redo | (pl.col("outcome") == "undetermined")
        again = result.select(pl.arg_where(redo)).to_series().to_list()
        if in_columns is not None:
            result = result.with_columns(in_columns.alias("missing"))
        elif missing:
            result = result.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("missing"))
        if again:
            out_list, lab_list, why_list = (result[c].to_list() for c in ("outcome", "labels", "reasons"))
            miss_list = result["missing"].to_list() if missing else None
            for index, f in zip(again, _models(frame, again, self.ruleset.subject, facts)):
                made = prepared.decide(f, as_of)
                out_list[index], lab_list[index], why_list[index] = made.outcome, list(made.labels), list(made.reasons)
                if miss_list is not None:
                    miss_list[index] = list(made.missing)
            result = result.with_columns(pl.Series("outcome", out_list, dtype=pl.String),
                                         pl.Series("labels", lab_list, dtype=pl.List(pl.String)),
                                         pl.Series("reasons", why_list, dtype=pl.List(pl.String)))
            if miss_list is not None:
                result = result.with_columns(pl.Series("missing", miss_list, dtype=pl.List(pl.String)))
        result = result.drop(HAZARD)
        return result.select("id", "outcome", "labels", *(["missing"] if missing else []), "reasons")

    def _settle_with_effects(self, frame: pl.DataFrame,
                             values: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict[Any, tuple[int, ...]]]:
        """For a decision whose exceptions look up overrides: each row's pattern of rule values and
        exception effects (:func:`_effects`) as one code, each distinct pattern settled once
        (:meth:`povrules.Plan.settle` with ``effects``). Returns (id and code per row, the settled
        outcome, labels and reasons per row, pattern code → relevant rules)."""
        prepared, names = self.plan, self.names
        defeasible = prepared.defeasible
        effects = [f"_effect{i}" for i in defeasible]
        wide = 3 ** len(names) * len(EFFECTS) ** len(effects) >= 2 ** 63
        dtype = pl.Int128 if wide else pl.Int64
        code = _pattern_code(names).cast(dtype)
        for position, column in enumerate(effects):
            code = code + pl.col(column).cast(dtype) * (3 ** len(names) * len(EFFECTS) ** position)
        # Where the rule does not hold its effect cannot matter: fired (0), so that it adds no pattern.
        masked = [pl.when(pl.col(names[i]).eq_missing(False)).then(pl.lit(0, dtype=pl.Int8)).otherwise(pl.col(column))
                  .alias(column) for i, column in zip(defeasible, effects)]
        with_effects = values.hstack(frame.select(_effects(prepared, self.as_of, self.in_force, frame.columns)))
        coded = with_effects.with_columns(masked).select(pl.col("id"), code.alias("_code"), *names, *effects)
        patterns = coded.select("_code", *names, *effects).unique(subset="_code")
        answers: dict[str, list[Any]] = {"_code": [], "outcome": [], "labels": [], "reasons": []}
        relevant: dict[Any, tuple[int, ...]] = {}
        for key, *row in patterns.iter_rows():
            made = self._settled.get(key)
            if made is None:
                pattern = _engine_values(row[:len(names)], self.in_force)
                made = self._settled[key] = prepared.settle(pattern, self.as_of,
                                                            effects=[EFFECTS[e] for e in row[len(names):]])
            if made.relevant:
                relevant[key] = made.relevant
            answers["_code"].append(key)
            answers["outcome"].append(made.outcome)
            answers["labels"].append(list(made.labels))
            answers["reasons"].append(list(made.reasons))
        table = pl.DataFrame(answers, schema={"_code": dtype, **_SETTLED})
        settled = coded.select("_code").join(table, on="_code", how="left", maintain_order="left").drop("_code")
        return coded.select("id", "_code"), settled, relevant

    def _parts(self, needed: Sequence[int]) -> dict[int, tuple[list[pl.Expr], pl.Expr]] | None:
        """Each needed rule's missing facts as (helper columns, unsorted paths), translated once;
        None when one of them has no translation."""
        if self._missing_refused:
            return None
        if self._missing_parts is None:
            self._missing_parts = {}
        translator = None
        for i in needed:
            if i in self._missing_parts or not self.in_force[i]:
                continue
            translator = translator or Translator(self.ruleset, self.as_of)
            try:
                self._missing_parts[i] = translator.missing_parts(self.plan.rules[i].id, f"_missing{i}_", sort=False)
            except NotSupported:
                self._missing_refused = True
                return None
        return {i: self._missing_parts[i] for i in needed if self.in_force[i]}

    def _missing_in_columns(self, frame: pl.DataFrame, result: pl.DataFrame, codes: pl.Series,
                            relevant: dict[Any, tuple[int, ...]]) -> pl.Series | None:
        """Each row's missing facts (empty for determined and hazard rows): the sorted union of the
        relevant rules' missing sets, the relevant rules being learnt once per pattern (``relevant``:
        pattern code → rule indices, from :meth:`Plan.settle`). Only undetermined rows are computed.
        None when a rule the patterns name has no translation of its missing facts."""
        needed = sorted({i for rules in relevant.values() for i in rules})
        parts = self._parts(needed)
        if parts is None:
            return None
        per_rule = {i: paths for i, (_, paths) in parts.items()}
        helpers = [h for found, _ in parts.values() for h in found]
        empty = pl.lit([], dtype=pl.List(pl.String))
        rows = result.select(pl.arg_where((pl.col("outcome") == "undetermined") & ~pl.col(HAZARD))).to_series()
        n = result.height
        if rows.len() == 0 or not per_rule:
            return pl.Series("missing", [[]], dtype=pl.List(pl.String)).new_from_index(0, n)  # no Python list per row
        table = pl.DataFrame({"_code": list(relevant), "_relevant": [list(r) for r in relevant.values()]},
                             schema={"_code": codes.dtype, "_relevant": pl.List(pl.Int64)})
        subset = frame[rows].with_columns(codes.gather(rows).alias("_code"), rows.alias("_row"))
        subset = subset.join(table, on="_code", how="left", maintain_order="left").with_columns(helpers)
        union = pl.concat_list([pl.when(pl.col("_relevant").list.contains(i)).then(expr).otherwise(empty)
                                for i, expr in per_rule.items()]).list.unique().list.sort()
        found = subset.select(pl.col("_row"), union.alias("missing"))
        whole = (pl.DataFrame({"_row": pl.int_range(n, eager=True, dtype=rows.dtype)})
                 .join(found, on="_row", how="left", maintain_order="left"))
        return whole["missing"].fill_null(empty)


def frame_plan(ruleset: Ruleset, decision: str, as_of: date) -> FramePlan:
    """``decision`` of ``ruleset`` on ``as_of``, translated for frames (see :class:`FramePlan`).
    Raises as :func:`translate_decision` does."""
    return FramePlan(ruleset, decision, as_of)


def rule_values_frame(frame: pl.DataFrame, ruleset: Ruleset, decision: str, as_of: date, *,
                      facts: Sequence[FactModel] | None = None) -> pl.DataFrame:
    """A frame of ``id`` and one Boolean column per rule of the decision (named by rule id, in the
    plan's order): true, false, or null for unknown (and for a rule not in force on ``as_of``).

    Rows with a hazard get the row engine's values, from ``facts`` (the frame's subjects as models, in
    its order) when given, else from facts rebuilt from the frame. Raises as :func:`translate_decision` does, and
    :class:`povrules.EvaluationError` where the row engine raises for a hazard row.
    """
    return FramePlan(ruleset, decision, as_of).rule_values(frame, facts=facts)


def _pattern_code(names: list[str]) -> pl.Expr:
    """Each row's pattern of rule values as one integer, base 3 (false 0, true 1, unknown 2)."""
    wide = len(names) > 39  # 3**39 < 2**63
    dtype = pl.Int128 if wide else pl.Int64
    code = pl.lit(0, dtype=dtype)
    for i, name in enumerate(names):
        c = pl.col(name)
        digit = pl.when(c.is_null()).then(2).when(c).then(1).otherwise(0).cast(dtype)
        code = code + digit * (3 ** i)
    return code


def decide_frame(frame: pl.DataFrame, ruleset: Ruleset, decision: str, as_of: date, *,
                 missing: bool = True, facts: Sequence[FactModel] | None = None) -> pl.DataFrame:
    """The decision for every row: a frame of ``id``, ``outcome`` (str), ``labels`` (list of str),
    with ``missing``, ``missing`` (the paths of the facts an undetermined outcome waits for; empty
    for a determined one), and ``reasons`` (the ids of the rules that decided), equal to what
    :func:`povrules.evaluate` gives row by row. Rows the row
    engine decides read ``facts`` (the frame's subjects as models, in its order) when given.

    Translates the decision anew on each call; to decide many frames, keep a :func:`frame_plan`.
    Raises :class:`NotSupported` for a ranking or an untranslatable rule, and
    :class:`povrules.EvaluationError` where the row engine raises (hazard rows).
    """
    return FramePlan(ruleset, decision, as_of).decide(frame, missing=missing, facts=facts)


def explain_row(frame: pl.DataFrame, row: int, ruleset: Ruleset, decision: str, as_of: date, *,
                trace: bool = True) -> Decision:
    """One row's decision with its full trace, on demand: the row's facts taken back from the frame
    (:func:`povrules.columnar.facts_of`) and decided by the row engine, so that ``to_json()``,
    ``explain()`` and records are byte for byte those of deciding the household alone.

    Raises ``IndexError`` for a row outside the frame, and as :func:`povrules.evaluate` raises.
    """
    if not -frame.height <= row < frame.height:
        raise IndexError(f"row {row} is outside the frame's {frame.height} rows")
    facts = facts_of(frame, [row % frame.height], subject=ruleset.subject)[0]
    return plan(ruleset, decision, traced=trace).decide(facts, as_of)


def _effects(prepared: Plan, as_of: date, in_force: list[bool], columns: Sequence[str]) -> list[pl.Expr]:
    """Each default-strength exception's effect per row, as its index in :data:`povrules.engine.EFFECTS`
    (named ``_effect{i}``, ``i`` the rule's index), from the frame's ``overrides`` list as
    :meth:`povrules.Plan.effects` reads them: of the records of this rule by a body it names, dated
    on or before ``as_of``, the latest date's decide (upheld: fired; set aside: overridden; both:
    contradicted); none, or an unknown list, leaves it pending. A rule not in force is given fired
    (0): its effect cannot matter."""
    fired, pending, overridden, contradicted = (EFFECTS.index(e) for e in ("fired", "pending", "overridden",
                                                                              CONTRADICTED))
    record = pl.element()
    out = []
    for i in prepared.defeasible:
        rule, name = prepared.rules[i], f"_effect{i}"
        if not in_force[i] or "overrides" not in columns:  # no column: nothing recorded, as for a null list
            out.append(pl.lit(fired if not in_force[i] else pending, dtype=pl.Int8).alias(name))
            continue
        of_rule = ((record.struct.field("rule") == rule.id) & record.struct.field("body").is_in(list(rule.override_by))
                   & (record.struct.field("decided_on") <= pl.lit(as_of)))

        def last(outcome: str, of_rule: pl.Expr = of_rule) -> pl.Expr:
            """The latest date this rule was decided ``outcome`` (null: never, or the list unknown)."""
            chosen = record.filter(of_rule & (record.struct.field("outcome") == outcome))
            return pl.col("overrides").list.eval(chosen.struct.field("decided_on")).list.max()

        upheld, set_aside = last("upheld"), last("set_aside")
        effect = (pl.when(upheld.is_null() & set_aside.is_null()).then(pending)
                  .when(set_aside.is_null() | (upheld > set_aside)).then(fired)
                  .when(upheld.is_null() | (set_aside > upheld)).then(overridden)
                  .otherwise(contradicted))
        out.append(effect.cast(pl.Int8).alias(name))
    return out


def _engine_values(row: Any, in_force: list[bool]) -> tuple[Any, ...]:
    """Column values as the engine's: None (not in force), True/False, or an Unknown for null."""
    return tuple(None if not live else (_NO_PATHS if v is None else v) for v, live in zip(row, in_force))
