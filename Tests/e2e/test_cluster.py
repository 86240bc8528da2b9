"""Three of our websockify behind a real HAProxy (contrib/haproxy/websockify.cfg: PROXY protocol v2,
health checks on /healthz every 500 ms), tokens in a real redis-server, each proxy recording to its own
file, three x11vnc desktops (issue 17 §2):

1. 30 sessions at once spread over the three (29 scripted RFB clients, one noVNC in Chromium): every
   scripted session's screen bytes equal what the desktop sends a direct client;
2. `kill -9` of one proxy under load: its sessions end, the others' go on, sessions started after
   the kill all succeed (HAProxy marks it DOWN within its check interval; none is routed there after);
3. a rolling restart with SIGTERM, one proxy after the other: the health path answers 503 at once,
   sessions are still taken during the lame duck while HAProxy marks the proxy DOWN, then the
   listener is closed (HAProxy had to retry no connection), open sessions run until the drain
   timeout and get 1001, the recording verifies clean, the restarted proxy takes sessions again;
   no new session through HAProxy fails during the whole restart;
4. Redis restarted: lookups get 503 while it is down, and succeed again without restarting a proxy.

A load generator opens short sessions through HAProxy all along; the figures (sessions per second
through HAProxy, failed sessions per phase) are printed (`pytest -s` shows them; they also appear
in the terminal summary of a failed test)."""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pluginutil import RedisServer
from proxyutil import RawClient, wait_until
from test_contrib_configs import HAPROXY_CFG, haproxy_check, haproxy_server_rows, tool
from test_novnc import CONNECT_TIMEOUT, NOVNC_DIR, inspect_bin, poll
from vncdesk import VncDesk, pick_free_port, stop_tree

DESKS = 3
LAME_DUCK = 2.0  # websockify's default; longer than HAProxy's fall 2 x inter 500ms in the contrib config
DRAIN = 3.0
REGION = (0, 0, 320, 200)  # what the burst's and the long sessions' clients read of the screen
SMALL = (0, 0, 160, 80)  # what the load generator's clients read


# ----------------------------------------------------------------------------- an RFB client

class SessionClosed(Exception):
    """The WebSocket closed (close frame: its code) or the connection ended (code None)."""

    def __init__(self, code):
        super().__init__(f"session closed (code {code})")
        self.code = code


class Rfb:
    """RFB 3.8 over a socket-like `io` (send(bytes), recv_exact(n)): no-password handshake, Raw
    encoding, full (non-incremental) reads of a screen region."""

    def __init__(self, io):
        self.io = io
        greeting = io.recv_exact(12)
        assert greeting.startswith(b"RFB 003.00"), greeting
        io.send(b"RFB 003.008\n")
        types = io.recv_exact(io.recv_exact(1)[0])
        assert 1 in types, f"no 'None' security type: {list(types)}"
        io.send(b"\x01")
        assert io.recv_exact(4) == b"\0\0\0\0", "security result"
        io.send(b"\x01")  # shared
        self.width, self.height = struct.unpack(">HH", io.recv_exact(4))
        self.bytes_per_pixel = io.recv_exact(16)[0] // 8
        self.name = io.recv_exact(struct.unpack(">I", io.recv_exact(4))[0])
        io.send(struct.pack(">BxHi", 2, 1, 0))  # SetEncodings: Raw only

    def region(self, x, y, w, h) -> bytes:
        """The pixels of the region, row by row, from a non-incremental update request."""
        self.io.send(struct.pack(">BBHHHH", 3, 0, x, y, w, h))
        bpp = self.bytes_per_pixel
        pixels = bytearray(w * h * bpp)
        covered = 0
        while covered < w * h:
            kind = self.io.recv_exact(1)[0]
            if kind == 2:  # Bell
                continue
            if kind == 3:  # ServerCutText
                self.io.recv_exact(3)
                self.io.recv_exact(struct.unpack(">I", self.io.recv_exact(4))[0])
                continue
            assert kind == 0, f"server message type {kind}"
            self.io.recv_exact(1)
            for _ in range(struct.unpack(">H", self.io.recv_exact(2))[0]):
                rx, ry, rw, rh, encoding = struct.unpack(">HHHHi", self.io.recv_exact(12))
                assert encoding == 0, f"encoding {encoding} (only Raw was asked for)"
                data = self.io.recv_exact(rw * rh * bpp)
                for row in range(rh):
                    if y <= ry + row < y + h:
                        left, right = max(rx, x), min(rx + rw, x + w)
                        if left < right:
                            start = ((ry + row - y) * w + (left - x)) * bpp
                            pixels[start:start + (right - left) * bpp] = \
                                data[(row * rw + left - rx) * bpp:(row * rw + right - rx) * bpp]
                            covered += right - left
        return bytes(pixels)


