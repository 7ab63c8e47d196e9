#!/usr/bin/env bash
# Start a local Dask cluster: one `dask scheduler` and N `dask worker` processes.
#
#   cluster/start-local.sh [--port 8786] [--dashboard-port 8787 | --no-dashboard]
#                          [--nworkers 2] [--nthreads 2] [--memory-limit auto]
#                          [--host 127.0.0.1] [--state-dir DIR] [--timeout 60]
#
# Waits until the scheduler answers and all workers have joined, then prints the
# scheduler address (tcp://127.0.0.1:8786 by default) that pipelines take as
# `--scheduler`, and how to stop the cluster. PIDs and logs go to the state directory
# (default: ${TMPDIR:-/tmp}/lakota-dask-local-PORT); `cluster/stop-local.sh --port PORT`
# stops everything this script started.
#
# The `dask` command is taken from $DASK if set, else from PATH, else from the
# project's .venv/bin/dask.
set -euo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

host=127.0.0.1
port=8786
dashboard_port=8787
dashboard=1
nworkers=2
nthreads=2
memory_limit=auto
state_dir=
timeout=60

while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="$2"; shift 2 ;;
        --port=*) port="${1#*=}"; shift ;;
        --dashboard-port) dashboard_port="$2"; shift 2 ;;
        --dashboard-port=*) dashboard_port="${1#*=}"; shift ;;
        --no-dashboard) dashboard=0; shift ;;
        --nworkers) nworkers="$2"; shift 2 ;;
        --nworkers=*) nworkers="${1#*=}"; shift ;;
        --nthreads) nthreads="$2"; shift 2 ;;
        --nthreads=*) nthreads="${1#*=}"; shift ;;
        --memory-limit) memory_limit="$2"; shift 2 ;;
        --memory-limit=*) memory_limit="${1#*=}"; shift ;;
        --host) host="$2"; shift 2 ;;
        --host=*) host="${1#*=}"; shift ;;
        --state-dir) state_dir="$2"; shift 2 ;;
        --state-dir=*) state_dir="${1#*=}"; shift ;;
        --timeout) timeout="$2"; shift 2 ;;
        --timeout=*) timeout="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "start-local.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

for value in "$port" "$nworkers" "$nthreads" "$timeout"; do
    case "$value" in
        ''|*[!0-9]*) echo "start-local.sh: expected a number, got '$value'" >&2; exit 2 ;;
    esac
done
if [ "$nworkers" -lt 1 ] || [ "$nthreads" -lt 1 ]; then
    echo "start-local.sh: --nworkers and --nthreads must be at least 1" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

# --- find the dask command and the python that runs it --------------------------------
if [ -z "${DASK:-}" ]; then
    if command -v dask >/dev/null 2>&1; then
        DASK="$(command -v dask)"
    elif [ -x "$root/.venv/bin/dask" ]; then
        DASK="$root/.venv/bin/dask"
    else
        echo "start-local.sh: no 'dask' command: install the project (pip install -e .) or set DASK=/path/to/dask" >&2
        exit 1
    fi
fi
if ! command -v "$DASK" >/dev/null 2>&1; then
    echo "start-local.sh: DASK=$DASK is not an executable command" >&2
    exit 1
fi
DASK="$(command -v "$DASK")"
if [ -x "$(dirname "$DASK")/python" ]; then
    PYTHON="$(dirname "$DASK")/python"
else
    PYTHON="${PYTHON:-python3}"
fi

address="tcp://$host:$port"
default_state_dir="${TMPDIR:-/tmp}/lakota-dask-local-$port"
state_dir="${state_dir:-$default_state_dir}"
pid_file="$state_dir/pids"
mkdir -p "$state_dir"

