"""wsreplay against scripted clients: a matching client, a diverging one (exit 1; RFB: rules, keep-going
checks, held-back frames, hold or close at the end), a truncated
recording (exit 3), usage and I/O errors (exit 2)."""
from __future__ import annotations

import os
import struct
import subprocess
import time
from pathlib import Path

import pytest

from proxyutil import Proxy, RawClient, StreamCheck, TcpTarget, free_port, wait_until, ws_expect
from replayutil import finish, read_report, record_file, records_block_offsets, wsreplay_bin
from tlsutil import make_certs
from vncdesk import wait_for_port


def record_echo_session(tmp_path: Path, messages: list[bytes], pause: float = 0.0) -> Path:
    """Record one session through websockify to an echo target: each message, then its echo."""
    target = TcpTarget()
    base = tmp_path / "echo"
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={base}"])
    try:
        client = RawClient(proxy.port, protocols=["binary"])
        for i, message in enumerate(messages):
            if i and pause:
                time.sleep(pause)
            client.send_frame(2, message)
            ws_expect(client, message, f"the echo of message {i}")
        client.send_frame(8, b"\x03\xe8")
        client.read_until_close()
        client.close()
        wait_until(lambda: "closed by" in proxy.log_text(), what="the session to close")
    finally:
        proxy.stop()
        target.close()
    return record_file(base)


