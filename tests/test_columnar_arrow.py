"""``arrow_frame`` (the path of Spark's Arrow batches): the frame and the errors of the row path.

The fast path converts only the columns that hold a known value, slices the others from a frame of
unknowns, and reads Parquet-style decimals from their integers; each must give what validating
every row with pydantic and building the frame from the models gives.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

import povrules
from povrules import synth
from povrules.columnar import arrow_frame, caseload_frame
from povrules.errors import FactsError

MONEY = pa.decimal128(14, 2)


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table whose columns are the keys of any row (``from_pylist`` reads the first only)."""
    return pa.Table.from_struct_array(pa.array(rows))


def _models_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return caseload_frame([povrules.parse_household(row) for row in rows])


def _incomes(values: list[Any], kind: Any) -> pa.Table:
    """Households with only an id and a per-capita income of the given Arrow type."""
    income = pa.array(values, kind)
    return pa.table(
        {
            "id": pa.array([f"h{i}" for i in range(len(values))], pa.string()),
            "income": pa.StructArray.from_arrays([income], ["per_capita_net"]),
        }
    )


def test_a_sparse_batch_is_the_models_frame() -> None:
    # Few facts known (most columns null throughout), some records present with all their fields unknown.
    rows: list[dict[str, Any]] = [
        {"id": "h1", "income": {"per_capita_net": "4000.00"}},
        {"id": "h2", "assets": {"vehicles": [{"kind": "car"}, {"kind": "truck"}]}},
        {"id": "h3", "assets": {"vehicles": []}, "income": {}},
        {"id": "h4"},
    ]
    table = _table(rows)
    assert table.column_names == ["id", "income", "assets"]
    made = arrow_frame(table)
    assert made.equals(_models_frame(rows))
    # Twice, and a longer batch after a shorter one: the frame of unknowns is reused and grown.
    assert arrow_frame(table.slice(1, 2)).equals(_models_frame(rows[1:3]))
    longer = _table(rows * 50)
    assert arrow_frame(longer).equals(_models_frame(rows * 50))


def test_a_batch_longer_than_the_kept_unknowns_is_the_models_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    # The frame of unknowns is kept at UNKNOWN_ROWS rows; a longer batch repeats it in chunks.
    monkeypatch.setattr("povrules.columnar.frame.UNKNOWN_ROWS", 7)
    monkeypatch.setattr("povrules.columnar.frame._unknown", {})
    rows: list[dict[str, Any]] = [{"id": f"h{i}", "income": {"per_capita_net": f"{i}.50"}} for i in range(30)]
    made = arrow_frame(_table(rows))
    assert made["members"].n_chunks() > 1
    assert made.equals(_models_frame(rows))
    assert arrow_frame(_table(rows[:5])).equals(_models_frame(rows[:5]))


def test_a_county_batch_is_the_models_frame() -> None:
    rows = list(synth.county_json(300, 11))
    assert arrow_frame(_table(rows)).equals(_models_frame(rows))


@pytest.mark.parametrize("kind", [MONEY, pa.decimal128(10, 0), pa.decimal128(20, 1), pa.decimal128(38, 2)])
def test_decimal_amounts_read_as_their_text(kind: Any) -> None:
    values = [Decimal(v) for v in ("0", "0.5", "4000", "4000.1", "12.00", "999999999999", "999999999999.9")]
    values = [
        v for v in values if len(v.as_tuple().digits) <= kind.precision and -v.as_tuple().exponent <= kind.scale
    ] + [None]
    as_decimals, as_text = (
        _incomes(values, kind),
        _incomes([None if v is None else str(v) for v in values], pa.string()),
    )
    assert arrow_frame(as_decimals).equals(arrow_frame(as_text))
    fen = arrow_frame(as_decimals)["income"].struct.field("per_capita_net").to_list()
    assert fen == [None if v is None else int(v * 100) for v in values]


