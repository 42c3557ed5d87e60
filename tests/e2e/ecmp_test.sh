#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Active/active directors behind ECMP (issue 9), functional: a bird2 router, three directors
# (lvsd --cluster-seed --bgp-bird-socket, each with its own bird2), realservers and a client in
# network namespaces (tests/e2e/ecmp/lab.sh). Checks: every director's BGP route reaches the
# router as one multipath route; new connections succeed and spread over the three directors;
# the same flow gets the same realserver whichever director takes it (mh cluster mode, the
# realservers were added in different orders); draining a director (its --bgp-drain-file)
# withdraws its nexthop and new connections still succeed; a director that dies silently (link
# down, processes killed) is dropped by the router through BFD and connections succeed again;
# an lvsd killed with -9 (bird still running) loses its route with its liveness link; a
# director stopped with SIGTERM withdraws its route itself.
# Exit 77 (skip) without root, bird2 or python3.
# Usage: ecmp_test.sh BIN_DIR
set -euo pipefail
bin=${1:?BIN_DIR}
bin=$(cd "$bin" && pwd)
lab_dir=$(cd "$(dirname "$0")/ecmp" && pwd)
name=ecmp_test
skip() { echo "$name: $*; skipped"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
for cmd in ip bird birdc python3; do
  command -v "$cmd" >/dev/null || skip "'$cmd' missing (install bird2)"
done
lab_prefix=lvsd-j-$$
work=$(mktemp -d /tmp/lvsd-ecmp.XXXXXX)
# shellcheck source=ecmp/lab.sh
. "$lab_dir/lab.sh"
fail() {
  echo "$name: FAIL: $*" >&2
  for f in "$work"/d*/lvsd.log "$work"/*/bird.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2 || true; done
  exit 1
}
trap 'lab_cleanup; rm -rf "$work"' EXIT

lab_up
all="192.0.2.11 192.0.2.12 192.0.2.13"
wait_for 15 "the router's multipath route via all three directors" nexthops_are "$all" ||
  fail "router has nexthops '$(vip_nexthops)'"
echo "$name: the router routes $vip via $(vip_nexthops)"

# New connections succeed and spread over the directors.
probe once "$vip" 80 20000 60 >"$work/before"
fails=$(grep -c FAIL "$work/before" || true)
[ "$fails" -eq 0 ] || fail "$fails of 60 connections failed: $(grep FAIL "$work/before" | head -3)"
used=$(awk '{print $2}' "$work/before" | sort -u | tr '\n' ' ')
[ "$used" = "d1 d2 d3 " ] || fail "connections went through '$used' only"
echo "$name: 60 connections, directors used: $used"

# Drain d1: its nexthop goes; its flows go to d2/d3, which pick the same realservers.
touch "$work/d1/drain"
wait_for 5 "d1's withdrawal" nexthops_are "192.0.2.12 192.0.2.13" || fail "nexthops '$(vip_nexthops)' after drain"
probe once "$vip" 80 20000 60 >"$work/drained"
grep -q FAIL "$work/drained" && fail "a connection failed after the drain: $(grep FAIL "$work/drained" | head -3)"
grep -q ' d1 ' "$work/drained" && fail "a new connection went to the drained d1"
moved=$(join <(sort "$work/before") <(sort "$work/drained") | awk '$3 != $5' | wc -l)
[ "$moved" -eq 0 ] || fail "$moved flows changed realserver when their director changed"
echo "$name: d1 drained: 60/60 new connections through d2/d3, every flow on the same realserver"
rm "$work/d1/drain"
wait_for 5 "d1's return" nexthops_are "$all" || fail "nexthops '$(vip_nexthops)' after undrain"

# lvsd on d3 is killed (-9) while its bird keeps running: its liveness link (a TUN device)
# vanishes with it, so bird withdraws the route by itself. Then lvsd comes back.
# shellcheck disable=SC2154  # set by director_up through eval
kill -KILL "$dir_lvsd_3"
wait_for 5 "bird withdrawing the killed lvsd's route" nexthops_are "192.0.2.11 192.0.2.12" ||
  fail "nexthops '$(vip_nexthops)' after d3's lvsd was killed"
probe once "$vip" 80 23000 20 >"$work/killed"
grep -q FAIL "$work/killed" && fail "a connection failed after d3's lvsd was killed"
echo "$name: d3's lvsd killed: bird withdrew its route, 20/20 new connections through d1/d2"
lvsd_up 3
wait_for 5 "d3's return" nexthops_are "$all" || fail "nexthops '$(vip_nexthops)' after d3's lvsd restarted"

# d3 dies silently: its link goes down first (no BGP notification, no TCP FIN can leave), then
# lvsd and bird are killed. Only BFD (or the 3 s hold time) tells the router.
in_ns d3 ip link set up0 down
# shellcheck disable=SC2154  # set by director_up through eval
kill -KILL "$dir_lvsd_3" "$dir_bird_3"
start=$(date +%s%N)
wait_for 5 "the router dropping d3" nexthops_are "192.0.2.11 192.0.2.12" || fail "nexthops '$(vip_nexthops)' after d3 died"
echo "$name: d3 dead: the router dropped it after $(( ($(date +%s%N) - start) / 1000000 )) ms"
probe once "$vip" 80 21000 60 >"$work/after"
grep -q FAIL "$work/after" && fail "a connection failed after d3 died: $(grep FAIL "$work/after" | head -3)"
echo "$name: 60/60 new connections through $(awk '{print $2}' "$work/after" | sort -u | tr '\n' ' ')"

# A clean stop (SIGTERM) of d2 withdraws its route before lvsd drains: only d1 is left.
# shellcheck disable=SC2154  # set by director_up through eval
kill -TERM "$dir_lvsd_2"
wait_for 5 "the router dropping the stopping d2" nexthops_are "192.0.2.11" || fail "nexthops '$(vip_nexthops)' after d2's SIGTERM"
grep -q 'bgp: every VIP withdrawn (lvsd stopping)' "$work/d2/lvsd.log" || fail "d2 did not log its withdrawal"
probe once "$vip" 80 22000 20 >"$work/last"
grep -q FAIL "$work/last" && fail "a connection failed with d1 alone: $(grep FAIL "$work/last" | head -3)"
echo "$name: d2 stopped cleanly and withdrew; 20/20 new connections through d1"
echo "$name: PASS"
