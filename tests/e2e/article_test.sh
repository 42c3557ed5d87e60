#!/usr/bin/env bash
# The article's cluster end to end (tests/e2e/article_test.sh): one subnet (192.0.2.0/24 on a
# bridge in a "switch" namespace), two clients, the director (192.0.2.1, VIP 192.0.2.100 on the
# alias eth0:110) running lvsd from the build tree with the article's lvs.conf (telnet over TCP,
# XDMCP over UDP, masquerading), and realservers 192.0.2.21-.24 whose default route is the
# director and whose subnet route is removed. Real services on every realserver: Debian's
# telnetd under xinetd and xdm; real clients: Debian's telnet driven by expect and Xvfb asking
# the VIP for a login window over XDMCP.
#
# Each check is a named step printing PASS or FAIL with its evidence; the exit code is 1 when a
# step failed, 77 (skip) when a tool or kernel feature is missing or not root.
# Usage: article_test.sh [BIN_DIR [SCRIPTS_DIR]]   (BIN_DIR holds lvsd, lvsadm, lvs-realserver)
# LVSD_EXTRA_ARGS: more lvsd flags for the director, e.g. "--xdp eth0" (the XDP engine on the
# director's one leg; the lab's hosts then send full checksums and the switch ports get the
# NAPI native XDP transmits need). LVS_ENGINE=xdp: the same through the lab's lvs.conf
# (LVS_ENGINE=xdp, the engine on LVS_IF).
set -uo pipefail # so no "producer | grep -q": the producer may die of SIGPIPE
here=$(cd "$(dirname "$0")" && pwd)
skip() {
  [ -z "${P:-}" ] || ip netns del "$P-probe" 2>/dev/null
  echo "article_test: SKIPPED: $*"
  exit 77
}
bin=$(cd "${1:-$here/../../build/dev/bin}" 2>/dev/null && pwd) ||
  skip "no build directory ${1:-$here/../../build/dev/bin}: build lvsd, lvsadm, lvs-realserver"
scripts=$(cd "${2:-$here/../../scripts}" 2>/dev/null && pwd) || scripts=/nonexistent
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, a transparent proxy, raw ICMP)"
for tool in ip unshare mount hostname timeout sysctl ping expect telnet xinetd xdm Xvfb xwininfo ss \
  nft sed; do
  command -v "$tool" >/dev/null || skip "'$tool' missing (scripts/install-deps.sh installs it)"
done
[ -x /usr/sbin/telnetd ] || skip "/usr/sbin/telnetd missing (Debian package inetutils-telnetd)"
for b in lvsd lvsadm lvs-realserver; do
  [ -x "$bin/$b" ] || skip "$bin/$b missing: build it first"
done
P=lvsart$$ # namespace prefix: unique per run
# The kernel features the lab and lvsd's masquerading need, probed in a scratch namespace.
probe_kernel() {
  ip netns add "$P-probe" 2>/dev/null || skip "cannot create network namespaces"
  ip -n "$P-probe" link add probe-br type bridge 2>/dev/null ||
    skip "the kernel has no bridge (CONFIG_BRIDGE)"
  ip -n "$P-probe" link add probe-a type veth peer name probe-b 2>/dev/null ||
    skip "the kernel has no veth (CONFIG_VETH)"
  ip netns exec "$P-probe" nft -f - 2>/dev/null <<'NFT' ||
table inet probe {
  chain pre {
    type filter hook prerouting priority mangle;
    meta l4proto tcp socket transparent 1 meta mark set 1 accept
  }
}
NFT
    skip "the kernel lacks nf_tables' inet family or socket expression (CONFIG_NF_TABLES_INET," \
      "CONFIG_NFT_SOCKET), which lvsd's masquerading needs"
  ip -n "$P-probe" rule add fwmark 1 lookup 100 2>/dev/null ||
    skip "the kernel has no policy routing (CONFIG_IP_MULTIPLE_TABLES)"
}
probe_kernel
ip netns del "$P-probe"

# Each lab host gets its own /tmp, so everything the hosts run comes from the lab directory
# (under /var/tmp): the build tree or this checkout may well live under /tmp.
lab=$(mktemp -d /var/tmp/lvs-article.XXXXXX)
mkdir "$lab/bin"
cp "$bin/lvsd" "$bin/lvsadm" "$bin/lvs-realserver" "$lab/bin/"
cp -r "$here/article" "$lab/art"
mkdir "$lab/scripts"
for s in lvs-director lvs-route; do
  [ ! -x "$scripts/$s" ] || cp "$scripts/$s" "$lab/scripts/"
