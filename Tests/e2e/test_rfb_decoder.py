"""The RFB framebuffer decoder (Sources/RFBDecoding) on real x11vnc and TigerVNC streams.

A static screen (Xvfb with an xterm showing coloured text over the root window's pattern) is
asked for whole, twice per session (a zlib stream's second answer continues the first), by a
scripted RFB client on plain TCP that logs every chunk either side sent in order. Each session
forces one encoding with SetEncodings (and must have been answered in it). Ground truth is the
Raw session decoded here in Python (Raw is just the pixels). The Swift decoder
(Tests/RFBDecodeTool, a test-only executable) turns each log into a PPM, and also resumes from
keyframe snapshots (through their serialized bytes) at the log's message boundaries:

- Raw, Hextile, ZRLE, RRE, Zlib and Tight (lossless: no quality level) at x11vnc's own 32-bit
  format must equal the ground truth exactly;
- ZRLE, Hextile and Tight in other pixel formats the client asks for with SetPixelFormat (16-bit
  RGB565 in both byte orders, 8-bit BGR233) must equal it within the quantisation of those formats;
- Tight with a quality level (JPEG) must come within a mean channel error;
- TigerVNC's Xvnc: Tight, ZRLE, Hextile exactly, Tight with JPEG within a mean error.

The screen is captured with Raw before and after the other sessions; both must be equal (a screen
that changed would make any difference meaningless).
"""
from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from vncdesk import VncDesk

RAW, COPYRECT, RRE, HEXTILE, ZLIB, TIGHT, ZRLE = 0, 1, 2, 5, 6, 7, 16
CURSOR, XCURSOR, POINTER_POS = -239, -240, -232
ENCODING_NAMES = {RAW: "Raw", RRE: "RRE", HEXTILE: "Hextile", ZLIB: "Zlib", TIGHT: "Tight", ZRLE: "ZRLE"}


def quality(level: int) -> int:
    """The QualityLevel pseudo-encoding (0-9): lets a Tight server send JPEG."""
    return -32 + level
REPO = Path(__file__).resolve().parents[2]

# (bits per pixel, depth, big endian, true colour, maxima, shifts)
RGB565_LE = (16, 16, 0, 1, (31, 63, 31), (11, 5, 0))
RGB565_BE = (16, 16, 1, 1, (31, 63, 31), (11, 5, 0))
BGR233 = (8, 8, 0, 1, (7, 7, 3), (0, 3, 6))


def decode_tool() -> str:
    """RFBDecodeTool, built by `swift build` next to the websockify under test."""
    proxy = os.environ.get("WEBSOCKIFY_BIN") or str(REPO / ".build/debug/websockify")
    path = os.path.join(os.path.dirname(proxy), "RFBDecodeTool")
    if not os.access(path, os.X_OK):
        pytest.fail(f"RFBDecodeTool not found at {path}: build it (swift build) or set WEBSOCKIFY_BIN")
    return path


