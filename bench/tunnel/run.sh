#!/usr/bin/env bash
# Tunnel benchmark, side by side in one run on loopback (issue 4 §5): the Postern gateway (reached
# through the real agent's port forward, through socat's CONNECT over stunnel's client, and by
# LAPTOPS simulated laptops, each its own mTLS HTTP/2 connection), stunnel as a mutual-TLS server
# (TLS 1.3, P-256 certificates from the same test PKI) and `ssh -L` through a loopback sshd
# (aes128-gcm), all in front of the same destinations. Measures single-stream and 8-stream
# throughput (iperf3) with each server's CPU per GiB relayed, LAPTOPS laptops × 1 stream at once,
# 1-byte ping-pong latency through a standing tunnel, time from TCP connect to first byte through a
# fresh tunnel, the agent's RSS (idle, and during 8 streams), full mTLS handshakes/s and the
# server's CPU per handshake (openssl s_time -new), and RSS per idle tunnel with IDLE tunnels open.
# Prints a table; docs/benchmarks.md records it.
# Usage: bench/tunnel/run.sh [SECONDS=5] [TTFB_N=200] [IDLE=5000]
# Environment: SKIP_BUILD=1 (jars and classes already built), KEEP=1 (keep the work directory in
# /dev/shm), HOLD=SECONDS (after the set-up, print the ports and wait, e.g. to attach a profiler),
# LAPTOPS=100 (simulated laptops; 0 skips that part), LAPTOP_SECONDS=10 (how long they push),
# PINGS=2000 (round trips per path), RSS_WAIT=20 (seconds after the agent's lease to read its idle RSS).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SECS=${1:-5}; TTFB_N=${2:-200}; IDLE=${3:-5000}
LAPTOPS=${LAPTOPS:-100}; LAPTOP_SECONDS=${LAPTOP_SECONDS:-10}; PINGS=${PINGS:-2000}; RSS_WAIT=${RSS_WAIT:-20}
for v in SECS TTFB_N IDLE LAPTOPS LAPTOP_SECONDS PINGS RSS_WAIT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "run.sh: $v: expected a whole number, found '${!v}'" >&2; exit 2; }
done
[ "$LAPTOPS" -le 1000 ] || { echo "run.sh: LAPTOPS: expected at most 1000, found $LAPTOPS" >&2; exit 2; }

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

# The gateway's test classes (TunnelBenchGateway lives there), the agent's jar and target/lib (run
# as the launcher runs them) and the bench module (LaptopLoad, CountingSink), from the reactor.
[ -n "${SKIP_BUILD:-}" ] || ./mvnw -B -q -Pbench -pl gateway,posture-agent,bench -am package -DskipTests \
  dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
GW_CP="gateway/target/test-classes:gateway/target/classes:$(cat gateway/target/bench-classpath.txt)"
AGENT_CP="posture-agent/target/postern-agent.jar:posture-agent/target/lib/*"
BENCH_CP="bench/target/classes:$(cat bench/target/bench-classpath.txt)"
for f in posture-agent/target/postern-agent.jar bench/target/classes/org/postern/bench/tunnel/LaptopLoad.class; do
  [ -e "$f" ] || { echo "run.sh: $f is missing: run without SKIP_BUILD" >&2; exit 1; }
done
TOOLS=bench/tunnel/tools.py

W=$(mktemp -d /dev/shm/postern-tunnel-bench.XXXX)
PIDS=()
# the bench's own JVMs (sink, load client) log warnings only, to their standard error
cat > "$W/logback-warn.xml" <<'XML'
<configuration>
  <appender name="err" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="err"/></root>
