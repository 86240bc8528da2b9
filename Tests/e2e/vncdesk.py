"""A throwaway virtual desktop with a VNC server, for real-browser tests.

    with VncDesk(workdir=tmp_path / "home", logdir=tmp_path) as desk:
        desk.display   # ":N"   (Xvfb picked a free display number itself)
        desk.vnc_port  # TCP port on 127.0.0.1 where x11vnc answers "RFB 003.00x"

It runs `Xvfb :N -screen 0 800x600x24`, an `xterm` running bash in `workdir`
(with the X input focus, so keys injected by the VNC server land in its shell),
and `x11vnc -display :N -rfbport P -forever -shared -nopw -localhost`.
With `server="tigervnc"`, TigerVNC's Xvnc (an X server that is itself the VNC server, security
None, loopback only) takes the place of both Xvfb and x11vnc.
On exit, or when starting fails, every one of them and all their descendants
are terminated (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

WIDTH, HEIGHT = 800, 600
REPO = Path(__file__).resolve().parents[2]


def pick_free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """All live descendants of `pid` (children first-level first), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after it.
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


# The least grace stop_tree gives, in seconds: scripts/test-sanitizers sets E2E_STOP_GRACE, because a
# sanitized process checks its heap for leaks as it exits and a SIGKILL then would lose its report.
MINIMUM_STOP_GRACE = float(os.environ.get("E2E_STOP_GRACE", "0"))


