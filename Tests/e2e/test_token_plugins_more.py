"""The token plugins of issue 15 against real peers: TokenFileName with real files, BaseTokenAPI and
JSONTokenApi with a Python HTTP token API on loopback (normal, slow beyond the timeout, 500, malformed
JSON, unknown token, down), UnixDomainSocketDirectory with a directory of unix sockets each served by an
echo, and x11vnc listening on a unix socket (`-unixsock`) with a real RFB handshake through the proxy;
token files with bare IPv6 targets (`tok: ::1:PORT`); and the message for a Python plugin class."""

import json
import socket
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from websockets.sync.client import connect

from pluginutil import curl_upgrade, log_has, proxies, targets, websockets_banner  # noqa: F401 (fixtures)
from proxyutil import websockify_bin
from vncdesk import HEIGHT, WIDTH, VncDesk


def refused(proxy, token):
    """(status, body) of an upgrade request with `token` (percent-encoded in the query)."""
    status, _, body = curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token={urllib.parse.quote(token, safe='')}")
    return status, body


# --- TokenFileName ----------------------------------------------------------------------------

def test_token_file_name_reads_the_file_named_after_the_token(tmp_path, targets, proxies):
    a, b = targets
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    (tokens / "alpha").write_text(f"127.0.0.1:{a.port}")
    # 0.13 strips white space and newlines around the target.
    (tokens / "beta").write_text(f"  \n127.0.0.1:{b.port}\r\n\n")
    (tokens / "broken").write_text("no port here\n")
    (tokens / "subdir").mkdir()
    (tmp_path / "outside").write_text(f"127.0.0.1:{a.port}\n")
    proxy = proxies("--token-plugin=TokenFileName", f"--token-source={tokens}")
    assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"
    assert websockets_banner(proxy.url("/?token=beta")) == b"B\n"
    # A file written while running counts at once.
    (tokens / "gamma").write_text(f"127.0.0.1:{b.port}\n")
    assert websockets_banner(proxy.url("/?token=gamma")) == b"B\n"
    status, body = refused(proxy, "nosuch")
    assert status == 404 and body.strip() == "Unknown token."
    assert refused(proxy, "broken")[0] == 502
    log_has(proxy, "unusable file for token 'broken'")
    # No token reaches a file outside the directory, nor a directory.
    for token in ["../outside", "..", "subdir", "x/../alpha", "/etc/passwd"]:
        assert refused(proxy, token)[0] == 404, token
    log_has(proxy, "the token contains '/'")
    assert proxy.proc.poll() is None


# --- Token files with bare IPv6 targets --------------------------------------------------------

class BannerEcho:
    """A server on the bound socket `sock` that sends `name` to each client, then echoes."""

    def __init__(self, sock, name):
        self.sock = sock
        self.sock.listen(8)
        self.name = name
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn, self.name), daemon=True).start()

    def close(self):
        self.sock.close()


def bound(family, address):
    sock = socket.socket(family)
    sock.bind(address)
    return sock


def echo(conn, name):
    with conn:
        try:
            conn.sendall(name.encode() + b"\n")
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


def test_token_file_bare_ipv6_target_as_0_13_reads_it(tmp_path, proxies):
    v6 = BannerEcho(bound(socket.AF_INET6, ("::1", 0)), "V6")
    v6.port = v6.sock.getsockname()[1]
    try:
        tokens = tmp_path / "tokens"
        tokens.write_text(f"bare: ::1:{v6.port}\nbracketed: [::1]:{v6.port}\nnotv6: fe80::1\n")
        proxy = proxies("--token-plugin=TokenFile", f"--token-source={tokens}")
        assert websockets_banner(proxy.url("/?token=bare")) == b"V6\n"
        assert websockets_banner(proxy.url("/?token=bracketed")) == b"V6\n"
        log_has(proxy, f"token file {tokens}:3: bad target for token")
        log_has(proxy, f"loaded 2 token(s) from {tokens}")  # lines 1 and 2 were not skipped
    finally:
        v6.close()


# --- BaseTokenAPI / JSONTokenApi --------------------------------------------------------------

