#!/usr/bin/env bash
# lvsd --xdp end to end: client, director and realserver network namespaces on veth
# (documentation ranges only), a real lvsd started with --xdp on both director legs and a
# masqueraded (-m) TCP service from flags and a UDP one from `lvsadm -A/-a ... -m`, the
# realserver routing back through the director.
# Proves: a 4 MiB TCP upload and 2 MiB download through the VIP arrive intact (hash compared),
# 20 UDP exchanges are answered, `lvsadm -L -n --stats` counts the packets, `lvsadm -L -c`
# lists the flows, /metrics counts them, a UDP flow goes after --set's timeout, -Z zeroes the
# counters, lvsadm --check fails naming d1 while another program holds its XDP hook and passes
# again once lvsd has attached its own again, and after SIGTERM no XDP program is left on the
# interfaces; lvsd --xdp on a missing
# interface exits 1 naming it, and without privileges says what it needs. Root only (exit 77 =
# skipped otherwise).
#
#   client 203.0.113.2 [c0] --- [d0] 203.0.113.1  director  198.51.100.1 [d1] --- [r0]
#   198.51.100.10; VIP 192.0.2.1, routed by the client to the director, local nowhere.
#
# Usage: lvsd_xdp_test.sh BIN_DIR   (holds lvsd, lvsadm and lvs-decap)
set -u
bin=${1:?usage: lvsd_xdp_test.sh BIN_DIR}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root: network namespaces and XDP"
for t in ip ethtool python3 curl; do command -v "$t" >/dev/null || skip "needs $t"; done

id=$$
c=lvsxd-c-$id d=lvsxd-d-$id r=lvsxd-r-$id
tmp=$(mktemp -d)
lvsd_pid=
cleanup() {
  [ -n "$lvsd_pid" ] && kill -KILL "$lvsd_pid" 2>/dev/null
  ip netns del "$c" 2>/dev/null; ip netns del "$d" 2>/dev/null; ip netns del "$r" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- lvsd log"; tail -n 30 "$tmp/lvsd.log" 2>/dev/null
  exit 1
}
run() { "$@" >/dev/null 2>&1 || fail "setup: $*"; }

run ip netns add "$c"; run ip netns add "$d"; run ip netns add "$r"
run ip -n "$c" link add c0 type veth peer name d0 netns "$d"
run ip -n "$r" link add r0 type veth peer name d1 netns "$d"
run ip -n "$c" addr add 203.0.113.2/24 dev c0
run ip -n "$d" addr add 203.0.113.1/24 dev d0
run ip -n "$d" addr add 198.51.100.1/24 dev d1
run ip -n "$r" addr add 198.51.100.10/24 dev r0
up() { run ip -n "$1" link set "$2" up; }
up "$c" c0; up "$d" d0; up "$d" d1; up "$r" r0; up "$c" lo; up "$r" lo; up "$d" lo
run ip -n "$c" route add 192.0.2.0/24 via 203.0.113.1
run ip -n "$r" route add default via 198.51.100.1
run ip netns exec "$d" sysctl -qw net.ipv4.ip_forward=1
# Local senders over veth hand out partial checksums that XDP forwarding keeps (real NICs
# deliver full ones); GRO gives the veth peers the NAPI that native XDP redirects need.
peer() {
  run ip netns exec "$1" ethtool -K "$2" tx off
  run ip netns exec "$1" ethtool -K "$2" gro on
}
peer "$c" c0; peer "$r" r0

# A missing interface: exit 1, the interface named.
out=$(ip netns exec "$d" "$bin/lvsd" --xdp d0,nosuch0 --socket "$tmp/x.sock" 2>&1)
rc=$?
[ "$rc" = 1 ] || fail "lvsd --xdp on a missing interface exited $rc, not 1: $out"
case $out in
  *"interface 'nosuch0' does not exist"*) ;;
  *) fail "lvsd --xdp on a missing interface said: $out" ;;
esac
ip -n "$d" link show d0 | grep -q xdp && fail "d0 kept an XDP program after the failed start"

# Without privileges: exit 1, saying what to run it as.
if command -v setpriv >/dev/null; then
  out=$(ip netns exec "$d" setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$bin/lvsd" --xdp d0 --socket "$tmp/np.sock" 2>&1)
  rc=$?
  [ "$rc" = 1 ] || fail "lvsd --xdp without privileges exited $rc, not 1: $out"
  case $out in
    *"run lvsd as root or with CAP_BPF"*) ;;
    *) fail "lvsd --xdp without privileges said: $out" ;;
  esac
fi

export LVSD_SOCKET=$tmp/lvsd.sock
# The TCP service from flags, the UDP one added over the control socket below.
# The HTTP listener on the director's own loopback (a private namespace: no port to share).
ip netns exec "$d" "$bin/lvsd" --workers 1 --xdp d0,d1 --http-listen 127.0.0.1:9100 \
  -t 192.0.2.1:80 -s rr -r 198.51.100.10:8080,masq >"$tmp/lvsd.log" 2>&1 &
