"""Hostile files: hand-crafted revisions, shards, segments and registry rows.

Every file here carries a *valid* digest (it is named after the SHA-1 of its hostile
bytes), so it passes the digest check and reaches the decoders. Whatever it holds (wrong
types, huge counts, pickle bytes, nested garbage, negative offsets, digests of the wrong
length), reading it must raise ``CorruptDataError``: never code execution, never an
exception from deep inside numpy, never a hang or a huge allocation.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zstandard

import lakota_dask
from lakota_dask import Repo, Schema
from lakota_dask.changelog import ROOT
from lakota_dask.codec import blob_path, encode
from lakota_dask.collection import Collection
from lakota_dask.commit import Commit, Op, Row
from lakota_dask.errors import CorruptDataError, LakotaError
from lakota_dask.keys import Range
from lakota_dask.utils import hexdigest, hextime

SCHEMA = Schema(ts="int*", value="float", name="str")
#: no single read of a small hostile file may allocate more than this
MAX_PEAK_BYTES = 64 * 1024 * 1024
HUGE = 2**62


def packb(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def publish_raw(clct: Collection, payload: bytes) -> str:
    """Store ``payload`` as the newest revision of ``clct``, under its true digest."""
    parent = clct.changelog.leaf()
    child = f"{hextime()}-{hexdigest(payload)}"
    path = f"{clct.folder}/{parent.child if parent else ROOT}.{child}"
    clct.pod.write_new(path, payload)
    return path


def store_blob(clct: Collection, data: bytes) -> bytes:
    """Store ``data`` as a content-addressed file; its 20-byte digest."""
    clct.pod.write(blob_path(hexdigest(data)), data)
    return bytes.fromhex(hexdigest(data))


def good_segments() -> tuple[list[bytes], dict[bytes, bytes]]:
    """Digests and bytes of a valid 10-row segment per column of SCHEMA."""
    arrays = [np.arange(10, dtype="i8"), np.arange(10, dtype="f8"),
              np.array([f"v{i}" for i in range(10)], dtype=object)]
    blobs = {}
    for column, values in zip(SCHEMA.columns, arrays):
        data = encode(column, values)
        blobs[bytes.fromhex(hexdigest(data))] = data
    return list(blobs), blobs


def shard(rows: object = None, blobs: object = None) -> dict:
    """A valid shard payload for series ``x``; pieces replaced by the arguments."""
    digests, embedded = good_segments()
    return {
        "rows": {"x": [[[0], [9], 10, 0, digests]]} if rows is None else rows,
        "blobs": embedded if blobs is None else blobs,
    }


def revision(shards: object = None, ops: object = None) -> dict:
    """A valid revision payload whose single inline shard is ``shard()``."""
    return {
        "v": 1,
        "ops": [["x", [None, None, "both"]]] if ops is None else ops,
        "shards": [["x", "x", packb(shard()), None]] if shards is None else shards,
    }


class Marker:
    """Unpickling this object creates the file ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (self.path, "w"))


def hostile_row(**fields: object) -> dict:
    """A shard payload whose single row has some fields replaced."""
    digests, embedded = good_segments()
    row = {"start": [0], "stop": [9], "length": 10, "offset": 0, "digests": digests}
    row.update(fields)
    return shard({"x": [list(row.values())]}, embedded)


