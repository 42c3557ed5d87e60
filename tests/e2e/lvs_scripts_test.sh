#!/usr/bin/env bash
# lvs-director and lvs-route, run for real in network namespaces on 192.0.2.0/24: one bridge,
# a director (192.0.2.1, VIP 192.0.2.100 named lvs-vip on eth0:110), three realservers
# (lvs-realserver on telnet/tcp and xdmcp/udp, 192.0.2.11-13) routed with lvs-route, and a
# client (192.0.2.50). lvsd, lvsadm and lvs-realserver come from BIN_DIR, the scripts from
# SCRIPTS_DIR. Exit 77 (skip) where it cannot run (not root, a tool or kernel feature missing).
# Usage: lvs_scripts_test.sh BIN_DIR SCRIPTS_DIR
# LVS_SCRIPTS_FORWARD=masq|fullnat picks lvs.conf's LVS_FORWARD (default: masq when this lvsd
# has masquerading, i.e. `lvsd --cleanup`, else fullnat).
# shellcheck disable=SC2016  # the single-quoted bash -c programs expand inside the namespaces
set -euo pipefail
bin=$(cd "${1:?BIN_DIR}" && pwd)
scripts=$(cd "${2:?SCRIPTS_DIR}" && pwd)
skip() {
  echo "lvs_scripts_test: $*; skipped"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, addresses, sysctls)"
for cmd in ip ping setpriv getent flock timeout realpath; do
  command -v "$cmd" >/dev/null || skip "'$cmd' missing"
done
if ! getent services telnet/tcp >/dev/null || ! getent services xdmcp/udp >/dev/null; then
  skip "/etc/services lacks telnet/tcp or xdmcp/udp"
fi

forward=${LVS_SCRIPTS_FORWARD:-}
if [ -z "$forward" ]; then
  if [[ $("$bin/lvsd" --help 2>&1) == *--cleanup* ]]; then forward=masq; else forward=fullnat; fi
fi
echo "lvs_scripts_test: LVS_FORWARD=$forward"
case $forward in
  masq) method=Masq ;;
  fullnat) method=FullNat ;;
  *) echo "lvs_scripts_test: LVS_SCRIPTS_FORWARD=$forward: want masq or fullnat" >&2; exit 2 ;;
esac
p=lvsb$$
sw=${p}sw dir=${p}dir rs1=${p}rs1 rs2=${p}rs2 rs3=${p}rs3 cl=${p}cl
work=$(mktemp -d /tmp/lvs-scripts.XXXXXX)
pids=()
namespaces=()
cleanup() {
  local pid ns
  set +e
  if [ -s "$work/state/lvsd.pid" ]; then
    ip netns exec "$dir" "$scripts/lvs-director" stop >/dev/null 2>&1
    pid=$(cat "$work/state/lvsd.pid" 2>/dev/null)
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null
  fi
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "/etc/netns/$dir" "$work"
}
trap cleanup EXIT
fail() {
  echo "lvs_scripts_test: FAILED: $*" >&2
  tail -n 20 "$work/lvsd.log" >&2 2>/dev/null || true
  exit 1
}
ok() { echo "ok: $*"; }

# --- the lab -----------------------------------------------------------------------------------
ip netns add "$sw" 2>/dev/null || skip "cannot create network namespaces"
namespaces+=("$sw")
ip -n "$sw" link add br0 type bridge 2>/dev/null || skip "no bridge support in this kernel"
ip -n "$sw" link set br0 up
# host NS ADDR: a namespace with eth0 on the bridge.
host() {
  ip netns add "$1"
  namespaces+=("$1")
  ip -n "$sw" link add "v${#namespaces[@]}" type veth peer name eth0 netns "$1" ||
    skip "no veth support in this kernel"
  ip -n "$sw" link set "v${#namespaces[@]}" master br0 up
  ip -n "$1" addr add "$2/24" dev eth0
  ip -n "$1" link set lo up
  ip -n "$1" link set eth0 up
}
host "$dir" 192.0.2.1
host "$rs1" 192.0.2.11
host "$rs2" 192.0.2.12
host "$rs3" 192.0.2.13
host "$cl" 192.0.2.50
# The director's own /etc/hosts (ip netns exec binds /etc/netns/NAME/*): VIP and RIPS by name.
mkdir -p "/etc/netns/$dir"
printf '127.0.0.1 localhost\n192.0.2.100 lvs-vip\n192.0.2.11 rs1\n192.0.2.12 rs2\n192.0.2.13 rs3\n' \
  >"/etc/netns/$dir/hosts"

