"""Garbage collection of a repository, in two phases so that concurrent writers are safe.

A writer stores its segments first and publishes the revision that references them last,
so at any moment storage may hold segments that no revision references *yet*. Therefore a
run of :func:`gc`:

1. notes the time, reads the registry (every head of it), lists every file, and reads
   every revision of the registry and of each registered collection to collect the
   digests of the segments and commit shards they reference. The changelog of a
   collection no registry row names any more (deleted on another repository, then
   pulled) is left in place but references nothing;
2. renames each unreferenced file ``<name>`` to ``<name>.<hextime>`` (a *soft delete*;
   readers follow such names, see :func:`lakota_dask.segment.read_blob`);
3. renames back a soft-deleted file that a revision references again (a writer published
   it after an earlier run), and deletes for good a soft-deleted file that is still
   unreferenced and was soft-deleted more than ``timeout`` seconds before this run began.
   Temporary files (``<name>.tmp-<hextime>-<uuid>``) that a writer killed mid-write left
   behind are deleted once older than ``timeout``.

A segment is thus deleted only after two runs and ``timeout`` seconds without any
revision referring to it: a writer whose segments and revision are stored within
``timeout`` of each other never loses data. Revision files themselves are never touched.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dask

from .changelog import Changelog, Revision
from .codec import blob_path
from .errors import SegmentMissingError
from .history import scan_references
from .parallel import run_tasks
from .storage import Pod
from .utils import hextime, now_ms

if TYPE_CHECKING:
    from .repo import Repo

__all__ = ["GC_TIMEOUT", "GcResult", "gc"]

#: seconds a soft-deleted file waits before it may be deleted (``dask.config`` key
#: ``lakota.gc-timeout`` overrides it)
GC_TIMEOUT = 3600.0
#: files renamed or deleted by one task
GC_BATCH = 256

_HEX2 = "[0-9a-f]{2}"
_BLOB = re.compile(rf"^({_HEX2})/({_HEX2})/([0-9a-f]{{36}})$")
_SOFT = re.compile(rf"^({_HEX2})/({_HEX2})/([0-9a-f]{{36}})\.([0-9a-f]{{11}})$")
#: a temporary file a killed writer left: ``<path>.tmp-<hextime>-<uuid>``
_TEMPORARY = re.compile(r"^.+\.tmp-([0-9a-f]{11})-[0-9a-f]{32}$")
_REVISION = re.compile(
    rf"^({_HEX2}/{_HEX2}/[0-9a-f]{{36}})/([0-9a-f]{{11}}-[0-9a-f]{{40}})\."
    rf"([0-9a-f]{{11}}-[0-9a-f]{{40}})$"
)


@dataclass
class GcResult:
    """What :func:`gc` did."""

    #: revision files read
    revisions: int = 0
    #: distinct files referenced by those revisions
    referenced: int = 0
    #: files renamed ``<name>.<hextime>``
    soft_deleted: int = 0
    #: soft-deleted files renamed back because a revision references them again
    restored: int = 0
    #: soft-deleted files deleted for good (also stale copies of a file that is back)
    removed: int = 0


def _folder_references(folder: tuple[str, list[tuple[str, str]]],
                       pod: Pod) -> tuple[set[str], int]:
    """Task: the digests referenced by the revisions of one changelog folder."""
    path, edges = folder
    changelog = Changelog(pod, path)
    revisions = [Revision(parent, child, False, changelog) for parent, child in edges]
    return scan_references(pod, changelog, revisions)


def _apply(batch: list[tuple[str, str | None]], pod: Pod) -> int:
    """Task: rename each ``(path, new_path)``, or delete ``path`` when ``new_path`` is None.

    A file already gone (a concurrent run) is skipped.
    """
    done = 0
    for path, target in batch:
        try:
            if target is None:
                pod.rm([path])
            else:
                pod.mv(path, target)
            done += 1
        except SegmentMissingError:
            continue
    return done


def _run(pod: Pod, moves: list[tuple[str, str | None]]) -> int:
    batches = [moves[i : i + GC_BATCH] for i in range(0, len(moves), GC_BATCH)]
    return sum(run_tasks(_apply, batches, pod, pod))


def gc(repo: Repo, timeout: float | None = None) -> GcResult:
    """Soft-delete unreferenced files; delete those soft-deleted over ``timeout`` s ago."""
    if timeout is None:
        timeout = float(dask.config.get("lakota.gc-timeout", GC_TIMEOUT))
    pod = repo.pod
    # taken before listing: a file soft-deleted earlier than this minus the timeout was
    # unreferenced for longer than any write may take
    started = now_ms()
    # read before the listing: a collection registered after it is not scanned, but its
    # files are then at most soft-deleted, and the next run sees it
    named = {folder for _, folder in repo._entries().values()} | {repo.registry.folder}
    folders: dict[str, list[tuple[str, str]]] = defaultdict(list)
    blobs: set[str] = set()
    soft: list[tuple[str, str, int]] = []
    temporary: list[tuple[str, str | None]] = []
    for path in pod.walk(""):
        if match := _REVISION.match(path):
            if match.group(1) in named:
                folders[match.group(1)].append((match.group(2), match.group(3)))
        elif match := _BLOB.match(path):
            blobs.add("".join(match.groups()))
        elif match := _SOFT.match(path):
            soft.append((path, "".join(match.groups()[:3]), int(match.group(4), 16)))
        elif (match := _TEMPORARY.match(path)) and started - int(match.group(1), 16) > (
            timeout * 1000
        ):
            temporary.append((path, None))
    scanned = run_tasks(_folder_references, sorted(folders.items()), pod, pod)
    referenced: set[str] = set().union(*(refs for refs, _ in scanned))
    # a revision that vanished meanwhile (concurrent trim) may have been the only one
    # to reference a file: delete nothing for good in this run
    complete = not any(gone for _, gone in scanned)
    result = GcResult(revisions=sum(len(edges) for edges in folders.values()),
                      referenced=len(referenced))
    stamp = hextime()
    soft_moves: list[tuple[str, str | None]] = [
        (blob_path(d), f"{blob_path(d)}.{stamp}") for d in sorted(blobs - referenced)
    ]
    restores: list[tuple[str, str | None]] = []
    removals: list[tuple[str, str | None]] = []
    back = set(blobs)
    for path, digest, deleted_at in sorted(soft):
        if digest in referenced:
            if digest in back:
                removals.append((path, None))  # the live copy is there: same bytes
            else:
                restores.append((path, path.rsplit(".", 1)[0]))
                back.add(digest)
        elif complete and started - deleted_at > timeout * 1000:
            removals.append((path, None))
    result.soft_deleted = _run(pod, soft_moves)
    result.restored = _run(pod, restores)
    result.removed = _run(pod, removals) + _run(pod, temporary)
    return result
