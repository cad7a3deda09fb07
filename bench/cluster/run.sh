#!/usr/bin/env bash
# Several gateways (issue 14), in one run on loopback: (1) issuance and OCSP on PostgreSQL beside
# SQLite (PkiBench's code on each registry), (2) revocation propagation from one gateway's registry
# pool to another gateway's revocation view, with LISTEN/NOTIFY and with the poll alone, (3) full
# mTLS handshakes/s with a device certificate straight to a gateway and through HAProxy (TCP mode,
# PROXY v2), with the gateway's CPU per handshake. PostgreSQL is started here from Debian's
# binaries (as the tests start it), HAProxy and the gateway too; all are stopped at the end.
# Usage: bench/cluster/run.sh [ENROLL_N=1000] [OCSP_SECONDS=5] [REVOCATIONS=200] [HANDSHAKE_SECONDS=5]
# Environment: SKIP_BUILD=1 (jars already built), KEEP=1 (keep the work directory),
# PARTS="registry propagation handshakes" (which parts to run; all by default).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ENROLL_N=${1:-1000}; OCSP_SECONDS=${2:-5}; REVOCATIONS=${3:-200}; SECS=${4:-5}
PARTS=${PARTS:-registry propagation handshakes}
part() { [[ " $PARTS " == *" $1 "* ]]; }
for v in ENROLL_N OCSP_SECONDS REVOCATIONS SECS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: $v: expected a whole number above 0, found '${!v}'" >&2; exit 2; }
done

# shellcheck source=../../bin/find-jdk
. bin/find-jdk
JAVA_HOME="$(postern_find_jdk25)" || { echo "run.sh: needs JDK 25; $(postern_jdk_install)" >&2; exit 1; }
export JAVA_HOME
for t in openssl curl /usr/sbin/haproxy; do
  command -v "$t" >/dev/null || { echo "run.sh: $t not found (apt-get install openssl curl haproxy)" >&2; exit 1; }
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "run.sh: PostgreSQL's initdb not found (apt-get install postgresql)" >&2; exit 1; }

[ -n "${SKIP_BUILD:-}" ] || ./mvnw -B -q -Pbench -pl cli,bench -am package -DskipTests
BENCH_CP="bench/target/postern-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)"
CLI=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "cli/target/postern-cli.jar:cli/target/lib/*" org.postern.cli.PosternCommand)

