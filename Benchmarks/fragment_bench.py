#!/usr/bin/env python3
"""Fragmented-message benchmark: one large message sent in small fragments through the proxy.

Prints figures and ratios measured in one run; asserts nothing (the target gets PASS/MISS).

    fragment_bench.py [--megabytes N] [--repeat R] [--timeout S]

The proxy is $WEBSOCKIFY_BIN (scripts/bench-fragments builds the release binary), started as
BIN 127.0.0.1:L 127.0.0.1:T with a target in this process that counts what arrives.

One message of N MiB (default 4) of UTF-8 text, about a third of it multi-byte characters (2, 3 and
4 bytes, so fragment boundaries cut characters at every position), is sent as one WebSocket message:
  text/64    text frame + continuations of 64 bytes each (subprotocol "binary": relayed as bytes)
  text/256   the same in 256-byte fragments
  binary/64  the same bytes as a binary message in 64-byte fragments
  base64/64  the text base64-encoded, in 64-byte fragments of a text message (subprotocol "base64")
Frames are built beforehand, masked with the all-zero key (legal; the proxy still unmasks every
byte), and written in one go from a thread; the time is from the first byte written until the
target has received every payload byte. Each case runs R times (--repeat, default 3) on its own
connection, the cases taken in turn, the best run kept. A run that takes longer than --timeout
seconds (default 200) is abandoned and shown as such.

Target (issue 12 §5): text/64 within 2x binary/64. Only the standard library is used; everything
listens on 127.0.0.1 on ports chosen at run time, and the proxy is stopped at the end.
"""

import argparse
import base64
import hashlib
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

MiB = 1 << 20
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class BenchError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_text(size):
    """`size` bytes of valid UTF-8 mixing 1-, 2-, 3- and 4-byte characters."""
    unit = ("websockify fragments " + "d\u00e9j\u00e0 vu \u00fc\u00df " + "\u20ac\u4e2d\u6587 " + "\U0001F600\U00010348 ")
    block = unit.encode() * 64
    out = block * (size // len(block) + 1)
    cut = size
    while cut > 0 and out[cut] & 0xC0 == 0x80:  # end on a character boundary
        cut -= 1
    return out[:cut]


def frames(opcode, payload, fragment):
    """`payload` as one message in fragments of `fragment` bytes, masked with the zero key."""
    out = bytearray()
    pieces = range(0, len(payload), fragment)
    last = pieces[-1]
    for i in pieces:
        piece = payload[i:i + fragment]
        first = (0x80 if i == last else 0) | (opcode if i == 0 else 0)
        n = len(piece)
        if n < 126:
            out += struct.pack("!BB", first, 0x80 | n)
        elif n <= 0xFFFF:
            out += struct.pack("!BBH", first, 0x80 | 126, n)
        else:
            out += struct.pack("!BBQ", first, 0x80 | 127, n)
        out += b"\0\0\0\0"
        out += piece
    return bytes(out)


class Target:
    """Accepts connections; each counts received bytes and records when `expected` had arrived."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.expected = 0
        self.done = threading.Event()
        self.finished_at = None
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, expected):
        self.expected = expected
        self.finished_at = None
        self.done.clear()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._count, args=(conn,), daemon=True).start()

    def _count(self, conn):
        got = 0
        buf = bytearray(MiB)
        with conn:
            while True:
                try:
                    n = conn.recv_into(buf)
                except OSError:
                    return
                if n == 0:
                    return
                got += n
                if got >= self.expected and not self.done.is_set():
                    self.finished_at = time.monotonic()
                    self.done.set()


def connect(port, protocol, timeout):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n"
                 % (port, key, protocol.encode()))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise BenchError("connection closed during the handshake")
        head += chunk
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
    if not head.startswith(b"HTTP/1.1 101") or accept not in head:
        raise BenchError("upgrade refused: %r" % head.split(b"\r\n")[0][:80])
    return sock


def run_case(proxy_port, target, protocol, wire, expected, timeout):
    """Seconds until the target has `expected` bytes, or None when it took over `timeout`."""
    sock = connect(proxy_port, protocol, timeout)
    target.arm(expected)
    failure = []

    def send():
        try:
            sock.sendall(wire)
        except OSError as error:
            failure.append(error)

    start = time.monotonic()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    arrived = target.done.wait(timeout)
    elapsed = target.finished_at - start if arrived else None
    sock.close()  # an abandoned run stops here (the proxy sees EOF)
    sender.join(10)
    if failure and arrived is False:
        raise BenchError(f"sending failed: {failure[0]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=200)
    args = parser.parse_args()
    binary = os.environ.get("WEBSOCKIFY_BIN")
    if not binary or not os.access(binary, os.X_OK):
        sys.exit("set WEBSOCKIFY_BIN to the websockify binary (scripts/bench-fragments does)")

    text = sample_text(int(args.megabytes * MiB))
    encoded = base64.b64encode(text)
    cases = [
        ("text/64", "binary", frames(1, text, 64), len(text)),
        ("text/256", "binary", frames(1, text, 256), len(text)),
        ("binary/64", "binary", frames(2, text, 64), len(text)),
        ("base64/64", "base64", frames(1, encoded, 64), len(text)),
    ]
    target = Target()
    port = free_port()
    log = tempfile.TemporaryFile()
    proxy = subprocess.Popen([binary, f"127.0.0.1:{port}", f"127.0.0.1:{target.port}"],
                             stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    best = {name: None for name, *_ in cases}
    try:
        deadline = time.monotonic() + 10
        while True:
            if proxy.poll() is not None:
                log.seek(0)
                raise BenchError(f"websockify exited ({proxy.returncode}): {log.read()[-2000:].decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError("websockify does not listen")
                time.sleep(0.05)
        print(f"fragment benchmark: {len(text) / MiB:.2f} MiB message, {binary}")
        for _ in range(args.repeat):
            for name, protocol, wire, expected in cases:
                if best[name] == "timeout":
                    continue  # one abandoned run is enough to know
                t = run_case(port, target, protocol, wire, expected, args.timeout)
                if t is None:
                    best[name] = "timeout"
                elif best[name] is None or t < best[name]:
                    best[name] = t
    finally:
        if proxy.poll() is None:
            os.killpg(proxy.pid, signal.SIGTERM)
            try:
                proxy.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proxy.pid, signal.SIGKILL)
                proxy.wait()
        target.sock.close()

    def shown(value):
        return f"over {args.timeout:.0f} s" if value == "timeout" else f"{value:8.3f} s"

    reference = best["binary/64"]
    for name, *_ in cases:
        value = best[name]
        line = f"  {name:<10} {shown(value)}"
        if isinstance(value, float) and isinstance(reference, float) and reference > 0:
            line += f"   {value / reference:6.2f}x binary/64"
        print(line)
    ratio = best["text/64"]
    if isinstance(ratio, float) and isinstance(reference, float):
        verdict = "PASS" if ratio <= 2 * reference else "MISS"
        print(f"target: text/64 within 2x binary/64: {ratio / reference:.2f}x {verdict}")
    else:
        print("target: text/64 within 2x binary/64: MISS (a run was abandoned)")


if __name__ == "__main__":
    try:
        main()
    except BenchError as error:
        sys.exit(f"fragment_bench: {error}")
