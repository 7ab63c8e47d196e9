"""S3 next to a local folder: write/read throughput of one series and its request counts.

    .venv/bin/python tests/benchmarks/bench_s3.py [--rows 1000000] [--repeat 3]

Starts a moto S3 server on 127.0.0.1 (a free port) in a subprocess, so that the server's
CPU is not charged to the client's interpreter, then times, on each storage:

- write: one ``series.write`` of ``--rows`` rows (timestamp index + float) into a fresh
  collection;
- cold read: ``series.df()`` from a new ``Repo`` object (nothing cached in the process);
- warm read: ``series.df()`` through a cache chain ``[memory://, remote]`` already filled.

Request counts are the ``lakota_dask`` DEBUG lines (one per storage operation; on S3 one
line is one HTTP request, see ``S3Pod``). The local folder runs ``durable=True`` (the
default). Figures are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd

from lakota_dask import Repo, Schema
from lakota_dask.utils import logger

SCHEMA = Schema(timestamp="timestamp*", value="float")


class Requests(logging.Handler):
    """Counts the library's storage operations by verb, for the remote only."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.verbs: Counter[str] = Counter()
        self.prefix = ""

    def emit(self, record: logging.LogRecord) -> None:
        verb, where = record.getMessage().split()[:2]
        if where.startswith(self.prefix):
            self.verbs[verb] += 1

    def take(self) -> str:
        """The counts since the last call, as ``LIST 1, READ 3``."""
        out = ", ".join(f"{verb} {n}" for verb, n in sorted(self.verbs.items()))
        self.verbs.clear()
        return out or "-"


def start_moto() -> tuple[subprocess.Popen, str]:
    """A moto server in a subprocess on a free port; returns it and its endpoint."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1",
         "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(600):  # importing moto takes a few seconds
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the moto server did not start")


def timed(func: Callable[[], object]) -> float:
    """Seconds taken by ``func()``."""
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def frame(rows: int) -> pd.DataFrame:
    """``rows`` rows: one per second from 2020, random values."""
    stamps = pd.date_range("2020-01-01", periods=rows, freq="s").astype("M8[ns]")
    return pd.DataFrame({"timestamp": stamps,
                         "value": np.random.default_rng(0).random(rows)})


def run(name: str, url: str, options: dict, data: pd.DataFrame, counts: Requests,
        prefix: str) -> list[tuple[str, str, float, str]]:
    """Time write, cold read and warm read on one storage; one result per step."""
    counts.prefix = prefix
    mb = data.memory_usage(index=False).sum() / 1e6
    out = []
    repo = Repo(url, storage_options=options)
    series = repo.create_collection(SCHEMA, "bench").series("s")
    counts.take()
    seconds = timed(lambda: series.write(data))
    out.append((name, "write", seconds, counts.take()))
    cold = Repo(url, storage_options=options) / "bench"
    counts.take()
    seconds = timed(lambda: (cold / "s").df())
    out.append((name, "cold read", seconds, counts.take()))
    cached = Repo(["memory://", url], storage_options=options) / "bench"
    (cached / "s").df()
    counts.take()
    seconds = timed(lambda: (cached / "s").df())
    out.append((name, "warm read (memory cache)", seconds, counts.take()))
    return [(n, step, s, f"{mb / s:8.1f} MB/s", c) for n, step, s, c in out]


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = frame(args.rows)
    counts = Requests()
    logger.addHandler(counts)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logging.getLogger().addHandler(logging.NullHandler())  # silences the stderr fallback
    server, endpoint = start_moto()
    options = {"endpoint_url": endpoint, "key": "bench", "secret": "bench"}
    import s3fs

    best: dict[tuple[str, str], tuple] = {}
    try:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                bucket = f"bench-{uuid.uuid4().hex[:12]}"
                s3fs.S3FileSystem(**options).mkdir(bucket)
                results = run("local folder", os.path.join(tmp, "repo"), {}, data, counts,
                              tmp) + run("moto S3", f"s3://{bucket}/repo", options, data,
                                         counts, "s3://")
            for row in results:
                key = row[:2]
                if key not in best or row[2] < best[key][2]:
                    best[key] = row
    finally:
        server.terminate()
        server.wait()
    print(f"{args.rows:,} rows ({data.memory_usage(index=False).sum() / 1e6:.0f} MB in "
          f"memory), best of {args.repeat}")
    print(f"{'storage':<14}{'step':<26}{'seconds':>9}{'throughput':>15}   remote requests")
    for name, step, seconds, speed, verbs in best.values():
        print(f"{name:<14}{step:<26}{seconds:>9.3f}{speed:>15}   {verbs}")


if __name__ == "__main__":
    main()
