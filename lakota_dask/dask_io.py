"""Dask DataFrames in and out of a collection: parallel writes, lazy reads.

Writes (:func:`write_series`, :func:`write_many`) build one graph. Every partition is
checked against the schema, encoded, hashed and stored by the worker that holds it
(``_write_partition`` / ``_write_groups``), on that worker's thread (see
:func:`~lakota_dask.parallel.worker_threads`), and returns only its commit rows, the
small segments to embed and its first and last keys. A final step (``_fold_series`` /
``_fold_many``) checks that the partitions are in order and do not overlap and folds
their rows into the changes of one revision. For a single series, the order is also
checked before anything is stored: free when the frame is indexed by the first index
column with known divisions; in the same graph when the workers already hold every
partition (a persisted frame): one small task per partition returns its first and last
keys, one task checks them, and the writes wait for it; otherwise one pass over the
index columns first, so that partitions are loaded again by the writes rather than all
held in memory until the check. The caller then applies the changes, so a failed task,
a refused order or a worker lost while the graph runs never publishes anything;
segments already stored become orphans that ``repo.gc()`` collects.

The revision is applied by the calling process, after the graph, rather than by a task:
a task that publishes would publish twice if dask reran it (a worker lost after the
revision was written but before its result reached the scheduler), and it would bypass
``collection.multi()``, whose pending batch lives in the caller's collection object.

Reads (:func:`read_series`, :func:`read_collection`) build a lazy frame from the commit
alone, with :func:`dask.dataframe.from_map` over ``_read_partition``: one partition per
group of adjacent commit rows (up to ``partition_rows`` values), known divisions taken
from the rows' first index column, and column selections pushed into the reader.

This is the only module that imports :mod:`dask.dataframe`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from .changelog import parse_before
from .collection import check_label
from .commit import Commit, Row, pack_rows
from .errors import InvalidLabelError, SchemaError
from .keys import Closed, Key, Range, check_closed, key_arrays, make_key, row_key
from .parallel import check_scheduler, held_by_workers, worker_threads
from .schema import Schema, to_pandas
from .segment import encode_rows, range_pieces, read_into
from .storage import Pod
from .utils import one_thread

if TYPE_CHECKING:
    from dask.delayed import Delayed

    from .changelog import Revision
    from .collection import Change, Collection
    from .series import Series

__all__ = ["read_collection", "read_series", "write_many", "write_series"]

#: target number of values in one partition of a lazy read
PARTITION_ROWS = 1_000_000
READ_LABEL = "lakota-read"
LABEL_COLUMN = "label"
SORT_HINT = ("partitions must be sorted by the index without overlap: sort the frame first "
             "(set_index, or write_series(..., sort=True))")
SORT_MANY_HINT = ("the rows of each series must follow the partition order without overlap: "
                  "order the partitions by the index (one file per period, in order)")


# -- writes ------------------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    """What a write task returns: commit rows, segments to embed and key bounds."""

    number: int
    rows: list[Row] = field(default_factory=list)
    embedded: dict[str, bytes] = field(default_factory=dict)
    first: Key | None = None
    last: Key | None = None


def _store(pod: Pod, schema: Schema, arrays: dict[str, np.ndarray], number: int) -> Written:
    """Encode checked arrays, store their segments and describe them."""
    keys = key_arrays(schema, arrays)
    n = len(keys[0])
    if n == 0:
        return Written(number)
    with worker_threads():
        encoded = encode_rows(schema, arrays)
    pod.write_many(encoded.files)
    return Written(number, encoded.rows, encoded.embedded, row_key(keys, 0),
                   row_key(keys, n - 1))


def _write_partition(pod: Pod, schema: Schema, frame: pd.DataFrame, number: int,
                     after: None = None) -> Written:
    """Task: check, encode and store partition ``number`` of a series.

    ``after`` is the result of the order check when it runs in the same graph: an
    argument only so that nothing is stored before the check passes.
    """
    try:
        arrays = schema.normalize(frame)
    except SchemaError as err:
        raise SchemaError(f"partition {number}: {err}") from err
    return _store(pod, schema, arrays, number)


def _write_groups(frame: pd.DataFrame, pod: Pod, schema: Schema, by: str,
                  partition_info: dict[str, Any] | None = None) -> dict[str, Written]:
    """Task: split one partition by ``by``, then check, encode and store each series."""
    number = partition_info["number"] if partition_info else 0
    missing = np.flatnonzero(frame[by].isna().to_numpy())
    if missing.size:
        # groupby would silently drop the rows whose label is missing
        raise InvalidLabelError(f"partition {number}: column {by!r} has no label at row "
                                f"{missing[0]}; every row needs one")
    out = {}
    for value, group in frame.groupby(by, sort=True):
        label = check_label(str(value))
        try:
            arrays = schema.normalize(group.drop(columns=[by]))
        except SchemaError as err:
            raise SchemaError(f"partition {number}, series {label!r}: {err}") from err
        out[label] = _store(pod, schema, arrays, number)
    return out


def _show(schema: Schema, key: Key | None) -> str:
    """A key as a reader would write it (date-times as dates, not integers)."""
    if key is None:
        return "none"
    shown = []
    for name, value in zip(schema.index, key):
        dtype = schema[name].dtype
        if dtype is not None and dtype.kind == "M":
            value = np.datetime64(value, np.datetime_data(dtype)[0])
        shown.append(str(value))
    return ", ".join(shown)


def _check_order(schema: Schema, parts: Sequence[Written], what: str,
                 hint: str) -> list[Written]:
    """The non-empty parts, after checking each starts after the previous one ends."""
    filled = [p for p in parts if p.rows]
    for before, after in zip(filled, filled[1:]):
        if not before.last < after.first:
            raise SchemaError(
                f"{what}: partition {after.number} (index {_show(schema, after.first)} .. "
                f"{_show(schema, after.last)}) does not start after partition {before.number} "
                f"ends ({_show(schema, before.last)}); {hint}. Nothing was published."
            )
    return filled


def _fold(label: str, filled: list[Written], rng: Range) -> Change:
    rows = [row for part in filled for row in part.rows]
    embedded = {d: b for part in filled for d, b in part.embedded.items()}
    return (label, rng, rows, embedded)


def _fold_series(parts: list[Written], schema: Schema, label: str, start: Key | None,
                 stop: Key | None, closed: Closed) -> Change | None:
    """Final step: one change replacing the written range with every partition's rows."""
    filled = _check_order(schema, parts, f"series {label!r}", SORT_HINT)
    first = filled[0].first if filled else None
    last = filled[-1].last if filled else None
    if not filled and start is None and stop is None:
        return None
    rng = Range(first if start is None else start, last if stop is None else stop, closed)
    if filled and not (rng.contains(first) and rng.contains(last)):
        raise SchemaError(
            f"series {label!r}: the frame's rows {_show(schema, first)} .. "
            f"{_show(schema, last)} fall outside the write range "
            f"[{_show(schema, start)}, {_show(schema, stop)}] ({closed})"
        )
    return _fold(label, filled, rng)


