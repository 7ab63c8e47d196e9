"""trim() and defrag(): history gets shorter and segments fewer, reads stay the same."""

from __future__ import annotations

import time

import numpy as np

from conftest_dask import cluster_client, local_cluster  # noqa: F401
from lakota_dask import Repo, Schema
from lakota_dask.changelog import ROOT

SCHEMA = Schema(key="int*", value="float")


def write(series, keys, tag: float):
    keys = list(keys)
    revision = series.write({"key": keys, "value": [tag + k for k in keys]})
    time.sleep(0.002)  # distinct revision times
    return revision


def content(series, **kw) -> dict[int, float]:
    frame = series.frame(**kw)
    return dict(zip(frame["key"].tolist(), frame["value"].tolist()))


def snapshot_of(clct) -> dict[str, dict[int, float]]:
    return {label: content(clct / label) for label in clct.ls()}


# -- trim ---------------------------------------------------------------------------
def test_trim_keeps_the_last_state_only(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    write(clct / "a", range(10), 0)
    write(clct / "a", range(3, 5), 100)
    write(clct / "b", range(4), 200)
    (clct / "a").delete(8, 9)
    expected = snapshot_of(clct)
    leaf = clct.changelog.leaf()

    result = clct.trim()

    assert (result.removed, result.kept) == (4, 1)
    log = clct.changelog.log()
    assert len(log) == 1 and log[0].parent == ROOT and log[0].is_leaf
    assert log[0].epoch == leaf.epoch  # the snapshot stands at the time of the last state
    assert snapshot_of(clct) == expected
    assert content(clct / "a", before=leaf) == expected["a"]
    assert clct.trim().removed == 0  # nothing left to trim
    assert len(clct.changelog.log()) == 1


def test_trim_before_keeps_later_revisions_and_time_travel(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    revisions = [write(clct / "s", range(i, i + 5), 10 * i) for i in range(6)]
    states = [content(clct / "s", before=r) for r in revisions]

    result = clct.trim(before=revisions[2].timestamp)

    assert result.removed == 4  # three dropped, one re-parented (rewritten)
    assert result.kept == 4
    log = clct.changelog.log()
    assert [r.child for r in log[1:]] == [r.child for r in revisions[3:]]
    assert log[0].parent == ROOT and log[1].parent == log[0].child
    for revision, state in zip(revisions[2:], states[2:]):
        assert content(clct / "s", before=revision) == state
    assert content(clct / "s", before=revisions[1]) == {}  # trimmed away
    assert content(clct / "s") == states[-1]


def test_merge_after_trim_replays_from_the_snapshot(repo: Repo, tmp_path) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    write(clct / "s", range(10), 0)
    write(clct / "t", range(3), 50)
    other = Repo(str(tmp_path / "other"))
    repo.push(other)
    clct.trim()
    write(clct / "s", [1], 100)
    write(other / "c" / "s", [8], 200)
    clct.pull(other / "c")
    clct.merge()
    expected = {k: float(k) for k in range(10)}
    expected.update({1: 101.0, 8: 208.0})
    assert content(clct / "s") == expected
    assert content(clct / "t") == {0: 50.0, 1: 51.0, 2: 52.0}


def test_trim_with_several_heads_at_the_cut_keeps_them_all(repo: Repo, tmp_path) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    other = Repo(str(tmp_path / "other"))
    repo.push(other)
    write(clct / "s", range(3), 0)
    write(other / "c" / "s", range(5, 8), 10)
    clct.pull(other / "c")
    assert len(clct.changelog.heads()) == 2
    clct.trim()
    assert len(clct.changelog.log()) == 1
    assert content(clct / "s") == {0: 0.0, 1: 1.0, 2: 2.0, 5: 15.0, 6: 16.0, 7: 17.0}


# -- defrag -------------------------------------------------------------------------
def small_writes(clct, label: str, n: int, size: int, seed: int) -> dict[int, float]:
    rng = np.random.default_rng(seed)
    for i in range(n):
        keys = np.arange(i * size, (i + 1) * size)
        clct.series(label).write({"key": keys, "value": rng.random(size)})
    return content(clct / label)


def test_defrag_rewrites_small_rows_and_reads_stay_the_same(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    a = small_writes(clct, "a", 12, 200, 1)
    b = small_writes(clct, "b", 3, 200, 2)
    write(clct / "one", range(5), 0)  # a single row: nothing to gain
    before_defrag = clct.changelog.leaf()
    rows_a = len(clct.commit().rows("a"))

    result = clct.defrag(segment_rows=1000)

    assert result.series == ["a", "b"]
    assert rows_a == 12
    assert len(clct.commit().rows("a")) == 3  # 1000 + 1000 + 400 values
    assert len(clct.commit().rows("b")) == 1
    assert (result.rows_before, result.rows_after) == (15, 4)
    assert result.values == 12 * 200 + 3 * 200
    assert result.segments >= 4  # value columns of random floats are stored as files
    assert content(clct / "a") == a and content(clct / "b") == b
    assert content(clct / "a", start=950, stop=1050) == {k: a[k] for k in range(950, 1051)}
    assert content(clct / "a", before=before_defrag) == a
    assert clct.defrag(segment_rows=1000).revision is None  # already compact


def test_a_concurrent_write_survives_the_merge_with_a_defrag(repo: Repo, tmp_path) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    small_writes(clct, "s", 6, 100, 3)
    other = Repo(str(tmp_path / "other"))
    repo.push(other)
    write(other / "c" / "s", range(150, 160), 1000)
    time.sleep(0.002)
    clct.defrag(segment_rows=1000)  # later than the concurrent write
    clct.pull(other / "c")
    clct.merge()
    merged = content(clct / "s")
    assert all(merged[k] == 1000.0 + k for k in range(150, 160))
    assert len(merged) == 600


def test_defrag_over_a_cluster_of_worker_processes(tmp_path, cluster_client) -> None:  # noqa: F811
    clct = Repo(str(tmp_path / "repo")).create_collection(SCHEMA, "c")
    expected = {f"s{i}": small_writes(clct, f"s{i}", 4, 300, i) for i in range(6)}
    result = clct.defrag(segment_rows=10_000)
    assert (result.rows_before, result.rows_after) == (24, 6)
    assert {label: content(clct / label) for label in expected} == expected
