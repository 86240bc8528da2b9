"""TLS on the WebSocket port: wss:// and ws:// on one port, --ssl-only, client certificates,
minimum versions and ciphers, --ssl-target, bad certificate files and bad hellos.

Clients: `openssl s_client`, `websocat` (wss://), Python's ssl module with hand-built frames."""

import os
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from proxyutil import (Proxy, RawClient, TcpTarget, free_port, http_request, target, wait_until,  # noqa: F401
                       websocat_bin, websockify_bin)
from tlsutil import make_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.fail("the openssl command is missing: run scripts/install-deps")
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def tls_proxy(request, target, certs):
    extra = getattr(request, "param", [])
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--cert", certs.server_cert, "--key", certs.server_key, *extra])
    yield p
    p.stop()


def s_client(port, *args, data=b""):
    """Runs `openssl s_client` against the proxy; returns (exit code, stdout+stderr)."""
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", *args],
        input=data, capture_output=True, timeout=20)
    return out.returncode, (out.stdout + out.stderr).decode(errors="replace")


def echo_roundtrip(client, payload=b"hello over tls"):
    client.send_frame(2, payload)
    fin, opcode, data = client.read_frame()
    assert (opcode, data) == (2, payload)


# --- one port, both kinds --------------------------------------------------------------------------

def test_openssl_s_client_completes_a_verified_handshake(tls_proxy, certs):
    code, text = s_client(tls_proxy.port, "-CAfile", certs.ca, "-verify_return_error", "-brief")
    assert code == 0, text
    assert "Verification: OK" in text
    assert "CN = localhost" in text or "CN=localhost" in text


def test_wss_and_ws_share_the_port(tls_proxy, certs):
    secure = RawClient(tls_proxy.port, tls=certs.client_context())
    plain = RawClient(tls_proxy.port)
    try:
        echo_roundtrip(secure, b"secure")
        echo_roundtrip(plain, b"plain")
    finally:
        secure.close()
        plain.close()


def test_websocat_over_wss(tls_proxy, certs):
    out = subprocess.run([websocat_bin(), "--binary", "-1", f"wss://localhost:{tls_proxy.port}/"],
                         input=b"through websocat\n", capture_output=True, timeout=20,
                         env={**os.environ, "SSL_CERT_FILE": certs.ca})
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"through websocat\n"


