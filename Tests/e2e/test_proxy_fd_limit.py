"""Out of file descriptors (issue 12 §4): under `prlimit --nofile=64` with 100 connections waiting,
the proxy pauses accepting instead of spinning, logs one warning naming the limit, keeps relaying
for the sessions it has, and accepts again once descriptors are free."""

import os
import shutil
import socket
import subprocess
import time

import pytest

from proxyutil import RawClient, TcpTarget, free_port, wait_until, websockify_bin, ws_round_trip  # noqa: F401

LIMIT = 64
WAITING = 100


def cpu_seconds(pid):
    """utime + stime of `pid` from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_at_the_descriptor_limit_accepting_pauses_logs_once_and_resumes(tmp_path):
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        pytest.fail("prlimit not found: it comes with util-linux (`apt-get install util-linux`)")
    target = TcpTarget()
    port = free_port()
    log_path = tmp_path / "websockify.log"
    with open(log_path, "wb") as log:
        # prlimit sets the limit and execs websockify: same process id.
        proc = subprocess.Popen([prlimit, f"--nofile={LIMIT}", websockify_bin(), f"127.0.0.1:{port}",
                                 f"127.0.0.1:{target.port}"], stdout=log, stderr=subprocess.STDOUT)
    held = []
    try:
        def log_text():
            return log_path.read_text(errors="replace")

        wait_until(lambda: "listening on" in log_text() or proc.poll() is not None, what="websockify to listen")
        assert proc.poll() is None, f"websockify exited ({proc.returncode}):\n{log_text()}"
        assert f"open-file limit {LIMIT}" in log_text(), "the hard limit is 64 too, so it cannot be raised"
        session = RawClient(port)
        assert ws_round_trip(session, b"before") == b"before"

        # More connections than descriptors: the rest wait in the listen backlog (256).
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(WAITING)]
        time.sleep(1)
        before, started = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(3)
        share = (cpu_seconds(proc.pid) - before) / (time.monotonic() - started)
        print(f"CPU while saturated: {share * 100:.1f}% of one core")
        assert share < 0.20, f"{share * 100:.0f}% of a core while out of descriptors: accept is spinning"

        # The session opened before keeps relaying while the listener is saturated.
        payload = os.urandom(3000)
        assert ws_round_trip(session, payload) == payload

        warnings = [line for line in log_text().splitlines() if "cannot accept connections" in line]
        assert len(warnings) == 1, warnings
        assert " warning " in warnings[0]
        assert "too many open files (EMFILE)" in warnings[0]
        assert f"open-file limit (RLIMIT_NOFILE) is {LIMIT}" in warnings[0]

        # Descriptors free again: new sessions are accepted.
        for conn in held:
            conn.close()
        held = []
        deadline = time.monotonic() + 10
        while True:
            try:
                fresh = RawClient(port, timeout=2)
                break
            except (OSError, AssertionError):
                assert time.monotonic() < deadline, "no new session accepted after the connections closed"
                time.sleep(0.1)
        assert ws_round_trip(fresh, b"after") == b"after"
        fresh.close()
        assert ws_round_trip(session, b"still") == b"still"
        session.close()
        wait_until(lambda: "accepting connections again after" in log_text(), what="the note that accepting resumed")
    finally:
        for conn in held:
            conn.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        target.close()
