#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ECMP lab measurements (issue 9; not run by CI): builds the lab of lab.sh and prints the
# table in README "Active/active directors": long-lived connections surviving the silent loss
# of a director, the router's detection time (BFD), BGP withdraw time on drain, flows moved
# by removing a realserver (4 -> 3), and flows keeping their realserver when their director
# changes. MODE proxy (default): the directors run the full-NAT proxy; dr: lvsd --xdp with
# direct routing (lab.sh), where long-lived connections are also measured through a resilient
# nexthop group. Usage (root): tests/e2e/ecmp/measure.sh BIN_DIR [FLOWS] [MODE]
set -euo pipefail
bin=${1:?BIN_DIR}
bin=$(cd "$bin" && pwd)
flows=${2:-2000}
lab_mode=${3:-proxy}
lab_dir=$(cd "$(dirname "$0")" && pwd)
lab_prefix=lvsd-k-m$$
work=$(mktemp -d /tmp/lvsd-ecmp-measure.XXXXXX)
# shellcheck source=lab.sh
. "$lab_dir/lab.sh"
trap 'lab_cleanup; rm -rf "$work"' EXIT
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# probe_once FIRST COUNT FILE: probe.py once, with the director column filled in direct routing.
probe_once() {
  probe once "$vip" 80 "$1" "$2" >"$3"
  if [ "$lab_mode" = dr ]; then director_map "$1" "$2" >"$3.map" && with_directors "$3.map" "$3"; fi
}
# Direct routing: a flow's entry keeps it on its realserver for a while even after it closed
# (CLOSE, 10 s); to measure what the scheduler does, wait until no director lists an entry.
no_entries() { local i; for i in 1 2 3; do ! adm "$i" -L -c -n | grep -q '^TCP' || return 1; done; }
entries_gone() { [ "$lab_mode" != dr ] || wait_for 30 "the directors' entries to expire" no_entries; }
# hold_test FIRST COUNT LOSE...: long-lived connections from ports FIRST.., then the commands
# LOSE... take director d3 away; prints "alive opened on_d3 moved broken_elsewhere".
hold_test() {
  local first=$1 count=$2; shift 2
  rm -f "$work/go"
  probe hold "$vip" 80 "$first" "$count" "$work/go" >"$work/held" &
  local holder=$!
  wait_for 30 "$count held connections" grep -q '^opened' "$work/held"
  director_map "$first" "$count" >"$work/held.map"
  "$@"
  director_map "$first" "$count" >"$work/held.map2"
  touch "$work/go"
  wait "$holder"
  with_directors "$work/held.map" "$work/held"
  local opened alive on_d3 moved collateral
  opened=$(awk '/^opened/ {print $2}' "$work/held")
  alive=$(grep -c ' alive$' "$work/held" || true)
  on_d3=$(grep -c ' d3 rs[0-9]* ' "$work/held" || true)
  moved=$(join <(sort "$work/held.map") <(sort "$work/held.map2") | awk '$2 != $3' | wc -l)
  collateral=$(grep -v ' d3 ' "$work/held" | grep -c ' broken$' || true)
  echo "$alive $opened $on_d3 $moved $collateral"
}

lab_up
all="192.0.2.11 192.0.2.12 192.0.2.13"
wait_for 20 "three nexthops" nexthops_are "$all"

# BGP withdraw (drain file -> nexthop gone at the router) and re-announce, 5 times.
withdraw=() announce=()
for _ in 1 2 3 4 5; do
  t=$(date +%s%N); touch "$work/d1/drain"
  wait_for 10 "withdraw" nexthops_are "192.0.2.12 192.0.2.13"; withdraw+=("$(ms_since "$t")")
  t=$(date +%s%N); rm "$work/d1/drain"
  wait_for 10 "announce" nexthops_are "$all"; announce+=("$(ms_since "$t")")
done
echo "drain -> router withdraws: ${withdraw[*]} ms; undrain -> router announces: ${announce[*]} ms"

# lvsd killed (-9), bird alive: the liveness link goes, bird withdraws. 3 times.
killed=()
for _ in 1 2 3; do
  # shellcheck disable=SC2154  # set by director_up through eval
  t=$(date +%s%N) && kill -KILL "$dir_lvsd_1"
  wait_for 10 "withdraw after kill" nexthops_are "192.0.2.12 192.0.2.13"; killed+=("$(ms_since "$t")")
  lvsd_up 1
  wait_for 10 "d1 back" nexthops_are "$all"
done
echo "lvsd -9 (bird alive) -> router withdraws: ${killed[*]} ms"

