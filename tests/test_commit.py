"""The commit algebra, without storage: rows replaced over ranges, shards, encoding."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from lakota_dask.commit import MAX_SHARD_LABELS, Commit, Op, Row, Shard
from lakota_dask.errors import CorruptDataError
from lakota_dask.keys import Range

# a "segment" here is a digest naming an array of keys
SEGMENTS = {
    "a" * 40: np.arange(0, 10),
    "b" * 40: np.arange(20, 30),
    "c" * 40: np.arange(40, 50),
}


def row(digest: str, offset: int = 0, length: int | None = None) -> Row:
    keys = SEGMENTS[digest]
    length = len(keys) - offset if length is None else length
    return Row((int(keys[offset]),), (int(keys[offset + length - 1]),), length, offset,
               (digest,))


class KeyLoader:
    """``load_keys`` for the commit: the keys of a row's slice, counting the calls."""

    def __init__(self) -> None:
        self.calls: list[Row] = []

    def __call__(self, r: Row) -> list[np.ndarray]:
        self.calls.append(r)
        return [SEGMENTS[r.digests[0]][r.offset : r.offset + r.length]]


def spans(commit: Commit, label: str = "x") -> list[tuple[int, int, int, int, str]]:
    return [(r.start[0], r.stop[0], r.offset, r.length, r.digests[0][0])
            for r in commit.rows(label)]


def base() -> Commit:
    return Commit().with_rows("x", [row("a" * 40), row("b" * 40), row("c" * 40)], {})


def test_update_narrows_straddling_rows_and_keeps_the_others() -> None:
    loader = KeyLoader()
    commit = base().update("x", Range((5,), (25,)), [], {}, loader)
    assert spans(commit) == [(0, 4, 0, 5, "a"), (26, 29, 6, 4, "b"), (40, 49, 0, 10, "c")]
    # only the two rows crossing a bound needed their keys
    assert [r.digests[0][0] for r in loader.calls] == ["a", "b"]


def test_a_short_middle_write_splits_one_row_in_two() -> None:
    new = Row((22,), (23,), 2, 0, ("d" * 40,))
    commit = base().update("x", Range((22,), (23,)), [new], {}, KeyLoader())
    assert spans(commit) == [(0, 9, 0, 10, "a"), (20, 21, 0, 2, "b"), (22, 23, 0, 2, "d"),
                             (24, 29, 4, 6, "b"), (40, 49, 0, 10, "c")]


@pytest.mark.parametrize(
    "closed, expected",
    [
        ("both", [(0, 4, 0, 5), (8, 9, 8, 2)]),
        ("left", [(0, 4, 0, 5), (7, 9, 7, 3)]),
        ("right", [(0, 5, 0, 6), (8, 9, 8, 2)]),
        ("neither", [(0, 5, 0, 6), (7, 9, 7, 3)]),
    ],
)
def test_update_closed(closed: str, expected: list[tuple[int, int, int, int]]) -> None:
    commit = Commit().with_rows("x", [row("a" * 40)], {})
    commit = commit.update("x", Range((5,), (7,), closed), [], {}, KeyLoader())
    assert [s[:4] for s in spans(commit)] == expected


def test_narrowing_twice_keeps_offsets_in_the_segment() -> None:
    commit = Commit().with_rows("x", [row("a" * 40)], {})
    commit = commit.update("x", Range((0,), (1,)), [], {}, KeyLoader())
    commit = commit.update("x", Range((8,), None), [], {}, KeyLoader())
    commit = commit.update("x", Range((4,), (4,)), [], {}, KeyLoader())
    assert spans(commit) == [(2, 3, 2, 2, "a"), (5, 7, 5, 3, "a")]


def test_update_outside_every_row_changes_nothing() -> None:
    loader = KeyLoader()
    commit = base().update("x", Range((11,), (19,)), [], {}, loader)
    assert spans(commit) == spans(base()) and loader.calls == []