class DirectIO:
    """RFB straight to x11vnc (the reference a proxied session is compared with)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise SessionClosed(None)
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def close(self):
        self.sock.close()


class WebSocketIO:
    """RFB in binary WebSocket messages through a proxy: via HAProxy, or straight to one of ours with
    a PROXY protocol v1 header first (`direct`)."""

    def __init__(self, port, token, direct=False, timeout=20.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.local_port = self.sock.getsockname()[1]
        if direct:
            self.sock.sendall(f"PROXY TCP4 127.0.0.1 127.0.0.1 {self.local_port} {port}\r\n".encode())
        self.ws = RawClient(port, protocols=["binary"], path=f"/?token={token}", sock=self.sock, timeout=timeout)
        self.buf = bytearray()

    def send(self, data):
        self.ws.send_frame(2, data, key=os.urandom(4))

    def recv_exact(self, n):
        while len(self.buf) < n:
            try:
                _, opcode, payload = self.ws.read_frame()
            except (EOFError, ConnectionError, socket.timeout) as e:
                raise SessionClosed(None) from e
            if opcode == 8:
                raise SessionClosed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
            if opcode in (0, 2):
                self.buf += payload
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def close(self):
        try:
            self.ws.send_frame(8, struct.pack("!H", 1000), key=os.urandom(4))
        except OSError:
            pass
        self.sock.close()


def upgrade_status(port, token, timeout=10.0) -> tuple[int, str]:
    """The status code and body of a WebSocket upgrade through HAProxy that is refused (101: 0, '')."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall((f"GET /?token={token} HTTP/1.1\r\nHost: lb\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: binary\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
        if status == 101:
            return 101, ""
        s.settimeout(2)
        try:
            while chunk := s.recv(4096):
                data += chunk
        except OSError:
            pass
        return status, data.partition(b"\r\n\r\n")[2].decode(errors="replace")


