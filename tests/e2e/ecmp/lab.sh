# shellcheck shell=bash
# shellcheck disable=SC2154  # bin, work, lab_prefix and lab_dir come from the sourcing script
# The ECMP lab (issue 9, active/active directors): sourced by ecmp_test.sh and measure.sh.
#
#   client 198.51.100.2 --- router 198.51.100.1 | 192.0.2.1 (bridge br0) --- d1..d3 192.0.2.11-13
#   d1..d3 198.51.100.141-143 --- bridge br1 in the realservers' namespace: 198.51.100.131-134
#
# The router runs bird2: eBGP (AS 65000) to each director (AS 65001) with BFD, and installs the
# VIP 203.0.113.10/32 as one multipath route (hash-threshold: bird's kernel protocol with
# `merge paths`) with an L4 hash: fib_multipath_hash_policy=3 with fields 0x0037 (addresses,
# protocol, ports). Not policy 1 here: the client's packets cross a veth with the random hash
# its TCP socket gave them, and policy 1 reuses a packet's L4 hash when it has one, so every
# connection, even from the same ports, would draw a director at random. On a real router
# packets arrive from a NIC whose RSS hash is of the 5-tuple, and policy 1 is right. Each
# director runs bird2 and lvsd
# (by default the full-NAT proxy engine; realservers reply to the director's own address, so
# the return path needs nothing) with --cluster-seed and --bgp-bird-socket: lvsd announces the
# VIP while a realserver is up and it is not drained. The service is mh with mh-port, its
# realservers added in a different order on each director.
#
# Direct routing (lab_mode=dr): each director runs `lvsd --xdp up0` (generic XDP: fine for a
# lab) with -g realservers; each realserver has its own namespace rs1..rs4 on br1 (the rs
# namespace is then only the switch) holding the VIP on lo with arp_ignore=1/arp_announce=2,
# and replies to the client directly through the router's leg on br1 (198.51.100.129). The
# realservers see the client's address, so probe.py cannot tell the director: director_map
# asks the router which nexthop its multipath hash gives each flow (`ip route get` with the
# ports).
#
# Caller sets: bin (build bin dir), lab_prefix (namespace prefix), work (temp dir), and
# optionally lab_mode (proxy, the default, or dr). Requires root, ip, bird, birdc, python3.

vip=203.0.113.10
lab_mode=${lab_mode:-proxy}
# How directors add realservers: the proxy's full NAT, or direct routing in the packet engine.
lab_namespaces="cl rt d1 d2 d3 rs"
if [ "$lab_mode" = dr ]; then lab_fwd=-g lab_namespaces+=" rs1 rs2 rs3 rs4"; else lab_fwd=--fullnat; fi
lab_ns() { echo "$lab_prefix-$1"; }
in_ns() { local ns; ns=$(lab_ns "$1"); shift; ip netns exec "$ns" "$@"; }
lab_pids=()

