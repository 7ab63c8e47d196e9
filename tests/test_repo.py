"""Repositories: creating, listing, opening, deleting and renaming collections."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakota_dask import Collection, Repo, Schema
from lakota_dask.errors import AlreadyExistsError, CollectionNotFoundError, SchemaError
from lakota_dask.repo import REGISTRY_FOLDER

SCHEMA = Schema(timestamp="timestamp*", value="float")
OTHER = Schema(key="int*", name="str")


@pytest.fixture(params=["memory", "file"])
def backend(request: pytest.FixtureRequest) -> str:
    """Memory and local disk; S3 has its own suite (a fresh bucket costs seconds a test)."""
    return request.param


def write_one(clct: Collection, label: str = "s", value: float = 1.0) -> None:
    (clct / label).write({"timestamp": ["2020-01-01"], "value": [value]})


def test_create_one_or_several(repo: Repo) -> None:
    one = repo.create_collection(SCHEMA, "temperature")
    assert isinstance(one, Collection) and one.label == "temperature" and one.schema == SCHEMA
    several = repo.create_collection(OTHER, "b", "a")
    assert [c.label for c in several] == ["b", "a"]
    assert repo.ls() == ["a", "b", "temperature"]
    assert (repo / "a").schema == OTHER and repo.collection("temperature").schema == SCHEMA
    assert "a" in repo and "zz" not in repo


def test_create_again(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "t")
    write_one(clct)
    again = repo.create_collection(SCHEMA, "t")
    assert again.folder == clct.folder and len(again / "s") == 1
    with pytest.raises(AlreadyExistsError, match="'t' exists already"):
        repo.create_collection(SCHEMA, "t", raise_if_exists=True)
    with pytest.raises(AlreadyExistsError, match="another schema"):
        repo.create_collection(OTHER, "t")
    assert repo.ls() == ["t"] and len(repo.registry.changelog.log()) == 1


def test_the_registry_is_a_versioned_collection(repo: Repo) -> None:
    first = repo.create_collection(SCHEMA, "a")
    repo.create_collection(SCHEMA, "b")
    log = repo.registry.changelog.log()
    assert len(log) == 2 and log[-1].is_leaf
    registry = repo.registry / "collections"
    assert registry.df()["label"].tolist() == ["a", "b"]
    assert registry.df(before=log[0])["label"].tolist() == ["a"]
    assert registry.df(select="folder")["folder"].tolist()[0] == first.folder
    assert first.folder != REGISTRY_FOLDER


def test_collections_survive_reopening(repo_url: str, backend: str) -> None:
    if backend == "memory":
        pytest.skip("each memory repository is private")
    clct = Repo(repo_url).create_collection(SCHEMA, "t")
    write_one(clct, value=4.0)
    reopened = Repo(repo_url)
    assert reopened.ls() == ["t"]
    assert (reopened / "t" / "s").frame()["value"].tolist() == [4.0]


def test_file_uri_and_repo_over_a_pod(tmp_path: Path) -> None:
    path = tmp_path / "r"
    write_one(Repo(f"file://{path}").create_collection(SCHEMA, "t"))
    assert Repo(str(path)).ls() == ["t"]
    same = Repo(pod=Repo(str(path)).pod)
    assert len(same / "t" / "s") == 1


def test_memory_repositories_are_private() -> None:
    Repo("memory://").create_collection(SCHEMA, "t")
    assert Repo("memory://").ls() == [] and Repo().ls() == []


def test_delete_collections(repo: Repo) -> None:
    a, b, _ = repo.create_collection(SCHEMA, "a", "b", "c")
    write_one(a)
    write_one(b)
    repo.delete("a", "b")
    assert repo.ls() == ["c"]
    assert repo.pod.ls(a.folder) == [] and repo.pod.ls(b.folder) == []
    with pytest.raises(CollectionNotFoundError, match="no collection 'a'"):
        repo / "a"
    with pytest.raises(CollectionNotFoundError, match=r"\['zz'\]"):
        repo.delete("c", "zz")
    assert repo.ls() == ["c"]
    # a new collection with an old label starts empty
    fresh = repo.create_collection(SCHEMA, "a")
    assert fresh.ls() == [] and fresh.folder != a.folder


def test_rename_collection_keeps_its_data(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "old")
    write_one(clct, value=2.0)
    renamed = repo.rename("old", "new")
    assert repo.ls() == ["new"] and renamed.folder == clct.folder
    assert (repo / "new" / "s").frame()["value"].tolist() == [2.0]
    with pytest.raises(CollectionNotFoundError):
        repo / "old"
    repo.create_collection(SCHEMA, "other")
    with pytest.raises(AlreadyExistsError, match="'other' exists already"):
        repo.rename("new", "other")
    with pytest.raises(CollectionNotFoundError, match="'nope'"):
        repo.rename("nope", "x")
    assert repo.ls() == ["new", "other"]


def test_create_collection_arguments(repo: Repo) -> None:
    with pytest.raises(SchemaError, match="expects a Schema"):
        repo.create_collection({"a": "int*"}, "x")
    with pytest.raises(SchemaError, match="at least one label"):
        repo.create_collection(SCHEMA)
    assert repo.ls() == []


def test_repr(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "t")
    assert repr(clct) == "<Collection t>"
    assert repr(repo).startswith("<Repo ")
