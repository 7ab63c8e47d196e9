"""Segments: the encoded columns of a slice of rows, and how rows of a commit are read.

A write is cut into chunks of at most ``SEGMENT_ROWS`` rows; each column of a chunk is
encoded (:mod:`lakota_dask.codec`) into one segment stored at its content address, or
embedded in the commit when it is smaller than ``EMBED_MAX_SIZE`` bytes. A chunk becomes
one commit :class:`~lakota_dask.commit.Row`.

Large writes and reads code their segments on every core (:func:`~lakota_dask.utils.thread_map`), and
:func:`read_into` decodes each segment straight into its place in the output arrays.

Garbage collection renames an unreferenced segment ``<name>.<hextime>`` before deleting
it for good; reading such a soft-deleted segment still works (a revision written while the
collection ran may need it).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from .codec import (
    blob_path,
    decode,
    decode_into,
    decode_many_into,
    encode,
    max_values,
)
from .commit import EMBED_MAX_SIZE, Commit, Row
from .errors import CorruptDataError, SegmentMissingError
from .keys import Range, comparable, key_arrays, row_key
from .schema import Column, Schema
from .storage import Pod
from .utils import hexdigest, thread_map

__all__ = ["EncodedWrite", "Piece", "decode_slice", "encode_rows", "read_blobs", "read_into",
           "read_row_columns"]

T = TypeVar("T")
R = TypeVar("R")

SEGMENT_ROWS = 128 * 1024
#: segments are coded on the calling thread unless the job covers this many values and
#: its segments this many on average (small ones cost more to hand over than to code)
PARALLEL_MIN_VALUES = 64 * 1024
PARALLEL_MIN_SEGMENT = 16 * 1024
#: whole small segments decoded together by one task, at most
RUN_SEGMENTS = 128

#: values ``[start, stop)`` of a row (positions within the row)
Piece = tuple[Row, int, int]


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
    bounds = [(lo, min(lo + segment_rows, n)) for lo in range(0, n, segment_rows)]
    tasks = [(column, lo, hi) for lo, hi in bounds for column in schema.columns]

    def code(task: tuple[Column, int, int]) -> tuple[str, bytes]:
        column, lo, hi = task
        data = encode(column, arrays[column.name][lo:hi])
        return hexdigest(data), data

    coded = iter(_map(code, tasks, n * len(schema.columns)))
    for lo, hi in bounds:
        digests = []
        for _ in schema.columns:
            digest, data = next(coded)
            if len(data) < EMBED_MAX_SIZE:
                out.embedded[digest] = data
            else:
                out.files[blob_path(digest)] = data
            digests.append(digest)
        out.rows.append(Row(row_key(keys, lo), row_key(keys, hi - 1), hi - lo, 0, tuple(digests)))
    return out


def _map(func: Callable[[T], R], items: list[T], values: int) -> list[R]:
    """``func`` over ``items``, on every core when they cover many ``values``."""
    if values < PARALLEL_MIN_VALUES or values < PARALLEL_MIN_SEGMENT * len(items):
        return [func(item) for item in items]
    return thread_map(func, items)


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
    found = _segment_bytes(pod, schema, commit, label, rows, columns, blobs)
    position = {name: i for i, name in enumerate(schema.names)}
    tasks = [(row, name) for row in rows for name in columns]

    def code(task: tuple[Row, str]) -> np.ndarray:
        row, name = task
        digest = row.digests[position[name]]
        return decode_slice(schema[name], found[digest], row, Where(pod, digest))

    decoded = iter(_map(code, tasks, sum(r.length for r in rows) * len(columns)))
    return [{name: next(decoded) for name in columns} for _ in rows]


def read_into(
    pod: Pod,
    schema: Schema,
    commit: Commit,
    label: str,
    pieces: list[Piece],
    columns: list[str],
    blobs: dict[str, bytes] | None = None,
) -> dict[str, np.ndarray]:
    """``columns`` of ``pieces`` end to end, each segment decoded into its place.

    A piece is ``(row, start, stop)``, the values ``[start, stop)`` of a row. The output
    holds one array per column and no other copy of the values: reading ``n`` values
    needs ``n`` values of memory plus the compressed segments.
    """
    rows = [p[0] for p in pieces]
    found = _segment_bytes(pod, schema, commit, label, rows, columns, blobs)
    position = {name: i for i, name in enumerate(schema.names)}
    # stored lengths are untrusted: check them against the segments before allocating
    for row in rows:
        for name in columns:
            digest = row.digests[position[name]]
            if row.offset + row.length > max_values(found[digest], Where(pod, digest)):
                raise CorruptDataError(
                    f"{Where(pod, digest)}: column {name!r} cannot hold the {row.length} "
                    f"values at {row.offset} the commit reads"
                )
    sizes = [stop - start for _, start, stop in pieces]
    total = sum(sizes)
    out = {name: np.empty(total, dtype=object if schema[name].is_text else schema[name].dtype)
           for name in columns}
    tasks: list[tuple[Piece | list[Piece], str, np.ndarray]] = []
    for name in columns:
        at, run, run_at = 0, [], 0
        for piece, size in zip(pieces, sizes):
            if (piece[0].offset == 0 and piece[1] == 0 and piece[2] == piece[0].length
                    and size < PARALLEL_MIN_SEGMENT):
                # small whole segments in a row are decoded together (see below)
                run_at = at if not run else run_at
                run.append(piece)
            else:
                tasks.extend(_run_tasks(run, name, out[name], run_at))
                run = []
                tasks.append((piece, name, out[name][at:at + size]))
            at += size
        tasks.extend(_run_tasks(run, name, out[name], run_at))

    def decode_one(piece: Piece, name: str, dest: np.ndarray) -> None:
        row, start, stop = piece
        digest = row.digests[position[name]]
        decode_into(schema[name], found[digest], dest, row.offset + start,
                    row.offset + row.length, Where(pod, digest))

    def code(task: tuple[Piece | list[Piece], str, np.ndarray]) -> None:
        piece, name, dest = task
        if not isinstance(piece, list):
            decode_one(piece, name, dest)
            return
        digests = [p[0].digests[position[name]] for p in piece]
        segments = [(found[d], Where(pod, d)) for d in digests]
        lengths = [p[0].length for p in piece]
        if not decode_many_into(schema[name], segments, lengths, dest):
            at = 0
            for part, size in zip(piece, lengths):
                decode_one(part, name, dest[at:at + size])
                at += size

    _map(code, tasks, total * len(columns))
    return out


def range_pieces(
    pod: Pod,
    schema: Schema,
    commit: Commit,
    label: str,
    rows: list[Row],
    rng: Range,
    blobs: dict[str, bytes] | None = None,
) -> list[Piece]:
    """The pieces of ``rows`` inside ``rng``, for :func:`read_into`.

    Only rows straddling a bound (at most the first and the last) are read here, and
    only their index columns, to find where the bound cuts them; every piece is then
    decoded by :func:`read_into` straight into the output (a shuffled float column
    unshuffles just the values kept).
    """
    exact = [rng.after_start(r.start) and rng.before_stop(r.stop) for r in rows]
    partial = [row for row, is_exact in zip(rows, exact) if not is_exact]
    keys = iter(read_row_columns(pod, schema, commit, label, partial, schema.index, blobs))
    pieces: list[Piece] = []
    for row, is_exact in zip(rows, exact):
        if is_exact:
            pieces.append((row, 0, row.length))
        else:
            lo, hi = rng.positions(key_arrays(schema, next(keys)))
            pieces.append((row, lo, hi))
    return pieces


def _run_tasks(run: list[Piece], name: str, out: np.ndarray,
               at: int) -> list[tuple[Piece | list[Piece], str, np.ndarray]]:
    """The decoding tasks of a run of whole small segments starting at ``out[at]``: one
    per ``RUN_SEGMENTS`` segments, so that a long run keeps every thread busy."""
    tasks: list[tuple[Piece | list[Piece], str, np.ndarray]] = []
    for i in range(0, len(run), RUN_SEGMENTS):
        part = run[i:i + RUN_SEGMENTS]
        size = sum(piece[2] for piece in part)
        tasks.append((part[0] if len(part) == 1 else part, name, out[at:at + size]))
        at += size
    return tasks


def _segment_bytes(
    pod: Pod,
    schema: Schema,
    commit: Commit,
    label: str,
    rows: list[Row],
    columns: list[str],
    blobs: dict[str, bytes] | None,
) -> dict[str, bytes]:
    """The bytes of the segments of ``columns`` of ``rows``: given, embedded or stored."""
    position = {name: i for i, name in enumerate(schema.names)}
    shard_blobs = commit.blobs(label) if rows else {}
    embedded: dict[str, bytes] = {}
    needed = []
    for row in rows:
        for name in columns:
            digest = row.digests[position[name]]
            data = shard_blobs.get(digest)
            if data is not None:
                embedded[digest] = data
            elif blobs is None or digest not in blobs:
                needed.append(digest)
    return {**(blobs or {}), **embedded, **(read_blobs(pod, needed) if needed else {})}


class Where:
    """Where a segment is stored, spelled out only when an error message needs it (the
    codec is given one for every segment it decodes, and nearly always succeeds)."""

    __slots__ = ("digest", "pod")

    def __init__(self, pod: Pod, digest: str) -> None:
        self.pod = pod
        self.digest = digest

    def __str__(self) -> str:
        return f"{self.pod.location}/{blob_path(self.digest)}"


def decode_slice(column: Column, data: bytes, row: Row, where: str | Where) -> np.ndarray:
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