# Background processes are started as `ip netns exec NS PROGRAM &`: ip execs PROGRAM, so $! is
# the program itself. Cleanup also kills whatever else still runs in the lab's namespaces
# (they are this run's own: the prefix carries the PID).
lab_cleanup() {
  local pid ns
  for pid in "${lab_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for ns in $lab_namespaces; do
    for pid in $(ip netns pids "$(lab_ns "$ns")" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  { for pid in "${lab_pids[@]}"; do wait "$pid" || true; done; } 2>/dev/null  # no "Killed" lines
  for ns in $lab_namespaces; do ip netns del "$(lab_ns "$ns")" 2>/dev/null || true; done
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 20 ms, bounded.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$end" ]; then echo "timed out after ${secs}s waiting for: $what" >&2; return 1; fi
    sleep 0.02
  done
}

veth() {  # veth NS_A IF_A NS_B IF_B
  ip link add "$2" netns "$(lab_ns "$1")" type veth peer name "$4" netns "$(lab_ns "$3")"
}

router_bird_conf() {
  cat <<CONF
router id 192.0.2.1;
protocol device { scan time 1; }
protocol kernel {
  ipv4 { import none; export all; };
  merge paths on;
}
protocol bfd {
  interface "br0" { min rx interval 50 ms; min tx interval 50 ms; multiplier 4; };
}
template bgp director {
  local 192.0.2.1 as 65000;
  hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; error wait time 1, 2;
  bfd on;
  ipv4 { import all; export none; };
}
protocol bgp d1 from director { neighbor 192.0.2.11 as 65001; }
protocol bgp d2 from director { neighbor 192.0.2.12 as 65001; }
protocol bgp d3 from director { neighbor 192.0.2.13 as 65001; }
CONF
}

director_bird_conf() {  # director_bird_conf I
  cat <<CONF
router id 192.0.2.1$1;
protocol device { scan time 1; }
include "$work/d$1/vips.conf";
protocol bfd {
  interface "up0" { min rx interval 50 ms; min tx interval 50 ms; multiplier 4; };
}
protocol bgp uplink {
  local 192.0.2.1$1 as 65001;
  neighbor 192.0.2.1 as 65000;
  hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; error wait time 1, 2;
  bfd on;
  ipv4 { import none; export where proto = "lvsd_vips4"; next hop self; };
}
CONF
}

lab_up() {
  local ns i
  for ns in $lab_namespaces; do
    ip netns add "$(lab_ns "$ns")"
    in_ns "$ns" ip link set lo up
  done
  veth cl eth0 rt cl0
  in_ns cl ip addr add 198.51.100.2/25 dev eth0
  in_ns cl ip link set eth0 up
  in_ns cl ip route add default via 198.51.100.1
  in_ns rt ip addr add 198.51.100.1/25 dev cl0
  in_ns rt ip link set cl0 up
  in_ns rt ip link add br0 type bridge
  in_ns rt ip addr add 192.0.2.1/24 dev br0
  in_ns rt ip link set br0 up
  in_ns rt sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=3 net.ipv4.fib_multipath_hash_fields=0x0037
  in_ns rs ip link add br1 type bridge
  in_ns rs ip link set br1 up
  if [ "$lab_mode" = dr ]; then dr_realservers_up; else
    for i in 1 2 3 4; do in_ns rs ip addr add "198.51.100.13$i/25" dev br1; done
  fi
  for i in 1 2 3; do
    veth "d$i" up0 rt "d$i"
    in_ns rt ip link set "d$i" master br0 up
    in_ns "d$i" ip addr add "192.0.2.1$i/24" dev up0
    in_ns "d$i" ip link set up0 up
    in_ns "d$i" ip route add default via 192.0.2.1
    veth "d$i" dn0 rs "rs-d$i"
    in_ns rs ip link set "rs-d$i" master br1 up
    in_ns "d$i" ip addr add "198.51.100.14$i/25" dev dn0
    in_ns "d$i" ip link set dn0 up
    in_ns "d$i" ip addr add "$vip/32" dev lo
    # Direct routing: the engine's route lookup towards the realservers needs forwarding on.
    [ "$lab_mode" != dr ] || in_ns "d$i" sysctl -qw net.ipv4.ip_forward=1
  done
  # Realservers rs1..rs4 (rs4 is added to no director at first).
  for i in 1 2 3 4; do
    if [ "$lab_mode" = dr ]; then
      ip netns exec "$(lab_ns "rs$i")" "$bin/lvs-realserver" --name "rs$i" --tcp "$vip:80" --report-peer \
        >"$work/rs$i.log" 2>&1 &
    else
      ip netns exec "$(lab_ns rs)" "$bin/lvs-realserver" --name "rs$i" --tcp "198.51.100.13$i:80" --report-peer \
        >"$work/rs$i.log" 2>&1 &
    fi
    lab_pids+=($!)
  done
  mkdir -p "$work/rt"
  router_bird_conf >"$work/rt/bird.conf"
  ip netns exec "$(lab_ns rt)" bird -f -c "$work/rt/bird.conf" -s "$work/rt/bird.ctl" -P "$work/rt/bird.pid" \
    >"$work/rt/bird.log" 2>&1 &
  lab_pids+=($!)
  for i in 1 2 3; do director_up "$i"; done
}

# Direct routing: realservers rs1..rs4 in namespaces of their own on br1, holding the VIP on lo
# (not answering ARP for it), replying to the client through the router's leg on br1.
dr_realservers_up() {
  local i
  veth rt rs0 rs rs-rt
  in_ns rs ip link set rs-rt master br1 up
  in_ns rt ip addr add 198.51.100.129/25 dev rs0
  in_ns rt ip link set rs0 up
  # The replies come from the VIP, which the router routes towards the directors.
  in_ns rt sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.rs0.rp_filter=0
  for i in 1 2 3 4; do
    veth "rs$i" eth0 rs "rs-r$i"
    in_ns rs ip link set "rs-r$i" master br1 up
    in_ns "rs$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
    in_ns "rs$i" ip addr add "198.51.100.13$i/25" dev eth0
    in_ns "rs$i" ip addr add "$vip/32" dev lo
    in_ns "rs$i" ip link set eth0 up
    in_ns "rs$i" ip route add default via 198.51.100.129
  done
}

# director_up I: bird and lvsd on director I.
director_up() {
  local i=$1 d="$work/d$1"
  mkdir -p "$d"
  echo "protocol static lvsd_vips4 { ipv4; }" >"$d/vips.conf"
  director_bird_conf "$i" >"$d/bird.conf"
  ip netns exec "$(lab_ns "d$i")" bird -f -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid" >"$d/bird.log" 2>&1 &
  lab_pids+=($!)
  eval "dir_bird_$i=$!"
  wait_for 5 "bird's socket on d$i" test -S "$d/bird.ctl"
  lvsd_up "$i"
}

# lvsd_up I: lvsd on director I (again, after a kill), its service and realservers rs1..rs3 in
# a director-specific order.
lvsd_up() {
  local i=$1 d="$work/d$1" order
  rm -f "$d/lvsd.sock"
  local engine=()
  [ "$lab_mode" != dr ] || engine=(--xdp up0 --xdp-mode generic)
  ip netns exec "$(lab_ns "d$i")" "$bin/lvsd" --socket "$d/lvsd.sock" --workers 1 --cluster-seed 2026 \
    "${engine[@]}" --bgp-bird-socket "$d/bird.ctl" --bgp-vips-file "$d/vips.conf" \
    --bgp-drain-file "$d/drain" >"$d/lvsd.log" 2>&1 &
  lab_pids+=($!)
  eval "dir_lvsd_$i=$!"
  wait_for 5 "lvsd's socket on d$i" test -S "$d/lvsd.sock"
  adm "$i" -A -t "$vip:80" -s mh -b mh-port
  case $i in 1) order="1 2 3" ;; 2) order="3 1 2" ;; *) order="2 3 1" ;; esac
  for r in $order; do adm "$i" -a -t "$vip:80" -r "198.51.100.13$r:80" "$lab_fwd"; done
}

