"""Adapter for lakota_dask (DESIGN §2), a local folder repo in its default durable mode."""

from lakota_dask import Repo, Schema

from workloads import bytes_under

SCHEMA = dict(timestamp="timestamp*", value="float")


class Engine:
    """One lakota_dask repo in ``path`` with a series ``x/w`` and a collection ``many``."""

    prepare = staticmethod(lambda frame: frame)
    prepare_labelled = staticmethod(lambda frame: frame)
    #: how a write reaches the disk (printed with the table)
    durability = ("durable: segments and the revision's bytes, one syncfs, then the "
                  "revision linked to its name and its folder fsynced")

    def __init__(self, path):
        self.path = path
        repo = Repo(path)
        self.clct, self.many = repo.create_collection(Schema(**SCHEMA), "x", "many")
        self.series = self.clct / "w"

    def write_frame(self, frame):
        """Write ``frame`` (pandas or dask) to the series in one call."""
        self.series.write(frame)

    def read_all(self):
        """Read the whole series into pandas."""
        return self.series.df()

    def read_range(self, start, stop):
        """Read ``[start, stop]`` (both ends included) into pandas."""
        return self.series.df(start=start, stop=stop)

    def append(self, frame):
        """Write ``frame`` after the end of the series."""
        self.series.write(frame)

    def backfill(self, frame, by):
        """One series per value of ``by`` in one revision with ``write_many``."""
        self.many.write_many(frame, by=by)

    def write_one_series(self, label, frame):
        """Write ``frame`` as the new series ``label`` of the collection."""
        (self.many / label).write(frame)

    def read_series(self, label):
        """Read the series ``label`` of the collection into pandas."""
        return (self.many / label).df()

    def ddf_sum(self):
        """Sum of the value column through the lazy ``series.ddf()``."""
        return self.series.ddf().value.sum().compute()

    def bytes_on_disk(self):
        """Bytes used by the repo folder."""
        return bytes_under(self.path)
