"""`wsrecord-inspect diff --rfb` on real recordings: a scripted RFB client types into an xterm on a
real x11vnc (Xvfb) through our websockify with --record, several times.

- Two noVNC 1.3 sessions in headless Chromium typing the same command, with other pointer moves
  and pauses: `diff --rfb --direction client` exits 0.
- Two runs typing the same keys, with other numbers of FramebufferUpdateRequests and pointer
  moves and another pace: `diff --rfb --direction client` exits 0 (as bytes they differ: exit 1).
- A run typing one other key: exit 1, the report names both keysyms; a truncated copy: exit 3.
- Server side: two sessions that each ask for the whole screen once, with other text on the
  screen in between (other pixel bytes, same structure): `--rfb --direction target` exits 0, a
  byte diff exits 1; a session asking for another region differs in structure: exit 1, naming the
  FramebufferUpdate rectangles.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from replayutil import record_file
from test_novnc import FILE_TIMEOUT, NOVNC_DIR, poll
from test_replay_novnc import connect as novnc_connect
from test_replay_novnc import type_command
from vncdesk import stop_process, wait_for_port

# RFB encodings (RFC 6143 §7.7): Hextile's data length depends on the pixels, not its rectangles.
HEXTILE, RAW, COPYRECT, DESKTOP_SIZE = 5, 0, 1, -223
RETURN = 0xFF0D


def inspect_bin() -> str:
    """wsrecord-inspect next to the websockify under test."""
    proxy = os.environ.get("WEBSOCKIFY_BIN") or str(Path(__file__).resolve().parents[2] / ".build/debug/websockify")
    path = os.path.join(os.path.dirname(proxy), "wsrecord-inspect")
    if not os.access(path, os.X_OK):
        pytest.fail(f"wsrecord-inspect not found at {path}: build it (swift build) or set WEBSOCKIFY_BIN")
    return path


class RFBClient:
    """An RFB 3.8 client over WebSocket (subprotocol binary): security None, shared session.
    After the handshake a thread reads (and discards) everything the server sends, counting it,
    so the server never blocks on a full socket."""

    def __init__(self, port: int):
        # Entered as a context manager (websockets 17.1 warns otherwise); left by close().
        self.ws = connect(f"ws://127.0.0.1:{port}/", subprotocols=["binary"], open_timeout=10,
                          max_size=None).__enter__()
        self.buffer = b""
        self.received = 0
        version = self._read(12)
        assert version.startswith(b"RFB 003.00"), version
        self.ws.send(b"RFB 003.008\n")
        count = self._read(1)[0]
        types = self._read(count)
        assert 1 in types, f"x11vnc -nopw offers no security type None: {types!r}"
        self.ws.send(b"\x01")
        assert self._read(4) == b"\x00\x00\x00\x00", "SecurityResult not OK"
        self.ws.send(b"\x01")
        width, height = struct.unpack("!HH", self._read(4))
        self._read(16)
        (name_length,) = struct.unpack("!I", self._read(4))
        self.name = self._read(name_length)
        self.size = (width, height)
        self.received += len(self.buffer)
        self.buffer = b""
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self.buffer += self.ws.recv(timeout=15)
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _drain(self) -> None:
        try:
            while True:
                self.received += len(self.ws.recv())
        except (ConnectionClosed, OSError):
            pass

    def set_encodings(self, encodings: list[int]) -> None:
        self.ws.send(struct.pack("!BxH", 2, len(encodings)) + b"".join(struct.pack("!i", e) for e in encodings))

    def request(self, incremental: bool, x: int = 0, y: int = 0, width: int | None = None,
                height: int | None = None) -> None:
        self.ws.send(struct.pack("!BBHHHH", 3, 1 if incremental else 0, x, y,
                                 width or self.size[0], height or self.size[1]))

    def pointer(self, x: int, y: int, buttons: int = 0) -> None:
        self.ws.send(struct.pack("!BBHH", 5, buttons, x, y))

    def key(self, keysym: int) -> None:
        self.ws.send(struct.pack("!BBxxI", 4, 1, keysym))
        self.ws.send(struct.pack("!BBxxI", 4, 0, keysym))

    def wait_for_update(self, quiet: float = 0.4, timeout: float = 15.0) -> None:
        """Until bytes came after the handshake and then none for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        start = self.received
        last, since = self.received, time.monotonic()
        while self.received == start or time.monotonic() - since < quiet:
            assert time.monotonic() < deadline, f"the server sent {self.received - start} bytes and did not pause"
            if self.received != last:
                last, since = self.received, time.monotonic()
            time.sleep(0.02)

    def close(self) -> None:
        self.ws.close()
        self._reader.join(timeout=5)