class TokenAPI:
    """A real HTTP token API on 127.0.0.1: GET /lookup/TOKEN answers from `answers` (status, body);
    unknown tokens get 404; the token 'slow' is answered after 8 s. Records every request path."""

    def __init__(self, answers):
        self.answers = answers
        self.paths = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                api.paths.append(self.path)
                token = urllib.parse.unquote(self.path.rsplit("/", 1)[-1])
                if token == "slow":
                    time.sleep(8)
                status, body = api.answers.get(token, (404, '{"error": "no such token"}'))
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return f"http://127.0.0.1:{self.port}/lookup/%s"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_api(targets):
    a, b = targets
    api = TokenAPI({
        "alpha": (200, json.dumps({"host": "127.0.0.1", "port": a.port})),
        "beta": (200, json.dumps({"host": "127.0.0.1", "port": str(b.port)})),
        "a b/c&d": (200, json.dumps({"host": "127.0.0.1", "port": b.port})),
        "nullhost": (200, json.dumps({"host": None, "port": 1})),
        "boom": (500, "internal error"),
        "garbage": (200, "<html>not json{"),
        "plain": (200, f"127.0.0.1:{a.port}\n"),
    })
    yield api
    api.stop()


def test_json_token_api_looks_tokens_up_over_http_and_keeps_them_10_s(token_api, proxies):
    proxy = proxies("--token-plugin=JSONTokenApi", f"--token-source={token_api.url()}")
    assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"
    assert websockets_banner(proxy.url("/?token=beta")) == b"B\n"
    # The token is percent-encoded into the URL: it cannot change the path or the query.
    assert websockets_banner(proxy.url("/?token=a+b%2Fc%26d")) == b"B\n"
    assert "/lookup/a%20b%2Fc%26d" in token_api.paths
    # Within the cache's 10 s the API is asked once per token.
    asked = len(token_api.paths)
    assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"
    assert len(token_api.paths) == asked
    # Unknown: the API's 404 and a null host are the usual 404.
    status, body = refused(proxy, "nosuch")
    assert status == 404 and body.strip() == "Unknown token."
    log_has(proxy, "unknown token 'nosuch' (JSONTokenApi")
    assert refused(proxy, "nullhost")[0] == 404
    # The API fails: 503 (try again); it answers something that is not a target: 502.
    status, body = refused(proxy, "boom")
    assert status == 503 and "try again later" in body
    log_has(proxy, "answered 500")
    assert refused(proxy, "garbage")[0] == 502
    log_has(proxy, "unusable answer for token 'garbage'")
    assert proxy.proc.poll() is None


def test_json_token_api_slow_or_down_is_a_503_and_the_proxy_goes_on(token_api, proxies, targets):
    proxy = proxies("--token-plugin=JSONTokenApi", f"--token-source={token_api.url()}")
    started = time.monotonic()
    status, body = refused(proxy, "slow")
    waited = time.monotonic() - started
    assert status == 503 and 4.5 <= waited < 8, (status, waited)
    log_has(proxy, "no answer within 5000 ms")
    # Other lookups are not held up by the slow one.
    assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"
    token_api.stop()
    status, _ = refused(proxy, "beta")
    assert status == 503
    log_has(proxy, f"token lookup failed: http://127.0.0.1:{token_api.port}/lookup/%s")
    # A target found before the API went down is still kept for its 10 s.
    assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"
    # SIGTERM: the HTTP client is shut down with the rest and websockify exits 0.
    proxy.proc.terminate()
    assert proxy.proc.wait(timeout=10) == 0, proxy.log_text()


def test_base_token_api_reads_host_port_text(token_api, proxies):
    proxy = proxies("--token-plugin=websockify.token_plugins.BaseTokenAPI", f"--token-source={token_api.url()}")
    assert websockets_banner(proxy.url("/?token=plain")) == b"A\n"
    assert refused(proxy, "nosuch")[0] == 404
    assert refused(proxy, "alpha")[0] == 502  # JSON is not host:port
    log_has(proxy, "BaseTokenAPI http://127.0.0.1:")


@pytest.mark.parametrize("plugin, source, message", [
    ("JSONTokenApi", "http://127.0.0.1:1/lookup", "no %s for the token"),
    ("BaseTokenAPI", "ftp://127.0.0.1/%s", "http:// or https://"),
    ("TokenFileName", "/etc/passwd", "needs a directory"),
    ("UnixDomainSocketDirectory", "/nonexistent/socks", "needs a directory"),
    ("mymod.MyPlugin", "x", "plugins are built in here"),
])
def test_new_plugin_usage_errors_exit_2(plugin, source, message):
    out = subprocess.run([websockify_bin(), f"--token-plugin={plugin}", f"--token-source={source}", "6080"],
                         capture_output=True, timeout=10, text=True)
    assert out.returncode == 2, out
    assert message in out.stderr, out.stderr
    if plugin == "mymod.MyPlugin":
        assert "JSONTokenApi" in out.stderr and "UnixDomainSocketDirectory" in out.stderr


