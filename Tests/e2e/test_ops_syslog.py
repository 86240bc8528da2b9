"""--syslog=SERVER and --legacy-syslog: every log message is also one syslog datagram, RFC 5424 by
default and RFC 3164 with --legacy-syslog, to a UDP server or a local datagram socket."""

import datetime
import os
import re
import socket
import subprocess

import pytest

from proxyutil import TcpTarget, free_port, target, wait_until, websockify_bin  # noqa: F401

RFC5424 = re.compile(rb"^<(\d+)>1 (\S+) (\S+) (\S+) (\d+) - - (.*)$", re.S)
RFC3164 = re.compile(rb"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?:(\S+) )?websockify\[(\d+)\]: (.*)$", re.S)


class Receiver:
    """A datagram socket collecting what it receives (UDP on 127.0.0.1, or a unix socket path)."""

    def __init__(self, path=None):
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(str(path))
            self.address = str(path)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.sock.settimeout(0.1)
        self.messages = []

    def drain(self):
        try:
            while True:
                self.messages.append(self.sock.recv(65536))
        except (socket.timeout, BlockingIOError):
            pass
        return self.messages

    def wait_for(self, text):
        wait_until(lambda: any(text.encode() in m for m in self.drain()), what=f"a syslog message with {text!r}")
        return next(m for m in self.messages if text.encode() in m)


def run_proxy(start_process, target, *extra):
    port = free_port()
    proc = start_process([websockify_bin(), *extra, f"127.0.0.1:{port}", f"127.0.0.1:{target.port}"])
    return proc, port


def test_rfc5424_over_udp(start_process, target):
    receiver = Receiver()
    proc, port = run_proxy(start_process, target, f"--syslog={receiver.address}", "--wrap-mode=ignore")
    message = receiver.wait_for(f"listening on 127.0.0.1:{port}")
    pri, timestamp, host, app, pid, text = RFC5424.match(message).groups()
    assert int(pri) == 1 * 8 + 6, "user facility, informational"
    stamp = datetime.datetime.strptime(timestamp.decode(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    assert abs((datetime.datetime.now(datetime.timezone.utc) - stamp).total_seconds()) < 60
    assert host.decode() == socket.gethostname()
    assert app == b"websockify" and int(pid) == proc.pid
    assert text.startswith(b"listening on")
    # A warning (an option without effect) has severity 4.
    warning = receiver.wait_for("--wrap-mode has no effect")
    assert RFC5424.match(warning).group(1) == b"12"
    # Standard error still gets the messages.
    assert f"listening on 127.0.0.1:{port}" in proc.log_path.read_text()


def test_rfc3164_over_udp(start_process, target):
    receiver = Receiver()
    proc, port = run_proxy(start_process, target, f"--syslog={receiver.address}", "--legacy-syslog")
    message = receiver.wait_for("listening on")
    pri, timestamp, host, pid, text = RFC3164.match(message).groups()
    assert int(pri) == 14
    now = datetime.datetime.now()
    stamp = datetime.datetime.strptime(f"{now.year} {timestamp.decode()}", "%Y %b %d %H:%M:%S")
    assert abs((now - stamp).total_seconds()) < 60, "local time"
    assert host.decode() == socket.gethostname()
    assert int(pid) == proc.pid and text.startswith(b"listening on")


def test_local_socket_and_daemon_facility(target, tmp_path):
    receiver = Receiver(tmp_path / "log.sock")
    port = free_port()
    out = subprocess.run([websockify_bin(), "-D", f"--syslog={receiver.address}", "--legacy-syslog",
                          f"127.0.0.1:{port}", f"127.0.0.1:{target.port}"], capture_output=True, timeout=30)
    assert out.returncode == 0, out
    pid = int(out.stderr.rsplit(b"process ", 1)[1].split()[0])
    try:
        message = receiver.wait_for("listening on")
        match = RFC3164.match(message)
        assert match, message
        pri, _, host, logged_pid, _ = match.groups()
        assert int(pri) == 3 * 8 + 6, "daemon facility with -D"
        assert host is None, "no host name to a local socket, as syslog(3)"
        assert int(logged_pid) == pid
    finally:
        os.kill(pid, 15)


def test_local_socket_rfc5424_with_verbose_debug(start_process, target, tmp_path):
    receiver = Receiver(tmp_path / "log.sock")
    proc, port = run_proxy(start_process, target, f"--syslog={receiver.address}", "-v")
    receiver.wait_for("listening on")
    assert all(RFC5424.match(m) for m in receiver.messages), receiver.messages
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"NOT HTTP\r\n\r\n")
        s.recv(100)
    debug = receiver.wait_for("bad HTTP request")
    assert RFC5424.match(debug).group(1) == b"15", "user facility, debug"


def test_unreachable_syslog_socket_exits_1(target, tmp_path):
    out = subprocess.run([websockify_bin(), f"--syslog={tmp_path}/nothing", f"127.0.0.1:{free_port()}",
                          f"127.0.0.1:{target.port}"], capture_output=True, timeout=10)
    assert out.returncode == 1, out
    assert f"cannot reach syslog at {tmp_path}/nothing".encode() in out.stderr


@pytest.mark.parametrize("args", [["--legacy-syslog", "6080", "127.0.0.1:5900"],
                                  ["--syslog=host:port", "6080", "127.0.0.1:5900"]])
def test_syslog_argument_errors_exit_2(args):
    out = subprocess.run([websockify_bin(), *args], capture_output=True, timeout=10)
    assert out.returncode == 2, out
