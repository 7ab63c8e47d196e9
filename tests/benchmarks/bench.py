"""Run workloads W1-W6 of issue 7 on several engines in one run and print one table.

    .venv-bench/bin/python tests/benchmarks/bench.py [--scale 0.1] \
        [--engines lakota_dask,lakota,arcticdb,parquet] [--only W1,W3] [--repeat 3]

Every (engine, workload) pair runs in a fresh subprocess, so that its peak RSS is
its own and one engine's crash or leak cannot touch another's figures. An engine
that cannot be imported is skipped with a line saying why; a workload that fails
prints ``error: ...`` in its cells.
"""

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ENGINES = ["lakota_dask", "lakota", "arcticdb", "parquet"]
DISTRIBUTIONS = {"lakota_dask": "lakota_dask", "lakota": "lakota",
                 "arcticdb": "arcticdb", "parquet": "pyarrow"}
BASE_LIBS = ["numpy", "pandas", "dask"]
MARK = "RESULT "
W4_WRITE = "W4 write one series, N=%d"
W6_WRITE = "W6 write 20 partitions, %d worker(s)"

# (row label, metric, reference, bound, goal): ratio = target's metric / reference's,
# where the reference is another engine's same metric, "=metric" for the engine's
# own other metric, or None for the value itself. The goal holds when ratio <= bound.
ROWS = [
    ("W1 write (one call)", "W1 write", "arcticdb", 0.8, "<= 0.8x arcticdb"),
    ("W1 bytes on disk", "W1 bytes on disk", "arcticdb", 0.45, "<= 0.45x arcticdb"),
    ("W1 stored B / row", "W1 stored B / row", None, None, ""),
    ("W1 full read", "W1 full read", "arcticdb", 1.0, "<= 1.0x arcticdb"),
    ("W1 full read peak RSS / raw size", "W1 read peak RSS / raw size", None, 3.0, "<= 3"),
    ("W1 1% range read", "W1 1% range read", "arcticdb", 2.0, "<= 2x arcticdb"),
    ("W2 backfill", "W2 backfill", "lakota", 0.5, "<= 0.5x lakota"),
    ("W2 read one series", "W2 read one series", "arcticdb", 1.0, "<= 1.0x arcticdb"),
    ("W3 append (median, last 10%)", "W3 append (last 10%)", "arcticdb", 1.0, "<= 1.0x arcticdb"),
    ("W3 full read", "W3 full read", "arcticdb", 1.5, "<= 1.5x arcticdb"),
    ("W4 write one, N=100", W4_WRITE % 100, None, None, ""),
    ("W4 write one, N=1000", W4_WRITE % 1000, None, None, ""),
    ("W4 write one, N=5000", W4_WRITE % 5000, "arcticdb", 1.5, "<= 1.5x arcticdb"),
    ("W4 write N=5000 / N=100", W4_WRITE % 5000, "=" + W4_WRITE % 100, 1.5, "<= 1.5"),
    ("W4 read one, N=100", "W4 read one series, N=100", None, None, ""),
    ("W4 read one, N=1000", "W4 read one series, N=1000", None, None, ""),
    ("W4 read one, N=5000", "W4 read one series, N=5000", None, 0.002, "<= 2 ms"),
    ("W5 ddf().value.sum()", "W5 ddf value sum", "parquet", 0.5, "<= 0.5x parquet (2x faster)"),
    ("W6 write, 1 worker", W6_WRITE % 1, None, None, ""),
    ("W6 write, 2 workers", W6_WRITE % 2, None, None, ""),
    ("W6 2 workers / 1 worker", W6_WRITE % 2, "=" + W6_WRITE % 1, 1 / 1.6,
     "<= 0.625 (1.6x faster)"),
]


def applies(workload, engine_name, engine_cls):
    """Whether ``workload`` is run on this engine (W5: dask engines, W6: lakota_dask)."""
    if workload == "W5":
        return hasattr(engine_cls, "ddf_sum")
    if workload == "W6":
        return engine_name == "lakota_dask"
    return True


def peak_rss():
    """Peak RSS in bytes of this process or of its largest finished child."""
    kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return kib * 1024


def child(engine_name, workload, args):
    """Run one workload on one engine in this process; return a JSON-able dict."""
    from workloads import WORKLOADS

    try:
        engine_cls = importlib.import_module(f"engine_{engine_name}").Engine
    except Exception as exc:  # an engine that cannot load is skipped, not fatal
        return {"skip": f"{type(exc).__name__}: {exc}"}
    if not applies(workload, engine_name, engine_cls):
        return {"na": True}
    try:
        version = importlib.metadata.version(DISTRIBUTIONS[engine_name])
    except importlib.metadata.PackageNotFoundError:
        version = "not installed (source tree)"
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix=f"bench-{engine_name}-") as base:
        try:
            metrics = WORKLOADS[workload](engine_cls, base, args.scale, args.repeat)
        except Exception as exc:  # reported in the table's cell
            traceback.print_exc()
            return {"error": f"{type(exc).__name__}: {exc}", "version": version,
                    "peak_rss": peak_rss()}
    return {"metrics": metrics, "version": version, "peak_rss": peak_rss(),
            "durability": getattr(engine_cls, "durability", "?")}


