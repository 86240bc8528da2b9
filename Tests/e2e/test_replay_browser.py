"""wsreplay-browser (tools/wsreplay-browser): a live noVNC 1.3 session typed into an xterm on a real
x11vnc desktop, recorded through our websockify, is re-enacted in headless Chromium against noVNC 1.3
(Debian's) and 1.7 (as released), with its keys pressed through WebDriver; exit codes, report, JUnit
and canvas comparison are checked. The live session is recorded once per run (the `live` fixture of
novnc_live.py, shared with test_replay_novnc_versions.py); one browser runs at a time, and every test
stops what it starts."""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from novnc_live import COMMAND, NOVNC_17, checked_messages, complete_novnc_copy
from pngdiff import compare, encode_png, read_image
from replayutil import records_block_offsets, wsreplay_bin
from test_novnc import NOVNC_DIR, poll
from vncdesk import REPO

TOOL = REPO / "tools" / "wsreplay-browser"
sys.path.insert(0, str(REPO / "tools"))
from wsreplay_browser import browser as harness_browser  # noqa: E402
from wsreplay_browser.keys import SPECIAL_KEYS  # noqa: E402

HARNESS_TIMEOUT = 90


def tool_env(**extra) -> dict:
    wsreplay = wsreplay_bin()
    return dict(os.environ, WSREPLAY_BIN=wsreplay,
                WSRECORD_INSPECT_BIN=str(Path(wsreplay).with_name("wsrecord-inspect")), **extra)


def run_harness(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    started = time.monotonic()
    run = subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True,
                         env=env or tool_env(), timeout=HARNESS_TIMEOUT, stdin=subprocess.DEVNULL)
    run.seconds = time.monotonic() - started  # type: ignore[attr-defined]
    return run


def junit_cases(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()  # raises on a file that is not well-formed XML
    assert root.tag == "testsuite" and root.get("name") == "wsreplay-browser"
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"replay", "input", "canvas"}, ET.tostring(root, encoding="unicode")
    assert int(root.get("tests")) == 3
    return cases


def outcome(case: ET.Element) -> str:
    children = [child.tag for child in case]
    return children[0] if children else "passed"


def rfb_messages(recording: Path, kind: str) -> list[dict]:
    inspect = Path(wsreplay_bin()).with_name("wsrecord-inspect")
    out = subprocess.run([str(inspect), "dump", "--rfb", "--json", "--direction", "client", str(recording)],
                         capture_output=True, text=True, check=True).stdout
    return [m for m in map(json.loads, out.splitlines()) if m["type"] == kind]


def test_replays_live_session_to_novnc_13_with_equal_canvas(live, tmp_path):
    report, junit, canvas = tmp_path / "report.json", tmp_path / "junit.xml", tmp_path / "canvas.png"
    run = run_harness(live["recording"], "--client", NOVNC_DIR, "--canvas", canvas, "--reference", live["canvas"],
                      "--report", report, "--junit", junit)
    assert run.returncode == 0, run.stderr
    result = json.loads(report.read_text())
    assert result["divergences"] == []
    session = result["sessions"][0]
    assert session["rfb"] and session["matched_client_units"] == session["expected_client_units"]
    b = result["browser"]
    recorded_keys = rfb_messages(live["recording"], "KeyEvent")
    # Every recorded client message but the free ones, every KeyEvent among them, was checked and the same.
    checked = checked_messages(live["recording"])
    assert session["checked_client_messages"] == session["same_client_messages"] == len(checked)
    assert len([m for m in checked if m["type"] == "KeyEvent"]) == len(recorded_keys)
    assert len(recorded_keys) >= 2 * (len(COMMAND) + 1)  # down and up per character and Return
    assert b["key_events"] == {"recorded": len(recorded_keys), "enacted": len(recorded_keys)}
    assert b["pointer_events"]["enacted"] == b["pointer_events"]["recorded"] > 0
    assert b["not_reenactable"] == []
    assert b["target_messages"]["received"] == b["target_messages"]["recorded"] == session["recorded_target_frames"]
    assert b["canvas"]["differing_pixels"] == 0 and b["canvas"]["total_pixels"] == 800 * 600
    assert compare(canvas.read_bytes(), live["canvas"].read_bytes()).differing == 0
    cases = junit_cases(junit)
    assert [outcome(cases[name]) for name in ("replay", "input", "canvas")] == ["passed"] * 3
    recorded_seconds = session["duration_seconds"]
    print(f"\nwsreplay-browser: {run.seconds:.1f} s for a session of {recorded_seconds:.1f} s "
          f"({len(recorded_keys)} key events); harness says {b['duration_seconds']} s")


