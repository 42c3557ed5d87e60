#!/usr/bin/env bash
# The one run command: installs what is missing, builds the release binaries and runs the demo.
# Usage: scripts/demo.sh            (as root on Debian 12)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
bin=build/release/bin

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "Scheduler demonstration: the exact IPVS schedulers choosing among three realservers"
reals=(198.51.100.11:23,weight=1 198.51.100.12:23,weight=2 198.51.100.13:23,weight=3)
for s in rr wrr wlc sh mh; do
  say "-s $s, 600 new connections from 200 clients, weights 1/2/3"
  "$bin/lvs-schedtool" -s "$s" -n 600 --clients 200 "${reals[@]}"
done
