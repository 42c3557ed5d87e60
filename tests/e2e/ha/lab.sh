# shellcheck shell=bash
# The two-director VRRP lab, sourced by vrrp_test.sh and failover_bench.sh. Namespaces
# lvsd-h-<pid>-*: a bridge (sw), directors d1 (192.0.2.1) and d2 (192.0.2.2), realservers
# rs1/rs2 (192.0.2.11/12, lvs-realserver echo on port 7) and a client (192.0.2.50). VIP
# 192.0.2.100 on eth0, held by keepalived. Each director runs lvsd -f lvs.conf (full NAT,
# TCP_CHECKs) with --vrrp-fifo, and keepalived --vrrp with the configuration `lvsd --gen-vrrp`
# writes from the same lvs.conf. The caller sets bin (lvsd, lvsadm, lvs-realserver) and
# here (this directory), and may set ADVERT (VRRP_ADVERT_INT, default 0.1) and PREEMPT (no).
# ENGINE=xdp (default proxy) runs the packet engine instead: each lvsd `--xdp eth0` (generic
# mode) with direct-routing (-g) realservers, which hold the VIP on lo (arp_ignore=1,
# arp_announce=2) and answer the client directly; services from a keepalived-style file
# (lb_kind DR, TCP_CHECK), lvs.conf only for --gen-vrrp. There SCHED (rr; mh adds
# --cluster-seed 7) and SYNC (yes: each lvsd runs `--start-daemon master` and `--start-daemon
# backup` on eth0, as IPVS users do; no) pick the mode; FLOOD=no keeps the bridge from
# flooding unknown unicast to the directors. PREFIX names the namespaces (lvsd-h).
# Everything started is stopped and every namespace deleted by lab_cleanup (an EXIT trap).

# shellcheck disable=SC2154  # bin and here are the caller's
lab_skip() {
  echo "${0##*/}: $*; skipped"
  exit 77
}
[ "$(id -u)" -eq 0 ] || lab_skip "needs root (network namespaces, keepalived)"
for cmd in ip keepalived python3 timeout; do
  command -v "$cmd" >/dev/null || lab_skip "'$cmd' missing"
done

ENGINE=${ENGINE:-proxy}
SCHED=${SCHED:-rr}
SYNC=${SYNC:-no}
p=${PREFIX:-lvsd-h}-$$
sw=$p-sw d1=$p-d1 d2=$p-d2 rs1=$p-rs1 rs2=$p-rs2 cl=$p-cl
vip=192.0.2.100
work=$(mktemp -d /tmp/lvsd-h.XXXXXX)
pids=()
namespaces=()
ADVERT=${ADVERT:-0.1}
PREEMPT=${PREEMPT:-no}

lab_cleanup() {
  local pid ns
  set +e
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  # Bounded: whatever has not exited 5 s later is killed.
  local end=$((SECONDS + 5))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  # Then whatever still runs in a lab namespace (a process `timeout` started outlives the
  # timeout killed above; one stuck at exit, e.g. in a sanitizer's leak check, spins forever).
  for ns in "${namespaces[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$work"
}
trap lab_cleanup EXIT

