"""The peers and anchors of issue 12's columnar benchmark, over a million synthetic households.

What is measured
    Households decided per second, and the peak memory of the run, for the three-rule set of
    ``benchmarks/identification.py`` (a car excludes; per-capita net income below the line
    identifies; otherwise not identified) by:

    * the povrules row engine (``evaluate_iter``, no trace) over validated ``Household`` models, on
      a subset (``--row-households``, 100,000 by default), and the same engine on a full shipped
      decision (Hunan ``monitoring_type``, ``rulesets/cn-hunan-county-plan4``, as of 2021-06-30)
      over ``povrules.synth.county``;
    * the anchors: OpenFisca's vectorised formula over flat columns (a boolean "has a car" and a
      float income, as OpenFisca is fed); one bare polars expression over the nested facts and one
      over the flat columns; numpy over the flat columns; polars reading the nested Parquet file
      and deciding it (the like-for-like of a Spark job);
    * Spark ``local[2]`` over the nested facts in Parquet: the three rules as Spark SQL
      expressions, and ``mapInArrow`` handing each Arrow batch to Python, once doing nothing (the
      cost of the hand-over alone), once applying the polars expression, once doing nothing but
      return columns of the decisions' types, written to Parquet (the hand-over bound of
      ``povrules.spark``), and ``povrules.spark`` itself, its decisions written to Parquet;
    * the columnar engine doing that Spark job's work in one process: the same nested Parquet
      file read (``read_frame``), decided and the decisions written to Parquet;
    * the columnar engine (``povrules.columnar.decide_frame``: outcome, labels, missing facts and
      reasons for every household) over the nested facts, over them with one income in ten and one
      vehicle list in twenty unknown, over the flat layout (``income.per_capita_net`` and
      ``assets.vehicles.kind`` as top-level columns, prepared beforehand as OpenFisca's are), and on
      Hunan ``monitoring_type``.

How
    The nested facts are generated vectorised (numpy, Arrow) with ``make_households``'s
    distributions, written once to Parquet under ``.benchmarks/`` (git-ignored; ``--fresh`` makes
    them again), and the flat columns derived from them. Each runner runs in a fresh subprocess:
    it loads its input, builds its job (Spark's session start-up and one warm-up job included:
    none of it timed), runs once untimed to check its answers, then keeps the best of
    ``--repeats`` timed runs (``time.perf_counter``). Before the parent prints anything it checks
    that every runner over the same households gives the same outcome for each (a digest of the
    outcomes over the row engine's subset) and the same counts (exit status 1 if not).

Memory
    tracemalloc sees neither polars, Arrow nor the JVM, so memory is the resident set: with its
    input loaded and its job built, just before the untimed run, the subprocess resets its
    high-water mark (``5`` written to ``/proc/self/clear_refs``) and notes its ``VmRSS``; after
    the timed runs ``VmHWM − VmRSS then`` is the peak the runs added above their loaded input,
    printed beside that resident size. The untimed run is inside the window because an allocator
    that keeps freed memory (polars', the JVM's) would hide the working memory from later runs.
    For Spark the same is done for every process under the subprocess (the JVM and Python
    workers) and summed: an upper bound, since the processes need not peak at once.

Run ``python benchmarks/columnar.py`` (``make bench-columnar``); ``--households N``, ``--only
TEXT`` to run only the runners whose name contains it. It is a measurement, not a test: it exits 0
whether or not a target is met, and 1 only if runners disagree or one fails.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from processtree import descendants  # benchmarks/processtree.py: run as a script, this folder is on the path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = REPO / ".benchmarks"
RULESET = HERE / "rulesets" / "three_rules.yaml"
DECISION = "identify"
AS_OF = date(2016, 6, 30)
HUNAN = REPO / "rulesets" / "cn-hunan-county-plan4"
HUNAN_DECISION, HUNAN_AS_OF = "monitoring_type", date(2021, 6, 30)
SEED = 20161

# Outcome codes every vectorised runner returns; the labels are the ruleset's.
LABELS = ("identified", "not_identified", "excluded", "undetermined")
IDENTIFIED, NOT_IDENTIFIED, EXCLUDED = 0, 1, 2
CODE = {label: i for i, label in enumerate(LABELS)}

# The distributions of benchmarks/identification.py's make_households, restated for numpy.
CROWD_AT_CENTS = 400_000
NEAR_STEPS_CENTS = (1, 1, 1, 5, 50, 100)
OTHER_VEHICLES = (
    "minivan",
    "passenger_vehicle",
    "truck",
    "motorcycle",
    "tricycle",
    "agricultural_vehicle",
    "engineering_machinery",
    "large_agricultural_machinery",
)
KINDS = ("car", *OTHER_VEHICLES)  # code 0 is the car
MONEY_DIGITS, MONEY_PLACES = 14, 2  # povrules' Money: max_digits 14, two decimal places

RESULT = "RESULT "  # the prefix of the one line a runner subprocess hands back


# Data


def make_nested(n: int, seed: int = SEED) -> Any:
    """``n`` households as a polars frame of nested facts: ``id``, ``income.per_capita_net`` (Decimal)
    and ``assets.vehicles[].kind``, drawn as ``make_households`` draws them but with numpy.

    Not the same households as ``make_households(n, seed)`` (another generator), the same shares:
    8 % exactly on the line, 17 % a cent to a yuan either side, the rest 300–9,000 yuan; 15 % own a
    car (with 0–2 other vehicles, the car anywhere in the list), 25 % only other vehicles.
    """
    import polars as pl
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    draw = rng.random(n)
    cents = rng.integers(30_000, 900_000, n, endpoint=True)
    near = (draw >= 0.08) & (draw < 0.25)
    step = rng.choice(np.array(NEAR_STEPS_CENTS), n)
    cents = np.where(near, CROWD_AT_CENTS + np.where(rng.random(n) < 0.5, step, -step), cents)
    cents = np.where(draw < 0.08, CROWD_AT_CENTS, cents).astype(np.int64)

    vdraw = rng.random(n)
    car = vdraw < 0.15
    others_only = (vdraw >= 0.15) & (vdraw < 0.40)
    n_others = np.where(
        car, rng.choice(np.array((0, 0, 1, 2)), n), np.where(others_only, rng.choice(np.array((1, 1, 2, 3)), n), 0)
    )
    owners = np.flatnonzero(car | others_only)
    k = len(owners)
    # Each owner: the car (column 0) and a random order of the other kinds; the first n_others of
    # those are kept, then everything kept is shuffled by sorting on random keys (unkept sort last).
    candidates = np.empty((k, len(KINDS)), dtype=np.int8)
    candidates[:, 0] = 0
    candidates[:, 1:] = np.argsort(rng.random((k, len(OTHER_VEHICLES))), axis=1) + 1
    kept = np.zeros((k, len(KINDS)), dtype=bool)
    kept[:, 0] = car[owners]
    kept[:, 1:] = np.arange(len(OTHER_VEHICLES)) < n_others[owners][:, None]
    order = np.argsort(np.where(kept, rng.random((k, len(KINDS))), 2.0), axis=1)
    kinds = np.take_along_axis(candidates, order, 1)[np.take_along_axis(kept, order, 1)]
    lengths = np.zeros(n, dtype=np.int32)
    lengths[owners] = kept.sum(axis=1)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)

    # Decimals built from their unscaled integers (128-bit little-endian), so every cent is exact.
    unscaled = np.empty((n, 2), dtype=np.int64)
    unscaled[:, 0], unscaled[:, 1] = cents, cents >> 63
    money = pa.Array.from_buffers(pa.decimal128(MONEY_DIGITS, MONEY_PLACES), n, [None, pa.py_buffer(unscaled)])
    kind = pa.DictionaryArray.from_arrays(pa.array(kinds, pa.int8()), pa.array(KINDS)).cast(pa.string())
    vehicles = pa.ListArray.from_arrays(pa.array(offsets), pa.StructArray.from_arrays([kind], ["kind"]))
    ids = pl.select(pl.lit("bench-") + pl.int_range(n, dtype=pl.Int64).cast(pl.String).str.zfill(7)).to_series()
    table = pa.table(
        {
            "id": ids.to_arrow(),
            "income": pa.StructArray.from_arrays([money], ["per_capita_net"]),
            "assets": pa.StructArray.from_arrays([vehicles], ["vehicles"]),
        }
    )
    return pl.from_arrow(table)


def has_car_expr() -> Any:
    """Whether any vehicle of the nested facts is of kind "car" (no vehicle: false, never unknown)."""
    import polars as pl

    return pl.col("assets").struct.field("vehicles").list.eval(pl.element().struct.field("kind") == "car").list.any()


def three_rules_expr(has_car: Any, income: Any, line: Any) -> Any:
    """The three rules as one polars expression giving an Int8 outcome code."""
    import polars as pl

    return (
        pl.when(has_car)
        .then(pl.lit(EXCLUDED, pl.Int8))
        .when(income < line)
        .then(pl.lit(IDENTIFIED, pl.Int8))
        .otherwise(pl.lit(NOT_IDENTIFIED, pl.Int8))
        .alias("outcome")
    )


def nested_expr(line: Decimal) -> Any:
    import polars as pl

    return three_rules_expr(has_car_expr(), pl.col("income").struct.field("per_capita_net"), pl.lit(line))


def flat_expr(line: Decimal) -> Any:
    import polars as pl

    return three_rules_expr(pl.col("has_car"), pl.col("income"), pl.lit(float(line)))


def make_flat(nested: Any) -> Any:
    """The flat columns OpenFisca is fed: a boolean ``has_car`` and a float ``income``."""
    import polars as pl

    return nested.select(
        has_car_expr().alias("has_car"),
        pl.col("income").struct.field("per_capita_net").cast(pl.Float64).alias("income"),
    )


def describe(nested: Any) -> dict[str, float]:
    """The shares that make the data what make_households makes: cars, other vehicles, the line."""
    import polars as pl

    kinds = pl.col("assets").struct.field("vehicles").list.eval(pl.element().struct.field("kind"))
    cents = (pl.col("income").struct.field("per_capita_net") * 100).cast(pl.Int64)
    row = nested.select(
        has_car_expr().mean().alias("car"),
        ((kinds.list.len() > 0) & ~has_car_expr()).mean().alias("others only"),
        (cents == CROWD_AT_CENTS).mean().alias("on the line"),
        (((cents - CROWD_AT_CENTS).abs() <= 100) & (cents != CROWD_AT_CENTS)).mean().alias("within 1 yuan"),
    ).row(0, named=True)
    return {k: float(v) for k, v in row.items()}


def describe_reference(n: int) -> dict[str, float]:
    """The same shares over ``make_households(n)``, the row generator the vectorised one restates."""
    sys.path.insert(0, str(HERE))
    from identification import make_households

    households = make_households(n, SEED)
    line = Decimal(CROWD_AT_CENTS) / 100
    kinds = [{v["kind"] for v in h["assets"]["vehicles"]} for h in households]
    incomes = [h["income"]["per_capita_net"] for h in households]
    return {
        "car": sum("car" in k for k in kinds) / n,
        "others only": sum(bool(k) and "car" not in k for k in kinds) / n,
        "on the line": sum(i == line for i in incomes) / n,
        "within 1 yuan": sum(abs(i - line) <= 1 and i != line for i in incomes) / n,
    }


@dataclass(frozen=True)
class Data:
    """Where a run's inputs lie, and how many households they hold."""

    folder: Path
    households: int
    row_households: int

    @property
    def nested(self) -> Path:
        return self.folder / "nested.parquet"

    @property
    def flat(self) -> Path:
        return self.folder / "flat.parquet"


