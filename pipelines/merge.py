"""The scheduled merge: join the heads of every collection, then tidy by policy.

    python pipelines/merge.py --repo s3://lakota/who --once --scheduler tcp://host:8786
    python pipelines/merge.py --repo /data/db --every 10m --defrag --trim-before 30d --gc

One run:

1. merges the registry of collections if it has several heads (concurrent creations);
2. merges, in parallel on the cluster (one task per collection), every collection whose
   changelog has more than one head;
3. if every merge succeeded, applies the policy flags to every collection: ``--defrag``
   (rewrite small segments), ``--trim-before AGE`` (drop history older than AGE); then
   ``--gc`` (collect unreferenced files);
4. prints one summary line.

A merge only adds a revision. If any merge of a run fails, the merge revisions this run
added are removed again, so every collection is left as it was (with its several heads),
no policy step runs, and the run exits with code 1. ``--every`` keeps going after a failed
run (the next run retries) and exits 1 at the end if any run failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the `pipelines` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lakota_dask import Collection, Repo
from lakota_dask.parallel import run_tasks
from pipelines import common

__all__ = ["RunReport", "build_parser", "main", "run_once"]

#: how the registry of collections is named in reports
REGISTRY = "(registry)"


@dataclass
class RunReport:
    """What one run of the scheduled merge did."""

    merged: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    rolled_back: list[str] = field(default_factory=list)
    maintenance: dict[str, int] = field(default_factory=dict)
    gc: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every step succeeded."""
        return not self.failed

    def summary(self) -> str:
        """The one line printed for the run."""
        merged = ", ".join(f"{label} ({heads} heads)" for label, heads in self.merged.items())
        parts = [f"{len(self.merged)} merged" + (f": {merged}" if merged else "")]
        if self.failed:
            failures = "; ".join(f"{label}: {msg}" for label, msg in self.failed.items())
            parts.append(f"{len(self.failed)} failed: {failures}")
            if self.rolled_back:
                parts.append(f"rolled back: {', '.join(self.rolled_back)}")
        parts += [f"{name} {count}" for name, count in self.maintenance.items()]
        if self.gc:
            parts.append(f"gc: {self.gc}")
        status = "ok" if self.ok else "FAILED"
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"merge {stamp} {status}: {'; '.join(parts)}; {self.seconds:.1f} s"


def describe(result: Any) -> str:
    """The numbers of a result dataclass, as ``name value`` pairs."""
    if not is_dataclass(result):
        return str(result)
    values = {f.name: getattr(result, f.name) for f in fields(result)}
    return ", ".join(f"{k} {v}" for k, v in values.items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool))


def open_collection(repo: Repo, label: str) -> Collection:
    """The collection ``label``, or the registry itself."""
    return repo.registry if label == REGISTRY else repo.collection(label)


# -- tasks (run on the workers) ------------------------------------------------------
def merge_task(label: str, pod: Any) -> dict[str, Any]:
    """Merge one collection; reports its outcome instead of raising, for the rollback."""
    try:
        result = open_collection(Repo(pod=pod), label).merge()
    except Exception as err:  # noqa: BLE001 - every failure is reported, then rolled back
        return {"label": label, "error": f"{type(err).__name__}: {err}"}
    revision = result.revision
    return {"label": label, "heads": result.heads,
            "child": revision.child if revision is not None else None}


def maintain_task(label: str, pod: Any, defrag: bool, trim_before: str | None) -> dict[str, Any]:
    """Defrag and/or trim one collection; reports its outcome instead of raising."""
    out: dict[str, Any] = {"label": label}
    try:
        clct = Repo(pod=pod).collection(label)
        if defrag:
            out["defrag"] = len(clct.defrag().series)
        if trim_before is not None:
            out["trim"] = clct.trim(before=trim_before).removed
    except Exception as err:  # noqa: BLE001 - reported in the run's summary
        out["error"] = f"{type(err).__name__}: {err}"
    return out


# -- one run -------------------------------------------------------------------------
def several_heads(repo: Repo) -> list[str]:
    """Labels of the collections whose changelog has more than one head."""
    return [label for label in repo.ls()
            if len(repo.collection(label).changelog.heads()) > 1]


