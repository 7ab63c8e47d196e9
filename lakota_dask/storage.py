"""Storage: one small object, the *pod*, over an fsspec filesystem and a root folder.

Paths given to a pod are relative, ``/``-separated strings (``"ab/cd/0123..."``). A pod
knows nothing about segments or commits; it reads and writes bytes, lists folders and
moves files, and it is the only place where fsspec, OS and botocore errors are caught and
turned into :mod:`lakota_dask.errors`.

Kinds of pod:

- :class:`FilePod` (``"folder"``, ``"file:///abs/path"``): writes land under a temporary
  name and are renamed into place; a revision is published with ``os.link`` so that it is
  create-only, after one ``syncfs`` that makes it and every earlier write durable (then
  an fsync of its folder makes the name durable) when the pod is durable.
- :class:`MemoryPod` (``"memory://"``): a fresh private fsspec memory store per pod.
- :class:`S3Pod` (``"s3://bucket/prefix"`` or the seed's ``"s3:///bucket"``), through s3fs:
  one request per operation, revisions created by a conditional PUT (``If-None-Match: *``).
- :class:`CachePod` (a list of addresses): lists from the remote, reads the local copy
  first and fills it on a miss, writes to both.

Every operation logs one DEBUG line ``VERB <location>/<folder> <name>`` on
``lakota_dask.utils.logger``.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import logging
import os
import posixpath
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import fsspec
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from fsspec.asyn import sync

from .errors import (
    CommitConflictError,
    InvalidURLError,
    LakotaError,
    SchedulerError,
    SegmentMissingError,
    StorageError,
)
from .utils import hextime, logger

#: files from this size on start their writeback as soon as they are written
EARLY_WRITEBACK_SIZE = 256 * 1024
_SYNC_FILE_RANGE_WRITE = 2

__all__ = ["CachePod", "FilePod", "MemoryPod", "Pod", "S3Pod", "open_pod"]


class Pod:
    """Bytes storage under one root folder of one fsspec filesystem."""

    protocol = ""
    #: whether worker processes can open the same storage from a pickled copy
    shareable = True

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")

    # -- naming --------------------------------------------------------------------
    @property
    def location(self) -> str:
        """The address printed in logs and error messages (never credentials)."""
        return self.root

    @property
    def local(self) -> Pod:
        """The pod that holds data on this side of a cache chain (itself here)."""
        return self

    def full(self, path: str) -> str:
        """The filesystem path of ``path``."""
        return f"{self.root}/{path}" if path else self.root

    def _log(self, verb: str, path: str) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return  # every file operation comes here: skip the formatting
        folder, name = posixpath.split(path)
        where = f"{self.location}/{folder}" if folder else self.location
        logger.debug("%s %s %s", verb, where, name or ".")

    @contextmanager
    def _errors(self, path: str) -> Iterator[None]:
        """Translate backend exceptions raised while touching ``path``."""
        try:
            yield
        except OSError as err:
            if isinstance(err, StorageError):
                raise
            raise self._error(path, err) from err

    def _error(self, path: str, err: OSError) -> Exception:
        """The library error for a backend error raised while touching ``path``."""
        if isinstance(err, FileNotFoundError):
            return SegmentMissingError(f"{self.location}/{path} is missing")
        if isinstance(err, FileExistsError):
            return CommitConflictError(f"{self.location}/{path} exists already")
        if isinstance(err, PermissionError):
            return StorageError(f"permission denied on {self.location}/{path}: "
                                f"{err.strerror or err}")
        reason = "the disk is full" if err.errno == errno.ENOSPC else str(err)
        return StorageError(f"cannot access {self.location}/{path}: {reason}")

    # -- operations ----------------------------------------------------------------
    def read(self, path: str) -> bytes:
        """The bytes stored at ``path`` (:class:`SegmentMissingError` if absent)."""
        self._log("READ", path)
        with self._errors(path):
            return self.fs.cat_file(self.full(path))

    def read_many(self, paths: list[str]) -> list[bytes]:
        """The bytes of several files, in the order of ``paths``."""
        return [self.read(path) for path in paths]

    def write(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path``, replacing any file of that name."""
        self._log("WRITE", path)
        with self._errors(path):
            self.fs.pipe_file(self.full(path), data)

    def write_many(self, items: Mapping[str, bytes]) -> None:
        """Store several files (content-addressed data: replacing them is harmless)."""
        for path, data in items.items():
            self.write(path, data)

    def write_new(self, path: str, data: bytes) -> None:
        """Create ``path`` atomically; :class:`CommitConflictError` if it exists.

        On a durable pod, every write made before the call is durable before ``path``
        appears: a revision written this way never names data a crash could lose.
        """
        self._log("WRITE", path)
        with self._errors(path):
            self.fs.pipe_file(self.full(path), data, mode="create")

    def ls(self, path: str = "") -> list[str]:
        """Names of the entries of folder ``path`` (empty if the folder is absent)."""
        self._log("LIST", path)
        try:
            with self._errors(path):
                entries = self.fs.ls(self.full(path), detail=False)
        except SegmentMissingError:
            return []
        return sorted(posixpath.basename(entry.rstrip("/")) for entry in entries)

    def walk(self, path: str = "") -> list[str]:
        """Paths (relative to the root) of every file below folder ``path``."""
        self._log("LIST", path)
        base = self.fs._strip_protocol(self.full(""))
        try:
            with self._errors(path):
                found = self.fs.find(self.full(path))
        except SegmentMissingError:
            return []
        prefix = base.rstrip("/") + "/"
        return sorted(p[len(prefix) :] if p.startswith(prefix) else p for p in found)

    def exists(self, path: str) -> bool:
        """Whether a file or folder ``path`` exists."""
        with self._errors(path):
            return bool(self.fs.exists(self.full(path)))

    def rm(self, paths: Iterable[str]) -> None:
        """Remove files; files already gone are ignored."""
        for path in paths:
            self._log("DELETE", path)
            try:
                with self._errors(path):
                    self.fs.rm_file(self.full(path))
            except SegmentMissingError:
                pass

    def mv(self, src: str, dst: str) -> None:
        """Rename file ``src`` to ``dst``."""
        self._log("MOVE", src)
        with self._errors(src):
            self.fs.mv(self.full(src), self.full(dst))

    def flush(self) -> None:
        """Make every write so far durable (a no-op where the backend is durable)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"


class FilePod(Pod):
    """A folder on a local disk."""

    protocol = "file"

    def __init__(self, root: str, durable: bool = True) -> None:
        super().__init__(fsspec.filesystem("file", auto_mkdir=True), os.path.abspath(root))
        self.durable = durable

    def __reduce__(self) -> tuple[Any, ...]:
        return (FilePod, (self.root, self.durable))

    def _tmp_write(self, path: str, data: bytes) -> str:
        full = self.full(path)
        # the time in the name lets gc remove what a killed writer left behind
        tmp = f"{full}.tmp-{hextime()}-{uuid.uuid4().hex}"
        try:
            try:
                fh = open(tmp, "wb")
            except FileNotFoundError:
                # folders are created on the first write into them, not checked every time
                os.makedirs(os.path.dirname(full), exist_ok=True)
                fh = open(tmp, "wb")
            with fh:
                fh.write(data)
                if self.durable and len(data) >= EARLY_WRITEBACK_SIZE:
                    fh.flush()
                    _start_writeback(fh.fileno())
        except OSError:
            # a full disk leaves a partial file that nothing references: remove it now
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return tmp

    def read(self, path: str) -> bytes:
        # docstring inherited; system calls alone cost a fraction of fsspec's path handling
        # and file objects, which counts on series grown by many small appends
        self._log("READ", path)
        try:
            fd = os.open(self.full(path), os.O_RDONLY)
            try:
                size = os.fstat(fd).st_size
                data = os.read(fd, size)
                while len(data) < size:  # a short read: rare, but allowed
                    more = os.read(fd, size - len(data))
                    if not more:
                        break
                    data += more
            finally:
                os.close(fd)
        except OSError as err:
            raise self._error(path, err) from err
        return data

    def write(self, path: str, data: bytes) -> None:
        # docstring inherited; a reader never sees a half-written file: write then rename
        self._log("WRITE", path)
        with self._errors(path):
            tmp = self._tmp_write(path, data)
            os.replace(tmp, self.full(path))

    def write_new(self, path: str, data: bytes) -> None:
        # docstring inherited; os.link fails if the name is taken, which makes it create-only.
        # One syncfs makes the file's bytes durable with every earlier write, then the
        # folder's fsync the name: two disk flushes, where syncing the file on its own
        # would take a third.
        self._log("WRITE", path)
        full = self.full(path)
        with self._errors(path):
            tmp = self._tmp_write(path, data)
            try:
                self.flush()
                os.link(tmp, full)
            finally:
                os.unlink(tmp)
            if self.durable:
                _fsync_dir(os.path.dirname(full))

    def ls(self, path: str = "") -> list[str]:
        # docstring inherited; os.listdir reads names only, where fsspec stats every entry
        # (a changelog is listed on every read and write)
        self._log("LIST", path)
        full = self.full(path)
        try:
            with self._errors(path):
                return sorted(os.listdir(full))
        except SegmentMissingError:
            return []
        except StorageError:
            if os.path.isfile(full):  # like fsspec: a file lists as itself
                return [posixpath.basename(full)]
            raise

    def walk(self, path: str = "") -> list[str]:
        # docstring inherited; os.walk is much faster than fsspec's find on big trees
        self._log("LIST", path)
        top = self.full(path)
        found = []
        for folder, _, files in os.walk(top):
            rel = os.path.relpath(folder, self.root)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            found.extend(prefix + name for name in files)
        return sorted(found)

    def flush(self) -> None:
        # docstring inherited; one syncfs covers every file and folder written before it
        if self.durable and os.path.isdir(self.root):
            _syncfs(self.root)


class MemoryPod(Pod):
    """A private in-memory store: each instance starts empty."""

    protocol = "memory"
    shareable = False

    def __init__(self) -> None:
        fs = fsspec.filesystem("memory", global_store=False, skip_instance_cache=True)
        super().__init__(fs, "")
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        # docstring inherited
        return "memory:/"

    def full(self, path: str) -> str:
        # docstring inherited
        return f"/{path}"

    def write_new(self, path: str, data: bytes) -> None:
        # docstring inherited; the lock makes check-and-create atomic within the process
        with self._lock:
            if self.fs.exists(self.full(path)):
                raise CommitConflictError(f"{self.location}/{path} exists already")
            self.write(path, data)

    def __reduce__(self) -> tuple[Any, ...]:
        raise SchedulerError(
            "a memory:// repository lives in one process and cannot be sent to dask worker "
            "processes; use a threaded scheduler or a file:// or s3:// repository"
        )


class S3Pod(Pod):
    """A prefix of an S3 bucket, through s3fs: ``s3://bucket/prefix`` or ``s3:///bucket``.

    Parameters
    ----------
    root
        ``"bucket"`` or ``"bucket/prefix"``.
    storage_options
        Options of :class:`s3fs.S3FileSystem`: ``endpoint_url``, ``key``, ``secret``,
        ``token``, ``profile``, ``client_kwargs``, ``config_kwargs``... What they leave out
        comes from botocore's usual sources: ``AWS_ENDPOINT_URL`` (or
        ``AWS_ENDPOINT_URL_S3``), ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
        ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, ``AWS_DEFAULT_REGION`` and ``~/.aws``.

    Notes
    -----
    *Errors are reported on first use.* Opening the pod sends no request, so opening a
    repository (or unpickling its pod in a worker process) is free. The first operation
    (for a repository: the first listing of its registry) reports a missing bucket,
    refused credentials or an unreachable endpoint as one :class:`StorageError` naming
    the URL. An unreachable endpoint is reported once botocore's own retries are spent
    (about 10 s by default; ``config_kwargs={"retries": {"max_attempts": 1}}`` shortens
    that).

    *Revisions are create-only.* :meth:`write_new` is one PUT with ``If-None-Match: *``:
    on AWS S3 and on servers that honour the header (moto does), a second create of the
    same name fails with :class:`CommitConflictError` and the first file stays. A server
    that ignores the header replaces the file instead; since a revision's name holds the
    SHA-1 of its content, the replacement has the same bytes, so no revision is lost or
    altered, only the conflict goes unreported. A PUT is atomic: a reader never sees a
    half-written object, on any server.

    *Requests.* Each operation is the fewest S3 requests that do it: ``read`` one GET
    (s3fs would first HEAD the object to choose a ranged download), ``read_many`` one GET
    per file, sent concurrently, ``write``/``write_new`` one PUT, ``write_many`` one PUT
    per file, concurrently, ``ls`` and ``walk`` one LIST per 1,000 entries (pages are
    followed), ``rm`` one bulk DELETE per 1,000 files, ``mv`` a HEAD, a COPY and a DELETE.
    Listings never come from s3fs's listing cache: the changelog must be read fresh.

    *Pickling.* The pod pickles as its root and storage options; a worker process opens
    its own connection from them. The options may hold credentials: they are never put in
    logs, messages or reprs, but they do travel inside pickles (as with fsspec itself).
    """

    protocol = "s3"

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None) -> None:
        self.storage_options = dict(storage_options or {})
        # listings must be fresh (a stale changelog hides revisions): no listing cache
        fs = fsspec.filesystem("s3", **{**self.storage_options, "use_listings_cache": False})
        super().__init__(fs, root.strip("/"))
        self.bucket = self.root.split("/", 1)[0]

    @property
    def location(self) -> str:
        # docstring inherited
        return f"s3://{self.root}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (S3Pod, (self.root, self.storage_options))

    @contextmanager
    def _errors(self, path: str) -> Iterator[None]:
        # docstring inherited; the base maps s3fs's builtin errors per file, then a
        # failure of the whole store (bucket, login, network) replaces that message
        try:
            with super()._errors(path):
                yield
        except LakotaError as err:
            problem = self._problem(err.__cause__) if err.__cause__ is not None else None
            if problem is None:
                raise
            raise problem from None
        except (BotoCoreError, ClientError, aiohttp.ClientError) as err:
            code = _s3_code(err) or type(err).__name__
            raise (self._problem(err) or StorageError(
                f"{self.location}/{path}: the S3 request failed ({code})"
            )) from None

    def _problem(self, err: BaseException) -> LakotaError | None:
        """The error to raise for a failure of the store as a whole (bucket, login, network)."""
        code = _s3_code(err)
        if code == "NoSuchBucket":
            return StorageError(
                f"{self.location}: the bucket {self.bucket!r} does not exist on this S3 "
                "endpoint; create it or fix the URL (and the endpoint_url)"
            )
        if isinstance(err, (NoCredentialsError, PartialCredentialsError)):
            return StorageError(
                f"{self.location}: no S3 credentials found ({type(err).__name__}); "
                f"{_CREDENTIAL_HINT}"
            )
        if code in _CREDENTIAL_CODES:
            return StorageError(
                f"{self.location}: the S3 server refused the credentials ({code}); "
                f"{_CREDENTIAL_HINT}"
            )
        if code in ("AccessDenied", "AllAccessDisabled"):
            return StorageError(
                f"{self.location}: access denied ({code}); the credentials in use may not "
                "read or write this bucket"
            )
        if code in ("PreconditionFailed", "ConditionalRequestConflict"):
            return None  # a create-only write lost the race: the base maps FileExistsError
        if isinstance(err, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
                            aiohttp.ClientError, TimeoutError)):
            return StorageError(
                f"{self.location}: cannot reach the S3 endpoint {_endpoint(err)} "
                f"({type(err).__name__}); check endpoint_url / AWS_ENDPOINT_URL and the network"
            )
        return None

    def read(self, path: str) -> bytes:
        # docstring inherited; max_concurrency=1: one GET, no HEAD first
        self._log("READ", path)
        with self._errors(path):
            return self.fs.cat_file(self.full(path), max_concurrency=1)

    def read_many(self, paths: list[str]) -> list[bytes]:
        # docstring inherited; s3fs sends the GETs concurrently
        if len(paths) < 2:
            return [self.read(path) for path in paths]
        for path in paths:
            self._log("READ", path)
        with self._errors(paths[0]):
            found = self.fs.cat([self.full(p) for p in paths], on_error="return",
                                max_concurrency=1)
        out = []
        for path in paths:
            data = found[self.fs._strip_protocol(self.full(path))]
            if isinstance(data, BaseException):
                with self._errors(path):
                    raise data
            out.append(data)
        return out

    def write_many(self, items: Mapping[str, bytes]) -> None:
        # docstring inherited; s3fs sends the PUTs concurrently
        for path in items:
            self._log("WRITE", path)
        if items:
            with self._errors(next(iter(items))):
                self.fs.pipe({self.full(p): data for p, data in items.items()})

    def write_new(self, path: str, data: bytes) -> None:
        # docstring inherited; one PUT with If-None-Match: * (see the class notes)
        self._log("WRITE", path)
        with self._errors(path):
            try:
                self.fs.pipe_file(self.full(path), data, mode="create")
            except OSError as err:
                if _s3_code(err) not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise
                # a retried PUT whose first answer was lost finds its own object: same
                # bytes means our write landed, anything else is a real conflict
                if self.fs.cat_file(self.full(path)) != data:
                    raise FileExistsError(path) from err

    def _list(self, path: str, delimiter: str) -> list[dict[str, Any]]:
        # s3fs's ls would LIST the parent folder too when this one is empty; _lsdir is
        # exactly one LIST per page of 1,000 keys
        with self._errors(path):
            return sync(self.fs.loop, self.fs._lsdir, self.full(path),
                                    refresh=True, delimiter=delimiter)

    def ls(self, path: str = "") -> list[str]:
        # docstring inherited
        self._log("LIST", path)
        names = (posixpath.basename(e["name"].rstrip("/")) for e in self._list(path, "/"))
        return sorted(name for name in names if name)

    def walk(self, path: str = "") -> list[str]:
        # docstring inherited
        self._log("LIST", path)
        prefix = f"{self.root}/"
        return sorted(
            e["name"][len(prefix):] for e in self._list(path, "")
            if not e["name"].endswith("/")  # folder markers made by other tools
        )

    def rm(self, paths: Iterable[str]) -> None:
        # docstring inherited; one bulk DELETE per 1,000 keys, absent keys are no error
        paths = list(paths)
        for path in paths:
            self._log("DELETE", path)
        if paths:
            with self._errors(paths[0]):
                self.fs.rm([self.full(p) for p in paths])


class CachePod(Pod):
    """A local cache in front of a remote pod, with the seed's semantics.

    Listings come from the remote (it decides what exists); reads try the local copy and
    fill it from the remote on a miss; writes go to the remote, then to the local copy.
    """

    def __init__(self, local: Pod, remote: Pod) -> None:
        self._local = local
        self.remote = remote
        self.fs = remote.fs
        self.root = remote.root
        self.shareable = local.shareable and remote.shareable

    @property
    def local(self) -> Pod:
        # docstring inherited
        return self._local

    @property
    def location(self) -> str:
        # docstring inherited
        return f"{self._local.location} -> {self.remote.location}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (CachePod, (self._local, self.remote))

    def read(self, path: str) -> bytes:
        # docstring inherited
        try:
            return self._local.read(path)
        except SegmentMissingError:
            data = self.remote.read(path)
            self._local.write(path, data)
            return data

    def read_many(self, paths: list[str]) -> list[bytes]:
        # docstring inherited; misses are fetched from the remote in one batch
        found: dict[str, bytes] = {}
        for path in paths:
            try:
                found[path] = self._local.read(path)
            except SegmentMissingError:
                pass
        missing = [path for path in paths if path not in found]
        if missing:
            fetched = dict(zip(missing, self.remote.read_many(missing)))
            self._local.write_many(fetched)
            found.update(fetched)
        return [found[path] for path in paths]

    def write(self, path: str, data: bytes) -> None:
        # docstring inherited
        self.remote.write(path, data)
        self._local.write(path, data)

    def write_many(self, items: Mapping[str, bytes]) -> None:
        # docstring inherited
        self.remote.write_many(items)
        self._local.write_many(items)

    def write_new(self, path: str, data: bytes) -> None:
        # docstring inherited; the remote decides whether the name was free
        self.remote.write_new(path, data)
        self._local.write(path, data)

    def ls(self, path: str = "") -> list[str]:
        # docstring inherited
        return self.remote.ls(path)

    def walk(self, path: str = "") -> list[str]:
        # docstring inherited
        return self.remote.walk(path)

    def exists(self, path: str) -> bool:
        # docstring inherited
        return self.remote.exists(path)

    def rm(self, paths: Iterable[str]) -> None:
        # docstring inherited
        paths = list(paths)
        self.remote.rm(paths)
        self._local.rm(paths)

    def mv(self, src: str, dst: str) -> None:
        # docstring inherited
        self.remote.mv(src, dst)
        try:
            self._local.mv(src, dst)
        except SegmentMissingError:
            pass

    def flush(self) -> None:
        # docstring inherited
        self.remote.flush()
        self._local.flush()


def open_pod(
    address: str | os.PathLike[str] | list[str] | tuple[str, ...],
    storage_options: dict[str, Any] | None = None,
    durable: bool = True,
) -> Pod:
    """Open the pod for a repository address, or a cache chain for a list of them.

    Parameters
    ----------
    address
        ``"folder"``, ``"file:///abs/path"``, ``"memory://"``, ``"s3://bucket/prefix"``
        (or ``"s3:///bucket"``), or a list whose first item is the local cache and whose
        following items are the remotes, nearest first.
    storage_options
        Passed to s3fs (endpoint, credentials...).
    durable
        Flush local files to disk before a revision is published.
    """
    if isinstance(address, (list, tuple)):
        if not address:
            raise InvalidURLError("a cache chain needs at least one repository address")
        pods = [open_pod(item, storage_options, durable) for item in address]
        pod = pods[-1]
        for local in reversed(pods[:-1]):
            pod = CachePod(local, pod)
        return pod
    if isinstance(address, os.PathLike):
        address = os.fspath(address)
    if not isinstance(address, str) or not address.strip():
        raise InvalidURLError(f"a repository address must be a non-empty string, not {address!r}")
    scheme, sep, rest = address.partition("://")
    if not sep:
        return FilePod(address, durable)
    if scheme == "file":
        return FilePod(rest or "/", durable)
    if scheme == "memory":
        if rest.strip("/"):
            raise InvalidURLError(
                f"{address!r}: a memory repository takes no path; use 'memory://'"
            )
        return MemoryPod()
    if scheme in ("s3", "s3a"):
        root = rest.strip("/")
        if not root:
            raise InvalidURLError(f"{address!r} names no bucket; use 's3://bucket/prefix'")
        return S3Pod(root, storage_options)
    raise InvalidURLError(
        f"{address!r}: unknown scheme {scheme!r}; use a folder, file://, memory:// or s3://"
    )


_CREDENTIAL_HINT = (
    "pass storage_options key/secret (or profile) or set AWS_ACCESS_KEY_ID / "
    "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
)
#: S3 error codes meaning "these credentials are not valid here"
_CREDENTIAL_CODES = frozenset({
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "InvalidClientTokenId", "UnrecognizedClientException",
})


def _s3_code(err: BaseException | None) -> str | None:
    """The S3 error code behind ``err`` (s3fs keeps botocore's error as the cause)."""
    for _ in range(4):  # our error <- s3fs's builtin <- botocore's ClientError
        if err is None:
            return None
        response = getattr(err, "response", None)
        if isinstance(response, dict):
            return response.get("Error", {}).get("Code")
        err = err.__cause__
    return None


def _endpoint(err: BaseException) -> str:
    """``scheme://host:port`` of the endpoint a connection error was about (no user info)."""
    url = getattr(err, "kwargs", {}).get("endpoint_url") or ""
    parts = urlsplit(url)
    if not parts.hostname:
        return "(default AWS endpoint)" if not url else "(unknown)"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    """The C library of this process."""
    return ctypes.CDLL(None, use_errno=True)


def _start_writeback(fd: int) -> None:
    """Ask the kernel to start writing a file to disk now, without waiting (Linux
    ``sync_file_range``): the flush before the next revision then has less left to do.
    Nothing happens where the call does not exist."""
    function = getattr(_libc(), "sync_file_range", None)
    if function is not None:
        function(fd, ctypes.c_int64(0), ctypes.c_int64(0), _SYNC_FILE_RANGE_WRITE)


def _syncfs(path: str) -> None:
    """Flush the filesystem holding ``path`` (one call instead of an fsync per file)."""
    libc = _libc()
    fd = os.open(path, os.O_RDONLY)
    try:
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
