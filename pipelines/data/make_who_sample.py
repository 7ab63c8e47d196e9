#!/usr/bin/env python3
"""Generate ``who_covid_sample.csv``: a small, offline stand-in for WHO's covid CSV.

The real file (``WHO-COVID-19-global-data.csv``, used by the seed's README) has the
columns::

    Date_reported,Country_code,Country,WHO_region,New_cases,Cumulative_cases,New_deaths,Cumulative_deaths

with one row per country and day. This script writes a file in exactly that format for
2020-01-03 .. 2020-12-31 (364 days) and a dozen countries spread over the WHO regions
EURO, AMRO, WPRO, SEARO, AFRO and EMRO, sorted by country then date.

The numbers are synthetic (a couple of smooth epidemic waves per country, scaled to a
plausible size, with seeded pseudo-random day-to-day noise) and fully deterministic:
running this script again writes a byte-identical file. Two things are not synthetic:

* ``Belgium`` (``BE``, ``EURO``) holds, for 2020-08-20 .. 2020-08-29, exactly the rows the
  seed's README prints for ``repo / 'covid' / 'EURO_Belgium'`` sliced on those dates, so the
  ``pipelines/who_covid.py`` example prints the same table as the seed.
* for every country, ``Cumulative_*`` is the running sum of ``New_*`` over the whole year
  (Belgium's earlier days are scaled so that the running sums reach the seed's values on
  2020-08-20 exactly).

Usage::

    python pipelines/data/make_who_sample.py            # rewrites who_covid_sample.csv
    python pipelines/data/make_who_sample.py --check    # exit 1 if the file is stale
    python pipelines/data/make_who_sample.py -o other.csv

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import io
import math
import random
import sys
from datetime import date, timedelta
from pathlib import Path

HEADER = (
    "Date_reported,Country_code,Country,WHO_region,"
    "New_cases,Cumulative_cases,New_deaths,Cumulative_deaths"
)
FIRST_DAY = date(2020, 1, 3)
LAST_DAY = date(2020, 12, 31)
DEFAULT_OUTPUT = Path(__file__).with_name("who_covid_sample.csv")

# The seed README's Belgium query: (new_cases, cumulative_cases, new_deaths, cumulative_deaths)
BELGIUM_ANCHOR_START = date(2020, 8, 20)
BELGIUM_ANCHOR = [
    (612, 80868, 9, 9854),
    (581, 81449, 4, 9858),
    (512, 81961, 3, 9861),
    (207, 82168, 5, 9866),
    (116, 82284, 3, 9869),
    (610, 82894, 5, 9874),
    (524, 83418, 5, 9879),
    (521, 83939, 4, 9883),
    (520, 84459, 3, 9886),
    (445, 84904, 3, 9889),
]

# code, name, region, first case, [(peak day, width in days, peak daily cases)], fatality rate
COUNTRIES = [
    ("BE", "Belgium", "EURO", date(2020, 2, 4), [(date(2020, 4, 10), 18, 1500), (date(2020, 8, 10), 16, 520), (date(2020, 10, 30), 18, 13000)], 0.030),
    ("FR", "France", "EURO", date(2020, 1, 24), [(date(2020, 4, 1), 16, 5000), (date(2020, 11, 5), 15, 45000)], 0.025),
    ("DE", "Germany", "EURO", date(2020, 1, 28), [(date(2020, 4, 2), 15, 6000), (date(2020, 12, 18), 20, 25000)], 0.020),
    ("US", "United States of America", "AMRO", date(2020, 1, 21), [(date(2020, 4, 12), 25, 32000), (date(2020, 7, 20), 20, 65000), (date(2020, 12, 28), 30, 220000)], 0.018),
    ("BR", "Brazil", "AMRO", date(2020, 2, 26), [(date(2020, 7, 28), 45, 45000), (date(2020, 12, 30), 30, 50000)], 0.025),
    ("JP", "Japan", "WPRO", date(2020, 1, 16), [(date(2020, 4, 12), 12, 600), (date(2020, 8, 5), 14, 1400), (date(2020, 12, 31), 20, 4000)], 0.015),
    ("AU", "Australia", "WPRO", date(2020, 1, 25), [(date(2020, 3, 28), 9, 450), (date(2020, 8, 5), 14, 600)], 0.030),
    ("IN", "India", "SEARO", date(2020, 1, 30), [(date(2020, 9, 16), 40, 95000)], 0.015),
    ("TH", "Thailand", "SEARO", date(2020, 1, 13), [(date(2020, 3, 25), 10, 150), (date(2020, 12, 25), 8, 600)], 0.010),
    ("ZA", "South Africa", "AFRO", date(2020, 3, 5), [(date(2020, 7, 22), 22, 13000), (date(2020, 12, 31), 16, 16000)], 0.027),
    ("NG", "Nigeria", "AFRO", date(2020, 2, 27), [(date(2020, 7, 1), 30, 700), (date(2020, 12, 31), 16, 1200)], 0.020),
    ("EG", "Egypt", "EMRO", date(2020, 2, 14), [(date(2020, 6, 18), 20, 1600), (date(2020, 12, 31), 22, 1200)], 0.055),
]


def days():
    d = FIRST_DAY
    while d <= LAST_DAY:
        yield d
        d += timedelta(days=1)


def waves(day: date, first_case: date, peaks) -> float:
    """Expected daily cases on ``day``: a sum of Gaussian waves, nothing before the first case."""
    if day < first_case:
        return 0.0
    return sum(
        height * math.exp(-0.5 * ((day - peak).days / width) ** 2) for peak, width, height in peaks
    )


def noisy(expected: float, rng: random.Random, spread: float = 0.25) -> int:
    """A non-negative integer within ``spread`` (relative) of ``expected``."""
    if expected <= 0:
        return 0
    value = expected * (1 + rng.uniform(-spread, spread))
    return max(0, int(round(value)))


def scale_to_total(weights: list[float], total: int) -> list[int]:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("cannot scale all-zero weights")
    exact = [w * total / weight_sum for w in weights]
    ints = [math.floor(x) for x in exact]
    missing = total - sum(ints)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - ints[i]), i))
    for i in by_remainder[:missing]:
        ints[i] += 1
    return ints


def country_series(index: int, code, name, region, first_case, peaks, fatality):
    """Return the (new_cases, new_deaths) lists of one country over ``days()``."""
    rng = random.Random(20200103 + 7919 * index)
    all_days = list(days())
    new_cases, new_deaths = [], []
    for d in all_days:
        weekly = 0.75 if d.weekday() in (6, 0) else 1.0  # fewer reports on Sundays and Mondays
        cases = noisy(waves(d, first_case, peaks) * weekly, rng)
        # deaths follow cases about two weeks later
        lagged = waves(d - timedelta(days=14), first_case, peaks) * fatality
        deaths = noisy(lagged, rng, spread=0.4) if d >= first_case + timedelta(days=14) else 0
        new_cases.append(cases)
        new_deaths.append(deaths)

    if code == "BE":
        new_cases, new_deaths = pin_belgium(all_days, new_cases, new_deaths)
    return all_days, new_cases, new_deaths


def pin_belgium(all_days, new_cases, new_deaths):
    """Make Belgium match the seed's README on 2020-08-20 .. 2020-08-29.

    The days before are rescaled so that their running sums reach exactly the seed's
    cumulative values the day before 2020-08-20; the anchored days are copied; later days
    keep their synthetic values.
    """
    start = all_days.index(BELGIUM_ANCHOR_START)
    cases_before = BELGIUM_ANCHOR[0][1] - BELGIUM_ANCHOR[0][0]
    deaths_before = BELGIUM_ANCHOR[0][3] - BELGIUM_ANCHOR[0][2]
    cases = scale_to_total(new_cases[:start], cases_before)
    deaths = scale_to_total(new_deaths[:start], deaths_before)
    cases += [row[0] for row in BELGIUM_ANCHOR]
    deaths += [row[2] for row in BELGIUM_ANCHOR]
    after = start + len(BELGIUM_ANCHOR)
    return cases + new_cases[after:], deaths + new_deaths[after:]


def render() -> str:
    out = io.StringIO()
    out.write(HEADER + "\n")
    rows = []
    for index, (code, name, region, first_case, peaks, fatality) in enumerate(COUNTRIES):
        all_days, new_cases, new_deaths = country_series(
            index, code, name, region, first_case, peaks, fatality
        )
        cum_cases = cum_deaths = 0
        for d, nc, nd in zip(all_days, new_cases, new_deaths):
            cum_cases += nc
            cum_deaths += nd
            rows.append((name, d, f"{d.isoformat()},{code},{name},{region},{nc},{cum_cases},{nd},{cum_deaths}\n"))
    for _, _, line in sorted(rows, key=lambda r: (r[0], r[1])):
        out.write(line)
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"where to write the CSV (default: {DEFAULT_OUTPUT.name} beside this script)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the output file differs from what would be written")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.exists() else None
        if current != text:
            print(f"{args.output} is stale: rerun {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    with open(args.output, "w", newline="\n") as f:
        f.write(text)
    lines = text.count("\n") - 1
    print(f"wrote {args.output} ({lines} rows, {len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
