"""The pod contract, run on every kind of pod: memory, file, s3 and two cache chains.

Each test states one promise of :class:`lakota_dask.storage.Pod` that the layers above
rely on; S3-only behaviour (errors, request counts, credentials, listings longer than
one page of 1,000 keys) is in test_s3.py.
"""

from __future__ import annotations

import pickle

import pytest

from lakota_dask.errors import (
    CommitConflictError,
    InvalidURLError,
    SchedulerError,
    SegmentMissingError,
)
from lakota_dask.storage import CachePod, FilePod, MemoryPod, Pod, S3Pod, open_pod

KINDS = ["memory", "file", "s3", "cache-memory-s3", "cache-file-s3"]


@pytest.fixture(params=KINDS)
def pod(request: pytest.FixtureRequest, tmp_path) -> Pod:
    """An empty pod of each kind."""
    kind = request.param
    if kind == "memory":
        return open_pod("memory://")
    if kind == "file":
        return open_pod(tmp_path / "pod")
    server = request.getfixturevalue("s3_server")
    remote = f"s3://{request.getfixturevalue('s3_bucket')}/pod"
    if kind == "s3":
        return open_pod(remote, server.options)
    local = "memory://" if kind == "cache-memory-s3" else str(tmp_path / "cache")
    return open_pod([local, remote], server.options)


def reopen(pod: Pod) -> Pod:
    """Another pod on the same storage (a pickled copy), or ``pod`` for a memory pod."""
    return pickle.loads(pickle.dumps(pod)) if pod.shareable else pod


class TestPodContract:
    """What every pod promises."""

    def test_write_then_read_returns_the_bytes(self, pod: Pod) -> None:
        pod.write("ab/cd/file", b"one")
        assert pod.read("ab/cd/file") == b"one"
        pod.write("ab/cd/file", b"two")
        assert pod.read("ab/cd/file") == b"two"

    def test_read_of_an_absent_file_is_segment_missing(self, pod: Pod) -> None:
        with pytest.raises(SegmentMissingError, match="ab/cd/none is missing") as info:
            pod.read("ab/cd/none")
        assert isinstance(info.value, FileNotFoundError)

    def test_read_many_keeps_the_order_and_names_a_missing_file(self, pod: Pod) -> None:
        pod.write_many({"a/1": b"1", "a/2": b"22", "b/3": b"333"})
        assert pod.read_many(["b/3", "a/1", "a/2", "a/1"]) == [b"333", b"1", b"22", b"1"]
        assert pod.read_many([]) == []
        with pytest.raises(SegmentMissingError, match="a/9 is missing"):
            pod.read_many(["a/1", "a/9"])

    def test_write_new_is_create_only(self, pod: Pod) -> None:
        pod.write_new("log/rev", b"first")
        with pytest.raises(CommitConflictError, match="log/rev exists already"):
            pod.write_new("log/rev", b"second")
        assert reopen(pod).read("log/rev") == b"first"

    def test_ls_lists_files_and_folders_sorted(self, pod: Pod) -> None:
        pod.write_many({"top/b": b"", "top/a": b"x", "top/sub/c": b"y", "other/d": b"z"})
        assert pod.ls("top") == ["a", "b", "sub"]
        assert pod.ls() == ["other", "top"]
        assert pod.ls("absent") == []

    def test_ls_is_fresh_after_another_writer(self, pod: Pod) -> None:
        pod.write("log/1", b"1")
        assert pod.ls("log") == ["1"]
        reopen(pod).write_new("log/2", b"2")
        assert pod.ls("log") == ["1", "2"]
        reopen(pod).rm(["log/1"])
        assert pod.ls("log") == ["2"]

    def test_walk_gives_every_file_below_a_folder(self, pod: Pod) -> None:
        pod.write_many({"x/a/1": b"1", "x/a/b/2": b"2", "x/3": b"3", "y/4": b"4"})
        assert pod.walk("x") == ["x/3", "x/a/1", "x/a/b/2"]
        assert pod.walk() == ["x/3", "x/a/1", "x/a/b/2", "y/4"]
        assert pod.walk("absent") == []

    def test_exists(self, pod: Pod) -> None:
        pod.write("f/g/h", b"1")
        assert pod.exists("f/g/h")
        assert pod.exists("f/g")
        assert not pod.exists("f/g/none")

    def test_rm_removes_and_ignores_absent_files(self, pod: Pod) -> None:
        pod.write_many({"r/1": b"1", "r/2": b"2", "r/3": b"3"})
        pod.rm(["r/1", "r/3", "r/absent"])
        assert pod.ls("r") == ["2"]
        pod.rm([])
        assert pod.read("r/2") == b"2"

    def test_mv_renames(self, pod: Pod) -> None:
        pod.write("m/old", b"data")
        pod.mv("m/old", "m/new.0123")
        assert pod.ls("m") == ["new.0123"]
        assert pod.read("m/new.0123") == b"data"
        with pytest.raises(SegmentMissingError):
            pod.read("m/old")

    def test_flush_keeps_the_data(self, pod: Pod) -> None:
        pod.write_many({"s/1": b"1"})
        pod.flush()
        assert reopen(pod).read("s/1") == b"1"

    def test_pickling(self, pod: Pod) -> None:
        if not pod.shareable:
            with pytest.raises(SchedulerError, match="memory:// repository"):
                pickle.dumps(pod)
            return
        pod.write("p/1", b"shared")
        copy = pickle.loads(pickle.dumps(pod))
        assert type(copy) is type(pod)
        assert copy.location == pod.location
        assert copy.read("p/1") == b"shared"

    def test_location_names_the_storage(self, pod: Pod) -> None:
        assert pod.location in repr(pod)
        assert pod.local.location in pod.location


def test_open_pod_picks_the_backend(tmp_path) -> None:
    assert isinstance(open_pod("memory://"), MemoryPod)
    assert isinstance(open_pod(str(tmp_path)), FilePod)
    assert open_pod(f"file://{tmp_path}").root == str(tmp_path)
    s3 = open_pod("s3://bucket/some/prefix/", {"anon": True})
    assert isinstance(s3, S3Pod)
    assert (s3.root, s3.bucket, s3.location) == ("bucket/some/prefix", "bucket",
                                                 "s3://bucket/some/prefix")
    assert open_pod("s3:///bucket", {"anon": True}).root == "bucket"  # the seed's form
    chain = open_pod(["memory://", str(tmp_path)])
    assert isinstance(chain, CachePod)
    assert isinstance(chain.local, MemoryPod) and isinstance(chain.remote, FilePod)


@pytest.mark.parametrize("address", ["", "s3://", "s3:///", "memory://x", "ftp://host/x", []])
def test_open_pod_refuses_bad_addresses(address) -> None:
    with pytest.raises(InvalidURLError):
        open_pod(address)
