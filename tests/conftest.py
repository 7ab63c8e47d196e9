"""Shared fixtures: one repository per test on every storage backend.

``repo_url`` is parametrized over the backends; a test that takes ``repo`` runs once on
each of them. ``memory`` repositories are private to the test; ``file`` ones live in the
test's temporary folder; ``s3`` ones are a prefix of a fresh bucket on a moto S3 server
started once per test process (:func:`s3_server`).

An S3 repository needs its endpoint and credentials: ``repo`` passes them, and a test that
opens repositories itself writes ``Repo(repo_url, **repo_kwargs)``. For the ``s3``
backend the same settings are also in the usual AWS environment variables for the
duration of the test, so a plain ``Repo(repo_url)`` works too.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from lakota_dask import Repo
from lakota_dask.storage import open_pod

BACKENDS = ["memory", "file", "s3"]

#: test credentials; test_s3.py checks they never appear in logs, messages or reprs
S3_KEY = "LAKOTATESTKEYID00042"
S3_SECRET = "lakota-test-secret-never-printed-0042"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REQUEST = re.compile(r'"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP')


class RequestLog(logging.Handler):
    """The HTTP requests the moto server received, from werkzeug's access log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        match = _REQUEST.search(_ANSI.sub("", record.getMessage()))
        if match:
            with self._lock:
                self.requests.append((match.group(1), match.group(2)))

    def clear(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self.requests.clear()

    def kinds(self) -> list[str]:
        """Each request as ``LIST``, ``GET``, ``PUT``, ``HEAD``, ``DELETE`` or ``POST``."""
        with self._lock:
            return [
                "LIST" if method == "GET" and "list-type=2" in path else method
                for method, path in self.requests
                if not path.startswith("/moto-api")
            ]


@dataclass
class S3Server:
    """A running moto server: its endpoint and the log of the requests it served."""

    endpoint: str
    log: RequestLog
    options: dict[str, Any] = field(default_factory=dict)

    def post(self, path: str, body: bytes = b"") -> bytes:
        """POST to the server's control API (``/moto-api/...``)."""
        request = urllib.request.Request(
            self.endpoint + path, data=body, method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request) as response:
            return response.read()

    def seed(self, bucket: str, objects: dict[str, bytes]) -> None:
        """Store objects straight into the server's (in-process) store, without HTTP.

        For tests that need thousands of objects: a PUT costs ~25 ms of CPU on moto and
        botocore, and what those tests check (listings) still goes through the protocol.
        """
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
        for key, value in objects.items():
            backend.put_object(bucket, key, value)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A moto S3 server on 127.0.0.1, one per test process.

    Port 0 lets the system pick a free port: a fixed one would clash between xdist workers.
    """
    from moto.server import ThreadedMotoServer

    log = RequestLog()
    access_log = logging.getLogger("werkzeug")
    access_log.setLevel(logging.INFO)
    access_log.addHandler(log)
    access_log.propagate = False  # keep the access log out of test reports
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    options = {"endpoint_url": endpoint, "key": S3_KEY, "secret": S3_SECRET}
    yield S3Server(endpoint, log, options)
    server.stop()
    access_log.removeHandler(log)


@pytest.fixture
def s3_bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty bucket; the AWS variables point at the moto server meanwhile."""
    import s3fs

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3fs.S3FileSystem.clear_instance_cache()
    bucket = f"lakota-{uuid.uuid4().hex[:16]}"
    # through a pod's own filesystem: the test's pods then reuse its connection
    open_pod(f"s3://{bucket}", s3_server.options).fs.mkdir(bucket)
    s3_server.log.clear()
    yield bucket
    s3fs.S3FileSystem.clear_instance_cache()
    s3_server.post("/moto-api/reset")  # one server per process: drop this test's buckets


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the storage backend under test."""
    return request.param


@pytest.fixture
def repo_kwargs(backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Keyword arguments of ``Repo`` besides the address (S3 endpoint and credentials)."""
    if backend != "s3":
        return {}
    server = request.getfixturevalue("s3_server")
    return {"storage_options": dict(server.options)}


@pytest.fixture
def repo_url(backend: str, tmp_path, request: pytest.FixtureRequest) -> str:
    """The address of a fresh, empty repository on the backend under test."""
    if backend == "memory":
        return "memory://"
    if backend == "s3":
        return f"s3://{request.getfixturevalue('s3_bucket')}/repo"
    return str(tmp_path / "repo")


@pytest.fixture
def repo(repo_url: str, repo_kwargs: dict[str, Any]) -> Repo:
    """A fresh, empty repository on the backend under test."""
    return Repo(repo_url, **repo_kwargs)
