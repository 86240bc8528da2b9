"""Regression-testing noVNC against a recording (issue 13 §5): the live noVNC 1.3 session of
novnc_live.py (recorded once per run, shared with test_replay_browser.py) replayed with
wsreplay-browser to clients broken on purpose (copies of noVNC 1.7 patched in the test: one never
sends the 'h' key, one answers RFB 003.007), to itself converted to the legacy format (held open,
final canvas equal to the live one), and the legacy export played by noVNC's own
tests/vnc_playback.html (1.3 and 1.7) in Chromium. One browser at a time; each test stops what it
starts."""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from novnc_live import NOVNC_13_RELEASE, NOVNC_17, checked_messages, client_messages, complete_novnc_copy
from pngdiff import compare
from replayutil import wsreplay_bin
from test_novnc import NOVNC_DIR, poll
from test_replay_browser import QuietHandler, run_harness

def replay_to_broken_17(live, tmp_path: Path, old: str, new: str):
    """Replays the live recording with wsreplay-browser (--allow SetEncodings) to a complete copy of
    noVNC 1.7 with one change to core/rfb.js (`old` must occur exactly once); expects exit 1 and
    returns the run and its report."""
    client = complete_novnc_copy(NOVNC_17, tmp_path / "novnc-1.7.0-broken")
    rfb = client / "core" / "rfb.js"
    source = rfb.read_text()
    assert source.count(old) == 1, f"{old!r} not found once in {rfb}: the patch no longer applies"
    rfb.write_text(source.replace(old, new))
    report = tmp_path / "report.json"
    run = run_harness(live["recording"], "--client", client, "--allow", "SetEncodings", "--report", report)
    assert run.returncode == 1, run.stderr
    return run, json.loads(report.read_text())


def inspect_bin() -> str:
    return str(Path(wsreplay_bin()).with_name("wsrecord-inspect"))


def test_client_dropping_one_key_exits_1_naming_it_at_its_message(live, tmp_path):
    """noVNC 1.7 whose RFB.sendKey drops the keysym 'h' (0x68): the first divergence is the recorded
    KeyEvent 'h' down, class missing, at its recorded message; the keys after it are still checked."""
    run, result = replay_to_broken_17(live, tmp_path, "    sendKey(keysym, code, down) {\n",
                                      "    sendKey(keysym, code, down) {\n        if (keysym === 0x68) { return; }\n")
    messages = client_messages(live["recording"])
    h_down = next(i for i, m in enumerate(messages) if m["type"] == "KeyEvent" and m["keysym"] == 0x68 and m["down"])
    first = result["divergences"][0]
    assert first["change"] == "missing" and first["client_message"] == h_down, first
    assert first["recorded_message"] == "KeyEvent 'h' (0x68) down", first
    assert "KeyEvent 'h' (0x68) down" in first["message"] and "KeyEvent 'h' (0x68) down" in run.stderr
    session = result["sessions"][0]
    # Only the two 'h' events are missing: every other checked message (later keys included) is the same.
    assert [d["recorded_message"] for d in result["divergences"]] == ["KeyEvent 'h' (0x68) down",
                                                                     "KeyEvent 'h' (0x68) up"]
    checked = checked_messages(live["recording"])
    assert session["checked_client_messages"] == len(checked)
    assert session["same_client_messages"] == len(checked) - 3  # the two 'h' events and SetEncodings (allowed)
    assert session["allowed_client_messages"] == 1
    assert session["held_back_frames"] > 0  # the echo of 'h' and all after it were never played
    print(f"\ndropped key: {run.seconds:.1f} s")


def test_client_sending_rfb_003_007_exits_1_naming_the_version_at_message_0(live, tmp_path):
    """noVNC 1.7 that answers the server's 'RFB 003.008' greeting with 'RFB 003.007' (and then goes on
    as 3.8, so the rest of the session is the recorded one): one divergence, the ProtocolVersion,
    at client message #0; every later message is checked and the same."""
    run, result = replay_to_broken_17(live, tmp_path, 'this._sock.sQpushString("RFB " + cversion + "\\n");',
                                      'this._sock.sQpushString("RFB 003.007\\n");')
    [divergence] = result["divergences"]
    assert divergence["client_message"] == 0 and divergence["change"] == "changed", divergence
    assert divergence["recorded_message"] == "ProtocolVersion 3.8", divergence
    assert divergence["actual_message"] == "ProtocolVersion 3.7", divergence
    assert "expected ProtocolVersion 3.8, got ProtocolVersion 3.7" in run.stderr
    session = result["sessions"][0]
    checked = checked_messages(live["recording"])
    assert session["checked_client_messages"] == len(checked)
    assert session["same_client_messages"] == len(checked) - 2  # ProtocolVersion, SetEncodings (allowed)
    assert result["browser"]["key_events"]["enacted"] == result["browser"]["key_events"]["recorded"] > 0
    print(f"\nRFB 003.007: {run.seconds:.1f} s")


