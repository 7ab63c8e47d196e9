"""Adapter for ArcticDB on an LMDB library (``lmdb://`` in the given folder, its defaults)."""

import arcticdb as adb

from workloads import bytes_under


class Engine:
    """One LMDB library in ``path``: symbol ``w`` for the single series, one
    symbol per label for the collection. Frames are indexed by timestamp."""

    prepare = staticmethod(lambda frame: frame.set_index("timestamp"))
    prepare_labelled = staticmethod(lambda frame: frame.set_index("timestamp"))
    #: how a write reaches the disk (printed with the table)
    durability = "durable: LMDB defaults, fdatasync on every commit (seen with strace)"

    def __init__(self, path):
        self.path = path
        self.lib = adb.Arctic(f"lmdb://{path}").get_library("bench", create_if_missing=True)
        self.appended = False

    def write_frame(self, frame):
        """Write ``frame`` as symbol ``w``."""
        self.lib.write("w", frame)

    def read_all(self):
        """Read symbol ``w`` into pandas."""
        return self.lib.read("w").data

    def read_range(self, start, stop):
        """Read ``[start, stop]`` of symbol ``w`` (``date_range`` includes both ends)."""
        return self.lib.read("w", date_range=(start, stop)).data

    def append(self, frame):
        """Append ``frame`` to symbol ``w`` (the first call writes it)."""
        if self.appended:
            self.lib.append("w", frame)
        else:
            self.lib.write("w", frame)
            self.appended = True

    def backfill(self, frame, by):
        """One symbol per value of ``by`` with ``write_batch``."""
        payloads = [adb.WritePayload(label, group.drop(columns=by))
                    for label, group in frame.groupby(by, sort=False)]
        self.lib.write_batch(payloads)

    def write_one_series(self, label, frame):
        """Write ``frame`` as the new symbol ``label``."""
        self.lib.write(label, frame)

    def read_series(self, label):
        """Read symbol ``label`` into pandas."""
        return self.lib.read(label).data

    def bytes_on_disk(self):
        """Bytes allocated by the LMDB files (sparse: only used pages count)."""
        return bytes_under(self.path)
