"""History rewriting over one collection: merge by replay, trim and defrag.

Every revision records its *ops*: ``Op(label, range)`` says "``label`` was replaced over
``range`` by the rows this revision holds inside ``range``". That makes history
replayable, which is what :func:`merge` does:

1. find the most recent common ancestor of every head (the root counts as the empty
   commit), moving further back if a revision to replay is older than it;
2. take every revision that is an ancestor-or-self of some head but not of that base,
   sorted by the time of its child name (then the name);
3. starting from the base commit, replay the ops of each one: the rows the revision holds
   inside an op's range replace that range;
4. publish one revision whose parents are all the heads, recording the ops replayed.

Merge revisions met on the way are not replayed: the writes they joined are replayed at
their own time, so in a merge of merges the later *write* still wins, not the later
merge. Every row of every head survives, and where writes overlap the later one wins. A
revision whose parent is absent from the changelog (a shallow pull) holds history we
cannot replay; it is replayed as a snapshot: each of its labels replaced whole.

:func:`trim` replaces the revisions older than a cut by one snapshot revision (a child of
the root whose ops replace every label whole) and :func:`defrag` rewrites runs of small
rows into large segments in one revision. Neither changes what a read of a kept revision
returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .changelog import ROOT, Changelog, Revision, name_time, parse_before
from .codec import blob_path
from .commit import Commit, Op, Row, Shard, pack_rows
from .errors import CommitConflictError, SegmentMissingError
from .keys import Range
from .parallel import run_tasks
from .schema import Schema
from .segment import SEGMENT_ROWS, encode_rows, read_blob, read_row_columns
from .storage import Pod
from .utils import hexdigest, hextime

if TYPE_CHECKING:
    from .collection import Collection

__all__ = [
    "DefragResult",
    "MergeResult",
    "RepoMergeResult",
    "TrimResult",
    "defrag",
    "merge",
    "referenced_files",
    "replay",
    "scan_references",
    "trim",
    "view_commit",
]

#: rows read and rewritten by one defrag task (several small series share a task)
DEFRAG_TASK_ROWS = 1_000_000


@dataclass
class MergeResult:
    """What :func:`merge` did."""

    #: heads found before the merge (1 or 0: nothing to do)
    heads: int = 0
    #: revisions replayed on top of the common base
    revisions: int = 0
    #: ops replayed
    ops: int = 0
    #: the merge revision (``None`` when there was nothing to merge)
    revision: Revision | None = None


@dataclass
class RepoMergeResult:
    """What ``repo.merge()`` did: the merges it made, by collection label."""

    #: one entry per collection that had several heads (``"registry"``: the registry)
    collections: dict[str, MergeResult] = field(default_factory=dict)

    @property
    def heads(self) -> int:
        """Heads joined, over every merge."""
        return sum(m.heads for m in self.collections.values())


@dataclass
class TrimResult:
    """What :func:`trim` did."""

    #: revision files removed
    removed: int = 0
    #: revision files kept or rewritten (the snapshot included)
    kept: int = 0
    #: the snapshot revision standing for the dropped history (``None``: nothing trimmed)
    snapshot: Revision | None = None


@dataclass
class DefragResult:
    """What :func:`defrag` did."""

    #: labels of the series rewritten
    series: list[str] = field(default_factory=list)
    #: commit rows of those series before and after
    rows_before: int = 0
    rows_after: int = 0
    #: values read and rewritten
    values: int = 0
    #: segment files written (small segments are embedded in the commit instead)
    segments: int = 0
    #: the defrag revision (``None`` when nothing needed rewriting)
    revision: Revision | None = None


# -- replay ---------------------------------------------------------------------------
def _lineage(parents: dict[str, list[str]], name: str) -> set[str]:
    """``name`` and every revision name it descends from (the root included)."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(parents.get(current, ()))
    return seen


def _revision(collection: Collection, parents: dict[str, list[str]], child: str) -> Revision:
    return Revision(parents[child][0], child, False, collection.changelog)


def rows_within(collection: Collection, commit: Commit, label: str,
                rng: Range) -> tuple[list[Row], dict[str, bytes]]:
    """The rows of ``label`` in ``commit`` inside ``rng`` (cut at its bounds), with blobs."""
    rows = []
    load = None
    for row in commit.rows(label):
        if not (rng.after_start(row.stop) and rng.before_stop(row.start)):
            continue
        if rng.after_start(row.start) and rng.before_stop(row.stop):
            rows.append(row)
            continue
        # a row of a later op of the same revision can straddle this op's bounds
        load = load or collection.load_keys(commit, label)
        keys = load(row)
        lo, hi = rng.positions(keys)
        if hi > lo:
            rows.append(row.narrow(keys, lo, hi))
    blobs = {d: b for row in rows for d in row.digests
             if (b := commit.blob(d, label)) is not None}
    return rows, blobs


