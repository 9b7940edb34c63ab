#!/usr/bin/env bash
# bench/throughput.sh — referentd against Postfix: same machine, same load, one invocation.
#
# (a) referentd does the whole citizen path (spool, case, forward to the referent,
#     acknowledgement) and relays to Postfix's smtp-sink;
# (b) a private Postfix instance (bench/postfix/*.cf.in: its own config, queue and data
#     directories under a temporary directory, loopback only, default queue durability, no
#     content filter) relays the same load to the same smtp-sink.
# smtp-source pushes the same load at both, alternating a/b (b/a on even rounds), each run on a
# fresh instance:
#   - MESSAGES messages of SIZE octets over SESSIONS sessions, ROUNDS times;
#   - BIG_MESSAGES messages of BIG_SIZE octets, ROUNDS times;
#   - light load: one session, LIGHT_MESSAGES transactions, one every LIGHT_PACE ms (a fixed
#     arrival rate, the same for both), each timed from MAIL FROM to the 250 after DATA
#     (bench/smtp_latency.py), p50 and p99; ROUNDS times. The same session back to back (each
#     transaction sent as soon as the previous one had its 250) is measured too and reported
#     beside it: that offers each server as much as it takes, so it measures each at its own
#     saturation rate (printed), not at a light load;
#   - memory: MEM_SESSIONS concurrent messages of MEM_SIZE octets into referentd, all of them
#     half-received at once (bench/concurrent_data.py), and its peak RSS.
# Accepted = messages / time until smtp-source is done (every message had its 250); delivered =
# messages / time until the queues are empty (referentd: incoming/ and outgoing/, i.e. every
# forward and acknowledgement handed to the sink; Postfix: incoming, active, deferred, maildrop).
# Flushes (fsync + fdatasync + syncfs calls of every thread and process) are counted during the
# timed runs with perf's syscall tracepoints (in-kernel counters: no slowdown); without perf
# they are counted by strace on one extra, untimed run of COUNT_MESSAGES. Peak RSS is
# referentd's VmHWM read just before it is stopped. Figures are medians over the rounds.
#
# Usage: bench/throughput.sh [path/to/referentd]       (default build/bin/referentd)
# Environment (defaults): ROUNDS (3), SESSIONS (20), MESSAGES (20000), SIZE (5120),
#   BIG_MESSAGES (5000), BIG_SIZE (102400), LIGHT_MESSAGES (2000: a p99 over 300 transactions
#   is the third worst, mostly the machine's noise), LIGHT_PACE (10: 100 transactions a second,
#   about a quarter of what Postfix delivers here under load), MEM_SESSIONS (100),
#   MEM_SIZE (10485760), BATCH (32: gateway.processor_batch), COUNT_MESSAGES (2000),
#   SKIP (space-separated parts to leave out: small big light memory), KEEP=1 keeps the work dir.
# Needs root (smtp-sink -u nobody, Postfix), Postfix 3.x, python3, bc.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-build/bin/referentd}
rounds=${ROUNDS:-3}
sessions=${SESSIONS:-20}
messages=${MESSAGES:-20000}
size=${SIZE:-5120}
big_messages=${BIG_MESSAGES:-5000}
big_size=${BIG_SIZE:-102400}
light=${LIGHT_MESSAGES:-2000}
light_pace=${LIGHT_PACE:-10}
mem_sessions=${MEM_SESSIONS:-100}
mem_size=${MEM_SIZE:-10485760}
batch=${BATCH:-32}
count_messages=${COUNT_MESSAGES:-2000}
skip=" ${SKIP:-} "
drain_timeout=${DRAIN_TIMEOUT:-3600}

[ -x "$bin" ] || { echo "bench: $bin not built (run script/test first)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (smtp-sink -u nobody, Postfix)" >&2; exit 1; }
PATH=$PATH:/usr/sbin
for tool in smtp-source smtp-sink postfix python3 bc; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not installed" >&2; exit 1; }
done
ctl="$(dirname "$bin")/referentctl"

