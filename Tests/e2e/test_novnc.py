"""Real browser -> proxy -> real VNC server: noVNC (vnc_lite.html and vnc.html), served by the proxy's
own --web on the port its WebSocket uses, in headless Chromium types into an xterm.

    scripts/install-deps && python3 -m pytest Tests/e2e            # our binary (.build/debug/websockify)
    E2E_PROXY=python python3 -m pytest Tests/e2e                   # the Python reference websockify 0.13
    WEBSOCKIFY_BIN=.build/release/websockify python3 -m pytest Tests/e2e

Artifacts (canvas screenshot, logs, recordings) stay in the test's tmp dir; set E2E_ARTIFACTS=DIR
to also copy the screenshot there.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vncdesk import REPO, stop_process, wait_for_port

NOVNC_DIR = Path("/usr/share/novnc")
CONNECT_TIMEOUT = 20.0
FILE_TIMEOUT = 15.0

# X keysyms noVNC sends for what the test types.
XK_RETURN = 0xFF0D


# ----------------------------------------------------------------------------- the test

def start_proxy(proxy_kind, request, tmp_path, vncdesk, start_process, port: int) -> tuple:
    """The proxy under test on `port`, serving noVNC from NOVNC_DIR with --web on the same port and
    recording; returns (process, record base)."""
    target = f"127.0.0.1:{vncdesk.vnc_port}"
    if proxy_kind == "swift":
        record_base = tmp_path / "live"
        proxy = start_process([request.getfixturevalue("proxy_bin"), f"--web={NOVNC_DIR}", "-v",
                               f"--record={record_base}", f"127.0.0.1:{port}", target], name="proxy")
    else:
        # The reference proxy, from the python3 that install-deps provisioned (not Debian's 0.10).
        # Its legacy --record output lets the RFB checks below run on real traffic today.
        record_base = tmp_path / "legacy"
        proxy = start_process([sys.executable, "-m", "websockify", f"--web={NOVNC_DIR}",
                               f"--record={record_base}", f"127.0.0.1:{port}", target], name="proxy")
    wait_for_port(port, proxy)
    return proxy, record_base


def load_time(driver) -> float:
    """Seconds from navigation start to the load event of the current page."""
    return driver.execute_script(
        "const t = performance.getEntriesByType('navigation')[0]; return (t.loadEventEnd - t.startTime) / 1000;")


def type_into_canvas(driver, canvas, vncdesk) -> str:
    """Click the canvas, type `touch <random name>` + Return; returns the command once the file exists."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    name = f"typed-{secrets.token_hex(4)}"
    command = f"touch {name}"  # relative: the xterm's shell runs in vncdesk.workdir
    ActionChains(driver).move_to_element(canvas).click().perform()
    ActionChains(driver).send_keys(command + Keys.ENTER).perform()
    created = vncdesk.workdir / name
    poll(created.exists, bool, FILE_TIMEOUT, f"{created} to be created by the typed command")
    return command


