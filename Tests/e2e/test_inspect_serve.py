"""`wsrecord-inspect serve`, the browser viewer (issue 16 §3), in headless Chromium against a real
recording: a scripted RFB client drives x11vnc through `websockify --record`, typing into the
xterm at known times (session 1: Hextile in noVNC's own pixel format, which Debian's noVNC 1.3
decodes from the recorded bytes; session 2: ZRLE, which noVNC 1.3 cannot decode, so the viewer
feeds it a stream made from keyframes). The page is loaded, played to a time and seeked back and
forth; the canvas noVNC draws must equal the screen our decoder renders for that moment, pixel for
pixel. Also: `--follow` extends the timeline while a recording is being written; a truncated file
shows what is readable and says where it stops; the HTTP side serves GET only and no path escapes.
The README's picture of the viewer (docs/images/viewer.png) is remade with
WEBSOCKIFY_UPDATE_IMAGES=1, otherwise only checked to exist."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

from pngdiff import decode_png
from proxyutil import Proxy, wait_until
from test_proxy_record import inspect_bin
from vncdesk import REPO, VncDesk, pick_free_port, stop_tree, wait_for_port

NOVNC_DIR = Path("/usr/share/novnc")
IMAGE = REPO / "docs" / "images" / "viewer.png"
# noVNC's own pixel format (core/rfb.js RFB.messages.pixelFormat, depth 24): 32 bpp, depth 24,
# little-endian, true colour, maxima 255, shifts red 0, green 8, blue 16.
NOVNC_FORMAT = (32, 24, 0, 1, (255, 255, 255), (0, 8, 16))
HEXTILE, ZRLE, COPYRECT, RAW, DESKTOP_SIZE = 5, 16, 1, 0, -223
# When the scripted client types (session seconds after ServerInit) and what.
TYPING = [(1.5, "echo viewer-one"), (3.5, "echo viewer-two-and-more-text")]


class RfbOverWebSocket:
    """An RFB 3.8 client (security None) through websockify; answers are read and dropped as they
    come (the recording keeps them)."""

    def __init__(self, url: str):
        self.ws = connect(url, open_timeout=5, proxy=None, compression=None, subprotocols=["binary"])
        self.buffer = bytearray()
        assert self.read(12).startswith(b"RFB 003.00")
        self.ws.send(b"RFB 003.008\n")
        types = self.read(self.read(1)[0])
        assert 1 in types, types
        self.ws.send(b"\x01")
        assert self.read(4) == b"\x00\x00\x00\x00"
        self.ws.send(b"\x01")
        header = self.read(24)
        self.width, self.height = struct.unpack("!HH", header[:4])
        self.read(struct.unpack("!I", header[20:24])[0])
        self.started = time.monotonic()

    def read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self.buffer += self.ws.recv(timeout=10)
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def setup(self, encodings: list[int]) -> None:
        bpp, depth, big, true_colour, maxima, shifts = NOVNC_FORMAT
        self.ws.send(struct.pack("!Bxxx BBBB HHH BBB xxx", 0, bpp, depth, big, true_colour, *maxima, *shifts))
        self.ws.send(struct.pack("!BxH", 2, len(encodings)) + b"".join(struct.pack("!i", e) for e in encodings))
        self.ws.send(struct.pack("!BBHHHH", 3, 0, 0, 0, self.width, self.height))

    def key(self, keysym: int) -> None:
        self.ws.send(struct.pack("!BBxxI", 4, 1, keysym))
        self.ws.send(struct.pack("!BBxxI", 4, 0, keysym))

    def type(self, text: str) -> None:
        for ch in text:
            self.key(ord(ch))
            time.sleep(0.01)
        self.key(0xFF0D)  # Return

    def run(self, seconds: float, typing: list[tuple[float, str]]) -> None:
        """Asks for incremental updates every 50 ms for `seconds`, typing at the given times."""
        pending = list(typing)
        self.ws.send(struct.pack("!BBHH", 5, 0, 5, 5))  # one PointerEvent at (5,5), no button
        while (elapsed := time.monotonic() - self.started) < seconds:
            if pending and elapsed >= pending[0][0]:
                self.type(pending.pop(0)[1])
            self.ws.send(struct.pack("!BBHHHH", 3, 1, 0, 0, self.width, self.height))
            try:
                while True:
                    self.ws.recv(timeout=0.05)
            except TimeoutError:
                pass

    def close(self) -> None:
        self.ws.close()


def record(path: Path, desk: VncDesk) -> None:
    proxy = Proxy([f"127.0.0.1:{desk.vnc_port}"], extra=[f"--record={path}"])
    try:
        for encodings, seconds in (([HEXTILE, COPYRECT, RAW, DESKTOP_SIZE], 6.0), ([ZRLE, RAW], 4.5)):
            client = RfbOverWebSocket(proxy.url("/websockify"))
            client.setup(encodings)
            client.run(seconds, TYPING)
            client.close()
            time.sleep(0.3)
    finally:
        proxy.stop()


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("serve")
    path = tmp / "viewer.rec"
    with VncDesk(workdir=tmp / "home", logdir=tmp / "logs") as desk:
        record(path, desk)
    return path


class Serve:
    """`wsrecord-inspect serve FILE --port 0 ...`, its URL read from its first line."""

    def __init__(self, path: Path, *extra: str, log: Path):
        self.log = open(log, "wb")
        self.proc = subprocess.Popen([inspect_bin(), "serve", str(path), "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=self.log, start_new_session=True)
        line = self.proc.stdout.readline().decode()
        assert "serving" in line, f"serve said {line!r}: {log.read_text()}"
        self.url = line.rsplit(" ", 1)[1].strip()

    def get(self, path: str):
        try:
            with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, path: str):
        status, _, body = self.get(path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def stop(self) -> None:
        stop_tree(self.proc)
        self.log.close()


@pytest.fixture
def serve(tmp_path):
    started: list[Serve] = []

    def start(path: Path, *extra: str) -> Serve:
        server = Serve(path, *extra, log=tmp_path / f"serve-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def rendered(tmp_path: Path, recording: Path, session: int, at: float) -> tuple[int, int, bytes]:
    """The screen of `session` at `at` seconds as our decoder renders it
    (`wsrecord-inspect render --at`), as width, height and RGB bytes."""
    out = tmp_path / f"render-{session}-{at}.png"
    subprocess.run([inspect_bin(), "render", str(recording), "--session", str(session), "--at", f"{at}s",
                    "-o", str(out)], check=True, capture_output=True)
    width, height, channels, pixels = decode_png(out.read_bytes())
    rgb = pixels if channels == 3 else b"".join(pixels[i:i + 3] for i in range(0, len(pixels), channels))
    return width, height, rgb


def canvas_rgb(driver) -> tuple[int, int, bytes]:
    """The noVNC canvas as width, height and RGB bytes."""
    data = driver.execute_script("""
        const c = window.viewer.canvas();
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = '';
        for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
        return [c.width, c.height, btoa(s)];""")
    rgba = base64.b64decode(data[2])
    rgb = bytearray()
    for i in range(0, len(rgba), 4):
        rgb += rgba[i:i + 3]
    return data[0], data[1], bytes(rgb)


def differing(a: tuple[int, int, bytes], b: tuple[int, int, bytes]) -> int:
    assert a[:2] == b[:2], f"sizes differ: {a[:2]} vs {b[:2]}"
    return sum(1 for i in range(0, len(a[2]), 3) if a[2][i:i + 3] != b[2][i:i + 3])


def open_page(driver, server: Serve, session: int | None = None) -> None:
    driver.get(server.url)
    wait_until(lambda: driver.execute_script("return document.body.dataset.ready === '1' && !!window.viewer.state()"),
               timeout=20, what="the page to load a session")
    if session is not None:
        driver.execute_script("return window.viewer.select(arguments[0])", session)
        wait_until(lambda: (driver.execute_script("return window.viewer.state()") or {}).get("session") == session,
                   timeout=10, what=f"session {session} selected")


def settle(driver, timeout: float = 20.0) -> dict:
    wait_until(lambda: driver.execute_script("const s = window.viewer.state(); return s.settled && s.connected"),
               timeout=timeout, what="noVNC fed up to the position")
    time.sleep(0.3)  # noVNC flips its back buffer at the end of each update; let a frame pass
    return driver.execute_script("return window.viewer.state()")


def test_recording_api_lists_sessions_with_screens_and_activity(recording, serve):
    server = serve(recording)
    wait_until(lambda: not server.json("/api/recording")["reading"], what="the file read")
    info = server.json("/api/recording")
    assert info["format"] == "websockify-swift" and info["damages"] == []
    sessions = info["sessions"]
    assert [s["session"] for s in sessions] == [1, 2]
    for s in sessions:
        assert s["rfb"]["width"] == 800 and s["rfb"]["height"] == 600, s
        assert s["closed"]["by"] in ("client", "target"), s
    assert 5 in sessions[0]["rfb"]["encodings"] and 16 in sessions[1]["rfb"]["encodings"]
    timeline = server.json("/api/sessions/1/timeline?buckets=100")
    assert len(timeline["target_bytes"]) == 100 and sum(timeline["target_bytes"]) == sessions[0]["target_bytes"]
    assert sum(timeline["client_bytes"]) == sessions[0]["client_bytes"]
    typed = [k for k in timeline["keys"] if k["down"]]
    assert len(typed) == sum(len(text) + 1 for _, text in TYPING), typed
    assert timeline["pointer"] and timeline["keyframes"]
    messages = server.json("/api/sessions/1/messages?from=0&limit=5000")["messages"]
    assert messages[0]["type"] == "ProtocolVersion" and any(m["type"] == "FramebufferUpdate" for m in messages)
    first = messages[0]
    hexed = server.json(f"/api/sessions/1/bytes?from={first['from']}&offset=0&length=12")
    assert bytes.fromhex(hexed["hex"]).startswith(b"RFB 003.00")


def test_http_is_get_only_and_paths_do_not_escape(recording, serve):
    server = serve(recording)
    request = urllib.request.Request(server.url + "api/recording", method="POST", data=b"x")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405
    for path in ("/novnc/../../../etc/passwd", "/novnc/%2e%2e/%2e%2e/etc/passwd", "/novnc/core/%2F..%2F..%2Fetc%2Fpasswd",
                 "/novnc/core/..%2f..%2f..%2fetc%2fpasswd"):
        status, _, body = server.get(path)
        assert status in (400, 404) and b"root:" not in body, (path, status)
    status, headers, body = server.get("/novnc/core/rfb.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and b"class RFB" in body
    assert server.url.startswith("http://127.0.0.1:"), server.url
    # Pipelined requests are answered in order (a big stream first, then two small answers): NIO's
    # pipelining handler holds a request back until the answer before it has ended.
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    host = f"Host: 127.0.0.1:{port}".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"GET /api/sessions/1/stream?at=5500000 HTTP/1.1\r\n" + host + b"\r\n\r\n"
                    b"GET /api/recording HTTP/1.1\r\n" + host + b"\r\n\r\n"
                    b"GET /nothing HTTP/1.1\r\n" + host + b"\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := raw.recv(1 << 20):
            data += chunk
    statuses = re.findall(rb"HTTP/1.1 (\d+) [^\r]*\r\nContent-Type: ([^\r;]*)", data)
    assert statuses == [(b"200", b"application/octet-stream"), (b"200", b"application/json"),
                        (b"404", b"application/json")], statuses
    # DNS rebinding: a page whose name now points at 127.0.0.1 sends its own name as Host.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(f"GET /api/recording HTTP/1.1\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := raw.recv(1 << 20):
            data += chunk
    assert data.startswith(b"HTTP/1.1 403 ") and b"DNS rebinding" in data and b'"sessions"' not in data, data[:300]


def test_play_to_a_time_then_seek_back_and_forth_matches_render(recording, serve, chromium_driver, tmp_path):
    server = serve(recording)
    driver = chromium_driver
    open_page(driver, server, session=1)
    state = settle(driver)
    assert state["mode"] == "original", state  # noVNC 1.3 decodes Hextile in its own format
    # Play (4×) to a moment after the first typing, where the screen is still.
    driver.execute_script("window.viewer.speed(4); return window.viewer.play(2.8)")
    wait_until(lambda: not driver.execute_script("return window.viewer.state().playing"), timeout=20, what="play to 2.8 s")
    state = settle(driver)
    assert abs(state["position"] - 2.8) < 0.01, state
    assert differing(canvas_rgb(driver), rendered(tmp_path, recording, 1, 2.8)) == 0
    # Forwards past the second typing, then back before the first: keyframe streams.
    for at in (5.5, 0.9, 3.0):
        driver.execute_script("return window.viewer.seek(arguments[0])", at)
        state = settle(driver)
        assert abs(state["position"] - at) < 0.01, state
        shown = canvas_rgb(driver)
        assert differing(shown, rendered(tmp_path, recording, 1, at)) == 0, f"seek to {at} s"
    # The second session is ZRLE, which noVNC 1.3 lacks: keyframes from the start on.
    driver.execute_script("return window.viewer.select(2)")
    wait_until(lambda: driver.execute_script("return window.viewer.state().session") == 2, what="session 2")
    driver.execute_script("return window.viewer.seek(4.0)")
    state = settle(driver)
    assert state["mode"] == "keyframe", state
    assert differing(canvas_rgb(driver), rendered(tmp_path, recording, 2, 4.0)) == 0
    # The README's picture: session 1 after the typing, a message picked for its hex.
    driver.execute_script("return window.viewer.select(1)")
    wait_until(lambda: driver.execute_script("return window.viewer.state().session") == 1, what="session 1")
    driver.execute_script("return window.viewer.seek(5.0)")
    settle(driver)
    driver.execute_script("""
        const rows = [...document.querySelectorAll('#messages tbody tr:not(.future)')];
        rows.filter((r) => r.cells[1].textContent === 't→c').pop().click();""")
    wait_until(lambda: "stream, bytes" in driver.find_element("id", "hex").text, what="the hex dump")
    if os.environ.get("WEBSOCKIFY_UPDATE_IMAGES") == "1":
        driver.set_window_size(1500, 1250)
        time.sleep(0.5)
        IMAGE.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(IMAGE))
    # Every seek disconnected noVNC from its fake socket: none of them left noVNC waiting for a close
    # (it gives up after 3 s with "Disconnection timed out."), and the page asks for no missing icon.
    time.sleep(3.5)
    severe = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe
    assert IMAGE.is_file(), f"{IMAGE} missing: run this test with WEBSOCKIFY_UPDATE_IMAGES=1"
    assert "docs/images/viewer.png" in (REPO / "README.md").read_text()


def test_follow_extends_the_timeline_while_the_recording_is_written(tmp_path, serve, chromium_driver):
    path = tmp_path / "live.rec"
    with VncDesk(workdir=tmp_path / "home", logdir=tmp_path / "logs") as desk:
        proxy = Proxy([f"127.0.0.1:{desk.vnc_port}"], extra=[f"--record={path}"])
        try:
            wait_until(lambda: path.exists(), what="the recording file")
            server = serve(path, "--follow")
            client = RfbOverWebSocket(proxy.url("/websockify"))
            client.setup([HEXTILE, RAW])
            client.run(1.5, [])
            driver = chromium_driver
            open_page(driver, server)
            first = driver.execute_script("return window.viewer.state().duration")
            client.run(4.5, [(3.0, "echo live")])
            wait_until(lambda: driver.execute_script("return window.viewer.state().duration") > first + 2,
                       timeout=10, what="the timeline to grow")
            keys = server.json("/api/sessions/1/timeline?buckets=10")["keys"]
            assert len([k for k in keys if k["down"]]) == len("echo live") + 1
            assert server.json("/api/recording")["following"] is True
            client.close()
        finally:
            proxy.stop()


def test_damaged_file_shows_what_is_readable_and_where_it_stops(recording, tmp_path, serve, chromium_driver):
    damaged = tmp_path / "damaged.rec"
    data = recording.read_bytes()
    damaged.write_bytes(data[: len(data) * 2 // 3])
    server = serve(damaged)
    wait_until(lambda: not server.json("/api/recording")["reading"], what="the file read")
    info = server.json("/api/recording")
    assert info["damages"] and info["damages"][0]["kind"] == "truncated", info["damages"]
    assert info["sessions"], "nothing readable shown"
    driver = chromium_driver
    open_page(driver, server)
    banner = driver.find_element("id", "damage")
    assert banner.is_displayed() and "truncated" in banner.text and "stops there" in banner.text, banner.text


def test_novnc_17_decodes_the_zrle_session_from_its_recorded_bytes(recording, tmp_path, serve, chromium_driver):
    """--novnc with a noVNC 1.7 tree: its RFB has a ZRLE decoder, so the page gets the recorded
    bytes of the ZRLE session from the start (noVNC 1.3 gets keyframes, see above); played to 4 s
    the canvas equals render --at 4s."""
    from novnc_live import NOVNC_17, complete_novnc_copy
    tree = complete_novnc_copy(NOVNC_17, tmp_path / "novnc-1.7")
    server = serve(recording, "--novnc", str(tree))
    driver = chromium_driver
    open_page(driver, server, session=2)
    state = settle(driver)
    assert state["mode"] == "original", state
    driver.execute_script("window.viewer.speed(8); return window.viewer.play(4.0)")
    wait_until(lambda: not driver.execute_script("return window.viewer.state().playing"), timeout=20, what="play to 4 s")
    state = settle(driver)
    assert state["mode"] == "original" and abs(state["position"] - 4.0) < 0.01, state
    assert differing(canvas_rgb(driver), rendered(tmp_path, recording, 2, 4.0)) == 0
