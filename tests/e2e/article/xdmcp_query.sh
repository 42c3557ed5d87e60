#!/bin/bash
# xdmcp_query.sh VIP CTL: an XDMCP client on one UDP flow (one socket, one source port): sends a
# Query (version 1, opcode 2, no authentication names) to VIP:177 and prints the host name in
# the Willing reply ("ANSWER rs2"); then again each time the file CTL.again appears (deleted
# once seen), on the same socket; ends when CTL.quit appears or after 100 s.
vip=$1
ctl=$2
exec 3<>"/dev/udp/$vip/177" || exit 1
query() {
  local reply
  printf '\x00\x01\x00\x02\x00\x01\x00' >&3
  # One datagram: Willing = version, opcode 5, length, then ARRAY8s (authentication name,
  # host name, status); the lab's host names are rsN.
  reply=$(timeout 3 dd bs=1024 count=1 status=none <&3 | tr -c 'a-z0-9' '\n' | grep -m 1 -x 'rs[0-9]*')
  echo "ANSWER ${reply:-none}"
}
query
end=$((SECONDS + 100))
while [ "$SECONDS" -lt "$end" ] && [ ! -e "$ctl.quit" ]; do
  if [ -e "$ctl.again" ]; then
    rm -f "$ctl.again"
    query
  fi
  sleep 0.1
done
