#!/usr/bin/env python3
"""Side-by-side comparison of Daedalus with Polars, DuckDB and pandas on the same bronze.

Requirements: python3 -m pip install polars duckdb pandas pyarrow numpy
(tested with polars 2.1, duckdb 2.0, pandas 3.1, pyarrow 26, numpy 2.4).

    cargo build --release
    python3 bench/compare.py --bars-events 20000000 --full-events 2000000 --repeat 3

What runs (each job in its own process, one after another, never two at once):

* bars job (trades -> 1-minute OHLCV with buy/sell volume and VWAP, per market) on a
  trades-only root (the `bronze/trades` of a generated root, symlinked), 1 thread each:
  `daedalus run --outputs bars --bar time_1m -w 1`, Polars streaming (POLARS_MAX_THREADS=1),
  DuckDB SQL (SET threads=1);
* full job on a full generated root: `daedalus run -w 1` (every silver dataset and time_1m bars),
  `daedalus run -w 2`, and a straightforward pandas/numpy implementation (bench/jobs.py);
* a cross-check first, on a small root: the Polars and DuckDB bars equal Daedalus's gold
  time_1m bars (open, high, low, close, volume, buy/sell volume, VWAP, trade count) on every
  non-empty bar, so the comparison is of the same job.

Rows/s = bronze rows in / wall seconds. Daedalus is timed as a whole process (`/usr/bin/time`);
the Python jobs from inside the process, without interpreter start-up and imports. Best and
median over --repeat runs. Writes bench/results/compare.{md,json}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def sh(cmd, env=None, capture=True):
    r = subprocess.run(cmd, env=env, capture_output=capture, text=True)
    if r.returncode != 0:
        sys.stderr.write(f"command failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}\n")
        raise SystemExit(1)
    return r.stdout


def gen_root(binary, data, events, markets, days=1, seed=42):
    """Same cache key and marker as `daedalus bench`, so the roots are shared."""
    root = os.path.join(data, f"gen-e{events}-m{markets}-d{days}-s{seed}")
    if os.path.exists(os.path.join(root, ".complete")):
        return root
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    print(f"generating {events} events ({markets} markets) into {root}", flush=True)
    sh([binary, "gen", "--out", root, "--events", str(events), "--markets", str(markets),
        "--days", str(days), "--seed", str(seed)])
    with open(os.path.join(root, ".complete"), "w") as f:
        json.dump({"events": events, "markets": markets, "days": days, "seed": seed}, f)
    return root


def trades_only_root(root):
    """A root whose bronze holds only the trades of `root` (symlinked)."""
    t = root + ".trades"
    os.makedirs(os.path.join(t, "bronze"), exist_ok=True)
    link = os.path.join(t, "bronze", "trades")
    if not os.path.islink(link):
        os.symlink(os.path.abspath(os.path.join(root, "bronze", "trades")), link)
    return t


def count_rows(root, datasets=("book", "ticker", "trades")):
    import pyarrow.parquet as pq

    n = 0
    for ds in datasets:
        base = os.path.join(root, "bronze", ds)
        for dirpath, _, files in os.walk(base, followlinks=True):
            for f in files:
                if f.endswith(".parquet") and not f.startswith("."):
                    n += pq.ParquetFile(os.path.join(dirpath, f)).metadata.num_rows
    return n


def clear_outputs(root):
    """Deletes outputs and checkpoints, so every run does all the work."""
    for d in ("silver", "gold", "_daedalus"):
        shutil.rmtree(os.path.join(root, d), ignore_errors=True)


def interleaved(label, engines, repeat):
    """Runs every engine once per repetition, back to back (so repetition i of each shares the
    machine's state); returns name -> [result per repetition]."""
    out = {}
    for rep in range(repeat):
        for name, run in engines.items():
            out.setdefault(name, []).append(run())
        print(f"  {label} repetition {rep + 1}: " + ", ".join(
            f"{k} {v[-1]['seconds']:.2f}s" for k, v in out.items()), flush=True)
    return out


def run_daedalus(binary, root, args, workers=1):
    """Runs `daedalus run` on `root` (outputs cleared first); returns seconds and peak RSS."""
    clear_outputs(root)
    tf = os.path.join(root, ".time")
    cmd = ["/usr/bin/time", "-f", "%e %M", "-o", tf, binary, "--log", "warn", "run",
           "--root", root, "-w", str(workers), *args]
    t0 = time.perf_counter()
    sh(cmd)
    secs = time.perf_counter() - t0
    with open(tf) as f:
        _, rss_kb = f.read().split()[-2:]
    return {"seconds": secs, "peak_rss_bytes": int(rss_kb) * 1024}


def free_ports(n):
    import socket
    socks, ports = [], []
    for _ in range(n):
        sk = socket.socket()
        sk.bind(("127.0.0.1", 0))
        socks.append(sk)
        ports.append(sk.getsockname()[1])
    for sk in socks:
        sk.close()
    return ports


def run_daedalus_cluster(binary, root, args, processes=2):
    """`daedalus run -n P -p i -H hostfile -w 1` as P processes on loopback; wall time of the
    whole cluster (first start to last exit) and the largest per-process peak RSS."""
    clear_outputs(root)
    hosts = os.path.join(root, ".hosts")
    with open(hosts, "w") as f:
        f.write("".join(f"127.0.0.1:{p}\n" for p in free_ports(processes)))
    procs, tfs = [], []
    t0 = time.perf_counter()
    for i in range(processes):
        tf = os.path.join(root, f".time{i}")
        tfs.append(tf)
        cmd = ["/usr/bin/time", "-f", "%e %M", "-o", tf, binary, "--log", "warn", "run",
               "--root", root, "-w", "1", "-n", str(processes), "-p", str(i), "-H", hosts, *args]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True))
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            sys.stderr.write(f"cluster process failed:\n{err}\n")
            raise SystemExit(1)
    secs = time.perf_counter() - t0
    rss = 0
    for tf in tfs:
        with open(tf) as f:
            rss = max(rss, int(f.read().split()[-1]) * 1024)
    return {"seconds": secs, "peak_rss_bytes": rss}


