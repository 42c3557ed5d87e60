#!/usr/bin/env bash
# Tunnelling (-i) end to end: client, director and two realserver network namespaces on veth
# (documentation ranges only), a real lvsd --xdp d0 with a TCP and a UDP service whose
# realservers are added with `lvsadm -a ... -i`, and realservers set up by
# `LVS_ROUTE_MODE=tun lvs-route start` (VIP on lo, the XDP decapsulation program from
# lvs-decap on their director-facing interface: this kernel has no IPIP, FOU/GUE or GRE
# device). The realservers answer the client directly over their own links, never through the
# director. The three tunnel types: TCP reaches rs1 over GUE (--tun-type gue --tun-port 6080,
# lvs-route's GUE_PORTS) and rs2 over GRE with checksums (--tun-type gre --tun-csum); UDP
# reaches rs1 over IPIP.
# Proves: two TCP connections (4 MiB up, 2 MiB down each, hash compared) reach both
# realservers (rr) and each sees the client's own address; 20 UDP exchanges are answered with
# the client's address; the director's engine counts the flows (-L --stats, -L -c) and lists
# the tunnels (--tun-info); lvs-route status says "LVS-TUN shape" (0) and after stop exit 3 with
# no XDP program and no VIP left. Root only (exit 77 = skipped otherwise).
#
#   client 203.0.113.2 [c0] --- [d0] 203.0.113.1 director 198.51.100.1 [d1] --- [r1a]
#     198.51.100.10 rs1;   director 198.51.100.129 [d2] --- [r2a] 198.51.100.140 rs2
#   rs1 [r1b] 192.0.2.9 --- 192.0.2.10 [c1] client;  rs2 [r2b] 192.0.2.13 --- 192.0.2.14 [c2]
#   VIP 192.0.2.1: routed by the client to the director, on lo of both realservers.
#
# Usage: lvsd_tunnel_test.sh BIN_DIR SCRIPTS_DIR   (lvsd, lvsadm, lvs-decap; lvs-route)
set -u
bin=${1:?usage: lvsd_tunnel_test.sh BIN_DIR SCRIPTS_DIR}
scripts=${2:?usage: lvsd_tunnel_test.sh BIN_DIR SCRIPTS_DIR}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root: network namespaces and XDP"
for t in ip ethtool python3 ping; do command -v "$t" >/dev/null || skip "needs $t"; done

id=$$
c=lvsd-e-c-$id d=lvsd-e-d-$id r1=lvsd-e-r1-$id r2=lvsd-e-r2-$id
tmp=$(mktemp -d)
lvsd_pid=
cleanup() {
  [ -n "$lvsd_pid" ] && kill -KILL "$lvsd_pid" 2>/dev/null
  exec 8>&- 9>&- 2>/dev/null
  for n in "$c" "$d" "$r1" "$r2"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- lvsd log"; tail -n 30 "$tmp/lvsd.log" 2>/dev/null
  for f in rs1 rs2; do echo "--- $f"; cat "$tmp/$f.out" 2>/dev/null; done
  exit 1
}
run() { "$@" >/dev/null 2>&1 || fail "setup: $*"; }
up() { run ip -n "$1" link set "$2" up; }

for n in "$c" "$d" "$r1" "$r2"; do run ip netns add "$n"; up "$n" lo; done
run ip -n "$c" link add c0 type veth peer name d0 netns "$d"
run ip -n "$r1" link add r1a type veth peer name d1 netns "$d"
run ip -n "$r2" link add r2a type veth peer name d2 netns "$d"
run ip -n "$r1" link add r1b type veth peer name c1 netns "$c"
run ip -n "$r2" link add r2b type veth peer name c2 netns "$c"
run ip -n "$c" addr add 203.0.113.2/24 dev c0
run ip -n "$d" addr add 203.0.113.1/24 dev d0
run ip -n "$d" addr add 198.51.100.1/25 dev d1
run ip -n "$d" addr add 198.51.100.129/25 dev d2
run ip -n "$r1" addr add 198.51.100.10/25 dev r1a
run ip -n "$r2" addr add 198.51.100.140/25 dev r2a
run ip -n "$r1" addr add 192.0.2.9/30 dev r1b
run ip -n "$c" addr add 192.0.2.10/30 dev c1
run ip -n "$r2" addr add 192.0.2.13/30 dev r2b
run ip -n "$c" addr add 192.0.2.14/30 dev c2
# The tunnel legs carry the outer headers (GUE: 32 bytes) on full-sized client packets.
for l in "$d d1" "$d d2" "$r1 r1a" "$r2 r2a"; do
  # shellcheck disable=SC2086  # "NETNS LINK" split on purpose
  set -- $l
  run ip -n "$1" link set "$2" mtu 1540
