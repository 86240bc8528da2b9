#!/usr/bin/env python3
"""permessage-deflate benchmark (issue 18 §1): bytes on the wire and proxy CPU per GB of
application data, target->browser, for VNC Raw traffic, VNC Tight traffic and random data; ours with
compression (auto) beside ours without (--compression off), the Python websockify 0.13 (which never
compresses) and a socat relay (raw TCP), all in the same run. Prints figures and ratios; asserts nothing.

    compression_bench.py [--megabytes N] [--repeat R] [--only ours,off,python,socat] [--skip-vnc]
                         [--paint-repeat R] [--skip-paint]

Streams. "vnc-raw" and "vnc-tight" are real RFB server->client byte streams, captured once at the
start from x11vnc (under Xvfb with an xterm full of text, tests' VncDesk) by a client that does the
RFB 3.8 handshake, sends SetEncodings [Raw] (x11vnc then sends nothing else) or [Tight, CopyRect],
and asks for a full-screen update every 100 ms while the xterm scrolls `ls -lR` output. "random" is
8 MiB of os.urandom. Each run, a target replays the chosen stream (repeated) until N MiB went out,
in 64 KiB writes; the client offers permessage-deflate, inflates what comes compressed (zlib, as a
browser does) and counts the application bytes and the bytes it read from its socket (the wire:
frame headers included; for socat the raw TCP bytes); a run whose application bytes differ from what
the target sent (length or CRC-32) stops the benchmark. CPU: the proxy's process tree (proxy_bench's
tree_cpu). R runs per proxy and stream, the proxies taken in turn; the best throughput is kept, the
wire ratio is the same in every run.

First paint over 10 Mbit/s (needs root: ip, tc). A veth pair joins this namespace to a network
namespace the script makes; both ends get a `tbf` qdisc of 10 Mbit/s (netem is not available in
this kernel). The proxy (ours with --compression auto and off, the Python websockify) listens on the
veth address with --web serving noVNC (Debian's 1.3) and relays to x11vnc on loopback; Chromium runs
inside the namespace (this file re-run there with --_paint) and loads vnc_lite.html. The page's
WebSocket is wrapped to note when it was made and when each message came: first paint is from the
socket's creation to the last message of the first burst (the initial full-screen update: messages
until 1 s of silence). Measured with noVNC's own encodings (Tight first, as any browser) and with a
copy of noVNC patched to ask for Raw only (a client without Tight, or x11vnc forced to Raw).
"""

import argparse
import base64
import os
import socket
import struct
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))
import proxy_bench as pb  # noqa: E402

MiB = 1 << 20
CHUNK = 64 * 1024


# ---------------------------------------------------------------------------------------------
# Capturing RFB streams from x11vnc
# ---------------------------------------------------------------------------------------------

def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise pb.BenchError("the VNC server closed the connection")
        out += chunk
    return out


def capture_rfb(vnc_port, encodings, seconds=6.0, interval=0.1):
    """The server->client bytes of an RFB session asking for full updates every `interval` s."""
    s = socket.create_connection(("127.0.0.1", vnc_port), timeout=10)
    version = recv_exact(s, 12)
    s.sendall(b"RFB 003.008\n")
    count = recv_exact(s, 1)[0]
    types = recv_exact(s, count)
    if 1 not in types:
        raise pb.BenchError("x11vnc offers no 'None' security (%r)" % types)
    s.sendall(b"\x01")
    if recv_exact(s, 4) != b"\x00\x00\x00\x00":
        raise pb.BenchError("RFB security failed")
    s.sendall(b"\x01")   # ClientInit, shared
    init = recv_exact(s, 24)
    width, height = struct.unpack("!HH", init[:4])
    name = recv_exact(s, struct.unpack("!I", init[20:24])[0])
    stream = bytearray(version + bytes([count]) + types + b"\x00\x00\x00\x00" + init + name)
    s.sendall(struct.pack("!BxH", 2, len(encodings)) + b"".join(struct.pack("!i", e) for e in encodings))
    s.setblocking(False)
    end = time.monotonic() + seconds
    next_request = 0.0
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_request:
            s.sendall(struct.pack("!BBHHHH", 3, 0, 0, 0, width, height))
            next_request = now + interval
        try:
            data = s.recv(1 << 20)
            if not data:
                break
            stream += data
        except BlockingIOError:
            time.sleep(0.005)
    s.close()
    return bytes(stream), (width, height)