def prepare(n: int, row_households: int, fresh: bool) -> tuple[Data, list[str]]:
    """The Parquet inputs for ``n`` households, made unless already there; lines describing them."""
    import polars as pl

    data = Data(WORK / f"columnar-{n}-{SEED}", n, row_households)
    lines = []
    if fresh or not (data.nested.exists() and data.flat.exists()):
        data.folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        nested = make_nested(n, SEED)
        made = time.perf_counter() - started
        started = time.perf_counter()
        flat = make_flat(nested)
        flattened = time.perf_counter() - started
        nested.write_parquet(data.nested)
        flat.write_parquet(data.flat)
        lines.append(
            f"  made: nested facts in {made:.2f} s (vectorised); flat columns from them in "
            f"{flattened:.3f} s ({n / flattened:,.0f} households/s, not part of any figure below)"
        )
    nested = pl.read_parquet(data.nested)
    ours, theirs = describe(nested), describe_reference(min(n, 50_000))
    lines.append(
        "  shares (this data | make_households, 50,000): "
        + "; ".join(f"{k} {ours[k]:.1%} | {theirs[k]:.1%}" for k in ours)
    )
    return data, lines


# Runners. Each builder loads its input and returns the function to time (nothing it does is timed);
# that function returns the outcomes, as codes per household or as counts per label.

