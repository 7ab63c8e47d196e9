"""Series: one labelled table of a collection, read and written by key range.

A write replaces the closed range ``[first key, last key]`` of the series with the frame
(``start=``, ``stop=`` and ``closed=`` widen or narrow that range); rows outside it are
untouched, and ``delete(start, stop)`` is a write of no rows. Reads take the same bounds,
plus ``before=`` to read the series as it was at an earlier time or revision.
``series[a:b]`` includes both ends, like pandas ``.loc``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .changelog import Revision, parse_before
from .commit import Commit, Row
from .errors import SchemaError
from .keys import Closed, Range, check_closed, key_arrays, make_key, row_key
from .schema import to_pandas
from .segment import Piece, encode_rows, range_pieces, read_into

if TYPE_CHECKING:
    from .collection import Collection

__all__ = ["Series"]

PAGE_ROWS = 500_000


class Series:
    """The series ``label`` of a collection; optional default bounds from slicing."""

    def __init__(self, collection: Collection, label: str, start: Any = None,
                 stop: Any = None) -> None:
        self.collection = collection
        self.label = label
        self.schema = collection.schema
        self._start = start
        self._stop = stop

    def __repr__(self) -> str:
        return f"<Series {self.collection.label}/{self.label}>"

    def __getitem__(self, bounds: slice) -> Series:
        if not isinstance(bounds, slice) or bounds.step is not None:
            raise TypeError("series[start:stop] takes a slice without step")
        return Series(self.collection, self.label, bounds.start, bounds.stop)

    # -- writes --------------------------------------------------------------------
    def write(self, frame: Any, start: Any = None, stop: Any = None,
              closed: Closed = "both", *, sort: bool = False) -> Revision | None:
        """Replace the range covered by ``frame`` (or ``[start, stop]``) with its rows.

        ``frame`` is a dict of columns, a pandas DataFrame or a dask DataFrame. Returns the
        new revision, or ``None`` inside ``collection.multi()`` (the revision is written
        when the block ends) or when there is nothing to write. ``sort=True`` sorts a dask
        DataFrame by the index first instead of refusing unsorted partitions.
        """
        if type(frame).__module__.startswith("dask"):
            from .dask_io import write_series  # dask graphs sit above this layer

            return write_series(self, frame, start=start, stop=stop, closed=closed, sort=sort)
        arrays = self.schema.normalize(frame)
        rng = self.write_range(arrays, start, stop, closed)
        if rng is None:
            return None
        encoded = encode_rows(self.schema, arrays)
        self.collection.pod.write_many(encoded.files)
        return self.collection.apply([(self.label, rng, encoded.rows, encoded.embedded)])

    def write_range(self, arrays: dict[str, np.ndarray], start: Any, stop: Any,
                    closed: Closed) -> Range | None:
        """The range a write replaces; ``SchemaError`` if rows fall outside it.

        A bound not given is the frame's first (last) key and is always included:
        ``closed`` applies to the bounds given.
        """
        check_closed(closed)
        keys = key_arrays(self.schema, arrays)
        n = len(keys[0])
        if n == 0 and start is None and stop is None:
            return None
        first = row_key(keys, 0) if n else None
        last = row_key(keys, n - 1) if n else None
        rng = Range(
            make_key(self.schema, start) if start is not None else first,
            make_key(self.schema, stop) if stop is not None else last,
            _closed_ends(closed, start is None, stop is None),
        )
        if n and not (rng.contains(first) and rng.contains(last)):
            raise SchemaError(
                f"the frame's rows {first}..{last} fall outside the write range "
                f"[{start}, {stop}] ({closed})"
            )
        return rng

    def delete(self, start: Any = None, stop: Any = None,
               closed: Closed = "both") -> Revision | None:
        """Remove the rows of ``[start, stop]``: by default the slice, so everything of an
        unsliced series, and only ``a..b`` of ``series[a:b]``."""
        rng = self._bounds(start, stop, closed)
        return self.collection.apply([(self.label, rng, [], {})])

    # -- reads ---------------------------------------------------------------------
    def _bounds(self, start: Any, stop: Any, closed: Closed) -> Range:
        start = self._start if start is None else start
        stop = self._stop if stop is None else stop
        return Range(make_key(self.schema, start), make_key(self.schema, stop),
                     check_closed(closed))

    def _columns(self, select: Any) -> list[str]:
        if select is None:
            return self.schema.names
        names = [select] if isinstance(select, str) else list(select)
        if not names:
            raise SchemaError(f"select names no column; pick from {self.schema.names}")
        for name in names:
            self.schema[name]  # SchemaError for unknown columns
        return names

    def rows(self, rng: Range | None = None, before: Any = None) -> tuple[Commit, list[Row]]:
        """The leaf commit (as of ``before``) and the rows of this series meeting ``rng``."""
        commit = self.collection.commit(before=parse_before(before))
        rows = list(commit.rows(self.label))
        if rng is not None:
            rows = [r for r in rows if rng.after_start(r.stop) and rng.before_stop(r.start)]
        return commit, rows

    def frame(self, start: Any = None, stop: Any = None, closed: Closed = "both",
              before: Any = None, select: Any = None, limit: int | None = None,
              offset: int | None = None) -> dict[str, np.ndarray]:
        """The rows in ``[start, stop]`` as a dict of numpy arrays."""
        rng = self._bounds(start, stop, closed)
        columns = self._columns(select)
        _check_count("limit", limit)
        _check_count("offset", offset)
        commit, rows = self.rows(rng, before)
        return self.read_rows(commit, rows, rng, columns, limit, offset)

    def read_rows(self, commit: Commit, rows: list[Row], rng: Range, columns: list[str],
                  limit: int | None = None, offset: int | None = None) -> dict[str, np.ndarray]:
        """Decode ``columns`` of ``rows``, cut to ``rng``, then ``offset``/``limit``."""
        exact = [rng.after_start(r.start) and rng.before_stop(r.stop) for r in rows]
        if all(exact):
            rows, skip = _skip_rows(rows, offset or 0)
            rows = _take_rows(rows, None if limit is None else limit + skip)
            offset, exact = skip, [True] * len(rows)
        pod = self.collection.pod
        pieces = range_pieces(pod, self.schema, commit, self.label, rows, rng)
        pieces = _cut(pieces, offset or 0, limit)
        return read_into(pod, self.schema, commit, self.label, pieces, columns)

    def df(self, start: Any = None, stop: Any = None, closed: Closed = "both",
           before: Any = None, select: Any = None, limit: int | None = None,
           offset: int | None = None) -> pd.DataFrame:
        """The rows in ``[start, stop]`` as a pandas DataFrame."""
        arrays = self.frame(start, stop, closed, before, select, limit, offset)
        return to_pandas(self.schema, arrays)

    def ddf(self, start: Any = None, stop: Any = None, closed: Closed = "both",
            before: Any = None, columns: list[str] | None = None, **options: Any) -> Any:
        """The rows in ``[start, stop]`` as a lazy dask DataFrame (see :mod:`dask_io`)."""
        from .dask_io import read_series  # dask graphs sit above this layer

        return read_series(self, start=self._start if start is None else start,
                           stop=self._stop if stop is None else stop, closed=closed,
                           before=before, columns=columns, **options)

    def __len__(self) -> int:
        rng = self._bounds(None, None, "both")
        commit, rows = self.rows(rng)
        return self._count(commit, rows, rng)

    def _count(self, commit: Commit, rows: list[Row], rng: Range) -> int:
        """How many values of ``rows`` lie in ``rng`` (reads keys only for partial rows)."""
        if all(rng.after_start(r.start) and rng.before_stop(r.stop) for r in rows):
            return sum(r.length for r in rows)
        first = self.schema.index[0]
        return len(self.read_rows(commit, rows, rng, [first])[first])

    def tail(self, n: int = 10, before: Any = None) -> pd.DataFrame:
        """The last ``n`` rows (of the slice, for ``series[a:b]``) as a pandas DataFrame."""
        _check_count("n", n)
        rng = self._bounds(None, None, "both")
        commit, rows = self.rows(rng, before)
        offset = max(self._count(commit, rows, rng) - n, 0)
        arrays = self.read_rows(commit, rows, rng, self.schema.names, offset=offset)
        return to_pandas(self.schema, arrays)

    def paginate(self, step: int = PAGE_ROWS, start: Any = None, stop: Any = None,
                 closed: Closed = "both", before: Any = None,
                 select: Any = None) -> Iterator[pd.DataFrame]:
        """Frames of at most ``step`` rows covering ``[start, stop]``, in order."""
        if not isinstance(step, (int, np.integer)) or step < 1:
            raise SchemaError(f"step must be a positive number of rows, not {step!r}")
        rng = self._bounds(start, stop, closed)
        columns = self._columns(select)
        commit, rows = self.rows(rng, before)
        offset = 0
        while True:
            arrays = self.read_rows(commit, rows, rng, columns, limit=step, offset=offset)
            size = len(next(iter(arrays.values())))
            if size == 0:
                return
            yield to_pandas(self.schema, arrays)
            offset += size


def _check_count(name: str, value: Any) -> None:
    """Refuse a ``limit``, ``offset`` or ``n`` that is not a count of rows."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise SchemaError(f"{name} must be a number of rows (an integer >= 0), not {value!r}")