for n in 1 2 3; do
  ns=${p}rs$n
  ip netns exec "$ns" timeout -k 5 300 "$bin/lvs-realserver" --name "rs$n" \
    --tcp "192.0.2.1$n:23" --udp "192.0.2.1$n:177" >"$work/rs$n.out" 2>"$work/rs$n.log" &
  pids+=("$!")
done
for n in 1 2 3; do
  for _ in $(seq 100); do grep -q '^ready' "$work/rs$n.out" && break; sleep 0.05; done
  grep -q '^ready' "$work/rs$n.out" || fail "realserver rs$n did not start: $(cat "$work/rs$n.log")"
done

# expect_rc WANT NAME CMD...: runs CMD, keeps its output in $out, checks the exit status.
out=""
expect_rc() {
  local want=$1 name=$2 rc=0
  shift 2
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -eq "$want" ] || fail "$name: exit $rc, want $want; output:"$'\n'"$out"
}
contains() { [[ $out == *"$2"* ]] || fail "$1: output lacks '$2':"$'\n'"$out"; }

# --- lvs-route on the realservers --------------------------------------------------------------
export LVS_ROUTE_DEFAULTS=/dev/null LVS_ROUTE_STATE=$work/route-state
route() { ip netns exec "$1" env NET_INTERFACE=eth0 "${@:2}"; }
routes() { ip -n "$1" -4 route show table main; }

expect_rc 3 "lvs-route status before start" route "$rs1" "$scripts/lvs-route" status
contains "lvs-route status before start" "run 'lvs-route start'"
expect_rc 1 "lvs-route start without a director" route "$rs1" "$scripts/lvs-route" start
contains "lvs-route start without a director" "DIRECTOR is not set"
expect_rc 0 "lvs-route start" route "$rs1" DIRECTOR=192.0.2.1 "$scripts/lvs-route" start
[ "$(routes "$rs1")" = "default via 192.0.2.1 dev eth0 onlink " ] ||
  fail "rs1 routes after start: $(routes "$rs1")"
ok "lvs-route start: rs1 has only 'default via 192.0.2.1'"
expect_rc 0 "lvs-route start again" route "$rs1" DIRECTOR=192.0.2.1 "$scripts/lvs-route" start
contains "lvs-route start again" "already in LVS-NAT shape"
expect_rc 0 "lvs-route status" route "$rs1" "$scripts/lvs-route" status
contains "lvs-route status" "LVS-NAT shape: default route via 192.0.2.1"
ok "lvs-route start is idempotent; status exits 0"
ip -n "$rs1" link set eth0 down
ip -n "$rs1" link set eth0 up
expect_rc 3 "lvs-route status after link down/up" route "$rs1" "$scripts/lvs-route" status
contains "lvs-route status after link down/up" "subnet route 192.0.2.0/24 present"
contains "lvs-route status after link down/up" "no default route"
expect_rc 0 "lvs-route start repairs" route "$rs1" "$scripts/lvs-route" start
[ "$(routes "$rs1")" = "default via 192.0.2.1 dev eth0 onlink " ] ||
  fail "rs1 routes after repair: $(routes "$rs1")"
ok "link down/up: status says to re-run start (exit 3); start (director remembered) repairs both routes"
expect_rc 0 "lvs-route stop" route "$rs1" "$scripts/lvs-route" stop
[[ $(routes "$rs1") == *"192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.11"* ]] ||
  fail "rs1 routes after stop: $(routes "$rs1")"
expect_rc 0 "lvs-route stop again" route "$rs1" "$scripts/lvs-route" stop
contains "lvs-route stop again" "nothing to restore"
ok "lvs-route stop restores the subnet route; idempotent"
expect_rc 4 "lvs-route start as nobody" route "$rs1" \
  setpriv --reuid=65534 --regid=65534 --clear-groups "$scripts/lvs-route" start