work=$(mktemp -d /tmp/referent-bench.XXXXXX)
chmod 755 "$work"  # Postfix's daemons run as its mail_owner and traverse it
cleanup() {  # also stops a Postfix left by a run that failed half-way
  for d in "$work"/*/etc; do
    [ -f "$d/main.cf" ] && postfix -c "$d" stop >/dev/null 2>&1 || true
  done
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "bench: work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
# The machine's CPU time so far, busy and total (jiffies of all CPUs, /proc/stat): the share of
# the machine a run kept busy, whichever processes it ran in (the server, the client, the sink).
cpu_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
greets() { python3 - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    ok = s.recv(512).startswith(b"220")
    s.sendall(b"QUIT\r\n")
    s.close()
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
}
calc() { echo "$1" | bc -l; }

# Flush counting: perf's tracepoint counters if this kernel lets us, else strace on a side run.
flush_events=syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_syncfs
use_perf=0
if command -v perf >/dev/null &&
   perf stat -x, -o /dev/null -e "$flush_events" -- true >/dev/null 2>&1; then
  use_perf=1
fi
counter() {  # OUTFILE → the command prefix that counts flushes into OUTFILE
  if [ "$use_perf" = 1 ]; then echo "perf stat -x, -o $1 -e $flush_events --"; fi
}
flush_count() {  # OUTFILE → total flush calls counted
  [ -s "$1" ] || { echo nan; return; }
  if [ "$use_perf" = 1 ]; then
    awk -F, '/syscalls:sys_enter_/ {s += $1} END {print s+0}' "$1"
  else
    awk '$NF ~ /^(fsync|fdatasync|syncfs)$/ {s += $(NF-1)} END {print s+0}' "$1"
  fi
}

sink_port=$(free_port)
smtp-sink -u nobody "127.0.0.1:$sink_port" 1024 </dev/null >/dev/null 2>&1 &

# --- (a) referentd ------------------------------------------------------------------------
write_config() {  # DIR MAX_MESSAGE_SIZE
  cat > "$1/referent.yaml" <<YAML
gateway:
  hostname: bench.mairie-exemple.fr
  listen: [{ address: 127.0.0.1, port: 0, protocol: smtp, role: public }]
  spool: $1/spool
  secret_files: [$1/secret.key]
  processor_workers: 2
  processor_batch: $batch
  limits: { max_connections_per_ip: 200, min_free_space: 0, max_notices_per_day: 1000, max_message_size: $2 }
store: { sqlite: $1/referent.db }
ops: { metrics_listen: "" }
relay: { url: "smtp://127.0.0.1:$sink_port", starttls: never, workers: 4 }
organisation: { name: Bench, citizen_domain: mairie-exemple.fr, agent_domain: referent.mairie-exemple.fr, templates: $PWD/templates }
services:
  - { id: etat-civil, name: Etat civil, address: etat-civil@mairie-exemple.fr, case_prefix: EC, agents: [agent] }
agents:
  - { id: agent, name: Agent, email: agent@agents.mairie-exemple.fr, max_open_cases: 1000000 }
YAML
  "$ctl" keygen "$1/secret.key" >/dev/null
}

ref_start() {  # DIR [MAX_MESSAGE_SIZE] → ref_wrap (counter or referentd), ref_pid, port
  local d=$1
  mkdir -p "$d"; write_config "$d" "${2:-26214400}"
  # shellcheck disable=SC2046
  $(counter "$d/flushes") "$bin" -c "$d/referent.yaml" 2>"$d/log" </dev/null &
  ref_wrap=$!
  ref_pid=$ref_wrap
  for _ in $(seq 600); do
    if [ "$use_perf" = 1 ]; then ref_pid=$(pgrep -P "$ref_wrap" || echo "$ref_wrap"); fi
    grep -q ' ready' "$d/log" 2>/dev/null && break
    sleep 0.05
  done
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$d/log" | head -n1)
  [ -n "$port" ] || { cat "$d/log" >&2; echo "bench: referentd did not start" >&2; exit 1; }
}

ref_stop() {  # → ref_rss: peak RSS (KiB); not in a subshell: it waits for its child
  ref_rss=$(awk '/^VmHWM/ {print $2}' "/proc/$ref_pid/status" 2>/dev/null || echo nan)
  ref_rss=${ref_rss:-nan}
  kill -TERM "$ref_pid"; wait "$ref_wrap" || true
}

ref_drained() {
  [ -z "$(find "$1/spool/incoming" "$1/spool/outgoing" -type f -name '*.*' ! -name '.*' -print -quit)" ]
}

# --- (b) Postfix --------------------------------------------------------------------------
pf_start() {  # DIR → pf_wrap, port
  local d=$1
  port=$(free_port)
  mkdir -p "$d/etc" "$d/queue" "$d/data"
  chmod 755 "$d" "$d/queue"; chown postfix:postfix "$d/data"; chmod 700 "$d/data"
  for f in main master; do
    sed "s|@DIR@|$d|g; s|@PORT@|$port|g; s|@SINK@|$sink_port|g" "bench/postfix/$f.cf.in" > "$d/etc/$f.cf"
  done
  postfix -c "$d/etc" check || { cat "$d/maillog" >&2 2>/dev/null; echo "bench: postfix check failed" >&2; exit 1; }
  # shellcheck disable=SC2046
  $(counter "$d/flushes") postfix -c "$d/etc" start-fg </dev/null >"$d/start.out" 2>&1 &
  pf_wrap=$!
  for _ in $(seq 600); do greets "$port" && return; sleep 0.1; done
  cat "$d/start.out" "$d/maillog" >&2 2>/dev/null; echo "bench: Postfix did not start" >&2; exit 1
}

pf_stop() {  # DIR
  postfix -c "$1/etc" stop >/dev/null 2>&1 || true
  wait "$pf_wrap" || true
}

pf_drained() {
  [ -z "$(find "$1/queue/incoming" "$1/queue/active" "$1/queue/deferred" "$1/queue/maildrop" \
          "$1/queue/hold" -type f -print -quit)" ]
}

# --- one loaded run -----------------------------------------------------------------------
load() {  # SYSTEM(a|b) DIR N SIZE → "accepted delivered flushes_per_message peak_rss_kib"
  local sys=$1 d=$2 n=$3 sz=$4 t0 t1 t2 limit rss=nan flushes
  if [ "$sys" = a ]; then ref_start "$d"; else pf_start "$d"; fi
  t0=$(now)
  smtp-source -s "$sessions" -m "$n" -l "$sz" -M bench.example.org \
    -f citizen@example.org -t etat-civil@mairie-exemple.fr "127.0.0.1:$port" </dev/null
  t1=$(now)
  limit=$(( $(date +%s) + drain_timeout ))
  until { [ "$sys" = a ] && ref_drained "$d"; } || { [ "$sys" = b ] && pf_drained "$d"; }; do
    [ "$(date +%s)" -lt "$limit" ] || { echo "bench: $sys did not drain in ${drain_timeout}s" >&2; exit 1; }
    sleep 0.02
  done
  t2=$(now)
  if [ "$sys" = a ]; then ref_stop; rss=$ref_rss; else pf_stop "$d"; fi
  flushes=$(flush_count "$d/flushes")
  [ "$flushes" = nan ] || flushes=$(calc "$flushes / $n")
  echo "$(calc "$n / ($t1 - $t0)") $(calc "$n / ($t2 - $t0)") $flushes $rss"
}

declare -A res  # "<part> <sys> <field>" → space-separated values over rounds
add() { res["$1"]+="$2 "; }
med() { tr ' ' '\n' <<<"${res[$1]:-}" | grep -v '^$' | grep -v nan | median; }

loaded_part() {  # PART N SIZE
  local part=$1 n=$2 sz=$3 r order sys a e f m
  for r in $(seq 1 "$rounds"); do
    order="a b"; [ $((r % 2)) -eq 0 ] && order="b a"
    for sys in $order; do
      read -r a e f m < <(load "$sys" "$work/$part-r$r-$sys" "$n" "$sz")
      add "$part $sys acc" "$a"; add "$part $sys del" "$e"; add "$part $sys fl" "$f"; add "$part $sys rss" "$m"
      printf '%-5s round %d %-8s %7.0f msg/s accepted %7.0f msg/s delivered  %6.3f flushes/msg\n' \
        "$part" "$r" "$([ "$sys" = a ] && echo referentd || echo postfix)" "$a" "$e" "$f" >&2
      rm -rf "$work/$part-r$r-$sys"
    done
  done
}

light_part() {
  local r order sys mode pace p50 p99 mean count d busy0 all0 busy1 all1
  for r in $(seq 1 "$rounds"); do
    order="a b"; [ $((r % 2)) -eq 0 ] && order="b a"
    for mode in paced b2b; do
      pace=$([ $mode = paced ] && echo "$light_pace" || echo 0)
      for sys in $order; do
        d="$work/light-$mode-r$r-$sys"
        if [ "$sys" = a ]; then ref_start "$d"; else pf_start "$d"; fi
        read -r busy0 all0 < <(cpu_ticks)
        read -r p50 p99 mean count < <(python3 bench/smtp_latency.py 127.0.0.1 "$port" \
          --count "$light" --size "$size" --pace "$pace")
        read -r busy1 all1 < <(cpu_ticks)
        if [ "$sys" = a ]; then ref_stop; else pf_stop "$d"; fi
        add "$mode $sys p50" "$p50"; add "$mode $sys p99" "$p99"
        add "$mode $sys rate" "$(calc "1000 / $mean")"
        add "$mode $sys cpu" "$(calc "100 * ($busy1 - $busy0) / ($all1 - $all0)")"
        printf 'light %-6s round %d %-8s p50 %6.2f ms  p99 %6.2f ms  (%d transactions, CPU %.0f %%)\n' \
          "$mode" "$r" "$([ "$sys" = a ] && echo referentd || echo postfix)" "$p50" "$p99" "$count" \
          "$(calc "100 * ($busy1 - $busy0) / ($all1 - $all0)")" >&2
        rm -rf "$d"
      done
    done
  done
}

memory_part() {
  local d="$work/memory" t0 t1 rss
  ref_start "$d" $((mem_size + (1 << 20)))
  t0=$(now)
  # Not smtp-source: it writes each session's message whole before it serves the next one.
  python3 bench/concurrent_data.py 127.0.0.1 "$port" --sessions "$mem_sessions" \
    --size "$mem_size" >/dev/null
  until ref_drained "$d"; do sleep 0.1; done
  t1=$(now)
  ref_stop; rss=$ref_rss
  add "memory a rss" "$rss"
  printf 'memory %d x %d octets: peak RSS %d KiB, drained in %.1f s\n' "$mem_sessions" "$mem_size" \
    "$rss" "$(calc "$t1 - $t0")" >&2
  rm -rf "$d"
}

strace_count() {  # SIZE → flushes per message on one extra untimed run of COUNT_MESSAGES (no perf)
  local d="$work/count" n=$count_messages
  mkdir -p "$d"; write_config "$d" 26214400
  strace -f -c -o "$d/flushes" -e trace=fsync,fdatasync,syncfs "$bin" -c "$d/referent.yaml" 2>"$d/log" </dev/null &
  ref_wrap=$!; ref_pid=$ref_wrap
  for _ in $(seq 600); do grep -q ' ready' "$d/log" 2>/dev/null && break; sleep 0.05; done
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$d/log" | head -n1)
  smtp-source -s "$sessions" -m "$n" -l "$1" -M bench.example.org \
    -f citizen@example.org -t etat-civil@mairie-exemple.fr "127.0.0.1:$port" </dev/null
  until ref_drained "$d"; do sleep 0.05; done
  kill -TERM "$ref_pid"; wait "$ref_wrap" || true
  calc "$(flush_count "$d/flushes") / $n"
}

started=$(date -u +%Y-%m-%dT%H:%MZ)
[[ $skip == *" small "* ]] || loaded_part small "$messages" "$size"
[[ $skip == *" big "* ]] || loaded_part big "$big_messages" "$big_size"
[[ $skip == *" light "* ]] || light_part
[[ $skip == *" memory "* ]] || memory_part
if [ "$use_perf" = 0 ] && [[ $skip != *" small "* ]]; then
  res["small a fl"]="$(strace_count "$size") "
fi

ratio() { local x y; x=$1; y=$2; if [ "$x" = nan ] || [ "$y" = nan ]; then echo nan; else calc "$x / $y"; fi; }
verdict() { if [ "$1" = nan ]; then echo "n/a"; elif [ "$(calc "$1")" = 1 ]; then echo met; else echo "NOT met"; fi; }

echo
echo "bench/throughput.sh — started $started; $(nproc) cores; $(uname -r); $(postconf -d -h mail_version 2>/dev/null | sed 's/^/Postfix /')"
echo "load: smtp-source, $sessions sessions; medians over $rounds rounds (a/b alternating); relay: smtp-sink"
echo "referentd: processor_batch $batch, processor_workers 2, relay.workers 4; each message makes a forward and an acknowledgement"
echo "flush counting: $([ "$use_perf" = 1 ] && echo "perf tracepoints, during the timed runs" || echo "strace -f -c on a separate run of $count_messages messages")"
for part in small big; do
  [[ $skip == *" $part "* ]] && continue
  if [ $part = small ]; then n=$messages sz=$size; else n=$big_messages sz=$big_size; fi
  echo
  printf '%d messages of %d octets\n' "$n" "$sz"
  for sys in a b; do
    printf '  %-9s %7.0f msg/s accepted  %7.0f msg/s delivered  %6s flushes/msg  peak RSS %s KiB\n' \
      "$([ "$sys" = a ] && echo referentd || echo postfix)" "$(med "$part $sys acc")" "$(med "$part $sys del")" \
      "$(printf '%.3f' "$(med "$part $sys fl")" 2>/dev/null || echo n/a)" "$([ "$sys" = a ] && med "$part $sys rss" || echo -)"
  done
  ra=$(ratio "$(med "$part a acc")" "$(med "$part b acc")"); rd=$(ratio "$(med "$part a del")" "$(med "$part b del")")
  want=$([ $part = small ] && echo 1.5 || echo 1.0)
  printf '  ratio referentd/postfix: accepted %.2f, delivered %.2f (target >= %s: %s)\n' "$ra" "$rd" "$want" \
    "$(verdict "$rd >= $want")"
done
if [[ $skip != *" small "* ]]; then
  fl=$(med "small a fl")
  printf 'referentd flushes per message under load (%d octets): %.3f (target < 0.2: %s)\n' "$size" "$fl" "$(verdict "$fl < 0.2")"
fi
if [[ $skip != *" light "* ]]; then
  echo
  printf 'light load, 1 session, %d transactions of %d octets, one every %s ms (MAIL FROM to 250 after DATA)\n' \
    "$light" "$size" "$light_pace"
  for sys in a b; do
    printf '  %-9s p50 %7.2f ms  p99 %7.2f ms  machine CPU busy %3.0f %%\n' \
      "$([ "$sys" = a ] && echo referentd || echo postfix)" \
      "$(med "paced $sys p50")" "$(med "paced $sys p99")" "$(med "paced $sys cpu")"
  done
  printf '  p99 referentd <= postfix: %s\n' "$(verdict "$(med "paced a p99") <= $(med "paced b p99")")"
  echo 'the same session back to back (each server at its own pace: not a light load; no target)'
  for sys in a b; do
    printf '  %-9s p50 %7.2f ms  p99 %7.2f ms  at %4.0f transactions/s (1 / mean time)  machine CPU busy %3.0f %%\n' \
      "$([ "$sys" = a ] && echo referentd || echo postfix)" \
      "$(med "b2b $sys p50")" "$(med "b2b $sys p99")" "$(med "b2b $sys rate")" "$(med "b2b $sys cpu")"
  done
fi
if [[ $skip != *" memory "* ]]; then
  echo
  rss=$(med "memory a rss")
  printf 'memory: %d concurrent messages of %d octets into referentd: peak RSS %d KiB (%.0f MiB; target <= 256 MiB: %s)\n' \
    "$mem_sessions" "$mem_size" "$rss" "$(calc "$rss / 1024")" "$(verdict "$rss <= 262144")"
fi
