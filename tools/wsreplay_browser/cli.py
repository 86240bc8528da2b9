"""wsreplay-browser: replay a recording to a real VNC web client (noVNC) in headless Chromium, typing
and clicking what the recorded user typed and clicked, and check the client (docs/wsreplay.md,
"wsreplay-browser").

Exit codes: 0 pass, 1 divergence / canvas mismatch / input that could not be re-enacted / the client
never connected, 2 usage or environment error, 3 damaged recording (as wsreplay says)."""
from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import browser, junit
from .enact import Enactor
from .environment import (EnvironmentProblem, find_product, find_program, require_selenium,
                          wsreplay_options)
from .png import CHANNEL_TOLERANCE, compare
from .recording import RecordingError, read_session

CONNECT_TIMEOUT = 30.0
# After the session ended by the server, before reading the canvas: images the client decodes
# asynchronously (Tight JPEG/PNG) are painted by then.
SETTLE_SECONDS = 0.5
# wsreplay's own default: how long it waits for a client message, and for the client's close.
WSREPLAY_WAIT_TIMEOUT = 10.0
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+ ")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="wsreplay-browser",
        description="Replay RECORDING to a VNC web client (noVNC) in headless Chromium through wsreplay, "
                    "re-enacting the recorded keys and pointer at their recorded times; check what the client "
                    "sends (wsreplay) and the canvas it ends with.",
        epilog="Exit codes: 0 pass, 1 divergence or canvas mismatch (or input that cannot be re-enacted, or a "
               "client that never connected), 2 usage or environment error, 3 damaged recording. "
               "Binaries: $WSREPLAY_BIN and $WSRECORD_INSPECT_BIN, else next to this script, else the build of "
               "the checkout it is in, else PATH; $CHROMIUM and $CHROMEDRIVER override PATH.")
    p.add_argument("recording", metavar="RECORDING", type=Path, help="a recording (.rec or legacy websockify)")
    p.add_argument("--client", metavar="DIR", type=Path, required=True, help="the web client's files (noVNC)")
    p.add_argument("--page", default="vnc_lite.html",
                   help="the page in DIR to open (default vnc_lite.html); host, port, autoconnect are added")
    p.add_argument("--allow", action="append", default=[], metavar="RULE",
                   help="passed to wsreplay --allow (needs a wsreplay that has it)")
    p.add_argument("--rules", type=Path, metavar="FILE", help="passed to wsreplay --rules (same)")
    p.add_argument("--canvas", type=Path, metavar="OUT.png", help="save the final canvas here")
    p.add_argument("--reference", type=Path, metavar="REF.png",
                   help=f"compare the final canvas with this PNG (a pixel differs when a colour channel differs "
                        f"by more than {CHANNEL_TOLERANCE}); on a mismatch the diff image goes to OUT.diff.png "
                        "(REF.diff.png without --canvas)")
    p.add_argument("--junit", type=Path, metavar="OUT.xml", help="write a JUnit XML result")
    p.add_argument("--report", type=Path, metavar="OUT.json",
                   help="write wsreplay's JSON report, with a 'browser' section added")
    p.add_argument("--speed", type=float, default=1.0, metavar="X", help="divide recorded times by X (default 1)")
    args = p.parse_args(argv)
    if not args.speed > 0:
        p.error("--speed must be a positive number")
    return args


class UsageProblem(Exception):
    """A wrong argument found after parsing (exit code 2)."""


@dataclass
class Result:
    exit_code: int = 0
    cases: list = field(default_factory=list)
    browser: dict = field(default_factory=dict)
    wsreplay_report: dict | None = None
    summary: list[str] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = parse(argv)
    # SIGTERM ends the run like Ctrl-C: the browser and wsreplay are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    result = Result()
    try:
        Harness(args, Path(sys.argv[0]), result).run()
    except (EnvironmentProblem, RecordingError, UsageProblem, browser.BrowserProblem) as e:
        result.exit_code = 2
        result.summary.append(f"error: {e}")
        result.cases = [junit.Case("replay", outcome="error", message=str(e))]
    except Exception as e:  # noqa: BLE001 - a harness failure must not pass for a divergence (exit 1)
        result.exit_code = 2
        details = traceback.format_exc()
        result.summary.append(f"error: the harness failed: {e!r}\n{details}")
        result.cases = [junit.Case("replay", outcome="error", message=f"the harness failed: {e!r}", details=details)]
    seconds = time.monotonic() - started
    result.browser["duration_seconds"] = round(seconds, 3)
    result.browser["exit_code"] = result.exit_code
    if args.report and (result.wsreplay_report is not None or result.exit_code == 2):
        report = dict(result.wsreplay_report or {"error": result.summary[-1] if result.summary else None})
        report["browser"] = result.browser
        args.report.write_text(json.dumps(report, indent=1) + "\n")
    if args.junit:
        junit.write(args.junit, "wsreplay-browser", f"wsreplay-browser.{args.recording.name}", result.cases,
                    seconds)
    for line in result.summary:
        print(f"wsreplay-browser: {line}", file=sys.stderr)
    print(f"wsreplay-browser: exit {result.exit_code} after {seconds:.1f} s", file=sys.stderr)
    return result.exit_code


