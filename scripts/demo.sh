#!/usr/bin/env bash
# The one run command: installs what is missing, builds the release binaries, and runs the lvsd
# director on loopback: three bundled realservers (lvs-realserver) behind a virtual IP, real
# TCP and UDP traffic, and a tally showing how it was balanced. Everything it starts is stopped
# on exit, also on Ctrl-C or an error.
#
# Usage: scripts/demo.sh [--schedulers] [--check] [--bin DIR]      (as root on Debian 12)
#   --schedulers  also show the scheduler demonstration (lvs-schedtool, simulated connections)
#   --check       non-interactive self-test: a random loopback VIP, realservers on ports the
#                 kernel picks, exact tallies asserted; exits 1 on any mismatch
#   --bin DIR     use the binaries in DIR (e.g. build/dev/bin); skips installing and building
set -euo pipefail
cd "$(dirname "$0")/.."

schedulers=0 check=0 bin=""
while [ $# -gt 0 ]; do
  case $1 in
    --schedulers) schedulers=1 ;;
    --check) check=1 ;;
    --bin) bin=${2:?"--bin needs a directory"}; shift ;;
    -h | --help) sed -n '7,11p' "$0" | cut -c3-; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (see scripts/demo.sh --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -t 1 ] && [ "$check" -eq 0 ]; then bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'; else bold="" dim="" off=""; fi
say() { printf '\n%s%s%s\n' "$bold" "$*" "$off"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }

if [ -z "$bin" ]; then
  scripts/install-deps.sh
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)"
  bin=build/release/bin
fi
for tool in lvsd lvs-realserver; do
  [ -x "$bin/$tool" ] || die "$bin/$tool is missing: build first (cmake --build --preset release)"
done
for cmd in curl ss timeout; do
  if ! command -v "$cmd" >/dev/null; then
    echo "demo.sh: '$cmd' is missing: run scripts/install-deps.sh" >&2
    [ "$check" -eq 1 ] && exit 77 # a test that cannot run here is skipped, not failed
    exit 1
  fi
done

# --- processes: every child is recorded and stopped on exit --------------------------------
work=$(mktemp -d /tmp/lvsd-demo.XXXXXX)
pids=()
names=()
lifetime=300 # seconds: a guard so nothing outlives a killed demo by long

stop_all() {
  local i pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      pkill -KILL -P "$pid" 2>/dev/null || true # the child that `timeout` runs, by parent pid
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_all
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ]; then # not after Ctrl-C
    for n in "${names[@]}"; do
      if [ -s "$work/$n.log" ]; then
        printf '\n--- %s output (last lines) ---\n' "$n" >&2
        tail -n 15 "$work/$n.log" >&2
      fi
    done
  elif [ "${#pids[@]}" -gt 0 ]; then
    say "Stopped lvsd and the three realservers; nothing is left running."
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# spawn NAME CMD...: runs CMD in the background, output in $work/NAME.log, ready line in .out.
spawn() {
  local name=$1
  shift
  timeout -k 5 "$lifetime" "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=("$!")
  names+=("$name")
}

# wait_for NAME FILE REGEX: until FILE has a line matching REGEX (at most 10 s), prints it.
wait_for() {
  local name=$1 file=$2 regex=$3 pid=${pids[-1]} i
  for i in $(seq 200); do
    if grep -Eq "$regex" "$file" 2>/dev/null; then
      grep -Em1 "$regex" "$file"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "$name exited: $(tail -n 3 "$work/$name.log")"
    sleep 0.05
  done
  die "$name did not get ready within 10 s"
}

# busy PROTO ADDR PORT: true when something listens on ADDR:PORT or on the wildcard address.
busy() {
  local flag=-t
  [ "$1" = udp ] && flag=-u
  ss -Hln "$flag" "sport = :$3" |
    awk -v a="$2:$3" -v p="$3" '$4 == a || $4 == "0.0.0.0:" p || $4 == "*:" p { f = 1 } END { exit !f }'
}

# --- the setup ----------------------------------------------------------------------------
reals=(127.0.0.2 127.0.0.3 127.0.0.4)
weights=(1 2 3)
if [ "$check" -eq 1 ]; then
  # Tests never use a fixed port: the realservers take ephemeral ports, and the VIP is a
  # random loopback address so parallel runs cannot meet.
  rs_tcp=0 rs_udp=0 vport=8080 uport=5353 workers=1
  for try in 1 2 3 4 5; do
    vip=127.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1)).10
    busy tcp "$vip" "$vport" || busy udp "$vip" "$uport" || break
    [ "$try" -eq 5 ] && die "no free random VIP found"
  done
else
  rs_tcp=9000 rs_udp=9053 vip=127.0.0.10 vport=8080 uport=5353 workers=2
  for r in "${reals[@]}"; do
    busy tcp "$r" "$rs_tcp" && die "TCP $r:$rs_tcp is in use (ss -ltnp 'sport = :$rs_tcp'); stop what holds it and rerun"
    busy udp "$r" "$rs_udp" && die "UDP $r:$rs_udp is in use (ss -lunp 'sport = :$rs_udp'); stop what holds it and rerun"
  done
  busy tcp "$vip" "$vport" && die "TCP $vip:$vport is in use (ss -ltnp 'sport = :$vport'); is another lvsd demo running?"
  busy udp "$vip" "$uport" && die "UDP $vip:$uport is in use (ss -lunp 'sport = :$uport'); is another lvsd demo running?"
fi

say "lvsd demo: the user-space full-NAT engine, on loopback"
echo "lvsd accepts each client connection (or UDP flow) on the VIP, lets the IPVS scheduler pick a"
echo "realserver, and relays to it from its own socket (full NAT). Everything here is 127.0.0.0/8."

