"""Fixtures of the pipeline tests: a local cluster per module, a repository per backend.

Test modules import these fixtures by name (a ``conftest.py`` here would shadow the
``conftest`` module that other tests import). The pipelines are scripts beside the package
(``pipelines/``), not installed with it, so importing this module puts the project root on
``sys.path`` first (worker processes of the local cluster inherit it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lakota_dask import Repo

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "pipelines" / "data" / "who_covid_sample.csv"
STORES = ["file", "s3"]


@dataclass
class Store:
    """A repository address with the storage options its pipelines need."""

    url: str
    options: dict[str, Any] = field(default_factory=dict)

    def args(self) -> list[str]:
        """``--repo URL`` and one ``--storage-option`` per option."""
        out = ["--repo", self.url]
        for key, value in self.options.items():
            out += ["--storage-option", f"{key}={value}"]
        return out

    def repo(self) -> Repo:
        """The repository, opened in this process."""
        return Repo(self.url, storage_options=self.options or None)

    def path(self, name: str) -> str:
        """An address beside the repository (an input file, another repository)."""
        return f"{self.url.rsplit('/', 1)[0]}/{name}"

    def put(self, local: Path, name: str) -> str:
        """Copy a local file beside the repository; returns its address."""
        import fsspec

        url = self.path(name)
        with fsspec.open(url, "wb", **self.options) as f:
            f.write(local.read_bytes())
        return url


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a local cluster of two worker processes, shared by a test module."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", scheduler_kwargs={"dashboard": False}) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """An empty repository on a local folder, then on the moto S3 server."""
    if request.param == "file":
        return Store(str(tmp_path / "db"))
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return Store(f"s3://{bucket}/db", dict(server.options))