</configuration>
XML
BENCH_JVM=(--enable-native-access=ALL-UNNAMED -Dlogback.configurationFile="$W/logback-warn.xml" -cp "$BENCH_CP")
cleanup() { exec 9>&- 2>/dev/null || true; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; [ -n "${KEEP:-}" ] || rm -rf "$W"; }
trap cleanup EXIT
# a free port below the ephemeral range (so that no outgoing connection of this run takes it between
# the choice and the bind), and not one chosen before in this run
port() { python3 -c '
import random, socket, sys
taken = set(open(sys.argv[1]).read().split()) if __import__("os").path.exists(sys.argv[1]) else set()
for _ in range(200):
    p = random.randrange(20000, 32000)
    try:
        if str(p) in taken:
            continue
        s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
        open(sys.argv[1], "a").write(f"{p}\n"); print(p); break
    except OSError:
        pass
else:
    raise SystemExit("run.sh: no free port between 20000 and 32000")' "$W/ports"; }
wait_for() { # file pattern seconds what [pid: give up when it ends]
  for _ in $(seq $(( $3 * 2 ))); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    [ -z "${5:-}" ] || kill -0 "$5" 2>/dev/null || break
    sleep 0.5
  done
  echo "run.sh: $4 did not start within $3 s:" >&2; tail -n 30 "$1" >&2; exit 1
}
wait_port() { for _ in $(seq 60); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.5; done; echo "run.sh: nothing listens on $1 ($2)" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
CLK_TCK=$(getconf CLK_TCK)

IPERF=$(port); GREET=$(port); SINK=$(port); ECHO=$(port); COUNT=$(port); GW=$(port); SSHD=$(port)
S_IPERF=$(port); S_GREET=$(port); S_SINK=$(port); S_ECHO=$(port); S_COUNT=$(port)   # stunnel server
C_ST_IPERF=$(port); C_ST_GREET=$(port); C_ST_ECHO=$(port); C_ST_COUNT=$(port)       # stunnel client → stunnel server
C_PG_IPERF=$(port); C_PG_GREET=$(port); C_PG_ECHO=$(port); C_PG_TLS=$(port)         # socat CONNECT → stunnel client → Postern
A_IPERF=$(port); A_GREET=$(port); A_ECHO=$(port)                                     # postern-agent forwards
L_IPERF=$(port); L_GREET=$(port); L_ECHO=$(port)                                     # ssh -L

# destinations: iperf3, a one-byte greeter, an idle sink, an echo (ping-pong), a counting sink (laptops)
iperf3 -s -B 127.0.0.1 -p "$IPERF" > "$W/iperf3.log" 2>&1 & PIDS+=($!)
python3 "$TOOLS" greeter "$GREET" > "$W/greeter.log" 2>&1 & PIDS+=($!)
python3 "$TOOLS" sink "$SINK" "$W/sink.count" > "$W/sink.log" 2>&1 & PIDS+=($!)
python3 "$TOOLS" echo "$ECHO" > "$W/echo.log" 2>&1 & PIDS+=($!)
"$JAVA_HOME/bin/java" "${BENCH_JVM[@]}" org.postern.bench.tunnel.CountingSink "$COUNT" > "$W/count.log" 2>&1 & PIDS+=($!)

# the gateway: runs until its stdin (a fifo we hold open) closes
mkfifo "$W/gw.in"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dlogback.configurationFile=/dev/null -cp "$GW_CP" org.postern.gateway.relay.bench.TunnelBenchGateway \
  "$W" "$GW" "$LAPTOPS" < "$W/gw.in" > "$W/gw.out" 2>"$W/gw.err" & GW_PID=$!; PIDS+=($GW_PID)
exec 9>"$W/gw.in"
wait_for "$W/gw.out" '^ready' 120 "the gateway" "$GW_PID"

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
[echo]
accept = 127.0.0.1:$S_ECHO
connect = 127.0.0.1:$ECHO
[count]
accept = 127.0.0.1:$S_COUNT
connect = 127.0.0.1:$COUNT
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
[st-echo]
accept = 127.0.0.1:$C_ST_ECHO
connect = 127.0.0.1:$S_ECHO
[st-count]
accept = 127.0.0.1:$C_ST_COUNT
connect = 127.0.0.1:$S_COUNT
[postern]
accept = 127.0.0.1:$C_PG_TLS
connect = 127.0.0.1:$GW
CONF
stunnel "$W/stunnel-server.conf" > "$W/stunnel-server.err" 2>&1 & ST_PID=$!; PIDS+=($ST_PID)
stunnel "$W/stunnel-client.conf" > "$W/stunnel-client.err" 2>&1 & STC_PID=$!; PIDS+=($STC_PID)
# stunnel's `protocol = connect` sends CONNECT in clear text before TLS (it crosses a plain HTTP
# proxy), so it cannot talk to a TLS proxy; socat's PROXY address sends the CONNECT instead, through
# stunnel's client (plain → mutual TLS to the gateway): a fresh TLS connection per tunnel.
for pair in "$C_PG_IPERF:$IPERF" "$C_PG_GREET:$GREET" "$C_PG_ECHO:$ECHO"; do
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
  -L "127.0.0.1:$L_IPERF:127.0.0.1:$IPERF" -L "127.0.0.1:$L_GREET:127.0.0.1:$GREET" -L "127.0.0.1:$L_ECHO:127.0.0.1:$ECHO" \
  root@127.0.0.1 2>"$W/ssh.log" & PIDS+=($!)

# the real agent: enrolled over EST with the one-time token, then `up` with three port forwards.
# Its jar and target/lib with the postern-agent launcher's JVM options (C1 only, Serial GC, MaxRAM
# 256m, a class-data archive made at the first exit: here `enroll`'s); `up` gets C2 as there.
AGENT_JVM=(--enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -XX:MaxRAM=256m
           -XX:+AutoCreateSharedArchive -XX:SharedArchiveFile="$W/postern-agent.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off)
# `up` as the launcher runs it: C2, native heap trimmed every 5 s, 2 malloc arenas; its own archive
# (written when it stops, so this first `up` runs without one: bench/agent/up-rss.sh measures both)
AGENT_UP_JVM=(--enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xss512k -XX:MaxRAM=256m -XX:TrimNativeHeapInterval=5000
              -XX:+AutoCreateSharedArchive -XX:SharedArchiveFile="$W/postern-agent-up.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off)
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
  - listen: 127.0.0.1:$A_ECHO
    to: 127.0.0.1:$ECHO
YAML
MALLOC_ARENA_MAX=2 "$JAVA_HOME/bin/java" "${AGENT_UP_JVM[@]}" ${AGENT_JAVA_OPTS:-} -cp "$AGENT_CP" org.postern.agent.cli.AgentCommand --home "$W/agent" up \
  --config "$W/agent.yaml" > "$W/agent.log" 2>&1 & AGENT_PID=$!; PIDS+=($AGENT_PID)
wait_for "$W/agent.log" 'posture (accepted|NOT compliant, allowed)' 120 "postern-agent up" "$AGENT_PID"
LEASED_AT=$(date +%s.%N)
# no probe of the agent's own ports: a connect there would open a tunnel before the idle RSS is read
for p in "$C_ST_IPERF" "$C_PG_IPERF" "$L_IPERF" "$S_SINK" "$C_ST_COUNT" "$COUNT" "$ECHO"; do wait_port "$p" "a tunnel entry"; done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); $(stunnel -version 2>&1 | grep -m1 '^stunnel'); $(openssl version); $(ssh -V 2>&1); $(iperf3 --version | head -1)"
declare -A R
echo "load at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${HOLD:-}" ]; then
  printf 'GW_PID=%s\nAGENT_PID=%s\nA_IPERF=%s\nC_PG_IPERF=%s\nC_ST_IPERF=%s\nA_GREET=%s\n' \
    "$GW_PID" "$AGENT_PID" "$A_IPERF" "$C_PG_IPERF" "$C_ST_IPERF" "$A_GREET" > "$W/hold.env"
  echo "holding: W=$W GW=$GW GREET=$GREET C_PG_GREET=$C_PG_GREET ECHO=$ECHO COUNT=$COUNT (pids and entry ports in $W/hold.env)"; sleep "$HOLD"
fi

PATHS=(agent stunnel-connect stunnel ssh)
declare -A ENTRY_IPERF=([agent]=$A_IPERF [stunnel-connect]=$C_PG_IPERF [stunnel]=$C_ST_IPERF [ssh]=$L_IPERF)
declare -A ENTRY_GREET=([agent]=$A_GREET [stunnel-connect]=$C_PG_GREET [stunnel]=$C_ST_GREET [ssh]=$L_GREET)
declare -A ENTRY_ECHO=([agent]=$A_ECHO [stunnel-connect]=$C_PG_ECHO [stunnel]=$C_ST_ECHO [ssh]=$L_ECHO)
# whose CPU a path's relay costs: the server end (and, for the agent, the laptop end)
declare -A SERVER_PID=([agent]=$GW_PID [stunnel-connect]=$GW_PID [stunnel]=$ST_PID)
declare -A CLIENT_PID=([agent]=$AGENT_PID [stunnel]=$STC_PID)
declare -A TICKS BYTES CTICKS
for p in "${PATHS[@]}"; do TICKS[$p]=0; CTICKS[$p]=0; BYTES[$p]=0; done

echo "== agent RSS: idle, $RSS_WAIT s after its lease (no tunnel opened yet)"
warm_up() { # path: 1 s of iperf3 (JIT); a failure is reported and the measured runs say "failed"
  iperf3 -c 127.0.0.1 -p "${ENTRY_IPERF[$1]}" -t 1 > "$W/warm-up.log" 2>&1 \
    || echo "run.sh: warm-up through $1 failed: $(grep -m1 -i error "$W/warm-up.log")" >&2
}
for p in stunnel-connect stunnel ssh; do warm_up "$p"; done   # meanwhile, through the other paths only
sleep "$(awk -v l="$LEASED_AT" -v w="$RSS_WAIT" -v n="$(date +%s.%N)" 'BEGIN { d = l + w - n; printf "%.1f", (d > 0 ? d : 0) }')"
R[agent.rss.idle]=$(awk '{ printf "%.1f", $1 / 1024 }' <<< "$(rss_kib "$AGENT_PID")")
echo "agent.rss.idle=${R[agent.rss.idle]} MiB ($(awk -v l="$LEASED_AT" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - l }') s after the lease)"
warm_up agent

gbps() { # path streams -> Gbit/s received (iperf3 through the path's entry); adds its CPU ticks and bytes
  local s0 c0 s1 c1 bytes rate
  s0=$(ticks "${SERVER_PID[$1]:-$$}"); c0=$(ticks "${CLIENT_PID[$1]:-$$}")
  iperf3 -c 127.0.0.1 -p "${ENTRY_IPERF[$1]}" -t "$SECS" -P "$2" -J > "$W/iperf.json" 2>&1 || true
  s1=$(ticks "${SERVER_PID[$1]:-$$}"); c1=$(ticks "${CLIENT_PID[$1]:-$$}")
  read -r bytes rate < <(python3 "$TOOLS" iperf-result "$W/iperf.json" 2>>"$W/iperf-failures.log")
  if [ "$rate" = failed ]; then
    echo "run.sh: iperf3 -P $2 through $1 failed: $(tail -1 "$W/iperf-failures.log")" >&2; echo failed; return
  fi
  TICKS[$1]=$(( TICKS[$1] + s1 - s0 )); CTICKS[$1]=$(( CTICKS[$1] + c1 - c0 )); BYTES[$1]=$(( BYTES[$1] + bytes ))
  echo "$rate"
}
cpu_per_gib() { awk -v t="$1" -v b="$2" -v hz="$CLK_TCK" 'BEGIN { if (b > 0) printf "%.2f", t / hz / (b / 1073741824); else print "n/a" }'; }
echo "== throughput: iperf3 -t $SECS, 1 and 8 streams"
for p in "${PATHS[@]}"; do gbps "$p" 1 > "$W/r"; R[$p.1]=$(cat "$W/r"); echo "throughput.1.$p=${R[$p.1]} Gbit/s"; done
for p in "${PATHS[@]}"; do
  if [ "$p" = agent ]; then   # the agent's RSS every 0.5 s while it relays 8 streams
    ( while :; do rss_kib "$AGENT_PID" >> "$W/agent-rss.samples"; sleep 0.5; done ) & SAMPLER=$!; PIDS+=($SAMPLER)
  fi
  gbps "$p" 8 > "$W/r"; R[$p.8]=$(cat "$W/r"); echo "throughput.8.$p=${R[$p.8]} Gbit/s"
  if [ "$p" = agent ]; then kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true; fi
done
R[agent.rss.max]=$(sort -n "$W/agent-rss.samples" | tail -1 | awk '{ printf "%.1f", $1 / 1024 }')
echo "agent.rss.max_8_streams=${R[agent.rss.max]} MiB ($(wc -l < "$W/agent-rss.samples") samples)"
for p in agent stunnel-connect stunnel; do
  R[$p.gib]=$(cpu_per_gib "${TICKS[$p]}" "${BYTES[$p]}")
  echo "cpu_s_per_gib.server.$p=${R[$p.gib]} ($(( TICKS[$p] )) ticks, ${BYTES[$p]} bytes)"
done
for p in agent stunnel; do R[$p.cgib]=$(cpu_per_gib "${CTICKS[$p]}" "${BYTES[$p]}"); echo "cpu_s_per_gib.client.$p=${R[$p.cgib]}"; done

if [ "$LAPTOPS" -gt 0 ]; then
  echo "== $LAPTOPS laptops × 1 stream for $LAPTOP_SECONDS s: LaptopLoad h2 (own mTLS HTTP/2 connection each) and tcp (stunnel client → server)"
  laptops() { # name args... -> the result line in R[laptops.NAME]
    local out
    out=$("$JAVA_HOME/bin/java" "${BENCH_JVM[@]}" org.postern.bench.tunnel.LaptopLoad "${@:2}" \
      --count "$LAPTOPS" --streams 1 --seconds "$LAPTOP_SECONDS" 2>"$W/laptops-$1.err") \
      || { echo "run.sh: LaptopLoad $2 failed:" >&2; tail -5 "$W/laptops-$1.err" >&2; }
    echo "$out" | sed "s/^/laptops.$1: /"
    R[laptops.$1]=$(grep -m1 '^result ' <<< "$out" || echo "result gbps=failed")
  }
  field() { grep -oE "(^| )$2=[^ ]+" <<< "${R[laptops.$1]}" | cut -d= -f2; }
  laptops stunnel tcp --entry "127.0.0.1:$C_ST_COUNT" --watch "server=$ST_PID" --watch "client=$STC_PID"
  laptops postern h2 --gateway "127.0.0.1:$GW" --laptops "$W/laptops" --to "127.0.0.1:$COUNT" --watch "server=$GW_PID"
  for n in postern stunnel; do
    R[laptops.$n.gbps]=$(field "$n" gbps)
    R[laptops.$n.gib]=$(awk -v c="$(field "$n" cpu_s.server)" -v b="$(field "$n" delivered_bytes)" \
      'BEGIN { if (b > 0) printf "%.2f", c / (b / 1073741824); else print "n/a" }')
    R[laptops.$n.self]=$(awk -v c="$(field "$n" cpu_s.self)" -v b="$(field "$n" delivered_bytes)" \
      'BEGIN { if (b > 0) printf "%.2f", c / (b / 1073741824); else print "n/a" }')
    R[laptops.$n.per]="$(field "$n" laptop_mbps_min)/$(field "$n" laptop_mbps_median)"
    R[laptops.$n.err]=$(field "$n" errors)
  done
fi

echo "== 1-byte ping-pong through a standing tunnel: $PINGS round trips each (µs)"
pings() { # name args... -> p50 and p99 in R
  local r
  r=$(python3 "$TOOLS" pingpong "${@:2}" 2>&1) || r="p50=failed p99=failed: $r"
  R[$1.p50]=$(grep -oE 'p50=[^ ]+' <<< "$r" | cut -d= -f2); R[$1.p99]=$(grep -oE 'p99=[^ ]+' <<< "$r" | cut -d= -f2)
  echo "pingpong.$1 $r"
}
for p in "${PATHS[@]}"; do pings "$p" "${ENTRY_ECHO[$p]}" "$PINGS"; done
pings connect "$GW" "$PINGS" "$W/device.crt" "$W/device.key" "$W/root.pem" "$ECHO"

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

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fastest=$(awk -v a="${R[stunnel.1]}" -v b="${R[ssh.1]}" 'BEGIN { a += 0; b += 0; print (a > b ? a : b) }')
echo
echo "| What | Postern (agent) | Postern (socat CONNECT + stunnel client) | stunnel ↔ stunnel | ssh -L | Ratio | Goal |"
echo "|---|---|---|---|---|---|---|"
echo "| 1 stream, Gbit/s | ${R[agent.1]} | ${R[stunnel-connect.1]} | ${R[stunnel.1]} | ${R[ssh.1]} | agent/fastest $(ratio "${R[agent.1]}" "$fastest"), via stunnel client $(ratio "${R[stunnel-connect.1]}" "$fastest") | ≥ 1.00 |"
echo "| 8 streams, Gbit/s | ${R[agent.8]} | ${R[stunnel-connect.8]} | ${R[stunnel.8]} | ${R[ssh.8]} | agent/stunnel $(ratio "${R[agent.8]}" "${R[stunnel.8]}"), via stunnel client $(ratio "${R[stunnel-connect.8]}" "${R[stunnel.8]}") | ≥ 1.00 |"
echo "| first byte, fresh tunnel, median ms | ${R[agent.ttfb]} | ${R[stunnel-connect.ttfb]} | ${R[stunnel.ttfb]} | ${R[ssh.ttfb]} | | |"
echo "| full mTLS handshakes/s (s_time -new) | | ${R[postern.hs]} | ${R[stunnel.hs]} | | $(ratio "${R[postern.hs]}" "${R[stunnel.hs]}") | |"
echo "| server CPU per handshake, ms | | ${R[postern.cpu]} | ${R[stunnel.cpu]} | | $(ratio "${R[postern.cpu]}" "${R[stunnel.cpu]}") | ≤ 0.50 |"
echo "| RSS per idle tunnel, KiB ($IDLE open) | | ${R[postern.rss]} | ${R[stunnel.rss]} | | $(ratio "${R[postern.rss]}" "${R[stunnel.rss]}") | ≤ 40 KiB |"
echo "| server CPU per GiB relayed, s (iperf3, 1 + 8 streams) | ${R[agent.gib]} (HTTP/2) | ${R[stunnel-connect.gib]} (HTTP/1.1) | ${R[stunnel.gib]} | | h2/h1 $(ratio "${R[agent.gib]}" "${R[stunnel-connect.gib]}"), h2/stunnel $(ratio "${R[agent.gib]}" "${R[stunnel.gib]}") | h2 ≤ 1.25× h1 and ≤ 1.00× stunnel |"
echo "| client CPU per GiB relayed, s (agent; stunnel client) | ${R[agent.cgib]} | | ${R[stunnel.cgib]} | | $(ratio "${R[agent.cgib]}" "${R[stunnel.cgib]}") | |"
if [ "$LAPTOPS" -gt 0 ]; then
  echo "| $LAPTOPS laptops × 1 stream, aggregate Gbit/s (per laptop min/median Mbit/s; errors) | ${R[laptops.postern.gbps]} (${R[laptops.postern.per]}; ${R[laptops.postern.err]}) | | ${R[laptops.stunnel.gbps]} (${R[laptops.stunnel.per]}; ${R[laptops.stunnel.err]}) | | $(ratio "${R[laptops.postern.gbps]}" "${R[laptops.stunnel.gbps]}") | ≥ 1.00 |"
  echo "| server CPU per GiB, $LAPTOPS laptops, s (the load client's own) | ${R[laptops.postern.gib]} (${R[laptops.postern.self]}) | | ${R[laptops.stunnel.gib]} (${R[laptops.stunnel.self]}) | | $(ratio "${R[laptops.postern.gib]}" "${R[laptops.stunnel.gib]}") | |"
fi
echo "| 1-byte ping-pong p50 / p99, µs | ${R[agent.p50]} / ${R[agent.p99]} | ${R[stunnel-connect.p50]} / ${R[stunnel-connect.p99]} (direct mTLS CONNECT: ${R[connect.p50]} / ${R[connect.p99]}) | ${R[stunnel.p50]} / ${R[stunnel.p99]} | ${R[ssh.p50]} / ${R[ssh.p99]} | agent/stunnel $(ratio "${R[agent.p50]}" "${R[stunnel.p50]}") / $(ratio "${R[agent.p99]}" "${R[stunnel.p99]}"), CONNECT $(ratio "${R[connect.p50]}" "${R[stunnel.p50]}") / $(ratio "${R[connect.p99]}" "${R[stunnel.p99]}") | ≤ 1.00 |"
echo "| agent RSS, MiB: idle $RSS_WAIT s after the lease / max during 8 streams | ${R[agent.rss.idle]} / ${R[agent.rss.max]} | | | | | idle ≤ 48 MiB |"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
