#!/usr/bin/env bash
# bench/group_commit.sh — what batching the processor and the relay's settling buys, end to end.
#
# referentd does the whole citizen path (spool, case, forward to the referent, acknowledgement)
# and relays to Postfix's smtp-sink. smtp-source pushes MESSAGES messages of SIZE octets over
# SESSIONS sessions. The same load runs with gateway.processor_batch = 1 (one store transaction
# and one outgoing/ flush per message) and with BATCH (default 32), alternating, ROUNDS times.
# Per setting it prints the medians of messages per second accepted (smtp-source done) and
# delivered (incoming/ and outgoing/ empty: every forward and acknowledgement handed to the
# sink), and peak RSS; then, on a separate run of COUNT_MESSAGES under strace (slow, so not
# timed), the flushes per message: fsync + fdatasync + syncfs calls of every thread.
#
# Usage: bench/group_commit.sh [path/to/referentd]      (default build/bin/referentd)
# Environment: ROUNDS (3), SESSIONS (20), MESSAGES (5000), SIZE (5120), BATCH (32),
#              COUNT_MESSAGES (1000)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-build/bin/referentd}
rounds=${ROUNDS:-3}
sessions=${SESSIONS:-20}
messages=${MESSAGES:-5000}
size=${SIZE:-5120}
batch=${BATCH:-32}
count_messages=${COUNT_MESSAGES:-1000}
[ -x "$bin" ] || { echo "bench: $bin not built (run script/test first)" >&2; exit 1; }
command -v smtp-source >/dev/null || PATH=$PATH:/usr/sbin
command -v strace >/dev/null || { echo "bench: strace not installed" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

sink_port=$(free_port)
sink_user=(); [ "$(id -u)" -eq 0 ] && sink_user=(-u nobody)
smtp-sink "${sink_user[@]}" "127.0.0.1:$sink_port" 1024 >/dev/null &

write_config() {  # DIR BATCH
  cat > "$1/referent.yaml" <<YAML
gateway:
  hostname: bench.mairie-exemple.fr
  listen: [{ address: 127.0.0.1, port: 0, protocol: smtp, role: public }]
  spool: $1/spool
  secret_files: [$1/secret.key]
  processor_workers: 2
  processor_batch: $2
  limits: { max_connections_per_ip: 200, min_free_space: 0, max_notices_per_day: 1000 }
store: { sqlite: $1/referent.db }
ops: { metrics_listen: "" }   # several benches may run on one machine
relay: { url: "smtp://127.0.0.1:$sink_port", starttls: never, workers: 4 }
organisation: { name: Bench, citizen_domain: mairie-exemple.fr, agent_domain: referent.mairie-exemple.fr, templates: $PWD/templates }
services:
  - { id: etat-civil, name: Etat civil, address: etat-civil@mairie-exemple.fr, case_prefix: EC, agents: [agent] }
agents:
  - { id: agent, name: Agent, email: agent@agents.mairie-exemple.fr, max_open_cases: 100000 }
YAML
  "$(dirname "$bin")/referentctl" keygen "$1/secret.key" >/dev/null
}

start() {  # DIR [wrapper…] → sets pid, port
  local d=$1; shift
  "$@" "$bin" -c "$d/referent.yaml" 2>"$d/log" &
  pid=$!
  for _ in $(seq 200); do grep -q ' ready' "$d/log" 2>/dev/null && break; sleep 0.05; done
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$d/log" | head -n1)
  [ -n "$port" ] || { cat "$d/log" >&2; echo "bench: referentd did not start" >&2; exit 1; }
}

drained() { [ -z "$(find "$1/spool/incoming" "$1/spool/outgoing" -type f -print -quit)" ]; }

run() {  # DIR N → "accepted delivered" messages per second
  local d=$1 n=$2 t0 t1 t2
  t0=$(now)
  smtp-source -s "$sessions" -m "$n" -l "$size" -M bench.example.org \
    -f citizen@example.org -t etat-civil@mairie-exemple.fr "127.0.0.1:$port"
  t1=$(now)
  until drained "$d"; do sleep 0.02; done
  t2=$(now)
  echo "$(echo "$n / ($t1 - $t0)" | bc -l) $(echo "$n / ($t2 - $t0)" | bc -l)"
}

declare -A acc del rss
for r in $(seq 1 "$rounds"); do
  for b in 1 "$batch"; do
    d="$work/r$r-b$b"; mkdir -p "$d"; write_config "$d" "$b"
    start "$d" /usr/bin/time -v -o "$d/time"
    read -r a e < <(run "$d" "$messages")
    kill -TERM "$(pgrep -P "$pid")"; wait "$pid" || true
    acc[$b]+="$a "; del[$b]+="$e "; rss[$b]+="$(awk -F': ' '/Maximum resident/ {print $2}' "$d/time") "
    printf 'round %d, processor_batch %3d: %5.0f msg/s accepted, %5.0f msg/s delivered\n' "$r" "$b" "$a" "$e"
    rm -rf "$d"
  done
done

flushes() {  # BATCH → flushes per message
  local d="$work/count-b$1"; mkdir -p "$d"; write_config "$d" "$1"
  start "$d" strace -f -c -o "$d/strace" -e trace=fsync,fdatasync,syncfs
  run "$d" "$count_messages" >/dev/null
  kill -TERM "$(pgrep -P "$pid")"; wait "$pid" || true
  local calls
  calls=$(awk '$NF ~ /^(fsync|fdatasync|syncfs)$/ {s += $(NF-1)} END {print s+0}' "$d/strace")
  echo "$calls / $count_messages" | bc -l
}

printf '\n%d messages of %d octets, %d sessions, %d rounds (medians), relay: smtp-sink\n' \
  "$messages" "$size" "$sessions" "$rounds"
for b in 1 "$batch"; do
  printf 'processor_batch %3d: %6.0f msg/s accepted  %6.0f msg/s delivered  peak RSS %6d KiB  %.2f flushes/message\n' \
    "$b" "$(tr ' ' '\n' <<<"${acc[$b]}" | grep . | median)" "$(tr ' ' '\n' <<<"${del[$b]}" | grep . | median)" \
    "$(tr ' ' '\n' <<<"${rss[$b]}" | grep . | median)" "$(flushes "$b")"
done
d1=$(tr ' ' '\n' <<<"${del[1]}" | grep . | median); dn=$(tr ' ' '\n' <<<"${del[$batch]}" | grep . | median)
printf 'ratio delivered, processor_batch %d / 1: %.2f\n' "$batch" "$(echo "$dn / $d1" | bc -l)"
