"""Eight processes write into one collection at once; after a merge nothing is lost.

Each process writes its own range, ranges shared with its neighbours, and one range every
process writes. The expected content is a model that replays every write in the order of
its revision's time: that is what "the later write wins" means.
"""

from __future__ import annotations

import multiprocessing

import numpy as np

from lakota_dask import Repo, Schema

SCHEMA = Schema(key="int*", value="float")
PROCESSES = 8
WRITES = 6


def _writer(path: str, worker: int, barrier) -> list[tuple[str, int, int, list[float]]]:
    """Write ``WRITES`` times; returns (revision child, first key, last key, values)."""
    series = Repo(path, durable=False) / "c" / "s"
    done = []
    barrier.wait()
    for i in range(WRITES):
        if i % 3 == 2:
            lo, hi = 10_000, 10_050  # every process writes here
        else:
            lo = worker * 100 + i * 30  # overlaps the next process's first writes
            hi = lo + 120
        keys = np.arange(lo, hi)
        values = (worker * 1000 + i + keys / 100_000).tolist()
        revision = series.write({"key": keys, "value": values})
        done.append((revision.child, lo, hi - 1, values))
    return done


def test_eight_writers_then_merge_lose_nothing(tmp_path) -> None:
    path = str(tmp_path / "repo")
    repo = Repo(path, durable=False)
    clct = repo.create_collection(SCHEMA, "c")
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(PROCESSES) as pool:
        barrier = manager.Barrier(PROCESSES)
        results = pool.starmap(_writer, [(path, w, barrier) for w in range(PROCESSES)])
    writes = sorted(w for result in results for w in result)
    assert len(writes) == PROCESSES * WRITES
    heads = clct.changelog.heads()
    assert len(heads) >= 2  # the writers did overlap in time

    result = clct.merge()

    assert result.heads == len(heads)
    assert len(clct.changelog.heads()) == 1
    model: dict[int, float] = {}
    for _, lo, hi, values in writes:  # sorted by revision name: time, then digest
        model = {k: v for k, v in model.items() if not lo <= k <= hi}
        model.update(zip(range(lo, hi + 1), values))
    frame = (clct / "s").frame()
    assert frame["key"].tolist() == sorted(model)
    assert frame["value"].tolist() == [model[k] for k in sorted(model)]
    # a second merger, late to the party, finds nothing to do
    assert Repo(path).collection("c").merge().revision is None
