"""Series reads and writes on every backend, checked against a pandas model of the semantics.

The model: a series is a table keyed by its index; ``write(frame)`` replaces the closed range
``[first key, last key]`` of the frame (or ``[start, stop]`` with ``closed``) by the frame's
rows, ``delete(start, stop)`` removes a range, and reads return the keys of a range, sorted.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakota_dask import Repo, Schema
from lakota_dask.errors import SchemaError
from lakota_dask.segment import SEGMENT_ROWS

INT_SCHEMA = Schema(key="int*", value="float")


@pytest.fixture(params=["memory", "file"])
def backend(request: pytest.FixtureRequest) -> str:
    """Memory and local disk; S3 has its own suite (a fresh bucket costs seconds a test)."""
    return request.param
CLOSED = ["both", "left", "right", "neither"]


def ints(series, keys, tag: float = 0.0):
    """Write rows ``keys`` whose value is ``tag + key`` (so overwrites can be told apart)."""
    keys = list(keys)
    return series.write({"key": keys, "value": [tag + k for k in keys]})


def keys_of(series, **kw) -> list[int]:
    return series.frame(**kw)["key"].tolist()


def values_of(series, **kw) -> list[float]:
    return series.frame(**kw)["value"].tolist()


# -- the model ---------------------------------------------------------------------
def in_range(keys: pd.Index, start, stop, closed: str) -> np.ndarray:
    """Mask of ``keys`` inside the range, written from the definition of ``closed``."""
    mask = np.ones(len(keys), dtype=bool)
    if start is not None:
        mask &= (keys >= start) if closed in ("both", "left") else (keys > start)
    if stop is not None:
        mask &= (keys <= stop) if closed in ("both", "right") else (keys < stop)
    return mask


class Model:
    """A pandas Series standing for the stored series."""

    def __init__(self) -> None:
        self.data = pd.Series([], dtype=float, index=pd.Index([], dtype="int64"))

    def write(self, keys, values, start=None, stop=None, closed="both") -> None:
        if not len(keys) and start is None and stop is None:
            return  # an empty frame without bounds writes nothing
        # a bound taken from the frame is always included
        left = closed in ("both", "left") or start is None
        right = closed in ("both", "right") or stop is None
        start = keys[0] if start is None and len(keys) else start
        stop = keys[-1] if stop is None and len(keys) else stop
        closed = {(True, True): "both", (True, False): "left", (False, True): "right",
                  (False, False): "neither"}[(left, right)]
        self.delete(start, stop, closed)
        new = pd.Series(values, index=pd.Index(keys, dtype="int64"), dtype=float)
        self.data = pd.concat([self.data, new]).sort_index()

    def delete(self, start=None, stop=None, closed="both") -> None:
        self.data = self.data[~in_range(self.data.index, start, stop, closed)]

    def read(self, start=None, stop=None, closed="both") -> pd.Series:
        return self.data[in_range(self.data.index, start, stop, closed)]


def check(series, model: Model, start=None, stop=None, closed="both") -> None:
    expected = model.read(start, stop, closed)
    frame = series.frame(start=start, stop=stop, closed=closed)
    assert frame["key"].tolist() == expected.index.tolist()
    assert frame["value"].tolist() == expected.tolist()


# -- writes and reads ----------------------------------------------------------------
@pytest.fixture
def clct(repo: Repo):
    return repo.create_collection(INT_SCHEMA, "c")


@pytest.fixture
def series(clct):
    return clct / "s"


def test_write_dict_then_read_every_way(series) -> None:
    ints(series, range(10))
    df = series.df()
    assert list(df.columns) == ["key", "value"]
    assert df["key"].tolist() == list(range(10))
    assert df["value"].dtype == np.float64 and df["key"].dtype == np.int64
    frame = series.frame()
    assert frame["key"].dtype == np.int64 and frame["value"].tolist() == [float(k) for k in
                                                                          range(10)]
    assert series[2:4].df()["key"].tolist() == [2, 3, 4]
    assert series[:2].df()["key"].tolist() == [0, 1, 2]
    assert series[8:].df()["key"].tolist() == [8, 9]
    assert series[2:4].frame()["key"].tolist() == [2, 3, 4]
    assert len(series) == 10


def test_write_pandas_frame(series) -> None:
    frame = pd.DataFrame({"key": [3, 1 + 3, 9], "value": [0.5, 1.5, 2.5]})
    series.write(frame)
    pd.testing.assert_frame_equal(series.df(), frame)


def test_write_pandas_frame_with_named_index(series) -> None:
    frame = pd.DataFrame({"value": [0.5, 1.5]}, index=pd.Index([7, 8], name="key"))
    series.write(frame)
    assert series.frame()["key"].tolist() == [7, 8]
    assert values_of(series) == [0.5, 1.5]


@pytest.mark.parametrize(
    "closed, expected",
    [("both", [3, 4, 5]), ("left", [3, 4]), ("right", [4, 5]), ("neither", [4])],
)
def test_read_closed(series, closed: str, expected: list[int]) -> None:
    ints(series, range(10))
    assert keys_of(series, start=3, stop=5, closed=closed) == expected
    assert series.df(start=3, stop=5, closed=closed)["key"].tolist() == expected


@pytest.mark.parametrize(
    "closed, expected",
    [("both", [0, 1, 2]), ("left", [0, 1]), ("right", [0, 1, 2]), ("neither", [0, 1])],
)
def test_read_open_start_closed(series, closed: str, expected: list[int]) -> None:
    ints(series, range(5))
    assert keys_of(series, stop=2, closed=closed) == expected


def test_read_bounds_between_keys(series) -> None:
    ints(series, [0, 10, 20, 30])
    assert keys_of(series, start=5, stop=25) == [10, 20]
    assert keys_of(series, start=31) == []
    assert keys_of(series, stop=-1) == []
    assert keys_of(series, start=20, stop=10) == []


def test_select_limit_offset(series) -> None:
    ints(series, range(10))
    assert list(series.df(select="value").columns) == ["value"]
    assert list(series.df(select=["value", "key"]).columns) == ["value", "key"]
    assert keys_of(series, limit=3) == [0, 1, 2]
    assert keys_of(series, offset=8) == [8, 9]
    assert keys_of(series, offset=2, limit=2) == [2, 3]
    assert keys_of(series, start=5, offset=1, limit=2) == [6, 7]
    assert keys_of(series, limit=0) == []
    assert keys_of(series, offset=20) == []
    assert series.df(select="value", start=1, stop=2)["value"].tolist() == [1.0, 2.0]


def test_limit_offset_across_fragments(series) -> None:
    for lo in range(0, 20, 4):
        ints(series, range(lo, lo + 4))
    assert len(series.rows()[1]) == 5
    assert keys_of(series, offset=3, limit=6) == list(range(3, 9))
    assert keys_of(series, start=2, stop=17, closed="neither", offset=5, limit=4) == [8, 9, 10,
                                                                                     11]


def test_tail_and_len(series) -> None:
    assert len(series) == 0 and series.tail(3).empty
    ints(series, range(10))
    ints(series, range(10, 15))
    assert series.tail(3)["key"].tolist() == [12, 13, 14]
    assert series.tail(7)["key"].tolist() == list(range(8, 15))
    assert series.tail(100)["key"].tolist() == list(range(15))
    assert series.tail(0).empty
    assert len(series) == 15


def test_a_slice_bounds_len_tail_delete_and_paginate(series) -> None:
    ints(series, range(10))
    window = series[3:6]
    assert len(window) == 4 and len(series[20:]) == 0
    assert window.tail(2)["key"].tolist() == [5, 6]
    assert [p["key"].tolist() for p in window.paginate(3)] == [[3, 4, 5], [6]]
    window.delete()
    assert keys_of(series) == [0, 1, 2, 7, 8, 9]
    series[8:].delete(stop=8)
    assert keys_of(series) == [0, 1, 2, 7, 9]


def test_paginate(series) -> None:
    ints(series, range(10))
    ints(series, range(10, 13))
    pages = list(series.paginate(4))
    assert [p["key"].tolist() for p in pages] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11],
                                                   [12]]
    pages = list(series.paginate(3, start=2, stop=7, closed="right", select="key"))
    assert [p["key"].tolist() for p in pages] == [[3, 4, 5], [6, 7]]
    assert list((series.collection / "empty").paginate(3)) == []
    with pytest.raises(SchemaError, match="step"):
        list(series.paginate(0))


def test_time_travel_by_revision_and_datetime(series) -> None:
    first = ints(series, range(5))
    time.sleep(0.005)
    second = ints(series, range(3, 8), tag=100)
    third = series.delete(0, 1)
    assert keys_of(series, before=first) == [0, 1, 2, 3, 4]
    assert values_of(series, before=second) == [0.0, 1.0, 2.0, 103.0, 104.0, 105.0, 106.0, 107.0]
    assert keys_of(series, before=third) == [2, 3, 4, 5, 6, 7]
    assert keys_of(series, before=first.timestamp) == [0, 1, 2, 3, 4]
    assert keys_of(series, before=second.timestamp.replace(tzinfo=None)) == list(range(8))
    assert keys_of(series, before=datetime(2000, 1, 1, tzinfo=timezone.utc)) == []
    assert series.df(before=first, start=1, stop=2)["key"].tolist() == [1, 2]
    assert series.tail(1, before=first)["key"].tolist() == [4]


def test_delete_middle_edges_and_all(series) -> None:
    model = Model()
    ints(series, range(20))
    model.write(list(range(20)), [float(k) for k in range(20)])
    for start, stop, closed in [(5, 7, "both"), (0, 0, "both"), (19, 30, "both"),
                                (10, 12, "neither")]:
        series.delete(start, stop, closed)
        model.delete(start, stop, closed)
        check(series, model)
    assert keys_of(series) == [1, 2, 3, 4, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18]
    series.delete(stop=9)
    assert keys_of(series) == [10, 12, 13, 14, 15, 16, 17, 18]
    series.delete(start=16, closed="neither")
    assert keys_of(series) == [10, 12, 13, 14, 15, 16]
    series.delete()
    assert keys_of(series) == [] and series.label not in series.collection.ls()


def test_write_spilling_over_both_ends(series) -> None:
    ints(series, range(10, 20))
    ints(series, [5, 12, 25], tag=100)
    assert keys_of(series) == [5, 12, 25]
    assert values_of(series) == [105.0, 112.0, 125.0]


def test_write_over_one_end(series) -> None:
    ints(series, range(10, 20))
    ints(series, [5, 11], tag=100)
    ints(series, [18, 30], tag=200)
    assert keys_of(series) == [5, 11, 12, 13, 14, 15, 16, 17, 18, 30]
    assert values_of(series)[1:3] == [111.0, 12.0]


def test_short_middle_write_splits_a_segment_without_rewriting_it(repo: Repo, series) -> None:
    keys = np.arange(5000)
    series.write({"key": keys, "value": np.random.default_rng(0).random(5000)})
    before = series.frame()
    files = set(repo.pod.walk())
    (old_row,) = series.rows()[1]
    ints(series, [2000, 2001], tag=0.5)
    rows = series.rows()[1]
    assert len(rows) == 3
    assert rows[0].digests == rows[2].digests == old_row.digests
    assert (rows[0].offset, rows[0].length) == (0, 2000)
    assert (rows[2].offset, rows[2].length) == (2002, 2998)
    new_files = set(repo.pod.walk()) - files
    # only the new revision: the new two-row segment is embedded in it
    assert len(new_files) == 1 and new_files.pop().count(".") == 1
    after = series.frame()
    assert after["value"][2000:2002].tolist() == [2000.5, 2001.5]
    mask = (keys < 2000) | (keys > 2001)
    assert np.array_equal(after["value"][mask], before["value"][mask])


def test_adjacent_writes(series) -> None:
    ints(series, range(0, 5))
    ints(series, range(5, 10), tag=100)
    ints(series, range(-5, 0), tag=200)
    assert keys_of(series) == list(range(-5, 10))
    assert values_of(series, start=4, stop=5) == [4.0, 105.0]
    assert len(series.rows()[1]) == 3


@pytest.mark.parametrize(
    "closed, expected",
    [
        ("both", [0, 1, 2, 3, 8, 9]),          # [3, 7] replaced by the frame's 3
        ("left", [0, 1, 2, 3, 7, 8, 9]),       # [3, 7)
        ("right", [0, 1, 2, 3, 8, 9]),         # (2, 7]
        ("neither", [0, 1, 2, 3, 7, 8, 9]),    # (2, 7)
    ],
)
def test_write_with_open_ends(series, closed: str, expected: list[int]) -> None:
    ints(series, range(10))
    start = 3 if closed in ("both", "left") else 2
    series.write({"key": [3], "value": [-1.0]}, start=start, stop=7, closed=closed)
    assert keys_of(series) == expected
    assert values_of(series, start=3, stop=3) == [-1.0]


def test_write_with_bounds_wider_than_frame(series) -> None:
    ints(series, range(10))
    series.write({"key": [5], "value": [0.0]}, start=2)  # replaces [2, 5]
    assert keys_of(series) == [0, 1, 5, 6, 7, 8, 9]
    series.write({"key": [0], "value": [0.0]}, stop=1)  # replaces [0, 1]
    assert keys_of(series) == [0, 5, 6, 7, 8, 9]
    series.write({"key": [], "value": []}, start=4, stop=6)
    assert keys_of(series) == [0, 7, 8, 9]
    # the bound taken from the frame is included whatever ``closed`` says of the other
    series.write({"key": [8], "value": [1.0]}, start=7, closed="neither")  # (7, 8]
    assert keys_of(series) == [0, 7, 8, 9] and values_of(series)[2] == 1.0
    series.write({"key": [], "value": []}, start=7)  # an empty frame: [7, end]
    assert keys_of(series) == [0]


def test_empty_write_without_bounds_is_a_no_op(clct, series) -> None:
    assert series.write({"key": [], "value": []}) is None
    assert clct.changelog.log() == []


def test_many_fragmented_writes_both_directions(series) -> None:
    model = Model()
    for i, lo in enumerate([*range(0, 60, 3), *range(100, 40, -7), *range(1, 90, 11)]):
        keys = list(range(lo, lo + 5, 2))
        values = [1000.0 * i + k for k in keys]
        series.write({"key": keys, "value": values})
        model.write(keys, values)
    check(series, model)
    for closed in CLOSED:
        check(series, model, 17, 66, closed)
        check(series, model, None, 33, closed)
    assert len(series) == len(model.data)


def test_rows_longer_than_one_segment(series) -> None:
    n = SEGMENT_ROWS + 1000
    series.write({"key": np.arange(n), "value": np.arange(n, dtype=float)})
    assert [r.length for r in series.rows()[1]] == [SEGMENT_ROWS, 1000]
    # a write straddling the segment boundary narrows both segments
    ints(series, [SEGMENT_ROWS - 2, SEGMENT_ROWS + 2], tag=0.5)
    rows = series.rows()[1]
    assert [r.length for r in rows] == [SEGMENT_ROWS - 2, 2, 997]
    frame = series.frame(start=SEGMENT_ROWS - 3, stop=SEGMENT_ROWS + 3)
    assert frame["key"].tolist() == [SEGMENT_ROWS - 3, SEGMENT_ROWS - 2, SEGMENT_ROWS + 2,
                                     SEGMENT_ROWS + 3]
    assert len(series) == n - 3


# -- index kinds -----------------------------------------------------------------------
def test_multi_column_index_with_prefix_bounds(repo: Repo) -> None:
    schema = Schema("""
        city str*
        day date*
        value float
    """)
    series = repo.create_collection(schema, "m") / "x"
    series.write({
        "city": ["Brussels", "Brussels", "Paris", "Paris", "Paris", "Rome"],
        "day": ["2020-01-01", "2020-01-02", "2020-01-01", "2020-01-02", "2020-01-03",
                "2020-01-01"],
        "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })
    assert series.df(start="Paris", stop="Paris")["value"].tolist() == [3.0, 4.0, 5.0]
    assert series.df(start="Paris", stop="Rome", closed="left")["value"].tolist() == [3.0, 4.0,
                                                                                      5.0]
    assert series.df(start=("Paris", "2020-01-02"))["value"].tolist() == [4.0, 5.0, 6.0]
    assert series["Brussels":("Paris", "2020-01-01")].df()["value"].tolist() == [1.0, 2.0, 3.0]
    assert series.df(start="Brussels", stop="Paris", closed="neither").empty
    # overwrite one city: the write replaces [("Paris", 01-02), ("Paris", 01-02)] only
    series.write({"city": ["Paris"], "day": ["2020-01-02"], "value": [40.0]})
    assert series.df()["value"].tolist() == [1.0, 2.0, 3.0, 40.0, 5.0, 6.0]
    # replace a whole city with a prefix range
    series.write({"city": ["Paris"], "day": ["2020-01-09"], "value": [9.0]},
                 start="Paris", stop="Paris")
    assert series.df()["value"].tolist() == [1.0, 2.0, 9.0, 6.0]
    series.delete("Brussels", "Brussels")
    assert series.df()["city"].tolist() == ["Paris", "Rome"]
    assert series.df()["day"].tolist() == [pd.Timestamp("2020-01-09"), pd.Timestamp("2020-01-01")]


def test_multi_column_index_order_is_a_tuple(repo: Repo) -> None:
    series = repo.create_collection(Schema(a="int*", b="int*", v="int"), "m") / "x"
    series.write({"a": [1, 1, 2, 2], "b": [5, 9, 0, 1], "v": [1, 2, 3, 4]})
    assert series.frame(start=(1, 6), stop=(2, 0))["v"].tolist() == [2, 3]
    assert series.frame(start=(1, 9), stop=(2, 0), closed="neither")["v"].tolist() == []
    with pytest.raises(SchemaError, match="row 2"):
        series.write({"a": [1, 2, 2], "b": [0, 3, 3], "v": [0, 0, 0]})


def test_timestamp_index_with_string_and_datetime_bounds(repo: Repo) -> None:
    series = repo.create_collection(Schema(ts="timestamp*", v="float"), "t") / "x"
    series.write({"ts": pd.date_range("2020-01-01", periods=6, freq="h"), "v": range(6)})
    assert series["2020-01-01T01:00":"2020-01-01T03:00"].df()["v"].tolist() == [1.0, 2.0, 3.0]
    got = series.df(start=datetime(2020, 1, 1, 4), stop=pd.Timestamp("2020-01-02"))
    assert got["v"].tolist() == [4.0, 5.0]
    got = series.df(start=np.datetime64("2020-01-01T02:30"), closed="neither")
    assert got["v"].tolist() == [3.0, 4.0, 5.0]


def test_date_column_reads_back_as_midnights(repo: Repo) -> None:
    series = repo.create_collection(Schema(day="date*", v="int"), "d") / "x"
    series.write({"day": ["2020-01-01", "2020-03-01"], "v": [1, 2]})
    frame = series.frame()
    assert frame["day"].dtype == np.dtype("datetime64[D]")
    df = series.df()
    assert df["day"].tolist() == [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-03-01")]
    assert df["day"].dtype.kind == "M"
    # what df() gives can be written back as it is
    series.write(df.assign(v=[10, 20]))
    assert series.frame()["v"].tolist() == [10, 20]
    assert series.df(start=pd.Timestamp("2020-02-01"))["v"].tolist() == [20]


def test_text_columns_use_the_pandas_text_dtype(repo: Repo) -> None:
    series = repo.create_collection(Schema(k="str*", v="str"), "s") / "x"
    series.write({"k": ["a", "b"], "v": ["", "é"]})
    df = series.df()
    assert df["k"].dtype == pd.Series(["x"], dtype="str").dtype
    assert df["v"].tolist() == ["", "é"]
    assert series.df(start="b")["v"].tolist() == ["é"]
    assert (repo / "s" / "none").df()["v"].dtype == df["v"].dtype


# -- the model, by hypothesis --------------------------------------------------------------
KEYS = st.integers(0, 40)
write_op = st.tuples(
    st.just("write"),
    st.lists(KEYS, max_size=8, unique=True).map(sorted),
    st.one_of(st.none(), KEYS),
    st.one_of(st.none(), KEYS),
    st.sampled_from(CLOSED),
)
delete_op = st.tuples(st.just("delete"), st.none(), st.one_of(st.none(), KEYS),
                      st.one_of(st.none(), KEYS), st.sampled_from(CLOSED))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(write_op, write_op, delete_op), min_size=1, max_size=12),
       read=st.tuples(st.one_of(st.none(), KEYS), st.one_of(st.none(), KEYS),
                      st.sampled_from(CLOSED)))
def test_matches_the_pandas_model(ops, read) -> None:
    series = Repo("memory://").create_collection(INT_SCHEMA, "h") / "s"
    model = Model()
    for i, (kind, keys, start, stop, closed) in enumerate(ops):
        if kind == "delete":
            series.delete(start, stop, closed)
            model.delete(start, stop, closed)
            continue
        explicit = start is not None or stop is not None
        if explicit:
            # keep the frame inside its range, as a valid write must be
            index = pd.Index(keys, dtype="int64")
            bounds = (start, stop, closed)
            keys = index[in_range(index, *bounds)].tolist()
        else:
            closed = "both"
        values = [100.0 * i + k for k in keys]
        series.write({"key": keys, "value": values}, start=start, stop=stop, closed=closed)
        model.write(keys, values, start, stop, closed)
    check(series, model)
    check(series, model, *read)
    assert len(series) == len(model.data)


# -- round trips ---------------------------------------------------------------------------
ALL_TYPES = Schema("""
    ts timestamp*
    day date
    i int
    f float
    b bool
    s str
    f4 f4
    u8 u8
    ms M8[ms]
