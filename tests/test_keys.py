"""Index keys and ranges: bounds, the four ``closed`` modes, prefixes and searches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lakota_dask import Schema
from lakota_dask.errors import SchemaError
from lakota_dask.keys import Range, check_closed, key_arrays, make_key, row_key, search

SCHEMA = Schema(city="str*", ts="timestamp*", v="float")


def test_make_key_casts_to_plain_values() -> None:
    assert make_key(SCHEMA, None) is None
    assert make_key(SCHEMA, "Paris") == ("Paris",)
    key = make_key(SCHEMA, ("Paris", "2020-01-01T00:00:01"))
    assert key == ("Paris", 1577836801000000000)
    assert all(type(v) in (str, int) for v in key)
    assert make_key(SCHEMA, ["Paris", pd.Timestamp("2020-01-01")]) == ("Paris",
                                                                     1577836800000000000)
    assert make_key(Schema(d="date*"), "2020-01-02") == (18263,)
    assert make_key(Schema(i="u8*"), 2**64 - 1) == (2**64 - 1,)


def test_make_key_refuses_long_or_uncastable_bounds() -> None:
    with pytest.raises(SchemaError, match="has 3 values but the index has 2"):
        make_key(SCHEMA, ("Paris", "2020-01-01", 1))
    with pytest.raises(SchemaError, match="column 'ts'"):
        make_key(SCHEMA, ("Paris", "not a date"))
    with pytest.raises(SchemaError, match="column 'i'"):
        make_key(Schema(i="int*"), "x")


@pytest.mark.parametrize(
    "closed, inside",
    [("both", [2, 3, 4]), ("left", [2, 3]), ("right", [3, 4]), ("neither", [3])],
)
def test_contains_for_each_closed(closed: str, inside: list[int]) -> None:
    rng = Range((2,), (4,), closed)
    assert [k for k in range(7) if rng.contains((k,))] == inside
    keys = [np.arange(7)]
    lo, hi = rng.positions(keys)
    assert list(range(lo, hi)) == inside


def test_open_ends() -> None:
    assert Range().contains((-(10**9),)) and Range().positions([np.arange(5)]) == (0, 5)
    assert Range(stop=(2,), closed="left").positions([np.arange(5)]) == (0, 2)
    assert Range(start=(2,), closed="right").positions([np.arange(5)]) == (3, 5)


def test_prefix_bounds_cover_every_key_that_starts_with_them() -> None:
    keys = [np.array(["a", "b", "b", "b", "c"], dtype=object), np.array([1, 1, 2, 3, 1])]
    rng = Range(("b",), ("b",))
    assert [rng.contains(row_key(keys, i)) for i in range(5)] == [False, True, True, True, False]
    assert rng.positions(keys) == (1, 4)
    assert Range(("b",), ("c",), "neither").positions(keys) == (4, 4)
    assert Range(("b", 2), ("c",), "left").positions(keys) == (2, 4)
    assert Range(("a",), ("b", 1), "right").positions(keys) == (1, 2)
    assert search(keys, ("b",), right=False) == 1
    assert search(keys, ("b",), right=True) == 4
    assert search(keys, ("b", 2), right=True) == 3
    assert search(keys, ("0",), right=True) == 0


def test_is_empty() -> None:
    assert Range((3,), (2,)).is_empty()
    assert Range((2,), (2,), "left").is_empty()
    assert not Range((2,), (2,)).is_empty()
    # a prefix bound that excludes itself excludes every key starting with it
    assert Range(("a",), ("a", 5), "neither").is_empty()
    assert not Range(("a",), ("a", 5), "left").is_empty()
    assert Range(("a", 5), ("a",), "left").is_empty()
    assert not Range(("a", 5), ("a",), "right").is_empty()
    assert not Range(None, (2,)).is_empty()


def test_encode_decode() -> None:
    for rng in [Range(), Range((1, "x"), None, "left"), Range(None, (3,), "neither")]:
        assert Range.decode(rng.encode()) == rng
    with pytest.raises(SchemaError, match="closed must be one of"):
        Range.decode([None, None, "sideways"])


def test_check_closed() -> None:
    assert check_closed("right") == "right"
    with pytest.raises(SchemaError, match=r"closed must be one of \('both', 'left', 'right'"):
        check_closed("open")


def test_key_arrays_compare_date_times_as_integers() -> None:
    arrays = SCHEMA.normalize({"city": ["a"], "ts": ["2020-01-01"], "v": [1.0]})
    keys = key_arrays(SCHEMA, arrays)
    assert keys[1].dtype == np.int64
    assert row_key(keys, 0) == ("a", 1577836800000000000)
