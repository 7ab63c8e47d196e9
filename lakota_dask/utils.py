"""Small helpers shared by every layer: the library logger, time stamps and digests.

``logger`` is the logger the seed README uses: ``logger.setLevel("DEBUG")`` makes every
storage operation print one line ``LIST|READ|WRITE|DELETE|MOVE <location> <name>``. The
library never configures the root logger; when the application has configured no
logging at all, a fallback handler prints the library's own records to stderr so that
``setLevel`` alone is enough, as in the seed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["digest", "hexdigest", "hextime", "logger", "now_ms", "one_thread", "thread_map"]

ROOT_HEXTIME = "0" * 11
POOL_NAME = "lakota-threads"

T = TypeVar("T")
R = TypeVar("R")
_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()
#: per thread: whether thread_map runs inline (see one_thread)
_inline = threading.local()


class _FallbackHandler(logging.StreamHandler):
    """Print records only while the application has configured no logging itself."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(
            logging.Formatter("%(levelname)s:%(asctime)s: %(message)s", "%Y-%m-%d %H:%M:%S")
        )

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return
        self.stream = sys.stderr  # follow a redirected stderr (pytest's capsys)
        super().emit(record)


logger = logging.getLogger("lakota_dask")
logger.addHandler(_FallbackHandler())


def now_ms() -> int:
    """Milliseconds since the epoch, the clock of revision names."""
    return time.time_ns() // 1_000_000


def hextime(ms: int | None = None) -> str:
    """An epoch time in milliseconds as 11 hex digits (the seed's revision prefix)."""
    return format(now_ms() if ms is None else ms, "011x")


def digest(data: bytes) -> bytes:
    """The 20-byte SHA-1 digest that content-addresses ``data``."""
    return hashlib.sha1(data).digest()


def hexdigest(data: bytes) -> str:
    """The 40 hex digits of :func:`digest`."""
    return hashlib.sha1(data).hexdigest()


def thread_map(func: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[func(item) for item in items]`` on one thread per core, in order.

    For coding many segments: zstd, SHA-1 and numpy copies release the GIL.
    One executor per process, made again after a fork (a child inherits the executor,
    not its threads).
    """
    global _pool
    items = list(items)
    nested = threading.current_thread().name.startswith(POOL_NAME) or getattr(
        _inline, "active", False)
    # a task of the pool waiting on the pool could wait forever: nested calls run inline
    if len(items) < 2 or (os.cpu_count() or 1) < 2 or nested:
        return [func(item) for item in items]
    workers = os.cpu_count() or 1
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(workers, POOL_NAME))
        pool = _pool[1]
    # a few batches per thread: small items cost less than their hand-over one by one,
    # and uneven ones still spread over the threads
    size = -(-len(items) // (4 * workers))
    batches = [items[i:i + size] for i in range(0, len(items), size)]
    done = pool.map(lambda batch: [func(item) for item in batch], batches)
    return [result for batch in done for result in batch]


@contextmanager
def one_thread() -> Iterator[None]:
    """Make this thread's :func:`thread_map` calls run inline while the block runs.

    For the tasks of a dask worker: its threads already are the cores it was given (its
    nanny sets ``OMP_NUM_THREADS=1`` for the same reason), so fanning out oversubscribes.
    """
    before = getattr(_inline, "active", False)
    _inline.active = True
    try:
        yield
    finally:
        _inline.active = before
