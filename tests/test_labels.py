"""Labels are data, not paths.

Series and collection labels are stored as values inside commits and the registry; the
folders of a repository are content addresses (``ab/cd/<36 hex>``). Labels made of path
syntax (``/``, ``..``, ``\\``), spaces, unicode or a thousand characters therefore either
round-trip or are refused with ``InvalidLabelError``, and nothing outside the repository
root is ever created or removed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lakota_dask import Repo, Schema
from lakota_dask.errors import InvalidLabelError

SCHEMA = Schema(ts="int*", value="float")

ACCEPTED = [
    "/",
    "..",
    ".",
    "../../outside",
    "../..",
    "/etc/passwd",
    "a/../../b",
    "\\",
    "..\\..\\windows",
    "C:\\temp",
    "a b",
    "in side  spaces",
    "ünïcödé ☃",
    "日本語/ラベル",
    "🎉🚀",
    "x" * 1000,
    "é" * 512,  # 1024 bytes in UTF-8: the limit
    "~",
    "$HOME",
    "%2e%2e%2f",
    "*",
    "?[a-z]",
    "CON",
    "nul.txt",
    "-rf",
    "'; DROP TABLE x; --",
]

REFUSED = [
    "",
    " lead",
    "trail ",
    "new\nline",
    "nul\x00byte",
    "tab\tinside",
    "é" * 513,  # 1026 bytes
    "y" * 1025,
]

#: every path a repository holds: a content address, maybe with a revision file below it
_NAME = r"[0-9a-f]{11}-[0-9a-f]{40}"
LAYOUT = re.compile(rf"^[0-9a-f]{{2}}/[0-9a-f]{{2}}/[0-9a-f]{{36}}(\.[0-9a-f]{{11}})?"
                    rf"(/{_NAME}\.{_NAME})?$")


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder below ``root``."""
    out: dict[str, bytes | None] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(folder, name), root)] = None
        for name in files:
            path = os.path.join(folder, name)
            out[os.path.relpath(path, root)] = Path(path).read_bytes()
    return out


def outside(before: dict[str, bytes | None], after: dict[str, bytes | None]) -> dict:
    """Entries of ``after`` that changed outside the ``repo`` folder."""
    keys = {k for k in before.keys() | after.keys() if not k.startswith("repo")}
    return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A folder with bait files around the repository, as a label might aim at them."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_bytes(b"keep")
    (tmp_path / "b").write_bytes(b"bait")
    (tmp_path / "sibling").mkdir()
    return tmp_path


@pytest.mark.parametrize("label", ACCEPTED, ids=range(len(ACCEPTED)))
def test_accepted_labels_round_trip_inside_the_root(sandbox: Path, label: str) -> None:
    before = tree(sandbox)
    repo = Repo(str(sandbox / "repo"))
    clct = repo.create_collection(SCHEMA, label)
    series = clct.series(label)
    series.write({"ts": [1, 2, 3], "value": [1.0, 2.0, 3.0]})
    other = clct.series("other")
    other.write({"ts": [1], "value": [9.0]})

    reopened = Repo(str(sandbox / "repo"))
    assert reopened.ls() == [label]
    assert reopened.collection(label).ls() == sorted([label, "other"])
    assert (reopened / label / label).df()["value"].tolist() == [1.0, 2.0, 3.0]

    for path in reopened.pod.walk():
        assert LAYOUT.match(path), path  # labels never become paths

    clct.rename(label, "renamed")
    clct.rename("renamed", label)
    clct.delete(label)
    assert clct.ls() == ["other"]
    repo.rename(label, "renamed collection")
    repo.delete("renamed collection")
    assert Repo(str(sandbox / "repo")).ls() == []
    assert outside(before, tree(sandbox)) == {}


@pytest.mark.parametrize("label", REFUSED, ids=range(len(REFUSED)))
def test_refused_labels_raise_and_write_nothing(sandbox: Path, label: str) -> None:
    repo = Repo(str(sandbox / "repo"))
    clct = repo.create_collection(SCHEMA, "fine")
    clct.series("s").write({"ts": [1], "value": [1.0]})
    before = tree(sandbox)
    calls = [
        lambda: repo.create_collection(SCHEMA, label),
        lambda: repo.collection(label),
        lambda: repo.rename("fine", label),
        lambda: clct.series(label),
        lambda: clct / label,
        lambda: clct.rename("s", label),
        lambda: clct.delete(label),
        lambda: clct.write_many({"ts": [1], "value": [1.0], "who": [label]}, by="who"),
    ]
    for call in calls:
        with pytest.raises(InvalidLabelError):
            call()
    assert tree(sandbox) == before


@pytest.mark.parametrize("label", [1, 2.5, None, b"bytes", ("a",), ["a"]])
def test_labels_must_be_text(label: object) -> None:
    repo = Repo("memory://")
    clct = repo.create_collection(SCHEMA, "fine")
    with pytest.raises(InvalidLabelError):
        clct.series(label)  # type: ignore[arg-type]
    with pytest.raises(InvalidLabelError):
        repo.create_collection(SCHEMA, label)  # type: ignore[arg-type]


def test_path_like_labels_on_every_backend(repo: Repo) -> None:
    labels = ["../x", "/", "a\\b", "ü n i", "z" * 1000]
    clcts = repo.create_collection(SCHEMA, *labels)
    for i, (label, clct) in enumerate(zip(labels, clcts)):
        clct.series(label).write({"ts": [i], "value": [float(i)]})
    assert repo.ls() == sorted(labels)
    for i, label in enumerate(labels):
        assert (repo / label).ls() == [label]
        assert (repo / label / label).df()["value"].tolist() == [float(i)]
    for path in repo.pod.walk():
        assert LAYOUT.match(path), path
