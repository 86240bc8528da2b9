"""--max-connections, --max-connections-per-ip and --handshake-timeout on real sockets: sessions held
up to the limit, the next one answered 503 with Retry-After, the slot free again once a session
closes, per client behind a trusted balancer (X-Forwarded-For from two clients through one peer),
the refusals in the log and in the metrics scraped from --metrics-listen; the target connect
timeout against a target that never completes the TCP handshake."""

import re
import socket
import subprocess
import time
import urllib.request

import pytest

from proxyutil import Proxy, RawClient, TcpTarget, free_port, http_request, upgrade_request, wait_until, websockify_bin


@pytest.fixture
def target():
    t = TcpTarget()
    yield t
    t.close()


def series(metrics_port: int, name: str) -> float:
    """The value of one series (`name` with its labels, as the exposition writes it)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    match = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    assert match, f"no series {name}:\n{text}"
    return float(match.group(1))


def refusals(metrics_port: int, reason: str) -> float:
    return series(metrics_port, f'websockify_sessions_refused_total{{reason="{reason}"}}')


def session(port, extra=""):
    client = RawClient(port, timeout=10, extra=extra)
    client.send_frame(0x2, b"ping")
    assert client.read_frame()[2] == b"ping"
    return client


def refused(port, extra=""):
    """The answer to a WebSocket handshake that must be refused: (status, headers)."""
    status, headers, _ = http_request(port, upgrade_request(extra=extra), timeout=10)
    return status, headers


def test_max_connections_refuses_the_next_session_until_one_closes(target, tmp_path):
    metrics = free_port()
    (tmp_path / "index.html").write_text("hello\n")
    p = Proxy([f"127.0.0.1:{target.port}"],
              extra=["--max-connections=3", f"--metrics-listen={metrics}", f"--web={tmp_path}"])
    try:
        held = [session(p.port) for _ in range(3)]
        status, headers = refused(p.port)
        assert status == 503
        assert headers["retry-after"] == ["10"]
        # A --web download would take a slot as well: refused.
        status, headers, body = http_request(p.port, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (status, headers["retry-after"]) == (503, ["10"])
        assert refusals(metrics, "max_connections") == 1, "web requests are not sessions"
        for client in held:
            client.send_frame(0x2, b"still")
            assert client.read_frame()[2] == b"still"
        # Refusals after the first within a minute go to -v only: one info line for the four.
        for _ in range(2):
            assert refused(p.port)[0] == 503
        log = p.log_text()
        assert log.count("refused: 503 --max-connections 3 reached") == 1, log
        assert "further such refusals within a minute are logged with -v only" in log
        assert refusals(metrics, "max_connections") == 3

        held.pop().close()
        # The slot is free once the proxy saw the close.
        wait_until(lambda: try_session(p.port), timeout=10, what="a slot freed by the closed session")
        for client in held:
            client.close()
    finally:
        p.stop()


def try_session(port):
    try:
        session(port).close()
        return True
    except AssertionError:
        return False


def test_per_ip_counts_the_forwarded_client_behind_a_trusted_balancer(target):
    metrics = free_port()
    p = Proxy([f"127.0.0.1:{target.port}"],
              extra=["--max-connections-per-ip=2", "--trust-proxy=127.0.0.1", f"--metrics-listen={metrics}", "-v"])
    alice = "X-Forwarded-For: 198.51.100.1\r\n"
    bob = "X-Forwarded-For: 2001:db8::1\r\n"
    try:
        # All connections come from 127.0.0.1 (the "balancer"); each client has its own two.
        held = [session(p.port, alice), session(p.port, alice), session(p.port, bob)]
        status, headers = refused(p.port, alice)
        assert (status, headers["retry-after"]) == (503, ["10"])
        held.append(session(p.port, bob))
        # Another address of Bob's /64 is another client (per address, as nginx and HAProxy count).
        held.append(session(p.port, "X-Forwarded-For: 2001:db8::2\r\n"))
        assert refused(p.port, bob)[0] == 503
        assert refusals(metrics, "max_connections_per_ip") == 2
        assert refusals(metrics, "max_connections") == 0
        log = p.log_text()
        assert "198.51.100.1: refused: 503 --max-connections-per-ip 2 reached for 198.51.100.1" in log, log
        assert "--max-connections-per-ip 2 reached for 2001:db8::1" in log, log
        held[0].close()
        wait_until(lambda: try_session_from(p.port, alice), timeout=10, what="Alice's slot freed")
        for client in held[1:]:
            client.close()
    finally:
        p.stop()


def try_session_from(port, extra):
    try:
        session(port, extra).close()
        return True
    except AssertionError:
        return False


def test_a_connection_still_sending_its_request_is_not_counted_and_is_dropped_by_the_handshake_timeout(target):
    metrics = free_port()
    p = Proxy([f"127.0.0.1:{target.port}"],
              extra=["--max-connections=1", "--handshake-timeout=1", f"--metrics-listen={metrics}"])
    try:
        slow = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # a head that never ends (slowloris)
        started = time.monotonic()
        client = session(p.port)  # the only slot: the slow connection does not hold it
        assert slow.recv(100) == b"", "dropped without an answer"
        elapsed = time.monotonic() - started
        assert 0.5 < elapsed < 5, elapsed
        assert series(metrics, "websockify_handshake_timeouts_total") == 1
        client.close()
        slow.close()
    finally:
        p.stop()


@pytest.mark.parametrize("option", ["--max-connections=0", "--max-connections-per-ip=-1", "--handshake-timeout=0"])
def test_bad_limits_are_usage_errors(option):
    result = subprocess.run([websockify_bin(), option, "127.0.0.1:0", "127.0.0.1:1"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 64 or result.returncode == 2, (result.returncode, result.stderr)
    assert option.split("=")[0] in result.stderr


def test_a_target_that_never_answers_the_connect_is_given_up_after_10_s():
    # A listener whose backlog is full: the kernel drops further SYNs, so a connect hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)
    metrics = free_port()
    p = Proxy([f"127.0.0.1:{port}"], extra=[f"--metrics-listen={metrics}"])
    try:
        client = RawClient(p.port, timeout=30)
        started = time.monotonic()
        code, _ = client.read_until_close()
        elapsed = time.monotonic() - started
        assert code == 1011
        assert 9 < elapsed < 20, elapsed
        assert series(metrics, "websockify_target_connect_failures_total") == 1
        client.close()
    finally:
        p.stop()
        filler.close()
        listener.close()
