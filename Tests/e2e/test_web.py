"""`--web=DIR`: the built websockify serving files on its WebSocket port, driven with curl and raw
sockets: content types, index files, listings and --file-only, 404/403/405, HEAD, a 200 MB file
streamed while the proxy's memory stays small, traversal attempts over the wire, keep-alive, a
WebSocket session on the same port, start-up errors; and wsreplay's --web."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from proxyutil import Proxy, RawClient, TcpTarget, free_port, http_request, websockify_bin, wait_until
from replayutil import wsreplay_bin
from vncdesk import REPO, stop_process, wait_for_port

SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT"

FILES = {
    "index.html": (b"<!DOCTYPE html><title>home</title>", "text/html; charset=utf-8"),
    "app.js": (b"console.log(1);", "text/javascript; charset=utf-8"),
    "core/rfb.mjs": (b"export default 1;", "text/javascript; charset=utf-8"),
    "style.css": (b"body{}", "text/css; charset=utf-8"),
    "icon.svg": (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    "img.png": (b"\x89PNG\r\n\x1a\nfake", "image/png"),
    "favicon.ico": (b"\0\0\1\0", "image/x-icon"),
    "data.json": (b"{}", "application/json"),
    "font.woff": (b"wOFF", "font/woff"),
    "font.woff2": (b"wOF2", "font/woff2"),
    "code.wasm": (b"\0asm\1\0\0\0", "application/wasm"),
    "README": (b"plain", "application/octet-stream"),
    "sub/notes.txt": (b"notes", "text/plain; charset=utf-8"),
    "sub/<b>&\"q\".txt": (b"odd name", "text/plain; charset=utf-8"),
    "withindex/index.html": (b"<p>inner index</p>", "text/html; charset=utf-8"),
}


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: run scripts/install-deps", pytrace=False)
    return found


@pytest.fixture
def site(tmp_path) -> Path:
    """<tmp>/www (the root) with FILES, plus links out of it to <tmp>/secret.txt and <tmp>/outside/."""
    root = tmp_path / "www"
    for name, (data, _) in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "www-secret").mkdir()
    (tmp_path / "www-secret" / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "index.html").write_bytes(SECRET)
    (root / "escape-file").symlink_to("../secret.txt")
    (root / "escape-dir").symlink_to("../outside")
    (root / "sibling").symlink_to("../www-secret")
    (root / "etc").symlink_to("/etc")
    (root / "inner-link.txt").symlink_to("sub/notes.txt")
    return root


@pytest.fixture
def echo():
    target = TcpTarget()
    yield target
    target.close()


@pytest.fixture
def web(site, echo):
    """websockify --web=<site> in front of an echo target."""
    proxy = Proxy([f"127.0.0.1:{echo.port}"], extra=[f"--web={site}", "-v"])
    yield proxy
    proxy.stop()


def curl(port: int, path: str, *args: str) -> tuple[int, dict[str, str], bytes]:
    """curl -s -i --path-as-is; returns (status, headers lowercased, body) of the last response."""
    run = subprocess.run([require_tool("curl"), "-s", "-i", "--path-as-is", "--max-time", "20", *args,
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, timeout=30)
    assert run.returncode == 0, f"curl {path} failed ({run.returncode}): {run.stderr!r}"
    head, _, body = run.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def read_response(sock: socket.socket, buf: bytes = b"", head_only: bool = False) -> tuple[int, dict, bytes, bytes]:
    """One response from a kept-alive socket: (status, headers, body, bytes left over)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a full response head: {buf!r}"
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = 0 if head_only else int(headers.get("content-length", "0"))
    while len(buf) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a body"
        buf += chunk
    return int(lines[0].split()[1]), headers, buf[:length], buf[length:]


# ----------------------------------------------------------------------------- files

def test_content_types_and_bodies(web, site):
    for name, (data, content_type) in FILES.items():
        status, headers, body = curl(web.port, "/" + "/".join(
            part.replace("<", "%3C").replace(">", "%3E").replace("&", "%26").replace('"', "%22")
            for part in name.split("/")))
        assert status == 200, f"{name}: {status}"
        assert headers["content-type"] == content_type, f"{name}: {headers}"
        assert headers["content-length"] == str(len(data))
        assert "last-modified" in headers
        assert body == data, name


