"""Workloads W1-W6 of issue 7: deterministic data and the timed steps.

Every workload takes an engine adapter (see ``engine_*.py``), a ``scale``
factor (1.0 = the sizes of issue 7) and a ``repeat`` count (how many times a
big step is repeated, the median is kept), and returns ``{metric: value}``
with times in seconds, sizes in bytes and memory in bytes.
"""

import os
import statistics
import tempfile
import time

import numpy as np
import pandas as pd

START = pd.Timestamp("2020-01-01")
SEED = 42
#: the values' kind, chosen by ``bench.py --floats``: "raw" (full float64 noise,
#: the data of issue 7: parquet stores 10M rows in about 137 MB) or "cents"
#: (rounded to 2 decimals like quoted prices)
FLOATS = os.environ.get("BENCH_FLOATS", "raw")


def price_frame(rows, seed=SEED, start=START):
    """Return ``rows`` rows of (timestamp, value): 1-second steps from ``start``
    and a random walk from 100 (rounded to cents when ``FLOATS`` is "cents")."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 0.05, rows)
    value = 100 + np.cumsum(steps)
    if FLOATS == "cents":
        value = (100 + np.cumsum(steps.round(2))).round(2)
    stamps = start + pd.to_timedelta(np.arange(rows), unit="s")
    return pd.DataFrame({"timestamp": stamps.values, "value": value})


def labelled_frame(series, rows, seed=SEED):
    """Return ``series`` x ``rows`` rows with a 'label' column (s0000, s0001, ...),
    every series sharing the same timestamps, as one frame sorted by label."""
    frames = []
    for i in range(series):
        frm = price_frame(rows, seed=seed + i)
        frm.insert(0, "label", f"s{i:05d}")
        frames.append(frm)
    return pd.concat(frames, ignore_index=True)


def scaled(n, scale):
    """Scale a count, never below 1."""
    return max(1, int(round(n * scale)))


def timed(fn, *args):
    """Wall time in seconds of one call ``fn(*args)``."""
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def median_time(fn, count):
    """Median wall time of ``count`` calls of ``fn()``."""
    return statistics.median(timed(fn) for _ in range(count))


def rss_now():
    """Resident set size of this process in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def peak_rss_during(fn):
    """Run ``fn()`` and return its peak RSS above the RSS before it, in bytes.

    The kernel's high-water mark is reset first through /proc/self/clear_refs,
    so the peak is the one of ``fn`` alone (0 where that is not possible)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return 0
    before = rss_now()
    fn()
    with open("/proc/self/status") as fh:
        hwm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM"))
    return max(0, hwm - before)


def bytes_under(path):
    """Bytes allocated on disk under ``path`` (sparse files count what they use)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


def fresh(engine_cls, base):
    """A new engine over a new empty folder under ``base``."""
    return engine_cls(tempfile.mkdtemp(dir=base))


