"""The ``lakota-dask`` command (also ``python -m lakota_dask``).

    lakota-dask --repo my-db create temperature "timestamp timestamp*" "value float"
    lakota-dask --repo my-db write temperature Brussels < brussels.csv
    lakota-dask --repo my-db read temperature Brussels --stop 2020-01-03 --format table

The repository comes from ``--repo`` or ``$LAKOTA_REPO``. Work that runs as dask graphs
(writes, merge, pull, push, defrag, gc, check) uses ``--scheduler ADDRESS`` when given,
else dask's default scheduler. Exit codes: 0 success, 1 an error (one ``error: ...``
line on stderr), 2 a usage error.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from typing import Any

import pandas as pd

from lakota_dask import Repo, Revision, Schema, errors

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
CLOSED = ["both", "left", "right", "neither"]


# -- helpers -------------------------------------------------------------------------
def fail(message: str) -> errors.LakotaError:
    """A user error carrying ``message``."""
    return errors.LakotaError(message)


def storage_option(text: str) -> tuple[str, str]:
    """``key=value`` as a pair."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def open_repo(args: argparse.Namespace, url: str | None = None) -> Repo:
    """The repository of ``--repo`` (or ``url``), with the ``--storage-option`` values."""
    url = url or args.repo
    if not url:
        raise errors.InvalidURLError("no repository given: pass --repo URL or set LAKOTA_REPO")
    options = dict(args.storage_options) or None
    return Repo(url, storage_options=options)


def describe(result: Any) -> str:
    """A result dataclass as ``name value`` pairs (numbers, labels and revisions)."""
    if not is_dataclass(result):
        return str(result)
    parts = []
    for item in fields(result):
        value = getattr(result, item.name)
        if isinstance(value, Revision):
            value = value.child
        elif isinstance(value, (list, tuple)):
            value = ",".join(map(str, value)) or "-"
        elif value is None:
            value = "-"
        parts.append(f"{item.name} {value}")
    return ", ".join(parts)


def find_revision(repo: Repo, collection: str, name: str) -> Revision | None:
    """The revision of ``collection`` whose child name starts with ``name``, if any."""
    found = [r for r in repo.collection(collection).changelog.log() if r.child.startswith(name)]
    children = {r.child for r in found}
    if len(children) > 1:
        raise fail(f"revision {name!r} is ambiguous: {sorted(children)}")
    return found[0] if found else None


def before_value(repo: Repo, collection: str, text: str | None) -> Any:
    """``--before``: a revision name (or unique prefix), else a date/time."""
    if text is None:
        return None
    return find_revision(repo, collection, text) or text


@contextmanager
def scheduler(address: str | None) -> Iterator[None]:
    """Use the dask scheduler at ``address`` for the block (none: dask's default)."""
    if not address:
        yield
        return
    from distributed import Client

    try:
        client = Client(address)
    except OSError as err:
        raise errors.SchedulerError(f"cannot reach the dask scheduler at {address}: {err}") from err
    with client:
        yield


# -- commands ------------------------------------------------------------------------
def cmd_create(args: argparse.Namespace) -> int:
    """Create a collection with the schema given as 'name type' arguments."""
    schema = Schema("\n".join(args.columns))
    repo = open_repo(args)
    repo.create_collection(schema, args.collection, raise_if_exists=True)
    print(f"created collection {args.collection}: {schema}")
    return EXIT_OK


def cmd_ls(args: argparse.Namespace) -> int:
    """List the collections, or the series of one collection."""
    repo = open_repo(args)
    labels = repo.collection(args.collection).ls() if args.collection else repo.ls()
    for label in labels:
        print(label)
    return EXIT_OK


def read_stdin_csv(schema: Schema) -> pd.DataFrame:
    """The CSV on stdin; text columns stay text ("01" is not the number 1)."""
    text_columns = {c.name: "str" for c in schema.columns if c.type == "str"}
    data = sys.stdin.read()
    if not data.strip():
        raise fail("no CSV on stdin: pipe a file with a header line, e.g. `< data.csv`")
    try:
        return pd.read_csv(io.StringIO(data), dtype=text_columns)
    except pd.errors.ParserError as err:
        raise fail(f"cannot parse the CSV on stdin: {err}") from err


