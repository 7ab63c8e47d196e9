"""Commits: the immutable table of a collection's live rows, and its algebra.

A *row* says "series ``label`` holds ``length`` values, the slice
``[offset, offset + length)`` of the segments ``digests`` (one per schema column), whose
first and last index keys are ``start`` and ``stop``". A row only ever narrows the slice of
segments it points to, so overwriting part of a series rewrites no stored data. Rows are
always closed on both ends: ``start`` and ``stop`` are real keys of the segment.

Rows are grouped by label into *shards* of at most ``MAX_SHARD_LABELS`` labels, sorted by
label. A revision stores the shard list; a small shard is inlined in it, a larger one is a
content-addressed blob, so a write to one series re-encodes one shard and the list, not
every series of the collection, and a read decodes only the shard it needs.

Segments smaller than ``EMBED_MAX_SIZE`` bytes are not stored as files: their bytes are
embedded in the shard (``blobs``), keyed by their digest.

Revision payload (msgpack)::

    {"v": 1,
     "ops": [[label, [start, stop, closed]], ...],      # what this revision changed
     "shards": [[first_label, last_label, inline_bytes | None, hexdigest | None], ...]}

Shard payload (msgpack)::

    {"rows": {label: [[start, stop, length, offset, [digest, ...]], ...]},
     "blobs": {digest: bytes}}

No I/O happens here: loading shard blobs and the index keys of a segment is done through
functions passed in by the caller.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

from .errors import CorruptDataError
from .keys import Key, Range, row_key
from .utils import hexdigest

__all__ = ["Commit", "Op", "Row", "Shard", "pack_rows"]

EMBED_MAX_SIZE = 1024
MAX_SHARD_LABELS = 256
INLINE_SHARD_SIZE = 16 * 1024
FORMAT_VERSION = 1
_HEX40 = re.compile(r"[0-9a-f]{40}")

LoadKeys = Callable[["Row"], list[np.ndarray]]
LoadShard = Callable[[str], "Shard"]


@dataclass(frozen=True, slots=True)
class Row:
    """A slice of stored segments holding part of one series."""

    start: Key
    stop: Key
    length: int
    offset: int
    digests: tuple[str, ...]
    #: the msgpack-ready values, kept once made: a shard re-encodes every row of its
    #: labels on each write, and a series grown by appends has many
    _encoded: list[Any] | None = field(default=None, compare=False, repr=False)

    def encode(self) -> list[Any]:
        """The row as msgpack-ready values (shared: not to be changed)."""
        if self._encoded is None:
            encoded = [list(self.start), list(self.stop), self.length, self.offset,
                       [bytes.fromhex(d) for d in self.digests]]
            object.__setattr__(self, "_encoded", encoded)
        return self._encoded  # type: ignore[return-value]

    @classmethod
    def decode(cls, data: Any) -> Row:
        """The row stored by :meth:`encode`."""
        start, stop, length, offset, digests = data
        # stored bytes are untrusted: check types before use (bytes(2**40) would allocate)
        if not (_is_key(start) and _is_key(stop) and type(length) is int and length >= 0
                and type(offset) is int and offset >= 0 and isinstance(digests, list)
                and all(isinstance(d, bytes) and len(d) == 20 for d in digests)):
            raise ValueError("a row has a field of the wrong type or size")
        return cls(tuple(start), tuple(stop), length, offset, tuple(d.hex() for d in digests),
                   data)

    def narrow(self, keys: list[np.ndarray], lo: int, hi: int) -> Row:
        """The part ``[lo, hi)`` of this row, given the row's own index keys."""
        return Row(row_key(keys, lo), row_key(keys, hi - 1), hi - lo, self.offset + lo,
                   self.digests)


def _is_key(value: Any) -> bool:
    """Whether a decoded value is a stored key: a non-empty list of plain scalars."""
    return (isinstance(value, list) and bool(value)
            and all(type(v) in (int, float, str, bool) for v in value))


def pack_rows(rows: Iterable[Row], limit: int, join_equal_first_key: bool = False
              ) -> list[list[Row]]:
    """Consecutive rows packed greedily into runs of at most ``limit`` values.

    With ``join_equal_first_key``, a run never ends between two rows sharing their first
    index value (possible with a multi-column index), even past ``limit``.
    """
    runs: list[list[Row]] = []
    size = 0
    for row in rows:
        fits = runs and size + row.length <= limit
        joined = runs and join_equal_first_key and row.start[0] == runs[-1][-1].stop[0]
        if fits or joined:
            runs[-1].append(row)
            size += row.length
        else:
            runs.append([row])
            size = row.length
    return runs


