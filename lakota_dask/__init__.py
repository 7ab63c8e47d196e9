"""lakota_dask: Lakota, the Git-inspired version control for numerical series, on Dask."""

from . import errors
from .changelog import Revision
from .collection import Collection
from .repo import Repo
from .schema import Schema
from .series import Series

__all__ = ["Collection", "Repo", "Revision", "Schema", "Series", "errors"]
__version__ = "0.1.0"
