"""Codecs: one column of values to bytes and back, plus content addresses.

An encoded column is one tag byte followed by a zstd frame:

- ``D`` (integers, timestamps, dates): the first value then the differences between
  neighbours, as little-endian integers; regular series compress to almost nothing.
- ``S`` (floats): byte-shuffled (all first bytes, then all second bytes...), which groups
  the slowly changing exponent bytes together.
- ``R`` (booleans): the raw bytes.
- ``T`` (text): the count, the UTF-8 length of every value (int64), then the UTF-8 bytes.

A blob is stored at its content address ``ab/cd/<36 more hex digits>`` (the SHA-1 of the
encoded bytes), so identical data is stored once and rewriting it is harmless.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import zstandard

from .errors import CorruptDataError
from .schema import Column

__all__ = ["blob_path", "decode", "encode"]

ZSTD_LEVEL = 3


def blob_path(hexdigest: str) -> str:
    """The storage path of a content-addressed blob: ``ab/cd/<rest>``."""
    return f"{hexdigest[:2]}/{hexdigest[2:4]}/{hexdigest[4:]}"


def _tag_for(column: Column) -> bytes:
    dtype = column.dtype
    if dtype is None:
        return b"T"
    if dtype.kind in "iumM":
        return b"D"
    if dtype.kind == "f":
        return b"S"
    return b"R"


def encode(column: Column, values: np.ndarray, level: int = ZSTD_LEVEL) -> bytes:
    """Encode an array already cast to ``column``'s type."""
    tag = _tag_for(column)
    if tag == b"T":
        payload = _text_bytes(values)
    elif tag == b"D":
        ints = np.ascontiguousarray(values).view(f"<i{values.dtype.itemsize}")
        payload = np.diff(ints, prepend=ints.dtype.type(0)).tobytes() if ints.size else b""
    elif tag == b"S":
        raw = np.ascontiguousarray(values).view(np.uint8).reshape(-1, values.dtype.itemsize)
        payload = raw.T.tobytes()
    else:
        payload = np.ascontiguousarray(values).tobytes()
    # the frame checksum lets every read detect a flipped byte without re-hashing
    return tag + zstandard.ZstdCompressor(level=level, write_checksum=True).compress(payload)


def decode(column: Column, data: bytes | memoryview, where: str = "a segment") -> np.ndarray:
    """Decode bytes made by :func:`encode`; :class:`CorruptDataError` if they are not."""
    expected = _tag_for(column)
    if len(data) < 1 or bytes(data[:1]) != expected:
        raise CorruptDataError(
            f"{where}: not an encoded {column.type} column (column {column.name!r})"
        )
    try:
        payload = zstandard.ZstdDecompressor().decompress(data[1:], allow_extra_data=False)
    except zstandard.ZstdError as err:
        raise CorruptDataError(f"{where}: cannot decompress column {column.name!r}: {err}") from err
    except MemoryError as err:
        # the frame header states the decompressed size, and zstd allocates it up front
        raise CorruptDataError(
            f"{where}: column {column.name!r} claims a decompressed size larger than memory"
        ) from err
    try:
        return _decode_payload(column, expected, payload)
    except (ValueError, TypeError, pa.ArrowException) as err:
        raise CorruptDataError(f"{where}: column {column.name!r} is malformed: {err}") from err


def _decode_payload(column: Column, tag: bytes, payload: bytes) -> np.ndarray:
    if tag == b"T":
        return _text_values(payload)
    dtype = column.dtype
    assert dtype is not None  # only text columns have no dtype
    if len(payload) % dtype.itemsize:
        raise ValueError(f"{len(payload)} bytes is not a whole number of {dtype} values")
    if tag == b"D":
        ints = np.frombuffer(payload, dtype=f"<i{dtype.itemsize}")
        return np.cumsum(ints, dtype=ints.dtype).view(dtype)
    if tag == b"S":
        shuffled = np.frombuffer(payload, dtype=np.uint8).reshape(dtype.itemsize, -1)
        return np.ascontiguousarray(shuffled.T).view(dtype).reshape(-1)
    return np.frombuffer(payload, dtype=dtype).copy()


def _text_bytes(values: np.ndarray) -> bytes:
    array = pa.array(values, type=pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[: len(array) + 1]
    data = array.buffers()[2]
    body = b"" if data is None else data.to_pybytes()[offsets[0] : offsets[-1]]
    header = np.array([len(array)], dtype="<i8").tobytes()
    return header + np.diff(offsets).astype("<i8").tobytes() + body


def _text_values(payload: bytes) -> np.ndarray:
    if len(payload) < 8:
        raise ValueError("text column without its length header")
    count = int(np.frombuffer(payload[:8], dtype="<i8")[0])
    if count < 0 or 8 + 8 * count > len(payload):
        raise ValueError(f"text column claims {count} values, more than it holds")
    lengths = np.frombuffer(payload, dtype="<i8", count=count, offset=8)
    if count and lengths.min() < 0:
        raise ValueError("text column has a negative length")
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    body = payload[8 + 8 * count :]
    if offsets[-1] != len(body):
        raise ValueError(f"text column lengths add up to {offsets[-1]}, not {len(body)} bytes")
    array = pa.LargeStringArray.from_buffers(
        count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(body)
    )
    array.validate(full=True)  # rejects invalid UTF-8
    return array.to_numpy(zero_copy_only=False).astype(object)
