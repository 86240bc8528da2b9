"""wsreplay on recordings whose record times sit at the ends of the i64 and u64 ranges (issue 12 §3):
valid CRCs, so only the times are wrong. The replay must not trap, spin or wait for ever: a record out
of range is played right after the record before it, the report names it, and the exit status is 3."""
from __future__ import annotations

import struct
import time

import pytest

from proxyutil import RawClient
from recwriter import close_record, frame_record, open_record, write_recording
from replayutil import finish, read_report
from test_replay_cli import start_replay

EXTREME_TIMES = [0x7FFF_FFFF_FFFF_FF00, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF]
START_WALL = 1_764_000_000_000_000


def recording_with_late_records(path, late: int) -> None:
    """The target greets, the client answers, then a target frame and the close at `late` µs."""
    write_recording(path, [
        open_record(1, START_WALL),
        frame_record(1, 1_000, b"first", from_target=True),
        frame_record(1, 2_000, b"answer", from_target=False),
        frame_record(1, late, b"late", from_target=True),
        close_record(1, late, closed_by=2, code=1000),
    ])


def play(port: int) -> tuple[list[bytes], int]:
    """Read the greeting, answer it, read what follows until the server closes."""
    client = RawClient(port, protocols=["binary"], timeout=15)
    received = [client.read_frame()[2]]
    client.send_frame(2, b"answer")
    while True:
        opcode, payload = client.read_frame()[1:]
        if opcode == 8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            client.send_frame(8, payload[:2])
            client.close()
            return received, code
        received.append(payload)


@pytest.mark.parametrize("late", EXTREME_TIMES, ids=hex)
@pytest.mark.parametrize("pacing", [[], ["--fast"], ["--speed", "0.5"]], ids=["real-time", "fast", "half-speed"])
def test_replay_plays_late_records_at_once_and_exits_3(tmp_path, late, pacing):
    recording = tmp_path / "late.rec"
    recording_with_late_records(recording, late)
    report = tmp_path / "report.json"
    proc, port = start_replay(tmp_path, recording, "--once", "--wait-timeout", "5", "--report", str(report), *pacing)
    started = time.monotonic()
    received, code = play(port)
    assert received == [b"first", b"late"]
    assert code == 1000
    assert finish(proc, timeout=30) == 3, proc.log_path.read_text()
    assert time.monotonic() - started < 10, "the late frame and the close came at once"
    data = read_report(report)
    assert data["divergences"] == []
    problems = data["time_problems"]
    assert len(problems) == 1, problems
    # The single records block starts right after the 45-byte file header recwriter.py writes.
    assert f"late.rec: at byte 45: session 1, record 3 of the block: time {late} µs" in problems[0]
    log = proc.log_path.read_text()
    assert "out of range" in log and "result: the recording has records whose time is out of range" in log


def test_replay_of_a_legacy_file_with_huge_millisecond_times(tmp_path):
    legacy = tmp_path / "huge.js"
    lines = ["'{1{first',", "'}2}answer',", "'{18446744073709551{late',", "'EOF'];"]
    legacy.write_text("var VNC_frame_data = [\n" + "\n".join(lines) + "\n")
    # A legacy file does not say who closed: --close-at-end closes after the last frame instead of holding.
    proc, port = start_replay(tmp_path, legacy, "--once", "--wait-timeout", "5", "--close-at-end")
    received, code = play(port)
    assert received == [b"first", b"late"]
    assert finish(proc, timeout=30) == 3, proc.log_path.read_text()
    assert "time 18446744073709551000 µs since the session start is out of range" in proc.log_path.read_text()
