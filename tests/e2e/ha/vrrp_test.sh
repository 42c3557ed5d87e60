#!/usr/bin/env bash
# A standby director on keepalived's VRRP (issue 9), in namespaces (tests/e2e/ha/lab.sh): the
# master serves, its keepalived stopping moves the VIP to the backup which serves, the old master
# coming back does not take it back (nopreempt), a broken director (no realserver up: lvsadm
# --check fails in the track_script) goes to FAULT and gives the VIP away; each lvsd's role
# follows its fifo. Root only (exit 77 otherwise). Usage: vrrp_test.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:?BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# 0.25 s adverts: fast, yet 3 missed adverts (0.75 s) on a loaded CI machine before a backup
# takes over on its own.
ADVERT=${ADVERT:-0.25}
# shellcheck source-path=SCRIPTDIR source=lab.sh
source "$here/lab.sh"
ok() { echo "ok: $*"; }

start_lvsd 1
start_lvsd 2
role_is 1 UNKNOWN || lab_fail "d1's lvsd should be UNKNOWN before keepalived speaks"
start_keepalived 1
wait_for 10 "d1 becomes MASTER (lvsd's role)" role_is 1 MASTER
wait_for 5 "d1 holds the VIP" has_vip 1
start_keepalived 2
wait_for 10 "d2 becomes BACKUP" role_is 2 BACKUP
has_vip 2 && lab_fail "d2 holds the VIP while backup"
wait_for 10 "the VIP answers through d1" answered
ok "d1 MASTER serves, d2 BACKUP"

stop_keepalived 1
wait_for 10 "d1's lvsd sees STOP" role_is 1 STOP
wait_for 10 "d2 becomes MASTER" role_is 2 MASTER
wait_for 5 "d2 holds the VIP" has_vip 2
wait_for 10 "the VIP answers through d2" answered
ok "failover: d2 MASTER serves"

start_keepalived 1
wait_for 10 "d1 comes back as BACKUP" role_is 1 BACKUP
# nopreempt: d1 (priority 150) hears d2 (100) and stays backup. 12 adverts later it still is.
for _ in $(seq 12); do
  sleep "$ADVERT"
  role_is 2 MASTER || lab_fail "d2 lost MASTER after d1 came back (preempted)"
done
has_vip 1 && lab_fail "d1 took the VIP back despite nopreempt"
answered >/dev/null || lab_fail "the VIP does not answer after d1 came back"
ok "no failback with nopreempt"

lvsadm_on 2 --check >/dev/null || lab_fail "lvsadm --check fails on a healthy d2"
lvsadm_on 2 -d -t "$vip:7" -r 192.0.2.11:7
lvsadm_on 2 -d -t "$vip:7" -r 192.0.2.12:7
if why=$(lvsadm_on 2 --check 2>&1); then lab_fail "lvsadm --check passes on d2 without realservers"; fi
[ "$why" = "lvsadm --check: service TCP $vip:7 has no realserver up" ] || lab_fail "lvsadm --check said: $why"
wait_for 10 "d2 goes to FAULT (track_script)" role_is 2 FAULT
wait_for 10 "d1 becomes MASTER again" role_is 1 MASTER
wait_for 10 "the VIP answers through d1" answered
ok "a director failing lvsadm --check gives the VIP away"
status=$(lvsadm_on 1 --ha-status)
echo "$status" | grep -q "TCP connections do not survive" || lab_fail "--ha-status lacks the proxy's limit"
echo "vrrp_test: all passed"
