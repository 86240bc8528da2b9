"""How `scripts/bench-proxy` judges what recording costs (issue 18 §3), without running a proxy.

Benchmarks/proxy_bench.py measures, per round, the proxy's CPU with recording off and on and the
floor (`RecordBench floor`: the same bytes in the same blocks with the same CRC, nothing else). These
tests feed it made-up figures and check the arithmetic and the verdict: recording passes when it
keeps >= 0.7x of the off throughput OR its extra CPU per GB is within 1.2x of the floor of the same
round; and that the floor is read from RecordBench's output with the payload's options. Figures of a
real run are not checked here (no timed tests): bench-proxy prints them.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys

import pytest
from vncdesk import REPO

sys.path.insert(0, str(REPO / "Benchmarks"))
import proxy_bench  # noqa: E402

MEGABYTES = 256
GB = MEGABYTES * proxy_bench.MiB / 1e9


def args(repeat=3):
    return argparse.Namespace(record_megabytes=MEGABYTES, repeat=repeat, skip_idle=True, skip_record=False,
                              max_sessions=9000, sessions=2000)


def rounds(off_mbps, on_mbps, off_per_gb, on_per_gb, floor_per_gb):
    """A `rec` dict as the recording part fills it: best MB/s, and CPU seconds and floors per round."""
    rec = {
        "ours-off": {"random": off_mbps, "random_cpu": {r: v * GB for r, v in enumerate(off_per_gb)}},
        "ours-rec": {"random": on_mbps, "random_cpu": {r: v * GB for r, v in enumerate(on_per_gb)}},
    }
    if floor_per_gb is not None:
        rec["floor"] = {"random": dict(enumerate(floor_per_gb))}
    return rec


def verdict(rec):
    lines = []
    proxy_bench.report(args(), ["ours"], {"ours": {}}, rec, 512 * proxy_bench.MiB, lines.append, ["free"])
    (row,) = [line for line in lines if "recording on >= 0.7x off" in line]
    return row, lines


def test_extra_cpu_is_on_minus_off_of_the_same_round_against_that_rounds_floor():
    # Round 1 is slow all over (a busy moment): pairing by round keeps it from skewing the ratio.
    rec = rounds(800, 400, [0.30, 0.60, 0.32], [0.70, 1.40, 0.68], [0.30, 0.70, 0.32])
    lines = []
    ratios = proxy_bench.recording_cost(args(), rec, lines.append)
    extras = [0.40, 0.80, 0.36]
    expected = sorted(e / f for e, f in zip(extras, [0.30, 0.70, 0.32]))[1]
    assert ratios["random"] == pytest.approx(expected)
    (row,) = [line for line in lines if line.lstrip().startswith("random")]
    assert "extra 0.400 (0.360-0.800)" in row
    assert "floor 0.320 (0.300-0.700)" in row
    assert "extra/floor %.3f" % expected in row


def test_the_extra_is_split_into_the_recorder_thread_and_the_rest():
    rec = rounds(800, 400, [0.30] * 3, [0.70, 0.72, 0.68], [0.25] * 3)
    rec["ours-rec"]["random_writer"] = {r: v * GB for r, v in enumerate([0.30, 0.33, 0.30])}
    lines = []
    proxy_bench.recording_cost(args(), rec, lines.append)
    (row,) = [line for line in lines if "recorder thread" in line]
    assert "recorder thread 0.300 (0.300-0.330)" in row
    assert "the rest 0.090 (0.080-0.100)" in row   # on - thread - off: 0.10, 0.09, 0.08
    assert "recorder thread/floor 1.200 (1.200-1.320)" in row


def test_a_baseline_build_gets_its_own_rows_against_the_same_floor_but_not_the_verdict():
    # --baseline BIN ("before"): the same rounds, so two builds of the recorder compare in one run.
    rec = rounds(800, 400, [0.30] * 3, [0.70] * 3, [0.25] * 3)
    rec["before-off"] = {"random_cpu": {r: 0.30 * GB for r in range(3)}}
    rec["before-rec"] = {"random_cpu": {r: v * GB for r, v in enumerate([0.80, 0.85, 0.90])},
                         "random_writer": {r: 0.40 * GB for r in range(3)}}
    lines = []
    ratios = proxy_bench.recording_cost(args(), rec, lines.append)
    assert ratios["random"] == pytest.approx(0.40 / 0.25)   # ours only
    (row,) = [line for line in lines if line.lstrip().startswith("before random")]
    assert "extra 0.550 (0.500-0.600)" in row
    assert "extra/floor 2.200 (2.000-2.400)" in row
    (ours,) = [line for line in lines if line.lstrip().startswith("random")]
    assert "extra/floor 1.600" in ours
    assert any("recorder thread 0.400" in line for line in lines)


def test_passes_on_the_floor_when_throughput_falls_short():
    row, _ = verdict(rounds(800, 400, [0.30] * 3, [0.63] * 3, [0.30] * 3))   # 0.5x; extra 0.33 = 1.1x floor
    assert "0.50x; 1.10x floor" in row
    assert row.rstrip().endswith("PASS")


def test_passes_on_throughput_when_the_floor_is_far_below():
    row, _ = verdict(rounds(800, 600, [0.30] * 3, [0.90] * 3, [0.30] * 3))   # 0.75x; 2x floor
    assert row.rstrip().endswith("PASS")


def test_misses_when_both_fall_short():
    row, _ = verdict(rounds(800, 400, [0.30] * 3, [0.75] * 3, [0.30] * 3))   # 0.5x; 1.5x floor
    assert "1.50x floor" in row
    assert row.rstrip().endswith("MISS")


def test_without_a_floor_only_throughput_judges_and_the_report_says_why():
    row, lines = verdict(rounds(800, 400, [0.30] * 3, [0.50] * 3, None))
    assert "0.50x; - floor" in row
    assert row.rstrip().endswith("MISS")
    assert any("floor n/a" in line for line in lines)


@pytest.fixture
def fake_record_bench(tmp_path, monkeypatch):
    """A stand-in for RecordBench that prints a floor line and notes its arguments."""
    argv_file = tmp_path / "argv"
    tool = tmp_path / "RecordBench"
    tool.write_text("#!/bin/sh\necho \"$@\" > %s\n"
                    "echo 'floor random vectored none 1048576: 256 blocks, file 268447744 bytes, "
                    "cpu_s_per_gb=0.287 mb_per_s=1500'\n" % argv_file)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(proxy_bench, "RECORD_BENCH_BIN", str(tool))
    return argv_file


def test_floor_is_read_from_record_bench_with_the_payloads_options(fake_record_bench, tmp_path):
    assert proxy_bench.floor_cpu(str(tmp_path), 64, "random") == pytest.approx(0.287)
    argv = fake_record_bench.read_text().split()
    assert argv[:5] == ["floor", "--megabytes", "64", "--dir", str(tmp_path)]
    assert "--payload" in argv and argv[argv.index("--payload") + 1] == "random"
    assert "--compression" not in argv   # random payloads are stored, as the recorder stores them
    proxy_bench.floor_cpu(str(tmp_path), 64, "zero")
    argv = fake_record_bench.read_text().split()
    assert argv[argv.index("--payload") + 1] == "zeros"
    assert argv[argv.index("--compression") + 1] == "zlib"   # the recorder deflates these at level 1


def test_no_floor_without_record_bench_or_when_it_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(proxy_bench, "RECORD_BENCH_BIN", None)
    assert proxy_bench.floor_cpu(str(tmp_path), 64, "random") is None
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho 'floor: bad option'\nexit 2\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(proxy_bench, "RECORD_BENCH_BIN", str(broken))
    assert proxy_bench.floor_cpu(str(tmp_path), 64, "random") is None
    assert not os.path.exists(tmp_path / "argv")
