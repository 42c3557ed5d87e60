#!/usr/bin/env bash
# Installs the Debian packages lvsd needs to build, test and run its demo (curl, ss).
# Idempotent: runs `apt-get update` and `apt-get install` only when a package is missing.
# Usage: scripts/install-deps.sh        (as root, or with sudo available)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  clang clang-tidy clang-format libclang-rt-dev
  libfmt-dev libspdlog-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  curl iproute2 coreutils   # the demo: HTTP client, ss (port checks), timeout
  libssl-dev                # HTTP_GET digests (libcrypto), SSL_GET (libssl)
  iputils-ping shellcheck   # lvs-director update pings realservers; CTest lints the scripts
  libcpp-httplib-dev zlib1g-dev libbrotli-dev  # lvsd's HTTP listener (/metrics, JSON API); its pkg-config needs zlib, brotli
  prometheus                # the /metrics tests: promtool check metrics, a real Prometheus scraping lvsd
  libnftables-dev libmnl-dev  # masquerading (-m): lvsd's nftables table and rtnetlink rules/routes
  nftables util-linux       # masq e2e test: `nft list tables`, setpriv (the refusal as nobody)
  chromium python3 python3-websocket fonts-dejavu-core  # status page test: headless Chromium over DevTools
  libbpf-dev bpftool        # the XDP engine (src/dp/xdp): BPF programs (clang -target bpf) embedded by bpftool gen skeleton, loaded with libbpf
  ethtool                   # XDP namespace tests: tx checksum offload off on the sending veth
  jq                        # scripts/tidy.sh reads the compile database's file list
)
# The article's cluster end to end (tests/e2e/article_test.sh): real services on the lab's
# realservers and real clients. Their daemons are never started on this host (see below).
packages+=(
  inetutils-telnetd         # the realservers' telnet daemon, /usr/sbin/telnetd
  xinetd                    # runs telnetd and logs each client's address
  xdm                       # the realservers' XDMCP display manager (udp 177)
  telnet expect             # the scripted telnet client
  xvfb x11-utils            # the XDMCP client (Xvfb -query) and xwininfo to see the greeter
  procps                    # sysctl: the suite reads the director's ip_forward, send_redirects
  keepalived                # a standby director (issue 9): keepalived holds the VIP (VRRP), lvsd follows its vrrp_notify_fifo
)
# Active/active directors behind ECMP (src/bgp, tests/e2e/ecmp): lvsd drives bird through birdc.
packages+=(
  bird2                     # the BGP speaker lvsd announces its VIPs through (and the lab's router)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# xinetd and xdm are services: keep apt from starting them on this host (the e2e suite runs its
# own, inside network namespaces) with a temporary policy-rc.d when there is none.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod 755 /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
