"""-D/--daemon: the foreground process exits 0 only once the daemon listens (or with the daemon's
error), and the daemon runs detached: its own session, working directory /, streams on /dev/null."""

import os
import signal
import socket
import subprocess
import time

import pytest

from proxyutil import RawClient, StreamMismatch, TcpTarget, free_port, target, wait_until, websockify_bin, ws_round_trip  # noqa: F401,E501
from vncdesk import stop_tree  # noqa: F401


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


def processes_with_argument(text):
    """Pids whose command line contains the argument `text` (to find stray daemons)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if text.encode() in f.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture
def daemons():
    """Pids of started daemons; each is terminated (then killed) at teardown."""
    pids = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def start_daemon(args, daemons, cwd=None, stdin=subprocess.DEVNULL):
    started = time.monotonic()
    out = subprocess.run([websockify_bin(), "-D", *args], capture_output=True, timeout=30, cwd=cwd, stdin=stdin)
    elapsed = time.monotonic() - started
    text = out.stderr.decode(errors="replace")
    assert out.returncode == 0, f"exit {out.returncode}:\n{text}"
    pid = int(text.rsplit("running in the background as process ", 1)[1].split()[0])
    daemons.append(pid)
    return pid, text, elapsed


def test_daemon_detaches_once_listening(target, daemons, tmp_path):
    port = free_port()
    pid, text, elapsed = start_daemon(["--log-file=relative.log", f"127.0.0.1:{port}", f"127.0.0.1:{target.port}"],
                                      daemons, cwd=tmp_path)
    # The port accepts as soon as the launcher returned; the log file and the terminal say so.
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert f"listening on 127.0.0.1:{port}" in (tmp_path / "relative.log").read_text()
    assert f"listening on 127.0.0.1:{port}" in text
    assert elapsed < 10
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().split(") ")[1].split()
    session_id = int(fields[3])
    assert session_id == pid, "the daemon leads its own session (setsid)"
    assert os.readlink(f"/proc/{pid}/cwd") == "/"
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
    # It serves, and logs to the --log-file given relative to where it was started.
    client = RawClient(port)
    assert ws_round_trip(client, b"through the daemon") == b"through the daemon"
    client.close()
    log = tmp_path / "relative.log"
    wait_until(lambda: "session 1 closed" in log.read_text(), what="the session in the log file")
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not alive(pid), what="the daemon to stop")
    assert "stopped" in log.read_text()


def test_port_in_use_fails_in_the_foreground(target, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        listen = f"127.0.0.1:{port}"
        out = subprocess.run([websockify_bin(), "-D", f"--log-file={tmp_path}/d.log", listen,
                              f"127.0.0.1:{target.port}"], capture_output=True, timeout=30)
    assert out.returncode == 1, out
    assert f"cannot listen on 127.0.0.1:{port}".encode() in out.stderr
    assert b"the daemon stopped before listening (exit status 1)" in out.stderr
    assert not [pid for pid in processes_with_argument(listen) if alive(pid)], "a daemon was left behind"


def test_unwritable_log_file_fails_in_the_foreground(target, tmp_path):
    out = subprocess.run([websockify_bin(), "-D", f"--log-file={tmp_path}/no/such/dir/x.log",
                          f"127.0.0.1:{free_port()}", f"127.0.0.1:{target.port}"], capture_output=True, timeout=30)
    assert out.returncode == 1, out
    assert b"cannot open log file" in out.stderr


@pytest.mark.parametrize(
    "options, message",
    [
        (["--token-plugin=TokenFile", "--token-source=/nonexistent/tokens"], b"/nonexistent/tokens"),
        (["--web=/nonexistent/web"], b"cannot serve '/nonexistent/web' as the web root"),
        (["--token-plugin=NoSuchPlugin", "--token-source=x"], b"unknown plugin"),
    ],
    ids=["token-source", "web-root", "plugin-name"],
)
def test_configuration_errors_fail_in_the_foreground_before_any_daemon(tmp_path, options, message):
    """What only building the configuration finds (a token source, web root or plugin that can't be
    used) is found before the daemon starts: exit 2 with the usage, and no daemon was ever started."""
    listen = f"127.0.0.1:{free_port()}"
    target = [] if any(o.startswith("--token-plugin") for o in options) else ["127.0.0.1:9"]
    out = subprocess.run(
        [websockify_bin(), "-D", *options, listen, *target], capture_output=True, timeout=30, cwd=tmp_path)
    assert out.returncode == 2, out
    assert message in out.stderr, out.stderr
    assert b"Usage:" in out.stderr, out.stderr
    assert b"the daemon stopped" not in out.stderr, "a daemon was started to find a usage error"
    assert b"running in the background" not in out.stderr
    assert not [pid for pid in processes_with_argument(listen) if alive(pid)], "a daemon was left behind"


def echoes(port, payload):
    try:
        client = RawClient(port)
        return ws_round_trip(client, payload) == payload
    except StreamMismatch:
        raise  # bytes lost or changed: the proxy is up and broken
    except (OSError, EOFError, AssertionError):
        return False


def children_of(pid):
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):  # the thread that started it is the parent
        with open(f"/proc/{pid}/task/{task}/children") as f:
            children += [int(c) for c in f.read().split()]
    return children


def test_daemon_wrapping_a_program(daemons):
    port = free_port()
    # Without --log-file, what the daemon logs before detaching comes out of the launcher.
    pid, text, _ = start_daemon([f"127.0.0.1:{port}", "--",
                                 "socat", f"TCP-LISTEN:{port},fork,reuseaddr", "EXEC:cat"], daemons)
    assert f"listening on 127.0.0.1:{port}" in text and "started wrapped program" in text

    wait_until(lambda: echoes(port, b"wrapped"), what="the wrapped socat to echo")
    children = children_of(pid)
    assert len(children) == 1, children
    program = children[0]
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{program}/fd/{fd}") == "/dev/null"
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not alive(pid) and not alive(program), what="daemon and program to stop")


def test_daemon_with_inetd_keeps_the_listening_socket(target, daemons):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        pid, _, _ = start_daemon(["--inetd", f"127.0.0.1:{target.port}"], daemons, stdin=listener.fileno())
    assert os.readlink(f"/proc/{pid}/fd/1") == "/dev/null"
    client = RawClient(port)
    assert ws_round_trip(client, b"inetd daemon") == b"inetd daemon"


@pytest.mark.parametrize("layout", ["file", "directory"])
def test_daemon_with_a_relative_token_source(target, daemons, tmp_path, layout):
    # The daemon moves to / once listening: a TokenFile source given relative must still be found
    # at every lookup (it is read again when it changes).
    if layout == "file":
        (tmp_path / "tokens").write_text(f"alpha: 127.0.0.1:{target.port}\n")
    else:
        (tmp_path / "tokens").mkdir()
        (tmp_path / "tokens" / "desks").write_text(f"alpha: 127.0.0.1:{target.port}\n")
    port = free_port()
    pid, _, _ = start_daemon([f"--log-file={tmp_path}/d.log", "--token-plugin=TokenFile", "--token-source=tokens",
                              f"127.0.0.1:{port}"], daemons, cwd=tmp_path)
    assert os.readlink(f"/proc/{pid}/cwd") == "/"
    client = RawClient(port, path="/websockify?token=alpha")
    assert ws_round_trip(client, b"relative tokens") == b"relative tokens"
    client.close()
    assert f"from {tmp_path}/tokens" in (tmp_path / "d.log").read_text()


ECHO_SERVER = """#!/usr/bin/env python3
import os, socket, sys
port, starts = int(sys.argv[1]), sys.argv[2]
with open(starts, "a") as f:
    f.write(os.getcwd() + "\\n")
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(8)
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
"""


def test_daemon_respawns_a_relative_program_in_the_same_directory(daemons, tmp_path):
    # websockify 0.13 moves to / before the program starts: every start, respawns too, runs there.
    (tmp_path / "echo-server").write_text(ECHO_SERVER)
    (tmp_path / "echo-server").chmod(0o755)
    starts = tmp_path / "starts"
    port = free_port()
    pid, text, _ = start_daemon([f"--log-file={tmp_path}/d.log", "--wrap-mode=respawn", f"127.0.0.1:{port}", "--",
                                 "./echo-server", str(port), str(starts)], daemons, cwd=tmp_path)
    wait_until(lambda: echoes(port, b"first"), what="the wrapped program to echo")
    [first] = children_of(pid)
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: children_of(pid) not in ([], [first]), what="the program to be restarted")
    wait_until(lambda: echoes(port, b"second"), what="the restarted program to echo")
    [second] = children_of(pid)
    assert os.readlink(f"/proc/{second}/cwd") == "/"
    assert starts.read_text().splitlines() == ["/", "/"], (tmp_path / "d.log").read_text()