Outcomes = np.ndarray | dict[str, int] | list[str]


def _line() -> Decimal:
    import povrules

    return povrules.load_ruleset(RULESET).parameters_as_of(AS_OF)["income_line"].value


def row_engine(data: Data) -> Callable[[], Outcomes]:
    import polars as pl

    import povrules

    ruleset = povrules.load_ruleset(RULESET)
    rows = pl.read_parquet(data.nested).head(data.row_households).to_dicts()
    households = [povrules.parse_household(row) for row in rows]
    del rows

    def run() -> Outcomes:
        decisions = povrules.evaluate_iter(households, ruleset, DECISION, as_of=AS_OF, trace=False)
        return np.fromiter((CODE[d.outcome] for d in decisions), dtype=np.int8, count=len(households))

    return run


def row_engine_hunan(data: Data) -> Callable[[], Outcomes]:
    import povrules
    from povrules.synth import county

    ruleset = povrules.load_ruleset(HUNAN)
    households = county(data.row_households, SEED, as_of=HUNAN_AS_OF)

    def run() -> Outcomes:
        decisions = povrules.evaluate_iter(households, ruleset, HUNAN_DECISION, as_of=HUNAN_AS_OF, trace=False)
        return [d.outcome for d in decisions]

    return run


def polars_nested(data: Data) -> Callable[[], Outcomes]:
    import polars as pl

    frame, expr = pl.read_parquet(data.nested), nested_expr(_line())
    return lambda: frame.select(expr).to_series().to_numpy()


def polars_flat(data: Data) -> Callable[[], Outcomes]:
    import polars as pl

    frame, expr = pl.read_parquet(data.flat), flat_expr(_line())
    return lambda: frame.select(expr).to_series().to_numpy()


def polars_parquet(data: Data) -> Callable[[], Outcomes]:
    import polars as pl

    expr, path = nested_expr(_line()), data.nested

    def run() -> Outcomes:
        counts = pl.scan_parquet(path).select(expr).group_by("outcome").len().collect()
        return {LABELS[code]: count for code, count in counts.iter_rows()}

    return run


def numpy_flat(data: Data) -> Callable[[], Outcomes]:
    import polars as pl

    flat = pl.read_parquet(data.flat)
    has_car, income, line = flat["has_car"].to_numpy(), flat["income"].to_numpy(), float(_line())
    excluded, identified, not_identified = np.int8(EXCLUDED), np.int8(IDENTIFIED), np.int8(NOT_IDENTIFIED)
    return lambda: np.where(has_car, excluded, np.where(income < line, identified, not_identified))


