#!/bin/sh
# lvs-schedtool smoke test: exit codes, the exact error texts, and a deterministic summary.
# Usage: schedtool_test.sh PATH-TO-lvs-schedtool
set -u
tool=$1
failures=0

# expect STATUS EXPECTED-OUTPUT ARGS...: runs the tool (stdout+stderr) and compares both.
expect() {
  want_rc=$1 want_out=$2
  shift 2
  out=$("$tool" "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$want_rc" ] || [ "$out" != "$want_out" ]; then
    printf 'FAIL: lvs-schedtool %s\n  want rc %s: %s\n  got  rc %s: %s\n' \
      "$*" "$want_rc" "$want_out" "$rc" "$out"
    failures=$((failures + 1))
  fi
}

expect 2 "lvs-schedtool: weight 'x' for 10.0.0.1:80 is not a number in 0..65535" \
  -s rr 10.0.0.1,weight=x
expect 2 "lvs-schedtool: weight '65536' for 10.0.0.2:8080 is not a number in 0..65535" \
  10.0.0.2:8080,weight=65536
expect 2 "lvs-schedtool: invalid scheduler flag 'bogus'; known: sh-fallback sh-port mh-fallback mh-port flag-1 flag-2 flag-3" \
  -s sh -b bogus 10.0.0.1
expect 2 "lvs-schedtool: scheduler flag 'sh-port' is for the sh scheduler, not rr" \
  -s rr -b sh-port 10.0.0.1
expect 2 "lvs-schedtool: no realservers given; see --help" -s rr
expect 2 "lvs-schedtool: option '-n' needs a value" 10.0.0.1 -n
expect 2 "lvs-schedtool: realserver 10.0.0.1:80 is given twice" 10.0.0.1 10.0.0.1:80

# rr over A, B, C added in that order: iteration order C B A, so C gets the odd 4th pick.
expect 0 "      1  203.0.113.1:32768     -> 10.0.0.3:80
      2  203.0.113.2:32769     -> 10.0.0.2:80
      3  203.0.113.1:32770     -> 10.0.0.1:80
      4  203.0.113.2:32771     -> 10.0.0.3:80
Scheduler rr, 4 connections from 2 clients, at most 16 open at a time
RealServer   Weight      Picks   Share
10.0.0.3:80       1          2   50.0%
10.0.0.2:80       1          1   25.0%
10.0.0.1:80       1          1   25.0%" -s rr -v -n 4 --clients 2 10.0.0.1 10.0.0.2 10.0.0.3

"$tool" --help | grep -q '^Usage: lvs-schedtool' || { echo "FAIL: --help"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] || exit 1
echo "schedtool: all checks passed"
