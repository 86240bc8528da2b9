"""contrib/haproxy/websockify.cfg and contrib/nginx/websockify.conf: valid for the real tools
(`haproxy -c`, `nginx -t`), and working when run in front of our websockify with its health path
(ports and paths substituted): HAProxy marks a server UP by the health path and DOWN when the path
is missing; nginx passes WebSocket upgrades and the health path through."""

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time

import pytest
import websockets

from proxyutil import REPO_ROOT, Proxy, TcpTarget, free_port, wait_until

HAPROXY_CFG = os.path.join(REPO_ROOT, "contrib", "haproxy", "websockify.cfg")
NGINX_CONF = os.path.join(REPO_ROOT, "contrib", "nginx", "websockify.conf")


def tool(name):
    found = shutil.which(name) or (f"/usr/sbin/{name}" if os.access(f"/usr/sbin/{name}", os.X_OK) else None)
    if not found:
        pytest.fail(f"{name} not found: install Debian's {name} package (scripts/install-deps)")
    return found


def haproxy_check(path):
    return subprocess.run([tool("haproxy"), "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)


def nginx_main(tmp_path, snippet_path, extra_main=""):
    """A main nginx.conf in tmp_path that includes the http-context snippet, as conf.d does."""
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log info;\n{extra_main}"
        f"events {{}}\nhttp {{\n    access_log {tmp_path}/access.log;\n    include {snippet_path};\n}}\n")
    return main


def nginx_test(tmp_path, snippet_path):
    main = nginx_main(tmp_path, snippet_path)
    return subprocess.run([tool("nginx"), "-t", "-c", str(main), "-p", str(tmp_path)],
                          capture_output=True, text=True, timeout=30)


def test_haproxy_config_is_valid():
    out = haproxy_check(HAPROXY_CFG)
    assert out.returncode == 0, out
    assert "Configuration file is valid" in out.stdout + out.stderr
    assert "WARNING" not in out.stdout + out.stderr, out


def test_haproxy_check_catches_a_broken_config(tmp_path):
    broken = tmp_path / "broken.cfg"
    broken.write_text(open(HAPROXY_CFG).read().replace("timeout tunnel 1h", "timeout tunnel forever"))
    out = haproxy_check(broken)
    assert out.returncode != 0 and "tunnel" in out.stdout + out.stderr, out


def test_nginx_config_is_valid(tmp_path):
    out = nginx_test(tmp_path, NGINX_CONF)
    assert out.returncode == 0, out
    assert "test is successful" in out.stderr
    assert "[warn]" not in out.stderr and "[emerg]" not in out.stderr, out


def test_nginx_check_catches_a_broken_config(tmp_path):
    broken = tmp_path / "broken.conf"
    broken.write_text(open(NGINX_CONF).read().replace("proxy_http_version 1.1;", "proxy_http_version 1.1"))
    out = nginx_test(tmp_path, broken)
    assert out.returncode != 0 and "[emerg]" in out.stderr, out


def test_the_snippets_use_the_health_path_and_websocket_settings():
    haproxy = open(HAPROXY_CFG).read()
    assert re.search(r"^\s*option httpchk GET /healthz\s*$", haproxy, re.M)
    assert re.search(r"^\s*http-check expect status 200\s*$", haproxy, re.M)
    assert re.search(r"^\s*timeout tunnel \S+", haproxy, re.M)
    # PROXY protocol v2 to websockify, the checks included, and a check interval that marks a
    # draining server DOWN (fall x inter) well inside websockify's default 2 s lame duck.
    default_server = re.search(r"^\s*default-server (.*)$", haproxy, re.M).group(1).split()
    assert {"send-proxy-v2", "check-send-proxy", "check"} <= set(default_server), default_server
    inter = default_server[default_server.index("inter") + 1]
    fall = int(default_server[default_server.index("fall") + 1])
    assert inter.endswith("ms") and int(inter[:-2]) * fall < 2000, (inter, fall)
    assert re.search(r"^\s*option redispatch\b", haproxy, re.M)
    nginx = open(NGINX_CONF).read()
    assert re.search(r"^\s*location = /healthz \{", nginx, re.M)
    for line in ("proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
                 "proxy_set_header Connection $connection_upgrade;", "proxy_read_timeout 1h;"):
        assert line in nginx


# --- the snippets at work, in front of our websockify -------------------------------------------

@pytest.fixture
def target():
    t = TcpTarget()
    yield t
    t.close()


def haproxy_server_rows(admin_socket):
    """{server name: its `show stat` row (a dict by column name)} of the websockify backend, from
    HAProxy's admin socket."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(admin_socket))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == "websockify" and row.get("svname") not in ("BACKEND", None):
            rows[row["svname"]] = row
    return rows


def haproxy_server_state(admin_socket):
    """{server name: (operational state, last check text)} from HAProxy's admin socket."""
    states = {}
    for name, row in haproxy_server_rows(admin_socket).items():
        states[name] = (row["status"], row["check_status"], row["check_code"])
    return states


def run_haproxy(start_process, tmp_path, servers, port):
    """The contrib config with its frontend on `port`, the given servers, checks every 200 ms and an
    admin socket; returns (process, admin socket path)."""
    admin = tmp_path / "haproxy.sock"
    text = open(HAPROXY_CFG).read()
    text = text.replace("bind :6080", f"bind 127.0.0.1:{port}")
    text = text.replace("inter 500ms", "inter 200ms")
    text = text.replace("global\n", f"global\n    stats socket {admin} mode 600 level admin\n", 1)
    text = re.sub(r"^    server ws\d .*\n", "", text, flags=re.M)
    text += "".join(f"    server {name} 127.0.0.1:{p}\n" for name, p in servers)
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    assert haproxy_check(cfg).returncode == 0
    proc = start_process([tool("haproxy"), "-f", cfg, "-db"], name="haproxy")
    wait_until(lambda: admin.exists(), what="haproxy's admin socket")
    return proc, admin


def echo_through(port, payload=b"through the balancer"):
    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{port}/", subprotocols=["binary"]) as ws:
            await ws.send(payload)
            return await asyncio.wait_for(ws.recv(), 5)
    return asyncio.run(go())


def test_haproxy_marks_servers_by_the_health_path(start_process, tmp_path, target):
    # The contrib config sends a PROXY v2 header on sessions and checks alike (--proxy-protocol).
    healthy = Proxy([f"127.0.0.1:{target.port}"], extra=["--proxy-protocol", "--health-path=/healthz"])
    without = Proxy([f"127.0.0.1:{target.port}"], extra=["--proxy-protocol"])  # no health path: /healthz is 404
    try:
        port = free_port()
        _, admin = run_haproxy(start_process, tmp_path, [("ws1", healthy.port), ("ws2", without.port)], port)

        def settled():
            states = haproxy_server_state(admin)
            return states.get("ws1", ("",))[0] == "UP" and states.get("ws2", ("",))[0] == "DOWN"

        wait_until(settled, timeout=15, what="ws1 UP and ws2 DOWN")
        states = haproxy_server_state(admin)
        assert states["ws1"][1:] == ("L7OK", "200"), states
        assert states["ws2"][1:] == ("L7STS", "404"), states
        # Sessions go to the healthy server only, upgraded through HAProxy.
        for _ in range(3):
            assert echo_through(port) == b"through the balancer"
        # Shutting down takes ws1 out of rotation.
        healthy.proc.send_signal(15)
        wait_until(lambda: haproxy_server_state(admin)["ws1"][0] == "DOWN", timeout=15, what="ws1 DOWN")
    finally:
        healthy.stop()
        without.stop()


def test_nginx_passes_upgrades_and_the_health_path(start_process, tmp_path, target):
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=["--health-path=/healthz"])
    try:
        port = free_port()
        text = open(NGINX_CONF).read()
        text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
        text = text.replace("server 127.0.0.1:6080;", f"server 127.0.0.1:{proxy.port};")
        snippet = tmp_path / "websockify.conf"
        snippet.write_text(text)
        main = nginx_main(tmp_path, snippet, extra_main="daemon off;\nmaster_process off;\n")
        start_process([tool("nginx"), "-c", main, "-p", tmp_path], name="nginx")

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_until(up, what="nginx to listen")
        out = subprocess.run(["curl", "-sS", "-D", "-", f"http://127.0.0.1:{port}/healthz?from=lb"],
                             capture_output=True, timeout=10)
        assert out.stdout.startswith(b"HTTP/1.1 200"), out
        assert out.stdout.endswith(b"\r\n\r\nok\n"), out
        assert echo_through(port, b"through nginx") == b"through nginx"
        # The health path is not in nginx's access log (balancers ask every few seconds); sessions are.
        time.sleep(0.2)
        log = (tmp_path / "access.log").read_text()
        assert "/healthz" not in log and "GET / HTTP/1.1\" 101" in log, log
    finally:
        proxy.stop()
