"""The fast paths of dask writes: the order check inside the write graph, one thread per task.

A frame persisted on a cluster has its partitions checked in the write graph itself (one
small task per partition, then one check the writes wait for); any other frame of unknown
divisions is checked by a pass over its index columns first. Either way a frame out of
order stores nothing. Tasks of ``distributed`` workers code their segments on their own
thread. Runs on a ``LocalCluster`` of two worker processes.
"""

from __future__ import annotations

import threading
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from conftest_dask import cluster_client, local_cluster  # noqa: F401
from distributed import Client, get_task_stream, wait

from lakota_dask import Repo, Schema
from lakota_dask.errors import SchemaError
from lakota_dask.parallel import held_by_workers, in_worker_task
from lakota_dask.utils import POOL_NAME, one_thread, thread_map

SCHEMA = Schema(timestamp="timestamp*", value="float")


def prices(n: int, start: str = "2021-01-01", seed: int = 0) -> pd.DataFrame:
    """``n`` seconds of (timestamp, value) rows."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"timestamp": pd.date_range(start, periods=n, freq="s", unit="ns"),
                         "value": rng.random(n)})


def persisted(client: Client, frames: list[pd.DataFrame]) -> dd.DataFrame:
    """A frame held by the workers whose partitions are ``frames`` (unknown divisions)."""
    ddf = dd.from_map(lambda f: f, frames, meta=frames[0].iloc[:0], enforce_metadata=False)
    ddf = client.persist(ddf)
    wait(ddf)
    return ddf


def task_prefixes(stream: list[dict]) -> set[str]:
    """The names of the tasks of a task stream, without their token."""
    keys = [t["key"][0] if isinstance(t["key"], tuple) else t["key"] for t in stream]
    return {key.rsplit("-", 1)[0] for key in keys}


def test_persisted_frame_checked_in_the_write_graph(cluster_client: Client,
                                                    tmp_path: Path) -> None:
    frame = prices(30_000)
    ddf = persisted(cluster_client, [frame[:10_000], frame[10_000:20_000], frame[20_000:]])
    assert held_by_workers(ddf)
    series = Repo(str(tmp_path / "repo")).create_collection(SCHEMA, "c").series("a")
    with get_task_stream(cluster_client) as stream:
        series.write(ddf)
    assert {"lakota-bounds", "lakota-order", "lakota-write"} <= task_prefixes(stream.data)
    pd.testing.assert_frame_equal(series.df(), frame)


def test_persisted_frame_out_of_order_stores_nothing(cluster_client: Client,
                                                     tmp_path: Path) -> None:
    repo = Repo(str(tmp_path / "repo"))
    series = repo.create_collection(SCHEMA, "c").series("a")
    series.write(prices(10))
    files = set(repo.pod.walk())
    ddf = persisted(cluster_client, [prices(5_000, start="2021-03-01", seed=1),
                                     prices(5_000, seed=2)])
    with pytest.raises(SchemaError, match="partition 1 .* Nothing was published"):
        series.write(ddf)
    assert set(repo.pod.walk()) == files
    pd.testing.assert_frame_equal(series.df(), prices(10))


def test_overlapping_persisted_partitions_refused(cluster_client: Client,
                                                  tmp_path: Path) -> None:
    repo = Repo(str(tmp_path / "repo"))
    series = repo.create_collection(SCHEMA, "c").series("a")
    files = set(repo.pod.walk())
    frame = prices(6_000)
    ddf = persisted(cluster_client, [frame[:4_000], frame[3_000:]])
    with pytest.raises(SchemaError, match="does not start after partition 0"):
        series.write(ddf)
    assert set(repo.pod.walk()) == files
    assert len(series) == 0


def test_lazy_frame_out_of_order_checked_first(cluster_client: Client,
                                               tmp_path: Path) -> None:
    repo = Repo(str(tmp_path / "repo"))
    series = repo.create_collection(SCHEMA, "c").series("a")
    files = set(repo.pod.walk())
    parts = [prices(5_000, start="2021-03-01", seed=1), prices(5_000, seed=2)]
    ddf = dd.from_map(lambda f: f, parts, meta=parts[0].iloc[:0], enforce_metadata=False)
    assert not held_by_workers(ddf)
    with get_task_stream(cluster_client) as stream, pytest.raises(SchemaError,
                                                                 match="partition 1"):
        series.write(ddf)
    assert "lakota-write" not in task_prefixes(stream.data)
    assert set(repo.pod.walk()) == files


def test_held_by_workers(cluster_client: Client) -> None:
    frame = prices(100)
    lazy = dd.from_pandas(frame, npartitions=4, sort=False)
    held = cluster_client.persist(lazy)
    wait(held)
    assert held_by_workers(held)
    assert not held_by_workers(lazy)
    # a transformed frame still has tasks to run on every partition
    assert not held_by_workers(held.map_partitions(lambda f: f.assign(value=f.value * 2)))


def test_worker_tasks_code_on_their_own_thread(cluster_client: Client,
                                               tmp_path: Path) -> None:
    assert not in_worker_task()
    assert all(cluster_client.gather(cluster_client.map(lambda _: in_worker_task(),
                                                        range(4), pure=False)))
    frame = prices(400_000)  # two partitions of segments large enough to code in parallel
    ddf = persisted(cluster_client, [frame[:200_000], frame[200_000:]])
    series = Repo(str(tmp_path / "repo")).create_collection(SCHEMA, "c").series("a")
    series.write(ddf)
    pools = cluster_client.run(lambda: [t.name for t in threading.enumerate()
                                        if t.name.startswith(POOL_NAME)])
    assert pools and not any(pools.values())
    pd.testing.assert_frame_equal(series.df(), frame)


def test_one_thread_keeps_thread_map_inline() -> None:
    here = threading.current_thread().name
    with one_thread():
        assert thread_map(lambda _: threading.current_thread().name, range(16)) == [here] * 16
        with one_thread():
            pass
        # leaving a nested block keeps the outer one in force
        assert thread_map(lambda _: threading.current_thread().name, range(4)) == [here] * 4
    assert thread_map(lambda i: i * 2, range(5)) == [0, 2, 4, 6, 8]


def test_threaded_scheduler_unchanged(tmp_path: Path) -> None:
    frame = prices(20_000)
    ddf = dd.from_pandas(frame, npartitions=3, sort=False)
    series = Repo(str(tmp_path / "repo")).create_collection(SCHEMA, "c").series("a")
    with dask.config.set(scheduler="threads"):
        assert not held_by_workers(ddf)
        series.write(ddf)
    pd.testing.assert_frame_equal(series.df(), frame)
