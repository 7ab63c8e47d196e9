"""``python -m lakota_dask``: the ``lakota-dask`` command line (see :mod:`lakota_dask.cli`)."""

import sys

from lakota_dask.cli import main

sys.exit(main())