done
for l in "$c c0" "$c c1" "$c c2" "$d d0" "$d d1" "$d d2" "$r1 r1a" "$r1 r1b" "$r2 r2a" "$r2 r2b"; do
  # shellcheck disable=SC2086  # "NETNS LINK" split on purpose
  set -- $l
  up "$1" "$2"
done
run ip -n "$c" route add 192.0.2.1/32 via 203.0.113.1
run ip -n "$r1" route add 203.0.113.0/24 via 192.0.2.10
run ip -n "$r2" route add 203.0.113.0/24 via 192.0.2.14
run ip netns exec "$d" sysctl -qw net.ipv4.ip_forward=1
# The client gets answers from the VIP on c1/c2 while it routes the VIP via c0.
for k in all.rp_filter default.rp_filter c1.rp_filter c2.rp_filter; do
  run ip netns exec "$c" sysctl -qw "net.ipv4.conf.$k=0"
done
# Local senders over veth hand out partial checksums that XDP forwarding keeps.
run ip netns exec "$c" ethtool -K c0 tx off

# The realservers: lvs-route in tunnel mode (lvs-decap from this build).
route() {
  ip netns exec "$1" env LVS_ROUTE_MODE=tun NET_INTERFACE="$2" VIPS=192.0.2.1 GUE_PORTS=6080 \
    LVS_DECAP="$bin/lvs-decap" LVS_ROUTE_STATE="$tmp/state-$1" LVS_ROUTE_DEFAULTS=/nonexistent \
    bash "$scripts/lvs-route" "$3"
}
out=$(route "$r1" r1a status 2>&1)
[ $? = 3 ] || fail "lvs-route status before start did not exit 3: $out"
route "$r1" r1a start >"$tmp/route1.out" 2>&1 || fail "lvs-route start (rs1): $(cat "$tmp/route1.out")"
route "$r2" r2a start >"$tmp/route2.out" 2>&1 || fail "lvs-route start (rs2): $(cat "$tmp/route2.out")"
route "$r1" r1a start >/dev/null 2>&1 || fail "lvs-route start is not idempotent"
out=$(route "$r1" r1a status 2>&1) || fail "lvs-route status after start: $out"
case $out in *"LVS-TUN shape on r1a"*) ;; *) fail "lvs-route status said: $out" ;; esac
ip -n "$r1" link show r1a | grep -q xdp || fail "no XDP program on r1a after lvs-route start"
# A bad GUE port is a usage error naming it, and leaves the installed program as it was.
out=$(ip netns exec "$r1" "$bin/lvs-decap" attach r1a --vip 192.0.2.1 --gue-port 70000 2>&1)
[ $? = 2 ] || fail "lvs-decap --gue-port 70000 did not exit 2: $out"
case $out in *"--gue-port '70000' is not a UDP port (1-65535)"*) ;; *) fail "lvs-decap said: $out" ;; esac

# The director: neighbours of the realservers resolved first (the engine drops a tunnelled
# packet whose next hop is not resolved yet; health checks do this in production).
run ip netns exec "$d" ping -c1 -W2 198.51.100.10
run ip netns exec "$d" ping -c1 -W2 198.51.100.140
export LVSD_SOCKET=$tmp/lvsd.sock
ip netns exec "$d" "$bin/lvsd" --workers 1 --xdp d0 >"$tmp/lvsd.log" 2>&1 &
lvsd_pid=$!
adm() { ip netns exec "$d" "$bin/lvsadm" "$@"; }
for _ in $(seq 100); do
  adm -L -n >/dev/null 2>&1 && break
  kill -0 "$lvsd_pid" 2>/dev/null || fail "lvsd exited at start"
  sleep 0.1
