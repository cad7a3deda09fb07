#!/usr/bin/env bash
# Tunnel benchmark, side by side in one run on loopback (issue 4 §5): the Postern gateway (reached
# through the real agent's port forward and through socat's CONNECT over stunnel's client),
# stunnel as a mutual-TLS server (TLS 1.3, P-256 certificates from the same test PKI) and `ssh -L`
# through a loopback sshd (aes128-gcm), all in front of the same iperf3 server. Measures
# single-stream and 8-stream throughput, time from TCP connect to first byte through a fresh
# tunnel, full mTLS handshakes/s and the server's CPU per handshake (openssl s_time -new), and RSS
# per idle tunnel with IDLE tunnels open. Prints a table; docs/benchmarks.md records it.
# Usage: bench/tunnel/run.sh [SECONDS=5] [TTFB_N=200] [IDLE=5000]
# Environment: SKIP_BUILD=1 (classes already built), KEEP=1 (keep the work directory in /dev/shm),
# HOLD=SECONDS (after the set-up, print the ports and wait, e.g. to attach a profiler).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SECS=${1:-5}; TTFB_N=${2:-200}; IDLE=${3:-5000}

for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25*; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && "$candidate/bin/java" -version 2>&1 | grep -q '"25'; then
    export JAVA_HOME="$candidate"; break
  fi
done
"$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"25' || { echo "run.sh: no JDK 25 under \$JAVA_HOME or /usr/lib/jvm/*25*" >&2; exit 1; }
for t in stunnel socat iperf3 openssl ssh ssh-keygen /usr/sbin/sshd /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "run.sh: $t not found (apt-get install stunnel4 socat iperf3 openssl openssh-client openssh-server python3)" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)"   # each idle tunnel costs the gateway and stunnel two descriptors
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $(( 2 * IDLE + 1000 )) ] \
  || { echo "run.sh: the open-file limit is $(ulimit -n), $IDLE idle tunnels need $(( 2 * IDLE + 1000 ))" >&2; exit 1; }

# Test classes of the gateway module (the bench main lives there) and the agent, from the reactor.
[ -n "${SKIP_BUILD:-}" ] || ./mvnw -B -q -pl gateway,posture-agent -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
GW_CP="gateway/target/test-classes:gateway/target/classes:$(cat gateway/target/bench-classpath.txt)"
AGENT_CP="posture-agent/target/classes:$(cat posture-agent/target/bench-classpath.txt)"
TOOLS=bench/tunnel/tools.py

