#!/usr/bin/env bash
# Connection sync between two lvsd --xdp directors (--start-daemon master|backup, docs/SYNC.md):
# each director runs the same persistent masqueraded (-m) TCP service on its own legs; the
# master's daemon multicasts its flows over a dedicated sync link to the backup's.
# Proves: a TCP flow opened through the master and its persistence template appear in the
# backup's `lvsadm -L -c` (bounded wait); after the backup's lvsd restarts, its resync request
# brings them back (bulk resync); `-L --daemon` lists both daemons in ipvsadm's form; then the
# client's and the realserver's routes move to the backup by hand and the established flow goes
# on through it (the bytes' hash compared, the backup's counters show the packets); /metrics
# counts the messages and shows the backup in sync. Counters: after 300 connections through the
# master to a second service, the backup's `lvsadm -L -n --stats --exact` equals the master's
# (the master's counter entries, once a second); the master stopped (SIGSTOP) for more than 3 s
# makes the backup's --check-sync fail, and after SIGCONT its bulk resync makes it pass again.
# (Two lvsd on one host's loopback cannot do this: their proxy listeners of one VIP share
# SO_REUSEPORT and split the connections.) Without sync the same failover breaks the flow
# (checked by hand). Root only (77 = skip).
#
#   client 203.0.113.2 [c0]--[a0] 203.0.113.1  A  198.51.100.1 [a1]--[r0] 198.51.100.10
#          203.0.113.2 [c1]--[b0] 203.0.113.3  B  198.51.100.3 [b1]--[r1] 198.51.100.10
#   sync link: A [sa] 192.0.2.201/30 -- [sb] 192.0.2.202/30 B. VIP 192.0.2.1, local nowhere.
#
# Usage: sync_failover_test.sh BIN_DIR   (holds lvsd and lvsadm)
set -u
bin=${1:?usage: sync_failover_test.sh BIN_DIR}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root: network namespaces and XDP"
for t in ip ethtool python3; do command -v "$t" >/dev/null || skip "needs $t"; done

id=$$
c=lvsd-i-c-$id a=lvsd-i-a-$id b=lvsd-i-b-$id r=lvsd-i-r-$id
tmp=$(mktemp -d)
a_pid= b_pid= rs_pid= cl_pid= echo_pid=
cleanup() {
  for p in $a_pid $b_pid $rs_pid $cl_pid $echo_pid; do kill -KILL "$p" 2>/dev/null; done
  for n in $c $a $b $r; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- master log"; tail -n 20 "$tmp/a.log" 2>/dev/null
  echo "--- backup log"; tail -n 20 "$tmp/b.log" 2>/dev/null
  echo "--- client"; cat "$tmp/client.out" 2>/dev/null
  exit 1
}
run() { "$@" >/dev/null 2>&1 || fail "setup: $*"; }

for n in $c $a $b $r; do run ip netns add "$n"; run ip -n "$n" link set lo up; done
run ip -n "$c" link add c0 type veth peer name a0 netns "$a"
run ip -n "$c" link add c1 type veth peer name b0 netns "$b"
run ip -n "$r" link add r0 type veth peer name a1 netns "$a"
run ip -n "$r" link add r1 type veth peer name b1 netns "$b"
run ip -n "$a" link add sa type veth peer name sb netns "$b"
run ip -n "$c" addr add 203.0.113.2/24 dev c0
run ip -n "$c" addr add 203.0.113.2/24 dev c1
run ip -n "$a" addr add 203.0.113.1/24 dev a0
run ip -n "$b" addr add 203.0.113.3/24 dev b0
run ip -n "$r" addr add 198.51.100.10/24 dev r0
run ip -n "$r" addr add 198.51.100.10/24 dev r1
run ip -n "$a" addr add 198.51.100.1/24 dev a1
run ip -n "$b" addr add 198.51.100.3/24 dev b1
run ip -n "$a" addr add 192.0.2.201/30 dev sa
run ip -n "$b" addr add 192.0.2.202/30 dev sb
for pair in "$c c0" "$c c1" "$a a0" "$a a1" "$a sa" "$b b0" "$b b1" "$b sb" "$r r0" "$r r1"; do
  set -- $pair
  run ip -n "$1" link set "$2" up
