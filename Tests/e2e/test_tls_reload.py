"""Certificates that follow their files (issue 15 §1): websockify and wsreplay read --cert/--key
(and --cafile) again when the files change, checked at most once a second by a new connection, and
at once on SIGHUP. New connections get the new certificate, open sessions keep theirs, and a broken
new version keeps the old certificate serving with one log line naming the file.

Peers: certificates made with the `openssl` command (distinct serials and subjects), clients are
`openssl s_client` and Python's ssl module; files are replaced as certbot does (write a new file, then
rename it over the old one) and written in place."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from proxyutil import Proxy, RawClient, target, wait_until  # noqa: F401 (target: a fixture)
from test_replay_cli import record_echo_session, start_replay
from tlsutil import issue, make_ca, openssl

# A new connection looks at the files at most once a second; allow for a loaded machine on top.
FOLLOW_DEADLINE = 3.0


@pytest.fixture(scope="module", autouse=True)
def need_openssl():
    if not shutil.which("openssl"):
        pytest.fail("the openssl command is missing: run scripts/install-deps")


@pytest.fixture(scope="module")
def pems(tmp_path_factory):
    """Three self-signed localhost certificates with their own keys, serials A1, B2, C3."""
    cwd = tmp_path_factory.mktemp("pems")
    for name, serial in (("A", "0xA1"), ("B", "0xB2"), ("C", "0xC3")):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "3", "-set_serial", serial,
                "-subj", f"/CN=localhost/O=reload test {name}", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                cwd=str(cwd))
        openssl("pkey", "-in", f"{name}.key", "-aes256", "-passout", "pass:sesame", "-out", f"{name}-enc.key",
                cwd=str(cwd))
    return cwd


SERIALS = {"A": "A1", "B": "B2", "C": "C3"}
_serial_of_der: dict[bytes, str] = {}


def serial_of(der: bytes) -> str:
    """The serial of a DER certificate, as `openssl x509 -serial` prints it."""
    if der not in _serial_of_der:
        out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                             capture_output=True, timeout=20, check=True).stdout.decode()
        _serial_of_der[der] = out.strip().removeprefix("serial=")
    return _serial_of_der[der]


def any_certificate() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def served_serial(port: int) -> str:
    """The serial of the certificate a new TLS connection gets (handshake only, then close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with any_certificate().wrap_socket(raw, server_hostname="localhost") as tls:
            return serial_of(tls.getpeercert(binary_form=True))


def wait_for_serial(port: int, serial: str, deadline: float = FOLLOW_DEADLINE) -> float:
    """Opens new connections until one gets `serial`; returns the seconds that took."""
    started = time.monotonic()
    seen = None
    while time.monotonic() - started < deadline:
        seen = served_serial(port)
        if seen == serial:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"new connections still get serial {seen}, not {serial}, after {deadline} s")


def keeps_serial(port: int, serial: str, seconds: float) -> None:
    """New connections get `serial` throughout `seconds` (long enough for checks of the files)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        assert served_serial(port) == serial
        time.sleep(0.05)


def rename_into_place(source: Path, destination: Path) -> None:
    """As certbot and cert-manager do: write a new file beside the old one, then rename it over."""
    staged = destination.with_name(destination.name + ".new")
    shutil.copyfile(source, staged)
    os.replace(staged, destination)


def write_in_place(destination: Path, data: bytes) -> None:
    with open(destination, "r+b") as f:
        f.truncate(0)
        f.write(data)


def combined(pems: Path, name: str) -> bytes:
    return (pems / f"{name}.pem").read_bytes() + (pems / f"{name}.key").read_bytes()


def idle_then_check(port: int, serial: str) -> float:
    """Stays away for over a second, then opens one connection: that one looks at the files, so
    the next look by a connection is a second away. Returns when that connection was opened."""
    time.sleep(1.2)
    opened = time.monotonic()
    assert served_serial(port) == serial
    return opened


@pytest.fixture
def files(tmp_path, pems):
    """The live cert.pem/key.pem websockify is given, starting as A."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copyfile(pems / "A.pem", cert)
    shutil.copyfile(pems / "A.key", key)
    return cert, key


def start(target, *extra):
    return Proxy([f"127.0.0.1:{target.port}"], extra=list(extra))


@pytest.fixture
def proxy(target, files):
    """websockify to an echo target with --cert cert.pem --key key.pem (A), serving A."""
    cert, key = files
    p = start(target, "--cert", str(cert), "--key", str(key))
    assert served_serial(p.port) == SERIALS["A"]
    yield p
    p.stop()


