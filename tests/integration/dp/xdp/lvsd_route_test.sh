#!/usr/bin/env bash
# lvsd --xdp with direct routing (-g) end to end: client, director and two realservers on one
# Ethernet segment (a bridge in its own namespace), documentation ranges only. The realservers
# hold the VIP on lo (/32, arp_ignore=1, arp_announce=2) and answer the client directly; the
# director (the one-armed LVS-DR setup) only rewrites the destination MAC, in native XDP.
# Proves: a 4 MiB TCP upload and 2 MiB download through the VIP arrive intact (hash compared),
# 20 UDP exchanges are answered, a 4 MiB IPv6 upload arrives intact, the realservers see the
# client's own address, `lvsadm -L -n` shows Route, `--stats` counts packets in and none out,
# `-L -c` lists the flows with the DR states (FIN_WAIT after the client's FIN), a connection
# whose realserver's MAC the director forgot goes through on the SYN retransmission, and without
# --xdp a -g realserver is refused with lvsd's message (and `lvsd -t` refuses lb_kind DR).
# Root only (exit 77 = skipped otherwise).
#
#   client 198.51.100.2 [c0]--+              +--[r0] 198.51.100.10 rs1, VIP 192.0.2.1 on lo
#   director 198.51.100.1 [d0]-- bridge br0 --+--[r0] 198.51.100.11 rs2, VIP 192.0.2.1 on lo
#   The client routes the VIP via the director. IPv6: 2001:db8:d::2 (client), ::1 (director),
#   ::10 and ::11 (realservers), VIP 2001:db8:f::1.
#
# Usage: lvsd_route_test.sh BIN_DIR   (holds lvsd and lvsadm)
set -u
bin=${1:?usage: lvsd_route_test.sh BIN_DIR}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root: network namespaces and XDP"
for t in ip ethtool python3 clang; do command -v "$t" >/dev/null || skip "needs $t"; done

id=$$
b=lvsd-d-b-$id c=lvsd-d-c-$id d=lvsd-d-d-$id r1=lvsd-d-r1-$id r2=lvsd-d-r2-$id
tmp=$(mktemp -d)
lvsd_pid=
pids=()
cleanup() {
  [ -n "$lvsd_pid" ] && kill -KILL "$lvsd_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  for n in "$c" "$d" "$r1" "$r2" "$b"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- lvsd log"; tail -n 30 "$tmp/lvsd.log" 2>/dev/null
  exit 1
}
run() { "$@" >/dev/null 2>&1 || fail "setup: $*"; }

# XDP_TX into a veth needs an XDP program on its peer (xdp-notes): a trivial XDP_PASS.
cat >"$tmp/pass.c" <<'C'
__attribute__((section("xdp"), used)) int pass(void* ctx) { return 2; }
char lic[] __attribute__((section("license"), used)) = "GPL";
C
clang -O2 -target bpf -c "$tmp/pass.c" -o "$tmp/pass.o" || skip "clang cannot build BPF"

