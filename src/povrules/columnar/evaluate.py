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
* the missing facts of undetermined rows (an unknown column carries no paths);
* decisions whose combination reads facts (default-strength exceptions, which look up overrides):
  the columnar rule values are combined per row with :meth:`povrules.Plan.combine`.

Rankings are not decided here (their sort keys are not translated yet); their rule values are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from povrules.columnar.frame import facts_of
from povrules.columnar.translate import NotSupported, Translated, Translator
from povrules.engine import Plan, plan
from povrules.facts import FactModel
from povrules.lang.compiler import Unknown
from povrules.ruleset.model import Ruleset

HAZARD = "_hazard"
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


def rule_values_frame(frame: pl.DataFrame, ruleset: Ruleset, decision: str, as_of: date, *,
                      facts: Sequence[FactModel] | None = None) -> pl.DataFrame:
    """A frame of ``id`` and one Boolean column per rule of the decision (named by rule id, in the
    plan's order): true, false, or null for unknown (and for a rule not in force on ``as_of``).

    Rows with a hazard get the row engine's values, from ``facts`` (the frame's subjects as models, in
    its order) when given, else from facts rebuilt from the frame. Raises as :func:`translate_decision` does, and
    :class:`povrules.EvaluationError` where the row engine raises for a hazard row.
    """
    prepared, translated = translate_decision(ruleset, decision, as_of)
    values = _values(frame, translated, prepared.rules)
    risky = values.select(pl.arg_where(pl.col(HAZARD))).to_series().to_list()
    if risky:
        models = _models(frame, risky, ruleset.subject, facts)
        redone = [[_row_value(v) for v in prepared.rule_values(f, as_of)[0]] for f in models]
        for position, rule in enumerate(prepared.rules):
            column = values[rule.id].to_list()
            for index, row in zip(risky, redone):
                column[index] = row[position]
            values = values.with_columns(pl.Series(rule.id, column, dtype=pl.Boolean))
    return values.drop(HAZARD)


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
    """The decision for every row: a frame of ``id``, ``outcome`` (str), ``labels`` (list of str) and,
    with ``missing``, ``missing`` (the paths of the facts an undetermined outcome waits for; empty
    for a determined one), equal to what :func:`povrules.evaluate` gives row by row. Rows the row
    engine decides read ``facts`` (the frame's subjects as models, in its order) when given.

    Raises :class:`NotSupported` for a ranking or an untranslatable rule, and
    :class:`povrules.EvaluationError` where the row engine raises (hazard rows).
    """
    prepared, translated = translate_decision(ruleset, decision, as_of)
    if prepared.spec.kind == "ranking":
        raise NotSupported(decision, "a ranking decision (sort keys)", prepared.spec.name)
    in_force = [t is not None for t in translated]
    names = [rule.id for rule in prepared.rules]
    values = _values(frame, translated, prepared.rules)
    n = values.height
    outcome: list[str | None] = [None] * n
    labels: list[list[str] | None] = [None] * n

    if prepared.reads_facts:
        # Overrides are looked up per row, from the facts: combine the columnar values row by row.
        models = _models(frame, list(range(n)), ruleset.subject, facts)
        rows = values.select(names).iter_rows()
        for index, (f, row) in enumerate(zip(models, rows)):
            made = prepared.combine(f, as_of, _engine_values(row, in_force))
            outcome[index], labels[index] = made.outcome, list(made.labels)
        settled = pl.DataFrame({"outcome": outcome, "labels": labels},
                               schema={"outcome": pl.String, "labels": pl.List(pl.String)})
    else:
        coded = values.select(pl.col("id"), _pattern_code(names).alias("_code"), *names)
        patterns = coded.select("_code", *names).unique(subset="_code")
        answers: dict[str, list[Any]] = {"_code": [], "outcome": [], "labels": []}
        for code, *row in patterns.iter_rows():
            made = prepared.settle(_engine_values(row, in_force), as_of)
            answers["_code"].append(code)
            answers["outcome"].append(made.outcome)
            answers["labels"].append(list(made.labels))
        table = pl.DataFrame(answers, schema={"_code": coded.schema["_code"], "outcome": pl.String,
                                              "labels": pl.List(pl.String)})
        settled = coded.select("_code").join(table, on="_code", how="left", maintain_order="left").drop("_code")

    result = values.select("id", HAZARD).hstack(settled)
    # Rows the row engine decides whole: hazards always; undetermined ones for their missing facts.
    redo = pl.col(HAZARD)
    if missing:
        redo = redo | (pl.col("outcome") == "undetermined")
    again = result.select(pl.arg_where(redo)).to_series().to_list()
    missing_col: list[list[str]] = [[] for _ in range(n)]
    if again:
        out_list, lab_list = result["outcome"].to_list(), result["labels"].to_list()
        for index, f in zip(again, _models(frame, again, ruleset.subject, facts)):
            made = prepared.decide(f, as_of)
            out_list[index], lab_list[index] = made.outcome, list(made.labels)
            missing_col[index] = list(made.missing)
        result = result.with_columns(pl.Series("outcome", out_list, dtype=pl.String),
                                     pl.Series("labels", lab_list, dtype=pl.List(pl.String)))
    result = result.drop(HAZARD)
    if missing:
        result = result.with_columns(pl.Series("missing", missing_col, dtype=pl.List(pl.String)))
    return result


def _engine_values(row: Any, in_force: list[bool]) -> tuple[Any, ...]:
    """Column values as the engine's: None (not in force), True/False, or an Unknown for null."""
    return tuple(None if not live else (_NO_PATHS if v is None else v) for v, live in zip(row, in_force))