@pytest.mark.parametrize("value", [Decimal("-0.01"), Decimal(1000000000000), Decimal("1.5")])
def test_a_bad_decimal_amount_raises_the_row_paths_error(value: Decimal) -> None:
    # Negative, too many digits before the point, and (at scale 3 > 2 places) a value pydantic accepts.
    kind = pa.decimal128(20, 3) if value == Decimal("1.5") else pa.decimal128(20, 2)
    table = _incomes([Decimal("1.00"), value], kind)
    row = {"id": "h1", "income": {"per_capita_net": value.quantize(Decimal(1).scaleb(-kind.scale))}}
    try:
        expected = _models_frame([{"id": "h0", "income": {"per_capita_net": Decimal("1.00")}}, row])
    except FactsError as error:
        with pytest.raises(FactsError) as raised:
            arrow_frame(table, where=lambda i: f"row id=h{i}")
        assert raised.value.source == "row id=h1"
        assert raised.value.problems == error.problems
    else:
        assert arrow_frame(table).equals(expected)


def test_a_bad_row_in_a_sparse_batch_names_its_row() -> None:
    rows = [{"id": f"h{i}", "income": {"per_capita_net": "10.00"}} for i in range(30)]
    bad = copy.deepcopy(rows)
    bad[17]["assets"] = {"vehicles": [{"kind": "spaceship"}]}
    with pytest.raises(FactsError) as raised:
        arrow_frame(_table(bad), where=lambda i: f"row id={bad[i]['id']}")
    assert raised.value.source == "row id=h17"
    assert "assets.vehicles[0].kind" in str(raised.value)


_OVERRIDE = {"rule": "r", "body": "村两委", "decided_on": "2016-06-30", "outcome": "upheld"}


@pytest.mark.parametrize(
    "bad",
    [
        {"members": []},  # at least one member
        {"id": "h1\nforged"},  # ids, names and places on one line
        {"members": [{"name": "a\rb"}]},
        {"village": "v\x1b[2J"},
        {"income": {"per_capita_net": "４０００"}},  # amounts in ASCII digits, without exponent
        {"income": {"per_capita_net": "4E+3"}},
        {"overrides": [dict(_OVERRIDE, decided_on="2016-W26-4")]},  # dates as YYYY-MM-DD only
        {"overrides": [dict(_OVERRIDE, decided_on="２０１６-06-30")]},
        {"rural_hukou": 1},  # JSON types never converted
        {"members": [{"age": "58"}]},
    ],
)
def test_the_fast_paths_refuse_what_the_strict_models_refuse(bad: dict[str, Any]) -> None:
    # The refused value in a sparse batch (its column otherwise unknown, so the unknown-column and
    # known-columns fast paths are taken for the rest), as the model refuses it.
    rows: list[dict[str, Any]] = [{"id": f"h{i}"} for i in range(5)]
    rows[3] = {"id": "h3", **bad}
    with pytest.raises(FactsError) as expected:
        povrules.parse_household(rows[3])
    with pytest.raises(FactsError) as raised:
        arrow_frame(_table(rows), where=lambda i: f"row id=h{i}")
    assert raised.value.source == "row id=h3"
    assert raised.value.problems == expected.value.problems


@pytest.mark.parametrize(
    "given",
    [
        {"income": {"per_capita_net": "+4000"}},  # accepted, and stored as 4000.00
        {"overrides": [dict(_OVERRIDE, body="村兩委")]},  # a Traditional name, read as the canonical one
    ],
)
def test_what_the_strict_models_rewrite_the_fast_paths_rewrite_alike(given: dict[str, Any]) -> None:
    rows: list[dict[str, Any]] = [{"id": "h0"}, {"id": "h1", **given}]
    assert arrow_frame(_table(rows)).equals(_models_frame(rows))


@pytest.mark.parametrize("value, kind", [(Decimal("-0.00"), MONEY), (Decimal("1.5"), pa.decimal128(14, 1))])
def test_a_decimal_read_from_its_integers_is_the_models_amount(value: Decimal, kind: Any) -> None:
    # No negative zero, and fewer places than declared: the amount to the fen, as the model stores it.
    made = arrow_frame(_incomes([value], kind))
    assert made.equals(_models_frame([{"id": "h0", "income": {"per_capita_net": value}}]))
