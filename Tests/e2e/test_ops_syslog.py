"""--syslog=SERVER and --legacy-syslog: every log message is also sent to syslog, RFC 5424 by
default and RFC 3164 with --legacy-syslog: one datagram to a UDP server or a local datagram socket,
one frame to a TCP server (tcp:HOST:PORT). Lines logged while the server is not ready are kept and
delivered once it is."""

import base64
import datetime
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from proxyutil import TcpTarget, free_port, target, upgrade_request, wait_until, websockify_bin  # noqa: F401

RFC5424 = re.compile(rb"^<(\d+)>1 (\S+) (\S+) (\S+) (\d+) - - (.*)$", re.S)
RFC3164 = re.compile(rb"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?:(\S+) )?websockify\[(\d+)\]: (.*)$", re.S)


class Receiver:
    """A datagram socket collecting what it receives (UDP on 127.0.0.1, or a unix socket path)."""

    def __init__(self, path=None, port=0):
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(str(path))
            self.address = str(path)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", port))
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


# --- the syslog server not ready when the first lines are logged (issue 12 §1) -------------------

RACE_RUNS = 20


class TcpReceiver:
    """A TCP syslog server (RFC 6587): reads octet-counted frames (`LEN SP MSG`) or, for RFC 3164,
    line-feed-terminated ones, from every connection it accepts."""

    def __init__(self, port=0, octet_counting=True):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.octet_counting = octet_counting
        self.connections = []
        self.buffers = {}
        self.messages = []

    def drain(self):
        try:
            conn, _ = self.sock.accept()
            conn.settimeout(0.05)
            self.connections.append(conn)
            self.buffers[conn] = b""
        except socket.timeout:
            pass
        for conn in self.connections:
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    self.buffers[conn] += data
            except (socket.timeout, BlockingIOError):
                pass
            self.messages += self._frames(conn)
        return self.messages

    def _frames(self, conn):
        out = []
        buf = self.buffers[conn]
        while True:
            if self.octet_counting:
                length, space, rest = buf.partition(b" ")
                if not space or not length.isdigit() or len(rest) < int(length):
                    break
                out.append(rest[: int(length)])
                buf = rest[int(length):]
            else:
                line, lf, rest = buf.partition(b"\n")
                if not lf:
                    break
                out.append(line)
                buf = rest
        self.buffers[conn] = buf
        return out

    def close(self):
        for conn in self.connections:
            conn.close()
        self.sock.close()


def reserve_port(kind):
    """A 127.0.0.1 port nothing listens on (a TCP or UDP socket bound once, then closed)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def logged_messages(text):
    """The MSG part of each line websockify wrote to standard error (`TIME LEVEL LABEL: MSG`)."""
    return [line.split(": ", 1)[1] for line in text.splitlines() if re.match(r"^\S+Z \w+ websockify: ", line)]


def run_session_race(start_process, syslog_arg, receiver_up, receiver_down=None):
    """Starts websockify with `syslog_arg`, connects a WebSocket client as soon as the port accepts
    (the target refuses: `cannot connect to target`, `session 1 closed`), and only then lets the
    syslog receiver come up (`receiver_up()`); stops websockify. Returns (lines on standard error,
    receiver). `receiver_down()`, when given, is called once websockify listens and before the
    client connects (a syslog daemon restarting)."""
    port = free_port()
    refused_target = reserve_port(socket.SOCK_STREAM)
    proc = start_process([websockify_bin(), f"--syslog={syslog_arg}", f"127.0.0.1:{port}", f"127.0.0.1:{refused_target}"])
    deadline = time.monotonic() + 10
    while True:
        try:
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            assert time.monotonic() < deadline, "websockify did not listen"
            time.sleep(0.002)
    if receiver_down:
        receiver_down()
    key = base64.b64encode(os.urandom(16)).decode()
    client.sendall(upgrade_request(key=key))
    while client.recv(4096):  # the 101, the close frame (1011), then EOF
        pass
    client.close()
    wait_until(lambda: "session 1 closed" in proc.log_path.read_text(), what="the session's close line")
    receiver = receiver_up()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    return logged_messages(proc.log_path.read_text()), receiver


def assert_every_line_arrived(lines, received, run):
    texts = []
    for message in received:
        match = RFC5424.match(message)
        assert match, message
        texts.append(match.group(6).decode())
    # The sender's own notes about its delivery go to standard error only.
    expected = [line for line in lines if not line.startswith("syslog: ")]
    assert any(line.startswith("session 1: cannot connect to target") for line in expected), lines
    assert any(line.startswith("session 1 closed") for line in expected), lines
    assert expected[-1] == "stopped", lines
    assert texts == expected, f"run {run}: missing {[line for line in expected if line not in texts]}"


def test_udp_lines_logged_before_the_receiver_listens_all_arrive(start_process):
    for run in range(RACE_RUNS):
        udp_port = reserve_port(socket.SOCK_DGRAM)
        lines, receiver = run_session_race(start_process, f"127.0.0.1:{udp_port}", lambda: Receiver(port=udp_port))
        try:
            assert_every_line_arrived(lines, receiver.drain(), run)
        finally:
            receiver.sock.close()


def test_unix_socket_lines_logged_while_the_daemon_restarts_all_arrive(start_process, tmp_path):
    # /dev/log stand-in: the daemon's socket disappears once websockify listens and comes back
    # after the session's lines were logged.
    for run in range(RACE_RUNS):
        path = tmp_path / f"log{run}.sock"
        first = Receiver(path)
        received = []

        def down():
            wait_until(lambda: any(b"listening on" in m for m in first.drain()), what="the first syslog lines")
            received.extend(first.messages)
            first.sock.close()
            path.unlink()

        def up():
            return Receiver(path)

        lines, receiver = run_session_race(start_process, str(path), up, receiver_down=down)
        try:
            assert_every_line_arrived(lines, received + receiver.drain(), run)
        finally:
            receiver.sock.close()


def test_tcp_lines_logged_before_the_server_accepts_all_arrive(start_process):
    for run in range(RACE_RUNS):
        tcp_port = reserve_port(socket.SOCK_STREAM)
        lines, receiver = run_session_race(start_process, f"tcp:127.0.0.1:{tcp_port}", lambda: TcpReceiver(tcp_port))
        try:
            assert_every_line_arrived(lines, receiver.drain(), run)
        finally:
            receiver.close()
        assert any(line.startswith(f"syslog: cannot deliver to tcp:127.0.0.1:{tcp_port}") for line in lines), lines


def test_tcp_legacy_syslog_is_line_framed(start_process, target):
    receiver = TcpReceiver(octet_counting=False)
    try:
        proc, port = run_proxy(start_process, target, f"--syslog=tcp:127.0.0.1:{receiver.sock.getsockname()[1]}",
                               "--legacy-syslog")
        wait_until(lambda: any(b"listening on" in m for m in receiver.drain()), what="a framed syslog line")
        match = RFC3164.match(next(m for m in receiver.messages if b"listening on" in m))
        assert match and int(match.group(4)) == proc.pid
    finally:
        receiver.close()
