"""Our websockify behind a real HAProxy (Debian's haproxy, `scripts/install-deps`): the client address
that logs, recordings and sessions see is the real client's, not the balancer's.

- TCP mode with `send-proxy-v2` (and `send-proxy`, version 1) -> ours with --proxy-protocol: the
  client's own address and source port, from a PROXY protocol header; also with wss:// passed through.
- HTTP mode with `option forwardfor` -> ours with --trust-proxy: the client from X-Forwarded-For; a
  spoofed header is ignored, whether the client sends it through the balancer (HAProxy appends the real
  one; ours takes the right-most untrusted entry) or straight to ours from a peer it does not trust.
- noVNC in Chromium -> HAProxy -> ours -> x11vnc, over ws:// and wss://.

The clients connect from 127.0.0.2 (Linux routes all of 127.0.0.0/8 to loopback) and HAProxy from
127.0.0.1, so the two are told apart by address as well as by port.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from proxyutil import RawClient, TcpTarget, upgrade_request, wait_until
from test_novnc import CONNECT_TIMEOUT, FILE_TIMEOUT, NOVNC_DIR, inspect_bin, poll
from tlsutil import make_certs
from vncdesk import stop_process, wait_for_port

CLIENT_HOST = "127.0.0.2"


def haproxy_bin() -> str:
    found = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(found).exists():
        pytest.fail("haproxy not found: run scripts/install-deps (Debian package haproxy)", pytrace=False)
    return found


@pytest.fixture
def echo_target():
    target = TcpTarget()
    yield target
    target.close()


def start_ours(start_process, proxy_bin, port, target_port, *options, tmp_path=None, record=False):
    """Our websockify on 127.0.0.1:`port` (verbose), optionally recording to <tmp>/rec.rec."""
    args = [proxy_bin, "-v", *options]
    if record:
        args.append(f"--record={tmp_path / 'rec'}")
    proc = start_process([*args, f"127.0.0.1:{port}", f"127.0.0.1:{target_port}"], name="websockify")
    wait_for_port(port, proc)
    return proc


def start_haproxy(start_process, tmp_path, free_port, backend_port, mode, server_options="", backend_lines=()):
    """HAProxy on a free loopback port, one backend server (ours); returns its port."""
    port = free_port()
    cfg = tmp_path / "haproxy.cfg"
    lines = [
        "global",
        "    maxconn 100",
        "defaults",
        f"    mode {mode}",
        "    timeout connect 5s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout tunnel 1h",
        "frontend fe",
        f"    bind 127.0.0.1:{port}",
        "    default_backend be",
        "backend be",
        *[f"    {line}" for line in backend_lines],
        f"    server s1 127.0.0.1:{backend_port} {server_options}",
    ]
    cfg.write_text("\n".join(lines) + "\n")
    check = subprocess.run([haproxy_bin(), "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"haproxy -c refused the test's config:\n{check.stdout}{check.stderr}"
    proc = start_process([haproxy_bin(), "-db", "-f", cfg], name="haproxy")
    wait_for_port(port, proc)
    return port


def client_socket(port, host=CLIENT_HOST):
    """A TCP connection to 127.0.0.1:`port` from `host`; returns it and its own "host:port"."""
    sock = socket.socket()
    sock.settimeout(10)
    sock.bind((host, 0))
    sock.connect(("127.0.0.1", port))
    return sock, "%s:%d" % sock.getsockname()


def echo_session(sock, tls=None, extra=""):
    """A WebSocket session on `sock`: upgrade (with `extra` header lines), one echoed frame, close."""
    client = RawClient(0, sock=sock, tls=tls, protocols=["binary"], extra=extra)
    client.send_frame(2, b"who am I")
    assert client.read_frame() == (True, 2, b"who am I")
    client.send_frame(8, b"\x03\xe8")
    client.read_until_close()
    client.close()


def opened(log_path, timeout=10.0):
    """(client, via) of the first "session N open" line of our log; via None when there is none."""
    pattern = re.compile(r"session \d+ open: client (\S+?)(?: \(via (\S+)\))? -> target")
    found = []

    def seen():
        found[:] = pattern.findall(Path(log_path).read_text(errors="replace"))
        return bool(found)

    wait_until(seen, timeout=timeout, what="a 'session open' line in our log")
    client, via = found[0]
    return client, via or None


def recorded_open(tmp_path, proxy_bin, proc):
    """The open record of the recording, after stopping our proxy so that it is flushed."""
    stop_process(proc)
    run = subprocess.run([str(inspect_bin(Path(proxy_bin))), "dump", "--json", str(tmp_path / "rec.rec")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    opens = [line for line in map(json.loads, run.stdout.splitlines()) if line["kind"] == "open"]
    assert len(opens) == 1, run.stdout
    return opens[0]


# ----------------------------------------------------------------------------- PROXY protocol

@pytest.mark.parametrize("send_proxy", ["send-proxy-v2", "send-proxy"])
def test_haproxy_proxy_protocol_names_the_client(send_proxy, start_process, proxy_bin, tmp_path, free_port,
                                                 echo_target):
    ours = free_port()
    proc = start_ours(start_process, proxy_bin, ours, echo_target.port, "--proxy-protocol", tmp_path=tmp_path,
                      record=True)
    front = start_haproxy(start_process, tmp_path, free_port, ours, "tcp", send_proxy)
    sock, me = client_socket(front)
    echo_session(sock)
    client, via = opened(proc.log_path)
    assert client == me, f"the session's client is {client}, the test's client is {me}"
    assert via and via.startswith("127.0.0.1:") and via != me, via
    record = recorded_open(tmp_path, proxy_bin, proc)
    assert (record["client"], record["via"]) == (me, via), record


def test_proxy_protocol_passes_wss_through(start_process, proxy_bin, tmp_path, free_port, echo_target):
    """HAProxy in TCP mode does not terminate TLS: the PROXY header comes first, then the TLS hello."""
    (tmp_path / "certs").mkdir()
    certs = make_certs(tmp_path / "certs")
    ours = free_port()
    proc = start_ours(start_process, proxy_bin, ours, echo_target.port, "--proxy-protocol", "--cert",
                      certs.server_cert, "--key", certs.server_key, "--ssl-only")
    front = start_haproxy(start_process, tmp_path, free_port, ours, "tcp", "send-proxy-v2")
    sock, me = client_socket(front)
    echo_session(sock, tls=certs.client_context())
    assert opened(proc.log_path)[0] == me


def test_connection_without_proxy_header_is_closed(start_process, proxy_bin, free_port, echo_target):
    ours = free_port()
    proc = start_ours(start_process, proxy_bin, ours, echo_target.port, "--proxy-protocol")
    sock, me = client_socket(ours)
    sock.sendall(upgrade_request())
    try:
        answer = sock.recv(4096)
    except ConnectionResetError:
        answer = b""
    assert answer == b"", f"a connection without a PROXY header got an answer: {answer!r}"
    sock.close()
    line = f"{me}: connection closed: --proxy-protocol expects a PROXY protocol header first"
    wait_until(lambda: line in Path(proc.log_path).read_text(), what="the refusal in our log")
    assert "session 1 open" not in Path(proc.log_path).read_text()


# ----------------------------------------------------------------------------- forwarded headers

def test_haproxy_forwardfor_names_the_client_and_a_spoof_is_ignored(start_process, proxy_bin, tmp_path,
                                                                     free_port, echo_target):
    ours = free_port()
    proc = start_ours(start_process, proxy_bin, ours, echo_target.port, "--trust-proxy", "127.0.0.1/32",
                      tmp_path=tmp_path, record=True)
    front = start_haproxy(start_process, tmp_path, free_port, ours, "http", backend_lines=["option forwardfor"])
    sock, me = client_socket(front)
    # The client claims another address; HAProxy adds its own X-Forwarded-For line after it.
    echo_session(sock, extra="X-Forwarded-For: 203.0.113.66\r\n")
    client, via = opened(proc.log_path)
    assert client == CLIENT_HOST, f"{client}: not the client HAProxy named ({me})"
    assert via and via.startswith("127.0.0.1:"), via
    record = recorded_open(tmp_path, proxy_bin, proc)
    assert (record["client"], record["via"]) == (CLIENT_HOST, via), record


def test_haproxy_forwarded_header_with_port(start_process, proxy_bin, tmp_path, free_port, echo_target):
    """RFC 7239 Forwarded, written by HAProxy with the client's port; X-Forwarded-For is not read then."""
    ours = free_port()
    proc = start_ours(start_process, proxy_bin, ours, echo_target.port, "--trust-proxy", "127.0.0.1",
                      "--forwarded-header", "forwarded")
    front = start_haproxy(start_process, tmp_path, free_port, ours, "http", backend_lines=[
        'http-request add-header Forwarded "for=\\"%[src]:%[src_port]\\""'])
    sock, me = client_socket(front)
    echo_session(sock, extra="X-Forwarded-For: 203.0.113.66\r\n")
    assert opened(proc.log_path)[0] == me


