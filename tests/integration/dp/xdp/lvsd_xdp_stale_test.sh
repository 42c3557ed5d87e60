#!/usr/bin/env bash
# lvsd --xdp after a kill -9: the killed lvsd's program stays on the interface; the next lvsd
# replaces it (nobody holds the interface's lock any more), while a second lvsd next to a
# running one is refused, naming the running one's pid. SIGTERM leaves no program and no lock
# file behind.
# One private network namespace with a veth pair (no addresses, no traffic). Root only
# (exit 77 = skipped otherwise).
#
# Usage: lvsd_xdp_stale_test.sh BIN_DIR   (holds lvsd and lvsadm)
set -u
bin=${1:?usage: lvsd_xdp_stale_test.sh BIN_DIR}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root: network namespaces and XDP"
command -v ip >/dev/null || skip "needs ip"

n=lvsxs-$$
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$n" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/*.log; do echo "--- $f"; tail -n 20 "$f"; done
  exit 1
}
ip netns add "$n" || fail "ip netns add"
ip -n "$n" link add x0 type veth peer name x1 || fail "veth"
ip -n "$n" link set x0 up && ip -n "$n" link set x1 up || fail "link up"
has_xdp() { ip -n "$n" link show x0 | grep -q xdp; }

# Starts lvsd --xdp x0 with control socket $1; waits (bounded) until it answers.
start() {
  ip netns exec "$n" "$bin/lvsd" --workers 1 --xdp x0 --socket "$tmp/$1.sock" \
    >"$tmp/$1.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    LVSD_SOCKET=$tmp/$1.sock ip netns exec "$n" "$bin/lvsadm" -L -n >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || fail "lvsd $1 exited at start: $(cat "$tmp/$1.log")"
    sleep 0.1
  done
  fail "lvsd $1 did not answer within 10 s"
}

start a
a=$pid
has_xdp || fail "no XDP program on x0 after lvsd a started"
# The interface's lock file: /run/lvsd/xdp/<netns inode>-<ifindex>.lock, holding the pid.
lock=/run/lvsd/xdp/$(ip netns exec "$n" stat -L -c %i /proc/self/ns/net)-$(ip -n "$n" -o link show x0 | cut -d: -f1).lock
[ "$(cat "$lock" 2>/dev/null)" = "$a" ] || fail "$lock does not hold lvsd a's pid $a"

# A second lvsd on the same interface while the first runs: refused, naming the first.
out=$(ip netns exec "$n" timeout 20 "$bin/lvsd" --workers 1 --xdp x0 --socket "$tmp/b.sock" 2>&1)
rc=$?
[ "$rc" = 1 ] || fail "a second lvsd --xdp x0 exited $rc, not 1: $out"
case $out in
  *"x0 is in use by another lvsd (pid $a,"*) ;;
  *) fail "a second lvsd --xdp x0 said: $out" ;;
esac

# kill -9: the program stays; the next lvsd replaces it.
kill -KILL "$a"
wait "$a" 2>/dev/null
has_xdp || fail "x0 lost its XDP program on kill -9 (the test assumes it stays)"
start c
c=$pid
grep -q "had the XDP program of an lvsd that is gone" "$tmp/c.log" ||
  fail "lvsd c did not say it replaced the stale program"
kill -TERM "$c"
wait "$c"; rc=$?
[ "$rc" = 0 ] || fail "lvsd c exited $rc on SIGTERM"
has_xdp && fail "x0 kept an XDP program after lvsd c stopped"
[ -e "$lock" ] && fail "$lock is left after lvsd c stopped"
if grep -qE "Sanitizer|runtime error" "$tmp/c.log"; then fail "a sanitizer report in lvsd c's log"; fi
echo "PASS"