def openfisca_flat(data: Data) -> Callable[[], Outcomes]:
    """OpenFisca's vectorised formula: one entity, two input variables, the line a parameter."""
    import polars as pl
    from openfisca_core.entities import build_entity
    from openfisca_core.indexed_enums import Enum
    from openfisca_core.parameters import ParameterNode
    from openfisca_core.periods import YEAR
    from openfisca_core.simulations import SimulationBuilder
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    household = build_entity(key="household", plural="households", label="Household", is_person=True)

    class Outcome(Enum):
        # In CODE's order, so that the enum's indices are the outcome codes.
        identified = "identified"
        not_identified = "not_identified"
        excluded = "excluded"

    class has_car(Variable):  # noqa: N801 - OpenFisca names a variable by its class
        value_type, entity, definition_period, label = bool, household, YEAR, "Owns a car"

    class per_capita_net_income(Variable):  # noqa: N801
        value_type, entity, definition_period, label = float, household, YEAR, "Per-capita net income"

    class identification(Variable):  # noqa: N801
        value_type, entity, definition_period, label = Enum, household, YEAR, "Identification outcome"
        possible_values, default_value = Outcome, Outcome.not_identified

        def formula(households: Any, period: Any, parameters: Any) -> Any:  # OpenFisca calls it unbound
            income_line = parameters(period).income_line
            return np.select(
                [households("has_car", period), households("per_capita_net_income", period) < income_line],
                [Outcome.excluded.index, Outcome.identified.index],
                Outcome.not_identified.index,
            )

    system = TaxBenefitSystem([household])
    system.parameters = ParameterNode("", data={"income_line": {"values": {"2016-01-01": {"value": float(_line())}}}})
    system.add_variables(has_car, per_capita_net_income, identification)

    flat = pl.read_parquet(data.flat)
    cars, incomes = flat["has_car"].to_numpy(), flat["income"].to_numpy()
    period = str(AS_OF.year)
    # calculate() keeps what it computed, so each timed run gets a simulation of its own, made beforehand.
    fresh: list[Any] = []

    def simulation() -> Any:
        sim = SimulationBuilder().build_default_simulation(system, count=len(cars))
        sim.set_input("has_car", period, cars)
        sim.set_input("per_capita_net_income", period, incomes)
        return sim

    def run() -> Outcomes:
        sim = fresh.pop() if fresh else simulation()
        return np.asarray(sim.calculate("identification", period)).astype(np.int8)

    def prepare_next() -> None:
        fresh.append(simulation())

    run.before_each = prepare_next  # type: ignore[attr-defined]
    return run


# Spark. The session is started, and one job run, before anything is timed.

ARROW_BATCH = "POVRULES_BENCH_ARROW_BATCH"  # rows per Arrow batch handed to mapInArrow (Spark's default 10,000)
SPARK_SQL = (
    "CASE WHEN exists(assets.vehicles, v -> v.kind = 'car') THEN 2 "
    "WHEN income.per_capita_net < {line} THEN 0 ELSE 1 END"
)


def spark_session() -> Any:
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers must import polars from this environment
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("povrules-bench-columnar")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")  # the counts are tiny: no 200-way shuffle
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", os.environ.get(ARROW_BATCH, "10000"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _spark_counts(frame: Any) -> dict[str, int]:
    return {LABELS[row[0]]: row[1] for row in frame.groupBy("outcome").count().collect()}


def spark_sql(data: Data) -> Callable[[], Outcomes]:
    from pyspark.sql import functions as F

    spark = spark_session()
    outcome = F.expr(SPARK_SQL.format(line=_line())).cast("tinyint").alias("outcome")
    return lambda: _spark_counts(spark.read.parquet(str(data.nested)).select(outcome))


def _arrow_noop(batches: Iterator[Any]) -> Iterator[Any]:
    import pyarrow as pa

    for batch in batches:
        # Zeros rather than answers: this run times the hand-over, and its counts are not checked.
        yield pa.RecordBatch.from_arrays([pa.array(np.zeros(batch.num_rows, dtype=np.int8))], ["outcome"])


def _arrow_polars(line: Decimal) -> Callable[[Iterator[Any]], Iterator[Any]]:
    def apply(batches: Iterator[Any]) -> Iterator[Any]:
        import polars as pl

        expr = nested_expr(line)  # built in the worker: an expression is made, not shipped
        for batch in batches:
            yield from pl.from_arrow(batch).select(expr).to_arrow().to_batches()

    return apply


def spark_arrow_noop(data: Data) -> Callable[[], Outcomes]:
    spark = spark_session()
    return lambda: _spark_counts(
        spark.read.parquet(str(data.nested)).select("income", "assets").mapInArrow(_arrow_noop, "outcome tinyint")
    )


def spark_arrow_polars(data: Data) -> Callable[[], Outcomes]:
    spark = spark_session()
    apply = _arrow_polars(_line())
    return lambda: _spark_counts(
        spark.read.parquet(str(data.nested)).select("income", "assets").mapInArrow(apply, "outcome tinyint")
    )


def _decisions(data: Data, runner: str) -> Path:
    """Where a runner writes its decisions (replaced on each run)."""
    return data.folder / "decisions" / runner