W=$(mktemp -d "$PWD/bench/target/cluster-run.XXXX")   # the real file system: fsync costs count
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # utime + stime of a process, clock ticks
CLK_TCK=$(getconf CLK_TCK)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); $(openssl version); $(/usr/sbin/haproxy -v | head -1 | cut -d' ' -f1-3); PostgreSQL $(ls -d /usr/lib/postgresql/*/ | tail -1 | xargs basename)"
bench() { "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dlogback.configurationFile=/dev/null -cp "$BENCH_CP" org.postern.bench.ClusterBench "$@"; }

if part registry; then
echo "== (1) issuance and OCSP: SQLite, then PostgreSQL (one server on loopback, registry.poolSize 8)"
bench registry "$W/registry" "$ENROLL_N" "$OCSP_SECONDS" 2>&1 | grep -E '^(registry|enroll|ocsp)\.'
fi

if part propagation; then
echo "== (2) revocation propagation: registry of gateway A → revocation view of gateway B, $REVOCATIONS revocations each"
bench propagation "$W/propagation" "$REVOCATIONS" 2>&1 | grep -E '^propagation\.'
fi

part handshakes || { echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"; exit 0; }
echo "== (3) full mTLS handshakes/s: straight to the gateway and through HAProxy (send-proxy-v2)"
PASS="$W/pass.txt"; echo "bench passphrase, not a secret" > "$PASS"
"${CLI[@]}" pki init --dir "$W/data" --passphrase-file "$PASS" > /dev/null
GW=$(free_port); HA=$(free_port)
cat > "$W/gateway.yaml" <<YAML
gateway:
  id: gw-bench
dataDir: $W/data
listeners:
  tunnel: 127.0.0.1:$GW
  admin: 127.0.0.1:$(free_port)
  ssh: 127.0.0.1:$(free_port)
proxyProtocol:
  tunnel:
    trustedProxies: [127.0.0.3/32]
limits:
  connectionsPerSource: 100000
audit:
  minFree: 1MiB
YAML
# a device certificate, enrolled over EST as a laptop would (openssl for the key and CSR, curl for EST)
TOKEN=$("${CLI[@]}" pki device add laptop-bench --owner bench --groups admins --json --dir "$W/data" --passphrase-file "$PASS" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
POSTERN_CA_PASSPHRASE=$(cat "$PASS") "${CLI[@]}" gateway run --config "$W/gateway.yaml" > "$W/gw.out" 2>&1 & GW_PID=$!; PIDS+=("$GW_PID")
for _ in $(seq 1 600); do grep -qs 'Stop with Ctrl-C.' "$W/gw.out" && break; kill -0 "$GW_PID" || { cat "$W/gw.out" >&2; exit 1; }; sleep 0.1; done
cat > "$W/haproxy.cfg" <<CFG
global
  maxconn 5000
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend postern
  bind 127.0.0.1:$HA
  default_backend gateways
backend gateways
  server gw 127.0.0.1:$GW send-proxy-v2 source 127.0.0.3
CFG
/usr/sbin/haproxy -f "$W/haproxy.cfg" -db > "$W/haproxy.out" 2>&1 & HA_PID=$!; PIDS+=("$HA_PID")
sleep 1; kill -0 "$HA_PID" || { cat "$W/haproxy.out" >&2; exit 1; }
# enrolled through HAProxy: the gateway records the laptop's address from PROXY v2
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=laptop-bench -keyout "$W/device.key" \
  -outform DER -out "$W/device.csr" 2>/dev/null
base64 -w0 "$W/device.csr" > "$W/device.b64"
curl -sS --fail --cacert "$W/data/ca/chain.pem" --user "laptop-bench:$TOKEN" -H 'Content-Type: application/pkcs10' \
  --data-binary "@$W/device.b64" "https://127.0.0.1:$HA/.well-known/est/simpleenroll" | base64 -d > "$W/device.p7"
openssl pkcs7 -inform DER -in "$W/device.p7" -print_certs -out "$W/device.crt"
handshakes() { # name port
  local t0 t1 h0 h1 out n
  t0=$(ticks "$GW_PID"); h0=$(ticks "$HA_PID")
  out=$(openssl s_time -connect "127.0.0.1:$2" -new -time "$SECS" -cert "$W/device.crt" -key "$W/device.key" -CAfile "$W/data/ca/chain.pem" 2>&1)
  t1=$(ticks "$GW_PID"); h1=$(ticks "$HA_PID")
  n=$(grep -m1 -oE '^[0-9]+ connections in' <<< "$out" | cut -d' ' -f1)
  [ -n "$n" ] && [ "$n" -gt 0 ] || { echo "run.sh: openssl s_time ($1) made no connection:" >&2; echo "$out" >&2; exit 1; }
  echo "handshakes.$1 per_second=$(awk -v n="$n" -v s="$SECS" 'BEGIN { printf "%.0f", n / s }') gateway_cpu_ms=$(awk -v d="$((t1 - t0))" -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", d * 1000 / hz / n }') haproxy_cpu_ms=$(awk -v d="$((h1 - h0))" -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", d * 1000 / hz / n }') ($n handshakes)"
}
# warm-up: both paths for the measured time each, so neither is measured while the JIT still compiles
for port in "$GW" "$HA"; do
  openssl s_time -connect "127.0.0.1:$port" -new -time "$SECS" -cert "$W/device.crt" -key "$W/device.key" -CAfile "$W/data/ca/chain.pem" > /dev/null 2>&1 || true
done
handshakes direct "$GW"
handshakes haproxy "$HA"
handshakes direct-again "$GW"
grep -h '"pki.enroll"' "$W/data/audit/trail/"*.jsonl | grep -q '"source":"127.0.0.1:' \
  || { echo "run.sh: the enrollment through HAProxy is not recorded with the laptop's address" >&2; exit 1; }
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