def direct_health(port) -> int:
    """The health path's status from one of ours directly (PROXY header first); 0 when refused."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(f"PROXY TCP4 127.0.0.1 127.0.0.1 1 {port}\r\nGET /healthz HTTP/1.0\r\n\r\n".encode())
            data = s.recv(4096)
    except OSError:
        return 0
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0


# ----------------------------------------------------------------------------- the cluster

class Cluster:
    def __init__(self, tmp: Path, proxy_bin: Path):
        self.tmp = tmp
        self.proxy_bin = proxy_bin
        self.procs: list[subprocess.Popen] = []
        self.desks: list[VncDesk] = []
        self.redis: RedisServer | None = None
        self.haproxy: subprocess.Popen | None = None
        self.proxies: dict[int, subprocess.Popen] = {}
        self.ports = {i: pick_free_port() for i in (1, 2, 3)}
        self.front = pick_free_port()
        self.admin = tmp / "haproxy.sock"
        self.references: dict[str, dict] = {}

    # -- parts --------------------------------------------------------------------------------
    def start(self):
        for i in range(DESKS):
            desk = VncDesk(workdir=self.tmp / f"home{i}", logdir=self.tmp / f"desk{i}")
            desk.start()
            self.desks.append(desk)
        self.start_redis()
        for i in self.ports:
            self.start_proxy(i)
        self.start_haproxy()
        wait_until(lambda: all(s["status"] == "UP" for s in self.stats().values()), timeout=30,
                   what="HAProxy to see all three proxies UP")
        # What each desktop shows a direct client: every proxied session must read the same bytes.
        for i, desk in enumerate(self.desks):
            io = DirectIO(desk.vnc_port)
            rfb = Rfb(io)
            self.references[f"desk{i}"] = {"region": rfb.region(*REGION), "small": rfb.region(*SMALL)}
            io.close()

    def start_redis(self, port=None):
        self.redis = RedisServer(self.tmp, port=port)
        for i, desk in enumerate(self.desks):
            self.redis.cli("SET", f"desk{i}", f"127.0.0.1:{desk.vnc_port}")

    def log_path(self, i) -> Path:
        return self.tmp / f"ws{i}.log"

    def log(self, i) -> str:
        return self.log_path(i).read_text(errors="replace")

    def record(self, i) -> Path:
        return self.tmp / f"ws{i}.rec"

    def start_proxy(self, i):
        before = self.log(i) if self.log_path(i).exists() else ""
        with open(self.log_path(i), "ab") as out:
            proc = subprocess.Popen(
                [self.proxy_bin, "-v", "--proxy-protocol", "--health-path=/healthz", f"--lame-duck={LAME_DUCK:g}",
                 f"--drain-timeout={DRAIN:g}", "--token-plugin=TokenRedis",
                 f"--token-source=127.0.0.1:{self.redis.port}", f"--record={self.record(i)}", f"--web={NOVNC_DIR}",
                 f"127.0.0.1:{self.ports[i]}"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.proxies[i] = proc
        self.procs.append(proc)

        def listening():
            if proc.poll() is not None:
                raise AssertionError(f"ws{i} exited with {proc.returncode}:\n{self.log(i)[len(before):]}")
            return "listening on" in self.log(i)[len(before):]
        wait_until(listening, timeout=30, what=f"ws{i} to listen")

    def start_haproxy(self):
        text = open(HAPROXY_CFG).read()
        text = text.replace("bind :6080", f"bind 127.0.0.1:{self.front}")
        text = text.replace("global\n", f"global\n    stats socket {self.admin} mode 600 level admin\n", 1)
        text = re.sub(r"^    server ws\d .*\n", "", text, flags=re.M)
        text += "".join(f"    server ws{i} 127.0.0.1:{port}\n" for i, port in self.ports.items())
        cfg = self.tmp / "haproxy.cfg"
        cfg.write_text(text)
        check = haproxy_check(cfg)
        assert check.returncode == 0, check
        with open(self.tmp / "haproxy.log", "wb") as out:
            self.haproxy = subprocess.Popen([tool("haproxy"), "-f", cfg, "-db"], stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(self.haproxy)
        wait_until(self.admin.exists, timeout=15, what="HAProxy's admin socket")

    def stats(self) -> dict[str, dict]:
        """HAProxy's `show stat` rows of the backend's servers, by name."""
        return haproxy_server_rows(self.admin)

    def counter(self, server, field) -> int:
        return int(self.stats()[server][field] or 0)

    def heal(self):
        """All three proxies and Redis running and UP (after a test that failed half-way)."""
        if self.redis is None or self.redis.proc.poll() is not None:
            self.start_redis(port=self.redis.port if self.redis else None)
        for i, proc in self.proxies.items():
            if proc.poll() is not None:
                self.start_proxy(i)
        wait_until(lambda: all(s["status"] == "UP" for s in self.stats().values()), timeout=30,
                   what="all three proxies UP")

    def stop(self):
        for proc in reversed(self.procs):
            stop_tree(proc)
        if self.redis is not None:
            self.redis.stop()
        for desk in self.desks:
            desk.stop()

    # -- sessions ---------------------------------------------------------------------------------
    def session(self, token, port=None, direct=False) -> Rfb:
        rfb = Rfb(WebSocketIO(port or self.front, token, direct=direct))
        rfb.token = token
        return rfb

    def which_proxy(self, rfb: Rfb) -> int:
        """Which of ours holds the session: its log names the client's port (the PROXY header's)."""
        needle = opened_line(rfb)
        for i in self.proxies:
            if needle in self.log(i):
                return i
        raise AssertionError(f"no proxy logged a session from port {rfb.io.local_port}")


def opened_line(rfb: Rfb) -> str:
    """What a proxy's log says of the session: `session N open: client 127.0.0.1:PORT (via …) -> …`, the
    client's port coming from the PROXY header (HAProxy's, or the test's own)."""
    return f"open: client 127.0.0.1:{rfb.io.local_port} "


