#!/usr/bin/env python3
"""The ECMP lab's client (tests/e2e/ecmp). Every connection comes from a chosen source port, so
runs can be compared flow by flow.

  probe.py once VIP PORT FIRST_SPORT COUNT
      COUNT sequential connections from ports FIRST_SPORT..; prints "SPORT DIRECTOR REALSERVER"
      (the director from the address the realserver saw, 198.51.100.14N -> dN; "?" when it
      saw the client itself: direct routing) or
      "SPORT - FAIL:reason". Closed with a reset (no TIME_WAIT: the ports are reused).
  probe.py hold VIP PORT FIRST_SPORT COUNT GO_FILE
      opens COUNT connections and keeps them; prints "opened N"; waits (at most 60 s) for
      GO_FILE to exist, then sends a line on each and prints "SPORT DIRECTOR REALSERVER alive"
      or "SPORT DIRECTOR REALSERVER broken".
"""
import os
import socket
import struct
import sys
import time

CLIENT = "198.51.100.2"


def connect(vip, port, sport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.settimeout(2.0)
    s.bind((CLIENT, sport))
    s.connect((vip, port))
    line = b""
    while not line.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            raise OSError("closed before the greeting")
        line += chunk
    name, _, peer = line.decode().strip().partition(" peer=")
    peer_addr = peer.split(":")[0]
    # Direct routing: the realserver sees the client itself, not a director ("?").
    director = "d" + peer_addr.rsplit(".", 1)[1][-1] if peer and peer_addr != CLIENT else "?"
    return s, director, name


def once(vip, port, first, count):
    for sport in range(first, first + count):
        try:
            s, director, name = connect(vip, port, sport)
            s.close()
            print(sport, director, name, flush=True)
        except OSError as e:
            print(sport, "-", "FAIL:" + str(e).replace(" ", "_"), flush=True)


def hold(vip, port, first, count, go_file):
    held = []
    for sport in range(first, first + count):
        try:
            s, director, name = connect(vip, port, sport)
            held.append((sport, director, name, s))
        except OSError as e:
            print(sport, "-", "FAIL:" + str(e).replace(" ", "_"), flush=True)
    print("opened", len(held), flush=True)
    end = time.monotonic() + 60
    while not os.path.exists(go_file) and time.monotonic() < end:
        time.sleep(0.02)
    for sport, director, name, s in held:
        try:
            s.sendall(b"ping\n")
            got = b""
            while not got.endswith(b"\n"):
                chunk = s.recv(256)
                if not chunk:
                    raise OSError("closed")
                got += chunk
            state = "alive" if got == b"ping\n" else "broken"
        except OSError:
            state = "broken"
        print(sport, director, name, state, flush=True)
        s.close()


def main(argv):
    mode = argv[1]
    vip, port, first, count = argv[2], int(argv[3]), int(argv[4]), int(argv[5])
    if mode == "once":
        once(vip, port, first, count)
    elif mode == "hold":
        hold(vip, port, first, count, argv[6])
    else:
        sys.exit("probe.py: unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
