#!/bin/sh
# host.sh NAME DIR ETC CMD [ARG...]: runs CMD as the lab host NAME. Called inside
# `ip netns exec NS unshare --uts --mount --propagation private`, it gives the host its own
# hostname (telnetd's login prompt names it), its own /run, /tmp and /var/log (bind mounts of
# DIR/run, DIR/tmp, DIR/log), so daemons' pid files, X sockets and logs do not collide, and the
# lab's /etc/hosts and /etc/resolv.conf (ETC/hosts, ETC/resolv.conf).
set -e
name=$1
dir=$2
etc=$3
shift 3
hostname "$name"
mount --bind "$dir/run" /run
mount --bind "$dir/tmp" /tmp
mount --bind "$dir/log" /var/log
mount --bind "$etc/hosts" /etc/hosts
mount --bind "$etc/resolv.conf" /etc/resolv.conf
exec "$@"
