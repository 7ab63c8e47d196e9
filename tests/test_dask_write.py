"""Writing dask DataFrames: one graph, one revision, the same result as writing pandas.

Each behaviour runs on dask's synchronous and threaded schedulers and on a
``LocalCluster`` with two worker processes (the ``scheduler`` fixture), against a folder
repository; ``test_write_on_every_backend`` covers the storage backends.
"""

from __future__ import annotations

import time
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from conftest_dask import cluster_client, local_cluster, scheduler, wait_until  # noqa: F401

from lakota_dask import Repo, Schema
from lakota_dask.dask_io import write_series
from lakota_dask.errors import SchemaError

SCHEMA = Schema(timestamp="timestamp*", value="float", count="int", name="str")


def make_frame(n: int, start: str = "2021-01-01", seed: int = 0) -> pd.DataFrame:
    """``n`` minutes of rows matching ``SCHEMA``."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "timestamp": pd.date_range(start, periods=n, freq="min", unit="ns"),
        "value": rng.random(n),
        "count": rng.integers(0, 1000, n),
        "name": pd.Series([f"n{i % 17}" for i in range(n)], dtype="str"),
    })


@pytest.fixture
def file_repo(tmp_path: Path) -> Repo:
    """A fresh repository in a folder (usable by worker processes)."""
    return Repo(str(tmp_path / "repo"))


def _parts(frames: list[pd.DataFrame]) -> dd.DataFrame:
    """A dask frame whose partitions are exactly ``frames``, in order."""
    return dd.from_map(lambda f: f, frames, meta=frames[0].iloc[:0],
                       enforce_metadata=False)


def _boom(i: int, folder: str, stored: int) -> pd.DataFrame:
    """Partition ``i`` of a frame whose partition 0 fails once the others are stored.

    ``stored`` is the number of files in the repository ``folder`` before the write;
    partitions 1 to 5 each store at least one segment (their random values).
    """
    if i == 0:
        pod = Repo(folder).pod
        wait_until(lambda: len(pod.walk()) >= stored + 5, timeout=120)
        raise RuntimeError("partition 0 could not be loaded")
    return make_frame(20_000, start=f"2021-0{i + 1}-01", seed=i).set_index("timestamp")


#: the divisions of the frame _boom builds: ordered partitions, so no pre-pass runs
BOOM_DIVISIONS = tuple(pd.Timestamp(f"2021-0{i + 1}-01") for i in range(6)) + (
    pd.Timestamp("2021-06-01") + pd.Timedelta(minutes=19_999),)


def test_write_equals_compute(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    frame = make_frame(50_000)
    ddf = dd.from_pandas(frame, npartitions=7)
    before = len(clct.changelog.log())
    revision = clct.series("dask").write(ddf)
    assert revision is not None
    assert len(clct.changelog.log()) == before + 1
    clct.series("pandas").write(ddf.compute())
    expected = clct.series("pandas").df()
    pd.testing.assert_frame_equal(clct.series("dask").df(), expected)
    pd.testing.assert_frame_equal(expected, frame)


def test_write_indexed_frame(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    frame = make_frame(10_000)
    ddf = dd.from_pandas(frame.set_index("timestamp"), npartitions=4)
    clct.series("a").write(ddf)
    pd.testing.assert_frame_equal(clct.series("a").df(), frame)


def test_write_on_every_backend(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    frame = make_frame(30_000)
    with dask.config.set(scheduler="threads"):
        clct.series("a").write(dd.from_pandas(frame, npartitions=5))
    pd.testing.assert_frame_equal(clct.series("a").df(), frame)


def test_write_replaces_only_its_range(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    old = make_frame(3_000)
    new = make_frame(1_000, start="2021-01-01T10:00", seed=1)
    for label in ("dask", "pandas"):
        clct.series(label).write(old)
    clct.series("dask").write(dd.from_pandas(new, npartitions=3),
                              stop="2021-01-02T12:00")
    clct.series("pandas").write(new, stop="2021-01-02T12:00")
    result = clct.series("dask").df()
    pd.testing.assert_frame_equal(result, clct.series("pandas").df())
    # rows before the write are kept, rows up to the stop bound are replaced
    assert len(result) == 600 + 1_000 + (3_000 - 2_161)


def test_overlapping_partitions_refused(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    series = clct.series("a")
    series.write(make_frame(100))
    log = clct.changelog.log()
    frames = [make_frame(100, "2021-03-01"), make_frame(100, "2021-03-01T01:00"),
              make_frame(100, "2021-03-02")]
    with pytest.raises(SchemaError, match=r"partition 1 .*partition 0 ends"):
        series.write(_parts(frames))
    assert clct.changelog.log() == log
    pd.testing.assert_frame_equal(series.df(), make_frame(100))


def test_partitions_out_of_order_refused(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    frames = [make_frame(100, "2021-03-02"), make_frame(100, "2021-03-01")]
    with pytest.raises(SchemaError, match=r"partition 1 \(index 2021-03-01T00:00"):
        clct.series("a").write(_parts(frames))
    assert clct.changelog.log() == []


def test_unsorted_partition_refused(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    bad = make_frame(100, "2021-03-02").iloc[::-1]
    frames = [make_frame(100, "2021-03-01"), bad]
    with pytest.raises(SchemaError, match=r"partition 1: the index must be sorted"):
        clct.series("a").write(_parts(frames))
    assert clct.changelog.log() == []


def test_sort_option(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    frame = make_frame(5_000)
    shuffled = frame.sample(frac=1, random_state=3)
    ddf = dd.from_pandas(shuffled, npartitions=4, sort=False)
    with pytest.raises(SchemaError):
        clct.series("a").write(ddf)
    write_series(clct.series("a"), ddf, sort=True)
    pd.testing.assert_frame_equal(clct.series("a").df(), frame)


def test_sort_option_multi_column_index(file_repo: Repo, scheduler: str) -> None:
    schema = Schema(day="date*", sensor="int*", value="float")
    clct = file_repo.create_collection(schema, "c")
    days = np.repeat(np.arange("2021-01-01", "2021-02-10", dtype="datetime64[D]"), 25)
    frame = pd.DataFrame({"day": days, "sensor": np.tile(np.arange(25), 40),
                          "value": np.arange(1_000, dtype=float)})
    ddf = dd.from_pandas(frame.sample(frac=1, random_state=1), npartitions=5, sort=False)
    write_series(clct.series("a"), ddf, sort=True)
    result = clct.series("a").df()
    assert result["value"].tolist() == frame["value"].tolist()
    assert result["sensor"].tolist() == frame["sensor"].tolist()


def _settled_files(repo: Repo) -> set[str]:
    """The repository's files once no new one has appeared for half a second."""
    before = set(repo.pod.walk())
    while True:
        time.sleep(0.5)
        after = set(repo.pod.walk())
        if after == before:
            return after
        before = after