def test_reference_that_differs_exits_1_with_count_and_diff_image(live, tmp_path):
    image = read_image(live["canvas"].read_bytes())
    rgb = bytearray(b"".join(image.rgb(i) for i in range(image.width * image.height)))
    for y in range(100, 110):  # a 20x10 block inverted: 200 pixels that differ by far more than the tolerance
        for x in range(300, 320):
            at = (y * image.width + x) * 3
            rgb[at:at + 3] = bytes(255 - v for v in rgb[at:at + 3])
    reference = tmp_path / "reference.png"
    reference.write_bytes(encode_png(image.width, image.height, bytes(rgb)))
    canvas, junit = tmp_path / "out.png", tmp_path / "junit.xml"
    run = run_harness(live["recording"], "--client", NOVNC_DIR, "--canvas", canvas, "--reference", reference,
                      "--junit", junit, "--speed", "2")
    assert run.returncode == 1, run.stderr
    assert "200 of 480000 pixels" in run.stderr
    diff = tmp_path / "out.diff.png"
    assert diff.exists() and str(diff) in run.stderr
    marked = read_image(diff.read_bytes())
    red = [i for i in range(marked.width * marked.height) if marked.rgb(i) == b"\xff\x00\x00"]
    assert len(red) == 200 and red[0] == 100 * image.width + 300
    cases = junit_cases(junit)
    assert outcome(cases["replay"]) == "passed" and outcome(cases["canvas"]) == "failure"
    assert "200 of 480000 pixels" in cases["canvas"][0].get("message")


def test_damaged_recording_exits_3(live, tmp_path):
    data = live["recording"].read_bytes()
    blocks = records_block_offsets(data)
    assert len(blocks) >= 2, "the live recording should span several blocks"
    damaged = tmp_path / "damaged.rec"
    damaged.write_bytes(data[:blocks[-1] + 40])  # the last block cut short
    junit = tmp_path / "junit.xml"
    run = run_harness(damaged, "--client", NOVNC_DIR, "--junit", junit)
    assert run.returncode == 3, run.stderr
    cases = junit_cases(junit)
    assert outcome(cases["replay"]) == "error"
    assert "damaged" in cases["replay"][0].get("message")


def test_novnc_17_without_allow_diverges_at_set_encodings(live, tmp_path):
    client = complete_novnc_copy(NOVNC_17, tmp_path / "novnc-1.7.0")
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    run = run_harness(live["recording"], "--client", client, "--reference", live["canvas"], "--report", report,
                      "--junit", junit)
    assert run.returncode == 1, run.stderr
    result = json.loads(report.read_text())
    # The one divergence names what 1.7 added and removed; checking went on to the end of the session:
    # every other recorded client message (every KeyEvent among them) was checked and the same.
    [first] = result["divergences"]
    recorded = checked_messages(live["recording"])
    [encodings] = [m["names"] for m in recorded if m["type"] == "SetEncodings"]
    assert first["change"] == "changed" and first["client_message"] == 4, first
    assert first["message"].startswith("SetEncodings differs: added H.264, "), first
    added = first["message"].split("added ", 1)[1].split(";", 1)[0].split(", ")
    assert not set(added) & set(encodings) and "; removed —;" in first["message"], first
    session = result["sessions"][0]
    assert session["checked_client_messages"] == len(recorded)
    assert session["same_client_messages"] == len(recorded) - 1 and session["allowed_client_messages"] == 0
    assert [m["type"] for m in recorded].count("KeyEvent") == len(rfb_messages(live["recording"], "KeyEvent"))
    b = result["browser"]
    assert b["connected"] and b["not_reenactable"] == []
    assert b["key_events"]["enacted"] == b["key_events"]["recorded"] > 0
    cases = junit_cases(junit)
    assert outcome(cases["replay"]) == "failure" and "SetEncodings" in cases["replay"][0].get("message")


