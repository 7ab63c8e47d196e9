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


def test_delta_encoding_makes_nearly_regular_series_tiny() -> None:
    column = Column("c", "timestamp")
    values = np.arange("2020-01-01", "2021-01-01", dtype="datetime64[m]").astype("M8[ns]")
    values[::1000] += np.timedelta64(1, "s")  # a few late ticks: not a progression
    data = encode(column, values)
    assert len(data) < values.nbytes / 200
    assert same(decode(column, data), values)
    assert data[:1] == b"D"


@pytest.mark.parametrize("type_name", ["int", "u8", "timestamp", "M8[s]", "m8[s]"])
def test_regular_64_bit_columns_store_their_first_value_and_step(type_name: str) -> None:
    column = Column("c", type_name)
    dtype = column.dtype
    for ints in (np.arange(10, 10 + 7 * 100_000, 7), np.arange(5, -5 * 10, -5), [1, 1, 1],
                 np.iinfo("i8").max - np.arange(3) * (2**62)):  # steps that wrap around
        values = np.asarray(ints, dtype="i8").view(dtype)
        data = encode(column, values)
        assert data[:1] == b"A" and len(data) < 64
        assert same(decode(column, data), values)
        out = np.empty(2, dtype=dtype)
        decode_into(column, data, out, 1, len(values))
        assert same(out, values[1:3])
    assert encode(column, np.zeros(1, dtype=dtype))[:1] == b"D"  # one value has no step
    assert encode(Column("c", "i4"), np.arange(100, dtype="i4"))[:1] == b"D"


def test_malformed_regular_columns_are_corrupt() -> None:
    column = Column("c", "int")
    compress = zstandard.ZstdCompressor(write_checksum=True).compress
    for payload in (struct.pack("<qqq", 1, 0, 1), struct.pack("<qq", 5, 0),
                    struct.pack("<qqq", -3, 0, 1), struct.pack("<qqqq", 3, 0, 1, 0)):
        with pytest.raises(CorruptDataError, match="here"):
            decode(column, b"A" + compress(payload), "here")
    with pytest.raises(CorruptDataError, match="not an encoded"):  # no A for 32-bit columns
        decode(Column("c", "i4"), encode(column, np.arange(5)), "here")


def test_tags_by_type() -> None:
    tags = {t: encode(Column("c", t), Column("c", t).empty())[:1] for t in
            ["int", "float", "bool", "str", "date"]}
    assert tags == {"int": b"D", "float": b"H", "bool": b"R", "str": b"T", "date": b"D"}


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
    data = b"D" + zstandard.ZstdCompressor(write_checksum=True).compress(b"\x00" * 12)
    with pytest.raises(CorruptDataError, match="malformed"):
        decode(column, data)


@pytest.mark.parametrize(
    "payload",
    [b"", np.array([5], "<i8").tobytes(), np.array([1, -1], "<i8").tobytes(),
     np.array([1, 3], "<i8").tobytes() + b"ab", np.array([1, 2], "<i8").tobytes() + b"\xff\xfe"],
)
def test_malformed_text_is_corrupt(payload: bytes) -> None:
    data = b"T" + zstandard.ZstdCompressor(write_checksum=True).compress(payload)
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
    assert data[:1] == b"H"
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
    data = b"F" + zstandard.ZstdCompressor(write_checksum=True).compress(header)
    with pytest.raises(CorruptDataError, match="malformed"):
        decode(Column("c", "float"), data)
    with pytest.raises(CorruptDataError, match="not an encoded"):
        decode(Column("c", "int"), data)


def test_decode_many_into_unshuffles_raw_floats_end_to_end() -> None:
    rng = np.random.default_rng(5)
    column = Column("c", "float")
    parts = [rng.normal(0, 1, n) for n in rng.integers(1, 300, 30)]
    segments = [(encode(column, p), "here") for p in parts]
    assert {data[:1] for data, _ in segments} == {b"H"}
    whole = np.concatenate(parts)
    out = np.empty_like(whole)
    assert decode_many_into(column, segments, [len(p) for p in parts], out)
    assert same(out, whole)


# -- large segments: decompressed into reused memory, checked as strictly ---------------
def big_floats() -> tuple[Column, bytes, np.ndarray]:
    column = Column("c", "float")
    values = np.random.default_rng(8).normal(100, 5, 50_000)  # 400 KB: the scratch path
    return column, encode(column, values), values


def test_large_segments_round_trip_and_slices_decode_in_place() -> None:
    column, data, values = big_floats()
    assert same(decode(column, data), values)
    out = np.full(1_000, -1.0)
    decode_into(column, data, out, 20_000, 50_000)
    assert same(out, values[20_000:21_000])
    # the scratch buffer is reused: a second segment does not change the first's result
    first = decode(column, data)
    decode(column, encode(column, values[::-1].copy()))
    assert same(first, values)