def record(request, tmp_path: Path, start_process, free_port, vnc_port: int, name: str, script) -> Path:
    """Runs `script(client)` through a fresh websockify --record; returns the recording."""
    port = free_port()
    base = tmp_path / name
    proxy = start_process([request.getfixturevalue("proxy_bin"), f"--record={base}", f"127.0.0.1:{port}",
                           f"127.0.0.1:{vnc_port}"], name=f"proxy-{name}")
    wait_for_port(port, proxy)
    client = RFBClient(port)
    try:
        script(client)
    finally:
        client.close()
    # The session is recorded to its close before the proxy stops.
    poll(lambda: Path(proxy.log_path).read_text(errors="replace"), lambda log: "closed by" in log, 10.0,
         "websockify to log the end of the session")
    stop_process(proxy)
    return record_file(base)


def typing(command: str, requests_every: int, moves: int, pace: float):
    """A scripted interaction: the same keys whatever the arguments; FramebufferUpdateRequests
    after every `requests_every`-th key, `moves` pointer moves spread over it, `pace` s per key."""
    keysyms = [ord(c) for c in command] + [RETURN]

    def script(client: RFBClient) -> None:
        client.set_encodings([HEXTILE, COPYRECT, RAW, DESKTOP_SIZE])
        client.request(incremental=False)
        client.wait_for_update()
        for i, keysym in enumerate(keysyms):
            if i < moves:
                client.pointer(300 + 11 * i, 200 + 5 * i)
            client.key(keysym)
            if i % requests_every == 0:
                client.request(incremental=True)
            time.sleep(pace)
        client.request(incremental=True)
        time.sleep(0.5)  # the echo of the command comes back

    return script


