"""Recordings a site can keep (issue 17 §3), through the real websockify with scripted clients:

- `--record-rotate SIZE|DURATION` while sessions stay open: every closed file verifies with its index,
  a session that spans files is in each of them under the same session id, and `cat`/`stats` join it;
- `--record-dir DIR --record-per-session`: one file per session, named by time, token and id;
- `--record-on-close CMD`: the command gets each closed, verified file, at most N at once; a failing
  command is logged with its status and the file stays;
- `cat --by-time` merges two proxies' recordings into one wall-clock timeline;
- failures: an unusable directory at start-up, a full disk during rotation (tmpfs; needs root), a
  crash right after a rotation.
"""
from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import time

import pytest

from proxyutil import Proxy, RawClient, TcpTarget, wait_until, websockify_bin, ws_expect
from test_proxy_record import inspect_bin
from test_proxy_record_diskfull import mount_tmpfs

NAME = re.compile(r"^(?P<base>.+)-(?P<stamp>\d{8}T\d{6})(?:_(?P<n>\d+))?\.rec$")


def rec_files(directory) -> list[str]:
    """The .rec files in `directory`, in the order their names sort (the order they were started)."""
    return sorted(os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".rec"))


def open_client(proxy, path="/"):
    return RawClient(proxy.port, protocols=["binary"], path=path)


def exchange(client, payload: bytes) -> None:
    client.send_frame(2, payload)
    ws_expect(client, payload, "the echo")


def close_client(client) -> None:
    client.send_frame(8, struct.pack("!H", 1000))
    client.read_until_close()
    client.close()