lvsd_pid=$!
for _ in $(seq 100); do
  ip netns exec "$d" "$bin/lvsadm" -L -n >/dev/null 2>&1 && break
  kill -0 "$lvsd_pid" 2>/dev/null || fail "lvsd exited at start"
  sleep 0.1
done
for i in d0 d1; do
  ip -n "$d" link show "$i" | grep -q xdp || fail "no XDP program on $i"
done
adm() { ip netns exec "$d" "$bin/lvsadm" "$@"; }
adm -A -u 192.0.2.1:53 -s wrr || fail "lvsadm -A -u 192.0.2.1:53"
adm -a -u 192.0.2.1:53 -r 198.51.100.10:5353 -m || fail "lvsadm -a -u 192.0.2.1:53 ... -m"

# The realserver: TCP (hash what arrives, answer with the hash and 2 MiB), UDP echo.
cat >"$tmp/rs.py" <<'PY'
import hashlib, socket, sys, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("198.51.100.10", 8080)); t.listen(4)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("198.51.100.10", 5353))
def udp():
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(b"echo:" + data, peer)
threading.Thread(target=udp, daemon=True).start()
print("ready", flush=True)
conn, _ = t.accept(); conn.settimeout(20)
h = hashlib.sha256()
while True:
    b = conn.recv(65536)
    if not b: break
    h.update(b)
down = bytes((i * 7 + 3) % 251 for i in range(2 * 1024 * 1024))
conn.sendall(h.digest() + down); conn.close()
sys.stdin.read()
PY
cat >"$tmp/client.py" <<'PY'
import hashlib, socket
up = bytes((i * 13 + 5) % 253 for i in range(4 * 1024 * 1024))
down = bytes((i * 7 + 3) % 251 for i in range(2 * 1024 * 1024))
s = socket.create_connection(("192.0.2.1", 80), timeout=20)
s.sendall(up); s.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    b = s.recv(65536)
    if not b: break
    got += b
assert bytes(got[:32]) == hashlib.sha256(up).digest(), "upload hash differs"
assert bytes(got[32:]) == down, "download differs (%d bytes)" % (len(got) - 32)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
u.connect(("192.0.2.1", 53))
ok = 0
for i in range(20):
    msg = b"q%d" % i
    for _ in range(3):  # a lost first datagram (neighbour discovery) is sent again
        u.send(msg)
        try:
            if u.recv(2048) == b"echo:" + msg: ok += 1; break
        except socket.timeout:
            pass
assert ok == 20, "UDP: %d of 20 answered" % ok
print("client ok")
PY
mkfifo "$tmp/rs.in"
ip netns exec "$r" python3 "$tmp/rs.py" <"$tmp/rs.in" >"$tmp/rs.out" 2>&1 &
rs_pid=$!
exec 9>"$tmp/rs.in"
for _ in $(seq 100); do grep -q ready "$tmp/rs.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$tmp/rs.out" || fail "realserver did not start: $(cat "$tmp/rs.out")"
timeout 60 ip netns exec "$c" python3 "$tmp/client.py" >"$tmp/client.out" 2>&1 ||
  fail "client: $(cat "$tmp/client.out")"

stats=$(ip netns exec "$d" "$bin/lvsadm" -L -n --stats)
conns=$(ip netns exec "$d" "$bin/lvsadm" -L -c -n)
echo "$stats"; echo "$conns"
# The TCP service: one connection, thousands of packets in; the UDP service: 1 flow, >= 20 in.
tcp_line=$(echo "$stats" | awk '$1 == "TCP" && $2 == "192.0.2.1:80"')
udp_line=$(echo "$stats" | awk '$1 == "UDP" && $2 == "192.0.2.1:53"')
read -r -a f <<<"$tcp_line"
if ! [ "${f[2]:-0}" -ge 1 ] || ! [ "${f[3]:-0}" -ge 1000 ]; then fail "TCP stats: $tcp_line"; fi
read -r -a f <<<"$udp_line"
if ! [ "${f[2]:-0}" -ge 1 ] || ! [ "${f[3]:-0}" -ge 20 ] || ! [ "${f[4]:-0}" -ge 20 ]; then
  fail "UDP stats: $udp_line"
fi
echo "$conns" | grep -q "^TCP .*203.0.113.2:.* 192.0.2.1:80 *198.51.100.10:8080" ||
  fail "-L -c lists no TCP flow"
echo "$conns" | grep -q "^UDP .*203.0.113.2:.* 192.0.2.1:53 *198.51.100.10:5353" ||
  fail "-L -c lists no UDP flow"

