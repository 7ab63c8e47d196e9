"""The seed README's quickstart, on every backend."""

from __future__ import annotations

import pandas as pd

from lakota_dask import Repo, Schema


def test_quickstart_prints_three_rows(repo: Repo) -> None:
    ts_schema = Schema(timestamp="timestamp*", value="float")
    clct = repo.create_collection(ts_schema, "temperature")
    series = clct.series("Brussels")
    series.write({
        "timestamp": ["2020-01-01T00:00", "2020-01-02T00:00", "2020-01-03T00:00",
                      "2020-01-04T00:00"],
        "value": [1, 2, 3, 4],
    })
    df = series[:"2020-01-03"].df()
    assert str(df) == (
        "   timestamp  value\n"
        "0 2020-01-01    1.0\n"
        "1 2020-01-02    2.0\n"
        "2 2020-01-03    3.0"
    )
    assert df["timestamp"].dtype == "datetime64[ns]"
    assert isinstance(df, pd.DataFrame)