def inspect(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([inspect_bin(), *args], capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, f"wsrecord-inspect {' '.join(args)}: {result.returncode}\n{result.stderr}"
    return result


def dump(path) -> list[dict]:
    result = inspect("dump", "--json", "--payload", path, check=False)
    assert result.returncode in (0, 3), result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def session_ids(path) -> set[str]:
    return {r["session_id"] for r in dump(path) if r["kind"] == "open"}


def assert_verifies_with_index(path) -> None:
    result = inspect("verify", path, check=False)
    assert result.returncode == 0, f"{path}: verify exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "index: present" in result.stdout, result.stdout


def stop_and_log(proxy) -> str:
    """SIGTERM, wait for the exit (the recording closed, on-close commands done), the log text."""
    proxy.proc.send_signal(signal.SIGTERM)
    proxy.proc.wait(timeout=60)
    text = proxy.log_text()
    proxy.stop()
    return text


def client_bytes(records, session) -> bytes:
    import base64
    return b"".join(base64.b64decode(r["payload_b64"]) for r in records
                    if r["session"] == session and r["kind"] != "open" and r.get("from") == "client"
                    and r.get("opcode") in ("binary", "text", "continuation"))


def test_rotation_by_size_while_sessions_stay_open(tmp_path):
    target = TcpTarget()
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={tmp_path / 'site'}", "--record-rotate=64KiB"])
    sent = {"a": b"", "b": b""}
    try:
        a = open_client(proxy)
        b = None
        # Incompressible bytes over about three seconds: blocks are sealed at least once a second,
        # so the 64 KiB rotation falls while both sessions are open.
        for round in range(12):
            chunk = os.urandom(12_000)
            exchange(a, chunk)
            sent["a"] += chunk
            if round == 3:
                b = open_client(proxy, "/?token=second")
            if b is not None:
                chunk = os.urandom(3_000)
                exchange(b, chunk)
                sent["b"] += chunk
            time.sleep(0.25)
        wait_until(lambda: len(rec_files(tmp_path)) >= 3, timeout=20, what="two rotations")
        close_client(a)
        close_client(b)
    finally:
        log = stop_and_log(proxy)
        target.close()
    assert proxy.proc.returncode == 0, log
    files = rec_files(tmp_path)
    assert len(files) >= 3, files
    for path in files:
        match = NAME.match(os.path.basename(path))
        assert match and match["base"] == "site", path
        assert_verifies_with_index(path)
        assert f"recording: closed {path}" in log, log
    # Session a was open all along: the same id in every file; b from the file it opened in on.
    ids = [session_ids(path) for path in files]
    first_records = dump(files[0])
    a_id = next(r["session_id"] for r in first_records if r["kind"] == "open")
    assert all(a_id in found for found in ids), ids
    b_ids = set().union(*ids) - {a_id}
    assert len(b_ids) == 1, ids
    # Each file after the first starts by naming the one before; each before the last names the next.
    for earlier, later in zip(files, files[1:]):
        assert dump(earlier)[-1]["text"] == f"recording continues in {os.path.basename(later)}"
        assert dump(later)[0]["text"] == f"recording continued from {os.path.basename(earlier)}"

    # cat joins each session into one: its bytes whole, in order, one open and one close.
    joined = str(tmp_path / "joined.out")
    inspect("cat", *files, "-o", joined)
    assert_verifies_with_index(joined)
    records = dump(joined)
    opens = [r for r in records if r["kind"] == "open"]
    assert [r["session_id"] for r in opens] == [a_id, b_ids.pop()]
    # (Both clients close at once: their close records may come in either order.)
    assert sorted(r["session"] for r in records if "closed_by" in r) == [1, 2]
    assert client_bytes(records, 1) == sent["a"]
    assert client_bytes(records, 2) == sent["b"]
    # stats of the rotated files counts each session once, with all its bytes.
    stats = json.loads(inspect("stats", "--json", *files).stdout)
    # (+2: the payload of the client's close frame, code 1000, counts too.)
    assert [s["client_bytes"] for s in stats["sessions"]] == [len(sent["a"]) + 2, len(sent["b"]) + 2]
    assert [s["closed"] for s in stats["sessions"]] == [True, True]
    # The text says the block figures are per file, not that these files of ours are legacy ones.
    text = inspect("stats", *files).stdout
    assert f"blocks: not summed over {len(files)} files" in text and "legacy" not in text, text


def test_rotation_by_time_at_whole_intervals(tmp_path):
    target = TcpTarget()
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={tmp_path / 'timed.rec'}", "--record-rotate=2s"])
    try:
        client = open_client(proxy)
        deadline = time.monotonic() + 60
        # A frame every 0.2 s until three files exist (two boundaries passed while the session runs).
        while len(rec_files(tmp_path)) < 3:
            assert time.monotonic() < deadline, rec_files(tmp_path)
            exchange(client, b"tick %f" % time.time())
            time.sleep(0.2)
        exchange(client, b"last")
        close_client(client)
    finally:
        log = stop_and_log(proxy)
        target.close()
    files = rec_files(tmp_path)
    stamps = []
    for path in files:
        match = NAME.match(os.path.basename(path))
        assert match and match["base"] == "timed", path
        stamps.append(time.mktime(time.strptime(match["stamp"], "%Y%m%dT%H%M%S")))
        assert_verifies_with_index(path)
    # Files after the first start at the 2-second boundaries (named within a second after one).
    for earlier, later in zip(stamps[1:], stamps[2:]):
        assert 1 <= later - earlier <= 3, stamps
    ids = [session_ids(path) for path in files]
    assert all(found == ids[0] and len(found) == 1 for found in ids), ids
    stats = json.loads(inspect("stats", "--json", *files).stdout)
    assert len(stats["sessions"]) == 1 and stats["sessions"][0]["closed"], log


def test_per_session_files_and_on_close_commands_bounded(tmp_path):
    directory = tmp_path / "sessions"
    directory.mkdir()
    journal = tmp_path / "journal"
    # The command checks the file itself: verify must pass before anything else happens to it.
    command = (f'echo "start $(date +%s.%N) $WEBSOCKIFY_RECORD_STATUS $1" >> {journal}; '
               f'{inspect_bin()} verify "$1" > /dev/null; echo "verified $? $1" >> {journal}; '
               f'sleep 1; echo "end $(date +%s.%N) $1" >> {journal}')
    target = TcpTarget()
    proxy = Proxy([f"127.0.0.1:{target.port}"],
                  extra=[f"--record-dir={directory}", "--record-per-session", f"--record-on-close={command}",
                         "--record-on-close-jobs=2"])
    tokens = ["desk-1", "desk/2", "..", "user@example.org", None, "desk-1"]
    try:
        clients = []
        for i, token in enumerate(tokens):
            path = "/websockify" + (f"?token={token.replace('/', '%2F')}" if token else "")
            client = open_client(proxy, path)
            exchange(client, b"session %d" % i)
            clients.append(client)
        for client in clients:
            close_client(client)
        # Six files closed at once, two commands at a time, a second each: about three seconds.
        wait_until(lambda: journal.exists() and journal.read_text().count("end ") == len(tokens), timeout=60,
                   what="every on-close command to end")
    finally:
        log = stop_and_log(proxy)
        target.close()
    files = rec_files(directory)
    assert len(files) == len(tokens), files
    expected_parts = sorted(["desk-1", "desk%2F2", "%2E.", "user%40example.org", None, "desk-1"], key=str)
    found_parts = []
    for path in files:
        name = os.path.basename(path)
        records = dump(path)
        open_record = next(r for r in records if r["kind"] == "open")
        assert name.endswith(f"-{open_record['session_id']}.rec"), name
        stamp = name[:15]
        assert re.fullmatch(r"\d{8}T\d{6}", stamp), name
        middle = name[16:-len(f"-{open_record['session_id']}.rec")] or None
        found_parts.append(middle)
        assert {r["session"] for r in records} == {open_record["session"]}, "one session per file"
        assert_verifies_with_index(path)
    assert sorted(found_parts, key=str) == expected_parts
    lines = journal.read_text().splitlines()
    started = [line.split() for line in lines if line.startswith("start ")]
    assert sorted(parts[3] for parts in started) == files
    assert all(parts[2] == "ok" for parts in started), lines
    assert sorted(line.split()[2] for line in lines if line.startswith("verified ")) == files
    assert all(line.split()[1] == "0" for line in lines if line.startswith("verified ")), lines
    # At most two at once, and two did run together.
    events = sorted([(float(p[1]), 1) for p in started] +
                    [(float(line.split()[1]), -1) for line in lines if line.startswith("end ")])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 2, lines
    assert "record-on-close: done for" in log


def test_failing_on_close_command_is_logged_and_the_file_kept(tmp_path):
    target = TcpTarget()
    proxy = Proxy([f"127.0.0.1:{target.port}"],
                  extra=[f"--record={tmp_path / 'kept'}", "--record-on-close=echo uploading \"$1\" >&2; exit 3"])
    try:
        client = open_client(proxy)
        exchange(client, b"hello")
        close_client(client)
    finally:
        log = stop_and_log(proxy)
        target.close()
    path = str(tmp_path / "kept.rec")
    assert f"uploading {path}" in log
    assert re.search(rf"record-on-close: the command for {re.escape(path)} failed: exit status 3 .*the file is kept", log), log
    assert_verifies_with_index(path)


def test_cat_by_time_merges_two_proxies(tmp_path):
    target = TcpTarget()
    first = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={tmp_path / 'p1'}"])
    second = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={tmp_path / 'p2'}"])
    words = [b"one", b"two", b"three", b"four", b"five"]
    try:
        for i, word in enumerate(words):
            client = open_client(first if i % 2 == 0 else second)
            exchange(client, word)
            close_client(client)
            time.sleep(0.05)
    finally:
        stop_and_log(first)
        stop_and_log(second)
        target.close()
    p1, p2 = str(tmp_path / "p1.rec"), str(tmp_path / "p2.rec")
    merged = str(tmp_path / "merged.out")
    inspect("cat", "--by-time", p1, p2, "-o", merged)
    assert_verifies_with_index(merged)
    records = dump(merged)
    assert [client_bytes(records, n) for n in range(1, 6)] == words
    assert [r["session"] for r in records if r["kind"] == "open"] == [1, 2, 3, 4, 5]
    walls = [r["start_wall_us"] for r in records if r["kind"] == "open"]
    assert walls == sorted(walls)
    # Without --by-time the files follow each other, as before.
    appended = str(tmp_path / "appended.out")
    inspect("cat", p1, p2, "-o", appended)
    records = dump(appended)
    assert [client_bytes(records, n) for n in range(1, 6)] == [b"one", b"three", b"five", b"two", b"four"]


@pytest.mark.parametrize("extra, message", [
    (["--record-dir=/nonexistent-wsrec", "--record-per-session"], "cannot record into this directory"),
    (["--record=/nonexistent-wsrec/site", "--record-rotate=1h"], "cannot open"),
])
def test_unusable_place_is_an_error_at_start_up(extra, message):
    result = subprocess.run([websockify_bin(), *extra, "127.0.0.1:0", "127.0.0.1:9"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr and "/nonexistent-wsrec" in result.stderr, result.stderr


@pytest.mark.parametrize("extra, message", [
    (["--record=x", "--record-rotate=10"], "too small"),
    (["--record=x", "--record-rotate=5 minutes"], "unknown unit"),
    (["--record-rotate=1h"], "give --record=FILE"),
    (["--record-per-session"], "needs --record-dir"),
    (["--record-dir=/tmp"], "give both"),
    (["--record=x", "--record-dir=/tmp", "--record-per-session"], "not both"),
    (["--record-on-close=true"], "needs --record"),
    (["--record=x", "--record-on-close=true", "--record-on-close-jobs=0"], "takes 1 to 64"),
])
def test_option_mistakes_are_usage_errors(extra, message):
    result = subprocess.run([websockify_bin(), *extra, "127.0.0.1:0", "127.0.0.1:9"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr


def test_crash_right_after_rotation_leaves_both_files_readable(tmp_path):
    target = TcpTarget()
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={tmp_path / 'crash'}", "--record-rotate=64KiB"])
    try:
        client = open_client(proxy)
        deadline = time.monotonic() + 30
        while len(rec_files(tmp_path)) < 2:
            assert time.monotonic() < deadline
            exchange(client, os.urandom(16_000))
            time.sleep(0.1)
        # Right after the rotation, with a second's worth in the new file's open block at most.
        exchange(client, b"after the rotation")
        time.sleep(1.3)
        proxy.proc.kill()
        proxy.proc.wait()
    finally:
        proxy.stop()
        target.close()
    files = rec_files(tmp_path)
    assert len(files) >= 2
    for path in files[:-1]:
        assert_verifies_with_index(path)
    last = inspect("verify", files[-1], check=False)
    assert last.returncode in (0, 3), last.stdout
    assert "corrupt-block" not in last.stdout, last.stdout
    assert "index: present" not in last.stdout, "a killed writer leaves no index"
    # The session is found in both, and stats joins it.
    assert session_ids(files[0]) == session_ids(files[-1])
    stats = json.loads(inspect("stats", "--json", *files, check=False).stdout)
    assert len(stats["sessions"]) == 1


def fill(where) -> str:
    """Fills the file system at `where` with a file until it refuses more; returns its path."""
    filler = os.path.join(where, "filler")
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_disk_full_during_rotation(tmp_path):
    where = mount_tmpfs(4)
    target = TcpTarget()
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--record={where}/full", "--record-rotate=2s"])
    try:
        client = open_client(proxy)
        exchange(client, os.urandom(10_000))
        # Once the first block is in the file (space for the file's tail is reserved from then on).
        wait_until(lambda: os.path.getsize(rec_files(where)[0]) > 1000, what="the first block")
        filler = fill(where)
        # A boundary passes while the disk is full: the next file cannot be made, the old one goes on.
        # (Chunks bigger than the space the writer keeps in reserve, so that blocks are lost too.)
        wait_until(lambda: (exchange(client, os.urandom(50_000)) or True) and
                   "cannot start the next file, recording goes on in" in proxy.log_text(),
                   timeout=20, interval=0.2, what="the failed rotation to be logged")
        files_when_full = rec_files(where)
        # A block or two more lost while the disk stays full (blocks are sealed at least once a second).
        until = time.monotonic() + 1.5
        while time.monotonic() < until:
            exchange(client, os.urandom(50_000))
            time.sleep(0.1)
        os.unlink(filler)
        # Space again: the rotation is tried again (after 10 s) and succeeds.
        wait_until(lambda: (exchange(client, os.urandom(2_000)) or True) and len(rec_files(where)) > len(files_when_full),
                   timeout=30, interval=0.2, what="the next file once there is space")
        exchange(client, b"the end")
        close_client(client)
        log = stop_and_log(proxy)
        assert proxy.proc.returncode == 0, log
        files = rec_files(where)
        assert len(files) >= 2, files
        for path in files:
            assert os.path.getsize(path) > 0, f"an empty file was left: {path}"
            result = inspect("verify", path, check=False)
            # Intact with its index; the one written while the disk was full has a gap (exit 3 for
            # the GAP only, never damage).
            assert "index: present" in result.stdout, result.stdout
            assert "corrupt-block" not in result.stdout and "truncated" not in result.stdout, result.stdout
        assert any("GAP" in inspect("verify", path, check=False).stdout for path in files_when_full)
        assert all(len(session_ids(path)) == 1 for path in files), "\n".join(str(x) for x in [
            (path, inspect("verify", path, check=False).stdout, dump(path)[:4]) for path in files])
        assert len({frozenset(session_ids(path)) for path in files}) == 1, "one session in every file"
    finally:
        proxy.stop()
        target.close()
        subprocess.run(["umount", where], check=False)
        os.rmdir(where)
