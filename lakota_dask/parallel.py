"""Parallel data movement through dask's current scheduler.

Maintenance work (copying segments, rewriting series, scrubbing files) is a list of
independent tasks. :func:`run_tasks` turns them into one dask graph and computes it with
whatever scheduler is active: the synchronous or threaded schedulers, or a
``distributed.Client`` whose workers may be other processes or machines. Results come back
in the order of the items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import dask

from .errors import SchedulerError
from .storage import Pod

__all__ = ["check_scheduler", "run_tasks", "uses_worker_processes"]

T = TypeVar("T")


def uses_worker_processes() -> bool:
    """Whether the active dask scheduler runs tasks in other processes."""
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        client = None
    scheduler = dask.config.get("scheduler", None)
    if client is not None and scheduler in (None, "dask.distributed", "distributed"):
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
        return any(not address.startswith("inproc://") for address in workers)
    return scheduler in ("processes", "multiprocessing")


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
