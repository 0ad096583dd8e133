"""povrules.canonical: orjson's speed, the stdlib's bytes."""

from __future__ import annotations

import dataclasses
import re
import enum
import json
from collections import OrderedDict
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from povrules.canonical import CanonicalError, canonical_bytes, canonical_json, sha256_digest


def stdlib(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# Text of every kind: non-BMP, control characters, U+2028/9, quotes and backslashes, lone surrogates.
text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x3F)),
    st.text(
        alphabet=st.sampled_from(
            [
                "\u2028",
                "\u2029",
                "\x7f",
                "\x00",
                "\x1f",
                "\\",
                '"',
                "/",
                "é",
                "中",
                "\U0001f600",
                "\U00020000",
                "\ufeff",
                "\ue000",
                "\uffff",
            ]
        )
    ),
    st.text(alphabet=st.characters(blacklist_categories=())),  # surrogates included
)
keys = st.one_of(st.text(), st.text(alphabet=st.sampled_from(["a", "b", "\ue000", "\U0001f600", "\uffff", "\x00"])))
floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**80), max_value=2**80), floats, text
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_canonical_json_is_the_stdlib_text(doc: Any) -> None:
    assert canonical_json(doc) == stdlib(doc)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_canonical_bytes_are_its_utf8_or_refused(doc: Any) -> None:
    expected = stdlib(doc)
    try:
        encoded = expected.encode("utf-8")
    except UnicodeEncodeError:
        with pytest.raises(CanonicalError, match="not valid Unicode"):
            canonical_bytes(doc)
        return
    assert canonical_bytes(doc) == encoded
    assert sha256_digest(doc).startswith("sha256:")


float_free = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**80), max_value=2**80), text),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(float_free)
def test_float_free_documents_skip_only_checks_that_cannot_fail(doc: Any) -> None:
    """``floats=False`` (povrules' own traces and facts) gives the same bytes, or the same refusal."""
    try:
        expected = canonical_bytes(doc)
    except CanonicalError as exc:
        with pytest.raises(CanonicalError, match=re.escape(exc.message)):
            canonical_bytes(doc, floats=False)
        return
    assert canonical_bytes(doc, floats=False) == expected


@pytest.mark.parametrize(
    "value",
    [
        1e-05,
        1.234e-05,
        6.2e-07,
        5e-324,
        1e16,
        1.5e16,
        1e22,
        0.0001,
        -0.0,
        0.1,
        1.7976931348623157e308,
        9999999999999998.0,
        123.0,
    ],
)
def test_floats_are_written_as_the_stdlib_writes_them(value: float) -> None:
    for doc in (value, [value], {"x": value}, {"x": [1, value], "y": "e-5,"}):
        assert canonical_json(doc) == stdlib(doc)


def test_deep_nesting_and_big_ints_go_to_the_stdlib() -> None:
    deep: Any = 1
    for _ in range(400):  # beyond orjson's 254 levels
        deep = [deep]
    assert canonical_json(deep) == stdlib(deep)
    assert canonical_json({"n": 2**64, "m": -(2**63) - 1}) == '{"m":-9223372036854775809,"n":18446744073709551616}'


def test_lone_surrogates_keep_the_old_text_but_have_no_bytes() -> None:
    assert canonical_json({"a": "x\ud800"}) == stdlib({"a": "x\ud800"})
    with pytest.raises(CanonicalError, match="not valid Unicode"):
        canonical_bytes({"a": "x\ud800"})


@pytest.mark.parametrize(
    "doc, where", [({1: "a"}, "(document)"), ({"a": {True: 1}}, ".a"), ({"a": [{None: 1}]}, ".a[0]")]
)
def test_keys_that_are_not_text_are_refused(doc: Any, where: str) -> None:
    with pytest.raises(CanonicalError, match="a key must be text") as info:
        canonical_json(doc)
    assert info.value.path == where


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(value: float) -> None:
    with pytest.raises(CanonicalError, match="not JSON") as info:
        canonical_json({"a": [1, value]})
    assert info.value.path == ".a[1]"
    assert isinstance(info.value, ValueError)


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [date(2021, 6, 30), Decimal("1.5"), {1, 2}, Point(1), object()])
def test_values_the_stdlib_refused_are_refused(value: Any) -> None:
    with pytest.raises(CanonicalError):
        canonical_json({"a": value})


def test_cycles_are_refused() -> None:
    doc: dict[str, Any] = {}
    doc["self"] = doc
    with pytest.raises(CanonicalError):
        canonical_json(doc)


class Colour(str, enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 3


class Key(str):
    pass


def test_subclasses_are_written_as_their_base_type() -> None:
    doc = {"a": Colour.RED, "b": Size.BIG, "c": OrderedDict(z=1, a=2), "d": (1, "x"), Key("e"): Key("v"), "f": True}
    assert canonical_json(doc) == stdlib(doc)


def test_the_trace_module_reexports() -> None:
    from povrules import canonical, trace

    assert trace.canonical_json is canonical.canonical_json
    assert trace.facts_digest is canonical.facts_digest