def _written_counts(path: Path) -> dict[str, int]:
    """Households per outcome in the decisions written at ``path`` (a file, or Spark's folder of parts)."""
    import polars as pl

    source = str(path / "*.parquet") if path.is_dir() else str(path)
    counts = pl.scan_parquet(source).group_by("outcome").len().collect()
    return dict(counts.iter_rows())


_NOOP_DECISIONS = "id string, outcome string, labels array<string>, missing array<string>, reasons array<string>"


def _arrow_noop_decisions(batches: Iterator[Any]) -> Iterator[Any]:
    """The no-op with the decisions' columns: each row's id and constant answers of povrules' types."""
    import pyarrow as pa

    strings = pa.list_(pa.string())
    for batch in batches:
        n = batch.num_rows
        # Placeholders rather than answers: this run times the hand-over of the decisions' shape.
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("id"),
                pa.nulls(n, pa.string()).fill_null("not_identified"),
                pa.repeat(pa.scalar(["not_identified"], strings), n),
                pa.repeat(pa.scalar([], strings), n),
                pa.repeat(pa.scalar(["placeholder"], strings), n),
            ],
            ["id", "outcome", "labels", "missing", "reasons"],
        )


def spark_arrow_noop_decisions(data: Data) -> Callable[[], Outcomes]:
    """The hand-over bound of a povrules job: the whole nested file to Python and the decisions'
    columns back, written to Parquet, with no work in Python."""
    spark = spark_session()
    out = _decisions(data, "spark-noop")

    def run() -> Outcomes:
        (
            spark.read.parquet(str(data.nested))
            .mapInArrow(_arrow_noop_decisions, _NOOP_DECISIONS)
            .write.mode("overwrite")
            .parquet(str(out))
        )
        return _written_counts(out)

    return run


def spark_columnar(data: Data) -> Callable[[], Outcomes]:
    """povrules.spark: each Arrow batch validated column-wise into the engine's frame and decided
    (outcome, labels, missing facts, reasons) by the columnar engine on the executors; the
    decisions written to Parquet, as the one-process runner writes them."""
    import povrules
    from povrules.spark import decide_spark

    spark = spark_session()
    ruleset = povrules.load_ruleset(RULESET)
    out = _decisions(data, "spark-povrules")

    def run() -> Outcomes:
        decided = decide_spark(spark.read.parquet(str(data.nested)), ruleset, DECISION, AS_OF)
        decided.write.mode("overwrite").parquet(str(out))
        return _written_counts(out)

    return run


def columnar_parquet(data: Data) -> Callable[[], Outcomes]:
    """The columnar engine doing the Spark job's work in one process: the nested Parquet file read
    and validated (``read_frame``), decided (outcome, labels, missing facts, reasons) with one
    ``FramePlan`` kept across runs (as a Spark worker keeps one), the decisions written to Parquet."""
    import povrules
    from povrules.columnar import frame_plan, read_frame

    plan = frame_plan(povrules.load_ruleset(RULESET), DECISION, AS_OF)
    out = _decisions(data, "columnar.parquet")
    out.parent.mkdir(parents=True, exist_ok=True)

    def run() -> Outcomes:
        plan.decide(read_frame(data.nested)).write_parquet(out)
        return _written_counts(out)

    return run


def _engine_frame(nested: Any) -> Any:
    """The benchmark's nested facts in the columnar engine's layout: amounts as integer fen (the
    engine's exact scaled integers), the rest as it is. Not timed: a caseload is read into this
    layout once (``povrules.columnar.read_frame``)."""
    import polars as pl

    fen = (pl.col("income").struct.field("per_capita_net") * 100).cast(pl.Int64).alias("per_capita_net")
    return nested.select("id", pl.struct(fen).alias("income"), "assets")


def columnar_nested(data: Data) -> Callable[[], Outcomes]:
    """The columnar engine on the three rules: outcome, labels and missing facts for every household."""
    import polars as pl

    import povrules
    from povrules.columnar import decide_frame

    ruleset = povrules.load_ruleset(RULESET)
    frame = _engine_frame(pl.read_parquet(data.nested))
    codes = pl.Enum(LABELS)

    def run() -> Outcomes:
        decided = decide_frame(frame, ruleset, DECISION, AS_OF)
        return decided["outcome"].cast(codes).to_physical().to_numpy()

    return run


def columnar_flat(data: Data) -> Callable[[], Outcomes]:
    """The columnar engine on the three rules over the flat layout, prepared beforehand as
    OpenFisca's columns are: ``income.per_capita_net`` (fen) and ``assets.vehicles.kind`` (a list of
    kinds per household), the rules' text unchanged. Outcome, labels and missing facts."""
    import polars as pl

    import povrules
    from povrules.columnar import decide_frame, flat_frame

    ruleset = povrules.load_ruleset(RULESET)
    frame = flat_frame(_engine_frame(pl.read_parquet(data.nested)))
    codes = pl.Enum(LABELS)

    def run() -> Outcomes:
        decided = decide_frame(frame, ruleset, DECISION, AS_OF)
        return decided["outcome"].cast(codes).to_physical().to_numpy()

    return run