def cmd_write(args: argparse.Namespace) -> int:
    """Write the CSV on stdin into a series."""
    clct = open_repo(args).collection(args.collection)
    frame = read_stdin_csv(clct.schema)
    revision = clct.series(args.series).write(frame, start=args.start, stop=args.stop,
                                              closed=args.closed)
    child = revision.child if revision is not None else "none (nothing to write)"
    print(f"wrote {len(frame)} rows to {args.collection}/{args.series}, revision {child}")
    return EXIT_OK


def cmd_read(args: argparse.Namespace) -> int:
    """Print rows of a series as CSV or as a table."""
    repo = open_repo(args)
    series = repo.collection(args.collection).series(args.series)
    frame = series.df(start=args.start, stop=args.stop, closed=args.closed,
                      before=before_value(repo, args.collection, args.before),
                      select=args.select, limit=args.limit, offset=args.offset)
    if args.format == "table":
        print(frame.to_string(index=False) if len(frame) else frame)
    else:
        frame.to_csv(sys.stdout, index=False)
    return EXIT_OK


def cmd_rev(args: argparse.Namespace) -> int:
    """Print the changelog: time, parent.child, and '*' on heads."""
    for revision in open_repo(args).collection(args.collection).changelog.log():
        stamp = revision.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        print(f"{stamp} {revision.path}{' *' if revision.is_leaf else ''}")
    return EXIT_OK


def cmd_len(args: argparse.Namespace) -> int:
    """Print the number of rows of a series."""
    print(len(open_repo(args).collection(args.collection).series(args.series)))
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    """Merge the heads of collections (default: the registry and every collection)."""
    repo = open_repo(args)
    if args.collections:
        results = {label: repo.collection(label).merge() for label in args.collections}
    else:
        results = repo.merge().collections
    for label, result in results.items():
        print(f"{label}: {describe(result)}")
    if not results:
        print("nothing to merge: every collection has a single head")
    return EXIT_OK


def sync(args: argparse.Namespace, pull: bool) -> int:
    """Pull from, or push to, the repository ``args.remote``."""
    repo = open_repo(args)
    remote = open_repo(args, args.remote)
    if pull:
        result = repo.pull(remote, *args.collections, shallow=args.shallow)
    else:
        result = repo.push(remote, *args.collections, shallow=args.shallow)
    print(describe(result))
    return EXIT_OK


def cmd_pull(args: argparse.Namespace) -> int:
    """Copy collections of a remote repository into this one."""
    return sync(args, pull=True)


def cmd_push(args: argparse.Namespace) -> int:
    """Copy collections of this repository into a remote one."""
    return sync(args, pull=False)


def cmd_trim(args: argparse.Namespace) -> int:
    """Drop old history of collections (default: every collection)."""
    repo = open_repo(args)
    for label in args.collections or repo.ls():
        before = before_value(repo, label, args.before)
        print(f"{label}: {describe(repo.collection(label).trim(before=before))}")
    return EXIT_OK


def cmd_defrag(args: argparse.Namespace) -> int:
    """Rewrite runs of small segments (default: every collection)."""
    repo = open_repo(args)
    for label in args.collections or repo.ls():
        print(f"{label}: {describe(repo.collection(label).defrag())}")
    return EXIT_OK


