"""Schemas: both ways of writing them, every type, casts and the checks a frame must pass."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lakota_dask import Schema
from lakota_dask.errors import SchemaError
from lakota_dask.schema import Column, to_pandas

ALL_TYPES = {
    "ts": ("timestamp", "datetime64[ns]"),
    "day": ("date", "datetime64[D]"),
    "i": ("int", "int64"),
    "f": ("float", "float64"),
    "b": ("bool", "bool"),
    "s": ("str", None),
    "f4": ("f4", "float32"),
    "u8": ("u8", "uint64"),
    "ms": ("M8[ms]", "datetime64[ms]"),
}


def test_keywords_and_text_give_the_same_schema() -> None:
    by_keywords = Schema(ts="timestamp*", **{n: t for n, (t, _) in ALL_TYPES.items() if n != "ts"})
    text = "\n".join(f"{n} {t}{'*' if n == 'ts' else ''}" for n, (t, _) in ALL_TYPES.items())
    by_text = Schema(text)
    assert by_text == by_keywords
    assert by_text.names == list(ALL_TYPES)
    assert by_text.index == ["ts"]
    for name, (_, dtype) in ALL_TYPES.items():
        assert by_text[name].dtype == (None if dtype is None else np.dtype(dtype))
    assert by_text["s"].is_text and not by_text["f"].is_text


def test_text_schema_with_indentation_comments_and_several_index_columns() -> None:
    schema = Schema("""
        # one column per line
        city str*

        day date*
        value float
    """)
    assert schema.index == ["city", "day"]
    assert schema.names == ["city", "day", "value"]
    assert repr(schema) == "Schema(city='str*', day='date*', value='float')"


def test_json_round_trip() -> None:
    schema = Schema(a="int*", b="M8[ms]*", c="str", d="f4")
    assert Schema.loads(schema.dumps()) == schema
    assert Schema.from_dict(schema.to_dict()) == schema


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Schema(a="int"), "at least one index column"),
        (lambda: Schema(), "at least one column"),
        (lambda: Schema(""), "at least one column"),
        (lambda: Schema("a int*\na float"), "repeated column name"),
        (lambda: Schema(a="int*", b="complex"), "not supported"),
        (lambda: Schema(a="int*", b="nosuchtype"), "unknown type 'nosuchtype'"),
        (lambda: Schema("a int* extra"), "expected '<name> <type>'"),
        (lambda: Schema("a int*", "b int"), "one multi-line string"),
        (lambda: Schema(3), "expects text"),
        (lambda: Schema(a="int*", b="M8"), "needs a unit"),
        (lambda: Schema(a="int*", b="M8[ps]"), "needs a unit"),
        (lambda: Schema(a="int*", b=5), "must be a string"),
        (lambda: Schema.loads("{not json"), "not a schema description"),
        (lambda: Schema.from_dict({"cols": []}), "not a schema description"),
        (lambda: Schema(a="int*")["b"], "no column 'b'"),
    ],
)
def test_bad_schemas(make, match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        make()


# -- casts ------------------------------------------------------------------------------
def cast(type_name: str, values):
    return Column("c", type_name).cast(values)


def test_text_becomes_timestamps_and_dates() -> None:
    out = cast("timestamp", ["2020-01-01T00:00", "2020-01-02T03:04:05.000000006", None])
    assert out.dtype == np.dtype("M8[ns]")
    assert out.tolist()[:1] == [1577836800000000000] and np.isnat(out[2])
    assert str(out[1]) == "2020-01-02T03:04:05.000000006"
    assert cast("date", ["2020-01-01", "1500-06-01"]).tolist() == [dt.date(2020, 1, 1),
                                                                   dt.date(1500, 6, 1)]
    assert str(cast("M8[ms]", ["2020-01-01T00:00:00.0015"])[0]) == "2020-01-01T00:00:00.001"


def test_time_zones_become_utc() -> None:
    assert str(cast("timestamp", ["2020-01-01T01:00+01:00"])[0]) == "2020-01-01T00:00:00.000000000"
    aware = pd.Series(pd.date_range("2020-01-01", periods=2, freq="h", tz="Europe/Brussels"))
    assert str(cast("timestamp", aware)[0]) == "2019-12-31T23:00:00.000000000"
    assert str(cast("timestamp", pd.DatetimeIndex(aware))[1]) == "2020-01-01T00:00:00.000000000"


def test_python_and_numpy_date_times() -> None:
    out = cast("timestamp", [dt.datetime(2020, 1, 1), pd.Timestamp("2020-01-02"),
                             np.datetime64("2020-01-03")])
    assert [str(v)[:10] for v in out] == ["2020-01-01", "2020-01-02", "2020-01-03"]
    assert cast("date", np.array(["2020-01-01T12:00"], dtype="M8[m]"))[0] == np.datetime64(
        "2020-01-01")


def test_timedelta_columns() -> None:
    out = cast("m8[s]", ["1s", "2 days"])
    assert out.dtype == np.dtype("m8[s]") and out.astype(int).tolist() == [1, 172800]


def test_integers_keep_every_digit() -> None:
    assert cast("u8", [0, 2**64 - 1]).tolist() == [0, 2**64 - 1]
    assert cast("int", [-(2**63), 2**63 - 1]).tolist() == [-(2**63), 2**63 - 1]
    assert cast("int", [1.0, 2.0]).tolist() == [1, 2]
    assert cast("int", ["7", "8"]).tolist() == [7, 8]
    assert cast("int", pd.Series([1, 2], dtype="Int64")).tolist() == [1, 2]
    assert cast("u1", np.array([0, 255], dtype="i8")).tolist() == [0, 255]


def test_floats_keep_nan_and_inf() -> None:
    out = cast("float", [np.nan, np.inf, -np.inf, None, "1.5"])
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == -np.inf
    assert np.isnan(out[3]) and out[4] == 1.5
    assert cast("f4", [1.5]).dtype == np.float32


def test_booleans() -> None:
    assert cast("bool", [True, False]).tolist() == [True, False]
    assert cast("bool", [1, 0]).tolist() == [True, False]
    assert cast("bool", np.array([1.0, 0.0])).tolist() == [True, False]


def test_text() -> None:
    out = cast("str", pd.Series(["a", "é"], dtype="str"))
    assert out.dtype == object and out.tolist() == ["a", "é"]
    assert cast("str", pd.Series(["x"], dtype="category")).tolist() == ["x"]
    assert cast("str", np.array(["a", ""])).tolist() == ["a", ""]


@pytest.mark.parametrize("type_name", ["timestamp", "date", "int", "float", "bool", "str", "f4",
                                       "u8", "M8[ms]"])
def test_empty_lists_of_every_type(type_name: str) -> None:
    out = cast(type_name, [])
    assert len(out) == 0 and out.dtype == Column("c", type_name).empty().dtype


@pytest.mark.parametrize(
    "type_name, values, match",
    [
        ("int", ["abc"], "cannot cast the values to int"),
        ("int", [1.5], "fractions"),
        ("int", [1.0, np.nan], "NaN"),
        ("int", [1, None], "cannot cast|NaN"),
        ("int", [1e30], "out of range"),
        ("int", [2.0**63], "out of range"),
        ("int", [2**63], "out of range|cannot cast"),
        ("u8", [-1], "out of range"),
        ("u8", [2**64], "out of range|cannot cast"),
        ("u1", [256], "out of range"),
        ("int", pd.Series([1, None], dtype="Int64"), "NaN"),
        ("int", pd.to_datetime(["2020-01-01"]), "expected int"),
        ("bool", [0, 2], "True/False or 0/1"),
        ("bool", [1.0, np.nan], "True/False or 0/1"),
        ("bool", ["True"], "expected booleans, found text"),
        ("str", [1], "expected text, found 1"),
        ("str", pd.Series(["a", None], dtype="str"), "expected text, found nan"),
        ("str", ["a", None], "expected text, found None"),
        ("timestamp", [1, 2], "expected timestamp values, found int64"),
        ("timestamp", ["notadate"], "cannot cast the values to timestamp"),
        ("timestamp", np.array(["1500-01-01"], dtype="M8[D]"), "out of range"),
        ("timestamp", ["1500-01-01"], "out of range"),
        ("float", ["x"], "cannot cast the values to float"),
        ("float", 5, "cannot cast"),
    ],
)
def test_values_that_cannot_be_cast(type_name: str, values, match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        cast(type_name, values)


# -- normalize ------------------------------------------------------------------------
SCHEMA = Schema(ts="timestamp*", value="float")


def test_normalize_dict_and_frames() -> None:
    frame = {"ts": ["2020-01-01", "2020-01-02"], "value": [1, 2]}
    arrays = SCHEMA.normalize(frame)
    assert list(arrays) == ["ts", "value"] and arrays["value"].dtype == np.float64
    df = pd.DataFrame(frame)
    assert SCHEMA.normalize(df)["ts"].tolist() == arrays["ts"].tolist()
    indexed = pd.DataFrame({"value": [1.0]}, index=pd.DatetimeIndex(["2020-01-01"], name="ts"))
    assert SCHEMA.normalize(indexed)["ts"][0] == np.datetime64("2020-01-01")
    assert SCHEMA.normalize(pd.DataFrame({"value": [1.0], "ts": ["2020-01-01"]}))["value"][0] == 1


@pytest.mark.parametrize(
    "frame, match",
    [
        ({"ts": ["2020-01-01"]}, r"missing column\(s\) \['value'\]"),
        ({"ts": ["2020-01-01"], "value": [1], "other": [2]}, r"unknown column\(s\) \['other'\]"),
        ({"ts": ["2020-01-01"], "value": [1, 2]}, "different lengths"),
        ({"ts": ["2020-01-02", "2020-01-01"], "value": [1, 2]},
         r"row 1 \(ts = \(1577836800000000000,\)\) is smaller than the row before it"),
        ({"ts": ["2020-01-01", "2020-01-02", "2020-01-02"], "value": [1, 2, 3]},
         r"row 2 .* repeats the row before it"),
        ({"ts": ["2020-01-01", None], "value": [1, 2]}, r"missing value \(NaN/NaT\) at row 1"),
        ({"ts": [None], "value": [1]}, r"missing value \(NaN/NaT\) at row 0"),
        ([1, 2], "pass a dict of columns or a pandas DataFrame"),
    ],
)
def test_normalize_refuses(frame, match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        SCHEMA.normalize(frame)


def test_normalize_reads_index_levels() -> None:
    schema = Schema(a="str*", b="int*", v="float")
    df = pd.DataFrame({"a": ["x", "y"], "b": [2, 1], "v": [1.0, 2.0]})
    arrays = schema.normalize(df.set_index(["a", "b"]))
    assert arrays["a"].tolist() == ["x", "y"] and arrays["b"].tolist() == [2, 1]
    assert schema.normalize(df.set_index("b"))["b"].tolist() == [2, 1]


def test_unsorted_multi_column_index_names_the_row() -> None:
    schema = Schema(a="str*", b="int*", v="float")
    with pytest.raises(SchemaError, match=r"row 3 \(a, b = \('y', 1\)\) is smaller"):
        schema.normalize({"a": ["x", "x", "y", "y"], "b": [1, 2, 5, 1], "v": [0, 0, 0, 0]})
    with pytest.raises(SchemaError, match=r"row 1 \(a, b = \('x', 1\)\) repeats"):
        schema.normalize({"a": ["x", "x"], "b": [1, 1], "v": [0, 0]})
    assert len(schema.normalize({"a": ["x", "y"], "b": [9, 1], "v": [0, 0]})["a"]) == 2


def test_to_pandas_dtypes() -> None:
    schema = Schema(**{n: t + ("*" if n == "ts" else "") for n, (t, _) in ALL_TYPES.items()})
    df = schema.empty_frame()
    assert df.empty and list(df.columns) == list(ALL_TYPES)
    dtypes = {n: str(d) for n, d in df.dtypes.items()}
    assert dtypes["day"] == "datetime64[s]" and dtypes["ms"] == "datetime64[ms]"
    assert dtypes["ts"] == "datetime64[ns]" and dtypes["u8"] == "uint64"
    assert df["s"].dtype == pd.Series(["x"], dtype="str").dtype
    text = to_pandas(Schema(k="int*", s="str"), {"s": np.array(["a"], dtype=object)})
    assert text["s"].tolist() == ["a"]


@pytest.mark.parametrize("unit, factor", [("us", 1_000), ("s", 10**9), ("D", 86_400 * 10**9)])
def test_coarser_times_convert_exactly_up_to_the_nanosecond_limits(unit: str,
                                                                   factor: int) -> None:
    top = np.iinfo(np.int64).max // factor
    bottom = np.iinfo(np.int64).min // factor + 1
    fits = np.array([bottom, 0, top], dtype="i8").view(f"M8[{unit}]")
    assert cast("timestamp", fits).view("i8").tolist() == [bottom * factor, 0, top * factor]
    for beyond in (top + 1, bottom - 1):
        with pytest.raises(SchemaError, match="out of range"):
            cast("timestamp", np.array([0, beyond], dtype="i8").view(f"M8[{unit}]"))


def test_coarser_times_with_missing_values_and_months_convert() -> None:
    with_nat = np.array(["2020-01-01", "NaT"], dtype="M8[s]")
    out = cast("timestamp", with_nat)
    assert np.isnat(out[1]) and out[0] == np.datetime64("2020-01-01", "ns")
    with pytest.raises(SchemaError, match="out of range"):  # NaT takes the slow check
        cast("timestamp", np.array(["NaT", "1500-01-01"], dtype="M8[s]"))
    months = np.array(["2020-01", "2021-06"], dtype="M8[M]")
    assert cast("date", months).tolist() == [dt.date(2020, 1, 1), dt.date(2021, 6, 1)]
