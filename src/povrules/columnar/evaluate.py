"""Rule values and outcomes of one decision for a whole frame.

Rule values come from the translated expressions (:mod:`.translate`), all in one ``select``.
Outcomes are not computed per row: the rows are grouped by their *pattern* of rule values
(true, false or unknown per rule), each distinct pattern is settled once by the engine's own
combination (:meth:`povrules.Plan.settle`), and each row gathers its answers from that small
table by the pattern's index. A county has few distinct patterns, so this costs almost nothing
beside the rule values. A frame in the flat layout (:mod:`.flat`) is nested first.

The row engine still decides, row by row from the facts (turned back into models with
:func:`.frame.facts_of`):

* rows with a *hazard* (a zero divisor, a date past the calendar's end), where the row engine may
  raise: it then raises here too;
* undetermined rows of a decision with a rule whose missing facts have no translation.

Default-strength exceptions look up the overrides recorded in the facts: their effects are
computed in columns from the ``overrides`` list (:func:`_effects`) and are part of the pattern.

Otherwise missing facts are computed in columns: each pattern's settlement names the relevant
rules (``Settled.relevant``), and an undetermined row's missing facts are the sorted union of those
rules' missing sets (:meth:`.translate.Translator.missing_set`), coded as bit masks of paths.

Rankings are not decided here (their sort keys are not translated yet); their rule values are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl
import pyarrow as pa

from povrules.columnar.flat import nested_frame
from povrules.columnar.frame import facts_of
from povrules.columnar.translate import ROW_ENGINE, Missing, NotSupported, Translated, Translator
from povrules.engine import CONTRADICTED, EFFECTS, Decision, Plan, Settled, plan
from povrules.errors import RowOutOfRange
from povrules.facts import FactModel
from povrules.lang.compiler import Unknown
from povrules.ruleset.model import Ruleset

HAZARD = "_hazard"
_LOOKUP_LIMIT = 1 << 16  # patterns coded into at most this many values are indexed by a lookup array
_WORD = 62  # static missing paths per Int64 mask word
_DIRECT_BITS = 12  # up to this many static missing paths, a table of every mask rather than of those found
_EMPTY = pl.lit([], dtype=pl.List(pl.String))
_SETTLED: dict[str, Any] = {"outcome": pl.String, "labels": pl.List(pl.String), "reasons": pl.List(pl.String)}
_NO_PATHS = Unknown(frozenset())


def check_supported(ruleset: Ruleset, decision: str) -> None:
    """Refuse, before any row is read, a decision the columnar engine does not decide: an amount decision,
    and any decision on a case (a procedure's steps, counted in working days of the official calendar).
    Raises :class:`NotSupported` (naming the construct and the row engine) and
    :class:`povrules.EvaluationError` for no such decision."""
    spec = ruleset.decision(decision)
    if spec.kind == "amount":
        raise NotSupported(
            decision,
            "an amount decision",
            decision,
            message=f"decision {decision!r} is an amount decision: the columnar engine does not compute amounts; "
            + ROW_ENGINE,
        )
    if ruleset.subject == "case":
        raise NotSupported(
            decision,
            "a decision on a case",
            decision,
            message=f"decision {decision!r} is on a case (subject: case): the columnar engine does not decide "
            "procedures (a case's steps, first()/last(), working days of the official calendar); " + ROW_ENGINE,
        )


def translate_decision(ruleset: Ruleset, decision: str, as_of: date) -> tuple[Plan, list[Translated | None]]:
    """The plain plan of ``decision`` and each of its rules translated (None: not in force on ``as_of``).

    Raises :class:`NotSupported` for an amount decision (amounts are the row engine's) and for the first rule
    that cannot be translated, and
    :class:`povrules.EvaluationError` as the row engine does (no such decision, a parameter the
    rules read has no value on the date).
    """
    prepared = plan(ruleset, decision, traced=False)
    check_supported(ruleset, decision)
    prepared.bind(as_of)
    translator = Translator(ruleset, as_of)
    return prepared, [translator.rule(rule.id) if rule.in_force(as_of) else None for rule in prepared.rules]


def _values(frame: pl.DataFrame, translated: list[Translated | None], rules: tuple[Any, ...]) -> pl.DataFrame:
    exprs = [
        t.value if t is not None else pl.lit(None, dtype=pl.Boolean).alias(rule.id)
        for t, rule in zip(translated, rules)
    ]
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
        self._missing_parts: dict[int, tuple[list[pl.Expr], Missing]] | None = None
        self._missing_refused = False

    @property
    def is_ranking(self) -> bool:
        """Whether the decision is a ranking (its sort keys are not decided in columns)."""
        return self.plan.spec.kind == "ranking"

    def rule_values(self, frame: pl.DataFrame, *, facts: Sequence[FactModel] | None = None) -> pl.DataFrame:
        """See :func:`rule_values_frame`."""
        frame = nested_frame(frame, subject=self.ruleset.subject)
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

    def decide(
        self, frame: pl.DataFrame, *, missing: bool = True, facts: Sequence[FactModel] | None = None
    ) -> pl.DataFrame:
        """See :func:`decide_frame`. Raises :class:`NotSupported` for a ranking, and as it does."""
        if self.is_ranking:
            raise NotSupported(self.decision, "a ranking decision (sort keys)", self.plan.spec.name)
        prepared, as_of = self.plan, self.as_of
        frame = nested_frame(frame, subject=self.ruleset.subject)
        values = _values(frame, self.translated, prepared.rules)
        n = values.height

        relevant: dict[Any, tuple[int, ...]] | None = None  # pattern → rules whose missing facts count
        if prepared.reads_facts:
            # Overrides looked up in columns: each default-strength exception's effect joins the pattern.
            coded, settled, relevant = self._settle_with_effects(frame, values)
            patterns = coded["_code"]
        else:
            patterns, table, relevant = self._patterns(values)
            settled = table.select(pl.all().gather(patterns))

        result = values.select("id", HAZARD).hstack(settled)
        in_columns = None  # the missing facts of undetermined rows, computed in columns (None: cannot be)
        if missing and relevant is not None:
            in_columns = self._missing_in_columns(frame, result, patterns, relevant)
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
            result = result.with_columns(_empty_lists(n))
        if again:
            made_again = [prepared.decide(f, as_of) for f in _models(frame, again, self.ruleset.subject, facts)]
            redone: dict[str, list[Any]] = {
                "outcome": [m.outcome for m in made_again],
                "labels": [list(m.labels) for m in made_again],
                "reasons": [list(m.reasons) for m in made_again],
            }
            if missing:
                redone["missing"] = [list(m.missing) for m in made_again]
            result = result.with_columns(_patched(result[c], again, v) for c, v in redone.items())
        result = result.drop(HAZARD)
        return result.select("id", "outcome", "labels", *(["missing"] if missing else []), "reasons")

    def _settle_with_effects(
        self, frame: pl.DataFrame, values: pl.DataFrame
    ) -> tuple[pl.DataFrame, pl.DataFrame, dict[Any, tuple[int, ...]]]:
        """For a decision whose exceptions look up overrides: each row's pattern of rule values and
        exception effects (:func:`_effects`) as one code, each distinct pattern settled once
        (:meth:`povrules.Plan.settle` with ``effects``). Returns (id and code per row, the settled
        outcome, labels and reasons per row, pattern code → relevant rules)."""
        prepared, names = self.plan, self.names
        defeasible = prepared.defeasible
        effects = [f"_effect{i}" for i in defeasible]
        wide = 3 ** len(names) * len(EFFECTS) ** len(effects) >= 2**63
        dtype = pl.Int128 if wide else pl.Int64
        code = _pattern_code(names).cast(dtype)
        for position, column in enumerate(effects):
            code = code + pl.col(column).cast(dtype) * (3 ** len(names) * len(EFFECTS) ** position)
        # Where the rule does not hold its effect cannot matter: fired (0), so that it adds no pattern.
        masked = [
            pl.when(pl.col(names[i]).eq_missing(False))
            .then(pl.lit(0, dtype=pl.Int8))
            .otherwise(pl.col(column))
            .alias(column)
            for i, column in zip(defeasible, effects)
        ]
        with_effects = values.hstack(frame.select(_effects(prepared, self.as_of, self.in_force, frame.columns)))
        coded = with_effects.with_columns(masked).select(pl.col("id"), code.alias("_code"), *names, *effects)
        patterns = coded.select("_code", *names, *effects).unique(subset="_code")
        answers: dict[str, list[Any]] = {"_code": [], "outcome": [], "labels": [], "reasons": []}
        relevant: dict[Any, tuple[int, ...]] = {}
        for key, *row in patterns.iter_rows():
            made = self._settled.get(key)
            if made is None:
                pattern = _engine_values(row[: len(names)], self.in_force)
                made = self._settled[key] = prepared.settle(
                    pattern, self.as_of, effects=[EFFECTS[e] for e in row[len(names) :]]
                )
            if made.relevant:
                relevant[key] = made.relevant
            answers["_code"].append(key)
            answers["outcome"].append(made.outcome)
            answers["labels"].append(list(made.labels))
            answers["reasons"].append(list(made.reasons))
        table = pl.DataFrame(answers, schema={"_code": dtype, **_SETTLED})
        settled = coded.select("_code").join(table, on="_code", how="left", maintain_order="left").drop("_code")
        return coded.select("id", "_code"), settled, relevant

    def _patterns(self, values: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame, dict[int, tuple[int, ...]]]:
        """Each row's pattern of rule values as a dense index into a table of the distinct patterns'
        outcome, labels and reasons (each settled once), and the relevant rules of each pattern
        whose outcome is undetermined (by index)."""
        names = self.names
        codes = values.select(_pattern_code(names)).to_series()
        distinct = codes.unique().to_list()
        answers: dict[str, list[Any]] = {"outcome": [], "labels": [], "reasons": []}
        relevant: dict[int, tuple[int, ...]] = {}
        for index, code in enumerate(distinct):
            made = self.settle(code, _pattern_values(code, len(names)))
            if made.relevant:
                relevant[index] = made.relevant
            answers["outcome"].append(made.outcome)
            answers["labels"].append(list(made.labels))
            answers["reasons"].append(list(made.reasons))
        if 3 ** len(names) <= _LOOKUP_LIMIT:
            # Few rules: the code itself indexes a lookup array (no hashing per row).
            lookup = pl.zeros(3 ** len(names), dtype=pl.UInt32, eager=True)
            lookup.scatter(distinct, _count(0, len(distinct)))
            patterns = lookup.gather(codes)
        else:
            patterns = codes.replace_strict(distinct, list(range(len(distinct))), return_dtype=pl.UInt32)
        return patterns, pl.DataFrame(answers, schema=_SETTLED), relevant

    def _parts(self, needed: Sequence[int]) -> dict[int, tuple[list[pl.Expr], Missing]] | None:
        """Each needed rule's missing facts as (helper columns, :class:`Missing` reading them),
        translated once; None when one of them has no translation."""
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
                self._missing_parts[i] = translator.missing_set(
                    self.plan.rules[i].id, f"_missing{i}_", where_unknown=True
                )
            except NotSupported:
                self._missing_refused = True
                return None
        return {i: self._missing_parts[i] for i in needed if self.in_force[i]}

    def _missing_in_columns(
        self, frame: pl.DataFrame, result: pl.DataFrame, patterns: pl.Series, relevant: dict[Any, tuple[int, ...]]
    ) -> pl.Series | None:
        """Each row's missing facts (empty for determined and hazard rows): the sorted union of the
        relevant rules' missing sets, the relevant rules being learnt once per pattern (``relevant``:
        pattern (a value of ``patterns``) → rule indices, from :meth:`Plan.settle`). None when a rule
        the patterns name has no translation of its missing facts.

        Only undetermined rows are computed, and strings are not built per row: each path known
        when translating is one bit of a row's mask (set where the path is missing and one of the
        row's relevant rules names it), each distinct mask is made a sorted list once, and rows
        get it by index. Paths naming a list element are built only on rows where one can occur."""
        n = result.height
        needed = sorted({i for rules in relevant.values() for i in rules})
        parts = self._parts(needed)
        if parts is None:
            return None
        keys = list(relevant)
        rows = result.select(pl.arg_where(pl.lit(patterns).is_in(keys) & ~pl.col(HAZARD))).to_series()
        if rows.len() == 0 or not parts:
            return _empty_lists(n)
        # Per rule, whether it is relevant to the row's pattern (and so unknown).
        on_rows = patterns.gather(rows)
        gates = {i: f"_relevant{i}" for i in parts}
        relevance = [on_rows.is_in([k for k in keys if i in relevant[k]]).alias(gates[i]) for i in parts]
        helpers = [h for found, _ in parts.values() for h in found]
        made = {h.meta.output_name() for h in helpers} | set(gates.values())
        roots = sorted(
            {
                r
                for found, m in parts.values()
                for e in [*found, *m.static.values(), *(x for pair in m.dynamic for x in pair)]
                for r in e.meta.root_names()
            }
            - made
        )
        sub = frame.select(roots)[rows].with_columns(relevance).with_columns(helpers)

        paths = sorted({p for _, m in parts.values() for p in m.static})
        bits = []
        for p in paths:
            present = [
                (pl.col(gates[i]) & m.static[p]).fill_null(False) for i, (_, m) in parts.items() if p in m.static
            ]
            bits.append(pl.any_horizontal(present))
        dynamic = [
            ((pl.col(gates[i]) & gate).fill_null(False), listed)
            for i, (_, m) in parts.items()
            for gate, listed in m.dynamic
        ]
        words = [
            pl.sum_horizontal([b.cast(pl.Int64) * (1 << j) for j, b in enumerate(bits[w : w + _WORD])]).alias(
                f"_word{w}"
            )
            for w in range(0, len(bits), _WORD)
        ]
        any_dynamic = pl.any_horizontal([g for g, _ in dynamic]) if dynamic else pl.lit(False)
        coded = sub.select(*words, any_dynamic.alias("_dynamic"))
        word_names = [f"_word{w}" for w in range(0, len(bits), _WORD)]
        lists: list[list[str]]
        if len(paths) <= _DIRECT_BITS:
            # Few paths: the mask itself indexes a table of every mask (0, no path, for other rows).
            mask = coded["_word0"].cast(pl.UInt32) if paths else pl.zeros(rows.len(), dtype=pl.UInt32, eager=True)
            lists = [[] for _ in range(1 << len(paths))]
            for code in mask.unique().to_list():
                lists[code] = [p for j, p in enumerate(paths) if code >> j & 1]
            table = pl.Series("missing", lists, dtype=pl.List(pl.String))
            index = pl.zeros(n, dtype=pl.UInt32, eager=True)
            index.scatter(rows, mask)
        else:
            mask, first = _dense(coded, word_names)
            # Each distinct mask's paths, in sorted order (bits follow the sorted paths).
            lists = [[]]  # 0: no path, for other rows
            for row in coded.select(word_names)[first].iter_rows():
                lists.append(
                    [
                        p
                        for w, word in enumerate(row)
                        for j, p in enumerate(paths[w * _WORD : (w + 1) * _WORD])
                        if word >> j & 1
                    ]
                )
            table = pl.Series("missing", lists, dtype=pl.List(pl.String))
            index = pl.zeros(n, dtype=pl.UInt32, eager=True)
            index.scatter(rows, mask + 1)
        with_elements = coded.select(pl.arg_where(pl.col("_dynamic"))).to_series()
        if with_elements.len():
            # Rows where a list element may be named: their static paths plus the element paths.
            named = table.gather(index.gather(rows.gather(with_elements)))
            extra = (
                sub[with_elements]
                .with_columns(named.alias("_static"))
                .select(
                    pl.concat_list(
                        [
                            pl.col("_static"),
                            *(pl.when(g).then(listed.fill_null(_EMPTY)).otherwise(_EMPTY) for g, listed in dynamic),
                        ]
                    )
                    .list.unique()
                    .list.sort()
                    .alias("missing")
                )
                .to_series()
            )
            index.scatter(rows.gather(with_elements), _count(table.len(), extra.len()))
            table = pl.concat([table, extra])
        return table.gather(index).alias("missing")


def frame_plan(ruleset: Ruleset, decision: str, as_of: date) -> FramePlan:
    """``decision`` of ``ruleset`` on ``as_of``, translated for frames (see :class:`FramePlan`).
    Raises as :func:`translate_decision` does."""
    return FramePlan(ruleset, decision, as_of)


def rule_values_frame(
    frame: pl.DataFrame, ruleset: Ruleset, decision: str, as_of: date, *, facts: Sequence[FactModel] | None = None
) -> pl.DataFrame:
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
        code = code + digit * (3**i)
    return code


def decide_frame(
    frame: pl.DataFrame,
    ruleset: Ruleset,
    decision: str,
    as_of: date,
    *,
    missing: bool = True,
    facts: Sequence[FactModel] | None = None,
) -> pl.DataFrame:
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


def explain_row(
    frame: pl.DataFrame, row: int, ruleset: Ruleset, decision: str, as_of: date, *, trace: bool = True
) -> Decision:
    """One row's decision with its full trace, on demand: the row's facts taken back from the frame
    (:func:`povrules.columnar.facts_of`) and decided by the row engine, so that ``to_json()``,
    ``explain()`` and records are byte for byte those of deciding the household alone.

    Raises :class:`~povrules.errors.RowOutOfRange` (an ``IndexError``) for a row outside the frame, and as :func:`povrules.evaluate` raises.
    """
    if not -frame.height <= row < frame.height:
        raise RowOutOfRange(f"row {row} is outside the frame's {frame.height} rows")
    facts = facts_of(nested_frame(frame, subject=ruleset.subject), [row % frame.height], subject=ruleset.subject)[0]
    return plan(ruleset, decision, traced=trace).decide(facts, as_of)


def _effects(prepared: Plan, as_of: date, in_force: list[bool], columns: Sequence[str]) -> list[pl.Expr]:
    """Each default-strength exception's effect per row, as its index in :data:`povrules.engine.EFFECTS`
    (named ``_effect{i}``, ``i`` the rule's index), from the frame's ``overrides`` list as
    :meth:`povrules.Plan.effects` reads them: of the records of this rule by a body it names, dated
    on or before ``as_of``, the latest date's decide (upheld: fired; set aside: overridden; both:
    contradicted); none, or an unknown list, leaves it pending. A rule not in force is given fired
    (0): its effect cannot matter."""
    fired, pending, overridden, contradicted = (
        EFFECTS.index(e) for e in ("fired", "pending", "overridden", CONTRADICTED)
    )
    record = pl.element()
    out = []
    for i in prepared.defeasible:
        rule, name = prepared.rules[i], f"_effect{i}"
        if not in_force[i] or "overrides" not in columns:  # no column: nothing recorded, as for a null list
            out.append(pl.lit(fired if not in_force[i] else pending, dtype=pl.Int8).alias(name))
            continue
        of_rule = (
            (record.struct.field("rule") == rule.id)
            & record.struct.field("body").is_in(list(rule.override_by))
            & (record.struct.field("decided_on") <= pl.lit(as_of))
        )

        def last(outcome: str, of_rule: pl.Expr = of_rule) -> pl.Expr:
            """The latest date this rule was decided ``outcome`` (null: never, or the list unknown)."""
            chosen = record.filter(of_rule & (record.struct.field("outcome") == outcome))
            return pl.col("overrides").list.eval(chosen.struct.field("decided_on")).list.max()

        upheld, set_aside = last("upheld"), last("set_aside")
        effect = (
            pl.when(upheld.is_null() & set_aside.is_null())
            .then(pending)
            .when(set_aside.is_null() | (upheld > set_aside))
            .then(fired)
            .when(upheld.is_null() | (set_aside > upheld))
            .then(overridden)
            .otherwise(contradicted)
        )
        out.append(effect.cast(pl.Int8).alias(name))
    return out


def _pattern_values(code: int, rules: int) -> tuple[bool | None, ...]:
    """The rule values a pattern code stands for (see :func:`_pattern_code`)."""
    return tuple((False, True, None)[code // 3**i % 3] for i in range(rules))


def _dense(frame: pl.DataFrame, columns: Sequence[str]) -> tuple[pl.Series, pl.Series]:
    """Each row's distinct combination of ``columns`` (integers) as a dense index from 0, and the
    first row of each combination."""
    key: pl.Series | None = None
    for name in columns:
        rank = frame[name].rank("dense").cast(pl.UInt64)
        top = rank.max()  # an int; None for no rows
        width = top + 1 if isinstance(top, int) else 1
        key = rank if key is None else (key * width + rank).rank("dense").cast(pl.UInt64)
    if key is None:  # no static paths at all: one combination
        return pl.Series([0] * frame.height, dtype=pl.UInt32), pl.Series([0], dtype=pl.UInt32)
    index = (key - 1).cast(pl.UInt32)
    first = index.arg_unique()
    return index, first.gather(index.gather(first).arg_sort())


def _empty_lists(n: int) -> pl.Series:
    """``n`` empty lists of paths, without a Python list per row."""
    offsets = pa.repeat(pa.scalar(0, pa.int64()), n + 1)  # all lists start and end at 0
    return pl.Series("missing", pa.LargeListArray.from_arrays(offsets, pa.array([], pa.string())))


def _patched(column: pl.Series, rows: Sequence[int], values: Sequence[Any]) -> pl.Series:
    """``column`` with ``rows`` given ``values`` instead."""
    index = _count(0, column.len())
    index.scatter(list(rows), _count(column.len(), len(rows)))
    return pl.concat([column, pl.Series(column.name, values, dtype=column.dtype)]).gather(index)


def _count(start: int, n: int) -> pl.Series:
    """``start``, ``start + 1``, … (``n`` of them) as UInt32 row indices."""
    return pl.int_range(start, start + n, dtype=pl.UInt32, eager=True)


def _engine_values(row: Any, in_force: list[bool]) -> tuple[Any, ...]:
    """Column values as the engine's: None (not in force), True/False, or an Unknown for null."""
    return tuple(None if not live else (_NO_PATHS if v is None else v) for v, live in zip(row, in_force))
