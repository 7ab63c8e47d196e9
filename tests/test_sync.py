"""Pull and push between collections and repositories, on every backend.

Series hold random floats so that their segments are files (small ones would be embedded
in the commit and copied with the revision).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest_dask import cluster_client, local_cluster  # noqa: F401
from lakota_dask import Repo, Schema
from lakota_dask.codec import blob_path
from lakota_dask.errors import AlreadyExistsError, CollectionNotFoundError, SchemaError
from lakota_dask.history import scan_references

SCHEMA = Schema(key="int*", value="float")
ROWS = 2000


def write(series, lo: int, hi: int, seed: int):
    """Write keys ``[lo, hi)`` with random values; returns them."""
    values = np.random.default_rng(seed).random(hi - lo)
    series.write({"key": np.arange(lo, hi), "value": values})
    return values


def frame(series, **kw) -> dict[str, list]:
    return {k: v.tolist() for k, v in series.frame(**kw).items()}


def stored_files(collection) -> set[str]:
    """Digests of the files every revision of ``collection`` references."""
    return scan_references(collection.pod, collection.changelog,
                           collection.changelog.log())[0]


def test_collection_pull_copies_history_and_data_once(repo: Repo, tmp_path) -> None:
    src = repo.create_collection(SCHEMA, "src")
    write(src / "a", 0, ROWS, 1)
    write(src / "a", 500, 700, 2)
    write(src / "b", 0, ROWS, 3)
    dst = Repo(str(tmp_path / "dst")).create_collection(SCHEMA, "dst")

    result = dst.pull(src)

    assert result.revisions == 3
    needed = stored_files(src)
    assert result.segments == len(needed) > 0
    assert all(dst.pod.exists(blob_path(d)) for d in needed)
    assert dst.changelog.log() == src.changelog.log()
    for label in ("a", "b"):
        assert frame(dst / label) == frame(src / label)
    assert frame(dst / "a", before=src.changelog.log()[0]) == \
        frame(src / "a", before=src.changelog.log()[0])
    again = dst.pull(src)
    assert (again.revisions, again.segments) == (0, 0)


def test_push_into_a_collection_of_another_name(repo: Repo, tmp_path) -> None:
    local = Repo(str(tmp_path / "local"))
    clct = local.create_collection(SCHEMA, "rainfall")
    values = write(clct / "Brussels", 0, ROWS, 4)
    remote = repo.create_collection(SCHEMA, "precipitation")
    result = clct.push(remote)
    assert (result.revisions, result.segments) == (1, 1)  # the keys are embedded
    assert (remote / "Brussels").frame()["value"].tolist() == values.tolist()
    assert clct.push(remote).revisions == 0


def test_pull_refuses_another_schema(repo: Repo) -> None:
    a = repo.create_collection(SCHEMA, "a")
    b = repo.create_collection(Schema(key="int*", value="int"), "b")
    write(a / "s", 0, 10, 5)
    with pytest.raises(SchemaError, match="schemas differ"):
        b.pull(a)


def test_shallow_pull_copies_only_the_heads_and_their_data(repo: Repo, tmp_path) -> None:
    source = Repo(str(tmp_path / "source"))
    src = source.create_collection(SCHEMA, "c")
    write(src / "s", 0, ROWS, 6)
    write(src / "s", 0, ROWS, 7)  # replaces every row: the first segments are history only
    write(src / "t", 0, ROWS, 8)
    clct = repo.create_collection(SCHEMA, "c")

    result = clct.pull(src, shallow=True)

    leaf = src.changelog.leaf()
    assert result.revisions == 1
    assert [r.path for r in clct.changelog.log()] == [leaf.path]
    needed = scan_references(src.pod, src.changelog, [leaf])[0]
    assert result.segments == len(needed) < len(stored_files(src))
    for label in ("s", "t"):
        assert frame(clct / label) == frame(src / label)
    assert clct.pull(src, shallow=True).revisions == 0
    # a full pull later brings the rest of the history
    assert clct.pull(src).revisions == 2
    assert frame(clct / "s", before=src.changelog.log()[0]) == \
        frame(src / "s", before=src.changelog.log()[0])


def test_repo_pull_creates_collections_with_the_remote_schema(repo: Repo, tmp_path) -> None:
    other_schema = Schema(day="date*", count="int")
    repo.create_collection(SCHEMA, "x", "y")
    repo.create_collection(other_schema, "z")
    values = write(repo / "x" / "s", 0, ROWS, 9)
    local = Repo(str(tmp_path / "local"))

    result = local.pull(repo, "x", "z")

    assert result.collections == ["x", "z"]
    assert local.ls() == ["x", "z"]
    assert (local / "z").schema == other_schema
    assert (local / "x" / "s").frame()["value"].tolist() == values.tolist()
    assert local.pull(repo, "x").revisions == 0
    with pytest.raises(CollectionNotFoundError, match="nope"):
        local.pull(repo, "nope")
    local.create_collection(other_schema, "y")
    with pytest.raises(SchemaError, match="'y'"):
        local.pull(repo, "y")


def test_repo_push_carries_deletions_and_recreations(repo: Repo, tmp_path) -> None:
    local = Repo(str(tmp_path / "local"))
    clct = local.create_collection(SCHEMA, "keep", "drop", "redo")
    write(clct[0] / "s", 0, 100, 10)
    write(clct[0] / "gone", 0, 100, 11)
    write(clct[2] / "s", 0, 100, 12)
    local.push(repo)
    assert repo.ls() == ["drop", "keep", "redo"]

    (local / "keep").delete("gone")
    local.delete("drop")
    local.delete("redo")
    fresh = local.create_collection(SCHEMA, "redo")
    write(fresh / "new", 0, 10, 13)
    result = local.push(repo)

    assert repo.ls() == ["keep", "redo"]
    assert (repo / "keep").ls() == ["s"]
    assert (repo / "redo").ls() == ["new"]  # the old "redo" does not come back
    assert result.collections == ["keep", "redo"]
    assert local.push(repo).revisions == 0


def test_independent_collections_of_one_name_are_not_silently_hidden(repo: Repo,
                                                                     tmp_path) -> None:
    other = Repo(str(tmp_path / "other"))
    write(repo.create_collection(SCHEMA, "t") / "s", 0, 3, 14)
    write(other.create_collection(SCHEMA, "t") / "s", 10, 13, 15)
    with pytest.raises(AlreadyExistsError, match="pull it by label"):
        other.pull(repo)
    other.pull(repo, "t")  # by label: both histories join in other's collection
    (other / "t").merge()
    assert (other / "t" / "s").frame()["key"].tolist() == [0, 1, 2, 10, 11, 12]


def test_pull_over_a_cluster_of_worker_processes(tmp_path, cluster_client) -> None:  # noqa: F811
    source = Repo(str(tmp_path / "source"))
    clct = source.create_collection(SCHEMA, "c")
    for i in range(40):
        write(clct / f"s{i}", 0, 300, i)
    local = Repo(str(tmp_path / "local"))
    result = local.pull(source)
    assert result.segments == len(stored_files(clct)) >= 40
    for i in (0, 39):
        assert frame(local / "c" / f"s{i}") == frame(clct / f"s{i}")


def test_pull_from_memory_with_worker_processes_is_refused(tmp_path, cluster_client) -> None:  # noqa: F811
    from lakota_dask.errors import SchedulerError

    source = Repo("memory://")
    write(source.create_collection(SCHEMA, "c") / "s", 0, ROWS, 1)
    with pytest.raises(SchedulerError, match="memory"):
        Repo(str(tmp_path / "local")).pull(source)
