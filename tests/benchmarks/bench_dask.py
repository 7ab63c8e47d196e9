"""The Dask engine side by side: scaling, a dask backfill and lazy reads against parquet.

Run from the project root (not part of the test suite)::

    .venv/bin/python tests/benchmarks/bench_dask.py [--scale 0.1] [--repeat 3]

Prints one Markdown table:

- 10,000,000 rows (timestamp + float) written from a 20-partition dask DataFrame held by
  the workers, on a LocalCluster of 1 and of 2 worker processes (one thread each);
- a backfill of 2,000 series x 5,000 rows with ``collection.write_many`` on a dask frame
  of 20 partitions (100 series each), on the 2-worker cluster;
- ``series.ddf().value.sum().compute()`` and the sum of a 1% ``.loc`` slice, against
  ``dask.dataframe.read_parquet`` of the same data written by ``to_parquet`` (pyarrow,
  zstd, indexed by timestamp), both on dask's threaded scheduler.

Repositories are local folders in durable mode (the default).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

import dask
import dask.dataframe as dd
import numpy as np
from distributed import Client, LocalCluster, wait

sys.path.insert(0, os.path.dirname(__file__))
from workloads import (  # noqa: E402
    labelled_frame,
    median_time,
    price_frame,
    scaled,
    worker_scaling,
)

from lakota_dask import Repo, Schema  # noqa: E402

SCHEMA = Schema(timestamp="timestamp*", value="float")


def fresh_series(base: str, name: str):
    """A new series in a new repository folder under ``base``."""
    path = os.path.join(base, name)
    shutil.rmtree(path, ignore_errors=True)
    return Repo(path).create_collection(SCHEMA, "bench").series("s")


def backfill(base: str, series: int, rows: int, repeat: int) -> float:
    """Time of a write_many of ``series`` x ``rows`` on a 2-worker cluster."""
    frame = labelled_frame(series, rows)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        ddf = client.persist(dd.from_pandas(frame, npartitions=20, sort=False))
        wait(ddf)

        def run() -> None:
            path = os.path.join(base, "backfill")
            shutil.rmtree(path, ignore_errors=True)
            Repo(path).create_collection(SCHEMA, "bench").write_many(ddf, by="label")

        run()  # warm-up
        return median_time(run, repeat)


def reads(base: str, frame, repeat: int) -> dict[str, float]:
    """Full sum and 1% slice sum through ddf() and through read_parquet."""
    series = fresh_series(base, "reads")
    series.write(frame)
    parquet = os.path.join(base, "parquet")
    shutil.rmtree(parquet, ignore_errors=True)
    dd.from_pandas(frame.set_index("timestamp"), npartitions=20).to_parquet(
        parquet, compression="zstd", engine="pyarrow")
    expected = frame.value.sum()
    lo = frame.timestamp.iloc[len(frame) // 2]
    hi = frame.timestamp.iloc[len(frame) // 2 + len(frame) // 100]
    out = {}
    with dask.config.set(scheduler="threads"):
        readers = {
            "lakota_dask": lambda: series.ddf(),
            "read_parquet": lambda: dd.read_parquet(parquet, index="timestamp",
                                                    calculate_divisions=True),
        }
        for name, open_frame in readers.items():
            total = open_frame().value.sum().compute()
            if not np.isclose(total, expected):
                raise AssertionError(f"{name}: sum {total} != {expected}")
            out[f"sum {name}"] = median_time(lambda: open_frame().value.sum().compute(), repeat)
            out[f"slice {name}"] = median_time(
                lambda: open_frame().loc[lo:hi].value.sum().compute(), repeat)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size factor (1 = full)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--tmp", default=None, help="folder for the repositories")
    args = parser.parse_args(argv)
    base = tempfile.mkdtemp(prefix="bench-dask-", dir=args.tmp)
    try:
        frame = price_frame(scaled(10_000_000, args.scale))
        scale = worker_scaling(frame, lambda: fresh_series(base, "w").write, args.repeat)
        fill = backfill(base, scaled(2_000, args.scale), 5_000, args.repeat)
        read = reads(base, frame, args.repeat)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rows = len(frame)
    print(f"rows={rows:,} scale={args.scale} repeat={args.repeat} cores={os.cpu_count()} "
          f"load={os.getloadavg()[0]:.1f} durable=yes")
    print("| measure | lakota_dask | reference | ratio |")
    print("|---|---|---|---|")
    print(f"| write {rows:,} rows, 20 partitions: 2 workers vs 1 | {scale[2]:.2f} s | "
          f"{scale[1]:.2f} s | {scale[1] / scale[2]:.2f}x faster |")
    print(f"| backfill {scaled(2_000, args.scale):,} series x 5,000 rows (write_many, 2 workers)"
          f" | {fill:.2f} s | - | - |")
    for what in ("sum", "slice"):
        mine, ref = read[f"{what} lakota_dask"], read[f"{what} read_parquet"]
        label = "ddf().value.sum()" if what == "sum" else "ddf().loc[1% slice].value.sum()"
        print(f"| {label} vs read_parquet | {mine * 1000:.0f} ms | {ref * 1000:.0f} ms | "
              f"{ref / mine:.2f}x faster |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
