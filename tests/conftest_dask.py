"""Fixtures of the dask engine tests: schedulers and real clusters with worker processes.

Test modules import the fixtures they use from here (pytest finds fixtures in a module's
namespace). ``local_cluster`` is module-scoped: starting worker processes takes seconds,
so the tests of one module share one cluster. ``cli_cluster`` starts a scheduler and a
worker with the ``dask scheduler`` / ``dask worker`` commands, as a deployment would.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dask
import pytest
from distributed import Client, LocalCluster

TESTS = Path(__file__).resolve().parent
DASK = Path(sys.executable).parent / "dask"
SCHEDULERS = ["sync", "threads", "processes"]
START_TIMEOUT = 60


def start_local_cluster(n_workers: int = 2) -> LocalCluster:
    """A cluster of ``n_workers`` worker processes (one thread each) on this machine."""
    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=logging.CRITICAL)


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[LocalCluster]:
    """Two worker processes, shared by the tests of one module."""
    with start_local_cluster() as cluster:
        yield cluster


@pytest.fixture
def cluster_client(local_cluster: LocalCluster) -> Iterator[Client]:
    """A client of ``local_cluster``, the default scheduler while the test runs."""
    with Client(local_cluster) as client:
        yield client


@pytest.fixture(params=SCHEDULERS)
def scheduler(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test on dask's synchronous, threaded, then worker-process scheduler."""
    if request.param == "processes":
        request.getfixturevalue("cluster_client")
        yield request.param
        return
    with dask.config.set(scheduler=request.param):
        yield request.param


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cli_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a scheduler and one worker started by the ``dask`` commands."""
    logs = tmp_path_factory.mktemp("cli-cluster")
    address = f"tcp://127.0.0.1:{_free_port()}"
    # the worker imports task functions of the test modules by name, as a deployed
    # worker imports the pipelines installed beside it
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(TESTS), os.environ.get("PYTHONPATH")]))}
    commands = [
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--no-dashboard"],
        [str(DASK), "worker", address, "--nthreads", "2", "--no-nanny", "--no-dashboard",
         "--death-timeout", "30"],
    ]
    processes: list[subprocess.Popen] = []
    try:
        for i, command in enumerate(commands):
            with open(logs / f"{i}.log", "wb") as log:
                processes.append(subprocess.Popen(command, env=env, stdout=log,
                                                  stderr=subprocess.STDOUT))
        with Client(address, timeout=START_TIMEOUT) as client:
            client.wait_for_workers(1, timeout=START_TIMEOUT)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def wait_until(condition: Callable[[], bool], timeout: float = 30.0,
               step: float = 0.02) -> bool:
    """Poll ``condition()`` until it is true; whether it became true in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