class LoggedSession:
    """An RFB 3.8 client (security None, shared) on TCP that logs both directions in order:
    records of `C` or `S`, a big-endian U32 length, the bytes (RFBDecodeTool's input)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.log = bytearray()
        self.buffer = b""
        assert self._read(12).startswith(b"RFB 003.00")
        self._send(b"RFB 003.008\n")
        types = self._read(self._read(1)[0])
        assert 1 in types, f"x11vnc -nopw offers no security type None: {types!r}"
        self._send(b"\x01")
        assert self._read(4) == b"\x00\x00\x00\x00", "SecurityResult not OK"
        self._send(b"\x01")
        header = self._read(24)
        self.width, self.height = struct.unpack("!HH", header[:4])
        self.format = header[4:20]
        self.name = self._read(struct.unpack("!I", header[20:24])[0])

    def _send(self, data: bytes) -> None:
        self.log += b"C" + struct.pack("!I", len(data)) + data
        self.sock.sendall(data)

    def _recv(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return b""
        data = self.sock.recv(1 << 20)
        assert data, "x11vnc closed the connection"
        self.log += b"S" + struct.pack("!I", len(data)) + data
        return data

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            data = self._recv(15)
            assert data, f"no answer from x11vnc within 15 s ({len(self.buffer)} of {n} bytes)"
            self.buffer += data
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def set_pixel_format(self, bpp, depth, big_endian, true_colour, maxima, shifts) -> None:
        self._send(struct.pack("!Bxxx BBBB HHH BBB xxx", 0, bpp, depth, big_endian, true_colour, *maxima, *shifts))

    def pointer(self, x: int, y: int) -> None:
        self._send(struct.pack("!BBHH", 5, 0, x, y))

    def whole_screen(self, encodings: list[int], times: int = 2, quiet: float = 1.0) -> bytes:
        """Asks for the whole screen in `encodings`, `times` times one after the other (so that a
        ZRLE session's zlib stream goes on from one update to the next); returns the server's
        bytes after ServerInit, each answer read until none came for `quiet` seconds."""
        self._send(struct.pack("!BxH", 2, len(encodings)) + b"".join(struct.pack("!i", e) for e in encodings))
        received = bytearray(self.buffer)
        for _ in range(times):
            self._send(struct.pack("!BBHHHH", 3, 0, 0, 0, self.width, self.height))
            start = len(received)
            deadline = time.monotonic() + 30
            while True:
                data = self._recv(quiet)
                if not data and len(received) > start:
                    break
                assert time.monotonic() < deadline, "x11vnc kept sending for 30 s on a static screen"
                received += data
        return bytes(received)

    def close(self) -> None:
        self.sock.close()


def raw_screen(width: int, height: int, pixel_format: bytes, stream: bytes) -> list[int]:
    """Ground truth: the screen a Raw-only session shows, as 0xRRGGBB ints (x11vnc's 32-bit
    little-endian true-colour format; every other message or encoding fails the test)."""
    bpp, _, big_endian, true_colour = pixel_format[:4]
    red_max, green_max, blue_max, red_shift, green_shift, blue_shift = struct.unpack("!HHHBBB", pixel_format[4:13])
    assert (bpp, big_endian, bool(true_colour), red_max, green_max, blue_max) == (32, 0, True, 255, 255, 255), \
        pixel_format
    screen = [0] * (width * height)
    at = 0
    while at < len(stream):
        kind = stream[at]
        assert kind == 0, f"message type {kind} at {at} in a Raw session"
        (count,) = struct.unpack("!H", stream[at + 2:at + 4])
        at += 4
        for _ in range(count):
            x, y, w, h, encoding = struct.unpack("!HHHHi", stream[at:at + 12])
            at += 12
            assert encoding == RAW, f"encoding {encoding} in a Raw session"
            for row in range(h):
                line = stream[at + row * w * 4:at + (row + 1) * w * 4]
                for column, (value,) in enumerate(struct.iter_unpack("<I", line)):
                    screen[(y + row) * width + x + column] = (
                        (value >> red_shift & 255) << 16 | (value >> green_shift & 255) << 8 | value >> blue_shift & 255)
            at += w * h * 4
    return screen


def swift_decode(tmp_path: Path, name: str, session: LoggedSession, snapshots: bool = False,
                 cursor: bool = False) -> list[int]:
    """The screen RFBDecodeTool draws from the session's log; it must report no problem. With
    `snapshots`, the tool also resumes from keyframe snapshots at the log's message boundaries
    (through their bytes) and fails unless each resumed decoder draws the same screen."""
    log = tmp_path / f"{name}.log"
    image = tmp_path / f"{name}.ppm"
    log.write_bytes(session.log)
    options = (["--check-snapshots"] if snapshots else []) + (["--with-cursor"] if cursor else [])
    run = subprocess.run([decode_tool(), *options, str(log), str(image)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    problems = [line for line in lines
                if not line.startswith(("updates ", "decoded ", "snapshots ", "snapshot ", "rectangles ", "cursor "))]
    session.cursor = next((line.split()[1:] for line in lines if line.startswith("cursor ")), None)
    session.rectangles = dict(item.split("=") for line in lines if line.startswith("rectangles ")
                              for item in line.split()[1:])
    if snapshots:
        resumed = [line.split() for line in lines if line.startswith("snapshots ")]
        assert resumed and int(resumed[0][1]) >= 3, f"{name}: too few boundaries to resume at: {lines}"
    assert not problems, f"{name}: the decoder reported problems:\n" + "\n".join(problems)
    updates = [int(line.split()[1]) for line in lines if line.startswith("updates ")]
    assert updates and updates[0] >= 2, f"{name}: {lines}: the screen was asked for twice"
    print(f"{name}: {' / '.join(lines)}")
    data = image.read_bytes()
    header = f"P6\n{session.width} {session.height}\n255\n".encode()
    assert data.startswith(header), data[:20]
    rgb = data[len(header):]
    assert len(rgb) == session.width * session.height * 3
    return [rgb[i] << 16 | rgb[i + 1] << 8 | rgb[i + 2] for i in range(0, len(rgb), 3)]


def differences(width: int, truth: list[int], decoded: list[int], tolerance=(0, 0, 0)) -> list[str]:
    """Pixels whose channels differ by more than `tolerance`, as `(x,y) truth decoded` (first 5)."""
    found = []
    for i, (a, b) in enumerate(zip(truth, decoded)):
        for channel, limit in zip((16, 8, 0), tolerance):
            if abs((a >> channel & 255) - (b >> channel & 255)) > limit:
                found.append(f"({i % width},{i // width}) {a:06x} {b:06x}")
                break
    return found


def quantisation(maxima) -> tuple[int, ...]:
    """How far a channel may be off after a round trip through `max` levels (either rounding)."""
    return tuple(255 // m + 1 for m in maxima)


def desk_with_text(vncdesk) -> None:
    """Coloured text and a long listing in the xterm, then a pause for the screen to settle."""
    env = dict(os.environ, DISPLAY=vncdesk.display)
    command = (r"printf '\e[41m red \e[42m green \e[44m blue \e[43m yellow \e[0m\n'; "
               r"ls -l /usr/bin | head -30; printf '\e[?25l'")
    subprocess.run(["xdotool", "type", "--delay", "2", command], env=env, check=True, timeout=60)
    subprocess.run(["xdotool", "key", "Return"], env=env, check=True, timeout=10)
    time.sleep(1.5)


def capture(vncdesk, encodings: list[int], pixel_format=None) -> LoggedSession:
    session = LoggedSession(vncdesk.vnc_port)
    if pixel_format:
        session.set_pixel_format(*pixel_format)
    session.stream = session.whole_screen(encodings)
    session.close()
    return session


def test_decoded_x11vnc_screens_equal_the_raw_screen(tmp_path, vncdesk):
    desk_with_text(vncdesk)
    first_raw = capture(vncdesk, [RAW])
    truth = raw_screen(first_raw.width, first_raw.height, first_raw.format, first_raw.stream)
    width = first_raw.width
    assert len(set(truth)) > 20, "the screen has too few colours to test anything"

    # x11vnc (libvncserver 0.9.14) offers no TRLE (asked for it alone, it answers in Raw), nor does
    # TigerVNC: TRLE is tested from hand-built rectangles in RFBTRLEAndZlibDecodingTests.
    exact = {"raw": [RAW], "hextile": [HEXTILE], "zrle": [ZRLE], "rre": [RRE], "copyrect-hextile": [COPYRECT, HEXTILE],
             "zlib": [ZLIB]}
    sessions = {name: capture(vncdesk, encodings) for name, encodings in exact.items()}
    formats = {"zrle-rgb565-le": ([ZRLE], RGB565_LE), "zrle-rgb565-be": ([ZRLE], RGB565_BE),
               "hextile-rgb565-be": ([HEXTILE], RGB565_BE), "zrle-bgr233": ([ZRLE], BGR233),
               "hextile-bgr233": ([HEXTILE], BGR233)}
    converted = {name: capture(vncdesk, encodings, fmt) for name, (encodings, fmt) in formats.items()}
    last_raw = capture(vncdesk, [RAW])
    assert raw_screen(last_raw.width, last_raw.height, last_raw.format, last_raw.stream) == truth, \
        "the screen changed while the sessions were captured"

    for name, session in sessions.items():
        found = differences(width, truth, swift_decode(tmp_path, name, session, snapshots=True))
        used = ENCODING_NAMES[exact[name][-1]]
        assert used in session.rectangles, f"{name}: x11vnc sent {session.rectangles}"
        assert not found, f"{name}: {len(found)} pixels differ from the Raw screen, e.g. {found[:5]}"
    for name, session in converted.items():
        tolerance = quantisation(formats[name][1][4])
        found = differences(width, truth, swift_decode(tmp_path, name, session, snapshots=True), tolerance)
        assert not found, f"{name}: {len(found)} pixels differ beyond {tolerance}, e.g. {found[:5]}"


def channel_errors(truth: list[int], decoded: list[int]) -> tuple[float, int]:
    """Mean and largest absolute difference of a channel between two screens."""
    total = 0
    worst = 0
    for a, b in zip(truth, decoded):
        for shift in (16, 8, 0):
            d = abs((a >> shift & 255) - (b >> shift & 255))
            total += d
            worst = max(worst, d)
    return total / (3 * len(truth)), worst


def test_tight_sessions_of_x11vnc(tmp_path, vncdesk):
    """Tight without a quality level is lossless (pixel-exact, also at 16 and 8 bits per pixel);
    with one, x11vnc sends JPEG for many-coloured areas (close to the Raw screen)."""
    desk_with_text(vncdesk)
    first_raw = capture(vncdesk, [RAW])
    truth = raw_screen(first_raw.width, first_raw.height, first_raw.format, first_raw.stream)
    width = first_raw.width
    lossless = {"tight": ([TIGHT], None), "tight-rgb565-be": ([TIGHT], RGB565_BE),
                "tight-rgb565-le": ([TIGHT], RGB565_LE), "tight-bgr233": ([TIGHT], BGR233)}
    # name: encodings, the largest mean channel error allowed (JPEG at quality 9 is close to
    # lossless; measured here: 0.03 at quality 9, 2.1 at 5). x11vnc (libvncserver 0.9.14) does
    # not offer TightPNG (asked for it alone, it answers in Raw): TightPNG is tested from
    # hand-built rectangles in RFBTightDecodingTests.
    lossy = {"tight-jpeg-q9": ([TIGHT, quality(9)], 0.5), "tight-jpeg-q5": ([TIGHT, quality(5)], 4.0)}
    exact = {name: capture(vncdesk, encodings, fmt) for name, (encodings, fmt) in lossless.items()}
    near = {name: capture(vncdesk, encodings) for name, (encodings, _) in lossy.items()}
    last_raw = capture(vncdesk, [RAW])
    assert raw_screen(last_raw.width, last_raw.height, last_raw.format, last_raw.stream) == truth, \
        "the screen changed while the sessions were captured"

    for name, session in exact.items():
        fmt = lossless[name][1]
        tolerance = quantisation(fmt[4]) if fmt else (0, 0, 0)
        found = differences(width, truth, swift_decode(tmp_path, name, session, snapshots=True), tolerance)
        assert "Tight" in session.rectangles, f"{name}: x11vnc sent {session.rectangles}"
        assert not found, f"{name}: {len(found)} pixels differ beyond {tolerance}, e.g. {found[:5]}"
    for name, session in near.items():
        decoded = swift_decode(tmp_path, name, session, snapshots=True)
        assert "Tight" in session.rectangles, f"{name}: x11vnc sent {session.rectangles}"
        mean, worst = channel_errors(truth, decoded)
        print(f"{name}: mean channel error {mean:.3f}, largest {worst}, rectangles {session.rectangles}")
        assert mean <= lossy[name][1], f"{name}: mean channel error {mean:.2f} (largest {worst})"


def test_tigervnc_sessions(tmp_path):
    """A second real server: TigerVNC's Xvnc. Tight (lossless without a quality level), ZRLE and
    Hextile pixel-exact against its Raw screen, Tight with JPEG close to it; keyframes resumed."""
    with VncDesk(workdir=tmp_path / "home", logdir=tmp_path / "logs", server="tigervnc") as desk:
        desk_with_text(desk)
        first_raw = capture(desk, [RAW])
        truth = raw_screen(first_raw.width, first_raw.height, first_raw.format, first_raw.stream)
        assert len(set(truth)) > 20, "the screen has too few colours to test anything"
        exact = {"tiger-tight": [TIGHT], "tiger-zrle": [ZRLE], "tiger-hextile": [HEXTILE]}
        sessions = {name: capture(desk, encodings) for name, encodings in exact.items()}
        jpeg = capture(desk, [TIGHT, quality(8)])
        last_raw = capture(desk, [RAW])
        assert raw_screen(last_raw.width, last_raw.height, last_raw.format, last_raw.stream) == truth, \
            "the screen changed while the sessions were captured"
    for name, session in sessions.items():
        found = differences(first_raw.width, truth, swift_decode(tmp_path, name, session, snapshots=True))
        used = ENCODING_NAMES[exact[name][-1]]
        assert used in session.rectangles, f"{name}: Xvnc sent {session.rectangles}"
        assert not found, f"{name}: {len(found)} pixels differ from the Raw screen, e.g. {found[:5]}"
    mean, worst = channel_errors(truth, swift_decode(tmp_path, "tiger-tight-jpeg", jpeg, snapshots=True))
    print(f"tiger-tight-jpeg: mean channel error {mean:.3f}, largest {worst}, rectangles {jpeg.rectangles}")
    assert "Tight" in jpeg.rectangles and mean <= 1.0, (mean, worst, jpeg.rectangles)


def test_x11vnc_cursor_is_drawn_at_the_pointer(tmp_path, vncdesk):
    """x11vnc sends the pointer's shape (Cursor, or XCursor) to a client that asks for it; the
    decoder draws it with its hotspot at the client's last PointerEvent, and nowhere else."""
    desk_with_text(vncdesk)
    for name, shape in (("cursor", CURSOR), ("xcursor", XCURSOR)):
        session = LoggedSession(vncdesk.vnc_port)
        session._send(struct.pack("!BxH", 2, 2) + struct.pack("!ii", RAW, shape))
        session.pointer(200, 150)
        session.stream = session.whole_screen([RAW, shape])
        session.close()
        plain = swift_decode(tmp_path, name, session)
        drawn = swift_decode(tmp_path, name + "-drawn", session, cursor=True)
        assert session.cursor and session.cursor[0] != "none", f"{name}: no cursor shape: {session.rectangles}"
        size, _, hotspot, _, pointer = session.cursor
        width, height = map(int, size.split("x"))
        hx, hy = map(int, hotspot.split(","))
        assert pointer == "200,150", session.cursor
        changed = [(i % session.width, i // session.width) for i, (a, b) in enumerate(zip(plain, drawn)) if a != b]
        print(f"{name}: shape {session.cursor}, {len(changed)} pixels drawn, rectangles {session.rectangles}")
        assert changed, f"{name}: the cursor changed no pixel"
        left, top = 200 - hx, 150 - hy
        outside = [p for p in changed if not (left <= p[0] < left + width and top <= p[1] < top + height)]
        assert not outside, f"{name}: pixels drawn outside the cursor's box: {outside[:5]}"
