"""Lazy reads: ``series.ddf()`` and ``collection.ddf()`` built from the commit alone.

Pruning is checked on the optimized graph: the number of tasks left after a ``.loc``
slice or a ``start``/``stop`` bound is the number of partitions that will be read.
Column projection is checked on what the storage is asked to read (the DEBUG log).
Text columns come back as dask holds text (``string[pyarrow]``, as ``dd.from_pandas``
gives), unless ``dataframe.convert-string`` is off in dask's config.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from conftest_dask import cluster_client, local_cluster, scheduler  # noqa: F401

from lakota_dask import Repo, Schema
from lakota_dask.codec import blob_path
from lakota_dask.errors import SchemaError

SCHEMA = Schema(timestamp="timestamp*", value="float", count="int", name="str")
DAY = np.timedelta64(86_400_000_000_000, "ns")


def day_frame(day: int, rows: int = 1_000) -> pd.DataFrame:
    """``rows`` values spread over day ``day`` of 2022 (random, so stored as files)."""
    rng = np.random.default_rng(day)
    start = np.datetime64("2022-01-01", "ns") + day * DAY
    return pd.DataFrame({
        "timestamp": start + np.arange(rows) * (DAY // rows),
        "value": rng.random(rows),
        "count": rng.integers(0, 1 << 40, rows),
        "name": pd.Series([f"v{v}" for v in rng.integers(0, 1 << 30, rows)], dtype="str"),
    })


@pytest.fixture
def ten_days(tmp_path: Path) -> Repo:
    """A folder repository whose series "a" holds ten days, written one day at a time."""
    repo = Repo(str(tmp_path / "repo"))
    clct = repo.create_collection(SCHEMA, "c")
    for day in range(10):
        clct.series("a").write(day_frame(day))
    return repo


def as_dask(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with text as dask DataFrames hold it (``string[pyarrow]``, NA missing)."""
    return frame.astype({c: "string[pyarrow]" for c in frame.columns if frame[c].dtype == "str"})


def _expected(repo: Repo, **bounds: object) -> pd.DataFrame:
    return as_dask((repo / "c").series("a").df(**bounds).set_index("timestamp"))


def _tasks(ddf: dd.DataFrame) -> int:
    """Tasks of the optimized graph: with blockwise fusion, one per partition read."""
    return len(ddf.optimize().__dask_graph__())


def test_ddf_equals_df(ten_days: Repo, scheduler: str) -> None:
    series = (ten_days / "c").series("a")
    ddf = series.ddf()
    assert ddf.known_divisions
    assert ddf.index.name == "timestamp"
    assert list(ddf.columns) == ["value", "count", "name"]
    result = ddf.compute()
    pd.testing.assert_frame_equal(result, _expected(ten_days))
    pd.testing.assert_series_equal(ddf.dtypes, result.dtypes)


def test_every_backend(repo: Repo) -> None:
    series = repo.create_collection(SCHEMA, "c").series("a")
    for day in range(3):
        series.write(day_frame(day))
    with dask.config.set(scheduler="threads"):
        result = series.ddf(partition_rows=1_000).compute()
    pd.testing.assert_frame_equal(result, as_dask(series.df().set_index("timestamp")))


def test_small_rows_grouped_into_partitions(ten_days: Repo) -> None:
    series = (ten_days / "c").series("a")
    assert series.ddf().npartitions == 1  # ten rows of 1,000 values, under the target
    ddf = series.ddf(partition_rows=2_500)
    assert ddf.npartitions == 5
    days = [pd.Timestamp("2022-01-01") + pd.Timedelta(days=d) for d in (0, 2, 4, 6, 8)]
    assert list(ddf.divisions[:-1]) == days
    assert ddf.divisions[-1] == series.df()["timestamp"].iloc[-1]
    sizes = ddf.map_partitions(len).compute(scheduler="sync").tolist()
    assert sizes == [2_000] * 5