done
scripts=$lab/scripts
bin=$lab/bin
art=$lab/art
export LVSD_SOCKET=$lab/lvsd.sock
vip=192.0.2.100
xdp=""
if [[ ${LVSD_EXTRA_ARGS:-} == *--xdp* || ${LVS_ENGINE:-} == xdp ]]; then xdp=1; fi
declare -A addr=([dir]=192.0.2.1 [cl1]=192.0.2.11 [cl2]=192.0.2.12 [rs1]=192.0.2.21
  [rs2]=192.0.2.22 [rs3]=192.0.2.23 [rs4]=192.0.2.24)
hosts="dir cl1 cl2 rs1 rs2 rs3 rs4"
reals="rs1 rs2 rs3 rs4"
pids=()
failures=0

cleanup() {
  local pid h
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for h in $hosts sw; do
    # Anything still running inside the lab (telnetd, login, xdm's children) goes with it.
    for pid in $(ip netns pids "$P-$h" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$P-$h" 2>/dev/null || true
  done
  rm -rf "$lab"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { echo "PASS: $1: $2"; }
fail() { echo "FAIL: $1: $2"; failures=$((failures + 1)); }
die() {
  echo "FAIL: $1: $2"
  show_logs
  exit 1
}
show_logs() {
  echo "--- lvs-director output (last 20 lines)"
  tail -n 20 "$lab/lvs-director.log" 2>/dev/null
  echo "--- lvsd log (last 30 lines)"
  lvsd_log | tail -n 30
}
# on HOST CMD...: CMD inside HOST's network namespace with its hostname, /run, /tmp, /var/log.
on() {
  local h=$1
  shift
  ip netns exec "$P-$h" unshare --uts --mount --propagation private \
    sh "$art/host.sh" "$h" "$lab/h/$h" "$lab/etc" "$@"
}
# daemon HOST NAME CMD...: CMD in HOST in the background (output in $lab/NAME.log), under a
# timeout guard in case this script is killed; its pid is stopped by the EXIT trap.
daemon() {
  local h=$1 name=$2
  shift 2
  timeout -k 5 300 ip netns exec "$P-$h" unshare --uts --mount --propagation private \
    sh "$art/host.sh" "$h" "$lab/h/$h" "$lab/etc" "$@" >"$lab/$name.log" 2>&1 &
  pids+=("$!")
}
# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds or SECONDS pass.
wait_for() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}
listing() { "$bin/lvsadm" -L -n "$@" 2>&1; }
# reals_of PROTO PORT: the realserver addresses lvsadm lists for the service on the VIP.
reals_of() {
  listing | awk -v svc="$1  $vip:$2" '
    /^(TCP|UDP|FWM)/ { cur = $1 "  " $2 }
    /->/ && $2 != "RemoteAddress:Port" && cur == svc { split($2, a, ":"); print a[1] }' | sort |
    tr '\n' ' ' | sed 's/ $//'
}
has_reals() { [ "$(reals_of "$1" "$2")" = "$3" ]; }

# ---------------------------------------------------------------------------------------------
# The lab: a bridge in the switch namespace, one veth per host, 192.0.2.0/24.
# Two client namespaces rather than one with two addresses: each client is a whole host (its
# own source address without binding tricks, its own /tmp for the X server's socket).
build_lab() {
  local h
  # The lab's /etc/hosts names every host (telnetd's and login's reverse lookups are answered
  # at once); its resolver asks 127.0.0.1, which refuses at once: no 5 s DNS timeouts.
  mkdir -p "$lab/etc"
  for h in $hosts; do echo "${addr[$h]} $h"; done >"$lab/etc/hosts"
  echo "$vip cluster" >>"$lab/etc/hosts"
  echo "127.0.0.1 localhost" >>"$lab/etc/hosts"
  echo "nameserver 127.0.0.1" >"$lab/etc/resolv.conf"
  if [ -n "$xdp" ]; then
    # The director's native XDP_TX into its veth needs an XDP program on the peer (the switch
    # port; GRO alone is not enough: frames wait there, hundreds of ms, or are lost): a
    # trivial XDP_PASS (xdp-notes).
    printf '%s\n' '__attribute__((section("xdp"), used)) int pass(void* ctx) { return 2; }' \
      'char lic[] __attribute__((section("license"), used)) = "GPL";' >"$lab/pass.c"
    clang -O2 -target bpf -c "$lab/pass.c" -o "$lab/pass.o" || skip "clang cannot build BPF"
  fi
  ip netns add "$P-sw"
  ip -n "$P-sw" link add br0 type bridge stp_state 0 forward_delay 0
  ip -n "$P-sw" link set br0 up
  for h in $hosts; do
    mkdir -p "$lab/h/$h/run" "$lab/h/$h/tmp" "$lab/h/$h/log"
    chmod 1777 "$lab/h/$h/tmp"
    ip netns add "$P-$h"
    ip link add eth0 netns "$P-$h" type veth peer name "$h" netns "$P-sw"
    ip -n "$P-sw" link set "$h" master br0 up
    ip -n "$P-$h" link set lo up
    ip -n "$P-$h" addr add "${addr[$h]}/24" dev eth0
    ip -n "$P-$h" link set eth0 up
    if [ -n "$xdp" ]; then
      # Local senders over veth hand out partial checksums that XDP forwarding keeps (real NICs
      # deliver full ones); GRO gives the switch port the NAPI that native XDP_TX needs.
      ip netns exec "$P-$h" ethtool -K eth0 tx off >/dev/null
      ip netns exec "$P-sw" ethtool -K "$h" gro on >/dev/null
      if [ "$h" = dir ]; then ip -n "$P-sw" link set dev "$h" xdpdrv obj "$lab/pass.o" sec xdp; fi
    fi
  done
  for h in $reals; do
    ip -n "$P-$h" route add default via "${addr[dir]}" dev eth0
    realserver_routes "$h"
  done
}

# Realserver routing, the article's Listing 3: `lvs-route start` (scripts/lvs-route) drops the
# subnet route so that only the default route through the director remains (replies to clients
# on the same subnet must go through the director). Without the script (a tree before it was
# merged), the same by hand.
realserver_routes() {
  if [ -x "$scripts/lvs-route" ]; then
    on "$1" env NET_INTERFACE=eth0 DIRECTOR="${addr[dir]}" "$scripts/lvs-route" start \
      >>"$lab/lvs-route.log" 2>&1
  else
    ip -n "$P-$1" route replace default via "${addr[dir]}" dev eth0 onlink
    ip -n "$P-$1" route del 192.0.2.0/24 dev eth0 2>/dev/null || true
  fi
}

start_services() {
  local h
  for h in $reals; do
    mkdir -p "$lab/h/$h/xdm"
    cp "$art/Xaccess" "$art/Xservers" "$lab/h/$h/xdm/"
    sed "s|@DIR@|$lab/h/$h/xdm|" "$art/xdm-config" >"$lab/h/$h/xdm/xdm-config"
    daemon "$h" "$h-xinetd" xinetd -f "$art/xinetd.conf" -dontfork -stayalive \
      -pidfile /run/xinetd.pid
    daemon "$h" "$h-xdm" xdm -nodaemon -config "$lab/h/$h/xdm/xdm-config"
  done
  for h in $reals; do
    wait_for 10 listens "$h" t 23 ||
      die "services" "xinetd on $h does not listen on tcp 23: $(tail -n 5 "$lab/$h-xinetd.log")"
    wait_for 10 listens "$h" u 177 ||
      die "services" "xdm on $h does not listen on udp 177: $(tail -n 5 "$lab/h/$h/log/xdm.log")"
  done
}
# listens HOST t|u PORT: a socket of HOST listens on PORT.
listens() { [ -n "$(ip netns exec "$P-$1" ss -Hn"$2"l "sport = :$3")" ]; }

# The article's /etc/lvs.conf for the lab (Listing 2's variables, LVS_FORWARD left at its
# default: masquerading). CHECK_INTERVAL (lvsd extension) makes the health checker's pings
# every 2 s instead of 60 s so that the suite stays short.
write_conf() { # write_conf RIPS...
  {
    echo "VIP=$vip"
    echo "VIP_IF=eth0:110"
    echo 'LVS_IF="eth0"'
    echo 'TPORTS="telnet"'
    echo 'UPORTS="xdmcp"'
    printf 'RIPS="%s"\n' "$*"
    echo "CHECK_INTERVAL=2"
    if [ "${LVS_ENGINE:-}" = xdp ]; then echo "LVS_ENGINE=xdp"; fi
  } >"$lab/lvs.conf"
}

# The director: `lvs-director start|reload|update|stop` (scripts/lvs-director) with lvsd and
# lvsadm from the build, its state, pid file and log in the director's own /run and /var/log.
# Without the script (a tree before it was merged): what it does, by hand.
director() {
  if [ -x "$scripts/lvs-director" ]; then
    on dir env LVS_CONF="$lab/lvs.conf" LVSD="$bin/lvsd" LVSADM="$bin/lvsadm" \
      LVSD_SOCKET="$LVSD_SOCKET" LVSD_ARGS="--workers 1 ${LVSD_EXTRA_ARGS:-}" LVSD_LOG=/var/log/lvsd.log \
      "$scripts/lvs-director" "$1" >>"$lab/lvs-director.log" 2>&1
    return
  fi
  local ip rips
  case $1 in
    start)
      ip -n "$P-dir" addr add "$vip/32" dev eth0 label eth0:110
      ip netns exec "$P-dir" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
        net.ipv4.conf.eth0.send_redirects=0
      # shellcheck disable=SC2086 # LVSD_EXTRA_ARGS: words
      daemon dir lvsd-daemon "$bin/lvsd" --workers 1 ${LVSD_EXTRA_ARGS:-} -f "$lab/lvs.conf"
      director_guard=${pids[-1]}
      ln -sf "$lab/lvsd-daemon.log" "$lab/h/dir/log/lvsd.log"
      wait_for 10 "$bin/lvsadm" -L -n
      ;;
    reload) "$bin/lvsadm" --reload ;;
    update)
      read -r -a rips <<<"$(sed -n 's/^RIPS="\(.*\)"/\1/p' "$lab/lvs.conf")"
      for ip in "${rips[@]}"; do
        if ip netns exec "$P-dir" ping -c 1 -W 1 "$ip" >/dev/null 2>&1; then
          "$bin/lvsadm" -a -t "$vip:23" -r "$ip:23" -m 2>/dev/null
          "$bin/lvsadm" -a -u "$vip:177" -r "$ip:177" -m 2>/dev/null
        else
          "$bin/lvsadm" -d -t "$vip:23" -r "$ip:23" 2>/dev/null
          "$bin/lvsadm" -d -u "$vip:177" -r "$ip:177" 2>/dev/null
        fi
      done
      return 0
      ;;
    stop)
      kill -TERM "$director_guard"
      wait "$director_guard" 2>/dev/null
      ip -n "$P-dir" addr del "$vip/32" dev eth0 label eth0:110
      ;;
  esac
}
lvsd_log() { cat "$lab/h/dir/log/lvsd.log" 2>/dev/null; }

