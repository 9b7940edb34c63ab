#!/usr/bin/env bash
# bench/ingest.sh — how fast referentd acknowledges mail, and what each acknowledgement costs.
#
# Postfix's smtp-source pushes MESSAGES messages of SIZE octets over SESSIONS parallel sessions
# (connections reused, as an MX with connection caching does) into referentd's public listener,
# ROUNDS times. In the same run, the same load goes to Postfix's smtp-sink (protocol only, no
# disk): the peer that bounds what the protocol path alone can do on this machine.
# Prints, per target, the median messages per second acknowledged, and for referentd the fsyncs
# per message (from the daemon's own counters) and its peak RSS (/usr/bin/time -v).
#
# Usage: bench/ingest.sh [path/to/referentd]      (default build/bin/referentd)
# Environment: ROUNDS (3), SESSIONS (20), MESSAGES (20000), SIZE (5120)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-build/bin/referentd}
rounds=${ROUNDS:-3}
sessions=${SESSIONS:-20}
messages=${MESSAGES:-20000}
size=${SIZE:-5120}
[ -x "$bin" ] || { echo "bench: $bin not built (run script/test or script/server first)" >&2; exit 1; }
command -v smtp-source >/dev/null || PATH=$PATH:/usr/sbin

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

write_config() {
  cat > "$1/referent.yaml" <<YAML
gateway:
  hostname: bench.mairie-exemple.fr
  listen: [{ address: 127.0.0.1, port: 0, protocol: smtp, role: public }]
  spool: $1/spool
  secret_files: [$1/secret.key]
  processor_workers: 0   # the receive path alone: every message stays in incoming/ to count
  limits: { max_connections_per_ip: 200, min_free_space: 0 }
store: { sqlite: $1/referent.db }
ops: { metrics_listen: "" }   # several benches may run on one machine
relay: { maildir: $1/outbox }
organisation: { name: Bench, citizen_domain: mairie-exemple.fr, agent_domain: referent.mairie-exemple.fr, templates: $PWD/templates }
services:
  - { id: etat-civil, name: Etat civil, address: etat-civil@mairie-exemple.fr, case_prefix: EC, agents: [agent] }
agents:
  - { id: agent, name: Agent, email: agent@agents.mairie-exemple.fr }
YAML
  "$(dirname "$bin")/referentctl" keygen "$1/secret.key" >/dev/null
}

load() {  # load PORT → elapsed seconds
  local t0 t1
  t0=$(now)
  smtp-source -d -s "$sessions" -m "$messages" -l "$size" -M bench.example.org \
    -f citizen@example.org -t etat-civil@mairie-exemple.fr "127.0.0.1:$1"
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

ref_rates=() sink_rates=() fsyncs=() rss=()
for r in $(seq 1 "$rounds"); do
  d="$work/r$r"; mkdir -p "$d"; write_config "$d"
  /usr/bin/time -v -o "$d/time" "$bin" -c "$d/referent.yaml" 2>"$d/log" &
  timer=$!
  for _ in $(seq 100); do grep -q 'ready' "$d/log" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$d/log" | head -n1)
  el=$(load "$port")
  kill -TERM "$(pgrep -P "$timer")"; wait "$timer"
  n=$(find "$d/spool/incoming" -name '*.env' | wc -l)
  [ "$n" -eq "$messages" ] || { echo "bench: expected $messages messages in incoming/, found $n" >&2; exit 1; }
  line=$(grep 'stopped:' "$d/log")
  f=$(sed -n 's/.*fsyncs=\([0-9]*\).*/\1/p' <<<"$line")
  ref_rates+=("$(echo "$messages / $el" | bc -l)")
  fsyncs+=("$(echo "$f / $messages" | bc -l)")
  rss+=("$(awk -F': ' '/Maximum resident/ {print $2}' "$d/time")")
  rm -rf "$d/spool"

  sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  sink_user=(); [ "$(id -u)" -eq 0 ] && sink_user=(-u nobody)
  smtp-sink "${sink_user[@]}" -c "127.0.0.1:$sport" 256 >/dev/null &
  sink=$!
  sleep 0.3
  el=$(load "$sport")
  kill "$sink"; wait "$sink" 2>/dev/null || true
  sink_rates+=("$(echo "$messages / $el" | bc -l)")
  printf 'round %d: referentd %.0f msg/s, smtp-sink %.0f msg/s\n' "$r" "${ref_rates[-1]}" "${sink_rates[-1]}"
done

ref=$(printf '%s\n' "${ref_rates[@]}" | median)
sink=$(printf '%s\n' "${sink_rates[@]}" | median)
fs=$(printf '%s\n' "${fsyncs[@]}" | median)
mem=$(printf '%s\n' "${rss[@]}" | median)
printf '\n%d messages of %d octets, %d sessions, %d rounds (medians)\n' "$messages" "$size" "$sessions" "$rounds"
printf 'referentd  %8.0f msg/s acknowledged   %.3f fsyncs/message   peak RSS %d KiB\n' "$ref" "$fs" "$mem"
printf 'smtp-sink  %8.0f msg/s (no disk)\n' "$sink"
printf 'ratio referentd / smtp-sink: %.2f\n' "$(echo "$ref / $sink" | bc -l)"
