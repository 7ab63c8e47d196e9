"""Scrubbing: prove that every file the kept revisions reference is present and intact.

:func:`check` visits the registry and every collection of a repository. It reads each
revision file, each commit shard stored as a blob and each segment those shards
reference, and verifies every one of them twice: its SHA-1 must match the digest it is
stored under, and it must decode (for segments, the zstd frame checksum is verified while
decompressing). The work runs as dask graphs on the current scheduler, in batches of
files, so a cluster scrubs a large repository in parallel. Nothing is written, moved or
removed: missing and corrupt files are only reported, in a :class:`CheckResult`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .changelog import Changelog
from .codec import blob_path, decode
from .collection import check_shard
from .commit import Commit, Shard
from .errors import CorruptDataError, SchemaError, SegmentMissingError
from .keys import Range
from .parallel import run_tasks
from .schema import Column, Schema
from .segment import read_blob
from .storage import Pod
from .utils import hexdigest

if TYPE_CHECKING:
    from .repo import Repo

__all__ = ["CheckResult", "check"]

#: files read by one task: big enough to amortise scheduling, small enough to spread out
BATCH_SIZE = 256
_FOLDER = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{36}$")


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` found.

    Attributes
    ----------
    revisions, shards, segments
        How many revision files, stored commit shards and segment files were verified.
    embedded
        How many small segments embedded in commit shards were decoded.
    missing
        Paths (relative to the repository root) of referenced files that are absent.
    corrupt
        Paths of files that do not match their digest or do not decode.
    messages
        One explanation per path of ``missing`` and ``corrupt``.
    """

    revisions: int = 0
    shards: int = 0
    segments: int = 0
    embedded: int = 0
    missing: tuple[str, ...] = ()
    corrupt: tuple[str, ...] = ()
    messages: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every referenced file is present and intact."""
        return not self.missing and not self.corrupt


@dataclass
class _Found:
    """The outcome of one task: problems, counts and the references still to verify."""

    missing: dict[str, str] = field(default_factory=dict)
    corrupt: dict[str, str] = field(default_factory=dict)
    checked: int = 0
    embedded: int = 0
    #: shard digest -> schema (JSON) of the collection using it
    shards: dict[str, str] = field(default_factory=dict)
    #: segment digest -> (schema JSON, column position, values the rows need)
    segments: dict[str, tuple[str, int, int]] = field(default_factory=dict)

    def add(self, other: _Found) -> None:
        """Fold the outcome of another task into this one."""
        self.missing.update(other.missing)
        self.corrupt.update(other.corrupt)
        self.checked += other.checked
        self.embedded += other.embedded
        for digest, schema in other.shards.items():
            self.shards.setdefault(digest, schema)
        for digest, ref in other.segments.items():
            self.need(digest, *ref)

    def need(self, digest: str, schema: str, position: int, count: int) -> None:
        """Note that segment ``digest`` must hold at least ``count`` values."""
        known = self.segments.get(digest)
        if known is None or known[2] < count:
            self.segments[digest] = (schema, position, count)


def check(repo: Repo, batch_size: int = BATCH_SIZE) -> CheckResult:
    """Verify every revision, commit shard and segment of ``repo``; change nothing.

    Parameters
    ----------
    repo
        The repository to scrub.
    batch_size
        Files verified by one dask task.

    Returns
    -------
    CheckResult
        Counts of what was verified, and the missing and corrupt files.
    """
    pod = repo.pod
    registry = repo.registry
    registry_schema = registry.schema.dumps()
    folders, problems = _collection_folders(repo)
    items = _revision_items(pod, registry.folder, registry_schema)
    for folder, schema in folders.items():
        items.extend(_revision_items(pod, folder, schema))
    revisions = _run(_check_revisions, items, pod, batch_size)
    revisions.corrupt.update(problems)
    shards = _run(_check_shards, sorted(revisions.shards.items()), pod, batch_size)
    references = _Found()
    references.add(revisions)
    references.add(shards)
    segments = _run(_check_segments, sorted(references.segments.items()), pod, batch_size)
    missing = {**revisions.missing, **shards.missing, **segments.missing}
    corrupt = {**revisions.corrupt, **shards.corrupt, **segments.corrupt}
    return CheckResult(
        revisions=revisions.checked,
        shards=shards.checked,
        segments=segments.checked,
        embedded=revisions.embedded + shards.embedded,
        missing=tuple(sorted(missing)),
        corrupt=tuple(sorted(corrupt)),
        messages={**missing, **corrupt},
    )


def _run(func: Callable[[Any, Pod], _Found], items: list[Any], pod: Pod,
         batch_size: int) -> _Found:
    """Run ``func(batch, pod)`` over batches of ``items`` in parallel; fold the outcomes."""
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    total = _Found()
    for found in run_tasks(func, batches, pod, pod):
        total.add(found)
    return total


def _revision_items(pod: Pod, folder: str, schema: str) -> list[tuple[str, str, str]]:
    """``(folder, revision file name, schema JSON)`` for every revision in ``folder``."""
    return [(folder, revision.path, schema) for revision in Changelog(pod, folder).log()]


def _collection_folders(repo: Repo) -> tuple[dict[str, str], dict[str, str]]:
    """Folder -> schema JSON of every collection any readable registry revision lists.

    Old registry revisions are included so that a collection renamed or deleted since is
    still scrubbed as long as its revisions exist. Registry files that cannot be read are
    skipped here: the registry's own scrub reports them.
    """
    registry = repo.registry
    folders: dict[str, str] = {}
    problems: dict[str, str] = {}
    seen = set()
    for revision in registry.changelog.log():
        try:
            commit = registry.read_revision(revision)[0]
            rows = [r for r in commit.rows("collections") if r not in seen]
            if not rows:
                continue
            frame = registry.series("collections").read_rows(
                commit, rows, Range(), registry.schema.names
            )
        except (CorruptDataError, SegmentMissingError):
            continue
        seen.update(rows)
        for label, schema, folder in zip(frame["label"], frame["schema"], frame["folder"]):
            where = f"{registry.folder}/{revision.path}"
            if not _FOLDER.match(folder):
                problems[where] = (
                    f"{repo.pod.location}/{where}: collection {label!r} has an invalid "
                    f"folder {folder[:80]!r}"
                )
                continue
            try:
                folders.setdefault(folder, Schema.loads(schema).dumps())
            except SchemaError as err:
                problems[where] = (
                    f"{repo.pod.location}/{where}: collection {label!r} has an invalid "
                    f"schema: {err}"
                )
    return folders, problems


def _scan_shard(shard: Shard, schema: Schema, schema_text: str, path: str, found: _Found,
                where: str) -> None:
    """Check the rows and embedded segments of a decoded shard; note stored segments."""
    try:
        check_shard(schema, shard, where)
    except CorruptDataError as err:
        found.corrupt[path] = str(err)
        return
    for rows in shard.rows.values():
        for row in rows:
            for position, digest in enumerate(row.digests):
                data = shard.blobs.get(digest)
                if data is None:
                    found.need(digest, schema_text, position, row.offset + row.length)
                    continue
                found.embedded += 1
                try:
                    if hexdigest(data) != digest:
                        raise CorruptDataError(f"{where}: embedded segment {digest} does not "
                                               "match its digest")
                    _decode(schema.columns[position], data, row.offset + row.length,
                            f"{where} (embedded {digest})")
                except CorruptDataError as err:
                    found.corrupt[path] = str(err)
                    return


def _check_revisions(batch: Iterable[tuple[str, str, str]], pod: Pod) -> _Found:
    """Verify revision files: digest, layout, inline shards and embedded segments."""
    found = _Found()
    for folder, name, schema_text in batch:
        path = f"{folder}/{name}"
        where = f"{pod.location}/{path}"
        schema = Schema.loads(schema_text)
        found.checked += 1
        try:
            data = pod.read(path)
            if hexdigest(data) != name[-40:]:
                raise CorruptDataError(f"{where}: content does not match its digest")
            commit, _ = Commit.decode(data, _no_shard_loading, where)
        except SegmentMissingError:
            found.missing[path] = f"{where} disappeared while it was checked (trimmed?)"
            continue
        except CorruptDataError as err:
            found.corrupt[path] = str(err)
            continue
        for shard in commit.loaded_shards():
            _scan_shard(shard, schema, schema_text, path, found, where)
        for digest in commit.stored_shards():
            found.shards.setdefault(digest, schema_text)
    return found


def _no_shard_loading(digest: str) -> Shard:
    """A loader that is never called: stored shards are verified by their own tasks."""
    raise CorruptDataError(f"commit shard {digest} was loaded during a revision scan")


def _check_shards(batch: Iterable[tuple[str, str]], pod: Pod) -> _Found:
    """Verify stored commit shards: digest, layout and embedded segments."""
    found = _Found()
    for digest, schema_text in batch:
        path = blob_path(digest)
        where = f"{pod.location}/{path}"
        found.checked += 1
        try:
            data = read_blob(pod, digest)
            if hexdigest(data) != digest:
                raise CorruptDataError(f"{where}: content does not match its digest")
            shard = Shard.decode(data, where, stored_as=digest)
        except SegmentMissingError:
            found.missing[path] = f"{where}: commit shard {digest} is missing"
            continue
        except CorruptDataError as err:
            found.corrupt[path] = str(err)
            continue
        _scan_shard(shard, Schema.loads(schema_text), schema_text, path, found, where)
    return found


def _decode(column: Column, data: bytes, count: int, where: str) -> None:
    """Decode a segment; :class:`CorruptDataError` unless it holds ``count`` values."""
    size = len(decode(column, data, where))
    if size < count:
        raise CorruptDataError(f"{where}: holds {size} values, but the commit reads {count}")


def _check_segments(batch: list[tuple[str, tuple[str, int, int]]], pod: Pod) -> _Found:
    """Verify segment files: present, matching their digest and decoding."""
    found = _Found()
    schemas: dict[str, Schema] = {}
    paths = [blob_path(digest) for digest, _ in batch]
    try:
        # one request for the whole batch (concurrent on S3); one by one if any is absent
        contents: list[bytes | None] = list(pod.read_many(paths))
    except SegmentMissingError:
        contents = [None] * len(batch)
    for (digest, (schema_text, position, count)), path, data in zip(batch, paths, contents):
        where = f"{pod.location}/{path}"
        found.checked += 1
        schema = schemas.get(schema_text) or schemas.setdefault(schema_text,
                                                                Schema.loads(schema_text))
        try:
            if data is None:
                data = read_blob(pod, digest)
            if hexdigest(data) != digest:
                raise CorruptDataError(f"{where}: content does not match its digest")
            _decode(schema.columns[position], data, count, where)
        except SegmentMissingError:
            found.missing[path] = f"{where}: segment {digest} is missing"
        except CorruptDataError as err:
            found.corrupt[path] = str(err)
    return found
