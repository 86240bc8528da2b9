"""web/websock.js and web/telnet.html in headless Chromium, served by the built websockify's --web
from the repository's web/ directory, talking through the same port to targets started here:

- the receive queue against a scripted TCP target that sends a known byte sequence cut at every byte
  boundary (and one byte at a time, and whole): every 8/16/32-bit value, string and byte run reads the
  same; rQwait says "wait" (consuming nothing) until the value's last byte is there; in `binary` and
  in `base64` mode, with the send helpers checked at the target;
- the queue holding 3 MiB unread, then read as it arrives (growth and compaction keep the bytes);
- telnet.html typing `echo hi` + Enter into `bash -i` under a pty (socat) shows the line `hi`;
- telnet.html answering a telnet server's option negotiation, with the commands cut between messages.
"""

from __future__ import annotations

import shutil
import socket
import struct
import threading
import time

import pytest

from proxyutil import TcpTarget, wait_until
from vncdesk import REPO, wait_for_port

WEB_DIR = REPO / "web"

# (kind, size, name, expected value as the module returns it)
FIELDS = [
    ("u8", 1, "opcode", 0x7F),
    ("u16", 2, "width", 0x1234),
    ("u32", 4, "magic", 0xDEADBEEF),
    ("str", 5, "name", "RFB\u00e9!"),
    ("u16", 2, "high16", 0xFF01),
    ("bytes", 3, "raw", [0x00, 0xFF, 0x80]),
    ("u32", 4, "count", 0x01020304),
    ("u8", 1, "tail", 0x80),
]
PAYLOAD = (b"\x7f" + struct.pack(">H", 0x1234) + struct.pack(">I", 0xDEADBEEF) + b"RFB\xe9!"
           + struct.pack(">H", 0xFF01) + b"\x00\xff\x80" + struct.pack(">I", 0x01020304) + b"\x80")
assert len(PAYLOAD) == sum(size for _, size, _, _ in FIELDS)

# Each round sends PAYLOAD as these chunks: cut at every byte boundary, one byte at a time, whole.
ROUNDS = ([[k, len(PAYLOAD) - k] for k in range(1, len(PAYLOAD))]
          + [[1] * len(PAYLOAD), [len(PAYLOAD)]])
SENT_STRING = "done \u2713 \u00e9"
SENT = bytes(range(256)) + SENT_STRING.encode()


def recv_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        more = conn.recv(n - len(data))
        if not more:
            raise ConnectionError(f"EOF after {len(data)} of {n} bytes")
        data += more
    return data


@pytest.fixture
def serve(proxy_bin, start_process, free_port):
    """serve(target_port) -> the port of websockify serving web/ and proxying to target_port."""
    def start(target_port: int) -> int:
        port = free_port()
        proc = start_process([proxy_bin, f"--web={WEB_DIR}", f"127.0.0.1:{port}",
                              f"127.0.0.1:{target_port}"], name="websockify")
        wait_for_port(port, proc)
        return port
    return start


def run_module_script(driver, port: int, body: str, *args):
    """Opens the web root's listing, imports /websock.js as `Websock` and runs `body` (which calls
    done(result)) as an async script."""
    driver.get(f"http://127.0.0.1:{port}/")
    driver.set_script_timeout(60)
    script = ("const done = arguments[arguments.length - 1];"
              "import('/websock.js').then(({ Websock }) => {" + body + "})"
              ".catch((e) => done({ error: String(e && e.stack || e) }));")
    result = driver.execute_async_script(script, *args)
    assert not (isinstance(result, dict) and "error" in result), result.get("error")
    return result


READER_JS = """
const [url, protocols, fields, rounds, sentString] = arguments;
const ws = new Websock();
const results = [];
let round = 0, chunk = 0, received = 0, chunkEnd = rounds[0][0];
let field = 0, values = [], peeks = [], afterChunks = [];
const read = (kind, size) => {
  switch (kind) {
    case "u8": return ws.rQshift8();
    case "u16": return ws.rQshift16();
    case "u32": return ws.rQshift32();
    case "str": return ws.rQshiftStr(size);
    case "bytes": return Array.from(ws.rQshiftBytes(size));
  }
};
ws.addEventListener("error", (e) => done({ error: e.detail.message }));
ws.addEventListener("close", (e) => { if (round < rounds.length) done({ error: "closed early: " + JSON.stringify(e.detail) }); });
ws.addEventListener("message", (event) => { try { onMessage(event); } catch (e) { done({ error: String(e) }); } });
const onMessage = (event) => {
  received += event.detail.length;
  while (field < fields.length) {
    const [kind, size, name] = fields[field];
    if (ws.rQwait(name, size)) break;
    if (kind === "u8") peeks.push(ws.rQpeek8());
    values.push(read(kind, size));
    field++;
  }
  if (received < chunkEnd) return;  // the chunk came in more than one message
  afterChunks.push({ end: received, len: ws.rQlen(), parsed: field, waitingFor: ws.waitingFor });
  chunk++;
  if (chunk === rounds[round].length) {
    results.push({ values, peeks, afterChunks });
    round++; chunk = 0; received = 0; field = 0; values = []; peeks = []; afterChunks = [];
    if (round === rounds.length) {
      const all = new Uint8Array(256);
      for (let i = 0; i < 256; i++) all[i] = i;
      ws.send(all);
      ws.sendString(sentString);
      done({ protocol: ws.protocol, results });
      return;
    }
  }
  chunkEnd = received + rounds[round][chunk];
  ws.send([6]);
};
ws.open(url, protocols);
"""


