"""Changelogs: the lock-free history of a collection, one file per revision.

A revision is a file named ``<parent>.<child>`` in the collection's folder, where each name
is ``<11 hex digits of epoch ms>-<40 hex digits of the SHA-1 of the payload>``. The first
revision's parent is the root, ``00000000000-0000000000000000000000000000000000000000``.
The file holds the payload (a commit, see :mod:`lakota_dask.commit`); the child digest is
checked on every read.

Writers never lock: two writers that start from the same leaf both publish a revision,
and the changelog then has two *heads* (children that are nobody's parent). Reads follow
the head written last; a merge writes one new child under every head (one file per head,
the same child name), which joins the history again.

Publishing is create-only (:meth:`Pod.write_new`), so a revision is never replaced.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from .errors import CommitConflictError, CorruptDataError, RevisionNotFoundError
from .storage import Pod
from .utils import ROOT_HEXTIME, hexdigest, hextime, now_ms

__all__ = ["ROOT", "Changelog", "Revision"]

ROOT = f"{ROOT_HEXTIME}-{'0' * 40}"
_NAME = r"[0-9a-f]{11}-[0-9a-f]{40}"
_FILE = re.compile(rf"^({_NAME})\.({_NAME})$")
READ_ATTEMPTS = 3


def name_time(name: str) -> int:
    """The epoch milliseconds of a revision name."""
    return int(name[:11], 16)


@dataclass(frozen=True)
class Revision:
    """One edge of the changelog: the file ``<parent>.<child>``."""

    parent: str
    child: str
    is_leaf: bool = False
    changelog: Changelog | None = field(default=None, compare=False, repr=False)

    @property
    def path(self) -> str:
        """The file name ``parent.child``."""
        return f"{self.parent}.{self.child}"

    @property
    def epoch(self) -> int:
        """When the child was written, in epoch milliseconds."""
        return name_time(self.child)

    @property
    def timestamp(self) -> datetime:
        """When the child was written (UTC)."""
        return datetime.fromtimestamp(self.epoch / 1000, tz=timezone.utc)

    @property
    def digest(self) -> str:
        """The digest of the child's payload."""
        return self.child[12:]

    def read(self) -> bytes:
        """The payload of this revision, digest-checked."""
        if self.changelog is None:
            raise RevisionNotFoundError(f"revision {self.path} is not attached to a changelog")
        return self.changelog.read(self)

    def __repr__(self) -> str:
        return f"<Revision {self.path} {'*' if self.is_leaf else ''}>"


class Changelog:
    """The revisions stored in folder ``folder`` of ``pod``."""

    def __init__(self, pod: Pod, folder: str) -> None:
        self.pod = pod
        self.folder = folder
        # file name -> (parent, child), or None for a foreign file: the folder is listed
        # on every read and write, and only new names need parsing
        self._parsed: dict[str, tuple[str, str] | None] = {}

    def _edges(self) -> list[tuple[str, str]]:
        parsed = self._parsed
        edges = []
        for name in self.pod.ls(self.folder):
            if name not in parsed:
                match = _FILE.match(name)
                parsed[name] = (match.group(1), match.group(2)) if match else None
            edge = parsed[name]
            if edge is not None:
                edges.append(edge)
        return edges

    def log(self) -> list[Revision]:
        """Every revision, depth first from the root, children in name order."""
        edges = self._edges()
        children: dict[str, list[str]] = {}
        for parent, child in edges:
            children.setdefault(parent, []).append(child)
        heads = {c for _, c in edges if c not in children}
        out: list[Revision] = []
        seen: set[tuple[str, str]] = set()
        roots = sorted(p for p in children if p not in {c for _, c in edges})
        stack = [(root, c) for root in reversed(roots) for c in sorted(children[root], reverse=True)]
        while stack:
            parent, child = stack.pop()
            if (parent, child) in seen:
                continue
            seen.add((parent, child))
            out.append(Revision(parent, child, child in heads, self))
            stack.extend((child, c) for c in sorted(children.get(child, ()), reverse=True))
        return out

    def heads(self, before: int | None = None) -> list[Revision]:
        """One revision per head, oldest first; ``before``: as the log was at that time."""
        edges = self._edges()
        if before is not None:
            edges = [(p, c) for p, c in edges if name_time(c) <= before]
        parents = {p for p, _ in edges}
        found: dict[str, Revision] = {}
        for parent, child in edges:
            if child not in parents and child not in found:
                found[child] = Revision(parent, child, True, self)
        return sorted(found.values(), key=lambda r: r.child)

    def leaf(self, before: int | None = None) -> Revision | None:
        """The head written last (``None`` for an empty changelog)."""
        heads = self.heads(before)
        return heads[-1] if heads else None

    def ancestors(self) -> dict[str, list[str]]:
        """Every child name with the parent names it has."""
        parents: dict[str, list[str]] = {}
        for parent, child in self._edges():
            parents.setdefault(child, []).append(parent)
        return parents

    def read(self, revision: Revision) -> bytes:
        """The payload of ``revision``, retried when its digest does not match.

        A mismatch can be an object store still settling; it persists on a corrupt file,
        which raises :class:`CorruptDataError`.
        """
        path = f"{self.folder}/{revision.path}"
        for attempt in range(READ_ATTEMPTS):
            data = self.pod.read(path)
            if hexdigest(data) == revision.digest:
                return data
            time.sleep(0.05 * (attempt + 1))
        raise CorruptDataError(
            f"{self.pod.location}/{path}: content does not match its digest (corrupt file)"
        )

    def append(self, parents: list[str], payload: bytes) -> Revision:
        """Publish ``payload`` as the child of every name in ``parents``."""
        latest = max((name_time(p) for p in parents), default=0)
        # a child always sorts after its parents, even on a machine whose clock is behind
        child = f"{hextime(max(now_ms(), latest + 1))}-{hexdigest(payload)}"
        for parent in parents:
            self.pod.write_new(f"{self.folder}/{parent}.{child}", payload)
        return Revision(parents[-1], child, True, self)

    def remove(self, revisions: list[Revision]) -> None:
        """Delete revision files (used by trim)."""
        self.pod.rm(f"{self.folder}/{r.path}" for r in revisions)

    def copy_from(self, other: Changelog, revisions: list[Revision]) -> list[Revision]:
        """Copy revision files of ``other`` that this changelog lacks; returns those copied."""
        mine = {f"{p}.{c}" for p, c in self._edges()}
        copied = []
        for revision in revisions:
            if revision.path in mine:
                continue
            payload = other.read(revision)
            try:
                self.pod.write_new(f"{self.folder}/{revision.path}", payload)
            except CommitConflictError:
                continue  # copied meanwhile by someone else: same name, same content
            copied.append(revision)
        return copied

    def __repr__(self) -> str:
        return f"<Changelog {self.pod.location}/{self.folder}>"


def parse_before(value: Any) -> int | None:
    """``before=`` as epoch milliseconds: a revision, a datetime, a string or ``None``."""
    if value is None:
        return None
    if isinstance(value, Revision):
        return value.epoch
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value // 1_000_000)