for n in "$b" "$c" "$d" "$r1" "$r2"; do run ip netns add "$n"; done
run ip -n "$b" link add br0 type bridge
run ip -n "$b" link set br0 up
# ns:iface -> bridge port
port() {
  run ip -n "$1" link add "$2" type veth peer name "$3" netns "$b"
  run ip -n "$b" link set "$3" master br0
  run ip -n "$b" link set "$3" up
  run ip -n "$1" link set "$2" up
  run ip -n "$1" link set lo up
}
port "$c" c0 bc; port "$d" d0 bd; port "$r1" r0 b1; port "$r2" r0 b2
run ip -n "$c" addr add 198.51.100.2/24 dev c0
run ip -n "$d" addr add 198.51.100.1/24 dev d0
run ip -n "$c" route add 192.0.2.1/32 via 198.51.100.1
run ip -n "$c" addr add 2001:db8:d::2/64 dev c0 nodad
run ip -n "$d" addr add 2001:db8:d::1/64 dev d0 nodad
run ip -n "$c" -6 route add 2001:db8:f::1/128 via 2001:db8:d::1
run ip netns exec "$d" sysctl -qw net.ipv4.ip_forward=1  # bpf_fib_lookup needs it
run ip netns exec "$d" sysctl -qw net.ipv6.conf.all.forwarding=1
for i in 1 2; do
  n=$r1; [ "$i" = 2 ] && n=$r2
  run ip -n "$n" addr add "198.51.100.1$((i - 1))/24" dev r0
  run ip -n "$n" addr add 192.0.2.1/32 dev lo
  # IPv6 answers neighbour solicitations only for the receiving link's addresses.
  run ip -n "$n" addr add "2001:db8:d::1$((i - 1))/64" dev r0 nodad
  run ip -n "$n" addr add 2001:db8:f::1/128 dev lo
  run ip netns exec "$n" sysctl -qw net.ipv4.conf.all.arp_ignore=1
  run ip netns exec "$n" sysctl -qw net.ipv4.conf.all.arp_announce=2
  run ip netns exec "$n" sysctl -qw net.ipv4.conf.r0.arp_ignore=1
  run ip netns exec "$n" sysctl -qw net.ipv4.conf.r0.arp_announce=2
done
run ip -n "$b" link set bd xdp obj "$tmp/pass.o" sec xdp
# Local senders over veth hand out partial checksums that native XDP_TX keeps (real NICs
# deliver full ones).
run ip netns exec "$c" ethtool -K c0 tx off

# Without --xdp, a -g realserver is refused with lvsd's message.
ip netns exec "$d" "$bin/lvsd" --workers 1 --socket "$tmp/plain.sock" >"$tmp/plain.log" 2>&1 &
plain_pid=$!
pids+=("$plain_pid")
for _ in $(seq 100); do
  LVSD_SOCKET=$tmp/plain.sock ip netns exec "$d" "$bin/lvsadm" -L -n >/dev/null 2>&1 && break
  sleep 0.1
done
# (The user-space engine binds its VIPs: a local address here.)
LVSD_SOCKET=$tmp/plain.sock ip netns exec "$d" "$bin/lvsadm" -A -t 198.51.100.1:80 -s rr ||
  fail "lvsadm -A without --xdp"
out=$(LVSD_SOCKET=$tmp/plain.sock ip netns exec "$d" "$bin/lvsadm" -a -t 198.51.100.1:80 \
  -r 198.51.100.10 -g 2>&1)
rc=$?
[ "$rc" = 255 ] || fail "-g without --xdp exited $rc, not 255: $out"
case $out in
  *"Route (-g) for 198.51.100.10:80 needs the packet engine"*) ;;
  *) fail "-g without --xdp said: $out" ;;
esac
kill -TERM "$plain_pid"; wait "$plain_pid"
# The config check (-t) says the same of lb_kind DR, unless --xdp is given.
cat >"$tmp/dr.conf" <<'CONF'
virtual_server 192.0.2.1 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.10 80 {
        weight 1
    }
}
CONF
out=$("$bin/lvsd" -t -f "$tmp/dr.conf" 2>&1) && fail "lvsd -t accepted lb_kind DR without --xdp"
case $out in
  *"uses lvs_method DR, which this lvsd does not serve"*) ;;
  *) fail "lvsd -t on lb_kind DR without --xdp said: $out" ;;
esac
"$bin/lvsd" -t -f "$tmp/dr.conf" --xdp d0 >/dev/null 2>&1 || fail "lvsd -t --xdp refused lb_kind DR"