def run_job(job, root, out, threads=1):
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads), DAEDALUS_BENCH_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    shutil.rmtree(out, ignore_errors=True)
    line = sh([sys.executable, os.path.join(HERE, "jobs.py"), job, root, out], env=env)
    return json.loads(line.strip().splitlines()[-1])


def cross_check(binary, data, events):
    """Polars and DuckDB bars == Daedalus gold time_1m bars on a small trades-only root."""
    import duckdb

    root = trades_only_root(gen_root(binary, data, events, 4))
    run_daedalus(binary, root, ["--outputs", "bars", "--bar", "time_1m"])
    outs = {}
    for job in ("polars-bars", "duckdb-bars"):
        out = os.path.join(root, "cmp-" + job)
        run_job(job, root, out)
        outs[job] = os.path.join(out, "bars.parquet")
    con = duckdb.connect()
    gold = os.path.join(root, "gold", "bars", "**", "*.parquet")
    con.execute(f"""create table d as select exchange, symbol,
        epoch_ns(ts_open) // 60000000000 as minute, open, high, low, close, volume, vwap,
        buy_volume, sell_volume, trade_count
        from read_parquet('{gold}', hive_partitioning = true) where trade_count > 0""")
    n_d = con.execute("select count(*) from d").fetchone()[0]
    result = {"root": root, "daedalus_nonempty_bars": n_d}
    cols = ["open", "high", "low", "close", "volume", "vwap", "buy_volume", "sell_volume",
            "trade_count"]
    for job, path in outs.items():
        n_o = con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]
        diffs = {}
        joined = con.execute(f"""select count(*) from d join read_parquet('{path}') o
            using (exchange, symbol, minute)""").fetchone()[0]
        for c in cols:
            diffs[c] = con.execute(f"""select count(*) from d join read_parquet('{path}') o
                using (exchange, symbol, minute)
                where abs(d.{c} - o.{c}) > 1e-9 * greatest(abs(d.{c}), 1)""").fetchone()[0]
        ok = n_o == n_d and joined == n_d and all(v == 0 for v in diffs.values())
        result[job] = {"bars": n_o, "joined": joined, "mismatches": diffs, "equal": ok}
        print(f"cross-check {job}: {n_o} bars vs daedalus {n_d}, joined {joined}, "
              f"mismatches {diffs} -> {'EQUAL' if ok else 'DIFFERENT'}", flush=True)
    return result


def summarize(runs):
    secs = [r["seconds"] for r in runs]
    return {"best_s": min(secs), "median_s": statistics.median(secs), "runs_s": secs,
            "peak_rss_bytes": max(r.get("peak_rss_bytes", 0) for r in runs)}


def run_ingest(binary, root, calls, jobs=None):
    """`daedalus ingest` of Binance raw files into a fresh root, one process per call; wall
    seconds of all calls. `jobs=None` passes no -j (a build without it)."""
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    for files in calls:
        j = [] if jobs is None else ["-j", str(jobs)]
        sh([binary, "--log", "warn", "ingest", *j, "--format", "binance-raw", "--root", root,
            *files])
    return {"seconds": time.perf_counter() - t0}