def _fold_many(parts: list[dict[str, Written]], schema: Schema) -> list[Change]:
    """Final task: one change per series, each gathering its rows from every partition."""
    by_label: dict[str, list[Written]] = {}
    for part in parts:
        for label, written in part.items():
            by_label.setdefault(label, []).append(written)
    changes = []
    for label in sorted(by_label):
        filled = _check_order(schema, by_label[label], f"series {label!r}", SORT_MANY_HINT)
        if filled:
            rng = Range(filled[0].first, filled[-1].last, "both")
            changes.append(_fold(label, filled, rng))
    return changes


def _partition_bounds(schema: Schema, frame: pd.DataFrame, number: int) -> Written:
    """Task: the first and last keys of partition ``number``, from its index columns only.

    Typed columns are cast at their two ends only (the write task checks every value);
    columns of Python objects are cast whole, so that a value of the wrong type is found
    before anything is stored.
    """
    index = [n for n in schema.index if n != frame.index.name]
    keys = {n: frame[n] for n in index}
    if frame.index.name in schema.index:
        keys[frame.index.name] = frame.index.to_series(index=range(len(frame)))
    if len(frame) > 2 and all(keys[n].dtype != object for n in schema.index):
        keys = {n: values.iloc[[0, -1]] for n, values in keys.items()}
    try:
        arrays = {n: schema[n].cast(keys[n]) for n in schema.index}
    except SchemaError as err:
        raise SchemaError(f"partition {number}: {err}") from err
    columns = key_arrays(schema, arrays)
    if not len(columns[0]):
        return Written(number)
    first, last = row_key(columns, 0), row_key(columns, len(columns[0]) - 1)
    # a placeholder row marks the part as non-empty for _check_order
    return Written(number, [Row(first, last, 0, 0, ())], {}, first, last)


