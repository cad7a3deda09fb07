#!/usr/bin/env bash
# postern-agent footprint beside the tools it replaces a call to, in one run: wall time and peak
# RSS of `postern-agent check` (cold: package state changed; warm: unchanged) and `status`, measured
# with /usr/bin/time -v, plus `apt-get -s dist-upgrade` alone (the slowest fact on Debian).
# Usage: bench/agent/run.sh [RUNS=5]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RUNS=${1:-5}
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }

./mvnw -B -q -DskipTests package
H=$(mktemp -d)
trap 'rm -rf "$H"' EXIT
cat > "$H/policy.yaml" <<'YAML'
requireDiskEncryption: false
YAML

measure() { # label, command...
  local label=$1; shift
  local walls=() rss=()
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$H/t" "$@" > /dev/null 2>&1 || true
    read -r w r < <(tail -n 1 "$H/t"); walls+=("$w"); rss+=("$r")
  done
  printf '%-44s wall_s median=%s  max_rss_kib median=%s\n' "$label" \
    "$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")" \
    "$(printf '%s\n' "${rss[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
./postern-agent --version > /dev/null 2>&1 || true   # creates the class-data archive once
measure "apt-get -s dist-upgrade (reference)"      apt-get -s -o Debug::NoLocking=1 dist-upgrade
# cold: a fresh agent directory each run, so apt's simulation runs every time
measure "postern-agent check, cold (runs apt)"     bash -c 'rm -rf "$0/cold"; exec ./postern-agent --home "$0/cold" check --policy "$0/policy.yaml"' "$H"
./postern-agent --home "$H/warm" check --policy "$H/policy.yaml" > /dev/null 2>&1 || true
measure "postern-agent check, warm (apt ledger)"   ./postern-agent --home "$H/warm" check --policy "$H/policy.yaml"
measure "postern-agent --help (JVM floor)"         ./postern-agent --help
measure "java -version (bare JVM)"                 "${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java" -version
