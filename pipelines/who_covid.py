"""The seed's WHO COVID example, end to end, on the bundled sample (no network needed).

    python pipelines/who_covid.py                 # into ./who-db, on a local cluster
    python pipelines/who_covid.py --repo s3://bucket/who --scheduler tcp://host:8786

Loads ``pipelines/data/who_covid_sample.csv`` (the WHO column format) into the collection
``covid`` with the backfill pipeline, one series per ``<who_region>_<country>`` as in the
seed, then prints the seed's query of ``EURO_Belgium`` from 2020-08-20 to 2020-08-29.
Slices include their stop here (the seed's example excludes it), so the query stops at
2020-08-29 and prints the same ten rows. Rerunning loads nothing new.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the `pipelines` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines import backfill, common

__all__ = ["build_parser", "main"]

SAMPLE = Path(__file__).resolve().parent / "data" / "who_covid_sample.csv"
SCHEMA = [
    "date_reported timestamp*",
    "new_cases int",
    "cumulative_cases int",
    "new_deaths int",
    "cumulative_deaths int",
]
COLLECTION = "covid"
SERIES = "EURO_Belgium"
START, STOP = "2020-08-20", "2020-08-29"


def build_parser() -> argparse.ArgumentParser:
    """The command line of the WHO example."""
    parser = argparse.ArgumentParser(
        prog="who_covid.py",
        description="The seed's WHO COVID example: load the bundled sample into the "
                    f"collection {COLLECTION!r} (one series per WHO region and country) and "
                    f"print {SERIES} from {START} to {STOP}.",
    )
    common.add_repo_arguments(parser, default="who-db")
    parser.add_argument("--sample", default=str(SAMPLE), metavar="CSV",
                        help="a file in the WHO format (default: the bundled sample)")
    common.add_cluster_arguments(parser)
    return parser


def backfill_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """The backfill run of this example, with this run's repository and cluster options."""
    argv = [args.sample, "--repo", args.repo, "--collection", COLLECTION,
            "--label", "who_region", "country", "--schema", *SCHEMA]
    for key, value in args.storage_options:
        text = value if isinstance(value, str) else json.dumps(value)
        argv += ["--storage-option", f"{key}={text}"]
    if args.scheduler:
        argv += ["--scheduler", args.scheduler]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    if args.threads_per_worker:
        argv += ["--threads-per-worker", str(args.threads_per_worker)]
    if not args.progress:
        argv.append("--no-progress")
    return backfill.build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the sample, print the seed's Belgium query; returns the exit code."""

    def body(args: argparse.Namespace) -> int:
        print(backfill.backfill(backfill_arguments(args)).summary())
        repo = common.open_repo(args)
        series = repo / COLLECTION / SERIES
        print(series[START:STOP].df())
        return common.EXIT_OK

    return common.main(build_parser(), argv, body)


if __name__ == "__main__":
    sys.exit(main())