def _check_bounds(schema: Schema, label: str, bounds: list[Written]) -> None:
    """Task: refuse partitions out of order; the writes of the graph wait for it."""
    _check_order(schema, bounds, f"series {label!r}", SORT_HINT)


def _order_check(frame: dd.DataFrame, parts: list[Delayed], schema: Schema, label: str,
                 token: str) -> Delayed | None:
    """Refuse partitions out of order before anything is stored.

    Returns the task the writes must wait for when the check runs in their graph, or
    ``None`` when there is nothing left to wait for. A frame indexed by the first index
    column with known divisions is ordered by construction. A frame whose partitions the
    workers already hold is checked in the write graph (no extra round trip, nothing
    loaded twice). Any other frame costs one pass over its index columns first, so that
    the write graph still streams its partitions instead of holding them all until the
    check.
    """
    if frame.known_divisions and frame.index.name == schema.index[0] and len(schema.index) == 1:
        return None
    index = [n for n in schema.index if n != frame.index.name]
    missing = [n for n in index if n not in frame.columns]
    if missing:
        raise SchemaError(f"missing index column(s) {missing}; the schema has {schema.names}")
    # the schema is bound with partial: dask.delayed would walk its dataclasses per call
    bounds = dask.delayed(partial(_partition_bounds, schema), pure=False)
    if held_by_workers(frame):
        found = [bounds(part, number, dask_key_name=(f"lakota-bounds-{token}", number))
                 for number, part in enumerate(parts)]
        return dask.delayed(partial(_check_bounds, schema, label), pure=False)(
            found, dask_key_name=f"lakota-order-{token}")
    # only the index columns: a reader that can select columns loads nothing else
    keys = frame[index].to_delayed()
    _check_bounds(schema, label, list(dask.compute(*[bounds(part, number)
                                                     for number, part in enumerate(keys)])))
    return None


def _check_frame(frame: Any) -> None:
    if not isinstance(frame, dd.DataFrame):
        raise SchemaError(f"cannot write a {type(frame).__name__}: pass a dask DataFrame "
                          "(or compute it into pandas first)")


def _sorted(frame: dd.DataFrame, schema: Schema) -> dd.DataFrame:
    """``frame`` sorted by the schema's index (a shuffle)."""
    index = schema.index
    if frame.index.name in index and frame.index.name not in frame.columns:
        frame = frame.reset_index()
    if len(index) == 1:
        return frame.set_index(index[0])
    # partitions are cut on the first column, so equal first values share a partition
    return frame.sort_values(index)


def write_series(series: Series, frame: dd.DataFrame, start: Any = None, stop: Any = None,
                 closed: Closed = "both", *, sort: bool = False) -> Revision | None:
    """Write a dask DataFrame to ``series`` in one graph and one revision.

    Parameters
    ----------
    series
        The series written; the frame holds its columns (an index column may be the
        frame's index).
    frame
        Partitions sorted by the index, each starting after the previous one ends.
    start, stop, closed
        The range replaced, as for :meth:`Series.write` (default: the frame's first and
        last keys).
    sort
        Sort the frame by the index first (a shuffle) instead of refusing unsorted input.

    Returns
    -------
    The new revision, or ``None`` when nothing was written (or inside ``multi()``).

    Raises
    ------
    SchemaError
        A partition does not fit the schema, or partitions are out of order or overlap;
        nothing is published.
    SchedulerError
        The repository is in memory and the scheduler runs worker processes.
    """
    collection = series.collection
    check_scheduler(collection.pod)
    _check_frame(frame)
    schema = series.schema
    closed = check_closed(closed)
    bounds = make_key(schema, start), make_key(schema, stop)
    if sort:
        frame = _sorted(frame, schema)
    parts = frame.to_delayed()
    token = uuid.uuid4().hex
    after = None if sort else _order_check(frame, parts, schema, series.label, token)
    store = dask.delayed(partial(_write_partition, collection.pod, schema), pure=False)
    written = [store(part, number, after, dask_key_name=(f"lakota-write-{token}", number))
               for number, part in enumerate(parts)]
    # folded here rather than in a task: the parts are small and a task is one more hop
    change = _fold_series(list(dask.compute(*written)), schema, series.label, *bounds, closed)
    return None if change is None else collection.apply([change])


