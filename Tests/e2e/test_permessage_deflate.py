"""permessage-deflate (RFC 7692) toward the client: negotiation with Python `websockets` for each
parameter, declined offers, compressed frames on the wire, fragmented compressed messages, the
zip bomb, and --compression off."""

import asyncio
import base64
import os
import socket
import struct
import zlib

import pytest
import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from proxyutil import Proxy, TcpTarget, mask_bytes, upgrade_request, ws_recv_expect  # noqa: F401

# What a VNC server's Raw rectangles look like: runs of a few colours, compressing several-fold.
SCREEN = bytes((i // 64) % 7 for i in range(300_000))


@pytest.fixture
def target():
    t = TcpTarget()
    yield t
    t.close()


def start_proxy(target, *extra):
    return Proxy([f"127.0.0.1:{target.port}"], extra=list(extra))


@pytest.fixture
def proxy(target):
    p = start_proxy(target)
    yield p
    p.stop()


# --- websockets, with and without each parameter ---------------------------------------------------

FACTORIES = {
    "default offer (client_max_window_bits without a value)": (ClientPerMessageDeflateFactory(), {}),
    "no parameters": (ClientPerMessageDeflateFactory(client_max_window_bits=None), {}),
    "server_no_context_takeover": (
        ClientPerMessageDeflateFactory(server_no_context_takeover=True), {"remote_no_context_takeover": True}),
    "client_no_context_takeover": (
        ClientPerMessageDeflateFactory(client_no_context_takeover=True), {"local_no_context_takeover": True}),
    "server_max_window_bits=10": (
        ClientPerMessageDeflateFactory(server_max_window_bits=10), {"remote_max_window_bits": 10}),
    "client_max_window_bits=9": (
        ClientPerMessageDeflateFactory(client_max_window_bits=9), {"local_max_window_bits": 9}),
    "all of them": (
        ClientPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True, server_max_window_bits=12,
            client_max_window_bits=11),
        {"remote_no_context_takeover": True, "local_no_context_takeover": True, "remote_max_window_bits": 12,
         "local_max_window_bits": 11}),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_websockets_negotiates_each_parameter_and_round_trips(proxy, name):
    factory, expected = FACTORIES[name]

    async def run():
        async with websockets.connect(proxy.url(), subprotocols=["binary"], extensions=[factory],
                                      max_size=None) as ws:
            header = ws.response.headers.get("Sec-WebSocket-Extensions")
            assert header is not None and header.startswith("permessage-deflate"), header
            (extension,) = ws.protocol.extensions
            assert extension.name == "permessage-deflate"
            for attribute, value in expected.items():
                assert getattr(extension, attribute) == value, (attribute, header)
            # Several messages both ways: context takeover (or its absence) must agree on both ends.
            for i in range(4):
                message = SCREEN[i * 1000:] + bytes([i])
                await ws.send(message)
                await ws_recv_expect(ws, message, f"message {i} echoed")
            await ws.send(os.urandom(50_000))  # incompressible: may go either way
            await ws.recv()
            return header

    header = asyncio.run(run())
    # What the proxy answered for the offer's server parameters.
    if "server_max_window_bits" in name or name == "all of them":
        assert "server_max_window_bits=" in header


def test_websockets_without_the_extension(proxy):
    async def run():
        async with websockets.connect(proxy.url(), subprotocols=["binary"], compression=None) as ws:
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
            assert ws.protocol.extensions == []
            await ws.send(SCREEN[:5000])
            await ws_recv_expect(ws, SCREEN[:5000])

    asyncio.run(run())


def test_compression_off_declines_every_offer(target):
    proxy = start_proxy(target, "--compression", "off")
    try:
        async def run():
            async with websockets.connect(proxy.url(), subprotocols=["binary"]) as ws:
                assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
                assert ws.protocol.extensions == []
                await ws.send(SCREEN[:5000])
                await ws_recv_expect(ws, SCREEN[:5000])

        asyncio.run(run())
    finally:
        proxy.stop()


# --- raw frames: what goes over the wire ----------------------------------------------------------

class DeflateClient:
    """A hand-made client: the handshake with `offer`, frames with their RSV bits."""

    def __init__(self, port, offer="permessage-deflate"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = f"Sec-WebSocket-Extensions: {offer}\r\n" if offer is not None else ""
        self.sock.sendall(upgrade_request(key=key, protocols=["binary"], extra=extra))
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, f"closed during the handshake: {self.buf!r}"
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101"), lines[0]
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.inflater = zlib.decompressobj(-15)

    def send(self, opcode, payload, fin=True, rsv=0):
        first = (0x80 if fin else 0) | rsv << 4 | opcode
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", first, 0x80 | n)
        elif n <= 0xFFFF:
            header = struct.pack("!BBH", first, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", first, 0x80 | 127, n)
        key = os.urandom(4)
        self.sock.sendall(header + key + mask_bytes(payload, key))

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        """(rsv, opcode, payload as sent, payload inflated when RSV1 is set)"""
        b0, b1 = self._exact(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._exact(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._exact(8))
        payload = self._exact(n)
        rsv = (b0 >> 4) & 7
        data = self.inflater.decompress(payload + b"\x00\x00\xff\xff") if rsv & 4 else payload
        return rsv, b0 & 0xF, payload, data

    def read_data(self, total):
        """Reads data frames until `total` application bytes came; returns (bytes, wire bytes, rsv set)."""
        got, wire, flags = b"", 0, set()
        self.compressed_bytes = 0
        while len(got) < total:
            rsv, opcode, payload, data = self.frame()
            assert opcode == 2, (opcode, payload[:40])
            got += data
            wire += len(payload)
            flags.add(rsv)
            if rsv & 4:
                self.compressed_bytes += len(data)
        return got, wire, flags

    def close_code(self):
        while True:
            rsv, opcode, payload, _ = self.frame()
            if opcode == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


def compress(message, takeover=None):
    c = takeover or zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(message) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def test_target_bytes_go_compressed_with_rsv1_and_inflate_to_what_the_target_sent(proxy):
    client = DeflateClient(proxy.port)
    assert client.headers.get("sec-websocket-extensions") == "permessage-deflate"
    client.send(2, compress(SCREEN), rsv=4)
    got, wire, flags = client.read_data(len(SCREEN))
    assert got == SCREEN
    assert flags == {4}
    assert wire * 5 < len(SCREEN), f"{wire} bytes on the wire for {len(SCREEN)}"


def inflate_strictly(inflater, data):
    """Inflates in steps of 64 output bytes, as a client with little memory would. zlib checks a
    back-reference against the window only for output of earlier calls (within one call it also accepts
    one into that call's output), so a one-call inflate would not notice a distance the agreed window
    does not allow; this does."""
    out = bytearray()
    chunk = inflater.decompress(data, 64)
    while chunk or inflater.unconsumed_tail:
        out += chunk
        chunk = inflater.decompress(inflater.unconsumed_tail, 64)
    return bytes(out)


@pytest.mark.parametrize("bits", [9, 10])
def test_server_max_window_bits_bounds_every_back_reference(proxy, bits):
    """A client that asks for a small window gets a stream it can inflate with that window: a message
    that repeats itself further back than the window cannot refer back to its first half."""
    client = DeflateClient(proxy.port, offer=f"permessage-deflate; server_max_window_bits={bits}")
    assert client.headers.get("sec-websocket-extensions") == f"permessage-deflate; server_max_window_bits={bits}"
    inflater = zlib.decompressobj(-bits)
    compressed = 0
    for i in range(3):
        half = os.urandom((1 << bits) + 200)  # under 4 KiB in all: tried, not sampled
        message = half + half
        client.send(2, message)
        got = b""
        while len(got) < len(message):
            rsv, opcode, payload, _ = client.frame()
            assert opcode == 2
            if rsv & 4:
                compressed += 1
                got += inflate_strictly(inflater, payload + b"\x00\x00\xff\xff")
            else:
                got += payload
        assert got == message, f"message {i}"
    assert compressed > 0, "the first messages of a session are tried compressed"


def test_random_target_bytes_go_uncompressed(proxy):
    client = DeflateClient(proxy.port)
    data = os.urandom(200_000)
    client.send(2, data)
    got, wire, flags = client.read_data(len(data))
    assert got == data
    # The first reads of a session are small (too small to sample): a few are tried, found not to
    # shrink, and compression backs off; large reads are sampled and skipped.
    assert client.compressed_bytes < len(data) // 10, f"{client.compressed_bytes} of {len(data)} bytes compressed"
    assert wire < len(data) * 1.01


def test_a_fragmented_compressed_message_reaches_the_target_inflated(target, proxy):
    client = DeflateClient(proxy.port)
    body = compress(SCREEN)
    cuts = [0, 7, len(body) // 2, len(body) - 3, len(body)]
    for i in range(len(cuts) - 1):
        client.send(2 if i == 0 else 0, body[cuts[i]:cuts[i + 1]], fin=i == len(cuts) - 2, rsv=4 if i == 0 else 0)
    got, _, _ = client.read_data(len(SCREEN))
    assert got == SCREEN


@pytest.mark.parametrize("offer", [
    "permessage-deflate; server_max_window_bits=8",
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; server_no_context_takeover=yes",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; unknown_parameter",
    "x-webkit-deflate-frame",
])
def test_offers_that_cannot_be_honoured_are_declined_and_the_session_runs_uncompressed(proxy, offer):
    client = DeflateClient(proxy.port, offer=offer)
    assert "sec-websocket-extensions" not in client.headers
    client.send(2, SCREEN[:20_000])
    got, _, flags = client.read_data(20_000)
    assert got == SCREEN[:20_000] and flags == {0}
    # Without the extension RSV1 is a protocol error.
    client.send(2, compress(b"hello"), rsv=4)
    assert client.close_code() == 1002


def test_the_first_offer_that_can_be_honoured_is_taken(proxy):
    client = DeflateClient(
        proxy.port,
        offer="permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=11; "
              "client_no_context_takeover, permessage-deflate")
    assert client.headers["sec-websocket-extensions"] == (
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=11")


@pytest.mark.parametrize("rsv,opcode", [(4, 9), (4, 0)])
def test_rsv1_on_a_control_or_continuation_frame_is_a_protocol_error(proxy, rsv, opcode):
    client = DeflateClient(proxy.port)
    if opcode == 0:
        client.send(2, compress(b"first part"), fin=False, rsv=4)
    client.send(opcode, b"x" if opcode == 9 else compress(b"more"), rsv=rsv)
    assert client.close_code() == 1002


def test_a_zip_bomb_gets_1009_without_the_proxy_allocating_it(target):
    proxy = start_proxy(target, "--max-message-size", str(4 << 20))
    try:
        client = DeflateClient(proxy.port)
        before = proxy.rss_kib()
        # 1 GiB of zeros in about 1 MiB.
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        chunk = bytes(16 << 20)
        bomb = b"".join(c.compress(chunk) for _ in range(64)) + c.flush(zlib.Z_SYNC_FLUSH)
        bomb = bomb[:-4]
        assert len(bomb) < 2 << 20
        client.send(2, bomb, rsv=4)
        assert client.close_code() == 1009
        after = proxy.rss_kib()
        assert after - before < 64 << 10, f"RSS grew from {before} to {after} KiB"
        assert "inflated" in proxy.log_text()
        # The proxy still serves.
        again = DeflateClient(proxy.port)
        again.send(2, compress(b"still here"), rsv=4)
        got, _, _ = again.read_data(len(b"still here"))
        assert got == b"still here"
    finally:
        proxy.stop()


def test_invalid_deflate_data_is_1007(proxy):
    client = DeflateClient(proxy.port)
    client.send(2, b"\xff\xff\xff\xff\xff", rsv=4)
    assert client.close_code() == 1007


def test_context_takeover_from_the_client_is_honoured(target, proxy):
    client = DeflateClient(proxy.port)
    shared = zlib.compressobj(6, zlib.DEFLATED, -15)
    message = os.urandom(20_000)
    first = compress(message, shared)
    second = compress(message, shared)
    assert len(second) < len(first) // 4  # refers back to the first message
    client.send(2, first, rsv=4)
    client.send(2, second, rsv=4)
    got, _, _ = client.read_data(40_000)
    assert got == message * 2


# --- wsreplay serves through the same core ----------------------------------------------------------

@pytest.mark.parametrize("compression", ["auto", "off"])
def test_wsreplay_plays_a_session_compressed_unless_told_not_to(tmp_path, compression):
    import subprocess

    from recwriter import close_record, frame_record, open_record, write_recording
    from replayutil import finish, wsreplay_bin
    from vncdesk import wait_for_port
    from proxyutil import free_port

    recording = tmp_path / "played.rec"
    write_recording(recording, [open_record(1, 1_764_000_000_000_000), frame_record(1, 1000, SCREEN, True),
                                close_record(1, 2000)])
    port = free_port()
    with open(tmp_path / "wsreplay.log", "wb") as log:
        proc = subprocess.Popen([wsreplay_bin(), str(recording), "--port", str(port), "--no-rfb", "--once",
                                 "--compression", compression], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        client = DeflateClient(port)
        if compression == "auto":
            assert client.headers.get("sec-websocket-extensions") == "permessage-deflate"
        else:
            assert "sec-websocket-extensions" not in client.headers
        got, wire, flags = client.read_data(len(SCREEN))
        assert got == SCREEN
        assert flags == ({4} if compression == "auto" else {0})
        client.close_code()
    finally:
        finish(proc)