def w1(engine_cls, base, scale, repeat):
    """10M rows: write in one call, bytes on disk, full read, 1% range read."""
    rows = scaled(10_000_000, scale)
    native = engine_cls.prepare(price_frame(rows))
    raw_bytes = rows * 16
    stores = [fresh(engine_cls, base) for _ in range(repeat)]
    times = [timed(eng.write_frame, native) for eng in stores]
    eng = stores[-1]
    del native
    out = {"W1 write": statistics.median(times), "W1 bytes on disk": eng.bytes_on_disk()}
    out["W1 stored B / row"] = out["W1 bytes on disk"] / rows
    read_peak = peak_rss_during(eng.read_all)
    out["W1 full read"] = median_time(eng.read_all, repeat)
    out["W1 read peak RSS / raw size"] = read_peak / raw_bytes
    mid = START + pd.Timedelta(seconds=rows // 2)
    stop = mid + pd.Timedelta(seconds=max(1, rows // 100) - 1)
    got = eng.read_range(mid, stop)
    if len(got) != max(1, rows // 100):
        raise AssertionError(f"1% range read returned {len(got)} rows")
    out["W1 1% range read"] = median_time(lambda: eng.read_range(mid, stop), 20)
    return out


def w2(engine_cls, base, scale, repeat):
    """2,000 series x 5,000 rows: bulk backfill, then read one series (median of 100)."""
    series = scaled(2_000, scale)
    frame = engine_cls.prepare_labelled(labelled_frame(series, 5_000))
    stores = [fresh(engine_cls, base) for _ in range(repeat)]
    times = [timed(eng.backfill, frame, "label") for eng in stores]
    eng = stores[-1]
    labels = [f"s{i:05d}" for i in np.random.default_rng(SEED).integers(0, series, 100)]
    if len(eng.read_series(labels[0])) != 5_000:
        raise AssertionError("read of one series did not return 5,000 rows")
    return {
        "W2 backfill": statistics.median(times),
        "W2 read one series": statistics.median(timed(eng.read_series, lb) for lb in labels),
    }


def w3(engine_cls, base, scale, repeat):
    """500 appends of 1,000 rows: median of the last 10% of appends, then a full read."""
    appends = scaled(500, scale)
    whole = price_frame(appends * 1_000)
    chunks = [engine_cls.prepare(whole.iloc[i * 1_000:(i + 1) * 1_000]) for i in range(appends)]
    eng = fresh(engine_cls, base)
    times = [timed(eng.append, chunk) for chunk in chunks]
    if len(eng.read_all()) != len(whole):
        raise AssertionError("full read after appends lost rows")
    tail = times[int(appends * 0.9):] or times
    return {
        "W3 append (last 10%)": statistics.median(tail),
        "W3 full read": median_time(eng.read_all, repeat),
    }


def w4(engine_cls, base, scale, repeat):
    """Collections of N = 100/1,000/5,000 series of 100 rows: write one more
    100-row series (median of 5) and read one series (median of 5)."""
    out = {}
    for n in (100, 1_000, 5_000):
        count = scaled(n, scale)
        eng = fresh(engine_cls, base)
        eng.backfill(engine_cls.prepare_labelled(labelled_frame(count, 100)), by="label")
        extra = [engine_cls.prepare(price_frame(100, seed=SEED + count + i)) for i in range(5)]
        writes = [timed(eng.write_one_series, f"new{i}", one) for i, one in enumerate(extra)]
        label = f"s{count // 2:05d}"
        if len(eng.read_series(label)) != 100:
            raise AssertionError("read of one series did not return 100 rows")
        out[f"W4 write one series, N={n}"] = statistics.median(writes)
        out[f"W4 read one series, N={n}"] = median_time(lambda: eng.read_series(label), 5)
    return out


def w5(engine_cls, base, scale, repeat):
    """``ddf().value.sum().compute()`` over the W1 data (dask engines only)."""
    rows = scaled(10_000_000, scale)
    frame = price_frame(rows)
    eng = fresh(engine_cls, base)
    eng.write_frame(engine_cls.prepare(frame))
    expected = frame.value.sum()
    del frame
    total = eng.ddf_sum()
    if not np.isclose(total, expected):
        raise AssertionError(f"sum {total} != {expected}")
    return {"W5 ddf value sum": median_time(eng.ddf_sum, repeat)}


def worker_scaling(frame, new_writer, repeat):
    """Median write time of ``frame`` as a 20-partition dask frame held by the workers,
    on a LocalCluster of 1 then 2 worker processes (1 thread each), after one untimed
    warm-up write (imports on the workers): ``{workers: seconds}``. ``new_writer()``
    gives the write function of a new empty store."""
    import dask.dataframe as dd
    from distributed import Client, LocalCluster, wait

    out = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            ddf = client.persist(dd.from_pandas(frame, npartitions=20, sort=False))
            wait(ddf)
            new_writer()(ddf)
            out[workers] = median_time(lambda: new_writer()(ddf), repeat)
    return out


def w6(engine_cls, base, scale, repeat):
    """W1's rows written from a 20-partition dask frame on 1 then 2 workers."""
    frame = price_frame(scaled(10_000_000, scale))
    times = worker_scaling(frame, lambda: fresh(engine_cls, base).write_frame, repeat)
    return {f"W6 write 20 partitions, {n} worker(s)": t for n, t in times.items()}


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6}