def test_allow_and_rules_need_a_wsreplay_that_has_them(live, tmp_path):
    """Until wsreplay has --allow/--rules (issue 13 §2), the harness refuses them (exit 2) instead of
    running without them; once it has them, 1.7 with --allow SetEncodings passes."""
    help_text = subprocess.run([wsreplay_bin(), "--help"], capture_output=True, text=True).stdout
    client = complete_novnc_copy(NOVNC_17, tmp_path / "novnc-1.7.0")
    report = tmp_path / "report.json"
    run = run_harness(live["recording"], "--client", client, "--allow", "SetEncodings",
                      "--reference", live["canvas"], "--report", report)
    if "--allow" not in help_text:
        assert run.returncode == 2, run.stderr
        assert "lacks --allow" in run.stderr and "nothing was run" in run.stderr
    else:  # the 1.3 recording passes with 1.7: every client message checked, every key re-enacted
        assert run.returncode == 0, run.stderr
        result = json.loads(report.read_text())
        session, b = result["sessions"][0], result["browser"]
        assert result["divergences"] == [] and session["matched_client_units"] == session["expected_client_units"]
        checked = len(checked_messages(live["recording"]))  # every KeyEvent among them
        assert session["checked_client_messages"] == checked and session["same_client_messages"] == checked - 1
        assert session["allowed_client_messages"] == 1  # SetEncodings
        assert b["key_events"]["enacted"] == b["key_events"]["recorded"] > 0 and b["canvas"]["differing_pixels"] == 0
    if "--rules" not in help_text:
        rules = tmp_path / "rules.json"
        rules.write_text("{}")
        run = run_harness(live["recording"], "--client", client, "--rules", rules)
        assert run.returncode == 2 and "lacks --rules" in run.stderr, run.stderr


@pytest.mark.parametrize("case", ["client dir", "page", "chromium", "chromedriver", "wsreplay", "wsreplay unrunnable"])
def test_missing_pieces_exit_2_naming_them(case, tmp_path):
    fixture = REPO / "Fixtures" / "websockify-0.10-session.legacy"
    args, env, expected = [fixture, "--client", NOVNC_DIR], tool_env(), ""
    if case == "client dir":
        args[2], expected = tmp_path / "no-such-dir", f"the client directory {tmp_path / 'no-such-dir'} does not exist"
    elif case == "page":
        args += ["--page", "nope.html"]
        expected = f"the page {NOVNC_DIR / 'nope.html'} does not exist"
    elif case == "chromium":
        env["CHROMIUM"], expected = str(tmp_path / "chromium"), f"CHROMIUM={tmp_path / 'chromium'} is not an executable"
    elif case == "chromedriver":
        env["CHROMEDRIVER"] = str(tmp_path / "cd")
        expected = f"CHROMEDRIVER={tmp_path / 'cd'} is not an executable"
    elif case == "wsreplay":
        env["WSREPLAY_BIN"], expected = str(tmp_path / "wsreplay"), f"WSREPLAY_BIN={tmp_path / 'wsreplay'} is not an"
    else:  # executable by its mode, but not a program (as while a build relinks it: "Text file busy")
        broken = tmp_path / "wsreplay"
        broken.write_bytes(b"\x00not a program\n")
        broken.chmod(0o755)
        env["WSREPLAY_BIN"], expected = str(broken), f"cannot start {broken}: [Errno 8] Exec format error"
    junit = tmp_path / "junit.xml"
    run = run_harness(*args, "--junit", junit, env=env)
    assert run.returncode == 2, run.stderr
    assert expected in run.stderr
    root = ET.parse(junit).getroot()
    assert root.get("errors") == "1" and expected in root.find("testcase/error").get("message")


