"""`scripts/bench-compression` checks what it measures: the client inflates every message and compares
the application bytes with what the target sent (length and CRC-32), so a figure never comes from a
transfer that lost or changed bytes. Figures are not checked here (no timed tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import pytest
from vncdesk import REPO

BENCH = REPO / "Benchmarks" / "compression_bench.py"


def test_a_short_run_through_ours_with_and_without_compression(proxy_bin):
    run = subprocess.run(
        [sys.executable, str(BENCH), "--skip-vnc", "--skip-paint", "--megabytes", "8", "--repeat", "1",
         "--only", "ours,off"],
        env={**os.environ, "WEBSOCKIFY_BIN": str(proxy_bin)}, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rows = {tuple(line.split()[:2]): line.split() for line in run.stdout.splitlines()
            if line.startswith("random ")}
    # Random data: offered and agreed with compression on (the "deflate" column), sent as it is.
    assert rows[("random", "ours")][-1] == "yes" and rows[("random", "off")][-1] == "no", run.stdout
    assert float(rows[("random", "ours")][3]) == pytest.approx(1.0, abs=0.01), run.stdout


def test_bytes_that_differ_from_what_the_target_sent_are_caught():
    sys.path.insert(0, str(BENCH.parent))
    import compression_bench as bench

    stream, total = os.urandom(300_000), 1 << 20  # repeated 3.5 times: the cut is checked too
    target = bench.StreamTarget()
    target.stream, target.total = stream, total
    try:
        raw = types.SimpleNamespace(ws=False, port=target.port)
        app, wire, _, _, crc = bench.receive_all(raw, total)
        bench.check_arrived("as sent", stream, total, app, crc)
        altered = bytearray(stream)
        altered[123_456] ^= 1
        with pytest.raises(bench.pb.BenchError, match="differ from what the target sent"):
            bench.check_arrived("one bit changed", bytes(altered), total, app, crc)
        with pytest.raises(bench.pb.BenchError, match="of 1048576 bytes arrived"):
            bench.check_arrived("cut short", stream, total, app - 1, crc)
    finally:
        target.sock.close()
