"""Helpers for the token and auth plugin tests: named targets, clients, curl upgrades, redis-server."""

import shutil
import subprocess

import pytest
from websockets.sync.client import connect

from proxyutil import Proxy, TcpTarget, free_port, wait_until, websocat_bin
from vncdesk import stop_tree


def named_target(name):
    """A TCP target that first sends its name, then echoes: tells which target a session reached."""
    def handler(conn, target):
        conn.sendall(name.encode() + b"\n")
        TcpTarget.echo(conn, target)
    return TcpTarget(handler)


@pytest.fixture
def targets():
    """Two named targets, A and B."""
    a, b = named_target("A"), named_target("B")
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def proxies():
    """`proxies(*args)` starts websockify with `args` (and no target); all are stopped at the end."""
    started = []

    def start(*args):
        p = Proxy([], extra=args)
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop()


def websocat_banner(url, extra=()):
    """Connects with websocat, sends one line, returns (exit code, what came back)."""
    out = subprocess.run([websocat_bin(), "-b", "-1", "-n", *extra, url], input=b"ping\n", capture_output=True,
                         timeout=15)
    return out.returncode, out.stdout


def websockets_banner(url, **kwargs):
    """Connects with python websockets, returns the target's banner line (bytes)."""
    with connect(url, open_timeout=5, proxy=None, compression=None, **kwargs) as ws:
        return ws.recv(timeout=5)


def curl_upgrade(url, *headers, max_time=10):
    """A WebSocket upgrade request made by curl; returns (status, headers text, body).

    A refusal closes the connection; after a 101 curl waits for more until `max_time` (seconds)."""
    args = ["curl", "-s", "-i", "--http1.1", "--max-time", str(max_time),
            "-H", "Upgrade: websocket", "-H", "Connection: Upgrade",
            "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "-H", "Sec-WebSocket-Version: 13"]
    for header in headers:
        args += ["-H", header]
    if not shutil.which("curl"):
        pytest.fail("curl not found: run scripts/install-deps")
    out = subprocess.run(args + [url], capture_output=True, timeout=15)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), out
    return int(lines[0].split()[1]), "\n".join(lines[1:]), body.decode(errors="replace")


def log_has(proxy, text, timeout=5.0):
    """Waits until the proxy's log contains `text`."""
    wait_until(lambda: text in proxy.log_text(), timeout=timeout, what=f"log line with {text!r}")


class RedisServer:
    """A real redis-server on a free 127.0.0.1 port, no persistence; `cli(...)` runs redis-cli."""

    def __init__(self, tmp_path, password=None, port=None):
        for tool in ("redis-server", "redis-cli"):
            if not shutil.which(tool):
                pytest.fail(f"{tool} not found: run scripts/install-deps (Debian package redis-server)")
        self.port = port or free_port()
        self.password = password
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(tmp_path), "--daemonize", "no"]
        if password:
            args += ["--requirepass", password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited ({self.proc.returncode})")
            try:
                return self.cli("PING").strip() == "PONG"
            except subprocess.CalledProcessError:
                return False
        wait_until(up, what="redis-server to answer PING")

    def cli(self, *args):
        auth = ["--no-auth-warning", "-a", self.password] if self.password else []
        return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *auth, *args],
                              capture_output=True, check=True, timeout=10, text=True).stdout

    def stop(self):
        stop_tree(self.proc)

