"""The recording tools under a file-size limit (RLIMIT_FSIZE, `ulimit -f`).

A write past the limit raises SIGXFSZ, whose default action kills the process (and dumps core).
The tools that write recordings ignore it, so the write fails with EFBIG instead: the tool says
which file it could not write and exits with an error status, and is never killed by the signal.
"""

import hashlib
import os
import shutil
import signal
import subprocess

import pytest

from recwriter import close_record, frame_record, open_record, write_recording
from test_proxy_record import inspect_bin

LIMIT = 256 * 1024  # bytes; the input recording is about 1 MiB of bytes that do not compress
START = 1_764_000_000_000_000


def prlimit():
    path = shutil.which("prlimit")
    if path is None:
        pytest.fail("prlimit (util-linux) is needed to set RLIMIT_FSIZE", pytrace=False)
    return path


def big_recording(path):
    """One session of 16 frames of 64 KiB of noise: about 1 MiB, four times the limit."""
    records = [open_record(1, START)]
    for i in range(16):
        payload = hashlib.shake_256(f"fsize-{i}".encode()).digest(64 * 1024)
        records.append(frame_record(1, 1000 * (i + 1), payload, from_target=i % 2 == 0))
    records.append(close_record(1, 20_000))
    write_recording(path, records)
    assert os.path.getsize(path) > 4 * LIMIT - 4096


def limited(*args):
    """wsrecord-inspect ARGS with RLIMIT_FSIZE at LIMIT bytes (soft and hard)."""
    return subprocess.run([prlimit(), f"--fsize={LIMIT}", inspect_bin(), *args],
                          capture_output=True, text=True, timeout=120)


def expect_reported_failure(result, output):
    assert result.returncode >= 0, \
        f"killed by signal {signal.Signals(-result.returncode).name}; stderr: {result.stderr!r}"
    assert result.returncode != 128 + signal.SIGXFSZ, result.stderr
    assert result.returncode != 0, "a write past the file-size limit must fail: " + result.stdout
    assert output in result.stderr, f"the error names the output file {output}: {result.stderr!r}"
    assert "File too large" in result.stderr, result.stderr


def corrupt_copy(source, path):
    """`source` with one payload byte flipped: its one records block (all of it) is corrupt."""
    data = bytearray(open(source, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(data)


@pytest.mark.parametrize("command", [
    "repair", "repair --keep-corrupt", "convert", "convert --to websockify", "extract", "slice", "cat",
])
def test_writing_past_the_file_size_limit_is_an_error_naming_the_file(tmp_path, command):
    source = str(tmp_path / "big.rec")
    big_recording(source)
    output = str(tmp_path / ("out.js" if "websockify" in command else "out.rec"))
    if command == "repair --keep-corrupt":
        corrupt = str(tmp_path / "corrupt.rec")
        corrupt_copy(source, corrupt)
        # The corrupt block is kept byte for byte (appendVerbatimBlock): 1 MiB in one write.
        args = ["repair", "--keep-corrupt", corrupt, "-o", output]
    else:
        args = {
            "repair": ["repair", source, "-o", output],
            "convert": ["convert", source, output],
            "convert --to websockify": ["convert", source, output, "--to", "websockify"],
            "extract": ["extract", source, "--session", "1", "-o", output],
            "slice": ["slice", source, "-o", output],
            "cat": ["cat", source, source, "-o", output],
        }[command]
    result = limited(*args)
    expect_reported_failure(result, output)
