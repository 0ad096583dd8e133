"""The columnar evaluator on Spark: each partition's Arrow batches decided by :func:`povrules.columnar.decide_frame`.

A Spark DataFrame of facts (one row per household, village or county, in the facts' nested JSON
shape: records as structs, lists as arrays, dates as dates, amounts as strings or decimals) is
decided with ``DataFrame.mapInArrow``: on the executors, each Arrow batch is made a columnar frame
and validated as the row path validates (:func:`povrules.columnar.arrow_frame`: column checks, and
pydantic for the rows they flag), decided (:func:`povrules.columnar.decide_frame`, missing facts
included) and returned as an Arrow batch of ``id, outcome, labels, missing, reasons``. The answers are the
row engine's, row for row.

The ruleset travels **by value**: it is pickled once on the driver and carried in the task closure,
so executors need no access to the ruleset's files, only ``povrules[columnar]`` installed.

pyspark is optional (``pip install 'povrules[spark]'``) and imported only when a function here is
called; without it they raise :class:`povrules.PovrulesError` naming the extra. See docs/spark.md.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from povrules.columnar import FramePlan, FrameShape, NotSupported, arrow_frame, frame_shape, translate_decision
from povrules.errors import PovrulesError, UnknownName, UsageError
from povrules.facts import SUBJECTS
from povrules.ruleset.model import Ruleset

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

Amounts = Literal["string", "decimal"]

__all__ = ["OUTPUT_COLUMNS", "decide_spark", "read_caseload_spark", "spark_schema"]

# The decision columns, in order (``missing`` only when asked for).
OUTPUT_COLUMNS = ("id", "outcome", "labels", "missing", "reasons")


def _types() -> Any:
    """``pyspark.sql.types``, or :class:`PovrulesError` naming the extra when pyspark is not installed."""
    try:
        from pyspark.sql import types
    except ImportError as error:
        raise PovrulesError("Spark evaluation needs pyspark: pip install 'povrules[spark]'") from error
    return types


def spark_schema(subject: str = "household", *, amounts: Amounts = "string") -> StructType:
    """The Spark schema of a subject's facts, derived from its models (through
    :func:`povrules.columnar.frame_shape`): a record is a ``StructType``, a list an ``ArrayType``, a
    date a ``DateType``, an enumeration a string, a judged fact a struct ``{value, by, on, evidence}``.
    Every field is nullable (null is an unknown fact).

    ``amounts`` is how decimal facts are held: ``"string"`` (the default; exact text such as
    ``"1234.50"``, validated with the rest of the facts on the executors, so that a value with too many
    places is refused as the row engine refuses it) or ``"decimal"`` (``DecimalType(max_digits,
    decimal_places)``, as a Parquet file written with decimals holds them).

    Raises ``ValueError`` for an unknown subject or ``amounts``, :class:`PovrulesError` when pyspark is not
    installed, and as :func:`~povrules.columnar.frame_shape` does.
    """
    if amounts not in ("string", "decimal"):
        raise UnknownName("amounts", amounts, ("string", "decimal"), hint="amounts must be 'string' or 'decimal'")
    types = _types()
    shape = frame_shape(subject)
    return cast("StructType", _spark_type(types, shape, amounts))  # a subject's shape is a record


def _spark_type(types: Any, shape: FrameShape, amounts: Amounts) -> DataType:
    """The Spark type of a shape; ``types`` is the module ``pyspark.sql.types`` (imported only when used)."""
    spark_type: DataType
    if shape.kind in ("record", "judged"):
        spark_type = types.StructType(
            [types.StructField(name, _spark_type(types, s, amounts), nullable=True) for name, s in shape.fields.items()]
        )
    elif shape.kind == "list":
        assert shape.item is not None
        spark_type = types.ArrayType(_spark_type(types, shape.item, amounts), containsNull=True)
    elif shape.kind == "decimal":
        spark_type = types.DecimalType(shape.digits, shape.scale) if amounts == "decimal" else types.StringType()
    else:
        plain = {"bool": types.BooleanType, "int": types.LongType, "str": types.StringType, "date": types.DateType}
        spark_type = plain[shape.kind]()
    return spark_type


_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "json", ".ndjson": "json", ".json": "json"}


def read_caseload_spark(
    spark: SparkSession,
    path: str | Path,
    *,
    format: Literal["parquet", "json"] | None = None,
    subject: str = "household",
    amounts: Amounts = "string",
) -> DataFrame:
    """A caseload (nested Parquet, or JSON Lines: one JSON object per line) as a Spark DataFrame with
    :func:`spark_schema`'s schema. ``path`` may be a file, a folder of part files or a glob.

    ``format`` defaults from the suffix (``.parquet``/``.pq``; ``.jsonl``/``.ndjson``/``.json``). JSON
    Lines are read in Spark's ``FAILFAST`` mode, so that a malformed line or a value of the wrong type
    fails the job instead of becoming a row of unknowns; amounts may be JSON numbers or strings. A
    Parquet file is read by field name: a field it lacks is unknown (null), and its amounts must be of
    the ``amounts`` kind. Fields the schema does not know are not read (Spark drops them, where the
    row engine would refuse them).

    Raises ``ValueError`` when the format is neither given nor known from the suffix, as
    :func:`spark_schema` does, and Spark's own errors for unreadable files (some only when the data is
    read).
    """
    chosen = format or _FORMATS.get(Path(str(path)).suffix.lower())
    if chosen not in ("parquet", "json"):
        raise UsageError(f"{path}: format= must be 'parquet' or 'json' (the suffix does not say)")
    reader = spark.read.schema(spark_schema(subject, amounts=amounts))
    if chosen == "json":
        return reader.option("mode", "FAILFAST").json(str(path))
    return reader.parquet(str(path))


# Rulesets already unpickled in this (executor's Python worker) process, by the digest of their
# pickle: a worker that runs many tasks rebuilds the ruleset, and compiles its plan, only once.
_loaded: dict[tuple[str, str, date], FramePlan] = {}


def _frame_plan(key: str, blob: bytes, decision: str, as_of: date) -> FramePlan:
    """The decision translated once per worker process (and its settled patterns kept across batches)."""
    found = _loaded.get((key, decision, as_of))
    if found is None:
        found = _loaded[(key, decision, as_of)] = FramePlan(pickle.loads(blob), decision, as_of)
    return found


def _row_id(batch: pa.RecordBatch) -> Callable[[int], str]:
    """How an error names a row of the batch: by its ``id`` (read only for the row named)."""
    import pyarrow as pa

    ids = batch.column("id") if "id" in batch.schema.names else pa.nulls(batch.num_rows, pa.string())
    return lambda row: f"row id={ids[row].as_py()!r}"


def _output_schema(missing: bool) -> tuple[pa.Schema, str]:
    import pyarrow as pa

    fields = [pa.field("id", pa.string()), pa.field("outcome", pa.string()), pa.field("labels", pa.list_(pa.string()))]
    ddl = "id string, outcome string, labels array<string>"
    if missing:
        fields.append(pa.field("missing", pa.list_(pa.string())))
        ddl += ", missing array<string>"
    fields.append(pa.field("reasons", pa.list_(pa.string())))
    ddl += ", reasons array<string>"
    return pa.schema(fields), ddl


def decide_spark(df: DataFrame, ruleset: Ruleset, decision: str, as_of: date, *, missing: bool = True) -> DataFrame:
    """The decision for every row of ``df`` (the ruleset's subject's facts, e.g. from
    :func:`read_caseload_spark`): a DataFrame of ``id`` (string), ``outcome`` (string), ``labels``
    (array<string>) and, with ``missing``, ``missing`` (array<string>: the paths of the facts an
    undetermined outcome waits for; empty for a determined one), one row per input row, equal to what
    :func:`povrules.evaluate` gives. Lazy, like any DataFrame: nothing runs until an action.

    Each Arrow batch (``spark.sql.execution.arrow.maxRecordsPerBatch`` rows) is validated and decided
    on its own; the ruleset is pickled here and shipped in the task, by value.

    Raises, here: :class:`PovrulesError` when pyspark is not installed, ``ValueError`` for a column that
    is not a fact of the ruleset's subject, :class:`povrules.columnar.NotSupported` for a ranking or an
    untranslatable rule, and :class:`povrules.EvaluationError` as the row engine does (no such decision,
    a parameter without a value on ``as_of``). When the job runs, the executors' errors (a row whose
    facts fail validation: :class:`povrules.FactsError` naming the row's ``id``; the row engine's
    errors on hazard rows) fail it, surfacing through Spark's exception for a failed Python task.
    """
    _types()
    # Refuse on the driver what every batch would refuse, before a job is started.
    prepared, _ = translate_decision(ruleset, decision, as_of)
    if prepared.spec.kind == "ranking":
        raise NotSupported(decision, "a ranking decision (sort keys)", prepared.spec.name)
    subject = ruleset.subject
    known = set(SUBJECTS[subject][0].model_fields)
    extra = [c for c in df.columns if c not in known]
    if extra:
        raise UsageError(f"columns that are not {subject} facts: {', '.join(extra)}")
    blob = pickle.dumps(ruleset)
    key = hashlib.sha256(blob).hexdigest()
    out_schema, ddl = _output_schema(missing)

    def decide_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # Runs on the executors: only this closure's values (the pickled ruleset among them) travel.
        import pyarrow as pa

        local = _frame_plan(key, blob, decision, as_of)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            frame = arrow_frame(batch, subject=subject, where=_row_id(batch))
            decided = local.decide(frame, missing=missing)
            # polars gives large (64-bit offset) strings and lists; Spark's Arrow reader expects the plain ones.
            table = pa.Table.from_batches(decided.to_arrow().to_batches()).cast(out_schema)
            yield from table.combine_chunks().to_batches()

    return df.mapInArrow(decide_batches, ddl)
