#!/usr/bin/env bash
# Audit trail benchmark: durable events/s with group commit, p99 submit->durable latency, verify speed.
# Prints figures; docs/benchmarks.md records them. Usage: bench/audit/run.sh [SECONDS] [WRITERS...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SECONDS_PER_RUN=${1:-5}; shift || true
WRITERS=("$@"); [ ${#WRITERS[@]} -gt 0 ] || WRITERS=(1 16 64 256)

for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25*; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && "$candidate/bin/java" -version 2>&1 | grep -q '"25'; then
    export JAVA_HOME="$candidate"; break
  fi
done
"$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"25' || { echo "run.sh: no JDK 25 under \$JAVA_HOME or /usr/lib/jvm/*25*" >&2; exit 1; }

# Test classes of the audit module (the bench main lives there) and its test classpath, from the reactor.
./mvnw -B -q -pl audit -am test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
CP="audit/target/test-classes:audit/target/classes:$(cat audit/target/bench-classpath.txt)"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); disk: $(df -h audit/target | awk 'NR==2{print $1, $2}')"
for w in "${WRITERS[@]}"; do
  DIR=$(mktemp -d "$PWD/audit/target/audit-bench.XXXX")   # the real file system: fsync costs count
  "$JAVA_HOME/bin/java" -Dlogback.configurationFile=/dev/null -cp "$CP" org.postern.audit.trail.bench.AuditBench "$DIR" "$w" "$SECONDS_PER_RUN" \
    2>/dev/null | grep -E '^(write|verify)\.?'
  rm -rf "$DIR"
done