# session NAME CLIENT: a telnet session from CLIENT through the VIP (telnet.exp), held open;
# ctl NAME ping|quit drives it. banner NAME waits for and prints the host that answered.
session() { daemon "$2" "s-$1" expect -f "$art/telnet.exp" "$vip" "$lab/ctl-$1"; }
ctl() { touch "$lab/ctl-$1.$2"; }
banner() {
  wait_for 20 grep -q '^BANNER\|^FAILED' "$lab/s-$1.log"
  sed -n 's/^BANNER //p' "$lab/s-$1.log"
}
# open_sessions PREFIX CLIENT...: one session per CLIENT, each opened once the previous one has
# its banner (so wlc sees it as active); prints the banners sorted.
open_sessions() {
  local prefix=$1 n=0 c
  shift
  for c in "$@"; do
    n=$((n + 1))
    session "$prefix$n" "$c"
    [ -n "$(banner "$prefix$n")" ] || echo "none($c)"
  done
  for ((i = 1; i <= n; i++)); do banner "$prefix$i"; done | sort | tr '\n' ' ' | sed 's/ $//'
}
close_sessions() { # close_sessions PREFIX COUNT
  local i
  for ((i = 1; i <= $2; i++)); do ctl "$1$i" quit; done
}
# stat_of PROTO PORT: "Conns InPkts OutPkts" of the service on the VIP from lvsadm --stats.
stat_of() {
  listing --stats | awk -v p="$1" -v a="$vip:$2" '$1 == p && $2 == a { print $3, $4, $5 }'
}

