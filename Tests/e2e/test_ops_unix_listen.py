"""--unix-listen=FILE and --unix-listen-mode: WebSocket clients on a unix socket, with its permission
bits set from the start, a stale socket replaced, and the file removed on stop."""

import os
import signal
import socket
import stat
import subprocess

import pytest

from proxyutil import RawClient, TcpTarget, target, wait_until, websockify_bin, ws_round_trip  # noqa: F401


def unix_client(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(str(path))
    return RawClient(0, sock=sock)


def start(start_process, path, target, *extra):
    proc = start_process([websockify_bin(), f"--unix-listen={path}", *extra, f"127.0.0.1:{target.port}"])

    def listening():
        assert proc.poll() is None, proc.log_path.read_text()
        return path.exists() and "listening on unix:" in proc.log_path.read_text()

    wait_until(listening, what="the unix socket")
    return proc


def test_default_mode_0600_relay_and_cleanup(start_process, target, tmp_path):
    path = tmp_path / "ws.sock"
    proc = start(start_process, path, target)
    info = os.stat(path)
    assert stat.S_ISSOCK(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
    client = unix_client(path)
    assert ws_round_trip(client, b"over a unix socket") == b"over a unix socket"
    client.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert not path.exists(), "the socket file is removed on stop"


def test_mode_and_stale_socket_replaced(start_process, target, tmp_path):
    path = tmp_path / "ws.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: as after a crash
    proc = start(start_process, path, target, "--unix-listen-mode=0660")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    client = unix_client(path)
    assert ws_round_trip(client, b"m") == b"m"
    assert proc.poll() is None


def test_regular_file_in_the_way_is_left_alone(target, tmp_path):
    path = tmp_path / "important.txt"
    path.write_text("keep me")
    out = subprocess.run([websockify_bin(), f"--unix-listen={path}", f"127.0.0.1:{target.port}"],
                         capture_output=True, timeout=10)
    assert out.returncode == 1, out
    assert f"cannot listen on unix socket {path}".encode() in out.stderr
    assert path.read_text() == "keep me"


@pytest.mark.parametrize("args", [
    ["--unix-listen=/tmp/x.sock", "--unix-listen-mode=999", "127.0.0.1:5900"],
    ["--unix-listen=/tmp/x.sock", "6080", "127.0.0.1:5900"],
    ["--unix-listen=/tmp/x.sock"],
])
def test_unix_listen_argument_errors_exit_2(args):
    out = subprocess.run([websockify_bin(), *args], capture_output=True, timeout=10)
    assert out.returncode == 2, out
    assert b"Usage: websockify" in out.stderr