adm() {  # adm I LVSADM-ARGS...: lvsadm against director I
  local i=$1; shift
  LVSD_SOCKET="$work/d$i/lvsd.sock" in_ns "d$i" "$bin/lvsadm" "$@"
}

# The router's nexthops for the VIP, e.g. "192.0.2.11 192.0.2.12 192.0.2.13" (sorted).
vip_nexthops() {
  in_ns rt ip -4 route show "$vip/32" | grep -o 'via [0-9.]*' | awk '{print $2}' | sort | tr '\n' ' ' | sed 's/ $//'
}
nexthops_are() { [ "$(vip_nexthops)" = "$1" ]; }

# probe ARGS...: the client's probe (probe.py) in the client namespace.
probe() { in_ns cl python3 "$lab_dir/probe.py" "$@"; }

# director_map FIRST COUNT: "SPORT dN" for the client ports FIRST.., the director the router's
# multipath hash gives each flow now (ip route get with the flow's ports and input interface).
director_map() {
  local first=$1 count=$2 sport
  for ((sport = first; sport < first + count; sport++)); do
    echo "route get $vip from 198.51.100.2 iif cl0 ipproto tcp sport $sport dport 80"
  done | in_ns rt ip -batch - | grep -o 'via 192.0.2.1[0-9]' | awk -v s="$first" '{print s + NR - 1, "d" substr($2, length($2))}'
}

# with_directors MAP FILE: fills the director column ("?" in direct routing) of probe.py's
# lines in FILE from director_map's MAP, in place.
with_directors() {
  awk 'NR == FNR { d[$1] = $2; next } $2 == "?" && ($1 in d) { $2 = d[$1] } { print }' "$1" "$2" >"$2.tmp"
  mv "$2.tmp" "$2"
}

# listed_directors [STATE]: "SPORT dN" for the TCP entries in STATE (default ESTABLISHED; "any")
# each director lists (-L -c); a director whose lvsd is gone lists nothing.
listed_directors() {
  local i state=${1:-ESTABLISHED}
  for i in 1 2 3; do
    { adm "$i" -L -c -n 2>/dev/null || true; } |
      awk -v d="d$i" -v s="$state" '$1 == "TCP" && (s == "any" || $3 == s) { n = split($4, a, ":"); print a[n], d }'
  done
}
