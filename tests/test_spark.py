"""povrules.spark on Spark local mode (2 threads): the same decisions as the row engine, row for row.

Synthetic counties are written as JSON Lines (amounts as strings, in several part files) and as
nested Parquet (amounts as decimals, written by Spark), read back with ``read_caseload_spark`` and
decided with ``decide_spark`` over several partitions and several Arrow batches per partition.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (the 'spark' extra: pip install -e '.[spark]')")

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

import povrules  # noqa: E402
from povrules import synth  # noqa: E402
from povrules.columnar import NotSupported  # noqa: E402
from povrules.spark import decide_spark, read_caseload_spark, spark_schema  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HUNAN = ("cn-hunan-county-plan4", "monitoring_type", date(2021, 6, 30))
WEISHAN = ("cn-yunnan-weishan", "identify_poor_household", date(2016, 6, 30))

# pyspark warns about pandas 3 on every pandas-backed call; it is not this code's concern.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # The Python workers must be this interpreter (the one with povrules installed), not whatever
    # `python3` is on PATH.
    before = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("povrules-test-spark")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        # Small batches, so that each partition is decided in several batches.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "400")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if before is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = before


def _write_jsonl(folder: Path, rows: list[dict[str, Any]], parts: int) -> Path:
    folder.mkdir()
    size = -(-len(rows) // parts)
    for part in range(parts):
        chunk = rows[part * size : (part + 1) * size]
        (folder / f"part-{part}.jsonl").write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in chunk), encoding="utf-8"
        )
    return folder


def _expected(rows: list[dict[str, Any]], ruleset: Any, decision: str, as_of: date) -> dict[str, tuple[Any, ...]]:
    out = {}
    for row in rows:
        made = povrules.evaluate(povrules.parse_facts(row), ruleset, decision, as_of=as_of, trace=False)
        out[row["id"]] = (made.outcome, list(made.labels), list(made.missing), list(made.reasons))
    return out


def _compare(decided: Any, expected: dict[str, tuple[Any, ...]]) -> None:
    got = {
        r["id"]: (r["outcome"], list(r["labels"]), list(r["missing"]), list(r["reasons"])) for r in decided.collect()
    }
    assert len(got) == len(expected)
    differing = [i for i in expected if got.get(i) != expected[i]]
    assert not differing, [(i, got.get(i), expected[i]) for i in differing[:5]]
    outcomes = {v[0] for v in expected.values()}
    assert len(outcomes) >= 2 and "undetermined" in outcomes, outcomes  # the comparison means something
    assert any(v[2] for v in expected.values())


def test_hunan_jsonl_as_the_row_engine(spark: SparkSession, tmp_path: Path) -> None:
    name, decision, as_of = HUNAN
    rows = list(synth.county_json(3000, seed=7, as_of=as_of))
    folder = _write_jsonl(tmp_path / "caseload", rows, parts=3)
    df = read_caseload_spark(spark, folder, format="json").repartition(4)
    assert df.rdd.getNumPartitions() == 4
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / name)
    decided = decide_spark(df, ruleset, decision, as_of)
    assert decided.columns == ["id", "outcome", "labels", "missing", "reasons"]
    _compare(decided, _expected(rows, ruleset, decision, as_of))


def test_weishan_parquet_with_decimals_as_the_row_engine(spark: SparkSession, tmp_path: Path) -> None:
    name, decision, as_of = WEISHAN
    rows = list(synth.county_json(2500, seed=11, profile="poor", as_of=as_of))
    folder = _write_jsonl(tmp_path / "jsonl", rows, parts=1)
    # Nested Parquet with amounts as decimals, as a data warehouse would hold them.
    read_caseload_spark(spark, folder, format="json", amounts="decimal").repartition(3).write.parquet(
        str(tmp_path / "caseload.parquet")
    )
    df = read_caseload_spark(spark, tmp_path / "caseload.parquet", amounts="decimal")
    assert isinstance(df.schema["income"].dataType["per_capita_net"].dataType, T.DecimalType)
    assert df.rdd.getNumPartitions() >= 2
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / name)
    _compare(decide_spark(df, ruleset, decision, as_of), _expected(rows, ruleset, decision, as_of))


def test_without_missing_and_refusals_on_the_driver(spark: SparkSession, tmp_path: Path) -> None:
    name, decision, as_of = HUNAN
    rows = list(synth.county_json(50, seed=3, as_of=as_of))
    df = read_caseload_spark(spark, _write_jsonl(tmp_path / "c", rows, parts=1), format="json")
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / name)
    plain = decide_spark(df, ruleset, decision, as_of, missing=False)
    assert plain.columns == ["id", "outcome", "labels", "reasons"]
    expected = _expected(rows, ruleset, decision, as_of)
    assert {r["id"]: r["outcome"] for r in plain.collect()} == {k: v[0] for k, v in expected.items()}

    with pytest.raises(ValueError, match="not household facts: extra"):
        decide_spark(df.withColumn("extra", df["id"]), ruleset, decision, as_of)
    weishan = povrules.load_ruleset(ROOT / "rulesets" / WEISHAN[0])
    with pytest.raises(NotSupported):
        decide_spark(df, weishan, "six_priorities", WEISHAN[2])
    procedure = povrules.load_ruleset(ROOT / "tests" / "fixtures" / "procedure")
    with pytest.raises(NotSupported, match="on a case .*row engine"):
        decide_spark(df, procedure, "monitoring_inclusion_procedure", as_of)  # cases are the row engine's
    with pytest.raises(povrules.EvaluationError):
        decide_spark(df, ruleset, "no_such_decision", as_of)
    with pytest.raises(ValueError, match="format"):
        read_caseload_spark(spark, tmp_path / "c")


def test_invalid_facts_fail_the_job_naming_the_row(spark: SparkSession, tmp_path: Path) -> None:
    name, decision, as_of = HUNAN
    rows = list(synth.county_json(20, seed=5, as_of=as_of))
    rows[7]["income"]["per_capita_net"] = "1234.567"  # three places: the row engine refuses it
    df = read_caseload_spark(spark, _write_jsonl(tmp_path / "c", rows, parts=1), format="json")
    ruleset = povrules.load_ruleset(ROOT / "rulesets" / name)
    with pytest.raises(Exception) as raised:
        decide_spark(df, ruleset, decision, as_of).collect()
    assert "FactsError" in str(raised.value) and rows[7]["id"] in str(raised.value)


def test_spark_schema_follows_the_models() -> None:
    schema = spark_schema()
    # A ruleset's own facts (`local`) are not columns: their types depend on the ruleset (the row engine reads them).
    assert schema.fieldNames() == [name for name in povrules.Household.model_fields if name != "local"]
    income = schema["income"].dataType
    assert isinstance(income["per_capita_net"].dataType, T.StringType)
    assert spark_schema(amounts="decimal")["income"].dataType["per_capita_net"].dataType == T.DecimalType(14, 2)
    members = schema["members"].dataType
    assert isinstance(members, T.ArrayType) and isinstance(members.elementType, T.StructType)
    judged = members.elementType["refuses_to_work"].dataType
    assert judged.fieldNames() == ["value", "by", "on", "evidence"]
    assert isinstance(judged["on"].dataType, T.DateType)
    assert spark_schema("village").fieldNames() == list(povrules.facts.Village.model_fields)
    with pytest.raises(ValueError):
        spark_schema("town")
    with pytest.raises(ValueError):
        spark_schema(amounts="float")  # type: ignore[arg-type]


def test_without_pyspark_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("pyspark", "pyspark.sql", "pyspark.sql.types"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(povrules.PovrulesError, match=r"povrules\[spark\]"):
        spark_schema()
