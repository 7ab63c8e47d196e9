"""S3 for real: URLs and options, errors, create-only revisions, paging, request counts,
cache chains and worker processes, against the moto S3 server of conftest.py.

Request counts come from the server's own access log (``s3_server.log``): what S3 was
really asked, not what the library meant to ask.
"""

from __future__ import annotations

import base64
import logging
import os
import pickle
import socket
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lakota_dask import Repo, Schema
from lakota_dask.changelog import name_time
from lakota_dask.errors import CommitConflictError, StorageError
from lakota_dask.storage import Pod, S3Pod, open_pod
from lakota_dask.utils import hextime

SCHEMA = Schema(timestamp="timestamp*", value="float")
#: rows enough for both columns to be stored as segment files (not embedded)
ROWS = 5_000


def frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """Sorted unique timestamps and random values (both compress poorly)."""
    rng = np.random.default_rng(seed)
    steps = rng.integers(1, 10_000, rows).cumsum()
    stamps = (pd.Timestamp("2020-01-01") + pd.to_timedelta(steps, unit="s")).astype("M8[ns]")
    return pd.DataFrame({"timestamp": stamps, "value": rng.random(rows)})


@pytest.fixture
def url(s3_bucket: str) -> str:
    """A repository address in the test's bucket."""
    return f"s3://{s3_bucket}/repo"


@pytest.fixture
def options(s3_server: Any) -> dict:
    """Endpoint and credentials of the moto server."""
    return dict(s3_server.options)


def filled(url: str, options: dict) -> pd.DataFrame:
    """Write collection ``c``, series ``s`` at ``url``; returns the frame written."""
    data = frame()
    Repo(url, storage_options=options).create_collection(SCHEMA, "c").series("s").write(data)
    return data


# -- addresses and options --------------------------------------------------------------
def test_bucket_and_prefix_url(url: str, options: dict, s3_bucket: str) -> None:
    data = filled(url, options)
    assert Repo(url, storage_options=options).pod.location == url
    pd.testing.assert_frame_equal((Repo(url, storage_options=options) / "c" / "s").df(), data)
    keys = open_pod(f"s3://{s3_bucket}", options).walk()
    assert keys and all(key.startswith("repo/") for key in keys)


def test_seed_url_form_is_the_bucket_root(s3_bucket: str, options: dict) -> None:
    repo = Repo(f"s3:///{s3_bucket}", storage_options=options)
    assert repo.pod.location == f"s3://{s3_bucket}"
    repo.create_collection(SCHEMA, "c").series("s").write(frame(10))
    assert len(Repo(f"s3:///{s3_bucket}", storage_options=options) / "c" / "s") == 10
    assert any(key.startswith("00/00/") for key in repo.pod.walk())


def test_settings_from_the_aws_environment_alone(url: str, s3_server: Any) -> None:
    # the s3_bucket fixture sets AWS_ENDPOINT_URL and the key variables
    assert os.environ["AWS_ENDPOINT_URL"] == s3_server.endpoint
    Repo(url).create_collection(SCHEMA, "c").series("s").write(frame(10))
    assert len(Repo(url) / "c" / "s") == 10


