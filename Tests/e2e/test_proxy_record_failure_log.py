"""--record when every block fails to be written: the log is not flooded.

websockify runs under a 1 MiB file-size limit (RLIMIT_FSIZE; it ignores SIGXFSZ, so writes past it
fail with EFBIG like a full disk) while one session relays 48 MiB: every block the recorder seals
after the first MiB is dropped. The log names the first failure at once, and the ones after it
only in a summary (at most one a minute, and one when the recording closes), not one line each.
"""

import os
import resource
import signal

from proxyutil import Proxy, TcpTarget, wait_until
from test_proxy_record_diskfull import relay_session, streamer, expected_digest

MIB = 1 << 20


def test_a_recording_that_cannot_write_logs_a_summary_not_a_line_per_block(tmp_path):
    target = TcpTarget(streamer(48))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (MIB, hard))  # inherited by websockify
    try:
        proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={tmp_path / 'limited'}"])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    try:
        received, digest = relay_session(proxy, target, 48)
        assert received == 48 * MIB
        assert digest == expected_digest(target.port, 48), "proxying goes on intact"
    finally:
        proxy.proc.send_signal(signal.SIGTERM)
        proxy.proc.wait(timeout=60)
        target.close()
    log = proxy.log_text()
    lines = [line for line in log.splitlines() if "recording: " in line and "File too large" in line]
    firsts = [line for line in lines if "more write(s) failed" not in line]
    summaries = [line for line in lines if "more write(s) failed" in line]
    assert len(firsts) == 1, log
    # The run takes seconds: the failures after the first are only in the summary at close.
    assert len(summaries) == 1, log
    assert proxy.proc.returncode == 0, log


def test_space_coming_back_is_logged_once_and_recording_goes_on(tmp_path):
    """A real tmpfs that another file fills: the recording fails while it is full, and once that file
    is removed the next block reaches the disk and the log says so, once, counting the failures."""
    from test_proxy_record_diskfull import inspect, mount_tmpfs, unmount

    where = mount_tmpfs(40)
    proxy = None
    target = TcpTarget(streamer(48))
    try:
        filler = f"{where}/filler"
        with open(filler, "wb") as f:
            f.write(b"\0" * (24 * MIB))
        path = f"{where}/back.rec"
        proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={path}"])
        received, digest = relay_session(proxy, target, 48)
        assert received == 48 * MIB and digest == expected_digest(target.port, 48)
        wait_until(lambda: "No space left on device" in proxy.log_text(), what="a failed write in the log")
        # A gap block is small and may still fit in what the filler left, so a "writing again" can
        # already be there; what matters is that the notes alternate and that the outage, if it is
        # still on, ends once the filler goes.
        before = outage_notes(proxy.log_text())
        assert before.startswith("E"), (before, proxy.log_text())
        size_before = os.path.getsize(path)
        os.unlink(filler)
        received, _ = relay_session(proxy, target, 48)  # space for this session's blocks now
        assert received == 48 * MIB
        if before.endswith("E"):
            wait_until(lambda: "W" in outage_notes(proxy.log_text())[len(before):], what="the 'writing again' note")
        proxy.proc.send_signal(signal.SIGTERM)
        proxy.proc.wait(timeout=60)
        log = proxy.log_text()
        # The second session refills the disk, and a small block may still fit now and then: each
        # outage is named once when it starts ("E") and once when writes succeed again ("W"), so the
        # notes run E W E W ..., not one note per dropped block.
        sequence = outage_notes(log)
        assert sequence.startswith(before) and "W" in sequence, (sequence, log)
        # One line per block would give dozens of E's here (every MiB that did not fit). Two E's in a row
        # were seen once in a loaded CI run ('EWEE', cause not found; the reporter re-names an outage
        # after a quiet minute, and its exact rules are RecordingFailureReporterTests'), so the bound
        # allows one extra E: the outages this test makes, plus one.
        assert "WW" not in sequence, (sequence, log)
        assert sequence.count("E") <= sequence.count("W") + 2, (sequence, log)
        assert os.path.getsize(path) >= size_before + 8 * MIB, "the second session's blocks reached the disk"
        assert proxy.proc.returncode == 0, log
        stats = inspect("stats", path)
        assert stats.returncode == 3 and "gaps:" in stats.stdout, stats.stdout + stats.stderr
    finally:
        if proxy and proxy.proc.poll() is None:
            proxy.proc.send_signal(signal.SIGTERM)
            proxy.proc.wait(timeout=60)
        target.close()
        unmount(where)


def outage_notes(log):
    """'E' for each line naming an outage's first failed write, 'W' for each 'writing again'. The line
    saying the file was closed but its last writes failed ('recording: closed FILE, but …', when the disk
    is still full at shutdown) is about the close, not a new outage: it is not counted."""
    notes = []
    for line in log.splitlines():
        if "recording: writing again after " in line:
            notes.append("W")
        elif ("recording: " in line and "No space left on device" in line and "more write(s) failed" not in line
              and "recording: closed " not in line):
            notes.append("E")
    return "".join(notes)