done
adm -A -t 192.0.2.1:80 -s rr || fail "lvsadm -A -t 192.0.2.1:80"
adm -a -t 192.0.2.1:80 -r 198.51.100.10 -i --tun-type gue --tun-port 6080 ||
  fail "lvsadm -a -t ... -r 198.51.100.10 -i --tun-type gue"
adm -a -t 192.0.2.1:80 -r 198.51.100.140 -i --tun-type gre --tun-csum ||
  fail "lvsadm -a -t ... -r 198.51.100.140 -i --tun-type gre --tun-csum"
adm -A -u 192.0.2.1:53 -s rr || fail "lvsadm -A -u 192.0.2.1:53"
adm -a -u 192.0.2.1:53 -r 198.51.100.10 -i || fail "lvsadm -a -u ... -i"
grep -q "user-space data plane forwards" "$tmp/lvsd.log" && fail "a tunnel service fell back to the proxy"

# Realserver NAME: TCP on VIP:80 (answers NAME, the peer's address, the upload's hash, 2 MiB),
# UDP on VIP:53 (echoes with the peer's address).
cat >"$tmp/rs.py" <<'PY'
import hashlib, socket, sys, threading
name = sys.argv[1]
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("192.0.2.1", 80)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("192.0.2.1", 53))
def udp():
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(b"echo:" + peer[0].encode() + b":" + data, peer)
def serve(conn, peer):
    conn.settimeout(20)
    h = hashlib.sha256()
    while True:
        b = conn.recv(65536)
        if not b: break
        h.update(b)
    down = bytes((i * 7 + 3) % 251 for i in range(2 * 1024 * 1024))
    head = ("%s %s\n" % (name, peer[0])).encode().ljust(64)
    conn.sendall(head + h.digest() + down); conn.close()
    print("served", peer[0], flush=True)
threading.Thread(target=udp, daemon=True).start()
print("ready", flush=True)
def accept():
    while True:
        conn, peer = t.accept()
        threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
threading.Thread(target=accept, daemon=True).start()
sys.stdin.read()
PY
cat >"$tmp/client.py" <<'PY'
import hashlib, socket
up = bytes((i * 13 + 5) % 253 for i in range(4 * 1024 * 1024))
down = bytes((i * 7 + 3) % 251 for i in range(2 * 1024 * 1024))
seen = []
for n in range(2):
    s = socket.create_connection(("192.0.2.1", 80), timeout=20)
    s.sendall(up); s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
    head = bytes(got[:64]).decode().split()
    assert bytes(got[64:96]) == hashlib.sha256(up).digest(), "upload hash differs"
    assert bytes(got[96:]) == down, "download differs (%d bytes)" % (len(got) - 96)
    assert head[1] == "203.0.113.2", "the realserver saw %s" % head[1]
    seen.append(head[0])
assert sorted(seen) == ["rs1", "rs2"], "rr over the tunnels reached %s" % seen
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
u.connect(("192.0.2.1", 53))
ok = 0
for i in range(20):
    msg = b"q%d" % i
    for _ in range(3):
        u.send(msg)
        try:
            if u.recv(2048) == b"echo:203.0.113.2:" + msg: ok += 1; break
        except socket.timeout:
            pass
assert ok == 20, "UDP: %d of 20 answered with the client's address" % ok
print("client ok", seen)
PY
mkfifo "$tmp/rs1.in" "$tmp/rs2.in"
ip netns exec "$r1" python3 "$tmp/rs.py" rs1 <"$tmp/rs1.in" >"$tmp/rs1.out" 2>&1 &
ip netns exec "$r2" python3 "$tmp/rs.py" rs2 <"$tmp/rs2.in" >"$tmp/rs2.out" 2>&1 &
exec 8>"$tmp/rs1.in" 9>"$tmp/rs2.in"
for f in rs1 rs2; do
  for _ in $(seq 100); do grep -q ready "$tmp/$f.out" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$tmp/$f.out" || fail "$f did not start"
