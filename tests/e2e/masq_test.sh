#!/usr/bin/env bash
# Masquerading (-m) end to end in network namespaces: a client (192.0.2.11), the director
# (192.0.2.1, VIP 192.0.2.100) and two realservers (192.0.2.21/.22, default route via the
# director, subnet route removed) on one bridge, IPv4 and IPv6 (2001:db8::/64). The real lvsd
# serves TCP and UDP with Masq realservers (lvs-realserver --report-peer says whom it saw).
# Services come from lvsadm -a -m, lvsd's -r ADDR,masq and the article's lvs.conf as written.
# Checks: the realserver saw the client's own address and port; replies came from VIP:port;
# lvsadm lists Masq and counts; SIGTERM removes the nftables table, the ip rules and the routes;
# after SIGKILL the next start replaces the leftovers (also without Masq realservers) and
# `lvsd --cleanup` removes them;
# refusals: not root (setpriv), a realserver of the other family.
# Exit 77 (skip) when not root or namespaces/nftables are unavailable.
# Usage: masq_test.sh BIN_DIR
set -euo pipefail
bin=${1:?BIN_DIR}
bin=$(cd "$bin" && pwd)
name=masq_test
skip() { echo "$name: $*; skipped"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, nftables, policy routing)"
for cmd in ip ss nft setpriv timeout dd; do
  command -v "$cmd" >/dev/null || skip "'$cmd' missing"
done