port_open() {
    # true if something accepts TCP connections on $host:$1
    (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null
}

if [ -f "$pid_file" ]; then
    alive=0
    while read -r _name pid; do
        if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done < "$pid_file"
    if [ "$alive" = 1 ]; then
        echo "start-local.sh: a cluster started from $state_dir is still running; stop it with:" >&2
        echo "    $here/stop-local.sh --state-dir $state_dir" >&2
        exit 1
    fi
    rm -f "$pid_file"
fi
if port_open "$port"; then
    echo "start-local.sh: port $port on $host is already in use; pick another with --port" >&2
    exit 1
fi

# Each process gets its own session (and process group), so that stop-local.sh can end
# it with all the children it spawned (the worker nanny starts one process per worker).
launch() {
    if command -v setsid >/dev/null 2>&1; then
        setsid "$@" &
    else
        "$@" &
    fi
}

started=0
cleanup_on_failure() {
    if [ "$started" = 1 ]; then
        echo "start-local.sh: the cluster did not come up; stopping what was started" >&2
        "$here/stop-local.sh" --state-dir "$state_dir" --quiet >&2 || true
        for log in "$state_dir/scheduler.log" "$state_dir/workers.log"; do
            if [ -f "$log" ]; then
                echo "--- last lines of $log" >&2
                tail -n 20 "$log" >&2
            fi
        done
    fi
}
trap 'status=$?; if [ $status -ne 0 ]; then cleanup_on_failure; fi' EXIT
trap 'exit 130' INT TERM

# --- scheduler ------------------------------------------------------------------------
scheduler_args=(scheduler --host "$host" --port "$port")
if [ "$dashboard" = 1 ]; then
    scheduler_args+=(--dashboard --dashboard-address "$host:$dashboard_port")
else
    scheduler_args+=(--no-dashboard)
fi
: > "$pid_file"
launch "$DASK" "${scheduler_args[@]}" > "$state_dir/scheduler.log" 2>&1 < /dev/null
echo "scheduler $!" >> "$pid_file"
started=1
scheduler_pid=$!

deadline=$(( $(date +%s) + timeout ))
until port_open "$port"; do
    if ! kill -0 "$scheduler_pid" 2>/dev/null; then
        echo "start-local.sh: the scheduler exited (log: $state_dir/scheduler.log)" >&2
        exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "start-local.sh: the scheduler did not answer on $address within ${timeout}s" >&2
        exit 1
    fi
    sleep 0.2
done

# --- workers --------------------------------------------------------------------------
mkdir -p "$state_dir/workers"
launch "$DASK" worker "$address" \
    --nworkers "$nworkers" --nthreads "$nthreads" --memory-limit "$memory_limit" \
    --host "$host" --local-directory "$state_dir/workers" --no-dashboard \
    > "$state_dir/workers.log" 2>&1 < /dev/null
echo "workers $!" >> "$pid_file"

# --- wait until the scheduler sees every worker ------------------------------------------
remaining=$(( deadline - $(date +%s) ))
[ "$remaining" -gt 1 ] || remaining=1
if ! "$PYTHON" - "$address" "$nworkers" "$remaining" <<'EOF'
import sys
from distributed import Client

address, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:
    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(n, timeout=timeout)
except Exception as exc:  # noqa: BLE001 - report any failure the same way
    print(f"start-local.sh: {n} worker(s) did not join {address}: {exc}", file=sys.stderr)
    sys.exit(1)
EOF
then
    exit 1
fi

started=0  # success: keep the cluster running
cat <<EOF
Local Dask cluster is up.
  scheduler:  $address
EOF
if [ "$dashboard" = 1 ]; then
    echo "  dashboard:  http://$host:$dashboard_port/status"
fi
cat <<EOF
  workers:    $nworkers process(es) x $nthreads thread(s)
  logs, pids: $state_dir
Point a pipeline at it:
  python pipelines/backfill.py --scheduler $address ...
  python -c "from distributed import Client; print(Client('$address'))"
Stop it:
EOF
if [ "$state_dir" = "$default_state_dir" ]; then
    echo "  $here/stop-local.sh --port $port"
else
    echo "  $here/stop-local.sh --state-dir $state_dir"
fi
echo "$address"