W=$(mktemp -d /dev/shm/postern-tunnel-bench.XXXX)
PIDS=()
cleanup() { exec 9>&- 2>/dev/null || true; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; [ -n "${KEEP:-}" ] || rm -rf "$W"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # file pattern seconds what
  for _ in $(seq $(( $3 * 2 ))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done
  echo "run.sh: $4 did not start within $3 s:" >&2; tail -n 30 "$1" >&2; exit 1
}
wait_port() { for _ in $(seq 60); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.5; done; echo "run.sh: nothing listens on $1 ($2)" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
CLK_TCK=$(getconf CLK_TCK)

IPERF=$(port); GREET=$(port); SINK=$(port); GW=$(port); SSHD=$(port)
S_IPERF=$(port); S_GREET=$(port); S_SINK=$(port)                 # stunnel server
C_ST_IPERF=$(port); C_ST_GREET=$(port)                            # stunnel client → stunnel server
C_PG_IPERF=$(port); C_PG_GREET=$(port); C_PG_TLS=$(port)         # socat CONNECT → stunnel client → Postern
A_IPERF=$(port); A_GREET=$(port)                                  # postern-agent forwards
L_IPERF=$(port); L_GREET=$(port)                                  # ssh -L

# destinations
iperf3 -s -B 127.0.0.1 -p "$IPERF" > "$W/iperf3.log" 2>&1 & PIDS+=($!)
python3 "$TOOLS" greeter "$GREET" > "$W/greeter.log" 2>&1 & PIDS+=($!)
python3 "$TOOLS" sink "$SINK" "$W/sink.count" > "$W/sink.log" 2>&1 & PIDS+=($!)

# the gateway: runs until its stdin (a fifo we hold open) closes
mkfifo "$W/gw.in"
"$JAVA_HOME/bin/java" -Dlogback.configurationFile=/dev/null -cp "$GW_CP" org.postern.gateway.relay.bench.TunnelBenchGateway \
  "$W" "$GW" < "$W/gw.in" > "$W/gw.out" 2>"$W/gw.err" & GW_PID=$!; PIDS+=($GW_PID)
exec 9>"$W/gw.in"
wait_for "$W/gw.out" '^ready' 120 "the gateway"

# stunnel server (mTLS, TLS 1.3, the same CA's P-256 server certificate) and stunnel client
cat > "$W/stunnel-server.conf" <<CONF
foreground = yes
pid =
output = $W/stunnel-server.log
debug = err
cert = $W/server.crt
key = $W/server.key
CAfile = $W/root.pem
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.3
[iperf]
accept = 127.0.0.1:$S_IPERF
connect = 127.0.0.1:$IPERF
[greet]
accept = 127.0.0.1:$S_GREET
connect = 127.0.0.1:$GREET
[sink]
accept = 127.0.0.1:$S_SINK
connect = 127.0.0.1:$SINK
CONF
cat > "$W/stunnel-client.conf" <<CONF
foreground = yes
pid =
output = $W/stunnel-client.log
debug = err
client = yes
cert = $W/device.crt
key = $W/device.key
CAfile = $W/root.pem
verifyChain = yes
sslVersionMin = TLSv1.3
[st-iperf]
accept = 127.0.0.1:$C_ST_IPERF
connect = 127.0.0.1:$S_IPERF
[st-greet]
accept = 127.0.0.1:$C_ST_GREET
connect = 127.0.0.1:$S_GREET
[postern]
accept = 127.0.0.1:$C_PG_TLS
connect = 127.0.0.1:$GW
CONF
stunnel "$W/stunnel-server.conf" > "$W/stunnel-server.err" 2>&1 & ST_PID=$!; PIDS+=($ST_PID)
stunnel "$W/stunnel-client.conf" > "$W/stunnel-client.err" 2>&1 & PIDS+=($!)
# stunnel's `protocol = connect` sends CONNECT in clear text before TLS (it crosses a plain HTTP
# proxy), so it cannot talk to a TLS proxy; socat's PROXY address sends the CONNECT instead, through
# stunnel's client (plain → mutual TLS to the gateway): a fresh TLS connection per tunnel.
for pair in "$C_PG_IPERF:$IPERF" "$C_PG_GREET:$GREET"; do
  socat "TCP-LISTEN:${pair%%:*},bind=127.0.0.1,fork,reuseaddr" "PROXY:127.0.0.1:127.0.0.1:${pair##*:},proxyport=$C_PG_TLS" \
    2>>"$W/socat.log" & PIDS+=($!)
done

# sshd and ssh -L (aes128-gcm, no compression)
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$W/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$W/user_key"
cp "$W/user_key.pub" "$W/authorized_keys"
cat > "$W/sshd.conf" <<CONF
ListenAddress 127.0.0.1
HostKey $W/host_key
PidFile $W/sshd.pid
AuthorizedKeysFile $W/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
CONF
/usr/sbin/sshd -D -e -f "$W/sshd.conf" -p "$SSHD" 2>"$W/sshd.log" & PIDS+=($!)
wait_port "$SSHD" sshd
echo "[127.0.0.1]:$SSHD $(cut -d' ' -f1,2 "$W/host_key.pub")" > "$W/known_hosts"
ssh -N -o BatchMode=yes -o UserKnownHostsFile="$W/known_hosts" -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes \
  -o Ciphers=aes128-gcm@openssh.com -o Compression=no -o ExitOnForwardFailure=yes -i "$W/user_key" -p "$SSHD" \
  -L "127.0.0.1:$L_IPERF:127.0.0.1:$IPERF" -L "127.0.0.1:$L_GREET:127.0.0.1:$GREET" root@127.0.0.1 2>"$W/ssh.log" & PIDS+=($!)

# the real agent: enrolled over EST with the one-time token, then `up` with two port forwards.
# The same JVM options as the postern-agent launcher (C1 only, Serial GC, MaxRAM 256m); `up` gets C2 as there.
AGENT_JVM=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -XX:MaxRAM=256m -Dlogback.configurationFile=postern-agent-logback.xml)
AGENT_UP_JVM=("${AGENT_JVM[@]:1}")
"$JAVA_HOME/bin/java" "${AGENT_JVM[@]}" -cp "$AGENT_CP" org.postern.agent.cli.AgentCommand --home "$W/agent" enroll \
  --gateway "https://127.0.0.1:$GW" --token-file "$W/agent.token" --ca-sha256 "$(cat "$W/root.sha256")" > "$W/enroll.log" 2>&1 \
  || { echo "run.sh: postern-agent enroll failed:" >&2; cat "$W/enroll.log" >&2; exit 1; }
cat > "$W/agent.yaml" <<YAML
socks:
  listen: 127.0.0.1:$(port)
forwards:
  - listen: 127.0.0.1:$A_IPERF
    to: 127.0.0.1:$IPERF
  - listen: 127.0.0.1:$A_GREET
    to: 127.0.0.1:$GREET
YAML
"$JAVA_HOME/bin/java" "${AGENT_UP_JVM[@]}" -cp "$AGENT_CP" org.postern.agent.cli.AgentCommand --home "$W/agent" up \
  --config "$W/agent.yaml" > "$W/agent.log" 2>&1 & AGENT_PID=$!; PIDS+=($AGENT_PID)
wait_for "$W/agent.log" 'posture (accepted|NOT compliant, allowed)' 120 "postern-agent up"
for p in "$C_ST_IPERF" "$C_PG_IPERF" "$L_IPERF" "$A_IPERF" "$S_SINK"; do wait_port "$p" "a tunnel entry"; done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); $(stunnel -version 2>&1 | grep -m1 '^stunnel'); $(openssl version); $(ssh -V 2>&1); $(iperf3 --version | head -1)"
declare -A R
if [ -n "${HOLD:-}" ]; then
  printf 'GW_PID=%s\nAGENT_PID=%s\nA_IPERF=%s\nC_PG_IPERF=%s\nC_ST_IPERF=%s\nA_GREET=%s\n' \
    "$GW_PID" "$AGENT_PID" "$A_IPERF" "$C_PG_IPERF" "$C_ST_IPERF" "$A_GREET" > "$W/hold.env"
  echo "holding: W=$W GW=$GW GREET=$GREET C_PG_GREET=$C_PG_GREET (pids and entry ports in $W/hold.env)"; sleep "$HOLD"
