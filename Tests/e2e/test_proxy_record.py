"""--record end to end: sessions land in FILE.rec, a kill -9 leaves a readable file, redaction, appends."""

import base64
import json
import os
import signal
import struct
import subprocess
import time

from proxyutil import REPO_ROOT, Proxy, RawClient, TcpTarget, target, wait_until, ws_expect  # noqa: F401 (fixture)


def inspect_bin():
    path = os.environ.get("WSRECORD_INSPECT_BIN", os.path.join(os.path.dirname(os.environ.get(
        "WEBSOCKIFY_BIN", os.path.join(REPO_ROOT, ".build", "debug", "websockify"))), "wsrecord-inspect"))
    assert os.access(path, os.X_OK), f"wsrecord-inspect not found at {path}: run `swift build`"
    return path


def dump(path, *extra):
    result = subprocess.run([inspect_bin(), "dump", "--json", "--payload", *extra, path],
                            capture_output=True, text=True, timeout=60)
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.returncode, records, result.stderr


def frames(records, sender):
    return [base64.b64decode(r["payload_b64"]) for r in records
            if r["kind"] == "data" and r.get("from") == sender]


def test_record_writes_sessions_with_metadata_and_payloads(tmp_path, target):
    base = str(tmp_path / "session")
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={base}"])
    try:
        for n in range(2):
            client = RawClient(proxy.port, protocols=["binary"])
            client.send_frame(2, f"hello {n}".encode())
            ws_expect(client, f"hello {n}".encode(), "the echo")
            client.send_frame(8, struct.pack("!H", 1000))
            assert client.read_until_close()[0] == 1000
            client.close()
        time.sleep(0.2)
    finally:
        proxy.stop()
    path = base + ".rec"
    assert os.path.exists(path), "FILE gets the .rec suffix"
    status, records, _ = dump(path)
    assert status == 0
    opens = [r for r in records if r["kind"] == "open"]
    assert [r["session"] for r in opens] == [1, 2]
    assert opens[0]["target"] == f"127.0.0.1:{target.port}"
    assert opens[0]["subprotocol"] == "binary"
    assert opens[0]["client"].startswith("127.0.0.1:")
    assert frames(records, "client")[:1] == [b"hello 0"]
    assert b"hello 1" in frames(records, "target")
    ends = [r for r in records if r["kind"] == "close" and "from" not in r]
    assert len(ends) == 2 and ends[0]["code"] == 1000 and ends[0]["client_frames"] >= 1
    verify = subprocess.run([inspect_bin(), "verify", path], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout
    assert "index: present" in verify.stdout

    # A restart appends: sessions numbered on, the old ones kept.
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={path}"])
    try:
        client = RawClient(proxy.port, protocols=["binary"])
        client.send_frame(2, b"third")
        ws_expect(client, b"third", "the echo")
        client.close()
        time.sleep(0.3)
    finally:
        proxy.stop()
    _, records, _ = dump(path)
    assert [r["session"] for r in records if r["kind"] == "open"] == [1, 2, 3]


def test_record_keeps_both_directions_of_every_size_and_both_close_handshakes(tmp_path):
    """Client frames around the 4 KiB line where recording stops copying payloads are recorded as
    the client's, their echoes as the target's; and the close frames of a client-initiated and of a
    target-initiated close are recorded with sender, code and reason."""
    def echo_until_quit(conn, target):
        while (data := conn.recv(65536)) and data != b"quit":
            conn.sendall(data)

    target = TcpTarget(echo_until_quit)
    base = str(tmp_path / "both")
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={base}"])
    sizes = [100, 4095, 4096, 4097, 70000]
    sent = [bytes((i * 7 + n) & 0xFF for i in range(size)) for n, size in enumerate(sizes)]
    try:
        client = RawClient(proxy.port, protocols=["binary"])
        for n, payload in enumerate(sent):
            client.send_frame(2, payload)
            ws_expect(client, payload, f"the echo of the {len(payload)}-byte frame")
        client.send_frame(8, struct.pack("!H", 1001) + b"tab closed")
        assert client.read_until_close() == (1001, "")
        client.close()
        wait_until(lambda: "session 1 closed" in proxy.log_text(), what="session 1 to end")

        client = RawClient(proxy.port, protocols=["binary"])
        client.send_frame(2, b"quit")  # the target hangs up
        assert client.read_until_close() == (1000, "target closed the connection")
        client.send_frame(8, struct.pack("!H", 1000) + b"ok")
        client.expect_eof()
        client.close()
        wait_until(lambda: "session 2 closed" in proxy.log_text(), what="session 2 to end")
    finally:
        proxy.stop()
        target.close()
    status, records, err = dump(base + ".rec")
    assert status == 0, err
    one = [r for r in records if r["session"] == 1]
    assert frames(one, "client") == sent, "client frames recorded as the client's, whole"
    assert b"".join(frames(one, "target")) == b"".join(sent), "the echoes recorded as the target's"
    closes = [(r["session"], r["from"], base64.b64decode(r["payload_b64"]))
              for r in records if r["kind"] == "close" and "from" in r]
    assert closes == [
        (1, "client", struct.pack("!H", 1001) + b"tab closed"),
        (1, "target", struct.pack("!H", 1001)),
        (2, "target", struct.pack("!H", 1000) + b"target closed the connection"),
        (2, "client", struct.pack("!H", 1000) + b"ok"),
    ]


def test_kill_9_while_recording_leaves_everything_but_the_last_second(tmp_path):
    """The target streams numbered chunks; after kill -9, verify reports the torn tail (exit 3 or 0
    when the kill fell between blocks) and dump holds every chunk sent up to ~1 s before the kill."""
    sent_at = {}

    def streamer(conn, target):
        n = 0
        try:
            while True:
                sent_at[n] = time.monotonic()
                conn.sendall(struct.pack("!I", n) + bytes(1020))
                n += 1
                time.sleep(0.002)
        except OSError:
            return

    target = TcpTarget(streamer)
    base = str(tmp_path / "killed.rec")
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={base}"])
    client = RawClient(proxy.port, protocols=["binary"])
    try:
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            client.read_frame()
        killed_at = time.monotonic()
        proxy.proc.send_signal(signal.SIGKILL)
        proxy.proc.wait(timeout=5)
    finally:
        client.close()
        target.close()
        proxy.stop()
    verify = subprocess.run([inspect_bin(), "verify", base], capture_output=True, text=True)
    assert verify.returncode in (0, 3), verify.stdout + verify.stderr
    status, records, err = dump(base)
    assert status == verify.returncode
    if status == 3:
        assert "truncated" in err
    payload = b"".join(frames(records, "target"))
    seqs = [struct.unpack("!I", payload[i:i + 4])[0] for i in range(0, len(payload) - 1023, 1024)]
    assert seqs == list(range(len(seqs))), "what is there is complete and in order"
    cutoff = killed_at - 1.5  # blocks are sealed every second; allow for scheduling
    expected = max(n for n, t in sent_at.items() if t <= cutoff)
    assert seqs and seqs[-1] >= expected, f"chunks up to {expected} (sent ≥1.5 s before the kill) recorded; got {seqs[-1] if seqs else None}"


def rfb_server(conn, target):
    """A minimal RFB 3.8 server with VNC authentication that then echoes nothing and reads."""
    try:
        conn.sendall(b"RFB 003.008\n")
        conn.recv(12)
        conn.sendall(bytes([1, 2]))
        conn.recv(1)
        conn.sendall(bytes(range(16)))
        conn.recv(16)
        conn.sendall(struct.pack("!I", 0))
        conn.recv(1)
        conn.sendall(struct.pack("!HH", 8, 8) + bytes(16) + struct.pack("!I", 4) + b"test")
        while conn.recv(65536):
            pass
    except OSError:
        pass


def test_record_redact_auth_and_keys(tmp_path):
    target = TcpTarget(rfb_server)
    base = str(tmp_path / "redact")
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={base}", "--record-redact=auth,keys"])
    secret = b"SECRETRESPONSE!!"
    try:
        client = RawClient(proxy.port, protocols=["binary"])
        ws_expect(client, b"RFB 003.008\n", "the server's version")
        client.send_frame(2, b"RFB 003.008\n")
        ws_expect(client, bytes([1, 2]), "the security types")
        client.send_frame(2, b"\x02")
        ws_expect(client, bytes(range(16)), "the VNC challenge")
        client.send_frame(2, secret)
        ws_expect(client, struct.pack("!I", 0), "the security result")
        client.send_frame(2, b"\x01")
        ws_expect(client, struct.pack("!HH", 8, 8) + bytes(16) + struct.pack("!I", 4) + b"test", "ServerInit")
        client.send_frame(2, bytes([5, 0, 0, 10, 0, 20]))                 # pointer: kept
        client.send_frame(2, bytes([4, 1, 0, 0, 0, 0, 0, 0x71]))          # key 'q': redacted
        client.send_frame(2, bytes([4, 0, 0, 0]))                         # a key split over frames
        client.send_frame(2, bytes([0, 0, 0, 0x71]))
        time.sleep(0.3)
        client.close()
        time.sleep(0.3)
    finally:
        proxy.stop()
        target.close()
    status, records, _ = dump(base + ".rec")
    assert status == 0
    client_frames = [r for r in records if r["kind"] == "data" and r["from"] == "client"]
    payloads = [base64.b64decode(r["payload_b64"]) for r in client_frames]
    assert secret not in payloads and all(b"SECRET" not in p for p in payloads)
    assert bytes([5, 0, 0, 10, 0, 20]) in payloads
    assert all(p[:1] != b"\x04" for p in payloads), "no KeyEvent bytes left"
    redacted = [r for r in client_frames if r.get("redacted")]
    assert [r["length"] for r in redacted] == [16, 8, 4, 4], "same-length filler, flagged"


def test_full_disk_never_stalls_proxying_and_keeps_the_file_valid(tmp_path):
    """The proxy runs with a 2.5 MB file-size limit (writes past it fail with EFBIG, as a full disk
    fails with ENOSPC): 4 MB still flow through intact, the log says the recording failed, and what
    was recorded before stays a valid file whose gap block names what was lost (verify exits 3)."""
    import resource

    def streamer(conn, target):
        try:
            for i in range(64):
                conn.sendall(os.urandom(64 * 1024))
            conn.shutdown(1)
            while conn.recv(65536):
                pass
        except OSError:
            pass

    target = TcpTarget(streamer)
    base = str(tmp_path / "full.rec")
    limit = 2_500_000
    proc_env = dict(os.environ)
    args = [os.environ.get("WEBSOCKIFY_BIN", os.path.join(REPO_ROOT, ".build", "debug", "websockify")),
            f"--record={base}"]
    from proxyutil import free_port
    port = free_port()
    log = tmp_path / "proxy.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            args + [f"127.0.0.1:{port}", f"127.0.0.1:{target.port}"], stderr=log_file, stdout=subprocess.DEVNULL,
            env=proc_env, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    try:
        wait_until(lambda: _connectable(port), what="websockify to listen")
        client = RawClient(port, protocols=["binary"])
        received = 0
        client.sock.settimeout(20)
        while True:
            fin, opcode, payload = client.read_frame()
            if opcode == 8:
                break
            received += len(payload)
        client.close()
        assert received == 64 * 64 * 1024, "every byte reached the client while the recording failed"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        target.close()
    assert proc.returncode == 0
    text = log.read_text(errors="replace")
    assert "recording" in text and "File too large" in text, text
    assert os.path.getsize(base) <= limit
    verify = subprocess.run([inspect_bin(), "verify", base], capture_output=True, text=True)
    assert verify.returncode == 3, verify.stdout + verify.stderr
    assert "GAP " in verify.stdout and "of session 1 lost at" in verify.stdout, verify.stdout
    assert "index: present and consistent" in verify.stdout, verify.stdout
    status, records, _ = dump(base)
    assert status == 3 and records[0]["kind"] == "open"
    lost = sum(r["target_bytes"] for r in records if r["kind"] == "gap")
    kept = sum(r["length"] for r in records if r["kind"] == "data" and r["from"] == "target")
    # The lost target bytes may include the proxy's close frame (at most 125 bytes of payload).
    assert 0 <= kept + lost - 64 * 64 * 1024 <= 125, "recorded plus lost is everything the target sent"
    assert [r for r in records if r["kind"] == "close" and "from" not in r], "the session's close record is there"


def _connectable(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False