# /metrics shows the engine's counters for its services.
metrics=$(ip netns exec "$d" curl -sf http://127.0.0.1:9100/metrics) || fail "GET /metrics"
in_pkts=$(echo "$metrics" | awk -F' ' '/^lvsd_service_packets_total\{protocol="tcp",vip="192.0.2.1",port="80",direction="in"\}/ { print $2 }')
[ "${in_pkts:-0}" -ge 1000 ] 2>/dev/null ||
  fail "/metrics: TCP 192.0.2.1:80 in packets '${in_pkts}': $(echo "$metrics" | grep packets_total)"
# ... and its engine-wide counters, one per reason (a serving engine passes nothing as standby).
for reason in passed refused unresolved unrouted tunnel_dropped midstream_dropped; do
  echo "$metrics" | grep -q "^lvsd_xdp_packets_total{reason=\"$reason\"} [0-9]" ||
    fail "/metrics has no lvsd_xdp_packets_total for $reason"
done
echo "$metrics" | grep -qx 'lvsd_xdp_packets_total{reason="standby_passed"} 0' ||
  fail "/metrics: $(echo "$metrics" | grep standby_passed)"
# --rate: the engine's 2 s estimator (ticked by the expire timer) shows the transfer.
for _ in $(seq 100); do
  adm -L -n --rate | awk '$1 == "TCP" && $2 == "192.0.2.1:80" && $4 > 0 { found = 1 } END { exit !found }' && break
  sleep 0.1
done
adm -L -n --rate | awk '$1 == "TCP" && $2 == "192.0.2.1:80" && $4 > 0 { found = 1 } END { exit !found }' ||
  fail "--rate shows no packets for the TCP service 10 s after the transfer: $(adm -L -n --rate)"
# --set: a 1 s UDP timeout; the idle UDP flow leaves -L -c within a few seconds (the expire
# timer runs once a second).
adm --set 0 0 1 || fail "lvsadm --set 0 0 1"
for _ in $(seq 100); do
  adm -L -c -n | grep -q "^UDP" || break
  sleep 0.1
done
adm -L -c -n | grep -q "^UDP" && fail "the UDP flow is still listed 10 s after --set 0 0 1"
# -Z: the counters start again from 0.
adm -Z || fail "lvsadm -Z"
adm -L -n --stats | awk '$1 == "TCP" && $2 == "192.0.2.1:80" && $4 != 0 { exit 1 }' ||
  fail "-Z left the TCP service's packets: $(adm -L -n --stats)"
adm -L -n --rate | awk '$1 == "TCP" && $2 == "192.0.2.1:80" && $4 != 0 { exit 1 }' ||
  fail "-Z left the TCP service's rates: $(adm -L -n --rate)"

# Data-plane health (issue 9): --check passes; another tool's XDP program on d1 in lvsd's place
# (lvs-decap's) fails it naming d1 and that program, and /metrics says xdp 0; once d1's hook is
# empty lvsd attaches its program again (its one-second timer) and --check passes.
adm --check >"$tmp/check.out" 2>&1 || fail "lvsadm --check, healthy: $(cat "$tmp/check.out")"
grep -q "data plane forwards (xdp, proxy)" "$tmp/check.out" ||
  fail "lvsadm --check said: $(cat "$tmp/check.out")"
unhook() { ip -n "$d" link set dev d1 xdpdrv off 2>/dev/null; ip -n "$d" link set dev d1 xdpgeneric off 2>/dev/null; }
for _ in 1 2 3 4 5; do  # lvsd's timer may take the hook back between the two commands
  unhook
  ip netns exec "$d" "$bin/lvs-decap" attach d1 --vip 192.0.2.1 >"$tmp/decap.out" 2>&1 && break
done
grep -q "d1 decapsulates" "$tmp/decap.out" || fail "lvs-decap attach d1: $(cat "$tmp/decap.out")"
adm --check >"$tmp/check.out" 2>&1 && fail "lvsadm --check passed with lvs_decap on d1"
grep -q "^lvsadm --check: lvsd's data plane cannot forward: xdp: d1 runs another XDP program (lvs_decap, id [0-9]*) instead of lvsd's" "$tmp/check.out" ||
  fail "lvsadm --check with lvs_decap on d1 said: $(cat "$tmp/check.out")"
ip netns exec "$d" curl -sf http://127.0.0.1:9100/metrics | grep -qx 'lvsd_data_plane_up{engine="xdp"} 0' ||
  fail "/metrics does not say the packet engine is down"
ip netns exec "$d" "$bin/lvs-decap" detach d1 >/dev/null || fail "lvs-decap detach d1"
for _ in $(seq 50); do
  adm --check >/dev/null 2>&1 && break
  sleep 0.1
done
adm --check >"$tmp/check.out" 2>&1 || fail "lvsadm --check 5 s after d1's hook was emptied: $(cat "$tmp/check.out")"
grep -q "d1 lost lvsd's XDP program (detached from outside lvsd); attached it again" "$tmp/lvsd.log" ||
  fail "lvsd did not log attaching d1 again"

exec 9>&-
kill "$rs_pid" 2>/dev/null
kill -TERM "$lvsd_pid"
wait "$lvsd_pid"; rc=$?
lvsd_pid=
[ "$rc" = 0 ] || fail "lvsd exited $rc on SIGTERM"
if grep -qE "Sanitizer|runtime error" "$tmp/lvsd.log"; then fail "a sanitizer report in lvsd's log"; fi
for i in d0 d1; do
  ip -n "$d" link show "$i" | grep -q xdp && fail "$i kept an XDP program after lvsd stopped"
done
echo "PASS"