def test_loc_prunes_partitions(ten_days: Repo) -> None:
    series = (ten_days / "c").series("a")
    ddf = series.ddf(partition_rows=1_000)
    assert ddf.npartitions == 10
    assert _tasks(ddf) == 10
    part = ddf.loc["2022-01-04":"2022-01-05 12:00"]
    assert _tasks(part) == 2  # days 3 and 4 only
    assert part.npartitions == 2
    with dask.config.set(scheduler="sync"):
        result = part.compute()
    expected = _expected(ten_days).loc["2022-01-04":"2022-01-05 12:00"]
    pd.testing.assert_frame_equal(result, expected)
    assert _tasks(ddf.loc["2022-01-10 01:00":]) == 1


@pytest.mark.parametrize("closed", ["both", "left", "right", "neither"])
def test_bounds_never_build_outside_partitions(ten_days: Repo, closed: str) -> None:
    series = (ten_days / "c").series("a")
    # 06:00 is a key of day 2; the stop is the first key of day 4
    bounds = {"start": "2022-01-03 06:00", "stop": "2022-01-05", "closed": closed}
    ddf = series.ddf(partition_rows=1_000, **bounds)
    expected = _expected(ten_days, **bounds)
    parts = 3 if closed in ("both", "right") else 2
    assert ddf.npartitions == parts
    assert _tasks(ddf) == parts
    assert ddf.divisions[0] == pd.Timestamp("2022-01-03 06:00")
    assert ddf.divisions[-1] >= expected.index[-1]
    with dask.config.set(scheduler="sync"):
        pd.testing.assert_frame_equal(ddf.compute(), expected)


def test_slice_bounds(ten_days: Repo) -> None:
    series = (ten_days / "c").series("a")
    ddf = series[:"2022-01-01 12:00"].ddf()
    assert ddf.divisions == (pd.Timestamp("2022-01-01"), pd.Timestamp("2022-01-01 12:00"))
    with dask.config.set(scheduler="sync"):
        assert ddf.compute().shape == (501, 3)