done
for n in $c $r; do
  run ip netns exec "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0
  run ip netns exec "$n" sysctl -qw net.ipv4.conf.default.rp_filter=0
done
for n in $a $b; do run ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1; done
run ip -n "$c" route add 192.0.2.0/24 via 203.0.113.1 dev c0
run ip -n "$r" route add default via 198.51.100.1 dev r0
# As in lvsd_xdp_test.sh: full checksums from the local senders, GRO for native XDP redirects.
for pair in "$c c0" "$c c1" "$r r0" "$r r1"; do
  set -- $pair
  run ip netns exec "$1" ethtool -K "$2" tx off
  run ip netns exec "$1" ethtool -K "$2" gro on
done

start_lvsd() {  # NS NAME LEGS
  LVSD_SOCKET=$tmp/$2.sock ip netns exec "$1" "$bin/lvsd" --workers 1 --xdp "$3" \
    --grace 0 --http-listen 127.0.0.1:9100 -t 192.0.2.1:80 -s rr -p 60 -r 198.51.100.10:8080,masq \
    -t 192.0.2.1:81 -s rr -r 198.51.100.10:8081,masq >>"$tmp/$2.log" 2>&1 &
  eval "$2_pid=$!"
  for _ in $(seq 100); do
    LVSD_SOCKET=$tmp/$2.sock ip netns exec "$1" "$bin/lvsadm" -L -n >/dev/null 2>&1 && return
    sleep 0.1
  done
  fail "lvsd $2 did not start"
}
adm_a() { LVSD_SOCKET=$tmp/a.sock ip netns exec "$a" "$bin/lvsadm" "$@"; }
adm_b() { LVSD_SOCKET=$tmp/b.sock ip netns exec "$b" "$bin/lvsadm" "$@"; }
start_lvsd "$a" a a0,a1
start_lvsd "$b" b b0,b1
adm_a --start-daemon master --mcast-interface sa --syncid 7 || fail "--start-daemon master"
adm_b --start-daemon backup --mcast-interface sb --syncid 7 || fail "--start-daemon backup"
out=$(adm_a --start-daemon master --mcast-interface sa 2>&1) && fail "a second master started"
[ "$out" = "Daemon has already run" ] || fail "second --start-daemon said: $out"
[ "$(adm_a -L --daemon)" = "master sync daemon (mcast=sa, syncid=7)" ] ||
  fail "-L --daemon on the master: $(adm_a -L --daemon)"
[ "$(adm_b -L --daemon)" = "backup sync daemon (mcast=sb, syncid=7)" ] ||
  fail "-L --daemon on the backup: $(adm_b -L --daemon)"

# The realserver hashes what arrives; after the first 1 MiB it says "half", at the end it
# answers the hash. The client sends the second half when told (a line on its stdin).
cat >"$tmp/rs.py" <<'PY'
import hashlib, socket
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("198.51.100.10", 8080)); t.listen(4)
print("ready", flush=True)
conn, _ = t.accept(); conn.settimeout(20)
h = hashlib.sha256(); n = 0; said = False
while True:
    b = conn.recv(65536)
    if not b: break
    h.update(b); n += len(b)
    if n >= 1 << 20 and not said:
        conn.sendall(b"half"); said = True
conn.sendall(h.digest()); conn.close()
PY
cat >"$tmp/client.py" <<'PY'
import hashlib, socket, sys
data = bytes((i * 13 + 5) % 253 for i in range(2 << 20))
s = socket.create_connection(("192.0.2.1", 80), timeout=20)
s.sendall(data[:1 << 20])
assert s.recv(4) == b"half", "no 'half' from the realserver"
print("half", flush=True)
sys.stdin.readline()  # the routes moved to the backup
s.sendall(data[1 << 20:]); s.shutdown(socket.SHUT_WR)
got = b""
while len(got) < 32:
    b = s.recv(64)
    if not b: break
    got += b
