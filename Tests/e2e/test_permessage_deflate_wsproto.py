"""permessage-deflate against a second, independent implementation: wsproto's client.

The Autobahn|Testsuite cannot run here (its PyPI release, 25.10.1 included, is Python 2 code, and
this machine has no Python 2 and no Docker images), so this module runs the shape of its
permessage-deflate sections instead: section 12 (messages of 16 B to 128 KiB, text and binary,
echoed through a compressed session) and section 13 (the same under each combination of
client/server no_context_takeover and window bits the client may offer). The proxy relays to an
echo target, so every message goes client -> proxy (inflated) -> target -> proxy (compressed) ->
client, and wsproto checks the frames and inflates with its own zlib use."""

import os
import socket

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Message, Request
from wsproto.extensions import PerMessageDeflate

from proxyutil import Proxy, TcpTarget

SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072]
MESSAGES_PER_SIZE = 10

# Section 13's offers: (client_no_context_takeover, client_max_window_bits, server_no_context_takeover,
# server_max_window_bits); window bits 8 are not offered (zlib cannot compress with them: the proxy
# declines such an offer, see test_permessage_deflate.py).
OFFERS = [
    (False, None, False, None),
    (True, None, False, None),
    (False, None, True, None),
    (True, None, True, None),
    (False, 9, False, None),
    (False, 15, False, None),
    (False, None, False, 9),
    (False, None, False, 15),
    (True, 9, True, 9),
    (True, 15, True, 15),
]


@pytest.fixture(scope="module")
def proxy():
    target = TcpTarget()
    p = Proxy([f"127.0.0.1:{target.port}"])
    yield p
    p.stop()
    target.close()


class Client:
    def __init__(self, port, extension):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.sock.sendall(self.ws.send(Request(host="127.0.0.1", target="/", extensions=[extension],
                                               subprotocols=["binary"])))
        self.pending = []
        accepted = self._next(AcceptConnection)
        self.extensions = accepted.extensions

    def _events(self):
        while not self.pending:
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError("the proxy closed the connection")
            self.ws.receive_data(data)
            self.pending.extend(self.ws.events())
        return self.pending.pop(0)

    def _next(self, kind):
        event = self._events()
        assert isinstance(event, kind), event
        return event

    def send(self, payload, fragments=1):
        step = max(1, -(-len(payload) // fragments))
        pieces = [payload[i:i + step] for i in range(0, len(payload), step)] or [payload]
        for i, piece in enumerate(pieces):
            self.sock.sendall(self.ws.send(Message(data=piece, message_finished=i == len(pieces) - 1)))

    def receive(self, count):
        got = b""
        while len(got) < count:
            event = self._events()
            if isinstance(event, CloseConnection):
                raise AssertionError(f"closed by the proxy: {event.code} {event.reason}")
            assert isinstance(event, BytesMessage), event
            got += event.data
        return got

    def close(self):
        self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
        self.sock.close()


def payloads(size, binary):
    for i in range(MESSAGES_PER_SIZE):
        if binary:
            yield os.urandom(size) if i % 4 == 3 else bytes((j * 7 + i) % 11 for j in range(size))
        else:
            # Text frames (UTF-8, multi-byte characters included), about `size` bytes.
            yield ("Hello, \u00e9\u20ac \U0001F600 %d " % i * (size // 16 + 1))[:max(1, size // 2)]


@pytest.mark.parametrize("offer", OFFERS, ids=lambda o: "cnct={},cmwb={},snct={},smwb={}".format(*o))
def test_messages_of_every_size_through_a_compressed_session(proxy, offer):
    cnct, cmwb, snct, smwb = offer
    extension = PerMessageDeflate(client_no_context_takeover=cnct, client_max_window_bits=cmwb,
                                  server_no_context_takeover=snct, server_max_window_bits=smwb)
    client = Client(proxy.port, extension)
    assert [e.name for e in client.extensions] == ["permessage-deflate"], client.extensions
    try:
        for size in SIZES:
            for binary in (False, True):
                for n, payload in enumerate(payloads(size, binary)):
                    # Some messages fragmented (section 12/13 send whole messages; fragments are ours).
                    client.send(payload, fragments=3 if n % 5 == 4 else 1)
                    expected = payload if binary else payload.encode()
                    assert client.receive(len(expected)) == expected, (size, binary, n)
    finally:
        client.close()
