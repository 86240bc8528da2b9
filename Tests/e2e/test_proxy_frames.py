"""Frames: relaying with real clients, control frames, and every fail-the-connection case."""

import asyncio
import base64

import pytest
import websockets

from proxyutil import Proxy, RawClient, TcpTarget, discard, proxy, target, ws_expect, ws_recv_expect  # noqa: F401


def run(coro):
    return asyncio.run(coro)


def test_binary_echo_with_websockets(proxy):
    async def go():
        async with websockets.connect(proxy.url(), subprotocols=["binary"], max_size=None) as ws:
            assert ws.subprotocol == "binary"
            payloads = [b"x", bytes(range(256)) * 300, b"\x00" * 70000]
            for p in payloads:
                await ws.send(p)
                await ws_recv_expect(ws, p, f"the echo of {len(p)} bytes")
    run(go())


def test_base64_text_both_ways_with_websockets(proxy):
    async def go():
        async with websockets.connect(proxy.url(), subprotocols=["base64"]) as ws:
            assert ws.subprotocol == "base64"
            await ws.send(base64.b64encode(b"hello \xff\x00 world").decode())
            reply = await ws.recv()
            assert isinstance(reply, str)
            assert base64.b64decode(reply) == b"hello \xff\x00 world"
    run(go())


def test_fragmented_message_is_relayed_in_order(proxy):
    async def go():
        async with websockets.connect(proxy.url()) as ws:
            await ws.send([b"one-", b"two-", b"three"])  # one message in three frames
            await ws_recv_expect(ws, b"one-two-three", "the echo of the fragments")
    run(go())


def test_fragments_with_interleaved_ping_raw(proxy):
    c = RawClient(proxy.port)
    c.send_frame(2, b"ab", fin=False)
    c.send_frame(9, b"p1")
    c.send_frame(0, b"cd", fin=True)
    seen, pong = b"", None
    while len(seen) < 4 or pong is None:
        fin, op, payload = c.read_frame()
        if op == 10:
            pong = payload
        else:
            seen += payload
    assert seen == b"abcd" and pong == b"p1"
    c.close()


def test_ping_gets_pong_with_same_payload(proxy):
    c = RawClient(proxy.port)
    c.send_frame(9, b"are you there?")
    assert c.read_frame() == (True, 10, b"are you there?")
    c.close()


def test_ping_with_websockets_library(proxy):
    async def go():
        async with websockets.connect(proxy.url()) as ws:
            latency = await asyncio.wait_for(await ws.ping(b"abc"), 5)
            assert latency >= 0
    run(go())


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_close_handshake_echoes_code(proxy, target, code):
    c = RawClient(proxy.port)
    c.send_frame(8, code.to_bytes(2, "big") + b"done")
    assert c.read_until_close()[0] == code
    assert c.expect_eof() == b""
    c.close()


def test_close_with_websockets_is_clean(proxy):
    async def go():
        ws = await websockets.connect(proxy.url())
        await ws.close(code=1000, reason="bye")
        assert ws.close_code == 1000
    run(go())


FAIL_CASES = {
    "unmasked": (dict(opcode=2, payload=b"abc", mask=False), 1002),
    "rsv1": (dict(opcode=2, payload=b"abc", rsv=4), 1002),
    "rsv3": (dict(opcode=2, payload=b"abc", rsv=1), 1002),
    "reserved-data-opcode": (dict(opcode=3, payload=b"abc"), 1002),
    "reserved-control-opcode": (dict(opcode=0xB, payload=b"abc"), 1002),
    "long-ping": (dict(opcode=9, payload=b"x" * 126), 1002),
    "fragmented-ping": (dict(opcode=9, payload=b"x", fin=False), 1002),
    "continuation-without-start": (dict(opcode=0, payload=b"abc"), 1002),
    "close-code-1005": (dict(opcode=8, payload=(1005).to_bytes(2, "big")), 1002),
    "close-code-999": (dict(opcode=8, payload=(999).to_bytes(2, "big")), 1002),
    "close-code-2000": (dict(opcode=8, payload=(2000).to_bytes(2, "big")), 1002),
    "close-one-byte": (dict(opcode=8, payload=b"\x03"), 1002),
    "top-bit-length": (dict(opcode=2, declared_length=1 << 63), 1002),
    "over-max-declared": (dict(opcode=2, declared_length=(64 << 20) + 1), 1009),
    "one-tib-declared": (dict(opcode=2, declared_length=1 << 40), 1009),
}


@pytest.mark.parametrize("case", sorted(FAIL_CASES))
def test_protocol_violations_get_close_code_then_eof(proxy, target, case):
    kwargs, expected = FAIL_CASES[case]
    c = RawClient(proxy.port)
    c.send_frame(**kwargs)
    code, _ = c.read_until_close()
    assert code == expected
    assert c.expect_eof() == b""
    c.close()


