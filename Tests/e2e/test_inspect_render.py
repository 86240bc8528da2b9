"""wsrecord-inspect render on a real recorded VNC session.

A bare X display (Xvfb, no window) is served by a real x11vnc; a scripted RFB client speaks to it
through `websockify --record` (binary WebSocket frames), asking for incremental updates all the
time, while the test paints the root window with `xsetroot -solid` red, green and blue one after
the other, then opens a small xterm showing a line of text. The test notes the wall-clock time of
each change; the recording's open record gives the session start. Then:

- `render --at` the middle of each colour's stretch (as a duration and as an ISO 8601 time) shows
  that colour, not the one before or after it;
- `--every` writes one frame per step, named with its time, each showing the colour of its moment;
- `--contact-sheet` makes a grid whose size follows from the thumbnails and whose cells show the
  colours in order;
- `--video` gives a file ffprobe reads with the session's length and the screen's size, and a
  frame ffmpeg extracts at t equals `render --at t` within the codec's tolerance; a missing ffmpeg
  is a clear error, non-zero status, and no output file;
- the keyframe cache: a second run is served from it with identical output; a cache of a
  recording that changed since (appended to, replaced) is not used; a garbage cache is ignored
  with a warning.

With WEBSOCKIFY_UPDATE_IMAGES=1 the test writes the frame the README shows
(docs/images/render-example.png); otherwise it checks that that image exists and is a valid PNG.
"""
from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pngdiff import read_image
from proxyutil import Proxy
from rfbws import RfbOverWebSocket
from vncdesk import REPO, VncDesk, pick_free_port, wait_for_rfb

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
# Each colour stays this long. x11vnc (-noxdamage) polls the screen: on a loaded machine its update
# comes an unknown while after the paint, so when each colour reached the recording is found from
# the recording (a probe series every PROBE s), and checked to lie between its paint and the next.
STRETCH = 1.0
PROBE = 0.2
README_IMAGE = REPO / "docs" / "images" / "render-example.png"


def inspect_bin() -> str:
    proxy = os.environ.get("WEBSOCKIFY_BIN") or str(REPO / ".build/debug/websockify")
    path = os.path.join(os.path.dirname(proxy), "wsrecord-inspect")
    if not os.access(path, os.X_OK):
        pytest.fail(f"wsrecord-inspect not found at {path}: build it (swift build) or set WEBSOCKIFY_BIN")
    return path


