# shellcheck shell=bash
# The VPN benchmark's contenders, sourced by bench/vpn/run.sh after topology.sh (issue 13). Each
# contender NAME has:
#   NAME_up    brings its tunnel up between the laptop and gw namespaces so that the laptop reaches
#              10.88.0.5 through it (and only through it); on success sets GW_SIDE_PIDS (the
#              gateway-side processes whose CPU is measured: their descendants count too),
#              LAPTOP_SIDE_PIDS and TUNNEL_DESC (a one-line description of what was negotiated);
#              on failure prints why and returns non-zero
#   NAME_down  stops it again (the processes it started, by PID; their devices go with them)
#   NAME_tools the commands it needs, each as command:debian-package
# Every contender's tunnel device has MTU 1440 unless its protocol picks its own (ocserv: below),
# so that a 1,400-byte UDP payload (1,428-byte IP packet) crosses it unfragmented, and every
# outer packet fits the 1,500-byte veth.
#
# Adding a contender is one more block like these and its name in run.sh's CONTENDERS.

TUNNEL_MTU=1440

# wait_log FILE REGEX SECONDS WHAT PID: waits for REGEX in FILE; fails (with the log) when PID ends
wait_log() {
  for _ in $(seq $(( $3 * 10 ))); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$5" 2>/dev/null || break
    sleep 0.1
  done
  echo "run.sh: $4 not ready within $3 s:" >&2; tail -n 20 "$1" >&2; return 1
}

# one throw-away PKI per run (EC P-256, openssl): a CA, a server and a client certificate
make_pki() {
  [ -e "$W/pki/ca.crt" ] && return 0
  mkdir -m 700 "$W/pki"
  (
    cd "$W/pki"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
      -days 2 -subj "/CN=bench-vpn CA" -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign
    for who in server client; do
      local eku=serverAuth; [ "$who" = client ] && eku=clientAuth
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$who.key" -out "$who.csr" -subj "/CN=bench-vpn $who"
      printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=IP:%s\n' \
        "$eku" "$GW_IP" > "$who.ext"
      openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out "$who.crt" -extfile "$who.ext"
    done
  ) > "$W/pki.log" 2>&1 || { echo "run.sh: openssl could not make the test PKI:" >&2; cat "$W/pki.log" >&2; return 1; }
}

