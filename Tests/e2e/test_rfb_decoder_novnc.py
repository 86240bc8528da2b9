"""The RFB framebuffer decoder (Sources/RFBDecoding) against noVNC's canvas (issue 16 §1).

A real noVNC in headless Chromium (Debian's /usr/share/novnc, and the 1.3.0 and 1.7.0 release trees
of ../shared/peers) connects through `websockify --record` to a real VNC server: x11vnc on Xvfb,
TigerVNC's Xvnc (with noVNC 1.7), and for TightPNG QEMU's. The two X desktops, each shared by its
server's cases, show fixed content: coloured text and 256-colour and true-colour cells in an xterm,
and a Tk window with smooth gradients and noise (what makes Tight choose JPEG). A page of ours
(novnc_encodings_page.html) imports the tree's own core/rfb.js and keeps, of the SetEncodings list
that noVNC builds, only the encoding under test and the pseudo-encodings DesktopSize, LastRect and
Cursor (and a JPEG quality level, or ExtendedDesktopSize, where a case wants them): nothing in the
trees is edited.

Cases: Raw, RRE, Hextile, ZRLE, Zlib, Tight (fill, copy, palettes), Tight with JPEG, TightPNG (fill and
PNG, on QEMU's "Guest has not initialized the display" screen), Raw in noVNC's 8-bit colour mode,
CopyRect (after a scroll typed through noVNC, or a window moved), a screen resized by RandR
(DesktopSize, ExtendedDesktopSize), and the pointer's shape (Cursor: noVNC's own cursor image drawn
at the pointer over its canvas must equal `RFBDecodeTool --with-cursor`).

Once no WebSocket message has arrived for QUIET seconds, the test reads noVNC's canvas (toDataURL,
exact pixels; noVNC draws the pointer on an element of its own, not on the canvas), disconnects and
stops the proxy. The recorded session is decoded twice, by RFBDecodeTool fed the recorded bytes
(`wsrecord-inspect dump --json --payload`) and by the product's `wsrecord-inspect render --at` the
session's end, and each screen is compared with the canvas: pixel-exact wherever a lossless
rectangle drew last, within JPEG_MAX_ERROR/JPEG_MEAN_ERROR where a JPEG rectangle did. Each case also
checks, from the recording (`dump --rfb --json`), that the server really sent the encoding under test
(and JPEG, CopyRect pixels still on the screen at the end, the resize), that noVNC drew the same
rectangles, and that every canvas pixel is opaque.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import time
from dataclasses import dataclass
from types import SimpleNamespace
from pathlib import Path

import pytest

from novnc_live import NOVNC_13_RELEASE, NOVNC_17, complete_novnc_copy
from pngdiff import data_url_png, read_image  # also puts tools/ on the path, for wsreplay_browser
from test_novnc import NOVNC_DIR, poll
from test_replay_novnc_versions import served
from test_rfb_decoder import decode_tool
from vncdesk import VncDesk, pick_free_port, stop_process, stop_tree, wait_for_port, wait_for_rfb
from wsreplay_browser import browser as harness_browser  # noqa: E402 - after pngdiff

RAW, COPYRECT, RRE, HEXTILE, ZLIB, TIGHT, ZRLE = 0, 1, 2, 5, 6, 7, 16
TIGHTPNG = -260  # a real encoding with a negative number
NAMES = {RAW: "Raw", COPYRECT: "CopyRect", RRE: "RRE", HEXTILE: "Hextile", ZLIB: "Zlib", TIGHT: "Tight",
         ZRLE: "ZRLE", TIGHTPNG: "TightPNG"}
DESKTOP_SIZE, LAST_RECT, CURSOR, EXTENDED_DESKTOP_SIZE = -223, -224, -239, -308
QUALITY_6 = -32 + 6  # noVNC's default JPEG quality level; without it x11vnc's Tight sends no JPEG
PSEUDO = [DESKTOP_SIZE, LAST_RECT, CURSOR]
WIDTH, HEIGHT = 800, 600
PAGE = Path(__file__).with_name("novnc_encodings_page.html")
QUIET = 1.5  # seconds without a WebSocket message that count as a quiet screen (0.8 was too short on a loaded 2-core machine: x11vnc paused longer mid-update once)
# Chromium decodes Tight's JPEG rectangles with its own libjpeg-turbo build, the decoder with the
# system's (measured: identical, error 0). Small, but enough to fail a screen that is merely close: the
# lossless Tight session's screen in place of the JPEG one's is off by mean 0.23, max 4 (TigerVNC).
JPEG_MAX_ERROR, JPEG_MEAN_ERROR = 2, 0.05  # per colour channel, of 255

TREES = {"debian": NOVNC_DIR, "1.3.0": NOVNC_13_RELEASE, "1.7.0": NOVNC_17}
# name: (encodings asked for besides PSEUDO, whether the decoder must equal the canvas exactly).
# CopyRect comes last: its case scrolls the xterm (the other cases see the screen as painted), and
# Hextile draws what is not copied.
# TightPNG: QEMU only (Debian's libvncserver is built without libpng: x11vnc ignores TightPNG and sends
# Raw; TigerVNC has no TightPNG).
CASES = {
    "raw": ([RAW], True),
    "rre": ([RRE], True),
    "hextile": ([HEXTILE], True),
    "zrle": ([ZRLE], True),
    "zlib": ([ZLIB], True),
    "tight": ([TIGHT], True),
    "tight-jpeg": ([TIGHT, QUALITY_6], False),
    "tightpng": ([TIGHTPNG], True),
    "raw-8bit": ([RAW], True),
    "cursor": ([HEXTILE], True),
    "copyrect": ([COPYRECT, HEXTILE], True),
    "resize": ([HEXTILE], True),
    "resize-extended": ([HEXTILE, EXTENDED_DESKTOP_SIZE], True),
}
POINTER = (100, 120)  # where the cursor case puts the pointer: on the xterm (its text cursor shape)
RESIZED = (640, 480)  # the resize cases shrink TigerVNC's screen to this with RandR
# noVNC asks for its 8-bit true colour format (2 bits a channel) only from a server of this name, and
# then offers only Raw and CopyRect; a second x11vnc on the same desktop takes the name.
LOW_COLOUR_NAME = "Intel(r) AMT KVM"
# Only noVNC 1.7 has ZRLE and Zlib decoders (1.3 offers neither). noVNC 1.3's Raw decoder (Debian's
# and the release) makes its pixels opaque at the start of the receive queue instead of at the
# rectangle's data (raw.js: `data[i * 4 + 3] = 255` without the queue's index; 1.7's takes each line
# out of the queue first), so a 32-bit Raw rectangle that does not begin the queue keeps x11vnc's zero
# padding byte as alpha and draws transparent pixels whose colour the canvas does not keep: there is
# nothing to compare (its 8-bit Raw converts into a new array first, and is compared).
ONLY_17 = {"zrle", "zlib", "raw"}
# The 1.3.0 release decodes with the same code as Debian's noVNC (test_debian_novnc_decodes_with_the_
# 1_3_0_release_code): it runs only the Tight case (its pako, completed as complete_novnc_copy says).
# The resize cases need TigerVNC (x11vnc follows no RandR change of Xvfb's screen).
PARAMS = [("x11vnc", tree, case) for case in CASES for tree in TREES
          if (case not in ONLY_17 or tree == "1.7.0") and not case.startswith("resize")
          and (tree != "1.3.0" or case == "tight") and case != "tightpng"]
# (TigerVNC's Raw adds nothing: the decoder's Raw is the same for every server. TigerVNC has no Zlib.)
PARAMS += [("tigervnc", "1.7.0", case) for case in CASES if case not in ("raw", "raw-8bit", "tightpng", "zlib")]
PARAMS += [("qemu", tree, "tightpng") for tree in ("debian", "1.7.0")]

# A Tk window of 340x260 pixels: a smooth two-way gradient, a band of soft waves and a band of noise.
PICTURE_TCL = r"""
wm title . rfb-decoder-picture
wm geometry . +440+40
set w 340; set h 260; set seed 12345
image create photo pic -width $w -height $h
set rows {}
for {set y 0} {$y < $h} {incr y} {
    set row {}
    for {set x 0} {$x < $w} {incr x} {
        if {$y < 110} {
            set r [expr {$x * 255 / ($w - 1)}]; set g [expr {$y * 255 / 109}]; set b [expr {255 - $r}]
        } elseif {$y < 200} {
            set r [expr {int(127.5 + 127 * sin($x / 17.0) * cos($y / 11.0))}]
            set g [expr {int(127.5 + 127 * sin(($x + $y) / 23.0))}]
            set b [expr {int(127.5 + 127 * cos(($x - 2 * $y) / 29.0))}]
        } else {
            set seed [expr {($seed * 1103515245 + 12345) % 2147483648}]
            set r [expr {$seed >> 23 & 255}]; set g [expr {$seed >> 11 & 255}]; set b [expr {$x * 255 / ($w - 1)}]
        }
        lappend row [format "#%02x%02x%02x" $r $g $b]
    }
    lappend rows $row
}
pic put $rows
label .picture -image pic -borderwidth 0 -highlightthickness 0
pack .picture
update
puts ready
flush stdout
"""

# Typed into the xterm before any case: coloured text, the 256-colour palette, a true-colour bar and a
# long listing; the text cursor hidden (a blinking cursor would keep the screen from getting quiet).
PAINT_SH = r"""
printf '\e[?25l'; clear
printf '\e[1;31m red \e[32m green \e[34m blue \e[33;44m yellow on blue \e[0m plain\n'
for i in $(seq 0 63); do printf '\e[48;2;%d;%d;128m ' $((i * 4)) $((255 - i * 4)); done; printf '\e[0m\n'
for c in $(seq 0 255); do printf '\e[48;5;%dm  ' "$c"; if (( c % 32 == 31 )); then printf '\e[0m\n'; fi; done
ls -l /usr/bin | head -25
touch painted
"""


# ----------------------------------------------------------------------------- shared peers

def painted_desk(tmp_path_factory, server: str):
    """A desktop shared by the cases of one VNC server: the xterm painted, the Tk picture on top."""
    needed = [("wish", "tk"), ("xdotool", None)]
    needed += [("Xvnc", "tigervnc-standalone-server"), ("xrandr", "x11-xserver-utils")] if server == "tigervnc" else [
        ("x11vnc", None)]
    for program, package in needed:
        if not shutil.which(program):
            pytest.fail(f"{program} ({package or 'its Debian package'}) missing: run scripts/install-deps",
                        pytrace=False)
    tmp = tmp_path_factory.mktemp(f"{server}-desk")
    with VncDesk(workdir=tmp / "home", logdir=tmp / "logs", server=server) as vnc:
        env = dict(os.environ, DISPLAY=vnc.display)
        (vnc.workdir / "paint.sh").write_text(PAINT_SH)
        subprocess.run(["xdotool", "type", "--delay", "2", "bash paint.sh"], env=env, check=True, timeout=30)
        subprocess.run(["xdotool", "key", "Return"], env=env, check=True, timeout=10)
        (tmp / "picture.tcl").write_text(PICTURE_TCL)
        with open(tmp / "logs" / "wish.log", "wb") as log:
            wish = subprocess.Popen(["wish", str(tmp / "picture.tcl")], env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        vnc.procs.insert(1, wish)  # stopped with the desk, before the X server
        assert wish.stdout.readline() == b"ready\n", (tmp / "logs" / "wish.log").read_text()
        painted = vnc.workdir / "painted"
        poll(painted.exists, bool, 30, f"{painted}: the xterm to run paint.sh")
        if server == "x11vnc":
            vnc.low_colour_port = pick_free_port()
            amt = vnc._spawn("x11vnc-low-colour", [
                "x11vnc", "-display", vnc.display, "-rfbport", str(vnc.low_colour_port), "-forever", "-shared",
                "-nopw", "-localhost", "-desktop", LOW_COLOUR_NAME], env=env)
            wait_for_rfb(vnc.low_colour_port, 15, procs=[amt])
        time.sleep(1.0)  # the xterm draws what the script printed
        yield vnc


@pytest.fixture(scope="module")
def x11vnc_desk(tmp_path_factory):
    yield from painted_desk(tmp_path_factory, "x11vnc")


@pytest.fixture(scope="module")
def tigervnc_desk(tmp_path_factory):
    yield from painted_desk(tmp_path_factory, "tigervnc")


@pytest.fixture(scope="module")
def qemu_desk(tmp_path_factory):
    """QEMU's VNC server, the one server here that sends TightPNG, showing SeaBIOS's text screen (no
    disk: 'No bootable device', and no reboot after it)."""
    if not shutil.which("qemu-system-x86_64"):
        pytest.fail("qemu-system-x86_64 (qemu-system-x86) missing: run scripts/install-deps", pytrace=False)
    logs = tmp_path_factory.mktemp("qemu-desk")
    port = pick_free_port()  # an ephemeral port, so above 5900: QEMU's -vnc takes a display number
    with open(logs / "qemu.log", "wb") as log:
        qemu = subprocess.Popen(["qemu-system-x86_64", "-nodefaults", "-vga", "std", "-display", "none", "-m", "32",
                                 "-S", "-vnc", f"127.0.0.1:{port - 5900}"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_rfb(port, 15, procs=[qemu])
        yield SimpleNamespace(vnc_port=port)
    finally:
        stop_tree(qemu)


@pytest.fixture(scope="module")
def novnc_site(tmp_path_factory):
    """The three noVNC trees (the releases completed with pako's common.js) and our page, served."""
    site = tmp_path_factory.mktemp("novnc-site")
    (site / "debian").symlink_to(NOVNC_DIR)
    complete_novnc_copy(NOVNC_13_RELEASE, site / "1.3.0")
    complete_novnc_copy(NOVNC_17, site / "1.7.0")
    (site / "page.html").write_bytes(PAGE.read_bytes())
    with served(site) as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("novnc-browser")
    driver = harness_browser.start(Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"), tmp / "profile",
                                   tmp / "chromedriver.log", WIDTH, HEIGHT)
    try:
        yield driver
    finally:
        driver.quit()


# ----------------------------------------------------------------------------- one case

def page_state(driver) -> dict:
    """Our page's state, with `received` (WebSocket messages, from the harness's probe), `canvas` (noVNC's
    canvas's size) and `copied` (pixels a CopyRect drew last)."""
    probe = harness_browser.state(driver, 0, 0) or {}
    page = driver.execute_script("return window.__encodingsPage || null") or {}
    extra = driver.execute_script("""
        const canvas = document.querySelector('#screen canvas');
        return { canvas: canvas && canvas.width ? [canvas.width, canvas.height] : null,
                 copied: window.__encodingsCopiedPixels ? window.__encodingsCopiedPixels() : 0 };""")
    return {**page, **extra, "received": probe.get("received", 0)}


def wait_quiet(driver, timeout: float = 60.0) -> dict:
    """Waits until the session is up, noVNC has drawn a rectangle (a loaded server can take more than
    QUIET seconds for the first update) and no message came for QUIET seconds."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        state = page_state(driver)
        assert not state.get("error"), state["error"]
        assert not state.get("status", "").startswith("disconnected"), state
        if state["received"] != last:
            last, since = state["received"], time.monotonic()
        elif (state.get("status") == "connected" and state["canvas"] and sum(state.get("drawn", {}).values())
              and time.monotonic() - since >= QUIET):
            return state
        assert time.monotonic() < deadline, f"the screen did not get quiet within {timeout} s: {state}"
        time.sleep(0.05)


def scroll_the_xterm(driver) -> None:
    """Types a command whose output scrolls the xterm, through noVNC (x11vnc looks for scrolls it can
    send as CopyRect only after a viewer's input)."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("window.__encodingsRFB.focus()")
    ActionChains(driver).send_keys("seq 1 12\n").perform()


def disconnect(driver) -> None:
    """Ends the session from noVNC (so the recording ends with the client's close, not the proxy's)."""
    driver.execute_script("window.__encodingsRFB.disconnect()")
    poll(lambda: page_state(driver).get("status", ""), lambda status: status.startswith("disconnected"), 10,
         "noVNC to report the disconnect")


def inspect_tool() -> str:
    return str(Path(decode_tool()).with_name("wsrecord-inspect"))


def recorded_session(recording: Path) -> tuple[bytes, list[dict], int]:
    """Session 1 of the recording as RFBDecodeTool's log (C/S, U32 length, bytes), its RFB messages
    (both directions) as `wsrecord-inspect dump --rfb --json` decodes them, and its length in µs."""
    inspect = inspect_tool()
    dump = subprocess.run([inspect, "dump", "--json", "--payload", "--session", "1", str(recording)],
                          capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0, dump.stderr
    log, end = bytearray(), 0
    for line in dump.stdout.splitlines():
        record = json.loads(line)
        end = max(end, record["time_us"])
        if record["kind"] != "data":  # not the open and close records, nor close frames
            continue
        payload = base64.b64decode(record["payload_b64"])
        log += (b"C" if record["from"] == "client" else b"S") + struct.pack("!I", len(payload)) + payload
    rfb = subprocess.run([inspect, "dump", "--rfb", "--json", "--session", "1", str(recording)],
                         capture_output=True, text=True, timeout=60)
    assert rfb.returncode == 0, rfb.stderr
    return bytes(log), [json.loads(line) for line in rfb.stdout.splitlines()], end


def encodings_used(messages: list[dict]) -> dict[str, int]:
    """How many rectangles of each encoding (and Tight method: `Tight jpeg`, `Tight fill`, …) the
    server sent, pseudo-encodings left out."""
    used: dict[str, int] = {}
    for message in messages:
        for rect in message.get("rectangles", []):
            if rect["encoding"] in NAMES or rect["encoding"] >= 0:
                method = rect.get("method", "")
                if method.startswith("basic palette ") and method != "basic palette 2":
                    method = "basic palette 3-256"  # 2 colours: 1 bit per pixel; more: a byte
                name = " ".join(filter(None, (rect["encoding_name"], method)))
                used[name] = used.get(name, 0) + 1
    return used


JPEG, COPIED = 1, 2  # what last drew a pixel (0: anything else)


@dataclass
class DrawnBy:
    """The screen's size at the end of a session and, for each pixel, JPEG when a Tight JPEG rectangle
    drew it last, COPIED when a CopyRect did, else 0 (the server's rectangles in the order they came)."""
    width: int
    height: int
    labels: bytearray

    @classmethod
    def of(cls, messages: list[dict]) -> "DrawnBy":
        [init] = [m for m in messages if m["type"] == "ServerInit"]
        screen = cls(init["width"], init["height"], bytearray(init["width"] * init["height"]))
        for rect in (r for m in messages for r in m.get("rectangles", [])):
            if rect["encoding"] == DESKTOP_SIZE or (rect["encoding"] == EXTENDED_DESKTOP_SIZE and rect["y"] == 0):
                screen.resize(rect["width"], rect["height"])  # (ExtendedDesktopSize: y is the status, 0 = done)
            elif rect["encoding"] in NAMES or rect["encoding"] >= 0:
                label = JPEG if rect.get("method") == "jpeg" else COPIED if rect["encoding"] == COPYRECT else 0
                for y in range(rect["y"], rect["y"] + rect["height"]):
                    at = y * screen.width + rect["x"]
                    screen.labels[at:at + rect["width"]] = bytes([label]) * rect["width"]
        return screen

    def resize(self, width: int, height: int) -> None:
        labels = bytearray(width * height)
        for y in range(min(height, self.height)):
            common = min(width, self.width)
            labels[y * width:y * width + common] = self.labels[y * self.width:y * self.width + common]
        self.width, self.height, self.labels = width, height, labels


def rendered_end(tmp_path: Path, recording: Path, end_us: int, size: tuple[int, int]) -> bytes:
    """`wsrecord-inspect render` of the session's last moment (its close), as RGB bytes; it must warn of
    nothing."""
    png = tmp_path / "rendered.png"
    run = subprocess.run([inspect_tool(), "render", str(recording), "--session", "1", "--at", f"{end_us}us",
                          "--no-cache", "-o", str(png)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and not run.stderr, f"render: exit {run.returncode}\n{run.stderr}"
    image = read_image(png.read_bytes())
    assert (image.width, image.height, image.channels) == (*size, 3), (image.width, image.height)
    return image.pixels


def swift_decode(tmp_path: Path, log: bytes, size: tuple[int, int], *options: str) -> tuple[bytes, list[str]]:
    """The screen RFBDecodeTool draws from the log, as RGB bytes, and what it printed; it must report no
    problem."""
    (tmp_path / "session.log").write_bytes(log)
    run = subprocess.run([decode_tool(), *options, str(tmp_path / "session.log"), str(tmp_path / "decoded.ppm")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    problems = [line for line in lines if not line.startswith(("updates ", "rectangles ", "decoded ", "cursor "))]
    assert not problems, "the decoder reported problems:\n" + "\n".join(problems)
    data = (tmp_path / "decoded.ppm").read_bytes()
    header = f"P6\n{size[0]} {size[1]}\n255\n".encode()
    assert data.startswith(header) and len(data) == len(header) + size[0] * size[1] * 3, data[:20]
    return data[len(header):], lines


@dataclass
class ScreenComparison:
    pixels: int = 0  # compared
    copied_pixels: int = 0  # drawn last by a CopyRect
    exact_mismatches: int = 0  # pixels outside JPEG rectangles whose colour differs at all
    first: tuple | None = None  # (x, y, canvas RGB, decoded RGB) of the first of them
    jpeg_pixels: int = 0
    jpeg_differing: int = 0  # JPEG pixels whose colour differs at all
    jpeg_error_sum: int = 0  # of absolute channel differences
    jpeg_max: int = 0  # the largest channel difference

    @property
    def jpeg_mean(self) -> float:
        return self.jpeg_error_sum / (3 * self.jpeg_pixels) if self.jpeg_pixels else 0.0

    def __str__(self) -> str:
        text = f"{self.pixels} pixels compared, {self.exact_mismatches} differ outside JPEG rectangles"
        if self.copied_pixels:
            text += f" ({self.copied_pixels} drawn last by CopyRect)"
        if self.jpeg_pixels:
            text += (f"; {self.jpeg_pixels} JPEG pixels, {self.jpeg_differing} differ, channel error "
                     f"mean {self.jpeg_mean:.3f} max {self.jpeg_max}")
        return text


def compare_screens(shown: bytes, decoded: bytes, drawn: DrawnBy) -> ScreenComparison:
    """noVNC's canvas against the decoder's screen (both RGB rows): exact but where JPEG drew last."""
    width, labels = drawn.width, drawn.labels
    result = ScreenComparison(pixels=width * drawn.height, copied_pixels=labels.count(COPIED))
    stride = width * 3
    for y in range(drawn.height):
        row = slice(y * stride, (y + 1) * stride)
        if shown[row] == decoded[row] and JPEG not in labels[y * width:(y + 1) * width]:
            continue
        for x in range(width):
            at = y * stride + x * 3
            a, b = shown[at:at + 3], decoded[at:at + 3]
            if labels[y * width + x] == JPEG:
                result.jpeg_pixels += 1
                errors = [abs(a[c] - b[c]) for c in range(3)]
                result.jpeg_error_sum += sum(errors)
                result.jpeg_max = max(result.jpeg_max, *errors)
                result.jpeg_differing += a != b
            elif a != b:
                result.exact_mismatches += 1
                result.first = result.first or (x, y, a.hex(), b.hex())
    return result


def canvas_of_quiet_screen(driver, change=None, until=lambda state: True) -> tuple[bytes, dict]:
    """noVNC's canvas once the screen is quiet, read again if a message arrived while it was read; and
    the page's state. `change()`, when given, is done once the screen is quiet, and done again (up to
    three times in all) until `until(state)` holds once the screen is quiet again."""
    state = wait_quiet(driver)
    for _ in range(3 if change else 0):
        change()
        time.sleep(0.3)
        state = wait_quiet(driver)
        if until(state):
            break
    while True:
        canvas = data_url_png(driver.execute_script(
            "return document.querySelector('#screen canvas').toDataURL('image/png')"))
        after = page_state(driver)
        if after["received"] == state["received"]:
            return canvas, state
        state = wait_quiet(driver)


def move_the_picture(desk) -> None:
    """Moves the Tk window 30 pixels left (X copies what stays visible; Xvnc sends that as CopyRect)."""
    env = dict(os.environ, DISPLAY=desk.display)
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^rfb-decoder-picture$"], env=env,
                           capture_output=True, text=True, timeout=10)
    [window] = found.stdout.split()
    x = int(subprocess.run(["xdotool", "getwindowgeometry", "--shell", window], env=env, capture_output=True,
                           text=True, check=True, timeout=10).stdout.split("X=")[1].split()[0])
    subprocess.run(["xdotool", "windowmove", window, str(x - 30), "40"], env=env, check=True, timeout=10)


def point_at(driver, point: tuple[int, int]) -> None:
    """Moves the browser's mouse over noVNC's canvas to `point` (noVNC sends it as a PointerEvent)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.CSS_SELECTOR, "#screen canvas")
    size = driver.execute_script("const c = arguments[0]; return [c.width, c.height];", canvas)
    # Selenium 4 measures the offset from the element's centre.
    ActionChains(driver).move_to_element_with_offset(canvas, point[0] - size[0] // 2,
                                                     point[1] - size[1] // 2).perform()


def set_screen_size(desk, size: tuple[int, int]) -> None:
    """Resizes TigerVNC's screen with RandR (the server then sends DesktopSize or ExtendedDesktopSize)."""
    subprocess.run(["xrandr", "-s", f"{size[0]}x{size[1]}"], env=dict(os.environ, DISPLAY=desk.display),
                   check=True, capture_output=True, timeout=10)


@pytest.mark.parametrize("server,tree,case", PARAMS, ids=["-".join(p) for p in PARAMS])
def test_decoded_screen_equals_novnc_canvas(server, tree, case, novnc_site, browser, tmp_path, proxy_bin,
                                            start_process, request):
    desk = request.getfixturevalue(f"{server}_desk")
    encodings, exact = CASES[case]
    port = pick_free_port()
    record_base = tmp_path / "session"
    vnc_port = desk.low_colour_port if case == "raw-8bit" else desk.vnc_port
    proxy = start_process([proxy_bin, f"--record={record_base}", f"127.0.0.1:{port}", f"127.0.0.1:{vnc_port}"],
                          name="proxy")
    try:
        wait_for_port(port, proxy)
        wanted = ",".join(str(e) for e in encodings + PSEUDO)
        browser.get(f"{novnc_site}/page.html?tree={tree}&port={port}&encodings={wanted}")
        if COPYRECT in encodings:
            # x11vnc guesses scrolls from the X requests it sees after a viewer's input; under load it
            # can miss one, or send the whole screen again after its copies: then scroll again, until
            # noVNC shows pixels a CopyRect drew. Xvnc sends X's own copies: a window moved (its
            # scrolls too, but not every time).
            copy = (lambda: scroll_the_xterm(browser)) if server == "x11vnc" else lambda: move_the_picture(desk)
            canvas, state = canvas_of_quiet_screen(browser, copy, lambda state: state["copied"])
        elif case.startswith("resize"):
            canvas, state = canvas_of_quiet_screen(browser, lambda: set_screen_size(desk, RESIZED))
        elif case == "cursor":
            canvas, state = canvas_of_quiet_screen(browser, lambda: point_at(browser, POINTER))
            state["cursor"] = browser.execute_script("""
                const c = window.__encodingsRFB._cursorImage;
                return { w: c.w, h: c.h, hotx: c.hotx, hoty: c.hoty, rgba: Array.from(c.rgbaPixels) };""")
        else:
            canvas, state = canvas_of_quiet_screen(browser)
        disconnect(browser)
        browser.get("about:blank")
    finally:
        stop_process(proxy)
        if case.startswith("resize"):
            set_screen_size(desk, (WIDTH, HEIGHT))
    (tmp_path / "canvas.png").write_bytes(canvas)
    name = f"{server} {tree} {case}"
    print(f"\n{name}: noVNC offered {state['offered']}, sent {state['sent']}; {state['received']} messages")
    # Cursor is offered only in 24-bit colour: the pseudo-encodings are kept when offered.
    assert set(encodings) <= set(state["sent"]) <= set(encodings + PSEUDO), f"{tree} does not offer all of {encodings}"

    recording = record_base.with_name(record_base.name + ".rec")
    log, messages, end_us = recorded_session(recording)
    formats = [m["pixel_format"]["bits_per_pixel"] for m in messages if m["type"] == "SetPixelFormat"]
    assert formats == [8 if case == "raw-8bit" else 32], f"noVNC's SetPixelFormat: {formats} bits per pixel"
    used = encodings_used(messages)
    print(f"{name}: rectangles {dict(sorted(used.items()))}")
    recorded: dict[str, int] = {}
    for rect in (r for m in messages for r in m.get("rectangles", []) if r["encoding"] in NAMES or r["encoding"] >= 0):
        recorded[str(rect["encoding"])] = recorded.get(str(rect["encoding"]), 0) + 1
    assert state["drawn"] == recorded, \
        f"by encoding, noVNC drew {state['drawn']} rectangles before its canvas was read; recorded: {recorded}"
    for encoding in encodings:
        if encoding in NAMES:
            assert any(name.split()[0] == NAMES[encoding] for name in used), \
                f"{server} sent no {NAMES[encoding]} rectangle: {used}"
    assert exact or any(name.endswith(" jpeg") for name in used), f"{server} sent no JPEG rectangle: {used}"

    drawn = DrawnBy.of(messages)
    [init] = [m for m in messages if m["type"] == "ServerInit"]
    size = RESIZED if case.startswith("resize") else (init["width"], init["height"])
    assert (drawn.width, drawn.height) == size, f"the recorded session ends at {drawn.width}x{drawn.height}"
    if case.startswith("resize"):
        resize = EXTENDED_DESKTOP_SIZE if EXTENDED_DESKTOP_SIZE in encodings else DESKTOP_SIZE
        assert any(r["encoding"] == resize and (r["width"], r["height"]) == size
                   for m in messages for r in m.get("rectangles", [])), f"{server} sent no {resize} to {size}"
    image = read_image(canvas)
    assert (image.width, image.height, image.channels) == (*size, 4), (image.width, image.height)
    transparent = image.width * image.height - image.pixels[3::4].count(255)
    assert transparent == 0, f"{name}: noVNC left {transparent} canvas pixels not opaque"
    shown = bytearray(image.width * image.height * 3)
    for channel in range(3):
        shown[channel::3] = image.pixels[channel::4]
    # The decoder through the test tool (fed the recorded bytes) and through the product's render.
    for tool, decoded in (("RFBDecodeTool", swift_decode(tmp_path, log, size)[0]),
                          ("render", rendered_end(tmp_path, recording, end_us, size))):
        result = compare_screens(bytes(shown), decoded, drawn)
        print(f"{name} {tool}: {result}")
        assert result.exact_mismatches == 0, f"{name} {tool}: {result}; the first: {result.first}"
        if COPYRECT in encodings:
            assert result.copied_pixels > 0, f"every CopyRect was drawn over: {used}"
        assert result.copied_pixels == state["copied"], f"noVNC's CopyRects drew {state['copied']} pixels last"
        if not exact:
            assert result.jpeg_pixels > 0, f"every JPEG rectangle was drawn over: {used}"
            assert result.jpeg_max <= JPEG_MAX_ERROR and result.jpeg_mean <= JPEG_MEAN_ERROR, \
                f"{name} {tool}: {result}"
    if case == "cursor":
        with_cursor = swift_decode(tmp_path, log, size, "--with-cursor")
        check_cursor(name, state["cursor"], messages, bytes(shown), drawn, with_cursor)


def check_cursor(name: str, cursor: dict, messages: list[dict], shown: bytes, drawn: "DrawnBy", decoded) -> None:
    """noVNC shows the pointer's shape on a CSS cursor of its own, not on the canvas: the canvas with
    that shape (rfb._cursorImage, RGBA) drawn at the pointer must equal RFBDecodeTool --with-cursor."""
    pointer = [(m["x"], m["y"]) for m in messages if m["type"] == "PointerEvent"]
    assert pointer and pointer[-1] == POINTER, f"noVNC sent the pointer events {pointer}"
    screen, lines = decoded
    w, h, hotx, hoty = cursor["w"], cursor["h"], cursor["hotx"], cursor["hoty"]
    assert f"cursor {w}x{h} hotspot {hotx},{hoty} pointer {POINTER[0]},{POINTER[1]}" in lines, lines
    with_cursor = bytearray(shown)
    shown_pixels = 0
    for y in range(h):
        for x in range(w):
            at, screen_x, screen_y = (y * w + x) * 4, POINTER[0] - hotx + x, POINTER[1] - hoty + y
            if cursor["rgba"][at + 3] and 0 <= screen_x < drawn.width and 0 <= screen_y < drawn.height:
                where = (screen_y * drawn.width + screen_x) * 3
                with_cursor[where:where + 3] = bytes(cursor["rgba"][at:at + 3])
                shown_pixels += 1
    assert shown_pixels > 10, f"noVNC's cursor shows {shown_pixels} pixels"
    result = compare_screens(bytes(with_cursor), screen, drawn)
    print(f"{name} RFBDecodeTool --with-cursor: {result}; cursor {w}x{h}, {shown_pixels} pixels shown")
    assert result.exact_mismatches == 0, f"{name} with the cursor: {result}; the first: {result.first}"


def test_debian_novnc_decodes_with_the_1_3_0_release_code():
    """Debian's noVNC is the 1.3.0 release: what decodes (core/ and vendor/) is the release's, byte for
    byte, but for pako's LICENSE (not in Debian's tree) and lib/utils/common.js (not in the release's,
    which complete_novnc_copy fills from Debian's). So the release tree runs one case above."""
    def files(root: Path) -> dict[str, bytes]:
        return {str(path.relative_to(root)): path.read_bytes()
                for part in ("core", "vendor") for path in (root / part).rglob("*") if path.is_file()}

    debian, release = files(NOVNC_DIR), files(NOVNC_13_RELEASE)
    assert set(release) - set(debian) == {"vendor/pako/LICENSE"}
    assert set(debian) - set(release) == {"vendor/pako/lib/utils/common.js"}
    assert [name for name in debian.keys() & release.keys() if debian[name] != release[name]] == []
    assert len(debian) > 40, sorted(debian)