class Load:
    """Short sessions through HAProxy, one after the other on each of `workers` threads: handshake,
    a small screen read compared with the desktop's, close. Each outcome is kept with the phase it
    started in."""

    def __init__(self, cluster: Cluster, workers=2):
        self.cluster = cluster
        self.phase = "start"
        self.results: list[tuple[str, float, float, str | None]] = []  # phase, start, end, error
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(workers)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=30)

    def run(self, worker):
        n = worker
        while not self.stopping.is_set():
            token = f"desk{n % DESKS}"
            n += 1
            phase, start, error = self.phase, time.monotonic(), None
            try:
                rfb = self.cluster.session(token)
                try:
                    if rfb.region(*SMALL) != self.cluster.references[token]["small"]:
                        error = "screen bytes differ"
                finally:
                    rfb.io.close()
            except AssertionError as e:
                status = re.search(r"HTTP/1\.1 (\d+)", str(e))
                error = f"refused {status.group(1)}" if status else f"assertion: {str(e)[:200]}"
            except (OSError, SessionClosed, EOFError) as e:
                error = f"{type(e).__name__}: {e}"
            with self.lock:
                self.results.append((phase, start, time.monotonic(), error))
            if error:
                time.sleep(0.05)  # no busy loop while sessions are refused

    def count(self, phase=None, since=None, ok=None) -> int:
        with self.lock:
            return sum(1 for p, start, _, error in self.results
                       if (phase is None or p == phase) and (since is None or start >= since)
                       and (ok is None or (error is None) == ok))

    def failures(self, phase=None, since=None) -> list[str]:
        with self.lock:
            return [error for p, start, _, error in self.results
                    if error and (phase is None or p == phase) and (since is None or start >= since)]

    def figures(self, phase) -> str:
        with self.lock:
            rows = [(start, end, error) for p, start, end, error in self.results if p == phase]
        if not rows:
            return f"{phase}: no session"
        span = max(end for _, end, _ in rows) - min(start for start, _, _ in rows)
        failed = sum(1 for *_, error in rows if error)
        rate = len(rows) / span if span > 0 else float("nan")
        return f"{phase}: {len(rows)} sessions, {rate:.1f}/s through HAProxy, {failed} failed"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    proxy_bin = Path(os.environ.get("WEBSOCKIFY_BIN", Path(__file__).resolve().parents[2] / ".build" / "debug" / "websockify"))
    if not os.access(proxy_bin, os.X_OK):
        pytest.fail(f"websockify binary not found at {proxy_bin}: swift build, or set WEBSOCKIFY_BIN", pytrace=False)
    tool("haproxy")
    c = Cluster(tmp_path_factory.mktemp("cluster"), proxy_bin)
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture
def report(capsys):
    """Prints figures even when pytest captures output."""
    def say(text):
        with capsys.disabled():
            print(f"\n[cluster] {text}", flush=True)
    return say


# ----------------------------------------------------------------------------- the scenarios

def test_30_sessions_spread_over_three_proxies_bytes_intact(cluster, chromium_driver, report):
    from selenium.webdriver.common.by import By

    cluster.heal()
    before = {name: int(row["stot"]) for name, row in cluster.stats().items()}
    # One real noVNC among them, served by our --web through HAProxy too.
    driver = chromium_driver
    driver.get(f"http://127.0.0.1:{cluster.front}/vnc_lite.html?host=127.0.0.1&port={cluster.front}"
               f"&path=%3Ftoken%3Ddesk0")
    poll(lambda: driver.find_element(By.ID, "status").text, lambda text: text.startswith("Connected"),
         CONNECT_TIMEOUT, "noVNC #status to read 'Connected to ...'")
    count = 29
    opened = threading.Barrier(count, timeout=60)

    def one(n):
        token = f"desk{n % DESKS}"
        rfb = cluster.session(token)
        try:
            opened.wait()  # all 29 (and the browser) open at once: leastconn spreads them
            first = rfb.region(*REGION)
            second = rfb.region(*REGION)
            return token, first == cluster.references[token]["region"] == second, cluster.which_proxy(rfb)
        finally:
            rfb.io.close()

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(one, range(count)))
    elapsed = time.monotonic() - start
    assert all(intact for _, intact, _ in results), [r for r in results if not r[1]]
    spread = {i: sum(1 for *_, where in results if where == i) for i in cluster.ports}
    assert driver.find_element(By.ID, "status").text.startswith("Connected")
    after = {name: int(row["stot"]) for name, row in cluster.stats().items()}
    routed = {name: after[name] - before[name] for name in after}
    report(f"burst: {count} scripted RFB sessions + 1 noVNC at once, {count / elapsed:.1f} sessions/s through "
           f"HAProxy ({elapsed:.2f} s, {len(cluster.references['desk0']['region']) * 2 // 1024} KiB "
           f"of screen each), 0 failed; sessions per proxy {spread}; HAProxy requests per server {routed} (noVNC's files too)")
    # leastconn with 30 open at once: every proxy holds a fair share.
    assert all(n >= 5 for n in spread.values()), spread
    driver.get("about:blank")


