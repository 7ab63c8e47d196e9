"""gc(): two-phase collection of unreferenced files, safe next to a concurrent writer."""

from __future__ import annotations

import multiprocessing
import time

import dask
import numpy as np

from lakota_dask import Repo, Schema
from lakota_dask.codec import blob_path
from lakota_dask.history import scan_references

SCHEMA = Schema(key="int*", value="float")


def write(series, lo: int, hi: int, seed: int) -> list[float]:
    values = np.random.default_rng(seed).random(hi - lo)  # random: stored as files
    series.write({"key": np.arange(lo, hi), "value": values})
    return values.tolist()


def blobs(repo: Repo) -> tuple[set[str], set[str]]:
    """Live blob paths and soft-deleted ones (``<path>.<hextime>``)."""
    live, soft = set(), set()
    for path in repo.pod.walk(""):
        parts = path.split("/")
        if len(parts) == 3 and len(parts[2]) == 36:
            live.add(path)
        elif len(parts) == 3 and len(parts[2]) == 48 and parts[2][36] == ".":
            soft.add(path)
    return live, soft


def referenced(clct) -> set[str]:
    return {blob_path(d) for d in scan_references(clct.pod, clct.changelog,
                                                   clct.changelog.log())[0]}


def test_gc_soft_deletes_then_removes_unreferenced_files(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    write(clct / "s", 0, 1000, 1)
    values = write(clct / "s", 0, 1000, 2)  # replaces every row
    clct.trim()  # the first write's segment is now unreferenced
    orphan = blob_path("ab" * 20)
    repo.pod.write(orphan, b"left by a crashed write")
    live, _ = blobs(repo)
    garbage = live - referenced(clct)
    assert orphan in garbage and len(garbage) == 2

    first = repo.gc()

    assert (first.soft_deleted, first.removed, first.restored) == (2, 0, 0)
    live, soft = blobs(repo)
    assert not garbage & live
    assert {p.rsplit(".", 1)[0] for p in soft} == garbage
    assert (clct / "s").frame()["value"].tolist() == values
    second = repo.gc()  # within the timeout: nothing removed yet
    assert (second.soft_deleted, second.removed) == (0, 0)
    time.sleep(0.01)

    third = repo.gc(timeout=0)

    assert (third.soft_deleted, third.removed) == (0, 2)
    live, soft = blobs(repo)
    assert not soft and live == referenced(clct)
    assert (clct / "s").frame()["value"].tolist() == values


def test_a_revision_published_after_gc_listed_still_reads_and_comes_back(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    values = write(clct / "s", 0, 1000, 3)
    revision = clct.changelog.leaf()
    path = f"{clct.folder}/{revision.path}"
    payload = repo.pod.read(path)
    # the revision is not there when gc lists (its writer has not published it yet)
    repo.pod.rm([path])
    assert repo.gc().soft_deleted == 1
    repo.pod.write_new(path, payload)
    fresh = Repo(pod=repo.pod)  # no decoded revision cached

    assert (fresh / "c" / "s").frame()["value"].tolist() == values  # follows the new name
    time.sleep(0.01)
    result = fresh.gc(timeout=0)
    assert (result.restored, result.removed) == (1, 0)
    live, soft = blobs(repo)
    assert not soft and referenced(clct) <= live


def test_gc_keeps_commit_shards_and_the_registry(repo: Repo) -> None:
    import pandas as pd

    clct = repo.create_collection(SCHEMA, "c")
    frame = pd.DataFrame({"label": [f"s{i:04d}" for i in range(300)],
                          "key": np.arange(300), "value": np.arange(300.0)})
    clct.write_many(frame, by="label")
    shards = clct.commit().stored_shards()
    assert shards  # 300 series do not fit inline in the revision
    repo.create_collection(SCHEMA, "other")
    write(repo / "other" / "x", 0, 1000, 4)
    repo.delete("other")  # its segment becomes garbage
    time.sleep(0.01)
    with dask.config.set({"lakota.gc-timeout": 0}):
        first, second = repo.gc(), repo.gc()
    assert (first.soft_deleted, second.removed) == (1, 1)
    assert all(repo.pod.exists(blob_path(d)) for d in shards)
    reread = Repo(pod=repo.pod)
    assert reread.ls() == ["c"]
    assert (reread / "c" / "s0299").frame()["value"].tolist() == [299.0]


# -- a writer in another process ------------------------------------------------------
def _writer(path: str, seconds: float, queue) -> None:
    """Overwrite one series again and again, leaving an orphan file now and then."""
    clct = Repo(path, durable=False) / "c"
    written = []
    deadline = time.time() + seconds
    i = 0
    while time.time() < deadline:
        i += 1
        values = write(clct / "s", 0, 500, 1000 + i)
        written.append((clct.changelog.leaf().child, values))
        if i % 3 == 0:
            clct.pod.write(blob_path(f"{i:040x}"), b"orphan")
    queue.put(written)


def test_gc_next_to_a_concurrent_writer_never_loses_a_revision(tmp_path) -> None:
    path = str(tmp_path / "repo")
    repo = Repo(path, durable=False)
    clct = repo.create_collection(SCHEMA, "c")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    writer = context.Process(target=_writer, args=(path, 4.0, queue))
    writer.start()
    totals = {"soft_deleted": 0, "removed": 0, "restored": 0}
    try:
        while writer.is_alive() and queue.empty():
            # a short timeout: files soft-deleted a moment ago are removed on the next run
            result = repo.gc(timeout=0.3)
            for key in totals:
                totals[key] += getattr(result, key)
            time.sleep(0.05)
        written = dict(queue.get(timeout=60))
    finally:
        writer.join(timeout=60)
    assert writer.exitcode == 0
    assert len(written) > 5 and totals["soft_deleted"] > 0 and totals["removed"] > 0
    # every revision, old ones included, still reads what its writer wrote
    reader = Repo(path)
    for revision in (reader / "c").changelog.log():
        got = (reader / "c" / "s").frame(before=revision)["value"].tolist()
        assert got == written[revision.child]
    for _ in range(2):
        time.sleep(0.01)
        repo.gc(timeout=0)
    assert blobs(repo) == (referenced(clct), set())


def test_gc_collects_a_collection_deleted_elsewhere(repo: Repo, tmp_path) -> None:
    local = Repo(str(tmp_path / "local"))
    keep, drop = local.create_collection(SCHEMA, "keep", "drop")
    values = write(keep / "s", 0, 1000, 5)
    write(drop / "s", 0, 1000, 6)
    local.push(repo)
    local.delete("drop")
    local.push(repo)
    assert repo.ls() == ["keep"]
    time.sleep(0.01)
    first = repo.gc(timeout=0)
    time.sleep(0.01)
    second = repo.gc(timeout=0)
    assert (first.soft_deleted, second.removed) == (1, 1)
    assert (repo / "keep" / "s").frame()["value"].tolist() == values
