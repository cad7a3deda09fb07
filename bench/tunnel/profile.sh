#!/usr/bin/env bash
# Where the tunnel's CPU goes, on a set-up left by `KEEP=1 HOLD=SECONDS bench/tunnel/run.sh` (it
# writes the pids and entry ports to $W/hold.env). For each path through the gateway (the agent's
# HTTP/2 connection, socat + stunnel's HTTP/1.1 CONNECT): iperf3 through it, and the gateway's and
# the agent's CPU (utime + stime, /proc/PID/stat) and read/write system calls (/proc/PID/io) per MiB
# received. With JFR=1, then records the gateway and the agent with JFR during a single agent stream
# and prints their hottest methods.
# Usage: bench/tunnel/profile.sh W [SECONDS=8]
set -euo pipefail
W=$1; SECS=${2:-8}
# shellcheck disable=SC1091
. "$W/hold.env"
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
HZ=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
io() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/io"; }
run() { # name port streams
  local g0 a0 r0 w0 g1 a1 r1 w1 mib
  g0=$(ticks "$GW_PID"); a0=$(ticks "$AGENT_PID"); r0=$(io "$GW_PID" syscr); w0=$(io "$GW_PID" syscw)
  iperf3 -c 127.0.0.1 -p "$2" -t "$SECS" -P "$3" -J > "$W/prof-iperf.json" 2> "$W/prof-iperf.err" || { echo "$1 P=$3: iperf3 failed: $(cat "$W/prof-iperf.err")"; return; }
  g1=$(ticks "$GW_PID"); a1=$(ticks "$AGENT_PID"); r1=$(io "$GW_PID" syscr); w1=$(io "$GW_PID" syscw)
  # iperf3 3.12 may print a warning line before its JSON, on stdout
  mib=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])["end"]["sum_received"]["bytes"] / 1048576)' "$W/prof-iperf.json") \
    || { echo "$1 P=$3: no iperf3 result: $(head -c 300 "$W/prof-iperf.json")"; return; }
  grep -q WARNING "$W/prof-iperf.json" && echo "$1 P=$3: $(grep -m1 WARNING "$W/prof-iperf.json")"
  awk -v n="$1" -v s="$3" -v m="$mib" -v t="$SECS" -v g=$((g1 - g0)) -v a=$((a1 - a0)) -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v hz="$HZ" 'BEGIN {
    printf "%-16s P=%d %6.2f Gbit/s  gateway %6.2f ms/MiB (%.0f%% cpu)  agent %6.2f ms/MiB (%.0f%% cpu)  gateway syscalls/MiB read %.1f write %.1f\n",
      n, s, m * 8 * 1048576 / t / 1e9, g * 1000 / hz / m, g * 100 / hz / t, a * 1000 / hz / m, a * 100 / hz / t, r / m, w / m }'
}
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
iperf3 -c 127.0.0.1 -p "$A_IPERF" -t 2 > /dev/null || true; iperf3 -c 127.0.0.1 -p "$C_PG_IPERF" -t 2 > /dev/null || true   # warm-up (JIT)
for i in 1 2; do
  run agent-h2 "$A_IPERF" 1
  run socat-stunnel-h1 "$C_PG_IPERF" 1
done
run agent-h2 "$A_IPERF" 8
run socat-stunnel-h1 "$C_PG_IPERF" 8
if [ -n "${JFR:-}" ]; then
  for p in "$GW_PID" "$AGENT_PID"; do "$JAVA_HOME/bin/jcmd" "$p" JFR.start name=prof settings=profile duration="$((SECS + 1))s" filename="$W/prof-$p.jfr" > /dev/null; done
  iperf3 -c 127.0.0.1 -p "$A_IPERF" -t "$SECS" > /dev/null
  sleep 3
  for p in "$GW_PID" "$AGENT_PID"; do
    [ "$p" = "$GW_PID" ] && echo "== gateway hot methods" || echo "== agent hot methods"
    "$JAVA_HOME/bin/jfr" view --width 160 hot-methods "$W/prof-$p.jfr" | head -35
  done
fi
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
