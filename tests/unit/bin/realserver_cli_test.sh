#!/usr/bin/env bash
# lvs-realserver from the outside: argument errors (exit 2, exact texts), a port that is taken
# (exit 1), and one live round of each protocol on ports the kernel picks.
# Usage: realserver_cli_test.sh PATH-TO-lvs-realserver
set -u
tool=$1
failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }

# expect STATUS EXPECTED-OUTPUT ARGS...: runs the tool (stdout+stderr) and compares both.
expect() {
  local want_rc=$1 want_out=$2 out rc
  shift 2
  out=$("$tool" "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$want_rc" ] || [ "$out" != "$want_out" ]; then
    fail "lvs-realserver $*"$'\n'"  want rc $want_rc: $want_out"$'\n'"  got  rc $rc: $out"
  fi
}

expect 2 "lvs-realserver: --name NAME is required: every answer carries it" --tcp 127.0.0.1:0
expect 2 "lvs-realserver: nothing to serve: give --tcp ADDR:PORT and/or --udp ADDR:PORT" --name a
expect 2 "lvs-realserver: --tcp '127.0.0.1:http': port 'http' in '127.0.0.1:http' is not a number in 0..65535" \
  --name a --tcp 127.0.0.1:http
expect 2 "lvs-realserver: --udp needs a value" --name a --udp
expect 2 "lvs-realserver: unknown option '--tpc' (see lvs-realserver --help)" --name a --tpc 127.0.0.1:0
expect 2 "lvs-realserver: --http needs --tcp ADDR:PORT" --name a --udp 127.0.0.1:0 --http
expect 2 "lvs-realserver: --count '0' is not a number in 1..1000000" --query-udp 127.0.0.1:9 --count 0
"$tool" --help | grep -q '^usage: lvs-realserver' || fail "--help"

# A live realserver on kernel-chosen ports; stopped by pid on every exit path.
work=$(mktemp -d)
pid=""
pidP=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$pidP" ] && kill -TERM "$pidP" 2>/dev/null && wait "$pidP" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
"$tool" --name rsT --tcp 127.0.0.1:0 --udp 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 200); do
  grep -qs '^ready ' "$work/out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
line=$(head -n1 "$work/out")
case $line in
  "ready tcp=127.0.0.1:"*" udp=127.0.0.1:"*) ;;
  *) fail "ready line: '$line' ($(cat "$work/err"))"; exit 1 ;;
esac
tcp=${line#*tcp=} tcp=${tcp%% *} udp=${line#*udp=}

# The port is now taken: a second realserver must say so and exit 1 (no SO_REUSEPORT sharing).
expect 1 "lvs-realserver: cannot bind TCP $tcp: Address already in use" --name b --tcp "$tcp"

# UDP: "NAME: payload".
got=$("$tool" --query-udp "$udp" --wait 2s "hi there" 2>&1)
[ "$got" = "rsT: hi there" ] || fail "udp reply: '$got'"

# TCP echo mode: the name, then the echo (bash's /dev/tcp, no extra tools).
exec 3<>"/dev/tcp/${tcp%:*}/${tcp##*:}"
printf 'ping\n' >&3
read -r -t 5 greeting <&3
read -r -t 5 echoed <&3
exec 3<&-
[ "$greeting" = "rsT" ] || fail "echo greeting: '$greeting'"
[ "$echoed" = "ping" ] || fail "echo: '$echoed'"

# --report-peer: the answers name the client's address and port as the realserver saw them.
expect 2 "lvs-realserver: --report-peer works with the echo greeting and UDP, not with --http" \
  --name a --tcp 127.0.0.1:0 --http --report-peer
"$tool" --name rsP --report-peer --tcp 127.0.0.1:0 --udp 127.0.0.1:0 >"$work/outP" 2>"$work/errP" &
pidP=$!
for _ in $(seq 200); do grep -qs '^ready ' "$work/outP" && break; sleep 0.05; done
lineP=$(head -n1 "$work/outP")
tcpP=${lineP#*tcp=} tcpP=${tcpP%% *} udpP=${lineP#*udp=}
got=$("$tool" --query-udp "$udpP" --wait 2s "hi" 2>&1)
case $got in
  "rsP peer=127.0.0.1:"[0-9]*": hi") ;;
  *) fail "udp reply with --report-peer: '$got'" ;;
esac
exec 3<>"/dev/tcp/${tcpP%:*}/${tcpP##*:}"
read -r -t 5 greeting <&3
exec 3<&-
case $greeting in
  "rsP peer=127.0.0.1:"[0-9]*) ;;
  *) fail "tcp greeting with --report-peer: '$greeting'" ;;
esac
kill -TERM "$pidP"
wait "$pidP"
pidP=""

# Stops on SIGTERM with status 0.
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 0 ] || fail "SIGTERM exit status $rc"

[ "$failures" -eq 0 ] || exit 1
echo "realserver_cli: all checks passed"