@dataclass(frozen=True)
class Op:
    """One change recorded by a revision: ``label`` was replaced over ``range``."""

    label: str
    range: Range

    def encode(self) -> list[Any]:
        """The op as msgpack-ready values."""
        return [self.label, self.range.encode()]

    @classmethod
    def decode(cls, data: Any) -> Op:
        """The op stored by :meth:`encode`."""
        label, rng = data
        if not (isinstance(label, str) and isinstance(rng, list) and len(rng) == 3
                and all(b is None or _is_key(b) for b in rng[:2])):
            raise ValueError("an op has a field of the wrong type")
        return cls(label, Range.decode(rng))


@dataclass
class Shard:
    """The rows of a contiguous, sorted run of labels, with their embedded blobs."""

    rows: dict[str, tuple[Row, ...]]
    blobs: dict[str, bytes] = field(default_factory=dict)
    _encoded: bytes | None = field(default=None, repr=False)
    #: the digest under which the shard is stored as a blob, once it is
    stored_as: str | None = None

    @property
    def first(self) -> str:
        """The smallest label."""
        return next(iter(self.rows))

    @property
    def last(self) -> str:
        """The largest label."""
        return next(reversed(self.rows))

    def encode(self) -> bytes:
        """The shard as msgpack bytes (computed once)."""
        if self._encoded is None:
            payload = {
                "rows": {label: [r.encode() for r in rows] for label, rows in self.rows.items()},
                "blobs": {bytes.fromhex(d): b for d, b in self.blobs.items()},
            }
            self._encoded = msgpack.packb(payload, use_bin_type=True)
        return self._encoded

    @classmethod
    def decode(cls, data: bytes, where: str, stored_as: str | None = None) -> Shard:
        """The shard stored by :meth:`encode`; :class:`CorruptDataError` if malformed."""
        try:
            payload = msgpack.unpackb(data, raw=False, strict_map_key=False)
            rows = {
                str(label): tuple(Row.decode(r) for r in items)
                for label, items in payload["rows"].items()
            }
            blobs = {d.hex(): b for d, b in payload["blobs"].items()
                     if isinstance(d, bytes) and len(d) == 20 and isinstance(b, bytes)}
            if len(blobs) != len(payload["blobs"]):
                raise ValueError("an embedded segment is not a 20-byte digest and bytes")
        except (ValueError, TypeError, KeyError, AttributeError,
                msgpack.exceptions.ExtraData) as err:
            raise CorruptDataError(f"{where}: malformed commit shard: {err}") from err
        return cls(rows, blobs, data, stored_as)


def _split(rows: dict[str, tuple[Row, ...]], blobs: dict[str, bytes]) -> list[Shard]:
    """Cut sorted label rows into shards of at most ``MAX_SHARD_LABELS`` labels."""
    labels = list(rows)
    shards = []
    for i in range(0, len(labels), MAX_SHARD_LABELS):
        part = {label: rows[label] for label in labels[i : i + MAX_SHARD_LABELS]}
        used = {d for rs in part.values() for r in rs for d in r.digests}
        shards.append(Shard(part, {d: b for d, b in blobs.items() if d in used}))
    return shards


