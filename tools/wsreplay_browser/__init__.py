"""wsreplay-browser's code: recording (what the user did, via wsrecord-inspect), keys (keysym to
WebDriver key), browser (Chromium and the page probe), enact (timed WebDriver actions), png (canvas
comparison), junit, environment (finding the binaries), cli (the run and its verdict)."""
