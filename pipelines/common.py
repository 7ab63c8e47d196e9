"""What the pipelines share: arguments, the repository, the cluster, progress, errors.

Every pipeline takes the repository as ``--repo URL`` (or ``$LAKOTA_REPO``) with
``--storage-option key=value`` for s3fs, and a cluster as ``--scheduler``: a scheduler
address (``tcp://host:8786``), the name of a local dask scheduler (``threads``,
``processes``, ``synchronous``), or nothing, which starts a throwaway
``distributed.LocalCluster`` with worker processes. Progress bars are plain text:
:class:`dask.diagnostics.ProgressBar` on local schedulers, :func:`distributed.progress`
on a cluster.

User errors are :class:`lakota_dask.errors.LakotaError`; :func:`run` prints them as one
``error: ...`` line on stderr and turns them into exit code 1 (argparse uses 2).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import cloudpickle
import dask
from dask.diagnostics import ProgressBar

from lakota_dask import Repo, errors
from lakota_dask.parallel import check_scheduler
from lakota_dask.utils import logger as lakota_logger

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "add_cluster_arguments",
    "add_repo_arguments",
    "cluster",
    "configure_logging",
    "duration",
    "open_repo",
    "parse_args",
    "progress",
    "run",
    "ship_by_value",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

log = logging.getLogger("pipelines")


# -- argument types ------------------------------------------------------------------
def storage_option(text: str) -> tuple[str, Any]:
    """``key=value`` as a pair; the value is read as JSON when it parses (``5``, ``true``)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def storage_options(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Pairs from :func:`storage_option` as a dict; dotted keys make nested dicts."""
    options: dict[str, Any] = {}
    for key, value in pairs:
        *parents, last = key.split(".")
        node = options
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return options


def duration(text: str) -> timedelta:
    """``"90s"``, ``"10m"``, ``"2h"``, ``"30d"``, ``"1w"`` (a bare number is seconds)."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive duration such as 90s, 10m, 2h or 30d, got {text!r}"
        )
    return timedelta(seconds=float(match.group(1)) * _SECONDS[match.group(2)])


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# -- arguments -----------------------------------------------------------------------
def add_repo_arguments(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--repo`` and ``--storage-option``."""
    fallback = os.environ.get("LAKOTA_REPO", default)
    parser.add_argument(
        "--repo", default=fallback, metavar="URL",
        help="the repository: a folder, file:///abs/path or s3://bucket/prefix "
             f"(default: $LAKOTA_REPO, else {default or 'none'})",
    )
    parser.add_argument(
        "--storage-option", dest="storage_options", metavar="KEY=VALUE", action="append",
        type=storage_option, default=[],
        help="an s3fs option for the repository and S3 inputs, repeatable: "
             "endpoint_url=http://127.0.0.1:5000, anon=false, client_kwargs.region_name=eu-west-1",
    )


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--scheduler``, the local cluster's size, ``--no-progress`` and ``-v``."""
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="a dask scheduler address (tcp://host:8786), or 'threads', 'processes' or "
             "'synchronous' for a local dask scheduler; default: start a local cluster "
             "of worker processes for this run",
    )
    parser.add_argument("--workers", type=positive_int, metavar="N",
                        help="worker processes of the local cluster (default: dask's choice)")
    parser.add_argument("--threads-per-worker", type=positive_int, metavar="N",
                        help="threads per worker of the local cluster")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="do not draw progress bars")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log what happens (-v), and every storage operation (-vv)")


def parse_args(parser: argparse.ArgumentParser,
               argv: Sequence[str] | None) -> argparse.Namespace | int:
    """The parsed arguments, or the exit code argparse chose (0 for --help, 2 for usage)."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_FAILED


def configure_logging(verbosity: int) -> None:
    """Warnings by default; ``-v`` pipeline steps; ``-vv`` every storage operation."""
    # importing distributed sets its loggers up; it must happen before we adjust them
    import distributed  # noqa: F401

    logging.basicConfig(
        level=logging.INFO if verbosity else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    log.setLevel(logging.INFO if verbosity else logging.WARNING)
    # the scheduler of a local cluster runs in this process and logs every worker event
    logging.getLogger("distributed").setLevel(logging.WARNING)
    lakota_logger.setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)


# -- repository and cluster ----------------------------------------------------------
def open_repo(args: argparse.Namespace) -> Repo:
    """The repository named by ``--repo`` / ``$LAKOTA_REPO``."""
    if not args.repo:
        raise errors.InvalidURLError("no repository given: pass --repo URL or set LAKOTA_REPO")
    return Repo(args.repo, storage_options=storage_options(args.storage_options) or None)


@contextmanager
def cluster(args: argparse.Namespace, repo: Repo | None = None) -> Iterator[Any]:
    """Run the block on the cluster of ``--scheduler``; yields the client (``None`` locally).

    With no ``--scheduler``, a ``LocalCluster`` of worker processes lives for the block.
    ``repo``, if given, is checked to be reachable from the workers.
    """
    address = args.scheduler
    if address in LOCAL_SCHEDULERS:
        with dask.config.set(scheduler=address):
            if repo is not None:
                check_scheduler(repo.pod)
            yield None
        return
    from distributed import Client, LocalCluster

    if address:
        try:
            client = Client(address)
        except OSError as err:
            raise errors.SchedulerError(
                f"cannot reach the dask scheduler at {address}: {err}; start one "
                "(cluster/start-local.sh) or leave out --scheduler for a local cluster"
            ) from err
        with client:
            if repo is not None:
                check_scheduler(repo.pod)
            yield client
        return
    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads_per_worker,
                      processes=True, dashboard_address=":0",
                      scheduler_kwargs={"dashboard": False},
                      # a failed task is reported once, by the error line of the run
                      silence_logs=logging.ERROR if args.verbose else logging.CRITICAL,
                      ) as local, Client(local) as client:
        log.info("started a local cluster: %s", local)
        if repo is not None:
            check_scheduler(repo.pod)
        yield client


class _ProgressGet:
    """A dask scheduler function: runs graphs on ``client`` behind a text progress bar."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        from distributed import futures_of
        from distributed import progress as draw

        packed = self.client.get(dsk, keys, sync=False, **kwargs)
        draw(futures_of(packed))  # blocks until every future is done or one failed
        return self.client.gather(packed)


@contextmanager
def progress(client: Any, enabled: bool = True) -> Iterator[None]:
    """Draw a progress bar for every dask computation of the block.

    Call :func:`cluster` with the repository first: inside this block the scheduler is a
    wrapper of the client, which ``check_scheduler`` does not recognise.
    """
    if not enabled:
        yield
    elif client is None:
        with ProgressBar(out=sys.stdout):
            yield
    else:
        with dask.config.set(scheduler=_ProgressGet(client)):
            yield


def ship_by_value(module_name: str) -> None:
    """Send the functions of ``module_name`` to workers by value (pickled whole).

    Workers started from the installed package (compose, Kubernetes) have no
    ``pipelines`` package to import them from.
    """
    cloudpickle.register_pickle_by_value(sys.modules[module_name])


# -- running -------------------------------------------------------------------------
def run(body: Callable[[], int]) -> int:
    """``body()``, with user errors printed as one ``error:`` line and exit code 1."""
    try:
        return body()
    except errors.LakotaError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def main(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
         body: Callable[[argparse.Namespace], int]) -> int:
    """A pipeline's command line: parse ``argv``, set up logging, run ``body(args)``."""
    args = parse_args(parser, argv)
    if isinstance(args, int):
        return args
    configure_logging(args.verbose)
    return run(lambda: body(args))


ship_by_value(__name__)
