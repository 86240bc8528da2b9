"""--health-path: curl against a running websockify. 200 (GET and HEAD) while it accepts, other paths
as before, over https too, no credentials needed with an auth plugin, and 503 once it drains (SIGTERM).

The 503 window here is without a lame duck (--lame-duck=0): on SIGTERM websockify stops accepting at
once, so a new connection after SIGTERM is refused; the 503 is seen by a connection opened before,
while shutdown waits for a session that does not answer its close frame. The lame duck itself (503
while still accepting) is tested in test_cluster.py and ProxyServerShutdownTests."""

import re
import socket
import subprocess

import pytest

from proxyutil import Proxy, RawClient, TcpTarget, wait_until
from tlsutil import make_certs


@pytest.fixture
def target():
    t = TcpTarget()
    yield t
    t.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


def curl(url, *args):
    """(status, headers text lowercased, body) of curl's answer; status 0 when it got none."""
    dump = [] if "--head" in args else ["-D", "-"]  # --head prints the headers itself
    out = subprocess.run(["curl", "-sS", *dump, "--max-time", "5", *args, url], capture_output=True, timeout=15)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if out.returncode == 0 and lines[0].startswith("HTTP/") else 0
    return status, "\r\n".join(lines[1:]).lower(), body


def test_get_and_head_answer_200_and_other_paths_are_unchanged(target):
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--health-path=/healthz"])
    try:
        base = f"http://127.0.0.1:{p.port}"
        status, headers, body = curl(f"{base}/healthz")
        assert (status, body) == (200, b"ok\n")
        assert "cache-control: no-store" in headers
        status, headers, body = curl(f"{base}/healthz?probe=haproxy&x=1")
        assert (status, body) == (200, b"ok\n")
        status, headers, body = curl(f"{base}/healthz", "--head")
        assert status == 200 and body == b"" and "content-length: 3" in headers
        # Other paths (and other spellings of it) get websockify's usual answer, as does the health
        # path of a websockify without --health-path.
        plain = Proxy([f"127.0.0.1:{target.port}"])
        try:
            assert curl(f"http://127.0.0.1:{plain.port}/healthz")[0] == 404
        finally:
            plain.stop()
        for path in ("/", "/healthz/", "/healthz2", "/other"):
            assert curl(f"{base}{path}")[0] == 404, path
        assert curl(f"{base}/healthz", "-X", "DELETE")[0] == 405
        # WebSocket sessions on any path are untouched, this one included.
        c = RawClient(p.port, path="/healthz")
        c.send_frame(0x2, b"hello")
        assert c.read_frame()[2] == b"hello"
        c.close()
        # A balancer asks every second or so: nothing about it at info level.
        for line in p.log_text().splitlines():
            assert not re.search(r"(GET|HEAD) /healthz(\?\S*)?[: ]", line), line
    finally:
        p.stop()


def web_root(tmp_path, files):
    """A --web directory holding `files` (name -> text)."""
    web = tmp_path / "web"
    web.mkdir()
    for name, text in files.items():
        (web / name).write_text(text)
    return web


def test_with_web_the_health_path_wins_over_a_file_of_that_name(target, tmp_path):
    web = web_root(tmp_path, {"healthz": "a file\n", "page.html": "<p>page</p>\n"})
    p = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--web={web}", "--health-path=/healthz"])
    try:
        base = f"http://127.0.0.1:{p.port}"
        assert curl(f"{base}/healthz")[::2] == (200, b"ok\n")
        assert curl(f"{base}/page.html")[::2] == (200, b"<p>page</p>\n")
        # Several checks on one kept-alive connection (curl reuses it for URLs given together).
        out = subprocess.run(["curl", "-sS", "-v", f"{base}/healthz", f"{base}/healthz", f"{base}/page.html"],
                             capture_output=True, text=True, timeout=15)
        assert out.stdout == "ok\nok\n<p>page</p>\n", out
        assert "Re-using existing connection" in out.stderr or "Reusing existing connection" in out.stderr, out.stderr
    finally:
        p.stop()


def test_over_https_with_cert(target, certs):
    p = Proxy([f"127.0.0.1:{target.port}"],
              extra=["--cert", certs.server_cert, "--key", certs.server_key, "--ssl-only", "--health-path=/healthz"])
    try:
        status, _, body = curl(f"https://localhost:{p.port}/healthz", "--cacert", certs.ca,
                               "--resolve", f"localhost:{p.port}:127.0.0.1")
        assert (status, body) == (200, b"ok\n")
        # --ssl-only still refuses plain connections, the health path included.
        assert curl(f"http://127.0.0.1:{p.port}/healthz")[0] == 403
    finally:
        p.stop()


def test_no_credentials_needed_with_an_auth_plugin(target, tmp_path):
    web = web_root(tmp_path, {"page.html": "page\n"})
    p = Proxy([f"127.0.0.1:{target.port}"],
              extra=["--auth-plugin=BasicHTTPAuth", "--auth-source=user:secret", f"--web={web}", "--web-auth",
                     "--health-path=/healthz"])
    try:
        base = f"http://127.0.0.1:{p.port}"
        assert curl(f"{base}/healthz")[::2] == (200, b"ok\n")
        assert curl(f"{base}/healthz", "--head")[0] == 200
        # Everything else still needs them.
        assert curl(f"{base}/page.html")[0] == 401
        assert curl(f"{base}/page.html", "-u", "user:secret")[::2] == (200, b"page\n")
        with pytest.raises(AssertionError, match="401"):
            RawClient(p.port, path="/healthz")
    finally:
        p.stop()


def ask(sock, request):
    """Sends `request` on an open connection; returns the status, head (lowercased) and body of the
    answer, read by its Content-Length, so the connection can carry another request."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    head = head.decode("latin-1").lower()
    length = int(re.search(r"^content-length: *(\d+)", head, re.M).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return int(head.split(" ")[1]), head, body


def test_503_while_draining(target):
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--health-path=/healthz", "--lame-duck=0"])
    try:
        assert curl(f"http://127.0.0.1:{p.port}/healthz")[0] == 200
        # A session whose client never answers the close frame: shutdown waits for it (up to the
        # close-handshake timeout, 2 s), so the process stays up while draining.
        session = RawClient(p.port)
        session.send_frame(0x2, b"x")
        assert session.read_frame()[2] == b"x"
        # A balancer's kept-alive connection: checked once while accepting, again after SIGTERM.
        checker = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        check = b"GET /healthz HTTP/1.1\r\nHost: lb\r\n\r\n"
        status, head, body = ask(checker, check)
        assert (status, body) == (200, b"ok\n") and "connection: close" not in head
        p.proc.send_signal(15)
        wait_until(lambda: "stopping" in p.log_text(), what="shutdown to begin")
        status, head, body = ask(checker, check)
        assert status == 503 and b"draining" in body, (status, body)
        assert "connection: close" in head
        assert checker.recv(1) == b"", "a draining answer closes the connection"
        assert p.proc.poll() is None, "still draining when the 503 was given"
        # The listener is already closed: a new connection gets no answer at all.
        assert curl(f"http://127.0.0.1:{p.port}/healthz")[0] == 0
        p.proc.wait(timeout=10)
        assert p.proc.returncode == 0
        checker.close()
        session.sock.close()
    finally:
        p.stop()
