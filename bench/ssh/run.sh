#!/usr/bin/env bash
# SSH bastion benchmark beside OpenSSH, in one run: bulk copy through `ssh -J` via the Postern
# bastion and via a plain OpenSSH sshd used as the jump host, to the same admin sshd, and new
# connections per second through each. Prints figures; docs/benchmarks.md records them.
# Usage: bench/ssh/run.sh [SIZE_MIB=512] [CONNECTIONS=20]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SIZE_MIB=${1:-512}; CONNECTIONS=${2:-20}

for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25*; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && "$candidate/bin/java" -version 2>&1 | grep -q '"25'; then
    export JAVA_HOME="$candidate"; break
  fi
done
"$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"25' || { echo "run.sh: no JDK 25 under \$JAVA_HOME or /usr/lib/jvm/*25*" >&2; exit 1; }
for t in ssh scp ssh-keygen /usr/sbin/sshd; do
  command -v "$t" >/dev/null || { echo "run.sh: $t not found (apt-get install openssh-client openssh-server)" >&2; exit 1; }
done

# Test classes of the gateway module (the bench main lives there) and its test classpath, from the reactor.
./mvnw -B -q -pl gateway -am test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
CP="gateway/target/test-classes:gateway/target/classes:$(cat gateway/target/bench-classpath.txt)"

W=$(mktemp -d /dev/shm/postern-ssh-bench.XXXX)   # tmpfs: the copy measures the network path, not the disk
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$W/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$W/admin_user"
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$W/laptop"          # the laptop's key: the bastion certifies it
cat "$W/admin_user.pub" "$W/laptop.pub" > "$W/authorized_keys"  # the plain jump host takes the plain key
ADMIN_PORT=$(port); JUMP_PORT=$(port); BASTION_PORT=$(port)
sshd_conf() { cat <<CONF
ListenAddress 127.0.0.1
HostKey $W/host_key
PidFile $W/sshd-$1.pid
AuthorizedKeysFile $W/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
CONF
}
sshd_conf admin > "$W/sshd-admin.conf"; sshd_conf jump > "$W/sshd-jump.conf"
/usr/sbin/sshd -D -e -f "$W/sshd-admin.conf" -p "$ADMIN_PORT" 2>"$W/sshd-admin.log" & PIDS+=($!)
/usr/sbin/sshd -D -e -f "$W/sshd-jump.conf" -p "$JUMP_PORT" 2>"$W/sshd-jump.log" & PIDS+=($!)

# the gateway: runs until its stdin (a fifo we hold open) closes
mkfifo "$W/gw.in"
"$JAVA_HOME/bin/java" -Dlogback.configurationFile=/dev/null -cp "$CP" org.postern.gateway.ssh.bench.SshBenchGateway \
  "$W" "$ADMIN_PORT" "$BASTION_PORT" "$W/laptop.pub" < "$W/gw.in" > "$W/gw.out" 2>"$W/gw.err" & PIDS+=($!)
exec 9>"$W/gw.in"
for _ in $(seq 120); do grep -q '^ready' "$W/gw.out" 2>/dev/null && break; sleep 0.5; done
grep -q '^ready' "$W/gw.out" || { echo "run.sh: the gateway did not start:"; cat "$W/gw.err"; exit 1; }

HOSTKEY=$(cut -d' ' -f1,2 "$W/host_key.pub")
{ cat "$W/known_hosts_bastion"; echo "[127.0.0.1]:$ADMIN_PORT $HOSTKEY"; echo "[127.0.0.1]:$JUMP_PORT $HOSTKEY"; } > "$W/known_hosts"
# Both jump hops use the same cipher (AES-128-GCM: the bastion offers only AES-GCM; OpenSSH would
# otherwise pick chacha20-poly1305 for the plain jump), no compression, same client, same admin host.
cat > "$W/ssh_config" <<CONF
Host *
  UserKnownHostsFile $W/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  Compression no
  IdentitiesOnly yes
  Ciphers aes128-gcm@openssh.com
Host postern
  HostName 127.0.0.1
  Port $BASTION_PORT
  User bench
  IdentityFile $W/laptop
  CertificateFile $W/laptop-cert.pub
Host openssh-jump
  HostName 127.0.0.1
  Port $JUMP_PORT
  User root
  IdentityFile $W/laptop
  CertificateFile none
Host admin-via-postern
  HostName 127.0.0.1
  Port $ADMIN_PORT
  User root
  IdentityFile $W/admin_user
  ProxyJump postern
Host admin-via-openssh
  HostName 127.0.0.1
  Port $ADMIN_PORT
  User root
  IdentityFile $W/admin_user
  ProxyJump openssh-jump
CONF

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); $(ssh -V 2>&1)"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$W/payload"
ssh -F "$W/ssh_config" admin-via-postern true   # warm-up (JIT, caches)
ssh -F "$W/ssh_config" admin-via-openssh true

copy() { # host -> MiB/s of scp of the payload to a tmpfs file on the admin host (same machine)
  local t0 t1; t0=$(ms); scp -q -F "$W/ssh_config" "$W/payload" "$1:$W/received"; t1=$(ms)
  cmp -s "$W/payload" "$W/received" || { echo "run.sh: the copy through $1 differs" >&2; exit 1; }
  rm -f "$W/received"
  awk -v mib="$SIZE_MIB" -v ms="$((t1 - t0))" 'BEGIN { printf "%.1f", mib * 1000 / ms }'
}
conns() { # host -> connections/s of `ssh host true`, CONNECTIONS in a row
  local t0 t1; t0=$(ms); for _ in $(seq "$CONNECTIONS"); do ssh -F "$W/ssh_config" "$1" true; done; t1=$(ms)
  awk -v n="$CONNECTIONS" -v ms="$((t1 - t0))" 'BEGIN { printf "%.2f", n * 1000 / ms }'
}
echo "== bulk copy: scp ${SIZE_MIB} MiB through ssh -J (3 runs each, alternating)"
P=(); O=()
for _ in 1 2 3; do P+=("$(copy admin-via-postern)"); O+=("$(copy admin-via-openssh)"); done
echo "copy.postern_mib_per_s runs=${P[*]}"
echo "copy.openssh_mib_per_s runs=${O[*]}"
best() { printf '%s\n' "$@" | sort -n | tail -1; }
awk -v p="$(best "${P[@]}")" -v o="$(best "${O[@]}")" 'BEGIN { printf "copy.ratio best_postern/best_openssh=%.2f (goal >= 0.80)\n", p / o }'
echo "== new connections: ${CONNECTIONS} x 'ssh -J … true' (two hops: jump + admin host)"
echo "connect.postern_per_s=$(conns admin-via-postern)"
echo "connect.openssh_per_s=$(conns admin-via-openssh)"
exec 9>&-
