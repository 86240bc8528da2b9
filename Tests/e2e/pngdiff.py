"""A tiny PNG decoder (8-bit RGB/RGBA, non-interlaced: what a canvas's toDataURL gives) on zlib,
and a tolerant pixel comparison, for checking noVNC canvases without extra packages."""
from __future__ import annotations

import base64
import struct
import zlib


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """Returns (width, height, channels, raw pixel bytes row after row)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
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
    assert header, "PNG without IHDR"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG {header}"
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


def data_url_png(url: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix), url[:40]
    return base64.b64decode(url[len(prefix):])


def differing_fraction(a: bytes, b: bytes, channel_tolerance: int = 8) -> float:
    """Fraction of pixels whose colour differs by more than `channel_tolerance` in any channel
    (1.0 when the sizes differ)."""
    wa, ha, ca, pa = decode_png(a)
    wb, hb, cb, pb = decode_png(b)
    if (wa, ha) != (wb, hb):
        return 1.0
    if pa == pb and ca == cb:
        return 0.0
    differing = 0
    for i in range(wa * ha):
        x, y = pa[i * ca:i * ca + 3], pb[i * cb:i * cb + 3]
        if x != y and max(abs(x[0] - y[0]), abs(x[1] - y[1]), abs(x[2] - y[2])) > channel_tolerance:
            differing += 1
    return differing / (wa * ha)