# ---- WireGuard: wireguard-go (userspace) at both ends, keys from `wg genkey`, ChaCha20-Poly1305
wg_tools() { echo wireguard-go:wireguard-go wg:wireguard-tools; }
wg_up() {
  WG_GW_DEV=$TOPO_PREFIX-wg; WG_LAPTOP_DEV=$TOPO_PREFIX-wl
  local side ns dev
  for side in gw laptop; do
    (umask 077; wg genkey > "$W/wg-$side.key"); wg pubkey < "$W/wg-$side.key" > "$W/wg-$side.pub"
  done
  # foreground, so that $! is the daemon itself; its UAPI socket is /var/run/wireguard/DEV.sock
  topo_start "$NS_GW" "$W/wg-gw.log" env WG_PROCESS_FOREGROUND=1 wireguard-go "$WG_GW_DEV"; WG_GW_PID=$STARTED_PID
  topo_start "$NS_LAPTOP" "$W/wg-laptop.log" env WG_PROCESS_FOREGROUND=1 wireguard-go "$WG_LAPTOP_DEV"; WG_LAPTOP_PID=$STARTED_PID
  for dev in "$WG_GW_DEV" "$WG_LAPTOP_DEV"; do
    for _ in $(seq 50); do [ -S "/var/run/wireguard/$dev.sock" ] && break; sleep 0.1; done
    [ -S "/var/run/wireguard/$dev.sock" ] || { echo "run.sh: wireguard-go made no socket for $dev:" >&2; cat "$W"/wg-*.log >&2; return 1; }
  done
  # the devices must be wireguard-go's TUN devices, not the kernel module's
  for pair in "$NS_GW:$WG_GW_DEV" "$NS_LAPTOP:$WG_LAPTOP_DEV"; do
    ns=${pair%%:*}; dev=${pair##*:}
    ip -n "$ns" -d link show "$dev" | grep -q 'tun type tun' \
      || { echo "run.sh: $dev is not a TUN device of wireguard-go (kernel WireGuard?):" >&2; ip -n "$ns" -d link show "$dev" >&2; return 1; }
  done
  in_gw wg set "$WG_GW_DEV" listen-port 51820 private-key "$W/wg-gw.key" \
    peer "$(cat "$W/wg-laptop.pub")" allowed-ips 10.99.0.2/32
  in_laptop wg set "$WG_LAPTOP_DEV" private-key "$W/wg-laptop.key" \
    peer "$(cat "$W/wg-gw.pub")" endpoint "$GW_IP:51820" allowed-ips "10.99.0.1/32,$ADMIN_NET"
  ip -n "$NS_GW" addr add 10.99.0.1/24 dev "$WG_GW_DEV"
  ip -n "$NS_GW" link set "$WG_GW_DEV" mtu "$TUNNEL_MTU" up
  ip -n "$NS_LAPTOP" addr add 10.99.0.2/24 dev "$WG_LAPTOP_DEV"
  ip -n "$NS_LAPTOP" link set "$WG_LAPTOP_DEV" mtu "$TUNNEL_MTU" up
  ip -n "$NS_LAPTOP" route add "$ADMIN_NET" dev "$WG_LAPTOP_DEV"
  GW_SIDE_PIDS=("$WG_GW_PID"); LAPTOP_SIDE_PIDS=("$WG_LAPTOP_PID")
  TUNNEL_DESC="$(wireguard-go --version | head -1), userspace TUN, ChaCha20-Poly1305, MTU $TUNNEL_MTU"
}
wg_down() { topo_stop "$WG_GW_PID" "$WG_LAPTOP_PID"; }

# ---- OpenVPN 2.6: UDP, TLS with the test PKI, data channel AES-256-GCM only, no compression,
# no DCO (the kernel data-channel offload): the userspace data plane, as all the others here
openvpn_tools() { echo openvpn:openvpn openssl:openssl; }
openvpn_up() {
  make_pki || return 1
  local common
  common="dev $TOPO_PREFIX-ov
dev-type tun
proto udp4
ca $W/pki/ca.crt
data-ciphers AES-256-GCM
tls-version-min 1.2
allow-compression no
disable-dco
tun-mtu $TUNNEL_MTU
verb 3"
  cat > "$W/openvpn-server.conf" <<CONF
$common
local $GW_IP
port 1194
cert $W/pki/server.crt
key $W/pki/server.key
dh none
keepalive 10 60
topology subnet
server 10.99.1.0 255.255.255.0
push "route ${ADMIN_NET%/*} 255.255.255.0"
CONF
  cat > "$W/openvpn-client.conf" <<CONF
$common
client
remote $GW_IP 1194
nobind
cert $W/pki/client.crt
key $W/pki/client.key
remote-cert-tls server
CONF
  topo_start "$NS_GW" "$W/openvpn-server.log" openvpn --config "$W/openvpn-server.conf"; OVPN_GW_PID=$STARTED_PID
  wait_log "$W/openvpn-server.log" 'Initialization Sequence Completed' 20 "the OpenVPN server" "$OVPN_GW_PID" || return 1
  topo_start "$NS_LAPTOP" "$W/openvpn-client.log" openvpn --config "$W/openvpn-client.conf"; OVPN_LAPTOP_PID=$STARTED_PID
  wait_log "$W/openvpn-client.log" 'Initialization Sequence Completed' 30 "the OpenVPN client" "$OVPN_LAPTOP_PID" || return 1
  grep -q "Data Channel: cipher 'AES-256-GCM'" "$W/openvpn-client.log" \
    || { echo "run.sh: the OpenVPN data channel is not AES-256-GCM:" >&2; grep -i 'data channel' "$W/openvpn-client.log" >&2; return 1; }
  GW_SIDE_PIDS=("$OVPN_GW_PID"); LAPTOP_SIDE_PIDS=("$OVPN_LAPTOP_PID")
  TUNNEL_DESC="$(openvpn --version | head -1 | cut -d' ' -f1-2), UDP, data channel AES-256-GCM, $(grep -m1 -oE 'Control Channel: [^,]+, cipher [^,]+' "$W/openvpn-client.log"), no DCO, tun-mtu $TUNNEL_MTU"
}
openvpn_down() { topo_stop "$OVPN_LAPTOP_PID" "$OVPN_GW_PID"; }

# ---- ocserv + openconnect (AnyConnect protocol): TLS for the control channel, DTLS for the data,
# a password from a plain password file (its crypt(3) SHA-256 hash written by openssl, so no
# prompt), AES-256-GCM only in both, the server certificate pinned by the client
ocserv_tools() { echo ocserv:ocserv openconnect:openconnect openssl:openssl; }
ocserv_up() {
  make_pki || return 1
  local pin
  # the workers run as nobody and connect to the sec-mod socket: they may cross $W, not list it
  chmod 711 "$W"; mkdir -m 711 "$W/ocserv-run"
  echo "bench:*:$(openssl passwd -5 bench-password)" > "$W/ocpasswd"
  echo bench-password > "$W/oc.pass"
  cat > "$W/ocserv.conf" <<CONF
auth = "plain[passwd=$W/ocpasswd]"
listen-host = $GW_IP
tcp-port = 4443
udp-port = 4443
run-as-user = nobody
run-as-group = nogroup
socket-file = $W/ocserv-run/ocserv.sock
pid-file = $W/ocserv.pid
server-cert = $W/pki/server.crt
server-key = $W/pki/server.key
isolate-workers = false
use-occtl = false
max-clients = 4
max-same-clients = 0
keepalive = 300
dpd = 60
mobile-dpd = 300
try-mtu-discovery = false
compression = false
tls-priorities = "NORMAL:%SERVER_PRECEDENCE:-CIPHER-ALL:+AES-256-GCM:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"
auth-timeout = 240
cookie-timeout = 300
deny-roaming = false
rekey-time = 172800
rekey-method = ssl
device = $TOPO_PREFIX-oc
predictable-ips = true
ipv4-network = 10.99.2.0/24
route = ${ADMIN_NET%/*}/255.255.255.0
cisco-client-compat = true
dtls-legacy = true
CONF
  # a vpnc-script that only sets the address, the MTU and the pushed routes (no DNS, no default route)
  cat > "$W/vpnc-min.sh" <<'SH'
#!/bin/sh
case "$reason" in
  connect)
    ip link set dev "$TUNDEV" mtu "${INTERNAL_IP4_MTU:-1400}" up
    ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
    i=0
    while [ "$i" -lt "${CISCO_SPLIT_INC:-0}" ] && [ "$i" -lt 16 ]; do
      eval "a=\$CISCO_SPLIT_INC_${i}_ADDR m=\$CISCO_SPLIT_INC_${i}_MASKLEN"
      ip route replace "$a/$m" dev "$TUNDEV"
      i=$((i + 1))
    done
    echo "vpnc-min: $TUNDEV $INTERNAL_IP4_ADDRESS mtu ${INTERNAL_IP4_MTU:-1400}, $CISCO_SPLIT_INC routes" >&2;;
esac
exit 0
SH
  chmod 755 "$W/vpnc-min.sh"
  pin=$(openssl x509 -in "$W/pki/server.crt" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
  topo_start "$NS_GW" "$W/ocserv.log" ocserv -f -d 1 -c "$W/ocserv.conf"; OC_GW_PID=$STARTED_PID
  wait_log "$W/ocserv.log" 'listening \(UDP\)|main\[.*\]:.*(initialized|listening)' 20 "ocserv" "$OC_GW_PID" || return 1
  topo_start "$NS_LAPTOP" "$W/openconnect.log" bash -c 'exec openconnect --non-inter --protocol=anyconnect --user bench --passwd-on-stdin \
    --servercert "pin-sha256:$1" --script "$2" --interface "$3" "https://$4:4443/" < "$5"' \
    openconnect "$pin" "$W/vpnc-min.sh" "$TOPO_PREFIX-oc" "$GW_IP" "$W/oc.pass"
  OC_LAPTOP_PID=$STARTED_PID
  wait_log "$W/openconnect.log" 'Established DTLS connection' 30 "openconnect's DTLS channel" "$OC_LAPTOP_PID" || return 1
  GW_SIDE_PIDS=("$OC_GW_PID"); LAPTOP_SIDE_PIDS=("$OC_LAPTOP_PID")
  TUNNEL_DESC="ocserv $(ocserv --version 2>&1 | head -1 | grep -oE '[0-9.]+$') + $(openconnect --version 2>&1 | head -1 | grep -oE 'v[0-9.]+'), $(grep -m1 -oE 'Established DTLS connection.*' "$W/openconnect.log" | sed 's/Established //; s/\.$//'), $(grep -m1 -oE 'mtu [0-9]+' "$W/openconnect.log" | sed 's/mtu/MTU/')"
}
ocserv_down() { topo_stop "$OC_LAPTOP_PID" "$OC_GW_PID"; }

# ---- Postern's VPN mode (issue 13): `postern gateway run` with `vpn.enabled: true` in the gw
# namespace (its TUN postern0 carries the pool 100.64.0.0/16; the admin host routes back through
# gw, so no NAT), and an enrolled `postern-agent up` with `vpn.enabled: true` in the laptop
# namespace (its own TUN, routes from the gateway's ROUTE_ADVERTISEMENT). Both through the
# launchers at the repository root (JDK 25, jars built when missing). Posture is report-only: the
# benchmark measures the tunnel, not this container's patch level. One access rule lets the bench
# group reach the admin host on every TCP and UDP port and by ping.
# POSTERN_TRANSPORT=h2 measures the HTTP/2 fallback instead of HTTP/3.
postern_tools() { echo python3:python3; }
postern_up() {
  local gw=$HERE/../../postern agent=$HERE/../../postern-agent d=$W/postern token pin
  mkdir -m 700 -p "$d"
  printf 'bench passphrase\n' > "$d/pass"
  "$gw" pki init --dir "$d/data" --name "bench-vpn" --passphrase-file "$d/pass" > "$d/init.log" 2>&1 \
    || { echo "run.sh: postern pki init failed:" >&2; cat "$d/init.log" >&2; return 1; }
  pin=$(sed -n 's/.*agents pin this with --ca-sha256): //p' "$d/init.log")
  token=$("$gw" pki device add bench-laptop --owner bench --groups bench --json --dir "$d/data" \
    --passphrase-file "$d/pass" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') \
    || { echo "run.sh: postern pki device add failed" >&2; return 1; }
  cat > "$d/gateway.yaml" <<YAML
gateway:
  id: gw-bench-vpn
dataDir: $d/data
listeners:
  tunnel: $GW_IP:8443
  admin: 127.0.0.1:9443
  ssh: 127.0.0.1:2222
posture:
  mode: report-only
access:
  rules:
    - name: bench-admin-host
      groups: [bench]
      to: ["$ADMIN_IP:1-65535"]
      protocols: [tcp, udp, icmp]
audit:
  minFree: 1MiB
vpn:
  enabled: true
  pool: 100.64.0.0/16
YAML
  topo_start "$NS_GW" "$d/gateway.log" env POSTERN_CA_PASSPHRASE="bench passphrase" "$gw" gateway run --config "$d/gateway.yaml"
  POSTERN_GW_PID=$STARTED_PID
  wait_log "$d/gateway.log" "listening on https://$GW_IP:8443" 180 "postern gateway" "$POSTERN_GW_PID" || return 1
  printf '%s\n' "$token" > "$d/token"
  in_laptop "$agent" --home "$d/agent" enroll --gateway "https://$GW_IP:8443" --token-file "$d/token" \
    --ca-sha256 "$pin" > "$d/enroll.log" 2>&1 || { echo "run.sh: postern-agent enroll failed:" >&2; cat "$d/enroll.log" >&2; return 1; }
  cat > "$d/agent.yaml" <<YAML
gateway: https://$GW_IP:8443
socks:
  enabled: false
vpn:
  enabled: true
  transport: ${POSTERN_TRANSPORT:-auto}
  dns: false
YAML
  topo_start "$NS_LAPTOP" "$d/up.log" "$agent" --home "$d/agent" up --config "$d/agent.yaml"
  POSTERN_AGENT_PID=$STARTED_PID
  wait_log "$d/up.log" "VPN up over" 180 "postern-agent up (VPN)" "$POSTERN_AGENT_PID" || return 1
  GW_SIDE_PIDS=("$POSTERN_GW_PID"); LAPTOP_SIDE_PIDS=("$POSTERN_AGENT_PID")
  TUNNEL_DESC=$(grep -m1 -o 'VPN up over.*' "$d/up.log")
}
postern_down() { topo_stop "$POSTERN_AGENT_PID" "$POSTERN_GW_PID"; }