assert got == hashlib.sha256(data).digest(), "hash differs"
print("client ok", flush=True)
PY
ip netns exec "$r" python3 "$tmp/rs.py" >"$tmp/rs.out" 2>&1 &
rs_pid=$!
for _ in $(seq 100); do grep -q ready "$tmp/rs.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$tmp/rs.out" || fail "realserver did not start: $(cat "$tmp/rs.out")"
mkfifo "$tmp/client.in"
timeout 60 ip netns exec "$c" python3 "$tmp/client.py" <"$tmp/client.in" >"$tmp/client.out" 2>&1 &
cl_pid=$!
exec 9>"$tmp/client.in"
for _ in $(seq 100); do grep -q half "$tmp/client.out" 2>/dev/null && break; sleep 0.1; done
grep -q half "$tmp/client.out" || fail "the first half did not reach the realserver"

flow='^TCP .* ESTABLISHED 203\.0\.113\.2:[0-9]+ +192\.0\.2\.1:80 +198\.51\.100\.10:8080'
tpl='^TCP .* NONE +203\.0\.113\.2:0 +192\.0\.2\.1:80 +198\.51\.100\.10:8080'
wait_flow_on_b() {  # the flow and its persistence template
  for _ in $(seq 50); do
    conns=$(adm_b -L -c -n)
    echo "$conns" | grep -qE "$flow" && echo "$conns" | grep -qE "$tpl" && return 0
    sleep 0.1
  done
  fail "$1: the backup does not list the flow: $(adm_b -L -c -n); master: $(adm_a -L -c -n)"
}
wait_flow_on_b "sync"
echo "backup lists the flow"

# The backup restarts: a fresh lvsd with an empty table asks the master for everything.
kill -TERM "$b_pid"; wait "$b_pid"; b_pid=
start_lvsd "$b" b b0,b1
adm_b -L -c -n | grep -qE "$flow" && fail "a fresh backup already lists the flow"
adm_b --start-daemon backup --mcast-interface sb --syncid 7 || fail "--start-daemon backup again"
wait_flow_on_b "bulk resync"
echo "restarted backup lists the flow"

# Counters: 300 short connections through the master to 192.0.2.1:81 (a realserver answering
# each with one byte); then the backup's --stats (both services, both realservers, exact
# numbers) equal the master's, from the master's counter entries (once a second).
ip netns exec "$r" python3 -c '
import socket, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("198.51.100.10", 8081)); t.listen(64); print("ready", flush=True)
def one(c):
    c.settimeout(5)
    try:
        c.recv(1); c.sendall(b"y")
    finally:
        c.close()
while True:
    c, _ = t.accept(); threading.Thread(target=one, args=(c,), daemon=True).start()
' >"$tmp/echo.out" 2>&1 &
echo_pid=$!
for _ in $(seq 100); do grep -q ready "$tmp/echo.out" 2>/dev/null && break; sleep 0.1; done
ip netns exec "$c" timeout 30 python3 -c '
import socket
for i in range(300):
    s = socket.create_connection(("192.0.2.1", 81), timeout=5)
    s.sendall(b"x"); assert s.recv(1) == b"y", i; s.close()
' || fail "300 connections through the master"
start=$(date +%s%N)
stats_a= stats_b=
for _ in $(seq 50); do  # bounded: 5 s
  stats_a=$(adm_a -L -n --stats --exact) stats_b=$(adm_b -L -n --stats --exact)
  [ "$stats_a" = "$stats_b" ] && break
  sleep 0.1
