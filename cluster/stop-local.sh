#!/usr/bin/env bash
# Stop a local Dask cluster started by cluster/start-local.sh.
#
#   cluster/stop-local.sh [--port 8786 | --state-dir DIR] [--quiet]
#
# Reads the PIDs that start-local.sh wrote to DIR/pids (DIR defaults to
# ${TMPDIR:-/tmp}/lakota-dask-local-PORT), asks each process group to stop (SIGTERM),
# waits up to 10 seconds, then kills what is left (SIGKILL). Only the processes listed
# in that file, and the children in their process groups, are touched.
set -euo pipefail

port=8786
state_dir=
quiet=0
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="$2"; shift 2 ;;
        --port=*) port="${1#*=}"; shift ;;
        --state-dir) state_dir="$2"; shift 2 ;;
        --state-dir=*) state_dir="${1#*=}"; shift ;;
        --quiet|-q) quiet=1; shift ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "stop-local.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

state_dir="${state_dir:-${TMPDIR:-/tmp}/lakota-dask-local-$port}"
pid_file="$state_dir/pids"
say() { if [ "$quiet" = 0 ]; then echo "$@"; fi; }

if [ ! -f "$pid_file" ]; then
    say "no local cluster recorded in $state_dir (nothing to stop)"
    exit 0
fi

names=()
pids=()
while read -r name pid; do
    case "$pid" in ''|*[!0-9]*) continue ;; esac
    names+=("$name")
    pids+=("$pid")
done < "$pid_file"

signal_one() {
    # $1 signal, $2 pid: signal its process group if it leads one, else the process
    local sig="$1" pid="$2" pgid
    pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
    if [ -n "$pgid" ] && [ "$pgid" = "$pid" ]; then
        kill "-$sig" -- "-$pid" 2>/dev/null || true
    else
        kill "-$sig" "$pid" 2>/dev/null || true
    fi
}

alive() {
    # true if the process or any member of its process group is still running (zombies,
    # which only wait to be reaped, do not count)
    local pid="$1" stat line rest
    if [ -d /proc/self ]; then
        for stat in /proc/[0-9]*/stat; do
            read -r line < "$stat" 2>/dev/null || continue
            rest="${line##*) }"          # after "pid (comm) ": state ppid pgrp ...
            set -- $rest
            if { [ "${stat#/proc/}" = "$pid/stat" ] || [ "$3" = "$pid" ]; } && [ "$1" != Z ]; then
                return 0
            fi
        done
        return 1
    fi
    kill -0 "$pid" 2>/dev/null && return 0
    kill -0 -- "-$pid" 2>/dev/null && return 0
    return 1
}

# workers first (listed last), then the scheduler
for (( i=${#pids[@]}-1; i>=0; i-- )); do
    if alive "${pids[$i]}"; then
        say "stopping ${names[$i]} (pid ${pids[$i]})"
        signal_one TERM "${pids[$i]}"
    fi
done

deadline=$(( $(date +%s) + 10 ))
for pid in "${pids[@]}"; do
    while alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 0.2
    done
    if alive "$pid"; then
        say "pid $pid did not stop in time: killing it"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
done

rm -f "$pid_file"
say "local cluster stopped (logs kept in $state_dir)"
