"""PNG for canvases, on zlib alone: decode 8-bit RGB/RGBA non-interlaced images (what a canvas's
toDataURL gives), encode RGB ones, and compare two images pixel by pixel with a tolerance per
colour channel, drawing where they differ."""
from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass

# A pixel differs when one of its colour channels differs by more than this (of 255).
CHANNEL_TOLERANCE = 8


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int  # 3 (RGB) or 4 (RGBA)
    pixels: bytes  # rows top to bottom, `channels` bytes per pixel

    def rgb(self, index: int) -> bytes:
        at = index * self.channels
        return self.pixels[at:at + 3]


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """Returns (width, height, channels, raw pixel bytes row after row)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if not header:
        raise ValueError("PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if not (depth == 8 and colour in (2, 6) and interlace == 0):
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace}): "
                         "only 8-bit RGB/RGBA, not interlaced")
    channels = 4 if colour == 6 else 3
    stride = width * channels
    raw = zlib.decompress(b"".join(idat))
    out = bytearray(stride * height)
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:  # Sub
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif kind == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, previous))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out[y * stride:(y + 1) * stride] = line
        previous = line
    return width, height, channels, bytes(out)


def read_image(data: bytes) -> Image:
    return Image(*decode_png(data))


def encode_png(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG of `rgb` (3 bytes per pixel, rows top to bottom), rows unfiltered."""
    stride = width * 3
    raw = b"".join(b"\x00" + rgb[y * stride:(y + 1) * stride] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def data_url_png(url: str) -> bytes:
    prefix = "data:image/png;base64,"
    if not url.startswith(prefix):
        raise ValueError(f"not a PNG data URL: {url[:40]!r}")
    return base64.b64decode(url[len(prefix):])


@dataclass(frozen=True)
class Comparison:
    differing: int  # pixels whose colour differs by more than the tolerance in a channel
    total: int  # pixels of the reference
    size_differs: bool
    diff_png: bytes | None  # the reference dimmed, differing pixels red; None when equal or sizes differ


def compare(actual: bytes, reference: bytes, channel_tolerance: int = CHANNEL_TOLERANCE,
            draw: bool = True) -> Comparison:
    """Compares two PNGs' colours (alpha ignored); `draw` makes the diff image when they differ.
    Images of different sizes differ everywhere."""
    a, r = read_image(actual), read_image(reference)
    total = r.width * r.height
    if (a.width, a.height) != (r.width, r.height):
        return Comparison(differing=total, total=total, size_differs=True, diff_png=None)
    if a.pixels == r.pixels and a.channels == r.channels:
        return Comparison(differing=0, total=total, size_differs=False, diff_png=None)
    marks = bytearray(total)
    for i in range(total):
        x, y = a.rgb(i), r.rgb(i)
        if x != y and max(abs(x[0] - y[0]), abs(x[1] - y[1]), abs(x[2] - y[2])) > channel_tolerance:
            marks[i] = 1
    differing = sum(marks)
    diff = _draw(r, marks) if differing and draw else None
    return Comparison(differing=differing, total=total, size_differs=False, diff_png=diff)


def _draw(reference: Image, marks: bytearray) -> bytes:
    """The reference dimmed to grey (so red stands out), with the marked pixels red."""
    picture = bytearray(len(marks) * 3)
    for i, marked in enumerate(marks):
        if marked:
            picture[i * 3:i * 3 + 3] = b"\xff\x00\x00"
        else:
            y = reference.rgb(i)
            grey = (y[0] + y[1] + y[2]) // 12 + 32
            picture[i * 3:i * 3 + 3] = bytes((grey, grey, grey))
    return encode_png(reference.width, reference.height, bytes(picture))


def differing_fraction(a: bytes, b: bytes, channel_tolerance: int = CHANNEL_TOLERANCE) -> float:
    """Fraction of pixels whose colour differs by more than `channel_tolerance` in any channel
    (1.0 when the sizes differ)."""
    result = compare(a, b, channel_tolerance, draw=False)
    return result.differing / result.total if result.total else 0.0
