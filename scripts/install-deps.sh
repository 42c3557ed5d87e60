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
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
