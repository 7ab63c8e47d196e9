"""Parallel data movement through dask's current scheduler.

Maintenance work (copying segments, rewriting series, scrubbing files) is a list of
independent tasks. :func:`run_tasks` turns them into one dask graph and computes it with
whatever scheduler is active: the synchronous or threaded schedulers, or a
``distributed.Client`` whose workers may be other processes or machines. Results come back
in the order of the items.
"""

from __future__ import annotations

import sys
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import dask
from dask.base import normalize_token

from .errors import SchedulerError
from .storage import Pod
from .utils import one_thread

__all__ = ["check_scheduler", "held_by_workers", "in_worker_task", "run_tasks",
           "uses_worker_processes", "worker_threads"]

T = TypeVar("T")

#: one random token per in-process pod, for as long as the pod lives
_INSTANCE_TOKENS: weakref.WeakKeyDictionary[Pod, str] = weakref.WeakKeyDictionary()


@normalize_token.register(Pod)
def _tokenize_pod(pod: Pod) -> tuple[Any, ...]:
    """A pod's dask token: what it pickles to, or its identity if it cannot be pickled.

    Graph keys (``from_map``, ``map_partitions``) hash every argument, pods included; an
    in-memory pod cannot be pickled, so it gets a token of its own instead, which also
    keeps two memory repositories of one process apart.
    """
    if pod.shareable:
        return ("pod", normalize_token(pod.__reduce_ex__(5)))
    return (type(pod).__name__, _INSTANCE_TOKENS.setdefault(pod, uuid.uuid4().hex))


def _client(scheduler: Any) -> Any:
    """The ``distributed.Client`` that would run a graph, if any."""
    try:
        from distributed import Client, default_client
    except ImportError:
        return None
    if isinstance(scheduler, Client):
        return scheduler
    if isinstance(getattr(scheduler, "__self__", None), Client):  # e.g. ``client.get``
        return scheduler.__self__
    if scheduler in (None, "dask.distributed", "distributed"):
        try:
            return default_client()
        except ValueError:
            return None
    return None


def uses_worker_processes() -> bool:
    """Whether the active dask scheduler runs tasks in other processes."""
    scheduler = dask.config.get("scheduler", None)
    client = _client(scheduler)
    if client is not None:
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
        return any(not address.startswith("inproc://") for address in workers)
    return scheduler in ("processes", "multiprocessing")


def in_worker_task() -> bool:
    """Whether the calling code runs in a task of a ``distributed`` worker."""
    distributed = sys.modules.get("distributed")  # a worker has imported it
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True


@contextmanager
def worker_threads() -> Iterator[None]:
    """Keep the coding of a block to the calling thread when it runs in a worker's task.

    A ``distributed`` worker's threads are the cores it was given (its nanny sets
    ``OMP_NUM_THREADS=1`` for the same reason); a task fanning out on every core as well
    oversubscribes them. Measured on 2 cores, 2 one-thread workers: 77 ms per 500,000-row
    partition fanned out, 30-50 ms coded in turn. Outside workers (threaded or synchronous
    schedulers, plain calls) nothing changes.
    """
    if not in_worker_task():
        yield
        return
    with one_thread():
        yield


def held_by_workers(collection: Any) -> bool:
    """Whether every partition of a dask collection is already in workers' memory.

    True for a collection persisted on a ``distributed`` cluster and not transformed
    since: its graph holds only its futures and one alias per partition. Holding all its
    partitions until a check of every one has run then costs no memory.
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    futures = distributed.futures_of(collection)
    partitions = len(collection.__dask_keys__())
    return (len(futures) >= partitions
            and len(collection.__dask_graph__()) <= len(futures) + partitions)


def check_scheduler(pod: Pod) -> None:
    """Refuse a pod that worker processes cannot open (an in-memory repository)."""
    if not pod.shareable and uses_worker_processes():
        raise SchedulerError(
            f"{pod.location} lives in this process's memory and cannot be used by dask "
            "worker processes; use a file:// or s3:// repository, or a threaded scheduler "
            "(dask.config.set(scheduler='threads'))"
        )


def run_tasks(func: Callable[..., T], items: Iterable[Any], pod: Pod, *args: Any) -> list[T]:
    """``[func(item, *args) for item in items]``, computed in parallel by dask."""
    items = list(items)
    if not items:
        return []
    check_scheduler(pod)
    task = dask.delayed(func, pure=False)
    tasks = [task(item, *args) for item in items]
    return list(dask.compute(*tasks))
