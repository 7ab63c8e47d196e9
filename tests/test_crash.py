"""Crash safety: writers killed with SIGKILL at random points never leave a bad revision.

A writer process writes small frames in a loop (some embedded in the commit, some stored
as segment files, some deletes) on a durable local repository and is killed with SIGKILL
after a random short delay, 50 times. Afterwards every revision present reads completely,
``repo.check()`` finds nothing missing or corrupt, and ``gc()`` removes the orphans (files
no revision references: segments of the writes that were cut short).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from lakota_dask import Repo, Schema
from lakota_dask.codec import blob_path
from lakota_dask.keys import Range

SCHEMA = Schema(ts="int*", value="float")
KILLS = 50
LABELS = [f"s{i}" for i in range(5)]


def writer(root: str, seed: int, ready: multiprocessing.synchronize.Event) -> None:
    """Write forever (until killed)."""
    rng = np.random.default_rng(seed)
    clct = Repo(root) / "c"
    ready.set()
    while True:
        label = LABELS[int(rng.integers(len(LABELS)))]
        if rng.random() < 0.15:
            lo = int(rng.integers(0, 1000))
            clct.series(label).delete(lo, lo + int(rng.integers(0, 200)))
            continue
        n = int(rng.choice([5, 50, 600]))  # 600 random floats: a stored segment file
        ts = np.sort(rng.choice(1000, size=n, replace=False))
        clct.series(label).write({"ts": ts, "value": rng.random(n)})


def referenced(repo: Repo) -> set[str]:
    """Every file a revision of the repository references, and the revision files."""
    paths: set[str] = set()
    collections = [repo.registry] + [repo / label for label in repo.ls()]
    for clct in collections:
        for revision in clct.changelog.log():
            paths.add(f"{clct.folder}/{revision.path}")
            commit = clct.read_revision(revision)[0]
            paths.update(blob_path(d) for d in commit.stored_shards())
            for label in commit.labels():
                for row in commit.rows(label):
                    paths.update(blob_path(d) for d in row.digests
                                 if commit.blob(d, label) is None)
    return paths


def read_every_revision(repo: Repo) -> int:
    """Decode every row of every series of every revision; the revisions read."""
    clct = repo / "c"
    count = 0
    for revision in clct.changelog.log():
        commit = clct.read_revision(revision)[0]
        for label in commit.labels():
            rows = list(commit.rows(label))
            frame = clct.series(label).read_rows(commit, rows, Range(), SCHEMA.names)
            assert len(frame["ts"]) == sum(r.length for r in rows)
            assert np.all(np.diff(frame["ts"]) > 0)
        count += 1
    return count


@pytest.mark.timeout(120)
def test_sigkill_during_writes(tmp_path: Path) -> None:
    root = str(tmp_path / "repo")
    repo = Repo(root)
    repo.create_collection(SCHEMA, "c")
    context = multiprocessing.get_context("fork")  # no import per writer: kills land fast
    chooser = random.Random(8)
    delays = []
    started = time.monotonic()
    for kill in range(KILLS):
        ready = context.Event()
        process = context.Process(target=writer, args=(root, kill, ready))
        process.start()
        try:
            assert ready.wait(30), "the writer did not start"
            delay = chooser.uniform(0.0, 0.25)
            delays.append(delay)
            time.sleep(delay)
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.join()
        assert process.exitcode == -signal.SIGKILL
    elapsed = time.monotonic() - started

    repo = Repo(root)
    revisions = read_every_revision(repo)
    report = repo.check()
    assert report.ok, report.messages
    keep = referenced(repo)
    files = set(repo.pod.walk())
    assert keep <= files
    orphans = files - keep
    temporary = {p for p in orphans if ".tmp-" in p}
    before = {label: (repo / "c" / label).df() for label in (repo / "c").ls()}

    first = repo.gc(timeout=0)
    second = repo.gc(timeout=0)
    after = set(repo.pod.walk())
    print(f"\ncrash points: {KILLS} kills after {min(delays):.3f}-{max(delays):.3f} s "
          f"({elapsed:.1f} s), {revisions} revisions, {len(orphans)} orphans "
          f"({len(temporary)} temporary files); gc soft-deleted {first.soft_deleted}, "
          f"removed {second.removed}")
    assert revisions > KILLS // 2
    assert orphans - temporary, "some kills landed between a segment and its revision"
    assert after == keep  # temporary files of killed writes included
    assert first.soft_deleted == len(orphans - temporary)
    assert first.removed == len(temporary)
    assert second.removed == len(orphans - temporary)
    repo = Repo(root)
    assert read_every_revision(repo) == revisions
    for label, df in before.items():
        assert (repo / "c" / label).df().equals(df)
    assert repo.check().ok
