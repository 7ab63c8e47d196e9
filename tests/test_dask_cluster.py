"""The dask engine on real clusters: worker processes, the ``dask`` commands, lost workers.

``run_tasks`` (the maintenance engine) is checked on every kind of scheduler; the write
and read paths are checked on a cluster started by ``dask scheduler`` / ``dask worker``;
one test kills a worker process in the middle of a backfill.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from conftest_dask import (  # noqa: F401
    cli_cluster,
    cluster_client,
    local_cluster,
    scheduler,
    wait_until,
)
from distributed import Client

from lakota_dask import Repo, Schema
from lakota_dask.errors import SchedulerError
from lakota_dask.parallel import run_tasks, uses_worker_processes
from lakota_dask.storage import Pod

SCHEMA = Schema(timestamp="timestamp*", value="float")
ROWS = 2_000
COUNTRIES = 5


def day(number: int, calls: str | None = None, pause: float = 0.0) -> pd.DataFrame:
    """Day ``number`` of every country; records the call in folder ``calls`` if given."""
    if calls is not None:
        Path(calls, f"{number}-{uuid.uuid4().hex}").touch()
    time.sleep(pause)
    rng = np.random.default_rng(number)
    start = np.datetime64("2020-01-01", "ns") + np.timedelta64(number, "D")
    stamps = start + np.arange(ROWS) * np.timedelta64(30, "s")
    return pd.DataFrame({
        "country": pd.Series(np.repeat([f"k{i}" for i in range(COUNTRIES)], ROWS),
                             dtype="str"),
        "timestamp": np.tile(stamps, COUNTRIES),
        "value": rng.random(COUNTRIES * ROWS),  # random: stored as files, not embedded
    })


def days(numbers: range, **options: object) -> dd.DataFrame:
    """A backfill frame with one partition per day."""
    return dd.from_map(day, numbers, meta=day(0).iloc[:0], enforce_metadata=False,
                       **options)


def expected(numbers: range, country: str) -> pd.DataFrame:
    """What series ``country`` holds once ``days(numbers)`` is written."""
    rows = pd.concat([day(n) for n in numbers])
    return rows[rows.country == country].drop(columns="country").reset_index(drop=True)


def copy_file(path: str, source: Pod, target: Pod) -> int:
    """A maintenance-like task: copy one file between pods; returns its size."""
    data = source.read(path)
    target.write(path, data)
    return len(data)


def _copy_with_run_tasks(tmp_path: Path) -> None:
    source, target = Repo(str(tmp_path / "a")).pod, Repo(str(tmp_path / "b")).pod
    files = {f"f{i:02d}": bytes([i]) * (i + 1) for i in range(30)}
    source.write_many(files)
    sizes = run_tasks(copy_file, sorted(files), source, source, target)
    assert sizes == [i + 1 for i in range(30)]  # in the order of the items
    assert target.read_many(sorted(files)) == [files[p] for p in sorted(files)]


def test_run_tasks(tmp_path: Path, scheduler: str) -> None:
    assert uses_worker_processes() == (scheduler == "processes")
    _copy_with_run_tasks(tmp_path)
    assert run_tasks(copy_file, [], Repo(str(tmp_path / "a")).pod) == []


def test_memory_repo_refused_by_worker_processes(cluster_client: Client) -> None:
    repo = Repo("memory://")
    clct = repo.create_collection(SCHEMA, "c")
    frame = days(range(2))
    calls = [
        lambda: clct.series("k0").write(frame.drop(columns="country")),
        lambda: clct.write_many(frame, by="country"),
        lambda: clct.series("k0").ddf(),
        lambda: clct.ddf(),
        lambda: run_tasks(copy_file, ["x"], repo.pod, repo.pod, repo.pod),
    ]
    for call in calls:
        with pytest.raises(SchedulerError, match="memory.*worker processes.*threaded"):
            call()
    assert clct.changelog.log() == []
    # threads share the repository's memory: the same client, another scheduler
    with dask.config.set(scheduler="threads"):
        clct.write_many(frame, by="country")
        assert len(clct.series("k0").ddf().compute()) == 2 * ROWS


def test_cli_cluster(cli_cluster: str, tmp_path: Path) -> None:
    repo = Repo(str(tmp_path / "repo"))
    clct = repo.create_collection(SCHEMA, "c")
    with Client(cli_cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 1
        assert uses_worker_processes()
        clct.write_many(days(range(6)), by="country")
        assert len(clct.changelog.log()) == 1
        series = clct.series("k3")
        ddf = series.ddf(partition_rows=ROWS)
        assert ddf.npartitions == 6 and ddf.known_divisions
        values = ddf.compute()
        clct.series("copy").write(ddf)
        _copy_with_run_tasks(tmp_path)
        with pytest.raises(SchedulerError):
            Repo("memory://").create_collection(SCHEMA, "m").ddf()
    pd.testing.assert_frame_equal(series.df(), expected(range(6), "k3"))
    pd.testing.assert_frame_equal(values, series.df().set_index("timestamp"))
    pd.testing.assert_frame_equal(clct.series("copy").df(), series.df())


def test_worker_killed_mid_backfill(cluster_client: Client, tmp_path: Path) -> None:
    repo = Repo(str(tmp_path / "repo"))
    clct = repo.create_collection(SCHEMA, "c")
    calls = tmp_path / "calls"
    calls.mkdir()
    n = 30
    frame = days(range(n), calls=str(calls), pause=0.2)
    victim = next(iter(cluster_client.run(os.getpid).values()))
    killed, finished = threading.Event(), threading.Event()

    def kill_when_half_done() -> None:
        # by then several partitions are stored and held by each worker
        half = wait_until(lambda: finished.is_set() or len(os.listdir(calls)) >= n // 2,
                          timeout=240)
        if half and not finished.is_set():
            os.kill(victim, signal.SIGKILL)
            killed.set()

    killer = threading.Thread(target=kill_when_half_done)
    killer.start()
    try:
        revision = clct.write_many(frame, by="country")
    finally:
        finished.set()
        killer.join()
    assert killed.is_set()
    # the victim's finished and running partitions were computed again
    assert len(os.listdir(calls)) > n
    assert [r.child for r in clct.changelog.log()] == [revision.child]
    assert clct.ls() == [f"k{i}" for i in range(COUNTRIES)]
    for country in clct.ls():
        result = clct.series(country).df()
        assert len(result) == n * ROWS  # every row, once
        pd.testing.assert_frame_equal(result, expected(range(n), country))
    # the nanny restarts the killed worker: leave the shared cluster whole
    cluster_client.wait_for_workers(2, timeout=120)