def test_session_record_says_tls(target, certs, tmp_path):
    record = tmp_path / "tls"
    p = Proxy([f"127.0.0.1:{target.port}"], extra=["--cert", certs.server_combined, f"--record={record}"])
    try:
        for tls in (certs.client_context(), None):
            c = RawClient(p.port, tls=tls)
            echo_roundtrip(c)
            c.send_frame(8, b"\x03\xe8")
            c.read_until_close()
            c.close()
        wait_until(lambda: "closed by client" in p.log_text() and p.log_text().count("closed by") == 2,
                   what="both sessions to end")
    finally:
        p.stop()
    inspect = os.path.join(os.path.dirname(websockify_bin()), "wsrecord-inspect")
    out = subprocess.run([inspect, "dump", "--json", f"{record}.rec"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    opens = [line for line in out.stdout.splitlines() if '"open"' in line]
    assert len(opens) == 2, out.stdout
    assert '"tls":true' in opens[0].replace(" ", "") and '"tls":false' in opens[1].replace(" ", "")


# --- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("tls_proxy", [["--ssl-only"]], indirect=True)
def test_ssl_only_refuses_plain_http_with_a_clear_answer(tls_proxy, certs):
    status, _, body = http_request(tls_proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 403
    assert b"only accepts TLS" in body
    with pytest.raises(AssertionError):
        RawClient(tls_proxy.port)
    secure = RawClient(tls_proxy.port, tls=certs.client_context())
    echo_roundtrip(secure)
    secure.close()
    assert "plain connection refused (--ssl-only)" in tls_proxy.log_text()


def test_garbage_instead_of_a_tls_hello_is_dropped_and_the_proxy_keeps_serving(tls_proxy, certs):
    for garbage in [b"\x16\x03\x01\x00\x05hello" + os.urandom(64), b"\x80" + os.urandom(100)]:
        with socket.create_connection(("127.0.0.1", tls_proxy.port), timeout=5) as s:
            s.sendall(garbage)
            received = b""
            try:
                while chunk := s.recv(4096):
                    received += chunk
            except ConnectionResetError:
                pass
            # At most a TLS alert record comes back, never HTTP.
            assert not received.startswith(b"HTTP"), received
    c = RawClient(tls_proxy.port, tls=certs.client_context())
    echo_roundtrip(c)
    c.close()
    assert tls_proxy.proc.poll() is None


def test_plain_garbage_gets_http_400(tls_proxy):
    status, _, _ = http_request(tls_proxy.port, b"\x01\x02 not http at all\r\n\r\n")
    assert status == 400


def test_tls_hello_without_a_certificate_is_closed_with_a_log_line(target, certs, tmp_path):
    p = Proxy([f"127.0.0.1:{target.port}"])
    try:
        code, text = s_client(p.port, "-CAfile", certs.ca)
        assert code != 0
        wait_until(lambda: "no certificate (give one with --cert)" in p.log_text(), what="the log line")
    finally:
        p.stop()


def test_flash_policy_request_gets_the_policy():
    port = free_port()
    p = Proxy(["127.0.0.1:9"], extra=[])
    try:
        with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
            s.sendall(b"<policy-file-request/>\0")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        assert data.startswith(b"<cross-domain-policy>")
        assert b'to-ports="*"' in data and data.endswith(b"\0")
    finally:
        p.stop()
    del port


# --- certificate files ----------------------------------------------------------------------------

def run_briefly(args, cwd=None):
    """Runs websockify expecting it to fail at start-up; returns (code, stderr)."""
    out = subprocess.run([websockify_bin(), *args, f"127.0.0.1:{free_port()}", "127.0.0.1:9"],
                         capture_output=True, text=True, timeout=20, cwd=cwd)
    return out.returncode, out.stderr


def test_missing_certificate_file_is_a_startup_error(certs):
    code, err = run_briefly(["--cert", certs.path("nope.pem")])
    assert code == 1
    assert "nope.pem" in err and "No such file" in err


def test_unreadable_key_file_is_a_startup_error(certs, tmp_path):
    key = tmp_path / "key.pem"
    key.write_text(open(certs.server_key).read())
    key.chmod(0)
    if os.access(key, os.R_OK):  # root reads anything: make it a directory instead
        key.chmod(0o600)
        key.unlink()
        key.mkdir()
    code, err = run_briefly(["--cert", certs.server_cert, "--key", str(key)])
    assert code == 1
    assert str(key) in err


def test_key_that_belongs_to_another_certificate_is_a_startup_error(certs):
    code, err = run_briefly(["--cert", certs.server_cert, "--key", certs.client("alice")[1]])
    assert code == 1
    assert "does the key belong to it?" in err


def test_certificate_without_key_is_a_startup_error(certs):
    code, err = run_briefly(["--cert", certs.server_cert])
    assert code == 1
    assert "no usable private key" in err


def test_not_a_certificate_is_a_startup_error(certs, tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("hello\n")
    code, err = run_briefly(["--cert", str(bogus)])
    assert code == 1
    assert "bogus.pem" in err


def test_encrypted_key_with_password(target, certs):
    code, err = run_briefly(["--cert", certs.server_cert, "--key", certs.encrypted_key, "--key-password", "wrong"])
    assert code == 1 and "wrong --key-password" in err
    p = Proxy([f"127.0.0.1:{target.port}"],
              extra=["--cert", certs.server_cert, "--key", certs.encrypted_key, "--key-password", "sesame"])
    try:
        c = RawClient(p.port, tls=certs.client_context())
        echo_roundtrip(c)
        c.close()
    finally:
        p.stop()


def test_self_pem_in_the_working_directory_is_the_default(target, certs, tmp_path):
    shutil.copy(certs.server_combined, tmp_path / "self.pem")
    port = free_port()
    proc = subprocess.Popen([websockify_bin(), f"127.0.0.1:{port}", f"127.0.0.1:{target.port}"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: s_client(port, "-CAfile", certs.ca, "-verify_return_error")[0] == 0,
                   what="TLS with the default self.pem")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ssl_only_without_any_certificate_is_a_usage_error(tmp_path):
    code, err = run_briefly(["--ssl-only"], cwd=tmp_path)
    assert code == 2
    assert "--ssl-only" in err and "self.pem" in err


# --- versions and ciphers -------------------------------------------------------------------------

@pytest.mark.parametrize("tls_proxy", [["--ssl-version", "tlsv1_3"]], indirect=True)
def test_minimum_version_tls13_refuses_tls12(tls_proxy, certs):
    code, text = s_client(tls_proxy.port, "-tls1_2", "-CAfile", certs.ca)
    assert code != 0, text
    code, text = s_client(tls_proxy.port, "-tls1_3", "-CAfile", certs.ca, "-brief")
    assert code == 0 and "TLSv1.3" in text, text


@pytest.mark.parametrize("tls_proxy", [["--ssl-version", "tlsv1_2"]], indirect=True)
def test_minimum_version_tls12_refuses_tls11(tls_proxy, certs):
    code, text = s_client(tls_proxy.port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", certs.ca)
    assert code != 0, text
    code, text = s_client(tls_proxy.port, "-tls1_2", "-CAfile", certs.ca, "-brief")
    assert code == 0 and "TLSv1.2" in text, text


def test_bad_ssl_version_is_a_usage_error(certs):
    code, err = run_briefly(["--cert", certs.server_combined, "--ssl-version", "sslv3"])
    assert code == 2 and "--ssl-version" in err


@pytest.mark.parametrize("tls_proxy", [["--ssl-ciphers", "ECDHE-RSA-AES256-GCM-SHA384"]], indirect=True)
def test_cipher_list_limits_tls12_ciphers(tls_proxy, certs):
    code, text = s_client(tls_proxy.port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256", "-CAfile", certs.ca)
    assert code != 0, text
    code, text = s_client(tls_proxy.port, "-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384", "-CAfile", certs.ca,
                          "-brief")
    assert code == 0 and "ECDHE-RSA-AES256-GCM-SHA384" in text, text


# --- client certificates --------------------------------------------------------------------------

@pytest.fixture
def verifying_proxy(target, certs):
    p = Proxy([f"127.0.0.1:{target.port}"],
              extra=["--cert", certs.server_combined, "--verify-client", "--cafile", certs.ca])
    yield p
    p.stop()


def test_verify_client_accepts_a_certificate_from_the_ca(verifying_proxy, certs):
    c = RawClient(verifying_proxy.port, tls=certs.client_context("alice"))
    echo_roundtrip(c)
    c.close()


@pytest.mark.parametrize("who", [None, "mallory"])
def test_verify_client_refuses_no_certificate_or_one_from_another_ca(verifying_proxy, certs, who):
    with pytest.raises((ssl.SSLError, ConnectionError, EOFError, AssertionError)):
        c = RawClient(verifying_proxy.port, tls=certs.client_context(who))
        echo_roundtrip(c)
    code, text = s_client(verifying_proxy.port, "-CAfile", certs.ca,
                          *(["-cert", certs.client(who)[0], "-key", certs.client(who)[1]] if who else []),
                          data=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert "HTTP/1.1" not in text


@pytest.fixture
def cn_proxy(target, certs):
    p = Proxy([f"127.0.0.1:{target.port}"],
              extra=["--cert", certs.server_combined, "--verify-client", "--cafile", certs.ca,
                     "--auth-plugin=ClientCertCNAuth", "--auth-source=alice carol"])
    yield p
    p.stop()


def upgrade_status(port, context, extra_header=""):
    """Status of a WebSocket upgrade over TLS with `context`, with an extra header line if given."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as s:
            request = ("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                       + (extra_header + "\r\n" if extra_header else "") + "\r\n")
            s.sendall(request.encode())
            return int(s.recv(4096).split(b" ")[1])


def test_client_cert_cn_auth_lets_listed_names_in(cn_proxy, certs):
    c = RawClient(cn_proxy.port, tls=certs.client_context("alice"))
    echo_roundtrip(c)
    c.close()
    assert upgrade_status(cn_proxy.port, certs.client_context("bob")) == 403
    assert "client certificate CN 'bob' not allowed" in cn_proxy.log_text()


@pytest.mark.parametrize("header", ["ssl_client_s_dn_cn: alice", "SSL_CLIENT_S_DN_CN: alice",
                                    "SSL-CLIENT-S-DN-CN: alice"])
def test_client_cert_cn_never_comes_from_a_request_header(cn_proxy, certs, header):
    # websockify 0.13 lets bob in as alice with this header; here only the verified certificate counts.
    assert upgrade_status(cn_proxy.port, certs.client_context("bob"), header) == 403


def test_client_cert_cn_from_another_ca_fails_the_handshake(cn_proxy, certs):
    # mallory's certificate says CN=alice but comes from a CA the proxy does not trust.
    with pytest.raises((ssl.SSLError, ConnectionError, IndexError, ValueError)):
        upgrade_status(cn_proxy.port, certs.client_context("mallory"))


def test_verify_client_without_certificate_is_a_usage_error():
    code, err = run_briefly(["--verify-client"], cwd="/")
    assert code == 2 and "--verify-client" in err


# --- TLS to the target ----------------------------------------------------------------------------

class TlsEchoTarget:
    """A TLS echo server on 127.0.0.1 with the test server certificate; remembers the SNI names."""

    def __init__(self, certs):
        self.names = []
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certs.server_cert, certs.server_key)
        self.context.sni_callback = lambda sock, name, ctx: self.names.append(name)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn):
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                while data := tls.recv(65536):
                    tls.sendall(data)
        except (ssl.SSLError, OSError):
            pass

    def close(self):
        self.sock.close()


@pytest.fixture
def tls_target(certs):
    t = TlsEchoTarget(certs)
    yield t
    t.close()


def run_ssl_target_proxy(tls_target, env):
    port = free_port()
    log = open(os.devnull, "w")
    proc = subprocess.Popen([websockify_bin(), "--ssl-target", f"127.0.0.1:{port}", f"localhost:{tls_target.port}"],
                            env=env, stdout=log, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: _listening(port), what="websockify to listen")
    return proc, port


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def test_ssl_target_connects_with_sni_and_verifies_the_certificate(tls_target, certs):
    proc, port = run_ssl_target_proxy(tls_target, {**os.environ, "SSL_CERT_FILE": certs.ca})
    try:
        c = RawClient(port)
        echo_roundtrip(c, b"to a TLS target")
        c.close()
        assert tls_target.names == ["localhost"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ssl_target_with_an_untrusted_certificate_fails_the_session(tls_target):
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    proc, port = run_ssl_target_proxy(tls_target, env)
    try:
        c = RawClient(port)
        code, _ = c.read_until_close()
        assert code == 1011
        c.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "cannot connect to target" in err or "certificate" in err.lower(), err
