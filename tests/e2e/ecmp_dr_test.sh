#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Active/active directors behind ECMP in direct routing (issue 9), functional: the lab of
# tests/e2e/ecmp/lab.sh with lab_mode=dr: three directors run `lvsd --xdp up0 --cluster-seed`
# (the packet engine, generic XDP) with -g realservers, which hold the VIP on lo and answer the
# client directly through the router. Checks: new connections succeed through all three
# directors, the realservers see the client's address, and each flow is listed by the director
# the router's hash gives it; long-lived connections opened before director d3 dies silently
# (link down, processes killed; BFD tells the router) ALL survive: the flows d3 carried, and
# those the router's hash-threshold rehash moved between d1 and d2, reach directors that never
# saw their SYN, which take them over mid-stream (cluster mode) to the same realserver; the
# echoed lines are compared byte for byte.
# Exit 77 (skip) without root, bird2 or python3.
# Usage: ecmp_dr_test.sh BIN_DIR
set -euo pipefail
bin=${1:?BIN_DIR}
bin=$(cd "$bin" && pwd)
lab_dir=$(cd "$(dirname "$0")/ecmp" && pwd)
name=ecmp_dr_test
skip() { echo "$name: $*; skipped"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, XDP)"
for cmd in ip bird birdc python3; do
  command -v "$cmd" >/dev/null || skip "'$cmd' missing (install bird2)"
done
lab_prefix=lvsd-k-$$
lab_mode=dr
work=$(mktemp -d /tmp/lvsd-ecmp-dr.XXXXXX)
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

# Long-lived connections, each greeted by its realserver (which saw the client's address).
held=60
probe hold "$vip" 80 30000 "$held" "$work/go" >"$work/held" &
holder=$!
wait_for 30 "$held held connections" grep -q '^opened' "$work/held" || fail "the held connections did not open"
opened=$(awk '/^opened/ {print $2}' "$work/held")
[ "$opened" -eq "$held" ] || fail "$opened of $held connections opened: $(grep FAIL "$work/held" | head -3)"
# Which director has each flow: the router's choice equals what the directors list.
director_map 30000 "$held" >"$work/map"
listed_directors >"$work/listed"
[ "$(wc -l <"$work/map")" -eq "$held" ] || fail "the router gave $(wc -l <"$work/map") routes for $held flows"
cmp -s <(sort "$work/map") <(sort "$work/listed") ||
  fail "the directors' entries differ from the router's choices: $(diff <(sort "$work/map") <(sort "$work/listed") | head -5)"
used=$(awk '{print $2}' "$work/map" | sort -u | tr '\n' ' ')
[ "$used" = "d1 d2 d3 " ] || fail "the held connections went through '$used' only"
on_d3=$(grep -c ' d3$' "$work/map" || true)
echo "$name: $held connections held, directors used: $used(d3 carries $on_d3), each listed by its director"

# d3 dies silently: its link goes down first, then lvsd and bird are killed; BFD tells the router.
in_ns d3 ip link set up0 down
# shellcheck disable=SC2154  # set by director_up through eval
kill -KILL "$dir_lvsd_3" "$dir_bird_3"
wait_for 5 "the router dropping d3" nexthops_are "192.0.2.11 192.0.2.12" || fail "nexthops '$(vip_nexthops)' after d3 died"
director_map 30000 "$held" >"$work/map_after"
moved=$(join <(sort "$work/map") <(sort "$work/map_after") | awk '$2 != $3' | wc -l)
touch "$work/go"
wait "$holder" || fail "the probe failed"
with_directors "$work/map" "$work/held"
alive=$(grep -c ' alive$' "$work/held" || true)
broken=$(grep ' broken$' "$work/held" | head -3 || true)
[ "$alive" -eq "$held" ] || fail "$alive of $held long-lived connections survived; broken: $broken"
# Every flow now has an entry on the director the router sends it to (made mid-stream for the
# moved ones; CLOSE by now: the probe resets each connection after its echo).
listed_directors any >"$work/listed_after"
missing=$(comm -23 <(sort "$work/map_after") <(sort "$work/listed_after") | head -3)
[ -z "$missing" ] || fail "flows not listed by their new director: $missing"
echo "$name: d3 lost: $alive of $held long-lived connections survived ($moved changed director: d3's $on_d3 and the rehash's)"

# New connections after the loss succeed through d1 and d2.
probe once "$vip" 80 31000 20 >"$work/after"
grep -q FAIL "$work/after" && fail "a new connection failed after d3 died: $(grep FAIL "$work/after" | head -3)"
echo "$name: 20/20 new connections after the loss"
! grep -l 'Sanitizer\|runtime error' "$work"/d*/lvsd.log || fail "a sanitizer report in the lvsd logs above"
echo "$name: PASS"
