#!/usr/bin/env bash
# Soak test (issue 11): a real gateway (`postern gateway run`, its own process, a fresh CA from
# `postern pki init` in a temporary directory) and an echo "admin host" on loopback; DEVICES laptops
# registered with `postern pki device add` and enrolled over EST with the real `postern-agent
# enroll`; each runs the real `postern-agent up` (one HTTP/2 connection, posture exchange, a 1-minute
# lease renewed every 30 s). bench/soak/driver.py then opens TUNNELS tunnels paced over DURATION,
# about CONCURRENCY at once, each echoing small chunks: one in CHURN over a fresh mutual-TLS
# connection straight to the gateway (a full handshake each: handshake churn, HTTP/1.1 CONNECT
# under the agent's lease), the others as CONNECT streams through the agents' SOCKS5.
# The gateway's VmRSS and open descriptors are sampled into a CSV. Checks, each printed with its
# figures (exit 1 when one fails):
#   - the driver: every tunnel done, 0 errors;
#   - RSS flat: median of the last 20% of the load's samples <= 1.15 x the median of its 20-40%
#     window (the first 20% is warm-up: JIT, heap growth, pools);
#   - descriptors flat under load: the same rule with 10 descriptors of slack; and back to the idle
#     baseline (median before the load, agents connected) +-10 once every tunnel has closed;
#   - the trail: `postern audit verify --strict` passes after the gateway's shutdown, and every
#     session.start has its session.end with reason client_closed (a session ended by the shutdown
#     outlived its client), every flow.open its flow.close; 0 ERROR lines in the gateway's log.
# Usage: bench/soak/run.sh [--duration 30m] [--tunnels 5000] [--concurrency 200] [--devices 4]
#                          [--churn 2] [--sample 5]
# Environment: SKIP_BUILD=1 (jars already built), KEEP=1 (keep the work directory),
# GATEWAY_JAVA_OPTS (extra JVM options for the gateway, e.g. -Xmx512m). Results (CSV, driver
# summary, logs, summary.txt) go to bench/soak/target/run-<UTC time>/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DURATION=30m; TUNNELS=5000; CONCURRENCY=200; DEVICES=4; CHURN=2; SAMPLE=5
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --tunnels) TUNNELS=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --devices) DEVICES=$2; shift 2 ;;
    --churn) CHURN=$2; shift 2 ;;
    --sample) SAMPLE=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (expected --duration, --tunnels, --concurrency, --devices, --churn, --sample)" >&2; exit 2 ;;
  esac
done
seconds() { # 90, 90s, 2m, 1h -> seconds
  case "$1" in
    *h) echo $(( ${1%h} * 3600 )) ;; *m) echo $(( ${1%m} * 60 )) ;; *s) echo "${1%s}" ;; *) echo "$1" ;;
  esac
}
DUR_S=$(seconds "$DURATION")
for v in DUR_S TUNNELS CONCURRENCY DEVICES CHURN SAMPLE; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "run.sh: expected a whole number for $v (durations like 90s, 2m, 1h), found ${!v}" >&2; exit 2; }
done
[ "$DUR_S" -ge 60 ] && [ "$DEVICES" -ge 1 ] && [ "$TUNNELS" -ge 1 ] && [ "$CONCURRENCY" -ge 1 ] && [ "$SAMPLE" -ge 1 ] \
  || { echo "run.sh: expected --duration >= 1m and --tunnels, --concurrency, --devices, --sample >= 1" >&2; exit 2; }

for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25*; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && "$candidate/bin/java" -version 2>&1 | grep -q '"25'; then
    export JAVA_HOME="$candidate"; break
  fi
done
"$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"25' || { echo "run.sh: no JDK 25 under \$JAVA_HOME or /usr/lib/jvm/*25*" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run.sh: python3 not found (apt-get install python3)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"   # the gateway holds two descriptors per open tunnel
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $(( 4 * CONCURRENCY + 1000 )) ] \
  || { echo "run.sh: the open-file limit is $(ulimit -n), $CONCURRENCY tunnels at once need $(( 4 * CONCURRENCY + 1000 ))" >&2; exit 1; }

# The project's own commands, through its launchers; they build the jars when missing or stale.
[ -n "${SKIP_BUILD:-}" ] || ./mvnw -B -q -DskipTests package
POSTERN=./postern; AGENT=./postern-agent; DRIVER=bench/soak/driver.py