# flow_of CLIENT_ADDR: the realserver address of the UDP 177 flow lvsadm -L -c lists for it.
flow_of() {
  listing -c | awk -v c="$1:" -v v="$vip:177" \
    '$1 == "UDP" && index($4, c) == 1 && $5 == v { split($6, a, ":"); print a[1]; exit }'
}
name_of() { # name_of ADDR: the lab host with that address
  local h
  for h in $hosts; do [ "${addr[$h]}" != "$1" ] || echo "$h"; done
}
route_script() { [ -x "$scripts/lvs-route" ]; }
director_script() { [ -x "$scripts/lvs-director" ]; }
# xdmcp_client CLIENT DISPLAY: Xvfb on CLIENT asks the VIP for a login window (XDMCP Query).
xdmcp_client() {
  daemon "$1" "xvfb-$1-$2" Xvfb ":$2" -query "$vip" -from "${addr[$1]}" -listen tcp -ac \
    -screen 0 800x600x16
  xvfb_pid=${pids[-1]}
}
greeter() { grep -q 'xlogin' <<<"$(on "$1" env DISPLAY=":$2" xwininfo -root -tree)"; }
# x11_from CLIENT DISPLAY: the realserver(s) holding an X11 connection to CLIENT's display.
x11_from() {
  local rs
  for rs in $reals; do
    [ -z "$(ip netns exec "$P-$rs" ss -Htn state established "dst ${addr[$1]}:$((6000 + $2))")" ] ||
      echo "$rs"
  done
}