@pytest.mark.parametrize(
    "damage",
    [lambda d: d[:-1], lambda d: d[:-4], lambda d: d[:-5], lambda d: d[: len(d) // 2],
     lambda d: d + b"\x00", lambda d: d + d[1:],
     lambda d: d[:-1] + bytes([d[-1] ^ 1]),
     lambda d: d[: len(d) // 2] + bytes([d[len(d) // 2] ^ 0xFF]) + d[len(d) // 2 + 1:]],
    ids=["-1 byte", "no checksum", "-5 bytes", "half", "+1 byte", "+1 frame",
         "bad checksum", "flipped byte"],
)
def test_damaged_large_segments_are_corrupt(damage) -> None:
    column, data, _ = big_floats()
    with pytest.raises(CorruptDataError, match="here"):
        decode(column, damage(data), "here")
    with pytest.raises(CorruptDataError, match="here"):
        decode_into(column, damage(data), np.empty(10), 0, 10, "here")


@pytest.mark.parametrize("type_name", NUMERIC + TIMES)
def test_every_slice_of_extremes_decodes_in_place(type_name: str) -> None:
    column = Column("c", type_name)
    values = np.concatenate([extremes(type_name)] * 3)  # differences that wrap around
    data = encode(column, values)
    for start in range(len(values)):
        for size in (0, 1, len(values) - start):
            out = np.empty(size, dtype=values.dtype)
            decode_into(column, data, out, start, len(values))
            assert same(out, values[start:start + size]), (start, size)


def test_decimal_float_slices_decode_in_place() -> None:
    column = Column("c", "float")
    values = np.round(np.random.default_rng(2).normal(0, 1e6, 5_000), 2)
    data = encode(column, values)
    assert data[:1] == b"F"
    for start in (0, 1, 999, 4_999):
        out = np.empty(min(700, 5_000 - start))
        decode_into(column, data, out, start, 5_000)
        assert same(out, values[start:start + len(out)])


def test_regular_column_claiming_huge_counts_is_corrupt() -> None:
    payload = b"A" + zstandard.ZstdCompressor(write_checksum=True).compress(
        struct.pack("<qqq", 2**62, 0, 1))
    with pytest.raises(CorruptDataError, match="here"):
        decode(Column("c", "int"), payload, "here")


def test_segment_beyond_the_scratch_size_round_trips() -> None:
    column = Column("c", "float")
    values = np.random.default_rng(4).random(2_200_000)  # 17.6 MB decompressed
    data = encode(column, values)
    assert same(decode(column, data), values)
    out = np.empty(5)
    decode_into(column, data, out, 2_000_000, 2_200_000)
    assert same(out, values[2_000_000:2_000_005])


@pytest.mark.parametrize("sizes", [[1000] * 7, [3, 1000, 2, 50]])
def test_decode_many_into_regular_segments(sizes: list[int]) -> None:
    column = Column("c", "timestamp")
    start = np.datetime64("2020-01-01", "ns")
    parts, at = [], 0
    for i, n in enumerate(sizes):  # a different step per segment
        parts.append(start + (at + np.arange(n) * (i + 1)).astype("m8[s]"))
        at += n * (i + 1)
    segments = [(encode(column, p), "here") for p in parts]
    assert {data[:1] for data, _ in segments} == {b"A"}
    whole = np.concatenate(parts)
    out = np.empty_like(whole)
    assert decode_many_into(column, segments, sizes, out)
    assert same(out, whole)


def test_frame_claiming_more_than_its_blocks_is_refused_before_allocating() -> None:
    # a 3 GiB claim with one empty raw block: refused from the headers, nothing allocated
    header = zstandard.ZstdCompressor(write_checksum=True).compress(b"x" * 70_000)
    params = zstandard.get_frame_parameters(header)
    assert params.has_checksum and params.content_size == 70_000
    frame = bytearray(b"\x28\xb5\x2f\xfd")  # magic
    frame += bytes([0b11100100])  # descriptor: 8-byte content size, single segment, checksum
    frame += (3 << 30).to_bytes(8, "little")
    frame += (1).to_bytes(3, "little")  # last block, raw, 0 bytes
    frame += b"\0\0\0\0"  # checksum
    with pytest.raises(CorruptDataError, match=r"here.*claims 3221225472 bytes"):
        decode_into(Column("c", "float"), b"S" + bytes(frame), np.empty(10), 0, 10, "here")


def test_frames_without_checksum_are_corrupt_whatever_their_size() -> None:
    column = Column("c", "int")
    for count in (10, 100_000):
        data = b"D" + zstandard.ZstdCompressor().compress(np.arange(count).tobytes())
        with pytest.raises(CorruptDataError, match="here.*no checksum"):
            decode(column, data, "here")


def test_a_malformed_segment_in_a_run_is_named() -> None:
    column = Column("c", "int")
    bad = b"A" + zstandard.ZstdCompressor(write_checksum=True).compress(
        struct.pack("<qqq", 1, 0, 1))
    segments = [(encode(column, np.array([5, 1, 9])), "seg-good"), (bad, "seg-BAD")]
    # refused as a run, so that the one-by-one decoding names the bad segment
    assert not decode_many_into(column, segments, [3, 1], np.empty(4, dtype="i8"))
    with pytest.raises(CorruptDataError, match="seg-BAD"):
        decode_into(column, bad, np.empty(1, dtype="i8"), 0, 1, "seg-BAD")


@pytest.mark.parametrize("type_name", ["float", "f4"])
def test_byte_shuffled_floats_of_earlier_versions_still_decode(type_name: str) -> None:
    column = Column("c", type_name)
    values = np.random.default_rng(6).normal(0, 1, 100_000).astype(column.dtype)
    planes = np.ascontiguousarray(values.view(np.uint8).reshape(len(values), -1).T)
    data = b"S" + zstandard.ZstdCompressor(write_checksum=True).compress(planes.tobytes())
    assert same(decode(column, data), values)
    out = np.empty(10, dtype=values.dtype)
    decode_into(column, data, out, 500, len(values))
    assert same(out, values[500:510])
    small = [(b"S" + zstandard.ZstdCompressor(write_checksum=True).compress(
        np.ascontiguousarray(part.view(np.uint8).reshape(len(part), -1).T).tobytes()), "x")
        for part in np.split(values[:300], 3)]
    out = np.empty(300, dtype=values.dtype)
    assert decode_many_into(column, small, [100] * 3, out)
    assert same(out, values[:300])
