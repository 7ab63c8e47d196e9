"""Index keys: how index values are compared, searched and stored in commits.

A key is a tuple with one plain Python value per index column: text stays ``str``,
numbers stay numbers and date-times become integers in the column's unit, so keys
compare with ``<`` and pack with msgpack as they are. A bound given by a user may be a
*prefix* (fewer values than index columns): it then applies to the leading columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import SchemaError
from .schema import Schema

__all__ = ["Closed", "Key", "Range", "key_arrays", "make_key", "search"]

Closed = Literal["both", "left", "right", "neither"]
CLOSED_VALUES = ("both", "left", "right", "neither")
Key = tuple[Any, ...]


def comparable(arr: np.ndarray) -> np.ndarray:
    """A view of an index array whose values compare like keys."""
    if arr.dtype.kind in "mM":
        return arr.view("i8")
    return arr


def key_arrays(schema: Schema, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The index columns of ``arrays`` as comparable arrays, in index order."""
    return [comparable(arrays[name]) for name in schema.index]


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (other values unchanged)."""
    return value.item() if isinstance(value, np.generic) else value


def row_key(keys: list[np.ndarray], i: int) -> Key:
    """The key of row ``i``."""
    return tuple(plain(k[i]) for k in keys)


def make_key(schema: Schema, value: Any) -> Key | None:
    """The key of a user bound: a scalar, a tuple (a prefix of the index) or ``None``."""
    if value is None:
        return None
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    index = schema.index
    if len(values) > len(index):
        raise SchemaError(
            f"bound {value!r} has {len(values)} values but the index has "
            f"{len(index)} column(s): {index}"
        )
    key = []
    for name, item in zip(index, values):
        if isinstance(item, pd.Timestamp) and item.tzinfo is None:
            item = item.to_datetime64()  # skips the text parser: bounds come on every read
        arr = schema[name].cast(np.array([item], dtype=object if isinstance(item, str) else None))
        key.append(plain(comparable(arr)[0]))
    return tuple(key)


def check_closed(closed: str) -> Closed:
    """``closed`` if it is one of the four modes, else a clear ``SchemaError``."""
    if closed not in CLOSED_VALUES:
        raise SchemaError(f"closed must be one of {CLOSED_VALUES}, not {closed!r}")
    return closed  # type: ignore[return-value]


@dataclass(frozen=True)
class Range:
    """An interval of keys; ``None`` ends are unbounded."""

    start: Key | None = None
    stop: Key | None = None
    closed: Closed = "both"

    @property
    def left_closed(self) -> bool:
        """Whether ``start`` itself belongs to the range."""
        return self.closed in ("both", "left")

    @property
    def right_closed(self) -> bool:
        """Whether ``stop`` itself belongs to the range."""
        return self.closed in ("both", "right")

    def after_start(self, key: Key) -> bool:
        """Whether ``key`` satisfies the lower bound."""
        if self.start is None:
            return True
        head = key[: len(self.start)]
        return head > self.start or (self.left_closed and head == self.start)

    def before_stop(self, key: Key) -> bool:
        """Whether ``key`` satisfies the upper bound."""
        if self.stop is None:
            return True
        head = key[: len(self.stop)]
        return head < self.stop or (self.right_closed and head == self.stop)

    def contains(self, key: Key) -> bool:
        """Whether ``key`` lies in the range."""
        return self.after_start(key) and self.before_stop(key)

    def is_empty(self) -> bool:
        """Whether no key can lie in the range."""
        if self.start is None or self.stop is None:
            return False
        n = min(len(self.start), len(self.stop))
        a, b = self.start[:n], self.stop[:n]
        if a != b:
            return a > b
        if len(self.start) < len(self.stop):
            # keys in the range start with ``start`` only if it is included
            return not self.left_closed
        if len(self.start) > len(self.stop):
            return not self.right_closed
        return self.closed != "both"

    def positions(self, keys: list[np.ndarray]) -> tuple[int, int]:
        """The slice ``[lo, hi)`` of sorted ``keys`` that lies in the range."""
        n = len(keys[0]) if keys else 0
        lo = 0 if self.start is None else search(keys, self.start, not self.left_closed)
        hi = n if self.stop is None else search(keys, self.stop, self.right_closed)
        return lo, max(lo, hi)

    def encode(self) -> list[Any]:
        """The range as msgpack-ready values."""
        return [
            None if self.start is None else list(self.start),
            None if self.stop is None else list(self.stop),
            self.closed,
        ]

    @classmethod
    def decode(cls, data: list[Any]) -> Range:
        """The range stored by :meth:`encode`."""
        start, stop, closed = data
        return cls(
            None if start is None else tuple(start),
            None if stop is None else tuple(stop),
            check_closed(closed),
        )


def search(keys: list[np.ndarray], key: Key, right: bool) -> int:
    """Lexicographic ``searchsorted`` of a (prefix) key in sorted key columns."""
    lo, hi = 0, len(keys[0])
    for depth, (column, value) in enumerate(zip(keys, key)):
        part = column[lo:hi]
        if depth == len(key) - 1:
            return lo + int(np.searchsorted(part, value, side="right" if right else "left"))
        left = int(np.searchsorted(part, value, side="left"))
        right_pos = int(np.searchsorted(part, value, side="right"))
        lo, hi = lo + left, lo + right_pos
    return lo
