"""websockify's shutdown on SIGTERM, one process, no balancer (test_cluster.py has the balancer):
the lame duck (--lame-duck: 503 on the health path while sessions are still taken), the drain
(--drain-timeout: the listener closed, sessions running), a second SIGTERM that hurries, the
recording closed cleanly."""

import signal
import socket
import subprocess
import time

import pytest

from proxyutil import Proxy, RawClient, TcpTarget, wait_until, websockify_bin
from test_novnc import inspect_bin


@pytest.fixture
def target():
    t = TcpTarget()
    yield t
    t.close()


def health(port) -> int:
    """The health path's status on a new connection; 0 when the connection is refused."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            data = s.recv(4096)
    except OSError:
        return 0
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0


def echo(client, payload):
    client.send_frame(0x2, payload)
    assert client.read_frame()[2] == payload


def test_lame_duck_drain_and_a_second_sigterm(target, tmp_path):
    record = tmp_path / "sessions"
    p = Proxy([f"127.0.0.1:{target.port}"],
              extra=["-v", "--health-path=/healthz", "--lame-duck=60", "--drain-timeout=60", f"--record={record}"])
    try:
        before = RawClient(p.port, timeout=30)
        echo(before, b"before")
        p.proc.send_signal(signal.SIGTERM)
        # The health path says 503 at once, and the listener still takes sessions.
        wait_until(lambda: health(p.port) == 503, timeout=10, what="the health path's 503")
        during = RawClient(p.port, timeout=30)
        echo(during, b"during the lame duck")
        echo(before, b"still")
        wait_until(lambda: "still accepting for 60 s (lame duck)" in p.log_text(), timeout=10, what="the log line")
        # A second SIGTERM: the listener closes and both sessions get 1001 now, not in a minute.
        hurried = time.monotonic()
        p.proc.send_signal(signal.SIGTERM)
        assert before.read_until_close() == (1001, "server shutting down")
        assert during.read_until_close() == (1001, "server shutting down")
        assert p.proc.wait(timeout=15) == 0
        assert time.monotonic() - hurried < 10
        assert health(p.port) == 0
        log = p.log_text()
        assert "stop signal again: hurrying the shutdown" in log and "hurried: closing listener and 2 session(s)" in log
        verify = subprocess.run([inspect_bin(p.proc.args[0]), "verify", f"{record}.rec"], capture_output=True,
                                text=True, timeout=60)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        before.close()
        during.close()
    finally:
        p.stop()


def test_drain_ends_when_the_last_session_does(target):
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["-v", "--drain-timeout=60"])
    try:
        session = RawClient(p.port, timeout=30)
        echo(session, b"x")
        p.proc.send_signal(signal.SIGTERM)
        # No health path, so no lame duck: the listener closes at once; the session drains.
        wait_until(lambda: health(p.port) == 0, timeout=10, what="the listener to close")
        wait_until(lambda: "draining 1 session(s) for up to 60 s" in p.log_text(), timeout=10, what="the drain")
        echo(session, b"while draining")
        assert p.proc.poll() is None
        # The client leaves: with no session left websockify exits, long before the drain timeout.
        session.send_frame(0x8, (1000).to_bytes(2, "big"))
        assert session.read_until_close()[0] == 1000
        assert p.proc.wait(timeout=15) == 0
        session.close()
    finally:
        p.stop()


def test_lame_duck_needs_the_health_path(target):
    out = subprocess.run([websockify_bin(), "--lame-duck=2", "6080",
                          f"127.0.0.1:{target.port}"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "--lame-duck=2.0: needs --health-path" in out.stderr