contains "lvs-route start as nobody" "needs root"
ok "lvs-route start as nobody: exit 4"
expect_rc 0 "lvs-route start rs1" route "$rs1" "$scripts/lvs-route" start
# rs2 already has the director as default route: DIRECTOR is taken from it.
ip -n "$rs2" route add default via 192.0.2.1
expect_rc 0 "lvs-route start rs2 (director from the default route)" route "$rs2" "$scripts/lvs-route" start
[ "$(routes "$rs2")" = "default via 192.0.2.1 dev eth0 " ] || fail "rs2 routes: $(routes "$rs2")"
expect_rc 0 "lvs-route start rs3" route "$rs3" DIRECTOR=192.0.2.1 "$scripts/lvs-route" start
ok "all realservers route through the director"

# --- lvs-director ------------------------------------------------------------------------------
export LVSD=$bin/lvsd LVSADM=$bin/lvsadm LVSD_SOCKET=$work/lvsd.sock LVSD_LOG=$work/lvsd.log
export LVS_DIRECTOR_STATE=$work/state LVS_DIRECTOR_DEFAULTS=/dev/null LVS_CONF=$work/lvs.conf
# --fall 1000: lvsd's own PING_CHECK must not race `update` in this test.
export LVSD_ARGS="--workers 1 --fall 1000 --grace 2"
director() { ip netns exec "$dir" "$scripts/lvs-director" "$@"; }
nobody() { ip netns exec "$dir" setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
lvsadm_list() { "$bin/lvsadm" -L -n; }
reals() { lvsadm_list | awk '$1 == "->" && $2 ~ /^[0-9]/ { print $2 }' | sort | tr '\n' ' '; }
sysctls() {
  ip netns exec "$dir" sh -c 'cd /proc/sys/net/ipv4 && echo \
    "$(cat conf/all/send_redirects) $(cat conf/default/send_redirects)" \
    "$(cat conf/eth0/send_redirects) $(cat ip_forward)"'
}
# running PID: exists and is not a zombie (lvsd's new parent may reap it late).
running() { [ -r "/proc/$1/stat" ] && [ "$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat")" != Z ]; }
vip_line() { ip -n "$dir" -4 -o addr show dev eth0 | grep ' 192.0.2.100/' || true; }
write_conf() {
  cat >"$LVS_CONF" <<EOF
# the article's lvs.conf for this lab
VIP=lvs-vip
VIP_IF=eth0:110
LVS_IF="eth0"
TPORTS="telnet"
UPORTS="xdmcp"
RIPS="rs1 \\
192.0.2.12${1:-}"
LVS_FORWARD=$forward
LAB=lvs-scripts-test
EOF
}
# Everything start may add and stop must take away again: addresses, rules, routes, nft tables
# (without the link-local IPv6 address, which the kernel adds on its own once DAD completes).
net_state() {
  {
    ip -n "$dir" addr show
    ip -n "$dir" -4 rule show
    ip -n "$dir" -6 rule show
    ip -n "$dir" route show table all
    ip -n "$dir" -6 route show table all
    if command -v nft >/dev/null; then ip netns exec "$dir" nft list tables; fi
  } | grep -v 'fe80::'
}
write_conf
before=$(sysctls)
before_net=$(net_state)

expect_rc 3 "status before start" director status
contains "status before start" "not running"
expect_rc 3 "status as nobody before start" nobody "$scripts/lvs-director" status
ok "status exits 3 when stopped (also for a non-root user)"
for action in start stop reload update restart; do
  expect_rc 4 "$action as nobody" nobody "$scripts/lvs-director" "$action"
  contains "$action as nobody" "needs root"
done
ok "start/stop/reload/update/restart as nobody: exit 4, 'needs root'"

# A broken lvs.conf: lvsd's FILE:LINE:COL error, exit 6, nothing changed.
sed 's/^TPORTS="telnet"/TPORTS="telnet nosuchservice"/' "$LVS_CONF" >"$work/bad.conf"
expect_rc 6 "start with a broken lvs.conf" env LVS_CONF="$work/bad.conf" \
  ip netns exec "$dir" "$scripts/lvs-director" start
contains "start with a broken lvs.conf" "$work/bad.conf:5:16: unknown tcp service name: 'nosuchservice'"
[ -z "$(vip_line)" ] || fail "broken lvs.conf: the VIP was added: $(vip_line)"
[ "$(sysctls)" = "$before" ] || fail "broken lvs.conf: sysctls changed: $(sysctls)"
! lvsadm_list >/dev/null 2>&1 || fail "broken lvs.conf: an lvsd answers"
ok "broken lvs.conf: FILE:LINE:COL shown, exit 6, no VIP, sysctls and lvsd untouched"

# lvsd failing at start: everything undone, its error shown.
expect_rc 1 "start with lvsd failing" env LVSD_ARGS="--workers nonsense" \
  ip netns exec "$dir" "$scripts/lvs-director" start
contains "start with lvsd failing" "lvsd exited at start"
contains "start with lvsd failing" "nonsense"
contains "start with lvsd failing" "removed VIP 192.0.2.100"
[ -z "$(vip_line)" ] || fail "failed start left the VIP: $(vip_line)"
[ "$(sysctls)" = "$before" ] || fail "failed start left sysctls: $(sysctls), before $before"
ok "lvsd failing at start: its error shown, exit 1, VIP and sysctls undone"

expect_rc 0 "start" director start
echo "$out"
contains "start" "TCP  192.0.2.100:23 wlc"
contains "start" "192.0.2.11:23                $method"
contains "start" "lvs.conf:10:1: warning: ignoring unknown variable LAB"
[[ $(vip_line) == *"scope global eth0:110"* ]] || fail "VIP label: $(vip_line)"
[ "$(sysctls)" = "0 0 0 1" ] || fail "sysctls after start (all default eth0 redirects, forward): $(sysctls)"
[ "$(reals)" = "192.0.2.11:177 192.0.2.11:23 192.0.2.12:177 192.0.2.12:23 " ] ||
  fail "realservers after start: $(reals)"
ok "start: VIP 192.0.2.100/32 labelled eth0:110, redirects off, forwarding on, table loaded"
pid=$(cat "$work/state/lvsd.pid")
expect_rc 0 "start again" director start
contains "start again" "already running"
[ "$(cat "$work/state/lvsd.pid")" = "$pid" ] || fail "start again replaced lvsd"
expect_rc 0 "status" director status
contains "status" "192.0.2.12:23"
# lvsd's socket is root's: another user learns that lvsd runs and why the table is not shown.
chmod 755 "$work"
expect_rc 4 "status as nobody" nobody "$scripts/lvs-director" status
contains "status as nobody" "lvsd (pid $pid) runs; its socket $LVSD_SOCKET is not open to you"
ok "start again is a no-op; status exits 0 and lists the table (as nobody: exit 4, says why)"

# Real traffic from the client namespace through the VIP.
banner=$(ip netns exec "$cl" timeout 10 bash -c \
  'exec 3<>/dev/tcp/192.0.2.100/23 && read -r -t 5 line <&3 && echo "$line"') || fail "telnet port"
[[ $banner == rs[12] ]] || fail "TCP banner '$banner'"
ip netns exec "$cl" "$bin/lvs-realserver" --query-udp 192.0.2.100:177 --count 2 >"$work/udp" ||
  fail "UDP through the VIP"
ok "client reaches the VIP: TCP banner '$banner', UDP: $(tr '\n' ' ' <"$work/udp")"

expect_rc 0 "update, all answer" director update
contains "update, all answer" "2 of 2 realservers answer; 0 changes"
ip -n "$rs2" link set eth0 down
expect_rc 0 "update, rs2 down" director update
echo "$out"
contains "update, rs2 down" "removed 192.0.2.12:23 from TCP 192.0.2.100:23"
contains "update, rs2 down" "removed 192.0.2.12:177 from UDP 192.0.2.100:177"
[ "$(reals)" = "192.0.2.11:177 192.0.2.11:23 " ] || fail "after update with rs2 down: $(reals)"
expect_rc 0 "update again, rs2 down" director update
contains "update again, rs2 down" "1 of 2 realservers answer; 0 changes"
ok "update removes the realserver whose link is down (and a second update changes nothing)"
ip -n "$rs2" link set eth0 up
expect_rc 3 "rs2 lvs-route status after its link came back" route "$rs2" "$scripts/lvs-route" status
expect_rc 0 "rs2 lvs-route start after its link came back" route "$rs2" "$scripts/lvs-route" start
for _ in $(seq 50); do ip netns exec "$dir" ping -n -c 1 -W 1 192.0.2.12 >/dev/null 2>&1 && break; done
expect_rc 0 "update, rs2 up" director update
echo "$out"
contains "update, rs2 up" "added 192.0.2.12:23 to TCP 192.0.2.100:23"
contains "update, rs2 up" "added 192.0.2.12:177 to UDP 192.0.2.100:177"
[ "$(reals)" = "192.0.2.11:177 192.0.2.11:23 192.0.2.12:177 192.0.2.12:23 " ] ||
  fail "after update with rs2 up: $(reals)"
ok "update adds it back once it answers"

# reload: a held session survives while rs3 joins.
ip netns exec "$cl" timeout 60 bash -c '
  exec 3<>/dev/tcp/192.0.2.100/23 || exit 1
  read -r -t 5 line <&3 || exit 1
  echo "banner $line" >"$1/held"
  for _ in $(seq 400); do [ -e "$1/go" ] && break; sleep 0.1; done
  echo still-here >&3
  read -r -t 5 line <&3 || exit 1
  echo "echo $line" >>"$1/held"' held "$work" &
held_pid=$!
pids+=("$held_pid")
for _ in $(seq 100); do grep -q '^banner' "$work/held" 2>/dev/null && break; sleep 0.05; done
grep -q '^banner rs[12]$' "$work/held" || fail "held session: $(cat "$work/held" 2>/dev/null)"
# The realserver's side of the held session: the client's own address with masq, the
# director's with full NAT.
held_rs=$(sed -n 's/^banner rs//p' "$work/held")
if [ "$forward" = masq ]; then peer=192.0.2.50; else peer=192.0.2.1; fi
[[ $(ip netns exec "${p}rs$held_rs" ss -Htn state established "( sport = :23 )") == *" $peer:"* ]] ||
  fail "rs$held_rs's session peer is not $peer: $(ip netns exec "${p}rs$held_rs" ss -Htn)"
ok "rs$held_rs sees the held session from $peer ($forward)"
write_conf " rs3"
expect_rc 0 "reload with rs3 added" director reload
echo "$out"
contains "reload with rs3 added" "2 edited"
[ "$(reals)" = "192.0.2.11:177 192.0.2.11:23 192.0.2.12:177 192.0.2.12:23 192.0.2.13:177 192.0.2.13:23 " ] ||
  fail "after reload: $(reals)"
if [ "$(cat "$work/state/lvsd.pid")" != "$pid" ] || ! running "$pid"; then
  fail "reload restarted lvsd"
fi
touch "$work/go"
wait "$held_pid" || fail "held session broke across the reload: $(cat "$work/held")"
grep -q '^echo still-here$' "$work/held" || fail "held session after reload: $(cat "$work/held")"
ok "reload adds rs3; the session held across it still echoes ($(head -n 1 "$work/held"))"
# Three sessions at once: rs3, the new one with no connections, gets one of them.
ip netns exec "$cl" timeout 20 bash -c '
  exec 3<>/dev/tcp/192.0.2.100/23 4<>/dev/tcp/192.0.2.100/23 5<>/dev/tcp/192.0.2.100/23
  for fd in 3 4 5; do read -r -t 5 line <&"$fd" && echo "$line"; done' >"$work/three" ||
  fail "three sessions"
grep -q '^rs3$' "$work/three" || fail "no session went to rs3: $(tr '\n' ' ' <"$work/three")"
ok "new sessions reach rs3: $(tr '\n' ' ' <"$work/three")"

listed=$(reals)
cp "$LVS_CONF" "$work/good.conf"
bad_line=$(($(wc -l <"$LVS_CONF") + 1))
echo 'RIPS rs1' >>"$LVS_CONF"
expect_rc 6 "reload with a broken lvs.conf" director reload
contains "reload with a broken lvs.conf" "$LVS_CONF:$bad_line:1: not a variable assignment"
[ "$(reals)" = "$listed" ] || fail "broken reload changed the table: $(reals)"
expect_rc 6 "restart with a broken lvs.conf" director restart
contains "restart with a broken lvs.conf" "$LVS_CONF:$bad_line:1: not a variable assignment"
if ! running "$pid" || [ "$(reals)" != "$listed" ]; then fail "broken restart stopped the director"; fi
cp "$work/good.conf" "$LVS_CONF"
sed -i 's/^VIP=lvs-vip/VIP=192.0.2.101/' "$LVS_CONF"
expect_rc 1 "reload with another VIP" director reload
contains "reload with another VIP" "run 'lvs-director restart'"
if [ -z "$(vip_line)" ] || [ "$(reals)" != "$listed" ]; then
  fail "reload with another VIP changed things"
fi
cp "$work/good.conf" "$LVS_CONF"
ok "reload/restart: a broken file gives FILE:LINE (exit 6) and keeps lvsd running, a changed VIP asks for a restart (exit 1); nothing changes"

expect_rc 0 "restart" director restart
new_pid=$(cat "$work/state/lvsd.pid")
if [ "$new_pid" = "$pid" ] || ! running "$new_pid"; then fail "restart: lvsd pid $pid -> $new_pid"; fi
! running "$pid" || fail "restart left the old lvsd (pid $pid) running"
[[ $(vip_line) == *"scope global eth0:110"* ]] || fail "VIP after restart: $(vip_line)"
[ "$(sysctls)" = "0 0 0 1" ] || fail "sysctls after restart: $(sysctls)"
[ "$(reals)" = "$listed" ] || fail "table after restart: $(reals)"
ok "restart: a new lvsd (pid $pid -> $new_pid), VIP, sysctls and table as before"
pid=$new_pid

expect_rc 1 "start with a missing lvsd" env LVSD="$work/no-lvsd" \
  ip netns exec "$dir" "$scripts/lvs-director" start
contains "start with a missing lvsd" "$work/no-lvsd is not an executable: set LVSD"
expect_rc 0 "stop" director stop
echo "$out"
[ -z "$(vip_line)" ] || fail "stop left the VIP: $(vip_line)"
[ "$(sysctls)" = "$before" ] || fail "stop: sysctls $(sysctls), before $before"
! running "$pid" || fail "stop left lvsd (pid $pid) running"
! lvsadm_list >/dev/null 2>&1 || fail "an lvsd still answers after stop"
expect_rc 3 "status after stop" director status
expect_rc 0 "stop again" director stop
contains "stop again" "nothing to stop"
[ "$(net_state)" = "$before_net" ] ||
  fail "stop left addresses, rules, routes or nft tables behind:"$'\n'"$(diff <(echo "$before_net") <(net_state))"
ok "stop: lvsd gone, VIP removed, sysctls restored ($before), status 3, second stop exit 0"

# lvsd killed: status says it is dead (exit 1); stop cleans up what it left (lvsd --cleanup for
# the masquerading rules, the VIP, the sysctls).
expect_rc 0 "start for the crash" director start
pid=$(cat "$work/state/lvsd.pid")
kill -KILL "$pid"
for _ in $(seq 100); do running "$pid" || break; sleep 0.05; done
expect_rc 1 "status after lvsd was killed" director status
contains "status after lvsd was killed" "lvsd is dead but its pid file"
expect_rc 0 "stop after lvsd was killed" director stop
echo "$out"
contains "stop after lvsd was killed" "was not running any more"
[ "$(sysctls)" = "$before" ] || fail "stop after a crash: sysctls $(sysctls), before $before"
[ "$(net_state)" = "$before_net" ] ||
  fail "stop after a crash left state behind:"$'\n'"$(diff <(echo "$before_net") <(net_state))"
ok "lvsd killed: status exit 1 (dead, pid file remains); stop cleans up everything it left"
echo "lvs_scripts_test: lvs-route and lvs-director work"