def test_failing_partition_writes_no_revision(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    series = clct.series("a")
    series.write(make_frame(100))
    log = clct.changelog.log()
    files = set(file_repo.pod.walk())
    ddf = dd.from_map(_boom, range(6), args=[file_repo.pod.root, len(files)],
                      meta=make_frame(0).set_index("timestamp"), divisions=BOOM_DIVISIONS,
                      enforce_metadata=False)
    with pytest.raises(RuntimeError, match="partition 0 could not be loaded"):
        series.write(ddf)
    assert clct.changelog.log() == log
    pd.testing.assert_frame_equal(series.df(), make_frame(100))
    # the partitions that succeeded left their segments behind, for gc to collect; tasks
    # already running when partition 0 failed may still be storing theirs
    orphans = _settled_files(file_repo) - files
    assert len(orphans) >= 5  # at least the random values of partitions 1 to 5
    assert all(len(path.split("/")) == 3 for path in orphans)
    assert file_repo.gc(timeout=0).soft_deleted >= len(orphans)
    assert file_repo.gc(timeout=0).removed >= len(orphans)
    assert not orphans & set(file_repo.pod.walk())
    pd.testing.assert_frame_equal(series.df(), make_frame(100))


def test_unordered_partitions_refused_before_storing(file_repo: Repo) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    files = set(file_repo.pod.walk())
    parts = [make_frame(5_000, start="2021-03-01", seed=1), make_frame(5_000, seed=2)]
    ddf = dd.from_map(lambda frame: frame, parts, meta=make_frame(0), enforce_metadata=False)
    with dask.config.set(scheduler="sync"), pytest.raises(SchemaError, match="partition 1"):
        clct.series("a").write(ddf)
    assert set(file_repo.pod.walk()) == files


def test_empty_frame_writes_nothing(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    ddf = dd.from_pandas(make_frame(0), npartitions=1)
    assert clct.series("a").write(ddf) is None
    assert clct.changelog.log() == []


def test_write_inside_multi_joins_the_block(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    with clct.multi():
        clct.series("a").write(dd.from_pandas(make_frame(1_000), npartitions=3))
        clct.series("b").write(make_frame(10))
    assert len(clct.changelog.log()) == 1
    assert clct.ls() == ["a", "b"]
    assert len(clct.series("a")) == 1_000


# -- write_many ----------------------------------------------------------------------
def backfill_day(day: int, countries: int = 12, rows: int = 300) -> pd.DataFrame:
    """One day of every country: the usual shape of a backfill file."""
    rng = np.random.default_rng(day)
    start = np.datetime64("2021-01-01", "ns") + np.timedelta64(day, "D")
    stamps = start + np.arange(rows) * np.timedelta64(1, "m")
    return pd.DataFrame({
        "country": pd.Series(np.repeat([f"c{i:02d}" for i in range(countries)], rows),
                             dtype="str"),
        "timestamp": np.tile(stamps, countries),
        "value": rng.random(countries * rows),
        "count": rng.integers(0, 9, countries * rows),
        "name": pd.Series(["x"] * (countries * rows), dtype="str"),
    })


def test_write_many_equals_pandas(file_repo: Repo, scheduler: str) -> None:
    dask_clct, pandas_clct = file_repo.create_collection(SCHEMA, "dask", "pandas")
    ddf = dd.from_map(backfill_day, range(8), meta=backfill_day(0).iloc[:0],
                      enforce_metadata=False)
    revision = dask_clct.write_many(ddf, by="country")
    assert revision is not None
    assert len(dask_clct.changelog.log()) == 1
    pandas_clct.write_many(pd.concat([backfill_day(d) for d in range(8)]), by="country")
    assert dask_clct.ls() == pandas_clct.ls() == [f"c{i:02d}" for i in range(12)]
    for label in dask_clct.ls():
        result = dask_clct.series(label).df()
        assert len(result) == 8 * 300
        pd.testing.assert_frame_equal(result, pandas_clct.series(label).df())


def test_write_many_overlap_refused(file_repo: Repo, scheduler: str) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    ddf = dd.from_map(backfill_day, [0, 1, 1], meta=backfill_day(0).iloc[:0],
                      enforce_metadata=False)
    with pytest.raises(SchemaError, match=r"series 'c00': partition 2 .*partition 1 ends"):
        clct.write_many(ddf, by="country")
    assert clct.changelog.log() == []


def test_write_many_needs_the_by_column(file_repo: Repo) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    ddf = dd.from_pandas(backfill_day(0), npartitions=2)
    with pytest.raises(SchemaError, match="no column 'region'"):
        clct.write_many(ddf, by="region")


def test_write_needs_a_dask_dataframe(file_repo: Repo) -> None:
    clct = file_repo.create_collection(SCHEMA, "c")
    ddf = dd.from_pandas(make_frame(10), npartitions=1)
    with pytest.raises(SchemaError, match="cannot write a Series: pass a dask DataFrame"):
        clct.series("a").write(ddf["value"])
    with pytest.raises(SchemaError, match="pass a dask DataFrame"):
        clct.write_many(ddf["value"], by="name")
