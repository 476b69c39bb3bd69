#!/usr/bin/env bash
# Runs every fuzz target (or those named) for RUNS executions each (default 10 million), from
# the seeds `issue_16_fuzz_corpus_is_written_and_replays` writes and the corpus earlier runs grew, and prints the
# executions each one did; `fuzz/artifacts/<target>/runs.tsv` keeps every run's count, so runs
# in rounds add up. Needs the nightly
# toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Targets are safe Rust: no sanitizer
# (`-s none`), debug assertions on (`-a`), so overflow and slicing bugs panic here.
#
# JOBS=N runs N libFuzzer processes per target side by side on the same corpus (each RUNS
# executions, its own log; libFuzzer reloads the corpus directory, so each sees what the others
# find), one runs.tsv line per process. libFuzzer counts the first pass over the corpus as
# executions too, so a round never has fewer than the corpus has files.
#
#   fuzz/run.sh                 # all targets, 10M executions each
#   RUNS=100000 fuzz/run.sh binance_raw
#   JOBS=2 RUNS=250000 fuzz/run.sh zip_archive   # both cores, 500,000 in all
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
RUNS="${RUNS:-10000000}"
JOBS="${JOBS:-1}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(binance_raw binance_vision tardis_csv cryptofeed hyperliquid bybit_orderbook zip_archive
    ingest_state partition_path checkpoint config_toml)
fi
# Seeds for targets that have no corpus yet (an existing corpus keeps what earlier runs grew).
for t in "${targets[@]}"; do
  if [ ! -d "fuzz/corpus/$t" ]; then
    DAEDALUS_FUZZ_CORPUS="$PWD/fuzz/corpus" \
      cargo test --release -p daedalus-tests --test issue_16_fuzz fuzz_corpus >/dev/null
    break
  fi
done
export DAEDALUS_FUZZ_TMP="${DAEDALUS_FUZZ_TMP:-/dev/shm}"
max_len() {
  case "$1" in
    cryptofeed|checkpoint|bybit_orderbook|hyperliquid) echo 65536 ;;
    zip_archive) echo 131072 ;;
    binance_raw) echo 16384 ;;
    partition_path) echo 256 ;;
    *) echo 8192 ;;
  esac
}
cd fuzz
cargo +nightly fuzz build -s none -a -O "${targets[@]:0:1}" >/dev/null 2>&1 || true
# One libFuzzer process: target $1, log $2; its count goes to runs.tsv.
fuzz_one() {
  local t="$1" log="$2"
  cargo +nightly fuzz run -s none -a -O "$t" "corpus/$t" -- \
    -runs="$RUNS" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || return 1
  local runs secs
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1)
  printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$runs" "$secs" >>"artifacts/$t/runs.tsv"
}
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  touch "artifacts/$t/runs.tsv"
  before=$(wc -l <"artifacts/$t/runs.tsv")
  pids=()
  for j in $(seq 1 "$JOBS"); do
    log="artifacts/$t/run.log"; [ "$JOBS" -gt 1 ] && log="artifacts/$t/run-$j.log"
    fuzz_one "$t" "$log" & pids+=($!)
  done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  if [ "$failed" -ne 0 ]; then
    echo "$t: FAILED (see fuzz/artifacts/$t/run*.log)"
    grep -h -A3 "panicked" artifacts/"$t"/run*.log | head -8
    exit 1
  fi
  runs=$(awk -F'\t' -v b="$before" 'NR > b {s+=$2} END {print s}' "artifacts/$t/runs.tsv")
  total=$(awk -F'\t' '{s+=$2} END {print s}' "artifacts/$t/runs.tsv")
  echo "$t: ${runs} executions in $JOBS process(es) (${total} in all runs so far), 0 crashes, 0 timeouts, 0 out-of-memory"
done
