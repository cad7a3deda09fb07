#!/usr/bin/env bash
# VPN benchmark, side by side in one run (issue 13): Postern's VPN mode against wireguard-go
# (userspace WireGuard), OpenVPN 2.6 (UDP, AES-256-GCM) and ocserv + openconnect (DTLS), each in
# turn over the same three network namespaces (bench/vpn/topology.sh: laptop ─ gw ─ admin, plain
# veth, MTU 1500). For each contender: ping RTT p50/p99 to the admin host through the tunnel,
# iperf3 TCP with 1 and 8 streams, iperf3 UDP at 64- and 1,400-byte payloads as fast as the client
# can send (received packets/s and loss), and the CPU time of the gateway-side process(es) per
# GiB of the TCP runs. Prints a table and every ratio, writes TSV and JSON under bench/vpn/results/.
# Usage (root): bench/vpn/run.sh [CONTENDER...]   (default: wg openvpn ocserv postern)
# Environment: SECONDS_PER_RUN=10 (each iperf3 run), PINGS=500 (echo requests, 2 ms apart),
# TIMEOUT=900 (the whole run, seconds), KEEP=1 (keep the work directory with every log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
HERE=$PWD
CONTENDERS=(wg openvpn ocserv postern)
SECS=${SECONDS_PER_RUN:-10}; PINGS=${PINGS:-500}; TIMEOUT=${TIMEOUT:-900}
for v in SECS PINGS TIMEOUT; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: $v: expected a positive whole number, found '${!v}'" >&2; exit 2; }
done
[ "$SECS" -le 120 ] && [ "$PINGS" -le 10000 ] || { echo "run.sh: expected SECONDS_PER_RUN ≤ 120 and PINGS ≤ 10000" >&2; exit 2; }
if [ $# -gt 0 ]; then SELECTED=("$@"); else SELECTED=("${CONTENDERS[@]}"); fi
for c in "${SELECTED[@]}"; do
  [[ " ${CONTENDERS[*]} " == *" $c "* ]] || { echo "run.sh: unknown contender '$c': expected some of ${CONTENDERS[*]}" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces, TUN devices)" >&2; exit 1; }
[ -c /dev/net/tun ] || { echo "run.sh: /dev/net/tun is missing (the tunnels are TUN devices)" >&2; exit 1; }

# shellcheck source=topology.sh
source "$HERE/topology.sh"
# shellcheck source=contenders.sh
source "$HERE/contenders.sh"
need=(ip:iproute2 iperf3:iperf3 ping:iputils-ping python3:python3 timeout:coreutils)
for c in "${SELECTED[@]}"; do read -r -a t <<< "$("${c}_tools")"; need+=("${t[@]}"); done
for pair in "${need[@]}"; do
  command -v "${pair%%:*}" >/dev/null || { echo "run.sh: ${pair%%:*} not found: apt-get install ${pair##*:}" >&2; exit 1; }
done

W=$(mktemp -d /dev/shm/postern-vpn-bench.XXXX)
RESULTS=$HERE/results; mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
TSV=$RESULTS/$STAMP.tsv; : > "$TSV"
topo_up
# the global deadline: this shell gets TERM (its trap tears everything down)
( trap 'kill "$s" 2>/dev/null; exit 0' TERM; sleep "$TIMEOUT" & s=$!; wait "$s" || exit 0
  echo "run.sh: the whole run took longer than $TIMEOUT s: stopping" >&2; kill -TERM $$ ) &
TOPO_PIDS+=($!)
CLK_TCK=$(getconf CLK_TCK)
put() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$TSV"; }
ticks() { python3 "$HERE/tools.py" ticks "$@"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "load at the start: $(cut -d' ' -f1-3 /proc/loadavg) ($(uptime))"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

measure() { # contender: everything through its standing tunnel
  local c=$1 g0 g1 l0 l1 bytes=0 b rate out
  # the tunnel must carry traffic before anything is measured (WireGuard's first handshake, …)
  for _ in $(seq 20); do in_laptop ping -c 1 -W 1 "$ADMIN_IP" > /dev/null 2>&1 && break; done
  in_laptop ping -c 1 -W 1 "$ADMIN_IP" > /dev/null 2>&1 || { echo "run.sh: $c: $ADMIN_IP unreachable through the tunnel" >&2; return 1; }
  # the first line names the device (the second, "cache", never does)
  in_laptop ip route get "$ADMIN_IP" | head -1 | grep -q 'dev inet0' && { echo "run.sh: $c: the route to $ADMIN_IP is not the tunnel" >&2; return 1; }
  echo "$c: route $(in_laptop ip route get "$ADMIN_IP" | head -1 | xargs)"
  in_laptop timeout 10 iperf3 -c "$ADMIN_IP" -t 2 > /dev/null 2>&1 || true   # warm-up

  in_laptop timeout $(( PINGS / 100 + 30 )) ping -n -c "$PINGS" -i 0.002 -W 1 "$ADMIN_IP" > "$W/$c-ping.txt" 2>&1 || true
  read -r p50 p99 loss < <(python3 "$HERE/tools.py" ping "$W/$c-ping.txt" "$PINGS")
  put "$c" ping_p50 "$p50"; put "$c" ping_p99 "$p99"; put "$c" ping_loss "$loss"
  echo "$c: ping p50=$p50 ms p99=$p99 ms loss=$loss %"

  g0=$(ticks "${GW_SIDE_PIDS[@]}"); l0=$(ticks "${LAPTOP_SIDE_PIDS[@]}")
  for streams in 1 8; do
    in_laptop timeout $(( SECS + 30 )) iperf3 -c "$ADMIN_IP" -t "$SECS" -P "$streams" -J > "$W/$c-tcp$streams.json" 2> "$W/$c-tcp$streams.err" || true
    read -r b rate < <(python3 "$HERE/tools.py" tcp "$W/$c-tcp$streams.json")
    bytes=$(( bytes + b )); put "$c" "tcp$streams" "$rate"
    echo "$c: TCP $streams stream(s) $rate Gbit/s"
  done
  g1=$(ticks "${GW_SIDE_PIDS[@]}"); l1=$(ticks "${LAPTOP_SIDE_PIDS[@]}")
  per_gib() { awk -v t="$1" -v b="$bytes" -v hz="$CLK_TCK" 'BEGIN { if (b > 0) printf "%.2f", t / hz / (b / 1073741824); else print "n/a" }'; }
  put "$c" gw_cpu_per_gib "$(per_gib $(( g1 - g0 )))"; put "$c" laptop_cpu_per_gib "$(per_gib $(( l1 - l0 )))"
  echo "$c: gateway-side CPU $(( g1 - g0 )) ticks, laptop-side $(( l1 - l0 )) ticks for $bytes bytes"

  for size in 64 1400; do
    in_laptop timeout $(( SECS + 30 )) iperf3 -c "$ADMIN_IP" -u -l "$size" -b 0 -t "$SECS" -J > "$W/$c-udp$size.json" 2> "$W/$c-udp$size.err" || true
    read -r pps loss < <(python3 "$HERE/tools.py" udp "$W/$c-udp$size.json")
    put "$c" "udp$size" "$pps"; put "$c" "udp${size}_loss" "$loss"
    echo "$c: UDP $size B $pps packets/s received, loss $loss %"
  done
}

FAILED=()
for c in "${SELECTED[@]}"; do
  echo "== $c"
  GW_SIDE_PIDS=(); LAPTOP_SIDE_PIDS=(); TUNNEL_DESC=
  if "${c}_up" && measure "$c"; then
    echo "$c: $TUNNEL_DESC"
    put "$c" tunnel "$TUNNEL_DESC"
  else
    FAILED+=("$c")
    for key in tcp1 tcp8 udp64 udp1400 ping_p50 ping_p99 gw_cpu_per_gib; do put "$c" "$key" failed; done
  fi
  "${c}_down" || true
  echo "load after $c: $(cut -d' ' -f1-3 /proc/loadavg)"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$W/meta.json" <<PY
import json, sys
json.dump({"date": "$STAMP", "cores": $(nproc), "load_start": "$LOAD_START", "load_end": "$LOAD_END",
           "seconds_per_run": $SECS, "pings": $PINGS, "failed": "${FAILED[*]}".split()}, open(sys.argv[1], "w"))
PY
echo
python3 "$HERE/tools.py" report "$TSV" "$RESULTS/$STAMP.json" "$W/meta.json"
echo "load at the end: $LOAD_END; results: $TSV, $RESULTS/$STAMP.json"
[ "${#FAILED[@]}" -eq 0 ] || { echo "run.sh: failed: ${FAILED[*]}" >&2; exit 1; }
