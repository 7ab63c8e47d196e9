"""Schemas: the typed columns of a collection, and the checks a frame must pass.

A schema is written with keywords, ``Schema(timestamp="timestamp*", value="float")``, or
one column per line, ``Schema("timestamp timestamp*\\nvalue float")``. A ``*`` after the
type marks an index column; a series is sorted by its index columns taken as a tuple.

Type aliases: ``timestamp`` = ``datetime64[ns]``, ``date`` = ``datetime64[D]``,
``int`` = ``int64``, ``float`` = ``float64``, ``bool``, ``str`` (variable length text);
any other numpy dtype string (``f4``, ``u8``, ``M8[ms]``) is accepted as is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import SchemaError

__all__ = ["Column", "Schema"]

ALIASES = {
    "timestamp": "datetime64[ns]",
    "date": "datetime64[D]",
    "int": "int64",
    "float": "float64",
    "bool": "bool",
    "str": "str",
}


TIME_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns")
#: the units pandas can hold; coarser ones are shown in seconds
PANDAS_UNITS = ("s", "ms", "us", "ns")


def _parse_dtype(name: str, type_name: str) -> np.dtype | None:
    """The numpy dtype of a type name, or ``None`` for text columns."""
    alias = ALIASES.get(type_name, type_name)
    if alias in ("str", "string", "object", "O", "U"):
        return None
    try:
        dtype = np.dtype(alias)
    except TypeError as err:
        raise SchemaError(
            f"column {name!r}: unknown type {type_name!r}; use one of "
            f"{', '.join(ALIASES)} or a numpy dtype such as 'f4' or 'M8[ms]'"
        ) from err
    if dtype.kind not in "biufmM":
        raise SchemaError(f"column {name!r}: type {type_name!r} is not supported")
    if dtype.kind in "mM" and np.datetime_data(dtype)[0] not in TIME_UNITS:
        raise SchemaError(
            f"column {name!r}: type {type_name!r} needs a unit from {TIME_UNITS}, "
            "as in 'M8[ms]'"
        )
    return dtype


@dataclass(frozen=True)
class Column:
    """One column of a schema: a name, a type name and whether it is an index."""

    name: str
    type: str
    index: bool = False

    @functools.cached_property  # asked for every segment read: parse the type once
    def dtype(self) -> np.dtype | None:
        """The numpy dtype, or ``None`` for a text column."""
        return _parse_dtype(self.name, self.type)

    @property
    def is_text(self) -> bool:
        """Whether the column holds variable-length strings."""
        return self.dtype is None

    def cast(self, values: Any) -> np.ndarray:
        """``values`` as a numpy array of this column's type (``SchemaError`` if impossible)."""
        try:
            return self._cast(values)
        except SchemaError:
            raise
        except (TypeError, ValueError, OverflowError) as err:
            raise SchemaError(
                f"column {self.name!r}: cannot cast the values to {self.type}: {err}"
            ) from err

    def _cast(self, values: Any) -> np.ndarray:
        dtype = self.dtype
        if isinstance(values, (pd.Series, pd.Index)):
            values = _plain_values(values, dtype)
        if dtype is None:
            return self._cast_text(values)
        if len(values) == 0:
            return np.empty(0, dtype=dtype)
        if dtype.kind in "mM":
            return self._cast_time(values, dtype)
        return self._cast_number(values, dtype)

    def _cast_text(self, values: Any) -> np.ndarray:
        arr = np.asarray(values, dtype=object)
        for value in arr:
            if not isinstance(value, str):
                raise SchemaError(
                    f"column {self.name!r}: expected text, found {value!r} "
                    f"({type(value).__name__})"
                )
        return arr

    def _cast_time(self, values: Any, dtype: np.dtype) -> np.ndarray:
        arr = np.asarray(values)
        if arr.dtype.kind in "OUS":
            arr = _parse_times(arr, dtype)
        elif arr.dtype.kind != dtype.kind:
            raise SchemaError(
                f"column {self.name!r}: expected {self.type} values, found {arr.dtype}"
            )
        # a finer unit can overflow silently (year 1500 does not fit in nanoseconds)
        finer = arr.dtype != dtype and np.promote_types(arr.dtype, dtype) == dtype
        if finer and not _fits_finer_unit(arr, dtype):
            raise SchemaError(f"column {self.name!r}: values out of range for {self.type}")
        return arr.astype(dtype, copy=False)  # writes only read the arrays: no copy needed

    def _cast_number(self, values: Any, dtype: np.dtype) -> np.ndarray:
        arr = np.asarray(values)
        if dtype.kind in "iu" and arr.dtype.kind in "fO":
            exact = _exact_integers(values, dtype)
            if exact is not None:
                return exact
        if arr.dtype.kind in "OUS":
            if dtype.kind == "b":
                raise SchemaError(f"column {self.name!r}: expected booleans, found text")
            # objects may hold None (NaN as a float, refused below for integers)
            as_float = arr.dtype.kind == "O" and dtype.kind in "iu"
            arr = arr.astype(np.float64 if as_float else dtype)
        if arr.dtype.kind in "mM":
            raise SchemaError(f"column {self.name!r}: expected {self.type}, found {arr.dtype}")
        if dtype.kind == "b" and arr.dtype.kind != "b":
            if not np.all((arr == 0) | (arr == 1)):
                raise SchemaError(f"column {self.name!r}: booleans must be True/False or 0/1")
        if dtype.kind in "iu" and arr.dtype.kind in "iuf":
            self._check_int_range(arr, dtype)
        return arr.astype(dtype, copy=False)

    def _check_int_range(self, arr: np.ndarray, dtype: np.dtype) -> None:
        if arr.dtype.kind == "f" and not (
            np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
        ):
            raise SchemaError(
                f"column {self.name!r}: float values with fractions, NaN or inf "
                f"cannot be stored as {self.type}"
            )
        info = np.iinfo(dtype)
        # as floats the upper bound must be exclusive: float(2**63 - 1) == 2**63
        too_big = arr.max() > info.max if arr.dtype.kind in "iu" else (
            arr.max() >= float(info.max) + 1
        )
        if arr.min() < info.min or too_big:
            raise SchemaError(f"column {self.name!r}: values out of range for {self.type}")

    def empty(self) -> np.ndarray:
        """An empty array of this column's type."""
        return np.array([], dtype=object if self.dtype is None else self.dtype)