# ---------------------------------------------------------------------------------------------
echo "article_test: lab $P in $lab ($(director_script && echo "scripts/lvs-director" ||
  echo "director by hand"), $(route_script && echo "scripts/lvs-route" || echo "routes by hand"))"
build_lab
start_services

# 0. The realservers' routing: only the default route through the director.
bad=""
for rs in $reals; do
  r=$(ip -n "$P-$rs" -4 route show table main)
  [[ $r =~ ^"default via ${addr[dir]} dev eth0"( onlink)?" "*$ ]] || bad+=" $rs: '$r';"
done
if [ -z "$bad" ]; then
  pass "realserver routes" "rs1-rs4: only the default route via ${addr[dir]}"
else
  fail "realserver routes" "$bad"
fi

write_conf "${addr[rs1]}" "${addr[rs2]}" "${addr[rs3]}"
director start
all3="${addr[rs1]} ${addr[rs2]} ${addr[rs3]}"
wait_for 15 has_reals TCP 23 "$all3" || die "director start" "tcp 23 lists '$(reals_of TCP 23)'"
wait_for 5 has_reals UDP 177 "$all3" ||
  die "director start" "lvsd does not list the 3 realservers: $(listing 2>&1) $(cat "$lab/lvs-director.log" 2>/dev/null)"
masq=$(listing | grep -c 'Masq')
alias=$(ip -n "$P-dir" -4 -o addr show label eth0:110 | awk '{ print $4 }')
fwd=$(ip netns exec "$P-dir" sysctl -n net.ipv4.ip_forward)
redir=$(ip netns exec "$P-dir" sysctl -n net.ipv4.conf.eth0.send_redirects)
if [ "$masq" = 6 ] && [[ $alias == "$vip/"* ]] && [ "$fwd" = 1 ] && [ "$redir" = 0 ]; then
  pass "director start" "VIP $alias on eth0:110, ip_forward=$fwd, eth0 send_redirects=$redir, tcp 23 and udp 177 with 3 Masq realservers each"
else
  fail "director start" "Masq lines: $masq (want 6), alias '$alias', ip_forward=$fwd, send_redirects=$redir"
fi
if [ -n "$xdp" ]; then
  # The masquerading services run on the XDP engine: its program is on eth0 and lvsd installed
  # no user-space masquerading state (nftables table).
  xdp_link=$(ip -n "$P-dir" link show eth0 | head -n 1)
  tables=$(ip netns exec "$P-dir" nft list tables)
  if [[ $xdp_link == *xdp* ]] && [ -z "$tables" ]; then
    pass "XDP engine" "eth0: $xdp_link; no nft table"
  else
    fail "XDP engine" "eth0: $xdp_link; nft tables: '$tables'"
  fi
fi
listing
if director_script; then
  before=$(wc -l <"$lab/lvs-director.log")
  if director status && [ "$(tail -n +"$((before + 1))" "$lab/lvs-director.log" | grep -c Masq)" = 6 ]; then
    pass "lvs-director status" "exit 0, prints the table with its 6 Masq realservers"
  else
    fail "lvs-director status" "exit non-zero or no table: $(tail -n +"$((before + 1))" "$lab/lvs-director.log")"
  fi
fi

# 1. Telnet from both clients, three sessions held at once: wlc gives one to each realserver.
got=$(open_sessions a cl1 cl2 cl1)
if [ "$got" = "rs1 rs2 rs3" ]; then
  pass "telnet spread (wlc)" "3 sessions held open from cl1, cl2, cl1 got login prompts from $got"
else
  fail "telnet spread (wlc)" "want rs1 rs2 rs3, got '$got'"
fi

