"""Soak: many writer processes, a merge and gc loop, and nothing lost.

Writer processes do random writes and deletes on the series of one collection of a local
repository, each logging every operation with the revision its call returned. Meanwhile
another process runs ``repo.merge()`` and ``repo.gc()`` in a loop. At the end, after a
final merge, every series must equal a replay of all the logged operations in the order
of their revisions (time, then name: the order merges replay), and ``repo.check()`` must
find every referenced segment present and intact.

8 writers x 200 operations take about 40 s on two cores, so the soak runs in the default
suite. It prints its figures (``pytest -s``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakota_dask import Repo, Schema
from lakota_dask.changelog import name_time

SCHEMA = Schema(ts="int*", value="float")
LABELS = ["a", "b", "c", "d", "e"]

WRITER = r"""
import json, os, sys, time
import numpy as np
from lakota_dask import Repo

root, seed, count, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(seed)
clct = Repo(root, durable=False) / "soak"
labels = %(labels)r
open(out + ".ready", "w").close()
while not os.path.exists(os.path.join(os.path.dirname(out), "go")):
    time.sleep(0.01)  # every writer starts at once: their writes overlap
with open(out, "w") as log:
    for _ in range(count):
        label = labels[int(rng.integers(len(labels)))]
        series = clct.series(label)
        if rng.random() < 0.2:
            lo = int(rng.integers(0, 500))
            hi = lo + int(rng.integers(0, 100))
            revision = series.delete(lo, hi)
            entry = {"kind": "delete", "lo": lo, "hi": hi}
        else:
            n = int(rng.choice([3, 40, 300]))
            ts = np.sort(rng.choice(500, size=n, replace=False))
            values = np.round(rng.random(n), 6)
            revision = series.write({"ts": ts, "value": values})
            entry = {"kind": "write", "ts": ts.tolist(), "value": values.tolist()}
        entry.update(label=label, revision=revision.child)
        log.write(json.dumps(entry) + "\n")
""" % {"labels": LABELS}

MAINTAINER = r"""
import json, os, sys, time
from lakota_dask import Repo

root, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
merges = gcs = soft = removed = 0
while not os.path.exists(stop):
    repo = Repo(root, durable=False)
    merges += sum(1 for r in repo.merge().collections.values() if r.revision is not None)
    result = repo.gc(timeout=5)
    gcs += 1
    soft += result.soft_deleted
    removed += result.removed
    time.sleep(0.05)
with open(out, "w") as fh:
    json.dump({"merges": merges, "gcs": gcs, "soft_deleted": soft, "removed": removed}, fh)
"""


def replay(entries: list[dict]) -> dict[str, dict[int, float]]:
    """Each series as the operations leave it, applied in revision order."""
    state: dict[str, dict[int, float]] = {label: {} for label in LABELS}
    for entry in sorted(entries, key=lambda e: (name_time(e["revision"]), e["revision"])):
        rows = state[entry["label"]]
        if entry["kind"] == "delete":
            lo, hi = entry["lo"], entry["hi"]
        else:
            lo, hi = entry["ts"][0], entry["ts"][-1]
        for key in [k for k in rows if lo <= k <= hi]:
            del rows[key]
        if entry["kind"] == "write":
            rows.update(zip(entry["ts"], entry["value"]))
    return state


def soak(root: Path, writers: int, operations: int) -> dict:
    repo = Repo(str(root), durable=False)
    repo.create_collection(SCHEMA, "soak")
    logs = [root.parent / f"writer-{i}.jsonl" for i in range(writers)]
    stop, figures = root.parent / "stop", root.parent / "maintainer.json"
    started = time.monotonic()
    maintainer = subprocess.Popen([sys.executable, "-c", MAINTAINER, str(root), str(stop),
                                   str(figures)])
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(i),
                               str(operations), str(log)]) for i, log in enumerate(logs)]
    try:
        while not all(Path(f"{log}.ready").exists() for log in logs):
            assert all(p.poll() is None for p in procs), "a writer died before it started"
            time.sleep(0.05)
        (root.parent / "go").touch()
        codes = [p.wait(timeout=900) for p in procs]
    finally:
        # whatever happened, no process outlives the test
        stop.touch()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        try:
            maintainer.wait(timeout=300)
        finally:
            if maintainer.poll() is None:
                maintainer.kill()
                maintainer.wait()
    assert maintainer.returncode == 0
    assert codes == [0] * writers
    elapsed = time.monotonic() - started

    repo = Repo(str(root), durable=False)
    final = repo.merge()
    clct = repo / "soak"
    assert len(clct.changelog.heads()) == 1
    entries = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    assert len(entries) == writers * operations
    expected = replay(entries)
    for label in LABELS:
        df = clct.series(label).df()
        keys = sorted(expected[label])
        assert df["ts"].tolist() == keys, label
        assert df["value"].tolist() == [expected[label][k] for k in keys], label
    report = repo.check()
    assert report.ok, report.messages
    result = json.loads(figures.read_text())
    result.update(operations=len(entries), revisions=len(clct.changelog.log()),
                  final_merge="soak" in final.collections, minutes=elapsed / 60,
                  segments=report.segments)
    print(f"\nsoak {writers}x{operations}: {result}")
    return result


@pytest.mark.timeout(600)
def test_soak(tmp_path: Path) -> None:
    figures = soak(tmp_path / "repo", writers=8, operations=200)
    assert figures["gcs"] >= 1
