"""PNG decoding and the tolerant pixel comparison for the e2e tests: wsreplay-browser's own
(tools/wsreplay_browser/png.py), so the tests and the harness judge canvases the same way."""
from __future__ import annotations

import sys

from vncdesk import REPO

sys.path.insert(0, str(REPO / "tools"))

from wsreplay_browser.png import (  # noqa: E402,F401 - re-exported
    compare, data_url_png, decode_png, differing_fraction, encode_png, read_image)
