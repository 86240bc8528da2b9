"""Handshake: status codes for bad upgrades, subprotocol choice, limits and timeouts."""

import socket
import time

from proxyutil import RawClient, http_request, proxy, target, upgrade_request  # noqa: F401


def test_missing_key_is_400(proxy):
    status, _, _ = http_request(proxy.port, upgrade_request(key=None))
    assert status == 400


def test_invalid_key_is_400(proxy):
    status, _, _ = http_request(proxy.port, upgrade_request(key="not-base64-of-16-bytes"))
    assert status == 400


def test_missing_upgrade_headers_is_400(proxy):
    request = (b"GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
    status, _, _ = http_request(proxy.port, request)
    assert status == 400


def test_other_version_is_426_naming_13(proxy):
    status, headers, _ = http_request(proxy.port, upgrade_request(version="8"))
    assert status == 426
    assert headers["sec-websocket-version"] == ["13"]


def test_post_upgrade_is_405(proxy):
    status, _, _ = http_request(proxy.port, upgrade_request(method="POST"))
    assert status == 405


def test_plain_get_is_404(proxy):
    status, _, body = http_request(proxy.port, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 404
    assert b"WebSocket" in body


def test_header_block_over_16k_is_431(proxy):
    filler = "".join(f"X-Filler-{i}: {'a' * 1000}\r\n" for i in range(17))
    status, _, _ = http_request(proxy.port, upgrade_request(extra=filler))
    assert status == 431


def test_header_block_under_16k_is_accepted(proxy):
    filler = "".join(f"X-Filler-{i}: {'a' * 1000}\r\n" for i in range(12))
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
        s.sendall(upgrade_request(extra=filler))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            assert chunk, head
            head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head


def test_unknown_subprotocols_get_400_naming_supported(proxy):
    status, _, body = http_request(proxy.port, upgrade_request(protocols=["chat", "mqtt"]))
    assert status == 400
    assert b"binary" in body and b"base64" in body


def test_both_subprotocols_choose_binary(proxy):
    client = RawClient(proxy.port, protocols=["base64", "binary"])
    assert "Sec-WebSocket-Protocol: binary" in client.response_head
    client.close()


def test_base64_only_chooses_base64(proxy):
    client = RawClient(proxy.port, protocols=["base64"])
    assert "Sec-WebSocket-Protocol: base64" in client.response_head
    client.close()


def test_no_subprotocol_gets_no_protocol_header(proxy):
    client = RawClient(proxy.port)
    assert "sec-websocket-protocol" not in client.response_head.lower()
    client.send_frame(2, b"abc")
    assert client.read_frame() == (True, 2, b"abc")
    client.close()


def test_silent_client_is_dropped_after_handshake_timeout(proxy):
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as s:
        s.sendall(b"GET / HTTP/1.1\r\n")  # never finishes the request
        assert s.recv(1) == b""
    elapsed = time.monotonic() - start
    assert 9.0 <= elapsed <= 13.0, elapsed


def test_refusal_does_not_wait_for_a_declared_body(proxy):
    start = time.monotonic()
    status, _, _ = http_request(proxy.port, upgrade_request(method="POST", extra="Content-Length: 1000\r\n"), timeout=5)
    assert status == 405
    assert time.monotonic() - start < 2