class Commit:
    """The live rows of a collection, by label; immutable, every change returns a copy."""

    def __init__(self, shards: Iterable[Shard | tuple[str, str, LoadShard, str]] = ()) -> None:
        # an entry is a decoded Shard, or (first, last, loader, key) until it is needed
        self._shards: list[Shard | tuple[str, str, LoadShard, str]] = list(shards)

    # -- lookups -------------------------------------------------------------------
    def _bounds(self, i: int) -> tuple[str, str]:
        entry = self._shards[i]
        return (entry.first, entry.last) if isinstance(entry, Shard) else entry[:2]

    def _shard(self, i: int) -> Shard:
        entry = self._shards[i]
        if not isinstance(entry, Shard):
            entry = entry[2](entry[3])
            self._shards[i] = entry
        return entry

    def _find(self, label: str) -> int:
        """The index of the shard whose label range would hold ``label``."""
        firsts = [self._bounds(i)[0] for i in range(len(self._shards))]
        return max(bisect.bisect_right(firsts, label) - 1, 0)

    def labels(self) -> list[str]:
        """Every label with rows, sorted."""
        return [label for i in range(len(self._shards)) for label in self._shard(i).rows]

    def rows(self, label: str) -> tuple[Row, ...]:
        """The rows of ``label`` sorted by key (empty if the label has none)."""
        if not self._shards:
            return ()
        i = self._find(label)
        first, last = self._bounds(i)
        if not first <= label <= last:
            return ()
        return self._shard(i).rows.get(label, ())

    def blob(self, digest: str, label: str) -> bytes | None:
        """The embedded bytes of segment ``digest`` used by ``label``, if embedded."""
        if not self._shards:
            return None
        return self._shard(self._find(label)).blobs.get(digest)

    def blobs(self, label: str) -> Mapping[str, bytes]:
        """The embedded segments of the shard holding ``label``, by digest (read-only)."""
        if not self._shards:
            return {}
        return self._shard(self._find(label)).blobs

    def __len__(self) -> int:
        return sum(len(self._shard(i).rows) for i in range(len(self._shards)))

    # -- changes -------------------------------------------------------------------
    def with_rows(self, label: str, rows: Iterable[Row], blobs: Mapping[str, bytes]) -> Commit:
        """A commit where ``label`` holds exactly ``rows`` (none: the label is dropped)."""
        rows = tuple(rows)
        if not self._shards:
            return Commit(_split({label: rows}, dict(blobs))) if rows else self
        i = self._find(label)
        shard = self._shard(i)
        merged = dict(shard.rows)
        if rows:
            merged[label] = rows
        else:
            merged.pop(label, None)
        if rows and label not in shard.rows:
            merged = dict(sorted(merged.items()))
        pool = {**shard.blobs, **blobs}
        replacement = _split(merged, pool) if merged else []
        return Commit(self._shards[:i] + replacement + self._shards[i + 1 :])

    def update(
        self,
        label: str,
        rng: Range,
        new_rows: Iterable[Row],
        blobs: Mapping[str, bytes],
        load_keys: LoadKeys,
    ) -> Commit:
        """Replace the part of ``label`` inside ``rng`` by ``new_rows``.

        Rows that straddle a bound are narrowed, which needs their index keys:
        ``load_keys(row)`` returns them (one array per index column, row slice only).
        """
        rows = self.rows(label)
        # rows are sorted and disjoint: the ones meeting rng are found by bisection (an
        # append meets none, however long the series)
        # (the keys are false then true along the rows, and False < True)
        first = bisect.bisect_left(rows, True, key=lambda row: rng.after_start(row.stop))
        end = bisect.bisect_left(rows, True, first,
                                 key=lambda row: not rng.before_stop(row.start))
        before = list(rows[:first])
        after: list[Row] = []
        for row in rows[first:end]:
            if not (rng.after_start(row.start) and rng.before_stop(row.stop)):
                keys = load_keys(row)
                lo, hi = rng.positions(keys)
                if lo > 0:
                    before.append(row.narrow(keys, 0, lo))
                if hi < row.length:
                    after.append(row.narrow(keys, hi, row.length))
        rows = before + list(new_rows) + after + list(rows[end:])
        # the embedded segments of kept rows are in the shard, which with_rows draws on
        return self.with_rows(label, rows, blobs)

    # -- storage -------------------------------------------------------------------
    def encode(self, ops: Iterable[Op]) -> tuple[bytes, dict[str, bytes]]:
        """The revision payload, and the shard blobs it references by digest."""
        entries, stored = [], {}
        for i in range(len(self._shards)):
            entry = self._shards[i]
            if isinstance(entry, tuple):
                entries.append([entry[0], entry[1], None, entry[3]])
                continue
            if entry.stored_as:
                entries.append([entry.first, entry.last, None, entry.stored_as])
                continue
            data = entry.encode()
            if len(data) <= INLINE_SHARD_SIZE:
                entries.append([entry.first, entry.last, data, None])
            else:
                # the caller stores the returned blobs before it publishes the revision
                entry.stored_as = hexdigest(data)
                stored[entry.stored_as] = data
                entries.append([entry.first, entry.last, None, entry.stored_as])
        payload = {"v": FORMAT_VERSION, "ops": [op.encode() for op in ops], "shards": entries}
        return msgpack.packb(payload, use_bin_type=True), stored

    @classmethod
    def decode(cls, data: bytes, load_shard: LoadShard, where: str) -> tuple[Commit, list[Op]]:
        """The commit and ops of a revision payload; shard blobs load on demand."""
        try:
            payload = msgpack.unpackb(data, raw=False, strict_map_key=False)
            if payload.get("v") != FORMAT_VERSION:
                raise ValueError(f"unknown format version {payload.get('v')!r}")
            ops = [Op.decode(op) for op in payload["ops"]]
            shards: list[Shard | tuple[str, str, LoadShard, str]] = []
            for first, last, inline, digest in payload["shards"]:
                if isinstance(inline, bytes):
                    shards.append(Shard.decode(inline, where))
                elif (inline is None and isinstance(digest, str) and _HEX40.fullmatch(digest)
                      and isinstance(first, str) and isinstance(last, str)):
                    shards.append((first, last, load_shard, digest))
                else:
                    raise ValueError("a shard entry has neither bytes nor a digest")
        except CorruptDataError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError,
                msgpack.exceptions.ExtraData) as err:
            raise CorruptDataError(f"{where}: malformed revision: {err}") from err
        return cls(shards), ops

    def loaded_shards(self) -> list[Shard]:
        """The shards decoded so far (inline ones at first; stored ones once loaded)."""
        return [entry for entry in self._shards if isinstance(entry, Shard)]

    def stored_shards(self) -> list[str]:
        """Digests of the shard blobs this commit references."""
        out = []
        for entry in self._shards:
            if isinstance(entry, tuple):
                out.append(entry[3])
            elif entry.stored_as:
                out.append(entry.stored_as)
        return out