def roll_back(repo: Repo, outcomes: list[dict[str, Any]]) -> list[str]:
    """Remove the merge revisions of ``outcomes``; returns the labels rolled back."""
    done = []
    for outcome in outcomes:
        child = outcome.get("child")
        if not child:
            continue
        changelog = open_collection(repo, outcome["label"]).changelog
        log = changelog.log()
        if any(r.parent == child for r in log):
            continue  # someone already wrote on top of the merge: keep it
        changelog.remove([r for r in log if r.child == child])
        done.append(outcome["label"])
    return done


def merge_heads(repo: Repo, report: RunReport) -> None:
    """Steps 1 and 2: merge the registry, then every collection in parallel."""
    outcomes = []
    if len(repo.registry.changelog.heads()) > 1:
        outcomes.append(merge_task(REGISTRY, repo.pod))
    if not any("error" in o for o in outcomes):
        labels = several_heads(repo)
        outcomes += run_tasks(merge_task, labels, repo.pod, repo.pod)
    for outcome in outcomes:
        if "error" in outcome:
            report.failed[outcome["label"]] = outcome["error"]
        elif outcome["child"]:
            report.merged[outcome["label"]] = outcome["heads"]
    if report.failed:
        report.rolled_back = roll_back(repo, outcomes)
        report.merged = {}


def tidy(repo: Repo, args: argparse.Namespace, report: RunReport) -> None:
    """Step 3: defrag, trim and gc by policy."""
    trim_before = None
    if args.trim_before is not None:
        trim_before = (datetime.now(timezone.utc) - args.trim_before).isoformat()
    if args.defrag or trim_before:
        outcomes = run_tasks(maintain_task, repo.ls(), repo.pod, repo.pod, args.defrag,
                             trim_before)
        for outcome in outcomes:
            if "error" in outcome:
                report.failed[outcome["label"]] = outcome["error"]
        if args.defrag:
            report.maintenance["series defragmented"] = sum(o.get("defrag", 0) for o in outcomes)
        if trim_before:
            report.maintenance["revisions trimmed"] = sum(o.get("trim", 0) for o in outcomes)
    if args.gc and report.ok:
        report.gc = describe(repo.gc())


def run_once(repo: Repo, args: argparse.Namespace) -> RunReport:
    """One run of the scheduled merge (see the module docstring)."""
    started = time.monotonic()
    report = RunReport()
    merge_heads(repo, report)
    if report.ok:
        tidy(repo, args, report)
    report.seconds = time.monotonic() - started
    return report


def schedule(args: argparse.Namespace) -> int:
    """Run once, or every ``--every``; prints one summary line per run."""
    repo = common.open_repo(args)
    failures = 0
    runs = 0
    with common.cluster(args, repo) as client, common.progress(client, args.progress):
        while True:
            next_run = time.monotonic() + (args.every or timedelta()).total_seconds()
            report = run_once(repo, args)
            print(report.summary(), file=sys.stdout if report.ok else sys.stderr, flush=True)
            failures += not report.ok
            runs += 1
            if args.every is None or (args.max_runs and runs >= args.max_runs):
                break
            time.sleep(max(0.0, next_run - time.monotonic()))
    return common.EXIT_FAILED if failures else common.EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The command line of the scheduled merge."""
    parser = argparse.ArgumentParser(
        prog="merge.py",
        description="Merge every collection with several heads, in parallel on a dask "
                    "cluster, then defrag/trim/gc by policy. One summary line per run; "
                    "exit code 1 if a run failed (its merges are rolled back).",
    )
    common.add_repo_arguments(parser)
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--once", action="store_true", help="run once and exit")
    when.add_argument("--every", type=common.duration, metavar="DURATION",
                      help="run now, then every DURATION (90s, 10m, 2h, 1d) until stopped")
    parser.add_argument("--max-runs", type=common.positive_int, metavar="N",
                        help="with --every: stop after N runs")
    parser.add_argument("--defrag", action="store_true",
                        help="rewrite runs of small segments of every collection")
    parser.add_argument("--trim-before", type=common.duration, metavar="AGE",
                        help="drop the history older than AGE (30d) from every collection")
    parser.add_argument("--gc", action="store_true",
                        help="collect files no revision references any more")
    common.add_cluster_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scheduled merge command line; returns the exit code."""
    return common.main(build_parser(), argv, schedule)


common.ship_by_value(__name__)

if __name__ == "__main__":
    sys.exit(main())
