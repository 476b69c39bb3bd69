"""The comparison jobs, one per process (run by bench/compare.py; see bench/README.md).

    python3 bench/jobs.py polars-bars ROOT OUT
    python3 bench/jobs.py duckdb-bars ROOT OUT
    python3 bench/jobs.py pandas-full ROOT OUT

Each reads the bronze under ROOT/bronze, writes Parquet under OUT and prints one JSON line
{"job", "seconds", "rows_in", "rows_out", "peak_rss_bytes"}. `seconds` is the wall time of the
job itself (read + compute + write), without interpreter start-up and imports. Thread counts are
fixed by the caller: POLARS_MAX_THREADS=1 in the environment, `SET threads=1` in DuckDB (set
here from DAEDALUS_BENCH_THREADS, default 1).

The bars job is the same for all engines: trades -> 1-minute time bars per market
(exchange, symbol, minute) with open, high, low, close (first/last trade in stored order), volume,
quote_volume, vwap = quote_volume / volume, trade_count, buy_volume, sell_volume.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

MINUTE_NS = 60_000_000_000
THREADS = int(os.environ.get("DAEDALUS_BENCH_THREADS", "1"))


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def trades_glob(root: str) -> str:
    return os.path.join(root, "bronze", "trades", "**", "*.parquet")


# --------------------------------------------------------------------------- Polars (streaming)


def polars_bars(root: str, out: str) -> dict:
    import polars as pl

    t0 = time.perf_counter()
    lf = pl.scan_parquet(trades_glob(root), hive_partitioning=True)
    rows_in = None
    q = (
        lf.with_columns(
            minute=(pl.col("ts_event").cast(pl.Int64) // MINUTE_NS),
            side=pl.col("side").cast(pl.String),
        )
        .group_by(["exchange", "symbol", "minute"])
        .agg(
            open=pl.col("price").first(),
            high=pl.col("price").max(),
            low=pl.col("price").min(),
            close=pl.col("price").last(),
            volume=pl.col("size").sum(),
            quote_volume=(pl.col("price") * pl.col("size")).sum(),
            buy_volume=pl.col("size").filter(pl.col("side") == "buy").sum(),
            sell_volume=pl.col("size").filter(pl.col("side") == "sell").sum(),
            trade_count=pl.len(),
        )
        .with_columns(vwap=pl.col("quote_volume") / pl.col("volume"))
    )
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "bars.parquet")
    q.sink_parquet(path, compression="zstd", compression_level=1, engine="streaming")
    secs = time.perf_counter() - t0
    meta = pl.scan_parquet(path).select(pl.len(), pl.col("trade_count").sum()).collect()
    rows_out, rows_in = int(meta[0, 0]), int(meta[0, 1])
    return {"seconds": secs, "rows_in": rows_in, "rows_out": rows_out}


# --------------------------------------------------------------------------- DuckDB

DUCKDB_BARS = """
COPY (
  SELECT exchange, symbol, epoch_ns(ts_event) // {minute} AS minute,
         arg_min(price, (epoch_ns(ts_event), file_row_number)) AS open,
         max(price) AS high,
         min(price) AS low,
         arg_max(price, (epoch_ns(ts_event), file_row_number)) AS close,
         sum(size) AS volume,
         sum(price * size) AS quote_volume,
         coalesce(sum(size) FILTER (WHERE side = 'buy'), 0) AS buy_volume,
         coalesce(sum(size) FILTER (WHERE side = 'sell'), 0) AS sell_volume,
         count(*) AS trade_count,
         sum(price * size) / sum(size) AS vwap
  FROM read_parquet('{glob}', hive_partitioning = true, file_row_number = true)
  GROUP BY ALL
) TO '{out}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)
"""


def duckdb_bars(root: str, out: str) -> dict:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads={THREADS}")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "bars.parquet")
    con.execute(DUCKDB_BARS.format(minute=MINUTE_NS, glob=trades_glob(root), out=path))
    secs = time.perf_counter() - t0
    rows_out, rows_in = con.execute(
        f"select count(*), sum(trade_count) from read_parquet('{path}')"
    ).fetchone()
    return {"seconds": secs, "rows_in": int(rows_in), "rows_out": int(rows_out)}


# --------------------------------------------------------------------------- pandas (full job)


def _read_dataset(root: str, ds: str):
    """All partitions of one bronze dataset as one DataFrame with exchange/symbol columns."""
    import pandas as pd
    import pyarrow.parquet as pq

    base = os.path.join(root, "bronze", ds)
    frames = []
    if not os.path.isdir(base):
        return pd.DataFrame()
    for ex in sorted(os.listdir(base)):
        for sy in sorted(os.listdir(os.path.join(base, ex))):
            for d in sorted(os.listdir(os.path.join(base, ex, sy))):
                ddir = os.path.join(base, ex, sy, d)
                for f in sorted(os.listdir(ddir)):
                    if f.endswith(".parquet") and not f.startswith("."):
                        df = pq.read_table(os.path.join(ddir, f)).to_pandas()
                        df["exchange"] = ex.split("=", 1)[1]
                        df["symbol"] = sy.split("=", 1)[1]
                        frames.append(df)
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    for c in ("ts_event", "ts_recv"):
        df[c] = df[c].astype("int64")
    if "side" in df:
        df["side"] = df["side"].astype(str)
    return df


def _replay_book(book):
    """L2 book replay of one market: one feature row per book message (rows sharing ts_event
    and seq), from dicts of price -> size. Features: best bid/ask and sizes, mid, spread,
    microprice, L1 imbalance, top-5 depth imbalance, L1 OFI (Cont, Kukanov & Stoikov)."""
    import numpy as np

    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    out = {k: [] for k in ("ts", "bid", "ask", "bid_size", "ask_size", "mid", "spread",
                           "microprice", "imbalance", "depth_imbalance_5", "ofi")}
    ts = book["ts_event"].to_numpy()
    seq = book["seq"].to_numpy()
    snap = book["is_snapshot"].to_numpy()
    side = book["side"].to_numpy()
    price = book["price"].to_numpy()
    size = book["size"].to_numpy()
    n = len(book)
    prev = None  # (bid, bid_size, ask, ask_size)
    i = 0
    in_snapshot = False
    while i < n:
        j = i
        # One message: consecutive rows with the same ts_event and seq.
        while j < n and ts[j] == ts[i] and seq[j] == seq[i]:
            j += 1
        if snap[i]:
            if not in_snapshot:
                bids.clear()
                asks.clear()
            in_snapshot = True
        else:
            in_snapshot = False
        for k in range(i, j):
            levels = bids if side[k] == "bid" else asks
            if size[k] == 0.0:
                levels.pop(price[k], None)
            else:
                levels[price[k]] = size[k]
        i = j
        if not bids or not asks:
            continue
        b = max(bids)
        a = min(asks)
        bs, as_ = bids[b], asks[a]
        top_b = sorted(bids, reverse=True)[:5]
        top_a = sorted(asks)[:5]
        db = sum(bids[p] for p in top_b)
        da = sum(asks[p] for p in top_a)
        if prev is None:
            ofi = 0.0
        else:
            pb, pbs, pa, pas = prev
            e_b = (bs if b >= pb else 0.0) - (pbs if b <= pb else 0.0)
            e_a = (pas if a >= pa else 0.0) - (as_ if a <= pa else 0.0)
            ofi = e_b + e_a
        prev = (b, bs, a, as_)
        out["ts"].append(ts[j - 1])
        out["bid"].append(b)
        out["ask"].append(a)
        out["bid_size"].append(bs)
        out["ask_size"].append(as_)
        out["mid"].append((a + b) / 2)
        out["spread"].append(a - b)
        out["microprice"].append((b * as_ + a * bs) / (bs + as_))
        out["imbalance"].append((bs - as_) / (bs + as_))
        out["depth_imbalance_5"].append((db - da) / (db + da))
        out["ofi"].append(ofi)
    import pandas as pd

    df = pd.DataFrame(out)
    df["ts"] = df["ts"].astype(np.int64)
    return df


def _rolling_sums(df, col, windows=("1s", "10s", "60s")):
    idx = df.set_index(pd_to_dt(df["ts"]))[col]
    for w in windows:
        df[f"{col}_{w}"] = idx.rolling(w).sum().to_numpy()


def pd_to_dt(s):
    import pandas as pd

    return pd.to_datetime(s, unit="ns")


def _vpin(trades, bucket_volume, window=50):
    """VPIN with aggressor classification: fill buckets of `bucket_volume`, splitting trades,
    VPIN = mean |buy - sell| / V over the last `window` buckets, per trade."""
    vpin = []
    buys = sells = filled = 0.0
    imbalances = []
    for q, s in zip(trades["size"].to_numpy(), trades["side"].to_numpy()):
        rest = q
        while rest > 0:
            take = min(rest, bucket_volume - filled)
            if s == "buy":
                buys += take
            elif s == "sell":
                sells += take
            else:
                buys += take / 2
                sells += take / 2
            filled += take
            rest -= take
            if filled >= bucket_volume - 1e-12:
                imbalances.append(abs(buys - sells))
                buys = sells = filled = 0.0
        if len(imbalances) >= window:
            vpin.append(sum(imbalances[-window:]) / (window * bucket_volume))
        else:
            vpin.append(float("nan"))
    return vpin


def pandas_full(root: str, out: str) -> dict:
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    book = _read_dataset(root, "book")
    trades = _read_dataset(root, "trades")
    ticker = _read_dataset(root, "ticker")
    rows_in = len(book) + len(trades) + len(ticker)
    rows_out = 0
    os.makedirs(out, exist_ok=True)
    markets = sorted(set(zip(trades["exchange"], trades["symbol"])) |
                     set(zip(book["exchange"], book["symbol"])))
    silver_book, silver_trades, silver_ticker, intervals, bars = [], [], [], [], []
    for ex, sy in markets:
        # --- book features
        b = book[(book["exchange"] == ex) & (book["symbol"] == sy)]
        b = b.sort_values(["ts_event", "seq"], kind="stable")
        bf = _replay_book(b)
        _rolling_sums(bf, "ofi")
        bf["exchange"], bf["symbol"] = ex, sy
        silver_book.append(bf)
        # --- ticker features
        if len(ticker):
            k = ticker[(ticker["exchange"] == ex) & (ticker["symbol"] == sy)].sort_values(
                "ts_event", kind="stable").copy()
            k["mid"] = (k["bid_price"] + k["ask_price"]) / 2
            k["spread"] = k["ask_price"] - k["bid_price"]
            pb, pa = k["bid_price"].shift(), k["ask_price"].shift()
            pbs, pas = k["bid_size"].shift(), k["ask_size"].shift()
            e_b = np.where(k["bid_price"] >= pb, k["bid_size"], 0) - np.where(k["bid_price"] <= pb, pbs, 0)
            e_a = np.where(k["ask_price"] <= pa, k["ask_size"], 0) - np.where(k["ask_price"] >= pa, pas, 0)
            k["ofi"] = np.nan_to_num(e_b - e_a)
            k = k.rename(columns={"ts_event": "ts"})
            _rolling_sums(k, "ofi")
            silver_ticker.append(k)
        # --- trade features
        t = trades[(trades["exchange"] == ex) & (trades["symbol"] == sy)]
        t = t.sort_values(["ts_event", "ts_recv"], kind="stable").copy()
        t["sign"] = np.select([t["side"] == "buy", t["side"] == "sell"], [1.0, -1.0], 0.0)
        t["signed_volume"] = t["sign"] * t["size"]
        t["buy_volume"] = np.where(t["sign"] > 0, t["size"], 0.0)
        t["sell_volume"] = np.where(t["sign"] < 0, t["size"], 0.0)
        t["ts"] = t["ts_event"]
        for w in ("1s", "10s", "60s"):
            r = t.set_index(pd_to_dt(t["ts"]))[["buy_volume", "sell_volume"]].rolling(w).sum()
            bsum, ssum = r["buy_volume"].to_numpy(), r["sell_volume"].to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                t[f"tfi_{w}"] = (bsum - ssum) / (bsum + ssum)
        days = max(1, len(set(t["ts"] // 86_400_000_000_000)))
        v = t["size"].sum() / days / 50.0
        t["vpin"] = _vpin(t, v) if v > 0 else np.nan
        silver_trades.append(t)
        # --- 1s intervals
        tt = t.set_index(pd_to_dt(t["ts"]))
        bb = bf.set_index(pd_to_dt(bf["ts"]))
        iv = pd.DataFrame({
            "buy_volume": tt["buy_volume"].resample("1s").sum(),
            "sell_volume": tt["sell_volume"].resample("1s").sum(),
            "trade_count": tt["size"].resample("1s").count(),
        })
        iv = iv.join(pd.DataFrame({
            "ofi": bb["ofi"].resample("1s").sum(),
            "mid_close": bb["mid"].resample("1s").last(),
            "spread_mean": bb["spread"].resample("1s").mean(),
        }), how="outer")
        iv["mid_close"] = iv["mid_close"].ffill()
        iv["mid_change"] = iv["mid_close"].diff()
        iv["signed_volume"] = iv["buy_volume"] - iv["sell_volume"]
        # Kyle's lambda: rolling OLS slope of mid_change on signed volume over 20 intervals.
        cov = iv["mid_change"].rolling(20, min_periods=10).cov(iv["signed_volume"])
        var = iv["signed_volume"].rolling(20, min_periods=10).var()
        iv["kyle_lambda"] = cov / var
        iv["exchange"], iv["symbol"] = ex, sy
        intervals.append(iv.reset_index(names="ts_open"))
        # --- time_1m bars
        g = tt.resample("1min")
        bar = pd.DataFrame({
            "open": g["price"].first(),
            "high": g["price"].max(),
            "low": g["price"].min(),
            "close": g["price"].last(),
            "volume": g["size"].sum(),
            "quote_volume": (tt["price"] * tt["size"]).resample("1min").sum(),
            "trade_count": g["size"].count(),
            "buy_volume": g["buy_volume"].sum(),
            "sell_volume": g["sell_volume"].sum(),
        })
        bar["vwap"] = bar["quote_volume"] / bar["volume"]
        bg = bb.resample("1min")
        bar = bar.join(pd.DataFrame({
            "ofi": bg["ofi"].sum(),
            "mid_open": bg["mid"].first(),
            "mid_close": bg["mid"].last(),
            "spread_mean": bg["spread"].mean(),
        }), how="left")
        bar["exchange"], bar["symbol"] = ex, sy
        bars.append(bar.reset_index(names="ts_open"))
    for name, parts in (("silver_book", silver_book), ("silver_ticker", silver_ticker),
                        ("silver_trades", silver_trades), ("silver_intervals_1s", intervals),
                        ("gold_bars_time_1m", bars)):
        if parts:
            df = pd.concat(parts, ignore_index=True)
            rows_out += len(df)
            df.to_parquet(os.path.join(out, f"{name}.parquet"), compression="zstd", index=False)
    secs = time.perf_counter() - t0
    return {"seconds": secs, "rows_in": rows_in, "rows_out": rows_out}


JOBS = {"polars-bars": polars_bars, "duckdb-bars": duckdb_bars, "pandas-full": pandas_full}

if __name__ == "__main__":
    job, root, out = sys.argv[1], sys.argv[2], sys.argv[3]
    r = JOBS[job](root, out)
    r["job"] = job
    r["peak_rss_bytes"] = peak_rss()
    print(json.dumps(r))