say "Three bundled realservers (lvs-realserver: HTTP on TCP, and UDP, each answering with its name)"
tcp_eps=() udp_eps=()
for i in 0 1 2; do
  name=rs$((i + 1))
  spawn "$name" "$bin/lvs-realserver" --name "$name" --http --tcp "${reals[$i]}:$rs_tcp" --udp "${reals[$i]}:$rs_udp"
  line=$(wait_for "$name" "$work/$name.out" '^ready ')
  t=${line#*tcp=} t=${t%% *} u=${line#*udp=} u=${u%% *}
  tcp_eps+=("$t") udp_eps+=("$u")
  printf '  %s  http://%s/  udp %s\n' "$name" "$t" "$u"
done

args=(--workers "$workers" -t "$vip:$vport" -s wrr)
for i in 0 1 2; do args+=(-r "${tcp_eps[$i]},weight=${weights[$i]}"); done
args+=(-u "$vip:$uport" -s rr)
for i in 0 1 2; do args+=(-r "${udp_eps[$i]}"); done
say "The director: TCP $vip:$vport with wrr (weights 1/2/3), UDP $vip:$uport with rr"
printf '  %slvsd %s%s\n' "$dim" "${args[*]}" "$off"
export LVSD_SOCKET="$work/lvsd.sock"  # lvsd's control socket for this demo only
spawn lvsd "$bin/lvsd" "${args[@]}"
wait_for lvsd "$work/lvsd.log" 'lvsd: [0-9]+ workers' >/dev/null

url="http://$vip:$vport/"
failures=0
expect() { # WHAT WANT GOT
  if [ "$2" != "$3" ]; then
    printf 'demo.sh: CHECK FAILED: %s: want %s, got %s\n' "$1" "$2" "$3" >&2
    failures=$((failures + 1))
  fi
}
# tally FILE: "rs1 rs2 rs3" counts, in that order
tally() { for n in rs1 rs2 rs3; do printf '%s ' "$(grep -cx "$n" "$1" || true)"; done | sed 's/ $//'; }

say "12 requests, one new connection each:  curl -s $url"
: >"$work/twelve"
for i in $(seq 12); do
  who=$(curl -sS --max-time 5 "$url") || die "request $i to $url failed"
  echo "$who" >>"$work/twelve"
  printf '  %2d  %s\n' "$i" "$who"
done
expect "12 requests (wrr 1/2/3)" "2 4 6" "$(tally "$work/twelve")"

say "600 requests, one connection each:  curl -s -H 'Connection: close' '$url[1-600]'"
curl -sS --max-time 120 -H 'Connection: close' "$url[1-600]" >"$work/six-hundred" ||
  die "the 600 requests to $url failed"
read -r c1 c2 c3 <<<"$(tally "$work/six-hundred")"
counts=("$c1" "$c2" "$c3")
for i in 0 1 2; do
  n=${counts[$i]}
  bar=$(printf '%*s' $((n / 10)) '' | tr ' ' '#')
  printf '  rs%d  weight %d  %4d  %s\n' $((i + 1)) "${weights[$i]}" "$n" "$bar"
done
if [ "$c1 $c2 $c3" = "100 200 300" ]; then
  echo "  = 100/200/300, exactly the 1:2:3 of the weights"
else
  echo "  expected 100/200/300 for weights 1:2:3"
fi
expect "600 requests (wrr 1/2/3)" "100 200 300" "$c1 $c2 $c3"

say "Two requests on one keep-alive connection stay with one realserver:  curl -s $url $url"
pair=$(curl -sS --max-time 5 "$url" "$url" | paste -sd' ') || die "keep-alive requests failed"
printf '  %s\n' "$pair"
first=${pair%% *}
expect "keep-alive pair" "$first $first" "$pair"

say "6 UDP queries to $vip:$uport, each from a new source port (a new flow), rr"
: >"$work/udp"
for i in $(seq 6); do
  reply=$("$bin/lvs-realserver" --query-udp "$vip:$uport" --wait 2s "query $i") ||
    die "UDP query $i to $vip:$uport failed"
  echo "${reply%%:*}" >>"$work/udp"
  printf '  "query %d"  ->  "%s"\n' "$i" "$reply"
done
expect "6 UDP flows (rr)" "2 2 2" "$(tally "$work/udp")"

if [ "$schedulers" -eq 1 ]; then
  say "Scheduler demonstration (lvs-schedtool): the IPVS schedulers on simulated connections"
  sim=(198.51.100.11:23,weight=1 198.51.100.12:23,weight=2 198.51.100.13:23,weight=3)
  for s in rr wrr wlc sh mh; do
    say "-s $s, 600 new connections from 200 clients, weights 1/2/3"
    "$bin/lvs-schedtool" -s "$s" -n 600 --clients 200 "${sim[@]}"
  done
fi

say "The director's table, as lvsadm shows it:  lvsadm -L -n --stats"
"$bin/lvsadm" -L -n --stats | sed 's/^/  /' || die "lvsadm -L -n --stats failed"
grep -q "FullNat" <("$bin/lvsadm" -L -n) || expect "lvsadm -L -n lists FullNat realservers" yes no

say "What this was"
echo "lvsd's user-space full-NAT engine: it terminates each client connection and opens its own to"
echo "the realserver, and is administered with lvsadm (ipvsadm's commands) over its control socket."
echo "Beyond this demo (README): configuration files with health checks (lvsd -f), masquerading"
echo "(-m) with the clients' own addresses, the article's lvs-director and lvs-route, Prometheus"
echo "/metrics. Not there yet: the NAT/DR/TUN packet engine (XDP) and the status page."

[ "$failures" -eq 0 ] || die "$failures check(s) failed"
[ "$check" -eq 1 ] && echo "demo.sh --check: all checks passed"
exit 0
