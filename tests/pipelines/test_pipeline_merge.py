"""pipelines/merge.py end to end, on a local cluster of worker processes."""

from __future__ import annotations

import pandas as pd
import pytest
from pipeline_fixtures import scheduler, store  # noqa: F401 - fixtures

from lakota_dask import Repo, Schema
from pipelines import merge

SCHEMA = Schema("timestamp timestamp*\nvalue float")
NAMES = ("rain", "temperature")


def diverge(repo: Repo, other: Repo) -> Repo:
    """Two collections whose changelogs have two heads each (the seed's merge example)."""
    repo.create_collection(SCHEMA, *NAMES)
    repo.push(other)
    for name in NAMES:
        (repo / name / "Brussels").write({"timestamp": ["2020-01-01", "2020-01-02"],
                                          "value": [1, 2]})
        (other / name / "Brussels").write({"timestamp": ["2020-01-02", "2020-01-03"],
                                           "value": [20, 30]})
    repo.pull(other)
    assert [len((repo / name).changelog.heads()) for name in NAMES] == [2, 2]
    return repo


def store_diverged(store) -> Repo:
    """:func:`diverge` on the repository of ``store`` and one beside it."""
    return diverge(store.repo(), Repo(store.path("other"), storage_options=store.options or None))


def heads(repo: Repo) -> list[int]:
    return [len((repo / name).changelog.heads()) for name in NAMES]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = merge.main([*argv, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def test_merge_once_then_again(store, scheduler: str, capsys) -> None:
    repo = store_diverged(store)
    code, out, err = run(capsys, *store.args(), "--once", "--scheduler", scheduler)
    assert (code, err) == (0, "")
    (line,) = out.splitlines()
    assert " ok: 2 merged: rain (2 heads), temperature (2 heads);" in line
    assert heads(repo) == [1, 1]
    for name in NAMES:
        frame = (repo / name / "Brussels").df()
        assert frame["value"].tolist() == [1.0, 20.0, 30.0]
        assert frame["timestamp"].tolist() == list(pd.to_datetime(
            ["2020-01-01", "2020-01-02", "2020-01-03"]))

    code, out, _ = run(capsys, *store.args(), "--once", "--scheduler", scheduler)
    assert code == 0 and " ok: 0 merged;" in out


def test_merge_with_policies_every(store, scheduler: str, capsys) -> None:
    repo = store_diverged(store)
    code, out, err = run(capsys, *store.args(), "--every", "1s", "--max-runs", "2",
                         "--defrag", "--trim-before", "1s", "--gc", "--scheduler", scheduler)
    assert (code, err) == (0, "")
    first, second = out.splitlines()
    assert " ok: 2 merged" in first and " ok: 0 merged" in second
    for line in (first, second):
        assert "series defragmented" in line and "revisions trimmed" in line
        assert "gc: revisions" in line
    assert heads(repo) == [1, 1]
    assert (repo / "rain" / "Brussels").df()["value"].tolist() == [1.0, 20.0, 30.0]


def test_a_failed_merge_leaves_every_collection_as_it_was(tmp_path, scheduler: str,
                                                          capsys) -> None:
    repo = diverge(Repo(str(tmp_path / "db")), Repo(str(tmp_path / "other")))
    before = {name: sorted(r.path for r in (repo / name).changelog.log()) for name in NAMES}
    # corrupt one head of "rain": its merge fails, "temperature"'s is rolled back
    head = (repo / "rain").changelog.heads()[0]
    (tmp_path / "db" / (repo / "rain").folder / head.path).write_bytes(b"garbage")

    code, out, err = run(capsys, "--repo", str(tmp_path / "db"), "--once", "--defrag",
                         "--scheduler", scheduler)
    assert code == 1 and out == ""
    (line,) = err.splitlines()
    assert " FAILED: 0 merged; 1 failed: rain: CorruptDataError" in line
    assert "rolled back: temperature" in line
    assert "defragmented" not in line
    after = {name: sorted(r.path for r in (repo / name).changelog.log()) for name in NAMES}
    assert after == before


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["--repo", "ftp://x/db", "--once"], 1, "error: 'ftp://x/db': unknown scheme"),
    (["--repo", "db", "--every", "10x"], 2, "expected a positive duration"),
    (["--repo", "db"], 2, "one of the arguments --once --every is required"),
    (["--once"], 1, "error: no repository given"),
])
def test_merge_bad_arguments(argv, code, message, capsys, monkeypatch) -> None:
    monkeypatch.delenv("LAKOTA_REPO", raising=False)
    got, _, err = run(capsys, *argv)
    assert got == code
    assert message in err


def test_merge_unreachable_scheduler(tmp_path, capsys, monkeypatch) -> None:
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, _, err = run(capsys, "--repo", str(tmp_path), "--once",
                           "--scheduler", "tcp://127.0.0.1:9")
    assert code == 1
    assert err.startswith("error: cannot reach the dask scheduler at tcp://127.0.0.1:9")