def _closed_ends(closed: Closed, close_start: bool, close_stop: bool) -> Closed:
    """``closed`` with the start and/or the stop forced to be included."""
    left = close_start or closed in ("both", "left")
    right = close_stop or closed in ("both", "right")
    return {(True, True): "both", (True, False): "left", (False, True): "right",
            (False, False): "neither"}[(left, right)]


def _skip_rows(rows: list[Row], offset: int) -> tuple[list[Row], int]:
    """Drop whole rows covered by ``offset``; returns the rest and what is left to skip."""
    i = 0
    while i < len(rows) and offset >= rows[i].length:
        offset -= rows[i].length
        i += 1
    return rows[i:], offset


def _cut(pieces: list[Piece], offset: int, limit: int | None) -> list[Piece]:
    """The pieces holding values ``[offset, offset + limit)`` of their concatenation."""
    out: list[Piece] = []
    for piece in pieces:
        if limit is not None and limit <= 0:
            break
        row, start, stop = piece
        size = stop - start
        if offset >= size:
            offset -= size
            continue
        take = size - offset if limit is None else min(size - offset, limit)
        out.append((row, start + offset, start + offset + take))
        if limit is not None:
            limit -= take
        offset = 0
    return out


def _take_rows(rows: list[Row], count: int | None) -> list[Row]:
    """The leading rows needed to hold ``count`` values."""
    if count is None:
        return rows
    out, total = [], 0
    for row in rows:
        if total >= count:
            break
        out.append(row)
        total += row.length
    return out
