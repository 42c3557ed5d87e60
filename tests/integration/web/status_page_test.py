#!/usr/bin/python3
"""lvsd's status page in headless Chromium while traffic flows (issue 7's acceptance).

Real lvs-realservers and a real lvsd (-f with TCP_CHECKs, --http-listen on loopback); client
connections held open through the VIP with bytes moved; Debian's chromium driven over the
DevTools protocol (python3-websocket). Checks, per realserver, that every number the page shows
(data-value of each cell) equals `lvsadm -L -n --stats --exact` and `lvsadm -L -n` at the same
quiet moment; that the chart has points; that the page re-renders by itself when connections
open; that at 390x844 nothing overflows the viewport except inside scroll containers; that the
page shows an error banner while lvsd is gone and recovers when it is back. Saves desktop and
phone screenshots into OUT_DIR.

usage: status_page_test.py BIN_DIR OUT_DIR      exit 0 pass, 1 fail, 77 skipped
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
VIP = "127.0.0.1"
REALS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
HELD = 6  # connections held open during the comparison (2 per realserver with rr)
CLOSED = 3  # connections opened and closed first: they linger as InActConn (TIME_WAIT)
MORE = 3  # connections opened later: the page must show them without a reload


def log(msg):
    print(f"status_page: {msg}", flush=True)


def fail(msg):
    raise AssertionError(msg)


def wait_for(what, cond, timeout=10.0, step=0.05):
    """Polls cond() until it returns a truthy value; fails naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
        except (OSError, ValueError, KeyError) as e:  # not up yet
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(step)
    fail(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def free_port(ip):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


class Procs:
    """Every process the test starts; all are killed on every exit path."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def kill_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


class DevTools:
    """The DevTools protocol over one page's websocket: commands in, results out."""

    def __init__(self, ws_url):
        import websocket  # Debian's python3-websocket

        self.ws = websocket.create_connection(ws_url, timeout=10)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    fail(f"DevTools {method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            fail(f"page script failed: {expr[:80]}...: {r['exceptionDetails']}")
        return r["result"].get("value")

    def close(self):
        self.ws.close()


# Everything the page shows, read from its data-* attributes (nothing yet while the page loads).
READ_PAGE = """!document.getElementById('banner')
  ? '{"renders": 0, "error": false, "banner": "", "services": []}' : JSON.stringify({
  renders: Number(document.body.dataset.renders || 0),
  error: document.body.dataset.error === '1',
  banner: document.getElementById('banner').hidden ? '' :
          document.getElementById('banner').textContent,
  services: [...document.querySelectorAll('section[data-service]')].map(s => ({
    service: s.dataset.service,
    points: Number(s.querySelector('canvas.chart').dataset.points || 0),
    reals: [...s.querySelectorAll('tr[data-real]')].map(r => {
      const o = {real: r.dataset.real};
      for (const c of r.querySelectorAll('td[data-value]')) o[c.dataset.field] = c.dataset.value;
      return o;
    })}))})"""

# Elements sticking out of the viewport on the right, unless inside a scroll container.
OVERFLOW = """(() => {
  const vw = document.documentElement.clientWidth;
  const scrolls = (e) => { for (let p = e.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return true; }
    return false; };
  const bad = [];
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > vw + 1 || r.left < -1) && !scrolls(e))
      bad.push(e.tagName + '.' + e.className + ' ' + Math.round(r.left) + '..' +
               Math.round(r.right));
  }
  return JSON.stringify({vw, scrollWidth: document.documentElement.scrollWidth, bad});
})()"""


def lvsadm_numbers(lvsadm, env):
    """Per realserver: ActiveConn, InActConn, Weight, Forward (-L -n) and the --stats counters."""
    def run(*args):
        return subprocess.run([lvsadm, *args], env=env, capture_output=True, text=True,
                              timeout=10, check=True).stdout

    out = {}
    service = None
    for line in run("-L", "-n").splitlines():
        f = line.split()
        if f and f[0] in ("TCP", "UDP"):
            service = f"{f[0]} {f[1]}"
        elif f and f[0] == "->" and f[1] != "RemoteAddress:Port":
            out[(service, f[1])] = {"forward": f[2], "weight": f[3], "active": f[4],
                                    "inactive": f[5]}
    for line in run("-L", "-n", "--stats", "--exact").splitlines():
        f = line.split()
        if f and f[0] in ("TCP", "UDP"):
            service = f"{f[0]} {f[1]}"
        elif f and f[0] == "->" and f[1] != "RemoteAddress:Port":
            out[(service, f[1])].update(dict(zip(
                ["conns", "inpkts", "outpkts", "inbytes", "outbytes"], f[2:7])))
    return out


def page_numbers(page):
    out = {}
    for s in page["services"]:
        for r in s["reals"]:
            out[(s["service"], r["real"])] = {k: v for k, v in r.items() if k != "real"}
    return out


def open_client(vip_port, payload):
    """A client through the VIP: reads the realserver's greeting, echoes `payload` once."""
    c = socket.create_connection((VIP, vip_port), timeout=5)
    greeting = b""
    while not greeting.endswith(b"\n"):
        chunk = c.recv(100)
        if not chunk:
            fail("a realserver closed before its greeting")
        greeting += chunk
    c.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = c.recv(65536)
        if not chunk:
            fail("a realserver closed before echoing")
        got += chunk
    return c, greeting.decode().strip()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    bin_dir, out_dir = sys.argv[1], sys.argv[2]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        log("SKIP: chromium is not installed (scripts/install-deps.sh installs it)")
        return SKIP
    try:
        import websocket  # noqa: F401
    except ImportError:
        log("SKIP: python3-websocket is not installed (scripts/install-deps.sh installs it)")
        return SKIP
    lvsd = os.path.join(bin_dir, "lvsd")
    lvsadm = os.path.join(bin_dir, "lvsadm")
    realserver = os.path.join(bin_dir, "lvs-realserver")
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lvsd-status-page-")
    procs = Procs()
    clients = []
    devtools = None
    try:
        # The realservers (port 0: each prints the port it got).
        ports = []
        for i, ip in enumerate(REALS):
            p = procs.start([realserver, "--name", f"rs{i + 1}", "--tcp", f"{ip}:0"],
                            stdout=subprocess.PIPE, text=True)
            line = p.stdout.readline().strip()
            if not line.startswith("ready tcp="):
                fail(f"lvs-realserver did not start: {line!r}")
            ports.append(int(line.rsplit(":", 1)[1]))
        vip_port = free_port(VIP)
        http_port = free_port(VIP)
        sock = os.path.join(tmp, "lvsd.sock")
        conf = os.path.join(tmp, "lvsd.conf")
        reals = "".join(
            f"    real_server {ip} {port} {{\n        weight {i + 1}\n"
            f"        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n"
            for i, (ip, port) in enumerate(zip(REALS, ports)))
        with open(conf, "w") as f:
            f.write(f"global_defs {{\n    http_listen {VIP}:{http_port}\n}}\n"
                    f"virtual_server {VIP} {vip_port} {{\n    delay_loop 1\n    lb_algo rr\n"
                    f"    lb_kind FNAT\n    protocol TCP\n{reals}}}\n")
        env = dict(os.environ, LVSD_SOCKET=sock)
        lvsd_argv = [lvsd, "-f", conf, "--socket", sock, "--workers", "1", "--log-level", "warn"]
        lvsd_log = open(os.path.join(tmp, "lvsd.log"), "w")
        lvsd_proc = procs.start(lvsd_argv, stdout=lvsd_log, stderr=subprocess.STDOUT)
        base = f"http://{VIP}:{http_port}"

        def http_get(path):
            with urllib.request.urlopen(base + path, timeout=5) as r:
                return r.read().decode()

        def all_up():
            h = json.loads(http_get("/api/v1/health"))
            return h["checked"] and len(h["reals"]) == 3 and all(r["up"] for r in h["reals"])

        wait_for("lvsd's HTTP listener and 3 healthy realservers", all_up)

        # Traffic: some connections closed (lingering inactive), some held open.
        for i in range(CLOSED):
            c, _ = open_client(vip_port, b"x" * (1000 * (i + 1)))
            c.close()
        for i in range(HELD):
            c, name = open_client(vip_port, b"y" * (4096 * (i + 1)))
            clients.append(c)
        service = f"TCP {VIP}:{vip_port}"

        def settled():
            n = lvsadm_numbers(lvsadm, env)
            active = sum(int(v["active"]) for v in n.values())
            inactive = sum(int(v["inactive"]) for v in n.values())
            return n if active == HELD and inactive == CLOSED else None

        wait_for(f"{HELD} active and {CLOSED} inactive connections in lvsadm -L -n", settled)

        # Chromium, headless, on a private profile; the DevTools port it picked is in a file.
        profile = os.path.join(tmp, "chromium")
        procs.start([chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--no-default-browser-check",
                     "--remote-debugging-port=0", f"--user-data-dir={profile}",
                     "about:blank"],
                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "chromium.log"),
                                                           "w"))
        port_file = os.path.join(profile, "DevToolsActivePort")
        devtools_port = wait_for("chromium's DevToolsActivePort",
                                 lambda: open(port_file).read().split("\n")[0].strip(),
                                 timeout=30)

        def page_target():
            with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list",
                                        timeout=5) as r:
                pages = [t for t in json.load(r) if t["type"] == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None

        devtools = DevTools(wait_for("a chromium page target", page_target, timeout=30))
        devtools.call("Emulation.setDeviceMetricsOverride", width=1280, height=900,
                      deviceScaleFactor=1, mobile=False)
        devtools.call("Page.enable")
        devtools.call("Page.navigate", url=base + "/")

        def read_page():
            return json.loads(devtools.eval(READ_PAGE))

        def rendered_after(n):
            p = read_page()
            return p if p["renders"] > n and not p["error"] else None

        page = wait_for("the page's first render", lambda: rendered_after(0), timeout=30)
        log(f"rendered: {len(page['services'])} service(s), chart points "
            f"{[s['points'] for s in page['services']]}")

        # The same quiet moment: lvsadm before and after a render that happened after it.
        before = lvsadm_numbers(lvsadm, env)
        page = wait_for("a render after lvsadm's listing",
                        lambda: rendered_after(page["renders"]))
        after = lvsadm_numbers(lvsadm, env)
        if before != after:
            fail(f"lvsadm's numbers moved during a quiet moment:\n{before}\n{after}")
        shown = page_numbers(page)
        if set(shown) != set(after):
            fail(f"the page shows realservers {sorted(shown)}, lvsadm {sorted(after)}")
        compared = 0
        for key, want in after.items():
            for field, value in want.items():
                if shown[key].get(field) != value:
                    fail(f"{key[0]} -> {key[1]} {field}: page shows {shown[key].get(field)!r}, "
                         f"lvsadm {value!r}")
                compared += 1
            if shown[key].get("health") != "up":
                fail(f"{key[1]} health: page shows {shown[key].get('health')!r}, expected up")
        log(f"{compared} numbers of {len(after)} realservers equal lvsadm -L -n [--stats --exact]")
        if page["services"][0]["service"] != service:
            fail(f"service shown as {page['services'][0]['service']!r}, expected {service!r}")
        if page["services"][0]["points"] < len(REALS):
            fail(f"the chart has {page['services'][0]['points']} points, expected at least "
                 f"one per realserver")

        desktop = os.path.join(out_dir, "status-page-desktop.png")
        shot = devtools.call("Page.captureScreenshot", format="png")
        with open(desktop, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

        # More connections: the open page shows them by itself (same document, no reload).
        devtools.eval("window.__noReload = 1")
        for i in range(MORE):
            c, _ = open_client(vip_port, b"z" * 100)
            clients.append(c)

        def shows_more():
            p = read_page()
            active = sum(int(r["active"]) for s in p["services"] for r in s["reals"])
            return p if active == HELD + MORE else None

        wait_for(f"the page to show {HELD + MORE} active connections without a reload",
                 shows_more)
        if devtools.eval("window.__noReload") != 1:
            fail("the page was reloaded; it should re-render in place")
        log(f"re-rendered in place: {HELD + MORE} active connections shown")

        # A phone: 390x844, nothing sticks out except inside scroll containers.
        devtools.call("Emulation.setDeviceMetricsOverride", width=390, height=844,
                      deviceScaleFactor=2, mobile=True)
        renders = read_page()["renders"]
        wait_for("a render at phone size", lambda: rendered_after(renders))
        overflow = json.loads(devtools.eval(OVERFLOW))
        if overflow["bad"] or overflow["scrollWidth"] > overflow["vw"]:
            fail(f"at 390 px the page overflows: {overflow}")
        phone = os.path.join(out_dir, "status-page-phone.png")
        shot = devtools.call("Page.captureScreenshot", format="png")
        with open(phone, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        log(f"phone view fits 390 px (scrollWidth {overflow['scrollWidth']}); screenshots: "
            f"{desktop}, {phone}")

        # lvsd gone: the page says so; lvsd back on the same addresses: the page recovers.
        for c in clients:
            c.close()
        clients.clear()
        lvsd_proc.kill()
        lvsd_proc.wait(timeout=10)
        banner = wait_for("the error banner", lambda: read_page()["banner"])
        log(f"banner while lvsd is down: {banner!r}")
        procs.start(lvsd_argv, stdout=lvsd_log, stderr=subprocess.STDOUT)
        wait_for("the page to recover once lvsd is back",
                 lambda: (lambda p: not p["error"] and not p["banner"] and p["services"])(
                     read_page()))
        log("recovered: banner gone, services shown")
        log("PASS")
        return 0
    except AssertionError as e:
        log(f"FAIL: {e}")
        log_path = os.path.join(tmp, "lvsd.log")
        if os.path.exists(log_path):
            sys.stdout.write(open(log_path).read()[-4000:])
        return 1
    finally:
        for c in clients:
            c.close()
        if devtools:
            devtools.close()
        procs.kill_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # ctest's timeout: still clean up
    sys.exit(main())