done
timeout 60 ip netns exec "$c" python3 "$tmp/client.py" >"$tmp/client.out" 2>&1 ||
  fail "client: $(cat "$tmp/client.out")"
cat "$tmp/client.out"

stats=$(adm -L -n --stats)
conns=$(adm -L -c -n)
tuninfo=$(adm -L -n --tun-info)
echo "$stats"; echo "$conns"; echo "$tuninfo"
tcp_line=$(echo "$stats" | awk '$1 == "TCP" && $2 == "192.0.2.1:80"')
udp_line=$(echo "$stats" | awk '$1 == "UDP" && $2 == "192.0.2.1:53"')
read -r -a f <<<"$tcp_line"
# Two connections, thousands of packets in, none out (replies bypass the director).
if ! [ "${f[2]:-0}" -ge 2 ] || ! [ "${f[3]:-0}" -ge 1000 ] || [ "${f[4]:-1}" != 0 ]; then
  fail "TCP stats: $tcp_line"
fi
read -r -a f <<<"$udp_line"
if ! [ "${f[2]:-0}" -ge 1 ] || ! [ "${f[3]:-0}" -ge 20 ]; then fail "UDP stats: $udp_line"; fi
echo "$conns" | grep -q "^UDP .*203.0.113.2:.* 192.0.2.1:53 *198.51.100.10:53" ||
  fail "-L -c lists no UDP flow"
echo "$tuninfo" | grep -q -- "-> 198.51.100.10:80 *Tunnel *gue:6080:-c" || fail "--tun-info: $tuninfo"
echo "$tuninfo" | grep -q -- "-> 198.51.100.140:80 *Tunnel *gre:+c" || fail "--tun-info: $tuninfo"
echo "$tuninfo" | grep -q -- "-> 198.51.100.10:53 *Tunnel *ipip" || fail "--tun-info: $tuninfo"
out=$(ip netns exec "$r1" "$bin/lvs-decap" status r1a) || fail "lvs-decap status: $out"
echo "$out"
echo "$out" | grep -q "GUE ports: 6080" || fail "lvs-decap status shows no GUE port 6080"
dec=$(echo "$out" | awk '/decapsulated:/ { print $2 }')
[ "${dec:-0}" -ge 1000 ] || fail "rs1 decapsulated ${dec:-0} packets"
out=$(ip netns exec "$r2" "$bin/lvs-decap" status r2a) || fail "lvs-decap status (rs2): $out"
dec=$(echo "$out" | awk '/decapsulated:/ { print $2 }')
[ "${dec:-0}" -ge 1000 ] || fail "rs2 decapsulated ${dec:-0} packets (GRE)"

exec 8>&- 9>&-
kill -TERM "$lvsd_pid"
wait "$lvsd_pid"; rc=$?
lvsd_pid=
[ "$rc" = 0 ] || fail "lvsd exited $rc on SIGTERM"
if grep -qE "Sanitizer|runtime error" "$tmp/lvsd.log"; then fail "a sanitizer report in lvsd's log"; fi
ip -n "$d" link show d0 | grep -q xdp && fail "d0 kept an XDP program after lvsd stopped"

route "$r1" r1a stop >/dev/null 2>&1 || fail "lvs-route stop"
ip -n "$r1" link show r1a | grep -q xdp && fail "r1a kept the decapsulation program after stop"
ip -n "$r1" addr show dev lo | grep -q "192.0.2.1/32" && fail "the VIP stayed on lo after stop"
[ "$(ip netns exec "$r1" sysctl -n net.ipv4.conf.r1a.arp_ignore)" = 0 ] ||
  fail "arp_ignore not restored"
route "$r1" r1a status >/dev/null 2>&1
[ $? = 3 ] || fail "lvs-route status after stop did not exit 3"
echo "PASS"