def test_delete_everything_drops_the_label() -> None:
    commit = base().with_rows("y", [row("a" * 40)], {})
    commit = commit.update("x", Range(), [], {}, KeyLoader())
    assert commit.labels() == ["y"] and commit.rows("x") == () and len(commit) == 1


def test_labels_stay_sorted_and_unknown_labels_have_no_rows() -> None:
    commit = Commit()
    for label in ["m", "b", "z", "a"]:
        commit = commit.with_rows(label, [row("a" * 40)], {})
    assert commit.labels() == ["a", "b", "m", "z"]
    assert commit.rows("c") == () and Commit().rows("c") == ()
    assert Commit().with_rows("a", [], {}).labels() == []


def test_embedded_blobs_follow_the_rows_that_use_them() -> None:
    blobs = {"a" * 40: b"A", "b" * 40: b"B"}
    commit = Commit().with_rows("x", [row("a" * 40), row("b" * 40)], blobs)
    assert commit.blob("a" * 40, "x") == b"A"
    commit = commit.update("x", Range((0,), (9,)), [], {}, KeyLoader())
    assert commit.blob("a" * 40, "x") is None and commit.blob("b" * 40, "x") == b"B"
    payload, _ = commit.encode([])
    decoded, _ = Commit.decode(payload, None, "here")
    assert decoded.blob("b" * 40, "x") == b"B" and decoded.blob("a" * 40, "x") is None


def many_labels(n: int) -> Commit:
    # three rows a label make a full shard larger than what is inlined in a revision
    rows = {f"s{i:05d}": (row("a" * 40), row("b" * 40), row("c" * 40)) for i in range(n)}
    commit = Commit()
    for label, rs in rows.items():
        commit = commit.with_rows(label, rs, {})
    return commit


def test_shards_split_labels_and_encode_round_trips() -> None:
    commit = many_labels(MAX_SHARD_LABELS + 10)
    assert len(commit._shards) == 2
    payload, stored = commit.encode([Op("s00001", Range((1,), None, "left"))])
    assert len(stored) == 1  # the full shard is a blob, the small one is inline
    decoded, ops = Commit.decode(payload, lambda d: Shard.decode(stored[d], d, d), "here")
    assert ops == [Op("s00001", Range((1,), None, "left"))]
    assert decoded.labels() == commit.labels()
    assert decoded.rows("s00300") == () and spans(decoded, "s00265")[0] == (0, 9, 0, 10, "a")


def test_a_write_to_one_label_re_encodes_only_its_shard() -> None:
    commit = many_labels(MAX_SHARD_LABELS * 2)
    _, stored = commit.encode([])
    loaded: list[str] = []

    def load(digest: str) -> Shard:
        loaded.append(digest)
        return Shard.decode(stored[digest], digest, digest)

    decoded, _ = Commit.decode(commit.encode([])[0], load, "here")
    changed = decoded.with_rows("s00003", [row("b" * 40)], {})
    _, new_blobs = changed.encode([])
    assert len(loaded) == 1 and len(new_blobs) == 1
    assert set(changed.stored_shards()) - set(new_blobs) == set(stored) - {loaded[0]}


def test_decode_refuses_malformed_payloads() -> None:
    good, _ = base().encode([])
    bad_version = msgpack.packb({"v": 99, "ops": [], "shards": []})
    no_shard = msgpack.packb({"v": 1, "ops": [], "shards": [["a", "b", None, None]]})
    for payload, match in [(b"\x00garbage", "malformed revision"),
                           (bad_version, "unknown format version 99"),
                           (no_shard, "neither bytes nor a digest"),
                           (good + b"x", "malformed revision")]:
        with pytest.raises(CorruptDataError, match=match):
            Commit.decode(payload, None, "here")
    with pytest.raises(CorruptDataError, match="malformed commit shard"):
        Shard.decode(b"\x91\x01", "here")


def test_row_and_op_encoding() -> None:
    r = Row(("a", 1), ("b", 2), 5, 3, ("ab" * 20, "cd" * 20))
    assert Row.decode(r.encode()) == r
    op = Op("x", Range(("a",), ("b", 2), "neither"))
    assert Op.decode(op.encode()) == op
