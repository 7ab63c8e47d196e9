"""The ``lakota-dask`` command line, end to end, on a folder and on S3.

Commands run in-process through ``main(argv)`` (stdin and stdout redirected); the parallel
ones (write, merge, pull, push, defrag, gc, check) on a local cluster of worker processes
given as ``--scheduler``. A few run as real processes, through ``python -m lakota_dask``
and the installed ``lakota-dask`` script.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakota_dask import Repo
from lakota_dask.cli import build_parser, main

CSV = "timestamp,value\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n2020-01-04,4\n"
COMMANDS = ["create", "ls", "write", "read", "rev", "len", "merge", "push", "pull", "trim",
            "defrag", "gc", "check"]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A local cluster of two worker processes, shared by the tests of this module."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", scheduler_kwargs={"dashboard": False}) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(params=["file", "s3"])
def repo_args(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """``--repo`` and storage options of an empty repository (its sibling: ``other``)."""
    if request.param == "file":
        return ["--repo", str(tmp_path / "db")]
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    args = ["--repo", f"s3://{bucket}/db"]
    for key, value in server.options.items():
        args += ["--storage-option", f"{key}={value}"]
    return args


def cli(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the command line; returns the exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys, monkeypatch, *argv: str, stdin: str = "") -> str:
    code, out, err = cli(capsys, monkeypatch, *argv, stdin=stdin)
    assert (code, err) == (0, ""), err
    return out


def heads(rev_output: str) -> set[str]:
    """The child names marked '*' in the output of ``rev``."""
    return {line.split()[2].split(".")[1] for line in rev_output.splitlines()
            if line.endswith(" *")}


def sibling(repo_args: list[str], name: str) -> str:
    return repo_args[1].rsplit("/", 1)[0] + "/" + name


def test_create_write_read(repo_args, scheduler, capsys, monkeypatch) -> None:
    run = lambda *a, **k: ok(capsys, monkeypatch, *repo_args, *a, **k)  # noqa: E731
    out = run("create", "temperature", "timestamp timestamp*", "value float")
    assert out == "created collection temperature: Schema(timestamp='timestamp*', value='float')\n"
    assert run("ls") == "temperature\n"
    out = run("--scheduler", scheduler, "write", "temperature", "Brussels", stdin=CSV)
    assert out.startswith("wrote 4 rows to temperature/Brussels, revision ")
    first = out.split()[-1]
    assert run("ls", "temperature") == "Brussels\n"
    assert run("len", "temperature", "Brussels") == "4\n"
    assert run("read", "temperature", "Brussels", "--stop", "2020-01-03", "--format",
               "table") == (" timestamp  value\n2020-01-01    1.0\n2020-01-02    2.0\n"
                            "2020-01-03    3.0\n")
    assert run("read", "temperature", "Brussels", "--start", "2020-01-02", "--closed",
               "right", "--select", "value", "--limit", "1") == "value\n3.0\n"

    run("write", "temperature", "Brussels", stdin="timestamp,value\n2020-01-02,20\n")
    assert run("read", "temperature", "Brussels", "--select", "value") == (
        "value\n1.0\n20.0\n3.0\n4.0\n")
    assert run("read", "temperature", "Brussels", "--select", "value", "--before",
               first[:20]) == "value\n1.0\n2.0\n3.0\n4.0\n"
    revisions = run("rev", "temperature").splitlines()
    assert len(revisions) == 2 and revisions[-1].endswith(" *")
    assert revisions[0].split()[2].split(".")[1] == first

    out = run("--scheduler", scheduler, "check")
    assert out.startswith("ok: ") and "revisions" in out


def test_push_pull_merge_and_maintenance(repo_args, scheduler, capsys, monkeypatch) -> None:
    run = lambda *a, **k: ok(capsys, monkeypatch, *repo_args, "--scheduler", scheduler,  # noqa: E731
                             *a, **k)
    other = [*repo_args[2:], "--repo", sibling(repo_args, "other"), "--scheduler", scheduler]
    run("create", "temperature", "timestamp timestamp*", "value float")
    assert "collections temperature" in run("push", sibling(repo_args, "other"))
    run("write", "temperature", "Brussels", stdin=CSV)
    ok(capsys, monkeypatch, *other, "write", "temperature", "Brussels",
       stdin="timestamp,value\n2020-01-04,40\n2020-01-05,50\n")
    assert run("pull", sibling(repo_args, "other"), "temperature").startswith("revisions 1,")
    assert len(heads(run("rev", "temperature"))) == 2

    out = run("merge")
    assert out.startswith("temperature: heads 2, ")
    assert len(heads(run("rev", "temperature"))) == 1  # one child under both old heads
    assert run("read", "temperature", "Brussels", "--select", "value") == (
        "value\n1.0\n2.0\n3.0\n40.0\n50.0\n")
    assert run("merge") == "nothing to merge: every collection has a single head\n"

    assert run("defrag", "temperature").startswith("temperature: series Brussels,")
    assert run("trim").startswith("temperature: removed ")
    assert run("gc").startswith("revisions ")
    assert run("read", "temperature", "Brussels", "--select", "value") == (
        "value\n1.0\n2.0\n3.0\n40.0\n50.0\n")
    assert run("check").startswith("ok: ")


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["read", "nope", "x"], "", "error: no collection 'nope' in "),
    (["write", "temperature", "Brussels"], "time,value\n2020-01-01,1\n", "missing column(s)"),
    (["write", "temperature", "Brussels"], "timestamp,value\n2020-01-02,1\n2020-01-01,2\n",
     "sorted"),
    (["write", "temperature", "Brussels"], "", "error: no CSV on stdin"),
    (["create", "temperature", "timestamp timestamp*"], "", "exists already"),
    (["create", "other", "timestamp timestamp"], "", "index column"),
    (["read", "temperature", "Brussels", "--before", "not a time"], "", "error: "),
])
def test_user_errors_exit_1(argv, stdin, message, tmp_path, capsys, monkeypatch) -> None:
    repo = ["--repo", str(tmp_path / "db")]
    ok(capsys, monkeypatch, *repo, "create", "temperature", "timestamp timestamp*",
       "value float")
    code, out, err = cli(capsys, monkeypatch, *repo, *argv, stdin=stdin)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err


def test_no_repository(capsys, monkeypatch) -> None:
    monkeypatch.delenv("LAKOTA_REPO", raising=False)
    assert cli(capsys, monkeypatch, "ls")[:3] == (
        1, "", "error: no repository given: pass --repo URL or set LAKOTA_REPO\n")


def test_repository_from_environment(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("LAKOTA_REPO", str(tmp_path / "db"))
    ok(capsys, monkeypatch, "create", "a", "x int*")
    assert ok(capsys, monkeypatch, "ls") == "a\n"


def test_check_reports_a_missing_file(tmp_path, scheduler, capsys, monkeypatch) -> None:
    repo = ["--repo", str(tmp_path / "db")]
    ok(capsys, monkeypatch, *repo, "create", "big", "i int*", "v float")
    rows = "i,v\n" + "".join(f"{i},{i * 0.37}\n" for i in range(2000))
    ok(capsys, monkeypatch, *repo, "write", "big", "s", stdin=rows)
    clct = Repo(str(tmp_path / "db")) / "big"
    digest = next(d for r in clct.commit().rows("s") for d in r.digests
                  if clct.commit().blob(d, "s") is None)
    (tmp_path / "db" / digest[:2] / digest[2:4] / digest[4:]).unlink()
    code, out, err = cli(capsys, monkeypatch, *repo, "--scheduler", scheduler, "check")
    assert code == 1 and out == ""
    assert f"{digest[:2]}/{digest[2:4]}/{digest[4:]}" in err
    assert err.splitlines()[-1].startswith("error: 1 missing and 0 corrupt file(s)")


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["read", "c"],
                                  ["read", "c", "s", "--closed", "sideways"],
                                  ["read", "c", "s", "--limit", "many"]])
def test_usage_errors_exit_2(argv, capsys, monkeypatch) -> None:
    code, out, err = cli(capsys, monkeypatch, "--repo", "db", *argv)
    assert code == 2 and out == ""
    assert err.startswith("usage: lakota-dask")


def test_every_command_has_help(capsys, monkeypatch) -> None:
    assert ok(capsys, monkeypatch, "--help").startswith("usage: lakota-dask")
    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert sorted(subcommands) == sorted(COMMANDS)
    for name in COMMANDS:
        out = ok(capsys, monkeypatch, name, "--help")
        assert out.startswith(f"usage: lakota-dask {name}")
        description = " ".join(subcommands[name].description.split())
        assert description and description in " ".join(out.split())


def test_as_processes(tmp_path) -> None:
    """``python -m lakota_dask`` and the installed script, with real pipes."""
    script = shutil.which("lakota-dask", path=str(Path(sys.executable).parent))
    assert script, "the lakota-dask script is not installed beside this python"
    repo = ["--repo", str(tmp_path / "db")]
    module = [sys.executable, "-m", "lakota_dask", *repo]

    def call(command: list[str], stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)

    assert call([*module, "create", "t", "timestamp timestamp*", "value float"]).returncode == 0
    assert call([script, *repo, "write", "t", "s"], CSV).returncode == 0
    read = call([script, *repo, "read", "t", "s", "--select", "value", "--limit", "2"])
    assert (read.returncode, read.stdout, read.stderr) == (0, "value\n1.0\n2.0\n", "")
    missing = call([*module, "len", "nope", "s"])
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith("error: no collection 'nope'")
    assert missing.stderr.count("\n") == 1