def columnar_nested_unknown(data: Data) -> Callable[[], Outcomes]:
    """The same, with one income in ten and one vehicle list in twenty unknown (null): undetermined
    households and their missing facts. Its answers differ from the other runners' by design."""
    import polars as pl

    import povrules
    from povrules.columnar import decide_frame

    ruleset = povrules.load_ruleset(RULESET)
    frame = _engine_frame(pl.read_parquet(data.nested))
    row = pl.int_range(pl.len())
    frame = frame.with_columns(
        pl.when(row % 10 == 3).then(None).otherwise(pl.col("income")).alias("income"),
        pl.struct(
            pl.when(row % 20 == 7).then(None).otherwise(pl.col("assets").struct.field("vehicles")).alias("vehicles")
        ).alias("assets"),
    )

    def run() -> Outcomes:
        decided = decide_frame(frame, ruleset, DECISION, AS_OF)
        return dict(decided.group_by("outcome").len().iter_rows())

    return run


def columnar_hunan(data: Data) -> Callable[[], Outcomes]:
    """The columnar engine on Hunan's monitoring_type (36 rules' worth of a full shipped decision),
    missing facts included, over the row engine's subset of the synthetic county."""
    import povrules
    from povrules.columnar import caseload_frame, decide_frame
    from povrules.synth import county

    ruleset = povrules.load_ruleset(HUNAN)
    frame = caseload_frame(county(data.row_households, SEED, as_of=HUNAN_AS_OF))

    def run() -> Outcomes:
        return decide_frame(frame, ruleset, HUNAN_DECISION, HUNAN_AS_OF)["outcome"].to_list()

    return run


def _needs(*modules: str, java: bool = False) -> Callable[[], str | None]:
    def reason() -> str | None:
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        if missing:
            return f"{', '.join(missing)} not installed (make .venv/.installed installs the bench and spark extras)"
        if java and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
            return "no Java runtime (Spark 4 needs Java 17 or later)"
        return None

    return reason


@dataclass(frozen=True)
class Runner:
    name: str
    build: Callable[[Data], Callable[[], Outcomes]] | None
    data: str = "three rules"  # which households: "three rules" (the nested facts) or "Hunan county"
    rows: str = "all"  # "all" households of the data, or the row engine's "subset"
    available: Callable[[], str | None] = field(default=lambda: None)
    checked: bool = True  # False for a run whose answers are not decisions (the Spark no-op)
    threads: str = "1"


RUNNERS: list[Runner] = [
    Runner("row engine, three rules (evaluate_iter, no trace)", row_engine, rows="subset"),
    Runner("row engine, Hunan monitoring_type", row_engine_hunan, data="Hunan county", rows="subset"),
    Runner("columnar, three rules, nested facts", columnar_nested, threads="polars", available=_needs("polars")),
    Runner(
        "columnar, three rules, nested facts, 10 % unknown",
        columnar_nested_unknown,
        threads="polars",
        checked=False,
        available=_needs("polars"),
    ),
    Runner("columnar, three rules, flat columns", columnar_flat, threads="polars", available=_needs("polars")),
    Runner(
        "columnar, Hunan monitoring_type",
        columnar_hunan,
        data="Hunan county",
        rows="subset",
        threads="polars",
        available=_needs("polars"),
    ),
    Runner("OpenFisca vectorised, flat columns", openfisca_flat, available=_needs("openfisca_core")),
    Runner("polars expression, nested facts", polars_nested, threads="polars"),
    Runner("polars expression, flat columns", polars_flat, threads="polars"),
    Runner("numpy, flat columns", numpy_flat),
    Runner("polars, nested Parquet read + expression", polars_parquet, threads="polars"),
    Runner(
        "Spark local[2], SQL expressions, nested Parquet",
        spark_sql,
        threads="2",
        available=_needs("pyspark", java=True),
    ),
    Runner(
        "Spark local[2], mapInArrow no-op (hand-over only)",
        spark_arrow_noop,
        threads="2",
        checked=False,
        available=_needs("pyspark", "polars", java=True),
    ),
    Runner(
        "Spark local[2], mapInArrow + polars expression",
        spark_arrow_polars,
        threads="2",
        available=_needs("pyspark", "polars", java=True),
    ),
    Runner(
        "columnar, nested Parquet in → decisions out (one process)",
        columnar_parquet,
        threads="polars",
        available=_needs("polars"),
    ),
    Runner(
        "Spark local[2], mapInArrow no-op, decisions' columns → Parquet",
        spark_arrow_noop_decisions,
        threads="2",
        checked=False,
        available=_needs("pyspark", java=True),
    ),
    Runner(
        "Spark local[2], mapInArrow + columnar",
        spark_columnar,
        threads="2",
        available=_needs("pyspark", "polars", java=True),
    ),
]

BY_NAME = {runner.name: runner for runner in RUNNERS}

