"""Bulk backfill: CSV or Parquet files into one collection, one series per label value.

    python pipelines/backfill.py --repo file:///tmp/db --collection covid --label country \\
        --schema "date_reported timestamp*" "new_cases int" pipelines/data/who_covid_sample.csv

Inputs are files, globs or folders, local or on S3 (``s3://bucket/data/*.csv``), read with
``dask.dataframe`` on the cluster and written with ``collection.write_many`` in one
revision. Column names are matched exactly, else ignoring case and surrounding spaces
(``--label country`` finds ``Country``); input columns the schema does not name are left
out. Without ``--schema`` the types are inferred from the first rows and printed.

Rerunning on the same files changes nothing: the run fingerprints its inputs (SHA-1 of
each file's content, plus the options that shape the data) and records, in the
``_backfills`` collection of the repository, which revision loaded them. A rerun with the
same fingerprint stores nothing when every series it wrote still holds exactly the rows
that revision gave it (the commit rows are compared: no data is read); otherwise it
writes again, which restores those rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the `pipelines` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dask
import dask.dataframe as dd
import fsspec
import pandas as pd

from lakota_dask import Collection, Repo, Revision, Schema, errors
from lakota_dask.codec import blob_path
from pipelines import common

__all__ = ["BackfillResult", "backfill", "build_parser", "main"]

MANIFEST = "_backfills"
MANIFEST_SCHEMA = Schema("fingerprint str*\nrevision str\nfiles int\nseries int\nrows int")
LABEL_COLUMN = "__series__"
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst")
GLOB_CHARS = "*?["
SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class BackfillResult:
    """What a backfill did."""

    collection: str
    series: int
    rows: int
    nbytes: int
    revision: str | None
    seconds: float
    unchanged: bool

    def summary(self) -> str:
        """The one line printed at the end of a run."""
        if self.unchanged:
            return (f"backfill {self.collection}: unchanged, these files were loaded by "
                    f"revision {self.revision} ({self.series} series, {self.rows:,} rows); "
                    f"0 bytes stored, {self.seconds:.1f} s")
        return (f"backfill {self.collection}: {self.series} series, {self.rows:,} rows "
                f"written, {self.nbytes:,} bytes stored, revision {self.revision or 'none'}, "
                f"{self.seconds:.1f} s")


# -- inputs --------------------------------------------------------------------------
def file_format(path: str) -> str | None:
    """``"csv"`` or ``"parquet"`` from a file name (compressed CSV included)."""
    name = path.lower()
    for suffix in COMPRESSIONS:
        name = name.removesuffix(suffix)
    return FORMATS.get(Path(name).suffix)


def list_inputs(sources: Sequence[str], options: dict[str, Any]) -> list[str]:
    """The URLs of every input file: paths, globs and folders expanded, in order."""
    urls: list[str] = []
    for source in sources:
        try:
            fs, path = fsspec.core.url_to_fs(source, **options)
            if any(c in path for c in GLOB_CHARS):
                found = sorted(fs.glob(path))
            elif fs.isdir(path):
                found = sorted(p for p in fs.find(path) if file_format(p))
            else:
                found = [path] if fs.exists(path) else []
        except (OSError, ValueError) as err:
            raise errors.StorageError(f"cannot list {source}: {err}") from err
        if not found:
            raise errors.NotFoundError(f"no input file found at {source!r}")
        urls.extend(fs.unstrip_protocol(p) for p in found)
    return urls


def input_format(urls: Sequence[str], forced: str | None) -> str:
    """The one format of every input (``--format``, else from the file names)."""
    if forced:
        return forced
    formats = {file_format(url) or "csv" for url in urls}
    if len(formats) > 1:
        raise errors.SchemaError(
            f"the inputs mix formats {sorted(formats)}: load them separately or pass --format"
        )
    return formats.pop()


def file_digest(url: str, options: dict[str, Any]) -> str:
    """The SHA-1 of a file's content (runs on a worker)."""
    digest = hashlib.sha1()
    with fsspec.open(url, "rb", **options) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(urls: Sequence[str], options: dict[str, Any], shape: dict[str, Any]) -> str:
    """One digest for the inputs' contents (read in parallel) and the options in ``shape``."""
    task = dask.delayed(file_digest, pure=False)
    digests = dask.compute(*[task(url, options) for url in urls])
    text = json.dumps({"files": list(digests), **shape}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def read_inputs(urls: list[str], fmt: str, options: dict[str, Any],
                dtypes: dict[str, str] | None = None,
                columns: list[str] | None = None) -> dd.DataFrame:
    """The files as one lazy dask DataFrame (only ``columns`` if given)."""
    if fmt == "parquet":
        return dd.read_parquet(urls, columns=columns, storage_options=options or None)
    compressed = any(url.lower().endswith(COMPRESSIONS) for url in urls)
    return dd.read_csv(urls, usecols=columns, dtype=dtypes, storage_options=options or None,
                       blocksize=None if compressed else "64MiB")


def find_column(columns: Sequence[str], wanted: str, what: str) -> str:
    """The input column for ``wanted``: same name, else same name ignoring case/spaces."""
    if wanted in columns:
        return wanted
    matches = [c for c in columns if c.strip().lower() == wanted.strip().lower()]
    if len(matches) == 1:
        return matches[0]
    raise errors.SchemaError(
        f"{what} {wanted!r} is not a column of the input files; their columns: {list(columns)}"
    )


# -- schema --------------------------------------------------------------------------
def infer_type(values: pd.Series) -> str:
    """The schema type of a sample column."""
    kind = values.dtype.kind
    if kind == "b":
        return "bool"
    if kind in "iu":
        return "int"
    if kind == "f":
        return "float"
    if kind == "M" or isinstance(values.dtype, pd.DatetimeTZDtype):
        return "timestamp"
    sample = values.dropna()
    if len(sample):
        try:
            pd.to_datetime(sample, format="ISO8601")
        except (ValueError, TypeError):
            return "str"
        return "timestamp"
    return "str"


def infer_schema(sample: pd.DataFrame, names: dict[str, str], index: str | None) -> Schema:
    """A schema for the input columns ``names`` (input -> schema name) of ``sample``."""
    types = {name: infer_type(sample[column]) for column, name in names.items()}
    if index is None:
        index = next((n for n, t in types.items() if t == "timestamp"), None)
        if index is None:
            raise errors.SchemaError(
                f"cannot infer the index: no column holds dates ({types}); "
                "pass --index NAME or --schema"
            )
    elif index not in types:
        raise errors.SchemaError(f"--index {index!r} is not among the columns {list(types)}")
    lines = [f"{n} {t}{'*' if n == index else ''}" for n, t in types.items()]
    return Schema("\n".join(lines))


def schema_arguments(schema: Schema) -> str:
    """The schema as the ``--schema`` arguments that give it."""
    return " ".join(f"'{c.name} {c.type}{'*' if c.index else ''}'" for c in schema.columns)


def read_dtype(type_name: str) -> str | None:
    """The dtype pandas should parse a CSV column with (``None``: leave it to the cast)."""
    return {"int": "int64", "float": "float64", "bool": "bool", "str": "str"}.get(type_name)


def prepare(urls: list[str], fmt: str, args: argparse.Namespace,
            options: dict[str, Any]) -> tuple[Schema, dd.DataFrame]:
    """The schema and the frame to write: schema columns plus the series label column."""
    probe = read_inputs(urls, fmt, options)
    available = [str(c) for c in probe.columns]
    label_columns = [find_column(available, label, "--label") for label in args.label]
    if args.schema:
        schema = Schema("\n".join(args.schema))
        sources = {find_column(available, name, "schema column"): name for name in schema.names}
    else:
        sources = {c: c.strip() for c in available if c not in label_columns}
        sample = probe.head(SAMPLE_ROWS, npartitions=1)
        schema = infer_schema(sample, sources, args.index)
        print(f"inferred schema: --schema {schema_arguments(schema)}")
    if LABEL_COLUMN in schema.names:
        raise errors.SchemaError(f"{LABEL_COLUMN!r} is reserved for the series labels")
    wanted = list(dict.fromkeys([*sources, *label_columns]))
    dtypes = None
    if fmt == "csv" and args.schema:
        # parse numbers with pandas' CSV reader rather than casting text later
        dtypes = {c: t for c, name in sources.items()
                  if (t := read_dtype(schema[name].type)) is not None}
        dtypes.update({c: "str" for c in label_columns})
    frame = read_inputs(urls, fmt, options, dtypes=dtypes, columns=wanted)
    labels = frame[label_columns[0]].astype(str)
    for column in label_columns[1:]:
        labels = labels + args.label_separator + frame[column].astype(str)
    frame = frame[list(sources)].rename(columns=sources).assign(**{LABEL_COLUMN: labels})
    return schema, frame


# -- idempotence ---------------------------------------------------------------------
def loaded_by(repo: Repo, name: str, digest: str) -> Revision | None:
    """The revision that loaded inputs of fingerprint ``digest``, if still fully in place."""
    if MANIFEST not in repo or name not in repo:
        return None
    found = (repo / MANIFEST / name).frame(start=digest, stop=digest)["revision"]
    if not len(found):
        return None
    clct = repo / name
    written = next((r for r in clct.changelog.log() if r.child == found[-1]), None)
    if written is None:  # trimmed away: nothing to compare with, load again
        return None
    commit, ops = clct.read_revision(written)
    current = clct.commit()
    if all(current.rows(op.label) == commit.rows(op.label) for op in ops):
        return written
    return None


def record(repo: Repo, name: str, digest: str, revision: Revision, files: int,
           result: BackfillResult) -> None:
    """Remember which revision loaded inputs of fingerprint ``digest``."""
    manifest = repo.create_collection(MANIFEST_SCHEMA, MANIFEST)
    (manifest / name).write({"fingerprint": [digest], "revision": [revision.child],
                             "files": [files], "series": [result.series],
                             "rows": [result.rows]})


def written_stats(clct: Collection, revision: Revision | None, before: Any) -> tuple[int, int, int]:
    """Series, rows and bytes that ``revision`` added compared with commit ``before``."""
    if revision is None:
        return 0, 0, 0
    commit, ops = clct.read_revision(revision)
    labels = sorted({op.label for op in ops})
    rows = 0
    sizes: dict[str, int] = {}
    files: list[str] = []
    for label in labels:
        old = set(before.rows(label))
        old_digests = {d for r in old for d in r.digests}
        for row in commit.rows(label):
            if row in old:
                continue
            rows += row.length
            for digest in row.digests:
                if digest in old_digests or digest in sizes:
                    continue
                embedded = commit.blob(digest, label)
                sizes[digest] = 0 if embedded is None else len(embedded)
                if embedded is None:
                    files.append(digest)
    if files:
        pod = clct.pod
        found = pod.fs.sizes([pod.full(blob_path(d)) for d in files])
        sizes.update(zip(files, found))
    return len(labels), rows, sum(sizes.values())


# -- the job -------------------------------------------------------------------------
def backfill(args: argparse.Namespace) -> BackfillResult:
    """Run a backfill described by parsed arguments; prints progress, returns the result."""
    started = time.monotonic()
    options = common.storage_options(args.storage_options)
    urls = list_inputs(args.inputs, options)
    fmt = input_format(urls, args.format)
    common.log.info("%d input file(s), format %s", len(urls), fmt)
    repo = common.open_repo(args)
    shape = {"format": fmt, "schema": args.schema, "index": args.index, "label": args.label,
             "separator": args.label_separator}
    with common.cluster(args, repo) as client, common.progress(client, args.progress):
        digest = fingerprint(urls, options, shape)
        done = loaded_by(repo, args.collection, digest)
        if done is not None:
            clct = repo / args.collection
            commit, ops = clct.read_revision(done)
            labels = {op.label for op in ops}
            rows = sum(r.length for label in labels for r in commit.rows(label))
            return BackfillResult(args.collection, len(labels), rows, 0, done.child,
                                  time.monotonic() - started, unchanged=True)
        try:
            schema, frame = prepare(urls, fmt, args, options)
            clct = repo.create_collection(schema, args.collection)
            before = clct.commit()
            revision = clct.write_many(frame, by=LABEL_COLUMN)
        except (ValueError, TypeError, OSError) as err:
            if isinstance(err, errors.LakotaError):
                raise
            raise errors.SchemaError(f"cannot load {', '.join(args.inputs)}: {err}") from err
    series, rows, nbytes = written_stats(clct, revision, before)
    result = BackfillResult(args.collection, series, rows, nbytes,
                            revision.child if revision else None,
                            time.monotonic() - started, unchanged=False)
    if revision is not None:
        record(repo, args.collection, digest, revision, len(urls), result)
    return result


def build_parser() -> argparse.ArgumentParser:
    """The command line of the backfill."""
    parser = argparse.ArgumentParser(
        prog="backfill.py",
        description="Load CSV or Parquet files into one collection, one series per value "
                    "of the --label column(s), in one revision. Rerunning on the same files "
                    "changes nothing and says so.",
        epilog="example: backfill.py --repo file:///tmp/db --collection covid --label "
               "country --schema 'date_reported timestamp*' 'new_cases int' data/*.csv",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="a file, a glob (quote it) or a folder; local or s3://")
    common.add_repo_arguments(parser)
    parser.add_argument("--collection", required=True,
                        help="the collection to load into (created if missing)")
    parser.add_argument("--label", required=True, nargs="+", metavar="COLUMN",
                        help="the column whose values name the series; several columns "
                             "are joined with --label-separator (who_region country -> "
                             "EURO_Belgium)")
    parser.add_argument("--label-separator", default="_", metavar="TEXT",
                        help="joins several --label columns (default: _)")
    parser.add_argument("--schema", nargs="+", metavar="'NAME TYPE'",
                        help="the collection's columns, one 'name type' per argument, '*' "
                             "after the index type: 'date_reported timestamp*' 'new_cases int'. "
                             "Types: timestamp, date, int, float, bool, str or a numpy dtype. "
                             "Default: inferred from the first rows and printed")
    parser.add_argument("--index", metavar="COLUMN",
                        help="the index column of an inferred schema (default: the first "
                             "column holding dates)")
    parser.add_argument("--format", choices=["csv", "parquet"],
                        help="the input format (default: from the file names)")
    common.add_cluster_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the backfill command line; returns the exit code."""

    def body(args: argparse.Namespace) -> int:
        print(backfill(args).summary())
        return common.EXIT_OK

    return common.main(build_parser(), argv, body)


common.ship_by_value(__name__)

if __name__ == "__main__":
    sys.exit(main())