fi

gbps() { # port streams -> Gbit/s received (iperf3 through the entry port)
  iperf3 -c 127.0.0.1 -p "$1" -t "$SECS" -P "$2" -J > "$W/iperf.json" 2> "$W/iperf.err" || { echo "run.sh: iperf3 through port $1 failed: $(grep -m1 error "$W/iperf.json" "$W/iperf.err")" >&2; echo failed; return; }
  # iperf3 3.12 may print a warning line before its JSON, on stdout
  python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print("%.2f" % (json.loads(t[t.index("{"):])["end"]["sum_received"]["bits_per_second"] / 1e9))' "$W/iperf.json"
}
PATHS=(agent stunnel-connect stunnel ssh)
declare -A ENTRY_IPERF=([agent]=$A_IPERF [stunnel-connect]=$C_PG_IPERF [stunnel]=$C_ST_IPERF [ssh]=$L_IPERF)
declare -A ENTRY_GREET=([agent]=$A_GREET [stunnel-connect]=$C_PG_GREET [stunnel]=$C_ST_GREET [ssh]=$L_GREET)
for p in "${PATHS[@]}"; do iperf3 -c 127.0.0.1 -p "${ENTRY_IPERF[$p]}" -t 1 > /dev/null || { echo "run.sh: iperf3 through $p failed" >&2; exit 1; }; done   # warm-up (JIT)
echo "== throughput: iperf3 -t $SECS, 1 and 8 streams"
for p in "${PATHS[@]}"; do R[$p.1]=$(gbps "${ENTRY_IPERF[$p]}" 1); echo "throughput.1.$p=${R[$p.1]} Gbit/s"; done
for p in "${PATHS[@]}"; do R[$p.8]=$(gbps "${ENTRY_IPERF[$p]}" 8); echo "throughput.8.$p=${R[$p.8]} Gbit/s"; done

echo "== first byte through a fresh tunnel: $TTFB_N TCP connects each"
for p in "${PATHS[@]}"; do
  python3 "$TOOLS" ttfb "${ENTRY_GREET[$p]}" 20 > /dev/null || true   # warm-up
  r=$(python3 "$TOOLS" ttfb "${ENTRY_GREET[$p]}" "$TTFB_N" 2>&1) || r="median=failed: $r"; R[$p.ttfb]=$(sed 's/median=\([0-9.]*\|failed\).*/\1/' <<< "$r"); echo "ttfb.$p $r ms"
done