class Harness:
    def __init__(self, args: argparse.Namespace, launcher: Path, result: Result):
        self.args = args
        self.launcher = launcher
        self.result = result

    # -- checks before anything starts ------------------------------------------------------
    def check(self) -> None:
        a = self.args
        if not a.recording.is_file():
            raise UsageProblem(f"the recording {a.recording} does not exist or is not a file")
        if not a.client.is_dir():
            raise UsageProblem(f"the client directory {a.client} does not exist (--client DIR: noVNC's files)")
        page = a.page.split("?", 1)[0].lstrip("/")
        if not (a.client / page).is_file():
            raise UsageProblem(f"the page {a.client / page} does not exist (--page {a.page} in --client {a.client})")
        if a.rules is not None and not a.rules.is_file():
            raise UsageProblem(f"the rules file {a.rules} does not exist")
        require_selenium()
        self.chromium = find_program(("chromium", "chromium-browser"), "CHROMIUM", "chromium")
        self.chromedriver = find_program(("chromedriver",), "CHROMEDRIVER", "chromium-driver")
        self.wsreplay = find_product("wsreplay", "WSREPLAY_BIN", self.launcher)
        self.inspect = find_product("wsrecord-inspect", "WSRECORD_INSPECT_BIN", self.launcher,
                                    beside=self.wsreplay.parent)
        if a.allow or a.rules:
            options = wsreplay_options(self.wsreplay)
            lacking = [o for o, wanted in (("--allow", a.allow), ("--rules", a.rules)) if wanted and o not in options]
            if lacking:
                raise EnvironmentProblem(f"this wsreplay build ({self.wsreplay}) lacks {' and '.join(lacking)} "
                                         "(tolerance rules, issue 13 §2): it cannot honour them, so nothing was run")

    # -- the run ----------------------------------------------------------------------------------
    def run(self) -> None:
        self.check()
        session = read_session(self.inspect, self.args.recording)
        self.session = session
        b = self.result.browser
        b.update(client=str(self.args.client), page=self.args.page, session=session.number,
                 speed=self.args.speed, framebuffer=[session.width, session.height])
        if session.other_sessions:
            self.result.summary.append(f"the recording holds {session.other_sessions + 1} sessions; "
                                       f"only the first (session {session.number}) is re-enacted")
        with tempfile.TemporaryDirectory(prefix="wsreplay-browser-") as tmp:
            self.tmp = Path(tmp)
            wsreplay = self.start_wsreplay()
            from selenium.common.exceptions import WebDriverException
            try:
                self.drive(wsreplay)
            except WebDriverException as e:
                raise browser.BrowserProblem(f"the browser failed during the run: {e.msg or e}") from e
            finally:
                if wsreplay.poll() is None:
                    wsreplay.terminate()
                    try:
                        wsreplay.wait(5)
                    except subprocess.TimeoutExpired:
                        wsreplay.kill()
                        wsreplay.wait()
            self.wsreplay_seconds = time.monotonic() - self.wsreplay_started
            self.conclude(wsreplay)

    def start_wsreplay(self) -> subprocess.Popen:
        a = self.args
        self.wsreplay_report = self.tmp / "wsreplay.json"
        self.wsreplay_log = self.tmp / "wsreplay.log"
        command = [str(self.wsreplay), str(a.recording), "--port", "0", "--listen", "127.0.0.1", "--once",
                   "--session", str(self.session.number), "--speed", repr(a.speed), "--web", str(a.client),
                   "--report", str(self.wsreplay_report)]
        for rule in a.allow:
            command += ["--allow", rule]
        if a.rules:
            command += ["--rules", str(a.rules)]
        self.wsreplay_started = time.monotonic()
        try:
            with open(self.wsreplay_log, "wb") as log:
                proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        except OSError as e:
            raise EnvironmentProblem(f"cannot start {self.wsreplay}: {e}") from e
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = re.search(r"listening on \S*:(\d+)", self.wsreplay_log.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                return proc
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise EnvironmentProblem(f"wsreplay did not say which port it listens on within 20 s:\n{self.log_text()}")
        raise EnvironmentProblem(f"wsreplay exited {proc.returncode} before listening:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.wsreplay_log.read_text(errors="replace").strip()

    def page_url(self) -> str:
        page, _, query = self.args.page.lstrip("/").partition("?")
        params = [p for p in query.split("&") if p]
        names = {p.split("=", 1)[0] for p in params}
        for name, value in (("host", "127.0.0.1"), ("port", str(self.port)), ("autoconnect", "1"),
                            ("encrypt", "0")):
            if name not in names:
                params.append(f"{name}={value}")
        return f"http://127.0.0.1:{self.port}/{page}?{'&'.join(params)}"

    def drive(self, wsreplay: subprocess.Popen) -> None:
        s, b = self.session, self.result.browser
        driver = browser.start(self.chromium, self.chromedriver, self.tmp / "profile", self.tmp / "chromedriver.log",
                               s.width, s.height)
        try:
            b["chromium"] = driver.capabilities.get("browserVersion")
            b["url"] = self.page_url()
            driver.get(b["url"])
            opened = browser.wait_connected(driver, s.width, s.height, CONNECT_TIMEOUT)
            b["connected"] = opened is not None
            keys, pointers = s.key_inputs, s.pointer_inputs
            b["key_events"] = {"recorded": len(keys), "enacted": 0}
            b["pointer_events"] = {"recorded": len(pointers), "enacted": 0}
            b["not_reenactable"] = []
            if opened is None:
                self.canvas = None
                self.console = browser.console(driver)
                return
            driver.execute_script("window.__wsreplayBrowser.canvas.focus();")
            enacting = time.monotonic()
            outcome = Enactor(driver, opened, self.args.speed).run(s.inputs)
            self.input_seconds = time.monotonic() - enacting
            b["key_events"]["enacted"] = outcome.keys_enacted
            b["pointer_events"]["enacted"] = outcome.pointers_enacted
            b["not_reenactable"] = outcome.not_reenactable
            late = sorted(outcome.lateness)
            b["input_lateness_millis"] = {"batches": len(late),
                                          "p50": round(late[len(late) // 2] * 1000, 3) if late else 0,
                                          "max": round(late[-1] * 1000, 3) if late else 0}
            self.canvas = self.final_canvas(driver, wsreplay, opened)
            self.console = browser.console(driver)
        finally:
            try:
                driver.quit()
            except Exception:  # noqa: BLE001 - the browser may be gone already
                pass

    def final_canvas(self, driver, wsreplay: subprocess.Popen, opened: float) -> bytes | None:
        """The canvas at the end of the session.

        - The recorded client closed: at the recorded close time, and once every recorded target message
          has arrived (a late client makes wsreplay's schedule late too), read it, then leave the page (the
          client closes, as the user did).
        - The recording does not say (legacy): once every target message has arrived, or the server closed
          (wsreplay closes after the last frame, or holds the session open for the client to close), read
          it, then leave the page if the session is still open.
        - The target (or the proxy) closed: once wsreplay has closed the session, from the kept canvas."""
        s, speed, b = self.session, self.args.speed, self.result.browser
        b["target_messages"] = {"recorded": s.target_messages}

        def due(time_us: int) -> float:
            return opened + time_us / 1e6 / speed

        def wait_until(done, deadline: float) -> bool:
            """Polls the page until done(state), the session closed or wsreplay exited; True if it waited."""
            waited = False
            while (st := browser.state(driver, s.width, s.height)) and not done(st):
                if st["closed"] or wsreplay.poll() is not None or time.time() > deadline:
                    break
                waited = True
                time.sleep(0.05)
            return waited

        all_received = lambda st: st["received"] >= s.target_messages  # noqa: E731
        if s.closed_by == "client" and s.close_time_us is not None:
            time.sleep(max(0.0, due(s.close_time_us) - time.time()))
            if wait_until(all_received, time.time() + WSREPLAY_WAIT_TIMEOUT):
                time.sleep(SETTLE_SECONDS)
        elif s.closed_by is None:
            wait_until(all_received, max(time.time(), due(s.last_time_us)) + WSREPLAY_WAIT_TIMEOUT)
            time.sleep(SETTLE_SECONDS)
        else:
            wait_until(lambda st: False, due(s.close_time_us or s.last_time_us) + WSREPLAY_WAIT_TIMEOUT + 10)
            time.sleep(SETTLE_SECONDS)
        canvas = browser.canvas_png(driver)
        st = browser.state(driver, s.width, s.height)
        b["target_messages"]["received"] = st["received"] if st else None
        if st and not st["closed"]:
            driver.get("about:blank")
        return canvas

    # -- the verdict --------------------------------------------------------------------------
    def conclude(self, wsreplay: subprocess.Popen) -> None:
        r, b = self.result, self.result.browser
        code = wsreplay.returncode
        log = self.log_text()
        summary = [line for line in log.splitlines() if line and not LOG_LINE.match(line)]
        for line in summary:
            print(line, file=sys.stderr)
        if self.wsreplay_report.is_file():
            r.wsreplay_report = json.loads(self.wsreplay_report.read_text())
        b["wsreplay_exit_code"] = code
        r.cases.append(self.replay_case(code, summary))
        r.cases[-1].seconds = self.wsreplay_seconds
        r.cases.append(self.input_case())
        r.cases[-1].seconds = getattr(self, "input_seconds", 0.0)
        comparing = time.monotonic()
        r.cases.append(self.canvas_case())
        r.cases[-1].seconds = time.monotonic() - comparing
        if code == 3:
            r.exit_code = 3
        elif code not in (0, 1) or any(c.outcome == "error" for c in r.cases):
            r.exit_code = 2
        elif code == 1 or any(c.outcome == "failure" for c in r.cases):
            r.exit_code = 1
        if not b.get("connected"):
            r.summary.append("the client never connected (its WebSocket did not open or its canvas never got "
                             f"the recorded {self.session.width}x{self.session.height} size within "
                             f"{CONNECT_TIMEOUT:.0f} s); browser console:\n  " + "\n  ".join(self.console or ["(empty)"]))

    def replay_case(self, code: int, summary: list[str]) -> junit.Case:
        report = self.result.wsreplay_report or {}
        details = "\n".join(summary)
        if code == 0:
            return junit.Case("replay")
        if code == 1:
            divergences = report.get("divergences") or []
            first = divergences[0].get("message", "") if divergences else "see the details"
            return junit.Case("replay", outcome="failure", details=details,
                              message=f"{len(divergences)} divergence(s); first: {first}")
        if code == 3:
            damage = "; ".join(report.get("damages") or []) or "see the details"
            return junit.Case("replay", outcome="error", details=details,
                              message=f"the recording is damaged (wsreplay exit 3): {damage}")
        return junit.Case("replay", outcome="error", details=details, message=f"wsreplay exited {code}")

    def input_case(self) -> junit.Case:
        b = self.result.browser
        refused = b.get("not_reenactable") or []
        if not b.get("connected"):
            return junit.Case("input", outcome="failure", message="the client never connected: no input re-enacted")
        if refused:
            lines = [f"{e['time_us'] / 1e6:.6f} s {e['event']}: {e['reason']}" for e in refused]
            self.result.summary.append(f"{len(refused)} recorded input event(s) could not be re-enacted:\n  "
                                       + "\n  ".join(lines))
            return junit.Case("input", outcome="failure", details="\n".join(lines),
                              message=f"{len(refused)} recorded input event(s) could not be re-enacted")
        k, p = b["key_events"], b["pointer_events"]
        self.result.summary.append(f"re-enacted {k['enacted']} of {k['recorded']} key events and "
                                   f"{p['enacted']} of {p['recorded']} pointer events")
        return junit.Case("input")

    def canvas_case(self) -> junit.Case:
        a, b = self.args, self.result.browser
        canvas = getattr(self, "canvas", None)
        info: dict = {"saved": None, "reference": str(a.reference) if a.reference else None}
        b["canvas"] = info
        if canvas is None:
            self.result.summary.append("no canvas to read: the client never showed the framebuffer")
            return junit.Case("canvas", outcome="failure" if a.reference else "skipped",
                              message="no canvas: the client never showed the framebuffer")
        if a.canvas:
            a.canvas.write_bytes(canvas)
            info["saved"] = str(a.canvas)
        if not a.reference:
            return junit.Case("canvas", outcome="skipped", message="no --reference given")
        try:
            reference = a.reference.read_bytes()
            result = compare(canvas, reference)
        except (OSError, ValueError) as e:
            return junit.Case("canvas", outcome="error", message=f"cannot compare with {a.reference}: {e}")
        info.update(differing_pixels=result.differing, total_pixels=result.total,
                    channel_tolerance=CHANNEL_TOLERANCE, size_differs=result.size_differs)
        if result.differing == 0:
            self.result.summary.append(f"canvas equals {a.reference}")
            return junit.Case("canvas")
        message = f"the canvas differs from {a.reference}: {result.differing} of {result.total} pixels"
        if result.size_differs:
            message += " (the sizes differ)"
        if result.diff_png is not None:
            base = a.canvas if a.canvas else a.reference
            diff = base.with_name(base.stem + ".diff.png")
            diff.write_bytes(result.diff_png)
            info["diff_image"] = str(diff)
            message += f"; diff image {diff}"
        self.result.summary.append(message)
        return junit.Case("canvas", outcome="failure", message=message)