def test_forwarded_for_from_an_untrusted_peer_is_ignored(start_process, proxy_bin, tmp_path, free_port,
                                                         echo_target):
    # Trusting another network: neither a direct client's header nor HAProxy's is believed.
    ours = free_port()
    proc = start_ours(start_process, proxy_bin, ours, echo_target.port, "--trust-proxy", "10.0.0.0/8")
    sock, me = client_socket(ours)
    echo_session(sock, extra="X-Forwarded-For: 203.0.113.66\r\nForwarded: for=203.0.113.67\r\n")
    assert opened(proc.log_path) == (me, None)

    front = start_haproxy(start_process, tmp_path, free_port, ours, "http", backend_lines=["option forwardfor"])
    sock, _ = client_socket(front)
    echo_session(sock, extra="X-Forwarded-For: 203.0.113.66\r\n")
    pattern = re.compile(r"session 2 open: client (\S+) -> target")
    wait_until(lambda: pattern.search(Path(proc.log_path).read_text()), what="the second session")
    client = pattern.search(Path(proc.log_path).read_text()).group(1)
    assert client.startswith("127.0.0.1:"), f"{client}: HAProxy's own address was expected"


# ----------------------------------------------------------------------------- noVNC

@pytest.fixture
def chromium_extra_args() -> list[str]:
    # The test CA is not in Chromium's store (wss:// case); test_tls.py checks certificates.
    return ["--ignore-certificate-errors"]


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_novnc_through_haproxy(scheme, request, tmp_path, vncdesk, free_port, start_process, proxy_bin,
                               chromium_driver):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    tls = []
    if scheme == "wss":
        (tmp_path / "certs").mkdir()
        certs = make_certs(tmp_path / "certs")
        tls = ["--cert", certs.server_cert, "--key", certs.server_key]
    ours = free_port()
    proc = start_ours(start_process, proxy_bin, ours, vncdesk.vnc_port, "--proxy-protocol", *tls,
                      f"--web={NOVNC_DIR}")
    front = start_haproxy(start_process, tmp_path, free_port, ours, "tcp", "send-proxy-v2")
    http = "https" if scheme == "wss" else "http"
    encrypt = "&encrypt=1" if scheme == "wss" else ""
    driver = chromium_driver
    driver.get(f"{http}://127.0.0.1:{front}/vnc_lite.html?host=127.0.0.1&port={front}{encrypt}")
    poll(lambda: driver.find_element(By.ID, "status").text, lambda text: text.startswith("Connected"),
         CONNECT_TIMEOUT, "noVNC #status to read 'Connected to ...'")
    canvas = driver.find_element(By.CSS_SELECTOR, "#screen canvas")
    name = f"balanced-{scheme}"
    ActionChains(driver).move_to_element(canvas).click().perform()
    ActionChains(driver).send_keys(f"touch {name}" + Keys.ENTER).perform()
    poll((vncdesk.workdir / name).exists, bool, FILE_TIMEOUT, f"{name} to be created by the typed command")
    client, via = opened(proc.log_path)
    # Chromium's connection to HAProxy, not HAProxy's to us.
    assert client.startswith("127.0.0.1:") and via and via.startswith("127.0.0.1:") and client != via
