"""The Autobahn|Testsuite's permessage-deflate cases (sections 12 and 13) against our extension.

Autobahn's fuzzingclient needs an echo server: each message back whole, with its type. A relay to a
TCP echo keeps neither (a TCP target has no message types, and each target read becomes a message),
so the suite runs against Benchmarks' DeflateEcho, an echo server made of the proxy's own handshake
negotiation (PerMessageDeflate), frame parser (ClientFrameStateMachine: unmasking, inflation, UTF-8)
and deflater (PerMessageDeflater, with its adaptive policy). Every case must get Autobahn's own OK
(NON-STRICT and INFORMATIONAL count as passing in its reports) and a clean close; UNIMPLEMENTED (the
extension not agreed) or FAILED fails the test, with Autobahn's reason for each case.

The cases: sections 12 (five payloads, default offer) and 13 (seven offers: no context takeover and
window bits both ways) with messages of 16 B to 32 KiB whole, and of 8 and 16 KiB in 256-byte
fragments: 120 of the 216. The other 96 (64 and 128 KiB messages, larger fragments) passed by hand on
2026-12-06 (all 216 OK) and take about 13 minutes more here; see docs/proxy.md "Compression".
wstest comes from scripts/install-deps ($AUTOBAHN_DIR, Python 2.7).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from vncdesk import REPO

AUTOBAHN_DIR = Path(os.environ.get("AUTOBAHN_DIR", "/opt/autobahntestsuite-py2"))
# Case ids written out: wstest matches a pattern with '*' as a prefix ("12.*.1" takes 12.1.10 too).
SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 11, 12)
CASES = [f"12.{group}.{n}" for group in range(1, 6) for n in SIZES] + [
    f"13.{group}.{n}" for group in range(1, 8) for n in SIZES]
PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}


def deflate_echo() -> str:
    """$DEFLATE_ECHO_BIN (scripts/test builds it), or Benchmarks' debug build of it."""
    given = os.environ.get("DEFLATE_ECHO_BIN") or str(
        REPO / "Benchmarks" / ".build" / "x86_64-unknown-linux-gnu" / "debug" / "DeflateEcho")
    assert os.access(given, os.X_OK), (
        f"no DeflateEcho at {given}: build it with `cd Benchmarks && swift build --product DeflateEcho`")
    return given


def test_autobahn_permessage_deflate_cases_pass_against_our_extension(tmp_path):
    python2 = AUTOBAHN_DIR / "python2"
    assert python2.exists(), f"{python2} missing: scripts/install-deps installs the Autobahn|Testsuite"
    echo = subprocess.Popen([deflate_echo(), "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = echo.stdout.readline()
        assert line.startswith("listening on "), f"DeflateEcho did not start: {line!r}"
        port = int(line.split()[-1])
        spec = {"outdir": str(tmp_path / "report"), "cases": CASES, "exclude-cases": [],
                "exclude-agent-cases": {}, "servers": [{"agent": "DeflateEcho", "url": f"ws://127.0.0.1:{port}"}]}
        (tmp_path / "spec.json").write_text(json.dumps(spec))
        left = signal.alarm(0)  # the suite takes minutes: its own bound instead of the per-test one
        try:
            run = subprocess.run(
                [str(python2), str(AUTOBAHN_DIR / "lib" / "bin" / "wstest"), "-m", "fuzzingclient", "-s", "spec.json"],
                cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(AUTOBAHN_DIR / "lib")},
                capture_output=True, text=True, timeout=1200)
        finally:
            signal.alarm(left or 120)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert echo.poll() is None, "DeflateEcho exited during the suite"
    finally:
        echo.terminate()
        echo.wait(timeout=10)
    cases = json.loads((tmp_path / "report" / "index.json").read_text())["DeflateEcho"]
    assert len(cases) == 120, sorted(cases)
    bad = {}
    for case, verdict in cases.items():
        if verdict["behavior"] not in PASSING or verdict["behaviorClose"] not in PASSING:
            detail = json.loads((tmp_path / "report" / verdict["reportfile"]).read_text())
            bad[case] = (verdict["behavior"], verdict["behaviorClose"], detail.get("result"))
    assert not bad, bad