def run_child(engine_name, workload, args):
    """Run ``child`` in a fresh interpreter and return its dict."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", engine_name, workload,
           "--scale", str(args.scale), "--repeat", str(args.repeat), "--floats", args.floats]
    if args.tmp:
        cmd += ["--tmp", args.tmp]
    env = dict(os.environ, BENCH_FLOATS=args.floats)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, HERE, env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {args.timeout} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail}"}


def fmt(metric, value):
    """Format a figure for its kind: bytes, a plain ratio, or a time."""
    if "bytes" in metric:
        return f"{value / 1e6:.1f} MB"
    if "/" in metric:
        return f"{value:.2f}"
    return f"{value:.2f} s" if value >= 1 else f"{value * 1e3:.3g} ms"


def ratio(results, engine, metric, ref):
    """Ratio of ``engine``'s metric to its reference (see ROWS), or None."""
    mine = results.get(engine, {}).get(metric)
    if mine is None:
        return None
    if ref is None:
        return mine
    if ref.startswith("="):
        base = results.get(engine, {}).get(ref[1:])
    else:
        base = results.get(ref, {}).get(metric)
    return mine / base if base else None


def table(results, errors, engines, target):
    """The Markdown table: one row per ROWS entry, one column per engine."""
    head = ["workload", *engines, f"{target} ratio", "goal", "pass"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, metric, ref, bound, goal in ROWS:
        cells = []
        for eng in engines:
            if metric.split()[0] in errors.get(eng, {}):
                cells.append("error: " + errors[eng][metric.split()[0]][:60])
            elif ref and ref.startswith("="):
                value = ratio(results, eng, metric, ref)
                cells.append("-" if value is None else f"{value:.2f}")
            elif metric in results.get(eng, {}):
                cells.append(fmt(metric, results[eng][metric]))
            else:
                cells.append("-")
        if all(c == "-" for c in cells):
            continue
        value = ratio(results, target, metric, ref) if bound is not None else None
        if value is None:
            shown, mark = "-", ""
        elif ref is None:
            shown, mark = fmt(metric, value), "pass" if value <= bound else "FAIL"
        else:
            shown, mark = f"{value:.2f}", "pass" if value <= bound else "FAIL"
        lines.append("| " + " | ".join([label, *cells, shown, goal, mark]) + " |")
    return "\n".join(lines)


def memory_table(peaks, engines, workloads):
    """Peak RSS (MB) of each (engine, workload) subprocess."""
    lines = ["| peak RSS | " + " | ".join(engines) + " |", "|" + "---|" * (len(engines) + 1)]
    for wl in workloads:
        cells = [f"{peaks[e][wl] / 1e6:.0f} MB" if wl in peaks.get(e, {}) else "-"
                 for e in engines]
        lines.append(f"| {wl} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    """Parse the command line; run the children (or be one) and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="size factor, 1.0 = issue 7 sizes (0.1 for a quick run)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated, from " + ",".join(ENGINES))
    parser.add_argument("--only", default="W1,W2,W3,W4,W5,W6", help="workloads to run")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each big step, the median is kept")
    parser.add_argument("--target", default="lakota_dask",
                        help="engine whose ratios are checked against the goals")
    parser.add_argument("--floats", choices=["raw", "cents"], default="raw",
                        help="values: raw float64 random walk (issue 7's data) or "
                             "rounded to cents")
    parser.add_argument("--tmp", default=None, help="folder for the stores (default: TMPDIR)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per workload")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(MARK + json.dumps(child(*args.child, args)), flush=True)
        return

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    workloads = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    results, errors, peaks, versions, skipped, durability = {}, {}, {}, {}, {}, {}
    load_start = os.getloadavg()[0]
    for eng in engines:
        for wl in workloads:
            print(f"running {wl} on {eng} ...", file=sys.stderr, flush=True)
            out = run_child(eng, wl, args)
            if "skip" in out:
                skipped[eng] = out["skip"]
                break
            if out.get("na"):
                continue
            versions[eng] = out.get("version", "?")
            durability[eng] = out.get("durability", durability.get(eng, "?"))
            if "peak_rss" in out:
                peaks.setdefault(eng, {})[wl] = out["peak_rss"]
            if "error" in out:
                errors.setdefault(eng, {})[wl] = out["error"]
                print(f"  {eng} {wl}: error: {out['error']}", file=sys.stderr)
            else:
                results.setdefault(eng, {}).update(out["metrics"])

    ran = [e for e in engines if e not in skipped]
    print(f"scale {args.scale}, repeat {args.repeat}, {args.floats} floats, "
          f"{os.cpu_count()} cores "
          f"(load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end), "
          f"Python {platform.python_version()}; "
          + ", ".join(f"{e} {versions.get(e, '?')}" for e in ran) + "; "
          + ", ".join(f"{d} {importlib.metadata.version(d)}" for d in BASE_LIBS))
    for eng in ran:
        print(f"{eng} writes: {durability.get(eng, '?')}")
    for eng, why in skipped.items():
        print(f"skipped {eng}: {why}")
    print()
    print(table(results, errors, ran, args.target))
    print()
    print(memory_table(peaks, ran, workloads))


if __name__ == "__main__":
    main()