work=$(mktemp -d /tmp/lvsd-masq.XXXXXX)
chmod 755 "$work"
p=lm$$
sw=$p-sw cli=$p-cli dir=$p-dir rs1=$p-rs1 rs2=$p-rs2
all_ns=("$sw" "$cli" "$dir" "$rs1" "$rs2")
pids=()
lvsd_pid=
cleanup() {
  local pid
  [ -n "$lvsd_pid" ] && kill -KILL "$lvsd_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  local ns
  for ns in "${all_ns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "$name: FAILED: $*" >&2
  tail -n 30 "$work"/*.log >&2 || true
  exit 1
}
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# --- the lab -------------------------------------------------------------------------------
ip netns add "$sw" 2>/dev/null || skip "cannot create network namespaces"
for ns in "$cli" "$dir" "$rs1" "$rs2"; do ip netns add "$ns"; done
nsx "$sw" ip link add br0 type bridge
nsx "$sw" ip link set br0 up
i=0
for ns in "$cli" "$dir" "$rs1" "$rs2"; do
  i=$((i + 1))
  ip link add eth0 netns "$ns" type veth peer name "p$i" netns "$sw"
  nsx "$sw" ip link set "p$i" master br0 up
  nsx "$ns" ip link set lo up
  nsx "$ns" ip link set eth0 up
done
nsx "$cli" ip addr add 192.0.2.11/24 dev eth0
nsx "$cli" ip addr add 2001:db8::11/64 dev eth0 nodad
nsx "$dir" ip addr add 192.0.2.1/24 dev eth0
nsx "$dir" ip addr add 192.0.2.100/24 dev eth0
nsx "$dir" ip addr add 2001:db8::1/64 dev eth0 nodad
nsx "$dir" ip addr add 2001:db8::100/64 dev eth0 nodad
for n in 1 2; do
  ns=$p-rs$n
  nsx "$ns" ip addr add "192.0.2.2$n/24" dev eth0
  nsx "$ns" ip addr add "2001:db8::2$n/64" dev eth0 nodad
  nsx "$ns" ip route add default via 192.0.2.1 dev eth0
  nsx "$ns" ip -6 route add default via 2001:db8::1 dev eth0
  # As the article's lvs-route: only the default route through the director remains.
  nsx "$ns" ip route del 192.0.2.0/24 dev eth0
  nsx "$ns" ip -6 route del 2001:db8::/64 dev eth0
  for a in "192.0.2.2$n" "[2001:db8::2$n]"; do
    tag=$n-$(echo "$a" | tr -d '[]:.')
    timeout -k 5 120 ip netns exec "$ns" "$bin/lvs-realserver" --name "rs$n" --report-peer \
      --tcp "$a:23" --udp "$a:177" >"$work/rs$tag.out" 2>"$work/rs$tag.log" &
    pids+=("$!")
    for _ in $(seq 100); do grep -qs '^ready' "$work/rs$tag.out" && break; sleep 0.05; done
    grep -qs '^ready' "$work/rs$tag.out" || fail "realserver rs$n on $a did not start"
  done
done
# The director does not forward: replies reach the client only through lvsd's sockets.
nsx "$dir" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0

export LVSD_SOCKET=$work/lvsd.sock
lvsadm() { "$bin/lvsadm" "$@"; }

start_lvsd() {
  rm -f "$LVSD_SOCKET"
  ip netns exec "$dir" "$bin/lvsd" --workers 1 --grace 1 "$@" >>"$work/lvsd.out" 2>>"$work/lvsd.log" &
  lvsd_pid=$!
  for _ in $(seq 200); do lvsadm -L -n >/dev/null 2>&1 && return 0; sleep 0.05; done
  fail "lvsd did not start"
}
stop_lvsd() {  # SIGNAL; after TERM lvsd must exit 0 (sanitizer reports make it fail)
  local rc=0
  kill "-$1" "$lvsd_pid"
  wait "$lvsd_pid" 2>/dev/null || rc=$?
  lvsd_pid=
  [ "$1" != TERM ] || [ "$rc" -eq 0 ] || fail "lvsd exited $rc after SIGTERM"
}

# tcp_probe VIP PORT: prints "LOCAL GREETING" (the client's own address:port, the first line).
tcp_probe() {
  nsx "$cli" timeout 10 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    IFS= read -r -t 5 line <&3 || exit 1
    local=$(ss -Htn state established | awk "{print \$3}")
    echo "$local $line"' _ "$1" "$2"
}
# udp_probe VIP PORT: sends "hi" on a connected socket (so only VIP:PORT can answer it);
# prints "LOCAL REPLY".
udp_probe() {
  nsx "$cli" timeout 10 bash -c '
    exec 4<>"/dev/udp/$1/$2" || exit 1
    printf hi >&4
    reply=$(timeout 5 dd bs=4096 count=1 status=none <&4) || exit 1
    local=$(ss -Hun state established | awk "{print \$3}")
    echo "$local $reply"' _ "$1" "$2"
}

# check_tcp VIP N: N connections; each greeting must name the client's own address and port.
check_tcp() {
  local seen="" k out me line
  for k in $(seq "$2"); do
    out=$(tcp_probe "$1" 23) || fail "TCP connection $k to $1:23 failed"
    me=${out%% *}
    line=${out#* }
    case $line in
      "rs"[12]" peer=$me") ;;
      *) fail "TCP to $1:23 from $me: the realserver said '$line' (expected rsN peer=$me)" ;;
    esac
    seen="$seen ${line%% *}"
  done
  echo "TCP $1:23: $seen"
  [[ $seen == *rs1* && $seen == *rs2* ]] || fail "TCP to $1:23 did not reach both realservers:$seen"
}
check_udp() {
  local k out me line
  for k in $(seq "$2"); do
    out=$(udp_probe "$1" 177) || fail "UDP datagram $k to $1:177 got no reply from $1:177"
    me=${out%% *}
    line=${out#* }
    case $line in
      "rs"[12]" peer=$me: hi") ;;
      *) fail "UDP to $1:177 from $me: the realserver said '$line' (expected rsN peer=$me: hi)" ;;
    esac
    echo "UDP $1:177: $line"
  done
}

# has PATTERN CMD...: does CMD's standard output match? (Output captured first: `cmd | grep -q`
# under pipefail fails when grep exits before cmd finished writing.)
has() {
  local pattern=$1 out
  shift
  out=$("$@" 2>/dev/null) || true
  grep -q -- "$pattern" <<<"$out"
}
state_present() {  # the director has lvsd's table, v4 and v6 rules and routes
  has 'table inet lvsd' nsx "$dir" nft list tables || fail "no nftables table inet lvsd"
  has 'fwmark 0x4c56 lookup 19542' nsx "$dir" ip rule || fail "no IPv4 ip rule"
  has 'fwmark 0x4c56 lookup 19542' nsx "$dir" ip -6 rule || fail "no IPv6 ip rule"
  has '^local default dev lo' nsx "$dir" ip route show table 19542 || fail "no IPv4 route"
  has '^local default dev lo' nsx "$dir" ip -6 route show table 19542 || fail "no IPv6 route"
}
state_absent() {  # $1: when
  ! has lvsd nsx "$dir" nft list tables || fail "$1: nftables table inet lvsd left behind"
  ! has 0x4c56 nsx "$dir" ip rule || fail "$1: IPv4 ip rule left behind"
  ! has 0x4c56 nsx "$dir" ip -6 rule || fail "$1: IPv6 ip rule left behind"
  ! has . nsx "$dir" ip route show table 19542 || fail "$1: IPv4 routes left in table 19542"
  ! has . nsx "$dir" ip -6 route show table 19542 || fail "$1: IPv6 routes left in table 19542"
}

add_services() {
  lvsadm -A -t 192.0.2.100:23 -s rr
  lvsadm -a -t 192.0.2.100:23 -r 192.0.2.21:23 -m
  lvsadm -a -t 192.0.2.100:23 -r 192.0.2.22:23 -m
  lvsadm -A -u 192.0.2.100:177 -s rr
  lvsadm -a -u 192.0.2.100:177 -r 192.0.2.21:177 -m
  lvsadm -a -u 192.0.2.100:177 -r 192.0.2.22:177 -m
  lvsadm -A -t '[2001:db8::100]:23' -s rr
  lvsadm -a -t '[2001:db8::100]:23' -r '[2001:db8::21]:23' -m
  lvsadm -a -t '[2001:db8::100]:23' -r '[2001:db8::22]:23' -m
  lvsadm -A -u '[2001:db8::100]:177' -s rr
  lvsadm -a -u '[2001:db8::100]:177' -r '[2001:db8::21]:177' -m
}

# --- 1. traffic, listing, counters, stop -------------------------------------------------------
state_absent "before the test"
start_lvsd
add_services || fail "lvsadm could not add the Masq realservers: $(tail -n 3 "$work/lvsd.log")"
state_present
check_tcp 192.0.2.100 4
check_udp 192.0.2.100 2
check_tcp 2001:db8::100 4
check_udp 2001:db8::100 1
echo "\$ lvsadm -L -n"
lvsadm -L -n | tee "$work/list.txt"
[ "$(grep -c -- '-> .* Masq ' "$work/list.txt")" -eq 7 ] || fail "lvsadm -L -n does not list 7 Masq realservers"
stats=$(lvsadm -L -n --stats)
echo "$stats"
conns=$(echo "$stats" | awk '$1 == "TCP" && $2 == "192.0.2.100:23" {print $3}')
[ "${conns:-0}" -ge 4 ] || fail "TCP 192.0.2.100:23 counted ${conns:-0} connections (expected >= 4)"
inbytes=$(echo "$stats" | awk '$1 == "UDP" && $2 == "192.0.2.100:177" {print $6}')
[ "${inbytes:-0}" != 0 ] || fail "UDP 192.0.2.100:177 counted no inbytes"
stop_lvsd TERM
grep -q 'removed nftables table inet lvsd' "$work/lvsd.log" || fail "lvsd did not log what it removed"
state_absent "after SIGTERM"
echo "SIGTERM: nothing left behind"

# --- 1b. the article's lvs.conf as written (LVS_FORWARD defaults to masq) -----------------------
cat >"$work/lvs.conf" <<'CONF'
VIP=192.0.2.100
VIP_IF=eth0:110
LVS_IF="eth0"
TPORTS="23"
UPORTS="177"
RIPS="192.0.2.21 192.0.2.22"
CONF
start_lvsd -f "$work/lvs.conf"
for _ in $(seq 200); do
  [ "$(lvsadm -L -n | grep -c -- '-> .* Masq ')" -eq 4 ] && break
  sleep 0.05
done
echo "\$ lvsd -f lvs.conf; lvsadm -L -n"
lvsadm -L -n | tee "$work/list.txt"
[ "$(grep -c -- '-> .* Masq ' "$work/list.txt")" -eq 4 ] || fail "lvs.conf: 4 Masq realservers expected"
check_tcp 192.0.2.100 2
check_udp 192.0.2.100 2
stop_lvsd TERM
state_absent "after lvsd -f lvs.conf stopped"

# --- 2. SIGKILL leftovers: the next start replaces them, --cleanup removes them ----------------
start_lvsd -t 192.0.2.100:23 -s rr -r 192.0.2.21:23,masq -r 192.0.2.22:23,masq
has 'table inet lvsd' nsx "$dir" nft list tables || fail "no nftables table after start"
check_tcp 192.0.2.100 2
stop_lvsd KILL
has 'table inet lvsd' nsx "$dir" nft list tables || fail "SIGKILL: expected the table to stay"
start_lvsd -t 192.0.2.100:23 -s rr -r 192.0.2.21:23,masq -r 192.0.2.22:23,masq
rules=$(nsx "$dir" ip rule)
[ "$(grep -c 'fwmark 0x4c56' <<<"$rules")" -eq 1 ] || fail "restart: the IPv4 rule is not there exactly once"
check_tcp 192.0.2.100 2
stop_lvsd KILL
out=$(nsx "$dir" "$bin/lvsd" --cleanup) || fail "lvsd --cleanup failed"
echo "\$ lvsd --cleanup"
echo "$out"
grep -q 'removed nftables table inet lvsd' <<<"$out" || fail "--cleanup did not report the table"
grep -q 'removed ip rule fwmark 0x4c56 lookup 19542 (IPv4)' <<<"$out" || fail "--cleanup did not report the rule"
grep -q 'removed ip route local 0.0.0.0/0 dev lo table 19542 (IPv4)' <<<"$out" || fail "--cleanup did not report the route"
state_absent "after --cleanup"
out=$(nsx "$dir" "$bin/lvsd" --cleanup) || fail "a second lvsd --cleanup failed"
[ "$out" = "lvsd: no masquerading state to remove" ] || fail "second --cleanup said: $out"
# A killed lvsd's state also goes when the next lvsd starts without any Masq realserver.
start_lvsd -t 192.0.2.100:23 -s rr -r 192.0.2.21:23,masq
has 'table inet lvsd' nsx "$dir" nft list tables || fail "no nftables table after start"
stop_lvsd KILL
start_lvsd
state_absent "after a start following SIGKILL"
grep -q 'removed masquerading leftovers of an earlier run: nftables table inet lvsd' "$work/lvsd.log" ||
  fail "lvsd did not log the leftovers it removed"
stop_lvsd TERM
echo "SIGKILL: the next start and --cleanup remove the leftovers"

# --- 3. refusals ---------------------------------------------------------------------------
set +e
out=$(ip netns exec "$dir" setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$bin/lvsd" --socket "$work/nobody.sock" -t 192.0.2.100:2300 -r 192.0.2.21:2323,masq 2>&1)
rc=$?
set -e
echo "not root: exit $rc: $out"
[ "$rc" -eq 1 ] || fail "lvsd as nobody with a Masq realserver exited $rc"
grep -q 'needs CAP_NET_ADMIN' <<<"$out" || fail "lvsd as nobody said: $out"
state_absent "after the refusal as nobody"
# lvsd running as nobody: lvsadm -a -m is refused with the reason; the table is unchanged.
mkdir -m 777 "$work/nobody"
ip netns exec "$dir" setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$bin/lvsd" --workers 1 --socket "$work/nobody/lvsd.sock" >"$work/nobody.out" 2>"$work/nobody.log" &
nobody_pid=$!
pids+=("$nobody_pid")
for _ in $(seq 200); do
  LVSD_SOCKET=$work/nobody/lvsd.sock lvsadm -L -n >/dev/null 2>&1 && break
  sleep 0.05
done
LVSD_SOCKET=$work/nobody/lvsd.sock lvsadm -A -t 192.0.2.100:2300 || fail "lvsd as nobody: -A failed"
set +e
out=$(LVSD_SOCKET=$work/nobody/lvsd.sock lvsadm -a -t 192.0.2.100:2300 -r 192.0.2.21:2323 -m 2>&1)
rc=$?
set -e
echo "lvsadm -a -m on lvsd as nobody: exit $rc: $out"
[ "$rc" -eq 255 ] || fail "lvsadm -a -m on lvsd as nobody exited $rc"
[ "$out" = "lvsadm: lvsd cannot apply the change: masquerading (-m) needs CAP_NET_ADMIN to install its nftables table and policy routing: run lvsd as root, or use full-NAT (--fullnat) realservers" ] ||
  fail "lvsadm -a -m on lvsd as nobody said: $out"
listing=$(LVSD_SOCKET=$work/nobody/lvsd.sock lvsadm -L -n)
! grep -q -- '->  *192' <<<"$listing" || fail "the refused realserver is listed: $listing"
kill -TERM "$nobody_pid"
wait "$nobody_pid" || fail "lvsd as nobody did not stop cleanly"
state_absent "after lvsd as nobody"
set +e
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$bin/lvsd" --cleanup 2>&1)
rc=$?
set -e
echo "lvsd --cleanup as nobody: exit $rc: $out"
[ "$rc" -eq 1 ] && grep -q 'needs CAP_NET_ADMIN' <<<"$out" || fail "--cleanup as nobody: exit $rc: $out"
set +e
out=$(ip netns exec "$dir" "$bin/lvsd" --socket "$work/mixed.sock" -t 192.0.2.100:2300 \
  -r '[2001:db8::21]:2323,masq' 2>&1)
rc=$?
set -e
echo "mixed families: exit $rc: $out"
[ "$rc" -ne 0 ] || fail "a Masq realserver of the other family was accepted"
grep -q "address family" <<<"$out" || fail "mixed families said: $out"
state_absent "after the mixed-family refusal"
echo "$name: OK"
