"""Helpers for the wsreplay end-to-end tests: find the binary, record a session, run a replay."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from proxyutil import REPO_ROOT, websockify_bin
from vncdesk import stop_tree


def wsreplay_bin() -> str:
    """$WSREPLAY_BIN, else next to the websockify under test (WEBSOCKIFY_BIN), else .build/debug."""
    path = os.environ.get("WSREPLAY_BIN") or os.path.join(os.path.dirname(websockify_bin()), "wsreplay")
    if not os.access(path, os.X_OK):
        pytest.fail(f"wsreplay not found at {path}: build the wsreplay product (swift build)")
    return path


def record_file(base: Path) -> Path:
    """The file `websockify --record=BASE` wrote."""
    path = base.with_name(base.name + ".rec")
    assert path.exists(), f"no recording at {path}; dir has {sorted(p.name for p in base.parent.iterdir())}"
    return path


def read_report(path: Path) -> dict:
    assert path.exists(), f"wsreplay wrote no report at {path}"
    return json.loads(path.read_text())


def finish(proc: subprocess.Popen, timeout: float = 30.0) -> int:
    """Wait for a wsreplay process to exit by itself; returns its exit code. One that does not is a
    failure, stopped as vncdesk.stop_tree stops (SIGTERM, then a SIGKILL listed in E2E_KILL_LOG)."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_tree(proc)
        log = getattr(proc, "log_path", None)
        text = Path(log).read_text(errors="replace") if log else ""
        raise AssertionError(f"wsreplay did not exit within {timeout}s\n{text}")


def records_block_offsets(data: bytes) -> list[int]:
    """File offsets of records blocks (sync word `WSBK`, kind 1) — candidates, CRCs unchecked."""
    found, start = [], 0
    while (at := data.find(b"WSBK", start)) >= 0:
        if at + 5 <= len(data) and data[at + 4] == 1:
            found.append(at)
        start = at + 1
    return found
