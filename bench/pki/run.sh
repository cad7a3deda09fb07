#!/usr/bin/env bash
# PKI benchmarks beside openssl, in one run. Prints figures; docs/benchmarks.md records them.
# Usage: bench/pki/run.sh [ENROLL_N] [CRL_ENTRIES] [OCSP_SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ENROLL_N=${1:-1000}; CRL_ENTRIES=${2:-100000}; OCSP_SECONDS=${3:-5}

for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25*; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && "$candidate/bin/java" -version 2>&1 | grep -q '"25'; then
    export JAVA_HOME="$candidate"; break
  fi
done
"$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"25' || { echo "run.sh: no JDK 25 under \$JAVA_HOME or /usr/lib/jvm/*25*" >&2; exit 1; }
command -v openssl >/dev/null || { echo "run.sh: openssl not found (apt-get install openssl)" >&2; exit 1; }

./mvnw -B -q -Pbench -pl bench -am package -DskipTests
CP="bench/target/postern-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)"
bench() { "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
            -cp "$CP" org.postern.bench.PkiBench "$@" 2>&1 | grep -E '^(enroll|crl|ocsp)\.'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }  # bash arithmetic: mawk's %d clamps to 32 bits

DISK=$(mktemp -d "$PWD/bench/target/pki-run.XXXX")      # the real file system: fsync costs count
SHM=$(mktemp -d /dev/shm/postern-bench.XXXX)            # tmpfs, only to populate 100k CRL entries quickly
trap 'rm -rf "$SHM"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); $(openssl version)"

echo "== reference: raw ECDSA P-256 signing"
openssl speed -seconds 3 ecdsap256 2>/dev/null | grep -E '256 bits ecdsa \(nistp256\)' | awk '{print "openssl.ecdsap256 sign_per_second=" $(NF-1) " verify_per_second=" $NF}'

echo "== (1) certificate issuance"
bench enroll "$DISK/enroll" "$ENROLL_N"
# openssl ca: same CSRs (P-256), same issuing key (decrypted), one process, text index + one file per cert.
O="$DISK/openssl-ca"; mkdir -p "$O/certs"; : > "$O/index.txt"; echo 1000 > "$O/serial"
cat > "$O/ca.cnf" <<CNF
[ ca ]
default_ca = bench
[ bench ]
database = $O/index.txt
new_certs_dir = $O/certs
serial = $O/serial
certificate = $DISK/enroll/ca/issuing.crt
private_key = $DISK/enroll/openssl-issuing.key
default_md = sha256
default_days = 90
policy = anything
unique_subject = no
x509_extensions = device
[ anything ]
commonName = supplied
[ device ]
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:urn:postern:device:bench
crlDistributionPoints = URI:https://pki.example/pki/crl
authorityInfoAccess = OCSP;URI:https://pki.example/pki/ocsp
CNF
CSRS=("$DISK"/enroll/csr/*.pem); CSRS=("${CSRS[@]:0:$ENROLL_N}"); N=${#CSRS[@]}
t0=$(ms); openssl ca -batch -config "$O/ca.cnf" -notext -out "$O/all.pem" -infiles "${CSRS[@]}" 2>/dev/null; t1=$(ms)
echo "openssl.ca certs=$N ms=$((t1-t0)) per_second=$(( N * 1000 / (t1-t0 > 0 ? t1-t0 : 1) ))"

echo "== (2) CRL with $CRL_ENTRIES entries"
bench crl "$SHM/crl" "$CRL_ENTRIES"
C="$SHM/crl"; echo 01 > "$C/crlnumber"
cat > "$C/crl.cnf" <<CNF
[ ca ]
default_ca = bench
[ bench ]
database = $C/openssl-index.txt
crlnumber = $C/crlnumber
certificate = $C/ca/issuing.crt
private_key = $C/openssl-issuing.key
default_md = sha256
default_crl_days = 7
CNF
openssl ca -gencrl -config "$C/crl.cnf" -out "$C/warm.crl" 2>/dev/null
best=999999
for i in 1 2 3; do
  t0=$(ms); openssl ca -gencrl -config "$C/crl.cnf" -out "$C/openssl.crl" 2>/dev/null; t1=$(ms)
  [ $((t1-t0)) -lt $best ] && best=$((t1-t0))
done
echo "openssl.gencrl entries=$(openssl crl -in "$C/openssl.crl" -noout -text | grep -c 'Serial Number') min_ms=$best (of 3, whole process)"

echo "== (3) OCSP"
bench ocsp "$DISK/ocsp" "$OCSP_SECONDS"
