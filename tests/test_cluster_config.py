"""Checks of the deployment files in ``cluster/`` (and of the bundled WHO sample).

Containers and Kubernetes cannot run in CI, so the compose file, the Dockerfile and the
manifests are checked statically: they parse, they name services, files, pipelines and
flags that exist in the project, and they agree with each other (same image, same
scheduler address, same S3 endpoint). The local-process option (``start-local.sh``) is
checked for real: it starts a scheduler and two worker processes, runs a computation on
them and stops them.
"""

from __future__ import annotations

import csv
import fnmatch
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "cluster"
K8S = CLUSTER / "kubernetes"
COMPOSE = CLUSTER / "docker-compose.yml"
DOCKERFILE = CLUSTER / "Dockerfile"
PIPELINES = ROOT / "pipelines"

YAML_FILES = sorted(p for p in CLUSTER.rglob("*") if p.suffix in (".yml", ".yaml"))
SHELL_SCRIPTS = sorted(CLUSTER.rglob("*.sh"))
K8S_FILES = sorted(K8S.glob("*.y*ml"))

# the pipelines the deployment files run, and the flags they pass
PIPELINE_RE = re.compile(r"\bpython3?\s+(pipelines/[\w./-]+\.py)")
PROJECT_PATH_RE = re.compile(r"(?<![\w/.])((?:pipelines|cluster)/[\w./-]+\.(?:py|csv|sh))")
FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")

ALLOWED_K8S_KINDS = {
    ("kubernetes.dask.org/v1", "DaskCluster"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
}


# --------------------------------------------------------------------------- helpers


def load_yaml_docs(path: Path) -> list:
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def compose() -> dict:
    (doc,) = load_yaml_docs(COMPOSE)
    return doc


def k8s_docs() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in K8S_FILES for doc in load_yaml_docs(path)]