def capture_streams(tmp):
    from vncdesk import VncDesk

    workdir, logdir = Path(tmp) / "home", Path(tmp) / "logs"
    with VncDesk(workdir=workdir, logdir=logdir) as desk:
        # Text that changes: the xterm scrolls a long listing while the captures run.
        import subprocess
        env = dict(os.environ, DISPLAY=desk.display)
        scroller = subprocess.Popen(["xterm", "-geometry", "132x45+100+60", "-e",
                                     "sh", "-c", "while true; do ls -lR /usr/share/doc; done"],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.5)
            raw, size = capture_rfb(desk.vnc_port, [0])            # Raw
            tight, _ = capture_rfb(desk.vnc_port, [7, 1])          # Tight, CopyRect
        finally:
            scroller.terminate()
            scroller.wait(timeout=5)
    return {"vnc-raw": raw, "vnc-tight": tight}, size


# ---------------------------------------------------------------------------------------------
# A target replaying a stream, a client counting wire and application bytes
# ---------------------------------------------------------------------------------------------

class StreamTarget:
    """Accepts connections; each gets `stream` repeated until `total` bytes went out, then EOF."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stream, self.total = b"", 0
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, self.stream, self.total), daemon=True).start()

    @staticmethod
    def _serve(conn, stream, total):
        try:
            view = memoryview(stream)
            sent = offset = 0
            while sent < total:
                n = min(CHUNK, total - sent, len(stream) - offset)
                conn.sendall(view[offset:offset + n])
                sent += n
                offset = (offset + n) % len(stream)
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):
                pass
        except OSError:
            pass
        finally:
            conn.close()


def ws_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n" % key).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise pb.BenchError("closed during the handshake")
        head += chunk
    head, _, rest = head.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise pb.BenchError("handshake refused: %r" % head[:80])
    deflate = b"permessage-deflate" in head.lower()
    return s, rest, len(head) + 4, deflate


def expected_crc(stream, total):
    """CRC-32 of what the target sends: `stream` repeated, cut at `total` bytes."""
    crc, left = 0, total
    while left > 0:
        piece = stream[:left]
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    return crc


def check_arrived(label, stream, total, app, crc):
    """Raises BenchError unless exactly what the target sent arrived (application bytes, inflated)."""
    if app != total:
        raise pb.BenchError("%s: %d of %d bytes arrived" % (label, app, total))
    if crc != expected_crc(stream, total):
        raise pb.BenchError("%s: the bytes that arrived differ from what the target sent (CRC-32)" % label)


def receive_all(proxy, total):
    """(application bytes, wire bytes, seconds, compressed?, CRC-32 of the application bytes) of one
    transfer through `proxy`."""
    started = time.monotonic()
    if not proxy.ws:
        s = socket.create_connection(("127.0.0.1", proxy.port), timeout=30)
        got, crc = 0, 0
        while True:
            data = s.recv(1 << 20)
            if not data:
                break
            got += len(data)
            crc = zlib.crc32(data, crc)
        s.close()
        return got, got, time.monotonic() - started, False, crc
    s, buf, _, deflate = ws_connect(proxy.port)
    inflater = zlib.decompressobj(-15)
    app, wire, crc = 0, len(buf), 0
    data = bytearray(buf)
    pos = 0
    while True:
        # Parse every complete frame in `data`.
        while True:
            if len(data) - pos < 2:
                break
            b0, b1 = data[pos], data[pos + 1]
            n, h = b1 & 0x7F, 2
            if n == 126:
                if len(data) - pos < 4:
                    break
                n, h = struct.unpack_from("!H", data, pos + 2)[0], 4
            elif n == 127:
                if len(data) - pos < 10:
                    break
                n, h = struct.unpack_from("!Q", data, pos + 2)[0], 10
            if len(data) - pos < h + n:
                break
            opcode = b0 & 0x0F
            payload = bytes(data[pos + h:pos + h + n])
            pos += h + n
            if opcode == 8:
                s.close()
                return app, wire, time.monotonic() - started, deflate, crc
            if opcode in (1, 2, 0):
                message = inflater.decompress(payload + b"\x00\x00\xff\xff") if b0 & 0x40 else payload
                app += len(message)
                crc = zlib.crc32(message, crc)
        if pos > 1 << 20:
            del data[:pos]
            pos = 0
        chunk = s.recv(1 << 20)
        if not chunk:
            s.close()
            return app, wire, time.monotonic() - started, deflate, crc
        wire += len(chunk)
        data += chunk


# ---------------------------------------------------------------------------------------------
# First paint over a 10 Mbit/s link
# ---------------------------------------------------------------------------------------------

RECORD_MESSAGES = """
window.__ws = {made: null, messages: []};
const Native = window.WebSocket;
window.WebSocket = function (...args) {
    const socket = new Native(...args);
    window.__ws.made = performance.now();
    socket.addEventListener("message", (e) => {
        const size = e.data.byteLength !== undefined ? e.data.byteLength : e.data.length;
        window.__ws.messages.push([performance.now(), size]);
    });
    window.__ws.socket = socket;
    return socket;
};
window.WebSocket.prototype = Native.prototype;
for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) window.WebSocket[name] = Native[name];
"""


def paint_in_namespace(url):
    """Run inside the namespace: load `url` in Chromium; print first paint (s), bytes, extensions."""
    import json
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="bench-paint-profile-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1024,768", "--user-data-dir=" + profile):
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_MESSAGES})
        driver.get(url)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = driver.execute_script("return window.__ws ? [window.__ws.made, window.__ws.messages] : null")
            if state and state[1]:
                made, messages = state
                total = sum(m[1] for m in messages)
                last = messages[-1][0]
                # The handshake takes four messages; the first update follows them at once.
                if len(messages) >= 5 and driver.execute_script("return performance.now()") - last > 1000:
                    ext = driver.execute_script("return window.__ws.socket.extensions")
                    print(json.dumps({"seconds": (last - made) / 1000, "bytes": total, "extensions": ext}))
                    return
            time.sleep(0.1)
        raise SystemExit("no first update within 120 s: %s" % driver.execute_script(
            "return [document.getElementById('status') && document.getElementById('status').textContent, "
            "window.__ws && window.__ws.messages.length]"))
    finally:
        driver.quit()


def run(argv, check=True):
    import subprocess
    return subprocess.run(argv, check=check, capture_output=True, text=True)


class ShapedLink:
    """A veth pair into a new network namespace, 10 Mbit/s each way (tbf)."""

    def __init__(self, rate="10mbit"):
        tag = "%x" % (os.getpid() & 0xFFFF)
        self.ns, self.outer, self.inner = "wsbench" + tag, "wsb%so" % tag, "wsb%si" % tag
        self.host, self.peer = "10.231.77.1", "10.231.77.2"
        run(["ip", "netns", "add", self.ns])
        try:
            run(["ip", "link", "add", self.outer, "type", "veth", "peer", "name", self.inner])
            run(["ip", "link", "set", self.inner, "netns", self.ns])
            run(["ip", "addr", "add", self.host + "/30", "dev", self.outer])
            run(["ip", "link", "set", self.outer, "up"])
            inside = ["ip", "netns", "exec", self.ns]
            run(inside + ["ip", "addr", "add", self.peer + "/30", "dev", self.inner])
            run(inside + ["ip", "link", "set", self.inner, "up"])
            run(inside + ["ip", "link", "set", "lo", "up"])
            shape = ["qdisc", "add", "dev"]
            tbf = ["root", "tbf", "rate", rate, "burst", "32kbit", "latency", "50ms"]
            run(["tc"] + shape + [self.outer] + tbf)
            run(inside + ["tc"] + shape + [self.inner] + tbf)
        except Exception:
            self.close()
            raise

    def close(self):
        run(["ip", "link", "del", self.outer], check=False)
        run(["ip", "netns", "del", self.ns], check=False)


def raw_only_novnc(tmp):
    """A copy of Debian's noVNC whose client asks for Raw (and CopyRect) only."""
    import shutil
    copy = Path(tmp) / "novnc-raw"
    shutil.copytree("/usr/share/novnc", copy, symlinks=False)
    rfb = copy / "core" / "rfb.js"
    text = rfb.read_text()
    # The first of the two such tests in _sendEncodings adds Tight, TightPNG, Hextile and RRE.
    marker = "encs.push(encodings.encodingCopyRect);\n        // Only supported with full depth support\n" \
             "        if (this._fbDepth == 24) {"
    if text.count(marker) != 1:
        raise pb.BenchError("cannot patch %s for Raw only (noVNC changed?)" % rfb)
    rfb.write_text(text.replace(marker, marker.replace("this._fbDepth == 24", "false")))
    return copy


