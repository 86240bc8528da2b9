"""--record onto a really full disk: a 32 MiB tmpfs, with far more traffic than fits.

Proxying never stops and relays every byte intact; the recording stays a valid file whose gap
block says what was lost (verify exits 3 naming it), the sessions' close records and the index
are still written (their space is reserved ahead), and stats shows both.

Needs root (it mounts a tmpfs); the test fails rather than skips without it.
"""

import hashlib
import json
import os
import re
import struct
import subprocess
import tempfile

import pytest

from proxyutil import Proxy, RawClient, TcpTarget, free_port, wait_until
from replayutil import finish, read_report, wsreplay_bin
from test_proxy_record import _connectable, inspect_bin

MIB = 1 << 20


def mount_tmpfs(size_mib):
    if os.geteuid() != 0:
        pytest.fail("this test mounts a tmpfs and must run as root", pytrace=False)
    where = tempfile.mkdtemp(prefix="wsrec-diskfull-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", where], check=True)
    return where


def unmount(where):
    subprocess.run(["umount", where], check=False)
    os.rmdir(where)


def chunk(seed, index):
    """1 MiB of bytes that do not compress, numbered so loss or reordering shows."""
    base = hashlib.shake_256(f"diskfull-{seed}".encode()).digest(MIB)
    return struct.pack("!I", index) + base[4:]


def streamer(mib):
    """Target handler: sends `mib` numbered chunks, then closes (the session ends 'by target')."""
    def run(conn, target):
        try:
            for i in range(mib):
                conn.sendall(chunk(conn.getsockname()[1], i))
            conn.shutdown(1)
            while conn.recv(65536):
                pass
        except OSError:
            pass
    return run


def expected_digest(port, mib):
    h = hashlib.sha256()
    for i in range(mib):
        h.update(chunk(port, i))
    return h.hexdigest()


def relay_session(proxy, target, mib):
    """One WebSocket session that reads all `mib` MiB the target sends; returns (bytes, sha256)."""
    client = RawClient(proxy.port, protocols=["binary"], timeout=60)
    h = hashlib.sha256()
    received = 0
    try:
        while True:
            fin, opcode, payload = client.read_frame()
            if opcode == 8:
                break
            h.update(payload)
            received += len(payload)
    finally:
        client.close()
    return received, h.hexdigest()


def inspect(*args):
    return subprocess.run([inspect_bin(), *args], capture_output=True, text=True, timeout=120)


def check_recording(path, sessions):
    """What every disk-full recording must show; returns (verify text, stats JSON)."""
    verify = inspect("verify", path)
    assert verify.returncode == 3, verify.stdout + verify.stderr
    assert "index: present and consistent" in verify.stdout, verify.stdout
    gap_lines = [line for line in verify.stdout.splitlines() if line.startswith("  GAP ")]
    assert gap_lines, verify.stdout
    for line in gap_lines:
        assert re.match(r"  GAP \d+ records / \d+ bytes of session \d+ lost at \d{4}-\d\d-\d\dT", line), line
        assert "No space left on device" in line, line
    assert "INCOMPLETE:" in verify.stdout, verify.stdout
    assert "DAMAGE " not in verify.stdout, verify.stdout

    stats = inspect("stats", "--json", path)
    assert stats.returncode == 3, stats.stderr
    figures = json.loads(stats.stdout)
    assert [s["session"] for s in figures["sessions"]] == sessions
    for session in figures["sessions"]:
        assert session["closed"] and session["closed_by"] == "target", session
    assert figures["damage"] == []
    lost = {(entry["session"]) for gap in figures["gaps"] for entry in gap["sessions"]}
    assert lost and lost <= set(sessions), figures["gaps"]
    lost_bytes = sum(entry["client_bytes"] + entry["target_bytes"] for gap in figures["gaps"] for entry in gap["sessions"])
    text = inspect("stats", path)
    assert "gaps:" in text.stdout and "(open)" not in text.stdout, text.stdout
    dump = inspect("dump", "--json", path)
    assert dump.returncode == 3
    gaps = [json.loads(line) for line in dump.stdout.splitlines() if '"kind":"gap"' in line]
    assert gaps and sum(g["length"] for g in gaps) == lost_bytes
    return verify.stdout, figures