def test_new_message_inside_fragmented_one_is_1002(proxy):
    c = RawClient(proxy.port)
    c.send_frame(2, b"a", fin=False)
    c.send_frame(2, b"b")
    assert c.read_until_close()[0] == 1002
    c.close()


def test_invalid_utf8_text_in_base64_mode_is_1007(proxy):
    c = RawClient(proxy.port, protocols=["base64"])
    c.send_frame(1, b"QUJD\xff")
    assert c.read_until_close()[0] == 1007
    c.close()


@pytest.mark.parametrize("protocols", [None, ["base64"]], ids=["binary", "base64"])
def test_invalid_utf8_fails_fast_at_the_fragment_holding_it(proxy, protocols):
    """RFC 6455 §8.1: 1007 as soon as the bad byte arrives, not at the end of the message. The
    message is never finished here: a proxy waiting for its last frame would time out the read."""
    c = RawClient(proxy.port, protocols=protocols, timeout=5)
    c.send_frame(1, b"QUJD", fin=False)
    c.send_frame(0, b"QUJD\xed\xa0\x80", fin=False)  # a surrogate (U+D800): never valid
    code, reason = c.read_until_close()
    assert code == 1007, reason
    assert c.expect_eof() == b""
    c.close()


def test_invalid_utf8_fails_fast_inside_a_frame_not_yet_complete(proxy):
    """The check runs as a frame's bytes arrive: a 1 MiB text frame whose first bytes are bad is
    refused before the rest of it is sent."""
    c = RawClient(proxy.port, timeout=5)
    head = "caf\u00e9 ".encode() + b"\xc0\xaf"  # an overlong "/"
    c.send_frame(1, head, declared_length=1 << 20)  # the header says 1 MiB; only `head` follows
    code, reason = c.read_until_close()
    assert code == 1007, reason
    c.close()


def test_text_split_inside_characters_reaches_the_target_intact(proxy, target):
    text = "\u00e9\u20ac\U0001F600 ok".encode()
    c = RawClient(proxy.port)
    # Every boundary of the first 9 bytes falls inside a 2-, 3- or 4-byte character.
    pieces = [text[:1], text[1:3], text[3:4], text[4:6], text[6:7], text[7:]]
    for i, piece in enumerate(pieces):
        c.send_frame(1 if i == 0 else 0, piece, fin=i == len(pieces) - 1)
    ws_expect(c, text, "the text's bytes echoed")
    c.close()


def test_text_message_ending_inside_a_character_is_1007(proxy):
    c = RawClient(proxy.port)
    c.send_frame(1, b"ok", fin=False)
    c.send_frame(0, b"\xf0\x9f\x98", fin=True)  # 3 of the 4 bytes of U+1F600
    assert c.read_until_close()[0] == 1007
    c.close()


def test_one_tib_declared_length_does_not_allocate(proxy):
    before = proxy.rss_kib()
    c = RawClient(proxy.port)
    c.send_frame(2, declared_length=1 << 40)
    c.sock.sendall(b"\x00" * 65536)  # some payload: it must be discarded, not buffered
    assert c.read_until_close()[0] == 1009
    c.close()
    assert proxy.rss_kib() - before < 32 * 1024


def test_message_just_over_max_by_fragments_is_1009():
    sink = TcpTarget(discard)
    proxy = Proxy([f"127.0.0.1:{sink.port}"])
    try:
        over_max_by_fragments(proxy)
    finally:
        proxy.stop()
        sink.close()


def over_max_by_fragments(proxy):
    c = RawClient(proxy.port, timeout=30)
    chunk = b"\x00" * (16 << 20)
    for _ in range(4):  # 64 MiB exactly: allowed so far
        c.send_frame(0 if _ else 2, chunk, fin=False, key=b"\0\0\0\0")
    c.send_frame(0, b"\x00", fin=True)  # one byte more
    code, _ = c.read_until_close()
    assert code == 1009
    c.close()


def test_close_code_survives_unread_bytes_behind_a_bad_frame(proxy):
    """The proxy fails at the header but the client keeps sending: the close frame must still arrive
    (closing with unread input would reset the connection and could destroy it)."""
    import threading
    c = RawClient(proxy.port)
    junk = b"\x00" * (2 << 20)

    def send():
        try:
            c.send_frame(2, junk, mask=False)
        except OSError:
            pass
    th = threading.Thread(target=send, daemon=True)
    th.start()
    code, _ = c.read_until_close()
    assert code == 1002
    th.join(10)
    c.close()
