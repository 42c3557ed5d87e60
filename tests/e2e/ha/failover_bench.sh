#!/usr/bin/env bash
# Failover measurement for issue 9 (not in CI): the VRRP lab (lab.sh), once per mode and
# advert interval. Per run:
#  1. d1 MASTER, d2 BACKUP; set A = 30 long-lived connections through d1, and a new short
#     connection every 10 ms (probe.py outage).
#  2. d1 dies (its eth0 goes down: no adverts, no clean hand-over): the outage window is how
#     long the probes failed; set A broken = connections that reset or went silent.
#  3. d1 comes back (eth0 up): with nopreempt it stays BACKUP (checked). Set B = 30 connections
#     through d2; then d2's keepalived stops cleanly (the operator's failback): outage window
#     again, set B broken.
# Modes: ENGINE=proxy (default: the full-NAT proxy) or ENGINE=xdp (the packet engine, -g
# realservers), where MODES (default "sync-rr nosync-mh nosync-rr") lists SYNC-SCHED pairs:
# sync = both directors run --start-daemon master and backup; mh = --cluster-seed. FLOOD=no:
# the bridge does not flood unknown unicast to the directors (lab.sh). DEBUG=1: the flows
# each director lists before failover and failback on stderr, the client's resets (tcpdump,
# where installed) and the hosts' MACs, and the lab directory kept in /tmp/lvsd-ha-debug-PID;
# LVSD_ARGS adds lvsd flags (e.g. --log-level debug).
# Prints one table row per mode and advert interval. Root only. Usage:
#   [ENGINE=xdp] [MODES=...] failover_bench.sh BIN_DIR [ADVERT...]   (default: 1 0.1)
# About 30 s per row.
set -euo pipefail
if [ "${1:-}" != "--one" ]; then
  bin=$(cd "${1:?BIN_DIR}" && pwd)
  shift
  [ $# -gt 0 ] || set -- 1 0.1
  ENGINE=${ENGINE:-proxy}
  modes=proxy
  [ "$ENGINE" = xdp ] && modes=${MODES:-sync-rr nosync-mh nosync-rr}
  echo "| engine, mode | advert_int | failover outage (d1 dies) | set A broken (reset/silent 1 s/other) | d1 back: failback? | failback outage (d2 stops cleanly) | set B broken (reset/silent/other) |"
  echo "|---|---|---|---|---|---|---|"
  for m in $modes; do
    for a in "$@"; do
      if [ "$m" = proxy ]; then
        ADVERT=$a bash "$0" --one "$bin"
      else
        ADVERT=$a SYNC=$([ "${m%%-*}" = sync ] && echo yes || echo no) SCHED=${m#*-} \
          ENGINE=xdp bash "$0" --one "$bin"
      fi
    done
  done
  exit 0
fi
bin=$(cd "${2:?BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lab.sh
source "$here/lab.sh"
n=30

start_lvsd 1
start_lvsd 2
start_keepalived 1
wait_for 15 "d1 MASTER" role_is 1 MASTER
start_keepalived 2
wait_for 15 "d2 BACKUP" role_is 2 BACKUP
wait_for 15 "the VIP answers" answered

# measure STOPFILE: starts the outage probe and holds $n connections; prints nothing.
measure() {
  ip netns exec "$cl" python3 "$here/probe.py" outage "$vip" 7 60 "$1" >"$1.outage" &
  pids+=($!)
  ip netns exec "$cl" python3 "$here/probe.py" hold "$vip" 7 "$n" 60 "$1" >"$1.hold" &
  pids+=($!)
  wait_for 10 "$n connections open" grep -q "^opened=$n" "$1.hold"
  sleep 1
}
# finish STOPFILE: stops both probes 2 s after the VIP answers again; "outage_ms broken".
finish() {
  wait_for 30 "the VIP answers again" answered
  sleep 2
  touch "$1"
  wait_for 10 "the probes stop" grep -q "^held=" "$1.hold"
  wait_for 10 "the probes stop" grep -q "^probes=" "$1.outage"
  local outage broken
  outage=$(sed -n 's/.*longest_outage_ms=\([0-9]*\).*/\1/p' "$1.outage")
  broken=$(sed -n 's/^held=[0-9]* broken=\([0-9]*\)$/\1/p' "$1.hold")
  # reset:R,silent:S,other:O -> R/S/O (probe.py hold)
  why=$(sed -n 's/^broken_by=reset:\([0-9]*\),silent:\([0-9]*\),other:\([0-9]*\)$/\1\/\2\/\3/p' "$1.hold")
  echo "$outage $broken $why"
}

if [ -n "${DEBUG:-}" ] && command -v tcpdump >/dev/null; then
  # Every reset the client receives, with its source MAC.
  ip netns exec "$cl" tcpdump -lnei eth0 'tcp[tcpflags] & tcp-rst != 0' >"$work/rst.txt" 2>/dev/null &
  pids+=($!)
fi
measure "$work/a"
if [ -n "${DEBUG:-}" ]; then
  for h in "$d1" "$d2" "$rs1" "$rs2" "$cl"; do
    echo "$h $(ip -n "$h" -br link show eth0 | awk '{print $3}')" >>"$work/macs"
  done
  for d in 1 2; do
    echo "d$d before failover: $(lvsadm_on "$d" -L -c -n | grep -cE 'ESTABLISHED 192\.0\.2\.50' || true) established" >&2
  done
fi
ip -n "$d1" link set eth0 down
wait_for 30 "d2 MASTER" role_is 2 MASTER
read -r out_a broken_a why_a < <(finish "$work/a")

ip -n "$d1" link set eth0 up
wait_for 30 "d1 back as BACKUP" role_is 1 BACKUP
# d1's health checks failed while its link was down: it took both realservers out, and a
# synced flow to a realserver it does not have is skipped. Set B starts once both are back.
both_up() { [ "$(lvsadm_on 1 -L -n | grep -cE -- '-> 192\.0\.2\.1[12]:7 +[A-Za-z]+ +[1-9]')" = 2 ]; }
wait_for 30 "d1's realservers back" both_up
sleep 2
failback=no
role_is 2 MASTER || failback=yes
has_vip 1 && failback=yes

measure "$work/b"
if [ -n "${DEBUG:-}" ]; then
  for d in 1 2; do
    echo "d$d before failback: $(lvsadm_on "$d" -L -c -n | grep -cE 'ESTABLISHED 192\.0\.2\.50' || true) established" >&2
    lvsadm_on "$d" -L -c -n | awk '/ESTABLISHED 192\.0\.2\.50/ {print $4, $6}' | sort >"$work/flows$d"
    lvsadm_on "$d" -L -c -n >"$work/all$d"
  done
  diff "$work/flows2" "$work/flows1" | head -5 >&2 || true
  { ip -n "$cl" neigh;
    ip -n "$d1" -4 addr show dev eth0; ip -n "$d1" link show eth0; ip -n "$d2" link show eth0
    lvsadm_on 1 -L -n --stats; lvsadm_on 2 -L -n --stats; } >&2
fi
stop_keepalived 2
wait_for 30 "d1 MASTER" role_is 1 MASTER
read -r out_b broken_b why_b < <(finish "$work/b")
if [ "$ENGINE" = xdp ]; then
  mode="packet engine -g, $SCHED, $([ "$SYNC" = yes ] && echo sync || echo no sync)"
  [ "${FLOOD:-yes}" = no ] && mode="$mode, no flooding"
else
  mode="full-NAT proxy"
fi
[ -n "${DEBUG:-}" ] && cp -r "$work" "/tmp/lvsd-ha-debug-$$" && echo "logs: /tmp/lvsd-ha-debug-$$" >&2
echo "| $mode | $ADVERT s | $out_a ms | $broken_a/$n ($why_a) | $failback | $out_b ms | $broken_b/$n ($why_b) |"
