"""Shared fixtures: one repository per test on every storage backend.

``repo_url`` is parametrized over the backends; a test that takes ``repo`` runs once on
each of them. ``memory`` repositories are private to the test; ``file`` ones live in the
test's temporary folder.
"""

from __future__ import annotations

import pytest

from lakota_dask import Repo

BACKENDS = ["memory", "file"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the storage backend under test."""
    return request.param


@pytest.fixture
def repo_url(backend: str, tmp_path) -> str:
    """The address of a fresh, empty repository on the backend under test."""
    if backend == "memory":
        return "memory://"
    return str(tmp_path / "repo")


@pytest.fixture
def repo(repo_url: str) -> Repo:
    """A fresh, empty repository on the backend under test."""
    return Repo(repo_url)
