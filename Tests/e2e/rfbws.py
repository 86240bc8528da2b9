"""An RFB 3.8 client (security None) speaking through websockify over binary WebSocket frames, that
keeps asking for incremental updates so the VNC server sends every change of its screen: the
viewer side of recorded sessions for test_inspect_render.py and scripts/bench-render."""
from __future__ import annotations

import struct
import threading
import time

from proxyutil import RawClient

# ZRLE, Hextile, CopyRect, Raw, DesktopSize: what the framebuffer decoder draws.
DECODED_ENCODINGS = [16, 5, 1, 0, -223]


class RfbOverWebSocket:
    """An RFB 3.8 client (security None) through websockify: a thread reads the server's frames and
    keeps asking for incremental updates, so x11vnc sends every change of the screen."""

    def __init__(self, port: int, encodings: list[int] = DECODED_ENCODINGS, interval: float = 0.05):
        self.ws = RawClient(port, protocols=["binary"], timeout=15)
        self.received = bytearray()
        self.lock = threading.Condition()
        self.stopping = False
        self.interval = interval
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        assert self._take(12).startswith(b"RFB 003.00")
        self._send(b"RFB 003.008\n")
        types = self._take(self._take(1)[0])
        assert 1 in types, types
        self._send(b"\x01")
        assert self._take(4) == b"\0\0\0\0"
        self._send(b"\x01")
        header = self._take(24)
        self.width, self.height = struct.unpack("!HH", header[:4])
        self._take(struct.unpack("!I", header[20:24])[0])
        self._send(struct.pack("!BxH", 2, len(encodings)) + b"".join(struct.pack("!i", e) for e in encodings))
        self._send(struct.pack("!BBHHHH", 3, 0, 0, 0, self.width, self.height))
        self.asker = threading.Thread(target=self._ask, daemon=True)
        self.asker.start()

    def _send(self, data: bytes) -> None:
        self.ws.send_frame(2, data)

    def _read(self) -> None:
        try:
            while True:
                _, opcode, payload = self.ws.read_frame()
                if opcode == 8:
                    return
                with self.lock:
                    self.received += payload
                    self.lock.notify_all()
        except (OSError, EOFError, AssertionError):
            return

    def _take(self, n: int) -> bytes:
        with self.lock:
            assert self.lock.wait_for(lambda: len(self.received) >= n, timeout=15), "no answer from x11vnc"
            out = bytes(self.received[:n])
            del self.received[:n]
            return out

    def pointer(self, x: int, y: int, buttons: int = 0) -> None:
        """A PointerEvent: the pointer moves to (x, y)."""
        self._send(struct.pack("!BBHH", 5, buttons, x, y))

    def _ask(self) -> None:
        while not self.stopping:
            try:
                self._send(struct.pack("!BBHHHH", 3, 1, 0, 0, self.width, self.height))
            except OSError:
                return
            time.sleep(self.interval)

    def close(self) -> None:
        self.stopping = True
        self.asker.join(timeout=5)
        self.ws.send_frame(8, struct.pack("!H", 1000))
        self.reader.join(timeout=5)
        self.ws.close()
