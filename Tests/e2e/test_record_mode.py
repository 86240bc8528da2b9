"""Recordings are private (issue 12 §7): `--record` creates FILE.rec 0600 under the usual umask 022,
`--record-mode` sets other bits on purpose, and an existing file keeps its mode when a run appends
(with a warning when it is more open); a link, a FIFO or an empty file put there first (issue 19 §4)."""
from __future__ import annotations

import contextlib
import os
import stat
import struct
import subprocess
import time

from proxyutil import Proxy, RawClient, TcpTarget, websockify_bin, ws_expect


@contextlib.contextmanager
def umask(mask: int):
    """The process umask for the block (websockify inherits it)."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def record_one_session(base, *extra: str, payload: bytes = b"secret typed here", wait: float = 0) -> str:
    """Start websockify with --record=BASE (none when BASE is None), relay one echo exchange of
    `payload` (another after `wait` seconds, if given), stop it (SIGTERM closes the file); returns
    its log up to the stop."""
    target = TcpTarget()
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[*([f"--record={base}"] if base else []), *extra])
    try:
        client = RawClient(proxy.port, protocols=["binary"], timeout=30)
        client.send_frame(2, payload)
        ws_expect(client, payload, "the echo")
        if wait:
            time.sleep(wait)
            client.send_frame(2, payload)
            ws_expect(client, payload, "the echo")
        client.send_frame(8, struct.pack("!H", 1000))
        client.read_until_close()
        client.close()
        log = proxy.log_text()
    finally:
        proxy.stop()
        target.close()
    assert proxy.proc.returncode == 0, f"websockify exited with {proxy.proc.returncode}"
    return log


def test_new_recording_is_0600_under_umask_022(tmp_path):
    with umask(0o022):
        record_one_session(tmp_path / "rec")
    path = tmp_path / "rec.rec"
    assert path.stat().st_size > 0
    assert mode_of(path) == 0o600, oct(mode_of(path))


def test_record_mode_sets_the_bits_exactly_whatever_the_umask(tmp_path):
    with umask(0o022):
        record_one_session(tmp_path / "group", "--record-mode=0640")
    assert mode_of(tmp_path / "group.rec") == 0o640
    # A stricter umask does not narrow what was asked for on purpose.
    with umask(0o077):
        record_one_session(tmp_path / "wide", "--record-mode=644")
    assert mode_of(tmp_path / "wide.rec") == 0o644


def test_appending_keeps_the_existing_mode_up_or_down(tmp_path):
    path = tmp_path / "kept.rec"
    with umask(0o022):
        record_one_session(tmp_path / "kept")
        os.chmod(path, 0o644)
        log = record_one_session(tmp_path / "kept")  # the default 0600 does not narrow an existing file
        assert mode_of(path) == 0o644
        # ... but says the file is more open than asked (issue 19 §4).
        assert f"recording: {path} has mode 0644, more open than --record-mode 0600" in log, log
        os.chmod(path, 0o400 | 0o200)
        log = record_one_session(tmp_path / "kept", "--record-mode=0666")  # nor does --record-mode widen it
        assert mode_of(path) == 0o600
        assert "more open than" not in log, log
    # Both runs were appended to the one file.
    inspect = os.path.join(os.path.dirname(websockify_bin()), "wsrecord-inspect")
    dump = subprocess.run([inspect, "dump", "--json", str(path)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0, dump.stderr
    assert dump.stdout.count('"kind":"open"') == 3


def test_bad_record_mode_values_exit_2(tmp_path):
    for extra in (["--record-mode=0640"], [f"--record={tmp_path / 'x'}", "--record-mode=rw-r-----"],
                  [f"--record={tmp_path / 'x'}", "--record-mode=01600"]):
        run = subprocess.run([websockify_bin(), *extra, "127.0.0.1:0", "127.0.0.1:9"],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 2, (extra, run.returncode, run.stderr)
        assert "--record-mode" in run.stderr, run.stderr
    assert not (tmp_path / "x.rec").exists()


def test_replay_report_gets_the_recordings_mode_not_the_umasks(tmp_path):
    """wsreplay's --report quotes what the client typed, so it is as private as the recording: 0600
    from a 0600 recording under umask 022, and it replaces an earlier report in place."""
    from recwriter import close_record, frame_record, open_record, write_recording
    from replayutil import finish
    from test_replay_cli import play_client, start_replay

    recording = tmp_path / "typed.rec"
    write_recording(recording, [
        open_record(1, 1_764_000_000_000_000),
        frame_record(1, 1_000, b"password", from_target=False),
        frame_record(1, 2_000, b"password", from_target=True),
        close_record(1, 3_000, closed_by=2, code=1000),
    ])
    os.chmod(recording, 0o600)
    report = tmp_path / "report.json"
    report.write_text("an older report, world-readable\n")
    os.chmod(report, 0o644)
    with umask(0o022):
        proc, port = start_replay(tmp_path, recording, "--once", "--report", str(report))
        play_client(port, [b"password"])
        assert finish(proc) == 0, proc.log_path.read_text()
    assert mode_of(report) == 0o600, oct(mode_of(report))
    assert report.read_text().startswith("{")
    assert not list(tmp_path.glob("report.json.tmp-*"))


def test_rotated_and_per_session_files_get_the_mode_too(tmp_path):
    """Every file of a rotated or per-session recording is made with the recording's mode (issue 19 §4)."""
    with umask(0o022):
        record_one_session(tmp_path / "rot", "--record-rotate=1s", payload=b"x", wait=2.5)
        sessions = tmp_path / "sessions"
        sessions.mkdir()
        record_one_session(None, f"--record-dir={sessions}", "--record-per-session")
        grouped = tmp_path / "grouped"
        grouped.mkdir()
        record_one_session(None, f"--record-dir={grouped}", "--record-per-session", "--record-mode=0640")
    rotated = sorted(tmp_path.glob("rot-*.rec"))
    assert len(rotated) >= 3, rotated
    assert {mode_of(p) for p in rotated} == {0o600}, [(p.name, oct(mode_of(p))) for p in rotated]
    assert [mode_of(p) for p in sessions.glob("*.rec")] == [0o600]
    assert [mode_of(p) for p in grouped.glob("*.rec")] == [0o640]


def test_a_file_placed_at_the_record_path_does_not_get_the_recording(tmp_path):
    """Issue 19 §4: an empty 0666 file put at FILE.rec beforehand is made 0600 before the header is
    written; a symbolic link there (to such a file) and a FIFO are refused at startup, naming the
    file, and what they point to stays empty."""
    placed = tmp_path / "placed.rec"
    placed.touch()
    os.chmod(placed, 0o666)
    with umask(0o022):
        record_one_session(tmp_path / "placed")
    assert mode_of(placed) == 0o600, oct(mode_of(placed))
    assert placed.stat().st_size > 0

    elsewhere = tmp_path / "elsewhere"
    elsewhere.touch()
    os.chmod(elsewhere, 0o666)
    os.symlink(elsewhere, tmp_path / "link.rec")
    os.mkfifo(tmp_path / "fifo.rec", 0o666)
    for name, why in (("link", "is a symbolic link; recordings are not written through links"),
                      ("fifo", "is a FIFO, not a regular file")):
        run = subprocess.run([websockify_bin(), f"--record={tmp_path / name}", "127.0.0.1:0", "127.0.0.1:9"],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 1, (name, run.returncode, run.stderr)
        assert f"cannot record: {tmp_path / name}.rec: {why}" in run.stderr, run.stderr
    assert elsewhere.stat().st_size == 0 and mode_of(elsewhere) == 0o666
