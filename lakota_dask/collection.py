"""Collections: series sharing a schema and one changelog.

Every change to any series of a collection is one revision of the collection's
changelog (:mod:`lakota_dask.changelog`), whose payload is the commit of every live row
plus the *ops* that revision applied. ``with collection.multi():`` gathers the writes of
its block into one revision, as does ``write_many``.

Writes go in this order: segments, shard blobs, then the revision file, which the pod
creates only once everything before it is durable. A failure before the revision leaves
orphan segments (collected by ``repo.gc()``), never a partial revision.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .changelog import ROOT, Changelog, Revision, parse_before
from .codec import blob_path
from .commit import Commit, Op, Row, Shard
from .errors import CorruptDataError, InvalidLabelError, SchemaError, SeriesNotFoundError
from .keys import Range, key_arrays
from .schema import Schema, check_sorted
from .segment import EncodedWrite, encode_rows, read_row_columns
from .series import Series
from .storage import Pod
from .utils import hexdigest

if TYPE_CHECKING:
    from .history import DefragResult, MergeResult, TrimResult
    from .repo import Repo
    from .sync import PullResult

__all__ = ["Change", "Collection", "check_label", "check_shard"]

#: (series label, range replaced, new rows, embedded blobs of those rows)
Change = tuple[str, Range, list[Row], dict[str, bytes]]
COMMIT_CACHE_SIZE = 16


def check_label(label: Any, what: str = "series") -> str:
    """``label`` if it is a usable label, else :class:`InvalidLabelError`."""
    if not isinstance(label, str):
        raise InvalidLabelError(f"a {what} label must be a string, not {type(label).__name__}")
    if not label or label.strip() != label:
        raise InvalidLabelError(
            f"a {what} label must be non-empty without leading or trailing spaces: {label!r}"
        )
    if len(label.encode()) > 1024:
        raise InvalidLabelError(f"a {what} label is limited to 1024 bytes: {label[:40]!r}...")
    if any(ord(c) < 32 for c in label):
        raise InvalidLabelError(f"a {what} label cannot hold control characters: {label!r}")
    return label


def check_shard(schema: Schema, shard: Shard, where: str) -> Shard:
    """``shard`` if its rows fit ``schema``, else :class:`CorruptDataError`.

    A stored shard is untrusted input: keys of the wrong type would fail deep inside a
    comparison or ``numpy.searchsorted``, and a missing digest inside a read.
    """
    key_types = [str if c.is_text else bool if c.dtype.kind == "b"
                 else float if c.dtype.kind == "f" else int
                 for c in schema.columns if c.index]
    for label, rows in shard.rows.items():
        for row in rows:
            if not (len(row.digests) == len(schema.columns)
                    and len(row.start) == len(row.stop) == len(key_types)
                    and all(map(isinstance, row.start + row.stop, key_types * 2))
                    and row.start <= row.stop):
                raise CorruptDataError(
                    f"{where}: a row of series {label!r} does not fit the schema {schema}"
                )
    return shard


def _check_by_column(frame: pd.DataFrame, by: str) -> None:
    """Refuse a ``write_many`` frame without column ``by`` or with rows lacking a label."""
    if by not in frame.columns:
        raise SchemaError(f"write_many: no column {by!r} to split by; columns: "
                          f"{list(frame.columns)}")
    # groupby would silently drop the rows whose label is missing
    missing = np.flatnonzero(frame[by].isna().to_numpy())
    if missing.size:
        raise InvalidLabelError(
            f"write_many: column {by!r} has no label at row {missing[0]}; every row needs one"
        )


def _groups(labels: pd.Series) -> list[tuple[str, slice | np.ndarray]]:
    """The rows of each label (as text), in label order: slices when already grouped."""
    codes, uniques = pd.factorize(labels.astype(str), sort=True)
    names = [str(u) for u in uniques]
    if len(codes) and np.all(codes[1:] >= codes[:-1]):
        # one block per label already: slices are views, no copy
        bounds = np.r_[0, np.flatnonzero(np.diff(codes)) + 1, len(codes)]
        return [(names[codes[lo]], slice(lo, hi)) for lo, hi in zip(bounds, bounds[1:])]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return [(name, order[lo:hi]) for name, lo, hi in zip(names, bounds, bounds[1:])]


class Collection:
    """Series sharing one schema and one changelog, stored under ``folder`` of ``pod``."""

    def __init__(self, label: str, schema: Schema, pod: Pod, folder: str,
                 repo: Repo | None = None) -> None:
        self.label = label
        self.schema = schema
        self.pod = pod
        self.folder = folder
        self.repo = repo
        self.changelog = Changelog(pod, folder)
        self._batch: list[Change] | None = None
        self._commits: OrderedDict[str, tuple[Commit, list[Op]]] = OrderedDict()

    def __repr__(self) -> str:
        return f"<Collection {self.label}>"

    def series(self, label: str) -> Series:
        """The series ``label`` (it exists once something is written to it)."""
        return Series(self, check_label(label))

    def __truediv__(self, label: str) -> Series:
        return self.series(label)

    def ls(self, before: Any = None) -> list[str]:
        """Labels of the series holding rows, sorted."""
        return self.commit(before=parse_before(before)).labels()

    def __contains__(self, label: str) -> bool:
        return bool(self.commit().rows(label))

    # -- commits -------------------------------------------------------------------
    def _load_shard(self, digest: str) -> Shard:
        data = self.pod.read(blob_path(digest))
        where = f"{self.pod.location}/{blob_path(digest)}"
        if hexdigest(data) != digest:
            raise CorruptDataError(f"{where}: content does not match its digest")
        return check_shard(self.schema, Shard.decode(data, where, stored_as=digest), where)

    def read_revision(self, revision: Revision) -> tuple[Commit, list[Op]]:
        """The commit and ops of ``revision`` (cached: revisions never change)."""
        cached = self._commits.get(revision.child)
        if cached is None:
            where = f"{self.pod.location}/{self.folder}/{revision.path}"
            cached = Commit.decode(revision.read(), self._load_shard, where)
            for shard in cached[0].loaded_shards():
                check_shard(self.schema, shard, where)
            self._remember(revision.child, cached)
        return cached

    def _remember(self, child: str, value: tuple[Commit, list[Op]]) -> None:
        self._commits[child] = value
        self._commits.move_to_end(child)
        while len(self._commits) > COMMIT_CACHE_SIZE:
            self._commits.popitem(last=False)

    def commit(self, before: int | None = None) -> Commit:
        """The commit of the leaf (as of ``before``, epoch ms), empty for a new collection."""
        leaf = self.changelog.leaf(before)
        return Commit() if leaf is None else self.read_revision(leaf)[0]

    def load_keys(self, commit: Commit, label: str):  # noqa: ANN201 - a closure factory
        """A function giving the index keys of a row of ``label`` in ``commit``."""

        def load(row: Row) -> list[np.ndarray]:
            arrays = read_row_columns(self.pod, self.schema, commit, label, [row],
                                      self.schema.index)[0]
            return key_arrays(self.schema, arrays)

        return load

    def apply_changes(self, commit: Commit, changes: list[Change]) -> Commit:
        """``commit`` with every change applied in order."""
        for label, rng, rows, blobs in changes:
            commit = commit.update(label, rng, rows, blobs, self.load_keys(commit, label))
        return commit

    def publish(self, commit: Commit, ops: list[Op], parents: list[str]) -> Revision:
        """Store the commit's new shards, then publish the revision file (which makes
        every write before it durable first: see :meth:`Pod.write_new`)."""
        payload, shards = commit.encode(ops)
        self.pod.write_many({blob_path(d): data for d, data in shards.items()})
        revision = self.changelog.append(parents, payload)
        self._remember(revision.child, (commit, ops))
        return revision

    def apply(self, changes: list[Change]) -> Revision | None:
        """Apply changes on the leaf and publish one revision (deferred in ``multi``)."""
        if self._batch is not None:
            self._batch.extend(changes)
            return None
        if not changes:
            return None
        leaf = self.changelog.leaf()
        base = Commit() if leaf is None else self.read_revision(leaf)[0]
        commit = self.apply_changes(base, changes)
        ops = [Op(label, rng) for label, rng, _, _ in changes]
        return self.publish(commit, ops, [leaf.child] if leaf else [ROOT])

    @contextmanager
    def multi(self) -> Iterator[Collection]:
        """Gather every write of the block into one revision, written when it ends.

        If the block raises, no revision is written (segments already stored become
        orphans that ``repo.gc()`` collects).
        """
        if self._batch is not None:
            yield self  # nested blocks join the outer one
            return
        self._batch = []
        try:
            yield self
            changes = self._batch
        finally:
            self._batch = None
        self.apply(changes)

    # -- bulk and label operations -------------------------------------------------
    def write_many(self, frame: Any, by: str) -> Revision | None:
        """Write one series per value of column ``by``, all in one revision.

        ``frame`` is a pandas DataFrame (or a dask DataFrame, see :mod:`dask_io`); each
        group must be sorted by the index with no repeated key.
        """
        if type(frame).__module__.startswith("dask"):
            from .dask_io import write_many  # dask graphs sit above this layer

            return write_many(self, frame, by=by)
        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame(frame)
        _check_by_column(frame, by)
        columns = self.schema.cast(frame.drop(columns=[by]))
        encoded_all = EncodedWrite()
        changes: list[Change] = []
        for label, rows in _groups(frame[by]):
            label = check_label(label)
            arrays = {name: values[rows] for name, values in columns.items()}
            try:
                check_sorted(self.schema, arrays)
            except SchemaError as err:
                raise SchemaError(f"write_many, series {label!r}: {err}") from err
            rng = self.series(label).write_range(arrays, None, None, "both")
            if rng is None:
                continue
            encoded = encode_rows(self.schema, arrays)
            encoded_all.files.update(encoded.files)
            changes.append((label, rng, encoded.rows, encoded.embedded))
        self.pod.write_many(encoded_all.files)
        return self.apply(changes)

    def delete(self, *labels: str) -> Revision | None:
        """Remove whole series, in one revision."""
        return self.apply([(check_label(label), Range(), [], {}) for label in labels])

    def rename(self, old: str, new: str) -> Revision | None:
        """Give series ``old`` the label ``new`` (replacing any series ``new``)."""
        commit = self.commit()
        rows = commit.rows(check_label(old))
        if not rows:
            raise SeriesNotFoundError(f"no series {old!r} in collection {self.label!r}")
        if check_label(new) == old:
            return None  # replacing ``new`` then dropping ``old`` would delete the series
        blobs = {d: b for r in rows for d in r.digests
                 if (b := commit.blob(d, old)) is not None}
        return self.apply([(check_label(new), Range(), list(rows), blobs),
                           (old, Range(), [], {})])

    # -- dask ----------------------------------------------------------------------
    def ddf(self, labels: list[str] | None = None, start: Any = None, stop: Any = None,
            closed: str = "both", before: Any = None, columns: list[str] | None = None,
            **options: Any) -> Any:
        """Several series (default: all) as one lazy dask DataFrame, with a label column.

        See :func:`lakota_dask.dask_io.read_collection` for the options.
        """
        from .dask_io import read_collection  # dask graphs sit above this layer

        return read_collection(self, labels=labels, start=start, stop=stop, closed=closed,
                               before=before, columns=columns, **options)

    # -- history and sync (implemented in lakota_dask.history and lakota_dask.sync) ---
    def merge(self) -> MergeResult:
        """Join the heads of the changelog into one revision; see :func:`history.merge`."""
        from .history import merge  # history sits above this layer

        return merge(self)

    def trim(self, before: Any = None) -> TrimResult:
        """Drop revisions up to ``before`` (default: all but the last state)."""
        from .history import trim

        return trim(self, before)

    def defrag(self, segment_rows: int | None = None) -> DefragResult:
        """Rewrite runs of small rows into large segments, in one revision."""
        from .history import defrag
        from .segment import SEGMENT_ROWS

        return defrag(self, SEGMENT_ROWS if segment_rows is None else segment_rows)

    def pull(self, other: Collection, shallow: bool = False) -> PullResult:
        """Copy the revisions of ``other`` this collection lacks, with their data."""
        from .sync import pull_collection  # sync sits above this layer

        return pull_collection(self, other, shallow)

    def push(self, other: Collection, shallow: bool = False) -> PullResult:
        """Copy this collection's revisions that ``other`` lacks into it."""
        return other.pull(self, shallow)