def ingest_compare(a):
    """Ingest of --ingest-files: this build at -j 1 / -j 2 / per-file calls against a previous
    build's binary (--baseline-bin, one call), interleaved --repeat times."""
    import gzip

    files = sorted(a.ingest_files)
    raw = 0
    for f in files:
        with (gzip.open(f, "rb") if f.endswith(".gz") else open(f, "rb")) as fh:
            while chunk := fh.read(1 << 20):
                raw += len(chunk)
    dated = sorted(files, key=lambda p: ("".join(c for c in os.path.basename(p) if c.isdigit())[-8:], p))
    root = os.path.join(a.data, "ingest-compare")
    engines = {}
    if a.baseline_bin:
        engines["baseline, one call"] = lambda: run_ingest(a.baseline_bin, root, [files])
    engines.update({
        "this build -j 1, one call": lambda: run_ingest(a.bin, root, [files], 1),
        "this build -j 2, one call": lambda: run_ingest(a.bin, root, [files], 2),
        "this build -j 1, per-file calls": lambda: run_ingest(a.bin, root, [[f] for f in dated], 1),
    })
    res = interleaved("ingest", engines, a.repeat)
    ref = "this build -j 1, one call"
    out = {"raw_json_bytes": raw, "files": files, "cpu": cpu_model(), "nproc": os.cpu_count(),
           "loadavg_start": os.getloadavg(), "results": {}}
    lines = [f"Ingest of {len(files)} files, {raw / 1e6:.1f} MB raw JSON, {cpu_model()} "
             f"({os.cpu_count()} CPUs), {a.repeat} interleaved repetitions", "",
             "| run | median s | best s | MB/s (median) | vs -j 1 one call (median of paired) |",
             "|---|---|---|---|---|"]
    for k, runs in res.items():
        s = summarize(runs)
        pairs = [r["seconds"] / b["seconds"] for b, r in zip(res[ref], runs)]
        s["paired_ratio_median"] = statistics.median(pairs)
        s["mb_per_s_median"] = raw / s["median_s"] / 1e6
        out["results"][k] = s
        lines.append(f"| {k} | {s['median_s']:.3f} | {s['best_s']:.3f} | "
                     f"{s['mb_per_s_median']:.1f} | {s['paired_ratio_median']:.2f}x |")
    with open(os.path.join(a.out, "ingest.json"), "w") as f:
        json.dump(out, f, indent=2)
    md = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "ingest.md"), "w") as f:
        f.write(md)
    print(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "daedalus"))
    ap.add_argument("--data", default=os.path.join(REPO, "target", "bench-data"))
    ap.add_argument("--bars-events", type=int, default=20_000_000,
                    help="events of the generated root whose trades feed the bars job; "
                         "chosen so the trades number about --bars-trades")
    ap.add_argument("--markets", type=int, default=4)
    ap.add_argument("--full-events", type=int, default=2_000_000)
    ap.add_argument("--check-events", type=int, default=300_000)
    ap.add_argument("--scale-events", type=int, default=10_000_000,
                    help="events of the root for -w 1 / -w 2 / 2-process cluster scaling")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pandas-repeat", type=int, default=1)
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--ingest-files", nargs="+",
                    help="compare ingest of these Binance raw files instead (and nothing else)")
    ap.add_argument("--baseline-bin", help="a previous build's daedalus binary for --ingest-files")
    a = ap.parse_args()
    os.makedirs(a.data, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    if a.ingest_files:
        ingest_compare(a)
        return

    report = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "nproc": os.cpu_count(), "cpu": cpu_model(), "versions": versions(a.bin)}
    report["cross_check"] = cross_check(a.bin, a.data, a.check_events)

    # ---- bars job
    broot = trades_only_root(gen_root(a.bin, a.data, a.bars_events, a.markets))
    trades = count_rows(broot, ("trades",))
    print(f"bars job: {trades} trades in {broot}", flush=True)
    bars = interleaved("bars", {
        "daedalus bars -w 1":
            lambda: run_daedalus(a.bin, broot, ["--outputs", "bars", "--bar", "time_1m"]),
        "polars streaming, 1 thread":
            lambda: run_job("polars-bars", broot, os.path.join(broot, "out-polars")),
        "duckdb, 1 thread":
            lambda: run_job("duckdb-bars", broot, os.path.join(broot, "out-duckdb")),
    }, a.repeat)

    # ---- full job
    froot = gen_root(a.bin, a.data, a.full_events, a.markets)
    rows = count_rows(froot)
    print(f"full job: {rows} bronze rows in {froot}", flush=True)
    full = interleaved("full", {
        "daedalus full -w 1": lambda: run_daedalus(a.bin, froot, []),
        "daedalus full -w 2": lambda: run_daedalus(a.bin, froot, [], 2),
    }, a.repeat)
    if not a.skip_pandas:
        for _ in range(a.pandas_repeat):
            full.setdefault("pandas full", []).append(
                run_job("pandas-full", froot, os.path.join(froot, "out-pandas")))
            print(f"  pandas {full['pandas full'][-1]['seconds']:.2f}s", flush=True)

    # ---- scaling: -w 1, -w 2 and a 2-process cluster on loopback (full job)
    sroot = gen_root(a.bin, a.data, a.scale_events, a.markets)
    srows = count_rows(sroot)
    print(f"scaling: {srows} bronze rows in {sroot}", flush=True)
    scale = interleaved("scaling", {
        "daedalus full -w 1": lambda: run_daedalus(a.bin, sroot, []),
        "daedalus full -w 2": lambda: run_daedalus(a.bin, sroot, [], 2),
        "daedalus full, 2 processes x 1 worker (loopback)":
            lambda: run_daedalus_cluster(a.bin, sroot, []),
    }, a.repeat)

    def table(results, nrows, ref):
        out = {}
        for k, runs in results.items():
            s = summarize(runs)
            s["rows"] = nrows
            s["rows_per_s"] = nrows / s["best_s"]
            out[k] = s
        for k, s in out.items():
            s["ratio_vs_daedalus"] = out[ref]["rows_per_s"] / s["rows_per_s"]
            # Paired: repetition i of every engine ran back to back, so their ratio shares the
            # machine's state at that moment (this VM's speed drifts by 20-30 % over minutes).
            pairs = [e["seconds"] / d["seconds"] for d, e in zip(results[ref], results[k])]
            s["paired_ratio_median"] = statistics.median(pairs) if pairs else None
            s["paired_ratios"] = pairs
        return out

    report["bars"] = {"root": broot, "trades": trades,
                      "results": table(bars, trades, "daedalus bars -w 1")}
    report["full"] = {"root": froot, "bronze_rows": rows,
                      "results": table(full, rows, "daedalus full -w 1")}
    report["scaling"] = {"root": sroot, "bronze_rows": srows,
                         "results": table(scale, srows, "daedalus full -w 1")}
    with open(os.path.join(a.out, "compare.json"), "w") as f:
        json.dump(report, f, indent=2)
    md = render(report)
    with open(os.path.join(a.out, "compare.md"), "w") as f:
        f.write(md)
    print(md)


