#!/usr/bin/env bash
# bench/mail_engine.sh — how fast the mail engine forwards and rewrites, and at what memory.
#
# Builds bench/mail_engine.cpp in Release (build-bench/, -DREFERENT_BENCH=ON) and runs it with
# REPETITIONS repetitions: forward (parse + forward) and rewrite (parse + rewrite) on a mix of
# 5, 10, 20 and 50 KB messages and on one 10 MB message, and parse + classify alone on the same
# inputs in the same run, the peer that bounds what any rewrite can do on this machine.
# Prints the medians in MB/s and messages/s, each ratio to parse + classify, and the peak RSS
# of the benchmark process (/usr/bin/time -v), for the whole run and for the mix alone.
#
# Usage: bench/mail_engine.sh            Environment: REPETITIONS (5)
set -euo pipefail
cd "$(dirname "$0")/.."

reps=${REPETITIONS:-5}
script/bootstrap
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DREFERENT_BENCH=ON \
  -DBUILD_TESTING=OFF >/dev/null
ninja -C build-bench mail_engine_bench >/dev/null
bin=build-bench/bin/mail_engine_bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/time -v -o "$work/time" "$bin" --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_out="$work/run.json" \
  --benchmark_out_format=json
/usr/bin/time -v -o "$work/time_mix" "$bin" --benchmark_filter=/mix \
  --benchmark_min_time=0.2 >/dev/null

python3 - "$work/run.json" <<'PY'
import json, sys
runs = [b for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("aggregate_name") == "median"]
rate = {b["run_name"]: (b["bytes_per_second"] / 1e6, b["items_per_second"]) for b in runs}
print("\nmedians (MB = 10^6 octets of input)")
print(f"{'benchmark':28} {'MB/s':>9} {'msg/s':>10} {'vs parse+classify':>18}")
for name, (mb, msgs) in rate.items():
    load = name.split("/")[-1]
    peer = rate.get(f"parse_classify/{load}")
    ratio = f"{mb / peer[0]:.2f}" if peer else "-"
    print(f"{name:28} {mb:9.1f} {msgs:10.1f} {ratio:>18}")
PY
rss() { awk -F': ' '/Maximum resident/ {print $2}' "$1"; }
printf '\npeak RSS: whole run (10 MB included) %d KiB; mix alone %d KiB\n' \
  "$(rss "$work/time")" "$(rss "$work/time_mix")"
