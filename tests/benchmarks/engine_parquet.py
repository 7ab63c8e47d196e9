"""Adapter for pandas + parquet (pyarrow, zstd), read in parallel with dask for W5.

Layout: a series is a folder of files ``part-NNNNN.parquet`` (W1 writes one file of
row groups of 1,000,000 rows; each W3 append adds a file). A collection (W2, W4) is
one dataset partitioned by label (``label=<value>/`` folders, one file per series
after a backfill), and reading one series reads its folder only.
"""

import os

import dask.dataframe as dd
import pandas as pd

from workloads import bytes_under

OPTIONS = dict(engine="pyarrow", compression="zstd", index=False)
ROW_GROUP = 1_000_000


class Engine:
    """Parquet files under ``path``: ``w/`` for the series, ``many/`` for the collection."""

    prepare = staticmethod(lambda frame: frame)
    prepare_labelled = staticmethod(lambda frame: frame)
    #: how a write reaches the disk (printed with the table)
    durability = "not synced: pandas.to_parquet writes without fsync"

    def __init__(self, path):
        self.path = path
        self.series = os.path.join(path, "w")
        self.many = os.path.join(path, "many")
        os.makedirs(self.series)
        self.parts = 0

    def write_frame(self, frame):
        """Write ``frame`` as the next file of the series."""
        name = os.path.join(self.series, f"part-{self.parts:05d}.parquet")
        frame.to_parquet(name, row_group_size=ROW_GROUP, **OPTIONS)
        self.parts += 1

    append = write_frame

    def read_all(self):
        """Read every file of the series into pandas."""
        return pd.read_parquet(self.series, engine="pyarrow")

    def read_range(self, start, stop):
        """Read ``[start, stop]`` with a pushed-down filter (row-group statistics)."""
        bounds = [("timestamp", ">=", start), ("timestamp", "<=", stop)]
        return pd.read_parquet(self.series, engine="pyarrow", filters=bounds)

    def backfill(self, frame, by):
        """Write a dataset partitioned by ``by``: one folder (one file) per series."""
        frame.to_parquet(self.many, partition_cols=[by], **OPTIONS)

    def write_one_series(self, label, frame):
        """Write ``frame`` as the folder of the new series ``label``."""
        folder = os.path.join(self.many, f"label={label}")
        os.makedirs(folder)
        frame.to_parquet(os.path.join(folder, "part-00000.parquet"), **OPTIONS)

    def read_series(self, label):
        """Read the folder of series ``label`` into pandas."""
        return pd.read_parquet(os.path.join(self.many, f"label={label}"), engine="pyarrow")

    def ddf_sum(self):
        """``dask.dataframe.read_parquet`` (one partition per row group), sum of value."""
        ddf = dd.read_parquet(self.series, split_row_groups=True)
        return ddf.value.sum().compute()

    def bytes_on_disk(self):
        """Bytes used by the files."""
        return bytes_under(self.path)
