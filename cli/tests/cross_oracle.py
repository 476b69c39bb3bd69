"""Independent recomputation of `silver/cross` (CONTRACT §11) from a run's own `silver/intervals`
with DuckDB window functions, compared with the run's `silver/cross` row by row.

usage: cross_oracle.py ROOT SPEC WIDTH_NS W BASE=exchange/symbol [...]

Prints `OK <rows> <non-null corr> <non-null lead_lag>` or `MISMATCH ...` lines, and exits 1 on
any difference. Tolerance: 1e-9 relative, with a 1e-12 absolute floor for values near 0 (two
correct formulas for a correlation differ by rounding only); `spread_bps_z` relative to its
operands (see below).
"""
import math
import sys

import duckdb

root, spec, width, w = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
groups = dict(a.split("=", 1) for a in sys.argv[5:])

con = duckdb.connect()
con.execute(f"""
CREATE TABLE iv AS
SELECT exchange, symbol,
       CASE WHEN upper(split_part(symbol, '-', 1)) = 'XBT' THEN 'BTC'
            ELSE upper(split_part(symbol, '-', 1)) END AS base,
       epoch_ns(ts_open) // {width} AS k, ts_open, ts_close,
       mid_close AS mid, ofi, tfi, signed_volume
FROM read_parquet('{root}/silver/intervals/interval={spec}/*/*/*/*.parquet', hive_partitioning = true)
""")
con.execute("""
CREATE TABLE iv2 AS
SELECT a.*, CASE WHEN a.mid > 0 AND p.mid > 0 THEN ln(a.mid / p.mid) END AS ret
FROM iv a LEFT JOIN iv p ON p.exchange = a.exchange AND p.symbol = a.symbol AND p.k = a.k - 1
""")
refs = ", ".join(f"('{b}', '{r.split('/')[0]}', '{r.split('/', 1)[1]}')" for b, r in groups.items())
con.execute(f"CREATE TABLE grp(base VARCHAR, rex VARCHAR, rsym VARCHAR); INSERT INTO grp VALUES {refs}")
# Every (pair, k) where either market has a row: the grid the windows run over.
con.execute("""
CREATE TABLE pairs AS
WITH mk AS (
  SELECT i.*, g.rex, g.rsym FROM iv2 i JOIN grp g USING (base)
  WHERE NOT (i.exchange = g.rex AND i.symbol = g.rsym)
    AND EXISTS (SELECT 1 FROM iv2 r WHERE r.exchange = g.rex AND r.symbol = g.rsym)
), rf AS (
  SELECT i.* FROM iv2 i JOIN grp g ON i.exchange = g.rex AND i.symbol = g.rsym
), keys AS (
  SELECT DISTINCT m.exchange, m.symbol, m.rex, m.rsym, m.base, x.k
  FROM (SELECT DISTINCT exchange, symbol, rex, rsym, base FROM mk) m
  JOIN (SELECT exchange, symbol, k FROM mk UNION ALL
        SELECT m2.exchange, m2.symbol, r.k FROM rf r
        JOIN (SELECT DISTINCT exchange, symbol, rex, rsym FROM mk) m2
          ON r.exchange = m2.rex AND r.symbol = m2.rsym) x
    ON x.exchange = m.exchange AND x.symbol = m.symbol
)
SELECT k.exchange, k.symbol, k.rex, k.rsym, k.k,
       m.ts_open, m.ts_close, m.mid, r.mid AS ref_mid,
       CASE WHEN m.mid IS NOT NULL AND r.mid IS NOT NULL AND r.mid <> 0
            THEN (m.mid / r.mid - 1) * 1e4 END AS spread_bps,
       m.ret, r.ret AS ref_ret, m.ofi, r.ofi AS ref_ofi, m.tfi, r.tfi AS ref_tfi,
       m.signed_volume, r.signed_volume AS ref_signed_volume,
       (m.k IS NOT NULL AND r.k IS NOT NULL) AS both_rows,
       m2.ret AS ret_prev, r2.ret AS ref_ret_prev
FROM keys k
LEFT JOIN mk m ON m.exchange = k.exchange AND m.symbol = k.symbol AND m.k = k.k
LEFT JOIN rf r ON r.exchange = k.rex AND r.symbol = k.rsym AND r.k = k.k
LEFT JOIN mk m2 ON m2.exchange = k.exchange AND m2.symbol = k.symbol AND m2.k = k.k - 1
LEFT JOIN rf r2 ON r2.exchange = k.rex AND r2.symbol = k.rsym AND r2.k = k.k - 1
""")
win = f"PARTITION BY exchange, symbol ORDER BY k RANGE BETWEEN {w - 1} PRECEDING AND CURRENT ROW"
lag = f"PARTITION BY exchange, symbol ORDER BY k RANGE BETWEEN {w - 2} PRECEDING AND CURRENT ROW"
rows = con.execute(f"""
WITH s AS (
SELECT *,
  count(*) FILTER (WHERE ret IS NOT NULL AND ref_ret IS NOT NULL) OVER ({win}) AS n,
  corr(ret, ref_ret) FILTER (WHERE ret IS NOT NULL AND ref_ret IS NOT NULL) OVER ({win}) AS c,
  regr_slope(ret, ref_ret) FILTER (WHERE ret IS NOT NULL AND ref_ret IS NOT NULL) OVER ({win}) AS b,
  min(ret) FILTER (WHERE ret IS NOT NULL AND ref_ret IS NOT NULL) OVER ({win}) AS r_lo,
  max(ret) FILTER (WHERE ret IS NOT NULL AND ref_ret IS NOT NULL) OVER ({win}) AS r_hi,
  min(ref_ret) FILTER (WHERE ret IS NOT NULL AND ref_ret IS NOT NULL) OVER ({win}) AS f_lo,
  max(ref_ret) FILTER (WHERE ret IS NOT NULL AND ref_ret IS NOT NULL) OVER ({win}) AS f_hi,
  count(*) FILTER (WHERE ret IS NOT NULL AND ref_ret_prev IS NOT NULL) OVER ({lag}) AS na,
  corr(ret, ref_ret_prev) FILTER (WHERE ret IS NOT NULL AND ref_ret_prev IS NOT NULL) OVER ({lag}) AS ca,
  min(ret) FILTER (WHERE ret IS NOT NULL AND ref_ret_prev IS NOT NULL) OVER ({lag}) AS a1,
  max(ret) FILTER (WHERE ret IS NOT NULL AND ref_ret_prev IS NOT NULL) OVER ({lag}) AS a2,
  min(ref_ret_prev) FILTER (WHERE ret IS NOT NULL AND ref_ret_prev IS NOT NULL) OVER ({lag}) AS a3,
  max(ref_ret_prev) FILTER (WHERE ret IS NOT NULL AND ref_ret_prev IS NOT NULL) OVER ({lag}) AS a4,
  count(*) FILTER (WHERE ref_ret IS NOT NULL AND ret_prev IS NOT NULL) OVER ({lag}) AS nb,
  corr(ref_ret, ret_prev) FILTER (WHERE ref_ret IS NOT NULL AND ret_prev IS NOT NULL) OVER ({lag}) AS cb,
  min(ref_ret) FILTER (WHERE ref_ret IS NOT NULL AND ret_prev IS NOT NULL) OVER ({lag}) AS b1,
  max(ref_ret) FILTER (WHERE ref_ret IS NOT NULL AND ret_prev IS NOT NULL) OVER ({lag}) AS b2,
  min(ret_prev) FILTER (WHERE ref_ret IS NOT NULL AND ret_prev IS NOT NULL) OVER ({lag}) AS b3,
  max(ret_prev) FILTER (WHERE ref_ret IS NOT NULL AND ret_prev IS NOT NULL) OVER ({lag}) AS b4,
  avg(spread_bps) OVER ({win}) AS sm,
  stddev_pop(spread_bps) OVER ({win}) AS sd,
  count(spread_bps) OVER ({win}) AS sn,
  min(spread_bps) OVER ({win}) AS s_lo,
  max(spread_bps) OVER ({win}) AS s_hi
FROM pairs)
SELECT exchange, symbol, epoch_ns(ts_open), mid, ref_mid, spread_bps, ret, ref_ret, ofi, ref_ofi,
  tfi, ref_tfi, signed_volume, ref_signed_volume, n,
  CASE WHEN n >= 3 AND r_lo < r_hi AND f_lo < f_hi THEN c END,
  CASE WHEN n >= 3 AND f_lo < f_hi THEN (CASE WHEN r_lo = r_hi THEN 0.0 ELSE b END) END,
  CASE WHEN na >= 3 AND a1 < a2 AND a3 < a4 AND nb >= 3 AND b1 < b2 AND b3 < b4 THEN ca - cb END,
  sm,
  CASE WHEN spread_bps IS NOT NULL AND sn >= 2 AND s_lo < s_hi THEN (spread_bps - sm) / sd END,
  CASE WHEN spread_bps IS NOT NULL AND sn >= 2 AND s_lo < s_hi THEN (abs(spread_bps) + abs(sm)) / sd END
FROM s WHERE both_rows ORDER BY exchange, symbol, ts_open
""").fetchall()