REVISIONS: dict[str, bytes] = {
    "empty": b"",
    "not msgpack": b"\xc1\xc1\xc1",
    "json": b'{"v": 1, "ops": [], "shards": []}',
    "random": bytes(range(256)) * 4,
    "int": packb(5),
    "list": packb([1, 2, 3]),
    "none": packb(None),
    "text": packb("hello"),
    "missing keys": packb({"v": 1}),
    "other version": packb({"v": 99, "ops": [], "shards": []}),
    "ext type": packb(msgpack.ExtType(42, b"\x00" * 8)),
    "timestamp ext": packb({"v": 1, "ops": [], "shards": msgpack.Timestamp(0)}),
    "deep nesting": b"\x91" * 200_000 + b"\xc0",
    "huge array count": b"\xdd\xff\xff\xff\xff",
    "huge map count": b"\xdf\xff\xff\xff\xff",
    "huge bin length": b"\xc6\xff\xff\xff\xff",
    "huge str length": b"\xdb\xff\xff\xff\xff",
    "ops int": packb(revision(ops=5)),
    "ops nested garbage": packb(revision(ops=[[{"a": [1, {"b": 2}]}, [1, 2]]])),
    "op bad closed": packb(revision(ops=[["x", [None, None, "sideways"]]])),
    "op range int": packb(revision(ops=[["x", 7]])),
    "shards dict": packb(revision(shards={"a": 1})),
    "shard entry short": packb(revision(shards=[["x", "x"]])),
    "shard entry int": packb(revision(shards=[5])),
    "inline huge int": packb(revision(shards=[["x", "x", 2**63 - 1, None]])),
    "inline negative int": packb(revision(shards=[["x", "x", -1, None]])),
    "inline list": packb(revision(shards=[["x", "x", [1, 2, 3], None]])),
    "inline garbage bytes": packb(revision(shards=[["x", "x", b"\xc1\xc1", None]])),
    "digest short": packb(revision(shards=[["x", "x", None, "abc"]])),
    "digest not hex": packb(revision(shards=[["x", "x", None, "z" * 40]])),
    "digest path traversal": packb(revision(shards=[["x", "x", None, "../" * 13 + "a"]])),
    "digest huge int": packb(revision(shards=[["x", "x", None, 2**64 - 1]])),
    "shard rows list": packb(revision(shards=[["x", "x", packb({"rows": [1], "blobs": {}}),
                                               None]])),
    "shard blobs huge ints": packb(revision(shards=[["x", "x", packb(shard(
        blobs={2**40: 2**40})), None]])),
}

ROWS: dict[str, dict] = {
    "row too short": shard({"x": [[[0], [9], 10]]}),
    "row all text": shard({"x": [["a", "b", "c", "d", "e"]]}),
    "row is a map": shard({"x": [{"start": 0}]}),
    "rows not a list": shard({"x": 5}),
    "negative length": hostile_row(length=-5),
    "negative offset": hostile_row(offset=-3),
    "huge length": hostile_row(length=HUGE),
    "huge offset": hostile_row(offset=HUGE),
    "length as text": hostile_row(length="ten"),
    "digests huge ints": hostile_row(digests=[2**40, 2**40, 2**40]),
    "digests short": hostile_row(digests=[b"ab", b"cd", b"ef"]),
    "digests as text": hostile_row(digests="abc"),
    "digest count": hostile_row(digests=good_segments()[0][:1]),
    "key nested": hostile_row(start=[{"a": [1, 2]}]),
    "key list of lists": hostile_row(start=[[1, [2]]], stop=[[3]]),
    "key ext": hostile_row(start=[msgpack.ExtType(1, b"x")]),
    "key wrong type": hostile_row(start=["a"], stop=["b"]),
    "key too wide": hostile_row(start=[0, 1, 2], stop=[9, 9, 9]),
    "key empty": hostile_row(start=[], stop=[]),
    "key int": hostile_row(start=5, stop=9),
    "embedded garbage": shard(blobs={d: b"garbage" for d in good_segments()[0]}),
}

#: row faults that only reading the segments can reveal
SEGMENT_ONLY = {"huge length", "huge offset", "embedded garbage"}


def zstd_claiming(size: int) -> bytes:
    """A tiny zstd frame whose header claims ``size`` decompressed bytes."""
    descriptor = (3 << 6) | (1 << 5) | (1 << 2)  # 8-byte content size, single segment, checksum
    block = (1 | (3 << 3)).to_bytes(3, "little") + b"abc"  # last raw block of 3 bytes
    return b"\x28\xb5\x2f\xfd" + bytes([descriptor]) + struct.pack("<Q", size) + block + b"\0" * 4