def render(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([inspect_bin(), "render", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


class BareDesk(VncDesk):
    """Xvfb and x11vnc only: the root window is the whole screen, painted with xsetroot."""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self._start_xvfb()
        self.env = dict(os.environ, DISPLAY=self.display)
        self.paint("black")
        self.vnc_port = pick_free_port()
        x11vnc = self._spawn("x11vnc", ["x11vnc", "-display", self.display, "-rfbport", str(self.vnc_port),
                                        "-forever", "-shared", "-nopw", "-localhost",
                                        # xsetroot's repaint makes no X DAMAGE event: poll the screen.
                                        "-noxdamage"], env=self.env)
        wait_for_rfb(self.vnc_port, self.timeout, procs=[x11vnc])

    def paint(self, colour: str) -> None:
        subprocess.run(["xsetroot", "-solid", colour], env=self.env, check=True, timeout=10)


def iso(wall: float) -> str:
    return datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """The recorded session: its path, the session-relative time of each change, its length."""
    base = tmp_path_factory.mktemp("render")
    desk = BareDesk(workdir=base / "home", logdir=base / "logs")
    with desk:
        proxy = Proxy([f"127.0.0.1:{desk.vnc_port}"], extra=[f"--record={base / 'session.rec'}"])
        try:
            client = RfbOverWebSocket(proxy.port)
            changes = []

            def updated_since(count: int) -> None:
                """Waits (on a loaded machine, long) until x11vnc sent bytes after the first `count`
                (the client reads everything into `received` after the handshake)."""
                with client.lock:
                    assert client.lock.wait_for(lambda: len(client.received) > count, timeout=60), "x11vnc sent nothing"

            updated_since(0)  # the first (whole, black) screen
            time.sleep(0.5)
            for colour in COLOURS:
                # The time before painting: the colour cannot be on the screen before it.
                with client.lock:
                    before = len(client.received)
                changes.append((colour, time.time()))
                desk.paint(colour)
                updated_since(before)  # x11vnc's poll found the change: its update is recorded
                time.sleep(STRETCH)
            xterm = desk._spawn("xterm-text", [
                "xterm", "-geometry", "44x6+60+60", "-fa", "Monospace", "-fs", "12", "-bg", "white", "-fg", "black",
                "-e", "sh", "-c", "printf 'rendered by wsrecord-inspect render\\n'; sleep 60"], env=desk.env)
            changes.append(("xterm", time.time()))
            time.sleep(1.5)
            client.close()
            xterm.terminate()
            time.sleep(0.3)
        finally:
            proxy.stop()
    path = base / "session.rec"
    dump = subprocess.run([inspect_bin(), "dump", "--json", str(path)], capture_output=True, text=True, check=True)
    records = [json.loads(line) for line in dump.stdout.splitlines()]
    opened = next(r for r in records if r["kind"] == "open")
    start = opened["start_wall_us"] / 1e6
    length = max(r["time_us"] for r in records) / 1e6
    painted = [(name, wall - start) for name, wall in changes]
    # When each colour is first on the recorded screen: the first probe frame showing it.
    probe = base / "probe"
    run = render(path, "--no-cache", "--every", f"{int(PROBE * 1000)}ms", "-o", probe)
    assert run.returncode == 0, run.stderr
    shown = {}
    for name in sorted(os.listdir(probe)):
        colour = centre(read_image((probe / name).read_bytes()))
        for key, rgb in COLOURS.items():
            if rgb == colour and key not in shown:
                shown[key] = float(name[len("frame-00h00m"):-len("s.png")])
    appeared = []
    for i, (name, at) in enumerate(painted):
        if name not in COLOURS:
            appeared.append((name, at))
            continue
        assert name in shown, f"{name} never reached the recording"
        following = painted[i + 1][1] if i + 1 < len(painted) else length
        assert at <= shown[name] < following + PROBE, f"{name} painted at {at:.3f} s, first drawn at {shown[name]} s"
        appeared.append((name, shown[name]))
    return {"path": path, "dir": base, "start": start, "length": length, "painted": painted, "changes": appeared}


def centre(image) -> tuple[int, int, int]:
    """The colour at the lower right, away from the xterm."""
    return tuple(image.rgb((image.height * 3 // 4) * image.width + image.width * 3 // 4))


def colour_at(recording, seconds: float) -> str | None:
    """What the screen shows `seconds` into the session, by when each colour was first drawn (a
    probe frame); None between the probe frame before that and it, where it is not known."""
    shown = "black"
    for name, at in recording["changes"]:
        if name not in COLOURS:
            continue  # the xterm is away from where the colour is looked at
        if at - PROBE < seconds < at:
            return None
        if at <= seconds:
            shown = name
    return shown


def test_at_shows_each_moment_and_not_its_neighbours(recording, tmp_path):
    colours = [(name, at) for name, at in recording["changes"] if name in COLOURS]
    for name, at in colours:
        out = tmp_path / f"{name}.png"
        run = render(recording["path"], "--at", f"{at + 0.1:.3f}s", "-o", out)
        assert run.returncode == 0, run.stderr
        image = read_image(out.read_bytes())
        assert (image.width, image.height) == (800, 600)
        assert centre(image) == COLOURS[name], f"{name} at {at + 0.1:.3f}s: {centre(image)}"
    # The same moment as a wall-clock time.
    name, at = colours[1]
    out = tmp_path / "wall.png"
    run = render(recording["path"], "--at", iso(recording["start"] + at + 0.1), "-o", out)
    assert run.returncode == 0, run.stderr
    assert centre(read_image(out.read_bytes())) == COLOURS[name]
    # Just before the first change: still black.
    out = tmp_path / "before.png"
    assert render(recording["path"], "--at", f"{recording['painted'][0][1] - 0.1:.3f}s", "-o", out).returncode == 0
    assert centre(read_image(out.read_bytes())) == (0, 0, 0)


def test_every_writes_a_named_frame_per_step(recording, tmp_path):
    out = tmp_path / "series"
    run = render(recording["path"], "--every", "500ms", "-o", out)
    assert run.returncode == 0, run.stderr
    names = sorted(os.listdir(out))
    # Every 0.5 s up to the last record; the moment 0 has no screen yet (before ServerInit).
    expected = [f"frame-00h00m{k // 2:02d}.{500 * (k % 2):03d}s.png"
                for k in range(1, int(recording["length"] / 0.5) + 1)]
    assert names == expected
    checked = 0
    for name in names:
        seconds = float(name[len("frame-00h00m"):-len("s.png")])
        expected = colour_at(recording, seconds)
        if expected is None:
            continue  # too close after a change to say whether x11vnc had sent it
        image = read_image((out / name).read_bytes())
        assert centre(image) == COLOURS.get(expected, (0, 0, 0)), name
        checked += 1
    assert checked >= 4


def test_the_readme_image(recording, tmp_path):
    after = dict(recording["changes"])["xterm"] + 1.2
    if os.environ.get("WEBSOCKIFY_UPDATE_IMAGES") == "1":
        README_IMAGE.parent.mkdir(exist_ok=True)
        run = render(recording["path"], "--at", f"{after:.3f}s", "-o", README_IMAGE)
        assert run.returncode == 0, run.stderr
    assert README_IMAGE.is_file(), f"{README_IMAGE} is missing: run with WEBSOCKIFY_UPDATE_IMAGES=1"
    image = read_image(README_IMAGE.read_bytes())
    assert image.width > 0 and image.height > 0
    assert "docs/images/render-example.png" in (REPO / "README.md").read_text()


def test_contact_sheet_is_a_labelled_grid_of_the_moments(recording, tmp_path):
    out = tmp_path / "sheet.png"
    run = render(recording["path"], "--contact-sheet", out, "--every", "1s", "--columns", "3",
                 "--thumbnail-width", "160")
    assert run.returncode == 0, run.stderr
    image = read_image(out.read_bytes())
    # 0 s has no screen yet; the sheet ends with the session's last record.
    moments = [float(s) for s in range(1, int(recording["length"]) + 1)] + [recording["length"]]
    rows = (len(moments) + 2) // 3
    # 8 px around and between cells; 800x600 thumbnails 160x120 with a 20 px label strip under each.
    assert (image.width, image.height) == (3 * 168 + 8, rows * (120 + 20 + 8) + 8)
    for i, seconds in enumerate(moments):
        if colour_at(recording, seconds) is None:
            continue
        x = 8 + (i % 3) * 168 + 150
        y = 8 + (i // 3) * 148 + 110
        expected = COLOURS.get(colour_at(recording, seconds), (0, 0, 0))
        assert tuple(image.rgb(y * image.width + x)) == expected, f"cell {i} ({seconds} s)"
    # The label strip under the first cell has light pixels (its time) on the dark background.
    strip = [tuple(image.rgb((8 + 124 + row) * image.width + x)) for row in range(14) for x in range(8, 168)]
    assert any(min(p) > 200 for p in strip) and any(max(p) < 64 for p in strip)


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height,codec_name:format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    return {**data["streams"][0], "duration": float(data["format"]["duration"])}


def frame_from_video(video: Path, seconds: float, out: Path):
    subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(video), "-frames:v", "1", "-y",
                    str(out)], check=True, timeout=60)
    return read_image(out.read_bytes())


@pytest.mark.parametrize("suffix,codec", [("mp4", "h264"), ("webm", "vp8")])
def test_video_has_the_sessions_length_and_size_and_its_frames(recording, tmp_path, suffix, codec):
    video = tmp_path / f"session.{suffix}"
    run = render(recording["path"], "--video", video, "--fps", "10", "--timestamp")
    assert run.returncode == 0, run.stderr
    info = ffprobe(video)
    assert (info["codec_name"], info["width"], info["height"]) == (codec, 800, 600)
    assert abs(info["duration"] - recording["length"]) < 0.25, (info, recording["length"])
    assert sorted(os.listdir(tmp_path)) == [video.name], "no temporary file is left"
    # A frame ffmpeg extracts at t shows what render --at t shows (away from the burned-in time).
    at = dict(recording["changes"])["xterm"] + 1.0
    from_video = frame_from_video(video, at, tmp_path / "from-video.png")
    still = tmp_path / "still.png"
    assert render(recording["path"], "--at", f"{at:.3f}s", "-o", still).returncode == 0
    from_render = read_image(still.read_bytes())
    differing = 0
    for y in range(0, 540, 3):
        for x in range(0, 800, 3):
            a, b = from_video.rgb(y * 800 + x), from_render.rgb(y * 800 + x)
            if max(abs(a[c] - b[c]) for c in range(3)) > 48:
                differing += 1
    assert differing < 0.02 * (540 // 3) * (800 // 3), f"{differing} sampled pixels differ"
    os.unlink(from_video_path := tmp_path / "from-video.png")
    assert not from_video_path.exists()


def test_video_at_double_speed_is_half_as_long(recording, tmp_path):
    video = tmp_path / "fast.mp4"
    run = render(recording["path"], "--video", video, "--speed", "2", "--fps", "5")
    assert run.returncode == 0, run.stderr
    assert abs(ffprobe(video)["duration"] - recording["length"] / 2) < 0.3


def test_video_without_ffmpeg_is_a_clear_error_and_leaves_no_file(recording, tmp_path):
    video = tmp_path / "none.mp4"
    env = dict(os.environ, PATH=str(tmp_path / "no-such-dir"))
    run = render(recording["path"], "--video", video, env=env)
    assert run.returncode != 0
    assert "ffmpeg was not found" in run.stderr
    assert os.listdir(tmp_path) == []
    # An ffmpeg that fails: its message is shown, no file is left.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ffmpeg").write_text("#!/bin/sh\necho 'encoder exploded' >&2\ncat > /dev/null\nexit 3\n")
    (fake / "ffmpeg").chmod(0o755)
    run = render(recording["path"], "--video", video, env=dict(os.environ, PATH=f"{fake}:/usr/bin:/bin"))
    assert run.returncode != 0
    assert "ffmpeg failed (exit status 3): encoder exploded" in run.stderr
    assert os.listdir(tmp_path) == ["bin"]


def test_an_interrupted_video_leaves_no_file(recording, tmp_path):
    out = tmp_path / "video"
    out.mkdir()
    proc = subprocess.Popen([inspect_bin(), "render", str(recording["path"]), "--video", str(out / "slow.mp4"),
                             "--speed", "0.05", "--no-cache"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not any(name.endswith(".mp4") for name in os.listdir(out)):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "ffmpeg's output never appeared"
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 128 + signal.SIGINT
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert os.listdir(out) == [], "the half-made video and ffmpeg's log are removed"


def timings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("frame at ")]


def test_keyframe_cache_second_run_starts_late_and_draws_the_same(recording, tmp_path):
    path = tmp_path / "copy.rec"
    shutil.copy(recording["path"], path)
    late = f"{recording['length'] - 0.1:.3f}s"
    first = render(path, "--at", late, "-o", tmp_path / "first.png", "--keyframe-interval", "1s", "--timings")
    assert first.returncode == 0, first.stderr
    assert "from the session start" in timings(first.stderr)[0]
    assert (tmp_path / "copy.rec.keyframes").is_file()
    second = render(path, "--at", late, "-o", tmp_path / "second.png", "--keyframe-interval", "1s", "--timings")
    assert second.returncode == 0, second.stderr
    line = timings(second.stderr)[0]
    assert "from the keyframe at" in line and "from the cache" in line and " 0 from the cache" not in line, line
    assert (tmp_path / "first.png").read_bytes() == (tmp_path / "second.png").read_bytes()
    # --no-cache: from the start again, the same frame.
    third = render(path, "--at", late, "-o", tmp_path / "third.png", "--no-cache", "--timings")
    assert "from the session start" in timings(third.stderr)[0]
    assert (tmp_path / "third.png").read_bytes() == (tmp_path / "first.png").read_bytes()


def test_stale_and_garbage_caches_are_not_used(recording, tmp_path):
    path = tmp_path / "growing.rec"
    data = recording["path"].read_bytes()
    # The recording as it was while being written: its first blocks (cut at the first block
    # boundary after 60 % of the file; the reader drops a torn tail anyway).
    path.write_bytes(data[: len(data) * 6 // 10])
    late = f"{recording['length'] - 0.1:.3f}s"
    render(path, "--at", late, "-o", tmp_path / "partial.png", "--keyframe-interval", "1s")
    assert (tmp_path / "growing.rec.keyframes").is_file()
    # The writer went on: the file is whole now. The cache is of the file as it was.
    path.write_bytes(data)
    run = render(path, "--at", late, "-o", tmp_path / "whole.png", "--keyframe-interval", "1s", "--timings")
    assert run.returncode == 0, run.stderr
    assert "changed since" in run.stderr and "from the session start" in timings(run.stderr)[0], run.stderr
    truth = tmp_path / "truth.png"
    render(recording["path"], "--at", late, "-o", truth, "--no-cache")
    assert (tmp_path / "whole.png").read_bytes() == truth.read_bytes()
    # Garbage in the cache file: a warning, the right frame, a good cache again.
    (tmp_path / "growing.rec.keyframes").write_bytes(os.urandom(5000))
    run = render(path, "--at", late, "-o", tmp_path / "after-garbage.png", "--keyframe-interval", "1s")
    assert run.returncode == 0, run.stderr
    assert "keyframe cache" in run.stderr and "is damaged" in run.stderr, run.stderr
    assert (tmp_path / "after-garbage.png").read_bytes() == truth.read_bytes()
    again = render(path, "--at", late, "-o", tmp_path / "again.png", "--keyframe-interval", "1s", "--timings")
    assert "from the keyframe at" in timings(again.stderr)[0] and "warning" not in again.stderr, again.stderr


def test_legacy_python_recording_renders(tmp_path):
    """The Python websockify 0.10 recording of the fixtures: one noVNC session (Tight encoding, the
    cursor shape sent apart) where `echo hello` was typed into an xterm."""
    legacy = REPO / "Fixtures" / "websockify-0.10-session.legacy"
    assert legacy.is_file(), f"the legacy fixture {legacy} is missing"
    copy = tmp_path / "session.legacy"
    shutil.copy(legacy, copy)
    out = tmp_path / "legacy.png"
    run = render(copy, "--at", "2.4s", "-o", out)
    assert run.returncode == 0, run.stderr
    assert run.stderr == "", "every rectangle is drawn"
    image = read_image(out.read_bytes())
    assert (image.width, image.height) == (800, 600)
    # The xterm: a white window at the top left with dark text in its first lines, black around it.
    assert tuple(image.rgb(300 * 800 + 300)) == (255, 255, 255)
    assert tuple(image.rgb(500 * 800 + 700)) == (0, 0, 0)
    text_rows = [y for y in range(12, 70) if any(max(image.rgb(y * 800 + x)) < 128 for x in range(12, 300))]
    assert len(text_rows) > 20, "lines of text in the xterm"
    series = render(copy, "--every", "1s", "-o", tmp_path / "series")
    assert series.returncode == 0, series.stderr
    assert sorted(os.listdir(tmp_path / "series")) == ["frame-00h00m01.000s.png", "frame-00h00m02.000s.png"]


CURSOR, POINTER_POS = -239, -232


def test_cursor_draws_the_pointer_where_the_viewer_put_it(tmp_path):
    """A viewer that takes the cursor shape (Cursor pseudo-encoding) and moves the pointer: x11vnc then
    leaves the cursor out of the framebuffer; --cursor draws it at the pointer."""
    desk = BareDesk(workdir=tmp_path / "home", logdir=tmp_path / "logs")
    with desk:
        proxy = Proxy([f"127.0.0.1:{desk.vnc_port}"], extra=[f"--record={tmp_path / 'cursor.rec'}"])
        try:
            client = RfbOverWebSocket(proxy.port, encodings=[16, 5, 1, 0, -223, CURSOR])
            desk.paint("red")
            time.sleep(0.5)
            client.pointer(200, 150)
            time.sleep(1.0)
            client.close()
            time.sleep(0.3)
        finally:
            proxy.stop()
    path = tmp_path / "cursor.rec"
    dump = subprocess.run([inspect_bin(), "dump", "--rfb", str(path)], capture_output=True, text=True)
    assert "Cursor" in dump.stdout, "x11vnc sent no cursor shape"
    plain, drawn = tmp_path / "plain.png", tmp_path / "drawn.png"
    assert render(path, "--at", "10s", "-o", plain).returncode == 0
    run = render(path, "--at", "10s", "--cursor", "-o", drawn)
    assert run.returncode == 0, run.stderr

    def around_pointer(image):
        return [tuple(image.rgb(y * image.width + x)) for y in range(140, 175) for x in range(190, 225)]

    plain_pixels = around_pointer(read_image(plain.read_bytes()))
    drawn_pixels = around_pointer(read_image(drawn.read_bytes()))
    assert set(plain_pixels) == {(255, 0, 0)}, "without --cursor the screen is the root window only"
    assert sum(p != (255, 0, 0) for p in drawn_pixels) > 10, "the cursor is drawn at the pointer"
    # Away from the pointer the two are the same.
    far = [read_image(f.read_bytes()).rgb(500 * 800 + 700) for f in (plain, drawn)]
    assert far[0] == far[1]


def test_a_truncated_recording_is_said_and_exits_3(recording, tmp_path):
    """As dump: the frames that can be drawn are written, a warning says where the file is cut and
    the status is 3 (damaged)."""
    cut = tmp_path / "cut.rec"
    data = recording["path"].read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "cut.png"
    run = render(cut, "--no-cache", "--at", f"{recording['length']:.3f}s", "-o", out)
    assert run.returncode == 3, run.stderr
    assert out.is_file()
    assert "damaged recording: truncated at byte" in run.stderr, run.stderr
    assert "is after the session's last record" in run.stderr, run.stderr


def test_moments_outside_the_session_and_bad_times_are_said(recording, tmp_path):
    path, length = recording["path"], recording["length"]
    # After the end: the last screen, with a warning (exit 0).
    out = tmp_path / "late.png"
    run = render(path, "--at", "1h", "-o", out)
    assert run.returncode == 0 and out.is_file(), run.stderr
    assert f"1h is after the session's last record (at {length:.3f} s): its last screen is drawn" in run.stderr
    # Several --at, one before the first screen: the others are written, the early one is an error.
    many = tmp_path / "many"
    run = render(path, "--at", "0", "--at", f"{length:.3f}s", "-o", many)
    assert run.returncode == 2, run.stderr
    assert "no screen at 0" in run.stderr
    assert len(os.listdir(many)) == 1
    # An output that cannot be made is named as given.
    missing = tmp_path / "no" / "such" / "f.png"
    run = render(path, "--at", "5s", "-o", missing)
    assert run.returncode == 2 and f"{missing}: cannot create" in run.stderr and ".partial" not in run.stderr
    # Usage errors: a negative time, --from after --to.
    run = render(path, "--at", "-5s", "-o", out)
    assert run.returncode == 2 and "times are not negative" in run.stderr, run.stderr
    run = render(path, "--every", "1s", "--from", "5s", "--to", "2s", "-o", tmp_path / "series")
    assert run.returncode == 2 and "--from 5s is later than --to 2s" in run.stderr, run.stderr


def test_contact_sheet_without_every_has_twelve_different_moments(recording, tmp_path):
    """12 moments evenly apart ending with the last record: no cell twice (the label strips of
    the last two cells differ)."""
    out = tmp_path / "sheet.png"
    run = render(recording["path"], "--contact-sheet", out, "--thumbnail-width", "160")
    assert run.returncode == 0, run.stderr
    assert "12 thumbnails" in run.stderr, run.stderr
    image = read_image(out.read_bytes())

    def strip(i):
        x0, y0 = 8 + (i % 4) * 168, 8 + (i // 4) * 148 + 120
        return [tuple(image.rgb((y0 + row) * image.width + x)) for row in range(20) for x in range(x0, x0 + 160)]
    assert strip(10) != strip(11)


def test_the_keyframe_cache_and_outputs_follow_the_recordings_mode(recording, tmp_path):
    copy = tmp_path / "private.rec"
    shutil.copy(recording["path"], copy)
    os.chmod(copy, 0o600)
    out = tmp_path / "frame.png"
    run = subprocess.run(["sh", "-c", 'umask 022; exec "$@"', "sh", inspect_bin(), "render", str(copy),
                          "--at", f"{recording['length']:.3f}s", "-o", str(out)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert oct(os.stat(copy.with_name("private.rec.keyframes")).st_mode & 0o777) == oct(0o600)
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o600)
