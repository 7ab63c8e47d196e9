"""Credentials never leak: not in logs (DEBUG included), messages, reprs or stored files.

A repository on the moto S3 server is opened with a recognisable secret, used for every
kind of work (writes, reads, dask reads, merge, gc, check, pull and push) and made to
fail in every way a user meets (missing collection, bad frame, missing bucket, corrupt
file, unreachable endpoint). Every log record of every logger, every exception (with its
chained causes) and every repr is then searched for the secret, and so is every byte
stored in the bucket.
"""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Callable, Iterator

import dask
import numpy as np
import pandas as pd
import pytest

from conftest import S3Server
from lakota_dask import Repo, Schema
from lakota_dask.codec import blob_path
from lakota_dask.errors import LakotaError

SECRET = "SUPERSECRET-do-not-print-7f3a9c"
KEY = "AKIDLAKOTACREDTEST77"
SCHEMA = Schema(ts="int*", value="float")


class Everything(logging.Handler):
    """Every record of every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def everything() -> Iterator[Everything]:
    """Capture every logger at DEBUG, including botocore, s3fs, fsspec and dask."""
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("lakota_dask", "s3fs", "fsspec", "botocore",
                                                "aiobotocore", "urllib3", "distributed")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels):
        lg.setLevel(level)
    root.removeHandler(handler)
    root.setLevel(old_level)


def failure(call: Callable[[], object]) -> str:
    """The full text of the library error ``call`` raises: message, repr and traceback."""
    with pytest.raises(LakotaError) as info:
        call()
    err = info.value
    return "\n".join([str(err), repr(err), "".join(traceback.format_exception(err))])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stored_bytes(server: S3Server, bucket: str) -> dict[str, bytes]:
    """Every object of ``bucket``, read with a filesystem of its own."""
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=server.endpoint, key=KEY, secret=SECRET,
                           skip_instance_cache=True)
    return {path: fs.cat_file(path) for path in fs.find(bucket)}


def test_secret_never_leaks(s3_server: S3Server, s3_bucket: str, everything: Everything,
                            tmp_path) -> None:  # noqa: ANN001
    options = {"endpoint_url": s3_server.endpoint, "key": KEY, "secret": SECRET}
    url = f"s3://{s3_bucket}/repo"
    repo = Repo(url, storage_options=options)
    clct = repo.create_collection(SCHEMA, "weather")
    series = clct.series("Brussels")
    values = np.random.default_rng(0).random(500)  # incompressible: stored as a file
    series.write({"ts": list(range(500)), "value": values})
    clct.write_many(pd.DataFrame({"ts": [1, 2, 1], "value": [1.0, 2.0, 3.0],
                                  "city": ["a", "a", "b"]}), by="city")
    assert series[10:12].df()["value"].tolist() == values[10:13].tolist()
    with dask.config.set(scheduler="threads"):
        assert len(series.ddf().compute()) == 500
    # two heads, then a merge
    leaf = clct.changelog.leaf()
    clct.publish(clct.read_revision(leaf)[0], [], [leaf.child])
    series.write({"ts": [1000], "value": [1.0]})
    texts = [repr(repo.merge())]
    texts.append(repr(repo.gc()))
    texts.append(repr(repo.check()))
    local = Repo(str(tmp_path / "local"))
    texts.append(repr(local.pull(repo)))
    local.collection("weather").series("Paris").write({"ts": [1], "value": [2.0]})
    texts.append(repr(local.push(repo)))
    assert (Repo(url, storage_options=options) / "weather" / "Paris").df()["ts"].tolist() == [1]

    texts += [repr(x) for x in (repo, repo.pod, clct, series, clct.changelog,
                                *clct.changelog.log(), repo.pod.location)]
    texts += [str(repo), str(repo.pod)]

    texts.append(failure(lambda: repo.collection("missing")))
    texts.append(failure(lambda: series.write({"ts": [2, 1], "value": [1.0, 2.0]})))
    texts.append(failure(lambda: series.write({"ts": ["x"], "value": [1.0]})))
    texts.append(failure(lambda: Repo(f"s3://{s3_bucket}-missing/x",
                                      storage_options=options).ls()))
    unreachable = {**options, "endpoint_url": f"http://127.0.0.1:{free_port()}",
                   "config_kwargs": {"retries": {"max_attempts": 1},
                                     "connect_timeout": 1}}
    texts.append(failure(lambda: Repo(url, storage_options=unreachable).ls()))
    # a corrupt segment: flip one byte of a stored segment of the series
    _, rows = series.rows()
    stored = [f"{repo.pod.root}/{blob_path(d)}" for r in rows for d in r.digests
              if repo.pod.fs.exists(f"{repo.pod.root}/{blob_path(d)}")]
    data = bytearray(repo.pod.fs.cat_file(stored[0]))
    data[len(data) // 2] ^= 0xFF
    repo.pod.fs.pipe_file(stored[0], bytes(data))
    report = Repo(url, storage_options=options).check()
    assert len(report.corrupt) == 1
    texts.append(repr(report))
    texts.append(failure(lambda: (Repo(url, storage_options=options) / "weather"
                                  / "Brussels").df()))

    logs = "\n".join(everything.lines)
    assert "lakota_dask" in logs and "botocore" in logs  # the capture did see DEBUG lines
    for text in texts + [logs]:
        assert SECRET not in text
    library_logs = [line for line in everything.lines if line.startswith("lakota_dask")]
    assert library_logs and not any(KEY in line for line in library_logs)
    for text in texts:
        assert KEY not in text, text
    for path, content in stored_bytes(s3_server, s3_bucket).items():
        assert SECRET.encode() not in content, path
        assert KEY.encode() not in content, path
        assert SECRET not in path and KEY not in path


def test_secret_from_the_environment_never_leaks(s3_server: S3Server, s3_bucket: str,
                                                 everything: Everything,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    repo = Repo(f"s3://{s3_bucket}/env")
    clct = repo.create_collection(SCHEMA, "c")
    clct.series("s").write({"ts": [1, 2], "value": [1.0, 2.0]})
    texts = [repr(repo), repr(repo.pod), repr(repo.check()),
             failure(lambda: clct.series("s").write({"ts": [1, 1], "value": [1.0, 2.0]})),
             failure(lambda: Repo(f"s3://{s3_bucket}-nope").ls())]
    for text in texts + everything.lines:
        assert SECRET not in text
    for text in texts + [line for line in everything.lines if line.startswith("lakota_dask")]:
        assert KEY not in text
    for path, content in stored_bytes(s3_server, s3_bucket).items():
        assert SECRET.encode() not in content and KEY.encode() not in content, path