def zstd(payload: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=True).compress(payload)


SEGMENTS: dict[str, bytes] = {
    "empty": b"",
    "wrong tag": b"Z" + zstd(b"\0" * 80),
    "zstd garbage": b"D\x28\xb5\x2f\xfd" + b"\xff" * 64,
    "zstd claims a terabyte": b"D" + zstd_claiming(2**40),
    "zstd claims 2**63": b"D" + zstd_claiming(2**63),
    "partial value": b"D" + zstd(b"\0" * 7),
    "too few values": b"D" + zstd(b"\0" * 16),
    "truncated": encode(SCHEMA["ts"], np.arange(10, dtype="i8"))[:-3],
    "trailing junk": encode(SCHEMA["ts"], np.arange(10, dtype="i8")) + b"junk",
    "pickle": pickle.dumps(np.arange(10)),
}

TEXT_SEGMENTS: dict[str, bytes] = {
    "count huge": b"T" + zstd(struct.pack("<q", HUGE)),
    "count negative": b"T" + zstd(struct.pack("<q", -1)),
    "no header": b"T" + zstd(b"\1\2"),
    "negative length": b"T" + zstd(struct.pack("<qq", 1, -5) + b"abcde"),
    "lengths overflow": b"T" + zstd(struct.pack("<5q", 4, 2**62, 2**62, 2**62, 2**62 + 2) + b"ab"),
    "bad utf-8": b"T" + zstd(struct.pack("<qq", 1, 2) + b"\xff\xfe"),
    "lengths too long": b"T" + zstd(struct.pack("<qq", 1, 99) + b"ab"),
}


def reads(clct: Collection) -> dict[str, Callable[[], object]]:
    """Every way a user reads or updates series ``x``."""
    series = clct.series("x")
    return {
        "ls": clct.ls,
        "df": series.df,
        "bounded df": lambda: series.df(start=2, stop=5),
        "len": lambda: len(series),
        "tail": lambda: series.tail(3),
        "write": lambda: series.write({"ts": [3, 4], "value": [1.0, 2.0], "name": ["a", "b"]}),
        "delete": lambda: series.delete(2, 5),
    }


def assert_corrupt(call: Callable[[], object], label: str) -> str:
    """``call`` raises CorruptDataError (nothing else), cheaply; its message."""
    tracemalloc.start()
    try:
        with pytest.raises(LakotaError) as info:
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(info.value, CorruptDataError), f"{label}: {info.value!r}"
    assert peak < MAX_PEAK_BYTES, f"{label}: allocated {peak} bytes"
    return str(info.value)


@pytest.fixture(params=["memory", "file"])
def backend(request: pytest.FixtureRequest) -> str:
    """Decoding does not depend on the backend: the full matrix runs on the fast ones.

    ``test_hostile_files_on_s3`` covers S3 with one case of each kind.
    """
    return request.param


@pytest.fixture
def clct(repo: Repo) -> Collection:
    return repo.create_collection(SCHEMA, "hostile")


@pytest.mark.parametrize("case", sorted(REVISIONS))
def test_hostile_revision_is_corrupt_data(clct: Collection, case: str) -> None:
    path = publish_raw(clct, REVISIONS[case])
    for name, call in reads(clct).items():
        message = assert_corrupt(call, f"{case} / {name}")
        assert path in message, message


@pytest.mark.parametrize("case", sorted(ROWS))
@pytest.mark.parametrize("stored", [False, True], ids=["inline", "stored"])
def test_hostile_shard_is_corrupt_data(clct: Collection, case: str, stored: bool) -> None:
    data = packb(ROWS[case])
    if stored:
        entry = ["x", "x", None, store_blob(clct, data).hex()]
    else:
        entry = ["x", "x", data, None]
    publish_raw(clct, packb(revision(shards=[entry])))
    for name, call in reads(clct).items():
        if case in SEGMENT_ONLY and name in ("ls", "len"):
            call()  # both read the commit alone, not the segments that would disprove it
            continue
        assert_corrupt(call, f"{case} / {name}")