def inspect(*args) -> subprocess.CompletedProcess:
    return subprocess.run([inspect_bin(), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_two_runs_of_the_same_typing_are_the_same_client_side(request, tmp_path, vncdesk, free_port,
                                                             start_process):
    port = vncdesk.vnc_port
    first = record(request, tmp_path, start_process, free_port, port, "first",
                   typing("echo diff-e2e", requests_every=1, moves=9, pace=0.02))
    second = record(request, tmp_path, start_process, free_port, port, "second",
                    typing("echo diff-e2e", requests_every=3, moves=2, pace=0.045))
    other = record(request, tmp_path, start_process, free_port, port, "other",
                   typing("echo diff-e3e", requests_every=2, moves=4, pace=0.03))

    same = inspect("diff", "--rfb", "--direction", "client", first, second)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "same RFB messages" in same.stdout
    assert "FramebufferUpdateRequest A " in same.stdout, same.stdout  # the ignored counts are shown
    report = json.loads(inspect("diff", "--rfb", "--direction", "client", "--json", first, second).stdout)
    rfb = report["streams"][0]["rfb"]
    assert report["same"] and len(report["streams"]) == 1
    # ProtocolVersion, SecurityChoice, ClientInit, SetEncodings and 14 keys down and up.
    assert rfb["compared_a"] == rfb["compared_b"] == rfb["matched"] == 4 + 2 * 14, rfb
    assert rfb["ignored_a"]["FramebufferUpdateRequest"] != rfb["ignored_b"]["FramebufferUpdateRequest"], rfb
    assert rfb["ignored_a"]["PointerEvent"] == 9 and rfb["ignored_b"]["PointerEvent"] == 2, rfb

    # As bytes, and without the rules' defaults, the same two recordings differ.
    assert inspect("diff", "--direction", "client", first, second).returncode == 1
    strict = tmp_path / "strict.yaml"
    strict.write_text("check: [FramebufferUpdateRequest, PointerEvent]\n")
    assert inspect("diff", "--rfb", "--direction", "client", "--rules", strict, first, second).returncode == 1
    bad = inspect("diff", "--rfb", "--allow", "KeyEvents", first, second)
    assert bad.returncode == 2 and "KeyEvents: not an RFB message name" in bad.stderr, bad.stderr

    changed = inspect("diff", "--rfb", "--direction", "client", first, other)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "RFB messages differ: 2 changed, 0 only in A, 0 only in B" in changed.stdout, changed.stdout
    assert "changed: KeyEvent '2' (0x32) down vs KeyEvent '3' (0x33) down at message #" in changed.stdout, \
        changed.stdout
    assert "changed: KeyEvent '2' (0x32) up vs KeyEvent '3' (0x33) up" in changed.stdout, changed.stdout

    # A damaged file is compared as far as it can be read, and exits 3 (the tools' exit status).
    cut = tmp_path / "cut.rec"
    data = second.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    damaged = inspect("diff", "--rfb", "--direction", "client", first, cut)
    assert damaged.returncode == 3, damaged.stdout + damaged.stderr
    assert "truncated" in damaged.stderr and "different" in damaged.stdout, damaged.stdout + damaged.stderr


def test_server_side_compares_structure_not_pixel_bytes(request, tmp_path, vncdesk, free_port, start_process):
    port = vncdesk.vnc_port

    def whole_screen(client: RFBClient) -> None:
        client.set_encodings([HEXTILE, RAW])
        client.request(incremental=False)
        client.wait_for_update()

    def top_half(client: RFBClient) -> None:
        client.set_encodings([HEXTILE, RAW])
        client.request(incremental=False, height=client.size[1] // 2)
        client.wait_for_update()

    before = record(request, tmp_path, start_process, free_port, port, "before", whole_screen)
    # Other text on the screen: the same request brings other pixels.
    typed = record(request, tmp_path, start_process, free_port, port, "typer",
                   typing("echo the screen changed", requests_every=100, moves=0, pace=0.01))
    assert typed.exists()
    after = record(request, tmp_path, start_process, free_port, port, "after", whole_screen)
    half = record(request, tmp_path, start_process, free_port, port, "half", top_half)

    assert inspect("diff", "--direction", "target", before, after).returncode == 1, "other pixel bytes"
    same = inspect("diff", "--rfb", "--direction", "target", before, after)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "same RFB message structure" in same.stdout and "bytes differ" in same.stdout, same.stdout

    different = inspect("diff", "--rfb", "--direction", "target", before, half)
    assert different.returncode == 1, different.stdout + different.stderr
    assert "changed: FramebufferUpdate" in different.stdout, different.stdout
    assert "0,0 800x600 Hextile" in different.stdout and "0,0 800x300 Hextile" in different.stdout, \
        different.stdout


@pytest.fixture
def chromium_extra_args() -> list[str]:
    # Chromium keeps a page left for about:blank alive in its back/forward cache, WebSocket open
    # (no close frame, no FIN) until it is restored or the browser quits: test_novnc_leave.py.
    return ["--disable-features=BackForwardCache"]


def test_two_novnc_sessions_typing_the_same_command_are_the_same_client_side(
        request, tmp_path, vncdesk, free_port, start_process, chromium_driver):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    driver = chromium_driver

    def session(name: str, moves: int, pause: float) -> Path:
        port = free_port()
        base = tmp_path / name
        proxy = start_process([request.getfixturevalue("proxy_bin"), f"--record={base}", f"--web={NOVNC_DIR}",
                               f"127.0.0.1:{port}", f"127.0.0.1:{vncdesk.vnc_port}"], name=f"proxy-{name}")
        wait_for_port(port, proxy)
        novnc_connect(driver, port)
        canvas = driver.find_element(By.CSS_SELECTOR, "#screen canvas")
        for i in range(moves):  # pointer motion over the canvas: PointerEvents
            ActionChains(driver).move_to_element_with_offset(canvas, 10 + 13 * i, 5 + 7 * i).perform()
        time.sleep(pause)  # idle time: other FramebufferUpdateRequest counts
        # The same keys in every session; each adds a line to the file.
        log = vncdesk.workdir / "typed.log"
        lines = len(log.read_text().splitlines()) if log.exists() else 0
        type_command(driver, "echo typed >> typed.log")
        poll(lambda: len(log.read_text().splitlines()) if log.exists() else 0, lambda n: n == lines + 1,
             FILE_TIMEOUT, f"the typed command to add a line to {log}")
        time.sleep(pause)
        # Leaving the page ends the session (without the back/forward cache, see chromium_extra_args).
        driver.get("about:blank")
        poll(lambda: Path(proxy.log_path).read_text(errors="replace"),
             lambda log: "closed by client, code 1001" in log, 10.0, "websockify to log the end of the session")
        stop_process(proxy)
        return record_file(base)

    first = session("first", moves=2, pause=0.3)
    second = session("second", moves=12, pause=1.5)
    assert inspect("diff", "--direction", "client", first, second).returncode == 1, "as bytes they differ"
    same = inspect("diff", "--rfb", "--direction", "client", first, second)
    assert same.returncode == 0, same.stdout + same.stderr
    report = json.loads(inspect("diff", "--rfb", "--direction", "client", "--json", first, second).stdout)
    rfb = report["streams"][0]["rfb"]
    assert rfb["ignored_a"]["PointerEvent"] != rfb["ignored_b"]["PointerEvent"], rfb
    assert rfb["matched"] == rfb["compared_a"] > 40, rfb  # the handshake, SetEncodings and the keys
