"""--inetd: websockify serves the listening socket it gets as standard input (inetd 'wait' services,
systemd socket activation with Accept=no)."""

import shutil
import signal
import socket
import subprocess
import time

import pytest

from proxyutil import RawClient, StreamMismatch, TcpTarget, free_port, target, websockify_bin, ws_round_trip  # noqa: F401


def connect_when_up(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = RawClient(port)
            if ws_round_trip(client, b"hello") == b"hello":
                return client
        except StreamMismatch:
            raise  # bytes lost or changed: the proxy is up and broken
        except (OSError, EOFError, AssertionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def test_listening_socket_from_the_parent(target):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        proc = subprocess.Popen([websockify_bin(), "--inetd", f"127.0.0.1:{target.port}"],
                                stdin=listener.fileno(), stderr=subprocess.PIPE)
    try:
        client = connect_when_up(port, proc)
        assert ws_round_trip(client, b"x" * 70000) == b"x" * 70000
        client.close()
        second = RawClient(port)
        assert ws_round_trip(second, b"again") == b"again"
        second.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert f"listening on 127.0.0.1:{port}".encode() in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_systemd_socket_activate(start_process, target):
    activate = shutil.which("systemd-socket-activate")
    if not activate:
        pytest.fail("systemd-socket-activate not found: install Debian's systemd package (scripts/install-deps)")
    port = free_port()
    # It listens itself and starts the command at the first connection with the socket as fd 3;
    # systemd's StandardInput=socket would put it on standard input, as the shell does here.
    proc = start_process([activate, "-l", f"127.0.0.1:{port}", "sh", "-c", 'exec "$0" --inetd "$1" <&3',
                          websockify_bin(), f"127.0.0.1:{target.port}"])
    client = connect_when_up(port, proc)
    assert ws_round_trip(client, b"activated") == b"activated"


@pytest.mark.parametrize("stdin, message", [
    ("devnull", b"standard input is not a socket"),
    ("connected", b"standard input is a socket but not a listening one"),
])
def test_standard_input_that_is_no_listening_socket_exits_1(target, stdin, message):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        connection = socket.create_connection(listener.getsockname())
        source = subprocess.DEVNULL if stdin == "devnull" else connection.fileno()
        out = subprocess.run([websockify_bin(), "--inetd", f"127.0.0.1:{target.port}"],
                             stdin=source, capture_output=True, timeout=10)
        connection.close()
    assert out.returncode == 1, out
    assert message in out.stderr and b"Accept=no" in out.stderr


@pytest.mark.parametrize("args", [["--inetd"], ["--inetd", "6080", "127.0.0.1:5900"],
                                  ["--inetd", "--unix-listen=/tmp/x.sock", "127.0.0.1:5900"]])
def test_inetd_argument_errors_exit_2(args):
    out = subprocess.run([websockify_bin(), *args], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert out.returncode == 2, out