def publish_row(clct: Collection, digests: list[bytes], length: int = 10) -> None:
    """Publish a well-formed revision whose series ``x`` reads the given segments."""
    row = Row((0,), (length - 1,), length, 0, tuple(d.hex() for d in digests))
    commit = Commit().with_rows("x", [row], {})
    clct.publish(commit, [Op("x", Range())], [ROOT])


@pytest.mark.parametrize("case", sorted(SEGMENTS))
def test_hostile_segment_is_corrupt_data(clct: Collection, case: str) -> None:
    digests, embedded = good_segments()
    for data in embedded.values():
        store_blob(clct, data)
    bad = store_blob(clct, SEGMENTS[case])
    publish_row(clct, [bad, digests[1], digests[2]])
    for name, call in reads(clct).items():
        if name in ("ls", "len"):
            call()  # both read the commit alone, no segment
            continue
        message = assert_corrupt(call, f"{case} / {name}")
        assert blob_path(bad.hex()) in message
    report = clct.repo.check()
    assert report.corrupt == (blob_path(bad.hex()),), case


@pytest.mark.parametrize("case", sorted(TEXT_SEGMENTS))
def test_hostile_text_segment_is_corrupt_data(clct: Collection, case: str) -> None:
    digests, embedded = good_segments()
    for data in embedded.values():
        store_blob(clct, data)
    bad = store_blob(clct, TEXT_SEGMENTS[case])
    publish_row(clct, [digests[0], digests[1], bad])
    message = assert_corrupt(clct.series("x").df, case)
    assert blob_path(bad.hex()) in message
    assert clct.series("x").df(select="value")["value"].tolist() == list(range(10))


def test_hostile_revisions_are_reported_by_check(repo: Repo) -> None:
    before = snapshot(repo)
    clcts = repo.create_collection(SCHEMA, *[f"c{i}" for i in range(len(REVISIONS))])
    for clct, payload in zip(clcts, REVISIONS.values()):
        publish_raw(clct, payload)
    assert before != snapshot(repo)
    state = snapshot(repo)
    report = repo.check()
    assert len(report.corrupt) == len(REVISIONS)
    assert not report.missing
    assert snapshot(repo) == state


def snapshot(repo: Repo) -> dict[str, bytes]:
    return {path: repo.pod.read(path) for path in repo.pod.walk()}