PROBE_PAGE = """<!doctype html><canvas id=c tabindex=0 width=64 height=64></canvas>
<script type=module>
const {default: Keyboard} = await import('./core/input/keyboard.js');
window.keysyms = [];
const canvas = document.getElementById('c');
const keyboard = new Keyboard(canvas);
keyboard.onkeyevent = (keysym, code, down) => window.keysyms.push([keysym, down]);
keyboard.grab();
canvas.focus();
window.ready = true;
</script>"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def page_in_browser(directory: Path, page: str, tmp_path: Path, width: int, height: int):
    """Serves `directory` on a loopback port and opens `page` from it in the harness's Chromium (its page
    probe included); yields the driver once the page sets `window.ready`. Stops both afterwards."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = None
    try:
        driver = harness_browser.start(Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"), tmp_path / "profile",
                                       tmp_path / "chromedriver.log", width, height)
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/{page}")
        poll(lambda: driver.execute_script("return window.ready === true"), bool, 10, f"{page} to be ready")
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("release", ["1.3", "1.7"])
def test_every_special_key_gives_its_keysym_in_novnc_keyboard(release, tmp_path):
    """The keysym -> WebDriver key table against noVNC's own keyboard layer: pressing each key
    through WebDriver makes noVNC report exactly that keysym, down then up."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    client = complete_novnc_copy(NOVNC_DIR if release == "1.3" else NOVNC_17, tmp_path / "novnc")
    (client / "probe.html").write_text(PROBE_PAGE)
    with page_in_browser(client, "probe.html", tmp_path, 64, 64) as driver:
        wrong = {}
        for keysym, key in [*SPECIAL_KEYS.items(), (0x65, "e"), (0x45, "E"), (0x20, " "), (0x20AC, "€")]:
            driver.execute_script("window.keysyms = []")
            actions = ActionBuilder(driver, duration=0)
            actions.key_action.key_down(key).key_up(key)
            actions.perform()
            got = driver.execute_script("return window.keysyms")
            if got != [[keysym, True], [keysym, False]]:
                wrong[hex(keysym)] = got
        assert wrong == {}, f"noVNC {release} reported other keysyms: {wrong}"


# An 800x600 framebuffer canvas shown 1.5 times larger, away from the corner; each mouse button and wheel
# event is logged in framebuffer pixels the way a VNC client computes them from the event's client point.
POINTER_PAGE = """<!doctype html><style>body { margin: 0 } #c { position: absolute; left: 37px; top: 23px;
width: 1200px; height: 900px }</style><canvas id=c width=800 height=600></canvas>
<script>
window.events = [];
const c = document.getElementById('c');
const log = (kind, detail, e) => {
  const r = c.getBoundingClientRect();
  window.events.push([kind, detail, Math.floor((e.clientX - r.left) * c.width / r.width),
                      Math.floor((e.clientY - r.top) * c.height / r.height)]);
};
c.addEventListener('mousedown', e => log('down', e.button, e));
c.addEventListener('mouseup', e => log('up', e.button, e));
c.addEventListener('wheel', e => { log('wheel', [Math.sign(e.deltaX), Math.sign(e.deltaY)], e); e.preventDefault(); });
c.addEventListener('contextmenu', e => e.preventDefault());
window.ready = true;
</script>"""


def test_pointer_events_land_on_their_framebuffer_pixels_through_scaling(tmp_path):
    """The harness's pointer re-enactment on a canvas scaled by 1.5: every press, release and wheel step
    reaches the canvas at the recorded framebuffer pixel, with the recorded button."""
    from wsreplay_browser.enact import Enactor
    from wsreplay_browser.recording import PointerInput

    (tmp_path / "pointer.html").write_text(POINTER_PAGE)
    with page_in_browser(tmp_path, "pointer.html", tmp_path, 1200, 900) as driver:
        assert harness_browser.state(driver, 800, 600)["canvas"]
        recorded = [(0, 10, 20), (1, 10, 20), (0, 10, 20), (0, 799, 599), (4, 799, 599), (0, 799, 599),
                    (2, 401, 299), (0, 401, 299), (16, 123, 457), (0, 123, 457), (8, 3, 5), (0, 3, 5),
                    (1, 600, 100), (1, 650, 120), (0, 650, 120)]  # the last three: a drag
        inputs = [PointerInput(n * 20_000, buttons, x, y) for n, (buttons, x, y) in enumerate(recorded)]
        outcome = Enactor(driver, time.time(), 1.0).run(inputs)
        assert outcome.not_reenactable == [] and outcome.pointers_enacted == len(inputs)
        events = driver.execute_script("return window.events")
    assert events == [["down", 0, 10, 20], ["up", 0, 10, 20], ["down", 2, 799, 599], ["up", 2, 799, 599],
                      ["down", 1, 401, 299], ["up", 1, 401, 299], ["wheel", [0, 1], 123, 457],
                      ["wheel", [0, -1], 3, 5], ["down", 0, 600, 100], ["up", 0, 650, 120]]


def test_legacy_fixture_replays_to_the_end_and_keeps_the_final_canvas(tmp_path):
    """A legacy recording says nothing of its close: wsreplay ends the session after the last frame,
    and the canvas is read from the client after that (noVNC keeps its canvas element)."""
    fixture = REPO / "Fixtures" / "websockify-0.10-session.legacy"
    canvas, report = tmp_path / "canvas.png", tmp_path / "report.json"
    run = run_harness(fixture, "--client", NOVNC_DIR, "--canvas", canvas, "--report", report)
    assert run.returncode == 0, run.stderr
    # The session lasts 2.4 s: the page is left once every recorded target message has arrived, whether
    # wsreplay closes after the last frame or holds the session open for the client to close.
    assert run.seconds < 15, f"took {run.seconds:.1f} s:\n{run.stderr}"
    b = json.loads(report.read_text())["browser"]
    assert b["key_events"] == {"recorded": 22, "enacted": 22}  # "echo hello" and Return, down and up
    image = read_image(canvas.read_bytes())
    colours = {image.rgb(i) for i in range(0, image.width * image.height, 7)}
    assert (image.width, image.height) == (800, 600) and len(colours) >= 2, "a blank canvas"


def test_keys_enacted_through_novnc_keyboard_and_unpressable_ones_reported(tmp_path):
    """The harness's key re-enactment into noVNC 1.3's keyboard layer: recorded keys arrive as their
    keysyms in order; KP_Enter (no WebDriver key gives it) is listed as not re-enactable, press and release."""
    from wsreplay_browser.enact import Enactor
    from wsreplay_browser.recording import KeyInput

    client = complete_novnc_copy(NOVNC_DIR, tmp_path / "novnc")
    (client / "probe.html").write_text(PROBE_PAGE)
    with page_in_browser(client, "probe.html", tmp_path, 64, 64) as driver:
        assert harness_browser.state(driver, 64, 64)["canvas"]
        recorded = [(True, 0xFFE1, "Shift_L", None), (True, 0x41, "A", "A"), (False, 0x41, "A", "A"),
                    (False, 0xFFE1, "Shift_L", None), (True, 0xFF8D, "KP_Enter", None),
                    (False, 0xFF8D, "KP_Enter", None), (True, 0xFFC2, "F5", None), (False, 0xFFC2, "F5", None)]
        inputs = [KeyInput(n * 30_000, down, keysym, key, char) for n, (down, keysym, key, char) in enumerate(recorded)]
        outcome = Enactor(driver, time.time(), 1.0).run(inputs)
        got = driver.execute_script("return window.keysyms")
    assert got == [[0xFFE1, True], [0x41, True], [0x41, False], [0xFFE1, False], [0xFFC2, True], [0xFFC2, False]]
    assert outcome.keys_enacted == 6
    assert [(e["time_us"], e["event"]) for e in outcome.not_reenactable] == [
        (120_000, "KP_Enter (0xff8d) down"), (150_000, "KP_Enter (0xff8d) up")]