def replay_around_the_gap(path, tmp_path, expected_bytes):
    """wsreplay plays what was recorded, says where the gap was, and exits with the replay's result (0)."""
    port = free_port()
    report = tmp_path / "replay.json"
    log = open(tmp_path / "wsreplay.log", "wb")
    proc = subprocess.Popen([wsreplay_bin(), path, "--port", str(port), "--once", "--fast", "--report", str(report)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _connectable(port), what="wsreplay to listen")
        client = RawClient(port, protocols=["binary"], timeout=60)
        received = 0
        while True:
            fin, opcode, payload = client.read_frame()
            if opcode == 8:
                break
            received += len(payload)
        client.close()
        assert finish(proc) == 0, (tmp_path / "wsreplay.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert received == expected_bytes, "every recorded byte was played, around the gap"
    result = read_report(report)
    assert result["exit_code"] == 0 and result["damages"] == []
    assert len(result["gaps"]) == 1 and "bytes of session 1 lost at" in result["gaps"][0], result["gaps"]
    summary = (tmp_path / "wsreplay.log").read_text()
    assert "recording gap: " in summary and "; played around it" in summary, summary
    notes = result["sessions"][0]["notes"]
    assert any("target bytes" in n and "the client got the stream without them" in n for n in notes), notes


def test_recording_onto_a_full_tmpfs_marks_the_gap_and_keeps_close_and_index(tmp_path):
    where = mount_tmpfs(32)
    proxy = target = None
    try:
        mib = 200
        target = TcpTarget(streamer(mib))
        path = os.path.join(where, "flood.rec")
        proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={path}"])
        received, digest = relay_session(proxy, target, mib)
        assert received == mib * MIB, "proxying went on while the disk was full"
        assert digest == expected_digest(target.port, mib), "every byte arrived intact and in order"
        proxy.stop()
        assert proxy.proc.returncode == 0
        assert os.path.getsize(path) < 32 * MIB
        text, figures = check_recording(path, [1])
        print(text)
        recorded = figures["sessions"][0]["target_bytes"]
        lost = sum(e["target_bytes"] for g in figures["gaps"] for e in g["sessions"])
        # Target bytes count the proxy's close frame too (at most 125 bytes of payload).
        assert 0 <= recorded + lost - mib * MIB <= 125, "what was recorded plus what the gap names is everything"
        assert len(figures["gaps"]) == 1, "one outage, one gap"
        data_bytes = sum(json.loads(line)["length"] for line in inspect("dump", "--json", path).stdout.splitlines()
                         if '"kind":"data"' in line)
        replay_around_the_gap(path, tmp_path, data_bytes)
    finally:
        if proxy:
            proxy.stop()
        if target:
            target.close()
        unmount(where)


def test_a_long_flood_over_several_sessions_still_ends_with_close_records_and_index(tmp_path):
    """Sessions opened and closed while the disk stays full keep their open and close records."""
    where = mount_tmpfs(32)
    proxy = None
    targets = []
    try:
        path = os.path.join(where, "long.rec")
        first = TcpTarget(streamer(300))
        targets.append(first)
        proxy = Proxy([f"127.0.0.1:{first.port}"], extra=[f"--record={path}"])
        received, digest = relay_session(proxy, first, 300)
        assert received == 300 * MIB and digest == expected_digest(first.port, 300)
        # The disk is full now; three more sessions come and go.
        for n in range(3):
            received, _ = relay_session(proxy, first, 300)
            assert received == 300 * MIB
        proxy.stop()
        assert proxy.proc.returncode == 0
        text, figures = check_recording(path, [1, 2, 3, 4])
        print(text)
        total = sum(s["target_bytes"] for s in figures["sessions"])
        lost = sum(e["target_bytes"] for g in figures["gaps"] for e in g["sessions"])
        assert 0 <= total + lost - 4 * 300 * MIB <= 4 * 125
    finally:
        if proxy:
            proxy.stop()
        for t in targets:
            t.close()
        unmount(where)
