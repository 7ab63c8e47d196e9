"""The public names of lakota_dask: a change here is a change of the API."""

from __future__ import annotations

import inspect

import lakota_dask
from lakota_dask import errors


def test_package_exports() -> None:
    assert lakota_dask.__all__ == ["Collection", "Repo", "Revision", "Schema", "Series", "errors"]
    for name in lakota_dask.__all__:
        assert getattr(lakota_dask, name) is not None
    assert isinstance(lakota_dask.__version__, str)


def test_error_exports() -> None:
    assert errors.__all__ == [
        "AlreadyExistsError", "CollectionNotFoundError", "CommitConflictError",
        "CorruptDataError", "InvalidLabelError", "InvalidURLError", "LakotaError",
        "NotFoundError", "RevisionNotFoundError", "SchedulerError", "SchemaError",
        "SegmentMissingError", "SeriesNotFoundError", "StorageError",
    ]
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.LakotaError)


def test_seed_api_is_there() -> None:
    from lakota_dask import Collection, Repo, Series

    for cls, names in [
        (Repo, ["create_collection", "collection", "ls", "delete", "rename", "__truediv__"]),
        (Collection, ["series", "ls", "delete", "rename", "multi", "write_many",
                      "__truediv__"]),
        (Series, ["write", "delete", "df", "frame", "tail", "paginate", "__len__",
                  "__getitem__"]),
    ]:
        for name in names:
            assert callable(getattr(cls, name)), (cls, name)
    params = inspect.signature(Series.df).parameters
    assert list(params) == ["self", "start", "stop", "closed", "before", "select", "limit",
                            "offset"]
    assert params["closed"].default == "both"


def test_public_classes_and_functions_have_docstrings() -> None:
    for name in lakota_dask.__all__:
        obj = getattr(lakota_dask, name)
        assert inspect.getdoc(obj), name
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    assert inspect.getdoc(member), f"{name}.{attr}"