got = con.execute(f"""
SELECT exchange, symbol, epoch_ns(ts_open), mid, ref_mid, spread_bps, ret, ref_ret, ofi, ref_ofi,
  tfi, ref_tfi, signed_volume, ref_signed_volume, n, corr, beta, lead_lag, spread_bps_mean,
  spread_bps_z
FROM read_parquet('{root}/silver/cross/interval={spec}/*/*/*.parquet')
ORDER BY exchange, symbol, ts_open
""").fetchall()

names = ["exchange", "symbol", "ts_open", "mid", "ref_mid", "spread_bps", "ret", "ref_ret", "ofi",
         "ref_ofi", "tfi", "ref_tfi", "signed_volume", "ref_signed_volume", "n", "corr", "beta",
         "lead_lag", "spread_bps_mean", "spread_bps_z"]


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, float) and math.isnan(a):
        return False
    return abs(a - b) <= max(1e-9 * max(abs(a), abs(b)), 1e-12)


bad = 0
if len(rows) != len(got):
    print(f"MISMATCH row count: oracle {len(rows)}, silver/cross {len(got)}")
    bad += 1
for x, y in zip(rows, got):
    for i, (a, b) in enumerate(zip(x, y)):
        # spread_bps_z is (spread - mean) / sd: when spread is close to its mean the difference
        # cancels, so its error is relative to the operands, (|spread| + |mean|) / sd.
        ok = same(a, b) or (i == 19 and a is not None and b is not None
                            and abs(a - b) <= 1e-9 * x[20])
        if not ok:
            bad += 1
            if bad <= 10:
                print(f"MISMATCH {x[0]}/{x[1]} ts_open={x[2]} {names[i]}: oracle {a!r}, silver/cross {b!r}")
if bad:
    sys.exit(1)
print(f"OK {len(got)} {sum(1 for r in got if r[15] is not None)} {sum(1 for r in got if r[17] is not None)}")