def test_kill_9_one_proxy_under_load(cluster, report):
    cluster.heal()
    # Long sessions on all three, then the load.
    long = [cluster.session(f"desk{n % DESKS}") for n in range(9)]
    where = [cluster.which_proxy(rfb) for rfb in long]
    victim = 2
    assert victim in where and len(set(where)) == 3, where
    with Load(cluster) as load:
        load.phase = "kill: before"
        wait_until(lambda: load.count(ok=True) >= 10, timeout=60, what="the load to get going")
        cluster.proxies[victim].send_signal(signal.SIGKILL)
        cluster.proxies[victim].wait(timeout=10)
        # From here the process is gone: a session started now cannot reach it.
        load.phase = "kill: after"
        killed_at = time.monotonic()
        wait_until(lambda: cluster.stats()[f"ws{victim}"]["status"].startswith("DOWN"), timeout=15, interval=0.02,
                   what=f"HAProxy to mark ws{victim} DOWN")
        down_after = time.monotonic() - killed_at
        routed_when_down = cluster.counter(f"ws{victim}", "stot")
        wait_until(lambda: load.count(phase="kill: after", ok=True) >= 20, timeout=60,
                   what="sessions to go on after the kill")
        # The killed proxy's sessions ended; the others' did not notice.
        for rfb, i in zip(long, where):
            if i == victim:
                with pytest.raises(SessionClosed):
                    rfb.region(*SMALL)
            else:
                assert rfb.region(*REGION) == cluster.references[rfb.token]["region"]
    # Sessions started after the kill all succeeded (HAProxy redispatched any it sent to the dead
    # port before its checks noticed); after DOWN none more went there.
    after = load.failures(since=killed_at)
    assert after == [], after
    assert cluster.counter(f"ws{victim}", "stot") == routed_when_down
    report(f"kill -9 ws{victim}: HAProxy marked it DOWN after {down_after:.2f} s (checks every 500 ms, fall 2); "
           f"{load.figures('kill: before')}; {load.figures('kill: after')}; "
           f"in flight at the kill and failed: {len(load.failures(phase='kill: before'))}")
    for rfb in long:
        rfb.io.close()
    cluster.start_proxy(victim)
    wait_until(lambda: cluster.stats()[f"ws{victim}"]["status"] == "UP", timeout=30, what=f"ws{victim} UP again")


