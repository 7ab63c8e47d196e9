"""Collections: series listing, multi(), write_many, delete, rename, changelog, dedup."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from lakota_dask import Repo, Revision, Schema, Series
from lakota_dask.changelog import ROOT
from lakota_dask.errors import InvalidLabelError, SchemaError, SeriesNotFoundError

SCHEMA = Schema(timestamp="timestamp*", value="float")
REVISION = re.compile(r"^<Revision [0-9a-f]{11}-[0-9a-f]{40}\.[0-9a-f]{11}-[0-9a-f]{40} (\*|)>$")


@pytest.fixture(params=["memory", "file"])
def backend(request: pytest.FixtureRequest) -> str:
    """Memory and local disk; S3 has its own suite (a fresh bucket costs seconds a test)."""
    return request.param


@pytest.fixture
def clct(repo: Repo):
    return repo.create_collection(SCHEMA, "temperature")


def frame(days: list[int], base: float = 0.0) -> dict:
    return {"timestamp": [f"2020-01-{d:02d}" for d in days], "value": [base + d for d in days]}


def values(series: Series, **kw) -> list[float]:
    return series.frame(**kw)["value"].tolist()


def test_series_by_name_and_slash(clct) -> None:
    assert isinstance(clct / "Brussels", Series)
    assert (clct / "Brussels").label == clct.series("Brussels").label == "Brussels"
    assert clct.ls() == [] and "Brussels" not in clct
    (clct / "Paris").write(frame([1]))
    (clct / "Brussels").write(frame([1]))
    assert clct.ls() == ["Brussels", "Paris"] and "Paris" in clct
    assert repr(clct / "Paris") == "<Series temperature/Paris>"


def test_changelog_repr_matches_the_seed(clct) -> None:
    series = clct / "Brussels"
    first = series.write(frame([1, 2]))
    second = series.write(frame([3]))
    log = clct.changelog.log()
    assert [repr(r) for r in log] == [
        f"<Revision {ROOT}.{first.child} >",
        f"<Revision {first.child}.{second.child} *>",
    ]
    assert all(REVISION.match(repr(r)) for r in log)
    assert log[0].parent == ROOT and log[1].parent == first.child
    assert isinstance(first, Revision) and first.is_leaf
    assert second.epoch > first.epoch


def test_multi_writes_one_revision(clct) -> None:
    with clct.multi():
        for label in ["a", "b", "c"]:
            (clct / label).write(frame([1, 2], base=10))
        (clct / "a").write(frame([2], base=100))
        (clct / "b").delete("2020-01-01", "2020-01-01")
    assert len(clct.changelog.log()) == 1
    assert values(clct / "a") == [11.0, 102.0]
    assert values(clct / "b") == [12.0]
    assert values(clct / "c") == [11.0, 12.0]


def test_nested_multi_joins_the_outer_block(clct) -> None:
    with clct.multi():
        (clct / "a").write(frame([1]))
        with clct.multi():
            (clct / "b").write(frame([1]))
        assert clct.changelog.log() == []
    assert len(clct.changelog.log()) == 1 and clct.ls() == ["a", "b"]


def test_exception_inside_multi_writes_no_revision(repo: Repo, clct) -> None:
    (clct / "a").write(frame([1]))
    log = clct.changelog.log()
    with pytest.raises(RuntimeError, match="boom"):
        with clct.multi():
            (clct / "a").write(frame([2]))
            (clct / "b").write(frame([1]))
            raise RuntimeError("boom")
    assert clct.changelog.log() == log
    assert clct.ls() == ["a"] and values(clct / "a") == [1.0]
    # the collection still works after the failed block
    (clct / "b").write(frame([5]))
    assert clct.ls() == ["a", "b"] and len(clct.changelog.log()) == 2


def test_write_many_writes_one_revision(clct) -> None:
    df = pd.DataFrame({
        "city": ["Paris", "Brussels", "Paris", "Brussels", "Rome"],
        "timestamp": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-02", "2020-01-02",
                                     "2020-01-05"]),
        "value": [1.0, 2.0, 3.0, 4.0, 5.0],
    })
    revision = clct.write_many(df, by="city")
    assert clct.changelog.log() == [revision]
    assert clct.ls() == ["Brussels", "Paris", "Rome"]
    assert values(clct / "Paris") == [1.0, 3.0]
    assert values(clct / "Brussels") == [2.0, 4.0]
    assert (clct / "Rome").df()["timestamp"].tolist() == [pd.Timestamp("2020-01-05")]
    # a second call replaces the range of each group only
    clct.write_many(df.iloc[[2]].assign(value=30.0), by="city")
    assert values(clct / "Paris") == [1.0, 30.0]
    assert values(clct / "Brussels") == [2.0, 4.0]


def test_write_many_with_integer_labels_and_a_dict(clct) -> None:
    clct.write_many({"id": [7, 7, 10], "timestamp": ["2020-01-01", "2020-01-02", "2020-01-01"],
                     "value": [1, 2, 3]}, by="id")
    assert clct.ls() == ["10", "7"] and values(clct / "7") == [1.0, 2.0]


def test_write_many_refuses_bad_groups_and_writes_nothing(repo: Repo, clct) -> None:
    files = repo.pod.walk()
    unsorted = pd.DataFrame({"city": ["a", "b", "b"], "timestamp": pd.to_datetime(
        ["2020-01-01", "2020-01-02", "2020-01-01"]), "value": [1.0, 2.0, 3.0]})
    with pytest.raises(SchemaError, match="row 1"):
        clct.write_many(unsorted, by="city")
    with pytest.raises(SchemaError, match="no column 'country'"):
        clct.write_many(unsorted, by="country")
    missing = pd.DataFrame({"city": ["a", None], "timestamp": pd.to_datetime(
        ["2020-01-01", "2020-01-02"]), "value": [1.0, 2.0]})
    with pytest.raises(InvalidLabelError, match="row 1"):
        clct.write_many(missing, by="city")
    blank = missing.assign(city=["a", ""])
    with pytest.raises(InvalidLabelError, match="non-empty"):
        clct.write_many(blank, by="city")
    assert repo.pod.walk() == files and clct.changelog.log() == []


def test_delete_series(clct) -> None:
    for label in ["a", "b", "c"]:
        (clct / label).write(frame([1]))
    revision = clct.delete("a", "c")
    assert clct.ls() == ["b"] and (clct / "a").df().empty
    assert clct.changelog.log()[-1] == revision
    assert clct.ls(before=clct.changelog.log()[-2]) == ["a", "b", "c"]


def test_rename_series(clct) -> None:
    (clct / "a").write(frame([1, 2]))
    (clct / "b").write(frame([9]))
    clct.rename("a", "b")
    assert clct.ls() == ["b"] and values(clct / "b") == [1.0, 2.0]
    clct.rename("b", "b")
    assert clct.ls() == ["b"] and values(clct / "b") == [1.0, 2.0]
    with pytest.raises(SeriesNotFoundError, match="no series 'zz'"):
        clct.rename("zz", "y")
    with pytest.raises(InvalidLabelError):
        clct.rename("b", "")


def test_identical_data_is_stored_once(repo: Repo, clct) -> None:
    data = {"timestamp": pd.date_range("2020-01-01", periods=3000, freq="min"),
            "value": np.random.default_rng(0).random(3000)}
    (clct / "a").write(data)
    files = set(repo.pod.walk())
    (clct / "b").write(data)
    other = repo.create_collection(SCHEMA, "other")
    (other / "c").write(data)
    rows = [(c / label).rows()[1][0] for c, label in [(clct, "a"), (clct, "b"), (other, "c")]]
    assert rows[0].digests == rows[1].digests == rows[2].digests
    value_path = "{0}/{1}/{2}".format(rows[0].digests[1][:2], rows[0].digests[1][2:4],
                                      rows[0].digests[1][4:])
    assert value_path in files
    # only revision files were added (the registry's, and one per collection write)
    added = set(repo.pod.walk()) - files
    assert all(re.search(r"[0-9a-f]{11}-[0-9a-f]{40}\.[0-9a-f]{11}-[0-9a-f]{40}$", p)
               for p in added), added


def test_small_segments_are_embedded(repo: Repo, clct) -> None:
    before = set(repo.pod.walk())
    (clct / "a").write(frame([1, 2, 3]))
    added = set(repo.pod.walk()) - before
    assert len(added) == 1 and added.pop().count(".") == 1


def test_time_travel_on_the_collection(clct) -> None:
    first = (clct / "a").write(frame([1]))
    (clct / "b").write(frame([1]))
    assert clct.ls(before=first) == ["a"] and clct.ls() == ["a", "b"]


def test_reading_an_unknown_series_gives_an_empty_frame(clct) -> None:
    df = (clct / "nothing").df()
    assert df.empty and list(df.columns) == ["timestamp", "value"]
    assert df["timestamp"].dtype == "datetime64[ns]" and len(clct / "nothing") == 0
