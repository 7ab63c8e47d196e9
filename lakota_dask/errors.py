"""Exceptions raised by lakota_dask.

Every error the library raises on purpose derives from :class:`LakotaError`, and each
subclass also inherits the builtin that callers already catch, so ``except ValueError``
or ``except KeyError`` keeps working::

    LakotaError
    ├── NotFoundError (KeyError)
    │   ├── CollectionNotFoundError
    │   ├── SeriesNotFoundError
    │   ├── RevisionNotFoundError
    │   └── SegmentMissingError (FileNotFoundError)
    ├── AlreadyExistsError
    ├── SchemaError (ValueError)          bad schema, bad frame, failed cast, unsorted index
    ├── InvalidLabelError (ValueError)    empty or malformed series/collection label
    ├── InvalidURLError (ValueError)      a repository address that cannot be opened
    ├── CommitConflictError               a revision name already taken
    ├── CorruptDataError                  a stored file whose digest or layout is wrong
    ├── StorageError (OSError)            the storage refused or failed an operation
    └── SchedulerError                    a repository that cannot be used by this scheduler
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "CollectionNotFoundError",
    "CommitConflictError",
    "CorruptDataError",
    "InvalidLabelError",
    "InvalidURLError",
    "LakotaError",
    "NotFoundError",
    "RevisionNotFoundError",
    "SchedulerError",
    "SchemaError",
    "SegmentMissingError",
    "SeriesNotFoundError",
    "StorageError",
]


class LakotaError(Exception):
    """Base class of every error raised by lakota_dask."""


class NotFoundError(LakotaError, KeyError):
    """Something that was asked for by name does not exist."""

    def __str__(self) -> str:
        # KeyError.__str__ quotes its argument; a sentence reads better unquoted.
        return str(self.args[0]) if self.args else ""


class CollectionNotFoundError(NotFoundError):
    """No collection has this label in the repository (see ``repo.ls()``)."""


class SeriesNotFoundError(NotFoundError):
    """No series has this label in the collection (see ``collection.ls()``)."""


class RevisionNotFoundError(NotFoundError):
    """The revision asked for is not in the changelog (it may have been trimmed)."""


class SegmentMissingError(NotFoundError, FileNotFoundError):
    """A file referenced by a revision is absent from storage."""


class AlreadyExistsError(LakotaError):
    """A collection with this label exists already."""


class SchemaError(LakotaError, ValueError):
    """A schema, or a frame checked against one, is not valid."""


class InvalidLabelError(LakotaError, ValueError):
    """A series or collection label is empty or not a string."""


class InvalidURLError(LakotaError, ValueError):
    """A repository address names no storage lakota_dask can open."""


class CommitConflictError(LakotaError):
    """A revision file with the same name exists already; the write was not applied."""


class CorruptDataError(LakotaError):
    """A stored file does not match its digest or cannot be decoded."""


class StorageError(LakotaError, OSError):
    """The storage refused or failed an operation (permissions, full disk, network)."""


class SchedulerError(LakotaError):
    """The current dask scheduler cannot reach this repository's storage."""