def renew(pems, name, cert, key):
    """Key, then certificate, renamed into place."""
    rename_into_place(pems / f"{name}.key", key)
    rename_into_place(pems / f"{name}.pem", cert)


# --- websockify ----------------------------------------------------------------------------------

def test_a_renewal_renamed_into_place_reaches_new_connections_within_seconds(proxy, files, pems):
    cert, key = files
    assert "serial A1" in proxy.log_text(), "the start-up log names the certificate"
    renew(pems, "B", cert, key)
    took = wait_for_serial(proxy.port, SERIALS["B"])
    print(f"rename into place: a new connection got the new certificate after {took:.2f} s")
    # `openssl s_client` sees it too.
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{proxy.port}", "-servername",
                          "localhost", "-showcerts"], input=b"", capture_output=True, timeout=20)
    shown = subprocess.run(["openssl", "x509", "-noout", "-serial", "-subject"], input=out.stdout,
                           capture_output=True, timeout=20).stdout.decode()
    assert "serial=B2" in shown and "reload test B" in shown, shown
    assert "certificate read again from" in proxy.log_text()
    assert proxy.proc.poll() is None


def test_a_certificate_written_in_place_is_followed_too(target, tmp_path, pems):
    single = tmp_path / "self.pem"
    single.write_bytes(combined(pems, "A"))
    proxy = start(target, "--cert", str(single))
    try:
        assert served_serial(proxy.port) == SERIALS["A"]
        write_in_place(single, combined(pems, "B"))
        took = wait_for_serial(proxy.port, SERIALS["B"])
        print(f"written in place: a new connection got the new certificate after {took:.2f} s")
        # Half-written: the first part now, the rest over a second later. Meanwhile B stays.
        data = combined(pems, "C")
        write_in_place(single, data[: len(data) // 3])
        keeps_serial(proxy.port, SERIALS["B"], 1.5)
        with open(single, "ab") as f:
            f.write(data[len(data) // 3:])
        wait_for_serial(proxy.port, SERIALS["C"])
    finally:
        proxy.stop()


def test_a_broken_file_keeps_the_old_certificate_and_is_logged_once_naming_the_file(proxy, files, pems):
    cert, key = files
    write_in_place(cert, b"this is not a certificate\n")
    keeps_serial(proxy.port, SERIALS["A"], 3.0)  # three looks at the files at least
    problems = [line for line in proxy.log_text().splitlines() if str(cert) in line and "PEM certificate" in line]
    assert len(problems) == 1, f"one line per broken version:\n{proxy.log_text()}"
    assert "keep the certificate in service" in problems[0]
    # A certificate whose key is not in --key: refused as well, A still serves, said once.
    rename_into_place(pems / "C.pem", cert)
    keeps_serial(proxy.port, SERIALS["A"], 2.5)
    mismatches = [line for line in proxy.log_text().splitlines() if "does the key belong to it?" in line]
    assert len(mismatches) == 1, proxy.log_text()
    assert str(key) in mismatches[0] and str(cert) in mismatches[0]
    # The matching key arrives: C serves.
    rename_into_place(pems / "C.key", key)
    wait_for_serial(proxy.port, SERIALS["C"])
    assert proxy.proc.poll() is None


def test_sighup_reads_the_files_at_once(proxy, files, pems):
    cert, key = files
    opened = idle_then_check(proxy.port, SERIALS["A"])
    renew(pems, "B", cert, key)
    signalled = time.monotonic()
    proxy.proc.send_signal(signal.SIGHUP)
    took = wait_for_serial(proxy.port, SERIALS["B"], deadline=0.5)
    print(f"SIGHUP: a new connection got the new certificate {took:.3f} s after the signal")
    # Before a connection could have looked at the files by itself.
    assert signalled + took - opened < 1.0
    assert "SIGHUP: TLS: certificate read again" in proxy.log_text()
    # SIGHUP with unchanged files reads them again too, and websockify goes on.
    proxy.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: proxy.log_text().count("SIGHUP: TLS: certificate read again") == 2, timeout=5,
               what="the second SIGHUP's reload")
    assert served_serial(proxy.port) == SERIALS["B"]
    assert proxy.proc.poll() is None


def test_sighup_reports_a_broken_file_and_keeps_serving(proxy, files, pems):
    cert, _ = files
    idle_then_check(proxy.port, SERIALS["A"])
    rename_into_place(pems / "B.pem", cert)  # the key is still A's
    proxy.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: TLS: " in proxy.log_text(), timeout=5, what="the SIGHUP's report")
    assert "does the key belong to it?" in proxy.log_text()
    assert served_serial(proxy.port) == SERIALS["A"]
    assert proxy.proc.poll() is None


def test_sighup_without_a_certificate_does_not_stop_websockify(target):
    proxy = start(target)
    try:
        proxy.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "SIGHUP: no certificate" in proxy.log_text(), timeout=5, what="the SIGHUP log line")
        client = RawClient(proxy.port)
        client.send_frame(2, b"still here")
        assert client.read_frame()[1:] == (2, b"still here")
        client.close()
        assert proxy.proc.poll() is None
    finally:
        proxy.stop()


def test_an_open_wss_session_keeps_working_across_reloads(proxy, files, pems):
    cert, key = files
    session = RawClient(proxy.port, tls=any_certificate())
    assert serial_of(session.sock.getpeercert(binary_form=True)) == SERIALS["A"]
    session.send_frame(2, b"before")
    assert session.read_frame()[1:] == (2, b"before")
    renew(pems, "B", cert, key)
    wait_for_serial(proxy.port, SERIALS["B"])
    session.send_frame(2, b"after the renewal")
    assert session.read_frame()[1:] == (2, b"after the renewal")
    renew(pems, "C", cert, key)
    proxy.proc.send_signal(signal.SIGHUP)
    wait_for_serial(proxy.port, SERIALS["C"])
    session.send_frame(2, b"after SIGHUP")
    assert session.read_frame()[1:] == (2, b"after SIGHUP")
    session.send_frame(8, b"\x03\xe8")
    assert session.read_until_close()[0] == 1000
    session.close()


def test_the_key_password_applies_to_reloads(target, tmp_path, pems):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copyfile(pems / "A.pem", cert)
    shutil.copyfile(pems / "A-enc.key", key)
    proxy = start(target, "--cert", str(cert), "--key", str(key), "--key-password", "sesame")
    try:
        assert served_serial(proxy.port) == SERIALS["A"]
        rename_into_place(pems / "B-enc.key", key)
        rename_into_place(pems / "B.pem", cert)
        wait_for_serial(proxy.port, SERIALS["B"])
        # A key under another passphrase is a broken version: B stays, and the log says why.
        other = tmp_path / "C-other.key"
        openssl("pkey", "-in", str(pems / "C.key"), "-aes256", "-passout", "pass:other", "-out", str(other),
                cwd=str(tmp_path))
        rename_into_place(other, key)
        rename_into_place(pems / "C.pem", cert)
        keeps_serial(proxy.port, SERIALS["B"], 2.5)
        assert "wrong --key-password" in proxy.log_text()
    finally:
        proxy.stop()


def test_a_new_cafile_decides_which_client_certificates_new_connections_accept(target, tmp_path):
    cwd = str(tmp_path)
    make_ca(cwd, "ca1", "/CN=first CA")
    make_ca(cwd, "ca2", "/CN=second CA")
    issue(cwd, "ca1", "server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    issue(cwd, "ca2", "carol", "/CN=carol", "extendedKeyUsage=clientAuth\n")
    cafile = tmp_path / "trusted.pem"
    shutil.copyfile(tmp_path / "ca1.pem", cafile)
    proxy = start(target, "--cert", str(tmp_path / "server.pem"), "--key", str(tmp_path / "server.key"),
                  "--verify-client", "--cafile", str(cafile))

    def carol_gets_in():
        context = any_certificate()
        context.load_cert_chain(str(tmp_path / "carol.pem"), str(tmp_path / "carol.key"))
        try:
            RawClient(proxy.port, tls=context).close()
            return True
        except (OSError, AssertionError):
            return False

    try:
        assert not carol_gets_in(), "carol's CA is not trusted yet"
        rename_into_place(tmp_path / "ca2.pem", cafile)
        wait_until(carol_gets_in, timeout=FOLLOW_DEADLINE, interval=0.05, what="the new --cafile to be followed")
    finally:
        proxy.stop()


# --- wsreplay --------------------------------------------------------------------------------------

def test_wsreplay_follows_its_certificate(tmp_path, files, pems):
    cert, key = files
    recording = record_echo_session(tmp_path, [b"x"])
    proc, port = start_replay(tmp_path, recording, "--loop", "--cert", str(cert), "--key", str(key))
    try:
        assert served_serial(port) == SERIALS["A"]
        renew(pems, "B", cert, key)
        took = wait_for_serial(port, SERIALS["B"])
        print(f"wsreplay, rename into place: new certificate after {took:.2f} s")
        renew(pems, "C", cert, key)
        proc.send_signal(signal.SIGHUP)
        wait_for_serial(port, SERIALS["C"], deadline=1.0)
        assert proc.poll() is None, "SIGHUP does not stop wsreplay"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
