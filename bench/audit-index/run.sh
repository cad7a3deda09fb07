#!/usr/bin/env bash
# Audit search index (org.postern.audit.index.AuditIndex) over a synthetic trail of N records:
# (1) generates the trail in the real format (hash chain, signed daily rotation and hourly interval
# checkpoints) and verifies it strictly with AuditVerifier; (2) builds the index beside it (time,
# size), times a catch-up with nothing new; (3) times QUERIES queries of each kind — user + month,
# device, host + month, access.denied + reason, flow.open to a host over a month (the access report)
# — each the first page of 50 with every line read back from the trail, plus a count capped at
# 100,000; (4) the same filters by a plain sequential scan of the trail, SCAN_RUNS runs each.
# Prints figures; docs/benchmarks.md ("Audit search index") records them.
# Usage: bench/audit-index/run.sh [N=1000000] [QUERIES=200] [SCAN_RUNS=3]
# Environment: SKIP_BUILD=1 (jars already built), KEEP=1 (keep the trail in bench/target/audit-index-N
# and reuse it next time; about 400 bytes a record: 4 GB at 10 M).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
N=${1:-1000000}; QUERIES=${2:-200}; SCAN_RUNS=${3:-3}
for v in N QUERIES SCAN_RUNS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: $v: expected a whole number above 0, found '${!v}'" >&2; exit 2; }
done

# shellcheck source=../../bin/find-jdk
. bin/find-jdk
JAVA_HOME="$(postern_find_jdk25)" || { echo "run.sh: needs JDK 25; $(postern_jdk_install)" >&2; exit 1; }
export JAVA_HOME

[ -n "${SKIP_BUILD:-}" ] || ./mvnw -B -q -Pbench -pl bench -am package -DskipTests
CP="bench/target/postern-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)"
bench() { "$JAVA_HOME/bin/java" -Xmx2g --enable-native-access=ALL-UNNAMED -Dlogback.configurationFile=/dev/null \
            -cp "$CP" org.postern.bench.AuditIndexBench "$@" 2>&1 | grep -E '^(gen|verify|index|query|scan)[. ]'; }

W="$PWD/bench/target/audit-index-$N"          # the real file system
cleanup() { [ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"; }
trap cleanup EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); disk: $(df -h bench/target | awk 'NR==2{print $1, $2, $4 " free"}')"
if [ ! -d "$W/audit/trail" ]; then
  rm -rf "$W"; mkdir -p "$W/audit"
  echo "== generating $N records"
  bench gen "$W/audit/trail" "$N" 7
fi
rm -rf "$W/audit/trail.index"
echo "== index and queries (warm page cache: the trail was just written or read)"
bench run "$W/audit/trail" "$W/audit/trail.index" "$QUERIES" "$SCAN_RUNS" 11