def stop_tree(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Terminate `proc` and all its descendants; SIGKILL whatever outlives `grace` (at least E2E_STOP_GRACE)."""
    grace = max(grace, MINIMUM_STOP_GRACE)
    pids = [proc.pid] + descendants(proc.pid) if proc.poll() is None else descendants(proc.pid)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    for pid in pids:
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.02)
        if _alive(pid):
            _note_kill(pid, grace)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass


def _note_kill(pid: int, grace: float) -> None:
    """Appends the process about to be killed to the file E2E_KILL_LOG names, if any (the sanitizer
    run lists them: a process killed this way wrote no exit-time report)."""
    path = os.environ.get("E2E_KILL_LOG")
    if not path:
        return
    try:
        with open(f"/proc/{pid}/comm") as f:
            name = f.read().strip()
    except OSError:
        name = "?"
    with open(path, "a") as log:
        log.write(f"{pid} {name}: still running {grace:g} s after SIGTERM, killed\n")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    state = stat[stat.rfind(b")") + 2 :].split()[0]
    return state != b"Z"  # a zombie is dead, just not yet reaped by its parent


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> int | None:
    """SIGTERM `proc` (and its children) now, e.g. so a recorder flushes; returns its exit code."""
    stop_tree(proc, grace=grace)
    return proc.returncode


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 10.0,
                  host: str = "127.0.0.1") -> None:
    """Poll until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            log = getattr(proc, "log_path", None)
            text = Path(log).read_text(errors="replace") if log else ""
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening "
                               f"on {host}:{port}\n{text}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_for_rfb(port: int, timeout: float, host: str = "127.0.0.1", procs=()) -> bytes:
    """Connect until the server greets with `RFB 003.00x`; returns the 12-byte greeting."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args[0]} exited with {p.returncode} before VNC was ready")
        try:
            with socket.create_connection((host, port), timeout=1.0) as s:
                s.settimeout(2.0)
                greeting = b""
                while len(greeting) < 12:
                    chunk = s.recv(12 - len(greeting))
                    if not chunk:
                        break
                    greeting += chunk
                if greeting.startswith(b"RFB 003.00"):
                    return greeting
                last_error = RuntimeError(f"unexpected greeting {greeting!r}")
        except OSError as e:
            last_error = e
        time.sleep(0.05)
    raise TimeoutError(f"no RFB greeting on {host}:{port} within {timeout}s: {last_error}")


class VncDesk:
    """Context manager: Xvfb + xterm (bash in `workdir`) + x11vnc on a free port."""

    def __init__(self, workdir: Path, logdir: Path, timeout: float = 15.0, server: str = "x11vnc"):
        assert server in ("x11vnc", "tigervnc"), server
        self.server = server
        self.workdir = Path(workdir)
        self.logdir = Path(logdir)
        self.timeout = timeout
        self.display: str | None = None
        self.vnc_port: int | None = None
        self.procs: list[subprocess.Popen] = []
        self.log_paths: dict[str, Path] = {}

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> "VncDesk":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.vnc_port = pick_free_port()
        self._start_xvfb()
        env = dict(os.environ, DISPLAY=self.display)
        # bash in workdir; PS1 kept short so screenshots are easy to read; its history
        # stays in workdir instead of the user's ~/.bash_history.
        xterm_env = dict(env, PS1="$ ", HISTFILE=str(self.workdir / ".bash_history"))
        xterm = self._spawn(
            "xterm",
            ["xterm", "-geometry", "132x45+0+0", "-fa", "Monospace", "-fs", "11",
             "-e", "bash", "--noprofile", "--norc", "-i"],
            env=xterm_env,
            cwd=self.workdir,
        )
        self._focus_xterm(env, xterm)
        if self.server == "tigervnc":
            wait_for_rfb(self.vnc_port, self.timeout, procs=[self.procs[0]])
            return
        x11vnc = self._spawn(
            "x11vnc",
            ["x11vnc", "-display", self.display, "-rfbport", str(self.vnc_port),
             "-forever", "-shared", "-nopw", "-localhost"],
            env=env,
        )
        wait_for_rfb(self.vnc_port, self.timeout, procs=[x11vnc])

    def stop(self) -> None:
        # Reverse order: VNC server, then clients of the display, then the display.
        while self.procs:
            stop_tree(self.procs.pop())

    # -- pieces ------------------------------------------------------------
    def _spawn(self, name: str, args: list[str], **kw) -> subprocess.Popen:
        log = self.logdir / f"{name}.log"
        self.log_paths[name] = log
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, **kw,
            )
        self.procs.append(proc)
        return proc

    def _start_xvfb(self) -> None:
        # -displayfd: Xvfb itself picks a free display number and writes it to the pipe
        # once it is ready for clients (no guessing, no lock-file race).
        # -noreset: without it the first client (xterm) failed "Can't open display" in
        # ~7% of back-to-back desks (7/100 measured; 0/160 with it).
        read_fd, write_fd = os.pipe()
        try:
            name = "xvfb" if self.server == "x11vnc" else "xvnc"
            log = self.logdir / f"{name}.log"
            self.log_paths[name] = log
            screen = (["Xvfb", "-screen", "0", f"{WIDTH}x{HEIGHT}x24"] if self.server == "x11vnc" else
                      ["Xvnc", "-geometry", f"{WIDTH}x{HEIGHT}", "-depth", "24", "-rfbport", str(self.vnc_port),
                       "-localhost", "-SecurityTypes", "None"])
            with open(log, "ab") as out:
                proc = subprocess.Popen(
                    [*screen, "-displayfd", str(write_fd), "-nolisten", "tcp", "-noreset"],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,), start_new_session=True,
                )
            self.procs.append(proc)
            os.close(write_fd)
            write_fd = -1
            number = b""
            deadline = time.monotonic() + self.timeout
            os.set_blocking(read_fd, False)
            while not number.endswith(b"\n"):
                if proc.poll() is not None:
                    raise RuntimeError(f"Xvfb exited with {proc.returncode}: {log.read_text(errors='replace')}")
                if time.monotonic() > deadline:
                    raise TimeoutError("Xvfb did not report its display number")
                try:
                    chunk = os.read(read_fd, 16)
                except BlockingIOError:
                    time.sleep(0.02)
                    continue
                if not chunk:
                    raise RuntimeError("Xvfb closed -displayfd without a display number")
                number += chunk
            self.display = f":{int(number.strip())}"
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)

    def _focus_xterm(self, env: dict, xterm: subprocess.Popen) -> None:
        """Wait for the xterm window and give it the input focus (there is no window manager)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if xterm.poll() is not None:
                raise RuntimeError(f"xterm exited with {xterm.returncode}")
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--pid", str(xterm.pid)],
                env=env, capture_output=True, text=True,
            )
            windows = found.stdout.split()
            if windows:
                subprocess.run(["xdotool", "windowfocus", windows[0]], env=env,
                               capture_output=True, check=False)
                return
            time.sleep(0.05)
        raise TimeoutError("xterm window did not appear")

    def logs(self) -> dict[str, str]:
        return {name: p.read_text(errors="replace") for name, p in self.log_paths.items() if p.exists()}