# Realserver removal: 4 realservers (rs4 added everywhere), then rs2 removed everywhere.
for i in 1 2 3; do adm "$i" -a -t "$vip:80" -r 198.51.100.134:80 "$lab_fwd"; done
probe_once 40000 "$flows" "$work/rs4"
for i in 1 2 3; do adm "$i" -d -t "$vip:80" -r 198.51.100.132:80; done
entries_gone
probe_once 40000 "$flows" "$work/rs3"
fails=$(cat "$work/rs4" "$work/rs3" | grep -c FAIL || true)
moved=$(join <(sort "$work/rs4") <(sort "$work/rs3") | awk '$3 != $5' | wc -l)
own=$(awk '$3 == "rs2"' "$work/rs4" | wc -l)
echo "removing 1 of 4 realservers: $moved of $flows flows moved ($(awk -v m="$moved" -v f="$flows" 'BEGIN{printf "%.1f", 100*m/f}')%; rs2 had $own; goal 25%), $fails failed connections"
for i in 1 2 3; do adm "$i" -a -t "$vip:80" -r 198.51.100.132:80 "$lab_fwd"; done
for i in 1 2 3; do adm "$i" -d -t "$vip:80" -r 198.51.100.134:80; done

# Router side: the same 3 -> 2 nexthop change in a hash-threshold route and in a resilient
# nexthop group, set by hand with a better metric than bird's route (bird 2.0 installs plain
# multipath routes, not nexthop objects). All three directors stay up: this counts only how
# many flows the router sends to another director.
changed_director() { join <(sort "$1") <(sort "$2") | awk '$2 != $4' | wc -l; }
probe_once 60000 "$flows" "$work/ht3"
in_ns rt ip route add "$vip/32" metric 10 nexthop via 192.0.2.11 dev br0 nexthop via 192.0.2.12 dev br0
probe_once 60000 "$flows" "$work/ht2"
in_ns rt ip route del "$vip/32" metric 10
echo "hash-threshold route, 3 -> 2 nexthops: $(changed_director "$work/ht3" "$work/ht2") of $flows flows changed director ($(grep -c ' d3 ' "$work/ht3") were on the removed one)"
for i in 1 2 3; do in_ns rt ip nexthop add id "1$i" via "192.0.2.1$i" dev br0; done
in_ns rt ip nexthop add id 10 group 11/12/13 type resilient buckets 128 idle_timer 0
in_ns rt ip route add "$vip/32" metric 10 nhid 10
probe_once 60000 "$flows" "$work/rs_3"
in_ns rt ip nexthop replace id 10 group 11/12 type resilient buckets 128 idle_timer 0
probe_once 60000 "$flows" "$work/rs_2"
in_ns rt ip route del "$vip/32" metric 10
in_ns rt ip nexthop del id 10
echo "resilient group (128 buckets), 3 -> 2 nexthops: $(changed_director "$work/rs_3" "$work/rs_2") of $flows flows changed director ($(grep -c ' d3 ' "$work/rs_3") were on the removed one)"

# Direct routing: long-lived connections through a resilient group (set by hand, as above)
# when the router takes d3 out of it (d3 stays up but gets no more packets).
if [ "$lab_mode" = dr ]; then
  in_ns rt ip nexthop add id 10 group 11/12/13 type resilient buckets 128 idle_timer 0
  in_ns rt ip route add "$vip/32" metric 10 nhid 10
  read -r alive opened on_d3 moved collateral < <(hold_test 35000 300 \
    in_ns rt ip nexthop replace id 10 group 11/12 type resilient buckets 128 idle_timer 0)
  in_ns rt ip route del "$vip/32" metric 10
  in_ns rt ip nexthop del id 10
  echo "resilient group, d3 taken out: long-lived connections: $alive of $opened survived; d3 carried $on_d3; $moved changed director; broken on d1/d2: $collateral"
fi

# Long-lived connections, then d3 dies silently.
probe_once 50000 "$flows" "$work/new_before"
lose_d3() {
  in_ns d3 ip link set up0 down
  # shellcheck disable=SC2154
  kill -KILL "$dir_lvsd_3" "$dir_bird_3"
  local t
  t=$(date +%s%N)
  wait_for 10 "the router dropping d3" nexthops_are "192.0.2.11 192.0.2.12"
  ms_since "$t" >"$work/detect"
}
read -r alive opened on_d3 moved collateral < <(hold_test 30000 300 lose_d3)
echo "d3 lost silently: router dropped it after $(cat "$work/detect") ms (BFD 50 ms x 4)"
echo "long-lived connections ($lab_mode, hash-threshold route): $alive of $opened survived; d3 carried $on_d3; $moved changed director; broken on d1/d2 (ECMP rehash): $collateral"
entries_gone
probe_once 50000 "$flows" "$work/new_after"
fails=$(grep -c FAIL "$work/new_after" || true)
changed_dir=$(join <(sort "$work/new_before") <(sort "$work/new_after") | awk '$2 != $4' | wc -l)
same_rs=$(join <(sort "$work/new_before") <(sort "$work/new_after") | awk '$2 != $4 && $3 == $5' | wc -l)
echo "new flows after the loss: $fails of $flows failed; $changed_dir changed director, $same_rs of them kept their realserver"