OUT="bench/soak/target/run-$(date -u +%Y%m%dT%H%M%SZ)"; mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/postern-soak.XXXX")
PIDS=(); GW_PID=; AGENT_PIDS=()
cleanup() {
  touch "$W/stop" 2>/dev/null || true
  for p in "${AGENT_PIDS[@]}" "${PIDS[@]}" $GW_PID; do kill "$p" 2>/dev/null || true; done
  sleep 0.5; [ -n "${KEEP:-}" ] && echo "work directory kept: $W" || rm -rf "$W"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # file pattern seconds what
  for _ in $(seq $(( $3 * 2 ))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done
  echo "run.sh: $4 did not get there within $3 s:" >&2; tail -n 30 "$1" >&2; exit 1
}
fds() { ls "/proc/$GW_PID/fd" 2>/dev/null | wc -l; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$GW_PID/status" 2>/dev/null || echo 0; }
phase() { echo "$1" > "$W/phase"; echo "== $(date -u +%H:%M:%S) $1"; }
log() { echo "$(date -u +%H:%M:%S) $*"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); soak: --duration ${DUR_S}s --tunnels $TUNNELS --concurrency $CONCURRENCY --devices $DEVICES --churn $CHURN --sample ${SAMPLE}s"
phase setup

# A fresh CA and the laptops' registrations, with the PKI commands.
export POSTERN_CA_PASSPHRASE="soak-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DATA="$W/data"
$POSTERN pki init --dir "$DATA" --name "Postern Soak" > "$W/pki-init.out"
ROOT_SHA=$(sed -n 's/.*root SHA-256.*: \([0-9a-f]\{64\}\)$/\1/p' "$W/pki-init.out")
[ -n "$ROOT_SHA" ] || { echo "run.sh: no root SHA-256 in the output of pki init:" >&2; cat "$W/pki-init.out" >&2; exit 1; }
for d in $(seq "$DEVICES"); do
  $POSTERN pki device add "soak-$d" --dir "$DATA" --owner "soak-user-$d" --groups soak --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' > "$W/token-$d"
done

ECHO=$(port); GW=$(port); ADMIN=$(port); SSH=$(port)
python3 "$DRIVER" echo "$ECHO" > "$W/echo.log" 2>&1 & PIDS+=($!)
cat > "$W/gateway.yaml" <<YAML
gateway:
  id: soak
dataDir: $DATA
listeners:
  tunnel: 127.0.0.1:$GW
  admin: 127.0.0.1:$ADMIN
  ssh: 127.0.0.1:$SSH
posture:
  mode: report-only     # this machine's own posture does not matter here; report-only still grants the lease
  lease: 1m             # the shortest lease allowed: the agents renew it every 30 s
access:
  rules:
    - name: soak-echo
      groups: [soak]
      to: ["127.0.0.1:$ECHO"]
limits:
  connectionsPerSource: $(( 4 * CONCURRENCY + 100 ))   # every client is 127.0.0.1
  flowsPerDevice: $(( 2 * CONCURRENCY + 10 ))
  streamsPerConnection: $(( 2 * CONCURRENCY + 10 ))
YAML
# default JVM options, as `postern gateway run` (plus GATEWAY_JAVA_OPTS); the launcher execs java, so $! is the JVM
POSTERN_JAVA_OPTS="${GATEWAY_JAVA_OPTS:-}" $POSTERN gateway run --config "$W/gateway.yaml" > "$W/gw.out" 2> "$W/gw.err" & GW_PID=$!
wait_for "$W/gw.out" 'listening on' 180 "the gateway"

# Enrollment over EST with the real agent, then `postern-agent up` with a SOCKS5 listener each.
SOCKS=(); HOMES=()
for d in $(seq "$DEVICES"); do
  H="$W/agent-$d"; HOMES+=("$H")
  $AGENT enroll --home "$H" --gateway "https://127.0.0.1:$GW" --token-file "$W/token-$d" --ca-sha256 "$ROOT_SHA" > "$W/enroll-$d.log" 2>&1 \
    || { echo "run.sh: postern-agent enroll of soak-$d failed:" >&2; cat "$W/enroll-$d.log" >&2; exit 1; }
  S=$(port); SOCKS+=("$S")
  cat > "$H/agent.yaml" <<YAML
socks:
  listen: 127.0.0.1:$S
posture:
  renewMargin: 30s      # with the 1-minute lease: a renewal every 30 s
ssh:
  enabled: false        # no SSH certificates: the soak is about tunnels
YAML
  $AGENT up --home "$H" --config "$H/agent.yaml" > "$W/agent-$d.log" 2>&1 & AGENT_PIDS+=($!)
done
for d in $(seq "$DEVICES"); do wait_for "$W/agent-$d.log" 'posture (accepted|NOT compliant, allowed)' 180 "postern-agent up (soak-$d)"; done
log "gateway pid $GW_PID, $DEVICES agents up, echo on $ECHO"

# Sampler: every SAMPLE s, until the stop file appears (bounded by the longest the run may take).
echo "epoch_s,phase,rss_kib,fds,threads" > "$OUT/samples.csv"
(
  end=$(( $(date +%s) + DUR_S + 1800 ))
  while [ ! -e "$W/stop" ] && [ "$(date +%s)" -lt "$end" ] && [ -d "/proc/$GW_PID" ]; do
    echo "$(date +%s),$(cat "$W/phase"),$(rss_kib),$(fds),$(awk '/^Threads/ { print $2 }' "/proc/$GW_PID/status" 2>/dev/null || echo 0)" >> "$OUT/samples.csv"
    sleep "$SAMPLE"
  done
) & PIDS+=($!)

DRIVE=(python3 "$DRIVER" drive --echo "$ECHO" --gateway "$GW" --ca "$DATA/ca/chain.pem" --churn "$CHURN"
       --devices "$(IFS=,; echo "${HOMES[*]}")" --socks "$(IFS=,; echo "${SOCKS[*]}")")
phase warmup   # JIT and pools on both paths, so the idle baseline below is the warm gateway's
"${DRIVE[@]}" --tunnels 40 --concurrency 10 --duration 10 --out "$W/warmup.json" > "$W/warmup.log" 2>&1
settle() { # wait up to 60 s for the descriptor count to stop changing (3 equal readings 1 s apart)
  local last=-1 same=0
  for _ in $(seq 60); do
    local now; now=$(fds)
    if [ "$now" = "$last" ]; then same=$((same + 1)); [ "$same" -ge 3 ] && return 0; else same=0; fi
    last=$now; sleep 1
  done
}
settle
phase idle; sleep $(( SAMPLE * 3 + 1 ))
phase load
"${DRIVE[@]}" --tunnels "$TUNNELS" --concurrency "$CONCURRENCY" --duration "$DUR_S" --out "$OUT/driver.json" 2>&1 | tee "$W/drive.log" | sed 's/^/  /'
phase drain
settle; sleep $(( SAMPLE * 2 + 1 ))
FDS_DRAINED=$(fds); RSS_DRAINED=$(rss_kib)
phase agents-stopped
for p in "${AGENT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${AGENT_PIDS[@]}"; do for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 1; done; done
AGENT_PIDS=(); settle; sleep $(( SAMPLE + 1 ))
FDS_NO_AGENTS=$(fds)
touch "$W/stop"

# Graceful stop (SIGTERM: sessions still live would end as gateway_shutdown; the trail is sealed).
kill -TERM "$GW_PID"
for _ in $(seq 60); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$GW_PID" 2>/dev/null; then echo "run.sh: the gateway did not stop within 30 s of SIGTERM" >&2; kill -KILL "$GW_PID"; fi
GW_PID=
cp "$W/gw.err" "$OUT/gateway.log"; cp "$W/warmup.json" "$OUT/"; cp "$W/gateway.yaml" "$OUT/"; for d in $(seq "$DEVICES"); do cp "$W/agent-$d.log" "$OUT/"; done

TRAIL="$DATA/audit/trail"
VERIFY_RC=0; $POSTERN audit verify "$TRAIL" --pubkey "$DATA/audit.pub" --strict > "$OUT/verify.txt" 2>&1 || VERIFY_RC=$?
$POSTERN audit search "$TRAIL" --type session.,flow.,posture.decision --json > "$OUT/trail.jsonl" 2> "$W/search.err"
ERRORS_LOGGED=$(grep -c ' ERROR ' "$OUT/gateway.log" || true)
AGENT_LOST=$(cat "$OUT"/agent-*.log | grep -cE 'connection to .* lost|cannot reach the gateway|posture denied' || true)

python3 - "$OUT" "$VERIFY_RC" "$ERRORS_LOGGED" "$FDS_DRAINED" "$RSS_DRAINED" "$FDS_NO_AGENTS" "$DEVICES" "$AGENT_LOST" <<'PY' | tee "$OUT/summary.txt"
import collections, csv, json, statistics, sys
out, *nums = sys.argv[1:]
verify_rc, errors_logged, fds_drained, rss_drained, fds_no_agents, devices, agent_lost = map(int, nums)
rows = list(csv.DictReader(open(f"{out}/samples.csv")))
for r in rows:
    r["t"], r["rss"], r["fds"] = int(r["epoch_s"]), int(r["rss_kib"]), int(r["fds"])
idle = [r for r in rows if r["phase"] == "idle"]
load = [r for r in rows if r["phase"] == "load"]
drv = json.load(open(f"{out}/driver.json"))
checks = []
def check(ok, what):
    checks.append(ok); print(f"  [{'ok' if ok else 'FAIL'}] {what}")
med = lambda xs: statistics.median(xs) if xs else float("nan")
def window(lo, hi):
    t0, t1 = load[0]["t"], load[-1]["t"]
    return [r for r in load if t0 + lo * (t1 - t0) <= r["t"] <= t0 + hi * (t1 - t0)]
print(f"soak: {drv['tunnels']} tunnels over {drv['seconds']:.0f} s (one every {drv['intervalMs']:.0f} ms, held {drv['holdSeconds']} s), "
      f"at most {drv['maxOpen']} open, {devices} devices")
print(f"  tunnels done {drv['done']} of {drv['tunnels']}: {drv['via'].get('direct', 0)} over a fresh mTLS connection "
      f"({drv['handshakes']} full handshakes), {drv['via'].get('agent', 0)} as HTTP/2 streams through the agents; "
      f"{drv['bytesEchoed'] / 1e6:.1f} MB echoed and verified")
check(drv["done"] == drv["tunnels"] and drv["errors"] == 0,
      f"client errors: {drv['errors']}" + (f" {drv['errorsByKind']}" if drv["errors"] else ""))
for e in drv["firstErrors"][:5]:
    print(f"         {e}")
if len(load) >= 10 and idle:
    a, b = window(0.2, 0.4), window(0.8, 1.0)
    ra, rb = med([r["rss"] for r in a]), med([r["rss"] for r in b])
    fa, fb = med([r["fds"] for r in a]), med([r["fds"] for r in b])
    base_fds, base_rss = med([r["fds"] for r in idle]), med([r["rss"] for r in idle])
    print(f"  RSS MiB: idle {base_rss / 1024:.0f}, load 20-40% {ra / 1024:.0f}, last 20% {rb / 1024:.0f}, "
          f"max {max(r['rss'] for r in load) / 1024:.0f}, after drain {rss_drained / 1024:.0f}")
    check(rb <= 1.15 * ra, f"RSS flat: last 20% median {rb / 1024:.0f} MiB <= 1.15 x {ra / 1024:.0f} MiB ({rb / ra:.2f}x)")
    print(f"  fds: idle {base_fds:.0f}, load 20-40% {fa:.0f}, last 20% {fb:.0f}, max {max(r['fds'] for r in load)}, "
          f"after drain {fds_drained}, agents stopped {fds_no_agents}")
    check(fb <= 1.15 * fa + 10, f"fds flat under load: last 20% median {fb:.0f} <= 1.15 x {fa:.0f} + 10")
    check(abs(fds_drained - base_fds) <= 10, f"fds back to idle after the tunnels closed: {fds_drained} vs {base_fds:.0f} (+-10)")
else:
    check(False, f"too few samples: {len(load)} under load, {len(idle)} idle (expected >= 10 and >= 1; lower --sample)")
recs = [json.loads(l) for l in open(f"{out}/trail.jsonl") if l.strip()]
starts = {r["session"] for r in recs if r["type"] == "session.start"}
ends = {r["session"]: r.get("reason") for r in recs if r["type"] == "session.end"}
opens = {r["flow"] for r in recs if r["type"] == "flow.open"}
closes = collections.Counter(r.get("how") for r in recs if r["type"] == "flow.close")
flows_closed = {r["flow"] for r in recs if r["type"] == "flow.close"}
reasons = collections.Counter(ends.get(s, "NONE") for s in starts)
decisions = collections.Counter(r.get("device") for r in recs if r["type"] == "posture.decision")
warm = json.load(open(f"{out}/warmup.json"))
print(f"  trail (the {warm['tunnels']} warm-up tunnels included): {len(starts)} sessions started, {sum(1 for s in starts if s in ends)} ended {dict(reasons)}; "
      f"{len(opens)} flows opened, {len(opens & flows_closed)} closed {dict(closes)}")
print(f"  sessions: {drv['handshakes'] + warm['handshakes']} direct tunnels (one session each) + "
      f"{len(starts) - drv['handshakes'] - warm['handshakes']} on the agents' HTTP/2 connections")
print(f"  lease renewals: {sum(decisions.values()) - len(decisions)} ({sum(decisions.values())} posture decisions from {len(decisions)} devices)")
check(verify_rc == 0, f"postern audit verify --strict: exit {verify_rc}")
check(starts and all(ends.get(s) == "client_closed" for s in starts),
      f"every session.start has its session.end, reason client_closed: {sum(1 for s in starts if ends.get(s) == 'client_closed')} of {len(starts)}")
check(opens and opens <= flows_closed, f"every flow.open has its flow.close: {len(opens & flows_closed)} of {len(opens)}")
check(sum(decisions.values()) > len(decisions), "leases were renewed during the run")
check(agent_lost == 0, f"agents' connections lost or posture denied: {agent_lost} (agent-N.log)")
check(errors_logged == 0, f"ERROR lines in the gateway log: {errors_logged}")
print(f"load average at the end: {open('/proc/loadavg').read().split()[0]} on {__import__('os').cpu_count()} cores")
print("soak: " + ("PASSED" if all(checks) else f"FAILED ({checks.count(False)} of {len(checks)} checks)") + f"; results in {out}")
sys.exit(0 if all(checks) else 1)
PY
