#!/usr/bin/env bash
# The README's configuration examples, run for real: for each of examples/keepalived.conf,
# examples/lvs.conf and examples/rules.ipvsadm, three bundled realservers, `lvsd -f` on a copy of
# the file moved to a random 127.A.B.0/24 (so parallel tests cannot meet), real clients, and the
# spread they saw. Exit 77 (skip) where it cannot run.
# Usage: examples_test.sh BIN_DIR EXAMPLES_DIR
set -euo pipefail
bin=${1:?BIN_DIR}
examples=${2:?EXAMPLES_DIR}
for cmd in curl timeout sed; do
  command -v "$cmd" >/dev/null || { echo "examples_test: '$cmd' missing, skipped"; exit 77; }
done
if [ "$(id -u)" -ne 0 ]; then
  echo "examples_test: lvs.conf's PING_CHECK needs root (raw ICMP); skipped"
  exit 77
fi

work=$(mktemp -d /tmp/lvsd-examples.XXXXXX)
pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "examples_test: FAILED: $*" >&2; tail -n 20 "$work"/*.log >&2 || true; exit 1; }

net=127.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
vip=$net.10
export LVSD_SOCKET=$work/lvsd.sock

# start_reals TCP_PORT UDP_PORT [--http]: lvs-realserver rs2..rs4 on $net.2..4.
start_reals() {
  local i
  for i in 2 3 4; do
    timeout -k 5 120 "$bin/lvs-realserver" --name "rs$i" ${3:-} --tcp "$net.$i:$1" \
      --udp "$net.$i:$2" >"$work/rs$i.out" 2>"$work/rs$i.log" &
    pids+=("$!")
  done
  for i in 2 3 4; do
    for _ in $(seq 100); do grep -q '^ready' "$work/rs$i.out" && break; sleep 0.05; done
    grep -q '^ready' "$work/rs$i.out" || fail "rs$i did not start"
  done
}

# start_lvsd FILE REALS: lvsd -f on a copy of FILE in $net; waits until -L -n lists REALS reals.
start_lvsd() {
  sed "s/127\.0\.0\./$net./g" "$1" >"$work/$(basename "$1")"
  rm -f "$LVSD_SOCKET"
  timeout -k 5 120 "$bin/lvsd" --workers 1 -f "$work/$(basename "$1")" >"$work/lvsd.out" 2>"$work/lvsd.log" &
  pids+=("$!")
  for _ in $(seq 200); do
    [ "$("$bin/lvsadm" -L -n 2>/dev/null | grep -c -- '->  *[0-9]')" -ge "$2" ] && break
    sleep 0.05
  done
  echo "\$ lvsd -f $(basename "$1"); lvsadm -L -n"
  "$bin/lvsadm" -L -n
  [ "$("$bin/lvsadm" -L -n | grep -c -- '->  *[0-9]')" -ge "$2" ] || fail "$1: fewer than $2 realservers"
}

# tally FILE: "rs2 rs3 rs4" counts of lines starting with each name.
tally() { for n in rs2 rs3 rs4; do printf '%s ' "$(grep -c "^$n" "$1" || true)"; done | sed 's/ $//'; }
expect() { [ "$2" = "$3" ] || fail "$1: want $2, got $3"; echo "ok: $1: $3"; }

# keepalived-style and ipvsadm rules: the same cluster, wrr 1/2/3 on TCP, rr on UDP.
for f in keepalived.conf rules.ipvsadm; do
  start_reals 9000 9053 --http
  start_lvsd "$examples/$f" 5
  : >"$work/tcp"
  for _ in $(seq 30); do curl -sS --max-time 5 "http://$vip:8080/" >>"$work/tcp" || fail "$f: curl"; done
  expect "$f: 30 HTTP requests, wrr 1/2/3 (rs2 rs3 rs4)" "5 10 15" "$(tally "$work/tcp")"
  "$bin/lvs-realserver" --query-udp "$vip:5353" --count 4 >"$work/udp" || fail "$f: UDP query"
  expect "$f: 4 UDP flows, rr over rs2 rs3 (rs2 rs3 rs4)" "2 2 0" "$(tally "$work/udp")"
  stop_all
done

# The article's lvs.conf: telnet-like TCP (the realserver speaks first) and UDP, wlc, one
# PING_CHECK per realserver. Three sessions held open at once go to three realservers.
start_reals 8080 5353
start_lvsd "$examples/lvs.conf" 6
: >"$work/tcp"
exec 3<>"/dev/tcp/$vip/8080" 4<>"/dev/tcp/$vip/8080" 5<>"/dev/tcp/$vip/8080"
for fd in 3 4 5; do read -r -t 5 line <&"$fd" || fail "lvs.conf: no banner"; echo "$line" >>"$work/tcp"; done
expect "lvs.conf: 3 sessions held at once, wlc (rs2 rs3 rs4)" "1 1 1" "$(tally "$work/tcp")"
exec 3>&- 4>&- 5>&-
"$bin/lvs-realserver" --query-udp "$vip:5353" --count 6 >"$work/udp" || fail "lvs.conf: UDP query"
expect "lvs.conf: 6 UDP flows, wlc (rs2 rs3 rs4)" "2 2 2" "$(tally "$work/udp")"
echo "examples_test: all examples work"