export LVSD_SOCKET=$tmp/lvsd.sock
ip netns exec "$d" "$bin/lvsd" --workers 1 --xdp d0 --xdp-mode native >"$tmp/lvsd.log" 2>&1 &
lvsd_pid=$!
adm() { ip netns exec "$d" "$bin/lvsadm" "$@"; }
for _ in $(seq 100); do
  adm -L -n >/dev/null 2>&1 && break
  kill -0 "$lvsd_pid" 2>/dev/null || fail "lvsd exited at start"
  sleep 0.1
done
adm -A -t 192.0.2.1:80 -s rr || fail "lvsadm -A -t"
# The port given (8080) is replaced by the service's: direct routing keeps ports.
adm -a -t 192.0.2.1:80 -r 198.51.100.10:8080 -g || fail "lvsadm -a -g rs1"
adm -a -t 192.0.2.1:80 -r 198.51.100.11 -g || fail "lvsadm -a -g rs2"
adm -A -u 192.0.2.1:53 -s rr || fail "lvsadm -A -u"
adm -a -u 192.0.2.1:53 -r 198.51.100.10 -g || fail "lvsadm -a -u -g"
adm -A -t [2001:db8:f::1]:80 -s rr || fail "lvsadm -A -t [VIP6]"
adm -a -t [2001:db8:f::1]:80 -r [2001:db8:d::11] -g || fail "lvsadm -a -t [VIP6] -g"
listing=$(adm -L -n)
echo "$listing"
echo "$listing" | grep -q "^  -> 198.51.100.10:80  *Route " || fail "-L -n shows no Route dest"

# Realservers: TCP on the VIP (record the peer, hash what arrives, answer with the hash and
# 2 MiB), UDP echo on the VIP (so answers come from it).
cat >"$tmp/rs.py" <<'PY'
import hashlib, socket, sys, threading
name = sys.argv[1]
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("192.0.2.1", 80)); t.listen(4)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("192.0.2.1", 53))
def udp():
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(name.encode() + b":" + data, peer)
threading.Thread(target=udp, daemon=True).start()
t6 = socket.socket(socket.AF_INET6); t6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t6.bind(("2001:db8:f::1", 80)); t6.listen(4)
def tcp6():
    while True:
        conn, peer = t6.accept(); conn.settimeout(20)
        print("peer6", peer[0], flush=True)
        h = hashlib.sha256()
        while True:
            b = conn.recv(65536)
            if not b: break
            h.update(b)
        conn.sendall(h.digest()); conn.close()
threading.Thread(target=tcp6, daemon=True).start()
print("ready", flush=True)
down = bytes((i * 7 + 3) % 251 for i in range(2 * 1024 * 1024))
for _ in range(4):
    conn, peer = t.accept(); conn.settimeout(20)
    print("peer", peer[0], flush=True)
    h = hashlib.sha256()
    while True:
        b = conn.recv(65536)
        if not b: break
        h.update(b)
    conn.sendall(h.digest() + down); conn.close()
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
            if u.recv(2048) == b"rs1:" + msg: ok += 1; break
        except socket.timeout:
            pass
assert ok == 20, "UDP: %d of 20 answered by rs1" % ok
s6 = socket.create_connection(("2001:db8:f::1", 80), timeout=20)
s6.sendall(up); s6.shutdown(socket.SHUT_WR)
got = s6.recv(64)
assert got == hashlib.sha256(up).digest(), "IPv6 upload hash differs"
print("client ok")
PY
for i in 1 2; do
  n=$r1; [ "$i" = 2 ] && n=$r2
  ip netns exec "$n" python3 "$tmp/rs.py" "rs$i" >"$tmp/rs$i.out" 2>&1 &
  pids+=("$!")
done
for i in 1 2; do
  for _ in $(seq 100); do grep -q ready "$tmp/rs$i.out" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$tmp/rs$i.out" || fail "realserver $i did not start: $(cat "$tmp/rs$i.out")"
done
timeout 60 ip netns exec "$c" python3 "$tmp/client.py" >"$tmp/client.out" 2>&1 ||
  fail "client: $(cat "$tmp/client.out")"