# The targets of issue 12: (label, runner, divided by runner or None for an absolute figure, at least).
# A ratio is printed only when both sides ran.
TARGETS: list[tuple[str, str, str | None, float]] = [
    ("columnar over nested facts ≥ 10M households/s", "columnar, three rules, nested facts", None, 10e6),
    (
        "columnar over nested facts with unknowns (missing facts listed) ≥ 10M households/s",
        "columnar, three rules, nested facts, 10 % unknown",
        None,
        10e6,
    ),
    (
        "columnar nested / bare polars nested (the limit)",
        "columnar, three rules, nested facts",
        "polars expression, nested facts",
        0.0,
    ),
    ("columnar flat / OpenFisca ≥ 1", "columnar, three rules, flat columns", "OpenFisca vectorised, flat columns", 1.0),
    ("full shipped decision (columnar Hunan) ≥ 1M households/s", "columnar, Hunan monitoring_type", None, 1e6),
    (
        "Spark mapInArrow + columnar / columnar nested ≥ 0.5 (within 2×)",
        "Spark local[2], mapInArrow + columnar",
        "columnar, three rules, nested facts",
        0.5,
    ),
    (
        "Spark / columnar on the same Parquet file ≥ 0.5 (within 2×)",
        "Spark local[2], mapInArrow + columnar",
        "columnar, nested Parquet in → decisions out (one process)",
        0.5,
    ),
    (
        "Spark povrules / its hand-over bound (no-op, decisions' columns → Parquet)",
        "Spark local[2], mapInArrow + columnar",
        "Spark local[2], mapInArrow no-op, decisions' columns → Parquet",
        0.0,
    ),
    # Anchors, so that the Spark and OpenFisca targets can be read before the columnar rows exist.
    (
        "anchor: bare polars flat / OpenFisca",
        "polars expression, flat columns",
        "OpenFisca vectorised, flat columns",
        0.0,
    ),
    (
        "anchor: Spark SQL / polars Parquet read + expression",
        "Spark local[2], SQL expressions, nested Parquet",
        "polars, nested Parquet read + expression",
        0.0,
    ),
    (
        "anchor: Spark mapInArrow + polars / polars nested",
        "Spark local[2], mapInArrow + polars expression",
        "polars expression, nested facts",
        0.0,
    ),
    (
        "anchor: Spark mapInArrow + polars / Spark SQL",
        "Spark local[2], mapInArrow + polars expression",
        "Spark local[2], SQL expressions, nested Parquet",
        0.0,
    ),
]


# Measuring (in the runner's subprocess)


def _status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes (empty if it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line[:5]] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


def _reset_peaks() -> dict[int, int]:
    """Reset the high-water mark of this process and those under it; their resident sizes now."""
    base = {}
    for pid in descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            continue
        base[pid] = _status(pid).get("VmRSS", 0)
    return base


def _peak_above(base: dict[int, int]) -> int:
    """The summed high-water marks since the reset, less the resident sizes at the reset."""
    return sum(max(_status(pid).get("VmHWM", 0) - base.get(pid, 0), 0) for pid in descendants(os.getpid()))


def _summary(outcomes: Outcomes, check: int) -> tuple[dict[str, int], str | None, int]:
    """Counts per outcome, a digest of the first ``check`` codes (when there are codes), the count."""
    if isinstance(outcomes, dict):
        return {k: v for k, v in outcomes.items() if v}, None, sum(outcomes.values())
    if isinstance(outcomes, list):
        return dict(Counter(outcomes)), None, len(outcomes)
    codes = np.asarray(outcomes, dtype=np.int8)
    counts = np.bincount(codes, minlength=len(LABELS))
    digest = hashlib.sha256(codes[:check].tobytes()).hexdigest()[:16] if len(codes) >= check else None
    return {LABELS[i]: int(c) for i, c in enumerate(counts) if c}, digest, len(codes)


def _threads(runner: Runner) -> str:
    if runner.threads == "polars":
        import polars as pl

        return str(pl.thread_pool_size())
    return runner.threads


def child(name: str, data: Data, repeats: int) -> None:
    """Run one runner and print its figures as one JSON line."""
    runner = BY_NAME[name]
    assert runner.build is not None
    run = runner.build(data)
    before_each: Callable[[], None] = getattr(run, "before_each", lambda: None)
    check = min(data.row_households, data.households)
    before_each()
    gc.collect()
    # The peak is followed from before the untimed run: an allocator that keeps what the first run
    # freed (polars, the JVM) would otherwise hide the run's working memory from the timed runs.
    base = _reset_peaks()
    resident = sum(base.values())
    counts, digest, count = _summary(run(), check)  # untimed: the answers, and a warm-up
    best = float("inf")
    for _ in range(repeats):
        before_each()
        gc.collect()
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    peak = _peak_above(base)
    print(
        RESULT
        + json.dumps(
            {
                "name": name,
                "count": count,
                "seconds": best,
                "peak": peak,
                "resident": resident,
                "counts": counts,
                "digest": digest,
                "threads": _threads(runner),
            }
        ),
        flush=True,
    )
    os._exit(0)  # Spark's gateway and worker threads need not be wound down for a measurement