@pytest.mark.parametrize("protocol", ["binary", "base64"])
def test_reads_are_the_same_for_every_split(protocol, serve, chromium_driver):
    got = bytearray()

    def scripted(conn, target):
        for chunks in ROUNDS:
            at = 0
            for size in chunks:
                conn.sendall(PAYLOAD[at:at + size])
                at += size
                if not (chunks is ROUNDS[-1] and at == len(PAYLOAD)):
                    recv_exactly(conn, 1)  # the page's ack: this chunk is read, send the next
        got.extend(recv_exactly(conn, len(SENT)))

    target = TcpTarget(scripted)
    try:
        port = serve(target.port)
        fields = [[kind, size, name] for kind, size, name, _ in FIELDS]
        result = run_module_script(chromium_driver, port, READER_JS, f"ws://127.0.0.1:{port}/",
                                   [protocol], fields, ROUNDS, SENT_STRING)
        wait_until(lambda: len(got) == len(SENT), timeout=10, what="the page's sends at the target")
    finally:
        target.close()

    assert result["protocol"] == protocol
    expected_values = [value for _, _, _, value in FIELDS]
    boundaries = [0]
    for _, size, _, _ in FIELDS:
        boundaries.append(boundaries[-1] + size)
    assert len(result["results"]) == len(ROUNDS)
    for chunks, outcome in zip(ROUNDS, result["results"]):
        assert outcome["values"] == expected_values, f"chunks {chunks}"
        assert outcome["peeks"] == [0x7F, 0x80], f"chunks {chunks}: rQpeek8"
        ends = [sum(chunks[:i + 1]) for i in range(len(chunks))]
        assert [a["end"] for a in outcome["afterChunks"]] == ends
        for after in outcome["afterChunks"]:
            parsed = max(i for i, b in enumerate(boundaries) if b <= after["end"])
            # rQwait said "wait" for the first field not complete and consumed none of its bytes.
            assert after["parsed"] == parsed, f"chunks {chunks} after {after['end']} bytes"
            assert after["len"] == after["end"] - boundaries[parsed], f"chunks {chunks}: bytes left queued"
            waiting = FIELDS[parsed][2] if parsed < len(FIELDS) else ""
            assert after["waitingFor"] == waiting, f"chunks {chunks} after {after['end']} bytes"
    assert bytes(got) == SENT


BIG_JS = """
const [url, [words1, words], chunk] = arguments;
const ws = new Websock();
let phase = 1, next = 0, bad = -1, maxQueued = 0, phase1 = null, received = 0;
ws.addEventListener("error", (e) => done({ error: e.detail.message }));
ws.addEventListener("message", (event) => { try { onMessage(event); } catch (e) { done({ error: String(e) }); } });
const onMessage = (event) => {
  maxQueued = Math.max(maxQueued, ws.rQlen());
  if (phase === 1) {
    received += event.detail.length;
    // Read as it arrives, but keep at least 4 bytes queued until the end, so the queue never
    // empties (an empty queue starts again at the front of the buffer, with nothing to move).
    const keep = received === words1 * 4 ? 4 : 8;
    while (!ws.rQwait("u32", keep)) {
      if (ws.rQshift32() !== (next ^ 0xA5A5A5A5) >>> 0 && bad < 0) bad = next;
      next++;
    }
    if (next < words1) {
      if (received % chunk === 0) ws.send([6]);  // this chunk is read: send the next
      return;
    }
    phase1 = { bad, read: next, left: ws.rQlen(), maxQueued };
    phase = 2; next = 0; bad = -1; maxQueued = 0;
    ws.send([6]);
    return;
  }
  if (next === 0) {  // the first value at once, then let the queue grow to everything else
    if (ws.rQwait("first u32", 4)) return;
    if (ws.rQshift32() !== 0) bad = 0;
    next = 1;
  }
  if (ws.rQwait("the rest of phase 2", (words - 1) * 4)) return;
  for (; next < words; next++) if (ws.rQshift32() !== next && bad < 0) bad = next;
  done({ phase1, phase2: { bad, read: next, left: ws.rQlen(), maxQueued } });
};
ws.open(url);
"""