echo "== full mTLS handshakes: openssl s_time -new -time $SECS with the device certificate"
handshakes() { # name port pid
  local t0 t1 out n
  openssl s_time -connect "127.0.0.1:$2" -new -time 1 -cert "$W/device.crt" -key "$W/device.key" -CAfile "$W/root.pem" > /dev/null 2>&1 || true
  t0=$(ticks "$3")
  out=$(openssl s_time -connect "127.0.0.1:$2" -new -time "$SECS" -cert "$W/device.crt" -key "$W/device.key" -CAfile "$W/root.pem" 2>&1)
  t1=$(ticks "$3")
  n=$(grep -m1 -oE '^[0-9]+ connections in' <<< "$out" | cut -d' ' -f1)
  [ -n "$n" ] && [ "$n" -gt 0 ] || { echo "run.sh: openssl s_time against $1 made no connection:" >&2; echo "$out" >&2; exit 1; }
  R[$1.hs]=$(awk -v n="$n" -v s="$SECS" 'BEGIN { printf "%.0f", n / s }')
  R[$1.cpu]=$(awk -v d="$((t1 - t0))" -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", d * 1000 / hz / n }')
  echo "handshakes.$1=${R[$1.hs]}/s server_cpu_ms_per_handshake=${R[$1.cpu]} ($n handshakes)"
}
handshakes postern "$GW" "$GW_PID"
handshakes stunnel "$S_IPERF" "$ST_PID"

echo "== RSS per idle tunnel: $IDLE mutual-TLS connections, each tunnelled to an idle TCP sink"
idle() { # name mode port pid
  local before after
  sleep 2; before=$(rss_kib "$4")
  mkfifo "$W/idle.in"
  python3 "$TOOLS" idle "$2" "$3" "$IDLE" "$W/device.crt" "$W/device.key" "$W/root.pem" "$SINK" < "$W/idle.in" > "$W/idle.out" 2>&1 & local c=$!
  exec 8>"$W/idle.in"
  for _ in $(seq 600); do grep -q '^open' "$W/idle.out" && break; kill -0 "$c" 2>/dev/null || break; sleep 0.5; done
  grep -q '^open' "$W/idle.out" || { echo "run.sh: the idle client did not open $IDLE tunnels to $1:" >&2; tail "$W/idle.out" >&2; exit 1; }
  for _ in $(seq 120); do [ "$(cat "$W/sink.count")" -ge "$IDLE" ] && break; sleep 0.5; done
  [ "$(cat "$W/sink.count")" -ge "$IDLE" ] || { echo "run.sh: only $(cat "$W/sink.count") of $IDLE tunnels through $1 reached the sink" >&2; exit 1; }
  sleep 3; after=$(rss_kib "$4")
  R[$1.rss]=$(awk -v a="$after" -v b="$before" -v n="$IDLE" 'BEGIN { printf "%.1f", (a - b) / n }')
  echo "idle.$1 $(cat "$W/idle.out") rss_before=${before}KiB rss_after=${after}KiB per_tunnel=${R[$1.rss]}KiB"
  exec 8>&-; wait "$c" || true; rm -f "$W/idle.in"
  for _ in $(seq 120); do [ "$(cat "$W/sink.count")" -eq 0 ] && break; sleep 0.5; done
}
idle postern postern "$GW" "$GW_PID"
idle stunnel tls "$S_SINK" "$ST_PID"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fastest=$(awk -v a="${R[stunnel.1]}" -v b="${R[ssh.1]}" 'BEGIN { print (a > b ? a : b) }')
echo
echo "| What | Postern (agent) | Postern (socat CONNECT + stunnel client) | stunnel ↔ stunnel | ssh -L | Ratio | Goal |"
echo "|---|---|---|---|---|---|---|"
echo "| 1 stream, Gbit/s | ${R[agent.1]} | ${R[stunnel-connect.1]} | ${R[stunnel.1]} | ${R[ssh.1]} | agent/fastest $(ratio "${R[agent.1]}" "$fastest"), via stunnel client $(ratio "${R[stunnel-connect.1]}" "$fastest") | ≥ 1.00 |"
echo "| 8 streams, Gbit/s | ${R[agent.8]} | ${R[stunnel-connect.8]} | ${R[stunnel.8]} | ${R[ssh.8]} | agent/stunnel $(ratio "${R[agent.8]}" "${R[stunnel.8]}"), via stunnel client $(ratio "${R[stunnel-connect.8]}" "${R[stunnel.8]}") | ≥ 1.00 |"
echo "| first byte, fresh tunnel, median ms | ${R[agent.ttfb]} | ${R[stunnel-connect.ttfb]} | ${R[stunnel.ttfb]} | ${R[ssh.ttfb]} | | |"
echo "| full mTLS handshakes/s (s_time -new) | | ${R[postern.hs]} | ${R[stunnel.hs]} | | $(ratio "${R[postern.hs]}" "${R[stunnel.hs]}") | |"
echo "| server CPU per handshake, ms | | ${R[postern.cpu]} | ${R[stunnel.cpu]} | | $(ratio "${R[postern.cpu]}" "${R[stunnel.cpu]}") | ≤ 0.50 |"
echo "| RSS per idle tunnel, KiB ($IDLE open) | | ${R[postern.rss]} | ${R[stunnel.rss]} | | $(ratio "${R[postern.rss]}" "${R[stunnel.rss]}") | ≤ 40 KiB |"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
