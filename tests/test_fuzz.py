"""Fuzzing the write path with hypothesis.

Each example is a short sequence of writes (and deletes) on one series, with inputs drawn
over every dtype of the schema: NaN, +-inf, -0.0, NaT, extreme integers, empty, huge and
odd strings, duplicate, unsorted and reversed indexes, columns of mismatched lengths,
values of the wrong type and empty frames, given as numpy arrays, lists or pandas frames.

Every outcome must be either a correct round trip, compared bit for bit with a model (a
write replaces the closed range ``[first key, last key]`` of the series; a delete removes
``[start, stop]``), or a ``LakotaError``, and after an error the storage holds exactly the
files and bytes it held before. The number of examples run is printed (``pytest -s``).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakota_dask import Repo, Schema
from lakota_dask.errors import LakotaError

FLAT = Schema(ts="int*", f="float", f4="f4", i="int", i4="i4", u="u8", b="bool",
              t="timestamp", d="date", s="str", ms="M8[ms]")
MULTI = Schema(key="str*", when="timestamp*", v="float", s="str")
SCHEMAS = {"flat": FLAT, "multi": MULTI}

I64 = (-(2**63), 2**63 - 1)
NAT = np.iinfo(np.int64).min
COUNTS: dict[str, int] = {}


def dtype_of(schema: Schema, name: str) -> np.dtype:
    column = schema[name]
    return np.dtype(object) if column.is_text else column.dtype


def values_for(schema: Schema, name: str) -> st.SearchStrategy:
    """Values of one column, as numpy scalars of the column's exact dtype."""
    dtype = dtype_of(schema, name)
    kind = dtype.kind
    if kind == "O":
        special = st.sampled_from(["", "x" * 200_000, "é" * 50_000, "\x00", "🎉", " a ", "\n"])
        return st.one_of(st.text(max_size=12), special)
    if kind == "f":
        width = 32 if dtype.itemsize == 4 else 64
        special = st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0])
        return st.one_of(st.floats(width=width), special).map(dtype.type)
    if kind == "b":
        return st.booleans().map(np.bool_)
    if kind in "iu":
        info = np.iinfo(dtype)
        edges = st.sampled_from([info.min, info.max, 0, -1 if kind == "i" else 1])
        return st.one_of(st.integers(info.min, info.max), edges).map(dtype.type)
    unit = np.datetime_data(dtype)[0]
    ints = st.one_of(st.integers(I64[0] + 1, I64[1]), st.integers(-(10**6), 10**6),
                     st.just(NAT), st.sampled_from([I64[0] + 1, I64[1]]))
    if unit == "D":  # pandas converts dates through seconds: keep them in its range
        ints = st.one_of(st.integers(-(10**6), 10**6), st.just(NAT))
    return ints.map(lambda v: np.int64(v).view(dtype))


WRONG: dict[str, list[Any]] = {
    "f": ["abc", "1,5"], "f4": ["abc"], "v": ["abc"], "i": [2.5, "x"], "i4": [2**40, 2.5],
    "u": [-1, 2**70], "b": ["yes"], "t": [1.5, "not a time"], "d": ["not a date"],
    "ms": [2.5], "s": [None, 5, "\ud800"],
}


@dataclass
class Write:
    """One operation: a write of ``data`` or a delete of ``[start, stop]``."""

    data: dict[str, Any] | pd.DataFrame | None
    arrays: dict[str, np.ndarray] | None  # what was written, exactly typed
    valid: bool
    start: Any = None
    stop: Any = None


