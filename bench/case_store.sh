#!/usr/bin/env bash
# bench/case_store.sh — the case store at scale, on SQLite and on PostgreSQL, in one run.
#
# Builds bench/case_store.cpp (build-bench-store/, -DREFERENT_BENCH=ON), then for each
# engine: bulk-loads CASES cases with PER_CASE messages each (SQL, one transaction), and reports
# p50/p99 of the threading lookup (a References id → its case) and of recording an inbound
# follow-up (lookup + insert + events + one durable commit), SAMPLES each, on random cases.
# SQLite runs on a file in a temporary directory of the repository's disk; PostgreSQL on the
# throwaway server of script/with-postgres (fsync on). The peak RSS of each run is printed too.
#
# Usage: bench/case_store.sh     Environment: CASES (1000000), PER_CASE (3), SAMPLES (2000)
set -euo pipefail
cd "$(dirname "$0")/.."

cases=${CASES:-1000000}
per_case=${PER_CASE:-3}
samples=${SAMPLES:-2000}
script/bootstrap
# RelWithDebInfo (-O2), the build script/server and the package ship; GCC 12 at -O3 raises
# false -Wrestrict/-Wmaybe-uninitialized on std::variant and string code.
cmake -S . -B build-bench-store -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREFERENT_BENCH=ON \
  -DBUILD_TESTING=OFF >/dev/null
ninja -C build-bench-store case_store_bench >/dev/null
bin=$PWD/build-bench-store/bin/case_store_bench
args=(--cases "$cases" --per-case "$per_case" --samples "$samples")

work=$(mktemp -d -p "$PWD/build-bench-store")  # the repository's disk, inside the build tree
trap 'rm -rf "$work"' EXIT

echo "== SQLite (WAL, synchronous=FULL)"
/usr/bin/time -v -o "$work/time_sqlite" "$bin" --sqlite "$work/cases.db" "${args[@]}"
grep -E "Maximum resident" "$work/time_sqlite"
du -h "$work/cases.db" | awk '{print "database size: " $1}'

echo "== PostgreSQL 15"
script/with-postgres sh -c '
  [ -n "${REFERENT_TEST_PG:-}" ] || { echo "PostgreSQL unavailable: skipped"; exit 0; }
  /usr/bin/time -v -o "$0/time_pg" "$1" --postgresql "$REFERENT_TEST_PG" "$2" "$3" "$4" "$5" "$6" "$7"
  grep -E "Maximum resident" "$0/time_pg"' "$work" "$bin" "${args[@]}"
