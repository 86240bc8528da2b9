"""Fixtures for the real-browser end-to-end tests (run `scripts/install-deps` first).

- `free_port()`        -> a TCP port on 127.0.0.1 that was free a moment ago
- `proxy_bin`          -> our websockify binary ($WEBSOCKIFY_BIN, default .build/debug/websockify);
                          FAILS (never skips) when it is not there
- `proxy_kind`         -> "swift" (default) or "python" (E2E_PROXY=python: the reference websockify 0.13)
- `start_process(args)`-> Popen, output to a log file under the test's tmp dir; terminated (then
                          killed) with all its children at teardown; logs attached to the report on failure
- `chromium_driver`    -> selenium WebDriver for headless Chromium (system chromium + chromedriver)
- `vncdesk`            -> a started VncDesk (Xvfb + xterm + x11vnc), see vncdesk.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vncdesk import REPO, VncDesk, pick_free_port, stop_tree  # noqa: E402

# The live noVNC session the wsreplay-browser tests share (the session-scoped `live` fixture).
pytest_plugins = ["novnc_live"]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Hard cap per test (setup + call + teardown of its fixtures), so a hung browser
# or process cannot stall a CI run: SIGALRM raises inside the test.
TEST_TIMEOUT = int(os.environ.get("E2E_TEST_TIMEOUT", "120"))

_LOGS = pytest.StashKey[dict]()


def _logs(node) -> dict:
    return node.stash.setdefault(_LOGS, {})


def attach_log(request, name: str, source) -> None:
    """Show `source` under `name` in the report if the test fails: a file path, or a
    callable returning text (called when the failure is reported, e.g. the browser console)."""
    _logs(request.node)[name] = source if callable(source) else Path(source)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for name, source in _logs(item).items():
            try:
                text = source() if callable(source) else Path(source).read_text(errors="replace")
            except Exception as e:  # noqa: BLE001 - a report must not fail on its logs
                text = f"(log unavailable: {e})"
            if len(text) > 20000:
                text = "...\n" + text[-20000:]
            where = "" if callable(source) else f" ({source})"
            report.sections.append((f"log: {name}{where}", text or "(empty)"))


class E2ETimeout(BaseException):
    """Not an Exception (nor an OSError like TimeoutError), so polling loops and
    client libraries that catch those cannot swallow it."""


def _expire(signum, frame):
    raise E2ETimeout(f"e2e test exceeded {TEST_TIMEOUT}s (E2E_TEST_TIMEOUT)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    # Armed for fixture setup and the test body; disarmed before teardown, so the
    # cleanup of processes is never interrupted (it has its own bounded waits).
    signal.signal(signal.SIGALRM, _expire)
    signal.alarm(TEST_TIMEOUT)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    signal.alarm(0)
    yield


@pytest.fixture
def free_port():
    """Call it for each port you need: `port = free_port()`."""
    return pick_free_port


@pytest.fixture
def proxy_kind(request) -> str:
    """Which proxy the browser tests drive: E2E_PROXY=swift (default) or python.
    For swift it checks `proxy_bin` at once, so a missing build fails before any browser starts."""
    kind = os.environ.get("E2E_PROXY", "swift").strip().lower()
    if kind not in ("swift", "python"):
        pytest.fail(f"E2E_PROXY must be 'swift' or 'python', not {kind!r}", pytrace=False)
    if kind == "swift":
        request.getfixturevalue("proxy_bin")
    return kind


@pytest.fixture
def proxy_bin() -> Path:
    path = Path(os.environ.get("WEBSOCKIFY_BIN", REPO / ".build" / "debug" / "websockify"))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"websockify binary not found or not executable: {path}\n"
            "Build it first (swift build), or point WEBSOCKIFY_BIN at it; "
            "E2E_PROXY=python runs the browser tests against the Python reference proxy instead.",
            pytrace=False,
        )
    return path


@pytest.fixture
def start_process(request, tmp_path):
    """start_process(args, name=None, **popen_kw) -> Popen, cleaned up at teardown.

    stdout+stderr go to <tmp>/logs/<name>.log, shown in the report when the test fails.
    Each process gets its own session, so teardown can stop it and all its children.
    """
    procs: list[subprocess.Popen] = []
    logdir = tmp_path / "logs"
    logdir.mkdir(exist_ok=True)

    def start(args, name: str | None = None, **kw) -> subprocess.Popen:
        args = [str(a) for a in args]
        name = name or Path(args[0]).name
        log = logdir / f"{name}.log"
        n = 1
        while log.exists():
            n += 1
            log = logdir / f"{name}-{n}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, **kw,
            )
        proc.log_path = log  # type: ignore[attr-defined]
        procs.append(proc)
        attach_log(request, log.stem, log)
        return proc

    yield start
    while procs:
        stop_tree(procs.pop())


@pytest.fixture
def vncdesk(request, tmp_path):
    """A running VncDesk; the xterm's shell works in <tmp>/home."""
    desk = VncDesk(workdir=tmp_path / "home", logdir=tmp_path / "logs")
    for name in ("xvfb", "xterm", "x11vnc"):
        attach_log(request, name, tmp_path / "logs" / f"{name}.log")
    with desk:
        yield desk


@pytest.fixture
def chromium_extra_args() -> list[str]:
    """More Chromium switches; a test module overrides this fixture to add its own."""
    return []


@pytest.fixture
def chromium_driver(request, tmp_path, chromium_extra_args):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} missing: run scripts/install-deps", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1024,768", "--no-first-run", "--no-default-browser-check",
                f"--user-data-dir={tmp_path / 'chromium-profile'}", *chromium_extra_args):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log = tmp_path / "logs" / "chromedriver.log"
    log.parent.mkdir(exist_ok=True)
    attach_log(request, "chromedriver", log)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(log))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    console: list[str] = []

    def browser_console() -> str:
        # get_log drains the buffer: keep what was read for a later report phase.
        try:
            console.extend(f"{e.get('level')} {e.get('message')}" for e in driver.get_log("browser"))
        except Exception:  # noqa: BLE001 - after quit(), only what was read before
            pass
        return "\n".join(console)

    attach_log(request, "browser-console", browser_console)
    try:
        yield driver
    finally:
        try:
            driver.quit()
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass
