"""pipelines/backfill.py end to end, on a local cluster of worker processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pipeline_fixtures import scheduler, store  # noqa: F401 - fixtures

from pipelines import backfill

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "pipelines" / "data" / "who_covid_sample.csv"

SCHEMA = ["--schema", "date_reported timestamp*", "new_cases int", "cumulative_cases int",
          "new_deaths int", "cumulative_deaths int"]
WHO = pd.read_csv(SAMPLE)


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = backfill.main([*argv, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def country(name: str) -> pd.DataFrame:
    rows = WHO[WHO["Country"] == name]
    return pd.DataFrame({
        "date_reported": pd.to_datetime(rows["Date_reported"]).to_numpy(),
        "new_cases": rows["New_cases"].to_numpy(),
    })


def test_backfill_then_rerun(store, scheduler: str, capsys) -> None:
    source = store.put(SAMPLE, "input/who.csv")
    argv = [source, *store.args(), "--collection", "covid", "--label", "country",
            "--scheduler", scheduler, *SCHEMA]
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    countries = sorted(WHO["Country"].unique())
    assert f"backfill covid: {len(countries)} series, {len(WHO):,} rows written" in out
    repo = store.repo()
    clct = repo / "covid"
    assert clct.ls() == countries
    belgium = (clct / "Belgium").df(select=["date_reported", "new_cases"])
    pd.testing.assert_frame_equal(belgium, country("Belgium"), check_dtype=False)
    revisions = len(clct.changelog.log())

    code, out, err = run(capsys, *argv)
    assert code == 0
    assert "backfill covid: unchanged" in out and "0 bytes stored" in out
    assert len(clct.changelog.log()) == revisions

    # someone overwrites part of a series: the rerun loads again and restores it
    (clct / "Belgium").write({"date_reported": ["2020-08-20"], "new_cases": [0],
                              "cumulative_cases": [0], "new_deaths": [0],
                              "cumulative_deaths": [0]})
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "unchanged" not in out
    assert (clct / "Belgium")["2020-08-20":"2020-08-20"].df()["new_cases"].tolist() == [612]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "unchanged" in out


def test_backfill_infers_the_schema_of_a_parquet_folder(store, scheduler: str,
                                                        capsys, tmp_path) -> None:
    frame = WHO.rename(columns=str.lower)
    frame["date_reported"] = pd.to_datetime(frame["date_reported"])
    early = frame["date_reported"] < "2020-07-01"
    for name, part in (("a.parquet", frame[early]), ("b.parquet", frame[~early])):
        local = tmp_path / name
        part.sort_values(["country", "date_reported"]).to_parquet(local, index=False)
        store.put(local, f"folder/{name}")
    code, out, err = run(capsys, store.path("folder"), *store.args(), "--collection", "who",
                         "--label", "who_region", "country", "--scheduler", scheduler)
    assert (code, err) == (0, ""), err
    assert ("inferred schema: --schema 'date_reported timestamp*' 'country_code str' "
            "'new_cases int' 'cumulative_cases int' 'new_deaths int' "
            "'cumulative_deaths int'") in out
    series = store.repo() / "who" / "EURO_Belgium"
    assert len(series) == (WHO["Country"] == "Belgium").sum()
    got = series.df(select=["date_reported", "new_cases"])
    pd.testing.assert_frame_equal(got, country("Belgium"), check_dtype=False)


def test_backfill_a_glob_of_csv_files(scheduler: str, capsys, tmp_path) -> None:
    for region, rows in WHO.groupby("WHO_region"):
        rows.to_csv(tmp_path / f"who-{region}.csv", index=False)
    repo = str(tmp_path / "db")
    code, out, err = run(capsys, str(tmp_path / "who-*.csv"), "--repo", repo,
                         "--collection", "covid", "--label", "Country", "--scheduler",
                         scheduler, *SCHEMA)
    assert (code, err) == (0, "")
    assert f"{WHO['Country'].nunique()} series, {len(WHO):,} rows written" in out


@pytest.mark.parametrize(("change", "message"), [
    (["--label", "nation"], "--label 'nation' is not a column of the input files"),
    (["--schema", "date_reported timestamp*", "cases int"],
     "schema column 'cases' is not a column of the input files"),
    (["--schema", "new_cases int*", "date_reported timestamp"],
     "the index must be sorted"),
])
def test_backfill_refuses_bad_columns(change: list[str], message: str, scheduler: str,
                                      capsys, tmp_path) -> None:
    argv = [str(SAMPLE), "--repo", str(tmp_path / "db"), "--collection", "covid",
            "--label", "country", *SCHEMA, "--scheduler", scheduler]
    for flag in ("--label", "--schema"):
        if flag in change:
            start = argv.index(flag)
            end = start + 1
            while end < len(argv) and not argv[end].startswith("--"):
                end += 1
            del argv[start:end]
    code, out, err = run(capsys, *argv, *change)
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err


def test_backfill_refuses_missing_files_and_memory_repos(scheduler: str, capsys,
                                                         tmp_path) -> None:
    code, _, err = run(capsys, str(tmp_path / "nothing-*.csv"), "--repo", str(tmp_path),
                       "--collection", "c", "--label", "country")
    assert code == 1 and "no input file found at" in err
    code, _, err = run(capsys, str(SAMPLE), "--repo", "memory://", "--collection", "c",
                       "--label", "country", "--scheduler", scheduler)
    assert code == 1 and "memory" in err and "worker processes" in err


def test_backfill_refuses_another_schema(scheduler: str, capsys, tmp_path) -> None:
    argv = [str(SAMPLE), "--repo", str(tmp_path / "db"), "--collection", "covid",
            "--label", "country", "--scheduler", scheduler]
    assert run(capsys, *argv, *SCHEMA)[0] == 0
    code, _, err = run(capsys, *argv, "--schema", "date_reported timestamp*",
                       "new_cases float")
    assert code == 1 and "exists with another schema" in err


def test_backfill_usage(capsys) -> None:
    assert backfill.main(["--help"]) == 0
    assert "--label" in capsys.readouterr().out
    assert backfill.main(["x.csv", "--collection", "c"]) == 2
    assert "--label" in capsys.readouterr().err
    assert backfill.main(["x.csv", "--collection", "c", "--label", "l", "--workers", "0"]) == 2


def test_backfill_script_on_a_scheduler(scheduler: str, tmp_path) -> None:
    """The command of cluster/README.md, run as a script."""
    command = [sys.executable, "pipelines/backfill.py", "--repo", f"file://{tmp_path}/db",
               "--collection", "covid", "--label", "country", *SCHEMA,
               "--scheduler", scheduler, str(SAMPLE)]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "% Completed" in first.stdout  # the progress bar of distributed
    assert first.stdout.strip().splitlines()[-1].startswith("backfill covid: 12 series")
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "unchanged" in again.stdout