def _base(parents: dict[str, list[str]], lines: list[set[str]]) -> tuple[str, set[str]]:
    """The replay base of lineages ``lines`` and what it already holds.

    The most recent common ancestor, unless a revision to replay is older than it (a
    branch merged into one side only, then written to): replaying that write over the
    base would undo newer ones, so the base moves back until every revision to replay
    is newer. The root (the empty commit) always qualifies.
    """
    union = set().union(*lines)
    # a common ancestor missing from the changelog (shallow pull) cannot serve as the base
    common = sorted((n for n in set.intersection(*lines) if n in parents),
                    key=lambda n: (name_time(n), n), reverse=True)
    for base in common:
        done = _lineage(parents, base)
        if all(name_time(n) > name_time(base) for n in union - done if n in parents):
            return base, done
    return ROOT, {ROOT}


def replay(collection: Collection, heads: list[Revision]) -> tuple[Commit, list[Op], int]:
    """The merged commit of ``heads``, the ops replayed and how many revisions.

    Merge revisions are not replayed: they only repeat the writes they joined, which are
    replayed themselves at their own time. Nothing is written: :func:`merge` publishes
    the result, :func:`view_commit` only reads it.
    """
    parents = collection.changelog.ancestors()
    lines = [_lineage(parents, h.child) for h in heads]
    base, done = _base(parents, lines)
    commit = Commit() if base == ROOT else \
        collection.read_revision(_revision(collection, parents, base))[0]
    todo = sorted((n for n in set().union(*lines) - done if n in parents),
                  key=lambda n: (name_time(n), n))
    replayed: dict[Op, None] = {}
    count = 0
    for name in todo:
        known = [p for p in parents[name] if p == ROOT or p in parents]
        if len(known) > 1:
            continue
        rev_commit, ops = collection.read_revision(_revision(collection, parents, name))
        if len(known) < len(parents[name]):
            # its history is not here (shallow pull): take it as a snapshot of its labels
            ops = [Op(label, Range()) for label in rev_commit.labels()]
        count += 1
        for op in ops:
            if op.range.is_empty():
                continue
            rows, blobs = rows_within(collection, rev_commit, op.label, op.range)
            commit = commit.update(op.label, op.range, rows, blobs,
                                   collection.load_keys(commit, op.label))
            # replaying the final rows of a range is order-free, so repeats add nothing
            replayed.pop(op, None)
            replayed[op] = None
    return commit, list(replayed), count


def view_commit(collection: Collection) -> Commit:
    """The commit every head agrees on: the leaf's, or all heads replayed in memory."""
    heads = collection.changelog.heads()
    if not heads:
        return Commit()
    if len(heads) == 1:
        return collection.read_revision(heads[0])[0]
    return replay(collection, heads)[0]


def merge(collection: Collection) -> MergeResult:
    """Join every head of ``collection`` into one revision (see the module docstring)."""
    heads = collection.changelog.heads()
    if len(heads) <= 1:
        return MergeResult(heads=len(heads))
    commit, ops, count = replay(collection, heads)
    revision = collection.publish(commit, ops, [h.child for h in heads])
    return MergeResult(len(heads), count, len(ops), revision)


# -- references -----------------------------------------------------------------------
def referenced_files(commit: Commit) -> set[str]:
    """Digests of the stored files ``commit`` needs: segments and shard blobs."""
    found = set(commit.stored_shards())
    for label in commit.labels():
        for row in commit.rows(label):
            found.update(d for d in row.digests if commit.blob(d, label) is None)
    return found


def scan_references(pod: Pod, changelog: Changelog,
                    revisions: Iterable[Revision]) -> tuple[set[str], int]:
    """Digests of the files ``revisions`` need, and how many revisions were gone.

    Shard blobs shared by many revisions are read once. A revision removed meanwhile (a
    concurrent trim) is counted, not raised.
    """
    shards: dict[str, Shard] = {}

    def load(digest: str) -> Shard:
        if digest not in shards:
            where = f"{pod.location}/{blob_path(digest)}"
            shards[digest] = Shard.decode(read_blob(pod, digest), where, stored_as=digest)
        return shards[digest]

    found: set[str] = set()
    gone = 0
    for revision in revisions:
        try:
            payload = changelog.read(revision)
        except SegmentMissingError:
            gone += 1
            continue
        where = f"{pod.location}/{changelog.folder}/{revision.path}"
        found |= referenced_files(Commit.decode(payload, load, where)[0])
    return found, gone