def first_paint(tmp, repeat):
    import json
    import subprocess
    from vncdesk import VncDesk

    link = ShapedLink()
    rows = {}
    try:
        with VncDesk(workdir=Path(tmp) / "paint-home", logdir=Path(tmp) / "paint-logs") as desk:
            # A screen full of (still) text, in a few colours.
            text = subprocess.Popen(
                ["xterm", "-geometry", "132x45+0+0", "-bg", "#202838", "-fg", "#d0d0a0", "-e", "sh", "-c",
                 "ls -lR --color=always /usr/share/doc | head -44; sleep 100000"],
                env=dict(os.environ, DISPLAY=desk.display), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
            for novnc_name, novnc in (("noVNC (Tight)", "/usr/share/novnc"), ("noVNC Raw only", raw_only_novnc(tmp))):
                for _ in range(repeat):
                    for kind, extra in (("ours", ()), ("off", ("--compression", "off")), ("python", ())):
                        port = pb.free_port()
                        argv = ([os.environ["WEBSOCKIFY_BIN"]] if kind != "python"
                                else [os.environ.get("PY_WEBSOCKIFY") or "websockify"])
                        argv += list(extra) + ["--web=%s" % novnc, "%s:%d" % (link.host, port),
                                               "127.0.0.1:%d" % desk.vnc_port]
                        proxy = pb.start_process(argv, os.path.join(tmp, "paint-%s-%d.log" % (kind, port)))
                        try:
                            time.sleep(1.0)
                            url = "http://%s:%d/vnc_lite.html?host=%s&port=%d" % (link.host, port, link.host, port)
                            out = subprocess.run(["ip", "netns", "exec", link.ns, sys.executable, __file__,
                                                  "--_paint", url], capture_output=True, text=True, timeout=180)
                            if out.returncode != 0:
                                raise pb.BenchError("paint run failed: %s" % out.stderr[-2000:])
                            result = json.loads(out.stdout.strip().splitlines()[-1])
                        finally:
                            pb.stop_process(proxy)
                        best = rows.get((novnc_name, kind))
                        if best is None or result["seconds"] < best["seconds"]:
                            rows[(novnc_name, kind)] = result
            text.terminate()
            text.wait(timeout=5)
    finally:
        link.close()
    print()
    print("first paint of vnc_lite.html over 10 Mbit/s (tbf both ways), best of %d" % repeat)
    print("%-16s %-7s %9s %12s %20s" % ("client", "proxy", "seconds", "app bytes", "extensions"))
    for (client, kind), r in rows.items():
        print("%-16s %-7s %9.2f %12d %20s" % (client, kind, r["seconds"], r["bytes"], r["extensions"] or "-"))
    for client in ("noVNC (Tight)", "noVNC Raw only"):
        ours = rows[(client, "ours")]
        print("%-16s ours/off %.2fx, ours/python %.2fx" % (
            client, ours["seconds"] / rows[(client, "off")]["seconds"],
            ours["seconds"] / rows[(client, "python")]["seconds"]))


# ---------------------------------------------------------------------------------------------

KINDS = {
    "ours": ("ours", ()),
    "off": ("ours", ("--compression", "off")),
    "python": ("python", ()),
    "socat": ("socat", ()),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--megabytes", type=int, default=256, help="application MiB per run (default 256)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="ours,off,python,socat")
    ap.add_argument("--skip-vnc", action="store_true", help="random data only (no Xvfb/x11vnc)")
    ap.add_argument("--skip-throughput", action="store_true", help="first paint only")
    ap.add_argument("--skip-paint", action="store_true", help="no first-paint runs (no root needed)")
    ap.add_argument("--paint-repeat", type=int, default=3)
    ap.add_argument("--_paint", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._paint:
        paint_in_namespace(args._paint)
        return
    kinds = [k for k in args.only.split(",") if k]
    total = args.megabytes * MiB
    tmp = tempfile.mkdtemp(prefix="bench-compression-")
    streams = {}
    if not args.skip_vnc and not args.skip_throughput:
        captured, size = capture_streams(tmp)
        streams.update(captured)
        print("captured from x11vnc (%dx%d): %s" % (size[0], size[1], ", ".join(
            "%s %.1f MiB" % (k, len(v) / MiB) for k, v in captured.items())))
    if not args.skip_throughput:
        streams["random"] = os.urandom(8 * MiB)
    target = StreamTarget()
    results = {}
    try:
        for name, stream in streams.items():
            target.stream, target.total = stream, total
            for run in range(args.repeat):
                for kind in kinds:
                    proxy_kind, extra = KINDS[kind]
                    proxy = pb.Proxy(proxy_kind, target.port, tmp, extra=extra)
                    try:
                        cpu0 = pb.tree_cpu(proxy.pid)
                        app, wire, seconds, compressed, crc = receive_all(proxy, total)
                        cpu = pb.tree_cpu(proxy.pid) - cpu0
                    finally:
                        proxy.stop()
                    check_arrived("%s/%s" % (kind, name), stream, total, app, crc)
                    best = results.get((name, kind))
                    row = {"mbs": app / MiB / seconds, "wire": wire / app, "cpu_gb": cpu / (app / 1e9),
                           "deflate": compressed}
                    if best is None or row["mbs"] > best["mbs"]:
                        results[(name, kind)] = row
        if streams:
            print_throughput(args, kinds, streams, results)
        if not args.skip_paint:
            first_paint(tmp, args.paint_repeat)
    finally:
        pb.stop_all()


def print_throughput(args, kinds, streams, results):
    print()
    print("target->browser, %d MiB of application data per run, best of %d" % (args.megabytes, args.repeat))
    print("%-10s %-7s %9s %11s %11s %8s" % ("stream", "proxy", "MB/s", "wire/app", "CPU s/GB", "deflate"))
    for name in streams:
        for kind in kinds:
            r = results[(name, kind)]
            print("%-10s %-7s %9.1f %11.3f %11.2f %8s" % (name, kind, r["mbs"], r["wire"], r["cpu_gb"],
                                                        "yes" if r["deflate"] else "no"))
    print()
    print("ratios of ours (compression auto) to each other proxy: wire bytes, throughput, CPU per GB")
    for name in streams:
        ours = results.get((name, "ours"))
        if ours is None:
            continue
        cells = []
        for kind in kinds:
            if kind == "ours":
                continue
            other = results[(name, kind)]
            cells.append("vs %s: wire %.3fx, MB/s %.2fx, CPU/GB %.2fx" % (
                kind, ours["wire"] / other["wire"], ours["mbs"] / other["mbs"],
                ours["cpu_gb"] / other["cpu_gb"] if other["cpu_gb"] else float("nan")))
        print("%-10s %s" % (name, "; ".join(cells)))


if __name__ == "__main__":
    main()
