#!/usr/bin/env bash
# lvsd CPU per proxied TCP connection, full NAT vs Masq, in namespaces (client, director, rs).
# Usage: masq_cost.sh BIN_DIR N   (root; not a CTest test: a measurement, e.g. N=3000 on a
# release build). Prints lvsd CPU (sum of its threads' schedstat run time) and wall time per
# connection; each connection reads the realserver's greeting and closes.
set -euo pipefail
bin=$1 n=$2
p=lmm$$
cleanup() { kill -TERM $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; for ns in sw cli dir rs; do ip netns del $p-$ns 2>/dev/null || true; done; }
trap cleanup EXIT
for ns in sw cli dir rs; do ip netns add $p-$ns; done
ip netns exec $p-sw ip link add br0 type bridge; ip netns exec $p-sw ip link set br0 up
i=0
for ns in cli dir rs; do i=$((i+1)); ip link add eth0 netns $p-$ns type veth peer name p$i netns $p-sw
  ip netns exec $p-sw ip link set p$i master br0 up; ip netns exec $p-$ns ip link set lo up; ip netns exec $p-$ns ip link set eth0 up; done
ip netns exec $p-cli ip addr add 192.0.2.11/24 dev eth0
ip netns exec $p-dir ip addr add 192.0.2.1/24 dev eth0; ip netns exec $p-dir ip addr add 192.0.2.100/24 dev eth0
ip netns exec $p-rs ip addr add 192.0.2.21/24 dev eth0; ip netns exec $p-rs ip route add default via 192.0.2.1
ip netns exec $p-rs ip route del 192.0.2.0/24 dev eth0
ip netns exec $p-rs "$bin/lvs-realserver" --name rs --tcp 192.0.2.21:2323 >/dev/null &
sleep 0.5
cpu_ns() { local t s=0; for t in /proc/$1/task/*/schedstat; do s=$((s + $(cut -d' ' -f1 "$t"))); done; echo $s; }
for method in fullnat masq; do
  ip netns exec $p-dir "$bin/lvsd" --workers 1 --socket /tmp/$p.sock -t 192.0.2.100:23 -r 192.0.2.21:2323,$method >/dev/null 2>&1 &
  pid=$!
  sleep 1
  # warm-up
  ip netns exec $p-cli bash -c 'for k in $(seq 50); do exec 3<>/dev/tcp/192.0.2.100/23; read -r l <&3; exec 3<&-; done'
  before=$(cpu_ns $pid); t0=$(date +%s%N)
  ip netns exec $p-cli bash -c 'for k in $(seq '"$n"'); do exec 3<>/dev/tcp/192.0.2.100/23; read -r l <&3; exec 3<&-; done'
  after=$(cpu_ns $pid); t1=$(date +%s%N)
  echo "$method: $n connections, lvsd CPU $(( (after - before) / n / 1000 )) us/conn, wall $(( (t1 - t0) / n / 1000 )) us/conn"
  kill -TERM $pid; wait $pid || true
done