# 2. Each realserver saw the client's own address (xinetd's log), never the director's.
for i in 1 2 3; do
  client=$([ "$i" = 2 ] && echo cl2 || echo cl1)
  rs=$(banner "a$i")
  [ -n "$rs" ] || continue
  line=$(grep 'START: telnet' "$lab/h/$rs/log/xinetd.log" | tail -n 1)
  if grep -q "from=\(::ffff:\)\?${addr[$client]}\$" <<<"$line" &&
    ! grep -q "from=\(::ffff:\)\?${addr[dir]}\$" "$lab/h/$rs/log/xinetd.log"; then
    pass "client address on $rs" "xinetd.log: $line"
  else
    fail "client address on $rs" "want from=${addr[$client]} ($client), xinetd.log: $(cat "$lab/h/$rs/log/xinetd.log")"
  fi
done
close_sessions a 3

# 3. Another port on the VIP answers from the director itself.
daemon dir local "$bin/lvs-realserver" --name director-local --tcp "$vip:2323"
wait_for 10 grep -q '^ready' "$lab/local.log"
reply=$(ip netns exec "$P-cl1" timeout 5 bash -c \
  "exec 3<>/dev/tcp/$vip/2323; read -r line <&3; echo \"\$line\"" 2>&1)
if [[ $reply == director-local* ]]; then
  pass "local port on the VIP" "tcp $vip:2323 answered '$reply' (a server on the director)"
else
  fail "local port on the VIP" "tcp $vip:2323 answered '$reply'"
fi

# 4. XDMCP: Xvfb on cl2 asks the VIP and must show xdm's login window. The director lists the
#    UDP flow from cl2's own address, and that realserver holds the X11 connection to cl2's own
#    address (it crosses the director as a router, one direction only).
xdmcp_client cl2 1
if wait_for 30 greeter cl2 1; then
  pass "XDMCP greeter" "cl2's :1 shows$(on cl2 env DISPLAY=:1 xwininfo -root -tree | grep -m 1 'xlogin' | tr -s ' ')"
else
  fail "XDMCP greeter" "no login window on cl2's :1 within 30 s: $(on cl2 env DISPLAY=:1 xwininfo -root -tree 2>&1 | head -n 20)"
fi
xrs=$(name_of "$(flow_of "${addr[cl2]}")")
x11=$(x11_from cl2 1 | sort -u | tr '\n' ' ' | sed 's/ $//')
if [ -n "$xrs" ] && [ "$x11" = "$xrs" ]; then
  pass "XDMCP through the director" "lvsadm -L -c: UDP ${addr[cl2]}:* -> $vip:177 -> $xrs; $xrs holds the X11 connection to ${addr[cl2]}:6001"
else
  fail "XDMCP through the director" "UDP flow to '$xrs', X11 connection from '$x11'; $(listing -c)"
fi
# An idle X server sends its XDMCP KeepAlive after about 180 s: the UDP flow must outlive that
# (IPVS keeps UDP entries 300 s), so the KeepAlive reaches the same realserver.
expire=$(listing -c | awk -v c="${addr[cl2]}:" -v v="$vip:177" \
  '$1 == "UDP" && index($4, c) == 1 && $5 == v { split($2, t, ":"); print t[1] * 60 + t[2]; exit }')
if [ "${expire:-0}" -gt 180 ]; then
  pass "XDMCP flow outlives a KeepAlive" "the UDP flow of cl2 expires in ${expire} s (> 180 s)"
else
  fail "XDMCP flow outlives a KeepAlive" "expires in '${expire}' s: $(listing -c | grep UDP)"
fi
kill -TERM "$xvfb_pid"

# 5. The director's counters moved for both services.
tcp=$(stat_of TCP 23)
udp=$(stat_of UDP 177)
if [ "${tcp%% *}" -ge 3 ] 2>/dev/null && [ "${udp%% *}" -ge 1 ] 2>/dev/null; then
  pass "director counters" "lvsadm -L -n --stats: tcp 23 Conns/InPkts/OutPkts $tcp; udp 177 $udp"
else
  fail "director counters" "tcp 23: '$tcp', udp 177: '$udp'"
  listing --stats
fi

# 6. A realserver goes down (link down): lvsd's PING_CHECK removes it, `update` agrees, new
#    telnet sessions and a new XDMCP client go to the others, and an XDMCP client that keeps
#    querying on the same UDP flow (as X servers retransmit their Query) is answered by another
#    realserver: the flow did not stay stuck on the dead one. Back up (link up, re-run
#    lvs-route: the kernel dropped the default route and restored the subnet route): it returns.
daemon cl1 xq bash "$art/xdmcp_query.sh" "$vip" "$lab/ctl-xq"
wait_for 10 grep -q '^ANSWER' "$lab/xq.log"
down=$(sed -n 's/^ANSWER //p' "$lab/xq.log")
case $down in
  rs1 | rs2 | rs3) ;;
  *)
    fail "XDMCP query" "no Willing from a realserver: '$down'"
    down=rs3
    ;;
