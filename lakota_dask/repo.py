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

import uuid
from typing import Any

from .codec import blob_path
from .collection import Collection, check_label
from .errors import AlreadyExistsError, CollectionNotFoundError, SchemaError
from .schema import Schema
from .storage import Pod, open_pod
from .utils import hexdigest

__all__ = ["Repo"]

REGISTRY_FOLDER = blob_path("0" * 40)
REGISTRY_SCHEMA = Schema(label="str*", schema="str", folder="str")
REGISTRY_SERIES = "collections"


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
        if label is None:
            frame = series.frame()
        else:
            frame = series.frame(start=label, stop=label)
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
        collection = Collection(label, Schema.loads(entry[0]), self.pod, entry[1], self)
        self._collections[label] = collection
        return collection

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
        series = self.registry.series(REGISTRY_SERIES)
        with self.registry.multi():
            for label in labels:
                series.delete(label, label)
        for label in labels:
            self._collections.pop(label, None)
            folder = entries[label][1]
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