def as_command_line(value) -> str:
    """A compose ``command`` / k8s ``command``+``args`` as one shell-like string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return " ".join(shlex.quote(str(v)) if " " in str(v) else str(v) for v in value)


def pod_specs(doc: dict) -> list[dict]:
    """Every pod spec inside a manifest (Deployment, Job, CronJob, DaskCluster)."""
    kind = doc.get("kind")
    spec = doc.get("spec", {})
    if kind in ("Deployment", "Job"):
        return [spec["template"]["spec"]]
    if kind == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if kind == "DaskCluster":
        return [spec["worker"]["spec"], spec["scheduler"]["spec"]]
    return []


def containers(doc: dict) -> list[dict]:
    out = []
    for pod in pod_specs(doc):
        out += pod.get("initContainers", []) + pod.get("containers", [])
    return out


def all_command_lines() -> list[tuple[str, str]]:
    """(where, command line) for every command run by compose services and k8s containers."""
    lines = []
    for name, service in compose()["services"].items():
        for key in ("entrypoint", "command"):
            if service.get(key):
                lines.append((f"compose service {name!r} {key}", as_command_line(service[key])))
    for path, doc in k8s_docs():
        for c in containers(doc):
            line = as_command_line(c.get("command")) + " " + as_command_line(c.get("args"))
            if line.strip():
                lines.append((f"{path.name} container {c['name']!r}", line))
    return lines


def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = DOCKERFILE.read_text()
    logical, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        logical.append(current)
        current = ""
    out = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def copy_instructions() -> list[tuple[list[str], str]]:
    copies = []
    for instruction, args in dockerfile_instructions():
        if instruction in ("COPY", "ADD"):
            parts = [p for p in shlex.split(args) if not p.startswith("--")]
            copies.append((parts[:-1], parts[-1]))
    return copies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask_command() -> str:
    beside = Path(sys.executable).parent / "dask"
    if beside.exists():
        return str(beside)
    found = shutil.which("dask")
    assert found, "no `dask` command: install the project (it depends on distributed)"
    return found


# --------------------------------------------------------------------------- YAML


def test_cluster_has_config_files():
    names = {p.relative_to(CLUSTER).as_posix() for p in YAML_FILES}
    assert "docker-compose.yml" in names
    assert any(n.startswith("kubernetes/") for n in names)
    assert DOCKERFILE.exists()
    assert {p.name for p in SHELL_SCRIPTS} >= {"start-local.sh", "stop-local.sh"}


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(CLUSTER).as_posix())
def test_yaml_parses(path):
    docs = load_yaml_docs(path)
    assert docs, f"{path} holds no YAML document"
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"


# --------------------------------------------------------------------------- compose


def test_compose_services():
    services = compose()["services"]
    for name in ("scheduler", "worker", "s3", "backfill"):
        assert name in services, f"compose service {name!r} missing"

    assert services["s3"]["image"].split(":")[0] == "motoserver/moto"
    s3_ports = {str(p).split(":")[-1] for p in services["s3"].get("ports", [])}
    assert "5000" in s3_ports

    scheduler = as_command_line(services["scheduler"]["command"])
    assert scheduler.startswith("dask scheduler")
    assert "8786" in scheduler

    worker = services["worker"]
    assert as_command_line(worker["command"]).startswith("dask worker tcp://scheduler:8786")
    assert "container_name" not in worker, "a fixed container_name prevents --scale worker=N"
    assert "ports" not in worker, "published ports prevent --scale worker=N"

    backfill = as_command_line(services["backfill"]["command"])
    assert "python pipelines/backfill.py" in backfill
    assert "--scheduler tcp://scheduler:8786" in backfill
    assert re.search(r"--repo s3://lakota/", backfill)


def test_compose_services_share_the_project_image():
    services = compose()["services"]
    images = set()
    for name, service in services.items():
        if name == "s3":
            continue
        build = service.get("build")
        assert build, f"compose service {name!r} is not built from cluster/Dockerfile"
        context = (CLUSTER / build["context"]).resolve()
        assert context == ROOT, f"{name}: build context {build['context']!r} is not the project root"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE
        images.add(service.get("image"))
    assert len(images) == 1, f"services name several images: {images}"


def test_compose_s3_environment_points_at_the_s3_service():
    services = compose()["services"]
    for name in ("scheduler", "worker", "backfill"):
        env = services[name].get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        url = urlparse(env.get("AWS_ENDPOINT_URL", ""))
        assert (url.hostname, url.port) == ("s3", 5000), f"{name}: AWS_ENDPOINT_URL={url.geturl()!r}"
        assert env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY")


def test_compose_depends_on_known_services():
    services = compose()["services"]
    for name, service in services.items():
        deps = service.get("depends_on") or []
        for dep in deps:
            assert dep in services, f"{name} depends on unknown service {dep!r}"


# --------------------------------------------------------------------------- commands


def named_project_paths() -> dict[str, list[str]]:
    """project-relative path -> where it is named (compose, k8s, cluster README)."""
    named: dict[str, list[str]] = {}
    sources = all_command_lines() + [("cluster/README.md", (CLUSTER / "README.md").read_text())]
    for where, line in sources:
        for path in PROJECT_PATH_RE.findall(line):
            named.setdefault(path, []).append(where)
    return named


def test_every_named_project_file_exists():
    named = named_project_paths()
    # the three pipelines of the project must be among them
    for expected in ("pipelines/backfill.py", "pipelines/merge.py", "pipelines/who_covid.py"):
        assert expected in named, f"{expected} is named nowhere in cluster/"
    missing = {path: where for path, where in named.items() if not (ROOT / path).is_file()}
    assert not missing, f"files named in cluster/ but missing from the project: {missing}"


def flags_by_pipeline() -> dict[str, set[str]]:
    flags: dict[str, set[str]] = {}
    for _, line in all_command_lines():
        # a shell line may chain several commands: split on && and ;
        for part in re.split(r"&&|;|\|\|", line):
            match = PIPELINE_RE.search(part)
            if match:
                flags.setdefault(match.group(1), set()).update(FLAG_RE.findall(part[match.end():]))
    return flags


def test_pipelines_accept_the_flags_the_deployments_pass():
    flags = flags_by_pipeline()
    assert {"pipelines/backfill.py", "pipelines/merge.py"} <= set(flags)
    for pipeline, used in sorted(flags.items()):
        assert (ROOT / pipeline).is_file(), f"{pipeline} does not exist"
        help_run = subprocess.run(
            [sys.executable, pipeline, "--help"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert help_run.returncode == 0, f"{pipeline} --help failed:\n{help_run.stderr}"
        unknown = sorted(f for f in used if f not in help_run.stdout)
        assert not unknown, f"{pipeline} --help does not mention {unknown}"


def test_lakota_dask_command_is_declared_if_used():
    uses = [where for where, line in all_command_lines() if re.search(r"\blakota-dask\b", line)]
    if uses:  # no skip: the check is simply vacuous when no deployment calls the CLI
        scripts = pyproject().get("project", {}).get("scripts", {})
        assert "lakota-dask" in scripts, f"{uses} run lakota-dask, which pyproject.toml does not declare"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_base_and_copies():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    workdirs = [args for ins, args in instructions if ins == "WORKDIR"]
    assert workdirs, "the Dockerfile sets no WORKDIR: relative paths in commands would be unclear"
    copies = copy_instructions()
    sources = [src for srcs, _ in copies for src in srcs]
    for src in sources:
        assert (ROOT / src).exists(), f"COPY {src}: not in the build context (project root)"
    for needed in ("pyproject.toml", "lakota_dask", "pipelines"):
        assert needed in sources, f"the Dockerfile does not COPY {needed}"
    # the package's readme must be in the context too, or the build backend fails
    readme = pyproject().get("project", {}).get("readme")
    if isinstance(readme, str):
        assert readme in sources, f"pyproject's readme {readme!r} is not copied"


def test_dockerfile_installs_declared_extras():
    runs = [args for ins, args in dockerfile_instructions() if ins == "RUN"]
    installs = [r for r in runs if re.search(r"\bpip3? install\b", r)]
    assert installs, "the Dockerfile installs nothing"
    targets = [t for r in installs for t in shlex.split(r) if re.match(r"^\.(\[|$)", t)]
    assert targets, "the Dockerfile does not `pip install .[...]` the project"
    extras_declared = set(pyproject().get("project", {}).get("optional-dependencies", {}))
    for target in targets:
        extras = re.findall(r"\[(.*)\]", target)
        for extra in (extras[0].split(",") if extras else []):
            assert extra.strip() in extras_declared, f"pip install {target}: extra {extra!r} not declared"
    installed_extras = {e.strip() for t in targets for e in "".join(re.findall(r"\[(.*)\]", t)).split(",")}
    assert "s3" in installed_extras, "the image must install the s3 extra (workers write to S3)"


def test_dockerfile_copies_what_the_commands_run():
    """Relative paths run inside the image (pipelines/..., cluster/...) must be copied in."""
    destinations = []
    for srcs, dest in copy_instructions():
        for src in srcs:
            if dest.endswith("/") or dest in (".", "./"):
                destinations.append(os.path.normpath(os.path.join(dest, Path(src).name)))
            else:
                destinations.append(os.path.normpath(dest))
    for _, line in all_command_lines():
        for path in PROJECT_PATH_RE.findall(line):
            assert any(path == d or path.startswith(d + "/") for d in destinations), (
                f"{path} is run in a container but the Dockerfile does not copy it"
            )


def test_dockerignore_keeps_the_copied_files():
    ignore = CLUSTER / "Dockerfile.dockerignore"
    patterns = [
        line.strip() for line in ignore.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for srcs, _ in copy_instructions():
        for src in srcs:
            for pattern in patterns:
                assert not fnmatch.fnmatch(src, pattern.lstrip("/")), f"{src} is ignored by {pattern}"


# --------------------------------------------------------------------------- Kubernetes


def test_k8s_manifests_kinds():
    docs = k8s_docs()
    assert docs
    kinds = set()
    for path, doc in docs:
        key = (doc.get("apiVersion"), doc.get("kind"))
        assert key in ALLOWED_K8S_KINDS, f"{path.name}: unexpected apiVersion/kind {key}"
        assert doc.get("metadata", {}).get("name"), f"{path.name}: {key[1]} has no metadata.name"
        kinds.add(key)
    assert ("kubernetes.dask.org/v1", "DaskCluster") in kinds
    assert ("batch/v1", "Job") in kinds


def test_k8s_daskcluster_and_job_agree():
    docs = [doc for _, doc in k8s_docs()]
    (cluster,) = [d for d in docs if d["kind"] == "DaskCluster"]
    name = cluster["metadata"]["name"]
    spec = cluster["spec"]
    assert spec["worker"]["replicas"] >= 1
    scheduler_ports = {p["port"] for p in spec["scheduler"]["service"]["ports"]}
    assert 8786 in scheduler_ports
    selector = spec["scheduler"]["service"]["selector"]
    assert selector == {"dask.org/cluster-name": name, "dask.org/component": "scheduler"}
    (scheduler,) = spec["scheduler"]["spec"]["containers"]
    assert scheduler["args"][:2] == ["dask", "scheduler"]
    (worker,) = spec["worker"]["spec"]["containers"]
    assert worker["args"][:2] == ["dask", "worker"]

    address = f"tcp://{name}-scheduler:8786"  # the Service the operator creates
    runners = [d for d in docs if d["kind"] in ("Job", "CronJob")]
    assert runners
    for doc in runners:
        lines = [as_command_line(c.get("command")) + " " + as_command_line(c.get("args"))
                 for c in pod_specs(doc)[0]["containers"]]
        assert any(PIPELINE_RE.search(line) and f"--scheduler {address}" in line for line in lines), (
            f"{doc['kind']} {doc['metadata']['name']} runs no pipeline against {address}"
        )


def test_k8s_images_and_references():
    docs = [doc for _, doc in k8s_docs()]
    image = compose()["services"]["scheduler"]["image"]
    refs = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for doc in docs:
        for c in containers(doc):
            if c["name"] != "moto":
                assert c["image"] == image, f"{doc['metadata']['name']}/{c['name']}: image {c['image']}"
            for source in c.get("envFrom", []):
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if key in source:
                        assert (kind, source[key]["name"]) in refs, f"{kind} {source[key]['name']} missing"
    config_maps = [d for d in docs if d["kind"] == "ConfigMap"]
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    for cm in config_maps:
        endpoint = cm.get("data", {}).get("AWS_ENDPOINT_URL")
        if endpoint:
            url = urlparse(endpoint)
            assert url.hostname in services, f"AWS_ENDPOINT_URL names no Service: {endpoint}"
            assert url.port in {p["port"] for p in services[url.hostname]["spec"]["ports"]}


# --------------------------------------------------------------------------- shell scripts


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_script_syntax(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert os.access(script, os.X_OK), f"{script.name} is not executable (git update-index --chmod=+x)"


def test_start_local_refuses_a_busy_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            ["bash", str(CLUSTER / "start-local.sh"), "--port", str(port), "--state-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=30, env={**os.environ, "DASK": dask_command()},
        )
    assert result.returncode != 0
    assert "already in use" in result.stderr
    assert not (tmp_path / "pids").exists() or not (tmp_path / "pids").read_text().strip()


def _kill_recorded(state_dir: Path) -> None:
    """Last resort after stop-local.sh: kill the process groups start-local.sh recorded."""
    pid_file = state_dir / "pids"
    if not pid_file.exists():
        return
    for line in pid_file.read_text().split("\n"):
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            pid = int(parts[1])
            for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    target()
                except (ProcessLookupError, PermissionError):
                    pass


def _running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.timeout(90)
def test_start_local_runs_a_real_cluster(tmp_path):
    from distributed import Client

    started = time.monotonic()
    port, dashboard_port = free_port(), free_port()
    state_dir = tmp_path / "cluster"
    env = {**os.environ, "DASK": dask_command()}
    try:
        start = subprocess.run(
            ["bash", str(CLUSTER / "start-local.sh"), "--port", str(port),
             "--dashboard-port", str(dashboard_port), "--nworkers", "2", "--nthreads", "1",
             "--state-dir", str(state_dir), "--timeout", "40"],
            capture_output=True, text=True, timeout=50, env=env,
        )
        assert start.returncode == 0, f"start-local.sh failed:\n{start.stdout}\n{start.stderr}"
        address = start.stdout.strip().splitlines()[-1]
        assert address == f"tcp://127.0.0.1:{port}"
        assert "stop-local.sh" in start.stdout

        with Client(address, timeout=20) as client:
            workers = client.scheduler_info()["workers"]
            assert len(workers) == 2
            pids = set(client.run(os.getpid).values())
            assert len(pids) == 2 and os.getpid() not in pids  # separate worker processes
            # builtins only: functions of this test module cannot be unpickled on the workers
            futures = client.map(pow, range(100), [2] * 100)
            assert client.submit(sum, futures).result(timeout=20) == sum(i * i for i in range(100))
            ran_on = {w for who in client.who_has(futures).values() for w in who}
            assert ran_on <= set(workers)

        stop = subprocess.run(
            ["bash", str(CLUSTER / "stop-local.sh"), "--state-dir", str(state_dir)],
            capture_output=True, text=True, timeout=30,
        )
        assert stop.returncode == 0, stop.stderr
        for pid in pids:
            deadline = time.monotonic() + 10
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _running(pid), f"worker process {pid} still running after stop-local.sh"
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, "the scheduler still listens"
    finally:
        subprocess.run(
            ["bash", str(CLUSTER / "stop-local.sh"), "--state-dir", str(state_dir), "--quiet"],
            capture_output=True, timeout=30,
        )
        _kill_recorded(state_dir)
    assert time.monotonic() - started < 60


# --------------------------------------------------------------------------- helpers in cluster/


def test_create_bucket_on_moto(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for expected in ("created", ""):  # the second run finds the bucket there: still exit 0
            run = subprocess.run(
                [sys.executable, str(CLUSTER / "create_bucket.py"), "lakota",
                 "--endpoint", endpoint, "--timeout", "30"],
                capture_output=True, text=True, timeout=40,
            )
            assert run.returncode == 0, run.stderr
            assert expected in run.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
    no_endpoint = subprocess.run(
        [sys.executable, str(CLUSTER / "create_bucket.py"), "lakota", "--endpoint", ""],
        capture_output=True, text=True, timeout=30,
    )
    assert no_endpoint.returncode == 0 and "assuming" in no_endpoint.stdout
    unreachable = subprocess.run(
        [sys.executable, str(CLUSTER / "create_bucket.py"), "lakota",
         "--endpoint", f"http://127.0.0.1:{free_port()}", "--timeout", "1"],
        capture_output=True, text=True, timeout=30,
    )
    assert unreachable.returncode == 1 and "cannot create" in unreachable.stderr


# --------------------------------------------------------------------------- WHO sample

SAMPLE = PIPELINES / "data" / "who_covid_sample.csv"
WHO_HEADER = [
    "Date_reported", "Country_code", "Country", "WHO_region",
    "New_cases", "Cumulative_cases", "New_deaths", "Cumulative_deaths",
]
SEED_BELGIUM = """\
2020-08-20 612 80868 9 9854
2020-08-21 581 81449 4 9858
2020-08-22 512 81961 3 9861
2020-08-23 207 82168 5 9866
2020-08-24 116 82284 3 9869
2020-08-25 610 82894 5 9874
2020-08-26 524 83418 5 9879
2020-08-27 521 83939 4 9883
2020-08-28 520 84459 3 9886
2020-08-29 445 84904 3 9889"""


def test_who_sample_is_regenerated_identically():
    result = subprocess.run(
        [sys.executable, str(PIPELINES / "data" / "make_who_sample.py"), "--check"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert SAMPLE.stat().st_size < 300_000


def test_who_sample_content():
    with open(SAMPLE, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == WHO_HEADER
    by_country: dict[str, list[list[str]]] = {}
    regions = set()
    for row in rows[1:]:
        assert len(row) == len(WHO_HEADER)
        by_country.setdefault(row[2], []).append(row)
        regions.add(row[3])
    assert regions == {"EURO", "AMRO", "WPRO", "SEARO", "AFRO", "EMRO"}
    assert len(by_country) >= 10
    for country, country_rows in by_country.items():
        dates = [r[0] for r in country_rows]
        assert dates == sorted(dates) and dates[0] == "2020-01-03" and dates[-1] == "2020-12-31"
        assert len(dates) == len(set(dates)) == 364
        cases = deaths = 0
        for r in country_rows:
            cases += int(r[4])
            deaths += int(r[6])
            assert (int(r[5]), int(r[7])) == (cases, deaths), f"{country} {r[0]}: cumulative mismatch"
    belgium = {r[0]: r for r in by_country["Belgium"]}
    assert {(r[1], r[3]) for r in belgium.values()} == {("BE", "EURO")}
    for line in SEED_BELGIUM.splitlines():
        day, new_cases, cum_cases, new_deaths, cum_deaths = line.split()
        assert belgium[day][4:] == [new_cases, cum_cases, new_deaths, cum_deaths], day