def test_pickle_payload_is_never_unpickled(repo: Repo, tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(Marker(str(marker)))
    pickle.loads(payload)  # the payload is live: unpickling it creates the marker
    assert marker.exists()
    marker.unlink()
    clct = repo.create_collection(SCHEMA, "pickled")
    publish_raw(clct, payload)
    inline = packb(revision(shards=[["x", "x", payload, None]]))
    other = repo.create_collection(SCHEMA, "pickled shard")
    publish_raw(other, inline)
    digests, embedded = good_segments()
    third = repo.create_collection(SCHEMA, "pickled segment")
    for data in embedded.values():
        store_blob(third, data)
    publish_row(third, [store_blob(third, payload), digests[1], digests[2]])
    for target in (clct, other, third):
        for name, call in reads(target).items():
            try:
                call()
            except CorruptDataError:
                pass
    repo.check()
    assert not marker.exists()


def test_package_never_unpickles_or_evaluates() -> None:
    forbidden = re.compile(
        r"\bpickle\.loads?\b|\bimport pickle\b|\bcloudpickle\b|\bmarshal\b|\bshelve\b"
        r"|(?<![\w.])eval\(|(?<![\w.])exec\(|allow_pickle\s*=\s*True|read_pickle"
        r"|yaml\.load\(|\bdill\b|__import__"
    )
    package = Path(lakota_dask.__file__).parent
    offenders = []
    for source in sorted(package.rglob("*.py")):
        for number, line in enumerate(source.read_text().splitlines(), 1):
            if forbidden.search(line):
                offenders.append(f"{source.name}:{number}: {line.strip()}")
    assert offenders == []
    decoders = "".join(p.read_text() for p in package.rglob("*.py"))
    assert "msgpack.unpackb" in decoders and "raw=False" in decoders


# -- the registry ----------------------------------------------------------------------
REGISTRY_ROWS: dict[str, dict[str, str]] = {
    "folder escapes the root": {"schema": SCHEMA.dumps(), "folder": "../outside"},
    "folder absolute": {"schema": SCHEMA.dumps(), "folder": "/tmp"},
    "folder not a digest": {"schema": SCHEMA.dumps(), "folder": "ab/cd/not-hex"},
    "schema not json": {"schema": "not json {", "folder": blob_path("1" * 40)},
    "schema deep nesting": {"schema": "[" * 100_000, "folder": blob_path("1" * 40)},
    "schema wrong shape": {"schema": '{"columns": 5}', "folder": blob_path("1" * 40)},
    "schema object dtype": {"schema": '{"columns": [["a", "O8", true]]}',
                            "folder": blob_path("1" * 40)},
    "schema pickle dtype": {"schema": '{"columns": [["a", "V99999999999", true]]}',
                            "folder": blob_path("1" * 40)},
    "schema no index": {"schema": '{"columns": [["a", "int", false]]}',
                        "folder": blob_path("1" * 40)},
}


@pytest.mark.parametrize("case", sorted(REGISTRY_ROWS))
def test_hostile_registry_row(tmp_path: Path, case: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    bait = outside / f"{ROOT}.{hextime()}-{'1' * 40}"
    bait.write_bytes(b"bait")
    repo = Repo(str(tmp_path / "repo"))
    repo.create_collection(SCHEMA, "fine")
    entry = {"label": ["evil"], **{k: [v] for k, v in REGISTRY_ROWS[case].items()}}
    repo.registry.series("collections").write(entry)
    assert repo.ls() == ["evil", "fine"]
    reopened = Repo(str(tmp_path / "repo"))
    message = assert_corrupt(lambda: reopened.collection("evil"), case)
    assert "evil" in message
    assert_corrupt(lambda: reopened.delete("evil"), case)
    assert reopened.collection("fine").ls() == []
    report = reopened.check()
    assert len(report.corrupt) == 1
    assert sorted(os.listdir(outside)) == [bait.name]
    assert bait.read_bytes() == b"bait"


@pytest.mark.parametrize("case", ["not msgpack", "pickle", "huge array count", "digest huge int"])
def test_hostile_registry_revision(repo: Repo, case: str, tmp_path: Path) -> None:
    payload = pickle.dumps(Marker(str(tmp_path / "m"))) if case == "pickle" else REVISIONS[case]
    publish_raw(repo.registry, payload)
    assert_corrupt(repo.ls, case)
    assert_corrupt(lambda: repo.create_collection(SCHEMA, "new"), case)
    report = repo.check()
    assert len(report.corrupt) == 1
    assert not (tmp_path / "m").exists()


def test_hostile_files_on_s3(s3_bucket: str, s3_server) -> None:  # noqa: ANN001
    repo = Repo(f"s3://{s3_bucket}/repo", storage_options=dict(s3_server.options))
    revision_case, shard_case, segment_case = "digest huge int", "digests huge ints", "truncated"
    first, second, third = repo.create_collection(SCHEMA, "a", "b", "c")
    publish_raw(first, REVISIONS[revision_case])
    publish_raw(second, packb(revision(shards=[["x", "x", None, store_blob(
        second, packb(ROWS[shard_case])).hex()]])))
    digests, embedded = good_segments()
    for data in embedded.values():
        store_blob(third, data)
    bad = store_blob(third, SEGMENTS[segment_case])
    publish_row(third, [bad, digests[1], digests[2]])
    for clct in (first, second, third):
        assert_corrupt(clct.series("x").df, clct.label)
    report = repo.check()
    assert len(report.corrupt) == 3 and blob_path(bad.hex()) in report.corrupt