grep -q "^peer6 2001:db8:d::2$" "$tmp/rs2.out" ||
  fail "rs2 did not see the client's IPv6 address: $(cat "$tmp/rs2.out")"
grep -q "^peer 198.51.100.2$" "$tmp/rs1.out" "$tmp/rs2.out" ||
  fail "no realserver saw the client's address: $(cat "$tmp/rs1.out" "$tmp/rs2.out")"

stats=$(adm -L -n --stats)
conns=$(adm -L -c -n)
echo "$stats"; echo "$conns"
tcp_line=$(echo "$stats" | awk '$1 == "TCP" && $2 == "192.0.2.1:80"')
udp_line=$(echo "$stats" | awk '$1 == "UDP" && $2 == "192.0.2.1:53"')
# Conns, InPkts, OutPkts: the replies bypass the director, so nothing is counted out.
read -r -a f <<<"$tcp_line"
if ! [ "${f[2]:-0}" -eq 1 ] || ! [ "${f[3]:-0}" -ge 1000 ] || ! [ "${f[4]:-1}" -eq 0 ]; then
  fail "TCP stats: $tcp_line"
fi
read -r -a f <<<"$udp_line"
if ! [ "${f[2]:-0}" -eq 1 ] || ! [ "${f[3]:-0}" -ge 20 ] || ! [ "${f[4]:-1}" -eq 0 ]; then
  fail "UDP stats: $udp_line"
fi
# The client sent its FIN and the last ACK: FIN_WAIT by the INPUT-ONLY table.
echo "$conns" | grep -q "^TCP .*FIN_WAIT *198.51.100.2:[0-9]* *192.0.2.1:80 *198.51.100.1[01]:80" ||
  fail "-L -c lists no TCP flow in FIN_WAIT"
echo "$conns" | grep -q "^UDP .*UDP *198.51.100.2:[0-9]* *192.0.2.1:53 *198.51.100.10:53" ||
  fail "-L -c lists no UDP flow"
# The next connection goes to the other realserver (rr) and works too, although the director
# has forgotten the realservers' MACs: its SYN is dropped, lvsd's timer has the kernel resolve
# them, the client's retransmission goes through.
run ip -n "$d" neigh del 198.51.100.10 dev d0
run ip -n "$d" neigh del 198.51.100.11 dev d0
ip netns exec "$c" python3 - <<'PY' || fail "second connection (rs2)"
import socket
s = socket.create_connection(("192.0.2.1", 80), timeout=20)
s.shutdown(socket.SHUT_WR)
n = 0
while True:
    b = s.recv(65536)
    if not b: break
    n += len(b)
assert n == 32 + 2 * 1024 * 1024, n
PY
for i in 1 2; do
  grep -q "^peer 198.51.100.2$" "$tmp/rs$i.out" || fail "rs$i got no connection from the client"
done
ip -n "$d" neigh show 198.51.100.10 | grep -q lladdr || fail "the director did not re-learn rs1's MAC"
ip -n "$d" neigh show 198.51.100.11 | grep -q lladdr || fail "the director did not re-learn rs2's MAC"
# Each realserver: one flow in FIN_WAIT, counted inactive.
for a in 198.51.100.10 198.51.100.11; do
  adm -L -n | grep -q "^  -> $a:80  *Route  *1  *0  *1 " ||
    fail "$a's flow is not counted inactive: $(adm -L -n)"
done

kill -TERM "$lvsd_pid"
wait "$lvsd_pid"; rc=$?
lvsd_pid=
[ "$rc" = 0 ] || fail "lvsd exited $rc on SIGTERM"
if grep -qE "Sanitizer|runtime error" "$tmp/lvsd.log"; then fail "a sanitizer report in lvsd's log"; fi
ip -n "$d" link show d0 | grep -q xdp && fail "d0 kept an XDP program after lvsd stopped"
echo "PASS"
