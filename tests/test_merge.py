"""Merges by replay: diverging writes come back together with no row lost.

Divergence is made the way users meet it: two repositories share a history (push), each
writes, then one pulls the other, which leaves two heads.
"""

from __future__ import annotations

import time

from lakota_dask import Repo, Schema
from lakota_dask.changelog import ROOT

SCHEMA = Schema(key="int*", value="float")


def write(series, keys, tag: float):
    """Write rows ``keys`` holding ``tag + key`` (so overwrites can be told apart)."""
    keys = list(keys)
    revision = series.write({"key": keys, "value": [tag + k for k in keys]})
    time.sleep(0.002)  # distinct revision times: "the later write" is well defined
    return revision


def content(series, **kw) -> dict[int, float]:
    frame = series.frame(**kw)
    return dict(zip(frame["key"].tolist(), frame["value"].tolist()))


def diverged(repo: Repo, tmp_path):
    """``repo`` and a file repo sharing collection "c", both then free to write."""
    clct = repo.create_collection(SCHEMA, "c")
    other = Repo(str(tmp_path / "other"))
    repo.push(other)
    return clct, other / "c", other


def test_merge_keeps_every_row_and_the_later_write_wins(repo: Repo, tmp_path) -> None:
    clct, clct_bis, other = diverged(repo, tmp_path)
    write(clct / "s", range(10), 0)
    repo.push(other)
    write(clct / "s", range(2, 5), 100)  # first
    write(clct_bis / "s", range(3, 7), 200)  # later: wins on 3 and 4
    write(clct_bis / "t", range(3), 300)  # a series only one side has
    repo.pull(other)
    assert len(clct.changelog.heads()) == 2

    result = clct.merge()

    assert (result.heads, result.revisions, result.ops) == (2, 3, 3)
    assert [h.child for h in clct.changelog.heads()] == [result.revision.child]
    expected = {k: float(k) for k in range(10)}
    expected.update({2: 102.0})
    expected.update({k: 200.0 + k for k in range(3, 7)})
    assert content(clct / "s") == expected
    assert content(clct / "t") == {0: 300.0, 1: 301.0, 2: 302.0}
    # the merge revision is a child of both heads: one file per head, one child name
    merged = [r for r in clct.changelog.log() if r.child == result.revision.child]
    assert len(merged) == 2


def test_merge_with_one_head_does_nothing(repo: Repo) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    assert clct.merge().heads == 0
    write(clct / "s", range(3), 0)
    log = clct.changelog.log()
    result = clct.merge()
    assert (result.heads, result.revisions, result.revision) == (1, 0, None)
    assert clct.changelog.log() == log


def test_merge_replays_deletes_and_renames(repo: Repo, tmp_path) -> None:
    clct, clct_bis, other = diverged(repo, tmp_path)
    write(clct / "a", range(10), 0)
    write(clct / "b", range(5), 10)
    write(clct / "gone", range(5), 20)
    repo.push(other)
    (clct / "a").delete(2, 4)
    clct.rename("b", "b2")
    clct_bis.delete("gone")
    write(clct_bis / "a", [8, 9], 500)
    repo.pull(other)
    clct.merge()
    assert content(clct / "a") == {0: 0.0, 1: 1.0, 5: 5.0, 6: 6.0, 7: 7.0, 8: 508.0,
                                   9: 509.0}
    assert clct.ls() == ["a", "b2"]
    assert content(clct / "b2") == {k: 10.0 + k for k in range(5)}


def test_merge_of_merges_and_concurrent_merges(repo: Repo, tmp_path) -> None:
    clct, clct_bis, bis = diverged(repo, tmp_path)
    ter = Repo(str(tmp_path / "ter"))
    repo.push(ter)
    clct_ter = ter / "c"
    write(clct / "s", range(0, 4), 100)
    write(clct_bis / "s", range(2, 6), 200)
    write(clct_ter / "s", range(5, 9), 300)
    # two repos merge the same two heads independently: two merge revisions
    repo.pull(bis)
    bis.pull(repo)
    clct.merge()
    clct_bis.merge()
    write(clct_bis / "s", [0], 400)
    repo.pull(bis)
    repo.pull(ter)
    assert len(clct.changelog.heads()) == 3
    clct.merge()
    expected = {0: 400.0, 1: 101.0, 2: 202.0, 3: 203.0, 4: 204.0, 5: 305.0, 6: 306.0,
                7: 307.0, 8: 308.0}
    assert content(clct / "s") == expected
    # the other side merges the same history to the same data
    bis.pull(repo)
    bis.pull(ter)
    clct_bis.merge()
    assert content(clct_bis / "s") == expected


def test_merge_replays_a_multi_revision_with_overlapping_writes(repo: Repo, tmp_path) -> None:
    clct, clct_bis, other = diverged(repo, tmp_path)
    write(clct / "s", range(20), 0)
    repo.push(other)
    with clct.multi():
        write(clct / "s", range(1, 6), 100)
        write(clct / "s", range(3, 9), 200)  # straddles the stop of the first write
    write(clct_bis / "s", [15], 300)
    repo.pull(other)
    clct.merge()
    expected = {k: float(k) for k in range(20)}
    expected.update({1: 101.0, 2: 102.0})
    expected.update({k: 200.0 + k for k in range(3, 9)})
    expected[15] = 315.0
    assert content(clct / "s") == expected