lab_fail() {
  echo "${0##*/}: FAILED: $*" >&2
  local f
  for f in "$work"/*.log; do
    echo "--- $f" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: runs COMMAND every 50 ms until it succeeds.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local end=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || lab_fail "$what: not within ${seconds}s"
    sleep 0.05
  done
}

ip netns add "$sw" 2>/dev/null || lab_skip "cannot create network namespaces"
namespaces+=("$sw")
ip -n "$sw" link add br0 type bridge 2>/dev/null || lab_skip "no bridge support"
ip -n "$sw" link set br0 up
lab_host() {
  ip netns add "$1"
  namespaces+=("$1")
  local v="h$$v${#namespaces[@]}"
  ip -n "$sw" link add "$v" type veth peer name eth0 netns "$1" || lab_skip "no veth support"
  ip -n "$sw" link set "$v" master br0 up
  # FLOOD=no: no unknown-unicast flooding towards the directors. A bridge (or switch) that
  # lost a port floods the frames for that MAC, and the packet engine forwards whatever frame
  # reaches it, VRRP role and destination MAC aside: the backup would carry the dead master's
  # traffic before keepalived moves the VIP.
  if [ "${FLOOD:-yes}" = no ] && [ "${3:-}" = director ]; then
    ip netns exec "$sw" bridge link set dev "$v" flood off
  fi
  ip -n "$1" addr add "$2/24" dev eth0
  ip -n "$1" link set lo up
  ip -n "$1" link set eth0 up
}
lab_host "$d1" 192.0.2.1 director
lab_host "$d2" 192.0.2.2 director
lab_host "$rs1" 192.0.2.11
lab_host "$rs2" 192.0.2.12
lab_host "$cl" 192.0.2.50

for n in 1 2; do
  ns_var="rs$n"
  listen="192.0.2.1$n:7"
  if [ "$ENGINE" = xdp ]; then
    # Direct routing: the realserver takes the VIP's packets itself and does not answer ARP
    # for it; it listens on every address (the VIP, and its own for the health checks).
    ip -n "${!ns_var}" addr add "$vip/32" dev lo
    for s in all.arp_ignore=1 all.arp_announce=2 eth0.arp_ignore=1 eth0.arp_announce=2; do
      ip netns exec "${!ns_var}" sysctl -qw "net.ipv4.conf.$s"
    done
    listen=0.0.0.0:7
  fi
  ip netns exec "${!ns_var}" timeout 600 "$bin/lvs-realserver" --name "rs$n" \
    --tcp "$listen" >"$work/rs$n.log" 2>&1 &
  pids+=($!)
done
if [ "$ENGINE" = xdp ]; then
  # The packet engine's route lookup (bpf_fib_lookup) needs forwarding on.
  for ns in "$d1" "$d2"; do ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1; done
fi

# lab_conf N PRIORITY PEER: director N's lvs.conf.
lab_conf() {
  mkdir -p "$work/d$1"
  cat >"$work/d$1/lvs.conf" <<CONF
VIP=$vip
VIP_IF=eth0
TPORTS=7
RIPS="192.0.2.11 192.0.2.12"
LVS_FORWARD=fullnat
LVS_CHECK=service
CHECK_INTERVAL=1
VRRP_PEER=$3
VRRP_PRIORITY=$2
VRRP_ROUTER_ID=51
VRRP_ADVERT_INT=$ADVERT
VRRP_PREEMPT=$PREEMPT
CONF
  # The packet engine's services (lb_kind DR), read by lvsd -f in ENGINE=xdp.
  cat >"$work/d$1/services.conf" <<CONF
virtual_server $vip 7 {
  lb_algo $SCHED
  lb_kind DR
  protocol TCP
  delay_loop 1
  real_server 192.0.2.11 7 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
  real_server 192.0.2.12 7 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
CONF
}
lab_conf 1 150 192.0.2.2
lab_conf 2 100 192.0.2.1

declare -A keepalived_pid=()
declare -A lvsd_pid=()
ns_of() { if [ "$1" = 1 ]; then echo "$d1"; else echo "$d2"; fi; }

# start_lvsd N: lvsd of director N, following its fifo; waits for its control socket.
start_lvsd() {
  local d="$work/d$1"
  local args=(-f "$d/lvs.conf")
  if [ "$ENGINE" = xdp ]; then
    args=(-f "$d/services.conf" --xdp eth0 --xdp-mode generic)
    [ "$SCHED" = mh ] && args+=(--cluster-seed 7)
  fi
  rm -f "$d/lvsd.sock"
  # shellcheck disable=SC2086  # LVSD_ARGS: extra words for lvsd (e.g. --log-level debug)
  ip netns exec "$(ns_of "$1")" timeout 600 "$bin/lvsd" "${args[@]}" ${LVSD_ARGS:-} --workers 1 \
    --socket "$d/lvsd.sock" --vrrp-fifo "$d/vrrp.fifo" >>"$work/lvsd$1.log" 2>&1 &
  lvsd_pid[$1]=$!
  pids+=($!)
  wait_for 10 "lvsd on d$1 starts" lvsadm_on "$1" -L -n
  if [ "$ENGINE" = xdp ] && [ "$SYNC" = yes ]; then
    lvsadm_on "$1" --start-daemon master --mcast-interface eth0 --syncid 9 ||
      lab_fail "--start-daemon master on d$1"
    lvsadm_on "$1" --start-daemon backup --mcast-interface eth0 --syncid 9 ||
      lab_fail "--start-daemon backup on d$1"
  fi
}

# stop_lvsd N: SIGTERM to director N's lvsd (its XDP program goes with it); waits for it.
stop_lvsd() {
  kill -TERM "${lvsd_pid[$1]}"
  wait "${lvsd_pid[$1]}" 2>/dev/null || true
}

# start_keepalived N: keepalived --vrrp on director N with lvsd --gen-vrrp's configuration.
start_keepalived() {
  local d="$work/d$1"
  "$bin/lvsd" --gen-vrrp "$d/lvs.conf" --socket "$d/lvsd.sock" --vrrp-fifo "$d/vrrp.fifo" \
    >"$d/keepalived.conf" || lab_fail "lvsd --gen-vrrp $d/lvs.conf"
  ip netns exec "$(ns_of "$1")" timeout 600 keepalived --vrrp --dont-fork --log-console \
    --no-syslog -f "$d/keepalived.conf" -p "$d/keepalived.pid" -r "$d/vrrp.pid" \
    >>"$work/keepalived$1.log" 2>&1 &
  keepalived_pid[$1]=$!
  pids+=($!)
}

# stop_keepalived N: SIGTERM (keepalived gives the VIP up and says so with priority 0).
stop_keepalived() {
  kill -TERM "${keepalived_pid[$1]}"
  wait "${keepalived_pid[$1]}" 2>/dev/null || true
}

lvsadm_on() {
  local n=$1
  shift
  LVSD_SOCKET="$work/d$n/lvsd.sock" "$bin/lvsadm" "$@"
}
# role_is N ROLE: director N's lvsd reports ROLE.
role_is() { lvsadm_on "$1" --ha-status | grep -q "^VRRP instance VI_LVSD via .*: $2 ("; }
has_vip() { ip -n "$(ns_of "$1")" -4 addr show dev eth0 | grep -q "inet $vip/32"; }
# served_by NAME: a new client connection to the VIP is answered (by any realserver).
answered() { ip netns exec "$cl" python3 "$here/probe.py" once "$vip" 7; }
