"""Pull and push: copy history between collections and between repositories.

Everything stored is content-addressed, so a pull is a set difference: the revision files
the other changelog has and ours lacks, and the segments and commit shards they reference
that our storage lacks (compared by path). Files are copied before the revisions that
reference them, as any writer does, so a reader never meets a revision whose data is not
there yet. Pulling twice copies nothing the second time.

File copies run as dask tasks (:func:`lakota_dask.parallel.run_tasks`), one per batch of
files, so a distributed cluster copies in parallel. Revision files are few and small; the
coordinating process copies them.

A *shallow* pull copies only the heads and what they reference. Their parents stay
unknown, so a merge treats such a head as a snapshot of its series (see
:mod:`lakota_dask.history`).

Repositories: a full pull (no labels) first pulls the registry's own history, so that
created, deleted, renamed and re-created collections travel with it, then every collection
of the result. A pull of some labels only registers the collections missing here (with
the other side's schema) and pulls them.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .changelog import Revision
from .codec import blob_path
from .collection import Collection
from .errors import AlreadyExistsError, CollectionNotFoundError, SchemaError
from .history import scan_references
from .parallel import run_tasks
from .schema import Schema
from .segment import read_blobs
from .storage import Pod

if TYPE_CHECKING:
    from .repo import Repo

__all__ = ["PullResult", "pull_collection", "pull_repo"]

#: files copied by one task
COPY_BATCH = 128


@dataclass
class PullResult:
    """What a pull (or push) copied."""

    #: revision files copied
    revisions: int = 0
    #: files copied: segments and commit shards
    segments: int = 0
    #: collections pulled (repository pulls)
    collections: list[str] = field(default_factory=list)

    def add(self, other: PullResult) -> None:
        """Count ``other`` in this result."""
        self.revisions += other.revisions
        self.segments += other.segments


def _copy_files(digests: list[str], src: Pod, dst: Pod) -> int:
    """Task: copy the files of ``digests`` that ``dst`` lacks; returns how many."""
    listed: dict[str, set[str]] = {}
    missing = []
    for digest in digests:
        folder, name = posixpath.split(blob_path(digest))
        if folder not in listed:
            listed[folder] = set(dst.ls(folder))
        if name not in listed[folder]:
            missing.append(digest)
    if missing:
        found = read_blobs(src, missing)  # follows files a gc soft-deleted in the source
        dst.write_many({blob_path(d): data for d, data in found.items()})
    return len(missing)


def pull_collection(dst: Collection, src: Collection, shallow: bool = False) -> PullResult:
    """Copy into ``dst`` the revisions of ``src`` it lacks, with the files they need."""
    if dst.schema != src.schema:
        raise SchemaError(
            f"cannot pull collection {src.label!r} into {dst.label!r}: schemas differ "
            f"({src.schema} there, {dst.schema} here)"
        )
    theirs = src.changelog.heads() if shallow else src.changelog.log()
    mine = {r.path for r in dst.changelog.log()}
    wanted = [r for r in theirs if r.path not in mine]
    if not wanted:
        return PullResult()
    digests = sorted(scan_references(src.pod, src.changelog, wanted)[0])
    batches = [digests[i : i + COPY_BATCH] for i in range(0, len(digests), COPY_BATCH)]
    # a pod that worker processes cannot open must be the one the scheduler check sees
    check = src.pod if not src.pod.shareable else dst.pod
    copied = sum(run_tasks(_copy_files, batches, check, src.pod, dst.pod))
    # publishing a revision makes the copied files durable first (Pod.write_new)
    revisions: list[Revision] = dst.changelog.copy_from(src.changelog, wanted)
    return PullResult(len(revisions), copied)


def _local_only(collection: Collection, others: set[str]) -> list[Revision]:
    """Revisions of ``collection`` missing from ``others``, merges left out.

    A merge revision only replays changes made by other revisions, so it changes nothing
    by itself.
    """
    parents = collection.changelog.ancestors()
    return [r for r in collection.changelog.log()
            if r.path not in others and len(parents.get(r.child, ())) == 1]


def _touched(collection: Collection, revisions: list[Revision], labels: set[str],
             series: str) -> set[str]:
    """The labels among ``labels`` that ``revisions`` changed in registry ``series``."""
    found = set()
    for revision in revisions:
        for op in collection.read_revision(revision)[1]:
            if op.label == series:
                found.update(label for label in labels if op.range.contains((label,)))
    return found


def _check_registry(dst: Repo, src: Repo, mine: dict[str, tuple[str, str]],
                    theirs: dict[str, tuple[str, str]], series: str) -> None:
    """Refuse a pull where both sides changed one collection entry differently.

    Pulling the registry history replays both sides, the later change winning; for a
    collection created or re-created independently on both sides, that would hide the
    data of one of them.
    """
    differ = {label for label in mine.keys() & theirs.keys() if mine[label] != theirs[label]}
    if not differ:
        return
    mine_paths = {r.path for r in dst.registry.changelog.log()}
    their_paths = {r.path for r in src.registry.changelog.log()}
    both = (_touched(dst.registry, _local_only(dst.registry, their_paths), differ, series)
            & _touched(src.registry, _local_only(src.registry, mine_paths), differ, series))
    for label in sorted(both):
        if Schema.loads(mine[label][0]) != Schema.loads(theirs[label][0]):
            raise SchemaError(
                f"collection {label!r} has schema {Schema.loads(mine[label][0])} in "
                f"{dst.pod.location} and {Schema.loads(theirs[label][0])} in "
                f"{src.pod.location}; rename one of them before pulling"
            )
        raise AlreadyExistsError(
            f"collection {label!r} was created on both sides independently "
            f"({dst.pod.location} and {src.pod.location}); rename one of them, or pull it "
            f"by label (repo.pull(other, {label!r})) to combine their histories"
        )


def pull_repo(dst: Repo, src: Repo, *labels: str, shallow: bool = False) -> PullResult:
    """Pull the collections ``labels`` (default: all, with the registry) of ``src``.

    ``dst`` must hold no cached collection objects (its registry rows may change here).
    """
    from .repo import REGISTRY_SERIES  # the repo layer sits above this module

    theirs = src._entries()
    unknown = [label for label in labels if label not in theirs]
    if unknown:
        raise CollectionNotFoundError(
            f"no collection {unknown} in {src.pod.location}; existing: {sorted(theirs)}"
        )
    mine = dst._entries()
    result = PullResult()
    if labels:
        for label in labels:
            if label in mine and Schema.loads(mine[label][0]) != Schema.loads(theirs[label][0]):
                raise SchemaError(
                    f"cannot pull collection {label!r}: schema {Schema.loads(theirs[label][0])}"
                    f" in {src.pod.location}, {Schema.loads(mine[label][0])} here"
                )
        new = [src.collection(label) for label in labels if label not in mine]  # checked
        if new:
            series = dst.registry.series(REGISTRY_SERIES)
            with dst.registry.multi():
                for there in new:
                    series.write({"label": [there.label], "schema": [there.schema.dumps()],
                                  "folder": [there.folder]})
            mine = dst._entries()
    else:
        _check_registry(dst, src, mine, theirs, REGISTRY_SERIES)
        result.add(pull_collection(dst.registry, src.registry))
        mine = dst._entries()
    for label in labels or sorted(theirs):
        if label not in mine:
            continue  # deleted here after the other side last changed it
        # through repo.collection: registry rows are checked before any folder is used
        result.add(pull_collection(dst.collection(label), src.collection(label), shallow))
        result.collections.append(label)
    return result

