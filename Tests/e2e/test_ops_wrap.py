"""Wrapping a program: `websockify PORT -- PROGRAM` preloads librebind.so, moves the program's bind()
of PORT to a loopback port, proxies to it, and follows --wrap-mode when the program exits."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from proxyutil import RawClient, StreamMismatch, wait_until, websockify_bin, ws_read_all, ws_round_trip
from vncdesk import descendants, pick_free_port


def require(tool):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} not found: run scripts/install-deps")
    return path


def log_of(proc):
    return proc.log_path.read_text(errors="replace")


def rebind_port(proc):
    """The loopback port websockify moved the program to, from its log."""
    found = []

    def logged():
        found[:] = re.findall(r"is moved to 127\.0\.0\.1:(\d+)", log_of(proc))
        return bool(found)

    wait_until(logged, what="the wrapped program to start")
    return int(found[-1])


def wait_for_echo(port, proc, timeout=15.0):
    """A WebSocket session that echoes once the wrapped program listens (earlier ones are closed 1011)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"websockify exited ({proc.returncode}):\n{log_of(proc)}")
        try:
            client = RawClient(port)
            try:
                if ws_round_trip(client, b"ping") == b"ping":
                    return
            finally:
                client.close()
        except StreamMismatch:
            raise  # bytes lost or changed: the proxy is up and broken
        except (OSError, EOFError, AssertionError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def program_pids(proc, name):
    """websockify's direct children called `name` (socat's per-connection forks are grandchildren)."""
    def comm(pid):
        try:
            with open(f"/proc/{pid}/comm") as f:
                return f.read().strip()
        except OSError:
            return ""
    children = []
    for task in os.listdir(f"/proc/{proc.pid}/task"):
        with open(f"/proc/{proc.pid}/task/{task}/children") as f:
            children += [int(pid) for pid in f.read().split()]
    return [pid for pid in children if comm(pid) == name]


def socat_echo(port):
    return [require("socat"), f"TCP-LISTEN:{port},fork,reuseaddr", "EXEC:cat"]


def test_http_server_page_through_the_websocket(start_process, tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "hello.txt").write_text("served by the wrapped program\n")
    port = pick_free_port()
    proc = start_process([websockify_bin(), f"127.0.0.1:{port}", "--",
                          sys.executable, "-m", "http.server", str(port), "--directory", str(tmp_path / "www")])
    moved = rebind_port(proc)
    assert moved != port

    def page():
        client = RawClient(port)
        client.send_frame(2, b"GET /hello.txt HTTP/1.0\r\n\r\n")
        return ws_read_all(client)

    deadline = time.monotonic() + 15
    while b"200 OK" not in (answer := page()):
        assert time.monotonic() < deadline, f"no page: {answer!r}\n{log_of(proc)}"
        time.sleep(0.1)
    assert answer.endswith(b"served by the wrapped program\n")
    # The program listens on the loopback port, not on websockify's.
    with socket.create_connection(("127.0.0.1", moved), timeout=5) as s:
        s.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.0 200")
    # websockify's listening socket is not inherited by the program (it would hold the port).
    listening = listening_socket_inodes(port)
    assert listening
    for pid in descendants(proc.pid):
        held = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        assert not held & {f"socket:[{inode}]" for inode in listening}, f"process {pid} holds port {port}"


def listening_socket_inodes(port):
    """Inodes of the TCP sockets listening on `port` (state 0A in /proc/net/tcp*)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


@pytest.mark.parametrize("how, expected", [("SIGKILL", 128 + 9), ("SIGTERM", 128 + 15)])
def test_exit_mode_exits_with_the_programs_status_when_killed(start_process, how, expected):
    port = pick_free_port()
    proc = start_process([websockify_bin(), f"127.0.0.1:{port}", "--", *socat_echo(port)])
    wait_for_echo(port, proc)
    [socat] = program_pids(proc, "socat")
    os.kill(socat, getattr(signal, how))
    assert proc.wait(timeout=10) == expected, log_of(proc)
    assert "exiting too (--wrap-mode=exit)" in log_of(proc)


def test_exit_mode_passes_on_an_exit_code(start_process):
    proc = start_process([websockify_bin(), f"127.0.0.1:{pick_free_port()}", "--", "sh", "-c", "sleep 0.3; exit 7"])
    assert proc.wait(timeout=10) == 7, log_of(proc)


def test_ignore_mode_keeps_serving(start_process):
    port = pick_free_port()
    proc = start_process([websockify_bin(), "--wrap-mode=ignore", f"127.0.0.1:{port}", "--", *socat_echo(port)])
    wait_for_echo(port, proc)
    [socat] = program_pids(proc, "socat")
    os.kill(socat, signal.SIGKILL)
    wait_until(lambda: "still serving (--wrap-mode=ignore)" in log_of(proc), what="the exit to be logged")
    time.sleep(0.5)
    assert proc.poll() is None
    client = RawClient(port)  # still accepts WebSocket clients; their target is gone
    assert client.read_until_close()[0] == 1011
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_respawn_mode_restarts_a_killed_program(start_process):
    port = pick_free_port()
    proc = start_process([websockify_bin(), "--wrap-mode=respawn", f"127.0.0.1:{port}", "--", *socat_echo(port)])
    wait_for_echo(port, proc)
    [first] = program_pids(proc, "socat")
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: program_pids(proc, "socat") not in ([], [first]), what="a new socat")
    wait_for_echo(port, proc)
    assert log_of(proc).count("started wrapped program") == 2
    # On stop the program is stopped too.
    [second] = program_pids(proc, "socat")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert not os.path.exists(f"/proc/{second}"), "the wrapped program outlived websockify"
    assert "wrapped program stopped" in log_of(proc)


def test_respawn_mode_backs_off_a_crashing_program(start_process):
    proc = start_process([websockify_bin(), "--wrap-mode=respawn", f"127.0.0.1:{pick_free_port()}", "--",
                          "sh", "-c", "exit 3"])
    time.sleep(3.2)
    assert proc.poll() is None
    log = log_of(proc)
    starts = log.count("started wrapped program")
    # Starts at 0, 0.5, 1.5 and 3.5 s: three within 3.2 s, where a loop without backoff makes hundreds.
    assert 2 <= starts <= 4, log
    assert "restarting in 0.5 s" in log and "restarting in 1.0 s" in log, log


def test_program_not_found_exits_1(start_process):
    proc = start_process([websockify_bin(), f"127.0.0.1:{pick_free_port()}", "--", "no-such-program-xyz"])
    assert proc.wait(timeout=10) == 1
    assert "cannot start 'no-such-program-xyz'" in log_of(proc)


def test_library_from_an_install_prefix_and_the_override_variable(start_process, tmp_path):
    built = websockify_bin()
    library = os.path.join(os.path.dirname(built), "librebind.so")
    assert os.path.isfile(library), f"{library} missing: `swift build` builds the rebind product"
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "websockify").mkdir(parents=True)
    installed = prefix / "bin" / "websockify"
    shutil.copy2(built, installed)

    # Without the library anywhere near it: a clear error.
    out = subprocess.run([installed, f"127.0.0.1:{pick_free_port()}", "--", "true"], capture_output=True, timeout=20)
    assert out.returncode == 1 and b"librebind.so not found" in out.stderr, out
    bad = subprocess.run([built, f"127.0.0.1:{pick_free_port()}", "--", "true"], capture_output=True, timeout=20,
                         env={**os.environ, "WEBSOCKIFY_REBIND_LIBRARY": str(tmp_path / "missing.so")})
    assert bad.returncode == 1 and b"WEBSOCKIFY_REBIND_LIBRARY" in bad.stderr, bad

    # PREFIX/lib/websockify/librebind.so is found from PREFIX/bin/websockify.
    shutil.copy2(library, prefix / "lib" / "websockify" / "librebind.so")
    port = pick_free_port()
    proc = start_process([installed, f"127.0.0.1:{port}", "--", *socat_echo(port)])
    wait_for_echo(port, proc)

    # The override variable wins.
    port = pick_free_port()
    moved = tmp_path / "elsewhere.so"
    shutil.copy2(library, moved)
    proc = start_process([built, f"127.0.0.1:{port}", "--", *socat_echo(port)],
                         env={**os.environ, "WEBSOCKIFY_REBIND_LIBRARY": str(moved)})
    wait_for_echo(port, proc)
    socat = program_pids(proc, "socat")[0]
    with open(f"/proc/{socat}/environ", "rb") as f:
        environ = f.read().split(b"\0")
    assert f"LD_PRELOAD={moved}".encode() in environ
    assert f"REBIND_OLD_PORT={port}".encode() in environ


@pytest.mark.parametrize("args", [
    ["6080", "127.0.0.1:5900", "--", "prog"],
    ["--inetd", "--", "prog"],
    ["--wrap-mode=sometimes", "6080", "--", "prog"],
    ["0", "--", "prog"],
])
def test_wrap_argument_errors_exit_2(args):
    out = subprocess.run([websockify_bin(), *args], capture_output=True, timeout=10)
    assert out.returncode == 2, out
    assert b"Usage: websockify" in out.stderr