def render(r):
    lines = [f"Comparison run {r['date']} on {r['cpu']} ({r['nproc']} CPUs); {r['versions']}", ""]
    cc = r["cross_check"]
    lines.append(f"Cross-check on {cc['daedalus_nonempty_bars']} non-empty bars: " + ", ".join(
        f"{j} {'equal' if cc[j]['equal'] else 'DIFFERENT'}" for j in ("polars-bars", "duckdb-bars")))
    lines.append("")
    for name, key, what in (("Bars job (trades -> time_1m OHLCV, buy/sell volume, VWAP)", "bars",
                             "trades"),
                            ("Full job (book + ticker + trades -> silver features + time_1m bars)",
                             "full", "bronze_rows"),
                            ("Scaling, full job", "scaling", "bronze_rows")):
        sec = r[key]
        lines.append(f"**{name}**, {sec[what]:,} {what.replace('_', ' ')}:")
        lines.append("")
        lines.append("| engine | best s | median s | rows/s | peak RSS | Daedalus -w 1 is "
                     "(best / best) | Daedalus -w 1 is (median of paired runs) |")
        lines.append("|---|---|---|---|---|---|---|")
        for k, s in sec["results"].items():
            paired = s.get("paired_ratio_median")
            lines.append(f"| {k} | {s['best_s']:.2f} | {s['median_s']:.2f} | "
                         f"{s['rows_per_s'] / 1e6:.2f} M | {s['peak_rss_bytes'] / 1e6:.0f} MB | "
                         f"{s['ratio_vs_daedalus']:.2f}x | "
                         f"{'-' if paired is None else f'{paired:.2f}x'} |")
        lines.append("")
        if key == "scaling":
            for k, s in sec["results"].items():
                lines.append(f"- {k}: speed-up over -w 1 **{1 / s['ratio_vs_daedalus']:.2f}x** "
                             f"(best times), **{1 / s['paired_ratio_median']:.2f}x** (median of "
                             f"paired runs: {', '.join(f'{1 / r:.2f}' for r in s['paired_ratios'])})")
            lines.append("")
    return "\n".join(lines)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def versions(binary):
    v = {}
    for m in ("polars", "duckdb", "pandas", "pyarrow", "numpy"):
        try:
            v[m] = __import__(m).__version__
        except ImportError:
            v[m] = None
    try:
        v["daedalus"] = subprocess.run([binary, "--version"], capture_output=True,
                                       text=True).stdout.strip()
    except OSError:
        v["daedalus"] = None
    return ", ".join(f"{k} {x}" for k, x in v.items())


if __name__ == "__main__":
    main()