def test_column_projection_reads_only_those_columns(ten_days: Repo,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    series = (ten_days / "c").series("a")
    _, rows = series.rows()
    position = {name: i for i, name in enumerate(SCHEMA.names)}
    segments = {name: {blob_path(r.digests[position[name]]) for r in rows}
                for name in SCHEMA.names}
    caplog.set_level(logging.DEBUG, logger="lakota_dask")
    for ddf in (series.ddf(columns=["count"]), series.ddf()[["count"]], series.ddf()["count"]):
        caplog.clear()
        with dask.config.set(scheduler="sync"):
            result = ddf.compute()
        # "READ <location>/<folder> <name>" lines, back to paths
        read = {"/".join(r.getMessage().split()[1:]) for r in caplog.records
                if r.getMessage().startswith("READ ")}
        touched = {name for name, paths in segments.items()
                   if any(p.endswith(s) for p in read for s in paths)}
        assert touched == {"count"}
        assert np.array_equal(np.asarray(result).ravel(), series.df()["count"].to_numpy())


def test_columns_argument(ten_days: Repo) -> None:
    series = (ten_days / "c").series("a")
    ddf = series.ddf(columns=["name", "value"])
    assert list(ddf.columns) == ["name", "value"]
    with dask.config.set(scheduler="sync"):
        pd.testing.assert_frame_equal(ddf.compute(), _expected(ten_days)[["name", "value"]])
    assert list(series.ddf(columns=["timestamp", "count"]).columns) == ["count"]
    with pytest.raises(SchemaError, match="no column 'other'"):
        series.ddf(columns=["other"])


def test_before_reads_an_old_revision(tmp_path: Path) -> None:
    series = Repo(str(tmp_path)).create_collection(SCHEMA, "c").series("a")
    for day in range(3):
        series.write(day_frame(day))
    time.sleep(0.01)  # revision names have millisecond resolution
    moment = pd.Timestamp.now(tz="UTC")
    time.sleep(0.01)
    series.write(day_frame(3))
    ddf = series.ddf(before=moment)
    with dask.config.set(scheduler="sync"):
        result = ddf.compute()
    assert len(result) == 3_000
    pd.testing.assert_frame_equal(result, as_dask(series.df(before=moment).set_index("timestamp")))
    assert len(series.ddf()) == 4_000


def test_multi_column_index_keeps_divisions_increasing(tmp_path: Path) -> None:
    schema = Schema(day="date*", sensor="int*", value="float")
    series = Repo(str(tmp_path)).create_collection(schema, "c").series("a")
    days = np.arange("2022-01-01", "2022-01-07", dtype="datetime64[D]")
    # each day is written in three pieces, so one day spans three stored rows
    for day in days:
        for lo in (0, 40, 80):
            series.write({"day": [day] * 40, "sensor": np.arange(lo, lo + 40),
                          "value": np.arange(40.0)})
    ddf = series.ddf(partition_rows=50)
    assert ddf.npartitions == 6
    assert list(ddf.divisions[:-1]) == [pd.Timestamp(d) for d in days]
    with dask.config.set(scheduler="sync"):
        result = ddf.compute()
    pd.testing.assert_frame_equal(result, series.df().set_index("day"))


def test_text_index(tmp_path: Path) -> None:
    schema = Schema(key="str*", value="int")
    series = Repo(str(tmp_path)).create_collection(schema, "c").series("a")
    for letter in "abcdef":
        series.write({"key": [f"{letter}{i:03d}" for i in range(100)],
                      "value": np.arange(100)})
    ddf = series.ddf(partition_rows=200)
    assert ddf.divisions == ("a000", "c000", "e000", "f099")
    with dask.config.set(scheduler="sync"):
        assert ddf.loc["b050":"c010"].compute()["value"].tolist() == [
            *range(50, 100), *range(11)]
    assert _tasks(ddf.loc["b050":"c010"]) == 2


def test_empty_series(tmp_path: Path) -> None:
    series = Repo(str(tmp_path)).create_collection(SCHEMA, "c").series("a")
    ddf = series.ddf()
    with dask.config.set(scheduler="sync"):
        result = ddf.compute()
    assert result.empty
    assert list(result.columns) == ["value", "count", "name"]
    pd.testing.assert_series_equal(result.dtypes, ddf.dtypes)


def test_collection_ddf(ten_days: Repo, scheduler: str) -> None:
    clct = ten_days / "c"
    for label, day in (("b", 20), ("c", 30)):
        clct.series(label).write(day_frame(day))
    ddf = clct.ddf()
    assert list(ddf.columns) == ["label", "value", "count", "name"]
    assert not ddf.known_divisions  # the index starts again with each series
    expected = pd.concat([
        clct.series(label).df().set_index("timestamp").assign(label=label)
        for label in ("a", "b", "c")
    ])[["label", "value", "count", "name"]].pipe(as_dask)
    pd.testing.assert_frame_equal(ddf.compute(), expected)
    subset = clct.ddf(labels=["c"], columns=["label", "value"])
    assert subset.known_divisions
    pd.testing.assert_frame_equal(subset.compute(), expected[expected.label == "c"][
        ["label", "value"]])
    window = clct.ddf(start="2022-01-05", stop="2022-01-21 12:00", columns=["count"])
    assert window.npartitions == 2  # series a (one group) and series b
    assert len(window.compute()) == 6_000 + 501


def test_collection_ddf_label_column_clash(tmp_path: Path) -> None:
    schema = Schema(timestamp="timestamp*", label="str")
    clct = Repo(str(tmp_path)).create_collection(schema, "c")
    with pytest.raises(SchemaError, match="label_column"):
        clct.ddf()
    assert list(clct.ddf(label_column="series").columns) == ["series", "label"]


def test_graph_names_follow_the_data_read(ten_days: Repo) -> None:
    series = (ten_days / "c").series("a")
    first = series.ddf()
    assert series.ddf()._name == first._name  # same rows: same graph, cached by dask
    before = series.ddf(stop="2022-01-05")
    assert before._name != first._name
    series.write(day_frame(3, rows=10))  # day 3 now holds other rows
    changed = series.ddf()
    assert changed._name != first._name
    pd.testing.assert_frame_equal(changed.compute(), _expected(ten_days))
