"""The load generator of `scripts/bench-proxy --busy-sessions` checks every byte it gets back.

Benchmarks/busy_sessions.py's `drive` runs 3 sessions for 2 s against a relay in front of its own
target and exits 1 on any integrity error or dropped session. Through our websockify (debug build) it
must pass; through a socat relay that alters bytes (`tr`) or cuts the stream short (`head -c`) it must
fail and say why. Figures are not checked here (no timed tests): bench-proxy prints them.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time

import pytest
from vncdesk import REPO

BUSY = REPO / "Benchmarks" / "busy_sessions.py"


@pytest.fixture
def busy_target(start_process):
    """The benchmark's target process; yields its port."""
    proc = subprocess.Popen([sys.executable, str(BUSY), "target"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("port "), f"busy target did not start: {line!r}"
        yield int(line.split()[1])
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_listening(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 10
    while True:
        assert proc.poll() is None, "relay exited at start"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.05)


def drive(port: int, raw: bool) -> tuple[int, dict]:
    args = [sys.executable, str(BUSY), "drive", "--port", str(port), "--sessions", "3", "--seconds", "2"]
    run = subprocess.run(args + (["--raw"] if raw else []), capture_output=True, text=True, timeout=30)
    assert run.stdout.strip(), f"drive printed nothing; stderr: {run.stderr[-2000:]}"
    return run.returncode, json.loads(run.stdout.strip().splitlines()[-1])


def test_every_byte_through_websockify_checks_out(proxy_bin, busy_target, start_process, free_port):
    port = free_port()
    proxy = start_process([proxy_bin, f"127.0.0.1:{port}", f"127.0.0.1:{busy_target}"], name="websockify")
    wait_listening(port, proxy)
    rc, result = drive(port, raw=False)
    assert (result["errors"], result["drops"], result["stalled"], result["first_error"]) == (0, 0, 0, None)
    assert result["opened"] == 3 and result["alive"] == 3
    # 3 sessions for 2 s: bursts of 10-200 KiB every 16-100 ms each, messages every 100-300 ms each.
    assert result["bursts"] >= 10 and result["bytes"] >= 10 * 10 * 1024
    assert result["echoes"] >= 6
    assert rc == 0


@pytest.mark.parametrize(
    "pipe, complaint",
    [
        ("tr A B", "burst "),     # one byte value changed target->browser: a length or the bytes differ
        ("head -c 300000", "no whole burst"),     # the stream cut short: the session stalls
    ],
)
def test_a_relay_that_alters_or_drops_data_fails(busy_target, start_process, free_port, pipe, complaint):
    socat = shutil.which("socat")
    assert socat, "socat is missing (scripts/install-deps installs it)"
    port = free_port()
    relay = start_process(
        [socat, f"TCP-LISTEN:{port},reuseaddr,fork", f"SYSTEM:socat - TCP\\:127.0.0.1\\:{busy_target} | {pipe}"],
        name="socat")
    wait_listening(port, relay)
    rc, result = drive(port, raw=True)
    assert rc == 1
    assert result["errors"] + result["drops"] + result["stalled"] >= 1
    assert complaint in (result["first_error"] or ""), result["first_error"]


def test_latency_percentiles_are_read_from_the_histogram_upper_edges():
    sys.path.insert(0, str(BUSY.parent))
    import busy_sessions as busy

    # Generator processes report their histograms as JSON: bucket numbers come back as strings.
    hist = busy.merge_hist([{"10": 90, "20": 5}, {"10": 8, "20": 1, "30": 1}])
    assert hist == {10: 98, 20: 6, 30: 1}
    edge = lambda k: busy.HIST_BASE ** (k + 1)  # noqa: E731
    assert busy.percentile(hist, 0.5) == edge(10)
    assert busy.percentile(hist, 0.93) == edge(10)  # rank 98 of 105: still the first bucket
    assert busy.percentile(hist, 0.99) == edge(20)
    assert busy.percentile(hist, 0.999) == edge(30)
    assert busy.percentile({}, 0.99) is None
