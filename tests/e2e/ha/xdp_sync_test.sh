#!/usr/bin/env bash
# Active/standby with the packet engine (issue 9), in the VRRP lab (lab.sh, ENGINE=xdp): two
# lvsd --xdp directors with direct-routing realservers, keepalived moving the VIP, and the
# connection sync daemons on both (--start-daemon master and backup, as IPVS users run them).
# Proves: lvsadm --check-sync fails on a director whose backup daemon has not heard a master
# and passes once it has the master's table; keepalived takes the generated second
# track_script (lvsd_sync); each packet engine serves on the master and stands by on the
# backup (lvsadm --ha-status), and after the failover the other way; the standby lists the
# master's flows (lvsadm -L -c -n) within a second, and under load has its table and health
# state (-S -n) and reaches its counters (--stats) within about a second; connections opened through the master keep echoing after keepalived stops on it
# (failover: 0 broken); a restarted director gets the flows back by bulk resync before
# --check-sync passes. Root only (exit 77 otherwise). Usage: xdp_sync_test.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:?BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
ADVERT=${ADVERT:-0.25}
ENGINE=xdp SYNC=yes SCHED=rr PREFIX=lvsd-m
# shellcheck source-path=SCRIPTDIR source=lab.sh
source "$here/lab.sh"
ok() { echo "ok: $*"; }
n=10

# d2 alone: its backup daemon hears no master, so it is not in sync.
start_lvsd 2
if why=$(lvsadm_on 2 --check-sync 2>&1); then lab_fail "--check-sync passed with no master: $why"; fi
case $why in
  "lvsadm --check-sync: the backup sync daemon (mcast=eth0, syncid=9) has not received the master's table yet"*) ;;
  *) lab_fail "--check-sync on a lone d2 said: $why" ;;
esac
start_lvsd 1
wait_for 5 "d1 in sync" lvsadm_on 1 --check-sync
wait_for 5 "d2 in sync" lvsadm_on 2 --check-sync
ok "--check-sync fails until the peer's master daemon answers, then passes"

start_keepalived 1
wait_for 10 "d1 becomes MASTER" role_is 1 MASTER
start_keepalived 2
wait_for 10 "d2 becomes BACKUP" role_is 2 BACKUP
wait_for 10 "the VIP answers through d1" answered
if grep -qiE "unknown keyword|invalid" "$work"/keepalived*.log; then
  lab_fail "keepalived refused part of the generated configuration"
fi
grep -q "lvsd_sync" "$work/d1/keepalived.conf" || lab_fail "no lvsd_sync track_script"
ok "d1 MASTER, d2 BACKUP, keepalived runs both track_scripts"
# engine_is N serving|standby: director N's packet engine follows its role (lvsadm --ha-status).
engine_is() { lvsadm_on "$1" --ha-status | grep -q "^packet engine: $2"; }
engine_is 1 serving || lab_fail "d1's packet engine: $(lvsadm_on 1 --ha-status)"
engine_is 2 standby || lab_fail "d2's packet engine: $(lvsadm_on 2 --ha-status)"
ok "the master's packet engine serves, the backup's stands by"

# Set A: n connections through d1, echoing a byte every 100 ms until the stop file exists.
ip netns exec "$cl" python3 "$here/probe.py" hold "$vip" 7 "$n" 60 "$work/stop" >"$work/hold" &
pids+=($!)
wait_for 10 "$n connections open" grep -q "^opened=$n" "$work/hold"
flows() { lvsadm_on "$1" -L -c -n | grep -cE "^TCP .* ESTABLISHED 192\.0\.2\.50:[0-9]+ +$vip:7 " || true; }
[ "$(flows 1)" -ge "$n" ] || lab_fail "d1 lists $(flows 1) of $n flows: $(lvsadm_on 1 -L -c -n)"
start=$(date +%s%N)
until [ "$(flows 2)" -ge "$n" ]; do
  # The sync tick is 100 ms; 3 s bounds a loaded CI machine (the time taken is printed).
  [ $(($(date +%s%N) - start)) -lt 3000000000 ] ||
    lab_fail "d2 lists $(flows 2) of $n flows: $(lvsadm_on 2 -L -c -n)"
  sleep 0.05
done
ok "the standby lists the master's $n flows after $((($(date +%s%N) - start) / 1000000)) ms"

# Under the set's load: the standby's table and health state (lvsadm -S -n: services,
# realservers and weights) are the master's, and its counters (-L -n --stats --exact: the
# master's, synced once a second) reach what the master showed at a given moment.
[ "$(lvsadm_on 2 -S -n)" = "$(lvsadm_on 1 -S -n)" ] ||
  lab_fail "the standby's table differs: $(lvsadm_on 2 -S -n) vs $(lvsadm_on 1 -S -n)"
inpkts() { lvsadm_on "$1" -L -n --stats --exact | awk -v s="$vip:7" '$1 == "TCP" && $2 == s { print $4 }'; }
want=$(inpkts 1)
[ "${want:-0}" -gt 0 ] || lab_fail "the master counted no packet: $(lvsadm_on 1 -L -n --stats)"
start=$(date +%s%N)
until [ "$(inpkts 2)" -ge "$want" ]; do
  # Sent once a second; 3 s bounds a loaded CI machine (the time taken is printed).
  [ $(($(date +%s%N) - start)) -lt 3000000000 ] ||
    lab_fail "the standby shows $(inpkts 2) packets, the master showed $want 3 s before"
  sleep 0.05
done
ok "under load the standby has the master's table and reached its $want packets after $((($(date +%s%N) - start) / 1000000)) ms"

stop_keepalived 1
wait_for 10 "d2 becomes MASTER" role_is 2 MASTER
wait_for 10 "the VIP answers through d2" answered
engine_is 2 serving || lab_fail "d2's packet engine as MASTER: $(lvsadm_on 2 --ha-status)"
engine_is 1 standby || lab_fail "d1's packet engine after STOP: $(lvsadm_on 1 --ha-status)"
sleep 1  # a second of echoes (10 per connection) through d2

# d1 restarts (an empty table): its backup daemon asks d2's master for everything.
stop_lvsd 1
start_lvsd 1
wait_for 5 "d1 in sync again" lvsadm_on 1 --check-sync
[ "$(flows 1)" -ge "$n" ] || lab_fail "after the bulk resync d1 lists $(flows 1) of $n flows"
ok "a restarted director has the flows when --check-sync passes"

touch "$work/stop"
wait_for 10 "the holder stops" grep -q "^held=" "$work/hold"
grep -q "^held=$n broken=0$" "$work/hold" || lab_fail "failover: $(cat "$work/hold")"
ok "failover: $n of $n connections opened through d1 went on through d2"
for f in "$work"/lvsd*.log; do
  grep -qE "Sanitizer|runtime error" "$f" && lab_fail "a sanitizer report in $f"
done
echo "xdp_sync_test: all passed"
