"""pipelines/who_covid.py: the seed's WHO example prints the seed's Belgium query."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline_fixtures import scheduler, store  # noqa: F401 - fixtures

from pipelines import who_covid

ROOT = Path(__file__).resolve().parents[2]
SEED_OUTPUT = """\
  date_reported  new_cases  cumulative_cases  new_deaths  cumulative_deaths
0    2020-08-20        612             80868           9               9854
1    2020-08-21        581             81449           4               9858
2    2020-08-22        512             81961           3               9861
3    2020-08-23        207             82168           5               9866
4    2020-08-24        116             82284           3               9869
5    2020-08-25        610             82894           5               9874
6    2020-08-26        524             83418           5               9879
7    2020-08-27        521             83939           4               9883
8    2020-08-28        520             84459           3               9886
9    2020-08-29        445             84904           3               9889
"""


def test_who_covid_default_local_cluster(tmp_path) -> None:
    """As the README runs it: no flags but the working directory, a cluster of its own."""
    env = {k: v for k, v in os.environ.items() if k != "LAKOTA_REPO"}
    command = [sys.executable, str(ROOT / "pipelines" / "who_covid.py"), "--workers", "1",
               "--threads-per-worker", "2"]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=180)
    assert run.returncode == 0, run.stderr
    assert run.stdout.endswith(SEED_OUTPUT)
    assert "backfill covid: 12 series, 4,368 rows written" in run.stdout
    assert (tmp_path / "who-db").is_dir()


def test_who_covid_rerun(store, scheduler: str, capsys) -> None:
    argv = [*store.args(), "--scheduler", scheduler, "--no-progress"]
    assert who_covid.main(argv) == 0
    first = capsys.readouterr().out
    assert first.endswith(SEED_OUTPUT)
    assert who_covid.main(argv) == 0
    second = capsys.readouterr().out
    assert "backfill covid: unchanged" in second
    assert second.endswith(SEED_OUTPUT)
    assert "EURO_Belgium" in (store.repo() / "covid").ls()


def test_who_covid_bad_sample(tmp_path, scheduler: str, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Date_reported,Country\n2020-01-03,Belgium\n")
    code = who_covid.main(["--repo", str(tmp_path / "db"), "--sample", str(bad),
                           "--scheduler", scheduler, "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --label 'who_region' is not a column of the input files")