def write_many(collection: Collection, frame: dd.DataFrame, by: str) -> Revision | None:
    """Write one series per value of column ``by`` of a dask DataFrame, in one revision.

    Every partition may hold rows of many series (a backfill file holding one day of every
    series, say). For each series, its rows must be sorted by the index within each
    partition, and its partitions must follow each other without overlap.

    Raises
    ------
    SchemaError
        ``by`` is not a column, a partition does not fit the schema, or the rows of a
        series are out of order across partitions; nothing is published.
    SchedulerError
        The repository is in memory and the scheduler runs worker processes.
    """
    check_scheduler(collection.pod)
    _check_frame(frame)
    if by not in frame.columns:
        raise SchemaError(f"write_many: no column {by!r} to split by; columns: "
                          f"{list(frame.columns)}")
    written = frame.map_partitions(_write_groups, collection.pod, collection.schema, by,
                                   meta=(None, object), enforce_metadata=False)
    fold = dask.delayed(_fold_many, pure=True)(written.to_delayed(), collection.schema)
    return collection.apply(fold.compute())


# -- reads -------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadPart:
    """One partition of a lazy read: adjacent rows of a series and their embedded bytes."""

    label: str
    rows: tuple[Row, ...]
    blobs: dict[str, bytes] = field(repr=False)
    rng: Range

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        # rows name their data exactly (content digests, offset, length): hashing them
        # is enough, and much cheaper than dask's walk over every field and blob
        rows = [(r.digests, r.offset, r.length) for r in self.rows]
        return (type(self).__name__, self.label, rows, self.rng.encode())


def _read_partition(part: ReadPart, pod: Pod, schema: Schema, label_column: str | None,
                    columns: list[str] | None = None) -> pd.DataFrame:
    """Task: decode the rows of ``part``, cut to its range, as a frame indexed like meta."""
    index = schema.index[0]
    names = _value_columns(schema, label_column) if columns is None else list(columns)
    values = [n for n in names if n != label_column]
    wanted = [index, *values]
    # the scheduler runs partitions on every core: decoding fans out no further (measured
    # on 10M rows and 2 threads: 122 ms against 133 ms with a fan-out)
    with one_thread():
        pieces = range_pieces(pod, schema, Commit(), part.label, list(part.rows), part.rng,
                              part.blobs)
        # each segment is decoded straight into the partition's arrays: no concatenation
        arrays = read_into(pod, schema, Commit(), part.label, pieces, wanted, part.blobs)
    frame = to_pandas(schema, arrays).set_index(index)
    if label_column is not None and label_column in names:
        frame[label_column] = pd.Series(part.label, index=frame.index, dtype="str")
    return frame if list(frame.columns) == names else frame[names]


def _value_columns(schema: Schema, label_column: str | None) -> list[str]:
    """The columns of a lazy read: the label (if any), then every column but the index."""
    rest = [n for n in schema.names if n != schema.index[0]]
    return rest if label_column is None else [label_column, *rest]


def _meta(schema: Schema, label_column: str | None) -> pd.DataFrame:
    frame = schema.empty_frame().set_index(schema.index[0])
    if label_column is not None:
        frame.insert(0, label_column, pd.Series([], index=frame.index, dtype="str"))
    return frame[_value_columns(schema, label_column)]


def _index_value(schema: Schema, value: Any) -> Any:
    """A key's first value as a value of the frame's index (a Timestamp for date-times)."""
    dtype = schema[schema.index[0]].dtype
    if dtype is not None and dtype.kind == "M":
        return pd.Timestamp(np.datetime64(value, np.datetime_data(dtype)[0]))
    return value


def _parts(commit: Commit, label: str, rng: Range, partition_rows: int) -> list[ReadPart]:
    rows = [r for r in commit.rows(label) if rng.after_start(r.stop) and rng.before_stop(r.start)]
    parts = []
    # a group never ends between rows sharing their first index value, so every
    # index value lives in one partition and the divisions are strictly increasing
    for group in pack_rows(rows, partition_rows, join_equal_first_key=True):
        digests = {d for row in group for d in row.digests}
        blobs = {d: b for d in digests if (b := commit.blob(d, label)) is not None}
        parts.append(ReadPart(label, tuple(group), blobs, rng))
    return parts


