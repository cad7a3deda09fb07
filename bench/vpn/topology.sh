# shellcheck shell=bash
# The VPN benchmark's network, sourced by bench/vpn/run.sh (issue 13): three network namespaces
# with a unique prefix, joined by plain veth pairs (MTU 1500, no netem):
#
#   laptop (192.0.2.2) ──"internet" 192.0.2.0/24── (192.0.2.1) gw (10.88.0.1) ──"admin network" 10.88.0.0/24── (10.88.0.5) admin
#
# gw forwards IPv4; admin's default route is gw. The laptop has NO route to 10.88.0.0/24 of its
# own: only a contender's tunnel adds one, so every byte that reaches the admin host from the
# laptop crossed that tunnel. The admin host runs `iperf3 -s` on 10.88.0.5 and answers pings.
#
# topo_up makes it all, topo_down (installed as the EXIT trap by topo_up) removes it: it stops the
# processes this run started (their PIDs, kept in TOPO_PIDS), then anything still running inside
# the namespaces this run created (only those), then deletes the namespaces, which deletes the
# veth pairs and the tunnel devices in them.
#
# Needs root, iproute2 and iperf3.

TOPO_PREFIX=${TOPO_PREFIX:-pvb$$}
NS_LAPTOP=$TOPO_PREFIX-laptop
NS_GW=$TOPO_PREFIX-gw
NS_ADMIN=$TOPO_PREFIX-admin
LAPTOP_IP=192.0.2.2
GW_IP=192.0.2.1
GW_ADMIN_IP=10.88.0.1
ADMIN_IP=10.88.0.5
ADMIN_NET=10.88.0.0/24
TOPO_PIDS=()
TOPO_NAMESPACES=()

in_laptop() { ip netns exec "$NS_LAPTOP" "$@"; }
in_gw() { ip netns exec "$NS_GW" "$@"; }
in_admin() { ip netns exec "$NS_ADMIN" "$@"; }

# topo_start NS LOG CMD... : starts CMD in the background in namespace NS (`ip netns exec` execs
# it, so $! is the command's own PID), remembers its PID for topo_down and sets STARTED_PID
topo_start() {
  local ns=$1 log=$2; shift 2
  ip netns exec "$ns" "$@" > "$log" 2>&1 &
  STARTED_PID=$!
  TOPO_PIDS+=("$STARTED_PID")
}

# topo_stop PID... : TERM, then (after at most 5 s) KILL, for PIDs this run started
topo_stop() {
  local p
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

topo_up() {
  trap topo_down EXIT
  trap 'exit 130' INT TERM
  local ns
  for ns in "$NS_LAPTOP" "$NS_GW" "$NS_ADMIN"; do
    ip netns add "$ns" || { echo "topology: cannot create network namespace $ns (root needed)" >&2; exit 1; }
    TOPO_NAMESPACES+=("$ns")
    ip -n "$ns" link set lo up
  done
  # the veth pairs are made inside the namespaces: no device of this run ever lives in the host's
  ip -n "$NS_LAPTOP" link add inet0 type veth peer name inet0 netns "$NS_GW"
  ip -n "$NS_GW" link add adm0 type veth peer name adm0 netns "$NS_ADMIN"
  ip -n "$NS_LAPTOP" addr add "$LAPTOP_IP/24" dev inet0
  ip -n "$NS_GW" addr add "$GW_IP/24" dev inet0
  ip -n "$NS_GW" addr add "$GW_ADMIN_IP/24" dev adm0
  ip -n "$NS_ADMIN" addr add "$ADMIN_IP/24" dev adm0
  ip -n "$NS_LAPTOP" link set inet0 mtu 1500 up
  ip -n "$NS_GW" link set inet0 mtu 1500 up
  ip -n "$NS_GW" link set adm0 mtu 1500 up
  ip -n "$NS_ADMIN" link set adm0 mtu 1500 up
  ip -n "$NS_ADMIN" route add default via "$GW_ADMIN_IP"
  in_gw sysctl -q -w net.ipv4.ip_forward=1
  # the admin host: iperf3 server and ping target
  topo_start "$NS_ADMIN" "$W/iperf3-server.log" iperf3 -s -B "$ADMIN_IP"
  IPERF_SERVER_PID=$STARTED_PID
  for _ in $(seq 50); do in_admin bash -c "exec 3<>/dev/tcp/$ADMIN_IP/5201" 2>/dev/null && return 0; sleep 0.1; done
  echo "topology: iperf3 -s did not listen on $ADMIN_IP:5201 within 5 s:" >&2; cat "$W/iperf3-server.log" >&2; exit 1
}

topo_down() {
  local ns p
  [ "${#TOPO_PIDS[@]}" -eq 0 ] || topo_stop "${TOPO_PIDS[@]}"
  # what our processes forked (ocserv's workers, …) and outlived them: only inside our namespaces
  for ns in "${TOPO_NAMESPACES[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  done
  for ns in "${TOPO_NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  TOPO_PIDS=(); TOPO_NAMESPACES=()
  [ -n "${KEEP:-}" ] || [ -z "${W:-}" ] || rm -rf "$W"
}
