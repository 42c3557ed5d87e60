#!/usr/bin/python3
"""TCP probes for the VRRP lab (tests/e2e/ha). The realservers are lvs-realserver echo servers:
they greet with their name and a newline, then echo.

  probe.py once HOST PORT
      one short connection: print the greeting's name, exit 0; exit 1 (reason on stderr) if
      it is refused, reset or silent for 1 s.
  probe.py outage HOST PORT SECONDS STOPFILE
      a new short connection every 10 ms (not waiting for the earlier ones; each has 1 s) for
      at most SECONDS or until STOPFILE exists; print `probes=N failed=F longest_outage_ms=M`
      (M: the longest run of failed probes, from the first failure's start to the next
      success's start).
  probe.py hold HOST PORT N SECONDS STOPFILE
      open N connections, then every 100 ms send a byte on each and expect it echoed within
      1 s, for at most SECONDS or until STOPFILE exists; print `held=N broken=B`, then
      `broken_by=reset:R,silent:S,other:O` (reset or closed by the peer; no echo within 1 s;
      anything else). A connection that does not open counts as broken (other).
"""
import os
import selectors
import socket
import sys
import time


def greet(host, port, timeout=1.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            raise ConnectionError("closed before the greeting")
        data += chunk
        if len(data) > 256:
            raise ConnectionError("no newline in the greeting")
    return s, data.decode(errors="replace").strip()


def once(host, port):
    try:
        s, name = greet(host, port)
        s.close()
    except OSError as e:
        print(f"probe: {host}:{port}: {e}", file=sys.stderr)
        return 1
    print(name)
    return 0


def outage(host, port, seconds, stopfile):
    """Starts a connection every 10 ms without waiting for the earlier ones (each has 1 s to
    deliver its greeting), so the window is measured to about 10 ms whatever a probe costs."""
    sel = selectors.DefaultSelector()
    results = []  # (start, ok)
    pending = {}  # socket -> (start, bytes so far)
    end = time.monotonic() + seconds
    next_start = time.monotonic()

    def done(s, ok):
        start, _ = pending.pop(s)
        sel.unregister(s)
        s.close()
        results.append((start, ok))

    stopping = False
    while pending or not stopping:
        now = time.monotonic()
        if not stopping and (now >= end or os.path.exists(stopfile)):
            stopping = True
        if not stopping and now >= next_start:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, port))
            pending[s] = (now, b"")
            sel.register(s, selectors.EVENT_READ)
            next_start += 0.01
        for key, _ in sel.select(timeout=0.002):
            s = key.fileobj
            try:
                chunk = s.recv(256)
            except OSError:
                done(s, False)
                continue
            if not chunk:
                done(s, False)
                continue
            start, got = pending[s]
            got += chunk
            pending[s] = (start, got)
            if got.endswith(b"\n"):
                done(s, True)
        now = time.monotonic()
        for s in [s for s, (start, _) in pending.items() if now - start > 1.0]:
            done(s, False)
    results.sort()
    longest = 0.0
    first_fail = None
    for start, ok in results:
        if not ok and first_fail is None:
            first_fail = start
        elif ok and first_fail is not None:
            longest = max(longest, start - first_fail)
            first_fail = None
    if first_fail is not None:
        longest = max(longest, results[-1][0] - first_fail)
    failed = sum(1 for _, ok in results if not ok)
    print(f"probes={len(results)} failed={failed} longest_outage_ms={longest * 1000:.0f}",
          flush=True)
    return 0


def hold(host, port, n, seconds, stopfile):
    conns = []
    broken = 0
    why = {"reset": 0, "silent": 0, "other": 0}
    for _ in range(n):
        try:
            conns.append(greet(host, port)[0])
        except OSError:
            broken += 1
            why["other"] += 1
    print(f"opened={len(conns)}", flush=True)
    end = time.monotonic() + seconds
    while conns and time.monotonic() < end and not os.path.exists(stopfile):
        alive = []
        for s in conns:
            try:
                s.sendall(b"x")
                if s.recv(1) != b"x":
                    raise ConnectionResetError("closed instead of echoing")
                alive.append(s)
            except (ConnectionError, socket.timeout, OSError) as e:
                if isinstance(e, socket.timeout):
                    why["silent"] += 1
                elif isinstance(e, ConnectionError):
                    why["reset"] += 1
                else:
                    why["other"] += 1
                broken += 1
                s.close()
        conns = alive
        time.sleep(0.1)
    for s in conns:
        s.close()
    print(f"held={n} broken={broken}", flush=True)
    print("broken_by=" + ",".join(f"{k}:{v}" for k, v in why.items()), flush=True)
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "once":
        return once(argv[2], int(argv[3]))
    if len(argv) == 6 and argv[1] == "outage":
        return outage(argv[2], int(argv[3]), float(argv[4]), argv[5])
    if len(argv) == 7 and argv[1] == "hold":
        return hold(argv[2], int(argv[3]), int(argv[4]), float(argv[5]), argv[6])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
