#!/usr/bin/env bash
# lvsd CPU per proxied TCP connection with the connection log off, to a file with every line
# written (rate 1000000), and to a file past its rate (10 lines/s: the rest suppressed), on
# loopback. Usage: connlog_cost.sh BIN_DIR N (not a CTest test: a
# measurement, e.g. N=3000 on a release build). Each connection reads the realserver's greeting
# and closes. CPU = the sum of lvsd's threads' schedstat run time (logger thread included).
set -euo pipefail
bin=$1 n=$2
dir=$(mktemp -d)
cleanup() { kill -TERM $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(port)
"$bin/lvs-realserver" --name rs --tcp 127.0.0.21:$rport >/dev/null &
cpu_ns() { local t s=0; for t in /proc/$1/task/*/schedstat; do s=$((s + $(cut -d' ' -f1 "$t"))); done; echo $s; }
for mode in off file flooded; do
  vport=$(port)
  args=(--workers 1 --socket "$dir/s" -t 127.0.0.1:$vport -r 127.0.0.21:$rport,fullnat)
  case $mode in
    file) args+=(--conn-log "$dir/conn.log" --conn-log-rate 1000000) ;;
    flooded) args+=(--conn-log "$dir/flood.log" --conn-log-rate 10) ;;
  esac
  "$bin/lvsd" "${args[@]}" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$vport) 2>/dev/null && break; sleep 0.05; done
  bash -c 'for k in $(seq 50); do exec 3<>/dev/tcp/127.0.0.1/'"$vport"'; read -r l <&3; exec 3<&-; done'
  before=$(cpu_ns $pid); t0=$(date +%s%N)
  bash -c 'for k in $(seq '"$n"'); do exec 3<>/dev/tcp/127.0.0.1/'"$vport"'; read -r l <&3; exec 3<&-; done'
  after=$(cpu_ns $pid); t1=$(date +%s%N)
  kill -TERM $pid; wait $pid || true
  lines=$(cat "$dir"/*.log 2>/dev/null | grep -c ' tcp ' || true)
  echo "$mode: $n connections, lvsd CPU $(( (after - before) / n / 1000 )) us/conn, wall $(( (t1 - t0) / n / 1000 )) us/conn, lines written $lines"
  rm -f "$dir"/*.log
done