@dataclass(frozen=True)
class Schema:
    """The ordered, typed columns of a collection; index columns are marked with ``*``."""

    columns: tuple[Column, ...]

    def __init__(self, *text: str, **columns: str) -> None:
        parsed: list[Column] = []
        if len(text) > 1:
            raise SchemaError("Schema takes one multi-line string or keyword arguments")
        if text:
            if not isinstance(text[0], str):
                raise SchemaError(f"Schema expects text, not {type(text[0]).__name__}")
            for line in text[0].strip().splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split()
                if len(parts) != 2:
                    raise SchemaError(
                        f"schema line {line!r}: expected '<name> <type>' such as 'value float'"
                    )
                parsed.append(_column(*parts))
        parsed.extend(_column(name, kind) for name, kind in columns.items())
        object.__setattr__(self, "columns", tuple(parsed))
        self._check()

    def _check(self) -> None:
        names = [c.name for c in self.columns]
        if not names:
            raise SchemaError("a schema needs at least one column")
        if len(set(names)) != len(names):
            raise SchemaError(f"a schema has a repeated column name: {names}")
        if not any(c.index for c in self.columns):
            raise SchemaError(
                "a schema needs at least one index column; mark it with '*', "
                "as in Schema(timestamp='timestamp*', value='float')"
            )
        for column in self.columns:
            column.dtype  # raises SchemaError on an unknown type

    # -- views ---------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Every column name, in order."""
        return [c.name for c in self.columns]

    @property
    def index(self) -> list[str]:
        """The index column names, in order."""
        return [c.name for c in self.columns if c.index]

    def __getitem__(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise SchemaError(f"no column {name!r} in the schema (columns: {self.names})")

    def __repr__(self) -> str:
        body = ", ".join(f"{c.name}={c.type + ('*' if c.index else '')!r}" for c in self.columns)
        return f"Schema({body})"

    # -- serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the schema."""
        return {"columns": [[c.name, c.type, c.index] for c in self.columns]}

    def dumps(self) -> str:
        """The schema as a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """The schema described by :meth:`to_dict`."""
        try:
            columns = tuple(Column(str(n), str(t), bool(i)) for n, t, i in data["columns"])
        except (KeyError, TypeError, ValueError) as err:
            raise SchemaError(f"not a schema description: {data!r}") from err
        schema = cls.__new__(cls)
        object.__setattr__(schema, "columns", columns)
        schema._check()
        return schema

    @classmethod
    def loads(cls, text: str) -> Schema:
        """The schema of a JSON string made by :meth:`dumps`."""
        try:
            return cls.from_dict(json.loads(text))
        except (json.JSONDecodeError, RecursionError) as err:
            raise SchemaError(f"not a schema description: {text[:80]!r}") from err

    # -- frames --------------------------------------------------------------------
    def empty_frame(self, columns: list[str] | None = None) -> pd.DataFrame:
        """An empty pandas frame with the schema's dtypes (dask's ``meta``)."""
        names = self.names if columns is None else columns
        return to_pandas(self, {n: self[n].empty() for n in names})

    def normalize(self, frame: Any) -> dict[str, np.ndarray]:
        """Check and cast a frame (dict of sequences or pandas DataFrame) to the schema.

        Raises :class:`SchemaError` for missing or unknown columns, columns of different
        lengths, values that cannot be cast, or an index that is not strictly increasing
        (the message names the first bad row). Returns a dict of numpy arrays.
        """
        arrays = self.cast(frame)
        check_sorted(self, arrays)
        return arrays

    def cast(self, frame: Any) -> dict[str, np.ndarray]:
        """:meth:`normalize` without the check that the index is sorted."""
        if isinstance(frame, pd.DataFrame):
            # index levels named like schema columns count as columns (set_index undone)
            levels = {
                name: frame.index.get_level_values(name)
                for name in frame.index.names
                if name in self.names and name not in frame.columns
            }
            source: Mapping[str, Any] = {**levels, **{c: frame[c] for c in frame.columns}}
        elif isinstance(frame, Mapping):
            source = frame
        else:
            raise SchemaError(
                f"cannot write a {type(frame).__name__}: pass a dict of columns "
                "or a pandas DataFrame"
            )
        missing = [n for n in self.names if n not in source]
        if missing:
            raise SchemaError(f"missing column(s) {missing}; the schema has {self.names}")
        extra = [str(n) for n in source if n not in self.names]
        if extra:
            raise SchemaError(f"unknown column(s) {extra}; the schema has {self.names}")
        arrays = {c.name: c.cast(source[c.name]) for c in self.columns}
        lengths = {n: len(a) for n, a in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise SchemaError(f"columns have different lengths: {lengths}")
        return arrays


_NAT = np.iinfo(np.int64).min  # how numpy stores NaT


def _plain_values(values: pd.Series | pd.Index, dtype: np.dtype | None) -> np.ndarray:
    """The numpy values of a pandas column; time zones become naive UTC."""
    if dtype is not None and dtype.kind == "M" and isinstance(values.dtype, pd.DatetimeTZDtype):
        values = pd.Series(values).dt.tz_convert("UTC").dt.tz_localize(None)
    return values.to_numpy(dtype=object if dtype is None else None)


def _fits_finer_unit(arr: np.ndarray, dtype: np.dtype) -> bool:
    """Whether the times of ``arr`` convert to the finer unit of ``dtype`` exactly.

    Two reductions when the units are plain multiples and nothing is NaT; a round trip
    through the finer unit (three passes over a copy) otherwise.
    """
    (unit, count), (fine, fine_count) = np.datetime_data(arr.dtype), np.datetime_data(dtype)
    ints = arr.view("i8")
    # years and months are not fixed multiples of days
    if ints.size and unit not in ("generic", "Y", "M") and count == fine_count == 1:
        lo, hi = int(ints.min()), int(ints.max())
        if lo != _NAT:
            factor = np.timedelta64(1, unit) // np.timedelta64(1, fine)
            info = np.iinfo(np.int64)
            return info.min // factor < lo and hi <= info.max // factor
    return np.array_equal(arr.astype(dtype).astype(arr.dtype).view("i8"), ints)


def _parse_times(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Text or objects (datetimes, None) as datetime64/timedelta64 values."""
    if dtype.kind == "m":
        return pd.to_timedelta(arr).to_numpy()
    # pandas would read a number mixed with datetimes as epoch nanoseconds, whatever the
    # column's unit; an array of numbers alone is refused, so is one number among times
    numbers = [v for v in arr.tolist() if isinstance(v, (int, float, np.number, np.bool_))]
    if numbers:
        raise ValueError(f"found the number {numbers[0]!r}; give times as text or datetimes")
    # utc=True accepts offsets ("...+01:00") and reads naive values as UTC; ISO 8601 text
    # may mix precisions ("2020-01-01", "2020-01-01T10:00:00.5"), other text is guessed
    try:
        parsed = pd.to_datetime(arr, utc=True, format="ISO8601")
    except ValueError:
        parsed = pd.to_datetime(arr, utc=True, format="mixed")
    return parsed.tz_localize(None).to_numpy()


