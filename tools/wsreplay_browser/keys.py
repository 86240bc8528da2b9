"""Which WebDriver key makes a browser VNC client send a given X11 keysym.

A keysym with a character (letters, digits, punctuation, space, Latin-1, Unicode keysyms) is typed
as that character. The others are the WebDriver special keys (W3C WebDriver, "Keyboard actions":
code points U+E000..U+E05D) whose KeyboardEvent (`key`, `code`, `location`) noVNC's keyboard layer
turns into that keysym; test_replay_browser.py checks every entry against noVNC 1.3 and 1.7.
A keysym neither covers (KP_Enter: WebDriver's Enter keys both give Return; dead keys, multimedia
keys, ...) cannot be re-enacted through WebDriver.
"""
from __future__ import annotations

# keysym -> WebDriver key (a code point of the WebDriver special-key range).
SPECIAL_KEYS: dict[int, str] = {
    0xFF69: "\ue001",  # Cancel
    0xFF6A: "\ue002",  # Help
    0xFF08: "\ue003",  # BackSpace
    0xFF09: "\ue004",  # Tab
    0xFF0B: "\ue005",  # Clear
    0xFF0D: "\ue006",  # Return
    0xFFE1: "\ue008",  # Shift_L
    0xFFE3: "\ue009",  # Control_L
    0xFFE9: "\ue00a",  # Alt_L
    0xFF13: "\ue00b",  # Pause
    0xFF1B: "\ue00c",  # Escape
    0xFF55: "\ue00e",  # Prior (Page_Up)
    0xFF56: "\ue00f",  # Next (Page_Down)
    0xFF57: "\ue010",  # End
    0xFF50: "\ue011",  # Home
    0xFF51: "\ue012",  # Left
    0xFF52: "\ue013",  # Up
    0xFF53: "\ue014",  # Right
    0xFF54: "\ue015",  # Down
    0xFF63: "\ue016",  # Insert
    0xFFFF: "\ue017",  # Delete
    0xFFBD: "\ue019",  # KP_Equal
    **{0xFFB0 + digit: chr(0xE01A + digit) for digit in range(10)},  # KP_0 .. KP_9
    0xFFAA: "\ue024",  # KP_Multiply
    0xFFAB: "\ue025",  # KP_Add
    0xFFAC: "\ue026",  # KP_Separator
    0xFFAD: "\ue027",  # KP_Subtract
    0xFFAE: "\ue028",  # KP_Decimal
    0xFFAF: "\ue029",  # KP_Divide
    **{0xFFBE + n: chr(0xE031 + n) for n in range(12)},  # F1 .. F12
    0xFFEB: "\ue03d",  # Super_L (the Meta key)
    0xFFE2: "\ue050",  # Shift_R
    0xFFE4: "\ue051",  # Control_R
    0xFFEA: "\ue052",  # Alt_R
    0xFFEC: "\ue053",  # Super_R
    0xFF9A: "\ue054",  # KP_Prior
    0xFF9B: "\ue055",  # KP_Next
    0xFF9C: "\ue056",  # KP_End
    0xFF95: "\ue057",  # KP_Home
    0xFF96: "\ue058",  # KP_Left
    0xFF97: "\ue059",  # KP_Up
    0xFF98: "\ue05a",  # KP_Right
    0xFF99: "\ue05b",  # KP_Down
    0xFF9E: "\ue05c",  # KP_Insert
    0xFF9F: "\ue05d",  # KP_Delete
}


def webdriver_key(keysym: int, char: str | None) -> str | None:
    """The WebDriver key to press for `keysym` (with its character, as `wsrecord-inspect dump --rfb
    --json` gives it), or None when no WebDriver key makes a browser send it."""
    if keysym in SPECIAL_KEYS:
        return SPECIAL_KEYS[keysym]
    if char is not None and len(char) == 1 and char.isprintable():
        return char
    return None
