"""Codecs: exact round trips of every column type, and corrupt bytes detected."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import zstandard

from lakota_dask.codec import blob_path, decode, decode_into, decode_many_into, encode
from lakota_dask.commit import Row
from lakota_dask.errors import CorruptDataError
from lakota_dask.schema import Column
from lakota_dask.segment import decode_slice

NUMERIC = ["int", "u8", "i4", "u1", "i2", "float", "f4", "bool"]
TIMES = ["timestamp", "date", "M8[ms]", "m8[s]"]


def extremes(type_name: str) -> np.ndarray:
    dtype = Column("c", type_name).dtype
    if dtype.kind == "b":
        return np.array([True, False, False, True])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array([info.min, info.max, 0, info.max, info.min, 1], dtype=dtype)
    if dtype.kind == "f":
        info = np.finfo(dtype)
        return np.array([info.min, info.max, info.tiny, -0.0, np.nan, np.inf, -np.inf,
                         info.smallest_subnormal], dtype=dtype)
    ints = np.array([np.iinfo("i8").min + 1, np.iinfo("i8").max, 0, -1], dtype="i8")
    values = ints.view(dtype).copy()
    values[2] = np.datetime64("NaT") if dtype.kind == "M" else np.timedelta64("NaT")
    return values


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-exact equality (NaN == NaN, -0.0 != 0.0)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return a.tolist() == b.tolist()
    return a.tobytes() == b.tobytes()


@pytest.mark.parametrize("type_name", NUMERIC + TIMES)
def test_extremes_round_trip_exactly(type_name: str) -> None:
    column = Column("c", type_name)
    values = extremes(type_name)
    assert same(decode(column, encode(column, values)), values)


@pytest.mark.parametrize("type_name", NUMERIC + TIMES + ["str"])
def test_empty_column_round_trips(type_name: str) -> None:
    column = Column("c", type_name)
    empty = column.empty()
    out = decode(column, encode(column, empty))
    assert len(out) == 0 and out.dtype == empty.dtype


def test_text_round_trip_with_empty_and_unicode_strings() -> None:
    column = Column("c", "str")
    values = np.array(["", "a", "é€😀", "\x00nul", "line\nbreak", "", "z" * 5000],
                      dtype=object)
    out = decode(column, encode(column, values))
    assert out.dtype == object and out.tolist() == values.tolist()


def test_nan_payloads_survive_the_shuffle() -> None:
    column = Column("c", "float")
    values = np.array([0x7FF8000000000001, 0xFFF0000000000001], dtype="u8").view("f8")
    assert same(decode(column, encode(column, values)), values)


def test_delta_encoding_makes_regular_series_tiny() -> None:
    column = Column("c", "timestamp")
    values = np.arange("2020-01-01", "2021-01-01", dtype="datetime64[m]").astype("M8[ns]")
    data = encode(column, values)
    assert len(data) < values.nbytes / 1000
    assert same(decode(column, data), values)
    assert data[:1] == b"D"


def test_tags_by_type() -> None:
    tags = {t: encode(Column("c", t), Column("c", t).empty())[:1] for t in
            ["int", "float", "bool", "str", "date"]}
    assert tags == {"int": b"D", "float": b"S", "bool": b"R", "str": b"T", "date": b"D"}


def test_identical_values_encode_to_identical_bytes() -> None:
    column = Column("c", "float")
    values = np.random.default_rng(1).random(1000)
    assert encode(column, values) == encode(column, values.copy())


def test_blob_path() -> None:
    assert blob_path("abcdef" + "0" * 34) == "ab/cd/ef" + "0" * 34


# -- corrupt input ---------------------------------------------------------------------
def test_wrong_tag_is_corrupt() -> None:
    data = encode(Column("c", "float"), np.array([1.0]))
    with pytest.raises(CorruptDataError, match="column 'c'"):
        decode(Column("c", "int"), data, "here")
    with pytest.raises(CorruptDataError, match="here"):
        decode(Column("c", "int"), b"", "here")


def test_flipped_byte_is_corrupt() -> None:
    column = Column("c", "int")
    data = bytearray(encode(column, np.arange(1000)))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(CorruptDataError, match="decompress"):
        decode(column, bytes(data))


def test_partial_values_are_corrupt() -> None:
    column = Column("c", "int")
    data = b"D" + zstandard.ZstdCompressor().compress(b"\x00" * 12)
    with pytest.raises(CorruptDataError, match="malformed"):
        decode(column, data)


@pytest.mark.parametrize(
    "payload",
    [b"", np.array([5], "<i8").tobytes(), np.array([1, -1], "<i8").tobytes(),
     np.array([1, 3], "<i8").tobytes() + b"ab", np.array([1, 2], "<i8").tobytes() + b"\xff\xfe"],
)
def test_malformed_text_is_corrupt(payload: bytes) -> None:
    data = b"T" + zstandard.ZstdCompressor().compress(payload)
    with pytest.raises(CorruptDataError, match="malformed"):
        decode(Column("c", "str"), data)


def test_decode_slice_checks_the_segment_holds_the_row() -> None:
    column = Column("c", "int")
    data = encode(column, np.arange(10))
    row = Row((3,), (6,), 4, 3, ("0" * 40,))
    assert decode_slice(column, data, row, "here").tolist() == [3, 4, 5, 6]
    with pytest.raises(CorruptDataError, match=r"holds 10 values.*\[8, 12\)"):
        decode_slice(column, data, Row((8,), (11,), 4, 8, ("0" * 40,)), "here")


# -- decimal floats, decoding into place (issue 7) --------------------------------------
@pytest.mark.parametrize("decimals", [0, 2, 6])
def test_short_decimals_take_the_decimal_encoding_and_round_trip(decimals: int) -> None:
    column = Column("c", "float")
    walk = 100 + np.cumsum(np.random.default_rng(decimals).normal(0, 0.05, 5000))
    values = walk.round(decimals)
    data = encode(column, values)
    assert data[:1] == b"F"
    assert same(decode(column, data), values)
    assert len(data) < values.nbytes / 2


@pytest.mark.parametrize("values", [
    [0.1 + 0.2, 1.0],  # not a short decimal
    [1.0, -0.0],  # -0.0 would come back as 0.0
    [1.5, 2.0**60],  # beyond 2**53 integers are not exact
    [1.0, np.nan], [np.inf, 2.0],
])
def test_floats_that_are_not_short_decimals_keep_the_shuffle(values: list[float]) -> None:
    column = Column("c", "float")
    array = np.array(values)
    data = encode(column, array)
    assert data[:1] == b"S"
    assert same(decode(column, data), array)


def test_decode_into_writes_a_slice_in_place() -> None:
    for type_name, values in [("float", np.arange(100) / 4), ("float", np.sqrt(np.arange(100))),
                              ("timestamp", np.arange(100).astype("M8[s]").astype("M8[ns]")),
                              ("str", np.array([str(i) for i in range(100)], dtype=object))]:
        column = Column("c", type_name)
        data = encode(column, values)
        out = np.empty(10, dtype=values.dtype)
        decode_into(column, data, out, 30, 100)
        assert same(out, values[30:40])
        whole = np.empty(100, dtype=values.dtype)
        decode_into(column, data, whole, 0, 100)
        assert same(whole, values)
        with pytest.raises(CorruptDataError, match=r"holds 100 values.*\[95, 105\)"):
            decode_into(column, data, out, 95, 105)


@pytest.mark.parametrize("type_name", ["float", "timestamp", "int"])
def test_decode_many_into_matches_one_by_one(type_name: str) -> None:
    rng = np.random.default_rng(3)
    column = Column("c", type_name)
    if type_name == "float":  # mixed decimals, so mixed scales
        parts = [rng.normal(0, 1e3, n).round(int(d)) for n, d in
                 zip(rng.integers(1, 40, 20), rng.integers(0, 4, 20))]
    elif type_name == "int":  # full range: the sums wrap like the per-segment ones
        parts = [rng.integers(-2**63, 2**63 - 1, n) for n in rng.integers(1, 40, 20)]
    else:
        parts = [np.sort(rng.integers(0, 10**18, n)).astype("M8[ns]")
                 for n in rng.integers(1, 40, 20)]
    segments = [(encode(column, p), "here") for p in parts]
    whole = np.concatenate(parts)
    out = np.empty_like(whole)
    assert decode_many_into(column, segments, [len(p) for p in parts], out)
    assert same(out, whole)
    # a length that does not match its segment: refused, for the caller's slow path
    assert not decode_many_into(column, segments, [len(p) + 1 for p in parts],
                                np.empty(len(whole) + len(parts), dtype=whole.dtype))


def test_flipped_byte_in_decimal_floats_is_corrupt() -> None:
    column = Column("c", "float")
    data = bytearray(encode(column, np.arange(1000) / 100))
    assert data[:1] == b"F"
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(CorruptDataError, match="decompress"):
        decode(column, bytes(data))


@pytest.mark.parametrize("header", [
    struct.pack("<BB6xqq", 9, 1, 2, 0) + b"\x01",  # too many decimals
    struct.pack("<BB6xqq", 2, 3, 2, 0) + b"\x01",  # no such width
    struct.pack("<BB6xqq", 2, 1, 5, 0) + b"\x01",  # claims more values than it holds
    b"\x02\x01",  # no header
])
def test_malformed_decimal_floats_are_corrupt(header: bytes) -> None:
    data = b"F" + zstandard.ZstdCompressor().compress(header)
    with pytest.raises(CorruptDataError, match="malformed"):
        decode(Column("c", "float"), data)
    with pytest.raises(CorruptDataError, match="not an encoded"):
        decode(Column("c", "int"), data)