def _divisions(schema: Schema, parts: list[ReadPart]) -> tuple[Any, ...]:
    """Known divisions: each partition's first index value, then the last one's stop.

    The outer bounds are narrowed to the range read when it is tighter than the rows.
    """
    firsts = [p.rows[0].start[0] for p in parts]
    last = parts[-1].rows[-1].stop[0]
    rng = parts[0].rng
    if rng.start is not None:
        firsts[0] = max(firsts[0], rng.start[0])
    if rng.stop is not None:
        last = min(last, rng.stop[0])
    return tuple(_index_value(schema, v) for v in [*firsts, last])


def _check_options(schema: Schema, columns: list[str] | None, partition_rows: int,
                   label_column: str | None) -> list[str] | None:
    if not isinstance(partition_rows, int) or partition_rows < 1:
        raise ValueError(f"partition_rows must be a positive number of rows, not "
                         f"{partition_rows!r}")
    if label_column is not None and label_column in schema.names:
        raise SchemaError(f"the label column {label_column!r} is also a schema column; "
                          "pass another name with label_column=")
    if columns is None:
        return None
    names = [columns] if isinstance(columns, str) else list(columns)
    for name in names:
        if name != label_column:
            schema[name]  # SchemaError for unknown columns
    # the first index column is the frame's index, always present
    return [n for n in names if n != schema.index[0]]


def _from_parts(pod: Pod, schema: Schema, parts: list[ReadPart], columns: list[str] | None,
                label_column: str | None, known: bool) -> dd.DataFrame:
    meta = _meta(schema, label_column)
    if not parts:
        # from_map needs one partition: an empty one, with unknown divisions
        parts, known = [ReadPart("", (), {}, Range())], False
    options = {} if columns is None else {"columns": columns}
    return dd.from_map(
        _read_partition, parts, pod=pod, schema=schema, label_column=label_column,
        meta=meta, divisions=_divisions(schema, parts) if known else None,
        enforce_metadata=False, label=READ_LABEL, **options,
    )


def read_series(series: Series, start: Any = None, stop: Any = None, closed: Closed = "both",
                before: Any = None, columns: list[str] | None = None, *,
                partition_rows: int = PARTITION_ROWS) -> dd.DataFrame:
    """The rows of ``series`` in ``[start, stop]`` as a lazy dask DataFrame.

    Only the commit is read to build it. Its index is the first index column, with known
    divisions; each partition holds adjacent stored rows up to ``partition_rows`` values.
    Selecting columns (here or downstream) reads only those columns, and a ``.loc``
    slice downstream only schedules the partitions it needs.

    Raises
    ------
    SchemaError
        An unknown column or a bound that does not fit the index.
    SchedulerError
        The repository is in memory and the scheduler runs worker processes.
    """
    collection = series.collection
    check_scheduler(collection.pod)
    schema = series.schema
    columns = _check_options(schema, columns, partition_rows, None)
    rng = Range(make_key(schema, start), make_key(schema, stop), check_closed(closed))
    commit = collection.commit(before=parse_before(before))
    parts = _parts(commit, series.label, rng, partition_rows)
    return _from_parts(collection.pod, schema, parts, columns, None, known=True)


def read_collection(collection: Collection, labels: Sequence[str] | None = None,
                    start: Any = None, stop: Any = None, closed: Closed = "both",
                    before: Any = None, columns: list[str] | None = None, *,
                    partition_rows: int = PARTITION_ROWS,
                    label_column: str = LABEL_COLUMN) -> dd.DataFrame:
    """The rows of several series (default: all) as one lazy dask DataFrame.

    Series follow each other in label order, with their label in column
    ``label_column``; the index is the first index column. Divisions are known only
    when a single series is read (otherwise the index goes back at each new series).
    """
    check_scheduler(collection.pod)
    schema = collection.schema
    columns = _check_options(schema, columns, partition_rows, label_column)
    rng = Range(make_key(schema, start), make_key(schema, stop), check_closed(closed))
    commit = collection.commit(before=parse_before(before))
    chosen = commit.labels() if labels is None else sorted(set(labels))
    parts = [p for label in chosen for p in _parts(commit, label, rng, partition_rows)]
    return _from_parts(collection.pod, schema, parts, columns, label_column,
                       known=len({p.label for p in parts}) == 1)
