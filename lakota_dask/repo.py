"""Repositories: a storage location holding a registry of collections.

The registry is itself a collection (folder ``00/00/000...``) with one series,
``collections``, holding one row per collection: its label, its schema (JSON) and the
folder of its changelog. Creating, deleting or renaming collections are therefore
revisions too, and pull, push and merge treat the registry like any collection.

Layout of a repository::

    <root>/00/00/0000...0000/<parent>.<child>    registry revisions
    <root>/ab/cd/<36 hex digits>/<parent>.<child> one folder of revisions per collection
    <root>/ab/cd/<36 hex digits>                  segments and commit shards (content-addressed)
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from .codec import blob_path
from .collection import Collection, check_label
from .errors import AlreadyExistsError, CollectionNotFoundError, CorruptDataError, SchemaError
from .history import RepoMergeResult, merge, view_commit
from .keys import Range
from .schema import Schema
from .storage import Pod, open_pod
from .utils import hexdigest

if TYPE_CHECKING:
    from .check import CheckResult
    from .gc import GcResult
    from .sync import PullResult

__all__ = ["Repo"]

REGISTRY_FOLDER = blob_path("0" * 40)
REGISTRY_SCHEMA = Schema(label="str*", schema="str", folder="str")
REGISTRY_SERIES = "collections"
_FOLDER = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{36}")


class Repo:
    """A repository of collections on a local folder, in memory, on S3 or a cache chain.

    Parameters
    ----------
    uri
        ``"folder"``, ``"file:///abs/path"``, ``"memory://"``, ``"s3://bucket/prefix"``,
        or a list ``[cache, remote, ...]`` (see :func:`lakota_dask.storage.open_pod`).
    pod
        An already opened storage object, e.g. ``other_repo.pod.local``.
    storage_options
        Options for s3fs (``endpoint_url``, ``key``, ``secret``...).
    durable
        Flush local files to disk before each revision is published (default). ``False``
        is faster and fine for scratch data.
    """

    def __init__(self, uri: Any = None, pod: Pod | None = None,
                 storage_options: dict[str, Any] | None = None, durable: bool = True) -> None:
        if pod is None:
            pod = open_pod("memory://" if uri is None else uri, storage_options, durable)
        self.pod = pod
        self.registry = Collection("registry", REGISTRY_SCHEMA, pod, REGISTRY_FOLDER, self)
        self._collections: dict[str, Collection] = {}

    def __repr__(self) -> str:
        return f"<Repo {self.pod.location}>"

    # -- registry ------------------------------------------------------------------
    def _entries(self, label: str | None = None) -> dict[str, tuple[str, str]]:
        series = self.registry.series(REGISTRY_SERIES)
        # with several registry heads (collections created or deleted concurrently), read
        # them all replayed together, so that no collection hides behind the last head
        commit = view_commit(self.registry)
        rng = Range() if label is None else Range((label,), (label,))
        rows = [r for r in commit.rows(REGISTRY_SERIES)
                if rng.after_start(r.stop) and rng.before_stop(r.start)]
        frame = series.read_rows(commit, rows, rng, REGISTRY_SCHEMA.names)
        return {
            lbl: (schema, folder)
            for lbl, schema, folder in zip(frame["label"], frame["schema"], frame["folder"])
        }

    def ls(self) -> list[str]:
        """The labels of every collection, sorted."""
        return sorted(self._entries())

    def collection(self, label: str) -> Collection:
        """The collection ``label``; :class:`CollectionNotFoundError` if there is none."""
        check_label(label, "collection")
        found = self._collections.get(label)
        if found is not None:
            return found
        entry = self._entries(label).get(label)
        if entry is None:
            known = self.ls()
            raise CollectionNotFoundError(
                f"no collection {label!r} in {self.pod.location}; "
                f"existing collections: {known or 'none'}"
            )
        schema, folder = self._checked_entry(label, entry)
        collection = Collection(label, schema, self.pod, folder, self)
        self._collections[label] = collection
        return collection

    def _checked_entry(self, label: str, entry: tuple[str, str]) -> tuple[Schema, str]:
        """The schema and folder of a registry entry; :class:`CorruptDataError` if invalid.

        Registry rows are read from storage: a folder that is not a content address could
        point outside the repository (and ``delete`` removes files from it).
        """
        where = f"{self.pod.location}/{REGISTRY_FOLDER}: collection {label!r}"
        if not _FOLDER.fullmatch(entry[1]):
            raise CorruptDataError(f"{where} has an invalid folder {entry[1][:80]!r}")
        try:
            return Schema.loads(entry[0]), entry[1]
        except SchemaError as err:
            raise CorruptDataError(f"{where} has an invalid schema: {err}") from err

    def __truediv__(self, label: str) -> Collection:
        return self.collection(label)

    def __contains__(self, label: str) -> bool:
        return label in self._entries(label)

    def create_collection(self, schema: Schema, *labels: str,
                          raise_if_exists: bool = False) -> Collection | list[Collection]:
        """Create collections sharing ``schema``; one label returns one collection.

        An existing collection with the same schema is returned as it is, unless
        ``raise_if_exists``; one with another schema raises :class:`AlreadyExistsError`.
        """
        if not isinstance(schema, Schema):
            raise SchemaError(f"create_collection expects a Schema, not {type(schema).__name__}")
        if not labels:
            raise SchemaError("create_collection needs at least one label")
        for label in labels:
            check_label(label, "collection")
        existing = self._entries()
        series = self.registry.series(REGISTRY_SERIES)
        with self.registry.multi():
            for label in labels:
                if label in existing:
                    if raise_if_exists:
                        raise AlreadyExistsError(f"collection {label!r} exists already")
                    if Schema.loads(existing[label][0]) != schema:
                        raise AlreadyExistsError(
                            f"collection {label!r} exists with another schema: "
                            f"{Schema.loads(existing[label][0])}"
                        )
                    continue
                folder = blob_path(hexdigest(uuid.uuid4().bytes))
                series.write({"label": [label], "schema": [schema.dumps()], "folder": [folder]})
        created = [self.collection(label) for label in labels]
        return created[0] if len(created) == 1 else created

    def delete(self, *labels: str) -> None:
        """Delete collections: their registry rows and their changelogs."""
        entries = self._entries()
        missing = [label for label in labels if label not in entries]
        if missing:
            raise CollectionNotFoundError(f"no collection {missing} in {self.pod.location}")
        folders = [self._checked_entry(label, entries[label])[1] for label in labels]
        series = self.registry.series(REGISTRY_SERIES)
        with self.registry.multi():
            for label in labels:
                series.delete(label, label)
        for label, folder in zip(labels, folders):
            self._collections.pop(label, None)
            self.pod.rm(f"{folder}/{name}" for name in self.pod.ls(folder))

    def rename(self, old: str, new: str) -> Collection:
        """Give collection ``old`` the label ``new``; its data stays where it is."""
        check_label(new, "collection")
        entries = self._entries()
        if old not in entries:
            raise CollectionNotFoundError(f"no collection {old!r} in {self.pod.location}")
        if new in entries:
            raise AlreadyExistsError(f"collection {new!r} exists already")
        schema, folder = entries[old]
        series = self.registry.series(REGISTRY_SERIES)
        with self.registry.multi():
            series.delete(old, old)
            series.write({"label": [new], "schema": [schema], "folder": [folder]})
        self._collections.pop(old, None)
        return self.collection(new)

    def check(self) -> CheckResult:
        """Verify every file the kept revisions reference, in parallel; change nothing.

        Returns a :class:`~lakota_dask.check.CheckResult` listing missing and corrupt
        files (see :func:`lakota_dask.check.check`).
        """
        from .check import check  # the scrub runs dask graphs, a layer above

        return check(self)

    # -- history, sync and gc (implemented in lakota_dask.history, .sync and .gc) -----
    def pull(self, remote: Repo, *labels: str, shallow: bool = False) -> PullResult:
        """Copy collections of ``remote`` (default: all, with the registry) into this repo.

        Missing collections are created with the remote schema; a collection with another
        schema here raises :class:`SchemaError`. ``shallow`` copies only the heads of each
        collection and the data they reference.
        """
        from .sync import pull_repo  # sync runs dask graphs, a layer above

        # registry rows (folders) may change during the pull: no cached collection survives
        self._collections.clear()
        try:
            return pull_repo(self, remote, *labels, shallow=shallow)
        finally:
            self._collections.clear()

    def push(self, remote: Repo, *labels: str, shallow: bool = False) -> PullResult:
        """Copy collections of this repo into ``remote`` (``remote.pull(self, ...)``)."""
        return remote.pull(self, *labels, shallow=shallow)

    def merge(self) -> RepoMergeResult:
        """Merge the registry, then every collection with several heads."""
        done = RepoMergeResult()
        registry = merge(self.registry)
        if registry.revision is not None:
            done.collections[self.registry.label] = registry
            self._collections.clear()
        for label in self.ls():
            collection = self.collection(label)
            if len(collection.changelog.heads()) > 1:
                done.collections[label] = merge(collection)
        return done

    def gc(self, timeout: float | None = None) -> GcResult:
        """Soft-delete unreferenced files, delete those soft-deleted over ``timeout`` s ago.

        ``timeout`` defaults to ``lakota.gc-timeout`` in ``dask.config`` or one hour; see
        :mod:`lakota_dask.gc`.
        """
        from .gc import gc

        return gc(self, timeout)
