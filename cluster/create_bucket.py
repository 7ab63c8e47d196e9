#!/usr/bin/env python3
"""Create an S3 bucket on a test S3 server (moto), retrying until the server answers.

    python cluster/create_bucket.py BUCKET [--endpoint URL] [--timeout SECONDS]

The endpoint defaults to $AWS_ENDPOINT_URL. With no endpoint at all (real AWS S3), the
bucket is assumed to exist already and nothing is done. Creating a bucket that already
exists is not an error, so this is safe to run before every job. Standard library only:
moto accepts unsigned requests, so a plain ``PUT /BUCKET`` is enough.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request


def create_bucket(endpoint: str, bucket: str, timeout: float) -> str:
    url = f"{endpoint.rstrip('/')}/{bucket}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="PUT"), timeout=5):
                return "created"
        except urllib.error.HTTPError as exc:
            if exc.code == 409:  # BucketAlreadyOwnedByYou / BucketAlreadyExists
                return "already there"
            raise
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bucket")
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", ""),
                        help="S3 server URL (default: $AWS_ENDPOINT_URL)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for the server (default: 60)")
    args = parser.parse_args(argv)
    if not args.endpoint:
        print(f"no S3 endpoint given: assuming bucket {args.bucket!r} exists")
        return 0
    try:
        status = create_bucket(args.endpoint, args.bucket, args.timeout)
    except Exception as exc:  # noqa: BLE001 - one clear line, non-zero exit
        print(f"create_bucket.py: cannot create {args.bucket!r} on {args.endpoint}: {exc}",
              file=sys.stderr)
        return 1
    print(f"bucket {args.bucket!r} on {args.endpoint}: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
