#!/usr/bin/env bash
# Memory of the long-running `postern-agent up` (issue: idle RSS <= 48 MiB), with its throughput: a
# real gateway (`postern gateway run`, a fresh CA from `postern pki init`), one laptop enrolled over
# EST with the real `postern-agent enroll`, then the real `postern-agent up` (through the launcher,
# with its JVM options) with a port forward to an iperf3 server on loopback. For each VARIANT (extra
# JVM options appended to the launcher's; the JVM keeps the last of a repeated option), in turn
# against the same gateway: RSS 20 s after the lease, then ROUNDS x (iperf3 -t SECONDS through the
# forward, 1 stream and 8 streams, the agent's peak RSS during the 8-stream run), then RSS idle again.
# With NMT=1 each agent also runs with -XX:NativeMemoryTracking=summary and the script prints
# jcmd VM.native_memory summary, GC.heap_info and /proc/PID/smaps_rollup at the idle point (NMT
# itself costs some RSS: take the RSS figures from a run without it).
# Usage: bench/agent/up-rss.sh [ROUNDS=3] [SECONDS=5] [VARIANT...]   (VARIANT: "label=[NAME=value...] JVM options",
#   leading NAME=value words go to the agent's environment), e.g.
#   bench/agent/up-rss.sh 3 5 "launcher=" "glibc=MALLOC_ARENA_MAX=8 -Xmx64m"
# Environment: NMT=1 (see above), KEEP=1 (keep the work directory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROUNDS=${1:-3}; SECS=${2:-5}; shift $(( $# < 2 ? $# : 2 ))
VARIANTS=("$@"); [ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=("launcher=")
for t in iperf3 python3 openssl; do
  command -v "$t" >/dev/null || { echo "up-rss.sh: $t not found (apt-get install iperf3 python3 openssl)" >&2; exit 1; }
done

# the launchers build the jars when they are missing or older than the sources
POSTERN=./postern; AGENT=./postern-agent
./postern-agent --version > /dev/null
# jcmd of the JDK 25 the launcher runs (bin/find-jdk)
. bin/find-jdk
JCMD="$(postern_find_jdk25)/bin/jcmd"

W=$(mktemp -d "${TMPDIR:-/tmp}/postern-up-rss.XXXX")
PIDS=(); AGENT_PID=
cleanup() {
  [ -z "$AGENT_PID" ] || kill "$AGENT_PID" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5; [ -n "${KEEP:-}" ] && echo "work directory kept: $W" || rm -rf "$W"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # file pattern seconds what
  for _ in $(seq $(( $3 * 2 ))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done
  echo "up-rss.sh: $4 did not get there within $3 s:" >&2; tail -n 30 "$1" >&2; exit 1
}
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
threads() { awk '/^Threads/ { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "none") }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

export POSTERN_CA_PASSPHRASE="up-rss-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DATA="$W/data"
$POSTERN pki init --dir "$DATA" --name "Postern Agent RSS" > "$W/pki-init.out"
ROOT_SHA=$(sed -n 's/.*root SHA-256.*: \([0-9a-f]\{64\}\)$/\1/p' "$W/pki-init.out")
[ -n "$ROOT_SHA" ] || { echo "up-rss.sh: no root SHA-256 in the output of pki init:" >&2; cat "$W/pki-init.out" >&2; exit 1; }

IPERF=$(port); GW=$(port); ADMIN=$(port); SSH=$(port)
iperf3 -s -B 127.0.0.1 -p "$IPERF" > "$W/iperf3.log" 2>&1 & PIDS+=($!)
cat > "$W/gateway.yaml" <<YAML
gateway:
  id: up-rss
dataDir: $DATA
listeners:
  tunnel: 127.0.0.1:$GW
  admin: 127.0.0.1:$ADMIN
  ssh: 127.0.0.1:$SSH
posture:
  mode: report-only     # this machine's own posture does not matter here; report-only still grants the lease
access:
  rules:
    - name: iperf
      groups: [bench]
      to: ["127.0.0.1:$IPERF"]
YAML
$POSTERN gateway run --config "$W/gateway.yaml" > "$W/gw.out" 2> "$W/gw.err" & PIDS+=($!)
wait_for "$W/gw.out" 'listening on' 180 "the gateway"

n=0
for variant in "${VARIANTS[@]}"; do
  n=$((n + 1)); label=${variant%%=*}; opts=${variant#*=}; envs=()
  while [[ "$opts" =~ ^\ *([A-Z_]+=[^ ]*)\ *(.*)$ ]]; do envs+=("${BASH_REMATCH[1]}"); opts=${BASH_REMATCH[2]}; done   # leading NAME=value: environment
  [ -z "${NMT:-}" ] || opts="$opts -XX:NativeMemoryTracking=summary"
  H="$W/agent-$n"
  $POSTERN pki device add "laptop-$n" --dir "$DATA" --owner "bench" --groups bench --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' > "$W/token-$n"
  $AGENT enroll --home "$H" --gateway "https://127.0.0.1:$GW" --token-file "$W/token-$n" --ca-sha256 "$ROOT_SHA" > "$W/enroll-$n.log" 2>&1 \
    || { echo "up-rss.sh: postern-agent enroll failed:" >&2; cat "$W/enroll-$n.log" >&2; exit 1; }
  FWD=$(port)
  cat > "$H/agent.yaml" <<YAML
socks:
  listen: 127.0.0.1:$(port)
forwards:
  - listen: 127.0.0.1:$FWD
    to: 127.0.0.1:$IPERF
YAML
  # the launcher execs java, so $! is the JVM
  env "${envs[@]}" POSTERN_JAVA_OPTS="$opts" $AGENT up --home "$H" --config "$H/agent.yaml" > "$W/agent-$n.log" 2>&1 & AGENT_PID=$!
  wait_for "$W/agent-$n.log" 'posture (accepted|NOT compliant, allowed)' 180 "postern-agent up"
  # no probe of the forward: an empty connection would reach iperf3's server as a test that never starts
  grep -q "listening on 127.0.0.1:$FWD" "$W/agent-$n.log" || { echo "up-rss.sh: the agent's forward is not listening:" >&2; cat "$W/agent-$n.log" >&2; exit 1; }
  echo "== $label: ${envs[*]} postern-agent up $(tr '\0' ' ' < "/proc/$AGENT_PID/cmdline" | sed 's/ -cp .*//; s/^[^ ]*java //')"
  sleep 20
  echo "idle.20s_after_lease rss=$(mib "$(rss_kib "$AGENT_PID")")MiB threads=$(threads "$AGENT_PID")"
  if [ -n "${NMT:-}" ]; then
    grep -E '^(Rss|Pss_Anon|Pss_File|Anonymous)' "/proc/$AGENT_PID/smaps_rollup" | tr -s ' ' | paste -sd' '
    "$JCMD" "$AGENT_PID" GC.heap_info | sed 1d
    echo "threads: $(ls "/proc/$AGENT_PID/task" | while read -r t; do cat "/proc/$AGENT_PID/task/$t/comm"; done | sort | uniq -c | awk '{ printf "%s%s ", $2, ($1 > 1 ? "x" $1 : "") }')"
    echo "classes loaded, by package: $("$JCMD" "$AGENT_PID" VM.classes | awk 'NR > 2 && $NF ~ /\./ { split($NF, p, "."); k = p[1] "." p[2]; if (p[1] == "org" || p[1] == "io" || p[1] == "com") k = k "." p[3]; n[k]++ } END { for (k in n) print n[k], k }' | sort -rn | head -12 | awk '{ printf "%s %s, ", $2, $1 }')"
    "$JCMD" "$AGENT_PID" VM.native_memory summary | sed -n '/^Total/,$p' | grep -E '^(Total|-)'
  fi
: > "$W/gbps-$n-1"; : > "$W/gbps-$n-8"; : > "$W/peak-$n-8"
  iperf3 -c 127.0.0.1 -p "$FWD" -t 1 > /dev/null || { echo "warm-up iperf3 through the agent failed"; sleep 5; }   # warm-up (JIT, pools)
  for r in $(seq "$ROUNDS"); do
    for streams in 1 8; do
      iperf3 -c 127.0.0.1 -p "$FWD" -t "$SECS" -P "$streams" -J > "$W/iperf.json" 2>&1 & ip=$!
      peak=0
      while kill -0 "$ip" 2>/dev/null; do k=$(rss_kib "$AGENT_PID"); [ "$k" -gt "$peak" ] && peak=$k; sleep 0.2; done
      # a failed run is left out of the medians and counted (the agent reconnects by itself)
      g=failed
      if wait "$ip"; then
        g=$(python3 -c 'import json,sys
try: print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: print("failed")' "$W/iperf.json")
      fi
      if [ "$g" != failed ]; then
        echo "$g" >> "$W/gbps-$n-$streams"; echo "$peak" >> "$W/peak-$n-$streams"
      else
        echo "$streams" >> "$W/failed-$n"
        echo "iperf3 through the agent failed: $(grep -m1 -o '"error":.*' "$W/iperf.json" || head -c 200 "$W/iperf.json"); agent: $(grep -E 'lost|reconnect' "$W/agent-$n.log" | tail -1)"
        sleep 5
      fi
      echo "round $r: $streams stream(s) ${g} Gbit/s, agent peak rss=$(mib "$peak")MiB threads=$(threads "$AGENT_PID")"
    done
  done
  sleep 5
  echo "idle.after_traffic rss=$(mib "$(rss_kib "$AGENT_PID")")MiB threads=$(threads "$AGENT_PID")"
  if [ -n "${NMT:-}" ]; then
    "$JCMD" "$AGENT_PID" VM.native_memory summary | sed -n '/^Total/,$p' | grep -E '^(Total|-)'
  fi
  echo "summary $label: 1 stream median $(median < "$W/gbps-$n-1") Gbit/s ($(sort -n "$W/gbps-$n-1" | paste -sd' ')), 8 streams median $(median < "$W/gbps-$n-8") Gbit/s ($(sort -n "$W/gbps-$n-8" | paste -sd' ')), peak rss during 8 streams $(mib "$(sort -n "$W/peak-$n-8" | tail -1)")MiB, failed runs $(cat "$W/failed-$n" 2>/dev/null | wc -l)"
  kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