# The report (in the parent)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def spawn(runner: Runner, data: Data, repeats: int, timeout: float) -> dict[str, Any] | str:
    """Run one runner in a fresh subprocess: its figures, or why it failed."""
    command = [
        sys.executable,
        __file__,
        "--child",
        runner.name,
        "--households",
        str(data.households),
        "--row-households",
        str(data.row_households),
        "--repeats",
        str(repeats),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    for line in done.stdout.splitlines():
        if line.startswith(RESULT):
            result: dict[str, Any] = json.loads(line[len(RESULT) :])
            return result
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return f"failed (exit {done.returncode}): {tail}"


def disagreements(results: dict[str, dict[str, Any]], data: Data) -> list[str]:
    """Runners over the same households whose answers differ."""
    lines = []
    for kind in ("three rules", "Hunan county"):
        for what, key, rows in (("outcomes over the subset", "digest", None), ("counts", "counts", "all")):
            seen = {
                name: r[key]
                for name, r in results.items()
                if BY_NAME[name].data == kind
                and BY_NAME[name].checked
                and r[key] is not None
                and (rows is None or r["count"] == data.households)
            }
            if len({json.dumps(v, sort_keys=True) for v in seen.values()}) > 1:
                lines.append(f"  {kind}, {what}: " + "; ".join(f"{n}: {v}" for n, v in seen.items()))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000, help="households (default 1,000,000)")
    parser.add_argument(
        "--row-households", type=int, default=100_000, help="households for the row engine's runs (default 100,000)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per runner, the best kept (default 5)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="run only the runners whose name contains TEXT (repeatable)",
    )
    parser.add_argument("--fresh", action="store_true", help="make the data again")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per runner (default 900)")
    parser.add_argument(
        "--arrow-batch",
        type=int,
        default=10_000,
        help="rows per Arrow batch in the mapInArrow runs (default 10,000, Spark's own)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ[ARROW_BATCH] = str(args.arrow_batch)  # read by the runners' subprocesses
    row_households = min(args.row_households, args.households)

    if args.child:
        child(
            args.child, Data(WORK / f"columnar-{args.households}-{SEED}", args.households, row_households), args.repeats
        )
        return 0

    import polars as pl

    import povrules

    data, made = prepare(args.households, row_households, args.fresh)
    print(
        f"povrules columnar benchmark (issue 12): three rules (car ⇒ excluded; income < {_line()} ⇒ identified; "
        "else not_identified) and Hunan monitoring_type"
    )
    print(f"  Python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(
        f"  povrules {povrules.__version__}, polars {pl.__version__}, pyarrow {_version('pyarrow')}, "
        f"numpy {np.__version__}, openfisca-core {_version('openfisca-core')}, pyspark {_version('pyspark')}"
    )
    print(
        f"  {data.households:,} households (seed {SEED}); the row engine's runs on the first "
        f"{data.row_households:,} (three rules) and on a synthetic Hunan county of {data.row_households:,}"
    )
    print("\n".join(made))
    print(
        f"  each runner in a fresh subprocess; best of {args.repeats} timed runs after one untimed; input loading, "
        "job building and Spark's start-up not timed"
    )
    print(f"  Spark: local[2], mapInArrow batches of {args.arrow_batch:,} rows; each job reads the Parquet file")
    print(
        "  peak +MiB: the resident set's high-water mark during the runs (the untimed one included) above the "
        "resident size with the input loaded, 'start MiB' (VmHWM after clear_refs); Spark: summed over the "
        "JVM and Python workers"
    )
    print()

    results: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    width = max(len(r.name) for r in RUNNERS)
    print(
        f"{'runner':<{width}}  {'households':>10}  {'threads':>7}  {'households/s':>13}  "
        f"{'peak +MiB':>9}  {'start MiB':>9}"
    )
    for runner in RUNNERS:
        if args.only and not any(text in runner.name for text in args.only):
            continue
        reason = runner.available() if runner.build is not None else None
        if runner.build is None:
            reason = runner.available() or "no builder"
        if reason:
            print(f"{runner.name:<{width}}  skipped: {reason}", flush=True)
            continue
        result = spawn(runner, data, args.repeats, args.timeout)
        if isinstance(result, str):
            print(f"{runner.name:<{width}}  {result}", flush=True)
            notes.append(f"{runner.name}: {result}")
            continue
        results[runner.name] = result
        rate = result["count"] / result["seconds"]
        print(
            f"{runner.name:<{width}}  {result['count']:>10,}  {result['threads']:>7}  {rate:>13,.0f}  "
            f"{result['peak'] / 2**20:>9,.0f}  {result['resident'] / 2**20:>9,.0f}",
            flush=True,
        )

    print()
    for name, result in results.items():
        print(f"  {name}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(result["counts"].items())))
    print()
    rate = {name: r["count"] / r["seconds"] for name, r in results.items()}
    for label, top, bottom, at_least in TARGETS:
        if top not in rate or (bottom is not None and bottom not in rate):
            missing = [n for n in (top, bottom) if n is not None and n not in rate]
            print(f"{label}: n/a ({', '.join(missing)} did not run)")
            continue
        value = rate[top] / rate[bottom] if bottom else rate[top]
        shown = f"{value:.2f}×" if bottom else f"{value:,.0f} households/s"
        verdict = "" if not at_least else (" MET" if value >= at_least else " NOT MET")
        print(f"{label}: {shown}{verdict}")

    wrong = disagreements(results, data)
    if wrong:
        print("\nFAILED: runners over the same households disagree:")
        print("\n".join(wrong))
        return 1
    if notes:
        print("\nFAILED: " + "; ".join(notes))
        return 1
    print(f"\nall {sum(BY_NAME[n].checked for n in results)} checked runners agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
