"""The versioned store's core workloads (issue 2), side by side with the peers.

Run from the project root after ``bash tests/benchmarks/setup_peers.sh``::

    .venv-bench/bin/python tests/benchmarks/bench_core.py [--scale 0.1] [--repeat 3]

It is ``bench.py`` restricted to W1 (10,000,000 rows written in one call, read whole, a 1%
range read, bytes on disk and per row), W3 (500 appends of 1,000 rows, then a full read)
and W4 (one 100-row series written into collections of 100, 1,000 and 5,000 series,
median of 5), on lakota_dask and, where installed, lakota 0.7.1 and ArcticDB; every other
option of ``bench.py`` is passed through.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bench  # noqa: E402

if __name__ == "__main__":
    sys.exit(bench.main(["--only", "W1,W3,W4", "--engines", "lakota_dask,lakota,arcticdb",
                         *sys.argv[1:]]))
