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
import sys
import time

__all__ = ["digest", "hexdigest", "hextime", "logger", "now_ms"]

ROOT_HEXTIME = "0" * 11


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