def until_closed(rfb: Rfb, timeout=30.0):
    """Reads the screen every 100 ms until the session closes; returns the close code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rfb.region(*SMALL)
        except SessionClosed as closed:
            return closed.code
        time.sleep(0.1)
    raise AssertionError(f"session still open after {timeout} s")


def test_rolling_restart_with_sigterm_loses_no_session(cluster, report):
    cluster.heal()
    inspect = inspect_bin(cluster.proxy_bin)
    with Load(cluster) as load:
        load.phase = "restart: before"
        wait_until(lambda: load.count(ok=True) >= 10, timeout=60, what="the load to get going")
        for i, port in cluster.ports.items():
            name = f"ws{i}"
            load.phase = f"restart {name}"
            # Sessions held by this proxy (straight to it, with a PROXY header as HAProxy sends).
            held = [cluster.session(f"desk{n}", port=port, direct=True) for n in range(2)]
            retried = {field: cluster.counter(name, field) for field in ("econ", "wretr", "wredis")}
            log_start = len(cluster.log(i))
            proc = cluster.proxies[i]
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            # The health path says 503 at once.
            wait_until(lambda: direct_health(port) == 503, timeout=10, interval=0.02, what=f"{name}'s 503")
            answered_503 = time.monotonic() - signalled
            # A session that reaches it during the lame duck (one HAProxy routed before its check) works.
            late = cluster.session("desk0", port=port, direct=True)
            assert late.region(*SMALL) == cluster.references["desk0"]["small"]
            log = cluster.log(i)[log_start:]
            assert opened_line(late) in log and "lame duck over" not in log.split(opened_line(late))[0], log
            # HAProxy takes it out of rotation while it still accepts.
            wait_until(lambda: cluster.stats()[name]["status"].startswith("DOWN"), timeout=15, interval=0.02,
                       what=f"HAProxy to mark {name} DOWN")
            down_after = time.monotonic() - signalled
            listener_open_when_down = "lame duck over" not in cluster.log(i)[log_start:]
            # Then the listener closes.
            wait_until(lambda: direct_health(port) == 0, timeout=15, what=f"{name}'s listener to close")
            # Open sessions keep running while it drains…
            for rfb in held + [late]:
                assert rfb.region(*SMALL) == cluster.references[rfb.token]["small"]
            # …and get 1001 at the drain timeout.
            for rfb in held + [late]:
                assert until_closed(rfb) == 1001
            drained_after = time.monotonic() - signalled
            assert proc.wait(timeout=15) == 0
            verify = subprocess.run([inspect, "verify", cluster.record(i)], capture_output=True, text=True, timeout=60)
            assert verify.returncode == 0, verify.stdout + verify.stderr
            # HAProxy never had a connection refused by it: the lame duck covered its checks.
            assert {f: cluster.counter(name, f) for f in retried} == retried
            assert listener_open_when_down, f"{name}'s listener closed before HAProxy marked it DOWN"
            # Back, and taking sessions again.
            routed = cluster.counter(name, "stot")
            cluster.start_proxy(i)
            wait_until(lambda: cluster.stats()[name]["status"] == "UP", timeout=30, what=f"{name} UP again")
            back_after = time.monotonic() - signalled
            wait_until(lambda: cluster.counter(name, "stot") > routed, timeout=30,
                       what=f"HAProxy to send {name} new sessions")
            report(f"rolling restart {name}: 503 after {answered_503:.2f} s, DOWN in HAProxy after {down_after:.2f} s "
                   f"(lame duck {LAME_DUCK:g} s), sessions 1001 after {drained_after:.2f} s (drain {DRAIN:g} s), "
                   f"UP again after {back_after:.2f} s; {load.figures(f'restart {name}')}")
        load.phase = "restart: after"
        wait_until(lambda: load.count(phase="restart: after") >= 5, timeout=30, what="sessions after the restarts")
    failed = load.failures()
    assert failed == [], failed
    report(f"rolling restart of all three: {load.count()} sessions, 0 failed")


def test_redis_restart_503_then_recovers(cluster, report):
    cluster.heal()
    held = cluster.session("desk1")
    with Load(cluster) as load:
        load.phase = "redis: up"
        wait_until(lambda: load.count(ok=True) >= 10, timeout=60, what="the load to get going")
        load.phase = "redis: down"
        down_at = time.monotonic()
        port = cluster.redis.port
        cluster.redis.stop()
        wait_until(lambda: load.count(phase="redis: down", ok=False) >= 10, timeout=60,
                   what="sessions refused while Redis is down")
        # The refusals are websockify's 503 (through HAProxy), not a balancer error.
        status, body = upgrade_status(cluster.front, "desk1")
        assert status == 503 and "try again later" in body, (status, body)
        assert set(load.failures(phase="redis: down", since=down_at + 0.5)) == {"refused 503"}
        # The session opened before goes on.
        assert held.region(*SMALL) == cluster.references["desk1"]["small"]
        load.phase = "redis: back"
        cluster.start_redis(port=port)
        back_at = time.monotonic()
        wait_until(lambda: load.count(phase="redis: back", ok=True) >= 1, timeout=30, what="a first lookup to work")
        recovered_after = time.monotonic() - back_at
        load.phase = "redis: recovered"
        wait_until(lambda: load.count(phase="redis: recovered", ok=True) >= 20, timeout=60,
                   what="sessions after Redis came back")
    assert load.failures(phase="redis: recovered") == []
    assert all(proc.poll() is None for proc in cluster.proxies.values()), "no proxy was restarted"
    held.io.close()
    report(f"Redis restart: {load.figures('redis: up')}; {load.figures('redis: down')} (all 503); "
           f"first lookup {recovered_after:.2f} s after Redis was back; {load.figures('redis: recovered')}")
