"""How the e2e helpers stop the processes they start: SIGTERM, a grace, then a SIGKILL that is written
to E2E_KILL_LOG (scripts/test-sanitizers fails its e2e step on any line there: a sanitized process
killed that way never ran its exit-time leak check). A stand-in that ignores SIGTERM plays websockify
or wsreplay."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import vncdesk
from proxyutil import Proxy
from replayutil import finish

# Listens on the port of its last argument ("127.0.0.1:PORT", as websockify's listen address comes
# before the target) or on none, and ignores SIGTERM, or exits at once on it with `--obeys`.
STAND_IN = """#!{python}
import signal, socket, sys, time
if "--obeys" not in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
listen = [a for a in sys.argv[1:] if a.startswith("127.0.0.1:")]
if listen:
    s = socket.socket()
    s.bind(("127.0.0.1", int(listen[0].split(":")[1])))
    s.listen()
time.sleep(600)
"""


@pytest.fixture
def stand_in(tmp_path, monkeypatch) -> Path:
    """A process that plays websockify (WEBSOCKIFY_BIN); the kill log is tmp_path/killed.txt."""
    path = tmp_path / "stand-in"
    path.write_text(STAND_IN.format(python=sys.executable))
    path.chmod(0o755)
    monkeypatch.setenv("WEBSOCKIFY_BIN", str(path))
    monkeypatch.setenv("E2E_KILL_LOG", str(tmp_path / "killed.txt"))
    monkeypatch.setattr(vncdesk, "MINIMUM_STOP_GRACE", 0.0)
    return path


def test_proxy_stop_waits_10_s_then_kills_and_lists_the_kill(stand_in, tmp_path):
    proxy = Proxy(["127.0.0.1:9"])
    started = time.monotonic()
    proxy.stop()
    took = time.monotonic() - started
    assert proxy.proc.returncode == -9
    assert 10 <= took < 15
    lines = (tmp_path / "killed.txt").read_text().splitlines()
    assert lines == [f"{proxy.proc.pid} stand-in: still running 10 s after SIGTERM, killed"]


def test_proxy_stop_of_a_process_that_exits_on_sigterm_lists_nothing(stand_in, tmp_path):
    proxy = Proxy(["127.0.0.1:9"], extra=["--obeys"])
    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 5
    assert proxy.proc.returncode == -15
    assert not (tmp_path / "killed.txt").exists()


def test_proxy_stop_waits_at_least_e2e_stop_grace(stand_in, tmp_path, monkeypatch):
    """E2E_STOP_GRACE (vncdesk.MINIMUM_STOP_GRACE) above Proxy.stop's 10 s lengthens the wait."""
    monkeypatch.setattr(vncdesk, "MINIMUM_STOP_GRACE", 11.5)
    proxy = Proxy(["127.0.0.1:9"])
    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started >= 11.5
    assert "still running 11.5 s after SIGTERM, killed" in (tmp_path / "killed.txt").read_text()


def test_finish_of_a_replay_that_does_not_exit_stops_it_and_lists_the_kill(stand_in, tmp_path):
    proc = subprocess.Popen([os.environ["WEBSOCKIFY_BIN"]])
    with pytest.raises(AssertionError, match="did not exit within 0.5s"):
        finish(proc, timeout=0.5)
    assert proc.returncode == -9
    assert (tmp_path / "killed.txt").read_text().startswith(f"{proc.pid} stand-in: still running 3 s")