# -- trim -----------------------------------------------------------------------------
def trim(collection: Collection, before: Any = None) -> TrimResult:
    """Drop the revisions written up to ``before`` (default: all but the last state).

    The state at the cut (the heads of that time, replayed together if there are several)
    becomes one snapshot revision, a child of the root with the time of the cut's latest
    head; revisions after the cut are re-parented onto it. Reads of the leaf, and reads
    with ``before=`` at or after the snapshot, return what they returned; earlier ones
    find nothing.
    """
    changelog = collection.changelog
    log = changelog.log()
    if not log:
        return TrimResult()
    cut = parse_before(before)
    if cut is None:
        cut = max(r.epoch for r in changelog.heads())
    at_cut = changelog.heads(cut)
    dropped = [r for r in log if r.epoch <= cut]
    kept = [r for r in log if r.epoch > cut]
    if not at_cut or (len(dropped) == 1 and dropped[0].parent == ROOT):
        return TrimResult(kept=len(log))
    state = replay(collection, at_cut)[0] if len(at_cut) > 1 else \
        collection.read_revision(at_cut[0])[0]
    ops = [Op(label, Range()) for label in state.labels()]
    payload, shards = state.encode(ops)
    snapshot = f"{hextime(max(r.epoch for r in at_cut))}-{hexdigest(payload)}"
    pod, folder = collection.pod, collection.folder
    pod.write_many({blob_path(d): data for d, data in shards.items()})
    # each revision write makes every earlier write durable first (Pod.write_new)
    _write_revision(pod, f"{folder}/{ROOT}.{snapshot}", payload)
    moved = [r for r in kept if r.parent != ROOT and name_time(r.parent) <= cut]
    for revision in moved:
        _write_revision(pod, f"{folder}/{snapshot}.{revision.child}", revision.read())
    # only now that the new edges exist can the old ones go: a crash leaves extra edges
    changelog.remove([r for r in dropped if r.path != f"{ROOT}.{snapshot}"] + moved)
    return TrimResult(len(dropped) + len(moved), len(kept) + 1,
                      Revision(ROOT, snapshot, False, changelog))


def _write_revision(pod: Pod, path: str, payload: bytes) -> None:
    try:
        pod.write_new(path, payload)
    except CommitConflictError:
        pass  # same name, same content: written by an earlier or concurrent trim


# -- defrag ---------------------------------------------------------------------------
def _rewrite_runs(
    group: list[tuple[str, list[list[Row]], dict[str, bytes]]],
    pod: Pod,
    schema: Schema,
    segment_rows: int,
) -> list[tuple[str, list[tuple[list[Row], dict[str, bytes]]], int]]:
    """Task: read each run of small rows and store it as one segment per column.

    Returns, per label, the new rows and embedded bytes of each run, and the number of
    segment files written.
    """
    out = []
    for label, runs, blobs in group:
        new_runs, written = [], 0
        for run in runs:
            parts = read_row_columns(pod, schema, Commit(), label, run, schema.names, blobs)
            arrays = {n: np.concatenate([p[n] for p in parts]) for n in schema.names}
            encoded = encode_rows(schema, arrays, segment_rows)
            pod.write_many(encoded.files)
            written += len(encoded.files)
            new_runs.append((encoded.rows, encoded.embedded))
        out.append((label, new_runs, written))
    return out


def defrag(collection: Collection, segment_rows: int = SEGMENT_ROWS) -> DefragResult:
    """Rewrite runs of small rows of the leaf into segments of up to ``segment_rows``.

    Only runs of two rows or more are rewritten, so the row count only goes down. The
    revision has no ops: it changes how rows are stored, not what they hold, so a merge
    never replays it over a concurrent write.
    """
    leaf = collection.changelog.leaf()
    if leaf is None:
        return DefragResult()
    commit = collection.read_revision(leaf)[0]
    plans: dict[str, list[list[Row]]] = {}
    tasks: list[list[tuple[str, list[list[Row]], dict[str, bytes]]]] = [[]]
    size = 0
    for label in commit.labels():
        runs = pack_rows(commit.rows(label), segment_rows)
        small = [run for run in runs if len(run) > 1]
        if not small:
            continue
        plans[label] = runs
        blobs = {d: b for run in small for r in run for d in r.digests
                 if (b := commit.blob(d, label)) is not None}
        if size >= DEFRAG_TASK_ROWS:
            tasks.append([])
            size = 0
        tasks[-1].append((label, small, blobs))
        size += sum(r.length for run in small for r in run)
    if not plans:
        return DefragResult()
    results = run_tasks(_rewrite_runs, tasks, collection.pod, collection.pod,
                        collection.schema, segment_rows)
    result = DefragResult()
    for label, new_runs, written in (item for part in results for item in part):
        rewritten = iter(new_runs)
        rows: list[Row] = []
        blobs: dict[str, bytes] = {}
        for run in plans[label]:
            if len(run) == 1:
                rows.extend(run)
                continue
            new_rows, embedded = next(rewritten)
            rows.extend(new_rows)
            blobs.update(embedded)
        result.series.append(label)
        result.rows_before += sum(len(run) for run in plans[label])
        result.rows_after += len(rows)
        result.values += sum(r.length for run in plans[label] if len(run) > 1 for r in run)
        result.segments += written
        commit = commit.with_rows(label, rows, blobs)
    result.revision = collection.publish(commit, [], [leaf.child])
    return result
