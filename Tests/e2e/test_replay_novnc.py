"""wsreplay to a real browser: noVNC in headless Chromium replays (a) a live session recorded
through our websockify from x11vnc, typing the same keys, and ends with the same canvas; (b) the
legacy Python websockify fixture, typing what its client typed. noVNC's files come from the
program under test itself (`--web`), on the port its WebSocket uses."""
from __future__ import annotations

import json
import time
from pathlib import Path

from pngdiff import data_url_png, differing_fraction
from replayutil import finish, read_report, record_file, wsreplay_bin
from test_novnc import CONNECT_TIMEOUT, FILE_TIMEOUT, NOVNC_DIR, poll
from vncdesk import REPO, stop_process, wait_for_port

# A canvas matches when at most this fraction of its pixels differ (by more than a few levels).
PIXEL_TOLERANCE = 0.002
CANVAS_TIMEOUT = 20.0


def canvas_png(driver) -> bytes:
    from selenium.webdriver.common.by import By
    canvas = driver.find_element(By.CSS_SELECTOR, "#screen canvas")
    return data_url_png(driver.execute_script("return arguments[0].toDataURL('image/png')", canvas))


def connect(driver, port: int) -> None:
    """vnc_lite.html from `port`'s --web, connecting to the same port."""
    from selenium.webdriver.common.by import By
    driver.get(f"http://127.0.0.1:{port}/vnc_lite.html?host=127.0.0.1&port={port}")
    poll(lambda: driver.find_element(By.ID, "status").text, lambda text: text.startswith("Connected"),
         CONNECT_TIMEOUT, "noVNC #status to read 'Connected to ...'")


def type_command(driver, command: str) -> None:
    """Click the canvas (focus) and type `command` + Return, the same way each time."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    canvas = driver.find_element(By.CSS_SELECTOR, "#screen canvas")
    ActionChains(driver).move_to_element(canvas).click().perform()
    ActionChains(driver).send_keys(command + Keys.ENTER).perform()


def test_replay_live_novnc_session_to_novnc(request, tmp_path, vncdesk, free_port, start_process,
                                            chromium_driver):
    driver = chromium_driver

    # 1. Live: noVNC -> websockify --record -> x11vnc; type a command into the xterm.
    ws_port = free_port()
    base = tmp_path / "live"
    proxy = start_process([request.getfixturevalue("proxy_bin"), f"--record={base}", f"--web={NOVNC_DIR}",
                           f"127.0.0.1:{ws_port}", f"127.0.0.1:{vncdesk.vnc_port}"], name="proxy")
    wait_for_port(ws_port, proxy)
    connect(driver, ws_port)
    command = "touch replayed-file"
    type_command(driver, command)
    created = vncdesk.workdir / "replayed-file"
    poll(created.exists, bool, FILE_TIMEOUT, f"{created} to be created by the typed command")
    time.sleep(1.0)  # let the echo of the command reach the canvas
    live_canvas = canvas_png(driver)
    (tmp_path / "live-canvas.png").write_bytes(live_canvas)
    # Stay connected a while: the replay keeps the session open as long, which leaves time to
    # compare its canvas (noVNC removes the canvas once disconnected).
    time.sleep(4.0)
    driver.get("about:blank")
    time.sleep(0.3)
    stop_process(proxy)
    recording = record_file(base)

    # 2. Replay it to a fresh noVNC, typing the same keys the same way.
    replay_port = free_port()
    report = tmp_path / "replay.json"
    replay = start_process([wsreplay_bin(), recording, "--port", replay_port, "--once",
                            "--report", report, "--web", NOVNC_DIR], name="wsreplay")
    wait_for_port(replay_port, replay)
    connect(driver, replay_port)
    type_command(driver, command)
    shots = {"last": b""}

    def matches() -> float:
        shots["last"] = canvas_png(driver)
        return differing_fraction(live_canvas, shots["last"])

    try:
        poll(matches, lambda fraction: fraction <= PIXEL_TOLERANCE, CANVAS_TIMEOUT,
             "the replayed canvas to match the live one", interval=0.5)
    finally:
        (tmp_path / "replay-canvas.png").write_bytes(shots["last"])
    driver.get("about:blank")
    code = finish(replay)
    log = Path(replay.log_path).read_text(errors="replace")
    assert code == 0, f"wsreplay exited {code}:\n{log}"
    result = read_report(report)
    assert result["divergences"] == [], json.dumps(result["divergences"], indent=1)
    session = result["sessions"][0]
    assert session["rfb"] and session["matched_client_units"] == session["expected_client_units"]
    assert session["frames_sent"] > 0 and session["bytes_received"] > 0


def test_replay_legacy_fixture_to_novnc(tmp_path, free_port, start_process, chromium_driver):
    driver = chromium_driver
    replay_port = free_port()
    report = tmp_path / "replay.json"
    fixture = REPO / "Fixtures" / "websockify-0.10-session.legacy"
    # A legacy file does not say who closed: the replay holds the session after the last frame, here
    # for 3 s, then closes it.
    replay = start_process([wsreplay_bin(), fixture, "--port", replay_port, "--once", "--report", report,
                            "--web", NOVNC_DIR, "--hold-timeout", "3"], name="wsreplay")
    wait_for_port(replay_port, replay)
    connect(driver, replay_port)
    # What the recorded client typed (its KeyEvents, per `wsrecord-inspect dump --hex`).
    type_command(driver, "echo hello")
    code = finish(replay)
    result = read_report(report)
    log = Path(replay.log_path).read_text(errors="replace")
    assert code == 0, f"wsreplay exited {code}:\n{log}"
    assert result["format"] == "websockify-legacy"
    assert result["sessions_played"] == 1
    session = result["sessions"][0]
    assert session["rfb"] and session["frames_sent"] == session["recorded_target_frames"]
    assert session["matched_client_units"] == session["expected_client_units"] == 28
