"""What the recorded user did, read through `wsrecord-inspect` (never by parsing RFB here):
`dump --rfb --json` gives the session's RFB messages (KeyEvent, QEMUExtendedKeyEvent, PointerEvent
with their session times, the ServerInit's framebuffer size), `dump --json` how the session ended."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# wsrecord-inspect's exit codes: 3 = damaged file or gaps, still dumped as far as readable.
READABLE = (0, 3)


class RecordingError(Exception):
    """The recording cannot be used (exit code 2, with the message)."""


@dataclass(frozen=True)
class KeyInput:
    time_us: int
    down: bool
    keysym: int
    key: str | None  # X11 name
    char: str | None

    @property
    def label(self) -> str:
        name = repr(self.char) if self.char and self.char.isprintable() else (self.key or "?")
        return f"{name} (0x{self.keysym:x}) {'down' if self.down else 'up'}"


@dataclass(frozen=True)
class PointerInput:
    time_us: int
    buttons: int
    x: int
    y: int

    @property
    def label(self) -> str:
        return f"PointerEvent {self.x},{self.y} buttons 0x{self.buttons:02x}"


@dataclass
class RecordedSession:
    number: int
    width: int
    height: int
    inputs: list = field(default_factory=list)  # KeyInput and PointerInput in recorded order
    closed_by: str | None = None  # client, target, proxy; None: the recording does not say (legacy)
    close_time_us: int | None = None
    last_time_us: int = 0  # the session's last record
    target_messages: int = 0  # WebSocket data messages the target sent (what the client will receive)
    other_sessions: int = 0  # sessions of the file after this one (not re-enacted)

    @property
    def key_inputs(self) -> list[KeyInput]:
        return [e for e in self.inputs if isinstance(e, KeyInput)]

    @property
    def pointer_inputs(self) -> list[PointerInput]:
        return [e for e in self.inputs if isinstance(e, PointerInput)]


def _json_lines(inspect: Path, args: list[str]) -> tuple[list[dict], int, str]:
    try:
        run = subprocess.run([str(inspect), *args], capture_output=True, text=True, timeout=600)
    except OSError as e:
        raise RecordingError(f"cannot run {inspect}: {e}") from e
    if run.returncode not in READABLE:
        raise RecordingError(f"wsrecord-inspect {' '.join(args[:2])} failed (exit {run.returncode}): "
                             f"{run.stderr.strip()}")
    lines = []
    for text in run.stdout.splitlines():
        if text.strip():
            lines.append(json.loads(text))
    return lines, run.returncode, run.stderr


def read_session(inspect: Path, recording: Path) -> RecordedSession:
    """The first session of `recording` with its input, size and end."""
    messages, _, _ = _json_lines(inspect, ["dump", "--rfb", "--json", str(recording)])
    numbers = list(dict.fromkeys(m["session"] for m in messages))
    if not numbers:
        raise RecordingError(f"{recording}: no session to replay")
    number = numbers[0]
    mine = [m for m in messages if m["session"] == number]
    init = next((m for m in mine if m.get("type") == "ServerInit"), None)
    if init is None:
        problem = next((m for m in mine if m.get("type") == "problem"), None)
        why = f": {problem['description']}" if problem else ""
        raise RecordingError(f"{recording}: session {number} is not an RFB (VNC) session with a ServerInit{why}; "
                             "wsreplay-browser re-enacts VNC clients such as noVNC")
    session = RecordedSession(number=number, width=init["width"], height=init["height"],
                              other_sessions=len(numbers) - 1)
    for m in mine:
        if m.get("from") != "client":
            continue
        if m["type"] in ("KeyEvent", "QEMUExtendedKeyEvent"):
            session.inputs.append(KeyInput(m["time_us"], m["down"], m["keysym"], m.get("key"), m.get("char")))
        elif m["type"] == "PointerEvent":
            session.inputs.append(PointerInput(m["time_us"], m["buttons"], m["x"], m["y"]))
    records, _, _ = _json_lines(inspect, ["dump", "--json", "--session", str(number), str(recording)])
    for r in records:
        if r.get("session") != number:
            continue
        session.last_time_us = max(session.last_time_us, r.get("time_us", 0))
        if r.get("kind") == "data" and r.get("from") == "target" and r.get("fin", True):
            session.target_messages += 1
        if r.get("kind") == "close" and "from" not in r:
            closer = r.get("closed_by")  # client, target, proxy, or unknown (legacy files do not say)
            session.closed_by = closer if closer in ("client", "target", "proxy") else None
            session.close_time_us = r.get("time_us")
    return session