def cmd_gc(args: argparse.Namespace) -> int:
    """Collect files that no revision references."""
    print(describe(open_repo(args).gc(timeout=args.timeout)))
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Verify every file the revisions reference; exit 1 if one is missing or corrupt."""
    result = open_repo(args).check()
    for path in (*result.missing, *result.corrupt):
        print(f"{path}: {result.messages.get(path, 'bad')}", file=sys.stderr)
    counts = (f"{result.revisions} revisions, {result.shards} shards, {result.segments} "
              f"segments, {result.embedded} embedded segments checked")
    if result.ok:
        print(f"ok: {counts}")
        return EXIT_OK
    print(f"error: {len(result.missing)} missing and {len(result.corrupt)} corrupt file(s); "
          f"{counts}", file=sys.stderr)
    return EXIT_ERROR


# -- parser --------------------------------------------------------------------------
def add_range(parser: argparse.ArgumentParser, what: str) -> None:
    """``--start``, ``--stop`` and ``--closed``."""
    parser.add_argument("--start", help=f"first index value {what} (e.g. 2020-01-01)")
    parser.add_argument("--stop", help=f"last index value {what} (included by default)")
    parser.add_argument("--closed", choices=CLOSED, default="both",
                        help="which ends of [start, stop] are included (default: both)")


def build_parser() -> argparse.ArgumentParser:
    """The ``lakota-dask`` command line."""
    parser = argparse.ArgumentParser(
        prog="lakota-dask",
        description="Version-controlled numerical series on a folder, S3 or memory. "
                    "Exit codes: 0 ok, 1 error, 2 usage.",
        epilog="Run `lakota-dask COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--repo", default=os.environ.get("LAKOTA_REPO"), metavar="URL",
                        help="the repository: a folder, file:///abs/path or s3://bucket/prefix "
                             "(default: $LAKOTA_REPO)")
    parser.add_argument("--storage-option", dest="storage_options", metavar="KEY=VALUE",
                        action="append", type=storage_option, default=[],
                        help="an s3fs option, repeatable (endpoint_url=http://host:5000)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a dask scheduler (tcp://host:8786) for the parallel work")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func: Callable[[argparse.Namespace], int],
                **kwargs: Any) -> argparse.ArgumentParser:
        doc = (func.__doc__ or "").strip()
        sub = commands.add_parser(name, help=doc, description=doc, **kwargs)
        sub.set_defaults(func=func)
        return sub

    sub = command("create", cmd_create,
                  epilog='example: create temperature "timestamp timestamp*" "value float"')
    sub.add_argument("collection")
    sub.add_argument("columns", nargs="+", metavar="'NAME TYPE'",
                     help="one column per argument; '*' after the type marks the index; "
                          "types: timestamp, date, int, float, bool, str, or a numpy dtype")

    sub = command("ls", cmd_ls)
    sub.add_argument("collection", nargs="?", help="list the series of this collection")

    sub = command("write", cmd_write,
                  epilog="The CSV needs a header line naming the schema's columns; it "
                         "replaces the range from its first to its last index value "
                         "(or --start/--stop).")
    sub.add_argument("collection")
    sub.add_argument("series")
    add_range(sub, "replaced")

    sub = command("read", cmd_read)
    sub.add_argument("collection")
    sub.add_argument("series")
    add_range(sub, "to read")
    sub.add_argument("--select", nargs="+", metavar="COLUMN", help="only these columns")
    sub.add_argument("--limit", type=int, metavar="N", help="at most N rows")
    sub.add_argument("--offset", type=int, metavar="N", help="skip the first N rows")
    sub.add_argument("--before", metavar="WHEN",
                     help="read as of a revision (its name or a prefix) or a time")
    sub.add_argument("--format", choices=["csv", "table"], default="csv",
                     help="csv (default) or a table for reading")

    sub = command("rev", cmd_rev)
    sub.add_argument("collection")

    sub = command("len", cmd_len)
    sub.add_argument("collection")
    sub.add_argument("series")

    sub = command("merge", cmd_merge)
    sub.add_argument("collections", nargs="*", metavar="COLLECTION")

    for name, func in (("pull", cmd_pull), ("push", cmd_push)):
        sub = command(name, func)
        sub.add_argument("remote", metavar="REMOTE_URL",
                         help="the other repository (same --storage-option values)")
        sub.add_argument("collections", nargs="*", metavar="COLLECTION",
                         help="only these collections (default: all)")
        sub.add_argument("--shallow", action="store_true",
                         help="copy only the latest state, not the history")

    sub = command("trim", cmd_trim)
    sub.add_argument("collections", nargs="*", metavar="COLLECTION")
    sub.add_argument("--before", metavar="WHEN",
                     help="drop revisions up to this revision or time (default: all but "
                          "the latest state)")

    sub = command("defrag", cmd_defrag)
    sub.add_argument("collections", nargs="*", metavar="COLLECTION")

    sub = command("gc", cmd_gc)
    sub.add_argument("--timeout", type=float, metavar="SECONDS",
                     help="delete files soft-deleted longer ago than this (default: "
                          "lakota.gc-timeout in dask's config, else one hour)")

    command("check", cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 error, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        with scheduler(args.scheduler):
            return args.func(args)
    except (errors.LakotaError, ValueError) as err:
        # ValueError: a value from the command line or the CSV that pandas cannot parse
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_OK  # `lakota-dask read ... | head`: the reader left, nothing to report
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