""")


def extreme_frame() -> dict[str, np.ndarray]:
    i8 = np.iinfo("i8")
    times = np.array([i8.min + 1, -1, 0, i8.max], dtype="i8")
    return {
        "ts": np.array([i8.min + 1, -1, 0, i8.max], dtype="i8").view("M8[ns]"),
        "day": np.array([times[0], 0, i8.min, times[3]], dtype="i8").view("M8[D]"),  # NaT
        "i": np.array([i8.min, i8.max, 0, -1], dtype="i8"),
        "f": np.array([np.nan, np.inf, -np.inf, np.finfo("f8").tiny]),
        "b": np.array([True, False, True, False]),
        "s": np.array(["", "é€😀", "a\x00b", "z" * 3000], dtype=object),
        "f4": np.array([np.finfo("f4").max, np.nan, -0.0, np.finfo("f4").min], dtype="f4"),
        "u8": np.array([0, 2**64 - 1, 1, 2**63], dtype="u8"),
        "ms": np.array([i8.min, i8.min + 1, 0, i8.max], dtype="i8").view("M8[ms]"),  # NaT first
    }


def test_every_type_round_trips_exactly(repo: Repo) -> None:
    series = repo.create_collection(ALL_TYPES, "all") / "x"
    data = extreme_frame()
    series.write(data)
    out = series.frame()
    for name, expected in data.items():
        assert out[name].dtype == expected.dtype, name
        if expected.dtype == object:
            assert out[name].tolist() == expected.tolist()
        else:
            assert out[name].tobytes() == expected.tobytes(), name
    df = series.df(select=["i", "f", "s", "u8", "ms"])
    assert df["u8"].tolist() == [0, 2**64 - 1, 1, 2**63]
    assert df["s"].tolist() == data["s"].tolist()
    assert pd.isna(df["ms"][0]) and df["ms"][3] == pd.Timestamp(data["ms"][3])
    assert np.isnan(df["f"][0]) and df["f"][1] == np.inf and df["f"][2] == -np.inf


def test_nan_and_nat_from_pandas(repo: Repo) -> None:
    series = repo.create_collection(ALL_TYPES, "all") / "x"
    frame = pd.DataFrame({
        "ts": pd.date_range("2020-01-01", periods=2), "day": [pd.NaT, "2020-01-01"],
        "i": [1, 2], "f": [np.nan, 1.0], "b": [True, False], "s": ["", "x"],
        "f4": [np.inf, -np.inf], "u8": [1, 2], "ms": [None, pd.Timestamp("2021-01-01")],
    })
    series.write(frame)
    df = series.df()
    assert pd.isna(df["day"][0]) and df["day"][1] == pd.Timestamp("2020-01-01")
    assert np.isnan(df["f"][0]) and pd.isna(df["ms"][0]) and df["f4"].tolist() == [np.inf,
                                                                                   -np.inf]


def test_empty_frames(repo: Repo) -> None:
    clct = repo.create_collection(ALL_TYPES, "all")
    series = clct / "x"
    empty = {c.name: c.empty() for c in ALL_TYPES.columns}
    assert series.write(empty) is None
    assert series.write(pd.DataFrame({n: [] for n in ALL_TYPES.names})) is None
    assert clct.changelog.log() == []
    series.write(extreme_frame())
    series.write(empty, start="1970-01-01")  # deletes from 1970 on
    assert len(series) == 2
    df = series.df(start="1980-01-01", stop="1990-01-01")
    assert df.empty and list(df.columns) == ALL_TYPES.names
    assert [str(t) for t in df.dtypes[["ts", "i", "u8"]]] == ["datetime64[ns]", "int64", "uint64"]
    assert series.frame(limit=0)["s"].dtype == object
