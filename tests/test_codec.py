"""Codecs: exact round trips of every column type, and corrupt bytes detected."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard

from lakota_dask.codec import blob_path, decode, encode
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
