"""noVNC in Chromium over a compressed session: the browser offers permessage-deflate, the proxy
agrees (the page's WebSocket reports it in `ws.extensions`), the desktop is drawn and typed into,
and the recording holds the RFB bytes as the application saw them. With --compression off the same
page runs uncompressed."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from test_novnc import CONNECT_TIMEOUT, NOVNC_DIR, poll, type_into_canvas
from vncdesk import wait_for_port

# Keeps every WebSocket the page makes, so the test can read what was negotiated.
RECORD_SOCKETS = """
window.__sockets = [];
const Native = window.WebSocket;
// A function returning the native socket: noVNC checks the socket's own prototype's properties.
window.WebSocket = function (...args) {
    const socket = new Native(...args);
    window.__sockets.push(socket);
    return socket;
};
window.WebSocket.prototype = Native.prototype;
for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) window.WebSocket[name] = Native[name];
"""

def open_novnc(driver, port):
    from selenium.webdriver.common.by import By

    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_SOCKETS})
    driver.get(f"http://127.0.0.1:{port}/vnc_lite.html?host=127.0.0.1&port={port}")
    poll(lambda: driver.find_element(By.ID, "status").text,
         lambda text: text.startswith("Connected"), CONNECT_TIMEOUT,
         "noVNC #status to read 'Connected to ...'")
    return driver.find_element(By.CSS_SELECTOR, "#screen canvas")


@pytest.mark.parametrize("compression", ["auto", "off"])
def test_novnc_over_a_compressed_session(compression, proxy_bin, tmp_path, vncdesk, free_port, start_process,
                                         chromium_driver):
    port, metrics_port = free_port(), free_port()
    record = tmp_path / "session"
    proxy = start_process([proxy_bin, f"--web={NOVNC_DIR}", "-v", f"--record={record}",
                           f"--compression={compression}", f"--metrics-listen=127.0.0.1:{metrics_port}",
                           f"127.0.0.1:{port}", f"127.0.0.1:{vncdesk.vnc_port}"], name="proxy")
    wait_for_port(port, proxy)
    driver = chromium_driver
    canvas = open_novnc(driver, port)
    extensions = driver.execute_script("return window.__sockets.map(s => s.extensions)")
    if compression == "auto":
        assert extensions == ["permessage-deflate"], extensions
    else:
        assert extensions == [""], extensions
    type_into_canvas(driver, canvas, vncdesk)
    # The canvas shows the desktop (not a blank or a half-drawn screen): many colours.
    colours = driver.execute_script("""
        const c = document.querySelector('#screen canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size;""")
    assert colours >= 2, f"the canvas has {colours} colour(s)"
    # Target bytes did go compressed (counted when the session ends, or per MiB), so the recording
    # below was made from a session whose frames were deflated, not one the policy left uncompressed.
    driver.execute_script("window.__sockets.forEach(s => s.close())")
    driver.get("about:blank")
    compressed = poll(lambda: compressed_target_bytes(metrics_port), lambda n: n > 0 or compression == "off", 10,
                      "websockify_compression_payload_bytes_total{direction=target_to_client} > 0")
    if compression == "off":
        assert compressed == 0, compressed
    proxy.terminate()
    proxy.wait(timeout=10)
    # The recording holds the application's bytes: the RFB handshake starts with the server's version
    # and the session parses as RFB from start to end (compressed bytes would not).
    recording = next(tmp_path.glob("session*.rec"))
    inspect = proxy_bin.parent / "wsrecord-inspect"
    dump = subprocess.run([inspect, "dump", "--rfb", "--json", str(recording)], capture_output=True,
                          text=True, timeout=60)
    assert dump.returncode == 0, dump.stderr
    messages = [json.loads(line) for line in dump.stdout.splitlines() if line.strip()]
    text = json.dumps(messages)
    assert "RFB 003.00" in text or "ProtocolVersion" in text, text[:2000]
    assert "FramebufferUpdate" in text, text[:2000]
    assert "KeyEvent" in text, text[:2000]


def compressed_target_bytes(metrics_port):
    """Application bytes the proxy sent compressed to clients, from its metrics endpoint."""
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("websockify_compression_payload_bytes_total{") and 'direction="target_to_client"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total
