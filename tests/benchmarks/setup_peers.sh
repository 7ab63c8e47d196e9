#!/usr/bin/env bash
# Install the peer engines for tests/benchmarks/bench.py into a separate venv.
#
#   bash tests/benchmarks/setup_peers.sh          # creates .venv-bench at the project root
#   .venv-bench/bin/python tests/benchmarks/bench.py --scale 0.1
#
# lakota 0.7.1 and arcticdb install side by side with pandas/numpy/dask here
# (Python 3.11), so a single venv holds every engine.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${PYTHON:-python3.11}"
venv="$root/.venv-bench"

"$py" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q \
    "lakota==0.7.1" arcticdb pandas pyarrow "dask[dataframe,distributed]" \
    zstandard s3fs msgpack numpy
if [ -f "$root/pyproject.toml" ]; then
    "$venv/bin/pip" install -q -e "$root"
fi
"$venv/bin/python" - <<'PY'
import importlib
for name in ("lakota", "arcticdb", "pandas", "numpy", "pyarrow", "dask", "distributed"):
    try:
        mod = importlib.import_module(name)
        print(f"{name:12} {getattr(mod, '__version__', '?')}")
    except Exception as exc:  # report, do not stop: bench.py skips what is missing
        print(f"{name:12} NOT IMPORTABLE: {exc!r}")
PY