def test_settings_from_storage_options_alone(url: str, options: dict,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    filled(url, options)
    assert len(Repo(url, storage_options=options) / "c" / "s") == ROWS


# -- errors -----------------------------------------------------------------------------
def check_clear(error: StorageError, url: str, options: dict) -> None:
    """One error naming the URL, without a botocore traceback or credentials."""
    assert url in str(error)
    assert error.__cause__ is None and error.__suppress_context__
    assert options["key"] not in str(error) and options["secret"] not in str(error)


def test_missing_bucket_is_one_clear_error(options: dict, s3_bucket: str) -> None:
    url = f"s3://{s3_bucket}-absent/repo"
    repo = Repo(url, storage_options=options)  # opening sends nothing: errors come on use
    with pytest.raises(StorageError, match="bucket .* does not exist") as info:
        repo.ls()
    check_clear(info.value, url, options)
    with pytest.raises(StorageError, match="does not exist") as info:
        repo.create_collection(SCHEMA, "c")
    check_clear(info.value, url, options)
    with pytest.raises(StorageError, match="does not exist"):
        repo.pod.write("ab/cd/x", b"1")
    with pytest.raises(StorageError, match="does not exist"):
        repo.pod.read("ab/cd/x")


def test_wrong_credentials_are_one_clear_error(url: str, options: dict,
                                               s3_server: Any) -> None:
    s3_server.post("/moto-api/reset-auth", b"0")  # moto checks access keys from now on
    try:
        repo = Repo(url, storage_options={**options, "key": "WRONGKEY", "secret": "wrong"})
        with pytest.raises(StorageError, match=r"refused the credentials \(InvalidAccessKeyId\)") \
                as info:
            repo.ls()
        check_clear(info.value, url, options)
        assert "WRONGKEY" not in str(info.value)
    finally:
        s3_server.post("/moto-api/reset-auth", b"inf")


def test_missing_credentials_are_one_clear_error(url: str, s3_server: Any, options: dict,
                                                 tmp_path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    repo = Repo(url, storage_options={"endpoint_url": s3_server.endpoint})
    with pytest.raises(StorageError, match="no S3 credentials found") as info:
        repo.ls()
    check_clear(info.value, url, options)


def test_unreachable_endpoint_is_one_clear_error(s3_bucket: str, options: dict) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"s3://{s3_bucket}/repo"
    repo = Repo(url, storage_options={
        **options, "endpoint_url": f"http://127.0.0.1:{port}",
        "config_kwargs": {"retries": {"max_attempts": 1}},
    })
    started = time.monotonic()
    with pytest.raises(StorageError, match=f"cannot reach the S3 endpoint http://127.0.0.1:{port}") \
            as info:
        repo.ls()
    assert time.monotonic() - started < 10
    check_clear(info.value, url, options)


def test_credentials_never_printed(url: str, options: dict, caplog: pytest.LogCaptureFixture,
                                   s3_bucket: str) -> None:
    caplog.set_level(logging.DEBUG, logger="lakota_dask")
    caplog.set_level(logging.DEBUG, logger="s3fs")
    filled(url, options)
    repo = Repo(["memory://", url], storage_options=options)
    series = repo / "c" / "s"
    series.df()
    shown = [caplog.text, repr(repo), repr(repo.pod), repr(repo.pod.remote), repo.pod.location,
             repr(repo / "c"), repr(series), repr((repo / "c").changelog)]
    errors = []
    for bad in (f"s3://{s3_bucket}-absent/x", url):
        try:
            Repo(bad, storage_options=options).pod.read("no/such/file")
        except Exception as err:  # noqa: BLE001 - the messages themselves are under test
            errors.append(f"{err!s} {err!r}")
    assert len(errors) == 2
    assert "READ" in caplog.text  # the DEBUG lines were captured
    for text in shown + errors:
        assert options["key"] not in text and options["secret"] not in text


# -- revisions --------------------------------------------------------------------------
def test_a_revision_cannot_be_replaced(url: str, options: dict) -> None:
    data = filled(url, options)
    repo = Repo(url, storage_options=options)
    clct = repo / "c"
    leaf = clct.changelog.leaf()
    path = f"{clct.folder}/{leaf.path}"
    original = repo.pod.read(path)
    with pytest.raises(CommitConflictError, match="exists already"):
        repo.pod.write_new(path, b"another payload")  # If-None-Match: * refused by the server
    assert repo.pod.read(path) == original
    pd.testing.assert_frame_equal((Repo(url, storage_options=options) / "c" / "s").df(), data)


def test_a_retried_revision_put_finds_its_own_object(url: str, options: dict) -> None:
    # what a PUT retried after a lost answer meets: its own bytes already stored
    filled(url, options)
    repo = Repo(url, storage_options=options)
    clct = repo / "c"
    path = f"{clct.folder}/{clct.changelog.leaf().path}"
    original = repo.pod.read(path)
    repo.pod.write_new(path, original)
    assert repo.pod.read(path) == original


def test_changelog_longer_than_one_listing_page(url: str, options: dict, s3_bucket: str,
                                                s3_server: Any) -> None:
    data = filled(url, options)
    repo = Repo(url, storage_options=options)
    clct = repo / "c"
    first = clct.changelog.leaf()
    payload = repo.pod.read(f"{clct.folder}/{first.path}")
    # 1,100 more revisions of the same commit (so each is valid), one after the other
    names = [first.child] + [f"{hextime(name_time(first.child) + i)}-{first.digest}"
                             for i in range(1, 1_101)]
    s3_server.seed(s3_bucket, {f"repo/{clct.folder}/{parent}.{child}": payload
                               for parent, child in zip(names, names[1:])})
    s3_server.log.clear()
    assert clct.changelog.leaf().child == names[-1]
    assert s3_server.log.kinds() == ["LIST", "LIST"]  # 1,101 keys: two pages
    assert len(repo.pod.walk(clct.folder)) == 1_101
    pd.testing.assert_frame_equal((Repo(url, storage_options=options) / "c" / "s").df(), data)


def test_listing_is_fresh_between_repos(url: str, options: dict) -> None:
    filled(url, options)
    reader = Repo(url, storage_options=options) / "c" / "s"
    assert len(reader) == ROWS
    writer = Repo(url, storage_options=options) / "c" / "s"
    writer.write(frame(10, seed=1).assign(timestamp=pd.date_range("2030-01-01", periods=10)))
    assert len(reader) == ROWS + 10
    writer.delete()
    assert len(reader) == 0


# -- request counts ---------------------------------------------------------------------
def test_cold_read_requests(url: str, options: dict, s3_server: Any,
                            caplog: pytest.LogCaptureFixture) -> None:
    data = filled(url, options)
    clct = Repo(url, storage_options=options) / "c"  # the registry lookup is not counted
    caplog.set_level(logging.DEBUG, logger="lakota_dask")
    s3_server.log.clear()
    caplog.clear()
    pd.testing.assert_frame_equal((clct / "s").df(), data)
    # one LIST of the changelog, one GET of the commit, one GET per segment column
    assert s3_server.log.kinds() == ["LIST", "GET", "GET", "GET"]
    verbs = [r.getMessage().split()[0] for r in caplog.records if r.name == "lakota_dask"]
    assert verbs == ["LIST", "READ", "READ", "READ"]

    clct = Repo(url, storage_options=options) / "c"
    s3_server.log.clear()
    values = (clct / "s").df(select="value")["value"]
    np.testing.assert_array_equal(values, data["value"])
    assert s3_server.log.kinds() == ["LIST", "GET", "GET"]


def test_write_requests(url: str, options: dict, s3_server: Any) -> None:
    filled(url, options)
    clct = Repo(url, storage_options=options) / "c"
    s3_server.log.clear()
    clct.series("t").write(frame(seed=2))
    # two segment PUTs, the LIST and commit GET of the leaf, the revision PUT
    assert s3_server.log.kinds() == ["PUT", "PUT", "LIST", "GET", "PUT"]


@pytest.mark.parametrize("cache", ["memory", "folder"])
def test_warm_cache_lists_only(cache: str, url: str, options: dict, s3_server: Any,
                               tmp_path) -> None:
    data = filled(url, options)
    local = "memory://" if cache == "memory" else str(tmp_path / "cache")
    cached = Repo([local, url], storage_options=options)
    pd.testing.assert_frame_equal((cached / "c" / "s").df(), data)  # fills the cache
    # a new repository object on the same cache: nothing remembered in this process
    again = Repo(pod=cached.pod) if cache == "memory" else Repo([local, url],
                                                                storage_options=options)
    clct = again / "c"
    s3_server.log.clear()
    pd.testing.assert_frame_equal((clct / "s").df(), data)
    assert s3_server.log.kinds() == ["LIST"]


def move(source: Pod, target: Pod) -> None:
    """Move every file of ``source`` to ``target`` (the seed's ``os.rename``)."""
    keys = source.walk()
    target.write_many(dict(zip(keys, source.read_many(keys))))
    source.rm(keys)


def test_seed_caching_example(url: str, options: dict, s3_bucket: str) -> None:
    """The seed README's "Caching" section, with S3 as the remote."""
    remote = Repo(url, storage_options=options)
    clct = remote.create_collection(SCHEMA, "temperature")
    stamps = ["2020-01-01T00:00", "2020-01-02T00:00", "2020-01-03T00:00", "2020-01-04T00:00"]
    clct.series("Brussels").write({"timestamp": stamps, "value": range(4)})
    expected = pd.DataFrame({"timestamp": pd.to_datetime(stamps).astype("M8[ns]"),
                             "value": [0.0, 1, 2, 3]})

    cached_repo = Repo(["memory://", url], storage_options=options)
    pd.testing.assert_frame_equal((cached_repo / "temperature" / "Brussels").df(), expected)

    # "destroy" the remote: the listing comes from it, so the cache shows nothing
    elsewhere = open_pod(f"s3://{s3_bucket}/elsewhere", options)
    move(remote.pod, elsewhere)
    assert (cached_repo / "temperature" / "Brussels").df().empty
    # ... yet the data is in the cache, read on its own
    local = Repo(pod=cached_repo.pod.local)
    pd.testing.assert_frame_equal((local / "temperature" / "Brussels").df(), expected)
    # "fix" the remote: the cached repo works again
    move(elsewhere, remote.pod)
    pd.testing.assert_frame_equal((cached_repo / "temperature" / "Brussels").df(), expected)


# -- worker processes -------------------------------------------------------------------
def test_pod_pickles_by_address_and_options(url: str, options: dict) -> None:
    pod = open_pod(url, options)
    copy = pickle.loads(pickle.dumps(pod))
    assert isinstance(copy, S3Pod)
    assert (copy.root, copy.storage_options) == (pod.root, options)
    chain = pickle.loads(pickle.dumps(open_pod(["/tmp/cache-x", url], options)))
    assert chain.remote.storage_options == options


def test_read_in_another_process(url: str, options: dict, s3_bucket: str) -> None:
    data = filled(url, options)
    pod = Repo(url, storage_options=options).pod
    code = (
        "import base64, pickle, sys\n"
        "from lakota_dask import Repo\n"
        "pod = pickle.loads(base64.b64decode(sys.stdin.read()))\n"
        "print((Repo(pod=pod) / 'c' / 's').df()['value'].sum().round(6))\n"
    )
    # no AWS variables: the child can only connect with the options inside the pickle
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run([sys.executable, "-c", code], input=base64.b64encode(
        pickle.dumps(pod)).decode(), env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(round(data["value"].sum(), 6))


# -- push and pull ----------------------------------------------------------------------
def test_push_and_pull_between_s3_and_a_folder(url: str, options: dict, tmp_path) -> None:
    local = Repo(tmp_path / "local")
    data = frame()
    local.create_collection(SCHEMA, "c").series("s").write(data)
    remote = Repo(url, storage_options=options)

    pushed = local.push(remote)
    assert pushed.collections == ["c"] and pushed.revisions >= 1 and pushed.segments >= 2
    pd.testing.assert_frame_equal((Repo(url, storage_options=options) / "c" / "s").df(), data)
    assert local.push(remote).segments == 0  # nothing new

    more = frame(100, seed=3)
    (Repo(url, storage_options=options) / "c").series("t").write(more)
    pulled = local.pull(remote)
    assert pulled.revisions >= 1
    fresh = Repo(tmp_path / "local") / "c"
    assert fresh.ls() == ["s", "t"]
    pd.testing.assert_frame_equal((fresh / "t").df(), more)
    pd.testing.assert_frame_equal((fresh / "s").df(), data)


def test_collection_pull_from_s3_into_a_folder(url: str, options: dict, tmp_path) -> None:
    data = filled(url, options)
    local = Repo(tmp_path / "local").create_collection(SCHEMA, "c")
    local.pull(Repo(url, storage_options=options) / "c")
    pd.testing.assert_frame_equal((Repo(tmp_path / "local") / "c" / "s").df(), data)