def _exact_integers(values: Any, dtype: np.dtype) -> np.ndarray | None:
    """Python integers (beyond int64 too) as an exact array; ``None`` if some are not.

    ``np.asarray([0, 2**64 - 1])`` is float64 and loses the last digits, so lists of
    integers are converted from the Python values themselves.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return None
    items = np.asarray(values, dtype=object).tolist()
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        return None
    return np.array(items, dtype=dtype)  # OverflowError (a SchemaError) when out of range


def _column(name: str, kind: str) -> Column:
    if not isinstance(kind, str):
        raise SchemaError(f"column {name!r}: type must be a string such as 'float'")
    index = kind.endswith("*")
    column = Column(name, kind.rstrip("*").strip(), index)
    column.dtype  # raises SchemaError on an unknown type
    return column


def check_sorted(schema: Schema, arrays: Mapping[str, np.ndarray]) -> None:
    """Raise :class:`SchemaError` unless the index rows are strictly increasing."""
    keys = [arrays[name] for name in schema.index]
    n = len(keys[0])
    if n < 2:
        if n == 1:
            _check_no_nat(schema, arrays)
        return
    _check_no_nat(schema, arrays)
    if len(keys) == 1 and bool(np.all(keys[0][1:] > keys[0][:-1])):
        return  # one index column in order (the common case): a single comparison pass
    # rows i and i+1 are in order when the first differing key column increases
    increasing = np.zeros(n - 1, dtype=bool)
    undecided = np.ones(n - 1, dtype=bool)
    for key in keys:
        left, right = key[:-1], key[1:]
        increasing |= undecided & (left < right)
        undecided &= left == right
    bad = np.flatnonzero(~increasing)
    if bad.size:
        row = int(bad[0]) + 1
        what = "repeats" if bool(undecided[bad[0]]) else "is smaller than"
        values = tuple(k[row].item() if isinstance(k[row], np.generic) else k[row] for k in keys)
        raise SchemaError(
            f"the index must be sorted with no repeated value: row {row} "
            f"({', '.join(schema.index)} = {values}) {what} the row before it; "
            "sort the frame and drop duplicates before writing"
        )


def _check_no_nat(schema: Schema, arrays: Mapping[str, np.ndarray]) -> None:
    for name in schema.index:
        arr = arrays[name]
        if arr.dtype.kind in "Mmf":
            bad = np.flatnonzero(np.isnan(arr))
            if bad.size:
                raise SchemaError(
                    f"index column {name!r} has a missing value (NaN/NaT) at row {bad[0]}"
                )


def to_pandas(schema: Schema, arrays: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """A pandas frame of schema-typed arrays.

    Text columns get pandas' text dtype (``str`` on pandas 3). pandas holds date-times in
    seconds at the coarsest, so ``date`` (``datetime64[D]``) columns come back as
    ``datetime64[s]`` holding midnights; :meth:`Series.frame` keeps the stored unit.
    """
    data = {}
    for name, arr in arrays.items():
        if schema[name].is_text:
            data[name] = pd.Series(arr, dtype="str")
        elif arr.dtype.kind in "mM" and np.datetime_data(arr.dtype)[0] not in PANDAS_UNITS:
            data[name] = arr.astype(f"{arr.dtype.kind}8[s]")
        else:
            data[name] = arr
    # callers hand over arrays made for this frame: wrap them, do not copy them again
    # (and no columns=: the dict has their order, and columns= costs a reindex)
    return pd.DataFrame(data, copy=False)
