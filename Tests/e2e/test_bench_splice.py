"""scripts/bench-splice's correctness check (issue 18 §2) and the splice probe it measures.

Benchmarks/splice_bench.py --check-only runs, through each WebSocket proxy, 32 MiB target->client
(every server frame's header checked, the stream's SHA-256 compared, a close frame at the end) and
8 MiB client->target (random mask keys, a fragmented message with a ping among its fragments, the
target's SHA-256 compared, pong and close answered), and exits 1 when a proxy fails.

Here: our websockify (debug build) passes; a small relay written for this test passes when faultless
and fails, saying why, for each fault the check exists to catch; and the probe itself
(Benchmarks/Sources/SpliceProbe, built here in debug) passes in both modes. Figures are not checked
(no timed tests): bench-splice prints them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from vncdesk import REPO

BENCH = REPO / "Benchmarks" / "splice_bench.py"

# A WebSocket relay with one fault at a time (FAULT in its environment), started as websockify is:
# RELAY 127.0.0.1:LISTEN 127.0.0.1:TARGET. Each target read is one binary frame.
FAULTY_RELAY = r'''#!/usr/bin/env python3
import base64, hashlib, os, socket, struct, sys, threading

FAULT = os.environ.get("FAULT", "none")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(op, payload):
    n = len(payload)
    if FAULT == "long-length" and n < 126:
        hdr = bytes((0x80 | op, 126)) + n.to_bytes(2, "big")
    elif n < 126:
        hdr = bytes((0x80 | op, n))
    elif n < 65536:
        hdr = bytes((0x80 | op, 126)) + n.to_bytes(2, "big")
    else:
        hdr = bytes((0x80 | op, 127)) + n.to_bytes(8, "big")
    if FAULT == "masked":
        return bytes((hdr[0], hdr[1] | 0x80)) + hdr[2:] + b"\0\0\0\0" + payload
    return hdr + payload


def exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise OSError("eof")
        out += d
    return out


def session(c, target):
    head = b""
    while b"\r\n\r\n" not in head:
        head += c.recv(4096)
    key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")][0]
    t = socket.create_connection(target)
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    lock = threading.Lock()

    def to_client():
        sent, reads = 0, 0
        while True:
            d = t.recv(1 << 20)
            if not d:
                break
            reads += 1
            if FAULT == "flip" and sent <= 1000 < sent + len(d):
                d = bytearray(d)
                d[1000 - sent] ^= 1
                d = bytes(d)
            sent += len(d)
            if FAULT == "drop" and reads == 20:
                continue
            with lock:
                c.sendall(frame(2, d))
        with lock:
            c.sendall(frame(8, struct.pack(">H", 1000)))

    threading.Thread(target=to_client, daemon=True).start()
    try:
        while True:
            b0, b1 = exact(c, 2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(exact(c, 2), "big")
            elif n == 127:
                n = int.from_bytes(exact(c, 8), "big")
            key = exact(c, 4)
            data = bytes(x ^ key[i % 4] for i, x in enumerate(exact(c, n)))
            op = b0 & 0x0F
            if op in (0, 1, 2):
                t.sendall(data)
            elif op == 9 and FAULT != "no-pong":
                with lock:
                    c.sendall(frame(10, data))
            elif op == 8:
                with lock:
                    c.sendall(frame(8, data[:2]))
                break
    except OSError:
        pass
    t.close()
    c.close()


def main():
    lhost, lport = sys.argv[1].rsplit(":", 1)
    thost, tport = sys.argv[2].rsplit(":", 1)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((lhost, int(lport)))
    ls.listen(16)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=session, args=(c, (thost, int(tport))), daemon=True).start()


main()
'''


def check(env_extra: dict, only: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, str(BENCH), "--check-only", "--only", only],
                          capture_output=True, text=True, timeout=240, env=env)


def test_websockify_passes_the_check(proxy_bin):
    run = check({"WEBSOCKIFY_BIN": str(proxy_bin)}, "ours")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ours    ok: t->c 32 MiB" in run.stdout
    assert "close 1000" in run.stdout and "pong, close answered" in run.stdout


@pytest.fixture
def faulty_relay(tmp_path):
    path = tmp_path / "faulty-relay"
    path.write_text(FAULTY_RELAY)
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("fault,why", [
    ("none", None),
    ("flip", "SHA-256 differs"),
    ("drop", "bytes arrived"),
    ("long-length", "in the 16-bit form"),
    ("masked", "masked server frame"),
    ("no-pong", "no pong for the ping"),
])
def test_check_catches_a_faulty_relay(faulty_relay, fault, why):
    run = check({"WEBSOCKIFY_BIN": str(faulty_relay), "FAULT": fault}, "ours")
    if why is None:
        assert run.returncode == 0, run.stdout + run.stderr
        assert "ours    ok:" in run.stdout
    else:
        assert run.returncode == 1, run.stdout + run.stderr
        assert "ours    FAIL" in run.stdout and why in run.stdout, run.stdout


@pytest.fixture(scope="module")
def splice_probe():
    """$SPLICE_PROBE_BIN, or Benchmarks' SpliceProbe built here in debug (Benchmarks/.build, its own
    package: a cold build compiles swift-crypto, minutes). The build must succeed; the per-test time
    cap (conftest's alarm) is held while it runs, with a bound of its own."""
    given = os.environ.get("SPLICE_PROBE_BIN")
    if given:
        assert os.access(given, os.X_OK), f"SPLICE_PROBE_BIN is not an executable: {given}"
        return given
    bench = REPO / "Benchmarks"
    left = signal.alarm(0)
    try:
        build = subprocess.run(["swift", "build", "--product", "SpliceProbe"], cwd=bench,
                               capture_output=True, text=True, timeout=1800)
        path = subprocess.run(["swift", "build", "--show-bin-path"], cwd=bench,
                              capture_output=True, text=True, timeout=300).stdout.strip()
    finally:
        signal.alarm(left or 120)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return os.path.join(path, "SpliceProbe")


def test_splice_probe_passes_the_check_in_both_modes(splice_probe):
    run = check({"SPLICE_PROBE_BIN": splice_probe}, "splice,copy")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "splice  ok: t->c 32 MiB" in run.stdout and "copy    ok: t->c 32 MiB" in run.stdout


def test_splice_probe_refuses_what_rfc6455_refuses(splice_probe, start_process, free_port):
    """A request that is no WebSocket upgrade gets 400; an unmasked client frame gets close 1002."""
    import socket
    import time

    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(4)
    port = free_port()
    start_process([splice_probe, "--mode", "splice", "127.0.0.1:%d" % port,
                   "127.0.0.1:%d" % target.getsockname()[1]], name="splice-probe")
    deadline = time.monotonic() + 10
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            assert time.monotonic() < deadline, "the probe does not listen"
            time.sleep(0.05)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 400 ")
    s.close()

    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    # RFC 6455 §1.3's example key and its accept value
    assert head.startswith(b"HTTP/1.1 101 ") and b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    s.sendall(b"\x82\x02hi")   # unmasked
    rest = head.split(b"\r\n\r\n", 1)[1]
    while len(rest) < 4:
        d = s.recv(4096)
        assert d, "closed without a close frame"
        rest += d
    assert rest[:4] == b"\x88\x02\x03\xea"   # close 1002
    s.close()
    target.close()
