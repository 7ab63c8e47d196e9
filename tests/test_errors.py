"""Bad input gets a specific error, with a message naming what is wrong, and stores nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from lakota_dask import Repo, Schema
from lakota_dask.errors import (
    CollectionNotFoundError,
    InvalidLabelError,
    InvalidURLError,
    LakotaError,
    SchemaError,
)

SCHEMA = Schema(timestamp="timestamp*", value="float")


@pytest.fixture(params=["memory", "file"])
def backend(request: pytest.FixtureRequest) -> str:
    """Memory and local disk; S3 has its own suite (a fresh bucket costs seconds a test)."""
    return request.param


@pytest.fixture
def series(repo: Repo):
    series = repo.create_collection(SCHEMA, "t") / "s"
    series.write({"timestamp": ["2020-01-01", "2020-01-02"], "value": [1.0, 2.0]})
    return series


def state(repo: Repo) -> tuple:
    """Everything a failed call could have changed: every file, each changelog."""
    logs = [repo.registry.changelog.log()]
    logs += [(repo / label).changelog.log() for label in repo.ls()]
    return repo.pod.walk(), logs


BAD_WRITES = [
    ({"timestamp": ["2020-01-03", "2020-01-05", "2020-01-04"], "value": [1, 2, 3]},
     r"row 2 \(timestamp = .*\) is smaller than the row before it"),
    ({"timestamp": ["2020-01-03", "2020-01-03"], "value": [1, 2]},
     r"row 1 \(timestamp = .*\) repeats the row before it"),
    ({"timestamp": ["2020-01-03"]}, r"missing column\(s\) \['value'\]"),
    ({"timestamp": ["2020-01-03"], "value": [1], "extra": [2]}, r"unknown column\(s\) \['extra'\]"),
    ({"timestamp": ["2020-01-03"], "value": ["high"]}, "column 'value': cannot cast"),
    ({"timestamp": ["someday"], "value": [1]}, "column 'timestamp': cannot cast"),
    ({"timestamp": ["2020-01-03", "2020-01-04"], "value": [1]}, "different lengths"),
    ({"timestamp": [None], "value": [1]}, "missing value"),
    (pd.DataFrame({"value": [1.0]}), r"missing column\(s\) \['timestamp'\]"),
    ([("2020-01-03", 1.0)], "pass a dict of columns or a pandas DataFrame"),
]


@pytest.mark.parametrize("frame, match", BAD_WRITES)
def test_bad_frames_are_refused_and_store_nothing(repo: Repo, series, frame, match) -> None:
    before = state(repo)
    with pytest.raises(SchemaError, match=match):
        series.write(frame)
    assert state(repo) == before
    assert series.frame()["value"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("frame, match", BAD_WRITES[:7])
def test_bad_frames_in_multi_write_no_revision(repo: Repo, series, frame, match) -> None:
    before = state(repo)
    with pytest.raises(SchemaError, match=match):
        with series.collection.multi():
            (series.collection / "other").write({"timestamp": ["2020-01-01"], "value": [0]})
            series.write(frame)
    assert repo.registry.changelog.log() == before[1][0]
    assert series.collection.changelog.log() == before[1][1]
    assert series.collection.ls() == ["s"]


def test_rows_outside_the_write_range(repo: Repo, series) -> None:
    before = state(repo)
    with pytest.raises(SchemaError, match="fall outside the write range"):
        series.write({"timestamp": ["2020-01-05"], "value": [1]}, stop="2020-01-04")
    with pytest.raises(SchemaError, match="fall outside the write range"):
        series.write({"timestamp": ["2020-01-05"], "value": [1]}, start="2020-01-05",
                     closed="neither")
    assert state(repo) == before


@pytest.mark.parametrize("call", [
    lambda s: s.write({"timestamp": ["2020-01-03"], "value": [1]}, closed="open"),
    lambda s: s.delete("2020-01-01", "2020-01-02", closed="both ends"),
    lambda s: s.df(closed="sideways"),
    lambda s: s.frame(closed=None),
    lambda s: s.paginate(1, closed="x").__next__(),
])
def test_bad_closed(repo: Repo, series, call) -> None:
    before = state(repo)
    with pytest.raises(SchemaError, match=r"closed must be one of \('both', 'left', 'right', "
                                          r"'neither'\)"):
        call(series)
    assert state(repo) == before


def test_unknown_select_column(series) -> None:
    with pytest.raises(SchemaError, match=r"no column 'temp' in the schema \(columns: "
                                          r"\['timestamp', 'value'\]\)"):
        series.df(select=["value", "temp"])
    with pytest.raises(SchemaError, match="no column 'temp'"):
        list(series.paginate(1, select="temp"))


def test_bad_bounds(repo: Repo, series) -> None:
    before = state(repo)
    with pytest.raises(SchemaError, match="column 'timestamp'"):
        series.df(start="not a date")
    with pytest.raises(SchemaError, match="has 2 values but the index has 1"):
        series.df(start=("2020-01-01", 1))
    with pytest.raises(SchemaError, match="column 'timestamp'"):
        series.delete("yesterday")
    with pytest.raises(TypeError, match="slice without step"):
        series["2020-01-01":"2020-01-02":2]
    with pytest.raises(SchemaError, match="step must be a positive number"):
        list(series.paginate(-1))
    with pytest.raises(SchemaError, match="limit must be a number of rows"):
        series.df(limit=-1)
    with pytest.raises(SchemaError, match="offset must be a number of rows"):
        series.frame(offset=1.5)
    with pytest.raises(SchemaError, match="n must be a number of rows"):
        series.tail(-2)
    with pytest.raises(SchemaError, match="select names no column"):
        series.df(select=[])
    assert state(repo) == before


@pytest.mark.parametrize("label, match", [
    ("", "non-empty"), (" padded", "leading or trailing spaces"), ("tab\there", "control"),
    (None, "must be a string, not NoneType"), (5, "must be a string, not int"),
    ("x" * 1025, "limited to 1024 bytes"),
])
def test_invalid_series_labels(repo: Repo, series, label, match: str) -> None:
    before = state(repo)
    with pytest.raises(InvalidLabelError, match=match):
        series.collection / label
    with pytest.raises(InvalidLabelError, match=match):
        series.collection.delete(label)
    assert state(repo) == before


@pytest.mark.parametrize("label", ["", " x", None, "a\nb"])
def test_invalid_collection_labels(repo: Repo, series, label) -> None:
    before = state(repo)
    with pytest.raises(InvalidLabelError, match="collection label"):
        repo.create_collection(SCHEMA, "fine", label)
    with pytest.raises(InvalidLabelError, match="collection label"):
        repo / label
    with pytest.raises(InvalidLabelError, match="collection label"):
        repo.rename("t", label)
    assert state(repo) == before and repo.ls() == ["t"]


def test_unknown_collection(repo: Repo, series) -> None:
    before = state(repo)
    with pytest.raises(CollectionNotFoundError, match=r"no collection 'nope' .* \['t'\]"):
        repo / "nope"
    with pytest.raises(KeyError):  # a NotFoundError is a KeyError too
        repo.collection("nope")
    with pytest.raises(CollectionNotFoundError):
        repo.delete("nope")
    assert state(repo) == before


@pytest.mark.parametrize("address", [
    "ftp://host/x", "zzz://x/y", "", "   ", "memory://not/empty", "s3://", 42, [],
])
def test_bad_repo_addresses(address) -> None:
    with pytest.raises(InvalidURLError):
        Repo(address)


def test_schema_without_index() -> None:
    with pytest.raises(SchemaError, match="at least one index column; mark it with '\\*'"):
        Schema(timestamp="timestamp", value="float")
    with pytest.raises(SchemaError, match="at least one index column"):
        Schema("timestamp timestamp\nvalue float")


def test_every_error_is_a_lakota_error_and_a_builtin() -> None:
    assert issubclass(SchemaError, ValueError) and issubclass(SchemaError, LakotaError)
    assert issubclass(InvalidLabelError, ValueError) and issubclass(InvalidURLError, ValueError)
    assert issubclass(CollectionNotFoundError, KeyError)
    assert str(CollectionNotFoundError("no collection 'x'")) == "no collection 'x'"