def test_queue_grows_and_compacts_without_losing_bytes(serve, chromium_driver):
    """1 MiB read as it arrives in chunks of 4093 bytes that cut values, one chunk at a time, with a few
    bytes always left queued (the unread bytes move to the front of the first 64 KiB buffer every 16
    chunks), then 3 MiB left queued after
    one value was read (the buffer grows with a read position inside it)."""
    words1, words = 1024 * 1024 // 4, 3 * 1024 * 1024 // 4
    chunk = 4093
    phase1 = b"".join(struct.pack(">I", i ^ 0xA5A5A5A5) for i in range(words1))
    phase2 = b"".join(struct.pack(">I", i) for i in range(words))

    def scripted(conn, target):
        for at in range(0, len(phase1), chunk):
            conn.sendall(phase1[at:at + chunk])
            recv_exactly(conn, 1)  # the page read it (the last ack starts phase 2)
        conn.sendall(phase2)
        time.sleep(5)

    target = TcpTarget(scripted)
    try:
        port = serve(target.port)
        result = run_module_script(chromium_driver, port, BIG_JS, f"ws://127.0.0.1:{port}/", [words1, words], chunk)
    finally:
        target.close()
    assert result["phase1"]["bad"] == -1 and result["phase1"]["read"] == words1
    assert result["phase1"]["left"] == 0
    assert result["phase2"]["bad"] == -1 and result["phase2"]["read"] == words
    assert result["phase2"]["left"] == 0 and result["phase2"]["maxQueued"] >= len(phase2) - 4


# ----------------------------------------------------------------------------- telnet.html

def terminal_text(driver) -> str:
    return driver.execute_script("return document.getElementById('terminal').textContent;")


def open_terminal(driver, port: int):
    from selenium.webdriver.common.by import By

    driver.get(f"http://127.0.0.1:{port}/telnet.html?autoconnect=1")
    status = driver.find_element(By.ID, "status")
    wait_until(lambda: status.text.startswith("connected"), timeout=15,
               what=f"telnet.html to connect (status: {status.text!r})")
    terminal = driver.find_element(By.ID, "terminal")
    terminal.click()
    return terminal, status


def test_telnet_page_runs_echo_hi_in_a_shell(serve, start_process, free_port, tmp_path, chromium_driver):
    from selenium.webdriver.common.keys import Keys

    socat = shutil.which("socat")
    if not socat:
        pytest.fail("socat not found: run scripts/install-deps", pytrace=False)
    home = tmp_path / "home"
    home.mkdir()
    shell_port = free_port()
    # fork: wait_for_port's probe connection gets a shell of its own, the page's connection another.
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb", "PS1": "shell$ "}
    shell = start_process([socat, f"TCP-LISTEN:{shell_port},bind=127.0.0.1,reuseaddr,fork",
                           "EXEC:bash --norc --noprofile -i,pty,stderr,setsid,ctty,sigint,sane"],
                          name="socat-bash", env=env)
    wait_for_port(shell_port, shell)
    port = serve(shell_port)

    terminal, status = open_terminal(chromium_driver, port)
    wait_until(lambda: "shell$" in terminal_text(chromium_driver), timeout=15, what="the shell's prompt")
    terminal.send_keys("echo hi" + Keys.ENTER)
    wait_until(lambda: "hi" in terminal_text(chromium_driver).splitlines(), timeout=15,
               what=f"a line 'hi' in the terminal: {terminal_text(chromium_driver)!r}")
    lines = terminal_text(chromium_driver).splitlines()
    assert any(line.endswith("shell$ echo hi") for line in lines), lines
    assert status.text == "connected (binary)"


IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, TTYPE = 1, 3, 24


def test_telnet_page_answers_option_negotiation(serve, chromium_driver):
    from selenium.webdriver.common.keys import Keys

    # The server's greeting, with commands cut between TCP sends (so between WebSocket messages).
    greeting = (bytes([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, TTYPE, IAC, SB, TTYPE, 1, IAC, SE])
                + b"login: " + bytes([IAC, IAC]) + b"\r\n")
    cuts = [1, 5, 8, 12, 14, 17, 22, 23]
    answers = bytes([IAC, DO, ECHO, IAC, DO, SGA, IAC, WONT, TTYPE])
    typed = b"x\r\0"
    got = bytearray()

    def telnetd(conn, target):
        at = 0
        for cut in cuts + [len(greeting)]:
            conn.sendall(greeting[at:cut])
            at = cut
            time.sleep(0.05)
        deadline = time.monotonic() + 30
        while len(got) < len(answers) + len(typed) and time.monotonic() < deadline:
            data = conn.recv(4096)
            if not data:
                return
            got.extend(data)

    target = TcpTarget(telnetd)
    try:
        port = serve(target.port)
        terminal, _ = open_terminal(chromium_driver, port)
        wait_until(lambda: len(got) >= len(answers), timeout=15, what=f"the page's answers (got {bytes(got)!r})")
        assert bytes(got[:len(answers)]) == answers
        wait_until(lambda: "login:" in terminal_text(chromium_driver), timeout=10, what="the greeting")
        # No command byte is shown; IAC IAC is the data byte 255 (not UTF-8 alone: shown as U+FFFD).
        assert terminal_text(chromium_driver).splitlines()[0] == "login: \ufffd"
        terminal.send_keys("x" + Keys.ENTER)
        wait_until(lambda: len(got) >= len(answers) + len(typed), timeout=10, what="the typed line")
        assert bytes(got[len(answers):]) == typed  # Enter is CR NUL once the peer speaks telnet
    finally:
        target.close()