@st.composite
def writes(draw: st.DrawFn, schema: Schema) -> Write:
    """One write (or, on FLAT, sometimes a delete) with its expected validity."""
    if schema is FLAT and draw(st.integers(0, 5)) == 0:
        lo, hi = sorted(draw(st.lists(st.integers(-5, 60), min_size=2, max_size=2)))
        return Write(None, None, True, lo, hi)
    if schema is FLAT:
        pool = st.one_of(st.integers(-5, 60), st.sampled_from(list(I64)))
        keys = [(k,) for k in draw(st.lists(pool, max_size=25))]
    else:
        labels = st.sampled_from(["", "a", "b", "é", "zz"])
        times = st.one_of(st.integers(0, 40), st.sampled_from([NAT, I64[1]]))
        keys = draw(st.lists(st.tuples(labels, times), max_size=25))
    order = draw(st.sampled_from(["sorted", "sorted", "sorted", "drawn", "reversed"]))
    if order != "drawn":
        keys = sorted(set(keys), reverse=order == "reversed")
    n = len(keys)
    arrays: dict[str, np.ndarray] = {}
    for position, name in enumerate(schema.index):
        dtype = dtype_of(schema, name)
        column = [k[position] for k in keys]
        if dtype.kind == "M":
            arrays[name] = np.array(column, dtype="i8").view(dtype)
        else:
            arrays[name] = np.array(column, dtype=dtype)
    for name in schema.names:
        if name not in arrays:
            values = draw(st.lists(values_for(schema, name), min_size=n, max_size=n))
            arrays[name] = np.array(values, dtype=dtype_of(schema, name))
    index_keys = [tuple(_plain(arrays[name][i]) for name in schema.index) for i in range(n)]
    valid = all(b > a for a, b in zip(index_keys, index_keys[1:]))
    valid &= not any(np.isnat(arrays[name]).any() for name in schema.index
                     if arrays[name].dtype.kind == "M")
    data: dict[str, Any] = dict(arrays)
    fault = draw(st.sampled_from(["none"] * 6 + ["short", "wrong", "lists", "pandas"]))
    if fault == "short" and n:
        name = draw(st.sampled_from(schema.names))
        data[name] = arrays[name][:-1]
        valid = False
    elif fault == "wrong" and n:
        name = draw(st.sampled_from([c for c in schema.names if c in WRONG]))
        column = list(arrays[name])
        column[draw(st.integers(0, n - 1))] = draw(st.sampled_from(WRONG[name]))
        data[name] = column
        valid = False
    elif fault == "lists":
        data = {name: list(a) if a.dtype.kind == "M" else a.tolist() for name, a in data.items()}
    elif fault == "pandas":
        return Write(pd.DataFrame(data), arrays, valid)
    return Write(data, arrays, valid)


def _plain(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return int(value.view("i8"))
    return value.item() if isinstance(value, np.generic) else value


class Model:
    """The expected content of a series: rows by index key."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.rows: dict[tuple, tuple] = {}

    def write(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(arrays[self.schema.names[0]])
        if n == 0:
            return
        keys = [tuple(_plain(arrays[name][i]) for name in self.schema.index) for i in range(n)]
        self.delete(keys[0], keys[-1])
        for i, key in enumerate(keys):
            self.rows[key] = tuple(arrays[name][i] for name in self.schema.names)

    def delete(self, start: tuple | None, stop: tuple | None) -> None:
        self.rows = {k: v for k, v in self.rows.items()
                     if not ((start is None or k >= start) and (stop is None or k <= stop))}

    def check(self, frame: dict[str, np.ndarray]) -> None:
        ordered = [self.rows[k] for k in sorted(self.rows)]
        for position, name in enumerate(self.schema.names):
            dtype = dtype_of(self.schema, name)
            expected = np.array([row[position] for row in ordered], dtype=dtype)
            got = frame[name]
            assert got.dtype == dtype, name
            if dtype.kind in "fM":  # bit for bit: NaN payloads, -0.0 and NaT included
                expected = expected.view(f"i{dtype.itemsize}")
                got = got.view(f"i{dtype.itemsize}")
            assert got.tolist() == expected.tolist(), name


def snapshot(repo: Repo) -> dict[str, bytes]:
    return {path: repo.pod.read(path) for path in repo.pod.walk()}


def run(repo: Repo, schema: Schema, ops: list[Write], counter: str) -> None:
    COUNTS[counter] = COUNTS.get(counter, 0) + 1
    series = repo.create_collection(schema, "fuzz").series("s")
    model = Model(schema)
    for op in ops:
        before = snapshot(repo)
        try:
            if op.data is None:
                series.delete(op.start, op.stop)
            else:
                series.write(op.data)
        except LakotaError:
            assert snapshot(repo) == before
            assert not op.valid, "a valid write was refused"
            continue
        assert op.valid, "an invalid write was accepted"
        if op.data is None:
            model.delete((op.start,), (op.stop,))
        else:
            model.write(op.arrays)
        model.check(series.frame())
        assert len(series) == len(model.rows)
    series.df()  # the pandas conversion of the final state does not fail


FAST = settings(max_examples=250, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FILE = settings(FAST, max_examples=25)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_fuzz_writes_memory(name: str) -> None:
    schema = SCHEMAS[name]

    @FAST
    @given(st.lists(writes(schema), min_size=1, max_size=4))
    def body(ops: list[Write]) -> None:
        run(Repo("memory://"), schema, ops, f"memory-{name}")

    body()
    print(f"\nfuzz examples run (memory, {name}): {COUNTS[f'memory-{name}']}")
    assert COUNTS[f"memory-{name}"] >= 100


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_fuzz_writes_file(name: str) -> None:
    schema = SCHEMAS[name]

    @FILE
    @given(st.lists(writes(schema), min_size=1, max_size=3))
    def body(ops: list[Write]) -> None:
        folder = tempfile.mkdtemp(prefix="lakota-fuzz-")
        try:
            run(Repo(folder), schema, ops, f"file-{name}")
        finally:
            shutil.rmtree(folder)

    body()
    print(f"\nfuzz examples run (file, {name}): {COUNTS[f'file-{name}']}")
    assert COUNTS[f"file-{name}"] >= 10