esac
up=""
for rs in rs1 rs2 rs3; do [ "$rs" = "$down" ] || up+="${addr[$rs]} "; done
up=${up% }
ip -n "$P-$down" link set eth0 down
if wait_for 20 has_reals TCP 23 "$up"; then
  pass "health check removes $down" "$(lvsd_log | grep -m 1 'is DOWN' | cut -c 1-160)"
else
  fail "health check removes $down" "tcp 23 still lists $(reals_of TCP 23)"
fi
director update
if has_reals TCP 23 "$up" && has_reals UDP 177 "$up"; then
  pass "update without $down" "tcp 23: $(reals_of TCP 23); udp 177: $(reals_of UDP 177)"
else
  fail "update without $down" "tcp 23: $(reals_of TCP 23); udp 177: $(reals_of UDP 177)"
fi
ctl xq again
wait_for 10 test "$(grep -c '^ANSWER' "$lab/xq.log")" -ge 2
again=$(sed -n '2s/^ANSWER //p' "$lab/xq.log")
if [[ $again == rs[123] ]] && [ "$again" != "$down" ]; then
  pass "UDP flow leaves $down" "the same XDMCP flow from cl1 was answered by $down, now by $again"
else
  fail "UDP flow leaves $down" "first answer $down, then '$again'; $(listing -c | grep UDP)"
fi
ctl xq quit
got=$(open_sessions b cl1 cl2 cl1 cl2)
close_sessions b 4
want=$(for rs in rs1 rs2 rs3; do [ "$rs" = "$down" ] || echo "$rs $rs"; done | tr '\n' ' ' | sed 's/ $//')
if [ "$got" = "$want" ]; then
  pass "sessions avoid $down" "4 sessions got $got"
else
  fail "sessions avoid $down" "want $want, got '$got'"
fi
xdmcp_client cl1 2
if wait_for 30 greeter cl1 2 && x2=$(x11_from cl1 2 | sort -u) && [ -n "$x2" ] && [ "$x2" != "$down" ]; then
  pass "XDMCP avoids $down" "cl1's :2 got a login window from $x2"
else
  fail "XDMCP avoids $down" "greeter: $(greeter cl1 2 && echo yes || echo no), X11 from '$(x11_from cl1 2)'"
fi
kill -TERM "$xvfb_pid"
ip -n "$P-$down" link set eth0 up
if route_script; then
  if on "$down" env NET_INTERFACE=eth0 "$scripts/lvs-route" status >"$lab/route-status.out" 2>&1; then
    fail "lvs-route status after link up" "exit 0, want 3: $(cat "$lab/route-status.out")"
  else
    pass "lvs-route status after link up" "$(grep -m 1 'NOT' "$lab/route-status.out")"
  fi
fi
realserver_routes "$down"
director update
if wait_for 20 has_reals TCP 23 "$all3" && wait_for 5 has_reals UDP 177 "$all3"; then
  pass "$down returns" "tcp 23: $(reals_of TCP 23); udp 177: $(reals_of UDP 177)"
else
  fail "$down returns" "tcp 23: $(reals_of TCP 23); route on $down: $(ip -n "$P-$down" route)"
fi
# The health checker must see it up again too (else a reload keeps it out as dead).
health_up() { grep -q "\[${addr[$down]}\]:tcp:23 of VS .* is UP" <<<"$(lvsd_log)"; }
if wait_for 20 health_up; then
  pass "health check sees $down up" "$(lvsd_log | grep "\[${addr[$down]}\]:tcp:23 of VS .* is UP" | tail -n 1 | cut -c 1-140)"
else
  fail "health check sees $down up" "no 'is UP' line for ${addr[$down]} in lvsd's log"
fi

# 7. reload after adding a fourth realserver to lvs.conf: it joins, an open session survives.
session c1 cl1
held=$(banner c1)
write_conf "${addr[rs1]}" "${addr[rs2]}" "${addr[rs3]}" "${addr[rs4]}"
director reload
all4="${addr[rs1]} ${addr[rs2]} ${addr[rs3]} ${addr[rs4]}"
if wait_for 15 has_reals TCP 23 "$all4" && wait_for 5 has_reals UDP 177 "$all4"; then
  pass "reload adds rs4" "tcp 23: $(reals_of TCP 23); udp 177: $(reals_of UDP 177)"
