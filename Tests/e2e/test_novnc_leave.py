"""A noVNC page that is left ends its session through our websockify: the browser's close frame is
answered, the VNC server's connection is closed and the session's end is logged and recorded.

What Chromium does when a page with an open WebSocket is left (measured with headless Chromium 156,
noVNC's vnc_lite.html through `websockify --web`, tshark on loopback):

- With the back/forward cache (Chromium's default), navigating to about:blank sends nothing at all on
  the WebSocket's connection: no close frame, no FIN, for as long as the page stays in the cache.
  The page is kept alive with its socket open; going back restores the same document
  (`pageshow` with `persisted` true) and only then does Chromium send a close frame 1001 and a FIN,
  as it does when the browser quits. A test that leaves the page and waits for the session to end
  would wait for nothing.
- With `--disable-features=BackForwardCache`, leaving the page sends a close frame 1001 and a FIN
  within a few tens of milliseconds; websockify answers with its close frame 1001 and closes the
  target connection at once.

So this test (and others that leave a page to end a session) runs Chromium without that cache.
"""
from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from replayutil import record_file
from test_inspect_diff_rfb import inspect_bin
from test_novnc import NOVNC_DIR, poll
from test_replay_novnc import connect as novnc_connect
from vncdesk import stop_process, wait_for_port

# How long the end of a session may take once the page is left (measured: under 0.1 s).
LEAVE_TIMEOUT = 5.0


@pytest.fixture
def chromium_extra_args() -> list[str]:
    # Without it, a page left for about:blank stays alive in the back/forward cache with its
    # WebSocket open (see the module docstring).
    return ["--disable-features=BackForwardCache"]


def test_leaving_the_novnc_page_closes_the_session_and_the_vnc_connection(
        request, tmp_path, vncdesk, free_port, start_process, chromium_driver):
    port = free_port()
    base = tmp_path / "leave"
    proxy = start_process([request.getfixturevalue("proxy_bin"), f"--record={base}", f"--web={NOVNC_DIR}",
                           f"127.0.0.1:{port}", f"127.0.0.1:{vncdesk.vnc_port}"], name="proxy")
    wait_for_port(port, proxy)
    vnc_log = vncdesk.logdir / "x11vnc.log"

    def vnc_clients_gone() -> int:
        return vnc_log.read_text(errors="replace").count("Client 127.0.0.1 gone")

    novnc_connect(chromium_driver, port)
    gone_before = vnc_clients_gone()
    proxy_log = Path(proxy.log_path)
    assert "session 1 closed" not in proxy_log.read_text(errors="replace")

    chromium_driver.get("about:blank")
    log = poll(lambda: proxy_log.read_text(errors="replace"), lambda text: "session 1 closed" in text,
               LEAVE_TIMEOUT, "websockify to log the end of session 1 after the page was left")
    closed = next(line for line in log.splitlines() if "session 1 closed" in line)
    assert "session 1 closed by client, code 1001" in closed, closed
    poll(vnc_clients_gone, lambda n: n == gone_before + 1, LEAVE_TIMEOUT,
         "x11vnc to log that the proxy's connection is gone")
    assert proxy.poll() is None, "websockify should keep running"
    stop_process(proxy)
    assert "closing listener and 0 session(s)" in proxy_log.read_text(errors="replace")

    # The recording ends with the browser's close frame, the proxy's answer and the close record.
    dump = subprocess.run([inspect_bin(), "dump", "--json", "--payload", record_file(base)], capture_output=True,
                          text=True, timeout=30)
    assert dump.returncode == 0, dump.stdout + dump.stderr
    records = [json.loads(line) for line in dump.stdout.splitlines()]
    close_frames = [(r["from"], int.from_bytes(base64.b64decode(r["payload_b64"])[:2], "big"))
                    for r in records if r["kind"] == "close" and "from" in r]
    assert close_frames == [("client", 1001), ("target", 1001)], records[-4:]
    assert records[-1]["kind"] == "close" and "from" not in records[-1], records[-1]
    assert records[-1].get("closed_by") == "client" and records[-1].get("code") == 1001, records[-1]
