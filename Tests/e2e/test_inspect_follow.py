"""`wsrecord-inspect dump --follow`, the live tail (issue 16 §4), against a websockify that is recording:
a scripted RFB client typing into x11vnc through the proxy while the tail prints its KeyEvents (latency
measured against the 1 s seal interval), the tail ending by itself on the file's clean close (SIGTERM of
websockify), a run appended after a killed writer, `--until-interrupted` across a clean close, the CPU
the tail uses while nothing happens, and a legacy recording written by the Python websockify 0.13."""

import base64
import glob
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time

from websockets.sync.client import connect

from proxyutil import Proxy, RawClient, TcpTarget, free_port, wait_until, ws_expect
from test_proxy_record import inspect_bin
from vncdesk import wait_for_port

SEAL_INTERVAL = 1.0  # the writer's default (docs/record-format.md §3.5)


class Tail:
    """`wsrecord-inspect dump --follow ...` with every stdout line stamped on arrival."""

    def __init__(self, path, *extra):
        self.lines: "queue.Queue[tuple[float, str]]" = queue.Queue()
        self.seen: list[tuple[float, str]] = []
        self.proc = subprocess.Popen([inspect_bin(), "dump", "--follow", *extra, path],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, predicate, timeout=10.0, what="a line"):
        """The arrival time and text of the first line (not taken before) that `predicate` accepts."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"the tail printed no {what} in {timeout} s; it printed {self.texts()}"
            try:
                stamp, text = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append((stamp, text))
            if predicate(text):
                return stamp, text

    def drain(self):
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return

    def texts(self):
        self.drain()
        return [text for _, text in self.seen]

    def wait_exit(self, timeout):
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"the tail did not end within {timeout} s of the clean close; printed {self.texts()}")
        self.reader.join(timeout=5)
        return status

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_file(path):
    wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, what=f"{path} to be created")


def read_exact(ws, buffer, n):
    while len(buffer) < n:
        buffer.extend(ws.recv(timeout=10))
    out = bytes(buffer[:n])
    del buffer[:n]
    return out


def test_follow_rfb_prints_keyevents_typed_into_x11vnc_within_the_seal_interval(tmp_path, vncdesk):
    path = str(tmp_path / "live.rec")
    proxy = Proxy([f"127.0.0.1:{vncdesk.vnc_port}"], extra=[f"--record={path}"])
    tail = None
    try:
        wait_for_file(path)
        tail = Tail(path, "--rfb")
        latencies = []
        with connect(proxy.url("/websockify"), open_timeout=5, proxy=None, compression=None,
                     subprotocols=["binary"]) as ws:
            buffer = bytearray()
            assert read_exact(ws, buffer, 12) == b"RFB 003.008\n"
            ws.send(b"RFB 003.008\n")
            types = read_exact(ws, buffer, read_exact(ws, buffer, 1)[0])
            assert 1 in types, types  # None: x11vnc -nopw
            ws.send(b"\x01")
            assert read_exact(ws, buffer, 4) == b"\x00\x00\x00\x00"
            ws.send(b"\x01")  # ClientInit, shared
            tail.wait_for(lambda t: "ServerInit" in t, what="ServerInit")
            for key in "follow":
                down = bytes([4, 1, 0, 0, 0, 0, 0, ord(key)])
                sent = time.monotonic()
                ws.send(down)
                ws.send(bytes([4, 0, 0, 0, 0, 0, 0, ord(key)]))
                stamp, _ = tail.wait_for(lambda t, k=key: f"KeyEvent '{k}' (0x{ord(k):02x}) down" in t,
                                         timeout=5, what=f"KeyEvent '{key}'")
                latencies.append(stamp - sent)
                time.sleep(0.3)  # keys at a typing pace: each lands at a different point of the seal cycle
        print(f"\nfollow latency over {len(latencies)} KeyEvents: median {statistics.median(latencies):.3f} s, "
              f"max {max(latencies):.3f} s (seal interval {SEAL_INTERVAL} s, poll 0.1 s)")
        # Sealed at most one interval after the record (its timer checks every 0.1 s), seen at most
        # one poll later.
        assert max(latencies) < SEAL_INTERVAL + 0.6, latencies
        proxy.stop()  # SIGTERM: the writer seals, writes the index and the trailer, and unlocks
        assert tail.wait_exit(timeout=5) == 0, tail.proc.stderr.read()
        texts = tail.texts()
        assert any("KeyEvent 'w' (0x77) up" in t for t in texts)
        assert tail.proc.stderr.read() == ""
    finally:
        if tail:
            tail.stop()
        proxy.stop()


def echo_session(proxy, text):
    client = RawClient(proxy.port, protocols=["binary"])
    client.send_frame(2, text)
    ws_expect(client, text, "the echo")
    client.send_frame(8, b"\x03\xe8")
    client.read_until_close()
    client.close()


def payloads(texts):
    return [base64.b64decode(o["payload_b64"]) for o in map(json.loads, texts)
            if o["kind"] == "data" and o.get("from") == "client"]


class EchoRecording:
    """An echo target, websockify recording its sessions to `path` (restartable: a new run each
    time), and a tail on the recording; `close()` stops them all."""

    def __init__(self, path, *tail_args):
        self.target = TcpTarget()
        self.path = path
        self.proxy = None
        self.tail = None
        try:
            self.start_proxy()
            wait_for_file(path)
            self.tail = Tail(path, *tail_args)
        except BaseException:
            self.close()
            raise

    def start_proxy(self):
        self.proxy = Proxy([f"127.0.0.1:{self.target.port}"], extra=[f"--record={self.path}"])
        return self.proxy

    def session(self, text):
        echo_session(self.proxy, text)

    def close(self):
        if self.tail:
            self.tail.stop()
        if self.proxy:
            self.proxy.stop()
        self.target.close()


def test_follow_json_survives_a_killed_writer_and_the_run_appended_after_it(tmp_path):
    rec = EchoRecording(str(tmp_path / "restarted.rec"), "--json", "--payload")
    try:
        tail = rec.tail
        rec.session(b"first run")
        tail.wait_for(lambda t: json.loads(t)["kind"] == "close" and "from" not in json.loads(t),
                      what="the close record of run 1")
        rec.proxy.proc.kill()  # no index, no trailer: the run is not closed
        rec.proxy.proc.wait()
        # Idle: a file that does not change costs the tail nothing but a stat every 0.1 s.
        before = tail.cpu_seconds()
        time.sleep(3)
        idle = tail.cpu_seconds() - before
        print(f"\nfollow idle CPU: {idle:.3f} s over 3 s ({idle / 3 * 100:.2f} %)")
        assert idle < 0.15, idle
        assert tail.proc.poll() is None, "a file that was not closed is followed on"
        rec.start_proxy()
        rec.session(b"second run")
        tail.wait_for(lambda t: b"second run" in payloads([t]), what="run 2's frame")
        rec.proxy.stop()
        assert tail.wait_exit(timeout=5) == 0
        texts = tail.texts()
        assert payloads(texts) == [b"first run", b"second run"]
        markers = [json.loads(t) for t in texts if json.loads(t)["kind"] == "marker"]
        assert len(markers) == 1 and markers[0]["text"].startswith("recording resumed by ")
        assert [json.loads(t)["session"] for t in texts if json.loads(t)["kind"] == "open"] == [1, 2]
        # What the tail printed is what dump prints once the file is complete.
        whole = subprocess.run([inspect_bin(), "dump", "--json", "--payload", rec.path], capture_output=True,
                               text=True)
        assert whole.returncode == 0 and whole.stdout.splitlines() == texts
    finally:
        rec.close()


def test_follow_until_interrupted_goes_on_past_a_clean_close(tmp_path):
    rec = EchoRecording(str(tmp_path / "two-runs.rec"), "--until-interrupted")
    try:
        tail = rec.tail
        rec.session(b"one")
        tail.wait_for(lambda t: t.split()[1:2] == ["s1"] and " open " in t, what="run 1's open record")
        rec.proxy.stop()
        time.sleep(1.0)
        assert tail.proc.poll() is None, "--until-interrupted does not end at the clean close"
        rec.start_proxy()
        rec.session(b"two")
        tail.wait_for(lambda t: "recording resumed by" in t, what="run 2's marker")
        tail.wait_for(lambda t: t.split()[1:2] == ["s2"], what="a record of session 2")
        rec.proxy.stop()
        time.sleep(0.5)
        assert tail.proc.poll() is None
        tail.proc.send_signal(signal.SIGINT)
        assert tail.proc.wait(timeout=5) == -signal.SIGINT
    finally:
        rec.close()


def test_follow_reads_a_legacy_recording_of_the_python_websockify_until_its_eof_line(tmp_path):
    """Python websockify 0.13 (the reference) records one file per connection, FILE.<n>; the tail
    prints its frames and ends (exit 0) on the `'EOF'];` line written when the connection ends. Python
    buffers the file, so it stays empty here until the connection ends: the tail waits for it."""
    target = TcpTarget()
    base = str(tmp_path / "py")
    port = free_port()
    python = subprocess.Popen([sys.executable, "-m", "websockify", f"--record={base}", f"127.0.0.1:{port}",
                               f"127.0.0.1:{target.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tail = None
    try:
        wait_for_port(port, python)
        client = RawClient(port, protocols=["binary"])
        # FILE.<handler number>; the handler numbers count the connection that saw it listening too.
        wait_until(lambda: glob.glob(base + ".*"), what="the Python websockify's recording")
        [recording] = glob.glob(base + ".*")
        tail = Tail(recording, "--json", "--payload")
        for n in range(3):
            client.send_frame(2, f"legacy {n}".encode())
            ws_expect(client, f"legacy {n}".encode(), "the echo")
        time.sleep(0.5)
        assert tail.proc.poll() is None, "a file still empty (its writer buffers) is waited for"
        client.send_frame(8, b"\x03\xe8")
        client.read_until_close()
        client.close()
        assert tail.wait_exit(timeout=10) == 0, tail.proc.stderr.read()
        texts = tail.texts()
        assert payloads(texts) == [b"legacy 0", b"legacy 1", b"legacy 2"]
        kinds = [json.loads(t)["kind"] for t in texts]
        assert kinds[0] == "open" and kinds[-1] == "close"
        whole = subprocess.run([inspect_bin(), "dump", "--json", "--payload", recording], capture_output=True,
                               text=True)
        assert whole.returncode == 0 and whole.stdout.splitlines() == texts
    finally:
        if tail:
            tail.stop()
        python.terminate()
        python.wait(timeout=10)
        target.close()

