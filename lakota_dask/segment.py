"""Segments: the encoded columns of a slice of rows, and how rows of a commit are read.

A write is cut into chunks of at most ``SEGMENT_ROWS`` rows; each column of a chunk is
encoded (:mod:`lakota_dask.codec`) into one segment stored at its content address, or
embedded in the commit when it is smaller than ``EMBED_MAX_SIZE`` bytes. A chunk becomes
one commit :class:`~lakota_dask.commit.Row`.

Garbage collection renames an unreferenced segment ``<name>.<hextime>`` before deleting
it for good; reading such a soft-deleted segment still works (a revision written while the
collection ran may need it).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .codec import blob_path, decode, encode
from .commit import EMBED_MAX_SIZE, Commit, Row
from .errors import CorruptDataError, SegmentMissingError
from .keys import comparable, row_key
from .schema import Column, Schema
from .storage import Pod
from .utils import hexdigest

__all__ = ["EncodedWrite", "decode_slice", "encode_rows", "read_blobs", "read_row_columns"]

SEGMENT_ROWS = 256 * 1024


@dataclass
class EncodedWrite:
    """The commit rows of a write, with the bytes still to be stored or embedded."""

    rows: list[Row] = field(default_factory=list)
    embedded: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def extend(self, other: EncodedWrite) -> None:
        """Add the rows and bytes of ``other`` after ours."""
        self.rows.extend(other.rows)
        self.embedded.update(other.embedded)
        self.files.update(other.files)

    @property
    def nbytes(self) -> int:
        """Encoded bytes, stored and embedded."""
        return sum(map(len, self.files.values())) + sum(map(len, self.embedded.values()))


def encode_rows(
    schema: Schema, arrays: dict[str, np.ndarray], segment_rows: int = SEGMENT_ROWS
) -> EncodedWrite:
    """Encode schema-checked arrays into rows of at most ``segment_rows`` values each."""
    out = EncodedWrite()
    n = len(arrays[schema.names[0]])
    keys = [comparable(arrays[name]) for name in schema.index]
    for lo in range(0, n, segment_rows):
        hi = min(lo + segment_rows, n)
        digests = []
        for column in schema.columns:
            data = encode(column, arrays[column.name][lo:hi])
            digest = hexdigest(data)
            if len(data) < EMBED_MAX_SIZE:
                out.embedded[digest] = data
            else:
                out.files[blob_path(digest)] = data
            digests.append(digest)
        out.rows.append(Row(row_key(keys, lo), row_key(keys, hi - 1), hi - lo, 0, tuple(digests)))
    return out


def read_blobs(pod: Pod, digests: Iterable[str]) -> dict[str, bytes]:
    """The stored bytes of segments, following soft-deleted ones."""
    wanted = list(dict.fromkeys(digests))
    try:
        found = pod.read_many([blob_path(d) for d in wanted])
        return dict(zip(wanted, found))
    except SegmentMissingError:
        return {d: read_blob(pod, d) for d in wanted}


def read_blob(pod: Pod, digest: str) -> bytes:
    """The stored bytes of one segment, following a soft-deleted one."""
    path = blob_path(digest)
    try:
        return pod.read(path)
    except SegmentMissingError:
        folder, name = posixpath.split(path)
        for candidate in pod.ls(folder):
            if candidate.startswith(name + "."):
                return pod.read(f"{folder}/{candidate}")
        raise


def read_row_columns(
    pod: Pod,
    schema: Schema,
    commit: Commit,
    label: str,
    rows: list[Row],
    columns: list[str],
    blobs: dict[str, bytes] | None = None,
) -> list[dict[str, np.ndarray]]:
    """Decode ``columns`` of each row, each array cut to the row's own slice."""
    position = {name: i for i, name in enumerate(schema.names)}
    embedded: dict[str, bytes] = {}
    needed = []
    for row in rows:
        for name in columns:
            digest = row.digests[position[name]]
            data = commit.blob(digest, label)
            if data is not None:
                embedded[digest] = data
            elif blobs is None or digest not in blobs:
                needed.append(digest)
    found = {**(blobs or {}), **embedded, **(read_blobs(pod, needed) if needed else {})}
    out = []
    for row in rows:
        arrays = {}
        for name in columns:
            digest = row.digests[position[name]]
            where = f"{pod.location}/{blob_path(digest)}"
            arrays[name] = decode_slice(schema[name], found[digest], row, where)
        out.append(arrays)
    return out


def decode_slice(column: Column, data: bytes, row: Row, where: str) -> np.ndarray:
    """The values ``[offset, offset + length)`` of a segment for ``row``.

    :class:`CorruptDataError` if the segment holds fewer values than the row claims: a
    silent short slice would return a frame with columns of different lengths.
    """
    values = decode(column, data, where)
    end = row.offset + row.length
    if row.offset < 0 or row.length < 0 or len(values) < end:
        raise CorruptDataError(
            f"{where}: column {column.name!r} holds {len(values)} values, but the commit "
            f"reads [{row.offset}, {end})"
        )
    return values[row.offset : end]