def test_novnc_types_into_xterm_through_proxy(proxy_kind, request, tmp_path, vncdesk, free_port,
                                              start_process, chromium_driver):
    """vnc_lite.html, served by the proxy's own --web, connects through the same port."""
    from selenium.webdriver.common.by import By

    port = free_port()
    proxy, record_base = start_proxy(proxy_kind, request, tmp_path, vncdesk, start_process, port)

    driver = chromium_driver
    driver.get(f"http://127.0.0.1:{port}/vnc_lite.html?host=127.0.0.1&port={port}")
    print(f"\nvnc_lite.html ({proxy_kind}) loaded in {load_time(driver):.3f} s")
    poll(lambda: driver.find_element(By.ID, "status").text,
         lambda text: text.startswith("Connected"), CONNECT_TIMEOUT,
         "noVNC #status to read 'Connected to ...'")

    canvas = driver.find_element(By.CSS_SELECTOR, "#screen canvas")
    command = type_into_canvas(driver, canvas, vncdesk)

    # The framebuffer update showing the echoed command may trail the file a little.
    time.sleep(0.3)
    shot = tmp_path / "novnc-canvas.png"
    assert canvas.screenshot(str(shot)), "canvas screenshot failed"
    if os.environ.get("E2E_ARTIFACTS"):
        dest = Path(os.environ["E2E_ARTIFACTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, dest / f"novnc-canvas-{proxy_kind}.png")

    # Close the WebSocket (leaving the page does), then stop the proxy so it flushes its record.
    driver.get("about:blank")
    time.sleep(0.3)
    stop_process(proxy)

    if proxy_kind == "swift":
        check_swift_record(record_base, request.getfixturevalue("proxy_bin"), command)
        check_web_log(Path(proxy.log_path))
    else:
        recordings = sorted(tmp_path.glob("legacy.*"))
        assert recordings, f"websockify --record wrote nothing under {record_base}.*"
        lines = [line for rec in recordings for line in legacy_record_to_json_lines(rec, session=1)]
        check_rfb_record_lines(lines, command)


def test_novnc_full_client_connects_through_same_port(proxy_kind, request, tmp_path, vncdesk, free_port,
                                                      start_process, chromium_driver):
    """vnc.html (the full client: ES modules, CSS, SVG icons, fonts), served by --web, connects
    through the same port and types into the desktop."""
    from selenium.webdriver.common.by import By

    port = free_port()
    proxy, _ = start_proxy(proxy_kind, request, tmp_path, vncdesk, start_process, port)
    driver = chromium_driver
    driver.get(f"http://127.0.0.1:{port}/vnc.html?host=127.0.0.1&port={port}&autoconnect=1")
    print(f"\nvnc.html ({proxy_kind}) loaded in {load_time(driver):.3f} s")
    poll(lambda: driver.execute_script("return document.documentElement.className"),
         lambda classes: "noVNC_connected" in classes.split(), CONNECT_TIMEOUT,
         "vnc.html to mark itself noVNC_connected")
    canvas = driver.find_element(By.CSS_SELECTOR, "#noVNC_container canvas")
    type_into_canvas(driver, canvas, vncdesk)
    driver.get("about:blank")
    time.sleep(0.3)
    stop_process(proxy)
    if proxy_kind == "swift":
        check_web_log(Path(proxy.log_path))


# Asked for but not shipped by Debian's novnc: the browser's default icon, and the version file
# vnc.html reads (it shows no version without it).
ABSENT_FROM_NOVNC = ("GET /favicon.ico: 404 ", "GET /package.json: 404 ")


def check_web_log(log: Path) -> None:
    """Every file the page asked our --web for was served: no 4xx in the proxy's log beyond the
    known-absent ones, and the page's scripts among the 200s."""
    text = log.read_text(errors="replace")
    served = [line for line in text.splitlines() if "websockify.web" in line]
    assert any("/core/rfb.js: 200 " in line for line in served), \
        f"the proxy logged no successful web requests for noVNC's core:\n{text[-3000:]}"
    refused = [line for line in served if any(f": {code} " in line for code in ("400", "403", "404", "405"))
               and not any(known in line for known in ABSENT_FROM_NOVNC)]
    assert not refused, "noVNC asked for files the web server refused:\n" + "\n".join(refused)


def poll(get, ok, timeout: float, what: str, interval: float = 0.1):
    """Call get() until ok(value); returns the value, or fails naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    value = None
    while True:
        try:
            value = get()
        except Exception as e:  # noqa: BLE001 - e.g. element not there yet
            value = e
        if not isinstance(value, Exception) and ok(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last value: {value!r}")
        time.sleep(interval)


# ----------------------------------------------------------------------------- record checks

def inspect_bin(proxy_bin: Path) -> Path:
    """wsrecord-inspect: $WSRECORD_INSPECT_BIN, else next to the proxy binary, else .build/debug."""
    if os.environ.get("WSRECORD_INSPECT_BIN"):
        return Path(os.environ["WSRECORD_INSPECT_BIN"])
    sibling = Path(proxy_bin).parent / "wsrecord-inspect"
    return sibling if sibling.exists() else REPO / ".build" / "debug" / "wsrecord-inspect"


def check_swift_record(record_base: Path, proxy_bin: Path, typed: str) -> list[dict]:
    """Dump our proxy's `--record` file with wsrecord-inspect and check the RFB traffic in it."""
    path = record_base.with_name(record_base.name + ".rec")
    if not path.exists():
        found = sorted(record_base.parent.glob(record_base.name + "*.rec"))
        assert found, f"no record file {path} (nor {record_base}*.rec); dir has " \
                      f"{sorted(p.name for p in record_base.parent.iterdir())}"
        path = found[0]
    tool = inspect_bin(proxy_bin)
    assert tool.exists(), f"{tool} missing: build the wsrecord-inspect product"
    run = subprocess.run([str(tool), "dump", "--json", "--payload", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"wsrecord-inspect dump failed ({run.returncode}):\n{run.stderr}"
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return check_rfb_record_lines(lines, typed)


def check_rfb_record_lines(lines: list[dict], typed: str) -> list[dict]:
    """Assert a recorded noVNC session (JSON lines of `wsrecord-inspect dump --json --payload`)
    has an `open` record, client->target KeyEvents (RFB type 4, 8 bytes) pressing each key of
    `typed` then Return, and target->client FramebufferUpdate data (RFB type 0).

    Keys per line: session, time_us, from ("client"/"target"; absent on open/close/marker),
    kind ("open","data","ping","pong","close","marker"), length, payload_b64 (data).
    Returns the client's parsed RFB messages as dicts, for further checks.
    """
    damage = [line for line in lines if "damage" in line]
    assert not damage, f"record reports damage: {damage}"
    records = [line for line in lines if "kind" in line]
    opens = [r for r in records if r["kind"] == "open"]
    assert opens, f"no 'open' record among {len(records)} records: kinds {sorted({r['kind'] for r in records})}"

    # Per session, the two byte streams in record order (frames may split RFB messages anywhere).
    streams: dict[int, dict[str, bytearray]] = {}
    for r in records:
        if r["kind"] != "data":
            continue
        assert r.get("from") in ("client", "target"), f"data record without a valid 'from': {r}"
        assert "payload_b64" in r, f"data record without payload_b64 (dump needs --payload): {r}"
        payload = base64.b64decode(r["payload_b64"])
        assert len(payload) == r["length"], f"payload is {len(payload)} bytes, length says {r['length']}: {r}"
        streams.setdefault(r["session"], {"client": bytearray(), "target": bytearray()})[r["from"]] += payload
    open_sessions = {r["session"] for r in opens}
    rfb_sessions = [s for s in streams if s in open_sessions and streams[s]["client"].startswith(b"RFB ")]
    assert rfb_sessions, f"no opened session with RFB client data; sessions with data: {sorted(streams)}, " \
                         f"opened: {sorted(open_sessions)}"

    problems = []
    for session in rfb_sessions:
        client, target = bytes(streams[session]["client"]), bytes(streams[session]["target"])
        try:
            server = parse_rfb_server(target, client)
            messages = parse_rfb_client(client, server)
        except RfbParseError as e:
            problems.append(f"session {session}: {e}")
            continue
        first = server["first_update"]
        if first["rects"] < 1 or first["bytes_from_here"] < 64:
            problems.append(f"session {session}: no real FramebufferUpdate from the target: {first}")
            continue
        keys = [m for m in messages if m["type"] == 4]
        pressed = [m["keysym"] for m in keys if m["down"]]
        want = [ord(c) for c in typed] + [XK_RETURN]
        if not is_subsequence(want, pressed):
            problems.append(
                f"session {session}: KeyEvents pressed {[keysym_name(k) for k in pressed]}, "
                f"want {[keysym_name(k) for k in want]} in order "
                f"(client message types seen: {sorted({m['type'] for m in messages})})")
            continue
        released = {m["keysym"] for m in keys if not m["down"]}
        missing_up = sorted({ord(c) for c in typed} - released)
        if missing_up:
            problems.append(f"session {session}: no key-up for {[keysym_name(k) for k in missing_up]}")
            continue
        return messages
    raise AssertionError("recorded RFB traffic does not show the typed keys:\n" + "\n".join(problems))


def is_subsequence(want: list[int], have: list[int]) -> bool:
    it = iter(have)
    return all(any(x == h for h in it) for x in want)


def keysym_name(keysym: int) -> str:
    if 0x20 < keysym < 0x7F:
        return chr(keysym)
    return {0x20: "space", XK_RETURN: "Return"}.get(keysym, hex(keysym))


class RfbParseError(AssertionError):
    pass


def _need(data: bytes, pos: int, n: int, what: str) -> None:
    if len(data) < pos + n:
        raise RfbParseError(f"stream ends in {what} at offset {pos} (need {n} bytes, have {len(data) - pos})")


def _version(greeting: bytes, who: str) -> tuple[int, int]:
    if len(greeting) < 12 or not greeting.startswith(b"RFB ") or greeting[11:12] != b"\n":
        raise RfbParseError(f"{who} did not start with an RFB ProtocolVersion: {greeting[:12]!r}")
    return int(greeting[4:7]), int(greeting[8:11])


def parse_rfb_server(target: bytes, client: bytes) -> dict:
    """Walk the server's handshake (RFB 3.3/3.7/3.8; security None or VNC auth) up to ServerInit;
    returns {"version", "security", "name", "width", "height", "first_update"} where
    first_update describes the first FramebufferUpdate (RFB type 0) the target sent."""
    major, minor = _version(client, "client")
    _version(target, "server")
    minor = 8 if minor >= 8 else 7 if minor == 7 else 3
    pos = 12
    if minor >= 7:
        _need(target, pos, 1, "security type count")
        count = target[pos]
        if count == 0:
            raise RfbParseError(f"server refused the connection: {target[pos + 1:pos + 200]!r}")
        _need(target, pos, 1 + count, "security types")
        pos += 1 + count
        _need(client, 12, 1, "client's security choice")
        security = client[12]
    else:
        _need(target, pos, 4, "security type")
        (security,) = struct.unpack_from(">I", target, pos)
        pos += 4
    if security == 2:
        pos += 16  # VNC authentication challenge
    elif security != 1:
        raise RfbParseError(f"security type {security} not supported by this checker")
    if minor >= 8 or security == 2:
        _need(target, pos, 4, "SecurityResult")
        (result,) = struct.unpack_from(">I", target, pos)
        if result != 0:
            raise RfbParseError(f"SecurityResult {result}: authentication failed")
        pos += 4
    _need(target, pos, 24, "ServerInit")
    width, height = struct.unpack_from(">HH", target, pos)
    (name_len,) = struct.unpack_from(">I", target, pos + 20)
    _need(target, pos + 24, name_len, "desktop name")
    name = target[pos + 24:pos + 24 + name_len].decode("latin1")
    pos += 24 + name_len
    # Skip what may come before the first FramebufferUpdate (x11vnc sends its clipboard
    # as ServerCutText first); past an FBU the stream needs the encodings to be walked.
    skipped = []
    while True:
        _need(target, pos, 1, "server message after ServerInit")
        kind = target[pos]
        if kind == 0:  # FramebufferUpdate
            _need(target, pos, 4, "FramebufferUpdate header")
            break
        if kind == 1:  # SetColourMapEntries
            _need(target, pos, 6, "SetColourMapEntries")
            size = 6 + 6 * struct.unpack_from(">H", target, pos + 4)[0]
        elif kind == 2:  # Bell
            size = 1
        elif kind == 3:  # ServerCutText (negative length: extended clipboard)
            _need(target, pos, 8, "ServerCutText")
            size = 8 + abs(struct.unpack_from(">i", target, pos + 4)[0])
        elif kind == 150:  # EndOfContinuousUpdates
            size = 1
        elif kind == 248:  # ServerFence
            _need(target, pos, 9, "ServerFence")
            size = 9 + target[pos + 8]
        else:
            raise RfbParseError(f"unknown RFB server message type {kind} at offset {pos}: "
                                f"{target[pos:pos + 16].hex()}")
        skipped.append(kind)
        pos += size
    first = {"type": target[pos], "rects": struct.unpack_from(">H", target, pos + 2)[0],
             "offset": pos, "bytes_from_here": len(target) - pos, "skipped_before": skipped}
    return {"version": (3, minor), "security": security, "name": name, "width": width,
            "height": height, "first_update": first}


def parse_rfb_client(client: bytes, server: dict) -> list[dict]:
    """Split the client's stream after its handshake into RFB client messages."""
    minor = server["version"][1]
    pos = 12
    if minor >= 7:
        pos += 1  # security type chosen
    if server["security"] == 2:
        pos += 16  # VNC authentication response
    _need(client, pos, 1, "ClientInit")
    pos += 1
    messages = []
    while pos < len(client):
        kind = client[pos]
        if kind == 0:  # SetPixelFormat
            size = 20
        elif kind == 2:  # SetEncodings
            _need(client, pos, 4, "SetEncodings")
            size = 4 + 4 * struct.unpack_from(">H", client, pos + 2)[0]
        elif kind == 3:  # FramebufferUpdateRequest
            size = 10
        elif kind == 4:  # KeyEvent
            size = 8
        elif kind == 5:  # PointerEvent
            size = 6
        elif kind == 6:  # ClientCutText (a negative length is the extended clipboard form)
            _need(client, pos, 8, "ClientCutText")
            size = 8 + abs(struct.unpack_from(">i", client, pos + 4)[0])
        elif kind == 150:  # EnableContinuousUpdates
            size = 10
        elif kind == 248:  # ClientFence
            _need(client, pos, 9, "ClientFence")
            size = 9 + client[pos + 8]
        elif kind == 250:  # xvp
            size = 4
        elif kind == 251:  # SetDesktopSize
            _need(client, pos, 8, "SetDesktopSize")
            size = 8 + 16 * client[pos + 6]
        elif kind == 255:  # QEMU client message: 0 = extended key event
            _need(client, pos, 2, "QEMU message")
            if client[pos + 1] != 0:
                raise RfbParseError(f"QEMU client message subtype {client[pos + 1]} at offset {pos}")
            size = 12
        else:
            raise RfbParseError(f"unknown RFB client message type {kind} at offset {pos}: "
                                f"{client[pos:pos + 16].hex()}")
        _need(client, pos, size, f"client message type {kind}")
        body = client[pos:pos + size]
        message = {"type": kind, "offset": pos, "size": size}
        if kind == 4:
            message["down"] = body[1] != 0
            message["keysym"] = struct.unpack_from(">I", body, 4)[0]
        messages.append(message)
        pos += size
    return messages


# ----------------------------------------------------------------------------- legacy records

def legacy_record_to_json_lines(path: Path, session: int = 1) -> list[dict]:
    """Python websockify's `--record` file (`var VNC_frame_data = ['{ms{data', '}ms}data', ...]`,
    `{` = sent to the client, `}` = from the client) as the JSON lines wsrecord-inspect prints."""
    lines: list[dict] = [{"session": session, "time_us": 0, "kind": "open", "length": 0}]
    for raw in Path(path).read_text().splitlines():
        raw = raw.strip()
        if not raw.startswith("'") or raw in ("'EOF'];",):
            continue
        item = raw[1:raw.rindex("'")]
        marker = item[0]
        if marker not in "{}":
            continue
        end = item.index(marker, 1)
        millis, escaped = int(item[1:end]), item[end + 1:]
        payload = escaped.encode("ascii").decode("unicode_escape").encode("latin1")
        lines.append({"session": session, "time_us": millis * 1000,
                      "from": "target" if marker == "{" else "client", "kind": "data",
                      "length": len(payload), "payload_b64": base64.b64encode(payload).decode()})
    return lines