def test_index_html_for_directories_and_redirect_to_slash(web):
    status, headers, body = curl(web.port, "/")
    assert (status, body) == (200, FILES["index.html"][0])
    assert headers["content-type"] == "text/html; charset=utf-8"
    status, _, body = curl(web.port, "/withindex/")
    assert (status, body) == (200, FILES["withindex/index.html"][0])
    status, headers, _ = curl(web.port, "/withindex?x=1")
    assert status == 301 and headers["location"] == "/withindex/?x=1"
    # Query strings are not part of the file name.
    status, _, body = curl(web.port, "/app.js?v=123#frag")
    assert (status, body) == (200, FILES["app.js"][0])
    # A link inside the root is followed.
    status, _, body = curl(web.port, "/inner-link.txt")
    assert (status, body) == (200, b"notes")


def test_directory_listing_escapes_names(web):
    status, headers, body = curl(web.port, "/sub/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    page = body.decode()
    assert '<a href="notes.txt">notes.txt</a>' in page
    assert '<a href="%3Cb%3E%26%22q%22.txt">&lt;b&gt;&amp;&quot;q&quot;.txt</a>' in page
    assert "<b>" not in page
    # The listing's link works.
    status, _, body = curl(web.port, "/sub/%3Cb%3E%26%22q%22.txt")
    assert (status, body) == (200, b"odd name")


def test_file_only_refuses_listings_but_serves_files(site, echo):
    proxy = Proxy([f"127.0.0.1:{echo.port}"], extra=[f"--web={site}", "--file-only"])
    try:
        assert curl(proxy.port, "/sub/")[0] == 404
        assert curl(proxy.port, "/sub/notes.txt")[:3:2] == (200, b"notes")
        assert curl(proxy.port, "/withindex/")[:3:2] == (200, FILES["withindex/index.html"][0])
    finally:
        proxy.stop()


def test_404_403_405(web):
    assert curl(web.port, "/nope.html")[0] == 404
    assert curl(web.port, "/sub/notes.txt/")[0] == 404
    assert curl(web.port, "/escape-file")[0] == 403
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        status, headers, _ = curl(web.port, "/index.html", "-X", method)
        assert status == 405, method
        assert headers["allow"] == "GET, HEAD", method


def test_head_sends_headers_only(web):
    status, headers, body = http_request(
        web.port, b"HEAD /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200
    assert headers["content-length"] == [str(len(FILES["style.css"][0]))]
    assert headers["content-type"] == ["text/css; charset=utf-8"]
    assert body == b""


def test_if_modified_since_gives_304(web):
    _, headers, _ = curl(web.port, "/app.js")
    status, _, body = curl(web.port, "/app.js", "-H", f"If-Modified-Since: {headers['last-modified']}")
    assert (status, body) == (304, b"")


# ----------------------------------------------------------------------------- big file, memory

def test_200mb_file_is_streamed_with_small_rss(site, echo, tmp_path):
    size = 200 << 20
    big = site / "big.bin"
    with open(big, "wb") as f:  # sparse, with data at a few places so the checksum means something
        for offset in (0, 1 << 20, 100 << 20, size - 4096):
            f.seek(offset)
            f.write(os.urandom(4096))
        f.truncate(size)
    want = hashlib.sha256()
    with open(big, "rb") as f:
        while chunk := f.read(1 << 20):
            want.update(chunk)

    proxy = Proxy([f"127.0.0.1:{echo.port}"], extra=[f"--web={site}"])
    try:
        baseline = proxy.rss_kib()
        peak = [baseline]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], proxy.rss_kib())
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        got = hashlib.sha256()
        received = 0
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as s:
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            # A slow start: the proxy must wait for us, not read the file ahead into memory.
            status, headers, _, rest = read_response(s, head_only=True)
            assert status == 200 and headers["content-length"] == str(size)
            time.sleep(1.5)
            slow_peak = peak[0]
            got.update(rest)
            received += len(rest)
            while chunk := s.recv(1 << 20):
                got.update(chunk)
                received += len(chunk)
        elapsed = time.monotonic() - started - 1.5
        stop.set()
        sampler.join()
        print(f"\n200 MB: RSS baseline {baseline} KiB, peak {peak[0]} KiB (while the client paused: "
              f"{slow_peak} KiB), {size / (1 << 20) / elapsed:.0f} MB/s")
        assert received == size
        assert got.hexdigest() == want.hexdigest()
        assert slow_peak - baseline < 16 << 10, f"RSS grew {slow_peak - baseline} KiB while the client paused"
        assert peak[0] - baseline < 32 << 10, f"RSS grew {peak[0] - baseline} KiB while streaming 200 MB"
        # And with curl, for good measure.
        run = subprocess.run([require_tool("curl"), "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                              f"http://127.0.0.1:{proxy.port}/big.bin"], capture_output=True, text=True, timeout=120)
        assert run.stdout == f"200 {size}", run.stdout
        assert proxy.rss_kib() - baseline < 32 << 10
    finally:
        proxy.stop()


# ----------------------------------------------------------------------------- traversal

# Sent with curl --path-as-is: each must be refused (400/403/404) and never show SECRET.
CURL_TRAVERSALS = [
    "/../secret.txt", "/../../../../etc/passwd", "/sub/../../secret.txt", "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt", "/.%2e/secret.txt", "/%2e./secret.txt", "/..%2fsecret.txt", "/..%2Fsecret.txt",
    "/sub%2f..%2f..%2fsecret.txt", "/..%5csecret.txt", "/sub/..%5c..%5csecret.txt", "/secret.txt%00",
    "/index.html%00.png", "/%c0%ae%c0%ae/secret.txt", "/%252e%252e/secret.txt", "/escape-file",
    "/escape-dir/", "/escape-dir/index.html", "/sibling/secret.txt", "/etc/passwd", "//etc/passwd",
    "/sub/./../../secret.txt", "/~/../secret.txt", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
]

# Sent as raw bytes: things curl would clean up or refuse to send.
RAW_TRAVERSALS = [
    b"GET /..\\secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /sub\\..\\..\\secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://127.0.0.1/../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://evil.example/%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET ../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET C:\\secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /..\0/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET " + str(Path("/tmp")).encode() + b"/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
]


def test_traversal_attempts_over_the_wire_are_refused(web, tmp_path):
    results = []
    for path in CURL_TRAVERSALS:
        status, _, body = curl(web.port, path)
        results.append((path, status))
        assert SECRET not in body, f"{path} leaked the secret"
        assert b"root:" not in body, f"{path} leaked /etc/passwd"
        assert status in (400, 403, 404), f"{path}: {status}"
    for raw in RAW_TRAVERSALS + [f"GET {tmp_path}/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n".encode()]:
        raw = raw.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        with socket.create_connection(("127.0.0.1", web.port), timeout=5) as s:
            s.sendall(raw)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        assert SECRET not in data and b"root:" not in data, f"{raw!r} leaked: {data[:200]!r}"
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
        results.append((raw, status))
        assert status in (400, 403, 404), f"{raw!r}: {data[:200]!r}"
    assert len(results) >= 20
    assert sum(1 for _, status in results if status == 403) >= 10, results
    # Still serving.
    assert curl(web.port, "/app.js")[0] == 200


# ----------------------------------------------------------------------------- connections

def test_keep_alive_two_requests_on_one_connection(web):
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as s:
        s.sendall(b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body, rest = read_response(s)
        assert (status, body) == (200, FILES["app.js"][0]) and "connection" not in headers
        s.sendall(b"GET /data.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, body, rest = read_response(s, rest)
        assert (status, body, headers["connection"]) == (200, b"{}", "close")
        assert rest == b"" and s.recv(1) == b"", "the connection should close after Connection: close"
    # HTTP/1.0: answered, then closed.
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as s:
        s.sendall(b"GET /style.css HTTP/1.0\r\n\r\n")
        status, headers, body, rest = read_response(s)
        assert (status, body) == (200, b"body{}")
        assert rest == b"" and s.recv(1) == b""
    # curl reuses its connection for two URLs.
    run = subprocess.run([require_tool("curl"), "-s", "-o", "/dev/null", "-o", "/dev/null", "-w",
                          "%{http_code} %{num_connects}\n", f"http://127.0.0.1:{web.port}/app.js",
                          f"http://127.0.0.1:{web.port}/style.css"], capture_output=True, text=True, timeout=30)
    assert run.stdout.split("\n")[:2] == ["200 1", "200 0"], run.stdout


def test_websocket_session_on_the_same_port(web):
    assert curl(web.port, "/app.js")[0] == 200
    client = RawClient(web.port, protocols=["binary"])
    try:
        client.send_frame(2, b"through the web port")
        assert client.read_frame() == (True, 2, b"through the web port")
        client.send_frame(8, b"\x03\xe8")
        assert client.read_until_close() == (1000, "")
    finally:
        client.close()
    assert curl(web.port, "/style.css")[0] == 200


# ----------------------------------------------------------------------------- start-up

def test_bad_web_root_is_a_clear_startup_error(tmp_path, site):
    cases = [
        ([f"--web={tmp_path / 'missing'}"], "No such file or directory"),
        ([f"--web={site / 'app.js'}"], "not a directory"),
        (["--web-auth"], "needs --web"),
        ([f"--web={site}", "--web-auth"], "needs --auth-plugin"),
    ]
    for extra, expected in cases:
        run = subprocess.run([websockify_bin(), *extra, "127.0.0.1:0", "127.0.0.1:1"],
                             capture_output=True, text=True, timeout=20)
        assert run.returncode == 2, f"{extra}: exit {run.returncode}\n{run.stderr}"
        assert expected in run.stderr, f"{extra}: {run.stderr}"


# ----------------------------------------------------------------------------- wsreplay --web

def test_wsreplay_serves_files_too(site, start_process, tmp_path):
    port = free_port()
    fixture = REPO / "Fixtures" / "websockify-0.10-session.legacy"
    replay = start_process([wsreplay_bin(), fixture, "--port", port, "--web", site, "--file-only"], name="wsreplay")
    wait_for_port(port, replay)
    status, headers, body = curl(port, "/core/rfb.mjs")
    assert (status, headers["content-type"], body) == (200, "text/javascript; charset=utf-8", b"export default 1;")
    assert curl(port, "/sub/")[0] == 404
    assert curl(port, "/../secret.txt")[0] == 403
    stop_process(replay)
    bad = subprocess.run([wsreplay_bin(), str(fixture), "--port", "0", "--web", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=20)
    assert bad.returncode == 2 and "No such file or directory" in bad.stderr, bad.stderr


# ----------------------------------------------------------------------------- request framing

def test_requests_with_bodies_are_answered_at_once(web):
    """Only request heads are parsed: a body is refused right away, never waited for."""
    for request, status in [
        (b"POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 405),
        (b"GET /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
        (b"CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\nGET / HTTP/1.1\r\n\r\n", 405),
    ]:
        started = time.monotonic()
        got, _, _ = http_request(web.port, request, timeout=5)
        assert got == status, request
        assert time.monotonic() - started < 2, f"{request!r} took {time.monotonic() - started:.1f} s"


def test_empty_lines_before_the_request_line_are_skipped(web):
    started = time.monotonic()
    status, _, body = http_request(web.port, b"\r\n\r\nGET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200 and body == FILES["index.html"][0]
    assert time.monotonic() - started < 2


def test_other_upgrades_are_web_requests(web):
    """Only `Upgrade: websocket` is a WebSocket handshake (as in websockify); h2c is a plain GET."""
    status, _, body = http_request(web.port, b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                                             b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
                                             b"Connection: close\r\n\r\n")
    assert status == 200 and body == FILES["index.html"][0]


def test_bytes_sent_behind_a_request_are_not_buffered(web, site):
    """A client that keeps sending after its request head (here: without reading a big file) is held
    back by TCP, not buffered by the proxy."""
    with open(site / "big.bin", "wb") as f:
        f.truncate(64 << 20)
    before = web.rss_kib()
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as s:
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        s.setblocking(False)
        filler = b"x" * (1 << 20)
        sent = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and sent < (300 << 20):
            try:
                sent += s.send(filler)
            except BlockingIOError:
                time.sleep(0.01)
        grown = web.rss_kib() - before
    assert sent < (300 << 20), "the proxy kept reading: all 300 MB went in"
    assert grown < 32 * 1024, f"RSS grew by {grown} KiB"


def test_verbose_log_keeps_credentials_out(site, echo):
    proxy = Proxy([f"127.0.0.1:{echo.port}"], extra=["-v"])
    try:
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                       b"Authorization: Basic dXNlcjpzM2NyZXQtcGFzcw==\r\nCookie: token=desk-secret\r\n\r\n")
        assert client.recv(4096).startswith(b"HTTP/1.1 101")
        client.close()
        wait_until(lambda: "accepted" in proxy.log_text(), what="the handshake log line")
        log = proxy.log_text()
        assert "dXNlcjpzM2NyZXQtcGFzcw" not in log and "desk-secret" not in log
        assert "Authorization: (" in log and "not logged)" in log
    finally:
        proxy.stop()
