"""A live noVNC session recorded once per test run, shared by the wsreplay-browser tests
(test_replay_browser.py, test_replay_novnc_versions.py), and complete copies of the noVNC releases.

Loaded as a pytest plugin by conftest.py (`pytest_plugins`), so the session-scoped `live` fixture is
one fixture for every module: the desktop, the proxy and a browser are started for it once.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from replayutil import record_file, wsreplay_bin
from test_novnc import FILE_TIMEOUT, NOVNC_DIR, poll
from test_replay_novnc import connect, type_command
from vncdesk import REPO, VncDesk, pick_free_port, stop_process, wait_for_port

NOVNC_13_RELEASE = REPO.parent / "shared" / "peers" / "novnc-1.3.0"
NOVNC_17 = REPO.parent / "shared" / "peers" / "novnc-1.7.0"
COMMAND = "touch re-enacted-file"
sys.path.insert(0, str(REPO / "tools"))  # the wsreplay_browser package
# RFB client messages wsreplay does not compare by default (RFBRules' free types).
FREE = {"FramebufferUpdateRequest", "PointerEvent"}


def client_messages(recording: Path) -> list[dict]:
    """Every decoded client message of the recording's first session (wsrecord-inspect dump --rfb),
    handshake included: the position in this list is a divergence's `client_message` index."""
    inspect = Path(wsreplay_bin()).with_name("wsrecord-inspect")
    out = subprocess.run([str(inspect), "dump", "--rfb", "--json", "--direction", "client", "--session", "1",
                          str(recording)], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def checked_messages(recording: Path) -> list[dict]:
    """The recorded client messages wsreplay checks by default (all but the free ones)."""
    return [m for m in client_messages(recording) if m["type"] not in FREE]


def complete_novnc_copy(source: Path, into: Path) -> Path:
    """A writable copy of a noVNC tree. The 1.3.0 and 1.7.0 trees in ../shared/peers lack pako's
    lib/utils/common.js (their zlib inflater imports it, so neither vnc_lite.html nor
    tests/vnc_playback.html can load); the copy gets Debian's (pako is vendored unchanged between
    noVNC 1.3 and 1.7)."""
    if not source.is_dir():
        pytest.fail(f"{source} missing: the noVNC release the test replays to")
    shutil.copytree(source, into)
    for path in [into, *into.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    common = into / "vendor" / "pako" / "lib" / "utils" / "common.js"
    if not common.exists():
        common.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(NOVNC_DIR / "vendor" / "pako" / "lib" / "utils" / "common.js", common)
    return into


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """Records once: noVNC 1.3 (Debian's, served by our websockify's --web) -> websockify --record ->
    x11vnc, typing COMMAND + Return into the xterm; the canvas is read right before the page is left
    (which closes the session), as the harness reads it where the recorded client closed."""
    from wsreplay_browser import browser as harness_browser

    tmp = tmp_path_factory.mktemp("live")
    proxy_bin = os.environ.get("WEBSOCKIFY_BIN", str(REPO / ".build" / "debug" / "websockify"))
    if not os.access(proxy_bin, os.X_OK):
        pytest.fail(f"websockify binary not found at {proxy_bin}: swift build, or set WEBSOCKIFY_BIN")
    with VncDesk(workdir=tmp / "home", logdir=tmp / "logs") as desk:
        port = pick_free_port()
        with open(tmp / "logs" / "proxy.log", "wb") as log:
            proxy = subprocess.Popen([proxy_bin, f"--record={tmp / 'live'}", f"--web={NOVNC_DIR}",
                                      f"127.0.0.1:{port}", f"127.0.0.1:{desk.vnc_port}"],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        driver = None
        try:
            wait_for_port(port, proxy)
            driver = harness_browser.start(Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"),
                                           tmp / "profile", tmp / "logs" / "chromedriver.log", 800, 600)
            connect(driver, port)
            harness_browser.wait_connected(driver, 800, 600, 10)
            type_command(driver, COMMAND)
            created = desk.workdir / COMMAND.split()[1]
            poll(created.exists, bool, FILE_TIMEOUT, f"{created} to be created by the typed command")
            time.sleep(1.5)  # the echo of the command and the new prompt reach the canvas
            canvas = harness_browser.canvas_png(driver)
            driver.get("about:blank")
            time.sleep(0.3)
        finally:
            if driver is not None:
                driver.quit()
            stop_process(proxy)
    assert canvas, "no live canvas"
    (tmp / "live-canvas.png").write_bytes(canvas)
    return {"recording": record_file(tmp / "live"), "canvas": tmp / "live-canvas.png"}
