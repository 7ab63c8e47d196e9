"""Storage faults: permission denied, a full disk, and an S3 server that fails requests.

Each write either completes (possibly after the client's retries) or fails with a clear
``StorageError``, and never leaves a partial revision: every revision present reads
completely, and the data of every completed write reads back.

The tests run as root on Linux, where file modes do not stop writes: permissions are
taken away with ``chattr +i`` (immutable folders) and a read-only bind mount, and the
full disk is a 2 MB tmpfs. They are skipped, with the reason, where mounting is refused.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from conftest import S3Server
from lakota_dask import Repo, Schema
from lakota_dask.errors import StorageError

SCHEMA = Schema(ts="int*", value="float")


def frame(seed: int, n: int = 2000) -> dict:
    rng = np.random.default_rng(seed)
    return {"ts": np.arange(n) + seed * n, "value": rng.random(n)}


def assert_every_revision_reads(repo: Repo) -> int:
    """Read every series at every revision of every collection; the revisions read."""
    fresh = Repo(pod=repo.pod)
    count = 0
    for label in fresh.ls():
        clct = fresh / label
        for revision in clct.changelog.log():
            commit = clct.read_revision(revision)[0]
            for name in commit.labels():
                df = clct.series(name).df(before=revision)
                assert len(df) == sum(r.length for r in commit.rows(name))
            count += 1
    return count


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


# -- permissions -------------------------------------------------------------------------
@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[list[str]]:
    """Folders to make immutable (``chattr +i``); restored afterwards."""
    folders: list[str] = []
    yield folders
    for folder in folders:
        run("chattr", "-i", folder)


def test_permission_denied_immutable_folders(tmp_path: Path, immutable: list[str]) -> None:
    repo = Repo(str(tmp_path / "repo"))
    clct = repo.create_collection(SCHEMA, "c")
    clct.series("a").write(frame(1))
    before = sorted(repo.pod.walk())
    folders = [str(tmp_path / "repo")] + [
        os.path.join(root, d) for root, dirs, _ in os.walk(tmp_path / "repo") for d in dirs
    ]
    for folder in folders:
        result = run("chattr", "+i", folder)
        if result.returncode:
            pytest.skip(f"chattr +i is not supported here: {result.stderr.strip()}")
        immutable.append(folder)
    with pytest.raises(StorageError, match="permission denied"):
        clct.series("a").write(frame(2))
    with pytest.raises(StorageError, match="permission denied"):
        repo.create_collection(SCHEMA, "d")
    assert sorted(repo.pod.walk()) == before
    assert (repo / "c" / "a").df()["value"].tolist() == frame(1)["value"].tolist()
    assert assert_every_revision_reads(repo) == 1


def test_read_only_mount(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repo = Repo(str(root))
    clct = repo.create_collection(SCHEMA, "c")
    clct.series("a").write(frame(1))
    result = run("mount", "--bind", str(root), str(root))
    if result.returncode:
        pytest.skip(f"bind mounts are refused here: {result.stderr.strip()}")
    try:
        result = run("mount", "-o", "remount,bind,ro", str(root))
        assert result.returncode == 0, result.stderr
        with pytest.raises(StorageError, match="Read-only file system"):
            clct.series("a").write(frame(2))
        with pytest.raises(StorageError):
            clct.series("b").write(frame(3, 10))  # small: embedded, only the revision is written
        assert (Repo(str(root)) / "c" / "a").df()["value"].tolist() == frame(1)["value"].tolist()
    finally:
        assert run("umount", str(root)).returncode == 0
    assert assert_every_revision_reads(repo) == 1
    assert not [p for p in repo.pod.walk() if ".tmp-" in p]


# -- a full disk -------------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    result = run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount))
    if result.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield mount
    run("umount", str(mount))


def test_full_disk(tiny_disk: Path) -> None:
    repo = Repo(str(tiny_disk / "repo"))
    clct = repo.create_collection(SCHEMA, "c")
    written = []
    with pytest.raises(StorageError, match="the disk is full"):
        for seed in range(200):  # 16 KB of random floats per write: the disk fills first
            revision = clct.series(f"s{seed % 7}").write(frame(seed))
            written.append((seed, revision))
    assert len(written) > 10
    repo = Repo(str(tiny_disk / "repo"))
    revisions = assert_every_revision_reads(repo)
    assert revisions == len(written)
    for label in {f"s{seed % 7}" for seed, _ in written}:
        seeds = [seed for seed, _ in written if f"s{seed % 7}" == label]
        expected = np.concatenate([frame(seed)["value"] for seed in seeds])  # disjoint ranges
        assert (repo / "c" / label).df()["value"].tolist() == expected.tolist()
    # nothing half-written is left behind
    assert not [p for p in repo.pod.walk() if ".tmp-" in p]
    assert repo.check().ok


# -- a flaky S3 server ---------------------------------------------------------------------
class FlakyProxy:
    """An HTTP proxy in front of the moto server that fails some requests.

    ``every``: each ``every``-th request is answered 503 (SlowDown) or 500 (InternalError)
    alternately, without reaching the server. ``down``: every request whose method is in
    it fails.
    """

    def __init__(self, target: str, every: int = 0) -> None:
        self.target = target.removeprefix("http://")
        self.every = every
        self.down: set[str] = set()
        self.count = 0
        self.failed = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_any(self) -> None:
                body = self.read_body()
                with proxy.lock:
                    proxy.count += 1
                    fail = self.command in proxy.down or (
                        proxy.every and proxy.count % proxy.every == 0)
                    if fail:
                        proxy.failed += 1
                        status = 503 if proxy.failed % 2 else 500
                if fail:
                    code = "SlowDown" if status == 503 else "InternalError"
                    self.reply(status, {"Content-Type": "application/xml"},
                               f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}"
                               f"</Code><Message>injected</Message></Error>".encode())
                    return
                connection = http.client.HTTPConnection(proxy.target, timeout=30)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("transfer-encoding", "connection")}
                headers["Content-Length"] = str(len(body))
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                kept = {k: v for k, v in response.getheaders()
                        if k.lower() not in ("transfer-encoding", "connection",
                                             "content-length")}
                self.reply(response.status, kept, data)
                connection.close()

            def read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if not size:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def reply(self, status: int, headers: dict, data: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky(s3_server: S3Server, s3_bucket: str) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(s3_server.endpoint)
    yield proxy
    proxy.close()


def flaky_repo(proxy: FlakyProxy, s3_server: S3Server, bucket: str) -> Repo:
    options = {**s3_server.options, "endpoint_url": proxy.endpoint}
    return Repo(f"s3://{bucket}/repo", storage_options=options)


def test_s3_failing_every_third_request_completes(flaky: FlakyProxy, s3_server: S3Server,
                                                  s3_bucket: str) -> None:
    repo = flaky_repo(flaky, s3_server, s3_bucket)
    clct = repo.create_collection(SCHEMA, "c")
    flaky.every = 3
    for seed in range(6):
        clct.series(f"s{seed % 2}").write(frame(seed, 500))
    for label, seeds in (("s0", (0, 2, 4)), ("s1", (1, 3, 5))):  # disjoint ranges
        expected = np.concatenate([frame(seed, 500)["value"] for seed in seeds])
        assert clct.series(label).df()["value"].tolist() == expected.tolist()
    assert repo.check().ok
    assert flaky.failed >= 5, "the proxy did fail requests"
    flaky.every = 0
    clean = Repo(f"s3://{s3_bucket}/repo", storage_options=s3_server.options)
    assert assert_every_revision_reads(clean) == 6


@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_s3_down_fails_clearly_without_partial_revision(flaky: FlakyProxy,
                                                       s3_server: S3Server, s3_bucket: str,
                                                       method: str) -> None:
    repo = flaky_repo(flaky, s3_server, s3_bucket)
    clct = repo.create_collection(SCHEMA, "c")
    clct.series("a").write(frame(1, 500))
    flaky.down = {method}
    repo = flaky_repo(flaky, s3_server, s3_bucket)
    with pytest.raises(StorageError, match=f"s3://{s3_bucket}/repo/"):
        (repo / "c").series("a").write(frame(2, 500))
    flaky.down = set()
    clean = Repo(f"s3://{s3_bucket}/repo", storage_options=s3_server.options)
    assert assert_every_revision_reads(clean) == 1
    assert (clean / "c" / "a").df()["value"].tolist() == frame(1, 500)["value"].tolist()