def test_legacy_export_of_the_live_session_holds_and_ends_on_the_live_canvas(live, tmp_path):
    """The live recording converted to Python websockify's format (which says nothing of the close):
    wsreplay holds the session open after the last frame (the page, not the server, closes it), every
    client message and key is checked, and the final canvas is the live one."""
    legacy = tmp_path / "live.js"
    subprocess.run([inspect_bin(), "convert", "--to", "websockify", str(live["recording"]), str(legacy)],
                   check=True, capture_output=True)
    assert legacy.read_text().startswith("var VNC_frame_data = [")
    report, canvas = tmp_path / "report.json", tmp_path / "canvas.png"
    run = run_harness(legacy, "--client", NOVNC_DIR, "--canvas", canvas, "--reference", live["canvas"],
                      "--report", report)
    assert run.returncode == 0, run.stderr
    result = json.loads(report.read_text())
    session = result["sessions"][0]
    assert result["format"] == "websockify-legacy" and result["divergences"] == []
    # Held: the client closed (when the harness left the page), the server did not close at the end.
    assert session["closed_by_client"] is True, session
    assert not any("did not close within" in note for note in session["notes"]), session["notes"]
    assert run.seconds < 30, f"took {run.seconds:.1f} s: the page should leave once all frames arrived"
    checked = checked_messages(live["recording"])
    assert session["checked_client_messages"] == session["same_client_messages"] == len(checked)
    b = result["browser"]
    assert b["key_events"]["enacted"] == b["key_events"]["recorded"] == \
        len([m for m in checked if m["type"] == "KeyEvent"])
    assert b["canvas"]["differing_pixels"] == 0
    assert compare(canvas.read_bytes(), live["canvas"].read_bytes()).differing == 0
    print(f"\nlegacy export: {run.seconds:.1f} s")


@contextlib.contextmanager
def served(directory: Path):
    """`directory` over HTTP on a free loopback port (the playback page loads ES modules, which
    Chromium refuses from file: URLs); yields the base URL, stops the server afterwards."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


PLAYBACK_TIMEOUT = 30


@pytest.mark.parametrize("release", ["1.3", "1.7"])
def test_legacy_export_plays_to_the_end_in_novnc_vnc_playback_page(release, live, tmp_path):
    """`wsrecord-inspect convert --to websockify` of the live session, loaded by noVNC's own
    tests/vnc_playback.html (as released) the way it loads Python websockify's recordings:
    `?data=FILE` includes ../recordings/FILE as a script defining VNC_frame_data. Played once in real
    time, the page reports the iteration finished, noVNC never reports a disconnect, the console has no
    error, and the canvas it drew is the live session's final canvas."""
    from wsreplay_browser import browser as harness_browser

    client = complete_novnc_copy(NOVNC_13_RELEASE if release == "1.3" else NOVNC_17, tmp_path / "novnc")
    (client / "favicon.ico").write_bytes(b"")  # no 404 in the console for the icon Chromium asks for
    (client / "recordings").mkdir(exist_ok=True)
    subprocess.run([inspect_bin(), "convert", "--to", "websockify", str(live["recording"]),
                    str(client / "recordings" / "live.js")], check=True, capture_output=True)
    started = time.monotonic()
    driver = harness_browser.start(Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"), tmp_path / "profile",
                                   tmp_path / "chromedriver.log", 800, 600)
    try:
        with served(client) as base:
            driver.get(f"{base}/tests/vnc_playback.html?data=live.js&iterations=1&mode=realtime")
            messages = lambda: driver.execute_script("return document.getElementById('messages').value")  # noqa: E731
            poll(messages, lambda text: "Ready" in text or "Error" in text, 10, "the recording to load")
            assert "Error" not in messages(), messages()
            driver.execute_script("document.getElementById('startButton').click()")

            def finished():
                harness_browser.state(driver, 800, 600)  # keeps the framebuffer canvas once noVNC sized it
                return messages()
            text = poll(finished, lambda t: "iterations took" in t or "disconnected" in t, PLAYBACK_TIMEOUT,
                        "vnc_playback.html to finish its iteration")
            canvas = harness_browser.canvas_png(driver)
            console = harness_browser.console(driver)
    finally:
        driver.quit()
    assert "Iteration 1 took" in text and "1 iterations took" in text, text
    assert "disconnected" not in text and "Error" not in text, text
    assert [line for line in console if line.startswith("SEVERE")] == [], console
    assert canvas, "vnc_playback.html drew no 800x600 canvas"
    assert compare(canvas, live["canvas"].read_bytes()).differing == 0
    print(f"\nvnc_playback.html {release}: {time.monotonic() - started:.1f} s")
