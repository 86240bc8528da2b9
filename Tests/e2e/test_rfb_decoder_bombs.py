"""The RFB decoder (Tests/RFBDecodeTool) against zlib bombs in rectangles it does not draw.

A rectangle of a zlib-streamed encoding (Tight, ZRLE, Zlib) that lies outside the screen is still
inflated, to keep the session's stream in step; it may say it is 65535x65535, so what it is allowed
to inflate to is many gigabytes. The decoder must throw that output away as it comes: each log here
has one such rectangle whose few hundred KiB of zlib data inflate to 256 MiB, and the tool's peak
memory (the child's maximum resident set, from the kernel) must stay far below that. The problem is
still reported, and the stream stays usable: a small rectangle drawn after it on the same stream
must come out right.
"""
from __future__ import annotations

import functools
import os
import resource
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from test_rfb_decoder import decode_tool

TIGHT, ZLIB, ZRLE = 7, 6, 16
INFLATED = 256 << 20
SCREEN = 64
# What the decoder may hold at the peak (its own code and a few small buffers), far below INFLATED.
PEAK_RSS_LIMIT = 160 << 20


def record(direction: bytes, data: bytes) -> bytes:
    return direction + struct.pack(">I", len(data)) + data


def handshake(encoding: int) -> bytes:
    """RFB 3.8 with no security, a 64x64 screen of 32-bit pixels (red at bit 16), one encoding."""
    out = record(b"S", b"RFB 003.008\n") + record(b"C", b"RFB 003.008\n")
    out += record(b"S", bytes([1, 1])) + record(b"C", bytes([1])) + record(b"S", struct.pack(">I", 0))
    out += record(b"C", bytes([1]))
    pixel_format = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
    out += record(b"S", struct.pack(">HH", SCREEN, SCREEN) + pixel_format + struct.pack(">I", 1) + b"x")
    return out + record(b"C", struct.pack(">BxHi", 2, 1, encoding))


def compact(length: int) -> bytes:
    """Tight's compact length (1-3 bytes, 7 bits each)."""
    out = bytearray([length & 0x7F])
    if length > 0x7F:
        out[0] |= 0x80
        out.append(length >> 7 & 0x7F)
        if length > 0x3FFF:
            out[1] |= 0x80
            out.append(length >> 14)
    return bytes(out)


@functools.cache
def zeros_compressed() -> tuple[zlib._Compress, bytes]:
    """INFLATED zero bytes as the start of a zlib stream (sync-flushed), and the stream."""
    stream = zlib.compressobj(9)
    zeros = bytes(1 << 24)
    bomb = b"".join(stream.compress(zeros) for _ in range(INFLATED // len(zeros)))
    return stream, bomb + stream.flush(zlib.Z_SYNC_FLUSH)


def bomb_and_tile(encoding: int) -> tuple[bytes, bytes]:
    """(the undrawn 65535x65535 rectangle at (0,0), then an 8x8 green one at (8,8)) on one stream."""
    compressed, bomb = zeros_compressed()
    stream = compressed.copy()
    if encoding == TIGHT:
        # Copy filter, TPIXELs (R, G, B).
        tile = stream.compress(bytes([0, 255, 0]) * 64) + stream.flush(zlib.Z_SYNC_FLUSH)
        first = struct.pack(">HHHHi", 0, 0, 65535, 65535, TIGHT) + b"\x00" + compact(len(bomb)) + bomb
        second = struct.pack(">HHHHi", 8, 8, 8, 8, TIGHT) + b"\x00" + compact(len(tile)) + tile
    elif encoding == ZRLE:
        # One solid 8x8 tile: subencoding 1, a CPIXEL (little-endian here: B, G, R).
        tile = stream.compress(b"\x01" + bytes([0, 255, 0])) + stream.flush(zlib.Z_SYNC_FLUSH)
        first = struct.pack(">HHHHiI", 0, 0, 65535, 65535, ZRLE, len(bomb)) + bomb
        second = struct.pack(">HHHHiI", 8, 8, 8, 8, ZRLE, len(tile)) + tile
    else:
        # Raw pixels, little-endian 32-bit: B, G, R, padding.
        tile = stream.compress(bytes([0, 255, 0, 0]) * 64) + stream.flush(zlib.Z_SYNC_FLUSH)
        first = struct.pack(">HHHHiI", 0, 0, 65535, 65535, ZLIB, len(bomb)) + bomb
        second = struct.pack(">HHHHiI", 8, 8, 8, 8, ZLIB, len(tile)) + tile
    return first, second


def read_ppm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    parts = data.split(b"\n", 3)
    width, height = (int(v) for v in parts[1].split())
    return width, height, parts[3]


@pytest.mark.parametrize("encoding", [TIGHT, ZRLE, ZLIB], ids=["Tight", "ZRLE", "Zlib"])
def test_undrawn_rectangle_is_inflated_without_holding_its_output(tmp_path: Path, encoding: int) -> None:
    first, second = bomb_and_tile(encoding)
    log = handshake(encoding)
    log += record(b"S", struct.pack(">BxH", 0, 1) + first)
    log += record(b"S", struct.pack(">BxH", 0, 1) + second)
    session = tmp_path / "bomb.log"
    session.write_bytes(log)
    assert session.stat().st_size < 2 << 20
    image = tmp_path / "out.ppm"

    # The child's peak RSS alone: run it from a forked child that waits for it, and read that
    # child's RUSAGE_CHILDREN (the largest of its children).
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        result = subprocess.run([decode_tool(), str(session), str(image)], capture_output=True, text=True,
                                timeout=120)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        os.write(write_end, f"{peak}\n{result.returncode}\n{result.stdout}\n{result.stderr}".encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    peak_kib, returncode, output = report.split("\n", 2)
    assert returncode == "0", output
    # Tight checks the inflated size against what its filter needs; the others only inflate.
    assert "lies outside the 64x64 framebuffer" in output or f"gave {INFLATED} bytes" in output, output
    assert int(peak_kib) * 1024 < PEAK_RSS_LIMIT, f"peak RSS {int(peak_kib) // 1024} MiB\n{output}"

    width, height, pixels = read_ppm(image)
    assert (width, height) == (SCREEN, SCREEN)
    at = lambda x, y: pixels[(y * width + x) * 3:(y * width + x) * 3 + 3]  # noqa: E731
    assert at(8, 8) == b"\x00\xff\x00" and at(15, 15) == b"\x00\xff\x00", output
    assert at(0, 0) == b"\x00\x00\x00" and at(16, 16) == b"\x00\x00\x00"
