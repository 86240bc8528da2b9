"""The README's first command, scripts/demo, run as a user runs it: a desktop, our proxy serving noVNC and
recording, a browser typing into the desktop, Ctrl-C, then the commands the demo prints afterwards.

The demo builds the release binaries unless DEMO_BIN names a directory holding them; the test points it at
the binaries under test, so everything but that one build line runs as written.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import socket
import time
from pathlib import Path

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from test_novnc import CONNECT_TIMEOUT, FILE_TIMEOUT, check_swift_record, poll
from vncdesk import REPO

STARTUP_TIMEOUT = 60.0


def read_until(proc: subprocess.Popen, log: Path, pattern: str, timeout: float) -> re.Match:
    """Waits for `pattern` in the demo's output (stdout and stderr, as a terminal shows them)."""
    deadline = time.monotonic() + timeout
    while True:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            return match
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise AssertionError(f"demo output never showed {pattern!r} (exit code {proc.poll()}):\n{log.read_text()}")


def type_in_vnc_html(driver, url: str, command: str, what: str) -> None:
    """Opens vnc.html at `url`, waits until it is connected, clicks its canvas and types `command` + Return."""
    driver.get(url)
    poll(lambda: driver.execute_script("return document.documentElement.className"),
         lambda classes: "noVNC_connected" in classes.split(), CONNECT_TIMEOUT, what)
    canvas = driver.find_element(By.CSS_SELECTOR, "#noVNC_container canvas")
    ActionChains(driver).move_to_element(canvas).click().perform()
    ActionChains(driver).send_keys(command + Keys.ENTER).perform()


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_demo_serves_novnc_records_and_stops_on_ctrl_c(tmp_path, free_port, proxy_bin, chromium_driver):
    port = free_port()
    home = tmp_path / "home"  # the demo's xterm starts its shell in $HOME
    home.mkdir()
    record = tmp_path / "session"
    log = tmp_path / "demo.log"
    env = dict(os.environ, DEMO_PORT=str(port), DEMO_RECORD=str(record), DEMO_BIN=str(proxy_bin.parent),
               HOME=str(home))
    with open(log, "wb") as out:
        demo = subprocess.Popen([REPO / "scripts" / "demo"], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        url = read_until(demo, log, r"Open (http://\S+) in a browser", STARTUP_TIMEOUT).group(1)
        assert url == f"http://127.0.0.1:{port}/vnc.html?host=127.0.0.1&port={port}&autoconnect=1"

        driver = chromium_driver
        command = "touch typed-in-the-demo"
        type_in_vnc_html(driver, url, command, "the demo's vnc.html to mark itself noVNC_connected")
        poll((home / "typed-in-the-demo").exists, bool, FILE_TIMEOUT, "the typed command to create its file")
        driver.get("about:blank")
        time.sleep(0.3)

        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        assert demo.wait(timeout=60) == 0, log.read_text()
        poll(lambda: group_is_gone(demo.pid), bool, 10, "every process the demo started to stop")
    finally:
        if demo.poll() is None or not group_is_gone(demo.pid):
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=10)

    output = log.read_text()
    assert f"Sessions were recorded to {record}.rec" in output, output
    check_swift_record(record, proxy_bin, command)

    # The commands it prints work as printed.
    stats_line = read_until(demo, log, r"\n  (\S+/wsrecord-inspect stats \S+)\n", 0).group(1)
    stats = subprocess.run(shlex.split(stats_line), capture_output=True, text=True, timeout=60)
    assert stats.returncode == 0 and re.search(r"\bsessions?\b", stats.stdout), stats.stdout + stats.stderr
    replay_line = read_until(demo, log, r"\n  (\S+/wsreplay \S+ .*--once)\n", 0).group(1)
    replay = subprocess.Popen(shlex.split(replay_line), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        # The URL it prints after the command: vnc.html from wsreplay's --web, showing the recorded desktop.
        assert output.rstrip().endswith(url), output
        type_in_vnc_html(chromium_driver, url, command, "vnc.html to connect to wsreplay")
        chromium_driver.get("about:blank")
        out, _ = replay.communicate(timeout=60)
        assert replay.returncode == 0, out.decode(errors="replace")
    finally:
        if replay.poll() is None:
            os.killpg(replay.pid, signal.SIGKILL)
            replay.wait(timeout=10)