done
[ "$stats_a" = "$stats_b" ] || fail "the backup's counters differ: master
$stats_a
backup
$stats_b"
echo "$stats_a" | grep -qE '^  -> 198\.51\.100\.10:8081 +300 ' ||
  fail "the master did not count 300 connections: $stats_a"
kill -TERM "$echo_pid"; wait "$echo_pid" 2>/dev/null; echo_pid=
echo "backup shows the master's counters $((($(date +%s%N) - start) / 1000000)) ms after the load"

# The master falls silent (SIGSTOP): after 3 s the backup is out of sync; SIGCONT: resynced.
kill -STOP "$a_pid"
start=$(date +%s%N)
for _ in $(seq 60); do adm_b --check-sync >/dev/null 2>&1 || break; sleep 0.1; done
adm_b --check-sync >/dev/null 2>&1 && fail "--check-sync passes on a backup whose master is stopped"
echo "backup out of sync $((($(date +%s%N) - start) / 1000000)) ms after the master stopped"
kill -CONT "$a_pid"
start=$(date +%s%N)
for _ in $(seq 50); do adm_b --check-sync >/dev/null 2>&1 && break; sleep 0.1; done
adm_b --check-sync >/dev/null || fail "--check-sync still fails after the master came back"
echo "backup in sync again $((($(date +%s%N) - start) / 1000000)) ms after SIGCONT"

# Failover by hand: the client and the realserver route through the backup now.
in80() { adm_b -L -n --stats --exact | awk '$1 == "TCP" && $2 == "192.0.2.1:80" { print $4 }'; }
before=$(in80)
run ip -n "$c" route replace 192.0.2.0/24 via 203.0.113.3 dev c1
run ip -n "$r" route replace default via 198.51.100.3 dev r1
echo go >&9
wait "$cl_pid"; rc=$?; cl_pid=
[ "$rc" = 0 ] || fail "the flow broke after the failover (client exit $rc)"
grep -q "client ok" "$tmp/client.out" || fail "client"
# The backup's counters went on from the master's (synced) with what it forwarded itself.
inpkts=$(($(in80) - before))
[ "$inpkts" -ge 10 ] || fail "the backup forwarded $inpkts packets: $(adm_b -L -n --stats)"
echo "flow survived the failover; backup forwarded $inpkts packets"

# /metrics counts the daemons' messages (curl, where installed).
if command -v curl >/dev/null; then
  m=$(ip netns exec "$a" curl -sf http://127.0.0.1:9100/metrics) || fail "GET /metrics on A"
  sent=$(echo "$m" | awk '/^lvsd_sync_messages_total\{role="master",direction="sent"\}/ { print $2 }')
  [ "${sent:-0}" -ge 1 ] || fail "/metrics: master sent '${sent}': $(echo "$m" | grep sync)"
  m=$(ip netns exec "$b" curl -sf http://127.0.0.1:9100/metrics) || fail "GET /metrics on B"
  got=$(echo "$m" | awk '/^lvsd_sync_messages_total\{role="backup",direction="received"\}/ { print $2 }')
  [ "${got:-0}" -ge 1 ] || fail "/metrics: backup received '${got}': $(echo "$m" | grep sync)"
  echo "$m" | grep -q '^lvsd_sync_backup_synced 1$' ||
    fail "/metrics: the backup is not in sync: $(echo "$m" | grep sync)"
fi
adm_a --stop-daemon master || fail "--stop-daemon master"
out=$(adm_a --stop-daemon master 2>&1) && fail "a second --stop-daemon succeeded"
[ "$out" = "No daemon is running" ] || fail "second --stop-daemon said: $out"
for p in a b; do
  eval "pid=\$${p}_pid"
  kill -TERM "$pid"; wait "$pid" || fail "lvsd $p exited $? on SIGTERM"
  eval "${p}_pid="
  grep -qE "Sanitizer|runtime error" "$tmp/$p.log" && fail "a sanitizer report in lvsd $p's log"
done
echo "PASS"