else
  fail "reload adds rs4" "tcp 23: $(reals_of TCP 23)"
fi
session c2 cl2
new=$(banner c2)
if [ "$new" = rs4 ]; then
  pass "new session after reload" "went to $new (the least loaded)"
else
  fail "new session after reload" "want rs4, got '$new'"
fi
ctl c1 ping
if [ -n "$held" ] && wait_for 10 grep -q '^ALIVE\|^DEAD' "$lab/s-c1.log" &&
  grep -q '^ALIVE' "$lab/s-c1.log"; then
  pass "session survives reload" "the session opened on $held before the reload still answers"
else
  fail "session survives reload" "session on '$held': $(cat "$lab/s-c1.log")"
fi
close_sessions c 2

# 7b. LVS_CHECK=service (lvsd extension): the health checker probes the services themselves
# (TCP connect on telnet, XDMCP Query on xdmcp) instead of pinging, so a realserver whose telnet
# daemon died leaves the telnet service only, and comes back when the daemon does.
write_conf "${addr[rs1]}" "${addr[rs2]}" "${addr[rs3]}" "${addr[rs4]}"
echo "LVS_CHECK=service" >>"$lab/lvs.conf"
director reload
dead=rs3
kill "$(cat "$lab/h/$dead/run/xinetd.pid")"
without="${addr[rs1]} ${addr[rs2]} ${addr[rs4]}"
if wait_for 20 has_reals TCP 23 "$without" && has_reals UDP 177 "$all4"; then
  pass "service check: $dead's telnetd stopped" "tcp 23: $(reals_of TCP 23); udp 177 keeps it: $(reals_of UDP 177)"
else
  fail "service check: $dead's telnetd stopped" "tcp 23: $(reals_of TCP 23); udp 177: $(reals_of UDP 177)"
fi
daemon "$dead" "$dead-xinetd-again" xinetd -f "$art/xinetd.conf" -dontfork -stayalive \
  -pidfile /run/xinetd.pid
if wait_for 20 has_reals TCP 23 "$all4"; then
  pass "service check: $dead's telnetd back" "tcp 23: $(reals_of TCP 23)"
else
  fail "service check: $dead's telnetd back" "tcp 23: $(reals_of TCP 23)"
fi

# 8. stop leaves nothing behind on the director.
director stop
left=""
grep -q "$vip" <<<"$(ip -n "$P-dir" addr)" && left+=" VIP address;"
tables=$(ip netns exec "$P-dir" nft list tables)
[ -n "$tables" ] && left+=" nft: $tables;"
rules=$(ip -n "$P-dir" rule | grep -v -e 'lookup local' -e 'lookup main' -e 'lookup default')
[ -n "$rules" ] && left+=" ip rule: $rules;"
rules6=$(ip -n "$P-dir" -6 rule | grep -v -e 'lookup local' -e 'lookup main' -e 'lookup default')
[ -n "$rules6" ] && left+=" ip -6 rule: $rules6;"
routes=$({
  ip -n "$P-dir" route show table all
  ip -n "$P-dir" -6 route show table all
} | grep 'table' | grep -v 'table local')
[ -n "$routes" ] && left+=" routes: $routes;"
[[ "$(ip -n "$P-dir" link show eth0)" == *xdp* ]] && left+=" an XDP program on eth0;"
if [ -z "$left" ]; then
  pass "stop cleans up" "no VIP, no nft table, no ip rule, no route outside main/local on the director"
else
  fail "stop cleans up" "left behind:$left"
fi
# A sanitizer build (build/dev) reports leaks and undefined behaviour at exit, into lvsd's log.
san=$(lvsd_log | grep -m 3 -e 'ERROR: [A-Za-z]*Sanitizer' -e 'runtime error:')
if [ -z "$san" ] && grep -q 'stopped' <<<"$(lvsd_log)"; then
  pass "lvsd exits clean" "lvsd logged 'stopped' and no sanitizer report"
else
  fail "lvsd exits clean" "${san:-no 'stopped' line}"
fi
if director_script; then
  if director status; then
    fail "lvs-director status after stop" "exit 0"
  else
    pass "lvs-director status after stop" "exit non-zero: $(tail -n 1 "$lab/lvs-director.log")"
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "article_test: $failures step(s) FAILED"
  show_logs
  exit 1
fi
echo "article_test: all steps passed"
