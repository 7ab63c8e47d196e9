"""Corruption: a flipped byte or a truncated file is detected, named, and contained.

On every backend, one stored file at a time (a segment, a commit shard blob, a revision)
gets a flipped byte or is cut short. Reading what needs it raises ``CorruptDataError``
naming the file; other series, other collections and earlier revisions stay readable;
``repo.check()`` lists the file (as corrupt, or missing when deleted) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from conftest_dask import cluster_client, local_cluster, scheduler  # noqa: F401
from lakota_dask import Repo, Schema
from lakota_dask.codec import blob_path
from lakota_dask.commit import MAX_SHARD_LABELS
from lakota_dask.errors import CorruptDataError, SegmentMissingError

SCHEMA = Schema(ts="int*", value="float", note="str")
ROWS = 2000


def frame(seed: int, n: int = ROWS) -> dict:
    rng = np.random.default_rng(seed)
    # irregular steps: the index segment does not compress to an embedded blob
    return {"ts": np.cumsum(rng.integers(1, 1000, n)) + seed, "value": rng.random(n),
            "note": [f"n{seed}-{i}" for i in range(n)]}


def flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x5A
    return bytes(out)


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "first byte": lambda b: flip(b, 0),
    "middle byte": lambda b: flip(b, len(b) // 2),
    "last byte": lambda b: flip(b, len(b) - 1),
    "truncated": lambda b: b[: len(b) // 2],
    "emptied": lambda b: b"",
}


def snapshot(repo: Repo) -> dict[str, bytes]:
    return {path: repo.pod.read(path) for path in repo.pod.walk()}


def reopen(repo: Repo) -> Repo:
    """The same storage with cold caches."""
    return Repo(pod=repo.pod)


@pytest.fixture(params=["memory", "file"])
def backend(request: pytest.FixtureRequest) -> str:
    """The full matrix runs on the fast backends; ``test_damage_on_s3`` covers S3."""
    return request.param


@pytest.fixture
def filled(repo: Repo) -> Repo:
    return fill(repo)


def fill(repo: Repo) -> Repo:
    """Collections ``c`` (series a over two revisions, b) and ``d`` (series a)."""
    c, d = repo.create_collection(SCHEMA, "c", "d")
    c.series("a").write(frame(1))
    c.series("b").write(frame(2))
    c.series("a").write(frame(3, 10))  # a third revision, touching only 10 rows of a
    d.series("a").write(frame(4))
    return repo


def stored_segment(repo: Repo, collection: str, label: str, column: str) -> str:
    """The path of a segment file (not embedded) of a series."""
    series = repo / collection / label
    commit, rows = series.rows()
    position = SCHEMA.names.index(column)
    for row in rows:
        digest = row.digests[position]
        if commit.blob(digest, label) is None:
            return blob_path(digest)
    raise AssertionError(f"{collection}/{label} has no stored {column} segment")


def assert_others_readable(repo: Repo, damaged: str) -> None:
    """Every series but ``damaged`` ("collection/label") reads as written."""
    first, second = pd.DataFrame(frame(1)), pd.DataFrame(frame(3, 10))
    kept = first[(first.ts < second.ts.min()) | (first.ts > second.ts.max())]
    overwritten = pd.concat([kept, second]).sort_values("ts")  # c/a: frame(3) over frame(1)
    expected = {"c/a": overwritten, "c/b": frame(2), "d/a": frame(4)}
    for name, data in expected.items():
        if name == damaged:
            continue
        collection, label = name.split("/")
        df = (repo / collection / label).df()
        assert df["value"].tolist() == list(data["value"])
        assert df["ts"].tolist() == list(data["ts"])


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("column", ["ts", "value", "note"])
def test_damaged_segment(filled: Repo, damage: str, column: str) -> None:
    damaged_segment(filled, damage, column)


def damaged_segment(filled: Repo, damage: str, column: str) -> None:
    path = stored_segment(filled, "c", "b", column)
    filled.pod.write(path, DAMAGE[damage](filled.pod.read(path)))
    repo = reopen(filled)
    with pytest.raises(CorruptDataError, match=path):
        (repo / "c" / "b").df()
    with pytest.raises(CorruptDataError, match=path):
        (repo / "c" / "b").df(select=column)
    assert_others_readable(repo, "c/b")
    # the revision before b was written does not reference the file
    first = (repo / "c").changelog.log()[0]
    assert (repo / "c" / "b").df(before=first).empty
    state = snapshot(repo)
    report = repo.check()
    assert report.corrupt == (path,) and report.missing == ()
    assert path in report.messages[path]
    assert snapshot(repo) == state


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_revision(filled: Repo, damage: str) -> None:
    damaged_revision(filled, damage)


def damaged_revision(filled: Repo, damage: str) -> None:
    log = (filled / "c").changelog.log()
    leaf = log[-1]
    path = f"{(filled / 'c').folder}/{leaf.path}"
    filled.pod.write(path, DAMAGE[damage](filled.pod.read(path)))
    repo = reopen(filled)
    with pytest.raises(CorruptDataError, match=leaf.path):
        (repo / "c" / "b").df()
    # earlier revisions and other collections are untouched
    assert (repo / "c" / "b").df(before=log[-2])["value"].tolist() == frame(2)["value"].tolist()
    assert (repo / "d" / "a").df()["value"].tolist() == frame(4)["value"].tolist()
    state = snapshot(repo)
    report = repo.check()
    assert report.corrupt == (path,) and report.missing == ()
    assert snapshot(repo) == state


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_registry_revision(filled: Repo, damage: str) -> None:
    leaf = filled.registry.changelog.leaf()
    path = f"{filled.registry.folder}/{leaf.path}"
    filled.pod.write(path, DAMAGE[damage](filled.pod.read(path)))
    repo = reopen(filled)
    with pytest.raises(CorruptDataError, match=leaf.path):
        repo.ls()
    state = snapshot(repo)
    report = repo.check()
    assert path in report.corrupt
    assert snapshot(repo) == state


@pytest.mark.parametrize("damage", ["middle byte", "truncated"])
def test_damaged_shard_blob(repo: Repo, damage: str) -> None:
    damaged_shard_blob(repo, damage)


def damaged_shard_blob(repo: Repo, damage: str) -> None:
    clct = repo.create_collection(SCHEMA, "wide")
    labels = [f"s{i:04d}" for i in range(MAX_SHARD_LABELS + 10)]
    with clct.multi():
        for i, label in enumerate(labels):
            clct.series(label).write(frame(i, 20))
    repo = reopen(repo)
    clct = repo / "wide"
    commit = clct.commit()
    shards = commit.stored_shards()
    assert shards, "the first shard is large enough to be stored as a blob"
    path = blob_path(shards[0])
    repo.pod.write(path, DAMAGE[damage](repo.pod.read(path)))
    repo = reopen(repo)
    clct = repo / "wide"
    with pytest.raises(CorruptDataError, match=path):
        clct.series(labels[0]).df()
    # the series of the last shard (inline in the revision) stay readable
    assert clct.series(labels[-1]).df()["value"].tolist() == frame(len(labels) - 1,
                                                                    20)["value"].tolist()
    state = snapshot(repo)
    report = repo.check()
    assert path in report.corrupt and not report.missing
    assert snapshot(repo) == state


def test_missing_segment_is_reported(filled: Repo) -> None:
    path = stored_segment(filled, "c", "b", "value")
    filled.pod.rm([path])
    repo = reopen(filled)
    with pytest.raises(SegmentMissingError, match=path):
        (repo / "c" / "b").df()
    assert_others_readable(repo, "c/b")
    state = snapshot(repo)
    report = repo.check()
    assert report.missing == (path,) and report.corrupt == ()
    assert snapshot(repo) == state


def test_check_of_a_sound_repo(filled: Repo) -> None:
    state = snapshot(filled)
    report = filled.check()
    revisions = sum(len(c.changelog.log()) for c in (filled.registry, filled / "c", filled / "d"))
    assert report.ok and report.revisions == revisions == 1 + 3 + 1
    assert report.segments == len([p for p in state if "." not in p])
    assert snapshot(filled) == state


def test_damage_on_s3(s3_server, s3_bucket: str) -> None:  # noqa: ANN001
    def fresh(name: str) -> Repo:
        return Repo(f"s3://{s3_bucket}/{name}", storage_options=dict(s3_server.options))

    damaged_segment(fill(fresh("segment")), "middle byte", "value")
    damaged_revision(fill(fresh("revision")), "truncated")
    damaged_shard_blob(fresh("shard"), "middle byte")


def test_check_runs_on_every_scheduler(tmp_path, scheduler: str) -> None:  # noqa: ANN001
    """The scrub is a dask graph: the same report on one thread, threads or worker processes."""
    repo = fill(Repo(str(tmp_path / "repo")))
    corrupt = stored_segment(repo, "c", "b", "note")
    missing = stored_segment(repo, "d", "a", "value")
    repo.pod.write(corrupt, DAMAGE["middle byte"](repo.pod.read(corrupt)))
    repo.pod.rm([missing])
    state = snapshot(repo)
    report = Repo(str(tmp_path / "repo")).check()
    assert report.corrupt == (corrupt,) and report.missing == (missing,)
    assert report.revisions == 5 and report.segments == len([p for p in state if "." not in p]) + 1
    assert snapshot(repo) == state