def test_time_travel_across_a_merge(repo: Repo, tmp_path) -> None:
    clct, clct_bis, other = diverged(repo, tmp_path)
    write(clct / "s", range(3), 0)
    write(clct_bis / "s", range(2, 5), 10)
    repo.pull(other)
    heads = clct.changelog.heads()
    time.sleep(0.01)
    result = clct.merge()
    assert content(clct / "s", before=heads[0]) == {0: 0.0, 1: 1.0, 2: 2.0}
    assert content(clct / "s", before=heads[1]) == {2: 12.0, 3: 13.0, 4: 14.0}
    assert content(clct / "s", before=result.revision) == {0: 0.0, 1: 1.0, 2: 12.0,
                                                            3: 13.0, 4: 14.0}


def test_registry_heads_are_read_together_then_merged(repo: Repo, tmp_path) -> None:
    repo.create_collection(SCHEMA, "shared", "doomed")
    other = Repo(str(tmp_path / "other"))
    repo.push(other)
    repo.create_collection(SCHEMA, "mine")
    other.create_collection(SCHEMA, "theirs")
    other.delete("doomed")
    write(other / "theirs" / "s", range(3), 0)
    repo.pull(other)
    assert len(repo.registry.changelog.heads()) == 2
    # before any merge, no collection hides behind the last registry head
    assert repo.ls() == ["mine", "shared", "theirs"]
    assert content(repo / "theirs" / "s") == {0: 0.0, 1: 1.0, 2: 2.0}

    write(repo / "shared" / "s", range(2), 0)
    write(other / "shared" / "s", [5], 0)
    repo.pull(other)
    done = repo.merge()

    assert set(done.collections) == {"registry", "shared"}
    assert done.heads == 4
    assert len(repo.registry.changelog.heads()) == 1
    assert repo.ls() == ["mine", "shared", "theirs"]
    assert content(repo / "shared" / "s") == {0: 0.0, 1: 1.0, 5: 5.0}
    assert repo.merge().collections == {}


def test_merge_after_a_shallow_pull_treats_the_head_as_a_snapshot(repo: Repo,
                                                                   tmp_path) -> None:
    source = Repo(str(tmp_path / "source"))
    src = source.create_collection(SCHEMA, "c")
    write(src / "s", range(10), 0)
    write(src / "s", range(2, 4), 100)
    clct = repo.create_collection(SCHEMA, "c")
    write(clct / "s", [20], 0)
    clct.pull(src, shallow=True)
    heads = clct.changelog.heads()
    assert len(heads) == 2 and all(h.parent != ROOT for h in heads if h.child in
                                   {r.child for r in src.changelog.heads()})
    clct.merge()
    expected = {k: float(k) for k in range(10)}
    expected.update({2: 102.0, 3: 103.0, 20: 20.0})
    assert content(clct / "s") == expected


def test_merge_narrows_rows_that_straddle_a_write(repo: Repo, tmp_path) -> None:
    clct, clct_bis, other = diverged(repo, tmp_path)
    for lo in range(0, 12, 3):
        write(clct / "s", range(lo, lo + 3), 0)  # one commit row per write: 0-2 ... 9-11
    repo.push(other)
    write(clct / "s", range(4, 8), 100)  # cuts rows 3-5 and 6-8
    write(clct_bis / "s", range(1, 2), 200)  # cuts row 0-2
    repo.pull(other)
    clct.merge()
    expected = {k: float(k) for k in range(12)}
    expected.update({k: 100.0 + k for k in range(4, 8)})
    expected[1] = 201.0
    assert content(clct / "s") == expected


def test_a_write_older_than_the_common_ancestor_does_not_undo_newer_ones(repo: Repo,
                                                                         tmp_path) -> None:
    clct = repo.create_collection(SCHEMA, "c")
    d, c, e = (Repo(str(tmp_path / name)) for name in "dce")
    for other in (d, c, e):
        repo.push(other)
    write(clct / "s", [5], 100)  # a1
    write(d / "c" / "s", [0], 200)  # x: older than c1 on the same key
    write(c / "c" / "s", [0], 300)  # c1
    repo.pull(c)
    merged = clct.merge().revision  # M joins a1 and c1
    e.pull(repo)
    e.pull(d)
    (e / "c").merge()  # joins M and x, which M never saw
    write(clct / "s", [9], 400)  # a2, after M
    repo.pull(e)
    assert {n for n in clct.changelog.ancestors()} >= {merged.child}
    clct.merge()
    # M is the most recent common ancestor, but x is older than M: replaying x over M would
    # undo c1, the later write
    assert content(clct / "s") == {0: 300.0, 5: 105.0, 9: 409.0}