def start_replay(tmp_path: Path, recording: Path, *extra: str, name: str = "wsreplay"):
    port = free_port()
    log = open(tmp_path / f"{name}.log", "wb")
    proc = subprocess.Popen([wsreplay_bin(), str(recording), "--port", str(port), *extra],
                            stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = tmp_path / f"{name}.log"
    wait_for_port(port, proc)
    return proc, port


def play_client(port: int, messages: list[bytes], tls=None, expect: bytes | None = None) -> bytes:
    """Send each message and read the frames that follow until as many bytes came back, checking
    them byte by byte against `expect` (default: the messages, echoed) as they arrive; stop early at
    a close frame. Then close; returns what was received."""
    client = RawClient(port, protocols=["binary"], timeout=15, tls=tls)
    check = StreamCheck(b"".join(messages) if expect is None else expect, "what the replay sent")
    for message in messages:
        client.send_frame(2, message)
        want = len(check.got) + len(message)
        while len(check.got) < want:
            client.sock.settimeout(check.silence(15) if len(check.got) > want - len(message) else 15)
            try:
                _, opcode, payload = client.read_frame()
            except TimeoutError:
                check.ended(f"nothing for {client.sock.gettimeout()} s")
            if opcode == 8:
                client.close()
                return bytes(check.got)
            check.add(payload)
    close_normally(client)
    return bytes(check.got)


def close_normally(client: RawClient) -> None:
    """Close with 1000, wait for the answer (or the end of the connection), close the socket."""
    client.send_frame(8, b"\x03\xe8")
    try:
        client.read_until_close()
    except (EOFError, OSError):
        pass
    client.close()


def test_replay_matching_client_exits_0(tmp_path):
    messages = [b"hello ", b"world"]
    recording = record_echo_session(tmp_path, messages)
    report = tmp_path / "report.json"
    proc, port = start_replay(tmp_path, recording, "--once", "--report", str(report))
    assert play_client(port, messages) == b"hello world"
    assert finish(proc) == 0, proc.log_path.read_text()
    data = read_report(report)
    assert data["sessions_played"] == 1
    assert data["divergences"] == []
    assert data["bytes_sent"] == 11 and data["bytes_received"] == 11
    assert data["frames_sent"] == 2
    assert data["lateness"]["frames"] == 2
    assert "matched the recording" in proc.log_path.read_text()


def test_replay_stopped_before_any_client_exits_1_not_a_pass(tmp_path):
    """A CI job whose client never connected must not pass: nothing was checked."""
    recording = record_echo_session(tmp_path, [b"hello"])
    report = tmp_path / "report.json"
    proc, _ = start_replay(tmp_path, recording, "--once", "--report", str(report))
    proc.send_signal(subprocess.signal.SIGTERM)
    assert finish(proc) == 1, proc.log_path.read_text()
    assert "result: no client connected, nothing was checked" in proc.log_path.read_text()
    assert read_report(report)["exit_code"] == 1


def test_replay_diverging_client_exits_1_naming_the_first_divergence(tmp_path):
    recording = record_echo_session(tmp_path, [b"hello ", b"world"])
    report = tmp_path / "report.json"
    proc, port = start_replay(tmp_path, recording, "--once", "--wait-timeout", "2", "--report", str(report))
    # The replay still sends what the recording has.
    play_client(port, [b"hello ", b"wOrld"], expect=b"hello world")
    assert finish(proc) == 1, proc.log_path.read_text()
    data = read_report(report)
    first = data["divergences"][0]
    assert first["kind"] == "mismatch" and first["stream"] == "client"
    assert first["recorded_offset"] == 7 and first["actual_offset"] == 7
    assert first["recorded_hex"].startswith("6f 72 6c 64")  # "orld"
    assert first["actual_hex"].startswith("4f 72 6c 64")  # "Orld"
    assert first["record_index"] is not None and first["recorded_time_micros"] is not None
    log = proc.log_path.read_text()
    assert "divergence (mismatch, client stream)" in log and "recorded: offset 7" in log


def test_replay_truncated_recording_plays_the_readable_part_and_exits_3(tmp_path):
    # Over a second apart, so the two exchanges land in different blocks (sealed every second).
    recording = record_echo_session(tmp_path, [b"first", b"second"], pause=1.6)
    data = recording.read_bytes()
    blocks = records_block_offsets(data)
    assert len(blocks) >= 2, f"expected two records blocks, found {blocks}"
    cut = recording.with_name("cut.rec")
    cut.write_bytes(data[:blocks[-1] + 60])  # the last records block loses its payload
    report = tmp_path / "report.json"
    proc, port = start_replay(tmp_path, cut, "--once", "--wait-timeout", "2", "--report", str(report))
    assert play_client(port, [b"first"]) == b"first"
    assert finish(proc) == 3, proc.log_path.read_text()
    result = read_report(report)
    assert result["damages"], result
    assert result["sessions_played"] == 1 and result["bytes_sent"] == 5
    assert "truncated or corrupt" in proc.log_path.read_text()


def record_sessions(tmp_path: Path, per_session: list[bytes]) -> Path:
    """Record one echo session per message, on separate connections."""
    target = TcpTarget()
    base = tmp_path / "many"
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={base}"])
    try:
        for n, message in enumerate(per_session, 1):
            assert play_client(proxy.port, [message]) == message
            wait_until(lambda: proxy.log_text().count("closed by") >= n, what=f"session {n} to close")
    finally:
        proxy.stop()
        target.close()
    return record_file(base)


def test_replay_plays_sessions_in_order_then_exits(tmp_path):
    recording = record_sessions(tmp_path, [b"one", b"two"])
    report = tmp_path / "report.json"
    proc, port = start_replay(tmp_path, recording, "--report", str(report))
    assert play_client(port, [b"one"]) == b"one"
    assert play_client(port, [b"two"]) == b"two"
    assert finish(proc) == 0, proc.log_path.read_text()
    data = read_report(report)
    assert [s["session"] for s in data["sessions"]] == [1, 2]


def test_replay_pinned_session_loop_and_fast(tmp_path):
    recording = record_sessions(tmp_path, [b"one", b"two"])
    report = tmp_path / "report.json"
    proc, port = start_replay(tmp_path, recording, "--session", "2", "--loop", "--fast", "--report", str(report))
    for _ in range(3):
        assert play_client(port, [b"two"]) == b"two"
    proc.terminate()
    assert finish(proc) == 0, proc.log_path.read_text()
    data = read_report(report)
    assert [s["session"] for s in data["sessions"]] == [2, 2, 2]
    assert "lateness" not in data or data["lateness"] is None  # --fast has no schedule
    run = subprocess.run([wsreplay_bin(), str(recording), "--port", "0", "--session", "9"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "no session 9" in run.stderr


def test_replay_usage_and_io_errors_exit_2(tmp_path):
    for args in ([], ["x.rec"], ["x.rec", "--port", "1", "--sync", "sometimes"],
                 ["x.rec", "--port", "1", "--fast", "--speed", "2"]):
        run = subprocess.run([wsreplay_bin(), *args], capture_output=True, text=True, timeout=30)
        assert run.returncode == 2, (args, run.returncode, run.stderr)
    run = subprocess.run([wsreplay_bin(), str(tmp_path / "missing.rec"), "--port", "0"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "missing.rec" in run.stderr


def test_replay_over_wss_with_cert(tmp_path):
    certs = make_certs(tmp_path)
    messages = [b"secure ", b"replay"]
    recording = record_echo_session(tmp_path, messages)
    report = tmp_path / "report.json"
    proc, port = start_replay(tmp_path, recording, "--once", "--report", str(report),
                              "--cert", certs.server_cert, "--key", certs.server_key, "--ssl-only")
    # --ssl-only: a plain client is refused, and the replay waits for a TLS one.
    with pytest.raises(AssertionError):
        RawClient(port, protocols=["binary"])
    assert play_client(port, messages, tls=certs.client_context()) == b"secure replay"
    assert finish(proc) == 0, proc.log_path.read_text()
    assert read_report(report)["divergences"] == []


def test_replay_with_an_unusable_certificate_exits_2(tmp_path):
    recording = record_echo_session(tmp_path, [b"x"])
    out = subprocess.run([wsreplay_bin(), str(recording), "--port", "0", "--cert", str(tmp_path / "none.pem")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out
    assert "none.pem" in out.stderr


RFB_VERSION = b"RFB 003.008\n"
RFB_SERVER_INIT = struct.pack("!HH", 8, 8) + bytes(16) + struct.pack("!I", 4) + b"test"


def rfb_key(down: bool, keysym: int) -> bytes:
    """An RFB KeyEvent (RFC 6143 §7.5.4)."""
    return struct.pack("!BBxxI", 4, 1 if down else 0, keysym)


def rfb_pointer(buttons: int, x: int, y: int) -> bytes:
    """An RFB PointerEvent (RFC 6143 §7.5.5)."""
    return struct.pack("!BBHH", 5, buttons, x, y)


def rfb_server_without_auth(conn, target):
    """A minimal RFB 3.8 server offering security type None, then reading whatever comes."""
    try:
        conn.sendall(RFB_VERSION)
        conn.recv(12)
        conn.sendall(bytes([1, 1]))
        conn.recv(1)
        conn.sendall(struct.pack("!I", 0))
        conn.recv(1)
        conn.sendall(RFB_SERVER_INIT)
        while conn.recv(65536):
            pass
    except OSError:
        pass


def rfb_handshake(port: int) -> RawClient:
    """Connects and does an RFB 3.8 client's handshake (security None, shared desktop), checking
    every server answer as it arrives; returns the client, past ServerInit."""
    client = RawClient(port, protocols=["binary"], timeout=15)
    ws_expect(client, RFB_VERSION, "the server's ProtocolVersion")
    client.send_frame(2, RFB_VERSION)
    ws_expect(client, bytes([1, 1]), "the security types")
    client.send_frame(2, b"\x01")
    ws_expect(client, struct.pack("!I", 0), "the SecurityResult")
    client.send_frame(2, b"\x01")
    ws_expect(client, RFB_SERVER_INIT, "ServerInit")
    return client


def rfb_client(port: int, messages: list[bytes]) -> None:
    """An RFB 3.8 client: handshake (security None, shared), then `messages`, then a close."""
    client = rfb_handshake(port)
    for message in messages:
        client.send_frame(2, message)
    close_normally(client)


def test_replay_rfb_client_sending_another_key_exits_1_naming_the_key_event(tmp_path):
    target = TcpTarget(rfb_server_without_auth)
    base = tmp_path / "rfb"
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={base}"])
    try:
        rfb_client(proxy.port, [rfb_pointer(0, 10, 20), rfb_key(True, 0x61), rfb_key(False, 0x61)])
        wait_until(lambda: "closed by client" in proxy.log_text(), what="the recorded session to close")
    finally:
        proxy.stop()
        target.close()
    recording = record_file(base)

    # RFB mode: a pointer elsewhere is free, the same key matches.
    report = tmp_path / "same.json"
    proc, port = start_replay(tmp_path, recording, "--once", "--wait-timeout", "5", "--report", str(report),
                              name="same")
    rfb_client(port, [rfb_pointer(1, 300, 200), rfb_key(True, 0x61), rfb_key(False, 0x61)])
    assert finish(proc) == 0, proc.log_path.read_text()
    same = read_report(report)
    assert same["divergences"] == [] and same["sessions"][0]["rfb"], same

    # Another key ('b' for 'a'): the first divergence names the KeyEvent.
    report = tmp_path / "other.json"
    proc, port = start_replay(tmp_path, recording, "--once", "--wait-timeout", "5", "--report", str(report),
                              name="other")
    rfb_client(port, [rfb_pointer(0, 10, 20), rfb_key(True, 0x62), rfb_key(False, 0x62)])
    assert finish(proc) == 1, proc.log_path.read_text()
    first = read_report(report)["divergences"][0]
    assert first["kind"] == "mismatch" and first["stream"] == "client", first
    assert "KeyEvent" in first["message"], first
    assert first["recorded_hex"].startswith(rfb_key(True, 0x61).hex(" ")), first
    assert first["actual_hex"].startswith(rfb_key(True, 0x62).hex(" ")), first
    assert "KeyEvent" in proc.log_path.read_text()


# --- Keep-going checks, rules, held-back frames and the faithful close (issue 13 §2) ---

RAW_COPYRECT = [0, 1]
NEWER_ENCODINGS = [50, 0, 1, -1063131698]  # H.264, Raw, CopyRect, ExtendedClipboard (0xC0A1E5CE)
RETURN = 0xFF0D


def rfb_set_encodings(encodings: list[int]) -> bytes:
    """An RFB SetEncodings (RFC 6143 §7.5.2)."""
    return struct.pack("!BxH", 2, len(encodings)) + b"".join(struct.pack("!i", e) for e in encodings)


def key_echo(keysym: int) -> bytes:
    """What the scripted server answers a key press with: ServerCutText 'key XXXX'."""
    text = b"key %04x" % keysym
    return struct.pack("!BxxxI", 3, len(text)) + text


def rfb_echoing_server(conn, target):
    """An RFB 3.8 server (security None) that answers each KeyEvent press with a ServerCutText naming
    the keysym, so that what it sends depends on what the client typed."""
    sizes = {0: 20, 3: 10, 4: 8, 5: 6}
    try:
        rfb_server_without_auth_handshake(conn)
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while buf:
                kind = buf[0]
                if kind == 2:
                    if len(buf) < 4:
                        break
                    size = 4 + 4 * struct.unpack("!H", buf[2:4])[0]
                else:
                    size = sizes[kind]
                if len(buf) < size:
                    break
                message, buf = buf[:size], buf[size:]
                if kind == 4 and message[1]:
                    conn.sendall(key_echo(struct.unpack("!I", message[4:8])[0]))
    except OSError:
        pass


def rfb_server_without_auth_handshake(conn):
    conn.sendall(RFB_VERSION)
    conn.recv(12)
    conn.sendall(bytes([1, 1]))
    conn.recv(1)
    conn.sendall(struct.pack("!I", 0))
    conn.recv(1)
    conn.sendall(RFB_SERVER_INIT)


def rfb_typist(port: int, keys: list[int], encodings: list[int], wait_each: bool, linger: float = 0.0) -> list[bytes]:
    """An RFB client: handshake, SetEncodings, a full update request, then each key pressed and
    released. With `wait_each` it waits for the server's answer to each press (so the recording
    has it right after the press); otherwise it types everything and then collects answers until
    3 s of silence. Stays `linger` seconds, then closes with 1000; returns the answers."""
    client = rfb_handshake(port)
    client.send_frame(2, rfb_set_encodings(encodings) + struct.pack("!BBHHHH", 3, 0, 0, 0, 8, 8))
    answers = []
    for keysym in keys:
        client.send_frame(2, rfb_key(True, keysym))
        client.send_frame(2, rfb_key(False, keysym))
        if wait_each:
            ws_expect(client, key_echo(keysym), f"the answer to key {keysym:#x}")
            answers.append(key_echo(keysym))
    if not wait_each:
        client.sock.settimeout(3)
        try:
            while True:
                _, opcode, payload = client.read_frame()
                if opcode == 8:
                    client.close()
                    return answers
                answers.append(payload)
        except TimeoutError:
            pass
        client.sock.settimeout(15)
    time.sleep(linger)
    close_normally(client)
    return answers


@pytest.fixture
def typed_recording(tmp_path) -> Path:
    """A session recorded through websockify: a client typing 'lo' and Return into the echoing
    server, with the client closing."""
    target = TcpTarget(rfb_echoing_server)
    base = tmp_path / "typed"
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={base}"])
    try:
        rfb_typist(proxy.port, [0x6C, 0x6F, RETURN], RAW_COPYRECT, wait_each=True)
        wait_until(lambda: "closed by client" in proxy.log_text(), what="the recorded session to close")
    finally:
        proxy.stop()
        target.close()
    return record_file(base)


def replay_to_typist(tmp_path, recording, name, keys, encodings=RAW_COPYRECT, *options):
    report = tmp_path / f"{name}.json"
    proc, port = start_replay(tmp_path, recording, "--once", "--wait-timeout", "2", "--hold-timeout", "2",
                              "--report", str(report), *options, name=name)
    answers = rfb_typist(port, keys, encodings, wait_each=False)
    code = finish(proc)
    return code, read_report(report), proc.log_path.read_text(), answers


def test_replay_rfb_set_encodings_rules(tmp_path, typed_recording):
    typed = [0x6C, 0x6F, RETURN]
    code, report, log, answers = replay_to_typist(tmp_path, typed_recording, "strict", typed, NEWER_ENCODINGS)
    assert code == 1, log
    assert [d["change"] for d in report["divergences"]] == ["changed"], report["divergences"]
    assert "SetEncodings differs: added H.264, ExtendedClipboard; removed —; order kept at client offset 14" in log
    session = report["sessions"][0]
    # The keys after the SetEncodings are still checked, and matched.
    assert session["same_client_messages"] == session["checked_client_messages"] - 1 == 3 + 6, session
    assert session["matched_client_units"] == session["expected_client_units"], session
    assert answers == [key_echo(k) for k in typed]

    for name, options in (("superset", ["--allow", "SetEncodings:superset"]), ("any", ["--allow", "setencodings"])):
        code, report, log, _ = replay_to_typist(tmp_path, typed_recording, name, typed, NEWER_ENCODINGS, *options)
        assert code == 0, log
        assert report["sessions"][0]["allowed_client_messages"] == 1, report["sessions"][0]
        rule = "allow (superset) SetEncodings" if name == "superset" else "allow SetEncodings"
        assert report["rules"] == [rule] and f"rules: {rule}" in log, report["rules"]

    # A list that drops CopyRect is not a superset; a rules file can allow it for that one message.
    code, report, log, _ = replay_to_typist(tmp_path, typed_recording, "dropped", typed, [50, 0],
                                            "--allow", "SetEncodings:superset")
    assert code == 1 and "added H.264; removed CopyRect" in log, log
    rules = tmp_path / "rules.yaml"
    rules.write_text("# SetEncodings is client message #3\nmessages:\n  - {index: 3, rule: allow}\n")
    code, _, log, _ = replay_to_typist(tmp_path, typed_recording, "ruled", typed, [50, 0], "--rules", str(rules))
    assert code == 0, log

    # A misspelt rule is a usage error naming the names.
    bad = subprocess.run([wsreplay_bin(), str(typed_recording), "--port", "0", "--allow", "SetEncoding"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "not an RFB message name" in bad.stderr and "SetEncodings" in bad.stderr
    plain = subprocess.run([wsreplay_bin(), str(typed_recording), "--port", "0", "--no-rfb", "--ignore", "KeyEvent"],
                           capture_output=True, text=True, timeout=30)
    assert plain.returncode == 2 and "do not go with --no-rfb" in plain.stderr, plain.stderr


def test_replay_rfb_another_key_is_named_and_checking_goes_on(tmp_path, typed_recording):
    code, report, log, answers = replay_to_typist(tmp_path, typed_recording, "other", [0x6C, 0x70, RETURN])
    assert code == 1, log
    assert "expected KeyEvent 'o' (0x6f) down, got KeyEvent 'p' (0x70) down at client offset 52, record #" in log
    first = report["divergences"][0]
    assert first["kind"] == "mismatch" and first["change"] == "changed", first
    assert first["recorded_message"] == "KeyEvent 'o' (0x6f) down" and first["actual_hex"] == rfb_key(True, 0x70).hex(" ")
    assert len(report["divergences"]) == 2  # press and release
    session = report["sessions"][0]
    # 'l' and Return (down and up) after the changed key are matched: checking went on.
    assert session["same_client_messages"] == 4 + 4, session
    assert session["matched_client_units"] == session["expected_client_units"], session
    # The changed key still counts as the client's answer: every recorded frame was played.
    assert session["frames_sent"] == session["recorded_target_frames"] and session["held_back_frames"] == 0

    # --stop-at-first: one divergence, as before.
    code, report, log, _ = replay_to_typist(tmp_path, typed_recording, "first", [0x6C, 0x70, RETURN],
                                            RAW_COPYRECT, "--stop-at-first")
    assert code == 1 and len(report["divergences"]) == 1, report["divergences"]


def test_replay_rfb_missing_key_holds_back_what_follows(tmp_path, typed_recording):
    code, report, log, answers = replay_to_typist(tmp_path, typed_recording, "missing", [0x6C, RETURN])
    assert code == 1, log
    # The answer to 'l' came; those to 'o' and Return did not: the recorded user saw them after 'o'.
    assert answers == [key_echo(0x6C)], answers
    session = report["sessions"][0]
    assert session["held_back_frames"] == 2, session
    assert report["divergences"][0]["change"] == "missing", report["divergences"]
    assert "expected KeyEvent 'o' (0x6f) down, got nothing" in log
    assert "2 recorded target frames" in log and "were not sent: they follow the client's KeyEvent 'o' (0x6f) down" in log


def legacy_recording(tmp_path) -> Path:
    """A legacy Python websockify recording (it says nothing of who closed): 'first', the client's
    'answer', then 'last'."""
    legacy = tmp_path / "session.legacy"
    lines = ["'{1{first',", "'}2}answer',", "'{3{last',", "'EOF'];"]
    legacy.write_text("var VNC_frame_data = [\n" + "\n".join(lines) + "\n")
    return legacy


def read_until_close_or(client: RawClient, seconds: float) -> tuple[list[bytes], float | None]:
    """Frames until the server's close or `seconds`; returns them and when the close came."""
    start = time.monotonic()
    frames = []
    client.sock.settimeout(seconds)
    try:
        while True:
            _, opcode, payload = client.read_frame()
            if opcode == 8:
                return frames, time.monotonic() - start
            frames.append(payload)
    except TimeoutError:
        return frames, None


def test_replay_holds_a_session_the_recording_does_not_close_and_close_at_end_closes_it(tmp_path):
    legacy = legacy_recording(tmp_path)
    for name, options, closes in (("held", [], False), ("hold1", ["--hold-timeout", "1"], True),
                                  ("closing", ["--close-at-end"], True)):
        proc, port = start_replay(tmp_path, legacy, "--once", "--fast", *options, name=name)
        client = RawClient(port, protocols=["binary"], timeout=15)
        ws_expect(client, b"first", "the first frame")
        client.send_frame(2, b"answer")
        frames, closed_after = read_until_close_or(client, 3.0)
        assert frames == [b"last"], (name, frames)
        if closes:
            assert closed_after is not None, f"{name}: the replay did not close"
            client.send_frame(8, b"\x03\xe8")
            client.close()
        else:
            assert closed_after is None, f"{name}: the replay closed after {closed_after:.2f} s instead of holding"
            close_normally(client)
        assert finish(proc) == 0, proc.log_path.read_text()
        if name == "hold1":
            assert "the client did not close within 1.000 s after the last frame" in proc.log_path.read_text()


def test_replay_record_client_writes_the_session_as_it_happened(tmp_path, typed_recording):
    out = tmp_path / "as-played.rec"
    code, report, log, _ = replay_to_typist(tmp_path, typed_recording, "recorded", [0x6C, 0x70, RETURN],
                                            RAW_COPYRECT, "--record-client", str(out))
    assert code == 1, log
    inspect = os.path.join(os.path.dirname(wsreplay_bin()), "wsrecord-inspect")
    assert os.access(inspect, os.X_OK), f"wsrecord-inspect not found at {inspect}: build it (swift build)"
    verify = subprocess.run([inspect, "verify", str(out)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    dump = subprocess.run([inspect, "dump", "--rfb", str(out)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0, dump.stderr
    # What this client typed ('p' for the recorded 'o'), and the frames played, answers included.
    assert "KeyEvent 'p' (0x70) down" in dump.stdout and "KeyEvent 'o' (0x6f)" not in dump.stdout, dump.stdout
    assert dump.stdout.count("ServerCutText") == 3, dump.stdout
    # An existing file is not overwritten: the run reports it (exit 2).
    code, report, log, _ = replay_to_typist(tmp_path, typed_recording, "again", [0x6C, 0x6F, RETURN],
                                            RAW_COPYRECT, "--record-client", str(out))
    assert code == 2 and "cannot write --record-client" in log, log
