"""Headless Chromium through chromedriver, with a small probe injected into every page before its own
scripts: it notes when the page's WebSocket opened and closed, and keeps the framebuffer canvas once
the client has sized it, so the canvas can be read even after the client removed it from the page."""
from __future__ import annotations

import time
from pathlib import Path

from .png import data_url_png

# Runs before the page's scripts (CDP Page.addScriptToEvaluateOnNewDocument). Times are epoch
# milliseconds (performance.timeOrigin + now), comparable with the harness's time.time().
PROBE = """
(() => {
  if (window.__wsreplayBrowser) return;
  const state = { opened: null, closed: null, received: 0, socket: null, canvas: null };
  Object.defineProperty(window, '__wsreplayBrowser', { value: state });
  const Native = window.WebSocket;
  const now = () => performance.timeOrigin + performance.now();
  // A plain function returning the native socket (not a subclass): clients such as noVNC 1.3 check
  // that the socket's own prototype is WebSocket's.
  function WebSocket(...args) {
    const socket = new Native(...args);
    state.socket = socket;
    socket.addEventListener('open', () => { state.opened = now(); });
    socket.addEventListener('message', () => { state.received += 1; });
    socket.addEventListener('close', (e) => { state.closed = { at: now(), code: e.code, reason: e.reason }; });
    return socket;
  }
  WebSocket.prototype = Native.prototype;
  for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) WebSocket[name] = Native[name];
  window.WebSocket = WebSocket;
})();
"""

# Returns the probe's state (`received`: WebSocket messages the page got); finds the framebuffer canvas (the one sized width x height) first.
STATE = """
const s = window.__wsreplayBrowser;
if (!s) return null;
if (!s.canvas) {
  s.canvas = Array.from(document.querySelectorAll('canvas'))
    .find(c => c.width === arguments[0] && c.height === arguments[1]) || null;
}
return { opened: s.opened, closed: s.closed, received: s.received, canvas: s.canvas !== null };
"""

# The canvas's place in the viewport and its size in framebuffer pixels.
GEOMETRY = """
const c = window.__wsreplayBrowser.canvas;
const r = c.getBoundingClientRect();
return [r.left, r.top, r.width, r.height, c.width, c.height, window.innerWidth, window.innerHeight];
"""


class BrowserProblem(Exception):
    """Chromium or chromedriver could not be started (exit code 2)."""


def start(chromium: Path, chromedriver: Path, profile: Path, log: Path, width: int, height: int):
    """A headless Chromium whose window holds a `width` x `height` framebuffer unscaled."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    # --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={max(1024, width + 64)},{max(768, height + 200)}", "--no-first-run",
                "--no-default-browser-check", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=str(chromedriver), log_output=str(log)),
                                  options=options)
    except WebDriverException as e:
        raise BrowserProblem(f"cannot start {chromium} through {chromedriver}: {e.msg or e}") from e
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
    return driver


def state(driver, width: int, height: int) -> dict | None:
    return driver.execute_script(STATE, width, height)


def wait_connected(driver, width: int, height: int, timeout: float) -> float | None:
    """Waits for the page's WebSocket to open and the client to size its canvas to the framebuffer;
    returns when the socket opened (epoch seconds), None if that does not happen in `timeout`
    or the socket closes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = state(driver, width, height)
        if s and s["closed"]:
            return None
        if s and s["opened"] and s["canvas"]:
            return s["opened"] / 1000
        time.sleep(0.02)
    return None


def geometry(driver) -> tuple[float, float, float, float, int, int, int, int]:
    return tuple(driver.execute_script(GEOMETRY))


def canvas_png(driver) -> bytes | None:
    """The kept canvas's pixels as a PNG (what the client decoded), or None without a canvas."""
    url = driver.execute_script(
        "const s = window.__wsreplayBrowser; return s && s.canvas ? s.canvas.toDataURL('image/png') : null;")
    return data_url_png(url) if url else None


def console(driver) -> list[str]:
    try:
        return [f"{e.get('level')} {e.get('message')}" for e in driver.get_log("browser")]
    except Exception:  # noqa: BLE001 - the console is a diagnostic, never a reason to fail
        return []
