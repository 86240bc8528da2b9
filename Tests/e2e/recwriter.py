"""A minimal writer of websockify-swift recordings (docs/record-format.md), independent of the Swift
writer: one stored (codec 0) records block, valid CRCs, no index. For tests that need records the
proxy never writes, such as times near the end of the u64 range."""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

MAGIC = b"\x89WSREC\r\n"
SYNC = b"WSBK"


@dataclass
class Rec:
    """One record: kind 1 open, 2 close, 3 frame, 4 marker (§4.1)."""
    kind: int
    session: int
    time: int
    body: bytes = b""
    flags: int = 0
    opcode: int = 0
    start_wall: int = field(default=0)  # open records: used only to compute the block's time range


def _str16(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<H", len(data)) + data


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack("<BH", tag, len(value)) + value


def open_record(session: int, start_wall: int, subprotocol: str | None = "binary", time: int = 0) -> Rec:
    """An open record (§4.4) with the start wall-clock time and a host:port target."""
    body = _tlv(1, struct.pack("<q", start_wall)) + _tlv(2, b"127.0.0.1:50000") + _tlv(3, b"127.0.0.1:6080")
    body += _tlv(4, b"\x01127.0.0.1:5900") + _tlv(5, b"/")
    if subprotocol is not None:
        body += _tlv(6, subprotocol.encode())
    body += _tlv(7, b"\x00")
    return Rec(1, session, time, body, start_wall=start_wall)


def close_record(session: int, time: int, closed_by: int = 2, code: int | None = 1000) -> Rec:
    """A close record (§4.5); closed_by 1 client, 2 target, 3 proxy."""
    body = _tlv(1, bytes([closed_by]))
    if code is not None:
        body += _tlv(2, struct.pack("<H", code))
    body += _tlv(3, b"")
    for tag in (4, 5, 6, 7):
        body += _tlv(tag, struct.pack("<Q", 0))
    return Rec(2, session, time, body)


def frame_record(session: int, time: int, payload: bytes, from_target: bool, opcode: int = 2) -> Rec:
    """A final (FIN) data frame record (§4.2)."""
    return Rec(3, session, time, payload, flags=(0x01 if from_target else 0) | 0x04, opcode=opcode)


def write_recording(path, records: list[Rec], created: int = 1_764_000_000_000_000) -> None:
    header = MAGIC + struct.pack("<HHHHq", 1, 1, 0, 0, created) + _str16("recwriter.py") + _str16("1")
    header = header[:12] + struct.pack("<H", len(header) + 4) + header[14:]
    header += struct.pack("<I", zlib.crc32(header) & 0xFFFFFFFF)
    payload = b""
    starts: dict[int, int] = {}
    walls = []
    for r in records:
        payload += struct.pack("<BBBBIQI", r.kind, r.flags, r.opcode, 0, r.session, r.time, len(r.body)) + r.body
        if r.kind == 1:
            starts[r.session] = r.start_wall
        wall = r.time if r.session == 0 else starts.get(r.session, 0) + r.time
        walls.append(max(-2**63, min(2**63 - 1, wall)))  # the i64 header fields saturate
    sessions = sorted({r.session for r in records if r.session})
    block = SYNC + struct.pack("<BBHIIIqqIHH", 1, 0, 48 + 4 * len(sessions), len(payload), len(payload),
                               len(records), min(walls), max(walls),
                               zlib.crc32(payload) & 0xFFFFFFFF, len(sessions), 0)
    block += b"".join(struct.pack("<I", s) for s in sessions)
    block += struct.pack("<I", zlib.crc32(block) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(header + block + payload)
