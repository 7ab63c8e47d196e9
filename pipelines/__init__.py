"""Runnable jobs on a Lakota-on-Dask repository: backfill, scheduled merge, WHO example.

Each module is a script (``python pipelines/backfill.py --help``) with a
``main(argv) -> int`` function; :mod:`pipelines.common` holds what they share.
"""