# --- UnixDomainSocketDirectory -----------------------------------------------------------------

def test_unix_socket_directory_routes_tokens_to_sockets(tmp_path, proxies):
    socks = tmp_path / "socks"
    (socks / "group").mkdir(parents=True)
    servers = [BannerEcho(bound(socket.AF_UNIX, str(path)), name) for path, name in [
        (socks / "vm1", "VM1"), (socks / "group" / "vm2", "VM2"), (tmp_path / "outside", "OUT")]]
    # socat as a second, independent echo server.
    socat = subprocess.Popen(["socat", f"UNIX-LISTEN:{socks / 'vm3'},fork", "EXEC:cat"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        (socks / "file").write_text("not a socket")
        proxy = proxies("--token-plugin=UnixDomainSocketDirectory", f"--token-source={socks}")
        assert websockets_banner(proxy.url("/?token=vm1")) == b"VM1\n"
        assert websockets_banner(proxy.url("/?token=group%2Fvm2")) == b"VM2\n"
        for _ in range(50):
            if (socks / "vm3").exists():
                break
            time.sleep(0.05)
        with connect(proxy.url("/?token=vm3"), open_timeout=5, proxy=None, compression=None) as ws:
            ws.send(b"through socat")
            assert ws.recv(timeout=5) == b"through socat"
        for token in ["nosuch", "file", "group", "../outside", "group/../../outside", "/" + str(tmp_path / "outside")]:
            assert refused(proxy, token)[0] == 404, token
        log_has(proxy, "is not a socket")
        log_has(proxy, "the token has a '..' path component")
    finally:
        socat.terminate()
        socat.wait(timeout=5)
        for server in servers:
            server.close()


def read_exact(ws, buffer, n):
    """`n` bytes from the WebSocket `ws`, whatever the frames; `buffer` keeps what is left over."""
    while len(buffer) < n:
        buffer += ws.recv(timeout=10)
    out = bytes(buffer[:n])
    del buffer[:n]
    return out


def test_x11vnc_unix_socket_through_the_proxy_with_an_rfb_handshake(tmp_path, proxies):
    socks = tmp_path / "vnc"
    socks.mkdir()
    desk = VncDesk(tmp_path / "work", tmp_path / "logs")
    desk.logdir.mkdir(parents=True)
    try:
        desk._start_xvfb()
        # -rfbport 0: no TCP port at all; x11vnc answers only on the unix socket.
        desk._spawn("x11vnc", ["x11vnc", "-display", desk.display, "-unixsock", str(socks / "desk1"), "-rfbport", "0",
                               "-forever", "-shared", "-nopw"])
        deadline = time.monotonic() + 15
        while not (socks / "desk1").exists():
            assert time.monotonic() < deadline, f"x11vnc made no socket: {desk.logs()}"
            time.sleep(0.05)
        proxy = proxies("--token-plugin=UnixDomainSocketDirectory", f"--token-source={socks}")
        with connect(proxy.url("/websockify?token=desk1"), open_timeout=5, proxy=None, compression=None,
                     subprotocols=["binary"]) as ws:
            buffer = bytearray()
            assert read_exact(ws, buffer, 12) == b"RFB 003.008\n"
            ws.send(b"RFB 003.008\n")
            count = read_exact(ws, buffer, 1)[0]
            types = read_exact(ws, buffer, count)
            assert 1 in types, types  # None: x11vnc -nopw
            ws.send(b"\x01")
            assert read_exact(ws, buffer, 4) == b"\x00\x00\x00\x00"  # SecurityResult OK
            ws.send(b"\x01")  # ClientInit, shared
            init = read_exact(ws, buffer, 24)
            assert int.from_bytes(init[0:2], "big") == WIDTH and int.from_bytes(init[2:4], "big") == HEIGHT
            name = read_exact(ws, buffer, int.from_bytes(init[20:24], "big"))
            assert name, init
        log_has(proxy, "desk1")
    finally:
        desk.stop()
